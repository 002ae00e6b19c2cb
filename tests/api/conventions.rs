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
    app.stop().await;
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
    app.stop().await;
}
