//! The state in PostgreSQL, as a [`Backend`]: one row per (workspace, vendor,
//! email), an append-only history of every record written, and per-vendor
//! leases with an expiry and a fencing token instead of one lock file.
//!
//! The journal is the rows themselves: `append` upserts a batch of records and
//! their history rows in one statement (one round trip, one transaction), so a
//! `pending` record is committed before its creation is sent, and an outcome as
//! its answer arrives. `save` writes the rows that differ from what was loaded
//! and raises the serial. Every write carries the writer's lease token and
//! lands only while that lease is held: a holder whose lease expired and was
//! taken over has its writes refused.
//!
//! The schema is created and migrated by roster (`roster_schema` holds its
//! version). The URL's password (or PGPASSWORD's) never reaches a message:
//! [`redact`] is how the URL is shown.

mod budget;
mod leases;
mod records;
mod schema;
mod url;

pub use url::{is_url, redact};

use super::backend::{Backend, HistoryEntry, JournalSink, LockGuard, Scope};
use super::error::fail;
use super::{Error, Record, Result, State};
use crate::model::Env;
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::Client;

/// One connection, used by one statement or transaction at a time. The lease
/// has one of its own ([`LeaseLine`]): a statement that waits on a lock (a
/// budget row another session holds) must not starve its renewal.
type Shared = Arc<tokio::sync::Mutex<Client>>;

/// The lease's own connection, and what its renewal tells the holder.
#[derive(Clone)]
struct LeaseLine {
    client: Shared,
    /// Why the last renewal failed; `None` once one succeeds.
    failure: Arc<Mutex<Option<String>>>,
}

/// How long one call to the database may take before roster gives up on it (a
/// partitioned network would otherwise hang an apply forever). A write that
/// times out may still land; what it held is then verified by the next run.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The lease's vendor name for the whole workspace.
const ALL: &str = "*";

/// Who writes: the same for every row this process writes.
struct Writer {
    run_id: String,
    host: String,
    pid: i64,
    /// This process's PID namespace (`pid:[inode]`), if the system tells.
    pidns: Option<String>,
    /// This machine as of this boot, if the system tells (see `boot`).
    boot: Option<String>,
    git_commit: Option<String>,
    input: Mutex<Option<String>>,
    command: Mutex<String>,
}

/// A held lease: the token every write carries, and how many lease rows it
/// holds (one per vendor, or one for the workspace).
#[derive(Clone)]
struct Held {
    token: i64,
    rows: i64,
    scope: Scope,
}

struct Inner {
    client: Shared,
    /// How to connect again (the lease's own connection).
    config: tokio_postgres::Config,
    /// TLS as PGSSLROOTCERT said at connect time, for the lease's connection too.
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// While a lease is held: its connection.
    lease: Mutex<Option<LeaseLine>>,
    workspace: String,
    shown: String,
    ttl: Duration,
    lock_timeout: Duration,
    who: Writer,
    held: Mutex<Option<Held>>,
    /// The records as this process last read or wrote them: `save` sends only
    /// what differs.
    known: Mutex<Option<HashMap<(String, String), Record>>>,
}

pub struct PgBackend {
    inner: Arc<Inner>,
}

/// How long a lease lasts without renewal (ROSTER_LEASE_TTL, default 60s); its
/// holder renews it every third of that.
fn lease_ttl(env: Env) -> anyhow::Result<Duration> {
    match env("ROSTER_LEASE_TTL") {
        Some(v) if !v.trim().is_empty() => {
            let ttl = humantime::parse_duration(v.trim())
                .with_context(|| format!("ROSTER_LEASE_TTL={v}: not a duration like 60s"))?;
            if ttl < Duration::from_secs(1) {
                bail!("ROSTER_LEASE_TTL={v}: at least 1s");
            }
            Ok(ttl)
        }
        _ => Ok(Duration::from_secs(60)),
    }
}

