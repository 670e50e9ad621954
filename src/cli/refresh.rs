//! `roster refresh`: the state from what the vendors hold (like `terraform apply
//! -refresh-only`). Changes nothing at any vendor.

use super::args::{AcceptGone, Target};
use super::output::{say, Exit};
use super::stderr::Stderr;
use clap::Args;
use roster::ops::{self, Context};
use roster::refresh;

#[derive(Args, Debug)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub accept_gone: AcceptGone,
}

pub fn exec(ctx: &Context<'_>, stderr: &Stderr, args: &RefreshArgs) -> anyhow::Result<Exit> {
    let report = ops::refresh::run(
        ctx,
        &ops::refresh::Request {
            target: args.target.target(),
            accept_gone: args.accept_gone.accept_gone.clone(),
        },
    )?;
    let read = &report.read;
    for line in read.lines() {
        say!("{line}");
    }
    for r in &read.refused {
        say!("  refused     {}", r.describe());
    }
    let failed = !read.failed().is_empty();
    match report.written {
        None => {
            let matches = if !read.refused.is_empty() {
                "the other vendors match the state"
            } else if failed {
                "the vendors that could be read match the state"
            } else {
                "the state matches what the vendors hold"
            };
            say!(
                "Refresh: {matches}; nothing written ({} list request(s)).",
                read.requests
            );
        }
        Some(serial) => say!(
            "Refresh: {} ({} list request(s)). State written to {} (serial {serial}).",
            refresh::summary(&read.changes),
            read.requests,
            report.state_path,
        ),
    }
    for r in &read.refused {
        stderr.error(&r.describe());
    }
    // A probable bad read is worse than a failed one: it would have taken
    // live accounts for deleted. The other vendors' results are saved above.
    Ok(if !read.refused.is_empty() {
        Exit::Error
    } else if failed {
        Exit::Partial
    } else {
        Exit::Ok
    })
}
