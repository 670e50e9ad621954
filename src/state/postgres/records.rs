//! The records and their history: load, a journal batch, save and replace,
//! each one statement fenced by the writer's lease token.

use super::Inner;
use crate::state::backend::{HistoryEntry, Scope};
use crate::state::error::fail;
use crate::state::{Error, Record, Result, State, Status, UnfinishedApply};
use anyhow::Context;
use std::collections::HashMap;

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

impl Inner {
    pub(super) fn exists(&self) -> Result<bool> {
        let rows = self.query(
            "reading the state",
            "SELECT EXISTS (SELECT 1 FROM roster_workspaces WHERE workspace = $1 AND serial > 0)
                 OR EXISTS (SELECT 1 FROM roster_records WHERE workspace = $1)",
            &[&self.workspace],
        )?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    pub(super) fn has_journal(&self) -> Result<bool> {
        let rows = self.query(
            "reading the state",
            "SELECT dirty FROM roster_workspaces WHERE workspace = $1",
            &[&self.workspace],
        )?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    pub(super) fn history(
        &self,
        vendors: &[String],
        emails: &[String],
    ) -> Result<Option<Vec<HistoryEntry>>> {
        let rows = self.query(
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
        )?;
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

    pub(super) fn load(&self) -> Result<State> {
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
    pub(super) fn append(&self, records: &[(String, String, Record)]) -> Result<()> {
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
                        fenced_rows!(),
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
            return Err(Error::Fenced {
                message: self.lost(&held),
            });
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

    /// Writes `state` as the saved one; its serial is raised, or with `exact`
    /// kept as it is (a copy from another backend).
    pub(super) fn save(&self, state: &mut State, exact: bool) -> Result<()> {
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
        let now = crate::state::now();
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
                        fenced_rows!(),
                        "                     gone AS (
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
            return Err(Error::Fenced {
                message: self.lost(&held),
            });
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
