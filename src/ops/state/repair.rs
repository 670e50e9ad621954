//! `state repair`: make a damaged journal loadable again, losing nothing.

use super::StateLocation;
use crate::state::{Lock, Repaired, Store};
use std::path::PathBuf;

/// The journal repaired, and what repairing it did.
pub fn run(location: &StateLocation) -> anyhow::Result<(PathBuf, Repaired)> {
    let path = location.path();
    let _lock = Lock::acquire(path, "roster state repair")?;
    let store = Store::new(path);
    let report = store.repair()?;
    Ok((store.journal_path(), report))
}
