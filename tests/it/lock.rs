//! The state lock holds against what broke its liveness guess: an apply in
//! another PID namespace (a container sharing the state's volume), several
//! applies racing for a stale lock, and `state unlock` aimed at a live holder.
//! Whatever the interleaving, one apply runs at a time: every user is created
//! once.

use crate::support::{Config, Server, Test};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

fn test(server: &Server, n: usize) -> Test {
    crate::support::acton_and_scim(server, n, 2)
}

/// Nothing was created twice, nothing was sent after it had taken effect, and
/// every user is there.
fn assert_once(server: &Server, n: usize, what: &str) {
    let data = server.mock.data();
    let twice: Vec<_> = data.creations.iter().filter(|(_, c)| **c != 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: created more than once: {twice:?}"
    );
    assert!(
        data.duplicates.is_empty(),
        "{what}: creations were sent for users that existed: {:?}",
        data.duplicates
    );
    for kind in ["acton", "scim"] {
        assert_eq!(
            data.users.get(kind).map_or(0, |u| u.len()),
            n,
            "{what}: {kind}"
        );
    }
}

fn roster() -> String {
    assert_cmd::cargo::cargo_bin("roster")
        .to_str()
        .expect("utf-8 path")
        .to_string()
}

/// Whether `unshare` can make a PID namespace here, or why not.
fn unshare_works() -> Result<(), String> {
    match std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`unshare --pid --fork --mount-proc` fails here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("`unshare` cannot be run: {e}")),
    }
}

/// `roster ARGS` in a PID namespace of its own (with its own /proc), as in a
/// container that shares the host name and the state's volume.
fn spawn_in_namespace(t: &Test, args: &[&str]) -> Child {
    let bin = roster();
    let mut full = vec!["--pid", "--fork", "--mount-proc", bin.as_str()];
    full.extend_from_slice(args);
    t.command("unshare")
        .args(&full)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn unshare")
}

fn wait_for_holder(t: &Test) -> serde_json::Value {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(h) = t.lock_holder() {
            return h;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no apply took the lock")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn applies_in_separate_pid_namespaces_never_run_together() {
    if let Err(why) = unshare_works() {
        println!("skipped: {why}");
        return;
    }
    let n = 8;
    for namespaced_first in [false, true] {
        let what = if namespaced_first {
            "namespace, then host"
        } else {
            "host, then namespace"
        };
        let server = Server::start(Config {
            latency: Duration::from_millis(150),
            ..Config::default()
        });
        let t = test(&server, n);
        let first = if namespaced_first {
            spawn_in_namespace(&t, &["apply", "--yes", "--force"])
        } else {
            t.spawn(&["apply", "--yes", "--force"])
        };
        let holder = wait_for_holder(&t);
        if namespaced_first {
            // In its namespace it is pid 1, which is alive on the host too.
            assert_eq!(holder["pid"], 1, "{what}: {holder}");
        }
        let second = if namespaced_first {
            t.spawn(&["apply", "--yes", "--force"])
        } else {
            spawn_in_namespace(&t, &["apply", "--yes", "--force"])
        };
        let second = second.wait_with_output().expect("wait");
        let first = first.wait_with_output().expect("wait");
        assert_eq!(
            first.status.code(),
            Some(0),
            "{what}: first\n{}",
            text(&first)
        );
        assert_eq!(
            second.status.code(),
            Some(1),
            "{what}: second\n{}",
            text(&second)
        );
        let refusal = String::from_utf8_lossy(&second.stderr);
        assert!(
            refusal.contains(&format!("the state is locked by pid {} on ", holder["pid"])),
            "{what}: {refusal}"
        );
        assert_once(&server, n, what);
        // One apply wrote the state: when it began and when it ended.
        assert_eq!(t.state()["serial"], 2, "{what}: one apply wrote the state");
        assert_eq!(t.lock_holder(), None, "{what}: released");
    }
}

#[test]
fn a_second_apply_waits_for_the_lock_with_lock_timeout() {
    if let Err(why) = unshare_works() {
        println!("skipped: {why}");
        return;
    }
    let server = Server::start(Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    });
    let n = 6;
    let t = test(&server, n);
    let first = t.spawn(&["apply", "--yes", "--force"]);
    wait_for_holder(&t);
    let second = spawn_in_namespace(&t, &["apply", "--yes", "--force", "--lock-timeout", "60s"])
        .wait_with_output()
        .expect("wait");
    let first = first.wait_with_output().expect("wait");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // It waited for the first to finish, then read the state that one wrote.
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("Nothing to apply"),
        "{}",
        text(&second)
    );
    assert_once(&server, n, "after waiting");
}

