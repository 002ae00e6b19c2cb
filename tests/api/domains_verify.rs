//! Domain verification against a real DNS server the test controls, with a manual clock:
//! records missing, partial, correct (tolerating real-world variations), then removed
//! (temporary failure, back to verified, failed after 72 hours); DMARC and BIMI findings on
//! the domain resource; and the DKIM key pair signing and verifying a message.

use std::sync::Arc;
use std::time::Duration;

use herald::clock::ManualClock;
use herald::domains::VERIFY_JOB;
use herald::on_db;
use hickory_server::proto::rr::RecordType;
use serde_json::{Value, json};

use crate::dns_server::TestDns;
use crate::domains::spawn_configured;
use crate::helpers::HOUR;
use crate::helpers::{Options, TestApp};

const VERIFY_INTERVAL: i64 = 300 * 1000;
const RECHECK_INTERVAL: i64 = 6 * HOUR;

struct Setup {
    app: TestApp,
    dns: TestDns,
    clock: Arc<ManualClock>,
}

async fn setup() -> Setup {
    let dns = TestDns::start().await;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let server = dns.server();
    let app = spawn_configured(Options {
        clock: Some(clock.clone()),
        configure: Some(Box::new(move |settings| settings.dns_server = server)),
        ..Options::default()
    })
    .await;
    Setup { app, dns, clock }
}

impl Setup {
    /// Runs the verification jobs that are due, including one a background worker may have
    /// claimed already, and returns the domain afterwards.
    async fn check(&self, id: &str) -> Value {
        for _ in 0..2000 {
            self.app.run_pending_jobs().await;
            let now = self.app.app.now_ms();
            let busy: i64 = on_db!(self.app.app.db(), |pool| sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND (state = 'running' \
                 OR (state = 'queued' AND run_at <= $2))"
            )
            .bind(VERIFY_JOB)
            .bind(now)
            .fetch_one(pool)
            .await)
            .unwrap();
            if busy == 0 {
                return self.app.get(&format!("/domains/{id}")).await.body;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("verification jobs never finished");
    }

    async fn after(&self, ms: i64, id: &str) -> Value {
        self.clock.advance(ms);
        self.check(id).await
    }

    async fn create(&self, body: Value) -> Value {
        let created = self.app.post("/domains", body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        created.body
    }

    async fn verify(&self, id: &str) -> Value {
        let reply = self
            .app
            .post(&format!("/domains/{id}/verify"), json!({}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, json!({"object": "domain", "id": id}));
        self.check(id).await
    }
}

fn fqdn(domain: &Value, record: &Value) -> String {
    let zone = {
        let name = domain["name"].as_str().unwrap();
        let labels: Vec<&str> = name.split('.').collect();
        labels[labels.len() - 2..].join(".")
    };
    match record["name"].as_str().unwrap() {
        "@" => zone,
        name => format!("{name}.{zone}"),
    }
}

fn find<'a>(domain: &'a Value, group: &str, rtype: &str) -> &'a Value {
    domain["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record"] == group && r["type"] == rtype)
        .unwrap()
}

