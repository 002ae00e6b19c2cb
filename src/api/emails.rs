//! `/emails`: send, batch, get, list, reschedule, cancel, attachments; and the public,
//! signed attachment download route. Send bodies are parsed once into
//! `emails::request::SendEmailRequest` (typed, keeping Resend's lenient shapes) and checked
//! by `emails::validate`; the schemas below document them for `/openapi.json`, and the
//! response types are what the handlers serialise.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::budget::Share;
use crate::clock::{Millis, iso_timestamp, resend_timestamp};
use crate::emails::request::{BatchBody, SendBody};
use crate::emails::service::{self, BatchMode};
use crate::emails::store::{self, AttachmentRow, EmailRow};
use crate::emails::{downloads, idempotency};
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{Cursor, ListQuery, ListResponse, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(send, list))
        .routes(routes!(send_batch))
        .routes(routes!(retrieve, reschedule))
        .routes(routes!(cancel))
        .routes(routes!(list_attachments))
        .routes(routes!(retrieve_attachment))
}

/// Routes reachable without an API key (they carry their own signature).
pub fn public_routes() -> Router<App> {
    Router::new().route(downloads::ROUTE, get(download_attachment))
}

/// An address: `"a@b.com"`, `"Name <a@b.com>"`, or a list of them.
#[derive(ToSchema)]
#[schema(as = Recipients)]
#[allow(dead_code)]
enum RecipientsDoc {
    One(String),
    Many(Vec<String>),
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct Tag {
    /// ASCII letters, digits, `_` and `-`; at most 256 characters.
    name: String,
    value: String,
}

/// An attachment: `content` (base64 string, array of bytes, or Node's
/// `{"type":"Buffer","data":[…]}`) or `path` (a URL Herald fetches).
#[derive(ToSchema)]
#[allow(dead_code)]
struct Attachment {
    #[schema(value_type = Option<Object>)]
    content: Option<Value>,
    filename: Option<String>,
    path: Option<String>,
    content_type: Option<String>,
    /// Marks an inline image referenced as `cid:<content_id>`; under 128 characters.
    content_id: Option<String>,
}

/// Send with a published template: its html/text are rendered with `variables`
/// (`{{{VAR}}}`, `{{{VAR|fallback}}}`); its from/subject/reply_to apply when the email has none.
#[derive(ToSchema)]
#[allow(dead_code)]
struct EmailTemplateInput {
    /// The template's id or alias.
    id: String,
    #[schema(value_type = Option<Object>)]
    variables: Option<Value>,
}

/// Body of `POST /emails` (and each item of `POST /emails/batch`).
#[derive(ToSchema)]
#[allow(dead_code)]
struct SendEmailRequest {
    from: String,
    to: RecipientsDoc,
    subject: String,
    bcc: Option<RecipientsDoc>,
    cc: Option<RecipientsDoc>,
    reply_to: Option<RecipientsDoc>,
    html: Option<String>,
    /// Derived from `html` when absent.
    text: Option<String>,
    /// A published template, `{id (or alias), variables}`; not with `html`/`text`.
    template: Option<EmailTemplateInput>,
    #[schema(value_type = Option<Object>)]
    headers: Option<Value>,
    /// ISO 8601, or natural language such as "in 1 hour" or "tomorrow at 9am"; ≤ 30 days.
    scheduled_at: Option<String>,
    attachments: Option<Vec<Attachment>>,
    tags: Option<Vec<Tag>>,
    topic_id: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct SendEmailResponse {
    id: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct BatchError {
    index: usize,
    message: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct CreateBatchEmailsResponse {
    data: Vec<SendEmailResponse>,
    /// Only with `x-batch-validation: permissive`.
    errors: Option<Vec<BatchError>>,
}

/// Body of `PATCH /emails/{id}`.
#[derive(Deserialize, ToSchema)]
struct RescheduleRequest {
    #[schema(value_type = String)]
    scheduled_at: Option<Value>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = UpdateEmailOptions)]
struct RescheduleResponse {
    object: &'static str,
    id: String,
    scheduled_at: Option<String>,
}

/// An email as `GET /emails/{id}` shows it. List items leave out `html` and `text`.
#[derive(Serialize, ToSchema)]
pub struct Email {
    object: &'static str,
    id: String,
    message_id: String,
    to: Vec<String>,
    from: String,
    created_at: String,
    subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    html: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    text: Option<Option<String>>,
    bcc: Option<Vec<String>>,
    cc: Option<Vec<String>>,
    reply_to: Option<Vec<String>>,
    last_event: String,
    scheduled_at: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    tags: Option<Vec<Value>>,
    topic_id: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ListEmailsResponse {
    object: String,
    has_more: bool,
    data: Vec<Email>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = RetrievedAttachment)]
pub struct AttachmentView {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    object: Option<&'static str>,
    id: String,
    filename: Option<String>,
    content_type: String,
    content_id: Option<String>,
    /// `inline` when it has a content id, else `attachment`.
    content_disposition: &'static str,
    /// A signed link that works without an API key until `expires_at`.
    download_url: String,
    expires_at: String,
    size: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
struct ListAttachmentsResponse {
    object: String,
    has_more: bool,
    data: Vec<AttachmentView>,
}

#[utoipa::path(post, path = "/emails", tag = "Emails", operation_id = "emails/send",
    request_body = SendEmailRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–256 characters; kept 24 hours.")),
    responses((status = 200, description = "OK", body = SendEmailResponse)))]
async fn send(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    share: Option<Extension<Share>>,
    headers: HeaderMap,
    LenientJson(body): LenientJson<SendBody>,
) -> AppResult<Json<Value>> {
    let key = idempotency::key_from_headers(&headers)?;
    let share = share.map(|Extension(share)| share);
    Ok(Json(service::send(&app, &auth, body, key, share).await?))
}

#[utoipa::path(post, path = "/emails/batch", tag = "Emails", operation_id = "emails/send-batch",
    request_body = Vec<SendEmailRequest>,
    params(
        ("Idempotency-Key" = Option<String>, Header),
        ("x-batch-validation" = Option<String>, Header, description = "`strict` (default) or `permissive`."),
    ),
    responses((status = 200, description = "OK", body = CreateBatchEmailsResponse)))]
