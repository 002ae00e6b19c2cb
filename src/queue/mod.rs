//! The durable job queue. Every piece of background work is a row in `jobs`, committed in
//! the same transaction as the data it acts on, so an accepted request never loses its work.
//!
//! States: `queued` (waiting for `run_at`), `running` (claimed under a lease until
//! `locked_until`), `done`, `dead` (out of attempts) and `canceled`. A worker that crashes
//! simply lets its lease run out; the job is then claimed again. On PostgreSQL claims use
//! `FOR UPDATE SKIP LOCKED`, so nodes sharing a database never take the same job.
//! Finished jobs are deleted after a while ([`purge`]).

pub mod purge;
pub mod worker;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::FromRow;

use crate::clock::Millis;
use crate::on_db;
use crate::store::sql::{Arg, Placeholders, Stmt, bulk_insert};
use crate::store::{Db, new_id};

/// How long a claim is exclusive before another worker may take the job over.
pub const LEASE_MS: Millis = 5 * 60 * 1000;

#[derive(Debug, Clone, FromRow)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub region: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
}

impl Job {
    pub fn payload<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

/// A job to insert. `unique_key` lets the owner find it again (cancel, reschedule).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: String,
    pub run_at: Millis,
    pub max_attempts: i32,
    pub unique_key: Option<String>,
    pub region: Option<String>,
    /// When a job with the same `unique_key` exists, insert nothing instead of failing.
    pub skip_duplicate: bool,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: &impl Serialize, run_at: Millis) -> Self {
        Self {
            kind,
            payload: serde_json::to_string(payload).unwrap_or_else(|_| "null".into()),
            run_at,
            max_attempts: 10,
            unique_key: None,
            region: None,
            skip_duplicate: false,
        }
    }

    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// See [`NewJob::skip_duplicate`].
    pub fn skip_duplicate(mut self) -> Self {
        self.skip_duplicate = true;
        self
    }
}

/// The columns of every job row, in the order of [`row`].
const INSERT_HEAD: &str = "INSERT INTO jobs (id, kind, payload, region, state, run_at, attempts, \
                           max_attempts, unique_key, created_at, updated_at)";

fn conflict_tail(job_skips: bool) -> &'static str {
    if job_skips {
        " ON CONFLICT (unique_key) DO NOTHING"
    } else {
        ""
    }
}

/// A new job's values, in [`INSERT_HEAD`]'s order.
fn row(job: &NewJob, now: Millis) -> Vec<Arg> {
    vec![
        Arg::Text(Some(new_id())),
        Arg::Text(Some(job.kind.to_string())),
        Arg::Text(Some(job.payload.clone())),
        Arg::Text(job.region.clone()),
        Arg::Text(Some("queued".to_string())),
        Arg::Int(job.run_at),
        Arg::Int(0),
        Arg::Int(i64::from(job.max_attempts)),
        Arg::Text(job.unique_key.clone()),
        Arg::Int(now),
        Arg::Int(now),
    ]
}

/// The statements inserting `jobs` (the only `INSERT INTO jobs`), to run in the caller's
/// transaction with [`crate::exec_stmts!`] or in a statement list with
/// [`crate::store::sql::run`]. Bulk ([`bulk_insert`]): one statement over column arrays on
/// PostgreSQL, multi-row `VALUES` on SQLite, so a group of hundreds of jobs is a few round
/// trips.
pub fn insert(style: Placeholders, jobs: &[NewJob], now: Millis) -> Vec<Stmt> {
    let mut stmts = Vec::new();
    for skip in [false, true] {
        let rows: Vec<Vec<Arg>> = jobs
            .iter()
            .filter(|j| j.skip_duplicate == skip)
            .map(|j| row(j, now))
            .collect();
        stmts.extend(bulk_insert(style, INSERT_HEAD, rows, conflict_tail(skip)));
    }
    stmts
}

