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
use serde_json::{Map, Value};

/// One account as the vendor holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Its identity at this vendor, normalised (see `model::identity`): the
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

/// The most bytes one listed account may hold in each field, and in all. A
/// value past its bound is an error, never cut short: a shortened id is
/// another account's id, a shortened name another person's name.
pub const MAX_ID: usize = 256;
/// A name, an email, a first or last name (an email is at most 254 bytes).
pub const MAX_NAME: usize = 320;
pub const MAX_STATUS: usize = 64;
/// One value (or name) of the account block.
pub const MAX_BLOCK_VALUE: usize = 1024;
/// The whole account (see `Observed::weight`).
pub const MAX_ACCOUNT: usize = 4096;
/// What one listing may keep in all, per account of `max_accounts`...
pub const BYTES_PER_ACCOUNT: usize = 512;
/// ... and at least this much, whatever `max_accounts` says.
pub const MIN_LISTING_BYTES: usize = 16 << 20;
/// What one entry of the account block costs beyond its text: an entry of one
/// letter is still an entry of a map.
const ENTRY_COST: usize = 32;

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
        let email = crate::model::identity(u.get(fields.email)?.as_str()?);
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

impl Observed {
    /// The bytes this account keeps: its text, and `ENTRY_COST` for each
    /// entry of its block.
    pub fn weight(&self) -> usize {
        let texts = [
            Some(&self.key),
            self.email.as_ref(),
            Some(&self.remote_id),
            self.status.as_ref(),
            self.first_name.as_ref(),
            self.last_name.as_ref(),
        ];
        texts.iter().flatten().map(|t| t.len()).sum::<usize>() + map_weight(&self.block)
    }

    /// The first field that holds more than its bound allows, as ("its name",
    /// its length, the bound); then the whole account against `MAX_ACCOUNT`.
    /// `show` makes a vendor's name of a block entry fit for a message.
    pub fn oversized(&self, show: &dyn Fn(&str) -> String) -> Option<(String, usize, usize)> {
        let fields = [
            ("id", Some(&self.remote_id), MAX_ID),
            ("name", Some(&self.key), MAX_NAME),
            ("email", self.email.as_ref(), MAX_NAME),
            ("first name", self.first_name.as_ref(), MAX_NAME),
            ("last name", self.last_name.as_ref(), MAX_NAME),
            ("status", self.status.as_ref(), MAX_STATUS),
        ];
        for (name, text, most) in fields {
            if let Some(text) = text.filter(|t| t.len() > most) {
                return Some((name.to_string(), text.len(), most));
            }
        }
        if let Some(found) = oversized_in(&self.block, "", show) {
            return Some(found);
        }
        let weight = self.weight();
        (weight > MAX_ACCOUNT).then(|| ("whole account".to_string(), weight, MAX_ACCOUNT))
    }
}

/// The bytes a block (or a map within it) keeps.
fn map_weight(map: &Map<String, Value>) -> usize {
    map.iter()
        .map(|(k, v)| ENTRY_COST + k.len() + value_weight(v))
        .sum()
}

fn value_weight(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Object(m) => map_weight(m),
        Value::Array(a) => a.iter().map(|v| ENTRY_COST + value_weight(v)).sum(),
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}

