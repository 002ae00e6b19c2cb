//! `/suppressions`: list (with an origin filter), add, batch add and remove, get and remove
//! one by id or by address.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::clock::resend_timestamp;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};
use crate::suppressions::{self, MAX_BATCH, Suppression};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(add, list))
        .routes(routes!(batch_add))
        .routes(routes!(batch_remove))
        .routes(routes!(retrieve, remove))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateSuppressionRequest {
    /// The address to suppress.
    #[schema(required = true)]
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BatchAddSuppressionsRequest {
    /// 1 to 100 addresses.
    #[schema(required = true)]
    emails: Option<Vec<String>>,
}

/// Either `emails` or `ids`, not both.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct BatchRemoveSuppressionsRequest {
    emails: Option<Vec<String>>,
    ids: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListSuppressionsQuery {
    origin: Option<String>,
    #[serde(flatten)]
    page: ListQuery,
}

#[derive(Serialize, ToSchema)]
pub struct SuppressionRef {
    object: &'static str,
    id: String,
}

#[derive(Serialize, ToSchema)]
pub struct RemovedSuppression {
    object: &'static str,
    id: String,
    deleted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SuppressionView {
    id: String,
    email: String,
    /// `bounce`, `complaint` or `manual`.
    origin: String,
    /// The email that bounced or complained.
    source_id: Option<String>,
    created_at: String,
}

impl From<Suppression> for SuppressionView {
    fn from(s: Suppression) -> Self {
        SuppressionView {
            id: s.id,
            email: s.email,
            origin: s.origin,
            source_id: s.source_id,
            created_at: resend_timestamp(s.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GetSuppressionResponse {
    object: &'static str,
    #[serde(flatten)]
    suppression: SuppressionView,
}

#[derive(Serialize, ToSchema)]
pub struct ListSuppressionsResponse {
    object: &'static str,
    has_more: bool,
    data: Vec<SuppressionView>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchAddSuppressionsResponse {
    data: Vec<SuppressionRef>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchRemoveSuppressionsResponse {
    data: Vec<RemovedSuppression>,
}

fn reference(s: &Suppression) -> SuppressionRef {
    SuppressionRef {
        object: "suppression",
        id: s.id.clone(),
    }
}

/// A batch of 1 to 100 strings.
fn batch(field: &str, items: Option<Vec<String>>) -> AppResult<Vec<String>> {
    let items = items.ok_or_else(|| AppError::missing_field(field))?;
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(AppError::validation(format!(
            "The `{field}` field must hold between 1 and {MAX_BATCH} items; it has {}.",
            items.len()
        )));
    }
    Ok(items)
}

#[utoipa::path(post, path = "/suppressions", tag = "Suppressions", operation_id = "suppressions/add",
    request_body = CreateSuppressionRequest,
    responses((status = 201, description = "OK", body = SuppressionRef)))]
async fn add(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateSuppressionRequest>,
) -> AppResult<Created<SuppressionRef>> {
    let email = body
        .email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| AppError::missing_field("email"))?;
    let entry = suppressions::add(&app, &auth.team_id, &email, suppressions::MANUAL, None).await?;
    Ok(created(reference(&entry)))
}

#[utoipa::path(get, path = "/suppressions", tag = "Suppressions", operation_id = "suppressions/list",
    params(("origin" = Option<String>, Query, description = "bounce, complaint or manual"),
        ("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListSuppressionsResponse)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListSuppressionsQuery>,
) -> AppResult<Json<ListSuppressionsResponse>> {
    let page = Page::from_query(&query.page, Some(20))?;
    let origin = query.origin.as_deref().filter(|o| !o.is_empty());
    let found = suppressions::list(&app, &auth.team_id, origin, &page).await?;
    Ok(Json(ListSuppressionsResponse {
        object: "list",
        has_more: found.has_more,
        data: found.data.into_iter().map(SuppressionView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/suppressions/batch/add", tag = "Suppressions",
    operation_id = "suppressions/batch-add",
    request_body = BatchAddSuppressionsRequest,
    responses((status = 201, description = "OK", body = BatchAddSuppressionsResponse)))]
async fn batch_add(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<BatchAddSuppressionsRequest>,
) -> AppResult<Created<BatchAddSuppressionsResponse>> {
    let emails = batch("emails", body.emails)?;
    let entries =
        suppressions::add_many(&app, &auth.team_id, &emails, suppressions::MANUAL, None).await?;
    Ok(created(BatchAddSuppressionsResponse {
        data: entries.iter().map(reference).collect(),
    }))
}

#[utoipa::path(post, path = "/suppressions/batch/remove", tag = "Suppressions",
    operation_id = "suppressions/batch-remove",
    request_body = BatchRemoveSuppressionsRequest,
    responses((status = 200, description = "OK", body = BatchRemoveSuppressionsResponse)))]
async fn batch_remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<BatchRemoveSuppressionsRequest>,
) -> AppResult<Json<BatchRemoveSuppressionsResponse>> {
    let (keys, by_email) = match (body.emails, body.ids) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                "Give either `emails` or `ids`, not both.",
            ));
        }
        (Some(emails), None) => (batch("emails", Some(emails))?, true),
        (None, Some(ids)) => (batch("ids", Some(ids))?, false),
        (None, None) => {
            return Err(AppError::new(
                422,
                "missing_required_field",
                "Missing `emails` or `ids` field.",
            ));
        }
    };
    let removed = suppressions::remove_many(&app, &auth.team_id, &keys, by_email).await?;
    Ok(Json(BatchRemoveSuppressionsResponse {
        data: removed
            .into_iter()
            .map(|id| RemovedSuppression {
                object: "suppression",
                id,
                deleted: true,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/suppressions/{suppression}", tag = "Suppressions",
    operation_id = "suppressions/get",
    params(("suppression" = String, Path, description = "The suppression's id or email address.")),
    responses((status = 200, description = "OK", body = GetSuppressionResponse)))]
async fn retrieve(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(key): Path<String>,
) -> AppResult<Json<GetSuppressionResponse>> {
    let entry = suppressions::get(&app, &auth.team_id, &key).await?;
    Ok(Json(GetSuppressionResponse {
        object: "suppression",
        suppression: entry.into(),
    }))
}

#[utoipa::path(delete, path = "/suppressions/{suppression}", tag = "Suppressions",
    operation_id = "suppressions/remove",
    params(("suppression" = String, Path, description = "The suppression's id or email address.")),
    responses((status = 200, description = "OK", body = RemovedSuppression)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(key): Path<String>,
) -> AppResult<Json<RemovedSuppression>> {
    let entry = suppressions::remove(&app, &auth.team_id, &key).await?;
    Ok(Json(RemovedSuppression {
        object: "suppression",
        id: entry.id,
        deleted: true,
    }))
}
