//! Refresh: what each vendor holds, read by listing, merged into the state before
//! the diff (like `terraform apply -refresh-only`). It changes nothing at any
//! vendor.
//!
//! `observe` does the I/O: one paged listing per vendor, every vendor at once.
//! `updates` is pure: from the desired state, the recorded state and what was
//! observed, the records a refresh rewrites, each with what changed and why. The
//! planner then diffs the merged state as usual, so a refreshed plan is still a
//! pure function of its inputs.

use crate::desired::Desired;
use crate::model::identity;
use crate::plan::Filter;
use crate::state::{RawSpec, Record, State, Status};
use crate::vendors::list::{self, Found, Listing, Observed, Query};
use crate::vendors::{Driver, NewUser};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

/// A vendor to read: its driver, and the identity key at that vendor of each
/// desired user (by email), which only the driver can tell (SCIM: userName).
pub struct Reader {
    pub vendor: String,
    pub driver: Box<dyn Driver>,
    pub keys: BTreeMap<String, String>,
    /// See `verify_grace`: an account created this recently may not be listed yet.
    pub grace: Duration,
    /// The users read for (the recorded accounts it does not keep are not
    /// looked for).
    pub filter: Filter,
}

impl Reader {
    /// A reader for `vendor`, with the keys of the desired users that `filter`
    /// keeps.
    pub fn new(
        vendor: &crate::vendors::Vendor,
        driver: Box<dyn Driver>,
        desired: &Desired,
        filter: &Filter,
    ) -> Reader {
        let keys = desired
            .users
            .iter()
            .filter(|(email, _)| filter.user(email))
            .filter_map(|(email, user)| {
                let account = user.accounts.get(&vendor.name)?;
                let new = NewUser {
                    email,
                    profile: &user.profile,
                    account: &account.block,
                    password: None,
                };
                Some((email.clone(), driver.key_of(&new)))
            })
            .collect();
        Reader {
            vendor: vendor.name.clone(),
            driver,
            keys,
            grace: vendor.config.common.grace(),
            filter: filter.clone(),
        }
    }
}

