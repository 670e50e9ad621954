//! DocuSign eSignature: `POST {base}/v2.1/accounts/{accountId}/users` with
//! `newUsers`, up to 500 per call; per-user `errorDetails` inside a 201;
//! USER_ALREADY_EXISTS_IN_ACCOUNT carries the existing userId, which is adopted.
//! Rate limits come as an errorCode and X-RateLimit-* / X-BurstLimit-* headers: a
//! spent burst waits for the 30 s burst window, only the hourly limit for its reset.
//! Users are listed
//! with `start_position`/`count` (at most 100) while `nextUri` says more follow,
//! and narrowed by `?email=`. Users are never deleted, only closed, and one email
//! may hold several memberships: a closed one is not a live account.
//!
//! Authentication takes a ready access token (`token:`) or the JWT grant (an RSA
//! key signs an assertion that `/oauth/token` trades for an access token), whose
//! token is cached for the run, renewed before it expires and after a 401.

use super::http::{self, Call, CallError, Http, Response};
use super::list::{self, Cursor, Next, Observed, Page, Query};
use super::{Defaults, Driver, Limits, NewUser, Outcome};
use super::{Vendor, VendorConfig};
use crate::model::{Env, Password, Profile};
use crate::secret::Secret;
use async_trait::async_trait;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

pub const KIND: &str = "docusign";

/// 3,000 calls an hour per account, bursts of 500 in 30 s; 500 users per call.
pub const DEFAULTS: Defaults = Defaults {
    batch_size: 500,
    concurrency: 2,
    rate_per_second: 3000.0 / 3600.0,
};

/// DocuSign sends an activation email instead of taking a password.
pub const PASSWORD: Option<super::PasswordPolicy> = None;

/// Fields in alphabetical order (canonical JSON, see `model::fingerprint`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "DocuSignAccount")]
#[serde(deny_unknown_fields)]
pub struct Account {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<String>>,
    /// Defaults to the user's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_profile_id: Option<String>,
    /// Passed as `userSettings`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, Value>,
    /// Defaults to "First Last".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

crate::merge_fields!(Account {
    company,
    group_ids,
    job_title,
    permission_profile_id,
    settings,
    user_name,
});

/// The JWT grant's settings, the other way to authenticate than `token`.
const JWT: [&str; 5] = [
    "integration_key",
    "user_id",
    "private_key",
    "private_key_file",
    "oauth_base_url",
];

/// Where the JWT grant is traded for a token (production; demo is account-d).
const OAUTH_BASE_URL: &str = "https://account.docusign.com";

pub fn check_config(config: &VendorConfig) -> Result<(), String> {
    let mut allowed = vec!["base_url", "account_id", "token"];
    allowed.extend(JWT);
    config.allow_only(&allowed)?;
    config.require(&["base_url", "account_id"])?;
    if config.batch_size.is_some_and(|b| b > 500) {
        return Err("`batch_size` is at most 500 for DocuSign".into());
    }
    super::check_literal_settings(config)?;
    let jwt: Vec<&str> = JWT
        .into_iter()
        .filter(|k| config.get(k).is_some())
        .collect();
    if config.token.is_some() {
        return match jwt.first() {
            None => Ok(()),
            Some(k) => Err(format!(
                "give either `token` or the JWT grant's settings, not both (`token` and `{k}` are set)"
            )),
        };
    }
    if jwt.is_empty() {
        return Err("kind docusign needs `token` (an access token), or `integration_key`, `user_id` and `private_key` (or `private_key_file`) for the JWT grant".into());
    }
    for (key, what) in [
        ("integration_key", "the app's integration key"),
        ("user_id", "the GUID of the user roster acts as"),
    ] {
        if config.get(key).is_none() {
            return Err(format!("the JWT grant needs `{key}` ({what})"));
        }
    }
    match (&config.private_key, &config.private_key_file) {
        (Some(_), Some(_)) => Err("give `private_key` or `private_key_file`, not both".into()),
        (None, None) => Err("the JWT grant needs `private_key` (${VAR} holding the RSA key in PEM) or `private_key_file` (a path)".into()),
        _ => match &config.oauth_base_url {
            Some(t) if t.is_literal() => oauth_url(t.raw()).map(|_| ()),
            _ => Ok(()),
        },
    }
}

/// `oauth_base_url` parsed: an http(s) URL.
fn oauth_url(text: &str) -> Result<reqwest::Url, String> {
    super::check_setting("oauth_base_url", text)?;
    reqwest::Url::parse(text).map_err(|e| format!("`oauth_base_url` is not a URL: {e}"))
}

pub fn check_account(
    profile: &Profile,
    _password: Option<&Password>,
    account: &Account,
) -> Result<(), String> {
    let p = profile;
    let limits = [
        ("first_name", Some(&p.first_name), 50),
        ("last_name", Some(&p.last_name), 50),
        ("middle_name", p.middle_name.as_ref(), 50),
        ("email", Some(&p.email), 100),
    ];
    for (key, value, max) in limits {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(format!("`{key}` is over DocuSign's {max} characters"));
        }
    }
    if account
        .user_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err("`user_name` is empty".into());
    }
    Ok(())
}

