//! Adoption only on evidence: what a vendor says of a creation is taken for
//! "already exists" only when it is evidence of this user's own account. Act-On
//! texts that merely sound like it fail with the vendor's words; a SCIM account
//! whose email matches under another userName, or whose name imitates the
//! user's with a non-ASCII character (a look-alike), is never adopted, and the
//! look-alike is reported.

use crate::support::Test;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Vendor {
    /// Act-On: the error message each email's creation is answered with.
    acton: BTreeMap<String, String>,
    /// SCIM: the accounts its list (and its filtered lookup) holds; every
    /// creation is answered 409 uniqueness.
    scim: Vec<Value>,
    /// ActivePlatform: the error each email's creation is answered with (422),
    /// the accounts its list holds, and the list requests received.
    ap: BTreeMap<String, String>,
    ap_users: Vec<Value>,
    ap_reads: usize,
    /// SCIM: answer creations 502 (nobody knows whether it acted) instead.
    scim_unknown: bool,
}

type Shared = Arc<Mutex<Vendor>>;

async fn acton_create(State(v): State<Shared>, body: axum::body::Bytes) -> axum::Json<Value> {
    let v = v.lock().unwrap();
    let specs: Vec<Value> = serde_json::from_slice(&body).expect("Act-On body");
    let answers: Vec<Value> = specs
        .iter()
        .map(|s| {
            let email = s["email"].as_str().expect("email").to_string();
            match v.acton.get(&email) {
                Some(message) => json!({"email": email, "status": "error", "message": message}),
                None => json!({"email": email, "status": "ok"}),
            }
        })
        .collect();
    axum::Json(Value::Array(answers))
}

async fn scim_create(State(v): State<Shared>) -> axum::response::Response {
    if v.lock().unwrap().scim_unknown {
        return axum::http::StatusCode::BAD_GATEWAY.into_response();
    }
    (
        axum::http::StatusCode::CONFLICT,
        axum::Json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409", "scimType": "uniqueness", "detail": "User already exists",
        })),
    )
        .into_response()
}

async fn scim_list(
    State(v): State<Shared>,
    Query(_): Query<BTreeMap<String, String>>,
) -> axum::Json<Value> {
    let v = v.lock().unwrap();
    // Like a server that matches userName case-insensitively with Unicode
    // folding, it answers a filtered lookup with everything it holds.
    axum::Json(json!({
        "totalResults": v.scim.len(), "startIndex": 1, "itemsPerPage": v.scim.len(),
        "Resources": v.scim,
    }))
}

async fn ap_create(State(v): State<Shared>, body: axum::body::Bytes) -> axum::response::Response {
    let v = v.lock().unwrap();
    let spec: Value = serde_json::from_slice(&body).expect("ActivePlatform body");
    let email = spec["email"].as_str().expect("email");
    let error = v.ap.get(email).cloned().unwrap_or_default();
    (
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(json!({ "error": error })),
    )
        .into_response()
}

async fn ap_list(
    State(v): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> axum::Json<Value> {
    let mut v = v.lock().unwrap();
    v.ap_reads += 1;
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let users = if page == 1 {
        v.ap_users.clone()
    } else {
        vec![]
    };
    axum::Json(Value::Array(users))
}

fn serve(v: Shared) -> String {
    crate::support::serve(
        axum::Router::new()
            .route("/acton/api/1/user", axum::routing::post(acton_create))
            .route(
                "/ap/api/vendor/v1/users.json",
                axum::routing::post(ap_create).get(ap_list),
            )
            .route(
                "/scim/Users",
                axum::routing::post(scim_create).get(scim_list),
            )
            .with_state(v),
    )
}

fn user_line(email: &str, vendor: &str) -> String {
    let block = if vendor == "acton" {
        "{ user_type: Marketing }"
    } else {
        "{}"
    };
    format!(
        "  - {{ email: '{email}', first_name: U, last_name: N, password: generate, accounts: {{ {vendor}: {block} }} }}\n"
    )
}

/// Act-On texts that only look like "already exists", and one that is
/// evidence: each answered to one user's creation.
#[test]
fn acton_adopts_only_a_text_naming_the_users_own_email_as_existing() {
    let lookalikes = [
        "Seat limit reached: 100 user accounts already exist in this subscription",
        "The phone number given for this user is in use by another account",
        "duplicate key value violates unique constraint",
        "duplicate key value violates unique constraint \"users_email_key\" (email)=(u3@example.com) already exists",
        "A user with this email already exists",
        "User u5@example.com already exists in another account",
        "User someone.else@example.com already exists",
    ];
    let v: Shared = Default::default();
    let mut users = String::new();
    for (i, text) in lookalikes.iter().enumerate() {
        let email = format!("u{i}@example.com");
        v.lock()
            .unwrap()
            .acton
            .insert(email.clone(), text.to_string());
        users.push_str(&user_line(&email, "acton"));
    }
    v.lock().unwrap().acton.insert(
        "dup@example.com".into(),
        "User dup@example.com already exists".into(),
    );
    users.push_str(&user_line("dup@example.com", "acton"));
    let url = serve(v);
    let t = Test::new().env("ACTON_TOKEN", "t0ken");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    token: ${{ACTON_TOKEN}}\n    rate_limit: 1000/s\nusers:\n{users}"
        ),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    let state = t.state();
    for (i, text) in lookalikes.iter().enumerate() {
        let r = &state["vendors"]["acton"][format!("u{i}@example.com")];
        assert_eq!(r["status"], "failed", "{text:?} was taken: {r}");
        assert_eq!(r["error"], format!("rejected: {text}"), "{r}");
        assert!(r["remote_id"].is_null(), "{r}");
    }
    let dup = &state["vendors"]["acton"]["dup@example.com"];
    assert_eq!(dup["status"], "adopted", "{dup}");
}

