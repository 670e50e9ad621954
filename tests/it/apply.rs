//! `roster apply` against the mock: creation, idempotence, partial failure,
//! adoption, credentials, and what reaches the state file.

use crate::support::{acton_user, acton_yaml, Config, Server, Test};

use crate::support::acton_users as users;

fn emails(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("user{i:03}@example.com")).collect()
}

fn setup(server: &Server, list: &[String]) -> Test {
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write("roster.yaml", &acton_yaml(&server.url, &users(list)));
    t
}

#[test]
fn apply_creates_every_user_once_and_a_second_run_does_nothing() {
    let server = Server::start(Config::default());
    let list = emails(7);
    let t = setup(&server, &list);

    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert!(
        run.stdout.contains("Apply: 7 created, 0 adopted, 0 failed"),
        "{}",
        run.stdout
    );
    let held = server.mock.users("acton");
    assert_eq!(held.keys().cloned().collect::<Vec<_>>(), list);
    assert!(server.mock.data().creations.values().all(|n| *n == 1));

    let state = t.state();
    assert_eq!(state["version"], 1);
    // Written when the apply began (what it starts from) and when it ended.
    assert_eq!(state["serial"], 2);
    assert!(state.get("unfinished_apply").is_none(), "{state}");
    assert!(uuid::Uuid::parse_str(state["lineage"].as_str().unwrap()).is_ok());
    for e in &list {
        let r = &state["vendors"]["acton"][e];
        assert_eq!(r["status"], "created", "{e}");
        assert_eq!(
            r["remote_id"],
            e.as_str(),
            "Act-On returns no id: the email stands in"
        );
        assert!(r["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    }

    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 0);
    assert_eq!(plan["summary"]["unchanged"], 7);

    let sent = server.mock.requests("/").len();
    let state_before = t.read("state/roster.state.json");
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert!(run.stdout.contains("Nothing to apply"), "{}", run.stdout);
    assert_eq!(
        server.mock.requests("/").len(),
        sent,
        "a second apply sends nothing"
    );
    assert_eq!(
        t.read("state/roster.state.json"),
        state_before,
        "and leaves the state as it was"
    );
}

#[test]
fn a_new_user_is_the_only_creation_of_the_next_apply() {
    let server = Server::start(Config::default());
    let mut list = emails(3);
    let t = setup(&server, &list);
    t.run(&["apply", "--yes"]).code(0);

    list.push("newcomer@example.com".into());
    t.write("roster.yaml", &acton_yaml(&server.url, &users(&list)));
    let before = server.mock.requests("/acton/").len();
    t.run(&["apply", "--yes"]).code(0);
    let sent = server.mock.requests("/acton/");
    assert_eq!(sent.len(), before + 1);
    let body: serde_json::Value = serde_json::from_str(&sent[before].body).unwrap();
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["email"], "newcomer@example.com");
    assert_eq!(t.state()["serial"], 4);
}

#[test]
fn a_rejected_user_fails_alone_and_the_exit_code_says_so() {
    let server = Server::start(Config::default());
    let mut list = emails(4);
    list.insert(2, "mallory@blocked.example".into());
    let t = setup(&server, &list);

    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout.contains("Apply: 4 created, 0 adopted, 1 failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("mallory@blocked.example: rejected: INVALID_EMAIL_DOMAIN: email domain of mallory@blocked.example is not allowed"),
        "{}",
        run.stdout
    );
    assert_eq!(server.mock.users("acton").len(), 4);
    let state = t.state();
    let failed = &state["vendors"]["acton"]["mallory@blocked.example"];
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"]
        .as_str()
        .unwrap()
        .contains("INVALID_EMAIL_DOMAIN"));
    assert_eq!(
        state["vendors"]["acton"]["user000@example.com"]["status"],
        "created"
    );

    // The failed user is planned again, with the reason.
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 1);
    assert!(plan["changes"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("failed before: rejected: INVALID_EMAIL_DOMAIN"));
}