async fn send_batch(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    share: Option<Extension<Share>>,
    headers: HeaderMap,
    LenientJson(body): LenientJson<BatchBody>,
) -> AppResult<Json<Value>> {
    let key = idempotency::key_from_headers(&headers)?;
    let mode = headers
        .get("x-batch-validation")
        .map(|v| v.to_str().unwrap_or("invalid"));
    let mode = BatchMode::parse(mode)?;
    Ok(Json(
        service::send_batch(&app, &auth, body, mode, key, share.map(|Extension(s)| s)).await?,
    ))
}

/// JSON columns hold arrays; an empty list reads as `null`, as Resend shows absent fields.
fn list_or_null<T: serde::de::DeserializeOwned>(json_text: &str) -> Option<Vec<T>> {
    serde_json::from_str::<Vec<T>>(json_text)
        .ok()
        .filter(|items| !items.is_empty())
}

fn email_view(row: EmailRow, with_bodies: bool) -> Email {
    Email {
        object: "email",
        to: serde_json::from_str(&row.to_addresses).unwrap_or_default(),
        from: row.from_address,
        created_at: resend_timestamp(row.created_at),
        subject: row.subject,
        html: with_bodies.then_some(row.html),
        text: with_bodies.then_some(row.text),
        bcc: list_or_null(&row.bcc_addresses),
        cc: list_or_null(&row.cc_addresses),
        reply_to: list_or_null(&row.reply_to),
        last_event: row.last_event,
        scheduled_at: row.scheduled_at.map(resend_timestamp),
        tags: list_or_null(&row.tags),
        topic_id: row.topic_id,
        message_id: row.message_id,
        id: row.id,
    }
}

#[utoipa::path(get, path = "/emails/{email_id}", tag = "Emails", operation_id = "emails/get",
    params(("email_id" = String, Path)),
    responses((status = 200, description = "OK", body = Email)))]
async fn retrieve(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<Email>> {
    super::require_uuid(&id, "email_id")?;
    let row = store::get(&app, &auth.team_id, &id).await?;
    Ok(Json(email_view(row, true)))
}

#[utoipa::path(get, path = "/emails", tag = "Emails", operation_id = "emails/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListEmailsResponse)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListResponse<Email>>> {
    let page = Page::from_query(&query, Some(20))?;
    let emails = store::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListResponse {
        object: "list",
        has_more: emails.has_more,
        data: emails
            .data
            .into_iter()
            .map(|row| email_view(row, false))
            .collect(),
    }))
}

#[utoipa::path(patch, path = "/emails/{email_id}", tag = "Emails", operation_id = "emails/update",
    params(("email_id" = String, Path)),
    request_body = RescheduleRequest,
    responses((status = 200, description = "OK", body = RescheduleResponse)))]
async fn reschedule(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<RescheduleRequest>,
) -> AppResult<Json<RescheduleResponse>> {
    super::require_uuid(&id, "email_id")?;
    let scheduled_at = body.scheduled_at.unwrap_or(Value::Null);
    service::reschedule(&app, &auth.team_id, &id, scheduled_at).await?;
    let row = store::get(&app, &auth.team_id, &id).await?;
    Ok(Json(RescheduleResponse {
        object: "email",
        id,
        scheduled_at: row.scheduled_at.map(resend_timestamp),
    }))
}

