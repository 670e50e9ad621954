//! A stateful mock of the vendors' APIs, at their real paths under one prefix per
//! kind (`/acton/api/1/user`, ...). It keeps the users it created, answers
//! duplicates as the vendor would, checks credentials, and remembers every request
//! so tests can ask what the vendor received. `cargo run --example mock_vendors`
//! serves the same thing for demos.
//!
//! Every answer is written in one go and TCP_NODELAY is set, so timings measure
//! roster, not Nagle's algorithm.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The mock's settings; `Default` is what the quick start and most tests use.
#[derive(Clone, Debug)]
pub struct Config {
    pub acton_token: String,
    /// The OAuth password grant's client and user.
    pub acton_client_id: String,
    pub acton_client_secret: String,
    pub acton_username: String,
    pub acton_password: String,
    pub activeplatform_token: String,
    pub docusign_token: String,
    pub docusign_account: String,
    /// The JWT grant's app and user, and the public key its assertions must be
    /// signed for (tests/fixtures/docusign-test-key.pub.pem).
    pub docusign_integration_key: String,
    pub docusign_user_id: String,
    pub docusign_public_key: String,
    /// How long a token from `/oauth/token` works.
    pub docusign_token_lifetime: Duration,
    /// The `expires_in` the token answer announces; the real lifetime if unset
    /// (set it longer to play a token revoked early).
    pub docusign_expires_in: Option<u64>,
    pub formsonfire_company: u64,
    pub formsonfire_key: String,
    pub scim_token: String,
    /// Added before every answer.
    pub latency: Duration,
    /// Emails at this domain are refused by every vendor (a vendor-side rule roster
    /// cannot check in advance).
    pub blocked_domain: String,
    /// The most users one page of a list holds, whatever the client asks for
    /// (the server's own cap); small, so that tests page.
    pub page_cap: usize,
    /// How long after its creation an account stays out of lists and searches
    /// (a vendor still processing it, or a lagging search index).
    pub search_lag: Duration,
    /// Whether the SCIM server can filter (its ServiceProviderConfig says so);
    /// when it cannot, a `filter` parameter is refused.
    pub scim_filter: bool,
    /// A value that names something the vendor does not have: a group id, custom
    /// attribute, permission profile or title equal to it is refused with "...
    /// does not exist".
    pub missing: String,
    /// Every creation request, and every Act-On token refresh, is refused with an
    /// error that quotes the request (credentials and passwords included) in
    /// every encoding a vendor might use; nothing is created.
    pub echo: bool,
    /// Seconds an Act-On access token lives (`expires_in`).
    pub acton_token_lifetime: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            acton_token: "mock-acton-token".into(),
            acton_client_id: "mock-client".into(),
            acton_client_secret: "mock-client-secret".into(),
            acton_username: "mock-user".into(),
            acton_password: "mock-user-password".into(),
            activeplatform_token: "mock-ap-token".into(),
            docusign_token: "mock-docusign-token".into(),
            docusign_account: "mock-account".into(),
            docusign_integration_key: "mock-integration-key".into(),
            docusign_user_id: "mock-user-id".into(),
            docusign_public_key: include_str!("../fixtures/docusign-test-key.pub.pem").into(),
            docusign_token_lifetime: Duration::from_secs(3600),
            docusign_expires_in: None,
            formsonfire_company: 4242,
            formsonfire_key: "mock-fof-key".into(),
            scim_token: "mock-scim-token".into(),
            latency: Duration::ZERO,
            blocked_domain: "blocked.example".into(),
            page_cap: 7,
            search_lag: Duration::ZERO,
            scim_filter: true,
            missing: "missing-0000".into(),
            echo: false,
            acton_token_lifetime: 3600,
        }
    }
}

/// A misbehaviour the mock plays on the next creation request (any kind).
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status without acting, with a Retry-After if given.
    Refuse {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Act, then answer this status.
    CommitThenStatus(u16),
    /// Act, then hold the answer this long (past the client's timeout).
    CommitThenHang(Duration),
    /// Act, then close the connection before the answer is complete.
    CommitThenDrop,
    /// Act, then answer 200 with a body that is not JSON.
    CommitThenGarbage,
    /// Answer exactly this, without acting (a vendor's own throttle answer).
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Value,
    },
}

/// One request the mock received.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    #[serde(skip)]
    pub at: Option<std::time::Instant>,
}

