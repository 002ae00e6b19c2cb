//! The BIMI logo itself: fetched through the SSRF-guarded client (private addresses refused
//! unless `allow_private_urls`, no redirects followed, a size cap, a timeout) and checked
//! against the SVG Tiny Portable/Secure profile that mailbox providers require: an `<svg>`
//! root with `version="1.2"` and `baseProfile="tiny-ps"`, a `<title>`, no `x`/`y` on the
//! root, and nothing active or external (scripts, animation, embedded images, links out).

use std::time::Duration;

use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;

/// Larger answers are not read to the end.
pub const MAX_BYTES: usize = 512 * 1024;
/// What the BIMI group recommends at most for a logo.
pub const RECOMMENDED_BYTES: usize = 32 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// What fetching and reading the logo found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct LogoReport {
    /// `valid`, `invalid` (fetched, but not a usable SVG Tiny PS logo) or `unreachable`.
    pub status: String,
    /// What keeps the logo from showing.
    pub problems: Vec<String>,
    /// Worth knowing, but not blocking.
    pub advice: Vec<String>,
}

impl LogoReport {
    fn unreachable(why: String) -> Self {
        Self {
            status: "unreachable".into(),
            problems: Vec::new(),
            advice: vec![why],
        }
    }
}

/// Fetches the logo at `url` (an HTTPS `.svg` address) and checks it.
pub async fn check(settings: &Settings, client: &reqwest::Client, url: &str) -> LogoReport {
    let body = match fetch(settings, client, url).await {
        Ok(body) => body,
        Err(report) => return report,
    };
    let mut report = LogoReport {
        status: String::new(),
        problems: check_svg(&body),
        advice: Vec::new(),
    };
    if body.len() > RECOMMENDED_BYTES {
        report.advice.push(format!(
            "The logo is {} KB; keep it under 32 KB, as the BIMI group recommends.",
            body.len().div_ceil(1024)
        ));
    }
    report.status = if report.problems.is_empty() {
        "valid"
    } else {
        "invalid"
    }
    .into();
    report
}

async fn fetch(
    settings: &Settings,
    client: &reqwest::Client,
    url: &str,
) -> Result<Vec<u8>, LogoReport> {
    let could_not = |why: String| {
        LogoReport::unreachable(format!(
            "Herald could not fetch the logo to check it ({why}); mailbox providers need to \
             reach it too."
        ))
    };
    let parsed = url::Url::parse(url).map_err(|e| could_not(e.to_string()))?;
    crate::net::check_url(settings, &parsed).map_err(could_not)?;
    let mut response = client
        .get(parsed)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| could_not(plain_error(&e)))?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("another address");
        return Err(LogoReport::unreachable(format!(
            "The logo address redirects (HTTP {}) to {to}; put the final address in l= so \
             every mailbox provider finds the logo.",
            status.as_u16()
        )));
    }
    if !status.is_success() {
        return Err(LogoReport {
            status: "invalid".into(),
            problems: vec![format!(
                "The logo address answers HTTP {}: mailbox providers cannot load the logo.",
                status.as_u16()
            )],
            advice: Vec::new(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| could_not(plain_error(&e)))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BYTES {
            return Err(LogoReport {
                status: "invalid".into(),
                problems: vec![format!(
                    "The logo is larger than {} KB; BIMI logos should stay under 32 KB.",
                    MAX_BYTES / 1024
                )],
                advice: Vec::new(),
            });
        }
    }
    Ok(body)
}

fn plain_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("no answer within {} seconds", TIMEOUT.as_secs());
    }
    // The innermost cause says what happened ("connection refused", "resolves only to
    // private or loopback addresses"…).
    let mut source: &dyn std::error::Error = err;
    while let Some(inner) = source.source() {
        source = inner;
    }
    source.to_string()
}

/// Elements SVG Tiny PS leaves out: active content, and content from elsewhere.
const FORBIDDEN: &[(&str, &str)] = &[
    ("script", "scripts"),
    ("animate", "animation"),
    ("animateColor", "animation"),
    ("animateMotion", "animation"),
    ("animateTransform", "animation"),
    ("set", "animation"),
    ("image", "embedded images"),
    ("foreignObject", "foreign content"),
    ("a", "links"),
];

fn attribute(element: &BytesStart, name: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        })
}

/// What keeps `body` from being a BIMI logo, in plain words; empty when it is one.
pub fn check_svg(body: &[u8]) -> Vec<String> {
    let Ok(text) = std::str::from_utf8(body) else {
        return vec!["The logo is not a text file: BIMI needs an SVG document.".to_string()];
    };
    let mut reader = quick_xml::Reader::from_str(text.trim_start_matches('\u{feff}'));
    let mut problems = Vec::new();
    let mut depth = 0usize;
    let mut saw_root = false;
    // Depth of the open <title> child of the root, and whether it holds any text.
    let mut in_title = false;
    let mut title_text = false;
    let mut has_title = false;
    let mut forbidden: Vec<&str> = Vec::new();
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => {
                problems.push(format!(
                    "The logo is not well-formed XML (at byte {}: {err}).",
                    reader.error_position()
                ));
                break;
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.local_name().as_ref().to_string();
                if depth == 0 {
                    if saw_root {
                        problems.push("The logo has more than one root element.".into());
                        break;
                    }
                    saw_root = true;
                    if name != "svg" {
                        problems.push(format!(
                            "The logo is not an SVG document: its root element is <{name}>."
                        ));
                        break;
                    }
                    problems.extend(root_problems(e));
                } else if depth == 1 && name == "title" {
                    has_title = true;
                    in_title = !empty;
                }
                if let Some((_, what)) = FORBIDDEN.iter().find(|(tag, _)| *tag == name)
                    && !forbidden.contains(what)
                {
                    forbidden.push(what);
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    in_title = false;
                }
            }
            Event::Text(ref t) if in_title => {
                title_text |= !t.xml10_content().trim().is_empty();
            }
            Event::CData(_) | Event::GeneralRef(_) if in_title => title_text = true,
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root && problems.is_empty() {
        problems.push("The logo is empty: BIMI needs an SVG document.".into());
    }
    if saw_root && problems.iter().all(|p| !p.contains("not an SVG")) {
        if !has_title {
            problems.push(
                "The logo has no <title> element: SVG Tiny PS requires one (the company \
                 name, e.g. <title>Acme</title>) right inside <svg>."
                    .into(),
            );
        } else if !title_text {
            problems.push("The logo's <title> is empty: put the company name in it.".into());
        }
        if !forbidden.is_empty() {
            problems.push(format!(
                "The logo contains {}, which SVG Tiny PS does not allow.",
                forbidden.join(", ")
            ));
        }
    }
    problems
}