/// Several applies started together over the record of a dead holder: one runs,
/// the others are refused (or, started after it finished, find nothing to do).
/// `ROSTER_LOCK_TRIALS` raises the number of trials.
#[test]
fn a_stale_lock_race_lets_one_apply_run() {
    let trials: usize = std::env::var("ROSTER_LOCK_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let racers = 4;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let n = 4;
    for trial in 0..trials {
        let server = Server::start(Config {
            latency: Duration::from_millis(40),
            ..Config::default()
        });
        let t = test(&server, n);
        // Left on this host by a process that is gone.
        t.write(
            "state/roster.state.json.lock",
            &format!(
                r#"{{"id": "dead-run", "pid": 999999999, "host": "{host}", "started": "2026-01-01T00:00:00Z", "command": "roster apply"}}"#
            ),
        );
        let children: Vec<Child> = (0..racers)
            .map(|_| t.spawn(&["apply", "--yes", "--force"]))
            .collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect();
        let ran = outputs
            .iter()
            .filter(|o| String::from_utf8_lossy(&o.stdout).contains("Apply: "))
            .count();
        assert_eq!(ran, 1, "trial {trial}: {ran} applies sent creations");
        assert_once(&server, n, &format!("trial {trial}"));
        assert_eq!(
            t.state()["serial"],
            2,
            "trial {trial}: one apply, two writes"
        );
        for o in &outputs {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let fine = match o.status.code() {
                Some(0) => stdout.contains("Apply: ") || stdout.contains("Nothing to apply"),
                Some(1) => stderr.contains("the state is locked by"),
                _ => false,
            };
            assert!(fine, "trial {trial}: {}", text(o));
        }
    }
}

#[test]
fn state_unlock_never_breaks_a_live_lock_and_clears_a_dead_one_by_id() {
    let server = Server::start(Config {
        latency: Duration::from_millis(300),
        ..Config::default()
    });
    let t = test(&server, 6);
    let mut apply = t.spawn(&["apply", "--yes", "--force"]);
    let holder = wait_for_holder(&t);
    let id = holder["id"].as_str().expect("a lock id").to_string();
    for args in [vec!["state", "unlock"], vec!["state", "unlock", &id]] {
        let run = t.run(&args);
        run.code(1);
        assert!(
            run.stderr.contains("never breaks a live lock") && run.stderr.contains(&id),
            "{}",
            run.stderr
        );
    }
    assert_eq!(t.lock_holder(), Some(holder.clone()), "untouched");

    let _ = apply.kill();
    let _ = apply.wait();
    let run = t.run(&["state", "unlock", "another-id"]);
    run.code(1);
    assert!(
        run.stderr.contains("not of lock id another-id"),
        "{}",
        run.stderr
    );
    assert_eq!(t.lock_holder(), Some(holder), "untouched");
    let run = t.run(&["state", "unlock", &id]);
    run.code(0);
    assert!(
        run.stdout.contains("Cleared the lock record of pid"),
        "{}",
        run.stdout
    );
    assert_eq!(t.lock_holder(), None);
    assert!(t.exists("state/roster.state.json.lock"), "the file is kept");
    t.run(&["state", "unlock"]).code(0);
    // The killed run's work is in the journal; the next apply picks it up.
    t.run(&["apply", "--yes", "--force"]).code(0);
    let data = server.mock.data();
    assert!(
        data.creations.values().all(|c| *c == 1),
        "{:?}",
        data.creations
    );
}

#[test]
fn import_waits_up_to_lock_timeout_then_names_the_holder() {
    let server = Server::start(Config::default());
    let t = test(&server, 1);
    t.write(
        "state/roster.state.json.lock",
        r#"{"id": "held-run", "pid": 4242, "host": "ci-runner-7", "started": "2026-01-01T00:00:00Z", "command": "roster apply"}"#,
    );
    let held = std::fs::File::options()
        .read(true)
        .write(true)
        .open(t.path("state/roster.state.json.lock"))
        .unwrap();
    held.try_lock().unwrap();
    let start = Instant::now();
    let run = t.run(&["import", "--vendor", "app", "--lock-timeout", "1s"]);
    run.code(1);
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(
        run.stderr.contains(
            "locked by pid 4242 on ci-runner-7 since 2026-01-01T00:00:00Z (roster apply, lock id held-run)"
        ) && run.stderr.contains("waited 1s"),
        "{}",
        run.stderr
    );
    drop(held);
    t.run(&["import", "--vendor", "app", "--lock-timeout", "1s"])
        .code(0);
}