/// What the mock holds: users per kind by lower-cased email, and every request.
#[derive(Debug, Default)]
pub struct Data {
    pub users: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// How many times each (kind, email) was created: must never pass 1.
    pub creations: BTreeMap<(&'static str, String), usize>,
    pub requests: Vec<Received>,
    /// Act-On access tokens handed out by the OAuth endpoint.
    pub issued_tokens: Vec<String>,
    /// Act-On logins (password grants), which the vendor limits to 5 an hour.
    pub logins: usize,
    /// Act-On answer elements to give, by lower-cased email, instead of acting.
    pub acton_elements: BTreeMap<String, Value>,
    /// DocuSign JWT grants asked for, and the tokens issued with when each expires.
    pub docusign_logins: usize,
    pub docusign_tokens: Vec<(String, std::time::Instant)>,
    /// DocuSign requests refused because their token had expired.
    pub docusign_expired: usize,
    /// Creation requests answered "already exists", per kind.
    pub duplicates: BTreeMap<&'static str, usize>,
    /// Played in order on the next creation requests.
    pub faults: std::collections::VecDeque<Fault>,
    /// Requests that got a fault, by kind of fault.
    pub faulted: Vec<String>,
    /// Creation requests being answered now, and the most ever at once, by the
    /// first path segment (the kind).
    pub in_flight: BTreeMap<String, usize>,
    pub max_in_flight: BTreeMap<String, usize>,
    /// When each (kind, key) was created, for `search_lag`.
    pub created_at: BTreeMap<(&'static str, String), std::time::Instant>,
    /// More memberships per kind, listed beside `users` (DocuSign keeps closed
    /// ones under the same email).
    pub extra: BTreeMap<&'static str, Vec<Value>>,
    /// While set, every list and search (a GET other than SCIM's
    /// ServiceProviderConfig) is answered 503 without being served: a vendor
    /// whose list endpoint is down while its creations still work.
    pub failing_lists: bool,
    next_id: u64,
}

#[derive(Clone)]
pub struct Mock {
    pub config: Arc<Config>,
    data: Arc<Mutex<Data>>,
}

impl Mock {
    pub fn new(config: Config) -> Mock {
        Mock {
            config: Arc::new(config),
            data: Arc::default(),
        }
    }

    pub fn data(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Users of one kind, by lower-cased email.
    pub fn users(&self, kind: &str) -> BTreeMap<String, Value> {
        self.data().users.get(kind).cloned().unwrap_or_default()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<Received> {
        self.data()
            .requests
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Puts a user in place as if created outside roster.
    pub fn seed(&self, kind: &'static str, email: &str, user: Value) {
        self.data()
            .users
            .entry(kind)
            .or_default()
            .insert(email.to_lowercase(), user);
    }

    /// Deletes a user out of band, as an admin at the vendor would.
    pub fn delete(&self, kind: &str, key: &str) -> Option<Value> {
        self.data().users.get_mut(kind)?.remove(&key.to_lowercase())
    }

    /// Changes one field of a stored user, as an admin at the vendor would.
    pub fn update(&self, kind: &str, key: &str, field: &str, value: Value) {
        if let Some(u) = self
            .data()
            .users
            .get_mut(kind)
            .and_then(|users| users.get_mut(&key.to_lowercase()))
        {
            u[field] = value;
        }
    }

    /// Adds another membership beside the users of `kind`.
    pub fn seed_extra(&self, kind: &'static str, user: Value) {
        self.data().extra.entry(kind).or_default().push(user);
    }

    /// GET requests (lists and lookups) whose path starts with `prefix`.
    pub fn reads(&self, prefix: &str) -> usize {
        self.requests(prefix)
            .iter()
            .filter(|r| r.method == "GET")
            .count()
    }

    /// One page of what a list of `kind` shows, sorted by key, and how many it
    /// shows in all: every user (and extra membership) past the search lag whose
    /// `field` equals `wanted` (ignoring case), or all of them; from `start`
    /// (0-based), at most `asked` and the server's cap. Only the page is cloned.
    fn listed(
        &self,
        kind: &'static str,
        field: &str,
        wanted: Option<&str>,
        start: usize,
        asked: usize,
    ) -> (Vec<Value>, usize) {
        let lag = self.config.search_lag;
        let size = asked.clamp(1, self.config.page_cap.max(1));
        let data = self.data();
        let visible = |key: &String| {
            lag.is_zero()
                || data
                    .created_at
                    .get(&(kind, key.clone()))
                    .is_none_or(|at| at.elapsed() >= lag)
        };
        let wanted = wanted.map(str::to_lowercase);
        let matches = |u: &Value| match &wanted {
            None => true,
            Some(w) => u
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|v| v.to_lowercase() == *w),
        };
        let mut total = 0;
        let mut page = Vec::new();
        let users = data
            .users
            .get(kind)
            .into_iter()
            .flatten()
            .filter(|(key, u)| visible(key) && matches(u))
            .map(|(_, u)| u);
        let extra = data
            .extra
            .get(kind)
            .into_iter()
            .flatten()
            .filter(|u| matches(u));
        for u in users.chain(extra) {
            if total >= start && page.len() < size {
                page.push(u.clone());
            }
            total += 1;
        }
        (page, total)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/acton/api/1/user", post(acton_create))
            .route("/acton/token", post(acton_token))
            .route("/docusign/oauth/token", post(ds_token))
            .route(
                "/activeplatform/api/vendor/v1/users.json",
                post(ap_create).get(ap_list),
            )
            .route(
                "/docusign/restapi/v2.1/accounts/{account}/users",
                post(ds_create).get(ds_list),
            )
            .route("/formsonfire/api/v2/user", post(fof_create))
            .route("/formsonfire/api/v2/user/search", get(fof_search))
            .route("/scim/v2/Users", post(scim_create).get(scim_list))
            .route("/scim/v2/ServiceProviderConfig", get(scim_config))
            .layer(axum::middleware::from_fn_with_state(self.clone(), observe))
            .route("/_mock/requests", get(list_requests))
            .route("/_mock/users", get(list_users))
            .with_state(self.clone())
    }

    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
        self.data().requests.push(Received {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            content_type: headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: String::from_utf8_lossy(body).into_owned(),
            at: Some(std::time::Instant::now()),
        });
    }

    /// Whether a creation hits an existing user (counted as a duplicate).
    fn exists(&self, kind: &'static str, key: &str) -> Option<Value> {
        let found = self.find(kind, key);
        if found.is_some() {
            *self.data().duplicates.entry(kind).or_default() += 1;
        }
        found
    }

    /// Creates the user unless it exists; false if it did.
    fn create(&self, kind: &'static str, email: &str, user: Value) -> bool {
        let key = email.to_lowercase();
        let mut data = self.data();
        let users = data.users.entry(kind).or_default();
        if users.contains_key(&key) {
            *data.duplicates.entry(kind).or_default() += 1;
            return false;
        }
        users.insert(key.clone(), user);
        data.created_at
            .insert((kind, key.clone()), std::time::Instant::now());
        *data.creations.entry((kind, key)).or_default() += 1;
        true
    }

    /// Users of `kind` whose `field` equals `value`, ignoring case.
    fn find(&self, kind: &str, key: &str) -> Option<Value> {
        self.data()
            .users
            .get(kind)?
            .get(&key.to_lowercase())
            .cloned()
    }

    fn next_id(&self) -> u64 {
        let mut data = self.data();
        data.next_id += 1;
        data.next_id
    }

    fn blocked(&self, email: &str) -> bool {
        email
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&self.config.blocked_domain))
    }

    async fn pause(&self) {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
    }
}

/// Counts creation requests in flight and plays the next scripted fault.
async fn observe(
    State(mock): State<Mock>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if mock.config.echo && request.method() == Method::POST {
        return echo(&mock, request, next).await;
    }
    if request.method() == Method::GET
        && !request.uri().path().ends_with("/ServiceProviderConfig")
        && mock.data().failing_lists
    {
        mock.record(request.method(), request.uri(), request.headers(), b"");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "list endpoint down (injected)"}),
        );
    }
    let creation = request.method() == Method::POST && !request.uri().path().ends_with("/token");
    if !creation {
        return next.run(request).await;
    }
    let kind = request
        .uri()
        .path()
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    {
        let mut data = mock.data();
        let now = {
            let n = data.in_flight.entry(kind.clone()).or_default();
            *n += 1;
            *n
        };
        let max = data.max_in_flight.entry(kind.clone()).or_default();
        *max = (*max).max(now);
    }
    // Counted down even when the client hangs up and the answer is dropped.
    struct Leaving(Mock, String);
    impl Drop for Leaving {
        fn drop(&mut self) {
            if let Some(n) = self.0.data().in_flight.get_mut(&self.1) {
                *n -= 1;
            }
        }
    }
    let _leaving = Leaving(mock.clone(), kind);
    play_fault(&mock, request, next).await
}

