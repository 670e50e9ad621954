//! `state rm`: forget accounts; the vendor is not touched.

use super::RmArgs;

pub fn exec(args: &RmArgs) -> anyhow::Result<u8> {
    super::said(roster::ops::state::rm::run(
        &args.state.location(),
        &args.vendor,
        &args.emails,
    )?)
}
