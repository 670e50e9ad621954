//! The Driver trait, what a driver returns, and the registry of vendor kinds.
//!
//! A vendor kind lives in one file of this folder and joins roster through one line
//! of the `registry!` invocation below. The file provides:
//! - `KIND`, the name used in `kind:`, and `DEFAULTS`;
//! - `Account`, the typed account block (serde, `deny_unknown_fields`);
//! - `check_config` and `check_account`, the load-time rules of the vendor;
//! - `connect`, which builds the `Driver` that speaks its API.

pub mod activeplatform;
pub mod acton;
mod config;
pub mod docusign;
pub mod formsonfire;
pub mod http;
pub mod list;
pub mod scim;

use crate::model::{Password, Profile};
use crate::secret::{Redactor, Secret};
use async_trait::async_trait;
use serde::de::MapAccess;
use std::time::Duration;

pub use config::{RateLimit, Vendor, VendorConfig, SECRET_KEYS};
pub use http::{CallError, Http};

/// What creating one user came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The vendor created the account; `remote_id` when it says one.
    Created {
        remote_id: Option<String>,
        warnings: Vec<String>,
    },
    /// The vendor said, unambiguously, that the account is already there (`said`
    /// is its own text). Adopted once confirmed: with the vendor's id when the
    /// answer carries it, or when a lookup finds the account.
    Exists {
        remote_id: Option<String>,
        said: String,
    },
    /// The vendor refused this user (its own code and message); retrying won't help.
    Rejected { reason: String },
    /// The request failed before the vendor acted on it.
    Failed { reason: String },
    /// Nobody knows whether the vendor acted: the pair stays pending and is verified.
    Unknown { reason: String },
}

/// One user to create, as handed to a driver.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub profile: &'a Profile,
    pub account: &'a AccountBlock,
    pub password: Option<Secret>,
}

/// A vendor API turned into creations and lookups. Drivers never touch the state;
/// they send through their `Http`, which owns retries, rate limits and redaction.
#[async_trait]
pub trait Driver: Send + Sync {
    /// Every secret of this vendor, for the executor to take out of what the
    /// vendor says (its `Http`'s, which also learns the tokens handed out at run time).
    fn redactor(&self) -> &Redactor;

    /// The most users one creation request may carry; 1 for APIs that create one
    /// user per call (their `create` then uses [`one_by_one`]).
    fn batch_limit(&self) -> usize {
        1
    }

    /// Creates `batch`; returns an outcome per user, keyed by lower-cased email.
    /// Users missing from the answer are treated as `Unknown`.
    async fn create(&self, batch: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError>;

    /// Whether the vendor can tell which accounts it holds (a paged list). Act-On
    /// cannot: its records are kept as they are, and a pending creation there is
    /// verified by sending it again and reading "already exists".
    fn lists(&self) -> bool {
        false
    }

    /// One page of the vendor's accounts (see `list::all`, the loop that walks
    /// them). Only called when `lists()` says so.
    async fn page(
        &self,
        _query: list::Query<'_>,
        _at: &list::Cursor,
    ) -> Result<list::Page, CallError> {
        Err(CallError::NotSent(
            "this vendor has no API to list its users".into(),
        ))
    }

    /// Accounts per page the driver asks for, to judge whether a few lookups
    /// cost less than one listing.
    fn page_size(&self) -> usize {
        100
    }

    /// How far one listing may go (the vendor's `max_accounts`, `max_pages`).
    fn caps(&self) -> list::Caps {
        list::Caps::default()
    }

    /// Whether the vendor holds each identity key once at most (SCIM's userName
    /// is unique): then one key under two ids is a list that contradicts itself.
    /// Vendors keyed on email may keep closed memberships beside a live one.
    fn unique_keys(&self) -> bool {
        false
    }

    /// The identity of `user` at this vendor, normalised: the email, unless the
    /// vendor keys accounts on something else (SCIM: userName).
    fn key_of(&self, user: &NewUser<'_>) -> String {
        crate::model::identity(user.email)
    }
}

/// Per-kind defaults, from the vendor's documented limits.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    pub batch_size: usize,
    pub concurrency: usize,
    /// Requests per second the vendor allows.
    pub rate_per_second: f64,
}

