//! One empty read must not re-create everyone. A vendor whose list suddenly
//! lacks most of its recorded accounts (an outage answering `totalResults: 0`,
//! a wrong tenant) is taken for a bad read: `refresh`, `plan --refresh` and
//! `apply --refresh` keep that vendor's records and say so, the other vendors
//! proceed, `--force` does not get past it, and only `--accept-gone VENDOR`
//! records them gone; re-creating them is then judged against what the state
//! recorded before the refresh, so it needs `--force` too.

use crate::support::{Config, Server, Test};
use serde_json::Value;

const SCIM_USERS: usize = 40;
const AP_USERS: usize = 5;

/// 40 users at SCIM, the first 5 of them also at ActivePlatform.
fn roster(url: &str) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  scim:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\n  ap:\n    kind: activeplatform\n    base_url: {url}/activeplatform\n    api_token: ${{AP_TOKEN}}\n    rate_limit: 1000/s\nusers:\n"
    );
    for i in 0..SCIM_USERS {
        y.push_str(&format!(
            "  - email: u{i}@example.com\n    first_name: U\n    last_name: N{i}\n    password: generate\n    accounts:\n      scim: {{}}\n"
        ));
        if i < AP_USERS {
            y.push_str("      ap: {}\n");
        }
    }
    y
}

fn email(i: usize) -> String {
    format!("u{i}@example.com")
}

/// Requests that are not reads (creations), at any vendor.
fn writes(server: &Server) -> usize {
    server
        .mock
        .data()
        .requests
        .iter()
        .filter(|r| r.method != "GET")
        .count()
}

