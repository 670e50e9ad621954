//! Lists that lie: a vendor whose pages contradict themselves (positions that
//! jump, one id for two accounts), point elsewhere (a `nextUri` to another
//! host) or never end (a total that keeps growing). Each is an error naming the
//! page or the setting; nothing is concluded from it, so the state is unchanged.

use crate::support::Test;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How the hostile server answers, switched by the test between runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    Honest,
    /// DocuSign: the first page says it ends two positions further than its
    /// users reach, and the next page goes on from there.
    Jump,
    /// DocuSign: `nextUri` points to another host.
    ElsewhereNext,
    /// SCIM: the second page gives the first page's id to another account.
    SharedId,
    /// SCIM: `totalResults` grows by a page with every page.
    Growing,
    /// SCIM: says its list holds five million accounts.
    Huge,
}

struct Vendor {
    lie: Lie,
    /// Emails, in list order; ids are `id-N`.
    users: Vec<String>,
    /// List requests received.
    reads: usize,
}

type Shared = Arc<Mutex<Vendor>>;

/// Users per page, whatever `count` asks for (a server's own cap).
const CAP: usize = 2;

fn number(q: &BTreeMap<String, String>, key: &str, default: usize) -> usize {
    q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn docusign(
    State(v): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> axum::Json<Value> {
    let mut v = v.lock().unwrap();
    v.reads += 1;
    let start = number(&q, "start_position", 0);
    let total = v.users.len();
    let users: Vec<Value> = v
        .users
        .iter()
        .enumerate()
        .skip(start)
        .take(CAP)
        .map(|(i, e)| json!({"userId": format!("id-{i}"), "email": e, "userStatus": "Active"}))
        .collect();
    let mut end = start + users.len();
    if v.lie == Lie::Jump && start == 0 {
        end += 2; // says it spans two accounts it does not hold
    }
    let mut body = json!({
        "users": users,
        "resultSetSize": users.len().to_string(),
        "totalSetSize": total.to_string(),
        "startPosition": start.to_string(),
        "endPosition": end.saturating_sub(1).to_string(),
    });
    if end < total {
        let host = if v.lie == Lie::ElsewhereNext {
            "http://elsewhere.invalid"
        } else {
            ""
        };
        body["nextUri"] = json!(format!(
            "{host}/v2.1/accounts/acc/users?start_position={end}&count=100"
        ));
    }
    axum::Json(body)
}

async fn scim(
    State(v): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> axum::response::Response {
    let mut v = v.lock().unwrap();
    v.reads += 1;
    let start = number(&q, "startIndex", 1).max(1);
    if v.lie == Lie::Growing {
        // One new account per page read, and always one more page to come.
        let page = vec![user(start - 1, &format!("g{start}@example.com"))];
        return axum::Json(json!({
            "totalResults": start + 1, "startIndex": start, "itemsPerPage": 1, "Resources": page,
        }))
        .into_response();
    }
    let page: Vec<Value> = v
        .users
        .iter()
        .enumerate()
        .skip(start - 1)
        .take(CAP)
        .map(|(i, e)| {
            let mut u = user(i, e);
            if v.lie == Lie::SharedId && i == CAP {
                u["id"] = json!("id-0");
            }
            u
        })
        .collect();
    let total = if v.lie == Lie::Huge {
        5_000_000
    } else {
        v.users.len()
    };
    axum::Json(json!({
        "totalResults": total, "startIndex": start, "itemsPerPage": page.len(), "Resources": page,
    }))
    .into_response()
}

fn user(i: usize, email: &str) -> Value {
    json!({"id": format!("id-{i}"), "userName": email, "active": true,
           "emails": [{"value": email, "primary": true}],
           "name": {"givenName": "U", "familyName": "N"}})
}

/// Serves `v` on 127.0.0.1 for the life of the test process; its URL.
fn serve(v: Shared) -> String {
    crate::support::serve(
        axum::Router::new()
            .route("/ds/v2.1/accounts/acc/users", axum::routing::get(docusign))
            .route("/scim/Users", axum::routing::get(scim))
            .with_state(v),
    )
}

/// A hostile vendor of `kind` (`docusign` or `scim`) holding `n` users, and a
/// temp dir whose roster.yaml wants each of them there; `settings` are added
/// to the vendor's.
fn vendor(kind: &str, n: usize, settings: &str) -> (Shared, Test) {
    let users: Vec<String> = (0..n).map(|i| format!("u{i}@example.com")).collect();
    let v = Arc::new(Mutex::new(Vendor {
        lie: Lie::Honest,
        users: users.clone(),
        reads: 0,
    }));
    let url = serve(v.clone());
    let connection = match kind {
        "docusign" => format!("base_url: {url}/ds\n    account_id: acc"),
        _ => format!("base_url: {url}/scim"),
    };
    let mut y = format!(
        "version: 1\nvendors:\n  v:\n    kind: {kind}\n    {connection}\n    token: ${{TOKEN}}\n    rate_limit: 1000/s\n{settings}users:\n"
    );
    for e in &users {
        y.push_str(&format!(
            "  - {{ email: {e}, first_name: U, last_name: N, accounts: {{ v: {{}} }} }}\n"
        ));
    }
    let t = Test::new().env("TOKEN", "hostile-token");
    t.write("roster.yaml", &y);
    (v, t)
}

/// Every user adopted by an honest refresh; the state file's text.
fn adopted(v: &Shared, t: &Test, n: usize) -> String {
    t.run(&["refresh"]).code(0);
    let state = t.state();
    let records = state["vendors"]["v"].as_object().expect("records");
    assert_eq!(records.len(), n);
    assert!(records.values().all(|r| r["status"] == "adopted"));
    v.lock().unwrap().reads = 0;
    t.read("state/roster.state.json")
}

#[test]
fn a_docusign_page_whose_positions_jump_fails_the_refresh_and_changes_nothing() {
    let (v, t) = vendor("docusign", 5, "");
    let before = adopted(&v, &t, 5);
    v.lock().unwrap().lie = Lie::Jump;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("page at start_position 0 is inconsistent: it holds 2 users but says they span positions 0 to 3"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(t.read("state/roster.state.json"), before, "state changed");
    // Nothing after the lying page is read as the rest of the list.
    assert_eq!(v.lock().unwrap().reads, 1);
}

#[test]
fn a_docusign_next_page_on_another_host_is_an_error() {
    let (v, t) = vendor("docusign", 5, "");
    let before = adopted(&v, &t, 5);
    v.lock().unwrap().lie = Lie::ElsewhereNext;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("`nextUri` points to another origin (http://elsewhere.invalid)"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(t.read("state/roster.state.json"), before, "state changed");
}

#[test]
fn one_id_for_two_accounts_on_two_pages_is_an_error_and_adopts_neither() {
    let (v, t) = vendor("scim", 4, "");
    v.lock().unwrap().lie = Lie::SharedId;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains("contradicts itself: page 2")
            && run.stdout.contains("u0@example.com")
            && run.stdout.contains("u2@example.com"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // No state is written, or one that adopts neither.
    if t.exists("state/roster.state.json") {
        let state = t.state();
        let adopted = state["vendors"]["v"]
            .as_object()
            .map(|r| r.values().filter(|r| r["status"] == "adopted").count())
            .unwrap_or(0);
        assert_eq!(adopted, 0, "{state}");
    }
}

#[test]
fn a_total_that_keeps_growing_stops_at_max_pages() {
    let (v, t) = vendor("scim", 1, "    max_pages: 40\n");
    v.lock().unwrap().lie = Lie::Growing;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains("past `max_pages` (40) pages"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(v.lock().unwrap().reads, 40);
}

#[test]
fn a_total_that_keeps_growing_stops_at_max_accounts() {
    let (v, t) = vendor("scim", 1, "    max_accounts: 30\n");
    v.lock().unwrap().lie = Lie::Growing;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains("more than `max_accounts` (30)"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(v.lock().unwrap().reads <= 31);
}

#[test]
fn a_stated_total_above_max_accounts_is_an_error_at_once() {
    let (v, t) = vendor("scim", 3, "");
    v.lock().unwrap().lie = Lie::Huge;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains(
            "at page 1 (the first) that its list holds 5000000 accounts, more than `max_accounts` (250000)"
        ),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(v.lock().unwrap().reads, 1);
}

#[test]
fn max_accounts_and_max_pages_must_be_at_least_one() {
    let (_, t) = vendor("scim", 1, "    max_pages: 0\n");
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stdout
            .contains("`max_accounts` and `max_pages` must be at least 1")
            || run
                .stderr
                .contains("`max_accounts` and `max_pages` must be at least 1"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}
