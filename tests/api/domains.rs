//! `/domains` through the API: create with every field, the records to publish, list, get,
//! update, delete, and each of Resend's validation errors.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Options, TestApp, assert_error, spawn_app_with};

/// A Herald whose records point at `mx.herald.test` and list a sending address.
pub async fn spawn_configured(options: Options) -> TestApp {
    let previous = options.configure;
    spawn_app_with(Options {
        configure: Some(Box::new(move |settings| {
            settings.domains.mail_host = "mx.herald.test".into();
            settings.domains.tracking_host = "track.herald.test".into();
            settings.domains.sending_ips = vec!["203.0.113.7".into()];
            if let Some(previous) = previous {
                previous(settings);
            }
        })),
        ..options
    })
    .await
}

fn record<'a>(domain: &'a Value, group: &str, rtype: &str) -> &'a Value {
    domain["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record"] == group && r["type"] == rtype)
        .unwrap_or_else(|| panic!("no {group} {rtype} record in {domain}"))
}

#[tokio::test]
async fn mx_records_never_name_an_address() {
    // Nothing configured: the mail host falls back to this server's loopback address. The MX
    // records name a placeholder under `.invalid` and say why, in Resend's record shape.
    for mail_host in ["", "198.51.100.4", "localhost"] {
        let app = spawn_app_with(Options {
            configure: Some(Box::new(move |settings| {
                settings.domains.mail_host = mail_host.into();
            })),
            ..Options::default()
        })
        .await;
        let created = app
            .post(
                "/domains",
                json!({"name": "example.com", "capabilities": {"receiving": "enabled"}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().unwrap();
        let got = app.get(&format!("/domains/{id}")).await;
        for d in [&created.body, &got.body] {
            for group in ["SPF", "Receiving"] {
                let mx = record(d, group, "MX");
                let value = mx["value"].as_str().unwrap();
                assert_eq!(
                    value, "mail-host-not-configured.invalid",
                    "{mail_host:?}: {mx}"
                );
                assert!(value.parse::<std::net::IpAddr>().is_err());
                assert_eq!(mx["priority"], 10);
                assert_eq!(mx["ttl"], "Auto");
                assert_eq!(mx["status"], "not_started");
                let warning = mx["warning"].as_str().unwrap();
                assert!(warning.contains("domains.mail_host"), "{warning}");
                assert!(warning.contains("cannot be an MX target"), "{warning}");
            }
            // Only the records that cannot work carry a warning.
            assert!(record(d, "DKIM", "TXT").get("warning").is_none());
            assert!(record(d, "SPF", "TXT").get("warning").is_none());
        }
    }

    // A host name: the MX names it, without a warning.
    let app = spawn_configured(Options::default()).await;
    let created = app.post("/domains", json!({"name": "example.com"})).await;
    let mx = record(&created.body, "SPF", "MX");
    assert_eq!(mx["value"], "mx.herald.test");
    assert!(mx.get("warning").is_none(), "{mx}");
}

#[tokio::test]
async fn create_returns_the_records_to_publish() {
    let app = spawn_configured(Options::default()).await;
    let created = app.post("/domains", json!({"name": "Example.com"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let d = &created.body;
    assert_eq!(d["name"], "example.com");
    assert_eq!(d["status"], "not_started");
    assert_eq!(d["region"], "us-east-1");
    assert_eq!(d["open_tracking"], false);
    assert_eq!(d["click_tracking"], false);
    assert_eq!(d["tls"], "opportunistic");
    assert_eq!(d["tracking_subdomain"], Value::Null);
    assert_eq!(
        d["capabilities"],
        json!({"sending": "enabled", "receiving": "disabled"})
    );
    assert!(d["created_at"].as_str().unwrap().ends_with("+00"));
    assert_eq!(d["records"].as_array().unwrap().len(), 3, "{d}");

    let mx = record(d, "SPF", "MX");
    assert_eq!(mx["name"], "send");
    assert_eq!(mx["value"], "mx.herald.test");
    assert_eq!(mx["priority"], 10);
    assert_eq!(mx["ttl"], "Auto");
    assert_eq!(mx["status"], "not_started");
    let spf = record(d, "SPF", "TXT");
    assert_eq!(spf["value"], "v=spf1 ip4:203.0.113.7 ~all");
    assert!(spf.get("priority").is_none());
    let dkim = record(d, "DKIM", "TXT");
    assert_eq!(dkim["name"], "herald._domainkey");
    let value = dkim["value"].as_str().unwrap();
    assert!(value.starts_with("v=DKIM1; k=rsa; p=MIIBIjAN"), "{value}");

    // Each domain has its own key.
    let other = app.post("/domains", json!({"name": "example.org"})).await;
    assert_ne!(record(&other.body, "DKIM", "TXT")["value"], dkim["value"]);

    // GET shows the same thing.
    let id = d["id"].as_str().unwrap();
    let got = app.get(&format!("/domains/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["object"], "domain");
    assert_eq!(got.body["records"], d["records"]);
    assert_eq!(got.body["dmarc"], Value::Null, "not checked yet");
}

#[tokio::test]
async fn every_field_and_subdomains() {
    let app = spawn_configured(Options::default()).await;
    let created = app
        .post(
            "/domains",
            json!({
                "name": "updates.bücher.example",
                "region": "eu-west-1",
                "custom_return_path": "Outbound",
                "open_tracking": true,
                "click_tracking": true,
                "tls": "enforced",
                "capabilities": {"sending": "enabled", "receiving": "enabled"},
                "tracking_subdomain": "links",
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let d = &created.body;
    assert_eq!(d["name"], "updates.xn--bcher-kva.example");
    assert_eq!(d["region"], "eu-west-1");
    assert_eq!(d["open_tracking"], true);
    assert_eq!(d["click_tracking"], true);
    assert_eq!(d["tls"], "enforced");
    assert_eq!(d["custom_return_path"], "outbound");
    assert_eq!(d["tracking_subdomain"], "links");
    assert_eq!(d["capabilities"]["receiving"], "enabled");
    // Names are relative to the zone (the registrable domain).
    assert_eq!(record(d, "SPF", "MX")["name"], "outbound.updates");
    assert_eq!(
        record(d, "DKIM", "TXT")["name"],
        "herald._domainkey.updates"
    );
    let tracking = record(d, "Tracking", "CNAME");
    assert_eq!(tracking["name"], "links.updates");
    assert_eq!(tracking["value"], "track.herald.test");
    // The tracking host's certificate authority (the default, Let's Encrypt) may issue for it.
    let caa = record(d, "TrackingCAA", "CAA");
    assert_eq!(caa["name"], "updates");
    assert_eq!(caa["value"], r#"0 issue "letsencrypt.org""#);
    assert_eq!(caa["ttl"], "Auto");
    assert_eq!(caa["status"], "not_started");
    let receiving = record(d, "Receiving", "MX");
    assert_eq!(receiving["name"], "updates");
    assert_eq!(receiving["value"], "mx.herald.test");

    // The same domain in a second region, through a subdomain.
    let us = app
        .post(
            "/domains",
            json!({"name": "us.updates.bücher.example", "region": "us-east-1"}),
        )
        .await;
    assert_eq!(us.status, 201, "{}", us.body);
    let again = app
        .post(
            "/domains",
            json!({"name": "UPDATES.xn--bcher-kva.example", "region": "sa-east-1"}),
        )
        .await;
    assert_error(&again, 422, "validation_error");
    assert!(
        again.body["message"]
            .as_str()
            .unwrap()
            .contains("subdomain")
    );

    let listed = app.get("/domains").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["object"], "list");
    assert_eq!(listed.body["has_more"], false);
    let items = listed.body["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "us.updates.xn--bcher-kva.example");
    assert_eq!(items[1]["region"], "eu-west-1");
    assert_eq!(items[1]["capabilities"]["receiving"], "enabled");
    assert!(items[0].get("records").is_none());
    let page = app.get("/domains?limit=1").await;
    assert_eq!(page.body["has_more"], true);
    assert_eq!(page.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn update_and_delete() {
    let app = spawn_configured(Options::default()).await;
    let created = app.post("/domains", json!({"name": "example.com"})).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/domains/{id}");

    let updated = app
        .patch(
            &path,
            json!({"id": id, "open_tracking": true, "tls": "enforced", "tracking_subdomain": "t",
                   "capabilities": {"receiving": "enabled"}, "region": "us-east-1"}),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body, json!({"object": "domain", "id": id}));
    let got = app.get(&path).await.body;
    assert_eq!(got["open_tracking"], true);
    assert_eq!(got["click_tracking"], false);
    assert_eq!(got["tls"], "enforced");
    assert_eq!(got["tracking_subdomain"], "t");
    assert_eq!(got["capabilities"]["sending"], "enabled");
    assert_eq!(got["capabilities"]["receiving"], "enabled");
    assert_eq!(got["records"].as_array().unwrap().len(), 6);
    assert_eq!(record(&got, "TrackingCAA", "CAA")["name"], "@");

    // Removing the tracking subdomain removes its records.
    let cleared = app.patch(&path, json!({"tracking_subdomain": null})).await;
    assert_eq!(cleared.status, 200);
    let got = app.get(&path).await.body;
    assert_eq!(got["tracking_subdomain"], Value::Null);
    assert_eq!(got["records"].as_array().unwrap().len(), 4);

    // The region is fixed.
    let moved = app.patch(&path, json!({"region": "eu-west-1"})).await;
    assert_error(&moved, 422, "validation_error");
    let message = moved.body["message"].as_str().unwrap();
    assert!(
        message.contains("cannot be changed") && message.contains("Delete"),
        "{message}"
    );
    assert_error(
        &app.patch(&path, json!({"region": "mars-1"})).await,
        422,
        "invalid_region",
    );
    assert_error(
        &app.patch(&path, json!({"name": "other.com"})).await,
        422,
        "validation_error",
    );
    assert_error(
        &app.patch(&path, json!({"custom_return_path": "bounces"}))
            .await,
        422,
        "validation_error",
    );
    assert_error(
        &app.patch(&path, json!({"tls": "sometimes"})).await,
        422,
        "validation_error",
    );

    // A sending key restricted to the domain works for sending only, and goes with it.
    let key = app
        .post(
            "/api-keys",
            json!({"name": "send", "permission": "sending_access", "domain_id": id}),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.body);
    let token = key.body["token"].as_str().unwrap().to_string();
    let keys = app.get("/api-keys").await;
    assert_eq!(keys.body["data"][0]["domain_id"], id.as_str());
    assert_error(
        &app.call_with_key(&token, Method::GET, "/domains", None)
            .await,
        401,
        "restricted_api_key",
    );

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        deleted.body,
        json!({"object": "domain", "id": id, "deleted": true})
    );
    assert_error(&app.get(&path).await, 404, "not_found");
    assert_error(&app.delete(&path).await, 404, "not_found");
    // The key restricted to it is gone too.
    assert_error(
        &app.call_with_key(&token, Method::GET, "/domains", None)
            .await,
        403,
        "invalid_api_key",
    );
}

#[tokio::test]
async fn validation_errors() {
    let app = spawn_configured(Options::default()).await;
    let post = |body: Value| app.post("/domains", body);
    assert_error(&post(json!({})).await, 422, "missing_required_field");
    assert_error(
        &post(json!({"name": " "})).await,
        422,
        "missing_required_field",
    );
    for name in [
        "localhost",
        "co.uk",
        "exa mple.com",
        "-x.com",
        "1.2.3.4",
        "a..b.com",
    ] {
        assert_error(&post(json!({"name": name})).await, 422, "validation_error");
    }
    assert_error(&post(json!({"name": 42})).await, 422, "validation_error");
    let region = post(json!({"name": "example.com", "region": "eu-central-1"})).await;
    assert_error(&region, 422, "invalid_region");
    assert!(
        region.body["message"]
            .as_str()
            .unwrap()
            .contains("eu-west-1")
    );

    let return_path =
        |value: &str| post(json!({"name": "example.com", "custom_return_path": value}));
    for (value, words) in [
        ("", "cannot be empty"),
        (&"a".repeat(64) as &str, "63 characters or less"),
        ("1mail", "start with a letter"),
        ("mail-", "end with a letter or a number"),
        ("my.mail", "letters, numbers and hyphens"),
        ("my_mail", "letters, numbers and hyphens"),
    ] {
        let reply = return_path(value).await;
        assert_error(&reply, 422, "validation_error");
        let message = reply.body["message"].as_str().unwrap();
        assert!(
            message.contains("custom_return_path") && message.contains(words),
            "{value}: {message}"
        );
    }
    assert_eq!(return_path(&"a".repeat(63)).await.status, 201);

    assert_error(
        &post(json!({"name": "x1.com", "tls": "strict"})).await,
        422,
        "validation_error",
    );
    assert_error(
        &post(json!({"name": "x2.com", "open_tracking": "yes"})).await,
        422,
        "validation_error",
    );
    assert_error(
        &post(json!({"name": "x3.com", "capabilities": {"sending": "on"}})).await,
        422,
        "validation_error",
    );
    let neither = post(json!({"name": "x4.com", "capabilities": {"sending": "disabled"}})).await;
    assert_error(&neither, 422, "validation_error");
    assert!(
        neither.body["message"]
            .as_str()
            .unwrap()
            .contains("At least one")
    );
    assert_error(
        &post(json!({"name": "x5.com", "tracking_subdomain": "links!"})).await,
        422,
        "validation_error",
    );
    assert_error(
        &post(json!({"name": "x6.com", "tracking_subdomain": "send"})).await,
        422,
        "validation_error",
    );
    assert_error(
        &app.get("/domains/not-a-uuid").await,
        422,
        "invalid_parameter",
    );
    assert_error(
        &app.get("/domains/0190a5b4-0000-7000-8000-000000000000")
            .await,
        404,
        "not_found",
    );
    assert_error(
        &app.post(
            "/domains/0190a5b4-0000-7000-8000-000000000000/verify",
            json!({}),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(&app.get("/domains?limit=0").await, 422, "validation_error");
    // Nothing half-created along the way.
    let listed = app.get("/domains").await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
}
