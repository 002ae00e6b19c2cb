//! Segments: named groups of contacts. The deprecated audiences are the same rows, so
//! audience ids and segment ids are interchangeable.

use std::collections::HashSet;

use serde_json::Value;
use sqlx::FromRow;

use super::contacts::{self, Contact};
use super::history;
use crate::handle::App;
use crate::on_db;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Arg, Placeholders, Stmt};
use crate::store::team_rows;
use crate::store::{BeginKeyRange, new_id};

pub const MAX_NAME_LEN: usize = 255;

#[derive(Debug, Clone, FromRow)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub audience_id: Option<String>,
    /// JSON text, as given at creation.
    pub filter: Option<String>,
    pub created_at: i64,
    /// Contacts in the segment (filled by list queries).
    #[sqlx(default)]
    pub contacts: i64,
}

impl Segment {
    pub fn filter_value(&self) -> Value {
        self.filter
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok())
            .unwrap_or(Value::Null)
    }
}

const TABLE: (&str, &str) = ("segments", "id, name, audience_id, filter, created_at");

/// The resource name in "not found" messages: Resend still says "Audience".
pub const NOT_FOUND: &str = "Segment not found";

/// What the segments service refuses, in its own words: `http::error` maps each case to
/// Resend's status and error name.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// A field a shared rule refuses: the name (`fields::required_name`), an id the request
    /// names (`store::team_rows::require`).
    #[error(transparent)]
    Field(#[from] crate::fields::FieldError),
    /// A field has a value the rules refuse; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The team has no such segment.
    #[error("{NOT_FOUND}")]
    NotFound,
    /// A failure under the service (the database, a statement list, JSON, the budget, an
    /// unexpected error), passed through.
    #[error(transparent)]
    Failed(crate::error::Failure),
}

pub type SegmentResult<T> = Result<T, SegmentError>;

crate::passes_through!(SegmentError: sqlx::Error, crate::store::sql::StoreError);

#[derive(Debug, Default, Clone)]
pub struct NewSegment {
    pub name: Option<String>,
    pub audience_id: Option<String>,
    pub filter: Option<Value>,
}

/// A segment's name: required, trimmed, at most [`MAX_NAME_LEN`] characters.
fn valid_name(name: Option<&str>) -> SegmentResult<&str> {
    Ok(crate::fields::required_name(name, MAX_NAME_LEN)?)
}

pub async fn create(app: &App, team_id: &str, input: NewSegment) -> SegmentResult<Segment> {
    let name = valid_name(input.name.as_deref())?;
    let filter = match input.filter {
        None | Some(Value::Null) => None,
        Some(f @ Value::Object(_)) => Some(f.to_string()),
        Some(_) => {
            return Err(SegmentError::Invalid(
                "The `filter` field must be an object.".into(),
            ));
        }
    };
    let segment = Segment {
        id: new_id(),
        name: name.to_string(),
        audience_id: input.audience_id.filter(|a| !a.is_empty()),
        filter,
        created_at: app.now_ms(),
        contacts: 0,
    };
    let insert = Stmt::new(
        "INSERT INTO segments (id, team_id, name, audience_id, filter, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .text(&segment.id)
    .text(team_id)
    .text(&segment.name)
    .opt_text(segment.audience_id.clone())
    .opt_text(segment.filter.clone())
    .int(segment.created_at);
    sql::run(app.db(), &[insert]).await?;
    Ok(segment)
}

pub async fn list(app: &App, team_id: &str, page: &Page) -> SegmentResult<ListResponse<Segment>> {
    Ok(team_rows::list(app.db(), TABLE, team_id, page).await?)
}

/// Every segment of the team with its contact count, by name (dashboard).
pub async fn all_with_counts(app: &App, team_id: &str) -> SegmentResult<Vec<Segment>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Segment>(
        "SELECT id, name, audience_id, filter, created_at, \
         (SELECT COUNT(*) FROM contact_segments cs WHERE cs.segment_id = segments.id) AS contacts \
         FROM segments WHERE team_id = $1 ORDER BY name, id"
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)?)
}

