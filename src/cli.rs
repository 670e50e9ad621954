//! The command line: the clap definitions and the dispatch. Each command's flags
//! and work live in its own file under `commands/`.

use crate::commands::{self, apply, dump, import, plan, refresh, state, validate};
use crate::desired;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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

/// Parses the process arguments, sets up logging, runs.
pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    init_tracing(cli.verbose, cli.quiet, cli.log_format);
    run(cli).map(ExitCode::from)
}

pub fn init_tracing(verbose: u8, quiet: bool, format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let mut filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("roster={level}")));
    // The HTTP stack logs URIs and raw bytes at debug and trace; those carry
    // credentials (api_token in a query, bearer headers), so it is never louder
    // than info, whatever RUST_LOG says.
    for quiet in [
        "reqwest=info",
        "hyper=info",
        "hyper_util=info",
        "h2=info",
        "rustls=info",
    ] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
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
