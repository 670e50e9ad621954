//! What the binary writes: stdout lines, exit codes, colour, and the
//! [`Events`] of a workflow shown on a terminal (notices, the plan before
//! confirmation, the question, progress).

use super::progress::Meter;
use super::stderr::Stderr;
use anyhow::Context as _;
use roster::ops::{self, Events};
use roster::plan::render::{self, View};
use std::io::{IsTerminal, Write};

/// Writes a line to stdout. A closed pipe (`roster plan | head`) is not an error
/// worth a panic: the reader has what it wanted.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// Writes text to stdout as it is, like `say!`.
pub fn emit(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// How a command ended, as its exit code says it: the one place the codes
/// are chosen (README, "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: an error (nothing was changed, or what was is recorded), a usage
    /// error, a refusal (safety threshold, policy, a probable bad read).
    Error = 1,
    /// 2: `plan --detailed-exitcode` and apply has work (a create or a verify).
    Changes = 2,
    /// 3: the run finished, but some users failed, are unverified, or a
    /// vendor could not be read (the rest are recorded).
    Partial = 3,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

/// Whether stdout gets colour: a terminal, and NO_COLOR unset.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Resolves on SIGINT or SIGTERM (a cancelled CI job), naming it.
pub async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted (SIGINT)",
                _ = term.recv() => "terminated (SIGTERM)",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted (SIGINT)"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}

/// How a report is printed: for a person, or as one JSON document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// A workflow's events on this terminal.
pub struct Terminal {
    /// Where notices, errors and progress lines go.
    pub stderr: Stderr,
    /// --quiet: no notices, no plan before the question, no progress.
    pub quiet: bool,
    /// Whether apply shows the plan before it asks (not for a JSON report).
    pub show_plan: bool,
}

impl Events for Terminal {
    fn notice(&self, text: &str) {
        self.stderr.notice(text);
    }

    fn planned(&self, view: &View<'_>) {
        if !self.quiet && self.show_plan {
            emit(&render::text(view, color()));
        }
    }

    fn confirm(&self, accounts: usize) -> anyhow::Result<bool> {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "refusing to apply without confirmation: stdin is not a terminal, pass --yes"
            );
        }
        eprint!("\nroster will create or verify {accounts} account(s). Type 'yes' to go on: ");
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .context("cannot read the answer")?;
        Ok(answer.trim() == "yes")
    }

    fn progress(&self, what: &'static str, total: usize) -> Box<dyn ops::Progress + '_> {
        Box::new(Meter::new(what, total, self.quiet, &self.stderr))
    }
}
