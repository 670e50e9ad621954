//! What a vendor holds, read by listing: the one paging loop every driver feeds.
//!
//! A driver says how to ask for one page (`Driver::page`) and, in the page it
//! returns, where the next one starts or that there is none; the loop here walks
//! the pages to the end. Each page is one request through the driver's `Http`,
//! so listing runs under the vendor's rate limit and retry policy like creations.
//! The loop never assumes a page size: it stops on the vendor's own end
//! condition, and refuses a vendor that hands the same page back again (which
//! would otherwise page forever).

use super::{CallError, Driver, NewUser};
use crate::desired::identity;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One account as the vendor holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Its identity at this vendor, normalised (see `desired::identity`): the
    /// email, or the vendor's own unique name where it has one (SCIM userName).
    pub key: String,
    /// Its email, normalised, where the vendor tells it.
    pub email: Option<String>,
    /// The vendor's id of it.
    pub remote_id: String,
    /// Whether the vendor holds it as a live account (not closed, inactive,
    /// disabled).
    pub live: bool,
    /// The vendor's own word for its status (`closed`, `active`, `inactive`).
    pub status: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The account block as far as the vendor shows it, in roster.yaml's terms
    /// (for `roster dump`); never a secret.
    pub block: Map<String, Value>,
}

/// Where, in its JSON, a vendor that keys accounts on their email lists one.
pub struct Fields {
    pub email: &'static str,
    pub id: &'static str,
    pub status: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    /// Text fields copied into the account block: (the vendor's name, roster.yaml's).
    pub block: &'static [(&'static str, &'static str)],
}

impl Observed {
    /// One account of a vendor keyed on email, read by the vendor's `fields`;
    /// `None` without an email or an id. Live unless its status word says not.
    pub fn by_email(u: &Value, fields: &Fields) -> Option<Observed> {
        let email = crate::desired::identity(u.get(fields.email)?.as_str()?);
        let status = text(u.get(fields.status));
        let block = fields
            .block
            .iter()
            .filter_map(|(theirs, ours)| {
                Some((ours.to_string(), Value::String(text(u.get(*theirs))?)))
            })
            .collect();
        Some(Observed {
            key: email.clone(),
            email: Some(email),
            remote_id: text(u.get(fields.id))?,
            live: !status.as_deref().is_some_and(inactive_word),
            status,
            first_name: text(u.get(fields.first_name)),
            last_name: text(u.get(fields.last_name)),
            block,
        })
    }
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cursor {
    /// The first page.
    Start,
    /// A page number (the vendor's own numbering: from 0 or 1).
    Page(u64),
    /// The position of the page's first item (the vendor's own: from 0 or 1).
    Offset(u64),
}

/// One page of a vendor's list.
#[derive(Debug)]
pub struct Page {
    /// How many entries the vendor's page held (an entry roster cannot read,
    /// with no email or no id, still counts towards the page's length).
    pub listed: usize,
    pub items: Vec<Observed>,
    pub next: Next,
    /// How many accounts the vendor says its whole list holds, where it says
    /// (SCIM `totalResults`, DocuSign `totalSetSize`).
    pub total: Option<u64>,
}

/// What follows a page, by the vendor's own rule.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// This was the last page (no `nextUri`, `totalResults` reached).
    Last,
    /// More follow, starting here; an empty page that says so is an error.
    At(Cursor),
    /// The vendor gives no total: a page shorter than its pages so far (or
    /// empty) is the last, otherwise the next starts here. Judged against the
    /// largest page seen, not the size asked for, so a server that caps pages
    /// below the request is still read to the end.
    UnlessShort(Cursor),
}

/// What to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query<'a> {
    /// Every account.
    All,
    /// The accounts whose identity key (normalised) is this one. A driver whose
    /// vendor cannot filter lists everything; the caller matches.
    Key(&'a str),
}

/// The most pages one listing may take: 10 million accounts at 100 a page.
const MAX_PAGES: usize = 100_000;

