//! A list that lacks a recorded account is read a second time before the
//! account is taken for gone: a list that moves while it is read (an account
//! deleted on page 1 moves page 2 up by one) hides another account from one
//! read, and a vendor that states no total gives no sign of it. Only what both
//! reads lack is gone; a second read that fails concludes nothing; a list that
//! lacks nothing is read once.

use crate::support::{serve, Config, Server, Test};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

fn email(i: usize) -> String {
    format!("u{i}@example.com")
}

/// `n` users, each at ActivePlatform and at SCIM on the mock.
fn roster(url: &str, n: usize) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\n  ap:\n    kind: activeplatform\n    base_url: {url}/activeplatform\n    api_token: ${{AP_TOKEN}}\n    rate_limit: 1000/s\nusers:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - {{ email: {}, first_name: U, last_name: N, password: generate, accounts: {{ scim: {{}}, ap: {{}} }} }}\n",
            email(i)
        ));
    }
    y
}

const AP_LIST: &str = "/activeplatform/api/vendor/v1/users.json";
const SCIM_LIST: &str = "/scim/v2/Users";

#[test]
fn an_account_missing_from_two_reads_is_gone_and_a_full_list_is_read_once() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = Test::new()
        .env("SCIM_TOKEN", &c.scim_token)
        .env("AP_TOKEN", &c.activeplatform_token);
    t.write("roster.yaml", &roster(&server.url, 3));
    t.run(&["apply", "--yes"]).code(0);
    t.backdate(3600);
    let reads = || (server.mock.reads(AP_LIST), server.mock.reads(SCIM_LIST));

    // The first refresh records the vendors' status words; it lacks nothing,
    // so it reads each list once: `one` requests (ActivePlatform, which
    // states no total, needs an empty page to know its list ended).
    let was = reads();
    t.run(&["refresh"]).code(0);
    let one = (reads().0 - was.0, reads().1 - was.1);
    assert_eq!(one, (2, 1));

    // Nothing lacks: one read of each list, no more.
    let was = reads();
    let run = t.run(&["refresh"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("the state matches what the vendors hold"),
        "{}",
        run.stdout
    );
    assert_eq!(
        reads(),
        (was.0 + one.0, was.1 + one.1),
        "one read of each list"
    );

    // u1 deleted at both vendors: each list is read twice, u1 is gone at
    // both, and the summary says a second read confirmed it.
    server.mock.delete("activeplatform", &email(1));
    server.mock.delete("scim", &email(1));
    let was = reads();
    let run = t.run(&["refresh"]);
    run.code(0);
    assert_eq!(
        reads(),
        (was.0 + 2 * one.0, was.1 + 2 * one.1),
        "two reads of each list"
    );
    assert!(
        run.stdout
            .contains("Refresh: 2 gone (confirmed by a second read)"),
        "{}",
        run.stdout
    );
    for vendor in ["ap", "scim"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(&format!("{vendor}  u1@example.com"))
                    && l.contains("(missing from two reads of its list)")),
            "{}",
            run.stdout
        );
        let state = t.state();
        assert_eq!(state["vendors"][vendor][email(1)]["status"], "gone");
        assert_eq!(state["vendors"][vendor][email(0)]["status"], "created");
        assert_eq!(state["vendors"][vendor][email(2)]["status"], "created");
    }

    // Recorded gone now: nothing lacks, one read again.
    let was = reads();
    t.run(&["refresh"]).code(0);
    assert_eq!(reads(), (was.0 + one.0, was.1 + one.1));
}

/// An ActivePlatform on 127.0.0.1 that keeps what it creates, and, once
/// `fail` is set to n, answers the n-th list request from then on (and every
/// later one) 403. Returns the URL, the users (email, id), `fail`, and the
/// list requests received.
#[allow(clippy::type_complexity)]
fn failing_activeplatform() -> (
    String,
    Arc<Mutex<Vec<(String, u64)>>>,
    Arc<Mutex<Option<usize>>>,
    Arc<Mutex<usize>>,
) {
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::collections::BTreeMap;
    type Shared = (
        Arc<Mutex<Vec<(String, u64)>>>,
        Arc<Mutex<Option<usize>>>,
        Arc<Mutex<usize>>,
    );
    let shared: Shared = Default::default();
    async fn create(State(s): State<Shared>, body: axum::Json<Value>) -> axum::Json<Value> {
        let mut users = s.0.lock().unwrap();
        let id = 1000 + users.len() as u64;
        users.push((body["email"].as_str().unwrap_or("").to_string(), id));
        axum::Json(json!({ "id": id }))
    }
    async fn list(
        State(s): State<Shared>,
        Query(q): Query<BTreeMap<String, String>>,
    ) -> axum::response::Response {
        let mut fail = s.1.lock().unwrap();
        let mut gets = s.2.lock().unwrap();
        *gets += 1;
        if let Some(n) = fail.as_mut() {
            if *n <= 1 {
                return (
                    StatusCode::FORBIDDEN,
                    axum::Json(json!({"error": "forbidden"})),
                )
                    .into_response();
            }
            *n -= 1;
        }
        let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let per: usize = q
            .get("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(100);
        let wanted = q.get("filters[email]");
        let users = s.0.lock().unwrap();
        let chosen: Vec<Value> = users
            .iter()
            .filter(|(e, _)| wanted.is_none_or(|w| w == e))
            .skip((page - 1) * per)
            .take(per)
            .map(|(e, id)| json!({"id": id, "email": e, "first_name": "U", "last_name": "N", "status": "active"}))
            .collect();
        axum::Json(Value::Array(chosen)).into_response()
    }
    let app = axum::Router::new()
        .route(
            "/api/vendor/v1/users.json",
            axum::routing::get(list).post(create),
        )
        .with_state(shared.clone());
    (serve(app), shared.0, shared.1, shared.2)
}

#[test]
fn a_second_read_that_fails_concludes_nothing() {
    let (url, users, fail, gets) = failing_activeplatform();
    let t = Test::new().env("AP_TOKEN", "ap-token-123");
    let mut y = format!(
        "version: 1\nvendors:\n  ap:\n    kind: activeplatform\n    base_url: {url}\n    api_token: ${{AP_TOKEN}}\n    rate_limit: 1000/s\nusers:\n"
    );
    for i in 0..3 {
        y.push_str(&format!(
            "  - {{ email: {}, first_name: U, last_name: N, password: generate, accounts: {{ ap: {{}} }} }}\n",
            email(i)
        ));
    }
    t.write("roster.yaml", &y);
    t.run(&["apply", "--yes"]).code(0);
    t.backdate(3600);
    let before = t.state();

    // u1 is missing from the first read (a page of two accounts, then an
    // empty one); the second read is refused from its first page.
    users.lock().unwrap().retain(|(e, _)| e != &email(1));
    *fail.lock().unwrap() = Some(3);
    let was = *gets.lock().unwrap();
    let run = t.run(&["refresh"]);
    run.code(3);
    assert_eq!(*gets.lock().unwrap() - was, 3, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("not read    ap: listing failed, nothing concluded")
            && run.stdout.contains("403"),
        "{}",
        run.stdout
    );
    assert_eq!(
        t.state()["vendors"]["ap"],
        before["vendors"]["ap"],
        "nothing concluded from one read"
    );
    assert_eq!(t.state()["vendors"]["ap"][email(1)]["status"], "created");
}
