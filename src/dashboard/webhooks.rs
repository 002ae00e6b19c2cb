//! The Webhooks pages: the list of endpoints, "Add webhook" (URL and event checkboxes), a
//! webhook's page (signing secret revealed on request, enable/disable, its recent delivery
//! attempts, keyset pages), edit and delete with confirmation. Every change goes through
//! `crate::webhooks`, the service the API uses (URL checks, SSRF guard, event names).
//!
//! Roles: every member sees the endpoints and their deliveries; admins add, change and
//! delete them, and only admins can reveal a signing secret (with it, anyone can forge
//! events the team's endpoint would trust).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::crud::{Confirm, Notice, admin_delete, done, notice_text};
use super::csrf::FormFields;
use super::format;
use super::pages::{PageError, PageResult, Shell, keyset_page, pager, refusal, render};
use super::session::{AdminForm, AdminSession, CurrentSession, Item};
use crate::auth::sessions::Session;
use crate::clock::Millis;
use crate::error::AppError;
use crate::handle::App;
use crate::http::pagination::Page;
use crate::webhooks::{self, Attempt, EVENT_TYPES, Webhook, WebhookInput};

const LIST: &str = "/dashboard/webhooks";
const SECTION: &str = "webhooks";
const DELIVERIES_PER_PAGE: &str = "20";
/// Checkbox names: `event:email.sent`…
const EVENT_FIELD: &str = "event:";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route("/dashboard/webhooks/new", get(new_form))
        .route("/dashboard/webhooks/{id}", get(detail_page).post(update))
        .route("/dashboard/webhooks/{id}/secret", get(reveal_secret))
        .route("/dashboard/webhooks/{id}/edit", get(edit_form))
        .route("/dashboard/webhooks/{id}/status", post(set_status))
        .route(
            "/dashboard/webhooks/{id}/delete",
            get(confirm_delete).post(admin_delete!(webhooks::delete, LIST)),
        )
}

fn detail_url(id: &str) -> String {
    format!("{LIST}/{id}")
}

/// One endpoint, ready to print (list rows, the webhook page, the delete page).
pub struct WebhookRow {
    pub id: String,
    pub endpoint: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_date: String,
    pub created_exact: String,
}

impl From<&Webhook> for WebhookRow {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.clone(),
            endpoint: w.endpoint.clone(),
            events: w.event_types(),
            enabled: w.is_enabled(),
            created_date: format::date(w.created_at),
            created_exact: format::exact(w.created_at),
        }
    }
}

/// One delivery attempt in the deliveries table.
pub struct DeliveryRow {
    pub id: String,
    pub event_type: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub ok: bool,
    pub duration: String,
    pub error: String,
    pub next_attempt: String,
    pub at: String,
    pub at_exact: String,
}

impl DeliveryRow {
    fn new(a: &Attempt, now: Millis) -> Self {
        Self {
            id: a.id.clone(),
            event_type: a.event_type.clone(),
            attempt: a.attempt,
            status_code: a.status_code,
            ok: a.status_code.is_some_and(|c| (200..300).contains(&c)),
            duration: format!("{} ms", a.duration_ms),
            error: a.error.clone().unwrap_or_default(),
            next_attempt: a.next_attempt_at.map(format::exact).unwrap_or_default(),
            at: format::relative(now, a.created_at),
            at_exact: format::exact_seconds(a.created_at),
        }
    }
}

/// An event checkbox of the form.
pub struct EventChoice {
    pub name: &'static str,
    pub checked: bool,
}

/// The checkboxes, grouped by what the events are about (email, contact, domain).
pub struct EventGroup {
    pub title: &'static str,
    pub events: Vec<EventChoice>,
}

/// Event types of Resend's spec for features Herald does not have yet: the form does not
/// offer them (an endpoint subscribed to one through the API keeps it).
const NOT_OFFERED: &[&str] = &["email.received"];

