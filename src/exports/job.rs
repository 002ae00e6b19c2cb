//! The export job: writes an export's file (the list in keyset pages, newest first) into
//! stored chunks, then emails every admin of the team a link.
//!
//! Memory holds one page of rows and one chunk. Each chunk commits with the export's
//! progress (rows, chunks, bytes, the keyset cursor) guarded by the chunk count this run
//! read, so a run that was taken over (lease expired) cannot add a chunk twice, and a
//! resumed run carries on after the last committed chunk. The last chunk marks the export
//! ready in the same transaction; the email is sent after, and `notified_at` records it, so
//! a rerun sends it if a crash came in between.

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::csv::CsvBuf;
use super::sources::Source;
use super::{Export, FAILED, Kind, PROCESSING, READY, expiry, load};
use crate::handle::App;
use crate::queue::Job;
use crate::store::sql::{self, Stmt};

pub const JOB: &str = "export_csv";
/// Rows read per query.
pub const PAGE_ROWS: i64 = 1000;
/// A chunk is stored once the buffer reaches this size (after a whole page).
pub const CHUNK_BYTES: usize = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct JobPayload {
    pub export_id: String,
}

/// A walk through a list, a page at a time, from after a keyset cursor to its end.
pub struct Walk<'a> {
    app: &'a App,
    team_id: &'a str,
    source: &'a Source,
    cursor: Option<String>,
    done: bool,
}

/// The row a walk had reached was deleted: the keyset cursor (a row id) no longer places
/// the next page, and going on would end the file early without a word.
#[derive(Debug, thiserror::Error)]
#[error("a row the export had reached was deleted while it was written; export the list again")]
pub struct CursorGone;

impl<'a> Walk<'a> {
    pub fn new(app: &'a App, team_id: &'a str, source: &'a Source, cursor: Option<String>) -> Self {
        Self {
            app,
            team_id,
            source,
            cursor,
            done: false,
        }
    }

    /// Writes the next page's records into `buf`; returns how many, or `None` at the end.
    pub async fn next(&mut self, buf: &mut CsvBuf) -> anyhow::Result<Option<usize>> {
        if self.done {
            return Ok(None);
        }
        let batch = self
            .source
            .page(self.app, self.team_id, self.cursor.as_deref(), PAGE_ROWS)
            .await?;
        if batch.records.is_empty() && self.cursor.is_some() {
            // A page after one that had more found nothing: its cursor row is gone.
            return Err(CursorGone.into());
        }
        for record in &batch.records {
            buf.record(record)?;
        }
        if batch.last_id.is_some() {
            self.cursor = batch.last_id;
        }
        self.done = !batch.has_more;
        Ok(Some(batch.records.len()))
    }

    /// The cursor after the pages read.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Whether the last page was read.
    pub fn done(&self) -> bool {
        self.done
    }
}

/// The queue's handler for [`JOB`].
pub async fn run_job(app: &App, job: &Job) -> anyhow::Result<()> {
    let payload: JobPayload = job.payload()?;
    let result = process(app, &payload.export_id, &mut |_| {}).await;
    if let Err(err) = &result
        && job.attempts >= job.max_attempts
    {
        mark_failed(app, &payload.export_id, &format!("{err:#}")).await?;
    }
    result?;
    notify(app, &payload.export_id).await
}

async fn mark_failed(app: &App, export_id: &str, error: &str) -> anyhow::Result<()> {
    sql::run(
        app.db(),
        &[Stmt::new(
            "UPDATE exports SET status = $2, error = $3, updated_at = $4 \
             WHERE id = $1 AND status = $5",
        )
        .text(export_id)
        .text(FAILED)
        .text(error)
        .int(app.now_ms())
        .text(PROCESSING)],
    )
    .await?;
    Ok(())
}

