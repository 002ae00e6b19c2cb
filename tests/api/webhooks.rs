//! `/webhooks`: CRUD and validation, and deliveries received by a real HTTP server in the
//! test: Resend's payload shapes for every test-recipient outcome, signatures checked with an
//! independent Standard Webhooks implementation (the `standardwebhooks` crate, fed the
//! `svix-*` headers under the `webhook-*` names exactly as Resend's Node SDK does), retries on
//! Resend's schedule under a manual clock, disabling and deleting, and the SSRF guard.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use herald::clock::{Clock, ManualClock, SystemClock, resend_timestamp};
use herald::on_db;
use herald::webhooks::delivery::RETRY_DELAYS_MS;
use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{Value, json};

use crate::emails::{settle, test_email};
use crate::helpers::{Options, TestApp, assert_error, spawn_app, spawn_app_with};

/// Guards against hangs only; nothing here asserts on time.
const PATIENCE: Duration = Duration::from_secs(30);

const ALL_EMAIL_EVENTS: [&str; 10] = [
    "email.sent",
    "email.delivered",
    "email.delivery_delayed",
    "email.bounced",
    "email.complained",
    "email.opened",
    "email.clicked",
    "email.failed",
    "email.scheduled",
    "email.suppressed",
];

/// A request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
    pub fn header(&self, name: &str) -> String {
        self.headers[name].to_str().unwrap().to_string()
    }
}

#[derive(Default)]
struct Script {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer with, in order; then 200.
    statuses: Mutex<VecDeque<u16>>,
}

/// A webhook endpoint on 127.0.0.1: records every request, answers as scripted.
pub struct Receiver {
    pub url: String,
    script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

async fn hook(State(script): State<Arc<Script>>, headers: HeaderMap, body: String) -> StatusCode {
    script.received.lock().push(Received { headers, body });
    let status = script.statuses.lock().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let script = Arc::new(Script::default());
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Receiver { url, script, task }
    }

    /// The next requests get these statuses, in order; later ones get 200.
    pub fn answer_with(&self, statuses: &[u16]) {
        self.script.statuses.lock().extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.received.lock().clone()
    }

