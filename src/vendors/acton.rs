//! Act-On: `POST {base}/api/1/user` with a JSON array of user specs, any number per
//! call; one answer element per user, matched by email. No lookup endpoint.

use super::http::{Call, CallError, Http};
use super::{Defaults, Driver, Limits, NewUser, Outcome, PasswordPolicy};
use crate::desired::{Env, User, Vendor, VendorConfig};
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
// `desired::fingerprint`).

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

/// The OAuth password grant's settings, when no ready `token` is given.
const GRANT: [&str; 4] = ["client_id", "client_secret", "username", "password"];

pub fn check_config(config: &VendorConfig) -> Result<(), String> {
    config.allow_only(&[
        "base_url",
        "token",
        "client_id",
        "client_secret",
        "username",
        "password",
    ])?;
    config.require(&["base_url"])?;
    let grant = GRANT.iter().filter(|k| config.get(k).is_some()).count();
    match (config.token.is_some(), grant) {
        (true, 0) | (false, 4) => Ok(()),
        (true, _) => Err("give either `token` or the OAuth settings (client_id, client_secret, username, password), not both".into()),
        (false, _) => Err("kind acton needs `token`, or all of client_id, client_secret, username and password for the OAuth password grant".into()),
    }
}

pub fn check_account(user: &User, account: &Account) -> Result<(), String> {
    if account.user_type.is_none() {
        return Err("`user_type` is required (Marketing or Sales), in the block or a role".into());
    }
    super::check_password(PASSWORD, user.password.as_ref())
}

pub fn connect(vendor: &Vendor, env: Env) -> anyhow::Result<Box<dyn Driver>> {
    let config = &vendor.config;
    let base = super::base_url(config, env)?;
    let (auth, secrets) = if config.token.is_some() {
        let token = Secret::new(config.resolve("token", env)?);
        (Auth::Ready(token.clone()), vec![token])
    } else {
        let [client_id, client_secret, username, password] =
            GRANT.map(|k| config.resolve(k, env).map(Secret::new));
        let (client_id, client_secret, username, password) =
            (client_id?, client_secret?, username?, password?);
        let secrets = vec![client_secret.clone(), password.clone()];
        let grant = Grant {
            url: format!("{base}/token"),
            client_id,
            client_secret,
            username,
            password,
            cached: tokio::sync::Mutex::new(None),
        };
        (Auth::Grant(Box::new(grant)), secrets)
    };
    let limits = Limits::new(config, DEFAULTS);
    let http = Http::new(&vendor.name, &limits, secrets)?
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
    auth: Auth,
    batch: usize,
    http: Http,
}

/// How roster gets a bearer token.
enum Auth {
    /// An access token from the environment.
    Ready(Secret),
    /// The OAuth password grant; the vendor allows 5 logins an hour, so the token
    /// is cached for the run and refreshed rather than fetched again.
    Grant(Box<Grant>),
}

struct Grant {
    url: String,
    client_id: Secret,
    client_secret: Secret,
    username: Secret,
    password: Secret,
    cached: tokio::sync::Mutex<Option<Token>>,
}

