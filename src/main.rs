//! The `roster` binary: parse, run one workflow of the library, render, and
//! turn the outcome into an exit code (see `cli`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