/// The statement inserting one job (portable: numbered placeholders, one row).
pub fn insert_one(job: &NewJob, now: Millis) -> Stmt {
    let args = row(job, now);
    let mut stmt = Stmt::new(format!(
        "{INSERT_HEAD} VALUES ({}){}",
        Placeholders::Numbered.list(1, args.len()),
        conflict_tail(job.skip_duplicate)
    ));
    stmt.args = args;
    stmt
}

/// Inserts a job inside the caller's transaction (any sqlx executor of either backend):
/// `enqueue_in!(executor, &job, now)` gives `Result<u64, sqlx::Error>`.
#[macro_export]
macro_rules! enqueue_in {
    ($executor:expr, $job:expr, $now:expr) => {{
        let stmt = $crate::queue::insert_one($job, $now);
        $crate::exec_stmt!($executor, &stmt)
    }};
}

pub async fn enqueue(db: &Db, job: &NewJob, now: Millis) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| enqueue_in!(pool, job, now))?;
    Ok(())
}

/// Cancels the job of `key` unless it started: one statement of the caller's transaction.
pub fn cancel_by_key(key: &str, now: Millis) -> Stmt {
    Stmt::new(
        "UPDATE jobs SET state = 'canceled', updated_at = $2 WHERE unique_key = $1 \
         AND state = 'queued'",
    )
    .text(key)
    .int(now)
}

/// Marks the job of `key` done unless it started (its work was done otherwise).
pub fn finish_by_key(key: &str, now: Millis) -> Stmt {
    Stmt::new(
        "UPDATE jobs SET state = 'done', updated_at = $2 WHERE unique_key = $1 AND state = 'queued'",
    )
    .text(key)
    .int(now)
}

/// Moves the job of `key` to `at` unless it started: one statement of the caller's transaction.
pub fn reschedule_by_key(key: &str, at: Millis, now: Millis) -> Stmt {
    Stmt::new(
        "UPDATE jobs SET run_at = $2, updated_at = $3 WHERE unique_key = $1 AND state = 'queued'",
    )
    .text(key)
    .int(at)
    .int(now)
}

/// The state and `run_at` of the job of `key`, if there is one.
pub async fn state_by_key(db: &Db, key: &str) -> Result<Option<(String, Millis)>, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_as::<_, (String, Millis)>(
        "SELECT state, run_at FROM jobs WHERE unique_key = $1"
    )
    .bind(key)
    .fetch_optional(pool)
    .await)
}

/// Makes the singleton `job` (one row, found by its `unique_key`) due at `now`: re-queues it
/// when it finished, creates it the first time, leaves it alone when queued or running.
pub async fn arm_singleton(db: &Db, job: &NewJob, now: Millis) -> Result<(), sqlx::Error> {
    let key = job.unique_key.as_deref().unwrap_or_default();
    let requeued = on_db!(db, |pool| sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $2, attempts = 0, last_error = NULL, \
         updated_at = $2 WHERE unique_key = $1 AND state IN ('done', 'dead', 'canceled')"
    )
    .bind(key)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if requeued == 0 {
        let job = NewJob {
            run_at: now,
            ..job.clone()
        }
        .skip_duplicate();
        enqueue(db, &job, now).await?;
    }
    Ok(())
}

/// Claims up to `limit` due jobs of `kind` for `worker_id`, whatever their region.
pub async fn claim(
    db: &Db,
    kind: &str,
    worker_id: &str,
    now: Millis,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    claim_in_regions(db, kind, worker_id, now, limit, None).await
}

/// Whether any job of `kind` that this node may claim is due (queued and due, or its lease
/// ran out), with the same `regions` filter as [`claim_in_regions`]. A read, so it does not
/// contend for SQLite's write lock the way a claim does: workers look before they claim. A
/// node that serves none of the waiting jobs' regions therefore never takes the write lock
/// for a claim that would find nothing.
pub async fn any_due(
    db: &Db,
    kind: &str,
    now: Millis,
    regions: Option<&[String]>,
) -> Result<bool, sqlx::Error> {
    // Region values are bound from `$3` on.
    let filter = region_filter(regions, 3);
    let sql = format!(
        "SELECT 1 FROM jobs WHERE kind = $1 AND state = 'queued' AND run_at <= $2{filter} \
         UNION ALL SELECT 1 FROM jobs WHERE kind = $1 AND state = 'running' \
         AND locked_until < $2{filter} LIMIT 1"
    );
    let found: Option<i32> = on_db!(db, |pool| {
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(kind)
            .bind(now);
        for region in regions.unwrap_or_default() {
            query = query.bind(region);
        }
        query.fetch_optional(pool).await
    })?;
    Ok(found.is_some())
}

