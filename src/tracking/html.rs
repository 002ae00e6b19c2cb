//! A light HTML scanner, just enough to rewrite the `href` of `<a>` tags without touching
//! anything else: comments, `<script>` / `<style>` contents and other tags are copied as
//! they are, attribute values are read with their quoting (double, single or none). No new
//! dependency: a full tokenizer (lol_html) would pull a large tree for one attribute.

/// True for the links tracking may wrap: absolute http(s) URLs without control characters.
pub fn is_trackable(link: &str) -> bool {
    let lower = link.get(..8).unwrap_or(link).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && !link.chars().any(char::is_control)
}

/// Links left alone even when they are http(s): unsubscribe links must work without a
/// detour, and are no click in Resend's sense.
fn is_unsubscribe(link: &str) -> bool {
    link.to_ascii_lowercase().contains("unsubscribe")
}

/// The few entities that appear in URLs written in HTML.
fn decode_entities(value: &str) -> String {
    if !value.contains('&') {
        return value.to_string();
    }
    let mut out = value.to_string();
    for (entity, c) in [
        ("&quot;", "\""),
        ("&#34;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&#38;", "&"),
        ("&#x26;", "&"),
        ("&amp;", "&"),
    ] {
        out = out.replace(entity, c);
    }
    out
}

fn starts_with_ci(s: &[u8], at: usize, prefix: &str) -> bool {
    s.len() >= at + prefix.len() && s[at..at + prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Where `needle` (ASCII) next occurs at or after `from`, ignoring case.
fn find_ci(s: &[u8], from: usize, needle: &str) -> Option<usize> {
    (from..s.len()).find(|&i| starts_with_ci(s, i, needle))
}

/// True when the tag name starting at `at` is exactly `name`.
fn tag_named(s: &[u8], at: usize, name: &str) -> bool {
    starts_with_ci(s, at, name)
        && s.get(at + name.len())
            .is_none_or(|c| c.is_ascii_whitespace() || *c == b'>' || *c == b'/')
}

/// The byte span of an `<a>` tag's href value (without quotes) and where the tag ends.
fn href_span(s: &[u8], mut i: usize) -> (Option<(usize, usize)>, usize) {
    let mut href = None;
    loop {
        while i < s.len() && (s[i].is_ascii_whitespace() || s[i] == b'/') {
            i += 1;
        }
        if i >= s.len() {
            return (href, s.len());
        }
        if s[i] == b'>' {
            return (href, i + 1);
        }
        let name_start = i;
        while i < s.len() && !s[i].is_ascii_whitespace() && !matches!(s[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = &s[name_start..i];
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= s.len() || s[i] != b'=' {
            continue;
        }
        i += 1;
        while i < s.len() && s[i].is_ascii_whitespace() {
            i += 1;
        }
        let span = match s.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                let start = i + 1;
                let end = (start..s.len()).find(|&j| s[j] == quote).unwrap_or(s.len());
                i = (end + 1).min(s.len());
                (start, end)
            }
            _ => {
                let start = i;
                while i < s.len() && !s[i].is_ascii_whitespace() && s[i] != b'>' {
                    i += 1;
                }
                (start, i)
            }
        };
        if href.is_none() && name.eq_ignore_ascii_case(b"href") {
            href = Some(span);
        }
    }
}

/// Copies `html`, replacing each trackable `<a href>` by `wrap(decoded link)`. The
/// replacement must be safe in any attribute quoting (tracking URLs are).
pub fn rewrite_links(html: &str, mut wrap: impl FnMut(&str) -> String) -> String {
    let s = html.as_bytes();
    let mut out = String::with_capacity(html.len() + 256);
    let mut copied = 0;
    let mut i = 0;
    while let Some(lt) = (i..s.len()).find(|&j| s[j] == b'<') {
        if starts_with_ci(s, lt, "<!--") {
            i = find_ci(s, lt + 4, "-->").map_or(s.len(), |e| e + 3);
            continue;
        }
        if let Some(raw) = ["script", "style"]
            .into_iter()
            .find(|n| tag_named(s, lt + 1, n))
        {
            i = find_ci(s, lt + 1, &format!("</{raw}")).unwrap_or(s.len());
            if i == lt {
                i += 1;
            }
            continue;
        }
        if !tag_named(s, lt + 1, "a") {
            i = lt + 1;
            continue;
        }
        let (href, end) = href_span(s, lt + 2);
        i = end;
        let Some((start, stop)) = href else { continue };
        let link = decode_entities(html[start..stop].trim());
        if !is_trackable(&link) || is_unsubscribe(&link) {
            continue;
        }
        out.push_str(&html[copied..start]);
        out.push_str(&wrap(&link));
        copied = stop;
    }
    out.push_str(&html[copied..]);
    out
}

/// Where `</body>` starts, if the document has one.
pub fn body_end(html: &str) -> Option<usize> {
    let s = html.as_bytes();
    (0..s.len()).rev().find(|&i| starts_with_ci(s, i, "</body"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptest_util::{cases, soup};
    use proptest::prelude::*;

    const HTML_PIECES: &[&str] = &[
        "<a",
        "<A",
        " href=",
        " HREF =",
        "\"",
        "'",
        ">",
        "</a>",
        "https://x.test/p?q=1",
        "http://y.test",
        "mailto:a@b.test",
        "#top",
        "&amp;",
        "&#x3a;",
        "&",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "<style>",
        "</style",
        "<abbr",
        "<body>",
        "</body>",
        "<",
        " ",
        "\u{e9}",
        "=",
    ];

    proptest! {
        #![proptest_config(cases(256))]

        #[test]
        fn rewriting_never_panics(html in soup(HTML_PIECES, 50)) {
            let _ = rewrite_links(&html, |link| format!("https://t.test/c?l={}", link.len()));
            let _ = body_end(&html);
        }

        #[test]
        fn html_without_links_is_unchanged(html in soup(HTML_PIECES, 50)) {
            // every `<a` made `<b`: no anchors left
            let html = html.replace("<a", "<b").replace("<A", "<B");
            prop_assert_eq!(rewrite_links(&html, |_| "X".to_string()), html);
        }

        #[test]
        fn wrapping_each_link_in_itself_changes_nothing(html in soup(HTML_PIECES, 50)) {
            // links are handed over decoded and trimmed: without entities or spaces a link is
            // its own text
            let html: String = html.chars().filter(|c| *c != '&' && !c.is_whitespace()).collect();
            prop_assert_eq!(rewrite_links(&html, str::to_string), html);
        }
    }

    #[test]
    fn only_a_hrefs_outside_comments_and_scripts() {
        let wrap = |l: &str| format!("W({})", l.len());
        let html = "<!-- <a href=\"https://c.test\"> --><abbr href=\"https://b.test\">\
                    <script>var a='<a href=\"https://s.test\">'</script>\
                    <A title=\"x > y\" href=https://u.test/x>u</A><a href = \"https://q.test\" >";
        let out = rewrite_links(html, wrap);
        assert!(out.contains("https://c.test") && out.contains("https://b.test"));
        assert!(out.contains("https://s.test"));
        assert!(out.contains("<A title=\"x > y\" href=W(16)>u</A>"), "{out}");
        assert!(out.ends_with("<a href = \"W(14)\" >"), "{out}");
        assert!(!is_trackable("javascript:alert(1)"));
        assert!(!is_trackable("tel:+1"));
        assert!(is_trackable("HTTPS://x.test"));
        assert_eq!(body_end("<BODY>x</Body>"), Some(7));
    }
}
