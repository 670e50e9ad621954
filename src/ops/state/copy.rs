//! `state push` and `state pull`: copy the state between a file and a
//! PostgreSQL database, exactly (lineage, serial, every record).

use super::StateLocation;
use crate::ops::Context;
use crate::state::{postgres, Backend, Scope};
use anyhow::bail;
use std::path::{Path, PathBuf};

/// Which way a copy goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The file into the database.
    Push,
    /// The database into the file.
    Pull,
}

/// What was copied.
pub struct Copied {
    pub records: usize,
    pub from: String,
    pub to: String,
    pub lineage: String,
    pub serial: u64,
}

/// Copies between the state file `file` names and the database at `url`
/// (in `file`'s workspace), both locked. Refuses to overwrite another state,
/// or a newer copy of this one.
pub fn run(
    ctx: &Context<'_>,
    file: &StateLocation,
    url: &str,
    direction: Direction,
) -> anyhow::Result<Copied> {
    let (what, flag) = match direction {
        Direction::Push => ("push", "--to"),
        Direction::Pull => ("pull", "--from"),
    };
    if let Some(named) = file.state.as_deref().and_then(Path::to_str) {
        if postgres::is_url(named) {
            bail!(
                "state {what}: --state (or ROSTER_STATE) names a database; it must name the state file"
            );
        }
    }
    if !postgres::is_url(url) {
        bail!(
            "{flag} {}: not a PostgreSQL URL (postgres://...)",
            postgres::redact(url)
        );
    }
    let database = StateLocation {
        state: Some(PathBuf::from(url)),
        ..file.clone()
    }
    .store(ctx)?;
    let file = file.store(ctx)?;
    let command = format!("roster state {what}");
    match direction {
        Direction::Push => copy(ctx, file.as_ref(), database.as_ref(), &command),
        Direction::Pull => copy(ctx, database.as_ref(), file.as_ref(), &command),
    }
}

fn copy(
    ctx: &Context<'_>,
    from: &dyn Backend,
    to: &dyn Backend,
    command: &str,
) -> anyhow::Result<Copied> {
    let _source = ctx.lock(from, &Scope::All, command)?;
    let _target = ctx.lock(to, &Scope::All, command)?;
    let state = ctx.runtime.block_on(from.load())?;
    if state.serial == 0 || state.lineage.is_empty() {
        bail!(
            "{}: no state recorded yet; nothing to copy",
            from.describe()
        );
    }
    if ctx.runtime.block_on(from.has_journal())? {
        bail!(
            "{}: an apply that did not finish left records to fold in; run `roster state merge` (or an apply) on it first",
            from.describe()
        );
    }
    let there = ctx.runtime.block_on(to.load())?;
    if ctx.runtime.block_on(to.exists())? {
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
    ctx.runtime.block_on(to.replace(&state))?;
    Ok(Copied {
        records: state.records().count(),
        from: from.describe(),
        to: to.describe(),
        lineage: state.lineage.clone(),
        serial: state.serial,
    })
}
