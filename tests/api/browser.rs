//! The API Keys page in a real browser: runs `tests/browser/api_keys.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald. Screenshots land in
//! `tests/artifacts/screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `npm ci` in `tests/browser`. Without them the test prints
//! `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1` (CI), where it fails.

use std::path::{Path, PathBuf};

use herald::auth::api_keys::{self, KeyInput};

use crate::dashboard::{MEMBER_EMAIL, MEMBER_PASSWORD, add_domain, add_member, set_usage, team_id};
use crate::helpers::{DAY_MS, TestApp, spawn_app};

pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What is missing to run the browser test, if anything.
async fn missing_tools(browser_dir: &Path) -> Option<String> {
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

/// Where a browser test runs its script (`tests/browser`) and keeps its screenshots.
pub struct Browser {
    dir: PathBuf,
    screenshots: PathBuf,
}

impl Browser {
    /// Screenshots go to `tests/artifacts/screenshots/<folder>/` (`""`: the folder itself).
    /// `None` when Chromium or node is missing: the test prints `SKIPPED: …` and passes, or
    /// fails under `HERALD_REQUIRE_EXTERNAL=1`.
    pub async fn find(folder: &str) -> Option<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("tests/browser");
        if let Some(missing) = missing_tools(&dir).await {
            if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
                panic!("browser test cannot run: {missing}");
            }
            println!("SKIPPED: browser test: {missing}");
            return None;
        }
        let screenshots = root.join("tests/artifacts/screenshots").join(folder);
        std::fs::create_dir_all(&screenshots).expect("screenshot folder");
        Some(Self { dir, screenshots })
    }

    /// `node <script>` with what every script reads: Herald's URL, the admin's sign-in, the
    /// API key and the screenshot folder; killed when dropped.
    pub fn node(&self, script: &str, app: &TestApp) -> tokio::process::Command {
        let mut node = tokio::process::Command::new("node");
        node.arg(script)
            .current_dir(&self.dir)
            .env("HERALD_URL", &app.base)
            .env("HERALD_EMAIL", &app.admin_email)
            .env("HERALD_PASSWORD", &app.admin_password)
            .env("HERALD_API_KEY", &app.key)
            .env("HERALD_SCREENSHOTS", &self.screenshots)
            .kill_on_drop(true);
        node
    }

    /// Runs the script to its end with `env` added, and asserts that it succeeded.
    pub async fn run(&self, script: &str, app: &TestApp, env: &[(&str, &str)]) {
        let mut node = self.node(script, app);
        node.envs(env.iter().copied());
        let output = node.output().await.expect("start node");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_script_succeeded(output.status, &stdout, &stderr);
    }
}

/// Prints the script's output and fails the test with both streams when it failed.
#[track_caller]
pub fn assert_script_succeeded(status: std::process::ExitStatus, stdout: &str, stderr: &str) {
    println!("{stdout}");
    assert!(
        status.success(),
        "browser script failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}

/// Runs `tests/browser/<script>` against a fresh Herald signed in as its admin, with
/// screenshots in `tests/artifacts/screenshots/<folder>/`; skipped (or failed under
/// `HERALD_REQUIRE_EXTERNAL=1`) without Chromium or node.
pub async fn run_script(script: &str, folder: &str) {
    let Some(browser) = Browser::find(folder).await else {
        return;
    };
    let app = spawn_app().await;
    browser.run(script, &app, &[]).await;
}

#[tokio::test]
async fn api_keys_page_in_chromium() {
    let Some(browser) = Browser::find("").await else {
        return;
    };
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
    let (member_email, member_password) = (MEMBER_EMAIL, MEMBER_PASSWORD);
    add_member(&app, member_email, member_password).await;
    let env = [
        ("HERALD_DOMAIN", domain),
        ("HERALD_IDLE_KEY", idle.name.as_str()),
        ("HERALD_MEMBER_EMAIL", member_email),
        ("HERALD_MEMBER_PASSWORD", member_password),
    ];
    browser.run("api_keys.mjs", &app, &env).await;
}

/// The Audience area in a real browser: `tests/browser/audience.mjs` (properties, segments,
/// topics, manual add, CSV import with its mapping step, search and filters, the contact
/// page and edit, topic changes, bulk actions, a member's view). Screenshots as above.
#[tokio::test]
async fn audience_pages_in_chromium() {
    let Some(browser) = Browser::find("audience").await else {
        return;
    };
    let app = spawn_app().await;
    let (member_email, member_password) = (MEMBER_EMAIL, MEMBER_PASSWORD);
    add_member(&app, member_email, member_password).await;
    let env = [
        ("HERALD_MEMBER_EMAIL", member_email),
        ("HERALD_MEMBER_PASSWORD", member_password),
    ];
    browser.run("audience.mjs", &app, &env).await;
}
