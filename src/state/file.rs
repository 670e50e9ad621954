//! The state file as a [`Backend`]: the JSON file, its write-ahead journal and
//! its lock beside it, through the public functions of `Store`, `Journal` and
//! `Lock`. One lock for the whole file, whatever the scope asked.

use super::backend::{Backend, JournalSink, LockGuard, Scope};
use super::{Journal, Lock, Record, Result, State, Store};
use std::path::{Path, PathBuf};

pub struct FileBackend {
    store: Store,
    /// How long `lock` waits for another run holding the file.
    lock_timeout: std::time::Duration,
}

impl FileBackend {
    pub fn new(path: impl Into<PathBuf>) -> FileBackend {
        FileBackend {
            store: Store::new(path),
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
}

impl Backend for FileBackend {
    fn describe(&self) -> String {
        self.store.path().display().to_string()
    }

    fn exists(&self) -> Result<bool> {
        Ok(self.store.path().exists() || self.store.journal_path().exists())
    }

    fn load(&self) -> Result<State> {
        self.store.load()
    }

    fn has_journal(&self) -> Result<bool> {
        Ok(self.store.journal_path().exists())
    }

    fn save(&self, state: &mut State) -> Result<()> {
        self.store.save(state)
    }

    fn replace(&self, state: &State) -> Result<()> {
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
        self.store.save(&mut copy)
    }

    fn journal(&self) -> Result<Box<dyn JournalSink>> {
        Ok(Box::new(FileJournal {
            journal: self.store.journal()?,
            lines: Vec::new(),
        }))
    }

    fn lock(&self, _scope: &Scope, command: &str) -> Result<Box<dyn LockGuard>> {
        Ok(Box::new(FileLock {
            _held: Lock::acquire_within(self.store.path(), command, self.lock_timeout)?,
        }))
    }

    fn unlock(&self) -> Result<Option<String>> {
        Ok(match super::unlock(self.store.path(), None)? {
            super::Unlocked::NotLocked => None,
            super::Unlocked::Cleared(super::LockRecord::Holder(holder)) => Some(holder.to_string()),
            super::Unlocked::Cleared(_) => Some("nobody (an unreadable lock record)".into()),
        })
    }
}

struct FileJournal {
    journal: Journal,
    /// Reused between appends.
    lines: Vec<u8>,
}

impl JournalSink for FileJournal {
    fn append(&mut self, records: &[(String, String, Record)]) -> Result<()> {
        self.lines.clear();
        Journal::encode(
            &mut self.lines,
            records
                .iter()
                .map(|(vendor, email, record)| (vendor.as_str(), email.as_str(), record)),
        )?;
        self.journal.write(&self.lines)
    }
}

struct FileLock {
    _held: Lock,
}

impl LockGuard for FileLock {}
