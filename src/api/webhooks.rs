//! `/webhooks`: create (secret shown), list, get (secret shown), update, delete, and
//! Herald's own `GET /webhooks/{id}/deliveries` (recent delivery attempts).

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::AppResult;
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, ListResponse, Page};
use crate::webhooks::{self, Attempt, WebhookInput, WebhookView};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(retrieve, update, remove))
        .routes(routes!(deliveries))
}

/// Body of `POST /webhooks`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateWebhookRequest {
    /// The URL events are POSTed to (http or https).
    #[schema(required = true)]
    endpoint: Option<String>,
    /// Event types to send, at least one (e.g. `email.sent`).
    #[schema(required = true, min_items = 1)]
    events: Option<Vec<String>>,
}

/// Body of `PATCH /webhooks/{id}`; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateWebhookRequest {
    endpoint: Option<String>,
    #[schema(min_items = 1)]
    events: Option<Vec<String>>,
    /// `enabled` or `disabled`.
    #[schema(example = "enabled")]
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateWebhookResponse {
    object: &'static str,
    id: String,
    /// `whsec_…`: verifies the signatures of deliveries.
    signing_secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct GetWebhookResponse {
    object: &'static str,
    id: String,
    endpoint: String,
    events: Vec<String>,
    status: String,
    created_at: String,
    signing_secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct ListWebhooksResponse {
    object: &'static str,
    has_more: bool,
    data: Vec<WebhookView>,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateWebhookResponse {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeleteWebhookResponse {
    object: &'static str,
    id: String,
    deleted: bool,
}

/// One attempt to deliver an event (Herald only).
#[derive(Serialize, ToSchema)]
pub struct WebhookDelivery {
    id: String,
    /// The event delivered, e.g. `email.delivered`.
    event_type: String,
    event_id: String,
    /// The `svix-id`/`webhook-id` header: the same for every attempt of an event.
    message_id: String,
    /// 1 for the first attempt.
    attempt: i32,
    /// The endpoint's HTTP status; null when no answer came (network error, refused address).
    status_code: Option<i32>,
    duration_ms: i64,
    error: Option<String>,
    /// When the next attempt is due, if this one failed and attempts remain.
    next_attempt_at: Option<String>,
    created_at: String,
}

impl From<&Attempt> for WebhookDelivery {
    fn from(a: &Attempt) -> Self {
        Self {
            id: a.id.clone(),
            event_type: a.event_type.clone(),
            event_id: a.event_id.clone(),
            message_id: a.message_id.clone(),
            attempt: a.attempt,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            error: a.error.clone(),
            next_attempt_at: a.next_attempt_at.map(resend_timestamp),
            created_at: resend_timestamp(a.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListWebhookDeliveriesResponse {
    object: &'static str,
    has_more: bool,
    data: Vec<WebhookDelivery>,
}

#[utoipa::path(post, path = "/webhooks", tag = "Webhooks", operation_id = "webhooks/create",
    request_body = CreateWebhookRequest,
    responses((status = 201, description = "Created", body = CreateWebhookResponse)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateWebhookRequest>,
) -> AppResult<Created<CreateWebhookResponse>> {
    let input = WebhookInput {
        endpoint: body.endpoint,
        events: body.events,
        status: None,
    };
    let (webhook, secret) = webhooks::create(&app, &auth.team_id, input).await?;
    Ok(created(CreateWebhookResponse {
        object: "webhook",
        id: webhook.id,
        signing_secret: secret,
    }))
}

#[utoipa::path(get, path = "/webhooks", tag = "Webhooks", operation_id = "webhooks/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListWebhooksResponse)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListResponse<WebhookView>>> {
    let page = Page::from_query(&query, Some(20))?;
    let found = webhooks::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListResponse {
        object: "list",
        has_more: found.has_more,
        data: found.data.iter().map(WebhookView::from).collect(),
    }))
}

#[utoipa::path(get, path = "/webhooks/{webhook_id}", tag = "Webhooks", operation_id = "webhooks/get",
    params(("webhook_id" = String, Path, description = "The Webhook ID.")),
    responses((status = 200, description = "OK", body = GetWebhookResponse)))]
async fn retrieve(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<GetWebhookResponse>> {
    super::require_uuid(&id, "webhook_id")?;
    let webhook = webhooks::get(&app, &auth.team_id, &id).await?;
    let view = WebhookView::from(&webhook);
    Ok(Json(GetWebhookResponse {
        object: "webhook",
        signing_secret: webhook.secret(&app)?,
        id: view.id,
        endpoint: view.endpoint,
        events: view.events,
        status: view.status,
        created_at: view.created_at,
    }))
}

#[utoipa::path(patch, path = "/webhooks/{webhook_id}", tag = "Webhooks", operation_id = "webhooks/update",
    params(("webhook_id" = String, Path, description = "The Webhook ID.")),
    request_body = UpdateWebhookRequest,
    responses((status = 200, description = "OK", body = UpdateWebhookResponse)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateWebhookRequest>,
) -> AppResult<Json<UpdateWebhookResponse>> {
    super::require_uuid(&id, "webhook_id")?;
    let input = WebhookInput {
        endpoint: body.endpoint,
        events: body.events,
        status: body.status,
    };
    let webhook = webhooks::update(&app, &auth.team_id, &id, input).await?;
    Ok(Json(UpdateWebhookResponse {
        object: "webhook",
        id: webhook.id,
    }))
}

#[utoipa::path(delete, path = "/webhooks/{webhook_id}", tag = "Webhooks", operation_id = "webhooks/remove",
    params(("webhook_id" = String, Path, description = "The Webhook ID.")),
    responses((status = 200, description = "OK", body = DeleteWebhookResponse)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<DeleteWebhookResponse>> {
    super::require_uuid(&id, "webhook_id")?;
    webhooks::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(DeleteWebhookResponse {
        object: "webhook",
        id,
        deleted: true,
    }))
}

#[utoipa::path(get, path = "/webhooks/{webhook_id}/deliveries", tag = "Webhooks",
    operation_id = "webhooks/deliveries",
    description = "Herald only: the webhook's recent delivery attempts, newest first.",
    params(("webhook_id" = String, Path, description = "The Webhook ID."),
        ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListWebhookDeliveriesResponse)))]
async fn deliveries(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListWebhookDeliveriesResponse>> {
    super::require_uuid(&id, "webhook_id")?;
    let page = Page::from_query(&query, Some(20))?;
    let found = webhooks::attempts(&app, &auth.team_id, &id, &page).await?;
    Ok(Json(ListWebhookDeliveriesResponse {
        object: "list",
        has_more: found.has_more,
        data: found.data.iter().map(WebhookDelivery::from).collect(),
    }))
}
