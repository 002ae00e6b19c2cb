//! The envelope sender (return path) of outgoing mail, VERP style: bounces come back to an
//! address that says which email, and which recipient, they are about.
//!
//! Format: `bounces+<token>@<return-path subdomain>.<domain>`, e.g.
//! `bounces+0f4k…(40 characters)@send.example.com`. The token is 40 characters of
//! lower-case base32 (RFC 4648 alphabet, no padding) encoding 25 bytes:
//!
//! | bytes | content |
//! |---|---|
//! | 0..16 | the email id (the UUID's 16 bytes) |
//! | 16 | the recipient: 0 = not named (the envelope had several recipients), n = the n-th address (1-based) of the email's `to`, then `cc`, then `bcc` lists as stored |
//! | 17..25 | the first 8 bytes of HMAC-SHA256 over bytes 0..17, keyed with the instance secret (`App::secret_key`) |
//!
//! The tag makes forged bounces (which would suppress addresses) useless: [`decode`] refuses
//! a token whose tag does not match. Decoding ignores case, since some mail servers change
//! the case of local parts. When the token names no recipient, the bounce report's
//! `Final-Recipient` says which one it is about.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// Local-part prefix of every return path.
pub const PREFIX: &str = "bounces+";
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const TAG_LEN: usize = 8;
const RAW_LEN: usize = 16 + 1 + TAG_LEN;
/// Length of an encoded token.
pub const TOKEN_LEN: usize = RAW_LEN * 8 / 5;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub email_id: String,
    /// Index (0-based) into the email's `to ++ cc ++ bcc`, when the envelope had one
    /// recipient.
    pub recipient: Option<usize>,
}

fn tag(secret: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(b"herald-verp-v1");
    mac.update(data);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(&full[..TAG_LEN]);
    out
}

/// The token for `email_id` (a UUID) and, for a single-recipient envelope, the recipient's
/// index. `None` when the id is not a UUID or the index does not fit.
pub fn encode(secret: &[u8], email_id: &str, recipient: Option<usize>) -> Option<String> {
    let id = uuid::Uuid::parse_str(email_id).ok()?;
    let slot = match recipient {
        None => 0,
        Some(i) if i < 255 => i as u8 + 1,
        Some(_) => return None,
    };
    let mut raw = [0u8; RAW_LEN];
    raw[..16].copy_from_slice(id.as_bytes());
    raw[16] = slot;
    let mac = tag(secret, &raw[..17]);
    raw[17..].copy_from_slice(&mac);
    Some(base32(&raw))
}

/// Reads a token back; `None` unless it is well formed and its tag matches.
pub fn decode(secret: &[u8], token: &str) -> Option<Token> {
    let raw = unbase32(token)?;
    let raw: [u8; RAW_LEN] = raw.try_into().ok()?;
    let expected = tag(secret, &raw[..17]);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &raw[17..])) {
        return None;
    }
    let id = uuid::Uuid::from_slice(&raw[..16]).ok()?;
    Some(Token {
        email_id: id.to_string(),
        recipient: raw[16].checked_sub(1).map(usize::from),
    })
}

/// The return path `bounces+<token>@<return_domain>`.
pub fn return_path(
    secret: &[u8],
    email_id: &str,
    recipient: Option<usize>,
    return_domain: &str,
) -> Option<String> {
    Some(format!(
        "{PREFIX}{}@{return_domain}",
        encode(secret, email_id, recipient)?
    ))
}

/// Reads a return path (any case) back to its token; the domain is not checked.
pub fn parse_return_path(secret: &[u8], address: &str) -> Option<Token> {
    let (local, _domain) = address.trim_matches(['<', '>']).rsplit_once('@')?;
    let prefix = local.get(..PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    decode(secret, &local[PREFIX.len()..])
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn unbase32(text: &str) -> Option<Vec<u8>> {
    if text.len() != TOKEN_LEN {
        return None;
    }
    let mut out = Vec::with_capacity(RAW_LEN);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c.to_ascii_lowercase())? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0193a0c4-7f6e-7b21-9c3d-5e8f00112233";

    #[test]
    fn tokens_round_trip() {
        for recipient in [None, Some(0), Some(7), Some(149), Some(253)] {
            let token = encode(b"secret", ID, recipient).unwrap();
            assert_eq!(token.len(), TOKEN_LEN);
            assert!(token.bytes().all(|b| ALPHABET.contains(&b)));
            let back = decode(b"secret", &token).unwrap();
            assert_eq!(back.email_id, ID);
            assert_eq!(back.recipient, recipient);
            // Mail servers may change the case of the local part.
            assert_eq!(decode(b"secret", &token.to_ascii_uppercase()), Some(back));
        }
        assert_eq!(encode(b"secret", ID, Some(255)), None);
        assert_eq!(encode(b"secret", "not-a-uuid", None), None);
    }

    #[test]
    fn forged_or_damaged_tokens_are_refused() {
        let token = encode(b"secret", ID, Some(2)).unwrap();
        assert_eq!(decode(b"other secret", &token), None);
        let mut damaged = token.clone().into_bytes();
        damaged[3] = if damaged[3] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            decode(b"secret", &String::from_utf8(damaged).unwrap()),
            None
        );
        assert_eq!(decode(b"secret", &token[1..]), None);
        assert_eq!(decode(b"secret", &format!("{token}a")), None);
        assert_eq!(decode(b"secret", &token.replace('a', "1")), None);
        assert_eq!(decode(b"secret", ""), None);
    }

    #[test]
    fn return_paths_round_trip() {
        let path = return_path(b"k", ID, Some(1), "send.example.com").unwrap();
        assert!(path.starts_with("bounces+"));
        assert!(path.ends_with("@send.example.com"));
        assert!(path.len() <= 64 + 1 + "send.example.com".len());
        let token = parse_return_path(b"k", &path).unwrap();
        assert_eq!(token.email_id, ID);
        assert_eq!(token.recipient, Some(1));
        assert_eq!(
            parse_return_path(b"k", &format!("<{}>", path.to_uppercase())),
            Some(token)
        );
        assert_eq!(parse_return_path(b"k", "someone@send.example.com"), None);
        assert_eq!(
            parse_return_path(b"k", "bounces+abc@send.example.com"),
            None
        );
    }

    #[test]
    fn base32_matches_rfc_4648() {
        // RFC 4648 section 10 test vectors, lower-case and without padding.
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"fo"), "mzxq");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }
}
