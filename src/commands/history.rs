//! `roster history`: who recorded which account, when, from which run and
//! commit. Only a PostgreSQL state keeps a history; a state file's is its git log.

use super::{emit, say, StateFile, EXIT_OK};
use crate::secret::sanitise;
use anyhow::bail;
use clap::{Args, ValueEnum};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub state: StateFile,
    /// Only this vendor (repeatable).
    #[arg(long = "vendor", value_name = "NAME")]
    pub vendors: Vec<String>,
    /// Only this user's email (repeatable).
    #[arg(long = "user", value_name = "EMAIL")]
    pub users: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Serialize)]
struct JsonHistory<'a> {
    format_version: u32,
    entries: &'a [crate::state::HistoryEntry],
}

pub fn exec(args: &HistoryArgs) -> anyhow::Result<u8> {
    let store = args.state.store()?;
    let users: Vec<String> = args
        .users
        .iter()
        .map(|u| crate::model::identity(u))
        .collect();
    let Some(entries) = store.history(&args.vendors, &users)? else {
        bail!(
            "{} is a state file, which keeps no history (its git log does); a PostgreSQL state (--state postgres://...) keeps one",
            store.describe()
        );
    };
    match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&JsonHistory {
                format_version: 1,
                entries: &entries,
            })
            .unwrap_or_default();
            text.push('\n');
            emit(&text);
        }
        Format::Text => {
            if entries.is_empty() {
                say!("{}: no history recorded.", store.describe());
            }
            for e in &entries {
                let mut line = format!(
                    "{}  {}  {}  {}",
                    e.recorded,
                    e.vendor,
                    sanitise(&e.email),
                    e.status
                );
                if let Some(id) = &e.remote_id {
                    line.push_str(&format!("  id={}", sanitise(id)));
                }
                if let Some(err) = &e.error {
                    line.push_str(&format!("  error={}", sanitise(err)));
                }
                line.push_str(&format!(
                    "  by {} (run {} on {})",
                    e.command, e.run_id, e.host
                ));
                if let Some(c) = &e.git_commit {
                    line.push_str(&format!("  commit={c}"));
                }
                say!("{line}");
            }
        }
    }
    Ok(EXIT_OK)
}
