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

use super::backend::{Backend, HistoryEntry, JournalSink, LockGuard, Scope};
use super::{Record, State, Status, UnfinishedApply};
use anyhow::{bail, Context};
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::Client;

/// The CTE that writes a batch of `rows` into `roster_records` (insert or
/// replace), shared by a journal append and a save; `ok` is the fence check.
macro_rules! upsert_records {
    () => {
        "                     up AS (
                        INSERT INTO roster_records (workspace, vendor, email, status, remote_id,
                            fingerprint, spec, error, at, inactive, vendor_status, warnings)
                        SELECT $1, r.* FROM rows r, ok WHERE ok.ok
                        ON CONFLICT (workspace, vendor, email) DO UPDATE SET
                            status = EXCLUDED.status, remote_id = EXCLUDED.remote_id,
                            fingerprint = EXCLUDED.fingerprint, spec = EXCLUDED.spec,
                            error = EXCLUDED.error, at = EXCLUDED.at,
                            inactive = EXCLUDED.inactive, vendor_status = EXCLUDED.vendor_status,
                            warnings = EXCLUDED.warnings
                        RETURNING 1),
"
    };
}

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

/// The schema's migrations, in order; the version is how many have run.
const MIGRATIONS: &[&str] = &[
    // 1: records, history, workspaces, leases.
    "CREATE TABLE roster_workspaces (
        workspace text PRIMARY KEY,
        lineage text NOT NULL DEFAULT '',
        serial bigint NOT NULL DEFAULT 0,
        unfinished_existing bigint,
        unfinished_input text,
        unfinished_started text,
        -- Records were appended since the last save.
        dirty boolean NOT NULL DEFAULT false
    );
    CREATE TABLE roster_records (
        workspace text NOT NULL,
        vendor text NOT NULL,
        email text NOT NULL,
        status text NOT NULL,
        remote_id text,
        fingerprint text NOT NULL,
        -- The spec's JSON text exactly as recorded (a state file round-trips
        -- byte for byte).
        spec text NOT NULL,
        error text,
        at text NOT NULL,
        inactive boolean NOT NULL DEFAULT false,
        vendor_status text,
        -- A JSON array of strings.
        warnings text NOT NULL DEFAULT '[]',
        PRIMARY KEY (workspace, vendor, email)
    );
    CREATE TABLE roster_history (
        id bigserial PRIMARY KEY,
        workspace text NOT NULL,
        vendor text NOT NULL,
        email text NOT NULL,
        -- The record's status, or `removed` when a command forgot it.
        status text NOT NULL,
        remote_id text,
        fingerprint text,
        error text,
        at text NOT NULL,
        recorded timestamptz NOT NULL DEFAULT now(),
        run_id text NOT NULL,
        host text NOT NULL,
        command text NOT NULL,
        input text,
        git_commit text
    );
    CREATE INDEX roster_history_pair ON roster_history (workspace, vendor, email, id);
    CREATE TABLE roster_leases (
        workspace text NOT NULL,
        -- A vendor name, or `*` for the whole workspace.
        vendor text NOT NULL,
        token bigint NOT NULL,
        run_id text NOT NULL,
        host text NOT NULL,
        pid bigint NOT NULL,
        command text NOT NULL,
        since timestamptz NOT NULL DEFAULT now(),
        expires timestamptz NOT NULL,
        PRIMARY KEY (workspace, vendor)
    );
    CREATE SEQUENCE roster_fencing;",
    // 2: a request budget per vendor account, shared by every runner (GCRA:
    // the theoretical arrival time of the next request).
    "CREATE TABLE roster_budgets (
        account text PRIMARY KEY,
        tat timestamptz NOT NULL
    );",
    // 3: the holder's PID namespace, so that a lease is judged by its pid
    // only from the namespace that pid belongs to (a container sharing the
    // host name sees other pids).
    "ALTER TABLE roster_leases ADD COLUMN pidns text;",
    // 4: the holder's machine, as of this boot (see `Writer::boot`): host
    // names and the initial PID namespace are the same on many machines, so
    // only a holder of this very boot is judged by its pid.
    "ALTER TABLE roster_leases ADD COLUMN boot text;",
];

/// How long one call to the database may take before roster gives up on it (a
/// partitioned network would otherwise hang an apply forever). A write that
/// times out may still land; what it held is then verified by the next run.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The lease's vendor name for the whole workspace.
const ALL: &str = "*";

/// Whether `--state` names a PostgreSQL database.
pub fn is_url(state: &str) -> bool {
    state.starts_with("postgres://") || state.starts_with("postgresql://")
}

