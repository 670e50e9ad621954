//! `roster plan`: counts, rendering, drift and orphans, exit codes.

use crate::support::{acton_user, acton_yaml, Config, Server, Test};

use crate::support::acton_users as users;

#[test]
fn json_plan_counts_every_action() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml(
            "http://127.0.0.1:9",
            &users(&["a@example.com", "b@example.com", "c@example.com"]),
        ),
    );
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["format_version"], 1);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"create": 3, "verify": 0, "unchanged": 0, "drift": 0, "orphan": 0})
    );
    let changes: Vec<_> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap(),
                c["vendor"].as_str().unwrap(),
                c["email"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("create", "acton", "a@example.com"),
            ("create", "acton", "b@example.com"),
            ("create", "acton", "c@example.com")
        ]
    );
    assert!(
        !t.exists("state/roster.state.json"),
        "plan never writes the state"
    );
}

#[test]
fn detailed_exitcode_says_whether_there_are_changes() {
    let server = Server::start(Config::default());
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com"])),
    );
    t.run(&["plan"]).code(0);
    t.run(&["plan", "--detailed-exitcode"]).code(2);
    t.run(&["apply", "--yes"]).code(0);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

/// Creates a@ b@ c@, then changes b's privileges and removes c.
fn drifted() -> (Server, Test) {
    let server = Server::start(Config::default());
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    let base = acton_user("b@example.com", "").replace(
        "password: generate",
        "password: generate\n    roles: [admin]",
    );
    t.write(
        "roster.yaml",
        &acton_yaml(
            &server.url,
            &(acton_user("a@example.com", "") + &base + &acton_user("c@example.com", "")),
        ),
    );
    t.run(&["apply", "--yes"]).code(0);
    let changed = base.replace(
        "user_type: Marketing",
        "user_type: Sales, contact_lists: { download: true }",
    );
    t.write(
        "roster.yaml",
        &acton_yaml(
            &server.url,
            &(acton_user("a@example.com", "") + &changed + &acton_user("d@example.com", "")),
        ),
    );
    (server, t)
}

#[test]
fn drift_and_orphans_are_shown_and_never_applied() {
    let (server, t) = drifted();
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(
        plan["summary"],
        serde_json::json!({"create": 1, "verify": 0, "unchanged": 1, "drift": 1, "orphan": 1})
    );
    let drift = &plan["changes"][0];
    assert_eq!(
        (drift["action"].as_str(), drift["email"].as_str()),
        (Some("drift"), Some("b@example.com"))
    );
    let diff = drift["diff"].as_str().unwrap();
    assert!(
        diff.contains("-    \"user_type\": \"Marketing\"")
            && diff.contains("+    \"user_type\": \"Sales\""),
        "{diff}"
    );
    assert!(diff.contains("+    \"contact_lists\": {"), "{diff}");

    let before = server.mock.requests("/acton/").len();
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    let sent = server.mock.requests("/acton/");
    assert_eq!(sent.len(), before + 1, "one request: the creation of d@");
    let body: serde_json::Value = serde_json::from_str(&sent[before].body).unwrap();
    let emails: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["d@example.com"]);
    // The orphan is still at the vendor and in the state; the drifted record keeps its spec.
    assert!(server.mock.users("acton").contains_key("c@example.com"));
    let state = t.state();
    assert_eq!(
        state["vendors"]["acton"]["c@example.com"]["status"],
        "created"
    );
    assert_eq!(
        state["vendors"]["acton"]["b@example.com"]["spec"]["account"]["user_type"],
        "Marketing"
    );
}

#[test]
fn text_plan_snapshot() {
    let (_server, t) = drifted();
    let run = t.run(&["plan"]);
    run.code(0);
    insta::assert_snapshot!("text_plan_drift_orphan_create", run.stdout);
}

#[test]
fn text_plan_snapshot_when_nothing_changes() {
    let server = Server::start(Config::default());
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com", "b@example.com"])),
    );
    t.run(&["apply", "--yes"]).code(0);
    insta::assert_snapshot!("text_plan_no_changes", t.run(&["plan"]).code(0).stdout);
}

#[test]
fn markdown_plan_snapshot() {
    let (_server, t) = drifted();
    insta::assert_snapshot!(
        "markdown_plan",
        t.run(&["plan", "--format", "markdown"]).code(0).stdout
    );
}

#[test]
fn filters_narrow_the_plan_and_refuse_unknown_names() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml(
            "http://127.0.0.1:9",
            &users(&["a@example.com", "b@example.com"]),
        ),
    );
    let plan = t
        .run(&["plan", "--format", "json", "--user", "B@example.com"])
        .code(0)
        .json();
    assert_eq!(plan["summary"]["create"], 1);
    assert_eq!(plan["changes"][0]["email"], "b@example.com");
    let run = t.run(&["plan", "--vendor", "nope"]);
    run.code(1);
    assert!(run.stderr.contains("--vendor nope"), "{}", run.stderr);
}
