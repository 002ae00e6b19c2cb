//! Every API request is logged (method, path, status, user agent, key, time, duration).
//! Handlers hand entries to a channel; one writer stores them in batches and folds the same
//! batch into each key's `last_used_at` and request count, so logging costs a request no
//! database round trip of its own.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::clock::Millis;
use crate::on_db;
use crate::store::BeginWrite;
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
}

const CAPACITY: usize = 65_536;
const BATCH: usize = 500;

pub struct RequestLog {
    sender: mpsc::Sender<LogEntry>,
    receiver: parking_lot::Mutex<Option<mpsc::Receiver<LogEntry>>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        Self {
            sender,
            receiver: parking_lot::Mutex::new(Some(receiver)),
        }
    }
}

impl RequestLog {
    pub fn record(&self, entry: LogEntry) {
        if self.sender.try_send(entry).is_err() {
            tracing::warn!("request log queue is full; dropping a log entry");
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
                if let Err(err) = write_batch(&app, &batch).await {
                    tracing::error!(error = %err, "writing request logs");
                }
                batch.clear();
            }
            if stopping {
                return;
            }
        }
    })
}

async fn write_batch(app: &App, batch: &[LogEntry]) -> anyhow::Result<()> {
    let mut usage: HashMap<&str, (i64, Millis)> = HashMap::new();
    for entry in batch {
        if let Some(key) = &entry.api_key_id {
            let slot = usage.entry(key.as_str()).or_insert((0, 0));
            slot.0 += 1;
            slot.1 = slot.1.max(entry.created_at);
        }
    }
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        for e in batch {
            sqlx::query(
                "INSERT INTO request_logs (id, team_id, api_key_id, method, path, status, user_agent, \
                 duration_us, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(new_id())
            .bind(&e.team_id)
            .bind(&e.api_key_id)
            .bind(&e.method)
            .bind(&e.path)
            .bind(e.status as i32)
            .bind(&e.user_agent)
            .bind(e.duration_us)
            .bind(e.created_at)
            .execute(&mut *tx)
            .await?;
        }
        for (key, (count, last)) in &usage {
            sqlx::query(
                "UPDATE api_keys SET request_count = request_count + $2, last_used_at = \
                 CASE WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 ELSE last_used_at END \
                 WHERE id = $1",
            )
            .bind(*key)
            .bind(*count)
            .bind(*last)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })?;
    Ok(())
}