struct Token {
    access: Secret,
    refresh: Option<Secret>,
    expires: tokio::time::Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

impl Grant {
    /// A valid access token: the cached one, a refreshed one, or a new login.
    async fn token(&self, http: &Http) -> Result<Secret, CallError> {
        let mut cached = self.cached.lock().await;
        let soon = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        if let Some(t) = cached.as_ref().filter(|t| t.expires > soon) {
            return Ok(t.access.clone());
        }
        let refresh = cached.as_ref().and_then(|t| t.refresh.clone());
        let mut answer = Err(CallError::NotSent("no login attempted".into()));
        if let Some(refresh) = refresh {
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
        let token = Token {
            access: Secret::new(answer.access_token),
            refresh: answer.refresh_token.map(Secret::new),
            expires: tokio::time::Instant::now()
                + std::time::Duration::from_secs(answer.expires_in.unwrap_or(3600)),
        };
        // Handed out at run time, redacted like the configured secrets.
        http.redactor().add(&token.access);
        token.refresh.iter().for_each(|r| http.redactor().add(r));
        let access = token.access.clone();
        *cached = Some(token);
        Ok(access)
    }

    async fn ask(&self, http: &Http, grant: &[(&str, &str)]) -> Result<TokenAnswer, CallError> {
        let mut form: Vec<(&str, &str)> = grant.to_vec();
        form.push(("client_id", self.client_id.expose()));
        form.push(("client_secret", self.client_secret.expose()));
        let request = http
            .client()
            .post(&self.url)
            .form(&form)
            .build()
            .map_err(|e| super::unbuildable(http, e))?;
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

    async fn forget(&self) {
        if let Some(t) = self.cached.lock().await.as_mut() {
            t.expires = tokio::time::Instant::now();
        }
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
    let p = &new.user.profile;
    let mut spec = Map::new();
    let mut put = |k: &str, v: Value| {
        spec.insert(k.to_string(), v);
    };
    let user_type = match account.user_type {
        Some(UserType::Sales) => "Sales",
        _ => "Marketing",
    };
    put("userType", json!(user_type));
    put("email", json!(p.email));
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
    if let Some(m) = &account.marketing {
        let mut o = Map::new();
        if let Some(l) = m.launch {
            o.insert(
                "launchPrivilege".into(),
                json!(if l { "Allowed" } else { "Not Allowed" }),
            );
        }
        if let Some(a) = m.admin {
            o.insert("admin".into(), json!(yn(a)));
        }
        put("marketingPrivileges", Value::Object(o));
    }
    let flags = |pairs: &[(&str, Option<bool>)]| {
        Value::Object(
            pairs
                .iter()
                .filter_map(|(k, v)| v.map(|b| (k.to_string(), json!(yn(b)))))
                .collect(),
        )
    };
    if let Some(c) = &account.contact_lists {
        put(
            "contactLists",
            flags(&[
                ("create", c.create),
                ("delete", c.delete),
                ("download", c.download),
            ]),
        );
    }
    if let Some(c) = &account.content {
        put(
            "content",
            flags(&[("create", c.create), ("delete", c.delete)]),
        );
    }
    if let Some(c) = &account.programs {
        put(
            "programs",
            flags(&[("create", c.create), ("delete", c.delete)]),
        );
    }
    if let Some(c) = &account.account_wide_email {
        put(
            "accountWideEmail",
            flags(&[("view", c.view), ("manage", c.manage)]),
        );
    }
    Value::Object(spec)
}

/// One element of the answer array.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    email: Option<String>,
    status: Option<String>,
    error_code: Option<Value>,
    error_message: Option<String>,
    #[serde(default)]
    privilege_responses: Vec<Value>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
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
        let code = self.error_code.as_ref().map(text).unwrap_or_default();
        let message = self.error_message.unwrap_or_default();
        if super::says_exists(&code) || super::says_exists(&message) {
            return Outcome::Exists { remote_id: None };
        }
        let reason = match (code.is_empty(), message.is_empty()) {
            (false, false) => format!("{code}: {message}"),
            (false, true) => code,
            (true, false) => message,
            (true, true) => format!("status {:?}", self.status.unwrap_or_default()),
        };
        Outcome::Rejected { reason }
    }
}

impl Acton {
    async fn post(&self, specs: &[Value]) -> Result<super::http::Response, CallError> {
        let token = match &self.auth {
            Auth::Ready(token) => token.clone(),
            Auth::Grant(grant) => grant.token(&self.http).await?,
        };
        let request = self
            .http
            .client()
            .post(&self.url)
            .bearer_auth(token.expose())
            .json(specs)
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        self.http.send(Call::Create, request).await
    }
}

#[async_trait]
impl Driver for Acton {
    fn redactor(&self) -> &crate::secret::Redactor {
        self.http.redactor()
    }

    fn batch_limit(&self) -> usize {
        self.batch
    }

    fn can_lookup(&self) -> bool {
        false
    }

    async fn create(&self, batch: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
        let mut specs = Vec::with_capacity(batch.len());
        for new in batch {
            let account: &Account = new.account.try_into()?;
            specs.push(userspec(new, account));
        }
        let mut response = self.post(&specs).await?;
        if response.status == reqwest::StatusCode::UNAUTHORIZED {
            if let Auth::Grant(grant) = &self.auth {
                // The vendor did nothing with a request it refused: safe to send
                // again once, with a fresh token.
                grant.forget().await;
                response = self.post(&specs).await?;
            }
        }
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let answers: Vec<Answer> = response.json().map_err(CallError::Unknown)?;
        Ok(answers
            .into_iter()
            .filter_map(|a| Some((a.email.clone()?.to_lowercase(), a.outcome())))
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
                json!({"email":"a@x","status":"error","errorCode":"USER_ALREADY_EXISTS","errorMessage":"dup"})
            ),
            Outcome::Exists { remote_id: None }
        );
        assert_eq!(
            answer(
                json!({"email":"a@x","status":"error","errorCode":"E1","errorMessage":"User exists already"})
            ),
            Outcome::Exists { remote_id: None }
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
}