    /// Waits until at least `n` requests came in; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the receiver got {} requests, expected {n}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Checks a delivery's signature with the `standardwebhooks` crate, mapping `svix-*` onto
/// `webhook-*` as Resend's Node SDK does; a changed body must fail.
pub fn verify_with_oracle(secret: &str, received: &Received) {
    let oracle = standardwebhooks::Webhook::new(secret).expect("secret decodes");
    let mut headers = HeaderMap::new();
    for name in ["id", "timestamp", "signature"] {
        let svix = received.headers[format!("svix-{name}").as_str()].clone();
        assert_eq!(
            received.headers[format!("webhook-{name}").as_str()],
            svix,
            "webhook-{name} and svix-{name} differ"
        );
        headers.insert(
            axum::http::HeaderName::from_bytes(format!("webhook-{name}").as_bytes()).unwrap(),
            svix,
        );
    }
    oracle
        .verify(received.body.as_bytes(), &headers)
        .expect("the signature verifies");
    let tampered = received.body.replacen('{', "{ ", 1);
    assert!(oracle.verify(tampered.as_bytes(), &headers).is_err());
}

/// Creates a webhook; returns (id, signing secret).
pub async fn create_webhook(app: &TestApp, endpoint: &str, events: &[&str]) -> (String, String) {
    let reply = app
        .post(
            "/webhooks",
            json!({ "endpoint": endpoint, "events": events }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (
        reply.body["id"].as_str().unwrap().to_string(),
        reply.body["signing_secret"].as_str().unwrap().to_string(),
    )
}

/// Plays out test recipients, then runs the fan-out now instead of waiting for its ticker.
pub async fn fan_out(app: &TestApp) {
    settle(app).await;
    herald::webhooks::scan::arm(&app.app).await.unwrap();
    app.run_pending_jobs().await;
}

/// A webhook's recorded attempts, newest first, once there are at least `n`.
pub async fn attempts(app: &TestApp, webhook_id: &str, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let reply = app
            .get(&format!("/webhooks/{webhook_id}/deliveries?limit=100"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let data = reply.body["data"].as_array().unwrap().clone();
        if data.len() >= n {
            return data;
        }
        if tokio::time::Instant::now() >= deadline {
            let jobs: Vec<(String, String, Option<String>)> = on_db!(app.app.db(), |pool| {
                sqlx::query_as(
                    "SELECT kind, state, last_error FROM jobs WHERE kind LIKE 'webhook%'",
                )
                .fetch_all(pool)
                .await
                .unwrap()
            });
            panic!(
                "{} attempts recorded, expected {n}; jobs: {jobs:?}",
                data.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A manual clock that starts at the real time, so SDK verifiers (300 s tolerance) accept.
fn clock_at_real_time() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemClock.now_ms()))
}

#[tokio::test]
async fn create_get_list_update_delete() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/webhooks",
            json!({"endpoint": "https://hooks.example.com/resend", "events": ["email.sent", "email.bounced"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["object"], "webhook");
    let id = created.body["id"].as_str().unwrap().to_string();
    let secret = created.body["signing_secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(standardwebhooks::Webhook::new(&secret).is_ok());

    let got = app.get(&format!("/webhooks/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["object"], "webhook");
    assert_eq!(got.body["id"], id);
    assert_eq!(got.body["endpoint"], "https://hooks.example.com/resend");
    assert_eq!(got.body["events"], json!(["email.sent", "email.bounced"]));
    assert_eq!(got.body["status"], "enabled");
    assert_eq!(got.body["signing_secret"], secret);
    let created_at = got.body["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with("+00") && created_at.contains(' '),
        "{created_at}"
    );

    let listed = app.get("/webhooks").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["has_more"], false);
    let item = &listed.body["data"][0];
    assert_eq!(item["id"], id);
    assert!(item.get("signing_secret").is_none(), "{item}");
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "endpoint", "events", "id", "status"]);

    // The Python SDK sends the id in the body too.
    let updated = app
        .patch(
            &format!("/webhooks/{id}"),
            json!({"webhook_id": id, "endpoint": "https://hooks.example.com/v2", "events": ["email.delivered"], "status": "disabled"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body, json!({"object": "webhook", "id": id}));
    let got = app.get(&format!("/webhooks/{id}")).await;
    assert_eq!(got.body["endpoint"], "https://hooks.example.com/v2");
    assert_eq!(got.body["events"], json!(["email.delivered"]));
    assert_eq!(got.body["status"], "disabled");
    assert_eq!(got.body["signing_secret"], secret);
    // A partial update leaves the rest alone.
    let updated = app
        .patch(&format!("/webhooks/{id}"), json!({"status": "enabled"}))
        .await;
    assert_eq!(updated.status, 200);
    let got = app.get(&format!("/webhooks/{id}")).await;
    assert_eq!(got.body["status"], "enabled");
    assert_eq!(got.body["events"], json!(["email.delivered"]));

    let deleted = app.delete(&format!("/webhooks/{id}")).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"object": "webhook", "id": id, "deleted": true})
    );
    assert_error(&app.get(&format!("/webhooks/{id}")).await, 404, "not_found");
    assert_error(
        &app.delete(&format!("/webhooks/{id}")).await,
        404,
        "not_found",
    );
    assert_eq!(app.get("/webhooks").await.body["data"], json!([]));
}

#[tokio::test]
async fn validation_errors() {
    let app = spawn_app().await;
    let ok_events = json!(["email.sent"]);
    let cases = [
        (json!({"events": ok_events}), 422, "missing_required_field"),
        (
            json!({"endpoint": "https://x.example.com/h"}),
            422,
            "missing_required_field",
        ),
        (json!({}), 422, "missing_required_field"),
        (
            json!({"endpoint": "not a url", "events": ok_events}),
            422,
            "validation_error",
        ),
        (
            json!({"endpoint": "ftp://x.example.com/h", "events": ok_events}),
            422,
            "validation_error",
        ),
        (
            json!({"endpoint": "https://x.example.com/h", "events": []}),
            422,
            "validation_error",
        ),
        (
            json!({"endpoint": "https://x.example.com/h", "events": ["email.sent", "email.exploded"]}),
            422,
            "validation_error",
        ),
        (
            json!({"endpoint": "https://x.example.com/h", "events": "email.sent"}),
            422,
            "validation_error",
        ),
    ];
    for (body, status, name) in cases {
        let reply = app.post("/webhooks", body.clone()).await;
        assert_error(&reply, status, name);
    }
    let (id, _) = create_webhook(&app, "https://x.example.com/h", &["email.sent"]).await;
    let path = format!("/webhooks/{id}");
    for (body, name) in [
        (json!({"status": "paused"}), "validation_error"),
        (json!({"events": []}), "validation_error"),
        (json!({"events": ["nope"]}), "validation_error"),
        (json!({"endpoint": "mailto:a@b.c"}), "validation_error"),
        (json!({"endpoint": ""}), "missing_required_field"),
    ] {
        assert_error(&app.patch(&path, body).await, 422, name);
    }
    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let body = (method == Method::PATCH).then(|| json!({"status": "disabled"}));
        let reply = app
            .call(
                method.clone(),
                &format!("/webhooks/{unknown}"),
                body.clone(),
            )
            .await;
        assert_error(&reply, 404, "not_found");
        let reply = app.call(method, "/webhooks/not-a-uuid", body).await;
        assert_error(&reply, 422, "invalid_parameter");
    }
    assert_error(
        &app.get(&format!("/webhooks/{unknown}/deliveries")).await,
        404,
        "not_found",
    );
    assert_error(&app.get("/webhooks?limit=0").await, 422, "validation_error");
}

#[tokio::test]
async fn lists_page_newest_first() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (id, _) =
            create_webhook(&app, &format!("https://x.example.com/{i}"), &["email.sent"]).await;
        ids.push(id);
    }
    let first = app.get("/webhooks?limit=2").await;
    assert_eq!(first.body["has_more"], true);
    assert_eq!(first.body["data"][0]["id"], ids[2]);
    assert_eq!(first.body["data"][1]["id"], ids[1]);
    let next = app
        .get(&format!("/webhooks?limit=2&after={}", ids[1]))
        .await;
    assert_eq!(next.body["has_more"], false);
    assert_eq!(next.body["data"][0]["id"], ids[0]);
}

#[tokio::test]
async fn every_outcome_is_delivered_signed_in_resends_shape() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let (webhook_id, secret) = create_webhook(&app, &receiver.url, &ALL_EMAIL_EVENTS).await;

    let mut email = test_email("x");
    email["to"] = json!([
        "delivered@resend.dev",
        "bounced@resend.dev",
        "complained@resend.dev",
        "suppressed@resend.dev"
    ]);
    email["tags"] = json!([{"name": "category", "value": "welcome"}]);
    email["headers"] = json!({"X-Entity-Ref-ID": "ref-42"});
    let sent = app.post("/emails", email).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let email_id = sent.body["id"].as_str().unwrap().to_string();
    let mut later = test_email("Later <delivered@resend.dev>");
    later["scheduled_at"] = json!("in 1 hour");
    let scheduled = app.post("/emails", later).await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.body);
    let scheduled_id = scheduled.body["id"].as_str().unwrap().to_string();

