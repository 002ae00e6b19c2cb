//! `POST /emails`, `GET /emails[/{id}]`: sending, reading back, listing, validation errors,
//! sender rules (verified domains, restricted keys) and Resend's test recipients.
//! Shared helpers for the other `emails_*` modules live here too.

use std::time::Duration;

use herald::on_db;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app};

pub fn test_email(to: &str) -> Value {
    json!({
        "from": "Acme <onboarding@resend.dev>",
        "to": to,
        "subject": "Hello",
        "html": "<p>Hi <strong>there</strong></p>",
    })
}

/// Runs one SQL query returning a number, with one text parameter.
pub async fn scalar(app: &TestApp, sql: &str, param: &str) -> i64 {
    on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .bind(param)
    .fetch_one(pool)
    .await
    .expect(sql))
}

/// The types of an email's events, oldest first.
pub async fn event_types(app: &TestApp, email_id: &str) -> Vec<String> {
    on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT type FROM email_events WHERE email_id = $1 ORDER BY created_at, id"
    )
    .bind(email_id)
    .fetch_all(pool)
    .await
    .unwrap())
}

/// The (kind, state, run_at) of an email's job.
pub async fn job_of(app: &TestApp, email_id: &str) -> (String, String, i64) {
    on_db!(app.app.db(), |pool| sqlx::query_as::<
        _,
        (String, String, i64),
    >(
        "SELECT kind, state, run_at FROM jobs WHERE unique_key = $1"
    )
    .bind(format!("email:{email_id}"))
    .fetch_one(pool)
    .await
    .unwrap())
}

/// Adds a domain row to the first team (the Domains API comes later).
pub async fn add_domain(app: &TestApp, name: &str, status: &str) -> String {
    let team = herald::teams::first_team_id(&app.app)
        .await
        .unwrap()
        .unwrap();
    let id = herald::store::new_id();
    on_db!(app.app.db(), |pool| sqlx::query(
        "INSERT INTO domains (id, team_id, name, status, region, created_at) \
         VALUES ($1, $2, $3, $4, 'us-east-1', 0)"
    )
    .bind(&id)
    .bind(&team)
    .bind(name)
    .bind(status)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
    id
}

/// Runs jobs until no simulation job is due or running (the app's own workers may hold
/// one for a moment).
pub async fn settle(app: &TestApp) {
    for _ in 0..500 {
        app.run_pending_jobs().await;
        let busy: i64 = on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND (state = 'running' OR \
             (state = 'queued' AND run_at <= $2))"
        )
        .bind(herald::emails::SIMULATE_JOB)
        .bind(app.app.now_ms())
        .fetch_one(pool)
        .await
        .unwrap());
        if busy == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("jobs did not settle");
}

pub fn id_of(reply: &crate::helpers::Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_str().expect("id").to_string();
    uuid::Uuid::parse_str(&id).expect("uuid id");
    id
}

fn is_resend_timestamp(value: &Value) -> bool {
    let s = value.as_str().unwrap_or("");
    s.len() == 26 && s.ends_with("+00") && &s[10..11] == " " && &s[19..20] == "."
}

#[tokio::test]
async fn send_then_get_returns_every_field() {
    let app = spawn_app().await;
    let topic = "b6d24b8e-af0b-4c3c-be0c-359bbd97381e";
    let sent = app
        .post(
            "/emails",
            json!({
                "from": "Acme <onboarding@resend.dev>",
                "to": "delivered@resend.dev",
                "cc": ["Copy <delivered+cc@resend.dev>"],
                "reply_to": "reply@example.com",
                "subject": "Hello",
                "html": "<p>Hi <strong>there</strong></p>",
                "headers": {"X-Entity-Ref-ID": "42"},
                "tags": [{"name": "category", "value": "welcome"}],
                "topic_id": topic,
                "unknown_field": "ignored",
            }),
        )
        .await;
    let id = id_of(&sent);
    assert_eq!(sent.body.as_object().unwrap().len(), 1, "{}", sent.body);

    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let e = &got.body;
    assert_eq!(e["object"], "email");
    assert_eq!(e["id"], id.as_str());
    assert_eq!(e["from"], "Acme <onboarding@resend.dev>");
    assert_eq!(e["to"], json!(["delivered@resend.dev"]));
    assert_eq!(e["cc"], json!(["Copy <delivered+cc@resend.dev>"]));
    assert_eq!(e["bcc"], Value::Null);
    assert_eq!(e["reply_to"], json!(["reply@example.com"]));
    assert_eq!(e["subject"], "Hello");
    assert_eq!(e["html"], "<p>Hi <strong>there</strong></p>");
    assert!(
        e["text"].as_str().unwrap().contains("Hi"),
        "text derived from html: {}",
        e["text"]
    );
    // The app's own workers may already have played the test recipients out.
    assert!(
        matches!(
            e["last_event"].as_str(),
            Some("queued" | "sent" | "delivered")
        ),
        "{}",
        e["last_event"]
    );
    assert_eq!(e["scheduled_at"], Value::Null);
    assert_eq!(e["tags"], json!([{"name": "category", "value": "welcome"}]));
    assert_eq!(e["topic_id"], topic);
    assert_eq!(e["message_id"], format!("<{id}@resend.dev>"));
    assert!(is_resend_timestamp(&e["created_at"]), "{}", e["created_at"]);

    // Committed with its first event and its job (whose worker may already have run).
    assert_eq!(event_types(&app, &id).await[0], "queued");
    let (kind, _, _) = job_of(&app, &id).await;
    assert_eq!(kind, herald::emails::SIMULATE_JOB);

    assert_error(
        &app.get("/emails/0190a5b4-0000-7000-8000-000000000000")
            .await,
        404,
        "not_found",
    );
    assert_error(&app.get("/emails/nope").await, 422, "invalid_parameter");
}

