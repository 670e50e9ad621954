//! What the mock holds and remembers: the users per kind, the log of every
//! request, and the counters tests read (`Data`), behind the shared handle every
//! route gets (`Mock`).

use crate::config::{Config, Fault};
use axum::http::{HeaderMap, Method, Uri};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

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
    pub(crate) in_flight: BTreeMap<String, usize>,
    pub max_in_flight: BTreeMap<String, usize>,
    /// When each (kind, key) was created, for `search_lag`.
    pub created_at: BTreeMap<(&'static str, String), std::time::Instant>,
    /// More memberships per kind, listed beside `users` (DocuSign keeps closed
    /// ones under the same email).
    pub(crate) extra: BTreeMap<&'static str, Vec<Value>>,
    /// While set, every list and search (a GET other than SCIM's
    /// ServiceProviderConfig) is answered 503 without being served: a vendor
    /// whose list endpoint is down while its creations still work.
    pub failing_lists: bool,
    next_id: u64,
}

/// The mock: its settings and what it holds, shared by every route and by the
/// test that started it (a clone is the same mock).
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
    pub(crate) fn listed(
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

    pub(crate) fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
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
    pub(crate) fn exists(&self, kind: &'static str, key: &str) -> Option<Value> {
        let found = self.find(kind, key);
        if found.is_some() {
            *self.data().duplicates.entry(kind).or_default() += 1;
        }
        found
    }

    /// Creates the user unless it exists; false if it did.
    pub(crate) fn create(&self, kind: &'static str, email: &str, user: Value) -> bool {
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

    /// The user of `kind` stored under `key` (ignoring case).
    pub(crate) fn find(&self, kind: &str, key: &str) -> Option<Value> {
        self.data()
            .users
            .get(kind)?
            .get(&key.to_lowercase())
            .cloned()
    }

    pub(crate) fn next_id(&self) -> u64 {
        let mut data = self.data();
        data.next_id += 1;
        data.next_id
    }

    pub(crate) fn blocked(&self, email: &str) -> bool {
        email
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&self.config.blocked_domain))
    }

    pub(crate) async fn pause(&self) {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
    }
}
