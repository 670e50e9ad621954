//! How fast a vendor is asked: the retry policy's backoff, the rate limiter,
//! the budget shared with other runners, and the waits a vendor asks for,
//! judged against `max_wait`.

use crate::secret::Secret;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::Response;

/// How often and how long to retry.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter: half fixed, half random, capped.
    pub(super) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap);
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// A GCRA token bucket: `rate` requests a second, bursts of `burst`.
pub struct RateLimiter {
    interval: Duration,
    burst: u32,
    tat: Mutex<Instant>,
}

impl RateLimiter {
    pub fn new(rate_per_second: f64, burst: u32) -> RateLimiter {
        let interval = if rate_per_second > 0.0 && rate_per_second.is_finite() {
            Duration::from_secs_f64(1.0 / rate_per_second)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            burst: burst.max(1),
            tat: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let at = {
            let mut tat = self.tat.lock().await;
            let now = Instant::now();
            let start = (*tat).max(now);
            let at = start
                .checked_sub(self.interval * (self.burst - 1))
                .unwrap_or(now)
                .max(now);
            *tat = start + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Holds every later request until `until`: the vendor said to slow down.
    pub async fn hold_until(&self, until: Instant) {
        let mut tat = self.tat.lock().await;
        let burst_span = self.interval * (self.burst - 1);
        *tat = (*tat).max(until + burst_span);
    }
}

pub use crate::model::SharedBudget;

/// How long a reservation in the shared budget may take before this client
/// paces itself alone.
pub(super) const BUDGET_TIMEOUT: Duration = Duration::from_secs(10);

/// The name of a vendor account's shared budget: its kind and a SHA-256 of
/// its base URL and credentials (the same credentials at the same base are
/// the same account; a host alone may serve every customer). It is stored in
/// PostgreSQL (`roster_budgets.account`) and may be logged, so it holds
/// neither a credential nor the URL (which may name a customer, or have held
/// one in its `user:password@`).
pub fn account_key(kind: &str, base: &str, secrets: &[Secret]) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(base.as_bytes());
    digest.update([0]);
    for secret in secrets {
        digest.update(secret.expose().as_bytes());
        digest.update([0]);
    }
    let digest = digest.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind} {hex}")
}

/// Waits the vendor asks for longer than this are announced on stderr.
pub(super) const ANNOUNCED_WAIT: Duration = Duration::from_secs(5);

/// A wait a vendor asked for, and which of its headers asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    pub asked: Duration,
    pub source: &'static str,
}

/// `wait` if it is at most `max_wait`; otherwise the message that stops the
/// vendor's work, naming the wait asked and when (from `now`) a re-run can
/// succeed.
pub fn judge_wait(
    vendor: &str,
    wait: Wait,
    max_wait: Duration,
    now: SystemTime,
) -> Result<Duration, String> {
    if wait.asked <= max_wait {
        return Ok(wait.asked);
    }
    Err(format!(
        "{vendor} asked to wait {} ({}); more than max_wait {}: stopped; re-run after {}",
        humantime::format_duration(whole_seconds(wait.asked)),
        wait.source,
        humantime::format_duration(whole_seconds(max_wait)),
        rerun_after(now, wait.asked)
    ))
}

/// `d` without its fraction of a second, for showing.
pub(super) fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// `now + wait`, rounded up to the minute, as "2026-12-07 20:15 UTC".
pub(super) fn rerun_after(now: SystemTime, wait: Duration) -> String {
    // The last second a date can be written for (9999-12-31T23:59:59Z).
    const LAST: Duration = Duration::from_secs(253_402_300_799);
    let at = now
        .checked_add(wait)
        .and_then(|t| t.checked_add(Duration::from_secs(59)))
        .filter(|t| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .is_ok_and(|d| d <= LAST)
        });
    let Some(at) = at else {
        return "the year 9999".into();
    };
    let text = humantime::format_rfc3339_seconds(at).to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(minute)) => format!("{day} {minute} UTC"),
        _ => text,
    }
}

/// `Retry-After` as a duration: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// How long until the Unix time (in seconds) in header `name`, such as
/// `X-RateLimit-Reset` (however long: `max_wait` judges it).
pub fn reset_in(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let reset = headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now)))
}

/// How long until a `X-RateLimit-Reset` or `X-BurstLimit-Reset`, the later one.
pub fn reset_after(headers: &HeaderMap) -> Option<Duration> {
    ["x-ratelimit-reset", "x-burstlimit-reset"]
        .iter()
        .filter_map(|h| reset_in(headers, h))
        .max()
}

