//! The Logs pages: every API request of the team, newest first, in keyset pages, filtered by
//! API key, status class, method, endpoint and dates; a request's page shows both bodies,
//! pretty-printed (secrets were redacted before they were stored, see `crate::logs::body`).
//! Every team member sees them. The API Keys page links each key's request count here.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;

use super::format;
use super::pages::{KeysetList, PageError, PageResult, Shell, pager, render};
use super::session::CurrentSession;
use crate::auth::api_keys;
use crate::handle::App;
use crate::http::pagination::Page;
use crate::logs::{self, LogRow, StatusClass};

const LIST: &str = "/dashboard/logs";
const SECTION: &str = "logs";
const PAGE_SIZE: u32 = 50;
const DAY_MS: i64 = 24 * 3600 * 1000;
const STATUSES: &[&str] = &["2xx", "4xx", "5xx"];

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page))
        .route("/dashboard/logs/{id}", get(log_page))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(flatten)]
    filter: logs::FilterParams,
}

/// What the filter form shows back.
#[derive(Default)]
struct FilterFields {
    key: String,
    status: String,
    method: String,
    endpoint: String,
    since: String,
    until: String,
}

/// A row of the list.
struct LogItem {
    id: String,
    method: String,
    endpoint: String,
    status: i32,
    tone: &'static str,
    key_name: String,
    at: String,
    ago: String,
}

#[derive(Template)]
#[template(path = "logs/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<LogItem>,
    fields: FilterFields,
    keys: Vec<(String, String)>,
    methods: &'static [&'static str],
    statuses: &'static [&'static str],
    filtered: bool,
    problem: Option<&'static str>,
    newer: Option<String>,
    older: Option<String>,
    /// The current filters as a query string (Exports reuse them).
    query: String,
    /// The Export button's address (these filters).
    export: String,
}

#[derive(Template)]
#[template(path = "logs/detail.html")]
struct LogPage {
    shell: Shell,
    item: LogItem,
    user_agent: String,
    duration: String,
    key_id: Option<String>,
    request_body: Option<String>,
    response_body: Option<String>,
}

/// The badge tone of a status code.
fn tone(status: i32) -> &'static str {
    match status {
        200..=299 => "green",
        400..=499 => "amber",
        500..=599 => "red",
        _ => "grey",
    }
}

/// The filters as a query string (without a cursor).
fn filter_query(params: &ListParams) -> url::form_urlencoded::Serializer<'static, String> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("key", &params.filter.key),
        ("status", &params.filter.status),
        ("method", &params.filter.method),
        ("endpoint", &params.filter.endpoint),
        ("since", &params.filter.since),
        ("until", &params.filter.until),
    ] {
        if let Some(v) = crate::filters::text_param(value) {
            query.append_pair(name, &v);
        }
    }
    query
}

/// Names of the team's keys by id.
async fn key_names(app: &App, team_id: &str) -> Result<Vec<(String, String)>, PageError> {
    let all = Page::everything();
    let keys = api_keys::list(app, team_id, &all).await?;
    Ok(keys.data.into_iter().map(|k| (k.id, k.name)).collect())
}

fn item(row: &LogRow, names: &HashMap<&str, &str>, now: i64) -> LogItem {
    LogItem {
        id: row.id.clone(),
        method: row.method.clone(),
        endpoint: row.path.clone(),
        status: row.status,
        tone: tone(row.status),
        key_name: row
            .api_key_id
            .as_deref()
            .map(|id| names.get(id).copied().unwrap_or("Deleted key").to_string())
            .unwrap_or_default(),
        at: format::exact_seconds(row.created_at),
        ago: format::relative(now, row.created_at),
    }
}

async fn list_page(
    State(app): State<App>,
    request: KeysetList<ListParams, PAGE_SIZE>,
) -> PageResult {
    let team = &request.session.user.team_id;
    let (filter, problem) = logs::read_filter(&request.params.filter);
    let list = logs::list(&app, team, &request.page, &filter).await?;
    let keys = key_names(&app, team).await?;
    let names: HashMap<&str, &str> = keys
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let (newer, older) = pager(
        &request.page,
        &list,
        |r| &r.id,
        |direction, id| {
            let mut query = filter_query(&request.params);
            query.append_pair(direction, id);
            format!("{LIST}?{}", query.finish())
        },
    );
    let now = app.now_ms();
    let fields = FilterFields {
        key: filter.api_key_id.clone().unwrap_or_default(),
        status: filter.status.map(StatusClass::label).unwrap_or_default(),
        method: filter.method.clone().unwrap_or_default(),
        endpoint: filter.endpoint.clone().unwrap_or_default(),
        since: filter.since.map(format::iso_date).unwrap_or_default(),
        until: filter
            .until
            .map(|end| format::iso_date(end - DAY_MS))
            .unwrap_or_default(),
    };
    let rows = list.data.iter().map(|r| item(r, &names, now)).collect();
    let page = ListPage {
        shell: Shell::in_section(&request.session, SECTION),
        rows,
        filtered: !filter.is_empty(),
        fields,
        methods: logs::METHODS,
        statuses: STATUSES,
        problem,
        newer,
        older,
        export: super::exports::link(
            crate::exports::Kind::Logs,
            Some(&filter_query(&request.params).finish()),
        ),
        query: filter_query(&request.params).finish(),
        keys,
    };
    Ok(render(StatusCode::OK, &page))
}

/// A stored body (JSON text), indented for reading.
fn pretty(body: &Option<String>) -> Option<String> {
    let text = body.as_deref()?;
    Some(match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::String(marker)) => marker,
        Ok(value) => serde_json::to_string_pretty(&value).unwrap_or_else(|_| text.to_string()),
        Err(_) => text.to_string(),
    })
}

async fn log_page(
    State(app): State<App>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> PageResult {
    let session = &current.session;
    let team = &session.user.team_id;
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(PageError::NotFound);
    }
    let log = logs::get(&app, team, &id)
        .await?
        .ok_or(PageError::NotFound)?;
    let keys = key_names(&app, team).await?;
    let names: HashMap<&str, &str> = keys
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let row = &log.row;
    let page = LogPage {
        shell: Shell::in_section(session, SECTION),
        item: item(row, &names, app.now_ms()),
        user_agent: row.user_agent.clone().unwrap_or_default(),
        duration: format!("{:.1} ms", row.duration_us as f64 / 1000.0),
        key_id: row.api_key_id.clone(),
        request_body: pretty(&log.request_body),
        response_body: pretty(&log.response_body),
    };
    Ok(render(StatusCode::OK, &page))
}
