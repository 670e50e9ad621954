//! The executor: carries out a plan's creations and verifications through the
//! drivers, per vendor concurrently, in batches, and records every outcome.
//!
//! Recording is write-ahead: a `pending` record reaches the journal (fsync'd)
//! before its creation is sent, the final record as its answer arrives, and the
//! state file is rewritten once at the end. Whatever kills roster in between, the
//! next load knows every creation that may have happened.

use crate::desired::{Account, Desired, Env, Password, User};
use crate::plan::{Action, Change, Plan};
use crate::secret::{Redactor, Secret};
use crate::state::{now, Journal, RawSpec, Record, State, Status, Store};
use crate::vendors::{CallError, Driver, Lookup, NewUser, Outcome, PasswordPolicy};
use anyhow::{bail, Context};
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tracing::Instrument;

/// A policy for `password: generate` where the vendor states none.
const DEFAULT_POLICY: PasswordPolicy = PasswordPolicy {
    min: 12,
    max: 64,
    symbols: "!@#$%^&*?",
};

/// One pair to create or verify, ready to send.
pub struct Job<'a> {
    pub action: Action,
    pub email: &'a str,
    pub user: &'a User,
    pub account: &'a Account,
    pub password: Option<Secret>,
}

impl Job<'_> {
    fn new_user(&self) -> NewUser<'_> {
        NewUser {
            email: self.email,
            user: self.user,
            account: &self.account.block,
            password: self.password.clone(),
        }
    }

    fn record(
        &self,
        status: Status,
        remote_id: Option<String>,
        error: Option<String>,
        warnings: Vec<String>,
    ) -> Record {
        Record {
            status,
            remote_id,
            at: now(),
            fingerprint: self.account.fingerprint.clone(),
            spec: RawSpec::of(&self.account.spec_of(&self.user.profile)),
            error,
            warnings,
        }
    }
}

/// A vendor's work: its driver and the pairs to create or verify.
pub struct VendorJobs<'a> {
    pub name: String,
    pub driver: Box<dyn Driver>,
    pub concurrency: usize,
    pub jobs: Vec<Job<'a>>,
}