/// `url` with any password replaced by `***`, for every message.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let mut out = url[..scheme_end].to_string();
    let mut rest = &url[scheme_end..];
    // The credentials run to the first `@`, as the driver reads them, so a
    // password holding `/` or `?` is still all masked.
    if let Some(at) = rest.find('@') {
        let userinfo = &rest[..at];
        match userinfo.split_once(':') {
            Some((user, _)) => out.push_str(&format!("{user}:***")),
            None => out.push_str(userinfo),
        }
        out.push('@');
        rest = &rest[at + 1..];
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    out.push_str(&rest[..authority_end]);
    // A password may also ride in the query (`?password=`).
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(tail),
    }
    out
}

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
    runtime: tokio::runtime::Runtime,
    client: Shared,
    /// How to connect again (the lease's own connection).
    config: tokio_postgres::Config,
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
fn lease_ttl() -> anyhow::Result<Duration> {
    match std::env::var("ROSTER_LEASE_TTL") {
        Ok(v) if !v.trim().is_empty() => {
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
    /// `lock_timeout` for a held lease before giving up.
    pub fn connect(url: &str, workspace: &str, lock_timeout: Duration) -> anyhow::Result<Self> {
        let shown = redact(url);
        if workspace.is_empty() || workspace == ALL {
            bail!("--workspace {workspace:?}: give a name");
        }
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| anyhow::anyhow!("--state {shown}: not a valid PostgreSQL URL: {e}"))?;
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("roster-postgres")
            .enable_all()
            .build()
            .context("cannot start the database runtime")?;
        let client = runtime
            .block_on(open(&config, CALL_TIMEOUT))
            .map_err(|e| anyhow::anyhow!("cannot connect to {shown}: {e:#}"))?;
        let git_commit = ["GITHUB_SHA", "CI_COMMIT_SHA"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()));
        let inner = Inner {
            runtime,
            client: Arc::new(tokio::sync::Mutex::new(client)),
            config,
            lease: Mutex::new(None),
            workspace: workspace.to_string(),
            shown,
            ttl: lease_ttl()?,
            lock_timeout,
            who: Writer {
                run_id: uuid::Uuid::new_v4().to_string(),
                host: super::hostname(),
                pid: i64::from(std::process::id()),
                pidns: std::fs::read_link("/proc/self/ns/pid")
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned()),
                boot: boot(),
                git_commit,
                input: Mutex::new(None),
                command: Mutex::new("roster".into()),
            },
            held: Mutex::new(None),
            known: Mutex::new(None),
        };
        inner.migrate()?;
        Ok(PgBackend {
            inner: Arc::new(inner),
        })
    }

    /// Reserves `requests` requests of the budget of vendor account `account`
    /// (a name every runner using that account gives alike, such as its kind
    /// and base URL), spent at `rate_per_second` across every runner sharing
    /// this database; returns how long to wait before sending them. One
    /// statement, so runners on different hosts never overspend it together.
    pub fn reserve(
        &self,
        account: &str,
        requests: u32,
        rate_per_second: f64,
    ) -> anyhow::Result<Duration> {
        if !(rate_per_second > 0.0 && rate_per_second.is_finite()) {
            bail!("a rate budget needs a positive rate, not {rate_per_second}");
        }
        let cost = f64::from(requests) / rate_per_second;
        let inner = &self.inner;
        let wait: f64 = inner.block_on("reserving the rate budget", async {
            let row = inner
                .client
                .lock()
                .await
                .query_one(
                    "INSERT INTO roster_budgets AS b (account, tat)
                     VALUES ($1, clock_timestamp() + make_interval(secs => $2))
                     ON CONFLICT (account) DO UPDATE
                        SET tat = GREATEST(b.tat, clock_timestamp()) + make_interval(secs => $2)
                     RETURNING EXTRACT(EPOCH FROM
                        (tat - make_interval(secs => $2) - clock_timestamp()))::float8",
                    &[&account, &cost],
                )
                .await?;
            Ok(row.get(0))
        })?;
        Ok(Duration::from_secs_f64(wait.max(0.0)))
    }

    /// The vendor accounts' rate budgets in this database, for the vendors'
    /// HTTP clients (see [`crate::vendors::Context`]).
    pub fn budget(&self) -> std::sync::Arc<dyn crate::model::SharedBudget> {
        std::sync::Arc::new(PgBackend {
            inner: Arc::clone(&self.inner),
        })
    }

    /// This process's run id, as the history and the leases record it.
    pub fn run_id(&self) -> &str {
        &self.inner.who.run_id
    }
}

impl crate::model::SharedBudget for PgBackend {
    fn reserve(&self, account: &str, rate_per_second: f64) -> anyhow::Result<Duration> {
        PgBackend::reserve(self, account, 1, rate_per_second)
    }
}

