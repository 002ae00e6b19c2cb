//! Unsubscribe links. `{public base}/u/{token}`: a `GET` shows the hosted page (rendered by
//! the dashboard, `src/dashboard/`), a `POST` unsubscribes at once (RFC 8058 one-click: no
//! login, no confirmation; [`routes`]).
//!
//! A token is `base64url(fields).hex(HMAC-SHA256)` under the instance secret, as the
//! tracking links: fields are the team, the contact (by id: the URL does not show the
//! address), and the broadcast or topic the message was sent for. A forged or altered token
//! verifies to nothing: the routes answer 404 and change nothing.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::App;
use crate::audience::{contacts, topics};
use crate::auth::tokens::{keyed_hash, same};
use crate::error::{AppError, AppResult};
use crate::on_db;

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

/// Hex characters of the signature kept in a token (128 bits).
const SIGNATURE_HEX: usize = 32;

fn signature(secret: &[u8], fields: &str) -> String {
    let mut full = keyed_hash(secret, &format!("unsubscribe:v1:{fields}"));
    full.truncate(SIGNATURE_HEX);
    full
}

/// Ids as 16 bytes each (all zero when absent): team, contact, broadcast, topic.
fn pack(s: &Subscriber) -> Option<Vec<u8>> {
    let id = |v: Option<&str>| -> Option<[u8; 16]> {
        match v {
            None => Some([0; 16]),
            Some(v) => uuid::Uuid::parse_str(v).ok().map(|u| *u.as_bytes()),
        }
    };
    let mut out = Vec::with_capacity(64);
    out.extend(id(Some(&s.team_id))?);
    out.extend(id(Some(&s.contact_id))?);
    out.extend(id(s.broadcast_id.as_deref())?);
    out.extend(id(s.topic_id.as_deref())?);
    Some(out)
}

/// The token of a subscriber (ids are UUIDs; anything else gives a token that never
/// verifies).
pub fn token(secret: &[u8], subscriber: &Subscriber) -> String {
    let fields = URL_SAFE_NO_PAD.encode(pack(subscriber).unwrap_or_default());
    let sig = signature(secret, &fields);
    format!("{fields}.{sig}")
}

/// The subscriber a token names, when it is genuine.
pub fn verify(secret: &[u8], token: &str) -> Option<Subscriber> {
    let (fields, sig) = token.split_once('.')?;
    if !same(&signature(secret, fields), sig) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(fields).ok()?;
    if bytes.len() != 64 {
        return None;
    }
    let id = |i: usize| -> Option<String> {
        let raw: [u8; 16] = bytes[i * 16..(i + 1) * 16].try_into().ok()?;
        (raw != [0; 16]).then(|| uuid::Uuid::from_bytes(raw).to_string())
    };
    Some(Subscriber {
        team_id: id(0)?,
        contact_id: id(1)?,
        broadcast_id: id(2),
        topic_id: id(3),
    })
}

/// The full unsubscribe URL under `base` (the domain's tracking host when its CNAME is
/// verified, else `public_url`).
pub fn url(base: &str, secret: &[u8], subscriber: &Subscriber) -> String {
    format!(
        "{}{PATH}{}",
        base.trim_end_matches('/'),
        token(secret, subscriber)
    )
}

/// The headers of a message with an unsubscribe link (RFC 2369 and RFC 8058), as the
/// emails' custom headers JSON items.
pub fn headers(url: &str) -> [(&'static str, String); 2] {
    [
        ("List-Unsubscribe", format!("<{url}>")),
        (
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_string(),
        ),
    ]
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

fn gone() -> AppError {
    AppError::not_found("Link not found.")
}

async fn contact(app: &App, who: &Subscriber) -> AppResult<contacts::Contact> {
    let found = contacts::find(app, &who.team_id, &who.contact_id).await?;
    found.filter(|c| c.id == who.contact_id).ok_or_else(gone)
}

/// The page's data for a verified subscriber; 404 when the contact is gone.
pub async fn preferences(app: &App, who: &Subscriber) -> AppResult<Preferences> {
    let c = contact(app, who).await?;
    let team_name: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT name FROM teams WHERE id = $1"
    )
    .bind(&who.team_id)
    .fetch_optional(pool)
    .await)?;
    let explicit = topics::explicit_of_contact(app, &c.id).await?;
    let topics = topics::all(app, &who.team_id)
        .await?
        .into_iter()
        .filter(|t| t.visibility == "public" || who.topic_id.as_deref() == Some(t.id.as_str()))
        .map(|t| {
            let choice = explicit
                .iter()
                .find(|(id, _)| *id == t.id)
                .map(|(_, s)| s.as_str())
                .unwrap_or(t.default_subscription.as_str());
            TopicChoice {
                subscribed: choice == topics::OPT_IN,
                id: t.id,
                name: t.name,
                description: t.description,
            }
        })
        .collect();
    Ok(Preferences {
        team_name: team_name.unwrap_or_default(),
        unsubscribed: c.unsubscribed,
        topics,
        topic_id: who.topic_id.clone(),
    })
}

