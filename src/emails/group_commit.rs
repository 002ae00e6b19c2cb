//! Group commit of accepted emails on SQLite.
//!
//! SQLite has one writer at a time and every commit waits for its fsync. If each request
//! committed alone, concurrent requests would queue on the write lock (sleeping in SQLite's
//! busy handler) and pay one fsync each. Instead a request queues what it accepted and waits
//! for its answer; one writer task per database commits everything queued in one
//! transaction, then everything queued while that transaction ran, and so on until the
//! queue is empty, so one fsync covers many requests. A request still answers only after
//! its emails are committed. PostgreSQL runs concurrent transactions and groups their WAL
//! flushes itself, so there each request commits on its own.
//!
//! A request never waits for a turn of its own: only the writer takes the turn. (Until
//! 2026-12-07 each request took the turn in order and the holder committed what was queued;
//! a request taken along by an earlier writer still waited for its own turn before it
//! could answer, and each of those turns committed the one or two requests that had arrived
//! meanwhile, so 32 concurrent requests made about one commit each, one after another; see
//! docs/performance.md.)
//!
//! The queue belongs to the database pool; it is found through a small registry keyed by
//! the pool's identity, so every `App` (tests run several in one process) gets its own.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::oneshot;

use super::error::{EmailError, EmailResult};
use super::store::{self, Accepted, JobRegions};
use crate::handle::App;
use crate::store::Db;
use crate::store::sql::StoreResult;

struct Pending {
    accepted: Accepted,
    done: oneshot::Sender<StoreResult<JobRegions>>,
}

#[derive(Default)]
struct Committer {
    queue: Mutex<Queue>,
    /// Held by the writer for as long as its transaction runs.
    turn: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A writer task runs: it takes what is queued before it ends.
    writing: bool,
}

/// Commits what a request accepted; returns once it is durable, with the regions the
/// store gave its emails' jobs (`store::insert_accepted`).
pub async fn commit(app: &App, accepted: Accepted) -> EmailResult<JobRegions> {
    let pool = match app.db() {
        Db::Postgres(_) => return Ok(store::insert_accepted(app, &[accepted]).await?),
        Db::Sqlite(pool) => pool,
    };
    let committer = committer_for(pool);
    let (done, result) = oneshot::channel();
    let start_writer = {
        let mut queue = committer.queue.lock();
        queue.pending.push(Pending { accepted, done });
        !std::mem::replace(&mut queue.writing, true)
    };
    if start_writer {
        // The writer is a task of its own, so a client that hangs up mid-commit cannot cut
        // it short and leave the other requests of the group without an answer.
        tokio::spawn(writer(app.clone(), committer));
    }
    match result.await {
        Ok(stored) => Ok(stored?),
        // The writer went away without an answer.
        Err(_) => Err(EmailError::NotStored),
    }
}

/// Commits what is queued, one transaction per turn, until nothing is left.
async fn writer(app: App, committer: Arc<Committer>) {
    let mut running = Running(Some(&committer));
    loop {
        let turn = committer.turn.clone().lock_owned().await;
        let pending = {
            let mut queue = committer.queue.lock();
            if queue.pending.is_empty() {
                queue.writing = false;
                running.0 = None;
                return;
            }
            std::mem::take(&mut queue.pending)
        };
        write(&app, pending).await;
        drop(turn);
    }
}

/// A writer task that ends before the queue is empty (it panicked, or the runtime is
/// shutting down) drops what is queued, so those requests answer `NotStored` instead of
/// waiting for ever, and the next request starts a new writer.
struct Running<'a>(Option<&'a Committer>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(committer) = self.0 {
            let mut queue = committer.queue.lock();
            queue.writing = false;
            queue.pending.clear();
        }
    }
}

/// The writer's turn on SQLite (`None` on PostgreSQL), for writes made on another connection
/// to the same file (the request log's batches): holding it, they wait here for a commit of
/// accepted emails to finish instead of colliding with it in SQLite's busy handler, which
/// polls for the lock (`store::busy`) while both sides hold up requests.
pub async fn writer_turn(app: &App) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    match app.db() {
        Db::Sqlite(pool) => Some(committer_for(pool).turn.clone().lock_owned().await),
        Db::Postgres(_) => None,
    }
}

async fn write(app: &App, pending: Vec<Pending>) {
    let (accepted, done): (Vec<Accepted>, Vec<_>) =
        pending.into_iter().map(|p| (p.accepted, p.done)).unzip();
    match store::insert_accepted(app, &accepted).await {
        Ok(regions) => {
            // The regions come in the order of the emails: each request gets its own.
            let mut regions = regions.into_iter();
            for (one, done) in accepted.iter().zip(done) {
                let _ = done.send(Ok(regions.by_ref().take(one.emails.len()).collect()));
            }
        }
        // One failing request must not fail the rest of the group: retry them one by one.
        Err(err) if accepted.len() > 1 => {
            tracing::warn!(error = %err, "a group commit failed; committing its requests one by one");
            for (one, done) in accepted.into_iter().zip(done) {
                let _ = done.send(store::insert_accepted(app, &[one]).await);
            }
        }
        // A group of one: its request gets the error.
        Err(err) => {
            if let Some(done) = done.into_iter().next() {
                let _ = done.send(Err(err));
            }
        }
    }
}

type Registry = Vec<(Weak<SqliteConnectOptions>, Arc<Committer>)>;
static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());

/// The committer of `pool`. A pool keeps one options `Arc` for its whole life, which
/// identifies it; entries of dropped pools are pruned.
fn committer_for(pool: &SqlitePool) -> Arc<Committer> {
    let options = pool.connect_options();
    let mut registry = REGISTRY.lock();
    registry.retain(|(owner, _)| owner.strong_count() > 0);
    if let Some((_, committer)) = registry
        .iter()
        .find(|(owner, _)| std::ptr::eq(owner.as_ptr(), Arc::as_ptr(&options)))
    {
        return committer.clone();
    }
    let committer = Arc::new(Committer::default());
    registry.push((Arc::downgrade(&options), committer.clone()));
    committer
}
