//! Processing an import. Three stages run at once with small bounded queues between them,
//! so memory stays flat whatever the file size:
//!
//!   chunks from the database ─▶ csv parser (blocking thread) ─▶ batch writer (this task)
//!
//! The writer commits each batch with the import's progress. After a crash the job is
//! claimed again; the parser skips the records already counted in `rows_done` and the
//! import carries on from the next one. Dropping this future (task aborted, process
//! killed) loses at most the batch in flight, whose transaction never committed.

use std::io::Read;

use tokio::sync::mpsc;

use super::batch::{self, Batch, Counts, ImportContext};
use super::column_map::ResolvedMap;
use super::rows::{ParsedRow, RowReader};
use super::{COMPLETED, ContactImport, FAILED, IN_PROGRESS, JobPayload, QUEUED, load};
use crate::audience::{segments, topics};
use crate::handle::App;
use crate::on_db;
use crate::queue::Job;
use crate::store::sql::{self, Stmt};

/// Where an import stands, reported after every batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub rows_done: i64,
    pub bytes_done: u64,
    pub file_bytes: u64,
    pub counts: Counts,
}

impl Progress {
    fn of(import: &ContactImport) -> Self {
        Self {
            rows_done: import.rows_done,
            bytes_done: 0,
            file_bytes: import.file_bytes as u64,
            counts: Counts {
                created: import.created_count,
                updated: import.updated_count,
                skipped: import.skipped_count,
                failed: import.failed_count,
            },
        }
    }
}

/// The queue's handler for [`super::JOB`].
pub async fn run_job(app: &App, job: &Job) -> anyhow::Result<()> {
    let payload: JobPayload = job.payload()?;
    let result = process(app, &payload.import_id, &mut |_| {}).await;
    if let Err(err) = &result
        && job.attempts >= job.max_attempts
    {
        mark_failed(app, &payload.import_id, &format!("{err:#}")).await?;
    }
    result
}

async fn mark_failed(app: &App, id: &str, error: &str) -> anyhow::Result<()> {
    let now = app.now_ms();
    sql::run(
        app.db(),
        &[Stmt::new(
            "UPDATE contact_imports SET status = $2, error = $3, completed_at = $4, updated_at = $4 \
             WHERE id = $1 AND status IN ($5, $6)",
        )
        .text(id)
        .text(FAILED)
        .text(error)
        .int(now)
        .text(QUEUED)
        .text(IN_PROGRESS)],
    )
    .await?;
    Ok(())
}

