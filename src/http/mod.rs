//! The HTTP server: Resend's API at the root, the dashboard under `/dashboard`, and
//! `/openapi.json`. Every API response is JSON, unknown routes and wrong methods included.

pub mod error;
pub mod gate;
pub mod json;
pub mod pagination;
pub mod rate_limit;
pub mod request_log;

use axum::Router;
use axum::extract::Request;
use axum::http::Uri;
use tower_http::catch_panic::CatchPanicLayer;

use crate::app::App;

/// Largest request body accepted: Resend's 40 MB email limit plus JSON overhead.
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

pub fn router(app: App) -> Router {
    let (api, _) = crate::api::routes_and_spec();
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        app.clone(),
        gate::api_gate,
    ));
    Router::new()
        .merge(api)
        .merge(crate::api::emails::public_routes())
        .merge(crate::tracking::routes::public_routes())
        .merge(crate::broadcasts::unsubscribe::routes())
        .merge(crate::dashboard::routes())
        .route(
            "/openapi.json",
            axum::routing::get(crate::api::openapi::serve),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(crate::error::AppError::internal(
                "An unexpected error occurred.",
            ))
        }))
        .with_state(app)
}

/// The Node SDK joins its base URL and path without normalising, so `http://host/` becomes
/// `//emails`; collapse repeated slashes before routing.
pub fn collapse_slashes(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.contains("//") {
        let mut collapsed = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && collapsed.ends_with('/')) {
                collapsed.push(c);
            }
        }
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{collapsed}?{q}"),
            None => collapsed,
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}
