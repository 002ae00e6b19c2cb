//! Open and click tracking, end to end: a domain with tracking on, delivery to the SMTP
//! sink, then the pixel and a link fetched like a mail client would.

use serde_json::{Value, json};

use crate::delivery::{World, email_to, world};
use crate::emails::event_types;
use herald::on_db;

const HTML: &str = "<html><body><p>Hi</p>\
    <a href=\"https://example.com/a?x=1&amp;y=2\">Read</a> \
    <a href=\"mailto:help@acme.dev\">Mail us</a> <a href=\"#top\">Top</a> \
    <a href=\"https://acme.dev/unsubscribe?u=7\">Unsubscribe</a></body></html>";

async fn set_tracking(w: &World, opens: bool, clicks: bool) {
    let domains = w.app.get("/domains").await;
    let id = domains.body["data"][0]["id"].as_str().unwrap().to_string();
    let reply = w
        .app
        .patch(
            &format!("/domains/{id}"),
            json!({"open_tracking": opens, "click_tracking": clicks}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Sends one email to anna@dest.dev and returns its id and the HTML the sink received.
async fn send_and_receive(w: &World) -> (String, String) {
    let mut body = email_to(json!(["anna@dest.dev"]));
    body["html"] = json!(HTML);
    let (id, message) = w.send_one(body).await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .expect("parse");
    let html = parsed.body_html(0).expect("an html part").to_string();
    (id, html)
}

/// The first `…/t/{kind}/{token}` URL of `html`.
fn tracking_url(html: &str, base: &str, kind: &str) -> String {
    let prefix = format!("{base}/t/{kind}/");
    let at = html
        .find(&prefix)
        .unwrap_or_else(|| panic!("no {kind} url in {html}"));
    let rest = &html[at..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn event_data(w: &World, id: &str, kind: &str) -> Vec<(Option<String>, Value)> {
    let rows: Vec<(Option<String>, String)> = on_db!(w.app.app.db(), |pool| sqlx::query_as(
        "SELECT recipient, data FROM email_events WHERE email_id = $1 AND type = $2 \
         ORDER BY created_at, id"
    )
    .bind(id)
    .bind(kind)
    .fetch_all(pool)
    .await
    .unwrap());
    rows.into_iter()
        .map(|(r, d)| (r, serde_json::from_str(&d).unwrap()))
        .collect()
}

/// The webhook body the fan-out builds for the email's `kind` event.
async fn webhook_body(w: &World, id: &str, kind: &str) -> Value {
    use herald::webhooks::payload::{self, EmailFacts, EventRow};
    let (event, email): (EventRow, EmailFacts) = on_db!(w.app.app.db(), |pool| {
        let event = sqlx::query_as::<_, EventRow>(
            "SELECT id, email_id, team_id, type, recipient, data, created_at FROM email_events \
             WHERE email_id = $1 AND type = $2",
        )
        .bind(id)
        .bind(kind)
        .fetch_one(pool)
        .await
        .unwrap();
        let email = sqlx::query_as::<_, EmailFacts>(
            "SELECT id, from_address, to_addresses, subject, tags, headers, template_id, \
             message_id, created_at FROM emails WHERE id = $1",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
        (event, email)
    });
    let kind = payload::webhook_type(&event.kind).expect("a webhook type");
    serde_json::from_str(&payload::body(&kind, &event, &email)).unwrap()
}

#[tokio::test]
async fn tracked_links_and_pixel_record_opened_and_clicked() {
    let w = world().await;
    set_tracking(&w, true, true).await;
    let (id, html) = send_and_receive(&w).await;
    let base = w.app.app.public_base_url();

    // Links are rewritten, except mailto, anchors and unsubscribe links; the pixel is in.
    assert!(!html.contains("https://example.com/a"), "{html}");
    assert!(html.contains("href=\"mailto:help@acme.dev\""), "{html}");
    assert!(html.contains("href=\"#top\""), "{html}");
    assert!(
        html.contains("href=\"https://acme.dev/unsubscribe?u=7\""),
        "{html}"
    );
    assert!(
        html.contains(&format!("<img src=\"{base}/t/open/")),
        "{html}"
    );
    assert!(html.contains("</body></html>"), "{html}");
    let click = tracking_url(&html, &base, "click");
    let open = tracking_url(&html, &base, "open");

    // The pixel: a GIF nobody caches, and an `opened` event for the recipient.
    let client = no_redirects();
    // The test clock stands still: move it as a reader would take time.
    w.advance(60_000);
    let resp = client
        .get(&open)
        .header("user-agent", "TestMail/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/gif");
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    assert_eq!(&resp.bytes().await.unwrap()[..6], b"GIF89a");
    assert_eq!(w.last_event(&id).await, "opened");
    let opened = event_data(&w, &id, "opened").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].0.as_deref(), Some("anna@dest.dev"));
    assert_eq!(opened[0].1["open"]["userAgent"], "TestMail/1.0");
    assert_eq!(opened[0].1["open"]["ipAddress"], "127.0.0.1");

    w.advance(60_000);
    // The link: a redirect to the original (entities decoded), and a `clicked` event.
    let resp = client.get(&click).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    assert_eq!(resp.headers()["location"], "https://example.com/a?x=1&y=2");
    assert_eq!(w.last_event(&id).await, "clicked");
    let clicked = event_data(&w, &id, "clicked").await;
    assert_eq!(clicked.len(), 1);
    assert_eq!(
        clicked[0].1["click"]["link"],
        "https://example.com/a?x=1&y=2"
    );
    assert!(clicked[0].1["click"]["timestamp"].is_string());
    let types = event_types(&w.app, &id).await;
    assert_eq!(types.last().map(String::as_str), Some("clicked"));
    // The fan-out's body for it: Resend's `email.clicked` with the `click` object.
    let body = webhook_body(&w, &id, "clicked").await;
    assert_eq!(body["type"], "email.clicked");
    assert_eq!(body["data"]["to"], json!(["anna@dest.dev"]));
    assert_eq!(
        body["data"]["click"]["link"],
        "https://example.com/a?x=1&y=2"
    );
    assert_eq!(body["data"]["click"]["userAgent"], Value::Null);
    let body = webhook_body(&w, &id, "opened").await;
    assert_eq!(body["type"], "email.opened");

    // Tampered tokens are a 404 and record nothing; so is an unknown path.
    let before = event_types(&w.app, &id).await.len();
    let mut bad = click.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == '0' { '1' } else { '0' });
    let resp = client.get(&bad).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().get("location").is_none());
    let mut bad_open = open.clone();
    bad_open.insert(open.rfind('/').unwrap() + 1, 'x');
    assert_eq!(client.get(&bad_open).send().await.unwrap().status(), 404);
    // A click token passed as an open token does not verify either.
    let swapped = click.replace("/t/click/", "/t/open/");
    assert_eq!(client.get(&swapped).send().await.unwrap().status(), 404);
    assert_eq!(event_types(&w.app, &id).await.len(), before);
    assert_eq!(w.last_event(&id).await, "clicked");
}

#[tokio::test]
async fn without_tracking_the_html_is_sent_as_written() {
    let w = world().await;
    let (_, html) = send_and_receive(&w).await;
    assert_eq!(html.trim_end(), HTML);
}

#[tokio::test]
async fn open_tracking_alone_leaves_links_alone() {
    let w = world().await;
    set_tracking(&w, true, false).await;
    let (_, html) = send_and_receive(&w).await;
    let base = w.app.app.public_base_url();
    assert!(
        html.contains("href=\"https://example.com/a?x=1&amp;y=2\""),
        "{html}"
    );
    assert!(!html.contains("/t/click/"), "{html}");
    assert!(
        html.contains(&format!("<img src=\"{base}/t/open/")),
        "{html}"
    );
}
