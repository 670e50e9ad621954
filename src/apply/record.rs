//! Recording outcomes as they come: write-ahead to the journal, folded into
//! the state in memory, the state written once at the end.

use crate::state::{Backend, JournalSink, Record, State};
use std::sync::{Arc, Mutex};

/// Keeps the state in memory and the journal on disk in step.
///
/// Journal writes go to one task that group-commits them: whatever the
/// concurrent batches submitted while the previous append ran is written
/// together (one fsync, or one round trip to the database), and each
/// submitter resumes only once its lines are durable. Crash safety is the
/// same as one fsync per write; the cost is one per round. The writer also
/// folds what it wrote into the state in memory, so a submitter that is
/// cancelled (a signal) while its lines are written loses nothing: whatever
/// the store, the state `finish` saves holds every line the journal does.
pub struct Recorder {
    store: Box<dyn Backend>,
    state: Arc<Mutex<State>>,
    commits: tokio::sync::mpsc::UnboundedSender<Commit>,
    writer: tokio::task::JoinHandle<()>,
}

type Commit = (
    Vec<(String, String, Record)>,
    tokio::sync::oneshot::Sender<Result<(), String>>,
);

/// The journal writer: appends each round of what was submitted, and tells
/// each submitter how its round went. Ends when the recorder stops sending.
async fn write_rounds(
    mut journal: Box<dyn JournalSink>,
    mut pending: tokio::sync::mpsc::UnboundedReceiver<Commit>,
    state: Arc<Mutex<State>>,
) {
    while let Some(first) = pending.recv().await {
        let mut round = vec![first];
        while let Ok(next) = pending.try_recv() {
            round.push(next);
        }
        let mut records = Vec::new();
        let mut waiting = Vec::with_capacity(round.len());
        for (batch, done) in round {
            records.extend(batch);
            waiting.push(done);
        }
        let mut result = journal.append(&records).await.map_err(|e| format!("{e:#}"));
        if result.is_ok() {
            match state.lock() {
                Ok(mut state) => {
                    for (vendor, email, record) in records {
                        state.set(&vendor, &email, record);
                    }
                }
                Err(_) => result = Err("recorder poisoned".into()),
            }
        }
        for done in waiting {
            let _ = done.send(result.clone());
        }
    }
}

impl Recorder {
    /// Opens the journal and starts its writer on the current runtime.
    pub async fn new(store: Box<dyn Backend>, state: State) -> anyhow::Result<Recorder> {
        let journal = store.journal().await?;
        let (commits, pending) = tokio::sync::mpsc::unbounded_channel::<Commit>();
        let state = Arc::new(Mutex::new(state));
        let writer = tokio::spawn(write_rounds(journal, pending, Arc::clone(&state)));
        Ok(Recorder {
            store,
            state,
            commits,
            writer,
        })
    }

    /// Journals `records`; when this returns they are durable and in the state.
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

    /// Waits for the journal writer to write what was submitted, then saves
    /// the state and retires the journal.
    pub async fn finish(self) -> anyhow::Result<State> {
        drop(self.commits);
        let _ = self.writer.await;
        let state = Arc::try_unwrap(self.state)
            .map_err(|_| anyhow::anyhow!("the journal writer did not stop"))?;
        let mut state = state
            .into_inner()
            .map_err(|_| anyhow::anyhow!("recorder poisoned"))?;
        self.store.save(&mut state).await?;
        Ok(state)
    }
}
