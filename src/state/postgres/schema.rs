//! The schema roster creates and migrates (`roster_schema` holds its version).

use super::Inner;
use crate::state::error::fail;
use crate::state::Result;

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

impl Inner {
    pub(super) async fn migrate(&self) -> Result<()> {
        let workspace = self.workspace.clone();
        let known = MIGRATIONS.len() as i64;
        let version = self
            .call("creating the schema", async {
                let mut client = self.client.lock().await;
                let tx = client.transaction().await?;
                // One migrator at a time; others wait, then find it done (two
                // concurrent CREATE TABLE IF NOT EXISTS can collide).
                tx.execute("SELECT pg_advisory_xact_lock(7243150917)", &[])
                    .await?;
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS roster_schema (version bigint NOT NULL)",
                )
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
            })
            .await?;
        if version > known {
            fail!(
                "{}: the database schema is version {version}, newer than this roster understands ({known}); upgrade roster",
                self.shown
            );
        }
        Ok(())
    }
}
