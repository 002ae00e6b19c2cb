//! Request logs: every API request with its endpoint, method, status, user agent, key, time
//! and both bodies (secrets redacted, see [`body`]). This module owns `request_logs`: the
//! request log writer (`http::request_log`) stores batches through [`insert_batch`], `GET
//! /logs` and the dashboard read through [`list`] and [`get`], and [`purge`] applies
//! `[logs] keep_days`.
//!
//! A request body of [`MIN_PACKED`] bytes or more is stored zstd-compressed in
//! `request_body_zstd` (migration 0153) with `request_body` NULL: a single 50 KB send's body
//! is as large as the email it carries, whose own copy is compressed (`emails::body`), so
//! kept as it came the log held more than the email. Rows written before, and small bodies,
//! keep the text in `request_body`; [`get`] reads either back as the same text.

pub mod body;

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::{Millis, resend_timestamp};
use crate::handle::App;
use crate::on_db;
use crate::store::Db;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::{self, Arg, BindArgs, Placeholders};
use crate::zstd_frame;

/// Request bodies shorter than this are stored as text (a zstd frame costs about a dozen
/// bytes, and a short body gains little).
pub const MIN_PACKED: usize = 256;
/// What a stored frame may claim: a kept body is at most [`body::MAX_BODY`] bytes and a
/// marker; more is a damaged row.
const MAX_UNPACKED: usize = 4 * body::MAX_BODY;

/// One request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub id: String,
    pub api_key_id: Option<String>,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub user_agent: Option<String>,
    pub duration_us: i64,
    pub created_at: Millis,
}

/// One request with its bodies (JSON text).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogDetail {
    #[sqlx(flatten)]
    pub row: LogRow,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

const COLUMNS: &str = "id, api_key_id, method, path, status, user_agent, duration_us, created_at";

/// A row to store: [`LogDetail`] with its team, its request body compressed when that is
/// worth it ([`NewLog::new`]; CPU work, so the request log writer makes them on a blocking
/// thread, not in the database writer's turn).
#[derive(Debug, Clone)]
pub struct NewLog {
    team_id: String,
    detail: LogDetail,
    request_body_zstd: Option<Vec<u8>>,
}

impl NewLog {
    pub fn new(team_id: String, mut detail: LogDetail) -> NewLog {
        let request_body_zstd = detail
            .request_body
            .as_deref()
            .filter(|text| text.len() >= MIN_PACKED)
            .and_then(|text| zstd_frame::compress(text.as_bytes()))
            .filter(|packed| {
                detail
                    .request_body
                    .as_ref()
                    .is_some_and(|t| packed.len() < t.len())
            });
        if request_body_zstd.is_some() {
            detail.request_body = None;
        }
        NewLog {
            team_id,
            detail,
            request_body_zstd,
        }
    }
}

/// A stored row as selected: the request body in one of its two columns.
#[derive(sqlx::FromRow)]
struct StoredDetail {
    #[sqlx(flatten)]
    row: LogRow,
    request_body: Option<String>,
    request_body_zstd: Option<Vec<u8>>,
    response_body: Option<String>,
}

/// Why a stored request body cannot be read back (a damaged row).
#[derive(Debug, thiserror::Error)]
#[error("the stored request body is damaged: {0}")]
struct Damaged(String);

impl StoredDetail {
    fn detail(self) -> sqlx::Result<LogDetail> {
        let request_body = match self.request_body_zstd {
            Some(packed) => {
                let text = zstd_frame::decompress(&packed, MAX_UNPACKED)
                    .and_then(|plain| String::from_utf8(plain).map_err(|_| "not UTF-8".into()))
                    .map_err(|err| sqlx::Error::Decode(Box::new(Damaged(err))))?;
                Some(text)
            }
            None => self.request_body,
        };
        Ok(LogDetail {
            row: self.row,
            request_body,
            response_body: self.response_body,
        })
    }
}

/// `GET /logs` items (Resend's `LogSummary`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LogSummary {
    pub id: String,
    pub created_at: String,
    pub endpoint: String,
    pub method: String,
    pub response_status: i32,
    pub user_agent: Option<String>,
}