/// Plays the next scripted fault, if any.
async fn play_fault(
    mock: &Mock,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let fault = mock.data().faults.pop_front();
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    mock.data().faulted.push(format!("{fault:?}"));
    match fault {
        Fault::Refuse {
            status,
            retry_after,
        } => {
            // Refused before the handler runs: recorded here, without its body.
            mock.record(request.method(), request.uri(), request.headers(), b"");
            let mut r = answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                json!({"error": "injected"}),
            );
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert("retry-after", secs.to_string().parse().expect("header"));
            }
            r
        }
        Fault::CommitThenStatus(status) => {
            let _ = next.run(request).await;
            answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({"error": "injected after commit"}),
            )
        }
        Fault::CommitThenHang(wait) => {
            let r = next.run(request).await;
            tokio::time::sleep(wait).await;
            r
        }
        Fault::CommitThenDrop => {
            let _ = next.run(request).await;
            let broken = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
            });
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(broken))
                .expect("response")
        }
        Fault::CommitThenGarbage => {
            let _ = next.run(request).await;
            (StatusCode::OK, "<html><body>upstream hiccup</body></html>").into_response()
        }
        Fault::Answer {
            status,
            headers,
            body,
        } => {
            mock.record(request.method(), request.uri(), request.headers(), b"");
            let mut r = answer(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                body,
            );
            for (name, value) in headers {
                r.headers_mut()
                    .insert(name, value.parse().expect("header value"));
            }
            r
        }
    }
}

