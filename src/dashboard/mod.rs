//! The web dashboard: server-rendered pages for signed-in team members.

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new().route("/", get(|| async { Redirect::to("/dashboard/api-keys") }))
}
