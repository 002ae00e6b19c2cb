//! Receiving an import: the file goes into the database chunk by chunk as it arrives (never
//! whole in memory), then the options are checked against its header and the job is queued
//! in the same transaction that makes the import visible.

use serde::Deserialize;
use serde_json::json;

use super::column_map::{self, ResolvedMap};
use super::error::{ImportError, ImportResult};
use super::{CHUNK_BYTES, ContactImport, JOB, JobPayload, MAX_FILE_BYTES, QUEUED, UPLOADING, load};
use crate::audience::properties::Schema;
use crate::audience::segments;
use crate::audience::topics::{self, Choice};
use crate::clock::Millis;
use crate::enqueue_in;
use crate::handle::App;
use crate::on_db;
use crate::queue::NewJob;
use crate::store::new_id;
use crate::store::sql::{self, Stmt};

/// Drafts older than this were interrupted uploads; the next upload of the team removes them.
const STALE_DRAFT_MS: Millis = 3600 * 1000;

/// The form fields besides the file, as sent (JSON texts for the structured ones).
#[derive(Debug, Default, Clone)]
pub struct ImportOptions {
    pub column_map: Option<String>,
    pub on_conflict: Option<String>,
    pub segments: Option<String>,
    pub topics: Option<String>,
}

/// The checked options, stored with the import.
#[derive(Debug, Clone)]
pub struct Plan {
    pub map: ResolvedMap,
    pub upsert: bool,
    pub segment_ids: Vec<String>,
    pub topics: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdRef {
    Id(String),
    Object(crate::serde_util::Object<crate::serde_util::IdObject>),
}

#[derive(Deserialize)]
struct TopicRef {
    id: Option<String>,
    subscription: Option<String>,
}

fn json_field<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
    field: &str,
    shape: &str,
) -> ImportResult<Vec<T>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Vec::new()),
        Some(text) => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            crate::serde_util::strict::deserialize(&mut deserializer)
                .and_then(|value| deserializer.end().map(|()| value))
        }
        .map_err(|_| {
            ImportError::Invalid(format!(
                "The `{field}` field must be a JSON array of {shape}."
            ))
        }),
    }
}

/// Checks every option; `header` is the CSV's first record.
pub async fn check_options(
    app: &App,
    team_id: &str,
    header: &[String],
    options: &ImportOptions,
) -> ImportResult<Plan> {
    let upsert = match options.on_conflict.as_deref().map(str::trim) {
        None | Some("") | Some("skip") => false,
        Some("upsert") => true,
        Some(_) => {
            return Err(ImportError::Invalid(
                "The `on_conflict` field must be \"upsert\" or \"skip\".".into(),
            ));
        }
    };
    let schema = Schema::load(app, team_id).await?;
    let map = column_map::resolve(header, options.column_map.as_deref(), &schema)?;
    column_map::require_email(&map)?;
    let segment_ids: Vec<String> =
        json_field::<IdRef>(options.segments.as_deref(), "segments", "{\"id\"}")?
            .into_iter()
            .map(|r| match r {
                IdRef::Id(id)
                | IdRef::Object(crate::serde_util::Object(crate::serde_util::IdObject { id })) => {
                    id
                }
            })
            .collect();
    let segments = segments::require_all(app, team_id, &segment_ids).await?;
    let choices: Vec<Choice> = json_field::<TopicRef>(
        options.topics.as_deref(),
        "topics",
        "{\"id\", \"subscription\"}",
    )?
    .into_iter()
    .map(|t| Choice {
        id: t.id,
        subscription: t.subscription,
    })
    .collect();
    let topics = topics::check_choices(app, team_id, &choices).await?;
    Ok(Plan {
        map,
        upsert,
        segment_ids: segments.into_iter().map(|s| s.id).collect(),
        topics: topics
            .into_iter()
            .map(|c| (c.topic.id, c.subscription.to_string()))
            .collect(),
    })
}

