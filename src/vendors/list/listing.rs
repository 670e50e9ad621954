//! A vendor's accounts as listed, indexed by identity key.

use super::Observed;
use crate::vendors::CallError;

/// The ids (or names) a listing has seen, by a keyed hash only: a listing may
/// hold a million accounts, and a second copy of every id would double what
/// it keeps. A hit is checked against the account itself; two different ids
/// with the same hash (keys are random per run, so a vendor cannot aim for
/// one) only make the later one unchecked, never taken for the earlier.
#[derive(Default)]
pub(super) struct Seen {
    hasher: std::collections::hash_map::RandomState,
    at: std::collections::HashMap<u64, usize>,
}

impl Seen {
    fn hash(&self, text: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(text)
    }

    /// The index in `items` of the account whose `field` is `text`.
    pub(super) fn get(
        &self,
        text: &str,
        items: &[Observed],
        field: impl Fn(&Observed) -> &String,
    ) -> Option<usize> {
        let &i = self.at.get(&self.hash(text))?;
        (field(&items[i]) == text).then_some(i)
    }

    pub(super) fn insert(&mut self, text: &str, index: usize) {
        let hash = self.hash(text);
        self.at.entry(hash).or_insert(index);
    }
}

/// A vendor's accounts, indexed by identity key.
#[derive(Debug, Default)]
pub struct Listing {
    pub items: Vec<Observed>,
    /// How many requests the listing took.
    pub requests: usize,
    /// How many reads of the whole list it holds (see `union`).
    pub reads: usize,
    /// Indices of `items`, sorted by key (no second copy of every key).
    by_key: Vec<usize>,
    /// The accounts whose name [`crate::model::may_imitate`] another: the
    /// only ones that can be look-alikes.
    odd: Vec<usize>,
}

impl Listing {
    pub fn new(items: Vec<Observed>, requests: usize) -> Listing {
        let mut by_key: Vec<usize> = (0..items.len()).collect();
        by_key.sort_by(|&a, &b| items[a].key.cmp(&items[b].key));
        let odd = (0..items.len())
            .filter(|&i| crate::model::may_imitate(&items[i].key))
            .collect();
        Listing {
            items,
            requests,
            reads: 1,
            by_key,
            odd,
        }
    }

    /// What two reads of one list saw together: every account either read
    /// listed. A list that moves while it is read (an account deleted on one
    /// page moves the next pages up by one) hides an account from one read,
    /// seldom from two, and never the same one by chance: an account missing
    /// from both is gone. One listed by both (same id, same name) is kept
    /// once, as the later read saw it.
    ///
    /// The two reads together must not contradict each other, as one read
    /// must not (see [`all`]): one id given to two names, or, where the vendor
    /// keeps names unique (`unique_keys`), one name under two ids, is an error.
    pub fn union(first: Listing, second: Listing, unique_keys: bool) -> Result<Listing, CallError> {
        let earlier: Vec<Observed> = first
            .items
            .into_iter()
            .filter(|o| !second.holds(&o.key, &o.remote_id))
            .collect();
        let requests = first.requests + second.requests;
        let reads = first.reads + second.reads;
        let mut items = second.items;
        items.extend(earlier);
        let mut names: std::collections::BTreeMap<&str, &str> = Default::default();
        let mut ids: std::collections::BTreeMap<&str, &str> = Default::default();
        for o in &items {
            let contradiction = match names.insert(&o.remote_id, &o.key) {
                Some(other) if other != o.key => Some("one id given to two accounts"),
                _ => match ids.insert(&o.key, &o.remote_id) {
                    Some(other) if unique_keys && other != o.remote_id => {
                        Some("one name under two ids")
                    }
                    _ => None,
                },
            };
            if let Some(what) = contradiction {
                return Err(CallError::Unknown(format!(
                    "two reads of the list contradict each other ({what}: the account {:?}); nothing concluded (read again)",
                    crate::model::escaped(&o.key)
                )));
            }
        }
        Ok(Listing {
            reads,
            ..Listing::new(items, requests)
        })
    }

    /// Whether the listing holds the account named `key` with the id `id`.
    fn holds(&self, key: &str, id: &str) -> bool {
        let from = self
            .by_key
            .partition_point(|&i| self.items[i].key.as_str() < key);
        self.by_key[from..]
            .iter()
            .map(|&i| &self.items[i])
            .take_while(|o| o.key == key)
            .any(|o| o.remote_id == id)
    }

