//! What a vendor holds, read by listing: the one paging loop every driver feeds.
//!
//! A driver says how to ask for one page (`Lister::page`) and, in the page it
//! returns, where the next one starts or that there is none; the loop here walks
//! the pages to the end. Each page is one request through the driver's `Http`,
//! so listing runs under the vendor's rate limit and retry policy like creations.
//! The loop never assumes a page size: it stops on the vendor's own end
//! condition, and refuses a vendor that hands the same page back again (which
//! would otherwise page forever).

mod listing;
mod observed;
mod paging;

pub use listing::{Found, Listing};
pub use observed::{
    count, inactive_word, text, Fields, Observed, BYTES_PER_ACCOUNT, MAX_ACCOUNT, MAX_BLOCK_VALUE,
    MAX_ID, MAX_NAME, MAX_STATUS, MIN_LISTING_BYTES,
};
pub use paging::{all, lookup};

use super::CallError;
use async_trait::async_trait;

/// What a vendor that can list its accounts offers: its pages (see [`all`],
/// the loop that walks them). A driver whose vendor lists gives one through
/// `Driver::lister`; no other driver has a page to ask for.
#[async_trait]
pub trait Lister: Send + Sync {
    /// One page of the vendor's accounts, from `at`.
    async fn page(&self, query: Query<'_>, at: &Cursor) -> Result<Page, CallError>;

    /// How far one listing may go (the vendor's `max_accounts`, `max_pages`),
    /// and the accounts per page it asks for.
    fn caps(&self) -> Caps {
        Caps::default()
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

impl Cursor {
    /// The page number this cursor names, or `first` (the vendor's first).
    pub fn page_or(&self, first: u64) -> u64 {
        match self {
            Cursor::Page(n) => *n,
            _ => first,
        }
    }

    /// The offset this cursor names, or `first` (the vendor's first).
    pub fn offset_or(&self, first: u64) -> u64 {
        match self {
            Cursor::Offset(n) => *n,
            _ => first,
        }
    }
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
    /// Accounts per page the driver asks for, to judge whether a few lookups
    /// cost less than one listing.
    pub page_size: usize,
}

impl Caps {
    pub const DEFAULT_ACCOUNTS: usize = 250_000;
    pub const DEFAULT_PAGES: usize = 25_000;

    /// The caps a vendor's settings give, or the defaults, for pages of
    /// `page_size` accounts.
    pub fn of(config: &crate::vendors::Common, page_size: usize) -> Caps {
        Caps {
            accounts: config.max_accounts.unwrap_or(Self::DEFAULT_ACCOUNTS).max(1),
            pages: config.max_pages.unwrap_or(Self::DEFAULT_PAGES).max(1),
            page_size,
        }
    }
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            accounts: Self::DEFAULT_ACCOUNTS,
            pages: Self::DEFAULT_PAGES,
            page_size: 100,
        }
    }
}

#[cfg(test)]
mod tests;