impl PgBackend {
    /// Connects to `url` (TLS as its `sslmode` says: `prefer` by default),
    /// creates or migrates the schema, and opens `workspace`. Waits up to
    /// `lock_timeout` for a held lease before giving up. The environment is
    /// read through `env` only (the CLI passes [`crate::model::process_env`]):
    /// PGPASSWORD when the URL has no password, PGSSLROOTCERT,
    /// ROSTER_LEASE_TTL, and GITHUB_SHA or CI_COMMIT_SHA for the history.
    ///
    /// Runs on the caller's runtime, which then drives the connections and
    /// the lease renewal: it must outlive the store (the binary runs one).
    pub async fn connect(
        url: &str,
        workspace: &str,
        lock_timeout: Duration,
        env: Env<'_>,
    ) -> Result<Self> {
        let shown = redact(url);
        if workspace.is_empty() || workspace == ALL {
            fail!("--workspace {workspace:?}: give a name");
        }
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| anyhow::anyhow!("--state {shown}: not a valid PostgreSQL URL: {e}"))?;
        if config.get_password().is_none() {
            if let Some(password) = env("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("roster");
        }
        config.connect_timeout(Duration::from_secs(30));
        // A server that vanished without closing the connection is noticed.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        let unreachable = |e: anyhow::Error| {
            Error::unreachable(&shown, e.context(format!("cannot connect to {shown}")))
        };
        // The file reads (PGSSLROOTCERT's certificates, who this process is)
        // on a blocking thread.
        let root_cert = env("PGSSLROOTCERT");
        let (tls, pidns, boot) = crate::state::blocking(move || {
            let pidns = std::fs::read_link("/proc/self/ns/pid")
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
            Ok((url::tls(root_cert), pidns, leases::boot()))
        })
        .await?;
        let tls = tls.map_err(unreachable)?;
        let client = open(&config, &tls, CALL_TIMEOUT)
            .await
            .map_err(unreachable)?;
        let git_commit = ["GITHUB_SHA", "CI_COMMIT_SHA"]
            .iter()
            .find_map(|k| env(k).filter(|v| !v.trim().is_empty()));
        let inner = Inner {
            client: Arc::new(tokio::sync::Mutex::new(client)),
            config,
            tls,
            lease: Mutex::new(None),
            workspace: workspace.to_string(),
            shown,
            ttl: lease_ttl(env)?,
            lock_timeout,
            who: Writer {
                run_id: uuid::Uuid::new_v4().to_string(),
                host: super::hostname(),
                pid: i64::from(std::process::id()),
                pidns,
                boot,
                git_commit,
                input: Mutex::new(None),
                command: Mutex::new("roster".into()),
            },
            held: Mutex::new(None),
            known: Mutex::new(None),
        };
        inner.migrate().await?;
        Ok(PgBackend {
            inner: Arc::new(inner),
        })
    }

    /// This process's run id, as the history and the leases record it.
    pub fn run_id(&self) -> &str {
        &self.inner.who.run_id
    }
}

/// A connection to `config`'s server whose every statement the server itself
/// ends after `statement_timeout`: one that waits on a lock another session
/// holds cannot keep the connection past it (a client-side timeout alone
/// leaves the statement running, and the connection busy with it).
async fn open(
    config: &tokio_postgres::Config,
    tls: &tokio_postgres_rustls::MakeRustlsConnect,
    statement_timeout: Duration,
) -> anyhow::Result<Client> {
    let (client, connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("the database connection ended: {e}");
        }
    });
    client
        .batch_execute(&format!(
            "SET statement_timeout = {}",
            statement_timeout.as_millis()
        ))
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    Ok(client)
}

/// sent one. Never carries the URL.
fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        }
    }
}

impl Inner {
    /// One statement on the store's connection, its rows, with the store's
    /// timeout and messages (`what` names the step in them).
    async fn query(
        &self,
        what: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>> {
        self.call(what, async {
            self.client.lock().await.query(sql, params).await
        })
        .await
    }

    /// Awaits `f`, a call to the database, for at most the store's timeout;
    /// its error in the store's words (`what` names the step).
    async fn call<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        let answered = tokio::time::timeout(CALL_TIMEOUT, f).await;
        let Ok(result) = answered else {
            return Err(Error::Unreachable {
                at: self.shown.clone(),
                message: format!(
                    "{}: {what} failed: no answer from the database in {}",
                    self.shown,
                    humantime::format_duration(CALL_TIMEOUT)
                ),
            });
        };
        result.map_err(|e| {
            let message = format!(
                "{}: {what} failed: {}{}",
                self.shown,
                describe_error(&e),
                if e.is_closed() {
                    " (the connection to the database was lost)"
                } else {
                    ""
                }
            );
            // The server answered with an error: it was reached.
            if e.as_db_error().is_some() {
                Error::Other(anyhow::anyhow!(message))
            } else {
                Error::Unreachable {
                    at: self.shown.clone(),
                    message,
                }
            }
        })
    }

