//! `roster validate`: syntax, schema and vendor rules of the desired state.

use super::args::Input;
use super::output::{say, Exit};
use roster::ops::{self, Context};

pub fn exec(ctx: &Context<'_>, input: &Input) -> anyhow::Result<Exit> {
    let d = ops::load_desired(&input.file, ctx.env)?;
    let accounts: usize = d.users.values().map(|u| u.accounts.len()).sum();
    say!(
        "{} is valid: {} vendor(s), {} user(s), {} account(s).",
        input.file.display(),
        d.vendors.len(),
        d.users.len(),
        accounts
    );
    Ok(Exit::Ok)
}
