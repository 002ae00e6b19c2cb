//! Rendering: askama templates into HTML responses, the shell every signed-in page shares,
//! and the error pages (403, 404, 500).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::auth::sessions::Session;
use crate::error::AppError;

/// What the sidebar and every form on a signed-in page need.
pub struct Shell {
    pub email: String,
    pub role: String,
    pub is_admin: bool,
    pub csrf_token: String,
    /// The sidebar entry highlighted: `emails`, `templates`, `audience`, `domains`, `webhooks`
    /// `api-keys` or `settings`.
    pub section: &'static str,
}

impl Shell {
    /// The shell of an API Keys page.
    pub fn of(session: &Session) -> Self {
        Self::in_section(session, "api-keys")
    }

    pub fn in_section(session: &Session, section: &'static str) -> Self {
        Self {
            email: session.user.email.clone(),
            role: session.user.role.clone(),
            is_admin: session.is_admin(),
            csrf_token: session.csrf_token.clone(),
            section,
        }
    }
}

/// Links to the newer and older keyset pages of a list shown newest first: `list` is the
/// page shown, `id` a row's cursor id, `href(direction, id)` the address of a page
/// (`after`/`before`).
pub fn pager<T>(
    page: &crate::http::pagination::Page,
    list: &crate::store::page::ListResponse<T>,
    id: impl Fn(&T) -> &str,
    href: impl Fn(&str, &str) -> String,
) -> (Option<String>, Option<String>) {
    use crate::http::pagination::Cursor;
    let has_more = list.has_more;
    let (Some(first), Some(last)) = (list.data.first().map(&id), list.data.last().map(&id)) else {
        return (None, None);
    };
    let older = (matches!(page.cursor, Cursor::Before(_)) || has_more).then(|| href("after", last));
    let newer = match page.cursor {
        Cursor::After(_) => true,
        Cursor::Before(_) => has_more,
        Cursor::Newest => false,
    }
    .then(|| href("before", first));
    (newer, older)
}

/// The address of the list page `list` with its filters (`filters`: name and value; blank
/// ones are left out) and a cursor (`after`/`before`, id).
pub fn list_href(list: &str, filters: &[(&str, Option<String>)], cursor: (&str, &str)) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    query.append_pair(cursor.0, cursor.1);
    format!("{list}?{}", query.finish())
}

/// The keyset page a list page's `after` / `before` parameters ask for, `size` rows long; a
/// cursor that does not read is a 400 page.
pub fn keyset_page(
    size: &str,
    after: &Option<String>,
    before: &Option<String>,
) -> Result<crate::http::pagination::Page, PageError> {
    let query = crate::http::pagination::ListQuery {
        limit: Some(size.into()),
        after: after.clone(),
        before: before.clone(),
    };
    crate::http::pagination::Page::from_query(&query, None).map_err(|_| PageError::BadRequest)
}

/// What a keyset list page reads from its request: the signed-in session (signed out, the
/// way to `/login`), the query's parameters `P` (its filters) and the page of `SIZE` rows its
/// `after` / `before` ask for ([`keyset_page`]: a cursor that does not read is a 400 page).
pub struct KeysetList<P, const SIZE: u32> {
    pub session: Session,
    pub params: P,
    pub page: crate::http::pagination::Page,
}

#[derive(serde::Deserialize)]
struct Cursor {
    after: Option<String>,
    before: Option<String>,
}

impl<P, const SIZE: u32> axum::extract::FromRequestParts<crate::handle::App> for KeysetList<P, SIZE>
where
    P: serde::de::DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &crate::handle::App,
    ) -> Result<Self, Response> {
        use axum::extract::Query;
        let current = super::session::CurrentSession::from_request_parts(parts, app).await?;
        let Query(params) = Query::<P>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(cursor) = Query::<Cursor>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let page = keyset_page(&SIZE.to_string(), &cursor.after, &cursor.before)
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            session: current.session,
            params,
            page,
        })
    }
}

/// A refusal to show in the form (a 4xx other than 404: the input is to fix); anything else
/// is an error page. Every form's handler goes through this, with `AppError` or a service's
/// own error (mapped as the API maps it).
pub fn refusal(err: impl Into<AppError>) -> Result<String, PageError> {
    let err: AppError = err.into();
    if (400..500).contains(&err.status) && !err.is_not_found() {
        Ok(err.message)
    } else {
        Err(err.into())
    }
}

