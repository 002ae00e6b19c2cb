//! Exports in the dashboard: the "Export" link of each list leads to a confirmation page
//! that repeats the list's filters (`/dashboard/exports/new?kind=…&<filters>`); confirming
//! downloads the CSV at once when it is small and the user an admin, and otherwise records
//! the export for the job (`crate::exports`), which emails the admins. Settings → Exports
//! lists every export of the team with its page; every member sees them, only admins
//! download (the download checks the session's role and team).

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use futures::TryStreamExt;
use serde::Deserialize;

use super::crud::Notice;
use super::csrf::CsrfForm;
use super::format;
use super::pages::{PageError, PageResult, Shell, pager, render};
use super::session::{AdminSession, CurrentSession, Item};
use super::settings::{NAV, Nav, shell};
use crate::auth::sessions::Session;
use crate::exports::csv::CsvBuf;
use crate::exports::sources::Source;
use crate::exports::{self, Export, Kind};
use crate::handle::App;
use crate::http::pagination::{ListQuery, Page};

const NEW: &str = "/dashboard/exports/new";
const LIST: &str = "/dashboard/settings/exports";

pub fn routes() -> Router<App> {
    Router::new()
        .route(NEW, get(confirm_page))
        .route("/dashboard/exports", post(create))
        .route(LIST, get(list_page))
        .route("/dashboard/settings/exports/{id}", get(export_page))
        .route("/dashboard/settings/exports/{id}/download", get(download))
}

pub(crate) use crate::filters::query_params;

/// The address of the Export button of the list of `kind` shown with `query`.
pub(crate) fn link(kind: Kind, query: Option<&str>) -> String {
    let filters = exports::clean_filters(kind, query.unwrap_or_default());
    if filters.is_empty() {
        format!("{NEW}?kind={}", kind.as_str())
    } else {
        format!("{NEW}?kind={}&{filters}", kind.as_str())
    }
}

/// The sidebar entry of a list.
fn section(kind: Kind) -> &'static str {
    match kind {
        Kind::Emails => "emails",
        Kind::Broadcasts => "broadcasts",
        Kind::Contacts | Kind::Segments => "audience",
        Kind::Domains => "domains",
        Kind::Logs => "logs",
        Kind::ApiKeys => "api-keys",
    }
}

#[derive(Template)]
#[template(path = "exports/confirm.html")]
struct ConfirmPage {
    shell: Shell,
    label: &'static str,
    kind: &'static str,
    filters: String,
    described: Vec<(String, String)>,
    back: String,
    inline_rows: u64,
}

#[derive(Deserialize, Default)]
struct KindParam {
    kind: Option<String>,
}

async fn confirm_page(
    State(app): State<App>,
    current: CurrentSession,
    RawQuery(query): RawQuery,
) -> PageResult {
    let query = query.unwrap_or_default();
    let param: KindParam = query_params(&query);
    let kind = param
        .kind
        .as_deref()
        .and_then(Kind::parse)
        .ok_or(PageError::NotFound)?;
    let filters = exports::clean_filters(kind, &query);
    let back = if filters.is_empty() {
        kind.list_path().to_string()
    } else {
        format!("{}?{filters}", kind.list_path())
    };
    let page = ConfirmPage {
        shell: Shell::in_section(&current.session, section(kind)),
        label: kind.label(),
        kind: kind.as_str(),
        described: exports::describe(&filters),
        filters,
        back,
        inline_rows: app.settings().exports.inline_rows,
    };
    Ok(render(StatusCode::OK, &page))
}

