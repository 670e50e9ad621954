//! The apply workflow: create what the plan says is missing, within the safety
//! threshold, recording every outcome as it comes (journal, then checkpoint).

use super::Target;
use super::{load_desired, load_state, refresh_in_memory, Context, Guard, Limits};
use crate::apply::{self, Note, Recorder};
use crate::plan::render::View;
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Baseline, Plan, Summary};
use crate::state::{Backend, Record, Scope, State, Status, UnfinishedApply};
use anyhow::bail;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

/// What to apply.
#[derive(Clone, Debug)]
pub struct Request {
    /// The desired file, the state, and the narrowing.
    pub target: Target,
    pub limits: Limits,
    /// Go on without asking ([`super::Events::confirm`] is not called).
    pub yes: bool,
    /// Go ahead even above the safety threshold.
    pub force: bool,
    /// Read the vendors' lists first and record what they hold.
    pub refresh: bool,
    /// Vendors whose refresh may record a mass `gone`.
    pub accept_gone: Vec<String>,
    /// A plan saved by `plan --out`: apply exactly it, or refuse if stale.
    pub planfile: Option<PathBuf>,
}

/// How an apply ended.
pub enum Outcome {
    /// The plan had no work; what an interrupted apply or a refresh left was
    /// folded into the state.
    NothingToApply,
    /// Not confirmed: nothing was sent.
    Cancelled,
    /// Every job ran; the executor's report.
    Applied(apply::Report),
    /// Stopped by `stop` (a signal): this many creations are pending.
    Interrupted { pending: usize },
    /// The state could not be written: nothing was sent that is not
    /// recorded as pending. `saved` says whether the last state was written;
    /// `pending` counts the plan's creations without an answer.
    RecordingFailed {
        error: anyhow::Error,
        saved: bool,
        pending: usize,
    },
}

/// What an apply did.
pub struct Report {
    pub outcome: Outcome,
    /// The plan it carried out.
    pub summary: Summary,
    /// Where the state is (passwords hidden), and its serial once written.
    pub state_path: String,
    pub serial: u64,
}

impl Report {
    /// Whether every pair of the plan ended created or adopted.
    pub fn ok(&self) -> bool {
        match &self.outcome {
            Outcome::NothingToApply => true,
            Outcome::Applied(r) => r.ok(),
            _ => false,
        }
    }
}

/// The vendors an apply may write: those it narrows to, or every vendor of the
/// desired state. A saved plan's own narrowing is within the desired state.
/// (The state's other vendors are only read.)
fn write_scope(req: &Request, desired: &crate::desired::Desired) -> Scope {
    if req.target.narrow.vendors.is_empty() {
        Scope::vendors(desired.vendors.keys().cloned())
    } else {
        Scope::vendors(req.target.narrow.vendors.iter().cloned())
    }
}

