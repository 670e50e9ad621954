//! The PostgreSQL state backend, at the real binary against a real server
//! (tests/mock/src/pg.rs) and the mock vendors.

use crate::support::pending_record as pending;
use crate::support::pg::{Pg, PASSWORD};
use crate::support::{pg_store, Config, Hold, Server, Test, Wait};
use roster::state::{Backend, Scope};
use std::time::Duration;

#[test]
fn the_test_cluster_starts_answers_and_restarts() {
    let pg = Pg::start();
    let rows = pg.sql("SELECT 1 + 1");
    assert_eq!(rows, vec![vec![Some("2".to_string())]]);
    if pg.owns_server() {
        pg.stop();
        pg.start_again();
        assert_eq!(
            pg.sql("SELECT 'back'"),
            vec![vec![Some("back".to_string())]]
        );
    }
}

/// Act-On and a SCIM app, `n` users in each.
fn yaml(url: &str, n: usize) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    token: ${{ACTON_TOKEN}}\n    batch_size: 3\n    rate_limit: 1000/s\n  app:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    rate_limit: 1000/s\n    verify_grace: 1s\nusers:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  - email: user{i:02}@example.com\n    first_name: U\n    last_name: N\n    password: generate\n    accounts:\n      acton: {{ user_type: Marketing }}\n      app: {{}}\n"
        ));
    }
    y
}

fn test(server: &Server) -> Test {
    let c = &server.mock.config;
    Test::new()
        .env("ACTON_TOKEN", &c.acton_token)
        .env("SCIM_TOKEN", &c.scim_token)
}

fn count(pg: &Pg, sql: &str) -> usize {
    pg.sql(sql)[0][0]
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{sql}: not a count"))
}

/// Every row of every roster table, as text.
fn dump(pg: &Pg) -> String {
    let mut text = String::new();
    for table in [
        "roster_records",
        "roster_history",
        "roster_workspaces",
        "roster_leases",
    ] {
        for row in pg.sql(&format!("SELECT t::text FROM {table} t")) {
            text.push_str(row[0].as_deref().unwrap_or(""));
            text.push('\n');
        }
    }
    text
}

#[test]
fn apply_records_one_row_per_account_and_a_history_and_a_second_plan_is_a_no_op() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server).env("GITHUB_SHA", "0123abcd");
    t.write("roster.yaml", &yaml(&server.url, 4));

    let run = t.run(&["apply", "--yes", "--state", pg.url()]);
    run.code(0);
    assert!(
        run.stdout.contains("Apply: 8 created, 0 adopted, 0 failed"),
        "{}",
        run.stdout
    );
    let shown = pg.url().replace(PASSWORD, "***");
    assert!(
        run.stdout
            .contains(&format!("State written to {shown} (workspace default)")),
        "{}",
        run.stdout
    );
    assert!(!t.exists("state"), "no state file is written");
    let list = t
        .run(&["state", "list", "--format", "json", "--state", pg.url()])
        .code(0)
        .json();
    assert_eq!(list["records"].as_array().unwrap().len(), 8, "{list}");
    assert_eq!(
        list["serial"], 2,
        "written when the apply began and when it ended"
    );

    // One row per (workspace, vendor, email), with the vendor's id.
    let rows = pg
        .sql("SELECT vendor, email, status, remote_id FROM roster_records ORDER BY vendor, email");
    assert_eq!(rows.len(), 8);
    let scim = server.mock.users("scim");
    for r in &rows {
        let (vendor, email) = (r[0].as_deref().unwrap(), r[1].as_deref().unwrap());
        assert_eq!(r[2].as_deref(), Some("created"), "{r:?}");
        let id = r[3].as_deref().unwrap();
        match vendor {
            "acton" => assert_eq!(id, email),
            _ => assert_eq!(Some(id), scim[email]["id"].as_str()),
        }
    }

    // The history: an intent and an outcome for every account, with the run,
    // the host, the input's hash and the commit.
    let history = pg.sql(
        "SELECT vendor, email, status, run_id, host, input, git_commit, command
         FROM roster_history ORDER BY id",
    );
    let statuses = |s: &str| {
        history
            .iter()
            .filter(|h| h[2].as_deref() == Some(s))
            .count()
    };
    assert_eq!(statuses("pending"), 8, "{history:?}");
    assert_eq!(statuses("created"), 8, "{history:?}");
    for h in &history {
        assert!(
            uuid::Uuid::parse_str(h[3].as_deref().unwrap()).is_ok(),
            "{h:?}"
        );
        assert!(!h[4].as_deref().unwrap().is_empty());
        assert!(h[5].as_deref().unwrap().starts_with("sha256:"), "{h:?}");
        assert_eq!(h[6].as_deref(), Some("0123abcd"));
        assert_eq!(h[7].as_deref(), Some("roster apply"));
    }
    assert_eq!(
        count(&pg, "SELECT count(DISTINCT run_id) FROM roster_history"),
        1
    );
    assert_eq!(
        count(&pg, "SELECT count(*) FROM roster_leases"),
        0,
        "leases are released"
    );

    // Nothing left to do, from the flag or from ROSTER_STATE.
    t.run(&["plan", "--detailed-exitcode", "--state", pg.url()])
        .code(0);
    let by_env = Test::new().env("ROSTER_STATE", pg.url());
    by_env.write("roster.yaml", &yaml(&server.url, 4));
    let plan = by_env.run(&["plan", "--format", "json"]).code(0).json();
    assert_eq!(plan["summary"]["unchanged"], 8, "{plan}");
    let again = t.run(&["apply", "--yes", "--state", pg.url()]);
    again.code(0);
    assert!(
        again.stdout.contains("Nothing to apply."),
        "{}",
        again.stdout
    );

    // Another workspace in the same database starts empty.
    let other = t.run(&[
        "plan",
        "--format",
        "json",
        "--state",
        pg.url(),
        "--workspace",
        "marketing",
    ]);
    assert_eq!(other.code(0).json()["summary"]["create"], 8);

    // No secret reached the database or the output: not the database password,
    // not a vendor token, not a generated password.
    let everything = dump(&pg);
    let c = &server.mock.config;
    let mut passwords = Vec::new();
    for r in server.mock.requests("/acton/") {
        if let Ok(serde_json::Value::Array(users)) = serde_json::from_str(&r.body) {
            passwords.extend(
                users
                    .iter()
                    .filter_map(|u| u["password"].as_str().map(str::to_string)),
            );
        }
    }
    assert_eq!(passwords.len(), 4, "the generated passwords were sent");
    let mut secrets = vec![PASSWORD, c.acton_token.as_str(), c.scim_token.as_str()];
    secrets.extend(passwords.iter().map(String::as_str));
    for secret in secrets {
        assert!(!everything.contains(secret), "{secret} is in the database");
        for out in [&run.stdout, &run.stderr, &other.stdout, &other.stderr] {
            assert!(!out.contains(secret), "{secret} was printed:\n{out}");
        }
    }
}

