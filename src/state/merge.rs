//! Merging two copies of one state, record by record: what an apply recorded on
//! a copy that branched off (a pipeline's checkout of main) laid onto the state
//! that moved on meanwhile (main, after another apply). A text merge of the two
//! JSON files conflicts on the serial alone; this one loses no record.

use super::{Record, State, Status};
use anyhow::bail;

/// What a merge did, for the message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Records only the other copy held, or that only it changed.
    pub taken: usize,
    /// Records both copies changed: the one that says more was kept.
    pub both: usize,
    /// Records the other copy removed and this one left alone.
    pub removed: usize,
}

/// How much a record says an account exists: an account beats an unknown
/// outcome, which beats a failure.
pub(super) fn weight(record: &Record) -> u8 {
    match record.status {
        Status::Created | Status::Adopted => 2,
        Status::Pending | Status::Gone => 1,
        Status::Failed => 0,
    }
}

/// Lays what `other` changed since `base` onto `into`. Without a base every
/// record of `other` counts as changed. Where both changed a record, the one
/// that says more wins (an account over a pending creation over a failure; then
/// the later one), so an account either side recorded is never dropped.
pub fn merge(into: &mut State, other: &State, base: Option<&State>) -> anyhow::Result<Merged> {
    if !other.lineage.is_empty() && !into.lineage.is_empty() && other.lineage != into.lineage {
        bail!(
            "the states are not copies of one another (lineage {} and {}); roster merges only copies of one state",
            into.lineage,
            other.lineage
        );
    }
    if let Some(base) = base {
        // What base holds and a copy lacks is taken for removed by that copy:
        // a base that is not where both started would remove live records.
        let lineages = [&into.lineage, &other.lineage];
        if !base.lineage.is_empty()
            && lineages
                .iter()
                .any(|l| !l.is_empty() && **l != base.lineage)
        {
            bail!(
                "the base is not a copy of these states (lineage {}); give the state both copies started from",
                base.lineage
            );
        }
        // Every write raises the serial: a copy never has fewer writes than
        // the state it started from.
        // (A state not yet written, with no lineage, started from nothing.)
        let newest = if into.lineage.is_empty() {
            other.serial
        } else {
            other.serial.min(into.serial)
        };
        if base.serial > newest {
            bail!(
                "the base (serial {}) is newer than a copy (serial {newest}), so it is not the state both copies started from; give that one",
                base.serial
            );
        }
    }
    if into.lineage.is_empty() {
        into.lineage = other.lineage.clone();
    }
    let empty = State::default();
    let base = base.unwrap_or(&empty);
    let mut merged = Merged::default();
    for (vendor, email, theirs) in other.records() {
        if base.get(vendor, email) == Some(theirs) {
            continue;
        }
        let take = match into.get(vendor, email) {
            Some(ours) if ours == theirs => false,
            Some(ours) if Some(ours) == base.get(vendor, email) => true,
            Some(ours) => {
                merged.both += 1;
                (weight(theirs), &theirs.at) > (weight(ours), &ours.at)
            }
            None => true,
        };
        if take {
            into.set(vendor, email, theirs.clone());
            merged.taken += 1;
        }
    }
    for (vendor, email, was) in base.records() {
        if other.get(vendor, email).is_none() && into.get(vendor, email) == Some(was) {
            if let Some(records) = into.vendors.get_mut(vendor) {
                records.remove(email);
                if records.is_empty() {
                    into.vendors.remove(vendor);
                }
            }
            merged.removed += 1;
        }
    }
    if other.unfinished_apply != base.unfinished_apply {
        into.unfinished_apply = other.unfinished_apply.clone();
    }
    into.serial = into.serial.max(other.serial);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RawSpec;

    fn record(status: Status, at: &str, id: &str) -> Record {
        Record {
            at: at.into(),
            error: None,
            fingerprint: "sha256:00".into(),
            inactive: false,
            remote_id: Some(id.into()),
            spec: RawSpec::of(&serde_json::json!({})),
            status,
            vendor_status: None,
            warnings: vec![],
        }
    }

    fn state(serial: u64, records: &[(&str, &str, Record)]) -> State {
        let mut s = State {
            lineage: "L".into(),
            serial,
            ..State::default()
        };
        for (v, e, r) in records {
            s.set(v, e, r.clone());
        }
        s
    }

    const T1: &str = "2026-01-01T00:00:01Z";
    const T2: &str = "2026-01-01T00:00:02Z";

    #[test]
    fn where_both_changed_a_record_alike_ours_stays() {
        // The same status at the same time, other ids: neither says more,
        // and the copy being merged into keeps its own (merging is repeatable).
        let base = state(3, &[("a", "x@x.io", record(Status::Pending, T1, "p"))]);
        let mut ours = state(4, &[("a", "x@x.io", record(Status::Created, T2, "ours"))]);
        let theirs = state(4, &[("a", "x@x.io", record(Status::Created, T2, "theirs"))]);
        let m = merge(&mut ours, &theirs, Some(&base)).unwrap();
        assert_eq!((m.both, m.taken), (1, 0));
        let kept = ours.get("a", "x@x.io").unwrap();
        assert_eq!(kept.remote_id.as_deref(), Some("ours"));
    }

    #[test]
    fn records_of_both_sides_survive() {
        let old = record(Status::Created, T1, "old");
        let base = state(3, &[("a", "old@x.io", old.clone())]);
        // main moved on: another apply created m@; this copy created c@.
        let mut main = state(
            5,
            &[
                ("a", "old@x.io", old.clone()),
                ("a", "m@x.io", record(Status::Created, T2, "m")),
            ],
        );
        let copy = state(
            4,
            &[
                ("a", "old@x.io", old),
                ("b", "c@x.io", record(Status::Created, T1, "c")),
            ],
        );
        let m = merge(&mut main, &copy, Some(&base)).unwrap();
        assert_eq!(m.taken, 1);
        assert_eq!(main.serial, 5);
        let keys: Vec<_> = main.records().map(|(v, e, _)| (v, e)).collect();
        assert_eq!(keys, [("a", "m@x.io"), ("a", "old@x.io"), ("b", "c@x.io")]);
    }

    #[test]
    fn where_both_changed_a_record_the_account_wins() {
        let base = state(1, &[("a", "p@x.io", record(Status::Pending, T1, "p"))]);
        // main verified it as created; this copy failed to (an older run).
        let mut main = state(2, &[("a", "p@x.io", record(Status::Created, T1, "id1"))]);
        let copy = state(2, &[("a", "p@x.io", record(Status::Failed, T2, "x"))]);
        let m = merge(&mut main, &copy, Some(&base)).unwrap();
        assert_eq!((m.both, m.taken), (1, 0));
        assert_eq!(main.get("a", "p@x.io").unwrap().status, Status::Created);
        // The other way round, the copy's account is taken.
        let mut main = state(2, &[("a", "p@x.io", record(Status::Failed, T2, "x"))]);
        let copy = state(2, &[("a", "p@x.io", record(Status::Adopted, T1, "id2"))]);
        merge(&mut main, &copy, Some(&base)).unwrap();
        let r = main.get("a", "p@x.io").unwrap();
        assert_eq!(
            (r.status, r.remote_id.as_deref()),
            (Status::Adopted, Some("id2"))
        );
    }

    #[test]
    fn a_removal_on_one_side_stands_unless_the_other_changed_the_record() {
        let r = record(Status::Created, T1, "r");
        let base = state(1, &[("a", "r@x.io", r.clone()), ("a", "s@x.io", r.clone())]);
        // main removed r@ (state rm); the copy left it alone: it stays removed.
        let mut main = state(2, &[("a", "s@x.io", r.clone())]);
        let copy = base.clone();
        merge(&mut main, &copy, Some(&base)).unwrap();
        assert!(main.get("a", "r@x.io").is_none());
        // The copy removed s@ and main left it alone: removed.
        let copy = state(2, &[("a", "r@x.io", r.clone())]);
        let mut main = base.clone();
        let m = merge(&mut main, &copy, Some(&base)).unwrap();
        assert_eq!(m.removed, 1);
        assert!(main.get("a", "s@x.io").is_none());
    }

    #[test]
    fn a_removal_never_drops_a_record_the_other_side_changed() {
        let pending = record(Status::Pending, T1, "p");
        let created = record(Status::Created, T2, "id-9");
        let base = state(1, &[("a", "p@x.io", pending.clone())]);
        // The copy removed p@ (state rm); main verified it meanwhile (pending ->
        // created with the vendor's id): main's change stands.
        let mut main = state(2, &[("a", "p@x.io", created.clone())]);
        let copy = state(2, &[]);
        let m = merge(&mut main, &copy, Some(&base)).unwrap();
        assert_eq!(m.removed, 0);
        assert_eq!(main.get("a", "p@x.io"), Some(&created));
        // The other way round: main removed it, the copy verified it: the
        // copy's change is taken.
        let mut main = state(2, &[]);
        let copy = state(2, &[("a", "p@x.io", created.clone())]);
        let m = merge(&mut main, &copy, Some(&base)).unwrap();
        assert_eq!((m.taken, m.removed), (1, 0));
        assert_eq!(main.get("a", "p@x.io"), Some(&created));
    }

    #[test]
    fn without_a_base_every_record_counts_and_other_lineages_are_refused() {
        let mut main = state(1, &[]);
        let copy = state(7, &[("a", "n@x.io", record(Status::Created, T1, "n"))]);
        merge(&mut main, &copy, None).unwrap();
        assert_eq!(main.serial, 7);
        assert!(main.get("a", "n@x.io").is_some());
        let mut stranger = copy.clone();
        stranger.lineage = "M".into();
        let e = merge(&mut main, &stranger, None).unwrap_err();
        assert!(e.to_string().contains("not copies of one another"), "{e}");
        // A state that does not exist yet takes the other's lineage.
        let mut fresh = State::default();
        merge(&mut fresh, &copy, None).unwrap();
        assert_eq!(fresh.lineage, "L");
    }
}
