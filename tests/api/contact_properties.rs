//! `/contact-properties`, and the rules contact writes are held to, as a table: each case
//! tries to create a contact with one property value and expects it stored or refused.

use serde_json::{Value, json};

use crate::contacts::{create_property, property_values};
use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn crud_defaults_and_validation() {
    let app = spawn_app().await;

    // The defaults always exist; the API lists those of its types (string, number). The
    // boolean `unsubscribed` is the contact's own field, a type no Resend SDK reads in a
    // property list (resend-rs fails to decode the whole list), so only the dashboard shows it.
    let listed = app.get("/contact-properties").await.body;
    let keys: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    for key in ["email", "first_name", "last_name"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert!(!keys.contains(&"unsubscribed"), "{keys:?}");
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "string" || p["type"] == "number"),
        "{listed}"
    );

    let created = app
        .post(
            "/contact-properties",
            json!({"key": "company_name", "type": "string", "fallback_value": "Acme"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["object"], "contact_property");
    let id = created.body["id"].as_str().unwrap().to_string();
    let got = app.get(&format!("/contact-properties/{id}")).await.body;
    assert_eq!(got["object"], "contact_property");
    assert_eq!(
        (
            got["key"].clone(),
            got["type"].clone(),
            got["fallback_value"].clone()
        ),
        (json!("company_name"), json!("string"), json!("Acme"))
    );
    assert!(got["created_at"].is_string());
    assert_eq!(
        app.get("/contact-properties").await.body["data"][0]["key"],
        "company_name",
        "newest first"
    );

    // Update the fallback (Python repeats the id), clear it, refuse a wrong type.
    let updated = app
        .patch(
            &format!("/contact-properties/{id}"),
            json!({"id": id, "fallback_value": "Initech"}),
        )
        .await;
    assert_eq!(
        updated.body,
        json!({"id": id, "object": "contact_property"})
    );
    assert_eq!(
        app.get(&format!("/contact-properties/{id}")).await.body["fallback_value"],
        "Initech"
    );
    assert_error(
        &app.patch(
            &format!("/contact-properties/{id}"),
            json!({"fallback_value": 5}),
        )
        .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.patch(
            &format!("/contact-properties/{id}"),
            json!({"type": "number"}),
        )
        .await,
        422,
        "validation_error",
    );
    app.patch(
        &format!("/contact-properties/{id}"),
        json!({"fallback_value": null}),
    )
    .await;
    assert!(app.get(&format!("/contact-properties/{id}")).await.body["fallback_value"].is_null());

    // Creation errors.
    for (body, status, name) in [
        (json!({}), 422, "missing_required_field"),
        (json!({"key": "plan"}), 422, "missing_required_field"),
        (
            json!({"key": "plan", "type": "boolean"}),
            422,
            "validation_error",
        ),
        (
            json!({"key": "has space", "type": "string"}),
            422,
            "validation_error",
        ),
        (
            json!({"key": "k".repeat(51), "type": "string"}),
            422,
            "validation_error",
        ),
        (
            json!({"key": "seats", "type": "number", "fallback_value": "ten"}),
            422,
            "validation_error",
        ),
        (
            json!({"key": "plan", "type": "string", "fallback_value": 1}),
            422,
            "validation_error",
        ),
        (
            json!({"key": "company_name", "type": "string"}),
            422,
            "validation_error",
        ),
        (
            json!({"key": "first_name", "type": "string"}),
            422,
            "validation_error",
        ),
    ] {
        let reply = app.post("/contact-properties", body.clone()).await;
        assert_error(&reply, status, name);
        let _ = body;
    }
    // Keys are case-sensitive: a second property differing in case is a different property.
    let upper = app
        .post(
            "/contact-properties",
            json!({"key": "Company_Name", "type": "number", "fallback_value": 3}),
        )
        .await;
    assert_eq!(upper.status, 201, "{}", upper.body);

    // Defaults cannot change; unknown and malformed ids.
    let default_id = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "email")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        &app.patch(
            &format!("/contact-properties/{default_id}"),
            json!({"fallback_value": "x"}),
        )
        .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.delete(&format!("/contact-properties/{default_id}"))
            .await,
        422,
        "validation_error",
    );
    let unknown = "0190a5b4-0000-7000-8000-000000000000";
    assert_error(
        &app.get(&format!("/contact-properties/{unknown}")).await,
        404,
        "not_found",
    );
    assert_error(
        &app.get("/contact-properties/nope").await,
        422,
        "invalid_parameter",
    );

    // Deleting a property removes its values from contacts.
    let contact = app
        .post("/contacts", json!({"email": "a@example.com", "properties": {"company_name": "Acme", "Company_Name": 7}}))
        .await;
    assert_eq!(contact.status, 201, "{}", contact.body);
    let deleted = app.delete(&format!("/contact-properties/{id}")).await;
    assert_eq!(
        deleted.body,
        json!({"id": id, "object": "contact_property", "deleted": true})
    );
    assert_eq!(
        property_values(&app.get("/contacts/a@example.com").await.body),
        json!({"Company_Name": 7})
    );
    assert_error(
        &app.delete(&format!("/contact-properties/{id}")).await,
        404,
        "not_found",
    );
}

