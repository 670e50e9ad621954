//! The lock beside the state file: one apply at a time. It records who holds it
//! (pid, host, start, command) so a refusal can say so, and is taken over when
//! its process is dead on this host.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: String,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} since {} ({})",
            self.pid, self.host, self.started, self.command
        )
    }
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
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

/// Whether a process runs on this host. Without /proc, assume it does: a stale
/// lock is then removed by hand (`roster state unlock`), never stolen.
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// Reads who holds the lock at `path`, if anyone.
pub fn holder(path: &Path) -> anyhow::Result<Option<Holder>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).with_context(|| {
            format!(
                "{} is not a roster lock; if no roster runs, remove it with `roster state unlock`",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

impl Lock {
    /// Takes the lock of the state at `state`, or says who holds it.
    pub fn acquire(state: &Path, command: &str) -> anyhow::Result<Lock> {
        let path = lock_path(state);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: super::now(),
            command: command.to_string(),
        };
        let text = serde_json::to_string_pretty(&me).context("cannot serialize the lock")?;
        for _ in 0..2 {
            // Written whole to a temp file, then linked into place only if no lock
            // exists: a kill at any moment leaves no lock, or a complete one.
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let mut tmp = tempfile::Builder::new()
                .prefix(".roster-lock-")
                .suffix(".tmp")
                .tempfile_in(dir)
                .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
            tmp.write_all(text.as_bytes())
                .and_then(|()| tmp.as_file().sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
            match tmp.persist_noclobber(&path) {
                Ok(_) => return Ok(Lock { path }),
                Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let Some(other) = holder(&path)? else {
                        continue;
                    };
                    if other.host == me.host && !alive(other.pid) {
                        tracing::warn!(
                            "taking over the lock of {other}: that process is gone; its unfinished work is in the journal"
                        );
                        std::fs::remove_file(&path)
                            .with_context(|| format!("cannot remove {}", path.display()))?;
                        continue;
                    }
                    bail!(
                        "the state is locked by {other}: another roster is applying. \
                         If it is not running any more, remove the lock with `roster state unlock`"
                    );
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()))
                }
            }
        }
        bail!(
            "cannot take the lock {}: it keeps changing hands",
            path.display()
        )
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes the lock of the state at `state` by hand; returns who held it.
pub fn unlock(state: &Path) -> anyhow::Result<Option<Holder>> {
    let path = lock_path(state);
    let who = holder(&path).unwrap_or(None);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(who),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_dead_holders_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("roster.state.json");
        let lock = Lock::acquire(&state, "apply").unwrap();
        let err = Lock::acquire(&state, "apply").unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!lock_path(&state).exists());

        // A lock left by a process that no longer exists on this host.
        let dead = Holder {
            pid: u32::MAX - 1,
            host: hostname(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "apply".into(),
        };
        std::fs::write(lock_path(&state), serde_json::to_string(&dead).unwrap()).unwrap();
        let _lock = Lock::acquire(&state, "apply").unwrap();

        // One from another host is never stolen.
        drop(_lock);
        let remote = Holder {
            host: "elsewhere".into(),
            ..dead
        };
        std::fs::write(lock_path(&state), serde_json::to_string(&remote).unwrap()).unwrap();
        assert!(Lock::acquire(&state, "apply")
            .unwrap_err()
            .to_string()
            .contains("on elsewhere"));
        assert_eq!(unlock(&state).unwrap(), Some(remote));
        assert!(Lock::acquire(&state, "apply").is_ok());
    }
}
