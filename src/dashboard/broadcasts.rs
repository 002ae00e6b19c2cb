//! The Broadcasts pages: the list (status, segment, sent or scheduled time; keyset pages), the
//! editor of a draft (Markdown or HTML, global and per-block styles for Markdown, a
//! placeholder helper, a live preview), a test email, sending behind a confirmation page (now
//! or at a time), cancel, duplicate, delete, and the performance page of a sent broadcast.
//! Every change goes through `crate::broadcasts::service`, as the API's do; any team member
//! may use them.
//!
//! The live preview follows the templates' pattern (`pages::sandboxed_preview`): the editor
//! posts its fields into a sandboxed frame (`formtarget`), whose response is the email HTML
//! alone under a policy that runs no script and loads nothing remote.

use std::borrow::Cow;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use super::chart::{self, Series};
use super::crud::{Confirm, ConfirmPage, done};
use super::csrf::{CsrfForm, FormFields};
use super::format;
use super::pages::{
    KeysetList, PageError, PageResult, Shell, about, form_addresses, form_text, pager, placed,
    plain_error, refusal, render, sandboxed_preview,
};
use super::session::{CurrentSession, Item};
use crate::audience::{properties, segments, topics};
use crate::auth::sessions::Session;
use crate::broadcasts::compose::{self, ALIGNS, BLOCKS, Design, FONTS, Mode, Styles, WEIGHTS};
use crate::broadcasts::service::{self, BroadcastInput, When};
use crate::broadcasts::{Broadcast, Status, stats};
use crate::handle::App;
use crate::templates::substitute::{self, Target, Values};

const LIST: &str = "/dashboard/broadcasts";
const SECTION: &str = "broadcasts";
const PAGE_SIZE: u32 = 25;

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page))
        .route("/dashboard/broadcasts/new", get(new_form).post(create))
        .route("/dashboard/broadcasts/{id}", get(edit_page).post(update))
        .route("/dashboard/broadcasts/{id}/test", post(send_test))
        .route(
            "/dashboard/broadcasts/{id}/send",
            get(confirm_send).post(send),
        )
        .route("/dashboard/broadcasts/{id}/cancel", post(cancel))
        .route("/dashboard/broadcasts/{id}/duplicate", post(duplicate))
        .route(
            "/dashboard/broadcasts/{id}/delete",
            get(confirm_delete).post(delete),
        )
        .route(
            "/dashboard/broadcasts/{id}/performance",
            get(performance_page),
        )
        .route(
            "/dashboard/broadcasts/{id}/performance/live",
            get(performance_live),
        )
}

/// Served outside the dashboard's page headers: previews set their own.
pub fn preview_routes() -> Router<App> {
    Router::new()
        .route("/dashboard/broadcasts/preview", post(live_preview))
        .route("/dashboard/broadcasts/{id}/preview", get(saved_preview))
}

/// An option of a `<select>` or a radio group.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(
    options: impl IntoIterator<Item = (&'a str, &'a str)>,
    current: &str,
) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value: value.to_string(),
            label: label.to_string(),
        })
        .collect()
}

/// The badge of a status: its label and CSS class.
fn badge(b: &Broadcast) -> (&'static str, &'static str) {
    match b.status() {
        _ if b.is_scheduled() => ("Scheduled", "pending"),
        Status::Draft => ("Draft", "not-started"),
        Status::Queued => ("Queued", "pending"),
        Status::Sending => ("Sending", "pending"),
        Status::Sent => ("Sent", "verified"),
        Status::Canceled => ("Canceled", "failed"),
    }
}

fn display_name(b: &Broadcast) -> String {
    match b.name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ if !b.subject.trim().is_empty() => b.subject.clone(),
        _ => "Untitled broadcast".into(),
    }
}

/// Where a broadcast's row links: the editor for drafts, else its performance.
fn page_of(b: &Broadcast) -> String {
    if b.status() == Status::Draft {
        format!("{LIST}/{}", b.id)
    } else {
        format!("{LIST}/{}/performance", b.id)
    }
}

