//! `/segments`, `/topics` and the deprecated `/audiences` (which share ids with segments),
//! including the legacy `/audiences/{id}/contacts…` routes the SDKs still call.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

const UNKNOWN: &str = "0190a5b4-0000-7000-8000-000000000000";

#[tokio::test]
async fn segments() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/segments",
            json!({"name": "Users", "filter": {"plan": "pro"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.body,
        json!({"id": id, "object": "segment", "name": "Users"})
    );

    let got = app.get(&format!("/segments/{id}")).await.body;
    assert_eq!(got["object"], "segment");
    assert_eq!(got["filter"], json!({"plan": "pro"}));
    assert!(got["audience_id"].is_null() && got["created_at"].is_string());

    app.post("/segments", json!({"name": "Second"})).await;
    let listed = app.get("/segments").await.body;
    assert_eq!(listed["object"], "list");
    assert_eq!(listed["data"][0]["name"], "Second");
    assert_eq!(listed["data"][1]["id"], id.as_str());
    let paged = app.get("/segments?limit=1").await.body;
    assert_eq!(paged["has_more"], true);

    assert_error(
        &app.post("/segments", json!({})).await,
        422,
        "missing_required_field",
    );
    assert_eq!(
        app.post("/segments", json!({})).await.body["message"],
        "Missing `name` field."
    );
    assert_error(
        &app.post("/segments", json!({"name": "x".repeat(256)}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.post("/segments", json!({"name": "x", "filter": [1]}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.get(&format!("/segments/{UNKNOWN}")).await,
        404,
        "not_found",
    );
    assert_error(&app.get("/segments/nope").await, 422, "invalid_parameter");
    assert_error(
        &app.get(&format!("/segments/{UNKNOWN}/contacts")).await,
        404,
        "not_found",
    );

    // Deleting removes memberships; deleting again (or an unknown id) still answers deleted.
    let contact = app
        .post(
            "/contacts",
            json!({"email": "a@example.com", "segments": [id]}),
        )
        .await;
    assert_eq!(contact.status, 201);
    let deleted = app.delete(&format!("/segments/{id}")).await;
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "segment", "deleted": true})
    );
    assert_eq!(
        app.get("/contacts/a@example.com/segments").await.body["data"],
        json!([])
    );
    assert_eq!(app.delete(&format!("/segments/{id}")).await.status, 200);
}

/// `PATCH /segments/{id}` renames a segment (Resend documents it; spec 1.5.0 lacks it).
#[tokio::test]
async fn segments_rename() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/segments",
            json!({"name": "Users", "filter": {"plan": "pro"}}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();
    app.post(
        "/contacts",
        json!({"email": "a@example.com", "segments": [id]}),
    )
    .await;

    let renamed = app
        .patch(&format!("/segments/{id}"), json!({"name": "  Customers "}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body, json!({"id": id, "object": "segment"}));
    let got = app.get(&format!("/segments/{id}")).await.body;
    assert_eq!(got["name"], "Customers");
    assert_eq!(got["filter"], json!({"plan": "pro"}), "the filter stays");
    assert_eq!(
        app.get(&format!("/segments/{id}/contacts")).await.body["data"][0]["email"],
        "a@example.com",
        "the members stay"
    );

    // Bad input changes nothing.
    for (body, name) in [
        (json!({}), "missing_required_field"),
        (json!({"name": " "}), "missing_required_field"),
        (json!({"name": "x".repeat(256)}), "validation_error"),
    ] {
        assert_error(
            &app.patch(&format!("/segments/{id}"), body).await,
            422,
            name,
        );
    }
    assert_eq!(
        app.get(&format!("/segments/{id}")).await.body["name"],
        "Customers"
    );
    assert_error(
        &app.patch(&format!("/segments/{UNKNOWN}"), json!({"name": "x"}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.patch("/segments/nope", json!({"name": "x"})).await,
        422,
        "invalid_parameter",
    );
}

#[tokio::test]
async fn topics() {
    let app = spawn_app().await;
    let created = app
        .post("/topics", json!({"name": "Product updates", "default_subscription": "opt_in", "description": "Monthly", "visibility": "public"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body, json!({"id": id, "object": "topic"}));
    let got = app.get(&format!("/topics/{id}")).await.body;
    assert_eq!(got["object"], "topic");
    assert_eq!(got["default_subscription"], "opt_in");
    assert_eq!(got["visibility"], "public");
    assert_eq!(got["description"], "Monthly");

    let private = app
        .post(
            "/topics",
            json!({"name": "Internal", "default_subscription": "opt_out"}),
        )
        .await;
    let private_id = private.body["id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/topics/{private_id}")).await.body["visibility"],
        "private",
        "private by default"
    );
    let listed = app.get("/topics").await.body;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert_eq!(listed["data"][0]["name"], "Internal");

    // Node sends its whole object back, id and default included.
    let updated = app
        .patch(&format!("/topics/{id}"), json!({"id": id, "name": "Updates", "visibility": "private", "default_subscription": "opt_in"}))
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body, json!({"id": id, "object": "topic"}));
    let got = app.get(&format!("/topics/{id}")).await.body;
    assert_eq!(
        (got["name"].clone(), got["visibility"].clone()),
        (json!("Updates"), json!("private"))
    );

    for (body, name) in [
        (json!({}), "missing_required_field"),
        (json!({"name": "x"}), "missing_required_field"),
        (
            json!({"name": "x", "default_subscription": "maybe"}),
            "validation_error",
        ),
        (
            json!({"name": "x".repeat(51), "default_subscription": "opt_in"}),
            "validation_error",
        ),
        (
            json!({"name": "x", "default_subscription": "opt_in", "description": "d".repeat(201)}),
            "validation_error",
        ),
        (
            json!({"name": "x", "default_subscription": "opt_in", "visibility": "secret"}),
            "validation_error",
        ),
    ] {
        assert_error(&app.post("/topics", body).await, 422, name);
    }
    assert_error(
        &app.patch(
            &format!("/topics/{id}"),
            json!({"default_subscription": "opt_out"}),
        )
        .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.patch(&format!("/topics/{id}"), json!({"name": ""}))
            .await,
        422,
        "missing_required_field",
    );
    assert_error(
        &app.patch(&format!("/topics/{UNKNOWN}"), json!({"name": "a"}))
            .await,
        404,
        "not_found",
    );
    assert_error(&app.get("/topics/nope").await, 422, "invalid_parameter");

    let deleted = app.delete(&format!("/topics/{id}")).await;
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "topic", "deleted": true})
    );
    assert_error(
        &app.delete(&format!("/topics/{id}")).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn audiences_are_segments() {
    let app = spawn_app().await;
    let created = app.post("/audiences", json!({"name": "Newsletter"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.body,
        json!({"id": id, "object": "audience", "name": "Newsletter"})
    );

    // The same id works as a segment, and a segment id as an audience.
    assert_eq!(
        app.get(&format!("/segments/{id}")).await.body["name"],
        "Newsletter"
    );
    let segment = app.post("/segments", json!({"name": "Seg"})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let got = app.get(&format!("/audiences/{segment}")).await.body;
    assert_eq!(got["object"], "audience");
    assert_eq!(got["name"], "Seg");
    let listed = app.get("/audiences").await.body;
    assert_eq!(listed["object"], "list");
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);

    // Legacy contact routes: create adds to the audience; get/update/delete by id or email.
    let contact = app
        .post(
            &format!("/audiences/{id}/contacts"),
            json!({"email": "old@example.com", "first_name": "Old"}),
        )
        .await;
    assert_eq!(contact.status, 201, "{}", contact.body);
    let contact_id = contact.body["id"].as_str().unwrap().to_string();
    let members = app.get(&format!("/audiences/{id}/contacts")).await.body;
    assert_eq!(members["data"][0]["id"], contact_id.as_str());
    assert_eq!(
        app.get(&format!("/audiences/{id}/contacts/old@example.com"))
            .await
            .body["first_name"],
        "Old"
    );
    let updated = app
        .patch(
            &format!("/audiences/{id}/contacts/{contact_id}"),
            json!({"audience_id": id, "last_name": "Timer"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        app.get(&format!("/contacts/{contact_id}")).await.body["last_name"],
        "Timer"
    );
    // The deprecated audience_id in POST /contacts adds to that audience too.
    let second = app
        .post(
            "/contacts",
            json!({"email": "two@example.com", "audience_id": id}),
        )
        .await;
    assert_eq!(second.status, 201);
    assert_eq!(
        app.get(&format!("/audiences/{id}/contacts")).await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let removed = app
        .delete(&format!("/audiences/{id}/contacts/old@example.com"))
        .await;
    assert_eq!(removed.body["deleted"], true);
    assert_error(
        &app.get(&format!("/contacts/{contact_id}")).await,
        404,
        "not_found",
    );

    assert_error(
        &app.post("/audiences", json!({})).await,
        422,
        "missing_required_field",
    );
    let missing = app.get(&format!("/audiences/{UNKNOWN}")).await;
    assert_error(&missing, 404, "not_found");
    assert_eq!(missing.body["message"], "Audience not found");
    assert_error(
        &app.post(
            &format!("/audiences/{UNKNOWN}/contacts"),
            json!({"email": "a@example.com"}),
        )
        .await,
        404,
        "not_found",
    );
    let deleted = app.delete(&format!("/audiences/{id}")).await;
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "audience", "deleted": true})
    );
    assert_error(&app.get(&format!("/segments/{id}")).await, 404, "not_found");
}
