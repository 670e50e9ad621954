//! Hostile vendors and unlucky operators: lists that break, lie or end early,
//! and what roster records from them. Whatever a vendor answers, an account it
//! holds is never recorded as gone from a list that was not read to its end.

use crate::support::Test;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How the hostile SCIM server answers a list.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Honest,
    /// Pages after the second are refused (400: not retried).
    RefuseFromPage3,
    /// Pages after the second are answered 200 with a body that is no list.
    NoListFromPage3,
    /// Pages after the second are the second again.
    RepeatPage2,
    /// The first user is deleted (for real) as the second page is asked for,
    /// so every later user moves one place up the list.
    DeleteFirstAtPage2,
}

/// A SCIM server of its own, so that its list can misbehave: pages of `CAP`
/// users whatever the client asks for, `totalResults` on each honest page.
struct Hostile {
    users: Vec<Value>,
    mode: Mode,
    reads: usize,
}

const CAP: usize = 10;

type Shared = Arc<Mutex<Hostile>>;

async fn list(
    axum::extract::State(h): axum::extract::State<Shared>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut h = h.lock().unwrap();
    h.reads += 1;
    let start: usize = q
        .get("startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let past_two = start > 2 * CAP;
    if h.mode == Mode::DeleteFirstAtPage2 && start > CAP && start <= 2 * CAP {
        h.users.remove(0);
        h.mode = Mode::Honest;
    }
    match h.mode {
        Mode::RefuseFromPage3 if past_two => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(json!({"detail": "page refused"})),
            )
                .into_response()
        }
        Mode::NoListFromPage3 if past_two => {
            return axum::Json(json!({"detail": "try again later"})).into_response()
        }
        _ => {}
    }
    let start = if h.mode == Mode::RepeatPage2 && past_two {
        CAP + 1
    } else {
        start
    };
    let page: Vec<Value> = h.users.iter().skip(start - 1).take(CAP).cloned().collect();
    axum::Json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": h.users.len(),
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    }))
    .into_response()
}

/// DocuSign's list, one page that says more follow and ends at the largest
/// position there is.
async fn docusign_list() -> axum::Json<Value> {
    axum::Json(json!({
        "users": [{"userId": "d1", "email": "u0@example.com", "userStatus": "Active"}],
        "resultSetSize": "1", "totalSetSize": "2", "startPosition": "0",
        "endPosition": u64::MAX.to_string(),
        "nextUri": "/users?start_position=18446744073709551616",
    }))
}

/// Serves `h` on 127.0.0.1 for the life of the test process; its URL.
fn serve(h: Shared) -> String {
    crate::support::serve(
        axum::Router::new()
            .route("/scim/v2/Users", axum::routing::get(list))
            .route(
                "/docusign/restapi/v2.1/accounts/acc/users",
                axum::routing::get(docusign_list),
            )
            .with_state(h),
    )
}

fn scim_user(n: usize) -> Value {
    let email = format!("u{n}@example.com");
    json!({
        "id": format!("id-{n}"), "userName": email, "active": true,
        "emails": [{"value": email, "primary": true}],
        "name": {"givenName": "U", "familyName": format!("N{n}")},
    })
}

/// A hostile server holding `n` users, and a temp dir whose roster.yaml wants
/// every one of them there.
fn hostile(n: usize) -> (Shared, Test) {
    let h = Arc::new(Mutex::new(Hostile {
        users: (0..n).map(scim_user).collect(),
        mode: Mode::Honest,
        reads: 0,
    }));
    let url = serve(h.clone());
    let mut y = format!(
        "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\nusers:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - {{ email: u{i}@example.com, first_name: U, last_name: N, accounts: {{ scim: {{}} }} }}\n"
        ));
    }
    let t = Test::new().env("SCIM_TOKEN", "hostile-token");
    t.write("roster.yaml", &y);
    (h, t)
}

