//! Exports in a real browser: runs `tests/browser/exports.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald (`browser::run_script`).
//! Screenshots land in `tests/artifacts/screenshots/exports/`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

#[tokio::test]
async fn exports_pages_in_chromium() {
    crate::browser::run_script("exports.mjs", "exports").await;
}
