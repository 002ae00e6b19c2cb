//! The Segments page: segments with their contact counts (each links to its contacts);
//! admins create and delete them.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::super::crud::admin_delete;
use super::super::format;
use super::super::pages::{PageError, PageResult, Shell, render};
use super::super::session::{AdminForm, AdminSession, CurrentSession, Item};
use super::{AudienceConfirm, Notice, SECTION, Tab, after_change, tabs};
use crate::audience::segments::{self, NewSegment};
use crate::auth::sessions::Session;
use crate::handle::App;

const LIST: &str = "/dashboard/audience/segments";

pub fn routes() -> Router<App> {
    Router::new()
        .route(LIST, get(list_page).post(create))
        .route(
            "/dashboard/audience/segments/{id}/delete",
            get(confirm_delete).post(admin_delete!(segments::delete, LIST)),
        )
}

pub struct SegmentRow {
    pub id: String,
    pub name: String,
    pub contacts: i64,
    pub created: String,
}

#[derive(Template)]
#[template(path = "audience/segments.html")]
struct ListPage {
    shell: Shell,
    tabs: Vec<Tab>,
    rows: Vec<SegmentRow>,
    name: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn list_response(
    app: &App,
    session: &Session,
    status: StatusCode,
    name: &str,
    error: Option<String>,
    notice: Option<&'static str>,
) -> PageResult {
    let rows = segments::all_with_counts(app, &session.user.team_id)
        .await?
        .into_iter()
        .map(|s| SegmentRow {
            created: format::date(s.created_at),
            id: s.id,
            name: s.name,
            contacts: s.contacts,
        })
        .collect();
    let page = ListPage {
        shell: Shell::in_section(session, SECTION),
        tabs: tabs("Segments"),
        rows,
        name: name.to_string(),
        error,
        notice,
    };
    Ok(render(status, &page))
}

async fn list_page(State(app): State<App>, current: CurrentSession, notice: Notice) -> PageResult {
    let notice = notice.message(&[
        ("created", "Segment created."),
        ("deleted", "Segment deleted."),
    ]);
    list_response(&app, &current.session, StatusCode::OK, "", None, notice).await
}

async fn create(State(app): State<App>, form: AdminForm) -> PageResult {
    let session = &form.session;
    let input = NewSegment {
        name: Some(form.fields.text("name").to_string()),
        ..NewSegment::default()
    };
    let result = segments::create(&app, &session.user.team_id, input).await;
    after_change(result, LIST, "created", |error| {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        list_response(
            &app,
            session,
            status,
            form.fields.text("name"),
            Some(error),
            None,
        )
    })
    .await
}

async fn confirm_delete(State(app): State<App>, current: Item<AdminSession>) -> PageResult {
    let session = &current.session;
    let segment = segments::find(&app, &session.user.team_id, &current.id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(AudienceConfirm::delete_page(
        session,
        ("Segments", LIST),
        &current.id,
        ("segment", &segment.name),
        "Its contacts stay; they are only no longer grouped in it.",
    ))
}