impl From<&LogRow> for LogSummary {
    fn from(row: &LogRow) -> Self {
        Self {
            id: row.id.clone(),
            created_at: resend_timestamp(row.created_at),
            endpoint: row.path.clone(),
            method: row.method.clone(),
            response_status: row.status,
            user_agent: row.user_agent.clone(),
        }
    }
}

/// `GET /logs/{id}` (Resend's `Log`): the summary's fields and the bodies.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Log)]
pub struct LogView {
    pub object: &'static str,
    #[serde(flatten)]
    pub summary: LogSummary,
    #[schema(value_type = Option<Object>)]
    pub request_body: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub response_body: Option<serde_json::Value>,
}

impl From<&LogDetail> for LogView {
    fn from(log: &LogDetail) -> Self {
        let parse =
            |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str(t).ok());
        Self {
            object: "log",
            summary: LogSummary::from(&log.row),
            request_body: parse(&log.request_body),
            response_body: parse(&log.response_body),
        }
    }
}

/// A status class: 2xx, 3xx, 4xx or 5xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusClass(pub u16);

impl StatusClass {
    /// Reads `2xx`, `4xx`, `5xx` (or `2`, `4`, `5`).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let digit = text.strip_suffix("xx").unwrap_or(&text);
        match digit {
            "1" | "2" | "3" | "4" | "5" => digit.parse().ok().map(Self),
            _ => None,
        }
    }
    pub fn label(self) -> String {
        format!("{}xx", self.0)
    }
}

/// The methods the list can be narrowed to.
pub const METHODS: &[&str] = &["GET", "POST", "PATCH", "PUT", "DELETE"];

/// The list's filters as a query string gives them (the dashboard's Logs page, an export).
#[derive(Debug, Default, serde::Deserialize)]
pub struct FilterParams {
    pub key: Option<String>,
    pub status: Option<String>,
    pub method: Option<String>,
    pub endpoint: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

/// The filters as the list takes them; a date that does not read is reported.
pub fn read_filter(params: &FilterParams) -> (LogFilter, Option<&'static str>) {
    use crate::filters::{DATE_PROBLEM, day_range, text_param};
    let (since, until, bad_date) = day_range(&params.since, &params.until);
    let method = text_param(&params.method)
        .map(|m| m.to_ascii_uppercase())
        .filter(|m| METHODS.contains(&m.as_str()));
    let filter = LogFilter {
        api_key_id: text_param(&params.key),
        status: text_param(&params.status).and_then(|s| StatusClass::parse(&s)),
        method,
        endpoint: text_param(&params.endpoint),
        since,
        until,
    };
    (filter, bad_date.then_some(DATE_PROBLEM))
}

/// What the dashboard narrows the list by; every part optional, parts combine.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LogFilter {
    pub api_key_id: Option<String>,
    pub status: Option<StatusClass>,
    /// Upper-case method.
    pub method: Option<String>,
    /// Endpoints starting with this path (`/emails` matches `/emails/{id}` too).
    pub endpoint: Option<String>,
    /// At or after.
    pub since: Option<Millis>,
    /// Before.
    pub until: Option<Millis>,
}

impl LogFilter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The WHERE fragment and its binds, numbered from `$3` (the page binds `$1`, `$2`).
    fn conditions(&self) -> (String, Vec<Arg>) {
        let mut parts = vec!["TRUE".to_string()];
        let mut binds = Vec::new();
        let mut bind = |value: Arg| {
            binds.push(value);
            binds.len() + 2
        };
        if let Some(key) = &self.api_key_id {
            let n = bind(Arg::Text(Some(key.clone())));
            parts.push(format!("api_key_id = ${n}"));
        }
        if let Some(StatusClass(class)) = self.status {
            let low = i64::from(class) * 100;
            let a = bind(Arg::Int(low));
            let b = bind(Arg::Int(low + 100));
            parts.push(format!("status >= ${a} AND status < ${b}"));
        }
        if let Some(method) = &self.method {
            let n = bind(Arg::Text(Some(method.to_ascii_uppercase())));
            parts.push(format!("method = ${n}"));
        }
        if let Some(endpoint) = &self.endpoint {
            let path = if endpoint.starts_with('/') {
                endpoint.clone()
            } else {
                format!("/{endpoint}")
            };
            let escaped = path
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let n = bind(Arg::Text(Some(format!("{escaped}%"))));
            parts.push(format!("path LIKE ${n} ESCAPE '\\'"));
        }
        if let Some(since) = self.since {
            parts.push(format!("created_at >= ${}", bind(Arg::Int(since))));
        }
        if let Some(until) = self.until {
            parts.push(format!("created_at < ${}", bind(Arg::Int(until))));
        }
        (parts.join(" AND "), binds)
    }
}

