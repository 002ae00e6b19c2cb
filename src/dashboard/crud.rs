//! The steps every list of things shares, written once: the notice a list shows after a
//! change (`?notice=`), back to the list after a change ([`done`], [`after_change`]) and the
//! confirmation before a deletion ([`Confirm`], rendered by `templates/confirm_delete.html`, which
//! each page's delete template extends with what the deletion does).
//!
//! Admin-only pages take `session::AdminSession` / `session::AdminForm`; form refusals go
//! through `pages::refusal` and `m::field_error` / `m::form_error`.

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{PageError, Shell, refusal, render};
use crate::error::AppError;

/// The `?notice=` a page shows once after a change, an extractor of its own (a page whose
/// query has more reads it with [`notice_text`]).
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    notice: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Notice {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Query(notice) = Query::<Notice>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(notice)
    }
}

impl Notice {
    /// The message `known` gives for the notice, if any: only fixed texts, nothing from the
    /// query string reaches the page.
    pub fn message(&self, known: &[(&str, &'static str)]) -> Option<&'static str> {
        notice_text(self.notice.as_deref(), known)
    }
}

/// The message `known` gives for a page's `notice` parameter, for pages whose query has
/// more than the notice.
pub fn notice_text(notice: Option<&str>, known: &[(&str, &'static str)]) -> Option<&'static str> {
    let notice = notice?;
    known.iter().find(|(n, _)| *n == notice).map(|(_, m)| *m)
}

/// Back to the page `list` with `notice` after a change.
pub fn done(list: &str, notice: &str) -> Response {
    Redirect::to(&format!("{list}?notice={notice}")).into_response()
}

/// After a form post on a list page: back to the list on success; on a refusal, the page
/// again (`again`, given the message) with 422; anything else is an error page.
pub async fn after_change<T, E: Into<AppError>, F>(
    result: Result<T, E>,
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

/// The handler the confirmation's form posts to, for things only admins delete: the
/// service's `delete(app, team, id)`, then back to `list` with the "deleted" notice.
macro_rules! admin_delete {
    ($delete:path, $list:expr) => {
        |axum::extract::State(app): axum::extract::State<crate::handle::App>,
         axum::extract::Path(id): axum::extract::Path<String>,
         form: crate::dashboard::session::AdminForm| async move {
            $delete(&app, &form.session.user.team_id, &id).await?;
            Ok::<_, crate::dashboard::pages::PageError>(crate::dashboard::crud::done(
                $list, "deleted",
            ))
        }
    };
}
pub(crate) use admin_delete;

/// What the confirmation before a deletion says, and where its two buttons go.
pub struct Confirm {
    /// The page's title.
    pub title: String,
    /// The breadcrumbs before "Delete": (label, address).
    pub crumbs: Vec<(String, String)>,
    pub heading: String,
    /// What the deletion does (pages with more to show override the template's block).
    pub message: String,
    /// Where the form posts.
    pub action: String,
    /// Where Cancel leads.
    pub back: String,
    pub button: String,
}

impl Confirm {
    /// Deleting the `noun` called `name`, the item `{list}/{id}` of the list `list` called
    /// `section`: "Delete “name”?" under the crumbs list / item, Cancel back to the item.
    pub fn delete(
        (section, list): (&str, &str),
        id: &str,
        (noun, name): (&str, &str),
        message: &str,
    ) -> Self {
        let item = format!("{list}/{id}");
        Self {
            title: format!("Delete {noun}"),
            crumbs: vec![(section.into(), list.into()), (name.into(), item.clone())],
            heading: format!("Delete “{name}”?"),
            message: message.into(),
            action: format!("{item}/delete"),
            back: item,
            button: format!("Delete {noun}"),
        }
    }

    /// For things without a page of their own: the crumbs stop at the list, and Cancel
    /// leads back to it.
    pub fn back_to_list(mut self) -> Self {
        self.crumbs.truncate(1);
        self.back = self.crumbs[0].1.clone();
        self
    }
}

/// A confirmation that has nothing to show but its message.
#[derive(Template)]
#[template(path = "confirm_delete.html")]
pub struct ConfirmPage {
    pub shell: Shell,
    pub confirm: Confirm,
}

impl ConfirmPage {
    pub fn response(shell: Shell, confirm: Confirm) -> Response {
        render(StatusCode::OK, &ConfirmPage { shell, confirm })
    }
}
