//! `roster show PLANFILE`: a plan saved by `roster plan --out`, rendered as the
//! plan showed it (for a pipeline's artifacts and comments). Reads nothing else.

use super::output::{emit, Exit};
use super::plan::{render, PlanFormat};
use clap::Args;
use roster::plan::render::View;
use roster::plan::saved::SavedPlan;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A plan saved by `roster plan --out`.
    #[arg(value_name = "PLANFILE")]
    pub planfile: PathBuf,
    /// How to print it.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

pub fn exec(args: &ShowArgs) -> anyhow::Result<Exit> {
    let saved = SavedPlan::read(&args.planfile)?;
    let plan = saved.plan();
    let view = View {
        changes: &plan.changes,
        summary: saved.summary,
        verdict: saved.verdict.as_ref(),
        warnings: &saved.warnings,
    };
    emit(&render(&view, args.format));
    Ok(Exit::Ok)
}
