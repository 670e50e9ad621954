//! One file per command, as cargo does: each holds its clap arguments and an
//! `exec` that turns them into calls of the library. What several commands share
//! (loading the desired state, narrowing, output, signals) lives here.

pub mod apply;
pub mod dump;
pub mod history;
pub mod import;
pub mod plan;
pub mod progress;
pub mod refresh;
pub mod show;
pub mod state;
pub mod stderr;
pub mod validate;

use crate::desired::{self, Desired};
use crate::model::process_env;
use crate::plan::{Baseline, Filter, GoneLimit, Threshold, Verdict};
use crate::state::{Backend, FileBackend, State};
use anyhow::{bail, Context};
use clap::Args;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

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

/// Success.
pub const EXIT_OK: u8 = 0;
/// An error; nothing was changed.
pub const EXIT_ERROR: u8 = 1;
/// `plan --detailed-exitcode`: apply has work (a create or a verify).
pub const EXIT_CHANGES: u8 = 2;
/// `apply` finished but some users failed or are unverified (the rest are recorded).
pub const EXIT_PARTIAL: u8 = 3;

#[derive(Args, Debug)]
pub struct Input {
    /// The desired state: a file, or a folder whose *.yaml files are merged.
    #[arg(short = 'f', long = "file", default_value = "roster.yaml")]
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct StateFile {
    /// The recorded state: a file [default: state/roster.state.json], whose
    /// folder must exist (the default one is created), or a PostgreSQL URL
    /// (postgres://USER@HOST/DB; the password from PGPASSWORD or the URL).
    #[arg(
        long,
        value_name = "FILE|URL",
        env = "ROSTER_STATE",
        hide_env_values = true
    )]
    pub state: Option<PathBuf>,
    /// With a PostgreSQL state: the workspace, so that independent desired
    /// files share one database without seeing each other.
    #[arg(
        long,
        value_name = "NAME",
        env = "ROSTER_WORKSPACE",
        default_value = "default"
    )]
    pub workspace: String,
    /// How long to wait for another run holding the state (a database: a
    /// vendor this one writes), e.g. `30s` or `10m`; `0s` fails at once,
    /// naming the holder.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = duration)]
    pub lock_timeout: std::time::Duration,
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{text:?}: {e} (like 30s or 5m)"))
}

impl StateFile {
    pub const DEFAULT: &'static str = "state/roster.state.json";

    pub fn path(&self) -> &Path {
        self.state
            .as_deref()
            .unwrap_or_else(|| Path::new(Self::DEFAULT))
    }

    /// The backend `--state` names, refusing a file whose folder does not
    /// exist: a typo there would otherwise start a new, empty state and plan to
    /// create everyone.
    pub fn store(&self) -> anyhow::Result<Box<dyn Backend>> {
        if let Some(url) = self.state.as_deref().and_then(Path::to_str) {
            if crate::state::postgres::is_url(url) {
                let backend = crate::state::postgres::PgBackend::connect(
                    url,
                    &self.workspace,
                    self.lock_timeout,
                )?;
                // Runners sharing this database share each vendor account's rate.
                crate::vendors::http::share_budget(backend.budget());
                return Ok(Box::new(backend));
            }
        }
        if let Some(path) = &self.state {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                // A mistyped database URL lands here: its password is not shown.
                bail!(
                    "--state {}: the folder {} does not exist (create it to start a new state there)",
                    crate::secret::without_userinfo(&path.display().to_string()),
                    crate::secret::without_userinfo(&dir.display().to_string())
                );
            }
        }
        Ok(Box::new(
            FileBackend::new(self.path()).with_lock_timeout(self.lock_timeout),
        ))
    }

    /// The state in `store`; says so when there is none yet.
    pub fn load(store: &dyn Backend, what: &str) -> anyhow::Result<State> {
        let state = store.load()?;
        if state.lineage.is_empty() && state.vendors.is_empty() && !store.exists()? {
            stderr::notice(&format!("No state at {}: {what}.", store.describe()));
        }
        Ok(state)
    }
}

/// The safety threshold's flags; `plan` takes them too, so that its verdict is
/// the one apply will reach.
#[derive(Args, Debug)]
pub struct Safety {
    /// Most accounts one apply may create (overrides `safety.max_create`).
    #[arg(long, value_name = "N")]
    pub max_create: Option<usize>,
    /// Most accounts one apply may create, as a percentage of those recorded
    /// (overrides `safety.max_create_percent`; default 30).
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub max_create_percent: Option<f64>,
}

fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    crate::model::check_percent(value)
}

