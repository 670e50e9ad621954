//! `state push` and `state pull`: copy the state between a file and a database.

use super::super::args::StateFile;
use super::super::output::{say, EXIT_OK};
use roster::ops::state::copy::{self, Direction};

pub fn exec(file: &StateFile, url: &str, direction: Direction) -> anyhow::Result<u8> {
    let c = copy::run(&file.location(), url, direction)?;
    say!(
        "Copied {} record(s) from {} to {} (lineage {}, serial {}).",
        c.records,
        c.from,
        c.to,
        c.lineage,
        c.serial
    );
    Ok(EXIT_OK)
}
