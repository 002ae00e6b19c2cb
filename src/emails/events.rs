//! What happened to an email, as Resend names it. Each event is a row in `email_events`;
//! the latest is also kept in `emails.last_event`, which `GET /emails/{id}` reports.

pub const QUEUED: &str = "queued";
pub const SCHEDULED: &str = "scheduled";
pub const CANCELED: &str = "canceled";
pub const SENT: &str = "sent";
pub const DELIVERED: &str = "delivered";
pub const DELIVERY_DELAYED: &str = "delivery_delayed";
pub const FAILED: &str = "failed";
pub const BOUNCED: &str = "bounced";
pub const COMPLAINED: &str = "complained";
pub const SUPPRESSED: &str = "suppressed";

use crate::clock::Millis;
use crate::store::new_id;
use crate::store::sql::{Arg, Placeholders, Stmt, bulk_insert};
use crate::webhooks;

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub email_id: &'a str,
    pub team_id: &'a str,
    /// One of the types above.
    pub kind: &'a str,
    /// The recipient it concerns; `None` for the whole email.
    pub recipient: Option<&'a str>,
    /// JSON object of details.
    pub data: &'a str,
    pub at: Millis,
}

/// How [`record`] keeps `emails.last_event`.
#[derive(Debug, Clone, Copy)]
pub enum LastEvent {
    /// Each email's last event in the list becomes its `last_event` (`updated_at` = this time).
    Update(Millis),
    /// The emails are inserted in the same transaction with their event as `last_event`.
    Inserted,
}

/// The statements recording `events` (the only writer of `email_events`), to run in the
/// caller's transaction: the rows, the webhook event of each that has one
/// ([`crate::webhooks::emit`], under the same id), and each email's `last_event`.
pub fn record(style: Placeholders, events: &[NewEvent], last: LastEvent) -> Vec<Stmt> {
    let ids: Vec<String> = events.iter().map(|_| new_id()).collect();
    let rows = events
        .iter()
        .zip(&ids)
        .map(|(e, id)| {
            vec![
                Arg::Text(Some(id.clone())),
                Arg::Text(Some(e.email_id.to_string())),
                Arg::Text(Some(e.team_id.to_string())),
                Arg::Text(Some(e.kind.to_string())),
                Arg::Text(e.recipient.map(str::to_string)),
                Arg::Text(Some(e.data.to_string())),
                Arg::Int(e.at),
            ]
        })
        .collect();
    let mut stmts = bulk_insert(
        style,
        "INSERT INTO email_events (id, email_id, team_id, type, recipient, data, created_at)",
        rows,
        "",
    );
    let webhook_events: Vec<webhooks::Event> = events
        .iter()
        .zip(ids)
        .filter_map(|(e, id)| {
            Some(webhooks::Event {
                id,
                team_id: e.team_id.to_string(),
                kind: webhooks::payload::webhook_type(e.kind)?,
                data: e.data.to_string(),
                created_at: e.at,
                email_id: Some(e.email_id.to_string()),
                recipient: e.recipient.map(str::to_string),
            })
        })
        .collect();
    if !webhook_events.is_empty() {
        stmts.extend(webhooks::emit(style, &webhook_events));
    }
    if let LastEvent::Update(now) = last {
        // Each email's last event; one statement per kind (a group of deliveries is
        // mostly `delivered`), not one per email: on PostgreSQL each is a round trip.
        let mut seen = std::collections::HashSet::new();
        let mut by_kind: Vec<(&str, Vec<&str>)> = Vec::new();
        for NewEvent { email_id, kind, .. } in events.iter().rev() {
            if !seen.insert(*email_id) {
                continue;
            }
            match by_kind.iter_mut().find(|(k, _)| k == kind) {
                Some((_, ids)) => ids.push(email_id),
                None => by_kind.push((kind, vec![email_id])),
            }
        }
        for (kind, ids) in by_kind {
            for chunk in ids.chunks(LAST_EVENT_IDS) {
                let mut stmt = Stmt::new(format!(
                    "UPDATE emails SET last_event = $1, updated_at = $2 WHERE id IN ({})",
                    Placeholders::Numbered.list(3, chunk.len())
                ))
                .text(kind)
                .int(now);
                for id in chunk {
                    stmt = stmt.text(*id);
                }
                stmts.push(stmt);
            }
        }
    }
    stmts
}

