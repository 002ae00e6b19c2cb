//! Resend's REST API, one module per resource. Handlers only translate HTTP to the
//! services (`auth::api_keys`, `emails`, …) and back; the dashboard calls the same services.

pub mod api_keys;
pub mod emails;
pub mod openapi;

use axum::Router;

use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(api_keys::routes())
        .merge(emails::routes())
}

/// Path ids are UUIDs; anything else is Resend's 422 `invalid_parameter`.
pub fn require_uuid(value: &str, what: &str) -> crate::error::AppResult<()> {
    uuid::Uuid::parse_str(value).map(|_| ()).map_err(|_| {
        crate::error::AppError::invalid_parameter(format!("The `{what}` must be a valid UUID."))
    })
}
