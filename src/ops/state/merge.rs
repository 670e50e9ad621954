//! `state merge`: fold in a journal left by a killed apply, and merge in the
//! records of another copy of the same state.

use super::{rewrite, Rewritten, StateLocation};
use crate::ops::Context;
use crate::state::{merge, State, Store};
use anyhow::{bail, Context as _};
use std::path::Path;

/// Merges `other` (with `base`, the state both copies started from) into the
/// state; with no `other`, folds in the journal only.
pub fn run(
    ctx: &Context<'_>,
    location: &StateLocation,
    other: Option<&Path>,
    base: Option<&Path>,
) -> anyhow::Result<Rewritten> {
    let read = |path: &Path| -> anyhow::Result<State> {
        if !path.is_file() {
            bail!("{}: no such state file", path.display());
        }
        Store::new(path)
            .load()
            .with_context(|| format!("cannot merge {}", path.display()))
    };
    let theirs = other.map(read).transpose()?;
    let base = base.map(read).transpose()?;
    rewrite(ctx, location, "roster state merge", |state| {
        let (Some(theirs), Some(file)) = (&theirs, other) else {
            return Ok("Nothing to merge but the journal.".into());
        };
        let m = merge::merge(state, theirs, base.as_ref())?;
        Ok(format!(
            "Merged {}: {} record(s) taken, {} changed on both sides (kept the one that says more), {} removed.",
            file.display(),
            m.taken,
            m.both,
            m.removed
        ))
    })
}