    // sent+delivered, sent+bounced, sent+delivered+complained, suppressed; and scheduled.
    fan_out(&app).await;
    let received = receiver.wait_for(9).await;
    assert_eq!(received.len(), 9);

    let iso = |v: &Value| {
        let s = v.as_str().unwrap_or_default();
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T'
    };
    let mut seen = Vec::new();
    let mut message_ids = Vec::new();
    for delivery in &received {
        verify_with_oracle(&secret, delivery);
        assert_eq!(delivery.header("content-type"), "application/json");
        message_ids.push(delivery.header("svix-id"));
        let body = delivery.json();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(keys, ["created_at", "data", "type"], "{body}");
        assert!(iso(&body["created_at"]), "{body}");
        let data = &body["data"];
        let kind = body["type"].as_str().unwrap().to_string();
        assert!(iso(&data["created_at"]), "{body}");
        assert_eq!(data["from"], "Acme <onboarding@resend.dev>");
        assert_eq!(data["subject"], "Hello");
        if kind == "email.scheduled" {
            assert_eq!(data["email_id"], scheduled_id);
            assert_eq!(data["to"], json!(["delivered@resend.dev"]));
            assert_eq!(data["tags"], json!({}));
            assert!(data.get("headers").is_none(), "{body}");
            seen.push((kind, String::new()));
            continue;
        }
        assert_eq!(data["email_id"], email_id);
        assert_eq!(data["tags"], json!({"category": "welcome"}));
        assert_eq!(
            data["headers"],
            json!([{"name": "X-Entity-Ref-ID", "value": "ref-42"}])
        );
        let to = data["to"].as_array().unwrap();
        assert_eq!(to.len(), 1, "{body}");
        let recipient = to[0].as_str().unwrap().to_string();
        match kind.as_str() {
            "email.bounced" => {
                let bounce = &data["bounce"];
                assert_eq!(bounce["type"], "Permanent");
                assert_eq!(bounce["subType"], "General");
                assert!(bounce["message"].is_string());
                assert!(bounce["diagnosticCode"].is_array());
            }
            "email.suppressed" => {
                let suppressed = &data["suppressed"];
                assert_eq!(suppressed["type"], "OnAccountSuppressionList");
                assert_eq!(suppressed["reason"], "previous_bounce");
                assert!(suppressed["message"].is_string());
                assert!(suppressed["diagnosticCode"].is_array());
            }
            _ => {
                for key in ["bounce", "suppressed", "click", "failed"] {
                    assert!(data.get(key).is_none(), "{body}");
                }
            }
        }
        seen.push((kind, recipient));
    }
    seen.sort();
    let mut expected: Vec<(String, String)> = [
        ("email.sent", "delivered"),
        ("email.delivered", "delivered"),
        ("email.sent", "bounced"),
        ("email.bounced", "bounced"),
        ("email.sent", "complained"),
        ("email.delivered", "complained"),
        ("email.complained", "complained"),
        ("email.suppressed", "suppressed"),
    ]
    .iter()
    .map(|(k, r)| (k.to_string(), format!("{r}@resend.dev")))
    .chain([("email.scheduled".to_string(), String::new())])
    .collect();
    expected.sort();
    assert_eq!(seen, expected);
    message_ids.sort();
    message_ids.dedup();
    assert_eq!(message_ids.len(), 9, "one message id per event");

