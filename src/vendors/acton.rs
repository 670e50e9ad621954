//! Act-On: `POST {base}/api/1/user` with a JSON array of user specs, any number per
//! call; one answer element per user, matched by email. No lookup endpoint.

use super::auth::{Bearer, Grant, Token};
use super::http::{Call, CallError, Http};
use super::{Common, Vendor};
use super::{Context, Defaults, Driver, Limits, NewUser, Outcome, PasswordPolicy};
use crate::model::Template;
use crate::model::{Password, Profile};
use crate::secret::Secret;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const KIND: &str = "acton";

/// 5 calls a second (30,000 a day); the API takes any number of users per call.
pub const DEFAULTS: Defaults = Defaults {
    batch_size: 100,
    concurrency: 4,
    rate_per_second: 5.0,
};

/// 6-30 characters of `a-zA-Z0-9!@#$%^&*?|`; the user changes it at first login.
pub const PASSWORD: Option<PasswordPolicy> = Some(PasswordPolicy {
    min: 6,
    max: 30,
    symbols: "!@#$%^&*?|",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActonUserType")]
pub enum UserType {
    Marketing,
    Sales,
}

// Fields in alphabetical order: blocks serialize to canonical JSON (see
// `model::fingerprint`).

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActonMarketing")]
#[serde(deny_unknown_fields)]
pub struct Marketing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActonContactLists")]
#[serde(deny_unknown_fields)]
pub struct ContactLists {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActonCreateDelete")]
#[serde(deny_unknown_fields)]
pub struct CreateDelete {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActonViewManage")]
#[serde(deny_unknown_fields)]
pub struct ViewManage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<bool>,
}

/// A user's `accounts.<name>` block for an Act-On vendor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActonAccount")]
#[serde(deny_unknown_fields)]
pub struct Account {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_wide_email: Option<ViewManage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_lists: Option<ContactLists>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<CreateDelete>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketing: Option<Marketing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programs: Option<CreateDelete>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_email_confirmation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<UserType>,
}

crate::merge_by_replacing!(UserType);
crate::merge_fields!(Marketing { admin, launch });
crate::merge_fields!(ContactLists {
    create,
    delete,
    download
});
crate::merge_fields!(CreateDelete { create, delete });
crate::merge_fields!(ViewManage { manage, view });
crate::merge_fields!(Account {
    account_wide_email,
    contact_lists,
    content,
    marketing,
    programs,
    send_email_confirmation,
    user_type,
});

pub fn check_account(
    _profile: &Profile,
    password: Option<&Password>,
    account: &Account,
) -> Result<(), String> {
    if account.user_type.is_none() {
        return Err("`user_type` is required (Marketing or Sales), in the block or a role".into());
    }
    super::check_password(PASSWORD, password)
}

crate::settings! {
    /// The settings of a `kind: acton` vendor: a ready `token`, or the OAuth
    /// password grant's four settings.
    pub struct Settings {
        /// The API's root, e.g. `https://restapi.actonsoftware.com`.
        pub base_url: Template,
        /// A ready access token, from `${VAR}`.
        pub token: Option<Template>,
        pub client_id: Option<Template>,
        pub client_secret: Option<Template>,
        pub username: Option<Template>,
        pub password: Option<Template>,
    }
}

impl Settings {
    /// The OAuth password grant's settings by key, when no ready `token` is given.
    fn grant(&self) -> [(&'static str, Option<&Template>); 4] {
        [
            ("client_id", self.client_id.as_ref()),
            ("client_secret", self.client_secret.as_ref()),
            ("username", self.username.as_ref()),
            ("password", self.password.as_ref()),
        ]
    }
}

impl super::Rules for Settings {
    fn check(&self, _: &Common) -> Result<(), String> {
        let grant = self.grant().iter().filter(|(_, t)| t.is_some()).count();
        match (self.token.is_some(), grant) {
        (true, 0) | (false, 4) => Ok(()),
        (true, _) => Err("give either `token` or the OAuth settings (client_id, client_secret, username, password), not both".into()),
        (false, _) => Err("kind acton needs `token`, or all of client_id, client_secret, username and password for the OAuth password grant".into()),
    }
    }
}

pub fn connect(vendor: &Vendor, s: &Settings, ctx: &Context) -> anyhow::Result<Box<dyn Driver>> {
    let (config, env) = (&vendor.config, ctx.env);
    let base = super::base_url(&s.base_url, env)?;
    let (auth, secrets) = if let Some(token) = &s.token {
        let token = Secret::new(super::resolve("token", token, env)?);
        (Bearer::Ready(token.clone()), vec![token])
    } else {
        let [client_id, client_secret, username, password] = s.grant().map(|(key, t)| {
            let t = t.ok_or_else(|| anyhow::anyhow!("kind acton needs `token` or `{key}`"))?;
            super::resolve(key, t, env).map(Secret::new)
        });
        let (client_id, client_secret, username, password) =
            (client_id?, client_secret?, username?, password?);
        let secrets = vec![client_secret.clone(), password.clone()];
        let grant = PasswordGrant {
            url: format!("{base}/token"),
            client_id,
            client_secret,
            username,
            password,
        };
        (Bearer::granted(grant), secrets)
    };
    let limits = Limits::new(&config.common, DEFAULTS);
    let account = super::http::account_key(KIND, &base, &secrets);
    let http = Http::new(&vendor.name, account, &limits, secrets, ctx.budget.clone())?
        .with_throttle(|r| matches!(r.status.as_u16(), 429 | 503));
    Ok(Box::new(Acton {
        url: format!("{base}/api/1/user"),
        auth,
        batch: limits.batch_size,
        http,
    }))
}

struct Acton {
    url: String,
    /// A ready token, or the OAuth password grant's; the vendor allows 5
    /// logins an hour, so a granted token is refreshed rather than fetched again.
    auth: Bearer,
    batch: usize,
    http: Http,
}

/// The OAuth password grant.
struct PasswordGrant {
    url: String,
    client_id: Secret,
    client_secret: Secret,
    username: Secret,
    password: Secret,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

#[async_trait]
impl Grant for PasswordGrant {
    /// A refreshed token when the previous one gave a refresh token, a new
    /// login otherwise (or when the refresh fails).
    async fn obtain(&self, http: &Http, previous: Option<&Token>) -> Result<Token, CallError> {
        let mut answer = Err(CallError::NotSent("no login attempted".into()));
        if let Some(refresh) = previous.and_then(|t| t.refresh.as_ref()) {
            answer = self
                .ask(
                    http,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh.expose()),
                    ],
                )
                .await;
            if let Err(e) = &answer {
                tracing::info!("token refresh failed ({e}); logging in again");
            }
        }
        if answer.is_err() {
            answer = self
                .ask(
                    http,
                    &[
                        ("grant_type", "password"),
                        ("username", self.username.expose()),
                        ("password", self.password.expose()),
                    ],
                )
                .await;
        }
        let answer = answer?;
        // Renewed a minute before it expires.
        Ok(Token::new(
            Secret::new(answer.access_token),
            answer.refresh_token.map(Secret::new),
            std::time::Duration::from_secs(answer.expires_in.unwrap_or(3600)),
            std::time::Duration::from_secs(60),
        ))
    }
}

impl PasswordGrant {
    async fn ask(&self, http: &Http, grant: &[(&str, &str)]) -> Result<TokenAnswer, CallError> {
        let mut form: Vec<(&str, &str)> = grant.to_vec();
        form.push(("client_id", self.client_id.expose()));
        form.push(("client_secret", self.client_secret.expose()));
        let request = http.build(http.client().post(&self.url).form(&form))?;
        // A login is not resent on an unknown outcome: each one spends the hourly quota.
        let response = http.send(Call::Create, request).await?;
        if !response.status.is_success() {
            let CallError::Refused { message, status } = http.failure(&response) else {
                return Err(http.failure(&response));
            };
            return Err(CallError::Refused {
                status,
                message: format!("login failed: {message}"),
            });
        }
        // Not quoted when unreadable: the body may hold the tokens it failed to read.
        let status = response.status.as_u16();
        response
            .json()
            .map_err(|_| CallError::Unknown(format!("unreadable token answer (HTTP {status})")))
    }
}

fn yn(b: bool) -> &'static str {
    if b {
        "Y"
    } else {
        "N"
    }
}

/// The vendor's user spec for one user, password included.
fn userspec(new: &NewUser<'_>, account: &Account) -> Value {
    let p = &new.profile;
    let mut spec = Map::new();
    let mut put = |k: &str, v: Value| {
        spec.insert(k.to_string(), v);
    };
    let user_type = match account.user_type {
        Some(UserType::Sales) => "Sales",
        _ => "Marketing",
    };
    put("userType", json!(user_type));
    put("email", json!(new.email));
    put("firstName", json!(p.first_name));
    put("lastName", json!(p.last_name));
    if let Some(pw) = &new.password {
        put("password", json!(pw.expose()));
    }
    for (key, value) in [
        ("title", &p.title),
        ("phoneNumber", &p.phone),
        ("mobileNumber", &p.mobile),
        ("faxNumber", &p.fax),
        ("timeZone", &p.time_zone),
    ] {
        if let Some(v) = value {
            put(key, json!(v));
        }
    }
    if let Some(b) = account.send_email_confirmation {
        put("sendEmailConfirmation", json!(yn(b)));
    }
    // A privilege object goes only with a privilege in it: never an empty `{}`.
    let privileges = |pairs: &[(&str, Option<&'static str>)]| {
        let set: Map<String, Value> = pairs
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), json!((*v)?))))
            .collect();
        (!set.is_empty()).then_some(Value::Object(set))
    };
    let flag = |b: Option<bool>| b.map(yn);
    let m = account.marketing.clone().unwrap_or_default();
    let launch = m.launch.map(|l| if l { "Allowed" } else { "Not Allowed" });
    let c = account.contact_lists.clone().unwrap_or_default();
    let content = account.content.clone().unwrap_or_default();
    let programs = account.programs.clone().unwrap_or_default();
    let email = account.account_wide_email.clone().unwrap_or_default();
    let objects = [
        (
            "marketingPrivileges",
            privileges(&[("launchPrivilege", launch), ("admin", flag(m.admin))]),
        ),
        (
            "contactLists",
            privileges(&[
                ("create", flag(c.create)),
                ("delete", flag(c.delete)),
                ("download", flag(c.download)),
            ]),
        ),
        (
            "content",
            privileges(&[
                ("create", flag(content.create)),
                ("delete", flag(content.delete)),
            ]),
        ),
        (
            "programs",
            privileges(&[
                ("create", flag(programs.create)),
                ("delete", flag(programs.delete)),
            ]),
        ),
        (
            "accountWideEmail",
            privileges(&[("view", flag(email.view)), ("manage", flag(email.manage))]),
        ),
    ];
    for (key, object) in objects {
        if let Some(o) = object {
            put(key, o);
        }
    }
    Value::Object(spec)
}

