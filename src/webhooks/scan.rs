//! The fan-out: a singleton job (one `jobs` row with a fixed `unique_key`, so one node runs it
//! at a time) that turns new `email_events` rows into `webhook_delivery` jobs, one per
//! subscribed, enabled endpoint. The accept path only inserts its event as before.
//!
//! Which events are new is kept per row (`email_events.fanned_out`, with a partial index over
//! the rows still to do) rather than as a cursor over event ids: ids are generated before
//! their transaction commits, so with concurrent writers (PostgreSQL, several nodes) a row
//! with a smaller id can become visible after a larger one, and a cursor would skip it.
//! Marking the rows and inserting their delivery jobs happen in one transaction, and delivery
//! jobs carry a unique key per (event, endpoint, attempt): a crash or a concurrent scan
//! neither loses nor duplicates a delivery.
//!
//! A ticker on every node re-queues the scan job about once a second when events are waiting;
//! `queued` and `canceled` events (no webhook in Resend) never enter the index, so accepting an
//! email costs nothing more. The same job fans out the other events ([`super::outbox`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Webhook;
use super::delivery::{Delivery, insert_jobs};
use super::payload::{self, EmailFacts, EventRow};
use crate::app::App;
use crate::on_db;
use crate::queue::{Job, NewJob};
use crate::store::BeginWrite;

pub const SCAN_JOB: &str = "webhook_scan";
const SCAN_KEY: &str = "webhooks:scan";
/// Events read per transaction.
pub(super) const BATCH: usize = 200;
const TICK: Duration = Duration::from_secs(1);

/// The rows still to fan out; the same predicate as the partial index `email_events_fan_out`.
const PENDING: &str = "NOT fanned_out AND type NOT IN ('queued', 'canceled')";

/// True when some event waits for the fan-out (an index look-up, no write).
pub async fn has_pending(app: &App) -> Result<bool, sqlx::Error> {
    let sql = format!("SELECT id FROM email_events WHERE {PENDING} LIMIT 1");
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}

/// Makes the scan job due now: re-queues the finished one, or creates it the first time.
/// A scan that is queued or running already is left alone.
pub async fn arm(app: &App) -> Result<(), sqlx::Error> {
    let now = app.now_ms();
    let requeued = on_db!(app.db(), |pool| sqlx::query(
        "UPDATE jobs SET state = 'queued', run_at = $2, attempts = 0, last_error = NULL, \
         updated_at = $2 WHERE unique_key = $1 AND state IN ('done', 'dead', 'canceled')"
    )
    .bind(SCAN_KEY)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if requeued == 0 {
        let mut job = NewJob::new(SCAN_JOB, &serde_json::json!({}), now).unique_key(SCAN_KEY);
        job.max_attempts = i32::MAX;
        on_db!(app.db(), |pool| insert_jobs!(
            pool,
            std::slice::from_ref(&job),
            now
        ))?;
    }
    app.notify_jobs();
    Ok(())
}

/// Re-queues the scan about once a second while events are waiting, until `shutdown`.
pub fn spawn_ticker(app: &App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
            let result = async {
                if has_pending(&app).await? || super::outbox::has_pending(&app).await? {
                    arm(&app).await?;
                }
                Ok::<_, sqlx::Error>(())
            }
            .await;
            if let Err(err) = result {
                tracing::warn!(error = %err, "webhook fan-out ticker");
            }
        }
    })
}

/// The scan job: fans out batches until no event is left.
pub async fn run_job(app: &App, _job: &Job) -> anyhow::Result<()> {
    while scan_batch(app).await? == BATCH {}
    while super::outbox::scan_batch(app).await? == BATCH {}
    Ok(())
}

