//! `contact.created`, `contact.updated` and `contact.deleted` webhooks: received by a real
//! HTTP endpoint, signed (checked with an independent Standard Webhooks implementation), in
//! Resend's shape, from the API and the dashboard's services alike; none for a refused change
//! and none for a CSV import (as Resend documents).

use herald::clock::{Clock, ManualClock, SystemClock};
use herald::on_db;
use serde_json::{Value, json};

use crate::contact_imports::{upload, wait_until_finished};
use crate::contacts::{create_property, create_segment};
use crate::helpers::{TestApp, spawn_app_with_clock};
use crate::webhooks::{Receiver, create_webhook, fan_out, verify_with_oracle};

const CONTACT_EVENTS: [&str; 3] = ["contact.created", "contact.updated", "contact.deleted"];

/// Real time (the SDK verifiers allow 300 s of skew), under test control.
async fn start() -> (TestApp, Receiver) {
    let clock = std::sync::Arc::new(ManualClock::new(SystemClock.now_ms()));
    let app = spawn_app_with_clock(clock).await;
    (app, Receiver::start().await)
}

/// The bodies received so far, once every queued event has been fanned out and delivered.
async fn bodies(app: &TestApp, receiver: &Receiver, n: usize) -> Vec<Value> {
    fan_out(app).await;
    let received = receiver.wait_for(n).await;
    // Let any stray delivery land before the caller counts.
    fan_out(app).await;
    assert_eq!(receiver.received().len(), n, "{:?}", receiver.received());
    received.iter().map(|r| r.json()).collect()
}

async fn pending_events(app: &TestApp) -> i64 {
    on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM webhook_events"
    )
    .fetch_one(pool)
    .await)
    .unwrap()
}

#[tokio::test]
async fn contact_changes_are_delivered_signed_in_resends_shape() {
    let (app, receiver) = start().await;
    let (_, secret) = create_webhook(&app, &receiver.url, &CONTACT_EVENTS).await;
    let vip = create_segment(&app, "VIP").await;
    let late = create_segment(&app, "Late").await;

    let created = app
        .post(
            "/contacts",
            json!({"email": "Ann@Example.com", "first_name": "Ann", "segments": [vip]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let first = bodies(&app, &receiver, 1).await;
    let body = &first[0];
    assert_eq!(body["type"], "contact.created");
    let data = &body["data"];
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["email"], "Ann@Example.com");
    assert_eq!(data["first_name"], "Ann");
    assert!(data.get("last_name").is_none(), "unset names are left out");
    assert_eq!(data["unsubscribed"], false);
    assert_eq!(data["segment_ids"], json!([vip]));
    for key in ["created_at", "updated_at"] {
        let stamp = data[key].as_str().unwrap();
        assert!(
            stamp.ends_with('Z') && stamp.contains('T'),
            "{key}: {stamp}"
        );
    }
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));

    let patched = app
        .patch(
            &format!("/contacts/{id}"),
            json!({"last_name": "Lee", "unsubscribed": true}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let added = app
        .post(&format!("/contacts/{id}/segments/{late}"), json!({}))
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let removed = app.delete(&format!("/contacts/{id}/segments/{vip}")).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let deleted = app.delete("/contacts/ann@example.com").await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);

    let all = bodies(&app, &receiver, 5).await;
    let mut summary: Vec<(String, Value, Value)> = all[1..]
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["segment_ids"].clone(),
                b["data"]["last_name"].clone(),
            )
        })
        .collect();
    let mut expected = vec![
        ("contact.updated".to_string(), json!([vip]), json!("Lee")),
        (
            "contact.updated".to_string(),
            json!([vip, late]),
            json!("Lee"),
        ),
        ("contact.updated".to_string(), json!([late]), json!("Lee")),
        ("contact.deleted".to_string(), json!([late]), json!("Lee")),
    ];
    let key = |(kind, segments, _): &(String, Value, Value)| (kind.clone(), segments.to_string());
    summary.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(summary, expected);
    for received in receiver.received() {
        verify_with_oracle(&secret, &received);
        let body = received.json();
        assert_eq!(body["data"]["id"], id.as_str());
        assert!(received.header("svix-id").starts_with("msg_"));
    }
    let unsubscribed: Vec<bool> = all[1..]
        .iter()
        .map(|b| b["data"]["unsubscribed"].as_bool().unwrap())
        .collect();
    assert_eq!(unsubscribed, [true; 4]);
    assert_eq!(pending_events(&app).await, 0, "fanned-out events are gone");
}

