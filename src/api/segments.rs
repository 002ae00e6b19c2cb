//! `/segments`: create, list, get, update (rename), delete; and `GET /segments/{id}/contacts`, which the
//! SDKs call to list a segment's contacts although the spec lacks it.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::routing::get as get_route;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::{ContactListQuery, ListContactsResponseSuccess, list_contacts};
use crate::audience::segments::{self, NewSegment, Segment};
use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::AppResult;
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, remove))
}

/// Served but not in Resend's spec.
pub fn legacy_routes() -> Router<App> {
    Router::new().route("/segments/{id}/contacts", get_route(list_segment_contacts))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateSegmentOptions {
    #[schema(required = true)]
    name: Option<String>,
    /// Deprecated; kept and echoed.
    audience_id: Option<String>,
    /// Filter conditions, stored as given.
    #[schema(value_type = Option<Object>)]
    filter: Option<Value>,
}

/// Resend returns `name` as well.
#[derive(Serialize, ToSchema)]
pub struct CreateSegmentResponseSuccess {
    id: String,
    object: &'static str,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentListItem {
    id: String,
    name: String,
    audience_id: Option<String>,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ListSegmentsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<SegmentListItem>,
}

#[derive(Serialize, ToSchema)]
pub struct GetSegmentResponseSuccess {
    id: String,
    object: &'static str,
    name: String,
    audience_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    filter: Value,
    created_at: String,
}

/// Resend documents renaming a segment; its spec 1.5.0 lacks the route.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateSegmentOptions {
    #[schema(required = true)]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateSegmentResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveSegmentResponseSuccess {
    id: String,
    object: &'static str,
    deleted: bool,
}

impl From<&Segment> for SegmentListItem {
    fn from(s: &Segment) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            audience_id: s.audience_id.clone(),
            created_at: resend_timestamp(s.created_at),
        }
    }
}

const TAG: &str = "Segments";

#[utoipa::path(post, path = "/segments", tag = TAG, operation_id = "segments/create",
    request_body = CreateSegmentOptions,
    responses((status = 201, description = "OK", body = CreateSegmentResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateSegmentOptions>,
) -> AppResult<Created<CreateSegmentResponseSuccess>> {
    let input = NewSegment {
        name: body.name,
        audience_id: body.audience_id,
        filter: body.filter,
    };
    let segment = segments::create(&app, &auth.team_id, input).await?;
    Ok(created(CreateSegmentResponseSuccess {
        id: segment.id,
        object: "segment",
        name: segment.name,
    }))
}

#[utoipa::path(get, path = "/segments", tag = TAG, operation_id = "segments/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListSegmentsResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListSegmentsResponseSuccess>> {
    let page = Page::from_query(&query, None)?;
    let list = segments::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListSegmentsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list.data.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/segments/{id}", tag = TAG, operation_id = "segments/get",
    params(("id" = String, Path, description = "The segment ID.")),
    responses((status = 200, description = "OK", body = GetSegmentResponseSuccess)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<GetSegmentResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    let segment = segments::get(&app, &auth.team_id, &id).await?;
    Ok(Json(GetSegmentResponseSuccess {
        filter: segment.filter_value(),
        id: segment.id,
        object: "segment",
        name: segment.name,
        audience_id: segment.audience_id,
        created_at: resend_timestamp(segment.created_at),
    }))
}

#[utoipa::path(patch, path = "/segments/{id}", tag = TAG, operation_id = "segments/update",
    params(("id" = String, Path, description = "The segment ID.")),
    request_body = UpdateSegmentOptions,
    responses((status = 200, description = "OK", body = UpdateSegmentResponseSuccess)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateSegmentOptions>,
) -> AppResult<Json<UpdateSegmentResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    let segment = segments::rename(&app, &auth.team_id, &id, body.name.as_deref()).await?;
    Ok(Json(UpdateSegmentResponseSuccess {
        id: segment.id,
        object: "segment",
    }))
}

/// Deleting an unknown segment answers `deleted: true`, as Resend does.
#[utoipa::path(delete, path = "/segments/{id}", tag = TAG, operation_id = "segments/remove",
    params(("id" = String, Path, description = "The segment ID.")),
    responses((status = 200, description = "OK", body = RemoveSegmentResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveSegmentResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    segments::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(RemoveSegmentResponseSuccess {
        id,
        object: "segment",
        deleted: true,
    }))
}

async fn list_segment_contacts(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    Query(query): Query<ContactListQuery>,
) -> AppResult<Json<ListContactsResponseSuccess>> {
    list_contacts(&app, &auth.team_id, &query, Some(&id)).await
}
