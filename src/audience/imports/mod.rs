//! CSV imports of contacts.
//!
//! 1. [`upload`]: the file is streamed into the database in 1 MiB chunks (so any node of a
//!    PostgreSQL cluster can read it, and a restart loses nothing), its header is checked
//!    against the column map, and a durable job is queued, all before `201`.
//! 2. [`job`]: a worker streams the chunks through the `csv` parser and writes contacts in
//!    batches ([`batch`]); each batch commits together with the import's progress
//!    (`rows_done` and the counts), so a resumed import skips exactly what was committed and
//!    never imports a row twice. Rows that cannot be imported are counted and listed by line.

pub mod batch;
pub mod column_map;
pub mod error;
pub mod job;
pub mod rows;
pub mod upload;

pub use error::{ImportError, ImportResult};

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use crate::handle::App;
use crate::on_db;
use crate::store::page::{ListResponse, Page};

/// The job kind that processes imports.
pub const JOB: &str = "contacts.import";
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// Rows written per transaction. PostgreSQL takes larger batches: each commit waits for its
/// WAL flush, and a batch is a handful of array statements whatever its size (measured at 1M
/// rows: 500 → 14,000 rows/s, 2,000 → 30,000, 5,000 → 40,000–50,000, no better above).
pub fn batch_rows(db: &crate::store::Db) -> usize {
    if db.is_postgres() { 5_000 } else { 500 }
}

/// Failed rows listed per import (all are counted).
pub const MAX_LISTED_FAILURES: i64 = 10_000;

pub const QUEUED: &str = "queued";
pub const IN_PROGRESS: &str = "in_progress";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";
/// Still receiving the file; not shown anywhere.
pub const UPLOADING: &str = "uploading";

pub fn parse_status(value: &str) -> ImportResult<&'static str> {
    [QUEUED, IN_PROGRESS, COMPLETED, FAILED]
        .into_iter()
        .find(|s| *s == value)
        .ok_or_else(|| {
            ImportError::Invalid(
                "The `status` parameter must be queued, in_progress, completed or failed.".into(),
            )
        })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobPayload {
    pub import_id: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct ContactImport {
    pub id: String,
    pub team_id: String,
    pub status: String,
    pub file_name: Option<String>,
    pub file_bytes: i64,
    pub chunk_count: i32,
    pub column_map: String,
    pub on_conflict: String,
    pub segments: String,
    pub topics: String,
    pub rows_done: i64,
    pub created_count: i64,
    pub updated_count: i64,
    pub skipped_count: i64,
    pub failed_count: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

const COLUMNS: &str = "id, team_id, status, file_name, file_bytes, chunk_count, column_map, \
     on_conflict, segments, topics, rows_done, created_count, updated_count, skipped_count, \
     failed_count, error, created_at, started_at, completed_at";

/// Loads an import of any team (workers).
pub async fn load(app: &App, id: &str) -> ImportResult<Option<ContactImport>> {
    Ok(on_db!(app.db(), |pool| {
        sqlx::query_as::<_, ContactImport>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM contact_imports WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(pool)
        .await
    })?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> ImportResult<ContactImport> {
    load(app, id)
        .await?
        .filter(|i| i.team_id == team_id && i.status != UPLOADING)
        .ok_or(ImportError::NotFound)
}

pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    status: Option<&str>,
) -> ImportResult<ListResponse<ContactImport>> {
    let filter = if status.is_some() {
        "status = $3"
    } else {
        "status <> 'uploading' AND $3 IS NULL"
    };
    let table = ("contact_imports", COLUMNS);
    Ok(
        crate::store::team_rows::list_where(app.db(), table, team_id, page, (filter, &[status]))
            .await?,
    )
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub line: i64,
    pub reason: String,
}

/// The first `limit` failed rows of an import, by line.
pub async fn failures(app: &App, import_id: &str, limit: i64) -> ImportResult<Vec<Failure>> {
    Ok(on_db!(app.db(), |pool| {
        sqlx::query_as::<_, Failure>(
        "SELECT line, reason FROM contact_import_failures WHERE import_id = $1 ORDER BY line LIMIT $2"
    )
    .bind(import_id)
    .bind(limit)
    .fetch_all(pool)
    .await
    })?)
}
