//! Turns one send request ([`SendEmailRequest`]) into a checked [`Draft`], or the
//! Resend-style error naming the first field that is wrong.

use std::collections::BTreeMap;

use super::address::Mailbox;
use super::attachments::{self, AttachmentInput};
use super::error::{EmailError, EmailResult};
use super::request::{Loose, Recipients, SendEmailRequest, TagRequest, TagText};
use super::schedule::parse_scheduled_at;
use crate::clock::Millis;

/// Most addresses accepted in each of `to`, `cc`, `bcc` and `reply_to`.
pub const MAX_RECIPIENTS: usize = 50;
/// Longest tag name or value.
pub const MAX_TAG_CHARS: usize = 256;
/// Longest subject, in characters (RFC 5322's line length).
pub const MAX_SUBJECT_CHARS: usize = 998;

/// Headers Herald writes itself; the API fields set them (`from`, `to`, `subject`, …). A
/// custom header may not replace them: checked at accept time, and again when the message is
/// composed (`delivery::mime`), so that no stored value can inject one.
pub const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "sender",
    "return-path",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "dkim-signature",
    "received",
];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tag {
    pub name: String,
    pub value: Option<String>,
}

/// A send request whose fields are all valid; attachments given by `path` are not
/// fetched yet.
#[derive(Debug)]
pub struct Draft {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
    pub headers: Vec<(String, String)>,
    pub tags: Vec<Tag>,
    pub topic_id: Option<String>,
    pub scheduled_at: Option<Millis>,
    pub attachments: Vec<AttachmentInput>,
}

impl Draft {
    /// Every recipient: `to`, then `cc`, then `bcc`.
    pub fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

fn must_be(field: &str, what: &str) -> EmailError {
    EmailError::Invalid(format!("The `{field}` field must be {what}."))
}

/// The request itself must be a JSON object.
pub fn object(body: Loose<SendEmailRequest>) -> EmailResult<SendEmailRequest> {
    match body {
        Loose::Given(request) => Ok(request),
        Loose::Wrong(_) => Err(EmailError::Invalid(
            "Each email must be a JSON object with `from`, `to` and `subject`.".into(),
        )),
    }
}

/// A string field: absent, or a string (anything else is an error naming it).
fn string(field: &str, value: Option<Loose<String>>) -> EmailResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(Loose::Given(s)) => Ok(Some(s)),
        Some(Loose::Wrong(_)) => Err(must_be(field, "a string")),
    }
}

/// Parses one send request; `now` anchors `scheduled_at`.
pub fn parse_draft(request: SendEmailRequest, now: Millis) -> EmailResult<Draft> {
    let SendEmailRequest {
        from,
        to,
        subject,
        cc,
        bcc,
        reply_to,
        html,
        text,
        template: _,
        headers: header_fields,
        tags: tag_fields,
        topic_id,
        scheduled_at,
        attachments: attachment_fields,
    } = request;
    let from = match from {
        None => return Err(EmailError::Missing("from")),
        Some(Loose::Given(s)) if s.trim().is_empty() => {
            return Err(EmailError::Missing("from"));
        }
        Some(Loose::Given(s)) => parse_from(&s)?,
        Some(Loose::Wrong(_)) => {
            return Err(EmailError::InvalidFrom(
                "Invalid `from` field. It must be a string such as `Name <email@example.com>`."
                    .into(),
            ));
        }
    };
    let to = recipients("to", to)?;
    if to.is_empty() {
        return Err(EmailError::Missing("to"));
    }
    let subject = string("subject", subject)?.ok_or(EmailError::Missing("subject"))?;
    check_subject(&subject)?;
    let cc = recipients("cc", cc)?;
    let bcc = recipients("bcc", bcc)?;
    let reply_to = recipients("reply_to", reply_to)?;

    // `template` was replaced by its rendered content before (`templates::send::apply`).
    let html = string("html", html)?;
    let text = string("text", text)?;
    if html.is_none() && text.is_none() {
        return Err(EmailError::MissingContent);
    }
    use super::limits;
    if let Some(html) = &html {
        limits::check_part("html", html.len())?;
    }
    if let Some(text) = &text {
        limits::check_part("text", text.len())?;
    }
    // Only `html`: the text part is generated from it when it is read or sent
    // ([`text_from_html`]), not stored (it would double what is stored).

    let headers = headers(header_fields)?;
    let tags = tags(tag_fields)?;
    let topic_id = match string("topic_id", topic_id)? {
        None => None,
        Some(id) => Some(
            uuid::Uuid::parse_str(id.trim())
                .map_err(|_| must_be("topic_id", "a valid UUID"))?
                .to_string(),
        ),
    };
    let scheduled_at = match string("scheduled_at", scheduled_at)? {
        None => None,
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(parse_scheduled_at(&s, now).map_err(EmailError::Invalid)?),
    };
    let attachments = attachments::parse_list(attachment_fields)?;
    let attached: usize = attachments
        .iter()
        .map(|a| match &a.source {
            attachments::Source::Content(bytes) => attachments::base64_len(bytes.len()),
            attachments::Source::Path(_) => 0,
        })
        .sum();
    limits::check_message(
        subject.len()
            + html.as_ref().map_or(0, String::len)
            + text.as_ref().map_or(0, String::len)
            + attached,
    )?;

    Ok(Draft {
        from,
        to,
        cc,
        bcc,
        reply_to,
        subject,
        html,
        text,
        headers,
        tags,
        topic_id,
        scheduled_at,
        attachments,
    })
}

