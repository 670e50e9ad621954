//! ActivePlatform: `POST {base}/api/vendor/v1/users.json?api_token=T`, one user per
//! call. The same path lists users as a bare JSON array, paged by `page` (from 1)
//! and `per_page`, with no total: a short or empty page is the last; narrowed by
//! `filters[email]`. The token rides in the URL, so no URL is ever shown: logs
//! carry the path only and errors are redacted.

use super::http::{Call, CallError, Http, Response};
use super::list::{self, Cursor, Lister, Next, Observed, Page, Query};
use super::Vendor;
use super::{Answers, Context, Defaults, Driver, NewUser, Outcome, PasswordPolicy};
use crate::model::Template;
use crate::model::{Password, Profile};
use crate::secret::Secret;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const KIND: &str = "activeplatform";

pub const DEFAULTS: Defaults = Defaults {
    batch_size: 1,
    concurrency: 4,
    rate_per_second: 10.0,
};

/// The policy is set per installation; roster only keeps out what no installation
/// accepts, and generates passwords most would.
pub const PASSWORD: Option<PasswordPolicy> = Some(PasswordPolicy {
    min: 6,
    max: 128,
    symbols: "!@#$%^&*?|-_=+.,:;~()[]{}<>/",
});

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ActivePlatformAccount")]
#[serde(deny_unknown_fields)]
pub struct Account {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_attributes: BTreeMap<String, String>,
}

crate::merge_fields!(Account { custom_attributes });

pub fn check_account(
    _profile: &Profile,
    password: Option<&Password>,
    _account: &Account,
) -> Result<(), String> {
    super::check_password(PASSWORD, password)
}

crate::settings! {
    /// The settings of a `kind: activeplatform` vendor.
    pub struct Settings {
        /// The installation's root, e.g. `https://lms.example.com`.
        pub base_url: Template,
        /// The vendor API token, from `${VAR}`; it rides in every URL's query.
        pub api_token: Template,
    }
}

impl super::Rules for Settings {}

pub fn connect(vendor: &Vendor, s: &Settings, ctx: &Context) -> anyhow::Result<Box<dyn Driver>> {
    let c = super::Connection::new(
        vendor,
        ctx,
        &s.base_url,
        ("api_token", &s.api_token),
        DEFAULTS,
    )?;
    Ok(Box::new(ActivePlatform {
        url: format!("{}/api/vendor/v1/users.json", c.base),
        token: c.secret,
        http: c.http,
        caps: list::Caps::of(&vendor.config.common, PER_PAGE),
    }))
}

struct ActivePlatform {
    url: String,
    token: Secret,
    http: Http,
    caps: list::Caps,
}

/// Users asked for per page.
const PER_PAGE: usize = 100;

/// The user as the API answers it; only what roster reads.
#[derive(Deserialize)]
struct ApUser {
    id: Value,
}

/// One user of a list, as roster sees it.
fn observed(u: &Value) -> Option<Observed> {
    let mut o = Observed::by_email(
        u,
        &list::Fields {
            email: "email",
            id: "id",
            status: "status",
            first_name: "first_name",
            last_name: "last_name",
            block: &[],
        },
    )?;
    // Answered as [{"name", "value"}] where the request had `key`.
    let attributes: serde_json::Map<String, Value> = u
        .get("custom_attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let name = a.get("name").or_else(|| a.get("key"))?.as_str()?;
            Some((name.to_string(), json!(list::text(a.get("value"))?)))
        })
        .collect();
    if !attributes.is_empty() {
        o.block
            .insert("custom_attributes".into(), Value::Object(attributes));
    }
    Some(o)
}

impl ActivePlatform {
    async fn create_one(&self, new: &NewUser<'_>) -> Result<Outcome, CallError> {
        let account: &Account = new.account.try_into()?;
        let p = &new.profile;
        let mut body = json!({
            "first_name": p.first_name,
            "last_name": p.last_name,
            "email": new.email,
        });
        if let Some(pw) = &new.password {
            body["password"] = json!(pw.expose());
        }
        if let Some(m) = &p.middle_name {
            body["middle_name"] = json!(m);
        }
        if !account.custom_attributes.is_empty() {
            body["custom_attributes"] = account
                .custom_attributes
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
        }
        let request = self.http.build(
            self.http
                .client()
                .post(&self.url)
                .query(&[("api_token", self.token.expose())])
                .json(&body),
        )?;
        super::create_one(&self.http, self, request).await
    }
}

impl Answers for ActivePlatform {
    fn created_id(&self, response: &Response) -> Result<Option<String>, CallError> {
        let user: ApUser = response.json().map_err(CallError::Unknown)?;
        Ok(list::text(Some(&user.id)))
    }

    fn says_exists(&self, _: &Response, message: &str) -> bool {
        super::says_exists(message)
    }
}

crate::one_by_one_driver!(ActivePlatform {});

#[async_trait]
impl Lister for ActivePlatform {
    fn caps(&self) -> list::Caps {
        self.caps
    }

    async fn page(&self, query: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
        let number = at.page_or(1);
        let (number_text, per_page) = (number.to_string(), PER_PAGE.to_string());
        let mut params = vec![
            ("api_token", self.token.expose()),
            ("page", number_text.as_str()),
            ("per_page", per_page.as_str()),
        ];
        if let Query::Key(email) = query {
            params.push(("filters[email]", email));
        }
        let request = self
            .http
            .build(self.http.client().get(&self.url).query(&params))?;
        let response = self.http.send(Call::Read, request).await?;
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let users: Vec<Value> = response.json().map_err(CallError::Unknown)?;
        Ok(Page {
            total: None,
            listed: users.len(),
            items: users.iter().filter_map(observed).collect(),
            next: Next::UnlessShort(Cursor::Page(number + 1)),
        })
    }
}
