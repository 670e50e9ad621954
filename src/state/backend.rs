//! The state backend: where the recorded state lives, as one interface that
//! plan, apply and the commands hold without knowing which store they have (the
//! state file in src/state/file.rs, PostgreSQL in src/state/postgres.rs).
//!
//! The contract every backend keeps (tests/it/backend_contract.rs checks it once
//! against each):
//! - `load` returns the last saved state with every journaled record folded in,
//!   a later record of a pair replacing an earlier one;
//! - `journal().append` returns only once its records are durable: a record
//!   appended and then the process killed is in the next `load`;
//! - `save` makes the given state the saved one and retires the journal it holds;
//!   `replace` does so keeping the given lineage and serial (a copy);
//! - `lock` gives one holder at a time the right to write the vendors it names
//!   and says who holds them otherwise.
//!
//! The methods that reach the store are async and run on the caller's runtime
//! (the binary's one): the database's calls are awaited, the file's work runs
//! on the runtime's blocking threads. A synchronous workflow awaits them with
//! its runtime at its own top, never inside a store.

use super::{Record, Result, State};
use std::collections::BTreeSet;

/// Which vendors a command writes, so a backend that leases per vendor takes
/// only those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every vendor of the state (commands that rewrite it as a whole).
    All,
    /// These vendors.
    Vendors(BTreeSet<String>),
}

impl Scope {
    pub fn vendors<I, S>(names: I) -> Scope
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Scope::Vendors(names.into_iter().map(Into::into).collect())
    }

    pub fn covers(&self, vendor: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Vendors(v) => v.contains(vendor),
        }
    }
}

/// A recorded state's home. Every method fails with a [`super::Error`] whose
/// kind a caller can act on (locked, fenced, corrupt, unreachable).
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// What to call it in messages: the file's path, or the database's URL
    /// without its password and the workspace. Never carries a secret.
    fn describe(&self) -> String;

    /// The vendor accounts' rate budget every runner sharing this store
    /// spends, if it keeps one (PostgreSQL does): given to the vendors'
    /// clients through `vendors::Context`.
    fn shared_budget(&self) -> Option<std::sync::Arc<dyn crate::model::SharedBudget>> {
        None
    }

    /// Whether anything was ever recorded here.
    async fn exists(&self) -> Result<bool>;

    /// The saved state with the journal folded in; an empty state if none.
    async fn load(&self) -> Result<State>;

    /// Whether journaled records wait to be folded into the saved state.
    async fn has_journal(&self) -> Result<bool>;

    /// Saves `state` (its serial raised, its lineage fixed if new) and retires
    /// the journal it now contains.
    async fn save(&self, state: &mut State) -> Result<()>;

    /// Makes `state` the saved one exactly as it is (lineage and serial kept,
    /// every other record gone): a copy from another backend. Needs the lock
    /// of [`Scope::All`].
    async fn replace(&self, state: &State) -> Result<()>;

    /// Opens the journal for appending.
    async fn journal(&self) -> Result<Box<dyn JournalSink>>;

    /// Takes the right to write `scope` for `command`, or says who holds it.
    /// Held until the guard is released ([`LockGuard::release`]).
    async fn lock(&self, scope: &Scope, command: &str) -> Result<Box<dyn LockGuard>>;

    /// Releases a lock by hand; says who held it. Neither store ever breaks
    /// a live lock: the file store clears only the record of a holder that is
    /// gone (the kernel's lock of a live one is never broken); the database
    /// removes only leases that expired or whose process is known gone, and
    /// refuses, naming the holder, one that is alive and renewing.
    async fn unlock(&self) -> Result<Option<String>>;

    /// The hash of the desired input this run works from, for a backend that
    /// keeps a history of who wrote what.
    fn set_input(&self, _digest: &str) {}

    /// The history of the records `vendors` and `emails` narrow to (all when
    /// empty), oldest first; `None` for a backend that keeps none.
    async fn history(
        &self,
        _vendors: &[String],
        _emails: &[String],
    ) -> Result<Option<Vec<HistoryEntry>>> {
        Ok(None)
    }
}

/// One record as it was written: an intent (`pending`), an outcome, or
/// `removed` when a command forgot it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HistoryEntry {
    /// When the database recorded it (RFC 3339, UTC).
    pub recorded: String,
    pub vendor: String,
    pub email: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub run_id: String,
    pub host: String,
    pub command: String,
    /// The hash of the desired input the run worked from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The commit the run was for (GITHUB_SHA, CI_COMMIT_SHA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
}

/// The write-ahead journal of one run.
#[async_trait::async_trait]
pub trait JournalSink: Send {
    /// Appends `records` (vendor, email, record) and returns once they are
    /// durable: one write (one fsync, one round trip) for the whole batch.
    async fn append(&mut self, records: &[(String, String, Record)]) -> Result<()>;
}

/// A held lock or lease.
#[async_trait::async_trait]
pub trait LockGuard: Send {
    /// Releases it; a release that fails is said (a lease then expires by
    /// itself). Every workflow awaits this when done. Dropping a guard
    /// unreleased (an early return, a panic) releases it too, best effort:
    /// see each store's `Drop`.
    async fn release(self: Box<Self>);
}