/// `Config::echo`: the request quoted back in every encoding, as the error each
/// vendor would answer (per user where the vendor answers per user). Act-On
/// logins go through, so that requests carry the tokens they hand out.
async fn echo(
    mock: &Mock,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_string();
    if path.ends_with("/token")
        && form(&body).get("grant_type").map(String::as_str) != Some("refresh_token")
    {
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(body));
        return next.run(request).await;
    }
    mock.record(&parts.method, &parts.uri, &parts.headers, &body);
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let quoted = format!(
        "{} {}?{} authorization={auth} body={}",
        parts.method,
        path,
        parts.uri.query().unwrap_or(""),
        String::from_utf8_lossy(&body)
    );
    let percent = |lower: bool, plus: bool| -> String {
        quoted
            .bytes()
            .map(|b| match b {
                b' ' if plus => "+".to_string(),
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ if lower => format!("%{b:02x}"),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let json = serde_json::to_string(&quoted).unwrap_or_default();
    let text = [
        format!("raw: {quoted}"),
        format!("url: {}", percent(false, false)),
        format!("url-lower: {}", percent(true, false)),
        format!("form: {}", percent(false, true)),
        format!("json: {json}"),
        format!("php-json: {}", json.replace('/', "\\/")),
        format!("base64: {}", STANDARD.encode(&quoted)),
        format!("base64url: {}", URL_SAFE_NO_PAD.encode(&quoted)),
    ]
    .join(" | ");
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let emails = |list: Option<&Value>| -> Vec<Value> {
        list.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|u| u["email"].clone())
            .collect()
    };
    if path.contains("/acton/api/") {
        let out: Vec<Value> = emails(Some(&parsed))
            .into_iter()
            .map(|email| json!({"email": email, "status": "error", "errorCode": "ECHO", "errorMessage": text}))
            .collect();
        answer(StatusCode::OK, Value::Array(out))
    } else if path.ends_with("/token") {
        answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": text}),
        )
    } else if path.contains("/docusign/") {
        let out: Vec<Value> = emails(parsed.get("newUsers"))
            .into_iter()
            .map(|email| json!({"email": email, "errorDetails": {"errorCode": "ECHO", "message": text}}))
            .collect();
        answer(StatusCode::CREATED, json!({ "newUsers": out }))
    } else if path.contains("/formsonfire/") {
        fof_error(StatusCode::BAD_REQUEST, "ECHO", &text, json!([]))
    } else if path.contains("/scim/") {
        scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"), &text)
    } else {
        answer(StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": text }))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

async fn list_requests(State(mock): State<Mock>) -> Response {
    answer(StatusCode::OK, json!(mock.data().requests))
}

async fn list_users(State(mock): State<Mock>) -> Response {
    answer(StatusCode::OK, json!(mock.data().users))
}

/// Act-On's password rule: 6-30 characters of a-zA-Z0-9!@#$%^&*?|.
fn acton_password_ok(p: &str) -> bool {
    (6..=30).contains(&p.chars().count())
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!@#$%^&*?|".contains(c))
}

async fn acton_create(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mock.record(&method, &uri, &headers, &body);
    mock.pause().await;
    let token_ok = bearer(&headers).is_some_and(|t| {
        t == mock.config.acton_token || mock.data().issued_tokens.iter().any(|i| i == t)
    });
    if !token_ok {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "access_denied", "error_description": "Invalid or expired access token"}),
        );
    }
    let Ok(Value::Array(specs)) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"errorCode": "INVALID_REQUEST", "message": "body must be a JSON array of user specs"}),
        );
    };
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let field = |k: &str| {
            spec.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let email = field("email");
        let scripted = mock
            .data()
            .acton_elements
            .get(&email.to_lowercase())
            .cloned();
        if let Some(element) = scripted {
            out.push(element);
            continue;
        }
        let error = |code: &str, message: String| json!({"email": email, "status": "error", "errorCode": code, "errorMessage": message, "errorCodeId": 400});
        let missing = ["userType", "email", "firstName", "lastName", "password"]
            .into_iter()
            .find(|k| field(k).is_empty());
        let element = if let Some(k) = missing {
            error("MISSING_REQUIRED_FIELD", format!("{k} is required"))
        } else if !matches!(field("userType").as_str(), "Marketing" | "Sales") {
            error(
                "INVALID_USER_TYPE",
                "userType must be Marketing or Sales".into(),
            )
        } else if !acton_password_ok(&field("password")) {
            error(
                "INVALID_PASSWORD",
                "password does not meet the policy".into(),
            )
        } else if mock.blocked(&email) {
            error(
                "INVALID_EMAIL_DOMAIN",
                format!("email domain of {email} is not allowed"),
            )
        } else if field("title") == mock.config.missing {
            error(
                "E_NOT_EXIST",
                format!("Sales team {} does not exist", mock.config.missing),
            )
        } else {
            let mut stored = spec.clone();
            if let Some(o) = stored.as_object_mut() {
                o.remove("password");
            }
            if mock.create("acton", &email, stored) {
                json!({
                    "email": email,
                    "status": "ok",
                    "privilegeResponses": [{"privilege": "marketingPrivileges", "status": "ok"}],
                    "confirmationEmailResponse": {"status": "ok"}
                })
            } else {
                error(
                    "USER_ALREADY_EXISTS",
                    format!("a user with email {email} already exists"),
                )
            }
        };
        out.push(element);
    }
    out.reverse(); // the vendor promises no order: match by email
    answer(StatusCode::OK, Value::Array(out))
}

