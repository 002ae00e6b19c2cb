//! The bytes Herald sends: golden files pin the MIME structure and headers (the boundary
//! seed and the date are fixed, so the output is reproducible), and a DKIM signature made
//! with a domain's key verifies with mail-auth against the key published in DNS.
//!
//! To update the golden files after an intended change: `HERALD_BLESS=1 cargo test --test
//! api delivery_mime`, then review the diff.

use std::path::PathBuf;

use herald::delivery::dkim::Signer;
use herald::delivery::mime::{Attachment, Outgoing, compose};
use herald::domains::dkim_keys;

use crate::delivery::dkim_passes;
use crate::dns_server::TestDns;

fn golden(name: &str, actual: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/golden")
        .join(name);
    if std::env::var("HERALD_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|_| panic!("{} missing: run with HERALD_BLESS=1", path.display()));
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
        "{} differs",
        path.display()
    );
}

fn simple() -> Outgoing {
    Outgoing {
        from: "news@acme.dev".into(),
        to: vec!["anna@dest.dev".into()],
        cc: vec![],
        reply_to: vec![],
        subject: "Plain hello".into(),
        html: None,
        text: Some("Hello Anna,\nthis is plain text.\n".into()),
        headers: vec![],
        message_id: "<0193a0c4-7f6e-7b21-9c3d-5e8f00112233@acme.dev>".into(),
        date_ms: 1_767_225_600_000,
        attachments: vec![],
    }
}

fn rich() -> Outgoing {
    Outgoing {
        from: "\"Acme, Inc.\" <news@acme.dev>".into(),
        to: vec![
            "Zoë Ångström <zoe@xn--bcher-kva.de>".into(),
            "bob@dest.dev".into(),
        ],
        cc: vec!["Carl <carl@other.dev>".into()],
        reply_to: vec!["Support <help@acme.dev>".into()],
        subject: "Your order ✓ — confirmed".into(),
        html: Some("<p>Thanks for your order!</p><img src=\"cid:logo\" alt=\"Acme\">\n".into()),
        text: Some("Thanks for your order!\n".into()),
        headers: vec![
            (
                "List-Unsubscribe".into(),
                "<https://acme.dev/unsubscribe?u=42>, <mailto:unsub@acme.dev>".into(),
            ),
            ("X-Entity-Ref-ID".into(), "order-42".into()),
            ("X-Note".into(), "café crème".into()),
        ],
        message_id: "<0193a0c4-7f6e-7b21-9c3d-5e8f00112234@acme.dev>".into(),
        date_ms: 1_767_225_600_000,
        attachments: vec![
            Attachment {
                filename: Some("logo.png".into()),
                content_type: "image/png".into(),
                content_id: Some("logo".into()),
                content: vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3],
            },
            Attachment {
                filename: Some("invoice 42.pdf".into()),
                content_type: "application/pdf".into(),
                content_id: None,
                content: b"%PDF-1.4 fake".to_vec(),
            },
        ],
    }
}

#[test]
fn plain_text_email_matches_its_golden_file() {
    golden("plain.eml", &compose(&simple(), "seed").unwrap());
}

#[test]
fn rich_email_matches_its_golden_file() {
    let bytes = compose(&rich(), "seed").unwrap();
    golden("rich.eml", &bytes);
    let text = String::from_utf8(bytes).unwrap();
    // Structure: mixed(related(alternative(text, html), logo), invoice).
    let mixed = text.find("multipart/mixed").unwrap();
    let related = text.find("multipart/related").unwrap();
    let alternative = text.find("multipart/alternative").unwrap();
    assert!(mixed < related && related < alternative);
    assert!(text.contains("Content-ID: <logo>"));
    assert!(text.lines().all(|l| l.len() <= 998));
    assert!(!text.contains("\n\n") && !text.replace("\r\n", "").contains('\n'));
}

#[test]
fn html_only_email_is_a_single_part() {
    let mut email = simple();
    email.text = None;
    email.html = Some("<p>Only HTML</p>".into());
    let text = String::from_utf8(compose(&email, "seed").unwrap()).unwrap();
    assert!(text.contains("Content-Type: text/html; charset=\"utf-8\""));
    assert!(!text.contains("multipart"));
}

#[test]
fn stored_header_values_cannot_inject_headers() {
    let mut email = simple();
    email.headers = vec![("X-Evil".into(), "a\r\nBcc: someone@else.dev".into())];
    assert!(compose(&email, "seed").is_err());
    email.headers = vec![("Bcc".into(), "someone@else.dev".into())];
    assert!(compose(&email, "seed").is_err());
}

#[tokio::test]
async fn dkim_signature_verifies_against_the_published_key() {
    let key = dkim_keys::generate().unwrap();
    let dns = TestDns::start().await;
    dns.add_long_txt(
        "herald._domainkey.acme.dev",
        &format!("v=DKIM1; k=rsa; p={}", key.public_key),
    )
    .await;
    let signer = Signer::new("acme.dev", "herald", &key.private_key).unwrap();
    let message = compose(&rich(), "seed").unwrap();
    let signed = signer.signed(&message).unwrap();
    let header = String::from_utf8_lossy(&signed[..signed.len() - message.len()]).to_string();
    assert!(
        header.starts_with("DKIM-Signature: v=1; a=rsa-sha256;"),
        "{header}"
    );
    assert!(header.contains("c=relaxed/relaxed"), "{header}");
    assert!(
        header.contains("d=acme.dev") && header.contains("s=herald"),
        "{header}"
    );
    assert!(header.ends_with("\r\n"), "{header:?}");
    assert!(dkim_passes(&dns, &signed).await);

    // Any change to a signed header or the body breaks it.
    let tampered = String::from_utf8_lossy(&signed).replace("\"Carl\" <carl@", "\"Karl\" <carl@");
    assert!(!dkim_passes(&dns, tampered.as_bytes()).await);
    let tampered = String::from_utf8_lossy(&signed).replace("Thanks for", "Thank you for");
    assert!(!dkim_passes(&dns, tampered.as_bytes()).await);
    // Relaxed canonicalisation tolerates re-folded whitespace.
    let refolded = String::from_utf8_lossy(&signed).replace("Subject: ", "Subject:   ");
    assert!(dkim_passes(&dns, refolded.as_bytes()).await);
}