/// Reads every page of `query` to the end. Either every page is read, or this
/// fails: a partial list would make accounts look deleted.
pub async fn all(driver: &dyn Driver, query: Query<'_>) -> Result<Listing, CallError> {
    let mut items = Vec::new();
    let mut at = Cursor::Start;
    let mut seen = BTreeSet::new();
    let mut largest = 0;
    let mut requests = 0;
    // Whether the page before said more follow: then an empty page is a
    // vendor that broke off, never the end, whatever it says of itself.
    let mut promised = false;
    // The size the vendor first said its list has: a list that shrinks while
    // it is read moves every later account up, and one of them falls between
    // two pages unseen, to be taken for deleted.
    let mut first_total: Option<u64> = None;
    loop {
        requests += 1;
        let mut page = driver.page(query, &at).await?;
        // The vendor's status word is its own text, recorded and shown: it
        // passes the redaction gate like every other.
        for o in &mut page.items {
            if let Some(status) = &mut o.status {
                *status = driver.redactor().redact(status);
            }
            // An id is printed and stored: one that holds a secret is refused.
            if driver.redactor().reveals(&o.remote_id) {
                return Err(CallError::Unknown(format!(
                    "the vendor lists an account ({}) whose id holds a credential of this vendor; refused: an id is shown and recorded",
                    driver.redactor().redact(&o.key)
                )));
            }
        }
        let size = page.listed.max(page.items.len());
        if let (Some(was), Some(now)) = (first_total, page.total) {
            if now < was {
                return Err(CallError::Unknown(format!(
                    "the vendor's list shrank from {was} to {now} accounts while it was read, so one may have been skipped; stopped paging (read again)"
                )));
            }
        }
        first_total = first_total.or(page.total);
        // A page of entries roster cannot read (no id) repeats nothing.
        if !page.items.is_empty() && page.items.iter().all(|o| seen.contains(&o.remote_id)) {
            return Err(CallError::Unknown(format!(
                "the vendor answered the page at {at:?} with accounts it had already listed; stopped paging"
            )));
        }
        seen.extend(page.items.iter().map(|o| o.remote_id.clone()));
        items.extend(page.items);
        let promises = matches!(page.next, Next::At(_));
        let next = match page.next {
            Next::Last | Next::UnlessShort(_) if promised && size == 0 => {
                return Err(CallError::Unknown(format!(
                    "the vendor said more pages follow, then answered the page at {at:?} with none; stopped paging"
                )))
            }
            Next::Last => break,
            Next::UnlessShort(_) if size == 0 || size < largest => break,
            Next::At(_) if size == 0 => {
                return Err(CallError::Unknown(format!(
                "the vendor's page at {at:?} is empty but says more pages follow; stopped paging"
            )))
            }
            Next::At(next) | Next::UnlessShort(next) => next,
        };
        largest = largest.max(size);
        promised = promises;
        if next <= at && at != Cursor::Start {
            return Err(CallError::Unknown(format!(
                "the vendor's next page {next:?} does not follow {at:?}; stopped paging"
            )));
        }
        if requests >= MAX_PAGES {
            return Err(CallError::Unknown(format!(
                "the vendor's list goes on past {MAX_PAGES} pages; stopped paging"
            )));
        }
        at = next;
    }
    Ok(Listing::new(items, requests))
}

/// A vendor's accounts, indexed by identity key and by email.
#[derive(Debug, Default)]
pub struct Listing {
    pub items: Vec<Observed>,
    /// How many requests the listing took.
    pub requests: usize,
    by_key: BTreeMap<String, Vec<usize>>,
    by_email: BTreeMap<String, Vec<usize>>,
}

impl Listing {
    pub fn new(items: Vec<Observed>, requests: usize) -> Listing {
        let mut by_key: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_email: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, o) in items.iter().enumerate() {
            by_key.entry(o.key.clone()).or_default().push(i);
            if let Some(e) = &o.email {
                by_email.entry(e.clone()).or_default().push(i);
            }
        }
        Listing {
            items,
            requests,
            by_key,
            by_email,
        }
    }

    /// What the vendor holds for identity `key` (or, failing that, for the
    /// email `email`): a live account before an inactive one, since one email
    /// may hold several memberships (DocuSign keeps closed ones).
    pub fn find(&self, key: &str, email: &str) -> Found<'_> {
        self.find_recorded(key, email, None)
    }

    /// As `find`, and among live (or among inactive) accounts the one with the
    /// id `recorded`: a second account under the same name never takes the
    /// place of the one roster keeps track of.
    pub fn find_recorded(&self, key: &str, email: &str, recorded: Option<&str>) -> Found<'_> {
        let hits = self
            .by_key
            .get(key)
            .or_else(|| self.by_email.get(email))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut hits: Vec<&Observed> = hits.iter().map(|&i| &self.items[i]).collect();
        hits.sort_by_key(|o| (!o.live, Some(o.remote_id.as_str()) != recorded));
        match hits.first() {
            None => Found::None,
            Some(o) if o.live => Found::Live(o),
            Some(o) => Found::Inactive(o),
        }
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

/// Looks one user up: the pages of a filtered list (all of them, not only the
/// first), matched on the user's identity key.
pub async fn lookup(driver: &dyn Driver, user: &NewUser<'_>) -> Result<Listing, CallError> {
    let key = driver.key_of(user);
    let listing = all(driver, Query::Key(&key)).await?;
    // A vendor that cannot filter answered with everything: keep only matches,
    // so the caller sees the same thing either way.
    let requests = listing.requests;
    let email = identity(user.email);
    let items = listing
        .items
        .into_iter()
        .filter(|o| o.key == key || o.email.as_deref() == Some(email.as_str()))
        .collect();
    Ok(Listing::new(items, requests))
}

