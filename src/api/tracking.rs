//! The public tracking routes (no API key: mail clients call them; see `tracking`). A token
//! that does not verify, or names an email that no longer exists, is a plain 404 and
//! records nothing.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::clock::iso_timestamp;
use crate::emails::events;
use crate::error::{AppError, AppResult};
use crate::handle::App;
use crate::tracking;

/// A 1x1 transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

pub fn public_routes() -> Router<App> {
    Router::new()
        .route("/t/open/{token}", get(open))
        .route("/t/click/{token}", get(click))
}

fn not_found() -> AppError {
    AppError::new(404, "not_found", "Link not found.")
}

/// Who followed the link: the peer address and the User-Agent header.
fn visitor(req: &Request) -> (Option<String>, Option<String>) {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (ip, agent)
}

async fn open(
    State(app): State<App>,
    Path(token): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let target = tracking::verify_open(app.secret_key(), &token).ok_or_else(not_found)?;
    let (ip, agent) = visitor(&req);
    let now = app.now_ms();
    let data = json!({"open": {
        "timestamp": iso_timestamp(now),
        "ipAddress": ip,
        "userAgent": agent,
    }});
    if !tracking::record(&app, &target, events::OPENED, data).await? {
        return Err(not_found());
    }
    Response::builder()
        .header(header::CONTENT_TYPE, "image/gif")
        .header(
            header::CACHE_CONTROL,
            "no-store, no-cache, must-revalidate, max-age=0",
        )
        .header(header::PRAGMA, "no-cache")
        .header(header::EXPIRES, "0")
        .body(Body::from(PIXEL))
        .map_err(|e| AppError::internal(e.to_string()))
}

async fn click(
    State(app): State<App>,
    Path(token): Path<String>,
    req: Request,
) -> AppResult<Response> {
    let target = tracking::verify_click(app.secret_key(), &token).ok_or_else(not_found)?;
    let link = target.link.clone().unwrap_or_default();
    let location = HeaderValue::from_str(&link).map_err(|_| not_found())?;
    let (ip, agent) = visitor(&req);
    let now = app.now_ms();
    let data = json!({"click": {
        "link": link,
        "timestamp": iso_timestamp(now),
        "ipAddress": ip,
        "userAgent": agent,
    }});
    if !tracking::record(&app, &target, events::CLICKED, data).await? {
        return Err(not_found());
    }
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::empty())
        .map_err(|e| AppError::internal(e.to_string()))
}
