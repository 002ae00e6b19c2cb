//! CSV exports of the dashboard's lists (Emails, Broadcasts, Contacts, Segments, Domains,
//! Logs, API Keys), with the list page's filters.
//!
//! An export is a row of `exports` (who asked, what, the filters as the list's query string,
//! where the work stands) and its file, stored in the database in chunks of about 1 MiB
//! (`export_chunks`), so any node sharing the database serves the download and nothing lives
//! on one node's disk. Small exports (at most `[exports] inline_rows`, 1,000) are written at
//! once and downloaded by the admin who asked; larger ones, and any a member asks for, are
//! written by the [`JOB`] job (`job.rs`), which streams the list in keyset pages into
//! chunks (memory stays flat) and then emails every admin of the team a link. Files are
//! deleted after `[exports] keep_days` by [`expire`]; the export then shows "Expired".
//!
//! `sources.rs` reads each list (its page's filter parsing, its service), `csv.rs` writes the
//! records (cells neutralised for spreadsheets).

pub mod csv;
pub mod error;
pub mod job;
pub mod sources;

pub use error::{ExportError, ExportResult};

use futures::Stream;
use sqlx::FromRow;

use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;
use crate::queue::{self, NewJob};
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Stmt};
use crate::store::team_rows;

pub use job::JOB;

pub const PROCESSING: &str = "processing";
pub const READY: &str = "ready";
pub const EXPIRED: &str = "expired";
pub const FAILED: &str = "failed";

const DAY_MS: Millis = 24 * 3600 * 1000;

/// What is exported: one of the dashboard's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Emails,
    Broadcasts,
    Contacts,
    Segments,
    Domains,
    Logs,
    ApiKeys,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Emails,
        Kind::Broadcasts,
        Kind::Contacts,
        Kind::Segments,
        Kind::Domains,
        Kind::Logs,
        Kind::ApiKeys,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Emails => "emails",
            Kind::Broadcasts => "broadcasts",
            Kind::Contacts => "contacts",
            Kind::Segments => "segments",
            Kind::Domains => "domains",
            Kind::Logs => "logs",
            Kind::ApiKeys => "api-keys",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text.trim())
    }

    /// "Emails", "API keys"…
    pub fn label(self) -> &'static str {
        match self {
            Kind::Emails => "Emails",
            Kind::Broadcasts => "Broadcasts",
            Kind::Contacts => "Contacts",
            Kind::Segments => "Segments",
            Kind::Domains => "Domains",
            Kind::Logs => "Logs",
            Kind::ApiKeys => "API keys",
        }
    }

    /// The dashboard list this exports.
    pub fn list_path(self) -> &'static str {
        match self {
            Kind::Emails => "/dashboard/emails",
            Kind::Broadcasts => "/dashboard/broadcasts",
            Kind::Contacts => "/dashboard/audience/contacts",
            Kind::Segments => "/dashboard/audience/segments",
            Kind::Domains => "/dashboard/domains",
            Kind::Logs => "/dashboard/logs",
            Kind::ApiKeys => "/dashboard/api-keys",
        }
    }

    /// The filters the list page reads from its query string (`herald export --filter`
    /// takes the same names).
    pub fn filter_names(self) -> &'static [&'static str] {
        match self {
            Kind::Emails => &["status", "from", "to", "subject", "since", "until", "tag"],
            Kind::Broadcasts => &["status"],
            Kind::Contacts => &["q", "status", "segment"],
            Kind::Logs => &["key", "status", "method", "endpoint", "since", "until"],
            Kind::Segments | Kind::Domains | Kind::ApiKeys => &[],
        }
    }
}

/// The filters of `kind` found in a query string (cursors and notices dropped, blank values
/// too), as a query string again: what an export stores and shows.
pub fn clean_filters(kind: Kind, query: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
        let value = value.trim();
        if kind.filter_names().contains(&name.as_ref()) && !value.is_empty() {
            out.append_pair(&name, value);
        }
    }
    out.finish()
}