impl Safety {
    /// The threshold from roster.yaml's `safety:`, with the flags on top.
    pub fn threshold(&self, desired: &Desired, file: &Path) -> Threshold {
        let s = &desired.safety;
        let source = if self.max_create.is_some() || self.max_create_percent.is_some() {
            "from the command line".to_string()
        } else if *s != desired::Safety::default() {
            format!("from safety: in {}", file.display())
        } else {
            "the default".to_string()
        };
        Threshold {
            max_create: self.max_create.or(s.max_create),
            max_create_percent: self
                .max_create_percent
                .or(s.max_create_percent)
                .unwrap_or(Threshold::DEFAULT_PERCENT),
            min_existing: s.min_existing.unwrap_or(Threshold::DEFAULT_MIN_EXISTING),
            source,
        }
    }

    /// The verdict on creating `creates` accounts from `state`.
    pub fn verdict(
        &self,
        input: &Input,
        desired: &Desired,
        state: &State,
        creates: usize,
    ) -> Verdict {
        self.threshold(desired, &input.file)
            .judge(creates, &Baseline::of(state, &desired.digest))
    }
}

/// `--accept-gone`: what a refresh may record as gone beyond the share of
/// `safety.max_gone_percent`.
#[derive(Args, Debug, Default)]
pub struct AcceptGone {
    /// Record as `gone` the accounts this vendor's list lacks even when they
    /// are more than `safety.max_gone_percent` (default 20) of those recorded
    /// there; otherwise such a list is taken for a bad read and the vendor's
    /// records are kept (repeatable). `--force` does not do this.
    #[arg(long = "accept-gone", value_name = "VENDOR")]
    pub accept_gone: Vec<String>,
}

impl AcceptGone {
    /// The guard a refresh applies: the limit from roster.yaml's `safety:`,
    /// and the vendors accepted by name (each a vendor the desired state
    /// configures: only those are read).
    pub fn guard(&self, desired: &Desired, file: &Path) -> anyhow::Result<Guard> {
        let accept = self.accept_gone.iter().cloned().collect();
        Guard::new(desired, file, accept)
    }
}

/// The mass-gone guard of a refresh: see [`crate::refresh::hold_back`].
#[derive(Clone, Debug)]
pub struct Guard {
    pub limit: GoneLimit,
    pub accept: std::collections::BTreeSet<String>,
}

impl Guard {
    pub fn new(
        desired: &Desired,
        file: &Path,
        accept: std::collections::BTreeSet<String>,
    ) -> anyhow::Result<Guard> {
        for v in &accept {
            if !desired.vendors.contains_key(v) {
                bail!("--accept-gone {v}: no vendor of that name in the desired state");
            }
        }
        let s = &desired.safety;
        let source = if s.max_gone_percent.is_some() || s.min_existing.is_some() {
            format!("from safety: in {}", file.display())
        } else {
            "the default".to_string()
        };
        Ok(Guard {
            limit: GoneLimit {
                max_gone_percent: s.max_gone_percent.unwrap_or(GoneLimit::DEFAULT_PERCENT),
                min_existing: s.min_existing.unwrap_or(Threshold::DEFAULT_MIN_EXISTING),
                source,
            },
            accept,
        })
    }
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

/// Loads the desired state, checks the vendor settings that come from the
/// environment, and logs the warnings.
pub fn load_desired(input: &Input) -> anyhow::Result<Desired> {
    let desired = desired::load(&input.file, &process_env)?;
    check_settings(&desired)?;
    for w in &desired.warnings {
        tracing::warn!("{w}");
    }
    Ok(desired)
}

/// The settings the environment gives are checked once it gives them (see
/// [`desired::check_resolved`]).
fn check_settings(desired: &Desired) -> anyhow::Result<()> {
    Ok(desired::check_resolved(desired, &process_env)?)
}

/// Builds the filter from flags, refusing names that match nothing (a typo would
/// otherwise narrow the plan to nothing, silently).
pub fn filter(
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
        users.iter().map(|u| crate::model::identity(u)).collect();
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

/// What reading the vendors learnt.
pub struct Read {
    /// The records to rewrite.
    pub changes: Vec<crate::refresh::Change>,
    /// Vendors that could not be read, and why.
    pub unread: Vec<(String, Unread)>,
    /// Vendors whose list lacked too many recorded accounts: none of their
    /// changes are in `changes`.
    pub refused: Vec<crate::refresh::Refused>,
    /// List requests sent.
    pub requests: usize,
    /// Every value a `${VAR}` gave the vendors' settings: an id or status
    /// shown may be one (DocuSign's `user_id` is also a user it lists).
    pub redactor: crate::secret::Redactor,
}

/// Why a vendor was not read.
pub enum Unread {
    /// It has no API to list its users (Act-On).
    NoList,
    /// Its list could not be read to the end: nothing is concluded from it.
    Failed(String),
    /// The state records it, the desired state no longer configures it.
    NotConfigured,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unread::NoList => f.write_str(
                "this vendor has no API to list its users; its records are kept as they are",
            ),
            Unread::Failed(why) => write!(f, "listing failed, nothing concluded: {why}"),
            Unread::NotConfigured => {
                f.write_str("not configured in the desired state, so it cannot be read")
            }
        }
    }
}

