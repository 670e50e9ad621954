//! The command line: flags as plain data, the objects built from them in one
//! place, and the exit codes of DESIGN.md.

use crate::apply::{self, Mode, Recorder, Report};
use crate::desired::{self, process_env, Desired};
use crate::plan::saved::SavedPlan;
use crate::plan::{self, render, Filter, Threshold};
use crate::state::{Lock, State, Status, Store};
use anyhow::{bail, Context};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Writes a line to stdout. A closed pipe (`roster plan | head`) is not an error
/// worth a panic: the reader has what it wanted.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Writes text to stdout as it is, like `say!`.
fn emit(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

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
    Validate(Input),
    /// Show what apply would do. Needs no secret.
    Plan(PlanArgs),
    /// Create what the plan says is missing, and record it.
    Apply(ApplyArgs),
    /// Record users that already exist at a vendor as adopted, creating nothing.
    Import(ImportArgs),
    /// Inspect or repair the recorded state.
    State {
        #[command(subcommand)]
        command: StateCommand,
    },
    /// Print the JSON Schema of roster.yaml.
    Schema,
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
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
    /// Also save the plan, for `roster apply FILE` to carry out exactly.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
    /// Go ahead even when the plan creates more than the safety threshold.
    #[arg(long)]
    pub force: bool,
    /// Most accounts this apply may create (overrides `safety.max_create`).
    #[arg(long, value_name = "N")]
    pub max_create: Option<usize>,
    /// Most accounts this apply may create, as a percentage of those recorded
    /// (overrides `safety.max_create_percent`; default 30).
    #[arg(long, value_name = "PERCENT")]
    pub max_create_percent: Option<f64>,
    /// A plan saved by `roster plan --out`: apply exactly it, or refuse if stale.
    #[arg(value_name = "PLANFILE", conflicts_with_all = ["vendors", "users"])]
    pub planfile: Option<PathBuf>,
}

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
        Command::Validate(input) => validate(&input),
        Command::Plan(args) => plan_cmd(&args),
        Command::Apply(args) => apply_cmd(&args, cli.quiet),
        Command::Import(args) => import_cmd(&args, cli.quiet),
        Command::State { command } => match command {
            StateCommand::Show(file) => state_show(&file.state),
            StateCommand::Unlock(file) => state_unlock(&file.state),
        },
        Command::Schema => {
            emit(&desired::schema());
            Ok(EXIT_OK)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "roster", &mut script);
            emit(&String::from_utf8_lossy(&script));
            Ok(EXIT_OK)
        }
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
    say!(
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
fn filter(
    vendors: &[String],
    users: &[String],
    desired: &Desired,
    state: &State,
) -> anyhow::Result<Filter> {
    for v in vendors {
        if !desired.vendors.contains_key(v) && !state.vendors.contains_key(v) {
            bail!("--vendor {v}: no vendor of that name in the desired or recorded state");
        }
    }
    let users: std::collections::BTreeSet<String> =
        users.iter().map(|u| u.to_lowercase()).collect();
    for u in &users {
        let recorded = state.vendors.values().any(|r| r.contains_key(u));
        if !desired.users.contains_key(u) && !recorded {
            bail!("--user {u}: no user with that email in the desired or recorded state");
        }
    }
    Ok(Filter {
        vendors: vendors.iter().cloned().collect(),
        users,
    })
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn plan_cmd(args: &PlanArgs) -> anyhow::Result<u8> {
    let desired = load_desired(&args.input)?;
    let state = Store::new(&args.state.state).load()?;
    let filter = filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?;
    let plan = plan::diff(&desired, &state, &filter);
    let text = match args.format {
        Format::Text => render::text(&plan, color()),
        Format::Json => render::json(&plan),
        Format::Markdown => render::markdown(&plan),
    };
    emit(&text);
    if let Some(out) = &args.out {
        SavedPlan::new(&plan, &desired, &state, &filter).write(out)?;
        eprintln!(
            "Plan saved to {}; `roster apply {}` carries it out exactly.",
            out.display(),
            out.display()
        );
    }
    let changes = plan.summary().has_changes();
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

/// The safety threshold from the YAML, with flags on top.
fn threshold(args: &ApplyArgs, desired: &Desired, file: &Path) -> Threshold {
    let s = &desired.safety;
    let source = if args.max_create.is_some() || args.max_create_percent.is_some() {
        "from the command line".to_string()
    } else if *s != desired::Safety::default() {
        format!("from safety: in {}", file.display())
    } else {
        "the default".to_string()
    };
    Threshold {
        max_create: args.max_create.or(s.max_create),
        max_create_percent: args
            .max_create_percent
            .or(s.max_create_percent)
            .unwrap_or(Threshold::DEFAULT_PERCENT),
        min_existing: s.min_existing.unwrap_or(Threshold::DEFAULT_MIN_EXISTING),
        source,
    }
}

fn apply_cmd(args: &ApplyArgs, quiet: bool) -> anyhow::Result<u8> {
    // Locked before the state is read, so the plan is made from the latest one.
    let _lock = Lock::acquire(&args.state.state, "roster apply")?;
    let desired = load_desired(&args.input)?;
    let store = Store::new(&args.state.state);
    let state = store.load()?;
    let saved = args.planfile.as_deref().map(SavedPlan::read).transpose()?;
    let filter = match &saved {
        Some(saved) => saved.filter(),
        None => filter(&args.narrow.vendors, &args.narrow.users, &desired, &state)?,
    };
    let plan = plan::diff(&desired, &state, &filter);
    if let (Some(saved), Some(path)) = (&saved, &args.planfile) {
        saved.check(&path.display().to_string(), &desired, &state, &plan)?;
    }
    let summary = plan.summary();
    if !quiet {
        emit(&render::text(&plan, color()));
    }
    if !summary.has_work() {
        if store.journal_path().exists() {
            // Fold in what an interrupted apply left, even with nothing to do.
            let mut state = state;
            store.save(&mut state)?;
        }
        say!("Nothing to apply.");
        return Ok(EXIT_OK);
    }
    if !args.force {
        if let Err(why) = threshold(args, &desired, &args.input.file).check(&summary, &state) {
            bail!("refusing to apply: {why}. Review the plan, then pass --force to go ahead");
        }
    }
    // A saved plan was reviewed when it was made; otherwise ask.
    if saved.is_none() && !args.yes && !confirm(summary.create + summary.verify)? {
        say!("Apply cancelled; nothing was sent.");
        return Ok(EXIT_ERROR);
    }
    let work = apply::prepare(&desired, &plan, &process_env, Mode::Apply)?;
    let total = work.iter().map(|v| v.jobs.len()).sum();
    let recorder = Recorder::new(store, state)?;
    let progress = Progress::new("apply", total, quiet);
    let advance = |n, failed| progress.advance(n, failed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = apply::execute(work, &recorder, Mode::Apply, &advance) => Some(report),
            signal = interrupted() => {
                tracing::warn!("{signal}: stopping; requests in flight are left pending and verified by the next apply");
                None
            }
        }
    });
    progress.finish();
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
        say!(
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

fn import_cmd(args: &ImportArgs, quiet: bool) -> anyhow::Result<u8> {
    let _lock = Lock::acquire(&args.state.state, "roster import")?;
    let desired = load_desired(&args.input)?;
    let store = Store::new(&args.state.state);
    let state = store.load()?;
    for v in &args.vendors {
        if !desired.vendors.contains_key(v) {
            bail!("--vendor {v}: no vendor of that name in the desired state");
        }
    }
    let filter = filter(&args.vendors, &args.users, &desired, &state)?;
    // The pairs not yet recorded as existing: what apply would create or verify.
    let plan = plan::diff(&desired, &state, &filter);
    if !plan.summary().has_work() {
        say!(
            "Nothing to import: every desired user of {} is recorded.",
            args.vendors.join(", ")
        );
        return Ok(EXIT_OK);
    }
    let work = apply::prepare(&desired, &plan, &process_env, Mode::Import)?;
    let total = work.iter().map(|v| v.jobs.len()).sum();
    let recorder = Recorder::new(store, state)?;
    let progress = Progress::new("import", total, quiet);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(apply::execute(
        work,
        &recorder,
        Mode::Import,
        &|n, failed| progress.advance(n, failed),
    ));
    progress.finish();
    let state = recorder.finish()?;
    let report = report?;
    say!(
        "Import: {} adopted, {} not at the vendor, {} failed ({} request(s)).",
        report.adopted,
        report.absent.len(),
        report.failed.len(),
        report.requests
    );
    for (vendor, email) in &report.absent {
        say!("  absent      {vendor}  {email} (apply would create it)");
    }
    for (vendor, email, why) in &report.failed {
        say!("  failed      {vendor}  {email}: {why}");
    }
    say!(
        "State written to {} (serial {}).",
        args.state.state.display(),
        state.serial
    );
    Ok(if report.failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_PARTIAL
    })
}

/// Progress on stderr: a bar on a terminal, a line every few seconds otherwise,
/// nothing with --quiet.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    failed: AtomicUsize,
    plain: Option<Mutex<Plain>>,
}

struct Plain {
    what: &'static str,
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    last: Instant,
}

impl Progress {
    const EVERY: Duration = Duration::from_secs(5);

    fn new(what: &'static str, total: usize, quiet: bool) -> Progress {
        if quiet || total == 0 {
            return Progress {
                bar: None,
                failed: AtomicUsize::new(0),
                plain: None,
            };
        }
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} {prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} accounts, {per_sec}, eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(what);
            bar.enable_steady_tick(Duration::from_millis(200));
            return Progress {
                bar: Some(bar),
                failed: AtomicUsize::new(0),
                plain: None,
            };
        }
        let now = Instant::now();
        Progress {
            bar: None,
            failed: AtomicUsize::new(0),
            plain: Some(Mutex::new(Plain {
                what,
                total,
                done: 0,
                failed: 0,
                started: now,
                last: now,
            })),
        }
    }

    fn advance(&self, n: usize, failed: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
            if failed > 0 {
                let total = self.failed.fetch_add(failed, Ordering::Relaxed) + failed;
                bar.set_message(format!("{total} failed"));
            }
        }
        if let Some(plain) = &self.plain {
            let Ok(mut p) = plain.lock() else { return };
            p.done += n;
            p.failed += failed;
            if p.last.elapsed() >= Self::EVERY {
                p.last = Instant::now();
                let rate = p.done as f64 / p.started.elapsed().as_secs_f64().max(0.001);
                eprintln!(
                    "{}: {}/{} accounts ({}%), {} failed, {rate:.1}/s",
                    p.what,
                    p.done,
                    p.total,
                    p.done * 100 / p.total.max(1),
                    p.failed
                );
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
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
        Some(holder) => say!("Removed the lock held by {holder}."),
        None => say!("{} is not locked.", path.display()),
    }
    Ok(EXIT_OK)
}

fn print_report(report: &Report, path: &Path, state: &State) {
    say!(
        "\nApply: {} created, {} adopted, {} failed, {} unverified ({} request(s)).",
        report.created,
        report.adopted,
        report.failed.len(),
        report.pending.len(),
        report.requests
    );
    for (vendor, email, why) in &report.failed {
        say!("  failed      {vendor}  {email}: {why}");
    }
    for (vendor, email, why) in &report.pending {
        say!("  unverified  {vendor}  {email}: {why} (the next apply verifies it)");
    }
    for (vendor, email, why) in &report.warnings {
        say!("  warning     {vendor}  {email}: {why}");
    }
    say!(
        "State written to {} (serial {}).",
        path.display(),
        state.serial
    );
}

fn state_show(path: &Path) -> anyhow::Result<u8> {
    let state = Store::new(path).load()?;
    if state.lineage.is_empty() && state.vendors.is_empty() {
        say!("{}: no state recorded yet.", path.display());
        return Ok(EXIT_OK);
    }
    say!(
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
        say!("{line}");
    }
    Ok(EXIT_OK)
}
