//! `state show`: the recorded users, one line each, with ids, times and errors.

use super::super::args::StateFile;
use super::super::output::{say, Exit};
use roster::secret::sanitise;

pub fn exec(ctx: &roster::ops::Context<'_>, file: &StateFile) -> anyhow::Result<Exit> {
    let (state, path) = roster::ops::state::read(ctx, &file.location())?;
    if state.lineage.is_empty() && state.vendors.is_empty() {
        say!("{path}: no state recorded yet.");
        return Ok(Exit::Ok);
    }
    say!(
        "{}: lineage {}, serial {}",
        path,
        state.lineage,
        state.serial
    );
    for (vendor, email, r) in state.records() {
        // A state file is input too: what a vendor said is shown sanitised.
        let mut line = format!("{vendor}  {}  {}", sanitise(email), r.status.as_str());
        if let Some(id) = &r.remote_id {
            line.push_str(&format!("  id={}", sanitise(id)));
        }
        line.push_str(&format!("  at={}", r.at));
        if let Some(e) = &r.error {
            line.push_str(&format!("  error={}", sanitise(e)));
        }
        say!("{line}");
    }
    Ok(Exit::Ok)
}
