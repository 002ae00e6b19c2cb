//! `/emails`: send, batch, get, list, reschedule, cancel, attachments.

use axum::Router;

use crate::app::App;

pub fn routes() -> Router<App> {
    Router::new()
}
