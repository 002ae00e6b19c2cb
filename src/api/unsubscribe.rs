//! `POST /u/{token}`: RFC 8058 one-click unsubscribe, outside the API gate (the token is
//! the credential; see `broadcasts::unsubscribe`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::broadcasts::error::BroadcastError;
use crate::broadcasts::unsubscribe::{unsubscribe_all, verify};
use crate::error::AppResult;
use crate::handle::App;

/// `POST /u/{token}`: RFC 8058 one-click unsubscribe (mail clients post
/// `List-Unsubscribe=One-Click`; any body is accepted). No login, no confirmation.
pub fn routes() -> Router<App> {
    Router::new().route("/u/{token}", post(one_click))
}

async fn one_click(State(app): State<App>, Path(token): Path<String>) -> AppResult<Response> {
    let who = verify(app.secret_key(), &token).ok_or(BroadcastError::LinkNotFound)?;
    unsubscribe_all(&app, &who).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "You have been unsubscribed.\n",
    )
        .into_response())
}
