//! The `roster` binary's own modules: the clap definitions, one file per
//! command (its flags, one call of a workflow in `roster::ops`, the rendering
//! of its report), and the terminal output (stderr, progress, colour). The
//! library holds every workflow; nothing here decides what is sent or recorded.

mod apply;
mod args;
mod dump;
mod history;
mod import;
mod output;
mod plan;
mod progress;
mod refresh;
mod show;
mod state;
mod stderr;
mod validate;

use anyhow::Context as _;
use args::Input;
use clap::{CommandFactory, Parser, Subcommand};
use output::{emit, Exit};
use roster::ops::Context;
use std::process::ExitCode;
use stderr::LogFormat;

#[derive(Parser, Debug)]
#[command(
    name = "roster",
    version,
    about = "Declarative user provisioning: plan and apply user accounts across SaaS vendors"
)]
struct Cli {
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
enum Command {
    /// Check roster.yaml: syntax, schema, vendor rules. Needs no secret.
    Validate(Input),
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
                let stderr = stderr::init(0, false, LogFormat::Json);
                let text = e.render().to_string();
                let text = text.trim_end();
                stderr.error(text.strip_prefix("error: ").unwrap_or(text));
            } else {
                let _ = e.print();
            }
            return ExitCode::from(Exit::Error);
        }
    };
    let stderr = stderr::init(cli.verbose, cli.quiet, cli.log_format);
    match run(cli, &stderr) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            stderr.error(&format!("{e:#}"));
            ExitCode::from(Exit::Error)
        }
    }
}

/// Runs a parsed command; the exit code on success.
fn run(cli: Cli, stderr: &stderr::Stderr) -> anyhow::Result<Exit> {
    // The one async runtime every vendor call of this process runs on.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let terminal = output::Terminal {
        stderr: stderr.clone(),
        quiet: cli.quiet,
        show_plan: !matches!(&cli.command, Command::Apply(a) if a.format == output::Format::Json),
    };
    let ctx = Context {
        env: &roster::model::process_env,
        runtime: &runtime,
        events: &terminal,
    };
    match cli.command {
        Command::Validate(input) => validate::exec(&ctx, &input),
        Command::Plan(args) => plan::exec(&ctx, stderr, &args),
        Command::Apply(args) => apply::exec(&ctx, stderr, &args),
        Command::Refresh(args) => refresh::exec(&ctx, stderr, &args),
        Command::Import(args) => import::exec(&ctx, &args),
        Command::Dump(args) => dump::exec(&ctx, &args),
        Command::Show(args) => show::exec(&args),
        Command::History(args) => history::exec(&ctx, &args),
        Command::State { command } => state::exec(&ctx, &command),
        Command::Schema => {
            emit(&roster::desired::schema());
            Ok(Exit::Ok)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "roster", &mut script);
            emit(&String::from_utf8_lossy(&script));
            Ok(Exit::Ok)
        }
    }
}