/// Everything apply needs before it sends anything: drivers connected and
/// passwords resolved. Fails, naming every unset variable, before any request.
pub fn prepare<'a>(
    desired: &'a Desired,
    plan: &Plan,
    env: Env,
    mode: Mode,
) -> anyhow::Result<Vec<VendorJobs<'a>>> {
    let mut by_vendor: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for change in plan.applied() {
        by_vendor.entry(&change.vendor).or_default().push(change);
    }
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for (name, changes) in by_vendor {
        let Some(vendor) = desired.vendors.get(name) else {
            problems.push(format!("vendor `{name}` is not in the desired state"));
            continue;
        };
        let driver = match vendor.config.kind.connect(vendor, env) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!("vendor `{name}`: {e:#}"));
                continue;
            }
        };
        if mode == Mode::Import && !driver.can_lookup() {
            problems.push(format!(
                "vendor `{name}` ({}) has no API to look users up, so there is nothing to import; apply adopts users it finds already there",
                vendor.config.kind
            ));
            continue;
        }
        let mut jobs = Vec::with_capacity(changes.len());
        for change in changes {
            let found = desired
                .users
                .get_key_value(&change.email)
                .and_then(|(email, user)| Some((email, user, user.accounts.get(name)?)));
            let Some((email, user, account)) = found else {
                problems.push(format!("{name}/{}: not in the desired state", change.email));
                continue;
            };
            let policy = account.block.password_policy();
            let password = match &user.password {
                // A lookup sends no password; import needs none set.
                _ if mode == Mode::Import => None,
                None => None,
                Some(Password::Generate) => Some(policy.unwrap_or(DEFAULT_POLICY).generate()),
                Some(Password::Template(t)) => match t.resolve(env) {
                    Ok(p) => match policy.map(|pol| pol.check(&p)) {
                        Some(Err(e)) => {
                            problems.push(format!("{name}/{email}: {e}"));
                            continue;
                        }
                        _ => Some(Secret::new(p)),
                    },
                    Err(missing) => {
                        problems.push(format!(
                            "{name}/{email}: the password needs {} which is not set",
                            missing.join(", ")
                        ));
                        continue;
                    }
                },
            };
            jobs.push(Job {
                action: change.action,
                email,
                user,
                account,
                password,
            });
        }
        let concurrency = vendor
            .config
            .concurrency
            .unwrap_or(vendor.config.kind.defaults().concurrency)
            .max(1);
        out.push(VendorJobs {
            name: name.to_string(),
            driver,
            concurrency,
            jobs,
        });
    }
    if !problems.is_empty() {
        let what = match mode {
            Mode::Apply => "apply",
            Mode::Import => "import",
        };
        bail!(
            "{what} cannot start; nothing was sent:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(out)
}

/// Keeps the state in memory and the journal on disk in step.
///
/// Journal writes go to one thread that group-commits them: whatever the
/// concurrent batches submitted while the previous fsync ran is written and
/// fsync'd together, and each submitter resumes only once its lines are durable.
/// Crash safety is the same as one fsync per write; the cost is one per round.
pub struct Recorder {
    store: Store,
    state: Mutex<State>,
    commits: std::sync::mpsc::Sender<Commit>,
    writer: std::thread::JoinHandle<()>,
}

type Commit = (Vec<u8>, tokio::sync::oneshot::Sender<Result<(), String>>);

impl Recorder {
    pub fn new(store: Store, state: State) -> anyhow::Result<Recorder> {
        let mut journal = store.journal()?;
        let (commits, pending) = std::sync::mpsc::channel::<Commit>();
        let writer = std::thread::Builder::new()
            .name("roster-journal".into())
            .spawn(move || {
                while let Ok(first) = pending.recv() {
                    let mut round = vec![first];
                    round.extend(pending.try_iter());
                    let lines: Vec<u8> =
                        round.iter().flat_map(|(b, _)| b.iter().copied()).collect();
                    let result = journal.write(&lines).map_err(|e| format!("{e:#}"));
                    for (_, done) in round {
                        let _ = done.send(result.clone());
                    }
                }
            })
            .context("cannot start the journal writer")?;
        Ok(Recorder {
            store,
            state: Mutex::new(state),
            commits,
            writer,
        })
    }

    /// Journals `records` (durable when this returns), then records them.
    async fn write(&self, vendor: &str, records: Vec<(&str, Record)>) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        Journal::encode(
            &mut lines,
            records.iter().map(|(email, r)| (vendor, *email, r)),
        )?;
        let (done, durable) = tokio::sync::oneshot::channel();
        self.commits
            .send((lines, done))
            .map_err(|_| anyhow::anyhow!("the journal writer stopped"))?;
        durable
            .await
            .map_err(|_| anyhow::anyhow!("the journal writer stopped"))?
            .map_err(|e| anyhow::anyhow!(e))?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
        for (email, record) in records {
            state.set(vendor, email, record);
        }
        Ok(())
    }

    /// Writes the state file and drops the journal.
    pub fn finish(self) -> anyhow::Result<State> {
        drop(self.commits);
        let _ = self.writer.join();
        let mut state = self
            .state
            .into_inner()
            .map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
        self.store.save(&mut state)?;
        Ok(state)
    }
}

/// What apply did.
#[derive(Debug, Default)]
pub struct Report {
    pub created: usize,
    pub adopted: usize,
    pub failed: Vec<(String, String, String)>,
    pub pending: Vec<(String, String, String)>,
    pub warnings: Vec<(String, String, String)>,
    /// Import: desired users the vendor does not have.
    pub absent: Vec<(String, String)>,
    pub requests: usize,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.created += other.created;
        self.adopted += other.adopted;
        self.failed.extend(other.failed);
        self.pending.extend(other.pending);
        self.warnings.extend(other.warnings);
        self.absent.extend(other.absent);
        self.requests += other.requests;
    }

    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.pending.is_empty()
    }

    fn count(&mut self, vendor: &str, email: &str, record: &Record) {
        let entry = || {
            (
                vendor.to_string(),
                email.to_string(),
                record.error.clone().unwrap_or_default(),
            )
        };
        match record.status {
            Status::Created => self.created += 1,
            Status::Adopted => self.adopted += 1,
            Status::Failed => self.failed.push(entry()),
            Status::Pending => self.pending.push(entry()),
        }
        for w in &record.warnings {
            self.warnings
                .push((vendor.to_string(), email.to_string(), w.clone()));
        }
    }
}

/// Runs every vendor's jobs; a failing user or vendor never stops the others.
/// Called as pairs finish: how many, and how many of those failed.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// What to do with the jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Create what is missing, verifying pending pairs first.
    Apply,
    /// Only look users up and adopt those found; never create.
    Import,
}

/// Runs every vendor's jobs; a failing user or vendor never stops the others.
pub async fn execute(
    work: Vec<VendorJobs<'_>>,
    recorder: &Recorder,
    mode: Mode,
    progress: Progress<'_>,
) -> anyhow::Result<Report> {
    let results = futures::future::join_all(work.into_iter().map(|v| {
        let span = tracing::info_span!("vendor", vendor = %v.name);
        run_vendor(v, recorder, mode, progress).instrument(span)
    }))
    .await;
    let mut report = Report::default();
    for r in results {
        report.merge(r?);
    }
    Ok(report)
}

