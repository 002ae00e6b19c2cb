//! The Suppressions page: the addresses Herald does not send to, newest first (keyset pages,
//! filter by origin, look-up of one address), each with its origin and the email that caused
//! it; every team member can add an address by hand or remove one, as the API allows. The
//! list itself is `crate::suppressions`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;

use super::crud::done;
use super::csrf::CsrfForm;
use super::format;
use super::pages::{
    PageError, PageResult, Shell, keyset_page, pager, plain_error, refusal, render,
};
use super::session::{CurrentSession, Item};
use crate::auth::sessions::Session;
use crate::handle::App;
use crate::suppressions::{self, Suppression};

const LIST: &str = "/dashboard/suppressions";
const SECTION: &str = "suppressions";
const PAGE_SIZE: &str = "50";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(add))
        .route("/dashboard/suppressions/{id}/remove", post(remove))
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    origin: Option<String>,
    q: Option<String>,
    after: Option<String>,
    before: Option<String>,
    notice: Option<String>,
}

/// One line of the table.
struct Row {
    id: String,
    email: String,
    origin: &'static str,
    origin_css: &'static str,
    /// The email whose bounce or complaint put the address on the list.
    email_id: Option<String>,
    added: String,
    added_exact: String,
}

impl Row {
    fn new(s: &Suppression, now: i64) -> Self {
        let (origin, origin_css) = match s.origin.as_str() {
            suppressions::BOUNCE => ("Bounced", "red"),
            suppressions::COMPLAINT => ("Complaint", "orange"),
            _ => ("Added by hand", "grey"),
        };
        Self {
            id: s.id.clone(),
            email: s.email.clone(),
            origin,
            origin_css,
            email_id: s.source_id.clone(),
            added: format::relative(now, s.created_at),
            added_exact: format::exact_seconds(s.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "suppressions/list.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<Row>,
    origin: String,
    q: String,
    filtered: bool,
    notice: Option<&'static str>,
    /// The add form's error and what was typed.
    error: Option<String>,
    email: String,
    newer: Option<String>,
    older: Option<String>,
}

fn href(params: &ListParams, direction: &str, id: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(origin) = params.origin.as_deref().filter(|o| !o.is_empty()) {
        query.append_pair("origin", origin);
    }
    query.append_pair(direction, id);
    format!("{LIST}?{}", query.finish())
}

async fn page(
    app: &App,
    session: &Session,
    params: &ListParams,
    error: Option<String>,
    email: String,
) -> Result<ListPage, PageError> {
    let team = &session.user.team_id;
    let origin = params
        .origin
        .as_deref()
        .filter(|o| suppressions::ORIGINS.contains(o));
    let q = params.q.as_deref().map(str::trim).unwrap_or("").to_string();
    let now = app.now_ms();
    let (rows, newer, older) = if q.is_empty() {
        let page = keyset_page(PAGE_SIZE, &params.after, &params.before)?;
        let list = suppressions::list(app, team, origin, &page).await?;
        let (newer, older) = pager(&page, &list, |r| &r.id, |d, id| href(params, d, id));
        let rows = list.data.iter().map(|s| Row::new(s, now)).collect();
        (rows, newer, older)
    } else {
        // One address, as it is stored (lower-case); nothing found when it is no address.
        let found = match suppressions::normalize(&q) {
            Ok(address) => suppressions::find(app, team, &[address]).await?,
            Err(_) => Default::default(),
        };
        let rows = found
            .values()
            .filter(|s| origin.is_none_or(|o| s.origin == o))
            .map(|s| Row::new(s, now))
            .collect();
        (rows, None, None)
    };
    Ok(ListPage {
        shell: Shell::in_section(session, SECTION),
        rows,
        origin: origin.unwrap_or("").to_string(),
        filtered: origin.is_some() || !q.is_empty(),
        q,
        notice: match params.notice.as_deref() {
            Some("added") => Some("The address was added: Herald will not send to it."),
            Some("removed") => Some("The address was removed: Herald sends to it again."),
            _ => None,
        },
        error,
        email,
        newer,
        older,
    })
}

async fn list_page(
    State(app): State<App>,
    current: CurrentSession,
    Query(params): Query<ListParams>,
) -> PageResult {
    let page = page(&app, &current.session, &params, None, String::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Adds an address by hand (origin `manual`).
async fn add(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let typed = form.fields.text("email").trim().to_string();
    let refused = if typed.is_empty() {
        Some("Enter the email address Herald should not send to.".to_string())
    } else {
        match suppressions::add(
            &app,
            &session.user.team_id,
            &typed,
            suppressions::MANUAL,
            None,
        )
        .await
        {
            Ok(_) => None,
            Err(err) => Some(plain_error(&refusal(err)?)),
        }
    };
    match refused {
        None => Ok(done(LIST, "added")),
        Some(message) => {
            let params = ListParams::default();
            let page = page(&app, session, &params, Some(message), typed).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn remove(State(app): State<App>, form: Item<CsrfForm>) -> PageResult {
    suppressions::remove(&app, &form.current.session.user.team_id, &form.id).await?;
    Ok(done(LIST, "removed"))
}
