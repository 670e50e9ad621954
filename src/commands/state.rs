//! `roster state`: inspect or repair the recorded state.

use super::{say, StateFile, EXIT_OK};
use crate::state::{Lock, LockRecord, Store, Unlocked};
use clap::{Args, Subcommand};
use std::path::Path;

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Print the recorded users, one line each.
    Show(StateFile),
    /// Clear the lock record left by a run that ended without releasing it. A lock
    /// a running process holds is never broken.
    Unlock(UnlockArgs),
    /// Make a damaged journal loadable again, losing nothing: complete records are
    /// kept, users on unreadable lines become pending (the next apply verifies
    /// them), and the unreadable lines are kept in a side file.
    Repair(StateFile),
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Only clear the record of this lock id (as a refusal or the lock file shows it).
    #[arg(value_name = "LOCK_ID")]
    pub lock_id: Option<String>,
}

pub fn exec(command: &StateCommand) -> anyhow::Result<u8> {
    match command {
        StateCommand::Show(file) => show(&file.state),
        StateCommand::Unlock(args) => unlock(&args.state.state, args.lock_id.as_deref()),
        StateCommand::Repair(file) => repair(&file.state),
    }
}

fn unlock(path: &Path, id: Option<&str>) -> anyhow::Result<u8> {
    match crate::state::unlock(path, id)? {
        Unlocked::Cleared(LockRecord::Holder(holder)) => {
            say!("Cleared the lock record of {holder}: that process no longer holds the lock.")
        }
        Unlocked::Cleared(_) => say!(
            "Cleared {}, which held no roster lock record.",
            crate::state::lock_path(path).display()
        ),
        Unlocked::NotLocked => say!("{} is not locked.", path.display()),
    }
    Ok(EXIT_OK)
}

fn repair(path: &Path) -> anyhow::Result<u8> {
    let _lock = Lock::acquire(path, "roster state repair")?;
    let store = Store::new(path);
    let journal = store.journal_path();
    let report = store.repair()?;
    if report.pending.is_empty() && report.unattributed.is_empty() && report.torn == 0 {
        say!(
            "{}: nothing to repair ({} complete record(s)).",
            journal.display(),
            report.kept
        );
        return Ok(EXIT_OK);
    }
    say!(
        "Repaired {}: kept {} complete record(s).",
        journal.display(),
        report.kept
    );
    for (line, vendor, email) in &report.pending {
        say!("  line {line}: unreadable; {vendor}  {email} is now pending: the next apply verifies it");
    }
    for line in &report.unattributed {
        say!("  line {line}: unreadable and names no user roster can make out: check it by hand");
    }
    if report.torn > 0 {
        say!(
            "  the last line was incomplete ({} bytes, a write that never finished)",
            report.torn
        );
    }
    if let Some(side) = &report.rejected {
        say!(
            "Every line not kept as it was is saved in {}; keep it until you have checked those users.",
            side.display()
        );
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
