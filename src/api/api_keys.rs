//! `/api-keys`: create (token shown once), list, update, delete.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::api_keys::{self, ApiKeyView, AuthKey, KeyInput};
use crate::error::AppResult;
use crate::http::json::LenientJson;
use crate::http::pagination::{ListQuery, Page};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api-keys", get(list).post(create))
        .route("/api-keys/{api_key_id}", patch(update).delete(remove))
}

#[derive(Debug, Default, Deserialize)]
pub struct KeyBody {
    name: Option<String>,
    permission: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::double_option")]
    domain_id: Option<Option<String>>,
}

impl From<KeyBody> for KeyInput {
    fn from(b: KeyBody) -> Self {
        KeyInput {
            name: b.name,
            permission: b.permission,
            domain_id: b.domain_id,
        }
    }
}

async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<KeyBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let (key, token) = api_keys::create(&app, &auth.team_id, body.into()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": key.id, "token": token })),
    ))
}

async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<Value>> {
    let page = Page::from_query(&query, None)?;
    let keys = api_keys::list(&app, &auth.team_id, &page).await?;
    let data: Vec<ApiKeyView> = keys.data.iter().map(ApiKeyView::from).collect();
    Ok(Json(
        json!({ "object": "list", "has_more": keys.has_more, "data": data }),
    ))
}

async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<KeyBody>,
) -> AppResult<Json<Value>> {
    super::require_uuid(&id, "api_key_id")?;
    let key = api_keys::update(&app, &auth.team_id, &id, body.into()).await?;
    Ok(Json(json!({ "object": "api_key", "id": key.id })))
}

async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    super::require_uuid(&id, "api_key_id")?;
    api_keys::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(
        json!({ "object": "api_key", "id": id, "deleted": true }),
    ))
}