/// The condition on `region` of a node serving `regions` (`None`: every region), its values
/// bound from `$first` on.
fn region_filter(regions: Option<&[String]>, first: usize) -> String {
    match regions {
        None => String::new(),
        Some([]) => " AND region IS NULL".to_string(),
        Some(list) => {
            let params: Vec<String> = (0..list.len()).map(|i| format!("${}", i + first)).collect();
            format!(" AND (region IS NULL OR region IN ({}))", params.join(", "))
        }
    }
}

/// Like [`claim`], but only jobs without a region or of one of `regions` (a node's sending
/// pools); `None` takes any region. The statement is the same on both backends except
/// PostgreSQL's `FOR UPDATE SKIP LOCKED`. Due jobs and expired leases are looked up
/// separately, each as a range of the `(kind, state, run_at)` index: one `OR` over both
/// would scan every job of the kind (done ones included) and sort them, on every claim.
pub async fn claim_in_regions(
    db: &Db,
    kind: &str,
    worker_id: &str,
    now: Millis,
    limit: i64,
    regions: Option<&[String]>,
) -> Result<Vec<Job>, sqlx::Error> {
    // Region values are bound from `$6` on.
    let region_filter = region_filter(regions, 6);
    let regions = regions.unwrap_or_default();
    let lock = if db.is_postgres() {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', locked_by = $3, locked_until = $4, \
         attempts = attempts + 1, updated_at = $2 \
         WHERE id IN (\
           SELECT id FROM (SELECT id FROM jobs WHERE kind = $1 AND state = 'queued' \
             AND run_at <= $2{region_filter} ORDER BY run_at LIMIT $5{lock}) due \
           UNION ALL \
           SELECT id FROM (SELECT id FROM jobs WHERE kind = $1 AND state = 'running' \
             AND locked_until < $2{region_filter} LIMIT $5{lock}) expired \
           LIMIT $5) \
         RETURNING id, kind, payload, region, attempts, max_attempts"
    );
    on_db!(db, |pool| {
        let mut query = sqlx::query_as::<_, Job>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(kind)
            .bind(now)
            .bind(worker_id)
            .bind(now + LEASE_MS)
            .bind(limit);
        for region in regions {
            query = query.bind(region);
        }
        query.fetch_all(pool).await
    })
}

pub async fn complete(db: &Db, job_id: &str, now: Millis) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, updated_at = $2 \
         WHERE id = $1"
    )
    .bind(job_id)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Exponential backoff: 30 s, 1 min, 2 min … capped at 1 hour.
pub fn backoff_ms(attempts: i32) -> Millis {
    let exp = attempts.clamp(1, 12) as u32 - 1;
    (30_000i64 * 2i64.pow(exp)).min(3_600_000)
}

/// The statement marking jobs `ids` done, for a handler that records its work and its job's
/// end in one transaction (then it returns [`Completed`]). One text for any number of ids
/// ([`crate::store::sql::any_of`]).
pub fn complete_stmt(style: Placeholders, ids: Vec<String>, now: Millis) -> Stmt {
    let ids = ids.into_iter().map(Some).collect();
    let mut stmt = Stmt::new(format!(
        "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, updated_at = $1 \
         WHERE id {}",
        crate::store::sql::any_of(style, 2)
    ))
    .int(now);
    stmt.args.push(Arg::Texts(ids));
    stmt
}

/// A handler's way to say "done, and already recorded as done": it committed
/// [`complete_stmt`] with its own work, so the worker writes nothing more for the job.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the job recorded its own completion")]
pub struct Completed;