pub struct Row {
    pub id: String,
    pub name: String,
    pub href: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub segment: String,
    pub when: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "broadcasts/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    statuses: Vec<Choice>,
    filtered: bool,
    notice: Option<&'static str>,
    newer: Option<String>,
    older: Option<String>,
    /// The Export button's address (this filter).
    export: String,
}

#[derive(Default, Deserialize)]
struct ListParams {
    #[serde(flatten)]
    filter: service::FilterParams,
    notice: Option<String>,
}

fn list_href(status: Option<&str>, cursor: (&str, &str)) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(status) = status {
        query.append_pair("status", status);
    }
    query.append_pair(cursor.0, cursor.1);
    format!("{LIST}?{}", query.finish())
}

/// Segment names by id, for labels (teams keep tens of segments).
async fn segment_names(app: &App, team: &str) -> Result<Vec<(String, String)>, PageError> {
    Ok(segments::all_with_counts(app, team)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

fn name_of(names: &[(String, String)], id: Option<&str>) -> String {
    match id {
        None => "—".into(),
        Some(id) => names
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| "Deleted segment".into(), |(_, n)| n.clone()),
    }
}

async fn list_page(
    State(app): State<App>,
    request: KeysetList<ListParams, PAGE_SIZE>,
) -> PageResult {
    let team = &request.session.user.team_id;
    let filter = service::read_filter(&request.params.filter);
    let status_text = filter.status.map(Status::as_str);
    let list = service::list(&app, team, &request.page, &filter).await?;
    let names = segment_names(&app, team).await?;
    let (newer, older) = pager(
        &request.page,
        &list,
        |r| &r.id,
        |direction, id| list_href(status_text, (direction, id)),
    );
    let rows = list
        .data
        .iter()
        .map(|b| {
            let (status, status_class) = badge(b);
            let when = match (b.scheduled_at, b.sent_at) {
                (_, Some(sent)) => format!("Sent {}", format::exact(sent)),
                (Some(at), None) if b.is_scheduled() => {
                    format!("Scheduled for {}", format::exact(at))
                }
                _ => "—".into(),
            };
            Row {
                id: b.id.clone(),
                name: display_name(b),
                href: page_of(b),
                status,
                status_class,
                segment: name_of(&names, b.segment_id.as_deref()),
                when,
                created: format::date(b.created_at),
            }
        })
        .collect();
    let mut statuses = vec![Choice {
        value: String::new(),
        label: "All statuses".into(),
        selected: status_text.is_none(),
    }];
    statuses.extend(choices(
        Status::ALL.iter().map(|s| (s.as_str(), s.label())),
        status_text.unwrap_or(""),
    ));
    let notice = match request.params.notice.as_deref() {
        Some("deleted") => Some("Broadcast deleted."),
        _ => None,
    };
    let page = ListPage {
        shell: Shell::in_section(&request.session, SECTION),
        rows,
        statuses,
        filtered: status_text.is_some(),
        notice,
        newer,
        older,
        export: super::exports::link(
            crate::exports::Kind::Broadcasts,
            status_text.map(|s| format!("status={s}")).as_deref(),
        ),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The editor's fields, as typed.
#[derive(Clone)]
pub struct EditorForm {
    pub name: String,
    pub segment_id: String,
    pub topic_id: String,
    pub from: String,
    pub reply_to: String,
    pub subject: String,
    pub preview_text: String,
    pub mode: Mode,
    pub markdown: String,
    pub html: String,
    pub text: String,
    pub styles: Styles,
}

impl Default for EditorForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            segment_id: String::new(),
            topic_id: String::new(),
            from: String::new(),
            reply_to: String::new(),
            subject: String::new(),
            preview_text: String::new(),
            mode: Mode::Markdown,
            markdown: compose::STARTER.into(),
            html: String::new(),
            text: String::new(),
            styles: Styles::default(),
        }
    }
}

