//! `POST /emails/batch` (strict and permissive validation, attachments) and the
//! `Idempotency-Key` rules on both send routes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::emails::{id_of, scalar, test_email};
use crate::emails_attachments::file_server;
use crate::helpers::{Reply, TestApp, assert_error, read, spawn_app};

async fn batch(app: &TestApp, body: Value, mode: Option<&str>) -> Reply {
    let mut req = app
        .client
        .post(app.url("/emails/batch"))
        .bearer_auth(&app.key)
        .json(&body);
    if let Some(mode) = mode {
        req = req.header("x-batch-validation", mode);
    }
    read(req.send().await.unwrap()).await
}

async fn with_key(app: &TestApp, path: &str, key: &str, body: &str) -> Reply {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.key)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    read(resp).await
}

async fn email_count(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM emails WHERE id <> $1", "").await
}

#[tokio::test]
async fn strict_and_permissive_batches() {
    let app = spawn_app().await;
    let good = test_email("delivered@resend.dev");
    let mut bad = test_email("delivered@resend.dev");
    bad["to"] = json!("nope");
    let mut with_attachment = test_email("bounced@resend.dev");
    with_attachment["attachments"] = json!([{"filename": "a.txt", "content": "aGk="}]);
    with_attachment["scheduled_at"] = json!("in 1 hour");

    // Strict (the default): the first invalid email fails the whole batch.
    for mode in [None, Some("strict")] {
        let reply = batch(&app, json!([good, bad, good]), mode).await;
        assert_error(&reply, 422, "validation_error");
        assert!(reply.body["message"].as_str().unwrap().contains("index 1"));
    }
    assert_eq!(email_count(&app).await, 0);

    let ok = batch(&app, json!([good, with_attachment]), None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        ok.body.as_object().unwrap().len(),
        1,
        "no errors in strict mode"
    );
    let ids: Vec<String> = ok.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let second = app.get(&format!("/emails/{}", ids[1])).await;
    assert_eq!(second.body["last_event"], "scheduled");
    let attachments = app.get(&format!("/emails/{}/attachments", ids[1])).await;
    assert_eq!(attachments.body["data"][0]["filename"], "a.txt");

    // Permissive: valid ones go, invalid ones are listed by index.
    let mut unverified = test_email("someone@example.org");
    unverified["from"] = json!("me@example.com");
    let reply = batch(
        &app,
        json!([bad, good, unverified, good]),
        Some("permissive"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"].as_array().unwrap().len(), 2);
    let errors = reply.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["index"], 0);
    assert!(errors[0]["message"].as_str().unwrap().contains("`to`"));
    assert_eq!(errors[1]["index"], 2);
    assert!(
        errors[1]["message"]
            .as_str()
            .unwrap()
            .contains("not verified")
    );
    assert_eq!(email_count(&app).await, 4);

    // All invalid in permissive mode: nothing stored, every error listed.
    let none = batch(&app, json!([bad]), Some("permissive")).await;
    assert_eq!(none.body["data"], json!([]));
    assert_eq!(none.body["errors"][0]["index"], 0);

    // Shape errors.
    assert_error(
        &batch(&app, json!(good), None).await,
        422,
        "validation_error",
    );
    assert_error(&batch(&app, json!([]), None).await, 422, "validation_error");
    assert_error(
        &batch(&app, Value::Array(vec![good.clone(); 101]), None).await,
        422,
        "validation_error",
    );
    assert_error(
        &batch(&app, json!([good]), Some("lenient")).await,
        422,
        "validation_error",
    );
    assert_eq!(email_count(&app).await, 4);
}

#[tokio::test]
async fn idempotency_keys() {
    let app = spawn_app().await;
    let body = r#"{"from": "onboarding@resend.dev", "to": "delivered@resend.dev", "subject": "Hi", "text": "once"}"#;
    let reordered = r#"{"text": "once", "subject": "Hi",
        "to": "delivered@resend.dev", "from": "onboarding@resend.dev"}"#;
    let changed = r#"{"from": "onboarding@resend.dev", "to": "delivered@resend.dev", "subject": "Hi", "text": "twice"}"#;

    let first = with_key(&app, "/emails", "order-1", body).await;
    let id = id_of(&first);
    // Same payload (key order and spacing do not matter): the same answer, nothing new.
    let again = with_key(&app, "/emails", "order-1", reordered).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(email_count(&app).await, 1);
    // Different payload with the same key.
    assert_error(
        &with_key(&app, "/emails", "order-1", changed).await,
        409,
        "invalid_idempotent_request",
    );
    // The same key on the batch route is a different request.
    assert_error(
        &with_key(&app, "/emails/batch", "order-1", &format!("[{body}]")).await,
        409,
        "invalid_idempotent_request",
    );
    // Keys are 1-256 characters.
    assert_error(
        &with_key(&app, "/emails", &"k".repeat(257), body).await,
        400,
        "invalid_idempotency_key",
    );
    assert_eq!(
        id_of(&with_key(&app, "/emails", &"k".repeat(256), body).await).len(),
        36
    );

    // A request that failed validation does not use up its key.
    let invalid =
        r#"{"from": "onboarding@resend.dev", "to": "nope", "subject": "Hi", "text": "x"}"#;
    assert_error(
        &with_key(&app, "/emails", "retry-me", invalid).await,
        422,
        "validation_error",
    );
    let fixed = with_key(&app, "/emails", "retry-me", changed).await;
    let fixed_id = id_of(&fixed);
    assert_ne!(fixed_id, id);

    // Batches replay their whole answer.
    let batch_body = format!("[{body}, {changed}]");
    let b1 = with_key(&app, "/emails/batch", "batch-1", &batch_body).await;
    assert_eq!(b1.status, 200, "{}", b1.body);
    let b2 = with_key(&app, "/emails/batch", "batch-1", &batch_body).await;
    assert_eq!(b1.body, b2.body);
    assert_eq!(email_count(&app).await, 5);

    // Keys are per team: another team's key with the same name is independent. (Herald
    // has one team per installation for now, so this is checked on the key table.)
    let stored = scalar(
        &app,
        "SELECT COUNT(*) FROM idempotency_keys WHERE key = $1 AND response_status = 200",
        "order-1",
    )
    .await;
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_key_in_flight_is_409_until_it_finishes() {
    let app = spawn_app().await;
    let files = file_server().await;
    let mut email = test_email("delivered@resend.dev");
    email["attachments"] = json!([{ "path": format!("{}/slow.txt", files.base) }]);
    let body = email.to_string();

    let first = {
        let client = app.client.clone();
        let url = app.url("/emails");
        let key = app.key.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(key)
                .header("idempotency-key", "slow-1")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            read(resp).await
        })
    };
    // The first request is now fetching its attachment, holding the key.
    files.arrived.notified().await;
    assert_error(
        &with_key(&app, "/emails", "slow-1", &body).await,
        409,
        "concurrent_idempotent_requests",
    );
    files.release.notify_one();
    let first = first.await.unwrap();
    let id = id_of(&first);
    // Afterwards the same request is answered from the stored response.
    let replay = with_key(&app, "/emails", "slow-1", &body).await;
    assert_eq!(replay.body["id"], id.as_str());
    let attachments = app
        .call(Method::GET, &format!("/emails/{id}/attachments"), None)
        .await;
    assert_eq!(attachments.body["data"][0]["filename"], "slow.txt");
    assert_eq!(attachments.body["data"][0]["size"], 12);
}
