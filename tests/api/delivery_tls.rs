//! STARTTLS in delivery, per the sending domain's `tls` setting, against the sink offering
//! STARTTLS with a certificate made here (rcgen) or not offering it at all.
//!
//! - `opportunistic`: TLS when offered, whatever the certificate; plain text otherwise.
//! - `enforced`: TLS with a certificate valid for the MX name (trusted through
//!   `delivery.tls_ca_file`), or nothing is sent: a temporary failure, retried, then a
//!   transient bounce at the give-up time.

use std::io::Write;
use std::sync::Arc;

use herald::config::Settings;
use herald::on_db;
use herald::smtp::sink::SinkOptions;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio_rustls::rustls::ServerConfig;

use crate::delivery::{MX_HOST, World, WorldOptions, email_to, world_with};
use crate::emails::event_types;

/// A certificate for `host` signed by itself, as a server configuration, and the
/// certificate in PEM for a client that is to trust it.
pub struct TestCertificate {
    pub server: Arc<ServerConfig>,
    pub pem: String,
}

pub fn test_certificate(host: &str) -> TestCertificate {
    let made = rcgen::generate_simple_self_signed(vec![host.to_string()]).expect("certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key)
        .expect("server config");
    TestCertificate {
        server: Arc::new(server),
        pem: made.cert.pem(),
    }
}

/// A sink offering STARTTLS with `certificate`.
fn sink_with_tls(certificate: &TestCertificate) -> SinkOptions {
    let mut options = SinkOptions::default();
    options.limits.tls = Some(certificate.server.clone());
    options
}

/// A world whose domain has `tls`, whose sink offers STARTTLS when `certificate` is given,
/// and whose Herald trusts `trusted` (PEM) besides the system's authorities.
async fn tls_world(
    tls: &'static str,
    certificate: Option<&TestCertificate>,
    trusted: Option<&str>,
) -> World {
    // Read when the app starts; the file can go once the world is up.
    let mut ca_file = tempfile::NamedTempFile::new().unwrap();
    let ca_path = trusted.map(|pem| {
        ca_file.write_all(pem.as_bytes()).unwrap();
        ca_file.path().to_string_lossy().into_owned()
    });
    let world = world_with(WorldOptions {
        tls: Some(tls),
        sink: certificate.map(sink_with_tls),
        settings: Some(Box::new(move |s: &mut Settings| {
            s.delivery.tls_ca_file = ca_path.unwrap_or_default();
        })),
        ..WorldOptions::default()
    })
    .await;
    drop(ca_file);
    world
}

async fn delayed_because(w: &World, id: &str) -> String {
    on_db!(w.app.app.db(), |pool| sqlx::query_scalar(
        "SELECT data FROM email_events WHERE email_id = $1 AND type = 'delivery_delayed'"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn opportunistic_tls_upgrades_when_offered_whatever_the_certificate() {
    // Signed by itself and trusted by nobody: opportunistic TLS takes it all the same.
    let certificate = test_certificate(MX_HOST);
    let w = tls_world("opportunistic", Some(&certificate), None).await;
    let id = w.send(email_to(json!("anna@dest.dev"))).await;
    w.deliver().await;
    assert_eq!(w.last_event(&id).await, "delivered");
    let messages = w.sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].envelope.tls, "the message came over TLS");
}

#[tokio::test]
async fn opportunistic_tls_sends_in_plain_text_when_not_offered() {
    let w = tls_world("opportunistic", None, None).await;
    let id = w.send(email_to(json!("anna@dest.dev"))).await;
    w.deliver().await;
    assert_eq!(w.last_event(&id).await, "delivered");
    let messages = w.sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(!messages[0].envelope.tls);
}

#[tokio::test]
async fn enforced_tls_delivers_over_a_trusted_certificate() {
    let certificate = test_certificate(MX_HOST);
    let w = tls_world("enforced", Some(&certificate), Some(&certificate.pem)).await;
    let first = w.send(email_to(json!("anna@dest.dev"))).await;
    let second = w.send(email_to(json!("bob@dest.dev"))).await;
    w.deliver().await;
    for id in [&first, &second] {
        assert_eq!(w.last_event(id).await, "delivered");
    }
    let messages = w.sink.messages();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.envelope.tls));
}

#[tokio::test]
async fn enforced_tls_sends_nothing_over_a_certificate_it_cannot_check() {
    // The sink offers STARTTLS, but with a certificate Herald has no reason to trust.
    let certificate = test_certificate(MX_HOST);
    let w = tls_world("enforced", Some(&certificate), None).await;
    let id = w.send(email_to(json!("anna@dest.dev"))).await;
    w.deliver().await;
    assert_eq!(w.last_event(&id).await, "delivery_delayed");
    assert_eq!(w.sink.count(), 0);
    let why = delayed_because(&w, &id).await;
    assert!(why.contains("TLS failed"), "{why}");
}

#[tokio::test]
async fn enforced_tls_checks_the_certificate_names_the_mx() {
    // Trusted, but made out for another host.
    let certificate = test_certificate("elsewhere.test");
    let w = tls_world("enforced", Some(&certificate), Some(&certificate.pem)).await;
    let id = w.send(email_to(json!("anna@dest.dev"))).await;
    w.deliver().await;
    assert_eq!(w.last_event(&id).await, "delivery_delayed");
    assert_eq!(w.sink.count(), 0);
}

#[tokio::test]
async fn enforced_tls_without_starttls_is_retried_then_bounced_never_sent_in_plain_text() {
    let w = tls_world("enforced", None, None).await;
    let id = w.send(email_to(json!("anna@dest.dev"))).await;
    w.deliver().await;
    assert!(delayed_because(&w, &id).await.contains("STARTTLS"));
    let mut attempts = 1;
    loop {
        let (state, run_at) = w.job(&id).await;
        if state == "done" {
            break;
        }
        w.clock.set(run_at);
        w.deliver().await;
        attempts += 1;
        assert!(attempts < 30, "still retrying after {attempts} attempts");
    }
    assert_eq!(w.sink.count(), 0, "nothing ever went out in plain text");
    assert!(w.sink.connections() >= attempts);
    let events = event_types(&w.app, &id).await;
    assert_eq!(events, ["queued", "sent", "delivery_delayed", "bounced"]);
}

#[tokio::test]
async fn an_opportunistic_connection_is_not_reused_for_enforced_delivery() {
    // The sink's certificate is trusted, but the first (opportunistic) connection took it
    // unchecked; the enforced email must open a connection of its own.
    let certificate = test_certificate(MX_HOST);
    let w = tls_world("opportunistic", Some(&certificate), Some(&certificate.pem)).await;
    let first = w.send(email_to(json!("anna@dest.dev"))).await;
    w.deliver().await;
    assert_eq!(w.last_event(&first).await, "delivered");
    assert_eq!(w.sink.connections(), 1);
    let domain_id: String = on_db!(w.app.app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM domains WHERE name = $1"
    )
    .bind(crate::delivery::SENDER_DOMAIN)
    .fetch_one(pool)
    .await
    .unwrap());
    let patched = w
        .app
        .patch(&format!("/domains/{domain_id}"), json!({"tls": "enforced"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let second = w.send(email_to(json!("bob@dest.dev"))).await;
    w.deliver().await;
    assert_eq!(w.last_event(&second).await, "delivered");
    assert_eq!(w.sink.connections(), 2);
}