/// A SCIM vendor answering every creation 409, holding `accounts`, and a
/// roster.yaml wanting `email` there.
fn scim_conflict(email: &str, accounts: Vec<Value>) -> Test {
    scim_vendor(email, accounts).1
}

fn scim_vendor(email: &str, accounts: Vec<Value>) -> (Shared, Test) {
    let v: Shared = Arc::new(Mutex::new(Vendor {
        scim: accounts,
        ..Vendor::default()
    }));
    let url = serve(v.clone());
    let t = Test::new().env("TOKEN", "t0ken");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {url}/scim\n    token: ${{TOKEN}}\n    rate_limit: 1000/s\n    verify_grace: 1s\nusers:\n{}",
            user_line(email, "app")
        ),
    );
    (v, t)
}

fn scim_account(id: &str, user_name: &str, email: &str) -> Value {
    json!({"id": id, "userName": user_name, "active": true,
           "emails": [{"value": email, "primary": true}],
           "name": {"givenName": "U", "familyName": "N"}})
}

#[test]
fn a_scim_conflict_is_not_adopted_from_an_account_whose_user_name_differs() {
    let t = scim_conflict(
        "alice@example.com",
        vec![scim_account("m-1", "mallory", "alice@example.com")],
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    let r = &t.state()["vendors"]["app"]["alice@example.com"];
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["remote_id"].is_null(), "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap_or_default()
            .contains("lists no account for this user: not adopted"),
        "{r}"
    );

    // Its own account, under its userName, is adopted.
    let t = scim_conflict(
        "alice@example.com",
        vec![
            scim_account("m-1", "mallory", "alice@example.com"),
            scim_account("a-1", "alice@example.com", "alice@example.com"),
        ],
    );
    t.run(&["apply", "--yes"]).code(0);
    let r = &t.state()["vendors"]["app"]["alice@example.com"];
    assert_eq!(
        (&r["status"], &r["remote_id"]),
        (&json!("adopted"), &json!("a-1")),
        "{r}"
    );
}

/// A look-alike line on stderr naming the vendor `app`, the escaped name and
/// kate@example.com.
fn reported(run: &crate::support::Run, what: &str) {
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("look-alike"))
        .unwrap_or_else(|| panic!("{what}: no look-alike reported\n{}", run.stderr));
    assert!(
        line.contains("vendor `app`")
            && line.contains("\"\\u{212a}ate@example.com\"")
            && line.contains("kate@example.com")
            && !line.contains('\u{212a}'),
        "{what}: {line}"
    );
}

#[test]
fn a_kelvin_sign_look_alike_is_reported_and_never_adopted() {
    let kelvin = "\u{212a}ATE@example.com";
    let t = scim_conflict(
        "kate@example.com",
        vec![scim_account("k-1", kelvin, kelvin)],
    );

    // A creation answered 409, then a lookup that finds only the look-alike.
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    reported(&run, "apply");
    let r = &t.state()["vendors"]["app"]["kate@example.com"];
    assert_eq!(r["status"], "failed", "{r}");
    assert!(r["remote_id"].is_null(), "{r}");
    assert!(
        r["error"]
            .as_str()
            .unwrap_or_default()
            .contains("only a look-alike of it"),
        "{r}"
    );

    // A refresh (and so import and plan --refresh) reports it and matches nothing.
    let run = t.run(&["refresh"]);
    reported(&run, "refresh");
    let r = &t.state()["vendors"]["app"]["kate@example.com"];
    assert_ne!(r["status"], "adopted", "{r}");
    let run = t.run(&["plan", "--refresh"]);
    reported(&run, "plan --refresh");
    let run = t.run(&["import", "--vendor", "app"]);
    reported(&run, "import");
    let r = &t.state()["vendors"]["app"]["kate@example.com"];
    assert_ne!(r["status"], "adopted", "{r}");
}

