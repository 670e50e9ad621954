//! `roster import`: record desired users that already exist at a vendor as
//! adopted, with the vendor's ids, from one pass over its list. Creates nothing.

use super::args::{Input, StateFile};
use super::output::{say, Exit};
use clap::Args;
use roster::ops::{self, Context};

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    /// The vendor to import from (repeatable).
    #[arg(long = "vendor", value_name = "NAME", required = true)]
    pub vendors: Vec<String>,
    /// Only this user's email (repeatable).
    #[arg(long = "user", value_name = "EMAIL")]
    pub users: Vec<String>,
}

pub fn exec(ctx: &Context<'_>, args: &ImportArgs) -> anyhow::Result<Exit> {
    let report = ops::import::run(
        ctx,
        &ops::import::Request {
            file: args.input.file.clone(),
            state: args.state.location(),
            vendors: args.vendors.clone(),
            users: args.users.clone(),
        },
    )?;
    say!(
        "Import: {} adopted, {} not at the vendor, 0 failed ({} request(s)).",
        report.adopted.len(),
        report.absent.len(),
        report.requests
    );
    for c in &report.adopted {
        say!(
            "  adopted     {}  {}: {}",
            c.vendor,
            c.email,
            report.redactor.redact(&c.describe())
        );
    }
    for (vendor, email) in &report.absent {
        say!("  absent      {vendor}  {email} (apply would create it)");
    }
    say!(
        "State written to {} (serial {}).",
        report.state_path,
        report.serial
    );
    Ok(Exit::Ok)
}
