//! `GET /metrics` for Prometheus, and the timing of every routed request. Off (404, as an
//! unknown route) unless `metrics_token` is set; then the scraper must send it as a bearer
//! token (401 without one, 403 with another), compared in constant time.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::handle::App;

pub const PATH: &str = "/metrics";

/// Times a routed request under its route template (a `route_layer`, so the template is
/// known; requests no route matched, answered by the fallback, are not timed).
pub async fn time_routed(State(app): State<App>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(req).await;
    let route = route.as_deref().unwrap_or("unmatched");
    app.telemetry().http_request(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn serve(State(app): State<App>, headers: HeaderMap) -> Result<Response, AppError> {
    let token = app.settings().metrics_token.trim();
    if token.is_empty() {
        return Err(super::error::not_found().await);
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let Some(given) = given else {
        return Err(AppError::new(
            401,
            "missing_api_key",
            "Missing metrics token in the authorization header: send Authorization: Bearer \
             <metrics_token>.",
        ));
    };
    if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        return Err(AppError::new(
            403,
            "invalid_api_key",
            "Metrics token is invalid",
        ));
    }
    let text = app.telemetry().render(&app).await.map_err(|err| {
        tracing::error!(error = %err, "rendering /metrics");
        AppError::internal("An unexpected error occurred.")
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, crate::telemetry::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}