#[test]
fn a_bad_or_unreachable_database_is_a_clear_error_without_the_password() {
    let t = Test::new();
    t.write("roster.yaml", "version: 1\nusers: []\n");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://roster:{PASSWORD}@127.0.0.1:{port}/roster");
    let run = t.run(&["plan", "--state", &url]);
    run.code(1);
    assert!(
        run.stderr.contains(&format!(
            "cannot connect to postgres://roster:***@127.0.0.1:{port}/roster"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD));

    // A wrong password is refused by the server, and still not printed.
    let pg = Pg::start();
    if pg.owns_server() {
        let wrong = pg.url().replace(PASSWORD, "not-the-password-4411");
        let run = t.run(&["plan", "--state", &wrong]);
        run.code(1);
        assert!(
            run.stderr.contains("password authentication failed"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("not-the-password-4411"),
            "{}",
            run.stderr
        );
        // PGPASSWORD stands in for a URL without one.
        let bare = pg.url().replace(&format!(":{PASSWORD}"), "");
        let t2 = Test::new().env("PGPASSWORD", PASSWORD);
        t2.write("roster.yaml", "version: 1\nusers: []\n");
        t2.run(&["plan", "--state", &bare]).code(0);
    }
}

#[test]
fn leases_are_per_vendor_wait_when_asked_and_name_their_holder() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 3));

    // Another run holds Act-On.
    let holder = pg_store(pg.url(), "default", Duration::ZERO);
    let lease = holder
        .hold(&Scope::vendors(["acton"]), "roster apply")
        .unwrap();

    // An apply of the other vendor proceeds meanwhile.
    t.run(&["apply", "--yes", "--state", pg.url(), "--vendor", "app"])
        .code(0);
    assert_eq!(server.mock.users("scim").len(), 3);

    // One that needs Act-On fails at once, naming the holder, and sends nothing.
    let sent = server.mock.requests("/acton").len();
    let refused = t.run(&["apply", "--yes", "--state", pg.url()]);
    refused.code(1);
    assert!(
        refused
            .stderr
            .contains("vendor acton is leased by roster apply (pid")
            && refused.stderr.contains(holder.run_id())
            && refused.stderr.contains("since "),
        "{}",
        refused.stderr
    );
    assert_eq!(server.mock.requests("/acton").len(), sent);

    // With --lock-timeout it waits for the holder to finish, then proceeds.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        drop(lease);
        holder
    });
    let waited = t.run(&[
        "apply",
        "--yes",
        "--state",
        pg.url(),
        "--lock-timeout",
        "30s",
    ]);
    waited.code(0);
    assert!(waited.stderr.contains("waiting"), "{}", waited.stderr);
    assert_eq!(server.mock.users("acton").len(), 3);
    drop(release.join().unwrap());
}

#[test]
fn an_expired_lease_is_taken_over_and_the_old_holders_late_write_is_refused() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 2));

    let old = pg_store(pg.url(), "default", Duration::ZERO);
    let lease = old
        .hold(&Scope::vendors(["acton"]), "roster apply")
        .unwrap();
    let mut journal = old.journal().wait().unwrap();
    journal
        .append(&[pending("early@example.com")])
        .wait()
        .unwrap();

    // The holder stalls past its lease's expiry (a hung host, a paused VM).
    pg.sql("UPDATE roster_leases SET expires = now() - interval '1 second'");
    let run = t.run(&["apply", "--yes", "--state", pg.url()]);
    run.code(0);
    assert!(
        run.stderr
            .contains("taking over the expired lease of vendor acton"),
        "{}",
        run.stderr
    );

    // The old holder wakes up: its write is refused, not landed.
    let late = journal
        .append(&[pending("late@example.com")])
        .wait()
        .expect_err("a write after the lease was lost");
    assert!(format!("{late:#}").contains("lease was lost"), "{late:#}");
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_records WHERE email = 'late@example.com'"
        ),
        0
    );
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_history WHERE email = 'late@example.com'"
        ),
        0
    );
    // What it wrote while it held the lease stays.
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_records WHERE email = 'early@example.com'"
        ),
        1
    );
    drop(lease);
    assert_eq!(
        count(&pg, "SELECT count(*) FROM roster_leases"),
        0,
        "the old holder's release leaves the new holder's leases alone, and those are released"
    );
}