/// A CSV file as a download.
fn csv_response(name: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Confirms an export: an admin's small export downloads at once (and is kept with the
/// others); anything else is written by the job, and the admins get an email.
async fn create(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let kind = Kind::parse(form.fields.text("kind")).ok_or(PageError::BadRequest)?;
    let filters = exports::clean_filters(kind, form.fields.text("filters"));
    let by = &session.user.email;
    if session.is_admin() {
        let source = Source::open(&app, team, kind, &filters).await?;
        let limit = i64::try_from(app.settings().exports.inline_rows).unwrap_or(1000);
        let batch = source.page(&app, team, None, limit).await?;
        if !batch.has_more {
            let mut buf = CsvBuf::default();
            let write = |buf: &mut CsvBuf| -> std::io::Result<Vec<u8>> {
                buf.record(&source.header())?;
                for record in &batch.records {
                    buf.record(record)?;
                }
                buf.take()
            };
            let file = write(&mut buf).map_err(|_| PageError::Internal)?;
            let rows = batch.records.len() as i64;
            let export =
                exports::create_ready(&app, team, kind, &filters, by, file.clone(), rows).await?;
            return Ok(csv_response(&export.file_name(), Body::from(file)));
        }
    }
    let export = exports::create_queued(&app, team, kind, &filters, by).await?;
    Ok(Redirect::to(&format!("{LIST}/{}?notice=queued", export.id)).into_response())
}

/// A line of the exports table, and the head of an export's page.
struct Row {
    id: String,
    what: &'static str,
    filters: Vec<(String, String)>,
    by: String,
    rows: i64,
    status: &'static str,
    status_class: &'static str,
    created: String,
    created_exact: String,
    expires: String,
    size: String,
}

fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

impl Row {
    fn of(e: &Export) -> Self {
        let (status, status_class) = match e.status.as_str() {
            exports::READY => ("Ready", "green"),
            exports::EXPIRED => ("Expired", "grey"),
            exports::FAILED => ("Failed", "red"),
            _ => ("Processing", "amber"),
        };
        Self {
            id: e.id.clone(),
            what: e.kind().map_or("?", Kind::label),
            filters: exports::describe(&e.filters),
            by: e.requested_by.clone(),
            rows: e.rows_done,
            status,
            status_class,
            created: format::date(e.created_at),
            created_exact: format::exact(e.created_at),
            expires: e.expires_at.map(format::exact).unwrap_or_default(),
            size: size(e.bytes),
        }
    }
}

#[derive(Template)]
#[template(path = "settings/exports.html")]
struct ListPage {
    shell: Shell,
    tab: &'static str,
    nav: Nav,
    rows: Vec<Row>,
    newer: Option<String>,
    older: Option<String>,
}

async fn list_page(
    State(app): State<App>,
    current: CurrentSession,
    Query(mut query): Query<ListQuery>,
) -> PageResult {
    let session = &current.session;
    query.limit = Some("50".into());
    let page = Page::from_query(&query, None).map_err(|_| PageError::BadRequest)?;
    let list = exports::list(&app, &session.user.team_id, &page).await?;
    let (newer, older) = pager(
        &page,
        &list,
        |r| &r.id,
        |dir, id| format!("{LIST}?{dir}={id}"),
    );
    let page = ListPage {
        shell: shell(session),
        tab: "exports",
        nav: NAV,
        rows: list.data.iter().map(Row::of).collect(),
        newer,
        older,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "settings/export.html")]
struct ExportPage {
    shell: Shell,
    tab: &'static str,
    nav: Nav,
    row: Row,
    ready: bool,
    notice: Option<&'static str>,
    error: Option<String>,
    notice_error: Option<String>,
    list: String,
}

async fn export_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    notice: Notice,
) -> PageResult {
    let session: &Session = &current.session;
    let export = exports::get(&app, &session.user.team_id, &current.id).await?;
    let notice = notice.message(&[(
        "queued",
        "The export is being prepared. Every admin of the team gets an email with a link when \
         it is ready.",
    )]);
    let list = match export.kind() {
        Some(kind) if export.filters.is_empty() => kind.list_path().to_string(),
        Some(kind) => format!("{}?{}", kind.list_path(), export.filters),
        None => LIST.to_string(),
    };
    let page = ExportPage {
        shell: shell(session),
        tab: "exports",
        nav: NAV,
        row: Row::of(&export),
        ready: export.status == exports::READY,
        notice,
        error: export.error.clone(),
        notice_error: export.notice_error.clone(),
        list,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The file, streamed from its stored chunks: admins of the export's team only.
async fn download(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let export = exports::get(&app, &session.user.team_id, &current.id).await?;
    if export.status != exports::READY {
        return Err(PageError::NotFound);
    }
    let stream = exports::file(app.clone(), &export).map_err(std::io::Error::other);
    Ok(csv_response(&export.file_name(), Body::from_stream(stream)))
}
