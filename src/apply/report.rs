//! What an apply did, pair by pair.

use crate::state::{Record, Status};

/// What apply did.
#[derive(Debug, Default)]
pub struct Report {
    pub created: usize,
    pub adopted: usize,
    pub failed: Vec<(String, String, String)>,
    pub pending: Vec<(String, String, String)>,
    pub warnings: Vec<(String, String, String)>,
    pub requests: usize,
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
        let entry = || {
            (
                vendor.to_string(),
                email.to_string(),
                record.error.clone().unwrap_or_default(),
            )
        };
        match record.status {
            Status::Created => self.created += 1,
            Status::Adopted => self.adopted += 1,
            Status::Failed | Status::Gone => self.failed.push(entry()),
            Status::Pending => self.pending.push(entry()),
        }
        for w in &record.warnings {
            self.warnings
                .push((vendor.to_string(), email.to_string(), w.clone()));
        }
    }
}
