//! Dashboard quality at HTTP level (issue 13): every `/dashboard…` miss gets the dashboard's
//! own 404 page, a form's address opened as a page leads back to the form, and scheduled,
//! canceled and suppressed emails show their real state, with Cancel and Reschedule on a
//! scheduled one (errors next to the field, in plain words, keeping what was typed).

use std::sync::Arc;

use herald::clock::ManualClock;
use serde_json::json;

use crate::dashboard::{Visitor, sign_in_admin};
use crate::helpers::START_MS;
use crate::helpers::{spawn_app, spawn_app_with_clock};

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
    drop(app);

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
}

/// The tag of the form control named `name` (`<input …>`, `<select …>`, `<textarea …>`).
fn control<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no control {name} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// A refused form: 422, the message under the control named `field` in plain words (no
/// backticks), the control marked invalid and pointing at it, no banner at the top.
fn refused_under(page: &crate::dashboard::Page, field: &str, words: &str) {
    assert_eq!(page.status, 422, "{field}: {}", page.html);
    let tag = control(&page.html, field);
    assert!(
        tag.contains("aria-invalid=\"true\" aria-describedby=\"form-error\""),
        "{field}: {tag}"
    );
    let at = page
        .html
        .find("<p class=\"field-error\" id=\"form-error\" role=\"alert\">")
        .unwrap_or_else(|| panic!("{field}: no message under a field in {}", page.html));
    let message = &page.html[at..at + page.html[at..].find("</p>").unwrap()];
    assert!(message.contains(words), "{field}: {message}");
    assert!(!message.contains('`'), "{field}: {message}");
    // Under this control: the message follows it, before the next control.
    let after_control = page.html.find(tag).unwrap();
    assert!(
        at > after_control,
        "{field}: the message is above its control"
    );
    assert!(
        !page
            .html
            .contains("class=\"alert error\" role=\"alert\" id=\"form-error\""),
        "{field}: a banner too"
    );
}

