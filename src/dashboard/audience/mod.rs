//! The Audience area of the dashboard: Contacts (list, search, status filter, bulk actions,
//! contact page, edit), Add Contacts (CSV import with a column-mapping step, or addresses
//! typed in), Properties, Segments and Topics. Every change goes through `crate::audience`,
//! the services the API uses.
//!
//! Roles: every team member manages contacts; creating, editing and deleting properties,
//! segments and topics (the shape of everyone's data) is for admins.

mod add;
mod contact;
pub(crate) mod contacts;
mod properties;
mod segments;
mod topics;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub use super::pages::refusal;
use super::pages::{PageError, Shell, render};
pub use super::session::require_admin;
use crate::app::App;
use crate::auth::sessions::Session;
use crate::error::AppError;

pub const BASE: &str = "/dashboard/audience";
/// The sidebar entry of these pages.
pub const SECTION: &str = "audience";
pub const CONTACTS: &str = "/dashboard/audience/contacts";

pub fn routes() -> Router<App> {
    Router::new()
        .route(BASE, get(|| async { Redirect::to(CONTACTS) }))
        .merge(contacts::routes())
        .merge(contact::routes())
        .merge(add::routes())
        .merge(properties::routes())
        .merge(segments::routes())
        .merge(topics::routes())
}

/// The sub-navigation of the Audience pages.
pub struct Tab {
    pub name: &'static str,
    pub href: &'static str,
    pub active: bool,
}

pub fn tabs(active: &str) -> Vec<Tab> {
    [
        ("Contacts", CONTACTS),
        ("Properties", "/dashboard/audience/properties"),
        ("Segments", "/dashboard/audience/segments"),
        ("Topics", "/dashboard/audience/topics"),
    ]
    .into_iter()
    .map(|(name, href)| Tab {
        name,
        href,
        active: name == active,
    })
    .collect()
}

/// A confirmation before a deletion.
#[derive(Template)]
#[template(path = "audience/confirm.html")]
pub struct Confirm {
    pub shell: Shell,
    pub tabs: Vec<Tab>,
    pub title: String,
    pub message: String,
    pub action: String,
    pub back: String,
    pub button: String,
}

impl Confirm {
    /// The confirmation before deleting the `noun` called `name` (id `id`) of the list page
    /// `list`, under the tab `tab`.
    pub fn delete_page(
        session: &Session,
        (tab, list): (&'static str, &str),
        id: &str,
        (noun, name): (&str, &str),
        message: &str,
    ) -> Response {
        let page = Confirm {
            shell: Shell::in_section(session, SECTION),
            tabs: tabs(tab),
            title: format!("Delete the {noun} “{name}”?"),
            message: message.into(),
            action: format!("{list}/{id}/delete"),
            back: list.into(),
            button: format!("Delete {noun}"),
        };
        render(StatusCode::OK, &page)
    }
}

/// The `?notice=` a list page shows once after a change.
#[derive(Deserialize)]
pub struct NoticeParams {
    notice: Option<String>,
}

impl NoticeParams {
    /// The message `known` gives for the notice, if any.
    pub fn message(&self, known: &[(&str, &'static str)]) -> Option<&'static str> {
        let notice = self.notice.as_deref()?;
        known.iter().find(|(n, _)| *n == notice).map(|(_, m)| *m)
    }
}

/// Back to the list page `list` with `notice` after a change.
pub fn done(list: &str, notice: &str) -> Response {
    Redirect::to(&format!("{list}?notice={notice}")).into_response()
}

/// After a form post on a list page: back to the list on success; on a refusal, the page
/// again (`again`, given the message) with 422; anything else is an error page.
pub async fn after_change<T, F>(
    result: Result<T, AppError>,
    list: &str,
    notice: &str,
    again: impl FnOnce(String) -> F,
) -> Result<Response, PageError>
where
    F: Future<Output = Result<Response, PageError>>,
{
    match result {
        Ok(_) => Ok(done(list, notice)),
        Err(err) => again(refusal(err)?).await,
    }
}