pub fn connect(vendor: &Vendor, env: Env) -> anyhow::Result<Box<dyn Driver>> {
    let config = &vendor.config;
    let base = super::base_url(config, env)?;
    let account_id = config.resolve("account_id", env)?;
    let (auth, secrets) = if config.token.is_some() {
        let token = Secret::new(config.resolve("token", env)?);
        (Auth::Ready(token.clone()), vec![token])
    } else {
        let grant = JwtGrant::new(config, env)?;
        let key = grant.key.clone();
        (Auth::Jwt(Box::new(grant)), vec![key])
    };
    let limits = Limits::new(config, DEFAULTS);
    let account = super::http::account_key(config.kind.name(), &base, &secrets);
    let http = Http::new(&vendor.name, account, &limits, secrets)?
        .with_throttle(throttled)
        .with_quota(quota);
    Ok(Box::new(DocuSign {
        url: format!("{base}/v2.1/accounts/{account_id}/users"),
        auth,
        batch: limits.batch_size.min(500),
        http,
        caps: list::Caps::of(config),
    }))
}

/// The answer's `errorCode`, if it has one.
fn error_code(response: &Response) -> Option<String> {
    let v: Value = serde_json::from_slice(&response.body).ok()?;
    Some(v.get("errorCode")?.as_str()?.to_string())
}

/// 429, or HOURLY_/BURST_APIINVOCATION_LIMIT_EXCEEDED with any status.
fn throttled(response: &Response) -> bool {
    http::is_429(response) || error_code(response).is_some_and(|c| c.ends_with("_LIMIT_EXCEEDED"))
}

/// DocuSign's burst window: a spent burst frees up within it.
const BURST_WINDOW: Duration = Duration::from_secs(30);

/// How long an answer holds every request. A spent hourly limit (its errorCode,
/// or `X-RateLimit-Remaining: 0`) waits for `X-RateLimit-Reset`. A spent burst
/// (its errorCode, `X-BurstLimit-Remaining: 0`, or a throttle that names neither)
/// waits for `X-BurstLimit-Reset`, or the 30 s burst window when none is given:
/// never for the hourly reset, which may be most of an hour away.
fn quota(response: &Response) -> Option<Duration> {
    let headers = &response.headers;
    let code = error_code(response).unwrap_or_default();
    let hourly = code.starts_with("HOURLY_") || http::is_spent(headers, "x-ratelimit-remaining");
    let burst = code.starts_with("BURST_")
        || http::is_spent(headers, "x-burstlimit-remaining")
        || (throttled(response) && !hourly);
    let hourly = hourly
        .then(|| http::reset_in(headers, "x-ratelimit-reset"))
        .flatten();
    let burst =
        burst.then(|| http::reset_in(headers, "x-burstlimit-reset").unwrap_or(BURST_WINDOW));
    hourly.max(burst)
}

struct DocuSign {
    url: String,
    auth: Auth,
    batch: usize,
    http: Http,
    caps: list::Caps,
}

/// How roster gets its access token.
enum Auth {
    /// An access token from the environment, used as it is.
    Ready(Secret),
    /// The JWT grant: tokens obtained and renewed as the run needs them.
    Jwt(Box<JwtGrant>),
}

/// The OAuth JWT bearer grant (RFC 7523) as DocuSign speaks it.
struct JwtGrant {
    token_url: String,
    /// The OAuth host, e.g. `account-d.docusign.com`: the assertion's `aud`.
    audience: String,
    integration_key: String,
    user_id: String,
    /// The RSA private key, PEM.
    key: Secret,
    cached: tokio::sync::Mutex<Option<Token>>,
}

struct Token {
    access: Secret,
    /// When to renew it: some time before it expires.
    renew_at: Instant,
}

/// The claims DocuSign asks of the assertion.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    scope: &'static str,
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid; DocuSign takes at most an hour.
const ASSERTION_LIFETIME: u64 = 3600;

/// How long an access token lives when the answer does not say.
const TOKEN_LIFETIME: u64 = 3600;

