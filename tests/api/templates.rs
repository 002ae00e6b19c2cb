//! `/templates` (create, list, get by id or alias, update with draft versions, publish,
//! duplicate, delete) and sending with `template` on `POST /emails` and `/emails/batch`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, spawn_app};

const UNKNOWN: &str = "0190a5b4-0000-7000-8000-000000000000";

fn welcome() -> Value {
    json!({
        "name": "Welcome",
        "alias": "welcome",
        "from": "Acme <hi@resend.dev>",
        "subject": "Hi {{{NAME}}}",
        "reply_to": "help@acme.dev",
        "html": "<p>Hi {{{NAME}}}, you have {{{COUNT}}} items. {{{CITY|somewhere}}}</p>",
        "text": "Hi {{{NAME}}}, {{{COUNT}}} items",
        "variables": [
            {"key": "NAME", "type": "string"},
            {"key": "COUNT", "type": "number", "fallback_value": 0},
            {"key": "CITY", "type": "string", "fallback_value": "Paris"},
        ],
    })
}

async fn create(app: &TestApp, body: Value) -> String {
    let created = app.post("/templates", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_string()
}

async fn send(app: &TestApp, body: Value) -> Value {
    let sent = app.post("/emails", body).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    app.get(&format!("/emails/{}", sent.body["id"].as_str().unwrap()))
        .await
        .body
}

#[tokio::test]
async fn create_get_list_update_publish_duplicate_delete() {
    let app = spawn_app().await;
    let created = app.post("/templates", welcome()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body, json!({"id": id, "object": "template"}));

    let got = app.get(&format!("/templates/{id}")).await.body;
    assert_eq!(got["object"], "template");
    assert_eq!(got["name"], "Welcome");
    assert_eq!(got["alias"], "welcome");
    assert_eq!(got["status"], "draft");
    assert!(got["published_at"].is_null());
    assert_eq!(got["has_unpublished_versions"], true);
    assert_eq!(got["reply_to"], json!(["help@acme.dev"]));
    assert_eq!(got["subject"], "Hi {{{NAME}}}");
    assert_eq!(got["variables"].as_array().unwrap().len(), 3);
    let name_var = &got["variables"][0];
    assert_eq!(name_var["key"], "NAME");
    assert_eq!(name_var["type"], "string");
    assert!(name_var["fallback_value"].is_null());
    assert!(name_var["id"].is_string() && name_var["created_at"].is_string());
    assert_eq!(got["variables"][1]["fallback_value"], 0);
    let first_version = got["current_version_id"].as_str().unwrap().to_string();

    // By alias, the same template.
    let by_alias = app.get("/templates/welcome").await.body;
    assert_eq!(by_alias["id"], id.as_str());

    // A draft is edited in place.
    let patched = app
        .patch(
            &format!("/templates/{id}"),
            json!({"subject": "Hello {{{NAME}}}"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body, json!({"id": id, "object": "template"}));
    let got = app.get(&format!("/templates/{id}")).await.body;
    assert_eq!(got["subject"], "Hello {{{NAME}}}");
    assert_eq!(got["current_version_id"], first_version.as_str());

    // Publish.
    let published = app
        .post(&format!("/templates/{id}/publish"), json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.body);
    assert_eq!(published.body, json!({"id": id, "object": "template"}));
    let got = app.get(&format!("/templates/{id}")).await.body;
    assert_eq!(got["status"], "published");
    assert!(got["published_at"].is_string());
    assert_eq!(got["has_unpublished_versions"], false);

    // An edit after publishing makes a draft version; sends keep the published one.
    app.patch(
        "/templates/welcome",
        json!({"html": "<p>New {{{NAME}}}</p>", "text": null}),
    )
    .await;
    let got = app.get(&format!("/templates/{id}")).await.body;
    assert_eq!(got["status"], "published");
    assert_eq!(got["has_unpublished_versions"], true);
    assert_eq!(got["html"], "<p>New {{{NAME}}}</p>");
    assert!(got["text"].is_null());
    let draft_version = got["current_version_id"].as_str().unwrap().to_string();
    assert_ne!(draft_version, first_version);
    let email = send(
        &app,
        json!({"to": "delivered@resend.dev", "template": {"id": id, "variables": {"NAME": "Ann"}}}),
    )
    .await;
    assert!(
        email["html"].as_str().unwrap().starts_with("<p>Hi Ann,"),
        "{email}"
    );
    // A second edit changes the same draft.
    app.patch(&format!("/templates/{id}"), json!({"name": "Welcome 2"}))
        .await;
    app.patch(
        &format!("/templates/{id}"),
        json!({"html": "<p>Newer {{{NAME}}}</p>"}),
    )
    .await;
    let got = app.get(&format!("/templates/{id}")).await.body;
    assert_eq!(got["current_version_id"], draft_version.as_str());
    assert_eq!(got["name"], "Welcome 2");
    // Publishing it makes sends use it.
    app.post(&format!("/templates/{id}/publish"), json!({}))
        .await;
    let email = send(
        &app,
        json!({"to": "delivered@resend.dev", "template": {"id": "welcome", "variables": {"NAME": "Bo"}}}),
    )
    .await;
    assert_eq!(email["html"], "<p>Newer Bo</p>");
    assert_eq!(email["text"], "Newer Bo");

    // Duplicate: a draft copy without the alias.
    let copy = app
        .post(&format!("/templates/{id}/duplicate"), json!({}))
        .await;
    assert_eq!(copy.status, 200, "{}", copy.body);
    let copy_id = copy.body["id"].as_str().unwrap().to_string();
    assert_ne!(copy_id, id);
    let got = app.get(&format!("/templates/{copy_id}")).await.body;
    assert_eq!(got["name"], "Welcome 2 (copy)");
    assert!(got["alias"].is_null());
    assert_eq!(got["status"], "draft");
    assert_eq!(got["html"], "<p>Newer {{{NAME}}}</p>");

    // List: newest first, keyset pages.
    let listed = app.get("/templates").await.body;
    assert_eq!(listed["object"], "list");
    assert_eq!(listed["has_more"], false);
    assert_eq!(listed["data"][0]["id"], copy_id.as_str());
    assert_eq!(listed["data"][1]["id"], id.as_str());
    let item = listed["data"][1].as_object().unwrap();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alias",
            "created_at",
            "id",
            "name",
            "published_at",
            "status",
            "updated_at"
        ]
    );
    let page = app.get("/templates?limit=1").await.body;
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"][0]["id"], copy_id.as_str());
    let next = app
        .get(&format!("/templates?before=&after={copy_id}&limit=1"))
        .await
        .body;
    assert_eq!(next["data"][0]["id"], id.as_str());
    assert_eq!(next["has_more"], false);

    // Delete, by alias; emails sent with it keep their content.
    let deleted = app.delete("/templates/welcome").await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        deleted.body,
        json!({"object": "template", "id": id, "deleted": true})
    );
    assert_error(
        &app.get(&format!("/templates/{id}")).await,
        404,
        "not_found",
    );
    assert_error(
        &app.delete(&format!("/templates/{id}")).await,
        404,
        "not_found",
    );
    assert_eq!(
        app.get(&format!("/emails/{}", email["id"].as_str().unwrap()))
            .await
            .body["html"],
        "<p>Newer Bo</p>"
    );
}

