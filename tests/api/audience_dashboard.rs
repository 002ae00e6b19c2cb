//! The Audience pages at HTTP level: sign-in required, CSRF on every form (the multipart
//! upload included), admin-only definitions, and unknown ids. The full flows run in a real
//! browser (tests/browser/audience.mjs).

use reqwest::multipart::{Form, Part};
use serde_json::json;

use crate::dashboard::{MEMBER_EMAIL, MEMBER_PASSWORD, add_member};
use crate::helpers::{TestApp, spawn_app};

/// A cookie-keeping client that does not follow redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).expect("csrf field") + marker.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

impl Browser {
    async fn sign_in(app: &TestApp, email: &str, password: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = app.base.clone();
        let form = client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let done = client
            .post(format!("{base}/login"))
            .header("origin", &base)
            .header("sec-fetch-site", "same-origin")
            .form(&[
                ("csrf_token", hidden_csrf(&form).as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 303);
        let page = client
            .get(format!("{base}/dashboard/audience/contacts"))
            .send()
            .await
            .unwrap();
        let csrf = hidden_csrf(&page.text().await.unwrap());
        Browser { client, base, csrf }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)], with_token: bool) -> (u16, String) {
        let mut fields = fields.to_vec();
        if with_token {
            fields.push(("csrf_token", &self.csrf));
        }
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .form(&fields)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn upload(&self, csv: &str, token: Option<&str>) -> reqwest::Response {
        let mut form = Form::new();
        if let Some(token) = token {
            form = form.text("csrf_token", token.to_string());
        }
        form = form.part(
            "file",
            Part::bytes(csv.as_bytes().to_vec()).file_name("c.csv"),
        );
        self.client
            .post(format!("{}/dashboard/audience/imports", self.base))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn forms_need_a_session_a_token_and_the_right_role() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/dashboard/audience/contacts",
        "/dashboard/audience/properties",
        "/dashboard/audience/contacts/new",
    ] {
        let resp = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(resp.headers()["location"], "/login");
    }

    let admin = Browser::sign_in(&app, &app.admin_email, &app.admin_password).await;
    // Without the token nothing happens.
    let (status, _) = admin
        .post("/dashboard/audience/segments", &[("name", "Sneaky")], false)
        .await;
    assert_eq!(status, 403);
    let (status, _) = admin
        .post(
            "/dashboard/audience/contacts/manual",
            &[("emails", "x@example.com")],
            false,
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(app.get("/segments").await.body["data"], json!([]));
    assert_eq!(app.get("/contacts").await.body["data"], json!([]));
    // The upload checks the token before storing anything.
    let refused = admin.upload("email\na@example.com\n", Some("wrong")).await;
    assert_eq!(refused.status(), 403);
    let refused = admin.upload("email\na@example.com\n", None).await;
    assert_eq!(refused.status(), 403);
    let stored: i64 = herald::on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM contact_imports"
    )
    .fetch_one(pool)
    .await)
    .unwrap();
    assert_eq!(stored, 0);
    // With it: the upload waits for its mapping, then imports.
    let csrf = admin.csrf.clone();
    let accepted = admin
        .upload("Email,Name\na@example.com,Ann\n", Some(&csrf))
        .await;
    assert_eq!(accepted.status(), 303);
    let map = accepted.headers()["location"].to_str().unwrap().to_string();
    assert!(map.ends_with("/map"), "{map}");
    let (status, html) = admin.get(&map).await;
    assert_eq!(status, 200);
    assert!(html.contains("a@example.com"), "preview shown");
    let start = map.replace("/map", "/start");
    let (status, html) = admin
        .post(&start, &[("col:0", ""), ("col:1", "first_name")], true)
        .await;
    assert_eq!(status, 422, "no email column chosen");
    assert!(html.contains("exactly one column for the email"));
    let (status, _) = admin
        .post(&start, &[("col:0", "email"), ("col:1", "first_name")], true)
        .await;
    assert_eq!(status, 303);

    // Members manage contacts but not properties, segments or topics.
    add_member(&app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    let member = Browser::sign_in(&app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    let (status, _) = member
        .post(
            "/dashboard/audience/contacts/manual",
            &[("emails", "m@example.com")],
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get("/contacts/m@example.com").await.status, 200);
    for (path, fields) in [
        ("/dashboard/audience/segments", vec![("name", "Nope")]),
        (
            "/dashboard/audience/topics",
            vec![("name", "Nope"), ("default_subscription", "opt_in")],
        ),
        (
            "/dashboard/audience/properties",
            vec![("key", "nope"), ("type", "string")],
        ),
    ] {
        let (status, html) = member.post(path, &fields, true).await;
        assert_eq!(status, 403, "{path}");
        assert!(html.contains("Admins only"));
    }

    // Unknown ids are 404 pages.
    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    for path in [
        format!("/dashboard/audience/contacts/{unknown}"),
        format!("/dashboard/audience/contacts/{unknown}/edit"),
        format!("/dashboard/audience/imports/{unknown}"),
        format!("/dashboard/audience/imports/{unknown}/map"),
        "/dashboard/audience/contacts/not-an-id".to_string(),
    ] {
        assert_eq!(admin.get(&path).await.0, 404, "{path}");
    }
}
