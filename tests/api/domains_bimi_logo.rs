//! The BIMI logo file: fetched from a real local HTTP server through Herald's SSRF-guarded
//! client and checked for SVG Tiny PS (valid, wrong profile, no title, HTTP errors, redirects,
//! too large, private addresses refused); and end to end through verification, where the logo
//! report lands on the domain resource.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use herald::domains::bimi_logo::{self, MAX_BYTES};
use serde_json::json;

use crate::dns_server::TestDns;
use crate::domains::spawn_configured;
use crate::helpers::{Options, TestApp};

const TINY_PS: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 64 64">
  <title>Acme</title>
  <circle cx="32" cy="32" r="30" fill="#0a7"/>
</svg>"##;

const PLAIN_SVG: &str =
    r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><circle r="3"/></svg>"#;

/// A web server on 127.0.0.1 with a few logos, good and bad.
struct LogoServer {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl LogoServer {
    async fn start() -> LogoServer {
        let big = Arc::new(format!(
            "<svg version=\"1.2\" baseProfile=\"tiny-ps\"><title>A</title><desc>{}</desc></svg>",
            "x".repeat(MAX_BYTES)
        ));
        let svg = |body: &'static str| {
            move || async move { ([(header::CONTENT_TYPE, "image/svg+xml")], body) }
        };
        let router = axum::Router::new()
            .route("/good.svg", axum::routing::get(svg(TINY_PS)))
            .route("/plain.svg", axum::routing::get(svg(PLAIN_SVG)))
            .route(
                "/page.svg",
                axum::routing::get(|| async { "<html><body>Hello</body></html>" }),
            )
            .route(
                "/moved.svg",
                axum::routing::get(|| async {
                    (
                        StatusCode::MOVED_PERMANENTLY,
                        [(header::LOCATION, "https://cdn.example.com/logo.svg")],
                    )
                        .into_response()
                }),
            )
            .route(
                "/big.svg",
                axum::routing::get(move || {
                    let big = big.clone();
                    async move { big.as_str().to_string() }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        LogoServer { base, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for LogoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn check(app: &TestApp, url: &str) -> bimi_logo::LogoReport {
    bimi_logo::check(app.app.settings(), app.app.http_client(), url).await
}

#[tokio::test]
async fn logos_are_fetched_and_checked() {
    // Tests allow private addresses, as an installation may for an intranet.
    let app = spawn_configured(Options::default()).await;
    let server = LogoServer::start().await;

    let good = check(&app, &server.url("/good.svg")).await;
    assert_eq!(good.status, "valid", "{good:?}");
    assert!(good.problems.is_empty() && good.advice.is_empty());

    let plain = check(&app, &server.url("/plain.svg")).await;
    assert_eq!(plain.status, "invalid");
    assert!(
        plain.problems[0].contains("baseProfile=\"tiny-ps\""),
        "{plain:?}"
    );
    assert!(plain.problems.iter().any(|p| p.contains("no <title>")));

    let page = check(&app, &server.url("/page.svg")).await;
    assert_eq!(page.status, "invalid");
    assert!(
        page.problems[0].contains("root element is <html>"),
        "{page:?}"
    );

    let missing = check(&app, &server.url("/nothing.svg")).await;
    assert_eq!(missing.status, "invalid");
    assert!(missing.problems[0].contains("HTTP 404"), "{missing:?}");

    let moved = check(&app, &server.url("/moved.svg")).await;
    assert_eq!(moved.status, "unreachable");
    assert!(
        moved.advice[0].contains("redirects (HTTP 301) to https://cdn.example.com/logo.svg"),
        "{moved:?}"
    );

    let big = check(&app, &server.url("/big.svg")).await;
    assert_eq!(big.status, "invalid");
    assert!(big.problems[0].contains("larger than 512 KB"), "{big:?}");

    // Nothing listens there.
    let closed = check(&app, "http://127.0.0.1:9/logo.svg").await;
    assert_eq!(closed.status, "unreachable");
    assert!(closed.advice[0].contains("could not fetch"), "{closed:?}");
}

#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let app = spawn_configured(Options {
        allow_private_urls: false,
        ..Options::default()
    })
    .await;
    let server = LogoServer::start().await;
    let refused = check(&app, &server.url("/good.svg")).await;
    assert_eq!(refused.status, "unreachable");
    assert!(
        refused.advice[0].contains("private or loopback"),
        "{refused:?}"
    );
    let by_name = check(
        &app,
        &server.url("/good.svg").replace("127.0.0.1", "localhost"),
    )
    .await;
    assert_eq!(by_name.status, "unreachable");
    assert!(by_name.advice[0].contains("private or loopback"));
}

#[tokio::test]
async fn verification_reports_the_logo_on_the_domain() {
    let dns = TestDns::start().await;
    let server_addr = dns.server();
    let app = spawn_configured(Options {
        configure: Some(Box::new(move |settings| {
            settings.dns_server = server_addr;
            settings.domains.check_bimi_logo = true;
        })),
        ..Options::default()
    })
    .await;
    let logos = LogoServer::start().await;
    let created = app.post("/domains", json!({"name": "example.com"})).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    dns.add_txt("_dmarc.example.com", &["v=DMARC1; p=reject"])
        .await;
    // The record must name an HTTPS address; the local server speaks plain HTTP, so the
    // fetch fails at the TLS handshake and says so without blocking the logo.
    let https_logo = logos.url("/good.svg").replace("http://", "https://");
    dns.add_txt(
        "default._bimi.example.com",
        &[&format!(
            "v=BIMI1; l={https_logo}; a=https://example.com/vmc.pem"
        )],
    )
    .await;
    let verify = app.post(&format!("/domains/{id}/verify"), json!({})).await;
    assert_eq!(verify.status, 200);
    let mut bimi = serde_json::Value::Null;
    for _ in 0..2000 {
        app.run_pending_jobs().await;
        bimi = app.get(&format!("/domains/{id}")).await.body["bimi"].clone();
        if !bimi.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(bimi["logo"]["status"], "unreachable", "{bimi}");
    let messages = bimi["messages"].to_string();
    assert!(messages.contains("could not fetch the logo"), "{messages}");
    assert_eq!(
        bimi["ready"], true,
        "an unreachable logo is a note, not a verdict"
    );
}
