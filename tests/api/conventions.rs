use std::sync::Arc;

use herald::app::{self, App};
use herald::clock::ManualClock;
use reqwest::Method;

use crate::helpers::{Options, assert_error, read, spawn_app, spawn_app_with};

#[tokio::test]
async fn auth_errors_and_json_everywhere() {
    let app = spawn_app().await;
    let missing = read(app.client.get(app.url("/api-keys")).send().await.unwrap()).await;
    assert_error(&missing, 401, "missing_api_key");
    let invalid = app
        .call_with_key("re_nope", Method::GET, "/api-keys", None)
        .await;
    assert_error(&invalid, 403, "invalid_api_key");
    assert_error(&app.get("/no-such-route").await, 404, "not_found");
    assert_error(
        &app.call(Method::PUT, "/api-keys", None).await,
        405,
        "method_not_allowed",
    );
    // The Node SDK with a trailing-slash base URL sends `//api-keys`.
    assert_eq!(app.get("//api-keys").await.status, 200);
}

/// Every API route answers with a trailing slash too (resend-rs calls
/// `/contacts/{id}/segments/`), repeated slashes included, query strings kept; a wrong method
/// is still a 405 and an unknown route a 404.
#[tokio::test]
async fn trailing_slashes_reach_the_route() {
    let app = spawn_app().await;
    let contact = app
        .post(
            "/contacts/",
            serde_json::json!({"email": "slash@example.com"}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.body);
    let id = contact.body["id"].as_str().unwrap().to_string();
    for path in [
        "/api-keys/".to_string(),
        "//api-keys//".to_string(),
        format!("/contacts/{id}/"),
        "/contacts/slash@example.com/segments/".to_string(),
        "/contacts/slash%40example.com/topics/?limit=1".to_string(),
        "/segments/?limit=1".to_string(),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    assert_eq!(
        app.get("/segments/?limit=1").await.body["object"],
        "list",
        "the query survives"
    );
    assert_error(
        &app.call(Method::PUT, "/api-keys/", None).await,
        405,
        "method_not_allowed",
    );
    assert_error(&app.get("/no-such-route/").await, 404, "not_found");
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let app = spawn_app_with(Options {
        rate_limit: 3,
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..8 {
        let r = app.get("/api-keys").await;
        statuses.push(r.status);
        for h in [
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit-policy",
        ] {
            assert!(r.headers.contains_key(h), "missing {h}");
        }
        if r.status == 429 {
            last = Some(r);
        }
    }
    let limited = last.expect("some request was limited");
    assert_error(&limited, 429, "rate_limit_exceeded");
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(limited.headers["ratelimit-policy"], "3;w=1");
}

/// On PostgreSQL several nodes share one database, and the team's limit holds across them:
/// two Herald instances on the same database together allow `rate_limit` requests a second.
#[tokio::test]
async fn rate_limit_is_shared_by_nodes_on_postgres() {
    if !crate::helpers::using_postgres() {
        eprintln!(
            "SKIPPED: the shared rate limit applies to PostgreSQL (HERALD_TEST_DATABASE=postgres)"
        );
        return;
    }
    let clock = Arc::new(ManualClock::new(1_767_225_600_000));
    let first = spawn_app_with(Options {
        rate_limit: 4,
        clock: Some(clock.clone()),
        ..Options::default()
    })
    .await;
    let second = App::open(first.app.settings().clone(), Some(clock.clone()))
        .await
        .expect("second node");
    let second_node = app::start(second.clone())
        .await
        .expect("second node starts");
    let call = |base: String| {
        let (client, key) = (first.client.clone(), first.key.clone());
        async move {
            read(
                client
                    .get(format!("{base}/api-keys"))
                    .bearer_auth(key)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let mut statuses = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 {
            first.base.clone()
        } else {
            second_node.base_url()
        };
        statuses.push(call(base).await.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
    let last = call(second_node.base_url()).await;
    assert_eq!(last.headers["ratelimit-remaining"], "0");

    // The next second opens a new window on both nodes.
    clock.advance(1_000);
    let fresh = call(second_node.base_url()).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.headers["ratelimit-remaining"], "3");
}
