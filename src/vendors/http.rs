//! The HTTP client every driver sends through: timeouts, the one retry policy,
//! the rate limit, and redaction of secrets from anything shown.
//!
//! What a vendor answers is hostile until read: a redirect is followed only for
//! a read, only within the origin it was sent to (a creation's body, a login's
//! credentials never reach another host); an answer is read up to
//! `max_response` bytes, counted as it arrives; a wait the vendor asks for is
//! waited only up to `max_wait`, beyond which this vendor's work stops.
//!
//! The retry rule is the heart of "never create twice": a request is sent again
//! only when the vendor cannot have acted on it (the connection was refused, or it
//! answered "slow down"), or when it is a read. A creation whose fate is unknown
//! comes back as `CallError::Unknown` and the executor records the pair pending.

use crate::secret::{Redactor, Secret};
use crate::vendors::Limits;
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A vendor's answer, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "unreadable answer (HTTP {}): {e}: {}",
                self.status.as_u16(),
                snippet(&self.body)
            )
        })
    }
}

/// Why a call gave no usable answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request never reached the vendor (after every allowed retry).
    #[error("{0}")]
    NotSent(String),
    /// The request may have reached the vendor; whether it acted is unknown.
    #[error("{0}")]
    Unknown(String),
    /// The vendor refused the whole request.
    #[error("{message}")]
    Refused { status: u16, message: String },
}