/// Runs the apply of `req`; `stop` resolving (a signal, with its name) stops
/// it, leaving the requests in flight pending for the next apply to verify.
pub fn run(
    ctx: &Context<'_>,
    req: &Request,
    stop: impl Future<Output = &'static str>,
) -> anyhow::Result<Report> {
    let store = req.target.state.store(ctx)?;
    let vendors = ctx.vendors(store.as_ref());
    let desired = load_desired(&req.target.file, ctx.env)?;
    store.set_input(&desired.digest);
    // Locked before the state is read, so the plan is made from the latest one;
    // a database leases only the vendors this apply writes.
    let _lock = ctx.lock(store.as_ref(), &write_scope(req, &desired), "roster apply")?;
    let mut state = load_state(ctx, store.as_ref(), "this apply starts a new one")?;
    let saved = req.planfile.as_deref().map(SavedPlan::read).transpose()?;
    let filter = match &saved {
        Some(saved) => saved.filter(),
        None => req.target.narrow.filter(&desired, &state)?,
    };
    let recorded = state.clone();
    // A saved plan made accepting a mass `gone` was reviewed as such.
    let accept = req
        .accept_gone
        .iter()
        .chain(saved.iter().flat_map(|s| &s.accept_gone))
        .cloned()
        .collect();
    let guard = Guard::new(&desired, &req.target.file, accept)?;
    let refreshed = if req.refresh || saved.as_ref().is_some_and(|s| s.refresh) {
        let (changes, refused) =
            refresh_in_memory(ctx, &vendors, &desired, &mut state, &filter, &guard)?;
        if !refused.is_empty() {
            // Creating again what a bad read lost would duplicate every one
            // of them: nothing is sent, nothing recorded. --force is for the
            // creation threshold, not for this.
            let lines: Vec<String> = refused.iter().map(|r| r.describe()).collect();
            bail!(
                "refusing to apply: --refresh took a vendor's list for a probable bad read; nothing was sent or recorded:\n  - {}",
                lines.join("\n  - ")
            );
        }
        changes
    } else {
        Vec::new()
    };
    let plan = plan::diff(&desired, &state, &filter);
    if let (Some(saved), Some(path)) = (&saved, &req.planfile) {
        saved.check(&path.display().to_string(), &desired, &recorded, &plan)?;
    }
    let summary = plan.summary();
    // Judged against what the state recorded before the refresh: a read that
    // lost accounts must not lower the bar for creating them again.
    let baseline = Baseline::of(&recorded, &desired.digest);
    let verdict = req
        .limits
        .threshold(&desired, &req.target.file)
        .judge(summary.create, &baseline);
    ctx.events.planned(&View {
        verdict: Some(&verdict),
        ..View::of(&plan)
    });
    let state_path = store.describe();
    let report = |outcome, serial| Report {
        outcome,
        summary,
        state_path: state_path.clone(),
        serial,
    };
    if !summary.has_work() {
        if ctx.runtime.block_on(store.has_journal())?
            || state.unfinished_apply.is_some()
            || !refreshed.is_empty()
        {
            // Fold in what an interrupted apply left, and what the refresh
            // learnt: there is nothing left to do.
            state.unfinished_apply = None;
            ctx.runtime.block_on(store.save(&mut state))?;
        }
        return Ok(report(Outcome::NothingToApply, state.serial));
    }
    if !req.force {
        if let Some(refusal) = verdict.refusal() {
            bail!("{refusal}");
        }
    }
    // A saved plan was reviewed when it was made; otherwise ask.
    if saved.is_none() && !req.yes && !ctx.events.confirm(summary.create + summary.verify)? {
        return Ok(report(Outcome::Cancelled, state.serial));
    }
    let work = apply::prepare(&desired, &state, &plan, &vendors)?;
    begin(ctx, store.as_ref(), &mut state, &desired.digest, baseline)?;
    let total = work.iter().map(|v| v.jobs.len()).sum();
    let recorder = ctx.runtime.block_on(Recorder::new(store, state))?;
    let progress = ctx.events.progress("apply", total);
    let advance = |n, failed| progress.advance(n, failed);
    let ran = ctx.runtime.block_on(async {
        // What the refresh learnt is journaled with the rest: one durable
        // write per vendor, not one per account.
        let mut by_vendor: BTreeMap<&str, Vec<(&str, Record)>> = BTreeMap::new();
        for c in &refreshed {
            by_vendor
                .entry(c.vendor.as_str())
                .or_default()
                .push((c.email.as_str(), c.record.clone()));
        }
        for (vendor, records) in by_vendor {
            recorder.write(vendor, records).await?;
        }
        anyhow::Ok(tokio::select! {
            report = apply::execute(work, &recorder, &advance) => Some(report),
            signal = stop => {
                tracing::warn!("{signal}: stopping; requests in flight are left pending and verified by the next apply");
                None
            }
        })
    })?;
    progress.finish();
    match ran {
        Some(Err(error)) => {
            // The state could not be written (a full disk, the database gone):
            // no creation was sent without its pending record, so stop; what
            // was recorded stays and the next apply verifies what is pending.
            let mut last = State::default();
            recorder.update(|state| last = state.clone())?;
            let saved = ctx.runtime.block_on(recorder.finish());
            let state = saved.as_ref().unwrap_or(&last);
            let outcome = Outcome::RecordingFailed {
                error,
                saved: saved.is_ok(),
                pending: pending(&plan, &last),
            };
            Ok(report(outcome, state.serial))
        }
        None => {
            let state = ctx.runtime.block_on(recorder.finish())?;
            let outcome = Outcome::Interrupted {
                pending: pending(&plan, &state),
            };
            Ok(report(outcome, state.serial))
        }
        Some(Ok(done)) => {
            if done.ok() {
                recorder.update(|state| state.unfinished_apply = None)?;
            }
            let state = ctx.runtime.block_on(recorder.finish())?;
            Ok(report(Outcome::Applied(done), state.serial))
        }
    }
}

/// Records, before anything is sent, what the state held when this apply of
/// `input` began (`baseline`: before any refresh), unless it resumes an
/// unfinished one of the same input: a re-run after an interruption is then
/// judged against the same beginning.
fn begin(
    ctx: &Context<'_>,
    store: &dyn Backend,
    state: &mut State,
    input: &str,
    baseline: Baseline,
) -> anyhow::Result<()> {
    let unfinished = UnfinishedApply {
        existing: baseline.existing,
        input: input.to_string(),
        started: baseline.resumes.unwrap_or_else(crate::state::now),
    };
    if state.unfinished_apply.as_ref() != Some(&unfinished) {
        state.unfinished_apply = Some(unfinished);
        ctx.runtime.block_on(store.save(state))?;
    }
    Ok(())
}

/// The creations of `plan` still without an answer.
fn pending(plan: &Plan, state: &State) -> usize {
    plan.applied()
        .filter(|c| {
            state
                .get(&c.vendor, &c.email)
                .is_some_and(|r| r.status == Status::Pending)
        })
        .count()
}

/// The report as one JSON document (`apply --format json`, format version 1).
pub fn json(report: &Report) -> String {
    let empty = apply::Report::default();
    let r = match &report.outcome {
        Outcome::Applied(r) => r,
        _ => &empty,
    };
    let doc = JsonReport {
        format_version: 1,
        outcome: match report.outcome {
            Outcome::NothingToApply => "nothing to apply",
            Outcome::Applied(_) => "applied",
            Outcome::Cancelled => "cancelled",
            Outcome::Interrupted { .. } | Outcome::RecordingFailed { .. } => "interrupted",
        },
        ok: report.ok(),
        plan: &report.summary,
        created: r.created,
        adopted: r.adopted,
        failed: &r.failed,
        unverified: &r.pending,
        warnings: &r.warnings,
        requests: r.requests,
        state: JsonState {
            path: &report.state_path,
            serial: report.serial,
        },
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

#[derive(Serialize)]
struct JsonReport<'a> {
    format_version: u32,
    /// "applied", "nothing to apply" or "interrupted".
    outcome: &'static str,
    /// Whether every pair of the plan ended created or adopted.
    ok: bool,
    plan: &'a Summary,
    created: usize,
    adopted: usize,
    failed: &'a [Note],
    unverified: &'a [Note],
    warnings: &'a [Note],
    requests: usize,
    state: JsonState<'a>,
}

#[derive(Serialize)]
struct JsonState<'a> {
    path: &'a str,
    serial: u64,
}
