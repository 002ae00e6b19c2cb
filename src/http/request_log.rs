//! Every API request is logged (method, path, status, user agent, key, time, duration and
//! both bodies). The gate hands entries to a channel and returns; one writer task turns a
//! batch into stored rows (redacting the bodies and compressing the request's on a blocking
//! thread, see [`crate::logs::body`] and [`NewLog::new`]) and stores it with each key's `last_used_at` and request count in
//! one transaction, so logging costs a request no database round trip and no parsing.
//!
//! Bodies are captured without copying: the request body's chunks are shared (`Bytes`) as
//! the handler reads them (and, once the JSON extractor has gathered them into one buffer,
//! that buffer instead, [`BodyTap::replace`]), and the response body of an API answer is
//! already one buffer. A large request body (over [`REDACT_EARLY_BYTES`]) is not kept whole:
//! what the log stores of it is at most [`crate::logs::body::MAX_BODY`] bytes, so it is
//! redacted on a blocking thread as soon as the extractor has it, and the body's buffer is
//! freed once both the handler's parse and that redaction are done, instead of living as long
//! as the handler and then waiting in the channel for the writer's batch (at 5 MB a body,
//! those held buffers were the largest part of the peak, see docs/performance.md).
//! What waits in the channel or is being written is bounded ([`MAX_QUEUED_BODY_BYTES`]): past
//! it, entries are still logged but their bodies are replaced by a marker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use futures::TryStreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::Millis;
use crate::handle::App;
use crate::logs::{LogDetail, LogRow, NewLog};
use crate::store::new_id;

#[derive(Debug, Clone)]
pub struct LogEntry {
    pub team_id: String,
    pub api_key_id: Option<String>,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub user_agent: Option<String>,
    pub duration_us: i64,
    pub created_at: Millis,
    /// `None` when request logging is off (`[logs] enabled = false`): only key usage counts.
    pub bodies: Option<Bodies>,
}

/// The raw bodies of one request, as captured.
#[derive(Debug, Clone, Default)]
pub struct Bodies {
    pub request: RequestBody,
    /// `None` for a response that was streamed (not kept).
    pub response: Option<Bytes>,
    /// Dropped because too much was waiting to be written.
    pub dropped: bool,
}

/// A request body as the log holds it until its writer stores it.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// As read (shared chunks, or the extractor's one buffer): redacted by the writer.
    Raw(Vec<Bytes>),
    /// Already redacted ([`crate::logs::body::sanitize`]'s text).
    Stored(Option<String>),
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody::Raw(Vec::new())
    }
}

impl RequestBody {
    fn size(&self) -> usize {
        match self {
            RequestBody::Raw(chunks) => chunks.iter().map(Bytes::len).sum(),
            RequestBody::Stored(text) => text.as_ref().map_or(0, String::len),
        }
    }
}

impl Bodies {
    fn size(&self) -> usize {
        self.request.size() + self.response.as_ref().map_or(0, Bytes::len)
    }
}

/// Request bodies larger than this are redacted as soon as the extractor has them (see the
/// module's documentation); smaller ones are shared with the handler and redacted in the
/// writer's batch, which costs less per body.
pub const REDACT_EARLY_BYTES: usize = crate::logs::body::MAX_BODY;

#[derive(Default)]
enum Tapped {
    #[default]
    Empty,
    Chunks(Vec<Bytes>),
    /// An extractor reads the body into one buffer and hands it over ([`BodyTap::replace`]).
    ReadingWhole,
    Redacting(tokio::task::JoinHandle<Option<String>>),
}

/// Collects a request body's chunks as the handler reads them (shared, not copied).
#[derive(Clone, Default)]
pub struct BodyTap(Arc<parking_lot::Mutex<Tapped>>);

