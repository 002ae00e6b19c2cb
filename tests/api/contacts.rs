//! `/contacts`: create, read by id or email (raw and URL-encoded), update, delete, list with
//! cursors and by segment, segment membership, topic subscriptions, history, and every
//! validation error. A refused write changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app};

async fn create_contact(app: &TestApp, body: Value) -> String {
    let reply = app.post("/contacts", body).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["object"], "contact");
    reply.body["id"].as_str().unwrap().to_string()
}

pub async fn create_segment(app: &TestApp, name: &str) -> String {
    let reply = app.post("/segments", json!({ "name": name })).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

pub async fn create_topic(app: &TestApp, name: &str, default: &str) -> String {
    let reply = app
        .post(
            "/topics",
            json!({"name": name, "default_subscription": default}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

/// A retrieved contact's property values without their types: Resend answers each property
/// as `{"type": …, "value": …}` (its docs; the Node, Python and Rust SDKs' types).
pub fn property_values(contact: &Value) -> Value {
    let Some(properties) = contact["properties"].as_object() else {
        return contact["properties"].clone();
    };
    properties
        .iter()
        .map(|(key, typed)| (key.clone(), typed["value"].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

pub async fn create_property(app: &TestApp, key: &str, kind: &str) -> String {
    let reply = app
        .post("/contact-properties", json!({"key": key, "type": kind}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn create_get_update_delete_by_id_and_email() {
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    create_property(&app, "age", "number").await;
    let id = create_contact(
        &app,
        json!({"email": "Ann.Lee+news@Example.com", "first_name": "Ann", "unsubscribed": false,
               "properties": {"plan": "pro", "age": 41}}),
    )
    .await;

    let by_id = app.get(&format!("/contacts/{id}")).await;
    assert_eq!(by_id.status, 200, "{}", by_id.body);
    assert_eq!(by_id.body["object"], "contact");
    assert_eq!(by_id.body["email"], "Ann.Lee+news@Example.com");
    assert_eq!(by_id.body["first_name"], "Ann");
    assert!(by_id.body["last_name"].is_null());
    assert_eq!(by_id.body["unsubscribed"], false);
    assert_eq!(
        by_id.body["properties"],
        json!({"plan": {"type": "string", "value": "pro"}, "age": {"type": "number", "value": 41}})
    );
    let created_at = by_id.body["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with("+00") && created_at.len() == 26,
        "{created_at}"
    );
    assert_eq!(by_id.body["history"][0]["type"], "contact.created");

    // By email: raw (as Node sends it), URL-encoded (as Python does), any case.
    for path in [
        "/contacts/Ann.Lee+news@Example.com",
        "/contacts/ann.lee%2Bnews%40example.com",
        "/contacts/ANN.LEE+NEWS@EXAMPLE.COM",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.body["id"], id.as_str());
    }

    // Creating the same address again returns the existing contact and changes nothing.
    let again = app
        .post(
            "/contacts",
            json!({"email": "ann.lee+news@example.com", "first_name": "Other"}),
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["id"], id.as_str());
    assert_eq!(
        app.get(&format!("/contacts/{id}")).await.body["first_name"],
        "Ann"
    );

    // Update by email; Python repeats the id in the body. Properties merge; null removes.
    let updated = app
        .patch(
            "/contacts/ann.lee+news@example.com",
            json!({"id": id, "last_name": "Lee", "first_name": null, "properties": {"age": null, "plan": "team"}}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body, json!({"object": "contact", "id": id}));
    let after = app.get(&format!("/contacts/{id}")).await.body;
    assert_eq!(after["last_name"], "Lee");
    assert!(after["first_name"].is_null());
    assert_eq!(property_values(&after), json!({"plan": "team"}));

    // Unsubscribing is recorded in the history.
    app.patch(&format!("/contacts/{id}"), json!({"unsubscribed": true}))
        .await;
    let after = app.get(&format!("/contacts/{id}")).await.body;
    assert_eq!(after["unsubscribed"], true);
    assert_eq!(after["history"][0]["type"], "contact.unsubscribed");

    // Changing the email address.
    let moved = app
        .patch(
            &format!("/contacts/{id}"),
            json!({"email": "ann@example.org"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        app.get("/contacts/ann@example.org").await.body["id"],
        id.as_str()
    );

    // Delete by email answers with both `contact` (as given) and `id`.
    let deleted = app.delete("/contacts/ann@example.org").await;
    assert_eq!(
        deleted.body,
        json!({"object": "contact", "id": id, "contact": "ann@example.org", "deleted": true})
    );
    assert_error(&app.get(&format!("/contacts/{id}")).await, 404, "not_found");
    // Deleting what does not exist still answers deleted: true, as Resend does.
    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    let again = app.delete(&format!("/contacts/{unknown}")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["deleted"], true);
}

#[tokio::test]
async fn validation_errors_change_nothing() {
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    let segment = create_segment(&app, "Users").await;
    let unknown = "0190a5b4-0000-7000-8000-000000000000";

    assert_error(
        &app.post("/contacts", json!({})).await,
        422,
        "missing_required_field",
    );
    assert_eq!(
        app.post("/contacts", json!({})).await.body["message"],
        "Missing `email` field."
    );
    for bad in [
        "not-an-email",
        "ann@",
        "Ann <ann@example.com>",
        "a b@example.com",
    ] {
        assert_error(
            &app.post("/contacts", json!({"email": bad})).await,
            422,
            "validation_error",
        );
    }
    // Unknown property (keys are case-sensitive), wrong type, default key in properties.
    for properties in [
        json!({"Plan": "pro"}),
        json!({"plan": 3}),
        json!({"first_name": "x"}),
    ] {
        let reply = app
            .post(
                "/contacts",
                json!({"email": "x@example.com", "properties": properties}),
            )
            .await;
        assert_error(&reply, 422, "validation_error");
    }
    // Unknown or malformed segment and topic ids; bad subscription values.
    let reply = app
        .post(
            "/contacts",
            json!({"email": "x@example.com", "segments": [unknown]}),
        )
        .await;
    assert_error(&reply, 404, "not_found");
    let reply = app
        .post(
            "/contacts",
            json!({"email": "x@example.com", "segments": ["nope"]}),
        )
        .await;
    assert_error(&reply, 422, "validation_error");
    let reply = app
        .post("/contacts", json!({"email": "x@example.com", "topics": [{"id": unknown, "subscription": "opt_in"}]}))
        .await;
    assert_error(&reply, 404, "not_found");
    let topic = crate::contacts::create_topic(&app, "News", "opt_in").await;
    let reply = app
        .post(
            "/contacts",
            json!({"email": "x@example.com", "topics": [{"id": topic, "subscription": "maybe"}]}),
        )
        .await;
    assert_error(&reply, 422, "validation_error");
    // A valid segment beside a bad property: nothing is written, not even the membership.
    let reply = app
        .post(
            "/contacts",
            json!({"email": "x@example.com", "segments": [segment], "properties": {"plan": 1}}),
        )
        .await;
    assert_error(&reply, 422, "validation_error");
    assert_error(&app.get("/contacts/x@example.com").await, 404, "not_found");
    assert_eq!(app.get("/contacts").await.body["data"], json!([]));

    // Update refusals leave the contact as it was.
    let id = create_contact(
        &app,
        json!({"email": "y@example.com", "properties": {"plan": "free"}}),
    )
    .await;
    let reply = app
        .patch(
            &format!("/contacts/{id}"),
            json!({"first_name": "Changed", "properties": {"plan": "pro", "seats": 3}}),
        )
        .await;
    assert_error(&reply, 422, "validation_error");
    let contact = app.get(&format!("/contacts/{id}")).await.body;
    assert!(contact["first_name"].is_null());
    assert_eq!(property_values(&contact), json!({"plan": "free"}));
    create_contact(&app, json!({"email": "z@example.com"})).await;
    let reply = app
        .patch(
            &format!("/contacts/{id}"),
            json!({"email": "Z@example.com"}),
        )
        .await;
    assert_error(&reply, 422, "validation_error");

    // Paths: neither a UUID nor an email; unknown contact.
    assert_error(
        &app.get("/contacts/not-an-id").await,
        422,
        "invalid_parameter",
    );
    assert_error(
        &app.get(&format!("/contacts/{unknown}")).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/contacts/nobody@example.com").await,
        404,
        "not_found",
    );
    assert_error(
        &app.patch(&format!("/contacts/{unknown}"), json!({"first_name": "A"}))
            .await,
        404,
        "not_found",
    );
    // Bad JSON, bad pagination.
    let reply = app
        .client
        .post(app.url("/contacts"))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(&crate::helpers::read(reply).await, 400, "validation_error");
    assert_error(&app.get("/contacts?limit=0").await, 422, "validation_error");
    assert_error(
        &app.get("/contacts?limit=101").await,
        422,
        "validation_error",
    );
    assert_error(
        &app.get("/contacts?after=a&before=b").await,
        422,
        "validation_error",
    );
    assert_error(
        &app.get("/contacts?segment_id=nope").await,
        422,
        "invalid_parameter",
    );
    assert_error(
        &app.get(&format!("/contacts?segment_id={unknown}")).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn list_pages_with_cursors_and_by_segment() {
    let app = spawn_app().await;
    let segment = create_segment(&app, "Customers").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut body = json!({"email": format!("user{i}@example.com")});
        if i % 2 == 0 {
            // Both shapes the SDKs send: ids (spec) and {id} objects (Node).
            body["segments"] = if i % 4 == 0 {
                json!([segment])
            } else {
                json!([{"id": segment}])
            };
        }
        ids.push(create_contact(&app, body).await);
    }
    ids.reverse(); // newest first

    // Without a limit every contact comes back, as Resend's older endpoints do.
    let all = app.get("/contacts").await.body;
    assert_eq!(all["object"], "list");
    assert_eq!(all["has_more"], false);
    let listed: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    let item = &all["data"][0];
    for field in [
        "id",
        "email",
        "first_name",
        "last_name",
        "created_at",
        "unsubscribed",
    ] {
        assert!(item.get(field).is_some(), "{field} in {item}");
    }

    // Forward with `after`, back with `before`.
    let first = app.get("/contacts?limit=3").await.body;
    assert_eq!(first["has_more"], true);
    let last_id = first["data"][2]["id"].as_str().unwrap();
    let second = app
        .get(&format!("/contacts?limit=3&after={last_id}"))
        .await
        .body;
    let got: Vec<&str> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids[3..6]);
    let back = app
        .get(&format!("/contacts?limit=2&before={}", ids[3]))
        .await
        .body;
    let got: Vec<&str> = back["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, ids[1..3]);

    // By segment: query parameter, the SDKs' /segments/{id}/contacts, and the audience route.
    let members: Vec<&str> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| (6 - i) % 2 == 0)
        .map(|(_, id)| id.as_str())
        .collect();
    for path in [
        format!("/contacts?segment_id={segment}"),
        format!("/segments/{segment}/contacts"),
        format!("/audiences/{segment}/contacts"),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let got: Vec<&str> = reply.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, members, "{path}");
    }
    let paged = app
        .get(&format!("/segments/{segment}/contacts?limit=2"))
        .await
        .body;
    assert_eq!(paged["has_more"], true);
    assert_eq!(paged["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn segment_membership_and_history() {
    let app = spawn_app().await;
    let segment = create_segment(&app, "Beta").await;
    let id = create_contact(&app, json!({"email": "bo@example.com"})).await;

    // Node sends no body; Python repeats the ids in its body.
    let added = app
        .call(
            Method::POST,
            &format!("/contacts/{id}/segments/{segment}"),
            None,
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(
        added.body,
        json!({"id": segment, "object": "contact_segment", "contact_id": id, "segment_id": segment})
    );
    let twice = app
        .post(
            &format!("/contacts/bo@example.com/segments/{segment}"),
            json!({"contact_id": id, "segment_id": segment}),
        )
        .await;
    assert_eq!(twice.status, 200);

    let listed = app.get(&format!("/contacts/{id}/segments")).await.body;
    assert_eq!(listed["object"], "list");
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["id"], segment.as_str());
    assert_eq!(listed["data"][0]["name"], "Beta");

    let removed = app
        .delete(&format!("/contacts/{id}/segments/{segment}"))
        .await;
    assert_eq!(
        removed.body,
        json!({"id": segment, "object": "contact_segment", "contact_id": id, "segment_id": segment, "deleted": true})
    );
    assert_eq!(
        app.get(&format!("/contacts/{id}/segments")).await.body["data"],
        json!([])
    );

    let history: Vec<String> = app.get(&format!("/contacts/{id}")).await.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        history,
        ["segment.removed", "segment.added", "contact.created"],
        "added once, removed once"
    );

    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    assert_error(
        &app.post(&format!("/contacts/{id}/segments/{unknown}"), json!({}))
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post(&format!("/contacts/{id}/segments/nope"), json!({}))
            .await,
        422,
        "invalid_parameter",
    );
    assert_error(
        &app.post(
            &format!("/contacts/{unknown}/segments/{segment}"),
            json!({}),
        )
        .await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn topic_subscriptions() {
    let app = spawn_app().await;
    let news = crate::contacts::create_topic(&app, "News", "opt_in").await;
    let promos = crate::contacts::create_topic(&app, "Promotions", "opt_out").await;
    let id = create_contact(
        &app,
        json!({"email": "cy@example.com", "topics": [{"id": promos, "subscription": "opt_in"}]}),
    )
    .await;

    let subscription = |body: &Value, topic: &str| -> String {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == topic)
            .unwrap()["subscription"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let listed = app.get(&format!("/contacts/{id}/topics")).await.body;
    assert_eq!(listed["object"], "list");
    // Each item carries the topic's `created_at` (the Rust SDK requires it).
    let topic = app.get(&format!("/topics/{news}")).await.body;
    let item = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == news.as_str())
        .unwrap();
    assert_eq!(item["created_at"], topic["created_at"], "{listed}");
    assert_eq!(
        subscription(&listed, &news),
        "opt_in",
        "the topic's default"
    );
    assert_eq!(
        subscription(&listed, &promos),
        "opt_in",
        "chosen at creation"
    );
    assert!(
        listed["data"][0].get("name").is_some() && listed["data"][0].get("description").is_some()
    );

    // The bare array both SDKs send, and the spec's {topics: […]}.
    let updated = app
        .patch(
            &format!("/contacts/{id}/topics"),
            json!([{"id": news, "subscription": "opt_out"}]),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        updated.body,
        json!({"id": id, "object": "contact_topics", "contact_id": id, "topics": [{"id": news, "subscription": "opt_out"}]})
    );
    let updated = app
        .patch(
            "/contacts/cy@example.com/topics",
            json!({"topics": [{"id": promos, "subscription": "opt_out"}]}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let listed = app.get(&format!("/contacts/{id}/topics")).await.body;
    assert_eq!(subscription(&listed, &news), "opt_out");
    assert_eq!(subscription(&listed, &promos), "opt_out");

    let history: Vec<String> = app.get(&format!("/contacts/{id}")).await.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        history,
        [
            "topic.unsubscribed",
            "topic.unsubscribed",
            "topic.subscribed",
            "contact.created"
        ]
    );

    // Validation: missing topics, unknown topic, bad subscription; nothing applied.
    assert_error(
        &app.patch(&format!("/contacts/{id}/topics"), json!({}))
            .await,
        422,
        "missing_required_field",
    );
    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    let reply = app
        .patch(&format!("/contacts/{id}/topics"), json!([{"id": news, "subscription": "opt_in"}, {"id": unknown, "subscription": "opt_in"}]))
        .await;
    assert_error(&reply, 404, "not_found");
    let reply = app
        .patch(
            &format!("/contacts/{id}/topics"),
            json!([{"id": news, "subscription": "yes"}]),
        )
        .await;
    assert_error(&reply, 422, "validation_error");
    let listed = app.get(&format!("/contacts/{id}/topics")).await.body;
    assert_eq!(
        subscription(&listed, &news),
        "opt_out",
        "refused requests change nothing"
    );
}

#[tokio::test]
async fn sending_keys_cannot_manage_contacts() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/api-keys",
            json!({"name": "send", "permission": "sending_access"}),
        )
        .await;
    let token = created.body["token"].as_str().unwrap().to_string();
    for (method, path) in [
        (Method::GET, "/contacts"),
        (Method::POST, "/contacts"),
        (Method::GET, "/segments"),
        (Method::GET, "/topics"),
        (Method::GET, "/contact-properties"),
        (Method::GET, "/contacts/imports"),
        (Method::GET, "/audiences"),
    ] {
        let reply = app
            .call_with_key(&token, method, path, Some(json!({})))
            .await;
        assert_error(&reply, 401, "restricted_api_key");
    }
}
