//! Safety without holes: thresholds that are numbers, a `--state` that exists,
//! vendor settings checked before apply, a Markdown plan that says what it
//! grants and whether apply will refuse, and an interrupted first roll-out that
//! resumes without --force.

use crate::support::{acton_yaml, Config, Server, Test};
use std::time::{Duration, Instant};

use crate::support::acton_users as users;

fn offline(emails: &[&str]) -> Test {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml("http://127.0.0.1:9", &users(emails)),
    );
    t
}

#[test]
fn thresholds_that_are_not_numbers_are_refused() {
    for (value, why) in [
        (".nan", "NaN is not a percentage"),
        (".inf", "inf is not a percentage"),
        ("-5", "-5 is not a percentage"),
        ("thirty", "invalid type"),
    ] {
        let t = offline(&["a@example.com"]);
        let yaml = t.read("roster.yaml").replace(
            "users:\n",
            &format!("safety: {{max_create_percent: {value}}}\nusers:\n"),
        );
        t.write("roster.yaml", &yaml);
        for cmd in [&["validate"][..], &["plan"]] {
            let run = t.run(cmd);
            run.code(1);
            assert!(
                run.stderr.contains(why) && run.stderr.contains("roster.yaml"),
                "{value}: {}",
                run.stderr
            );
        }
    }
    let t = offline(&["a@example.com"]);
    let yaml = t
        .read("roster.yaml")
        .replace("users:\n", "safety: {max_create: -1}\nusers:\n");
    t.write("roster.yaml", &yaml);
    t.run(&["validate"]).code(1);
    let t = offline(&["a@example.com"]);
    for value in ["NaN", "nan", "inf", "-1", "-0.5", "x"] {
        for cmd in ["plan", "apply"] {
            let flag = format!("--max-create-percent={value}");
            let run = t.run(&[cmd, &flag]);
            run.code(1);
            assert!(
                run.stderr.contains("--max-create-percent"),
                "{value}: {}",
                run.stderr
            );
        }
    }
    t.run(&["plan", "--max-create-percent", "0"]).code(0);
    t.run(&["plan", "--max-create-percent", "250"]).code(0);
}

