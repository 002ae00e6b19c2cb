//! CSV exports at HTTP level: the Export button of each list, the confirmation page that
//! repeats the filters, small exports downloaded at once, large ones written by the job and
//! announced to every admin by an email through Herald's own delivery, Settings → Exports,
//! members who see but cannot download, expiry, and cells neutralised for spreadsheets.

use herald::auth::sessions::{self, Role};
use herald::on_db;
use serde_json::json;

use crate::dashboard::{Page, Visitor, add_member, sign_in_admin, team_id};
use crate::delivery::{SENDER_DOMAIN, WorldOptions, world_with};
use crate::helpers::DAY_MS;
use crate::helpers::{TestApp, spawn_app};

const EXPORTS: &str = "/dashboard/settings/exports";

/// The `href` of the element with this id.
fn href_of(page: &Page, id: &str) -> String {
    let marker = format!("id=\"{id}\" href=\"");
    let at = page
        .html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} link in {}", page.html))
        + marker.len();
    unescape(&page.html[at..at + page.html[at..].find('"').unwrap()])
}

fn unescape(text: &str) -> String {
    text.replace("&#38;", "&").replace("&amp;", "&")
}

async fn sign_in_member(app: &TestApp, email: &str) -> (Visitor, String) {
    add_member(app, email, "member-password-1").await;
    let visitor = Visitor::new(app);
    let csrf = visitor.sign_in(email, "member-password-1").await;
    (visitor, csrf)
}

