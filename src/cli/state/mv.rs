//! `state mv`: rename a vendor in the state.

use super::super::output::Exit;
use super::MvArgs;
use anyhow::bail;

pub fn exec(ctx: &roster::ops::Context<'_>, args: &MvArgs) -> anyhow::Result<Exit> {
    let [old, new] = args.vendor.as_slice() else {
        bail!("--vendor takes two names: OLD NEW");
    };
    super::said(roster::ops::state::mv::run(
        ctx,
        &args.state.location(),
        old,
        new,
    )?)
}
