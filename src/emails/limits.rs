//! How big an email may be, checked before anything large is built. Resend's limit is 40 MB
//! for the whole message, attachments included; Herald counts the parts it stores: html,
//! text, subject and attachments (base64, as sent). Templates are measured before they are
//! rendered ([`crate::templates::substitute::rendered_len`]), so a small request that
//! expands to gigabytes is refused for the cost of counting to the limit.

use super::error::{EmailError, EmailResult};

/// The whole message: html + text + subject + attachments (base64).
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;
/// One email's `html` (after template substitution). Mail clients clip far sooner
/// (Gmail at about 100 KB); 10 MB leaves room for inline data.
pub const MAX_HTML_BYTES: usize = 10 * 1024 * 1024;
/// One email's `text` (after template substitution).
pub const MAX_TEXT_BYTES: usize = 10 * 1024 * 1024;
/// What one request's templates may render in total (a batch of up to 100 emails): 20 MB,
/// half of one email's 40 MB, so that the copies an accepted email goes through (request,
/// stored row, text part, delivery) keep a node's memory near 200 MB whatever the input.
/// A batch needing more is sent as several requests.
pub const MAX_RENDERED_PER_REQUEST: usize = 20 * 1024 * 1024;

fn mb(bytes: usize) -> usize {
    bytes / (1024 * 1024)
}

/// A 422 for a field over its limit.
pub fn too_large(field: &str, limit: usize) -> EmailError {
    EmailError::Invalid(format!(
        "The `{field}` field must be at most {} MB.",
        mb(limit)
    ))
}

pub fn check_part(field: &str, len: usize) -> EmailResult<()> {
    let limit = match field {
        "html" => MAX_HTML_BYTES,
        "text" => MAX_TEXT_BYTES,
        _ => MAX_MESSAGE_BYTES,
    };
    if len > limit {
        return Err(too_large(field, limit));
    }
    Ok(())
}

/// The whole message against Resend's 40 MB.
pub fn check_message(total: usize) -> EmailResult<()> {
    if total > MAX_MESSAGE_BYTES {
        return Err(EmailError::Invalid(format!(
            "The email is larger than {} MB (html, text, subject and attachments together).",
            mb(MAX_MESSAGE_BYTES)
        )));
    }
    Ok(())
}