/// A fenced-out holder's late `save` changes nothing: not the serial, not a
/// record (neither the one it adds nor the one it removes), not the history.
/// The fence is checked on saves as on journal appends.
#[test]
fn a_fenced_out_holders_late_save_changes_nothing() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 2));

    let old = pg_store(pg.url(), "default", Duration::ZERO);
    let lease = old
        .hold(&Scope::vendors(["acton"]), "roster apply")
        .unwrap();
    old.journal()
        .wait()
        .unwrap()
        .append(&[pending("early@example.com")])
        .wait()
        .unwrap();
    let mut state = old.load().wait().unwrap();
    assert!(state.get("acton", "early@example.com").is_some());

    // The holder stalls past its lease's expiry; another apply takes over.
    pg.sql("UPDATE roster_leases SET expires = now() - interval '1 second'");
    t.run(&["apply", "--yes", "--state", pg.url()]).code(0);
    let tables = |pg: &Pg| {
        let mut text = String::new();
        for table in ["roster_records", "roster_history", "roster_workspaces"] {
            let mut rows: Vec<String> = pg
                .sql(&format!("SELECT t::text FROM {table} t"))
                .into_iter()
                .map(|r| r[0].clone().unwrap_or_default())
                .collect();
            rows.sort();
            text.push_str(&rows.join("\n"));
            text.push('\n');
        }
        text
    };
    let before = tables(&pg);
    let serial = count(&pg, "SELECT serial FROM roster_workspaces");
    assert!(serial > 0);

    // The old holder wakes up and saves: a record added, one removed.
    let (v, e, r) = pending("late@example.com");
    state.set(&v, &e, r);
    state
        .vendors
        .get_mut("acton")
        .unwrap()
        .remove("early@example.com");
    let late = old
        .save(&mut state)
        .wait()
        .expect_err("a save after the lease was lost");
    assert!(format!("{late:#}").contains("lease was lost"), "{late:#}");
    assert_eq!(count(&pg, "SELECT serial FROM roster_workspaces"), serial);
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_records WHERE email = 'early@example.com'"
        ),
        1
    );
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_history WHERE email = 'late@example.com'"
        ),
        0
    );
    assert_eq!(tables(&pg), before, "the late save wrote something");
    drop(lease);
}

/// Every desired user exists once at the mock and has a created or adopted row
/// with the vendor's id; nothing is pending.
fn assert_converged(pg: &Pg, server: &Server, n: usize, what: &str) {
    let data = server.mock.data();
    for kind in ["acton", "scim"] {
        let held = data.users.get(kind).map_or(0, |u| u.len());
        assert_eq!(held, n, "{what}: {kind} holds {held} users");
    }
    let twice: Vec<_> = data.creations.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: created more than once: {twice:?}"
    );
    assert_eq!(
        data.duplicates.get("scim"),
        None,
        "{what}: a SCIM creation was resent"
    );
    let scim = data.users.get("scim").cloned().unwrap_or_default();
    drop(data);
    let rows = pg.sql("SELECT vendor, email, status, remote_id FROM roster_records");
    assert_eq!(rows.len(), 2 * n, "{what}: {rows:?}");
    for r in &rows {
        let (vendor, email) = (r[0].as_deref().unwrap(), r[1].as_deref().unwrap());
        assert!(
            matches!(r[2].as_deref(), Some("created" | "adopted")),
            "{what}: {r:?}"
        );
        let id = r[3].as_deref().unwrap();
        match vendor {
            "acton" => assert_eq!(id, email, "{what}"),
            _ => assert_eq!(Some(id), scim[email]["id"].as_str(), "{what}"),
        }
    }
}

#[test]
fn killed_mid_apply_the_next_run_converges_with_nothing_lost_or_created_twice() {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let n = 10;
    let mut killed_mid_run = 0;
    let trials = 5;
    for trial in 0..trials {
        let pg = Pg::start();
        let server = Server::start(Config {
            latency: Duration::from_millis(40),
            ..Config::default()
        });
        let t = test(&server);
        // One request at a time: the run lasts long enough to be killed in.
        let yaml = yaml(&server.url, n).replace(
            "rate_limit: 1000/s",
            "rate_limit: 1000/s\n    concurrency: 1",
        );
        t.write("roster.yaml", &yaml);
        let mut child = t.spawn(&["apply", "--yes", "--force", "--state", pg.url()]);
        // Once the first creation reached the vendor (so its intent is
        // committed), however long startup takes on a busy machine, kill at a
        // random moment of the creations.
        let started = std::time::Instant::now();
        while child.try_wait().expect("try_wait").is_none()
            && started.elapsed() < Duration::from_secs(20)
            && server.mock.requests("/scim").is_empty()
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
        let finished = child.try_wait().expect("try_wait").is_some();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !finished {
            killed_mid_run += 1;
        }
        // The dead run's leases do not hold the next one up.
        let run = t.run(&["apply", "--yes", "--force", "--state", pg.url()]);
        run.code(0);
        assert_converged(&pg, &server, n, &format!("trial {trial}"));
        assert_eq!(count(&pg, "SELECT count(*) FROM roster_leases"), 0);
        t.run(&["plan", "--detailed-exitcode", "--state", pg.url()])
            .code(0);
        // Every outcome is in the history, after its intent.
        let outcomes = count(
            &pg,
            "SELECT count(*) FROM roster_history WHERE status IN ('created', 'adopted')",
        );
        assert!(outcomes >= 2 * n, "trial {trial}: {outcomes} outcomes");
    }
    assert!(
        killed_mid_run >= 3,
        "only {killed_mid_run} of {trials} kills landed mid-run"
    );
}

