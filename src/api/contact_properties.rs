//! `/contact-properties`: typed custom fields of contacts (create, list, get, update the
//! fallback, delete). The defaults `email`, `first_name`, `last_name`, `unsubscribed` are
//! listed too and cannot be changed.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audience::properties::{self, ContactProperty, NewProperty};
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

/// A property declaration: `key` (letters, digits and underscores, at most 50 characters;
/// case-sensitive), `type` (`string` or `number`) and `fallback_value` (used when a contact
/// has no value). Its schema in the document is written out in `openapi::RULES`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct CreateContactPropertyOptions(NewProperty);

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateContactPropertyOptions {
    /// The new fallback (`null` clears it). Key and type cannot change.
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<Object>)]
    fallback_value: Option<Option<Value>>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateContactPropertyResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateContactPropertyResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveContactPropertyResponseSuccess {
    id: String,
    object: &'static str,
    deleted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GetContactPropertyResponseSuccess {
    object: &'static str,
    id: String,
    key: String,
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = Option<Object>)]
    fallback_value: Value,
    created_at: String,
}

impl From<&ContactProperty> for GetContactPropertyResponseSuccess {
    fn from(p: &ContactProperty) -> Self {
        Self {
            object: "contact_property",
            id: p.id.clone(),
            key: p.key.clone(),
            kind: p.kind.clone(),
            fallback_value: p.fallback(),
            created_at: resend_timestamp(p.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListContactPropertiesResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<GetContactPropertyResponseSuccess>,
}

const TAG: &str = "Contact Properties";

#[utoipa::path(post, path = "/contact-properties", tag = TAG, operation_id = "contact-properties/create",
    request_body = CreateContactPropertyOptions,
    responses((status = 201, description = "OK", body = CreateContactPropertyResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateContactPropertyOptions>,
) -> AppResult<Created<CreateContactPropertyResponseSuccess>> {
    let property = properties::create(&app, &auth.team_id, body.0).await?;
    Ok(created(CreateContactPropertyResponseSuccess {
        id: property.id,
        object: "contact_property",
    }))
}

#[utoipa::path(get, path = "/contact-properties", tag = TAG, operation_id = "contact-properties/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListContactPropertiesResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListContactPropertiesResponseSuccess>> {
    let page = Page::from_query(&query, None)?;
    let list = properties::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListContactPropertiesResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list.data.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/contact-properties/{id}", tag = TAG, operation_id = "contact-properties/get",
    params(("id" = String, Path, description = "The contact property ID.")),
    responses((status = 200, description = "OK", body = GetContactPropertyResponseSuccess)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<GetContactPropertyResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    let property = properties::get_for_api(&app, &auth.team_id, &id).await?;
    Ok(Json((&property).into()))
}

#[utoipa::path(patch, path = "/contact-properties/{id}", tag = TAG, operation_id = "contact-properties/update",
    params(("id" = String, Path, description = "The contact property ID.")),
    request_body = UpdateContactPropertyOptions,
    responses((status = 200, description = "OK", body = UpdateContactPropertyResponseSuccess)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateContactPropertyOptions>,
) -> AppResult<Json<UpdateContactPropertyResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    let fallback = body.fallback_value.map(|v| v.unwrap_or(Value::Null));
    let property =
        properties::update(&app, &auth.team_id, &id, body.kind.as_deref(), fallback).await?;
    Ok(Json(UpdateContactPropertyResponseSuccess {
        id: property.id,
        object: "contact_property",
    }))
}

#[utoipa::path(delete, path = "/contact-properties/{id}", tag = TAG, operation_id = "contact-properties/remove",
    params(("id" = String, Path, description = "The contact property ID.")),
    responses((status = 200, description = "OK", body = RemoveContactPropertyResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveContactPropertyResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    properties::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(RemoveContactPropertyResponseSuccess {
        id,
        object: "contact_property",
        deleted: true,
    }))
}
