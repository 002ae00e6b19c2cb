//! A broadcast's content: the placeholders it may use, and the message each contact gets.
//!
//! Placeholders are the templates' (`templates::substitute`): `{{{FIRST_NAME|there}}}`,
//! `{{{LAST_NAME}}}`, `{{{EMAIL}}}`, `{{{RESEND_UNSUBSCRIBE_URL}}}`, and every contact
//! property by its key (`{{{plan|free}}}`; without an inline fallback, the property's own).
//! An unknown key is refused when the broadcast is written; a property placeholder that
//! could end up with no value at all (no inline fallback, no property fallback) is refused
//! when it is sent. Values are HTML-escaped in the HTML and kept as they are in the text.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::{BroadcastError, BroadcastResult};
use crate::audience::properties::ContactProperty;
use crate::templates::substitute::{self, Target, Values};

pub const FIRST_NAME: &str = "FIRST_NAME";
pub const LAST_NAME: &str = "LAST_NAME";
pub const EMAIL: &str = "EMAIL";
pub const UNSUBSCRIBE_URL: &str = "RESEND_UNSUBSCRIBE_URL";

/// Keys every broadcast may use, whatever the team's properties.
const BUILT_IN: &[&str] = &[FIRST_NAME, LAST_NAME, EMAIL, UNSUBSCRIBE_URL];

/// The default properties, also usable by their lower-case keys.
const DEFAULT_KEYS: &[&str] = &["first_name", "last_name", "email"];

/// The team's contact properties as placeholders see them: key → fallback (as text).
#[derive(Debug, Clone, Default)]
pub struct Properties {
    fallbacks: HashMap<String, Option<String>>,
}

impl Properties {
    pub fn of(properties: &[ContactProperty]) -> Self {
        let fallbacks = properties
            .iter()
            .filter(|p| !p.is_default())
            .map(|p| {
                let fallback = p.fallback();
                let text = (!fallback.is_null()).then(|| substitute::display(&fallback).into());
                (p.key.clone(), text)
            })
            .collect();
        Properties { fallbacks }
    }

    fn knows(&self, key: &str) -> bool {
        BUILT_IN.contains(&key) || DEFAULT_KEYS.contains(&key) || self.fallbacks.contains_key(key)
    }
}

/// The fields a broadcast's placeholders may appear in, by name.
pub fn fields<'a>(
    subject: &'a str,
    preview_text: Option<&'a str>,
    html: Option<&'a str>,
    text: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut out = vec![("subject", subject)];
    out.extend(preview_text.map(|t| ("preview_text", t)));
    out.extend(html.map(|t| ("html", t)));
    out.extend(text.map(|t| ("text", t)));
    out
}

/// Every placeholder names a built-in or a property of the team (422 otherwise).
pub fn check_known(fields: &[(&str, &str)], properties: &Properties) -> BroadcastResult<()> {
    for (field, source) in fields {
        for p in substitute::placeholders(source) {
            if !properties.knows(p.key) {
                return Err(BroadcastError::Invalid(format!(
                    "The `{field}` field uses the placeholder `{{{{{{{}}}}}}}`, which is neither \
                     FIRST_NAME, LAST_NAME, EMAIL, RESEND_UNSUBSCRIBE_URL nor a contact \
                     property of this team. Create the property first or fix the name.",
                    p.key
                )));
            }
        }
    }
    Ok(())
}

/// Before sending: every property placeholder can be filled for every contact (it has an
/// inline fallback or the property has one), so no contact gets a hole (422 otherwise).
pub fn check_fillable(fields: &[(&str, &str)], properties: &Properties) -> BroadcastResult<()> {
    check_known(fields, properties)?;
    for (field, source) in fields {
        for p in substitute::placeholders(source) {
            let property_without_fallback =
                matches!(properties.fallbacks.get(p.key), Some(None)) && p.fallback.is_none();
            if property_without_fallback {
                return Err(BroadcastError::Invalid(format!(
                    "The `{field}` field uses `{{{{{{{key}}}}}}}` without a fallback, and the \
                     `{key}` property has no fallback value: contacts without a value would get \
                     an empty gap. Write `{{{{{{{key}|…}}}}}}` or give the property a fallback.",
                    key = p.key
                )));
            }
        }
    }
    Ok(())
}

/// One contact's values.
pub struct ContactValues<'a> {
    pub email: &'a str,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    /// The contact's custom property values.
    pub values: &'a Map<String, Value>,
    pub unsubscribe_url: &'a str,
    pub properties: &'a Properties,
}

impl Values for ContactValues<'_> {
    fn value(&self, key: &str) -> Option<Cow<'_, str>> {
        let name = |n: Option<&'_ str>| n.filter(|s| !s.is_empty()).map(str::to_string);
        match key {
            FIRST_NAME | "first_name" => name(self.first_name).map(Cow::Owned),
            LAST_NAME | "last_name" => name(self.last_name).map(Cow::Owned),
            EMAIL | "email" => Some(Cow::Borrowed(self.email)),
            UNSUBSCRIBE_URL => Some(Cow::Borrowed(self.unsubscribe_url)),
            _ => self
                .values
                .get(key)
                .filter(|v| !v.is_null())
                .map(substitute::display),
        }
    }

    fn fallback(&self, key: &str) -> Option<Cow<'_, str>> {
        match self.properties.fallbacks.get(key) {
            Some(Some(text)) => Some(Cow::Borrowed(text.as_str())),
            // Names and unknown keys (checked before) render empty rather than fail a send.
            _ => Some(Cow::Borrowed("")),
        }
    }
}