/// Fans out one batch of events; returns how many events it handled.
pub async fn scan_batch(app: &App) -> anyhow::Result<usize> {
    let sql = format!(
        "SELECT id, email_id, team_id, type, recipient, data, created_at FROM email_events \
         WHERE {PENDING} ORDER BY id LIMIT {BATCH}"
    );
    let events: Vec<EventRow> = on_db!(app.db(), |pool| sqlx::query_as::<_, EventRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_all(pool)
    .await)?;
    if events.is_empty() {
        return Ok(0);
    }
    let webhooks = enabled_webhooks(app, events.iter().map(|e| e.team_id.as_str())).await?;
    let targets: Vec<(&EventRow, String, Vec<&Webhook>)> = events
        .iter()
        .filter_map(|event| {
            let kind = payload::webhook_type(&event.kind)?;
            let subscribed: Vec<&Webhook> = webhooks
                .get(event.team_id.as_str())
                .into_iter()
                .flatten()
                // An endpoint hears of what happens after it was created.
                .filter(|w| w.created_at <= event.created_at && w.subscribes_to(&kind))
                .collect();
            (!subscribed.is_empty()).then_some((event, kind, subscribed))
        })
        .collect();
    let emails = email_facts(app, targets.iter().map(|(e, _, _)| e.email_id.as_str())).await?;

    let now = app.now_ms();
    let mut jobs = Vec::new();
    for (event, kind, subscribed) in &targets {
        let Some(email) = emails.get(event.email_id.as_str()) else {
            continue; // the email is gone
        };
        let body = payload::body(kind, event, email);
        for webhook in subscribed {
            let first = Delivery {
                webhook_id: webhook.id.clone(),
                event_id: event.id.clone(),
                event_type: kind.clone(),
                message_id: message_id(&event.id),
                body: body.clone(),
                attempt: 1,
            };
            jobs.push(first.job(now));
        }
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let mark_sql = format!(
        "UPDATE email_events SET fanned_out = TRUE WHERE id IN ({})",
        placeholders(ids.len())
    );
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        for chunk in jobs.chunks(BATCH) {
            insert_jobs!(&mut *tx, chunk, now)?;
        }
        let mut mark = sqlx::query(sqlx::AssertSqlSafe(mark_sql.clone()));
        for id in &ids {
            mark = mark.bind(*id);
        }
        mark.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    if !jobs.is_empty() {
        app.notify_jobs();
    }
    Ok(events.len())
}

/// `$1, $2, … $n` for an `IN (…)` list.
pub(super) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Svix-style message id: the same for every endpoint and every attempt of one event.
pub fn message_id(event_id: &str) -> String {
    format!("msg_{}", event_id.replace('-', ""))
}

/// The enabled endpoints of these teams, by team.
pub(super) async fn enabled_webhooks<'a>(
    app: &App,
    teams: impl Iterator<Item = &'a str>,
) -> anyhow::Result<HashMap<&'a str, Vec<Webhook>>> {
    let teams: HashSet<&str> = teams.collect();
    let sql = format!(
        "SELECT {} FROM webhooks WHERE status = 'enabled' AND team_id IN ({})",
        super::COLUMNS,
        placeholders(teams.len())
    );
    let rows: Vec<Webhook> = on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, Webhook>(sqlx::AssertSqlSafe(sql.clone()));
        for team in &teams {
            query = query.bind(*team);
        }
        query.fetch_all(pool).await
    })?;
    let mut by_team: HashMap<&str, Vec<Webhook>> = HashMap::new();
    for webhook in rows {
        if let Some(team) = teams.get(webhook.team_id.as_str()) {
            by_team.entry(*team).or_default().push(webhook);
        }
    }
    Ok(by_team)
}

async fn email_facts<'a>(
    app: &App,
    ids: impl Iterator<Item = &'a str>,
) -> anyhow::Result<HashMap<String, EmailFacts>> {
    let ids: HashSet<&str> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT id, from_address, to_addresses, subject, tags, headers, template_id, broadcast_id, created_at \
         FROM emails WHERE id IN ({})",
        placeholders(ids.len())
    );
    let rows: Vec<EmailFacts> = on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, EmailFacts>(sqlx::AssertSqlSafe(sql.clone()));
        for id in &ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await
    })?;
    Ok(rows.into_iter().map(|e| (e.id.clone(), e)).collect())
}
