//! Workers: one loop per job kind, woken when work is enqueued on this node and otherwise
//! polling, so jobs enqueued by other nodes (PostgreSQL) or due later are picked up too.
//!
//! Each loop runs up to [`concurrency`] jobs of its kind at once. It claims a batch when
//! enough slots are free (a claim is a write, so claiming one job at a time would cost a
//! commit per job), and the jobs that finish are marked done together.
//!
//! While the database cannot be reached, the loops back off (up to [`MAX_BACKOFF`] between
//! claims), a job that failed for that reason is put back for [`UNAVAILABLE_RETRY`] later
//! without counting as a failed attempt, and finished jobs are recorded once it answers again
//! (the finisher keeps them until then), so nothing runs twice for an outage.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::{
    Completed, Job, RetryAt, any_due, claim_in_regions, complete_many, fail, new_worker_id,
    node_id, node_worker_id, release_orphans, retry_at,
};
use crate::clock::Millis;
use crate::config::Settings;
use crate::store::Db;

/// What the workers and the purge need of the application that runs them. The queue names no
/// type above it: `App` implements this where it is put together (`app.rs`), and every handler
/// is given the host it was registered with.
pub trait Host: Clone + Send + Sync + 'static {
    fn settings(&self) -> &Settings;
    fn now_ms(&self) -> Millis;
    fn db(&self) -> &Db;
    /// Where job bookkeeping (claims, finishes, purges) commits: on SQLite without waiting
    /// for the disk (see `delivery::Engine::bookkeeping`).
    fn bookkeeping(&self) -> &Db;
    /// The job kinds this node's workers run.
    fn job_kinds(&self) -> &Registry<Self>;
    /// Resolves when work of `kind` (or of every kind) was enqueued on this node.
    fn jobs_notified(&self, kind: &'static str) -> impl Future<Output = ()> + Send;
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
pub type Handler<H> = Arc<dyn for<'a> Fn(&'a H, &'a Job) -> HandlerFuture<'a> + Send + Sync>;

/// A job kind a feature registers: its name, its handler and how many of its jobs a node
/// runs at once.
pub struct JobKind<H> {
    pub kind: &'static str,
    pub handler: Handler<H>,
    concurrency: fn(&Settings) -> usize,
}

impl<H> Clone for JobKind<H> {
    fn clone(&self) -> Self {
        Self {
            kind: self.kind,
            handler: self.handler.clone(),
            concurrency: self.concurrency,
        }
    }
}

/// The job kinds this build runs. The queue knows none of them: `app::job_kinds` registers
/// each feature's handler, so the queue imports no feature.
pub struct Registry<H>(Vec<JobKind<H>>);

impl<H> Default for Registry<H> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<H> Clone for Registry<H> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<H> Registry<H> {
    /// Registers `kind`, run by `handler`, `[workers]` of them at once on a node.
    pub fn with(self, kind: &'static str, handler: Handler<H>) -> Self {
        self.with_concurrency(kind, handler, |settings| settings.workers)
    }

    /// Registers `kind` with its own concurrency setting.
    pub fn with_concurrency(
        mut self,
        kind: &'static str,
        handler: Handler<H>,
        concurrency: fn(&Settings) -> usize,
    ) -> Self {
        self.0.push(JobKind {
            kind,
            handler,
            concurrency,
        });
        self
    }

    pub fn kinds(&self) -> &[JobKind<H>] {
        &self.0
    }

    pub fn contains(&self, kind: &str) -> bool {
        self.0.iter().any(|k| k.kind == kind)
    }
}

const POLL: Duration = Duration::from_millis(500);

/// Jobs of `kind` this node runs at once: what its registration says, else `[workers]`.
pub fn concurrency<H: Host>(host: &H, kind: &str) -> usize {
    let settings = host.settings();
    host.job_kinds()
        .kinds()
        .iter()
        .find(|k| k.kind == kind)
        .map_or(settings.workers, |k| (k.concurrency)(settings))
        .max(1)
}

async fn claim<H: Host>(
    host: &H,
    kind: &str,
    worker_id: &str,
    limit: usize,
) -> anyhow::Result<Vec<Job>> {
    // Only work of the regions (sending pools) this node serves.
    let regions = Some(host.settings().regions.as_slice());
    let now = host.now_ms();
    if !any_due(host.db(), kind, now, regions).await? {
        return Ok(Vec::new());
    }
    let db = host.bookkeeping();
    Ok(claim_in_regions(db, kind, worker_id, now, limit as i64, regions).await?)
}

/// How a job run ended, as the queue records it.
enum Outcome {
    Done,
    /// Done, and its handler recorded it ([`super::Completed`]).
    Recorded,
    Retry(RetryAt),
    Failed(String),
}

/// Reads a handler's result. An error that says the database cannot be reached (or comes
/// while it does not answer) is no failure of the job: it runs again shortly.
async fn outcome<H: Host>(host: &H, result: anyhow::Result<()>) -> Outcome {
    let Err(err) = result else {
        return Outcome::Done;
    };
    if err.is::<Completed>() {
        return Outcome::Recorded;
    }
    if let Some(retry) = err.downcast_ref::<RetryAt>() {
        return Outcome::Retry(retry.clone());
    }
    if crate::error::database_unavailable_in(&err) || !host.db().answers().await {
        return Outcome::Retry(RetryAt {
            at: host.now_ms() + UNAVAILABLE_RETRY.as_millis() as i64,
            reason: format!("database unavailable: {err:#}"),
        });
    }
    Outcome::Failed(format!("{err:#}"))
}

/// Records how finished jobs went: done (all in one statement), retried when the handler
/// asked for it ([`RetryAt`]), or failed with the queue's backoff.
async fn finish<H: Host>(host: &H, kind: &str, results: &[(Job, Outcome)]) -> anyhow::Result<()> {
    let now = host.now_ms();
    // Job bookkeeping commits without waiting for the disk (see `Engine::bookkeeping`).
    let db = host.bookkeeping();
    let mut done = Vec::with_capacity(results.len());
    for (job, outcome) in results {
        match outcome {
            Outcome::Done => done.push(job.id.clone()),
            Outcome::Recorded => {}
            Outcome::Retry(retry) => retry_at(db, &job.id, retry, now).await?,
            Outcome::Failed(err) => {
                tracing::warn!(job_id = %job.id, kind, error = %err, "job failed");
                fail(db, job, err, now).await?;
            }
        }
    }
    complete_many(db, &done, now).await?;
    Ok(())
}

/// After a job failed because the database was unavailable, it runs again this much later.
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(2);
/// The longest wait between two claims while the database does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Runs every due job of `kind` once; returns how many ran. Tests call this to drain the
/// queue deterministically.
pub async fn run_due<H: Host>(
    host: &H,
    kind: &str,
    handler: &Handler<H>,
    worker_id: &str,
) -> anyhow::Result<usize> {
    let mut ran = 0;
    loop {
        let jobs = claim(host, kind, worker_id, concurrency(host, kind)).await?;
        if jobs.is_empty() {
            return Ok(ran);
        }
        ran += jobs.len();
        let results = futures::future::join_all(jobs.iter().map(|job| handler(host, job))).await;
        let mut outcomes = Vec::with_capacity(results.len());
        for (job, result) in jobs.into_iter().zip(results) {
            outcomes.push((job, outcome(host, result).await));
        }
        finish(host, kind, &outcomes).await?;
    }
}

pub fn spawn_all<H: Host>(
    host: &H,
    shutdown: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let node = match node_id(&host.settings().data_dir) {
        Ok(node) => Some(node),
        Err(err) => {
            tracing::warn!(error = %err, "cannot keep a node id; crashed jobs wait for their lease");
            None
        }
    };
    let orphans_released = Arc::new(tokio::sync::OnceCell::new());
    host.job_kinds()
        .kinds()
        .iter()
        .map(|JobKind { kind, handler, .. }| {
            let (kind, handler) = (*kind, handler.clone());
            let host = host.clone();
            let shutdown = shutdown.clone();
            let node = node.clone();
            let orphans_released = orphans_released.clone();
            tokio::spawn(async move {
                let worker_id = match &node {
                    Some(node) => {
                        orphans_released
                            .get_or_init(|| async {
                                match release_orphans(host.db(), node, host.now_ms()).await {
                                    Ok(0) => {}
                                    Ok(n) => {
                                        tracing::info!(jobs = n, "resumed jobs of the last run")
                                    }
                                    Err(err) => tracing::warn!(error = %err, "cannot resume jobs"),
                                }
                            })
                            .await;
                        node_worker_id(node)
                    }
                    None => new_worker_id(),
                };
                run_kind(host, kind, handler, worker_id, shutdown).await
            })
        })
        .collect()
}

/// The loop of one kind: claims while slots are free, runs each job in its own task.
async fn run_kind<H: Host>(
    host: H,
    kind: &'static str,
    handler: Handler<H>,
    worker_id: String,
    shutdown: CancellationToken,
) {
    let limit = concurrency(&host, kind);
    // Below this many free slots, wait for more to free up before claiming again.
    let batch = (limit / 4).max(1);
    let slots = Arc::new(Semaphore::new(limit));
    let freed = Arc::new(Notify::new());
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Job, Outcome)>();
    let finisher = {
        let host = host.clone();
        tokio::spawn(async move {
            let mut results = Vec::new();
            while done_rx.recv_many(&mut results, 1024).await > 0 {
                let batch = std::mem::take(&mut results);
                // Kept until recorded: a job whose result is dropped would wait for its
                // lease and run again (an email sent twice).
                let mut wait = POLL;
                while let Err(err) = finish(&host, kind, &batch).await {
                    tracing::error!(kind, error = %err, "cannot record finished jobs; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            }
        })
    };
    let mut backoff = POLL;
    loop {
        let free = slots.available_permits();
        let mut full_claim = false;
        if free >= batch || free == limit {
            match claim(&host, kind, &worker_id, free).await {
                Ok(jobs) => {
                    backoff = POLL;
                    full_claim = !jobs.is_empty() && jobs.len() == free;
                    for job in jobs {
                        let permit = slots.clone().acquire_owned().await.expect("never closed");
                        let (host, handler, done, freed) = (
                            host.clone(),
                            handler.clone(),
                            done_tx.clone(),
                            freed.clone(),
                        );
                        tokio::spawn(async move {
                            let result = handler(&host, &job).await;
                            let outcome = outcome(&host, result).await;
                            let _ = done.send((job, outcome));
                            drop(permit);
                            freed.notify_one();
                        });
                    }
                }
                Err(err) => {
                    tracing::error!(kind, error = %err, "worker loop error");
                    // Do not hammer a database that is down: wait longer each time.
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        if full_claim {
            continue; // there may be more due right now
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = host.jobs_notified(kind) => {}
            _ = freed.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    // Let running jobs finish (within the time `Running::stop` allows) and record them.
    let _ = slots.acquire_many(limit as u32).await;
    drop(done_tx);
    let _ = finisher.await;
}
