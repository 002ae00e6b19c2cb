//! The broadcasts service. Every write validates all of its input first, then commits in
//! one transaction, so a refused request stores nothing.

use serde_json::Value;

use super::{Broadcast, Status};
use crate::app::App;
use crate::error::AppResult;
use crate::http::pagination::{ListResponse, Page};

/// What a create or update may carry. `None` leaves a field alone (create: absent);
/// `Some(None)` clears an optional one.
#[derive(Debug, Default, Clone)]
pub struct BroadcastInput {
    pub name: Option<Option<String>>,
    /// `segment_id`, or the deprecated `audience_id` (same ids).
    pub segment_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// A string or an array of strings; `null` clears.
    pub reply_to: Option<Value>,
    pub preview_text: Option<Option<String>>,
    pub html: Option<Option<String>>,
    pub text: Option<Option<String>>,
    pub topic_id: Option<Option<String>>,
}

/// List filters (the dashboard's status filter; the API lists everything).
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub status: Option<Status>,
}

/// When to send: now, or at a time written in ISO 8601 or in words ("in 1 hour"), as the
/// emails' `scheduled_at` (at most 30 days ahead, not in the past).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    Now,
    At(String),
}

/// `POST /broadcasts`. With `send`, the broadcast is sent (or scheduled) in the same
/// transaction; nothing is stored when any check fails.
pub async fn create(
    app: &App,
    team_id: &str,
    input: BroadcastInput,
    send: Option<When>,
) -> AppResult<Broadcast> {
    let _ = (app, team_id, input, send);
    todo!()
}

/// The team's broadcasts, newest first (keyset pages on `(created_at, id)`).
pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    filter: &ListFilter,
) -> AppResult<ListResponse<Broadcast>> {
    let _ = (app, team_id, page, filter);
    todo!()
}

/// One broadcast with its content; 404 `not_found` for another team's or an unknown id.
pub async fn get(app: &App, team_id: &str, id: &str) -> AppResult<Broadcast> {
    let _ = (app, team_id, id);
    todo!()
}

/// Changes a draft (not a scheduled one); anything else is a 422 saying why.
pub async fn update(
    app: &App,
    team_id: &str,
    id: &str,
    input: BroadcastInput,
) -> AppResult<Broadcast> {
    let _ = (app, team_id, id, input);
    todo!()
}

/// Deletes a draft (a scheduled one too: its send is dropped); others are a 422.
pub async fn delete(app: &App, team_id: &str, id: &str) -> AppResult<()> {
    let _ = (app, team_id, id);
    todo!()
}

/// `POST /broadcasts/{id}/send`: checks the sender domain, the segment (exists, not
/// empty), the topic and the placeholders, then queues the fan-out now or at the time.
pub async fn send(app: &App, team_id: &str, id: &str, when: When) -> AppResult<Broadcast> {
    let _ = (app, team_id, id, when);
    todo!()
}

/// `POST /broadcasts/{id}/cancel`: a scheduled broadcast does not go out; a queued or
/// sending one stops (emails already queued still go). A sent one is a 422.
pub async fn cancel(app: &App, team_id: &str, id: &str) -> AppResult<Broadcast> {
    let _ = (app, team_id, id);
    todo!()
}

/// A new draft with the same content, named "… (copy)".
pub async fn duplicate(app: &App, team_id: &str, id: &str) -> AppResult<Broadcast> {
    let _ = (app, team_id, id);
    todo!()
}

/// Sends the broadcast's content once to `to` (the dashboard's "Test email"), personalised
/// as for the contact with that address if there is one (else with fallbacks), without
/// the custom Reply-To. Returns the email id.
pub async fn send_test(app: &App, team_id: &str, id: &str, to: &str) -> AppResult<String> {
    let _ = (app, team_id, id, to);
    todo!()
}
