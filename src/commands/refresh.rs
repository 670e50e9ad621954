//! `roster refresh`: the state from what the vendors hold (like `terraform apply
//! -refresh-only`). Changes nothing at any vendor.

use super::{
    filter, load_desired, read_vendors, say, vendor_context, AcceptGone, Input, Narrow, StateFile,
    EXIT_ERROR, EXIT_OK, EXIT_PARTIAL,
};
use crate::refresh;
use crate::state::Scope;
use clap::Args;

#[derive(Args, Debug)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
    #[command(flatten)]
    pub accept_gone: AcceptGone,
}

pub fn exec(args: &RefreshArgs) -> anyhow::Result<u8> {
    let store = args.state.store()?;
    let scope = if args.narrow.vendors.is_empty() {
        Scope::All
    } else {
        Scope::vendors(args.narrow.vendors.iter().cloned())
    };
    let _lock = store.lock(&scope, "roster refresh")?;
    let desired = load_desired(&args.input)?;
    let mut state = StateFile::load(store.as_ref(), "this refresh starts a new one")?;
    let filter = filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?;
    let guard = args.accept_gone.guard(&desired, &args.input.file)?;
    let read = read_vendors(
        &desired,
        &state,
        &filter,
        Some(&guard),
        &vendor_context(store.as_ref()),
    )?;
    for line in read.lines() {
        say!("{line}");
    }
    for r in &read.refused {
        say!("  refused     {}", r.describe());
    }
    let failed = !read.failed().is_empty();
    let journal_left = store.has_journal()?;
    if read.changes.is_empty() && !journal_left {
        let matches = if !read.refused.is_empty() {
            "the other vendors match the state"
        } else if failed {
            "the vendors that could be read match the state"
        } else {
            "the state matches what the vendors hold"
        };
        say!(
            "Refresh: {matches}; nothing written ({} list request(s)).",
            read.requests
        );
    } else {
        refresh::apply_to(&mut state, &read.changes);
        store.save(&mut state)?;
        say!(
            "Refresh: {} ({} list request(s)). State written to {} (serial {}).",
            refresh::summary(&read.changes),
            read.requests,
            store.describe(),
            state.serial
        );
    }
    for r in &read.refused {
        super::stderr::error(&r.describe());
    }
    // A probable bad read is worse than a failed one: it would have taken
    // live accounts for deleted. The other vendors' results are saved above.
    Ok(if !read.refused.is_empty() {
        EXIT_ERROR
    } else if failed {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    })
}
