//! The typed body of `POST /emails` (and of each item of `POST /emails/batch`), parsed once
//! by the handler and carried as is to [`super::validate::parse_draft`].
//!
//! Resend is lenient about shapes (`to` is a string or a list, a tag's value may be a
//! number, `null` means absent) and answers a field of the wrong type with its own message
//! naming the first wrong field, in a fixed order. So each field is a [`Loose`]: the typed
//! value when the shape is one Resend accepts, else the JSON that was sent
//! ([`Loose::Wrong`]), which validation turns into that field's error. Unknown fields are
//! ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A field's value: of an accepted shape, or what was sent instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose<T> {
    Given(T),
    Wrong(Value),
}

/// The shapes a JSON value may take to become `Self`; anything else is given back.
pub trait FromJson: Sized {
    fn from_json(value: Value) -> Result<Self, Value>;
}

impl<T: FromJson> Loose<T> {
    pub fn from_json(value: Value) -> Self {
        match T::from_json(value) {
            Ok(given) => Loose::Given(given),
            Err(wrong) => Loose::Wrong(wrong),
        }
    }
}

impl<'de, T: FromJson> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Loose::from_json)
    }
}

impl<T: Serialize> Serialize for Loose<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Loose::Given(given) => given.serialize(serializer),
            Loose::Wrong(wrong) => wrong.serialize(serializer),
        }
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, Value> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(other),
        }
    }
}

impl<T: FromJson> FromJson for Vec<Loose<T>> {
    fn from_json(value: Value) -> Result<Self, Value> {
        match value {
            Value::Array(items) => Ok(items.into_iter().map(Loose::from_json).collect()),
            other => Err(other),
        }
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, Loose<T>> {
    fn from_json(value: Value) -> Result<Self, Value> {
        match value {
            Value::Object(map) => Ok(map
                .into_iter()
                .map(|(k, v)| (k, Loose::from_json(v)))
                .collect()),
            other => Err(other),
        }
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(value: Value) -> Result<Self, Value> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(other),
        }
    }
}

/// Structs are read from JSON objects only (serde would also read them from arrays).
macro_rules! from_json_object {
    ($($name:ty),*) => {$(
        impl FromJson for $name {
            fn from_json(value: Value) -> Result<Self, Value> {
                match value {
                    // Every field is optional and loose: reading an object cannot fail.
                    Value::Object(map) => {
                        serde_json::from_value(Value::Object(map)).map_err(|_| Value::Null)
                    }
                    other => Err(other),
                }
            }
        }
    )*};
}
from_json_object!(SendEmailRequest, TemplateRef, TagRequest, AttachmentRequest);

/// `from`, `to`, … : one address, or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Recipients {
    One(String),
    Many(Vec<Loose<String>>),
}

impl FromJson for Recipients {
    fn from_json(value: Value) -> Result<Self, Value> {
        match value {
            Value::String(s) => Ok(Recipients::One(s)),
            Value::Array(items) => Ok(Recipients::Many(
                items.into_iter().map(Loose::from_json).collect(),
            )),
            other => Err(other),
        }
    }
}

/// One email to send. `None` is an absent or `null` field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct SendEmailRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Loose<Recipients>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc: Option<Loose<Recipients>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bcc: Option<Loose<Recipients>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Loose<Recipients>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Loose<String>>,
    /// Replaced by the template's rendered content (`templates::send::apply`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Loose<TemplateRef>>,
    /// Header names to values, in the order of their names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Loose<BTreeMap<String, Loose<String>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Loose<Vec<Loose<TagRequest>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Loose<Vec<Loose<AttachmentRequest>>>>,
}

/// `template: {id, variables}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TemplateRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Loose<String>>,
    /// Any JSON per variable: the template's declared types check them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables: Option<Loose<Map<String, Value>>>,
}

/// `{name, value}`; a number counts as its text.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TagRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Loose<TagText>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Loose<TagText>>,
}

/// A tag's name or value: a string, or a number written as text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct TagText(pub String);

impl FromJson for TagText {
    fn from_json(value: Value) -> Result<Self, Value> {
        match value {
            Value::String(s) => Ok(TagText(s)),
            Value::Number(n) => Ok(TagText(n.to_string())),
            other => Err(other),
        }
    }
}

/// An attachment: `content` or `path`, and how to present it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AttachmentRequest {
    /// A base64 string, an array of bytes or Node's `{"type":"Buffer","data":[…]}`, decoded
    /// by `attachments::decode_content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Loose<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_id: Option<Loose<String>>,
    /// The older name of `content_id`, read when `content_id` is absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_content_id: Option<Loose<String>>,
}

/// The body of `POST /emails`: one email, or whatever was sent instead of an object.
pub type SendBody = Loose<SendEmailRequest>;

/// The body of `POST /emails/batch`: a list of emails, or whatever was sent instead.
pub type BatchBody = Loose<Vec<Loose<SendEmailRequest>>>;

impl SendEmailRequest {
    /// A plain-text email (Herald's own notices).
    pub fn text(from: &str, to: &[String], subject: &str, text: &str) -> Self {
        let given = |s: &str| Some(Loose::Given(s.to_string()));
        SendEmailRequest {
            from: given(from),
            to: Some(Loose::Given(Recipients::Many(
                to.iter().map(|t| Loose::Given(t.clone())).collect(),
            ))),
            subject: given(subject),
            text: given(text),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_wrong_shapes_and_reads_objects_only() {
        let body: SendBody = serde_json::from_value(json!({
            "from": 5, "to": ["a@b.c", 7], "subject": null, "tags": [{"name": "n", "value": 5}],
            "unknown": true
        }))
        .unwrap();
        let Loose::Given(request) = body else {
            panic!("an object is a request")
        };
        assert_eq!(request.from, Some(Loose::Wrong(json!(5))));
        assert_eq!(
            request.to,
            Some(Loose::Given(Recipients::Many(vec![
                Loose::Given("a@b.c".into()),
                Loose::Wrong(json!(7))
            ])))
        );
        assert_eq!(request.subject, None);
        let Some(Loose::Given(tags)) = &request.tags else {
            panic!("tags")
        };
        assert_eq!(
            tags[0],
            Loose::Given(TagRequest {
                name: Some(Loose::Given(TagText("n".into()))),
                value: Some(Loose::Given(TagText("5".into()))),
            })
        );
        // Serialised back without the unknown field, for the idempotency hash.
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"from": 5, "to": ["a@b.c", 7], "tags": [{"name": "n", "value": "5"}]})
        );
        let array: SendBody = serde_json::from_value(json!(["a@b.c", "c@d.e", "s"])).unwrap();
        assert!(matches!(array, Loose::Wrong(_)));
    }
}