/// A connection to `config`'s server whose every statement the server itself
/// ends after `statement_timeout`: one that waits on a lock another session
/// holds cannot keep the connection past it (a client-side timeout alone
/// leaves the statement running, and the connection busy with it).
async fn open(
    config: &tokio_postgres::Config,
    statement_timeout: Duration,
) -> anyhow::Result<Client> {
    let (client, connection) = config
        .connect(tls()?)
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

/// TLS as `sslmode=prefer` or `require` use it: the server's certificate is
/// verified against the Web PKI roots, or with PGSSLROOTCERT (as libpq reads
/// it) against the CA certificates in that PEM file only (a managed server's
/// own CA).
fn tls() -> anyhow::Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let roots = match std::env::var_os("PGSSLROOTCERT").filter(|v| !v.is_empty()) {
        Some(path) => {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let shown = std::path::Path::new(&path).display().to_string();
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&path)
                .map_err(|e| anyhow::anyhow!("PGSSLROOTCERT={shown}: cannot read it: {e}"))?
            {
                let cert = cert.map_err(|e| {
                    anyhow::anyhow!("PGSSLROOTCERT={shown}: not PEM certificates: {e}")
                })?;
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("PGSSLROOTCERT={shown}: {e}"))?;
            }
            if roots.is_empty() {
                bail!("PGSSLROOTCERT={shown}: holds no certificate");
            }
            roots
        }
        None => rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("cannot set up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A database error as a person can act on it: the server's message when it
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
    fn block_on<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> anyhow::Result<T> {
        let answered = self
            .runtime
            .block_on(async { tokio::time::timeout(CALL_TIMEOUT, f).await });
        let Ok(result) = answered else {
            bail!(
                "{}: {what} failed: no answer from the database in {}",
                self.shown,
                humantime::format_duration(CALL_TIMEOUT)
            );
        };
        result.map_err(|e| {
            anyhow::anyhow!(
                "{}: {what} failed: {}{}",
                self.shown,
                describe_error(&e),
                if e.is_closed() {
                    " (the connection to the database was lost)"
                } else {
                    ""
                }
            )
        })
    }

    fn migrate(&self) -> anyhow::Result<()> {
        let workspace = self.workspace.clone();
        let known = MIGRATIONS.len() as i64;
        let version = self.block_on("creating the schema", async {
            let mut client = self.client.lock().await;
            let tx = client.transaction().await?;
            // One migrator at a time; others wait, then find it done (two
            // concurrent CREATE TABLE IF NOT EXISTS can collide).
            tx.execute("SELECT pg_advisory_xact_lock(7243150917)", &[])
                .await?;
            tx.batch_execute("CREATE TABLE IF NOT EXISTS roster_schema (version bigint NOT NULL)")
                .await?;
            let version: i64 = tx
                .query_opt("SELECT version FROM roster_schema", &[])
                .await?
                .map_or(0, |row| row.get(0));
            if version < known {
                for sql in &MIGRATIONS[version as usize..] {
                    tx.batch_execute(sql).await?;
                }
                tx.execute("DELETE FROM roster_schema", &[]).await?;
                tx.execute("INSERT INTO roster_schema (version) VALUES ($1)", &[&known])
                    .await?;
            }
            if version <= known {
                tx.execute(
                    "INSERT INTO roster_workspaces (workspace) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&workspace],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(version)
        })?;
        if version > known {
            bail!(
                "{}: the database schema is version {version}, newer than this roster understands ({known}); upgrade roster",
                self.shown
            );
        }
        Ok(())
    }

    fn held(&self) -> anyhow::Result<Held> {
        self.held
            .lock()
            .map_err(|_| anyhow::anyhow!("lease state poisoned"))?
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{}: writing needs a lease; none is held", self.shown))
    }

    fn load(&self) -> anyhow::Result<State> {
        let (meta, rows) = self.block_on("reading the state", async {
            let mut client = self.client.lock().await;
            // One snapshot for the workspace's row and its records.
            let client = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let meta = client
                .query_opt(
                    "SELECT lineage, serial, unfinished_existing, unfinished_input, unfinished_started
                     FROM roster_workspaces WHERE workspace = $1",
                    &[&self.workspace],
                )
                .await?;
            let rows = client
                .query(
                    "SELECT vendor, email, status, remote_id, fingerprint, spec, error, at,
                            inactive, vendor_status, warnings
                     FROM roster_records WHERE workspace = $1 ORDER BY vendor, email",
                    &[&self.workspace],
                )
                .await?;
            client.commit().await?;
            Ok((meta, rows))
        })?;
        let mut state = State::default();
        if let Some(m) = meta {
            state.lineage = m.get(0);
            state.serial = u64::try_from(m.get::<_, i64>(1)).unwrap_or(0);
            let existing: Option<i64> = m.get(2);
            let input: Option<String> = m.get(3);
            let started: Option<String> = m.get(4);
            if let (Some(existing), Some(input), Some(started)) = (existing, input, started) {
                state.unfinished_apply = Some(UnfinishedApply {
                    existing: usize::try_from(existing).unwrap_or(0),
                    input,
                    started,
                });
            }
        }
        let mut known = HashMap::with_capacity(rows.len());
        for row in rows {
            let vendor: String = row.get(0);
            let email: String = row.get(1);
            let status: String = row.get(2);
            let spec: String = row.get(5);
            let warnings: String = row.get(10);
            let record = Record {
                status: Status::parse(&status).with_context(|| {
                    format!(
                        "{}: {vendor}/{email}: unknown status {status:?}",
                        self.shown
                    )
                })?,
                remote_id: row.get(3),
                fingerprint: row.get(4),
                spec: serde_json::from_str(&spec).with_context(|| {
                    format!("{}: {vendor}/{email}: the spec is not JSON", self.shown)
                })?,
                error: row.get(6),
                at: row.get(7),
                inactive: row.get(8),
                vendor_status: row.get(9),
                warnings: serde_json::from_str(&warnings).with_context(|| {
                    format!(
                        "{}: {vendor}/{email}: warnings are not a JSON list",
                        self.shown
                    )
                })?,
            };
            known.insert((vendor.clone(), email.clone()), record.clone());
            state.set(&vendor, &email, record);
        }
        *self
            .known
            .lock()
            .map_err(|_| anyhow::anyhow!("state cache poisoned"))? = Some(known);
        Ok(state)
    }

    /// Upserts `records` with a history row each, and marks the workspace as
    /// journaled, in one statement: all of it lands, or (the lease lost, the
    /// connection gone) none.
    fn append(&self, records: &[(String, String, Record)]) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let held = self.held()?;
        let cols = Columns::of(records.iter().map(|(v, e, r)| (v.as_str(), e.as_str(), r)))?;
        let input = self.who.input.lock().ok().and_then(|i| i.clone());
        let command = self
            .who
            .command
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let ok: bool = self.block_on("recording a batch", async {
            let row = self
                .client
                .lock()
                .await
                .query_one(
                    concat!(
                        "WITH fence AS (
                        UPDATE roster_leases SET expires = now() + make_interval(secs => $3)
                        WHERE workspace = $1 AND token = $2 AND expires > now()
                        RETURNING 1),
                     ok AS (SELECT (SELECT count(*) FROM fence) = $4 AS ok),
                     rows AS (
                        SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::bool[],
                            $14::text[], $15::text[])
                        AS r(vendor, email, status, remote_id, fingerprint, spec, error, at,
                             inactive, vendor_status, warnings)),
",
                        upsert_records!(),
                        "                     hist AS (
                        INSERT INTO roster_history (workspace, vendor, email, status, remote_id,
                            fingerprint, error, at, run_id, host, command, input, git_commit)
                        SELECT $1, r.vendor, r.email, r.status, r.remote_id, r.fingerprint,
                            r.error, r.at, $16, $17, $18, $19, $20
                        FROM rows r, ok WHERE ok.ok
                        RETURNING 1),
                     ws AS (
                        UPDATE roster_workspaces SET dirty = true
                        WHERE workspace = $1 AND (SELECT ok FROM ok)
                        RETURNING 1)
                     SELECT ok FROM ok"
                    ),
                    &[
                        &self.workspace,
                        &held.token,
                        &self.ttl.as_secs_f64(),
                        &held.rows,
                        &cols.vendor,
                        &cols.email,
                        &cols.status,
                        &cols.remote_id,
                        &cols.fingerprint,
                        &cols.spec,
                        &cols.error,
                        &cols.at,
                        &cols.inactive,
                        &cols.vendor_status,
                        &cols.warnings,
                        &self.who.run_id,
                        &self.who.host,
                        &command,
                        &input,
                        &self.who.git_commit,
                    ],
                )
                .await?;
            Ok(row.get(0))
        })?;
        if !ok {
            bail!(self.lost(&held));
        }
        if let Ok(mut known) = self.known.lock() {
            if let Some(known) = known.as_mut() {
                for (vendor, email, record) in records {
                    known.insert((vendor.clone(), email.clone()), record.clone());
                }
            }
        }
        Ok(())
    }

    /// The error that stops the writes of a run whose lease no longer holds,
    /// saying what happened: taken over by another run (named), expired
    /// without renewal (and why the renewal failed), or removed.
    fn lost(&self, held: &Held) -> String {
        let line = self.lease.lock().ok().and_then(|l| l.clone());
        let failure = line
            .as_ref()
            .and_then(|l| l.failure.lock().ok().and_then(|f| f.clone()));
        let client = line.map_or_else(|| self.client.clone(), |l| l.client);
        let asked = self.runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                explain_loss(&client, &self.workspace, held, self.ttl, failure),
            )
            .await
        });
        let what = asked.unwrap_or_else(|_| {
            "it no longer holds (the database did not say why in 10s)".to_string()
        });
        format!(
            "{}: this run's lease was lost: {what}. Nothing more is written; \
             what was recorded before stays, and the next apply verifies what is pending",
            self.shown
        )
    }

    /// Writes `state` as the saved one; its serial is raised, or with `exact`
    /// kept as it is (a copy from another backend).
    fn save(&self, state: &mut State, exact: bool) -> anyhow::Result<()> {
        let held = self.held()?;
        if exact && held.scope != Scope::All {
            bail!(
                "{}: replacing the state needs the whole workspace's lease",
                self.shown
            );
        }
        let loaded = self
            .known
            .lock()
            .map_err(|_| anyhow::anyhow!("state cache poisoned"))?
            .is_some();
        if !loaded {
            self.load()?;
        }
        let (changed, removed) = {
            let known = self
                .known
                .lock()
                .map_err(|_| anyhow::anyhow!("state cache poisoned"))?;
            let empty = HashMap::new();
            let known = known.as_ref().unwrap_or(&empty);
            let changed: Vec<(&str, &str, &Record)> = state
                .records()
                .filter(|(v, e, r)| {
                    held.scope.covers(v) && known.get(&(v.to_string(), e.to_string())) != Some(*r)
                })
                .collect();
            let mut removed: Vec<(String, String)> = known
                .keys()
                .filter(|(v, e)| held.scope.covers(v) && state.get(v, e).is_none())
                .cloned()
                .collect();
            removed.sort();
            (Columns::of(changed)?, removed)
        };
        let lineage = if state.lineage.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            state.lineage.clone()
        };
        let unfinished = state.unfinished_apply.as_ref();
        let existing = unfinished.map(|u| u.existing as i64);
        let unfinished_input = unfinished.map(|u| u.input.clone());
        let started = unfinished.map(|u| u.started.clone());
        // The history names the input this run works from, as `append` does.
        let input = self.who.input.lock().ok().and_then(|i| i.clone());
        let (gone_vendor, gone_email): (Vec<String>, Vec<String>) = removed.iter().cloned().unzip();
        let command = self
            .who
            .command
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let now = super::now();
        let exact_serial: Option<i64> = exact
            .then(|| i64::try_from(state.serial))
            .transpose()
            .context("the serial is too large")?;
        let saved: Option<(i64, String)> = self.block_on("saving the state", async {
            let row = self
                .client
                .lock()
                .await
                .query_opt(
                    concat!(
                        "WITH fence AS (
                        UPDATE roster_leases SET expires = now() + make_interval(secs => $3)
                        WHERE workspace = $1 AND token = $2 AND expires > now()
                        RETURNING 1),
                     ok AS (SELECT (SELECT count(*) FROM fence) = $4 AS ok),
                     rows AS (
                        SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::bool[],
                            $14::text[], $15::text[])
                        AS r(vendor, email, status, remote_id, fingerprint, spec, error, at,
                             inactive, vendor_status, warnings)),
                     gone AS (
                        SELECT * FROM unnest($16::text[], $17::text[]) AS g(vendor, email)),
                     del AS (
                        DELETE FROM roster_records d USING gone g, ok
                        WHERE ok.ok AND d.workspace = $1 AND d.vendor = g.vendor
                          AND d.email = g.email
                        RETURNING 1),
",
                        upsert_records!(),
                        "                     hist AS (
                        INSERT INTO roster_history (workspace, vendor, email, status, remote_id,
                            fingerprint, error, at, run_id, host, command, input, git_commit)
                        SELECT $1, r.vendor, r.email, r.status, r.remote_id, r.fingerprint,
                            r.error, r.at, $18, $19, $20, $21, $22
                        FROM rows r, ok WHERE ok.ok
                        UNION ALL
                        SELECT $1, g.vendor, g.email, 'removed', NULL, NULL, NULL, $23,
                            $18, $19, $20, $21, $22
                        FROM gone g, ok WHERE ok.ok
                        RETURNING 1)
                     UPDATE roster_workspaces SET
                        -- Fixed by the first save (another run's, perhaps),
                        -- or given by a copy.
                        lineage = CASE WHEN $28::bigint IS NOT NULL OR lineage = ''
                            THEN $24 ELSE lineage END,
                        serial = COALESCE($28, serial + 1),
                        unfinished_existing = $25, unfinished_input = $26,
                        unfinished_started = $27, dirty = false
                     WHERE workspace = $1 AND (SELECT ok FROM ok)
                     RETURNING serial, lineage"
                    ),
                    &[
                        &self.workspace,
                        &held.token,
                        &self.ttl.as_secs_f64(),
                        &held.rows,
                        &changed.vendor,
                        &changed.email,
                        &changed.status,
                        &changed.remote_id,
                        &changed.fingerprint,
                        &changed.spec,
                        &changed.error,
                        &changed.at,
                        &changed.inactive,
                        &changed.vendor_status,
                        &changed.warnings,
                        &gone_vendor,
                        &gone_email,
                        &self.who.run_id,
                        &self.who.host,
                        &command,
                        &input,
                        &self.who.git_commit,
                        &now,
                        &lineage,
                        &existing,
                        &unfinished_input,
                        &started,
                        &exact_serial,
                    ],
                )
                .await?;
            // No row: the lease check failed and nothing was written.
            Ok(row.map(|r| (r.get(0), r.get(1))))
        })?;
        let Some((serial, lineage)) = saved else {
            bail!(self.lost(&held));
        };
        state.lineage = lineage;
        state.serial = u64::try_from(serial).unwrap_or(0);
        let mut known = HashMap::new();
        for (v, e, r) in state.records() {
            known.insert((v.to_string(), e.to_string()), r.clone());
        }
        if let Ok(mut k) = self.known.lock() {
            *k = Some(known);
        }
        Ok(())
    }

    /// Takes the leases of `scope`, waiting up to the lock timeout for a
    /// holder to finish; an expired lease is taken over.
    fn acquire(&self, scope: &Scope, command: &str) -> anyhow::Result<Held> {
        let vendors: Vec<String> = match scope {
            Scope::All => vec![ALL.to_string()],
            Scope::Vendors(v) => v.iter().cloned().collect(),
        };
        let deadline = std::time::Instant::now() + self.lock_timeout;
        let mut waited = false;
        loop {
            match self.try_acquire(&vendors, command)? {
                Ok(token) => {
                    if let Ok(mut c) = self.who.command.lock() {
                        *c = command.to_string();
                    }
                    return Ok(Held {
                        token,
                        rows: vendors.len() as i64,
                        scope: scope.clone(),
                    });
                }
                Err(holder) => {
                    if std::time::Instant::now() >= deadline {
                        let waited = if waited {
                            format!(
                                " (waited {})",
                                humantime::format_duration(self.lock_timeout)
                            )
                        } else {
                            String::new()
                        };
                        bail!(
                            "{}: {holder}{waited}. Wait for it, or pass --lock-timeout to wait longer; \
                             if it is not running any more, its lease expires {} after its last renewal \
                             and is then taken over",
                            self.shown,
                            humantime::format_duration(self.ttl)
                        );
                    }
                    if !waited {
                        tracing::warn!("{}: {holder}; waiting", self.shown);
                    }
                    waited = true;
                    std::thread::sleep(Duration::from_millis(250));
                }
            }
        }
    }

    /// One attempt: the token, or who holds what this needs.
    fn try_acquire(
        &self,
        vendors: &[String],
        command: &str,
    ) -> anyhow::Result<Result<i64, String>> {
        let all = vendors.iter().any(|v| v == ALL);
        self.block_on("taking the lease", async {
            let mut client = self.client.lock().await;
            let tx = client.transaction().await?;
            // Lease changes in one workspace happen one at a time (briefly:
            // this transaction only).
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('roster-lease:' || $1, 0))",
                &[&self.workspace],
            )
            .await?;
            let rows = tx
                .query(
                    "SELECT vendor, host, pid, run_id, command,
                            to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                            expires > now(), pidns, boot
                     FROM roster_leases
                     WHERE workspace = $1 AND ($2 OR vendor = ANY($3) OR vendor = '*')
                     ORDER BY vendor",
                    &[&self.workspace, &all, &vendors],
                )
                .await?;
            // A holder whose process is gone is as good as expired: its lease
            // is not waited out. Only a holder of this very boot and PID
            // namespace can be told gone by its pid; any other waits for its
            // lease to expire.
            let held = |r: &&tokio_postgres::Row| {
                live_holder(
                    &self.who,
                    r.get(6),
                    Place {
                        host: r.get(1),
                        pid: r.get(2),
                        pidns: r.get(7),
                        boot: r.get(8),
                    },
                )
            };
            if let Some(live) = rows.iter().find(held) {
                let vendor: String = live.get(0);
                let what = if vendor == ALL {
                    "the whole workspace".to_string()
                } else {
                    format!("vendor {vendor}")
                };
                let holder = format!(
                    "{what} is leased by {} (pid {} on {}, run {}, since {})",
                    live.get::<_, String>(4),
                    live.get::<_, i64>(2),
                    live.get::<_, String>(1),
                    live.get::<_, String>(3),
                    live.get::<_, String>(5),
                );
                tx.rollback().await?;
                return Ok(Err(holder));
            }
            for r in &rows {
                tracing::warn!(
                    "taking over the expired lease of vendor {} from {} (pid {} on {}, run {}, gone or not renewed): its unfinished work is recorded as pending",
                    r.get::<_, String>(0),
                    r.get::<_, String>(4),
                    r.get::<_, i64>(2),
                    r.get::<_, String>(1),
                    r.get::<_, String>(3),
                );
            }
            tx.execute(
                "DELETE FROM roster_leases
                 WHERE workspace = $1 AND ($2 OR vendor = ANY($3) OR vendor = '*')",
                &[&self.workspace, &all, &vendors],
            )
            .await?;
            let token: i64 = tx
                .query_one("SELECT nextval('roster_fencing')", &[])
                .await?
                .get(0);
            tx.execute(
                "INSERT INTO roster_leases (workspace, vendor, token, run_id, host, pid, command, expires, pidns, boot)
                 SELECT $1, v, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), $9, $10
                 FROM unnest($8::text[]) AS v",
                &[
                    &self.workspace,
                    &token,
                    &self.who.run_id,
                    &self.who.host,
                    &self.who.pid,
                    &command,
                    &self.ttl.as_secs_f64(),
                    &vendors,
                    &self.who.pidns,
                    &self.who.boot,
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(Ok(token))
        })
    }
}

