//! `/templates`: create, list, get, update, delete, publish, duplicate. `{id}` is the
//! template's id or its alias. Content edits after a publish go to a draft version until the
//! next publish (see `templates::service`).

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::AppResult;
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};
use crate::templates::service::{self, Summary, Template, TemplateInput};
use crate::templates::variables::{Variable, VariableInput};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, remove))
        .routes(routes!(publish))
        .routes(routes!(duplicate))
}

/// A variable declaration: `key` (ASCII letters, digits and `_`, at most 50 characters;
/// case-sensitive; FIRST_NAME, LAST_NAME, EMAIL, UNSUBSCRIBE_URL, RESEND_UNSUBSCRIBE_URL,
/// contact and this are reserved), `type` (`string`, `number`, `boolean`, `object` or
/// `list`) and `fallback_value` (used when a send gives none; required for object and list).
/// Its schema in the document is written out in `openapi::RULES`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct TemplateVariableInput(VariableInput);

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateTemplateRequest {
    #[schema(required = true)]
    name: Option<String>,
    /// Unique per team; letters, digits, `-`, `_`, `.`. Usable wherever the id is.
    alias: Option<String>,
    /// Default sender when a send gives none.
    from: Option<String>,
    /// Default subject; may use variables.
    subject: Option<String>,
    /// A string or an array of strings.
    #[schema(value_type = Option<Vec<String>>)]
    reply_to: Option<Value>,
    /// May use `{{{VAR}}}` and `{{{VAR|fallback}}}`.
    #[schema(required = true)]
    html: Option<String>,
    text: Option<String>,
    variables: Option<Vec<TemplateVariableInput>>,
}

/// Every field is optional; `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateTemplateOptions {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    alias: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    from: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    reply_to: Option<Option<Value>>,
    html: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<String>)]
    text: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    #[schema(value_type = Option<Vec<TemplateVariableInput>>)]
    variables: Option<Option<Vec<TemplateVariableInput>>>,
}

fn convert(variables: Vec<TemplateVariableInput>) -> Vec<VariableInput> {
    variables.into_iter().map(|v| v.0).collect()
}

/// `{id, object}`, the answer of create, update, publish and duplicate.
#[derive(Serialize, ToSchema)]
pub struct CreateTemplateResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(as = UpdateTemplateResponseSuccess)]
pub struct UpdateTemplateResponse {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(as = PublishTemplateResponseSuccess)]
pub struct PublishTemplateResponse {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
#[schema(as = DuplicateTemplateResponseSuccess)]
pub struct DuplicateTemplateResponse {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveTemplateResponseSuccess {
    object: &'static str,
    id: String,
    deleted: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = TemplateVariable)]
pub struct VariableView {
    id: String,
    key: String,
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = Option<Object>)]
    fallback_value: Option<Value>,
    created_at: String,
    updated_at: String,
}

impl From<&Variable> for VariableView {
    fn from(v: &Variable) -> Self {
        Self {
            id: v.id.clone(),
            key: v.key.clone(),
            kind: v.kind.clone(),
            fallback_value: v.fallback_value.clone(),
            created_at: resend_timestamp(v.created_at),
            updated_at: resend_timestamp(v.updated_at),
        }
    }
}

/// A template with its current (possibly unpublished) content.
#[derive(Serialize, ToSchema)]
#[schema(as = Template)]
pub struct TemplateView {
    object: &'static str,
    id: String,
    current_version_id: String,
    name: String,
    alias: Option<String>,
    from: Option<String>,
    subject: Option<String>,
    reply_to: Option<Vec<String>>,
    html: String,
    text: Option<String>,
    variables: Vec<VariableView>,
    created_at: String,
    updated_at: String,
    /// `draft` until first published, then `published`.
    status: String,
    published_at: Option<String>,
    /// Whether the current content differs from what sends use.
    has_unpublished_versions: bool,
}