/// Emails per `last_event` update (well under SQLite's bound-parameter limit).
const LAST_EVENT_IDS: usize = 500;

/// Opened and clicked come from tracking; they are Resend statuses too.
pub const OPENED: &str = "opened";
pub const CLICKED: &str = "clicked";

/// Every status an email can have (its `last_event`), in the order a dashboard offers them.
pub const ALL: &[&str] = &[
    QUEUED,
    SCHEDULED,
    SENT,
    DELIVERED,
    DELIVERY_DELAYED,
    OPENED,
    CLICKED,
    BOUNCED,
    COMPLAINED,
    FAILED,
    SUPPRESSED,
    CANCELED,
];

/// One thing that happened to an email, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    /// The recipient it concerns; `None` for the whole email (queued, scheduled, canceled).
    pub recipient: Option<String>,
    /// JSON object: `bounce`, `delay`, `suppressed`, `failed`, `click`… details.
    pub data: String,
    pub created_at: crate::clock::Millis,
}

impl Event {
    /// Why it happened, in words, when the event says: the bounce, delay, suppression or
    /// failure message and the receiving server's diagnostic, e.g.
    /// "The recipient's mail server refused … (smtp; 550 5.1.1 user unknown)".
    pub fn reason(&self) -> Option<String> {
        let data: serde_json::Value = serde_json::from_str(&self.data).ok()?;
        let detail = ["bounce", "delay", "suppressed", "failed"]
            .iter()
            .find_map(|key| data.get(*key))?;
        let message = detail
            .get("message")
            .or_else(|| detail.get("reason"))
            .and_then(|m| m.as_str())
            .unwrap_or("");
        let codes: Vec<&str> = detail
            .get("diagnosticCode")
            .and_then(|c| c.as_array())
            .map(|codes| codes.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let text = match (message.is_empty(), codes.is_empty()) {
            (true, true) => return None,
            (false, true) => message.to_string(),
            (true, false) => codes.join("; "),
            (false, false) => format!("{message} ({})", codes.join("; ")),
        };
        Some(text)
    }

    /// The link a `clicked` event followed.
    pub fn link(&self) -> Option<String> {
        let data: serde_json::Value = serde_json::from_str(&self.data).ok()?;
        data.get("click")?.get("link")?.as_str().map(str::to_string)
    }
}

/// Everything that happened to an email of the team, oldest first (the email's timeline).
/// Unknown emails give an empty list; callers look the email up first.
pub async fn timeline(
    app: &crate::handle::App,
    team_id: &str,
    email_id: &str,
) -> super::error::EmailResult<Vec<Event>> {
    Ok(crate::on_db!(app.db(), |pool| sqlx::query_as::<_, Event>(
        "SELECT id, type, recipient, data, created_at FROM email_events \
         WHERE email_id = $1 AND team_id = $2 ORDER BY created_at, id"
    )
    .bind(email_id)
    .bind(team_id)
    .fetch_all(pool)
    .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> Event {
        Event {
            id: "e".into(),
            kind: BOUNCED.into(),
            recipient: None,
            data: data.into(),
            created_at: 0,
        }
    }

    #[test]
    fn reasons_read_the_event_details() {
        assert_eq!(event("{}").reason(), None);
        let bounce = r#"{"bounce":{"type":"Permanent","message":"Refused.","diagnosticCode":["smtp; 550 5.1.1 no"]}}"#;
        assert_eq!(
            event(bounce).reason().as_deref(),
            Some("Refused. (smtp; 550 5.1.1 no)")
        );
        let delay = r#"{"delay":{"message":"Later.","diagnosticCode":[]}}"#;
        assert_eq!(event(delay).reason().as_deref(), Some("Later."));
        let click = r#"{"click":{"link":"https://example.com"}}"#;
        assert_eq!(event(click).link().as_deref(), Some("https://example.com"));
    }
}
