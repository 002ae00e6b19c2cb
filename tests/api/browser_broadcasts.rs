//! The Broadcasts pages in a real browser: runs `tests/browser/broadcasts.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald, desktop and phone. Screenshots
//! land in `tests/artifacts/screenshots/broadcasts/`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

use std::path::Path;

use crate::broadcasts_dashboard::audience;
use crate::browser::missing_tools;
use crate::dashboard::team_id;
use crate::helpers::spawn_app;

#[tokio::test]
async fn broadcasts_pages_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    if let Some(missing) = missing_tools(&browser_dir).await {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("browser test cannot run: {missing}");
        }
        println!("SKIPPED: browser test: {missing}");
        return;
    }
    let screenshots = root.join("tests/artifacts/screenshots/broadcasts");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");

    let app = spawn_app().await;
    let (segment, topic) = audience(&app).await;
    let contact = app.get("/contacts/delivered+ann@resend.dev").await.body;
    let who = herald::broadcasts::unsubscribe::Subscriber {
        team_id: team_id(&app).await,
        contact_id: contact["id"].as_str().unwrap().to_string(),
        broadcast_id: None,
        topic_id: Some(topic),
    };
    let unsubscribe = herald::broadcasts::unsubscribe::url(&app.base, app.app.secret_key(), &who);
    let output = tokio::process::Command::new("node")
        .arg("broadcasts.mjs")
        .current_dir(&browser_dir)
        .env("HERALD_URL", &app.base)
        .env("HERALD_EMAIL", &app.admin_email)
        .env("HERALD_PASSWORD", &app.admin_password)
        .env("HERALD_API_KEY", &app.key)
        .env("HERALD_SCREENSHOTS", &screenshots)
        .env("HERALD_SEGMENT", &segment)
        .env("HERALD_UNSUBSCRIBE_URL", &unsubscribe)
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