impl BodyTap {
    pub fn wrap(&self, body: Body) -> Body {
        let tap = self.clone();
        Body::from_stream(body.into_data_stream().inspect_ok(move |chunk| {
            let mut tapped = tap.0.lock();
            match &mut *tapped {
                Tapped::Chunks(chunks) => chunks.push(chunk.clone()),
                // Read again after the extractor had it whole: not expected; keep the first.
                Tapped::Redacting(_) | Tapped::ReadingWhole => {}
                Tapped::Empty => *tapped = Tapped::Chunks(vec![chunk.clone()]),
            }
        }))
    }
    /// What the log keeps of the request body (waiting for an early redaction to end).
    pub async fn take(&self) -> RequestBody {
        let tapped = std::mem::take(&mut *self.0.lock());
        match tapped {
            Tapped::Empty | Tapped::ReadingWhole => RequestBody::Raw(Vec::new()),
            Tapped::Chunks(chunks) => RequestBody::Raw(chunks),
            Tapped::Redacting(task) => RequestBody::Stored(task.await.unwrap_or_else(|_| {
                Some("\"[not kept: the request body could not be read for the log]\"".into())
            })),
        }
    }
    /// An extractor is reading the body into one buffer, which it will hand over: the chunks
    /// are not kept meanwhile (they would be a second copy while the body is read).
    pub fn reading_whole(&self) {
        *self.0.lock() = Tapped::ReadingWhole;
    }
    /// The whole body, once an extractor has gathered it into one buffer: the log keeps that
    /// buffer (shared) instead of the chunks, which would be a second copy of the body; or,
    /// for a large body, starts redacting it now, so that the buffer is not held for the log.
    pub fn replace(&self, whole: Bytes) {
        let tapped = if whole.len() > REDACT_EARLY_BYTES {
            Tapped::Redacting(tokio::task::spawn_blocking(move || {
                crate::logs::body::sanitize(&whole)
            }))
        } else {
            Tapped::Chunks(vec![whole])
        };
        *self.0.lock() = tapped;
    }
}

const CAPACITY: usize = 65_536;
const BATCH: usize = 500;
/// Logs stored per transaction (see [`write_batch`]).
const WRITE_CHUNK: usize = 100;
/// Body bytes allowed to wait for the writer or be in its hands; more are not kept (the
/// entry still is).
pub const MAX_QUEUED_BODY_BYTES: usize = 64 * 1024 * 1024;

pub struct RequestLog {
    sender: mpsc::Sender<LogEntry>,
    receiver: parking_lot::Mutex<Option<mpsc::Receiver<LogEntry>>>,
    queued_body_bytes: AtomicUsize,
}

impl App {
    pub fn request_log(&self) -> &RequestLog {
        self.part()
    }
}

impl Default for RequestLog {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        Self {
            sender,
            receiver: parking_lot::Mutex::new(Some(receiver)),
            queued_body_bytes: AtomicUsize::new(0),
        }
    }
}

impl RequestLog {
    pub fn record(&self, mut entry: LogEntry) {
        if let Some(bodies) = &mut entry.bodies {
            let size = bodies.size();
            let queued = self.queued_body_bytes.fetch_add(size, Ordering::Relaxed);
            if queued + size > MAX_QUEUED_BODY_BYTES {
                self.queued_body_bytes.fetch_sub(size, Ordering::Relaxed);
                *bodies = Bodies {
                    dropped: true,
                    ..Bodies::default()
                };
            }
        }
        if let Err(err) = self.sender.try_send(entry) {
            self.release(&err.into_inner());
            tracing::warn!("request log queue is full; dropping a log entry");
        }
    }

    fn release(&self, entry: &LogEntry) {
        if let Some(bodies) = &entry.bodies {
            self.queued_body_bytes
                .fetch_sub(bodies.size(), Ordering::Relaxed);
        }
    }
}

pub fn spawn_writer(app: &App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    let receiver = app.request_log().receiver.lock().take();
    tokio::spawn(async move {
        let Some(mut receiver) = receiver else { return };
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let stopping = tokio::select! {
                n = receiver.recv_many(&mut batch, BATCH) => n == 0,
                _ = shutdown.cancelled() => true,
            };
            // Collect what else is already waiting, briefly, to write fewer, larger batches.
            if !stopping && batch.len() < BATCH {
                let room = BATCH - batch.len();
                let _ = tokio::time::timeout(
                    Duration::from_millis(50),
                    receiver.recv_many(&mut batch, room),
                )
                .await;
            }
            if stopping {
                while let Ok(entry) = receiver.try_recv() {
                    batch.push(entry);
                }
            }
            if !batch.is_empty() {
                // The bodies count against the bound until they are written, not only while
                // they wait: a batch being redacted still holds them.
                let held: usize = batch
                    .iter()
                    .filter_map(|entry| entry.bodies.as_ref())
                    .map(Bodies::size)
                    .sum();
                let entries = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                if let Err(err) = write_batch(&app, entries).await {
                    tracing::error!(error = %err, "writing request logs");
                }
                app.request_log()
                    .queued_body_bytes
                    .fetch_sub(held, Ordering::Relaxed);
            }
            if stopping {
                return;
            }
        }
    })
}

