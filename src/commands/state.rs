//! `roster state`: inspect or repair the recorded state.

use super::{say, StateFile, EXIT_OK};
use crate::state::Store;
use clap::Subcommand;
use std::path::Path;

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Print the recorded users, one line each.
    Show(StateFile),
    /// Remove a lock left by an apply that is no longer running.
    Unlock(StateFile),
}

pub fn exec(command: &StateCommand) -> anyhow::Result<u8> {
    match command {
        StateCommand::Show(file) => show(&file.state),
        StateCommand::Unlock(file) => unlock(&file.state),
    }
}

fn unlock(path: &Path) -> anyhow::Result<u8> {
    match crate::state::unlock(path)? {
        Some(holder) => say!("Removed the lock held by {holder}."),
        None => say!("{} is not locked.", path.display()),
    }
    Ok(EXIT_OK)
}

fn show(path: &Path) -> anyhow::Result<u8> {
    let state = Store::new(path).load()?;
    if state.lineage.is_empty() && state.vendors.is_empty() {
        say!("{}: no state recorded yet.", path.display());
        return Ok(EXIT_OK);
    }
    say!(
        "{}: lineage {}, serial {}",
        path.display(),
        state.lineage,
        state.serial
    );
    for (vendor, email, r) in state.records() {
        let mut line = format!("{vendor}  {email}  {}", r.status.as_str());
        if let Some(id) = &r.remote_id {
            line.push_str(&format!("  id={id}"));
        }
        line.push_str(&format!("  at={}", r.at));
        if let Some(e) = &r.error {
            line.push_str(&format!("  error={e}"));
        }
        say!("{line}");
    }
    Ok(EXIT_OK)
}
