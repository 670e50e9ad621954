//! `state unlock`: clear the lock record left by a run that ended without
//! releasing it (a database: remove the leases of runs that are gone). A lock
//! a running process holds, or a lease its holder still renews, is never broken.

use super::StateLocation;
use crate::ops::Context;
use crate::state::{postgres, LockRecord, Unlocked};
use anyhow::bail;
use std::path::{Path, PathBuf};

/// What unlocking came to.
pub enum Outcome {
    /// A database: the leases of this holder were removed.
    Removed(String),
    /// A database, or a state file, that nobody had locked.
    NotLocked(String),
    /// A state file: the record of a holder that is gone was cleared.
    Cleared(String),
    /// A state file: the lock file held no roster record, and was cleared.
    ClearedFile(PathBuf),
}

/// Unlocks the state; `lock_id`, for a state file only, names the lock.
pub fn run(
    ctx: &Context<'_>,
    location: &StateLocation,
    lock_id: Option<&str>,
) -> anyhow::Result<Outcome> {
    let url = location.state.as_deref().and_then(Path::to_str);
    if url.is_some_and(postgres::is_url) {
        if lock_id.is_some() {
            bail!("state unlock LOCK_ID is for a state file; a database's leases expire on their own, and `state unlock` removes those of a holder that is gone");
        }
        let store = location.store(ctx)?;
        return Ok(match ctx.runtime.block_on(store.unlock())? {
            Some(holder) => Outcome::Removed(holder),
            None => Outcome::NotLocked(store.describe()),
        });
    }
    let path = location.path();
    Ok(match crate::state::unlock(path, lock_id)? {
        Unlocked::Cleared(LockRecord::Holder(holder)) => Outcome::Cleared(holder.to_string()),
        Unlocked::Cleared(_) => Outcome::ClearedFile(crate::state::lock_path(path)),
        Unlocked::NotLocked => Outcome::NotLocked(path.display().to_string()),
    })
}
