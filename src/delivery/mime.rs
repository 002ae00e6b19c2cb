//! Builds the message bytes (RFC 5322 + MIME) of an accepted email with mail-builder.
//!
//! Structure, from the outside in (each level only when needed):
//!
//! ```text
//! multipart/mixed            when there are attachments
//!   multipart/related        when the HTML refers to inline images (attachments with a content_id)
//!     multipart/alternative  when there is both a text and an HTML body
//!       text/plain
//!       text/html
//!     image/png (inline, Content-ID)
//!   application/pdf (attachment)
//! ```
//!
//! Headers: From, To, Cc, Reply-To (display names kept, RFC 2047-encoded when not ASCII;
//! domains in their A-label form), Subject, Message-ID (on the sending domain, stored at
//! accept time), Date (when the email was accepted or scheduled), the user's custom headers,
//! MIME-Version. Never Bcc: those recipients only appear in the envelope.
//!
//! Boundaries are `=_<seed>_<level>`: the caller gives a random seed per message (tests give
//! a fixed one, which makes the output byte-for-byte reproducible).

use std::borrow::Cow;

use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::MimePart;

use crate::emails::address::Mailbox;
use crate::emails::validate::RESERVED_HEADERS;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub content_id: Option<String>,
    pub content: Vec<u8>,
}

/// An email as stored, ready to be written out.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `Name <address>` or `address`, as accepted.
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub reply_to: Vec<String>,
    pub subject: String,
    pub html: Option<String>,
    pub text: Option<String>,
    /// Custom headers, in the order given.
    pub headers: Vec<(String, String)>,
    /// `<id@domain>`.
    pub message_id: String,
    /// Epoch milliseconds of the Date header.
    pub date_ms: i64,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid address {0:?}: {1}")]
    Address(String, String),
    #[error("invalid custom header {0:?}")]
    Header(String),
}

fn mailbox(text: &str) -> Result<Address<'static>, ComposeError> {
    let m = Mailbox::parse(text).map_err(|why| ComposeError::Address(text.to_string(), why))?;
    Ok(Address::new_address(m.name, m.email))
}

fn address_list(list: &[String]) -> Result<Option<Address<'static>>, ComposeError> {
    let mut items = list
        .iter()
        .map(|a| mailbox(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(Address::new_list(items)),
    })
}

/// A custom header's value: raw (only folded) when ASCII, RFC 2047-encoded otherwise.
fn custom_header(
    name: &str,
    value: &str,
) -> Result<(Cow<'static, str>, HeaderType<'static>), ComposeError> {
    let valid_name = !name.is_empty()
        && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
        && !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str());
    if !valid_name || value.contains(['\r', '\n', '\0']) {
        return Err(ComposeError::Header(name.to_string()));
    }
    let value: HeaderType<'static> = if value.is_ascii() {
        Raw::new(value.to_string()).into()
    } else {
        Text::new(value.to_string()).into()
    };
    Ok((Cow::Owned(name.to_string()), value))
}

fn multipart<'x>(kind: &str, seed: &str, parts: Vec<MimePart<'x>>) -> MimePart<'x> {
    let content_type = ContentType::new(format!("multipart/{kind}"))
        .attribute("boundary", format!("=_{seed}_{kind}"));
    MimePart::new(content_type, parts)
}

/// True when `html` refers to `cid` (`src="cid:logo"` and the like).
fn refers_to(html: &str, cid: &str) -> bool {
    let needle = format!("cid:{cid}");
    html.match_indices(&needle).any(|(at, _)| {
        // Not a longer id that starts the same (cid:logo vs cid:logo2).
        html[at + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || "-_.@".contains(c)))
    })
}

