//! The journal survives what broke it: a torn last line followed by a second
//! crash, and a corrupt line, which `roster state repair` fixes without losing a
//! record (and no message ever advises deleting the journal).

use crate::support::{Config, Server, Test};
use std::time::{Duration, Instant};

const JOURNAL: &str = "state/roster.state.json.journal";

fn test(server: &Server, n: usize) -> Test {
    crate::support::acton_and_scim(server, n, 1)
}

fn journal_len(t: &Test) -> usize {
    std::fs::metadata(t.path(JOURNAL)).map_or(0, |m| m.len() as usize)
}

/// Starts an apply and SIGKILLs it once the journal holds more than `past`
/// bytes and ends on a complete line.
fn kill_once_journal_grows(t: &Test, past: usize) {
    let mut child = t.spawn(&["apply", "--yes", "--force"]);
    let start = Instant::now();
    loop {
        let bytes = std::fs::read(t.path(JOURNAL)).unwrap_or_default();
        if bytes.len() > past + 1 && bytes.last() == Some(&b'\n') {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "apply finished before it could be killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the journal never grew"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn assert_converged(server: &Server, t: &Test, n: usize) {
    let data = server.mock.data();
    let twice: Vec<_> = data.creations.iter().filter(|(_, c)| **c != 1).collect();
    assert!(twice.is_empty(), "created more than once: {twice:?}");
    assert_eq!(
        data.duplicates.get("scim"),
        None,
        "a SCIM creation was resent"
    );
    for kind in ["acton", "scim"] {
        assert_eq!(data.users[kind].len(), n, "{kind}");
    }
    let state = t.state();
    for vendor in ["acton", "app"] {
        let records = state["vendors"][vendor].as_object().unwrap();
        assert_eq!(records.len(), n);
        assert!(
            records
                .values()
                .all(|r| matches!(r["status"].as_str(), Some("created" | "adopted"))),
            "{vendor}: {records:?}"
        );
    }
}

#[test]
fn a_torn_last_line_then_a_second_crash_loses_nothing() {
    let server = Server::start(Config {
        latency: Duration::from_millis(60),
        ..Config::default()
    });
    let n = 10;
    let t = test(&server, n);
    kill_once_journal_grows(&t, 0);
    // The write the kill interrupted: half a line, no newline.
    let mut torn = std::fs::read(t.path(JOURNAL)).unwrap();
    torn.extend_from_slice(b"{\"vendor\":\"acton\",\"email\":\"user09@example.com\",\"rec");
    std::fs::write(t.path(JOURNAL), &torn).unwrap();
    let run = t.run(&["plan"]);
    assert!(run.code == 0 || run.code == 2, "{}", run.stderr);

    // The next apply appends after it, and is killed too.
    kill_once_journal_grows(&t, torn.len());
    assert!(journal_len(&t) > 0);
    let run = t.run(&["plan", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("corrupt"), "{}", run.stderr);

    t.run(&["apply", "--yes", "--force"]).code(0);
    assert_converged(&server, &t, n);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_corrupt_line_is_repaired_keeping_every_record() {
    let server = Server::start(Config::default());
    let n = 4;
    let t = test(&server, n);
    t.run(&["apply", "--yes", "--user", "user00@example.com"])
        .code(0);
    let serial = t.state()["serial"].clone();
    // An apply of the three others died; its journal was then damaged: user02's
    // SCIM result line lost bytes in the middle, and a line is pure garbage.
    for i in 1..n {
        let email = format!("user{i:02}@example.com");
        server.mock.seed(
            "scim",
            &email,
            serde_json::json!({"id": format!("id-{i}"), "userName": email}),
        );
    }
    let record = |email: &str, status: &str, id: &str| {
        format!(
            "{{\"vendor\":\"app\",\"email\":\"{email}\",\"record\":{{\"at\":\"2026-01-01T00:00:00Z\",\"fingerprint\":\"sha256:00\",\"remote_id\":\"{id}\",\"spec\":{{}},\"status\":\"{status}\"}}}}\n"
        )
    };
    let mut journal = String::new();
    journal.push_str(&record("user01@example.com", "pending", "x"));
    journal.push_str(&record("user01@example.com", "created", "id-1"));
    journal.push_str(&record("user02@example.com", "pending", "x"));
    journal.push_str("{\"vendor\":\"app\",\"email\":\"user02@example.com\",\"record\":{\"at\":\"2026-01-\u{0}\u{0}\u{0}\n");
    journal.push_str("\u{0}\u{0}#%garbage%\n");
    journal.push_str(&record("user03@example.com", "pending", "x"));
    journal.push_str(&record("user03@example.com", "created", "id-3"));
    t.write(JOURNAL, &journal);

    for args in [&["plan"][..], &["apply", "--yes"][..]] {
        let run = t.run(args);
        run.code(1);
        assert!(
            run.stderr
                .contains("roster.state.json.journal:4: corrupt journal line")
                && run.stderr.contains("roster state repair"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stderr.to_lowercase().contains("remove"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(t.read(JOURNAL), journal, "refusing changed nothing");

    let run = t.run(&["state", "repair"]);
    run.code(0);
    for want in [
        "kept 5 complete record(s)",
        "line 4: unreadable; app  user02@example.com is now pending",
        "line 5: unreadable and names no user",
        "roster.state.json.journal.rejected",
    ] {
        assert!(run.stdout.contains(want), "{want:?} in\n{}", run.stdout);
    }
    let rejected = t.read("state/roster.state.json.journal.rejected");
    assert!(rejected.contains("#%garbage%") && rejected.contains("\"at\":\"2026-01-"));

    let plan = t.run(&["plan", "--format", "json"]).code(0).json();
    let verify: Vec<_> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "verify")
        .map(|c| (c["vendor"].as_str().unwrap(), c["email"].as_str().unwrap()))
        .collect();
    assert_eq!(verify, [("app", "user02@example.com")]);
    let before = server.mock.requests("/scim/").len();
    t.run(&["apply", "--yes", "--force"]).code(0);
    let state = t.state();
    assert_eq!(
        state["vendors"]["app"]["user01@example.com"]["remote_id"],
        "id-1"
    );
    assert_eq!(
        state["vendors"]["app"]["user02@example.com"]["status"],
        "adopted"
    );
    assert_eq!(
        state["vendors"]["app"]["user02@example.com"]["remote_id"],
        "id-2"
    );
    assert_eq!(
        state["vendors"]["app"]["user03@example.com"]["remote_id"],
        "id-3"
    );
    assert!(state["serial"].as_u64() > serial.as_u64());
    // user02 was looked up, not created again (besides the server's
    // ServiceProviderConfig, read once before a filtered lookup).
    let sent: Vec<_> = server.mock.requests("/scim/")[before..]
        .iter()
        .filter(|r| r.path == "/scim/v2/Users")
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(sent, ["GET"], "{sent:?}");
    assert_eq!(server.mock.data().duplicates.get("scim"), None);
}

#[test]
fn temp_files_left_by_killed_saves_are_removed_on_the_next_write() {
    use std::io::Write;
    let server = Server::start(Config::default());
    let t = test(&server, 2);
    std::fs::create_dir_all(t.path("state")).unwrap();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let put = |name: &str, old: bool| {
        let mut f = std::fs::File::create(t.path(&format!("state/{name}"))).unwrap();
        f.write_all(&[b'x'; 100_000]).unwrap();
        if old {
            f.set_modified(hour_ago).unwrap();
        }
    };
    // This state's: killed an hour ago, and killed just before this apply.
    put(".roster-roster.state.json.k1lled.tmp", true);
    put(".roster-roster.state.json.k2lled.tmp", false);
    // Another state's in the same folder: a save in progress, and an abandoned one.
    put(".roster-other.state.json.l1ve00.tmp", false);
    put(".roster-other.state.json.k3lled.tmp", true);
    // As an older roster named them.
    put(".roster-Xy12Ab.tmp", true);
    std::thread::sleep(Duration::from_millis(50));
    t.run(&["apply", "--yes"]).code(0);
    let mut left: Vec<String> = std::fs::read_dir(t.path("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    left.sort();
    assert_eq!(left, [".roster-other.state.json.l1ve00.tmp"]);
}

/// A journal that is there but cannot be read is never taken for no journal:
/// its records would be lost and their users created again. (A mutant that
/// took every open error for "not found" survived every other test.)
#[test]
fn a_journal_that_cannot_be_read_stops_the_run_and_is_never_taken_for_none() {
    let server = Server::start(Config::default());
    let t = test(&server, 2);
    t.run(&["apply", "--yes"]).code(0);
    // A link to itself: opening it fails with ELOOP, not NotFound.
    std::os::unix::fs::symlink("roster.state.json.journal", t.path(JOURNAL)).unwrap();
    let requests = server.mock.data().requests.len();
    for args in [&["plan"][..], &["apply", "--yes"]] {
        let run = t.run(args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("cannot read") && run.stderr.contains(".journal"),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        server.mock.data().requests.len(),
        requests,
        "nothing was sent"
    );
}
