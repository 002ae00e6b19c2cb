//! The dashboard at HTTP level: login, sessions, CSRF, roles, and the API Keys page.
//! A `Visitor` is a cookie-keeping client that does not follow redirects, so each test sees
//! exactly what a browser would receive.

use herald::auth::sessions::{self, Role};
use herald::on_db;
use reqwest::Method;
use reqwest::header::{HeaderMap, SET_COOKIE};

use crate::helpers::{DAY_MS, Options, TestApp, assert_error, spawn_app, spawn_app_with};

pub struct Visitor {
    client: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.cookies().into_iter().find(|c| c.starts_with(&prefix))
    }

    /// The value of the first `<input name=…>` (hidden fields and text inputs alike).
    pub fn input(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\"");
        let at = self
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("no input {name} in {}", self.html));
        let rest = &self.html[at..];
        let value = &rest[rest.find("value=\"").expect("input has a value") + 7..];
        value[..value.find('"').unwrap()].to_string()
    }

    /// The token shown once after creating a key.
    fn new_token(&self) -> String {
        let at = self.html.find("id=\"new-token\">").expect("token shown");
        let rest = &self.html[at + 15..];
        rest[..rest.find('<').unwrap()].to_string()
    }
}

impl Visitor {
    pub fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            base: app.base.clone(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let resp = req.send().await.expect("request");
        Page {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            html: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// Posts a form as a same-origin browser does (with `Origin` and `Sec-Fetch-Site`).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(
            path,
            fields,
            &[("origin", &self.base), ("sec-fetch-site", "same-origin")],
        )
        .await
    }

    pub async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req).await
    }

    /// Posts a file as a same-origin browser's multipart form does.
    pub async fn upload(&self, path: &str, csrf: &str, file_name: &str, bytes: &[u8]) -> Page {
        use reqwest::multipart::{Form, Part};
        let form = Form::new().text("csrf_token", csrf.to_string()).part(
            "file",
            Part::bytes(bytes.to_vec()).file_name(file_name.to_string()),
        );
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .multipart(form);
        self.send(req).await
    }

    async fn login(&self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200);
        let token = form.input("csrf_token");
        self.post(
            "/login",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }

    /// Signs in and returns the session's CSRF token (read off the keys page).
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let done = self.login(email, password).await;
        assert_eq!(done.status, 303, "{}", done.html);
        self.get("/dashboard/api-keys").await.input("csrf_token")
    }
}

pub async fn sign_in_admin(app: &TestApp) -> (Visitor, String) {
    let visitor = Visitor::new(app);
    let csrf = visitor.sign_in(&app.admin_email, &app.admin_password).await;
    (visitor, csrf)
}

/// The member (not an admin) account tests sign in with.
pub const MEMBER_EMAIL: &str = "member@example.com";
pub const MEMBER_PASSWORD: &str = "member-password";

/// Adds a member (not an admin) to the first team.
pub async fn add_member(app: &TestApp, email: &str, password: &str) {
    let team = team_id(app).await;
    sessions::create_user(&app.app, &team, email, password, Role::Member)
        .await
        .unwrap();
}

