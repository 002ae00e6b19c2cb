//! Request logs: `GET /logs`, `GET /logs/{id}` (bodies with secrets redacted, attachment
//! contents omitted, big bodies cut), the `[logs]` switch and the retention purge.

use std::sync::Arc;
use std::time::Duration;

use herald::clock::Clock;
use herald::clock::{ManualClock, SystemClock};
use herald::on_db;
use serde_json::{Value, json};

use crate::emails::test_email;
use crate::helpers::{Options, TestApp, assert_error, spawn_app, spawn_app_with};

/// Waits until the writer has stored at least `n` logs (it writes in batches, off the
/// request's path), then returns the first page of the list (up to 100).
pub async fn logs_when(app: &TestApp, n: usize) -> Vec<Value> {
    for _ in 0..500 {
        let listed = app.get("/logs?limit=100").await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        let data = listed.body["data"].as_array().unwrap().clone();
        if data.len() >= n {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("fewer than {n} request logs were stored");
}

/// The log of the first listed request with this method and endpoint.
async fn log_of(app: &TestApp, logs: &[Value], method: &str, endpoint: &str) -> Value {
    let item = logs
        .iter()
        .find(|l| l["method"] == method && l["endpoint"] == endpoint)
        .unwrap_or_else(|| panic!("no log of {method} {endpoint} in {logs:?}"));
    let id = item["id"].as_str().unwrap();
    let got = app.get(&format!("/logs/{id}")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.body
}

#[tokio::test]
async fn list_and_get_with_redacted_bodies() {
    let app = spawn_app().await;
    let key = app.post("/api-keys", json!({"name": "ci"})).await;
    assert_eq!(key.status, 201);
    let token = key.body["token"].as_str().unwrap().to_string();
    let mut email = test_email("delivered@resend.dev");
    email["attachments"] = json!([{"filename": "a.txt", "content": "aGVsbG8gd29ybGQ="}]);
    let sent = app.post("/emails", email).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let hook = app
        .post(
            "/webhooks",
            json!({"endpoint": "https://example.com/hook", "events": ["email.sent"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    assert_error(
        &app.get("/domains/not-a-uuid").await,
        422,
        "invalid_parameter",
    );

    let logs = logs_when(&app, 4).await;
    // Newest first, Resend's summary fields only.
    let first = logs.last().unwrap();
    assert_eq!(first["method"], "POST");
    assert_eq!(first["endpoint"], "/api-keys");
    assert_eq!(first["response_status"], 201);
    assert!(first["user_agent"].is_null() || first["user_agent"].is_string());
    let mut fields: Vec<_> = first.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "created_at",
            "endpoint",
            "id",
            "method",
            "response_status",
            "user_agent"
        ]
    );
    assert!(first["created_at"].as_str().unwrap().ends_with("+00"));

    // The API key's token never reaches the log.
    let created = log_of(&app, &logs, "POST", "/api-keys").await;
    assert_eq!(created["object"], "log");
    assert_eq!(created["request_body"], json!({"name": "ci"}));
    assert_eq!(created["response_body"]["token"], "[redacted]");
    assert_eq!(created["response_body"]["id"], key.body["id"]);
    assert!(!created.to_string().contains(&token));

    // Attachment contents are replaced by their size; the rest of the email is kept.
    let email = log_of(&app, &logs, "POST", "/emails").await;
    assert_eq!(email["request_body"]["subject"], "Hello");
    assert_eq!(
        email["request_body"]["attachments"][0]["content"],
        "[attachment content of 16 bytes omitted]"
    );
    assert_eq!(email["response_body"]["id"], sent.body["id"]);

    // Webhook signing secrets are redacted.
    let webhook = log_of(&app, &logs, "POST", "/webhooks").await;
    assert_eq!(webhook["response_body"]["signing_secret"], "[redacted]");
    let secret = hook.body["signing_secret"].as_str().unwrap();
    assert!(!webhook.to_string().contains(secret));

    // Errors are logged with their body.
    let error = log_of(&app, &logs, "GET", "/domains/not-a-uuid").await;
    assert_eq!(error["response_status"], 422);
    assert_eq!(error["response_body"]["name"], "invalid_parameter");
    assert!(error["request_body"].is_null());

    // Cursor pages.
    let page = app.get("/logs?limit=2").await;
    assert_eq!(page.body["has_more"], true);
    let last = page.body["data"][1]["id"].as_str().unwrap().to_string();
    let next = app.get(&format!("/logs?limit=2&after={last}")).await;
    assert_eq!(next.status, 200);
    assert_ne!(next.body["data"][0]["id"], page.body["data"][0]["id"]);
    assert_ne!(next.body["data"][0]["id"], last);
    let back = app
        .get(&format!(
            "/logs?limit=1&before={}",
            next.body["data"][0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(back.body["data"][0]["id"], last);

    assert_error(
        &app.get("/logs/00000000-0000-7000-8000-000000000000").await,
        404,
        "not_found",
    );
    assert_error(&app.get("/logs/nope").await, 422, "invalid_parameter");
    assert_error(&app.get("/logs?limit=0").await, 422, "validation_error");
}

#[tokio::test]
async fn big_bodies_are_cut_with_a_marker() {
    let app = spawn_app().await;
    let mut email = test_email("delivered@resend.dev");
    email["html"] = json!(format!("<p>{}</p>", "x".repeat(100_000)));
    let sent = app.post("/emails", email).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let logs = logs_when(&app, 1).await;
    let log = log_of(&app, &logs, "POST", "/emails").await;
    let body = log["request_body"].as_str().expect("a cut body is text");
    assert!(body.len() <= 64 * 1024 + 100, "{}", body.len());
    assert!(body.starts_with("{\"from\""), "{}", &body[..40]);
    assert!(
        body.contains("[truncated: "),
        "{}",
        &body[body.len() - 80..]
    );
    // The response is whole.
    assert_eq!(log["response_body"]["id"], sent.body["id"]);
}

/// A single 50 KB send's logged body is stored zstd-compressed (its html compresses like the
/// email's own copy), `GET /logs/{id}` gives it back unchanged, and a row stored before, with
/// the body as text, still reads.
#[tokio::test]
async fn request_bodies_are_stored_compressed_and_read_back_unchanged() {
    let app = spawn_app().await;
    let mut email = test_email("delivered@resend.dev");
    let html = "<p>Our news this month, told at some length so that it compresses.</p>".repeat(700);
    email["html"] = json!(html);
    let sent = app.post("/emails", email.clone()).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let logs = logs_when(&app, 1).await;
    let log = log_of(&app, &logs, "POST", "/emails").await;
    assert_eq!(log["request_body"], email);
    assert_eq!(log["response_body"]["id"], sent.body["id"]);

    let (id, team_id, text, packed): (String, String, Option<String>, Option<Vec<u8>>) =
        on_db!(app.app.db(), |pool| sqlx::query_as(
            "SELECT id, team_id, request_body, request_body_zstd FROM request_logs \
             WHERE path = '/emails' AND method = 'POST'"
        )
        .fetch_one(pool)
        .await
        .unwrap());
    assert_eq!(text, None);
    let packed = packed.expect("stored compressed");
    assert!(packed.len() < html.len() / 10, "{} bytes", packed.len());

    // A small body stays text.
    assert_eq!(app.get("/domains").await.status, 200);
    let _ = app.post("/domains", json!({"name": "x"})).await;
    let small: (Option<String>, Option<Vec<u8>>) = on_db!(app.app.db(), |pool| {
        let mut found = None;
        for _ in 0..500 {
            found = sqlx::query_as(
                "SELECT request_body, request_body_zstd FROM request_logs \
                 WHERE path = '/domains' AND method = 'POST'",
            )
            .fetch_optional(pool)
            .await
            .unwrap();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        found.expect("the small request's log")
    });
    assert_eq!(small, (Some("{\"name\":\"x\"}".to_string()), None));

    // A row stored before migration 0153: its body as text.
    let old_id = herald::store::new_id();
    assert_ne!(old_id, id);
    let body = json!({"to": "a@b.c", "html": html}).to_string();
    on_db!(app.app.db(), |pool| sqlx::query(
        "INSERT INTO request_logs (id, team_id, method, path, status, duration_us, created_at, \
         request_body, response_body) VALUES ($1, $2, 'POST', '/emails', 200, 1, 1, $3, '{}')"
    )
    .bind(&old_id)
    .bind(&team_id)
    .bind(&body)
    .execute(pool)
    .await
    .map(|_| ())
    .unwrap());
    let old = app.get(&format!("/logs/{old_id}")).await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(old.body["request_body"]["html"], json!(html));
}

#[tokio::test]
async fn logging_off_keeps_only_key_usage() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|s| s.logs.enabled = false)),
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/domains").await.status, 200);
    }
    // The key's request count still moves (the same writer), but nothing is listed.
    let mut count = 0;
    for _ in 0..500 {
        count = crate::emails::scalar(
            &app,
            "SELECT request_count FROM api_keys WHERE name = $1",
            "Default key",
        )
        .await;
        if count >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(count >= 3, "{count}");
    assert_eq!(app.get("/logs").await.body["data"], json!([]));
}

#[tokio::test]
async fn old_logs_are_purged() {
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let app = spawn_app_with(Options {
        clock: Some(clock.clone()),
        configure: Some(Box::new(|s| s.logs.keep_days = 2)),
        ..Options::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(app.get("/domains").await.status, 200);
    }
    logs_when(&app, 5).await;
    clock.advance(86_400_000);
    assert_eq!(herald::logs::purge(&app.app, 2).await.unwrap(), 0);
    clock.advance(86_400_000 + 1);
    // Deleted in batches of 2; the newer logs (the list calls above) stay.
    let deleted = herald::logs::purge(&app.app, 2).await.unwrap();
    assert!(deleted >= 5, "{deleted}");
    let left = app.get("/logs?limit=100").await;
    assert!(
        left.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["endpoint"] == "/logs"),
        "{}",
        left.body
    );
}

/// The ids of the log rows, in page order.
fn log_ids(html: &str) -> Vec<String> {
    html.split("<tr id=\"log-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn dashboard_lists_filters_and_shows_bodies() {
    let app = spawn_app().await;
    let (visitor, _) = crate::dashboard::sign_in_admin(&app).await;
    let empty = visitor.get("/dashboard/logs").await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No requests yet"), "{}", empty.html);
    assert!(
        empty
            .html
            .contains("href=\"/dashboard/logs\" aria-current=\"page\"")
    );

    let second = app.post("/api-keys", json!({"name": "second"})).await;
    let second_id = second.body["id"].as_str().unwrap().to_string();
    let token = second.body["token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        let r = app
            .call_with_key(&token, reqwest::Method::GET, "/domains", None)
            .await;
        assert_eq!(r.status, 200);
    }
    assert_error(&app.get("/emails/nope").await, 422, "invalid_parameter");
    assert_eq!(
        app.post("/emails", test_email("delivered@resend.dev"))
            .await
            .status,
        200
    );
    logs_when(&app, 6).await;

    let all = visitor.get("/dashboard/logs").await;
    // 6 requests, plus the GET /logs calls of logs_when.
    assert!(log_ids(&all.html).len() >= 6);
    for label in [
        "API key",
        "Status",
        "Method",
        "Endpoint",
        "From date",
        "To date",
    ] {
        assert!(all.html.contains(label), "{label}");
    }

    let by_key = visitor
        .get(&format!("/dashboard/logs?key={second_id}"))
        .await;
    assert_eq!(log_ids(&by_key.html).len(), 3, "{}", by_key.html);
    assert!(by_key.html.contains("second"));

    let errors = visitor.get("/dashboard/logs?status=4xx").await;
    let ids = log_ids(&errors.html);
    assert_eq!(ids.len(), 1);
    assert!(errors.html.contains("/emails/nope"));

    let posts = visitor
        .get("/dashboard/logs?method=POST&endpoint=/emails")
        .await;
    assert_eq!(log_ids(&posts.html).len(), 1, "{}", posts.html);
    let today = jiff::Timestamp::from_millisecond(app.app.now_ms())
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    let dated = visitor
        .get(&format!(
            "/dashboard/logs?since={today}&until={today}&endpoint=domains"
        ))
        .await;
    assert_eq!(log_ids(&dated.html).len(), 3);
    let none = visitor
        .get("/dashboard/logs?since=2001-01-01&until=2001-01-02")
        .await;
    assert!(none.html.contains("No requests match"));
    let bad = visitor.get("/dashboard/logs?since=yesterday").await;
    assert!(bad.html.contains("Dates must be written YYYY-MM-DD."));

    // A log's page: both bodies, pretty-printed, the token redacted.
    let created = visitor.get("/dashboard/logs?endpoint=/api-keys").await;
    let id = &log_ids(&created.html)[0];
    let page = visitor.get(&format!("/dashboard/logs/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("id=\"request-body\""));
    assert!(
        page.html
            .contains("{\n  &#34;name&#34;: &#34;second&#34;\n}"),
        "{}",
        page.html
    );
    assert!(page.html.contains("&#34;token&#34;: &#34;[redacted]&#34;"));
    assert!(!page.html.contains(&token));
    assert_eq!(
        visitor
            .get("/dashboard/logs/00000000-0000-7000-8000-000000000000")
            .await
            .status,
        404
    );

    // Keyset pages of 50.
    for _ in 0..50 {
        app.get("/domains").await;
    }
    logs_when(&app, 60).await;
    let first = visitor.get("/dashboard/logs").await;
    assert_eq!(log_ids(&first.html).len(), 50);
    assert!(first.html.contains("id=\"older\""));
    let older_at = first.html.find("id=\"older\"").unwrap();
    let href_start = first.html[..older_at].rfind("href=\"").unwrap() + 6;
    let href = &first.html[href_start..href_start + first.html[href_start..].find('"').unwrap()];
    let next = visitor.get(&href.replace("&#38;", "&")).await;
    let next_ids = log_ids(&next.html);
    assert!(!next_ids.is_empty());
    assert!(next_ids.iter().all(|id| !log_ids(&first.html).contains(id)));
    assert!(next.html.contains("id=\"newer\""));

    // The API Keys page links each key's request count to its logs.
    let keys = visitor.get("/dashboard/api-keys").await;
    assert!(
        keys.html
            .contains(&format!("href=\"/dashboard/logs?key={second_id}\""))
    );
}
