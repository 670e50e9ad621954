//! The lock beside the state file: one apply at a time.
//!
//! It is an OS lock (`flock` on `<state>.lock`), held for the whole run and
//! released by the kernel when the process ends, however it ends: no guess about
//! whether a process is alive, so a run in another PID namespace or a race of
//! several starts cannot take a lock that is held. The file also records who
//! holds it (run id, pid, host, start, command) so a refusal can say so. The file
//! is never deleted, only rewritten: removing a file others may be waiting on
//! would let two processes lock two different files of the same name.
//!
//! An OS lock covers the processes of one machine (and of the containers that
//! share the state's volume); it does not span hosts.

use super::{Error, Result};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Who holds (or last held) a lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// A uuid fixed for the run: `roster state unlock ID` names it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} since {} ({}",
            self.pid, self.host, self.started, self.command
        )?;
        if !self.id.is_empty() {
            write!(f, ", lock id {}", self.id)?;
        }
        f.write_str(")")
    }
}

/// A held lock; released when dropped (or by the kernel when the process ends).
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
    holder: Holder,
}

/// The lock files this process holds, and since when: a save under the lock may
/// remove any temporary file older than that (see `store::sweep`).
static HELD: Mutex<Vec<(PathBuf, SystemTime)>> = Mutex::new(Vec::new());

/// When this process took the lock of the state at `state`, if it holds it.
pub(crate) fn held_since(state: &Path) -> Option<SystemTime> {
    let path = lock_path(state);
    let held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.iter().find(|(p, _)| *p == path).map(|(_, at)| *at)
}

/// `<state>.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

/// This machine's name, as far as it can be told without a system call.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// What a lock file says: nothing, a holder, or text that is not a roster lock.
#[derive(Debug, PartialEq)]
pub enum Record {
    Empty,
    Holder(Holder),
    Unreadable(String),
}

fn parse(bytes: &[u8]) -> Record {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Record::Empty;
    }
    match serde_json::from_slice(bytes) {
        Ok(h) => Record::Holder(h),
        Err(_) => Record::Unreadable(String::from_utf8_lossy(bytes).chars().take(200).collect()),
    }
}

