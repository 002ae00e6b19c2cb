//! Herald's return-path addresses (VERP): `bounces+<token>@<return-path host>`, where the
//! return-path host is a domain's `custom_return_path` subdomain (`send.example.com`).
//! Outbound delivery MUST use [`return_path`] for the envelope sender; the feedback listener
//! accepts mail only for addresses whose token verifies.
//!
//! The token names the email and the recipient and cannot be forged: 16 bytes of email id
//! (UUID), 2 bytes of recipient index (position in to, cc, bcc order; [`WHOLE_ENVELOPE`]
//! when one envelope carries several recipients) and the first 8 bytes of an HMAC-SHA256 of
//! both under the instance secret, 26 bytes written as 52 lowercase hex digits. Hex rather than
//! base64 because mail systems may change the case of a local part; the whole local part is
//! 60 characters, within SMTP's 64.

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

pub const LOCAL_PREFIX: &str = "bounces+";
/// Recipient index meaning "the envelope's recipients": the report names them.
pub const WHOLE_ENVELOPE: u16 = u16::MAX;

const TAG_LEN: usize = 8;
const TOKEN_LEN: usize = 16 + 2 + TAG_LEN;
/// Versions the MAC input, so the format can change without old tokens verifying wrongly.
const CONTEXT: &[u8] = b"herald-verp-v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub email_id: Uuid,
    /// Index into the email's recipients (to, then cc, then bcc), or [`WHOLE_ENVELOPE`].
    pub recipient: u16,
}

impl Token {
    /// The recipient index, unless the token covers the whole envelope.
    pub fn recipient_index(&self) -> Option<usize> {
        (self.recipient != WHOLE_ENVELOPE).then_some(self.recipient as usize)
    }
}

fn tag(key: &[u8], body: &[u8]) -> [u8; TAG_LEN] {
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(CONTEXT);
    mac.update(body);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

/// The token for `token`, under `key` (the instance secret, `app.secret_key()`).
pub fn encode(key: &[u8], token: Token) -> String {
    let mut bytes = Vec::with_capacity(TOKEN_LEN);
    bytes.extend_from_slice(token.email_id.as_bytes());
    bytes.extend_from_slice(&token.recipient.to_be_bytes());
    let tag = tag(key, &bytes);
    bytes.extend_from_slice(&tag);
    hex::encode(bytes)
}

/// Reads a token; `None` unless it is well formed and its tag verifies (in constant time).
pub fn decode(key: &[u8], text: &str) -> Option<Token> {
    let bytes = hex::decode(text.to_ascii_lowercase()).ok()?;
    if bytes.len() != TOKEN_LEN {
        return None;
    }
    let (body, given) = bytes.split_at(16 + 2);
    let expected = tag(key, body);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], given)) {
        return None;
    }
    let email_id = Uuid::from_slice(&body[..16]).ok()?;
    let recipient = u16::from_be_bytes([body[16], body[17]]);
    Some(Token {
        email_id,
        recipient,
    })
}

/// The envelope sender for mail of `email_id` to recipient `recipient` (or
/// [`WHOLE_ENVELOPE`]), at `host` (the domain's return-path host, e.g. `send.example.com`).
pub fn return_path(key: &[u8], email_id: Uuid, recipient: u16, host: &str) -> String {
    let token = encode(
        key,
        Token {
            email_id,
            recipient,
        },
    );
    format!("{LOCAL_PREFIX}{token}@{}", host.to_ascii_lowercase())
}

/// Splits a return-path address into its verified token and its host (lowercased).
pub fn parse_address(key: &[u8], address: &str) -> Option<(Token, String)> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, host) = address.rsplit_once('@')?;
    let prefix = local.get(..LOCAL_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(LOCAL_PREFIX) || host.is_empty() {
        return None;
    }
    let token = decode(key, &local[LOCAL_PREFIX.len()..])?;
    Some((token, host.trim_end_matches('.').to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"instance secret";

    fn sample() -> Token {
        Token {
            email_id: Uuid::parse_str("0190a5b4-1234-7000-8000-00000000abcd").unwrap(),
            recipient: 3,
        }
    }

    #[test]
    fn round_trips() {
        let token = sample();
        let text = encode(KEY, token);
        assert_eq!(text.len(), 52);
        assert_eq!(decode(KEY, &text), Some(token));
        // Case changes on the way back do not matter.
        assert_eq!(decode(KEY, &text.to_uppercase()), Some(token));
        assert_eq!(token.recipient_index(), Some(3));
        let whole = Token {
            recipient: WHOLE_ENVELOPE,
            ..token
        };
        assert_eq!(decode(KEY, &encode(KEY, whole)), Some(whole));
        assert_eq!(whole.recipient_index(), None);
    }

    #[test]
    fn refuses_forgeries() {
        let text = encode(KEY, sample());
        assert_eq!(decode(b"another key", &text), None);
        // Another recipient index with the old tag.
        let mut forged = text.clone().into_bytes();
        forged[35] = if forged[35] == b'0' { b'1' } else { b'0' };
        assert_eq!(decode(KEY, std::str::from_utf8(&forged).unwrap()), None);
        assert_eq!(decode(KEY, &text[..50]), None);
        assert_eq!(decode(KEY, "not hex at all"), None);
        assert_eq!(decode(KEY, ""), None);
    }

    #[test]
    fn addresses() {
        let token = sample();
        let address = return_path(KEY, token.email_id, token.recipient, "Send.Example.COM");
        let (local, host) = address.split_once('@').unwrap();
        assert!(local.len() <= 64, "{local}");
        assert_eq!(host, "send.example.com");
        assert_eq!(
            parse_address(KEY, &address.to_uppercase()),
            Some((token, "send.example.com".to_string()))
        );
        assert_eq!(
            parse_address(KEY, &format!("<{address}>")),
            Some((token, "send.example.com".to_string()))
        );
        assert_eq!(parse_address(KEY, "postmaster@send.example.com"), None);
        assert_eq!(parse_address(KEY, "bounces+@send.example.com"), None);
        assert_eq!(parse_address(KEY, "bounces+abc"), None);
    }
}
