//! `roster state`: inspect or repair the recorded state, one file a
//! subcommand, each calling its workflow in `roster::ops::state`. `rm`, `mv`
//! and `merge` change only the state (under its lock), never a vendor.

mod copy;
mod list;
mod merge;
mod mv;
mod repair;
mod rm;
mod show;
mod unlock;

use super::args::StateFile;
use super::output::{say, Exit, Format};
use clap::{Args, Subcommand};
use roster::ops::state::copy::Direction;
use roster::ops::state::Rewritten;
use roster::ops::Context;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Print the recorded users, one line each, with ids, times and errors.
    Show(StateFile),
    /// List the recorded (vendor, email) pairs and their status.
    List(ListArgs),
    /// Forget accounts: the state stops tracking them; the vendor is not touched.
    Rm(RmArgs),
    /// Rename a vendor in the state (after renaming it in roster.yaml), so that
    /// its accounts are not planned again.
    Mv(MvArgs),
    /// Fold a journal left by a killed apply into the state file, and merge in
    /// the records of another copy of the same state.
    Merge(MergeArgs),
    /// Clear the lock record left by a run that ended without releasing it (a
    /// database: remove the leases of runs that are gone). A lock a running
    /// process holds, or a lease its holder is still renewing, is never broken.
    Unlock(UnlockArgs),
    /// Make a damaged journal loadable again, losing nothing: complete records are
    /// kept, users on unreadable lines become pending (the next apply verifies
    /// them), and the unreadable lines are kept in a side file.
    Repair(StateFile),
    /// Copy the state file (--state FILE) into a PostgreSQL database.
    Push(PushArgs),
    /// Copy a PostgreSQL state into the state file (--state FILE).
    Pull(PullArgs),
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Only clear the record of this lock id (as a refusal or the lock file shows it).
    #[arg(value_name = "LOCK_ID")]
    pub lock_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The state file to copy, and --workspace: where in the database.
    #[command(flatten)]
    pub state: StateFile,
    /// The database to copy it into.
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// The state file to write, and --workspace: which one of the database.
    #[command(flatten)]
    pub state: StateFile,
    /// The database to copy from.
    #[arg(long, value_name = "URL")]
    pub from: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Only this vendor (repeatable).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendors: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// The vendor name the accounts are recorded under.
    #[arg(value_name = "VENDOR")]
    pub vendor: String,
    /// The emails to forget.
    #[arg(value_name = "EMAIL", required = true)]
    pub emails: Vec<String>,
}

#[derive(Args, Debug)]
pub struct MvArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Rename vendor OLD to NEW.
    #[arg(long = "vendor", num_args = 2, value_names = ["OLD", "NEW"], required = true)]
    pub vendor: Vec<String>,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Another copy of this state (same lineage) whose records to merge in.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The state both copies started from: what FILE changed since is merged,
    /// and what it removed is removed. Without it every record of FILE counts.
    #[arg(long, value_name = "FILE", requires = "file")]
    pub base: Option<PathBuf>,
}

pub fn exec(ctx: &Context<'_>, command: &StateCommand) -> anyhow::Result<Exit> {
    match command {
        StateCommand::Show(file) => show::exec(ctx, file),
        StateCommand::List(args) => list::exec(ctx, args),
        StateCommand::Rm(args) => rm::exec(ctx, args),
        StateCommand::Mv(args) => mv::exec(ctx, args),
        StateCommand::Merge(args) => merge::exec(ctx, args),
        StateCommand::Unlock(args) => unlock::exec(ctx, args),
        StateCommand::Repair(file) => repair::exec(file),
        StateCommand::Push(args) => copy::exec(ctx, &args.state, &args.to, Direction::Push),
        StateCommand::Pull(args) => copy::exec(ctx, &args.state, &args.from, Direction::Pull),
    }
}

/// Says what a change of the state came to.
fn said(r: Rewritten) -> anyhow::Result<Exit> {
    match r.serial {
        None => say!("{} {} is unchanged.", r.done, r.path),
        Some(serial) => say!("{} State written to {} (serial {serial}).", r.done, r.path),
    }
    Ok(Exit::Ok)
}
