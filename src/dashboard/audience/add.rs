//! Add Contacts: typed in (addresses separated by commas or new lines), or a CSV import in
//! three steps: upload (stored at once), map the columns (with a preview of the first rows)
//! and choose a segment, then follow the import as it runs.

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::super::csrf::{self, CsrfForm};
use super::super::format;
use super::super::pages::{PageError, PageResult, Shell, about, placed, plain_error, render};
use super::super::session::{CurrentSession, Item};
use super::{SECTION, Tab, refusal, tabs};
use crate::audience::contacts::{self, ContactInput};
use crate::audience::imports::column_map;
use crate::audience::imports::upload::{self, Draft, ImportOptions};
use crate::audience::imports::{self, ContactImport, Failure, MAX_FILE_BYTES};
use crate::audience::properties::{self, Schema};
use crate::audience::segments::{self, Segment};
use crate::audience::topics::{self, Topic};
use crate::auth::sessions::Session;
use crate::auth::tokens::same;
use crate::handle::App;
use crate::http::pagination::{ListQuery, Page};

const ADD: &str = "/dashboard/audience/contacts/new";
const IMPORTS: &str = "/dashboard/audience/imports";
/// Rows shown in the mapping step's preview.
const PREVIEW_ROWS: usize = 3;

pub fn routes() -> Router<App> {
    Router::new()
        .route(ADD, get(add_page))
        .route("/dashboard/audience/contacts/manual", post(add_manually))
        .route(
            IMPORTS,
            post(upload_file).layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 1024 * 1024)),
        )
        .route("/dashboard/audience/imports/{id}/map", get(map_page))
        .route("/dashboard/audience/imports/{id}/start", post(start))
        .route("/dashboard/audience/imports/{id}", get(import_page))
        .route(
            "/dashboard/audience/imports/{id}/progress",
            get(progress_fragment),
        )
}

/// An import as the pages show it.
pub struct ImportView {
    pub id: String,
    pub file_name: String,
    pub status: String,
    pub finished: bool,
    pub total: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    pub started: String,
    pub error: String,
    pub failures: Vec<Failure>,
}

impl ImportView {
    fn new(i: &ContactImport, now: i64, failures: Vec<Failure>) -> Self {
        Self {
            id: i.id.clone(),
            file_name: i.file_name.clone().unwrap_or_else(|| "upload.csv".into()),
            status: i.status.replace('_', " "),
            finished: i.status == imports::COMPLETED || i.status == imports::FAILED,
            total: i.rows_done,
            created: i.created_count,
            updated: i.updated_count,
            skipped: i.skipped_count,
            failed: i.failed_count,
            started: format::relative(now, i.created_at),
            error: i.error.clone().unwrap_or_default(),
            failures,
        }
    }
}

/// What a manual add did.
pub struct ManualResult {
    pub added: usize,
    pub existing: usize,
    pub refused: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "audience/add.html")]
struct AddPage {
    shell: Shell,
    tabs: Vec<Tab>,
    segments: Vec<Segment>,
    recent: Vec<ImportView>,
    manual_text: String,
    result: Option<ManualResult>,
    upload_error: Option<String>,
}

/// One CSV column in the mapping step.
pub struct ColumnLine {
    pub index: usize,
    pub header: String,
    pub samples: Vec<String>,
    /// The option chosen: "", "email", "first_name", "last_name", "unsubscribed", "p:<key>".
    pub chosen: String,
}

#[derive(Template)]
#[template(path = "audience/import_map.html")]
struct MapPage {
    shell: Shell,
    tabs: Vec<Tab>,
    id: String,
    file_name: String,
    columns: Vec<ColumnLine>,
    /// How many columns feed a field.
    mapped: usize,
    /// (value, label) of every field a column can feed.
    targets: Vec<(String, String)>,
    segments: Vec<Segment>,
    segment_id: String,
    upsert: bool,
    error: Option<String>,
    /// The team's topics, with whether the imported contacts are to be subscribed to each.
    topics: Vec<(Topic, bool)>,
    /// The records after the header, counted at upload (`None` for older uploads).
    rows: Option<i64>,
}

