//! Who is signed in: the `herald_session` cookie, looked up in the sessions table.
//! Pages take [`CurrentSession`] as an extractor ([`AdminSession`] / [`AdminForm`] for
//! admin-only pages and forms, each wrapped in [`Item`] for a page or form about one thing
//! of a path's `{id}`); without a valid session the browser is sent to `/login`.

use std::ops::Deref;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use super::csrf::{CsrfForm, FormFields};
use super::pages::PageError;
use crate::auth::sessions::{self, SESSION_COOKIE, SESSION_TTL_MS, Session};
use crate::handle::App;

pub struct CurrentSession {
    pub session: Session,
    /// The cookie's token, needed to end the session.
    pub token: String,
}

impl FromRequestParts<App> for CurrentSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/login").into_response());
        };
        match sessions::find(app, &token).await {
            Ok(Some(session)) => Ok(CurrentSession { session, token }),
            // Expired or logged out elsewhere: drop the stale cookie on the way to /login.
            Ok(None) => Err((
                [(header::SET_COOKIE, clear_cookie(app, SESSION_COOKIE, "/"))],
                Redirect::to("/login"),
            )
                .into_response()),
            Err(err) => Err(PageError::from(err).into_response()),
        }
    }
}

/// A signed-in team admin: what every admin-only page takes instead of [`CurrentSession`].
/// Other members get [`PageError::AdminOnly`]; signed out, the way to `/login`.
pub struct AdminSession {
    pub session: Session,
}

impl FromRequestParts<App> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let current = CurrentSession::from_request_parts(parts, app).await?;
        admin(current.session).map(|session| AdminSession { session })
    }
}

/// An admin-only form submission: a [`CsrfForm`] (signed in, same site, the session's
/// CSRF token) from a team admin. The CSRF check comes first, as for any form.
pub struct AdminForm {
    pub session: Session,
    pub fields: FormFields,
}

impl FromRequest<App> for AdminForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let form = CsrfForm::from_request(req, app).await?;
        let session = admin(form.current.session)?;
        Ok(AdminForm {
            session,
            fields: form.fields,
        })
    }
}

/// A page or form about one thing: the `{id}` of its path, and who asks, one of the
/// extractors above (`Item<CurrentSession>`, `Item<AdminSession>`, `Item<CsrfForm>`,
/// `Item<AdminForm>`), which the item derefs to (`item.session`, `item.fields`). A handler
/// of one thing takes this one extractor after the app's state.
pub struct Item<S> {
    pub id: String,
    by: S,
}

impl<S> Deref for Item<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.by
    }
}

/// The `{id}` of the path (a route with one parameter, so it is always there).
async fn path_id(parts: &mut Parts, app: &App) -> Result<String, Response> {
    let Path(id) = Path::<String>::from_request_parts(parts, app)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(id)
}

impl<S: FromRequestParts<App, Rejection = Response>> FromRequestParts<App> for Item<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let id = path_id(parts, app).await?;
        let by = S::from_request_parts(parts, app).await?;
        Ok(Item { id, by })
    }
}

impl<S: FromRequest<App, Rejection = Response>> FromRequest<App> for Item<S> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let id = path_id(&mut parts, app).await?;
        let by = S::from_request(Request::from_parts(parts, body), app).await?;
        Ok(Item { id, by })
    }
}

#[allow(clippy::result_large_err)] // the extractors' own rejection type
fn admin(session: Session) -> Result<Session, Response> {
    if session.is_admin() {
        Ok(session)
    } else {
        Err(PageError::AdminOnly.into_response())
    }
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
}

/// Cookies get `Secure` when users reach Herald over HTTPS.
fn secure_attr(app: &App) -> &'static str {
    if app.settings().public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

/// The session cookie: HttpOnly, SameSite=Lax, Path=/, lasting as long as the session.
pub fn session_cookie(app: &App, token: &str) -> HeaderValue {
    build(
        app,
        SESSION_COOKIE,
        token,
        "/",
        "Lax",
        SESSION_TTL_MS / 1000,
    )
}

/// A short-lived cookie only `path` receives (the login form's CSRF token).
pub fn scoped_cookie(app: &App, name: &str, value: &str, path: &str, max_age: i64) -> HeaderValue {
    build(app, name, value, path, "Strict", max_age)
}

pub fn clear_cookie(app: &App, name: &str, path: &str) -> HeaderValue {
    build(app, name, "", path, "Lax", 0)
}

/// Cookie values here are random alphanumeric tokens, so they need no quoting.
fn build(
    app: &App,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = secure_attr(app);
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
    );
    HeaderValue::from_str(&text).expect("cookie values are alphanumeric")
}
