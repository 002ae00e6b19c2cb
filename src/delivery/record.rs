//! Records what a delivery attempt did: per recipient its new state (`delivery_recipients`),
//! the events and the email's `last_event` ([`events::record`]), the suppressions it
//! caused ([`suppressions::insert`]) and, when the attempt ends its job, the job's
//! completion ([`queue::complete_stmt`]), all in one transaction: on SQLite one
//! multi-statement query to the bookkeeping connection ([`Trips::commit`]).
//!
//! Deliveries finish in bursts, and on SQLite every commit waits for an fsync; so the
//! outcomes of concurrent deliveries are written together: a delivery queues its outcome
//! and waits for its answer; one writer task commits everything queued in one transaction,
//! then everything queued while that transaction ran, until the queue is empty (the same
//! scheme as the accept path's group commit, `emails::group_commit`). A delivery never
//! waits for a turn of its own: when each delivery took the writer's turn in order, one
//! taken along by an earlier writer still waited for its turn, and each turn committed only
//! what had arrived since, so every delivery waited for all the writes ahead of it. Each
//! delivery returns only once its outcome is durable.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::clock::Millis;
use crate::emails::events;
use crate::handle::App;
use crate::on_db;
use crate::queue;
use crate::store::sql::{Arg, Placeholders, Trips, bulk_insert};
use crate::store::{BeginWrite, Db};
use crate::suppressions;

/// Recipient states in `delivery_recipients`.
pub const DELIVERED: &str = "delivered";
pub const DEFERRED: &str = "deferred";
pub const BOUNCED: &str = "bounced";
pub const SUPPRESSED: &str = "suppressed";
pub const FAILED: &str = "failed";

/// States that end delivery to a recipient.
pub fn is_final(state: &str) -> bool {
    state != DEFERRED
}

#[derive(Debug, Clone)]
pub struct RecipientOutcome {
    /// Lower-case address.
    pub recipient: String,
    pub state: &'static str,
    /// Events to add, oldest first: (type, data JSON).
    pub events: Vec<(&'static str, String)>,
    /// The SMTP reply or error, kept for the dashboard.
    pub response: Option<String>,
    /// Put the address on the team's suppression list (origin `bounce`).
    pub suppress: bool,
}

#[derive(Debug, Clone)]
pub struct EmailOutcome {
    pub email_id: String,
    pub team_id: String,
    pub at: Millis,
    pub recipients: Vec<RecipientOutcome>,
    /// The delivery job this attempt ends, marked done in the same transaction; `None` when
    /// the job runs again (some recipients are retried).
    pub job_id: Option<String>,
}

struct Pending {
    outcome: EmailOutcome,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Default)]
pub struct Recorder(Arc<Mutex<Queue>>);

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A writer task runs: it takes what is queued before it ends.
    writing: bool,
}

impl Recorder {
    /// Stores `outcome`; returns once it is committed.
    pub async fn record(&self, app: &App, outcome: EmailOutcome) -> anyhow::Result<()> {
        let (done, result) = oneshot::channel();
        let start_writer = {
            let mut queue = self.0.lock();
            queue.pending.push(Pending { outcome, done });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            // In its own task, so that a delivery dropped mid-way cannot cut the
            // transaction short for the others.
            tokio::spawn(writer(app.clone(), self.0.clone()));
        }
        result
            .await
            .map_err(|_| anyhow::anyhow!("the outcome writer stopped"))?
            .map_err(|e| anyhow::anyhow!("recording delivery outcomes: {e}"))
    }
}

/// Writes what is queued, one transaction per group, until nothing is left.
async fn writer(app: App, queue: Arc<Mutex<Queue>>) {
    let mut running = Running(Some(&queue));
    loop {
        let pending = {
            let mut queue = queue.lock();
            if queue.pending.is_empty() {
                queue.writing = false;
                running.0 = None;
                return;
            }
            std::mem::take(&mut queue.pending)
        };
        write_group(&app, pending).await;
    }
}

/// A writer task that ends before the queue is empty (it panicked, or the runtime is
/// shutting down) drops what is queued, so those deliveries get an error instead of waiting
/// for ever, and the next outcome starts a new writer.
struct Running<'a>(Option<&'a Mutex<Queue>>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(queue) = self.0 {
            let mut queue = queue.lock();
            queue.writing = false;
            queue.pending.clear();
        }
    }
}

