//! Rows a team owns, found by id, listed a page at a time, deleted by id, and named by id in
//! requests (checked to be UUIDs that exist): the queries every team-owned table shares, each
//! called by the table's owning module with its table and columns.

use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::fields::FieldError;
use crate::on_db;
use crate::store::Db;
use crate::store::page::{ListResponse, Page};

/// A row type either backend can read.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// The row `id` of `table` if the team owns it.
pub async fn find<T: Row>(
    db: &Db,
    (table, columns): (&str, &str),
    team_id: &str,
    id: &str,
) -> sqlx::Result<Option<T>> {
    let sql = format!("SELECT {columns} FROM {table} WHERE id = $1 AND team_id = $2");
    on_db!(db, |pool| sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(id)
    .bind(team_id)
    .fetch_optional(pool)
    .await)
}

/// One page of the team's rows of `table`.
pub async fn list<T: Row>(
    db: &Db,
    table: (&str, &str),
    team_id: &str,
    page: &Page,
) -> sqlx::Result<ListResponse<T>> {
    list_where(db, table, team_id, page, ("TRUE", &[])).await
}

/// One page of the team's rows of `table` that pass `filter` (a trusted SQL fragment), which
/// reads `values` from `$3` on (`None` is NULL).
pub async fn list_where<T: Row>(
    db: &Db,
    (table, columns): (&str, &str),
    team_id: &str,
    page: &Page,
    (filter, values): (&str, &[Option<&str>]),
) -> sqlx::Result<ListResponse<T>> {
    let sql = page.sql(columns, table, filter);
    let rows = on_db!(db, |pool| {
        let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(team_id)
            .bind(page.cursor_id());
        for value in values {
            query = query.bind(*value);
        }
        query.fetch_all(pool).await
    })?;
    Ok(page.finish(rows))
}

/// Deletes the row `id` of `table` if the team owns it; returns whether it did.
pub async fn delete(db: &Db, table: &str, team_id: &str, id: &str) -> sqlx::Result<bool> {
    let sql = format!("DELETE FROM {table} WHERE id = $1 AND team_id = $2");
    let deleted = on_db!(db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .bind(team_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(deleted > 0)
}

/// A row a request names by id (`what`: "segment", "topic"): a UUID the team owns. The outer
/// error is the database's; the inner one the request's refusal (a malformed id, 422; no such
/// row, 404), which services take in as their `Field` variant.
pub async fn require<T: Row>(
    db: &Db,
    (table, columns): (&str, &str),
    team_id: &str,
    what: &str,
    id: &str,
) -> sqlx::Result<Result<T, FieldError>> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(Err(FieldError::Invalid(format!(
            "The {what} id `{id}` must be a valid UUID."
        ))));
    }
    Ok(find(db, (table, columns), team_id, id)
        .await?
        .ok_or_else(|| {
            let mut name = what.to_string();
            name[..1].make_ascii_uppercase();
            FieldError::Unknown(format!("{name} `{id}` not found"))
        }))
}