    /// What the vendor holds for identity `key`: a live account before an
    /// inactive one, since one email may hold several memberships (DocuSign
    /// keeps closed ones). Matched on the key only: where the vendor keys
    /// accounts on a name of its own (SCIM userName), an account whose email
    /// matches under another name is another account.
    pub fn find(&self, key: &str) -> Found<'_> {
        self.find_recorded(key, None)
    }

    /// As `find`, and among live (or among inactive) accounts the one with the
    /// id `recorded`: a second account under the same name never takes the
    /// place of the one roster keeps track of.
    pub fn find_recorded(&self, key: &str, recorded: Option<&str>) -> Found<'_> {
        let from = self
            .by_key
            .partition_point(|&i| self.items[i].key.as_str() < key);
        let mut hits: Vec<&Observed> = self.by_key[from..]
            .iter()
            .map(|&i| &self.items[i])
            .take_while(|o| o.key == key)
            .collect();
        hits.sort_by_key(|o| (!o.live, Some(o.remote_id.as_str()) != recorded));
        match hits.first() {
            None => Found::None,
            Some(o) if o.live => Found::Live(o),
            Some(o) => Found::Inactive(o),
        }
    }

    /// The accounts whose name equals `key` only once a non-ASCII character is
    /// folded into ASCII: look-alikes, never matched.
    pub fn lookalikes(&self, key: &str) -> Vec<&Observed> {
        self.odd
            .iter()
            .map(|&i| &self.items[i])
            .filter(|o| crate::model::lookalike(&o.key, key))
            .collect()
    }

    /// Warns, one line each, of the accounts that imitate a wanted user's
    /// identity: `wanted` gives (email, identity key at this vendor). Returns
    /// how many.
    pub fn report_lookalikes<'a>(
        &self,
        vendor: &str,
        wanted: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> usize {
        if self.odd.is_empty() {
            return 0;
        }
        let mut n = 0;
        for (email, key) in wanted {
            for o in self.lookalikes(key) {
                n += 1;
                tracing::warn!(
                    "look-alike: vendor `{vendor}` holds an account named \"{}\", which imitates {email} with a non-ASCII character: not matched, not adopted",
                    crate::model::escaped(&o.key)
                );
            }
        }
        n
    }
}

/// What a listing holds for one user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Found<'a> {
    Live(&'a Observed),
    /// Only closed, inactive or disabled accounts.
    Inactive(&'a Observed),
    None,
}

impl<'a> Found<'a> {
    /// The account found, live or not.
    pub fn observed(self) -> Option<&'a Observed> {
        match self {
            Found::Live(o) | Found::Inactive(o) => Some(o),
            Found::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::observed;
    use super::*;

    #[test]
    fn matches_on_the_key_only_and_names_lookalikes() {
        let mut mallory = observed("mallory", "m", true);
        mallory.email = Some("alice@x.io".into());
        let kelvin = observed(&crate::model::identity("\u{212a}ate@x.io"), "k", true);
        let l = Listing::new(vec![mallory, kelvin], 1);
        assert_eq!(l.find("alice@x.io"), Found::None);
        assert_eq!(l.find("kate@x.io"), Found::None);
        let look = l.lookalikes("kate@x.io");
        assert_eq!(look.len(), 1);
        assert_eq!(look[0].remote_id, "k");
        assert!(l.lookalikes("alice@x.io").is_empty());
        assert_eq!(l.report_lookalikes("v", [("kate@x.io", "kate@x.io")]), 1);
    }

    #[test]
    fn two_reads_together_hold_every_account_either_listed_once() {
        let first = Listing::new(
            vec![
                observed("a@x.io", "1", true),
                observed("b@x.io", "2", true),
                observed("c@x.io", "3", true),
            ],
            2,
        );
        // The second read lacks b (the list moved), holds a new d, sees c
        // closed meanwhile, and a under a new id.
        let second = Listing::new(
            vec![
                observed("a@x.io", "9", true),
                observed("c@x.io", "3", false),
                observed("d@x.io", "4", true),
            ],
            3,
        );
        let both = Listing::union(first, second, false).unwrap();
        assert_eq!((both.requests, both.reads), (5, 2));
        let mut held: Vec<(&str, &str, bool)> = both
            .items
            .iter()
            .map(|o| (o.key.as_str(), o.remote_id.as_str(), o.live))
            .collect();
        held.sort();
        assert_eq!(
            held,
            [
                ("a@x.io", "1", true),
                ("a@x.io", "9", true),
                ("b@x.io", "2", true),
                ("c@x.io", "3", false),
                ("d@x.io", "4", true),
            ]
        );
        assert!(
            matches!(both.find_recorded("a@x.io", Some("1")), Found::Live(o) if o.remote_id == "1")
        );
        assert!(matches!(both.find("b@x.io"), Found::Live(_)));
        assert!(matches!(both.find("c@x.io"), Found::Inactive(_)));
        assert_eq!(both.find("e@x.io"), Found::None);
    }

    #[test]
    fn two_reads_that_contradict_each_other_conclude_nothing() {
        let read = |items| Listing::new(items, 1);
        // One read gives u0 the id the other gives u1.
        let e = Listing::union(
            read(vec![observed("u1@x.io", "id-1", true)]),
            read(vec![observed("u0@x.io", "id-1", true)]),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("one id given to two accounts"), "{e}");
        // A unique name under two ids: refused where names are unique (SCIM),
        // kept where they are not (DocuSign's closed memberships).
        let twice = || {
            (
                read(vec![observed("u0@x.io", "id-0", true)]),
                read(vec![observed("u0@x.io", "id-9", true)]),
            )
        };
        let (a, b) = twice();
        let e = Listing::union(a, b, true).unwrap_err().to_string();
        assert!(e.contains("one name under two ids"), "{e}");
        let (a, b) = twice();
        assert_eq!(Listing::union(a, b, false).unwrap().items.len(), 2);
    }

    #[test]
    fn a_live_membership_wins_over_a_closed_one_whatever_the_order() {
        let l = Listing::new(
            vec![
                observed("a@x.io", "old", false),
                observed("a@x.io", "new", true),
                observed("b@x.io", "b", false),
            ],
            1,
        );
        assert!(matches!(l.find("a@x.io"), Found::Live(o) if o.remote_id == "new"));
        assert!(matches!(l.find("b@x.io"), Found::Inactive(o) if o.remote_id == "b"));
        assert_eq!(l.find("c@x.io"), Found::None);
    }
}
