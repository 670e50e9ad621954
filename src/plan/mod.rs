//! The plan: one action per (vendor, user) pair, from the desired and recorded
//! states. A pure function of its inputs: no I/O, no clock, no randomness.

pub mod render;
pub mod saved;
mod threshold;

pub use threshold::{Baseline, GoneLimit, Threshold, Verdict};

use crate::desired::Desired;
use crate::state::{State, Status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Desired, and not at the vendor as far as the state knows: apply creates it.
    Create,
    /// An earlier apply sent a creation and never heard back: apply looks it up,
    /// or creates it and adopts an "already exists".
    Verify,
    /// In both, with the same fingerprint.
    Unchanged,
    /// In both, fingerprints differ: shown, never changed (the drivers only create).
    Drift,
    /// Recorded but no longer desired: shown, never deleted.
    Orphan,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Verify => "verify",
            Action::Unchanged => "unchanged",
            Action::Drift => "drift",
            Action::Orphan => "orphan",
        }
    }

    /// Whether apply acts on it.
    pub fn is_applied(self) -> bool {
        matches!(self, Action::Create | Action::Verify)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub action: Action,
    pub vendor: String,
    pub email: String,
    /// Why, where it is worth saying (an earlier failure, a pending creation).
    pub reason: Option<String>,
    /// For drift: the recorded and the desired non-secret specs.
    pub recorded: Option<serde_json::Value>,
    pub desired: Option<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub verify: usize,
    pub unchanged: usize,
    pub drift: usize,
    pub orphan: usize,
}

impl Summary {
    /// Whether apply would do anything.
    pub fn has_work(&self) -> bool {
        self.create + self.verify > 0
    }

    /// Whether anything differs between desired and recorded.
    pub fn has_changes(&self) -> bool {
        self.create + self.verify + self.drift + self.orphan > 0
    }
}

/// Narrows a plan to some vendors and users; empty lists mean all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub vendors: BTreeSet<String>,
    /// Lower-cased emails.
    pub users: BTreeSet<String>,
}

impl Filter {
    pub fn vendor(&self, name: &str) -> bool {
        self.vendors.is_empty() || self.vendors.contains(name)
    }

    pub fn user(&self, email: &str) -> bool {
        self.users.is_empty() || self.users.contains(email)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Sorted by vendor, then email.
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            *match c.action {
                Action::Create => &mut s.create,
                Action::Verify => &mut s.verify,
                Action::Unchanged => &mut s.unchanged,
                Action::Drift => &mut s.drift,
                Action::Orphan => &mut s.orphan,
            } += 1;
        }
        s
    }

    /// The changes apply acts on.
    pub fn applied(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action.is_applied())
    }

    /// Fills in the desired spec of each create and verify, so a reviewer sees
    /// what it grants. `diff` leaves it out: most plans are never shown in full.
    pub fn with_specs(mut self, desired: &Desired) -> Plan {
        for change in self.changes.iter_mut().filter(|c| c.action.is_applied()) {
            if let Some(user) = desired.users.get(&change.email) {
                if let Some(account) = user.accounts.get(&change.vendor) {
                    change.desired = Some(account.spec(&user.profile));
                }
            }
        }
        self
    }
}