impl EditorForm {
    /// The form's values; the error names a style that could not be read.
    fn of(fields: &FormFields) -> (Self, Option<String>) {
        let field = |name| fields.text(name).to_string();
        let mut styles = Styles::default();
        let mut error = None;
        let colour = |name: &str, target: &mut String| {
            if let Some(v) = fields.get(name) {
                *target = v.trim().to_string();
            }
        };
        colour("style_background", &mut styles.background);
        colour("style_container", &mut styles.container);
        colour("style_text", &mut styles.text);
        colour("style_link", &mut styles.link);
        if let Some(font) = fields.get("style_font") {
            styles.font = font.to_string();
        }
        let mut number = |name: &str, label: &str, target: &mut u32| {
            if let Some(v) = fields.get(name) {
                match v.trim().parse() {
                    Ok(n) => *target = n,
                    Err(_) => {
                        error.get_or_insert(format!("{label} must be a whole number."));
                    }
                }
            }
        };
        number("style_width", "Container width", &mut styles.width);
        for (kind, label) in BLOCKS {
            let block = styles.block_mut(kind);
            number(&format!("{kind}_size"), label, &mut block.size);
            number(&format!("{kind}_weight"), label, &mut block.weight);
            if let Some(align) = fields
                .get(&format!("{kind}_align"))
                .and_then(compose::Align::parse)
            {
                block.align = align;
            }
        }
        let form = Self {
            name: field("name"),
            segment_id: field("segment_id"),
            topic_id: field("topic_id"),
            from: field("from"),
            reply_to: field("reply_to"),
            subject: field("subject"),
            preview_text: field("preview_text"),
            mode: Mode::parse(fields.text("mode")),
            // Browsers send textarea line breaks as CRLF.
            markdown: field("markdown").replace("\r\n", "\n"),
            html: field("html").replace("\r\n", "\n"),
            text: field("text").replace("\r\n", "\n"),
            styles,
        };
        (form, error)
    }

    fn of_broadcast(b: &Broadcast, design: Option<Design>) -> Self {
        let html = b.html.clone().unwrap_or_default();
        let (mode, markdown, styles) = match design {
            Some(d) => (d.mode, d.markdown, d.styles),
            // Made through the API: its HTML is the content.
            None => (Mode::Html, String::new(), Styles::default()),
        };
        Self {
            name: b.name.clone().unwrap_or_default(),
            segment_id: b.segment_id.clone().unwrap_or_default(),
            topic_id: b.topic_id.clone().unwrap_or_default(),
            from: b.from.clone(),
            reply_to: b.reply_to_list().join(", "),
            subject: b.subject.clone(),
            preview_text: b.preview_text.clone().unwrap_or_default(),
            mode,
            markdown,
            html,
            text: b.text.clone().unwrap_or_default(),
            styles,
        }
    }

    /// The email HTML the form stands for.
    fn content_html(&self) -> String {
        match self.mode {
            Mode::Markdown => compose::render(&self.markdown, &self.styles, &self.subject),
            Mode::Html => self.html.clone(),
        }
    }

    fn design(&self) -> Design {
        Design {
            mode: self.mode,
            markdown: self.markdown.clone(),
            styles: self.styles.clone(),
        }
    }

    /// Every field, so a save replaces the whole content (empty clears).
    fn input(&self) -> BroadcastInput {
        let html = self.content_html();
        BroadcastInput {
            name: Some(form_text(&self.name)),
            segment_id: Some(self.segment_id.trim().to_string()),
            from: Some(self.from.trim().to_string()),
            subject: Some(self.subject.clone()),
            reply_to: Some(form_addresses(&self.reply_to).unwrap_or(Value::Null)),
            preview_text: Some(form_text(&self.preview_text)),
            html: Some((!html.trim().is_empty()).then_some(html)),
            text: Some((!self.text.trim().is_empty()).then(|| self.text.clone())),
            topic_id: Some(form_text(&self.topic_id)),
        }
    }
}