/// Adds the member [`MEMBER_EMAIL`] and signs them in: the visitor and its CSRF token.
pub async fn sign_in_member(app: &TestApp) -> (Visitor, String) {
    add_member(app, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    let visitor = Visitor::new(app);
    let csrf = visitor.sign_in(MEMBER_EMAIL, MEMBER_PASSWORD).await;
    (visitor, csrf)
}

pub async fn team_id(app: &TestApp) -> String {
    herald::teams::first_team_id(&app.app)
        .await
        .unwrap()
        .unwrap()
}

pub async fn add_domain(app: &TestApp, name: &str) -> String {
    let id = herald::store::new_id();
    let team = team_id(app).await;
    on_db!(app.app.db(), |pool| sqlx::query(
        "INSERT INTO domains (id, team_id, name, status, region, created_at) \
         VALUES ($1, $2, $3, 'verified', 'us-east-1', $4)"
    )
    .bind(&id)
    .bind(&team)
    .bind(name)
    .bind(app.app.now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    id
}

async fn key_count(app: &TestApp) -> usize {
    app.get("/api-keys").await.body["data"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn login_with_wrong_then_right_password() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);

    let away = visitor.get("/dashboard/api-keys").await;
    assert_eq!(away.status, 303);
    assert_eq!(away.location(), "/login");
    // Signing in (and the bare addresses) lead to the Emails overview.
    assert_eq!(visitor.get("/").await.location(), "/dashboard/emails");

    let form = visitor.get("/login").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("Sign in"));
    let login_cookie = form
        .cookie("herald_login_csrf")
        .expect("login token cookie");
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("Path=/login"));
    assert_eq!(form.headers["cache-control"], "no-store");
    assert!(
        form.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    let wrong = visitor.login(&app.admin_email, "not-the-password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("Wrong email or password."));
    assert!(
        wrong
            .html
            .contains(&format!("value=\"{}\"", app.admin_email))
    );
    assert!(wrong.cookie("herald_session").is_none());
    let unknown = visitor.login("nobody@example.com", "whatever-it-is").await;
    assert_eq!(unknown.status, 401);

    let right = visitor.login(&app.admin_email, &app.admin_password).await;
    assert_eq!(right.status, 303);
    assert_eq!(right.location(), "/dashboard/emails");
    let session = right.cookie("herald_session").expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/;"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(
        !session.contains("Secure"),
        "plain http installs get no Secure flag"
    );

    let page = visitor.get("/dashboard/api-keys").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("API Keys"));
    assert!(page.html.contains(&app.admin_email));
    assert!(page.html.contains("Default key"));
    // Signed in, the login page sends you on.
    assert_eq!(visitor.get("/login").await.location(), "/dashboard/emails");
}

#[tokio::test]
async fn login_form_is_csrf_protected() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);
    let creds = [
        ("email", app.admin_email.as_str()),
        ("password", app.admin_password.as_str()),
    ];

    // No login cookie yet, no token.
    let bare = visitor.post("/login", &creds).await;
    assert_eq!(bare.status, 403);
    assert!(bare.html.contains("This form has expired"));

    let token = visitor.get("/login").await.input("csrf_token");
    let mut with_token = creds.to_vec();
    with_token.push(("csrf_token", &token));

    let forged = "x".repeat(32);
    let wrong_token = [creds[0], creds[1], ("csrf_token", forged.as_str())];
    assert_eq!(visitor.post("/login", &wrong_token).await.status, 403);

    let foreign = visitor
        .post_with("/login", &with_token, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(foreign.status, 403);
    let cross_site = visitor
        .post_with("/login", &with_token, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross_site.status, 403);

    let ok = visitor.post("/login", &with_token).await;
    assert_eq!(ok.status, 303);
}

#[tokio::test]
async fn state_changes_need_the_session_csrf_token() {
    let app = spawn_app().await;
    let (visitor, csrf) = sign_in_admin(&app).await;
    let before = key_count(&app).await;
    let name = [("name", "sneaky"), ("permission", "full_access")];

    let missing = visitor.post("/dashboard/api-keys", &name).await;
    assert_eq!(missing.status, 403);
    assert!(missing.html.contains("This form has expired"));

    let forged = "a".repeat(csrf.len());
    let wrong = visitor
        .post(
            "/dashboard/api-keys",
            &[name[0], name[1], ("csrf_token", forged.as_str())],
        )
        .await;
    assert_eq!(wrong.status, 403);

    let with_token = [name[0], name[1], ("csrf_token", csrf.as_str())];
    let foreign = visitor
        .post_with(
            "/dashboard/api-keys",
            &with_token,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, 403);
    let null_origin = visitor
        .post_with("/dashboard/api-keys", &with_token, &[("origin", "null")])
        .await;
    assert_eq!(null_origin.status, 403);
    let cross_site = visitor
        .post_with(
            "/dashboard/api-keys",
            &with_token,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross_site.status, 403);

    // Deleting and logging out are protected the same way.
    let id = app.get("/api-keys").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let delete = visitor
        .post(&format!("/dashboard/api-keys/{id}/delete"), &[])
        .await;
    assert_eq!(delete.status, 403);
    assert_eq!(visitor.post("/logout", &[]).await.status, 403);
    assert_eq!(key_count(&app).await, before);

    // htmx sends the token as a header instead of a field.
    let htmx = visitor
        .post_with(
            "/dashboard/api-keys",
            &name,
            &[("x-csrf-token", csrf.as_str()), ("hx-request", "true")],
        )
        .await;
    assert_eq!(htmx.status, 200, "{}", htmx.html);
    assert_eq!(key_count(&app).await, before + 1);
}

