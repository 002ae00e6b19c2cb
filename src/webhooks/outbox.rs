//! Events about a team's resources other than emails (`contact.*`), kept in `webhook_events`
//! until the fan-out turns them into deliveries. A service records its event with
//! [`record`], in the same transaction as the change it reports, so no event is lost and none
//! is sent for a change that rolled back. The row holds the body's `data` object as it was at
//! the change; the fan-out deletes the rows it handled in the transaction that inserts their
//! delivery jobs (whose unique keys make a repeated scan harmless).

use serde_json::{Value, json};

use super::Webhook;
use super::delivery::{Delivery, insert_jobs};
use super::scan::{BATCH, enabled_webhooks, message_id};
use crate::app::App;
use crate::audience::sql::Stmt;
use crate::clock::iso_timestamp;
use crate::on_db;
use crate::store::{BeginWrite, new_id};

/// The insert of one event: `webhook_type` is one of [`super::EVENT_TYPES`], `data` the
/// body's `data` object.
pub fn record(team_id: &str, webhook_type: &str, data: &Value, now: i64) -> Stmt {
    Stmt::new(
        "INSERT INTO webhook_events (id, team_id, type, data, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .text(new_id())
    .text(team_id)
    .text(webhook_type)
    .text(data.to_string())
    .int(now)
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct EventRow {
    id: String,
    team_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    data: String,
    created_at: i64,
}

/// True when some event waits for the fan-out.
pub async fn has_pending(app: &App) -> Result<bool, sqlx::Error> {
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM webhook_events LIMIT 1"
    )
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}

/// Fans out one batch of events; returns how many it handled.
pub async fn scan_batch(app: &App) -> anyhow::Result<usize> {
    let sql = format!(
        "SELECT id, team_id, type, data, created_at FROM webhook_events ORDER BY id LIMIT {BATCH}"
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
    let now = app.now_ms();
    let mut jobs = Vec::new();
    for event in &events {
        let subscribed = webhooks
            .get(event.team_id.as_str())
            .into_iter()
            .flatten()
            // An endpoint hears of what happens after it was created.
            .filter(|w: &&Webhook| {
                w.created_at <= event.created_at && w.subscribes_to(&event.kind)
            });
        let body = json!({
            "type": event.kind,
            "created_at": iso_timestamp(event.created_at),
            "data": serde_json::from_str::<Value>(&event.data).unwrap_or(Value::Null),
        })
        .to_string();
        for webhook in subscribed {
            let first = Delivery {
                webhook_id: webhook.id.clone(),
                event_id: event.id.clone(),
                event_type: event.kind.clone(),
                message_id: message_id(&event.id),
                body: body.clone(),
                attempt: 1,
            };
            jobs.push(first.job(now));
        }
    }
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let delete_sql = format!(
        "DELETE FROM webhook_events WHERE id IN ({})",
        super::scan::placeholders(ids.len())
    );
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        for chunk in jobs.chunks(BATCH) {
            insert_jobs!(&mut *tx, chunk, now)?;
        }
        let mut delete = sqlx::query(sqlx::AssertSqlSafe(delete_sql.clone()));
        for id in &ids {
            delete = delete.bind(*id);
        }
        delete.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    if !jobs.is_empty() {
        app.notify_jobs();
    }
    Ok(events.len())
}
