//! Group commit of accepted emails on SQLite.
//!
//! SQLite has one writer at a time and every commit waits for its fsync. If each request
//! committed alone, concurrent requests would queue on the write lock (sleeping in SQLite's
//! busy handler) and pay one fsync each. Instead a request queues what it accepted and takes
//! its turn as writer; the writer commits everything queued by then in one transaction, so
//! one fsync covers many requests. A request still answers only after its emails are
//! committed. PostgreSQL runs concurrent transactions and groups their WAL flushes itself,
//! so there each request commits on its own.
//!
//! The queue belongs to the database pool; it is found through a small registry keyed by
//! the pool's identity, so every `App` (tests run several in one process) gets its own.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use sqlx::SqlitePool;
use sqlx::sqlite::SqliteConnectOptions;
use tokio::sync::oneshot;

use super::error::{EmailError, EmailResult};
use super::store::{self, Accepted};
use crate::handle::App;
use crate::store::Db;
use crate::store::sql::StoreResult;

struct Pending {
    accepted: Accepted,
    done: oneshot::Sender<StoreResult<()>>,
}

#[derive(Default)]
struct Committer {
    queue: Mutex<Vec<Pending>>,
    /// Held by the writer for as long as its transaction runs.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// Commits what a request accepted; returns once it is durable.
pub async fn commit(app: &App, accepted: Accepted) -> EmailResult<()> {
    let pool = match app.db() {
        Db::Postgres(_) => return Ok(store::insert_accepted(app, &[accepted]).await?),
        Db::Sqlite(pool) => pool,
    };
    let committer = committer_for(pool);
    let (done, result) = oneshot::channel();
    committer.queue.lock().push(Pending { accepted, done });
    let turn = committer.turn.clone().lock_owned().await;
    let pending = std::mem::take(&mut *committer.queue.lock());
    if pending.is_empty() {
        // An earlier writer took ours along.
        drop(turn);
    } else {
        // The transaction runs in its own task, so a client that hangs up mid-commit cannot
        // cut it short and leave the other requests of the group without an answer.
        let app = app.clone();
        tokio::spawn(async move {
            write(&app, pending).await;
            drop(turn);
        });
    }
    match result.await {
        Ok(stored) => Ok(stored?),
        // The writer went away without an answer.
        Err(_) => Err(EmailError::NotStored),
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
        Ok(()) => {
            for done in done {
                let _ = done.send(Ok(()));
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
