//! The Emails pages: the list of sent emails (newest first, keyset pages, filters by status,
//! from, to, subject, dates and tag) and an email's page (event timeline, HTML preview, text
//! version, headers, attachments with download links). Every team member sees them.
//!
//! The HTML preview is the sender's markup: it is never put into a dashboard page. The page
//! embeds a sandboxed `<iframe>` (no scripts, no same-origin) whose source, `…/preview`,
//! answers with a CSP that sandboxes it again and allows no fetch at all, so opening the
//! preview directly, or HTML that tries to load remote images, scripts or forms, does
//! nothing either.

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;

use super::crud::{Notice, done};
use super::csrf::CsrfForm;
use super::email_views::{
    AttachmentItem, AttachmentKind, EmailListRow, EventBadge, TimelineRow, status_choices,
};
use super::pages::{
    KeysetList, PageError, PageResult, Shell, list_href, pager, render, sandboxed_preview,
};
use super::session::{CurrentSession, Item};
use super::{email_views, format};
use crate::emails::search;
use crate::emails::{downloads, events, service, store};
use crate::error::AppError;
use crate::handle::App;

const LIST: &str = "/dashboard/emails";
const SECTION: &str = "emails";
const PAGE_SIZE: u32 = 50;
const DAY_MS: i64 = 24 * 3600 * 1000;

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page))
        .route("/dashboard/emails/{id}", get(email_page))
        .route("/dashboard/emails/{id}/cancel", post(cancel))
        .route("/dashboard/emails/{id}/reschedule", post(reschedule))
}

/// Routes outside the dashboard's page headers: the preview carries its own, stricter ones.
pub fn preview_routes() -> Router<App> {
    Router::new().route("/dashboard/emails/{id}/preview", get(preview))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(flatten)]
    filter: search::FilterParams,
}

/// What the filter form shows back.
#[derive(Default)]
struct FilterFields {
    status: String,
    from: String,
    to: String,
    subject: String,
    since: String,
    until: String,
    tag: String,
}

#[derive(Template)]
#[template(path = "emails/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<EmailListRow>,
    fields: FilterFields,
    statuses: Vec<(&'static str, &'static str)>,
    filtered: bool,
    problem: Option<&'static str>,
    newer: Option<String>,
    older: Option<String>,
    /// The Export button's address (these filters).
    export: String,
}

#[derive(Template)]
#[template(path = "emails/detail.html")]
struct EmailPage {
    shell: Shell,
    id: String,
    subject: String,
    badge: EventBadge,
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Vec<String>,
    message_id: String,
    sent_exact: String,
    /// "Sent 5 minutes ago", "Scheduled for …", "Canceled · created …".
    when: String,
    when_exact: String,
    scheduled: Option<String>,
    /// A scheduled email: the `datetime-local` value of its time, for the Reschedule form.
    reschedule: Option<String>,
    notice: Option<&'static str>,
    /// The reschedule form's error and what the user typed.
    schedule_error: Option<String>,
    headers: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    timeline: Vec<TimelineRow>,
    has_html: bool,
    text: Option<String>,
    attachments: Vec<AttachmentItem>,
}

/// The list's address with these filters and a cursor.
fn href(params: &ListParams, cursor: (&str, &str)) -> String {
    use crate::filters::text_param;
    let filter = &params.filter;
    let filters = [
        ("status", text_param(&filter.status)),
        ("from", text_param(&filter.from)),
        ("to", text_param(&filter.to)),
        ("subject", text_param(&filter.subject)),
        ("since", text_param(&filter.since)),
        ("until", text_param(&filter.until)),
        ("tag", text_param(&filter.tag)),
    ];
    list_href(LIST, &filters, cursor)
}