#[tokio::test]
async fn validation() {
    let app = spawn_app().await;
    let with = |field: &str, value: Value| {
        let mut body = welcome();
        body[field] = value;
        body
    };
    let var = |v: Value| {
        let mut body = welcome();
        body["html"] = json!("<p>x</p>");
        body["text"] = Value::Null;
        body["subject"] = json!("s");
        body["variables"] = json!([v]);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"html": "<p>x</p>"}), "missing_required_field"),
        (
            json!({"name": "  ", "html": "<p>x</p>"}),
            "missing_required_field",
        ),
        (json!({"name": "x"}), "missing_required_field"),
        (json!({"name": "x", "html": ""}), "missing_required_field"),
        (with("name", json!("n".repeat(256))), "validation_error"),
        (with("alias", json!("has space")), "validation_error"),
        (with("alias", json!(UNKNOWN)), "validation_error"),
        (
            with("from", json!("not an address")),
            "invalid_from_address",
        ),
        (with("subject", json!("a\nb")), "validation_error"),
        (
            with("reply_to", json!(["ok@x.dev", "bad"])),
            "validation_error",
        ),
        (with("reply_to", json!(5)), "validation_error"),
        (
            with("html", json!("<p>{{{UNDECLARED}}}</p>")),
            "validation_error",
        ),
        (with("subject", json!("{{{OTHER|x}}}")), "validation_error"),
        (var(json!({"type": "string"})), "missing_required_field"),
        (var(json!({"key": "K"})), "missing_required_field"),
        (
            var(json!({"key": "bad key", "type": "string"})),
            "validation_error",
        ),
        (
            var(json!({"key": "K".repeat(51), "type": "string"})),
            "validation_error",
        ),
        (
            var(json!({"key": "FIRST_NAME", "type": "string"})),
            "validation_error",
        ),
        (
            var(json!({"key": "EMAIL", "type": "string"})),
            "validation_error",
        ),
        (
            var(json!({"key": "UNSUBSCRIBE_URL", "type": "string"})),
            "validation_error",
        ),
        (
            var(json!({"key": "contact", "type": "string"})),
            "validation_error",
        ),
        (
            var(json!({"key": "this", "type": "string"})),
            "validation_error",
        ),
        (var(json!({"key": "K", "type": "date"})), "validation_error"),
        (
            var(json!({"key": "K", "type": "string", "fallback_value": 1})),
            "validation_error",
        ),
        (
            var(json!({"key": "K", "type": "number", "fallback_value": "1"})),
            "validation_error",
        ),
        (
            var(json!({"key": "K", "type": "boolean", "fallback_value": "yes"})),
            "validation_error",
        ),
        (
            var(json!({"key": "K", "type": "object", "fallback_value": [1]})),
            "validation_error",
        ),
        (
            var(json!({"key": "K", "type": "object"})),
            "validation_error",
        ),
        (
            var(json!({"key": "K", "type": "list", "fallback_value": {}})),
            "validation_error",
        ),
        (var(json!({"key": "K", "type": "list"})), "validation_error"),
        (
            with(
                "variables",
                json!(
                    (0..51)
                        .map(|i| json!({"key": format!("K{i}"), "type": "string"}))
                        .collect::<Vec<_>>()
                ),
            ),
            "validation_error",
        ),
        (
            with(
                "variables",
                json!([{"key": "NAME", "type": "string"}, {"key": "NAME", "type": "string"}]),
            ),
            "validation_error",
        ),
    ];
    for (body, name) in cases {
        let reply = app.post("/templates", body.clone()).await;
        assert_error(&reply, 422, name);
        assert!(
            !reply.body["message"].as_str().unwrap().is_empty(),
            "{body}"
        );
    }
    // Every type with a matching fallback is accepted; contact variables need no declaration.
    let ok = app
        .post(
            "/templates",
            json!({"name": "Types", "html": "<p>{{{FIRST_NAME|there}}} {{{B}}}</p>", "variables": [
                {"key": "S", "type": "string", "fallback_value": "s"},
                {"key": "N", "type": "number", "fallback_value": 1.5},
                {"key": "B", "type": "boolean", "fallback_value": true},
                {"key": "O", "type": "object", "fallback_value": {"a": 1}},
                {"key": "L", "type": "list", "fallback_value": [1, "x"]},
            ]}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);

    // Aliases are unique per team, on create and on update.
    let first = create(&app, welcome()).await;
    assert_error(
        &app.post("/templates", welcome()).await,
        422,
        "validation_error",
    );
    let mut other = welcome();
    other["alias"] = json!("other");
    let second = create(&app, other).await;
    assert_error(
        &app.patch(&format!("/templates/{second}"), json!({"alias": "welcome"}))
            .await,
        422,
        "validation_error",
    );
    // Keeping one's own alias is fine; clearing it frees it.
    let same = app
        .patch(&format!("/templates/{first}"), json!({"alias": "welcome"}))
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    app.patch(&format!("/templates/{first}"), json!({"alias": null}))
        .await;
    let moved = app
        .patch(&format!("/templates/{second}"), json!({"alias": "welcome"}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // Updates are validated against the whole template.
    assert_error(
        &app.patch(&format!("/templates/{second}"), json!({"variables": []}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.patch(&format!("/templates/{second}"), json!({"html": ""}))
            .await,
        422,
        "missing_required_field",
    );
    // Unknown ids and aliases.
    for (method, path) in [
        (Method::GET, format!("/templates/{UNKNOWN}")),
        (Method::GET, "/templates/nope".to_string()),
        (Method::PATCH, format!("/templates/{UNKNOWN}")),
        (Method::DELETE, "/templates/nope".to_string()),
        (Method::POST, format!("/templates/{UNKNOWN}/publish")),
        (Method::POST, "/templates/nope/duplicate".to_string()),
    ] {
        assert_error(
            &app.call(method, &path, Some(json!({}))).await,
            404,
            "not_found",
        );
    }
    assert_error(
        &app.get("/templates?limit=0").await,
        422,
        "validation_error",
    );
}

#[tokio::test]
async fn sending_with_a_template() {
    let app = spawn_app().await;
    let id = create(&app, welcome()).await;

    // Drafts cannot be used.
    let draft = app
        .post("/emails", json!({"to": "delivered@resend.dev", "template": {"id": id, "variables": {"NAME": "Ann"}}}))
        .await;
    assert_error(&draft, 422, "validation_error");
    assert!(draft.body["message"].as_str().unwrap().contains("publish"));
    app.post(&format!("/templates/{id}/publish"), json!({}))
        .await;

    // Rendered: values HTML-escaped in html only, fallbacks (declared and inline), defaults.
    let email = send(
        &app,
        json!({"to": "delivered@resend.dev", "template": {"id": id, "variables": {"NAME": "<Ann & Bo>"}}}),
    )
    .await;
    assert_eq!(
        email["html"],
        "<p>Hi &lt;Ann &amp; Bo&gt;, you have 0 items. somewhere</p>"
    );
    assert_eq!(email["text"], "Hi <Ann & Bo>, 0 items");
    assert_eq!(email["subject"], "Hi <Ann & Bo>");
    assert_eq!(email["from"], "Acme <hi@resend.dev>");
    assert_eq!(email["reply_to"], json!(["help@acme.dev"]));

    // The request's from/subject/reply_to win; numbers are rendered as numbers.
    let email = send(
        &app,
        json!({"from": "Other <o@resend.dev>", "to": "delivered@resend.dev", "subject": "Fixed",
               "reply_to": ["r@acme.dev"],
               "template": {"id": "welcome", "variables": {"NAME": "Cy", "COUNT": 3, "CITY": "Rome"}}}),
    )
    .await;
    assert_eq!(email["from"], "Other <o@resend.dev>");
    assert_eq!(email["subject"], "Fixed");
    assert_eq!(email["reply_to"], json!(["r@acme.dev"]));
    assert_eq!(email["html"], "<p>Hi Cy, you have 3 items. Rome</p>");

    // Errors.
    let base = |template: Value| json!({"to": "delivered@resend.dev", "template": template});
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            base(json!({"id": id})),
            422,
            "validation_error",
            "`NAME` needs a value",
        ),
        (
            base(json!({"id": id, "variables": {"NAME": 5}})),
            422,
            "validation_error",
            "must be a string",
        ),
        (
            base(json!({"id": id, "variables": {"NAME": "a", "COUNT": "3"}})),
            422,
            "validation_error",
            "must be a number",
        ),
        (
            base(json!({"id": id, "variables": {"NAME": "a", "name": "b"}})),
            422,
            "validation_error",
            "no variable `name`",
        ),
        (
            base(json!({"id": id, "variables": ["NAME"]})),
            422,
            "validation_error",
            "template.variables",
        ),
        (
            base(json!({"variables": {}})),
            422,
            "missing_required_field",
            "template.id",
        ),
        (
            base(json!("welcome")),
            422,
            "validation_error",
            "must be an object",
        ),
        (base(json!({"id": UNKNOWN})), 404, "not_found", "not found"),
        (base(json!({"id": "nope"})), 404, "not_found", "not found"),
        (
            json!({"to": "delivered@resend.dev", "html": "<p>x</p>", "template": {"id": id, "variables": {"NAME": "a"}}}),
            422,
            "validation_error",
            "cannot be combined",
        ),
        (
            json!({"to": "delivered@resend.dev", "text": "x", "template": {"id": id, "variables": {"NAME": "a"}}}),
            422,
            "validation_error",
            "cannot be combined",
        ),
    ];
    for (body, status, name, fragment) in cases {
        let reply = app.post("/emails", body.clone()).await;
        assert_error(&reply, status, name);
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{body}: {message}");
    }
    // A template without from/subject needs them from the request.
    let bare = create(
        &app,
        json!({"name": "Bare", "html": "<p>{{{X|x}}}</p>", "variables": [{"key": "X", "type": "string"}]}),
    )
    .await;
    app.post(&format!("/templates/{bare}/publish"), json!({}))
        .await;
    assert_error(
        &app.post(
            "/emails",
            json!({"from": "a@resend.dev", "to": "delivered@resend.dev", "template": {"id": bare}}),
        )
        .await,
        422,
        "missing_required_field",
    );
    let email = send(
        &app,
        json!({"from": "a@resend.dev", "to": "delivered@resend.dev", "subject": "S", "template": {"id": bare}}),
    )
    .await;
    // Inline fallback; text derived from the rendered html.
    assert_eq!(email["html"], "<p>x</p>");
    assert_eq!(email["text"], "x");

    // Batch: per item, with permissive errors.
    let batch = app
        .client
        .post(app.url("/emails/batch"))
        .bearer_auth(&app.key)
        .header("x-batch-validation", "permissive")
        .json(&json!([
            {"to": "delivered@resend.dev", "template": {"id": "welcome", "variables": {"NAME": "One"}}},
            {"to": "delivered@resend.dev", "template": {"id": "welcome"}},
            {"to": "delivered@resend.dev", "template": {"id": "welcome", "variables": {"NAME": "Two"}}},
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 200);
    let batch: Value = batch.json().await.unwrap();
    assert_eq!(batch["data"].as_array().unwrap().len(), 2, "{batch}");
    assert_eq!(batch["errors"][0]["index"], 1);
    let second = app
        .get(&format!(
            "/emails/{}",
            batch["data"][1]["id"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(second["subject"], "Hi Two");
    let strict = app
        .post(
            "/emails/batch",
            json!([{"to": "delivered@resend.dev", "template": {"id": "welcome"}}]),
        )
        .await;
    assert_error(&strict, 422, "validation_error");

    // The email records the template it was rendered from.
    let email_id = second["id"].as_str().unwrap();
    let stored: Option<String> = herald::on_db!(app.app.db(), |pool| sqlx::query_scalar(
        "SELECT template_id FROM emails WHERE id = $1"
    )
    .bind(email_id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(stored.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn sending_keys_cannot_manage_templates() {
    let app = spawn_app().await;
    let id = create(&app, welcome()).await;
    app.post(&format!("/templates/{id}/publish"), json!({}))
        .await;
    let created = app
        .post(
            "/api-keys",
            json!({"name": "send", "permission": "sending_access"}),
        )
        .await;
    let token = created.body["token"].as_str().unwrap().to_string();
    for (method, path) in [
        (Method::GET, "/templates".to_string()),
        (Method::POST, "/templates".to_string()),
        (Method::GET, format!("/templates/{id}")),
        (Method::PATCH, format!("/templates/{id}")),
        (Method::DELETE, format!("/templates/{id}")),
        (Method::POST, format!("/templates/{id}/publish")),
        (Method::POST, format!("/templates/{id}/duplicate")),
    ] {
        let reply = app
            .call_with_key(&token, method, &path, Some(json!({})))
            .await;
        assert_error(&reply, 401, "restricted_api_key");
    }
    // …but may send with one.
    let sent = app
        .call_with_key(
            &token,
            Method::POST,
            "/emails",
            Some(json!({"to": "delivered@resend.dev", "template": {"id": "welcome", "variables": {"NAME": "A"}}})),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
}
