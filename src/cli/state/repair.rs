//! `state repair`: make a damaged journal loadable again, losing nothing.

use super::super::args::StateFile;
use super::super::output::{say, Exit};

pub fn exec(file: &StateFile) -> anyhow::Result<Exit> {
    let (journal, report) = roster::ops::state::repair::run(&file.location())?;
    if report.pending.is_empty() && report.unattributed.is_empty() && report.torn == 0 {
        say!(
            "{}: nothing to repair ({} complete record(s)).",
            journal.display(),
            report.kept
        );
        return Ok(Exit::Ok);
    }
    say!(
        "Repaired {}: kept {} complete record(s).",
        journal.display(),
        report.kept
    );
    for (line, vendor, email) in &report.pending {
        say!("  line {line}: unreadable; {vendor}  {email} is now pending: the next apply verifies it");
    }
    for line in &report.unattributed {
        say!("  line {line}: unreadable and names no user roster can make out: check it by hand");
    }
    if report.torn > 0 {
        say!(
            "  the last line was incomplete ({} bytes, a write that never finished)",
            report.torn
        );
    }
    if let Some(side) = &report.rejected {
        say!(
            "Every line not kept as it was is saved in {}; keep it until you have checked those users.",
            side.display()
        );
    }
    Ok(Exit::Ok)
}