async fn write_batch(app: &App, batch: Vec<LogEntry>) -> anyhow::Result<()> {
    let keep = app.settings().logs.enabled;
    // Parsing and redacting bodies is CPU work: off the async threads.
    let logs = tokio::task::spawn_blocking(move || {
        batch
            .into_iter()
            .map(|entry| stored(entry, keep))
            .collect::<Vec<_>>()
    })
    .await?;
    // Logs say what happened; the bookkeeping connection's durability is enough (on SQLite
    // a commit there does not wait for an fsync). Each chunk is written in the accepting
    // writer's turn, short enough not to hold accepted emails up for long.
    let mut logs = logs.into_iter().peekable();
    while logs.peek().is_some() {
        let chunk: Vec<NewLog> = logs.by_ref().take(WRITE_CHUNK).collect();
        let _turn = crate::emails::group_commit::writer_turn(app).await;
        crate::logs::insert_batch(app.delivery().bookkeeping(), chunk, keep).await?;
    }
    Ok(())
}

/// What is stored of an entry.
fn stored(mut entry: LogEntry, keep_bodies: bool) -> NewLog {
    let (request_body, response_body) = match (entry.bodies.take(), keep_bodies) {
        (Some(bodies), true) if bodies.dropped => {
            let marker = Some("\"[not kept: the request log was busy]\"".to_string());
            (marker.clone(), marker)
        }
        (Some(bodies), true) => {
            let request = match bodies.request {
                RequestBody::Stored(text) => text,
                RequestBody::Raw(chunks) => match chunks.as_slice() {
                    [whole] => crate::logs::body::sanitize(whole),
                    chunks => crate::logs::body::sanitize(&chunks.concat()),
                },
            };
            let response = match &bodies.response {
                Some(bytes) => crate::logs::body::sanitize(bytes),
                None => Some("\"[streamed response: not kept]\"".to_string()),
            };
            (request, response)
        }
        _ => (None, None),
    };
    NewLog::new(
        entry.team_id,
        LogDetail {
            row: LogRow {
                id: new_id(),
                api_key_id: entry.api_key_id,
                method: entry.method,
                path: entry.path,
                status: i32::from(entry.status),
                user_agent: entry.user_agent,
                duration_us: entry.duration_us,
                created_at: entry.created_at,
            },
            request_body,
            response_body,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_large_body_is_redacted_when_handed_over_and_a_small_one_kept_shared() {
        let small = Bytes::from_static(br#"{"to":"a@b.c","password":"p"}"#);
        let tap = BodyTap::default();
        tap.reading_whole();
        tap.replace(small.clone());
        match tap.take().await {
            RequestBody::Raw(chunks) => assert_eq!(chunks, vec![small]),
            RequestBody::Stored(_) => panic!("a small body is redacted by the writer"),
        }

        let html = "x".repeat(REDACT_EARLY_BYTES + 1);
        let large = serde_json::json!({"html": html, "password": "p"}).to_string();
        let expected = crate::logs::body::sanitize(large.as_bytes());
        let tap = BodyTap::default();
        tap.reading_whole();
        tap.replace(Bytes::from(large));
        match tap.take().await {
            RequestBody::Stored(text) => {
                assert_eq!(text, expected);
                let text = text.expect("a body");
                assert!(!text.contains("\"p\""), "{text}");
                assert!(text.len() < 2 * crate::logs::body::MAX_BODY);
            }
            RequestBody::Raw(_) => panic!("a large body is redacted when handed over"),
        }
    }

    #[tokio::test]
    async fn chunks_are_kept_when_no_extractor_takes_the_body_whole() {
        let tap = BodyTap::default();
        let body = tap.wrap(Body::from("{\"a\":1}"));
        let read = axum::body::to_bytes(body, 100).await.unwrap();
        assert_eq!(&read[..], b"{\"a\":1}");
        match tap.take().await {
            RequestBody::Raw(chunks) => assert_eq!(chunks.concat(), b"{\"a\":1}"),
            RequestBody::Stored(_) => panic!("kept as read"),
        }
    }
}