impl JwtGrant {
    fn new(config: &VendorConfig, env: Env) -> anyhow::Result<JwtGrant> {
        let oauth = match &config.oauth_base_url {
            Some(_) => config.resolve("oauth_base_url", env)?,
            None => OAUTH_BASE_URL.to_string(),
        };
        let url = oauth_url(&oauth).map_err(anyhow::Error::msg)?;
        let host = url.host_str().unwrap_or_default();
        let audience = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let (source, pem) = if config.private_key.is_some() {
            let pem = config.resolve("private_key", env)?;
            // A PEM squeezed onto one line, as some CI secret stores keep it.
            let pem = if pem.contains('\n') {
                pem
            } else {
                pem.replace("\\n", "\n")
            };
            ("`private_key`".to_string(), pem)
        } else {
            let path = config.resolve("private_key_file", env)?;
            // As written in the file: a `${VAR}`'s value is never shown.
            let written = config
                .private_key_file
                .as_ref()
                .map(|t| t.raw())
                .unwrap_or("");
            let source = format!("`private_key_file` {written:?}");
            let pem = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("{source}: cannot read it: {e}"))?;
            (source, pem)
        };
        let grant = JwtGrant {
            token_url: format!("{}/oauth/token", oauth.trim_end_matches('/')),
            audience,
            integration_key: config.resolve("integration_key", env)?,
            user_id: config.resolve("user_id", env)?,
            key: Secret::new(pem),
            cached: tokio::sync::Mutex::new(None),
        };
        // Signed once now, so a key that cannot sign stops the run before anything is sent.
        grant
            .assertion()
            .map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        Ok(grant)
    }

    /// A signed assertion, valid for an hour from now.
    fn assertion(&self) -> Result<Secret, String> {
        // The parser's own error may quote a byte of the key: not shown.
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.key.expose().as_bytes())
            .map_err(|_| {
                "not an RSA private key in PEM (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)".to_string()
            })?;
        let iat = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            iss: &self.integration_key,
            sub: &self.user_id,
            aud: &self.audience,
            iat,
            exp: iat + ASSERTION_LIFETIME,
            scope: "signature impersonation",
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        jsonwebtoken::encode(&header, &claims, &key)
            .map(Secret::new)
            .map_err(|e| {
                format!(
                    "cannot sign with this key (RS256; is it the public one?): {:?}",
                    e.kind()
                )
            })
    }

    /// A valid access token: the cached one, or a new one when it is due for
    /// renewal or is the `refused` one (which the vendor answered 401). Requests
    /// refused together renew once: the first renews, the others take its token.
    async fn token(&self, http: &Http, refused: Option<&Secret>) -> Result<Secret, CallError> {
        let mut cached = self.cached.lock().await;
        let usable = cached
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at && Some(&t.access) != refused);
        if let Some(t) = usable {
            return Ok(t.access.clone());
        }
        let token = self.login(http).await?;
        let access = token.access.clone();
        *cached = Some(token);
        Ok(access)
    }

    /// Trades a new assertion for an access token. Whatever goes wrong, the
    /// request that needed the token was not sent.
    async fn login(&self, http: &Http) -> Result<Token, CallError> {
        let failed =
            |why: String| CallError::NotSent(format!("DocuSign login (JWT grant) failed: {why}"));
        let assertion = self.assertion().map_err(failed)?;
        http.redactor().add(&assertion);
        let request = http
            .client()
            .post(&self.token_url)
            .form(&[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion.expose()),
            ])
            .build()
            .map_err(|e| super::unbuildable(http, e))?;
        // Asking again for a token does no harm: a read as far as retries go.
        let response = http
            .send(Call::Read, request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status.is_success() {
            // Redacted by `http`, which knows the assertion (added above).
            let message = http.failure(&response).to_string();
            let hint = if message.contains("consent_required") {
                "; the user `user_id` must grant the integration consent once (see README)"
            } else {
                ""
            };
            return Err(failed(format!("{message}{hint}")));
        }
        // Read by hand: an error quoting the answer would quote the token.
        let answer: Value = serde_json::from_slice(&response.body)
            .map_err(|_| failed("the token answer is not JSON".into()))?;
        let access = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(Secret::new)
            .ok_or_else(|| failed("the token answer has no access_token".into()))?;
        http.redactor().add(&access);
        let lifetime = answer
            .get("expires_in")
            .and_then(|e| e.as_u64().or_else(|| e.as_str()?.trim().parse().ok()))
            .unwrap_or(TOKEN_LIFETIME);
        // A day at most: a longer promise is renewed early, and one long enough
        // cannot be added to the clock.
        let lifetime = Duration::from_secs(lifetime.min(86_400));
        // Renewed a little early, so that no request leaves with a token about to expire.
        let margin = (lifetime / 4).min(Duration::from_secs(60));
        tracing::info!(
            expires_in = lifetime.as_secs(),
            "obtained a DocuSign access token (JWT grant)"
        );
        Ok(Token {
            access,
            renew_at: Instant::now() + lifetime - margin,
        })
    }
}

impl DocuSign {
    /// Sends `request` with a valid access token. A 401 means the vendor did
    /// nothing with it: under the JWT grant the token is renewed and the request
    /// sent once more.
    async fn send(&self, call: Call, request: reqwest::Request) -> Result<Response, CallError> {
        let grant = match &self.auth {
            Auth::Ready(token) => return self.http.send(call, bearer(&request, token)?).await,
            Auth::Jwt(grant) => grant,
        };
        let token = grant.token(&self.http, None).await?;
        let response = self.http.send(call, bearer(&request, &token)?).await?;
        if response.status != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        tracing::info!(
            "DocuSign refused the access token (HTTP 401); renewing it and sending again"
        );
        let fresh = grant.token(&self.http, Some(&token)).await?;
        self.http.send(call, bearer(&request, &fresh)?).await
    }
}

