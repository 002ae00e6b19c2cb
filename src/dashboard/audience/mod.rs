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
use axum::response::{Redirect, Response};
use axum::routing::get;

use super::crud::Confirm;
pub use super::crud::{Notice, after_change, done};
pub use super::pages::refusal;
use super::pages::{Shell, render};
use crate::auth::sessions::Session;
use crate::handle::App;

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

/// A confirmation before a deletion, under the Audience tabs.
#[derive(Template)]
#[template(path = "audience/confirm.html")]
pub struct AudienceConfirm {
    pub shell: Shell,
    pub tabs: Vec<Tab>,
    pub confirm: Confirm,
}

impl AudienceConfirm {
    /// The confirmation before deleting the `noun` called `name` (id `id`) of the list page
    /// `list`, under the tab `tab`.
    pub fn delete_page(
        session: &Session,
        (tab, list): (&'static str, &str),
        id: &str,
        (noun, name): (&str, &str),
        message: &str,
    ) -> Response {
        let mut confirm = Confirm::delete((tab, list), id, (noun, name), message).back_to_list();
        confirm.heading = format!("Delete the {noun} “{name}”?");
        confirm.title = confirm.heading.clone();
        Self::page(session, tab, confirm)
    }

    /// The confirmation `confirm` under the tab `tab`.
    pub fn page(session: &Session, tab: &'static str, confirm: Confirm) -> Response {
        let page = AudienceConfirm {
            shell: Shell::in_section(session, SECTION),
            tabs: tabs(tab),
            confirm,
        };
        render(StatusCode::OK, &page)
    }
}
