//! `/login` and `/logout`. The login form is protected by a same-site check and a token
//! held in a cookie only `/login` receives (a signed-out browser has no session token yet).

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};

use super::csrf::{self, CsrfForm};
use super::pages::{PageError, render};
use super::session::{self, CurrentSession};
use crate::auth::AuthError;
use crate::auth::sessions::{self, SESSION_COOKIE};
use crate::auth::tokens::{random_alphanumeric, same};
use crate::handle::App;

const LOGIN_CSRF_COOKIE: &str = "herald_login_csrf";
const LOGIN_CSRF_MAX_AGE: i64 = 3600;
pub const HOME: &str = "/dashboard/emails";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf_token: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    email: &'a str,
    csrf_token: &'a str,
}

/// Renders the form and (re)sets the login token cookie.
fn login_page(
    app: &App,
    token: &str,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
) -> Response {
    let cookie =
        session::scoped_cookie(app, LOGIN_CSRF_COOKIE, token, "/login", LOGIN_CSRF_MAX_AGE);
    let page = LoginPage {
        csrf_token: token,
        email,
        error,
    };
    ([(header::SET_COOKIE, cookie)], render(status, &page)).into_response()
}

fn login_token(headers: &HeaderMap) -> String {
    session::cookie(headers, LOGIN_CSRF_COOKIE)
        .filter(|t| t.len() == 32 && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| random_alphanumeric(32))
}

pub async fn show(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE)
        && matches!(sessions::find(&app, &token).await, Ok(Some(_)))
    {
        return Redirect::to(HOME).into_response();
    }
    login_page(&app, &login_token(&headers), StatusCode::OK, "", None)
}

pub async fn submit(State(app): State<App>, req: Request) -> Response {
    let headers = req.headers().clone();
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let cookie_token = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let fields = match csrf::read_form(req).await {
        Ok(fields) => fields,
        Err(err) => return err.into_response(),
    };
    let sent = fields.text(csrf::FORM_FIELD);
    if !csrf::same_origin(&app, &headers) || cookie_token.is_empty() || !same(sent, &cookie_token) {
        return PageError::Csrf.into_response();
    }
    let email = fields.text("email");
    match sessions::login(&app, email, fields.text("password"), client).await {
        Ok(Some(token)) => (
            // Two Set-Cookie headers: a plain header array would keep only the last.
            AppendHeaders([
                (header::SET_COOKIE, session::session_cookie(&app, &token)),
                (
                    header::SET_COOKIE,
                    session::clear_cookie(&app, LOGIN_CSRF_COOKIE, "/login"),
                ),
            ]),
            Redirect::to(HOME),
        )
            .into_response(),
        Ok(None) => login_page(
            &app,
            &cookie_token,
            StatusCode::UNAUTHORIZED,
            email,
            Some("Wrong email or password."),
        ),
        Err(err @ AuthError::Throttled(_)) => login_page(
            &app,
            &cookie_token,
            StatusCode::TOO_MANY_REQUESTS,
            email,
            Some(&err.to_string()),
        ),
        Err(err) => PageError::from(err).into_response(),
    }
}

/// A plain page with a sign-out button, for people who type `/logout`.
pub async fn confirm(current: CurrentSession) -> Response {
    let page = LogoutPage {
        email: &current.session.user.email,
        csrf_token: &current.session.csrf_token,
    };
    render(StatusCode::OK, &page)
}

pub async fn logout(State(app): State<App>, form: CsrfForm) -> Response {
    if let Err(err) = sessions::logout(&app, &form.current.token).await {
        return PageError::from(err).into_response();
    }
    (
        [(
            header::SET_COOKIE,
            session::clear_cookie(&app, SESSION_COOKIE, "/"),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}