/// A kind of block's style controls.
pub struct BlockRow {
    pub kind: &'static str,
    pub label: &'static str,
    pub size: u32,
    pub weights: Vec<Choice>,
    pub aligns: Vec<Choice>,
}

/// A placeholder the helper can insert.
pub struct Placeholder {
    pub label: String,
    pub text: String,
}

/// What the editor page shows about a saved broadcast.
pub struct Summary {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub editable: bool,
    pub scheduled: Option<String>,
    pub updated: String,
}

impl Summary {
    fn of(b: &Broadcast) -> Self {
        let (status, status_class) = badge(b);
        Self {
            id: b.id.clone(),
            name: display_name(b),
            status,
            status_class,
            editable: b.is_editable(),
            scheduled: b
                .scheduled_at
                .filter(|_| b.is_scheduled())
                .map(format::exact),
            updated: format::exact(b.updated_at),
        }
    }
}

#[derive(Template)]
#[template(path = "broadcasts/editor.html")]
struct EditorPage {
    shell: Shell,
    broadcast: Option<Summary>,
    form: EditorForm,
    markdown_mode: bool,
    segments: Vec<Choice>,
    topics: Vec<Choice>,
    fonts: Vec<Choice>,
    blocks: Vec<BlockRow>,
    placeholders: Vec<Placeholder>,
    error: Option<String>,
    notice: Option<String>,
    test_email: Option<String>,
    /// The test form's address when it was refused (kept to fix); the user's own otherwise.
    test_to: Option<String>,
}

async fn editor_page(
    app: &App,
    session: &Session,
    broadcast: Option<Summary>,
    form: EditorForm,
    error: Option<String>,
    notice: Option<String>,
) -> Result<EditorPage, PageError> {
    let team = &session.user.team_id;
    let mut segment_choices = vec![Choice {
        value: String::new(),
        label: "Choose a segment".into(),
        selected: form.segment_id.is_empty(),
    }];
    segment_choices.extend(
        segments::all_with_counts(app, team)
            .await?
            .into_iter()
            .map(|s| Choice {
                selected: s.id == form.segment_id,
                label: format!(
                    "{} ({} contact{})",
                    s.name,
                    s.contacts,
                    if s.contacts == 1 { "" } else { "s" }
                ),
                value: s.id,
            }),
    );
    let mut topic_choices = vec![Choice {
        value: String::new(),
        label: "No topic".into(),
        selected: form.topic_id.is_empty(),
    }];
    topic_choices.extend(topics::all(app, team).await?.into_iter().map(|t| Choice {
        selected: t.id == form.topic_id,
        value: t.id,
        label: t.name,
    }));
    let mut placeholders: Vec<Placeholder> = [
        ("First name", "{{{FIRST_NAME|there}}}"),
        ("Last name", "{{{LAST_NAME|}}}"),
        ("Email address", "{{{EMAIL}}}"),
    ]
    .into_iter()
    .map(|(label, text)| Placeholder {
        label: label.into(),
        text: text.into(),
    })
    .collect();
    placeholders.extend(
        properties::all(app, team)
            .await?
            .into_iter()
            .filter(|p| !p.is_default())
            .map(|p| Placeholder {
                label: format!("Property {}", p.key),
                text: format!("{{{{{{{}}}}}}}", p.key),
            }),
    );
    placeholders.push(Placeholder {
        label: "Unsubscribe link".into(),
        text: "{{{RESEND_UNSUBSCRIBE_URL}}}".into(),
    });
    let styles = &form.styles;
    let blocks = BLOCKS
        .iter()
        .map(|(kind, label)| {
            let style = styles.block(kind);
            let weight = style.weight.to_string();
            let weights: Vec<(String, String)> = WEIGHTS
                .iter()
                .map(|w| {
                    let name = match w {
                        400 => "Regular",
                        500 => "Medium",
                        600 => "Semibold",
                        _ => "Bold",
                    };
                    (w.to_string(), name.to_string())
                })
                .collect();
            BlockRow {
                kind,
                label,
                size: style.size,
                weights: choices(
                    weights.iter().map(|(v, l)| (v.as_str(), l.as_str())),
                    &weight,
                ),
                aligns: choices(ALIGNS.iter().map(|a| (*a, *a)), style.align.as_str()),
            }
        })
        .collect();
    Ok(EditorPage {
        shell: Shell::in_section(session, SECTION),
        markdown_mode: form.mode == Mode::Markdown,
        fonts: choices(FONTS.iter().map(|(k, l, _)| (*k, *l)), &styles.font),
        broadcast,
        segments: segment_choices,
        topics: topic_choices,
        blocks,
        placeholders,
        form,
        error,
        notice,
        test_email: None,
        test_to: None,
    })
}

