//! Unsubscribe links. `{public base}/u/{token}`: a `GET` shows the hosted page (rendered by
//! the dashboard, `src/dashboard/`), a `POST` unsubscribes at once (RFC 8058 one-click: no
//! login, no confirmation; `api::unsubscribe`).
//!
//! A token is `base64url(fields).hex(HMAC-SHA256)` under the instance secret, as the
//! tracking links: fields are the team, the contact (by id: the URL does not show the
//! address), and the broadcast or topic the message was sent for. A forged or altered token
//! verifies to nothing: the routes answer 404 and change nothing.

use super::error::{BroadcastError, BroadcastResult};
use crate::audience::{contacts, topics};
use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::store::team_rows::Row;

pub use crate::audience::unsubscribe_link::{PATH, Subscriber, headers, token, url, verify};

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

async fn contact(app: &App, who: &Subscriber) -> BroadcastResult<contacts::Contact> {
    let found = contacts::find(app, &who.team_id, &who.contact_id).await?;
    found
        .filter(|c| c.id == who.contact_id)
        .ok_or(BroadcastError::LinkNotFound)
}

/// The page's data for a verified subscriber; 404 when the contact is gone.
pub async fn preferences(app: &App, who: &Subscriber) -> BroadcastResult<Preferences> {
    let c = contact(app, who).await?;
    let team_name = crate::teams::name(app, &who.team_id).await?;
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
        team_name,
        unsubscribed: c.unsubscribed,
        topics,
        topic_id: who.topic_id.clone(),
    })
}

/// Unsubscribes the contact from everything (fires `contact.updated`, records the history
/// entry and counts for the broadcast's performance). Doing it twice is harmless.
pub async fn unsubscribe_all(app: &App, who: &Subscriber) -> BroadcastResult<()> {
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
) -> BroadcastResult<()> {
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

/// How many contacts unsubscribed through broadcast `broadcast_id`'s link.
pub async fn count(app: &App, broadcast_id: &str) -> sqlx::Result<i64> {
    on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM broadcast_unsubscribes WHERE broadcast_id = $1"
    )
    .bind(broadcast_id)
    .fetch_one(pool)
    .await)
}

/// The contacts (id, address) who unsubscribed through broadcast `broadcast_id`'s link, by
/// address (a join of `contacts`).
pub async fn contacts(app: &App, broadcast_id: &str) -> sqlx::Result<Vec<(String, String)>> {
    on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT c.id, c.email FROM broadcast_unsubscribes u JOIN contacts c \
         ON c.id = u.contact_id WHERE u.broadcast_id = $1 ORDER BY c.email_lower"
    )
    .bind(broadcast_id)
    .fetch_all(pool)
    .await)
}

/// The unsubscribes from `from` (included) to `to` (excluded), of one team or all, with
/// their broadcast's team and sender (a join of `broadcasts`: `team_id, created_at,
/// from_address, broadcast_id`), for the metrics.
pub async fn in_range<T: Row>(
    app: &App,
    from: Millis,
    to: Millis,
    team_id: Option<&str>,
) -> sqlx::Result<Vec<T>> {
    let team_filter = if team_id.is_some() {
        " AND b.team_id = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT b.team_id, u.created_at, b.from_address, u.broadcast_id \
         FROM broadcast_unsubscribes u JOIN broadcasts b ON b.id = u.broadcast_id \
         WHERE u.created_at >= $1 AND u.created_at < $2{team_filter}"
    );
    on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(from)
            .bind(to);
        if let Some(team) = team_id {
            query = query.bind(team);
        }
        query.fetch_all(pool).await
    })
}
