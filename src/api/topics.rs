//! `/topics`: create, list, get, update (name, description, visibility), delete.

use super::{Created, created};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audience::topics::{self, Topic, TopicInput};
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

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateTopicOptions {
    /// At most 50 characters.
    #[schema(required = true, max_length = 50)]
    name: Option<String>,
    /// `opt_in` or `opt_out`; fixed once created.
    #[schema(required = true)]
    default_subscription: Option<String>,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    description: Option<String>,
    /// `public` or `private` (default).
    visibility: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateTopicOptions {
    name: Option<String>,
    description: Option<String>,
    visibility: Option<String>,
    /// Accepted only when unchanged (the Node SDK sends its whole object).
    default_subscription: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateTopicResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct UpdateTopicResponseSuccess {
    id: String,
    object: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct RemoveTopicResponseSuccess {
    id: String,
    object: &'static str,
    deleted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct GetTopicResponseSuccess {
    id: String,
    object: &'static str,
    name: String,
    description: Option<String>,
    default_subscription: String,
    visibility: String,
    created_at: String,
}

impl From<&Topic> for GetTopicResponseSuccess {
    fn from(t: &Topic) -> Self {
        Self {
            id: t.id.clone(),
            object: "topic",
            name: t.name.clone(),
            description: t.description.clone(),
            default_subscription: t.default_subscription.clone(),
            visibility: t.visibility.clone(),
            created_at: resend_timestamp(t.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ListTopicsResponseSuccess {
    object: &'static str,
    has_more: bool,
    data: Vec<GetTopicResponseSuccess>,
}

const TAG: &str = "Topics";

#[utoipa::path(post, path = "/topics", tag = TAG, operation_id = "topics/create",
    request_body = CreateTopicOptions,
    responses((status = 201, description = "OK", body = CreateTopicResponseSuccess)))]
async fn create(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    LenientJson(body): LenientJson<CreateTopicOptions>,
) -> AppResult<Created<CreateTopicResponseSuccess>> {
    let input = TopicInput {
        name: body.name,
        description: body.description,
        default_subscription: body.default_subscription,
        visibility: body.visibility,
    };
    let topic = topics::create(&app, &auth.team_id, input).await?;
    Ok(created(CreateTopicResponseSuccess {
        id: topic.id,
        object: "topic",
    }))
}

#[utoipa::path(get, path = "/topics", tag = TAG, operation_id = "topics/list",
    params(("limit" = Option<u32>, Query), ("after" = Option<String>, Query), ("before" = Option<String>, Query)),
    responses((status = 200, description = "OK", body = ListTopicsResponseSuccess)))]
async fn list(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<ListTopicsResponseSuccess>> {
    let page = Page::from_query(&query, None)?;
    let list = topics::list(&app, &auth.team_id, &page).await?;
    Ok(Json(ListTopicsResponseSuccess {
        object: "list",
        has_more: list.has_more,
        data: list.data.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/topics/{id}", tag = TAG, operation_id = "topics/get",
    params(("id" = String, Path, description = "The topic ID.")),
    responses((status = 200, description = "OK", body = GetTopicResponseSuccess)))]
async fn get(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<GetTopicResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    let topic = topics::get(&app, &auth.team_id, &id).await?;
    Ok(Json((&topic).into()))
}

#[utoipa::path(patch, path = "/topics/{id}", tag = TAG, operation_id = "topics/update",
    params(("id" = String, Path, description = "The topic ID.")),
    request_body = UpdateTopicOptions,
    responses((status = 200, description = "OK", body = UpdateTopicResponseSuccess)))]
async fn update(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
    LenientJson(body): LenientJson<UpdateTopicOptions>,
) -> AppResult<Json<UpdateTopicResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    let input = TopicInput {
        name: body.name,
        description: body.description,
        default_subscription: body.default_subscription,
        visibility: body.visibility,
    };
    let topic = topics::update(&app, &auth.team_id, &id, input).await?;
    Ok(Json(UpdateTopicResponseSuccess {
        id: topic.id,
        object: "topic",
    }))
}

#[utoipa::path(delete, path = "/topics/{id}", tag = TAG, operation_id = "topics/remove",
    params(("id" = String, Path, description = "The topic ID.")),
    responses((status = 200, description = "OK", body = RemoveTopicResponseSuccess)))]
async fn remove(
    State(app): State<App>,
    Extension(auth): Extension<AuthKey>,
    Path(id): Path<String>,
) -> AppResult<Json<RemoveTopicResponseSuccess>> {
    super::require_uuid(&id, "id")?;
    topics::delete(&app, &auth.team_id, &id).await?;
    Ok(Json(RemoveTopicResponseSuccess {
        id,
        object: "topic",
        deleted: true,
    }))
}
