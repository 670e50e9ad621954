//! `roster import`: record users that already exist at a vendor as adopted,
//! creating nothing.

use super::progress::Progress;
use super::{filter, load_desired, runtime, say, Input, StateFile, EXIT_OK, EXIT_PARTIAL};
use crate::apply::{self, Mode, Recorder};
use crate::desired::process_env;
use crate::plan;
use crate::state::{Lock, Store};
use anyhow::bail;
use clap::Args;

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
    /// How long to wait for the lock while another roster holds it (e.g. 30s,
    /// 10m), then fail naming the holder; 0 fails at once.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
    pub lock_timeout: std::time::Duration,
}

pub fn exec(args: &ImportArgs, quiet: bool) -> anyhow::Result<u8> {
    let _lock = Lock::acquire_within(&args.state.state, "roster import", args.lock_timeout)?;
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
    let report = runtime()?.block_on(apply::execute(
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
