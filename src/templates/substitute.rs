//! Triple-brace placeholders, `{{{KEY}}}` and `{{{KEY|fallback}}}`, as Resend writes them in
//! templates and broadcasts. This module only finds and fills them; what a key's value is
//! (a send's variables, a contact's properties) is the caller's business, via [`Values`].
//!
//! Keys are ASCII letters, digits and `_`; anything else between triple braces is left as
//! written. Values are HTML-escaped in HTML and kept as they are in plain text and subjects.
//! An inline fallback is part of the template's own source, so it is never escaped.

use std::borrow::Cow;

/// What the filled text is: values are escaped in [`Target::Html`] only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Html,
    Text,
}

/// One placeholder as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder<'a> {
    pub key: &'a str,
    pub fallback: Option<&'a str>,
}

/// Where the values come from. A placeholder takes, in order: [`Values::value`], its own
/// inline fallback, [`Values::fallback`]; with none of them it is [`Missing`].
pub trait Values {
    /// The value given for `key` (already formatted as text).
    fn value(&self, key: &str) -> Option<Cow<'_, str>>;
    /// The value to use when none is given and the placeholder has no inline fallback.
    fn fallback(&self, _key: &str) -> Option<Cow<'_, str>> {
        None
    }
}

/// A placeholder that nothing could fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub String);

const OPEN: &str = "{{{";
const CLOSE: &str = "}}}";

pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses the text between the braces; `None` when it is not a placeholder.
fn parse_inner(inner: &str) -> Option<Placeholder<'_>> {
    let (key, fallback) = match inner.split_once('|') {
        Some((key, fallback)) => (key.trim(), Some(fallback.trim())),
        None => (inner.trim(), None),
    };
    is_valid_key(key).then_some(Placeholder { key, fallback })
}

/// Walks `source`, handing each literal run and each placeholder to `visit`.
fn walk<'a>(source: &'a str, mut visit: impl FnMut(Piece<'a>)) {
    let mut rest = source;
    while let Some(start) = rest.find(OPEN) {
        let after_open = &rest[start + OPEN.len()..];
        let parsed = after_open
            .find(CLOSE)
            .and_then(|end| parse_inner(&after_open[..end]).map(|p| (p, end)));
        match parsed {
            Some((placeholder, end)) => {
                visit(Piece::Literal(&rest[..start]));
                visit(Piece::Placeholder(placeholder));
                rest = &after_open[end + CLOSE.len()..];
            }
            None => {
                // Not a placeholder: keep one brace and look again from the next one, so
                // `{{{{KEY}}}` still finds `{{{KEY}}}`.
                visit(Piece::Literal(&rest[..start + 1]));
                rest = &rest[start + 1..];
            }
        }
    }
    visit(Piece::Literal(rest));
}