/// Answers with the canceled email (the spec's shape; the SDKs read `object` and `id`).
#[utoipa::path(post, path = "/emails/{email_id}/cancel", tag = "Emails", operation_id = "emails/cancel",
    params(("email_id" = String, Path)),
    responses((status = 200, description = "OK", body = Email)))]
async fn cancel(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<Email>> {
    super::require_uuid(&id, "email_id")?;
    service::cancel(&app, &auth.team_id, &id).await?;
    let row = store::get(&app, &auth.team_id, &id).await?;
    Ok(Json(email_view(row, true)))
}

fn attachment_view(app: &App, row: AttachmentRow, now: Millis) -> AttachmentView {
    let (download_url, expires_at) = downloads::signed_url(app, &row.id, now);
    AttachmentView {
        object: None,
        content_disposition: if row.content_id.is_some() {
            "inline"
        } else {
            "attachment"
        },
        id: row.id,
        filename: row.filename,
        content_type: row.content_type,
        content_id: row.content_id,
        download_url,
        expires_at: iso_timestamp(expires_at),
        size: row.size,
    }
}

#[utoipa::path(get, path = "/emails/{email_id}/attachments", tag = "Emails",
    operation_id = "emails/list-attachments",
    params(("email_id" = String, Path), ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListAttachmentsResponse)))]
async fn list_attachments(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(email_id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListResponse<AttachmentView>>> {
    super::require_uuid(&email_id, "email_id")?;
    let page = Page::from_query(&query, None)?;
    let rows = store::list_attachments(&app, &auth.team_id, &email_id).await?;
    // An email has few attachments: the cursor is applied in memory, in stored order.
    let position = |id: &str| rows.iter().position(|r| r.id == id);
    let (start, end) = match &page.cursor {
        Cursor::Newest => (0, rows.len()),
        Cursor::After(id) => (position(id).map_or(rows.len(), |p| p + 1), rows.len()),
        Cursor::Before(id) => (0, position(id).unwrap_or(0)),
    };
    let window = end.saturating_sub(start);
    let take = page.limit.map_or(window, |n| (n as usize).min(window));
    let (skip, has_more) = match page.cursor {
        Cursor::Before(_) => (end - take, take < window),
        _ => (start, take < window),
    };
    let now = app.now_ms();
    Ok(Json(ListResponse {
        object: "list",
        has_more,
        data: rows
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|row| attachment_view(&app, row, now))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/emails/{email_id}/attachments/{attachment_id}", tag = "Emails",
    operation_id = "emails/get-attachment",
    params(("email_id" = String, Path), ("attachment_id" = String, Path)),
    responses((status = 200, description = "OK", body = AttachmentView)))]
async fn retrieve_attachment(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((email_id, attachment_id)): Path<(String, String)>,
) -> AppResult<Json<AttachmentView>> {
    super::require_uuid(&email_id, "email_id")?;
    super::require_uuid(&attachment_id, "attachment_id")?;
    let row = store::get_attachment(&app, &auth.team_id, &email_id, &attachment_id).await?;
    let mut view = attachment_view(&app, row, app.now_ms());
    view.object = Some("attachment");
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
struct DownloadQuery {
    expires: Option<String>,
    signature: Option<String>,
}

async fn download_attachment(
    State(app): State<App>,
    Path(attachment_id): Path<String>,
    Query(query): Query<DownloadQuery>,
) -> AppResult<Response> {
    let expires = query.expires.and_then(|e| e.parse::<Millis>().ok());
    let (Some(expires), Some(signature)) = (expires, query.signature) else {
        return Err(AppError::new(
            403,
            "validation_error",
            "The download link is incomplete: it needs `expires` and `signature`.",
        ));
    };
    downloads::verify(&app, &attachment_id, expires, &signature, app.now_ms())?;
    let (row, content) = store::attachment_content(&app, &attachment_id).await?;
    let content_type = HeaderValue::from_str(&row.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = content_disposition(row.filename.as_deref());
    // User content on our origin: always a download, never rendered or sniffed.
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CONTENT_SECURITY_POLICY, "sandbox")
        .body(Body::from(content))
        .map_err(|e| AppError::internal(e.to_string()))
}

/// `attachment; filename="…"` with an ASCII fallback and the UTF-8 name (RFC 6266).
fn content_disposition(filename: Option<&str>) -> String {
    let Some(name) = filename else {
        return "attachment".into();
    };
    let name = &crate::files::clean_file_name(name);
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}
