//! The Contacts list: search by email or name, filter by status or segment, pages of 50
//! (keyset), and bulk actions on the selected contacts (add to segments, subscribe to
//! topics, delete after a confirmation).

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::super::csrf::{CsrfForm, FormFields};
use super::super::format;
use super::super::pages::{KeysetList, PageError, PageResult, Shell, list_href, pager, render};
use super::{CONTACTS, SECTION, Tab, tabs};
use crate::audience::contacts::{self, Contact, ListFilter, Status};
use crate::audience::segments::{self, Segment};
use crate::audience::topics::{self, Topic};
use crate::handle::App;

const PAGE_SIZE: u32 = 50;

pub fn routes() -> Router<App> {
    Router::new()
        .route(CONTACTS, get(list_page))
        .route("/dashboard/audience/contacts/bulk", post(bulk))
        .route(
            "/dashboard/audience/contacts/bulk-delete",
            post(bulk_delete),
        )
}

/// One line of the contacts table.
pub struct ContactRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub status: Status,
    pub created_date: String,
    pub created_exact: String,
}

impl From<&Contact> for ContactRow {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id.clone(),
            email: c.email.clone(),
            name: c.full_name(),
            status: c.status(),
            created_date: format::date(c.created_at),
            created_exact: format::exact(c.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "audience/contacts.html")]
struct ListPage {
    shell: Shell,
    tabs: Vec<Tab>,
    rows: Vec<ContactRow>,
    q: String,
    status: String,
    segment: String,
    filtered: bool,
    segments: Vec<Segment>,
    topics: Vec<Topic>,
    newer: Option<String>,
    older: Option<String>,
    notice: Option<&'static str>,
    problem: Option<&'static str>,
    /// How many contacts match the filters, on every page.
    total: i64,
    /// More contacts match than this page shows.
    more: bool,
    /// The Export button's address (these filters).
    export: String,
}

#[derive(Template)]
#[template(path = "audience/bulk_delete.html")]
struct BulkDeletePage {
    shell: Shell,
    tabs: Vec<Tab>,
    rows: Vec<ContactRow>,
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    #[serde(flatten)]
    filter: contacts::FilterParams,
    notice: Option<String>,
}

/// The list's address with these filters and a cursor.
fn href(params: &ListParams, cursor: (&str, &str)) -> String {
    let filter = &params.filter;
    let filters = [
        ("q", filter.q.clone()),
        ("status", filter.status.clone()),
        ("segment", filter.segment.clone()),
    ];
    list_href(CONTACTS, &filters, cursor)
}

async fn list_page(
    State(app): State<App>,
    request: KeysetList<ListParams, PAGE_SIZE>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let team = &request.session.user.team_id;
    let filter = contacts::read_filter(&request.params.filter);
    let segment = filter.segment_id.clone();
    let list = contacts::list(&app, team, &request.page, &filter).await?;
    let total = contacts::count(&app, team, &filter).await?;
    let (newer, older) = pager(
        &request.page,
        &list,
        |r| &r.id,
        |direction, id| href(&request.params, (direction, id)),
    );
    let (notice, problem) = match request.params.notice.as_deref() {
        Some("deleted") => (Some("The selected contacts were deleted."), None),
        Some("segments") => (
            Some("The selected contacts were added to the segments."),
            None,
        ),
        Some("subscribed") => (
            Some("The selected contacts were subscribed to the topics."),
            None,
        ),
        Some("contact-deleted") => (Some("Contact deleted."), None),
        Some("none-selected") => (None, Some("Select at least one contact first.")),
        Some("no-segment") => (None, Some("Choose at least one segment.")),
        Some("no-topic") => (None, Some("Choose at least one topic.")),
        _ => (None, None),
    };
    let page = ListPage {
        shell: Shell::in_section(&request.session, SECTION),
        tabs: tabs("Contacts"),
        rows: list.data.iter().map(Into::into).collect(),
        filtered: filter.search.is_some() || filter.status.is_some() || segment.is_some(),
        q: request.params.filter.q.clone().unwrap_or_default(),
        status: filter.status.map(|s| s.as_str()).unwrap_or("").to_string(),
        segment: segment.unwrap_or_default(),
        segments: segments::all_with_counts(&app, team).await?,
        topics: topics::all(&app, team).await?,
        newer,
        older,
        notice,
        problem,
        total,
        more: total > i64::try_from(list.data.len()).unwrap_or(i64::MAX),
        export: super::super::exports::link(crate::exports::Kind::Contacts, raw.as_deref()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The contacts a bulk action applies to: those ticked, or, with "all matching" chosen, every
/// contact matching the list's filters (sent along as `f_q`, `f_status`, `f_segment`).
async fn chosen_contacts(
    app: &App,
    team: &str,
    fields: &FormFields,
) -> Result<Vec<String>, PageError> {
    if fields.text("all_matching") != "1" {
        return Ok(fields.suffixes("c:"));
    }
    let text = |name: &str| Some(fields.text(name).trim().to_string()).filter(|v| !v.is_empty());
    let filter = ListFilter {
        segment_id: text("f_segment").filter(|s| uuid::Uuid::parse_str(s).is_ok()),
        search: text("f_q"),
        status: text("f_status").as_deref().and_then(Status::parse),
    };
    Ok(contacts::matching_ids(app, team, &filter).await?)
}

fn back(notice: &str) -> Response {
    Redirect::to(&format!("{CONTACTS}?notice={notice}")).into_response()
}

async fn bulk(State(app): State<App>, form: CsrfForm) -> PageResult {
    let session = &form.current.session;
    let team = &session.user.team_id;
    let selected = chosen_contacts(&app, team, &form.fields).await?;
    if selected.is_empty() {
        return Ok(back("none-selected"));
    }
    match form.fields.text("action") {
        "add_segments" => {
            let chosen = form.fields.suffixes("s:");
            if chosen.is_empty() {
                return Ok(back("no-segment"));
            }
            contacts::add_many_to_segments(&app, team, &selected, &chosen).await?;
            Ok(back("segments"))
        }
        "subscribe" => {
            let chosen = form.fields.suffixes("t:");
            if chosen.is_empty() {
                return Ok(back("no-topic"));
            }
            contacts::subscribe_many(&app, team, &selected, &chosen).await?;
            Ok(back("subscribed"))
        }
        "delete" => {
            let mut rows = Vec::new();
            for id in &selected {
                if let Some(contact) = contacts::find(&app, team, id).await? {
                    rows.push(ContactRow::from(&contact));
                }
            }
            let page = BulkDeletePage {
                shell: Shell::in_section(session, SECTION),
                tabs: tabs("Contacts"),
                rows,
            };
            Ok(render(StatusCode::OK, &page))
        }
        _ => Err(PageError::BadRequest),
    }
}

async fn bulk_delete(State(app): State<App>, form: CsrfForm) -> PageResult {
    let team = &form.current.session.user.team_id;
    let selected = form.fields.suffixes("c:");
    contacts::delete_many(&app, team, &selected).await?;
    Ok(back("deleted"))
}
