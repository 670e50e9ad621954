//! `roster dump --vendor NAME`: every account that vendor holds, printed as
//! roster.yaml `users:` entries (see `roster::ops::dump`).

use super::args::Input;
use super::output::emit;
use super::output::Exit;
use clap::Args;
use roster::ops::{self, Context};

#[derive(Args, Debug)]
pub struct DumpArgs {
    #[command(flatten)]
    pub input: Input,
    /// The vendor whose accounts to print (a name from `vendors:`).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendor: String,
}

pub fn exec(ctx: &Context<'_>, args: &DumpArgs) -> anyhow::Result<Exit> {
    let dump = ops::dump::run(ctx, &args.input.file, &args.vendor)?;
    emit(&dump.text);
    Ok(Exit::Ok)
}