/// The header (first record) of a CSV file's first bytes.
pub fn read_header(first_bytes: &[u8]) -> ImportResult<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(first_bytes);
    let mut record = csv::ByteRecord::new();
    let found = reader
        .read_byte_record(&mut record)
        .map_err(|e| ImportError::Invalid(format!("The CSV file could not be read: {e}")))?;
    if !found {
        return Err(ImportError::Invalid("The CSV file is empty.".into()));
    }
    if record.iter().any(|cell| cell.contains(&0)) {
        return Err(ImportError::Invalid(
            "The CSV file's header line must not contain NUL characters.".into(),
        ));
    }
    let header: Vec<String> = record
        .iter()
        .map(|cell| {
            String::from_utf8_lossy(cell)
                .trim_start_matches('\u{feff}')
                .to_string()
        })
        .collect();
    Ok(header)
}

/// Counts the CSV records of a file fed in pieces (quoted line breaks and blank lines
/// understood as the import's parser reads them), without keeping them.
struct RecordCounter {
    reader: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    records: i64,
}

impl RecordCounter {
    fn new() -> Self {
        Self {
            reader: csv_core::Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 256],
            records: 0,
        }
    }

    /// Reads a piece of the file.
    fn feed(&mut self, input: &[u8]) {
        if !input.is_empty() {
            self.read(input);
        }
    }

    /// Reads the end of the file (the last record may have no line break).
    fn finish(&mut self) {
        self.read(&[]);
    }

    /// csv_core reads an empty input as the end of the file.
    fn read(&mut self, mut input: &[u8]) {
        use csv_core::ReadRecordResult::*;
        let at_end = input.is_empty();
        loop {
            let (result, read, _, _) =
                self.reader
                    .read_record(input, &mut self.out, &mut self.ends);
            input = &input[read..];
            match result {
                Record => self.records += 1,
                OutputFull | OutputEndsFull => {}
                InputEmpty | End => return,
            }
            if input.is_empty() && !at_end {
                return;
            }
        }
    }

    /// The records after the header, once the end was fed.
    fn rows(&self) -> i64 {
        (self.records - 1).max(0)
    }
}

/// An upload in progress.
pub struct Draft {
    app: App,
    pub id: String,
    team_id: String,
    pub file_name: Option<String>,
    /// Whether the request had a file at all (an empty one is a different mistake).
    pub file_received: bool,
    buffer: Vec<u8>,
    chunks: i32,
    bytes: usize,
    header: Option<Vec<String>>,
    records: RecordCounter,
}

impl Draft {
    pub async fn begin(app: &App, team_id: &str) -> ImportResult<Draft> {
        let now = app.now_ms();
        let id = new_id();
        sql::run(
            app.db(),
            &[
                Stmt::new(
                    "DELETE FROM contact_imports WHERE team_id = $1 AND status = $2 AND created_at < $3",
                )
                .text(team_id)
                .text(UPLOADING)
                .int(now - STALE_DRAFT_MS),
                Stmt::new(
                    "INSERT INTO contact_imports (id, team_id, status, file_bytes, chunk_count, \
                     column_map, on_conflict, segments, topics, created_at, updated_at) \
                     VALUES ($1, $2, $3, 0, 0, '{}', 'skip', '[]', '[]', $4, $4)",
                )
                .text(&id)
                .text(team_id)
                .text(UPLOADING)
                .int(now),
            ],
        )
        .await?;
        Ok(Draft {
            app: app.clone(),
            id,
            team_id: team_id.to_string(),
            file_name: None,
            file_received: false,
            buffer: Vec::with_capacity(CHUNK_BYTES),
            chunks: 0,
            bytes: 0,
            header: None,
            records: RecordCounter::new(),
        })
    }

    /// Appends bytes of the file, storing each full chunk.
    pub async fn push(&mut self, bytes: &[u8]) -> ImportResult<()> {
        self.bytes += bytes.len();
        if self.bytes > MAX_FILE_BYTES {
            return Err(ImportError::Invalid(
                "The `file` must be at most 50 MB.".into(),
            ));
        }
        self.records.feed(bytes);
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= CHUNK_BYTES {
            let rest = self.buffer.split_off(CHUNK_BYTES);
            let chunk = std::mem::replace(&mut self.buffer, rest);
            self.store(chunk).await?;
        }
        Ok(())
    }