enum Piece<'a> {
    Literal(&'a str),
    Placeholder(Placeholder<'a>),
}

/// Every placeholder of `source`, in order (repeats included).
pub fn placeholders(source: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    walk(source, |piece| {
        if let Piece::Placeholder(p) = piece {
            found.push(p);
        }
    });
    found
}

/// Fills every placeholder of `source`; the first one nothing fills is the error.
pub fn render(source: &str, target: Target, values: &impl Values) -> Result<String, Missing> {
    let mut out = String::with_capacity(source.len());
    let mut missing = None;
    walk(source, |piece| match piece {
        Piece::Literal(text) => out.push_str(text),
        Piece::Placeholder(p) => {
            if let Some(value) = values.value(p.key) {
                push_value(&mut out, &value, target);
            } else if let Some(inline) = p.fallback {
                out.push_str(inline);
            } else if let Some(value) = values.fallback(p.key) {
                push_value(&mut out, &value, target);
            } else if missing.is_none() {
                missing = Some(Missing(p.key.to_string()));
            }
        }
    });
    match missing {
        Some(m) => Err(m),
        None => Ok(out),
    }
}

/// The length in bytes [`render`] would produce, computed without building it, or `None`
/// as soon as it passes `limit` (so a hostile template costs at most `limit` of counting,
/// never its expansion). Missing values count as empty; [`render`] reports them.
pub fn rendered_len(
    source: &str,
    target: Target,
    values: &impl Values,
    limit: usize,
) -> Option<usize> {
    let mut total = 0usize;
    let mut value_lens: std::collections::HashMap<&str, usize> = Default::default();
    let mut over = false;
    walk(source, |piece| {
        if over {
            return;
        }
        let len = match piece {
            Piece::Literal(text) => text.len(),
            Piece::Placeholder(p) => *value_lens.entry(p.key).or_insert_with(|| {
                if let Some(value) = values.value(p.key) {
                    value_len(&value, target)
                } else if let Some(inline) = p.fallback {
                    inline.len()
                } else if let Some(value) = values.fallback(p.key) {
                    value_len(&value, target)
                } else {
                    0
                }
            }),
        };
        total = total.saturating_add(len);
        over = total > limit;
    });
    (!over).then_some(total)
}

fn value_len(value: &str, target: Target) -> usize {
    match target {
        Target::Text => value.len(),
        Target::Html => value
            .bytes()
            .map(|b| match b {
                b'&' | b'\'' => 5,
                b'<' | b'>' => 4,
                b'"' => 6,
                _ => 1,
            })
            .sum(),
    }
}

fn push_value(out: &mut String, value: &str, target: Target) {
    match target {
        Target::Text => out.push_str(value),
        Target::Html => escape_html_into(out, value),
    }
}

pub fn escape_html_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// The text form of a JSON value: strings as they are, anything else as JSON.
pub fn display(value: &serde_json::Value) -> Cow<'_, str> {
    match value {
        serde_json::Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::proptest_util::{cases, soup};
    use proptest::prelude::*;

    const TEMPLATE_PIECES: &[&str] = &[
        "{{{", "}}}", "{", "}", "|", "A", "N", "NAME", "CITY", "_", " ", "<", "&", "\u{e9}",
        "fallback",
    ];

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        fn rendering_never_panics_and_its_length_is_known_ahead(source in soup(TEMPLATE_PIECES, 40)) {
            for target in [Target::Html, Target::Text] {
                let rendered = render(&source, target, &values());
                let _ = placeholders(&source);
                if let Ok(out) = rendered {
                    prop_assert_eq!(rendered_len(&source, target, &values(), usize::MAX), Some(out.len()));
                }
            }
        }

        #[test]
        fn text_without_placeholders_is_unchanged(source in any::<String>()) {
            prop_assume!(!source.contains(OPEN));
            prop_assert_eq!(render(&source, Target::Html, &values()), Ok(source.clone()));
            prop_assert_eq!(render(&source, Target::Text, &values()), Ok(source));
        }
    }

    #[test]
    fn rendered_len_matches_render_and_stops_at_the_limit() {
        let v = Map(
            HashMap::from([("A", "<a href=\"x\">Tom & 'Jo'</a>"), ("B", "plain")]),
            HashMap::from([("C", "fall&back")]),
        );
        for source in [
            "",
            "no placeholders",
            "{{{A}}} and {{{B}}} {{{A}}} {{{C}}} {{{D|inline}}} {{{{A}}}} {{{x y}}}",
        ] {
            for target in [Target::Html, Target::Text] {
                let rendered = render(source, target, &v).unwrap();
                assert_eq!(
                    rendered_len(source, target, &v, usize::MAX),
                    Some(rendered.len()),
                    "{source} {target:?}"
                );
            }
        }
        let hostile = "{{{A}}}".repeat(10_000);
        let big: &'static str = Box::leak("x".repeat(5_000).into_boxed_str());
        let values = Map(HashMap::from([("A", big)]), HashMap::new());
        assert_eq!(
            rendered_len(&hostile, Target::Html, &values, 1_000_000),
            None
        );
        assert_eq!(
            rendered_len(&hostile, Target::Html, &values, 50_000_000),
            Some(50_000_000)
        );
    }

    struct Map(
        HashMap<&'static str, &'static str>,
        HashMap<&'static str, &'static str>,
    );

    impl Values for Map {
        fn value(&self, key: &str) -> Option<Cow<'_, str>> {
            self.0.get(key).map(|v| Cow::Borrowed(*v))
        }
        fn fallback(&self, key: &str) -> Option<Cow<'_, str>> {
            self.1.get(key).map(|v| Cow::Borrowed(*v))
        }
    }

    fn values() -> Map {
        Map(
            HashMap::from([("NAME", "Ann <&> 'x'"), ("N", "5")]),
            HashMap::from([("CITY", "Paris"), ("NAME", "nobody")]),
        )
    }

    #[test]
    fn finds_placeholders() {
        let found = placeholders("a {{{A}}} b {{{ B | x y }}} {{{not a key}}} {{{{C}}}} {{{D");
        let keys: Vec<_> = found.iter().map(|p| (p.key, p.fallback)).collect();
        assert_eq!(keys, vec![("A", None), ("B", Some("x y")), ("C", None)]);
    }

    #[test]
    fn fills_in_order_value_inline_declared() {
        let v = values();
        let html = render(
            "<p>{{{NAME|friend}}} {{{CITY}}} {{{TOWN|Lyon}}} {{{N}}}</p>",
            Target::Html,
            &v,
        );
        assert_eq!(
            html.unwrap(),
            "<p>Ann &lt;&amp;&gt; &#39;x&#39; Paris Lyon 5</p>"
        );
        let text = render("Hi {{{NAME}}}", Target::Text, &v).unwrap();
        assert_eq!(text, "Hi Ann <&> 'x'");
        // The inline fallback wins over the declared one, and is written as is.
        let empty = Map(HashMap::new(), HashMap::from([("NAME", "declared")]));
        assert_eq!(
            render("{{{NAME|<b>you</b>}}} {{{NAME}}}", Target::Html, &empty).unwrap(),
            "<b>you</b> declared"
        );
    }

    #[test]
    fn reports_the_first_missing_key_and_keeps_non_placeholders() {
        let v = values();
        assert_eq!(
            render("{{{X}}} {{{Y}}}", Target::Text, &v),
            Err(Missing("X".into()))
        );
        assert_eq!(
            render("{{{a b}}} {{{ }}} {{{", Target::Text, &v).unwrap(),
            "{{{a b}}} {{{ }}} {{{"
        );
        assert_eq!(
            render("{{{{NAME}}}}", Target::Text, &v).unwrap(),
            "{Ann <&> 'x'}"
        );
    }
}