    let recorded = attempts(&app, &webhook_id, 9).await;
    assert_eq!(recorded.len(), 9);
    for attempt in &recorded {
        assert_eq!(attempt["attempt"], 1);
        assert_eq!(attempt["status_code"], 200);
        assert_eq!(attempt["error"], Value::Null);
        assert_eq!(attempt["next_attempt_at"], Value::Null);
        assert!(message_ids.contains(&attempt["message_id"].as_str().unwrap().to_string()));
    }
    // Nothing is sent twice, however often the fan-out runs, even over the same events again
    // (as two scans racing, or one repeated after a crash, would).
    fan_out(&app).await;
    on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE email_events SET fanned_out = FALSE"
    )
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
    fan_out(&app).await;
    assert_eq!(attempts(&app, &webhook_id, 9).await.len(), 9);
    assert_eq!(receiver.received().len(), 9);
}

#[tokio::test]
async fn only_subscribed_events_and_only_events_after_creation() {
    let clock = clock_at_real_time();
    let app = crate::helpers::spawn_app_with_clock(clock.clone()).await;
    let receiver = Receiver::start().await;
    let before = app
        .post("/emails", test_email("delivered@resend.dev"))
        .await;
    assert_eq!(before.status, 200);
    settle(&app).await;
    clock.advance(60_000);
    create_webhook(&app, &receiver.url, &["email.delivered"]).await;
    let after = app
        .post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    let received = receiver.wait_for(1).await;
    // Let any stray delivery land before counting.
    fan_out(&app).await;
    assert_eq!(receiver.received().len(), 1, "{:?}", received);
    let body = received[0].json();
    assert_eq!(body["type"], "email.delivered");
    assert_eq!(body["data"]["email_id"], after.body["id"]);
}

