//! The delivery job: one signed POST of one event to one endpoint. Any 2xx acknowledges.
//! Otherwise the next attempt is a new job on Resend's schedule (immediately, then 5 s,
//! 5 min, 30 min, 2 h, 5 h, 10 h and 10 h later), inserted in the same transaction that
//! records this attempt. Deliveries stop when the endpoint is disabled or deleted.
//!
//! Addresses are guarded: the URL's literal host is checked here and names are resolved by
//! the SSRF-guarded client, so private and loopback targets are refused unless
//! `allow_private_urls` is set.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Webhook, signing};
use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::queue::{Job, NewJob};
use crate::store::{BeginWrite, new_id};

pub const DELIVERY_JOB: &str = "webhook_delivery";

/// Wait before attempt `n + 2` after attempt `n + 1` failed; its length bounds the attempts.
pub const RETRY_DELAYS_MS: [Millis; 7] = [
    5_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3_600_000,
    5 * 3_600_000,
    10 * 3_600_000,
    10 * 3_600_000,
];
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS_MS.len() as i32 + 1;

/// How long an endpoint may take to answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_ERROR_LEN: usize = 500;

/// The payload of a delivery job. The body is fixed at fan-out, so every attempt sends (and
/// signs) the same bytes under the same message id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub message_id: String,
    pub body: String,
    /// 1 for the first attempt.
    pub attempt: i32,
}

impl Delivery {
    /// The job of this attempt; its unique key makes inserting it twice harmless.
    pub fn job(&self, run_at: Millis) -> NewJob {
        NewJob::new(DELIVERY_JOB, self, run_at)
            .unique_key(format!(
                "webhook:{}:{}:{}",
                self.event_id, self.webhook_id, self.attempt
            ))
            .skip_duplicate()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Outcome {
    pub fn acknowledged(&self) -> bool {
        matches!(self.status_code, Some(200..=299))
    }
}

pub async fn run_job(app: &App, job: &Job) -> anyhow::Result<()> {
    let delivery: Delivery = job.payload()?;
    let Some(webhook) = super::find(app, &delivery.webhook_id).await? else {
        return Ok(()); // deleted: stop
    };
    if !webhook.is_enabled() {
        return Ok(()); // disabled: stop
    }
    let outcome = attempt(app, &webhook, &delivery).await;
    if !outcome.acknowledged() {
        tracing::info!(webhook_id = %webhook.id, attempt = delivery.attempt,
            status = ?outcome.status_code, error = ?outcome.error, "webhook delivery failed");
    }
    record(app, &webhook, &delivery, &outcome).await?;
    app.telemetry().webhook_attempt(match outcome.status_code {
        Some(200..=299) => "delivered",
        Some(_) => "rejected",
        None => "unreachable",
    });
    Ok(())
}

/// Sends the signed request; never fails, the failure is the outcome.
async fn attempt(app: &App, webhook: &Webhook, delivery: &Delivery) -> Outcome {
    let started = Instant::now();
    let result = send(app, webhook, delivery).await;
    let duration_ms = started.elapsed().as_millis() as i64;
    match result {
        Ok(status) => Outcome {
            status_code: Some(status),
            error: (!(200..300).contains(&status)).then(|| format!("HTTP status {status}")),
            duration_ms,
        },
        Err(err) => {
            let mut error = format!("{err:#}");
            if error.len() > MAX_ERROR_LEN {
                let cut = (0..=MAX_ERROR_LEN)
                    .rev()
                    .find(|i| error.is_char_boundary(*i))
                    .unwrap_or(0);
                error.truncate(cut);
            }
            Outcome {
                status_code: None,
                error: Some(error),
                duration_ms,
            }
        }
    }
}

async fn send(app: &App, webhook: &Webhook, delivery: &Delivery) -> anyhow::Result<u16> {
    let url = url::Url::parse(&webhook.endpoint)?;
    crate::net::check_url(app.settings(), &url).map_err(anyhow::Error::msg)?;
    let secret = webhook.secret(app)?;
    let signed = signing::sign(
        &secret,
        &delivery.message_id,
        app.now_ms().div_euclid(1000),
        &delivery.body,
    )?;
    let mut request = app
        .http_client()
        .post(url)
        .timeout(REQUEST_TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(delivery.body.clone());
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    let response = request.send().await?;
    Ok(response.status().as_u16())
}

/// Stores the attempt and, when it failed and attempts remain, queues the next one.
async fn record(
    app: &App,
    webhook: &Webhook,
    delivery: &Delivery,
    outcome: &Outcome,
) -> anyhow::Result<()> {
    let now = app.now_ms();
    let next = (!outcome.acknowledged() && delivery.attempt < MAX_ATTEMPTS).then(|| {
        let wait = RETRY_DELAYS_MS[(delivery.attempt - 1).max(0) as usize];
        let retry = Delivery {
            attempt: delivery.attempt + 1,
            ..delivery.clone()
        };
        retry.job(now + wait)
    });
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, team_id, event_id, event_type, \
             message_id, attempt, status_code, duration_ms, error, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(new_id())
        .bind(&webhook.id)
        .bind(&webhook.team_id)
        .bind(&delivery.event_id)
        .bind(&delivery.event_type)
        .bind(&delivery.message_id)
        .bind(delivery.attempt)
        .bind(outcome.status_code.map(i32::from))
        .bind(outcome.duration_ms)
        .bind(&outcome.error)
        .bind(next.as_ref().map(|job| job.run_at))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if let Some(job) = &next {
            crate::enqueue_in!(&mut *tx, job, now)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}
