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
    use crate::state::{now, Backend, RawSpec, Record, State, Status};

    /// A store whose save keeps the state it is given as it is, without
    /// folding in its journal (as the database's does not need to).
    #[derive(Clone, Default)]
    struct Kept(std::sync::Arc<std::sync::Mutex<(State, usize)>>);

    #[async_trait::async_trait]
    impl Backend for Kept {
        fn describe(&self) -> String {
            "kept".into()
        }
        async fn exists(&self) -> crate::state::Result<bool> {
            Ok(false)
        }
        async fn load(&self) -> crate::state::Result<State> {
            Ok(State::default())
        }
        async fn has_journal(&self) -> crate::state::Result<bool> {
            Ok(false)
        }
        async fn save(&self, state: &mut State) -> crate::state::Result<()> {
            self.0.lock().unwrap().0 = state.clone();
            Ok(())
        }
        async fn replace(&self, state: &State) -> crate::state::Result<()> {
            self.0.lock().unwrap().0 = state.clone();
            Ok(())
        }
        async fn journal(&self) -> crate::state::Result<Box<dyn crate::state::JournalSink>> {
            Ok(Box::new(self.clone()))
        }
        async fn lock(
            &self,
            _: &crate::state::Scope,
            _: &str,
        ) -> crate::state::Result<Box<dyn crate::state::LockGuard>> {
            unreachable!("not locked here")
        }
        async fn unlock(&self) -> crate::state::Result<Option<String>> {
            Ok(None)
        }
    }

    #[async_trait::async_trait]
    impl crate::state::JournalSink for Kept {
        async fn append(
            &mut self,
            records: &[(String, String, Record)],
        ) -> crate::state::Result<()> {
            self.0.lock().unwrap().1 += records.len();
            Ok(())
        }
    }

    /// Records a creation through a writer that is cancelled (a signal) once
    /// its line is on its way to the journal, before it hears back; then
    /// finishes, and gives the state `store` saved.
    fn cancelled_write_then_finish(store: Box<dyn Backend>) -> State {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = runtime.block_on(store.load()).unwrap();
        let recorder = runtime.block_on(Recorder::new(store, state)).unwrap();
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
            let write = recorder.write("v", vec![("a@x.io", record)]);
            futures::pin_mut!(write);
            let _ = futures::poll!(write);
        });
        runtime.block_on(recorder.finish()).unwrap()
    }

    #[test]
    fn an_outcome_journaled_while_its_writer_was_cancelled_is_saved_by_any_store() {
        let kept = Kept::default();
        cancelled_write_then_finish(Box::new(kept.clone()));
        let (saved, journaled) = kept.0.lock().unwrap().clone();
        assert_eq!(journaled, 1);
        assert_eq!(
            saved.get("v", "a@x.io").map(|r| r.status),
            Some(Status::Created)
        );
    }

    #[test]
    fn an_outcome_journaled_but_not_yet_in_memory_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::state::FileBackend::new(dir.path().join("s.json"));
        let state = cancelled_write_then_finish(Box::new(store));
        assert_eq!(
            state.get("v", "a@x.io").map(|r| r.status),
            Some(Status::Created)
        );
    }
}
