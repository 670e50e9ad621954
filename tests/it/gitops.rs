//! What the GitOps pipeline relies on: saved plans applied exactly or refused as
//! stale, the safety threshold, filters, import, the schema, completions, logs.

use crate::support::{acton_yaml, Config, Server, Test};
use serde_json::json;

use crate::support::acton_users as users;

fn setup(server: &Server, emails: &[&str]) -> Test {
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write("roster.yaml", &acton_yaml(&server.url, &users(emails)));
    t
}

fn created(server: &Server) -> Vec<String> {
    server.mock.users("acton").keys().cloned().collect()
}

#[test]
fn a_saved_plan_is_applied_exactly() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com", "b@example.com"]);
    let run = t.run(&["plan", "--out", "plan.json"]);
    run.code(0);
    assert!(
        run.stderr.contains("Plan saved to plan.json"),
        "{}",
        run.stderr
    );
    let saved: serde_json::Value = serde_json::from_str(&t.read("plan.json")).unwrap();
    assert_eq!(saved["summary"]["create"], 2);
    assert_eq!(saved["changes"].as_array().unwrap().len(), 2);
    assert!(
        !t.read("plan.json")
            .contains(&server.mock.config.acton_token),
        "no secret in the plan"
    );

    // No --yes needed: a saved plan was reviewed when it was made.
    let run = t.run(&["apply", "plan.json"]);
    run.code(0);
    assert_eq!(created(&server), ["a@example.com", "b@example.com"]);
    // Applied once; the same plan is stale now.
    let run = t.run(&["apply", "plan.json"]);
    run.code(1);
    assert!(
        run.stderr.contains("stale plan") && run.stderr.contains("serial 0 then, 2 now"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_plan_made_before_another_apply_is_refused_as_stale() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com"]);
    t.run(&["plan", "--out", "plan.json"]).code(0);
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com", "b@example.com"])),
    );
    t.run(&["plan", "--out", "plan2.json"]).code(0);
    // The first plan's input changed under it.
    let run = t.run(&["apply", "plan.json"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("the desired state changed since it was made"),
        "{}",
        run.stderr
    );
    // Another apply runs; the second plan's state moved on.
    t.run(&["apply", "--yes", "--user", "a@example.com"])
        .code(0);
    let sent = server.mock.requests("/").len();
    let run = t.run(&["apply", "plan2.json"]);
    run.code(1);
    assert!(
        run.stderr.contains("refusing the stale plan plan2.json"),
        "{}",
        run.stderr
    );
    assert_eq!(server.mock.requests("/").len(), sent, "nothing sent");
    assert_eq!(created(&server), ["a@example.com"]);
}

#[test]
fn an_edited_plan_is_refused() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com"]);
    t.run(&["plan", "--out", "plan.json"]).code(0);
    t.write(
        "plan.json",
        &t.read("plan.json")
            .replace("a@example.com", "evil@example.com"),
    );
    let run = t.run(&["apply", "plan.json"]);
    run.code(1);
    assert!(
        run.stderr.contains("modified after it was saved"),
        "{}",
        run.stderr
    );
    assert!(server.mock.requests("/").is_empty());
}

