//! The command line: flags as plain data, the objects built from them in one
//! place, and the exit codes of DESIGN.md.

use crate::apply::{self, Recorder, Report};
use crate::desired::{self, process_env, Desired};
use crate::plan::{self, render, Filter, Plan};
use crate::state::{Lock, State, Status, Store};
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Success.
pub const EXIT_OK: u8 = 0;
/// An error; nothing was changed.
pub const EXIT_ERROR: u8 = 1;
/// `plan --detailed-exitcode`: there are changes.
pub const EXIT_CHANGES: u8 = 2;
/// `apply` finished but some users failed or are unverified (the rest are recorded).
pub const EXIT_PARTIAL: u8 = 3;

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
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check roster.yaml: syntax, schema, vendor rules. Needs no secret.
    Validate(Input),
    /// Show what apply would do. Needs no secret.
    Plan(PlanArgs),
    /// Create what the plan says is missing, and record it.
    Apply(ApplyArgs),
    /// Inspect or repair the recorded state.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
}

#[derive(Args, Debug)]
pub struct Input {
    /// The desired state: a file, or a folder whose *.yaml files are merged.
    #[arg(short = 'f', long = "file", default_value = "roster.yaml")]
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct StateFile {
    /// The recorded state.
    #[arg(long, default_value = "state/roster.state.json")]
    pub state: PathBuf,
}

#[derive(Args, Debug)]
pub struct Narrow {
    /// Only this vendor (repeatable).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendors: Vec<String>,
    /// Only this user's email (repeatable).
    #[arg(long = "user", value_name = "EMAIL")]
    pub users: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
    /// Don't ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// Print the recorded users, one line each.
    Show(StateFile),
    /// Remove a lock left by an apply that is no longer running.
    Unlock(StateFile),
}

/// Parses the process arguments, sets up logging, runs.
pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    init_tracing(cli.verbose, cli.quiet);
    run(cli).map(ExitCode::from)
}

pub fn init_tracing(verbose: u8, quiet: bool) {
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a parsed command; the exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(input) => validate(&input),
        Command::Plan(args) => plan_cmd(&args),
        Command::Apply(args) => apply_cmd(&args, cli.quiet),
        Command::State { command } => match command {
            StateCommand::Show(file) => state_show(&file.state),
            StateCommand::Unlock(file) => state_unlock(&file.state),
        },
    }
}

fn load_desired(input: &Input) -> anyhow::Result<Desired> {
    let desired = desired::load(&input.file, &process_env)?;
    for w in &desired.warnings {
        tracing::warn!("{w}");
    }
    Ok(desired)
}

fn validate(input: &Input) -> anyhow::Result<u8> {
    let d = load_desired(input)?;
    let accounts: usize = d.users.values().map(|u| u.accounts.len()).sum();
    println!(
        "{} is valid: {} vendor(s), {} user(s), {} account(s).",
        input.file.display(),
        d.vendors.len(),
        d.users.len(),
        accounts
    );
    Ok(EXIT_OK)
}

/// Builds the filter from flags, refusing names that match nothing (a typo would
/// otherwise narrow the plan to nothing, silently).
fn filter(narrow: &Narrow, desired: &Desired, state: &State) -> anyhow::Result<Filter> {
    for v in &narrow.vendors {
        if !desired.vendors.contains_key(v) && !state.vendors.contains_key(v) {
            bail!("--vendor {v}: no vendor of that name in the desired or recorded state");
        }
    }
    let users: std::collections::BTreeSet<String> =
        narrow.users.iter().map(|u| u.to_lowercase()).collect();
    for u in &users {
        let recorded = state.vendors.values().any(|r| r.contains_key(u));
        if !desired.users.contains_key(u) && !recorded {
            bail!("--user {u}: no user with that email in the desired or recorded state");
        }
    }
    Ok(Filter {
        vendors: narrow.vendors.iter().cloned().collect(),
        users,
    })
}

struct Planned {
    desired: Desired,
    store: Store,
    state: State,
    plan: Plan,
}

