//! The workflows of roster, each a function from a request to a typed report:
//! plan, apply, refresh, import, dump, history, and the state's upkeep. A workflow holds the order of
//! the steps (load the desired state, lock, read the state, read the vendors,
//! diff, judge, execute, record); the front end (the `roster` binary) parses
//! its flags into a request, calls one workflow and renders the report.
//!
//! What a workflow needs from outside is handed to it in a [`Context`]: the
//! environment `${VAR}`s are read from, the one async runtime, and where it
//! says what it is doing ([`Events`]). Nothing is read from a process global.

pub mod apply;
pub mod dump;
pub mod history;
pub mod import;
pub mod plan;
mod read;
pub mod refresh;
mod settings;
pub mod state;

pub use read::{read_vendors, refresh_in_memory, Read, Unread};
pub use settings::{filter, Guard, Limits, Narrow, StateLocation, Target};

use crate::desired::{self, Desired};
use crate::model::Env;
use crate::state::{Backend, LockGuard, Scope, State};
use std::path::Path;

/// What every workflow is given.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Where `${VAR}` is looked up: the process environment in the binary.
    pub env: Env<'a>,
    /// The one async runtime the vendors' calls run on.
    pub runtime: &'a tokio::runtime::Runtime,
    /// Where a workflow says what it is doing, and asks what it must ask.
    pub events: &'a dyn Events,
}

impl<'a> Context<'a> {
    /// What the vendors of a run are given: this environment, and the rate
    /// budget of `store` (runners sharing a database share each vendor
    /// account's rate).
    pub fn vendors(&self, store: &dyn Backend) -> crate::vendors::Context<'a> {
        crate::vendors::Context::new(self.env, store.shared_budget())
    }

    /// Takes `store`'s lock of `scope` for `command`, waiting on this
    /// context's runtime: the workflows are synchronous, the store is not.
    pub fn lock(
        &self,
        store: &dyn Backend,
        scope: &Scope,
        command: &str,
    ) -> crate::state::Result<Locked<'a>> {
        let guard = self.runtime.block_on(store.lock(scope, command))?;
        Ok(Locked {
            guard: Some(guard),
            runtime: self.runtime,
        })
    }
}

/// A lock a workflow holds. Released when it goes out of scope, however the
/// workflow ends (done, an error returned early): the release is awaited on
/// the workflow's runtime, from the workflow's own thread, so the lock is
/// free when the workflow returns. A store's own drop of a guard never
/// released (a library caller's) is only a best-effort fallback.
pub struct Locked<'a> {
    guard: Option<Box<dyn LockGuard>>,
    runtime: &'a tokio::runtime::Runtime,
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            self.runtime.block_on(guard.release());
        }
    }
}

/// What a workflow says while it runs, for the front end to show. Every
/// method has a silent default, for callers with no one to tell.
pub trait Events: Sync {
    /// A line for a person (the binary writes it to stderr, not under --quiet).
    fn notice(&self, _text: &str) {}

    /// The plan apply is about to carry out, with its verdict, before it asks
    /// for confirmation.
    fn planned(&self, _view: &crate::plan::render::View<'_>) {}

    /// Whether to go on creating or verifying `accounts` accounts; asked only
    /// when the request did not say yes already.
    fn confirm(&self, _accounts: usize) -> anyhow::Result<bool> {
        Ok(false)
    }

    /// A counter of `total` accounts for `what` ("apply"), advanced as each
    /// finishes.
    fn progress(&self, _what: &'static str, _total: usize) -> Box<dyn Progress + '_> {
        Box::new(Silent)
    }
}

/// Progress of a run over many accounts.
pub trait Progress: Sync {
    /// `n` more accounts finished, `failed` of them failed.
    fn advance(&self, _n: usize, _failed: usize) {}
    /// The run is over.
    fn finish(&self) {}
}

/// Events nobody is told of.
pub struct Silent;

impl Events for Silent {}
impl Progress for Silent {}

/// Loads the desired state from `file`, checks the vendor settings that come
/// from the environment, and logs the warnings.
pub fn load_desired(file: &Path, env: Env<'_>) -> anyhow::Result<Desired> {
    let desired = desired::load(file, env)?;
    // Settings written literally were checked as they were read; those a
    // `${VAR}` gives, now that the environment gives them.
    desired::check_resolved(&desired, env)?;
    for w in &desired.warnings {
        tracing::warn!("{w}");
    }
    Ok(desired)
}

/// The state in `store`; says so when there is none yet.
pub fn load_state(ctx: &Context<'_>, store: &dyn Backend, what: &str) -> anyhow::Result<State> {
    let state = ctx.runtime.block_on(store.load())?;
    if state.lineage.is_empty()
        && state.vendors.is_empty()
        && !ctx.runtime.block_on(store.exists())?
    {
        ctx.events
            .notice(&format!("No state at {}: {what}.", store.describe()));
    }
    Ok(state)
}