/// The status of every recorded SCIM account, and the ids.
fn scim_records(t: &Test) -> Vec<(String, String)> {
    let state = t.state();
    (0..SCIM_USERS)
        .map(|i| {
            let r = &state["vendors"]["scim"][email(i)];
            (
                r["status"].as_str().unwrap_or("-").to_string(),
                r["remote_id"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

const REFUSED: &str = "scim: listed 0 of 40 recorded accounts: refused as a probable bad read; if they really were deleted, run again with --accept-gone scim";

#[test]
fn an_empty_list_is_refused_as_a_bad_read_and_re_creates_no_one() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = Test::new()
        .env("SCIM_TOKEN", &c.scim_token)
        .env("AP_TOKEN", &c.activeplatform_token);
    t.write("roster.yaml", &roster(&server.url));
    t.run(&["apply", "--yes"]).code(0);
    t.backdate(3600);
    let recorded = scim_records(&t);
    assert!(recorded.iter().all(|(s, _)| s == "created"), "{recorded:?}");

    // The SCIM server answers its list empty; one ActivePlatform account
    // really was deleted.
    for i in 0..SCIM_USERS {
        server.mock.delete("scim", &email(i));
    }
    server.mock.delete("activeplatform", &email(0));
    let sent = writes(&server);

    // refresh: exit 1, SCIM's records untouched, ActivePlatform's recorded.
    let serial = t.state()["serial"].as_u64().unwrap();
    let run = t.run(&["refresh"]);
    run.code(1);
    assert!(run.stdout.contains(REFUSED), "{}", run.stdout);
    assert!(run.stderr.contains(REFUSED), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("40 gone = 100% > 20% (max_gone_percent, the default)"),
        "{}",
        run.stdout
    );
    assert_eq!(scim_records(&t), recorded, "SCIM's records are kept");
    let state = t.state();
    assert_eq!(state["vendors"]["ap"][email(0)]["status"], "gone");
    assert_eq!(state["vendors"]["ap"][email(1)]["status"], "created");
    assert_eq!(
        state["serial"].as_u64().unwrap(),
        serial + 1,
        "ap was saved"
    );

    // plan --refresh: the plan is shown with the warning, exit 1, not saved.
    let serial = t.state()["serial"].clone();
    for extra in [&[][..], &["--detailed-exitcode"], &["--out", "p.json"]] {
        let mut args = vec!["plan", "--refresh", "--format", "json"];
        args.extend_from_slice(extra);
        let run = t.run(&args);
        run.code(1);
        let plan = run.json();
        let warnings = plan["warnings"].to_string();
        assert!(warnings.contains(REFUSED), "{extra:?}: {plan}");
        assert_eq!(plan["summary"]["create"], 1, "only ap's: {plan}");
        assert_eq!(plan["summary"]["unchanged"], 44, "{plan}");
        assert!(run.stderr.contains(REFUSED), "{extra:?}: {}", run.stderr);
    }
    assert!(!t.exists("p.json"), "a refused plan is not saved");
    let text = t.run(&["plan", "--refresh"]);
    text.code(1);
    assert!(text.stdout.contains("1 to create"), "{}", text.stdout);
    assert!(text.stderr.contains(REFUSED), "{}", text.stderr);

    // apply --refresh: nothing sent, nothing recorded, with or without --force.
    for args in [
        &["apply", "--refresh", "--yes"][..],
        &["apply", "--refresh", "--yes", "--force"],
    ] {
        let run = t.run(args);
        run.code(1);
        assert!(
            run.stderr.contains("refusing to apply") && run.stderr.contains(REFUSED),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(writes(&server), sent, "{args:?}: no creation was sent");
        assert_eq!(t.state()["serial"], serial, "{args:?}: nothing recorded");
    }

    // A vendor that is not configured cannot be accepted.
    let run = t.run(&["refresh", "--accept-gone", "scimm"]);
    run.code(1);
    assert!(run.stderr.contains("--accept-gone scimm"), "{}", run.stderr);

    // Accepted by name: recorded gone in memory, and re-creating all 40 is
    // judged against the 44 recorded before the refresh (the 4 left after it
    // would be below min_existing and let everything through).
    let run = t.run(&["apply", "--refresh", "--yes", "--accept-gone", "scim"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("refusing to apply: 41 creates = 93.2% > 30% of the 44 accounts recorded"),
        "{}",
        run.stderr
    );
    assert_eq!(writes(&server), sent, "no creation was sent");
    assert_eq!(scim_records(&t), recorded);

    // A reviewed plan carries the acceptance; --force then re-creates them.
    let run = t.run(&[
        "plan",
        "--refresh",
        "--accept-gone",
        "scim",
        "--out",
        "p.json",
        "--format",
        "json",
    ]);
    run.code(0);
    let plan: Value = run.json();
    assert_eq!(plan["summary"]["create"], 41, "{plan}");
    assert_eq!(plan["safety"]["refuses"], true, "{plan}");
    t.run(&["apply", "p.json"]).code(1);
    assert_eq!(writes(&server), sent);
    t.run(&["apply", "p.json", "--force"]).code(0);
    assert_eq!(writes(&server), sent + 41);
    let now = scim_records(&t);
    for ((status, id), (_, old)) in now.iter().zip(&recorded) {
        assert_eq!(status, "created");
        assert_ne!(id, old);
    }
    t.run(&["plan", "--refresh", "--detailed-exitcode"]).code(0);
}

#[test]
fn max_gone_percent_is_a_setting_and_min_existing_applies() {
    let server = Server::start(Config::default());
    let c = server.mock.config.clone();
    let t = Test::new()
        .env("SCIM_TOKEN", &c.scim_token)
        .env("AP_TOKEN", &c.activeplatform_token);
    t.write("roster.yaml", &roster(&server.url));
    t.run(&["apply", "--yes"]).code(0);
    t.backdate(3600);
    // 12 of 40 SCIM accounts gone (30%): over the default 20%.
    for i in 0..12 {
        server.mock.delete("scim", &email(i));
    }
    // 1 of 5 ActivePlatform ones (20%): within the default share.
    server.mock.delete("activeplatform", &email(0));
    let run = t.run(&["plan", "--refresh"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("scim: listed 28 of 40 recorded accounts: refused as a probable bad read"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ap: listed"), "{}", run.stderr);

    let yaml = t
        .read("roster.yaml")
        .replace("users:\n", "safety:\n  max_gone_percent: 35\nusers:\n");
    t.write("roster.yaml", &yaml);
    let run = t.run(&["plan", "--refresh", "--format", "json"]);
    run.code(0);
    assert_eq!(run.json()["summary"]["create"], 13, "{}", run.stdout);

    // min_existing above the 45 records of the whole state: not judged at all.
    let yaml = t.read("roster.yaml").replace(
        "max_gone_percent: 35",
        "max_gone_percent: 5\n  min_existing: 46",
    );
    t.write("roster.yaml", &yaml);
    t.run(&["refresh"]).code(0);
    assert_eq!(t.state()["vendors"]["scim"][email(0)]["status"], "gone");

    let yaml = t
        .read("roster.yaml")
        .replace("max_gone_percent: 5", "max_gone_percent: .nan");
    t.write("roster.yaml", &yaml);
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(
        run.stderr.contains("NaN is not a percentage"),
        "{}",
        run.stderr
    );
}