/// A vendor's password rule; roster checks it at load and generates passwords
/// that pass it.
#[derive(Clone, Copy, Debug)]
pub struct PasswordPolicy {
    pub min: usize,
    pub max: usize,
    /// Characters allowed besides ASCII letters and digits.
    pub symbols: &'static str,
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), String> {
        let len = password.chars().count();
        // The rule, never a character of the password (nor its length): this
        // message reaches logs and CI output.
        if len < self.min || len > self.max {
            return Err(format!(
                "password must be {}-{} characters long; it is {}",
                self.min,
                self.max,
                if len < self.min { "shorter" } else { "longer" }
            ));
        }
        if password
            .chars()
            .any(|c| !c.is_ascii_alphanumeric() && !self.symbols.contains(c))
        {
            return Err(format!(
                "password may hold only letters, digits and {}; it holds another character",
                self.symbols
            ));
        }
        Ok(())
    }

    /// A random password that passes the policy, with every kind of character.
    pub fn generate(&self) -> Secret {
        use rand::seq::SliceRandom;
        use rand::Rng;
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const DIGIT: &[u8] = b"23456789";
        let mut rng = rand::thread_rng();
        let len = 20.clamp(self.min, self.max);
        let mut classes: Vec<&[u8]> = vec![LOWER, UPPER, DIGIT];
        if !self.symbols.is_empty() {
            classes.push(self.symbols.as_bytes());
        }
        let all: Vec<u8> = classes.concat();
        let mut chars: Vec<u8> = classes
            .iter()
            .map(|class| class[rng.gen_range(0..class.len())])
            .collect();
        while chars.len() < len {
            chars.push(all[rng.gen_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        Secret::new(String::from_utf8_lossy(&chars).into_owned())
    }
}

/// Checks what every kind asks of a user's password at load time: present where the
/// vendor needs one, and within its policy when written literally.
pub fn check_password(
    policy: Option<PasswordPolicy>,
    password: Option<&Password>,
) -> Result<(), String> {
    let Some(policy) = policy else { return Ok(()) };
    match password {
        None => Err(
            "this vendor needs a password: set `password: generate` or `password: ${VAR}`".into(),
        ),
        Some(Password::Generate) => Ok(()),
        Some(Password::Template(t)) if t.is_literal() => policy.check(t.raw()),
        Some(Password::Template(_)) => Ok(()), // checked when apply resolves it
    }
}

/// Connection settings shared by every kind, resolved from the vendor's config.
#[derive(Clone, Debug)]
pub struct Limits {
    pub batch_size: usize,
    pub concurrency: usize,
    pub rate_per_second: f64,
    pub timeout: Duration,
    /// The largest answer read, in bytes (`max_response`).
    pub max_response: u64,
    /// The longest wait the vendor may ask for (`max_wait`).
    pub max_wait: Duration,
}

impl Limits {
    /// The default of `max_response`: a page of accounts is far smaller.
    pub const DEFAULT_MAX_RESPONSE: u64 = 8 << 20;
    /// The default of `max_wait`.
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5 * 60);

    pub fn new(config: &VendorConfig, defaults: Defaults) -> Limits {
        Limits {
            batch_size: config.batch_size.unwrap_or(defaults.batch_size).max(1),
            concurrency: config.concurrency.unwrap_or(defaults.concurrency).max(1),
            rate_per_second: config
                .rate_limit
                .map(|r| r.per_second())
                .unwrap_or(defaults.rate_per_second),
            timeout: config.timeout.unwrap_or(Duration::from_secs(30)),
            max_response: config.max_response.unwrap_or(Self::DEFAULT_MAX_RESPONSE),
            max_wait: config.max_wait.unwrap_or(Self::DEFAULT_MAX_WAIT),
        }
    }
}

macro_rules! registry {
    ($($variant:ident => $module:ident),+ $(,)?) => {
        /// The vendor kinds roster can speak to.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Kind {
            $($variant),+
        }

        /// A user's account block, typed by the kind of the vendor it belongs to.
        #[derive(Clone, Debug, PartialEq)]
        pub enum AccountBlock {
            $($variant($module::Account)),+
        }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $(Kind::$variant => $module::KIND),+ }
            }

            pub fn from_name(name: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.name() == name)
            }

            pub fn defaults(self) -> Defaults {
                match self { $(Kind::$variant => $module::DEFAULTS),+ }
            }

            /// The vendor's rules for its connection settings.
            pub fn check_config(self, config: &VendorConfig) -> Result<(), String> {
                match self { $(Kind::$variant => $module::check_config(config)),+ }
            }

            /// Reads an account block of this kind.
            pub fn parse_account(self, value: serde_yaml::Value) -> Result<AccountBlock, serde_yaml::Error> {
                Ok(match self {
                    $(Kind::$variant => AccountBlock::$variant(serde_yaml::from_value(value)?)),+
                })
            }

            /// Reads the next map value as an account block of this kind, straight
            /// from the parser, so that errors carry its line and column.
            pub fn next_account<'de, A: MapAccess<'de>>(self, map: &mut A) -> Result<AccountBlock, A::Error> {
                // `name:` with nothing after it is an empty block.
                Ok(match self {
                    $(Kind::$variant => AccountBlock::$variant(map.next_value::<Option<$module::Account>>()?.unwrap_or_default())),+
                })
            }

            /// The JSON Schemas of every kind's account block.
            pub fn account_schemas(generator: &mut schemars::SchemaGenerator) -> Vec<schemars::Schema> {
                vec![$(generator.subschema_for::<$module::Account>()),+]
            }

            /// An empty account block of this kind (every field unset).
            pub fn empty_account(self) -> AccountBlock {
                match self { $(Kind::$variant => AccountBlock::$variant(Default::default())),+ }
            }

            /// Builds the driver for one configured vendor, resolving its secrets.
            /// Every value a `${VAR}` gave its settings joins the driver's
            /// redactor: whatever the setting, a variable may hold a secret.
            pub fn connect(self, vendor: &crate::vendors::Vendor, env: crate::model::Env) -> anyhow::Result<Box<dyn Driver>> {
                let driver = match self { $(Kind::$variant => $module::connect(vendor, env)?),+ };
                for (value, credential) in interpolated(&vendor.config, env) {
                    if credential {
                        driver.redactor().add(&value);
                    } else {
                        driver.redactor().add_value(&value);
                    }
                }
                Ok(driver)
            }
        }

        impl AccountBlock {
            /// The vendor's load-time rules for one user's (merged) block.
            pub fn check(&self, profile: &Profile, password: Option<&Password>) -> Result<(), String> {
                match self { $(AccountBlock::$variant(a) => $module::check_account(profile, password, a)),+ }
            }

            /// The password rule of this block's vendor, if it takes a password.
            pub fn password_policy(&self) -> Option<PasswordPolicy> {
                match self { $(AccountBlock::$variant(_) => $module::PASSWORD),+ }
            }

            /// Lays `over` on top of this block; blocks of different kinds never meet.
            pub fn merge(&mut self, over: &AccountBlock) {
                #[allow(unreachable_patterns)]
                match (self, over) {
                    $((AccountBlock::$variant(a), AccountBlock::$variant(b)) => crate::model::Merge::merge(a, b),)+
                    _ => {}
                }
            }
        }

        $(impl<'a> TryFrom<&'a AccountBlock> for &'a $module::Account {
            type Error = CallError;
            /// The block of this kind; anything else never reaches its driver.
            fn try_from(block: &'a AccountBlock) -> Result<Self, CallError> {
                #[allow(unreachable_patterns)]
                match block {
                    AccountBlock::$variant(a) => Ok(a),
                    _ => Err(CallError::NotSent(format!("not a {} account block", $module::KIND))),
                }
            }
        })+

        /// Serialized as the block itself. Every block's fields are declared in
        /// alphabetical order, so this is the canonical (sorted-key) JSON that the
        /// fingerprint hashes, with no intermediate value.
        impl serde::Serialize for AccountBlock {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $(AccountBlock::$variant(a) => a.serialize(serializer)),+ }
            }
        }
    };
}

