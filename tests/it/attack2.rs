//! Attacks on two fresh changes: the typed vendor settings reader
//! (src/vendors/config.rs) and the async state backend (leases and locks
//! held across an apply that is interrupted or raced), each pinning a
//! defence: the two settings defects they found (errors at the block's line,
//! a merge key taken for a missing kind) are fixed.

use crate::support::pg::Pg;
use crate::support::Test;
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// A roster.yaml with one SCIM vendor `v` whose block is `block` (indented
/// four spaces) and no users.
fn vendor_yaml(block: &str) -> String {
    format!("version: 1\nvendors:\n  v:\n{block}users: []\n")
}

/// Keys in a vendor block: an error names the line of the key at fault (an
/// unknown key, a key given twice, a bad value of a key written before
/// `kind:`), not only the vendor's first line, however far down it is.
#[test]
fn a_vendor_key_error_names_the_line_of_the_key() {
    let t = Test::new().env("SCIM_TOKEN", "tok");
    for (block, line) in [
        // an unknown key after kind, on line 7
        (
            "    kind: scim\n    base_url: http://x\n    token: ${SCIM_TOKEN}\n    bogus: 1\n",
            7,
        ),
        // an unknown key before kind, on line 7
        (
            "    base_url: http://x\n    token: ${SCIM_TOKEN}\n    timeout: 5s\n    bogus: 1\n    kind: scim\n",
            7,
        ),
        // a common key given twice, the second on line 8
        (
            "    kind: scim\n    base_url: http://x\n    token: ${SCIM_TOKEN}\n    timeout: 5s\n    timeout: 6s\n",
            8,
        ),
        // a bad value buffered before kind, on line 5
        (
            "    base_url: http://x\n    token: {a: 1}\n    kind: scim\n",
            5,
        ),
    ] {
        t.write("roster.yaml", &vendor_yaml(block));
        let run = t.run(&["validate"]);
        run.code(1);
        assert!(
            run.stderr.contains(&format!("roster.yaml:{line}:")),
            "{block}\n{}",
            run.stderr
        );
    }
}

/// A YAML merge key (`<<: *anchor`) in a vendor block is not applied by the
/// reader, and the error names it rather than calling `kind` missing.
#[test]
fn a_merge_key_in_a_vendor_block_is_named_not_taken_for_a_missing_kind() {
    let t = Test::new().env("SCIM_TOKEN", "tok");
    t.write(
        "roster.yaml",
        "version: 1\nvendors:\n  a: &a\n    kind: scim\n    base_url: http://x\n    token: ${SCIM_TOKEN}\n  b:\n    <<: *a\n    base_url: http://y\nusers: []\n",
    );
    let run = t.run(&["validate"]);
    run.code(1);
    assert!(run.stderr.contains("<<"), "{}", run.stderr);
}

/// What held: hostile vendor blocks are refused with a place (or accepted
/// when sound) and never panic; a literal credential written before `kind:`
/// is still warned of; no error prints a variable's value.
#[test]
fn hostile_vendor_blocks_are_refused_with_a_place_and_never_panic() {
    let secret = "hunter2-s3cret-VALUE";
    let t = Test::new().env("SCIM_TOKEN", secret);
    let many_before: String = (0..10_000).map(|i| format!("    k{i}: {i}\n")).collect();
    let cases: Vec<(String, i32, &str)> = vec![
        ("    kind: [1]\n    base_url: http://x\n    token: t\n".into(), 1, "roster.yaml:4:"),
        ("    kind: ~\n    base_url: http://x\n    token: t\n".into(), 1, "unknown vendor kind"),
        ("    1: x\n    kind: scim\n    base_url: http://x\n    token: t\n".into(), 1, "`1` is not a setting of any vendor kind"),
        ("    kind: scim\n    [1, 2]: x\n    base_url: http://x\n    token: t\n".into(), 1, "roster.yaml:"),
        ("    api_token: ${SCIM_TOKEN}\n    kind: scim\n    base_url: http://x\n    token: t\n".into(), 1, "`api_token` is not a setting of kind scim"),
        ("    token: a\n    kind: scim\n    base_url: http://x\n    token: ${SCIM_TOKEN}\n".into(), 1, "duplicate field `token`"),
        ("    timeout: 1s\n    kind: scim\n    timeout: 2s\n    base_url: http://x\n    token: t\n".into(), 1, "duplicate field `timeout`"),
        (format!("{many_before}    kind: scim\n    base_url: http://x\n    token: t\n"), 1, "`k0` is not a setting of any vendor kind"),
        // a literal token written before kind is still a literal credential
        ("    token: literal-cred\n    kind: scim\n    base_url: http://x\n".into(), 0, "vendors.v.token is a literal credential"),
        // a base_url from a variable whose value is bad: named, not printed
        ("    kind: scim\n    base_url: ${SCIM_TOKEN}\n    token: ${SCIM_TOKEN}\n".into(), 1, "the value of ${SCIM_TOKEN}"),
    ];
    for (block, code, said) in cases {
        t.write("roster.yaml", &vendor_yaml(&block));
        let run = t.run(&["validate"]);
        let shown = &block[..block.len().min(200)];
        assert_eq!(run.code, code, "{shown}\n{}", run.stderr);
        assert!(run.stderr.contains(said), "{shown}\n{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{shown}\n{}", run.stderr);
        assert!(!run.stderr.contains(secret), "{shown}\n{}", run.stderr);
    }
    // plan resolves the variables: a bad URL in one is named, its value not shown
    t.write(
        "roster.yaml",
        &vendor_yaml("    kind: scim\n    base_url: ${SCIM_TOKEN}\n    token: ${SCIM_TOKEN}\n"),
    );
    let run = t.run(&["plan"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("${SCIM_TOKEN}"), "{}", run.stderr);
    assert!(!run.stderr.contains(secret), "{}", run.stderr);
}

/// A vendor that accepts connections and never answers: an apply against it
/// is busy (holding its lock) until its `timeout`.
fn silent_vendor() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let _ = conn.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = conn.read(&mut buf);
            held.push(conn);
        }
    });
    format!("http://{addr}")
}

