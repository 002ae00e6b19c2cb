//! Records what a delivery attempt did: per recipient its new state (`delivery_recipients`),
//! the events and the email's `last_event` ([`events::record`]), the suppressions it
//! caused ([`suppressions::insert`]) and, when the attempt ends its job, the job's
//! completion ([`queue::complete_stmt`]), all in one transaction: on SQLite one
//! multi-statement query to the bookkeeping connection ([`Trips::commit`]).
//!
//! Deliveries finish in bursts, and every commit costs (an fsync on SQLite, round trips on
//! PostgreSQL); so the outcomes of concurrent deliveries are written together with the
//! accept path's writer loop (`store::group`, as `emails::group_commit`): a delivery queues
//! its outcome and waits for its answer; a writer task commits everything queued in one
//! transaction, then everything queued while that transaction ran, until the queue is empty.
//! One writer on SQLite; on PostgreSQL up to [`group::PG_WRITERS`] groups commit at once (one at a
//! time, a group's 42 ms transaction was over half of a delivery's time there,
//! docs/performance.md). Each delivery returns only once its outcome is durable.

use std::sync::Arc;

use crate::clock::Millis;
use crate::emails::events;
use crate::handle::App;
use crate::on_db;
use crate::queue;
use crate::store::group::{self, GroupWriter};
use crate::store::in_doubt;
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

/// The outcomes' group writer (`store::group`).
#[derive(Default)]
pub struct Recorder(Arc<GroupWriter<EmailOutcome, Result<(), String>>>);

impl Recorder {
    /// Stores `outcome`; returns once it is committed.
    pub async fn record(&self, app: &App, outcome: EmailOutcome) -> anyhow::Result<()> {
        let writers = group::writers_for(app.delivery().bookkeeping());
        let app = app.clone();
        self.0
            .submit(outcome, writers, move |group| {
                write_group(app.clone(), group)
            })
            .await
            .map_err(|_| anyhow::anyhow!("the outcome writer stopped"))?
            .map_err(|e| anyhow::anyhow!("recording delivery outcomes: {e}"))
    }
}

/// Counts committed outcomes for `/metrics`, one per recipient.
fn count(app: &App, outcomes: &[EmailOutcome]) {
    for recipient in outcomes.iter().flat_map(|o| &o.recipients) {
        app.telemetry().delivery_outcome(recipient.state);
    }
}

/// Writes a group of outcomes in one transaction: one result per outcome, in order.
async fn write_group(app: App, outcomes: Vec<EmailOutcome>) -> Vec<Result<(), String>> {
    match write(&app, &outcomes).await {
        Ok(()) => {
            count(&app, &outcomes);
            outcomes.iter().map(|_| Ok(())).collect()
        }
        // One bad outcome must not fail the others: write them one by one, when the group
        // surely rolled back (after a lost connection its commit may have taken effect).
        Err(err) if outcomes.len() > 1 && in_doubt::rolled_back(&err) => {
            let mut results = Vec::with_capacity(outcomes.len());
            for outcome in &outcomes {
                let result = write(&app, std::slice::from_ref(outcome)).await;
                if result.is_ok() {
                    count(&app, std::slice::from_ref(outcome));
                }
                results.push(result.map_err(|e| e.to_string()));
            }
            results
        }
        Err(err) => outcomes.iter().map(|_| Err(err.to_string())).collect(),
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
