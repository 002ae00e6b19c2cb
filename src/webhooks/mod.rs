//! Webhooks: endpoints a team registers for event types, and the deliveries of events to them.
//!
//! - this module: the endpoints (create, list, get, update, delete) and the recorded attempts;
//! - [`outbox`]: every event (`email.*`, `domain.*`, `contact.*`), recorded by [`emit`] in the
//!   transaction of the change it reports;
//! - [`scan`]: the fan-out, a singleton job turning outbox rows into delivery jobs;
//! - [`delivery`]: the delivery job, one signed POST per attempt, retried on Resend's schedule;
//! - [`payload`]: Resend's event bodies; [`signing`]: Svix / Standard Webhooks signatures.
//!
//! Signing secrets are kept sealed under the installation's encryption key (like DKIM keys)
//! because the API shows them again on `GET /webhooks/{id}`.

pub mod delivery;
mod error;
pub mod outbox;
pub mod payload;
pub mod scan;
pub mod signing;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;
use sqlx::FromRow;

use crate::clock::resend_timestamp;
use crate::domains::dkim_keys;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::team_rows;
pub use error::{WebhookError, WebhookResult};

pub use outbox::{Event, emit};

/// The event types an endpoint may subscribe to (Resend's spec lists these 17).
pub const EVENT_TYPES: &[&str] = &[
    "email.sent",
    "email.delivered",
    "email.delivery_delayed",
    "email.bounced",
    "email.complained",
    "email.opened",
    "email.clicked",
    "email.failed",
    "email.scheduled",
    "email.suppressed",
    "email.received",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "domain.created",
    "domain.updated",
    "domain.deleted",
];

pub const ENABLED: &str = "enabled";
pub const DISABLED: &str = "disabled";

/// A stored endpoint; `signing_secret` is sealed (see [`Webhook::secret`]).
#[derive(Debug, Clone, FromRow)]
pub struct Webhook {
    pub id: String,
    pub team_id: String,
    pub endpoint: String,
    /// JSON array of event types.
    pub events: String,
    pub status: String,
    pub signing_secret: String,
    pub created_at: i64,
}

const COLUMNS: &str = "id, team_id, endpoint, events, status, signing_secret, created_at";

impl Webhook {
    pub fn event_types(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types().iter().any(|t| t == event_type)
    }

    /// Whether this endpoint is sent the event `event_type` that happened at `at`: it
    /// subscribes to it, and hears only of what happens after it was created.
    pub fn hears(&self, event_type: &str, at: i64) -> bool {
        self.created_at <= at && self.subscribes_to(event_type)
    }

    pub fn is_enabled(&self) -> bool {
        self.status == ENABLED
    }

    /// The `whsec_…` secret in clear.
    pub fn secret(&self, app: &App) -> anyhow::Result<String> {
        let key = dkim_keys::encryption_key(app.settings())?;
        let plain = dkim_keys::open(&key, &self.signing_secret, &self.id)?;
        Ok(String::from_utf8(plain)?)
    }
}

/// What a webhook list row shows in the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookListItem)]
pub struct WebhookView {
    pub id: String,
    pub endpoint: String,
    pub events: Vec<String>,
    pub status: String,
    pub created_at: String,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.clone(),
            endpoint: w.endpoint.clone(),
            events: w.event_types(),
            status: w.status.clone(),
            created_at: resend_timestamp(w.created_at),
        }
    }
}

/// Fields a caller may set; `None` leaves a field alone on update.
#[derive(Debug, Default, Clone)]
pub struct WebhookInput {
    pub endpoint: Option<String>,
    pub events: Option<Vec<String>>,
    pub status: Option<String>,
}

/// A new `whsec_` secret: 24 random bytes, base64, as Svix makes them.
pub fn generate_secret() -> String {
    format!(
        "whsec_{}",
        B64.encode(crate::auth::tokens::random_bytes::<24>())
    )
}

fn validate_endpoint(app: &App, endpoint: &str) -> WebhookResult<String> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Err(WebhookError::Missing("endpoint"));
    }
    let invalid =
        || WebhookError::Invalid("The `endpoint` field must be a valid http or https URL.".into());
    let url = url::Url::parse(endpoint).map_err(|_| invalid())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid());
    }
    crate::net::check_url(app.settings(), &url).map_err(|why| {
        WebhookError::Invalid(format!("The `endpoint` field is not allowed: {why}."))
    })?;
    // Kept as written (the API shows it back); it parses, so delivery can use it.
    Ok(endpoint.to_string())
}

