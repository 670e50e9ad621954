//! SCIM 2.0 (RFC 7643/7644): `POST {base}/Users` with the core User schema. A 409
//! (or a 400 with `scimType: uniqueness`) says the userName is taken, and is
//! adopted once a lookup finds the account. Users are listed with `startIndex`
//! and `count` until `totalResults` is reached, however few a page the server
//! gives; a lookup is `filter=userName eq "..."` where the server's
//! `/ServiceProviderConfig` says it can filter, and a listing matched here where
//! it cannot. userName is the identity of an account here.

use super::http::{Call, CallError, Http, Response};
use super::list::{self, Cursor, Lister, Next, Observed, Page, Query};
use super::Vendor;
use super::{Answers, Context, Defaults, Driver, NewUser, Outcome};
use crate::model::Template;
use crate::model::{Password, Profile};
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

/// Fields in alphabetical order (canonical JSON, see `model::fingerprint`).
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

pub fn check_account(
    _profile: &Profile,
    _password: Option<&Password>,
    account: &Account,
) -> Result<(), String> {
    if account
        .user_name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        return Err("`user_name` is empty".into());
    }
    match &account.user_name {
        Some(name) => crate::model::check_identity("`user_name`", name),
        None => Ok(()),
    }
}

crate::settings! {
    /// The settings of a `kind: scim` vendor.
    pub struct Settings {
        /// The SCIM service's root, e.g. `https://example.com/scim/v2`.
        pub base_url: Template,
        /// The bearer token, from `${VAR}`.
        pub token: Template,
    }
}

impl super::Rules for Settings {}

pub fn connect(vendor: &Vendor, s: &Settings, ctx: &Context) -> anyhow::Result<Box<dyn Driver>> {
    let c = super::Connection::new(vendor, ctx, &s.base_url, ("token", &s.token), DEFAULTS)?;
    Ok(Box::new(Scim {
        url: format!("{}/Users", c.base),
        config_url: format!("{}/ServiceProviderConfig", c.base),
        token: c.secret,
        http: c.http,
        filters: tokio::sync::OnceCell::new(),
        caps: list::Caps::of(&vendor.config.common, PAGE),
    }))
}

struct Scim {
    url: String,
    config_url: String,
    token: Secret,
    http: Http,
    /// Whether the server can filter, from its ServiceProviderConfig, read once.
    filters: tokio::sync::OnceCell<bool>,
    caps: list::Caps,
}

/// Users asked for per page; a server may give fewer (its own cap).
const PAGE: usize = 100;

fn account<'a>(new: &NewUser<'a>) -> Result<&'a Account, CallError> {
    new.account.try_into()
}

/// The userName sent: the block's, or else the email (in its one normal form).
fn user_name(new: &NewUser<'_>, account: &Account) -> String {
    account
        .user_name
        .clone()
        .unwrap_or_else(|| new.email.to_string())
}

fn resource(new: &NewUser<'_>, account: &Account) -> Value {
    let p = &new.profile;
    let mut name = json!({"givenName": p.first_name, "familyName": p.last_name});
    if let Some(m) = &p.middle_name {
        name["middleName"] = json!(m);
    }
    let mut user = json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name(new, account),
        "name": name,
        "displayName": format!("{} {}", p.first_name, p.last_name),
        "emails": [{"value": new.email, "primary": true, "type": "work"}],
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
        let request = self.http.build(
            self.http
                .client()
                .post(&self.url)
                .bearer_auth(self.token.expose())
                .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                .header(reqwest::header::ACCEPT, CONTENT_TYPE)
                .body(body.to_string()),
        )?;
        super::create_one(&self.http, self, request).await
    }
}

impl Answers for Scim {
    fn created_id(&self, response: &Response) -> Result<Option<String>, CallError> {
        super::create::id_at(response, "/id", "the created user has no `id`")
    }

    /// RFC 7644 3.3: a conflict is a 409, or (some servers) a 400 whose
    /// scimType is `uniqueness`; nothing else says the user exists.
    fn says_exists(&self, response: &Response, _: &str) -> bool {
        let status = response.status.as_u16();
        status == 409
            || (status == 400
                && serde_json::from_slice::<Value>(&response.body)
                    .ok()
                    .and_then(|v| v.get("scimType")?.as_str().map(|t| t == "uniqueness"))
                    .unwrap_or(false))
    }
}

