//! The broadcast pages at HTTP level: the list, the editor (Markdown with styles, HTML, live
//! and saved previews), test email, send behind a confirmation, schedule, cancel, duplicate,
//! delete, the performance page and its live part, the contact history entries, Settings →
//! Branding, and the hosted unsubscribe page (signed links, signed forms, CSRF).

use serde_json::json;

use crate::dashboard::{Visitor, add_domain, sign_in_admin, sign_in_member, team_id};
use crate::helpers::{TestApp, spawn_app};

#[tokio::test]
async fn branding_settings() {
    let app = spawn_app().await;
    let (admin, csrf) = sign_in_admin(&app).await;

    // Defaults: the team's name and the default accent.
    let page = admin.get("/dashboard/settings/branding").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.input("name"), "My team");
    assert_eq!(page.input("accent_color"), "#4f46e5");
    assert!(page.html.contains("href=\"/dashboard/settings/branding\""));
    assert!(page.html.contains("id=\"save-branding\""));

    // Bad input is refused with the values kept, and nothing is stored.
    let refused = admin
        .post(
            "/dashboard/settings/branding",
            &[
                ("csrf_token", &csrf),
                ("name", "Acme <News>"),
                ("logo_url", "javascript:alert(1)"),
                ("accent_color", "#ff6600"),
                ("footer_text", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("logo URL must be an https://"));
    assert!(refused.html.contains("value=\"Acme &#60;News&#62;\""));
    let team = team_id(&app).await;
    assert_eq!(
        herald::branding::get(&app.app, &team).await.unwrap().name,
        "My team"
    );

    // Without the CSRF token, or from another site: refused.
    let forged = admin
        .post(
            "/dashboard/settings/branding",
            &[("name", "Evil"), ("accent_color", "#000000")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let cross = admin
        .post_with(
            "/dashboard/settings/branding",
            &[("csrf_token", &csrf), ("name", "Evil")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);

    let saved = admin
        .post(
            "/dashboard/settings/branding",
            &[
                ("csrf_token", &csrf),
                ("name", "Acme News"),
                ("logo_url", "https://acme.example/logo.png"),
                ("accent_color", "#ff6600"),
                ("footer_text", "Acme Inc, 1 Market Street"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let page = admin.get(saved.location()).await;
    assert!(page.html.contains("Branding saved."));
    assert_eq!(page.input("logo_url"), "https://acme.example/logo.png");
    let stored = herald::branding::get(&app.app, &team).await.unwrap();
    assert_eq!(stored.name, "Acme News");
    assert_eq!(stored.accent_color, "#ff6600");
    assert_eq!(
        stored.footer_text.as_deref(),
        Some("Acme Inc, 1 Market Street")
    );

    // Members see it but cannot change it.
    let (member, member_csrf) = sign_in_member(&app).await;
    let page = member.get("/dashboard/settings/branding").await;
    assert_eq!(page.status, 200);
    assert!(
        page.html
            .contains("Only team admins can change the branding.")
    );
    let denied = member
        .post(
            "/dashboard/settings/branding",
            &[("csrf_token", &member_csrf), ("name", "Member's")],
        )
        .await;
    assert_eq!(denied.status, 403);
    assert_eq!(
        herald::branding::get(&app.app, &team).await.unwrap().name,
        "Acme News"
    );
}

/// A verified domain, a segment of three contacts (test addresses, so nothing leaves the
/// machine) with a custom property, and a public topic. Returns (segment id, topic id).
pub async fn audience(app: &TestApp) -> (String, String) {
    add_domain(app, "news.example").await;
    let property = app
        .post(
            "/contact-properties",
            json!({"key": "plan", "type": "string", "fallback_value": "free"}),
        )
        .await;
    assert_eq!(property.status, 201, "{:?}", property.body);
    let segment = app.post("/segments", json!({"name": "Readers"})).await;
    assert_eq!(segment.status, 201, "{:?}", segment.body);
    let segment = segment.body["id"].as_str().unwrap().to_string();
    let topic = app
        .post(
            "/topics",
            json!({"name": "Product news", "default_subscription": "opt_in", "visibility": "public"}),
        )
        .await;
    assert_eq!(topic.status, 201, "{:?}", topic.body);
    let topic = topic.body["id"].as_str().unwrap().to_string();
    for (email, first) in [
        ("delivered+ann@resend.dev", "Ann"),
        ("delivered+bob@resend.dev", "Bob"),
        ("delivered+cy@resend.dev", ""),
    ] {
        let created = app
            .post(
                "/contacts",
                json!({"email": email, "first_name": first, "segments": [segment]}),
            )
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
    }
    (segment, topic)
}

fn editor_fields<'a>(
    csrf: &'a str,
    segment: &'a str,
    markdown: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf_token", csrf),
        ("name", "December news"),
        ("segment_id", segment),
        ("topic_id", ""),
        ("from", "Acme News <news@news.example>"),
        ("reply_to", "replies@news.example"),
        ("subject", "What is new in December"),
        ("preview_text", "Three things"),
        ("mode", "markdown"),
        ("markdown", markdown),
        ("html", ""),
        ("text", ""),
        ("style_background", "#f4f4f5"),
        ("style_container", "#ffffff"),
        ("style_text", "#27272a"),
        ("style_link", "#ff6600"),
        ("style_width", "560"),
        ("style_font", "serif"),
        ("h1_size", "30"),
        ("h1_weight", "700"),
        ("h1_align", "center"),
    ]
}

fn id_from(location: &str) -> String {
    location
        .split('?')
        .next()
        .unwrap()
        .trim_end_matches("/performance")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn broadcast_editor_list_and_previews() {
    let app = spawn_app().await;
    let (segment, _topic) = audience(&app).await;
    // A member may use every broadcast page.
    let (visitor, csrf) = sign_in_member(&app).await;

    let list = visitor.get("/dashboard/broadcasts").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("No broadcasts yet"));
    assert!(
        list.html.contains("href=\"/dashboard/broadcasts\""),
        "nav link"
    );

    let new = visitor.get("/dashboard/broadcasts/new").await;
    assert_eq!(new.status, 200);
    assert!(
        new.html.contains("{{{RESEND_UNSUBSCRIBE_URL}}}"),
        "starter and helper"
    );
    assert!(new.html.contains("{{{plan}}}"), "custom properties offered");
    assert!(new.html.contains("Readers (3 contacts)"));

    // A bad style is refused with the values kept; nothing is stored.
    let markdown = "# Hi {{{FIRST_NAME|there}}}\n\nYour plan: **{{{plan}}}**.\n\n\
                    {align=right size=12}\n[Unsubscribe]({{{RESEND_UNSUBSCRIBE_URL}}})\n";
    let mut bad = editor_fields(&csrf, &segment, markdown);
    bad.push(("style_width", "5000"));
    let refused = visitor.post("/dashboard/broadcasts/new", &bad).await;
    assert_eq!(refused.status, 422);
    assert!(refused.html.contains("Container width"), "{}", refused.html);
    assert!(refused.html.contains("Your plan: **{{{plan}}}**"));
    assert_eq!(app.get("/broadcasts").await.body["data"], json!([]));

    // Without the CSRF token: refused.
    let forged = visitor
        .post(
            "/dashboard/broadcasts/new",
            &editor_fields("", &segment, markdown),
        )
        .await;
    assert_eq!(forged.status, 403);

    let created = visitor
        .post(
            "/dashboard/broadcasts/new",
            &editor_fields(&csrf, &segment, markdown),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let id = id_from(created.location());
    let stored = app.get(&format!("/broadcasts/{id}")).await.body;
    assert_eq!(stored["status"], "draft");
    assert_eq!(stored["name"], "December news");
    let html = stored["html"].as_str().unwrap();
    assert!(html.contains("max-width:560px"), "{html}");
    assert!(html.contains("font-size:30px;line-height:1.3;font-weight:700;text-align:center;\">Hi {{{FIRST_NAME|there}}}</h1>"), "{html}");
    assert!(
        html.contains("href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\" style=\"color:#ff6600;"),
        "{html}"
    );
    assert!(
        html.contains("font-size:12px;line-height:1.6;font-weight:400;text-align:right;"),
        "{html}"
    );
    assert!(html.contains("Georgia"), "serif font");

    // The editor reopens in Markdown mode with the styles as saved.
    let page = visitor.get(created.location()).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Broadcast created as a draft."));
    assert!(page.html.contains("data-mode=\"markdown\""));
    assert!(
        page.html
            .contains("name=\"style_link\" type=\"color\" value=\"#ff6600\"")
    );
    assert!(page.html.contains("id=\"send\""));

    // The saved preview: sandboxed, fallbacks filled.
    let preview = visitor
        .get(&format!("/dashboard/broadcasts/{id}/preview"))
        .await;
    assert_eq!(preview.status, 200);
    let csp = preview.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    assert!(preview.html.contains("Hi there</h1>"), "{}", preview.html);
    assert!(preview.html.contains("[plan]"));

    // The live preview renders what is typed, without saving, and needs the token.
    let live = visitor
        .post(
            "/dashboard/broadcasts/preview",
            &editor_fields(&csrf, &segment, "## Live <b>draft</b>"),
        )
        .await;
    assert_eq!(live.status, 200);
    assert!(
        live.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox;")
    );
    assert!(
        live.html.contains("Live &lt;b&gt;draft&lt;/b&gt;</h2>"),
        "{}",
        live.html
    );
    let live_forged = visitor
        .post(
            "/dashboard/broadcasts/preview",
            &editor_fields("x", &segment, "x"),
        )
        .await;
    assert_eq!(live_forged.status, 403);

    // HTML mode stores the HTML as written.
    let mut html_mode = editor_fields(&csrf, &segment, "");
    html_mode.retain(|(k, _)| !matches!(*k, "mode" | "html"));
    html_mode.push(("mode", "html"));
    html_mode.push(("html", "<p>Hello {{{FIRST_NAME|friend}}}</p>"));
    let saved = visitor
        .post(&format!("/dashboard/broadcasts/{id}"), &html_mode)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let stored = app.get(&format!("/broadcasts/{id}")).await.body;
    assert_eq!(stored["html"], "<p>Hello {{{FIRST_NAME|friend}}}</p>");
    let page = visitor.get(&format!("/dashboard/broadcasts/{id}")).await;
    assert!(page.html.contains("data-mode=\"html\""));

    // The list: status, segment, pages.
    let list = visitor.get("/dashboard/broadcasts").await;
    assert!(list.html.contains("December news"));
    assert!(list.html.contains("Readers"));
    assert!(list.html.contains(">Draft<"));
    let sent_only = visitor.get("/dashboard/broadcasts?status=sent").await;
    assert!(sent_only.html.contains("No broadcasts match"));
}

#[tokio::test]
async fn broadcast_test_send_schedule_cancel_duplicate_and_performance() {
    let app = spawn_app().await;
    let (segment, _topic) = audience(&app).await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    let markdown = "# Hi {{{FIRST_NAME|there}}}\n\n[Read more](https://news.example/december)\n\n\
                    [Unsubscribe]({{{RESEND_UNSUBSCRIBE_URL}}})\n";
    let created = visitor
        .post(
            "/dashboard/broadcasts/new",
            &editor_fields(&csrf, &segment, markdown),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let id = id_from(created.location());
    let page_path = format!("/dashboard/broadcasts/{id}");

    // Test email: sent to the address, without the Reply-To.
    let test = visitor
        .post(
            &format!("{page_path}/test"),
            &[("csrf_token", &csrf), ("to", "delivered+me@resend.dev")],
        )
        .await;
    assert_eq!(test.status, 303, "{}", test.html);
    let shown = visitor.get(test.location()).await;
    assert!(
        shown
            .html
            .contains("Test email sent to delivered+me@resend.dev."),
        "{}",
        shown.html
    );
    let email_id = shown
        .html
        .split("/dashboard/emails/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let email = app.get(&format!("/emails/{email_id}")).await.body;
    assert_eq!(email["to"], json!(["delivered+me@resend.dev"]));
    assert!(
        email["reply_to"].is_null() || email["reply_to"] == json!([]),
        "{email}"
    );

    // Sending needs the explicit confirmation.
    let confirm = visitor.get(&format!("{page_path}/send")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("3 contacts"), "{}", confirm.html);
    let unconfirmed = visitor
        .post(
            &format!("{page_path}/send"),
            &[("csrf_token", &csrf), ("when", "now")],
        )
        .await;
    assert_eq!(unconfirmed.status, 422);
    assert!(unconfirmed.html.contains("Tick the box"));
    assert_eq!(
        app.get(&format!("/broadcasts/{id}")).await.body["status"],
        "draft"
    );

    // Schedule, then cancel the schedule.
    let scheduled = visitor
        .post(
            &format!("{page_path}/send"),
            &[
                ("csrf_token", &csrf),
                ("when", "later"),
                ("scheduled_at", "in 2 hours"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(scheduled.status, 303, "{}", scheduled.html);
    let page = visitor.get(scheduled.location()).await;
    assert!(page.html.contains(">Scheduled<"), "{}", page.html);
    assert!(page.html.contains("id=\"cancel-schedule\""));
    assert!(!app.get(&format!("/broadcasts/{id}")).await.body["scheduled_at"].is_null());
    let canceled = visitor
        .post(&format!("{page_path}/cancel"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(canceled.status, 303, "{}", canceled.html);
    let page = visitor.get(canceled.location()).await;
    assert!(page.html.contains("Canceled."), "{}", page.html);
    assert_eq!(
        app.get(&format!("/broadcasts/{id}")).await.body["status"],
        "canceled"
    );

    // Duplicate: a new draft with the same design.
    let copy = visitor
        .post(&format!("{page_path}/duplicate"), &[("csrf_token", &csrf)])
        .await;
    assert_eq!(copy.status, 303);
    let copy_id = id_from(copy.location());
    assert_ne!(copy_id, id);
    let copy_page = visitor.get(copy.location()).await;
    assert!(
        copy_page.html.contains("This is the copy"),
        "{}",
        copy_page.html
    );
    assert!(copy_page.html.contains("data-mode=\"markdown\""));

    // Send the copy now: the performance page, then the figures once the jobs ran.
    let sent = visitor
        .post(
            &format!("/dashboard/broadcasts/{copy_id}/send"),
            &[("csrf_token", &csrf), ("when", "now"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    assert_eq!(
        sent.location(),
        format!("/dashboard/broadcasts/{copy_id}/performance")
    );
    crate::broadcasts::settle(&app).await;
    let perf = visitor.get(sent.location()).await;
    assert_eq!(perf.status, 200);
    assert!(perf.html.contains("Open rates are approximate"));
    let figure = |html: &str, id: &str| -> String {
        let at = html.find(&format!("id=\"figure-{id}\"")).unwrap();
        let rest = &html[at..];
        let v = &rest[rest.find("figure-value\">").unwrap() + 14..];
        v[..v.find('<').unwrap()].to_string()
    };
    let recipients = figure(&perf.html, "recipients");
    assert_eq!(
        recipients,
        "3",
        "{}",
        &perf.html[perf.html.find("id=\"performance\"").unwrap()..]
    );

    // Opens and clicks through the tracked links of a recipient's email.
    let emails: Vec<String> = herald::on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM emails WHERE broadcast_id = $1 ORDER BY id"
    )
    .bind(&copy_id)
    .fetch_all(pool)
    .await)
    .unwrap();
    assert_eq!(emails.len(), 3);
    let secret = app.app.secret_key();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for email in &emails[..2] {
        let open = herald::tracking::open_url(&app.base, secret, email, "");
        assert_eq!(client.get(&open).send().await.unwrap().status(), 200);
        assert_eq!(client.get(&open).send().await.unwrap().status(), 200);
    }
    let click = herald::tracking::click_url(
        &app.base,
        secret,
        &emails[0],
        "",
        "https://news.example/december",
    );
    assert_eq!(client.get(&click).send().await.unwrap().status(), 302);
    let live = visitor
        .get(&format!("/dashboard/broadcasts/{copy_id}/performance/live"))
        .await;
    assert_eq!(live.status, 200);
    assert!(
        live.html.starts_with("\n<div id=\"performance\"")
            || live
                .html
                .trim_start()
                .starts_with("<div id=\"performance\""),
        "{}",
        live.html
    );
    assert!(live.html.contains("<svg class=\"chart\""), "{}", live.html);
    assert!(live.html.contains("https://news.example/december"));
    assert!(!live.html.contains("<html"), "a fragment");

    // The contact's history shows the broadcast sent, opened and clicked.
    let contact: String = herald::on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT contact_id FROM emails WHERE id = $1"
    )
    .bind(&emails[0])
    .fetch_one(pool)
    .await)
    .unwrap();
    let history = visitor
        .get(&format!("/dashboard/audience/contacts/{contact}"))
        .await;
    assert_eq!(history.status, 200);
    assert!(
        history.html.contains("Sent broadcast December news"),
        "{}",
        history.html
    );
    assert!(history.html.contains("Opened broadcast December news"));
    assert!(
        history
            .html
            .contains("Clicked https://news.example/december in broadcast December news")
    );

    // A sent broadcast opens on its performance page; only drafts are deleted.
    assert_eq!(
        visitor
            .get(&format!("/dashboard/broadcasts/{copy_id}"))
            .await
            .location(),
        format!("/dashboard/broadcasts/{copy_id}/performance")
    );
    let draft = visitor
        .post(&format!("{page_path}/duplicate"), &[("csrf_token", &csrf)])
        .await;
    let draft_id = id_from(draft.location());
    let confirm = visitor
        .get(&format!("/dashboard/broadcasts/{draft_id}/delete"))
        .await;
    assert!(confirm.html.contains("id=\"confirm-delete\""));
    let gone = visitor
        .post(
            &format!("/dashboard/broadcasts/{draft_id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303);
    assert_eq!(gone.location(), "/dashboard/broadcasts?notice=deleted");
    assert_eq!(
        app.get(&format!("/broadcasts/{draft_id}")).await.status,
        404
    );
}

#[tokio::test]
async fn hosted_unsubscribe_page() {
    let app = spawn_app().await;
    let (_segment, topic) = audience(&app).await;
    let (admin, csrf) = sign_in_admin(&app).await;
    admin
        .post(
            "/dashboard/settings/branding",
            &[
                ("csrf_token", &csrf),
                ("name", "Acme News"),
                ("logo_url", "https://acme.example/logo.png"),
                ("accent_color", "#ff6600"),
                ("footer_text", "Acme Inc, 1 Market Street"),
            ],
        )
        .await;
    let contact = app.get("/contacts/delivered+ann@resend.dev").await.body;
    let contact_id = contact["id"].as_str().unwrap().to_string();
    let who = herald::broadcasts::unsubscribe::Subscriber {
        team_id: team_id(&app).await,
        contact_id: contact_id.clone(),
        broadcast_id: None,
        topic_id: Some(topic.clone()),
    };
    let url = herald::broadcasts::unsubscribe::url(&app.base, app.app.secret_key(), &who);
    let path = url.strip_prefix(&app.base).unwrap().to_string();
    assert!(
        !path.contains("resend.dev"),
        "the link does not show the address"
    );

    let visitor = Visitor::new(&app); // no login
    let page = visitor.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Acme News"));
    assert!(page.html.contains("src=\"https://acme.example/logo.png\""));
    assert!(page.html.contains("Acme Inc, 1 Market Street"));
    assert!(
        page.html
            // The accent, with text colours readable on it (orange is too light for white).
            .contains(
                "<style>.public{--accent:#ff6600;--on-accent:#111827;--accent-ink:#111827}</style>"
            )
    );
    assert!(page.html.contains("Product news"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("style-src 'self' 'sha256-"), "{csp}");
    assert_eq!(page.headers["referrer-policy"], "same-origin");

    // A forged or altered link is a 404.
    let mut altered = path.clone();
    altered.push('x');
    assert_eq!(visitor.get(&altered).await.status, 404);
    assert_eq!(visitor.get("/u/forged.abc").await.status, 404);

    // The forms need their signed token, and must come from this site.
    let issued = page.input("form_issued");
    let token = page.input("form_token");
    let action = format!("{path}/preferences");
    let no_token = visitor.post(&action, &[("action", "all")]).await;
    assert_eq!(no_token.status, 403);
    let cross = visitor
        .post_with(
            &action,
            &[
                ("form_issued", &issued),
                ("form_token", &token),
                ("action", "all"),
            ],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(
        app.get(&format!("/contacts/{contact_id}")).await.body["unsubscribed"],
        false
    );

    // Per-topic choice: opt out of the topic.
    let topics = visitor
        .post(
            &action,
            &[
                ("form_issued", &issued),
                ("form_token", &token),
                ("action", "topics"),
            ],
        )
        .await;
    assert_eq!(topics.status, 303, "{}", topics.html);
    let after = visitor.get(topics.location()).await;
    assert!(after.html.contains("Your choices are saved."));
    let choices = app
        .get(&format!("/contacts/{contact_id}/topics"))
        .await
        .body;
    let listed = choices["data"]
        .as_array()
        .or(choices.as_array())
        .unwrap()
        .clone();
    let product = listed.iter().find(|t| t["id"] == topic.as_str()).unwrap();
    assert_eq!(product["subscription"], "opt_out", "{choices}");

    // Everything.
    let all = visitor
        .post(
            &action,
            &[
                ("form_issued", &issued),
                ("form_token", &token),
                ("action", "all"),
            ],
        )
        .await;
    assert_eq!(all.status, 303);
    let after = visitor.get(all.location()).await;
    assert!(after.html.contains("You are unsubscribed"));
    assert_eq!(
        app.get(&format!("/contacts/{contact_id}")).await.body["unsubscribed"],
        true
    );
}