fn root_problems(svg: &BytesStart) -> Vec<String> {
    let mut problems = Vec::new();
    match attribute(svg, "baseProfile").as_deref() {
        Some("tiny-ps") => {}
        Some(other) => problems.push(format!(
            "The logo's <svg> declares baseProfile=\"{other}\"; BIMI needs the SVG Tiny PS \
             profile, baseProfile=\"tiny-ps\"."
        )),
        None => problems.push(
            "The logo's <svg> does not declare the SVG Tiny PS profile: add \
             baseProfile=\"tiny-ps\" (and version=\"1.2\"). Export the logo as SVG Tiny 1.2 \
             and convert it with a BIMI tool."
                .into(),
        ),
    }
    match attribute(svg, "version").as_deref() {
        Some("1.2") | None => {}
        Some(other) => problems.push(format!(
            "The logo's <svg> says version=\"{other}\"; SVG Tiny PS is version=\"1.2\"."
        )),
    }
    if attribute(svg, "version").is_none() && attribute(svg, "baseProfile").is_some() {
        problems.push("The logo's <svg> has no version; add version=\"1.2\".".into());
    }
    let placed: Vec<&str> = ["x", "y"]
        .into_iter()
        .filter(|a| attribute(svg, a).is_some())
        .collect();
    if !placed.is_empty() {
        problems.push(format!(
            "The logo's <svg> has {} attribute(s); SVG Tiny PS does not allow them on the root.",
            placed.join(" and ")
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.2" baseProfile="tiny-ps" viewBox="0 0 100 100">
  <title>Acme &amp; Co</title>
  <desc>The Acme logo</desc>
  <rect width="100" height="100" fill="#ff0000"/>
</svg>"##;

    #[test]
    fn a_tiny_ps_logo_passes() {
        assert_eq!(check_svg(GOOD.as_bytes()), Vec::<String>::new());
        // Prefixed SVG namespace, a byte-order mark, a DOCTYPE and comments are fine.
        let prefixed = "\u{feff}<!DOCTYPE svg><!-- made by hand --><s:svg \
            xmlns:s=\"http://www.w3.org/2000/svg\" version=\"1.2\" baseProfile=\"tiny-ps\">\
            <s:title><![CDATA[Acme]]></s:title><s:circle r=\"4\"/></s:svg>";
        assert_eq!(check_svg(prefixed.as_bytes()), Vec::<String>::new());
    }

    fn one(body: &str, wanted: &str) {
        let problems = check_svg(body.as_bytes());
        assert!(
            problems.iter().any(|p| p.contains(wanted)),
            "{body}: wanted {wanted:?} in {problems:?}"
        );
    }

    #[test]
    fn problems_are_explained() {
        one(
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1"><title>A</title></svg>"#,
            "does not declare the SVG Tiny PS profile",
        );
        one(
            r#"<svg version="1.1" baseProfile="tiny"><title>A</title></svg>"#,
            "baseProfile=\"tiny\"",
        );
        one(
            r#"<svg version="1.1" baseProfile="tiny-ps"><title>A</title></svg>"#,
            "version=\"1.1\"",
        );
        one(
            r#"<svg version="1.2" baseProfile="tiny-ps"><rect/></svg>"#,
            "no <title>",
        );
        one(
            r#"<svg version="1.2" baseProfile="tiny-ps"><g><title>A</title></g></svg>"#,
            "no <title>",
        );
        one(
            r#"<svg version="1.2" baseProfile="tiny-ps"><title> </title></svg>"#,
            "<title> is empty",
        );
        one(
            r#"<svg version="1.2" baseProfile="tiny-ps" x="0" y="0"><title>A</title></svg>"#,
            "x and y attribute",
        );
        one(
            r#"<svg version="1.2" baseProfile="tiny-ps"><title>A</title><script>alert(1)</script><image href="https://x/y.png"/></svg>"#,
            "scripts, embedded images",
        );
        one(
            "<html><body>Not found</body></html>",
            "root element is <html>",
        );
        one(
            "<svg version=\"1.2\" baseProfile=\"tiny-ps\"><title>A</svg>",
            "not well-formed",
        );
        one("", "empty");
        one("   ", "empty");
        assert!(
            check_svg(&[0xff, 0xfe, 0x00])
                .iter()
                .any(|p| p.contains("not a text file"))
        );
    }
}
