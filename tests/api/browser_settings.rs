//! Settings (Team, Your account) in a real browser: runs `tests/browser/settings.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald (`browser::run_script`).
//! Screenshots land in `tests/artifacts/screenshots/settings/`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

#[tokio::test]
async fn settings_pages_in_chromium() {
    crate::browser::run_script("settings.mjs", "settings").await;
}
