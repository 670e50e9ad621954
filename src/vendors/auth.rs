//! Bearer tokens, for the drivers whose vendor wants one: given ready in the
//! settings, or obtained by a grant (Act-On's password grant, DocuSign's JWT
//! grant), cached for the run, renewed before they expire, and renewed once
//! more when the vendor refuses one (HTTP 401), the request then sent again.
//! Every token handed out joins the vendor's redactor.

use super::http::{Call, CallError, Http, Response};
use crate::secret::Secret;
use async_trait::async_trait;
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use std::time::Duration;
use tokio::time::Instant;

/// A token a grant handed out.
pub struct Token {
    pub access: Secret,
    /// What renews it without a new login, where the vendor gives one.
    pub refresh: Option<Secret>,
    /// When to renew it: some time before it expires.
    pub renew_at: Instant,
}

impl Token {
    /// A token that lives `lifetime` (a day at most: a longer promise is
    /// renewed early, and one long enough cannot be added to the clock),
    /// renewed `margin` before it ends, so that no request leaves with a token
    /// about to expire.
    pub fn new(
        access: Secret,
        refresh: Option<Secret>,
        lifetime: Duration,
        margin: Duration,
    ) -> Token {
        let lifetime = lifetime.min(Duration::from_secs(86_400));
        Token {
            access,
            refresh,
            renew_at: Instant::now() + lifetime.saturating_sub(margin),
        }
    }
}

/// How a vendor hands out tokens.
#[async_trait]
pub trait Grant: Send + Sync {
    /// A new token; `previous` is the one it replaces, if any (its refresh
    /// token may renew it). Whatever goes wrong, the request that needed the
    /// token was not sent.
    async fn obtain(&self, http: &Http, previous: Option<&Token>) -> Result<Token, CallError>;
}

/// Where a driver's bearer token comes from.
pub enum Bearer {
    /// A token from the settings, used as it is.
    Ready(Secret),
    /// A grant's tokens, cached and renewed as the run needs them.
    Granted {
        grant: Box<dyn Grant>,
        cached: tokio::sync::Mutex<Option<Token>>,
    },
}

impl Bearer {
    pub fn granted(grant: impl Grant + 'static) -> Bearer {
        Bearer::Granted {
            grant: Box::new(grant),
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid token: the ready one; or the cached one, or a new one when it
    /// is due for renewal or is the `refused` one (which the vendor answered
    /// 401). Requests refused together renew once: the first renews, the
    /// others take its token.
    async fn token(&self, http: &Http, refused: Option<&Secret>) -> Result<Secret, CallError> {
        let (grant, cached) = match self {
            Bearer::Ready(token) => return Ok(token.clone()),
            Bearer::Granted { grant, cached } => (grant, cached),
        };
        let mut cached = cached.lock().await;
        let usable = cached
            .as_ref()
            .filter(|t| Instant::now() < t.renew_at && Some(&t.access) != refused);
        if let Some(t) = usable {
            return Ok(t.access.clone());
        }
        let token = grant.obtain(http, cached.as_ref()).await?;
        // Handed out at run time, redacted like the configured secrets.
        http.redactor().add(&token.access);
        token.refresh.iter().for_each(|r| http.redactor().add(r));
        let access = token.access.clone();
        *cached = Some(token);
        Ok(access)
    }

    /// Sends `request` (built without credentials) through `http` with a valid
    /// token. A 401 means the vendor did nothing with it: under a grant the
    /// token is renewed and the request sent once more, whatever its `call`.
    pub async fn send(
        &self,
        http: &Http,
        call: Call,
        request: reqwest::Request,
    ) -> Result<Response, CallError> {
        let token = self.token(http, None).await?;
        let response = http.send(call, bearer(&request, &token)?).await?;
        if response.status != StatusCode::UNAUTHORIZED || matches!(self, Bearer::Ready(_)) {
            return Ok(response);
        }
        tracing::info!(
            "{}: the vendor refused the access token (HTTP 401); renewing it and sending again",
            http.vendor()
        );
        let fresh = self.token(http, Some(&token)).await?;
        http.send(call, bearer(&request, &fresh)?).await
    }
}

/// A copy of `request` that carries `token`, marked sensitive.
fn bearer(request: &reqwest::Request, token: &Secret) -> Result<reqwest::Request, CallError> {
    let mut request = request
        .try_clone()
        .ok_or_else(|| CallError::NotSent("request body cannot be replayed".into()))?;
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        CallError::NotSent("the access token is not a valid HTTP header value".into())
    })?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// The `n`th token a grant hands out.
    fn nth(n: usize) -> String {
        format!("tok-{n}-Zq8xYw7vU6tS5rR4")
    }

    /// A grant that hands out `nth(1)`, `nth(2)`, ... and counts its logins.
    struct Counting(Arc<AtomicUsize>);

    #[async_trait]
    impl Grant for Counting {
        async fn obtain(&self, _: &Http, _: Option<&Token>) -> Result<Token, CallError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            let access = Secret::new(nth(n));
            Ok(Token::new(
                access,
                None,
                Duration::from_secs(3600),
                Duration::ZERO,
            ))
        }
    }

    /// A vendor on 127.0.0.1 that refuses every token but `nth(2)` (HTTP 401)
    /// and counts the requests it is sent.
    async fn vendor() -> (String, Arc<AtomicUsize>) {
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&sent);
        let app = axum::Router::new().route(
            "/users",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let token = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if token == Some(&format!("Bearer {}", nth(2))) {
                        axum::http::StatusCode::CREATED
                    } else {
                        axum::http::StatusCode::UNAUTHORIZED
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/users", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, sent)
    }

    fn post(http: &Http, url: &str) -> reqwest::Request {
        http.client().post(url).body("{}").build().unwrap()
    }

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_for_the_requests_refused_together() {
        let (url, sent) = vendor().await;
        let http = crate::vendors::http::test_client();
        let logins = Arc::new(AtomicUsize::new(0));
        let bearer = Bearer::granted(Counting(Arc::clone(&logins)));
        let (a, b) = tokio::join!(
            bearer.send(&http, Call::Create, post(&http, &url)),
            bearer.send(&http, Call::Create, post(&http, &url)),
        );
        for answer in [a, b] {
            assert_eq!(answer.unwrap().status, StatusCode::CREATED);
        }
        // One login, one renewal for both refusals; each request sent twice.
        assert_eq!(logins.load(Ordering::SeqCst), 2);
        assert_eq!(sent.load(Ordering::SeqCst), 4);
        // Handed out at run time, so redacted.
        assert_eq!(http.redact(&format!("{} {}", nth(1), nth(2))), "*** ***");
    }

    #[tokio::test]
    async fn a_ready_token_refused_is_the_answer_never_sent_again() {
        let (url, sent) = vendor().await;
        let http = crate::vendors::http::test_client();
        let bearer = Bearer::Ready(Secret::new(nth(1)));
        let answer = bearer.send(&http, Call::Create, post(&http, &url)).await;
        assert_eq!(answer.unwrap().status, StatusCode::UNAUTHORIZED);
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }
}
