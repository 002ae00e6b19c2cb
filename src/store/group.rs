//! Group writes: the one writer loop behind the accept path's group commit
//! (`emails::group_commit`) and the delivery outcome recorder (`delivery::record`); the same
//! loop groups delivery's reads (`delivery::job::Loads`: a "write" there is one read of
//! everything queued).
//!
//! A caller queues an item and waits for its result; a writer task takes everything queued,
//! writes it in one transaction, answers each item, and goes again while anything is queued;
//! it ends when the queue is empty, and the next item starts a new writer. A caller never
//! waits for a turn of its own: when each caller took the writer's turn in order, one taken
//! along by an earlier writer still waited for its turn, and each turn wrote only what had
//! arrived since (docs/performance.md, "The group commit groups").
//!
//! Up to `writers` writer tasks run at once: one on SQLite (one writer at a time anyway),
//! a few on PostgreSQL, which runs concurrent transactions: there a new item starts a writer
//! of its own while fewer than `writers` run (so a lone request does not wait for another's
//! commit), and once they all run, items queue and the next free writer takes them all.
//!
//! A writer is a task of its own, so a caller that goes away (a client hanging up) cannot
//! cut a transaction short for the others of its group. A writer that ends without answering
//! (it panicked, or the runtime is shutting down) drops the senders of its group, and the
//! last writer to end that way drops what is still queued: every caller waiting on it gets
//! [`WriterStopped`] instead of waiting for ever.

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::Db;

/// Group transactions that may run at once on PostgreSQL (a group's rows are its own, so
/// two groups do not wait for each other there).
pub const PG_WRITERS: usize = 4;

/// Writer tasks a group writer of `db` runs at once: one on SQLite, which has one writer at
/// a time anyway; [`PG_WRITERS`] on PostgreSQL.
pub fn writers_for(db: &Db) -> usize {
    match db {
        Db::Sqlite(_) => 1,
        Db::Postgres(_) => PG_WRITERS,
    }
}

/// The writer went away without answering (it panicked, or the runtime is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the writer stopped before answering")]
pub struct WriterStopped;

/// A queue of items written in groups (see the module documentation).
pub struct GroupWriter<T, R> {
    state: Mutex<State<T, R>>,
}

struct State<T, R> {
    pending: Vec<(T, oneshot::Sender<R>)>,
    /// Writer tasks running.
    writers: usize,
}

impl<T, R> Default for GroupWriter<T, R> {
    fn default() -> Self {
        GroupWriter {
            state: Mutex::new(State {
                pending: Vec::new(),
                writers: 0,
            }),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupWriter<T, R> {
    /// Queues `item` and returns its result once a writer has written it. `write` writes a
    /// group and gives one result per item, in order (an item without one gets
    /// [`WriterStopped`]); it is used only if this call starts a writer task, at most
    /// `writers` of which run at once.
    pub async fn submit<W, F>(
        self: &Arc<Self>,
        item: T,
        writers: usize,
        write: W,
    ) -> Result<R, WriterStopped>
    where
        W: Fn(Vec<T>) -> F + Send + 'static,
        F: Future<Output = Vec<R>> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let start_writer = {
            let mut state = self.state.lock();
            state.pending.push((item, done));
            let start = state.writers < writers.max(1);
            if start {
                state.writers += 1;
            }
            start
        };
        if start_writer {
            tokio::spawn(writer(self.clone(), write));
        }
        result.await.map_err(|_| WriterStopped)
    }
}

/// Writes what is queued, one group per call of `write`, until nothing is left.
async fn writer<T, R, W, F>(group: Arc<GroupWriter<T, R>>, write: W)
where
    W: Fn(Vec<T>) -> F,
    F: Future<Output = Vec<R>>,
{
    let mut running = Running(Some(&group));
    loop {
        let pending = {
            let mut state = group.state.lock();
            if state.pending.is_empty() {
                state.writers -= 1;
                running.0 = None;
                return;
            }
            std::mem::take(&mut state.pending)
        };
        let (items, done): (Vec<T>, Vec<_>) = pending.into_iter().unzip();
        let results = write(items).await;
        for (done, result) in done.into_iter().zip(results) {
            let _ = done.send(result);
        }
    }
}

/// A writer task that ends before the queue is empty (it panicked, or the runtime is shutting
/// down): it no longer counts, and when no other writer runs, what is queued is dropped, so
/// those callers get [`WriterStopped`] and the next item starts a new writer.
struct Running<'a, T, R>(Option<&'a GroupWriter<T, R>>);

impl<T, R> Drop for Running<'_, T, R> {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let mut state = group.state.lock();
            state.writers -= 1;
            if state.writers == 0 {
                state.pending.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Writes that take a while, so that items queue behind them.
    async fn slow_double(items: Vec<u32>) -> Vec<u32> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        items.into_iter().map(|i| i * 2).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_item_gets_its_own_result_and_groups_form() {
        let group: Arc<GroupWriter<u32, u32>> = Arc::default();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let calls = (0..64u32).map(|i| {
            let (group, sizes) = (group.clone(), sizes.clone());
            tokio::spawn(async move {
                group
                    .submit(i, 2, move |items| {
                        sizes.lock().push(items.len());
                        slow_double(items)
                    })
                    .await
            })
        });
        for (i, call) in (0..64u32).zip(calls.collect::<Vec<_>>()) {
            assert_eq!(call.await.unwrap(), Ok(i * 2));
        }
        let sizes = sizes.lock().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 64);
        assert!(sizes.len() < 64, "no group formed: {sizes:?}");
        assert_eq!(group.state.lock().writers, 0);
    }

    /// A writer that panics mid-group: every caller waiting on it, in its group or queued
    /// behind it, gets `WriterStopped` (none hangs), and the next item starts a new writer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_dies_answers_every_waiting_caller() {
        let group: Arc<GroupWriter<u32, u32>> = Arc::default();
        let calls: Vec<_> = (0..16u32)
            .map(|i| {
                let group = group.clone();
                tokio::spawn(async move {
                    group
                        .submit(i, 1, |items: Vec<u32>| async move {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            panic!("writer dies with {} items", items.len());
                        })
                        .await
                })
            })
            .collect();
        for call in calls {
            let answer = tokio::time::timeout(Duration::from_secs(5), call)
                .await
                .expect("a caller hangs")
                .unwrap();
            assert_eq!(answer, Err(WriterStopped));
        }
        assert_eq!(group.state.lock().writers, 0);
        assert!(group.state.lock().pending.is_empty());
        assert_eq!(group.submit(21, 1, slow_double).await, Ok(42));
    }

    /// A `write` that answers fewer items than it was given: the rest get `WriterStopped`.
    #[tokio::test]
    async fn an_item_without_a_result_gets_an_error() {
        let group: Arc<GroupWriter<u32, u32>> = Arc::default();
        let answer = group
            .submit(1, 1, |_items: Vec<u32>| async { Vec::new() })
            .await;
        assert_eq!(answer, Err(WriterStopped));
    }
}
