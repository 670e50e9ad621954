//! `roster plan`: what apply would do, as text, JSON or Markdown; optionally saved.

use super::{
    color, emit, filter, load_desired, refresh_in_memory, stderr, vendor_context, AcceptGone,
    Input, Narrow, Safety, StateFile, EXIT_CHANGES, EXIT_ERROR, EXIT_OK,
};
use crate::plan::render::{self, View};
use crate::plan::saved::SavedPlan;
use crate::plan::{self};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
    #[command(flatten)]
    pub safety: Safety,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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

pub fn exec(args: &PlanArgs) -> anyhow::Result<u8> {
    let store = args.state.store()?;
    let desired = load_desired(&args.input)?;
    let mut state = StateFile::load(
        store.as_ref(),
        "planning against an empty state; the first apply starts it",
    )?;
    let filter = filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?;
    let recorded = state.clone();
    let guard = args.accept_gone.guard(&desired, &args.input.file)?;
    let refused = if args.refresh {
        refresh_in_memory(
            &desired,
            &mut state,
            &filter,
            &guard,
            &vendor_context(store.as_ref()),
        )?
        .1
    } else {
        Vec::new()
    };
    let mut plan = plan::diff(&desired, &state, &filter);
    let summary = plan.summary();
    // What a create grants is shown in Markdown and kept in a saved plan.
    if args.out.is_some() || matches!(args.format, Format::Markdown) {
        plan = plan.with_specs(&desired);
    }
    // Judged, as apply judges it, against what the state recorded before any
    // refresh: a read that lost accounts must not lower the bar for creating
    // them again.
    let verdict = args
        .safety
        .verdict(&args.input, &desired, &recorded, summary.create);
    let mut warnings: Vec<String> = refused.iter().map(|r| r.describe()).collect();
    warnings.extend(desired.warnings.iter().cloned());
    let view = View {
        changes: &plan.changes,
        summary,
        verdict: Some(&verdict),
        warnings: &warnings,
    };
    emit(&match args.format {
        Format::Text => render::text(&view, color()),
        Format::Json => render::json(&view),
        Format::Markdown => render::markdown(&view),
    });
    if !refused.is_empty() {
        // A scheduled drift check must see it: the plan is shown, not saved.
        let names: Vec<&str> = refused.iter().map(|r| r.vendor.as_str()).collect();
        stderr::error(&format!(
            "--refresh took the list of {} for a probable bad read; its records were kept{}. Pass --accept-gone VENDOR if the accounts really were deleted",
            names.join(", "),
            if args.out.is_some() { " and the plan was not saved" } else { "" }
        ));
        return Ok(EXIT_ERROR);
    }
    if let Some(out) = &args.out {
        SavedPlan::new(&plan, &desired, &recorded, &filter, Some(&verdict))
            .refreshed(args.refresh)
            .accepting_gone(&guard.accept)
            .write(out)?;
        stderr::notice(&format!(
            "Plan saved to {}; `roster apply {}` carries it out exactly.",
            out.display(),
            out.display()
        ));
    }
    Ok(if args.detailed_exitcode && summary.has_work() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}