/// A copy of `request` that carries `token`.
fn bearer(request: &reqwest::Request, token: &Secret) -> Result<reqwest::Request, CallError> {
    let mut request = request
        .try_clone()
        .ok_or_else(|| CallError::NotSent("request body cannot be replayed".into()))?;
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        CallError::NotSent("the access token is not a valid HTTP header value".into())
    })?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(request)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    #[serde(default)]
    new_users: Vec<NewUserAnswer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUserAnswer {
    user_id: Option<String>,
    email: Option<String>,
    error_details: Option<ErrorDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    error_code: Option<String>,
    message: Option<String>,
}

impl NewUserAnswer {
    fn outcome(self) -> Outcome {
        match self.error_details {
            None => Outcome::Created {
                remote_id: self.user_id,
                warnings: vec![],
            },
            Some(e) if e.error_code.as_deref() == Some("USER_ALREADY_EXISTS_IN_ACCOUNT") => {
                Outcome::Exists {
                    remote_id: self.user_id,
                    said: format!(
                        "USER_ALREADY_EXISTS_IN_ACCOUNT: {}",
                        e.message.unwrap_or_default()
                    ),
                }
            }
            Some(e) => Outcome::Rejected {
                reason: format!(
                    "{}: {}",
                    e.error_code.unwrap_or_default(),
                    e.message.unwrap_or_default()
                ),
            },
        }
    }
}

/// An answer that gives one `userId` to two different users contradicts
/// itself: neither is taken from it (each is left to a lookup, as an outcome
/// nobody knows), so one account is never recorded for two people.
fn one_id_one_user(outcomes: Vec<(String, Outcome)>) -> Vec<(String, Outcome)> {
    let id = |o: &Outcome| match o {
        Outcome::Created { remote_id, .. } | Outcome::Exists { remote_id, .. } => remote_id.clone(),
        _ => None,
    };
    let mut users_of: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (email, o) in &outcomes {
        if let Some(id) = id(o) {
            users_of.entry(id).or_default().insert(email);
        }
    }
    let shared: std::collections::BTreeSet<String> = users_of
        .into_iter()
        .filter(|(_, users)| users.len() > 1)
        .map(|(id, _)| id)
        .collect();
    outcomes
        .into_iter()
        .map(|(email, o)| match id(&o) {
            Some(i) if shared.contains(&i) => (
                email,
                Outcome::Unknown {
                    reason: "the vendor's answer gives this user's id to another user too; to verify by a lookup".into(),
                },
            ),
            _ => (email, o),
        })
        .collect()
}

fn new_user(new: &NewUser<'_>, account: &Account) -> Value {
    let p = &new.profile;
    let mut u = Map::new();
    let user_name = account
        .user_name
        .clone()
        .unwrap_or_else(|| format!("{} {}", p.first_name, p.last_name));
    u.insert("userName".into(), json!(user_name));
    u.insert("email".into(), json!(new.email));
    u.insert("firstName".into(), json!(p.first_name));
    u.insert("lastName".into(), json!(p.last_name));
    let optional = [
        ("middleName", p.middle_name.as_ref()),
        ("company", account.company.as_ref()),
        ("jobTitle", account.job_title.as_ref().or(p.title.as_ref())),
        (
            "permissionProfileId",
            account.permission_profile_id.as_ref(),
        ),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            u.insert(key.into(), json!(v));
        }
    }
    if let Some(ids) = &account.group_ids {
        let groups: Vec<Value> = ids.iter().map(|g| json!({"groupId": g})).collect();
        u.insert("groupList".into(), Value::Array(groups));
    }
    if !account.settings.is_empty() {
        u.insert("userSettings".into(), json!(account.settings));
    }
    Value::Object(u)
}

#[async_trait]
impl Driver for DocuSign {
    fn redactor(&self) -> &crate::secret::Redactor {
        self.http.redactor()
    }

    fn batch_limit(&self) -> usize {
        self.batch
    }

    async fn create(&self, batch: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
        let mut users = Vec::with_capacity(batch.len());
        for new in batch {
            let account: &Account = new.account.try_into()?;
            users.push(new_user(new, account));
        }
        let request = self
            .http
            .client()
            .post(&self.url)
            .json(&json!({ "newUsers": users }))
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        let response = self.send(Call::Create, request).await?;
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let answer: Answer = response.json().map_err(CallError::Unknown)?;
        Ok(one_id_one_user(
            answer
                .new_users
                .into_iter()
                .filter_map(|u| Some((crate::model::identity(u.email.as_deref()?), u.outcome())))
                .collect(),
        ))
    }

    fn lists(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }

    fn caps(&self) -> list::Caps {
        self.caps
    }

