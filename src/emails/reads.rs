//! What other features read of emails and their events, one query each, read into the
//! caller's row type (`store::team_rows::Row`) or, inside the caller's transaction, built as
//! a [`Stmt`] for it to run. Where a query joins another feature's table (a broadcast's
//! name), the join is named in the function; `emails` and `email_events` are read nowhere
//! else outside this module.

use futures::TryStreamExt as _;
use sqlx::{FromRow as _, Row as _};

use super::body::Stored;

use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::store::sql::{self, Placeholders, Stmt};
use crate::store::team_rows::Row;

/// An email's content as delivery sends it: the html and the text given (none when only html
/// was: the text part is generated from the html, it is not stored).
#[derive(Debug, Default)]
pub struct Content {
    pub html: Option<String>,
    pub text: Option<String>,
}

/// Delivery's load of the emails `ids`, read for every delivery waiting at once (one query
/// per [`sql::IN_LIST_MAX`] ids instead of one per delivery): by id, the email (`team_id,
/// from_address, to_addresses, cc_addresses, bcc_addresses, reply_to, subject, headers,
/// message_id, created_at, scheduled_at, last_event`) and its [`Content`], or the error that
/// keeps this one email from being read (a damaged body); an email that is gone is absent.
/// Its attachments are read apart ([`attachments_for_delivery`]), so that the html and text
/// are read once and not once per attachment (a join repeats them on every row).
pub async fn for_delivery<E: Row>(
    app: &App,
    ids: &[&str],
) -> sqlx::Result<Vec<(String, sqlx::Result<(E, Content)>)>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(sql::IN_LIST_MAX) {
        let sql = format!(
            "SELECT id, team_id, from_address, to_addresses, cc_addresses, bcc_addresses, \
             reply_to, subject, html, text, body_zstd, headers, message_id, created_at, \
             scheduled_at, last_event FROM emails LEFT JOIN email_bodies ON email_id = id \
             WHERE id IN ({})",
            Placeholders::Numbered.list(1, chunk.len())
        );
        on_db!(app.db(), |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(pool).await? {
                let id: String = row.try_get("id")?;
                let email = E::from_row(&row).and_then(|email| {
                    let (html, text) = Stored::from_row(&row)?.content()?;
                    Ok((email, Content { html, text }))
                });
                found.push((id, email));
            }
        });
    }
    Ok(found)
}

/// The attachments of email `email_id` as delivery sends them, in order (`filename,
/// content_type, content_id, content`).
pub async fn attachments_for_delivery<A: Row>(app: &App, email_id: &str) -> sqlx::Result<Vec<A>> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, A>(
        "SELECT filename, content_type, content_id, content FROM email_attachments \
         WHERE email_id = $1 ORDER BY position"
    )
    .bind(email_id)
    .fetch_all(pool)
    .await)
}

/// The `SELECT` of the team of email `email_id` (one row, none when it is gone), to run in
/// the caller's transaction before recording an event of it.
pub fn team_of(email_id: &str) -> Stmt {
    Stmt::new("SELECT team_id FROM emails WHERE id = $1").text(email_id)
}

/// The `SELECT` of the facts webhook bodies repeat (`webhooks::payload::EmailFacts`) of the
/// emails `ids`; `None` for no ids.
pub fn webhook_facts<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Option<Stmt> {
    if ids.len() == 0 {
        return None;
    }
    let mut query = Stmt::new(format!(
        "SELECT id, from_address, to_addresses, subject, tags, headers, template_id, \
         broadcast_id, message_id, created_at FROM emails WHERE id IN ({})",
        Placeholders::Numbered.list(1, ids.len())
    ));
    for id in ids {
        query = query.text(id);
    }
    Some(query)
}

/// The column a report names its email by.
#[derive(Debug, Clone, Copy)]
pub enum Reference {
    Id,
    MessageId,
}

/// The team's email whose id or Message-ID is `value`, with its recipients (`id,
/// to_addresses, cc_addresses, bcc_addresses`): the feedback listener's match of a report.
pub async fn reported<T: Row>(
    app: &App,
    team_id: &str,
    by: Reference,
    value: &str,
) -> sqlx::Result<Option<T>> {
    let column = match by {
        Reference::Id => "id",
        Reference::MessageId => "message_id",
    };
    let sql = format!(
        "SELECT id, to_addresses, cc_addresses, bcc_addresses FROM emails \
         WHERE team_id = $1 AND {column} = $2"
    );
    on_db!(app.db(), |pool| sqlx::query_as::<_, T>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(team_id)
    .bind(value)
    .fetch_optional(pool)
    .await)
}

/// The `SELECT` of the id of an event of `kind` already recorded for the recipient of an
/// email (none if there is none), to run in the caller's transaction.
pub fn recorded(email_id: &str, kind: &str, recipient: &str) -> Stmt {
    Stmt::new("SELECT id FROM email_events WHERE email_id = $1 AND type = $2 AND recipient = $3")
        .text(email_id)
        .text(kind)
        .text(recipient)
}

