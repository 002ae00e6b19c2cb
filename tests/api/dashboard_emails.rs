//! The Emails pages of the dashboard at HTTP level: the list (newest first, keyset pages of
//! 50, filters by status, from, to, subject, date range and tag, combined), an email's page
//! (timeline with the bounce reason, headers, tags, attachments with kinds and working signed
//! links, the text version) and the sandboxed HTML preview with its own strict headers.

use std::sync::Arc;

use herald::auth::sessions::{self, Role};
use herald::clock::ManualClock;
use serde_json::{Value, json};

use crate::dashboard::{Page, Visitor, sign_in_admin, sign_in_member};
use crate::emails::settle;
use crate::helpers::{DAY_MS, START_MS};
use crate::helpers::{TestApp, spawn_app, spawn_app_with_clock};

fn email(to: &str, from: &str, subject: &str, tags: Value) -> Value {
    json!({ "from": from, "to": to, "subject": subject, "html": "<p>Hi</p>", "tags": tags })
}

async fn send(app: &TestApp, body: Value) -> String {
    let reply = app.post("/emails", body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

/// The ids of the email rows, in page order.
fn email_ids(html: &str) -> Vec<String> {
    html.split("<tr id=\"email-")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The `href` of the element with this id, unescaped.
fn link(page: &Page, id: &str) -> Option<String> {
    let at = page.html.find(&format!("id=\"{id}\""))?;
    let start = page.html[..at].rfind("href=\"")? + 6;
    let end = start + page.html[start..].find('"')?;
    Some(page.html[start..end].replace("&#38;", "&"))
}

#[tokio::test]
async fn the_list_filters_by_status_from_to_subject_dates_and_tags() {
    let clock = Arc::new(ManualClock::new(START_MS));
    let app = spawn_app_with_clock(clock.clone()).await;
    let (visitor, _) = sign_in_admin(&app).await;

    let empty = visitor.get("/dashboard/emails").await;
    assert_eq!(empty.status, 200);
    assert!(empty.html.contains("No emails yet"));
    assert!(
        empty
            .html
            .contains("href=\"/dashboard/emails\" aria-current=\"page\"")
    );

    // Day 1: a welcome email that is delivered. Day 3: an invoice that bounces. Day 5: a
    // welcome email from another sender to another recipient.
    let welcome = send(
        &app,
        email(
            "delivered@resend.dev",
            "Acme <onboarding@resend.dev>",
            "Welcome to Acme",
            json!([{"name": "category", "value": "welcome"}]),
        ),
    )
    .await;
    clock.advance(2 * DAY_MS);
    let invoice = send(
        &app,
        email(
            "bounced@resend.dev",
            "Billing <billing@resend.dev>",
            "Your invoice 50% paid",
            json!([{"name": "category", "value": "invoice"}, {"name": "urgent"}]),
        ),
    )
    .await;
    clock.advance(2 * DAY_MS);
    let later = send(
        &app,
        email(
            "delivered+ann@resend.dev",
            "Billing <billing@resend.dev>",
            "WELCOME back",
            json!([{"name": "category", "value": "welcome"}]),
        ),
    )
    .await;
    settle(&app).await;
    let (welcome, invoice, later) = (welcome.as_str(), invoice.as_str(), later.as_str());

    let all = visitor.get("/dashboard/emails").await;
    assert_eq!(email_ids(&all.html), [later, invoice, welcome]);
    // Columns: to, status, subject, sent time.
    let row = &all.html[all.html.find(&format!("id=\"email-{invoice}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("bounced@resend.dev"), "{row}");
    assert!(row.contains(">Bounced<"), "{row}");
    assert!(row.contains("Your invoice 50% paid"), "{row}");
    assert!(row.contains("2 days ago"), "{row}");
    assert!(row.contains(&format!("href=\"/dashboard/emails/{invoice}\"")));

    let ids = |query: &'static str| {
        let visitor = &visitor;
        async move {
            let page = visitor.get(&format!("/dashboard/emails?{query}")).await;
            assert_eq!(page.status, 200, "{query}: {}", page.html);
            email_ids(&page.html)
        }
    };
    assert_eq!(ids("status=bounced").await, [invoice]);
    assert_eq!(ids("status=delivered").await, [later, welcome]);
    assert!(ids("status=complained").await.is_empty());
    // An unknown status is no filter at all.
    assert_eq!(ids("status=nonsense").await.len(), 3);
    assert_eq!(ids("from=billing").await, [later, invoice]);
    assert_eq!(ids("from=ACME").await, [welcome]);
    assert_eq!(ids("to=ann%40").await, [later]);
    assert_eq!(ids("to=resend.dev").await.len(), 3);
    // Subject: contains, any case; `%` and `_` are plain characters.
    assert_eq!(ids("subject=welcome").await, [later, welcome]);
    assert_eq!(ids("subject=50%25").await, [invoice]);
    assert!(ids("subject=5_%25").await.is_empty());
    // Tags: a name, or name:value exactly.
    assert_eq!(ids("tag=category").await.len(), 3);
    assert_eq!(ids("tag=category%3Awelcome").await, [later, welcome]);
    assert_eq!(ids("tag=urgent").await, [invoice]);
    assert!(ids("tag=category%3Awelc").await.is_empty());
    // Dates are UTC days; both ends are included.
    assert_eq!(ids("since=2026-03-12").await, [later, invoice]);
    assert_eq!(ids("until=2026-03-12").await, [invoice, welcome]);
    assert_eq!(ids("since=2026-03-12&until=2026-03-12").await, [invoice]);
    assert!(ids("since=2026-03-15").await.is_empty());
    // Filters combine.
    assert_eq!(ids("from=billing&tag=category%3Awelcome").await, [later]);
    assert_eq!(
        ids("subject=welcome&status=delivered&since=2026-03-11").await,
        [later]
    );
    assert!(ids("from=acme&to=bounced").await.is_empty());

    // The form shows the filters back, and says when nothing matches.
    let filtered = visitor
        .get(
            "/dashboard/emails?status=bounced&from=billing&tag=category%3Ainvoice&since=2026-03-12",
        )
        .await;
    assert!(
        filtered
            .html
            .contains("<option value=\"bounced\" selected>")
    );
    assert_eq!(filtered.input("from"), "billing");
    assert_eq!(filtered.input("tag"), "category:invoice");
    assert_eq!(filtered.input("since"), "2026-03-12");
    assert!(filtered.html.contains("id=\"clear-filters\""));
    let none = visitor
        .get("/dashboard/emails?subject=nothing-like-this")
        .await;
    assert!(none.html.contains("No emails match"));
    // A date that does not read is said so, not ignored silently.
    let bad = visitor.get("/dashboard/emails?since=12%2F03%2F2026").await;
    assert_eq!(bad.status, 200);
    assert!(bad.html.contains("Dates must be written YYYY-MM-DD."));
    assert_eq!(email_ids(&bad.html).len(), 3);
    // Text typed in the filters is escaped in the page.
    let hostile = visitor
        .get("/dashboard/emails?subject=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert!(!hostile.html.contains("<script>alert(1)"));
}

#[tokio::test]
async fn the_list_pages_by_keyset_and_keeps_the_filters() {
    let app = spawn_app().await;
    let (visitor, _) = sign_in_admin(&app).await;
    // 60 delivered and 5 bounced emails.
    let batch: Vec<Value> = (0..60)
        .map(|i| {
            email(
                "delivered@resend.dev",
                "onboarding@resend.dev",
                &format!("Batch {i}"),
                json!([]),
            )
        })
        .collect();
    let reply = app.post("/emails/batch", Value::Array(batch)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for i in 0..5 {
        send(
            &app,
            email(
                "bounced@resend.dev",
                "onboarding@resend.dev",
                &format!("Bounce {i}"),
                json!([]),
            ),
        )
        .await;
    }
    settle(&app).await;
    let newest_first: Vec<String> = {
        let api = app.get("/emails?limit=100").await;
        api.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(newest_first.len(), 65);

    let first = visitor.get("/dashboard/emails").await;
    assert_eq!(email_ids(&first.html), newest_first[..50]);
    assert!(link(&first, "newer").is_none());
    let older = link(&first, "older").expect("an older page");
    assert_eq!(
        older,
        format!("/dashboard/emails?after={}", newest_first[49])
    );
    let second = visitor.get(&older).await;
    assert_eq!(email_ids(&second.html), newest_first[50..]);
    assert!(link(&second, "older").is_none());
    let back = visitor
        .get(&link(&second, "newer").expect("a newer page"))
        .await;
    assert_eq!(email_ids(&back.html), newest_first[..50]);

    // With a filter, the pages walk the matching emails only and the links keep the filter.
    let delivered: Vec<&String> = newest_first
        .iter()
        .filter(|id| !newest_first[..5].contains(id))
        .collect();
    let first = visitor
        .get("/dashboard/emails?status=delivered&subject=batch")
        .await;
    assert_eq!(
        email_ids(&first.html),
        delivered[..50]
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
    );
    let older = link(&first, "older").unwrap();
    assert!(
        older.starts_with("/dashboard/emails?status=delivered&subject=batch&after="),
        "{older}"
    );
    let second = visitor.get(&older).await;
    assert_eq!(
        email_ids(&second.html),
        delivered[50..]
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
    );
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A 1×1 PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

const HOSTILE_HTML: &str = "<h1>Spring sale</h1><script>alert('owned')</script>\
    <img src=\"https://tracker.example/pixel.gif\"><p onclick=\"steal()\">Up to 50% off</p>";

#[tokio::test]
async fn the_email_page_shows_timeline_headers_attachments_and_a_sandboxed_preview() {
    let app = spawn_app().await;
    let (visitor, _) = sign_in_admin(&app).await;
    let id = send(
        &app,
        json!({
            "from": "Acme Store <store@resend.dev>",
            "to": ["bounced@resend.dev", "delivered@resend.dev"],
            "cc": "delivered+cc@resend.dev",
            "bcc": ["delivered+bcc@resend.dev"],
            "reply_to": "Support <support@resend.dev>",
            "subject": "Spring sale",
            "html": HOSTILE_HTML,
            "text": "Spring sale\nUp to 50% off",
            "headers": {"X-Campaign": "spring-2026"},
            "tags": [{"name": "category", "value": "promo"}],
            "attachments": [
                {"filename": "logo.png", "content": base64(PNG)},
                {"filename": "invoice.pdf", "content": base64(b"%PDF-1.4 test")},
                {"filename": "report.csv", "content": base64(b"name,total\nann,3\n")},
                {"filename": "notes.txt", "content": base64(b"plain notes")},
            ],
        }),
    )
    .await;
    settle(&app).await;

    let page = visitor.get(&format!("/dashboard/emails/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let html = &page.html;
    // The sender's markup never reaches the dashboard page: only the sandboxed frame.
    assert!(
        !html.contains("alert('owned')") && !html.contains("steal()"),
        "{html}"
    );
    assert!(!html.contains("tracker.example"));
    assert!(html.contains(&format!(
        "sandbox=\"\" referrerpolicy=\"no-referrer\" src=\"/dashboard/emails/{id}/preview\""
    )));
    // Headers and tags.
    for expected in [
        "data-header=\"from\">Acme Store &#60;store@resend.dev&#62;",
        "bounced@resend.dev</span>, <span class=\"address\">delivered@resend.dev",
        "data-header=\"cc\"><span class=\"address\">delivered+cc@resend.dev",
        "data-header=\"bcc\"><span class=\"address\">delivered+bcc@resend.dev",
        "data-header=\"reply-to\"><span class=\"address\">Support &#60;support@resend.dev&#62;",
        "data-custom-header=\"X-Campaign\">spring-2026",
        "data-tag=\"category\"><span><strong>category</strong>: promo",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    // The timeline: queued, then per recipient (to, cc, bcc order) with the bounce reason.
    let events: Vec<&str> = html
        .split("data-event=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(
        events,
        [
            "queued",
            "sent",
            "bounced",
            "sent",
            "delivered",
            "sent",
            "delivered",
            "sent",
            "delivered"
        ]
    );
    assert!(html.contains("simulated bounce of a test address"));
    assert!(html.contains("smtp; 550 5.1.1 &#60;bounced@resend.dev&#62;: simulated bounce"));
    assert!(html.contains("id=\"email-status\">Delivered<"));
    // The text version, escaped.
    assert!(html.contains(
        "<pre class=\"text-version\" id=\"text-version\">Spring sale\nUp to 50% off</pre>"
    ));
    // Attachments: kind icons and signed links that work.
    let kinds: Vec<&str> = html
        .split("data-kind=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(kinds, ["image", "pdf", "spreadsheet", "other"]);
    let start = html.find("class=\"attachment-name\" href=\"").unwrap() + 30;
    let url = html[start..start + html[start..].find('"').unwrap()].replace("&#38;", "&");
    assert!(
        url.contains("/downloads/attachments/") && url.contains("signature="),
        "{url}"
    );
    let download = reqwest::get(&url).await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().as_ref(), PNG);

    // The preview: the HTML alone, with headers that sandbox it and forbid every fetch.
    let preview = visitor
        .get(&format!("/dashboard/emails/{id}/preview"))
        .await;
    assert_eq!(preview.status, 200);
    assert_eq!(preview.html, HOSTILE_HTML);
    let header = |name: &str| preview.headers[name].to_str().unwrap().to_string();
    let csp = header("content-security-policy");
    for part in [
        "sandbox",
        "default-src 'none'",
        "img-src data:",
        "frame-ancestors 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("script-src"));
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert_eq!(header("x-frame-options"), "SAMEORIGIN");
    assert_eq!(header("cache-control"), "no-store");
    // The dashboard pages themselves keep theirs.
    assert_eq!(page.headers["x-frame-options"], "DENY");

    // An email without HTML has no frame; unknown emails are 404; no session, no preview.
    let plain = send(&app, json!({"from": "a@resend.dev", "to": "delivered@resend.dev", "subject": "Plain", "text": "just text"})).await;
    let plain_page = visitor.get(&format!("/dashboard/emails/{plain}")).await;
    assert!(plain_page.html.contains("This email has no HTML version."));
    assert!(!plain_page.html.contains("<iframe"));
    let unknown = uuid::Uuid::now_v7();
    assert_eq!(
        visitor
            .get(&format!("/dashboard/emails/{unknown}"))
            .await
            .status,
        404
    );
    assert_eq!(
        visitor
            .get(&format!("/dashboard/emails/{unknown}/preview"))
            .await
            .status,
        404
    );
    let stranger = Visitor::new(&app);
    let refused = stranger
        .get(&format!("/dashboard/emails/{id}/preview"))
        .await;
    assert_eq!(refused.status, 303);
    assert_eq!(refused.location(), "/login");
}

#[tokio::test]
async fn members_see_emails_and_other_teams_do_not() {
    let app = spawn_app().await;
    let id = send(
        &app,
        email(
            "delivered@resend.dev",
            "a@resend.dev",
            "Team news",
            json!([]),
        ),
    )
    .await;
    let (member, _) = sign_in_member(&app).await;
    assert_eq!(
        email_ids(&member.get("/dashboard/emails").await.html),
        [id.as_str()]
    );
    assert_eq!(
        member.get(&format!("/dashboard/emails/{id}")).await.status,
        200
    );
    assert_eq!(
        member
            .get(&format!("/dashboard/emails/{id}/preview"))
            .await
            .status,
        200
    );

    // A user of another team sees none of it.
    let other = herald::teams::create_team(&app.app, "Other").await.unwrap();
    sessions::create_user(
        &app.app,
        &other,
        "other@example.com",
        "other-password",
        Role::Admin,
    )
    .await
    .unwrap();
    let outsider = Visitor::new(&app);
    outsider
        .sign_in("other@example.com", "other-password")
        .await;
    assert!(email_ids(&outsider.get("/dashboard/emails").await.html).is_empty());
    assert_eq!(
        outsider
            .get(&format!("/dashboard/emails/{id}"))
            .await
            .status,
        404
    );
    assert_eq!(
        outsider
            .get(&format!("/dashboard/emails/{id}/preview"))
            .await
            .status,
        404
    );
}
