//! `domain.created`, `domain.updated` and `domain.deleted` webhooks: queued in the transaction
//! of the change (API create, update, verify and delete, and status changes found by the
//! verification job against a real DNS server), delivered signed in Resend's shape to a real
//! HTTP receiver, and only to endpoints subscribed to them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::dashboard::team_id;
use crate::dashboard_domains::{publish_records, spawn_with_dns};
use crate::helpers::TestApp;
use crate::webhooks::{Received, Receiver, create_webhook, verify_with_oracle};

/// Runs due jobs (verification and deliveries; the server's worker may run some too) until
/// the domain has `status`.
async fn wait_for_status(app: &TestApp, id: &str, status: &str) {
    for _ in 0..2000 {
        app.run_pending_jobs().await;
        if app.get(&format!("/domains/{id}")).await.body["status"] == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("domain {id} never became {status}");
}

/// The deliveries of `event_type` once `n` of them came in, oldest first.
async fn events_of(app: &TestApp, receiver: &Receiver, event_type: &str, n: usize) -> Vec<Value> {
    for _ in 0..3000 {
        app.run_pending_jobs().await;
        let found: Vec<Value> = receiver
            .received()
            .iter()
            .map(Received::json)
            .filter(|body| body["type"] == event_type)
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("fewer than {n} {event_type} deliveries arrived");
}

fn record<'a>(data: &'a Value, group: &str) -> &'a Value {
    data["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record"] == group)
        .unwrap_or_else(|| panic!("no {group} record in {data}"))
}

fn statuses(data: &Value) -> Vec<&str> {
    data["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn domain_changes_are_delivered_signed() {
    let (app, dns) = spawn_with_dns().await;
    let receiver = Receiver::start().await;
    let (_, secret) = create_webhook(
        &app,
        &receiver.url,
        &["domain.created", "domain.updated", "domain.deleted"],
    )
    .await;
    let other = Receiver::start().await;
    create_webhook(&app, &other.url, &["email.sent", "contact.created"]).await;

    // Created: the domain with every record to publish, not started.
    let created = app
        .post(
            "/domains",
            json!({"name": "updates.example.com", "region": "eu-west-1",
                   "tracking_subdomain": "links", "capabilities": {"receiving": "enabled"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let event = &events_of(&app, &receiver, "domain.created", 1).await[0];
    assert!(event["created_at"].as_str().unwrap().ends_with('Z'));
    let data = &event["data"];
    assert_eq!(data["id"], id);
    assert_eq!(data["name"], "updates.example.com");
    assert_eq!(data["status"], "not_started");
    assert_eq!(data["region"], "eu-west-1");
    assert!(data["created_at"].as_str().unwrap().contains('T'));
    assert_eq!(data["records"].as_array().unwrap().len(), 6);
    assert!(statuses(data).iter().all(|s| *s == "not_started"));
    let spf_mx = &data["records"][0];
    assert_eq!(
        spf_mx,
        &json!({"record": "SPF", "name": "send.updates", "value": "mx.herald.test",
                "type": "MX", "ttl": "Auto", "status": "not_started", "priority": 10})
    );
    assert_eq!(record(data, "Receiving MX")["type"], "MX");
    assert_eq!(record(data, "TrackingCAA")["type"], "CAA");
    assert_eq!(record(data, "Tracking")["value"], "track.herald.test");
    assert!(record(data, "DKIM").get("priority").is_none());
    for delivery in receiver.received() {
        verify_with_oracle(&secret, &delivery);
    }

    // Updated through the API.
    let patched = app
        .patch(&format!("/domains/{id}"), json!({"click_tracking": true}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let updated = events_of(&app, &receiver, "domain.updated", 1).await;
    assert_eq!(updated[0]["data"]["status"], "not_started");

    // "Verify": pending, then verified once the job finds the records in DNS.
    let verify = app.post(&format!("/domains/{id}/verify"), json!({})).await;
    assert_eq!(verify.status, 200);
    let updated = events_of(&app, &receiver, "domain.updated", 2).await;
    assert_eq!(updated[1]["data"]["status"], "pending");
    assert!(
        statuses(&updated[1]["data"])
            .iter()
            .all(|s| *s == "pending")
    );
    publish_records(&app, &dns, &id).await;
    let team = team_id(&app).await;
    herald::domains::start_verification(&app.app, &team, &id)
        .await
        .unwrap();
    wait_for_status(&app, &id, "verified").await;
    // Deliveries are asynchronous: a check that found nothing yet may be delivered first, and
    // the server's own worker may hold the verified event's delivery for a moment.
    let mut verified = None;
    for _ in 0..500 {
        let updated = events_of(&app, &receiver, "domain.updated", 3).await;
        verified = updated
            .into_iter()
            .find(|e| e["data"]["status"] == "verified");
        if verified.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let verified = verified.expect("a domain.updated with the verified status");
    assert!(
        statuses(&verified["data"]).iter().all(|s| *s == "verified"),
        "{verified}"
    );

    // Deleted: the domain as it was.
    let deleted = app.delete(&format!("/domains/{id}")).await;
    assert_eq!(deleted.status, 200);
    let gone = &events_of(&app, &receiver, "domain.deleted", 1).await[0];
    assert_eq!(gone["data"]["id"], id);
    assert_eq!(gone["data"]["status"], "verified");

    // Every delivery is signed, and an endpoint that did not subscribe got nothing.
    let all = receiver.received();
    for delivery in &all {
        verify_with_oracle(&secret, delivery);
    }
    let ids: std::collections::HashSet<String> = all.iter().map(|d| d.header("svix-id")).collect();
    assert_eq!(ids.len(), all.len(), "one message id per event");
    assert!(other.received().is_empty());
}

#[tokio::test]
async fn a_failed_change_queues_no_event() {
    let (app, _dns) = spawn_with_dns().await;
    let receiver = Receiver::start().await;
    create_webhook(&app, &receiver.url, &["domain.created", "domain.deleted"]).await;
    let refused = app
        .post(
            "/domains",
            json!({"name": "x.example.com", "region": "mars-1"}),
        )
        .await;
    assert_eq!(refused.status, 422);
    let missing = app
        .delete("/domains/0190a5b4-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, 404);
    app.run_pending_jobs().await;
    let queued: i64 = herald::on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'webhook_delivery'"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(queued, 0);
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn webhook_records_are_the_apis_records() {
    // No mail host: the MX records carry the API's warning, in the event too.
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        configure: Some(Box::new(|settings| {
            settings.domains.mail_host = String::new()
        })),
        ..crate::helpers::Options::default()
    })
    .await;
    let receiver = Receiver::start().await;
    create_webhook(&app, &receiver.url, &["domain.created"]).await;
    let created = app
        .post(
            "/domains",
            json!({"name": "example.com", "capabilities": {"receiving": "enabled"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let event = &events_of(&app, &receiver, "domain.created", 1).await[0];
    let mut from_api = created.body["records"].as_array().unwrap().clone();
    for r in &mut from_api {
        if r["record"] == "Receiving" {
            r["record"] = json!("Receiving MX");
        }
    }
    assert_eq!(event["data"]["records"].as_array().unwrap(), &from_api);
    let warning = record(&event["data"], "Receiving MX")["warning"]
        .as_str()
        .unwrap();
    assert!(warning.contains("domains.mail_host"), "{warning}");
}
