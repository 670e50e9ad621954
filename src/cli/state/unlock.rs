//! `state unlock`: clear a lock left by a run that is gone.

use super::super::output::{say, Exit};
use super::UnlockArgs;
use roster::ops::state::unlock::{self, Outcome};

pub fn exec(ctx: &roster::ops::Context<'_>, args: &UnlockArgs) -> anyhow::Result<Exit> {
    match unlock::run(ctx, &args.state.location(), args.lock_id.as_deref())? {
        Outcome::Removed(holder) => say!("Removed the lock held by {holder}."),
        Outcome::NotLocked(what) => say!("{what} is not locked."),
        Outcome::Cleared(holder) => {
            say!("Cleared the lock record of {holder}: that process no longer holds the lock.")
        }
        Outcome::ClearedFile(path) => say!(
            "Cleared {}, which held no roster lock record.",
            path.display()
        ),
    }
    Ok(Exit::Ok)
}
