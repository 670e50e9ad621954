//! `roster state`: inspect or repair the recorded state. `rm`, `mv` and `merge`
//! change only the state file (under its lock), never a vendor.

use super::args::StateFile;
use super::output::{emit, say, EXIT_OK};
use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use roster::secret::sanitise;
use roster::state::{merge, Lock, LockRecord, Scope, State, Store, Unlocked};
use serde::Serialize;
use std::path::{Path, PathBuf};

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Only this vendor (repeatable).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendors: Vec<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
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

pub fn exec(command: &StateCommand) -> anyhow::Result<u8> {
    match command {
        StateCommand::Show(file) => show(file),
        StateCommand::List(args) => list(args),
        StateCommand::Rm(args) => rm(args),
        StateCommand::Mv(args) => mv(args),
        StateCommand::Merge(args) => merge_files(args),
        StateCommand::Unlock(args) => unlock(args),
        StateCommand::Repair(file) => repair(&file.path()),
        StateCommand::Push(args) => {
            let file = file_of(&args.state, "push")?;
            let database = database_of(&args.state, &args.to, "--to")?;
            copy(file.as_ref(), database.as_ref(), "roster state push")
        }
        StateCommand::Pull(args) => {
            let file = file_of(&args.state, "pull")?;
            let database = database_of(&args.state, &args.from, "--from")?;
            copy(database.as_ref(), file.as_ref(), "roster state pull")
        }
    }
}

/// The state file of a push or pull: `--state`, never a URL.
fn file_of(state: &StateFile, what: &str) -> anyhow::Result<Box<dyn roster::state::Backend>> {
    if let Some(url) = state.state.as_deref().and_then(Path::to_str) {
        if roster::state::postgres::is_url(url) {
            bail!(
                "state {what}: --state (or ROSTER_STATE) names a database; it must name the state file"
            );
        }
    }
    state.store()
}

/// The database of a push or pull, in `--workspace`.
fn database_of(
    state: &StateFile,
    url: &str,
    flag: &str,
) -> anyhow::Result<Box<dyn roster::state::Backend>> {
    if !roster::state::postgres::is_url(url) {
        bail!(
            "{flag} {}: not a PostgreSQL URL (postgres://...)",
            roster::state::postgres::redact(url)
        );
    }
    StateFile {
        state: Some(PathBuf::from(url)),
        workspace: state.workspace.clone(),
        lock_timeout: state.lock_timeout,
    }
    .store()
}

/// Copies the state of `from` into `to` exactly (lineage, serial, every
/// record), both locked. Refuses to overwrite another state, or a newer copy
/// of this one.
fn copy(
    from: &dyn roster::state::Backend,
    to: &dyn roster::state::Backend,
    command: &str,
) -> anyhow::Result<u8> {
    let _source = from.lock(&Scope::All, command)?;
    let _target = to.lock(&Scope::All, command)?;
    let state = from.load()?;
    if state.serial == 0 || state.lineage.is_empty() {
        bail!(
            "{}: no state recorded yet; nothing to copy",
            from.describe()
        );
    }
    if from.has_journal()? {
        bail!(
            "{}: an apply that did not finish left records to fold in; run `roster state merge` (or an apply) on it first",
            from.describe()
        );
    }
    let there = to.load()?;
    if to.exists()? {
        if there.lineage != state.lineage {
            bail!(
                "{} holds another state (lineage {}, not {}); roster will not overwrite it",
                to.describe(),
                there.lineage,
                state.lineage
            );
        }
        if there.serial > state.serial {
            bail!(
                "{} holds a newer copy of this state (serial {} > {}); roster will not go back",
                to.describe(),
                there.serial,
                state.serial
            );
        }
    }
    to.replace(&state)?;
    say!(
        "Copied {} record(s) from {} to {} (lineage {}, serial {}).",
        state.records().count(),
        from.describe(),
        to.describe(),
        state.lineage,
        state.serial
    );
    Ok(EXIT_OK)
}

