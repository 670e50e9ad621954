//! Saved plans: `plan --out FILE` writes what apply will do together with what it
//! was computed from; `apply FILE` does exactly that, or refuses if the desired
//! input or the state moved on since. No secret is ever in it.

use super::{Action, Filter, Plan, Summary};
use crate::desired::{hex, Desired};
use crate::state::State;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The version of the saved plan format.
pub const SAVED_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedChange {
    pub action: Action,
    pub vendor: String,
    pub email: String,
    /// The fingerprint of the spec the plan would send.
    pub fingerprint: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: u32,
    pub roster_version: String,
    /// The hash of the desired-state files the plan was made from.
    pub input: String,
    /// The state the plan was made against (lineage empty: no state yet).
    pub state_lineage: String,
    pub state_serial: u64,
    /// The `--vendor` and `--user` it was narrowed to.
    pub vendors: Vec<String>,
    pub users: Vec<String>,
    pub summary: Summary,
    /// What apply will do: creations and verifications, sorted.
    pub changes: Vec<SavedChange>,
    /// Made by `plan --refresh`: apply reads the vendors again before checking it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
    /// sha256 of everything above, so an edited or truncated file is refused.
    pub checksum: String,
}

fn applied(plan: &Plan, desired: &Desired) -> Vec<SavedChange> {
    plan.applied()
        .map(|c| SavedChange {
            action: c.action,
            vendor: c.vendor.clone(),
            email: c.email.clone(),
            fingerprint: desired
                .users
                .get(&c.email)
                .and_then(|u| u.accounts.get(&c.vendor))
                .map(|a| a.fingerprint.clone())
                .unwrap_or_default(),
        })
        .collect()
}

impl SavedPlan {
    pub fn new(plan: &Plan, desired: &Desired, state: &State, filter: &Filter) -> SavedPlan {
        let mut saved = SavedPlan {
            format_version: SAVED_VERSION,
            roster_version: env!("CARGO_PKG_VERSION").to_string(),
            input: desired.digest.clone(),
            state_lineage: state.lineage.clone(),
            state_serial: state.serial,
            vendors: filter.vendors.iter().cloned().collect(),
            users: filter.users.iter().cloned().collect(),
            summary: plan.summary(),
            changes: applied(plan, desired),
            refresh: false,
            checksum: String::new(),
        };
        saved.checksum = saved.compute_checksum();
        saved
    }

    /// Marks the plan as made from a refresh, so apply refreshes too.
    pub fn refreshed(mut self, refresh: bool) -> SavedPlan {
        self.refresh = refresh;
        self.checksum = self.compute_checksum();
        self
    }

    fn compute_checksum(&self) -> String {
        let mut body = self.clone();
        body.checksum = String::new();
        let json = serde_json::to_vec(&body).unwrap_or_default();
        format!("sha256:{}", hex(&Sha256::digest(&json)))
    }

    pub fn filter(&self) -> Filter {
        Filter {
            vendors: self.vendors.iter().cloned().collect(),
            users: self.users.iter().cloned().collect(),
        }
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec_pretty(self).context("cannot serialize the plan")?;
        text.push(b'\n');
        crate::state::write_atomically(path, &text)
    }

    pub fn read(path: &Path) -> anyhow::Result<SavedPlan> {
        let name = path.display();
        let bytes = std::fs::read(path).with_context(|| format!("cannot read the plan {name}"))?;
        let plan: SavedPlan = serde_json::from_slice(&bytes)
            .with_context(|| format!("{name} is not a plan saved by `roster plan --out`"))?;
        if plan.format_version != SAVED_VERSION {
            bail!(
                "{name}: plan format {} is not the one this roster reads ({SAVED_VERSION})",
                plan.format_version
            );
        }
        if plan.checksum != plan.compute_checksum() {
            bail!("{name}: the plan was modified after it was saved (checksum mismatch); make it again with `roster plan --out`");
        }
        Ok(plan)
    }

    /// Refuses unless `desired` and `state` are what the plan was made from and
    /// they still give exactly the plan's changes.
    pub fn check(
        &self,
        name: &str,
        desired: &Desired,
        state: &State,
        plan: &Plan,
    ) -> anyhow::Result<()> {
        if desired.digest != self.input {
            bail!(
                "refusing the saved plan {name}: the desired state changed since it was made; run `roster plan --out` again"
            );
        }
        // A plan made before the state existed meets the first state as stale.
        if !self.state_lineage.is_empty() && state.lineage != self.state_lineage {
            bail!(
                "refusing the saved plan {name}: it was made against another state (lineage {:?}, this one is {:?})",
                self.state_lineage,
                state.lineage
            );
        }
        if state.serial != self.state_serial {
            bail!(
                "refusing the stale plan {name}: the state changed since it was made (serial {} then, {} now: another apply ran); run `roster plan --out` again",
                self.state_serial,
                state.serial
            );
        }
        if applied(plan, desired) != self.changes {
            bail!("refusing the saved plan {name}: it no longer matches what roster would do; run `roster plan --out` again");
        }
        Ok(())
    }
}
