//! Webhook signatures as Resend (through Svix) makes them, which is the Standard Webhooks
//! scheme: HMAC-SHA256 over `"{id}.{timestamp}.{body}"`, keyed with the base64-decoded part of
//! the `whsec_` secret, sent as `v1,<base64>`. The SDKs' `webhooks.verify` check exactly this.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The headers of one signed delivery, under both names receivers look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// `v1,<base64>`.
    pub signature: String,
}

impl SignedHeaders {
    /// `svix-*` (what Resend sends) and `webhook-*` (Standard Webhooks names).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let ts = self.timestamp.to_string();
        vec![
            ("svix-id", self.id.clone()),
            ("svix-timestamp", ts.clone()),
            ("svix-signature", self.signature.clone()),
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", ts),
            ("webhook-signature", self.signature.clone()),
        ]
    }
}

/// Signs `body` for message `id` at `timestamp` (Unix seconds).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<SignedHeaders> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    let key = B64
        .decode(encoded)
        .context("the signing secret is not base64")?;
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Ok(SignedHeaders {
        id: id.to_string(),
        timestamp,
        signature: format!("v1,{}", B64.encode(mac.finalize().into_bytes())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (and Svix's docs).
    #[test]
    fn matches_the_specification_example() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(
            signed.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