/// What one contact receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: Option<String>,
    pub text: String,
}

/// A broadcast's content ready to personalise many times: the text part is made from the
/// HTML once (placeholders survive the conversion and are filled as text).
#[derive(Debug, Clone)]
pub struct Prepared {
    pub subject: String,
    pub preview_text: Option<String>,
    pub html: Option<String>,
    pub text: String,
}

impl Prepared {
    pub fn of(b: &super::Broadcast) -> Self {
        Self::new(
            &b.subject,
            b.preview_text.as_deref(),
            b.html.as_deref(),
            b.text.as_deref(),
        )
    }

    pub fn new(
        subject: &str,
        preview_text: Option<&str>,
        html: Option<&str>,
        text: Option<&str>,
    ) -> Self {
        let text = match (text, html) {
            (Some(t), _) => t.to_string(),
            (None, Some(h)) => crate::emails::validate::text_from_html(h),
            (None, None) => String::new(),
        };
        Prepared {
            subject: subject.to_string(),
            preview_text: preview_text
                .filter(|p| !p.trim().is_empty())
                .map(str::to_string),
            html: html.map(str::to_string),
            text,
        }
    }

    /// Personalises the content for one contact: the subject and text raw, the HTML
    /// escaped, the preheader hidden at the top of the HTML.
    pub fn render(&self, values: &impl Values) -> Rendered {
        let fill = |source: &str, target| {
            substitute::render(source, target, values).unwrap_or_else(|_| source.to_string())
        };
        let html = self.html.as_deref().map(|h| {
            let filled = fill(h, Target::Html);
            match &self.preview_text {
                Some(preview) => with_preheader(&filled, &fill(preview, Target::Text)),
                None => filled,
            }
        });
        Rendered {
            subject: fill(&self.subject, Target::Text).replace(['\r', '\n'], " "),
            html,
            text: fill(&self.text, Target::Text),
        }
    }
}

const PREHEADER_START: &str = "<div style=\"display:none;max-height:0;overflow:hidden;\
                               mso-hide:all\" aria-hidden=\"true\">";
const PREHEADER_END: &str = "</div>";

/// The preview text as a hidden block right after `<body>` (or first).
pub fn with_preheader(html: &str, preview: &str) -> String {
    let mut block = String::from(PREHEADER_START);
    substitute::escape_html_into(&mut block, preview);
    block.push_str(PREHEADER_END);
    let at = body_start(html).unwrap_or(0);
    let mut out = String::with_capacity(html.len() + block.len());
    out.push_str(&html[..at]);
    out.push_str(&block);
    out.push_str(&html[at..]);
    out
}

/// Just after the opening `<body …>` tag, if there is one.
fn body_start(html: &str) -> Option<usize> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<body")?;
    let close = lower[open..].find('>')?;
    Some(open + close + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    fn props() -> Properties {
        Properties {
            fallbacks: HashMap::from([
                ("plan".to_string(), Some("free".to_string())),
                ("city".to_string(), None),
            ]),
        }
    }

    #[test]
    fn knows_built_ins_and_properties() {
        let p = props();
        assert!(check_known(&[("html", "{{{FIRST_NAME|x}}} {{{plan}}} {{{EMAIL}}}")], &p).is_ok());
        let err = AppError::from(check_known(&[("text", "{{{nope}}}")], &p).unwrap_err());
        assert_eq!(err.status, 422);
        assert!(err.message.contains("{{{nope}}}"), "{}", err.message);
        assert!(check_fillable(&[("html", "{{{city|Paris}}} {{{plan}}}")], &p).is_ok());
        let err = AppError::from(check_fillable(&[("html", "{{{city}}}")], &p).unwrap_err());
        assert!(err.message.contains("city"));
    }

    #[test]
    fn renders_per_contact() {
        let p = props();
        let values = serde_json::from_str::<Map<String, Value>>(r#"{"city":"<Lyon>"}"#).unwrap();
        let v = ContactValues {
            email: "a@b.c",
            first_name: Some("Ann & Bo"),
            last_name: None,
            values: &values,
            unsubscribe_url: "https://h.test/u/t?x=1&y=2",
            properties: &p,
        };
        let out = Prepared::new(
            "Hi {{{FIRST_NAME|there}}}",
            Some("Read {{{city}}}"),
            Some("<html><body><p>{{{FIRST_NAME}}} {{{LAST_NAME|friend}}} {{{city}}} {{{plan}}} <a href=\"{{{RESEND_UNSUBSCRIBE_URL}}}\">u</a></p></body></html>"),
            None,
        )
        .render(&v);
        assert_eq!(out.subject, "Hi Ann & Bo");
        let html = out.html.unwrap();
        assert!(html.contains("<p>Ann &amp; Bo friend &lt;Lyon&gt; free <a href=\"https://h.test/u/t?x=1&amp;y=2\">"), "{html}");
        assert!(html.contains("<body><div style=\"display:none"), "{html}");
        assert!(html.contains("Read &lt;Lyon&gt;</div>"), "{html}");
        assert!(
            out.text.contains("Ann & Bo friend <Lyon> free"),
            "{}",
            out.text
        );
        assert!(!out.text.contains("Read"), "{}", out.text);
        let text = Prepared::new("s", None, None, Some("{{{EMAIL}}} {{{FIRST_NAME}}}!"))
            .render(&v)
            .text;
        assert_eq!(text, "a@b.c Ann & Bo!");
    }
}
