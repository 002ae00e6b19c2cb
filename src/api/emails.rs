//! `/emails`: send, batch, get, list, reschedule, cancel, attachments; and the public,
//! signed attachment download route.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::api_keys::AuthKey;
use crate::clock::{Millis, iso_timestamp, resend_timestamp};
use crate::emails::service::{self, BatchMode};
use crate::emails::store::{self, AttachmentRow, EmailRow};
use crate::emails::{downloads, idempotency};
use crate::error::{AppError, AppResult};
use crate::http::json::LenientJson;
use crate::http::pagination::{Cursor, ListQuery, Page};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/emails", get(list).post(send))
        .route("/emails/batch", post(send_batch))
        .route("/emails/{email_id}", get(retrieve).patch(reschedule))
        .route("/emails/{email_id}/cancel", post(cancel))
        .route("/emails/{email_id}/attachments", get(list_attachments))
        .route(
            "/emails/{email_id}/attachments/{attachment_id}",
            get(retrieve_attachment),
        )
}

/// Routes reachable without an API key (they carry their own signature).
pub fn public_routes() -> Router<App> {
    Router::new().route(downloads::ROUTE, get(download_attachment))
}

async fn send(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    headers: HeaderMap,
    LenientJson(body): LenientJson<Value>,
) -> AppResult<Json<Value>> {
    let key = idempotency::key_from_headers(&headers)?;
    Ok(Json(service::send(&app, &auth, body, key).await?))
}

async fn send_batch(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    headers: HeaderMap,
    LenientJson(body): LenientJson<Value>,
) -> AppResult<Json<Value>> {
    let key = idempotency::key_from_headers(&headers)?;
    let mode = headers
        .get("x-batch-validation")
        .map(|v| v.to_str().unwrap_or("invalid"));
    let mode = BatchMode::parse(mode)?;
    Ok(Json(
        service::send_batch(&app, &auth, body, mode, key).await?,
    ))
}

/// JSON columns hold arrays; an empty list reads as `null`, as Resend shows absent fields.
fn list_or_null(json_text: &str) -> Value {
    match serde_json::from_str::<Value>(json_text) {
        Ok(Value::Array(items)) if !items.is_empty() => Value::Array(items),
        _ => Value::Null,
    }
}

fn email_json(row: EmailRow, with_bodies: bool) -> Value {
    let to = serde_json::from_str::<Value>(&row.to_addresses).unwrap_or(json!([]));
    let mut email = json!({
        "object": "email",
        "id": row.id,
        "to": to,
        "from": row.from_address,
        "created_at": resend_timestamp(row.created_at),
        "subject": row.subject,
        "bcc": list_or_null(&row.bcc_addresses),
        "cc": list_or_null(&row.cc_addresses),
        "reply_to": list_or_null(&row.reply_to),
        "last_event": row.last_event,
        "scheduled_at": row.scheduled_at.map(resend_timestamp),
        "tags": list_or_null(&row.tags),
        "topic_id": row.topic_id,
        "message_id": row.message_id,
    });
    if with_bodies {
        email["html"] = json!(row.html);
        email["text"] = json!(row.text);
    }
    email
}

async fn retrieve(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    super::require_uuid(&id, "email_id")?;
    let row = store::get(&app, &auth.team_id, &id).await?;
    Ok(Json(email_json(row, true)))
}

async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Value>> {
    let page = Page::from_query(&query, Some(20))?;
    let emails = store::list(&app, &auth.team_id, &page).await?;
    let data: Vec<Value> = emails
        .data
        .into_iter()
        .map(|row| email_json(row, false))
        .collect();
    Ok(Json(
        json!({ "object": "list", "has_more": emails.has_more, "data": data }),
    ))
}

async fn reschedule(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<Value>,
) -> AppResult<Json<Value>> {
    super::require_uuid(&id, "email_id")?;
    let scheduled_at = body.get("scheduled_at").cloned().unwrap_or(Value::Null);
    service::reschedule(&app, &auth.team_id, &id, scheduled_at).await?;
    Ok(Json(json!({ "object": "email", "id": id })))
}

async fn cancel(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    super::require_uuid(&id, "email_id")?;
    service::cancel(&app, &auth.team_id, &id).await?;
    Ok(Json(json!({ "object": "email", "id": id })))
}

fn attachment_json(app: &App, row: AttachmentRow, now: Millis) -> Value {
    let (download_url, expires_at) = downloads::signed_url(app, &row.id, now);
    let disposition = if row.content_id.is_some() {
        "inline"
    } else {
        "attachment"
    };
    json!({
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "content_id": row.content_id,
        "content_disposition": disposition,
        "download_url": download_url,
        "expires_at": iso_timestamp(expires_at),
        "size": row.size,
    })
}

async fn list_attachments(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(email_id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Value>> {
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
    let data: Vec<Value> = rows
        .into_iter()
        .skip(skip)
        .take(take)
        .map(|row| attachment_json(&app, row, now))
        .collect();
    Ok(Json(
        json!({ "object": "list", "has_more": has_more, "data": data }),
    ))
}

async fn retrieve_attachment(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((email_id, attachment_id)): Path<(String, String)>,
) -> AppResult<Json<Value>> {
    super::require_uuid(&email_id, "email_id")?;
    super::require_uuid(&attachment_id, "attachment_id")?;
    let row = store::get_attachment(&app, &auth.team_id, &email_id, &attachment_id).await?;
    let mut body = attachment_json(&app, row, app.now_ms());
    body["object"] = json!("attachment");
    Ok(Json(body))
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