/// Counts committed outcomes for `/metrics`, one per recipient.
fn count(app: &App, outcomes: &[EmailOutcome]) {
    for recipient in outcomes.iter().flat_map(|o| &o.recipients) {
        app.telemetry().delivery_outcome(recipient.state);
    }
}

async fn write_group(app: &App, pending: Vec<Pending>) {
    let (outcomes, done): (Vec<EmailOutcome>, Vec<_>) =
        pending.into_iter().map(|p| (p.outcome, p.done)).unzip();
    match write(app, &outcomes).await {
        Ok(()) => {
            count(app, &outcomes);
            for done in done {
                let _ = done.send(Ok(()));
            }
        }
        // One bad outcome must not fail the others: write them one by one.
        Err(_) if outcomes.len() > 1 => {
            for (outcome, done) in outcomes.into_iter().zip(done) {
                let result = write(app, std::slice::from_ref(&outcome)).await;
                if result.is_ok() {
                    count(app, std::slice::from_ref(&outcome));
                }
                let _ = done.send(result.map_err(|e| e.to_string()));
            }
        }
        Err(err) => {
            for done in done {
                let _ = done.send(Err(err.to_string()));
            }
        }
    }
}

async fn write(app: &App, outcomes: &[EmailOutcome]) -> Result<(), sqlx::Error> {
    let now = app.now_ms();
    let recipients: Vec<(&EmailOutcome, &RecipientOutcome)> = outcomes
        .iter()
        .flat_map(|o| o.recipients.iter().map(move |r| (o, r)))
        .collect();
    let mut events = Vec::new();
    for outcome in outcomes {
        let mut at = outcome.at;
        for r in &outcome.recipients {
            for (kind, data) in &r.events {
                events.push(events::NewEvent {
                    email_id: &outcome.email_id,
                    team_id: &outcome.team_id,
                    kind,
                    recipient: Some(&r.recipient),
                    data,
                    at,
                });
                // A millisecond apart, so the events keep their order by time.
                at += 1;
            }
        }
    }
    let suppressed: Vec<suppressions::NewSuppression> = recipients
        .iter()
        .filter(|(_, r)| r.suppress)
        .map(|(o, r)| suppressions::NewSuppression {
            team_id: &o.team_id,
            email: r.recipient.clone(),
            origin: suppressions::BOUNCE,
            source_id: Some(&o.email_id),
            at: now,
        })
        .collect();
    let db = app.delivery().bookkeeping();
    let style = Placeholders::of(db);
    let rows = recipients
        .iter()
        .map(|(o, r)| {
            vec![
                Arg::Text(Some(o.email_id.clone())),
                Arg::Text(Some(r.recipient.clone())),
                Arg::Text(Some(r.state.to_string())),
                Arg::Int(1),
                Arg::Text(r.response.clone()),
                Arg::Int(now),
            ]
        })
        .collect();
    let mut stmts = bulk_insert(
        style,
        "INSERT INTO delivery_recipients (email_id, recipient, state, attempts, \
         last_response, updated_at)",
        rows,
        " ON CONFLICT (email_id, recipient) DO UPDATE SET state = excluded.state, \
         attempts = delivery_recipients.attempts + 1, \
         last_response = excluded.last_response, updated_at = excluded.updated_at",
    );
    stmts.extend(events::record(
        style,
        &events,
        events::LastEvent::Update(now),
    ));
    stmts.extend(suppressions::insert(style, &suppressed));
    // The jobs these attempts end: done in the same commit as what they did.
    let jobs: Vec<String> = outcomes.iter().filter_map(|o| o.job_id.clone()).collect();
    if !jobs.is_empty() {
        stmts.push(queue::complete_stmt(style, jobs, now));
    }
    match db {
        // One hand-over to the connection's thread for the whole transaction.
        Db::Sqlite(pool) => {
            let mut trips = Trips::default();
            for stmt in &stmts {
                trips.stmt(stmt);
            }
            trips.commit(pool).await
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin_write().await?;
            crate::exec_stmts!(tx, &stmts)?;
            tx.commit().await
        }
    }
}

/// Each recipient's delivery state so far (`delivery_recipients`), by recipient key.
pub async fn recipient_states(
    app: &App,
    email_id: &str,
) -> sqlx::Result<std::collections::HashMap<String, String>> {
    let rows: Vec<(String, String)> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT recipient, state FROM delivery_recipients WHERE email_id = $1"
    )
    .bind(email_id)
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().collect())
}
