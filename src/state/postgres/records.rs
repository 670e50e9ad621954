//! The records and their history: load, a journal batch, save and replace,
//! each one statement fenced by the writer's lease token.

use super::{Held, Inner};
use crate::state::backend::{HistoryEntry, Scope};
use crate::state::error::fail;
use crate::state::{Error, Record, Result, State, Status, UnfinishedApply};
use anyhow::Context;
use std::collections::HashMap;
use tokio_postgres::types::ToSql;

/// The start of a fenced write: the lease is renewed only if this holder's
/// token still holds it (`ok` says whether it did, `$4` leases being asked
/// for), and `rows` are the records $5..$15 as a table.
macro_rules! fenced_rows {
    () => {
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
"
    };
}

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

/// The CTE that writes a history row for each of `rows`, by the writer
/// $16..$20 (run id, host, command, input, commit), then any `more` rows of
/// the same columns (a `UNION ALL SELECT`). The last CTE: no comma follows.
macro_rules! record_history {
    ($more:literal) => {
        concat!(
            "                     hist AS (
                        INSERT INTO roster_history (workspace, vendor, email, status, remote_id,
                            fingerprint, error, at, run_id, host, command, input, git_commit)
                        SELECT $1, r.vendor, r.email, r.status, r.remote_id, r.fingerprint,
                            r.error, r.at, $16, $17, $18, $19, $20
                        FROM rows r, ok WHERE ok.ok
",
            $more,
            "                        RETURNING 1)
"
        )
    };
}

/// One fenced write of a batch of records (see `Inner::write_fenced`):
/// the fence, the `before` CTEs, the upsert, the history with its `more`
/// rows, and the `rest` of the statement, which returns no row when the
/// fence did not hold.
macro_rules! fenced_write {
    (before: $before:literal, history: $more:literal, rest: $rest:literal) => {
        concat!(
            fenced_rows!(),
            $before,
            upsert_records!(),
            record_history!($more),
            $rest
        )
    };
}

