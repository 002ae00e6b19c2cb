//! The fan-out: a singleton job (one `jobs` row with a fixed `unique_key`, so one node runs it
//! at a time) that turns the outbox's rows ([`super::outbox`]) into `webhook_delivery` jobs,
//! one per subscribed, enabled endpoint, through the queue's own insert.
//!
//! A batch is claimed, turned into jobs and deleted in one transaction; on PostgreSQL the rows
//! are read `FOR UPDATE SKIP LOCKED`, so two nodes (or a scan still running when its lease
//! ran out) never take the same row. Delivery jobs also carry a unique key per (event,
//! endpoint, attempt): a crash or a concurrent scan neither loses nor duplicates a delivery.
//!
//! A ticker on every node re-queues the scan job about once a second when events are waiting.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Webhook;
use super::delivery::Delivery;
use super::outbox::Event;
use super::payload::{self, EmailFacts};
use crate::handle::App;
use crate::on_db;
use crate::queue::{self, Job, NewJob};
use crate::store::BeginWrite;
use crate::store::sql::{Placeholders, Stmt};

pub const SCAN_JOB: &str = "webhook_scan";
const SCAN_KEY: &str = "webhooks:scan";
/// Events read per transaction.
pub(super) const BATCH: usize = 200;
const TICK: Duration = Duration::from_secs(1);

/// Makes the scan job due now: re-queues the finished one, or creates it the first time.
/// A scan that is queued or running already is left alone.
pub async fn arm(app: &App) -> Result<(), sqlx::Error> {
    let mut job = NewJob::new(SCAN_JOB, &serde_json::json!({}), 0).unique_key(SCAN_KEY);
    job.max_attempts = i32::MAX;
    queue::arm_singleton(app.db(), &job, app.now_ms()).await?;
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
                if super::outbox::has_pending(&app).await? {
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
    Ok(())
}

/// Fans out one batch of events; returns how many events it handled.
pub async fn scan_batch(app: &App) -> anyhow::Result<usize> {
    let lock = if app.db().is_postgres() {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let select = format!(
        "SELECT id, team_id, type, data, created_at, email_id, recipient FROM webhook_events \
         ORDER BY id LIMIT {BATCH}{lock}"
    );
    let style = Placeholders::of(app.db());
    let (handled, queued) = on_db!(app.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let events: Vec<Event> = sqlx::query_as::<_, Event>(sqlx::AssertSqlSafe(select.clone()))
            .fetch_all(&mut *tx)
            .await?;
        if events.is_empty() {
            return Ok((0, 0));
        }
        let queued = crate::fan_out_in!(tx, style, &events, app.now_ms())?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>((events.len(), queued))
    }
    .await)?;
    if queued > 0 {
        app.notify_jobs();
    }
    Ok(handled)
}

/// Turns outbox rows `events` into the first delivery job of each to every endpoint that
/// hears of it, and deletes them, inside the open transaction `tx` (either backend):
/// `fan_out_in!(tx, style, &events, now)` gives `Result<usize, sqlx::Error>`, the jobs
/// queued. The scan job runs it over the rows it claimed; [`crate::emit_in!`] over the event
/// it just recorded.
#[macro_export]
macro_rules! fan_out_in {
    ($tx:ident, $style:expr, $events:expr, $now:expr) => {
        async {
            use $crate::store::sql::BindArgs as _;
            use $crate::webhooks::scan;
            let events: &[$crate::webhooks::Event] = $events;
            let now: i64 = $now;
            let query = scan::webhooks_query(events);
            let webhooks: Vec<$crate::webhooks::Webhook> =
                sqlx::query_as(sqlx::AssertSqlSafe(query.sql.as_str()))
                    .bind_args(&query.args)
                    .fetch_all(&mut *$tx)
                    .await?;
            let targets = scan::targets(events, &webhooks);
            let emails: Vec<$crate::webhooks::payload::EmailFacts> =
                match scan::emails_query(&targets) {
                    Some(query) => {
                        sqlx::query_as(sqlx::AssertSqlSafe(query.sql.as_str()))
                            .bind_args(&query.args)
                            .fetch_all(&mut *$tx)
                            .await?
                    }
                    None => Vec::new(),
                };
            let jobs = scan::deliveries(&targets, &emails, now);
            let mut stmts = $crate::queue::insert($style, &jobs, now);
            stmts.push(scan::delete_stmt(events));
            $crate::exec_stmts!($tx, &stmts)?;
            Ok::<usize, sqlx::Error>(jobs.len())
        }
        .await
    };
}

/// An event and the endpoints that hear of it.
pub type Target<'a> = (&'a Event, Vec<&'a Webhook>);

/// The `SELECT` of the enabled endpoints of the teams of `events`.
pub fn webhooks_query(events: &[Event]) -> Stmt {
    let teams: HashSet<&str> = events.iter().map(|e| e.team_id.as_str()).collect();
    let mut query = Stmt::new(format!(
        "SELECT {} FROM webhooks WHERE status = 'enabled' AND team_id IN ({})",
        super::COLUMNS,
        placeholders(teams.len())
    ));
    for team in teams {
        query = query.text(team);
    }
    query
}

/// The events that some endpoint hears of (the subscription check), with those endpoints.
pub fn targets<'a>(events: &'a [Event], webhooks: &'a [Webhook]) -> Vec<Target<'a>> {
    events
        .iter()
        .filter_map(|event| {
            let hearing: Vec<&Webhook> = webhooks
                .iter()
                .filter(|w| w.team_id == event.team_id && w.hears(&event.kind, event.created_at))
                .collect();
            (!hearing.is_empty()).then_some((event, hearing))
        })
        .collect()
}

/// The `SELECT` of the emails the email events among `targets` are about, if any.
pub fn emails_query(targets: &[Target]) -> Option<Stmt> {
    let ids: HashSet<&str> = targets
        .iter()
        .filter_map(|(e, _)| e.email_id.as_deref())
        .collect();
    crate::emails::reads::webhook_facts(ids.into_iter())
}

/// The first delivery job of every target to each of its endpoints, each event's body built
/// once. An email event whose email is gone is dropped.
pub fn deliveries(targets: &[Target], emails: &[EmailFacts], now: i64) -> Vec<NewJob> {
    let emails: HashMap<&str, &EmailFacts> = emails.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut jobs = Vec::new();
    for (event, hearing) in targets {
        let body = match &event.email_id {
            Some(email_id) => match emails.get(email_id.as_str()) {
                Some(email) => payload::email_body(event, email),
                None => continue, // the email is gone
            },
            None => payload::resource_body(event),
        };
        for webhook in hearing {
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
    jobs
}

/// The `DELETE` of the outbox rows `events`.
pub fn delete_stmt(events: &[Event]) -> Stmt {
    let mut stmt = Stmt::new(format!(
        "DELETE FROM webhook_events WHERE id IN ({})",
        placeholders(events.len())
    ));
    for event in events {
        stmt = stmt.text(&event.id);
    }
    stmt
}

/// `$1, $2, … $n` for an `IN (…)` list.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Svix-style message id: the same for every endpoint and every attempt of one event.
pub fn message_id(event_id: &str) -> String {
    format!("msg_{}", event_id.replace('-', ""))
}