registry! {
    Acton => acton,
    ActivePlatform => activeplatform,
    DocuSign => docusign,
    FormsOnFire => formsonfire,
    Scim => scim,
}

/// Whether a vendor's error text hints that the user is there already. Vendors
/// that document no code for it (ActivePlatform, Forms On Fire) are read by
/// their words, and the words are only a hint: the account is adopted only when
/// a lookup then finds it under this user's identity, with its id (see
/// `apply::confirm_exists`). A text that speaks of something missing or invalid
/// ("Group 12 does not exist", "not found", "invalid permission profile"), of
/// another account, a limit or a constraint is a refusal, for which no lookup
/// is sent.
pub fn says_exists(text: &str) -> bool {
    let t: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let t = format!(" {} ", t.split_whitespace().collect::<Vec<_>>().join(" "));
    const MISSING: &[&str] = &[
        " not ",
        " no ",
        "n t ",
        " doesnt ",
        " cannot ",
        " unknown ",
        " invalid ",
        " missing ",
        " found ",
        " nonexistent ",
        " non existent ",
        // Something else is there, or full: not this user.
        " another ",
        " other ",
        " limit ",
        " seat ",
        " seats ",
        " quota ",
        " constraint ",
        " phone ",
    ];
    let glued: String = t.split_whitespace().collect();
    if MISSING.iter().any(|m| t.contains(m))
        || ["notfound", "notexist", "nosuch"]
            .iter()
            .any(|m| glued.contains(m))
    {
        return false;
    }
    const PRESENT: &[&str] = &[
        " already exist",
        " already taken ",
        " already been taken ",
        " already in use ",
        " already registered ",
        " already a member ",
        " is taken ",
        " duplicate ",
        " exists ",
        " exist already ",
        " exists already ",
    ];
    PRESENT.iter().any(|p| t.contains(p))
}

