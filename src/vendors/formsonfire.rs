//! Forms On Fire (a ServiceStack API, white-labelled): `POST {base}/user?format=json`
//! with CompanyId and IntegrationKey in the JSON body, one user per call; success is
//! a ResponseStatus without ErrorCode. Users are listed by `/user/search`, paged
//! by `PageNo` (from 0) and `PageSize` (at most 250), a short or empty page being
//! the last, and narrowed by `Email`; its query carries the IntegrationKey, so no
//! URL is ever shown.

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

pub const KIND: &str = "formsonfire";

pub const DEFAULTS: Defaults = Defaults {
    batch_size: 1,
    concurrency: 4,
    rate_per_second: 10.0,
};

/// A password is optional (the user is invited); none is imposed.
pub const PASSWORD: Option<super::PasswordPolicy> = None;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "FormsOnFireWebsiteRole")]
pub enum WebsiteRole {
    ReadOnly,
    User,
    Admin,
    EnterpriseAdmin,
}

/// Fields in alphabetical order (canonical JSON, see `model::fingerprint`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "FormsOnFireAccount")]
#[serde(deny_unknown_fields)]
pub struct Account {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub do_not_email: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Folder GUIDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folders: Option<Vec<String>>,
    /// Group GUIDs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Overrides the user's time_zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website_role: Option<WebsiteRole>,
}

crate::merge_by_replacing!(WebsiteRole);
crate::merge_fields!(Account {
    do_not_email,
    external_id,
    folders,
    groups,
    time_zone,
    website_role,
});

pub fn check_account(
    _profile: &Profile,
    _password: Option<&Password>,
    account: &Account,
) -> Result<(), String> {
    if account
        .external_id
        .as_ref()
        .is_some_and(|e| e.chars().count() > 50)
    {
        return Err("`external_id` is over 50 characters".into());
    }
    for (key, ids) in [("groups", &account.groups), ("folders", &account.folders)] {
        let ids = ids.as_deref().unwrap_or_default();
        if let Some(bad) = ids.iter().find(|id| uuid::Uuid::parse_str(id).is_err()) {
            return Err(format!("`{key}` holds {bad:?}, which is not a GUID"));
        }
    }
    Ok(())
}

crate::settings! {
    /// The settings of a `kind: formsonfire` vendor.
    pub struct Settings {
        /// The API's root, e.g. `https://api.formsonfire.com`.
        pub base_url: Template,
        /// The company's number.
        pub company_id: Template,
        /// The company's integration key, from `${VAR}`.
        pub integration_key: Template,
    }
}

impl super::Rules for Settings {}

pub fn connect(vendor: &Vendor, s: &Settings, ctx: &Context) -> anyhow::Result<Box<dyn Driver>> {
    let company = super::resolve("company_id", &s.company_id, ctx.env)?;
    let company: u64 = company
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("`company_id` must be a number"))?;
    let key = ("integration_key", &s.integration_key);
    let c = super::Connection::new(vendor, ctx, &s.base_url, key, DEFAULTS)?;
    Ok(Box::new(FormsOnFire {
        base: c.base,
        company,
        key: c.secret,
        http: c.http,
        caps: list::Caps::of(&vendor.config.common, PAGE_SIZE),
    }))
}

struct FormsOnFire {
    base: String,
    company: u64,
    key: Secret,
    http: Http,
    caps: list::Caps,
}

/// `{"ResponseStatus":{"ErrorCode","Message","Errors":[{"ErrorCode","FieldName","Message"}]}}`
/// as one sentence, field errors included.
fn problem(response: &Response) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(&response.body).ok()?;
    let status = v.get("ResponseStatus")?;
    let code = status
        .get("ErrorCode")?
        .as_str()
        .filter(|c| !c.is_empty())?
        .to_string();
    let mut text = format!(
        "{code}: {}",
        status.get("Message").and_then(Value::as_str).unwrap_or("")
    );
    let fields: Vec<String> = status
        .get("Errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            format!("{} {} ({})", s("FieldName"), s("Message"), s("ErrorCode"))
        })
        .collect();
    if !fields.is_empty() {
        text.push_str(&format!(" [{}]", fields.join("; ")));
    }
    Some((code, text))
}

impl FormsOnFire {
    async fn create_one(&self, new: &NewUser<'_>) -> Result<Outcome, CallError> {
        let account: &Account = new.account.try_into()?;
        let p = &new.profile;
        let mut body = json!({
            "CompanyId": self.company,
            "IntegrationKey": self.key.expose(),
            "FirstName": p.first_name,
            "LastName": p.last_name,
            "Email": new.email,
        });
        let ids = |list: &[String]| list.iter().map(|id| json!({"Id": id})).collect::<Vec<_>>();
        let optional = [
            ("Password", new.password.as_ref().map(|s| json!(s.expose()))),
            ("ExternalId", account.external_id.as_ref().map(|e| json!(e))),
            ("WebsiteRole", account.website_role.map(|r| json!(r))),
            ("Groups", account.groups.as_deref().map(|g| json!(ids(g)))),
            ("Folders", account.folders.as_deref().map(|f| json!(ids(f)))),
            ("DoNotEmail", account.do_not_email.map(|b| json!(b))),
            (
                "TimeZone",
                account
                    .time_zone
                    .as_ref()
                    .or(p.time_zone.as_ref())
                    .map(|t| json!(t)),
            ),
        ];
        for (key, value) in optional {
            if let Some(v) = value {
                body[key] = v;
            }
        }
        let request = self.http.build(
            self.http
                .client()
                .post(format!("{}/user", self.base))
                .query(&[("format", "json")])
                .json(&body),
        )?;
        super::create_one(&self.http, self, request).await
    }
}