/// Readers for every desired vendor that `filter` keeps, drivers connected
/// (their credentials resolved from `ctx`'s environment). Fails, naming every problem, before
/// any request.
pub fn readers(
    desired: &Desired,
    filter: &Filter,
    ctx: &crate::vendors::Context,
) -> anyhow::Result<Vec<Reader>> {
    let kept: Vec<_> = desired
        .vendors
        .iter()
        .filter(|(name, _)| filter.vendor(name))
        .map(|(_, vendor)| vendor)
        .collect();
    let (mut drivers, problems) = crate::vendors::connect_all(kept.iter().copied(), ctx);
    let out: Vec<Reader> = kept
        .into_iter()
        .filter_map(|v| Some(Reader::new(v, drivers.remove(&v.name)?, desired, filter)))
        .collect();
    if !problems.is_empty() {
        anyhow::bail!(
            "cannot read the vendors; nothing was sent:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(out)
}

/// What was learnt of one vendor.
pub enum Seen {
    /// Its whole list, read to the end.
    Listed {
        listing: Listing,
        keys: BTreeMap<String, String>,
        grace: Duration,
    },
    /// The vendor has no API to list users (Act-On): its records stay as they are.
    Unlistable,
    /// Listing failed; nothing is concluded from a partial list.
    Failed(String),
}

/// Reads every vendor's accounts, all vendors at once, each within its own rate
/// limit and retry policy (one request at a time per vendor: pages follow one
/// another). A list that lacks an account `state` records as existing is read
/// a second time (see `read`).
pub async fn observe(readers: Vec<Reader>, state: &State) -> BTreeMap<String, Seen> {
    let seen = futures::future::join_all(readers.into_iter().map(|r| async move {
        let seen = if r.driver.lister().is_none() {
            Seen::Unlistable
        } else {
            tracing::info!(vendor = %r.vendor, "listing the vendor's accounts");
            match read(&r, state).await {
                Ok(listing) => {
                    listing.report_lookalikes(
                        &r.vendor,
                        r.keys.iter().map(|(e, k)| (e.as_str(), k.as_str())),
                    );
                    Seen::Listed {
                        listing,
                        keys: r.keys,
                        grace: r.grace,
                    }
                }
                Err(e) => Seen::Failed(format!("{e}")),
            }
        };
        (r.vendor, seen)
    }))
    .await;
    seen.into_iter().collect()
}

/// Reads a vendor's whole list; and, when it lacks accounts the state records
/// as created or adopted, reads it once more and keeps what either read listed.
/// A list that shrinks while it is read moves every later account up, so one
/// falls between two pages unseen; a vendor that states no total (ActivePlatform,
/// Forms On Fire) gives no sign of it. An account is gone only if both reads
/// lack it, and the mass-gone guard judges that. Cheap: the second read is only
/// sent when an account would otherwise be taken for gone.
async fn read(r: &Reader, state: &State) -> Result<Listing, crate::vendors::CallError> {
    let first = list::all(r.driver.as_ref(), Query::All).await?;
    let lacking = missing(r, state, &first);
    if lacking == 0 {
        return Ok(first);
    }
    tracing::info!(
        vendor = %r.vendor,
        "the list lacks {lacking} recorded account(s): reading it a second time before taking any for gone"
    );
    let second = list::all(r.driver.as_ref(), Query::All).await?;
    let both = Listing::union(first, second, r.driver.unique_keys())?;
    let still = missing(r, state, &both);
    if still < lacking {
        tracing::warn!(
            "vendor `{}`: its list moved while it was read: {} recorded account(s) missing from the first read were listed by a second one, so are not gone",
            r.vendor,
            lacking - still
        );
    }
    Ok(both)
}

/// How many accounts the state records as existing at the reader's vendor
/// (for the users it reads) that `listing` lacks. Young records count too: the
/// second read they may cost is cheaper than a clock to agree on.
fn missing(r: &Reader, state: &State, listing: &Listing) -> usize {
    state
        .vendors
        .get(&r.vendor)
        .into_iter()
        .flatten()
        .filter(|(email, record)| r.filter.user(email) && record.status.exists())
        .filter(|(email, record)| !lists(listing, &r.keys, email, record))
        .count()
}

/// Whether `listing` shows the account recorded for `email` (under its
/// identity key at this vendor, preferring the recorded id).
fn lists(listing: &Listing, keys: &BTreeMap<String, String>, email: &str, record: &Record) -> bool {
    let key = keys.get(email).cloned().unwrap_or_else(|| identity(email));
    listing
        .find_recorded(&key, record.remote_id.as_deref())
        .observed()
        .is_some()
}

/// How one record changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// Desired, unrecorded (or failed, pending, gone) and live at the vendor: now
    /// recorded as adopted with the vendor's id.
    Adopted,
    /// Desired and found at the vendor, but held there as closed or inactive:
    /// recorded as such, never counted as live.
    FoundInactive,
    /// Recorded as existing, and not at the vendor any more.
    Gone,
    /// Recorded as existing, and now held as closed or inactive by the vendor.
    Inactive,
    /// Recorded as inactive (or gone), and live again at the vendor.
    Live,
    /// The vendor holds the account under another id than the one recorded.
    Id { was: Option<String> },
    /// Only the vendor's own status word changed.
    Status { was: Option<String> },
}

/// One record a refresh rewrites.
#[derive(Clone, Debug)]
pub struct Update {
    pub vendor: String,
    pub email: String,
    pub what: What,
    pub record: Record,
    /// Gone, and a second read of the list lacked it too (see `read`).
    pub confirmed: bool,
}

impl Update {
    /// A line for people: what changed, in the vendor's terms.
    pub fn describe(&self) -> String {
        let r = &self.record;
        let id = r.remote_id.as_deref().unwrap_or("-");
        let status = r.vendor_status.as_deref().unwrap_or("-");
        match &self.what {
            What::Adopted => format!("adopted: found at the vendor as id {id} ({status})"),
            What::FoundInactive => format!(
                "found inactive at the vendor (id {id}, {status}): recorded, not live; reactivate it there"
            ),
            What::Gone if self.confirmed => format!(
                "gone: id {id} is no longer at the vendor (missing from two reads of its list)"
            ),
            What::Gone => format!("gone: id {id} is no longer at the vendor"),
            What::Inactive => format!("inactive at the vendor: id {id} is {status}"),
            What::Live => format!("live again at the vendor: id {id} ({status})"),
            What::Id { was } => format!(
                "id changed at the vendor: {} -> {id}",
                was.as_deref().unwrap_or("none")
            ),
            What::Status { was } => format!(
                "vendor status {} -> {status}",
                was.as_deref().unwrap_or("-")
            ),
        }
    }
}

/// The records a refresh rewrites, sorted by vendor then email. Pure: `now`
/// is the time the listings were read.
pub fn updates(
    desired: &Desired,
    state: &State,
    seen: &BTreeMap<String, Seen>,
    filter: &Filter,
    now: SystemTime,
) -> Vec<Update> {
    let at = humantime::format_rfc3339_seconds(now).to_string();
    let empty = BTreeMap::new();
    let mut changes = Vec::new();
    for (vendor, seen) in seen {
        let Seen::Listed {
            listing,
            keys,
            grace,
        } = seen
        else {
            continue;
        };
        if !filter.vendor(vendor) {
            continue;
        }
        let recorded = state.vendors.get(vendor).unwrap_or(&empty);
        let wanted: BTreeSet<&String> = desired
            .users
            .iter()
            .filter(|(_, u)| u.accounts.contains_key(vendor))
            .map(|(e, _)| e)
            .chain(recorded.keys())
            .filter(|e| filter.user(e))
            .collect();
        for email in wanted {
            let key = keys.get(email).cloned().unwrap_or_else(|| identity(email));
            let record = recorded.get(email);
            let found = listing.find_recorded(&key, record.and_then(|r| r.remote_id.as_deref()));
            let desired_record = || {
                let user = desired.users.get(email)?;
                let account = user.accounts.get(vendor)?;
                Some(Record {
                    at: at.clone(),
                    error: None,
                    fingerprint: account.fingerprint.clone(),
                    inactive: false,
                    remote_id: None,
                    spec: RawSpec::of(&account.spec_of(&user.profile)),
                    status: Status::Adopted,
                    vendor_status: None,
                    warnings: vec![],
                })
            };
            let change = match (record, found) {
                (Some(r), Found::Live(o) | Found::Inactive(o)) if r.status.exists() => {
                    existing(r, o, &at)
                }
                (Some(r), Found::None) if r.status.exists() => {
                    if young(r, *grace, now) {
                        // Created moments ago: the vendor may not list it yet.
                        None
                    } else {
                        let mut next = r.clone();
                        next.status = Status::Gone;
                        next.at = at.clone();
                        next.inactive = false;
                        Some((What::Gone, next))
                    }
                }
                // Pending, failed or gone, or not recorded at all: what the vendor
                // holds is the truth. Found there, it is adopted with its real id.
                (_, Found::Live(o) | Found::Inactive(o)) => {
                    let base = desired_record().or_else(|| record.cloned());
                    base.map(|mut next| {
                        next.status = Status::Adopted;
                        next.at = at.clone();
                        next.error = None;
                        next.warnings.clear();
                        observe_into(&mut next, o);
                        let what = if o.live {
                            What::Adopted
                        } else {
                            What::FoundInactive
                        };
                        (what, next)
                    })
                }
                // Not at the vendor and not recorded as existing: nothing to learn.
                // A pending creation is left to apply's verify, which waits out
                // the vendor before it sends anything again.
                (_, Found::None) => None,
            };
            if let Some((what, record)) = change {
                changes.push(Update {
                    vendor: vendor.clone(),
                    email: email.clone(),
                    confirmed: what == What::Gone && listing.reads > 1,
                    what,
                    record,
                });
            }
        }
    }
    changes
}

/// A record that exists, against what the vendor holds for it.
fn existing(r: &Record, o: &Observed, at: &str) -> Option<(What, Record)> {
    let mut next = r.clone();
    observe_into(&mut next, o);
    let what = if r.inactive && o.live {
        What::Live
    } else if !r.inactive && !o.live {
        What::Inactive
    } else if r.remote_id.as_deref() != Some(o.remote_id.as_str()) {
        What::Id {
            was: r.remote_id.clone(),
        }
    } else if r.vendor_status != o.status {
        What::Status {
            was: r.vendor_status.clone(),
        }
    } else {
        return None;
    };
    // A new status word alone says nothing new of the account's life: `at`,
    // which the grace period counts from, stays.
    if !matches!(what, What::Status { .. }) {
        next.at = at.to_string();
    }
    Some((what, next))
}

/// Takes the vendor's id, status and liveness into a record.
pub(crate) fn observe_into(record: &mut Record, o: &Observed) {
    record.remote_id = Some(o.remote_id.clone());
    record.vendor_status = o.status.clone();
    record.inactive = !o.live;
}

/// Whether the record was written less than `grace` before `now`, or after it
/// (by a machine whose clock is ahead): never taken for deleted then.
fn young(r: &Record, grace: Duration, now: SystemTime) -> bool {
    humantime::parse_rfc3339(&r.at)
        .ok()
        .is_some_and(|written| now.duration_since(written).map_or(true, |age| age < grace))
}

/// A vendor whose list would have marked too many of its recorded accounts
/// `gone` in one read: taken for a bad read, its changes are held back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub vendor: String,
    /// Recorded accounts (created or adopted) the list still shows.
    pub listed: usize,
    /// Accounts the state records as created or adopted at the vendor.
    pub recorded: usize,
    /// The threshold's numbers ("40 gone = 100% > 20% (...)").
    pub why: String,
}