/// Checks a setting that is not a secret, whatever the kind: `base_url` (and
/// `oauth_base_url`) is an http(s) URL with no credentials in it, `company_id`
/// a number, `account_id` an id (it goes into the URL's path). Others pass.
/// Its message names the setting and never shows the value: the value may
/// come from `${VAR}`, which may hold anything (a CI secret, a token).
pub fn check_setting(key: &str, value: &str) -> Result<(), String> {
    match key {
        "base_url" | "oauth_base_url" => match reqwest::Url::parse(value) {
            Ok(url) if !url.username().is_empty() || url.password().is_some() => Err(format!(
                "`{key}` holds credentials (`user:password@`): they would be shown and stored wherever the URL is; give them in the vendor's credential settings"
            )),
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
            Ok(_) => Err(format!(
                "`{key}` must be an http(s) URL with a host"
            )),
            Err(e) => Err(format!("`{key}` is not a URL: {e}")),
        },
        "company_id" if value.trim().parse::<u64>().is_err() => {
            Err("`company_id` must be a number".into())
        }
        "account_id"
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-') =>
        {
            Err(
                "`account_id` must be the account's id (its GUID or number: letters, digits, hyphens)"
                    .into(),
            )
        }
        _ => Ok(()),
    }
}

/// A value a `${VAR}` gives a setting that is not a credential is redacted
/// from this many characters on: a shorter one (a company number, a region)
/// would take ordinary numbers and words out of what vendors say. Credentials
/// are redacted from [`crate::secret::MIN_SECRET`] characters on.
pub const MIN_INTERPOLATED: usize = 8;