/// `'a', 'b'` for an `IN` list of event types (constants of [`super::events`], never input).
fn kind_list(kinds: &[&str]) -> String {
    kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The events of the given types of broadcast `broadcast_id`'s emails, oldest first
/// (`email_id, kind, contact_id, to_addresses, data, created_at`).
pub async fn broadcast_events<T: Row>(
    app: &App,
    broadcast_id: &str,
    kinds: &[&str],
) -> sqlx::Result<Vec<T>> {
    let sql = format!(
        "SELECT ev.email_id, ev.type AS kind, m.contact_id, m.to_addresses, ev.data, \
         ev.created_at FROM emails m JOIN email_events ev ON ev.email_id = m.id \
         WHERE m.broadcast_id = $1 AND ev.type IN ({}) ORDER BY ev.created_at, ev.id",
        kind_list(kinds)
    );
    on_db!(app.db(), |pool| sqlx::query_as::<_, T>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(broadcast_id)
    .fetch_all(pool)
    .await)
}

/// The newest `limit` broadcast emails sent to a contact, with their broadcast's name and
/// subject (a join of `broadcasts`, NULL once it is deleted) and the first event of type
/// `opened` (`email_id, broadcast_id, name, subject, created_at, opened_at`).
pub async fn broadcasts_sent_to<T: Row>(
    app: &App,
    team_id: &str,
    contact_id: &str,
    opened: &str,
    limit: i64,
) -> sqlx::Result<Vec<T>> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, T>(
        "SELECT e.id AS email_id, e.broadcast_id, b.name, b.subject, e.created_at, \
         (SELECT MIN(v.created_at) FROM email_events v WHERE v.email_id = e.id AND v.type = $3) \
         AS opened_at \
         FROM emails e LEFT JOIN broadcasts b ON b.id = e.broadcast_id \
         WHERE e.contact_id = $1 AND e.team_id = $2 AND e.broadcast_id IS NOT NULL \
         ORDER BY e.created_at DESC, e.id DESC LIMIT $4"
    )
    .bind(contact_id)
    .bind(team_id)
    .bind(opened)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// The newest `limit` events of type `clicked` of the broadcast emails sent to a contact,
/// with their broadcast's name and subject (as above: `id, email_id, broadcast_id, name,
/// subject, data, created_at`).
pub async fn broadcast_clicks_of<T: Row>(
    app: &App,
    team_id: &str,
    contact_id: &str,
    clicked: &str,
    limit: i64,
) -> sqlx::Result<Vec<T>> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, T>(
        "SELECT v.id, v.email_id, e.broadcast_id, b.name, b.subject, v.data, v.created_at \
         FROM emails e JOIN email_events v ON v.email_id = e.id \
         LEFT JOIN broadcasts b ON b.id = e.broadcast_id \
         WHERE e.contact_id = $1 AND e.team_id = $2 AND e.broadcast_id IS NOT NULL \
         AND v.type = $3 ORDER BY v.created_at DESC, v.id DESC LIMIT $4"
    )
    .bind(contact_id)
    .bind(team_id)
    .bind(clicked)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// When the oldest event of any email happened (`None` before the first).
pub async fn oldest_event_at(app: &App) -> sqlx::Result<Option<Millis>> {
    on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT MIN(created_at) FROM email_events"
    )
    .fetch_one(pool)
    .await)
}

/// Which events the metrics count.
pub struct Counted<'a> {
    /// One team, or all (the rollup).
    pub team_id: Option<&'a str>,
    pub from: Millis,
    pub to: Millis,
    /// Only these emails (validated UUIDs), or all.
    pub email_ids: &'a [String],
    /// The event types counted (constants, never input).
    pub kinds: &'a [&'a str],
}

/// The events in `scope`, streamed to `each` (`team_id, kind, email_id, data, created_at`,
/// the email's `from_address` and `broadcast_id`, and `first`: 1 for an open or click with
/// no earlier one of its kind on the email).
pub async fn counted_events<T: Row>(
    app: &App,
    scope: &Counted<'_>,
    mut each: impl FnMut(T),
) -> sqlx::Result<()> {
    let mut filters = String::new();
    if scope.team_id.is_some() {
        filters.push_str(" AND ev.team_id = $3");
    }
    if !scope.email_ids.is_empty() {
        // The ids were parsed as UUIDs and printed back: safe to write into the statement.
        let list = scope
            .email_ids
            .iter()
            .map(|id| format!("'{}'", id.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(", ");
        filters.push_str(&format!(" AND ev.email_id IN ({list})"));
    }
    // An open or click is also unique when the email has no earlier one of its kind
    // (`email_events_email` answers that from the index).
    let sql = format!(
        "SELECT ev.team_id, ev.type AS kind, ev.email_id, ev.data, ev.created_at, \
         m.from_address, m.broadcast_id, \
         CAST(CASE WHEN ev.type IN ('opened', 'clicked') AND NOT EXISTS (\
           SELECT 1 FROM email_events p WHERE p.email_id = ev.email_id AND p.type = ev.type \
           AND (p.created_at < ev.created_at OR (p.created_at = ev.created_at AND p.id < ev.id))\
         ) THEN 1 ELSE 0 END AS INTEGER) AS first \
         FROM email_events ev JOIN emails m ON m.id = ev.email_id \
         WHERE ev.created_at >= $1 AND ev.created_at < $2 AND ev.type IN ({}){filters}",
        kind_list(scope.kinds)
    );
    on_db!(app.db(), |pool| async {
        let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(scope.from)
            .bind(scope.to);
        if let Some(team) = scope.team_id {
            query = query.bind(team);
        }
        let mut rows = query.fetch(pool);
        while let Some(row) = rows.try_next().await? {
            each(row);
        }
        Ok::<(), sqlx::Error>(())
    }
    .await)
}