async fn list_page(
    State(app): State<App>,
    request: KeysetList<ListParams, PAGE_SIZE>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let (filter, problem) = search::read_filter(&request.params.filter);
    let list = search::list(&app, &request.session.user.team_id, &request.page, &filter).await?;
    let (newer, older) = pager(
        &request.page,
        &list,
        |r| &r.id,
        |direction, id| href(&request.params, (direction, id)),
    );
    let now = app.now_ms();
    let fields = FilterFields {
        status: filter.status.clone().unwrap_or_default(),
        from: filter.from.clone().unwrap_or_default(),
        to: filter.to.clone().unwrap_or_default(),
        subject: filter.subject.clone().unwrap_or_default(),
        since: filter.since.map(format::iso_date).unwrap_or_default(),
        until: filter
            .until
            .map(|end| format::iso_date(end - DAY_MS))
            .unwrap_or_default(),
        tag: filter
            .tag
            .as_ref()
            .map(|t| t.to_string())
            .unwrap_or_default(),
    };
    let page = ListPage {
        shell: Shell::in_section(&request.session, SECTION),
        rows: list
            .data
            .iter()
            .map(|e| EmailListRow::new(e, now))
            .collect(),
        filtered: !filter.is_empty(),
        fields,
        statuses: status_choices(),
        problem,
        newer,
        older,
        export: super::exports::link(crate::exports::Kind::Emails, raw.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

async fn email_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    notice: Notice,
) -> PageResult {
    let notice = notice.message(&[
        ("canceled", "The email was canceled; it will not be sent."),
        ("rescheduled", "The email was rescheduled."),
    ]);
    let page = detail(&app, &current.session, &current.id, notice, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The email page, with an optional notice and a reschedule error (message, what was typed).
async fn detail(
    app: &App,
    session: &crate::auth::sessions::Session,
    id: &str,
    notice: Option<&'static str>,
    schedule_error: Option<(String, String)>,
) -> Result<EmailPage, PageError> {
    let team = &session.user.team_id;
    let email = store::get(app, team, id).await?;
    let now = app.now_ms();
    let timeline = events::timeline(app, team, id).await?;
    let attachments = store::list_attachments(app, team, id).await?;
    let page = EmailPage {
        shell: Shell::in_section(session, SECTION),
        id: email.id.clone(),
        subject: email.subject.clone(),
        badge: EventBadge::of(&email.last_event),
        from: email.from_address.clone(),
        to: store::addresses(&email.to_addresses),
        cc: store::addresses(&email.cc_addresses),
        bcc: store::addresses(&email.bcc_addresses),
        reply_to: store::addresses(&email.reply_to),
        message_id: email.message_id.clone(),
        sent_exact: format::exact_seconds(email.created_at),
        when: email_views::when(&email, now).0,
        when_exact: email_views::when(&email, now).1,
        scheduled: email.scheduled_at.map(format::exact),
        reschedule: (email.last_event == events::SCHEDULED).then(|| match &schedule_error {
            Some((_, typed)) => typed.clone(),
            None => email
                .scheduled_at
                .map(|at| {
                    crate::clock::to_timestamp(at)
                        .strftime("%Y-%m-%dT%H:%M")
                        .to_string()
                })
                .unwrap_or_default(),
        }),
        notice,
        schedule_error: schedule_error.map(|(message, _)| message),
        headers: email.custom_headers(),
        tags: email.tag_pairs(),
        timeline: timeline.iter().map(|e| TimelineRow::new(e, now)).collect(),
        has_html: email.html.as_deref().is_some_and(|h| !h.trim().is_empty()),
        text: email.text.clone().filter(|t| !t.trim().is_empty()),
        attachments: attachments
            .iter()
            .map(|a| AttachmentItem::new(a, downloads::signed_url(app, &a.id, now).0))
            .collect(),
    };
    Ok(page)
}

/// Cancels a scheduled email (as `POST /emails/{id}/cancel`).
async fn cancel(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    match service::cancel(&app, &session.user.team_id, &form.id)
        .await
        .map_err(AppError::from)
    {
        Ok(()) => Ok(done(&format!("{LIST}/{}", form.id), "canceled")),
        Err(err) if err.is_not_found() => Err(PageError::NotFound),
        Err(err) if err.status < 500 => {
            let page = detail(
                &app,
                session,
                &form.id,
                None,
                Some((plain(&err.message), String::new())),
            )
            .await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(err) => Err(err.into()),
    }
}

/// Moves a scheduled email to the time of the form's `datetime-local` input (read as UTC).
async fn reschedule(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    let session = &form.current.session;
    let typed = form.fields.text("scheduled_at").trim().to_string();
    let result = if typed.is_empty() {
        Err("Choose the new date and time.".to_string())
    } else {
        service::reschedule(
            &app,
            &session.user.team_id,
            &form.id,
            serde_json::Value::String(typed.clone()),
        )
        .await
        .map_err(AppError::from)
        .map_err(|err| {
            if err.is_not_found() {
                String::new()
            } else if err.message.contains("future") && err.message.contains("30 days") {
                "Pick a time at most 30 days from now.".to_string()
            } else if err.message.contains("future") {
                "Pick a time in the future.".to_string()
            } else if err.message.contains("Invalid `scheduled_at`") {
                "Enter a date and time, such as 2030-01-01 09:00.".to_string()
            } else {
                plain(&err.message)
            }
        })
    };
    match result {
        Ok(()) => Ok(done(&format!("{LIST}/{}", form.id), "rescheduled")),
        Err(message) if message.is_empty() => Err(PageError::NotFound),
        Err(message) => {
            let page = detail(&app, session, &form.id, None, Some((message, typed))).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// An API message in plain words: no Markdown backticks around field names.
fn plain(message: &str) -> String {
    message.replace('`', "")
}

/// The email's HTML, alone, for the sandboxed frame of the email page.
async fn preview(State(app): State<App>, current: Item<CurrentSession>) -> PageResult {
    let email = store::get(&app, &current.session.user.team_id, &current.id).await?;
    Ok(sandboxed_preview(email.html.unwrap_or_default()))
}