#[tokio::test]
async fn members_see_keys_but_cannot_change_them() {
    let app = spawn_app().await;
    let (visitor, csrf) = sign_in_member(&app).await;
    let id = app.get("/api-keys").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let page = visitor.get("/dashboard/api-keys").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Default key"));
    assert!(page.html.contains("member"));
    assert!(!page.html.contains("Create API key"));
    assert!(!page.html.contains("/edit\""));
    assert!(!page.html.contains("/delete\""));

    assert_eq!(visitor.get("/dashboard/api-keys/new").await.status, 403);
    assert_eq!(
        visitor
            .get(&format!("/dashboard/api-keys/{id}/edit"))
            .await
            .status,
        403
    );
    let create = visitor
        .post(
            "/dashboard/api-keys",
            &[
                ("csrf_token", &csrf),
                ("name", "mine"),
                ("permission", "full_access"),
            ],
        )
        .await;
    assert_eq!(create.status, 403);
    assert!(create.html.contains("Admins only"));
    let rename = visitor
        .post(
            &format!("/dashboard/api-keys/{id}"),
            &[("csrf_token", &csrf), ("name", "renamed")],
        )
        .await;
    assert_eq!(rename.status, 403);
    let delete = visitor
        .post(
            &format!("/dashboard/api-keys/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(delete.status, 403);

    let keys = app.get("/api-keys").await;
    assert_eq!(keys.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(keys.body["data"][0]["name"], "Default key");
}

#[tokio::test]
async fn admin_creates_edits_and_deletes_a_key() {
    let app = spawn_app().await;
    let domain = add_domain(&app, "mail.example.com").await;
    let (visitor, csrf) = sign_in_admin(&app).await;

    let form = visitor.get("/dashboard/api-keys/new").await;
    assert_eq!(form.status, 200);
    assert!(form.html.contains("mail.example.com"));

    // The service's validation errors come back in the form, with what was typed.
    let long = "x".repeat(51);
    let too_long = visitor
        .post(
            "/dashboard/api-keys",
            &[
                ("csrf_token", &csrf),
                ("name", &long),
                ("permission", "full_access"),
            ],
        )
        .await;
    assert_eq!(too_long.status, 422);
    assert!(
        // Under the name field, in plain words ("The `name` field must…" before).
        too_long.html.contains("Must be at most 50 characters"),
        "{}",
        too_long.html
    );
    assert_eq!(too_long.input("name"), long);
    let blank = visitor
        .post(
            "/dashboard/api-keys",
            &[("csrf_token", &csrf), ("name", "  ")],
        )
        .await;
    assert_eq!(blank.status, 422);
    // In plain words, under the field (it used to be the API's "Missing `name` field.").
    assert!(blank.html.contains(
        "<p class=\"field-error\" id=\"form-error\" role=\"alert\">Fill in this field.</p>"
    ));

    // Create a sending key restricted to the domain: its token is shown once.
    let created = visitor
        .post(
            "/dashboard/api-keys",
            &[
                ("csrf_token", &csrf),
                ("name", "CI <sender>"),
                ("permission", "sending_access"),
                ("domain_id", &domain),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.html);
    assert!(!created.html.contains("CI <sender>"), "names are escaped");
    let token = created.new_token();
    assert!(token.starts_with("re_") && token.len() == 36, "{token}");
    let keys = app.get("/api-keys").await;
    let key = keys.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "CI <sender>")
        .expect("created through the service")
        .clone();
    assert_eq!(key["permission"], "sending_access");
    assert_eq!(key["domain_id"], domain.as_str());
    let id = key["id"].as_str().unwrap().to_string();
    // It is a real sending key.
    let restricted = app
        .call_with_key(&token, Method::GET, "/api-keys", None)
        .await;
    assert_error(&restricted, 401, "restricted_api_key");

    let list = visitor.get("/dashboard/api-keys").await;
    assert!(!list.html.contains(&token), "the list never shows a token");
    assert!(!list.html.contains("new-token"));
    let row = row_html(&list.html, &id);
    assert!(row.contains("Sending access"));
    assert!(row.contains("mail.example.com"));
    assert!(row.contains("last-used never"));
    assert!(row.contains("Never"));

    // Edit: the form shows the current values; saving changes name, permission, domain.
    let edit = visitor.get(&format!("/dashboard/api-keys/{id}/edit")).await;
    assert_eq!(edit.status, 200);
    let shown = edit.input("name");
    assert!(
        shown.starts_with("CI ") && shown.contains("sender") && !shown.contains('<'),
        "{shown}"
    );
    let bad = visitor
        .post(
            &format!("/dashboard/api-keys/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", &long),
                ("permission", "full_access"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    let saved = visitor
        .post(
            &format!("/dashboard/api-keys/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", "renamed"),
                ("permission", "full_access"),
                ("domain_id", &domain),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(saved.location(), "/dashboard/api-keys?notice=updated");
    let list = visitor.get(saved.location()).await;
    assert!(list.html.contains("API key updated."));
    let row = row_html(&list.html, &id);
    assert!(row.contains("renamed") && row.contains("Full access") && row.contains("All domains"));
    let listed = app
        .call_with_key(&token, Method::GET, "/api-keys", None)
        .await;
    assert_eq!(listed.status, 200, "now a full-access key");

    // Delete: a confirmation page first, then the key is gone for good.
    let confirm = visitor
        .get(&format!("/dashboard/api-keys/{id}/delete"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Delete “renamed”?"));
    assert_eq!(key_count(&app).await, 2, "asking is not deleting");
    let deleted = visitor
        .post(
            &format!("/dashboard/api-keys/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(deleted.location(), "/dashboard/api-keys?notice=deleted");
    let list = visitor.get(deleted.location()).await;
    assert!(list.html.contains("API key deleted."));
    assert!(!list.html.contains(&id));
    let rejected = app
        .call_with_key(&token, Method::GET, "/api-keys", None)
        .await;
    assert_error(&rejected, 403, "invalid_api_key");
    assert_eq!(
        visitor
            .get(&format!("/dashboard/api-keys/{id}/edit"))
            .await
            .status,
        404
    );
}

/// The `<tr>` of one key.
fn row_html<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"key-{id}\""))
        .unwrap_or_else(|| panic!("row {id} missing"));
    let end = start + html[start..].find("</tr>").unwrap();
    &html[start..end]
}

/// Rewrites a key's history, as if it had been created and used at those times.
pub async fn set_usage(app: &TestApp, id: &str, created: i64, used: Option<i64>, count: i64) {
    on_db!(app.app.db(), |pool| sqlx::query(
        "UPDATE api_keys SET created_at = $2, last_used_at = $3, request_count = $4 WHERE id = $1"
    )
    .bind(id)
    .bind(created)
    .bind(used)
    .bind(count)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
}

#[tokio::test]
async fn last_used_colours_request_counts_and_inactivity_hint() {
    let app = spawn_app().await;
    let (visitor, _) = sign_in_admin(&app).await;
    let now = app.app.now_ms();
    let team = team_id(&app).await;
    let mut ids = Vec::new();
    for name in ["fresh", "recent", "idle", "forgotten"] {
        let (key, _) = herald::auth::api_keys::create(
            &app.app,
            &team,
            herald::auth::api_keys::KeyInput {
                name: Some(name.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        ids.push(key.id);
    }
    // (created_at, last_used_at, request_count) per key.
    let usage = [
        (now, None, 0),
        (now - 90 * DAY_MS, Some(now - 2 * 3600 * 1000), 7),
        (now - 90 * DAY_MS, Some(now - 45 * DAY_MS), 1234),
        (now - 40 * DAY_MS, None, 0),
    ];
    for (id, (created, used, count)) in ids.iter().zip(usage) {
        set_usage(&app, id, created, used, count).await;
    }

    let page = visitor.get("/dashboard/api-keys").await;
    let fresh = row_html(&page.html, &ids[0]);
    assert!(fresh.contains("last-used never") && fresh.contains("Never"));
    let recent = row_html(&page.html, &ids[1]);
    assert!(recent.contains("last-used recent") && recent.contains("2 hours ago"));
    assert!(recent.contains(">7<"));
    let idle = row_html(&page.html, &ids[2]);
    assert!(idle.contains("last-used idle") && idle.contains("1 month ago"));
    assert!(idle.contains(">1234<"));
    let forgotten = row_html(&page.html, &ids[3]);
    assert!(forgotten.contains("last-used never"));
    // "idle" and "forgotten" have not been used for 30 days; a key made today is not stale.
    assert!(
        page.html
            .contains("2 API keys have not been used in the last 30 days.")
    );
    assert!(page.html.contains("Consider deleting"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);
    let login = visitor.login(&app.admin_email, &app.admin_password).await;
    let cookie = login.cookie("herald_session").unwrap();
    let pair = cookie.split(';').next().unwrap().to_string();
    let csrf = visitor.get("/dashboard/api-keys").await.input("csrf_token");

    let confirm = visitor.get("/logout").await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("Sign out?"));

    let out = visitor.post("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/login");
    let cleared = out.cookie("herald_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        visitor.get("/dashboard/api-keys").await.location(),
        "/login"
    );

    // The old cookie no longer opens a session: it was deleted on the server.
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/dashboard/api-keys"))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 303);
    assert_eq!(replay.headers()["location"], "/login");
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/dashboard/assets/htmx.min.js", "text/javascript"),
        ("/dashboard/assets/app.js", "text/javascript"),
        ("/dashboard/assets/app.css", "text/css"),
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(!resp.text().await.unwrap().is_empty());
    }
    // The API at the root is untouched: unknown routes still answer Resend's JSON error.
    let missing = app.get("/dashboard-nothing").await;
    assert_error(&missing, 404, "not_found");
}

/// Installs reached over HTTPS mark their cookies `Secure`, and accept form posts whose
/// `Origin` is the public URL even when the `Host` header (behind a proxy) differs.
#[tokio::test]
async fn https_installs_get_secure_cookies() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|settings| {
            settings.public_url = "https://herald.example".into();
        })),
        ..Options::default()
    })
    .await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = app.url("/login");

    let form = client.get(&url).send().await.unwrap();
    let login_cookie = form.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(login_cookie.ends_with("; Secure"), "{login_cookie}");
    let pair = login_cookie.split(';').next().unwrap().to_string();
    let token = pair.split_once('=').unwrap().1.to_string();
    let fields = [
        ("csrf_token", token.as_str()),
        ("email", app.admin_email.as_str()),
        ("password", app.admin_password.as_str()),
    ];
    let foreign = client
        .post(&url)
        .header("cookie", &pair)
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let signed_in = client
        .post(&url)
        .header("cookie", &pair)
        .header("origin", "https://herald.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = signed_in
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("herald_session="))
        .unwrap();
    assert!(session.contains("; Secure"), "{session}");
}