crate::one_by_one_driver!(Scim {
    /// userName is unique at a SCIM server (RFC 7643 4.1.1).
    fn unique_keys(&self) -> bool {
        true
    }

    fn key_of(&self, new: &NewUser<'_>) -> String {
        let name = account(new).map(|a| user_name(new, a));
        crate::model::identity(&name.unwrap_or_else(|_| new.email.to_string()))
    }
});

#[async_trait]
impl Lister for Scim {
    fn caps(&self) -> list::Caps {
        self.caps
    }

    async fn page(&self, query: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
        let start = at.offset_or(1);
        let mut params = vec![
            ("startIndex", start.to_string()),
            ("count", PAGE.to_string()),
        ];
        if let Query::Key(name) = query {
            if self.can_filter().await {
                let quoted = name.replace('\\', "\\\\").replace('"', "\\\"");
                params.push(("filter", format!("userName eq \"{quoted}\"")));
            }
        }
        let request = self.http.build(
            self.http
                .client()
                .get(&self.url)
                .bearer_auth(self.token.expose())
                .header(reqwest::header::ACCEPT, CONTENT_TYPE)
                .query(&params),
        )?;
        let response = self.http.send(Call::Read, request).await?;
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let answer: Value = response.json().map_err(CallError::Unknown)?;
        // RFC 7644 3.4.2: a ListResponse always states `totalResults`, and may
        // leave `Resources` out only when it is empty. An answer with neither is
        // no list: taken for an empty last page, it would make every account
        // after it look deleted.
        if answer.get("totalResults").is_none() && answer.get("Resources").is_none() {
            return Err(CallError::Unknown(
                "the server's answer to a list holds neither `Resources` nor `totalResults`".into(),
            ));
        }
        let users = answer
            .get("Resources")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // A page that says it starts elsewhere than asked would hide (or
        // repeat) accounts: refused, never read as a shorter list.
        if let Some(said) = answer.get("startIndex").filter(|v| !v.is_null()) {
            if list::count(Some(said)) != Some(start) {
                return Err(CallError::Unknown(format!(
                    "the server's page at startIndex {start} says it starts at {}; stopped paging",
                    crate::model::escaped(&said.to_string())
                )));
            }
        }
        let after = start.saturating_add(users.len() as u64);
        let next = match list::count(answer.get("totalResults")) {
            Some(total) if after > total => Next::Last,
            Some(_) => Next::At(Cursor::Offset(after)),
            None => Next::UnlessShort(Cursor::Offset(after)),
        };
        Ok(Page {
            total: list::count(answer.get("totalResults")),
            listed: users.len(),
            items: users.iter().filter_map(observed).collect(),
            next,
        })
    }
}

impl Scim {
    /// Whether the server says it can filter (RFC 7643 section 5,
    /// `filter.supported`). Read once; a server without the endpoint is taken
    /// at its word as RFC 7644 requires of filtering, and a listing is the
    /// fallback only where it says it cannot.
    async fn can_filter(&self) -> bool {
        *self
            .filters
            .get_or_init(|| async {
                let Ok(request) = self
                    .http
                    .client()
                    .get(&self.config_url)
                    .bearer_auth(self.token.expose())
                    .header(reqwest::header::ACCEPT, CONTENT_TYPE)
                    .build()
                else {
                    return true;
                };
                match self.http.send(Call::Read, request).await {
                    Ok(r) if r.status.is_success() => r
                        .json::<Value>()
                        .ok()
                        .and_then(|v| v.pointer("/filter/supported")?.as_bool())
                        .unwrap_or(true),
                    _ => true,
                }
            })
            .await
    }
}

