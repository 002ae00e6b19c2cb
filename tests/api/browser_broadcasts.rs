//! The Broadcasts pages in a real browser: runs `tests/browser/broadcasts.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald, desktop and phone. Screenshots
//! land in `tests/artifacts/screenshots/broadcasts/`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

use crate::broadcasts_dashboard::audience;
use crate::browser::Browser;
use crate::dashboard::team_id;
use crate::helpers::spawn_app;

#[tokio::test]
async fn broadcasts_pages_in_chromium() {
    let Some(browser) = Browser::find("broadcasts").await else {
        return;
    };
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
    let env = [
        ("HERALD_SEGMENT", segment.as_str()),
        ("HERALD_UNSUBSCRIBE_URL", unsubscribe.as_str()),
    ];
    browser.run("broadcasts.mjs", &app, &env).await;
}