#[tokio::test]
async fn every_form_shows_its_error_under_the_field_and_keeps_the_input() {
    let app = spawn_app().await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    let csrf = csrf.as_str();

    // Templates: a variable used but not declared goes under Variables.
    let page = visitor
        .post(
            "/dashboard/templates/new",
            &[
                ("csrf_token", csrf),
                ("name", "Welcome"),
                ("alias", "welcome"),
                ("html", "<p>Hi {{{NAME}}}</p>"),
                ("variables", ""),
            ],
        )
        .await;
    refused_under(&page, "variables", "NAME");
    assert_eq!(page.input("alias"), "welcome");
    assert!(
        page.html.contains("&#60;p&#62;Hi {{{NAME}}}"),
        "{}",
        page.html
    );
    // A taken alias goes under Alias.
    let created = app
        .post(
            "/templates",
            json!({"name": "A", "alias": "taken", "html": "<p>x</p>"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let page = visitor
        .post(
            "/dashboard/templates/new",
            &[
                ("csrf_token", csrf),
                ("name", "B"),
                ("alias", "taken"),
                ("html", "<p>y</p>"),
            ],
        )
        .await;
    refused_under(&page, "alias", "taken");

    // Properties: a fallback of the wrong type.
    let page = visitor
        .post(
            "/dashboard/audience/properties",
            &[
                ("csrf_token", csrf),
                ("key", "seats"),
                ("type", "number"),
                ("fallback_value", "many"),
            ],
        )
        .await;
    refused_under(&page, "fallback_value", "Must be a number.");
    assert_eq!(page.input("key"), "seats");
    assert_eq!(page.input("fallback_value"), "many");
    // A key that exists already, named by its value in the message.
    let page = visitor
        .post(
            "/dashboard/audience/properties",
            &[("csrf_token", csrf), ("key", "email"), ("type", "string")],
        )
        .await;
    refused_under(&page, "key", "email");

    // Segments: a name too long.
    let long = "x".repeat(300);
    let page = visitor
        .post(
            "/dashboard/audience/segments",
            &[("csrf_token", csrf), ("name", &long)],
        )
        .await;
    refused_under(&page, "name", "at most");
    assert_eq!(page.input("name"), long);

    // Topics: no name.
    let page = visitor
        .post(
            "/dashboard/audience/topics",
            &[
                ("csrf_token", csrf),
                ("name", ""),
                ("description", "Kept"),
                ("visibility", "public"),
                ("default_subscription", "opt_in"),
            ],
        )
        .await;
    refused_under(&page, "name", "Fill in this field.");
    assert_eq!(page.input("description"), "Kept");

    // Contacts: a number property given a word, on the edit form.
    let reply = app
        .post(
            "/contact-properties",
            json!({"key": "plan_seats", "type": "number"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = app
        .post("/contacts", json!({"email": "ann@example.com"}))
        .await;
    let contact = reply.body["id"].as_str().unwrap().to_string();
    let page = visitor
        .post(
            &format!("/dashboard/audience/contacts/{contact}/edit"),
            &[
                ("csrf_token", csrf),
                ("first_name", "Ann"),
                ("last_name", ""),
                ("p:plan_seats", "three"),
            ],
        )
        .await;
    refused_under(&page, "p:plan_seats", "Must be a number.");
    assert_eq!(page.input("first_name"), "Ann");
    assert_eq!(page.input("p:plan_seats"), "three");
    // Adding by hand: the refused address stays in the box, marked, with a word under it.
    let page = visitor
        .post(
            "/dashboard/audience/contacts/manual",
            &[("csrf_token", csrf), ("emails", "not-an-address")],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(control(&page.html, "emails").contains("aria-invalid=\"true\""));
    assert!(page.html.contains("This address was not added"));
    assert!(page.html.contains(">not-an-address</textarea>"));
    assert!(!page.html.contains("`email`"), "{}", page.html);

    // Broadcasts: an unknown segment goes under Segment.
    let page = visitor
        .post(
            "/dashboard/broadcasts/new",
            &[
                ("csrf_token", csrf),
                ("name", "News"),
                ("segment_id", "nope"),
                ("topic_id", ""),
                ("from", "Acme <news@example.com>"),
                ("subject", "Hello"),
                ("mode", "html"),
                ("html", "<p>Hi</p>"),
            ],
        )
        .await;
    refused_under(&page, "segment_id", "does not exist");
    assert_eq!(page.input("subject"), "Hello");

    // Team: an invitation to a bad address, the chosen role kept.
    let page = visitor
        .post(
            "/dashboard/settings/team/invitations",
            &[("csrf_token", csrf), ("email", "nobody"), ("role", "admin")],
        )
        .await;
    refused_under(&page, "email", "valid email address");
    assert_eq!(page.input("email"), "nobody");
    assert!(page.html.contains("<option value=\"admin\" selected>"));

    // Account: each password mistake under its own field.
    let page = visitor
        .post(
            "/dashboard/settings/account/password",
            &[
                ("csrf_token", csrf),
                ("current_password", "wrong-password"),
                ("new_password", "long enough"),
                ("confirm_password", "different"),
            ],
        )
        .await;
    refused_under(&page, "confirm_password", "differ");
    let page = visitor
        .post(
            "/dashboard/settings/account/password",
            &[
                ("csrf_token", csrf),
                ("current_password", "wrong-password"),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    refused_under(&page, "new_password", "at least 8 characters");
    let page = visitor
        .post(
            "/dashboard/settings/account/password",
            &[
                ("csrf_token", csrf),
                ("current_password", "wrong-password"),
                ("new_password", "long enough"),
                ("confirm_password", "long enough"),
            ],
        )
        .await;
    refused_under(&page, "current_password", "not correct");

    // Branding: a logo that is not an https URL.
    let page = visitor
        .post(
            "/dashboard/settings/branding",
            &[
                ("csrf_token", csrf),
                ("name", "Acme"),
                ("logo_url", "ftp://example.com/logo.png"),
                ("accent_color", "#4f46e5"),
                ("footer_text", "1 Main St"),
            ],
        )
        .await;
    refused_under(&page, "logo_url", "https://");
    assert_eq!(page.input("logo_url"), "ftp://example.com/logo.png");
    assert!(page.html.contains(">1 Main St</textarea>"));

    // CSV import: the review step counts the rows (a quoted line break is one row, blank
    // lines none), and a mapping without an email column is refused under the columns.
    let csv = b"Email,Note\nann@example.com,\"two\nlines\"\n\nbo@example.com,x\ncy@example.com,y\n";
    let uploaded = visitor
        .upload("/dashboard/audience/imports", csrf, "people.csv", csv)
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.html);
    let map = visitor.get(uploaded.location()).await;
    assert_eq!(map.status, 200);
    assert!(
        map.html
            .contains("<strong id=\"row-count\">3 rows</strong>"),
        "{}",
        map.html
    );
    let start = uploaded.location().replace("/map", "/start");
    let page = visitor
        .post(
            &start,
            &[("csrf_token", csrf), ("col:0", ""), ("col:1", "")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.html);
    assert!(page.html.contains("aria-describedby=\"form-error\""));
    assert!(page.html.contains(
        "id=\"form-error\" role=\"alert\">Choose exactly one column for the email address."
    ));
    assert!(
        page.html
            .contains("<strong id=\"row-count\">3 rows</strong>")
    );
}
