//! The Driver trait, what a driver returns, and the registry of vendor kinds.
//!
//! A vendor kind lives in one file of this folder and joins roster through one line
//! of the `registry!` invocation below. The file provides:
//! - `KIND`, the name used in `kind:`, and `DEFAULTS`;
//! - `Settings`, its own settings (URL, credentials), declared with
//!   [`settings!`](crate::settings); the ones every kind has are [`Common`];
//! - `Account`, the typed account block (serde, `deny_unknown_fields`);
//! - `check_account` and, where its settings have rules across keys, its
//!   [`Rules`], the load-time rules of the vendor;
//! - `connect`, which builds the `Driver` that speaks its API from its
//!   settings and a [`Context`].
//!
//! What drivers share is written once beside them: `connect` (the run's
//! context, the settings every kind has), `http` (the client), `auth` (bearer
//! tokens that are renewed), `create` (reading a creation's answer), `list`
//! (the paging loop) and `password` (password rules).

pub mod activeplatform;
pub mod acton;
pub mod auth;
mod config;
mod connect;
mod create;
pub mod docusign;
pub mod formsonfire;
pub mod http;
pub mod list;
mod password;
pub mod scim;

use crate::model::{Password, Profile};
use crate::secret::{Redactor, Secret};
use async_trait::async_trait;
use serde::de::MapAccess;
use std::time::Duration;

pub use config::{resolve, Common, MaybeTemplate, RateLimit, Rules, Vendor, VendorConfig};
pub use connect::{
    base_url, check_setting, connect_all, interpolated, Connection, Context, MIN_INTERPOLATED,
};
pub use create::{classify, create_one, one_by_one, says_exists, Answers};
pub use http::{CallError, Http};
pub use list::Lister;
pub use password::{check_password, PasswordPolicy};

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
    /// The client this driver sends through.
    fn http(&self) -> &Http;

    /// Every secret of this vendor, for the executor to take out of what the
    /// vendor says: its `Http`'s, which also learns the tokens handed out at run time.
    fn redactor(&self) -> &Redactor {
        self.http().redactor()
    }

    /// The most users one creation request may carry; 1 for APIs that create one
    /// user per call (their `create` then uses [`one_by_one`]).
    fn batch_limit(&self) -> usize {
        1
    }

    /// Creates `batch`; returns an outcome per user, keyed by lower-cased email.
    /// Users missing from the answer are treated as `Unknown`.
    async fn create(&self, batch: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError>;

    /// How the vendor tells which accounts it holds (a paged list), if it can.
    /// Act-On cannot: its records are kept as they are, and a pending creation
    /// there is verified by sending it again and reading "already exists".
    fn lister(&self) -> Option<&dyn Lister> {
        None
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

    pub fn new(config: &Common, defaults: Defaults) -> Limits {
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

            /// The keys of this kind's own settings.
            pub fn setting_keys(self) -> &'static [&'static str] {
                match self { $(Kind::$variant => config::setting_keys::<$module::Settings>()),+ }
            }

            /// Reads the rest of a vendor's mapping as this kind's own settings.
            fn read_settings<'de, M: MapAccess<'de>>(self, map: M) -> Result<Settings, M::Error> {
                let map = serde::de::value::MapAccessDeserializer::new(map);
                Ok(match self {
                    $(Kind::$variant => Settings::$variant(serde::Deserialize::deserialize(map)?)),+
                })
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

        }

        /// A vendor's own settings, typed by its kind.
        #[derive(Clone, Debug)]
        pub enum Settings {
            $($variant($module::Settings)),+
        }

        impl Settings {
            pub fn kind(&self) -> Kind {
                match self { $(Settings::$variant(_) => Kind::$variant),+ }
            }

            /// Every setting by key, set or not.
            pub fn templates(&self) -> Vec<(&'static str, Option<&crate::model::Template>)> {
                match self { $(Settings::$variant(s) => s.templates()),+ }
            }

            /// The kind's rules across its settings (one way to authenticate...).
            fn check(&self, common: &Common) -> Result<(), String> {
                match self { $(Settings::$variant(s) => Rules::check(s, common)),+ }
            }

            /// Each kind's settings' JSON Schema, inline.
            fn schemas(generator: &mut schemars::SchemaGenerator) -> Vec<(Kind, schemars::Schema)> {
                use schemars::JsonSchema;
                vec![$((Kind::$variant, $module::Settings::json_schema(generator))),+]
            }
        }

        /// Builds the driver for one configured vendor, resolving its secrets.
        /// Every value a `${VAR}` gave its settings joins the driver's
        /// redactor: whatever the setting, a variable may hold a secret.
        pub fn connect(vendor: &Vendor, ctx: &Context) -> anyhow::Result<Box<dyn Driver>> {
            let driver = match &vendor.config.settings {
                $(Settings::$variant(s) => $module::connect(vendor, s, ctx)?),+
            };
            for (value, credential) in interpolated(&vendor.config, ctx.env) {
                if credential {
                    driver.redactor().add(&value);
                } else {
                    driver.redactor().add_value(&value);
                }
            }
            Ok(driver)
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
