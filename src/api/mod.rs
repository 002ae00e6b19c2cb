//! Resend's REST API, one module per resource. Handlers only translate HTTP to the
//! services (`auth::api_keys`, `emails`, …) and back; the dashboard calls the same services.
//! Routes are registered through utoipa's router, so `/openapi.json` is generated from the
//! same handler declarations that serve the requests.

pub mod api_keys;
pub mod audiences;
pub mod broadcasts;
pub mod contact_imports;
pub mod contact_properties;
pub mod contacts;
pub mod domains;
pub mod emails;
pub mod logs;
pub mod metrics;
pub mod openapi;
pub mod segments;
pub mod suppressions;
pub mod templates;
pub mod topics;
pub mod tracking;
pub mod unsubscribe;
pub mod webhooks;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::handle::App;

fn documented_routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(api_keys::routes())
        .merge(domains::routes())
        .merge(metrics::routes())
        .merge(emails::routes())
        .merge(webhooks::routes())
        .merge(contacts::routes())
        .merge(contact_imports::routes())
        .merge(contact_properties::routes())
        .merge(segments::routes())
        .merge(topics::routes())
        .merge(audiences::routes())
        .merge(suppressions::routes())
        .merge(templates::routes())
        .merge(logs::routes())
        .merge(broadcasts::routes())
}

/// The API routes and the OpenAPI document describing them.
pub fn routes_and_spec() -> (Router<App>, utoipa::openapi::OpenApi) {
    let (router, spec) = documented_routes().split_for_parts();
    let router = router
        .merge(segments::legacy_routes())
        .merge(audiences::legacy_routes());
    (router, spec)
}

/// A `201 Created` answer with its JSON body.
pub type Created<T> = (axum::http::StatusCode, axum::Json<T>);

pub fn created<T>(body: T) -> Created<T> {
    (axum::http::StatusCode::CREATED, axum::Json(body))
}

/// Path ids are UUIDs; anything else is Resend's 422 `invalid_parameter`.
pub fn require_uuid(value: &str, what: &str) -> crate::error::AppResult<()> {
    uuid::Uuid::parse_str(value).map(|_| ()).map_err(|_| {
        crate::error::AppError::invalid_parameter(format!("The `{what}` must be a valid UUID."))
    })
}
