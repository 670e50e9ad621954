//! `roster apply`: create what the plan says is missing, within the safety
//! threshold, and record every outcome.

use super::progress::Progress;
use super::{
    color, emit, filter, interrupted, load_desired, refresh_in_memory, runtime, say, stderr,
    vendor_context, AcceptGone, Guard, Input, Narrow, Safety, StateFile, EXIT_ERROR, EXIT_OK,
    EXIT_PARTIAL,
};
use crate::apply::{self, Recorder, Report};
use crate::plan::render::{self, View};
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Baseline, Plan, Summary};
use crate::state::{Backend, Scope, State, Status, UnfinishedApply};
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The plan, then the report, for a person.
    Text,
    /// Only the report, as one JSON document.
    Json,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
    #[command(flatten)]
    pub safety: Safety,
    /// Don't ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Go ahead even when the plan creates more than the safety threshold.
    /// (It does not accept a refresh's mass `gone`: see --accept-gone.)
    #[arg(long)]
    pub force: bool,
    /// First read what each vendor holds (their lists) and record it: accounts
    /// deleted at the vendor are created again, accounts found there are adopted
    /// (not created, so not counted by the safety threshold).
    #[arg(long)]
    pub refresh: bool,
    #[command(flatten)]
    pub accept_gone: AcceptGone,
    /// How to print the outcome.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// A plan saved by `roster plan --out`: apply exactly it, or refuse if stale.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["vendors", "users"])]
    pub planfile: Option<PathBuf>,
}

/// The vendors an apply may write: those it narrows to, or every vendor of the
/// desired state. A saved plan's own narrowing is within the desired state.
/// (The state's other vendors are only read.)
fn write_scope(args: &ApplyArgs, desired: &crate::desired::Desired) -> Scope {
    if args.narrow.vendors.is_empty() {
        Scope::vendors(desired.vendors.keys().cloned())
    } else {
        Scope::vendors(args.narrow.vendors.iter().cloned())
    }
}

fn confirm(creations: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: stdin is not a terminal, pass --yes");
    }
    eprint!("\nroster will create or verify {creations} account(s). Type 'yes' to go on: ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(answer.trim() == "yes")
}

pub fn exec(args: &ApplyArgs, quiet: bool) -> anyhow::Result<u8> {
    let json = args.format == Format::Json;
    let store = args.state.store()?;
    let desired = load_desired(&args.input)?;
    store.set_input(&desired.digest);
    // Locked before the state is read, so the plan is made from the latest one;
    // a database leases only the vendors this apply writes.
    let _lock = store.lock(&write_scope(args, &desired), "roster apply")?;
    let mut state = StateFile::load(store.as_ref(), "this apply starts a new one")?;
    let saved = args.planfile.as_deref().map(SavedPlan::read).transpose()?;
    let filter = match &saved {
        Some(saved) => saved.filter(),
        None => filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?,
    };
    let recorded = state.clone();
    // A saved plan made accepting a mass `gone` was reviewed as such.
    let accept = args
        .accept_gone
        .accept_gone
        .iter()
        .chain(saved.iter().flat_map(|s| &s.accept_gone))
        .cloned()
        .collect();
    let guard = Guard::new(&desired, &args.input.file, accept)?;
    let refreshed = if args.refresh || saved.as_ref().is_some_and(|s| s.refresh) {
        let (changes, refused) = refresh_in_memory(
            &desired,
            &mut state,
            &filter,
            &guard,
            &vendor_context(store.as_ref()),
        )?;
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
    if let (Some(saved), Some(path)) = (&saved, &args.planfile) {
        saved.check(&path.display().to_string(), &desired, &recorded, &plan)?;
    }
    let summary = plan.summary();
    // Judged against what the state recorded before the refresh: a read that
    // lost accounts must not lower the bar for creating them again.
    let baseline = Baseline::of(&recorded, &desired.digest);
    let verdict = args
        .safety
        .threshold(&desired, &args.input.file)
        .judge(summary.create, &baseline);
    if !quiet && !json {
        let view = View {
            verdict: Some(&verdict),
            ..View::of(&plan)
        };
        emit(&render::text(&view, color()));
    }
    let path = store.describe();
    if !summary.has_work() {
        if store.has_journal()? || state.unfinished_apply.is_some() || !refreshed.is_empty() {
            // Fold in what an interrupted apply left, and what the refresh
            // learnt: there is nothing left to do.
            state.unfinished_apply = None;
            store.save(&mut state)?;
        }
        print_report(
            args.format,
            Outcome::NothingToApply,
            &summary,
            None,
            &path,
            &state,
        );
        return Ok(EXIT_OK);
    }
    if !args.force {
        if let Some(refusal) = verdict.refusal() {
            bail!("{refusal}");
        }
    }
    // A saved plan was reviewed when it was made; otherwise ask.
    if saved.is_none() && !args.yes && !confirm(summary.create + summary.verify)? {
        say!("Apply cancelled; nothing was sent.");
        return Ok(EXIT_ERROR);
    }
    let work = apply::prepare(&desired, &state, &plan, &vendor_context(store.as_ref()))?;
    begin(store.as_ref(), &mut state, &desired.digest, baseline)?;
    let total = work.iter().map(|v| v.jobs.len()).sum();
    let recorder = Recorder::new(store, state)?;
    let progress = Progress::new("apply", total, quiet);
    let advance = |n, failed| progress.advance(n, failed);
    let report = runtime()?.block_on(async {
        // What the refresh learnt is journaled with the rest: one durable
        // write per vendor, not one per account.
        let mut by_vendor: std::collections::BTreeMap<&str, Vec<(&str, crate::state::Record)>> =
            std::collections::BTreeMap::new();
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
            signal = interrupted() => {
                tracing::warn!("{signal}: stopping; requests in flight are left pending and verified by the next apply");
                None
            }
        })
    })?;
    progress.finish();
    if let Some(Err(e)) = &report {
        // The state could not be written (a full disk, the database gone): no
        // creation was sent without its pending record, so stop; what was
        // recorded stays and the next apply verifies what is pending.
        let mut last = State::default();
        recorder.update(|state| last = state.clone())?;
        let saved = recorder.finish();
        stderr::notice(&format!(
            "Apply stopped: recording failed: {e:#}. Nothing was sent that is not recorded as pending; {}; the next apply verifies what is pending.",
            match &saved {
                Ok(_) => format!("the state was written to {path}"),
                Err(_) => "what was recorded before the failure is kept".to_string(),
            }
        ));
        if json {
            // A tool reading the JSON report sees an interrupted apply, with
            // the last state written.
            let state = saved.as_ref().unwrap_or(&last);
            print_report(
                args.format,
                Outcome::Interrupted(pending(&plan, &last)),
                &summary,
                None,
                &path,
                state,
            );
        }
        return Ok(EXIT_PARTIAL);
    }
    if let Some(Ok(report)) = &report {
        if report.ok() {
            recorder.update(|state| state.unfinished_apply = None)?;
        }
    }
    let state = recorder.finish()?;
    let Some(report) = report else {
        print_report(
            args.format,
            Outcome::Interrupted(pending(&plan, &state)),
            &summary,
            None,
            &path,
            &state,
        );
        return Ok(EXIT_PARTIAL);
    };
    let report = report?;
    print_report(
        args.format,
        Outcome::Applied,
        &summary,
        Some(&report),
        &path,
        &state,
    );
    Ok(if report.ok() { EXIT_OK } else { EXIT_PARTIAL })
}

