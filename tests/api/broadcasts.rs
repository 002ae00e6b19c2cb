//! Broadcasts end to end: the API's rules and errors, the fan-out to a segment (who gets it,
//! personalisation, unsubscribe headers signed by DKIM), one-click unsubscribe, statistics.

use serde_json::{Value, json};

use crate::delivery::{SENDER_DOMAIN, World, dkim_passes, header_block, world};
use crate::helpers::{TestApp, assert_error, spawn_app};

use crate::helpers::DAY_MS as DAY;

pub async fn create_segment(app: &TestApp, name: &str) -> String {
    let reply = app.post("/segments", json!({ "name": name })).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

pub async fn add_contact(app: &TestApp, body: Value) -> String {
    let reply = app.post("/contacts", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

fn from() -> String {
    format!("Acme News <news@{SENDER_DOMAIN}>")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    herald::on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.to_string())
    )
    .fetch_one(pool)
    .await
    .unwrap())
}

/// Runs fan-outs and deliveries until none is due or running (the app's own workers may
/// hold one for a moment).
pub async fn settle(app: &TestApp) {
    for _ in 0..2000 {
        app.run_pending_jobs().await;
        crate::delivery::deliver(app).await;
        let busy: i64 = herald::on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM jobs WHERE kind IN ($1, $2) AND (state = 'running' OR \
             (state = 'queued' AND run_at <= $3))"
        )
        .bind(herald::broadcasts::fanout::JOB)
        .bind(herald::emails::DELIVER_JOB)
        .bind(app.app.now_ms())
        .fetch_one(pool)
        .await
        .unwrap());
        if busy == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("broadcasts did not settle");
}

