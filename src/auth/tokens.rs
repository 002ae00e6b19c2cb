//! Random tokens and keyed hashes. Secrets (API keys, session cookies) are stored only as
//! HMAC-SHA256 under the instance key, so a database dump reveals no usable token.

use hmac::{KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub fn random_alphanumeric(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
        .collect()
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill(&mut out[..]);
    out
}

/// Hex HMAC-SHA256 of `value` under `key`.
pub fn keyed_hash(key: &[u8], value: &str) -> String {
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two strings (CSRF tokens and the like).
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_hashes() {
        let t = random_alphanumeric(24);
        assert_eq!(t.len(), 24);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(keyed_hash(b"k", "v"), keyed_hash(b"k", "v"));
        assert_ne!(keyed_hash(b"k", "v"), keyed_hash(b"k2", "v"));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
    }
}
