//! Scheduled sends on a manual clock: ISO and natural-language `scheduled_at`, the job
//! waiting for its time, `PATCH /emails/{id}` moving it, `POST /emails/{id}/cancel`.

use std::sync::Arc;

use herald::clock::ManualClock;
use reqwest::Method;
use serde_json::json;

use crate::emails::{add_domain, event_types, id_of, job_of, settle, test_email};
use crate::helpers::HOUR;
use crate::helpers::{assert_error, spawn_app_with_clock};

/// Wednesday 2025-06-04 10:00:00 UTC.
const NOW: i64 = 1_749_031_200_000;

#[tokio::test]
async fn scheduled_emails_wait_move_and_cancel() {
    let clock = Arc::new(ManualClock::new(NOW));
    let app = spawn_app_with_clock(clock.clone()).await;

    let mut email = test_email("delivered@resend.dev");
    email["scheduled_at"] = json!("in 1 hour");
    let id = id_of(&app.post("/emails", email.clone()).await);
    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.body["last_event"], "scheduled");
    assert_eq!(got.body["scheduled_at"], "2025-06-04 11:00:00.000+00");
    assert_eq!(job_of(&app, &id).await.1, "queued");
    assert_eq!(job_of(&app, &id).await.2, NOW + HOUR);
    assert_eq!(event_types(&app, &id).await, vec!["scheduled"]);

    // Not due yet: nothing runs.
    settle(&app).await;
    assert_eq!(job_of(&app, &id).await.1, "queued");

    // Reschedule, in words and as ISO 8601; the job moves with the email.
    let moved = app
        .patch(
            &format!("/emails/{id}"),
            json!({"scheduled_at": "tomorrow at 9am", "id": id}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        (&moved.body["object"], &moved.body["id"]),
        (&json!("email"), &json!(id))
    );
    assert!(moved.body["scheduled_at"].is_string(), "{}", moved.body);
    assert_eq!(job_of(&app, &id).await.2, NOW + 23 * HOUR);
    let moved = app
        .patch(
            &format!("/emails/{id}"),
            json!({"scheduled_at": "2025-06-04T12:30:00.000Z"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(job_of(&app, &id).await.2, NOW + 2 * HOUR + HOUR / 2);
    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.body["scheduled_at"], "2025-06-04 12:30:00.000+00");

    for (body, name) in [
        (json!({}), "missing_required_field"),
        (json!({"scheduled_at": "whenever"}), "validation_error"),
        (
            json!({"scheduled_at": "2025-06-04T09:00:00Z"}),
            "validation_error",
        ),
        (json!({"scheduled_at": "in 40 days"}), "validation_error"),
        (json!({"scheduled_at": 12}), "validation_error"),
    ] {
        assert_error(&app.patch(&format!("/emails/{id}"), body).await, 422, name);
    }
    assert_eq!(job_of(&app, &id).await.2, NOW + 2 * HOUR + HOUR / 2);

    // Time passes: the simulation runs at the scheduled time.
    clock.advance(3 * HOUR);
    settle(&app).await;
    assert_eq!(
        event_types(&app, &id).await,
        vec!["scheduled", "sent", "delivered"]
    );
    let sent = app
        .patch(
            &format!("/emails/{id}"),
            json!({"scheduled_at": "in 1 hour"}),
        )
        .await;
    assert_error(&sent, 422, "validation_error");
    assert_error(
        &app.post(&format!("/emails/{id}/cancel"), json!({})).await,
        422,
        "validation_error",
    );

    // Cancel: the job is canceled, the email says so; twice, or a reschedule, is refused.
    email["scheduled_at"] = json!("friday at 3pm ET");
    let id = id_of(&app.post("/emails", email.clone()).await);
    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.body["scheduled_at"], "2025-06-06 19:00:00.000+00");
    // Node sends no body at all; Python sends `{}`.
    let canceled = app
        .call(Method::POST, &format!("/emails/{id}/cancel"), None)
        .await;
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    // The canceled email itself, as the spec shows it (the SDKs read `object` and `id`).
    assert_eq!(
        (&canceled.body["object"], &canceled.body["id"]),
        (&json!("email"), &json!(id))
    );
    assert_eq!(canceled.body["last_event"], "canceled", "{}", canceled.body);
    assert_eq!(job_of(&app, &id).await.1, "canceled");
    assert_eq!(
        app.get(&format!("/emails/{id}")).await.body["last_event"],
        "canceled"
    );
    assert_eq!(event_types(&app, &id).await, vec!["scheduled", "canceled"]);
    let twice = app.post(&format!("/emails/{id}/cancel"), json!({})).await;
    assert_error(&twice, 422, "validation_error");
    assert!(twice.body["message"].as_str().unwrap().contains("canceled"));
    assert_error(
        &app.patch(
            &format!("/emails/{id}"),
            json!({"scheduled_at": "in 1 hour"}),
        )
        .await,
        422,
        "validation_error",
    );
    clock.advance(7 * 24 * HOUR);
    settle(&app).await;
    assert_eq!(job_of(&app, &id).await.1, "canceled");
    assert_eq!(event_types(&app, &id).await, vec!["scheduled", "canceled"]);

    // An email sent right away cannot be rescheduled or canceled.
    let now_id = id_of(
        &app.post("/emails", test_email("delivered@resend.dev"))
            .await,
    );
    assert_error(
        &app.patch(
            &format!("/emails/{now_id}"),
            json!({"scheduled_at": "in 1 hour"}),
        )
        .await,
        422,
        "validation_error",
    );
    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    assert_error(
        &app.post(&format!("/emails/{unknown}/cancel"), json!({}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post("/emails/nope/cancel", json!({})).await,
        422,
        "invalid_parameter",
    );
}

#[tokio::test]
async fn scheduled_delivery_jobs_wait_for_their_time() {
    let clock = Arc::new(ManualClock::new(NOW));
    let app = spawn_app_with_clock(clock.clone()).await;
    add_domain(&app, "acme.dev", "verified").await;
    let id = id_of(
        &app.post(
            "/emails",
            json!({"from": "a@acme.dev", "to": "b@example.org", "subject": "Later",
                   "text": "x", "scheduled_at": "2025-06-05T08:00:00Z"}),
        )
        .await,
    );
    let (kind, state, run_at) = job_of(&app, &id).await;
    assert_eq!(kind, herald::emails::DELIVER_JOB);
    assert_eq!(state, "queued");
    assert_eq!(run_at, NOW + 22 * HOUR);
    let canceled = app.post(&format!("/emails/{id}/cancel"), json!({})).await;
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    assert_eq!(job_of(&app, &id).await.1, "canceled");
}
