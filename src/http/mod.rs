//! The HTTP server's parts: the gate every API request passes, the guard and body limit of
//! every request, Resend's error body, the request log, `/metrics`. The router that puts
//! them together with Resend's API (`api`) and the dashboard is `app::router`, above both.
//! Every API response is JSON, unknown routes and wrong methods included.

pub mod error;
pub mod gate;
pub mod guard;
pub mod json;
pub mod listener;
pub mod pagination;
pub mod prometheus;
pub mod rate_limit;
pub mod request_log;

use axum::extract::Request;
use axum::http::Uri;

/// Largest request body accepted: Resend's 40 MB email limit plus JSON overhead.
pub const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// Normalises the path before routing: repeated slashes are collapsed (the Node SDK joins
/// its base URL and path without normalising, so `http://host/` gives `//emails`) and a
/// trailing slash is dropped (the Rust SDK lists a contact's segments at
/// `/contacts/{id}/segments/`), so every route answers with or without one.
pub fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        let mut normalized = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && normalized.ends_with('/')) {
                normalized.push(c);
            }
        }
        if normalized.len() > 1 && normalized.ends_with('/') {
            normalized.pop();
        }
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{normalized}?{q}"),
            None => normalized,
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(uri: &str) -> String {
        let req = Request::builder()
            .uri(uri)
            .body(axum::body::Body::empty())
            .unwrap();
        normalize_path(req).uri().to_string()
    }

    #[test]
    fn paths_are_normalized() {
        for (given, expected) in [
            ("/", "/"),
            ("//", "/"),
            ("/emails", "/emails"),
            ("//emails", "/emails"),
            ("/emails/", "/emails"),
            ("//emails//", "/emails"),
            (
                "/contacts/a%40b.c/segments/?limit=2",
                "/contacts/a%40b.c/segments?limit=2",
            ),
            ("/a//b/?x=1//", "/a/b?x=1//"),
        ] {
            assert_eq!(normalized(given), expected, "{given}");
        }
    }
}