/// A string or an array of strings, each an address; at most [`MAX_RECIPIENTS`].
pub(crate) fn recipients(
    field: &str,
    value: Option<Loose<Recipients>>,
) -> EmailResult<Vec<Mailbox>> {
    address_list(field, value, |s| {
        Mailbox::parse(&s).map_err(|why| invalid_address(field, &why))
    })
}

/// A string or an array of strings (a blank string is none), at most [`MAX_RECIPIENTS`],
/// each read by `each`.
pub fn address_list<T>(
    field: &str,
    value: Option<Loose<Recipients>>,
    mut each: impl FnMut(String) -> EmailResult<T>,
) -> EmailResult<Vec<T>> {
    let not_a_list = || must_be(field, "a string or an array of strings");
    let values = match value {
        None => return Ok(Vec::new()),
        Some(Loose::Given(Recipients::One(s))) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Loose::Given(Recipients::One(s))) => vec![Loose::Given(s)],
        Some(Loose::Given(Recipients::Many(items))) => items,
        Some(Loose::Wrong(_)) => return Err(not_a_list()),
    };
    if values.len() > MAX_RECIPIENTS {
        return Err(EmailError::Invalid(format!(
            "The `{field}` field can have at most {MAX_RECIPIENTS} addresses."
        )));
    }
    values
        .into_iter()
        .map(|value| match value {
            Loose::Given(s) => each(s),
            Loose::Wrong(_) => Err(not_a_list()),
        })
        .collect()
}

/// `field` holds something that is not an address.
pub fn invalid_address(field: &str, why: &str) -> EmailError {
    EmailError::Invalid(format!(
        "Invalid `{field}` field ({why}). The email address needs to follow the \
         `email@example.com` or `Name <email@example.com>` format."
    ))
}

/// The sender of an email, a broadcast or a template.
pub fn parse_from(from: &str) -> EmailResult<Mailbox> {
    Mailbox::parse(from).map_err(|why| match invalid_address("from", &why) {
        EmailError::Invalid(message) => EmailError::InvalidFrom(message),
        other => other,
    })
}

/// A subject: one line, at most [`MAX_SUBJECT_CHARS`] characters.
pub fn check_subject(subject: &str) -> EmailResult<()> {
    if subject.contains(['\r', '\n']) {
        return Err(EmailError::Invalid(
            "The `subject` field must not contain line breaks.".into(),
        ));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(EmailError::Invalid(format!(
            "The `subject` field must be at most {MAX_SUBJECT_CHARS} characters."
        )));
    }
    Ok(())
}