#[test]
fn a_user_already_at_the_vendor_is_adopted_not_created_twice() {
    let server = Server::start(Config::default());
    server.mock.seed(
        "acton",
        "user001@example.com",
        serde_json::json!({"email": "user001@example.com"}),
    );
    let t = setup(&server, &emails(3));
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert!(
        run.stdout.contains("2 created, 1 adopted"),
        "{}",
        run.stdout
    );
    assert_eq!(
        t.state()["vendors"]["acton"]["user001@example.com"]["status"],
        "adopted"
    );
    assert!(!server
        .mock
        .data()
        .creations
        .contains_key(&("acton", "user001@example.com".to_string())));
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_wrong_token_fails_clearly_without_printing_it() {
    let server = Server::start(Config::default());
    let t = Test::new().env("ACTON_TOKEN", "wrong-token-s3cr3t");
    t.write("roster.yaml", &acton_yaml(&server.url, &users(&emails(2))));
    let run = t.run(&["-vv", "apply", "--yes"]);
    run.code(3);
    assert!(
        run.stdout
            .contains("HTTP 401 access_denied: Invalid or expired access token"),
        "{}",
        run.stdout
    );
    let state = t.read("state/roster.state.json");
    for text in [&run.stdout, &run.stderr, &state] {
        assert!(
            !text.contains("wrong-token-s3cr3t"),
            "token leaked:\n{text}"
        );
    }
    assert!(server.mock.users("acton").is_empty());
}

#[test]
fn passwords_reach_the_vendor_and_nowhere_else() {
    let server = Server::start(Config::default());
    let t = setup(&server, &emails(3)).env("FIXED_PW", "Fixed!Pass123");
    let yaml = acton_yaml(&server.url, &users(&emails(3)));
    // One user with a password from the environment, the others generated.
    t.write(
        "roster.yaml",
        &yaml.replacen("password: generate", "password: ${FIXED_PW}", 1),
    );
    let run = t.run(&["-vv", "apply", "--yes"]);
    run.code(0);
    let sent: serde_json::Value =
        serde_json::from_str(&server.mock.requests("/acton/")[0].body).unwrap();
    let passwords: Vec<String> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["password"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(passwords.len(), 3);
    assert!(passwords.contains(&"Fixed!Pass123".to_string()));
    let state = t.read("state/roster.state.json");
    for p in &passwords {
        assert!(p.len() >= 6, "generated within policy: {p}");
        for text in [&run.stdout, &run.stderr, &state] {
            assert!(!text.contains(p.as_str()), "password leaked");
        }
    }
    assert_eq!(
        sent[0]["marketingPrivileges"],
        serde_json::Value::Null,
        "no role, no privileges sent"
    );
}

#[test]
fn roles_are_sent_as_the_vendors_privilege_fields() {
    let server = Server::start(Config::default());
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    let user = acton_user("a@example.com", ", send_email_confirmation: false").replace(
        "password: generate",
        "password: generate\n    roles: [admin]",
    );
    t.write("roster.yaml", &acton_yaml(&server.url, &user));
    t.run(&["apply", "--yes"]).code(0);
    let held = &server.mock.users("acton")["a@example.com"];
    assert_eq!(
        held["marketingPrivileges"],
        serde_json::json!({"launchPrivilege": "Allowed", "admin": "Y"})
    );
    assert_eq!(held["sendEmailConfirmation"], "N");
    assert_eq!(held["userType"], "Marketing");
    let auth = server.mock.requests("/acton/")[0].authorization.clone();
    assert_eq!(auth.as_deref(), Some("Bearer mock-acton-token"));
}

#[test]
fn apply_refuses_to_start_without_confirmation_or_secrets() {
    let server = Server::start(Config::default());
    let t = setup(&server, &emails(2));
    let run = t.run(&["apply"]);
    run.code(1);
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);

    let t2 = Test::new();
    t2.write("roster.yaml", &acton_yaml(&server.url, &users(&emails(2))));
    let run = t2.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr.contains("ACTON_TOKEN") && run.stderr.contains("nothing was sent"),
        "{}",
        run.stderr
    );
    assert!(server.mock.requests("/").is_empty());
    assert!(!t2.exists("state/roster.state.json"));
}

