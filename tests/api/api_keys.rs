use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn create_list_update_delete() {
    let app = spawn_app().await;
    let created = app.post("/api-keys", json!({"name": "ci"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.body["token"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("re_") && token.len() == 36, "{token}");

    // The new key works.
    let listed = app
        .call_with_key(&token, Method::GET, "/api-keys", None)
        .await;
    assert_eq!(listed.status, 200);
    let names: Vec<_> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("ci"), json!("Default key")]);
    assert_eq!(listed.body["object"], "list");
    assert!(
        listed.body["data"][0]["last_used_at"].is_null()
            || listed.body["data"][0]["last_used_at"].is_string()
    );

    let updated = app
        .patch(
            &format!("/api-keys/{id}"),
            json!({"name": "renamed", "id": id}),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body, json!({"object": "api_key", "id": id}));

    let deleted = app.delete(&format!("/api-keys/{id}")).await;
    assert_eq!(
        deleted.body,
        json!({"object": "api_key", "id": id, "deleted": true})
    );
    let gone = app.delete(&format!("/api-keys/{id}")).await;
    assert_error(&gone, 404, "not_found");
    let rejected = app
        .call_with_key(&token, Method::GET, "/api-keys", None)
        .await;
    assert_error(&rejected, 403, "invalid_api_key");
}

#[tokio::test]
async fn validation_errors() {
    let app = spawn_app().await;
    assert_error(
        &app.post("/api-keys", json!({})).await,
        422,
        "missing_required_field",
    );
    assert_error(
        &app.post("/api-keys", json!({"name": "x".repeat(51)})).await,
        422,
        "validation_error",
    );
    assert_error(
        &app.post("/api-keys", json!({"name": "a", "permission": "root"}))
            .await,
        422,
        "invalid_access",
    );
    assert_error(
        &app.delete("/api-keys/not-a-uuid").await,
        422,
        "invalid_parameter",
    );
    assert_error(
        &app.post("/api-keys", json!({"name": "a", "permission": "sending_access", "domain_id": "0190a5b4-0000-7000-8000-000000000000"})).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn sending_keys_are_restricted() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/api-keys",
            json!({"name": "send", "permission": "sending_access"}),
        )
        .await;
    let token = created.body["token"].as_str().unwrap().to_string();
    let reply = app
        .call_with_key(&token, Method::GET, "/api-keys", None)
        .await;
    assert_error(&reply, 401, "restricted_api_key");
}

#[tokio::test]
async fn usage_is_recorded() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/api-keys").await;
    }
    // The request-log writer batches; give it a moment.
    let mut keys = app.get("/api-keys").await;
    for _ in 0..50 {
        if keys.body["data"][0]["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        keys = app.get("/api-keys").await;
    }
    assert!(
        keys.body["data"][0]["last_used_at"].is_string(),
        "{}",
        keys.body
    );
}
