//! What an apply did, pair by pair.

use crate::state::{Record, Status};

/// What apply did.
#[derive(Debug, Default)]
pub struct Report {
    pub created: usize,
    pub adopted: usize,
    /// Pairs that failed (or are gone), with the reason.
    pub failed: Vec<Note>,
    /// Pairs without an answer, left pending for the next apply to verify.
    pub pending: Vec<Note>,
    /// What vendors warned of for pairs that were created.
    pub warnings: Vec<Note>,
    pub requests: usize,
}

impl Report {
    /// The one line that sums it up: `Apply: 9 created, 0 adopted, ...`.
    pub fn line(&self) -> String {
        format!(
            "Apply: {} created, {} adopted, {} failed, {} unverified ({} request(s)).",
            self.created,
            self.adopted,
            self.failed.len(),
            self.pending.len(),
            self.requests
        )
    }
}

/// One (vendor, email) pair and what there is to say of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    pub vendor: String,
    pub email: String,
    pub message: String,
}

impl Note {
    fn new(vendor: &str, email: &str, message: impl Into<String>) -> Note {
        Note {
            vendor: vendor.to_string(),
            email: email.to_string(),
            message: message.into(),
        }
    }
}

impl Report {
    pub(super) fn merge(&mut self, other: Report) {
        self.created += other.created;
        self.adopted += other.adopted;
        self.failed.extend(other.failed);
        self.pending.extend(other.pending);
        self.warnings.extend(other.warnings);
        self.requests += other.requests;
    }

    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.pending.is_empty()
    }

    pub(super) fn count(&mut self, vendor: &str, email: &str, record: &Record) {
        let entry = || Note::new(vendor, email, record.error.clone().unwrap_or_default());
        match record.status {
            Status::Created => self.created += 1,
            Status::Adopted => self.adopted += 1,
            Status::Failed | Status::Gone => self.failed.push(entry()),
            Status::Pending => self.pending.push(entry()),
        }
        for w in &record.warnings {
            self.warnings.push(Note::new(vendor, email, w.clone()));
        }
    }
}