impl Answers for FormsOnFire {
    fn created_id(&self, response: &Response) -> Result<Option<String>, CallError> {
        super::create::id_at(response, "/User/Id", "the answer holds no User.Id")
    }

    fn says_exists(&self, _: &Response, message: &str) -> bool {
        super::says_exists(message)
    }

    /// A `ResponseStatus` with an `ErrorCode` is a refusal whatever the HTTP
    /// status (a 5xx's outcome is unknown); an error status without one fails
    /// the whole request.
    fn refusal(
        &self,
        http: &Http,
        response: &Response,
    ) -> Result<Option<(u16, String)>, CallError> {
        let status = response.status.as_u16();
        if let Some((_, text)) = problem(response) {
            let text = http.redact(&text);
            return match status {
                401 | 403 => Ok(Some((status, format!("HTTP {status} {text}")))),
                500.. => Err(CallError::Unknown(format!("HTTP {status} {text}"))),
                _ => Ok(Some((status, text))),
            };
        }
        if !response.status.is_success() {
            return Err(http.failure(response));
        }
        Ok(None)
    }
}

crate::one_by_one_driver!(FormsOnFire {});

#[async_trait]
impl Lister for FormsOnFire {
    fn caps(&self) -> list::Caps {
        self.caps
    }

    async fn page(&self, query: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
        let number = at.page_or(0);
        let (company, number_text, size) = (
            self.company.to_string(),
            number.to_string(),
            PAGE_SIZE.to_string(),
        );
        let mut params = vec![
            ("format", "json"),
            ("CompanyId", company.as_str()),
            ("IntegrationKey", self.key.expose()),
            ("PageNo", number_text.as_str()),
            ("PageSize", size.as_str()),
        ];
        if let Query::Key(email) = query {
            params.push(("Email", email));
        }
        let request = self.http.build(
            self.http
                .client()
                .get(format!("{}/user/search", self.base))
                .query(&params),
        )?;
        let response = self.http.send(Call::Read, request).await?;
        if let Some((_, text)) = problem(&response) {
            return Err(CallError::Refused {
                status: response.status.as_u16(),
                message: self.http.redact(&text),
            });
        }
        if !response.status.is_success() {
            return Err(self.http.failure(&response));
        }
        let v: Value = response.json().map_err(CallError::Unknown)?;
        // An answer without the list is not an empty page: taken for the end,
        // it would make every account after it look deleted.
        let users = v.get("Users").and_then(Value::as_array).ok_or_else(|| {
            CallError::Unknown("the vendor's answer to a list holds no `Users` array".into())
        })?;
        Ok(Page {
            total: None,
            listed: users.len(),
            items: users.iter().filter_map(observed).collect(),
            next: Next::UnlessShort(Cursor::Page(number + 1)),
        })
    }
}

/// Users asked for per page: the API's most.
const PAGE_SIZE: usize = 250;

/// One user of a list, as roster sees it.
fn observed(u: &Value) -> Option<Observed> {
    Observed::by_email(
        u,
        &list::Fields {
            email: "Email",
            id: "Id",
            status: "Status",
            first_name: "FirstName",
            last_name: "LastName",
            block: &[
                ("WebsiteRole", "website_role"),
                ("ExternalId", "external_id"),
            ],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Forms On Fire documents no duplicate code: its words are only a hint
    /// (a lookup must confirm it); a refusal sends no lookup.
    #[test]
    fn a_response_status_saying_the_user_exists_is_a_hint_and_nothing_else_is() {
        let text = |code: &str, message: &str, errors: Value| {
            let body = json!({"ResponseStatus": {"ErrorCode": code, "Message": message, "Errors": errors}});
            problem(&Response {
                status: reqwest::StatusCode::BAD_REQUEST,
                headers: Default::default(),
                body: body.to_string().into_bytes(),
            })
            .map(|(_, text)| text)
            .unwrap()
        };
        // (code, message, field errors, a hint of "exists")
        let cases = [
            (
                "DuplicateEmail",
                "A user with this email address already exists.",
                json!([]),
                true,
            ),
            (
                "ValidationException",
                "Validation failed",
                json!([{"ErrorCode": "Duplicate", "FieldName": "Email", "Message": "Email is already in use"}]),
                true,
            ),
            (
                "ValidationException",
                "Group 0f6d8e4b does not exist",
                json!([]),
                false,
            ),
            (
                "LicenceLimit",
                "Seat limit reached: 100 user accounts already exist in this subscription",
                json!([]),
                false,
            ),
            (
                "ValidationException",
                "Validation failed",
                json!([{"ErrorCode": "Invalid", "FieldName": "ExternalId", "Message": "already exists in another account"}]),
                false,
            ),
        ];
        for (code, message, errors, hint) in cases {
            let t = text(code, message, errors);
            assert_eq!(super::super::says_exists(&t), hint, "{t}");
        }
    }
}
