//! `state mv`: rename a vendor in the state.

use super::super::output::Exit;
use super::MvArgs;
use anyhow::bail;

pub fn exec(args: &MvArgs) -> anyhow::Result<Exit> {
    let [old, new] = args.vendor.as_slice() else {
        bail!("--vendor takes two names: OLD NEW");
    };
    super::said(roster::ops::state::mv::run(
        &args.state.location(),
        old,
        new,
    )?)
}