/// Marks the start and end of the field name [`about`] puts before a message.
const FIELD_MARK: char = '\u{1f}';

/// A message about the form input `field`, for messages that do not name it in backticks
/// ("The current password is not correct." about `current_password`): the form shows it
/// under that input. The mark is a control character, which form input never carries.
pub fn about(field: &str, message: &str) -> String {
    format!("{FIELD_MARK}{field}{FIELD_MARK}{}", without_field(message))
}

/// A refusal placed under the form's input it is about: kept when it names one of `fields`
/// (comma-separated input names) in backticks, else put under the input of the first
/// `(word, input)` pair whose word it contains (a message naming a value, as "Another
/// template already has the alias `x`."), else left for the top of the form.
pub fn placed(message: String, fields: &str, words: &[(&str, &str)]) -> String {
    if error_in(&message, fields) {
        return message;
    }
    match words.iter().find(|(word, _)| message.contains(word)) {
        Some((_, field)) => about(field, &message),
        None => message,
    }
}

/// The message without the field name [`about`] put before it.
fn without_field(message: &str) -> &str {
    message
        .strip_prefix(FIELD_MARK)
        .and_then(|rest| rest.split_once(FIELD_MARK))
        .map_or(message, |(_, text)| text)
}

/// A form's text input: trimmed; blank is none.
pub fn form_text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// A form's comma-separated addresses (`reply_to`) as the API's JSON array; none when blank.
pub fn form_addresses(value: &str) -> Option<serde_json::Value> {
    let list: Vec<serde_json::Value> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| serde_json::Value::String(s.to_string()))
        .collect();
    (!list.is_empty()).then_some(serde_json::Value::Array(list))
}

/// A service's error message in plain words, for the top of a form: no Markdown backticks
/// ("Missing `name` field." becomes "Fill in the name field.").
pub fn plain_error(message: &str) -> String {
    let message = without_field(message);
    if let Some(field) = message
        .strip_prefix("Missing `")
        .and_then(|rest| rest.strip_suffix("` field."))
    {
        return format!("Fill in the {} field.", field.replace('_', " "));
    }
    message.replace('`', "")
}

/// The same message for the place under its field, which needs no name: "The `events` field
/// must list…" becomes "Must list…", "Missing `name` field." becomes "Fill in this field.".
pub fn field_message(message: &str) -> String {
    let message = without_field(message);
    if message.starts_with("Missing `") && message.ends_with("` field.") {
        return "Fill in this field.".to_string();
    }
    if let Some(rest) = message.strip_prefix("The `")
        && let Some((_, after)) = rest.split_once("` field ")
    {
        let after = after
            .strip_prefix("is ")
            .map_or_else(|| after.to_string(), |rest| format!("this value is {rest}"));
        let mut chars = after.chars();
        if let Some(first) = chars.next() {
            return format!("{}{}", first.to_uppercase(), chars.as_str()).replace('`', "");
        }
    }
    message.replace('`', "")
}

/// The form field an error message is about: the first name in backticks ("The `endpoint`
/// field must…" → `endpoint`), or "" when it names none.
pub fn error_field(message: &str) -> String {
    if let Some((field, _)) = message
        .strip_prefix(FIELD_MARK)
        .and_then(|rest| rest.split_once(FIELD_MARK))
    {
        return field.to_string();
    }
    message
        .split('`')
        .nth(1)
        .filter(|_| message.matches('`').count() >= 2)
        .map(|name| name.split(['.', '[']).next().unwrap_or(name).to_string())
        .unwrap_or_default()
}

/// Whether the message is about one of `fields` (comma-separated names of the form's inputs),
/// so it shows under that field instead of at the top of the form.
pub fn error_in(message: &str, fields: &str) -> bool {
    let field = error_field(message);
    !field.is_empty() && fields.split(',').any(|f| f.trim() == field)
}

/// What a page's handler returns: the page, or the error page.
pub type PageResult<T = Response> = Result<T, PageError>;

/// Renders a template with a status; a template that fails to render is a 500.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "rendering a dashboard page");
            PageError::Internal.into_response()
        }
    }
}

/// What a preview may do: nothing but show markup, inline styles and `data:` images.
const PREVIEW_CSP: &str = "sandbox; default-src 'none'; style-src 'unsafe-inline'; \
                           img-src data:; font-src data:; form-action 'none'; base-uri 'none'; \
                           frame-ancestors 'self'";