    async fn page(&self, query: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
        let start = match at {
            Cursor::Offset(n) => *n,
            _ => 0,
        };
        let (start_text, count) = (start.to_string(), PAGE.to_string());
        let mut params = vec![
            ("start_position", start_text.as_str()),
            ("count", count.as_str()),
        ];
        if let Query::Key(email) = query {
            params.push(("email", email));
        }
        let request = self
            .http
            .client()
            .get(&self.url)
            .query(&params)
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        let response = self.send(Call::Read, request).await?;
        if matches!(query, Query::Key(_)) && response.status == reqwest::StatusCode::NOT_FOUND {
            // No user with that email in the account.
            return Ok(Page {
                total: None,
                listed: 0,
                items: vec![],
                next: Next::Last,
            });
        }
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let answer: Value = response.json().map_err(CallError::Unknown)?;
        let users = answer
            .get("users")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let next = next_page(&self.url, &answer, start, users.len())?;
        Ok(Page {
            total: list::count(answer.get("totalSetSize")),
            listed: users.len(),
            items: users.iter().filter_map(observed).collect(),
            next,
        })
    }
}

/// What follows the page asked for at `start`, holding `n` users, once its
/// own numbers are found to agree: it starts where it was asked to, its
/// positions and `resultSetSize` span exactly its users, and it says more
/// follow (`nextUri`) exactly when `totalSetSize` is not reached. A page
/// that disagrees with itself is an error naming it, never read as a
/// shorter list (a jump in positions hides accounts, which would then be
/// taken for deleted). `nextUri` is resolved against the configured base
/// URL and must stay on its origin and point where this page ends.
fn next_page(url: &str, answer: &Value, start: u64, n: usize) -> Result<Next, CallError> {
    let n = n as u64;
    let bad = |what: String| {
        CallError::Unknown(format!(
            "the vendor's page at start_position {start} is inconsistent: {what}; stopped paging"
        ))
    };
    let field = |key: &str| -> Result<Option<u64>, CallError> {
        match answer.get(key) {
            None | Some(Value::Null) => Ok(None),
            v => list::count(v)
                .map(Some)
                .ok_or_else(|| bad(format!("`{key}` is not a count"))),
        }
    };
    let end = start
        .checked_add(n)
        .ok_or_else(|| bad("it ends past the largest position there is".into()))?;
    if let Some(first) = field("startPosition")? {
        if first != start {
            return Err(bad(format!("it says it starts at {first}")));
        }
    }
    if let Some(size) = field("resultSetSize")? {
        if size != n {
            return Err(bad(format!("it holds {n} users but says {size}")));
        }
    }
    // An empty page may say -1 (no last position): only a page with users has one.
    if let Some(last) = if n > 0 { field("endPosition")? } else { None } {
        if last.checked_add(1) != Some(end) {
            return Err(bad(format!(
                "it holds {n} users but says they span positions {start} to {last}"
            )));
        }
    }
    let next_uri = answer
        .get("nextUri")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty());
    if let Some(total) = field("totalSetSize")? {
        if next_uri.is_some() && end >= total {
            return Err(bad(format!(
                "it says more follow, yet it ends at {end} of the {total} it says there are"
            )));
        }
        if next_uri.is_none() && end != total {
            return Err(bad(format!(
                "it is the last, yet it ends at {end} of the {total} it says there are"
            )));
        }
    }
    let Some(uri) = next_uri else {
        return Ok(Next::Last);
    };
    let base = reqwest::Url::parse(url).map_err(|e| bad(format!("{e}")))?;
    let next = base
        .join(uri)
        .map_err(|_| bad("its `nextUri` is not a URL".into()))?;
    if next.origin() != base.origin() {
        return Err(bad(format!(
            "its `nextUri` points to another origin ({}), not {}",
            crate::model::escaped(&next.origin().ascii_serialization()),
            base.origin().ascii_serialization()
        )));
    }
    let said = next
        .query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("start_position"))
        .map(|(_, v)| v.trim().parse::<u64>());
    match said {
        Some(Ok(at)) if at != end => Err(bad(format!(
            "it ends at {end}, yet its `nextUri` goes on at {at}"
        ))),
        Some(Err(_)) => Err(bad("its `nextUri` has no numeric start_position".into())),
        _ => Ok(Next::At(Cursor::Offset(end))),
    }
}

/// Users asked for per page: DocuSign's most.
const PAGE: usize = 100;

