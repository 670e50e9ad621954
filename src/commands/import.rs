//! `roster import`: record desired users that already exist at a vendor as
//! adopted, with the vendor's ids, from one pass over its list. Creates nothing.

use super::{filter, load_desired, read_vendors, say, vendor_context, Input, StateFile, EXIT_OK};
use crate::refresh::{self, What};
use crate::state::Scope;
use anyhow::bail;
use clap::Args;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    /// The vendor to import from (repeatable).
    #[arg(long = "vendor", value_name = "NAME", required = true)]
    pub vendors: Vec<String>,
    /// Only this user's email (repeatable).
    #[arg(long = "user", value_name = "EMAIL")]
    pub users: Vec<String>,
}

pub fn exec(args: &ImportArgs) -> anyhow::Result<u8> {
    let store = args.state.store()?;
    let _lock = store.lock(
        &Scope::vendors(args.vendors.iter().cloned()),
        "roster import",
    )?;
    let desired = load_desired(&args.input)?;
    let mut state = StateFile::load(store.as_ref(), "this import starts a new one")?;
    for v in &args.vendors {
        if !desired.vendors.contains_key(v) {
            bail!("--vendor {v}: no vendor of that name in the desired state");
        }
    }
    let filter = filter(&args.vendors, &args.users, &desired, &state)?;
    let mut read = read_vendors(
        &desired,
        &state,
        &filter,
        None,
        &vendor_context(store.as_ref()),
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
    let absent: Vec<(&String, &String)> = desired
        .users
        .iter()
        .filter(|(email, _)| filter.user(email))
        .flat_map(|(email, user)| user.accounts.keys().map(move |v| (v, email)))
        .filter(|(v, email)| {
            filter.vendor(v) && !state.get(v, email).is_some_and(|r| r.status.exists())
        })
        .collect();
    if !read.changes.is_empty() || store.has_journal()? {
        store.save(&mut state)?;
    }
    say!(
        "Import: {} adopted, {} not at the vendor, 0 failed ({} request(s)).",
        read.changes.len(),
        absent.len(),
        read.requests
    );
    for c in &read.changes {
        say!(
            "  adopted     {}  {}: {}",
            c.vendor,
            c.email,
            read.redactor.redact(&c.describe())
        );
    }
    for (vendor, email) in &absent {
        say!("  absent      {vendor}  {email} (apply would create it)");
    }
    say!(
        "State written to {} (serial {}).",
        store.describe(),
        state.serial
    );
    Ok(EXIT_OK)
}
