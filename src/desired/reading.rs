//! What the deserialisers of one read of roster.yaml need to know, below
//! every other part of the loader (see [`super::yaml`] for the reads).
//!
//! An account block's type depends on the kind of its vendor, which may be
//! defined further down or in another file. A block whose vendor is known as the
//! parser reaches it is typed on the spot; the others are kept as YAML values and
//! typed by `load` once every vendor is known. What the deserialisers need to
//! know for that (the kinds known so far; for [`super::yaml::locate`], the block
//! sought) is the [`Reading`] in progress.

use crate::vendors::Kind;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// What the deserialisers of one read need to know.
///
/// It is the one thread-local of the loader, set only for the span of one
/// `serde_yaml::from_str` by [`Reading::during`]: serde's derived impls take no
/// context, and passing one as a seed would mean writing the visitors of
/// `Document` and `UserEntry` by hand, repeating what the derive does (unknown,
/// missing and duplicate fields, their messages) and the schema beside it.
pub(super) enum Reading {
    /// [`parse`]: the vendor kinds known so far, joined by each `vendors:` read.
    Load(BTreeMap<String, Kind>),
    /// [`super::yaml::locate`]: the one block to type, and where the parser is.
    Locate(Target),
}

thread_local! {
    static READING: RefCell<Option<Reading>> = const { RefCell::new(None) };
}

impl Reading {
    /// Runs `read` with this reading in place; gives back its result and the
    /// reading as `read` left it. The reading is cleared even if `read` panics.
    pub(super) fn during<T>(self, read: impl FnOnce() -> T) -> (T, Option<Reading>) {
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                READING.with(|r| r.borrow_mut().take());
            }
        }
        READING.with(|r| *r.borrow_mut() = Some(self));
        let clear = Clear;
        let result = read();
        let left = READING.with(|r| r.borrow_mut().take());
        drop(clear);
        (result, left)
    }
}

/// The kind of vendor `name`, if [`parse`] knows it by now.
pub(super) fn known_kind(name: &str) -> Option<Kind> {
    READING.with(|r| match &*r.borrow() {
        Some(Reading::Load(known)) => known.get(name).copied(),
        _ => None,
    })
}

/// `vendors:` was read: its kinds type the account blocks that follow.
pub(super) fn note_vendors<'a>(vendors: impl Iterator<Item = (&'a str, Kind)>) {
    READING.with(|r| {
        if let Some(Reading::Load(known)) = &mut *r.borrow_mut() {
            known.extend(vendors.map(|(name, kind)| (name.to_string(), kind)));
        }
    });
}

/// Notes where the parser is, when [`super::yaml::locate`] is listening.
pub(super) fn enter(place: impl FnOnce() -> Place) {
    READING.with(|r| {
        if let Some(Reading::Locate(t)) = &mut *r.borrow_mut() {
            t.at = Some(place());
        }
    });
}

/// The kind to type the block of vendor `name` by, if it is the one
/// [`super::yaml::locate`] looks for and the parser is at its place.
pub(super) fn target_kind(name: &str) -> Option<Kind> {
    READING.with(|r| match &*r.borrow() {
        Some(Reading::Locate(t)) if t.at.as_ref() == Some(&t.place) && t.vendor == name => {
            t.kinds.get(name).copied()
        }
        _ => None,
    })
}

/// Where an account block is written: a user entry, or a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    User(usize),
    Role(String),
}

/// What [`locate`] looks for: the block of `vendor` at `place`.
pub(super) struct Target {
    pub kinds: BTreeMap<String, Kind>,
    pub place: Place,
    pub vendor: String,
    /// Where the parser is now.
    pub at: Option<Place>,
}

/// Ends any read in progress: the next one knows nothing.
pub(super) fn forget() {
    READING.with(|r| r.borrow_mut().take());
}
