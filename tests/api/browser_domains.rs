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

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::browser::missing_tools;
use crate::dashboard_domains::publish_records;
use crate::dns_server::TestDns;
use crate::domains::spawn_configured;
use crate::helpers::Options;

const DOMAIN: &str = "updates.example.com";

#[tokio::test]
async fn domains_pages_in_chromium() {
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
    let mut node = tokio::process::Command::new("node")
        .arg("domains.mjs")
        .current_dir(&browser_dir)
        .env("HERALD_URL", &app.base)
        .env("HERALD_EMAIL", &app.admin_email)
        .env("HERALD_PASSWORD", &app.admin_password)
        .env("HERALD_API_KEY", &app.key)
        .env("HERALD_DOMAIN", DOMAIN)
        .env("HERALD_SCREENSHOTS", &screenshots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
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
    app.stop().await;

    println!("{stdout}");
    assert!(
        status.success(),
        "browser script failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
}
