//! Output machines can read: with `--log-format json` every stderr line is one
//! JSON object, no ANSI codes unless stderr is a terminal, and `apply --format
//! json` prints its report as one JSON document.

use crate::support::{acton_yaml, Config, Server, Test};

use crate::support::acton_users as users;

/// Every stderr line parsed; panics on one that is not a JSON object.
fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\nall of stderr:\n{stderr}"));
            assert!(v.is_object(), "{line}");
            assert!(
                v["level"].is_string() && v["timestamp"].is_string(),
                "{line}"
            );
            assert!(v["fields"]["message"].is_string(), "{line}");
            v
        })
        .collect()
}

fn message(v: &serde_json::Value) -> &str {
    v["fields"]["message"].as_str().unwrap_or_default()
}

#[test]
fn json_logs_cover_progress_notices_warnings_and_errors() {
    let server = Server::start(Config::default());
    let t = Test::new().env("SCIM_TOKEN", &server.mock.config.scim_token);
    let mut y = format!(
        "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1/s\n  unused:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{UNSET_TOKEN}}\nusers:\n",
        server.url, server.url
    );
    for i in 0..7 {
        y.push_str(&format!("  - email: p{i}@example.com\n    first_name: F\n    last_name: L\n    accounts:\n      app: {{}}\n"));
    }
    t.write("roster.yaml", &y);
    // Seven requests at one a second: a progress line, a warning (UNSET_TOKEN),
    // the new-state notice.
    let run = t.run(&["--log-format", "json", "apply", "--yes", "--vendor", "app"]);
    run.code(0);
    let lines = json_lines(&run.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "WARN" && message(l).contains("UNSET_TOKEN")),
        "{}",
        run.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && message(l).starts_with("No state at")),
        "{}",
        run.stderr
    );
    let progress = lines
        .iter()
        .find(|l| l["fields"]["progress"] == "apply")
        .unwrap_or_else(|| panic!("no progress line: {}", run.stderr));
    assert_eq!(progress["fields"]["total"], 7);
    assert!(progress["fields"]["done"].as_u64().unwrap() >= 1);
    assert!(message(progress).contains("/7 accounts"));

    // An error, and a usage error met before the flags are parsed.
    for args in [
        &["--log-format", "json", "plan", "-f", "missing.yaml"][..],
        &["--log-format", "json", "plan", "--fromat", "json"],
        &["plan", "--log-format=json", "--state", "nope/s.json"],
    ] {
        let run = t.run(args);
        run.code(1);
        let lines = json_lines(&run.stderr);
        let last = lines.last().expect("an error line");
        assert_eq!(last["level"], "ERROR", "{}", run.stderr);
        assert!(!message(last).starts_with("error:"), "{}", message(last));
    }
    // Text logs stay text.
    let run = t.run(&["plan", "-f", "missing.yaml"]);
    run.code(1);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

#[test]
fn no_ansi_codes_when_stderr_is_not_a_terminal() {
    let t = Test::new();
    t.write(
        "roster.yaml",
        &acton_yaml("http://127.0.0.1:9", &users(&["a@example.com"])),
    );
    // Without NO_COLOR: only the missing terminal keeps the colour out.
    let out = assert_cmd::Command::cargo_bin("roster")
        .unwrap()
        .current_dir(t.dir.path())
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .args(["plan", "-v"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ACTON_TOKEN"),
        "a warning is there: {stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "ANSI in stderr: {stderr:?}");
    assert!(!stdout.contains('\u{1b}'), "ANSI in stdout: {stdout:?}");
}

#[test]
fn apply_prints_its_report_as_json() {
    let server = Server::start(Config::default());
    let t = Test::new().env("ACTON_TOKEN", &server.mock.config.acton_token);
    t.write(
        "roster.yaml",
        &acton_yaml(
            &server.url,
            &users(&["a@example.com", "b@example.com", "x@blocked.example"]),
        ),
    );
    let run = t.run(&["apply", "--yes", "--format", "json"]);
    run.code(3);
    let report = run.json();
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["outcome"], "applied");
    assert_eq!(report["ok"], false);
    assert_eq!(report["plan"]["create"], 3);
    assert_eq!(report["created"], 2);
    assert_eq!(report["adopted"], 0);
    assert_eq!(report["failed"][0]["vendor"], "acton");
    assert_eq!(report["failed"][0]["email"], "x@blocked.example");
    assert!(report["failed"][0]["message"]
        .as_str()
        .unwrap()
        .contains("INVALID_EMAIL_DOMAIN"));
    assert_eq!(report["unverified"], serde_json::json!([]));
    assert_eq!(report["state"]["path"], "state/roster.state.json");
    assert_eq!(report["state"]["serial"], t.state()["serial"]);

    t.write(
        "roster.yaml",
        &acton_yaml(&server.url, &users(&["a@example.com", "b@example.com"])),
    );
    let report = t
        .run(&["apply", "--yes", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(report["outcome"], "nothing to apply");
    assert_eq!(report["ok"], true);
    assert_eq!(report["created"], 0);
}