fn one_user_yaml(url: &str, timeout: &str) -> String {
    format!(
        "version: 1\nvendors:\n  v:\n    kind: scim\n    base_url: {url}/scim\n    token: ${{SCIM_TOKEN}}\n    timeout: {timeout}\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    accounts:\n      v: {{}}\n"
    )
}

fn leases(pg: &Pg) -> String {
    // The table is made by the first run that connects.
    if pg.sql("SELECT to_regclass('roster_leases')")[0][0].is_none() {
        return "0".into();
    }
    pg.sql("SELECT count(*) FROM roster_leases")[0][0]
        .clone()
        .unwrap_or_default()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn interrupt(child: &std::process::Child) {
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
}

fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("roster did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two applies race on one database and one vendor: the second, with
/// `--lock-timeout 1s`, waits about that long and is refused naming the
/// first; a third, waiting longer, stops at once when interrupted; the
/// first, interrupted (SIGINT) while its creation hangs, exits
/// promptly and leaves no lease behind, so a third run takes it at once.
#[test]
fn a_raced_then_interrupted_apply_leaves_no_lease_on_the_database() {
    let pg = Pg::start();
    let url = silent_vendor();
    let t = Test::new().env("SCIM_TOKEN", "tok-1234567890");
    t.write("roster.yaml", &one_user_yaml(&url, "60s"));
    let mut first = t.spawn(&["apply", "--yes", "--state", pg.url()]);
    wait_until("the first apply's lease", Duration::from_secs(30), || {
        leases(&pg) != "0"
    });
    let started = Instant::now();
    let second = t.run(&[
        "apply",
        "--yes",
        "--state",
        pg.url(),
        "--lock-timeout",
        "1s",
    ]);
    let took = started.elapsed();
    assert_ne!(second.code, 0, "{}", second.stderr);
    assert!(second.stderr.contains("roster apply"), "{}", second.stderr);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(20),
        "the second apply took {took:?}"
    );
    // A third waits (up to 60s) for the lock; interrupted while it waits, it
    // stops at once rather than waiting on and then applying.
    let mut third = t.spawn(&[
        "apply",
        "--yes",
        "--state",
        pg.url(),
        "--lock-timeout",
        "60s",
    ]);
    std::thread::sleep(Duration::from_millis(1000));
    interrupt(&third);
    let stopped = Instant::now();
    let status = exit_within(&mut third, Duration::from_secs(10));
    assert!(!status.success());
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
    // Give the first time to send its creation, then interrupt it.
    interrupt(&first);
    let status = exit_within(&mut first, Duration::from_secs(20));
    let mut err = String::new();
    first
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(
        leases(&pg),
        "0",
        "the interrupted apply left its lease\n{err}"
    );
    let plan = t.run(&["plan", "--state", pg.url()]);
    plan.code(0);
    assert!(plan.stdout.contains("1 to verify"), "{}", plan.stdout);
}
