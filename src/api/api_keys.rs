//! `/api-keys`: create (token shown once), list, update, delete.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::{self, ApiKeyView, AuthKey, KeyInput};
use crate::error::AppResult;
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, ListResponse, Page};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(update, remove))
}

/// Body of `POST /api-keys`. Fields are optional in Rust so a missing one gets Resend's
/// `missing_required_field` error rather than a generic parse error.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// The key's name, at most 50 characters.
    #[schema(required = true, max_length = 50)]
    name: Option<String>,
    /// `full_access` (default) or `sending_access`.
    #[schema(example = "full_access")]
    permission: Option<String>,
    /// Restricts a `sending_access` key to one domain.
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    domain_id: Option<Option<String>>,
}

/// Body of `PATCH /api-keys/{id}`. Herald also lets `permission` and `domain_id` change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateApiKeyRequest {
    name: Option<String>,
    permission: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    domain_id: Option<Option<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateApiKeyResponse {
    id: String,
    /// The secret token; it is never shown again.
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateApiKeyResponse {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeleteApiKeyResponse {
    object: &'static str,
    id: String,
    deleted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ListApiKeysResponse {
    object: &'static str,
    has_more: bool,
    data: Vec<ApiKeyView>,
}

#[utoipa::path(post, path = "/api-keys", tag = "API Keys", operation_id = "api-keys/create",
    request_body = CreateApiKeyRequest,
    responses((status = 201, description = "OK", body = CreateApiKeyResponse)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateApiKeyRequest>,
) -> AppResult<Created<CreateApiKeyResponse>> {
    let input = KeyInput {
        name: body.name,
        permission: body.permission,
        domain_id: body.domain_id,
    };
    let (key, token) = api_keys::create(&app, &auth.team_id, input).await?;
    Ok(created(CreateApiKeyResponse { id: key.id, token }))
}

#[utoipa::path(get, path = "/api-keys", tag = "API Keys", operation_id = "api-keys/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListApiKeysResponse)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListResponse<ApiKeyView>>> {
    let page = Page::from_query(&query, None)?;
    let keys = api_keys::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListResponse {
        object: "list",
        has_more: keys.has_more,
        data: keys.data.iter().map(ApiKeyView::from).collect(),
    }))
}

#[utoipa::path(patch, path = "/api-keys/{api_key_id}", tag = "API Keys", operation_id = "api-keys/update",
    params(("api_key_id" = String, Path, description = "The API key ID.")),
    request_body = UpdateApiKeyRequest,
    responses((status = 200, description = "OK", body = UpdateApiKeyResponse)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateApiKeyRequest>,
) -> AppResult<Json<UpdateApiKeyResponse>> {
    super::require_uuid(&id, "api_key_id")?;
    let input = KeyInput {
        name: body.name,
        permission: body.permission,
        domain_id: body.domain_id,
    };
    let key = api_keys::update(&app, &auth.team_id, &id, input).await?;
    Ok(Json(UpdateApiKeyResponse {
        object: "api_key",
        id: key.id,
    }))
}

#[utoipa::path(delete, path = "/api-keys/{api_key_id}", tag = "API Keys", operation_id = "api-keys/remove",
    params(("api_key_id" = String, Path, description = "The API key ID.")),
    responses((status = 200, description = "OK", body = DeleteApiKeyResponse)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<DeleteApiKeyResponse>> {
    super::require_uuid(&id, "api_key_id")?;
    api_keys::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(DeleteApiKeyResponse {
        object: "api_key",
        id,
        deleted: true,
    }))
}
