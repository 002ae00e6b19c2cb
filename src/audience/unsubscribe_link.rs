//! Signed unsubscribe links: `{base}/u/{token}`, naming a contact of a team (by id: the URL
//! does not show the address) and the broadcast or topic a message was sent for. A token is
//! `base64url(ids).hex(HMAC-SHA256)` (128 bits kept) under the instance secret, as the other
//! signed links; a forged or altered one verifies to nothing. Broadcasts and transactional
//! emails with a `topic_id` carry them (`broadcasts::unsubscribe` serves them).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth::tokens::{keyed_hash, same};

/// The path prefix of unsubscribe links.
pub const PATH: &str = "/u/";

/// Who a genuine token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub team_id: String,
    pub contact_id: String,
    /// The broadcast the message was sent for.
    pub broadcast_id: Option<String>,
    /// The topic the message was scoped to.
    pub topic_id: Option<String>,
}

/// Hex characters of the signature kept in a token (128 bits).
const SIGNATURE_HEX: usize = 32;

fn signature(secret: &[u8], fields: &str) -> String {
    let mut full = keyed_hash(secret, &format!("unsubscribe:v1:{fields}"));
    full.truncate(SIGNATURE_HEX);
    full
}

/// Ids as 16 bytes each (all zero when absent): team, contact, broadcast, topic.
fn pack(s: &Subscriber) -> Option<Vec<u8>> {
    let id = |v: Option<&str>| -> Option<[u8; 16]> {
        match v {
            None => Some([0; 16]),
            Some(v) => uuid::Uuid::parse_str(v).ok().map(|u| *u.as_bytes()),
        }
    };
    let mut out = Vec::with_capacity(64);
    out.extend(id(Some(&s.team_id))?);
    out.extend(id(Some(&s.contact_id))?);
    out.extend(id(s.broadcast_id.as_deref())?);
    out.extend(id(s.topic_id.as_deref())?);
    Some(out)
}

/// The token of a subscriber (ids are UUIDs; anything else gives a token that never
/// verifies).
pub fn token(secret: &[u8], subscriber: &Subscriber) -> String {
    let fields = URL_SAFE_NO_PAD.encode(pack(subscriber).unwrap_or_default());
    let sig = signature(secret, &fields);
    format!("{fields}.{sig}")
}

/// The subscriber a token names, when it is genuine.
pub fn verify(secret: &[u8], token: &str) -> Option<Subscriber> {
    let (fields, sig) = token.split_once('.')?;
    if !same(&signature(secret, fields), sig) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(fields).ok()?;
    if bytes.len() != 64 {
        return None;
    }
    let id = |i: usize| -> Option<String> {
        let raw: [u8; 16] = bytes[i * 16..(i + 1) * 16].try_into().ok()?;
        (raw != [0; 16]).then(|| uuid::Uuid::from_bytes(raw).to_string())
    };
    Some(Subscriber {
        team_id: id(0)?,
        contact_id: id(1)?,
        broadcast_id: id(2),
        topic_id: id(3),
    })
}

/// The full unsubscribe URL under `base` (the domain's tracking host when its CNAME is
/// verified, else `public_url`).
pub fn url(base: &str, secret: &[u8], subscriber: &Subscriber) -> String {
    format!(
        "{}{PATH}{}",
        base.trim_end_matches('/'),
        token(secret, subscriber)
    )
}

/// The headers of a message with an unsubscribe link (RFC 2369 and RFC 8058), as the
/// emails' custom headers JSON items.
pub fn headers(url: &str) -> [(&'static str, String); 2] {
    [
        ("List-Unsubscribe", format!("<{url}>")),
        (
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".to_string(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_tampering() {
        let who = Subscriber {
            team_id: "0190a0a0-0000-7000-8000-000000000001".into(),
            contact_id: "0190a0a0-0000-7000-8000-000000000002".into(),
            broadcast_id: Some("0190a0a0-0000-7000-8000-000000000003".into()),
            topic_id: None,
        };
        let t = token(b"k", &who);
        assert_eq!(verify(b"k", &t), Some(who.clone()));
        assert!(verify(b"other", &t).is_none());
        assert!(!t.contains("0190a0a0"));
        let mut altered = t.clone().into_bytes();
        altered[3] = if altered[3] == b'A' { b'B' } else { b'A' };
        assert!(verify(b"k", &String::from_utf8(altered).unwrap()).is_none());
        assert!(verify(b"k", "nonsense").is_none());
        assert!(url("https://h.test/", b"k", &who).starts_with("https://h.test/u/"));
    }
}