/// The text of a JSON field that may be a string or a number (ids).
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A count a vendor may send as a number or a numeric string (DocuSign does).
pub fn count(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether a vendor's status word means the account is not live.
pub fn inactive_word(status: &str) -> bool {
    matches!(
        status.trim().to_ascii_lowercase().as_str(),
        "closed" | "inactive" | "disabled" | "deactivated" | "suspended" | "deleted" | "archived"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::Outcome;
    use async_trait::async_trait;

    type Style = fn(u64, u64, u64) -> Next;

    /// A vendor of `total` accounts whose pages hold at most `cap`, ending them
    /// by `style`, optionally misbehaving.
    struct Fake {
        total: u64,
        cap: u64,
        style: Style,
        repeat: bool,
        asked: std::sync::Mutex<Vec<Cursor>>,
        redactor: crate::secret::Redactor,
    }

    fn fake(total: u64, cap: u64, style: Style) -> Fake {
        Fake {
            total,
            cap,
            style,
            repeat: false,
            asked: Default::default(),
            redactor: Default::default(),
        }
    }

    #[async_trait]
    impl Driver for Fake {
        async fn create(&self, _: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
            Err(CallError::NotSent("not here".into()))
        }

        fn lists(&self) -> bool {
            true
        }

        fn redactor(&self) -> &crate::secret::Redactor {
            &self.redactor
        }

        async fn page(&self, _: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
            self.asked.lock().unwrap().push(at.clone());
            let start = match at {
                Cursor::Offset(n) if !self.repeat => *n,
                _ => 0,
            };
            let end = (start + self.cap).min(self.total);
            let items: Vec<Observed> = (start..end)
                .map(|i| observed(&format!("u{i}@x.io"), &format!("id{i}"), true))
                .collect();
            Ok(Page {
                total: None,
                listed: items.len(),
                next: (self.style)(start, end, self.total),
                items,
            })
        }
    }

    /// SCIM/DocuSign: a total is given.
    fn with_total(_: u64, end: u64, total: u64) -> Next {
        if end >= total {
            Next::Last
        } else {
            Next::At(Cursor::Offset(end))
        }
    }

    /// ActivePlatform/Forms On Fire: no total, a short page is the last.
    fn no_total(_: u64, end: u64, _: u64) -> Next {
        Next::UnlessShort(Cursor::Offset(end))
    }

    fn run(f: &Fake) -> Result<Listing, CallError> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(all(f, Query::All))
    }

    #[test]
    fn pages_to_the_end_by_the_vendors_own_rule() {
        // (total, server cap, style, pages expected)
        let cases: [(u64, u64, Style, usize); 7] = [
            (20, 7, with_total, 3),
            (21, 7, with_total, 3),
            (0, 7, with_total, 1),
            (20, 7, no_total, 3),
            // A full last page: one more, empty, page tells the end.
            (21, 7, no_total, 4),
            (0, 7, no_total, 1),
            // A server that caps pages below what was asked is still read whole.
            (250, 3, no_total, 84),
        ];
        for (total, cap, style, pages) in cases {
            let f = fake(total, cap, style);
            let listing = run(&f).unwrap();
            assert_eq!(listing.items.len() as u64, total, "{total}/{cap}");
            assert_eq!(listing.requests, pages, "{total}/{cap}");
            assert_eq!(f.asked.lock().unwrap().len(), pages);
        }
    }

    #[test]
    fn a_vendor_that_loops_or_lies_is_an_error_not_a_partial_list() {
        let mut f = fake(20, 7, with_total);
        f.repeat = true;
        let e = run(&f).unwrap_err().to_string();
        assert!(e.contains("already listed"), "{e}");

        // Says more follow, gives nothing: never concluded as the end.
        let f = fake(5, 7, |_, _, _| Next::At(Cursor::Offset(99)));
        let e = run(&f).unwrap_err().to_string();
        assert!(e.contains("empty but says more pages follow"), "{e}");
    }

    fn observed(key: &str, id: &str, live: bool) -> Observed {
        Observed {
            key: key.into(),
            email: Some(key.into()),
            remote_id: id.into(),
            live,
            status: None,
            first_name: None,
            last_name: None,
            block: Map::new(),
        }
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
        assert!(matches!(l.find("a@x.io", "a@x.io"), Found::Live(o) if o.remote_id == "new"));
        assert!(matches!(l.find("b@x.io", "b@x.io"), Found::Inactive(o) if o.remote_id == "b"));
        assert_eq!(l.find("c@x.io", "c@x.io"), Found::None);
    }

    #[test]
    fn status_words() {
        for w in ["closed", "Inactive", " DISABLED "] {
            assert!(inactive_word(w), "{w}");
        }
        for w in ["active", "ActivationSent", "Invited", ""] {
            assert!(!inactive_word(w), "{w}");
        }
    }
}
