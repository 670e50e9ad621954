//! The state file as a [`Backend`]: the JSON file, its write-ahead journal and
//! its lock beside it, through the public functions of `Store`, `Journal` and
//! `Lock`. One lock for the whole file, whatever the scope asked.

use super::backend::{Backend, JournalSink, LockGuard, Scope};
use super::{Journal, Lock, Record, Result, State, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct FileBackend {
    /// Shared with the blocking threads its work runs on.
    store: Arc<Store>,
    /// How long `lock` waits for another run holding the file.
    lock_timeout: std::time::Duration,
}

impl FileBackend {
    pub fn new(path: impl Into<PathBuf>) -> FileBackend {
        FileBackend {
            store: Arc::new(Store::new(path)),
            lock_timeout: std::time::Duration::ZERO,
        }
    }

    /// Waits up to `timeout` for the lock when another run holds it.
    pub fn with_lock_timeout(mut self, timeout: std::time::Duration) -> FileBackend {
        self.lock_timeout = timeout;
        self
    }

    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// Runs `work` on the store on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        super::blocking(move || work(&store)).await
    }
}

#[async_trait::async_trait]
impl Backend for FileBackend {
    fn describe(&self) -> String {
        self.store.path().display().to_string()
    }

    async fn exists(&self) -> Result<bool> {
        self.run(|store| Ok(store.path().exists() || store.journal_path().exists()))
            .await
    }

    async fn load(&self) -> Result<State> {
        // Read on a blocking thread, parsed by the thread that awaits: glibc's
        // malloc keeps a thread's allocations in its own arena, so a parse on
        // the blocking thread could not reuse what the desired state's parse
        // freed (a plan of 100,000 users peaked 130 MB higher).
        let bytes = self.run(Store::read_file).await?;
        let state = self.store.parse(bytes.as_deref())?;
        drop(bytes);
        self.run(move |store| store.fold_journal(state)).await
    }

    async fn has_journal(&self) -> Result<bool> {
        self.run(|store| Ok(store.journal_path().exists())).await
    }

    async fn save(&self, state: &mut State) -> Result<()> {
        // The state moves to the blocking thread and back.
        let mut moved = std::mem::take(state);
        let (moved, saved) = self
            .run(move |store| {
                let saved = store.save(&mut moved);
                Ok((moved, saved))
            })
            .await?;
        *state = moved;
        saved
    }

    async fn replace(&self, state: &State) -> Result<()> {
        // `save` raises the serial by one and keeps a lineage that is set, so
        // this writes `state` as it is, and retires any journal.
        let mut copy = state.clone();
        copy.serial = state
            .serial
            .checked_sub(1)
            .ok_or_else(|| anyhow::anyhow!("the state to copy was never saved (serial 0)"))?;
        if copy.lineage.is_empty() {
            return Err(anyhow::anyhow!("the state to copy has no lineage").into());
        }
        self.run(move |store| store.save(&mut copy)).await
    }

    async fn journal(&self) -> Result<Box<dyn JournalSink>> {
        let journal = self.run(Store::journal).await?;
        Ok(Box::new(FileJournal {
            journal: Some((journal, Vec::new())),
        }))
    }

    async fn lock(&self, _scope: &Scope, command: &str) -> Result<Box<dyn LockGuard>> {
        let held = Lock::acquire_within(self.store.path(), command, self.lock_timeout).await?;
        Ok(Box::new(FileLock { held: Some(held) }))
    }

    async fn unlock(&self) -> Result<Option<String>> {
        let unlocked = self.run(|store| super::unlock(store.path(), None)).await?;
        Ok(match unlocked {
            super::Unlocked::NotLocked => None,
            super::Unlocked::Cleared(super::LockRecord::Holder(holder)) => Some(holder.to_string()),
            super::Unlocked::Cleared(_) => Some("nobody (an unreadable lock record)".into()),
        })
    }
}

struct FileJournal {
    /// The journal and its line buffer (reused between appends), lent to the
    /// blocking thread of an append; gone only if an append was abandoned
    /// mid-write.
    journal: Option<(Journal, Vec<u8>)>,
}

#[async_trait::async_trait]
impl JournalSink for FileJournal {
    async fn append(&mut self, records: &[(String, String, Record)]) -> Result<()> {
        let (mut journal, mut lines) = self.journal.take().ok_or_else(|| {
            anyhow::anyhow!("the journal is closed: an earlier append did not finish")
        })?;
        lines.clear();
        Journal::encode(
            &mut lines,
            records
                .iter()
                .map(|(vendor, email, record)| (vendor.as_str(), email.as_str(), record)),
        )?;
        let (journal, lines, written) = super::blocking(move || {
            let written = journal.write(&lines);
            Ok((journal, lines, written))
        })
        .await?;
        self.journal = Some((journal, lines));
        written
    }
}

/// The file's lock. Released by [`LockGuard::release`] on a blocking thread;
/// a guard dropped unreleased releases it in `Lock`'s own `Drop` (a short
/// write and an unlock), and the kernel releases it when the process ends.
struct FileLock {
    held: Option<Lock>,
}

#[async_trait::async_trait]
impl LockGuard for FileLock {
    async fn release(mut self: Box<Self>) {
        if let Some(lock) = self.held.take() {
            let _ = super::blocking(move || {
                drop(lock);
                Ok(())
            })
            .await;
        }
    }
}