/// The body parts borrow the email's html, text and attachment contents: a large attachment
/// is read from where it is and written out once, into the message, never copied beside it.
fn body<'x>(email: &'x Outgoing, seed: &str) -> MimePart<'x> {
    let text = email
        .text
        .as_ref()
        .map(|t| MimePart::new("text/plain", t.as_str()));
    let html = email
        .html
        .as_ref()
        .map(|h| MimePart::new("text/html", h.as_str()));
    let mut content = match (text, html) {
        (Some(text), Some(html)) => multipart("alternative", seed, vec![text, html]),
        (Some(part), None) | (None, Some(part)) => part,
        (None, None) => MimePart::new("text/plain", ""),
    };

    let html = email.html.as_deref().unwrap_or("");
    let (inline, attached): (Vec<&Attachment>, Vec<&Attachment>) =
        email.attachments.iter().partition(|a| {
            a.content_id
                .as_deref()
                .is_some_and(|cid| refers_to(html, cid))
        });
    if !inline.is_empty() {
        let mut parts = vec![content];
        for a in inline {
            let mut disposition = ContentType::new("inline");
            if let Some(name) = &a.filename {
                disposition =
                    disposition.attribute("filename", crate::files::clean_file_name(name));
            }
            parts.push(
                MimePart::new(a.content_type.as_str(), a.content.as_slice())
                    .header("Content-Disposition", disposition)
                    .cid(a.content_id.as_deref().unwrap_or_default()),
            );
        }
        content = multipart("related", seed, parts);
    }
    if !attached.is_empty() {
        let mut parts = vec![content];
        for (i, a) in attached.into_iter().enumerate() {
            let name = a
                .filename
                .as_deref()
                .map(crate::files::clean_file_name)
                .unwrap_or_else(|| format!("attachment-{}", i + 1));
            let mut part =
                MimePart::new(a.content_type.as_str(), a.content.as_slice()).attachment(name);
            if let Some(cid) = &a.content_id {
                part = part.cid(cid.as_str());
            }
            parts.push(part);
        }
        content = multipart("mixed", seed, parts);
    }
    content
}

/// The message bytes, CRLF line endings, ready to sign and send.
pub fn compose(email: &Outgoing, boundary_seed: &str) -> Result<Vec<u8>, ComposeError> {
    let mut builder = MessageBuilder::new().from(mailbox(&email.from)?);
    if let Some(to) = address_list(&email.to)? {
        builder = builder.to(to);
    }
    if let Some(cc) = address_list(&email.cc)? {
        builder = builder.cc(cc);
    }
    if let Some(reply_to) = address_list(&email.reply_to)? {
        builder = builder.reply_to(reply_to);
    }
    let message_id = email.message_id.trim_matches(['<', '>']).to_string();
    builder = builder
        .subject(email.subject.clone())
        .message_id(MessageId::new(message_id))
        .date(Date::new(email.date_ms.div_euclid(1000)));
    for (name, value) in &email.headers {
        let (name, value) = custom_header(name, value)?;
        builder = builder.header(name, value);
    }
    // Sized up front: growing by doubling would hold up to twice a large message.
    let mut bytes = Vec::with_capacity(encoded_size(email));
    builder
        .body(body(email, boundary_seed))
        .write_to(&mut bytes)
        .expect("writing to a Vec cannot fail");
    Ok(bytes)
}

/// About how large the written message is: the bodies (quoted-printable adds a little),
/// attachments in base64 (4/3, plus line breaks) and room for the headers.
fn encoded_size(email: &Outgoing) -> usize {
    let bodies =
        email.html.as_ref().map_or(0, String::len) + email.text.as_ref().map_or(0, String::len);
    let attached: usize = email
        .attachments
        .iter()
        .map(|a| a.content.len().div_ceil(57) * 78 + 512)
        .sum();
    bodies + bodies / 16 + attached + 8 * 1024
}

/// A fresh random boundary seed.
pub fn random_seed() -> String {
    hex::encode(crate::auth::tokens::random_bytes::<12>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_references_are_exact() {
        assert!(refers_to(r#"<img src="cid:logo">"#, "logo"));
        assert!(refers_to("<img src=cid:logo>", "logo"));
        assert!(!refers_to(r#"<img src="cid:logo2">"#, "logo"));
        assert!(!refers_to("no images", "logo"));
    }

    #[test]
    fn custom_headers_cannot_inject() {
        assert!(custom_header("X-Ok", "fine").is_ok());
        assert!(custom_header("X-Bad", "a\r\nBcc: x@y.z").is_err());
        assert!(custom_header("Bcc", "x@y.z").is_err());
        assert!(custom_header("X Bad", "v").is_err());
        assert!(custom_header("X-Bad:", "v").is_err());
    }
}
