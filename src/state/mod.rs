//! The recorded state: what roster has created or adopted at each vendor, kept in a
//! JSON file the pipeline commits, plus the journal apply appends to as it runs.

mod backend;
mod error;
mod file;
mod lock;
pub mod merge;
pub mod postgres;
mod store;
mod wait;

pub use backend::{Backend, HistoryEntry, JournalSink, LockGuard, Scope};
pub use error::{Error, Kind, Result};
pub use file::FileBackend;
pub use lock::{hostname, lock_path, unlock, Holder, Lock, Record as LockRecord, Unlocked};
pub use store::{write_atomically, Journal, Repaired, Store};
pub use wait::lock_within;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Runs `work`, short synchronous file work of a store, on the runtime's
/// blocking threads: an async store method never blocks the runtime itself.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        Error::Other(anyhow::anyhow!(
            "a state file operation did not finish: {e}"
        ))
    })?
}

/// The state format this roster reads and writes.
pub const STATE_VERSION: u64 = 1;

/// Fields are declared in alphabetical order, here and in [`Record`]: the state
/// file is written straight from these types with its keys sorted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Fixed when the state is first written; empty until then.
    pub lineage: String,
    /// One more on every write.
    pub serial: u64,
    /// Set while an apply has work left: what the state held when it began, so
    /// that a re-run of the same input is judged against that, not against the
    /// part it already created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished_apply: Option<UnfinishedApply>,
    /// Records by vendor name, then by lower-cased email.
    #[serde(default)]
    pub vendors: BTreeMap<String, BTreeMap<String, Record>>,
    pub version: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            version: STATE_VERSION,
            lineage: String::new(),
            serial: 0,
            unfinished_apply: None,
            vendors: BTreeMap::new(),
        }
    }
}

/// An apply that began and has not finished all its work (it was interrupted,
/// or some users failed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnfinishedApply {
    /// The accounts the state held when it began.
    pub existing: usize,
    /// The hash of the desired input it applies.
    pub input: String,
    /// When it began (RFC 3339, UTC).
    pub started: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// roster created it.
    Created,
    /// It was there already; roster took it over.
    Adopted,
    /// A creation was sent and its outcome is unknown: to verify.
    Pending,
    /// The vendor refused it, or the request failed: to create again.
    Failed,
    /// It was created or adopted, and a refresh found it no longer at the vendor
    /// (deleted out of band): to create again.
    Gone,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Adopted => "adopted",
            Status::Pending => "pending",
            Status::Failed => "failed",
            Status::Gone => "gone",
        }
    }

    /// The status `as_str` names.
    pub fn parse(name: &str) -> Option<Status> {
        [
            Status::Created,
            Status::Adopted,
            Status::Pending,
            Status::Failed,
            Status::Gone,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Whether an account exists at the vendor.
    pub fn exists(self) -> bool {
        matches!(self, Status::Created | Status::Adopted)
    }
}

/// What roster knows of one user in one vendor account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// When this record was written (RFC 3339, UTC).
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Fingerprint of `spec`.
    pub fingerprint: String,
    /// The vendor holds the account as closed, inactive or disabled (seen by a
    /// refresh): it exists, but is not a live account.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inactive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// The non-secret payload as it was sent or adopted.
    pub spec: RawSpec,
    pub status: Status,
    /// The vendor's own word for the account's status, as last seen by a refresh
    /// (`active`, `closed`, `ActivationSent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_status: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Record {
    /// Whether this is a live account at the vendor, as far as roster knows.
    pub fn live(&self) -> bool {
        self.status.exists() && !self.inactive
    }
}

/// A recorded spec, kept as JSON text: a plan compares fingerprints and reads a
/// spec only to show drift, so 100k records are not each parsed into a tree. In
/// the file it is pretty-printed like the rest, keys sorted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawSpec(Box<serde_json::value::RawValue>);

impl RawSpec {
    /// The canonical JSON of `spec` (whose serialization must sort its keys, as
    /// `desired::Spec` does).
    pub fn of(spec: &impl Serialize) -> RawSpec {
        match serde_json::value::to_raw_value(spec) {
            Ok(raw) => RawSpec(raw),
            // Serializing plain data to JSON does not fail; keep the state valid anyway.
            Err(_) => RawSpec(
                serde_json::value::RawValue::from_string("null".into()).expect("null is JSON"),
            ),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for RawSpec {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl State {
    pub fn get(&self, vendor: &str, email: &str) -> Option<&Record> {
        self.vendors.get(vendor)?.get(email)
    }

    pub fn set(&mut self, vendor: &str, email: &str, record: Record) {
        self.vendors
            .entry(vendor.to_string())
            .or_default()
            .insert(email.to_string(), record);
    }

    /// How many accounts the state records as existing at a vendor.
    pub fn existing(&self) -> usize {
        self.records().filter(|(_, _, r)| r.live()).count()
    }

    /// Keys every record by its email's one normal form (`model::identity`),
    /// as roster.yaml's users are: a state written before emails had one form,
    /// or edited by hand, would otherwise plan its accounts as new. Where two
    /// keys meet, the record that says more is kept (as `state merge` does).
    /// Returns how many keys changed.
    pub fn normalise_keys(&mut self) -> usize {
        let mut changed = 0;
        for records in self.vendors.values_mut() {
            if records.keys().all(|e| crate::model::is_identity(e)) {
                continue;
            }
            let mut out: BTreeMap<String, Record> = BTreeMap::new();
            for (email, record) in std::mem::take(records) {
                let key = crate::model::identity(&email);
                changed += usize::from(key != email);
                let keep = match out.get(&key) {
                    Some(held) => {
                        (merge::weight(&record), &record.at) > (merge::weight(held), &held.at)
                    }
                    None => true,
                };
                if keep {
                    out.insert(key, record);
                }
            }
            *records = out;
        }
        changed
    }

    /// Every record, sorted by vendor then email.
    pub fn records(&self) -> impl Iterator<Item = (&str, &str, &Record)> {
        self.vendors
            .iter()
            .flat_map(|(v, users)| users.iter().map(move |(e, r)| (v.as_str(), e.as_str(), r)))
    }
}

/// Now, as RFC 3339 in UTC to the second.
pub fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
