//! The `broadcasts` table: reads, and the statements the service runs in one transaction.

use super::Broadcast;
use super::error::{BroadcastError, BroadcastResult};
use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::Stmt;

/// Columns of lists (no content).
pub const LIST_COLUMNS: &str = "id, team_id, name, segment_id, topic_id, from_address, subject, \
                                reply_to, preview_text, status, scheduled_at, sent_at, \
                                recipients, created_at, updated_at";

pub async fn find(app: &App, team_id: &str, id: &str) -> BroadcastResult<Option<Broadcast>> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    let sql =
        format!("SELECT {LIST_COLUMNS}, html, text FROM broadcasts WHERE id = $1 AND team_id = $2");
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Broadcast>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(id)
    .bind(team_id)
    .fetch_optional(pool)
    .await)?)
}

/// A broadcast by id alone (jobs).
pub async fn by_id(app: &App, id: &str) -> BroadcastResult<Option<Broadcast>> {
    let sql = format!("SELECT {LIST_COLUMNS}, html, text FROM broadcasts WHERE id = $1");
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Broadcast>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> BroadcastResult<Broadcast> {
    find(app, team_id, id)
        .await?
        .ok_or(BroadcastError::NotFound)
}

/// A page of the team's broadcasts, optionally of one status.
pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    status: Option<&str>,
) -> BroadcastResult<ListResponse<Broadcast>> {
    let filter = ("$3 IS NULL OR status = $3", &[status][..]);
    let table = ("broadcasts", LIST_COLUMNS);
    Ok(crate::store::team_rows::list_where(app.db(), table, team_id, page, filter).await?)
}

/// Binds `$1` (id), `$2` (team) and the content `$3`–`$11` (name, segment, topic, from,
/// subject, reply-to, preview text, html, text), in the order both statements use.
fn key_and_content(stmt: Stmt, b: &Broadcast) -> Stmt {
    stmt.text(&b.id)
        .text(&b.team_id)
        .opt_text(b.name.clone())
        .opt_text(b.segment_id.clone())
        .opt_text(b.topic_id.clone())
        .text(&b.from)
        .text(&b.subject)
        .text(&b.reply_to)
        .opt_text(b.preview_text.clone())
        .opt_text(b.html.clone())
        .opt_text(b.text.clone())
}

pub fn insert_stmt(b: &Broadcast) -> Stmt {
    let stmt = Stmt::new(
        "INSERT INTO broadcasts (id, team_id, name, segment_id, topic_id, from_address, subject, \
         reply_to, preview_text, html, text, status, scheduled_at, sent_at, recipients, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    );
    key_and_content(stmt, b)
        .text(&b.status)
        .opt_int(b.scheduled_at)
        .opt_int(b.sent_at)
        .int(b.recipients)
        .int(b.created_at)
        .int(b.updated_at)
}

/// Rewrites a draft's content; only while it is still an unscheduled draft last changed at
/// `before` (a concurrent change or send makes the update a conflict).
pub fn update_stmt(b: &Broadcast, before: Millis) -> Stmt {
    let stmt = Stmt::new(
        "UPDATE broadcasts SET name = $3, segment_id = $4, topic_id = $5, from_address = $6, \
         subject = $7, reply_to = $8, preview_text = $9, html = $10, text = $11, updated_at = $12 \
         WHERE id = $1 AND team_id = $2 AND status = 'draft' AND scheduled_at IS NULL \
         AND updated_at = $13",
    );
    key_and_content(stmt, b)
        .int(b.updated_at)
        .int(before)
        .expect_rows(1)
}

/// Every broadcast of the team: (id, name, subject).
pub async fn names(
    app: &App,
    team_id: &str,
) -> sqlx::Result<Vec<(String, Option<String>, String)>> {
    on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT id, name, subject FROM broadcasts WHERE team_id = $1"
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)
}

/// The statement deleting the team's draft `id` (none other: a conflict once it is sent).
pub fn delete_draft(team_id: &str, id: &str) -> Stmt {
    Stmt::new("DELETE FROM broadcasts WHERE id = $1 AND team_id = $2 AND status = 'draft'")
        .text(id)
        .text(team_id)
        .expect_rows(1)
}

/// The statement giving draft `b` its new status and schedule (`b` as changed), if it is
/// still the draft last updated at `before`.
pub fn mark_sent_off(b: &Broadcast, before: Millis) -> Stmt {
    Stmt::new(
        "UPDATE broadcasts SET status = $3, scheduled_at = $4, updated_at = $5 \
         WHERE id = $1 AND team_id = $2 AND status = 'draft' AND scheduled_at IS NULL \
         AND updated_at = $6",
    )
    .text(&b.id)
    .text(&b.team_id)
    .text(&b.status)
    .opt_int(b.scheduled_at)
    .int(b.updated_at)
    .int(before)
    .expect_rows(1)
}

/// The statement canceling the team's broadcast `id` unless it was sent.
pub fn cancel(team_id: &str, id: &str, now: Millis) -> Stmt {
    Stmt::new(
        "UPDATE broadcasts SET status = 'canceled', updated_at = $3 WHERE id = $1 \
         AND team_id = $2 AND status IN ('draft', 'queued', 'sending')",
    )
    .text(id)
    .text(team_id)
    .int(now)
    .expect_rows(1)
}

/// Moves a draft or queued broadcast to `sending`, its snapshot taken `now` (once).
pub async fn start_sending(app: &App, id: &str, now: Millis) -> sqlx::Result<u64> {
    on_db!(app.db(), |pool| sqlx::query(
        "UPDATE broadcasts SET status = 'sending', snapshot_at = COALESCE(snapshot_at, $2), \
         updated_at = $2 WHERE id = $1 AND status IN ('draft', 'queued')"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
}

/// The fan-out's progress: (snapshot time, cursor, status).
pub async fn progress(
    app: &App,
    id: &str,
) -> sqlx::Result<Option<(Option<i64>, Option<String>, String)>> {
    on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT snapshot_at, cursor, status FROM broadcasts WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)
}

/// The statement moving a sending broadcast's cursor from `from` to `to` with `added`
/// recipients, guarded by the cursor's previous value (a conflict when another run moved it
/// or the broadcast was canceled).
pub fn move_cursor(id: &str, (from, to): (&str, &str), added: i64, now: Millis) -> Stmt {
    Stmt::new(
        "UPDATE broadcasts SET cursor = $3, recipients = recipients + $4, \
         updated_at = $5 WHERE id = $1 AND status = 'sending' \
         AND COALESCE(cursor, '') = $2",
    )
    .text(id)
    .text(from)
    .text(to)
    .int(added)
    .int(now)
    .expect_rows(1)
}

/// Marks a sending broadcast `sent` at `now`.
pub async fn mark_sent(app: &App, id: &str, now: Millis) -> sqlx::Result<u64> {
    on_db!(app.db(), |pool| sqlx::query(
        "UPDATE broadcasts SET status = 'sent', sent_at = $2, updated_at = $2 \
         WHERE id = $1 AND status = 'sending'"
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
}
