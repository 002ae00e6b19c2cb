//! Broadcasts: one message, personalised, to every contact of a segment.
//!
//! - [`service`]: create, list, get, update and delete drafts; send now or at a time,
//!   cancel, duplicate, send a test email. The API, the dashboard and the benchmark call
//!   these functions.
//! - [`content`]: the placeholders a broadcast may use (checked at create and update),
//!   personalisation per contact with the templates' substitution code, the text part and
//!   the hidden preheader.
//! - [`fanout`]: the durable job that turns a sent broadcast into one email per eligible
//!   contact, in keyset batches through the emails' store.
//! - [`error`]: what the service refuses (`BroadcastError`), mapped to Resend's body by
//!   `http::error`.
//! - [`stats`]: performance figures, recipients by event type, clicked links.
//! - [`compose`] (the dashboard editor's Markdown mode and its stored designs) and
//!   [`activity`] (a contact's broadcast history) belong to the dashboard's side.
//! - [`unsubscribe`]: signed unsubscribe tokens (`/u/{token}`), one-click unsubscribe
//!   (RFC 8058) and the per-topic choices of the hosted page.

pub mod activity;
pub mod compose;
pub mod content;
pub mod error;
pub mod fanout;
pub mod service;
pub mod stats;
pub mod store;
pub mod unsubscribe;

use crate::clock::Millis;

/// A broadcast's status as the API and the pages show it. Resend documents `draft` (also
/// while a send is scheduled), `queued` and `sent`; Herald adds `sending` (the fan-out or
/// delivery is under way) and `canceled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Queued,
    Sending,
    Sent,
    Canceled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Draft,
        Status::Queued,
        Status::Sending,
        Status::Sent,
        Status::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Canceled => "canceled",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Queued => "Queued",
            Status::Sending => "Sending",
            Status::Sent => "Sent",
            Status::Canceled => "Canceled",
        }
    }
}

/// A stored broadcast.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Broadcast {
    pub id: String,
    pub team_id: String,
    pub name: Option<String>,
    pub segment_id: Option<String>,
    pub topic_id: Option<String>,
    /// `Name <address>` or `address`.
    #[sqlx(rename = "from_address")]
    pub from: String,
    pub subject: String,
    /// JSON array of addresses (see [`Broadcast::reply_to_list`]).
    pub reply_to: String,
    pub preview_text: Option<String>,
    /// `None` in lists, which do not load the content.
    #[sqlx(default)]
    pub html: Option<String>,
    #[sqlx(default)]
    pub text: Option<String>,
    /// See [`Status`]; read it with [`Broadcast::status`].
    pub status: String,
    /// Set while a send is scheduled (status `draft`), and kept once it ran.
    pub scheduled_at: Option<Millis>,
    /// When the fan-out finished queueing every email.
    pub sent_at: Option<Millis>,
    /// Emails queued so far (final once `sent_at` is set).
    pub recipients: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Broadcast {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }

    /// A draft with a send scheduled.
    pub fn is_scheduled(&self) -> bool {
        self.status() == Status::Draft && self.scheduled_at.is_some()
    }

    /// Only drafts that are not scheduled can be edited or deleted.
    pub fn is_editable(&self) -> bool {
        self.status() == Status::Draft && self.scheduled_at.is_none()
    }

    pub fn reply_to_list(&self) -> Vec<String> {
        serde_json::from_str(&self.reply_to).unwrap_or_default()
    }
}