async fn new_form(State(app): State<App>, current: CurrentSession) -> PageResult {
    let page = editor_page(
        &app,
        &current.session,
        None,
        EditorForm::default(),
        None,
        None,
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// The editor's inputs, as `m::form_error` lists them.
const EDITOR_FIELDS: &str =
    "name,segment_id,topic_id,from,reply_to,subject,preview_text,markdown,html,text";

/// A refusal placed under its input: the service names most fields in backticks; a
/// missing segment or topic names its id, and a placeholder problem is about the content.
fn placed_in_editor(message: String, form: &EditorForm) -> String {
    let content = match form.mode {
        Mode::Markdown => "markdown",
        Mode::Html => "html",
    };
    let words = [
        ("segment", "segment_id"),
        ("topic", "topic_id"),
        ("placeholder", content),
        ("content", content),
    ];
    placed(message, EDITOR_FIELDS, &words)
}

/// The styles' own check, before anything is stored.
fn style_problem(form: &EditorForm, parse_error: Option<String>) -> Option<String> {
    parse_error.or_else(|| match form.mode {
        Mode::Markdown => form.styles.check().err(),
        Mode::Html => None,
    })
}

async fn create(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let (typed, parse_error) = EditorForm::of(&form.fields);
    let refused = match style_problem(&typed, parse_error) {
        Some(problem) => problem,
        None => match service::create(&app, team, typed.input(), None).await {
            Ok(b) => {
                compose::save_design(&app, &b.id, &typed.design()).await?;
                return Ok(Redirect::to(&format!("{LIST}/{}?notice=created", b.id)).into_response());
            }
            Err(err) => placed_in_editor(refusal(err)?, &typed),
        },
    };
    let page = editor_page(&app, session, None, typed, Some(refused), None).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Deserialize)]
struct EditParams {
    notice: Option<String>,
    /// The test email just sent.
    email: Option<String>,
    to: Option<String>,
}

async fn edit_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    Query(params): Query<EditParams>,
) -> PageResult {
    let session = &current.session;
    let b = service::get(&app, &session.user.team_id, &current.id).await?;
    if b.status() != Status::Draft {
        return Ok(Redirect::to(&page_of(&b)).into_response());
    }
    let notice = match params.notice.as_deref() {
        Some("created") => Some("Broadcast created as a draft.".to_string()),
        Some("saved") => Some("Saved.".to_string()),
        Some("duplicated") => Some("This is the copy, a new draft.".to_string()),
        Some("scheduled") => Some("Scheduled. Cancel the schedule to edit it again.".to_string()),
        Some("test") => Some(format!(
            "Test email sent to {}.",
            params.to.as_deref().unwrap_or("the address")
        )),
        _ => None,
    };
    let design = compose::design(&app, &b.id).await?;
    let form = EditorForm::of_broadcast(&b, design);
    let mut page = editor_page(&app, session, Some(Summary::of(&b)), form, None, notice).await?;
    page.test_email = params.email.filter(|e| !e.is_empty());
    Ok(render(StatusCode::OK, &page))
}

