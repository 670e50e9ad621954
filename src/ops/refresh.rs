//! The refresh workflow: the state from what the vendors hold (like `terraform
//! apply -refresh-only`). Changes nothing at any vendor.

use super::Target;
use super::{load_desired, load_state, read_vendors, Context, Guard, Read};
use crate::refresh;
use crate::state::Scope;

/// What to refresh.
#[derive(Clone, Debug)]
pub struct Request {
    /// The desired file, the state, and the narrowing.
    pub target: Target,
    /// Vendors whose list may record a mass `gone`.
    pub accept_gone: Vec<String>,
}

/// What a refresh read, and whether it wrote the state.
pub struct Report {
    pub read: Read,
    /// Where the state is, and its serial when this refresh wrote it.
    pub state_path: String,
    pub written: Option<u64>,
}

pub fn run(ctx: &Context<'_>, req: &Request) -> anyhow::Result<Report> {
    let store = req.target.state.store(ctx)?;
    let scope = if req.target.narrow.vendors.is_empty() {
        Scope::All
    } else {
        Scope::vendors(req.target.narrow.vendors.iter().cloned())
    };
    let _lock = ctx.lock(store.as_ref(), &scope, "roster refresh")?;
    let desired = load_desired(&req.target.file, ctx.env)?;
    let mut state = load_state(ctx, store.as_ref(), "this refresh starts a new one")?;
    let filter = req.target.narrow.filter(&desired, &state)?;
    let guard = Guard::new(
        &desired,
        &req.target.file,
        req.accept_gone.iter().cloned().collect(),
    )?;
    let read = read_vendors(
        ctx,
        &ctx.vendors(store.as_ref()),
        &desired,
        &state,
        &filter,
        Some(&guard),
    )?;
    let written = if read.changes.is_empty() && !ctx.runtime.block_on(store.has_journal())? {
        None
    } else {
        refresh::apply_to(&mut state, &read.changes);
        ctx.runtime.block_on(store.save(&mut state))?;
        Some(state.serial)
    };
    Ok(Report {
        read,
        state_path: store.describe(),
        written,
    })
}