fn event_groups(checked: &[String]) -> Vec<EventGroup> {
    let mut groups: Vec<EventGroup> = Vec::new();
    for name in EVENT_TYPES {
        if NOT_OFFERED.contains(name) && !checked.iter().any(|c| c == name) {
            continue;
        }
        let title = match name.split('.').next() {
            Some("email") => "Emails",
            Some("contact") => "Contacts",
            Some("domain") => "Domains",
            _ => "Other",
        };
        let choice = EventChoice {
            name,
            checked: checked.iter().any(|c| c == name),
        };
        match groups.iter_mut().find(|g| g.title == title) {
            Some(group) => group.events.push(choice),
            None => groups.push(EventGroup {
                title,
                events: vec![choice],
            }),
        }
    }
    groups
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<WebhookRow>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "webhooks/form.html")]
struct FormPage {
    shell: Shell,
    /// `None` when adding.
    webhook_id: Option<String>,
    endpoint: String,
    groups: Vec<EventGroup>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "webhooks/detail.html")]
struct DetailPage {
    shell: Shell,
    webhook: WebhookRow,
    /// The signing secret, once an admin asked to see it.
    secret: Option<String>,
    deliveries: Vec<DeliveryRow>,
    newer: Option<String>,
    older: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "webhooks/delete.html")]
struct DeletePage {
    shell: Shell,
    confirm: Confirm,
    webhook: WebhookRow,
}

#[derive(Debug, Default, Deserialize)]
struct DetailParams {
    notice: Option<String>,
    after: Option<String>,
    before: Option<String>,
}

async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let session = &current.session;
    let notice = notice.message(&[("deleted", "Webhook deleted.")]);
    let everything = Page::everything();
    let found = webhooks::list(&app, &session.user.team_id, &everything).await?;
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        rows: found.data.iter().map(WebhookRow::from).collect(),
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

fn form_page(
    session: &Session,
    status: StatusCode,
    webhook_id: Option<String>,
    endpoint: &str,
    events: &[String],
    error: Option<String>,
) -> Response {
    let page = FormPage {
        shell: Shell::in_section(session, SECTION),
        webhook_id,
        endpoint: endpoint.to_string(),
        groups: event_groups(events),
        error,
    };
    render(status, &page)
}

/// The form's fields as the service's input. Events keep the order of the checkboxes;
/// names Herald does not know stay in, for the service to refuse.
fn webhook_input(fields: &FormFields) -> WebhookInput {
    let ticked = fields.suffixes(EVENT_FIELD);
    let (mut events, unknown): (Vec<String>, Vec<String>) = ticked
        .into_iter()
        .partition(|e| EVENT_TYPES.contains(&e.as_str()));
    events.sort_by_key(|e| EVENT_TYPES.iter().position(|t| t == e));
    events.extend(unknown);
    WebhookInput {
        endpoint: Some(fields.text("endpoint").to_string()),
        events: Some(events),
        status: None,
    }
}

async fn new_form(current: AdminSession) -> PageResult {
    Ok(form_page(
        &current.session,
        StatusCode::OK,
        None,
        "",
        &[],
        None,
    ))
}

async fn create(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let input = webhook_input(&form.fields);
    match webhooks::create(&app, &session.user.team_id, input.clone()).await {
        Ok((webhook, _secret)) => Ok(done(&detail_url(&webhook.id), "created")),
        Err(err) => Ok(form_page(
            session,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            input.endpoint.as_deref().unwrap_or(""),
            input.events.as_deref().unwrap_or(&[]),
            Some(refusal(err)?),
        )),
    }
}

/// The deliveries page's address with a cursor.
fn deliveries_href(id: &str, cursor: (&str, &str)) -> String {
    format!("{}?{}={}#deliveries", detail_url(id), cursor.0, cursor.1)
}

