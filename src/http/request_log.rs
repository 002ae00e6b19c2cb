//! Every API request is logged (method, path, status, user agent, key, time, duration and
//! both bodies). The gate hands entries to a channel and returns; one writer task turns a
//! batch into stored rows (redacting the bodies on a blocking thread, see
//! [`crate::logs::body`]) and stores it with each key's `last_used_at` and request count in
//! one transaction, so logging costs a request no database round trip and no parsing.
//!
//! Bodies are captured without copying: the request body's chunks are shared (`Bytes`) as
//! the handler reads them (and, once the JSON extractor has gathered them into one buffer,
//! that buffer instead, [`BodyTap::replace`]), and the response body of an API answer is
//! already one buffer.
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
    pub request: Vec<Bytes>,
    /// `None` for a response that was streamed (not kept).
    pub response: Option<Bytes>,
    /// Dropped because too much was waiting to be written.
    pub dropped: bool,
}

impl Bodies {
    fn size(&self) -> usize {
        self.request.iter().map(Bytes::len).sum::<usize>()
            + self.response.as_ref().map_or(0, Bytes::len)
    }
}

/// Collects a request body's chunks as the handler reads them (shared, not copied).
#[derive(Clone, Default)]
pub struct BodyTap(Arc<parking_lot::Mutex<Vec<Bytes>>>);

impl BodyTap {
    pub fn wrap(&self, body: Body) -> Body {
        let tap = self.clone();
        Body::from_stream(
            body.into_data_stream()
                .inspect_ok(move |chunk| tap.0.lock().push(chunk.clone())),
        )
    }
    pub fn take(&self) -> Vec<Bytes> {
        std::mem::take(&mut *self.0.lock())
    }
    /// The whole body, once an extractor has gathered it into one buffer: the log keeps that
    /// buffer (shared) instead of the chunks, which would be a second copy of the body.
    pub fn replace(&self, whole: Bytes) {
        *self.0.lock() = vec![whole];
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
fn stored(entry: LogEntry, keep_bodies: bool) -> NewLog {
    let (request_body, response_body) = match (&entry.bodies, keep_bodies) {
        (Some(bodies), true) if bodies.dropped => {
            let marker = Some("\"[not kept: the request log was busy]\"".to_string());
            (marker.clone(), marker)
        }
        (Some(bodies), true) => {
            let request: std::borrow::Cow<[u8]> = match bodies.request.as_slice() {
                [whole] => std::borrow::Cow::Borrowed(whole),
                chunks => std::borrow::Cow::Owned(chunks.concat()),
            };
            let response = match &bodies.response {
                Some(bytes) => crate::logs::body::sanitize(bytes),
                None => Some("\"[streamed response: not kept]\"".to_string()),
            };
            (crate::logs::body::sanitize(&request), response)
        }
        _ => (None, None),
    };
    NewLog {
        team_id: entry.team_id,
        detail: LogDetail {
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
    }
}
