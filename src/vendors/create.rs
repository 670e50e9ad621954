//! Creating users: what the drivers' creations share. The ladder that reads
//! the answer to a one-user creation is written once here ([`create_one`]):
//! created, already there (adopted only once a lookup finds it, see
//! `apply::confirm_exists`), refused, or unknown; each vendor says only how
//! its answers read ([`Answers`]).

use super::http::{Call, Http, Response};
use super::{CallError, NewUser, Outcome};

/// How a vendor's answer to a one-user creation reads.
pub trait Answers: Sync {
    /// The id a successful answer gives; `Err` when it should give one and
    /// does not (the outcome is then unknown, to be verified by a lookup).
    fn created_id(&self, response: &Response) -> Result<Option<String>, CallError>;

    /// Whether the vendor's refusal (its answer and the `message` made of
    /// it) says that the user is already there.
    fn says_exists(&self, response: &Response, message: &str) -> bool;

    /// The refusal `response` holds, as (HTTP status, the vendor's words,
    /// redacted), or `None` for a success. `Err` is a failure of the whole
    /// request, not a judgment of this user. By default an error status is
    /// read by [`Http::failure`]: a 5xx is unknown, a 4xx a refusal.
    fn refusal(
        &self,
        http: &Http,
        response: &Response,
    ) -> Result<Option<(u16, String)>, CallError> {
        if response.status.is_success() {
            return Ok(None);
        }
        match http.failure(response) {
            CallError::Refused { status, message } => Ok(Some((status, message))),
            other => Err(other),
        }
    }
}

/// The id at `pointer` in a success's JSON answer, for vendors whose answer
/// always gives one; without it, `Err(Unknown(missing))`: nobody knows what
/// was made.
pub fn id_at(
    response: &Response,
    pointer: &str,
    missing: &str,
) -> Result<Option<String>, CallError> {
    let v: serde_json::Value = response.json().map_err(CallError::Unknown)?;
    match v.pointer(pointer).and_then(serde_json::Value::as_str) {
        Some(id) => Ok(Some(id.to_string())),
        None => Err(CallError::Unknown(missing.into())),
    }
}

/// Sends the creation of one user and reads its answer by `answers`: a
/// success is `Created` with the id it gives; a refusal of roster's own
/// credentials (401, 403) fails the whole request; a refusal that says the
/// user is there is `Exists`; any other refusal is `Rejected`.
pub async fn create_one(
    http: &Http,
    answers: &dyn Answers,
    request: reqwest::Request,
) -> Result<Outcome, CallError> {
    let response = http.send(Call::Create, request).await?;
    classify(http, answers, &response)
}

/// The outcome `response` gives a one-user creation (see [`create_one`]).
pub fn classify(
    http: &Http,
    answers: &dyn Answers,
    response: &Response,
) -> Result<Outcome, CallError> {
    match answers.refusal(http, response)? {
        None => Ok(Outcome::Created {
            remote_id: answers.created_id(response)?,
            warnings: vec![],
        }),
        Some((status @ (401 | 403), message)) => Err(CallError::Refused { status, message }),
        Some((_, message)) if answers.says_exists(response, &message) => Ok(Outcome::Exists {
            remote_id: None,
            said: message,
        }),
        Some((_, message)) => Ok(Outcome::Rejected { reason: message }),
    }
}

/// Whether a vendor's error text hints that the user is there already. Vendors
/// that document no code for it (ActivePlatform, Forms On Fire) are read by
/// their words, and the words are only a hint: the account is adopted only when
/// a lookup then finds it under this user's identity, with its id (see
/// `apply::confirm_exists`). A text that speaks of something missing or invalid
/// ("Group 12 does not exist", "not found", "invalid permission profile"), of
/// another account, a limit or a constraint is a refusal, for which no lookup
/// is sent.
pub fn says_exists(text: &str) -> bool {
    let t: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let t = format!(" {} ", t.split_whitespace().collect::<Vec<_>>().join(" "));
    const MISSING: &[&str] = &[
        " not ",
        " no ",
        "n t ",
        " doesnt ",
        " cannot ",
        " unknown ",
        " invalid ",
        " missing ",
        " found ",
        " nonexistent ",
        " non existent ",
        // Something else is there, or full: not this user.
        " another ",
        " other ",
        " limit ",
        " seat ",
        " seats ",
        " quota ",
        " constraint ",
        " phone ",
    ];
    let glued: String = t.split_whitespace().collect();
    if MISSING.iter().any(|m| t.contains(m))
        || ["notfound", "notexist", "nosuch"]
            .iter()
            .any(|m| glued.contains(m))
    {
        return false;
    }
    const PRESENT: &[&str] = &[
        " already exist",
        " already taken ",
        " already been taken ",
        " already in use ",
        " already registered ",
        " already a member ",
        " is taken ",
        " duplicate ",
        " exists ",
        " exist already ",
        " exists already ",
    ];
    PRESENT.iter().any(|p| t.contains(p))
}