pub async fn find(app: &App, team_id: &str, id: &str) -> SegmentResult<Option<Segment>> {
    Ok(team_rows::find(app.db(), TABLE, team_id, id).await?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> SegmentResult<Segment> {
    find(app, team_id, id).await?.ok_or(SegmentError::NotFound)
}

/// Renames a segment (`PATCH /segments/{id}`); its contacts and filter stay as they are.
pub async fn rename(
    app: &App,
    team_id: &str,
    id: &str,
    name: Option<&str>,
) -> SegmentResult<Segment> {
    let name = valid_name(name)?;
    let renamed = on_db!(app.db(), |pool| sqlx::query(
        "UPDATE segments SET name = $3 WHERE id = $1 AND team_id = $2"
    )
    .bind(id)
    .bind(team_id)
    .bind(name)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if renamed == 0 {
        return Err(SegmentError::NotFound);
    }
    get(app, team_id, id).await
}

/// Deletes a segment (its memberships go with it). Unknown ids are not an error.
pub async fn delete(app: &App, team_id: &str, id: &str) -> SegmentResult<bool> {
    Ok(team_rows::delete(app.db(), TABLE.0, team_id, id).await?)
}

/// Looks every id up; an unknown one is a 404 naming it. Duplicates are dropped.
pub async fn require_all(app: &App, team_id: &str, ids: &[String]) -> SegmentResult<Vec<Segment>> {
    let mut found: Vec<Segment> = Vec::new();
    for id in ids {
        if !found.iter().any(|s| &s.id == id) {
            found.push(team_rows::require(app.db(), TABLE, team_id, "segment", id).await??);
        }
    }
    Ok(found)
}

/// Statements adding a contact to a segment (and recording it), if not already in it.
pub fn add_stmts(contact_id: &str, segment: &Segment, now: i64, already: bool) -> Vec<Stmt> {
    if already {
        return Vec::new();
    }
    vec![
        Stmt::new(format!("{MEMBER_INSERT} VALUES ($1, $2, $3){MEMBER_KEPT}"))
            .text(&segment.id)
            .text(contact_id)
            .int(now),
        history::segment_event(contact_id, true, &segment.id, &segment.name, now),
    ]
}

const MEMBER_INSERT: &str = "INSERT INTO contact_segments (segment_id, contact_id, created_at)";
/// A membership that exists stays as it is.
const MEMBER_KEPT: &str = " ON CONFLICT (segment_id, contact_id) DO NOTHING";

/// Bulk inserts adding contacts to segments, `(segment id, contact id)` each (an import's
/// batch; its history events are the caller's); a membership that exists stays as it is.
pub fn add_many(style: Placeholders, members: &[(&str, &str)], now: i64) -> Vec<Stmt> {
    let rows = members
        .iter()
        .map(|(segment, contact)| {
            vec![
                Arg::Text(Some(segment.to_string())),
                Arg::Text(Some(contact.to_string())),
                Arg::Int(now),
            ]
        })
        .collect();
    sql::bulk_insert(style, MEMBER_INSERT, rows, MEMBER_KEPT)
}

/// The memberships, `(contact id, segment id)`, of these contacts (an import's batch): one
/// query, an index probe per contact ([`sql::probe`]).
pub async fn memberships_of(
    app: &App,
    contact_ids: &[String],
) -> sqlx::Result<HashSet<(String, String)>> {
    let columns = (
        "t.contact_id, t.segment_id",
        "contact_segments",
        "contact_id",
    );
    let rows: Vec<(String, String)> =
        sql::fetch_probe(app.db(), columns, contact_ids, None).await?;
    Ok(rows.into_iter().collect())
}

/// The segment ids a contact is in.
pub async fn ids_of_contact(app: &App, contact_id: &str) -> SegmentResult<Vec<String>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT segment_id FROM contact_segments WHERE contact_id = $1"
    )
    .bind(contact_id)
    .fetch_all(pool)
    .await)?)
}

/// Whether the segment has any member.
pub async fn has_members(app: &App, segment_id: &str) -> sqlx::Result<bool> {
    let found: Option<i32> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT 1 FROM contact_segments WHERE segment_id = $1 LIMIT 1"
    )
    .bind(segment_id)
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}

/// Who a broadcast's page of a segment is sent to (see [`sendable_page`]).
pub struct Sendable<'a> {
    pub team_id: &'a str,
    pub segment_id: &'a str,
    /// The last member of the previous page (`""` at the start).
    pub after: &'a str,
    /// Members who joined after this time are not sent to.
    pub joined_by: i64,
    /// The topic a broadcast is scoped to, with its default subscription.
    pub topic: Option<(&'a str, &'a str)>,
    pub limit: i64,
}