#[derive(Template)]
#[template(path = "audience/import.html")]
struct ImportPage {
    shell: Shell,
    tabs: Vec<Tab>,
    progress: ImportView,
}

#[derive(Template)]
#[template(path = "audience/import_progress.html")]
struct ProgressFragment {
    progress: ImportView,
}

async fn recent_imports(app: &App, team: &str) -> Result<Vec<ImportView>, PageError> {
    let query = ListQuery {
        limit: Some("5".into()),
        ..ListQuery::default()
    };
    let page = Page::from_query(&query, None)?;
    let now = app.now_ms();
    Ok(imports::list(app, team, &page, None)
        .await?
        .data
        .iter()
        .map(|i| ImportView::new(i, now, Vec::new()))
        .collect())
}

async fn add_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    manual_text: String,
    result: Option<ManualResult>,
    upload_error: Option<String>,
) -> PageResult {
    let team = &session.user.team_id;
    let page = AddPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Contacts"),
        segments: segments::all_with_counts(app, team).await?,
        recent: recent_imports(app, team).await?,
        manual_text,
        result,
        upload_error,
    };
    Ok(render(status, &page))
}

async fn add_page(State(app): State<App>, current: CurrentSession) -> PageResult {
    add_response(
        &app,
        &current.session,
        StatusCode::OK,
        String::new(),
        None,
        None,
    )
    .await
}

/// Addresses separated by commas, semicolons, spaces or new lines.
fn split_addresses(text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for part in text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let part = part.trim();
        if !part.is_empty() && !seen.iter().any(|s: &String| s.eq_ignore_ascii_case(part)) {
            seen.push(part.to_string());
        }
    }
    seen
}

async fn add_manually(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let segment: Vec<String> = Some(form.fields.text("segment_id"))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    let text = form.fields.text("emails").to_string();
    let mut result = ManualResult {
        added: 0,
        existing: 0,
        refused: Vec::new(),
    };
    for address in split_addresses(&text) {
        let input = ContactInput {
            email: Some(address.clone()),
            segments: segment.clone(),
            ..ContactInput::default()
        };
        match contacts::create(&app, team, input).await {
            Ok((_, true)) => result.added += 1,
            Ok((_, false)) => result.existing += 1,
            Err(err) => result.refused.push((address, plain_error(&refusal(err)?))),
        }
    }
    let status = if result.added + result.existing == 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // Keep only what was refused in the box, to fix and resend.
    let leftover = result
        .refused
        .iter()
        .map(|(a, _)| a.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    add_response(&app, session, status, leftover, Some(result), None).await
}

/// Why an upload stopped: a refusal to show on the page, or an error page.
type Stopped = Result<String, PageError>;

/// Reads the upload form: the CSRF token must come (as a field, before the file, or as the
/// htmx header) before anything is stored.
async fn receive(
    draft: &mut Draft,
    mut form: Multipart,
    mut token_ok: bool,
    expected: &str,
) -> Result<(), Stopped> {
    let unreadable = |_| Ok("The upload could not be read.".to_string());
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or("") {
            csrf::FORM_FIELD => {
                let sent = field.text().await.map_err(unreadable)?;
                token_ok = token_ok || same(&sent, expected);
            }
            "file" if token_ok => {
                draft.file_name = field.file_name().map(str::to_string);
                draft.file_received = true;
                while let Some(bytes) = field.chunk().await.map_err(unreadable)? {
                    draft.push(&bytes).await.map_err(refusal)?;
                }
            }
            _ if !token_ok => return Err(Err(PageError::Csrf)),
            _ => {}
        }
    }
    if token_ok {
        Ok(())
    } else {
        Err(Err(PageError::Csrf))
    }
}

