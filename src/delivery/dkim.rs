//! DKIM signing with mail-auth: RSA-SHA256, relaxed/relaxed canonicalisation, the domain's
//! selector and key.
//!
//! Signed headers: the ones a receiver shows or acts on. Every listed header is signed even
//! when the message does not have it (mail-auth adds absent ones to `h=`), so a header such
//! as a second From or a Reply-To cannot be added on the way without breaking the signature.

use mail_auth::common::crypto::{RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "Feedback-ID",
];

/// A ready-to-use signer for one domain (parsing the key is the slow part: keep it).
pub struct Signer {
    inner: DkimSigner<RsaKey<Sha256>, Done>,
}

impl Signer {
    /// `private_key` is the PKCS#8 DER key stored (sealed) with the domain.
    pub fn new(domain: &str, selector: &str, private_key: &[u8]) -> anyhow::Result<Signer> {
        let key = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            private_key,
        )))
        .map_err(|e| anyhow::anyhow!("DKIM key of {domain}: {e}"))?;
        let inner = DkimSigner::from_key(key)
            .domain(domain)
            .selector(selector)
            .headers(SIGNED_HEADERS.iter().copied())
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Ok(Signer { inner })
    }

    /// The `DKIM-Signature` header (ending in CRLF) to put in front of `message`.
    pub fn sign(&self, message: &[u8]) -> anyhow::Result<String> {
        let signature = self
            .inner
            .sign(message)
            .map_err(|e| anyhow::anyhow!("DKIM signing failed: {e}"))?;
        Ok(signature.to_header())
    }

    /// `message` with its signature in front.
    pub fn signed(&self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut out = message.to_vec();
        self.sign_in_place(&mut out)?;
        Ok(out)
    }

    /// Puts the signature in front of `message` without a second copy of it: the buffer
    /// grows by the header's length (a large one is moved by `realloc`, not copied beside
    /// the original), so signing a 40 MB message needs 40 MB, not 80.
    pub fn sign_in_place(&self, message: &mut Vec<u8>) -> anyhow::Result<()> {
        let header = self.sign(message)?;
        message.reserve_exact(header.len());
        message.splice(0..0, header.into_bytes());
        Ok(())
    }
}