/// The lease rows a scope names: every vendor's (`all`), or these.
fn lease_rows(scope: &Scope) -> (bool, Vec<String>) {
    match scope {
        Scope::All => (true, vec![ALL.to_string()]),
        Scope::Vendors(v) => (false, v.iter().cloned().collect()),
    }
}

/// What became of the lease `held`: taken over by whom, expired unrenewed, or
/// removed; with why its last renewal failed, if it did.
async fn explain_loss(
    client: &Shared,
    workspace: &str,
    held: &Held,
    ttl: Duration,
    failure: Option<String>,
) -> String {
    let (all, vendors) = lease_rows(&held.scope);
    let renewal = match failure {
        Some(f) => format!("; its last renewal failed: {f}"),
        None => String::new(),
    };
    let rows = client
        .lock()
        .await
        .query(
            "SELECT token = $2, command, pid, host, run_id FROM roster_leases
             WHERE workspace = $1 AND (token = $2 OR $3 OR vendor = ANY($4) OR vendor = '*')
             ORDER BY token = $2",
            &[&workspace, &held.token, &all, &vendors],
        )
        .await;
    match rows {
        Err(e) => format!(
            "it no longer holds (and asking why failed: {}){renewal}",
            describe_error(&e)
        ),
        Ok(rows) => match rows.iter().find(|r| !r.get::<_, bool>(0)) {
            Some(r) => format!(
                "it expired and {} (pid {} on {}, run {}) took it over{renewal}",
                r.get::<_, String>(1),
                r.get::<_, i64>(2),
                r.get::<_, String>(3),
                r.get::<_, String>(4),
            ),
            None if !rows.is_empty() => format!(
                "it expired, not renewed within {}; no other run has taken it{renewal}",
                humantime::format_duration(ttl)
            ),
            None => format!(
                "it was removed after it expired (by `roster state unlock`, or by a run that took it over and has finished){renewal}"
            ),
        },
    }
}

