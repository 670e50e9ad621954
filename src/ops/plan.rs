//! The plan workflow: what apply would do, judged as apply judges it, and
//! optionally saved for `apply PLANFILE` to carry out exactly.

use super::{load_desired, load_state, refresh_in_memory, Context, Limits};
use super::{Guard, Target};
use crate::desired::Desired;
use crate::plan::saved::SavedPlan;
use crate::plan::{self, Plan, Summary, Verdict};
use crate::refresh::Refused;
use crate::state::State;
use std::path::PathBuf;

/// What to plan.
#[derive(Clone, Debug)]
pub struct Request {
    /// The desired file, the state, and the narrowing.
    pub target: Target,
    pub limits: Limits,
    /// Read the vendors' lists first and plan from them, in memory.
    pub refresh: bool,
    /// Vendors whose refresh may record a mass `gone`.
    pub accept_gone: Vec<String>,
    /// Keep what each create grants in the plan (for Markdown and saving).
    pub with_specs: bool,
    /// Save the plan here (not when a refresh was refused).
    pub out: Option<PathBuf>,
}

/// The plan, what it was judged, and what it was made from.
pub struct Report {
    pub plan: Plan,
    /// The desired state the plan was made from.
    pub desired: Desired,
    /// The state it was made against (refreshed in memory, with `refresh`).
    pub state: State,
    pub summary: Summary,
    pub verdict: Verdict,
    /// The refusals of a refresh, then the desired state's warnings.
    pub warnings: Vec<String>,
    /// Vendors whose list a `--refresh` took for a probable bad read: their
    /// records were kept, and the plan was not saved.
    pub refused: Vec<Refused>,
}

impl Report {
    /// What the renderers show: the plan with its verdict and warnings.
    pub fn view(&self) -> crate::plan::render::View<'_> {
        crate::plan::render::View {
            changes: &self.plan.changes,
            summary: self.summary,
            verdict: Some(&self.verdict),
            warnings: &self.warnings,
        }
    }
}

pub fn run(ctx: &Context<'_>, req: &Request) -> anyhow::Result<Report> {
    let store = req.target.state.store(ctx)?;
    let desired = load_desired(&req.target.file, ctx.env)?;
    let mut state = load_state(
        ctx,
        store.as_ref(),
        "planning against an empty state; the first apply starts it",
    )?;
    let filter = req.target.narrow.filter(&desired, &state)?;
    // What the state recorded, kept apart only where a refresh changes it.
    let before_refresh = req.refresh.then(|| state.clone());
    let guard = Guard::new(
        &desired,
        &req.target.file,
        req.accept_gone.iter().cloned().collect(),
    )?;
    let refused = if req.refresh {
        refresh_in_memory(
            ctx,
            &ctx.vendors(store.as_ref()),
            &desired,
            &mut state,
            &filter,
            &guard,
        )?
        .1
    } else {
        Vec::new()
    };
    let mut plan = plan::diff(&desired, &state, &filter);
    let summary = plan.summary();
    // What a create grants is shown in Markdown and kept in a saved plan.
    if req.out.is_some() || req.with_specs {
        plan = plan.with_specs(&desired);
    }
    // Judged, as apply judges it, against what the state recorded before any
    // refresh: a read that lost accounts must not lower the bar for creating
    // them again.
    let recorded = before_refresh.as_ref().unwrap_or(&state);
    let verdict = req
        .limits
        .verdict(&req.target.file, &desired, recorded, summary.create);
    let mut warnings: Vec<String> = refused.iter().map(|r| r.describe()).collect();
    warnings.extend(desired.warnings.iter().cloned());
    if let (Some(out), true) = (&req.out, refused.is_empty()) {
        SavedPlan::new(&plan, &desired, recorded, &filter, Some(&verdict))
            .refreshed(req.refresh)
            .accepting_gone(&guard.accept)
            .write(out)?;
    }
    Ok(Report {
        plan,
        desired,
        state,
        summary,
        verdict,
        warnings,
        refused,
    })
}