/// Someone's email HTML (a sent email, a template), alone, for a sandboxed frame of a
/// dashboard page. Served outside the pages' own headers, with these stricter ones.
pub fn sandboxed_preview(html: String) -> Response {
    let mut response = html.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, PREVIEW_CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    shell: Shell,
    path: &'a str,
}

/// Any `/dashboard…` address no page answers: the dashboard's own 404 page, inside the
/// signed-in shell (navigation included); signed out, the plain error page.
pub async fn dashboard_not_found(
    session: Result<super::session::CurrentSession, Response>,
    uri: axum::http::Uri,
) -> Response {
    match session {
        Ok(current) => {
            let page = NotFoundPage {
                shell: Shell::in_section(&current.session, ""),
                path: uri.path(),
            };
            render(StatusCode::NOT_FOUND, &page)
        }
        Err(_) => PageError::NotFound.into_response(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// A state-changing request without a valid CSRF token, or from another site.
    Csrf,
    /// The signed-in user's role does not allow this.
    AdminOnly,
    NotFound,
    BadRequest,
    Internal,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    message: &'static str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The request did not carry a valid security token or came from another site. \
                 Go back, reload the page and try again.",
            ),
            PageError::AdminOnly => (
                StatusCode::FORBIDDEN,
                "Admins only",
                "Only team admins can add, change or delete API keys, domains, webhooks, \
                 contact properties, segments and topics. Ask an admin of your team.",
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "This page does not exist, or what it showed has been deleted.",
            ),
            PageError::BadRequest => (
                StatusCode::BAD_REQUEST,
                "Bad request",
                "The form could not be read.",
            ),
            PageError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An unexpected error occurred. Try again in a moment.",
            ),
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, title).into_response(),
        }
    }
}

/// A service's own error becomes a page through the API's mapping (`http::error`).
macro_rules! page_error_from {
    ($($error:ty),+) => {
        $(
            impl From<$error> for PageError {
                fn from(err: $error) -> Self {
                    AppError::from(err).into()
                }
            }
        )+
    };
}

page_error_from!(
    crate::auth::AuthError,
    crate::domains::DomainError,
    crate::audience::contacts::ContactError,
    crate::audience::properties::PropertyError,
    crate::audience::imports::ImportError,
    crate::templates::error::TemplateError,
    crate::broadcasts::error::BroadcastError,
    crate::emails::error::EmailError,
    crate::exports::ExportError,
    crate::branding::BrandingError,
    crate::metrics::MetricsError,
    crate::suppressions::SuppressionError,
    crate::webhooks::WebhookError,
    crate::audience::segments::SegmentError,
    crate::audience::topics::TopicError,
    crate::store::sql::StoreError,
    sqlx::Error
);

impl From<AppError> for PageError {
    fn from(err: AppError) -> Self {
        if err.is_not_found() {
            PageError::NotFound
        } else {
            tracing::error!(error = %err, "dashboard request failed");
            PageError::Internal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_in_plain_words_under_their_field() {
        assert_eq!(
            plain_error("Missing `name` field."),
            "Fill in the name field."
        );
        assert_eq!(
            plain_error("The `endpoint` field must be a valid http or https URL."),
            "The endpoint field must be a valid http or https URL."
        );
        assert_eq!(
            field_message("Missing `name` field."),
            "Fill in this field."
        );
        assert_eq!(
            field_message("The `events` field must list at least one event type."),
            "Must list at least one event type."
        );
        assert_eq!(
            field_message("The `endpoint` field is not allowed: a private address."),
            "This value is not allowed: a private address."
        );
        assert_eq!(
            error_field("The `endpoint` field must be a URL."),
            "endpoint"
        );
        assert_eq!(error_field("Missing `template.id` field."), "template");
        assert_eq!(error_field("Something failed."), "");
        assert!(error_in("Missing `name` field.", "name, permission"));
        assert!(!error_in("Missing `name` field.", "endpoint"));
        assert!(!error_in("No field here.", "name"));
        let marked = about("current_password", "The current password is not correct.");
        assert_eq!(error_field(&marked), "current_password");
        assert!(error_in(&marked, "current_password,new_password"));
        assert_eq!(
            field_message(&marked),
            "The current password is not correct."
        );
        assert_eq!(plain_error(&marked), "The current password is not correct.");
        assert_eq!(error_field(&about("key", "Missing `name` field.")), "key");
    }
}
