//! The outbox: every webhook event (`email.*`, `domain.*`, `contact.*`) is a row of
//! `webhook_events`, written by [`emit`] in the same transaction as the change it reports, so
//! no event is lost and none is sent for a change that rolled back. The fan-out
//! ([`super::scan`]) turns the rows into delivery jobs and deletes them.
//!
//! A resource event's row holds its body's `data` object as it was at the change. An email
//! event's row names its email and recipient and holds the event's own details; the fan-out
//! adds the email's fields ([`super::payload::body`]). Either way the body is built once, at
//! fan-out, and every attempt sends (and signs) the same bytes.

use serde_json::Value;

use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::sql::{Arg, Placeholders, Stmt, bulk_insert_where};

/// One webhook event, as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: String,
    pub team_id: String,
    /// One of [`super::EVENT_TYPES`].
    #[sqlx(rename = "type")]
    pub kind: String,
    /// JSON: the body's `data` (resource events) or the email event's details.
    pub data: String,
    pub created_at: Millis,
    /// Set for email events.
    pub email_id: Option<String>,
    /// The recipient an email event concerns; `None` for the whole email.
    pub recipient: Option<String>,
}

impl Event {
    /// An event about a team's resource (`domain.*`, `contact.*`): `data` is the body's `data`.
    pub fn resource(team_id: &str, kind: &str, data: &Value, at: Millis) -> Self {
        debug_assert!(super::EVENT_TYPES.contains(&kind));
        Self {
            id: new_id(),
            team_id: team_id.to_string(),
            kind: kind.to_string(),
            data: data.to_string(),
            created_at: at,
            email_id: None,
            recipient: None,
        }
    }
}

/// The statements recording `events` (the only writer of the outbox), to run in the
/// transaction of the change they report. An event is recorded only when its team has an
/// enabled endpoint that may hear of it (the check runs in the same statement, so in the same
/// transaction): a team without webhooks, the usual case, costs no outbox row to write, scan
/// and delete. The check may let through an event no endpoint subscribes to (its type is
/// matched as text in the endpoint's list); the fan-out decides exactly. One event is one
/// portable statement, whatever `style`; more go in bulk, in the backend's `style`.
pub fn emit(style: Placeholders, events: &[Event]) -> Vec<Stmt> {
    const HEAD: &str =
        "INSERT INTO webhook_events (id, team_id, type, data, created_at, email_id, recipient)";
    const COLUMNS: &str = "id, team_id, type, data, created_at, email_id, recipient";
    const HEARD: &str = "EXISTS (SELECT 1 FROM webhooks w WHERE w.team_id = v.team_id \
        AND w.status = 'enabled' AND w.events LIKE '%\"' || v.type || '\"%')";
    let mut rows: Vec<Vec<Arg>> = events
        .iter()
        .map(|e| {
            vec![
                Arg::Text(Some(e.id.clone())),
                Arg::Text(Some(e.team_id.clone())),
                Arg::Text(Some(e.kind.clone())),
                Arg::Text(Some(e.data.clone())),
                Arg::Int(e.created_at),
                Arg::Text(e.email_id.clone()),
                Arg::Text(e.recipient.clone()),
            ]
        })
        .collect();
    if rows.len() == 1 {
        let mut stmt = Stmt::new(format!(
            "WITH v ({COLUMNS}) AS (VALUES ($1, $2, $3, $4, $5, $6, $7)) \
             {HEAD} SELECT * FROM v WHERE {HEARD}"
        ));
        stmt.args = rows.remove(0);
        return vec![stmt];
    }
    bulk_insert_where(style, HEAD, COLUMNS, rows, HEARD)
}

/// Records one event inside the caller's open transaction `tx` and fans it out there too
/// (either backend): the change, its event and its first deliveries commit together, as for
/// `domain.*` events, which are rare and whose deliveries leave at once.
/// `emit_in!(tx, &event)` gives `Result<usize, sqlx::Error>`, the deliveries queued; call
/// `App::notify_jobs` after the commit.
#[macro_export]
macro_rules! emit_in {
    ($tx:ident, $event:expr) => {
        async {
            let events = std::slice::from_ref($event);
            // The backend's own style: bulk statements (the deliveries' jobs) differ.
            let style = $crate::store::sql::Placeholders::of_tx(&$tx);
            $crate::exec_stmts!($tx, &$crate::webhooks::emit(style, events))?;
            $crate::fan_out_in!($tx, style, events, events[0].created_at)
        }
        .await
    };
}

/// True when some event waits for the fan-out.
pub async fn has_pending(app: &App) -> Result<bool, sqlx::Error> {
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM webhook_events LIMIT 1"
    )
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}
