//! SCIM 2.0 (RFC 7643/7644): `POST {base}/Users` with the core User schema. A 409
//! `uniqueness` is resolved by a `filter=userName eq "..."` lookup and adopted.

use super::http::{Call, CallError, Http, Response};
use super::{Defaults, Driver, Lookup, NewUser, Outcome};
use crate::desired::{Env, User, Vendor, VendorConfig};
use crate::secret::Secret;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const KIND: &str = "scim";

pub const DEFAULTS: Defaults = Defaults {
    batch_size: 1,
    concurrency: 4,
    rate_per_second: 10.0,
};

/// A password is optional in SCIM; none is imposed.
pub const PASSWORD: Option<super::PasswordPolicy> = None;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CONTENT_TYPE: &str = "application/scim+json";

/// Fields in alphabetical order (canonical JSON, see `desired::fingerprint`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ScimAccount")]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Defaults to true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Defaults to the email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

crate::merge_fields!(Account {
    active,
    external_id,
    user_name,
});

pub fn check_config(config: &VendorConfig) -> Result<(), String> {
    config.allow_only(&["base_url", "token"])?;
    config.require(&["base_url", "token"])
}

pub fn check_account(_user: &User, account: &Account) -> Result<(), String> {
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
    let c = super::Connection::new(vendor, env, "token", DEFAULTS)?;
    Ok(Box::new(Scim {
        url: format!("{}/Users", c.base),
        token: c.secret,
        http: c.http,
    }))
}

struct Scim {
    url: String,
    token: Secret,
    http: Http,
}

fn account<'a>(new: &NewUser<'a>) -> Result<&'a Account, CallError> {
    new.account.try_into()
}

fn user_name(new: &NewUser<'_>, account: &Account) -> String {
    account
        .user_name
        .clone()
        .unwrap_or_else(|| new.user.profile.email.clone())
}

fn resource(new: &NewUser<'_>, account: &Account) -> Value {
    let p = &new.user.profile;
    let mut name = json!({"givenName": p.first_name, "familyName": p.last_name});
    if let Some(m) = &p.middle_name {
        name["middleName"] = json!(m);
    }
    let mut user = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name(new, account),
        "name": name,
        "displayName": format!("{} {}", p.first_name, p.last_name),
        "emails": [{"value": p.email, "primary": true, "type": "work"}],
        "active": account.active.unwrap_or(true),
    });
    if let Some(e) = &account.external_id {
        user["externalId"] = json!(e);
    }
    if let Some(t) = &p.title {
        user["title"] = json!(t);
    }
    let phones: Vec<Value> = [("work", &p.phone), ("mobile", &p.mobile), ("fax", &p.fax)]
        .into_iter()
        .filter_map(|(kind, v)| v.as_ref().map(|v| json!({"value": v, "type": kind})))
        .collect();
    if !phones.is_empty() {
        user["phoneNumbers"] = Value::Array(phones);
    }
    if let Some(pw) = &new.password {
        user["password"] = json!(pw.expose());
    }
    user
}

impl Scim {
    async fn create_one(&self, new: &NewUser<'_>) -> Result<Outcome, CallError> {
        let body = resource(new, account(new)?);
        let request = self
            .http
            .client()
            .post(&self.url)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .header(reqwest::header::ACCEPT, CONTENT_TYPE)
            .body(body.to_string())
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        let response = self.http.send(Call::Create, request).await?;
        self.outcome(&response)
    }

    fn outcome(&self, response: &Response) -> Result<Outcome, CallError> {
        let status = response.status.as_u16();
        if response.status.is_success() {
            let v: Value = response.json().map_err(CallError::Unknown)?;
            return match v.get("id").and_then(Value::as_str) {
                Some(id) => Ok(Outcome::Created {
                    remote_id: Some(id.to_string()),
                    warnings: vec![],
                }),
                None => Err(CallError::Unknown("the created user has no `id`".into())),
            };
        }
        match self.http.failure(response) {
            CallError::Refused { .. } if status == 409 => Ok(Outcome::Exists { remote_id: None }),
            e @ CallError::Refused { .. } if status == 401 || status == 403 => Err(e),
            CallError::Refused { message, .. } => Ok(Outcome::Rejected { reason: message }),
            other => Err(other),
        }
    }
}

#[async_trait]
impl Driver for Scim {
    fn redactor(&self) -> &crate::secret::Redactor {
        self.http.redactor()
    }

    async fn create(&self, batch: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
        super::one_by_one(batch, |new| self.create_one(new)).await
    }

    async fn lookup(&self, new: &NewUser<'_>) -> Result<Lookup, CallError> {
        let name = user_name(new, account(new)?);
        let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
        let request = self
            .http
            .client()
            .get(&self.url)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::ACCEPT, CONTENT_TYPE)
            .query(&[("filter", format!("userName eq \"{quoted}\""))])
            .build()
            .map_err(|e| super::unbuildable(&self.http, e))?;
        let response = self.http.send(Call::Read, request).await?;
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let list: Value = response.json().map_err(CallError::Unknown)?;
        Ok(super::find_in(
            list.get("Resources"),
            "userName",
            &name,
            "id",
        ))
    }
}
