//! Exit codes a pipeline branches on, and Terraform's habits with the state and
//! saved plans: `state list`, `state rm`, `state mv`, `state merge`, `show`.

use crate::support::{acton_user, acton_yaml, Config, Server, Test};
use serde_json::json;

use crate::support::acton_users as users;

fn setup(server: &Server, emails: &[&str]) -> Test {
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write("roster.yaml", &acton_yaml(&server.url, &users(emails)));
    t
}

#[test]
fn a_usage_error_exits_1_never_2() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml("http://127.0.0.1:9", &users(&["a@example.com"])),
    );
    // 2 would turn a pull request check green with an empty plan.
    for args in [
        &["plan", "--detailed-exitcode", "--fromat", "markdown"][..],
        &["plan", "--format", "yaml"],
        &["apply", "--yes", "--max-create", "many"],
        &["bogus"],
        &[],
    ] {
        let run = t.run(args);
        run.code(1);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert!(!run.stderr.is_empty(), "{args:?}: no message");
    }
    t.run(&["--help"]).code(0);
    t.run(&["plan", "--help"]).code(0);
    let run = t.run(&["--version"]);
    run.code(0);
    assert!(run.stdout.starts_with("roster "), "{}", run.stdout);
}

#[test]
fn detailed_exitcode_is_2_only_when_apply_has_work() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com", "b@example.com"]);
    t.run(&["plan", "--detailed-exitcode"]).code(2);
    t.run(&["apply", "--yes"]).code(0);
    // Drift (b@'s privileges changed) and an orphan (a@ removed): reported,
    // but apply has nothing to do.
    let drifted = acton_user("b@example.com", ", contact_lists: { download: true }");
    t.write("roster.yaml", &acton_yaml(&server.url, &drifted));
    let run = t.run(&["plan", "--detailed-exitcode"]);
    run.code(0);
    assert!(
        run.stdout.contains("1 drifted, 1 orphaned"),
        "{}",
        run.stdout
    );
    let plan = t
        .run(&["plan", "--detailed-exitcode", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(plan["summary"]["drift"], 1);
    assert_eq!(plan["summary"]["orphan"], 1);
    // A pending pair (an apply that never heard back) is work: verify.
    let mut state = t.state();
    state["vendors"]["acton"]["b@example.com"]["status"] = json!("pending");
    t.write(
        "state/roster.state.json",
        &serde_json::to_string_pretty(&state).unwrap(),
    );
    t.run(&["plan", "--detailed-exitcode"]).code(2);
}

#[test]
fn state_list_shows_the_pairs_as_text_or_json() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["b@example.com", "a@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    let run = t.run(&["state", "list"]);
    run.code(0);
    assert_eq!(
        run.stdout,
        "acton  a@example.com  created\nacton  b@example.com  created\n"
    );
    let list = t
        .run(&["state", "list", "--vendor", "acton", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(list["format_version"], 1);
    assert_eq!(list["serial"], t.state()["serial"]);
    let records = list["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["vendor"], "acton");
    assert_eq!(records[0]["email"], "a@example.com");
    assert_eq!(records[0]["status"], "created");
    assert!(records[0]["remote_id"].is_string());
    let run = t.run(&["state", "list", "--vendor", "actn"]);
    run.code(1);
    assert!(run.stderr.contains("--vendor actn"), "{}", run.stderr);
    // No state yet: nothing listed.
    let empty = Test::new();
    let run = empty.run(&["state", "list", "--format", "json"]);
    assert_eq!(run.code(0).json()["records"], json!([]));
}

#[test]
fn state_rm_forgets_accounts_without_touching_the_vendor() {
    let server = Server::start(Config::default());
    let t = setup(
        &server,
        &["a@example.com", "b@example.com", "c@example.com"],
    );
    t.run(&["apply", "--yes"]).code(0);
    let before = t.read("state/roster.state.json");
    let sent = server.mock.requests("/").len();

    // Any email it does not know: nothing is removed.
    let run = t.run(&["state", "rm", "acton", "a@example.com", "x@example.com"]);
    run.code(1);
    assert!(run.stderr.contains("x@example.com"), "{}", run.stderr);
    assert_eq!(t.read("state/roster.state.json"), before);
    t.run(&["state", "rm", "nope", "a@example.com"]).code(1);

    let run = t.run(&["state", "rm", "acton", "A@example.com", "b@example.com"]);
    run.code(0);
    assert!(run.stdout.contains("Removed 2 record(s)"), "{}", run.stdout);
    let state = t.state();
    let left: Vec<&String> = state["vendors"]["acton"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(left, ["c@example.com"]);
    assert_eq!(
        server.mock.requests("/").len(),
        sent,
        "the vendor heard nothing"
    );
    assert_eq!(server.mock.users("acton").len(), 3);
    // Still desired, so the plan would create them again.
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 2);
    t.run(&["state", "rm", "acton"]).code(1);
}

#[test]
fn state_mv_renames_a_vendor_without_recreating_its_accounts() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com", "b@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    // The vendor is renamed in roster.yaml: without mv, the plan would create
    // both again under the new name and orphan the old records.
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com", "b@example.com"]))
            .replace("  acton:\n    kind", "  marketing:\n    kind")
            .replace(
                "    acton:\n      user_type",
                "    marketing:\n      user_type",
            )
            .replace("      acton: {", "      marketing: {"),
    );
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["create"], 2);
    assert_eq!(plan["summary"]["orphan"], 2);

    let run = t.run(&["state", "mv", "--vendor", "acton", "marketing"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("Moved 2 record(s) from vendor acton to marketing"),
        "{}",
        run.stdout
    );
    let sent = server.mock.requests("/").len();
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    let run = t.run(&["apply", "--yes"]);
    run.code(0);
    assert!(run.stdout.contains("Nothing to apply"), "{}", run.stdout);
    assert_eq!(server.mock.requests("/").len(), sent);
    // Refused: an unknown name, or a name that already holds records.
    t.run(&["state", "mv", "--vendor", "acton", "other"])
        .code(1);
    t.run(&["state", "rm", "marketing", "a@example.com"])
        .code(0);
    let run = t.run(&["state", "mv", "--vendor", "marketing", "marketing"]);
    run.code(1);
}

#[test]
fn state_merge_takes_records_of_a_copy_and_refuses_another_state() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    std::fs::copy(t.path("state/roster.state.json"), t.path("base.json")).unwrap();
    // A copy records b@; this state moves on with c@.
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com", "b@example.com"])),
    );
    t.run(&["apply", "--yes"]).code(0);
    std::fs::copy(t.path("state/roster.state.json"), t.path("copy.json")).unwrap();
    std::fs::copy(t.path("base.json"), t.path("state/roster.state.json")).unwrap();
    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com", "c@example.com"])),
    );
    t.run(&["apply", "--yes"]).code(0);
    let run = t.run(&["state", "merge", "copy.json", "--base", "base.json"]);
    run.code(0);
    assert!(run.stdout.contains("1 record(s) taken"), "{}", run.stdout);
    let state = t.state();
    let all: Vec<&String> = state["vendors"]["acton"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(all, ["a@example.com", "b@example.com", "c@example.com"]);

    let other = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    other.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["z@example.com"])),
    );
    other.run(&["apply", "--yes"]).code(0);
    let before = t.read("state/roster.state.json");
    let run = t.run(&[
        "state",
        "merge",
        other.path("state/roster.state.json").to_str().unwrap(),
    ]);
    run.code(1);
    assert!(
        run.stderr.contains("not copies of one another"),
        "{}",
        run.stderr
    );
    assert_eq!(t.read("state/roster.state.json"), before);
    t.run(&["state", "merge", "missing.json"]).code(1);
}