#[test]
fn an_unreachable_vendor_fails_the_users_and_keeps_the_state_readable() {
    // Nothing listens on port 9 of the loopback: connection refused, never sent.
    let t = Test::new().env("ACTON_TOKEN", "t0ken-value");
    t.write(
        "roster.yaml",
        &acton_yaml("http://127.0.0.1:9", &users(&emails(2))),
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(3);
    let state = t.state();
    assert_eq!(
        state["vendors"]["acton"]["user000@example.com"]["status"],
        "failed"
    );
    assert!(
        !t.exists("state/roster.state.json.journal"),
        "the journal is folded in and removed"
    );
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 2);
}

#[test]
fn state_show_lists_the_records() {
    let server = Server::start(Config::default());
    let t = setup(&server, &emails(2));
    t.run(&["state", "show"]).code(0);
    t.run(&["apply", "--yes"]).code(0);
    let run = t.run(&["state", "show"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("acton  user000@example.com  created  id=user000@example.com"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_bundled_example_applies_against_the_mock() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/roster.yaml");
    let t = Test::new()
        .env("ROSTER_MOCK_URL", &server.url)
        .env("ACTON_TOKEN", &c.acton_token)
        .env("AP_TOKEN", &c.activeplatform_token)
        .env("DOCUSIGN_TOKEN", &c.docusign_token)
        .env("FOF_KEY", &c.formsonfire_key)
        .env("SCIM_TOKEN", &c.scim_token);
    t.run(&["validate", "-f", example]).code(0);
    let run = t.run(&["apply", "-f", example, "--yes"]);
    run.code(0);
    assert!(run.stdout.contains("Apply: 9 created"), "{}", run.stdout);
    for (kind, n) in [
        ("acton", 3),
        ("activeplatform", 1),
        ("docusign", 1),
        ("formsonfire", 2),
        ("scim", 2),
    ] {
        assert_eq!(server.mock.users(kind).len(), n, "{kind}");
    }
    t.run(&["plan", "-f", example, "--detailed-exitcode"])
        .code(0);
}

/// The report's request count is what the vendors received: batches of
/// Act-On users, one SCIM call a user, and the lookup (with its read of the
/// server's capabilities) that confirms an "already exists" (mutants dropping
/// the count of a batch or of a confirmation survived every other test).
#[test]
fn the_report_counts_every_request_the_vendors_received() {
    let server = Server::start(Config::default());
    // One user is at the SCIM server already: its creation is answered
    // "exists" and confirmed by a lookup, which counts too.
    let held = "user01@example.com";
    server.mock.seed(
        "scim",
        held,
        serde_json::json!({
            "id": "scim-held", "userName": held, "active": true,
            "emails": [{"value": held, "primary": true, "type": "work"}],
            "name": {"givenName": "U", "familyName": "N"},
        }),
    );
    let t = crate::support::acton_and_scim(&server, 3, 1);
    let report = t
        .run(&["apply", "--yes", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(report["adopted"], 1, "{report}");
    let received = server.mock.data().requests.len();
    assert!(received >= 5, "{received}");
    assert_eq!(report["requests"], received, "{report}");
}

/// A pending pair whose recorded time cannot be read (a hand-edited state) has
/// no grace left to wait out: it is looked up once, then created again, not
/// looked up a second time (a mutant waiting for it survived every test).
#[test]
fn a_pending_pair_without_a_readable_time_is_looked_up_once() {
    let server = Server::start(Config::default());
    let t = crate::support::acton_and_scim(&server, 2, 1);
    t.run(&["apply", "--yes"]).code(0);
    // The account is gone at the vendor, and the state says its creation is
    // pending since a time nobody can read.
    server.mock.delete("scim", "user01@example.com");
    let mut state = t.state();
    let record = &mut state["vendors"]["app"]["user01@example.com"];
    record["status"] = "pending".into();
    record["at"] = "yesterday".into();
    t.write(
        "state/roster.state.json",
        &serde_json::to_string_pretty(&state).unwrap(),
    );
    let before = server.mock.reads("/scim/v2/Users");
    t.run(&["apply", "--yes"]).code(0);
    assert_eq!(server.mock.reads("/scim/v2/Users") - before, 1, "lookups");
    assert_eq!(
        t.state()["vendors"]["app"]["user01@example.com"]["status"],
        "created"
    );
}
