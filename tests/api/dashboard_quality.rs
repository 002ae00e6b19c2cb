//! Dashboard quality at HTTP level (issue 13): every `/dashboard…` miss gets the dashboard's
//! own 404 page, a form's address opened as a page leads back to the form, and scheduled,
//! canceled and suppressed emails show their real state, with Cancel and Reschedule on a
//! scheduled one (errors next to the field, in plain words, keeping what was typed).

use std::sync::Arc;

use herald::clock::ManualClock;
use serde_json::json;

use crate::dashboard::{Visitor, sign_in_admin};
use crate::helpers::{spawn_app, spawn_app_with_clock};

/// 2026-03-10 12:00:00 UTC.
const START_MS: i64 = 1_773_144_000_000;

#[tokio::test]
async fn dashboard_misses_get_the_dashboard_404_page() {
    let app = spawn_app().await;

    // Signed out: the dashboard's plain error page, not the API's JSON.
    let visitor = Visitor::new(&app);
    let away = visitor.get("/dashboard/nope").await;
    assert_eq!(away.status, 404);
    assert!(
        away.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(away.html.contains("Not found"), "{}", away.html);
    assert!(!away.html.contains("statusCode"));

    let (visitor, _) = sign_in_admin(&app).await;
    for path in [
        "/dashboard/nope",
        "/dashboard/broadcasts/nope/deeper",
        "/dashboard/emails/x/y/z",
        "/dashboard/settings/nope",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.html.contains("Page not found"),
            "{path}: {}",
            page.html
        );
        // With the navigation and the page's headers.
        assert!(page.html.contains("<nav class=\"nav\""), "{path}");
        assert!(page.html.contains("href=\"/dashboard/emails\""), "{path}");
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(page.headers.contains_key("content-security-policy"));
    }
    // The bare addresses lead to the Emails overview.
    for path in ["/dashboard", "/dashboard/", "/"] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert_eq!(page.location(), "/dashboard/emails", "{path}");
    }
    // A form's address opened as a page (a reload after a boosted form) leads to its page.
    let reload = visitor.get("/dashboard/settings/account/password").await;
    assert_eq!(reload.status, 303);
    assert_eq!(reload.location(), "/dashboard/settings/account");
    // The API keeps its JSON answers.
    let api = visitor.get("/nope").await;
    assert_eq!(api.status, 404);
    assert!(api.html.contains("\"statusCode\":404"));
    app.stop().await;
}

#[tokio::test]
async fn emails_show_their_real_state_with_cancel_and_reschedule() {
    let clock = Arc::new(ManualClock::new(START_MS));
    let app = spawn_app_with_clock(clock.clone()).await;
    let (visitor, csrf) = sign_in_admin(&app).await;

    let mut body = json!({
        "from": "Acme <news@resend.dev>",
        "to": "delivered@resend.dev",
        "subject": "Later",
        "html": "<p>Hi</p>",
    });
    body["scheduled_at"] = json!("2026-03-10T15:00:00Z");
    let reply = app.post("/emails", body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_string();

    let list = visitor.get("/dashboard/emails").await;
    assert!(
        list.html.contains("Scheduled for 2026-03-10 15:00 UTC"),
        "{}",
        list.html
    );
    assert!(
        !list.html.contains(">Sent "),
        "a scheduled email is not sent"
    );

    let page = visitor.get(&format!("/dashboard/emails/{id}")).await;
    assert!(page.html.contains("id=\"email-when\""));
    assert!(page.html.contains("Scheduled for 2026-03-10 15:00 UTC"));
    assert!(!page.html.contains(">Sent "));
    assert!(page.html.contains("id=\"cancel-email\""));
    assert!(page.html.contains("id=\"reschedule\""));
    assert_eq!(page.input("scheduled_at"), "2026-03-10T15:00");

    // A time in the past: the error sits under the field, in plain words, with the input kept.
    let past = visitor
        .post(
            &format!("/dashboard/emails/{id}/reschedule"),
            &[("csrf_token", &csrf), ("scheduled_at", "2026-03-09T08:30")],
        )
        .await;
    assert_eq!(past.status, 422);
    assert!(
        past.html.contains("id=\"scheduled_at-error\""),
        "{}",
        past.html
    );
    assert!(past.html.contains("Pick a time in the future."));
    assert!(!past.html.contains('`'));
    assert_eq!(past.input("scheduled_at"), "2026-03-09T08:30");
    assert!(past.html.contains("aria-invalid=\"true\""));

    // What `<input type=datetime-local>` sends, read as UTC.
    let moved = visitor
        .post(
            &format!("/dashboard/emails/{id}/reschedule"),
            &[("csrf_token", &csrf), ("scheduled_at", "2026-03-11T09:15")],
        )
        .await;
    assert_eq!(moved.status, 303, "{}", moved.html);
    assert_eq!(
        moved.location(),
        format!("/dashboard/emails/{id}?notice=rescheduled")
    );
    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.body["scheduled_at"], "2026-03-11 09:15:00.000+00");
    let page = visitor.get(moved.location()).await;
    assert!(page.html.contains("Scheduled for 2026-03-11 09:15 UTC"));
    assert!(page.html.contains("The email was rescheduled."));

    let canceled = visitor
        .post(
            &format!("/dashboard/emails/{id}/cancel"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(canceled.status, 303, "{}", canceled.html);
    let got = app.get(&format!("/emails/{id}")).await;
    assert_eq!(got.body["last_event"], "canceled");
    let page = visitor.get(canceled.location()).await;
    assert!(page.html.contains("Canceled · created"), "{}", page.html);
    assert!(!page.html.contains("id=\"cancel-email\""));
    assert!(!page.html.contains(">Sent "));
    let list = visitor.get("/dashboard/emails").await;
    assert!(list.html.contains("Canceled · created"));

    // Without the form's token nothing happens.
    let forged = visitor
        .post(&format!("/dashboard/emails/{id}/cancel"), &[])
        .await;
    assert_eq!(forged.status, 403);
    app.stop().await;
}