impl Read {
    /// The vendors whose list could not be read to the end.
    pub fn failed(&self) -> Vec<&str> {
        self.unread
            .iter()
            .filter(|(_, why)| matches!(why, Unread::Failed(_)))
            .map(|(vendor, _)| vendor.as_str())
            .collect()
    }

    /// Lines for people: every vendor not read, then every change; ids and
    /// statuses are the vendor's text, so every line passes the redaction gate.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .unread
            .iter()
            .map(|(vendor, why)| format!("  not read    {vendor}: {why}"))
            .collect();
        for c in &self.changes {
            lines.push(format!(
                "  refreshed   {}  {}: {}",
                c.vendor,
                c.email,
                c.describe()
            ));
        }
        lines.iter().map(|l| self.redactor.redact(l)).collect()
    }
}

/// Lists every vendor `filter` keeps and merges what they hold into what
/// `state` records (the changes are returned, not applied). With a `guard`,
/// a vendor whose list lacks too many recorded accounts keeps its records
/// (`Read::refused`). Changes nothing at any vendor.
pub fn read_vendors(
    desired: &Desired,
    state: &State,
    filter: &Filter,
    guard: Option<&Guard>,
) -> anyhow::Result<Read> {
    use crate::refresh::{self, Seen};
    let readers = refresh::readers(desired, filter, &process_env)?;
    let seen = runtime()?.block_on(refresh::observe(readers, state));
    let mut changes = refresh::merge(desired, state, &seen, filter, std::time::SystemTime::now());
    let refused = match guard {
        Some(g) => refresh::hold_back(state, &seen, &mut changes, &g.limit, &g.accept),
        None => Vec::new(),
    };
    let mut unread = Vec::new();
    let mut requests = 0;
    for (vendor, s) in &seen {
        match s {
            Seen::Listed { listing, .. } => requests += listing.requests,
            Seen::Unlistable => unread.push((vendor.clone(), Unread::NoList)),
            Seen::Failed(why) => {
                requests += 1;
                unread.push((vendor.clone(), Unread::Failed(why.clone())))
            }
        }
    }
    for vendor in state.vendors.keys() {
        if filter.vendor(vendor) && !desired.vendors.contains_key(vendor) {
            unread.push((vendor.clone(), Unread::NotConfigured));
        }
    }
    let redactor = crate::secret::Redactor::default();
    for vendor in desired.vendors.values() {
        for (value, _) in crate::vendors::interpolated(&vendor.config, &process_env) {
            redactor.add_value(&value);
        }
    }
    Ok(Read {
        changes,
        unread,
        refused,
        requests,
        redactor,
    })
}

/// `--refresh` of plan and apply: reads the vendors, says on stderr what it
/// learnt, and merges it into `state` in memory, but for the vendors `guard`
/// refuses (a probable bad read), which keep their records and are returned
/// with the changes.
pub fn refresh_in_memory(
    desired: &Desired,
    state: &mut State,
    filter: &Filter,
    guard: &Guard,
) -> anyhow::Result<(Vec<crate::refresh::Change>, Vec<crate::refresh::Refused>)> {
    let read = read_vendors(desired, state, filter, Some(guard))?;
    for line in read.lines() {
        stderr::notice(&line);
    }
    for r in &read.refused {
        tracing::warn!("{}", r.describe());
    }
    stderr::notice(&format!(
        "Refreshed from the vendors ({} list request(s)): {}.",
        read.requests,
        crate::refresh::summary(&read.changes)
    ));
    // A plan made while a vendor could not be read would say "nothing to do"
    // for accounts nobody looked at: a pipeline must not take that for green.
    let failed = read.failed();
    if !failed.is_empty() {
        bail!(
            "--refresh could not read {}; nothing was planned or sent. Run `roster refresh` to see why, or plan without --refresh",
            failed.join(", ")
        );
    }
    crate::refresh::apply_to(state, &read.changes);
    Ok((read.changes, read.refused))
}

/// Whether stdout gets colour: a terminal, and NO_COLOR unset.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The async runtime the commands that talk to vendors run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
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