#[tokio::test]
async fn failed_deliveries_are_retried_on_resends_schedule() {
    let clock = clock_at_real_time();
    let app = crate::helpers::spawn_app_with_clock(clock.clone()).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[500]);
    let (webhook_id, secret) = create_webhook(&app, &receiver.url, &["email.delivered"]).await;
    app.post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    receiver.wait_for(1).await;
    let first = attempts(&app, &webhook_id, 1).await;
    assert_eq!(first[0]["attempt"], 1);
    assert_eq!(first[0]["status_code"], 500);
    assert_eq!(first[0]["error"], "HTTP status 500");
    assert_eq!(
        first[0]["next_attempt_at"],
        resend_timestamp(clock.now_ms() + 5_000)
    );

    // Not before its time.
    clock.advance(4_999);
    app.run_pending_jobs().await;
    assert_eq!(receiver.received().len(), 1);
    clock.advance(1);
    app.run_pending_jobs().await;
    let received = receiver.wait_for(2).await;
    // The same event: same id and body, signed again.
    assert_eq!(received[0].header("svix-id"), received[1].header("svix-id"));
    assert_eq!(received[0].body, received[1].body);
    verify_with_oracle(&secret, &received[1]);
    let recorded = attempts(&app, &webhook_id, 2).await;
    assert_eq!(recorded[0]["attempt"], 2);
    assert_eq!(recorded[0]["status_code"], 200);
    assert_eq!(recorded[0]["next_attempt_at"], Value::Null);

    // Acknowledged: nothing more, ever.
    clock.advance(86_400_000);
    app.run_pending_jobs().await;
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn gives_up_after_eight_attempts() {
    let clock = clock_at_real_time();
    let app = crate::helpers::spawn_app_with_clock(clock.clone()).await;
    let receiver = Receiver::start().await;
    receiver.answer_with(&[503; 20]);
    let (webhook_id, _) = create_webhook(&app, &receiver.url, &["email.sent"]).await;
    app.post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    receiver.wait_for(1).await;
    attempts(&app, &webhook_id, 1).await;
    for (i, wait) in RETRY_DELAYS_MS.iter().enumerate() {
        clock.advance(wait - 1);
        app.run_pending_jobs().await;
        assert_eq!(
            receiver.received().len(),
            i + 1,
            "attempt {} came early",
            i + 2
        );
        clock.advance(1);
        app.run_pending_jobs().await;
        receiver.wait_for(i + 2).await;
        // The next attempt is queued when this one is recorded.
        attempts(&app, &webhook_id, i + 2).await;
    }
    let recorded = attempts(&app, &webhook_id, 8).await;
    assert_eq!(recorded.len(), 8);
    assert_eq!(recorded[0]["attempt"], 8);
    assert_eq!(recorded[0]["next_attempt_at"], Value::Null);
    assert_eq!(recorded[7]["attempt"], 1);
    clock.advance(7 * 86_400_000);
    app.run_pending_jobs().await;
    assert_eq!(receiver.received().len(), 8);
}

#[tokio::test]
async fn disabling_or_deleting_stops_deliveries() {
    let clock = clock_at_real_time();
    let app = crate::helpers::spawn_app_with_clock(clock.clone()).await;
    let disabled = Receiver::start().await;
    let deleted = Receiver::start().await;
    disabled.answer_with(&[500; 20]);
    deleted.answer_with(&[500; 20]);
    let (disabled_id, _) = create_webhook(&app, &disabled.url, &["email.sent"]).await;
    let (deleted_id, _) = create_webhook(&app, &deleted.url, &["email.sent"]).await;
    app.post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    disabled.wait_for(1).await;
    deleted.wait_for(1).await;
    attempts(&app, &disabled_id, 1).await;
    attempts(&app, &deleted_id, 1).await;

    let reply = app
        .patch(
            &format!("/webhooks/{disabled_id}"),
            json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        app.delete(&format!("/webhooks/{deleted_id}")).await.status,
        200
    );
    // Retries come due, and new events happen: nothing is sent.
    app.post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    for wait in RETRY_DELAYS_MS {
        clock.advance(wait);
        app.run_pending_jobs().await;
    }
    assert_eq!(disabled.received().len(), 1);
    assert_eq!(deleted.received().len(), 1);
    assert_eq!(attempts(&app, &disabled_id, 1).await.len(), 1);
    assert_error(
        &app.get(&format!("/webhooks/{deleted_id}/deliveries")).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let app = spawn_app_with(Options {
        allow_private_urls: false,
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start().await;
    for endpoint in [
        receiver.url.as_str(),
        "http://localhost:9/hook",
        "http://10.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let reply = app
            .post(
                "/webhooks",
                json!({"endpoint": endpoint, "events": ["email.sent"]}),
            )
            .await;
        assert_error(&reply, 422, "validation_error");
    }
    // An endpoint that became private later (here: changed behind the API's back) is refused
    // at delivery time and nothing reaches it.
    let (id, _) = create_webhook(&app, "https://hooks.example.com/h", &["email.sent"]).await;
    on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE webhooks SET endpoint = $2 WHERE id = $1"
    )
    .bind(&id)
    .bind(&receiver.url)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    .unwrap());
    app.post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    let recorded = attempts(&app, &id, 1).await;
    assert_eq!(recorded[0]["status_code"], Value::Null);
    let error = recorded[0]["error"].as_str().unwrap();
    assert!(error.contains("private or loopback"), "{error}");
    assert!(recorded[0]["next_attempt_at"].is_string());
    assert!(receiver.received().is_empty());
}
