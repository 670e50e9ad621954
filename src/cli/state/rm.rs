//! `state rm`: forget accounts; the vendor is not touched.

use super::super::output::Exit;
use super::RmArgs;

pub fn exec(env: roster::model::Env<'_>, args: &RmArgs) -> anyhow::Result<Exit> {
    super::said(roster::ops::state::rm::run(
        env,
        &args.state.location(),
        &args.vendor,
        &args.emails,
    )?)
}