/// Where a lease's holder runs, as its row says.
struct Place<'a> {
    host: &'a str,
    pid: i64,
    pidns: Option<&'a str>,
    boot: Option<&'a str>,
}

/// Whether a lease row is held by a live run: unexpired, and not of a process
/// known to be gone. Only a holder of this very boot, host and PID namespace
/// can be told gone by its pid: host names repeat across machines (runners
/// cloned from one image) and so does the initial PID namespace
/// (`pid:[4026531836]` on every Linux host). Any other holder, and one whose
/// row names no boot (written by an older roster) or a process that cannot
/// tell its own, holds it until it expires.
fn live_holder(who: &Writer, unexpired: bool, at: Place<'_>) -> bool {
    let same = |theirs: Option<&str>, ours: Option<&str>| theirs.is_some() && theirs == ours;
    let here = at.host == who.host
        && same(at.pidns, who.pidns.as_deref())
        && same(at.boot, who.boot.as_deref());
    unexpired && (!here || alive(at.pid))
}

/// This machine as of this boot: the kernel's boot id (new at every boot of
/// every machine, containers sharing their host's); `None` when it is not
/// readable, and then no holder is ever judged by its pid. Never
/// `/etc/machine-id`: every container built from one image has the same.
fn boot() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && id.len() <= 128).then(|| format!("boot_id:{id}"))
}

