//! The outermost layer every request passes, before routing and authentication:
//!
//! - **NUL in the URL.** `%00` in the path (ids, aliases, emails) or in a query parameter
//!   (`after`, `before`, …) is refused with a 422 naming it. PostgreSQL cannot store NUL in
//!   text and SQLite would, so one rule for both: NUL is never valid input. JSON bodies get the
//!   same rule in [`crate::http::json`].
//! - **Unread bodies.** When an answer is sent before the request body was read to its end
//!   (the API gate's 401/403, a 404, a 400 found early, a GET with a body), the server cannot
//!   reuse the connection; the answer then says `Connection: close`, so keep-alive clients open
//!   a new one instead of sending their next request into a closing socket.
//! - **Resend's error shape.** axum's own rejections (bad path or query parameters, bodies
//!   over the limit, wrong content type) are plain text; on the API they are rewritten as
//!   `{"statusCode","name","message"}` like every other error.
//! - **HSTS.** When `public_url` is https, answers carry `Strict-Transport-Security`.
//! - **Memory.** A body is read only once it has its share of the node's request budget
//!   ([`crate::budget`]), held until the answer is ready (the handler finds the
//!   [`crate::budget::Share`] in the request's extensions, to add what it renders); a
//!   request that waited too long for it ends with 503 `service_unavailable` and
//!   `Retry-After`. A handler that streams
//!   its body instead of holding it (contact imports) lowers its share with [`BodyCharge`].
//! - **Slow bodies.** A request body must arrive within [`BODY_TIMEOUT_BASE`] plus one second
//!   per [`BODY_MIN_RATE`] bytes it declares; past that the request ends with a 408
//!   `request_timeout` and the connection closes, so a client trickling a body cannot hold a
//!   connection and a handler (headers have hyper's own timeout, see
//!   [`crate::http::listener::HEADER_READ_TIMEOUT`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;
use crate::handle::App;

/// Time every request body gets, whatever its size.
pub const BODY_TIMEOUT_BASE: std::time::Duration = std::time::Duration::from_secs(30);
/// The slowest upload accepted, in bytes per second, on top of the base time.
pub const BODY_MIN_RATE: u64 = 64 * 1024;
/// A body without a declared length (chunked) gets the time of this many bytes.
const UNDECLARED_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Largest plain-text rejection rewritten as JSON (axum's are a line or two).
const MAX_REWRITTEN_BYTES: usize = 16 * 1024;

pub async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let mut response = checked(&app, req, next).await;
    // Installations served over https tell browsers never to use plain http for them.
    if app
        .settings()
        .public_url
        .trim()
        .to_ascii_lowercase()
        .starts_with("https://")
    {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

async fn checked(app: &App, mut req: Request, next: Next) -> Response {
    if let Some(err) = nul_in_uri(req.uri()) {
        return close_if_body(&req, err.into_response());
    }
    let api = !is_html_area(req.uri().path());
    let tracked = has_body(&req).then(|| {
        let done = Arc::new(AtomicBool::new(false));
        let timed_out = Arc::new(AtomicBool::new(false));
        let share = crate::budget::Share::new(app.body_budget().clone());
        req.extensions_mut().insert(share.clone());
        let length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|len| len.to_str().ok()?.trim().parse::<u64>().ok());
        let declared = length.unwrap_or(UNDECLARED_BODY_BYTES);
        let allowed = BODY_TIMEOUT_BASE + std::time::Duration::from_secs(declared / BODY_MIN_RATE);
        let charge = BodyCharge(Arc::new(AtomicU64::new(
            length
                .unwrap_or(crate::http::MAX_BODY_BYTES as u64)
                .min(crate::http::MAX_BODY_BYTES as u64)
                .saturating_mul(crate::budget::HELD_PER_BODY_BYTE),
        )));
        req.extensions_mut().insert(charge.clone());
        let budget = app.body_budget().clone();
        let admission: Admission = Box::pin(async move {
            let bytes = charge.0.load(Ordering::Acquire);
            budget.hold(bytes).await
        });
        let body = std::mem::take(req.body_mut());
        *req.body_mut() = Body::new(Tracked {
            inner: body,
            done: done.clone(),
            deadline: Box::pin(tokio::time::sleep(allowed)),
            allowed,
            timed_out: timed_out.clone(),
            admission: Some(admission),
            share: share.clone(),
        });
        (done, timed_out, share)
    });
    let mut response = next.run(req).await;
    if let Some((_, timed_out, share)) = &tracked {
        // The answer is ready: the request's share (its body's, and what it rendered) goes
        // back.
        share.release();
        if share.refused() {
            response = AppError::from(crate::budget::Busy).into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::budget::RETRY_AFTER_SECS),
            );
        } else if timed_out.load(Ordering::Acquire) {
            response = AppError::new(
                408,
                "request_timeout",
                "The request body did not arrive in time.",
            )
            .into_response();
        }
    }
    if api {
        response = json_rejection(response).await;
    }
    if let Some((done, ..)) = tracked
        && !done.load(Ordering::Acquire)
    {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Paths whose answers are pages for people, not API JSON.
fn is_html_area(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/") || path.starts_with("/u/")
}

fn has_body(req: &Request) -> bool {
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    match req.headers().get(header::CONTENT_LENGTH) {
        Some(len) => len.to_str().ok().and_then(|l| l.trim().parse::<u64>().ok()) != Some(0),
        None => false,
    }
}

fn close_if_body(req: &Request, mut response: Response) -> Response {
    if has_body(req) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn contains_nul_escape(text: &str) -> bool {
    text.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// A 422 for `%00` anywhere in the path or the query, naming the query parameter.
pub fn nul_in_uri(uri: &axum::http::Uri) -> Option<AppError> {
    if contains_nul_escape(uri.path()) {
        return Some(AppError::invalid_parameter(
            "The path must not contain NUL characters (%00).",
        ));
    }
    let query = uri.query()?;
    if !contains_nul_escape(query) {
        return None;
    }
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if contains_nul_escape(name) || contains_nul_escape(value) {
            let shown: String = url::form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(k, _)| k.replace('\0', ""))
                .unwrap_or_default();
            return Some(AppError::validation(format!(
                "The `{shown}` parameter must not contain NUL characters (%00)."
            )));
        }
    }
    None
}

/// Rewrites a plain-text error answer (axum's extractor rejections) into Resend's body.
async fn json_rejection(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() && !status.is_server_error() || !plain {
        return response;
    }
    if response
        .body()
        .size_hint()
        .upper()
        .is_none_or(|n| n > MAX_REWRITTEN_BYTES as u64)
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_REWRITTEN_BYTES)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_string();
    let mut rewritten = rejection_error(status, message).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// What a plain-text rejection becomes: bad path or query parameters are 422s like the
/// API's own validation errors; other statuses keep their code and get a name from it.
pub fn rejection_error(status: StatusCode, message: String) -> AppError {
    if status == StatusCode::BAD_REQUEST {
        if message.starts_with("Invalid URL") || message.contains("path param") {
            return AppError::invalid_parameter(message);
        }
        if message.starts_with("Failed to deserialize query string") {
            return AppError::validation(message);
        }
    }
    AppError::new(status.as_u16(), status_name(status), message)
}

/// Resend-style snake-case names for statuses the API itself does not produce.
pub fn status_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "validation_error",
        401 => "missing_api_key",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "validation_error",
        431 => "request_header_fields_too_large",
        429 => "rate_limit_exceeded",
        503 => "service_unavailable",
        _ if status.is_server_error() => "internal_server_error",
        _ => "invalid_request",
    }
}

