//! `state rm`: forget accounts; the vendor is not touched.

use super::super::output::Exit;
use super::RmArgs;

pub fn exec(args: &RmArgs) -> anyhow::Result<Exit> {
    super::said(roster::ops::state::rm::run(
        &args.state.location(),
        &args.vendor,
        &args.emails,
    )?)
}