/// The values that `${VAR}`s give a vendor's settings, each with whether its
/// setting is a credential: every one is a secret for its redactor.
pub fn interpolated(config: &VendorConfig, env: crate::model::Env) -> Vec<(Secret, bool)> {
    config
        .templates()
        .into_iter()
        .filter_map(|(key, t)| Some((key, t.filter(|t| !t.is_literal())?)))
        .filter_map(|(key, t)| Some((config.is_secret(key), t.resolve(env).ok()?)))
        .filter(|(secret, value)| *secret || value.chars().count() >= MIN_INTERPOLATED)
        .map(|(secret, value)| (Secret::new(value), secret))
        .collect()
}

/// Checks the settings written without `${VAR}` (see [`check_setting`]); the
/// commands check the others once the environment gives them.
pub fn check_literal_settings(config: &VendorConfig) -> Result<(), String> {
    for (key, template) in config.templates() {
        if let Some(t) = template.filter(|t| t.is_literal()) {
            check_setting(key, t.raw())?;
        }
    }
    Ok(())
}

/// The base URL setting, resolved, without a trailing slash.
pub fn base_url(config: &VendorConfig, env: crate::model::Env) -> anyhow::Result<String> {
    let url = config.resolve("base_url", env)?;
    check_setting("base_url", &url).map_err(anyhow::Error::msg)?;
    Ok(url.trim_end_matches('/').to_string())
}

/// What most drivers are made of: the base URL, their one credential, and the
/// HTTP client that knows to redact it.
pub struct Connection {
    pub base: String,
    pub secret: Secret,
    pub limits: Limits,
    pub http: Http,
}

impl Connection {
    /// Resolves `base_url` and the credential under `secret_key`.
    pub fn new(
        vendor: &crate::vendors::Vendor,
        env: crate::model::Env,
        secret_key: &str,
        defaults: Defaults,
    ) -> anyhow::Result<Connection> {
        let config = &vendor.config;
        let base = base_url(config, env)?;
        let secret = Secret::new(config.resolve(secret_key, env)?);
        let limits = Limits::new(config, defaults);
        let account = http::account_key(config.kind.name(), &base, std::slice::from_ref(&secret));
        let http = Http::new(&vendor.name, account, &limits, vec![secret.clone()])?;
        Ok(Connection {
            base,
            secret,
            limits,
            http,
        })
    }
}

/// For APIs that create one user per call (the executor then sends batches of
/// one): each user's outcome in turn; a whole-request failure ends the batch.
pub async fn one_by_one<'u, F, Fut>(
    batch: &'u [NewUser<'u>],
    mut create: F,
) -> Result<Vec<(String, Outcome)>, CallError>
where
    F: FnMut(&'u NewUser<'u>) -> Fut,
    Fut: std::future::Future<Output = Result<Outcome, CallError>>,
{
    let mut out = Vec::with_capacity(batch.len());
    for new in batch {
        out.push((new.email.to_string(), create(new).await?));
    }
    Ok(out)
}

