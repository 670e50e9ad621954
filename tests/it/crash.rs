//! Crash safety and fault tolerance: apply is SIGKILLed at random moments, and
//! the mock misbehaves in every way a network can; after re-runs every user exists
//! exactly once at the vendor and in the state, with the vendor's id.

use crate::support::mock::Fault;
use crate::support::{Config, Server, Test};
use rand::Rng;
use std::process::Command;
use std::time::Duration;

/// Act-On (batched, no lookup: verified by re-creating and adopting "exists") and
/// SCIM (one per call, verified by lookup). Applies pass --force: a re-run after a
/// kill may create more than the safety threshold allows, which is not under test.
fn yaml(url: &str, n: usize, timeout: &str) -> String {
    let mut y = format!(
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: {url}/acton\n    token: ${{ACTON_TOKEN}}\n    batch_size: 3\n    concurrency: 2\n    rate_limit: 1000/s\n    timeout: {timeout}\n  app:\n    kind: scim\n    base_url: {url}/scim/v2\n    token: ${{SCIM_TOKEN}}\n    concurrency: 3\n    rate_limit: 1000/s\n    timeout: {timeout}\n    verify_grace: 1s\nusers:\n"
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

/// Every desired user exists once at the mock and is recorded with the mock's id.
fn assert_converged(server: &Server, t: &Test, n: usize, what: &str) {
    let data = server.mock.data();
    for (kind, _) in [("acton", ()), ("scim", ())] {
        let users = data.users.get(kind).cloned().unwrap_or_default();
        assert_eq!(users.len(), n, "{what}: {kind} holds {} users", users.len());
    }
    let twice: Vec<_> = data.creations.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: created more than once: {twice:?}"
    );
    // SCIM verifies by lookup: roster never sent a creation for a user it had
    // already created (Act-On has no lookup and adopts the "exists" answer).
    assert_eq!(
        data.duplicates.get("scim"),
        None,
        "{what}: a SCIM creation was resent after it took effect"
    );

    let state = t.state();
    for i in 0..n {
        let email = format!("user{i:02}@example.com");
        let acton = &state["vendors"]["acton"][&email];
        assert!(
            matches!(acton["status"].as_str(), Some("created" | "adopted")),
            "{what}: {email} acton {acton}"
        );
        assert_eq!(acton["remote_id"], email.as_str());
        let app = &state["vendors"]["app"][&email];
        assert!(
            matches!(app["status"].as_str(), Some("created" | "adopted")),
            "{what}: {email} scim {app}"
        );
        assert_eq!(
            app["remote_id"], data.users["scim"][&email]["id"],
            "{what}: {email} has the vendor's id"
        );
    }
}

/// SIGKILLs `roster apply` after a random delay, `trials` times, each followed
/// by one complete re-run. `ROSTER_CRASH_TRIALS` raises the count.
#[test]
fn killed_at_random_moments_nothing_is_lost_or_created_twice() {
    let trials: usize = std::env::var("ROSTER_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let n = 12;
    let mut rng = rand::thread_rng();
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let server = Server::start(Config {
            latency: Duration::from_millis(15),
            ..Config::default()
        });
        let t = test(&server);
        t.write("roster.yaml", &yaml(&server.url, n, "10s"));
        let mut child = t.spawn(&["apply", "--yes", "--force"]);
        // The kill lands at a random moment of the run itself, not of the
        // process's start (which a loaded machine stretches past any fixed
        // delay): from the journal's first line on.
        let started = std::time::Instant::now();
        while !t.exists("state/roster.state.json.journal")
            && child.try_wait().expect("try_wait").is_none()
            && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..150)));
        let finished = child.try_wait().expect("try_wait").is_some();
        let _ = child.kill(); // SIGKILL: no chance to clean up
        let _ = child.wait();
        if !finished && t.exists("state/roster.state.json.journal") {
            killed_mid_run += 1;
        }

        let run = t.run(&["apply", "--yes", "--force"]);
        run.code(0);
        assert_converged(&server, &t, n, &format!("trial {trial}"));
        assert_eq!(t.lock_holder(), None, "the lock is released");
        assert!(
            !t.exists("state/roster.state.json.journal"),
            "the journal is folded in"
        );
        t.run(&["plan", "--detailed-exitcode"]).code(0);
    }
    eprintln!("{killed_mid_run} of {trials} kills landed mid-run");
    assert!(
        killed_mid_run >= trials / 4,
        "only {killed_mid_run} of {trials} kills landed mid-run"
    );
}

