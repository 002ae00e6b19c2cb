//! Resend's webhook bodies, `{type, created_at, data}`, built here only. A resource event's
//! `data` is recorded with it; an email event's is
//! `{email_id, message_id, created_at, from, to[], subject, tags{}, headers?, template_id?}`
//! (`message_id`, the email's Message-ID header, is required by the Rust SDK) plus, for
//! some types, the event's own object (`bounce`, `click`, `failed`, `suppressed`, camelCase
//! inside).

use serde_json::{Map, Value, json};

use super::outbox::Event;
use crate::clock::{Millis, iso_timestamp};
use crate::emails::address::Mailbox;

/// The keys of an event's stored data that go into the webhook body.
const EVENT_OBJECTS: &[&str] = &["bounce", "click", "failed", "suppressed"];

/// The webhook type of an email event (`sent` → `email.sent`); `None` for events Resend
/// sends no webhook for (`queued`, `canceled`).
pub fn webhook_type(event: &str) -> Option<String> {
    let name = format!("email.{event}");
    super::EVENT_TYPES.contains(&name.as_str()).then_some(name)
}

/// The email fields every body repeats.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailFacts {
    pub id: String,
    pub from_address: String,
    pub to_addresses: String,
    pub subject: String,
    pub tags: String,
    pub headers: String,
    /// Set when the email was sent with a template.
    pub template_id: Option<String>,
    /// Set when the email was sent for a broadcast.
    #[sqlx(default)]
    pub broadcast_id: Option<String>,
    /// The email's Message-ID header, `<…>`.
    #[sqlx(default)]
    pub message_id: String,
    pub created_at: i64,
}

/// A stored email event (`email_events`), as [`body`] reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub email_id: String,
    pub team_id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub recipient: Option<String>,
    pub data: String,
    pub created_at: i64,
}

fn bare_addresses(json_list: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(json_list)
        .unwrap_or_default()
        .into_iter()
        .map(|a| Mailbox::parse(&a).map_or(a, |m| m.email))
        .collect()
}

/// Tags are stored as `[{name, value}]`; webhooks show them as an object.
fn tags_object(json_list: &str) -> Value {
    let mut out = Map::new();
    for tag in serde_json::from_str::<Vec<Value>>(json_list).unwrap_or_default() {
        if let Some(name) = tag["name"].as_str() {
            let value = tag["value"].as_str().unwrap_or_default();
            out.insert(name.to_string(), Value::from(value));
        }
    }
    Value::Object(out)
}

/// Resend's body, `{type, created_at, data}`, serialised once so every attempt (and its
/// signature) covers the same bytes.
fn envelope(webhook_type: &str, created_at: Millis, data: Value) -> String {
    json!({
        "type": webhook_type,
        "created_at": iso_timestamp(created_at),
        "data": data,
    })
    .to_string()
}

/// The body of an outbox event about a resource (`domain.*`, `contact.*`).
pub fn resource_body(event: &Event) -> String {
    let data = serde_json::from_str::<Value>(&event.data).unwrap_or(Value::Null);
    envelope(&event.kind, event.created_at, data)
}

/// The body of an outbox email event of `email`.
pub fn email_body(event: &Event, email: &EmailFacts) -> String {
    let data = email_data(event.recipient.as_deref(), &event.data, email);
    envelope(&event.kind, event.created_at, data)
}

/// The body of the webhook for the stored email event `event` of `email`.
pub fn body(webhook_type: &str, event: &EventRow, email: &EmailFacts) -> String {
    let data = email_data(event.recipient.as_deref(), &event.data, email);
    envelope(webhook_type, event.created_at, data)
}

/// An email event's `data`: the email's fields and the event's own object.
fn email_data(recipient: Option<&str>, event_data: &str, email: &EmailFacts) -> Value {
    // A recipient's event concerns that recipient; an email-wide one (scheduled) all of `to`.
    let to = match recipient {
        Some(recipient) => vec![recipient.to_string()],
        None => bare_addresses(&email.to_addresses),
    };
    let mut data = json!({
        "email_id": email.id,
        "message_id": email.message_id,
        "created_at": iso_timestamp(email.created_at),
        "from": email.from_address,
        "to": to,
        "subject": email.subject,
        "tags": tags_object(&email.tags),
    });
    if let Ok(Value::Array(headers)) = serde_json::from_str::<Value>(&email.headers)
        && !headers.is_empty()
    {
        data["headers"] = Value::Array(headers);
    }
    if let Some(broadcast_id) = &email.broadcast_id {
        data["broadcast_id"] = Value::from(broadcast_id.as_str());
    }
    if let Some(template_id) = &email.template_id {
        data["template_id"] = Value::from(template_id.as_str());
    }
    if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(event_data) {
        for key in EVENT_OBJECTS {
            if let Some(value) = extra.get(*key) {
                data[*key] = value.clone();
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_event_names() {
        assert_eq!(webhook_type("sent").as_deref(), Some("email.sent"));
        assert_eq!(
            webhook_type("delivery_delayed").as_deref(),
            Some("email.delivery_delayed")
        );
        assert_eq!(webhook_type("queued"), None);
        assert_eq!(webhook_type("canceled"), None);
    }

    #[test]
    fn builds_resend_shapes() {
        let email = EmailFacts {
            id: "e1".into(),
            from_address: "Acme <hi@acme.test>".into(),
            to_addresses: r#"["Bo <bo@x.test>", "al@y.test"]"#.into(),
            subject: "Hello".into(),
            tags: r#"[{"name":"kind","value":"welcome"},{"name":"bare"}]"#.into(),
            headers: "[]".into(),
            template_id: None,
            broadcast_id: None,
            message_id: "<e1@acme.test>".into(),
            created_at: 1_696_636_076_678,
        };
        let event = EventRow {
            id: "ev1".into(),
            email_id: "e1".into(),
            team_id: "t".into(),
            kind: "bounced".into(),
            recipient: Some("bo@x.test".into()),
            data:
                r#"{"bounce":{"type":"Permanent","subType":"General","message":"m"},"internal":1}"#
                    .into(),
            created_at: 1_696_636_077_000,
        };
        let bounced: Value = serde_json::from_str(&body("email.bounced", &event, &email)).unwrap();
        assert_eq!(bounced["type"], "email.bounced");
        assert_eq!(bounced["created_at"], "2023-10-06T23:47:57.000Z");
        let data = &bounced["data"];
        assert_eq!(data["email_id"], "e1");
        assert_eq!(data["message_id"], "<e1@acme.test>");
        assert_eq!(data["created_at"], "2023-10-06T23:47:56.678Z");
        assert_eq!(data["from"], "Acme <hi@acme.test>");
        assert_eq!(data["to"], json!(["bo@x.test"]));
        assert_eq!(data["tags"], json!({"kind": "welcome", "bare": ""}));
        assert_eq!(data["bounce"]["subType"], "General");
        assert!(data.get("headers").is_none());
        assert!(data.get("internal").is_none());
        assert!(data.get("template_id").is_none());
        let templated = EmailFacts {
            template_id: Some("t1".into()),
            broadcast_id: None,
            ..email.clone()
        };
        let sent: Value = serde_json::from_str(&body("email.sent", &event, &templated)).unwrap();
        assert_eq!(sent["data"]["template_id"], "t1");

        let scheduled = EventRow {
            kind: "scheduled".into(),
            recipient: None,
            data: "{}".into(),
            ..event
        };
        let parsed: Value =
            serde_json::from_str(&body("email.scheduled", &scheduled, &email)).unwrap();
        assert_eq!(parsed["data"]["to"], json!(["bo@x.test", "al@y.test"]));
    }
}