/// The statuses the state records at the SCIM vendor, by status.
fn statuses(t: &Test) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in t.state()["vendors"]["scim"]
        .as_object()
        .expect("records")
        .values()
    {
        *out.entry(r["status"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    out
}

/// Every user adopted by an honest refresh, then aged past the grace period.
fn adopted(n: usize) -> (Shared, Test) {
    let (h, t) = hostile(n);
    t.run(&["refresh"]).code(0);
    assert_eq!(
        statuses(&t),
        BTreeMap::from([("adopted".to_string(), n)]),
        "an honest list adopts every user"
    );
    t.backdate(3600);
    (h, t)
}

#[test]
fn a_list_that_breaks_or_repeats_after_page_two_marks_nothing_gone() {
    for mode in [
        Mode::RefuseFromPage3,
        Mode::RepeatPage2,
        Mode::NoListFromPage3,
    ] {
        let (h, t) = adopted(25);
        h.lock().unwrap().mode = mode;
        for args in [
            &["refresh"][..],
            &["plan", "--refresh", "--format", "json"][..],
            &["apply", "--refresh", "--yes"][..],
        ] {
            let run = t.run(args);
            assert_eq!(
                statuses(&t),
                BTreeMap::from([("adopted".to_string(), 25)]),
                "{mode:?} {args:?}: a partial list marks nothing gone\n{}\n{}",
                run.stdout,
                run.stderr
            );
            assert!(
                !run.stdout.contains("gone"),
                "{mode:?} {args:?}: {}",
                run.stdout
            );
            // `refresh` promises exit 3 for a vendor it could not read to the end.
            if args[0] != "refresh" {
                continue;
            }
            assert_eq!(
                run.code, 3,
                "{mode:?} {args:?}: a vendor that could not be read is a failure\n{}\n{}",
                run.stdout, run.stderr
            );
        }
    }
}

#[test]
fn a_last_page_of_entries_roster_cannot_read_is_still_the_end_of_the_list() {
    // 20 users and, alone on the third page, an entry with no userName.
    let (h, t) = hostile(20);
    h.lock()
        .unwrap()
        .users
        .push(json!({"id": "odd", "active": true, "emails": [{"value": "odd@example.com"}]}));
    let run = t.run(&["refresh"]);
    run.code(0);
    assert_eq!(
        statuses(&t),
        BTreeMap::from([("adopted".to_string(), 20)]),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(h.lock().unwrap().reads, 3);
}

/// A SCIM vendor on the mock with `settings`, one user, and its token set.
fn on_mock(server: &crate::support::Server, settings: &str) -> Test {
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\n    {settings}\nusers:\n  - {{ email: a@example.com, first_name: A, last_name: B, accounts: {{ scim: {{}} }} }}\n",
            server.url
        ),
    );
    t
}

#[test]
fn a_grace_period_too_long_to_add_to_a_date_is_refused_or_waited_never_a_panic() {
    // The vendor lists a new account only after a minute.
    let server = crate::support::Server::start(crate::support::Config {
        search_lag: Duration::from_secs(60),
        ..crate::support::Config::default()
    });
    let t = on_mock(&server, "verify_grace: 18446744073709551615s");
    // The creation is made, its answer lost: pending.
    server
        .mock
        .data()
        .faults
        .push_back(crate::support::mock::Fault::CommitThenDrop);
    for args in [&["validate"][..], &["apply", "--yes"], &["refresh"]] {
        let run = t.run(args);
        run.code(1);
        assert!(
            run.stderr
                .contains("roster.yaml:8:19: vendors.scim.verify_grace")
                && run.stderr.contains("at most 1d")
                && !run.stderr.contains("panicked"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert!(server.mock.data().creations.is_empty());

    // A day is accepted, and a creation whose answer was lost is looked up, not
    // sent again, however far off its grace period ends.
    let t = on_mock(&server, "verify_grace: 1d");
    t.run(&["apply", "--yes"]).code(3);
    let mut again = t.spawn(&["apply", "--yes"]);
    std::thread::sleep(Duration::from_secs(2));
    let _ = again.kill();
    let out = again.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(server.mock.data().creations.len(), 1);
    assert_eq!(
        server.mock.data().creations.values().max().copied(),
        Some(1)
    );
}

#[test]
fn a_lock_timeout_too_long_to_add_to_the_clock_waits_never_a_panic() {
    let server = crate::support::Server::start(crate::support::Config::default());
    let t = on_mock(&server, "verify_grace: 1s");
    for args in [
        &["apply", "--yes", "--lock-timeout", "18446744073709551615s"][..],
        &[
            "import",
            "--vendor",
            "scim",
            "--lock-timeout",
            "18446744073709551615s",
        ],
    ] {
        let run = t.run(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        run.code(0);
    }
    assert_eq!(server.mock.data().creations.len(), 1);
}

#[test]
fn dump_and_refresh_print_no_credential_a_vendor_lists_and_let_no_id_out_of_a_comment() {
    let (h, t) = hostile(2);
    let token = "hostile-token";
    {
        let mut h = h.lock().unwrap();
        // A vendor that shows the caller's token back in an account's fields.
        h.users[0]["name"]["familyName"] = json!(token);
        h.users[0]["externalId"] = json!(format!("ext {token}"));
        // A closed account whose id breaks out of dump's comment line.
        h.users.push(json!({
            "id": "x):\n  - { email: evil@example.com, first_name: E, last_name: V, accounts: { scim: {} } }\n  # (",
            "userName": "closed@example.com", "active": false,
            "emails": [{"value": "closed@example.com", "primary": true}],
            "name": {"givenName": "C", "familyName": "D"},
        }));
    }
    let t = t.env("RUST_LOG", "trace");
    let dump = t.run(&["dump", "--vendor", "scim"]);
    dump.code(0);
    let refresh = t.run(&["refresh"]);
    for (what, text) in [
        ("dump stdout", &dump.stdout),
        ("dump stderr", &dump.stderr),
        ("refresh stdout", &refresh.stdout),
        ("refresh stderr", &refresh.stderr),
        ("state", &t.read("state/roster.state.json")),
    ] {
        assert!(!text.contains(token), "{what} shows the token:\n{text}");
    }
    // Every line of the closed account is commented out: nothing it holds is
    // a user a later import would take.
    let users: Value = serde_yaml::from_str(&dump.stdout).expect("dump is YAML");
    let emails: Vec<&str> = users["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(
        emails,
        ["u0@example.com", "u1@example.com"],
        "{}",
        dump.stdout
    );
}

#[test]
fn a_status_word_that_quotes_the_credential_is_neither_printed_nor_recorded() {
    let server = crate::support::Server::start(crate::support::Config::default());
    let token = server.mock.config.activeplatform_token.clone();
    for (n, email) in ["b@example.com", "c@example.com"].iter().enumerate() {
        server.mock.seed(
            "activeplatform",
            email,
            json!({
                "id": 900 + n, "email": email, "first_name": "B", "last_name": "C",
                "status": format!("active (key {token})"),
            }),
        );
    }
    let t = Test::new().env("AP_TOKEN", &token).env("RUST_LOG", "trace");
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  ap:\n    kind: activeplatform\n    base_url: {}/activeplatform\n    api_token: ${{AP_TOKEN}}\n    rate_limit: 1000/s\nusers:\n  - {{ email: b@example.com, first_name: B, last_name: C, password: generate, accounts: {{ ap: {{}} }} }}\n",
            server.url
        ),
    );
    let refresh = t.run(&["refresh"]);
    refresh.code(0);
    // c@ is looked up by apply's verify of a pending creation.
    t.write(
        "roster.yaml",
        &t.read("roster.yaml").replace(
            "users:\n",
            "users:\n  - { email: c@example.com, first_name: B, last_name: C, password: generate, accounts: { ap: {} } }\n",
        ),
    );
    let mut state = t.state();
    state["vendors"]["ap"]["c@example.com"] = json!({
        "at": "2020-01-01T00:00:00Z", "fingerprint": "sha256:00", "spec": {},
        "status": "pending", "error": "creation sent; no answer recorded yet",
    });
    t.write("state/roster.state.json", &state.to_string());
    let apply = t.run(&["apply", "--yes"]);
    for (what, text) in [
        ("refresh stdout", &refresh.stdout),
        ("refresh stderr", &refresh.stderr),
        ("apply stdout", &apply.stdout),
        ("apply stderr", &apply.stderr),
        ("state", &t.read("state/roster.state.json")),
    ] {
        assert!(!text.contains(&token), "{what} shows the token:\n{text}");
    }
    assert_eq!(
        t.state()["vendors"]["ap"]["c@example.com"]["status"],
        "adopted"
    );
}

/// A SCIM vendor on the mock wanting `emails`.
fn wanting(t: &Test, server: &crate::support::Server, emails: &[&str]) {
    let mut y = format!(
        "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\nusers:\n",
        server.url
    );
    for e in emails {
        y.push_str(&format!(
            "  - {{ email: {e}, first_name: A, last_name: B, accounts: {{ scim: {{}} }} }}\n"
        ));
    }
    t.write("roster.yaml", &y);
}

#[test]
fn state_merge_refuses_a_base_that_is_not_where_both_copies_started() {
    let server = crate::support::Server::start(crate::support::Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    let state = "state/roster.state.json";
    wanting(&t, &server, &["a@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    std::fs::copy(t.path(state), t.path("base.json")).unwrap();
    // A pipeline's copy records b@ ...
    wanting(&t, &server, &["a@example.com", "b@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    std::fs::copy(t.path(state), t.path("copy.json")).unwrap();
    // ... while the state moves on with c@, then d@.
    std::fs::copy(t.path("base.json"), t.path(state)).unwrap();
    wanting(&t, &server, &["a@example.com", "c@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    wanting(
        &t,
        &server,
        &["a@example.com", "c@example.com", "d@example.com"],
    );
    t.run(&["apply", "--yes"]).code(0);
    // The operator gives the state itself as the base (or another state's).
    std::fs::copy(t.path(state), t.path("wrong.json")).unwrap();
    let other = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    wanting(&other, &server, &["z@example.com"]);
    other.run(&["apply", "--yes"]).code(0);
    let before = t.read(state);
    for base in [t.path("wrong.json"), other.path("state/roster.state.json")] {
        let run = t.run(&[
            "state",
            "merge",
            "copy.json",
            "--base",
            base.to_str().unwrap(),
        ]);
        assert_eq!(t.read(state), before, "{base:?}: {}", run.stdout);
        run.code(1);
    }
    // The right base loses nothing.
    t.run(&["state", "merge", "copy.json", "--base", "base.json"])
        .code(0);
    let merged = t.state();
    let all: Vec<&String> = merged["vendors"]["scim"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        all,
        [
            "a@example.com",
            "b@example.com",
            "c@example.com",
            "d@example.com"
        ]
    );
}

/// SCIM and DocuSign state their list's size on every page: one that shrinks
/// while the list is read is refused, not concluded from. (ActivePlatform and
/// Forms On Fire give no size, so this cannot be seen there.)
#[test]
fn an_account_deleted_while_the_list_is_read_leaves_every_other_one_recorded() {
    let (h, t) = adopted(25);
    h.lock().unwrap().mode = Mode::DeleteFirstAtPage2;
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains("shrank from 25 to 24"),
        "{}",
        run.stdout
    );
    let state = t.state();
    let records = state["vendors"]["scim"].as_object().expect("records");
    for (email, r) in records {
        if email != "u0@example.com" {
            assert_eq!(
                r["status"], "adopted",
                "{email} is still at the vendor\n{}",
                run.stdout
            );
        }
    }
}

#[test]
fn a_docusign_page_that_ends_past_the_largest_number_is_an_error_not_a_panic() {
    let (h, t) = hostile(1);
    let url = {
        // The hostile server's address, read back from its roster.yaml.
        let y = t.read("roster.yaml");
        let start = y.find("http://").expect("url");
        y[start..].split("/scim").next().expect("url").to_string()
    };
    drop(h);
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  ds:\n    kind: docusign\n    base_url: {url}/docusign/restapi\n    account_id: acc\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\nusers:\n  - {{ email: u0@example.com, first_name: U, last_name: N, accounts: {{ ds: {{}} }} }}\n"
        ),
    );
    for args in [&["refresh"][..], &["dump", "--vendor", "ds"]] {
        let run = t.run(args);
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        assert_ne!(run.code, 0, "{args:?}: {}", run.stdout);
    }
}

#[test]
fn a_token_that_says_it_never_expires_is_used_never_a_panic() {
    let server = crate::support::Server::start(crate::support::Config {
        acton_token_lifetime: u64::MAX,
        docusign_expires_in: Some(u64::MAX),
        ..crate::support::Config::default()
    });
    let c = server.mock.config.clone();
    let t = Test::new()
        .env("ACTON_SECRET", &c.acton_client_secret)
        .env("ACTON_PASSWORD", &c.acton_password);
    t.write(
        "keys/ds.pem",
        include_str!("../fixtures/docusign-test-key.pem"),
    );
    let url = &server.url;
    t.write(
        "roster.yaml",
        &format!(
            "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    client_id: {}\n    client_secret: ${{ACTON_SECRET}}\n    username: {}\n    password: ${{ACTON_PASSWORD}}\n  ds:\n    kind: docusign\n    base_url: {url}/docusign/restapi\n    account_id: {}\n    integration_key: mock-integration-key\n    user_id: mock-user-id\n    private_key_file: {}\n    oauth_base_url: {url}/docusign\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    password: generate\n    accounts:\n      acton: {{ user_type: Marketing }}\n      ds: {{}}\n",
            c.acton_client_id,
            c.acton_username,
            c.docusign_account,
            t.path("keys/ds.pem").display()
        ),
    );
    let run = t.run(&["apply", "--yes"]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.code(0);
    assert_eq!(server.mock.data().creations.len(), 2);
}

#[test]
fn a_state_keyed_by_an_email_in_another_form_plans_no_second_creation() {
    // A state written before emails had one normal form (or edited by hand):
    // keys with spaces, capitals or a decomposed umlaut.
    let server = crate::support::Server::start(crate::support::Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    let nfc = "\u{f6}la@example.com";
    wanting(&t, &server, &["ola.muller@example.com", nfc]);
    t.run(&["apply", "--yes"]).code(0);
    let mut state = t.state();
    let records = state["vendors"]["scim"].as_object_mut().expect("records");
    let a = records.remove("ola.muller@example.com").expect("a");
    let b = records.remove(nfc).expect("b");
    records.insert(" Ola.Muller@Example.com".into(), a);
    records.insert("o\u{308}la@example.com".into(), b);
    t.write("state/roster.state.json", &state.to_string());
    let sent = server.mock.requests("/scim").len();
    let plan = t.run(&["plan", "--detailed-exitcode"]);
    plan.code(0);
    t.run(&["apply", "--yes"]).code(0);
    assert_eq!(server.mock.requests("/scim").len(), sent);
    assert!(!plan.stdout.contains("orphan"), "{}", plan.stdout);
}

#[test]
fn a_second_account_under_the_same_name_never_takes_the_recorded_ones_place() {
    let (h, t) = adopted(3);
    // The vendor now lists another live account for u0@, before the recorded one.
    {
        let mut h = h.lock().unwrap();
        let mut twin = scim_user(0);
        twin["id"] = json!("twin-0");
        h.users.insert(0, twin);
    }
    // A SCIM userName is unique: a list that holds one twice contradicts
    // itself, and is refused rather than matched.
    let run = t.run(&["refresh"]);
    run.code(3);
    assert!(
        run.stdout.contains("unique name") && run.stdout.contains("page 1"),
        "{}",
        run.stdout
    );
    assert_eq!(
        t.state()["vendors"]["scim"]["u0@example.com"]["remote_id"],
        "id-0",
        "{}",
        run.stdout
    );
}

#[test]
fn a_record_written_by_a_clock_ahead_of_this_one_is_still_in_its_grace_period() {
    // The vendor lists a new account only after a minute.
    let server = crate::support::Server::start(crate::support::Config {
        search_lag: Duration::from_secs(60),
        ..crate::support::Config::default()
    });
    let t = on_mock(&server, "verify_grace: 2m");
    t.run(&["apply", "--yes"]).code(0);
    // Written by a runner whose clock is five minutes ahead.
    let mut state = t.state();
    let at =
        humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(300)).to_string();
    state["vendors"]["scim"]["a@example.com"]["at"] = json!(at);
    t.write("state/roster.state.json", &state.to_string());
    let run = t.run(&["refresh"]);
    run.code(0);
    assert_eq!(
        t.state()["vendors"]["scim"]["a@example.com"]["status"],
        "created",
        "{}",
        run.stdout
    );
}
