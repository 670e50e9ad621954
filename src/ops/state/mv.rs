//! `state mv`: rename a vendor in the state, after renaming it in roster.yaml.

use super::{rewrite, Rewritten, StateLocation};
use crate::ops::Context;
use anyhow::bail;

/// Moves every record of vendor `old` to `new`, which must record none.
pub fn run(
    ctx: &Context<'_>,
    location: &StateLocation,
    old: &str,
    new: &str,
) -> anyhow::Result<Rewritten> {
    rewrite(ctx, location, "roster state mv", |state| {
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
        state.vendors.insert(new.to_string(), records);
        Ok(format!("Moved {n} record(s) from vendor {old} to {new}."))
    })
}
