//! Per-vendor leases: taking one (waiting for a live holder, taking over an
//! expired one), renewing it on its own connection, the fence a lost one
//! meets, and releasing or removing them.

use super::{describe_error, open, Held, Inner, LeaseLine, Shared, Writer, ALL, CALL_TIMEOUT};
use crate::state::backend::{LockGuard, Scope};
use crate::state::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

impl Inner {
    pub(super) async fn lock(
        self: &Arc<Self>,
        scope: &Scope,
        command: &str,
    ) -> Result<Box<dyn LockGuard>> {
        let inner = self;
        // The lease's own connection, whose statements the server ends after
        // a renewal period: the renewal never queues behind another statement.
        let every = inner.ttl / 3;
        let client = tokio::time::timeout(CALL_TIMEOUT, open(&inner.config, &inner.tls, every))
            .await
            .map_err(|_| {
                anyhow::anyhow!("no answer in {}", humantime::format_duration(CALL_TIMEOUT))
            })
            .and_then(|opened| opened)
            .map_err(|e| {
                Error::unreachable(
                    &inner.shown,
                    e.context(format!(
                        "{}: cannot open the lease's connection",
                        inner.shown
                    )),
                )
            })?;
        let line = LeaseLine {
            client: Arc::new(tokio::sync::Mutex::new(client)),
            failure: Arc::default(),
        };
        let held = inner.acquire(scope, command).await?;
        *inner
            .held
            .lock()
            .map_err(|_| anyhow::anyhow!("lease state poisoned"))? = Some(held.clone());
        *inner
            .lease
            .lock()
            .map_err(|_| anyhow::anyhow!("lease state poisoned"))? = Some(line.clone());
        // On the caller's runtime (the binary's one), as the release a guard
        // dropped unreleased spawns.
        let runtime = tokio::runtime::Handle::current();
        let renewal = runtime.spawn(renew(Renewal {
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
            runtime,
            released: false,
        }))
    }

