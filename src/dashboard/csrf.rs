//! CSRF protection for every state-changing dashboard request, in two layers:
//! 1. the request must come from this site: `Sec-Fetch-Site` (sent by current browsers) must
//!    say so, and `Origin`, when present, must be this host;
//! 2. it must echo a secret token: the session's `csrf_token` for signed-in forms (hidden
//!    `csrf_token` field, or `X-CSRF-Token` header for htmx), and for the login form a token
//!    from a cookie only `/login` receives (double submit). Compared in constant time.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::pages::PageError;
use super::session::CurrentSession;
use crate::auth::tokens::same;
use crate::handle::App;

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Dashboard forms are short, except a template's HTML (email HTML with inline styles runs
/// large).
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// True unless the browser says another site started this request.
pub fn same_origin(app: &App, headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        // Older browsers omit Origin on same-origin form posts; non-browser clients cannot
        // be forged into sending a victim's cookie. The token check still applies.
        return true;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        return false; // includes the opaque "null" origin
    };
    let Some(host) = origin.host_str() else {
        return false;
    };
    let authority = match origin.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let request_host =
        text(header::HOST.as_str()).map(|h| default_port_stripped(h, origin.scheme()));
    // With a configured public URL its scheme is the site's: an `http://` page (which anyone
    // on the path can forge) is another origin than the `https://` dashboard.
    let scheme_ok = app.settings().public_url.trim().is_empty()
        || url::Url::parse(&app.public_base_url()).is_ok_and(|p| p.scheme() == origin.scheme());
    if scheme_ok && request_host.as_deref() == Some(authority.as_str()) {
        return true;
    }
    // Behind a proxy the Host header may differ; the configured public URL is this site too.
    let public = app.public_base_url();
    url::Url::parse(&public).is_ok_and(|p| p.origin() == origin.origin())
}

fn default_port_stripped(host: &str, scheme: &str) -> String {
    let default = match scheme {
        "https" => ":443",
        _ => ":80",
    };
    host.strip_suffix(default).unwrap_or(host).to_string()
}

/// The fields of an `application/x-www-form-urlencoded` body (last value wins).
#[derive(Debug, Default)]
pub struct FormFields(HashMap<String, String>);

impl FormFields {
    pub fn parse(body: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The field, or "" when absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The suffixes of the field names starting with `prefix`, sorted (checkbox lists named
    /// `prefix<id>`, since repeated names keep only their last value).
    pub fn suffixes(&self, prefix: &str) -> Vec<String> {
        let mut found: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
            .collect();
        found.sort();
        found
    }
}

/// Reads a form body, refusing bodies too large for a dashboard form.
pub async fn read_form(req: Request) -> Result<FormFields, PageError> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| PageError::BadRequest)?;
    // NUL is never valid text (PostgreSQL cannot store it): refused, on both databases.
    if bytes.windows(3).any(|w| w == b"%00") || bytes.contains(&0) {
        return Err(PageError::BadRequest);
    }
    Ok(FormFields::parse(&bytes))
}

/// A signed-in, same-site form submission that carried the session's CSRF token.
pub struct CsrfForm {
    pub current: CurrentSession,
    pub fields: FormFields,
}

impl FromRequest<App> for CsrfForm {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let current = CurrentSession::from_request_parts(&mut parts, app).await?;
        if !same_origin(app, &parts.headers) {
            return Err(PageError::Csrf.into_response());
        }
        let header_token = parts
            .headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let fields = read_form(Request::from_parts(parts, body))
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = header_token
            .as_deref()
            .or(fields.get(FORM_FIELD))
            .unwrap_or("");
        if !same(sent, &current.session.csrf_token) {
            return Err(PageError::Csrf.into_response());
        }
        Ok(CsrfForm { current, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields() {
        let f = FormFields::parse(b"name=My+key%21&permission=sending_access&name=last");
        assert_eq!(f.get("name"), Some("last"));
        assert_eq!(f.text("permission"), "sending_access");
        assert_eq!(f.text("missing"), "");
    }

    #[test]
    fn host_ports() {
        assert_eq!(
            default_port_stripped("example.com:443", "https"),
            "example.com"
        );
        assert_eq!(
            default_port_stripped("example.com:8080", "http"),
            "example.com:8080"
        );
    }
}