fn form(body: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(body);
    reqwest::Url::parse(&format!("http://form/?{text}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A number from a query, or `default`.
fn number(q: &BTreeMap<String, String>, key: &str, default: usize) -> usize {
    q.get(key).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    form(uri.query().unwrap_or_default().as_bytes())
}

/// Act-On's OAuth endpoint: the password grant and refresh_token.
async fn acton_token(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mock.record(&method, &uri, &headers, &body);
    let f = form(&body);
    let c = &mock.config;
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != c.acton_client_id || get("client_secret") != c.acton_client_secret {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "access_denied", "error_description": "unknown client"}),
        );
    }
    let granted = match get("grant_type") {
        "password" => {
            mock.data().logins += 1;
            get("username") == c.acton_username && get("password") == c.acton_password
        }
        "refresh_token" => get("refresh_token").starts_with("refresh-"),
        _ => false,
    };
    if !granted {
        return answer(
            StatusCode::FORBIDDEN,
            json!({"error": "invalid_grant", "error_description": "bad credentials"}),
        );
    }
    let n = mock.next_id();
    let access = format!("access-{n}");
    mock.data().issued_tokens.push(access.clone());
    answer(
        StatusCode::OK,
        json!({"access_token": access, "refresh_token": format!("refresh-{n}"), "token_type": "Bearer", "expires_in": mock.config.acton_token_lifetime}),
    )
}

/// ActivePlatform: `POST users.json?api_token=T`, one user, 201 with the user.
async fn ap_create(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mock.record(&method, &uri, &headers, &body);
    mock.pause().await;
    if query(&uri).get("api_token") != Some(&mock.config.activeplatform_token) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Invalid API token"}),
        );
    }
    let Ok(user) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "body is not JSON"}),
        );
    };
    let field = |k: &str| {
        user.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if let Some(k) = ["first_name", "last_name", "password", "email"]
        .into_iter()
        .find(|k| field(k).is_empty())
    {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("{k} is missing")}),
        );
    }
    // This installation's policy; like some real APIs, the refusal quotes the value.
    let password = field("password");
    if password.chars().count() < 10 {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("password {password} is too short (minimum is 10 characters)")}),
        );
    }
    let email = field("email");
    if mock.blocked(&email) {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "email domain is not allowed"}),
        );
    }
    let missing_attribute = user
        .get("custom_attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|a| a["key"] == json!(mock.config.missing));
    if missing_attribute {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": format!("Custom attribute {} does not exist", mock.config.missing)}),
        );
    }
    if mock.exists("activeplatform", &email).is_some() {
        return answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"error": "email has already been taken"}),
        );
    }
    let attributes: Vec<Value> = user
        .get("custom_attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|a| json!({"name": a["key"], "value": a["value"]}))
        .collect();
    let stored = json!({
        "id": 2021053 + mock.next_id(),
        "first_name": field("first_name"),
        "last_name": field("last_name"),
        "middle_name": user.get("middle_name"),
        "email": email,
        "status": "active",
        "custom_attributes": attributes,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    });
    mock.create("activeplatform", &email, stored.clone());
    answer(StatusCode::CREATED, stored)
}

async fn ap_list(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    mock.record(&method, &uri, &headers, b"");
    let q = query(&uri);
    if q.get("api_token") != Some(&mock.config.activeplatform_token) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Invalid API token"}),
        );
    }
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (page, per_page) = (number("page", 1).max(1), number("per_page", 25));
    let size = per_page.clamp(1, mock.config.page_cap.max(1));
    let (found, _) = mock.listed(
        "activeplatform",
        "email",
        q.get("filters[email]").map(String::as_str),
        (page - 1) * size,
        per_page,
    );
    answer(StatusCode::OK, Value::Array(found))
}