/// One element of the answer array. The error fields vary in the wild, and
/// come as strings or numbers: any of them is read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    email: Option<String>,
    status: Option<String>,
    error_code: Option<Value>,
    error: Option<Value>,
    error_message: Option<Value>,
    message: Option<Value>,
    privilege_responses: Option<Vec<Value>>,
}

/// A field's text as the vendor wrote it; nothing for null or empty.
fn text(v: &Option<Value>) -> Option<String> {
    let text = match v.as_ref()? {
        Value::Null => return None,
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

impl Answer {
    fn outcome(self) -> Outcome {
        let ok = self
            .status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("ok") || s.eq_ignore_ascii_case("success"));
        if ok {
            let warnings = self
                .privilege_responses
                .unwrap_or_default()
                .iter()
                .filter(|r| {
                    r.get("status").and_then(Value::as_str).is_some_and(|s| {
                        !s.eq_ignore_ascii_case("ok") && !s.eq_ignore_ascii_case("success")
                    })
                })
                .map(|r| {
                    format!(
                        "privilege not granted: {}",
                        super::http::snippet(r.to_string().as_bytes())
                    )
                })
                .collect();
            return Outcome::Created {
                remote_id: None,
                warnings,
            };
        }
        // Codes first, then messages; the same text under two names once.
        let mut texts: Vec<String> = Vec::new();
        for field in [
            &self.error_code,
            &self.error,
            &self.error_message,
            &self.message,
        ] {
            if let Some(t) = text(field).filter(|t| !texts.contains(t)) {
                texts.push(t);
            }
        }
        let raw = texts.join(": ");
        let email = self.email.as_deref().unwrap_or_default();
        if says_user_exists(&raw, email) {
            // Act-On has no lookup to confirm it: the vendor's words are the
            // evidence, kept with the record; so they must name this user's
            // own email and say of it nothing but that it already exists.
            return Outcome::Exists {
                remote_id: None,
                said: raw,
            };
        }
        let reason = if raw.is_empty() {
            format!(
                "status {:?} with no error text",
                self.status.unwrap_or_default()
            )
        } else {
            raw
        };
        Outcome::Rejected { reason }
    }
}

/// The only words an Act-On text may hold besides the user's email and codes
/// (words with a digit) to count as "this user already exists". Anything
/// else ("seat", "limit", "phone", "another", "not", "duplicate key", "use")
/// speaks of something other than this user existing.
const EXISTS_WORDS: &[&str] = &[
    "a", "an", "the", "this", "that", "user", "login", "username", "email", "e", "mail", "address",
    "with", "for", "in", "of", "is", "has", "been", "already", "exist", "exists", "error", "err",
    "code",
];

/// Whether Act-On's text (its codes and messages, joined) says that the user
/// with `email` already exists: it names that email, no other address, says
/// "already" and "exist(s)", and holds no word outside [`EXISTS_WORDS`] (codes
/// such as `USER_ALREADY_EXISTS` split into words). Act-On documents no code
/// for it and has no lookup, so its words are the only evidence and a misread
/// records an account that may not exist: "Seat limit reached: 100 user
/// accounts already exist", "The phone number given for this user is in use
/// by another account", "duplicate key value violates unique constraint" are
/// failures, not adoptions.
pub fn says_user_exists(text: &str, email: &str) -> bool {
    let own = crate::model::identity(email);
    if own.is_empty() {
        return false;
    }
    let mut named = false;
    let mut rest = String::new();
    for token in text.split_whitespace() {
        let bare = token
            .trim_matches(|c: char| "'\"<>()[]{},;:!?`".contains(c))
            .trim_end_matches('.');
        if bare.contains('@') {
            if crate::model::identity(bare) != own {
                return false; // another address: about someone else
            }
            named = true;
        } else {
            rest.push_str(token);
            rest.push(' ');
        }
    }
    let rest = rest.to_lowercase();
    let words: Vec<&str> = rest
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    named
        && words.contains(&"already")
        && words.iter().any(|w| matches!(*w, "exist" | "exists"))
        && words
            .iter()
            .all(|w| EXISTS_WORDS.contains(w) || w.chars().any(|c| c.is_ascii_digit()))
}

/// Act-On knows a user by its email and gives no other id: the email is the id
/// it confirms, whether it created the user or says the user exists.
fn identified(outcome: Outcome, email: &str) -> Outcome {
    match outcome {
        Outcome::Created {
            remote_id: None,
            warnings,
        } => Outcome::Created {
            remote_id: Some(email.to_string()),
            warnings,
        },
        Outcome::Exists {
            remote_id: None,
            said,
        } => Outcome::Exists {
            remote_id: Some(email.to_string()),
            said,
        },
        other => other,
    }
}

#[async_trait]
impl Driver for Acton {
    fn http(&self) -> &Http {
        &self.http
    }

    fn batch_limit(&self) -> usize {
        self.batch
    }

    async fn create(&self, batch: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
        let mut specs = Vec::with_capacity(batch.len());
        for new in batch {
            let account: &Account = new.account.try_into()?;
            specs.push(userspec(new, account));
        }
        let request = self
            .http
            .build(self.http.client().post(&self.url).json(&specs))?;
        let response = self.auth.send(&self.http, Call::Create, request).await?;
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let answers: Vec<Answer> = response.json().map_err(CallError::Unknown)?;
        Ok(answers
            .into_iter()
            .filter_map(|a| {
                let email = crate::model::identity(a.email.as_deref()?);
                let outcome = identified(a.outcome(), &email);
                Some((email, outcome))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(v: Value) -> Outcome {
        serde_json::from_value::<Answer>(v).unwrap().outcome()
    }

    #[test]
    fn exists_only_when_the_text_names_the_users_own_email_and_says_nothing_else() {
        // (text, adopted as a@x.io already existing)
        let cases = [
            ("User a@x.io already exists", true),
            (
                "USER_ALREADY_EXISTS: a user with email A@X.io already exists",
                true,
            ),
            ("E1: User 'a@x.io' exists already.", true),
            // "In account 98765" may be another tenant: only "exists" alone.
            ("1001: a@x.io already exists in this account", false),
            ("a@x.io already exists in account 98765", false),
            (
                "Error 4091: email a@x.io already exists for account 2",
                false,
            ),
            // Not naming this user's email.
            ("ALREADY_EXISTS", false),
            // A contact (a marketing list entry) is not a user.
            ("A contact with email a@x.io already exists", false),
            ("User already exists", false),
            ("A user with this email already exists", false),
            ("User b@x.io already exists", false),
            ("User a@x.io already exists as b@x.io", false),
            // Texts that only look like "already exists".
            (
                "Seat limit reached: 100 user accounts already exist in this subscription",
                false,
            ),
            (
                "Seat limit reached: a@x.io not added, 100 user accounts already exist",
                false,
            ),
            (
                "The phone number given for this user is in use by another account",
                false,
            ),
            (
                "The phone number given for a@x.io is in use by another account",
                false,
            ),
            ("duplicate key value violates unique constraint", false),
            (
                "a@x.io: duplicate key value violates unique constraint \"users_email_key\"",
                false,
            ),
            ("A list with that name already exists", false),
            ("a@x.io: a list with that name already exists", false),
            ("Sales team for a@x.io does not exist", false),
            ("a@x.io is not a user that already exists", false),
            ("a@x.io already exists in another account", false),
            ("a@x.io is already in use", false),
            // A look-alike of the email is another address.
            ("User \u{212a}@x.io already exists", false),
        ];
        for (text, adopted) in cases {
            let email = if text.contains('\u{212a}') {
                "k@x.io"
            } else {
                "a@x.io"
            };
            assert_eq!(says_user_exists(text, email), adopted, "{text}");
            let outcome = answer(json!({"email": email, "status": "error", "message": text}));
            assert_eq!(
                matches!(outcome, Outcome::Exists { .. }),
                adopted,
                "{text}: {outcome:?}"
            );
        }
    }

    #[test]
    fn classifies_answers() {
        assert_eq!(
            answer(
                json!({"email":"a@x","status":"ok","privilegeResponses":[{"privilege":"admin","status":"ok"}]})
            ),
            Outcome::Created {
                remote_id: None,
                warnings: vec![]
            }
        );
        let Outcome::Created { warnings, .. } = answer(
            json!({"email":"a@x","status":"ok","privilegeResponses":[{"privilege":"admin","status":"error"}]}),
        ) else {
            panic!("not created")
        };
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            answer(
                json!({"email":"a@x","status":"error","errorCode":"USER_ALREADY_EXISTS","errorMessage":"a@x already exists"})
            ),
            Outcome::Exists {
                remote_id: None,
                said: "USER_ALREADY_EXISTS: a@x already exists".into()
            }
        );
        assert_eq!(
            answer(
                json!({"email":"a@x","status":"error","errorCode":"USER_ALREADY_EXISTS","errorMessage":"dup"})
            ),
            Outcome::Rejected {
                reason: "USER_ALREADY_EXISTS: dup".into()
            }
        );
        assert_eq!(
            answer(
                json!({"email":"a@x","status":"error","errorCode":42,"errorMessage":"bad domain"})
            ),
            Outcome::Rejected {
                reason: "42: bad domain".into()
            }
        );
    }

    #[test]
    fn reads_every_error_field_and_keeps_the_vendors_words() {
        let rejected = |v: Value| match answer(v) {
            Outcome::Rejected { reason } => reason,
            other => panic!("not rejected: {other:?}"),
        };
        let cases = [
            (
                json!({"errorCode": "E7", "errorMessage": "Bad title  "}),
                "E7: Bad title",
            ),
            (
                json!({"message": "Email domain not allowed"}),
                "Email domain not allowed",
            ),
            (json!({"error": "INVALID_PHONE"}), "INVALID_PHONE"),
            (
                json!({"error": 1234, "message": "Phone number is malformed"}),
                "1234: Phone number is malformed",
            ),
            (json!({"errorCode": 42, "errorCodeId": 400}), "42"),
            // The same text under two names is said once.
            (
                json!({"errorCode": "E1", "errorMessage": "No seats", "message": "No seats"}),
                "E1: No seats",
            ),
            (
                json!({"errorCode": null, "errorMessage": "", "message": "Quota"}),
                "Quota",
            ),
            (json!({}), "status \"error\" with no error text"),
        ];
        for (fields, want) in cases {
            let mut v = json!({"email": "a@x", "status": "error"});
            v.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            assert_eq!(rejected(v), want);
        }
        for fields in [
            json!({"message": "User a@x already exists"}),
            json!({"error": "ALREADY_EXISTS", "message": "a@x"}),
            json!({"errorCode": 1001, "errorMessage": "a user with email a@x already exists"}),
        ] {
            let mut v = json!({"email": "a@x", "status": "error"});
            v.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            assert!(
                matches!(
                    answer(v),
                    Outcome::Exists {
                        remote_id: None,
                        ..
                    }
                ),
                "{fields}"
            );
        }
        // Something that does not exist is never taken for the user existing.
        assert_eq!(
            rejected(json!({"email": "a@x", "status": "error", "message": "Group does not exist"})),
            "Group does not exist"
        );
    }

    fn spec_of(block: &str) -> Value {
        let block = super::super::Kind::Acton
            .parse_account(serde_yaml::from_str(block).unwrap())
            .unwrap();
        let profile = Profile {
            email: "a@x.io".into(),
            fax: None,
            first_name: "A".into(),
            last_name: "B".into(),
            middle_name: None,
            mobile: None,
            phone: None,
            time_zone: None,
            title: None,
        };
        let new = NewUser {
            email: "a@x.io",
            profile: &profile,
            account: &block,
            password: None,
        };
        let account: &Account = new.account.try_into().unwrap();
        userspec(&new, account)
    }

    #[test]
    fn never_sends_an_empty_privilege_object() {
        let spec = spec_of(
            "{user_type: Sales, marketing: {}, contact_lists: {}, content: {}, programs: {}, account_wide_email: {}}",
        );
        for key in [
            "marketingPrivileges",
            "contactLists",
            "content",
            "programs",
            "accountWideEmail",
        ] {
            assert!(spec.get(key).is_none(), "{key} sent: {spec}");
        }
        let spec = spec_of(
            "{user_type: Marketing, marketing: {launch: false}, contact_lists: {download: true}, content: {create: true, delete: false}, programs: {delete: true}, account_wide_email: {manage: true}}",
        );
        assert_eq!(
            spec["marketingPrivileges"],
            json!({"launchPrivilege": "Not Allowed"})
        );
        assert_eq!(spec["contactLists"], json!({"download": "Y"}));
        assert_eq!(spec["content"], json!({"create": "Y", "delete": "N"}));
        assert_eq!(spec["programs"], json!({"delete": "Y"}));
        assert_eq!(spec["accountWideEmail"], json!({"manage": "Y"}));
    }
}
