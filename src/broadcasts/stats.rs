//! Performance of a broadcast, from the events of its emails: totals, opens and clicks over
//! time, clicked links, and the recipients behind each figure.

use crate::app::App;
use crate::clock::Millis;
use crate::error::AppResult;
use crate::http::pagination::{ListQuery, ListResponse};

/// The performance page's figures. Opens and clicks are counted once per recipient
/// (`unique_*`) and in total.
#[derive(Debug, Clone, Default)]
pub struct Performance {
    /// Emails queued for the broadcast.
    pub recipients: i64,
    pub delivered: i64,
    pub bounced: i64,
    pub complained: i64,
    pub suppressed: i64,
    /// Contacts who unsubscribed through this broadcast's link.
    pub unsubscribed: i64,
    pub unique_opens: i64,
    pub unique_clicks: i64,
    pub opens: i64,
    pub clicks: i64,
    /// Most clicked first.
    pub links: Vec<ClickedLink>,
    /// Opens and clicks per time bucket, oldest first (hourly for the first two days after
    /// the send, then daily).
    pub timeline: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickedLink {
    pub url: String,
    pub clicks: i64,
    pub unique_clicks: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub start: Millis,
    pub opens: i64,
    pub clicks: i64,
}

pub async fn performance(app: &App, team_id: &str, id: &str) -> AppResult<Performance> {
    let _ = (app, team_id, id);
    todo!()
}

/// The event types `GET /broadcasts/{id}/recipients` filters by.
pub const RECIPIENT_TYPES: &[&str] = &[
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "unsubscribed",
    "suppressed",
];

#[derive(Debug, Clone, Default)]
pub struct RecipientFilter {
    /// One of [`RECIPIENT_TYPES`] (required).
    pub kind: Option<String>,
    pub email: Option<String>,
    /// permanent, transient or undetermined; only with `bounced`.
    pub bounce_type: Option<String>,
}

/// A recipient for an event type. `id` is an opaque cursor (base64 of `offset:N`, as
/// Resend's).
#[derive(Debug, Clone)]
pub struct Recipient {
    pub id: String,
    pub contact_id: Option<String>,
    pub email: String,
    /// How often (opened, clicked).
    pub count: Option<i64>,
    pub bounce_type: Option<String>,
    pub clicked_links: Option<Vec<(String, i64)>>,
}

pub async fn recipients(
    app: &App,
    team_id: &str,
    id: &str,
    filter: &RecipientFilter,
    query: &ListQuery,
) -> AppResult<ListResponse<Recipient>> {
    let _ = (app, team_id, id, filter, query);
    todo!()
}

/// Clicked links with opaque cursor ids, most clicked first.
pub async fn clicked_links(
    app: &App,
    team_id: &str,
    id: &str,
    query: &ListQuery,
) -> AppResult<ListResponse<(String, ClickedLink)>> {
    let _ = (app, team_id, id, query);
    todo!()
}
