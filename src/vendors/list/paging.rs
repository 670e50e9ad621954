//! The one paging loop every listing driver feeds.

use super::listing::Seen;
use super::observed::clipped;
use super::{Cursor, Listing, Next, Observed, Query, BYTES_PER_ACCOUNT, MIN_LISTING_BYTES};
use crate::vendors::{CallError, Driver, NewUser};

/// Reads every page of `query` to the end. Either every page is read, or this
/// fails: a partial list would make accounts look deleted. A list that
/// contradicts itself (one id for two accounts, one unique name under two ids)
/// is an error naming the page, never read as a shorter or a longer list.
/// A vendor with no list to read (see `Driver::lister`) fails, unsent.
pub async fn all(driver: &dyn Driver, query: Query<'_>) -> Result<Listing, CallError> {
    let Some(lister) = driver.lister() else {
        return Err(CallError::NotSent(
            "this vendor has no API to list its users".into(),
        ));
    };
    let caps = lister.caps();
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
        let mut page = lister.page(query, &at).await?;
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