fn ds_error(status: StatusCode, code: &str, message: &str) -> Response {
    answer(status, json!({"errorCode": code, "message": message}))
}

/// A 401 unless the request carries the configured token or one from
/// `/oauth/token` that has not expired.
fn ds_refusal(mock: &Mock, headers: &HeaderMap) -> Option<Response> {
    let token = bearer(headers).unwrap_or_default();
    let mut data = mock.data();
    let issued = data
        .docusign_tokens
        .iter()
        .find(|(t, _)| t == token)
        .map(|(_, expires)| *expires);
    let ok = match issued {
        Some(expires) if expires <= std::time::Instant::now() => {
            data.docusign_expired += 1;
            false
        }
        Some(_) => true,
        None => token == mock.config.docusign_token,
    };
    (!ok).then(|| {
        ds_error(
            StatusCode::UNAUTHORIZED,
            "AUTHORIZATION_INVALID_TOKEN",
            "The access token provided is expired, revoked or malformed.",
        )
    })
}

/// DocuSign's OAuth JWT grant: an RS256 assertion from the configured app and
/// user, for this host, with the signature scopes, valid at most an hour.
async fn ds_token(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use jsonwebtoken::errors::ErrorKind;
    mock.record(&method, &uri, &headers, &body);
    let refuse = |error: &str, description: &str| {
        answer(
            StatusCode::BAD_REQUEST,
            json!({"error": error, "error_description": description}),
        )
    };
    let f = form(&body);
    if f.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("unsupported_grant_type", "grant_type must be jwt-bearer");
    }
    let Some(assertion) = f.get("assertion") else {
        return refuse("invalid_request", "assertion is missing");
    };
    mock.data().docusign_logins += 1;
    let c = &mock.config;
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(c.docusign_public_key.as_bytes()) else {
        return refuse("invalid_grant", "no_valid_keys_or_signatures");
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let mut rules = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    rules.leeway = 0;
    rules.set_audience(&[host]);
    rules.set_issuer(&[&c.docusign_integration_key]);
    rules.sub = Some(c.docusign_user_id.clone());
    rules.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &rules) {
        Ok(data) => data.claims,
        Err(e) => {
            let description = match e.kind() {
                ErrorKind::InvalidIssuer => "issuer_not_found",
                ErrorKind::InvalidSubject => "user_not_found",
                ErrorKind::ExpiredSignature => "expired assertion",
                ErrorKind::InvalidAudience => "invalid audience",
                _ => "no_valid_keys_or_signatures",
            };
            return refuse("invalid_grant", description);
        }
    };
    let number = |k: &str| claims.get(k).and_then(Value::as_u64).unwrap_or_default();
    if number("exp").saturating_sub(number("iat")) > 3600 {
        return refuse(
            "invalid_grant",
            "the assertion may be valid at most an hour",
        );
    }
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !scope.split(' ').any(|s| s == "signature")
        || !scope.split(' ').any(|s| s == "impersonation")
    {
        return refuse("consent_required", "consent_required");
    }
    let access = format!("ds-access-{}", mock.next_id());
    let expires = std::time::Instant::now() + c.docusign_token_lifetime;
    mock.data().docusign_tokens.push((access.clone(), expires));
    let expires_in = c
        .docusign_expires_in
        .unwrap_or(c.docusign_token_lifetime.as_secs());
    answer(
        StatusCode::OK,
        json!({"access_token": access, "token_type": "Bearer", "expires_in": expires_in}),
    )
}