/// An email's text part: the text given, else the one generated from its html.
pub fn text_part(text: Option<&str>, html: Option<&str>) -> Option<String> {
    match (text, html) {
        (Some(text), _) => Some(text.to_string()),
        (None, Some(html)) => Some(text_from_html(html)),
        (None, None) => None,
    }
}

/// The plain-text part Herald adds when only `html` is given. It is not stored: an email
/// stored with `html` and no `text` gets this text when it is read (`GET /emails/{id}`) and
/// when its message is built, so storage holds each body once.
pub fn text_from_html(html: &str) -> String {
    super::plain_text::from_html(html)
}

/// `headers`: an object of header names to string values.
fn headers(
    value: Option<Loose<BTreeMap<String, Loose<String>>>>,
) -> EmailResult<Vec<(String, String)>> {
    let map = match value {
        None => return Ok(Vec::new()),
        Some(Loose::Given(map)) => map,
        Some(Loose::Wrong(_)) => {
            return Err(must_be("headers", "an object of header names to values"));
        }
    };
    map.into_iter()
        .map(|(name, value)| {
            let valid_name = !name.is_empty()
                && name.len() <= 76
                && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
            if !valid_name {
                return Err(EmailError::Invalid(format!(
                    "Invalid header name `{name}` in the `headers` field: names are printable \
                     ASCII without spaces or `:`."
                )));
            }
            if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(EmailError::Invalid(format!(
                    "The `{name}` header is set by Herald; use the matching field of the \
                     request (`from`, `to`, `subject`, `reply_to`…) instead."
                )));
            }
            let Loose::Given(value) = value else {
                return Err(EmailError::Invalid(format!(
                    "The value of the `{name}` header must be a string."
                )));
            };
            if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
                return Err(EmailError::Invalid(format!(
                    "The value of the `{name}` header must not contain line breaks."
                )));
            }
            Ok((name, value))
        })
        .collect()
}

fn tags(value: Option<Loose<Vec<Loose<TagRequest>>>>) -> EmailResult<Vec<Tag>> {
    let not_tags = || must_be("tags", "an array of `{name, value}` objects");
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Loose::Given(items)) => items,
        Some(Loose::Wrong(_)) => return Err(not_tags()),
    };
    items
        .into_iter()
        .map(|item| {
            let Loose::Given(TagRequest { name, value }) = item else {
                return Err(not_tags());
            };
            let name = tag_part("name", name)?
                .ok_or_else(|| EmailError::Invalid("Each tag needs a `name`.".into()))?;
            let value = tag_part("value", value)?;
            Ok(Tag { name, value })
        })
        .collect()
}