/// Whether process `pid` runs on this host. Without /proc, assume it does (its
/// lease then expires by itself).
fn alive(pid: i64) -> bool {
    let proc = std::path::Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// Records as parallel arrays, for `unnest`: a batch is one statement.
#[derive(Default)]
struct Columns {
    vendor: Vec<String>,
    email: Vec<String>,
    status: Vec<String>,
    remote_id: Vec<Option<String>>,
    fingerprint: Vec<String>,
    spec: Vec<String>,
    error: Vec<Option<String>>,
    at: Vec<String>,
    inactive: Vec<bool>,
    vendor_status: Vec<Option<String>>,
    warnings: Vec<String>,
}

impl Columns {
    fn of<'a>(
        records: impl IntoIterator<Item = (&'a str, &'a str, &'a Record)>,
    ) -> anyhow::Result<Columns> {
        let mut c = Columns::default();
        for (vendor, email, r) in records {
            c.vendor.push(vendor.to_string());
            c.email.push(email.to_string());
            c.status.push(r.status.as_str().to_string());
            c.remote_id.push(r.remote_id.clone());
            c.fingerprint.push(r.fingerprint.clone());
            c.spec.push(r.spec.as_str().to_string());
            c.error.push(r.error.clone());
            c.at.push(r.at.clone());
            c.inactive.push(r.inactive);
            c.vendor_status.push(r.vendor_status.clone());
            c.warnings
                .push(serde_json::to_string(&r.warnings).context("cannot encode warnings")?);
        }
        Ok(c)
    }
}

impl Backend for PgBackend {
    fn shared_budget(&self) -> Option<std::sync::Arc<dyn crate::model::SharedBudget>> {
        Some(self.budget())
    }

    fn describe(&self) -> String {
        format!("{} (workspace {})", self.inner.shown, self.inner.workspace)
    }

    fn exists(&self) -> anyhow::Result<bool> {
        let inner = &self.inner;
        inner.block_on("reading the state", async {
            let row = inner
                .client
                .lock()
                .await
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM roster_workspaces WHERE workspace = $1 AND serial > 0)
                         OR EXISTS (SELECT 1 FROM roster_records WHERE workspace = $1)",
                    &[&inner.workspace],
                )
                .await?;
            Ok(row.get(0))
        })
    }

    fn load(&self) -> anyhow::Result<State> {
        self.inner.load()
    }

    fn has_journal(&self) -> anyhow::Result<bool> {
        let inner = &self.inner;
        inner.block_on("reading the state", async {
            let row = inner
                .client
                .lock()
                .await
                .query_opt(
                    "SELECT dirty FROM roster_workspaces WHERE workspace = $1",
                    &[&inner.workspace],
                )
                .await?;
            Ok(row.is_some_and(|r| r.get(0)))
        })
    }

    fn save(&self, state: &mut State) -> anyhow::Result<()> {
        self.inner.save(state, false)
    }

    fn replace(&self, state: &State) -> anyhow::Result<()> {
        self.inner.save(&mut state.clone(), true)
    }

    fn journal(&self) -> anyhow::Result<Box<dyn JournalSink>> {
        Ok(Box::new(PgJournal {
            inner: self.inner.clone(),
        }))
    }

    fn lock(&self, scope: &Scope, command: &str) -> anyhow::Result<Box<dyn LockGuard>> {
        let inner = &self.inner;
        // The lease's own connection, whose statements the server ends after
        // a renewal period: the renewal never queues behind another statement.
        let every = inner.ttl / 3;
        let client = inner
            .runtime
            .block_on(async {
                tokio::time::timeout(CALL_TIMEOUT, open(&inner.config, every)).await
            })
            .map_err(|_| {
                anyhow::anyhow!("no answer in {}", humantime::format_duration(CALL_TIMEOUT))
            })
            .and_then(|opened| opened)
            .map_err(|e| {
                anyhow::anyhow!("{}: cannot open the lease's connection: {e:#}", inner.shown)
            })?;
        let line = LeaseLine {
            client: Arc::new(tokio::sync::Mutex::new(client)),
            failure: Arc::default(),
        };
        let held = inner.acquire(scope, command)?;
        *inner
            .held
            .lock()
            .map_err(|_| anyhow::anyhow!("lease state poisoned"))? = Some(held.clone());
        *inner
            .lease
            .lock()
            .map_err(|_| anyhow::anyhow!("lease state poisoned"))? = Some(line.clone());
        let renewal = inner.runtime.spawn(renew(Renewal {
            line,
            workspace: inner.workspace.clone(),
            held: held.clone(),
            ttl: inner.ttl,
            shown: inner.shown.clone(),
        }));
        Ok(Box::new(Lease {
            inner: inner.clone(),
            token: held.token,
            renewal,
        }))
    }

    fn set_input(&self, digest: &str) {
        if let Ok(mut i) = self.inner.who.input.lock() {
            *i = Some(digest.to_string());
        }
    }

    fn history(
        &self,
        vendors: &[String],
        emails: &[String],
    ) -> anyhow::Result<Option<Vec<HistoryEntry>>> {
        let inner = &self.inner;
        let rows = inner.block_on("reading the history", async {
            inner
                .client
                .lock()
                .await
                .query(
                    "SELECT to_char(recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                            vendor, email, status, remote_id, error, run_id, host, command,
                            input, git_commit
                     FROM roster_history
                     WHERE workspace = $1
                       AND (cardinality($2::text[]) = 0 OR vendor = ANY($2))
                       AND (cardinality($3::text[]) = 0 OR email = ANY($3))
                     ORDER BY id",
                    &[&inner.workspace, &vendors, &emails],
                )
                .await
        })?;
        Ok(Some(
            rows.iter()
                .map(|r| HistoryEntry {
                    recorded: r.get(0),
                    vendor: r.get(1),
                    email: r.get(2),
                    status: r.get(3),
                    remote_id: r.get(4),
                    error: r.get(5),
                    run_id: r.get(6),
                    host: r.get(7),
                    command: r.get(8),
                    input: r.get(9),
                    git_commit: r.get(10),
                })
                .collect(),
        ))
    }

    /// Removes the leases whose holder is gone: expired ones, and those of a
    /// process of this boot, host and PID namespace that no longer runs. A lease
    /// whose holder is alive and renewing it is never removed (as a file's
    /// lock held by a running process is never broken): that is refused,
    /// naming the holder, after the others are removed.
    fn unlock(&self) -> anyhow::Result<Option<String>> {
        struct Row {
            vendor: String,
            who: String,
            live: bool,
            token: i64,
        }
        let inner = &self.inner;
        let rows = inner.block_on("removing the leases", async {
            let mut client = inner.client.lock().await;
            let tx = client.transaction().await?;
            // As taking a lease does: one lease change at a time.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('roster-lease:' || $1, 0))",
                &[&inner.workspace],
            )
            .await?;
            let rows: Vec<Row> = tx
                .query(
                    "SELECT vendor, command, pid, host, run_id, expires > now(), pidns, token, boot
                     FROM roster_leases WHERE workspace = $1 ORDER BY vendor",
                    &[&inner.workspace],
                )
                .await?
                .iter()
                .map(|r| Row {
                    vendor: r.get(0),
                    who: format!(
                        "{} (pid {} on {}, run {})",
                        r.get::<_, String>(1),
                        r.get::<_, i64>(2),
                        r.get::<_, String>(3),
                        r.get::<_, String>(4)
                    ),
                    live: live_holder(
                        &inner.who,
                        r.get(5),
                        Place {
                            host: r.get(3),
                            pid: r.get(2),
                            pidns: r.get(6),
                            boot: r.get(8),
                        },
                    ),
                    token: r.get(7),
                })
                .collect();
            let (vendors, tokens): (Vec<&str>, Vec<i64>) = rows
                .iter()
                .filter(|r| !r.live)
                .map(|r| (r.vendor.as_str(), r.token))
                .unzip();
            tx.execute(
                "DELETE FROM roster_leases l
                 USING unnest($2::text[], $3::bigint[]) AS g(vendor, token)
                 WHERE l.workspace = $1 AND l.vendor = g.vendor AND l.token = g.token",
                &[&inner.workspace, &vendors, &tokens],
            )
            .await?;
            tx.commit().await?;
            Ok(rows)
        })?;
        let describe = |live: bool| {
            let mut holders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for r in rows.iter().filter(|r| r.live == live) {
                holders.entry(&r.who).or_default().push(&r.vendor);
            }
            holders
                .into_iter()
                .map(|(who, vendors)| format!("{who} on {}", vendors.join(", ")))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let (removed, live) = (describe(false), describe(true));
        if !live.is_empty() {
            let also = if removed.is_empty() {
                String::new()
            } else {
                format!(" (removed the lease of a holder that is gone: {removed})")
            };
            bail!(
                "{}: the lease is held by {live}, which is running and renewing it: roster never breaks a live lock. \
                 Wait for it, or stop that process: its lease ends with it, or expires {} after its last renewal{also}",
                inner.shown,
                humantime::format_duration(inner.ttl)
            );
        }
        Ok((!removed.is_empty()).then_some(removed))
    }
}

