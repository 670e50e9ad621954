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
    /// Added before every answer.
    pub latency: Duration,
    /// Emails at this domain are refused by every vendor (a vendor-side rule roster
    /// cannot check in advance).
    pub blocked_domain: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            acton_token: "mock-acton-token".into(),
            latency: Duration::ZERO,
            blocked_domain: "blocked.example".into(),
        }
    }
}

/// One request the mock received.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: String,
}

/// What the mock holds: users per kind by lower-cased email, and every request.
#[derive(Debug, Default)]
pub struct Data {
    pub users: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// How many times each (kind, email) was created: must never pass 1.
    pub creations: BTreeMap<(&'static str, String), usize>,
    pub requests: Vec<Received>,
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

    pub fn router(&self) -> Router {
        Router::new()
            .route("/acton/api/1/user", post(acton_create))
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
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }

    /// Creates the user unless it exists; false if it did.
    fn create(&self, kind: &'static str, email: &str, user: Value) -> bool {
        let key = email.to_lowercase();
        let mut data = self.data();
        let users = data.users.entry(kind).or_default();
        if users.contains_key(&key) {
            return false;
        }
        users.insert(key.clone(), user);
        *data.creations.entry((kind, key)).or_default() += 1;
        true
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
    if bearer(&headers) != Some(mock.config.acton_token.as_str()) {
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