/// Reads who holds (or last held) the lock at `path`; `None` if there is no file.
pub fn holder(path: &Path) -> anyhow::Result<Option<Record>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(parse(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Who holds a lock that is held, for a message, and since when if it says.
/// Its holder writes its details right after taking it, so an empty file is
/// read again for a moment.
fn describe_holder(path: &Path) -> (String, Option<String>) {
    for _ in 0..10 {
        match holder(path) {
            Ok(Some(Record::Holder(h))) => return (h.to_string(), Some(h.started)),
            Ok(Some(Record::Unreadable(text))) => {
                return (
                    format!("a process that wrote {text:?} into {}", path.display()),
                    None,
                )
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    (
        format!(
            "another process (it has not written its details into {} yet)",
            path.display()
        ),
        None,
    )
}

fn open(path: &Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
}

fn read_all(file: &mut File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn rewrite(file: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(bytes)?;
    file.sync_data()
}

/// The lock file of the state at `state`, opened (created if need be).
fn prepare(state: &Path) -> Result<(File, PathBuf)> {
    let path = lock_path(state);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = open(&path, true).map_err(|e| {
        Error::unreachable(
            path.display(),
            anyhow::Error::new(e).context(format!("cannot open {}", path.display())),
        )
    })?;
    Ok((file, path))
}

/// One attempt at the lock of `file` (at `path`): taken, or who holds it and
/// since when.
fn try_take(file: &File, path: &Path) -> Result<std::result::Result<(), (String, Option<String>)>> {
    match file.try_lock() {
        Ok(()) => Ok(Ok(())),
        Err(TryLockError::WouldBlock) => Ok(Err(describe_holder(path))),
        Err(TryLockError::Error(e)) => Err(Error::Other(anyhow::Error::new(e).context(format!(
            "cannot lock {} (does its filesystem support file locks?)",
            path.display()
        )))),
    }
}

/// The refusal of a lock `holder` holds; `waited` is what to add to its first
/// sentence (` (waited 5s)`).
fn refused(holder: String, since: Option<String>, waited: &str) -> Error {
    Error::Locked {
        message: format!(
            "the state is locked by {holder}: another roster is running{waited}. \
             Wait for it to finish (or pass --lock-timeout), or stop that process: \
             its lock ends with it"
        ),
        holder,
        since,
    }
}

impl Lock {
    /// Takes the lock of the state at `state`, or says who holds it (no wait).
    pub fn acquire(state: &Path, command: &str) -> Result<Lock> {
        let (file, path) = prepare(state)?;
        match try_take(&file, &path)? {
            Ok(()) => Lock::take(file, path, command),
            Err((holder, since)) => Err(refused(holder, since, "")),
        }
    }

    /// Takes the lock of the state at `state`, waiting up to `wait` for its holder
    /// to finish; then fails, saying who holds it. Each file operation runs on a
    /// blocking thread; the pauses between attempts on the runtime's timer.
    pub async fn acquire_within(state: &Path, command: &str, wait: Duration) -> Result<Lock> {
        let (state, command) = (state.to_path_buf(), command.to_string());
        let (file, path) = super::blocking(move || prepare(&state)).await?;
        let file = std::sync::Arc::new(file);
        super::lock_within(
            wait,
            || {
                let (file, path) = (file.clone(), path.clone());
                super::blocking(move || try_take(&file, &path))
            },
            |_| {},
            |(holder, since), waited| refused(holder, since, waited),
        )
        .await?;
        let file = std::sync::Arc::try_unwrap(file)
            .map_err(|_| anyhow::anyhow!("{}: the lock file is still in use", path.display()))?;
        super::blocking(move || Lock::take(file, path, &command)).await
    }

    /// Writes this run into the lock file `file` at `path`, whose lock it holds.
    fn take(mut file: File, path: PathBuf, command: &str) -> Result<Lock> {
        // Held. Whatever the file says was left by a process that ended without
        // releasing it: the kernel released its lock when it died.
        let before =
            read_all(&mut file).with_context(|| format!("cannot read {}", path.display()))?;
        match parse(&before) {
            Record::Empty => {}
            Record::Holder(other) => tracing::warn!(
                "taking over the lock of {other}: that process is gone; its unfinished work is in the journal"
            ),
            Record::Unreadable(text) => {
                tracing::warn!("{}: replacing {text:?}, which is not a roster lock", path.display())
            }
        }
        let holder = Holder {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: hostname(),
            started: super::now(),
            command: command.to_string(),
        };
        let mut text =
            serde_json::to_string_pretty(&holder).context("cannot serialize the lock")?;
        text.push('\n');
        rewrite(&mut file, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((path.clone(), SystemTime::now()));
        Ok(Lock { file, path, holder })
    }

    /// Who this lock says holds it: this run.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Emptied while still held, so nobody reads a finished run as the holder.
        let _ = rewrite(&mut self.file, b"");
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(p, _)| *p != self.path);
        let _ = self.file.unlock();
    }
}

/// What `unlock` did.
#[derive(Debug, PartialEq)]
pub enum Unlocked {
    /// No lock file, or an empty one: nothing to do.
    NotLocked,
    /// A record left by a process that ended holding the lock, now cleared.
    Cleared(Record),
}

/// Clears the record of a lock nobody holds any more. A lock a running process
/// holds is never broken: the kernel releases it when that process ends. With an
/// `id`, only a record of that lock id is cleared.
pub fn unlock(state: &Path, id: Option<&str>) -> Result<Unlocked> {
    Ok(clear(state, id)?)
}

fn clear(state: &Path, id: Option<&str>) -> anyhow::Result<Unlocked> {
    let path = lock_path(state);
    let mut file = match open(&path, false) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Unlocked::NotLocked),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let (holder, since) = describe_holder(&path);
            return Err(Error::Locked {
                message: format!(
                    "the lock is held by {holder}, which is running: roster never breaks a live lock. \
                     Wait for it, or stop that process: its lock ends with it"
                ),
                holder,
                since,
            }
            .into());
        }
        Err(TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
    let record =
        parse(&read_all(&mut file).with_context(|| format!("cannot read {}", path.display()))?);
    if let Some(id) = id {
        match &record {
            Record::Holder(h) if h.id == id => {}
            Record::Empty => return Ok(Unlocked::NotLocked),
            Record::Holder(h) => bail!("the lock record is of {h}, not of lock id {id}; nothing changed"),
            Record::Unreadable(_) => bail!(
                "{} holds no lock id; nothing changed (run `roster state unlock` without an id to clear it)",
                path.display()
            ),
        }
    }
    if record == Record::Empty {
        return Ok(Unlocked::NotLocked);
    }
    rewrite(&mut file, b"").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Unlocked::Cleared(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn no_lock_file_is_no_holder_and_an_unreadable_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(&dir.path().join("none.lock")).unwrap(), None);
        let err = holder(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("cannot read"), "{err:#}");
    }

    fn content(state: &Path) -> Record {
        holder(&lock_path(state)).unwrap().unwrap()
    }

    #[test]
    fn one_holder_at_a_time_and_the_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("roster.state.json");
        let lock = Lock::acquire(&state, "apply").unwrap();
        assert_eq!(content(&state), Record::Holder(lock.holder().clone()));
        assert!(held_since(&state).is_some());
        // Another open file description of the same file is refused, as another
        // process would be.
        let err = Lock::acquire(&state, "apply").unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())) && err.contains(&lock.holder().id),
            "{err}"
        );
        // A live lock is never broken, with or without its id.
        let id = lock.holder().id.clone();
        assert!(unlock(&state, None)
            .unwrap_err()
            .to_string()
            .contains("never breaks a live lock"));
        assert!(unlock(&state, Some(&id)).is_err());
        drop(lock);
        assert!(lock_path(&state).exists(), "the file is kept");
        assert_eq!(content(&state), Record::Empty);
        assert!(held_since(&state).is_none());
        assert_eq!(unlock(&state, None).unwrap(), Unlocked::NotLocked);
    }

    #[test]
    fn a_record_nobody_holds_is_taken_over_or_cleared_by_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("roster.state.json");
        let dead = Holder {
            id: "run-1".into(),
            pid: 1,
            host: "elsewhere".into(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        std::fs::write(lock_path(&state), serde_json::to_string(&dead).unwrap()).unwrap();
        drop(Lock::acquire(&state, "apply").unwrap());

        std::fs::write(lock_path(&state), serde_json::to_string(&dead).unwrap()).unwrap();
        let wrong = unlock(&state, Some("run-2")).unwrap_err().to_string();
        assert!(wrong.contains("not of lock id run-2"), "{wrong}");
        assert_eq!(
            unlock(&state, Some("run-1")).unwrap(),
            Unlocked::Cleared(Record::Holder(dead.clone()))
        );
        assert_eq!(content(&state), Record::Empty);
        std::fs::write(lock_path(&state), "junk").unwrap();
        assert!(matches!(
            unlock(&state, None).unwrap(),
            Unlocked::Cleared(Record::Unreadable(_))
        ));
    }

    #[test]
    fn a_held_lock_is_a_locked_error_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("roster.state.json");
        let lock = Lock::acquire(&state, "apply").unwrap();
        match Lock::acquire(&state, "plan").unwrap_err() {
            Error::Locked { holder, since, .. } => {
                assert_eq!(holder, lock.holder().to_string());
                assert_eq!(since.as_deref(), Some(lock.holder().started.as_str()));
            }
            other => panic!("not Locked: {other:?}"),
        }
        assert_eq!(
            unlock(&state, None).unwrap_err().kind(),
            super::super::Kind::Locked
        );
    }

    #[tokio::test]
    async fn waits_up_to_the_timeout_for_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("roster.state.json");
        let lock = Lock::acquire(&state, "apply").unwrap();
        let start = Instant::now();
        let err = Lock::acquire_within(&state, "apply", Duration::from_millis(300))
            .await
            .unwrap_err()
            .to_string();
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert!(err.contains("waited 300ms"), "{err}");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(lock);
        });
        Lock::acquire_within(&state, "apply", Duration::from_secs(10))
            .await
            .unwrap();
        releaser.join().unwrap();
    }
}
