//! Settings (Team, Your account) in a real browser: runs `tests/browser/settings.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald. Screenshots land in
//! `tests/artifacts/screenshots/settings/`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

use std::path::Path;

use crate::browser::missing_tools;
use crate::helpers::spawn_app;

#[tokio::test]
async fn settings_pages_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(missing) = missing_tools(&browser_dir).await {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("browser test cannot run: {missing}");
        }
        println!("SKIPPED: browser test: {missing}");
        return;
    }
    let screenshots = root.join("tests/artifacts/screenshots/settings");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");

    let app = spawn_app().await;
    let output = tokio::process::Command::new("node")
        .arg("settings.mjs")
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