#[test]
fn a_server_restart_mid_apply_stops_it_cleanly_and_the_next_run_converges() {
    let pg = Pg::start();
    if !pg.owns_server() {
        return; // ROSTER_TEST_DATABASE_URL: not this test's server to restart
    }
    let server = Server::start(Config {
        latency: Duration::from_millis(100),
        ..Config::default()
    });
    let t = test(&server);
    let n = 20;
    // One request at a time: the apply takes seconds, and the restart lands in it.
    let yaml = yaml(&server.url, n).replace(
        "rate_limit: 1000/s",
        "rate_limit: 1000/s\n    concurrency: 1",
    );
    t.write("roster.yaml", &yaml);
    let child = t.spawn(&[
        "apply",
        "--yes",
        "--force",
        "--format",
        "json",
        "--state",
        pg.url(),
    ]);
    std::thread::sleep(Duration::from_millis(800));
    let recorded_before = count(&pg, "SELECT count(*) FROM roster_records");
    let done_before = count(
        &pg,
        "SELECT count(*) FROM roster_records WHERE status <> 'pending'",
    );
    pg.stop();
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("Apply stopped: recording failed"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{stdout}\n{stderr}"));
    assert_eq!(report["outcome"], "interrupted", "{report}");
    assert_eq!(report["ok"], false);
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD));
    assert!(
        recorded_before > 0 && done_before < 2 * n,
        "the restart landed mid-apply ({recorded_before} rows, {done_before} done)"
    );

    pg.start_again();
    let after = count(&pg, "SELECT count(*) FROM roster_records");
    assert!(after >= recorded_before, "nothing recorded is lost");
    t.run(&["apply", "--yes", "--force", "--state", pg.url()])
        .code(0);
    assert_converged(&pg, &server, n, "after the restart");
}

#[test]
fn history_shows_every_intent_and_outcome_narrowed_by_vendor_and_user() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server).env("CI_COMMIT_SHA", "feedbeef");
    t.write("roster.yaml", &yaml(&server.url, 2));
    t.run(&["apply", "--yes", "--state", pg.url()]).code(0);
    t.run(&[
        "state",
        "rm",
        "--state",
        pg.url(),
        "app",
        "USER01@example.com",
    ])
    .code(0);

    let all = t
        .run(&["history", "--state", pg.url(), "--format", "json"])
        .code(0)
        .json();
    assert_eq!(all["format_version"], 1);
    let entries = all["entries"].as_array().unwrap();
    // 4 intents, 4 outcomes, 1 removal.
    assert_eq!(entries.len(), 9, "{all:#}");
    let of = |vendor: &str, email: &str| -> Vec<&str> {
        entries
            .iter()
            .filter(|e| e["vendor"] == vendor && e["email"] == email)
            .map(|e| e["status"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        of("app", "user01@example.com"),
        ["pending", "created", "removed"]
    );
    assert_eq!(of("acton", "user00@example.com"), ["pending", "created"]);
    for e in entries {
        assert_eq!(e["git_commit"], "feedbeef", "{e}");
        assert!(e["recorded"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    assert_eq!(entries[8]["command"], "roster state rm");
    assert_eq!(entries[0]["command"], "roster apply");
    assert_ne!(entries[0]["run_id"], entries[8]["run_id"]);

    // Narrowed (the email in any case), and as text.
    let one = t.run(&[
        "history",
        "--state",
        pg.url(),
        "--vendor",
        "acton",
        "--user",
        "User00@Example.com",
    ]);
    one.code(0);
    let lines: Vec<&str> = one.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", one.stdout);
    assert!(
        lines[0].contains("acton  user00@example.com  pending"),
        "{}",
        one.stdout
    );
    assert!(
        lines[1].contains("acton  user00@example.com  created  id=user00@example.com")
            && lines[1].contains("by roster apply (run ")
            && lines[1].contains("commit=feedbeef"),
        "{}",
        one.stdout
    );

    // A state file keeps no history, and says so.
    let file = t.run(&["history"]);
    file.code(1);
    assert!(file.stderr.contains("keeps no history"), "{}", file.stderr);
}

#[test]
fn push_and_pull_copy_a_state_file_both_ways_byte_for_byte() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 3));
    t.run(&["apply", "--yes"]).code(0);
    let original = t.read("state/roster.state.json");

    let push = t.run(&["state", "push", "--to", pg.url()]);
    push.code(0);
    assert!(
        push.stdout.contains(
            "Copied 6 record(s) from state/roster.state.json to postgres://postgres:***@"
        ),
        "{}",
        push.stdout
    );
    assert!(!push.stdout.contains(PASSWORD) && !push.stderr.contains(PASSWORD));
    // The database plans exactly as the file did: nothing to do.
    t.run(&["plan", "--detailed-exitcode", "--state", pg.url()])
        .code(0);

    // Back into a new file: the same bytes.
    t.write("copy/.keep", "");
    t.run(&[
        "state",
        "pull",
        "--from",
        pg.url(),
        "--state",
        "copy/roster.state.json",
    ])
    .code(0);
    assert_eq!(t.read("copy/roster.state.json"), original);

    // Pushing again is harmless; pushing another state over it is refused, and
    // so is pulling an older copy over a newer file.
    t.run(&["state", "push", "--to", pg.url()]).code(0);
    let other = test(&server);
    other.write("roster.yaml", &yaml(&server.url, 1));
    other.run(&["apply", "--yes", "--force"]).code(0);
    let refused = other.run(&["state", "push", "--to", pg.url()]);
    refused.code(1);
    assert!(
        refused.stderr.contains("holds another state"),
        "{}",
        refused.stderr
    );
    t.run(&["state", "rm", "acton", "user00@example.com"])
        .code(0);
    let stale = t.run(&["state", "pull", "--from", pg.url()]);
    stale.code(1);
    assert!(stale.stderr.contains("newer copy"), "{}", stale.stderr);

    // A push lands in another workspace on request, and only there.
    other
        .run(&["state", "push", "--to", pg.url(), "--workspace", "sales"])
        .code(0);
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_records WHERE workspace = 'sales'"
        ),
        2
    );
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_records WHERE workspace = 'default'"
        ),
        6
    );
}