/// The driver's request builder could not make a request: nothing was sent.
pub fn unbuildable(http: &Http, e: reqwest::Error) -> CallError {
    CallError::NotSent(http.redact(&format!("cannot build the request: {}", e.without_url())))
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl schemars::JsonSchema for Kind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Kind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        schemars::json_schema!({
            "description": "The vendor's API.",
            "type": "string",
            "enum": names,
        })
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Kind::from_name(&name).ok_or_else(|| {
            let known: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
            serde::de::Error::custom(format!(
                "unknown vendor kind `{name}`, expected one of: {}",
                known.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_exists_only_when_it_is_unambiguous() {
        for yes in [
            "email has already been taken",
            "User already exists",
            "USER_ALREADY_EXISTS",
            "ALREADY_EXISTS: dup",
            "E1: User exists already",
            "The email address is already in use",
            "Duplicate email",
            "HTTP 422 email is taken",
            "DuplicateUser: a user with this email exists",
        ] {
            assert!(says_exists(yes), "{yes:?} should say exists");
        }
        for no in [
            "Group 1234 does not exist",
            "The permission profile does not exist",
            "USER_DOES_NOT_EXIST",
            "user doesn't exist",
            "Folder not found",
            "invalid group: already exists in another account", // ambiguous: not adopted
            "NotFound: the group exists nowhere",
            "password is missing",
            "Email is invalid",
            "existing session expired",
            "Seat limit reached: 100 user accounts already exist in this subscription",
            "The phone number given for this user is in use by another account",
            "duplicate key value violates unique constraint",
            "a@x.io already exists in another account",
            "",
        ] {
            assert!(!says_exists(no), "{no:?} should not say exists");
        }
    }

    #[test]
    fn a_settings_message_names_it_never_its_value() {
        for (key, value) in [
            ("base_url", "glpat-Zq8xYw7vU6tS5rR4"),
            ("base_url", "glpat:Zq8xYw7vU6tS5rR4"),
            ("base_url", "https://bot:Zq8xYw7vU6tS5rR4@h.example/"),
            ("base_url", "https://Zq8xYw7vU6tS5rR4@h.example/"),
            ("oauth_base_url", "https://u:Zq8xYw7vU6tS5rR4@h.example/"),
            ("company_id", "Zq8xYw7vU6tS5rR4"),
            ("account_id", "Zq8xYw7vU6tS5rR4/../x"),
        ] {
            let why = check_setting(key, value).unwrap_err();
            assert!(why.contains(&format!("`{key}`")), "{why}");
            assert!(
                !why.contains("Zq8x") && !why.contains("glpat") && !why.contains("bot"),
                "{why}"
            );
        }
        check_setting("base_url", "https://h.example/api").unwrap();
    }

    #[test]
    fn every_interpolated_value_is_a_secret_a_short_setting_aside() {
        let yaml = "kind: docusign\nbase_url: ${URL}\naccount_id: ${ACCOUNT}\ntoken: ${TOKEN}\nintegration_key: lit";
        let config: VendorConfig = serde_yaml::from_str(yaml).unwrap();
        let env = |name: &str| match name {
            "URL" => Some("https://h.example/v2".to_string()),
            "ACCOUNT" => Some("1234".to_string()),
            "TOKEN" => Some("tok".to_string()),
            _ => None,
        };
        let values: Vec<(String, bool)> = interpolated(&config, &env)
            .into_iter()
            .map(|(s, credential)| (s.expose().to_string(), credential))
            .collect();
        assert_eq!(
            values,
            [
                ("https://h.example/v2".to_string(), false),
                ("tok".to_string(), true)
            ]
        );
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let policy = acton::PASSWORD.unwrap();
        for _ in 0..200 {
            let p = policy.generate();
            policy.check(p.expose()).unwrap();
        }
        let tight = PasswordPolicy {
            min: 6,
            max: 8,
            symbols: "",
        };
        tight.check(tight.generate().expose()).unwrap();
    }

    #[test]
    fn policy_names_the_problem() {
        let policy = acton::PASSWORD.unwrap();
        assert!(policy.check("short").unwrap_err().contains("6-30"));
        let err = policy.check("has spacé 1").unwrap_err();
        assert!(err.contains("letters, digits and !@#$%^&*?|"), "{err}");
        // Nothing of the password itself: not the offending character, not its length.
        assert!(
            !err.contains("' '") && !err.contains('é') && !err.contains("11"),
            "{err}"
        );
        assert!(!policy.check("a1").unwrap_err().contains('2'));
        policy.check("Abc!@#$%^&*?|9").unwrap();
    }
}
