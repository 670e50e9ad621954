//! Who recorded which account, when, from which run and commit. Only a
//! PostgreSQL state keeps a history; a state file's is its git log.

use super::StateLocation;
use crate::ops::Context;
use crate::state::HistoryEntry;
use anyhow::bail;

/// The history of `vendors` and `users` (all when empty), oldest first, and
/// where it was read.
pub fn run(
    ctx: &Context<'_>,
    location: &StateLocation,
    vendors: &[String],
    users: &[String],
) -> anyhow::Result<(Vec<HistoryEntry>, String)> {
    let store = location.store(ctx)?;
    let users: Vec<String> = users.iter().map(|u| crate::model::identity(u)).collect();
    let Some(entries) = ctx.runtime.block_on(store.history(vendors, &users))? else {
        bail!(
            "{} is a state file, which keeps no history (its git log does); a PostgreSQL state (--state postgres://...) keeps one",
            store.describe()
        );
    };
    Ok((entries, store.describe()))
}