#[test]
fn runners_share_one_rate_budget_per_vendor_account() {
    let pg = Pg::start();
    let a = pg_store(pg.url(), "default", Duration::ZERO);
    let b = pg_store(pg.url(), "other", Duration::ZERO);
    // Two runners (in different workspaces, even) take turns at 20 requests a
    // second of one account: each reservation waits 50 ms more than the last,
    // whoever makes it.
    let mut waits = Vec::new();
    for i in 0..20 {
        let runner = if i % 2 == 0 { &a } else { &b };
        waits.push(
            runner
                .reserve("scim https://app.example.com", 1, 20.0)
                .wait()
                .unwrap(),
        );
    }
    assert_eq!(waits[0], Duration::ZERO);
    assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
    let last = waits[19].as_secs_f64();
    assert!((0.6..=0.95).contains(&last), "the 20th waits {last}s");
    // Another account has its own budget.
    assert_eq!(
        a.reserve("acton https://acton.example.com", 5, 20.0)
            .wait()
            .unwrap(),
        Duration::ZERO
    );
    assert!(
        a.reserve("acton https://acton.example.com", 1, 20.0)
            .wait()
            .unwrap()
            > Duration::from_millis(150)
    );
    assert!(a.reserve("x", 1, 0.0).wait().is_err());
}

#[test]
fn the_schema_is_migrated_forward_and_a_newer_one_is_refused() {
    let pg = Pg::start();
    pg_store(pg.url(), "default", Duration::ZERO);
    assert_eq!(
        pg.sql("SELECT version FROM roster_schema"),
        vec![vec![Some("4".into())]]
    );
    // A database left at version 1 gains what versions 2 to 4 add.
    pg.sql("DROP TABLE roster_budgets; ALTER TABLE roster_leases DROP COLUMN pidns; ALTER TABLE roster_leases DROP COLUMN boot; UPDATE roster_schema SET version = 1");
    pg_store(pg.url(), "default", Duration::ZERO);
    assert_eq!(
        pg.sql("SELECT version FROM roster_schema"),
        vec![vec![Some("4".into())]]
    );
    assert_eq!(count(&pg, "SELECT count(*) FROM roster_budgets"), 0);
    assert_eq!(count(&pg, "SELECT count(pidns) FROM roster_leases"), 0);
    assert_eq!(count(&pg, "SELECT count(boot) FROM roster_leases"), 0);
    // One migrated by a newer roster is refused, by name.
    pg.sql("UPDATE roster_schema SET version = 99");
    let t = Test::new();
    t.write("roster.yaml", "version: 1\nusers: []\n");
    let run = t.run(&["plan", "--state", pg.url()]);
    run.code(1);
    assert!(
        run.stderr
            .contains("the database schema is version 99, newer than this roster understands (4)"),
        "{}",
        run.stderr
    );
}

/// A slow mock, one request at a time, so that two applies overlap.
fn slow(server_latency_ms: u64) -> (Server, Test, usize) {
    let server = Server::start(Config {
        latency: Duration::from_millis(server_latency_ms),
        ..Config::default()
    });
    let t = test(&server);
    let n = 5;
    let yaml = yaml(&server.url, n).replace(
        "rate_limit: 1000/s",
        "rate_limit: 1000/s\n    concurrency: 1",
    );
    t.write("roster.yaml", &yaml);
    (server, t, n)
}