#[test]
fn show_renders_a_saved_plan_as_plan_showed_it() {
    let server = Server::start(Config::default());
    let t = setup(&server, &["a@example.com", "b@example.com"]);
    t.run(&["apply", "--yes"]).code(0);
    let drifted = acton_user("b@example.com", ", contact_lists: { download: true }")
        + &acton_user("c@example.com", "");
    t.write("roster.yaml", &acton_yaml(&server.url, &drifted));
    for format in ["text", "json", "markdown"] {
        let planned = t.run(&["plan", "--format", format, "--out", "saved.plan"]);
        planned.code(0);
        let shown = t.run(&["show", "saved.plan", "--format", format]);
        shown.code(0);
        assert_eq!(shown.stdout, planned.stdout, "{format}");
    }
    let shown = t
        .run(&["show", "saved.plan", "--format", "markdown"])
        .code(0)
        .stdout
        .clone();
    assert!(
        shown.contains("**create** acton — c@example.com: user_type `Marketing`"),
        "{shown}"
    );
    assert!(shown.contains("```diff"), "{shown}");
    // Show needs nothing but the file, and refuses an edited one.
    let elsewhere = Test::new();
    elsewhere.write("p.plan", &t.read("saved.plan"));
    elsewhere.run(&["show", "p.plan"]).code(0);
    elsewhere.write(
        "p.plan",
        &t.read("saved.plan")
            .replace("c@example.com", "d@example.com"),
    );
    let run = elsewhere.run(&["show", "p.plan"]);
    run.code(1);
    assert!(
        run.stderr.contains("modified after it was saved"),
        "{}",
        run.stderr
    );
    elsewhere.run(&["show", "missing.plan"]).code(1);
}