/// What the renewal task needs; not the backend itself, whose runtime must not
/// be dropped on one of its own threads.
struct Renewal {
    line: LeaseLine,
    workspace: String,
    held: Held,
    ttl: Duration,
    shown: String,
}

/// Extends the lease every third of its time to live while its holder runs,
/// on the lease's own connection; a renewal that fails is said (and kept for
/// the error of a write it then fences), and one that finds the lease gone
/// says what became of it.
async fn renew(r: Renewal) {
    let every = r.ttl / 3;
    loop {
        tokio::time::sleep(every).await;
        let renewed = tokio::time::timeout(every, async {
            r.line
                .client
                .lock()
                .await
                .execute(
                    "UPDATE roster_leases SET expires = now() + make_interval(secs => $3)
                     WHERE workspace = $1 AND token = $2 AND expires > now()",
                    &[&r.workspace, &r.held.token, &r.ttl.as_secs_f64()],
                )
                .await
        })
        .await;
        let failure = match renewed {
            Ok(Ok(0)) => {
                let failure = r.line.failure.lock().ok().and_then(|f| f.clone());
                let what =
                    explain_loss(&r.line.client, &r.workspace, &r.held, r.ttl, failure).await;
                tracing::warn!("{}: this run's lease was lost: {what}", r.shown);
                return;
            }
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(describe_error(&e)),
            Err(_) => Some(format!(
                "no answer from the database in {}",
                humantime::format_duration(every)
            )),
        };
        if let Some(f) = &failure {
            tracing::warn!(
                "{}: cannot renew the lease: {f}; it expires {} after its last renewal unless a later one gets through",
                r.shown,
                humantime::format_duration(r.ttl)
            );
        }
        if let Ok(mut last) = r.line.failure.lock() {
            *last = failure;
        }
    }
}