/// One page of the team's logs matching `filter`, newest first.
pub async fn list(
    app: &App,
    team_id: &str,
    page: &Page,
    filter: &LogFilter,
) -> sqlx::Result<ListResponse<LogRow>> {
    let (filter_sql, binds) = filter.conditions();
    let sql = page.sql(COLUMNS, "request_logs", &filter_sql);
    let rows = on_db!(app.db(), |pool| {
        sqlx::query_as::<_, LogRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(team_id)
            .bind(page.cursor_id())
            .bind_args(&binds)
            .fetch_all(pool)
            .await
    })?;
    Ok(page.finish(rows))
}

/// One of the team's logs with its bodies.
pub async fn get(app: &App, team_id: &str, id: &str) -> sqlx::Result<Option<LogDetail>> {
    let sql = format!(
        "SELECT {COLUMNS}, request_body, request_body_zstd, response_body FROM request_logs \
         WHERE id = $1 AND team_id = $2"
    );
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, StoredDetail>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(id)
    .bind(team_id)
    .fetch_optional(pool)
    .await)?;
    row.map(StoredDetail::detail).transpose()
}

/// Stores a batch of logs (only when `store_rows`: `[logs] enabled`) and folds it into each
/// key's `last_used_at` and request count, in one transaction.
pub async fn insert_batch(db: &Db, logs: Vec<NewLog>, store_rows: bool) -> sql::StoreResult<()> {
    let mut usage: HashMap<String, (i64, Millis)> = HashMap::new();
    for log in &logs {
        if let Some(key) = &log.detail.row.api_key_id {
            let slot = usage.entry(key.clone()).or_insert((0, 0));
            slot.0 += 1;
            slot.1 = slot.1.max(log.detail.row.created_at);
        }
    }
    let rows: Vec<Vec<Arg>> = logs
        .into_iter()
        .filter(|_| store_rows)
        .map(|log| {
            let NewLog {
                team_id,
                detail,
                request_body_zstd,
            } = log;
            let r = detail.row;
            vec![
                Arg::Text(Some(r.id)),
                Arg::Text(Some(team_id)),
                Arg::Text(r.api_key_id),
                Arg::Text(Some(r.method)),
                Arg::Text(Some(r.path)),
                Arg::Int(i64::from(r.status)),
                Arg::Text(r.user_agent),
                Arg::Int(r.duration_us),
                Arg::Int(r.created_at),
                Arg::Text(detail.request_body),
                Arg::OptBytes(request_body_zstd),
                Arg::Text(detail.response_body),
            ]
        })
        .collect();
    let mut stmts = sql::bulk_insert(
        Placeholders::of(db),
        "INSERT INTO request_logs (id, team_id, api_key_id, method, path, status, user_agent, \
         duration_us, created_at, request_body, request_body_zstd, response_body)",
        rows,
        "",
    );
    let mut keys: Vec<_> = usage.into_iter().collect();
    keys.sort();
    for (key, (count, last)) in keys {
        stmts.push(crate::auth::api_keys::usage(&key, count, last));
    }
    sql::run(db, &stmts).await?;
    Ok(())
}

/// Deletes the logs older than `[logs] keep_days` at `app.now_ms()`, oldest first, `batch`
/// rows per statement; returns how many. `keep_days = 0` keeps them forever.
pub async fn purge(app: &App, batch: i64) -> Result<u64, sqlx::Error> {
    let days = app.settings().logs.keep_days;
    if days == 0 {
        return Ok(0);
    }
    let cutoff = app
        .now_ms()
        .saturating_sub(Millis::try_from(days.saturating_mul(86_400_000)).unwrap_or(Millis::MAX));
    crate::queue::purge::delete_in_batches(
        app.delivery().bookkeeping(),
        "request_logs",
        "TRUE",
        "created_at",
        cutoff,
        batch,
    )
    .await
}
