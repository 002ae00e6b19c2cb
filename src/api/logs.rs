//! `/logs`: the team's API requests, newest first, and one request with its bodies.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::api_keys::AuthKey;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::http::pagination::{ListQuery, Page};
use crate::logs::{self, LogFilter, LogSummary, LogView};

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get))
}

#[derive(Serialize, ToSchema)]
pub struct ListLogsResponse {
    object: &'static str,
    has_more: bool,
    data: Vec<LogSummary>,
}

#[utoipa::path(get, path = "/logs", tag = "Logs", operation_id = "logs/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListLogsResponse)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListLogsResponse>> {
    let page = Page::from_query(&query, Some(20))?;
    let rows = logs::list(&app, &auth.team_id, &page, &LogFilter::default()).await?;
    Ok(Json(ListLogsResponse {
        object: "list",
        has_more: rows.has_more,
        data: rows.data.iter().map(LogSummary::from).collect(),
    }))
}

#[utoipa::path(get, path = "/logs/{log_id}", tag = "Logs", operation_id = "logs/get",
    params(("log_id" = String, Path, description = "The ID of the log.")),
    responses((status = 200, description = "OK", body = LogView)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<LogView>> {
    super::require_uuid(&id, "log_id")?;
    let log = logs::get(&app, &auth.team_id, &id)
        .await?
        .ok_or_else(|| AppError::not_found("Log not found"))?;
    Ok(Json(LogView::from(&log)))
}