/// One user of a list, as roster sees it: known by its userName, which is
/// unique at the server; by its email only when it has no userName (RFC 7643
/// requires one). An email that matches under another userName is another
/// account.
fn observed(u: &Value) -> Option<Observed> {
    let name = u
        .get("userName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    let emails = u.get("emails").and_then(Value::as_array);
    let email = emails
        .and_then(|list| {
            list.iter()
                .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| list.first())
        })
        .and_then(|e| e.get("value")?.as_str())
        .map(crate::model::identity);
    let active = u.get("active").and_then(Value::as_bool).unwrap_or(true);
    let key = match name {
        Some(name) => crate::model::identity(name),
        None => email.clone()?,
    };
    let mut block = serde_json::Map::new();
    if let Some(name) = name.filter(|_| email.as_deref() != Some(key.as_str())) {
        block.insert("user_name".into(), json!(name));
    }
    if let Some(e) = list::text(u.get("externalId")) {
        block.insert("external_id".into(), json!(e));
    }
    if !active {
        block.insert("active".into(), json!(false));
    }
    Some(Observed {
        key,
        email,
        remote_id: list::text(u.get("id"))?,
        live: active,
        status: Some(if active { "active" } else { "inactive" }.into()),
        first_name: list::text(u.pointer("/name/givenName")),
        last_name: list::text(u.pointer("/name/familyName")),
        block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scim() -> Scim {
        let vendor = Vendor {
            name: "app".into(),
            config: serde_yaml::from_str("{kind: scim, base_url: 'http://x', token: t}").unwrap(),
            file: "roster.yaml".into(),
        };
        let super::super::Settings::Scim(s) = &vendor.config.settings else {
            unreachable!()
        };
        let ctx = Context::new(&|_| None, None);
        let token = ("token", &s.token);
        let c = super::super::Connection::new(&vendor, &ctx, &s.base_url, token, DEFAULTS).unwrap();
        Scim {
            url: format!("{}/Users", c.base),
            config_url: String::new(),
            token: c.secret,
            http: c.http,
            filters: tokio::sync::OnceCell::new(),
            caps: list::Caps::default(),
        }
    }

    #[test]
    fn only_the_documented_conflict_says_exists() {
        let s = scim();
        let answer = |status: u16, body: &str| {
            super::super::classify(
                &s.http,
                &s,
                &Response {
                    status: reqwest::StatusCode::from_u16(status).unwrap(),
                    headers: Default::default(),
                    body: body.as_bytes().to_vec(),
                },
            )
        };
        let exists = |o: &Result<Outcome, CallError>| {
            matches!(
                o,
                Ok(Outcome::Exists {
                    remote_id: None,
                    ..
                })
            )
        };
        // (status, body, says exists)
        let cases = [
            (
                409,
                r#"{"status":"409","scimType":"uniqueness","detail":"taken"}"#,
                true,
            ),
            (409, "", true),
            (
                400,
                r#"{"status":"400","scimType":"uniqueness","detail":"taken"}"#,
                true,
            ),
            // Words are not a code: a 400 that says "already exists" otherwise is a refusal.
            (
                400,
                r#"{"status":"400","scimType":"invalidValue","detail":"userName already exists"}"#,
                false,
            ),
            (
                400,
                r#"{"status":"400","detail":"User already exists"}"#,
                false,
            ),
            (404, r#"{"status":"404","scimType":"uniqueness"}"#, false),
            (500, r#"{"status":"500","scimType":"uniqueness"}"#, false),
        ];
        for (status, body, says) in cases {
            let o = answer(status, body);
            assert_eq!(exists(&o), says, "{status} {body}: {o:?}");
        }
    }

    #[test]
    fn an_account_is_known_by_its_user_name_and_by_its_email_only_without_one() {
        let mallory = json!({"id": "m", "userName": "mallory", "emails": [{"value": "alice@x.io", "primary": true}]});
        let alice = json!({"id": "a", "emails": [{"value": "Alice@X.io"}]});
        let blank = json!({"id": "b", "userName": " ", "emails": [{"value": "bob@x.io"}]});
        let nameless = json!({"id": "n"});
        let l = list::Listing::new(
            [mallory, alice, blank, nameless]
                .iter()
                .filter_map(observed)
                .collect(),
            1,
        );
        assert_eq!(l.items.len(), 3);
        assert_eq!(l.find("mallory").observed().unwrap().remote_id, "m");
        // alice@x.io is the account without a userName, never mallory.
        assert_eq!(l.find("alice@x.io").observed().unwrap().remote_id, "a");
        assert_eq!(l.find("bob@x.io").observed().unwrap().remote_id, "b");
    }
}