#[test]
fn every_kind_of_network_fault_converges_without_duplicates() {
    let server = Server::start(Config::default());
    let n = 9;
    {
        let mut data = server.mock.data();
        data.faults.extend([
            Fault::Refuse {
                status: 503,
                retry_after: None,
            },
            Fault::Refuse {
                status: 429,
                retry_after: Some(1),
            },
            Fault::CommitThenHang(Duration::from_millis(2500)),
            Fault::CommitThenDrop,
            Fault::CommitThenGarbage,
            Fault::CommitThenStatus(500),
            Fault::Refuse {
                status: 502,
                retry_after: None,
            },
            Fault::CommitThenDrop,
            Fault::Refuse {
                status: 429,
                retry_after: Some(1),
            },
            Fault::CommitThenGarbage,
        ]);
    }
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, n, "1s"));
    let mut runs = Vec::new();
    for _ in 0..5 {
        let run = t.run(&["apply", "--yes", "--force"]);
        let code = run.code;
        assert!(
            code == 0 || code == 3,
            "apply exits 0 or 3, got {code}: {}\n{}",
            run.stdout,
            run.stderr
        );
        runs.push(run);
        if code == 0 {
            break;
        }
    }
    let faulted = server.mock.data().faulted.len();
    assert_eq!(faulted, 10, "every fault was played");
    assert_eq!(
        runs.last().map(|r| r.code),
        Some(0),
        "converged within five applies"
    );
    assert!(runs.len() >= 2, "the faults left work for a second apply");
    // The unknown outcomes were left pending in the run that met them, not resent.
    assert!(runs[0].stdout.contains("unverified"), "{}", runs[0].stdout);
    // 429s were waited out inside the run, never recorded as failures.
    let first_state = runs[0].stdout.clone();
    assert!(!first_state.contains("HTTP 429"), "{first_state}");
    assert_converged(&server, &t, n, "faults");
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_second_apply_is_refused_while_one_runs_and_a_dead_ones_lock_is_taken_over() {
    let server = Server::start(Config {
        latency: Duration::from_millis(300),
        ..Config::default()
    });
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 6, "10s"));
    let mut first = t.spawn(&["apply", "--yes", "--force"]);
    for _ in 0..100 {
        if t.lock_holder().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let holder = t.lock_holder().expect("the first apply holds the lock");
    assert_eq!(holder["pid"], first.id());

    let run = t.run(&["apply", "--yes", "--force"]);
    run.code(1);
    assert!(
        run.stderr
            .contains(&format!("the state is locked by pid {} on ", first.id()))
            && run.stderr.contains("--lock-timeout"),
        "{}",
        run.stderr
    );

    // kill -9 the holder: its lock stays behind, and the next apply takes it over.
    let _ = first.kill();
    let _ = first.wait();
    assert!(
        t.lock_holder().is_some(),
        "a killed apply leaves its record"
    );
    let run = t.run(&["apply", "--yes", "--force"]);
    run.code(0);
    assert!(
        run.stderr.contains("taking over the lock of pid"),
        "{}",
        run.stderr
    );
    assert_converged(&server, &t, 6, "after takeover");
}

#[test]
fn state_unlock_clears_a_stale_lock_record_by_hand() {
    let t = Test::new();
    t.write(
        "state/roster.state.json.lock",
        r#"{"pid": 1, "host": "ci-runner-7", "started": "2026-01-01T00:00:00Z", "command": "roster apply"}"#,
    );
    let run = t.run(&["state", "unlock"]);
    run.code(0);
    assert!(
        run.stdout
            .contains("Cleared the lock record of pid 1 on ci-runner-7"),
        "{}",
        run.stdout
    );
    assert_eq!(t.lock_holder(), None);
    t.run(&["state", "unlock"]).code(0);
}

#[test]
fn sigterm_stops_cleanly_and_records_what_was_in_flight() {
    let server = Server::start(Config {
        latency: Duration::from_millis(400),
        ..Config::default()
    });
    let t = test(&server);
    t.write("roster.yaml", &yaml(&server.url, 9, "10s"));
    let child = t.spawn(&["apply", "--yes", "--force"]);
    std::thread::sleep(Duration::from_millis(600));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Apply interrupted. State written"),
        "{stdout}"
    );
    assert!(!t.exists("state/roster.state.json.journal") && t.lock_holder().is_none());
    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    assert!(
        plan["summary"]["verify"].as_u64().unwrap() > 0,
        "in-flight creations are pending: {plan}"
    );
    t.run(&["apply", "--yes", "--force"]).code(0);
    assert_converged(&server, &t, 9, "after SIGTERM");
}