/// Opens the Export button of the list at `list`, checks the confirmation page and confirms.
async fn export_from(visitor: &Visitor, csrf: &str, list: &str) -> Page {
    let page = visitor.get(list).await;
    assert_eq!(page.status, 200, "{}", page.html);
    let confirm = visitor.get(&href_of(&page, "export")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("id=\"export-filters\""));
    let kind = confirm.input("kind");
    let filters = unescape(&confirm.input("filters"));
    visitor
        .post(
            "/dashboard/exports",
            &[("csrf_token", csrf), ("kind", &kind), ("filters", &filters)],
        )
        .await
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn add_contact(app: &TestApp, body: serde_json::Value) {
    let reply = app.post("/contacts", body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
}

#[tokio::test]
async fn small_exports_download_at_once_with_the_lists_filters() {
    let app = spawn_app().await;
    let (admin, csrf) = sign_in_admin(&app).await;
    add_contact(
        &app,
        json!({"email": "ann@example.com", "first_name": "Ann"}),
    )
    .await;
    add_contact(
        &app,
        json!({"email": "evil@example.com", "first_name": "=HYPERLINK(\"http://x\")",
               "last_name": "@SUM(A1)", "unsubscribed": true}),
    )
    .await;
    add_contact(
        &app,
        json!({"email": "bob@example.com", "last_name": "-1+1", "unsubscribed": true}),
    )
    .await;

    // The button carries the list's filters; the confirmation page repeats them.
    let list = admin
        .get("/dashboard/audience/contacts?status=unsubscribed&after=")
        .await;
    let link = href_of(&list, "export");
    assert_eq!(
        link,
        "/dashboard/exports/new?kind=contacts&status=unsubscribed"
    );
    let confirm = admin.get(&link).await;
    assert!(
        confirm
            .html
            .contains("<dt>status</dt><dd>unsubscribed</dd>")
    );
    assert!(confirm.html.contains("Export contacts as CSV?"));
    // A forged form (no CSRF token) exports nothing.
    let forged = admin
        .post(
            "/dashboard/exports",
            &[("kind", "contacts"), ("filters", "status=unsubscribed")],
        )
        .await;
    assert_eq!(forged.status, 403);

    let file = export_from(
        &admin,
        &csrf,
        "/dashboard/audience/contacts?status=unsubscribed",
    )
    .await;
    assert_eq!(file.status, 200, "{}", file.html);
    assert_eq!(
        file.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let disposition = file.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"herald-contacts-"),
        "{disposition}"
    );
    let rows = csv_rows(&file.html);
    assert_eq!(
        rows[0][..5],
        ["id", "email", "first_name", "last_name", "unsubscribed"]
    );
    assert_eq!(rows.len(), 3, "{}", file.html);
    // Newest first, as the list; only the unsubscribed ones.
    assert_eq!(rows[1][1], "bob@example.com");
    assert_eq!(rows[2][1], "evil@example.com");
    // Formulas are neutralised.
    assert_eq!(rows[1][3], "'-1+1");
    assert_eq!(rows[2][2], "'=HYPERLINK(\"http://x\")");
    assert_eq!(rows[2][3], "'@SUM(A1)");

    // Emails: the subject filter is honoured.
    for subject in ["Welcome aboard", "Your invoice", "Welcome back"] {
        let reply = app
            .post(
                "/emails",
                json!({"from": "a@example.com", "to": "delivered@resend.dev",
                       "subject": subject, "text": "hi", "tags": [{"name": "kind", "value": "x"}]}),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let file = export_from(&admin, &csrf, "/dashboard/emails?subject=welcome").await;
    assert_eq!(file.status, 200, "{}", file.html);
    let rows = csv_rows(&file.html);
    assert_eq!(rows[0][0], "id");
    assert_eq!(rows.len(), 3, "{}", file.html);
    assert_eq!(rows[1][7], "Welcome back");
    assert_eq!(rows[2][7], "Welcome aboard");
    assert_eq!(rows[1][3], "delivered@resend.dev");
    assert_eq!(rows[1][10], "kind:x");

    // Settings → Exports lists both, ready, with who, what, filters and rows.
    let exports = admin.get(EXPORTS).await;
    assert_eq!(exports.status, 200);
    assert_eq!(exports.html.matches("data-status=\"Ready\"").count(), 2);
    assert!(exports.html.contains("subject: welcome"));
    assert!(exports.html.contains("status: unsubscribed"));
    assert!(exports.html.contains(&app.admin_email));
}

#[tokio::test]
async fn every_list_has_an_export() {
    let app = spawn_app().await;
    let (admin, csrf) = sign_in_admin(&app).await;
    crate::dashboard::add_domain(&app, "lists.example.com").await;
    let segment = app.post("/segments", json!({"name": "VIP"})).await;
    assert_eq!(segment.status, 201, "{:?}", segment.body);
    let broadcast = app
        .post(
            "/broadcasts",
            json!({"segment_id": segment.body["id"], "from": "a@lists.example.com",
                   "subject": "News", "html": "<p>hi</p>", "name": "March"}),
        )
        .await;
    assert_eq!(broadcast.status, 201, "{:?}", broadcast.body);
    // Request logs are written in batches, off the request's path.
    for _ in 0..800 {
        let logs = app.get("/logs?limit=100").await;
        if logs.body.to_string().contains("\"/segments\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    for (list, first_header, expected) in [
        ("/dashboard/domains", "id", "lists.example.com"),
        ("/dashboard/api-keys", "id", "full_access"),
        ("/dashboard/audience/segments", "id", "VIP"),
        ("/dashboard/broadcasts?status=draft", "id", "March"),
        ("/dashboard/logs?method=POST", "id", "/segments"),
    ] {
        let file = export_from(&admin, &csrf, list).await;
        assert_eq!(file.status, 200, "{list}: {}", file.html);
        let rows = csv_rows(&file.html);
        assert_eq!(rows[0][0], first_header, "{list}");
        assert!(
            rows[1..].iter().any(|r| r.iter().any(|c| c == expected)),
            "{list}: {}",
            file.html
        );
    }
    // The logs export kept its filter: only POST requests.
    let exports = admin.get(EXPORTS).await;
    assert!(exports.html.contains("method: POST"), "{}", exports.html);
    // An unknown kind is no page.
    assert_eq!(
        admin.get("/dashboard/exports/new?kind=users").await.status,
        404
    );
}

/// Inserts `n` contacts in one statement (faster than the API for thousands).
async fn insert_contacts(app: &TestApp, n: usize) {
    let team = team_id(app).await;
    let now = app.app.now_ms();
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut sql = String::from(
            "INSERT INTO contacts (id, team_id, email, email_lower, first_name, unsubscribed, \
             properties, created_at, updated_at) VALUES ",
        );
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    "('{}', '{team}', 'c{i}@example.com', 'c{i}@example.com', 'N{i}', FALSE, \
                     '{{}}', {}, {})",
                    herald::store::new_id(),
                    now + *i as i64,
                    now + *i as i64
                )
            })
            .collect();
        sql.push_str(&values.join(", "));
        on_db!(app.app.db(), |pool| sqlx::query(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        .unwrap());
    }
}

/// Waits until the export's page says `status`.
async fn wait_for_status(visitor: &Visitor, path: &str, status: &str) -> Page {
    wait_for(visitor, path, &format!("id=\"export-status\">{status}<")).await
}

/// Waits until the page at `path` contains `needle`.
async fn wait_for(visitor: &Visitor, path: &str, needle: &str) -> Page {
    let status = needle;
    // Up to 30 s: the app's own workers may hold the job on a loaded machine.
    for _ in 0..1500 {
        let page = visitor.get(path).await;
        if page.html.contains(needle) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "export never became {status}: {}",
        visitor.get(path).await.html
    );
}

#[tokio::test]
async fn large_exports_run_as_a_job_email_the_admins_and_expire() {
    let w = world_with(WorldOptions {
        settings: Some(Box::new(|s| {
            s.exports.from = format!("Herald <exports@{SENDER_DOMAIN}>");
            s.exports.inline_rows = 1000;
        })),
        ..WorldOptions::default()
    })
    .await;
    let app = &w.app;
    let (admin, csrf) = sign_in_admin(app).await;
    let team = team_id(app).await;
    sessions::create_user(
        &app.app,
        &team,
        "boss@dest.dev",
        "boss-password-1",
        Role::Admin,
    )
    .await
    .unwrap();
    // More than a page of the job (1,000 rows) and than the inline limit.
    insert_contacts(app, 2_345).await;

    let queued = export_from(&admin, &csrf, "/dashboard/audience/contacts").await;
    assert_eq!(queued.status, 303, "{}", queued.html);
    let page_path = queued.location().to_string();
    assert!(page_path.starts_with(EXPORTS), "{page_path}");
    let id = page_path[EXPORTS.len() + 1..page_path.find('?').unwrap()].to_string();
    let page_path = format!("{EXPORTS}/{id}");
    let notice = admin.get(queued.location()).await;
    assert!(
        notice
            .html
            .contains("Every admin of the team gets an email")
    );

    app.run_pending_jobs().await;
    let ready = wait_for_status(&admin, &page_path, "Ready").await;
    assert!(
        ready.html.contains("id=\"export-rows\">2345<"),
        "{}",
        ready.html
    );
    assert!(ready.html.contains("id=\"download\""));

    // Every admin gets an email with the link, through Herald's own delivery.
    w.deliver().await;
    w.sink.wait_for(1).await;
    let message = w
        .sink
        .messages()
        .into_iter()
        .find(|m| m.envelope.rcpt_to.iter().any(|r| r == "boss@dest.dev"))
        .expect("the admin at dest.dev got the email");
    assert!(
        message.envelope.mail_from.contains(SENDER_DOMAIN),
        "{:?}",
        message.envelope
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(&message.data)
        .expect("a message");
    assert!(parsed.subject().unwrap().contains("export of contacts"));
    let text = parsed.body_text(0).unwrap().to_string();
    let link = format!("{}{page_path}", app.base);
    assert!(text.contains(&link), "{text}");
    assert!(text.contains("2345 contacts"), "{text}");

    // The file: a header and every contact once, newest first.
    let file = admin.get(&format!("{page_path}/download")).await;
    assert_eq!(file.status, 200);
    let rows = csv_rows(&file.html);
    assert_eq!(rows.len(), 2_346);
    assert_eq!(rows[0][1], "email");
    assert_eq!(rows[1][1], "c2344@example.com");
    assert_eq!(rows[2_345][1], "c0@example.com");
    let mut emails: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    emails.sort_unstable();
    emails.dedup();
    assert_eq!(emails.len(), 2_345);

    // Members see exports but cannot download them; what they ask for goes to the admins.
    let (member, member_csrf) = sign_in_member(app, "mia@dest.dev").await;
    let list = member.get(EXPORTS).await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains(&format!("export-{id}")));
    let seen = member.get(&page_path).await;
    assert!(seen.html.contains("Only admins can download exports."));
    assert!(!seen.html.contains("id=\"download\""));
    let refused = member.get(&format!("{page_path}/download")).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.html.contains("c0@example.com"));
    let asked = member
        .post(
            "/dashboard/exports",
            &[
                ("csrf_token", &member_csrf),
                ("kind", "segments"),
                ("filters", ""),
            ],
        )
        .await;
    assert_eq!(
        asked.status, 303,
        "small, but a member's export is never a download"
    );
    // Another team's user cannot see it either: unknown ids are 404s.
    assert_eq!(
        admin
            .get(&format!("{EXPORTS}/00000000-0000-0000-0000-000000000000"))
            .await
            .status,
        404
    );

    // After 7 days the file is deleted and the export shows "Expired".
    w.advance(7 * DAY_MS + 1);
    let expired = herald::exports::expire(&app.app).await.unwrap();
    assert!(expired >= 1);
    // (The sessions ended meanwhile.)
    let (admin, _) = sign_in_admin(app).await;
    let gone = wait_for_status(&admin, &page_path, "Expired").await;
    assert!(!gone.html.contains("id=\"download\""));
    assert_eq!(
        admin.get(&format!("{page_path}/download")).await.status,
        404
    );
    let chunks: i64 = on_db!(app.app.db(), |pool| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM export_chunks WHERE export_id = $1"
    )
    .bind(&id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(chunks, 0);
    let list = admin.get(EXPORTS).await;
    assert!(list.html.contains("data-status=\"Expired\""));
}

#[tokio::test]
async fn without_a_sender_the_export_page_says_why_no_email_went() {
    let app = spawn_app().await;
    let (admin, csrf) = sign_in_admin(&app).await;
    insert_contacts(&app, 3).await;
    let mut settings_low = admin
        .post(
            "/dashboard/exports",
            &[("csrf_token", &csrf), ("kind", "contacts"), ("filters", "")],
        )
        .await;
    // Three rows download at once.
    assert_eq!(settings_low.status, 200);
    assert_eq!(csv_rows(&settings_low.html).len(), 4);
    // A member's export always goes through the job; no sender is configured.
    let (member, member_csrf) = sign_in_member(&app, "mia@example.com").await;
    settings_low = member
        .post(
            "/dashboard/exports",
            &[
                ("csrf_token", &member_csrf),
                ("kind", "contacts"),
                ("filters", "q=c1"),
            ],
        )
        .await;
    assert_eq!(settings_low.status, 303);
    let path = settings_low.location();
    let path = path[..path.find('?').unwrap()].to_string();
    app.run_pending_jobs().await;
    // Ready, and the refused email is said on the page.
    let page = wait_for(&admin, &path, "id=\"notice-error\"").await;
    assert!(page.html.contains("id=\"export-status\">Ready<"));
    assert!(page.html.contains("id=\"export-rows\">1<"), "{}", page.html);
    let file = admin.get(&format!("{path}/download")).await;
    let rows = csv_rows(&file.html);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1], "c1@example.com");
}

