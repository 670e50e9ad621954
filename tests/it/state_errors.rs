//! The state's errors as a library caller decides on them: another run holds
//! the lock, this run's lease was lost, what is stored is unreadable, the
//! store cannot be reached. Each kind is matched on, its message unchanged.

use crate::support::pending_record as pending;
use crate::support::pg::Pg;
use crate::support::{pg_store, Hold, Wait};
use roster::state::postgres::PgBackend;
use roster::state::{Backend, Error, FileBackend, Kind, Scope};
use std::time::Duration;

#[test]
fn a_held_state_file_is_locked_naming_its_holder_and_since_when() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.state.json");
    let _held = FileBackend::new(&path)
        .hold(&Scope::All, "roster apply")
        .unwrap();
    let err = FileBackend::new(&path)
        .hold(&Scope::All, "roster refresh")
        .expect_err("a second lock is refused");
    assert_eq!(err.kind(), Kind::Locked, "{err}");
    match &err {
        Error::Locked {
            holder,
            since: Some(since),
            message,
        } => {
            assert!(holder.contains("roster apply"), "{holder}");
            assert!(since.ends_with('Z'), "{since}");
            assert!(
                message.starts_with("the state is locked by pid ")
                    && message.contains("another roster is running"),
                "{message}"
            );
        }
        other => panic!("not Locked with a since: {other:?}"),
    }
    let refused = FileBackend::new(&path).unlock().wait().unwrap_err();
    assert_eq!(refused.kind(), Kind::Locked, "{refused}");
}

#[test]
fn an_unreadable_state_a_damaged_one_and_a_damaged_journal_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.state.json");
    let store = FileBackend::new(&path);

    // A folder where the file should be: it cannot be read.
    std::fs::create_dir(&path).unwrap();
    let err = store.load().wait().unwrap_err();
    assert_eq!(err.kind(), Kind::Unreachable, "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", path.display())),
        "{err}"
    );
    std::fs::remove_dir(&path).unwrap();

    std::fs::write(&path, "{ not json").unwrap();
    match store.load().wait().unwrap_err() {
        Error::Corrupt { what, at, message } => {
            assert_eq!(
                (what.as_str(), at),
                ("state file", path.display().to_string())
            );
            assert!(
                message.starts_with(&format!(
                    "{}: not a roster state file (invalid JSON): ",
                    path.display()
                )),
                "{message}"
            );
        }
        other => panic!("not Corrupt: {other:?}"),
    }

    std::fs::remove_file(&path).unwrap();
    let journal = dir.path().join("roster.state.json.journal");
    std::fs::write(&journal, "\n{ torn\n").unwrap();
    match store.load().wait().unwrap_err() {
        Error::Corrupt { what, at, message } => {
            assert_eq!(
                (what.as_str(), at),
                ("journal line", format!("{}:2", journal.display()))
            );
            assert!(message.contains("corrupt journal line"), "{message}");
        }
        other => panic!("not Corrupt: {other:?}"),
    }
}

#[test]
fn a_held_lease_is_locked_a_lost_one_fenced_and_a_closed_port_unreachable() {
    let pg = Pg::start();
    let ours = pg_store(pg.url(), "errors", Duration::ZERO);
    let lease = ours
        .hold(&Scope::vendors(["acton"]), "roster apply")
        .unwrap();

    let other = pg_store(pg.url(), "errors", Duration::ZERO);
    let err = other
        .hold(&Scope::All, "roster import")
        .expect_err("the lease is held");
    match &err {
        Error::Locked {
            holder,
            since: Some(_),
            message,
        } => {
            assert!(
                holder.starts_with("vendor acton is leased by roster apply (pid "),
                "{holder}"
            );
            assert!(message.contains(ours.run_id()), "{message}");
        }
        other => panic!("not Locked with a since: {other:?}"),
    }
    let refused = other.unlock().wait().unwrap_err();
    assert_eq!(refused.kind(), Kind::Locked, "{refused}");

    // The lease expires behind its holder's back: its next write is fenced.
    let mut journal = ours.journal().wait().unwrap();
    pg.sql("UPDATE roster_leases SET expires = now() - interval '1 second'");
    let err = journal
        .append(&[pending("late@example.com")])
        .wait()
        .unwrap_err();
    assert_eq!(err.kind(), Kind::Fenced, "{err}");
    assert!(
        err.to_string().contains("this run's lease was lost"),
        "{err}"
    );
    drop(lease);

    // Nothing listens on port 1.
    let err = PgBackend::connect(
        "postgres://roster:pw@127.0.0.1:1/roster",
        "errors",
        Duration::ZERO,
        &roster::model::process_env,
    )
    .wait()
    .err()
    .expect("nothing listens there");
    assert_eq!(err.kind(), Kind::Unreachable, "{err}");
    assert!(
        err.to_string()
            .starts_with("cannot connect to postgres://roster:***@127.0.0.1:1/roster: "),
        "{err}"
    );
}
