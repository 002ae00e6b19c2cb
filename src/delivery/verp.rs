//! The envelope sender (return path) of outgoing mail, VERP style: bounces come back to an
//! address that says which email, and which recipient, they are about. The format itself
//! (token, HMAC tag, case handling) lives in [`crate::feedback::verp`], next to the listener
//! that reads it back; this module adapts it to delivery's view (string ids, 0-based
//! recipient positions in `to ++ cc ++ bcc`, `None` when an envelope has several).

use crate::feedback::verp::{self as format, WHOLE_ENVELOPE};

/// What a return path says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub email_id: String,
    /// Index (0-based) into the email's `to ++ cc ++ bcc`, when the envelope had one
    /// recipient.
    pub recipient: Option<usize>,
}

/// The return path `bounces+<token>@<return_domain>`; `None` for an id that is not a UUID or
/// a recipient position the format cannot carry.
pub fn return_path(
    secret: &[u8],
    email_id: &str,
    recipient: Option<usize>,
    return_domain: &str,
) -> Option<String> {
    let id = uuid::Uuid::parse_str(email_id).ok()?;
    let index = match recipient {
        None => WHOLE_ENVELOPE,
        Some(i) => u16::try_from(i).ok().filter(|i| *i != WHOLE_ENVELOPE)?,
    };
    Some(format::return_path(secret, id, index, return_domain))
}

/// Reads a return path back to its token; the domain is not checked.
pub fn parse_return_path(secret: &[u8], address: &str) -> Option<Token> {
    let (token, _host) = format::parse_address(secret, address)?;
    Some(Token {
        email_id: token.email_id.to_string(),
        recipient: token.recipient_index(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0193a0c4-7f6e-7b21-9c3d-5e8f00112233";

    #[test]
    fn return_paths_round_trip_through_the_listener_format() {
        for recipient in [None, Some(0), Some(7), Some(149)] {
            let path = return_path(b"secret", ID, recipient, "send.example.com").unwrap();
            assert!(path.starts_with("bounces+") && path.ends_with("@send.example.com"));
            let back = parse_return_path(b"secret", &path).unwrap();
            assert_eq!(back.email_id, ID);
            assert_eq!(back.recipient, recipient);
            assert_eq!(parse_return_path(b"other", &path), None);
        }
        assert_eq!(
            return_path(b"secret", "not-a-uuid", None, "send.example.com"),
            None
        );
    }
}
