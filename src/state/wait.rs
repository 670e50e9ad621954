//! One wait for a lock another run holds, used by both stores (the state
//! file's lock and PostgreSQL's leases): attempts until a deadline with one
//! backoff, then a [`Error::Locked`] naming the holder. Async: the pauses
//! are the runtime's timer, so a wait never holds a thread of it.

use super::{Error, Result};
use std::time::{Duration, Instant};

/// The first pause between attempts; each next one doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(25);
const MAX_PAUSE: Duration = Duration::from_millis(250);

/// Calls `try_once` until it takes the lock (`Ok(Ok(taken))`), fails
/// (`Err`), or finds it held (`Ok(Err(holder))`) once `wait` has passed;
/// pauses between attempts never run past that deadline, and a wait too long
/// to add to the clock (`--lock-timeout 10000y`) has none. `waiting` hears of
/// the holder once, when the first pause begins. At the deadline `refuse`
/// makes the error from the last holder and the text to append to its first
/// sentence: ` (waited 5s)`, or nothing when it never paused.
pub async fn lock_within<T, H, F>(
    wait: Duration,
    mut try_once: impl FnMut() -> F,
    mut waiting: impl FnMut(&H),
    refuse: impl FnOnce(H, &str) -> Error,
) -> Result<T>
where
    F: std::future::Future<Output = Result<std::result::Result<T, H>>>,
{
    let deadline = Instant::now().checked_add(wait);
    let mut pause = FIRST_PAUSE;
    let mut waited = false;
    loop {
        let holder = match try_once().await? {
            Ok(taken) => return Ok(taken),
            Err(holder) => holder,
        };
        let left = deadline.map_or(Duration::MAX, |d| {
            d.saturating_duration_since(Instant::now())
        });
        if left.is_zero() {
            let waited = if waited {
                format!(" (waited {})", humantime::format_duration(wait))
            } else {
                String::new()
            };
            return Err(refuse(holder, &waited));
        }
        if !waited {
            waiting(&holder);
            waited = true;
        }
        tokio::time::sleep(left.min(pause)).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(holder: &'static str, waited: &str) -> Error {
        Error::Locked {
            holder: holder.into(),
            since: None,
            message: format!("held by {holder}{waited}"),
        }
    }

    #[tokio::test]
    async fn without_a_wait_one_attempt_and_no_waited_suffix() {
        let (mut tries, mut told) = (0, 0);
        let err = lock_within(
            Duration::ZERO,
            || {
                tries += 1;
                std::future::ready(Ok(Err::<(), _>("pid 1")))
            },
            |_| told += 1,
            refuse,
        )
        .await
        .unwrap_err();
        assert_eq!(
            (tries, told, err.to_string()),
            (1, 0, "held by pid 1".into())
        );
    }

    #[tokio::test]
    async fn waits_to_the_deadline_backing_off_and_says_how_long() {
        let (mut tries, mut told) = (0, 0);
        let start = Instant::now();
        let err = lock_within(
            Duration::from_millis(400),
            || {
                tries += 1;
                std::future::ready(Ok(Err::<(), _>("pid 1")))
            },
            |holder| {
                assert_eq!(*holder, "pid 1");
                told += 1
            },
            refuse,
        )
        .await
        .unwrap_err();
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(400), "{took:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
        assert_eq!(err.kind(), super::super::Kind::Locked);
        assert_eq!(err.to_string(), "held by pid 1 (waited 400ms)");
        assert_eq!(told, 1);
        // 25, 50, 100, 200 then what is left: a handful, not one per millisecond.
        assert!((4..=8).contains(&tries), "{tries} attempts");
    }

    #[tokio::test]
    async fn a_wait_past_the_clock_has_no_deadline_and_does_not_panic() {
        let mut tries = 0;
        let taken = lock_within(
            Duration::MAX,
            || {
                tries += 1;
                std::future::ready(Ok(if tries < 3 { Err("pid 1") } else { Ok(tries) }))
            },
            |_| {},
            refuse,
        )
        .await
        .unwrap();
        assert_eq!(taken, 3);
    }

    #[tokio::test]
    async fn a_failed_attempt_ends_the_wait() {
        let err = lock_within(
            Duration::from_secs(60),
            || {
                std::future::ready(Err::<std::result::Result<(), &str>, _>(Error::Other(
                    anyhow::anyhow!("gone"),
                )))
            },
            |_| {},
            refuse,
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), super::super::Kind::Other);
    }
}
