//! Where the state lives on disk: the state file, written atomically, and its
//! write-ahead journal, replayed on load.
//!
//! Apply appends a `pending` record to the journal (fsync'd) before it sends a
//! creation, and the final record as each answer arrives. If roster dies, the next
//! load folds the journal in: a creation whose answer never came is `pending`, and
//! the next plan verifies it instead of creating it again.

use super::{Record, State, STATE_VERSION};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

pub struct Store {
    path: PathBuf,
}

/// One journal line.
#[derive(Serialize, Deserialize)]
struct Entry {
    vendor: String,
    email: String,
    record: Record,
}

impl Store {
    pub fn new(path: impl Into<PathBuf>) -> Store {
        Store { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn journal_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".journal");
        self.path.with_file_name(name)
    }

    /// The state on disk with any leftover journal folded in; an empty state if
    /// there is no file yet.
    pub fn load(&self) -> anyhow::Result<State> {
        let mut state = match std::fs::read(&self.path) {
            Ok(bytes) => parse_state(&self.path, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()))
            }
        };
        self.replay(&mut state)?;
        Ok(state)
    }

    /// Folds the journal's records into `state`; returns how many it held.
    fn replay(&self, state: &mut State) -> anyhow::Result<usize> {
        let path = self.journal_path();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut lines = BufReader::new(file).split(b'\n').peekable();
        let mut count = 0;
        let mut number = 0;
        while let Some(line) = lines.next() {
            number += 1;
            let line = line.with_context(|| format!("cannot read {}", path.display()))?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Entry>(&line) {
                Ok(entry) => {
                    state.set(&entry.vendor, &entry.email, entry.record);
                    count += 1;
                }
                // A torn last line is a write that never completed: the intent it
                // held was not acted on, or the result it held left a pending
                // record behind that the next apply verifies.
                Err(_) if lines.peek().is_none() => {
                    tracing::warn!(
                        "{}:{number}: ignoring an incomplete last line",
                        path.display()
                    );
                }
                Err(e) => bail!(
                    "{}:{number}: corrupt journal line ({e}); roster will not guess what happened. \
                     Inspect the file, then remove the line or the journal",
                    path.display()
                ),
            }
        }
        if count > 0 {
            tracing::warn!(
                "{}: folded in {count} record(s) left by an apply that did not finish",
                path.display()
            );
        }
        Ok(count)
    }

    /// Writes `state` atomically with its serial raised, then drops the journal it
    /// now contains.
    pub fn save(&self, state: &mut State) -> anyhow::Result<()> {
        if state.lineage.is_empty() {
            state.lineage = uuid::Uuid::new_v4().to_string();
        }
        state.serial += 1;
        // Through a Value, whose maps are sorted, so every key comes out in order.
        let value = serde_json::to_value(&*state).context("cannot serialize the state")?;
        let mut text =
            serde_json::to_string_pretty(&value).context("cannot serialize the state")?;
        text.push('\n');
        write_atomically(&self.path, text.as_bytes())?;
        match std::fs::remove_file(self.journal_path()) {
            Ok(()) => sync_dir(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                Err(e).with_context(|| format!("cannot remove {}", self.journal_path().display()))
            }
        }
    }

    /// Opens the journal for appending.
    pub fn journal(&self) -> anyhow::Result<Journal> {
        let path = self.journal_path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        sync_dir(&path)?;
        Ok(Journal { file, path })
    }
}

fn parse_state(path: &Path, bytes: &[u8]) -> anyhow::Result<State> {
    let name = path.display();
    let newer = |v: u64| {
        anyhow::anyhow!(
            "{name}: state format {v} is newer than this roster understands ({STATE_VERSION}); upgrade roster"
        )
    };
    match serde_json::from_slice::<State>(bytes) {
        Ok(state) if state.version > STATE_VERSION => Err(newer(state.version)),
        Ok(state) => Ok(state),
        // Say why as precisely as possible: not JSON, another format, or damaged.
        Err(e) => {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                return Err(e)
                    .with_context(|| format!("{name}: not a roster state file (invalid JSON)"));
            };
            match value.get("version").and_then(serde_json::Value::as_u64) {
                Some(v) if v > STATE_VERSION => Err(newer(v)),
                Some(_) => Err(e).with_context(|| format!("{name}: not a valid roster state file")),
                None => bail!("{name}: not a roster state file (no `version`)"),
            }
        }
    }
}