/// Whether sending a request again could do something twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Creates something: resent only if the vendor cannot have acted on it.
    Create,
    /// Reads: safe to resend.
    Read,
}

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
    fn backoff(&self, attempt: u32) -> Duration {
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

static SHARED_BUDGET: OnceLock<Arc<dyn SharedBudget>> = OnceLock::new();

/// Makes every vendor client of this process spend `budget` before each
/// request, besides its own limiter (the state in PostgreSQL installs itself
/// here). The first installed stays for the life of the process.
pub fn share_budget(budget: Arc<dyn SharedBudget>) {
    let _ = SHARED_BUDGET.set(budget);
}

/// How long a reservation in the shared budget may take before this client
/// paces itself alone.
const BUDGET_TIMEOUT: Duration = Duration::from_secs(10);

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

/// The shared client of one configured vendor.
pub struct Http {
    /// For reads (GET, HEAD): follows a few redirects within the origin.
    client: reqwest::Client,
    /// For everything else: follows none.
    stay: reqwest::Client,
    vendor: String,
    redactor: Redactor,
    limiter: RateLimiter,
    /// The vendor account's key in the shared budget, and its rate.
    account: String,
    rate_per_second: f64,
    /// The shared budget failed once: this client paces itself alone.
    alone: AtomicBool,
    retry: RetryPolicy,
    throttled: fn(&Response) -> bool,
    quota: fn(&Response) -> Option<Duration>,
    /// The largest answer read, in bytes.
    max_response: u64,
    /// The longest wait the vendor may ask for.
    max_wait: Duration,
    /// Why this vendor's work stopped (it asked for a wait over `max_wait`):
    /// every later request fails with it, unsent.
    stopped: std::sync::Mutex<Option<String>>,
    /// The time this vendor has held roster waiting so far, as a span of wall
    /// clock (waits that overlap, of requests in flight together, count once),
    /// and until when the last wait holds: `max_wait` bounds its sum too.
    waited: std::sync::Mutex<(Duration, Option<std::time::Instant>)>,
}

/// The default throttle rule: HTTP 429.
pub fn is_429(response: &Response) -> bool {
    response.status == StatusCode::TOO_MANY_REQUESTS
}

impl Http {
    /// The client of `vendor`, whose account is `account` (see [`account_key`]).
    pub fn new(
        vendor: &str,
        account: String,
        limits: &Limits,
        secrets: Vec<Secret>,
    ) -> anyhow::Result<Http> {
        // The timeout bounds the whole call, the answer's body included.
        let builder = |redirect| {
            reqwest::Client::builder()
                .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
                .timeout(limits.timeout)
                .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
                .redirect(redirect)
                .build()
                .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
        };
        let reads = reqwest::redirect::Policy::custom(|attempt| {
            let previous = attempt.previous();
            let Some(first) = previous.first() else {
                return attempt.stop();
            };
            match redirect_verdict(
                &Method::GET,
                attempt.status(),
                first,
                Some(attempt.url()),
                previous.len() - 1,
            ) {
                Ok(()) => attempt.follow(),
                Err(why) => attempt.error(why),
            }
        });
        Ok(Http {
            client: builder(reads)?,
            stay: builder(reqwest::redirect::Policy::none())?,
            vendor: vendor.to_string(),
            redactor: Redactor::new(&secrets),
            // No bursts: a vendor's "N a second" may be a sliding window.
            limiter: RateLimiter::new(limits.rate_per_second, 1),
            account,
            rate_per_second: limits.rate_per_second,
            alone: AtomicBool::new(false),
            retry: RetryPolicy::default(),
            throttled: is_429,
            quota: spent_quota,
            max_response: limits.max_response,
            max_wait: limits.max_wait,
            stopped: std::sync::Mutex::new(None),
            waited: std::sync::Mutex::new((Duration::ZERO, None)),
        })
    }

    /// How this vendor says "slow down, nothing was done" (HTTP 429 by default).
    pub fn with_throttle(mut self, throttled: fn(&Response) -> bool) -> Http {
        self.throttled = throttled;
        self
    }

    /// How long an answer says the vendor's quota holds every request (by default:
    /// a spent `X-RateLimit-*` or `X-BurstLimit-*` until its own reset).
    pub fn with_quota(mut self, quota: fn(&Response) -> Option<Duration>) -> Http {
        self.quota = quota;
        self
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// This vendor's secrets, those of its settings and those it hands out at run
    /// time (add them here): every text this client produces passes through it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// `text` with every form of every secret of this vendor replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Waits for this request's slot in the account's shared budget, if one is
    /// installed. Should the budget fail, says so once and paces this client
    /// by its own limiter alone from then on: never stalls nor fails the run.
    async fn shared_slot(&self) {
        let Some(budget) = SHARED_BUDGET.get() else {
            return;
        };
        let rate = self.rate_per_second;
        if !(rate > 0.0 && rate.is_finite()) || self.alone.load(Ordering::Relaxed) {
            return;
        }
        let (budget, account) = (Arc::clone(budget), self.account.clone());
        let reserve = tokio::task::spawn_blocking(move || budget.reserve(&account, rate));
        let error = match tokio::time::timeout(BUDGET_TIMEOUT, reserve).await {
            Ok(Ok(Ok(wait))) => {
                tokio::time::sleep(wait).await;
                return;
            }
            Ok(Ok(Err(e))) => format!("{e:#}"),
            Ok(Err(e)) => format!("the reservation did not finish: {e}"),
            Err(_) => format!(
                "no answer in {}",
                humantime::format_duration(BUDGET_TIMEOUT)
            ),
        };
        if !self.alone.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "{}: the rate budget shared with other runners failed ({}); this run paces its own requests only",
                self.vendor,
                self.redact(&error)
            );
        }
    }

    /// Sends `request` under the rate limit and the retry policy.
    pub async fn send(&self, call: Call, request: reqwest::Request) -> Result<Response, CallError> {
        let method = request.method().clone();
        // Never the query (it may hold a secret), and the path redacted: it may
        // hold a `${VAR}`'s value (DocuSign's account id).
        let path = self.redact(request.url().path());
        // Only a read may be redirected, and only within its origin.
        let client = if matches!(method, Method::GET | Method::HEAD) {
            &self.client
        } else {
            &self.stay
        };
        let mut attempt = 0;
        loop {
            let Some(this_try) = request.try_clone() else {
                return Err(CallError::NotSent("request body cannot be replayed".into()));
            };
            self.check_stopped()?;
            self.limiter.acquire().await;
            self.shared_slot().await;
            // Another request may have stopped this vendor while this one waited.
            self.check_stopped()?;
            let started = Instant::now();
            let result = client.execute(this_try).await;
            let more = attempt + 1 < self.retry.attempts;
            match result {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    tracing::debug!(vendor = %self.vendor, %method, %path, status = status.as_u16(),
                        ms = started.elapsed().as_millis() as u64, "answer");
                    if status.is_redirection() {
                        // Not followed (see `redirect_verdict`), or no redirect at all (300,
                        // 304): never taken for the answer, never sent again; a creation
                        // may have been acted on.
                        let to = headers
                            .get(LOCATION)
                            .and_then(|l| l.to_str().ok())
                            .and_then(|l| resp.url().join(l).ok());
                        let why = if is_redirect(status) {
                            redirect_verdict(&method, status, resp.url(), to.as_ref(), 0).err()
                        } else {
                            None
                        };
                        let why = why.unwrap_or_else(|| {
                            format!(
                                "HTTP {}: a redirection roster does not follow, not an answer",
                                status.as_u16()
                            )
                        });
                        return Err(CallError::Unknown(self.redact(&why)));
                    }
                    let body = match self.read_body(resp).await {
                        Ok(b) => b,
                        // Too large: never retried, and a creation may have been made.
                        Err(BodyError::TooLarge(msg)) => return Err(CallError::Unknown(msg)),
                        Err(BodyError::Failed(e)) => {
                            let msg = self.describe_error(&e, "reading the answer failed");
                            if call == Call::Read && more {
                                self.pause(attempt, None).await;
                                attempt += 1;
                                continue;
                            }
                            return Err(CallError::Unknown(msg));
                        }
                    };
                    let response = Response {
                        status,
                        headers,
                        body,
                    };
                    let throttled = (self.throttled)(&response);
                    let transient =
                        call == Call::Read && matches!(status.as_u16(), 500 | 502 | 503 | 504);
                    let hold = (self.quota)(&response).map(|asked| Wait {
                        asked,
                        source: "rate-limit reset",
                    });
                    let mut held = None;
                    if let Some(hold) = hold {
                        // The vendor says the quota is spent: hold everyone until it resets,
                        // or, if that is too long, stop. An answer is still an answer.
                        match self.judge(hold, true) {
                            Ok(wait) => {
                                self.limiter.hold_until(Instant::now() + wait).await;
                                held = Some(wait);
                            }
                            Err(stop) if throttled || transient => {
                                return Err(CallError::NotSent(stop))
                            }
                            Err(_) => {}
                        }
                    }
                    if throttled || transient {
                        let asked = retry_after(&response.headers)
                            .map(|asked| Wait {
                                asked,
                                source: "Retry-After",
                            })
                            .or_else(|| {
                                held.is_none()
                                    .then(|| reset_after(&response.headers))
                                    .flatten()
                                    .map(|asked| Wait {
                                        asked,
                                        source: "rate-limit reset",
                                    })
                            });
                        // The hold, judged above, or what this answer asks for: too
                        // long, and this vendor stops, even after the last attempt.
                        let wait = match asked.map(|w| self.judge(w, more)).transpose() {
                            Ok(wait) => wait.or(held),
                            Err(stop) => return Err(CallError::NotSent(stop)),
                        };
                        if !more {
                            return Ok(response);
                        }
                        tracing::info!(vendor = %self.vendor, status = status.as_u16(),
                            wait_ms = asked.or(hold).map(|w| w.asked.as_millis() as u64), "vendor asked to slow down; retrying");
                        if let Some(wait) = wait {
                            self.limiter.hold_until(Instant::now() + wait).await;
                        }
                        self.pause(attempt, wait).await;
                        attempt += 1;
                        continue;
                    }
                    return Ok(response);
                }
                Err(e) if e.is_redirect() => {
                    // Refused by the policy (another origin, or too many hops),
                    // which said why: never retried, never taken for an answer.
                    let why = std::error::Error::source(&e)
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "a redirect was not followed".into());
                    return Err(CallError::Unknown(self.redact(&why)));
                }
                Err(e) => {
                    // A refused connection never carried the request; anything later
                    // (timeout, reset) may have reached the vendor.
                    let not_sent = e.is_connect();
                    let msg = self.describe_error(&e, "request failed");
                    tracing::debug!(vendor = %self.vendor, %method, %path, error = %msg, "no answer");
                    if (not_sent || call == Call::Read) && more {
                        self.pause(attempt, None).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(if not_sent {
                        CallError::NotSent(msg)
                    } else {
                        CallError::Unknown(msg)
                    });
                }
            }
        }
    }

    /// The answer's body, read as it arrives and never past `max_response`:
    /// refused up front if its `Content-Length` says more, and as soon as more
    /// has arrived otherwise (a chunked body states no length).
    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, BodyError> {
        let cap = self.max_response;
        if let Some(length) = resp.content_length().filter(|l| *l > cap) {
            return Err(BodyError::TooLarge(too_large(
                &self.vendor,
                cap,
                &format!("its Content-Length says {length} bytes"),
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(BodyError::Failed)? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(BodyError::TooLarge(too_large(
                    &self.vendor,
                    cap,
                    &format!("more than {cap} bytes arrived"),
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The error of a vendor that stopped (see `judge`), if it did.
    fn check_stopped(&self) -> Result<(), CallError> {
        match self.stopped.lock().ok().and_then(|s| s.clone()) {
            Some(stop) => Err(CallError::NotSent(stop)),
            None => Ok(()),
        }
    }

    /// A wait the vendor asked for, within `max_wait`, announced on stderr when
    /// long and `waiting`; beyond `max_wait`, the reason this vendor's work
    /// stops, which every later request of this client also fails with.
    fn judge(&self, wait: Wait, waiting: bool) -> Result<Duration, String> {
        let judged = judge_wait(&self.vendor, wait, self.max_wait, SystemTime::now())
            .and_then(|d| self.spend_wait(wait, d));
        match judged {
            Ok(d) => {
                if waiting && d > ANNOUNCED_WAIT {
                    tracing::warn!(
                        "{}: the vendor asked to wait {} ({}); waiting",
                        self.vendor,
                        humantime::format_duration(whole_seconds(d)),
                        wait.source
                    );
                }
                Ok(d)
            }
            Err(stop) => {
                // Said by each request it fails (a spent quota's last answer
                // may end the run, and nothing then needs saying).
                if let Ok(mut stopped) = self.stopped.lock() {
                    stopped.get_or_insert_with(|| stop.clone());
                }
                Err(stop)
            }
        }
    }

    /// Counts a wait of `d` towards the time this vendor has held roster in
    /// all; past `max_wait`, the message that stops its work. Many short waits
    /// are as long as one long one: a vendor answering every request "retry in
    /// 299 s" would otherwise hold an apply (and its lock) for days.
    fn spend_wait(&self, wait: Wait, d: Duration) -> Result<Duration, String> {
        let Ok(mut waited) = self.waited.lock() else {
            return Ok(d);
        };
        let (spent, until) = &mut *waited;
        let now = std::time::Instant::now();
        let end = now + d;
        let from = until.map_or(now, |u| u.max(now));
        let added = end.saturating_duration_since(from);
        if *spent + added > self.max_wait {
            return Err(format!(
                "{} has asked to wait {} in all ({} more, {}); more than max_wait {}: stopped; re-run after {}",
                self.vendor,
                humantime::format_duration(whole_seconds(*spent + added)),
                humantime::format_duration(whole_seconds(d)),
                wait.source,
                humantime::format_duration(whole_seconds(self.max_wait)),
                rerun_after(SystemTime::now(), d)
            ));
        }
        *spent += added;
        *until = Some(until.map_or(end, |u| u.max(end)));
        Ok(d)
    }

    async fn pause(&self, attempt: u32, at_least: Option<Duration>) {
        let wait = self
            .retry
            .backoff(attempt)
            .max(at_least.unwrap_or_default());
        tokio::time::sleep(wait).await;
    }

    /// A reqwest error as a sentence, with its causes and without the URL (which may
    /// carry a credential in its query).
    fn describe_error(&self, e: &reqwest::Error, what: &str) -> String {
        let mut text = if e.is_timeout() {
            format!("{what}: timed out")
        } else {
            what.to_string()
        };
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.redact(&text)
    }

    /// An error answer to the whole request, as a sentence a person can act on. A
    /// 5xx may come after the vendor acted, so it is `Unknown`; a 4xx is a refusal.
    pub fn failure(&self, response: &Response) -> CallError {
        // Redacted before it is cut to a snippet, so no secret is cut in two.
        // Only redacted here: `describe` reads it as JSON, then sanitises.
        let body = self
            .redactor
            .redact_data(&String::from_utf8_lossy(&response.body));
        let message = self.redact(&describe(response.status, body.as_bytes()));
        if response.status.is_server_error() {
            CallError::Unknown(message)
        } else {
            CallError::Refused {
                status: response.status.as_u16(),
                message,
            }
        }
    }
}

/// Why an answer's body was not read whole.
enum BodyError {
    /// Larger than `max_response`: the message says so.
    TooLarge(String),
    /// The connection failed or timed out while it arrived.
    Failed(reqwest::Error),
}

/// The error of an answer larger than `cap`, naming the vendor, the cap and
/// the setting that raises it.
fn too_large(vendor: &str, cap: u64, seen: &str) -> String {
    format!(
        "{vendor}: the answer is larger than max_response {} ({seen}): not read; raise `max_response` for this vendor if such an answer is expected",
        bytesize::ByteSize(cap)
    )
}

/// The most redirects of one read that are followed (all within its origin).
pub const MAX_REDIRECTS: usize = 5;

/// Waits the vendor asks for longer than this are announced on stderr.
const ANNOUNCED_WAIT: Duration = Duration::from_secs(5);

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A URL's origin as shown: scheme, host and port; never its credentials,
/// path or query.
fn show_origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Whether a redirect of a `method` request sent to `from` (HTTP `status`, to
/// `to`, after `hops` redirects already followed) is followed. Only a read's
/// (GET, HEAD), only within `from`'s origin (scheme, host and port: a body or
/// a credential never reaches another host), and only a few times; a
/// creation's is never (the vendor may have acted on it). `Err` says why not,
/// showing at most the target's origin.
pub fn redirect_verdict(
    method: &Method,
    status: StatusCode,
    from: &Url,
    to: Option<&Url>,
    hops: usize,
) -> Result<(), String> {
    let head = format!("HTTP {} redirect", status.as_u16());
    let Some(to) = to else {
        return Err(format!("{head} without a usable Location: not followed"));
    };
    if to.origin() != from.origin() {
        return Err(format!(
            "{head} to another origin ({}): refused; roster follows redirects only within {}",
            show_origin(to),
            show_origin(from)
        ));
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        return Err(format!(
            "{head} of a {method}: refused, not sent again (the vendor may have acted on it)"
        ));
    }
    if hops >= MAX_REDIRECTS {
        return Err(format!(
            "{head}: more than {MAX_REDIRECTS} redirects in a row: refused"
        ));
    }
    Ok(())
}

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
fn whole_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// `now + wait`, rounded up to the minute, as "2026-12-07 20:15 UTC".
fn rerun_after(now: SystemTime, wait: Duration) -> String {
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

/// An error answer as "HTTP 401 access_denied: bad token", whatever the vendor's
/// error shape (OAuth, Act-On, DocuSign, ServiceStack, SCIM); the vendor's
/// words sanitised (see [`crate::secret::sanitise`]).
pub fn describe(status: StatusCode, body: &[u8]) -> String {
    crate::secret::sanitise(&describe_raw(status, body))
}

fn describe_raw(status: StatusCode, body: &[u8]) -> String {
    let head = format!("HTTP {}", status.as_u16());
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = snippet(body);
        return if text.is_empty() {
            head
        } else {
            format!("{head}: {text}")
        };
    };
    let v = v.get("ResponseStatus").unwrap_or(&v);
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(|x| x.as_str()).filter(|s| !s.is_empty()))
            .map(str::to_string)
    };
    let code = pick(&["errorCode", "ErrorCode", "error", "scimType", "code"]);
    let message = pick(&[
        "message",
        "Message",
        "errorMessage",
        "error_description",
        "detail",
    ]);
    match (code, message) {
        (Some(c), Some(m)) => format!("{head} {c}: {m}"),
        (Some(c), None) => format!("{head} {c}"),
        (None, Some(m)) => format!("{head}: {m}"),
        (None, None) => format!("{head}: {}", snippet(body)),
    }
}

/// The start of a body, on one line and sanitised, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let one_line = if one_line.chars().count() > 200 {
        format!("{}...", one_line.chars().take(200).collect::<String>())
    } else {
        one_line
    };
    crate::secret::sanitise(&one_line)
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
    fn describes_every_error_shape() {
        let cases = [
            (
                401,
                r#"{"error":"access_denied","error_description":"bad token"}"#,
                "HTTP 401 access_denied: bad token",
            ),
            (
                400,
                r#"{"errorCode":"INVALID_EMAIL","message":"nope"}"#,
                "HTTP 400 INVALID_EMAIL: nope",
            ),
            (
                400,
                r#"{"ResponseStatus":{"ErrorCode":"Dup","Message":"exists"}}"#,
                "HTTP 400 Dup: exists",
            ),
            (
                409,
                r#"{"scimType":"uniqueness","detail":"taken","status":"409"}"#,
                "HTTP 409 uniqueness: taken",
            ),
            (
                422,
                r#"{"error":"password is missing"}"#,
                "HTTP 422 password is missing",
            ),
            (
                502,
                "<html>\n bad   gateway</html>",
                "HTTP 502: <html> bad gateway</html>",
            ),
            (500, "", "HTTP 500"),
            (
                400,
                "{\"detail\":\"no\\u001b[2J\\r Apply: 5 created\"}",
                "HTTP 400: no\\u{1b}[2J\\u{d} Apply: 5 created",
            ),
            (
                502,
                "\u{1b}]8;;http://evil\u{7}x\u{1b}]8;;\u{7}\u{202e}",
                "HTTP 502: \\u{1b}]8;;http://evil\\u{7}x\\u{1b}]8;;\\u{7}\\u{202e}",
            ),
        ];
        for (status, body, want) in cases {
            assert_eq!(
                describe(StatusCode::from_u16(status).unwrap(), body.as_bytes()),
                want
            );
        }
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
    fn redirects_are_followed_only_for_reads_within_their_origin() {
        let url = |u: &str| Url::parse(u).unwrap();
        let from = url("https://api.example.com/scim/v2/Users?startIndex=1");
        let (get, post) = (Method::GET, Method::POST);
        let found = StatusCode::FOUND;
        let same = url("https://api.example.com/v2/Users?startIndex=1");
        assert_eq!(redirect_verdict(&get, found, &from, Some(&same), 0), Ok(()));
        assert_eq!(
            redirect_verdict(&Method::HEAD, found, &from, Some(&same), 4),
            Ok(())
        );
        let hops = redirect_verdict(&get, found, &from, Some(&same), MAX_REDIRECTS).unwrap_err();
        assert!(hops.contains("more than 5 redirects"), "{hops}");

        // Another scheme, host or port is another origin, whatever the method.
        for other in [
            "http://api.example.com/scim/v2/Users",
            "https://api.example.com:8443/scim/v2/Users",
            "https://evil.example.com/scim/v2/Users",
            "https://user:pw@evil.example.com/steal?token=tok-1#frag",
        ] {
            for method in [&get, &post, &Method::PUT, &Method::PATCH] {
                let why = redirect_verdict(
                    method,
                    StatusCode::TEMPORARY_REDIRECT,
                    &from,
                    Some(&url(other)),
                    0,
                )
                .unwrap_err();
                assert!(
                    why.starts_with("HTTP 307 redirect to another origin (")
                        && why.contains("within https://api.example.com"),
                    "{method} {other}: {why}"
                );
                // The target's origin at most: no credentials, path or query.
                for hidden in ["user", "pw", "steal", "token", "tok-1", "frag", "scim"] {
                    assert!(!why.contains(hidden), "{other}: {why}");
                }
            }
        }

        // A creation is never redirected, not even within its origin.
        for method in [&post, &Method::PUT, &Method::PATCH, &Method::DELETE] {
            for status in [301, 302, 303, 307, 308] {
                let status = StatusCode::from_u16(status).unwrap();
                let why = redirect_verdict(method, status, &from, Some(&same), 0).unwrap_err();
                assert_eq!(
                    why,
                    format!(
                        "HTTP {} redirect of a {method}: refused, not sent again (the vendor may have acted on it)",
                        status.as_u16()
                    )
                );
            }
        }
        // Nowhere to go, or a scheme with no origin: not followed.
        assert!(redirect_verdict(&get, found, &from, None, 0).is_err());
        assert!(redirect_verdict(&get, found, &from, Some(&url("data:text/plain,x")), 0).is_err());
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

    #[test]
    fn an_answer_too_large_names_the_vendor_the_cap_and_the_setting() {
        let msg = too_large("app", 8 << 20, "its Content-Length says 9000000 bytes");
        assert_eq!(
            msg,
            "app: the answer is larger than max_response 8.0 MiB (its Content-Length says 9000000 bytes): not read; raise `max_response` for this vendor if such an answer is expected"
        );
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
