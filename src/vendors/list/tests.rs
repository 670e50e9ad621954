use super::observed::clipped;
use super::*;
use crate::vendors::{Driver, Http, NewUser, Outcome};
use async_trait::async_trait;
use serde_json::{Map, Value};

/// A vendor that only lists, through `L` (one of the fakes below, whose
/// fields it lends); `unique` is what it says of its names' uniqueness.
struct Vendor<L> {
    lister: L,
    unique: bool,
    http: Http,
}

fn vendor<L>(lister: L) -> Vendor<L> {
    Vendor {
        lister,
        unique: false,
        http: crate::vendors::http::test_client(),
    }
}

impl<L> std::ops::Deref for Vendor<L> {
    type Target = L;

    fn deref(&self) -> &L {
        &self.lister
    }
}

impl<L> std::ops::DerefMut for Vendor<L> {
    fn deref_mut(&mut self) -> &mut L {
        &mut self.lister
    }
}

#[async_trait]
impl<L: Lister> Driver for Vendor<L> {
    async fn create(&self, _: &[NewUser<'_>]) -> Result<Vec<(String, Outcome)>, CallError> {
        Err(CallError::NotSent("not here".into()))
    }

    fn unique_keys(&self) -> bool {
        self.unique
    }

    fn http(&self) -> &Http {
        &self.http
    }

    fn lister(&self) -> Option<&dyn Lister> {
        Some(&self.lister)
    }
}

type Style = fn(u64, u64, u64) -> Next;

/// A vendor of `total` accounts whose pages hold at most `cap`, ending them
/// by `style`, optionally misbehaving.
struct Fake {
    total: u64,
    cap: u64,
    style: Style,
    repeat: bool,
    asked: std::sync::Mutex<Vec<Cursor>>,
}

fn fake(total: u64, cap: u64, style: Style) -> Vendor<Fake> {
    vendor(Fake {
        total,
        cap,
        style,
        repeat: false,
        asked: Default::default(),
    })
}

#[async_trait]
impl Lister for Fake {
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
    asked: std::sync::atomic::AtomicUsize,
}

fn scripted(pages: Vec<Scene>) -> Vendor<Scripted> {
    vendor(Scripted {
        pages,
        caps: Caps::default(),
        asked: Default::default(),
    })
}

#[async_trait]
impl Lister for Scripted {
    fn caps(&self) -> Caps {
        self.caps
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
}

#[async_trait]
impl Lister for Fat {
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
    let f = vendor(Fat {
        caps: Caps {
            accounts: 40_000,
            pages: 100_000,
            ..Caps::default()
        },
    });
    let e = run(&f).unwrap_err().to_string();
    // 40,000 x 512 bytes: about 12,300 accounts of 1.7 KiB, on page 123.
    assert!(
        e.contains("more than 20,480,000 bytes of account text at page 123")
            && e.contains("`max_accounts` (40000)"),
        "{e}"
    );
}

/// An account as a vendor would list it, with no name or block.
pub(super) fn observed(key: &str, id: &str, live: bool) -> Observed {
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