fn make_plan(input: &Input, state_file: &Path, narrow: &Narrow) -> anyhow::Result<Planned> {
    let desired = load_desired(input)?;
    let store = Store::new(state_file);
    let state = store.load()?;
    let filter = filter(narrow, &desired, &state)?;
    let plan = plan::diff(&desired, &state, &filter);
    Ok(Planned {
        desired,
        store,
        state,
        plan,
    })
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn plan_cmd(args: &PlanArgs) -> anyhow::Result<u8> {
    let p = make_plan(&args.input, &args.state.state, &args.narrow)?;
    let text = match args.format {
        Format::Text => render::text(&p.plan, color()),
        Format::Json => render::json(&p.plan),
        Format::Markdown => render::markdown(&p.plan),
    };
    print!("{text}");
    let changes = p.plan.summary().has_changes();
    Ok(if args.detailed_exitcode && changes {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

fn confirm(creations: usize) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to apply without confirmation: stdin is not a terminal, pass --yes");
    }
    eprint!("\nroster will create or verify {creations} account(s). Type 'yes' to go on: ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(answer.trim() == "yes")
}

fn apply_cmd(args: &ApplyArgs, quiet: bool) -> anyhow::Result<u8> {
    // Locked before the state is read, so the plan is made from the latest one.
    let _lock = Lock::acquire(&args.state.state, "roster apply")?;
    let Planned {
        desired,
        store,
        state,
        plan,
    } = make_plan(&args.input, &args.state.state, &args.narrow)?;
    let summary = plan.summary();
    if !quiet {
        print!("{}", render::text(&plan, color()));
    }
    if !summary.has_work() {
        if store.journal_path().exists() {
            // Fold in what an interrupted apply left, even with nothing to do.
            let mut state = state;
            store.save(&mut state)?;
        }
        println!("Nothing to apply.");
        return Ok(EXIT_OK);
    }
    if !args.yes && !confirm(summary.create + summary.verify)? {
        println!("Apply cancelled; nothing was sent.");
        return Ok(EXIT_ERROR);
    }
    let work = apply::prepare(&desired, &plan, &process_env)?;
    let recorder = Recorder::new(store, state)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = apply::execute(work, &recorder) => Some(report),
            signal = interrupted() => {
                tracing::warn!("{signal}: stopping; requests in flight are left pending and verified by the next apply");
                None
            }
        }
    });
    let state = recorder.finish()?;
    let Some(report) = report else {
        let pending = plan
            .applied()
            .filter(|c| {
                state
                    .get(&c.vendor, &c.email)
                    .is_some_and(|r| r.status == Status::Pending)
            })
            .count();
        println!(
            "\nApply interrupted. State written to {} (serial {}); {pending} creation(s) without an answer are pending and the next apply verifies them.",
            args.state.state.display(),
            state.serial
        );
        return Ok(EXIT_PARTIAL);
    };
    let report = report?;
    print_report(&report, &args.state.state, &state);
    Ok(if report.ok() { EXIT_OK } else { EXIT_PARTIAL })
}

/// Resolves on SIGINT or SIGTERM (a cancelled CI job), naming it.
async fn interrupted() -> &'static str {
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

fn state_unlock(path: &Path) -> anyhow::Result<u8> {
    match crate::state::unlock(path)? {
        Some(holder) => println!("Removed the lock held by {holder}."),
        None => println!("{} is not locked.", path.display()),
    }
    Ok(EXIT_OK)
}

fn print_report(report: &Report, path: &Path, state: &State) {
    println!(
        "\nApply: {} created, {} adopted, {} failed, {} unverified ({} request(s)).",
        report.created,
        report.adopted,
        report.failed.len(),
        report.pending.len(),
        report.requests
    );
    for (vendor, email, why) in &report.failed {
        println!("  failed      {vendor}  {email}: {why}");
    }
    for (vendor, email, why) in &report.pending {
        println!("  unverified  {vendor}  {email}: {why} (the next apply verifies it)");
    }
    for (vendor, email, why) in &report.warnings {
        println!("  warning     {vendor}  {email}: {why}");
    }
    println!(
        "State written to {} (serial {}).",
        path.display(),
        state.serial
    );
}

fn state_show(path: &Path) -> anyhow::Result<u8> {
    let state = Store::new(path).load()?;
    if state.lineage.is_empty() && state.vendors.is_empty() {
        println!("{}: no state recorded yet.", path.display());
        return Ok(EXIT_OK);
    }
    println!(
        "{}: lineage {}, serial {}",
        path.display(),
        state.lineage,
        state.serial
    );
    for (vendor, email, r) in state.records() {
        let mut line = format!("{vendor}  {email}  {}", r.status.as_str());
        if let Some(id) = &r.remote_id {
            line.push_str(&format!("  id={id}"));
        }
        line.push_str(&format!("  at={}", r.at));
        if let Some(e) = &r.error {
            line.push_str(&format!("  error={e}"));
        }
        println!("{line}");
    }
    Ok(EXIT_OK)
}
