//! Delivery survives a crash: the real `herald` binary delivers a few hundred emails to the
//! sink (its recipients' MX, through the test DNS server), is killed with SIGKILL part-way,
//! and restarted on the same data. Every accepted email must reach the sink; an email may
//! arrive twice only if it was in flight when the process died (delivered, but its outcome
//! not yet recorded). The test prints how many did.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use herald::on_db;
use herald::smtp::sink::{ReceivedMessage, Sink};
use herald::store::Db;
use serde_json::{Value, json};

use crate::delivery::{DEST, MX_HOST, OTHER};
use crate::dns_server::TestDns;
use crate::emails_crash::start_with;
use crate::helpers::{TestDatabase, using_postgres};

const TOTAL: usize = 300;
const CONCURRENCY: usize = 16;
/// SIGKILL once the sink has this many messages.
const KILL_AT: usize = 100;

/// The email id in a received message's Message-ID (`<id@domain>`).
fn email_id(message: &ReceivedMessage) -> Option<String> {
    let text = String::from_utf8_lossy(&message.data);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    let id = line.split_once('<')?.1.split_once('@')?.0;
    Some(id.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_email_is_delivered_across_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Dropped (with its PostgreSQL database) when the test ends, passed or failed.
    let database = TestDatabase::new().await;
    let database_url = database.url.clone();
    let dns = TestDns::start().await;
    let sink = Sink::start().await.unwrap();
    // A little slow, so that deliveries are in flight when the process dies.
    sink.set_delay(Duration::from_millis(2));
    for domain in [DEST, OTHER] {
        dns.add_mx(domain, 10, MX_HOST).await;
    }
    dns.add_a(MX_HOST, Ipv4Addr::LOCALHOST).await;
    let config = format!(
        "dns_server = \"{}\"\nmx_port = {}\n",
        dns.server(),
        sink.addr().port()
    );

    std::fs::copy(env!("CARGO_BIN_EXE_herald"), dir.path().join("herald")).unwrap();
    let mut server = start_with(dir.path(), &database_url, true, &config).await;
    let key = server.key.clone().expect("first start prints a key");
    let client = reqwest::Client::new();

    // A sending domain, verified by hand (its DNS is not what this test is about).
    let domain: Value = client
        .post(format!("{}/domains", server.base))
        .bearer_auth(&key)
        .json(&json!({"name": "acme.dev"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let domain_id = domain["id"].as_str().expect("domain created").to_string();
    let db = Db::connect(&database_url, dir.path()).await.unwrap();
    on_db!(&db, |pool| sqlx::query(
        "UPDATE domains SET status = 'verified' WHERE id = $1"
    )
    .bind(&domain_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());

    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, base, key, next) = (
            client.clone(),
            server.base.clone(),
            key.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= TOTAL {
                    return ids;
                }
                let domain = if n % 3 == 0 { OTHER } else { DEST };
                let body = json!({
                    "from": "Acme <news@acme.dev>",
                    "to": format!("user{n}@{domain}"),
                    "subject": format!("Email {n}"),
                    "text": format!("Email number {n}"),
                });
                let sent = client
                    .post(format!("{base}/emails"))
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await;
                let Ok(resp) = sent else { return ids };
                if resp.status() != 200 {
                    return ids;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    return ids;
                };
                ids.push(body["id"].as_str().unwrap().to_string());
            }
        }));
    }
    tokio::time::timeout(Duration::from_secs(120), sink.wait_for(KILL_AT))
        .await
        .expect("deliveries started");
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.unwrap();
    let before_kill = sink.count();
    let mut accepted = Vec::new();
    for task in tasks {
        accepted.extend(task.await.unwrap());
    }
    // Requests answered before the kill; the sink may hold more than this (mail of requests
    // whose answer the kill cut off is committed and may already be delivered).
    assert!(
        !accepted.is_empty(),
        "no request was answered before the kill"
    );

    // Restart on the same data: the rest is delivered.
    let mut server = start_with(dir.path(), &database_url, false, &config).await;
    let wanted: HashSet<String> = accepted.iter().cloned().collect();
    let mut received: HashMap<String, usize> = HashMap::new();
    for _ in 0..1200 {
        received.clear();
        for message in sink.messages() {
            if let Some(id) = email_id(&message) {
                *received.entry(id).or_default() += 1;
            }
        }
        if wanted.iter().all(|id| received.contains_key(id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|id| !received.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    let duplicates = received.values().filter(|n| **n > 1).count();
    println!(
        "delivery crash test ({}): {} emails accepted, {before_kill} delivered before SIGKILL, \
         {duplicates} delivered twice (in flight at the kill), {} messages in the sink",
        if using_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
        accepted.len(),
        sink.count()
    );
    // Only what was in flight can repeat: at most the concurrent deliveries of one node.
    assert!(duplicates <= 64, "{duplicates} duplicates");

    // Every stored email ends delivered (also any whose response the kill cut off).
    let mut undelivered = -1;
    for _ in 0..100 {
        undelivered = on_db!(&db, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM emails WHERE last_event <> 'delivered'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
        if undelivered == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(undelivered, 0);
    db.close().await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
}
