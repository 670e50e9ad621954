//! Carrying the jobs out: per vendor concurrently, in batches; every answer
//! classified, every unknown one verified, every outcome recorded.

use super::{Job, Recorder, Report, VendorJobs};
use crate::plan::Action;
use crate::secret::Redactor;
use crate::state::{Record, Status};
use crate::vendors::list::{self, Observed, Query};
use crate::vendors::{CallError, Driver, NewUser, Outcome};
use anyhow::Context;
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use tracing::Instrument;

/// Called as pairs finish: how many, and how many of those failed.
pub type Advance<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Runs every vendor's jobs; a failing user or vendor never stops the others.
pub async fn execute(
    work: Vec<VendorJobs<'_>>,
    recorder: &Recorder,
    progress: Advance<'_>,
) -> anyhow::Result<Report> {
    let results = futures::future::join_all(work.into_iter().map(|v| {
        let span = tracing::info_span!("vendor", vendor = %v.name);
        run_vendor(v, recorder, progress).instrument(span)
    }))
    .await;
    let mut report = Report::default();
    for r in results {
        report.merge(r?);
    }
    Ok(report)
}

/// What the vendor holds for each job, in order: one listing when that takes
/// fewer requests than a lookup per job (the state says how long the list
/// is), lookups `concurrency` at a time otherwise.
async fn look_up(
    vendor: &str,
    driver: &dyn Driver,
    jobs: &[Job<'_>],
    recorded: usize,
    concurrency: usize,
) -> Vec<Result<Option<Observed>, String>> {
    let keys: Vec<(String, &str)> = jobs
        .iter()
        .map(|j| (driver.key_of(&j.new_user()), j.email))
        .collect();
    let pages = recorded.div_ceil(driver.lister().map_or(1, |l| l.caps().page_size).max(1)) + 1;
    if jobs.len() > pages {
        return match list::all(driver, Query::All).await {
            Ok(listing) => {
                listing.report_lookalikes(vendor, keys.iter().map(|(k, e)| (*e, k.as_str())));
                keys.iter()
                    .map(|(key, _)| Ok(listing.find(key).observed().cloned()))
                    .collect()
            }
            Err(e) => keys.iter().map(|_| Err(e.to_string())).collect(),
        };
    }
    stream::iter(jobs.iter().zip(&keys))
        .map(|(job, (key, email))| async move {
            match list::lookup(driver, &job.new_user()).await {
                Ok(l) => {
                    l.report_lookalikes(vendor, [(*email, key.as_str())]);
                    Ok(l.find(key).observed().cloned())
                }
                Err(e) => Err(e.to_string()),
            }
        })
        .buffered(concurrency)
        .collect()
        .await
}

/// Pending pairs, looked up: what the vendor holds is adopted with its id. One
/// it does not list may still be in its hands (the dead run's request still
/// being processed, a search index that lags): it is looked up again once its
/// grace period, counted from when its creation was sent, has passed, and only
/// then handed back to be created again.
async fn verify<'a>(
    vendor: &str,
    driver: &dyn Driver,
    mut jobs: Vec<Job<'a>>,
    recorded: usize,
    concurrency: usize,
    grace: Duration,
) -> (Vec<(&'a str, Record)>, Vec<Job<'a>>) {
    let mut records = Vec::new();
    let mut absent = Vec::new();
    for round in 0..2 {
        let looked = look_up(vendor, driver, &jobs, recorded, concurrency).await;
        let now = SystemTime::now();
        let mut again = Vec::new();
        let mut due = now;
        for (job, found) in jobs.into_iter().zip(looked) {
            match found {
                Ok(found) => match job.found(found.as_ref()) {
                    Some(record) => records.push((job.email, record)),
                    None => {
                        let until = job
                            .sent_at
                            .and_then(|t| t.checked_add(grace))
                            .unwrap_or(now);
                        if round == 0 && until > now {
                            due = due.max(until);
                            again.push(job);
                        } else {
                            absent.push(job);
                        }
                    }
                },
                Err(e) => {
                    let why = format!("still unverified: lookup failed: {e}");
                    records.push((
                        job.email,
                        job.record(Status::Pending, None, Some(why), vec![]),
                    ));
                }
            }
        }
        if again.is_empty() {
            break;
        }
        let wait = due.duration_since(now).unwrap_or_default().min(grace);
        tracing::warn!(
            users = again.len(),
            wait_s = wait.as_secs(),
            "creations sent by an earlier apply are not listed yet; waiting out the vendor's grace period before looking again"
        );
        tokio::time::sleep(wait).await;
        jobs = again;
    }
    (records, absent)
}

async fn run_vendor(
    work: VendorJobs<'_>,
    recorder: &Recorder,
    progress: Advance<'_>,
) -> anyhow::Result<Report> {
    let VendorJobs {
        name,
        driver,
        concurrency,
        jobs,
        grace,
        recorded,
    } = work;
    let mut report = Report::default();
    let (pending, mut create): (Vec<_>, Vec<_>) =
        jobs.into_iter().partition(|j| j.action == Action::Verify);
    if !pending.is_empty() && driver.lister().is_some() {
        let (records, absent) = verify(
            &name,
            driver.as_ref(),
            pending,
            recorded,
            concurrency,
            grace,
        )
        .await;
        let records: Vec<_> = records
            .into_iter()
            .map(|(email, record)| (email, scrub(record, &driver.redactor())))
            .collect();
        let looked = records.len();
        let failed = records
            .iter()
            .filter(|(_, r)| r.status != Status::Adopted)
            .count();
        for (email, record) in &records {
            report.count(&name, email, record);
        }
        recorder.write(&name, records).await?;
        if looked > 0 {
            progress(looked, failed);
        }
        create.extend(absent);
    } else {
        // A vendor that cannot be asked (Act-On): the creation is sent again, and
        // the vendor's refusal of a duplicate email is read as "exists".
        create.extend(pending);
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
    // What the vendor received from this run: every request its client sent
    // (lookups, creations, a token, a server's capabilities, retries).
    report.requests = driver.http().sent();
    Ok(report)
}

/// The one gate between what a vendor said and what roster keeps or shows:
/// every record's error and warnings pass here before they are journaled,
/// counted, logged or printed, with every form of every secret `redactor` knows
/// taken out (the vendor's settings, its run-time tokens, and the passwords of
/// the batch, see `create_batch`).
fn scrub(mut record: Record, redactor: &impl std::ops::Deref<Target = Redactor>) -> Record {
    // An id that holds a secret would be printed and stored: kept as no id.
    if record
        .remote_id
        .as_deref()
        .is_some_and(|id| redactor.reveals(id))
    {
        record.remote_id = None;
        record.warnings.push(
            "the vendor's id for this account holds a credential of this vendor: not recorded"
                .into(),
        );
    }
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
    let mut report = Report::default();
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
    let mut records = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let outcome = outcomes.remove(job.email).unwrap_or(Outcome::Unknown {
            reason: "the vendor's answer did not mention this user".into(),
        });
        let record = match outcome {
            Outcome::Created {
                remote_id,
                warnings,
            } => job.record(Status::Created, remote_id, None, warnings),
            // The vendor's answer names the account: that is its confirmation.
            Outcome::Exists {
                remote_id: Some(id),
                ..
            } => job.record(Status::Adopted, Some(id), None, vec![]),
            Outcome::Exists {
                remote_id: None,
                said,
            } => confirm_exists(vendor, driver, job, &said).await,
            Outcome::Rejected { reason } => job.record(
                Status::Failed,
                None,
                Some(format!("rejected: {reason}")),
                vec![],
            ),
            Outcome::Failed { reason } => job.record(Status::Failed, None, Some(reason), vec![]),
            Outcome::Unknown { reason } => job.record(
                Status::Pending,
                None,
                Some(format!("outcome unknown, to verify: {reason}")),
                vec![],
            ),
        };
        records.push((job.email, record));
    }
    // A vendor may quote what it refused, passwords included; any of the batch's
    // may appear in any user's answer. Made after every call of this batch (which
    // may have obtained a token), and only if some answer has text to scrub.
    let redactor = std::cell::LazyCell::new(|| {
        driver
            .redactor()
            .with(users.iter().filter_map(|u| u.password.as_ref()))
    });
    let records: Vec<(&str, Record)> = records
        .into_iter()
        .map(|(email, record)| {
            let record = scrub(record, &redactor);
            report.count(vendor, email, &record);
            (email, record)
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

/// "Already exists" without the vendor's id: adopted only once a lookup finds
/// the account under this user's identity, with its id. Where the vendor lists
/// no such account (or only a look-alike of it), the answer was not what it
/// seemed: the pair is failed with the vendor's words, never adopted. Where the
/// lookup fails, nobody knows yet: pending. A vendor with no lookup and no ids
/// (Act-On) has only its word, which its driver takes only when it names this
/// user's own email (see `acton::says_user_exists`).
async fn confirm_exists(vendor: &str, driver: &dyn Driver, job: &Job<'_>, said: &str) -> Record {
    if driver.lister().is_none() {
        return job.record(Status::Adopted, None, None, vec![]);
    }
    let user = job.new_user();
    let key = driver.key_of(&user);
    match list::lookup(driver, &user).await {
        Ok(listing) => {
            let lookalikes = listing.report_lookalikes(vendor, [(job.email, key.as_str())]);
            let found = listing.find(&key);
            job.found(found.observed()).unwrap_or_else(|| {
                let only = if lookalikes > 0 {
                    " (only a look-alike of it)"
                } else {
                    ""
                };
                let why = format!(
                    "the vendor answered {said:?}, but lists no account for this user{only}: not adopted"
                );
                job.record(Status::Failed, None, Some(why), vec![])
            })
        }
        Err(e) => {
            let why = format!(
                "the vendor answered {said:?}; the lookup that would confirm it failed ({e}): to verify"
            );
            job.record(Status::Pending, None, Some(why), vec![])
        }
    }
}
