//! The Emails and Webhooks pages in a real browser: runs `tests/browser/emails_webhooks.mjs`
//! (playwright-core driving Debian's headless Chromium) against a live Herald and a webhook
//! endpoint this test listens on. The script sends emails through the API (one with an image,
//! a PDF and a CSV attached) to Resend's test addresses, filters the list, opens the emails
//! (timeline, sandboxed preview, attachments and a download), then adds, reveals, edits,
//! disables and deletes a webhook whose deliveries reach the endpoint.
//! Screenshots land in `tests/artifacts/screenshots/emails-webhooks/`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

use crate::browser::Browser;
use crate::helpers::spawn_app;
use crate::webhooks::Receiver;

#[tokio::test]
async fn emails_and_webhooks_pages_in_chromium() {
    let Some(browser) = Browser::find("emails-webhooks").await else {
        return;
    };
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let env = [("HERALD_RECEIVER", receiver.url.as_str())];
    browser.run("emails_webhooks.mjs", &app, &env).await;
    let received = receiver.received().len();
    assert!(received >= 1, "the endpoint received the webhook delivery");
}