/// The first name or value in a block past `MAX_BLOCK_VALUE`, named by its
/// path (`custom_attributes.title`, its names clipped).
fn oversized_in(
    map: &Map<String, Value>,
    at: &str,
    show: &dyn Fn(&str) -> String,
) -> Option<(String, usize, usize)> {
    for (k, v) in map {
        let path = format!("{at}{}", show(k));
        if k.len() > MAX_BLOCK_VALUE {
            return Some((format!("block name `{path}`"), k.len(), MAX_BLOCK_VALUE));
        }
        let found = match v {
            Value::Object(m) => oversized_in(m, &format!("{path}."), show),
            _ => {
                let weight = value_weight(v);
                (weight > MAX_BLOCK_VALUE)
                    .then(|| (format!("block value `{path}`"), weight, MAX_BLOCK_VALUE))
            }
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// `text` escaped for a message, cut after `most` characters (with `…`):
/// redact it first, or a cut could leave half a secret unrecognised.
fn clipped(text: &str, most: usize) -> String {
    let mut out = crate::model::escaped(&text.chars().take(most).collect::<String>());
    if text.chars().nth(most).is_some() {
        out.push('…');
    }
    out
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

/// How far one listing of a vendor may go: the vendor's `max_accounts` and
/// `max_pages`, checked while paging, so a list that never ends (or a total
/// that keeps growing) is an error, not a run that eats the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub accounts: usize,
    pub pages: usize,
}

impl Caps {
    pub const DEFAULT_ACCOUNTS: usize = 250_000;
    pub const DEFAULT_PAGES: usize = 25_000;

    /// The caps a vendor's settings give, or the defaults.
    pub fn of(config: &crate::vendors::VendorConfig) -> Caps {
        Caps {
            accounts: config.max_accounts.unwrap_or(Self::DEFAULT_ACCOUNTS).max(1),
            pages: config.max_pages.unwrap_or(Self::DEFAULT_PAGES).max(1),
        }
    }
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            accounts: Self::DEFAULT_ACCOUNTS,
            pages: Self::DEFAULT_PAGES,
        }
    }
}

/// Reads every page of `query` to the end. Either every page is read, or this
/// fails: a partial list would make accounts look deleted. A list that
/// contradicts itself (one id for two accounts, one unique name under two ids)
/// is an error naming the page, never read as a shorter or a longer list.
pub async fn all(driver: &dyn Driver, query: Query<'_>) -> Result<Listing, CallError> {
    let caps = driver.caps();
    let unique = driver.unique_keys();
    let mut items: Vec<Observed> = Vec::new();
    let mut at = Cursor::Start;
    // Every id listed so far, and (where the vendor's names are unique) every
    // name, each with the index of its account in `items`.
    let mut ids = Seen::default();
    let mut names = Seen::default();
    let mut largest = 0;
    let mut requests = 0;
    // Whether the page before said more follow: then an empty page is a
    // vendor that broke off, never the end, whatever it says of itself.
    let mut promised = false;
    // The size the vendor first said its list has: a list that shrinks while
    // it is read moves every later account up, and one of them falls between
    // two pages unseen, to be taken for deleted.
    let mut first_total: Option<u64> = None;
    // The bytes the accounts kept so far hold: bounded, so that accounts each
    // within their bounds cannot add up past what the machine has.
    let budget = caps
        .accounts
        .saturating_mul(BYTES_PER_ACCOUNT)
        .max(MIN_LISTING_BYTES);
    let mut kept = 0usize;
    loop {
        requests += 1;
        let mut page = driver.page(query, &at).await?;
        let which = match &at {
            Cursor::Start => format!("page {requests} (the first)"),
            Cursor::Page(n) => format!("page {requests} (page number {n})"),
            Cursor::Offset(n) => format!("page {requests} (from position {n})"),
        };
        // Every field within its bound, before anything is done with it.
        let show = |text: &str| clipped(&driver.redactor().redact(text), 40);
        for o in &page.items {
            if let Some((field, len, most)) = o.oversized(&show) {
                return Err(CallError::Unknown(format!(
                    "the vendor lists at {which} an account (\"{}\") whose {field} is {len} bytes long, more than roster keeps ({most}); stopped paging (a value is never cut short: a shortened id or name would be another account's)",
                    show(&o.key)
                )));
            }
        }
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
        if let Some(total) = page.total {
            if total > caps.accounts as u64 {
                return Err(CallError::Unknown(format!(
                    "the vendor says at {which} that its list holds {total} accounts, more than `max_accounts` ({}); stopped paging (raise `max_accounts` if the vendor does hold that many)",
                    caps.accounts
                )));
            }
        }
        if let (Some(was), Some(now)) = (first_total, page.total) {
            if now < was {
                return Err(CallError::Unknown(format!(
                    "the vendor's list shrank from {was} to {now} accounts while it was read, so one may have been skipped; stopped paging (read again)"
                )));
            }
        }
        first_total = first_total.or(page.total);
        // A page of entries roster cannot read (no id) repeats nothing.
        if !page.items.is_empty()
            && page
                .items
                .iter()
                .all(|o| ids.get(&o.remote_id, &items, |o| &o.remote_id).is_some())
        {
            return Err(CallError::Unknown(format!(
                "the vendor answered {which} with accounts it had already listed; stopped paging"
            )));
        }
        for o in page.items {
            if let Some(i) = ids.get(&o.remote_id, &items, |o| &o.remote_id) {
                if items[i].key != o.key {
                    return Err(CallError::Unknown(format!(
                        "the vendor's list contradicts itself: {which} gives an id it gave before to \"{}\" to \"{}\"; stopped paging",
                        crate::model::escaped(&items[i].key),
                        crate::model::escaped(&o.key)
                    )));
                }
                // The same account listed twice (the list moved while it was
                // read): kept once, so it is never adopted twice.
                continue;
            }
            if unique {
                if let Some(i) = names.get(&o.key, &items, |o| &o.key) {
                    return Err(CallError::Unknown(format!(
                        "the vendor's list contradicts itself: {which} lists \"{}\", a unique name, under a second id (it was listed before under another); stopped paging",
                        crate::model::escaped(&items[i].key)
                    )));
                }
                names.insert(&o.key, items.len());
            }
            ids.insert(&o.remote_id, items.len());
            kept += o.weight();
            items.push(o);
        }
        if kept > budget {
            return Err(CallError::Unknown(format!(
                "the vendor's list holds more than {} bytes of account text at {which}, more than one listing keeps (512 bytes for each of `max_accounts` ({}), at least {} MiB); stopped paging (raise `max_accounts` if the vendor does hold that much)",
                crate::model::group(budget),
                caps.accounts,
                MIN_LISTING_BYTES >> 20
            )));
        }
        if items.len() > caps.accounts {
            return Err(CallError::Unknown(format!(
                "the vendor's list goes on past `max_accounts` ({}) accounts at {which}; stopped paging (raise `max_accounts` if the vendor does hold that many)",
                caps.accounts
            )));
        }
        let promises = matches!(page.next, Next::At(_));
        let next = match page.next {
            Next::Last | Next::UnlessShort(_) if promised && size == 0 => {
                return Err(CallError::Unknown(format!(
                    "the vendor said more pages follow, then answered {which} with none; stopped paging"
                )))
            }
            Next::Last => break,
            Next::UnlessShort(_) if size == 0 || size < largest => break,
            Next::At(_) if size == 0 => {
                return Err(CallError::Unknown(format!(
                    "the vendor's {which} is empty but says more pages follow; stopped paging"
                )))
            }
            Next::At(next) | Next::UnlessShort(next) => next,
        };
        largest = largest.max(size);
        promised = promises;
        if next <= at && at != Cursor::Start {
            return Err(CallError::Unknown(format!(
                "the vendor's next page {next:?} does not follow {which}; stopped paging"
            )));
        }
        if requests >= caps.pages {
            return Err(CallError::Unknown(format!(
                "the vendor's list goes on past `max_pages` ({}) pages; stopped paging (raise `max_pages` if the vendor does hold that many)",
                caps.pages
            )));
        }
        at = next;
    }
    Ok(Listing::new(items, requests))
}

/// The ids (or names) a listing has seen, by a keyed hash only: a listing may
/// hold a million accounts, and a second copy of every id would double what
/// it keeps. A hit is checked against the account itself; two different ids
/// with the same hash (keys are random per run, so a vendor cannot aim for
/// one) only make the later one unchecked, never taken for the earlier.
#[derive(Default)]
struct Seen {
    hasher: std::collections::hash_map::RandomState,
    at: std::collections::HashMap<u64, usize>,
}

impl Seen {
    fn hash(&self, text: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(text)
    }

    /// The index in `items` of the account whose `field` is `text`.
    fn get(
        &self,
        text: &str,
        items: &[Observed],
        field: impl Fn(&Observed) -> &String,
    ) -> Option<usize> {
        let &i = self.at.get(&self.hash(text))?;
        (field(&items[i]) == text).then_some(i)
    }

    fn insert(&mut self, text: &str, index: usize) {
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

/// Looks one user up: the pages of a filtered list (all of them, not only the
/// first), matched on the user's identity key.
pub async fn lookup(driver: &dyn Driver, user: &NewUser<'_>) -> Result<Listing, CallError> {
    let key = driver.key_of(user);
    let listing = all(driver, Query::Key(&key)).await?;
    // A vendor that cannot filter answered with everything: keep only matches,
    // so the caller sees the same thing either way.
    let requests = listing.requests;
    let items = listing
        .items
        .into_iter()
        .filter(|o| o.key == key || crate::model::lookalike(&o.key, &key))
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

    /// Lists everything `f` holds, as refresh does.
    fn run(f: &dyn Driver) -> Result<Listing, CallError> {
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

    /// One scripted page: its accounts as (name, id), what follows, the total
    /// it says.
    type Scene = (Vec<(&'static str, &'static str)>, Next, Option<u64>);

    /// A vendor that answers the n-th request with the n-th page of `pages`.
    struct Scripted {
        pages: Vec<Scene>,
        caps: Caps,
        unique: bool,
        asked: std::sync::atomic::AtomicUsize,
        redactor: crate::secret::Redactor,
    }

    fn scripted(pages: Vec<Scene>) -> Scripted {
        Scripted {
            pages,
            caps: Caps::default(),
            unique: false,
            asked: Default::default(),
            redactor: Default::default(),
        }
    }

    #[async_trait]
    impl Driver for Scripted {
        async fn create(&self, _: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
            Err(CallError::NotSent("not here".into()))
        }

        fn redactor(&self) -> &crate::secret::Redactor {
            &self.redactor
        }

        fn caps(&self) -> Caps {
            self.caps
        }

        fn unique_keys(&self) -> bool {
            self.unique
        }

        async fn page(&self, _: Query<'_>, _: &Cursor) -> Result<Page, CallError> {
            let n = self
                .asked
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (items, next, total) = &self.pages[n];
            let items: Vec<Observed> = items.iter().map(|(k, id)| observed(k, id, true)).collect();
            let next = match next {
                Next::Last => Next::Last,
                Next::At(c) => Next::At(c.clone()),
                Next::UnlessShort(c) => Next::UnlessShort(c.clone()),
            };
            Ok(Page {
                listed: items.len(),
                items,
                next,
                total: *total,
            })
        }
    }

    #[test]
    fn a_list_that_contradicts_itself_is_an_error_naming_the_page() {
        let at = |n| Next::At(Cursor::Offset(n));
        // One id for two different accounts, on two pages.
        let f = scripted(vec![
            (vec![("a@x.io", "1"), ("b@x.io", "2")], at(3), Some(4)),
            (vec![("c@x.io", "3"), ("d@x.io", "1")], Next::Last, Some(4)),
        ]);
        let e = run(&f).unwrap_err().to_string();
        assert!(
            e.contains("contradicts itself") && e.contains("page 2"),
            "{e}"
        );
        assert!(e.contains("a@x.io") && e.contains("d@x.io"), "{e}");

        // One unique name under two ids.
        let mut f = scripted(vec![
            (vec![("a@x.io", "1"), ("b@x.io", "2")], at(3), Some(4)),
            (vec![("c@x.io", "3"), ("a@x.io", "4")], Next::Last, Some(4)),
        ]);
        f.unique = true;
        let e = run(&f).unwrap_err().to_string();
        assert!(e.contains("unique name") && e.contains("page 2"), "{e}");
        // Where names are not unique (closed memberships), both are kept.
        f.unique = false;
        f.asked = Default::default();
        assert_eq!(run(&f).unwrap().items.len(), 4);

        // The same account on two pages (the list moved): listed once, never
        // adopted twice.
        let f = scripted(vec![
            (vec![("a@x.io", "1"), ("b@x.io", "2")], at(3), Some(3)),
            (vec![("b@x.io", "2"), ("c@x.io", "3")], Next::Last, Some(3)),
        ]);
        let l = run(&f).unwrap();
        let ids: Vec<&str> = l.items.iter().map(|o| o.remote_id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
    }

    #[test]
    fn an_empty_page_after_a_promise_is_never_the_end_whatever_it_says() {
        let at = |n| Next::At(Cursor::Offset(n));
        // Page 1 says more follow (a cursor, a total not reached); page 2 is
        // empty and says, in turn, each thing a vendor's rule can say: the
        // end, short-so-the-end, more at a cursor. Taken as the end, the list
        // would be partial and every account past page 1 marked gone.
        for (end, total) in [
            (Next::Last, Some(4)),
            (Next::Last, None),
            (Next::UnlessShort(Cursor::Offset(5)), None),
            (Next::UnlessShort(Cursor::Offset(5)), Some(4)),
            (at(5), Some(4)),
        ] {
            let what = format!("{end:?} {total:?}");
            let f = scripted(vec![
                (vec![("a@x.io", "1"), ("b@x.io", "2")], at(3), total),
                (vec![], end, total),
            ]);
            let e = run(&f).map(|l| l.items.len()).expect_err(&what).to_string();
            assert!(
                e.contains("page 2") && e.contains("stopped paging"),
                "{what}: {e}"
            );
        }
        // Without a promise, an empty page after a full one is the end of a
        // list that gives no total (its length was a multiple of the page).
        let f = scripted(vec![
            (
                vec![("a@x.io", "1"), ("b@x.io", "2")],
                Next::UnlessShort(Cursor::Offset(3)),
                None,
            ),
            (vec![], Next::UnlessShort(Cursor::Offset(5)), None),
        ]);
        assert_eq!(run(&f).unwrap().items.len(), 2);
    }

    #[test]
    fn listing_stops_at_max_accounts_and_max_pages_naming_the_setting() {
        let at = |n| Next::At(Cursor::Offset(n));
        // A total that keeps growing is read only up to the caps.
        let growing = |n: usize| -> Vec<Scene> {
            const NAMES: [(&str, &str); 8] = [
                ("a@x.io", "1"),
                ("b@x.io", "2"),
                ("c@x.io", "3"),
                ("d@x.io", "4"),
                ("e@x.io", "5"),
                ("f@x.io", "6"),
                ("g@x.io", "7"),
                ("h@x.io", "8"),
            ];
            (0..n)
                .map(|i| (vec![NAMES[i]], at(i as u64 + 2), Some(i as u64 + 2)))
                .collect()
        };
        let mut f = scripted(growing(8));
        f.caps.pages = 3;
        let e = run(&f).unwrap_err().to_string();
        assert!(e.contains("`max_pages` (3)"), "{e}");
        assert_eq!(f.asked.load(std::sync::atomic::Ordering::Relaxed), 3);

        let mut f = scripted(growing(8));
        f.caps.accounts = 4;
        let e = run(&f).unwrap_err().to_string();
        assert!(e.contains("`max_accounts` (4)"), "{e}");
        assert!(f.asked.load(std::sync::atomic::Ordering::Relaxed) <= 4);

        // A total above the cap is an error at once.
        let mut f = scripted(vec![(vec![("a@x.io", "1")], at(2), Some(5_000_000))]);
        f.caps.accounts = 1000;
        let e = run(&f).unwrap_err().to_string();
        assert!(
            e.contains("5000000") && e.contains("`max_accounts` (1000)"),
            "{e}"
        );
        assert_eq!(f.asked.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn each_field_of_an_account_is_bounded_never_cut_short() {
        let show = |t: &str| clipped(t, 40);
        let ok = observed("a@x.io", "1", true);
        assert_eq!(ok.oversized(&show), None);
        let long = |n: usize| "x".repeat(n);
        let with_block = |entries: Vec<(&str, Value)>| {
            let mut o = observed("a@x.io", "1", true);
            o.block = entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            o
        };
        // (the account, the field named, its length, the bound)
        let cases: Vec<(Observed, &str, usize, usize)> = vec![
            (
                Observed {
                    remote_id: long(257),
                    ..ok.clone()
                },
                "id",
                257,
                256,
            ),
            (
                Observed {
                    key: long(321),
                    ..ok.clone()
                },
                "name",
                321,
                320,
            ),
            (
                Observed {
                    email: Some(long(400)),
                    ..ok.clone()
                },
                "email",
                400,
                320,
            ),
            (
                Observed {
                    last_name: Some(long(321)),
                    ..ok.clone()
                },
                "last name",
                321,
                320,
            ),
            (
                Observed {
                    status: Some(long(65)),
                    ..ok.clone()
                },
                "status",
                65,
                64,
            ),
            (
                with_block(vec![("company", Value::String(long(1025)))]),
                "block value `company`",
                1025,
                1024,
            ),
            (
                with_block(vec![(
                    "custom_attributes",
                    serde_json::json!({ "title": "ok", "bio": long(2000) }),
                )]),
                "block value `custom_attributes.bio`",
                2000,
                1024,
            ),
            // Many entries, each within its bound, past the account's.
            (
                with_block(
                    (0..200)
                        .map(|i| (&*format!("k{i}").leak(), Value::String("v".into())))
                        .collect(),
                ),
                "whole account",
                13 + 200 * 33 + (0..200).map(|i| format!("k{i}").len()).sum::<usize>(),
                4096,
            ),
        ];
        for (o, field, len, most) in cases {
            assert_eq!(
                o.oversized(&show),
                Some((field.to_string(), len, most)),
                "{field}"
            );
        }
        // At the bound exactly: kept whole.
        let at = Observed {
            remote_id: long(256),
            key: long(320),
            status: Some(long(64)),
            ..ok.clone()
        };
        assert_eq!(at.oversized(&show), None);
        // A block name is named clipped, whatever its length.
        let named = with_block(vec![(&*long(2000).leak(), Value::String("v".into()))]);
        let (field, _, _) = named.oversized(&show).unwrap();
        assert_eq!(field, format!("block name `{}…`", long(40)));
    }

    #[test]
    fn an_account_past_a_bound_stops_the_listing_naming_the_page_and_the_field() {
        let at = |n| Next::At(Cursor::Offset(n));
        let id: &'static str = "7".repeat(300).leak();
        let f = scripted(vec![
            (vec![("a@x.io", "1"), ("b@x.io", "2")], at(3), Some(4)),
            (vec![("c@x.io", "3"), ("d@x.io", id)], Next::Last, Some(4)),
        ]);
        let e = run(&f).unwrap_err().to_string();
        assert!(
            e.contains("page 2")
                && e.contains("\"d@x.io\"")
                && e.contains("whose id is 300 bytes long")
                && e.contains("(256)")
                && e.contains("never cut short"),
            "{e}"
        );
        // The id itself is not printed whole.
        assert!(!e.contains(id), "{e}");
    }

    /// A vendor whose pages of 100 accounts never end, each account within
    /// every bound of its own and about 1.7 KiB in all.
    struct Fat {
        caps: Caps,
        redactor: crate::secret::Redactor,
    }

    #[async_trait]
    impl Driver for Fat {
        async fn create(&self, _: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
            Err(CallError::NotSent("not here".into()))
        }

        fn redactor(&self) -> &crate::secret::Redactor {
            &self.redactor
        }

        fn caps(&self) -> Caps {
            self.caps
        }

        async fn page(&self, _: Query<'_>, at: &Cursor) -> Result<Page, CallError> {
            let start = match at {
                Cursor::Offset(n) => *n,
                _ => 0,
            };
            let items: Vec<Observed> = (start..start + 100)
                .map(|i| {
                    let mut o = observed(&format!("u{i}@x.io"), &format!("id{i}"), true);
                    o.first_name = Some("f".repeat(300));
                    o.last_name = Some("l".repeat(300));
                    o.block
                        .insert("external_id".into(), Value::String("e".repeat(1000)));
                    o
                })
                .collect();
            Ok(Page {
                listed: items.len(),
                items,
                next: Next::At(Cursor::Offset(start + 100)),
                total: None,
            })
        }
    }

    #[test]
    fn a_listing_keeps_at_most_512_bytes_for_each_of_max_accounts() {
        let f = Fat {
            caps: Caps {
                accounts: 40_000,
                pages: 100_000,
            },
            redactor: Default::default(),
        };
        let e = run(&f).unwrap_err().to_string();
        // 40,000 x 512 bytes: about 12,300 accounts of 1.7 KiB, on page 123.
        assert!(
            e.contains("more than 20,480,000 bytes of account text at page 123")
                && e.contains("`max_accounts` (40000)"),
            "{e}"
        );
    }

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
