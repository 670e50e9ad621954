//! DocuSign eSignature: `POST {base}/v2.1/accounts/{accountId}/users` with
//! `newUsers`, up to 500 per call; per-user `errorDetails` inside a 201;
//! USER_ALREADY_EXISTS_IN_ACCOUNT carries the existing userId, which is adopted.
//! Rate limits come as an errorCode and X-RateLimit-* headers. Lookup by `?email=`.
//!
//! Authentication takes a ready access token (`token:`); the JWT grant is not
//! built in.

use super::http::{Call, CallError, Http, Response};
use super::{Defaults, Driver, Lookup, NewUser, Outcome};
use crate::desired::{Env, User, Vendor, VendorConfig};
use crate::secret::Secret;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const KIND: &str = "docusign";

/// 3,000 calls an hour per account, bursts of 500 in 30 s; 500 users per call.
pub const DEFAULTS: Defaults = Defaults {
    batch_size: 500,
    concurrency: 2,
    rate_per_second: 3000.0 / 3600.0,
};

/// DocuSign sends an activation email instead of taking a password.
pub const PASSWORD: Option<super::PasswordPolicy> = None;

/// Fields in alphabetical order (canonical JSON, see `desired::fingerprint`).
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

pub fn check_config(config: &VendorConfig) -> Result<(), String> {
    config.allow_only(&["base_url", "account_id", "token"])?;
    config.require(&["base_url", "account_id", "token"])?;
    if config.batch_size.is_some_and(|b| b > 500) {
        return Err("`batch_size` is at most 500 for DocuSign".into());
    }
    Ok(())
}

pub fn check_account(user: &User, account: &Account) -> Result<(), String> {
    let p = &user.profile;
    for (key, value) in [("first_name", &p.first_name), ("last_name", &p.last_name)] {
        if value.chars().count() > 50 {
            return Err(format!("`{key}` is over DocuSign's 50 characters"));
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
    let account_id = vendor.config.resolve("account_id", env)?;
    let c = super::Connection::new(vendor, env, "token", DEFAULTS)?;
    Ok(Box::new(DocuSign {
        url: format!("{}/v2.1/accounts/{account_id}/users", c.base),
        token: c.secret,
        batch: c.limits.batch_size.min(500),
        http: c.http.with_throttle(throttled),
    }))
}

/// 429, or HOURLY_/BURST_APIINVOCATION_LIMIT_EXCEEDED with any status.
fn throttled(response: &Response) -> bool {
    if super::http::is_429(response) {
        return true;
    }
    serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| {
            v.get("errorCode")?
                .as_str()
                .map(|c| c.ends_with("_LIMIT_EXCEEDED"))
        })
        .unwrap_or(false)
}

struct DocuSign {
    url: String,
    token: Secret,
    batch: usize,
    http: Http,
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

fn new_user(new: &NewUser<'_>, account: &Account) -> Value {
    let p = &new.user.profile;
    let mut u = Map::new();
    let user_name = account
        .user_name
        .clone()
        .unwrap_or_else(|| format!("{} {}", p.first_name, p.last_name));
    u.insert("userName".into(), json!(user_name));
    u.insert("email".into(), json!(p.email));
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
            .bearer_auth(self.token.expose())
            .json(&json!({ "newUsers": users }))
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        let response = self.http.send(Call::Create, request).await?;
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let answer: Answer = response.json().map_err(CallError::Unknown)?;
        Ok(answer
            .new_users
            .into_iter()
            .filter_map(|u| Some((u.email.clone()?.to_lowercase(), u.outcome())))
            .collect())
    }

    async fn lookup(&self, user: &NewUser<'_>) -> Result<Lookup, CallError> {
        let request = self
            .http
            .client()
            .get(&self.url)
            .bearer_auth(self.token.expose())
            .query(&[("email", user.email)])
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        let response = self.http.send(Call::Read, request).await?;
        if response.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Lookup::NotFound);
        }
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let found: Value = response.json().map_err(CallError::Unknown)?;
        Ok(super::find_in(
            found.get("users"),
            "email",
            user.email,
            "userId",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                remote_id: Some("u2".into())
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
}