/// Runs (or resumes) an import to its end. A finished import is left alone.
pub async fn process(
    app: &App,
    import_id: &str,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> anyhow::Result<()> {
    let Some(import) = load(app, import_id).await? else {
        return Ok(()); // deleted with its team
    };
    if import.status == COMPLETED || import.status == FAILED {
        return Ok(());
    }
    if import.status == QUEUED {
        let now = app.now_ms();
        sql::run(
            app.db(),
            &[Stmt::new(
                "UPDATE contact_imports SET status = $2, started_at = $3, updated_at = $3 \
                 WHERE id = $1 AND status = $4",
            )
            .text(import_id)
            .text(IN_PROGRESS)
            .int(now)
            .text(QUEUED)],
        )
        .await?;
    }
    let ctx = context(app, &import).await?;
    let map: ResolvedMap = serde_json::from_str(&import.column_map)?;
    let mut progress = Progress::of(&import);
    on_progress(&progress);

    let (chunk_tx, chunk_rx) = mpsc::channel::<Vec<u8>>(2);
    let (batch_tx, mut batch_rx) = mpsc::channel::<Result<Batch, String>>(2);
    let skip = import.rows_done as u64;
    let batch_rows = super::batch_rows(app.db());
    let parser = tokio::task::spawn_blocking(move || {
        parse(
            ChunkReader::new(chunk_rx),
            RowReader::new(map),
            skip,
            batch_rows,
            batch_tx,
        )
    });

    let feed = async {
        for seq in 0..import.chunk_count {
            let data: Vec<u8> = on_db!(app.db(), |pool| sqlx::query_scalar(
                "SELECT data FROM contact_import_chunks WHERE import_id = $1 AND seq = $2"
            )
            .bind(import_id)
            .bind(seq)
            .fetch_one(pool)
            .await)?;
            if chunk_tx.send(data).await.is_err() {
                break; // the parser stopped; its own result says why
            }
        }
        drop(chunk_tx);
        Ok::<(), anyhow::Error>(())
    };
    let write = async {
        let mut failures_listed = import.failed_count.min(super::MAX_LISTED_FAILURES);
        while let Some(batch) = batch_rx.recv().await {
            let batch = batch.map_err(|e| anyhow::anyhow!("reading the CSV file: {e}"))?;
            let (records, end_byte) = (batch.records, batch.end_byte);
            let counts =
                batch::write(app, &ctx, batch, progress.rows_done, failures_listed).await?;
            failures_listed += counts.failed;
            progress.rows_done += records;
            progress.bytes_done = end_byte;
            progress.counts.created += counts.created;
            progress.counts.updated += counts.updated;
            progress.counts.skipped += counts.skipped;
            progress.counts.failed += counts.failed;
            on_progress(&progress);
        }
        Ok::<(), anyhow::Error>(())
    };
    tokio::try_join!(feed, write)?;
    parser.await??;

    // Done: mark it so and drop the stored file, unless another worker got here first.
    let now = app.now_ms();
    let finished = sql::run(
        app.db(),
        &[
            Stmt::new(
                "UPDATE contact_imports SET status = $2, completed_at = $3, updated_at = $3 \
                 WHERE id = $1 AND status = $4 AND rows_done = $5",
            )
            .text(import_id)
            .text(COMPLETED)
            .int(now)
            .text(IN_PROGRESS)
            .int(progress.rows_done)
            .expect_rows(1),
            Stmt::new("DELETE FROM contact_import_chunks WHERE import_id = $1").text(import_id),
        ],
    )
    .await;
    match finished {
        Err(err) if sql::is_conflict(&err) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// The segments and topics that still exist (one may have been deleted since the upload).
async fn context(app: &App, import: &ContactImport) -> anyhow::Result<ImportContext> {
    let segment_ids: Vec<String> = serde_json::from_str(&import.segments)?;
    let mut kept_segments = Vec::new();
    for id in &segment_ids {
        if let Some(segment) = segments::find(app, &import.team_id, id).await? {
            kept_segments.push(segment);
        }
    }
    #[derive(serde::Deserialize)]
    struct TopicChoice {
        id: String,
        subscription: String,
    }
    let choices: Vec<TopicChoice> = serde_json::from_str(&import.topics)?;
    let mut kept_topics = Vec::new();
    for choice in choices {
        if let Some(topic) = topics::find(app, &import.team_id, &choice.id).await? {
            kept_topics.push((topic, choice.subscription));
        }
    }
    Ok(ImportContext {
        import_id: import.id.clone(),
        team_id: import.team_id.clone(),
        upsert: import.on_conflict == "upsert",
        segments: kept_segments,
        topics: kept_topics,
    })
}

/// A `Read` over chunks arriving on a channel (used from the blocking parser thread).
struct ChunkReader {
    chunks: mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl ChunkReader {
    fn new(chunks: mpsc::Receiver<Vec<u8>>) -> Self {
        Self {
            chunks,
            current: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.chunks.blocking_recv() {
                Some(next) => {
                    self.current = next;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Parses records after the first `skip` ones into batches. Stops quietly when the writer
/// is gone (it failed or was cancelled).
fn parse(
    input: impl Read,
    rows: RowReader,
    skip: u64,
    batch_rows: usize,
    batches: mpsc::Sender<Result<Batch, String>>,
) -> anyhow::Result<()> {
    // The csv reader strips a UTF-8 byte-order mark and reads the header line itself.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(QuoteTracker::new(input));
    let mut record = csv::ByteRecord::new();
    let mut seen: u64 = 0;
    let mut batch = Batch::default();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                let _ = batches.blocking_send(Err(err.to_string()));
                return Ok(());
            }
        }
        seen += 1;
        if seen <= skip {
            continue;
        }
        // A full batch goes once the next record exists, so the file's last record is
        // always in the last batch (where an unterminated quote is reported).
        if batch.rows.len() == batch_rows
            && batches
                .blocking_send(Ok(std::mem::take(&mut batch)))
                .is_err()
        {
            return Ok(());
        }
        batch.rows.push(ParsedRow {
            line: record.position().map_or(0, |p| p.line()),
            result: rows.read(&record),
        });
        batch.records += 1;
        batch.end_byte = reader.position().byte();
    }
    // A quote opened and never closed swallows the rest of the file into one cell of the
    // last record: that record is a failed row, not a contact.
    if reader.get_ref().in_quotes()
        && let Some(last) = batch.rows.last_mut()
    {
        last.result = Err(
            "a quoted cell is never closed (a `\"` is missing): the rest of the file was read \
             into this row"
                .to_string(),
        );
    }
    if batch.records > 0 {
        let _ = batches.blocking_send(Ok(batch));
    }
    Ok(())
}

/// Follows the CSV quoting of what passes through (as the csv crate reads it: a quote opens a
/// quoted cell only at the start of a cell; `""` inside one is a quote), to tell at the end
/// whether a quoted cell was left open.
struct QuoteTracker<R> {
    inner: R,
    state: QuoteState,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    CellStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: the end of the cell, or the first half of `""`.
    QuoteInQuoted,
}

impl<R> QuoteTracker<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            state: QuoteState::CellStart,
        }
    }

    fn in_quotes(&self) -> bool {
        self.state == QuoteState::Quoted
    }
}

impl<R: Read> Read for QuoteTracker<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use QuoteState::*;
        let n = self.inner.read(out)?;
        for &b in &out[..n] {
            self.state = match (self.state, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (_, b',' | b'\n' | b'\r') => CellStart,
                (CellStart, b'"') => Quoted,
                _ => Unquoted,
            };
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::imports::column_map::ResolvedMap;
    use crate::proptest_util::{cases, soup};
    use proptest::prelude::*;

    const CSV_PIECES: &[&str] = &[
        "\"",
        "\"\"",
        ",",
        "\n",
        "\r\n",
        "\r",
        "a@b.test",
        "\u{feff}",
        " ",
        "\0",
        "\u{e9}",
        "email,first_name\n",
    ];

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        fn parsing_arbitrary_csv_never_panics_and_accounts_for_every_record(
            raw in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..1024),
                soup(CSV_PIECES, 80).prop_map(String::into_bytes),
            ],
        ) {
            let batches = parse_bytes(&raw, 0, Some(2), 7);
            let mut last_line = 0;
            for batch in &batches {
                prop_assert_eq!(batch.records as usize, batch.rows.len());
                for row in &batch.rows {
                    // (a bare CR ends a record without starting a line)
                    prop_assert!(row.line >= last_line.max(1), "lines go forward");
                    last_line = row.line;
                }
            }
        }

        #[test]
        fn rows_written_by_the_csv_crate_read_back_the_same(
            rows in prop::collection::vec(
                ("[a-z][a-z0-9_]{0,12}@[a-z][a-z0-9]{0,8}\\.(test|example)", "[^\u{0}]{0,16}", "[^\u{0}]{0,16}"),
                1..20,
            ),
        ) {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(["email", "first_name", "last_name"]).unwrap();
            for (email, first, last) in &rows {
                writer.write_record([email, first, last]).unwrap();
            }
            let file = writer.into_inner().unwrap();
            let batches = parse_bytes(&file, 0, Some(2), 7);
            let parsed: Vec<&ParsedRow> = batches.iter().flat_map(|b| &b.rows).collect();
            prop_assert_eq!(parsed.len(), rows.len());
            let cell = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
            for (row, (email, first, last)) in parsed.iter().zip(&rows) {
                let contact = row.result.as_ref().map_err(|e| TestCaseError::fail(e.clone()))?;
                prop_assert_eq!(&contact.email, email);
                prop_assert_eq!(&contact.first_name, &cell(first));
                prop_assert_eq!(&contact.last_name, &cell(last));
            }
        }
    }

    fn parse_all(csv: &str, skip: u64) -> Vec<Batch> {
        parse_bytes(csv.as_bytes(), skip, None, 500)
    }

    fn parse_bytes(csv: &[u8], skip: u64, last_name: Option<usize>, rows: usize) -> Vec<Batch> {
        let (tx, mut rx) = mpsc::channel(100_000);
        let map = ResolvedMap {
            email: 0,
            first_name: Some(1),
            last_name,
            unsubscribed: None,
            properties: vec![],
        };
        parse(csv, RowReader::new(map), skip, rows, tx).unwrap();
        let mut out = Vec::new();
        while let Ok(batch) = rx.try_recv() {
            out.push(batch.unwrap());
        }
        out
    }

    #[test]
    fn lines_bom_quotes_and_skipping() {
        let csv = "\u{feff}email,name\na@example.com,A\n\"b@example.com\",\"B\nstill B\"\nbad,C\n";
        let batches = parse_all(csv, 0);
        let rows = &batches[0].rows;
        assert_eq!(batches[0].records, 3);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 3);
        assert_eq!(
            rows[1].result.as_ref().unwrap().first_name.as_deref(),
            Some("B\nstill B")
        );
        // The quoted field spans two lines, so the bad row is on line 5.
        assert_eq!(rows[2].line, 5);
        assert!(rows[2].result.is_err());

        let resumed = parse_all(csv, 2);
        assert_eq!(resumed[0].records, 1);
        assert_eq!(resumed[0].rows[0].line, 5);
    }

    #[test]
    fn an_unterminated_quote_fails_the_row_it_swallows() {
        let csv =
            "email,name\na@example.com,A\nb@example.com,\"B\nc@example.com,C\nd@example.com,D\n";
        let batches = parse_all(csv, 0);
        let rows: Vec<_> = batches.iter().flat_map(|b| b.rows.iter()).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].result.is_ok());
        assert_eq!(rows[1].line, 3);
        let why = rows[1].result.as_ref().unwrap_err();
        assert!(why.contains("never closed"), "{why}");
        // Closed quotes, doubled quotes and quotes inside unquoted cells are fine.
        for fine in [
            "email,name\na@example.com,\"A, \"\"Jr\"\"\"\nb@example.com,B\n",
            "email,name\na@example.com,5\" tall\n",
            "email,name\na@example.com,\"multi\nline\"\n",
        ] {
            let batches = parse_all(fine, 0);
            assert!(
                batches
                    .iter()
                    .flat_map(|b| b.rows.iter())
                    .all(|r| r.result.is_ok()),
                "{fine:?}"
            );
        }
        // The last record of a full batch is still the one reported.
        let mut csv = String::from("email\n");
        for i in 0..500 {
            csv.push_str(&format!("u{i}@example.com\n"));
        }
        csv.push_str("\"open@example.com\n");
        let batches = parse_all(&csv, 0);
        assert_eq!(batches.len(), 2);
        assert!(batches[1].rows[0].result.is_err());
    }

    #[test]
    fn chunk_reader_joins_chunks() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(b"ab".to_vec()).unwrap();
        tx.try_send(Vec::new()).unwrap();
        tx.try_send(b"cde".to_vec()).unwrap();
        drop(tx);
        let mut text = String::new();
        ChunkReader::new(rx).read_to_string(&mut text).unwrap();
        assert_eq!(text, "abcde");
    }
}