struct PgJournal {
    inner: Arc<Inner>,
}

impl JournalSink for PgJournal {
    fn append(&mut self, records: &[(String, String, Record)]) -> anyhow::Result<()> {
        self.inner.append(records)
    }
}

struct Lease {
    inner: Arc<Inner>,
    token: i64,
    renewal: tokio::task::JoinHandle<()>,
}

impl LockGuard for Lease {}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewal.abort();
        if let Ok(mut held) = self.inner.held.lock() {
            *held = None;
        }
        let inner = &self.inner;
        // Through the lease's own connection: the main one may still be busy
        // with a statement the server has not ended yet.
        let line = inner.lease.lock().ok().and_then(|mut l| l.take());
        let client = line.map_or_else(|| inner.client.clone(), |l| l.client);
        let released = inner.block_on("releasing the lease", async {
            client
                .lock()
                .await
                .execute(
                    "DELETE FROM roster_leases WHERE workspace = $1 AND token = $2",
                    &[&inner.workspace, &self.token],
                )
                .await
        });
        if let Err(e) = released {
            tracing::warn!("{e:#}; the lease expires by itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        for (url, shown) in [
            (
                "postgres://roster:s3cr%40t@db.example.com:5432/roster?sslmode=require",
                "postgres://roster:***@db.example.com:5432/roster?sslmode=require",
            ),
            ("postgresql://roster@db/x", "postgresql://roster@db/x"),
            (
                "postgres://db/x?user=a&password=hunter2",
                "postgres://db/x?user=a&password=***",
            ),
            ("postgres://u:p@h", "postgres://u:***@h"),
            ("postgres://u:pa/ss?x@db/x", "postgres://u:***@db/x"),
        ] {
            assert_eq!(redact(url), shown);
        }
        assert!(is_url("postgresql://h/d") && is_url("postgres://h/d"));
        assert!(!is_url("state/roster.state.json"));
    }

    /// Only a holder of this very host, PID namespace and boot is judged by
    /// its pid; a row or a process that cannot tell one of them never is.
    #[test]
    fn a_holder_is_judged_by_its_pid_only_from_its_own_boot_and_namespace() {
        let who = |boot: Option<&str>| Writer {
            run_id: "r".into(),
            host: "ci".into(),
            pid: 1,
            pidns: Some("pid:[4026531836]".into()),
            boot: boot.map(str::to_string),
            git_commit: None,
            input: Mutex::new(None),
            command: Mutex::new("roster".into()),
        };
        let ours = Some("boot_id:a");
        // A pid no process has (above the kernel's pid_max).
        let gone = i64::from(i32::MAX);
        let at = |boot: Option<&'static str>| Place {
            host: "ci",
            pid: gone,
            pidns: Some("pid:[4026531836]"),
            boot,
        };
        for (mine, theirs, live) in [
            (ours, ours, false),
            (ours, Some("boot_id:b"), true),
            (ours, Some("machine-id:a"), true),
            (ours, None, true),
            (None, None, true),
            (None, ours, true),
        ] {
            assert_eq!(
                live_holder(&who(mine), true, at(theirs)),
                live,
                "{mine:?} judging {theirs:?}"
            );
            assert!(!live_holder(&who(mine), false, at(theirs)));
        }
        assert!(live_holder(
            &who(ours),
            true,
            Place {
                host: "other",
                ..at(ours)
            }
        ));
    }
}
