//! Each contact's history of marketing interactions: added to or removed from a segment,
//! topic subscriptions changed, unsubscribed or resubscribed (and, from the broadcasts
//! issue on, broadcasts sent, opened and clicked). Events are written in the same
//! transaction as the change they describe.

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::FromRow;

use crate::clock::resend_timestamp;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::sql::{self, Arg, Placeholders, Stmt};

/// How many events `GET /contacts/{id}` and the contact page show.
pub const SHOWN: i64 = 100;

pub const SEGMENT_ADDED: &str = "segment.added";
pub const SEGMENT_REMOVED: &str = "segment.removed";
pub const TOPIC_SUBSCRIBED: &str = "topic.subscribed";
pub const TOPIC_UNSUBSCRIBED: &str = "topic.unsubscribed";
pub const UNSUBSCRIBED: &str = "contact.unsubscribed";
pub const RESUBSCRIBED: &str = "contact.resubscribed";
pub const CREATED: &str = "contact.created";
/// A CSV import added the contact to segments or changed its topics (listed in `data`).
pub const IMPORTED: &str = "contact.imported";
/// A broadcast went to the contact, was opened (first time), a link of it was clicked: read
/// from the broadcast's emails by `broadcasts::activity`, not stored here.
pub const BROADCAST_SENT: &str = "broadcast.sent";
pub const BROADCAST_OPENED: &str = "broadcast.opened";
pub const BROADCAST_CLICKED: &str = "broadcast.clicked";

const INSERT_HEAD: &str = "INSERT INTO contact_events (id, contact_id, type, data, created_at)";

/// The insert of one event.
pub fn event(contact_id: &str, kind: &str, data: Value, now: i64) -> Stmt {
    Stmt::new(format!("{INSERT_HEAD} VALUES ($1, $2, $3, $4, $5)"))
        .text(new_id())
        .text(contact_id)
        .text(kind)
        .text(data.to_string())
        .int(now)
}

/// Bulk inserts of `contact.imported` events, `(contact id, data)` each (an import's batch).
pub fn imported_many(style: Placeholders, events: Vec<(&str, Value)>, now: i64) -> Vec<Stmt> {
    let rows = events
        .into_iter()
        .map(|(contact, data)| {
            vec![
                Arg::Text(Some(new_id())),
                Arg::Text(Some(contact.to_string())),
                Arg::Text(Some(IMPORTED.to_string())),
                Arg::Text(Some(data.to_string())),
                Arg::Int(now),
            ]
        })
        .collect();
    sql::bulk_insert(style, INSERT_HEAD, rows, "")
}

pub fn segment_event(contact_id: &str, added: bool, id: &str, name: &str, now: i64) -> Stmt {
    let kind = if added {
        SEGMENT_ADDED
    } else {
        SEGMENT_REMOVED
    };
    event(
        contact_id,
        kind,
        json!({"segment_id": id, "segment_name": name}),
        now,
    )
}

pub fn topic_event(contact_id: &str, opt_in: bool, id: &str, name: &str, now: i64) -> Stmt {
    let kind = if opt_in {
        TOPIC_SUBSCRIBED
    } else {
        TOPIC_UNSUBSCRIBED
    };
    event(
        contact_id,
        kind,
        json!({"topic_id": id, "topic_name": name}),
        now,
    )
}

pub fn unsubscribe_event(contact_id: &str, unsubscribed: bool, now: i64) -> Stmt {
    let kind = if unsubscribed {
        UNSUBSCRIBED
    } else {
        RESUBSCRIBED
    };
    event(contact_id, kind, json!({}), now)
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub data: String,
    pub created_at: i64,
}

/// One history entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: String,
    #[serde(skip)]
    pub created_ms: i64,
}

impl HistoryEntry {
    /// A sentence for the dashboard.
    pub fn describe(&self) -> String {
        let text = |key: &str| self.data[key].as_str().unwrap_or("").to_string();
        match self.kind.as_str() {
            CREATED => "Contact created".into(),
            SEGMENT_ADDED => format!("Added to segment {}", text("segment_name")),
            SEGMENT_REMOVED => format!("Removed from segment {}", text("segment_name")),
            TOPIC_SUBSCRIBED => format!("Subscribed to topic {}", text("topic_name")),
            TOPIC_UNSUBSCRIBED => format!("Unsubscribed from topic {}", text("topic_name")),
            UNSUBSCRIBED => "Unsubscribed from all emails".into(),
            RESUBSCRIBED => "Subscribed again".into(),
            BROADCAST_SENT => format!("Sent broadcast {}", text("broadcast_name")),
            BROADCAST_OPENED => format!("Opened broadcast {}", text("broadcast_name")),
            BROADCAST_CLICKED => format!(
                "Clicked {} in broadcast {}",
                text("link"),
                text("broadcast_name")
            ),
            IMPORTED => {
                let names = |key: &str, name: &str| -> Vec<String> {
                    self.data[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v[name].as_str().map(str::to_string))
                        .collect()
                };
                let mut parts = Vec::new();
                let segments = names("segments", "segment_name");
                if !segments.is_empty() {
                    parts.push(format!("added to {}", segments.join(", ")));
                }
                let topics: Vec<String> = self.data["topics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let verb = if t["subscription"] == "opt_in" {
                            "subscribed to"
                        } else {
                            "unsubscribed from"
                        };
                        format!("{verb} {}", t["topic_name"].as_str().unwrap_or(""))
                    })
                    .collect();
                parts.extend(topics);
                format!("Imported from CSV: {}", parts.join("; "))
            }
            other => other.replace(['.', '_'], " "),
        }
    }
}

/// The newest events of a contact, newest first, ending with its creation.
pub async fn recent(
    app: &App,
    contact_id: &str,
    created_at: i64,
) -> sqlx::Result<Vec<HistoryEntry>> {
    let rows: Vec<EventRow> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT id, type, data, created_at FROM contact_events WHERE contact_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2"
    )
    .bind(contact_id)
    .bind(SHOWN)
    .fetch_all(pool)
    .await)?;
    let mut entries: Vec<HistoryEntry> = rows
        .into_iter()
        .map(|r| HistoryEntry {
            id: r.id,
            kind: r.kind,
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
            created_at: resend_timestamp(r.created_at),
            created_ms: r.created_at,
        })
        .collect();
    if (entries.len() as i64) < SHOWN {
        // Creation is the contact's own timestamp rather than a stored event (an import of a
        // million contacts would otherwise write a million more rows).
        entries.push(HistoryEntry {
            id: contact_id.to_string(),
            kind: CREATED.into(),
            data: json!({}),
            created_at: resend_timestamp(created_at),
            created_ms: created_at,
        });
    }
    Ok(entries)
}
