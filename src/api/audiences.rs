//! The deprecated `/audiences` routes, still called by older SDK code. An audience is a
//! segment (same rows, same ids). `/audiences/{id}/contacts[/{id_or_email}]` (not in the spec,
//! used by both SDKs) create, list, read, update and delete contacts; creating one adds it
//! to the audience's segment. Contacts are global now, so deleting through an audience
//! deletes the contact.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::routing::get as get_route;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::{
    ContactListQuery, CreateContactOptions, CreateContactResponseSuccess,
    GetContactResponseSuccess, ListContactsResponseSuccess, RemoveContactResponseSuccess,
    UpdateContactOptions, UpdateContactResponseSuccess, create_contact, get_contact, list_contacts,
    remove_contact, update_contact,
};
use crate::audience::segments::{self, NewSegment};
use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, remove))
}

/// Served but not in Resend's spec.
pub fn legacy_routes() -> Router<App> {
    Router::new()
        .route(
            "/audiences/{id}/contacts",
            get_route(list_audience_contacts).post(create_audience_contact),
        )
        .route(
            "/audiences/{id}/contacts/{contact}",
            get_route(get_audience_contact)
                .patch(update_audience_contact)
                .delete(remove_audience_contact),
        )
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateAudienceOptions {
    #[schema(required = true)]
    name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateAudienceResponseSuccess {
    id: String,
    object: &'static str,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AudienceListItem {
    id: String,
    name: String,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ListAudiencesResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<AudienceListItem>,
}

#[derive(Serialize, ToSchema)]
pub struct GetAudienceResponseSuccess {
    id: String,
    object: &'static str,
    name: String,
    created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveAudienceResponseSuccess {
    id: String,
    object: &'static str,
    deleted: bool,
}

/// The audience a path names; Resend's message still says "Audience".
async fn audience(app: &App, team_id: &str, id: &str) -> AppResult<segments::Segment> {
    super::require_uuid(id, "id")?;
    segments::find(app, team_id, id)
        .await?
        .ok_or_else(|| AppError::not_found("Audience not found"))
}

const TAG: &str = "Audiences";

#[utoipa::path(post, path = "/audiences", tag = TAG, operation_id = "audiences/create",
    request_body = CreateAudienceOptions,
    responses((status = 201, description = "OK", body = CreateAudienceResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateAudienceOptions>,
) -> AppResult<Created<CreateAudienceResponseSuccess>> {
    let input = NewSegment {
        name: body.name,
        ..NewSegment::default()
    };
    let segment = segments::create(&app, &auth.team_id, input).await?;
    Ok(created(CreateAudienceResponseSuccess {
        id: segment.id,
        object: "audience",
        name: segment.name,
    }))
}

#[utoipa::path(get, path = "/audiences", tag = TAG, operation_id = "audiences/list",
    responses((status = 200, description = "OK", body = ListAudiencesResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListAudiencesResponseSuccess>> {
    let page = Page::from_query(&query, None)?;
    let list = segments::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListAudiencesResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list
            .data
            .iter()
            .map(|s| AudienceListItem {
                id: s.id.clone(),
                name: s.name.clone(),
                created_at: resend_timestamp(s.created_at),
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/audiences/{id}", tag = TAG, operation_id = "audiences/get",
    params(("id" = String, Path, description = "The audience ID.")),
    responses((status = 200, description = "OK", body = GetAudienceResponseSuccess)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<GetAudienceResponseSuccess>> {
    let segment = audience(&app, &auth.team_id, &id).await?;
    Ok(Json(GetAudienceResponseSuccess {
        id: segment.id,
        object: "audience",
        name: segment.name,
        created_at: resend_timestamp(segment.created_at),
    }))
}

#[utoipa::path(delete, path = "/audiences/{id}", tag = TAG, operation_id = "audiences/remove",
    params(("id" = String, Path, description = "The audience ID.")),
    responses((status = 200, description = "OK", body = RemoveAudienceResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveAudienceResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    segments::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(RemoveAudienceResponseSuccess {
        id,
        object: "audience",
        deleted: true,
    }))
}

async fn create_audience_contact(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<CreateContactOptions>,
) -> AppResult<Created<CreateContactResponseSuccess>> {
    let segment = audience(&app, &auth.team_id, &id).await?;
    create_contact(&app, &auth.team_id, body, Some(segment.id)).await
}

async fn list_audience_contacts(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    Query(query): Query<ContactListQuery>,
) -> AppResult<Json<ListContactsResponseSuccess>> {
    let segment = audience(&app, &auth.team_id, &id).await?;
    list_contacts(&app, &auth.team_id, &query, Some(&segment.id)).await
}

async fn get_audience_contact(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((id, contact)): Path<(String, String)>,
) -> AppResult<Json<GetContactResponseSuccess>> {
    audience(&app, &auth.team_id, &id).await?;
    get_contact(&app, &auth.team_id, &contact).await
}

async fn update_audience_contact(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((id, contact)): Path<(String, String)>,
    LenientJson(body): LenientJson<UpdateContactOptions>,
) -> AppResult<Json<UpdateContactResponseSuccess>> {
    audience(&app, &auth.team_id, &id).await?;
    update_contact(&app, &auth.team_id, &contact, body).await
}

async fn remove_audience_contact(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path((id, contact)): Path<(String, String)>,
) -> AppResult<Json<RemoveContactResponseSuccess>> {
    audience(&app, &auth.team_id, &id).await?;
    remove_contact(&app, &auth.team_id, &contact).await
}