fn tag_part(part: &str, value: Option<Loose<TagText>>) -> EmailResult<Option<String>> {
    let text = match value {
        None => return Ok(None),
        Some(Loose::Given(TagText(text))) => text,
        Some(Loose::Wrong(_)) => {
            return Err(EmailError::Invalid(format!(
                "Tag `{part}`s must be strings."
            )));
        }
    };
    let valid = !text.is_empty()
        && text.len() <= MAX_TAG_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(EmailError::Invalid(format!(
            "Invalid tag {part} `{text}`: it can only contain ASCII letters, numbers, \
             underscores or dashes, and at most {MAX_TAG_CHARS} characters."
        )));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::error::AppError;

    fn parse_json(request: Value, now: Millis) -> EmailResult<Draft> {
        parse_draft(object(Loose::from_json(request))?, now)
    }

    fn minimal() -> Value {
        json!({"from": "Acme <a@acme.dev>", "to": "b@example.com", "subject": "Hi", "html": "<p>Hello <b>there</b></p>"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = minimal();
        v[field] = value;
        v
    }

    #[test]
    fn accepts_a_minimal_email_and_derives_text() {
        let draft = parse_json(minimal(), 0).unwrap();
        assert_eq!(draft.from.to_string(), "Acme <a@acme.dev>");
        assert_eq!(draft.to.len(), 1);
        // The text is derived when read or sent, not kept in the draft.
        assert_eq!(draft.text, None);
        assert_eq!(
            text_from_html(draft.html.as_deref().unwrap()),
            "Hello **there**"
        );
    }

    #[test]
    fn error_names_per_field() {
        let cases: Vec<(Value, &str)> = vec![
            (
                json!({"to": "b@x.com", "subject": "s", "text": "t"}),
                "missing_required_field",
            ),
            (
                json!({"from": "a@x.com", "subject": "s", "text": "t"}),
                "missing_required_field",
            ),
            (
                json!({"from": "a@x.com", "to": [], "subject": "s", "text": "t"}),
                "missing_required_field",
            ),
            (
                json!({"from": "a@x.com", "to": "b@x.com", "text": "t"}),
                "missing_required_field",
            ),
            (
                json!({"from": "a@x.com", "to": "b@x.com", "subject": "s"}),
                "missing_required_field",
            ),
            (
                with("from", json!("not an address")),
                "invalid_from_address",
            ),
            (with("from", json!(["a@x.com"])), "invalid_from_address"),
            (with("to", json!("nope")), "validation_error"),
            (with("to", json!(42)), "validation_error"),
            (with("cc", json!(["ok@x.com", "bad"])), "validation_error"),
            (with("to", json!(vec!["a@x.com"; 51])), "validation_error"),
            (
                with("subject", json!("a\r\nBcc: x@y.com")),
                "validation_error",
            ),
            (with("subject", json!(5)), "validation_error"),
            (with("headers", json!({"X Bad": "v"})), "validation_error"),
            (
                with("headers", json!({"X-Ok": "a\r\nb"})),
                "validation_error",
            ),
            (
                with("headers", json!({"From": "x@y.com"})),
                "validation_error",
            ),
            (with("headers", json!({"X-Num": 1})), "validation_error"),
            (with("headers", json!("X-A: b")), "validation_error"),
            (
                with("tags", json!([{"name": "has space", "value": "v"}])),
                "validation_error",
            ),
            (
                with("tags", json!([{"name": "ok", "value": "é"}])),
                "validation_error",
            ),
            (
                with("tags", json!([{"name": "x".repeat(257), "value": "v"}])),
                "validation_error",
            ),
            (with("tags", json!([{"value": "v"}])), "validation_error"),
            (with("topic_id", json!("nope")), "validation_error"),
            (with("scheduled_at", json!("whenever")), "validation_error"),
            (
                with("attachments", json!([{"filename": "a.txt"}])),
                "invalid_attachment",
            ),
            (
                with(
                    "attachments",
                    json!([{"content": "aGk=", "filename": "x.exe"}]),
                ),
                "invalid_attachment",
            ),
        ];
        for (request, name) in cases {
            let err =
                AppError::from(parse_json(request.clone(), 0).expect_err(&request.to_string()));
            assert_eq!(err.name, name, "{request}: {}", err.message);
        }
    }

    #[test]
    fn accepts_the_optional_fields() {
        let mut request = minimal();
        request["to"] = json!(["x@bücher.de", "Y <y@example.com>"]);
        request["cc"] = json!("c@example.com");
        request["reply_to"] = json!(["r@example.com"]);
        request["headers"] = json!({"X-Entity-Ref-ID": "123", "List-Unsubscribe": "<https://x>"});
        request["tags"] =
            json!([{"name": "category", "value": "confirm_email"}, {"name": "n", "value": 5}]);
        request["topic_id"] = json!("B6D24B8E-AF0B-4C3C-BE0C-359BBD97381E");
        request["text"] = json!("plain");
        let draft = parse_json(request, 0).unwrap();
        assert_eq!(draft.to[0].email, "x@xn--bcher-kva.de");
        assert_eq!(draft.cc.len(), 1);
        assert_eq!(draft.headers.len(), 2);
        assert_eq!(draft.tags[1].value.as_deref(), Some("5"));
        assert_eq!(
            draft.topic_id.as_deref(),
            Some("b6d24b8e-af0b-4c3c-be0c-359bbd97381e")
        );
        assert_eq!(draft.text.as_deref(), Some("plain"));
        assert_eq!(draft.recipients().count(), 3);
    }
}