impl Inner {
    pub(super) async fn exists(&self) -> Result<bool> {
        let rows = self.query(
            "reading the state",
            "SELECT EXISTS (SELECT 1 FROM roster_workspaces WHERE workspace = $1 AND serial > 0)
                 OR EXISTS (SELECT 1 FROM roster_records WHERE workspace = $1)",
            &[&self.workspace],
        )
        .await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    pub(super) async fn has_journal(&self) -> Result<bool> {
        let rows = self
            .query(
                "reading the state",
                "SELECT dirty FROM roster_workspaces WHERE workspace = $1",
                &[&self.workspace],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    pub(super) async fn history(
        &self,
        vendors: &[String],
        emails: &[String],
    ) -> Result<Option<Vec<HistoryEntry>>> {
        let rows = self
            .query(
                "reading the history",
                "SELECT to_char(recorded AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                            vendor, email, status, remote_id, error, run_id, host, command,
                            input, git_commit
                     FROM roster_history
                     WHERE workspace = $1
                       AND (cardinality($2::text[]) = 0 OR vendor = ANY($2))
                       AND (cardinality($3::text[]) = 0 OR email = ANY($3))
                     ORDER BY id",
                &[&self.workspace, &vendors, &emails],
            )
            .await?;
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

    pub(super) async fn load(&self) -> Result<State> {
        let (meta, rows) = self
            .call("reading the state", async {
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
        })
        .await?;
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
            let corrupt = |e: anyhow::Error| {
                Error::corrupt("record", format!("{}: {vendor}/{email}", self.shown), e)
            };
            let record = Record {
                status: Status::parse(&status)
                    .with_context(|| {
                        format!(
                            "{}: {vendor}/{email}: unknown status {status:?}",
                            self.shown
                        )
                    })
                    .map_err(corrupt)?,
                remote_id: row.get(3),
                fingerprint: row.get(4),
                spec: serde_json::from_str(&spec)
                    .with_context(|| {
                        format!("{}: {vendor}/{email}: the spec is not JSON", self.shown)
                    })
                    .map_err(corrupt)?,
                error: row.get(6),
                at: row.get(7),
                inactive: row.get(8),
                vendor_status: row.get(9),
                warnings: serde_json::from_str(&warnings)
                    .with_context(|| {
                        format!(
                            "{}: {vendor}/{email}: warnings are not a JSON list",
                            self.shown
                        )
                    })
                    .map_err(corrupt)?,
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
    pub(super) async fn append(&self, records: &[(String, String, Record)]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let held = self.held()?;
        let cols = Columns::of(records.iter().map(|(v, e, r)| (v.as_str(), e.as_str(), r)))?;
        self.write_fenced(
            "recording a batch",
            &held,
            &cols,
            fenced_write!(
                before: "",
                history: "",
                rest: "                     , ws AS (
                        UPDATE roster_workspaces SET dirty = true
                        WHERE workspace = $1 AND (SELECT ok FROM ok)
                        RETURNING 1)
                     SELECT ok FROM ok WHERE ok"
            ),
            &[],
        )
        .await?;
        if let Ok(mut known) = self.known.lock() {
            if let Some(known) = known.as_mut() {
                for (vendor, email, record) in records {
                    known.insert((vendor.clone(), email.clone()), record.clone());
                }
            }
        }
        Ok(())
    }

    /// Writes `state` as the saved one; its serial is raised, or with `exact`
    /// kept as it is (a copy from another backend).
    pub(super) async fn save(&self, state: &mut State, exact: bool) -> Result<()> {
        let held = self.held()?;
        if exact && held.scope != Scope::All {
            fail!(
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
            self.load().await?;
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
        let (gone_vendor, gone_email): (Vec<String>, Vec<String>) = removed.iter().cloned().unzip();
        let now = crate::state::now();
        let exact_serial: Option<i64> = exact
            .then(|| i64::try_from(state.serial))
            .transpose()
            .context("the serial is too large")?;
        let saved = self
            .write_fenced(
                "saving the state",
                &held,
                &changed,
                fenced_write!(
                    before: "                     gone AS (
                        SELECT * FROM unnest($21::text[], $22::text[]) AS g(vendor, email)),
                     del AS (
                        DELETE FROM roster_records d USING gone g, ok
                        WHERE ok.ok AND d.workspace = $1 AND d.vendor = g.vendor
                          AND d.email = g.email
                        RETURNING 1),
",
                    history: "                        UNION ALL
                        SELECT $1, g.vendor, g.email, 'removed', NULL, NULL, NULL, $23,
                            $16, $17, $18, $19, $20
                        FROM gone g, ok WHERE ok.ok
",
                    rest: "                     UPDATE roster_workspaces SET
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
                    &gone_vendor,
                    &gone_email,
                    &now,
                    &lineage,
                    &existing,
                    &unfinished_input,
                    &started,
                    &exact_serial,
                ],
            )
            .await?;
        let (serial, lineage): (i64, String) = (saved.get(0), saved.get(1));
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

    /// Runs `sql` (a `fenced_write!`) with $1..$20 bound to the lease
    /// `held`, the records `cols` and who writes them, and `more` as $21 on.
    /// No row back means the fence did not hold and nothing was written: that
    /// is [`Error::Fenced`], saying why the lease was lost.
    async fn write_fenced(
        &self,
        what: &str,
        held: &Held,
        cols: &Columns,
        sql: &str,
        more: &[&(dyn ToSql + Sync)],
    ) -> Result<tokio_postgres::Row> {
        // The history names the input this run works from and the command.
        let input = self.who.input.lock().ok().and_then(|i| i.clone());
        let command = self
            .who
            .command
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let ttl = self.ttl.as_secs_f64();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &self.workspace,
            &held.token,
            &ttl,
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
        ];
        params.extend_from_slice(more);
        let row = self
            .call(what, async {
                self.client.lock().await.query_opt(sql, &params).await
            })
            .await?;
        match row {
            Some(row) => Ok(row),
            None => Err(Error::Fenced {
                message: self.lost(held).await,
            }),
        }
    }
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
