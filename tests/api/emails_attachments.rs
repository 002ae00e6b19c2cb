//! Attachments: the three `content` encodings, `path` URLs fetched from a local HTTP server
//! (and refused on loopback unless allowed), inline `content_id`, the attachments endpoints
//! and the signed download link.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::emails::{id_of, test_email};
use crate::helpers::{Options, assert_error, read, spawn_app, spawn_app_with};

pub const PDF: &[u8] = b"%PDF-1.4 a tiny test document";

/// A file server for `path` attachments. `/slow.txt` answers only once `release` is
/// notified, and signals `arrived` when the request comes in.
pub struct FileServer {
    pub base: String,
    pub arrived: Arc<Notify>,
    pub release: Arc<Notify>,
}

pub async fn file_server() -> FileServer {
    let arrived = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (a, r) = (arrived.clone(), release.clone());
    let router = Router::new()
        .route(
            "/docs/report.pdf",
            get(|| async { ([(header::CONTENT_TYPE, "application/pdf")], PDF) }),
        )
        .route(
            "/download",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/png")],
                    vec![137u8, 80, 78, 71],
                )
            }),
        )
        .route(
            "/endless.bin",
            get(|| async {
                // Never ends: the client must stop at the size limit.
                let chunk = axum::body::Bytes::from(vec![0u8; 1 << 16]);
                let stream = futures::stream::repeat(Ok::<_, std::convert::Infallible>(chunk));
                axum::body::Body::from_stream(stream)
            }),
        )
        .route(
            "/slow.txt",
            get(move || {
                let (a, r) = (a.clone(), r.clone());
                async move {
                    a.notify_one();
                    r.notified().await;
                    "slow content"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    FileServer {
        base: format!("http://{addr}"),
        arrived,
        release,
    }
}

fn with_attachments(attachments: Value) -> Value {
    let mut email = test_email("delivered@resend.dev");
    email["attachments"] = attachments;
    email
}

#[tokio::test]
async fn all_encodings_paths_and_inline_images() {
    let app = spawn_app().await;
    let files = file_server().await;
    let hello = b"hello".to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&hello);
    let sent = app
        .post(
            "/emails",
            with_attachments(json!([
                {"filename": "a.txt", "content": b64},
                {"filename": "b.txt", "content": hello},
                {"filename": "c.txt", "content": {"type": "Buffer", "data": hello}},
                {"path": format!("{}/docs/report.pdf", files.base)},
                {"path": format!("{}/download", files.base), "filename": "logo.png",
                 "content_id": "logo"},
                {"filename": "d.csv", "content": "YSxi", "inline_content_id": "<sheet>"},
            ])),
        )
        .await;
    let id = id_of(&sent);

    let list = app.get(&format!("/emails/{id}/attachments")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["has_more"], false);
    let data = list.body["data"].as_array().unwrap();
    let summary: Vec<(Value, Value, Value, Value, Value)> = data
        .iter()
        .map(|a| {
            (
                a["filename"].clone(),
                a["content_type"].clone(),
                a["size"].clone(),
                a["content_id"].clone(),
                a["content_disposition"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                json!("a.txt"),
                json!("text/plain"),
                json!(5),
                Value::Null,
                json!("attachment")
            ),
            (
                json!("b.txt"),
                json!("text/plain"),
                json!(5),
                Value::Null,
                json!("attachment")
            ),
            (
                json!("c.txt"),
                json!("text/plain"),
                json!(5),
                Value::Null,
                json!("attachment")
            ),
            (
                json!("report.pdf"),
                json!("application/pdf"),
                json!(PDF.len()),
                Value::Null,
                json!("attachment")
            ),
            (
                json!("logo.png"),
                json!("image/png"),
                json!(4),
                json!("logo"),
                json!("inline")
            ),
            (
                json!("d.csv"),
                json!("text/csv"),
                json!(3),
                json!("sheet"),
                json!("inline")
            ),
        ]
    );
    for a in data {
        assert!(a["expires_at"].as_str().unwrap().ends_with('Z'));
        assert!(a["download_url"].as_str().unwrap().contains("signature="));
        assert!(a.get("object").is_none());
    }

    // Cursor pagination over the attachments.
    let ids: Vec<&str> = data.iter().map(|a| a["id"].as_str().unwrap()).collect();
    let page = app
        .get(&format!(
            "/emails/{id}/attachments?limit=2&after={}",
            ids[0]
        ))
        .await;
    let got: Vec<&str> = page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids[1..3]);
    assert_eq!(page.body["has_more"], true);

    // One attachment, then its content through the signed link.
    let one = app
        .get(&format!("/emails/{id}/attachments/{}", ids[3]))
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["object"], "attachment");
    assert_eq!(one.body["filename"], "report.pdf");
    let url = url::Url::parse(one.body["download_url"].as_str().unwrap()).unwrap();
    let local = format!("{}?{}", url.path(), url.query().unwrap());
    let download = app.client.get(app.url(&local)).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/pdf");
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"report.pdf\"")
    );
    assert_eq!(download.headers()["x-content-type-options"], "nosniff");
    assert_eq!(&download.bytes().await.unwrap()[..], PDF);

    // A tampered signature, another attachment's signature, or a changed expiry: refused.
    let signature = url
        .query_pairs()
        .find(|(k, _)| k == "signature")
        .unwrap()
        .1
        .to_string();
    let expires = url
        .query_pairs()
        .find(|(k, _)| k == "expires")
        .unwrap()
        .1
        .to_string();
    let mut flipped = signature.clone();
    let last = if flipped.ends_with('0') { "1" } else { "0" };
    flipped.replace_range(flipped.len() - 1.., last);
    for path in [
        format!("{}?expires={expires}&signature={flipped}", url.path()),
        format!(
            "/downloads/attachments/{}?expires={expires}&signature={signature}",
            ids[0]
        ),
        format!(
            "{}?expires={}&signature={signature}",
            url.path(),
            expires.parse::<i64>().unwrap() + 1
        ),
        url.path().to_string(),
    ] {
        let reply = read(app.client.get(app.url(&path)).send().await.unwrap()).await;
        assert_error(&reply, 403, "validation_error");
    }

    assert_error(
        &app.get(&format!(
            "/emails/{id}/attachments/0190a5b4-0000-7000-8000-000000000000"
        ))
        .await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/emails/0190a5b4-0000-7000-8000-000000000000/attachments")
            .await,
        404,
        "not_found",
    );
    // An email without attachments has an empty list.
    let plain = id_of(
        &app.post("/emails", test_email("delivered@resend.dev"))
            .await,
    );
    let none = app.get(&format!("/emails/{plain}/attachments")).await;
    assert_eq!(none.body["data"], json!([]));
}

#[tokio::test]
async fn bad_paths_are_refused() {
    let app = spawn_app().await;
    let files = file_server().await;
    for path in [
        format!("{}/missing.pdf", files.base),
        format!("{}/endless.bin", files.base),
        "ftp://example.com/file.txt".to_string(),
        "not a url".to_string(),
    ] {
        let reply = app
            .post("/emails", with_attachments(json!([{ "path": path }])))
            .await;
        assert_error(&reply, 422, "invalid_attachment");
    }
    drop(app);

    // Without `allow_private_urls`, loopback is out of reach.
    let guarded = spawn_app_with(Options {
        allow_private_urls: false,
        ..Options::default()
    })
    .await;
    for path in [
        format!("{}/docs/report.pdf", files.base),
        format!(
            "http://localhost:{}/docs/report.pdf",
            files.base.rsplit(':').next().unwrap()
        ),
    ] {
        let reply = guarded
            .post("/emails", with_attachments(json!([{ "path": path }])))
            .await;
        assert_error(&reply, 422, "invalid_attachment");
        assert!(
            reply.body["message"].as_str().unwrap().contains("private"),
            "{}",
            reply.body
        );
    }
}