fn validate_events(events: &[String]) -> WebhookResult<Vec<String>> {
    if events.is_empty() {
        return Err(WebhookError::Invalid(
            "The `events` field must list at least one event type.".into(),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for event in events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(WebhookError::Invalid(format!(
                "Invalid event type `{event}` in the `events` field. Valid types: {}.",
                EVENT_TYPES.join(", ")
            )));
        }
        if !out.contains(event) {
            out.push(event.clone());
        }
    }
    Ok(out)
}

fn validate_status(status: &str) -> WebhookResult<String> {
    match status {
        ENABLED | DISABLED => Ok(status.to_string()),
        _ => Err(WebhookError::Invalid(
            "The `status` field must be \"enabled\" or \"disabled\".".into(),
        )),
    }
}

/// Creates an enabled endpoint; returns it with its secret in clear.
pub async fn create(
    app: &App,
    team_id: &str,
    input: WebhookInput,
) -> WebhookResult<(Webhook, String)> {
    let endpoint = validate_endpoint(app, input.endpoint.as_deref().unwrap_or(""))?;
    let Some(events) = input.events else {
        return Err(WebhookError::Missing("events"));
    };
    let events = validate_events(&events)?;
    let status = validate_status(input.status.as_deref().unwrap_or(ENABLED))?;
    let id = new_id();
    let secret = generate_secret();
    let key = dkim_keys::encryption_key(app.settings())?;
    let now = app.now_ms();
    let webhook = Webhook {
        signing_secret: dkim_keys::seal(&key, secret.as_bytes(), &id)?,
        id,
        team_id: team_id.to_string(),
        endpoint,
        events: serde_json::to_string(&events)?,
        status,
        created_at: now,
    };
    on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO webhooks (id, team_id, endpoint, events, status, signing_secret, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    )
    .bind(&webhook.id)
    .bind(&webhook.team_id)
    .bind(&webhook.endpoint)
    .bind(&webhook.events)
    .bind(&webhook.status)
    .bind(&webhook.signing_secret)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((webhook, secret))
}

pub async fn list(app: &App, team_id: &str, page: &Page) -> WebhookResult<ListResponse<Webhook>> {
    Ok(team_rows::list(app.db(), ("webhooks", COLUMNS), team_id, page).await?)
}

/// A webhook by id, whatever its team (the delivery job's look-up).
pub async fn find(app: &App, id: &str) -> WebhookResult<Option<Webhook>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Webhook>(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1"))
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> WebhookResult<Webhook> {
    match find(app, id).await? {
        Some(webhook) if webhook.team_id == team_id => Ok(webhook),
        _ => Err(WebhookError::NotFound),
    }
}

pub async fn update(
    app: &App,
    team_id: &str,
    id: &str,
    input: WebhookInput,
) -> WebhookResult<Webhook> {
    let mut webhook = get(app, team_id, id).await?;
    if let Some(endpoint) = &input.endpoint {
        webhook.endpoint = validate_endpoint(app, endpoint)?;
    }
    if let Some(events) = &input.events {
        webhook.events = serde_json::to_string(&validate_events(events)?)?;
    }
    if let Some(status) = &input.status {
        webhook.status = validate_status(status)?;
    }
    on_db!(app.db(), |pool| sqlx::query(
        "UPDATE webhooks SET endpoint = $3, events = $4, status = $5, updated_at = $6 \
         WHERE id = $1 AND team_id = $2"
    )
    .bind(&webhook.id)
    .bind(team_id)
    .bind(&webhook.endpoint)
    .bind(&webhook.events)
    .bind(&webhook.status)
    .bind(app.now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(webhook)
}

/// Deletes an endpoint and its recorded attempts; queued deliveries to it stop.
pub async fn delete(app: &App, team_id: &str, id: &str) -> WebhookResult<()> {
    if !team_rows::delete(app.db(), "webhooks", team_id, id).await? {
        return Err(WebhookError::NotFound);
    }
    Ok(())
}

/// One recorded delivery attempt.
#[derive(Debug, Clone, FromRow)]
pub struct Attempt {
    pub id: String,
    pub webhook_id: String,
    pub event_id: String,
    pub event_type: String,
    pub message_id: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

const ATTEMPT_COLUMNS: &str = "id, webhook_id, event_id, event_type, message_id, attempt, \
                               status_code, duration_ms, error, next_attempt_at, created_at";

/// A webhook's delivery attempts, newest first.
pub async fn attempts(
    app: &App,
    team_id: &str,
    webhook_id: &str,
    page: &Page,
) -> WebhookResult<ListResponse<Attempt>> {
    get(app, team_id, webhook_id).await?;
    let table = ("webhook_deliveries", ATTEMPT_COLUMNS);
    let filter = ("webhook_id = $3", &[Some(webhook_id)][..]);
    Ok(team_rows::list_where(app.db(), table, team_id, page, filter).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_look_like_svix_secrets() {
        let secret = generate_secret();
        let encoded = secret.strip_prefix("whsec_").expect("prefix");
        assert_eq!(B64.decode(encoded).expect("base64").len(), 24);
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn events_are_checked_and_deduplicated() {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(validate_events(&[]).is_err());
        assert!(validate_events(&list(&["email.nope"])).is_err());
        assert_eq!(
            validate_events(&list(&["email.sent", "email.bounced", "email.sent"])).unwrap(),
            list(&["email.sent", "email.bounced"])
        );
    }
}
