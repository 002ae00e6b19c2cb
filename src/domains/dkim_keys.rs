//! DKIM keys: an RSA-2048 pair per domain, generated with aws-lc-rs. The public key
//! (SubjectPublicKeyInfo, base64) goes into the DNS record; the private key (PKCS#8) is kept
//! sealed with AES-256-GCM under the installation's encryption key, the domain id bound in as
//! associated data so a sealed key cannot be moved to another domain.
//!
//! The encryption key comes from `encryption_key` in the configuration. With SQLite it may be
//! left empty: a random key is then written to `<data_dir>/encryption.key` on first use.
//! PostgreSQL installations must configure it (all nodes need the same key).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::error::{DomainError, DomainResult};
use crate::config::Settings;
use crate::handle::App;
use crate::on_db;

/// Version prefix of sealed values, so the format can change later.
const SEALED_PREFIX: &str = "v1:";
const KEY_FILE: &str = "encryption.key";

pub struct GeneratedKey {
    /// Base64 SubjectPublicKeyInfo: the `p=` of the DKIM record.
    pub public_key: String,
    /// PKCS#8 DER private key.
    pub private_key: Vec<u8>,
}

/// Generates an RSA-2048 key pair (CPU-heavy: call from a blocking task).
pub fn generate() -> anyhow::Result<GeneratedKey> {
    let pair = KeyPair::generate(KeySize::Rsa2048).context("generating an RSA key")?;
    let private_key = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
        .context("encoding the private key")?
        .as_ref()
        .to_vec();
    let public_der = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key())
        .context("encoding the public key")?;
    Ok(GeneratedKey {
        public_key: B64.encode(public_der.as_ref()),
        private_key,
    })
}

fn cipher(key: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES key"))
}

/// Seals `plaintext`: `v1:` + base64(nonce ‖ ciphertext ‖ tag).
pub fn seal(key: &[u8; 32], plaintext: &[u8], associated: &str) -> anyhow::Result<String> {
    let nonce_bytes = crate::auth::tokens::random_bytes::<NONCE_LEN>();
    let mut buffer = plaintext.to_vec();
    cipher(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(associated.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| anyhow::anyhow!("encryption failed"))?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buffer);
    Ok(format!("{SEALED_PREFIX}{}", B64.encode(out)))
}

pub fn open(key: &[u8; 32], sealed: &str, associated: &str) -> anyhow::Result<Vec<u8>> {
    let Some(encoded) = sealed.strip_prefix(SEALED_PREFIX) else {
        bail!("unknown sealed-value format");
    };
    let bytes = B64.decode(encoded).context("sealed value is not base64")?;
    if bytes.len() < NONCE_LEN {
        bail!("sealed value is too short");
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| anyhow::anyhow!("bad nonce"))?;
    let mut buffer = ciphertext.to_vec();
    let plain = cipher(key)
        .open_in_place(nonce, Aad::from(associated.as_bytes()), &mut buffer)
        .map_err(|_| {
            anyhow::anyhow!("cannot decrypt: wrong encryption_key, or the value was altered")
        })?;
    Ok(plain.to_vec())
}

fn parse_key(hex_key: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(hex_key.trim()).context("the encryption key is not hexadecimal")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the encryption key must be 32 bytes (64 hex characters)"))
}

/// Reads `<data_dir>/encryption.key`, creating it (owner-only) when it does not exist yet.
fn key_file(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join(KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return parse_key(&text).with_context(|| format!("reading {}", path.display()));
    }
    std::fs::create_dir_all(data_dir)?;
    let fresh = hex::encode(crate::auth::tokens::random_bytes::<32>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(fresh.as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created the encryption key file; back it up");
            parse_key(&fresh)
        }
        // Another task created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            parse_key(&std::fs::read_to_string(&path)?)
        }
        Err(err) => Err(err).with_context(|| format!("creating {}", path.display())),
    }
}

/// The key sealing secrets at rest, from the configuration or the SQLite key file.
pub fn encryption_key(settings: &Settings) -> anyhow::Result<[u8; 32]> {
    if !settings.encryption_key.is_empty() {
        return parse_key(&settings.encryption_key);
    }
    if settings.database_url.starts_with("postgres") {
        bail!("encryption_key must be configured when running on PostgreSQL");
    }
    key_file(&settings.data_dir)
}

/// A domain's DKIM signing material: selector and PKCS#8 private key.
pub struct SigningKey {
    pub domain: String,
    pub selector: String,
    pub private_key: Vec<u8>,
}

/// Loads and decrypts the DKIM private key of a domain (for signing outgoing mail).
pub async fn signing_key(app: &App, domain_id: &str) -> DomainResult<SigningKey> {
    let row: Option<(String, String, String)> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT name, dkim_selector, dkim_private_key FROM domains WHERE id = $1"
    )
    .bind(domain_id)
    .fetch_optional(pool)
    .await)?;
    let (domain, selector, sealed) = row.ok_or(DomainError::NotFound)?;
    let key = encryption_key(app.settings())?;
    let private_key = open(&key, &sealed, domain_id)?;
    Ok(SigningKey {
        domain,
        selector,
        private_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_round_trip_and_are_bound_to_their_domain() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"secret", "domain-a").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert_eq!(open(&key, &sealed, "domain-a").unwrap(), b"secret");
        assert!(open(&key, &sealed, "domain-b").is_err());
        assert!(open(&[8u8; 32], &sealed, "domain-a").is_err());
        assert!(open(&key, "v1:AAAA", "domain-a").is_err());
        assert!(open(&key, "plain", "domain-a").is_err());
    }

    #[test]
    fn generated_keys_are_rsa_2048() {
        let key = generate().unwrap();
        // 2048-bit SubjectPublicKeyInfo is 294 bytes: 392 base64 characters.
        assert_eq!(key.public_key.len(), 392);
        assert!(KeyPair::from_pkcs8(&key.private_key).is_ok());
    }

    #[test]
    fn sqlite_key_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        let first = encryption_key(&settings).unwrap();
        assert_eq!(encryption_key(&settings).unwrap(), first);
        let configured = Settings {
            encryption_key: "11".repeat(32),
            ..settings
        };
        assert_eq!(encryption_key(&configured).unwrap(), [0x11; 32]);
    }
}