#[tokio::test]
async fn list_paginates_newest_first() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(id_of(
            &app.post("/emails", test_email("delivered@resend.dev"))
                .await,
        ));
    }
    ids.reverse(); // newest first
    let ids_in = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };

    let all = app.get("/emails").await;
    assert_eq!(all.body["object"], "list");
    assert_eq!(all.body["has_more"], false);
    assert_eq!(ids_in(&all), ids);
    let first = &all.body["data"][0];
    assert!(first.get("html").is_none() && first.get("text").is_none());
    // The app's own workers may already have played the test recipient out.
    assert!(
        matches!(
            first["last_event"].as_str(),
            Some("queued" | "sent" | "delivered")
        ),
        "{}",
        first["last_event"]
    );

    let page1 = app.get("/emails?limit=2").await;
    assert_eq!(ids_in(&page1), ids[0..2]);
    assert_eq!(page1.body["has_more"], true);
    let page2 = app.get(&format!("/emails?limit=2&after={}", ids[1])).await;
    assert_eq!(ids_in(&page2), ids[2..4]);
    assert_eq!(page2.body["has_more"], true);
    let page3 = app.get(&format!("/emails?limit=2&after={}", ids[3])).await;
    assert_eq!(ids_in(&page3), ids[4..5]);
    assert_eq!(page3.body["has_more"], false);
    let back = app.get(&format!("/emails?limit=2&before={}", ids[4])).await;
    assert_eq!(ids_in(&back), ids[2..4]);
    assert_eq!(back.body["has_more"], true);
    let back_top = app.get(&format!("/emails?limit=2&before={}", ids[2])).await;
    assert_eq!(ids_in(&back_top), ids[0..2]);
    assert_eq!(back_top.body["has_more"], false);

    assert_error(&app.get("/emails?limit=0").await, 422, "validation_error");
    assert_error(
        &app.get(&format!("/emails?after={}&before={}", ids[0], ids[1]))
            .await,
        422,
        "validation_error",
    );
}

