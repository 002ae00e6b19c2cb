//! A contact's broadcast activity for its history: each broadcast sent to it, the first open
//! of each, and every click (with the link). Read from the broadcast emails (which name their
//! contact) and their events, so fan-out writes nothing more per contact. Unsubscribes through
//! a broadcast's link are history events of their own (`contact.unsubscribed`).

use serde_json::json;
use sqlx::FromRow;

use super::error::BroadcastResult;
use crate::audience::history::{self, HistoryEntry};
use crate::clock::resend_timestamp;
use crate::emails::{events, reads};
use crate::handle::App;

#[derive(FromRow)]
struct SentRow {
    email_id: String,
    broadcast_id: String,
    name: Option<String>,
    subject: Option<String>,
    created_at: i64,
    opened_at: Option<i64>,
}

#[derive(FromRow)]
struct ClickRow {
    id: String,
    email_id: String,
    broadcast_id: String,
    name: Option<String>,
    subject: Option<String>,
    data: String,
    created_at: i64,
}

fn title(name: Option<String>, subject: Option<String>) -> String {
    name.filter(|n| !n.trim().is_empty())
        .or(subject)
        .unwrap_or_else(|| "a deleted broadcast".into())
}

fn entry(id: String, kind: &str, data: serde_json::Value, at: i64) -> HistoryEntry {
    HistoryEntry {
        id,
        kind: kind.into(),
        data,
        created_at: resend_timestamp(at),
        created_ms: at,
    }
}

/// The newest broadcast entries of a contact (at most [`history::SHOWN`] of each kind),
/// newest first.
pub async fn for_contact(
    app: &App,
    team_id: &str,
    contact_id: &str,
) -> BroadcastResult<Vec<HistoryEntry>> {
    let sent: Vec<SentRow> =
        reads::broadcasts_sent_to(app, team_id, contact_id, events::OPENED, history::SHOWN).await?;
    let clicks: Vec<ClickRow> =
        reads::broadcast_clicks_of(app, team_id, contact_id, events::CLICKED, history::SHOWN)
            .await?;
    let mut entries = Vec::with_capacity(sent.len() * 2 + clicks.len());
    for row in sent {
        let data = json!({
            "broadcast_id": row.broadcast_id,
            "broadcast_name": title(row.name, row.subject),
            "email_id": row.email_id,
        });
        if let Some(at) = row.opened_at {
            entries.push(entry(
                format!("{}-opened", row.email_id),
                history::BROADCAST_OPENED,
                data.clone(),
                at,
            ));
        }
        entries.push(entry(
            format!("{}-sent", row.email_id),
            history::BROADCAST_SENT,
            data,
            row.created_at,
        ));
    }
    for row in clicks {
        let link = serde_json::from_str::<serde_json::Value>(&row.data)
            .ok()
            .and_then(|d| d["click"]["link"].as_str().map(str::to_string));
        let data = json!({
            "broadcast_id": row.broadcast_id,
            "broadcast_name": title(row.name, row.subject),
            "email_id": row.email_id,
            "link": link,
        });
        entries.push(entry(
            row.id,
            history::BROADCAST_CLICKED,
            data,
            row.created_at,
        ));
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.created_ms));
    Ok(entries)
}
