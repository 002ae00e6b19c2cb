//! Records what a delivery attempt did: per recipient its new state (`delivery_recipients`),
//! the events (`email_events`), the email's `last_event`, and the suppressions it caused,
//! all in one transaction.
//!
//! Deliveries finish in bursts, and on SQLite every commit waits for an fsync; so the
//! outcomes of concurrent deliveries are written together: a delivery queues its outcome
//! and takes its turn as writer, and the writer commits everything queued by then (the
//! same scheme as the accept path's group commit). Each delivery returns only once its
//! outcome is durable.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::app::App;
use crate::clock::Millis;
use crate::on_db;
use crate::store::{BeginWrite, new_id};

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
}

impl EmailOutcome {
    /// The type of the last event, which becomes the email's `last_event`.
    fn last_event(&self) -> Option<&'static str> {
        self.recipients
            .iter()
            .flat_map(|r| r.events.iter())
            .next_back()
            .map(|(kind, _)| *kind)
    }
}

struct Pending {
    outcome: EmailOutcome,
    done: oneshot::Sender<Result<(), String>>,
}

#[derive(Default)]
pub struct Recorder {
    queue: Mutex<Vec<Pending>>,
    /// Held by the writer while its transaction runs.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl Recorder {
    /// Stores `outcome`; returns once it is committed.
    pub async fn record(&self, app: &App, outcome: EmailOutcome) -> anyhow::Result<()> {
        let (done, result) = oneshot::channel();
        self.queue.lock().push(Pending { outcome, done });
        let turn = self.turn.clone().lock_owned().await;
        let pending = std::mem::take(&mut *self.queue.lock());
        if !pending.is_empty() {
            // In its own task, so that a delivery dropped mid-way cannot cut the
            // transaction short for the others.
            let app = app.clone();
            tokio::spawn(async move {
                write_group(&app, pending).await;
                drop(turn);
            });
        } else {
            drop(turn);
        }
        result
            .await
            .map_err(|_| anyhow::anyhow!("the outcome writer stopped"))?
            .map_err(|e| anyhow::anyhow!("recording delivery outcomes: {e}"))
    }
}

async fn write_group(app: &App, pending: Vec<Pending>) {
    let (outcomes, done): (Vec<EmailOutcome>, Vec<_>) =
        pending.into_iter().map(|p| (p.outcome, p.done)).unzip();
    match write(app, &outcomes).await {
        Ok(()) => {
            for done in done {
                let _ = done.send(Ok(()));
            }
        }
        // One bad outcome must not fail the others: write them one by one.
        Err(_) if outcomes.len() > 1 => {
            for (outcome, done) in outcomes.into_iter().zip(done) {
                let result = write(app, std::slice::from_ref(&outcome)).await;
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

/// Rows per multi-row statement (well under SQLite's bound-parameter limit).
const ROWS: usize = 400;

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
                events.push((outcome, r.recipient.as_str(), *kind, data.as_str(), at));
                // A millisecond apart, so the events keep their order by time.
                at += 1;
            }
        }
    }
    let suppressed: Vec<_> = recipients.iter().filter(|(_, r)| r.suppress).collect();
    on_db!(app.delivery().bookkeeping(), |pool| {
        let mut tx = pool.begin_write().await?;
        for chunk in recipients.chunks(ROWS) {
            sqlx::QueryBuilder::new(
                "INSERT INTO delivery_recipients (email_id, recipient, state, attempts, \
                 last_response, updated_at) ",
            )
            .push_values(chunk, |mut row, (o, r)| {
                row.push_bind(&o.email_id)
                    .push_bind(&r.recipient)
                    .push_bind(r.state)
                    .push("1")
                    .push_bind(&r.response)
                    .push_bind(now);
            })
            .push(
                " ON CONFLICT (email_id, recipient) DO UPDATE SET state = excluded.state, \
                 attempts = delivery_recipients.attempts + 1, \
                 last_response = excluded.last_response, updated_at = excluded.updated_at",
            )
            .build()
            .execute(&mut *tx)
            .await?;
        }
        for chunk in events.chunks(ROWS) {
            sqlx::QueryBuilder::new(
                "INSERT INTO email_events (id, email_id, team_id, type, recipient, data, \
                 created_at) ",
            )
            .push_values(chunk, |mut row, (o, recipient, kind, data, at)| {
                row.push_bind(new_id())
                    .push_bind(&o.email_id)
                    .push_bind(&o.team_id)
                    .push_bind(*kind)
                    .push_bind(*recipient)
                    .push_bind(*data)
                    .push_bind(*at);
            })
            .build()
            .execute(&mut *tx)
            .await?;
        }
        for chunk in suppressed.chunks(ROWS) {
            sqlx::QueryBuilder::new(
                "INSERT INTO suppressions (id, team_id, email, origin, source_id, created_at) ",
            )
            .push_values(chunk, |mut row, (o, r)| {
                row.push_bind(new_id())
                    .push_bind(&o.team_id)
                    .push_bind(&r.recipient)
                    .push_bind(crate::suppressions::BOUNCE)
                    .push_bind(&o.email_id)
                    .push_bind(now);
            })
            .push(" ON CONFLICT (team_id, email) DO NOTHING")
            .build()
            .execute(&mut *tx)
            .await?;
        }
        for outcome in outcomes {
            if let Some(last) = outcome.last_event() {
                sqlx::query("UPDATE emails SET last_event = $2, updated_at = $3 WHERE id = $1")
                    .bind(&outcome.email_id)
                    .bind(last)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await
    })?;
    Ok(())
}
