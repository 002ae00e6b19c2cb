//! The web dashboard: server-rendered pages (askama templates in `templates/`, htmx for
//! in-place updates, every page also a plain form) for signed-in team members.
//!
//! Layout: `session` (cookie → signed-in user), `csrf` (same-site check + tokens), `login`,
//! `api_keys` (the API Keys page), `audience` (contacts, properties, segments, topics),
//! `domains` and `domain_views` (the Domains pages), `emails` and `email_views` (the Emails
//! pages and the sandboxed HTML preview), `templates` (the Templates pages), `webhooks` (the
//! Webhooks pages), `settings` (the Settings area: Team, Your account, invitations), `branding`
//! (Settings → Branding), `broadcasts` (the Broadcasts pages), `chart` (inline SVG charts),
//! `unsubscribe` (the hosted unsubscribe page, public), `suppressions` (the Suppressions page),
//! `exports` (the lists' Export buttons, Settings → Exports, downloads), `crud` (the steps every
//! list shares: notices, back to the list, the confirmation before a deletion), `pages`
//! (rendering, shell, error pages, form refusals), `format` (times), `assets`
//! (CSS/JS compiled in).

mod api_keys;
mod assets;
pub(crate) mod audience;
mod branding;
pub(crate) mod broadcasts;
mod chart;
mod crud;
mod csrf;
mod domain_views;
mod domains;
mod email_views;
pub(crate) mod emails;
pub(crate) mod exports;
mod format;
mod login;
pub(crate) mod logs;
mod metrics;
mod pages;
mod session;
mod settings;
mod suppressions;
mod templates;
mod unsubscribe;
mod webhooks;

use axum::Router;
use axum::http::{HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};

use crate::handle::App;

pub fn routes() -> Router<App> {
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to(login::HOME) }))
        .route("/dashboard", get(|| async { Redirect::to(login::HOME) }))
        .route("/login", get(login::show).post(login::submit))
        .route("/logout", get(login::confirm).post(login::logout))
        .merge(api_keys::routes())
        .merge(audience::routes())
        .merge(domains::routes())
        .merge(emails::routes())
        .merge(webhooks::routes())
        .merge(templates::routes())
        .merge(logs::routes())
        .merge(metrics::routes())
        .merge(settings::routes())
        .merge(branding::routes())
        .merge(broadcasts::routes())
        .merge(suppressions::routes())
        .merge(exports::routes())
        .route("/dashboard/{*rest}", any(pages::dashboard_not_found))
        .method_not_allowed_fallback(form_address)
        .layer(axum::middleware::map_response(page_headers));
    pages
        .merge(emails::preview_routes())
        .merge(templates::preview_routes())
        .merge(broadcasts::preview_routes())
        .merge(unsubscribe::routes())
        .merge(assets::routes())
}

/// A form's address opened as a page (reloading after a boosted form put it in the address
/// bar, or typing it) leads to the page the form is on, its parent address, rather than to a
/// bare 405. Other wrong methods get the API's 405 answer.
async fn form_address(method: Method, uri: Uri) -> Response {
    if method != Method::GET {
        return crate::http::error::method_not_allowed()
            .await
            .into_response();
    }
    let path = uri.path();
    let parent = path
        .rsplit_once('/')
        .map(|(parent, _)| parent)
        .filter(|p| p.starts_with("/dashboard"))
        .unwrap_or("/dashboard");
    Redirect::to(parent).into_response()
}

/// Pages may hold secrets (a new API key) and must not be framed, cached or run foreign code.
async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CACHE_CONTROL, "no-store");
    set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    response
}
