//! `GET /metrics` (Prometheus text format) at HTTP level: off unless `metrics_token` is set,
//! then only with that bearer token; valid metric names and types; the counters move when
//! an email is delivered to the SMTP sink and a webhook is called.

use serde_json::{Value, json};

use crate::delivery::{WorldOptions, email_to, world_with};
use crate::helpers::{TestApp, spawn_app};
use crate::webhooks::{Receiver, attempts, create_webhook, fan_out};

const TOKEN: &str = "scrape-4b1d-secret";

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String, String) {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, resp.text().await.unwrap())
}

fn error_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

/// The value of one series (`name{labels}`), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

/// Checks the exposition: HELP and TYPE before each family, valid names, known types,
/// and every sample a valid name, optional labels and a number.
fn assert_valid(text: &str) {
    let name_ok = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(name_ok(name), "{line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            types.insert(name.to_string(), kind.to_string());
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(name_ok(rest.split(' ').next().unwrap()), "{line}");
        } else if line.starts_with('#') {
            continue;
        } else {
            let (series, number) = line.rsplit_once(' ').unwrap();
            assert!(number.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(name_ok(name), "{line}");
            if let Some(labels) = series.strip_prefix(name) {
                assert!(
                    labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                    "{line}"
                );
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            assert!(
                types.contains_key(family),
                "a sample before its TYPE: {line}"
            );
        }
    }
    // The queue's gauges show once a job waits; the rest always.
    let queue = text.contains("herald_queue_jobs{");
    for (name, kind) in [
        ("herald_http_request_duration_seconds", "histogram"),
        ("herald_delivery_outcomes_total", "counter"),
        ("herald_webhook_delivery_attempts_total", "counter"),
        ("herald_queue_jobs", "gauge"),
    ] {
        if name == "herald_queue_jobs" && !queue {
            continue;
        }
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(kind),
            "{name} in {text}"
        );
    }
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let app = spawn_app().await;
    let (status, _, body) = scrape(&app, None).await;
    assert_eq!(status, 404);
    assert_eq!(
        error_of(&body),
        json!({"statusCode": 404, "message": "The requested endpoint does not exist.", "name": "not_found"})
    );
    // A token does not turn it on either, nor does the API key.
    let (status, _, _) = scrape(&app, Some(&app.key)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn metrics_need_the_token_and_count_deliveries() {
    let w = world_with(WorldOptions {
        settings: Some(Box::new(|settings| {
            settings.metrics_token = TOKEN.into();
        })),
        ..WorldOptions::default()
    })
    .await;
    let app = &w.app;

    // The token, and only it.
    let (status, _, body) = scrape(app, None).await;
    assert_eq!(status, 401);
    assert_eq!(error_of(&body)["name"], "missing_api_key");
    for wrong in [
        "scrape-4b1d-secreT",
        "scrape-4b1d-secret-and-more",
        app.key.as_str(),
    ] {
        let (status, _, body) = scrape(app, Some(wrong)).await;
        assert_eq!(status, 403, "{wrong}");
        assert_eq!(error_of(&body)["name"], "invalid_api_key");
    }
    let (status, content_type, text) = scrape(app, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_valid(&text);
    assert_eq!(
        value(
            &text,
            "herald_delivery_outcomes_total{outcome=\"delivered\"}"
        ),
        Some(0.0)
    );

    // A webhook for deliveries, an email scheduled for later (waiting in the queue) and
    // one sent now to the sink.
    let receiver = Receiver::start().await;
    let (webhook_id, _) = create_webhook(app, &receiver.url, &["email.delivered"]).await;
    let mut later = email_to(json!("later@dest.dev"));
    later["scheduled_at"] = json!("in 2 hours");
    w.send(later).await;
    let (_, _, text) = scrape(app, Some(TOKEN)).await;
    assert_eq!(
        value(
            &text,
            "herald_queue_jobs{kind=\"deliver_email\",state=\"queued\"}"
        ),
        Some(1.0),
        "{text}"
    );

    w.send(email_to(json!(["anna@dest.dev", "bob@dest.dev"])))
        .await;
    w.deliver().await;
    assert_eq!(w.sink.count(), 1);
    fan_out(app).await;
    attempts(app, &webhook_id, 2).await;

    let (_, _, text) = scrape(app, Some(TOKEN)).await;
    assert_valid(&text);
    assert_eq!(
        value(
            &text,
            "herald_delivery_outcomes_total{outcome=\"delivered\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "herald_webhook_delivery_attempts_total{outcome=\"delivered\"}"
        ),
        Some(2.0),
        "{text}"
    );
    // Requests by route template, not by path: the emails sent, the scrapes refused.
    assert!(
        value(
            &text,
            "herald_http_request_duration_seconds_count{route=\"/emails\",status=\"2xx\"}"
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            "herald_http_request_duration_seconds_count{route=\"/metrics\",status=\"4xx\"}"
        )
        .is_some_and(|n| n >= 4.0),
        "{text}"
    );
    assert!(
        value(
            &text,
            "herald_http_request_duration_seconds_bucket{route=\"/emails\",status=\"2xx\",le=\"+Inf\"}"
        )
        .is_some(),
        "{text}"
    );
    assert!(text.contains("# TYPE herald_queue_jobs gauge"), "{text}");
    assert!(!text.contains("anna@dest.dev"));
}
