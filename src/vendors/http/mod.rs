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

mod body;
mod pacing;
mod redirect;

pub use body::{describe, snippet};
pub use pacing::{
    account_key, is_spent, judge_wait, reset_after, reset_in, retry_after, spent_quota,
    RateLimiter, RetryPolicy, SharedBudget, Wait,
};
pub use redirect::{redirect_verdict, MAX_REDIRECTS};

use body::{read_body, BodyError};
use pacing::{rerun_after, whole_seconds, ANNOUNCED_WAIT, BUDGET_TIMEOUT};
use redirect::is_redirect;

use crate::secret::{Redactor, Secret};
use crate::vendors::Limits;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
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

/// The shared client of one configured vendor.
pub struct Http {
    /// For reads (GET, HEAD): follows a few redirects within the origin.
    client: reqwest::Client,
    /// For everything else: follows none.
    stay: reqwest::Client,
    vendor: String,
    redactor: Redactor,
    limiter: RateLimiter,
    /// The budget shared with other runners (the state in PostgreSQL), if any.
    budget: Option<Arc<dyn SharedBudget>>,
    /// The vendor account's key in the shared budget, and its rate.
    account: String,
    rate_per_second: f64,
    /// The shared budget failed once: this client paces itself alone.
    alone: AtomicBool,
    /// Requests sent (every attempt), for the reports' counts.
    sent: AtomicUsize,
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
    /// The client of `vendor`, whose account is `account` (see [`account_key`]),
    /// spending `budget` (shared with other runners) before each request
    /// besides its own limiter, when there is one.
    pub fn new(
        vendor: &str,
        account: String,
        limits: &Limits,
        secrets: Vec<Secret>,
        budget: Option<Arc<dyn SharedBudget>>,
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
            budget,
            account,
            rate_per_second: limits.rate_per_second,
            alone: AtomicBool::new(false),
            sent: AtomicUsize::new(0),
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

    /// The vendor's name, as configured: what messages call it.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// The request `builder` makes (from [`Http::client`]); when it cannot
    /// make one, nothing was sent, and the error says why without the URL.
    pub fn build(&self, builder: reqwest::RequestBuilder) -> Result<reqwest::Request, CallError> {
        builder.build().map_err(|e| {
            CallError::NotSent(
                self.redact(&format!("cannot build the request: {}", e.without_url())),
            )
        })
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
        let Some(budget) = &self.budget else {
            return;
        };
        let rate = self.rate_per_second;
        if !(rate > 0.0 && rate.is_finite()) || self.alone.load(Ordering::Relaxed) {
            return;
        }
        let reserve = budget.reserve(&self.account, rate);
        let error = match tokio::time::timeout(BUDGET_TIMEOUT, reserve).await {
            Ok(Ok(wait)) => {
                tokio::time::sleep(wait).await;
                return;
            }
            Ok(Err(e)) => format!("{e:#}"),
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
    /// How many requests this client has sent, every attempt of each: what
    /// the vendor received from this run.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

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
            self.sent.fetch_add(1, Ordering::Relaxed);
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
                    let body = match read_body(&self.vendor, self.max_response, resp).await {
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

/// A client for tests that send through nothing but a local server, or nothing
/// at all: no rate limit, no secret, no shared budget.
#[cfg(test)]
pub(crate) fn test_client() -> Http {
    let limits = Limits {
        batch_size: 1,
        concurrency: 1,
        rate_per_second: 0.0,
        timeout: Duration::from_secs(5),
        max_response: Limits::DEFAULT_MAX_RESPONSE,
        max_wait: Limits::DEFAULT_MAX_WAIT,
    };
    Http::new("app", "app".into(), &limits, vec![], None).expect("a client")
}
