//! `state push` and `state pull`: copy the state between a file and a database.

use super::super::args::StateFile;
use super::super::output::{say, Exit};
use roster::ops::state::copy::{self, Direction};

pub fn exec(
    ctx: &roster::ops::Context<'_>,
    file: &StateFile,
    url: &str,
    direction: Direction,
) -> anyhow::Result<Exit> {
    let c = copy::run(ctx, &file.location(), url, direction)?;
    say!(
        "Copied {} record(s) from {} to {} (lineage {}, serial {}).",
        c.records,
        c.from,
        c.to,
        c.lineage,
        c.serial
    );
    Ok(Exit::Ok)
}