fn statuses(domain: &Value) -> Vec<(String, String)> {
    domain["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}",
                    r["record"].as_str().unwrap(),
                    r["type"].as_str().unwrap()
                ),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn all(domain: &Value, status: &str) -> bool {
    statuses(domain).iter().all(|(_, s)| s == status)
}

fn status_of(domain: &Value, group: &str, rtype: &str) -> String {
    find(domain, group, rtype)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

impl Setup {
    /// Publishes the SPF records the way people do: other TXT records beside them, more SPF
    /// mechanisms than ours, the MX host in capitals with a final dot.
    async fn publish_spf(&self, domain: &Value) {
        let mx = find(domain, "SPF", "MX");
        let name = fqdn(domain, mx);
        let host = format!("{}.", mx["value"].as_str().unwrap().to_uppercase());
        self.dns.add_mx(&name, 10, &host).await;
        self.dns
            .add_txt(&name, &["google-site-verification=abc123"])
            .await;
        self.dns
            .add_txt(
                &name,
                &["v=spf1 include:_spf.google.com ", "ip4:203.0.113.0/24 -all"],
            )
            .await;
    }

    /// Publishes the DKIM key split into 255-byte strings, as DNS stores long values.
    async fn publish_dkim(&self, domain: &Value) {
        let dkim = find(domain, "DKIM", "TXT");
        self.dns
            .add_long_txt(&fqdn(domain, dkim), dkim["value"].as_str().unwrap())
            .await;
    }
}

#[tokio::test]
async fn statuses_follow_the_records_in_dns() {
    let s = setup().await;
    let domain = s.create(json!({"name": "example.com"})).await;
    let id = domain["id"].as_str().unwrap();
    assert_eq!(domain["status"], "not_started");
    assert!(all(&domain, "not_started"));

    // Nothing published yet: pending, and the checks go on.
    let d = s.verify(id).await;
    assert_eq!(d["status"], "pending");
    assert!(all(&d, "pending"), "{:?}", statuses(&d));

    // SPF only: still pending, SPF records verified.
    s.publish_spf(&domain).await;
    let d = s.after(VERIFY_INTERVAL, id).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(status_of(&d, "SPF", "MX"), "verified");
    assert_eq!(status_of(&d, "SPF", "TXT"), "verified");
    assert_eq!(status_of(&d, "DKIM", "TXT"), "pending");

    // DKIM too: verified.
    s.publish_dkim(&domain).await;
    let d = s.after(VERIFY_INTERVAL, id).await;
    assert_eq!(d["status"], "verified", "{:?}", statuses(&d));
    assert!(all(&d, "verified"));

    // The DKIM record disappears: temporary failure at the next periodic check.
    let dkim_name = fqdn(&domain, find(&domain, "DKIM", "TXT"));
    s.dns.remove(&dkim_name, RecordType::TXT).await;
    let d = s.after(RECHECK_INTERVAL, id).await;
    assert_eq!(d["status"], "temporary_failure");
    assert_eq!(status_of(&d, "DKIM", "TXT"), "temporary_failure");
    assert_eq!(status_of(&d, "SPF", "TXT"), "verified");

    // It comes back: verified again.
    s.publish_dkim(&domain).await;
    let d = s.after(VERIFY_INTERVAL, id).await;
    assert_eq!(d["status"], "verified");
    assert!(all(&d, "verified"));

    // SPF disappears for good: temporary failure, then failed after 72 hours.
    let spf_name = fqdn(&domain, find(&domain, "SPF", "TXT"));
    s.dns.remove(&spf_name, RecordType::TXT).await;
    let d = s.after(RECHECK_INTERVAL, id).await;
    assert_eq!(d["status"], "temporary_failure");
    let d = s.after(71 * HOUR, id).await;
    assert_eq!(d["status"], "temporary_failure");
    let d = s.after(HOUR, id).await;
    assert_eq!(d["status"], "failed");
    assert_eq!(status_of(&d, "SPF", "TXT"), "failed");
    assert_eq!(status_of(&d, "DKIM", "TXT"), "verified");
    // Failed domains are not checked any more…
    let d = s.after(RECHECK_INTERVAL, id).await;
    assert_eq!(d["status"], "failed");

    // …until the owner asks again.
    s.publish_spf(&domain).await;
    let d = s.verify(id).await;
    assert_eq!(d["status"], "verified");
}

#[tokio::test]
async fn pending_domains_fail_after_72_hours() {
    let s = setup().await;
    let domain = s
        .create(
            json!({"name": "updates.example.com", "tracking_subdomain": "links",
                       "capabilities": {"receiving": "enabled"}}),
        )
        .await;
    let id = domain["id"].as_str().unwrap();
    // Only the optional records are there: they verify, the domain does not.
    let tracking = find(&domain, "Tracking", "CNAME");
    s.dns
        .add_cname(&fqdn(&domain, tracking), "TRACK.herald.test.")
        .await;
    let receiving = find(&domain, "Receiving", "MX");
    s.dns
        .add_mx(&fqdn(&domain, receiving), 5, "mx.herald.test")
        .await;
    let d = s.verify(id).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(status_of(&d, "Tracking", "CNAME"), "verified");
    assert_eq!(status_of(&d, "Receiving", "MX"), "verified");
    assert_eq!(status_of(&d, "SPF", "MX"), "pending");

    // A DKIM record holding another key does not count.
    let dkim = find(&domain, "DKIM", "TXT");
    s.dns
        .add_txt(
            &fqdn(&domain, dkim),
            &["v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAother"],
        )
        .await;
    let d = s.after(71 * HOUR, id).await;
    assert_eq!(d["status"], "pending");
    let d = s.after(HOUR, id).await;
    assert_eq!(d["status"], "failed");
    assert_eq!(status_of(&d, "DKIM", "TXT"), "failed");
    assert_eq!(status_of(&d, "SPF", "MX"), "failed");
    assert_eq!(status_of(&d, "Tracking", "CNAME"), "verified");
}

#[tokio::test]
async fn dmarc_and_bimi_are_reported_on_the_domain() {
    let s = setup().await;
    let domain = s.create(json!({"name": "news.example.com"})).await;
    let id = domain["id"].as_str().unwrap();
    s.dns
        .add_txt(
            "_dmarc.example.com",
            &["v=DMARC1; p=reject; rua=mailto:d@example.com"],
        )
        .await;
    s.dns
        .add_txt(
            "_dmarc.news.example.com",
            &[
                "v=DMARC1; p=quarantine; pct=100; ",
                "rua=mailto:dmarc@example.com",
            ],
        )
        .await;
    s.dns
        .add_txt(
            "default._bimi.news.example.com",
            &["v=BIMI1; l=https://brand.example.com/logo.svg; a=https://brand.example.com/vmc.pem"],
        )
        .await;
    let d = s.verify(id).await;
    let dmarc = &d["dmarc"];
    assert_eq!(dmarc["name"], "_dmarc.news.example.com");
    assert_eq!(dmarc["status"], "valid");
    assert_eq!(dmarc["p"], "quarantine");
    assert_eq!(dmarc["pct"], 100);
    assert_eq!(dmarc["rua"], json!(["mailto:dmarc@example.com"]));
    assert_eq!(dmarc["adkim"], "r");
    assert_eq!(dmarc["apex"]["name"], "_dmarc.example.com");
    assert_eq!(dmarc["apex"]["p"], "reject");
    assert!(dmarc["checked_at"].is_string());
    let bimi = &d["bimi"];
    assert_eq!(bimi["status"], "valid");
    assert_eq!(bimi["l"], "https://brand.example.com/logo.svg");
    assert_eq!(bimi["a"], "https://brand.example.com/vmc.pem");
    assert_eq!(bimi["ready"], true, "{bimi}");

    // The root domain relaxes to p=none: the subdomain cannot show its logo any more.
    s.dns.remove("_dmarc.example.com", RecordType::TXT).await;
    s.dns
        .add_txt("_dmarc.example.com", &["v=DMARC1; p=none"])
        .await;
    let d = s.verify(id).await;
    let bimi = &d["bimi"];
    assert_eq!(bimi["ready"], false);
    let messages = bimi["messages"].to_string();
    assert!(messages.contains("root domain example.com"), "{messages}");

    // A malformed DMARC record is explained, not fatal.
    s.dns
        .remove("_dmarc.news.example.com", RecordType::TXT)
        .await;
    s.dns
        .add_txt("_dmarc.news.example.com", &["v=DMARC1; p=rejected"])
        .await;
    let d = s.verify(id).await;
    assert_eq!(d["dmarc"]["status"], "invalid");
    assert!(
        d["dmarc"]["problem"]
            .as_str()
            .unwrap()
            .contains("not a policy"),
        "{}",
        d["dmarc"]
    );
    assert_eq!(d["bimi"]["ready"], false);
}

#[tokio::test]
async fn the_published_key_verifies_signatures_of_the_stored_key() {
    use mail_auth::common::crypto::{RsaKey, Sha256};
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner;
    use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
    use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator};
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let s = setup().await;
    let domain = s.create(json!({"name": "example.com"})).await;
    s.publish_dkim(&domain).await;
    let id = domain["id"].as_str().unwrap();
    let key = herald::domains::dkim_keys::signing_key(&s.app.app, id)
        .await
        .unwrap();
    assert_eq!(key.domain, "example.com");
    assert_eq!(key.selector, "herald");
    // The stored value is sealed: the PKCS#8 bytes do not appear in the database.
    let sealed: String = on_db!(s.app.app.db(), |pool| sqlx::query_scalar(
        "SELECT dkim_private_key FROM domains WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await)
    .unwrap();
    assert!(sealed.starts_with("v1:"));
    // Neither the key's base64 nor its hex is there (a fixed prefix such as "MII" can occur
    // in random base64 by chance: this checks 48 characters of the key itself).
    use base64::Engine as _;
    let plain_base64 = base64::engine::general_purpose::STANDARD.encode(&key.private_key);
    assert!(!sealed.contains(&plain_base64[..48]));
    assert!(!sealed.contains(&hex::encode(&key.private_key)[..48]));

    let message = "From: Ann <ann@example.com>\r\nTo: bob@example.net\r\nSubject: hello\r\n\
                   \r\nA small message.\r\n";
    let signer = RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.private_key.clone(),
    )))
    .unwrap();
    let signature = DkimSigner::from_key(signer)
        .domain(&key.domain)
        .selector(&key.selector)
        .headers(["From", "To", "Subject"])
        .sign(message.as_bytes())
        .unwrap();
    let signed = format!("{}{message}", signature.to_header());

    let mut server = NameServerConfig::udp_and_tcp(s.dns.addr.ip());
    for connection in &mut server.connections {
        connection.port = s.dns.addr.port();
    }
    let authenticator = MessageAuthenticator::new(
        ResolverConfig::from_name_servers(vec![server]),
        ResolverOpts::default(),
    )
    .unwrap();
    let parsed = AuthenticatedMessage::parse(signed.as_bytes()).unwrap();
    let results = authenticator.verify_dkim(&parsed).await;
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result(), &DkimResult::Pass);

    // A tampered message fails with the same key.
    let tampered = signed.replace("A small message.", "A changed message.");
    let parsed = AuthenticatedMessage::parse(tampered.as_bytes()).unwrap();
    let results = authenticator.verify_dkim(&parsed).await;
    assert_ne!(results[0].result(), &DkimResult::Pass);
}

