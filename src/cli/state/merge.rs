//! `state merge`: fold in a journal, and merge in another copy of the state.

use super::super::output::Exit;
use super::MergeArgs;

pub fn exec(ctx: &roster::ops::Context<'_>, args: &MergeArgs) -> anyhow::Result<Exit> {
    super::said(roster::ops::state::merge::run(
        ctx,
        &args.state.location(),
        args.file.as_deref(),
        args.base.as_deref(),
    )?)
}