impl Refused {
    /// A line for people: what was refused, and how to accept it.
    pub fn describe(&self) -> String {
        let v = &self.vendor;
        format!(
            "{v}: listed {} of {} recorded accounts: refused as a probable bad read; if they really were deleted, run again with --accept-gone {v} ({}; {v}'s records are kept as they are)",
            crate::model::group(self.listed),
            crate::model::group(self.recorded),
            self.why
        )
    }
}

/// Holds back every change of a vendor whose list would mark more of its
/// recorded accounts `gone` than `limit` allows, unless `accept` names it;
/// returns those vendors. Pure: the other vendors' changes stand.
pub fn hold_back(
    state: &State,
    seen: &BTreeMap<String, Seen>,
    changes: &mut Vec<Update>,
    limit: &crate::plan::GoneLimit,
    accept: &BTreeSet<String>,
) -> Vec<Refused> {
    // Every account the state keeps track of, inactive ones too: a vendor
    // that first lists everyone inactive must not switch the guard off.
    let recorded_in_all = state
        .records()
        .filter(|(_, _, r)| r.status.exists())
        .count();
    let mut refused = Vec::new();
    for (vendor, seen) in seen {
        let Seen::Listed { listing, keys, .. } = seen else {
            continue;
        };
        if accept.contains(vendor) {
            continue;
        }
        let gone = changes
            .iter()
            .filter(|c| &c.vendor == vendor && c.what == What::Gone)
            .count();
        let records: Vec<(&String, &Record)> = state
            .vendors
            .get(vendor)
            .into_iter()
            .flatten()
            .filter(|(_, r)| r.status.exists())
            .collect();
        let Some(why) = limit.judge(gone, records.len(), recorded_in_all) else {
            continue;
        };
        let listed = records
            .iter()
            .filter(|(email, r)| lists(listing, keys, email, r))
            .count();
        changes.retain(|c| &c.vendor != vendor);
        refused.push(Refused {
            vendor: vendor.clone(),
            listed,
            recorded: records.len(),
            why,
        });
    }
    refused
}