#[tokio::test]
async fn herald_export_writes_the_same_csv_from_the_command_line() {
    let app = spawn_app().await;
    insert_contacts(&app, 3).await;
    add_contact(
        &app,
        json!({"email": "eve@example.com", "first_name": "+cmd"}),
    )
    .await;
    let settings = app.app.settings().clone();
    let out = tempfile::tempdir().unwrap();
    let herald = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_herald"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HERALD_") {
                cmd.env_remove(name);
            }
        }
        cmd.env_remove("DATABASE_URL")
            .arg("--data-dir")
            .arg(&settings.data_dir);
        if !settings.database_url.is_empty() {
            cmd.arg("--database-url")
                .arg(&settings.database_url)
                .env("HERALD_ENCRYPTION_KEY", &settings.encryption_key);
        }
        cmd.args(args).output().expect("run herald")
    };
    let file = out.path().join("contacts.csv");
    let done = herald(&[
        "export",
        "contacts",
        "--filter",
        "q=e",
        "--output",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("Exported 4 contacts"), "{stdout}");
    let rows = csv_rows(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[1][1], "eve@example.com");
    assert_eq!(rows[1][2], "'+cmd");
    // Only the list's filters, only known kinds.
    let refused = herald(&["export", "contacts", "--filter", "subject=x", "-o", "x.csv"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("q, status, segment"));
    let unknown = herald(&["export", "users", "-o", "x.csv"]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("api-keys"));
}

#[tokio::test]
async fn an_export_whose_place_was_deleted_fails_instead_of_ending_early() {
    let app = spawn_app().await;
    let (admin, _) = sign_in_admin(&app).await;
    insert_contacts(&app, 3).await;
    let team = team_id(&app).await;
    let export = herald::exports::create_queued(
        &app.app,
        &team,
        herald::exports::Kind::Contacts,
        "",
        "ops@example.com",
    )
    .await
    .unwrap();
    // Its job runs first (here, or on the app's own workers): changing the export under a
    // run in progress would look to that run like another run that took over.
    let key = format!("export:{}", export.id);
    for _ in 0..1500 {
        app.run_pending_jobs().await;
        let state: String = on_db!(app.app.db(), |pool| sqlx::query_scalar(
            "SELECT state FROM jobs WHERE unique_key = $1"
        )
        .bind(&key)
        .fetch_one(pool)
        .await
        .unwrap());
        if state == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let path = format!("{EXPORTS}/{}", export.id);
    // Then, as if that run had written a first chunk up to a contact deleted since and died:
    // the export is processing from that cursor, and its job is retried.
    on_db!(app.app.db(), |pool| {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query(
            "UPDATE exports SET status = 'processing', cursor = 'deleted-contact', \
             chunk_count = 1, rows_done = 1000, completed_at = NULL, expires_at = NULL \
             WHERE id = $1",
        )
        .bind(&export.id)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE jobs SET state = 'queued', run_at = 0, locked_by = NULL, \
             locked_until = NULL WHERE unique_key = $1",
        )
        .bind(&key)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    });
    app.run_pending_jobs().await;
    let page = wait_for_status(&admin, &path, "Failed").await;
    assert!(
        page.html.contains("was deleted while it was written"),
        "{}",
        page.html
    );
}