/// The filters as (name, value) pairs, to show.
pub fn describe(filters: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(filters.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

#[derive(Debug, Clone, FromRow)]
pub struct Export {
    pub id: String,
    pub team_id: String,
    pub kind: String,
    pub filters: String,
    pub requested_by: String,
    pub status: String,
    pub rows_done: i64,
    pub cursor: Option<String>,
    pub chunk_count: i32,
    pub bytes: i64,
    pub error: Option<String>,
    pub notified_at: Option<Millis>,
    pub notice_error: Option<String>,
    pub created_at: Millis,
    pub completed_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub updated_at: Millis,
}

const COLUMNS: &str = "id, team_id, kind, filters, requested_by, status, rows_done, cursor, \
                       chunk_count, bytes, error, notified_at, notice_error, created_at, \
                       completed_at, expires_at, updated_at";

impl Export {
    pub fn kind(&self) -> Option<Kind> {
        Kind::parse(&self.kind)
    }

    /// A name for the downloaded file: `herald-contacts-2026-03-10.csv`.
    pub fn file_name(&self) -> String {
        let day = crate::clock::to_timestamp(self.created_at).strftime("%Y-%m-%d");
        format!("herald-{}-{day}.csv", self.kind)
    }
}

/// When a file made at `now` expires.
pub fn expiry(app: &App, now: Millis) -> Millis {
    let days = Millis::try_from(app.settings().exports.keep_days).unwrap_or(7);
    now.saturating_add(days.saturating_mul(DAY_MS))
}

fn insert(export: &Export) -> Stmt {
    Stmt::new(
        "INSERT INTO exports (id, team_id, kind, filters, requested_by, status, rows_done, \
         chunk_count, bytes, created_at, completed_at, expires_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $10)",
    )
    .text(&export.id)
    .text(&export.team_id)
    .text(&export.kind)
    .text(&export.filters)
    .text(&export.requested_by)
    .text(&export.status)
    .int(export.rows_done)
    .int(i64::from(export.chunk_count))
    .int(export.bytes)
    .int(export.created_at)
    .opt_int(export.completed_at)
    .opt_int(export.expires_at)
}

fn new_export(app: &App, team_id: &str, kind: Kind, filters: &str, by: &str) -> Export {
    let now = app.now_ms();
    Export {
        id: new_id(),
        team_id: team_id.to_string(),
        kind: kind.as_str().to_string(),
        filters: clean_filters(kind, filters),
        requested_by: by.to_string(),
        status: PROCESSING.to_string(),
        rows_done: 0,
        cursor: None,
        chunk_count: 0,
        bytes: 0,
        error: None,
        notified_at: None,
        notice_error: None,
        created_at: now,
        completed_at: None,
        expires_at: None,
        updated_at: now,
    }
}

/// Records an export written at once (`file`, `rows` records): ready, its file stored.
pub async fn create_ready(
    app: &App,
    team_id: &str,
    kind: Kind,
    filters: &str,
    by: &str,
    file: Vec<u8>,
    rows: i64,
) -> ExportResult<Export> {
    let mut export = new_export(app, team_id, kind, filters, by);
    export.status = READY.to_string();
    export.rows_done = rows;
    export.chunk_count = 1;
    export.bytes = file.len() as i64;
    export.completed_at = Some(export.created_at);
    export.expires_at = Some(expiry(app, export.created_at));
    sql::run(
        app.db(),
        &[
            insert(&export),
            Stmt::new("INSERT INTO export_chunks (export_id, seq, data) VALUES ($1, 0, $2)")
                .text(&export.id)
                .bytes(file),
        ],
    )
    .await?;
    Ok(export)
}

/// Records an export to be written by the job, and queues the job, in one transaction.
pub async fn create_queued(
    app: &App,
    team_id: &str,
    kind: Kind,
    filters: &str,
    by: &str,
) -> ExportResult<Export> {
    let export = new_export(app, team_id, kind, filters, by);
    let job = NewJob::new(
        JOB,
        &job::JobPayload {
            export_id: export.id.clone(),
        },
        export.created_at,
    )
    .unique_key(format!("export:{}", export.id));
    sql::run(
        app.db(),
        &[insert(&export), queue::insert_one(&job, export.created_at)],
    )
    .await?;
    app.notify_jobs();
    Ok(export)
}

/// The export of any team (the job's view).
pub async fn load(app: &App, id: &str) -> ExportResult<Option<Export>> {
    let sql = format!("SELECT {COLUMNS} FROM exports WHERE id = $1");
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Export>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?)
}

/// One export of the team; 404 for another team's or an unknown id.
pub async fn get(app: &App, team_id: &str, id: &str) -> ExportResult<Export> {
    team_rows::find(app.db(), ("exports", COLUMNS), team_id, id)
        .await?
        .ok_or(ExportError::NotFound)
}

/// The team's exports, newest first, in keyset pages.
pub async fn list(app: &App, team_id: &str, page: &Page) -> ExportResult<ListResponse<Export>> {
    Ok(team_rows::list(app.db(), ("exports", COLUMNS), team_id, page).await?)
}

/// The file of a ready export, one stored chunk at a time (memory holds one chunk).
pub fn file(app: App, export: &Export) -> impl Stream<Item = ExportResult<Vec<u8>>> + use<> {
    let id = export.id.clone();
    let count = export.chunk_count;
    futures::stream::unfold(0, move |seq| {
        let (app, id) = (app.clone(), id.clone());
        async move {
            if seq >= count {
                return None;
            }
            let data = on_db!(app.db(), |pool| sqlx::query_scalar::<_, Vec<u8>>(
                "SELECT data FROM export_chunks WHERE export_id = $1 AND seq = $2"
            )
            .bind(&id)
            .bind(seq)
            .fetch_optional(pool)
            .await);
            let item = match data {
                Ok(Some(data)) => Ok(data),
                Ok(None) => Err(ExportError::FileNotFound),
                Err(err) => Err(err.into()),
            };
            Some((item, seq + 1))
        }
    })
}

/// Chunks deleted per statement when a file expires (about 16 MiB).
const EXPIRE_CHUNKS: i64 = 16;
/// Exports expired per call.
const EXPIRE_EXPORTS: i64 = 100;

/// Deletes the files of ready exports whose time is up, a bounded batch of chunks per
/// statement with a pause between statements (SQLite's writers get the lock in between),
/// and marks them expired. Every node runs it with the queue's purge; returns how many
/// exports expired.
pub async fn expire(app: &App) -> ExportResult<u64> {
    let now = app.now_ms();
    let due: Vec<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM exports WHERE status = 'ready' AND expires_at <= $1 \
         ORDER BY expires_at LIMIT $2"
    )
    .bind(now)
    .bind(EXPIRE_EXPORTS)
    .fetch_all(pool)
    .await)?;
    let mut expired = 0;
    for id in due {
        loop {
            let deleted = sql::run(
                app.db(),
                &[Stmt::new(
                    "DELETE FROM export_chunks WHERE export_id = $1 AND seq IN \
                     (SELECT seq FROM export_chunks WHERE export_id = $1 ORDER BY seq LIMIT $2)",
                )
                .text(&id)
                .int(EXPIRE_CHUNKS)],
            )
            .await?;
            if deleted.first().copied().unwrap_or(0) < EXPIRE_CHUNKS as u64 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        expired += sql::run(
            app.db(),
            &[Stmt::new(
                "UPDATE exports SET status = $2, updated_at = $3 WHERE id = $1 AND status = $4",
            )
            .text(&id)
            .text(EXPIRED)
            .int(now)
            .text(READY)],
        )
        .await?
        .first()
        .copied()
        .unwrap_or(0);
    }
    Ok(expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_keep_only_the_kinds_names() {
        assert_eq!(
            clean_filters(
                Kind::Emails,
                "?status=bounced&after=x&from=&subject=50%25+off"
            ),
            "status=bounced&subject=50%25+off"
        );
        assert_eq!(clean_filters(Kind::Domains, "status=x"), "");
        assert_eq!(
            describe("q=ann&status=unsubscribed"),
            vec![
                ("q".to_string(), "ann".to_string()),
                ("status".to_string(), "unsubscribed".to_string())
            ]
        );
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