/// For APIs that create one user per call (the executor then sends batches of
/// one): each user's outcome in turn; a whole-request failure ends the batch.
/// The [`Driver`](super::Driver) of a vendor that creates one user per call
/// (its own `create_one`, sent one after another by [`one_by_one`]) and lists
/// its accounts (its [`Lister`](super::Lister) impl, in a field `http` its
/// client); the methods given in braces are added to it.
#[macro_export]
macro_rules! one_by_one_driver {
    ($ty:ty { $($more:tt)* }) => {
        #[async_trait::async_trait]
        impl $crate::vendors::Driver for $ty {
            fn http(&self) -> &$crate::vendors::Http {
                &self.http
            }

            async fn create(
                &self,
                batch: &[$crate::vendors::NewUser<'_>],
            ) -> Result<Vec<(String, $crate::vendors::Outcome)>, $crate::vendors::CallError> {
                $crate::vendors::one_by_one(batch, |new| self.create_one(new)).await
            }

            fn lister(&self) -> Option<&dyn $crate::vendors::Lister> {
                Some(self)
            }

            $($more)*
        }
    };
}

pub async fn one_by_one<'u, F, Fut>(
    batch: &'u [NewUser<'u>],
    mut create: F,
) -> Result<Vec<(String, Outcome)>, CallError>
where
    F: FnMut(&'u NewUser<'u>) -> Fut,
    Fut: std::future::Future<Output = Result<Outcome, CallError>>,
{
    let mut out = Vec::with_capacity(batch.len());
    for new in batch {
        out.push((new.email.to_string(), create(new).await?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_exists_only_when_it_is_unambiguous() {
        for yes in [
            "email has already been taken",
            "User already exists",
            "USER_ALREADY_EXISTS",
            "ALREADY_EXISTS: dup",
            "E1: User exists already",
            "The email address is already in use",
            "Duplicate email",
            "HTTP 422 email is taken",
            "DuplicateUser: a user with this email exists",
        ] {
            assert!(says_exists(yes), "{yes:?} should say exists");
        }
        for no in [
            "Group 1234 does not exist",
            "The permission profile does not exist",
            "USER_DOES_NOT_EXIST",
            "user doesn't exist",
            "Folder not found",
            "invalid group: already exists in another account", // ambiguous: not adopted
            "NotFound: the group exists nowhere",
            "password is missing",
            "Email is invalid",
            "existing session expired",
            "Seat limit reached: 100 user accounts already exist in this subscription",
            "The phone number given for this user is in use by another account",
            "duplicate key value violates unique constraint",
            "a@x.io already exists in another account",
            "",
        ] {
            assert!(!says_exists(no), "{no:?} should not say exists");
        }
    }

    /// A vendor whose created user's id is `id`, and whose refusal says the
    /// user exists when its words say "already".
    struct Plain;

    impl Answers for Plain {
        fn created_id(&self, response: &Response) -> Result<Option<String>, CallError> {
            id_at(response, "/id", "no id")
        }

        fn says_exists(&self, _: &Response, message: &str) -> bool {
            message.contains("already")
        }
    }

    #[test]
    fn one_ladder_reads_every_answer_to_a_creation() {
        let http = crate::vendors::http::test_client();
        let read = |status: u16, body: &str| {
            let response = Response {
                status: reqwest::StatusCode::from_u16(status).unwrap(),
                headers: Default::default(),
                body: body.as_bytes().to_vec(),
            };
            classify(&http, &Plain, &response)
        };
        assert_eq!(
            read(201, r#"{"id":"u-1"}"#),
            Ok(Outcome::Created {
                remote_id: Some("u-1".into()),
                warnings: vec![]
            })
        );
        // A success without the id it should carry: nobody knows what was made.
        assert!(matches!(read(201, "{}"), Err(CallError::Unknown(_))));
        // Roster's own credentials refused: the whole request fails, even
        // when the words say "already".
        for status in [401, 403] {
            assert!(
                matches!(read(status, r#"{"message":"already"}"#), Err(CallError::Refused { status: s, .. }) if s == status),
                "{status}"
            );
        }
        assert_eq!(
            read(422, r#"{"message":"email already taken"}"#),
            Ok(Outcome::Exists {
                remote_id: None,
                said: "HTTP 422: email already taken".into()
            })
        );
        assert_eq!(
            read(400, r#"{"message":"group 7 does not exist"}"#),
            Ok(Outcome::Rejected {
                reason: "HTTP 400: group 7 does not exist".into()
            })
        );
        // A 5xx may come after the vendor acted: unknown, whatever it says.
        assert!(matches!(
            read(502, r#"{"message":"already"}"#),
            Err(CallError::Unknown(_))
        ));
    }
}
