//! A broadcast survives crashes: the real `herald` binary fans a broadcast out to a few
//! thousand contacts, is killed with SIGKILL during the fan-out and again during delivery,
//! and restarted on the same data each time. Every eligible contact must get exactly one
//! email (one row, whatever the kills), and reach the sink; a contact may receive the
//! message twice only if its delivery was in flight at a kill. Also: fan-out runs of the
//! same job on two instances at once (a lease taken over) never send a contact twice.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use herald::on_db;
use herald::smtp::sink::Sink;
use herald::store::Db;
use serde_json::{Value, json};

use crate::delivery::{DEST, MX_HOST, OTHER};
use crate::dns_server::TestDns;
use crate::emails_crash::start_with;
use crate::helpers::{TestDatabase, spawn_app, using_postgres};

const CONTACTS: usize = 4000;

/// Contacts `user{n}@…` in the segment; every tenth is unsubscribed (not eligible).
async fn insert_contacts(db: &Db, team_id: &str, segment_id: &str, n: usize, at: i64) {
    on_db!(db, |pool| {
        let mut tx = pool.begin().await.unwrap();
        for i in 0..n {
            let id = herald::store::new_id();
            let domain = if i % 3 == 0 { OTHER } else { DEST };
            let email = format!("user{i}@{domain}");
            sqlx::query(
                "INSERT INTO contacts (id, team_id, email, email_lower, first_name, unsubscribed, \
                 properties, created_at, updated_at) VALUES ($1, $2, $3, $3, $4, $5, '{}', $6, $6)",
            )
            .bind(&id)
            .bind(team_id)
            .bind(&email)
            .bind(format!("User {i}"))
            .bind(i % 10 == 9)
            .bind(at)
            .execute(&mut *tx)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO contact_segments (segment_id, contact_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(segment_id)
            .bind(&id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    });
}

fn eligible(n: usize) -> usize {
    (0..n).filter(|i| i % 10 != 9).count()
}

async fn scalar(db: &Db, sql: &str, id: &str) -> i64 {
    on_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap())
}

/// Emails per contact of the broadcast: (contacts with one, contacts with more).
async fn emails_per_contact(db: &Db, broadcast_id: &str) -> (i64, i64) {
    let rows: Vec<(String, i64)> = on_db!(db, |pool| sqlx::query_as(
        "SELECT contact_id, COUNT(*) FROM emails WHERE broadcast_id = $1 GROUP BY contact_id"
    )
    .bind(broadcast_id)
    .fetch_all(pool)
    .await
    .unwrap());
    let once = rows.iter().filter(|(_, n)| *n == 1).count() as i64;
    (once, rows.len() as i64 - once)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_eligible_contact_gets_one_email_across_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    // Dropped (with its PostgreSQL database) when the test ends, passed or failed.
    let database = TestDatabase::new().await;
    let database_url = database.url.clone();
    let dns = TestDns::start().await;
    let sink = Sink::start().await.unwrap();
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
    let post = |base: String, path: &'static str, body: Value| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            let resp = client
                .post(format!("{base}{path}"))
                .bearer_auth(&key)
                .json(&body)
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        }
    };
    let domain = post(server.base.clone(), "/domains", json!({"name": "acme.dev"})).await;
    let segment = post(server.base.clone(), "/segments", json!({"name": "All"})).await;
    let segment_id = segment["id"].as_str().unwrap().to_string();
    let db = Db::connect(&database_url, dir.path()).await.unwrap();
    on_db!(&db, |pool| sqlx::query(
        "UPDATE domains SET status = 'verified' WHERE id = $1"
    )
    .bind(domain["id"].as_str().unwrap())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
    let team_id: String = on_db!(&db, |pool| sqlx::query_scalar("SELECT id FROM teams")
        .fetch_one(pool)
        .await
        .unwrap());
    insert_contacts(&db, &team_id, &segment_id, CONTACTS, 0).await;

    let created = post(
        server.base.clone(),
        "/broadcasts",
        json!({"segment_id": segment_id, "from": "Acme <news@acme.dev>", "subject": "Hi {{{FIRST_NAME}}}",
               "html": "<p>Hello {{{FIRST_NAME}}}, <a href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\">unsubscribe</a></p>",
               "send": true}),
    )
    .await;
    let id = created["id"]
        .as_str()
        .expect("broadcast created")
        .to_string();

    // Kill 1: once some batches are committed, before the fan-out ends.
    let mut killed_mid_fanout = false;
    for _ in 0..20_000 {
        let queued = scalar(&db, "SELECT recipients FROM broadcasts WHERE id = $1", &id).await;
        if queued > 0 {
            server.child.start_kill().expect("SIGKILL");
            server.child.wait().await.unwrap();
            let after = scalar(&db, "SELECT recipients FROM broadcasts WHERE id = $1", &id).await;
            killed_mid_fanout = (after as usize) < eligible(CONTACTS);
            println!("broadcast crash test: killed with {after} emails queued");
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(killed_mid_fanout, "the fan-out ended before the kill");

    // Restart; kill 2 during delivery.
    let mut server = start_with(dir.path(), &database_url, false, &config).await;
    tokio::time::timeout(Duration::from_secs(300), sink.wait_for(CONTACTS / 4))
        .await
        .expect("deliveries started");
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.unwrap();
    let before_kill = sink.count();

    // Restart: the rest goes out.
    let mut server = start_with(dir.path(), &database_url, false, &config).await;
    let wanted = eligible(CONTACTS);
    let mut received: HashMap<String, usize> = HashMap::new();
    for _ in 0..6000 {
        received.clear();
        for message in sink.messages() {
            for rcpt in &message.envelope.rcpt_to {
                *received.entry(rcpt.clone()).or_default() += 1;
            }
        }
        if received.len() >= wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(received.len(), wanted, "every eligible contact reached");
    assert!(
        received.keys().all(|r| {
            let n: usize = r[4..r.find('@').unwrap()].parse().unwrap();
            n % 10 != 9
        }),
        "an unsubscribed contact was sent to"
    );
    let (once, more) = emails_per_contact(&db, &id).await;
    assert_eq!((once, more), (wanted as i64, 0), "one email per contact");
    let duplicates = received.values().filter(|n| **n > 1).count();
    println!(
        "broadcast crash test ({}): {wanted} eligible of {CONTACTS}, {before_kill} delivered \
         before the second SIGKILL, {duplicates} delivered twice (in flight at a kill)",
        if using_postgres() {
            "postgres"
        } else {
            "sqlite"
        },
    );
    assert!(duplicates <= 64, "{duplicates} duplicates");
    for _ in 0..100 {
        let status: String = on_db!(&db, |pool| sqlx::query_scalar(
            "SELECT status FROM broadcasts WHERE id = $1"
        )
        .bind(&id)
        .fetch_one(pool)
        .await
        .unwrap());
        if status == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM broadcasts WHERE id = $1 AND status = 'sent'",
            &id
        )
        .await,
        1
    );
    db.close().await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
}

/// Two instances run the same fan-out job at once (as when a lease runs out while its
/// first holder still works): the cursor guard lets one batch win each time, so no contact
/// gets two emails and none is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_running_one_fanout_send_each_contact_once() {
    let test = spawn_app().await;
    let app = &test.app;
    let team = herald::teams::first_team_id(app).await.unwrap().unwrap();
    let domain = herald::domains::create(
        app,
        &team,
        herald::domains::DomainInput {
            name: Some("acme.dev".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    on_db!(app.db(), |pool| sqlx::query(
        "UPDATE domains SET status = 'verified' WHERE id = $1"
    )
    .bind(&domain.id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
    let segment = test.post("/segments", json!({"name": "All"})).await;
    let segment_id = segment.body["id"].as_str().unwrap().to_string();
    insert_contacts(app.db(), &team, &segment_id, 3500, 0).await;
    // Scheduled, so that the app's own workers leave it alone; the test runs the job.
    let created = test
        .post(
            "/broadcasts",
            json!({"segment_id": segment_id, "from": "news@acme.dev", "subject": "Hi",
                   "text": "Hello {{{EMAIL}}}", "send": true, "scheduled_at": "in 10 days"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let job = herald::queue::Job {
        id: "manual".into(),
        kind: herald::broadcasts::fanout::JOB.into(),
        payload: json!({ "broadcast_id": id }).to_string(),
        region: None,
        attempts: 1,
        max_attempts: 50,
    };
    let other = herald::app::App::open(app.settings().clone(), None)
        .await
        .unwrap();
    for _ in 0..20 {
        let (a, b) = tokio::join!(
            herald::broadcasts::fanout::run_job(app, &job),
            herald::broadcasts::fanout::run_job(&other, &job)
        );
        let _ = (a, b);
        let status: String = on_db!(app.db(), |pool| sqlx::query_scalar(
            "SELECT status FROM broadcasts WHERE id = $1"
        )
        .bind(&id)
        .fetch_one(pool)
        .await
        .unwrap());
        if status == "sent" {
            break;
        }
    }
    let (once, more) = emails_per_contact(app.db(), &id).await;
    assert_eq!((once, more), (eligible(3500) as i64, 0));
    other.db().close().await;
}
