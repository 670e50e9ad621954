//! Recording outcomes as they come: write-ahead to the journal, folded into
//! the state in memory, the state written once at the end.

use crate::state::{Backend, Record, State};
use anyhow::Context;
use std::sync::Mutex;

/// Keeps the state in memory and the journal on disk in step.
///
/// Journal writes go to one thread that group-commits them: whatever the
/// concurrent batches submitted while the previous fsync ran is written and
/// fsync'd together, and each submitter resumes only once its lines are durable.
/// Crash safety is the same as one fsync per write; the cost is one per round.
pub struct Recorder {
    store: Box<dyn Backend>,
    state: Mutex<State>,
    commits: std::sync::mpsc::Sender<Commit>,
    writer: std::thread::JoinHandle<()>,
}

type Commit = (
    Vec<(String, String, Record)>,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

impl Recorder {
    pub fn new(store: Box<dyn Backend>, state: State) -> anyhow::Result<Recorder> {
        let mut journal = store.journal()?;
        let (commits, pending) = std::sync::mpsc::channel::<Commit>();
        let writer = std::thread::Builder::new()
            .name("roster-journal".into())
            .spawn(move || {
                while let Ok(first) = pending.recv() {
                    let mut round = vec![first];
                    round.extend(pending.try_iter());
                    let mut records = Vec::new();
                    let mut waiting = Vec::with_capacity(round.len());
                    for (batch, done) in round {
                        records.extend(batch);
                        waiting.push(done);
                    }
                    let result = journal.append(&records).map_err(|e| format!("{e:#}"));
                    for done in waiting {
                        let _ = done.send(result.clone());
                    }
                }
            })
            .context("cannot start the journal writer")?;
        Ok(Recorder {
            store,
            state: Mutex::new(state),
            commits,
            writer,
        })
    }

    /// Journals `records` (durable when this returns), then records them.
    pub async fn write(&self, vendor: &str, records: Vec<(&str, Record)>) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let lines = records
            .iter()
            .map(|(email, r)| (vendor.to_string(), email.to_string(), r.clone()))
            .collect();
        let (done, durable) = tokio::sync::oneshot::channel();
        self.commits
            .send((lines, done))
            .map_err(|_| anyhow::anyhow!("the journal writer stopped"))?;
        durable
            .await
            .map_err(|_| anyhow::anyhow!("the journal writer stopped"))?
            .map_err(|e| anyhow::anyhow!(e))?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
        for (email, record) in records {
            state.set(vendor, email, record);
        }
        Ok(())
    }

    /// Changes the state that `finish` writes, outside the journal: only for
    /// what a crash may lose (a crash keeps what was written before).
    pub fn update(&self, change: impl FnOnce(&mut State)) -> anyhow::Result<()> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
        change(&mut state);
        Ok(())
    }

    /// Saves the state and retires the journal.
    pub fn finish(self) -> anyhow::Result<State> {
        drop(self.commits);
        let _ = self.writer.join();
        let mut state = self
            .state
            .into_inner()
            .map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
        self.store.save(&mut state)?;
        Ok(state)
    }
}
