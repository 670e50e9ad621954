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

mod jwt;
mod users;

use super::auth::Bearer;
use super::http::{self, Call, CallError, Http, Response};
use super::list::{self, Cursor, Lister, Next, Page, Query};
use super::{Common, Vendor};
use super::{Context, Defaults, Driver, Limits, NewUser, Outcome};
use crate::model::Template;
use crate::model::{Password, Profile};
use crate::secret::Secret;
use async_trait::async_trait;
use jwt::JwtGrant;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use users::{new_user, next_page, observed, one_id_one_user, Answer, PAGE};

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

crate::settings! {
    /// The settings of a `kind: docusign` vendor: a ready `token`, or the JWT
    /// grant's (`integration_key`, `user_id`, and `private_key` or
    /// `private_key_file`).
    pub struct Settings {
        /// The account's REST root, e.g. `https://na3.docusign.net/restapi`.
        pub base_url: Template,
        /// The account's id (a GUID, or its number).
        pub account_id: Template,
        /// A ready access token, from `${VAR}`.
        pub token: Option<Template>,
        /// The JWT grant: the app's integration key (its public client id).
        pub integration_key: Option<Template>,
        /// The JWT grant: the user roster acts as (a GUID).
        pub user_id: Option<Template>,
        /// The JWT grant: the RSA private key in PEM, from `${VAR}`.
        pub private_key: Option<Template>,
        /// The JWT grant: a file holding the RSA private key in PEM.
        pub private_key_file: Option<Template>,
        /// The JWT grant: the OAuth host (default https://account.docusign.com).
        pub oauth_base_url: Option<Template>,
    }
}