#[test]
fn an_email_written_with_a_look_alike_character_is_refused_at_load() {
    let t = Test::new().env("TOKEN", "t0ken");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: http://127.0.0.1:9/scim\n    token: ${{TOKEN}}\nusers:\n{}{}",
            user_line("\u{212a}ate@example.com", "app"),
            user_line("\u{ff41}nn@example.com", "app"),
        ),
    );
    let run = t.run(&["validate"]);
    run.code(1);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(
        out.contains("users[0]: email \"\\\\u{212a}ate@example.com\" holds U+212A"),
        "{out}"
    );
    assert!(
        out.contains("users[1]: email") && out.contains("U+FF41"),
        "{out}"
    );
}

/// ActivePlatform documents no duplicate code: its "exists" words are a hint
/// that a lookup must confirm, and words that refuse send no lookup at all.
#[test]
fn activeplatform_exists_words_are_a_hint_confirmed_only_by_a_lookup() {
    // (the vendor's error, the account its list holds, looked up, adopted)
    let taken = "email has already been taken";
    let phone = "The phone number given for this user is in use by another account";
    let cases = [
        ("Group 12 does not exist", None, false, false),
        (phone, None, false, false),
        (taken, None, true, false),
        (taken, Some("someone@example.com"), true, false),
        (taken, Some("u@example.com"), true, true),
    ];
    for (error, holds, looked_up, adopted) in cases {
        let v: Shared = Default::default();
        v.lock()
            .unwrap()
            .ap
            .insert("u@example.com".into(), error.to_string());
        if let Some(email) = holds {
            v.lock().unwrap().ap_users.push(json!({
                "id": 77, "email": email, "first_name": "U", "last_name": "N", "status": "active"
            }));
        }
        let url = serve(v.clone());
        let t = Test::new().env("TOKEN", "t0ken");
        t.write(
            "roster.yaml",
            &format!(
                "version: 1\nvendors:\n  ap:\n    kind: activeplatform\n    base_url: {url}/ap\n    api_token: ${{TOKEN}}\n    rate_limit: 1000/s\nusers:\n{}",
                user_line("u@example.com", "ap")
            ),
        );
        let run = t.run(&["apply", "--yes"]);
        let r = &t.state()["vendors"]["ap"]["u@example.com"];
        let reads = v.lock().unwrap().ap_reads;
        assert_eq!(
            reads > 0,
            looked_up,
            "{error:?} {holds:?}: {reads} reads: {r}"
        );
        if adopted {
            run.code(0);
            assert_eq!(
                (&r["status"], &r["remote_id"]),
                (&json!("adopted"), &json!("77")),
                "{r}"
            );
        } else {
            run.code(3);
            assert_eq!(r["status"], "failed", "{error:?} {holds:?}: {r}");
            assert!(r["remote_id"].is_null(), "{r}");
            assert!(
                r["error"].as_str().unwrap_or_default().contains(error),
                "the vendor's words: {r}"
            );
        }
    }
}

#[test]
fn verify_never_takes_a_look_alike_for_the_pending_creation() {
    let kelvin = "\u{212a}ATE@example.com";
    let (v, t) = scim_vendor(
        "kate@example.com",
        vec![scim_account("k-1", kelvin, kelvin)],
    );
    v.lock().unwrap().scim_unknown = true;
    t.run(&["apply", "--yes"]).code(3);
    assert_eq!(
        t.state()["vendors"]["app"]["kate@example.com"]["status"],
        "pending"
    );
    // The next apply looks the pending creation up: only the look-alike is
    // there, which is reported and not taken for it (the creation sent again
    // is still unanswered, so the report is verify's own).
    let run = t.run(&["apply", "--yes"]);
    reported(&run, "verify");
    let r = &t.state()["vendors"]["app"]["kate@example.com"];
    assert_ne!(r["status"], "adopted", "{r}");
    assert!(r["remote_id"].is_null(), "{r}");
}