/// Compares what is desired with what is recorded, pair by pair.
pub fn diff(desired: &Desired, state: &State, filter: &Filter) -> Plan {
    let empty = BTreeMap::new();
    let names: BTreeSet<&String> = desired.vendors.keys().chain(state.vendors.keys()).collect();
    let mut changes = Vec::new();
    for vendor in names.into_iter().filter(|v| filter.vendor(v)) {
        let recorded = state.vendors.get(vendor).unwrap_or(&empty);
        // Both sides are sorted by email: walk them together.
        let mut wanted = desired
            .users
            .iter()
            .filter_map(|(email, user)| user.accounts.get(vendor).map(|a| (email, (user, a))))
            .peekable();
        let mut have = recorded.iter().peekable();
        loop {
            let (email, want, record) = match (wanted.peek(), have.peek()) {
                (None, None) => break,
                (Some((w, _)), Some((h, _))) if w == h => {
                    let (email, want) = wanted.next().expect("peeked");
                    let (_, record) = have.next().expect("peeked");
                    (email, Some(want), Some(record))
                }
                (Some((w, _)), Some((h, _))) if w > h => {
                    let (email, record) = have.next().expect("peeked");
                    (email, None, Some(record))
                }
                (Some(_), _) => {
                    let (email, want) = wanted.next().expect("peeked");
                    (email, Some(want), None)
                }
                (None, Some(_)) => {
                    let (email, record) = have.next().expect("peeked");
                    (email, None, Some(record))
                }
            };
            if !filter.user(email) {
                continue;
            }
            let change = |action, reason: Option<String>| Change {
                action,
                vendor: vendor.clone(),
                email: email.clone(),
                reason,
                recorded: None,
                desired: None,
            };
            changes.push(match (want, record) {
                (Some(_), None) => change(Action::Create, None),
                (Some(_), Some(r)) if r.status == Status::Failed => change(
                    Action::Create,
                    Some(format!(
                        "failed before: {}",
                        r.error.as_deref().unwrap_or("unknown error")
                    )),
                ),
                (Some(_), Some(r)) if r.status == Status::Pending => change(
                    Action::Verify,
                    Some("an earlier apply sent the creation and got no answer".into()),
                ),
                (Some(_), Some(r)) if r.status == Status::Gone => change(
                    Action::Create,
                    Some(format!(
                        "gone at the vendor (id {} was deleted there)",
                        r.remote_id.as_deref().unwrap_or("-")
                    )),
                ),
                (Some(_), Some(r)) if r.inactive => change(
                    Action::Drift,
                    Some(format!(
                        "inactive at the vendor ({}): not a live account; reactivate it there",
                        r.vendor_status.as_deref().unwrap_or("inactive")
                    )),
                ),
                (Some((_, w)), Some(r)) if w.fingerprint == r.fingerprint => {
                    change(Action::Unchanged, None)
                }
                (Some((user, w)), Some(r)) => Change {
                    recorded: Some(r.spec.to_value()),
                    desired: Some(w.spec(&user.profile)),
                    ..change(Action::Drift, None)
                },
                (None, Some(r)) => change(
                    Action::Orphan,
                    (!r.status.exists()).then(|| format!("recorded as {}", r.status.as_str())),
                ),
                (None, None) => continue,
            });
        }
    }
    Plan { changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{Account, User};
    use crate::model::Profile;
    use crate::state::Record;
    use crate::vendors::{acton, AccountBlock};
    use crate::vendors::{Vendor, VendorConfig};

    fn profile(email: &str, title: &str) -> Profile {
        Profile {
            email: email.into(),
            first_name: "F".into(),
            last_name: "L".into(),
            middle_name: None,
            title: Some(title.into()),
            phone: None,
            mobile: None,
            fax: None,
            time_zone: None,
        }
    }

    fn account(email: &str, title: &str) -> Account {
        let block = AccountBlock::Acton(acton::Account {
            user_type: Some(acton::UserType::Marketing),
            ..Default::default()
        });
        Account::new(&profile(email, title), block)
    }

    fn desired(pairs: &[(&str, &str)]) -> Desired {
        let mut d = Desired::default();
        for (vendor, email) in pairs {
            let config: VendorConfig =
                serde_yaml::from_str("{kind: acton, base_url: http://x, token: t}").unwrap();
            d.vendors.insert(
                vendor.to_string(),
                Vendor {
                    name: vendor.to_string(),
                    config,
                    file: "roster.yaml".into(),
                },
            );
            let user = d.users.entry(email.to_string()).or_insert_with(|| User {
                profile: profile(email, "T"),
                password: None,
                accounts: BTreeMap::new(),
            });
            user.accounts
                .insert(vendor.to_string(), account(email, "T"));
        }
        d
    }

    fn record(email: &str, status: Status, title: &str) -> Record {
        let a = account(email, title);
        Record {
            status,
            remote_id: Some(email.into()),
            at: "2026-01-01T00:00:00Z".into(),
            spec: crate::state::RawSpec::of(&a.spec_of(&profile(email, title))),
            fingerprint: a.fingerprint,
            error: (status == Status::Failed).then(|| "E: no".into()),
            inactive: false,
            vendor_status: None,
            warnings: vec![],
        }
    }

    fn state(records: &[(&str, &str, Status, &str)]) -> State {
        let mut s = State::default();
        for (vendor, email, status, title) in records {
            s.set(vendor, email, record(email, *status, title));
        }
        s
    }

    fn actions(plan: &Plan) -> Vec<(Action, &str, &str)> {
        plan.changes
            .iter()
            .map(|c| (c.action, c.vendor.as_str(), c.email.as_str()))
            .collect()
    }

    #[test]
    fn one_action_per_pair() {
        use Action::*;
        use Status::*;
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a [(&'a str, &'a str, Status, &'a str)],
            &'a [(Action, &'a str, &'a str)],
        );
        let cases: &[Case] = &[
            ("nothing at all", &[], &[], &[]),
            (
                "new pair",
                &[("a", "x@e.io")],
                &[],
                &[(Create, "a", "x@e.io")],
            ),
            (
                "same",
                &[("a", "x@e.io")],
                &[("a", "x@e.io", Created, "T")],
                &[(Unchanged, "a", "x@e.io")],
            ),
            (
                "adopted is unchanged",
                &[("a", "x@e.io")],
                &[("a", "x@e.io", Adopted, "T")],
                &[(Unchanged, "a", "x@e.io")],
            ),
            (
                "spec differs",
                &[("a", "x@e.io")],
                &[("a", "x@e.io", Created, "Other")],
                &[(Drift, "a", "x@e.io")],
            ),
            (
                "failed before",
                &[("a", "x@e.io")],
                &[("a", "x@e.io", Failed, "T")],
                &[(Create, "a", "x@e.io")],
            ),
            (
                "pending",
                &[("a", "x@e.io")],
                &[("a", "x@e.io", Pending, "T")],
                &[(Verify, "a", "x@e.io")],
            ),
            (
                "removed user",
                &[],
                &[("a", "x@e.io", Created, "T")],
                &[(Orphan, "a", "x@e.io")],
            ),
            (
                "gone at the vendor",
                &[("a", "x@e.io")],
                &[("a", "x@e.io", Gone, "T")],
                &[(Create, "a", "x@e.io")],
            ),
            (
                "gone and no longer wanted",
                &[],
                &[("a", "x@e.io", Gone, "T")],
                &[(Orphan, "a", "x@e.io")],
            ),
            (
                "interleaved and sorted",
                &[("b", "m@e.io"), ("a", "z@e.io"), ("a", "b@e.io")],
                &[
                    ("a", "c@e.io", Created, "T"),
                    ("a", "z@e.io", Created, "T"),
                    ("c", "q@e.io", Created, "T"),
                ],
                &[
                    (Create, "a", "b@e.io"),
                    (Orphan, "a", "c@e.io"),
                    (Unchanged, "a", "z@e.io"),
                    (Create, "b", "m@e.io"),
                    (Orphan, "c", "q@e.io"),
                ],
            ),
            (
                "same email, other vendor",
                &[("a", "x@e.io"), ("b", "x@e.io")],
                &[("a", "x@e.io", Created, "T")],
                &[(Unchanged, "a", "x@e.io"), (Create, "b", "x@e.io")],
            ),
        ];
        for (name, want_pairs, recorded, expected) in cases {
            let plan = diff(&desired(want_pairs), &state(recorded), &Filter::default());
            assert_eq!(actions(&plan), expected.to_vec(), "case: {name}");
        }
    }

    #[test]
    fn gone_is_recreated_and_inactive_is_drift_never_live() {
        let d = desired(&[("a", "x@e.io"), ("a", "y@e.io")]);
        let mut s = state(&[
            ("a", "x@e.io", Status::Gone, "T"),
            ("a", "y@e.io", Status::Adopted, "T"),
        ]);
        let closed = s.vendors.get_mut("a").unwrap().get_mut("y@e.io").unwrap();
        closed.inactive = true;
        closed.vendor_status = Some("closed".into());
        let plan = diff(&d, &s, &Filter::default());
        let (gone, inactive) = (&plan.changes[0], &plan.changes[1]);
        assert_eq!(gone.action, Action::Create);
        assert!(gone
            .reason
            .as_deref()
            .unwrap()
            .contains("gone at the vendor"));
        assert_eq!(inactive.action, Action::Drift);
        assert!(inactive
            .reason
            .as_deref()
            .unwrap()
            .contains("inactive at the vendor (closed)"));
        assert!(
            inactive.recorded.is_none(),
            "no spec diff: the spec is the same"
        );
        // Neither counts as a live account for the safety threshold.
        assert_eq!(s.existing(), 0);
    }

    #[test]
    fn drift_carries_both_specs_and_failures_their_reason() {
        let plan = diff(
            &desired(&[("a", "x@e.io"), ("a", "y@e.io")]),
            &state(&[
                ("a", "x@e.io", Status::Created, "Old"),
                ("a", "y@e.io", Status::Failed, "T"),
            ]),
            &Filter::default(),
        );
        let drift = &plan.changes[0];
        assert_eq!(drift.recorded.as_ref().unwrap()["title"], "Old");
        assert_eq!(drift.desired.as_ref().unwrap()["title"], "T");
        assert_eq!(
            plan.changes[1].reason.as_deref(),
            Some("failed before: E: no")
        );
        assert_eq!(
            plan.summary(),
            Summary {
                create: 1,
                drift: 1,
                ..Default::default()
            }
        );
    }

    #[test]
    fn filters_narrow_by_vendor_and_user() {
        let d = desired(&[("a", "x@e.io"), ("a", "y@e.io"), ("b", "x@e.io")]);
        let filter = Filter {
            vendors: ["a".to_string()].into(),
            users: ["x@e.io".to_string()].into(),
        };
        let plan = diff(&d, &State::default(), &filter);
        assert_eq!(actions(&plan), vec![(Action::Create, "a", "x@e.io")]);
    }
}