#[test]
fn the_safety_threshold_refuses_big_applies_unless_forced() {
    let server = Server::start(Config::default());
    let first: Vec<String> = (0..20).map(|i| format!("u{i:02}@example.com")).collect();
    let refs: Vec<&str> = first.iter().map(String::as_str).collect();
    let t = setup(&server, &refs);
    t.run(&["apply", "--yes"]).code(0); // an empty state: the percentage does not apply

    let more: Vec<String> = (0..30).map(|i| format!("u{i:02}@example.com")).collect();
    let refs: Vec<&str> = more.iter().map(String::as_str).collect();
    t.write("roster.yaml", &acton_yaml(&server.url, &users(&refs)));
    let run = t.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr.contains("refusing to apply: 10 creates = 50% > 30% of the 20 accounts recorded (max_create_percent, the default)")
            && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(created(&server).len(), 20, "nothing was created");

    // A file that sets only max_create: the percentage is still the default's,
    // and said so; the count is the file's.
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&refs))
            .replace("users:\n", "safety:\n  max_create: 1000\nusers:\n"),
    );
    let run = t.run(&["plan"]);
    assert!(
        run.stdout
            .contains("of the 20 accounts recorded (max_create_percent, the default)"),
        "{}",
        run.stdout
    );
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&refs))
            .replace("users:\n", "safety:\n  max_create: 5\nusers:\n"),
    );
    let run = t.run(&["plan"]);
    assert!(
        run.stdout
            .contains("10 creates > max_create 5 (from safety: in roster.yaml)"),
        "{}",
        run.stdout
    );
    t.write("roster.yaml", &acton_yaml(&server.url, &users(&refs)));

    // A flag raises it; so does --force.
    t.run(&["apply", "--yes", "--max-create-percent", "60"])
        .code(0);
    assert_eq!(created(&server).len(), 30);

    // A count limit in the YAML, and --force.
    let yaml = acton_yaml(
        &server.url,
        &users(&["x@example.com", "y@example.com", "z@example.com"]),
    )
    .replace("users:\n", "safety:\n  max_create: 2\nusers:\n");
    let t2 = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t2.write("roster.yaml", &yaml);
    let run = t2.run(&["apply", "--yes"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("refusing to apply: 3 creates > max_create 2 (from safety: in roster.yaml)"),
        "{}",
        run.stderr
    );
    t2.run(&["apply", "--yes", "--force"]).code(0);
    assert_eq!(created(&server).len(), 33);
}

#[test]
fn filters_narrow_apply() {
    let server = Server::start(Config::default());
    let t = setup(
        &server,
        &["a@example.com", "b@example.com", "c@example.com"],
    );
    t.run(&[
        "apply",
        "--yes",
        "--user",
        "b@example.com",
        "--user",
        "C@example.com",
    ])
    .code(0);
    assert_eq!(created(&server), ["b@example.com", "c@example.com"]);
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 1);
    t.run(&["apply", "--yes", "--vendor", "acton"]).code(0);
    assert_eq!(created(&server).len(), 3);
}