fn finish(child: std::process::Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_applies_on_different_vendors_run_at_the_same_time() {
    let pg = Pg::start();
    let (server, t, n) = slow(150);
    let a = t.spawn(&["apply", "--yes", "--state", pg.url(), "--vendor", "acton"]);
    let b = t.spawn(&["apply", "--yes", "--state", pg.url(), "--vendor", "app"]);
    for (code, stdout, stderr) in [finish(a), finish(b)] {
        assert_eq!(code, 0, "{stdout}\n{stderr}");
        assert!(!stderr.contains("leased by"), "{stderr}");
    }
    assert_converged(&pg, &server, n, "two vendors at once");
    // They overlapped: each run recorded something before the other's last row.
    let spans =
        pg.sql("SELECT run_id, min(id), max(id) FROM roster_history GROUP BY run_id ORDER BY 2");
    assert_eq!(spans.len(), 2, "{spans:?}");
    let id = |r: usize, c: usize| spans[r][c].as_deref().unwrap().parse::<i64>().unwrap();
    assert!(id(1, 1) < id(0, 2), "the runs did not overlap: {spans:?}");
    assert_eq!(
        count(&pg, "SELECT count(DISTINCT lineage) FROM roster_workspaces"),
        1
    );
}

#[test]
fn two_applies_on_the_same_vendor_take_turns() {
    let pg = Pg::start();
    let (server, t, n) = slow(100);
    let args = [
        "apply",
        "--yes",
        "--state",
        pg.url(),
        "--lock-timeout",
        "60s",
    ];
    let a = t.spawn(&args);
    let b = t.spawn(&args);
    let runs = [finish(a), finish(b)];
    for (code, stdout, stderr) in &runs {
        assert_eq!(*code, 0, "{stdout}\n{stderr}");
    }
    let waited: Vec<_> = runs.iter().filter(|r| r.2.contains("; waiting")).collect();
    assert_eq!(waited.len(), 1, "exactly one waited: {runs:?}");
    assert!(waited[0].1.contains("Nothing to apply."), "{}", waited[0].1);
    assert_converged(&pg, &server, n, "two applies of one vendor");
}

/// `state unlock` follows the file store's rule: a lease whose holder is alive
/// and renewing it is never removed (its holder would carry on, fenced off,
/// and fail saying another run took it over); a lease whose holder is gone is.
#[test]
fn state_unlock_never_removes_a_live_lease_and_removes_a_gone_holders() {
    let pg = Pg::start();
    let holder = pg_store(pg.url(), "default", Duration::ZERO);
    let lease = holder
        .hold(&Scope::vendors(["acton", "app"]), "roster apply")
        .unwrap();
    let mut journal = holder.journal().wait().unwrap();
    // Beside it, the expired lease of a run on another host.
    pg.sql(
        "INSERT INTO roster_leases (workspace, vendor, token, run_id, host, pid, command, expires)
         VALUES ('default', 'old', 1, 'gone-run', 'elsewhere', 4242, 'roster apply', now() - interval '1 second')",
    );
    let t = Test::new();
    let run = t.run(&["state", "unlock", "--state", pg.url()]);
    run.code(1);
    let me = format!("roster apply (pid {}", std::process::id());
    assert!(
        run.stderr.contains(&me)
            && run.stderr.contains(
                "on acton, app, which is running and renewing it: roster never breaks a live lock"
            )
            && run.stderr.contains("Wait for it, or stop that process"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "removed the lease of a holder that is gone: roster apply (pid 4242 on elsewhere, run gone-run) on old"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_leases WHERE vendor IN ('acton', 'app')"
        ),
        2
    );
    assert_eq!(count(&pg, "SELECT count(*) FROM roster_leases"), 2);
    journal
        .append(&[pending("x@example.com")])
        .wait()
        .expect("the live holder still writes");
    drop(lease);
    assert_eq!(count(&pg, "SELECT count(*) FROM roster_leases"), 0);

    // Unexpired, but its process is gone from this very machine, boot and
    // PID namespace: removed.
    let (host, ours, boot) = here();
    pg.sql(&format!(
        "INSERT INTO roster_leases (workspace, vendor, token, run_id, host, pid, command, expires, pidns, boot)
         VALUES ('default', 'acton', 2, 'dead-run', '{host}', 999999999, 'roster apply', now() + interval '1 hour', '{ours}', '{boot}')"
    ));
    let run = t.run(&["state", "unlock", "--state", pg.url()]);
    run.code(0);
    assert!(
        run.stdout
            .contains("Removed the lock held by roster apply (pid 999999999")
            && run.stdout.contains("run dead-run) on acton"),
        "{}",
        run.stdout
    );
    assert_eq!(count(&pg, "SELECT count(*) FROM roster_leases"), 0);
    let again = t.run(&["state", "unlock", "--state", pg.url()]);
    again.code(0);
    assert!(
        again.stdout.contains("(workspace default) is not locked."),
        "{}",
        again.stdout
    );
}

/// This process's host name, PID namespace and boot, as a lease row holds
/// them.
fn here() -> (String, String, String) {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let pidns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| format!("boot_id:{}", b.trim()))
        .unwrap_or_default();
    (host, pidns, boot)
}

/// A real apply, running: `state unlock` refuses, and the apply finishes.
#[test]
fn state_unlock_leaves_a_running_apply_alone() {
    let pg = Pg::start();
    let (server, t, n) = slow(150);
    pg_store(pg.url(), "default", Duration::ZERO);
    let child = t.spawn(&["apply", "--yes", "--state", pg.url()]);
    let started = std::time::Instant::now();
    while count(&pg, "SELECT count(*) FROM roster_leases") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no lease taken"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = t.run(&["state", "unlock", "--state", pg.url()]);
    run.code(1);
    assert!(
        run.stderr.contains("roster never breaks a live lock"),
        "{}",
        run.stderr
    );
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stderr.contains("lease was lost"), "{stderr}");
    assert_converged(&pg, &server, n, "unlock refused");
}

