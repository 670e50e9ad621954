//! Saved plans: `plan --out FILE` writes what apply will do together with what it
//! was computed from; `apply FILE` does exactly that, or refuses if the desired
//! input or the state moved on since, and `show FILE` renders it as the plan
//! showed it. No secret is ever in it.

use super::{Action, Change, Filter, Plan, Summary, Verdict};
use crate::desired::Desired;
use crate::model::hex;
use crate::state::State;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The version of the saved plan format.
pub const SAVED_VERSION: u32 = 2;

/// One change of the plan, as it was shown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedChange {
    pub action: Action,
    pub vendor: String,
    pub email: String,
    /// For a create or verify: the fingerprint of the spec apply would send.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a drift: the spec recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<serde_json::Value>,
    /// For a create, verify or drift: the desired spec (never a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<serde_json::Value>,
}

/// What apply will act on, to compare a saved plan with a fresh one.
type Work<'a> = (Action, &'a str, &'a str, &'a str);

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
    /// Every change but the unchanged ones, sorted; apply acts on the creates
    /// and verifies.
    pub changes: Vec<SavedChange>,
    /// Made by `plan --refresh`: apply reads the vendors again before checking it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
    /// The vendors whose mass `gone` the plan was made accepting
    /// (`--accept-gone`): apply's refresh accepts it too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept_gone: Vec<String>,
    /// The safety threshold's verdict when the plan was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The warnings of the load (unset variables, literal credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// sha256 of everything above, so an edited or truncated file is refused.
    pub checksum: String,
}

fn fingerprint<'a>(desired: &'a Desired, change: &Change) -> &'a str {
    desired
        .users
        .get(&change.email)
        .and_then(|u| u.accounts.get(&change.vendor))
        .map_or("", |a| a.fingerprint.as_str())
}

impl SavedPlan {
    /// `plan` should carry its specs ([`Plan::with_specs`]) for `show` to say
    /// what each create grants.
    pub fn new(
        plan: &Plan,
        desired: &Desired,
        state: &State,
        filter: &Filter,
        verdict: Option<&Verdict>,
    ) -> SavedPlan {
        let changes = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::Unchanged)
            .map(|c| SavedChange {
                action: c.action,
                vendor: c.vendor.clone(),
                email: c.email.clone(),
                fingerprint: if c.action.is_applied() {
                    fingerprint(desired, c).to_string()
                } else {
                    String::new()
                },
                reason: c.reason.clone(),
                recorded: c.recorded.clone(),
                desired: c.desired.clone(),
            })
            .collect();
        let mut saved = SavedPlan {
            format_version: SAVED_VERSION,
            roster_version: env!("CARGO_PKG_VERSION").to_string(),
            input: desired.digest.clone(),
            state_lineage: state.lineage.clone(),
            state_serial: state.serial,
            vendors: filter.vendors.iter().cloned().collect(),
            users: filter.users.iter().cloned().collect(),
            summary: plan.summary(),
            changes,
            verdict: verdict.cloned(),
            warnings: desired.warnings.clone(),
            refresh: false,
            accept_gone: Vec::new(),
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

    /// Records the vendors whose mass `gone` was accepted.
    pub fn accepting_gone(mut self, vendors: &std::collections::BTreeSet<String>) -> SavedPlan {
        self.accept_gone = vendors.iter().cloned().collect();
        self.checksum = self.compute_checksum();
        self
    }

    fn compute_checksum(&self) -> String {
        let mut body = self.clone();
        body.checksum = String::new();
        let json = serde_json::to_vec(&body).unwrap_or_default();
        format!("sha256:{}", hex(&Sha256::digest(&json)))
    }

    /// The plan as it was shown (without its unchanged pairs: see `summary`).
    pub fn plan(&self) -> Plan {
        Plan {
            changes: self
                .changes
                .iter()
                .map(|c| Change {
                    action: c.action,
                    vendor: c.vendor.clone(),
                    email: c.email.clone(),
                    reason: c.reason.clone(),
                    recorded: c.recorded.clone(),
                    desired: c.desired.clone(),
                })
                .collect(),
        }
    }

    /// What apply will act on.
    fn work(&self) -> impl Iterator<Item = Work<'_>> {
        self.changes
            .iter()
            .filter(|c| c.action.is_applied())
            .map(|c| (c.action, &*c.vendor, &*c.email, &*c.fingerprint))
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
        let now = plan
            .applied()
            .map(|c| (c.action, &*c.vendor, &*c.email, fingerprint(desired, c)));
        if !now.eq(self.work()) {
            bail!("refusing the saved plan {name}: it no longer matches what roster would do; run `roster plan --out` again");
        }
        Ok(())
    }
}