/// (property value sent, accepted?) per property type, on create and on update.
#[tokio::test]
async fn property_values_table() {
    let app = spawn_app().await;
    create_property(&app, "plan", "string").await;
    create_property(&app, "seats", "number").await;

    struct Case {
        properties: Value,
        accepted: bool,
        why: &'static str,
    }
    let cases = [
        Case {
            properties: json!({"plan": "pro"}),
            accepted: true,
            why: "string for a string",
        },
        Case {
            properties: json!({"plan": ""}),
            accepted: true,
            why: "empty string is a string",
        },
        Case {
            properties: json!({"seats": 3}),
            accepted: true,
            why: "integer for a number",
        },
        Case {
            properties: json!({"seats": 2.5}),
            accepted: true,
            why: "decimal for a number",
        },
        Case {
            properties: json!({"seats": -1}),
            accepted: true,
            why: "negative number",
        },
        Case {
            properties: json!({"plan": null}),
            accepted: true,
            why: "null removes a value",
        },
        Case {
            properties: json!({}),
            accepted: true,
            why: "no properties",
        },
        Case {
            properties: json!({"plan": 3}),
            accepted: false,
            why: "number for a string",
        },
        Case {
            properties: json!({"plan": true}),
            accepted: false,
            why: "boolean for a string",
        },
        Case {
            properties: json!({"plan": ["a"]}),
            accepted: false,
            why: "array for a string",
        },
        Case {
            properties: json!({"plan": {"a": 1}}),
            accepted: false,
            why: "object for a string",
        },
        Case {
            properties: json!({"seats": "3"}),
            accepted: false,
            why: "numeric string for a number",
        },
        Case {
            properties: json!({"seats": false}),
            accepted: false,
            why: "boolean for a number",
        },
        Case {
            properties: json!({"Plan": "pro"}),
            accepted: false,
            why: "key differs in case",
        },
        Case {
            properties: json!({"plan_x": "pro"}),
            accepted: false,
            why: "unknown key",
        },
        Case {
            properties: json!({"plan": "pro", "seats": "x"}),
            accepted: false,
            why: "one bad value among good ones",
        },
        Case {
            properties: json!({"email": "a@b.co"}),
            accepted: false,
            why: "default key inside properties",
        },
        Case {
            properties: json!({"unsubscribed": true}),
            accepted: false,
            why: "default key inside properties",
        },
    ];
    for (i, case) in cases.iter().enumerate() {
        let email = format!("case{i}@example.com");
        let created = app
            .post(
                "/contacts",
                json!({"email": email, "properties": case.properties}),
            )
            .await;
        if case.accepted {
            assert_eq!(created.status, 201, "{}: {}", case.why, created.body);
        } else {
            assert_error(&created, 422, "validation_error");
            assert!(
                app.get(&format!("/contacts/{email}")).await.status == 404,
                "{}: a refused create writes nothing",
                case.why
            );
        }

        // The same value as an update of an existing contact.
        let target = format!("update{i}@example.com");
        app.post(
            "/contacts",
            json!({"email": target, "properties": {"plan": "before"}}),
        )
        .await;
        let updated = app
            .patch(
                &format!("/contacts/{target}"),
                json!({"properties": case.properties}),
            )
            .await;
        let stored = property_values(&app.get(&format!("/contacts/{target}")).await.body);
        if case.accepted {
            assert_eq!(updated.status, 200, "{}: {}", case.why, updated.body);
        } else {
            assert_error(&updated, 422, "validation_error");
            assert_eq!(
                stored,
                json!({"plan": "before"}),
                "{}: a refused update changes nothing",
                case.why
            );
        }
    }
}