/// Whether a remaining-quota header such as `X-RateLimit-Remaining` says 0.
pub fn is_spent(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// The default quota rule: each spent limit (`X-RateLimit-Remaining` or
/// `X-BurstLimit-Remaining` at 0) holds until its own reset.
pub fn spent_quota(response: &Response) -> Option<Duration> {
    exhausted(&response.headers)
}

fn exhausted(headers: &HeaderMap) -> Option<Duration> {
    [
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("x-burstlimit-remaining", "x-burstlimit-reset"),
    ]
    .iter()
    .filter(|(remaining, _)| is_spent(headers, remaining))
    .filter_map(|(_, reset)| reset_in(headers, reset))
    .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_key_names_the_account_never_its_credentials() {
        let token = [Secret::new("tok-123456")];
        let key = account_key("acton", "https://u:pw-9@api.example.com", &token);
        let (kind, hash) = key.split_once(' ').expect("kind and hash");
        assert_eq!(kind, "acton");
        assert!(
            hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{key}"
        );
        assert_eq!(
            key,
            account_key(
                "acton",
                "https://u:pw-9@api.example.com",
                &[Secret::new("tok-123456")]
            )
        );
        // Another customer on the same host, or the same token on another
        // host, is another account.
        assert_ne!(
            key,
            account_key(
                "acton",
                "https://u:pw-9@api.example.com",
                &[Secret::new("tok-9")]
            )
        );
        assert_ne!(
            key,
            account_key("acton", "https://api2.example.com", &token)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let got = retry_after(&h).unwrap();
        assert!(
            got > Duration::from_secs(25) && got <= Duration::from_secs(30),
            "{got:?}"
        );
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.attempts, 5);
        for attempt in 0..20 {
            let exp = (policy.base * 2u32.pow(attempt.min(16))).min(policy.cap);
            let wait = policy.backoff(attempt);
            assert!(
                wait >= exp / 2 && wait <= exp,
                "attempt {attempt}: {wait:?} outside {exp:?}/2..{exp:?}"
            );
        }
        assert!(policy.backoff(30) <= Duration::from_secs(20));
    }

    #[test]
    fn a_spent_quota_holds_until_its_reset() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "12".parse().unwrap());
        h.insert("x-ratelimit-reset", (now + 40).to_string().parse().unwrap());
        assert_eq!(exhausted(&h), None, "quota left: no hold");
        let reset = reset_after(&h).unwrap();
        assert!(
            reset > Duration::from_secs(35) && reset <= Duration::from_secs(40),
            "{reset:?}"
        );
        h.insert("x-burstlimit-remaining", "0".parse().unwrap());
        h.insert("x-burstlimit-reset", (now + 5).to_string().parse().unwrap());
        // The burst is spent, the hourly quota is not: wait for the burst's reset.
        let burst = exhausted(&h).unwrap();
        assert!(
            burst > Duration::from_secs(3) && burst <= Duration::from_secs(5),
            "{burst:?}"
        );
        // Both spent: wait for the later reset.
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        assert!(exhausted(&h).unwrap() > Duration::from_secs(35));
        h.insert("x-ratelimit-reset", (now - 10).to_string().parse().unwrap());
        assert!(exhausted(&h).unwrap() <= Duration::from_secs(5));
    }

    #[test]
    fn a_wait_over_max_wait_stops_and_says_when_to_run_again() {
        let max = Duration::from_secs(300);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_670_900); // 2026-12-07 19:15 UTC
        let wait = |secs, source| Wait {
            asked: Duration::from_secs(secs),
            source,
        };
        assert_eq!(
            judge_wait("docusign", wait(300, "Retry-After"), max, now),
            Ok(Duration::from_secs(300))
        );
        assert_eq!(
            judge_wait("docusign", wait(0, "Retry-After"), max, now),
            Ok(Duration::ZERO)
        );
        assert_eq!(
            judge_wait("docusign", wait(3600, "Retry-After"), max, now).unwrap_err(),
            "docusign asked to wait 1h (Retry-After); more than max_wait 5m: stopped; re-run after 2026-12-07 20:15 UTC"
        );
        assert_eq!(
            judge_wait("acton", wait(301, "rate-limit reset"), max, now).unwrap_err(),
            "acton asked to wait 5m 1s (rate-limit reset); more than max_wait 5m: stopped; re-run after 2026-12-07 19:21 UTC"
        );
        // However long, never a panic: no date to add it to.
        let forever = judge_wait("scim", wait(u64::MAX, "Retry-After"), max, now).unwrap_err();
        assert!(forever.ends_with("re-run after the year 9999"), "{forever}");
    }

    #[test]
    fn vendor_waits_are_read_whole_for_max_wait_to_judge() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "86400".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(86_400)));
        h.insert(RETRY_AFTER, u64::MAX.to_string().parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(u64::MAX)));
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        h.insert(
            "x-ratelimit-reset",
            (now + 7200).to_string().parse().unwrap(),
        );
        assert!(reset_after(&h).unwrap() > Duration::from_secs(7100));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_requests() {
        let limiter = RateLimiter::new(5.0, 1);
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire().await;
        }
        // Six requests at 5/s: the sixth starts one second after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_allows_bursts_then_holds() {
        let limiter = RateLimiter::new(2.0, 4);
        let start = Instant::now();
        for _ in 0..4 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        limiter.hold_until(start + Duration::from_secs(10)).await;
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(10));
    }
}