/// Completes several jobs in one statement ([`complete_stmt`], one text for any number of
/// ids): one commit for a batch of finished jobs.
pub async fn complete_many(db: &Db, job_ids: &[String], now: Millis) -> Result<(), sqlx::Error> {
    if job_ids.is_empty() {
        return Ok(());
    }
    let stmt = complete_stmt(Placeholders::of(db), job_ids.to_vec(), now);
    on_db!(db, |pool| crate::exec_stmt!(pool, &stmt))?;
    Ok(())
}

/// A handler's way to say "run me again at `at`": the job goes back to `queued` without
/// counting as a failure (the handler keeps its own schedule and decides when to give up).
#[derive(Debug, Clone, thiserror::Error)]
#[error("retry at {at}: {reason}")]
pub struct RetryAt {
    pub at: Millis,
    pub reason: String,
}

/// Puts a job back to `queued` for `at`, whatever its attempts.
pub async fn retry_at(
    db: &Db,
    job_id: &str,
    retry: &RetryAt,
    now: Millis,
) -> Result<(), sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $2, last_error = $3, locked_by = NULL, \
         locked_until = NULL, updated_at = $4 WHERE id = $1"
    )
    .bind(job_id)
    .bind(retry.at)
    .bind(&retry.reason)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Jobs a previous run of this node held when it stopped (crashed) go back to `queued` at
/// once instead of waiting for their lease to run out. `node` prefixes this node's worker
/// ids (see [`node_worker_id`]).
pub async fn release_orphans(db: &Db, node: &str, now: Millis) -> Result<u64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE jobs SET state = 'queued', locked_by = NULL, locked_until = NULL, \
         updated_at = $2 WHERE state = 'running' AND locked_by LIKE $1"
    )
    .bind(format!("{node}:%"))
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
}

/// This node's identity, kept in `<data_dir>/node-id` so a restarted node recognises the
/// jobs it held (nodes sharing a database need their own data folders).
pub fn node_id(data_dir: &std::path::Path) -> std::io::Result<String> {
    let path = data_dir.join("node-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    std::fs::create_dir_all(data_dir)?;
    let id = format!("node-{}", &new_id()[24..]);
    std::fs::write(&path, &id)?;
    Ok(id)
}

/// A worker id of `node`.
pub fn node_worker_id(node: &str) -> String {
    format!("{node}:{}", &new_id()[24..])
}

/// Records a failed attempt: back to `queued` after a backoff, or `dead` when out of attempts.
pub async fn fail(db: &Db, job: &Job, error: &str, now: Millis) -> Result<(), sqlx::Error> {
    let dead = job.attempts >= job.max_attempts;
    let state = if dead { "dead" } else { "queued" };
    let run_at = now + backoff_ms(job.attempts);
    on_db!(db, |pool| sqlx::query(
        "UPDATE jobs SET state = $2, run_at = $3, last_error = $4, locked_by = NULL, \
         locked_until = NULL, updated_at = $5 WHERE id = $1"
    )
    .bind(&job.id)
    .bind(state)
    .bind(run_at)
    .bind(error)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Counts jobs by state, for the dashboard and tests.
pub async fn count_in_state(db: &Db, kind: &str, state: &str) -> Result<i64, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = $2"
    )
    .bind(kind)
    .bind(state)
    .fetch_one(pool)
    .await)
}

/// The queue's depth: how many jobs of each kind are `queued` and `running` (what
/// `/metrics` reports at scrape time), one `GROUP BY` query.
pub async fn depth(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    on_db!(db, |pool| sqlx::query_as(
        "SELECT kind, state, COUNT(*) FROM jobs WHERE state IN ('queued', 'running') \
         GROUP BY kind, state"
    )
    .fetch_all(pool)
    .await)
}

pub fn new_worker_id() -> String {
    format!("worker-{}", &new_id()[24..])
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 60_000);
        assert_eq!(backoff_ms(3), 120_000);
        assert_eq!(backoff_ms(20), 3_600_000);
    }
}