/// One membership of the account's user list, as roster sees it.
fn observed(u: &Value) -> Option<Observed> {
    Observed::by_email(
        u,
        &list::Fields {
            email: "email",
            id: "userId",
            status: "userStatus",
            first_name: "firstName",
            last_name: "lastName",
            block: &[
                ("userName", "user_name"),
                ("permissionProfileId", "permission_profile_id"),
                ("company", "company"),
                ("jobTitle", "job_title"),
            ],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_whose_numbers_disagree_is_an_error_never_a_shorter_list() {
        const URL: &str = "https://ds.example/restapi/v2.1/accounts/9/users";
        let page = |start: u64, n: u64, end: i64, total: u64, next: Option<&str>| {
            let mut v = json!({
                "resultSetSize": n.to_string(),
                "startPosition": start.to_string(),
                "endPosition": end.to_string(),
                "totalSetSize": total.to_string(),
            });
            if let Some(uri) = next {
                v["nextUri"] = json!(uri);
            }
            v
        };
        let next = "/v2.1/accounts/9/users?start_position=100&count=100";
        // Consistent pages.
        assert_eq!(
            next_page(URL, &page(0, 100, 99, 300, Some(next)), 0, 100).unwrap(),
            Next::At(Cursor::Offset(100))
        );
        assert_eq!(
            next_page(URL, &page(200, 100, 299, 300, None), 200, 100).unwrap(),
            Next::Last
        );
        for empty in [page(0, 0, 0, 0, None), page(0, 0, -1, 0, None)] {
            assert_eq!(next_page(URL, &empty, 0, 0).unwrap(), Next::Last);
        }
        // (page, start, users held, what the error says)
        let cases = [
            // endPosition jumps past accounts.
            (
                page(0, 100, 199, 300, Some("/x?start_position=200")),
                0,
                100,
                "span positions 0 to 199",
            ),
            (
                page(0, 1, -1, 1, None),
                0,
                1,
                "`endPosition` is not a count",
            ),
            // The last page stops short of the stated total.
            (
                page(100, 100, 199, 300, None),
                100,
                100,
                "ends at 200 of the 300",
            ),
            // Says more follow past the total.
            (
                page(200, 100, 299, 300, Some(next)),
                200,
                100,
                "says more follow",
            ),
            // resultSetSize disagrees with the users held.
            (
                page(0, 100, 99, 300, Some(next)),
                0,
                90,
                "holds 90 users but says 100",
            ),
            // Starts elsewhere than asked.
            (page(50, 100, 149, 300, Some(next)), 0, 100, "starts at 50"),
            // nextUri skips ahead.
            (
                page(
                    0,
                    100,
                    99,
                    300,
                    Some("/v2.1/accounts/9/users?start_position=200"),
                ),
                0,
                100,
                "goes on at 200",
            ),
            // nextUri to another host.
            (
                page(
                    0,
                    100,
                    99,
                    300,
                    Some("https://evil.example/v2.1/accounts/9/users?start_position=100"),
                ),
                0,
                100,
                "another origin",
            ),
            (
                page(
                    0,
                    100,
                    99,
                    300,
                    Some("//evil.example/users?start_position=100"),
                ),
                0,
                100,
                "another origin",
            ),
            (
                page(
                    0,
                    100,
                    99,
                    300,
                    Some("http://ds.example/users?start_position=100"),
                ),
                0,
                100,
                "another origin",
            ),
        ];
        for (answer, start, n, says) in cases {
            let e = next_page(URL, &answer, start, n).unwrap_err().to_string();
            let mut huge = answer.clone();
            huge["endPosition"] = json!(u64::MAX.to_string());
            assert!(next_page(URL, &huge, start, n).is_err());
            assert!(e.contains(says), "{answer}: {e}");
            assert!(e.contains(&format!("start_position {start}")), "{e}");
        }
    }

    #[test]
    fn one_id_given_to_two_users_is_taken_for_neither() {
        let exists = |id: &str| Outcome::Exists {
            remote_id: Some(id.into()),
            said: "USER_ALREADY_EXISTS_IN_ACCOUNT".into(),
        };
        let created = |id: &str| Outcome::Created {
            remote_id: Some(id.into()),
            warnings: vec![],
        };
        let got = one_id_one_user(vec![
            ("a@x.io".into(), exists("1")),
            ("b@x.io".into(), created("1")),
            ("c@x.io".into(), exists("3")),
            // The same user twice with its id is no contradiction.
            ("d@x.io".into(), created("4")),
            ("d@x.io".into(), created("4")),
        ]);
        assert!(matches!(got[0].1, Outcome::Unknown { .. }), "{got:?}");
        assert!(matches!(got[1].1, Outcome::Unknown { .. }), "{got:?}");
        assert_eq!(got[2].1, exists("3"));
        assert_eq!(got[3].1, created("4"));
    }

    #[test]
    fn classifies_elements() {
        let parse = |v: Value| {
            serde_json::from_value::<NewUserAnswer>(v)
                .unwrap()
                .outcome()
        };
        assert_eq!(
            parse(json!({"userId": "u1", "email": "a@x.io", "userStatus": "ActivationSent"})),
            Outcome::Created {
                remote_id: Some("u1".into()),
                warnings: vec![]
            }
        );
        assert_eq!(
            parse(
                json!({"userId": "u2", "email": "a@x.io", "errorDetails": {"errorCode": "USER_ALREADY_EXISTS_IN_ACCOUNT", "message": "dup"}})
            ),
            Outcome::Exists {
                remote_id: Some("u2".into()),
                said: "USER_ALREADY_EXISTS_IN_ACCOUNT: dup".into()
            }
        );
        assert_eq!(
            parse(
                json!({"email": "a@x.io", "errorDetails": {"errorCode": "INVALID_EMAIL_ADDRESS_FOR_USER", "message": "bad"}})
            ),
            Outcome::Rejected {
                reason: "INVALID_EMAIL_ADDRESS_FOR_USER: bad".into()
            }
        );
    }

    #[test]
    fn rate_limit_errors_are_throttles_whatever_the_status() {
        let response = |status: u16, body: &str| Response {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        };
        assert!(throttled(&response(
            400,
            r#"{"errorCode":"HOURLY_APIINVOCATION_LIMIT_EXCEEDED","message":"x"}"#
        )));
        assert!(throttled(&response(429, "")));
        assert!(!throttled(&response(
            400,
            r#"{"errorCode":"INVALID_REQUEST_BODY"}"#
        )));
    }

    const KEY: &str = include_str!("../../tests/fixtures/docusign-test-key.pem");
    const KEY_PKCS8: &str = include_str!("../../tests/fixtures/docusign-test-key.pkcs8.pem");
    const PUBLIC: &str = include_str!("../../tests/fixtures/docusign-test-key.pub.pem");

    fn config(settings: &str) -> VendorConfig {
        serde_yaml::from_str(&format!(
            "{{kind: docusign, base_url: 'http://x', account_id: a, {settings}}}"
        ))
        .unwrap()
    }

    const JWT_SETTINGS: &str = "integration_key: ik, user_id: uid, private_key: '${KEY}'";

    #[test]
    fn one_way_to_authenticate_is_required() {
        for ok in [
            "token: '${T}'",
            JWT_SETTINGS,
            "integration_key: ik, user_id: uid, private_key_file: /k.pem, oauth_base_url: 'https://account-d.docusign.com'",
        ] {
            check_config(&config(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, want) in [
            ("batch_size: 1", "needs `token`"),
            ("token: t, user_id: u", "not both (`token` and `user_id` are set)"),
            ("integration_key: ik, private_key: k", "needs `user_id`"),
            ("user_id: u, private_key: k", "needs `integration_key`"),
            ("integration_key: ik, user_id: u", "needs `private_key`"),
            ("integration_key: ik, user_id: u, private_key: k, private_key_file: f", "not both"),
            ("integration_key: ik, user_id: u, private_key: k, oauth_base_url: 'account-d.docusign.com'", "is not a URL"),
            ("api_token: x", "not a setting of kind docusign"),
        ] {
            let err = check_config(&config(bad)).unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    #[test]
    fn long_names_and_emails_are_caught_at_load() {
        let yaml = |middle: usize, email: usize| {
            format!(
                "version: 1\nvendors:\n  ds: {{kind: docusign, base_url: 'http://x', account_id: a, token: t}}\nusers:\n  - {{email: {}@x.io, first_name: A, last_name: B, middle_name: {}, accounts: {{ds: {{}}}}}}\n",
                "e".repeat(email - 5),
                "M".repeat(middle)
            )
        };
        let load = |y: String| crate::desired::load_str("r.yaml", &y, &|_| None);
        assert!(load(yaml(50, 100)).is_ok());
        let err = format!("{:#}", load(yaml(51, 100)).unwrap_err());
        assert!(
            err.contains("`middle_name` is over DocuSign's 50 characters"),
            "{err}"
        );
        let err = format!("{:#}", load(yaml(50, 101)).unwrap_err());
        assert!(
            err.contains("`email` is over DocuSign's 100 characters"),
            "{err}"
        );
    }

    fn grant(settings: &str, key: &str) -> anyhow::Result<JwtGrant> {
        let key = key.to_string();
        JwtGrant::new(&config(settings), &move |v| {
            (v == "KEY").then(|| key.clone())
        })
    }

    #[derive(Deserialize)]
    struct Got {
        iss: String,
        sub: String,
        aud: String,
        iat: u64,
        exp: u64,
        scope: String,
    }

    fn verify(assertion: &Secret, aud: &str) -> Got {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[aud]);
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC.as_bytes()).unwrap();
        jsonwebtoken::decode::<Got>(assertion.expose(), &key, &validation)
            .unwrap()
            .claims
    }

    #[test]
    fn the_assertion_carries_docusigns_claims_signed_rs256() {
        let one_line = KEY.trim().replace('\n', "\\n");
        for key in [KEY, KEY_PKCS8, &one_line] {
            let g = grant(JWT_SETTINGS, key).unwrap();
            assert_eq!(g.token_url, "https://account.docusign.com/oauth/token");
            let got = verify(&g.assertion().unwrap(), "account.docusign.com");
            assert_eq!((got.iss.as_str(), got.sub.as_str()), ("ik", "uid"));
            assert_eq!(got.aud, "account.docusign.com");
            assert_eq!(got.scope, "signature impersonation");
            assert_eq!(got.exp - got.iat, 3600);
        }
        let demo = format!("{JWT_SETTINGS}, oauth_base_url: 'http://127.0.0.1:8787/docusign/'");
        let g = grant(&demo, KEY).unwrap();
        assert_eq!(g.token_url, "http://127.0.0.1:8787/docusign/oauth/token");
        assert_eq!(
            verify(&g.assertion().unwrap(), "127.0.0.1:8787").aud,
            "127.0.0.1:8787"
        );
    }

    #[test]
    fn a_key_that_cannot_sign_is_refused_before_anything_is_sent() {
        let not_pem = grant(JWT_SETTINGS, "hunter2-not-a-key").err().unwrap();
        let text = format!("{not_pem:#}");
        assert!(text.contains("not an RSA private key in PEM"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let garbled = KEY.replace("MII", "MIX");
        let text = format!("{:#}", grant(JWT_SETTINGS, &garbled).err().unwrap());
        assert!(
            text.starts_with("`private_key`: not an RSA private key"),
            "{text}"
        );
        let public = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(public.path(), PUBLIC).unwrap();
        let path = public.path().display();
        let settings = format!("integration_key: ik, user_id: uid, private_key_file: '{path}'");
        let text = format!("{:#}", grant(&settings, KEY).err().unwrap());
        assert_eq!(
            text,
            format!("`private_key_file` \"{path}\": cannot sign with this key (RS256; is it the public one?): InvalidRsaKey(\"InvalidEncoding\")")
        );
        let missing = grant(
            "integration_key: ik, user_id: uid, private_key_file: /nonexistent/k.pem",
            KEY,
        )
        .err()
        .unwrap();
        assert!(
            format!("{missing:#}")
                .contains("`private_key_file` \"/nonexistent/k.pem\": cannot read it"),
            "{missing:#}"
        );
    }

    fn answer(status: u16, headers: Vec<(&'static str, String)>, body: &str) -> Response {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(k, v.parse().unwrap());
        }
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    fn unix_in(secs: u64) -> String {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        (now + secs).to_string()
    }

    #[test]
    fn only_the_hourly_limit_waits_for_the_hourly_reset() {
        let hourly_reset = ("x-ratelimit-reset", unix_in(3000));
        let plenty = ("x-ratelimit-remaining", "2500".to_string());
        let burst_spent = ("x-burstlimit-remaining", "0".to_string());
        let burst_code = r#"{"errorCode":"BURST_APIINVOCATION_LIMIT_EXCEEDED","message":"x"}"#;
        let hourly_code = r#"{"errorCode":"HOURLY_APIINVOCATION_LIMIT_EXCEEDED","message":"x"}"#;
        let around = |got: Option<Duration>, secs: u64| {
            got.is_some_and(|d| {
                d <= Duration::from_secs(secs)
                    && d + Duration::from_secs(3) > Duration::from_secs(secs)
            })
        };
        // A spent burst with no reset of its own: the burst window.
        let cases = [
            (
                answer(400, vec![hourly_reset.clone(), plenty.clone()], burst_code),
                Some(30),
            ),
            (
                answer(
                    201,
                    vec![hourly_reset.clone(), plenty.clone(), burst_spent.clone()],
                    "{}",
                ),
                Some(30),
            ),
            (
                answer(429, vec![hourly_reset.clone(), plenty.clone()], ""),
                Some(30),
            ),
            // The burst's own reset, when given.
            (
                answer(
                    429,
                    vec![
                        hourly_reset.clone(),
                        burst_spent.clone(),
                        ("x-burstlimit-reset", unix_in(7)),
                    ],
                    burst_code,
                ),
                Some(7),
            ),
            // The hourly limit: until its reset.
            (
                answer(400, vec![hourly_reset.clone()], hourly_code),
                Some(3000),
            ),
            (
                answer(
                    201,
                    vec![hourly_reset.clone(), ("x-ratelimit-remaining", "0".into())],
                    "{}",
                ),
                Some(3000),
            ),
            // Nothing spent: no hold.
            (
                answer(201, vec![hourly_reset.clone(), plenty.clone()], "{}"),
                None,
            ),
            (
                answer(
                    400,
                    vec![hourly_reset.clone()],
                    r#"{"errorCode":"INVALID_USERNAME_FOR_USER"}"#,
                ),
                None,
            ),
        ];
        for (i, (response, want)) in cases.iter().enumerate() {
            let got = quota(response);
            match want {
                Some(secs) => assert!(around(got, *secs), "case {i}: {got:?}, want ~{secs}s"),
                None => assert_eq!(got, None, "case {i}"),
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_spent_burst_holds_the_next_request_thirty_seconds_not_an_hour() {
        let limiter = http::RateLimiter::new(100.0, 1);
        let spent = answer(
            400,
            vec![
                ("x-ratelimit-reset", unix_in(3000)),
                ("x-ratelimit-remaining", "2500".into()),
                ("x-burstlimit-remaining", "0".into()),
            ],
            r#"{"errorCode":"BURST_APIINVOCATION_LIMIT_EXCEEDED"}"#,
        );
        let start = Instant::now();
        limiter.hold_until(start + quota(&spent).unwrap()).await;
        limiter.acquire().await;
        assert_eq!(start.elapsed(), BURST_WINDOW);
    }
}