async fn update(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let (typed, parse_error) = EditorForm::of(&form.fields);
    let refused = match style_problem(&typed, parse_error) {
        Some(problem) => problem,
        None => match service::update(&app, team, &form.id, typed.input()).await {
            Ok(b) => {
                compose::save_design(&app, &b.id, &typed.design()).await?;
                return Ok(Redirect::to(&format!("{LIST}/{}?notice=saved", b.id)).into_response());
            }
            Err(err) => placed_in_editor(refusal(err)?, &typed),
        },
    };
    let b = service::get(&app, team, &form.id).await?;
    let page = editor_page(
        &app,
        session,
        Some(Summary::of(&b)),
        typed,
        Some(refused),
        None,
    )
    .await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// Sample values for previews: inline fallbacks, else the key in brackets; the unsubscribe
/// link goes nowhere.
struct Sample;

impl Values for Sample {
    fn value(&self, key: &str) -> Option<Cow<'_, str>> {
        (key == "RESEND_UNSUBSCRIBE_URL").then_some(Cow::Borrowed("#unsubscribe"))
    }
    fn fallback(&self, key: &str) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(format!("[{key}]")))
    }
}

fn preview_of(html: &str) -> Response {
    let filled = substitute::render(html, Target::Html, &Sample).unwrap_or_else(|_| html.into());
    sandboxed_preview(filled)
}

/// The editor's current fields, rendered for its preview frame.
async fn live_preview(form: CsrfForm) -> Response {
    let (typed, _) = EditorForm::of(&form.fields);
    let mut typed = typed;
    if typed.styles.check().is_err() {
        typed.styles = Styles::default();
    }
    preview_of(&typed.content_html())
}

async fn saved_preview(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let b = service::get(&app, &current.session.user.team_id, &current.id).await?;
    Ok(preview_of(b.html.as_deref().unwrap_or("")))
}

async fn send_test(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let to = form.fields.text("to").trim().to_string();
    match service::send_test(&app, team, &form.id, &to).await {
        Ok(email_id) => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query.append_pair("notice", "test");
            query.append_pair("to", &to);
            query.append_pair("email", &email_id);
            Ok(Redirect::to(&format!("{LIST}/{}?{}", form.id, query.finish())).into_response())
        }
        Err(err) => {
            let message = refusal(err)?;
            let b = service::get(&app, team, &form.id).await?;
            let design = compose::design(&app, &b.id).await?;
            let form = EditorForm::of_broadcast(&b, design);
            let mut page = editor_page(
                &app,
                session,
                Some(Summary::of(&b)),
                form,
                Some(about(
                    "to",
                    &format!("The test email was not sent: {}", plain_error(&message)),
                )),
                None,
            )
            .await?;
            page.test_to = Some(to);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "broadcasts/send.html")]
struct SendPage {
    shell: Shell,
    id: String,
    name: String,
    subject: String,
    from: String,
    segment: String,
    contacts: i64,
    topic: Option<String>,
    later: bool,
    scheduled_at: String,
    error: Option<String>,
}

async fn send_page(
    app: &App,
    session: &Session,
    b: &Broadcast,
    later: bool,
    scheduled_at: String,
    error: Option<String>,
) -> Result<SendPage, PageError> {
    let team = &session.user.team_id;
    let segment = match b.segment_id.as_deref() {
        Some(id) => segments::all_with_counts(app, team)
            .await?
            .into_iter()
            .find(|s| s.id == id),
        None => None,
    };
    let topic = match b.topic_id.as_deref() {
        Some(id) => topics::all(app, team)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.name),
        None => None,
    };
    Ok(SendPage {
        shell: Shell::in_section(session, SECTION),
        id: b.id.clone(),
        name: display_name(b),
        subject: b.subject.clone(),
        from: b.from.clone(),
        contacts: segment.as_ref().map_or(0, |s| s.contacts),
        segment: segment.map_or_else(|| "No segment".into(), |s| s.name),
        topic,
        later,
        scheduled_at,
        error,
    })
}

