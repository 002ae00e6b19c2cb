//! The API Keys page in a real browser: runs `tests/browser/api_keys.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald. Screenshots land in
//! `tests/artifacts/screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `npm ci` in `tests/browser`. Without them the test prints
//! `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1` (CI), where it fails.

use std::path::Path;

use herald::auth::api_keys::{self, KeyInput};
use herald::auth::sessions::{self, Role};

use crate::dashboard::{DAY_MS, add_domain, set_usage, team_id};
use crate::helpers::spawn_app;

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What is missing to run the browser test, if anything.
pub async fn missing_tools(browser_dir: &Path) -> Option<String> {
    if !Path::new(CHROMIUM).exists() {
        return Some(format!(
            "{CHROMIUM} not found (apt-get install -y chromium)"
        ));
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        return Some("tests/browser/node_modules missing (run npm ci in tests/browser)".into());
    }
    let node = tokio::process::Command::new("node")
        .arg("--version")
        .output()
        .await;
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node not found".into());
    }
    None
}

/// Runs `tests/browser/<script>` against a fresh Herald signed in as its admin, with
/// screenshots in `tests/artifacts/screenshots/<folder>/`; skipped (or failed under
/// `HERALD_REQUIRE_EXTERNAL=1`) without Chromium or node.
pub async fn run_script(script: &str, folder: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(missing) = missing_tools(&browser_dir).await {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("browser test cannot run: {missing}");
        }
        println!("SKIPPED: browser test: {missing}");
        return;
    }
    let screenshots = root.join("tests/artifacts/screenshots").join(folder);
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");

    let app = spawn_app().await;
    let output = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(&browser_dir)
        .env("HERALD_URL", &app.base)
        .env("HERALD_EMAIL", &app.admin_email)
        .env("HERALD_PASSWORD", &app.admin_password)
        .env("HERALD_API_KEY", &app.key)
        .env("HERALD_SCREENSHOTS", &screenshots)
        .kill_on_drop(true)
        .output()
        .await
        .expect("start node");
    app.stop().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser script failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

#[tokio::test]
async fn api_keys_page_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(missing) = missing_tools(&browser_dir).await {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("browser test cannot run: {missing}");
        }
        println!("SKIPPED: browser test: {missing}");
        return;
    }
    let screenshots = root.join("tests/artifacts/screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");

    let app = spawn_app().await;
    let domain = "mail.example.com";
    add_domain(&app, domain).await;
    // A key nobody used for 45 days (amber indicator, deletion hint) and a member account.
    let team = team_id(&app).await;
    let idle_key = KeyInput {
        name: Some("Old staging key".into()),
        ..Default::default()
    };
    let (idle, _) = api_keys::create(&app.app, &team, idle_key).await.unwrap();
    let now = app.app.now_ms();
    set_usage(
        &app,
        &idle.id,
        now - 90 * DAY_MS,
        Some(now - 45 * DAY_MS),
        312,
    )
    .await;
    let (member_email, member_password) = ("member@example.com", "member-password");
    sessions::create_user(&app.app, &team, member_email, member_password, Role::Member)
        .await
        .unwrap();
    let output = tokio::process::Command::new("node")
        .arg("api_keys.mjs")
        .current_dir(&browser_dir)
        .env("HERALD_URL", &app.base)
        .env("HERALD_EMAIL", &app.admin_email)
        .env("HERALD_PASSWORD", &app.admin_password)
        .env("HERALD_DOMAIN", domain)
        .env("HERALD_IDLE_KEY", &idle.name)
        .env("HERALD_MEMBER_EMAIL", member_email)
        .env("HERALD_MEMBER_PASSWORD", member_password)
        .env("HERALD_SCREENSHOTS", &screenshots)
        .kill_on_drop(true)
        .output()
        .await
        .expect("start node");
    app.stop().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser script failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}

/// The Audience area in a real browser: `tests/browser/audience.mjs` (properties, segments,
/// topics, manual add, CSV import with its mapping step, search and filters, the contact
/// page and edit, topic changes, bulk actions, a member's view). Screenshots as above.
#[tokio::test]
async fn audience_pages_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(missing) = missing_tools(&browser_dir).await {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("browser test cannot run: {missing}");
        }
        println!("SKIPPED: browser test: {missing}");
        return;
    }
    let screenshots = root.join("tests/artifacts/screenshots/audience");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");

    let app = spawn_app().await;
    let team = team_id(&app).await;
    let (member_email, member_password) = ("member@example.com", "member-password");
    sessions::create_user(&app.app, &team, member_email, member_password, Role::Member)
        .await
        .unwrap();
    let output = tokio::process::Command::new("node")
        .arg("audience.mjs")
        .current_dir(&browser_dir)
        .env("HERALD_URL", &app.base)
        .env("HERALD_EMAIL", &app.admin_email)
        .env("HERALD_PASSWORD", &app.admin_password)
        .env("HERALD_MEMBER_EMAIL", member_email)
        .env("HERALD_MEMBER_PASSWORD", member_password)
        .env("HERALD_SCREENSHOTS", &screenshots)
        .kill_on_drop(true)
        .output()
        .await
        .expect("start node");
    app.stop().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "browser script failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
}
