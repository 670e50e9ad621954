//! DocuSign's users: the body of a creation, its answer read user by user,
//! and the pages of the account's user list checked against themselves.

use super::Account;
use crate::vendors::http::CallError;
use crate::vendors::list::{self, Cursor, Next, Observed};
use crate::vendors::{NewUser, Outcome};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Answer {
    #[serde(default)]
    pub(super) new_users: Vec<NewUserAnswer>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NewUserAnswer {
    user_id: Option<String>,
    pub(super) email: Option<String>,
    error_details: Option<ErrorDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    error_code: Option<String>,
    message: Option<String>,
}

impl NewUserAnswer {
    pub(super) fn outcome(self) -> Outcome {
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
pub(super) fn one_id_one_user(outcomes: Vec<(String, Outcome)>) -> Vec<(String, Outcome)> {
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

pub(super) fn new_user(new: &NewUser<'_>, account: &Account) -> Value {
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

/// What follows the page asked for at `start`, holding `n` users, once its
/// own numbers are found to agree: it starts where it was asked to, its
/// positions and `resultSetSize` span exactly its users, and it says more
/// follow (`nextUri`) exactly when `totalSetSize` is not reached. A page
/// that disagrees with itself is an error naming it, never read as a
/// shorter list (a jump in positions hides accounts, which would then be
/// taken for deleted). `nextUri` is resolved against the configured base
/// URL and must stay on its origin and point where this page ends.
pub(super) fn next_page(
    url: &str,
    answer: &Value,
    start: u64,
    n: usize,
) -> Result<Next, CallError> {
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
pub(super) const PAGE: usize = 100;

/// One membership of the account's user list, as roster sees it.
pub(super) fn observed(u: &Value) -> Option<Observed> {
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
        // The first page, consistent but for its `nextUri`, and what the error
        // says of it.
        let first_then = |uri: &str, says| (page(0, 100, 99, 300, Some(uri)), 0, 100, says);
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
            first_then(
                "/v2.1/accounts/9/users?start_position=200",
                "goes on at 200",
            ),
            // nextUri to another origin: another host, the same without a
            // scheme, another scheme.
            first_then(
                "https://evil.example/v2.1/accounts/9/users?start_position=100",
                "another origin",
            ),
            first_then("//evil.example/users?start_position=100", "another origin"),
            first_then(
                "http://ds.example/users?start_position=100",
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
}