#[test]
fn import_adopts_what_the_vendor_has_and_creates_nothing() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    for (email, id) in [("a@example.com", "scim-a"), ("b@example.com", "scim-b")] {
        server
            .mock
            .seed("scim", email, json!({"id": id, "userName": email}));
    }
    let t = Test::new()
        .env("SCIM_TOKEN", &c.scim_token)
        .env("ACTON_TOKEN", &c.acton_token);
    let mut y = format!(
        "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n  acton:\n    kind: acton\n    base_url: {}/acton\n    token: ${{ACTON_TOKEN}}\nusers:\n",
        server.url, server.url
    );
    for e in ["a@example.com", "b@example.com", "c@example.com"] {
        y.push_str(&format!("  - email: {e}\n    first_name: F\n    last_name: L\n    password: generate\n    accounts:\n      app: {{}}\n      acton: {{ user_type: Sales }}\n"));
    }
    t.write("roster.yaml", &y);
    let run = t.run(&["import", "--vendor", "app"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("Import: 2 adopted, 1 not at the vendor, 0 failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("absent      app  c@example.com"),
        "{}",
        run.stdout
    );
    let state = t.state();
    assert_eq!(
        state["vendors"]["app"]["a@example.com"]["status"],
        "adopted"
    );
    assert_eq!(
        state["vendors"]["app"]["a@example.com"]["remote_id"],
        "scim-a"
    );
    assert!(state["vendors"]["app"].get("c@example.com").is_none());
    assert!(
        server.mock.data().creations.is_empty(),
        "import creates nothing"
    );
    assert!(server.mock.requests("/").iter().all(|r| r.method == "GET"));
    let plan = t
        .run(&["plan", "--format", "json", "--vendor", "app"])
        .code(0)
        .json();
    assert_eq!(
        plan["summary"],
        json!({"create": 1, "verify": 0, "unchanged": 2, "drift": 0, "orphan": 0})
    );

    // Act-On has no API to list users: nothing to import, said clearly.
    let run = t.run(&["import", "--vendor", "acton"]);
    run.code(1);
    assert!(
        run.stderr.contains("has no API to list its users"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_schema_file_is_what_roster_schema_prints() {
    let t = Test::new();
    let run = t.run(&["schema"]);
    run.code(0);
    let root = env!("CARGO_MANIFEST_DIR");
    let checked_in =
        std::fs::read_to_string(format!("{root}/examples/roster.schema.json")).unwrap();
    assert_eq!(
        run.stdout, checked_in,
        "examples/roster.schema.json is stale: run `cargo run -- schema > examples/roster.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let kinds = &schema["$defs"]["Kind"]["enum"];
    assert_eq!(
        kinds,
        &json!(["acton", "activeplatform", "docusign", "formsonfire", "scim"])
    );
    assert_eq!(
        schema["$defs"]["ActonAccount"]["additionalProperties"],
        false
    );
    let example = std::fs::read_to_string(format!("{root}/examples/roster.yaml")).unwrap();
    assert!(example.starts_with("# yaml-language-server: $schema=./roster.schema.json\n"));
}

#[test]
fn completions_are_generated_for_common_shells() {
    let t = Test::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = t.run(&["completions", shell]);
        run.code(0);
        assert!(
            run.stdout.contains("roster") && run.stdout.contains("apply"),
            "{shell}"
        );
    }
    t.run(&["completions", "tcsh"]).code(1);
}

#[test]
fn markdown_plans_stay_under_the_comment_limit() {
    let emails: Vec<String> = (0..3000)
        .map(|i| format!("someone.with.a.long.name{i:05}@example.com"))
        .collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml("http://127.0.0.1:9", &users(&refs)),
    );
    let run = t.run(&["plan", "--format", "markdown"]);
    run.code(0);
    assert!(
        run.stdout.chars().count() <= 60_000,
        "{} characters",
        run.stdout.chars().count()
    );
    assert!(run
        .stdout
        .starts_with("### roster plan\n\n| action | users |"));
    assert!(run.stdout.contains("| create | 3000 |"));
    assert!(
        run.stdout
            .contains("more not shown: the comment would pass 60000 characters"),
        "{}",
        &run.stdout[run.stdout.len() - 300..]
    );
    assert!(run.stdout.ends_with("</details>\n"));
}

#[test]
fn logs_can_be_json_and_quiet_is_quiet() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml("http://127.0.0.1:9", &users(&["a@example.com"])),
    );
    let run = t.run(&["--log-format", "json", "validate"]);
    run.code(0);
    let line = run
        .stderr
        .lines()
        .next()
        .expect("a warning about ACTON_TOKEN");
    let log: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(log["level"], "WARN");
    assert!(log["fields"]["message"]
        .as_str()
        .unwrap()
        .contains("ACTON_TOKEN"));
    let run = t.run(&["-q", "validate"]);
    run.code(0);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn without_a_terminal_progress_is_a_line_every_few_seconds() {
    let server = Server::start(Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    let mut y = format!(
        "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1/s\nusers:\n",
        server.url
    );
    for i in 0..7 {
        y.push_str(&format!("  - email: p{i}@example.com\n    first_name: F\n    last_name: L\n    accounts:\n      app: {{}}\n"));
    }
    t.write("roster.yaml", &y);
    // Seven requests at one a second take six seconds: at least one line.
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("apply: "))
        .unwrap_or_else(|| panic!("no progress line: {}", run.stderr));
    assert!(
        line.contains("/7 accounts (") && line.contains("0 failed"),
        "{line}"
    );
}
