//! `/suppressions`: add, list (origin filter, pagination), get and remove by id or address,
//! batch add and remove, and the errors.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn add_get_list_and_remove() {
    let app = spawn_app().await;
    let added = app
        .post("/suppressions", json!({"email": "Steve@Example.com"}))
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(added.body["object"], "suppression");
    let id = added.body["id"].as_str().unwrap().to_string();

    // Adding it again keeps the entry.
    let again = app
        .post("/suppressions", json!({"email": "steve@example.com"}))
        .await;
    assert_eq!(again.body["id"], id.as_str());

    for key in [id.as_str(), "steve@example.com", "STEVE%40example.com"] {
        let got = app.get(&format!("/suppressions/{key}")).await;
        assert_eq!(got.status, 200, "{key}: {}", got.body);
        assert_eq!(got.body["object"], "suppression");
        assert_eq!(got.body["id"], id.as_str());
        assert_eq!(got.body["email"], "steve@example.com");
        assert_eq!(got.body["origin"], "manual");
        assert_eq!(got.body["source_id"], serde_json::Value::Null);
        assert!(got.body["created_at"].as_str().unwrap().ends_with("+00"));
    }

    let batch = app
        .post(
            "/suppressions/batch/add",
            json!({"emails": ["a@example.com", "b@example.com", "c@example.com"]}),
        )
        .await;
    assert_eq!(batch.status, 201, "{}", batch.body);
    let batch_ids: Vec<String> = batch.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["object"], "suppression");
            d["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(batch_ids.len(), 3);

    let list = app.get("/suppressions?limit=2").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["object"], "list");
    assert_eq!(list.body["has_more"], true);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    let last = list.body["data"][1]["id"].as_str().unwrap();
    let rest = app
        .get(&format!("/suppressions?limit=2&after={last}"))
        .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["has_more"], false);

    let manual = app.get("/suppressions?origin=manual").await;
    assert_eq!(manual.body["data"].as_array().unwrap().len(), 4);
    let bounces = app.get("/suppressions?origin=bounce").await;
    assert_eq!(bounces.body["data"], json!([]));
    assert_error(
        &app.get("/suppressions?origin=spam").await,
        422,
        "validation_error",
    );

    let removed = app
        .post(
            "/suppressions/batch/remove",
            json!({"emails": ["a@example.com", "nobody@example.com"]}),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        removed.body["data"],
        json!([{"object": "suppression", "id": batch_ids[0], "deleted": true}])
    );
    let removed = app
        .post("/suppressions/batch/remove", json!({"ids": [batch_ids[1]]}))
        .await;
    assert_eq!(removed.body["data"][0]["id"], batch_ids[1].as_str());

    let deleted = app.delete("/suppressions/c@example.com").await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"object": "suppression", "id": batch_ids[2], "deleted": true})
    );
    let deleted = app.delete(&format!("/suppressions/{id}")).await;
    assert_eq!(deleted.body["deleted"], true);
    assert_error(
        &app.get(&format!("/suppressions/{id}")).await,
        404,
        "not_found",
    );
    assert_eq!(app.get("/suppressions").await.body["data"], json!([]));
}

#[tokio::test]
async fn bad_requests_get_resend_errors() {
    let app = spawn_app().await;
    assert_error(
        &app.post("/suppressions", json!({})).await,
        422,
        "missing_required_field",
    );
    assert_error(
        &app.post("/suppressions", json!({"email": "not an address"}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.post("/suppressions/batch/add", json!({"emails": []}))
            .await,
        422,
        "validation_error",
    );
    let many: Vec<String> = (0..101).map(|i| format!("u{i}@example.com")).collect();
    assert_error(
        &app.post("/suppressions/batch/add", json!({ "emails": many }))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.post("/suppressions/batch/remove", json!({})).await,
        422,
        "missing_required_field",
    );
    assert_error(
        &app.post(
            "/suppressions/batch/remove",
            json!({"emails": ["a@example.com"], "ids": ["x"]}),
        )
        .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.get("/suppressions/not-an-id").await,
        422,
        "invalid_parameter",
    );
    assert_error(
        &app.get("/suppressions/0193a0c4-7f6e-7b21-9c3d-5e8f00112233")
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(Method::DELETE, "/suppressions/nobody@example.com", None)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.call(Method::POST, "/suppressions", Some(json!([1])))
            .await,
        422,
        "validation_error",
    );
}

#[tokio::test]
async fn entries_belong_to_their_team() {
    let app = spawn_app().await;
    let added = app
        .post("/suppressions", json!({"email": "x@example.com"}))
        .await;
    let id = added.body["id"].as_str().unwrap().to_string();
    // A second team cannot see or remove it.
    let other = herald::teams::create_team(&app.app, "Other").await.unwrap();
    let (_, other_key) = herald::auth::api_keys::create(
        &app.app,
        &other,
        herald::auth::api_keys::KeyInput {
            name: Some("other".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got = app
        .call_with_key(
            &other_key,
            Method::GET,
            &format!("/suppressions/{id}"),
            None,
        )
        .await;
    assert_error(&got, 404, "not_found");
    let deleted = app
        .call_with_key(
            &other_key,
            Method::DELETE,
            &format!("/suppressions/{id}"),
            None,
        )
        .await;
    assert_error(&deleted, 404, "not_found");
    assert_eq!(app.get(&format!("/suppressions/{id}")).await.status, 200);
}