/// A budget statement that waits on a lock (another session holds the budget
/// table) held the only connection, so the lease renewal starved, the lease
/// expired, and both runs exited 3 saying it was taken over when nobody had.
/// The lease renews on its own connection.
#[test]
fn a_blocked_budget_statement_does_not_starve_the_lease_renewal() {
    let pg = Pg::start();
    let (server, t, n) = slow(0);
    let t = t.env("ROSTER_LEASE_TTL", "3s");
    pg_store(pg.url(), "default", Duration::ZERO);
    let runs = std::thread::scope(|scope| {
        // Another session holds the budget table for longer than a lease lives.
        let blocker = scope.spawn(|| {
            pg.sql(
                "BEGIN; LOCK TABLE roster_budgets IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(8); COMMIT;",
            )
        });
        let started = std::time::Instant::now();
        while count(
            &pg,
            "SELECT count(*) FROM pg_locks WHERE relation = 'roster_budgets'::regclass AND granted",
        ) == 0
        {
            assert!(started.elapsed() < Duration::from_secs(30), "no table lock");
            std::thread::sleep(Duration::from_millis(20));
        }
        let a = t.spawn(&["apply", "--yes", "--state", pg.url(), "--vendor", "acton"]);
        let b = t.spawn(&["apply", "--yes", "--state", pg.url(), "--vendor", "app"]);
        let runs = [finish(a), finish(b)];
        blocker.join().unwrap();
        runs
    });
    for (code, stdout, stderr) in &runs {
        assert_eq!(*code, 0, "{stdout}\n{stderr}");
        assert!(!stderr.contains("lease was lost"), "{stderr}");
        assert!(!stderr.contains("cannot renew"), "{stderr}");
    }
    assert_converged(&pg, &server, n, "a blocked budget");
}

/// What a run whose lease was lost says: who took it over, or that it expired
/// unrenewed and nobody took it.
#[test]
fn a_lost_lease_says_what_became_of_it() {
    let pg = Pg::start();
    let old = pg_store(pg.url(), "default", Duration::ZERO);
    let lease = old
        .hold(&Scope::vendors(["acton"]), "roster apply")
        .unwrap();
    let mut journal = old.journal().wait().unwrap();
    // Expired, nobody took it; another run's lease of another vendor is not
    // a take-over of this one.
    pg.sql("UPDATE roster_leases SET expires = now() - interval '1 second'");
    let neighbour = pg_store(pg.url(), "default", Duration::ZERO);
    let app = neighbour
        .hold(&Scope::vendors(["app"]), "roster import")
        .unwrap();
    let late = format!(
        "{:#}",
        journal
            .append(&[pending("a@example.com")])
            .wait()
            .unwrap_err()
    );
    drop(app);
    assert!(
        late.contains(
            "lease was lost: it expired, not renewed within 1m; no other run has taken it"
        ),
        "{late}"
    );
    // Taken over by another run.
    let other = pg_store(pg.url(), "default", Duration::ZERO);
    let _taken = other
        .hold(&Scope::vendors(["acton"]), "roster refresh")
        .unwrap();
    let late = format!(
        "{:#}",
        journal
            .append(&[pending("b@example.com")])
            .wait()
            .unwrap_err()
    );
    assert!(
        late.contains(&format!(
            "lease was lost: it expired and roster refresh (pid {}",
            std::process::id()
        )) && late.contains(&format!("run {}) took it over", other.run_id())),
        "{late}"
    );
    drop(lease);
}

#[test]
fn refresh_records_what_the_vendor_lost_and_apply_creates_it_again() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 2));
    t.run(&["apply", "--yes", "--state", pg.url()]).code(0);
    server
        .mock
        .data()
        .users
        .get_mut("scim")
        .unwrap()
        .remove("user01@example.com");
    // Past the vendor's grace (1s), an account it does not list is gone.
    std::thread::sleep(Duration::from_millis(2100));

    let run = t.run(&["refresh", "--state", pg.url()]);
    run.code(0);
    let status = pg.sql(
        "SELECT status FROM roster_records WHERE vendor = 'app' AND email = 'user01@example.com'",
    );
    assert_eq!(
        status,
        vec![vec![Some("gone".to_string())]],
        "{}",
        run.stdout
    );
    assert_eq!(
        count(
            &pg,
            "SELECT count(*) FROM roster_history WHERE status = 'gone' AND command = 'roster refresh'"
        ),
        1
    );
    let plan = t
        .run(&["plan", "--format", "json", "--state", pg.url()])
        .code(0)
        .json();
    assert_eq!(plan["summary"]["create"], 1, "{plan}");
    t.run(&["apply", "--yes", "--state", pg.url()]).code(0);
    let id = server.mock.users("scim")["user01@example.com"]["id"].clone();
    assert_eq!(
        pg.sql("SELECT status, remote_id FROM roster_records WHERE vendor = 'app' AND email = 'user01@example.com'"),
        vec![vec![Some("created".to_string()), id.as_str().map(str::to_string)]]
    );
}

