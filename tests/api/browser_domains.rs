//! The Domains pages in a real browser: runs `tests/browser/domains.mjs` (playwright-core
//! driving Debian's headless Chromium) against a live Herald whose resolver asks a DNS server
//! this test controls. When the script has seen the domain pending, it prints
//! `PUBLISH <domain id>`; the test then publishes the domain's records (and DMARC and BIMI
//! records) and answers `published` on the script's stdin; the next background check
//! verifies the domain and the open page shows it (htmx refresh).
//! Screenshots land in `tests/artifacts/screenshots/domains-*.png`.
//!
//! Same requirements as `browser.rs`: without Chromium or `tests/browser/node_modules` the
//! test prints `SKIPPED: …` and passes, unless `HERALD_REQUIRE_EXTERNAL=1`.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::browser::{Browser, assert_script_succeeded};
use crate::dashboard_domains::publish_records;
use crate::dns_server::TestDns;
use crate::domains::spawn_configured;
use crate::helpers::Options;

const DOMAIN: &str = "updates.example.com";

#[tokio::test]
async fn domains_pages_in_chromium() {
    let Some(browser) = Browser::find("").await else {
        return;
    };

    // Pending domains are checked every second, so the page sees the domain verify soon
    // after the records appear, without anyone pressing a button.
    let dns = TestDns::start().await;
    let server = dns.server();
    let app = spawn_configured(Options {
        configure: Some(Box::new(move |settings| {
            settings.dns_server = server;
            settings.domains.verify_interval_secs = 1;
        })),
        ..Options::default()
    })
    .await;
    let mut node = browser
        .node("domains.mjs", &app)
        .env("HERALD_DOMAIN", DOMAIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut stdin = node.stdin.take().unwrap();
    let mut stderr = node.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut stdout = String::new();
    while let Some(line) = lines.next_line().await.expect("read the script's output") {
        if let Some(id) = line.strip_prefix("PUBLISH ") {
            publish_records(&app, &dns, id.trim()).await;
            dns.add_txt(
                &format!("_dmarc.{DOMAIN}"),
                &["v=DMARC1; p=none; rua=mailto:dmarc@example.com"],
            )
            .await;
            dns.add_txt(
                &format!("default._bimi.{DOMAIN}"),
                &["v=BIMI1; l=https://example.com/brand/logo.svg"],
            )
            .await;
            stdin.write_all(b"published\n").await.unwrap();
            stdin.flush().await.unwrap();
        }
        stdout.push_str(&line);
        stdout.push('\n');
    }
    let status = node.wait().await.expect("node ran");
    let stderr = stderr_task.await.unwrap();
    assert_script_succeeded(status, &stdout, &stderr);
}
