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
        list.html.contains("Scheduled for Mar 10, 2026, 15:00 UTC"),
        "{}",
        list.html
    );
    assert!(
        !list.html.contains("Sent just now"),
        "a scheduled email is not sent"
    );

    let page = visitor.get(&format!("/dashboard/emails/{id}")).await;
    assert!(page.html.contains("id=\"email-when\""));
    assert!(page.html.contains("Scheduled for Mar 10, 2026, 15:00 UTC"));
    assert!(!page.html.contains("Sent just now"));
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
    assert!(page.html.contains("Scheduled for Mar 11, 2026, 09:15 UTC"));
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
    assert!(!page.html.contains("Sent just now"));
    let list = visitor.get("/dashboard/emails").await;
    assert!(list.html.contains("Canceled · created"));

    // Without the form's token nothing happens.
    let forged = visitor
        .post(&format!("/dashboard/emails/{id}/cancel"), &[])
        .await;
    assert_eq!(forged.status, 403);
    app.stop().await;
}

#[tokio::test]
async fn domain_pages_warn_while_the_mail_settings_cannot_work() {
    // Unset mail host and sending IPs: the records fall back to this server's loopback address.
    let app = spawn_app().await;
    let (visitor, _) = sign_in_admin(&app).await;
    let id = crate::dashboard::add_domain(&app, "updates.example.com").await;
    let page = visitor.get(&format!("/dashboard/domains/{id}")).await;
    assert!(page.html.contains("id=\"setup-warnings\""), "{}", page.html);
    assert!(page.html.contains("role=\"alert\""));
    assert!(page.html.contains("domains.mail_host"));
    assert!(page.html.contains("domains.sending_ips"));
    assert!(page.html.contains("cannot be reached from the internet"));
    // An IP is never shown as an MX target.
    assert!(!page.html.contains("id=\"value-spf_mx\""));
    assert!(page.html.contains("cannot be an MX target"));
    let list = visitor.get("/dashboard/domains").await;
    assert!(list.html.contains("id=\"setup-warnings\""));
    app.stop().await;

    // Both configured with public values: no warning, the MX names the host.
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        configure: Some(Box::new(|settings| {
            settings.domains.mail_host = "mx.herald.example".into();
            settings.domains.sending_ips = vec!["203.0.113.7".into()];
        })),
        ..Default::default()
    })
    .await;
    let (visitor, _) = sign_in_admin(&app).await;
    let id = crate::dashboard::add_domain(&app, "updates.example.com").await;
    let page = visitor.get(&format!("/dashboard/domains/{id}")).await;
    assert!(!page.html.contains("id=\"setup-warnings\""));
    assert!(page.html.contains("id=\"value-spf_mx\">mx.herald.example<"));
    assert!(page.html.contains("ip4:203.0.113.7"));
    app.stop().await;
}

#[tokio::test]
async fn pages_promise_only_what_exists() {
    let app = spawn_app().await;
    let (visitor, _) = sign_in_admin(&app).await;
    let emails = visitor.get("/dashboard/emails").await;
    assert!(!emails.html.contains("SMTP"), "no SMTP submission yet");
    // No receiving yet: the webhook form does not offer `email.received`.
    let form = visitor.get("/dashboard/webhooks/new").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("name=\"event:email.sent\""));
    assert!(!form.html.contains("email.received"));
    // Regions are labels: the form does not claim mail leaves from one.
    let domain_form = visitor.get("/dashboard/domains/new").await;
    assert!(!domain_form.html.contains("closest to your recipients"));
    app.stop().await;
}

