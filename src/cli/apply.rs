//! `roster apply`: create what the plan says is missing, within the safety
//! threshold, and record every outcome (see `roster::ops::apply`).

use super::args::{AcceptGone, LimitFlags, Target};
use super::output::{emit, interrupted, say, Exit, Format};
use super::stderr::Stderr;
use clap::Args;
use roster::ops::apply::{self, Outcome, Report};
use roster::ops::Context;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub safety: LimitFlags,
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
    /// How to print the outcome: the plan then the report (text), or only the
    /// report as one JSON document (json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// A plan saved by `roster plan --out`: apply exactly it, or refuse if stale.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["vendors", "users"])]
    pub planfile: Option<PathBuf>,
}

pub fn exec(ctx: &Context<'_>, stderr: &Stderr, args: &ApplyArgs) -> anyhow::Result<Exit> {
    let request = apply::Request {
        target: args.target.target(),
        limits: args.safety.limits(),
        yes: args.yes,
        force: args.force,
        refresh: args.refresh,
        accept_gone: args.accept_gone.accept_gone.clone(),
        planfile: args.planfile.clone(),
    };
    let report = apply::run(ctx, &request, interrupted())?;
    if let Outcome::RecordingFailed { error, saved, .. } = &report.outcome {
        stderr.notice(&format!(
            "Apply stopped: recording failed: {error:#}. Nothing was sent that is not recorded as pending; {}; the next apply verifies what is pending.",
            if *saved {
                format!("the state was written to {}", report.state_path)
            } else {
                "what was recorded before the failure is kept".to_string()
            }
        ));
    }
    match (&report.outcome, args.format) {
        (Outcome::Cancelled, _) => {
            say!("Apply cancelled; nothing was sent.");
            return Ok(Exit::Error);
        }
        (Outcome::RecordingFailed { .. }, Format::Text) => {}
        (_, Format::Json) => emit(&apply::json(&report)),
        (_, Format::Text) => print(&report),
    }
    Ok(match &report.outcome {
        Outcome::NothingToApply => Exit::Ok,
        Outcome::Applied(r) if r.ok() => Exit::Ok,
        _ => Exit::Partial,
    })
}

fn print(report: &Report) {
    let (path, serial) = (&report.state_path, report.serial);
    let r = match &report.outcome {
        Outcome::Applied(r) => r,
        Outcome::Interrupted { pending } => {
            say!(
                "\nApply interrupted. State written to {path} (serial {serial}); {pending} creation(s) without an answer are pending and the next apply verifies them."
            );
            return;
        }
        _ => {
            say!("Nothing to apply.");
            return;
        }
    };
    say!("\n{}", r.line());
    for n in &r.failed {
        say!("  failed      {}  {}: {}", n.vendor, n.email, n.message);
    }
    for n in &r.pending {
        say!(
            "  unverified  {}  {}: {} (the next apply verifies it)",
            n.vendor,
            n.email,
            n.message
        );
    }
    for n in &r.warnings {
        say!("  warning     {}  {}: {}", n.vendor, n.email, n.message);
    }
    say!("State written to {path} (serial {serial}).");
}