/// Records, before anything is sent, what the state held when this apply of
/// `input` began (`baseline`: before any refresh), unless it resumes an
/// unfinished one of the same input: a re-run after an interruption is then
/// judged against the same beginning.
fn begin(
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
        store.save(state)?;
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

enum Outcome {
    NothingToApply,
    Applied,
    /// Stopped by a signal; this many creations are pending.
    Interrupted(usize),
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
    failed: Vec<JsonPair<'a>>,
    unverified: Vec<JsonPair<'a>>,
    warnings: Vec<JsonPair<'a>>,
    requests: usize,
    state: JsonState<'a>,
}

#[derive(Serialize)]
struct JsonPair<'a> {
    vendor: &'a str,
    email: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonState<'a> {
    path: &'a str,
    serial: u64,
}

fn pairs(list: &[(String, String, String)]) -> Vec<JsonPair<'_>> {
    list.iter()
        .map(|(vendor, email, message)| JsonPair {
            vendor,
            email,
            message,
        })
        .collect()
}

fn print_report(
    format: Format,
    outcome: Outcome,
    summary: &Summary,
    report: Option<&Report>,
    path: &str,
    state: &State,
) {
    let empty = Report::default();
    let r = report.unwrap_or(&empty);
    if format == Format::Json {
        let doc = JsonReport {
            format_version: 1,
            outcome: match outcome {
                Outcome::NothingToApply => "nothing to apply",
                Outcome::Applied => "applied",
                Outcome::Interrupted(_) => "interrupted",
            },
            ok: !matches!(outcome, Outcome::Interrupted(_)) && r.ok(),
            plan: summary,
            created: r.created,
            adopted: r.adopted,
            failed: pairs(&r.failed),
            unverified: pairs(&r.pending),
            warnings: pairs(&r.warnings),
            requests: r.requests,
            state: JsonState {
                path,
                serial: state.serial,
            },
        };
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        emit(&text);
        return;
    }
    match outcome {
        Outcome::NothingToApply => {
            say!("Nothing to apply.");
            return;
        }
        Outcome::Interrupted(pending) => {
            say!(
                "\nApply interrupted. State written to {} (serial {}); {pending} creation(s) without an answer are pending and the next apply verifies them.",
                path,
                state.serial
            );
            return;
        }
        Outcome::Applied => {}
    }
    say!(
        "\nApply: {} created, {} adopted, {} failed, {} unverified ({} request(s)).",
        r.created,
        r.adopted,
        r.failed.len(),
        r.pending.len(),
        r.requests
    );
    for (vendor, email, why) in &r.failed {
        say!("  failed      {vendor}  {email}: {why}");
    }
    for (vendor, email, why) in &r.pending {
        say!("  unverified  {vendor}  {email}: {why} (the next apply verifies it)");
    }
    for (vendor, email, why) in &r.warnings {
        say!("  warning     {vendor}  {email}: {why}");
    }
    say!("State written to {} (serial {}).", path, state.serial);
}