impl Settings {
    /// The JWT grant's settings by key, the other way to authenticate than `token`.
    fn jwt(&self) -> [(&'static str, Option<&Template>); 5] {
        [
            ("integration_key", self.integration_key.as_ref()),
            ("user_id", self.user_id.as_ref()),
            ("private_key", self.private_key.as_ref()),
            ("private_key_file", self.private_key_file.as_ref()),
            ("oauth_base_url", self.oauth_base_url.as_ref()),
        ]
    }
}

/// Where the JWT grant is traded for a token (production; demo is account-d).
const OAUTH_BASE_URL: &str = "https://account.docusign.com";

impl super::Rules for Settings {
    fn check(&self, common: &Common) -> Result<(), String> {
        let s = self;
        if common.batch_size.is_some_and(|b| b > 500) {
            return Err("`batch_size` is at most 500 for DocuSign".into());
        }
        let jwt: Vec<&str> = s
            .jwt()
            .into_iter()
            .filter_map(|(key, t)| t.map(|_| key))
            .collect();
        if s.token.is_some() {
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
        for (key, set, what) in [
            (
                "integration_key",
                s.integration_key.is_some(),
                "the app's integration key",
            ),
            (
                "user_id",
                s.user_id.is_some(),
                "the GUID of the user roster acts as",
            ),
        ] {
            if !set {
                return Err(format!("the JWT grant needs `{key}` ({what})"));
            }
        }
        match (&s.private_key, &s.private_key_file) {
        (Some(_), Some(_)) => Err("give `private_key` or `private_key_file`, not both".into()),
        (None, None) => Err("the JWT grant needs `private_key` (${VAR} holding the RSA key in PEM) or `private_key_file` (a path)".into()),
        _ => match &s.oauth_base_url {
            Some(t) if t.is_literal() => oauth_url(t.raw()).map(|_| ()),
            _ => Ok(()),
        },
    }
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

pub fn connect(vendor: &Vendor, s: &Settings, ctx: &Context) -> anyhow::Result<Box<dyn Driver>> {
    let (config, env) = (&vendor.config, ctx.env);
    let base = super::base_url(&s.base_url, env)?;
    let account_id = super::resolve("account_id", &s.account_id, env)?;
    let (auth, secrets) = if let Some(token) = &s.token {
        let token = Secret::new(super::resolve("token", token, env)?);
        (Bearer::Ready(token.clone()), vec![token])
    } else {
        let grant = JwtGrant::new(s, env)?;
        let key = grant.key.clone();
        (Bearer::granted(grant), vec![key])
    };
    let limits = Limits::new(&config.common, DEFAULTS);
    let account = super::http::account_key(KIND, &base, &secrets);
    let http = Http::new(&vendor.name, account, &limits, secrets, ctx.budget.clone())?
        .with_throttle(throttled)
        .with_quota(quota);
    Ok(Box::new(DocuSign {
        url: format!("{base}/v2.1/accounts/{account_id}/users"),
        auth,
        batch: limits.batch_size.min(500),
        http,
        caps: list::Caps::of(&config.common, PAGE),
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
    auth: Bearer,
    batch: usize,
    http: Http,
    caps: list::Caps,
}

#[async_trait]
impl Driver for DocuSign {
    fn http(&self) -> &Http {
        &self.http
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
        let request = self.http.build(
            self.http
                .client()
                .post(&self.url)
                .json(&json!({ "newUsers": users })),
        )?;
        let response = self.auth.send(&self.http, Call::Create, request).await?;
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

    fn lister(&self) -> Option<&dyn Lister> {
        Some(self)
    }
}

#[async_trait]
impl Lister for DocuSign {
    fn caps(&self) -> list::Caps {
        self.caps
    }

    async fn page(&self, query: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
        let start = at.offset_or(0);
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
            .build(self.http.client().get(&self.url).query(&params))?;
        let response = self.auth.send(&self.http, Call::Read, request).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use std::time::SystemTime;
    use tokio::time::Instant;

    pub(super) const JWT_SETTINGS: &str =
        "integration_key: ik, user_id: uid, private_key: '${KEY}'";

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

    /// A docusign vendor's mapping with `settings`, read and checked as the
    /// loader does.
    fn checked(settings: &str) -> Result<(), String> {
        use crate::model::de::Check;
        read(settings)
            .map_err(|e| e.to_string())
            .and_then(|c| c.check())
    }

    fn read(settings: &str) -> Result<crate::vendors::VendorConfig, serde_yaml::Error> {
        serde_yaml::from_str(&format!(
            "{{kind: docusign, base_url: 'http://x', account_id: a, {settings}}}"
        ))
    }

    /// The docusign settings `settings` give, unchecked.
    pub(super) fn config(settings: &str) -> Settings {
        match read(settings).unwrap().settings {
            crate::vendors::Settings::DocuSign(s) => s,
            other => unreachable!("{other:?}"),
        }
    }

    #[test]
    fn one_way_to_authenticate_is_required() {
        for ok in [
            "token: '${T}'",
            JWT_SETTINGS,
            "integration_key: ik, user_id: uid, private_key_file: /k.pem, oauth_base_url: 'https://account-d.docusign.com'",
        ] {
            checked(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
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
            let err = checked(bad).unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    #[test]
    fn long_names_and_emails_are_caught_at_load() {
        let profile = |middle: usize, email: usize| Profile {
            email: format!("{}@x.io", "e".repeat(email - 5)),
            fax: None,
            first_name: "A".into(),
            last_name: "B".into(),
            middle_name: Some("M".repeat(middle)),
            mobile: None,
            phone: None,
            time_zone: None,
            title: None,
        };
        let check = |p: Profile| check_account(&p, None, &Account::default());
        assert!(check(profile(50, 100)).is_ok());
        let err = check(profile(51, 100)).unwrap_err();
        assert!(
            err.contains("`middle_name` is over DocuSign's 50 characters"),
            "{err}"
        );
        let err = check(profile(50, 101)).unwrap_err();
        assert!(
            err.contains("`email` is over DocuSign's 100 characters"),
            "{err}"
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