async fn confirm_send(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let b = service::get(&app, &session.user.team_id, &current.id).await?;
    if !b.is_editable() {
        return Ok(Redirect::to(&page_of(&b)).into_response());
    }
    let page = send_page(&app, session, &b, false, String::new(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

async fn send(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let later = form.fields.text("when") == "later";
    let at = form.fields.text("scheduled_at").trim().to_string();
    let refused = if form.fields.get("confirm") != Some("yes") {
        "Tick the box to confirm that this goes to everyone in the segment.".to_string()
    } else if later && at.is_empty() {
        "Give a time to send at, or choose to send now.".to_string()
    } else {
        let when = if later {
            When::At(at.clone())
        } else {
            When::Now
        };
        match service::send(&app, team, &form.id, when).await {
            Ok(b) if later => {
                return Ok(
                    Redirect::to(&format!("{LIST}/{}?notice=scheduled", b.id)).into_response()
                );
            }
            Ok(b) => {
                return Ok(Redirect::to(&format!("{LIST}/{}/performance", b.id)).into_response());
            }
            Err(err) => refusal(err)?,
        }
    };
    let b = service::get(&app, team, &form.id).await?;
    let page = send_page(&app, session, &b, later, at, Some(refused)).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn cancel(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let b = service::cancel(&app, &form.current.session.user.team_id, &form.id).await;
    match b {
        Ok(b) => Ok(Redirect::to(&format!("{}?notice=canceled", page_of(&b))).into_response()),
        Err(err) => {
            refusal(err)?;
            Ok(Redirect::to(&format!("{LIST}/{}", form.id)).into_response())
        }
    }
}

async fn duplicate(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let team = &form.current.session.user.team_id;
    let copy = service::duplicate(&app, team, &form.id).await?;
    if let Some(design) = compose::design(&app, &form.id).await? {
        compose::save_design(&app, &copy.id, &design).await?;
    }
    Ok(Redirect::to(&format!("{LIST}/{}?notice=duplicated", copy.id)).into_response())
}

async fn confirm_delete(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let b = service::get(&app, &session.user.team_id, &current.id).await?;
    let confirm = Confirm::delete(
        ("Broadcasts", LIST),
        &b.id,
        ("broadcast", &display_name(&b)),
        "Only drafts can be deleted; a scheduled send is dropped with it. This cannot be undone.",
    );
    Ok(ConfirmPage::response(
        Shell::in_section(session, SECTION),
        confirm,
    ))
}

async fn delete(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    match service::delete(&app, &form.current.session.user.team_id, &form.id).await {
        Ok(()) => Ok(done(LIST, "deleted")),
        Err(err) => {
            refusal(err)?;
            Ok(Redirect::to(&format!("{LIST}/{}", form.id)).into_response())
        }
    }
}

/// One figure of the performance page.
pub struct Figure {
    pub id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub note: String,
}

pub struct LinkRow {
    pub url: String,
    pub clicks: i64,
    pub unique_clicks: i64,
}

#[derive(Template)]
#[template(path = "broadcasts/performance.html")]
struct PerformancePage {
    shell: Shell,
    summary: Summary,
    subject: String,
    segment: String,
    sent: String,
    live: Live,
    notice: Option<&'static str>,
}

/// The part of the performance page that refreshes while the broadcast sends.
#[derive(Template)]
#[template(path = "broadcasts/performance.html", block = "live")]
struct LivePart {
    live: Live,
}

pub struct Live {
    pub id: String,
    /// For the "Stop sending" form inside the refreshed part.
    pub csrf_token: String,
    /// Still sending: the part asks for itself again.
    pub polling: bool,
    pub status: &'static str,
    pub status_class: &'static str,
    pub figures: Vec<Figure>,
    pub links: Vec<LinkRow>,
    pub chart: Option<String>,
}

/// `part / whole` as a percentage with one decimal.
fn rate(part: i64, whole: i64) -> String {
    if whole <= 0 {
        "—".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

async fn live(app: &App, session: &Session, b: &Broadcast) -> Result<Live, PageError> {
    let team = &session.user.team_id;
    let p = stats::performance(app, team, &b.id).await?;
    let (status, status_class) = badge(b);
    let polling = matches!(b.status(), Status::Queued | Status::Sending) || b.is_scheduled();
    let figure = |id, label, value: i64, note: String| Figure {
        id,
        label,
        value: value.to_string(),
        note,
    };
    let figures = vec![
        figure(
            "recipients",
            "Recipients",
            p.recipients,
            "emails queued".into(),
        ),
        figure(
            "delivered",
            "Delivered",
            p.delivered,
            rate(p.delivered, p.recipients),
        ),
        figure(
            "bounced",
            "Bounced",
            p.bounced,
            rate(p.bounced, p.recipients),
        ),
        figure(
            "complained",
            "Complained",
            p.complained,
            rate(p.complained, p.delivered),
        ),
        figure(
            "unsubscribed",
            "Unsubscribed",
            p.unsubscribed,
            rate(p.unsubscribed, p.delivered),
        ),
        Figure {
            id: "open-rate",
            label: "Open rate",
            value: rate(p.unique_opens, p.delivered),
            note: format!("{} unique opens, {} in all", p.unique_opens, p.opens),
        },
        Figure {
            id: "click-rate",
            label: "Click rate",
            value: rate(p.unique_clicks, p.delivered),
            note: format!("{} unique clicks, {} in all", p.unique_clicks, p.clicks),
        },
    ];
    let chart = (!p.timeline.is_empty()).then(|| {
        let labels: Vec<String> = p.timeline.iter().map(|t| format::exact(t.start)).collect();
        let opens: Vec<u64> = p.timeline.iter().map(|t| t.opens.max(0) as u64).collect();
        let clicks: Vec<u64> = p.timeline.iter().map(|t| t.clicks.max(0) as u64).collect();
        chart::line_chart(
            "Opens and clicks over time",
            &labels,
            &[
                Series {
                    name: "Opens",
                    colour: "#4f46e5",
                    values: &opens,
                },
                Series {
                    name: "Clicks",
                    colour: "#16a34a",
                    values: &clicks,
                },
            ],
        )
    });
    Ok(Live {
        id: b.id.clone(),
        csrf_token: session.csrf_token.clone(),
        polling,
        status,
        status_class,
        figures,
        links: p
            .links
            .into_iter()
            .map(|l| LinkRow {
                url: l.url,
                clicks: l.clicks,
                unique_clicks: l.unique_clicks,
            })
            .collect(),
        chart,
    })
}

#[derive(Deserialize)]
struct NoticeParam {
    notice: Option<String>,
}

async fn performance_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    Query(params): Query<NoticeParam>,
) -> PageResult {
    let session = &current.session;
    let team = &session.user.team_id;
    let b = service::get(&app, team, &current.id).await?;
    let names = segment_names(&app, team).await?;
    let sent = match (b.sent_at, b.scheduled_at) {
        (Some(at), _) => format!("Sent {}", format::exact(at)),
        (None, Some(at)) if b.is_scheduled() => format!("Scheduled for {}", format::exact(at)),
        _ => String::new(),
    };
    let notice = (params.notice.as_deref() == Some("canceled")).then_some("Canceled.");
    let page = PerformancePage {
        shell: Shell::in_section(session, SECTION),
        summary: Summary::of(&b),
        subject: b.subject.clone(),
        segment: name_of(&names, b.segment_id.as_deref()),
        sent,
        live: live(&app, session, &b).await?,
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn performance_live(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let session = &current.session;
    let b = service::get(&app, &session.user.team_id, &current.id).await?;
    let part = LivePart {
        live: live(&app, session, &b).await?,
    };
    Ok(render(StatusCode::OK, &part))
}
