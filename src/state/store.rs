//! Where the state lives on disk: the state file, written atomically, and its
//! write-ahead journal, replayed on load.
//!
//! Apply appends a `pending` record to the journal (fsync'd) before it sends a
//! creation, and the final record as each answer arrives. If roster dies, the next
//! load folds the journal in: a creation whose answer never came is `pending`, and
//! the next plan verifies it instead of creating it again.

use super::{Error, Record, Result, State, Status, STATE_VERSION};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Store {
    path: PathBuf,
    /// How much of the journal the state in hand already holds: the offset just
    /// after the last complete line `load` folded in. A save folds in what was
    /// appended since, so an outcome journaled but not yet set in memory (a run
    /// cancelled in between) is never lost. `None` until loaded.
    folded: Mutex<Option<u64>>,
}

/// One journal line.
#[derive(Serialize, Deserialize)]
struct Entry {
    vendor: String,
    email: String,
    record: Record,
}

/// What `Store::repair` did to the journal.
#[derive(Debug, Default)]
pub struct Repaired {
    /// Complete records kept as they were.
    pub kept: usize,
    /// Unreadable lines whose vendor and email could be read: (line, vendor,
    /// email), each now a pending record for the next apply to verify.
    pub pending: Vec<(usize, String, String)>,
    /// Unreadable lines that name no user roster could make out.
    pub unattributed: Vec<usize>,
    /// Bytes of an incomplete last line (a write that never finished).
    pub torn: usize,
    /// Where every line not kept as it was is saved, if any.
    pub rejected: Option<PathBuf>,
}

impl Store {
    pub fn new(path: impl Into<PathBuf>) -> Store {
        Store {
            path: path.into(),
            folded: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn journal_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".journal");
        self.path.with_file_name(name)
    }

    /// Where `repair` keeps the journal lines it could not read.
    pub fn rejected_path(&self) -> PathBuf {
        let mut name = self
            .journal_path()
            .file_name()
            .unwrap_or_default()
            .to_os_string();
        name.push(".rejected");
        self.path.with_file_name(name)
    }

    fn set_folded(&self, offset: Option<u64>) {
        *self.folded.lock().unwrap_or_else(|e| e.into_inner()) = offset;
    }

