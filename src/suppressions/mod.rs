//! A team's suppression list: addresses Herald does not send to. Delivery adds an address
//! when its server refuses it for good (origin `bounce`), the feedback listener when its
//! owner complains (`complaint`), users through the API (`manual`). Delivery checks the list
//! before each send and records `suppressed` instead of sending.
//!
//! Addresses are compared lower-case (domains are case-insensitive; local parts are in
//! practice).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::FromRow;

use crate::emails::address::Mailbox;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Arg, Placeholders, Stmt, bulk_insert};

mod error;
pub use error::{SuppressionError, SuppressionResult};

pub const BOUNCE: &str = "bounce";
pub const COMPLAINT: &str = "complaint";
pub const MANUAL: &str = "manual";
pub const ORIGINS: &[&str] = &[BOUNCE, COMPLAINT, MANUAL];

/// Most addresses in one batch request.
pub const MAX_BATCH: usize = 100;

#[derive(Debug, Clone, FromRow, Serialize)]
pub struct Suppression {
    pub id: String,
    pub email: String,
    pub origin: String,
    pub source_id: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, email, origin, source_id, created_at";

/// An address to add to a team's list.
#[derive(Debug, Clone)]
pub struct NewSuppression<'a> {
    pub team_id: &'a str,
    /// [`normalize`]d.
    pub email: String,
    pub origin: &'a str,
    /// The email (bounce, complaint) that caused it.
    pub source_id: Option<&'a str>,
    pub at: i64,
}

/// The statements adding `rows` (the only writer of `suppressions`), to run in the caller's
/// transaction. An address the team suppresses already keeps its first entry, and its origin.
pub fn insert(style: Placeholders, rows: &[NewSuppression]) -> Vec<Stmt> {
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                Arg::Text(Some(new_id())),
                Arg::Text(Some(r.team_id.to_string())),
                Arg::Text(Some(r.email.clone())),
                Arg::Text(Some(r.origin.to_string())),
                Arg::Text(r.source_id.map(str::to_string)),
                Arg::Int(r.at),
            ]
        })
        .collect();
    bulk_insert(
        style,
        "INSERT INTO suppressions (id, team_id, email, origin, source_id, created_at)",
        rows,
        " ON CONFLICT (team_id, email) DO NOTHING",
    )
}

/// The form an address is stored and compared in.
pub fn normalize(email: &str) -> SuppressionResult<String> {
    let mailbox = Mailbox::parse(email).map_err(|why| {
        SuppressionError::Invalid(format!(
            "Invalid email address `{email}` ({why}). It needs to follow the \
             `email@example.com` format."
        ))
    })?;
    Ok(mailbox.email.to_lowercase())
}

fn check_origin(origin: &str) -> SuppressionResult<()> {
    if ORIGINS.contains(&origin) {
        Ok(())
    } else {
        Err(SuppressionError::Invalid(
            "The `origin` must be one of `bounce`, `complaint` or `manual`.".into(),
        ))
    }
}

/// Adds the addresses (already suppressed ones keep their entry) and returns their
/// entries, in the order given.
pub async fn add_many(
    app: &App,
    team_id: &str,
    emails: &[String],
    origin: &str,
    source_id: Option<&str>,
) -> SuppressionResult<Vec<Suppression>> {
    check_origin(origin)?;
    let emails = emails
        .iter()
        .map(|e| normalize(e))
        .collect::<SuppressionResult<Vec<_>>>()?;
    let now = app.now_ms();
    let rows: Vec<NewSuppression> = emails
        .iter()
        .map(|email| NewSuppression {
            team_id,
            email: email.clone(),
            origin,
            source_id,
            at: now,
        })
        .collect();
    sql::run(app.db(), &insert(Placeholders::of(app.db()), &rows)).await?;
    let found = find(app, team_id, &emails).await?;
    Ok(emails
        .iter()
        .filter_map(|email| found.get(email).cloned())
        .collect())
}

pub async fn add(
    app: &App,
    team_id: &str,
    email: &str,
    origin: &str,
    source_id: Option<&str>,
) -> SuppressionResult<Suppression> {
    add_many(app, team_id, &[email.to_string()], origin, source_id)
        .await?
        .pop()
        .ok_or(SuppressionError::NotStored)
}

/// The team's entries for these (normalized) addresses, by address.
pub async fn find(
    app: &App,
    team_id: &str,
    emails: &[String],
) -> SuppressionResult<HashMap<String, Suppression>> {
    let wanted: Vec<(&str, &str)> = emails.iter().map(|e| (team_id, e.as_str())).collect();
    let mut found = find_many(app, &wanted).await?;
    Ok(found.remove(team_id).unwrap_or_default())
}