/// What the last check said about one record, in plain words (the dashboard shows it).
async fn record_message(s: &Setup, id: &str, kind: &str) -> Option<String> {
    on_db!(s.app.app.db(), |pool| sqlx::query_scalar(
        "SELECT message FROM domain_records WHERE domain_id = $1 AND kind = $2"
    )
    .bind(id)
    .bind(kind)
    .fetch_one(pool)
    .await)
    .unwrap()
}

#[tokio::test]
async fn tracking_cname_and_caa_records_are_checked() {
    let s = setup().await;
    let domain = s
        .create(json!({"name": "updates.example.com", "tracking_subdomain": "links"}))
        .await;
    let id = domain["id"].as_str().unwrap();
    let caa = find(&domain, "TrackingCAA", "CAA");
    assert_eq!(caa["name"], "updates");
    assert_eq!(caa["value"], r#"0 issue "letsencrypt.org""#);
    assert_eq!(caa["status"], "not_started");
    s.publish_spf(&domain).await;
    s.publish_dkim(&domain).await;

    // The apex allows another CA only: the tracking host could not get its certificate.
    s.dns
        .add_caa("example.com", 0, "issue", "digicert.com")
        .await;
    s.dns
        .add_caa("example.com", 0, "iodef", "mailto:security@example.com")
        .await;
    let d = s.verify(id).await;
    assert_eq!(
        d["status"], "verified",
        "optional records do not hold it back"
    );
    assert_eq!(status_of(&d, "Tracking", "CNAME"), "pending");
    assert_eq!(status_of(&d, "TrackingCAA", "CAA"), "pending");
    let why = record_message(&s, id, "tracking_caa").await.unwrap();
    assert!(why.contains("only digicert.com"), "{why}");
    assert!(
        why.contains(r#"0 issue "letsencrypt.org" at updates.example.com"#),
        "{why}"
    );

    // The owner publishes both, the CAA with a parameter and odd case: both verify.
    s.dns
        .add_cname("links.updates.example.com", "Track.Herald.Test.")
        .await;
    s.dns
        .add_caa(
            "updates.example.com",
            0,
            "issue",
            "LetsEncrypt.org.; validationmethods=http-01",
        )
        .await;
    // A verified domain is re-checked every few hours; asking again checks at once.
    let d = s.verify(id).await;
    assert_eq!(status_of(&d, "Tracking", "CNAME"), "verified");
    assert_eq!(status_of(&d, "TrackingCAA", "CAA"), "verified");
    assert_eq!(record_message(&s, id, "tracking_caa").await, None);

    // A domain without any CAA record needs none: nothing stops the CA.
    let other = s
        .create(json!({"name": "news.example.org", "tracking_subdomain": "t"}))
        .await;
    let other_id = other["id"].as_str().unwrap();
    s.dns
        .add_cname("t.news.example.org", "track.herald.test")
        .await;
    let d = s.verify(other_id).await;
    assert_eq!(status_of(&d, "Tracking", "CNAME"), "verified");
    assert_eq!(status_of(&d, "TrackingCAA", "CAA"), "verified");

    // An issuer-critical property no CA knows forbids issuance again.
    s.dns
        .add_caa("updates.example.com", 128, "futuretag", "x")
        .await;
    let d = s.after(RECHECK_INTERVAL, id).await;
    assert_eq!(status_of(&d, "TrackingCAA", "CAA"), "temporary_failure");
    let why = record_message(&s, id, "tracking_caa").await.unwrap();
    assert!(why.contains("`futuretag`"), "{why}");
}