/// The next `limit` members of the segment after `after`, in contact id order, each with
/// its contact (`member_id`, then `id, email, first_name, last_name, properties`, NULL
/// unless the contact is eligible: a member since `joined_by`, not unsubscribed, not on the
/// team's suppression list, and, with a topic, not opted out of it). The broadcast fan-out's
/// batch: one query joining `contacts`, `suppressions` and `contact_topics`. The page is
/// read first, alone, as a range of the `(segment_id, contact_id)` key, and only its rows
/// are checked: so each batch costs the same however large the segment and whatever the
/// planner's statistics say (a single filtered query let PostgreSQL, with statistics older
/// than a bulk import, read and sort the whole rest of the segment for every batch: 4 s a
/// batch at 1M contacts). The range is read in a [`BeginKeyRange`] transaction, so
/// PostgreSQL reads it along the index even then (it had chosen a bitmap scan of the rest of
/// the range and a sort).
pub async fn sendable_page<T: team_rows::Row>(
    app: &App,
    page: &Sendable<'_>,
) -> sqlx::Result<Vec<T>> {
    let topic_filter = if page.topic.is_some() {
        " AND COALESCE((SELECT ct.subscription FROM contact_topics ct \
           WHERE ct.contact_id = c.id AND ct.topic_id = $5), $6) = 'opt_in'"
    } else {
        " AND $5 IS NULL AND $6 IS NULL"
    };
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT contact_id, created_at FROM contact_segments \
           WHERE segment_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT {}) \
         SELECT p.contact_id AS member_id, c.id, c.email, c.first_name, c.last_name, \
           c.properties \
         FROM page p LEFT JOIN contacts c ON c.id = p.contact_id AND p.created_at <= $3 \
         AND c.unsubscribed = FALSE \
         AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.team_id = $4 \
           AND s.email = c.email_lower){topic_filter} \
         ORDER BY p.contact_id",
        page.limit
    );
    let (topic_id, default) = match page.topic {
        Some((id, default)) => (Some(id), Some(default)),
        None => (None, None),
    };
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_key_range().await?;
        let rows = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(page.segment_id)
            .bind(page.after)
            .bind(page.joined_by)
            .bind(page.team_id)
            .bind(topic_id)
            .bind(default)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(rows)
    })
}

/// Adds a contact to a segment, with its `contact.updated` event; nothing happens if it is
/// in it already.
pub async fn add_contact(
    app: &App,
    team_id: &str,
    contact: &Contact,
    segment: &Segment,
) -> SegmentResult<()> {
    set_membership(app, (team_id, contact), segment, true).await
}

/// Removes a contact from a segment, with its `contact.updated` event; nothing happens if it
/// is not in it.
pub async fn remove_contact(
    app: &App,
    team_id: &str,
    contact: &Contact,
    segment: &Segment,
) -> SegmentResult<()> {
    set_membership(app, (team_id, contact), segment, false).await
}

/// Makes `contact` a member of `segment` or not (`member`), with its history line and its
/// `contact.updated` event; nothing happens if it already is (or is not).
async fn set_membership(
    app: &App,
    (team_id, contact): (&str, &Contact),
    segment: &Segment,
    member: bool,
) -> SegmentResult<()> {
    let mut ids = ids_of_contact(app, &contact.id).await?;
    if ids.contains(&segment.id) == member {
        return Ok(());
    }
    let now = app.now_ms();
    let mut stmts = if member {
        let mut stmts = add_stmts(&contact.id, segment, now, false);
        // Added by someone else meanwhile: that request reports it.
        stmts[0].expect_rows = Some(1);
        ids.push(segment.id.clone());
        stmts
    } else {
        ids.retain(|id| *id != segment.id);
        vec![
            Stmt::new("DELETE FROM contact_segments WHERE segment_id = $1 AND contact_id = $2")
                .text(&segment.id)
                .text(&contact.id)
                .expect_rows(1),
            history::segment_event(&contact.id, false, &segment.id, &segment.name, now),
        ]
    };
    stmts.push(contacts::webhook_event(
        Placeholders::of(app.db()),
        team_id,
        contacts::WEBHOOK_UPDATED,
        contact,
        &ids,
        now,
    ));
    // Changed by someone else meanwhile: the outcome is the same.
    run_unless_raced(app, &stmts).await
}

/// Runs a membership change; one that another request made first (a conflict) is done.
async fn run_unless_raced(app: &App, stmts: &[Stmt]) -> SegmentResult<()> {
    match sql::run(app.db(), stmts).await {
        Err(err) if sql::is_conflict(&err) => Ok(()),
        other => Ok(other.map(|_| ())?),
    }
}

/// A contact's segments, paged by segment; `added_at` is when the contact joined.
#[derive(Debug, Clone, FromRow)]
pub struct ContactSegment {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub added_at: i64,
}

pub async fn of_contact(
    app: &App,
    team_id: &str,
    contact_id: &str,
    page: &Page,
) -> SegmentResult<ListResponse<ContactSegment>> {
    let table = (
        "segments",
        "id, name, created_at, (SELECT cs.created_at FROM contact_segments cs \
         WHERE cs.segment_id = segments.id AND cs.contact_id = $3) AS added_at",
    );
    let filter = "id IN (SELECT segment_id FROM contact_segments WHERE contact_id = $3)";
    let values = [Some(contact_id)];
    Ok(team_rows::list_where(app.db(), table, team_id, page, (filter, &values)).await?)
}