/// The 413 every over-limit body gets.
pub fn payload_too_large(limit: usize) -> AppError {
    AppError::new(
        413,
        "payload_too_large",
        format!(
            "The request body is too large: the limit is {} MB.",
            limit / (1024 * 1024)
        ),
    )
}

/// The bytes a request's body takes from the body budget, in the request's extensions:
/// [`crate::budget::HELD_PER_BODY_BYTE`] times its declared length unless its handler, which
/// streams the body instead of holding it, lowers it before reading.
#[derive(Clone)]
pub struct BodyCharge(Arc<AtomicU64>);

impl BodyCharge {
    pub fn set(&self, bytes: u64) {
        self.0.store(bytes, Ordering::Release);
    }
}

/// Waiting for a share of the body budget.
type Admission = Pin<Box<dyn std::future::Future<Output = Option<crate::budget::Held>> + Send>>;

/// A request body that waits for its share of the body budget before it is read, notes when
/// it was read to its end, and ends with an error when it does not arrive by its deadline.
struct Tracked {
    inner: Body,
    done: Arc<AtomicBool>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// The time the body gets once admitted.
    allowed: std::time::Duration,
    timed_out: Arc<AtomicBool>,
    /// `Some` until the share is granted (or refused).
    admission: Option<Admission>,
    /// The request's share, given back by [`checked`] once the answer is ready.
    share: crate::budget::Share,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.share.refused() {
            return Poll::Ready(Some(Err(axum::Error::new(over_budget()))));
        }
        if let Some(admission) = self.admission.as_mut() {
            match admission.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.admission = None;
                    self.share.refuse();
                    return Poll::Ready(Some(Err(axum::Error::new(over_budget()))));
                }
                Poll::Ready(Some(share)) => {
                    self.admission = None;
                    self.share.set(share);
                    // The time to send the body starts now, not while it waited.
                    let deadline = tokio::time::Instant::now() + self.allowed;
                    self.deadline.as_mut().reset(deadline);
                }
            }
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_pending() && self.deadline.as_mut().poll(cx).is_ready() {
            self.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        match &polled {
            Poll::Ready(None) => self.done.store(true, Ordering::Release),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                self.done.store(true, Ordering::Release)
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn over_budget() -> std::io::Error {
    std::io::Error::other("the node's request memory budget is in use")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_in_the_uri_is_named() {
        let err = |uri: &str| nul_in_uri(&uri.parse().unwrap()).map(|e| (e.status, e.message));
        assert!(err("/emails/abc").is_none());
        assert!(err("/emails?after=abc&limit=2").is_none());
        assert_eq!(err("/emails/a%00b").unwrap().0, 422);
        let (status, message) = err("/emails?limit=2&after=a%00").unwrap();
        assert_eq!(status, 422);
        assert!(message.contains("`after`"), "{message}");
        assert!(err("/contacts?x%00=1").is_some());
    }

    #[test]
    fn rejections_get_names() {
        let e = rejection_error(
            StatusCode::BAD_REQUEST,
            "Invalid URL: Invalid UTF-8 in `id`".into(),
        );
        assert_eq!((e.status, e.name), (422, "invalid_parameter"));
        let e = rejection_error(
            StatusCode::BAD_REQUEST,
            "Failed to deserialize query string: duplicate field `limit`".into(),
        );
        assert_eq!((e.status, e.name), (422, "validation_error"));
        let e = rejection_error(StatusCode::PAYLOAD_TOO_LARGE, "too big".into());
        assert_eq!((e.status, e.name), (413, "payload_too_large"));
    }
}
