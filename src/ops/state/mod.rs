//! The state's upkeep, one file a `roster state` subcommand: forget records
//! (`rm`), rename a vendor (`mv`), fold in a journal or another copy
//! (`merge`), clear a lock left behind (`unlock`), make a damaged journal
//! loadable (`repair`), and copy between a file and a database (`copy`).
//! Each changes the state only, under its lock; never a vendor.

pub mod copy;
pub mod merge;
pub mod mv;
pub mod repair;
pub mod rm;
pub mod unlock;

use super::StateLocation;
use crate::ops::Context;
use crate::state::{Scope, State};

/// What a change of the state came to.
pub struct Rewritten {
    /// What was done, in words.
    pub done: String,
    /// Where the state is.
    pub path: String,
    /// Its new serial, or `None` when it was unchanged.
    pub serial: Option<u64>,
}

/// Runs `change` on the state under its lock and writes the result, unless
/// it changed nothing (and no journal waits to be folded in).
pub fn rewrite(
    ctx: &Context<'_>,
    location: &StateLocation,
    command: &str,
    change: impl FnOnce(&mut State) -> anyhow::Result<String>,
) -> anyhow::Result<Rewritten> {
    let store = location.store(ctx)?;
    let _lock = ctx.lock(store.as_ref(), &Scope::All, command)?;
    let mut state = ctx.runtime.block_on(store.load())?;
    let before = state.clone();
    let done = change(&mut state)?;
    let serial = if state == before && !ctx.runtime.block_on(store.has_journal())? {
        None
    } else {
        ctx.runtime.block_on(store.save(&mut state))?;
        Some(state.serial)
    };
    Ok(Rewritten {
        done,
        path: store.describe(),
        serial,
    })
}

/// The recorded state (read, not locked) and where it is.
pub fn read(ctx: &Context<'_>, location: &StateLocation) -> anyhow::Result<(State, String)> {
    let store = location.store(ctx)?;
    Ok((ctx.runtime.block_on(store.load())?, store.describe()))
}