/// Writes (or resumes) an export's file to its end; `on_progress` hears the rows written.
pub async fn process(
    app: &App,
    export_id: &str,
    on_progress: &mut (dyn FnMut(i64) + Send),
) -> anyhow::Result<()> {
    let Some(export) = load(app, export_id).await? else {
        return Ok(()); // deleted with its team
    };
    if export.status != PROCESSING {
        return Ok(());
    }
    let kind = Kind::parse(&export.kind).context("unknown export kind")?;
    let source = Source::open(app, &export.team_id, kind, &export.filters).await?;
    let mut buf = CsvBuf::default();
    if export.chunk_count == 0 {
        buf.record(&source.header())?;
    }
    let mut progress = Progress::of(&export);
    let mut pending_rows = 0;
    let mut walk = Walk::new(app, &export.team_id, &source, export.cursor.clone());
    loop {
        let rows = match walk.next(&mut buf).await {
            Ok(Some(rows)) => rows,
            Ok(None) => break,
            // Retrying cannot help: the export fails at once, saying why.
            Err(err) if err.is::<CursorGone>() => {
                mark_failed(app, export_id, &err.to_string()).await?;
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        pending_rows += rows as i64;
        let done = walk.done();
        if !done && buf.len() < CHUNK_BYTES {
            continue;
        }
        let data = buf.take()?;
        let next = Progress {
            rows: progress.rows + pending_rows,
            chunks: progress.chunks + i32::from(!data.is_empty()),
            bytes: progress.bytes + data.len() as i64,
            cursor: walk.cursor().map(str::to_string),
        };
        match commit(app, export_id, &progress, &next, data, done).await {
            // Another run took the export over (its lease ran out): it goes on alone.
            Err(err) if sql::is_conflict(&err) => return Ok(()),
            other => other?,
        }
        progress = next;
        pending_rows = 0;
        on_progress(progress.rows);
    }
    Ok(())
}

struct Progress {
    rows: i64,
    chunks: i32,
    bytes: i64,
    cursor: Option<String>,
}

impl Progress {
    fn of(export: &Export) -> Self {
        Self {
            rows: export.rows_done,
            chunks: export.chunk_count,
            bytes: export.bytes,
            cursor: export.cursor.clone(),
        }
    }
}

/// Stores a chunk with the progress after it, if the export is still where `before` says;
/// the last one (`done`) also marks the export ready.
async fn commit(
    app: &App,
    export_id: &str,
    before: &Progress,
    after: &Progress,
    data: Vec<u8>,
    done: bool,
) -> sql::StoreResult<()> {
    let now = app.now_ms();
    let mut stmts = vec![
        Stmt::new(
            "UPDATE exports SET rows_done = $2, chunk_count = $3, bytes = $4, cursor = $5, \
             status = $6, completed_at = $7, expires_at = $8, updated_at = $9 \
             WHERE id = $1 AND status = $10 AND chunk_count = $11",
        )
        .text(export_id)
        .int(after.rows)
        .int(i64::from(after.chunks))
        .int(after.bytes)
        .opt_text(after.cursor.clone())
        .text(if done { READY } else { PROCESSING })
        .opt_int(done.then_some(now))
        .opt_int(done.then(|| expiry(app, now)))
        .int(now)
        .text(PROCESSING)
        .int(i64::from(before.chunks))
        .expect_rows(1),
    ];
    if !data.is_empty() {
        stmts.push(
            Stmt::new("INSERT INTO export_chunks (export_id, seq, data) VALUES ($1, $2, $3)")
                .text(export_id)
                .int(i64::from(before.chunks))
                .bytes(data),
        );
    }
    sql::run(app.db(), &stmts).await.map(|_| ())
}

/// Emails every admin of the team that a ready export can be downloaded, once. A refused
/// send (no sender configured, sender domain not verified) is recorded on the export and
/// shown on its page; it is not retried.
pub async fn notify(app: &App, export_id: &str) -> anyhow::Result<()> {
    let Some(export) = load(app, export_id).await? else {
        return Ok(());
    };
    if export.status != READY || export.notified_at.is_some() {
        return Ok(());
    }
    let admins = crate::auth::members::admin_emails(app, &export.team_id).await?;
    let kind = export.kind().map_or("records", |k| k.label());
    let filters = super::describe(&export.filters)
        .into_iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>();
    let text = format!(
        "{who} exported {rows} {what}{filters}.\n\n\
         Admins of the team can download the CSV file until {until} (UTC):\n{link}\n",
        who = export.requested_by,
        rows = export.rows_done,
        what = kind.to_lowercase(),
        filters = if filters.is_empty() {
            String::new()
        } else {
            format!(" ({})", filters.join(", "))
        },
        until = crate::clock::iso_timestamp(export.expires_at.unwrap_or_default()),
        link = link(app, &export.id),
    );
    let settings = app.settings();
    let from = if settings.exports.from.trim().is_empty() {
        &settings.notifications.from
    } else {
        &settings.exports.from
    };
    let subject = format!("Your export of {} is ready", kind.to_lowercase());
    let mut refused = None;
    // At most 50 recipients an email, as any email.
    for to in admins.chunks(50) {
        if let Err(err) = crate::emails::service::send_notice_from(
            app,
            from,
            &export.team_id,
            to,
            &subject,
            &text,
        )
        .await
        {
            if err.is_failure() {
                return Err(err.into());
            }
            refused = Some(err.to_string());
        }
    }
    let now = app.now_ms();
    sql::run(
        app.db(),
        &[Stmt::new(
            "UPDATE exports SET notified_at = $2, notice_error = $3, updated_at = $2 \
             WHERE id = $1",
        )
        .text(export_id)
        .int(now)
        .opt_text(refused)],
    )
    .await?;
    Ok(())
}

/// The export's page, where admins download it.
pub fn link(app: &App, export_id: &str) -> String {
    format!(
        "{}/dashboard/settings/exports/{export_id}",
        app.public_base_url().trim_end_matches('/')
    )
}

/// Writes the whole export of `kind` with `filters` (a query string) to `out`, a page at a
/// time (`herald export`); `on_progress` hears the rows written. Returns the rows.
pub async fn write_to(
    app: &App,
    team_id: &str,
    kind: Kind,
    filters: &str,
    out: &mut (impl std::io::Write + Send),
    on_progress: &mut (dyn FnMut(i64) + Send),
) -> anyhow::Result<i64> {
    let filters = super::clean_filters(kind, filters);
    let source = Source::open(app, team_id, kind, &filters).await?;
    let mut buf = CsvBuf::default();
    buf.record(&source.header())?;
    let mut rows = 0;
    let mut walk = Walk::new(app, team_id, &source, None);
    while let Some(n) = walk.next(&mut buf).await? {
        rows += n as i64;
        if walk.done() || buf.len() >= CHUNK_BYTES {
            out.write_all(&buf.take()?)?;
        }
        on_progress(rows);
    }
    out.flush()?;
    Ok(rows)
}
