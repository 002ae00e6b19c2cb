//! Deletes finished jobs once they are old (`[jobs]` settings): `done` ones after
//! `keep_done_minutes`, `dead` and `canceled` ones after `keep_failed_days`. Without it the
//! `jobs` table grows by one row per email for ever. The same ticker runs the [`Sweep`]s
//! `app::start` registers: request logs past `[logs] keep_days` (`logs::purge`, through
//! [`delete_in_batches`]) and expired export files (`exports::expire`).
//!
//! Each statement deletes at most [`BATCH`] rows found through a partial index on
//! `updated_at` (migration 0008), oldest first, so a batch costs the rows it deletes and
//! holds SQLite's write lock only that long; other writers get the lock between batches.
//! Every node runs it; on PostgreSQL `SKIP LOCKED` keeps two nodes from waiting on each
//! other's rows.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::worker::Host;
use crate::clock::Millis;
use crate::on_db;
use crate::store::Db;

/// Rows per delete statement.
pub const BATCH: i64 = 1000;
/// How often a node purges.
const INTERVAL: Duration = Duration::from_secs(60);
/// Between two batches of one purge.
const PAUSE: Duration = Duration::from_millis(10);

/// What one purge deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub done: u64,
    pub failed: u64,
}

/// Deletes the finished jobs older than the settings allow at `host.now_ms()`, `batch` rows
/// per statement.
pub async fn purge_finished<H: Host>(host: &H, batch: i64) -> Result<Purged, sqlx::Error> {
    let settings = &host.settings().jobs;
    let now = host.now_ms();
    // Deleting finished rows only says what is over: the bookkeeping connection's
    // durability is enough (a delete lost in a power cut is done again next time).
    let db = host.bookkeeping();
    let mut purged = Purged::default();
    if settings.keep_done_minutes > 0 {
        let cutoff = now.saturating_sub(minutes_ms(settings.keep_done_minutes));
        purged.done = purge(db, "state = 'done'", cutoff, batch).await?;
    }
    if settings.keep_failed_days > 0 {
        let cutoff = now.saturating_sub(minutes_ms(settings.keep_failed_days * 24 * 60));
        let failed = "state IN ('dead', 'canceled')";
        purged.failed = purge(db, failed, cutoff, batch).await?;
    }
    Ok(purged)
}

fn minutes_ms(minutes: u64) -> Millis {
    Millis::try_from(minutes.saturating_mul(60_000)).unwrap_or(Millis::MAX)
}

/// Deletes the jobs matching `states` (the exact condition of a partial index) last
/// updated before `cutoff`, `batch` at a time.
async fn purge(db: &Db, states: &str, cutoff: Millis, batch: i64) -> Result<u64, sqlx::Error> {
    delete_in_batches(db, "jobs", states, "updated_at", cutoff, batch).await
}

/// Deletes the rows of `table` matching `condition` whose `column` is before `cutoff`,
/// oldest first, `batch` rows per statement, pausing between statements. `condition` and
/// `column` must match an index (`column` alone, or partial on `condition`), so each
/// statement costs the rows it deletes.
pub async fn delete_in_batches(
    db: &Db,
    table: &str,
    condition: &str,
    column: &str,
    cutoff: Millis,
    batch: i64,
) -> Result<u64, sqlx::Error> {
    let pick = format!(
        "SELECT id FROM {table} WHERE {condition} AND {column} < $1 ORDER BY {column} LIMIT $2"
    );
    // PostgreSQL plans `id IN (subquery)` as a hash join over a scan of the whole table
    // (linear per batch, quadratic per purge); `= ANY(ARRAY(…))` looks each id up.
    let sql = if db.is_postgres() {
        format!("DELETE FROM {table} WHERE id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))")
    } else {
        format!("DELETE FROM {table} WHERE id IN ({pick})")
    };
    let mut total = 0;
    loop {
        let deleted = on_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(cutoff)
            .bind(batch)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        total += deleted;
        if deleted < batch as u64 {
            return Ok(total);
        }
        // A pause between batches: SQLite writers waiting in the busy handler (accepted
        // emails) poll for the lock every 25 µs to 1 ms (`store::busy`) and must find it free.
        tokio::time::sleep(PAUSE).await;
    }
}

pub type SweepFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<u64>> + Send + 'a>>;

/// Another clean-up the purge ticker runs (request logs past their days, expired export
/// files), registered by `app::start` so the queue imports no feature: what it deletes, for
/// the log, and how.
pub struct Sweep<H> {
    pub what: &'static str,
    pub run: Box<dyn for<'a> Fn(&'a H) -> SweepFuture<'a> + Send + Sync>,
}

/// Purges about once every [`INTERVAL`], until `shutdown`: finished jobs, then `sweeps`.
pub fn spawn_ticker<H: Host>(
    host: &H,
    shutdown: CancellationToken,
    sweeps: Vec<Sweep<H>>,
) -> tokio::task::JoinHandle<()> {
    let host = host.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(INTERVAL) => {}
            }
            match purge_finished(&host, BATCH).await {
                Ok(purged) if purged != Purged::default() => {
                    tracing::debug!(done = purged.done, failed = purged.failed, "jobs purged");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "purging finished jobs"),
            }
            for sweep in &sweeps {
                match (sweep.run)(&host).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(deleted = n, what = sweep.what, "purged"),
                    Err(err) => tracing::warn!(error = %err, what = sweep.what, "purging"),
                }
            }
        }
    })
}
