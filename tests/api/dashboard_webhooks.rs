//! The Webhooks pages of the dashboard at HTTP level: add (the service's validation and SSRF
//! guard in the form), the webhook page (secret revealed on request, recent deliveries from
//! a real endpoint, keyset pages), enable/disable, edit events, delete with confirmation;
//! roles and CSRF.

use std::sync::Arc;

use herald::clock::ManualClock;
use serde_json::Value;

use crate::dashboard::{Page, sign_in_admin, sign_in_member};
use crate::emails::test_email;
use crate::helpers::START_MS;
use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with, spawn_app_with_clock};
use crate::webhooks::{Receiver, attempts, create_webhook, fan_out};

async fn api_webhook(app: &TestApp, id: &str) -> Value {
    let reply = app.get(&format!("/webhooks/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// The webhook id in a `/dashboard/webhooks/{id}?notice=…` redirect.
fn id_from(page: &Page) -> String {
    let location = page.location();
    location
        .strip_prefix("/dashboard/webhooks/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("{location}"))
        .to_string()
}

fn delivery_ids(html: &str) -> Vec<String> {
    html.split("<tr id=\"delivery-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn admin_adds_reveals_edits_disables_and_deletes_a_webhook() {
    // A clock that only moves when told: the refused delivery's retry never comes due here.
    let clock = Arc::new(ManualClock::new(START_MS));
    let app = spawn_app_with_clock(clock).await;
    let receiver = Receiver::start().await;
    let (visitor, csrf) = sign_in_admin(&app).await;

    let empty = visitor.get("/dashboard/webhooks").await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No webhooks yet"));
    assert!(
        empty
            .html
            .contains("href=\"/dashboard/webhooks\" aria-current=\"page\"")
    );
    let form = visitor.get("/dashboard/webhooks/new").await;
    assert_eq!(form.status, 200);
    // Every event type, except `email.received`: Herald receives no mail yet.
    for event in herald::webhooks::EVENT_TYPES {
        assert_eq!(
            form.html.contains(&format!("name=\"event:{event}\"")),
            *event != "email.received",
            "{event}"
        );
    }

    // The service's refusals come back in the form, with what was typed.
    let no_events = visitor
        .post(
            "/dashboard/webhooks",
            &[("csrf_token", &csrf), ("endpoint", &receiver.url)],
        )
        .await;
    assert_eq!(no_events.status, 422);
    assert!(
        no_events
            .html
            .contains("id=\"form-error\" role=\"alert\">Must list at least one event type.")
    );
    assert_eq!(no_events.input("endpoint"), receiver.url);
    let bad_url = visitor
        .post(
            "/dashboard/webhooks",
            &[
                ("csrf_token", &csrf),
                ("endpoint", "ftp://example.com/x"),
                ("event:email.sent", "on"),
            ],
        )
        .await;
    assert_eq!(bad_url.status, 422);
    assert!(
        bad_url.html.contains("id=\"form-error\""),
        "{}",
        bad_url.html
    );
    assert!(
        bad_url
            .html
            .contains("name=\"event:email.sent\" value=\"on\" checked")
    );
    assert_eq!(
        app.get("/webhooks").await.body["data"],
        Value::Array(vec![])
    );

    let added = visitor
        .post(
            "/dashboard/webhooks",
            &[
                ("csrf_token", &csrf),
                ("endpoint", &receiver.url),
                ("event:email.sent", "on"),
                ("event:email.delivered", "on"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.html);
    let id = id_from(&added);
    let api = api_webhook(&app, &id).await;
    assert_eq!(api["endpoint"], receiver.url);
    assert_eq!(
        api["events"],
        serde_json::json!(["email.sent", "email.delivered"])
    );
    assert_eq!(api["status"], "enabled");
    let secret = api["signing_secret"].as_str().unwrap().to_string();

    // The page hides the secret until asked.
    let page = visitor.get(added.location()).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Webhook added."));
    assert!(page.html.contains("id=\"webhook-status\">Enabled<"));
    assert!(!page.html.contains(&secret));
    assert!(page.html.contains("No deliveries yet."));
    let revealed = visitor
        .get(&format!("/dashboard/webhooks/{id}/secret"))
        .await;
    assert_eq!(revealed.status, 200);
    assert!(
        revealed
            .html
            .contains(&format!("id=\"secret-value\">{secret}<"))
    );

    // Deliveries: one email to a test address gives `sent` and `delivered` deliveries; the
    // receiver refuses the first call, which is then due again.
    receiver.answer_with(&[503]);
    app.post("/emails", test_email("delivered@resend.dev"))
        .await;
    fan_out(&app).await;
    attempts(&app, &id, 2).await;
    let page = visitor.get(&format!("/dashboard/webhooks/{id}")).await;
    let rows = delivery_ids(&page.html);
    assert_eq!(rows.len(), 2, "{}", page.html);
    assert!(
        page.html
            .contains("<span class=\"badge event red\">503</span>"),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains("<span class=\"badge event green\">200</span>")
    );
    assert!(page.html.contains("HTTP status 503"));
    assert!(page.html.contains(" ms</td>"));
    assert!(
        page.html.contains(" UTC</td>"),
        "the next attempt's time is shown"
    );

    // Edit the events (and keep the endpoint).
    let edit = visitor.get(&format!("/dashboard/webhooks/{id}/edit")).await;
    assert_eq!(edit.status, 200);
    assert_eq!(edit.input("endpoint"), receiver.url);
    assert!(
        edit.html
            .contains("name=\"event:email.sent\" value=\"on\" checked")
    );
    assert!(
        !edit
            .html
            .contains("name=\"event:email.bounced\" value=\"on\" checked")
    );
    let refused = visitor
        .post(
            &format!("/dashboard/webhooks/{id}"),
            &[("csrf_token", &csrf), ("endpoint", &receiver.url)],
        )
        .await;
    assert_eq!(refused.status, 422);
    let saved = visitor
        .post(
            &format!("/dashboard/webhooks/{id}"),
            &[
                ("csrf_token", &csrf),
                ("endpoint", &receiver.url),
                ("event:email.bounced", "on"),
                ("event:email.complained", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(
        saved.location(),
        format!("/dashboard/webhooks/{id}?notice=updated")
    );
    assert_eq!(
        api_webhook(&app, &id).await["events"],
        serde_json::json!(["email.bounced", "email.complained"])
    );

    // Disable, then enable again.
    let disabled = visitor
        .post(
            &format!("/dashboard/webhooks/{id}/status"),
            &[("csrf_token", &csrf), ("status", "disabled")],
        )
        .await;
    assert_eq!(disabled.status, 303);
    assert_eq!(api_webhook(&app, &id).await["status"], "disabled");
    let page = visitor.get(disabled.location()).await;
    assert!(page.html.contains("id=\"webhook-status\">Disabled<"));
    assert!(
        page.html
            .contains("value=\"enabled\" id=\"toggle-webhook\">Enable<")
    );
    let list = visitor.get("/dashboard/webhooks").await;
    assert!(list.html.contains(&format!("id=\"webhook-{id}\"")));
    assert!(list.html.contains(">Disabled<"));
    let bogus = visitor
        .post(
            &format!("/dashboard/webhooks/{id}/status"),
            &[("csrf_token", &csrf), ("status", "paused")],
        )
        .await;
    assert_eq!(bogus.status, 400);
    visitor
        .post(
            &format!("/dashboard/webhooks/{id}/status"),
            &[("csrf_token", &csrf), ("status", "enabled")],
        )
        .await;
    assert_eq!(api_webhook(&app, &id).await["status"], "enabled");

    // Delete: asking is not deleting.
    let confirm = visitor
        .get(&format!("/dashboard/webhooks/{id}/delete"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Delete this webhook?"));
    assert_eq!(app.get(&format!("/webhooks/{id}")).await.status, 200);
    let deleted = visitor
        .post(
            &format!("/dashboard/webhooks/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location(), "/dashboard/webhooks?notice=deleted");
    assert_eq!(app.get(&format!("/webhooks/{id}")).await.status, 404);
    assert!(
        visitor
            .get(deleted.location())
            .await
            .html
            .contains("Webhook deleted.")
    );
    assert_eq!(
        visitor
            .get(&format!("/dashboard/webhooks/{id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn private_endpoints_are_refused_as_in_the_api() {
    let app = spawn_app_with(Options {
        allow_private_urls: false,
        ..Options::default()
    })
    .await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    for endpoint in [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.7/hook",
        "http://[::1]/hook",
    ] {
        let page = visitor
            .post(
                "/dashboard/webhooks",
                &[
                    ("csrf_token", &csrf),
                    ("endpoint", endpoint),
                    ("event:email.sent", "on"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{endpoint}");
        assert!(
            page.html.contains("This value is not allowed"),
            "{}",
            page.html
        );
    }
    assert_eq!(
        app.get("/webhooks").await.body["data"],
        Value::Array(vec![])
    );
}

#[tokio::test]
async fn deliveries_page_by_keyset() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let (id, _) = create_webhook(&app, &receiver.url, &["email.sent", "email.delivered"]).await;
    // 12 emails: 24 deliveries, more than a page of 20.
    for _ in 0..12 {
        app.post("/emails", test_email("delivered@resend.dev"))
            .await;
    }
    fan_out(&app).await;
    attempts(&app, &id, 24).await;
    let all: Vec<String> = app
        .get(&format!("/webhooks/{id}/deliveries?limit=100"))
        .await
        .body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 24);
    let (visitor, _) = sign_in_admin(&app).await;
    let first = visitor.get(&format!("/dashboard/webhooks/{id}")).await;
    assert_eq!(delivery_ids(&first.html), all[..20]);
    let older = format!("/dashboard/webhooks/{id}?after={}#deliveries", all[19]);
    assert!(
        first.html.contains(&format!("href=\"{older}\"")),
        "{}",
        first.html
    );
    let second = visitor.get(&older).await;
    assert_eq!(delivery_ids(&second.html), all[20..]);
    assert!(second.html.contains(&format!(
        "href=\"/dashboard/webhooks/{id}?before={}#deliveries\"",
        all[20]
    )));
}

#[tokio::test]
async fn members_view_webhooks_but_cannot_change_them_or_see_the_secret() {
    let app = spawn_app().await;
    let (id, secret) =
        create_webhook(&app, "https://hooks.example.com/herald", &["email.sent"]).await;
    let (member, csrf) = sign_in_member(&app).await;

    let list = member.get("/dashboard/webhooks").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("https://hooks.example.com/herald"));
    assert!(!list.html.contains("id=\"add-webhook\""));
    let page = member.get(&format!("/dashboard/webhooks/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Only admins can reveal it."));
    assert!(!page.html.contains(&secret));
    assert!(!page.html.contains("id=\"edit-webhook\""));
    assert!(!page.html.contains("id=\"toggle-webhook\""));

    for path in [
        "/dashboard/webhooks/new".to_string(),
        format!("/dashboard/webhooks/{id}/edit"),
        format!("/dashboard/webhooks/{id}/delete"),
        format!("/dashboard/webhooks/{id}/secret"),
    ] {
        let refused = member.get(&path).await;
        assert_eq!(refused.status, 403, "{path}");
        assert!(!refused.html.contains(&secret));
    }
    for (path, fields) in [
        (
            "/dashboard/webhooks".to_string(),
            vec![
                ("endpoint", "https://x.example.com/h"),
                ("event:email.sent", "on"),
            ],
        ),
        (
            format!("/dashboard/webhooks/{id}"),
            vec![
                ("endpoint", "https://x.example.com/h"),
                ("event:email.sent", "on"),
            ],
        ),
        (
            format!("/dashboard/webhooks/{id}/status"),
            vec![("status", "disabled")],
        ),
        (format!("/dashboard/webhooks/{id}/delete"), vec![]),
    ] {
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend(fields);
        let refused = member.post(&path, &form).await;
        assert_eq!(refused.status, 403, "{path}");
        assert!(refused.html.contains("Admins only"));
    }
    let api = api_webhook(&app, &id).await;
    assert_eq!(api["endpoint"], "https://hooks.example.com/herald");
    assert_eq!(api["status"], "enabled");
    assert_eq!(
        app.get("/webhooks").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn webhook_forms_need_the_csrf_token_and_this_site() {
    let app = spawn_app().await;
    let (id, _) = create_webhook(&app, "https://hooks.example.com/herald", &["email.sent"]).await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    let fields = [
        ("endpoint", "https://other.example.com/h"),
        ("event:email.sent", "on"),
    ];

    let missing = visitor.post("/dashboard/webhooks", &fields).await;
    assert_eq!(missing.status, 403);
    assert!(missing.html.contains("This form has expired"));
    let wrong = visitor
        .post(
            &format!("/dashboard/webhooks/{id}/delete"),
            &[("csrf_token", "not-the-token")],
        )
        .await;
    assert_eq!(wrong.status, 403);
    let cross_site = visitor
        .post_with(
            &format!("/dashboard/webhooks/{id}/status"),
            &[("csrf_token", &csrf), ("status", "disabled")],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    // htmx sends the token as a header.
    let with_header = visitor
        .post_with(
            &format!("/dashboard/webhooks/{id}/status"),
            &[("status", "disabled")],
            &[("x-csrf-token", &csrf), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(with_header.status, 303);

    let api = api_webhook(&app, &id).await;
    assert_eq!(api["status"], "disabled");
    assert_eq!(api["endpoint"], "https://hooks.example.com/herald");
    assert_eq!(
        app.get("/webhooks").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