#[test]
fn tls_is_verified_against_pgsslrootcert_or_the_web_pki() {
    let pg = Pg::start_tls();
    let t = Test::new();
    t.write("roster.yaml", "version: 1\nusers: []\n");
    let url = format!("{}?sslmode=require", pg.url());
    // The server's own CA, as for a managed server: TLS, verified.
    let ok = Test::new().env("PGSSLROOTCERT", crate::support::path_str(&pg.cert()));
    ok.write("roster.yaml", "version: 1\nusers: []\n");
    ok.run(&["plan", "--state", &url]).code(0);
    let log = pg.log();
    assert!(
        log.lines()
            .any(|l| l.contains("application_name=roster SSL enabled")),
        "roster's connection was not TLS:\n{log}"
    );
    // Without it, a certificate of an unknown CA is refused.
    let refused = t.run(&["plan", "--state", &url]);
    refused.code(1);
    assert!(
        refused.stderr.contains("cannot connect") && refused.stderr.contains("certificate"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains(PASSWORD));
    // A file that holds no certificate is named.
    t.write("empty.pem", "");
    let bad = Test::new().env(
        "PGSSLROOTCERT",
        crate::support::path_str(&t.path("empty.pem")),
    );
    bad.write("roster.yaml", "version: 1\nusers: []\n");
    let run = bad.run(&["plan", "--state", &url]);
    run.code(1);
    assert!(run.stderr.contains("PGSSLROOTCERT="), "{}", run.stderr);
}

/// Two applies at once, in different workspaces (so no lease orders them),
/// each creating 20 users of the same SCIM account (`rate_limit: 5/s`,
/// concurrency 4), with `state` naming each one's state; returns the shortest
/// time the mock saw 11 consecutive requests of both together take.
fn two_runners_against_one_account(state: impl Fn(&Test, usize) -> String) -> Duration {
    let server = Server::start(Config::default());
    let runners: Vec<(Test, String)> = (0..2)
        .map(|r| {
            let t = test(&server);
            let mut y = format!(
                "version: 1\nvendors:\n  app:\n    kind: scim\n    base_url: {}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    concurrency: 4\n    rate_limit: 5/s\nusers:\n",
                server.url
            );
            for i in 0..20 {
                y.push_str(&format!(
                    "  - email: r{r}u{i:02}@example.com\n    first_name: U\n    last_name: N\n    accounts:\n      app: {{}}\n"
                ));
            }
            t.write("roster.yaml", &y);
            let s = state(&t, r);
            (t, s)
        })
        .collect();
    let children: Vec<_> = runners
        .iter()
        .enumerate()
        .map(|(r, (t, s))| {
            let workspace = format!("runner{r}");
            t.spawn(&["apply", "--yes", "--state", s, "--workspace", &workspace])
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait for roster");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(server.mock.users("scim").len(), 40);
    let mut at: Vec<_> = server
        .mock
        .requests("/scim")
        .iter()
        .map(|r| r.at.expect("request time"))
        .collect();
    at.sort();
    assert!(at.len() >= 40, "{} requests", at.len());
    at.windows(11)
        .map(|w| w[10] - w[0])
        .min()
        .expect("requests")
}

#[test]
fn runners_sharing_a_database_share_each_vendor_accounts_rate_limit() {
    let pg = Pg::start();
    // 11 requests at 5/s take 2 s; at 10/s, 1 s.
    let shared = two_runners_against_one_account(|_, _| pg.url().to_string());
    assert!(
        shared >= Duration::from_millis(1500),
        "11 requests in {shared:?}: over 5/s together"
    );
    let budgets = pg.sql("SELECT account FROM roster_budgets");
    assert_eq!(budgets.len(), 1, "{budgets:?}");
    let account = budgets[0][0].as_deref().unwrap_or("");
    // The kind and a hash: no URL, no credential.
    assert!(account.starts_with("scim "), "{account}");
    assert!(!account.contains("127.0.0.1"), "{account}");
    let server_token = Config::default().scim_token;
    assert!(!account.contains(&server_token), "{account}");

    // Each runner with a state file of its own paces itself alone.
    let alone = two_runners_against_one_account(|t, _| {
        t.path("roster.state.json").to_string_lossy().into_owned()
    });
    assert!(
        alone < Duration::from_millis(1500),
        "11 requests in {alone:?}: the runners were not both at 5/s"
    );
}

#[test]
fn an_unreachable_rate_budget_leaves_the_run_pacing_itself() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 3));
    // The budgets' table is gone (as if the database refused it): the apply
    // warns once per vendor and completes under its own limiter.
    pg_store(pg.url(), "default", Duration::ZERO);
    pg.sql("DROP TABLE roster_budgets");
    let run = t.run(&["apply", "--yes", "--state", pg.url()]);
    run.code(0);
    assert!(
        run.stdout.contains("Apply: 6 created, 0 adopted, 0 failed"),
        "{}",
        run.stdout
    );
    let warned = run
        .stderr
        .matches("the rate budget shared with other runners failed")
        .count();
    assert_eq!(warned, 2, "{}", run.stderr);
    assert!(!run.stderr.contains(PASSWORD), "{}", run.stderr);
}

/// A lease held from another PID namespace of this host (a container sharing
/// its name) names a pid this process cannot see: it is not taken for gone,
/// and the second apply is refused while the lease lasts; so is one of
/// another boot (another machine of the same name), and one whose row names
/// no boot. From this very boot and namespace, a vanished pid is taken over
/// at once.
#[test]
fn a_lease_from_another_pid_namespace_is_not_taken_for_gone() {
    let pg = Pg::start();
    let server = Server::start(Config::default());
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 2));
    pg_store(pg.url(), "default", Duration::ZERO);
    let (host, ours, boot) = here();
    let other_boot = "'boot_id:00000000-0000-0000-0000-000000000000'";
    let boot = format!("'{boot}'");
    for (pidns, boot, refused) in [
        ("pid:[1]", boot.as_str(), true),
        (ours.as_str(), other_boot, true),
        (ours.as_str(), "NULL", true),
        (ours.as_str(), boot.as_str(), false),
    ] {
        pg.sql("DELETE FROM roster_leases");
        pg.sql(&format!(
            "INSERT INTO roster_leases (workspace, vendor, token, run_id, host, pid, command, expires, pidns, boot)
             VALUES ('default', 'acton', 1, 'other-run', '{host}', 999999999, 'roster apply', now() + interval '1 hour', '{pidns}', {boot})"
        ));
        let run = t.run(&["apply", "--yes", "--state", pg.url(), "--vendor", "acton"]);
        if refused {
            run.code(1);
            assert!(
                run.stderr.contains("leased by roster apply (pid 999999999"),
                "{}",
                run.stderr
            );
            assert!(server.mock.data().creations.is_empty());
        } else {
            run.code(0);
            assert_eq!(server.mock.users("acton").len(), 2);
        }
    }
}
