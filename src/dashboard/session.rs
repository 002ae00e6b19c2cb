//! Who is signed in: the `herald_session` cookie, looked up in the sessions table.
//! Pages take [`CurrentSession`] as an extractor; without a valid session the browser is
//! sent to `/login`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use super::pages::PageError;
use crate::app::App;
use crate::auth::sessions::{self, SESSION_COOKIE, SESSION_TTL_MS, Session};

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

/// Admin-only pages refuse other members with [`PageError::AdminOnly`]; every page that
/// changes team settings, keys, domains, webhooks or the audience schema calls this.
pub fn require_admin(session: &Session) -> Result<(), PageError> {
    if session.is_admin() {
        Ok(())
    } else {
        Err(PageError::AdminOnly)
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