    async fn store(&mut self, chunk: Vec<u8>) -> ImportResult<()> {
        if self.chunks == 0 {
            self.header = Some(read_header(&chunk)?);
        }
        sql::run(
            self.app.db(),
            &[Stmt::new(
                "INSERT INTO contact_import_chunks (import_id, seq, data) VALUES ($1, $2, $3)",
            )
            .text(&self.id)
            .int(self.chunks.into())
            .bytes(chunk)],
        )
        .await?;
        self.chunks += 1;
        Ok(())
    }

    /// Stores the rest of the file, checks the options and queues the job to run at
    /// `run_at`. Nothing is visible (or queued) unless all of it succeeds.
    pub async fn finish(
        &mut self,
        options: &ImportOptions,
        run_at: Millis,
    ) -> ImportResult<ContactImport> {
        if !self.buffer.is_empty() {
            let last = std::mem::take(&mut self.buffer);
            self.store(last).await?;
        }
        let Some(header) = self.header.clone() else {
            if self.file_received {
                return Err(ImportError::Invalid("The CSV file is empty.".into()));
            }
            return Err(ImportError::Missing("file"));
        };
        let plan = check_options(&self.app, &self.team_id, &header, options).await?;
        let now = self.app.now_ms();
        let job = NewJob::new(
            JOB,
            &JobPayload {
                import_id: self.id.clone(),
            },
            run_at,
        )
        .unique_key(format!("contact-import:{}", self.id));
        let topics: Vec<_> = plan
            .topics
            .iter()
            .map(|(id, subscription)| json!({"id": id, "subscription": subscription}))
            .collect();
        let map = serde_json::to_string(&plan.map)?;
        let segments = serde_json::to_string(&plan.segment_ids)?;
        let topics = serde_json::to_string(&topics)?;
        let (id, file_name, bytes, chunks) =
            (&self.id, &self.file_name, self.bytes as i64, self.chunks);
        let on_conflict = if plan.upsert { "upsert" } else { "skip" };
        on_db!(self.app.db(), |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE contact_imports SET status = $2, file_name = $3, file_bytes = $4, \
                 chunk_count = $5, column_map = $6, on_conflict = $7, segments = $8, topics = $9, \
                 created_at = $10, updated_at = $10 WHERE id = $1",
            )
            .bind(id)
            .bind(QUEUED)
            .bind(file_name)
            .bind(bytes)
            .bind(chunks)
            .bind(&map)
            .bind(on_conflict)
            .bind(&segments)
            .bind(&topics)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            enqueue_in!(&mut *tx, &job, now)?;
            tx.commit().await
        })?;
        self.app.notify_jobs();
        load(&self.app, &self.id)
            .await?
            .ok_or(ImportError::Vanished)
    }

    /// Stores what is left of the file and keeps the draft for a later [`Draft::finish`]
    /// (the dashboard asks for the column mapping between the two).
    pub async fn park(&mut self) -> ImportResult<()> {
        if !self.buffer.is_empty() {
            let last = std::mem::take(&mut self.buffer);
            self.store(last).await?;
        }
        if self.header.is_none() {
            return Err(if self.file_received {
                ImportError::Invalid("The CSV file is empty.".into())
            } else {
                ImportError::Missing("file")
            });
        }
        self.records.finish();
        sql::run(
            self.app.db(),
            &[Stmt::new(
                "UPDATE contact_imports SET file_name = $2, file_bytes = $3, chunk_count = $4, \
                 file_rows = $5 WHERE id = $1",
            )
            .text(&self.id)
            .opt_text(self.file_name.clone())
            .int(self.bytes as i64)
            .int(self.chunks.into())
            .int(self.records.rows())],
        )
        .await?;
        Ok(())
    }

    /// The records after the header of a parked upload, counted when it was stored.
    pub async fn rows(app: &App, id: &str) -> ImportResult<Option<i64>> {
        Ok(on_db!(app.db(), |pool| sqlx::query_scalar(
            "SELECT file_rows FROM contact_imports WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?
        .flatten())
    }

    /// A parked draft of the team.
    pub async fn resume(app: &App, team_id: &str, id: &str) -> ImportResult<Draft> {
        let import = load(app, id)
            .await?
            .filter(|i| i.team_id == team_id && i.status == UPLOADING && i.chunk_count > 0)
            .ok_or(ImportError::NotFound)?;
        let (header, _) = preview(app, id, 0).await?;
        Ok(Draft {
            app: app.clone(),
            id: import.id,
            team_id: team_id.to_string(),
            file_name: import.file_name,
            file_received: true,
            buffer: Vec::new(),
            chunks: import.chunk_count,
            bytes: import.file_bytes as usize,
            header: Some(header),
            records: RecordCounter::new(),
        })
    }

    pub fn header(&self) -> &[String] {
        self.header.as_deref().unwrap_or_default()
    }

    /// Drops a failed upload and its chunks.
    pub async fn abandon(self) {
        let result = sql::run(
            self.app.db(),
            &[Stmt::new("DELETE FROM contact_imports WHERE id = $1").text(&self.id)],
        )
        .await;
        if let Err(err) = result {
            tracing::warn!(import_id = %self.id, error = %err, "could not remove a failed upload");
        }
    }
}

/// Stores a whole file from a reader (CLI, dashboard): upload, options, job.
pub async fn from_reader(
    app: &App,
    team_id: &str,
    file_name: Option<String>,
    mut reader: impl tokio::io::AsyncRead + Unpin,
    options: &ImportOptions,
    run_at: Millis,
) -> ImportResult<ContactImport> {
    use tokio::io::AsyncReadExt;
    let mut draft = Draft::begin(app, team_id).await?;
    draft.file_name = file_name;
    draft.file_received = true;
    let result = async {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader
                .read(&mut buf)
                .await
                .map_err(|e| ImportError::Invalid(format!("The file could not be read: {e}")))?;
            if n == 0 {
                break;
            }
            draft.push(&buf[..n]).await?;
        }
        Ok::<(), ImportError>(())
    }
    .await;
    let result = match result {
        Ok(()) => draft.finish(options, run_at).await,
        Err(err) => Err(err),
    };
    if result.is_err() {
        draft.abandon().await;
    }
    result
}