    fn folded(&self) -> Option<u64> {
        *self.folded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state on disk with any leftover journal folded in; an empty state if
    /// there is no file yet.
    pub fn load(&self) -> Result<State> {
        let state = self.read_state()?;
        self.fold_journal(state)
    }

    /// The state file's bytes, `None` when there is no file: the reading
    /// half of [`Store::load`], then [`Store::parse`] and [`Store::fold_journal`].
    pub fn read_file(&self) -> Result<Option<Vec<u8>>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unreadable(&self.path, e)),
        }
    }

    /// The state the file's bytes hold (an empty one for no file).
    pub fn parse(&self, bytes: Option<&[u8]>) -> Result<State> {
        match bytes {
            Some(bytes) => parse_state(&self.path, bytes),
            None => Ok(State::default()),
        }
    }

    /// `state`, read from the file, with the journal folded in and its keys
    /// in their one form.
    pub fn fold_journal(&self, mut state: State) -> Result<State> {
        let (count, end) = self.replay(&mut state, 0)?;
        if count > 0 {
            tracing::warn!(
                "{}: folded in {count} record(s) left by an apply that did not finish",
                self.journal_path().display()
            );
        }
        self.set_folded(Some(end));
        let renamed = state.normalise_keys();
        if renamed > 0 {
            tracing::warn!(
                "{}: {renamed} record(s) keyed by an email in another form are read under its one normal form",
                self.path.display()
            );
        }
        Ok(state)
    }

    /// The state file alone, without its journal.
    fn read_state(&self) -> Result<State> {
        self.parse(self.read_file()?.as_deref())
    }

    /// Folds the journal's records from byte `from` on into `state`; returns how
    /// many it held and the offset just after its last complete line.
    fn replay(&self, state: &mut State, from: u64) -> Result<(usize, u64)> {
        let path = self.journal_path();
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(unreadable(&path, e)),
        };
        file.seek(SeekFrom::Start(from))
            .map_err(|e| unreadable(&path, e))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let (mut count, mut offset, mut number) = (0, from, 0);
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| unreadable(&path, e))?;
            if read == 0 {
                break;
            }
            number += 1;
            if line.last() != Some(&b'\n') {
                // A torn last line is a write that never completed: the intent it
                // held was not acted on, or the result it held left a pending
                // record behind that the next apply verifies.
                if !line.iter().all(u8::is_ascii_whitespace) {
                    tracing::warn!(
                        "{}: ignoring an incomplete last line ({read} bytes); the next apply cuts it off",
                        path.display()
                    );
                }
                break;
            }
            offset += read as u64;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Entry>(&line) {
                Ok(entry) => {
                    state.set(&entry.vendor, &entry.email, entry.record);
                    count += 1;
                }
                Err(e) => {
                    let at = if from == 0 {
                        format!("{}:{number}", path.display())
                    } else {
                        format!("{} (at byte {})", path.display(), offset - read as u64)
                    };
                    return Err(Error::corrupt(
                        "journal line",
                        &at,
                        anyhow::anyhow!(
                            "{at}: corrupt journal line ({e}); roster will not guess what happened. \
                             Run `roster state repair --state {}`: it keeps every complete record, \
                             marks the user that line names pending for the next apply to verify, \
                             and keeps the line itself in {}",
                            self.path.display(),
                            self.rejected_path().display()
                        ),
                    ));
                }
            }
        }
        Ok((count, offset))
    }

    /// Writes `state` atomically with its serial raised, then drops the journal it
    /// now contains. Whatever the journal gained since the state was loaded is
    /// folded in first: it is the record of what was sent.
    pub fn save(&self, state: &mut State) -> Result<()> {
        let (count, _) = self.replay(state, self.folded().unwrap_or(0))?;
        if count > 0 {
            tracing::debug!(records = count, "folded the journal into the state");
        }
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
            Ok(()) => sync_dir(&self.path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::Error::new(e)
                    .context(format!("cannot remove {}", self.journal_path().display()))
                    .into())
            }
        }
        self.set_folded(Some(0));
        Ok(())
    }

    /// Opens the journal for appending, first cutting off an incomplete last line
    /// so the next record starts on a line of its own.
    pub fn journal(&self) -> Result<Journal> {
        let path = self.journal_path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                Error::unreachable(
                    path.display(),
                    anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
                )
            })?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?
            .len();
        let complete = complete_len(&mut file, len)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if complete < len {
            tracing::warn!(
                "{}: cutting off an incomplete last line ({} bytes) left by a write that never finished",
                path.display(),
                len - complete
            );
            file.set_len(complete)
                .and_then(|()| file.sync_data())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        sync_dir(&path)?;
        Ok(Journal { file, path })
    }

    /// Rewrites the journal so that it loads again: every complete record is
    /// kept; an unreadable line becomes a pending record of the user it names
    /// (for the next apply to verify) where its vendor and email can be made out;
    /// every line not kept as it was is appended to `rejected_path()`. The caller
    /// holds the lock.
    pub fn repair(&self) -> Result<Repaired> {
        let path = self.journal_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Repaired::default()),
            Err(e) => return Err(unreadable(&path, e)),
        };
        // The record each pair had before a bad line, for its fingerprint and spec.
        let mut known = self.read_state()?;
        let mut out = Vec::with_capacity(bytes.len());
        let mut rejected = Vec::new();
        let mut report = Repaired::default();
        let mut rest = &bytes[..];
        let mut number = 0;
        while !rest.is_empty() {
            number += 1;
            let (line, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    let line = &rest[..=end];
                    rest = &rest[end + 1..];
                    (line, true)
                }
                None => (std::mem::take(&mut rest), false),
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if !complete {
                report.torn = line.len();
                rejected.extend_from_slice(line);
                rejected.push(b'\n');
                continue;
            }
            if let Ok(entry) = serde_json::from_slice::<Entry>(line) {
                known.set(&entry.vendor, &entry.email, entry.record);
                out.extend_from_slice(line);
                report.kept += 1;
                continue;
            }
            rejected.extend_from_slice(line);
            let text = String::from_utf8_lossy(line);
            let vendor = field(&text, "vendor").filter(|v| {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
            let email = field(&text, "email")
                .map(|e| crate::model::identity(&e))
                .filter(|e| e.contains('@') && !e.chars().any(char::is_whitespace));
            let (Some(vendor), Some(email)) = (vendor, email) else {
                report.unattributed.push(number);
                continue;
            };
            let before = known.get(&vendor, &email);
            let record = Record {
                at: super::now(),
                error: Some(format!(
                    "journal line {number} was unreadable; `roster state repair` marked this pending for the next apply to verify"
                )),
                fingerprint: before.map(|r| r.fingerprint.clone()).unwrap_or_default(),
                inactive: false,
                remote_id: before.and_then(|r| r.remote_id.clone()),
                // A pretty spec is written on one line by `Journal::encode`.
                spec: before
                    .map(|r| r.spec.clone())
                    .unwrap_or_else(|| super::RawSpec::of(&serde_json::json!({}))),
                status: Status::Pending,
                vendor_status: None,
                warnings: vec![],
            };
            Journal::encode(&mut out, [(vendor.as_str(), email.as_str(), &record)])?;
            known.set(&vendor, &email, record);
            report.pending.push((number, vendor, email));
        }
        if !rejected.is_empty() {
            let side = self.rejected_path();
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&side)
                .with_context(|| format!("cannot open {}", side.display()))?;
            file.write_all(&rejected)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write {}", side.display()))?;
            report.rejected = Some(side);
        }
        // The lines are safe in the side file before the journal loses them.
        write_atomically(&path, &out)?;
        self.set_folded(None);
        Ok(report)
    }
}

