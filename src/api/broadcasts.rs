//! `/broadcasts`: create, list, get, update, delete, send, cancel, duplicate, recipients and
//! clicked links (see `broadcasts::service` and `broadcasts::stats`).

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::broadcasts::service::{self, BroadcastInput, ListFilter, When};
use crate::broadcasts::{Broadcast, stats};
use crate::clock::resend_timestamp;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, remove))
        .routes(routes!(send))
        .routes(routes!(cancel))
        .routes(routes!(duplicate))
        .routes(routes!(recipients))
        .routes(routes!(clicked_links))
}

const TAG: &str = "Broadcasts";

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateBroadcastOptions {
    name: Option<String>,
    /// The segment to send to.
    #[schema(required = true)]
    segment_id: Option<String>,
    /// Deprecated: the same as `segment_id`.
    #[schema(deprecated)]
    audience_id: Option<String>,
    #[schema(required = true)]
    from: Option<String>,
    #[schema(required = true)]
    subject: Option<String>,
    /// A string or an array of strings.
    #[schema(value_type = Option<Vec<String>>)]
    reply_to: Option<Value>,
    preview_text: Option<String>,
    /// May use `{{{FIRST_NAME|fallback}}}`, `{{{LAST_NAME}}}`, `{{{EMAIL}}}`,
    /// `{{{RESEND_UNSUBSCRIBE_URL}}}` and contact properties.
    html: Option<String>,
    text: Option<String>,
    topic_id: Option<String>,
    /// Send at once (or at `scheduled_at`) instead of saving a draft.
    send: Option<bool>,
    /// Only with `send: true`: ISO 8601 or words (`in 1 hour`), at most 30 days ahead.
    scheduled_at: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateBroadcastOptions {
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    #[schema(deprecated)]
    audience_id: Option<String>,
    segment_id: Option<String>,
    from: Option<String>,
    subject: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    reply_to: Option<Value>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    preview_text: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    html: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    text: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    topic_id: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SendBroadcastOptions {
    /// ISO 8601 or words (`in 1 hour`, `tomorrow at 9am ET`); absent sends now.
    scheduled_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateBroadcastResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateBroadcastResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct SendBroadcastResponseSuccess {
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct CancelBroadcastResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateBroadcastResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveBroadcastResponseSuccess {
    id: String,
    object: &'static str,
    deleted: bool,
}

/// A broadcast with its content.
#[derive(Serialize, ToSchema)]
#[schema(as = GetBroadcastResponseSuccess)]
pub struct BroadcastView {
    object: &'static str,
    id: String,
    name: Option<String>,
    /// Deprecated: the same as `segment_id`.
    audience_id: Option<String>,
    segment_id: Option<String>,
    from: String,
    subject: String,
    reply_to: Option<Vec<String>>,
    preview_text: Option<String>,
    /// draft (also while scheduled), queued, sending, sent or canceled.
    status: String,
    created_at: String,
    scheduled_at: Option<String>,
    sent_at: Option<String>,
    text: Option<String>,
    html: Option<String>,
    topic_id: Option<String>,
}

impl From<&Broadcast> for BroadcastView {
    fn from(b: &Broadcast) -> Self {
        let reply_to = b.reply_to_list();
        Self {
            object: "broadcast",
            id: b.id.clone(),
            name: b.name.clone(),
            audience_id: b.segment_id.clone(),
            segment_id: b.segment_id.clone(),
            from: b.from.clone(),
            subject: b.subject.clone(),
            reply_to: (!reply_to.is_empty()).then_some(reply_to),
            preview_text: b.preview_text.clone(),
            status: b.status.clone(),
            created_at: resend_timestamp(b.created_at),
            scheduled_at: b.scheduled_at.map(resend_timestamp),
            sent_at: b.sent_at.map(resend_timestamp),
            text: b.text.clone(),
            html: b.html.clone(),
            topic_id: b.topic_id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = BroadcastListItem)]
pub struct BroadcastListItemView {
    id: String,
    name: Option<String>,
    audience_id: Option<String>,
    segment_id: Option<String>,
    status: String,
    created_at: String,
    scheduled_at: Option<String>,
    sent_at: Option<String>,
    topic_id: Option<String>,
}

impl From<&Broadcast> for BroadcastListItemView {
    fn from(b: &Broadcast) -> Self {
        Self {
            id: b.id.clone(),
            name: b.name.clone(),
            audience_id: b.segment_id.clone(),
            segment_id: b.segment_id.clone(),
            status: b.status.clone(),
            created_at: resend_timestamp(b.created_at),
            scheduled_at: b.scheduled_at.map(resend_timestamp),
            sent_at: b.sent_at.map(resend_timestamp),
            topic_id: b.topic_id.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListBroadcastsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<BroadcastListItemView>,
}

#[derive(Serialize, ToSchema)]
pub struct ClickedLinkCount {
    url: String,
    clicks: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastRecipient {
    /// Opaque cursor for pagination.
    id: String,
    contact_id: Option<String>,
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bounce_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clicked_links: Option<Vec<ClickedLinkCount>>,
}

#[derive(Serialize, ToSchema)]
pub struct ListBroadcastRecipientsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<BroadcastRecipient>,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastClickedLink {
    /// Opaque cursor for pagination.
    id: String,
    url: String,
    clicks: i64,
    unique_clicks: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ListBroadcastClickedLinksResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<BroadcastClickedLink>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RecipientsQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    email: Option<String>,
    bounce_type: Option<String>,
    limit: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

fn segment_of(segment_id: Option<String>, audience_id: Option<String>) -> Option<String> {
    segment_id
        .filter(|s| !s.trim().is_empty())
        .or(audience_id.filter(|s| !s.trim().is_empty()))
}

fn check_id(id: &str) -> AppResult<()> {
    crate::api::require_uuid(id, "id")
}

#[utoipa::path(post, path = "/broadcasts", tag = TAG, operation_id = "broadcasts/create",
    request_body = CreateBroadcastOptions,
    responses((status = 201, description = "OK", body = CreateBroadcastResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateBroadcastOptions>,
) -> AppResult<Created<CreateBroadcastResponseSuccess>> {
    let scheduled = body.scheduled_at.filter(|s| !s.trim().is_empty());
    let send = match (body.send.unwrap_or(false), scheduled) {
        (true, None) => Some(When::Now),
        (true, Some(at)) => Some(When::At(at)),
        (false, Some(_)) => {
            return Err(AppError::validation(
                "The `scheduled_at` field can only be used with `send: true`.",
            ));
        }
        (false, None) => None,
    };
    let input = BroadcastInput {
        name: Some(body.name),
        segment_id: segment_of(body.segment_id, body.audience_id),
        from: body.from,
        subject: body.subject,
        reply_to: body.reply_to,
        preview_text: Some(body.preview_text),
        html: Some(body.html),
        text: Some(body.text),
        topic_id: Some(body.topic_id),
    };
    let b = service::create(&app, &auth.team_id, input, send).await?;
    Ok(created(CreateBroadcastResponseSuccess {
        id: b.id,
        object: "broadcast",
    }))
}

#[utoipa::path(get, path = "/broadcasts", tag = TAG, operation_id = "broadcasts/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListBroadcastsResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListBroadcastsResponseSuccess>> {
    // An older endpoint: everything without `limit`, as Resend.
    let page = Page::from_query(&query, None)?;
    let list = service::list(&app, &auth.team_id, &page, &ListFilter::default()).await?;
    Ok(Json(ListBroadcastsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list.data.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/broadcasts/{id}", tag = TAG, operation_id = "broadcasts/get",
    params(("id" = String, Path, description = "The Broadcast ID.")),
    responses((status = 200, description = "OK", body = BroadcastView)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<BroadcastView>> {
    check_id(&id)?;
    let b = service::get(&app, &auth.team_id, &id).await?;
    Ok(Json((&b).into()))
}

#[utoipa::path(patch, path = "/broadcasts/{id}", tag = TAG, operation_id = "broadcasts/update",
    params(("id" = String, Path, description = "The Broadcast ID.")),
    request_body = UpdateBroadcastOptions,
    responses((status = 200, description = "OK", body = UpdateBroadcastResponseSuccess)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateBroadcastOptions>,
) -> AppResult<Json<UpdateBroadcastResponseSuccess>> {
    check_id(&id)?;
    let input = BroadcastInput {
        name: body.name,
        segment_id: segment_of(body.segment_id, body.audience_id),
        from: body.from,
        subject: body.subject,
        reply_to: body.reply_to,
        preview_text: body.preview_text,
        html: body.html,
        text: body.text,
        topic_id: body.topic_id,
    };
    let b = service::update(&app, &auth.team_id, &id, input).await?;
    Ok(Json(UpdateBroadcastResponseSuccess {
        id: b.id,
        object: "broadcast",
    }))
}

#[utoipa::path(delete, path = "/broadcasts/{id}", tag = TAG, operation_id = "broadcasts/remove",
    params(("id" = String, Path, description = "The Broadcast ID.")),
    responses((status = 200, description = "OK", body = RemoveBroadcastResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveBroadcastResponseSuccess>> {
    check_id(&id)?;
    service::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(RemoveBroadcastResponseSuccess {
        id,
        object: "broadcast",
        deleted: true,
    }))
}

#[utoipa::path(post, path = "/broadcasts/{id}/send", tag = TAG, operation_id = "broadcasts/send",
    params(("id" = String, Path, description = "The Broadcast ID.")),
    request_body = SendBroadcastOptions,
    responses((status = 200, description = "OK", body = SendBroadcastResponseSuccess)))]
async fn send(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<SendBroadcastOptions>,
) -> AppResult<Json<SendBroadcastResponseSuccess>> {
    check_id(&id)?;
    let when = match body.scheduled_at.filter(|s| !s.trim().is_empty()) {
        Some(at) => When::At(at),
        None => When::Now,
    };
    let b = service::send(&app, &auth.team_id, &id, when).await?;
    Ok(Json(SendBroadcastResponseSuccess { id: b.id }))
}

#[utoipa::path(post, path = "/broadcasts/{id}/cancel", tag = TAG, operation_id = "broadcasts/cancel",
    params(("id" = String, Path, description = "The Broadcast ID.")),
    responses((status = 200, description = "OK", body = CancelBroadcastResponseSuccess)))]
async fn cancel(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<CancelBroadcastResponseSuccess>> {
    check_id(&id)?;
    let b = service::cancel(&app, &auth.team_id, &id).await?;
    Ok(Json(CancelBroadcastResponseSuccess {
        id: b.id,
        object: "broadcast",
    }))
}

#[utoipa::path(post, path = "/broadcasts/{id}/duplicate", tag = TAG, operation_id = "broadcasts/duplicate",
    params(("id" = String, Path, description = "The Broadcast ID.")),
    responses((status = 200, description = "OK", body = DuplicateBroadcastResponseSuccess)))]
async fn duplicate(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<DuplicateBroadcastResponseSuccess>> {
    check_id(&id)?;
    let b = service::duplicate(&app, &auth.team_id, &id).await?;
    Ok(Json(DuplicateBroadcastResponseSuccess {
        id: b.id,
        object: "broadcast",
    }))
}

#[utoipa::path(get, path = "/broadcasts/{id}/recipients", tag = TAG, operation_id = "broadcasts/recipients",
    params(("id" = String, Path, description = "The Broadcast ID."),
        ("type" = String, Query, description = "sent, delivered, opened, clicked, bounced, complained, unsubscribed or suppressed."),
        ("email" = Option<String>, Query), ("bounce_type" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListBroadcastRecipientsResponseSuccess)))]
async fn recipients(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    Query(q): Query<RecipientsQuery>,
) -> AppResult<Json<ListBroadcastRecipientsResponseSuccess>> {
    check_id(&id)?;
    let filter = stats::RecipientFilter {
        kind: q.kind,
        email: q.email,
        bounce_type: q.bounce_type,
    };
    let page = ListQuery {
        limit: q.limit,
        after: q.after,
        before: q.before,
    };
    // A bad `limit` is reported after the broadcast and the filter are checked.
    let page = Page::from_query(&page, Some(20)).map_err(|e| e.message);
    let list = stats::recipients(&app, &auth.team_id, &id, &filter, &page).await?;
    Ok(Json(ListBroadcastRecipientsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list
            .data
            .into_iter()
            .map(|r| BroadcastRecipient {
                id: r.id,
                contact_id: r.contact_id,
                email: r.email,
                count: r.count,
                bounce_type: r.bounce_type,
                clicked_links: r.clicked_links.map(|links| {
                    links
                        .into_iter()
                        .map(|(url, clicks)| ClickedLinkCount { url, clicks })
                        .collect()
                }),
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/broadcasts/{id}/clicked-links", tag = TAG, operation_id = "broadcasts/list-clicked-links",
    params(("id" = String, Path, description = "The Broadcast ID."),
        ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListBroadcastClickedLinksResponseSuccess)))]
async fn clicked_links(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListBroadcastClickedLinksResponseSuccess>> {
    check_id(&id)?;
    let page = Page::from_query(&query, Some(20)).map_err(|e| e.message);
    let list = stats::clicked_links(&app, &auth.team_id, &id, &page).await?;
    Ok(Json(ListBroadcastClickedLinksResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list
            .data
            .into_iter()
            .map(|(id, l)| BroadcastClickedLink {
                id,
                url: l.url,
                clicks: l.clicks,
                unique_clicks: l.unique_clicks,
            })
            .collect(),
    }))
}
