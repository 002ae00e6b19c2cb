//! The HTTP server: Resend's API at the root, the dashboard under `/dashboard`, and
//! `/openapi.json`. Every API response is JSON, unknown routes and wrong methods included.

pub mod error;
pub mod gate;
pub mod guard;
pub mod json;
pub mod listener;
pub mod pagination;
pub mod prometheus;
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
        .merge(crate::api::tracking::public_routes())
        .merge(crate::api::unsubscribe::routes())
        .merge(crate::dashboard::routes())
        .route(
            "/openapi.json",
            axum::routing::get(crate::api::openapi::serve),
        )
        .route(prometheus::PATH, axum::routing::get(prometheus::serve))
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            prometheus::time_routed,
        ))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::guard,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(crate::error::AppError::internal(
                "An unexpected error occurred.",
            ))
        }))
        .with_state(app)
}

/// Normalises the path before routing: repeated slashes are collapsed (the Node SDK joins
/// its base URL and path without normalising, so `http://host/` gives `//emails`) and a
/// trailing slash is dropped (the Rust SDK lists a contact's segments at
/// `/contacts/{id}/segments/`), so every route answers with or without one.
pub fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        let mut normalized = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && normalized.ends_with('/')) {
                normalized.push(c);
            }
        }
        if normalized.len() > 1 && normalized.ends_with('/') {
            normalized.pop();
        }
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{normalized}?{q}"),
            None => normalized,
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(uri: &str) -> String {
        let req = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        normalize_path(req).uri().to_string()
    }

    #[test]
    fn paths_are_normalized() {
        for (given, expected) in [
            ("/", "/"),
            ("//", "/"),
            ("/emails", "/emails"),
            ("//emails", "/emails"),
            ("/emails/", "/emails"),
            ("//emails//", "/emails"),
            (
                "/contacts/a%40b.c/segments/?limit=2",
                "/contacts/a%40b.c/segments?limit=2",
            ),
            ("/a//b/?x=1//", "/a/b?x=1//"),
        ] {
            assert_eq!(normalized(given), expected, "{given}");
        }
    }
}