async fn upload_file(
    State(app): State<App>,
    current: CurrentSession,
    headers: HeaderMap,
    charge: Option<axum::Extension<crate::http::guard::BodyCharge>>,
    form: Result<Multipart, MultipartRejection>,
) -> PageResult {
    // The file is stored chunk by chunk as it arrives, not held whole.
    if let Some(axum::Extension(charge)) = charge {
        charge.set(2 * crate::audience::imports::CHUNK_BYTES as u64);
    }
    let session = &current.session;
    if !csrf::same_origin(&app, &headers) {
        return Err(PageError::Csrf);
    }
    let header_ok = headers
        .get(csrf::HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| same(sent, &session.csrf_token));
    let form = form.map_err(|_| PageError::BadRequest)?;
    let mut draft = Draft::begin(&app, &session.user.team_id).await?;
    let outcome = match receive(&mut draft, form, header_ok, &session.csrf_token).await {
        Ok(()) => draft.park().await.map_err(refusal),
        Err(stopped) => Err(stopped),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("{IMPORTS}/{}/map", draft.id)).into_response()),
        Err(stopped) => {
            draft.abandon().await;
            let message = stopped?;
            add_response(
                &app,
                session,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                None,
                Some(message),
            )
            .await
        }
    }
}

/// The fields a column can feed, as (value, label).
fn targets(schema_keys: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = vec![
        (String::new(), "Do not import".to_string()),
        ("email".into(), "Email".into()),
        ("first_name".into(), "First name".into()),
        ("last_name".into(), "Last name".into()),
        ("unsubscribed".into(), "Unsubscribed".into()),
    ];
    out.extend(
        schema_keys
            .iter()
            .map(|(key, kind)| (format!("p:{key}"), format!("Property {key} ({kind})"))),
    );
    out
}

