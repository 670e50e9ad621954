//! `state rm`: forget accounts; the vendor is not touched.

use super::{rewrite, Rewritten, StateLocation};
use crate::ops::Context;
use anyhow::bail;
use std::collections::BTreeSet;

/// Removes the records of `emails` under `vendor`; every one must exist.
pub fn run(
    ctx: &Context<'_>,
    location: &StateLocation,
    vendor: &str,
    emails: &[String],
) -> anyhow::Result<Rewritten> {
    rewrite(ctx, location, "roster state rm", |state| {
        let Some(records) = state.vendors.get_mut(vendor) else {
            bail!("the state records no account under vendor {vendor}");
        };
        let emails: BTreeSet<String> = emails.iter().map(|e| crate::model::identity(e)).collect();
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