#[tokio::test]
async fn only_subscribed_types_and_nothing_for_refusals_or_imports() {
    let (app, receiver) = start().await;
    create_property(&app, "age", "number").await;
    create_webhook(&app, &receiver.url, &["contact.deleted"]).await;

    // Refused: a property of the wrong type changes nothing, so nothing is reported.
    let refused = app
        .post(
            "/contacts",
            json!({"email": "bo@example.com", "properties": {"age": "old"}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // Created and updated: not subscribed.
    let bo = app
        .post("/contacts", json!({"email": "bo@example.com"}))
        .await;
    assert_eq!(bo.status, 201);
    app.patch("/contacts/bo@example.com", json!({"first_name": "Bo"}))
        .await;
    // An import creates and updates contacts without any contact.* event.
    let import = upload(
        &app,
        b"email,first_name\ncy@example.com,Cy\nbo@example.com,Bobby\n".to_vec(),
        &[("on_conflict", "upsert".into())],
    )
    .await;
    assert_eq!(import.status, 201, "{}", import.body);
    wait_until_finished(&app, import.body["id"].as_str().unwrap()).await;

    // The dashboard's bulk delete goes through the same service: one event per contact.
    let team: String = on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT team_id FROM contacts LIMIT 1"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    let ids: Vec<String> = on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM contacts ORDER BY email_lower"
    )
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(ids.len(), 2);
    let gone = herald::audience::contacts::delete_many(&app.app, &team, &ids)
        .await
        .unwrap();
    assert_eq!(gone, 2);

    let mut deleted: Vec<(String, String)> = bodies(&app, &receiver, 2)
        .await
        .iter()
        .map(|b| {
            (
                b["type"].as_str().unwrap().to_string(),
                b["data"]["email"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            ("contact.deleted".to_string(), "bo@example.com".to_string()),
            ("contact.deleted".to_string(), "cy@example.com".to_string()),
        ]
    );
    let bo_deleted = receiver
        .received()
        .iter()
        .map(|r| r.json())
        .find(|b| b["data"]["email"] == "bo@example.com")
        .unwrap();
    assert_eq!(
        bo_deleted["data"]["first_name"], "Bobby",
        "the import's upsert"
    );
}

/// The outbox holds only events some enabled endpoint of the team may hear of: a team
/// without webhooks (or with its endpoints disabled, or subscribed to other types) writes
/// no row for the fan-out to scan and delete.
#[tokio::test]
async fn no_outbox_row_for_an_event_no_endpoint_hears() {
    let (app, receiver) = start().await;
    let create = |email: &'static str| {
        let app = &app;
        async move {
            let reply = app.post("/contacts", json!({ "email": email })).await;
            assert_eq!(reply.status, 201, "{}", reply.body);
        }
    };
    create("a@example.com").await;
    assert_eq!(pending_events(&app).await, 0, "no endpoint at all");

    let (id, _) = create_webhook(&app, &receiver.url, &["contact.deleted"]).await;
    create("b@example.com").await;
    assert_eq!(pending_events(&app).await, 0, "an endpoint of other types");

    let reply = app
        .patch(
            &format!("/webhooks/{id}"),
            json!({"events": ["contact.created"], "status": "disabled"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    create("c@example.com").await;
    assert_eq!(pending_events(&app).await, 0, "a disabled endpoint");

    let reply = app
        .patch(&format!("/webhooks/{id}"), json!({"status": "enabled"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    create("d@example.com").await;
    assert_eq!(
        pending_events(&app).await,
        1,
        "a subscribed, enabled endpoint"
    );
    let body = &bodies(&app, &receiver, 1).await[0];
    assert_eq!(body["type"], "contact.created");
    assert_eq!(body["data"]["email"], "d@example.com");
}