    /// Removes the leases whose holder is gone: expired ones, and those of a
    /// process of this boot, host and PID namespace that no longer runs. A lease
    /// whose holder is alive and renewing it is never removed (as a file's
    /// lock held by a running process is never broken): that is refused,
    /// naming the holder, after the others are removed.
    pub(super) async fn unlock(&self) -> Result<Option<String>> {
        struct Row {
            vendor: String,
            who: String,
            live: bool,
            token: i64,
        }
        let inner = self;
        let rows = inner
            .call("removing the leases", async {
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
            })
            .await?;
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
            return Err(Error::Locked {
                message: format!(
                    "{}: the lease is held by {live}, which is running and renewing it: roster never breaks a live lock. \
                     Wait for it, or stop that process: its lease ends with it, or expires {} after its last renewal{also}",
                    inner.shown,
                    humantime::format_duration(inner.ttl)
                ),
                holder: live,
                since: None,
            });
        }
        Ok((!removed.is_empty()).then_some(removed))
    }

    /// The error that stops the writes of a run whose lease no longer holds,
    /// saying what happened: taken over by another run (named), expired
    /// without renewal (and why the renewal failed), or removed.
    pub(super) async fn lost(&self, held: &Held) -> String {
        let line = self.lease.lock().ok().and_then(|l| l.clone());
        let failure = line
            .as_ref()
            .and_then(|l| l.failure.lock().ok().and_then(|f| f.clone()));
        let client = line.map_or_else(|| self.client.clone(), |l| l.client);
        let asked = tokio::time::timeout(
            Duration::from_secs(10),
            explain_loss(&client, &self.workspace, held, self.ttl, failure),
        )
        .await;
        let what = asked.unwrap_or_else(|_| {
            "it no longer holds (the database did not say why in 10s)".to_string()
        });
        format!(
            "{}: this run's lease was lost: {what}. Nothing more is written; \
             what was recorded before stays, and the next apply verifies what is pending",
            self.shown
        )
    }

    /// Takes the leases of `scope`, waiting up to the lock timeout for a
    /// holder to finish; an expired lease is taken over.
    async fn acquire(&self, scope: &Scope, command: &str) -> Result<Held> {
        let vendors: Vec<String> = match scope {
            Scope::All => vec![ALL.to_string()],
            Scope::Vendors(v) => v.iter().cloned().collect(),
        };
        let token = crate::state::lock_within(
            self.lock_timeout,
            || self.try_acquire(&vendors, command),
            |(holder, _)| tracing::warn!("{}: {holder}; waiting", self.shown),
            |(holder, since), waited| Error::Locked {
                message: format!(
                    "{}: {holder}{waited}. Wait for it, or pass --lock-timeout to wait longer; \
                     if it is not running any more, its lease expires {} after its last renewal \
                     and is then taken over",
                    self.shown,
                    humantime::format_duration(self.ttl)
                ),
                holder,
                since: Some(since),
            },
        )
        .await?;
        if let Ok(mut c) = self.who.command.lock() {
            *c = command.to_string();
        }
        Ok(Held {
            token,
            rows: vendors.len() as i64,
            scope: scope.clone(),
        })
    }

    /// One attempt: the token, or who holds what this needs.
    async fn try_acquire(
        &self,
        vendors: &[String],
        command: &str,
    ) -> Result<Result<i64, (String, String)>> {
        let all = vendors.iter().any(|v| v == ALL);
        self.call("taking the lease", async {
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
                return Ok(Err((holder, live.get::<_, String>(5))));
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
        .await
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
pub(super) fn boot() -> Option<String> {
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

/// What the renewal task needs; not the backend itself, which the task would
/// then keep alive.
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

struct Lease {
    inner: Arc<Inner>,
    token: i64,
    renewal: tokio::task::JoinHandle<()>,
    /// The runtime the lease was taken on: a guard dropped unreleased spawns
    /// its release there.
    runtime: tokio::runtime::Handle,
    released: bool,
}

impl Lease {
    /// Stops the renewal and forgets the lease; what deletes its rows: the
    /// lease's own connection (the main one may still be busy with a
    /// statement the server has not ended yet), its workspace and token.
    fn stop(&mut self) -> (Shared, String, i64, String) {
        self.released = true;
        self.renewal.abort();
        if let Ok(mut held) = self.inner.held.lock() {
            *held = None;
        }
        let line = self.inner.lease.lock().ok().and_then(|mut l| l.take());
        let client = line.map_or_else(|| self.inner.client.clone(), |l| l.client);
        (
            client,
            self.inner.workspace.clone(),
            self.token,
            self.inner.shown.clone(),
        )
    }
}

/// Deletes the lease rows of `token`; a failure is said, and the lease then
/// expires by itself.
async fn release((client, workspace, token, shown): (Shared, String, i64, String)) {
    let released = tokio::time::timeout(CALL_TIMEOUT, async {
        client
            .lock()
            .await
            .execute(
                "DELETE FROM roster_leases WHERE workspace = $1 AND token = $2",
                &[&workspace, &token],
            )
            .await
    })
    .await;
    let failed = match released {
        Ok(Ok(_)) => return,
        Ok(Err(e)) => format!(
            "{}{}",
            describe_error(&e),
            if e.is_closed() {
                " (the connection to the database was lost)"
            } else {
                ""
            }
        ),
        Err(_) => format!(
            "no answer from the database in {}",
            humantime::format_duration(CALL_TIMEOUT)
        ),
    };
    tracing::warn!("{shown}: releasing the lease failed: {failed}; the lease expires by itself");
}

#[async_trait::async_trait]
impl LockGuard for Lease {
    async fn release(mut self: Box<Self>) {
        release(self.stop()).await;
    }
}

impl Drop for Lease {
    /// The fallback for a guard dropped unreleased (an early return, a
    /// panic): the release is spawned on the runtime, not waited for, as a
    /// drop must not block on it. Should it not run (the process ends
    /// first), the lease's TTL is the backstop: unrenewed, it expires.
    fn drop(&mut self) {
        if !self.released {
            let what = self.stop();
            drop(self.runtime.spawn(release(what)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

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
