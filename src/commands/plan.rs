//! `roster plan`: what apply would do, as text, JSON or Markdown; optionally saved.

use super::{
    color, emit, filter, load_desired, refresh_in_memory, Input, Narrow, StateFile, EXIT_CHANGES,
    EXIT_OK,
};
use crate::plan::saved::SavedPlan;
use crate::plan::{self, render};
use crate::state::Store;
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
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also save the plan, for `roster apply FILE` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// First read what each vendor holds (their lists) and plan from that, in
    /// memory: accounts deleted at the vendor are created again, accounts found
    /// there are adopted. Needs the vendors' credentials; writes no state.
    #[arg(long)]
    pub refresh: bool,
}

pub fn exec(args: &PlanArgs) -> anyhow::Result<u8> {
    let desired = load_desired(&args.input)?;
    let mut state = Store::new(&args.state.state).load()?;
    let filter = filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?;
    let recorded = state.clone();
    if args.refresh {
        refresh_in_memory(&desired, &mut state, &filter)?;
    }
    let plan = plan::diff(&desired, &state, &filter);
    let text = match args.format {
        Format::Text => render::text(&plan, color()),
        Format::Json => render::json(&plan),
        Format::Markdown => render::markdown(&plan),
    };
    emit(&text);
    if let Some(out) = &args.out {
        SavedPlan::new(&plan, &desired, &recorded, &filter)
            .refreshed(args.refresh)
            .write(out)?;
        eprintln!(
            "Plan saved to {}; `roster apply {}` carries it out exactly.",
            out.display(),
            out.display()
        );
    }
    let changes = plan.summary().has_changes();
    Ok(if args.detailed_exitcode && changes {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}
