//! The command line: the clap definitions and the dispatch. Each command's flags
//! and work live in its own file under `commands/`.

use crate::commands::{
    self, apply, dump, history, import, plan, refresh, show, state, stderr, validate,
};
use crate::desired;
use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

pub use crate::commands::stderr::{init as init_tracing, LogFormat};
pub use crate::commands::{EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_PARTIAL};

#[derive(Parser, Debug)]
#[command(
    name = "roster",
    version,
    about = "Declarative user provisioning: plan and apply user accounts across SaaS vendors"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr, and no progress.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// How log lines are written to stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check roster.yaml: syntax, schema, vendor rules. Needs no secret.
    Validate(commands::Input),
    /// Show what apply would do. Needs no secret.
    Plan(plan::PlanArgs),
    /// Create what the plan says is missing, and record it.
    Apply(apply::ApplyArgs),
    /// Read what the vendors hold into the state; changes nothing at any vendor.
    Refresh(refresh::RefreshArgs),
    /// Record users that already exist at a vendor as adopted, creating nothing.
    Import(import::ImportArgs),
    /// Print every account a vendor holds as roster.yaml `users:` entries.
    Dump(dump::DumpArgs),
    /// Show a plan saved by `roster plan --out`.
    Show(show::ShowArgs),
    /// Who recorded which account, when, from which run and commit (a
    /// PostgreSQL state).
    History(history::HistoryArgs),
    /// Inspect or repair the recorded state.
    State {
        #[command(subcommand)]
        command: state::StateCommand,
    },
    /// Print the JSON Schema of roster.yaml.
    Schema,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Parses the process arguments, sets up logging, runs, and says how it ended.
/// A usage error exits 1, as Terraform's do: 2 is `plan --detailed-exitcode`'s
/// "apply has work", which a mistyped flag must never look like.
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: what was asked for, on stdout.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            if stderr::asks_for_json(&args) {
                stderr::init(0, false, LogFormat::Json);
                let text = e.render().to_string();
                let text = text.trim_end();
                stderr::error(text.strip_prefix("error: ").unwrap_or(text));
            } else {
                let _ = e.print();
            }
            return ExitCode::from(EXIT_ERROR);
        }
    };
    init_tracing(cli.verbose, cli.quiet, cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            stderr::error(&format!("{e:#}"));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Runs a parsed command; the exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(input) => validate::exec(&input),
        Command::Plan(args) => plan::exec(&args),
        Command::Apply(args) => apply::exec(&args, cli.quiet),
        Command::Refresh(args) => refresh::exec(&args),
        Command::Import(args) => import::exec(&args),
        Command::Dump(args) => dump::exec(&args),
        Command::Show(args) => show::exec(&args),
        Command::History(args) => history::exec(&args),
        Command::State { command } => state::exec(&command),
        Command::Schema => {
            commands::emit(&desired::schema());
            Ok(EXIT_OK)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "roster", &mut script);
            commands::emit(&String::from_utf8_lossy(&script));
            Ok(EXIT_OK)
        }
    }
}
