//! The import workflow: record desired users that already exist at a vendor
//! as adopted, with the vendor's ids, from one pass over its list. Creates
//! nothing.

use super::{filter, load_desired, load_state, read_vendors, Context, StateLocation};
use crate::refresh::{self, Update, What};
use crate::secret::Redactor;
use crate::state::Scope;
use anyhow::bail;
use std::path::PathBuf;

/// What to import.
#[derive(Clone, Debug)]
pub struct Request {
    pub file: PathBuf,
    pub state: StateLocation,
    /// The vendors to import from (at least one).
    pub vendors: Vec<String>,
    /// Only these users' emails (all when empty).
    pub users: Vec<String>,
}

/// What an import recorded.
pub struct Report {
    /// The accounts adopted.
    pub adopted: Vec<Update>,
    /// (vendor, email) of desired accounts not at the vendor.
    pub absent: Vec<(String, String)>,
    /// List requests sent.
    pub requests: usize,
    /// What the vendors' text must pass before it is shown.
    pub redactor: Redactor,
    pub state_path: String,
    pub serial: u64,
}

pub fn run(ctx: &Context<'_>, req: &Request) -> anyhow::Result<Report> {
    let store = req.state.store(ctx)?;
    let _lock = ctx.lock(
        store.as_ref(),
        &Scope::vendors(req.vendors.iter().cloned()),
        "roster import",
    )?;
    let desired = load_desired(&req.file, ctx.env)?;
    let mut state = load_state(ctx, store.as_ref(), "this import starts a new one")?;
    for v in &req.vendors {
        super::settings::check_vendor("--vendor", v, &desired, None)?;
    }
    let filter = filter(&req.vendors, &req.users, &desired, &state)?;
    let mut read = read_vendors(
        ctx,
        &ctx.vendors(store.as_ref()),
        &desired,
        &state,
        &filter,
        None,
    )?;
    if let Some((vendor, why)) = read.unread.first() {
        bail!("cannot import from {vendor}: {why}");
    }
    // Import adopts; the rest of what a refresh learns is for `roster refresh`.
    read.changes.retain(|c| {
        matches!(c.what, What::Adopted | What::FoundInactive)
            && desired
                .users
                .get(&c.email)
                .is_some_and(|u| u.accounts.contains_key(&c.vendor))
    });
    refresh::apply_to(&mut state, &read.changes);
    let absent = desired
        .users
        .iter()
        .filter(|(email, _)| filter.user(email))
        .flat_map(|(email, user)| user.accounts.keys().map(move |v| (v, email)))
        .filter(|(v, email)| {
            filter.vendor(v) && !state.get(v, email).is_some_and(|r| r.status.exists())
        })
        .map(|(v, email)| (v.clone(), email.clone()))
        .collect();
    if !read.changes.is_empty() || ctx.runtime.block_on(store.has_journal())? {
        ctx.runtime.block_on(store.save(&mut state))?;
    }
    Ok(Report {
        adopted: read.changes,
        absent,
        requests: read.requests,
        redactor: read.redactor,
        state_path: store.describe(),
        serial: state.serial,
    })
}