#[tokio::test]
async fn every_field_is_validated() {
    let app = spawn_app().await;
    let base = test_email("delivered@resend.dev");
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (without("from"), 422, "missing_required_field"),
        (without("to"), 422, "missing_required_field"),
        (without("subject"), 422, "missing_required_field"),
        (without("html"), 422, "missing_required_field"),
        (
            with("from", json!("Acme onboarding")),
            422,
            "invalid_from_address",
        ),
        (with("to", json!("not-an-address")), 422, "validation_error"),
        (
            with("to", json!(vec!["delivered@resend.dev"; 51])),
            422,
            "validation_error",
        ),
        (
            with("cc", json!(["x@@example.com"])),
            422,
            "validation_error",
        ),
        (with("bcc", json!(7)), 422, "validation_error"),
        (with("reply_to", json!(["no"])), 422, "validation_error"),
        (
            with("subject", json!("two\nlines")),
            422,
            "validation_error",
        ),
        (with("html", json!(["x"])), 422, "validation_error"),
        (
            with("headers", json!({"Bad Name": "x"})),
            422,
            "validation_error",
        ),
        (
            with("headers", json!({"X-Inject": "a\r\nBcc: evil@example.com"})),
            422,
            "validation_error",
        ),
        (
            with("headers", json!({"Subject": "override"})),
            422,
            "validation_error",
        ),
        (
            with("tags", json!([{"name": "with space", "value": "x"}])),
            422,
            "validation_error",
        ),
        (
            with("tags", json!([{"name": "n", "value": "x".repeat(257)}])),
            422,
            "validation_error",
        ),
        (
            with("topic_id", json!("not-a-uuid")),
            422,
            "validation_error",
        ),
        (
            with("scheduled_at", json!("someday")),
            422,
            "validation_error",
        ),
        (
            with("scheduled_at", json!("2001-01-01T00:00:00Z")),
            422,
            "validation_error",
        ),
        (
            with("scheduled_at", json!("in 31 days")),
            422,
            "validation_error",
        ),
        (
            with("attachments", json!([{"filename": "a.txt"}])),
            422,
            "invalid_attachment",
        ),
        (
            with(
                "attachments",
                json!([{"content": "%%%", "filename": "a.txt"}]),
            ),
            422,
            "invalid_attachment",
        ),
        (
            with(
                "attachments",
                json!([{"content": "aGk=", "filename": "run.exe"}]),
            ),
            422,
            "invalid_attachment",
        ),
        (
            with(
                "attachments",
                json!([{"content": "aGk=", "content_id": "c".repeat(128)}]),
            ),
            422,
            "invalid_attachment",
        ),
        (json!([base.clone()]), 422, "validation_error"),
    ];
    for (body, status, name) in cases {
        let reply = app.post("/emails", body.clone()).await;
        assert_error(&reply, status, name);
        let message = reply.body["message"].as_str().unwrap();
        assert!(!message.is_empty(), "{body}");
    }
    // The message names the field.
    let reply = app.post("/emails", with("to", json!("nope"))).await;
    assert!(reply.body["message"].as_str().unwrap().contains("`to`"));
    let reply = app.post("/emails", without("subject")).await;
    assert_eq!(reply.body["message"], "Missing `subject` field.");

    // Bad JSON and an empty body.
    let raw = app
        .client
        .post(app.url("/emails"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{\"from\": ")
        .send()
        .await
        .unwrap();
    assert_error(&crate::helpers::read(raw).await, 400, "validation_error");
    let empty = app.call(Method::POST, "/emails", None).await;
    assert_error(&empty, 422, "missing_required_field");

    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM emails WHERE id <> $1", "").await,
        0
    );
}

#[tokio::test]
async fn idn_domains_are_stored_as_a_labels() {
    let app = spawn_app().await;
    add_domain(&app, "xn--bcher-kva.de", "verified").await;
    let id = id_of(
        &app.post(
            "/emails",
            json!({"from": "Bücher <shop@bücher.de>", "to": "Kunde <kunde@bücher.de>",
                   "subject": "Hallo", "text": "Grüße"}),
        )
        .await,
    );
    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.body["from"], "Bücher <shop@xn--bcher-kva.de>");
    assert_eq!(got.body["to"], json!(["Kunde <kunde@xn--bcher-kva.de>"]));
    assert_eq!(got.body["html"], Value::Null);
    assert_eq!(got.body["text"], "Grüße");
}

#[tokio::test]
async fn test_recipients_play_out_their_events() {
    let app = spawn_app().await;
    let cases = [
        (
            "delivered@resend.dev",
            vec!["queued", "sent", "delivered"],
            "delivered",
        ),
        (
            "delivered+label@resend.dev",
            vec!["queued", "sent", "delivered"],
            "delivered",
        ),
        (
            "bounced@resend.dev",
            vec!["queued", "sent", "bounced"],
            "bounced",
        ),
        (
            "complained+x@resend.dev",
            vec!["queued", "sent", "delivered", "complained"],
            "complained",
        ),
        (
            "suppressed@resend.dev",
            vec!["queued", "suppressed"],
            "suppressed",
        ),
    ];
    let mut ids = Vec::new();
    for (to, _, _) in &cases {
        ids.push(id_of(&app.post("/emails", test_email(to)).await));
    }
    settle(&app).await;
    for ((to, events, last), id) in cases.iter().zip(&ids) {
        assert_eq!(&event_types(&app, id).await, events, "{to}");
        let got = app.get(&format!("/emails/{id}")).await;
        assert_eq!(got.body["last_event"], *last, "{to}");
        assert_eq!(job_of(&app, id).await.1, "done");
    }
    let bounce: String = on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT data FROM email_events WHERE email_id = $1 AND type = 'bounced'"
    )
    .bind(&ids[2])
    .fetch_one(pool)
    .await
    .unwrap());
    let bounce: Value = serde_json::from_str(&bounce).unwrap();
    assert_eq!(bounce["bounce"]["type"], "Permanent");
    assert!(bounce["bounce"]["diagnosticCode"][0].is_string());
}