    fn held(&self) -> anyhow::Result<Held> {
        self.held
            .lock()
            .map_err(|_| anyhow::anyhow!("lease state poisoned"))?
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{}: writing needs a lease; none is held", self.shown))
    }
}

#[async_trait::async_trait]
impl Backend for PgBackend {
    fn shared_budget(&self) -> Option<std::sync::Arc<dyn crate::model::SharedBudget>> {
        Some(self.budget())
    }

    fn describe(&self) -> String {
        format!("{} (workspace {})", self.inner.shown, self.inner.workspace)
    }

    async fn exists(&self) -> Result<bool> {
        self.inner.exists().await
    }

    async fn load(&self) -> Result<State> {
        self.inner.load().await
    }

    async fn has_journal(&self) -> Result<bool> {
        self.inner.has_journal().await
    }

    async fn save(&self, state: &mut State) -> Result<()> {
        self.inner.save(state, false).await
    }

    async fn replace(&self, state: &State) -> Result<()> {
        self.inner.save(&mut state.clone(), true).await
    }

    async fn journal(&self) -> Result<Box<dyn JournalSink>> {
        Ok(Box::new(PgJournal {
            inner: self.inner.clone(),
        }))
    }

    async fn lock(&self, scope: &Scope, command: &str) -> Result<Box<dyn LockGuard>> {
        self.inner.lock(scope, command).await
    }

    fn set_input(&self, digest: &str) {
        if let Ok(mut i) = self.inner.who.input.lock() {
            *i = Some(digest.to_string());
        }
    }

    async fn history(
        &self,
        vendors: &[String],
        emails: &[String],
    ) -> Result<Option<Vec<HistoryEntry>>> {
        self.inner.history(vendors, emails).await
    }

    /// Removes the leases whose holder is gone: expired ones, and those of a
    /// process of this boot, host and PID namespace that no longer runs. A lease
    /// whose holder is alive and renewing it is never removed (as a file's
    /// lock held by a running process is never broken): that is refused,
    /// naming the holder, after the others are removed.
    async fn unlock(&self) -> Result<Option<String>> {
        self.inner.unlock().await
    }
}

struct PgJournal {
    inner: Arc<Inner>,
}

#[async_trait::async_trait]
impl JournalSink for PgJournal {
    async fn append(&mut self, records: &[(String, String, Record)]) -> Result<()> {
        self.inner.append(records).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_lasts_at_least_a_second() {
        let ttl = |v: &'static str| {
            lease_ttl(&move |name: &str| (name == "ROSTER_LEASE_TTL").then(|| v.to_string()))
        };
        assert_eq!(ttl("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(ttl("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(ttl(" ").unwrap(), Duration::from_secs(60));
        for bad in ["999ms", "0s", "soon"] {
            assert!(ttl(bad).is_err(), "{bad}");
        }
    }

    /// The store reads no variable of its own: PGSSLROOTCERT comes from the
    /// environment it is given (here one the process does not have), and is
    /// read before any connection is tried.
    #[tokio::test]
    async fn the_environment_is_the_one_given_at_connect() {
        let env = |name: &str| (name == "PGSSLROOTCERT").then(|| "/nonexistent/ca.pem".to_string());
        let err = PgBackend::connect(
            "postgres://roster:hunter2@127.0.0.1:1/roster",
            "default",
            Duration::ZERO,
            &env,
        )
        .await
        .err()
        .expect("no such certificate file");
        assert_eq!(err.kind(), crate::state::Kind::Unreachable);
        assert!(
            err.to_string().starts_with(
                "cannot connect to postgres://roster:***@127.0.0.1:1/roster: \
                 PGSSLROOTCERT=/nonexistent/ca.pem: cannot read it: "
            ),
            "{err}"
        );
    }
}
