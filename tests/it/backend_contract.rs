//! The state backend's contract (src/state/backend.rs), checked once against
//! every implementation: the state file and PostgreSQL. A second store cannot
//! quietly weaken a guarantee of the first.

use crate::support::pg::Pg;
use crate::support::{pg_store, Hold, Wait};
use roster::state::{Backend, FileBackend, RawSpec, Record, Scope, State, Status};
use std::time::Duration;

/// Makes a fresh instance of one backend over the same stored state, as a new
/// process would.
type Open<'a> = dyn Fn() -> Box<dyn Backend> + 'a;

fn record(status: Status, id: Option<&str>, email: &str) -> Record {
    Record {
        at: "2026-01-02T03:04:05Z".into(),
        error: (status == Status::Failed).then(|| "HTTP 400: rejected".to_string()),
        fingerprint: "sha256:ab".into(),
        inactive: false,
        remote_id: id.map(str::to_string),
        spec: RawSpec::of(&serde_json::json!({"email": email, "role": "admin"})),
        status,
        vendor_status: None,
        warnings: vec![],
    }
}

fn row(vendor: &str, email: &str, r: Record) -> (String, String, Record) {
    (vendor.to_string(), email.to_string(), r)
}

/// States compared as their JSON: a file keeps a spec pretty-printed, so its
/// text differs from what was given while its content does not.
#[track_caller]
fn same(a: &State, b: &State, what: &str) {
    assert_eq!(
        serde_json::to_value(a).unwrap(),
        serde_json::to_value(b).unwrap(),
        "{what}"
    );
}

fn contract(open: &Open) {
    // Nothing recorded yet.
    let b = open();
    assert!(!b.exists().wait().unwrap());
    let empty = b.load().wait().unwrap();
    assert!(empty.lineage.is_empty() && empty.vendors.is_empty());
    assert!(!b.has_journal().wait().unwrap());

    // A save gives a lineage and serial 1; a new instance reads the same.
    let mut state = State::default();
    state.set(
        "acton",
        "a@x.io",
        record(Status::Created, Some("1"), "a@x.io"),
    );
    state.set(
        "app",
        "b@x.io",
        record(Status::Adopted, Some("u-2"), "b@x.io"),
    );
    {
        let _lock = b.hold(&Scope::All, "test save").unwrap();
        b.save(&mut state)
            .wait()
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
    assert_eq!(state.serial, 1);
    assert!(!state.lineage.is_empty());
    let b = open();
    assert!(b.exists().wait().unwrap());
    same(
        &b.load().wait().unwrap(),
        &state,
        "a save reads back as it was",
    );

    // An intent appended is durable when append returns: a new instance (the
    // process killed, nothing saved) folds it in. An outcome replaces its intent.
    {
        let _lock = b
            .hold(&Scope::vendors(["acton", "app"]), "test journal")
            .unwrap();
        let mut journal = b.journal().wait().unwrap();
        journal
            .append(&[
                row("acton", "c@x.io", record(Status::Pending, None, "c@x.io")),
                row("app", "d@x.io", record(Status::Pending, None, "d@x.io")),
            ])
            .wait()
            .unwrap();
        journal
            .append(&[row(
                "acton",
                "c@x.io",
                record(Status::Created, Some("3"), "c@x.io"),
            )])
            .wait()
            .unwrap();
        // Dropped here without a save, as a kill would leave it.
    }
    let b = open();
    assert!(
        b.has_journal().wait().unwrap(),
        "the journal is left to fold"
    );
    let folded = b.load().wait().unwrap();
    assert_eq!(
        folded.get("acton", "c@x.io").unwrap().status,
        Status::Created,
        "the outcome replaced the intent"
    );
    assert_eq!(
        folded.get("acton", "c@x.io").unwrap().remote_id.as_deref(),
        Some("3")
    );
    assert_eq!(folded.get("app", "d@x.io").unwrap().status, Status::Pending);
    assert_eq!(
        folded.get("acton", "a@x.io").unwrap().remote_id.as_deref(),
        Some("1"),
        "saved records are kept"
    );
    assert_eq!(folded.serial, 1, "appending does not save");

    // A save folds the journal in and retires it; a record dropped from the
    // state is gone from the next load.
    let mut next = folded.clone();
    next.vendors.get_mut("app").unwrap().remove("b@x.io");
    {
        let _lock = b.hold(&Scope::All, "test fold").unwrap();
        b.save(&mut next).wait().unwrap();
    }
    assert_eq!(next.serial, 2);
    assert_eq!(next.lineage, state.lineage, "the lineage is kept");
    let b = open();
    assert!(!b.has_journal().wait().unwrap());
    let loaded = b.load().wait().unwrap();
    same(
        &loaded,
        &next,
        "a save after the journal reads back as it was",
    );
    assert!(loaded.get("app", "b@x.io").is_none());

    // One holder at a time, and a refusal names it; released when dropped.
    let held = b.hold(&Scope::vendors(["acton"]), "first holder").unwrap();
    let other = open();
    let refusal = format!(
        "{:#}",
        other
            .hold(&Scope::vendors(["acton"]), "second holder")
            .expect_err("a second holder is refused")
    );
    assert!(
        refusal.contains(&format!("pid {}", std::process::id()))
            && refusal.contains("first holder"),
        "{refusal}"
    );
    drop(held);
    let second = other
        .hold(&Scope::vendors(["acton"]), "second holder")
        .expect("free once dropped");
    drop(second);

    // A copy replaces the state exactly: lineage and serial as given, and no
    // record but its own.
    let mut copy = State {
        lineage: "9f1c2e0a-0000-4000-8000-000000000001".into(),
        serial: 7,
        ..State::default()
    };
    copy.set("docusign", "e@x.io", record(Status::Failed, None, "e@x.io"));
    {
        let _lock = other.hold(&Scope::All, "test copy").unwrap();
        other.replace(&copy).wait().unwrap();
    }
    same(
        &open().load().wait().unwrap(),
        &copy,
        "a copy reads back exactly",
    );
}

#[test]
fn the_state_file_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.state.json");
    contract(&|| Box::new(FileBackend::new(&path)));
}

#[test]
fn postgresql_keeps_the_contract() {
    let pg = Pg::start();
    let url = pg.url().to_string();
    contract(&|| Box::new(pg_store(&url, "default", Duration::ZERO)));
    // Another workspace in the same database sees none of it.
    let other = pg_store(&url, "marketing", Duration::ZERO);
    assert!(!other.exists().wait().unwrap());
    assert!(other.load().wait().unwrap().vendors.is_empty());
}
