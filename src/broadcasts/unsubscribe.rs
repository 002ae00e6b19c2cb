//! Unsubscribe links. `{public base}/u/{token}`: a `GET` shows the hosted page (rendered by
//! the dashboard, `src/dashboard/`), a `POST` unsubscribes at once (RFC 8058 one-click: no
//! login, no confirmation; [`routes`]).
//!
//! A token is `base64url(fields).hex(HMAC-SHA256)` under the instance secret, as the
//! tracking links: fields are the team, the contact (by id: the URL does not show the
//! address), and the broadcast or topic the message was sent for. A forged or altered token
//! verifies to nothing: the routes answer 404 and change nothing.

use crate::app::App;
use crate::error::AppResult;

/// The path prefix of unsubscribe links.
pub const PATH: &str = "/u/";

/// Who a genuine token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub team_id: String,
    pub contact_id: String,
    /// The broadcast the message was sent for.
    pub broadcast_id: Option<String>,
    /// The topic the message was scoped to.
    pub topic_id: Option<String>,
}

/// The token of a subscriber.
pub fn token(secret: &[u8], subscriber: &Subscriber) -> String {
    let _ = (secret, subscriber);
    todo!()
}

/// The subscriber a token names, when it is genuine.
pub fn verify(secret: &[u8], token: &str) -> Option<Subscriber> {
    let _ = (secret, token);
    todo!()
}

/// The full unsubscribe URL (on the domain's tracking host when its CNAME is verified, else
/// `public_url`).
pub fn url(base: &str, secret: &[u8], subscriber: &Subscriber) -> String {
    format!("{}{PATH}{}", base.trim_end_matches('/'), token(secret, subscriber))
}

/// What the hosted page shows.
#[derive(Debug, Clone)]
pub struct Preferences {
    pub team_name: String,
    /// Unsubscribed from everything.
    pub unsubscribed: bool,
    /// The team's public topics with the contact's effective choice.
    pub topics: Vec<TopicChoice>,
    /// The topic the message was scoped to, if any.
    pub topic_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TopicChoice {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub subscribed: bool,
}

/// The page's data for a verified subscriber; 404 when the contact is gone.
pub async fn preferences(app: &App, who: &Subscriber) -> AppResult<Preferences> {
    let _ = (app, who);
    todo!()
}

/// Unsubscribes the contact from everything (fires `contact.updated`, records the history
/// entry and counts for the broadcast's performance). Doing it twice is harmless.
pub async fn unsubscribe_all(app: &App, who: &Subscriber) -> AppResult<()> {
    let _ = (app, who);
    todo!()
}

/// Sets the contact's choice for each of the given public topics (`true` = subscribed), and
/// with `resubscribe` clears the global unsubscribe.
pub async fn set_topics(
    app: &App,
    who: &Subscriber,
    choices: &[(String, bool)],
    resubscribe: bool,
) -> AppResult<()> {
    let _ = (app, who, choices, resubscribe);
    todo!()
}