/// Writes the changes into `state` (in memory).
pub fn apply_to(state: &mut State, changes: &[Update]) {
    for c in changes {
        state.set(&c.vendor, &c.email, c.record.clone());
    }
}

/// A summary line: how many of each kind of change.
pub fn summary(changes: &[Update]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in changes {
        let name = match c.what {
            What::Adopted => "adopted",
            What::FoundInactive => "found inactive",
            What::Gone if c.confirmed => "gone (confirmed by a second read)",
            What::Gone => "gone",
            What::Inactive => "inactive",
            What::Live => "live again",
            What::Id { .. } => "id changed",
            What::Status { .. } => "status changed",
        };
        *counts.entry(name).or_default() += 1;
    }
    if counts.is_empty() {
        return "no change".into();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::load_str;
    use std::time::UNIX_EPOCH;

    const YAML: &str = r#"
version: 1
vendors:
  v: { kind: scim, base_url: "http://x", token: t }
users:
  - { email: a@x.io, first_name: A, last_name: L, accounts: { v: {} } }
  - { email: b@x.io, first_name: B, last_name: L, accounts: { v: {} } }
  - { email: c@x.io, first_name: C, last_name: L, accounts: { v: {} } }
"#;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn record(status: Status, id: &str, age: u64, inactive: bool) -> Record {
        Record {
            at: humantime::format_rfc3339_seconds(now() - Duration::from_secs(age)).to_string(),
            error: None,
            fingerprint: "sha256:00".into(),
            inactive,
            remote_id: Some(id.into()),
            spec: RawSpec::of(&serde_json::json!({})),
            status,
            vendor_status: Some(if inactive { "closed" } else { "active" }.into()),
            warnings: vec![],
        }
    }

    fn held(email: &str, id: &str, live: bool) -> Observed {
        Observed {
            key: email.into(),
            email: Some(email.into()),
            remote_id: id.into(),
            live,
            status: Some(if live { "active" } else { "closed" }.into()),
            first_name: None,
            last_name: None,
            block: Default::default(),
        }
    }

    /// What a refresh makes of one recorded pair (or none) against what the
    /// vendor holds (or nothing), for a desired user a@x.io.
    fn one(recorded: Option<Record>, observed: Option<Observed>) -> Option<(What, Record)> {
        let desired = load_str("r.yaml", YAML, &|_| None).unwrap();
        let mut state = State::default();
        if let Some(r) = recorded {
            state.set("v", "a@x.io", r);
        }
        let seen = BTreeMap::from([(
            "v".to_string(),
            Seen::Listed {
                listing: Listing::new(observed.into_iter().collect(), 1),
                keys: BTreeMap::new(),
                grace: Duration::from_secs(30),
            },
        )]);
        let filter = Filter {
            users: ["a@x.io".to_string()].into(),
            ..Filter::default()
        };
        let mut changes = updates(&desired, &state, &seen, &filter, now());
        assert!(changes.len() <= 1);
        changes.pop().map(|c| (c.what, c.record))
    }

    #[test]
    fn what_a_refresh_learns() {
        use Status::*;
        let old = 3600;
        // (recorded, held by the vendor, the change, its status, its id, inactive)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            Option<Record>,
            Option<Observed>,
            Option<What>,
            Status,
            &str,
            bool,
        )> = vec![
            (
                Some(record(Created, "1", old, false)),
                Some(held("a@x.io", "1", true)),
                None,
                Created,
                "1",
                false,
            ),
            (
                Some(record(Created, "1", old, false)),
                None,
                Some(What::Gone),
                Gone,
                "1",
                false,
            ),
            // Created moments ago: the vendor may not list it yet.
            (
                Some(record(Created, "1", 5, false)),
                None,
                None,
                Created,
                "1",
                false,
            ),
            (
                None,
                Some(held("a@x.io", "9", true)),
                Some(What::Adopted),
                Adopted,
                "9",
                false,
            ),
            (
                None,
                Some(held("a@x.io", "9", false)),
                Some(What::FoundInactive),
                Adopted,
                "9",
                true,
            ),
            (None, None, None, Created, "", false),
            // A pending creation is left to apply's verify and its grace period.
            (
                Some(record(Pending, "p", old, false)),
                None,
                None,
                Pending,
                "p",
                false,
            ),
            (
                Some(record(Failed, "f", old, false)),
                Some(held("a@x.io", "9", true)),
                Some(What::Adopted),
                Adopted,
                "9",
                false,
            ),
            (
                Some(record(Gone, "1", old, false)),
                Some(held("a@x.io", "2", true)),
                Some(What::Adopted),
                Adopted,
                "2",
                false,
            ),
            (
                Some(record(Adopted, "1", old, false)),
                Some(held("a@x.io", "1", false)),
                Some(What::Inactive),
                Adopted,
                "1",
                true,
            ),
            (
                Some(record(Adopted, "1", old, true)),
                Some(held("a@x.io", "1", true)),
                Some(What::Live),
                Adopted,
                "1",
                false,
            ),
            (
                Some(record(Created, "1", old, false)),
                Some(held("a@x.io", "7", true)),
                Some(What::Id {
                    was: Some("1".into()),
                }),
                Created,
                "7",
                false,
            ),
            (
                Some(Record {
                    vendor_status: None,
                    ..record(Created, "1", old, false)
                }),
                Some(held("a@x.io", "1", true)),
                Some(What::Status { was: None }),
                Created,
                "1",
                false,
            ),
        ];
        for (i, (recorded, observed, what, status, id, inactive)) in cases.into_iter().enumerate() {
            let had = recorded.clone();
            let got = one(recorded, observed);
            assert_eq!(got.as_ref().map(|(w, _)| w.clone()), what, "case {i}");
            if let Some((_, r)) = got.or_else(|| had.map(|r| (What::Gone, r))) {
                assert_eq!(r.status, status, "case {i}");
                assert_eq!(r.remote_id.as_deref().unwrap_or(""), id, "case {i}");
                assert_eq!(r.inactive, inactive, "case {i}");
            }
        }
    }

    /// The mass-gone limit's defaults.
    fn default_limit() -> crate::plan::GoneLimit {
        crate::plan::GoneLimit {
            max_gone_percent: 20.0,
            min_existing: 10,
            source: "the default".into(),
        }
    }

    /// A vendor whose list, read once, shows `items`.
    fn listed_once(items: Vec<Observed>) -> Seen {
        Seen::Listed {
            listing: Listing::new(items, 1),
            keys: BTreeMap::new(),
            grace: Duration::from_secs(30),
        }
    }

    /// A state recording `recorded` accounts at `v` (a0@x.io, ...) and at
    /// `w`, a vendor `v` listing the first `listed` of them and adopting one
    /// more, and `w` listing none: which vendors are held back.
    fn held_back(recorded: usize, listed: usize, accept: &[&str]) -> (Vec<Refused>, Vec<Update>) {
        let desired = load_str("r.yaml", YAML, &|_| None).unwrap();
        let mut state = State::default();
        let emails: Vec<String> = (0..recorded).map(|i| format!("a{i}@x.io")).collect();
        for (i, e) in emails.iter().enumerate() {
            state.set("v", e, record(Status::Created, &i.to_string(), 3600, false));
            state.set("w", e, record(Status::Adopted, &i.to_string(), 3600, false));
        }
        // A record the list lacks but too young to be taken for gone.
        state.set("v", "young@x.io", record(Status::Created, "y", 5, false));
        let mut shown: Vec<Observed> = emails[..listed]
            .iter()
            .enumerate()
            .map(|(i, e)| held(e, &i.to_string(), true))
            .collect();
        shown.push(held("b@x.io", "99", true));
        let seen = BTreeMap::from([
            ("v".to_string(), listed_once(shown)),
            ("w".to_string(), listed_once(vec![])),
        ]);
        let mut changes = updates(&desired, &state, &seen, &Filter::default(), now());
        let limit = default_limit();
        let accept = accept.iter().map(|v| v.to_string()).collect();
        let refused = hold_back(&state, &seen, &mut changes, &limit, &accept);
        (refused, changes)
    }

    #[test]
    fn accounts_first_listed_inactive_are_still_guarded_when_they_go() {
        // A vendor lists all 30 inactive (refresh records it), then none: the
        // records still count towards min_existing, and 30 gone of 30 is held.
        let desired = load_str("r.yaml", YAML, &|_| None).unwrap();
        let mut state = State::default();
        for i in 0..30 {
            state.set(
                "v",
                &format!("a{i}@x.io"),
                record(Status::Created, &i.to_string(), 3600, true),
            );
        }
        assert_eq!(state.existing(), 0, "none live");
        let seen = BTreeMap::from([("v".to_string(), listed_once(vec![]))]);
        let mut changes = updates(&desired, &state, &seen, &Filter::default(), now());
        let limit = default_limit();
        let refused = hold_back(&state, &seen, &mut changes, &limit, &BTreeSet::new());
        assert_eq!(refused.len(), 1, "{changes:?}");
        assert!(changes.iter().all(|c| c.vendor != "v"), "{changes:?}");
    }

    #[test]
    fn a_list_that_lacks_too_many_recorded_accounts_is_held_back() {
        // (recorded, listed, accepted, refused vendors, changes kept at v)
        #[allow(clippy::type_complexity)]
        let cases: Vec<(usize, usize, &[&str], &[&str], usize)> = vec![
            // 40 recorded, none listed: both refused, nothing of theirs kept,
            // not even v's adoption of b@.
            (40, 0, &[], &["v", "w"], 0),
            // 33 of 41 listed (7 gone, 17.1%): v within the limit.
            (40, 33, &[], &["w"], 8),
            // 31 of 41 listed (9 gone, 22%): over it.
            (40, 31, &[], &["v", "w"], 0),
            // Accepted by name: v's 40 gone and its adoption stand.
            (40, 0, &["v"], &["w"], 41),
            (40, 0, &["v", "w"], &[], 41),
            // Below min_existing in the whole state (5 at v and 4 at w), the
            // share is not enforced.
            (4, 0, &[], &[], 5),
            // From it on, it is at every vendor, however few it records
            // (9 at v and 8 at w).
            (8, 0, &[], &["v", "w"], 0),
        ];
        for (i, (recorded, listed, accept, refused, kept)) in cases.into_iter().enumerate() {
            let (got, changes) = held_back(recorded, listed, accept);
            let names: Vec<&str> = got.iter().map(|r| r.vendor.as_str()).collect();
            assert_eq!(names, refused, "case {i}");
            let at_v = changes.iter().filter(|c| c.vendor == "v").count();
            assert_eq!(at_v, kept, "case {i}: {changes:?}");
            let at_w = changes.iter().filter(|c| c.vendor == "w").count();
            assert_eq!(at_w == 0, refused.contains(&"w"), "case {i}");
        }
        let (refused, _) = held_back(40, 0, &[]);
        let v = &refused[0];
        // The young record is recorded, not listed, and not taken for gone.
        assert_eq!((v.listed, v.recorded), (0, 41));
        assert_eq!(
            v.describe(),
            "v: listed 0 of 41 recorded accounts: refused as a probable bad read; if they really were deleted, run again with --accept-gone v (40 gone = 97.6% > 20% (max_gone_percent, the default); v's records are kept as they are)"
        );
        let (refused, _) = held_back(40, 31, &[]);
        assert_eq!((refused[0].listed, refused[0].recorded), (31, 41));
    }

    #[test]
    fn a_gone_confirmed_by_a_second_read_says_so() {
        let desired = load_str("r.yaml", YAML, &|_| None).unwrap();
        let mut state = State::default();
        state.set("v", "a@x.io", record(Status::Created, "1", 3600, false));
        state.set("v", "b@x.io", record(Status::Created, "2", 3600, false));
        let listed = |reads| {
            let mut listing = Listing::new(vec![held("b@x.io", "2", true)], 1);
            listing.reads = reads;
            BTreeMap::from([(
                "v".to_string(),
                Seen::Listed {
                    listing,
                    keys: BTreeMap::new(),
                    grace: Duration::from_secs(30),
                },
            )])
        };
        let once = updates(&desired, &state, &listed(1), &Filter::default(), now());
        assert_eq!(summary(&once), "1 gone");
        assert_eq!(once[0].describe(), "gone: id 1 is no longer at the vendor");
        let twice = updates(&desired, &state, &listed(2), &Filter::default(), now());
        assert_eq!(summary(&twice), "1 gone (confirmed by a second read)");
        assert_eq!(
            twice[0].describe(),
            "gone: id 1 is no longer at the vendor (missing from two reads of its list)"
        );
    }

    #[test]
    fn a_vendor_that_could_not_be_listed_teaches_nothing() {
        let desired = load_str("r.yaml", YAML, &|_| None).unwrap();
        let mut state = State::default();
        state.set("v", "a@x.io", record(Status::Created, "1", 3600, false));
        for seen in [Seen::Failed("HTTP 500".into()), Seen::Unlistable] {
            let seen = BTreeMap::from([("v".to_string(), seen)]);
            assert!(updates(&desired, &state, &seen, &Filter::default(), now()).is_empty());
        }
    }
}