/// A header or key reduced to its letters and digits, lower-case: "First-Name" → "firstname".
fn canonical(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Other names people give the default fields' columns.
const FIELD_NAMES: [(&str, &[&str]); 4] = [
    ("email", &["email", "emailaddress", "mail", "mailaddress"]),
    (
        "first_name",
        &["firstname", "givenname", "first", "forename"],
    ),
    ("last_name", &["lastname", "surname", "familyname", "last"]),
    (
        "unsubscribed",
        &["unsubscribed", "unsubscribe", "unsub", "optedout", "optout"],
    ),
];

/// Fills the columns nothing was chosen for with the field or property their header obviously
/// names, ignoring case and separators ("Plan" → `plan`, "Seats" → `seats`, "Company" →
/// `company_name`); a target already chosen for another column is not offered twice.
/// `keys` are the custom properties; with none given only the default fields are matched.
fn suggest_more(
    header: &[String],
    mut chosen: Vec<String>,
    keys: &[(String, String)],
) -> Vec<String> {
    chosen.resize(header.len(), String::new());
    for (index, name) in header.iter().enumerate() {
        if !chosen[index].is_empty() {
            continue;
        }
        let name = canonical(name);
        if name.is_empty() {
            continue;
        }
        let field = FIELD_NAMES
            .iter()
            .find(|(_, names)| names.contains(&name.as_str()))
            .map(|(field, _)| field.to_string());
        let property = || {
            keys.iter()
                .map(|(key, _)| key)
                .find(|key| {
                    let key = canonical(key);
                    key == name || key == format!("{name}name") || key == format!("{name}s")
                })
                .map(|key| format!("p:{key}"))
        };
        if let Some(target) = field.or_else(property)
            && !chosen.contains(&target)
        {
            chosen[index] = target;
        }
    }
    chosen
}

async fn custom_properties(app: &App, team: &str) -> Result<Vec<(String, String)>, PageError> {
    Ok(properties::all(app, team)
        .await?
        .into_iter()
        .filter(|p| !p.is_default())
        .map(|p| (p.key, p.kind))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn map_response(
    app: &App,
    session: &Session,
    draft: &Draft,
    status: StatusCode,
    chosen: Option<Vec<String>>,
    segment_id: String,
    upsert: bool,
    error: Option<String>,
    topic_ids: Vec<String>,
) -> PageResult {
    let team = &session.user.team_id;
    let (header, rows) = upload::preview(app, &draft.id, PREVIEW_ROWS).await?;
    let keys = custom_properties(app, team).await?;
    // First visit: the columns Herald would pick by their header names, then the obvious
    // matches left (case, spaces and separators aside: "Plan" → plan, "Company" → company_name).
    let chosen = match chosen {
        Some(c) => c,
        None => {
            let guessed = column_map::resolve(&header, None, &Schema::load(app, team).await?)?;
            let by_api: Vec<String> = (0..header.len())
                .map(|i| {
                    let field = [
                        ("email", Some(guessed.email)),
                        ("first_name", guessed.first_name),
                        ("last_name", guessed.last_name),
                        ("unsubscribed", guessed.unsubscribed),
                    ]
                    .into_iter()
                    .find(|(_, column)| *column == Some(i))
                    .map(|(f, _)| f.to_string());
                    field
                        .or_else(|| {
                            guessed
                                .properties
                                .iter()
                                .find(|p| p.column == i)
                                .map(|p| format!("p:{}", p.key))
                        })
                        .unwrap_or_default()
                })
                .collect();
            suggest_more(&header, by_api, &keys)
        }
    };
    let columns = header
        .iter()
        .enumerate()
        .map(|(index, name)| ColumnLine {
            index,
            header: name.clone(),
            samples: rows
                .iter()
                .map(|r| r.get(index).cloned().unwrap_or_default())
                .collect(),
            chosen: chosen.get(index).cloned().unwrap_or_default(),
        })
        .collect();
    let mapped = chosen.iter().filter(|c| !c.is_empty()).count();
    let page = MapPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Contacts"),
        id: draft.id.clone(),
        file_name: draft
            .file_name
            .clone()
            .unwrap_or_else(|| "upload.csv".into()),
        columns,
        mapped,
        targets: targets(&keys),
        segments: segments::all_with_counts(app, team).await?,
        segment_id,
        upsert,
        topics: topics::all(app, team)
            .await?
            .into_iter()
            .map(|t| {
                let chosen = topic_ids.contains(&t.id);
                (t, chosen)
            })
            .collect(),
        error,
        rows: Draft::rows(app, &draft.id).await?,
    };
    Ok(render(status, &page))
}

async fn map_page(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let draft = Draft::resume(&app, &session.user.team_id, &current.id).await?;
    map_response(
        &app,
        session,
        &draft,
        StatusCode::OK,
        None,
        String::new(),
        false,
        None,
        Vec::new(),
    )
    .await
}

/// The mapping form as Resend's `column_map` JSON.
fn column_map_json(header: &[String], chosen: &[String]) -> String {
    let mut map = Map::new();
    let mut props = Map::new();
    for (name, target) in header.iter().zip(chosen) {
        match target.as_str() {
            "" => {}
            t if t.starts_with("p:") => {
                props.insert(t[2..].to_string(), json!({ "column": name }));
            }
            t => {
                map.insert(t.to_string(), Value::String(name.clone()));
            }
        }
    }
    map.insert("properties".into(), Value::Object(props));
    Value::Object(map).to_string()
}

async fn start(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let mut draft = Draft::resume(&app, &session.user.team_id, &form.id).await?;
    let header = draft.header().to_vec();
    let chosen: Vec<String> = (0..header.len())
        .map(|i| form.fields.text(&format!("col:{i}")).to_string())
        .collect();
    let segment_id = form.fields.text("segment_id").to_string();
    let upsert = form.fields.text("on_conflict") == "upsert";
    let topic_ids = form.fields.suffixes("t:");
    let mut problem = None;
    if chosen.iter().filter(|c| *c == "email").count() != 1 {
        let message = "Choose exactly one column for the email address.";
        problem = Some(about("columns", message));
    }
    for (i, c) in chosen.iter().enumerate() {
        if !c.is_empty() && chosen[..i].contains(c) {
            let message = "Each field can be fed by one column only.";
            problem = Some(about("columns", message));
        }
    }
    if problem.is_none() {
        let options = ImportOptions {
            column_map: Some(column_map_json(&header, &chosen)),
            on_conflict: Some(if upsert { "upsert" } else { "skip" }.into()),
            segments: (!segment_id.is_empty()).then(|| json!([segment_id]).to_string()),
            // The topics ticked: the imported contacts are subscribed to them.
            topics: (!topic_ids.is_empty()).then(|| {
                Value::Array(
                    topic_ids
                        .iter()
                        .map(|id| json!({"id": id, "subscription": "opt_in"}))
                        .collect(),
                )
                .to_string()
            }),
        };
        match draft.finish(&options, app.now_ms()).await {
            Ok(import) => {
                return Ok(Redirect::to(&format!("{IMPORTS}/{}", import.id)).into_response());
            }
            Err(err) => {
                let words = [("segment", "segment_id"), ("topic", "topics")];
                let fields = "columns,segment_id,topics,on_conflict";
                problem = Some(placed(refusal(err)?, fields, &words));
            }
        }
    }
    map_response(
        &app,
        session,
        &draft,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(chosen),
        segment_id,
        upsert,
        problem,
        topic_ids,
    )
    .await
}

async fn view_of(app: &App, team: &str, id: &str) -> Result<ImportView, PageError> {
    let import = imports::get(app, team, id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let failures = imports::failures(app, &import.id, 100).await?;
    Ok(ImportView::new(&import, app.now_ms(), failures))
}

async fn import_page(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let page = ImportPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Contacts"),
        progress: view_of(&app, &session.user.team_id, &current.id).await?,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn progress_fragment(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let fragment = ProgressFragment {
        progress: view_of(&app, &current.session.user.team_id, &current.id).await?,
    };
    Ok(render(StatusCode::OK, &fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_on_commas_and_lines() {
        assert_eq!(
            split_addresses("a@x.com, b@x.com\nc@x.com;;A@X.com\r\n\n d@x.com "),
            vec!["a@x.com", "b@x.com", "c@x.com", "d@x.com"]
        );
    }

    #[test]
    fn obvious_headers_are_matched() {
        let header: Vec<String> = ["E-Mail", "Given name", "Plan", "Seats", "Company", "Notes"]
            .map(String::from)
            .to_vec();
        let keys: Vec<(String, String)> = [
            ("plan", "string"),
            ("seats", "number"),
            ("company_name", "string"),
        ]
        .map(|(k, t)| (k.to_string(), t.to_string()))
        .to_vec();
        let chosen = suggest_more(&header, vec!["email".into()], &keys);
        assert_eq!(
            chosen,
            [
                "email",
                "first_name",
                "p:plan",
                "p:seats",
                "p:company_name",
                ""
            ]
        );
        // A choice already made is kept, and not offered to a second column.
        let chosen = suggest_more(&header, vec!["".into(), "".into(), "p:seats".into()], &keys);
        assert_eq!(chosen[0], "email");
        assert_eq!(chosen[2], "p:seats");
        assert_eq!(chosen[3], "");
    }

    #[test]
    fn mapping_becomes_a_column_map() {
        let header = vec![
            "E-mail".to_string(),
            "Name".into(),
            "Plan".into(),
            "Junk".into(),
        ];
        let chosen = vec![
            "email".to_string(),
            "first_name".into(),
            "p:plan".into(),
            String::new(),
        ];
        let map: Value = serde_json::from_str(&column_map_json(&header, &chosen)).unwrap();
        assert_eq!(
            map,
            json!({"email": "E-mail", "first_name": "Name", "properties": {"plan": {"column": "Plan"}}})
        );
    }
}
