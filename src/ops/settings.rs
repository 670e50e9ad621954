//! What a request names: where the state is, which vendors and users it is
//! narrowed to, the safety limits on top of roster.yaml's, and the checks of
//! vendor settings once the environment gives them.

use crate::desired::Desired;
use crate::plan::{Baseline, Filter, GoneLimit, Threshold, Verdict};
use crate::state::{Backend, FileBackend, State};
use anyhow::bail;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the recorded state is: a file, or a PostgreSQL URL and workspace.
#[derive(Clone, Debug)]
pub struct StateLocation {
    /// A file, or a PostgreSQL URL; `None` is [`StateLocation::DEFAULT`].
    pub state: Option<PathBuf>,
    /// With a PostgreSQL state: the workspace.
    pub workspace: String,
    /// How long to wait for another run holding the state.
    pub lock_timeout: Duration,
}

impl StateLocation {
    pub const DEFAULT: &'static str = "state/roster.state.json";

    /// A state file at `path`, failing at once when it is locked.
    pub fn file(path: impl Into<PathBuf>) -> StateLocation {
        StateLocation {
            state: Some(path.into()),
            workspace: "default".into(),
            lock_timeout: Duration::ZERO,
        }
    }

    pub fn path(&self) -> &Path {
        self.state
            .as_deref()
            .unwrap_or_else(|| Path::new(Self::DEFAULT))
    }

    /// The backend `--state` names, refusing a file whose folder does not
    /// exist: a typo there would otherwise start a new, empty state and plan to
    /// create everyone. A database runs on `ctx`'s runtime and reads its
    /// PG* variables from `ctx`'s environment.
    pub fn store(&self, ctx: &super::Context<'_>) -> anyhow::Result<Box<dyn Backend>> {
        if let Some(url) = self.state.as_deref().and_then(Path::to_str) {
            if crate::state::postgres::is_url(url) {
                let backend = ctx
                    .runtime
                    .block_on(crate::state::postgres::PgBackend::connect(
                        url,
                        &self.workspace,
                        self.lock_timeout,
                        ctx.env,
                    ))?;
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
}

/// What a run works on: the desired state's file (or folder), the recorded
/// state, and the vendors and users it is narrowed to.
#[derive(Clone, Debug)]
pub struct Target {
    /// roster.yaml: a file, or a folder of them.
    pub file: PathBuf,
    pub state: StateLocation,
    pub narrow: Narrow,
}

/// Which vendors and users a request is narrowed to (all when empty).
#[derive(Clone, Debug, Default)]
pub struct Narrow {
    pub vendors: Vec<String>,
    pub users: Vec<String>,
}

impl Narrow {
    /// The plan's filter (see [`filter`]).
    pub fn filter(&self, desired: &Desired, state: &State) -> anyhow::Result<Filter> {
        filter(&self.vendors, &self.users, desired, state)
    }
}

/// The safety limits a request sets on top of roster.yaml's `safety:`.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Most accounts one apply may create.
    pub max_create: Option<usize>,
    /// Most accounts one apply may create, as a percentage of those recorded.
    pub max_create_percent: Option<f64>,
}

impl Limits {
    /// The threshold from roster.yaml's `safety:`, with the flags on top.
    pub fn threshold(&self, desired: &Desired, file: &Path) -> Threshold {
        let s = &desired.safety;
        // Each limit says where it comes from: a flag, the file, or the default.
        let origin = |flag: bool, file_sets: bool| {
            if flag {
                "from the command line".to_string()
            } else if file_sets {
                format!("from safety: in {}", file.display())
            } else {
                "the default".to_string()
            }
        };
        Threshold {
            source: origin(
                self.max_create_percent.is_some(),
                s.max_create_percent.is_some(),
            ),
            max_create_source: origin(self.max_create.is_some(), s.max_create.is_some()),
            max_create: self.max_create.or(s.max_create),
            max_create_percent: self
                .max_create_percent
                .or(s.max_create_percent)
                .unwrap_or(Threshold::DEFAULT_PERCENT),
            min_existing: s.min_existing.unwrap_or(Threshold::DEFAULT_MIN_EXISTING),
        }
    }

    /// The verdict on creating `creates` accounts from `state`.
    pub fn verdict(
        &self,
        file: &Path,
        desired: &Desired,
        state: &State,
        creates: usize,
    ) -> Verdict {
        self.threshold(desired, file)
            .judge(creates, &Baseline::of(state, &desired.digest))
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
            check_vendor("--accept-gone", v, desired, None)?;
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

/// Refuses `flag`'s vendor `name` unless the desired state (or, given, the
/// recorded one) has it, suggesting the name most like it.
pub fn check_vendor(
    flag: &str,
    name: &str,
    desired: &Desired,
    state: Option<&State>,
) -> anyhow::Result<()> {
    let recorded = state.map(|s| &s.vendors);
    if desired.vendors.contains_key(name) || recorded.is_some_and(|r| r.contains_key(name)) {
        return Ok(());
    }
    let known = desired
        .vendors
        .keys()
        .chain(recorded.into_iter().flat_map(|r| r.keys()))
        .map(String::as_str);
    bail!(
        "{flag} {name}: no vendor of that name in the desired{} state{}",
        if state.is_some() { " or recorded" } else { "" },
        crate::model::did_you_mean(name, known)
    )
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
        check_vendor("--vendor", v, desired, Some(state))?;
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