fn unlock(args: &UnlockArgs) -> anyhow::Result<u8> {
    let url = args.state.state.as_deref().and_then(Path::to_str);
    if url.is_some_and(roster::state::postgres::is_url) {
        if args.lock_id.is_some() {
            bail!("state unlock LOCK_ID is for a state file; a database's leases expire on their own, and `state unlock` removes those of a holder that is gone");
        }
        let store = args.state.store()?;
        match store.unlock()? {
            Some(holder) => say!("Removed the lock held by {holder}."),
            None => say!("{} is not locked.", store.describe()),
        }
        return Ok(EXIT_OK);
    }
    let path = args.state.path();
    match roster::state::unlock(&path, args.lock_id.as_deref())? {
        Unlocked::Cleared(LockRecord::Holder(holder)) => {
            say!("Cleared the lock record of {holder}: that process no longer holds the lock.")
        }
        Unlocked::Cleared(_) => say!(
            "Cleared {}, which held no roster lock record.",
            roster::state::lock_path(&path).display()
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

fn show(file: &StateFile) -> anyhow::Result<u8> {
    let store = file.store()?;
    let path = store.describe();
    let state = store.load()?;
    if state.lineage.is_empty() && state.vendors.is_empty() {
        say!("{path}: no state recorded yet.");
        return Ok(EXIT_OK);
    }
    say!(
        "{}: lineage {}, serial {}",
        path,
        state.lineage,
        state.serial
    );
    for (vendor, email, r) in state.records() {
        // A state file is input too: what a vendor said is shown sanitised.
        let mut line = format!("{vendor}  {}  {}", sanitise(email), r.status.as_str());
        if let Some(id) = &r.remote_id {
            line.push_str(&format!("  id={}", sanitise(id)));
        }
        line.push_str(&format!("  at={}", r.at));
        if let Some(e) = &r.error {
            line.push_str(&format!("  error={}", sanitise(e)));
        }
        say!("{line}");
    }
    Ok(EXIT_OK)
}

#[derive(Serialize)]
struct JsonList<'a> {
    format_version: u32,
    lineage: &'a str,
    serial: u64,
    records: Vec<JsonRecord<'a>>,
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    vendor: &'a str,
    email: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_id: Option<&'a str>,
    at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn list(args: &ListArgs) -> anyhow::Result<u8> {
    let state = args.state.store()?.load()?;
    for v in &args.vendors {
        if !state.vendors.contains_key(v) {
            bail!("--vendor {v}: the state records no account under that name");
        }
    }
    let records = state
        .records()
        .filter(|(v, _, _)| args.vendors.is_empty() || args.vendors.iter().any(|w| w == v));
    match args.format {
        ListFormat::Json => {
            let doc = JsonList {
                format_version: 1,
                lineage: &state.lineage,
                serial: state.serial,
                records: records
                    .map(|(vendor, email, r)| JsonRecord {
                        vendor,
                        email,
                        status: r.status.as_str(),
                        remote_id: r.remote_id.as_deref(),
                        at: &r.at,
                        error: r.error.as_deref(),
                    })
                    .collect(),
            };
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            emit(&text);
        }
        ListFormat::Text => {
            let records: Vec<_> = records.collect();
            let vw = records.iter().map(|(v, _, _)| v.len()).max().unwrap_or(0);
            let ew = records.iter().map(|(_, e, _)| e.len()).max().unwrap_or(0);
            for (vendor, email, r) in records {
                say!("{vendor:<vw$}  {email:<ew$}  {}", r.status.as_str());
            }
        }
    }
    Ok(EXIT_OK)
}

/// Runs `change` on the state under its lock and writes the result.
fn rewrite(
    file: &StateFile,
    command: &str,
    change: impl FnOnce(&mut State) -> anyhow::Result<String>,
) -> anyhow::Result<u8> {
    let store = file.store()?;
    let _lock = store.lock(&Scope::All, command)?;
    let mut state = store.load()?;
    let before = state.clone();
    let done = change(&mut state)?;
    if state == before && !store.has_journal()? {
        say!("{done} {} is unchanged.", store.describe());
        return Ok(EXIT_OK);
    }
    store.save(&mut state)?;
    say!(
        "{done} State written to {} (serial {}).",
        store.describe(),
        state.serial
    );
    Ok(EXIT_OK)
}

fn rm(args: &RmArgs) -> anyhow::Result<u8> {
    rewrite(&args.state, "roster state rm", |state| {
        let vendor = &args.vendor;
        let Some(records) = state.vendors.get_mut(vendor) else {
            bail!("the state records no account under vendor {vendor}");
        };
        let emails: std::collections::BTreeSet<String> = args
            .emails
            .iter()
            .map(|e| roster::model::identity(e))
            .collect();
        let missing: Vec<&str> = emails
            .iter()
            .filter(|e| !records.contains_key(*e))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            bail!(
                "vendor {vendor} has no record of {}; nothing was removed",
                missing.join(", ")
            );
        }
        for email in &emails {
            records.remove(email);
        }
        if records.is_empty() {
            state.vendors.remove(vendor);
        }
        Ok(format!(
            "Removed {} record(s) of {vendor}; the accounts are untouched at the vendor, and a plan that still desires them creates them again.",
            emails.len()
        ))
    })
}

fn mv(args: &MvArgs) -> anyhow::Result<u8> {
    let [old, new] = args.vendor.as_slice() else {
        bail!("--vendor takes two names: OLD NEW");
    };
    rewrite(&args.state, "roster state mv", |state| {
        if old == new {
            bail!("--vendor {old} {new}: the names are the same");
        }
        if state.vendors.contains_key(new) {
            bail!("the state already records accounts under vendor {new}; roster will not mix them with those of {old}");
        }
        let Some(records) = state.vendors.remove(old) else {
            bail!("the state records no account under vendor {old}");
        };
        let n = records.len();
        state.vendors.insert(new.clone(), records);
        Ok(format!("Moved {n} record(s) from vendor {old} to {new}."))
    })
}

fn merge_files(args: &MergeArgs) -> anyhow::Result<u8> {
    let read = |path: &Path| -> anyhow::Result<State> {
        if !path.is_file() {
            bail!("{}: no such state file", path.display());
        }
        Store::new(path)
            .load()
            .with_context(|| format!("cannot merge {}", path.display()))
    };
    let other = args.file.as_deref().map(read).transpose()?;
    let base = args.base.as_deref().map(read).transpose()?;
    rewrite(&args.state, "roster state merge", |state| {
        let (Some(other), Some(file)) = (&other, &args.file) else {
            return Ok("Nothing to merge but the journal.".into());
        };
        let m = merge::merge(state, other, base.as_ref())?;
        Ok(format!(
            "Merged {}: {} record(s) taken, {} changed on both sides (kept the one that says more), {} removed.",
            file.display(),
            m.taken,
            m.both,
            m.removed
        ))
    })
}
