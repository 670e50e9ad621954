//! The flags several commands share, and how they become the library's
//! request types (`roster::ops`).

use clap::Args;
use roster::ops::{Limits, Narrow as Only, StateLocation, Target as Run};
use std::path::PathBuf;

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
    pub fn location(&self) -> StateLocation {
        StateLocation {
            state: self.state.clone(),
            workspace: self.workspace.clone(),
            lock_timeout: self.lock_timeout,
        }
    }
}

/// The safety threshold's flags; `plan` takes them too, so that its verdict is
/// the one apply will reach.
#[derive(Args, Debug)]
pub struct LimitFlags {
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
    roster::model::check_percent(value)
}

impl LimitFlags {
    pub fn limits(&self) -> Limits {
        Limits {
            max_create: self.max_create,
            max_create_percent: self.max_create_percent,
        }
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

#[derive(Args, Debug)]
pub struct Narrow {
    /// Only this vendor (repeatable).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendors: Vec<String>,
    /// Only this user's email (repeatable).
    #[arg(long = "user", value_name = "EMAIL")]
    pub users: Vec<String>,
}

impl Narrow {
    pub fn only(&self) -> Only {
        Only {
            vendors: self.vendors.clone(),
            users: self.users.clone(),
        }
    }
}

/// What a run works on: `-f`, the state flags and the narrowing.
#[derive(Args, Debug)]
pub struct Target {
    #[command(flatten)]
    pub input: Input,
    #[command(flatten)]
    pub state: StateFile,
    #[command(flatten)]
    pub narrow: Narrow,
}

impl Target {
    pub fn target(&self) -> Run {
        Run {
            file: self.input.file.clone(),
            state: self.state.location(),
            narrow: self.narrow.only(),
        }
    }
}