/// The string value of `"key": "..."` in a JSON line too damaged to parse.
fn field(text: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let at = text.find(&quoted)? + quoted.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    serde_json::from_str(&format!("\"{}\"", &rest[..end])).ok()
}

/// The length of `file` up to and including its last newline.
fn complete_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(i) = part.iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// `cannot read <path>: <why>`, as a store that cannot be read.
fn unreadable(path: &Path, e: std::io::Error) -> Error {
    Error::unreachable(
        path.display(),
        anyhow::Error::new(e).context(format!("cannot read {}", path.display())),
    )
}

fn parse_state(path: &Path, bytes: &[u8]) -> Result<State> {
    let corrupt = |e: anyhow::Error| Error::corrupt("state file", path.display(), e);
    let name = path.display();
    let newer = |v: u64| {
        anyhow::anyhow!(
            "{name}: state format {v} is newer than this roster understands ({STATE_VERSION}); upgrade roster"
        )
    };
    match serde_json::from_slice::<State>(bytes) {
        Ok(state) if state.version > STATE_VERSION => Err(newer(state.version).into()),
        Ok(state) => Ok(state),
        // Say why as precisely as possible: not JSON, another format, or damaged.
        Err(e) => {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                return Err(corrupt(anyhow::Error::new(e).context(format!(
                    "{name}: not a roster state file (invalid JSON)"
                ))));
            };
            match value.get("version").and_then(serde_json::Value::as_u64) {
                Some(v) if v > STATE_VERSION => Err(newer(v).into()),
                Some(_) => Err(corrupt(
                    anyhow::Error::new(e).context(format!("{name}: not a valid roster state file")),
                )),
                None => Err(corrupt(anyhow::anyhow!(
                    "{name}: not a roster state file (no `version`)"
                ))),
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
            let start = buf.len();
            serde_json::to_writer(&mut *buf, &entry).context("cannot serialize a journal entry")?;
            // One record, one line: a spec read from the (pretty) state file
            // keeps its line breaks as raw JSON, so such an entry is written
            // again compactly.
            if buf[start..].contains(&b'\n') {
                let value =
                    serde_json::to_value(&entry).context("cannot serialize a journal entry")?;
                buf.truncate(start);
                serde_json::to_writer(&mut *buf, &value)
                    .context("cannot serialize a journal entry")?;
            }
            buf.push(b'\n');
        }
        Ok(())
    }

    /// Appends encoded lines and makes them durable before returning.
    pub fn write(&mut self, lines: &[u8]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        Ok(self
            .file
            .write_all(lines)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write {}", self.path.display()))?)
    }
}

/// Temp file in the same folder, fsync, rename over, fsync the folder. Leftover
/// temp files of earlier writes that were killed midway are removed first.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let prefix = temp_prefix(path);
    sweep(path, dir, &prefix);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
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

/// `.roster-<file name>.`: a temp file says which file it was to become.
fn temp_prefix(path: &Path) -> String {
    format!(
        ".roster-{}.",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// A temp file this old is left by a write that was killed: none takes minutes.
const ABANDONED: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Removes `.roster-*.tmp` files that no running write can still be using: those
/// of `path` from before this process took its lock (no other process writes it
/// while the lock is held), and any older than [`ABANDONED`].
fn sweep(path: &Path, dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let locked = super::lock::held_since(path);
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(".roster-") || !name.ends_with(".tmp") {
            continue;
        }
        let Some(modified) = entry.metadata().and_then(|m| m.modified()).ok() else {
            continue;
        };
        let ours_from_before =
            locked.is_some_and(|since| name.starts_with(prefix) && modified < since);
        let abandoned = now
            .duration_since(modified)
            .is_ok_and(|age| age > ABANDONED);
        if (ours_from_before || abandoned) && std::fs::remove_file(entry.path()).is_ok() {
            tracing::info!(
                "removed {}, left by a write that did not finish",
                entry.path().display()
            );
        }
    }
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
    fn a_record_with_a_pretty_spec_is_one_journal_line() {
        let mut r = record(Status::Created);
        r.spec = serde_json::from_str("{\n  \"email\": \"a@x.io\"\n}").unwrap();
        assert!(r.spec.as_str().contains('\n'));
        let mut buf = Vec::new();
        Journal::encode(&mut buf, [("v", "a@x.io", &r), ("v", "b@x.io", &r)]).unwrap();
        let lines: Vec<&[u8]> = buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let entry: Entry = serde_json::from_slice(line).unwrap();
            assert_eq!(
                entry.record.spec.to_value(),
                serde_json::json!({"email": "a@x.io"})
            );
        }
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

    fn line(vendor: &str, email: &str, r: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        Journal::encode(&mut out, [(vendor, email, r)]).unwrap();
        out
    }

    #[test]
    fn a_save_folds_what_was_journaled_since_the_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s.json"));
        let mut state = store.load().unwrap();
        state.set("v", "old@x.io", record(Status::Created));
        store.save(&mut state).unwrap();

        // Journaled, then the run was cancelled before the state in memory saw it.
        let mut state = store.load().unwrap();
        let mut journal = store.journal().unwrap();
        journal
            .write(&line("v", "new@x.io", &record(Status::Created)))
            .unwrap();
        // An edit made in memory after the load is not undone by the fold.
        state.vendors.get_mut("v").unwrap().remove("old@x.io");
        store.save(&mut state).unwrap();
        assert_eq!(state.get("v", "new@x.io").unwrap().status, Status::Created);
        assert!(state.get("v", "old@x.io").is_none());
        assert!(!store.journal_path().exists());
        let reloaded = Store::new(store.path()).load().unwrap();
        let keys = |s: &State| {
            s.records()
                .map(|(v, e, r)| (v.to_string(), e.to_string(), r.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&reloaded), keys(&state));
    }

    #[test]
    fn the_complete_part_of_a_journal_is_found_past_one_read_chunk() {
        // A journal longer than the 64 KiB read at a time, whose torn last
        // line is longer than a chunk too: the search goes back chunk by chunk.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut text = "x".repeat(100_000);
        text.push('\n');
        let complete = text.len() as u64;
        text.push_str(&"y".repeat(70_000));
        std::fs::write(&path, &text).unwrap();
        let mut file = File::open(&path).unwrap();
        assert_eq!(
            complete_len(&mut file, text.len() as u64).unwrap(),
            complete
        );
        assert_eq!(complete_len(&mut file, 70_000).unwrap(), 0);
    }

    #[test]
    fn an_incomplete_last_line_is_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s.json"));
        let mut bytes = line("v", "a@x.io", &record(Status::Pending));
        bytes.extend_from_slice(b"{\"vendor\":\"v\",\"email\":\"b@x");
        std::fs::write(store.journal_path(), &bytes).unwrap();
        let state = store.load().unwrap();
        assert!(state.get("v", "b@x.io").is_none());
        let mut journal = store.journal().unwrap();
        journal
            .write(&line("v", "c@x.io", &record(Status::Created)))
            .unwrap();
        drop(journal);
        // Without the cut, the new record would be glued to the torn one and the
        // journal would no longer load.
        let state = Store::new(store.path()).load().unwrap();
        assert_eq!(state.get("v", "a@x.io").unwrap().status, Status::Pending);
        assert_eq!(state.get("v", "c@x.io").unwrap().status, Status::Created);
    }

    #[test]
    fn a_write_removes_only_its_own_abandoned_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - ABANDONED * 2;
        let names = [
            ".roster-1234.tmp",
            "notes.tmp",
            ".roster-notes",
            "x.roster-9.tmp",
        ];
        for name in names {
            let file = std::fs::File::create(dir.path().join(name)).unwrap();
            file.set_modified(old).unwrap();
        }
        Store::new(dir.path().join("s.json"))
            .save(&mut State::default())
            .unwrap();
        let left: Vec<&str> = names
            .into_iter()
            .filter(|n| dir.path().join(n).exists())
            .collect();
        // Only roster's own temp file is roster's to remove.
        assert_eq!(left, ["notes.tmp", ".roster-notes", "x.roster-9.tmp"]);
    }

    #[test]
    fn what_the_journal_held_at_load_is_not_folded_in_again_at_save() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s.json"));
        store.save(&mut State::default()).unwrap();
        // A journal left by a killed apply, folded in by the load.
        std::fs::write(
            store.journal_path(),
            line("v", "a@x.io", &record(Status::Pending)),
        )
        .unwrap();
        let mut state = store.load().unwrap();
        assert!(state.get("v", "a@x.io").is_some());
        // Forgotten after the load (`state rm`): the save must not bring it
        // back from the journal it has already folded in.
        state.vendors.remove("v");
        store.save(&mut state).unwrap();
        let state = Store::new(store.path()).load().unwrap();
        assert!(state.get("v", "a@x.io").is_none(), "came back: {state:?}");
    }

    #[test]
    fn repair_keeps_every_record_and_marks_unreadable_lines_pending() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s.json"));
        let mut state = State::default();
        state.set("v", "b@x.io", record(Status::Created));
        store.save(&mut state).unwrap();
        let mut bytes = line("v", "a@x.io", &record(Status::Created));
        // A record glued to a torn one: its start still names the user.
        bytes
            .extend_from_slice(b"{\"vendor\":\"v\",\"email\":\"B@x.io\",\"rec{\"vendor\":\"v\"}\n");
        // A torn line naming a vendor no roster.yaml could: not taken for one.
        bytes.extend_from_slice(b"{\"vendor\":\"v w\",\"email\":\"d@x.io\",\"re\n");
        bytes.extend_from_slice(b"\x00\x00garbage\n");
        bytes.extend(line("v", "c@x.io", &record(Status::Created)));
        bytes.extend_from_slice(b"{\"vendor\":\"v\",\"em");
        std::fs::write(store.journal_path(), &bytes).unwrap();
        let err = format!("{:#}", store.load().unwrap_err());
        assert!(
            err.contains(":2: corrupt journal line") && err.contains("roster state repair"),
            "{err}"
        );
        assert!(!err.contains("remove"), "{err}");

        let report = store.repair().unwrap();
        assert_eq!(report.kept, 2);
        assert_eq!(
            report.pending,
            vec![(2, "v".to_string(), "b@x.io".to_string())]
        );
        assert_eq!(report.unattributed, vec![3, 4]);
        assert_eq!(report.torn, 17);
        let side = std::fs::read(report.rejected.unwrap()).unwrap();
        assert!(
            side.windows(7).any(|w| w == b"garbage"),
            "every rejected line is kept"
        );
        assert!(side.windows(8).any(|w| w == b"\"rec{\"ve"));

        let state = Store::new(store.path()).load().unwrap();
        assert_eq!(state.get("v", "a@x.io").unwrap().status, Status::Created);
        let b = state.get("v", "b@x.io").unwrap();
        assert_eq!(b.status, Status::Pending);
        assert_eq!(b.fingerprint, "sha256:00", "the spec it had is kept");
        assert_eq!(state.get("v", "c@x.io").unwrap().status, Status::Created);
    }
}