async fn detail_response(
    app: &App,
    session: &Session,
    id: &str,
    params: &DetailParams,
    secret: bool,
) -> PageResult {
    let team = &session.user.team_id;
    let webhook = webhooks::get(app, team, id).await?;
    let page = keyset_page(DELIVERIES_PER_PAGE, &params.after, &params.before)?;
    let attempts = webhooks::attempts(app, team, id, &page).await?;
    let (newer, older) = pager(
        &page,
        &attempts,
        |r| &r.id,
        |direction, at| deliveries_href(id, (direction, at)),
    );
    let notice = notice_text(
        params.notice.as_deref(),
        &[
            (
                "created",
                "Webhook added. Herald now sends it the events you chose.",
            ),
            ("updated", "Webhook updated."),
            ("enabled", "Webhook enabled."),
            (
                "disabled",
                "Webhook disabled: no events are sent to it until you enable it.",
            ),
        ],
    );
    let now = app.now_ms();
    let page = DetailPage {
        shell: Shell::in_section(session, SECTION),
        secret: if secret {
            Some(webhook.secret(app).map_err(AppError::from)?)
        } else {
            None
        },
        webhook: WebhookRow::from(&webhook),
        deliveries: attempts
            .data
            .iter()
            .map(|a| DeliveryRow::new(a, now))
            .collect(),
        newer,
        older,
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

async fn detail_page(
    State(app): State<App>,
    current: Item<CurrentSession>,
    Query(params): Query<DetailParams>,
) -> PageResult {
    detail_response(&app, &current.session, &current.id, &params, false).await
}

/// The webhook page with the secret shown (htmx swaps in just the secret's box).
async fn reveal_secret(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let params = DetailParams::default();
    detail_response(&app, &current.session, &current.id, &params, true).await
}

async fn edit_form(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let webhook = webhooks::get(&app, &session.user.team_id, &current.id).await?;
    Ok(form_page(
        session,
        StatusCode::OK,
        Some(webhook.id.clone()),
        &webhook.endpoint,
        &webhook.event_types(),
        None,
    ))
}

async fn update(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    // An unknown webhook is a 404 page; any other refusal is shown in the form.
    webhooks::get(&app, &session.user.team_id, &form.id).await?;
    let input = webhook_input(&form.fields);
    match webhooks::update(&app, &session.user.team_id, &form.id, input.clone()).await {
        Ok(_) => Ok(done(&detail_url(&form.id), "updated")),
        Err(err) => Ok(form_page(
            session,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(form.id.clone()),
            input.endpoint.as_deref().unwrap_or(""),
            input.events.as_deref().unwrap_or(&[]),
            Some(refusal(err)?),
        )),
    }
}

/// Enable or disable: the button pressed sends `status`.
async fn set_status(State(app): State<App>, form: Item<AdminForm>) -> PageResult {
    let session = &form.session;
    let status = form.fields.text("status");
    if ![webhooks::ENABLED, webhooks::DISABLED].contains(&status) {
        return Err(PageError::BadRequest);
    }
    let input = WebhookInput {
        status: Some(status.to_string()),
        ..WebhookInput::default()
    };
    webhooks::update(&app, &session.user.team_id, &form.id, input).await?;
    Ok(done(&detail_url(&form.id), status))
}

async fn confirm_delete(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let webhook = webhooks::get(&app, &session.user.team_id, &current.id).await?;
    let mut confirm = Confirm::delete(("Webhooks", LIST), &webhook.id, ("webhook", ""), "");
    confirm.heading = "Delete this webhook?".into();
    confirm.crumbs.truncate(1);
    let page = DeletePage {
        shell: Shell::in_section(session, SECTION),
        confirm,
        webhook: WebhookRow::from(&webhook),
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_checkboxes_are_grouped() {
        let groups = event_groups(&["email.sent".to_string()]);
        let titles: Vec<&str> = groups.iter().map(|g| g.title).collect();
        assert_eq!(titles, ["Emails", "Contacts", "Domains"]);
        let total: usize = groups.iter().map(|g| g.events.len()).sum();
        // `email.received` (no receiving yet) is not offered unless already subscribed.
        assert_eq!(total, EVENT_TYPES.len() - NOT_OFFERED.len());
        let names = |groups: &[EventGroup]| -> Vec<&str> {
            groups
                .iter()
                .flat_map(|g| g.events.iter().map(|e| e.name))
                .collect()
        };
        assert!(!names(&groups).contains(&"email.received"));
        let kept = event_groups(&["email.received".to_string()]);
        assert!(names(&kept).contains(&"email.received"));
        assert!(groups[0].events[0].checked);
        assert!(!groups[0].events[1].checked);
    }
}