/// DocuSign: `POST .../accounts/{id}/users` with newUsers; per-user errorDetails.
async fn ds_create(
    State(mock): State<Mock>,
    axum::extract::Path(account): axum::extract::Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mock.record(&method, &uri, &headers, &body);
    mock.pause().await;
    if let Some(refused) = ds_refusal(&mock, &headers) {
        return refused;
    }
    if account != mock.config.docusign_account {
        return ds_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ACCOUNT_ID",
            "Invalid account ID.",
        );
    }
    let Some(users) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("newUsers").and_then(Value::as_array).cloned())
    else {
        return ds_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "The request body is missing or improperly formatted: newUsers.",
        );
    };
    if users.len() > 500 {
        return ds_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST_BODY",
            "At most 500 users per call.",
        );
    }
    let mut out = Vec::new();
    for user in users {
        let field = |k: &str| {
            user.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (email, name) = (field("email"), field("userName"));
        let failed = |code: &str, message: &str| json!({"email": email, "userName": name, "errorDetails": {"errorCode": code, "message": message}});
        let element = if name.is_empty() {
            failed("INVALID_USERNAME_FOR_USER", "The user name is invalid.")
        } else if email.is_empty() || mock.blocked(&email) {
            failed(
                "INVALID_EMAIL_ADDRESS_FOR_USER",
                "The email address for the user is invalid.",
            )
        } else if user
            .get("groupList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|g| g["groupId"] == json!(mock.config.missing))
        {
            failed(
                "INVALID_GROUP_ID",
                &format!("Group {} does not exist", mock.config.missing),
            )
        } else if let Some(existing) = mock.exists("docusign", &email) {
            let mut e = failed(
                "USER_ALREADY_EXISTS_IN_ACCOUNT",
                "Username and email combination already exists for this account.",
            );
            e["userId"] = existing["userId"].clone();
            e
        } else {
            let id = uuid::Uuid::new_v4().to_string();
            let mut stored = user.clone();
            stored["userId"] = json!(id);
            stored["userStatus"] = json!("ActivationSent");
            mock.create("docusign", &email, stored);
            json!({"userId": id, "uri": format!("/users/{id}"), "email": email, "userName": name,
                   "userStatus": "ActivationSent", "createdDateTime": "2026-01-01T00:00:00.0000000Z"})
        };
        out.push(element);
    }
    let mut response = answer(StatusCode::CREATED, json!({"newUsers": out}));
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", "3000".parse().expect("header"));
    h.insert("x-ratelimit-remaining", "2999".parse().expect("header"));
    response
}

async fn ds_list(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    mock.record(&method, &uri, &headers, b"");
    if let Some(refused) = ds_refusal(&mock, &headers) {
        return refused;
    }
    let q = query(&uri);
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (start, count) = (number("start_position", 0), number("count", 100).min(100));
    let (found, total) = mock.listed(
        "docusign",
        "email",
        q.get("email").map(String::as_str),
        start,
        count,
    );
    let end = start + found.len();
    let mut body = json!({
        "users": found,
        "resultSetSize": found.len().to_string(),
        "totalSetSize": total.to_string(),
        "startPosition": start.to_string(),
        "endPosition": end.saturating_sub(1).to_string(),
    });
    if end < total {
        body["nextUri"] = json!(format!(
            "/v2.1/accounts/{}/users?start_position={end}&count={count}",
            mock.config.docusign_account
        ));
    }
    answer(StatusCode::OK, body)
}

fn fof_error(status: StatusCode, code: &str, message: &str, errors: Value) -> Response {
    answer(
        status,
        json!({"ResponseStatus": {"ErrorCode": code, "Message": message, "Errors": errors}}),
    )
}

/// Forms On Fire: `POST /user?format=json`, credentials in the body.
async fn fof_create(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mock.record(&method, &uri, &headers, &body);
    mock.pause().await;
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let user = match serde_json::from_slice::<Value>(&body) {
        Ok(u) if json_body => u,
        _ => {
            return fof_error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "Could not deserialize 'application/xml' request",
                json!([]),
            )
        }
    };
    let c = &mock.config;
    if user.get("CompanyId").and_then(Value::as_u64) != Some(c.formsonfire_company)
        || user.get("IntegrationKey").and_then(Value::as_str) != Some(c.formsonfire_key.as_str())
    {
        return fof_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid CompanyId or IntegrationKey",
            json!([]),
        );
    }
    let field = |k: &str| {
        user.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let invalid = |code: &str, name: &str, message: &str| {
        fof_error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "Validation failed",
            json!([{"ErrorCode": code, "FieldName": name, "Message": message}]),
        )
    };
    if let Some(k) = ["FirstName", "LastName", "Email"]
        .into_iter()
        .find(|k| field(k).is_empty())
    {
        return invalid("NotEmpty", k, &format!("'{k}' must not be empty."));
    }
    if field("ExternalId").chars().count() > 50 {
        return invalid(
            "MaximumLength",
            "ExternalId",
            "'ExternalId' must be 50 characters or fewer.",
        );
    }
    let email = field("Email");
    if mock.blocked(&email) {
        return invalid("InvalidEmail", "Email", "Email domain is not allowed.");
    }
    if field("TimeZone") == mock.config.missing {
        return fof_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("Time zone {} does not exist", mock.config.missing),
            json!([]),
        );
    }
    if mock.exists("formsonfire", &email).is_some() {
        return fof_error(
            StatusCode::BAD_REQUEST,
            "DuplicateEmail",
            "A user with this email address already exists.",
            json!([]),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut stored = user.clone();
    if let Some(o) = stored.as_object_mut() {
        o.remove("IntegrationKey");
        o.remove("Password");
        o.insert("Id".into(), json!(id));
        o.insert("Status".into(), json!("Invited"));
    }
    mock.create("formsonfire", &email, stored);
    answer(
        StatusCode::OK,
        json!({"User": {"Id": id, "Status": "Invited", "Email": email}, "ResponseStatus": {}}),
    )
}

async fn fof_search(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    mock.record(&method, &uri, &headers, b"");
    let q = query(&uri);
    let c = &mock.config;
    if q.get("CompanyId") != Some(&c.formsonfire_company.to_string())
        || q.get("IntegrationKey") != Some(&c.formsonfire_key)
    {
        return fof_error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid CompanyId or IntegrationKey",
            json!([]),
        );
    }
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (page, size) = (number("PageNo", 0), number("PageSize", 25).min(250));
    let cap = size.clamp(1, mock.config.page_cap.max(1));
    let (found, _) = mock.listed(
        "formsonfire",
        "Email",
        q.get("Email").map(String::as_str),
        page * cap,
        size,
    );
    answer(
        StatusCode::OK,
        json!({"Users": found, "ResponseStatus": {}}),
    )
}

fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.as_u16().to_string(), "detail": detail});
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    let mut r = answer(status, body);
    r.headers_mut().insert(
        "content-type",
        "application/scim+json".parse().expect("header"),
    );
    r
}

/// SCIM 2.0: `POST /Users`, 201 with id and Location; 409 uniqueness on userName.
async fn scim_create(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mock.record(&method, &uri, &headers, &body);
    mock.pause().await;
    if bearer(&headers) != Some(mock.config.scim_token.as_str()) {
        return scim_error(
            StatusCode::UNAUTHORIZED,
            None,
            "Authorization failure: bearer token is invalid",
        );
    }
    let Ok(user) = serde_json::from_slice::<Value>(&body) else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "body is not JSON",
        );
    };
    let core = "urn:ietf:params:scim:schemas:core:2.0:User";
    if !user
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|x| x == core))
    {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "schemas must hold the core User schema",
        );
    }
    let Some(name) = user
        .get("userName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
    else {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "userName is required",
        );
    };
    let email = user
        .pointer("/emails/0/value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if mock.blocked(&email) {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "email domain is not allowed",
        );
    }
    if user.get("externalId") == Some(&json!(mock.config.missing)) {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            &format!("Group {} does not exist", mock.config.missing),
        );
    }
    if mock.exists("scim", &name).is_some() {
        return scim_error(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            &format!("userName {name} is already taken"),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut stored = user.clone();
    if let Some(o) = stored.as_object_mut() {
        o.remove("password");
        o.insert("id".into(), json!(id));
        o.insert(
            "meta".into(),
            json!({"resourceType": "User", "location": format!("/scim/v2/Users/{id}")}),
        );
    }
    mock.create("scim", &name, stored.clone());
    let mut r = answer(StatusCode::CREATED, stored);
    let h = r.headers_mut();
    h.insert(
        "content-type",
        "application/scim+json".parse().expect("header"),
    );
    h.insert(
        "location",
        format!("/scim/v2/Users/{id}").parse().expect("header"),
    );
    r
}

async fn scim_list(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    mock.record(&method, &uri, &headers, b"");
    if bearer(&headers) != Some(mock.config.scim_token.as_str()) {
        return scim_error(
            StatusCode::UNAUTHORIZED,
            None,
            "Authorization failure: bearer token is invalid",
        );
    }
    let q = query(&uri);
    let wanted = match q.get("filter") {
        None => None,
        Some(_) if !mock.config.scim_filter => {
            return scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidFilter"),
                "filtering is not supported",
            )
        }
        Some(filter) => {
            let Some(name) = filter
                .strip_prefix("userName eq \"")
                .and_then(|f| f.strip_suffix('"'))
            else {
                return scim_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalidFilter"),
                    "only userName eq \"...\" is supported",
                );
            };
            Some(name.replace("\\\"", "\"").replace("\\\\", "\\"))
        }
    };
    mock.pause().await;
    let number = |k: &str, d: usize| number(&q, k, d);
    let (start, count) = (number("startIndex", 1).max(1), number("count", 100));
    let (found, total) = mock.listed("scim", "userName", wanted.as_deref(), start - 1, count);
    answer(
        StatusCode::OK,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": total, "startIndex": start, "itemsPerPage": found.len(),
               "Resources": found}),
    )
}

/// SCIM's ServiceProviderConfig: what the server supports.
async fn scim_config(
    State(mock): State<Mock>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    mock.record(&method, &uri, &headers, b"");
    answer(
        StatusCode::OK,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
               "filter": {"supported": mock.config.scim_filter, "maxResults": mock.config.page_cap},
               "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
               "patch": {"supported": false}, "changePassword": {"supported": false},
               "sort": {"supported": false}, "etag": {"supported": false},
               "authenticationSchemes": []}),
    )
}

/// Serves `mock` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    mock: Mock,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, mock.router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A mock running on its own thread on 127.0.0.1; stops when dropped.
pub struct Server {
    pub mock: Mock,
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(config: Config) -> Server {
        let mock = Mock::new(config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("mock runtime");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", std_listener.local_addr().expect("local addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = mock.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let _ = serve(listener, served, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        Server {
            mock,
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
