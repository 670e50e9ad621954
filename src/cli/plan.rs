//! `roster plan`: what apply would do, as text, JSON or Markdown; optionally saved.

use super::args::{AcceptGone, LimitFlags, Target};
use super::output::{color, emit, Exit};
use super::stderr::Stderr;
use clap::{Args, ValueEnum};
use roster::ops::{self, Context};
use roster::plan::render::{self, View};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub safety: LimitFlags,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also save the plan, for `roster apply FILE` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when apply has work (a create or a verify), 0 when it has none.
    /// Drift and orphans are shown, not counted: apply changes nothing there.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// First read what each vendor holds (their lists) and plan from that, in
    /// memory: accounts deleted at the vendor are created again, accounts found
    /// there are adopted. Needs the vendors' credentials; writes no state.
    #[arg(long)]
    pub refresh: bool,
    #[command(flatten)]
    pub accept_gone: AcceptGone,
}

/// Renders a plan in `format`.
pub fn render(view: &View<'_>, format: PlanFormat) -> String {
    match format {
        PlanFormat::Text => render::text(view, color()),
        PlanFormat::Json => render::json(view),
        PlanFormat::Markdown => render::markdown(view),
    }
}

pub fn exec(ctx: &Context<'_>, stderr: &Stderr, args: &PlanArgs) -> anyhow::Result<Exit> {
    let report = ops::plan::run(
        ctx,
        &ops::plan::Request {
            target: args.target.target(),
            limits: args.safety.limits(),
            refresh: args.refresh,
            accept_gone: args.accept_gone.accept_gone.clone(),
            with_specs: matches!(args.format, PlanFormat::Markdown),
            out: args.out.clone(),
        },
    )?;
    emit(&render(&report.view(), args.format));
    if !report.refused.is_empty() {
        // A scheduled drift check must see it: the plan is shown, not saved.
        let names: Vec<&str> = report.refused.iter().map(|r| r.vendor.as_str()).collect();
        stderr.error(&format!(
            "--refresh took the list of {} for a probable bad read; its records were kept{}. Pass --accept-gone VENDOR if the accounts really were deleted",
            names.join(", "),
            if args.out.is_some() { " and the plan was not saved" } else { "" }
        ));
        return Ok(Exit::Error);
    }
    if let Some(out) = &args.out {
        stderr.notice(&format!(
            "Plan saved to {}; `roster apply {}` carries it out exactly.",
            out.display(),
            out.display()
        ));
    }
    let exit = if args.detailed_exitcode && report.summary.has_work() {
        Exit::Changes
    } else {
        Exit::Ok
    };
    // The process ends after this: the plan and the desired state it was made
    // from are left for the system to take back whole, not freed one string
    // at a time (for 100,000 users, about a twelfth of the run).
    std::mem::forget(report);
    Ok(exit)
}
