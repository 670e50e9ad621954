//! `roster history`: who recorded which account, when, from which run and
//! commit. Only a PostgreSQL state keeps a history; a state file's is its git log.

use super::args::StateFile;
use super::output::{emit, say, Exit, Format};
use clap::Args;
use roster::secret::sanitise;
use serde::Serialize;

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
    entries: &'a [roster::state::HistoryEntry],
}

pub fn exec(ctx: &roster::ops::Context<'_>, args: &HistoryArgs) -> anyhow::Result<Exit> {
    let (entries, path) =
        roster::ops::history::run(ctx, &args.state.location(), &args.vendors, &args.users)?;
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
                say!("{path}: no history recorded.");
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
    Ok(Exit::Ok)
}
