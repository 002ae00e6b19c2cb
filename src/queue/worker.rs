//! Workers: one loop per job kind, woken when work is enqueued on this node and otherwise
//! polling, so jobs enqueued by other nodes (PostgreSQL) or due later are picked up too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Job, claim_in_regions, complete, fail, new_worker_id};
use crate::app::App;

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;
pub type Handler = Arc<dyn for<'a> Fn(&'a App, &'a Job) -> HandlerFuture<'a> + Send + Sync>;

/// The job kinds this build knows, with their handlers.
pub fn handlers() -> Vec<(&'static str, Handler)> {
    vec![
        (
            crate::emails::SIMULATE_JOB,
            Arc::new(|app, job| Box::pin(crate::emails::test_recipients::run_job(app, job))),
        ),
        (
            crate::audience::imports::JOB,
            Arc::new(|app, job| Box::pin(crate::audience::imports::job::run_job(app, job))),
        ),
        (
            crate::domains::VERIFY_JOB,
            Arc::new(|app, job| Box::pin(crate::domains::job::run(app, job))),
        ),
        (
            crate::webhooks::scan::SCAN_JOB,
            Arc::new(|app, job| Box::pin(crate::webhooks::scan::run_job(app, job))),
        ),
        (
            crate::webhooks::delivery::DELIVERY_JOB,
            Arc::new(|app, job| Box::pin(crate::webhooks::delivery::run_job(app, job))),
        ),
    ]
}

const POLL: Duration = Duration::from_millis(500);
const BATCH: i64 = 32;

/// Runs every due job of `kind` once; returns how many ran. Tests call this to drain the
/// queue deterministically.
pub async fn run_due(
    app: &App,
    kind: &str,
    handler: &Handler,
    worker_id: &str,
) -> anyhow::Result<usize> {
    let mut ran = 0;
    loop {
        // Only work of the regions (sending pools) this node serves.
        let regions = Some(app.settings().regions.as_slice());
        let jobs =
            claim_in_regions(app.db(), kind, worker_id, app.now_ms(), BATCH, regions).await?;
        if jobs.is_empty() {
            return Ok(ran);
        }
        for job in &jobs {
            ran += 1;
            match handler(app, job).await {
                Ok(()) => complete(app.db(), &job.id, app.now_ms()).await?,
                Err(err) => {
                    tracing::warn!(job_id = %job.id, kind, error = %err, "job failed");
                    fail(app.db(), job, &format!("{err:#}"), app.now_ms()).await?;
                }
            }
        }
    }
}

pub fn spawn_all(app: &App, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
    handlers()
        .into_iter()
        .map(|(kind, handler)| {
            let app = app.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let worker_id = new_worker_id();
                loop {
                    if let Err(err) = run_due(&app, kind, &handler, &worker_id).await {
                        tracing::error!(kind, error = %err, "worker loop error");
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = app.jobs_notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
            })
        })
        .collect()
}
