//! Group commit of accepted emails.
//!
//! On SQLite there is one writer at a time and every commit waits for its fsync; on
//! PostgreSQL every transaction is a few round trips (`BEGIN`, the inserts, `COMMIT`) and
//! the server's work per statement. If each request committed alone, concurrent requests
//! would queue on SQLite's write lock and pay one fsync each, and on PostgreSQL pay their
//! own statements and commit (1,362-1,394 accepted/s against SQLite's 5,180, docs/performance.md).
//! Instead a request queues what it accepted and waits for its answer; a writer task commits
//! everything queued in one transaction (multi-row inserts), then everything queued while
//! that transaction ran, and so on until the queue is empty (`store::group`: one writer on
//! SQLite, up to [`group::PG_WRITERS`] at once on PostgreSQL). A request still answers only after
//! its emails are committed; on PostgreSQL a commit whose answer was lost is resolved by
//! asking the database (`store::in_doubt`).
//!
//! A request never waits for a turn of its own: only a writer commits. (Until 2026-12-07
//! each request took the turn in order and the holder committed what was queued; a request
//! taken along by an earlier writer still waited for its own turn before it could answer,
//! and each of those turns committed the one or two requests that had arrived meanwhile, so
//! 32 concurrent requests made about one commit each, one after another; see
//! docs/performance.md.)
//!
//! The queue belongs to the database pool; it is found through a small registry keyed by
//! the pool's identity, so every `App` (tests run several in one process) gets its own.

use std::any::Any;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::error::{EmailError, EmailResult};
use super::store::{self, Accepted, JobRegions};
use crate::handle::App;
use crate::store::Db;
use crate::store::group::{self, GroupWriter};
use crate::store::in_doubt;
use crate::store::sql::{StoreError, StoreResult};

#[derive(Default)]
struct Committer {
    group: Arc<GroupWriter<Accepted, StoreResult<JobRegions>>>,
    /// Held by a SQLite writer for as long as its transaction runs.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// Commits what a request accepted; returns once it is durable, with the regions the
/// store gave its emails' jobs (`store::insert_accepted`).
pub async fn commit(app: &App, accepted: Accepted) -> EmailResult<JobRegions> {
    let committer = committer_for(app.db());
    let writers = group::writers_for(app.db());
    let (app, turn) = (app.clone(), committer.turn.clone());
    let written = committer.group.submit(accepted, writers, move |group| {
        write(app.clone(), turn.clone(), group)
    });
    match written.await {
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
        Db::Sqlite(_) => Some(committer_for(app.db()).turn.clone().lock_owned().await),
        Db::Postgres(_) => None,
    }
}

/// Commits a group (on SQLite holding the turn): one result per request, in order.
async fn write(
    app: App,
    turn: Arc<tokio::sync::Mutex<()>>,
    accepted: Vec<Accepted>,
) -> Vec<StoreResult<JobRegions>> {
    let _turn = match app.db() {
        Db::Sqlite(_) => Some(turn.lock_owned().await),
        Db::Postgres(_) => None,
    };
    match store::insert_accepted(&app, &accepted).await {
        // The regions come in the order of the emails: each request gets its own.
        Ok(regions) => {
            let mut regions = regions.into_iter();
            accepted
                .iter()
                .map(|one| Ok(regions.by_ref().take(one.emails.len()).collect()))
                .collect()
        }
        // One failing request must not fail the rest of the group: retry them one by one,
        // but only when the group surely rolled back. After a lost connection or a commit
        // whose outcome stayed unknown, a retry could store the same emails twice.
        Err(StoreError::Database(err)) if accepted.len() > 1 && in_doubt::rolled_back(&err) => {
            tracing::warn!(error = %err, "a group commit failed; committing its requests one by one");
            let mut results = Vec::with_capacity(accepted.len());
            for one in accepted {
                results.push(store::insert_accepted(&app, &[one]).await);
            }
            results
        }
        // Every request of the group gets the error.
        Err(err) => {
            let copies: Vec<_> = (1..accepted.len())
                .map(|_| match &err {
                    StoreError::Conflict => StoreError::Conflict,
                    StoreError::Database(err) => StoreError::Database(in_doubt::copy_error(err)),
                })
                .collect();
            std::iter::once(Err(err))
                .chain(copies.into_iter().map(Err))
                .collect()
        }
    }
}

type Registry = Vec<(Weak<dyn Any + Send + Sync>, Arc<Committer>)>;
static REGISTRY: Mutex<Registry> = Mutex::new(Vec::new());

/// The committer of `db`'s pool. A pool keeps one options `Arc` for its whole life, which
/// identifies it; entries of dropped pools are pruned.
fn committer_for(db: &Db) -> Arc<Committer> {
    let options: Arc<dyn Any + Send + Sync> = match db {
        Db::Sqlite(pool) => pool.connect_options(),
        Db::Postgres(pool) => pool.connect_options(),
    };
    let mut registry = REGISTRY.lock();
    registry.retain(|(owner, _)| owner.strong_count() > 0);
    if let Some((_, committer)) = registry
        .iter()
        .find(|(owner, _)| std::ptr::addr_eq(owner.as_ptr(), Arc::as_ptr(&options)))
    {
        return committer.clone();
    }
    let committer = Arc::new(Committer::default());
    registry.push((Arc::downgrade(&options), committer.clone()));
    committer
}