#[test]
fn a_state_folder_that_does_not_exist_is_an_error_and_a_new_state_is_announced() {
    let t = offline(&["a@example.com"]);
    for cmd in [
        &["plan", "--state", "nope/x.json"][..],
        &["apply", "--yes", "--state", "nope/x.json"],
        &["import", "--vendor", "acton", "--state", "nope/x.json"],
        &["state", "list", "--state", "nope/x.json"],
        &[
            "state",
            "rm",
            "acton",
            "a@example.com",
            "--state",
            "nope/x.json",
        ],
    ] {
        let run = t.run(cmd);
        run.code(1);
        assert!(
            run.stderr
                .contains("--state nope/x.json: the folder nope does not exist"),
            "{cmd:?}: {}",
            run.stderr
        );
        assert!(!t.exists("nope"), "{cmd:?} created the folder");
    }
    // The default folder, or a given one that exists: a new state, said so.
    let run = t.run(&["plan"]);
    run.code(0);
    assert!(
        run.stderr
            .contains("No state at state/roster.state.json: planning against an empty state"),
        "{}",
        run.stderr
    );
    t.write("states/.keep", "");
    let run = t.run(&["plan", "--state", "states/x.json"]);
    run.code(0);
    assert!(
        run.stderr.contains("No state at states/x.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn vendor_settings_are_checked_by_validate_and_plan() {
    let cases = [
        (
            "base_url: ftp://files.example.com",
            "must be an http(s) URL",
        ),
        ("base_url: not a url", "is not a URL"),
        ("base_url: ${ACTON_URL}", "is not a URL"),
    ];
    for (setting, why) in cases {
        let t = offline(&["a@example.com"]).env("ACTON_URL", "example.com/api");
        let yaml = t
            .read("roster.yaml")
            .replace("base_url: http://127.0.0.1:9/acton", setting);
        t.write("roster.yaml", &yaml);
        for cmd in ["validate", "plan"] {
            let run = t.run(&[cmd]);
            run.code(1);
            assert!(run.stderr.contains(why), "{setting} {cmd}: {}", run.stderr);
            assert!(run.stderr.contains("base_url"), "{}", run.stderr);
        }
    }
    // Other kinds' non-secret settings, written or from the environment.
    let vendor = |settings: &str| {
        format!(
            "version: 1\nvendors:\n  v:\n    {settings}\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    accounts:\n      v: {{}}\n"
        )
    };
    for (settings, env, why) in [
        (
            "kind: formsonfire\n    base_url: https://x.example\n    company_id: ${CID}\n    integration_key: ${K}",
            "acme",
            "`company_id` must be a number",
        ),
        (
            "kind: docusign\n    base_url: https://x.example\n    account_id: 0f6d8e4b-...\n    token: ${K}",
            "",
            "`account_id` must be the account's id",
        ),
        (
            "kind: docusign\n    base_url: https://x.example\n    account_id: ${CID}\n    token: ${K}",
            "12/../34",
            "`account_id` must be the account's id",
        ),
    ] {
        let t = Test::new().env("CID", env);
        t.write("roster.yaml", &vendor(settings));
        for cmd in ["validate", "plan"] {
            let run = t.run(&[cmd]);
            run.code(1);
            assert!(run.stderr.contains(why), "{settings}: {}", run.stderr);
        }
    }
    // Unset, a variable is fine for plan; the value is checked once it is given.
    let t = offline(&["a@example.com"]);
    let yaml = t.read("roster.yaml").replace(
        "base_url: http://127.0.0.1:9/acton",
        "base_url: ${ACTON_URL}",
    );
    t.write("roster.yaml", &yaml);
    t.run(&["plan"]).code(0);
    // A secret is never shown, even when its variable holds something odd.
    let t = Test::new().env("K", "not a url").env("CID", "7");
    t.write(
        "roster.yaml",
        &vendor("kind: formsonfire\n    base_url: https://x.example\n    company_id: ${CID}\n    integration_key: ${K}"),
    );
    t.run(&["plan"]).code(0);
}

#[test]
fn the_markdown_plan_says_what_creates_grant_and_that_apply_will_refuse() {
    // 100 accounts recorded, 1,000 more desired.
    let recorded: String = (0..100)
        .map(|i| {
            format!(
                "\"old{i:03}@example.com\": {{\"at\": \"2026-01-01T00:00:00Z\", \"fingerprint\": \"sha256:00\", \"remote_id\": \"r{i}\", \"spec\": {{}}, \"status\": \"created\"}}"
            )
        })
        .collect::<Vec<_>>()
        .join(",\n");
    let state = format!(
        "{{\"lineage\": \"5f0c\", \"serial\": 3, \"vendors\": {{\"acton\": {{{recorded}}}}}, \"version\": 1}}\n"
    );
    let emails: Vec<String> = (0..1000)
        .map(|i| format!("new{i:04}@example.com"))
        .collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let t = offline(&refs);
    let yaml = t.read("roster.yaml").replace(
        "      acton: { user_type: Marketing }\n",
        "      acton: { user_type: Marketing }\n    roles: [admin]\n",
    );
    t.write("roster.yaml", &yaml);
    t.write("state/roster.state.json", &state);
    let run = t.run(&["plan", "--format", "markdown", "--detailed-exitcode"]);
    run.code(2);
    let md = &run.stdout;
    assert!(
        md.contains("**Safety:** ⛔ apply will refuse: 1,000 creates = 1,000% > 30% of the 100 accounts recorded (max_create_percent, the default); --force goes ahead"),
        "{md}"
    );
    assert!(
        md.contains("**create** acton — new0000@example.com: marketing.admin `true` · marketing.launch `true` · user_type `Marketing`"),
        "{md}"
    );
    assert!(md.contains("**Warnings**"), "{md}");
    assert!(md.contains("${ACTON_TOKEN} which is not set"), "{md}");
    // Apply refuses as the plan said, before asking for any secret or vendor.
    let run = t.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr.contains(
            "refusing to apply: 1,000 creates = 1,000% > 30% of the 100 accounts recorded"
        ),
        "{}",
        run.stderr
    );
    let json = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(json["safety"]["refuses"], true);
    assert!(json["warnings"][0]
        .as_str()
        .unwrap()
        .contains("ACTON_TOKEN"));
}

/// 24 users, one per request, a slow vendor: an apply takes seconds.
fn slow(server: &Server, emails: &[String]) -> Test {
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let yaml = acton_yaml(&server.url, &users(&refs)).replace(
        "token: ${ACTON_TOKEN}",
        "token: ${ACTON_TOKEN}\n    batch_size: 1\n    concurrency: 1",
    );
    t.write("roster.yaml", &yaml);
    t
}

#[test]
fn an_interrupted_first_roll_out_resumes_without_force() {
    let server = Server::start(Config {
        latency: Duration::from_millis(100),
        ..Config::default()
    });
    let emails: Vec<String> = (0..24).map(|i| format!("p{i:02}@example.com")).collect();
    let t = slow(&server, &emails);
    // Killed (no chance to write the state) once 12 accounts exist.
    let mut child = t.spawn(&["apply", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.mock.users("acton").len() < 12 {
        assert!(Instant::now() < deadline, "apply is too slow");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let made = server.mock.users("acton").len();
    assert!(made < 18, "the kill came too late: {made} created");
    // The re-run has about as many to create as exist: well over 30%, but it is
    // the same approved change, judged against the state it began from.
    let plan = t.run(&["plan"]);
    plan.code(0);
    assert!(
        plan.stdout
            .contains("and 0 were when the unfinished apply of this input began"),
        "{}",
        plan.stdout
    );
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert_eq!(server.mock.users("acton").len(), 24);
    assert!(server.mock.data().creations.values().all(|n| *n == 1));
    let state = t.state();
    assert!(state.get("unfinished_apply").is_none(), "{state}");

    // Another change is judged against the state as it is.
    let more: Vec<String> = (0..40).map(|i| format!("p{i:02}@example.com")).collect();
    let t2 = slow(&server, &more);
    t2.write(
        "state/roster.state.json",
        &t.read("state/roster.state.json"),
    );
    let run = t2.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("16 creates = 66.7% > 30% of the 24 accounts recorded"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_apply_cut_short_by_a_signal_also_resumes_and_a_finished_one_forgets() {
    let server = Server::start(Config {
        latency: Duration::from_millis(100),
        ..Config::default()
    });
    let emails: Vec<String> = (0..24).map(|i| format!("q{i:02}@example.com")).collect();
    let t = slow(&server, &emails);
    let child = t.spawn(&["apply", "--yes"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.mock.users("acton").len() < 12 {
        assert!(Instant::now() < deadline, "apply is too slow");
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let state = t.state();
    let unfinished = &state["unfinished_apply"];
    assert_eq!(unfinished["existing"], 0, "{state}");
    assert!(unfinished["input"].as_str().unwrap().starts_with("sha256:"));
    t.run(&["apply", "--yes"]).code(0);
    assert_eq!(server.mock.users("acton").len(), 24);
    assert!(t.state().get("unfinished_apply").is_none());
}
