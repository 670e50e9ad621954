//! `state rm`: forget accounts; the vendor is not touched.

use super::super::output::Exit;
use super::RmArgs;

pub fn exec(ctx: &roster::ops::Context<'_>, args: &RmArgs) -> anyhow::Result<Exit> {
    super::said(roster::ops::state::rm::run(
        ctx,
        &args.state.location(),
        &args.vendor,
        &args.emails,
    )?)
}