/// Unsubscribes the contact from everything (fires `contact.updated`, records the history
/// entry and counts for the broadcast's performance). Doing it twice is harmless.
pub async fn unsubscribe_all(app: &App, who: &Subscriber) -> AppResult<()> {
    let c = contact(app, who).await?;
    if !c.unsubscribed {
        let input = contacts::ContactInput {
            unsubscribed: Some(true),
            ..Default::default()
        };
        contacts::update(app, &who.team_id, &c.id, input).await?;
    }
    if let Some(broadcast_id) = &who.broadcast_id {
        let now = app.now_ms();
        on_db!(app.db(), |pool| sqlx::query(
            "INSERT INTO broadcast_unsubscribes (broadcast_id, contact_id, created_at) \
             SELECT id, $2, $3 FROM broadcasts WHERE id = $1 \
             ON CONFLICT (broadcast_id, contact_id) DO NOTHING"
        )
        .bind(broadcast_id)
        .bind(&c.id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Sets the contact's choice for each of the given topics the page shows (`true` =
/// subscribed), and with `resubscribe` clears the global unsubscribe.
pub async fn set_topics(
    app: &App,
    who: &Subscriber,
    choices: &[(String, bool)],
    resubscribe: bool,
) -> AppResult<()> {
    let c = contact(app, who).await?;
    let shown = preferences(app, who).await?.topics;
    let choices: Vec<topics::Choice> = choices
        .iter()
        .filter(|(id, _)| shown.iter().any(|t| &t.id == id))
        .map(|(id, on)| topics::Choice {
            id: Some(id.clone()),
            subscription: Some(if *on { topics::OPT_IN } else { topics::OPT_OUT }.to_string()),
        })
        .collect();
    topics::set_for_contact(app, &who.team_id, &c.id, &choices).await?;
    if resubscribe && c.unsubscribed {
        let input = contacts::ContactInput {
            unsubscribed: Some(false),
            ..Default::default()
        };
        contacts::update(app, &who.team_id, &c.id, input).await?;
    }
    Ok(())
}

/// `POST /u/{token}`: RFC 8058 one-click unsubscribe (mail clients post
/// `List-Unsubscribe=One-Click`; any body is accepted). No login, no confirmation.
pub fn routes() -> Router<App> {
    Router::new().route("/u/{token}", post(one_click))
}

async fn one_click(State(app): State<App>, Path(token): Path<String>) -> AppResult<Response> {
    let who = verify(app.secret_key(), &token).ok_or_else(gone)?;
    unsubscribe_all(&app, &who).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "You have been unsubscribed.\n",
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let who = Subscriber {
            team_id: "0190a0a0-0000-7000-8000-000000000001".into(),
            contact_id: "0190a0a0-0000-7000-8000-000000000002".into(),
            broadcast_id: Some("0190a0a0-0000-7000-8000-000000000003".into()),
            topic_id: None,
        };
        let t = token(b"k", &who);
        assert_eq!(verify(b"k", &t), Some(who.clone()));
        assert!(verify(b"other", &t).is_none());
        assert!(!t.contains("0190a0a0"));
        let mut altered = t.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        assert!(verify(b"k", &String::from_utf8(altered).unwrap()).is_none());
        assert!(verify(b"k", "nonsense").is_none());
        assert!(url("https://h.test/", b"k", &who).starts_with("https://h.test/u/"));
    }
}
