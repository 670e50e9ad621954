//! The one wait both stores use for a lock another run holds
//! (`roster::state::lock_within`), at each store.

use crate::support::pg::Pg;
use crate::support::{pg_store, Hold};
use roster::state::{FileBackend, Scope};
use std::time::{Duration, Instant};

/// `--lock-timeout 10000y` is a wait too long to add to the clock: the lease
/// is waited for until its holder lets go (it used to overflow the clock and
/// panic), and so is the file's lock.
#[test]
fn a_wait_too_long_for_the_clock_waits_for_the_holder_at_either_store() {
    let pg = Pg::start();
    let holder = pg_store(pg.url(), "default", Duration::ZERO);
    let lease = holder
        .hold(&Scope::vendors(["acton"]), "roster apply")
        .unwrap();
    let waiter = pg_store(pg.url(), "default", Duration::MAX);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        drop(lease);
    });
    let start = Instant::now();
    let taken = waiter.hold(&Scope::All, "roster import");
    assert!(taken.is_ok(), "{:?}", taken.err());
    assert!(start.elapsed() >= Duration::from_millis(700));
    release.join().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.state.json");
    let held = FileBackend::new(&path)
        .hold(&Scope::All, "roster apply")
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        drop(held);
    });
    let waiter = FileBackend::new(&path).with_lock_timeout(Duration::MAX);
    assert!(waiter.hold(&Scope::All, "roster import").is_ok());
    release.join().unwrap();
}

/// A lease held past the timeout is refused after about that long, saying
/// how long it waited, having asked the database a handful of times (the
/// backoff), not once per few milliseconds.
#[test]
fn a_lease_wait_ends_at_its_timeout_naming_the_holder_and_the_wait() {
    let pg = Pg::start();
    let holder = pg_store(pg.url(), "default", Duration::ZERO);
    let _lease = holder.hold(&Scope::All, "roster apply").unwrap();
    let waiter = pg_store(pg.url(), "default", Duration::from_millis(1200));
    let start = Instant::now();
    let err = waiter
        .hold(&Scope::vendors(["acton"]), "roster refresh")
        .expect_err("held throughout");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(1200), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        err.to_string().contains(&format!(
            "the whole workspace is leased by roster apply (pid {}",
            std::process::id()
        )) && err.to_string().contains(" (waited 1s 200ms). Wait for it"),
        "{err}"
    );
}
