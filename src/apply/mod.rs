//! The executor: carries out a plan's creations and verifications through the
//! drivers, per vendor concurrently, in batches, and records every outcome.
//!
//! Recording is write-ahead: a `pending` record reaches the journal (fsync'd)
//! before its creation is sent, the final record as its answer arrives, and the
//! state file is rewritten once at the end. Whatever kills roster in between, the
//! next load knows every creation that may have happened.

mod execute;
mod prepare;
mod record;
mod report;

pub use execute::{execute, Advance};
pub use prepare::{prepare, Job, VendorJobs};
pub use record::Recorder;
pub use report::{Note, Report};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{now, Backend, RawSpec, Record, Status};

    #[test]
    fn an_outcome_journaled_but_not_yet_in_memory_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::state::FileBackend::new(dir.path().join("s.json"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = runtime.block_on(store.load()).unwrap();
        let recorder = runtime
            .block_on(Recorder::new(Box::new(store), state))
            .unwrap();
        let record = Record {
            status: Status::Created,
            remote_id: Some("r1".into()),
            at: now(),
            fingerprint: "sha256:00".into(),
            spec: RawSpec::of(&serde_json::json!({})),
            error: None,
            inactive: false,
            vendor_status: None,
            warnings: vec![],
        };
        runtime.block_on(async {
            // Cancelled (a signal) once its line is on its way to the journal,
            // before the state in memory is told.
            let write = recorder.write("v", vec![("a@x.io", record)]);
            futures::pin_mut!(write);
            let _ = futures::poll!(write);
        });
        let state = runtime.block_on(recorder.finish()).unwrap();
        assert_eq!(
            state.get("v", "a@x.io").map(|r| r.status),
            Some(Status::Created)
        );
    }
}