/// Append-only log of records, fsync'd per write.
pub struct Journal {
    file: File,
    path: PathBuf,
}

/// Borrowed form of a journal line, so encoding clones nothing.
#[derive(Serialize)]
struct EntryRef<'a> {
    vendor: &'a str,
    email: &'a str,
    record: &'a Record,
}

impl Journal {
    /// Appends one journal line per record to `buf`.
    pub fn encode<'a>(
        buf: &mut Vec<u8>,
        records: impl IntoIterator<Item = (&'a str, &'a str, &'a Record)>,
    ) -> anyhow::Result<()> {
        for (vendor, email, record) in records {
            let entry = EntryRef {
                vendor,
                email,
                record,
            };
            serde_json::to_writer(&mut *buf, &entry).context("cannot serialize a journal entry")?;
            buf.push(b'\n');
        }
        Ok(())
    }

    /// Appends encoded lines and makes them durable before returning.
    pub fn write(&mut self, lines: &[u8]) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(lines)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// Temp file in the same folder, fsync, rename over, fsync the folder.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".roster-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    sync_dir(path)
}

fn sync_dir(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Status;

    fn record(status: Status) -> Record {
        Record {
            status,
            remote_id: Some("r1".into()),
            at: "2026-01-01T00:00:00Z".into(),
            fingerprint: "sha256:00".into(),
            spec: crate::state::RawSpec::of(&serde_json::json!({"email": "a@x.io"})),
            error: None,
            inactive: false,
            vendor_status: None,
            warnings: vec![],
        }
    }

    #[test]
    fn save_is_sorted_and_load_replays_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state/roster.state.json"));
        let mut state = store.load().unwrap();
        assert_eq!(state, State::default());
        state.set("zeta", "b@x.io", record(Status::Created));
        state.set("alpha", "a@x.io", record(Status::Adopted));
        store.save(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        let text = std::fs::read_to_string(store.path()).unwrap();
        // Keys in order at every level, the spec pretty-printed like the rest.
        let order = |keys: &[&str]| {
            let at: Vec<usize> = keys
                .iter()
                .map(|k| text.find(&format!("\"{k}\":")).unwrap())
                .collect();
            assert!(
                at.windows(2).all(|w| w[0] < w[1]),
                "{keys:?} out of order in\n{text}"
            );
        };
        order(&["lineage", "serial", "vendors", "alpha", "zeta", "version"]);
        order(&["at", "fingerprint", "remote_id", "spec", "status"]);
        assert!(
            text.contains("\"spec\": {\n          \"email\": \"a@x.io\"\n        },"),
            "{text}"
        );

        let mut journal = store.journal().unwrap();
        let pending = record(Status::Pending);
        let mut line = Vec::new();
        Journal::encode(&mut line, [("alpha", "c@x.io", &pending)]).unwrap();
        journal.write(&line).unwrap();
        drop(journal);
        // A torn last line is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(store.journal_path())
            .unwrap();
        f.write_all(b"{\"vendor\":\"alpha\",\"ema").unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(
            loaded.get("alpha", "c@x.io").unwrap().status,
            Status::Pending
        );
        assert_eq!(loaded.serial, 1);
    }

    #[test]
    fn refuses_future_and_corrupt_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let store = Store::new(&path);
        std::fs::write(&path, r#"{"version": 9, "lineage": "x", "serial": 1}"#).unwrap();
        assert!(format!("{:#}", store.load().unwrap_err()).contains("newer"));
        std::fs::write(&path, "{not json").unwrap();
        assert!(format!("{:#}", store.load().unwrap_err()).contains("invalid JSON"));
        std::fs::write(&path, r#"{"version": 1, "lineage": "x", "serial": 1}"#).unwrap();
        std::fs::write(store.journal_path(), "garbage\n{}\n").unwrap();
        assert!(format!("{:#}", store.load().unwrap_err()).contains("corrupt journal line"));
    }
}