#[tokio::test]
async fn drafts_are_created_listed_updated_and_deleted() {
    let app = spawn_app().await;
    let segment = create_segment(&app, "Everyone").await;
    let created = app
        .post(
            "/broadcasts",
            json!({"audience_id": segment, "from": "Acme <hi@acme.dev>", "subject": "News",
                   "name": "November", "reply_to": "help@acme.dev", "preview_text": "Read this",
                   "html": "<p>Hi {{{FIRST_NAME|there}}}</p>"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["object"], "broadcast");
    let id = created.body["id"].as_str().unwrap().to_string();
    let got = app.get(&format!("/broadcasts/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["object"], "broadcast");
    assert_eq!(got.body["segment_id"], segment.as_str());
    assert_eq!(got.body["audience_id"], segment.as_str());
    assert_eq!(got.body["status"], "draft");
    assert_eq!(got.body["reply_to"], json!(["help@acme.dev"]));
    assert_eq!(got.body["preview_text"], "Read this");
    assert_eq!(got.body["html"], "<p>Hi {{{FIRST_NAME|there}}}</p>");
    assert!(got.body["text"].is_null() && got.body["sent_at"].is_null());

    let updated = app
        .patch(
            &format!("/broadcasts/{id}"),
            json!({"subject": "Big news", "text": "Hi {{{EMAIL}}}"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let got = app.get(&format!("/broadcasts/{id}")).await;
    assert_eq!(got.body["subject"], "Big news");
    assert_eq!(got.body["text"], "Hi {{{EMAIL}}}");
    assert_eq!(got.body["name"], "November");

    let listed = app.get("/broadcasts").await;
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    assert_eq!(listed.body["data"][0]["status"], "draft");

    let copy = app
        .post(&format!("/broadcasts/{id}/duplicate"), json!({}))
        .await;
    assert_eq!(copy.status, 200, "{}", copy.body);
    let copy_id = copy.body["id"].as_str().unwrap();
    let got = app.get(&format!("/broadcasts/{copy_id}")).await;
    assert_eq!(got.body["name"], "November (copy)");
    assert_eq!(got.body["subject"], "Big news");
    let page = app.get("/broadcasts?limit=1").await;
    assert_eq!(page.body["has_more"], true);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 1);

    let deleted = app.delete(&format!("/broadcasts/{id}")).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "broadcast", "deleted": true})
    );
    assert_error(
        &app.get(&format!("/broadcasts/{id}")).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/broadcasts/not-a-uuid").await,
        422,
        "invalid_parameter",
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let segment = create_segment(&app, "Everyone").await;
    let base = json!({"segment_id": segment, "from": "Acme <hi@acme.dev>", "subject": "News", "html": "<p>x</p>"});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (json!({"segment_id": null}), 422, "missing_required_field"),
        (json!({"from": null}), 422, "missing_required_field"),
        (json!({"subject": null}), 422, "missing_required_field"),
        (
            json!({"from": "not an address"}),
            422,
            "invalid_from_address",
        ),
        (
            json!({"segment_id": "0190a0a0-0000-7000-8000-000000000001"}),
            422,
            "validation_error",
        ),
        (
            json!({"topic_id": "0190a0a0-0000-7000-8000-000000000001"}),
            422,
            "validation_error",
        ),
        (
            json!({"html": "<p>{{{NOT_A_PROPERTY}}}</p>"}),
            422,
            "validation_error",
        ),
        (
            json!({"scheduled_at": "in 1 hour"}),
            422,
            "validation_error",
        ),
        // Sending needs a verified domain.
        (json!({"send": true}), 403, "validation_error"),
    ];
    for (extra, status, name) in cases {
        let reply = app.post("/broadcasts", with(extra.clone())).await;
        assert_error(&reply, status, name);
        assert!(
            reply.body["message"].as_str().unwrap().len() > 10,
            "{extra}"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM broadcasts").await, 0);
    let id = app.post("/broadcasts", base.clone()).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let reply = app
        .patch(
            &format!("/broadcasts/{id}"),
            json!({"text": "{{{unknown_key|x}}}"}),
        )
        .await;
    assert_error(&reply, 422, "validation_error");
    assert!(app.get(&format!("/broadcasts/{id}")).await.body["text"].is_null());
    assert_error(
        &app.post(&format!("/broadcasts/{id}/send"), json!({})).await,
        403,
        "validation_error",
    );
    assert_error(
        &app.post(&format!("/broadcasts/{id}/cancel"), json!({}))
            .await,
        422,
        "validation_error",
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'broadcast_fanout'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn send_rules_schedule_and_cancel() {
    let w = world().await;
    let app = &w.app;
    let empty = create_segment(app, "Nobody").await;
    let segment = create_segment(app, "Readers").await;
    add_contact(app, json!({"email": "ann@dest.dev", "segments": [segment]})).await;
    let prop = app
        .post(
            "/contact-properties",
            json!({"key": "plan", "type": "string"}),
        )
        .await;
    assert_eq!(prop.status, 201, "{}", prop.body);
    let create = |segment: &str, html: &str| json!({"segment_id": segment, "from": from(), "subject": "News", "html": html});
    let id_of = |r: &crate::helpers::Reply| r.body["id"].as_str().unwrap().to_string();

    // An empty segment, or a property placeholder that may stay empty, cannot be sent.
    let b = id_of(&app.post("/broadcasts", create(&empty, "<p>x</p>")).await);
    assert_error(
        &app.post(&format!("/broadcasts/{b}/send"), json!({})).await,
        422,
        "validation_error",
    );
    let b = id_of(
        &app.post("/broadcasts", create(&segment, "<p>{{{plan}}}</p>"))
            .await,
    );
    assert_error(
        &app.post(&format!("/broadcasts/{b}/send"), json!({})).await,
        422,
        "validation_error",
    );
    assert_eq!(
        app.get(&format!("/broadcasts/{b}")).await.body["status"],
        "draft"
    );

    // Scheduling: not in the past, not beyond 30 days; a scheduled one stays a draft.
    let b = id_of(
        &app.post("/broadcasts", create(&segment, "<p>{{{plan|free}}}</p>"))
            .await,
    );
    let send = format!("/broadcasts/{b}/send");
    assert_error(
        &app.post(&send, json!({"scheduled_at": "2020-01-01T00:00:00Z"}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.post(&send, json!({"scheduled_at": "in 31 days"})).await,
        422,
        "validation_error",
    );
    let scheduled = app.post(&send, json!({"scheduled_at": "in 2 days"})).await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.body);
    assert_eq!(scheduled.body, json!({"id": b}));
    let got = app.get(&format!("/broadcasts/{b}")).await;
    assert_eq!(got.body["status"], "draft");
    assert!(got.body["scheduled_at"].is_string());
    // A scheduled broadcast cannot be edited, sent again or deleted; it can be canceled.
    assert_error(
        &app.patch(&format!("/broadcasts/{b}"), json!({"subject": "x"}))
            .await,
        422,
        "validation_error",
    );
    assert_error(&app.post(&send, json!({})).await, 422, "validation_error");
    w.app.run_pending_jobs().await;
    assert_eq!(count(app, "SELECT COUNT(*) FROM emails").await, 0);
    let canceled = app
        .post(&format!("/broadcasts/{b}/cancel"), json!({}))
        .await;
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    assert_eq!(canceled.body, json!({"id": b, "object": "broadcast"}));
    assert_eq!(
        app.get(&format!("/broadcasts/{b}")).await.body["status"],
        "canceled"
    );
    w.advance(3 * DAY);
    w.app.run_pending_jobs().await;
    assert_eq!(count(app, "SELECT COUNT(*) FROM emails").await, 0);

    // A scheduled send goes out when its time comes; then it is sent and frozen.
    let b = id_of(
        &app.post("/broadcasts", create(&segment, "<p>{{{plan|free}}}</p>"))
            .await,
    );
    let reply = app
        .post(
            &format!("/broadcasts/{b}/send"),
            json!({"scheduled_at": "in 1 hour"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    w.advance(2 * 3600 * 1000);
    settle(app).await;
    let got = app.get(&format!("/broadcasts/{b}")).await;
    assert_eq!(got.body["status"], "sent", "{}", got.body);
    assert!(got.body["sent_at"].is_string());
    assert_eq!(w.sink.count(), 1);
    assert_error(
        &app.patch(&format!("/broadcasts/{b}"), json!({"subject": "x"}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.post(&format!("/broadcasts/{b}/cancel"), json!({}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.delete(&format!("/broadcasts/{b}")).await,
        422,
        "validation_error",
    );

    // `send: true` at creation.
    let mut body = create(&segment, "<p>now</p>");
    body["send"] = json!(true);
    let reply = app.post("/broadcasts", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    settle(app).await;
    assert_eq!(w.sink.count(), 2);
}

/// The audience of the fan-out test: who is in, who is out and why.
async fn audience(w: &World) -> (String, String) {
    let app = &w.app;
    let segment = create_segment(app, "Readers").await;
    let topic = app
        .post("/topics", json!({"name": "Product news", "default_subscription": "opt_in", "visibility": "public"}))
        .await;
    let topic = topic.body["id"].as_str().unwrap().to_string();
    let prop = app
        .post(
            "/contact-properties",
            json!({"key": "plan", "type": "string", "fallback_value": "free"}),
        )
        .await;
    assert_eq!(prop.status, 201, "{}", prop.body);
    add_contact(app, json!({"email": "ann@dest.dev", "first_name": "Ann <A>", "segments": [segment], "properties": {"plan": "pro"}})).await;
    add_contact(app, json!({"email": "bob@dest.dev", "segments": [segment]})).await;
    add_contact(app, json!({"email": "cy@other.dev", "last_name": "Cy", "segments": [segment], "topics": [{"id": topic, "subscription": "opt_in"}]})).await;
    // Out: unsubscribed, suppressed, opted out of the topic, not in the segment.
    add_contact(
        app,
        json!({"email": "gone@dest.dev", "segments": [segment], "unsubscribed": true}),
    )
    .await;
    add_contact(
        app,
        json!({"email": "bounced@dest.dev", "segments": [segment]}),
    )
    .await;
    assert_eq!(
        app.post("/suppressions", json!({"email": "BOUNCED@dest.dev"}))
            .await
            .status,
        201
    );
    add_contact(app, json!({"email": "quiet@dest.dev", "segments": [segment], "topics": [{"id": topic, "subscription": "opt_out"}]})).await;
    add_contact(app, json!({"email": "elsewhere@dest.dev"})).await;
    (segment, topic)
}

#[tokio::test]
async fn a_broadcast_reaches_each_eligible_contact_once_personalised_with_one_click_unsubscribe() {
    let w = world().await;
    let app = &w.app;
    let (segment, topic) = audience(&w).await;
    let created = app
        .post(
            "/broadcasts",
            json!({"segment_id": segment, "topic_id": topic, "from": from(), "reply_to": "help@acme.dev",
                   "subject": "Hi {{{FIRST_NAME|friend}}}", "preview_text": "Our {{{plan}}} news",
                   "html": "<html><body><p>Dear {{{FIRST_NAME|reader}}} {{{LAST_NAME|}}}, plan {{{plan}}}, {{{EMAIL}}}.</p><p><a href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\">Unsubscribe</a></p></body></html>",
                   "send": true}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    settle(app).await;

    let got = app.get(&format!("/broadcasts/{id}")).await;
    assert_eq!(got.body["status"], "sent", "{}", got.body);
    let mut to: Vec<String> = w
        .sink
        .messages()
        .iter()
        .flat_map(|m| m.envelope.rcpt_to.clone())
        .collect();
    to.sort();
    assert_eq!(to, ["ann@dest.dev", "bob@dest.dev", "cy@other.dev"]);

    let messages = w.sink.messages();
    let ann = messages
        .iter()
        .find(|m| m.envelope.rcpt_to == ["ann@dest.dev"])
        .unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&ann.data)
        .unwrap();
    assert_eq!(parsed.subject(), Some("Hi Ann <A>"));
    let html = parsed.body_html(0).unwrap();
    assert!(
        html.contains("Dear Ann &lt;A&gt; , plan pro, ann@dest.dev."),
        "{html}"
    );
    assert!(html.contains("display:none"), "{html}");
    assert!(html.contains("Our pro news"), "{html}");
    let text = parsed.body_text(0).unwrap();
    assert!(text.contains("Dear Ann <A>"), "{text}");
    assert!(!text.contains("{{{"), "{text}");
    let headers = header_block(ann);
    assert!(
        headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{headers}"
    );
    assert!(
        headers.contains("Reply-To: <help@acme.dev>")
            || headers.contains("Reply-To: help@acme.dev"),
        "{headers}"
    );
    let dkim = headers
        .split("DKIM-Signature:")
        .nth(1)
        .unwrap()
        .to_ascii_lowercase();
    let signed = dkim
        .split("h=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .replace(['\r', '\n', ' ', '\t'], "");
    assert!(
        signed.split(':').any(|h| h == "list-unsubscribe"),
        "{signed}"
    );
    assert!(
        signed.split(':').any(|h| h == "list-unsubscribe-post"),
        "{signed}"
    );
    assert!(dkim_passes(&w.dns, &ann.data).await);
    let unsubscribe_url = parsed
        .header_raw("List-Unsubscribe")
        .unwrap()
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();
    assert!(unsubscribe_url.contains("/u/"), "{unsubscribe_url}");
    assert!(!unsubscribe_url.contains("ann"), "{unsubscribe_url}");
    assert!(
        html.contains(&unsubscribe_url.replace('&', "&amp;")),
        "{html}"
    );
    let bob = messages
        .iter()
        .find(|m| m.envelope.rcpt_to == ["bob@dest.dev"])
        .unwrap();
    let bob_html = mail_parser::MessageParser::default()
        .parse(&bob.data)
        .unwrap()
        .body_html(0)
        .unwrap()
        .to_string();
    assert!(
        bob_html.contains("Dear reader , plan free, bob@dest.dev."),
        "{bob_html}"
    );

    // Every email names the broadcast and its contact.
    assert_eq!(
        count(
            app,
            &format!(
                "SELECT COUNT(*) FROM emails WHERE broadcast_id = '{id}' AND contact_id IS NOT NULL"
            )
        )
        .await,
        3
    );

    // A forged or altered token changes nothing; the genuine one unsubscribes at once.
    let mut forged = unsubscribe_url.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let reply = app
        .client
        .post(&forged)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    let ann_contact = app.get("/contacts/ann@dest.dev").await;
    assert_eq!(ann_contact.body["unsubscribed"], false);
    let reply = app
        .client
        .post(&unsubscribe_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        app.get("/contacts/ann@dest.dev").await.body["unsubscribed"],
        true
    );

    // Statistics.
    let perf = herald::broadcasts::stats::performance(&app.app, &team(app).await, &id)
        .await
        .unwrap();
    assert_eq!(perf.recipients, 3);
    assert_eq!(perf.delivered, 3);
    assert_eq!(perf.unsubscribed, 1);
    let delivered = app
        .get(&format!("/broadcasts/{id}/recipients?type=delivered"))
        .await;
    assert_eq!(delivered.status, 200, "{}", delivered.body);
    assert_eq!(delivered.body["data"].as_array().unwrap().len(), 3);
    assert_eq!(delivered.body["data"][0]["email"], "ann@dest.dev");
    let unsub = app
        .get(&format!("/broadcasts/{id}/recipients?type=unsubscribed"))
        .await;
    assert_eq!(unsub.body["data"][0]["email"], "ann@dest.dev");
    let page = app
        .get(&format!(
            "/broadcasts/{id}/recipients?type=delivered&limit=2"
        ))
        .await;
    assert_eq!(page.body["has_more"], true);
    let after = page.body["data"][1]["id"].as_str().unwrap();
    let next = app
        .get(&format!(
            "/broadcasts/{id}/recipients?type=delivered&limit=2&after={after}"
        ))
        .await;
    assert_eq!(next.body["data"][0]["email"], "cy@other.dev");
    assert_eq!(next.body["has_more"], false);
    assert_error(
        &app.get(&format!("/broadcasts/{id}/recipients")).await,
        422,
        "missing_required_field",
    );
    assert_error(
        &app.get(&format!(
            "/broadcasts/{id}/recipients?type=delivered&bounce_type=permanent"
        ))
        .await,
        422,
        "validation_error",
    );
    let links = app.get(&format!("/broadcasts/{id}/clicked-links")).await;
    assert_eq!(links.status, 200);
    assert_eq!(links.body["data"], json!([]));
}

async fn team(app: &TestApp) -> String {
    herald::teams::first_team_id(&app.app)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn transactional_email_with_a_topic_gets_the_contacts_unsubscribe_link() {
    let w = world().await;
    let app = &w.app;
    let topic = app
        .post(
            "/topics",
            json!({"name": "Receipts", "default_subscription": "opt_in"}),
        )
        .await;
    let topic = topic.body["id"].as_str().unwrap().to_string();
    add_contact(app, json!({"email": "ann@dest.dev"})).await;
    let sent = app
        .post(
            "/emails",
            json!({"from": from(), "to": "ann@dest.dev", "subject": "Receipt", "topic_id": topic,
                   "html": "<p>Thanks. <a href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\">Stop these</a></p>",
                   "text": "Thanks. Stop these: {{{RESEND_UNSUBSCRIBE_URL}}}"}),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    settle(app).await;
    let message = &w.sink.messages()[0];
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .unwrap();
    let url = parsed
        .header_raw("List-Unsubscribe")
        .expect("List-Unsubscribe")
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    assert!(url.contains("/u/"), "{url}");
    assert!(header_block(message).contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    assert!(parsed.body_text(0).unwrap().contains(&url));
    assert!(parsed.body_html(0).unwrap().contains("/u/"));
    assert!(dkim_passes(&w.dns, &message.data).await);
    let reply = app.client.post(&url).send().await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        app.get("/contacts/ann@dest.dev").await.body["unsubscribed"],
        true
    );
}