#[tokio::test]
async fn contacts_bulk_actions_count_and_reach_all_matching_contacts() {
    let app = spawn_app().await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    for (email, unsubscribed) in [
        ("ann@example.com", false),
        ("bo@example.com", false),
        ("cy@example.com", true),
    ] {
        let reply = app
            .post(
                "/contacts",
                json!({"email": email, "unsubscribed": unsubscribed}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let segment = app.post("/segments", json!({"name": "Everyone"})).await;
    let segment = segment.body["id"].as_str().unwrap().to_string();

    let page = visitor.get("/dashboard/audience/contacts").await;
    assert!(
        page.html.contains("id=\"contact-count\">3 contacts<"),
        "{}",
        page.html
    );
    assert!(page.html.contains("id=\"select-page\""));
    assert!(page.html.contains("id=\"bulk-bar\""));
    let filtered = visitor
        .get("/dashboard/audience/contacts?status=subscribed")
        .await;
    assert!(
        filtered.html.contains(">2 contacts match<"),
        "{}",
        filtered.html
    );
    // Filters have visible labels.
    assert!(
        filtered
            .html
            .contains("<label class=\"filter-field grow\">Search by email or name")
    );

    // "All matching": every subscribed contact, whatever was ticked on the page.
    let done = visitor
        .post(
            "/dashboard/audience/contacts/bulk",
            &[
                ("csrf_token", &csrf),
                ("action", "add_segments"),
                ("all_matching", "1"),
                ("f_status", "subscribed"),
                (&format!("s:{segment}"), "on"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let members = app.get(&format!("/contacts?segment_id={segment}")).await;
    let in_segment = visitor
        .get(&format!("/dashboard/audience/contacts?segment={segment}"))
        .await;
    assert!(
        in_segment.html.contains(">2 contacts match<"),
        "{} {}",
        members.body,
        in_segment.html
    );
    assert!(!in_segment.html.contains("data-email=\"cy@example.com\""));
    app.stop().await;
}

#[tokio::test]
async fn the_suppressions_page_lists_finds_adds_and_removes() {
    let app = spawn_app().await;
    let (visitor, csrf) = sign_in_admin(&app).await;

    let empty = visitor.get("/dashboard/suppressions").await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No suppressed addresses"));
    assert!(
        empty
            .html
            .contains("href=\"/dashboard/suppressions\" aria-current=\"page\"")
    );

    // A permanent bounce suppresses the address, with the email that caused it.
    let reply = app
        .post(
            "/emails",
            json!({"from": "a@resend.dev", "to": "delivered@resend.dev", "subject": "Hi", "html": "<p>Hi</p>"}),
        )
        .await;
    let email_id = reply.body["id"].as_str().unwrap().to_string();
    let team = crate::dashboard::team_id(&app).await;
    herald::suppressions::add(
        &app.app,
        &team,
        "Gone@Example.com",
        herald::suppressions::BOUNCE,
        Some(&email_id),
    )
    .await
    .unwrap();
    let list = visitor.get("/dashboard/suppressions").await;
    assert!(list.html.contains("data-email=\"gone@example.com\""));
    assert!(list.html.contains(">Bounced<"));
    assert!(
        list.html
            .contains(&format!("href=\"/dashboard/emails/{email_id}\""))
    );

    // By hand: a wrong address is refused under the field, in plain words, input kept.
    let wrong = visitor
        .post(
            "/dashboard/suppressions",
            &[("csrf_token", &csrf), ("email", "not-an-address")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong
            .html
            .contains("class=\"field-error\" id=\"form-error\"")
    );
    assert!(!wrong.html.contains('`'));
    assert!(wrong.html.contains("value=\"not-an-address\""));
    let ok = visitor
        .post(
            "/dashboard/suppressions",
            &[("csrf_token", &csrf), ("email", "later@example.com")],
        )
        .await;
    assert_eq!(ok.status, 303);
    let list = visitor.get(ok.location()).await;
    assert!(list.html.contains("The address was added"));
    assert!(list.html.contains("data-email=\"later@example.com\""));
    assert!(list.html.contains("data-email=\"gone@example.com\""));
    assert!(list.html.contains("Added by hand"));

    // Search finds one address whatever its case; the origin filter narrows the list.
    let found = visitor
        .get("/dashboard/suppressions?q=GONE%40example.com")
        .await;
    assert!(found.html.contains("data-email=\"gone@example.com\""));
    assert!(!found.html.contains("data-email=\"later@example.com\""));
    let bounces = visitor.get("/dashboard/suppressions?origin=bounce").await;
    assert!(!bounces.html.contains("data-email=\"later@example.com\""));

    // Remove.
    let entry = app.get("/suppressions/later@example.com").await;
    let id = entry.body["id"].as_str().unwrap().to_string();
    let removed = visitor
        .post(
            &format!("/dashboard/suppressions/{id}/remove"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(removed.status, 303);
    let list = visitor.get(removed.location()).await;
    assert!(list.html.contains("The address was removed"));
    assert!(!list.html.contains("data-email=\"later@example.com\""));
    app.stop().await;
}