/// Looks every job up, `concurrency` at a time.
async fn lookup_all<'a>(
    driver: &dyn Driver,
    jobs: Vec<Job<'a>>,
    concurrency: usize,
) -> Vec<(Job<'a>, Result<Lookup, crate::vendors::CallError>)> {
    stream::iter(jobs)
        .map(|job| async move {
            let found = driver.lookup(&job.new_user()).await;
            (job, found)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

async fn run_vendor(
    work: VendorJobs<'_>,
    recorder: &Recorder,
    mode: Mode,
    progress: Progress<'_>,
) -> anyhow::Result<Report> {
    let VendorJobs {
        name,
        driver,
        concurrency,
        jobs,
    } = work;
    let mut report = Report::default();

    // Pending pairs are looked up first (import looks every pair up): found is
    // adopted, the rest is created, and the driver adopts any "already exists"
    // the vendor answers.
    let (look, mut create): (Vec<_>, Vec<_>) = match mode {
        Mode::Import => (jobs, Vec::new()),
        Mode::Apply => jobs.into_iter().partition(|j| j.action == Action::Verify),
    };
    let mut records = Vec::new();
    let mut failed = 0;
    for (job, found) in lookup_all(driver.as_ref(), look, concurrency).await {
        match (found, mode) {
            (Ok(Lookup::Found { remote_id }), _) => {
                report.requests += 1;
                records.push((
                    job.email,
                    job.record(Status::Adopted, Some(remote_id), None, vec![]),
                ));
            }
            (Ok(Lookup::NotFound), Mode::Apply) => {
                report.requests += 1;
                create.push(job);
            }
            (Ok(Lookup::Unsupported), Mode::Apply) => create.push(job),
            (Ok(_), Mode::Import) => {
                report.requests += 1;
                report.absent.push((name.clone(), job.email.to_string()));
            }
            (Err(e), Mode::Apply) => {
                report.requests += 1;
                let error = format!("still unverified: lookup failed: {e}");
                records.push((
                    job.email,
                    job.record(Status::Pending, None, Some(error), vec![]),
                ));
            }
            (Err(e), Mode::Import) => {
                // Nothing was created: the state keeps what it had.
                report.requests += 1;
                failed += 1;
                let reason = driver.redactor().redact(&format!("lookup failed: {e}"));
                report
                    .failed
                    .push((name.clone(), job.email.to_string(), reason));
            }
        }
    }
    let records: Vec<_> = records
        .into_iter()
        .map(|(email, record)| (email, scrub(record, &driver.redactor())))
        .collect();
    for (email, record) in &records {
        report.count(&name, email, record);
    }
    let looked = records.len() + report.absent.len() + failed;
    failed += records
        .iter()
        .filter(|(_, r)| r.status != Status::Adopted)
        .count();
    recorder.write(&name, records).await?;
    if looked > 0 {
        progress(looked, failed);
    }

    let batch = driver.batch_limit().max(1);
    let mut batches = Vec::new();
    let mut rest = create;
    while !rest.is_empty() {
        let tail = rest.split_off(batch.min(rest.len()));
        batches.push(std::mem::replace(&mut rest, tail));
    }
    let results: Vec<anyhow::Result<Report>> = stream::iter(batches)
        .map(|jobs| async {
            let size = jobs.len();
            let r = create_batch(&name, driver.as_ref(), jobs, recorder).await;
            if let Ok(r) = &r {
                progress(size, r.failed.len() + r.pending.len());
            }
            r
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for r in results {
        report.merge(r?);
    }
    Ok(report)
}

/// The one gate between what a vendor said and what roster keeps or shows:
/// every record's error and warnings pass here before they are journaled,
/// counted, logged or printed, with every form of every secret `redactor` knows
/// taken out (the vendor's settings, its run-time tokens, and the passwords of
/// the batch, see `create_batch`).
fn scrub(mut record: Record, redactor: &impl std::ops::Deref<Target = Redactor>) -> Record {
    if record.error.is_none() && record.warnings.is_empty() {
        return record;
    }
    if let Some(e) = &mut record.error {
        *e = redactor.redact(e);
    }
    for w in &mut record.warnings {
        *w = redactor.redact(w);
    }
    record
}

async fn create_batch(
    vendor: &str,
    driver: &dyn Driver,
    jobs: Vec<Job<'_>>,
    recorder: &Recorder,
) -> anyhow::Result<Report> {
    // Write-ahead: the intent is durable before the request leaves.
    let intents = jobs
        .iter()
        .map(|j| {
            let note = "creation sent; no answer recorded yet".to_string();
            (j.email, j.record(Status::Pending, None, Some(note), vec![]))
        })
        .collect();
    recorder
        .write(vendor, intents)
        .await
        .context("cannot journal the creations about to be sent")?;

    let users: Vec<NewUser<'_>> = jobs.iter().map(Job::new_user).collect();
    tracing::info!(users = users.len(), "creating");
    let answer = driver.create(&users).await;
    // A vendor may quote what it refused, passwords included; any of the batch's
    // may appear in any user's answer. Made after the call, which may have
    // obtained a token, and only if some answer has text to scrub.
    let redactor = std::cell::LazyCell::new(|| {
        driver
            .redactor()
            .with(users.iter().filter_map(|u| u.password.as_ref()))
    });
    let mut report = Report {
        requests: 1,
        ..Report::default()
    };
    let mut outcomes: BTreeMap<String, Outcome> = match answer {
        Ok(list) => list.into_iter().collect(),
        Err(e) => {
            let outcome = match e {
                CallError::NotSent(reason) => Outcome::Failed { reason },
                CallError::Refused { message, .. } => Outcome::Failed { reason: message },
                CallError::Unknown(reason) => Outcome::Unknown { reason },
            };
            jobs.iter()
                .map(|j| (j.email.to_string(), outcome.clone()))
                .collect()
        }
    };
    // "Already exists" without the vendor's id: ask for it where the vendor can tell.
    for (job, user) in jobs.iter().zip(&users) {
        if let Some(Outcome::Exists { remote_id: None }) = outcomes.get(job.email) {
            match driver.lookup(user).await {
                Ok(Lookup::Found { remote_id }) => {
                    report.requests += 1;
                    outcomes.insert(
                        job.email.to_string(),
                        Outcome::Exists {
                            remote_id: Some(remote_id),
                        },
                    );
                }
                Ok(Lookup::Unsupported) => {}
                Ok(Lookup::NotFound) | Err(_) => {
                    report.requests += 1;
                    tracing::warn!(email = job.email, "the vendor says the user exists but the lookup did not find it; adopted by email");
                }
            }
        }
    }
    let records: Vec<(&str, Record)> = jobs
        .iter()
        .map(|job| {
            let outcome = outcomes.remove(job.email).unwrap_or(Outcome::Unknown {
                reason: "the vendor's answer did not mention this user".into(),
            });
            let id = |remote: Option<String>| Some(remote.unwrap_or_else(|| job.email.to_string()));
            let record = match outcome {
                Outcome::Created {
                    remote_id,
                    warnings,
                } => job.record(Status::Created, id(remote_id), None, warnings),
                Outcome::Exists { remote_id } => {
                    job.record(Status::Adopted, id(remote_id), None, vec![])
                }
                Outcome::Rejected { reason } => job.record(
                    Status::Failed,
                    None,
                    Some(format!("rejected: {reason}")),
                    vec![],
                ),
                Outcome::Failed { reason } => {
                    job.record(Status::Failed, None, Some(reason), vec![])
                }
                Outcome::Unknown { reason } => job.record(
                    Status::Pending,
                    None,
                    Some(format!("outcome unknown, to verify: {reason}")),
                    vec![],
                ),
            };
            let record = scrub(record, &redactor);
            report.count(vendor, job.email, &record);
            (job.email, record)
        })
        .collect();
    for (email, record) in &records {
        match record.status {
            Status::Failed | Status::Pending => {
                tracing::warn!(%email, status = record.status.as_str(), error = record.error.as_deref().unwrap_or(""), "not created")
            }
            _ => tracing::debug!(%email, status = record.status.as_str(), "recorded"),
        }
    }
    recorder.write(vendor, records).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_journaled_but_not_yet_in_memory_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s.json"));
        let state = store.load().unwrap();
        let recorder = Recorder::new(store, state).unwrap();
        let record = Record {
            status: Status::Created,
            remote_id: Some("r1".into()),
            at: now(),
            fingerprint: "sha256:00".into(),
            spec: RawSpec::of(&serde_json::json!({})),
            error: None,
            warnings: vec![],
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Cancelled (a signal) once its line is on its way to the journal,
            // before the state in memory is told.
            let write = recorder.write("v", vec![("a@x.io", record)]);
            futures::pin_mut!(write);
            let _ = futures::poll!(write);
        });
        let state = recorder.finish().unwrap();
        assert_eq!(
            state.get("v", "a@x.io").map(|r| r.status),
            Some(Status::Created)
        );
    }
}