/// The header and up to `rows` first records of a stored upload (from its first chunk).
pub async fn preview(
    app: &App,
    id: &str,
    rows: usize,
) -> ImportResult<(Vec<String>, Vec<Vec<String>>)> {
    let first: Vec<u8> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT data FROM contact_import_chunks WHERE import_id = $1 AND seq = 0"
    )
    .bind(id)
    .fetch_one(pool)
    .await)?;
    let header = read_header(&first)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(first.as_slice());
    let records = reader
        .byte_records()
        .take(rows)
        .filter_map(Result::ok)
        .map(|r| {
            r.iter()
                .map(|c| String::from_utf8_lossy(c).to_string())
                .collect()
        })
        .collect();
    Ok((header, records))
}

#[cfg(test)]
mod tests {
    use super::read_header;

    #[test]
    fn records_are_counted_across_pieces() {
        let file = b"email,note\r\nann@x.com,\"two\nlines\"\n\nbo@x.com,x\ncy@x.com,\"a,b\"";
        for split in [1, 7, 20, file.len()] {
            let mut counter = super::RecordCounter::new();
            for piece in file.chunks(split) {
                counter.feed(piece);
            }
            counter.finish();
            assert_eq!(counter.rows(), 3, "pieces of {split}");
        }
        let mut empty = super::RecordCounter::new();
        empty.feed(b"email\n");
        empty.finish();
        assert_eq!(empty.rows(), 0);
    }

    #[test]
    fn header_of_first_bytes() {
        let header =
            read_header(b"\xef\xbb\xbfEmail, First Name ,\"Plan, paid\"\nann@x.com,Ann,pro\n")
                .unwrap();
        assert_eq!(header, vec!["Email", "First Name", "Plan, paid"]);
        assert!(read_header(b"").is_err());
    }
}