#[tokio::test]
async fn real_recipients_need_a_verified_domain() {
    let app = spawn_app().await;
    let email = json!({"from": "Me <me@example.com>", "to": "someone@example.org",
                       "subject": "Hi", "text": "Hello"});
    let refused = app.post("/emails", email.clone()).await;
    assert_error(&refused, 403, "validation_error");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("example.com domain is not verified")
    );
    // A test recipient among real ones does not lift the rule.
    let mut mixed = email.clone();
    mixed["to"] = json!(["delivered@resend.dev", "someone@example.org"]);
    assert_error(&app.post("/emails", mixed).await, 403, "validation_error");

    let domain = add_domain(&app, "example.com", "pending").await;
    assert_error(
        &app.post("/emails", email.clone()).await,
        403,
        "validation_error",
    );
    on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE domains SET status = 'verified' WHERE id = $1"
    )
    .bind(&domain)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
    let id = id_of(&app.post("/emails", email).await);
    let (kind, state, _) = job_of(&app, &id).await;
    assert_eq!(kind, herald::emails::DELIVER_JOB);
    assert!(state == "queued" || state == "running", "{state}");
    // What delivery then does is tested in delivery.rs.
}

#[tokio::test]
async fn sending_keys_send_only_and_only_from_their_domain() {
    let app = spawn_app().await;
    let domain = add_domain(&app, "mail.acme.dev", "verified").await;
    let created = app
        .post(
            "/api-keys",
            json!({"name": "sender", "permission": "sending_access", "domain_id": domain}),
        )
        .await;
    let token = created.body["token"].as_str().unwrap().to_string();
    let send = |body: Value| app.call_with_key(&token, Method::POST, "/emails", Some(body));

    let mut own = test_email("delivered@resend.dev");
    own["from"] = json!("Acme <hello@mail.acme.dev>");
    id_of(&send(own.clone()).await);
    let other = send(test_email("delivered@resend.dev")).await;
    assert_error(&other, 403, "validation_error");
    assert!(
        other.body["message"]
            .as_str()
            .unwrap()
            .contains("mail.acme.dev")
    );

    let batch = app
        .call_with_key(&token, Method::POST, "/emails/batch", Some(json!([own])))
        .await;
    assert_eq!(batch.status, 200, "{}", batch.body);
    for (method, path) in [
        (Method::GET, "/emails".to_string()),
        (
            Method::GET,
            format!("/emails/{}", batch.body["data"][0]["id"].as_str().unwrap()),
        ),
        (
            Method::POST,
            "/emails/0190a5b4-0000-7000-8000-000000000000/cancel".to_string(),
        ),
    ] {
        let reply = app.call_with_key(&token, method, &path, None).await;
        assert_error(&reply, 401, "restricted_api_key");
    }
}

/// On PostgreSQL large values are compressed with lz4 (migration 0151), not the default
/// pglz, which cost the server about as much CPU per 50 KB email as everything Herald does
/// to send it (docs/performance.md). Since migration 0152 an email's html and text are
/// compressed by Herald itself (zstd, `emails::body`, the same on SQLite) and stored in
/// `email_bodies`, which PostgreSQL does not compress again; so is the logged request,
/// which holds the same html (`request_logs.request_body_zstd`, migration 0153).
#[tokio::test]
async fn large_bodies_are_compressed_with_lz4_on_postgres() {
    let app = spawn_app().await;
    if !app.app.db().is_postgres() {
        return;
    }
    let paragraph = "<p>Our news this month, told at some length so that it compresses.</p>";
    let mut email = test_email("delivered@resend.dev");
    let html = paragraph.repeat(300);
    email["html"] = Value::from(html.as_str());
    let id = id_of(&app.post("/emails", email).await);
    let (stored, packed): (Option<String>, i32) = on_db!(app.app.db(), |pool| sqlx::query_as(
        "SELECT html, LENGTH(body_zstd) FROM emails JOIN email_bodies ON email_id = id \
         WHERE id = $1"
    )
    .bind(&id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(stored, None);
    assert!((packed as usize) < html.len() / 10, "{packed} bytes");
    // The logged request body is compressed by Herald too (zstd, migration 0153), stored
    // out of line without lz4 (tests/api/logs.rs reads it back).
    crate::logs::logs_when(&app, 1).await;
    let (text, method): (Option<String>, Option<String>) = on_db!(app.app.db(), |pool| {
        sqlx::query_as(
            "SELECT request_body, pg_column_compression(request_body_zstd)::text \
             FROM request_logs WHERE path = '/emails' AND method = 'POST'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    });
    assert_eq!(text, None);
    assert_eq!(method, None);
}
