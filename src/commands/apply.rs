//! `roster apply`: create what the plan says is missing, within the safety
//! threshold, and record every outcome.

use super::progress::Progress;
use super::{
    color, emit, filter, interrupted, load_desired, runtime, say, Input, Narrow, StateFile,
    EXIT_ERROR, EXIT_OK, EXIT_PARTIAL,
};
use crate::apply::{self, Mode, Recorder, Report};
use crate::desired::{self, process_env, Desired};
use crate::plan::saved::SavedPlan;
use crate::plan::{self, render, Threshold};
use crate::state::{Lock, State, Status, Store};
use anyhow::{bail, Context};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
    /// Don't ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Go ahead even when the plan creates more than the safety threshold.
    #[arg(long)]
    pub force: bool,
    /// Most accounts this apply may create (overrides `safety.max_create`).
    #[arg(long, value_name = "N")]
    pub max_create: Option<usize>,
    /// Most accounts this apply may create, as a percentage of those recorded
    /// (overrides `safety.max_create_percent`; default 30).
    #[arg(long, value_name = "PERCENT")]
    pub max_create_percent: Option<f64>,
    /// How long to wait for the lock while another roster holds it (e.g. 30s,
    /// 10m), then fail naming the holder; 0 fails at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// A plan saved by `roster plan --out`: apply exactly it, or refuse if stale.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["vendors", "users"])]
    pub planfile: Option<PathBuf>,
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

/// The safety threshold from the YAML, with flags on top.
fn threshold(args: &ApplyArgs, desired: &Desired, file: &Path) -> Threshold {
    let s = &desired.safety;
    let source = if args.max_create.is_some() || args.max_create_percent.is_some() {
        "from the command line".to_string()
    } else if *s != desired::Safety::default() {
        format!("from safety: in {}", file.display())
    } else {
        "the default".to_string()
    };
    Threshold {
        max_create: args.max_create.or(s.max_create),
        max_create_percent: args
            .max_create_percent
            .or(s.max_create_percent)
            .unwrap_or(Threshold::DEFAULT_PERCENT),
        min_existing: s.min_existing.unwrap_or(Threshold::DEFAULT_MIN_EXISTING),
        source,
    }
}

pub fn exec(args: &ApplyArgs, quiet: bool) -> anyhow::Result<u8> {
    // Locked before the state is read, so the plan is made from the latest one.
    let _lock = Lock::acquire_within(&args.state.state, "roster apply", args.lock_timeout)?;
    let desired = load_desired(&args.input)?;
    let store = Store::new(&args.state.state);
    let state = store.load()?;
    let saved = args.planfile.as_deref().map(SavedPlan::read).transpose()?;
    let filter = match &saved {
        Some(saved) => saved.filter(),
        None => filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?,
    };
    let plan = plan::diff(&desired, &state, &filter);
    if let (Some(saved), Some(path)) = (&saved, &args.planfile) {
        saved.check(&path.display().to_string(), &desired, &state, &plan)?;
    }
    let summary = plan.summary();
    if !quiet {
        emit(&render::text(&plan, color()));
    }
    if !summary.has_work() {
        if store.journal_path().exists() {
            // Fold in what an interrupted apply left, even with nothing to do.
            let mut state = state;
            store.save(&mut state)?;
        }
        say!("Nothing to apply.");
        return Ok(EXIT_OK);
    }
    if !args.force {
        if let Err(why) = threshold(args, &desired, &args.input.file).check(&summary, &state) {
            bail!("refusing to apply: {why}. Review the plan, then pass --force to go ahead");
        }
    }
    // A saved plan was reviewed when it was made; otherwise ask.
    if saved.is_none() && !args.yes && !confirm(summary.create + summary.verify)? {
        say!("Apply cancelled; nothing was sent.");
        return Ok(EXIT_ERROR);
    }
    let work = apply::prepare(&desired, &plan, &process_env, Mode::Apply)?;
    let total = work.iter().map(|v| v.jobs.len()).sum();
    let recorder = Recorder::new(store, state)?;
    let progress = Progress::new("apply", total, quiet);
    let advance = |n, failed| progress.advance(n, failed);
    let report = runtime()?.block_on(async {
        tokio::select! {
            report = apply::execute(work, &recorder, Mode::Apply, &advance) => Some(report),
            signal = interrupted() => {
                tracing::warn!("{signal}: stopping; requests in flight are left pending and verified by the next apply");
                None
            }
        }
    });
    progress.finish();
    let state = recorder.finish()?;
    let Some(report) = report else {
        let pending = plan
            .applied()
            .filter(|c| {
                state
                    .get(&c.vendor, &c.email)
                    .is_some_and(|r| r.status == Status::Pending)
            })
            .count();
        say!(
            "\nApply interrupted. State written to {} (serial {}); {pending} creation(s) without an answer are pending and the next apply verifies them.",
            args.state.state.display(),
            state.serial
        );
        return Ok(EXIT_PARTIAL);
    };
    let report = report?;
    print_report(&report, &args.state.state, &state);
    Ok(if report.ok() { EXIT_OK } else { EXIT_PARTIAL })
}

fn print_report(report: &Report, path: &Path, state: &State) {
    say!(
        "\nApply: {} created, {} adopted, {} failed, {} unverified ({} request(s)).",
        report.created,
        report.adopted,
        report.failed.len(),
        report.pending.len(),
        report.requests
    );
    for (vendor, email, why) in &report.failed {
        say!("  failed      {vendor}  {email}: {why}");
    }
    for (vendor, email, why) in &report.pending {
        say!("  unverified  {vendor}  {email}: {why} (the next apply verifies it)");
    }
    for (vendor, email, why) in &report.warnings {
        say!("  warning     {vendor}  {email}: {why}");
    }
    say!(
        "State written to {} (serial {}).",
        path.display(),
        state.serial
    );
}