/// The entries of (team, normalized address) pairs, by team and address: what delivery
/// reads for every delivery waiting at once, one query (per
/// [`sql::IN_LIST_MAX`] addresses) instead of one per delivery.
pub async fn find_many(
    app: &App,
    wanted: &[(&str, &str)],
) -> sqlx::Result<HashMap<String, HashMap<String, Suppression>>> {
    let mut teams: Vec<&str> = wanted.iter().map(|(team, _)| *team).collect();
    teams.sort_unstable();
    teams.dedup();
    let mut emails: Vec<&str> = wanted.iter().map(|(_, email)| *email).collect();
    emails.sort_unstable();
    emails.dedup();
    let mut found: HashMap<String, HashMap<String, Suppression>> = HashMap::new();
    if teams.is_empty() || emails.is_empty() {
        return Ok(found);
    }
    // Usually one team: an `IN` list of each, and the pairs no delivery asked for dropped.
    for chunk in emails.chunks(sql::IN_LIST_MAX) {
        let sql = format!(
            "SELECT team_id, {COLUMNS} FROM suppressions WHERE team_id IN ({}) AND email IN ({})",
            Placeholders::Numbered.list(1, teams.len()),
            Placeholders::Numbered.list(teams.len() + 1, chunk.len())
        );
        let rows = on_db!(app.db(), |pool| {
            let mut query = sqlx::query_as::<_, TeamSuppression>(sqlx::AssertSqlSafe(sql.clone()));
            for team in &teams {
                query = query.bind(*team);
            }
            for email in chunk {
                query = query.bind(*email);
            }
            query.fetch_all(pool).await
        })?;
        for row in rows {
            // With several teams, an address one team asked for may be found in another's.
            let asked = teams.len() == 1
                || wanted.contains(&(row.team_id.as_str(), row.entry.email.as_str()));
            if asked {
                let team = found.entry(row.team_id).or_default();
                team.insert(row.entry.email.clone(), row.entry);
            }
        }
    }
    Ok(found)
}

/// A [`Suppression`] with its team ([`find_many`]).
#[derive(FromRow)]
struct TeamSuppression {
    team_id: String,
    #[sqlx(flatten)]
    entry: Suppression,
}

pub async fn list(
    app: &App,
    team_id: &str,
    origin: Option<&str>,
    page: &Page,
) -> SuppressionResult<ListResponse<Suppression>> {
    if let Some(origin) = origin {
        check_origin(origin)?;
    }
    let filter = if origin.is_some() {
        "origin = $3"
    } else {
        "TRUE"
    };
    let sql = page.sql(COLUMNS, "suppressions", filter);
    let rows = on_db!(app.db(), |pool| {
        let mut query = sqlx::query_as::<_, Suppression>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(team_id)
            .bind(page.cursor_id());
        if let Some(origin) = origin {
            query = query.bind(origin);
        }
        query.fetch_all(pool).await
    })?;
    Ok(page.finish(rows))
}

/// `key` is an entry's id or its address.
fn by_key(key: &str) -> SuppressionResult<(&'static str, String)> {
    if key.contains('@') {
        Ok((
            "email",
            normalize(key).map_err(|_| SuppressionError::NotFound)?,
        ))
    } else if uuid::Uuid::parse_str(key).is_ok() {
        Ok(("id", key.to_string()))
    } else {
        Err(SuppressionError::BadKey)
    }
}

pub async fn get(app: &App, team_id: &str, key: &str) -> SuppressionResult<Suppression> {
    let (column, value) = by_key(key)?;
    let sql = format!("SELECT {COLUMNS} FROM suppressions WHERE team_id = $1 AND {column} = $2");
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, Suppression>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(team_id)
    .bind(&value)
    .fetch_optional(pool)
    .await)?;
    row.ok_or(SuppressionError::NotFound)
}

/// Removes one entry; returns it.
pub async fn remove(app: &App, team_id: &str, key: &str) -> SuppressionResult<Suppression> {
    let entry = get(app, team_id, key).await?;
    remove_ids(app, team_id, std::slice::from_ref(&entry.id)).await?;
    Ok(entry)
}

/// Removes the entries with these ids (or, with `by_email`, these addresses); returns the
/// ids removed, in the order given. Unknown ones are skipped.
pub async fn remove_many(
    app: &App,
    team_id: &str,
    keys: &[String],
    by_email: bool,
) -> SuppressionResult<Vec<String>> {
    let ids: Vec<String> = if by_email {
        let emails = keys
            .iter()
            .map(|e| normalize(e))
            .collect::<SuppressionResult<Vec<_>>>()?;
        let found = find(app, team_id, &emails).await?;
        emails
            .iter()
            .filter_map(|e| found.get(e).map(|s| s.id.clone()))
            .collect()
    } else {
        for id in keys {
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(SuppressionError::Invalid(format!(
                    "`{id}` is not a suppression id (a UUID)."
                )));
            }
        }
        keys.to_vec()
    };
    let removed = remove_ids(app, team_id, &ids).await?;
    Ok(ids.into_iter().filter(|id| removed.contains(id)).collect())
}

async fn remove_ids(app: &App, team_id: &str, ids: &[String]) -> SuppressionResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "DELETE FROM suppressions WHERE team_id = $1 AND id IN ({}) RETURNING id",
        params.join(", ")
    );
    let removed = on_db!(app.db(), |pool| {
        let mut query =
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone())).bind(team_id);
        for id in ids {
            query = query.bind(id);
        }
        query.fetch_all(pool).await
    })?;
    Ok(removed)
}

/// Whether the team suppresses `email` (compared lower-case).
pub async fn contains(app: &App, team_id: &str, email: &str) -> SuppressionResult<bool> {
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM suppressions WHERE team_id = $1 AND email = $2"
    )
    .bind(team_id)
    .bind(email.trim().to_lowercase())
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}