impl From<&Template> for TemplateView {
    fn from(t: &Template) -> Self {
        let c = &t.content;
        Self {
            object: "template",
            id: t.id.clone(),
            current_version_id: t.current_version_id.clone(),
            name: t.name.clone(),
            alias: t.alias.clone(),
            from: c.from.clone(),
            subject: c.subject.clone(),
            reply_to: (!c.reply_to.is_empty()).then(|| c.reply_to.clone()),
            html: c.html.clone(),
            text: c.text.clone(),
            variables: c.variables.iter().map(Into::into).collect(),
            created_at: resend_timestamp(t.created_at),
            updated_at: resend_timestamp(t.updated_at),
            status: t.status.clone(),
            published_at: t.published_at.map(resend_timestamp),
            has_unpublished_versions: t.has_unpublished_versions(),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = TemplateListItem)]
pub struct TemplateListItemView {
    id: String,
    name: String,
    status: String,
    published_at: Option<String>,
    created_at: String,
    updated_at: String,
    alias: Option<String>,
}

impl From<&Summary> for TemplateListItemView {
    fn from(s: &Summary) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            status: s.status.clone(),
            published_at: s.published_at.map(resend_timestamp),
            created_at: resend_timestamp(s.created_at),
            updated_at: resend_timestamp(s.updated_at),
            alias: s.alias.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListTemplatesResponseSuccess {
    object: &'static str,
    data: Vec<TemplateListItemView>,
    has_more: bool,
}

const TAG: &str = "Templates";
/// Lists are paginated (20 by default), like Resend's newer endpoints.
const DEFAULT_LIMIT: i64 = 20;

#[utoipa::path(post, path = "/templates", tag = TAG, operation_id = "templates/create",
    request_body = CreateTemplateRequest,
    responses((status = 201, description = "OK", body = CreateTemplateResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateTemplateRequest>,
) -> AppResult<Created<CreateTemplateResponseSuccess>> {
    let input = TemplateInput {
        name: body.name,
        alias: Some(body.alias),
        from: Some(body.from),
        subject: Some(body.subject),
        reply_to: Some(body.reply_to),
        html: body.html,
        text: Some(body.text),
        variables: Some(body.variables.map(convert)),
    };
    let template = service::create(&app, &auth.team_id, input).await?;
    Ok(created(CreateTemplateResponseSuccess {
        id: template.id,
        object: "template",
    }))
}

#[utoipa::path(get, path = "/templates", tag = TAG, operation_id = "templates/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListTemplatesResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListTemplatesResponseSuccess>> {
    let page = Page::from_query(&query, Some(DEFAULT_LIMIT))?;
    let list = service::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListTemplatesResponseSuccess {
        object: "list",
        data: list.data.iter().map(Into::into).collect(),
        has_more: list.has_more,
    }))
}

#[utoipa::path(get, path = "/templates/{id}", tag = TAG, operation_id = "templates/get",
    params(("id" = String, Path, description = "The template ID or alias.")),
    responses((status = 200, description = "OK", body = TemplateView)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<TemplateView>> {
    let template = service::get(&app, &auth.team_id, &id).await?;
    Ok(Json((&template).into()))
}

#[utoipa::path(patch, path = "/templates/{id}", tag = TAG, operation_id = "templates/update",
    params(("id" = String, Path, description = "The template ID or alias.")),
    request_body = UpdateTemplateOptions,
    responses((status = 200, description = "OK", body = UpdateTemplateResponse)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateTemplateOptions>,
) -> AppResult<Json<UpdateTemplateResponse>> {
    let input = TemplateInput {
        name: body.name,
        alias: body.alias,
        from: body.from,
        subject: body.subject,
        reply_to: body.reply_to,
        html: body.html,
        text: body.text,
        variables: body.variables.map(|v| v.map(convert)),
    };
    let template = service::update(&app, &auth.team_id, &id, input).await?;
    Ok(Json(UpdateTemplateResponse {
        id: template.id,
        object: "template",
    }))
}

#[utoipa::path(delete, path = "/templates/{id}", tag = TAG, operation_id = "templates/remove",
    params(("id" = String, Path, description = "The template ID or alias.")),
    responses((status = 200, description = "OK", body = RemoveTemplateResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveTemplateResponseSuccess>> {
    let id = service::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(RemoveTemplateResponseSuccess {
        object: "template",
        id,
        deleted: true,
    }))
}

#[utoipa::path(post, path = "/templates/{id}/publish", tag = TAG, operation_id = "templates/publish",
    params(("id" = String, Path, description = "The template ID or alias.")),
    responses((status = 200, description = "OK", body = PublishTemplateResponse)))]
async fn publish(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<PublishTemplateResponse>> {
    let template = service::publish(&app, &auth.team_id, &id).await?;
    Ok(Json(PublishTemplateResponse {
        id: template.id,
        object: "template",
    }))
}

#[utoipa::path(post, path = "/templates/{id}/duplicate", tag = TAG, operation_id = "templates/duplicate",
    params(("id" = String, Path, description = "The template ID or alias.")),
    responses((status = 200, description = "OK", body = DuplicateTemplateResponse)))]
async fn duplicate(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<DuplicateTemplateResponse>> {
    let template = service::duplicate(&app, &auth.team_id, &id).await?;
    Ok(Json(DuplicateTemplateResponse {
        id: template.id,
        object: "template",
    }))
}
