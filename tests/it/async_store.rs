//! The stores on the one async runtime (issue 17): a store's wait never
//! blocks the runtime it is awaited on, and a held lock or lease is released
//! by awaiting it, whichever way a workflow ends; a guard dropped unreleased
//! is released by the runtime in the background.

use crate::support::pg::Pg;
use crate::support::{pg_store, Hold, Test, Wait};
use roster::state::{Backend, FileBackend, Kind, Scope};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Awaits `waiter`'s lock of the whole state, which another run holds, on a
/// runtime of ONE thread that also runs a task ticking every 20ms: the lock
/// is refused after the wait, and the ticks went on meanwhile (a store that
/// slept or blocked inside its async call would have stopped them).
fn refused_while_ticking(waiter: &dyn Backend, wait: Duration) -> (usize, roster::state::Error) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = tokio::spawn({
            let ticks = Arc::clone(&ticks);
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let start = Instant::now();
        let err = waiter
            .lock(&Scope::All, "roster import")
            .await
            .err()
            .expect("held throughout");
        assert!(start.elapsed() >= wait, "{:?}", start.elapsed());
        ticker.abort();
        (ticks.load(Ordering::Relaxed), err)
    })
}

#[test]
fn waiting_for_a_held_lock_leaves_the_runtime_free_at_either_store() {
    let wait = Duration::from_millis(600);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.state.json");
    let _held = FileBackend::new(&path)
        .hold(&Scope::All, "roster apply")
        .unwrap();
    let (ticks, err) =
        refused_while_ticking(&FileBackend::new(&path).with_lock_timeout(wait), wait);
    assert_eq!(err.kind(), Kind::Locked, "{err}");
    assert!(err.to_string().contains("(waited 600ms)"), "{err}");
    assert!(
        ticks >= 15,
        "the file store's wait blocked the runtime: {ticks} ticks"
    );

    let pg = Pg::start();
    let holder = pg_store(pg.url(), "default", Duration::ZERO);
    let _lease = holder.hold(&Scope::All, "roster apply").unwrap();
    let (ticks, err) = refused_while_ticking(&pg_store(pg.url(), "default", wait), wait);
    assert_eq!(err.kind(), Kind::Locked, "{err}");
    assert!(err.to_string().contains("(waited 600ms)"), "{err}");
    assert!(
        ticks >= 15,
        "the database's wait blocked the runtime: {ticks} ticks"
    );
}

fn leases(pg: &Pg) -> String {
    pg.sql("SELECT count(*) FROM roster_leases")[0][0]
        .clone()
        .unwrap_or_default()
}

/// An apply that fails after it took its lease (here: the saved plan it is
/// given does not exist) has released the lease when the process exits: the
/// release is awaited by the workflow, not left to a task the exit cancels.
#[test]
fn an_apply_that_fails_holding_its_lease_has_released_it_when_it_exits() {
    let pg = Pg::start();
    let t = Test::new().env("ACTON_TOKEN", "tok-1234567890");
    t.write(
        "roster.yaml",
        "version: 1\nvendors:\n  acton:\n    kind: acton\n    base_url: http://127.0.0.1:9/acton\n    token: ${ACTON_TOKEN}\nusers:\n  - email: a@example.com\n    first_name: A\n    last_name: B\n    password: generate\n    accounts:\n      acton: { user_type: Marketing }\n",
    );
    for _ in 0..3 {
        let run = t.run(&["apply", "--yes", "--state", pg.url(), "missing.plan"]);
        assert_ne!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("missing.plan"), "{}", run.stderr);
        assert_eq!(leases(&pg), "0", "the failed apply left its lease");
    }
}

/// A guard dropped without its release (a panic, an early return that
/// skipped it) is released by the runtime it was taken on, in the
/// background: the next run need not wait out the lease's 60s TTL.
#[test]
fn a_lease_dropped_unreleased_is_released_in_the_background() {
    let pg = Pg::start();
    let store = pg_store(pg.url(), "default", Duration::ZERO);
    let guard = store
        .lock(&Scope::vendors(["acton"]), "roster apply")
        .wait()
        .unwrap();
    assert_eq!(leases(&pg), "1");
    drop(guard);
    let start = Instant::now();
    while leases(&pg) != "0" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the dropped lease is still held"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let again = pg_store(pg.url(), "default", Duration::ZERO);
    assert!(again.hold(&Scope::All, "roster import").is_ok());
}
