//! BIMI records at `default._bimi.<domain>` (`v=BIMI1; l=<logo>; a=<certificate>`), and
//! whether the domain can show its logo: the rules of the product docs, explained in plain
//! words. BIMI needs DMARC at enforcement (`p=quarantine` or `p=reject`) with `pct=100`; a
//! subdomain needs its root domain at enforcement too; the logo is an HTTPS `.svg`, the
//! certificate an HTTPS `.pem`. The logo file itself is checked by [`super::bimi_logo`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bimi_logo::LogoReport;
use super::dmarc::DmarcRecord;
use super::dns::Lookup;
use super::tags::TagList;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bimi {
    /// Logo URL; empty when the record declines BIMI.
    pub l: String,
    /// Mark certificate URL.
    pub a: Option<String>,
    pub s: Option<String>,
}

impl Bimi {
    pub fn parse(text: &str) -> Result<Bimi, String> {
        let tags = TagList::parse(text)?;
        let (first, version) = tags.first();
        if first != "v" || !version.eq_ignore_ascii_case("BIMI1") {
            return Err("A BIMI record must start with v=BIMI1.".to_string());
        }
        let l = tags.get("l").ok_or_else(|| {
            "The record has no l= tag (the HTTPS address of the logo).".to_string()
        })?;
        Ok(Bimi {
            l: l.to_string(),
            a: tags.get("a").filter(|a| !a.is_empty()).map(str::to_string),
            s: tags.get("s").map(str::to_string),
        })
    }
}

/// The BIMI part of a domain's report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct BimiReport {
    /// The name looked up, e.g. `default._bimi.example.com`.
    pub name: String,
    /// `valid`, `invalid`, `missing` or `lookup_failed`.
    pub status: String,
    pub record: Option<String>,
    /// Logo (`l=`).
    pub l: Option<String>,
    /// Mark certificate (`a=`).
    pub a: Option<String>,
    /// Selector (`s=`).
    pub s: Option<String>,
    /// True when the record and the DMARC policy meet every requirement.
    pub ready: bool,
    /// What is missing or wrong, in plain words.
    pub messages: Vec<String>,
    /// When DNS was read.
    pub checked_at: String,
    /// The logo file as Herald fetched it (`domains.check_bimi_logo`); `null` when not fetched.
    #[serde(default)]
    pub logo: Option<LogoReport>,
}

impl BimiReport {
    /// The logo URL worth fetching: from a valid record, HTTPS and `.svg`.
    pub fn fetchable_logo(&self) -> Option<&str> {
        let logo = self.l.as_deref().filter(|l| !l.is_empty())?;
        (self.status == "valid" && url_problem("logo", "l", logo, ".svg").is_none()).then_some(logo)
    }

    /// Adds what fetching the logo found: its problems keep the logo from showing.
    pub fn add_logo(&mut self, logo: LogoReport) {
        self.ready &= logo.problems.is_empty();
        self.messages.extend(logo.problems.iter().cloned());
        self.messages.extend(logo.advice.iter().cloned());
        self.logo = Some(logo);
    }
}

fn looks_like_bimi(text: &str) -> bool {
    let compact: String = text
        .split_whitespace()
        .collect::<String>()
        .to_ascii_lowercase();
    compact.starts_with("v=bimi")
}

/// Checks an `l=` or `a=` URL: HTTPS, and the file type the docs ask for.
fn url_problem(what: &str, tag: &str, value: &str, extension: &str) -> Option<String> {
    let Ok(url) = url::Url::parse(value) else {
        return Some(format!("The {what} ({tag}=) is not a valid URL: {value}"));
    };
    if url.scheme() != "https" {
        return Some(format!(
            "The {what} ({tag}=) must be an HTTPS URL; mailbox providers ignore other \
             addresses."
        ));
    }
    if !url.path().to_ascii_lowercase().ends_with(extension) {
        return Some(format!(
            "The {what} ({tag}=) must point to a {extension} file."
        ));
    }
    None
}

/// Reads the BIMI record and checks it against the domain's DMARC records.
/// `apex` is the root domain's DMARC record when the domain is a subdomain.
pub fn assess(
    name: &str,
    lookup: &Lookup<String>,
    own_dmarc: &DmarcRecord,
    apex: Option<&DmarcRecord>,
) -> BimiReport {
    let mut report = BimiReport {
        name: name.to_string(),
        ..BimiReport::default()
    };
    let mut blocking = Vec::new();
    let mut advice = Vec::new();
    match lookup {
        Lookup::Failed(err) => {
            report.status = "lookup_failed".into();
            blocking.push(format!("The DNS look-up of {name} failed: {err}."));
        }
        Lookup::Missing => report.status = "missing".into(),
        Lookup::Found(values) => {
            let candidates: Vec<&String> = values.iter().filter(|v| looks_like_bimi(v)).collect();
            match candidates.as_slice() {
                [] => report.status = "missing".into(),
                [one] => {
                    report.record = Some(one.to_string());
                    match Bimi::parse(one) {
                        Ok(bimi) => {
                            report.status = "valid".into();
                            report.l = Some(bimi.l);
                            report.a = bimi.a;
                            report.s = bimi.s;
                        }
                        Err(problem) => {
                            report.status = "invalid".into();
                            blocking.push(problem);
                        }
                    }
                }
                several => {
                    report.status = "invalid".into();
                    report.record = Some(several[0].to_string());
                    blocking.push(format!(
                        "{} BIMI records are published at {name}; keep a single one.",
                        several.len()
                    ));
                }
            }
        }
    }
    if report.status == "missing" {
        blocking.push(format!(
            "No BIMI record found. Publish a TXT record at {name} such as \
             `v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem;`."
        ));
    }
    match report.l.as_deref() {
        Some("") => {
            blocking.push("l= is empty: the record declines BIMI, so no logo is shown.".to_string())
        }
        Some(logo) => blocking.extend(url_problem("logo", "l", logo, ".svg")),
        None => {}
    }
    if report.status == "valid" {
        match report.a.as_deref() {
            Some(cert) => blocking.extend(url_problem("certificate", "a", cert, ".pem")),
            None => advice.push(
                "There is no certificate (a=). Gmail shows logos only with a Verified Mark \
                 Certificate or a Common Mark Certificate, Apple Mail only with a VMC; Yahoo \
                 shows them without."
                    .to_string(),
            ),
        }
    }
    blocking.extend(dmarc_problems(own_dmarc, apex));
    report.ready = blocking.is_empty();
    report.messages = blocking;
    report.messages.extend(advice);
    report
}

fn domain_of(record: &DmarcRecord) -> &str {
    record.name.trim_start_matches("_dmarc.")
}

/// What keeps the DMARC set-up from qualifying for BIMI.
fn dmarc_problems(own: &DmarcRecord, apex: Option<&DmarcRecord>) -> Vec<String> {
    let mut problems = Vec::new();
    // The record that applies: the domain's own, else the root domain's subdomain policy.
    let applied = match (own.parsed(), apex.and_then(DmarcRecord::parsed)) {
        (Some(d), _) => Some((d.p.clone(), d.pct)),
        (None, Some(a)) if own.status == "missing" => {
            Some((a.subdomain_policy().to_string(), a.pct))
        }
        _ => None,
    };
    match applied {
        None => problems.push(
            "BIMI needs a valid DMARC record with p=quarantine or p=reject, and none applies \
             to this domain."
                .to_string(),
        ),
        Some((policy, pct)) => {
            if policy == "none" {
                problems.push(
                    "BIMI needs a DMARC policy of p=quarantine or p=reject; the policy is \
                     p=none."
                        .to_string(),
                );
            }
            if pct != 100 {
                problems.push(format!(
                    "BIMI needs DMARC to apply to all mail (pct=100); it is pct={pct}."
                ));
            }
        }
    }
    if let Some(apex) = apex {
        let root = domain_of(apex);
        match apex.parsed() {
            Some(d) if d.enforces() => {}
            Some(d) => problems.push(format!(
                "For BIMI on a subdomain, the root domain {root} must also have a DMARC policy \
                 of p=quarantine or p=reject; it has p={}.",
                d.p
            )),
            None => problems.push(format!(
                "For BIMI on a subdomain, the root domain {root} must also have a DMARC policy \
                 of p=quarantine or p=reject; it has no valid DMARC record."
            )),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::dmarc;

    fn dmarc_at(name: &str, text: Option<&str>) -> DmarcRecord {
        let lookup = match text {
            Some(t) => Lookup::Found(vec![t.to_string()]),
            None => Lookup::Missing,
        };
        dmarc::read(name, &lookup)
    }

    fn bimi(text: &str) -> Lookup<String> {
        Lookup::Found(vec![text.to_string()])
    }

    const GOOD: &str =
        "v=BIMI1; l=https://vmc.example.com/logo.svg; a=https://vmc.example.com/cert.pem;";

    #[test]
    fn parses_real_world_variants() {
        let cases: &[(&str, bool)] = &[
            (GOOD, true),
            ("v=BIMI1;l=https://x.com/a.SVG;a=https://x.com/b.pem", true),
            ("V=BIMI1; L=https://x.com/a.svg; s=springlogo", true),
            ("v=BIMI1; l=; a=;", true),
            ("v=BIMI1; a=https://x.com/b.pem", false),
            ("v=BIMI2; l=https://x.com/a.svg", false),
            ("l=https://x.com/a.svg; v=BIMI1", false),
            (
                "v=BIMI1; l=https://x.com/a.svg; l=https://x.com/b.svg",
                false,
            ),
            ("v=BIMI1 l=https://x.com/a.svg", false),
            ("v=BIMI1; l", false),
            ("v=BIMI1; \u{0}=x", false),
        ];
        for (text, ok) in cases {
            assert_eq!(
                Bimi::parse(text).is_ok(),
                *ok,
                "{text}: {:?}",
                Bimi::parse(text)
            );
        }
        let parsed = Bimi::parse("V=BIMI1; L=https://x.com/a.svg; s=springlogo").unwrap();
        assert_eq!(parsed.s.as_deref(), Some("springlogo"));
        assert_eq!(parsed.a, None);
    }

    #[test]
    fn ready_with_an_enforced_policy() {
        let own = dmarc_at(
            "_dmarc.example.com",
            Some("v=DMARC1; p=quarantine; pct=100; rua=mailto:d@example.com"),
        );
        let report = assess("default._bimi.example.com", &bimi(GOOD), &own, None);
        assert!(report.ready, "{:?}", report.messages);
        assert!(report.messages.is_empty());
        assert_eq!(
            report.l.as_deref(),
            Some("https://vmc.example.com/logo.svg")
        );
    }

    fn problems(
        bimi_text: Option<&str>,
        own: Option<&str>,
        apex: Option<Option<&str>>,
    ) -> Vec<String> {
        let own = dmarc_at("_dmarc.news.example.com", own);
        let apex = apex.map(|a| dmarc_at("_dmarc.example.com", a));
        let lookup = match bimi_text {
            Some(t) => bimi(t),
            None => Lookup::Missing,
        };
        let report = assess(
            "default._bimi.news.example.com",
            &lookup,
            &own,
            apex.as_ref(),
        );
        assert!(!report.ready);
        report.messages
    }

    fn has(messages: &[String], needle: &str) -> bool {
        messages.iter().any(|m| m.contains(needle))
    }

    #[test]
    fn explains_every_rule() {
        let reject = Some("v=DMARC1; p=reject");
        let m = problems(None, reject, None);
        assert!(has(&m, "No BIMI record"), "{m:?}");
        let m = problems(Some(GOOD), Some("v=DMARC1; p=none"), None);
        assert!(has(&m, "p=none"), "{m:?}");
        let m = problems(Some(GOOD), Some("v=DMARC1; p=reject; pct=50"), None);
        assert!(has(&m, "pct=50"), "{m:?}");
        let m = problems(Some(GOOD), None, None);
        assert!(has(&m, "none applies"), "{m:?}");
        let m = problems(Some(GOOD), reject, Some(Some("v=DMARC1; p=none")));
        assert!(has(&m, "root domain example.com"), "{m:?}");
        let m = problems(Some(GOOD), reject, Some(None));
        assert!(has(&m, "no valid DMARC record"), "{m:?}");
        let m = problems(
            Some("v=BIMI1; l=http://x.com/logo.svg; a=https://x.com/c.pem"),
            reject,
            None,
        );
        assert!(has(&m, "HTTPS"), "{m:?}");
        let m = problems(
            Some("v=BIMI1; l=https://x.com/logo.png; a=https://x.com/c.pem"),
            reject,
            None,
        );
        assert!(has(&m, ".svg"), "{m:?}");
        let m = problems(
            Some("v=BIMI1; l=https://x.com/logo.svg; a=https://x.com/c.crt"),
            reject,
            None,
        );
        assert!(has(&m, ".pem"), "{m:?}");
        let m = problems(Some("v=BIMI1; l=not a url"), reject, None);
        assert!(has(&m, "not a valid URL"), "{m:?}");
        let m = problems(Some("v=BIMI1; l=; a=;"), reject, None);
        assert!(has(&m, "declines"), "{m:?}");
        let m = problems(
            Some("v=BIMI1; l=https://x.com/a.svg; l=https://x.com/b.svg"),
            reject,
            None,
        );
        assert!(has(&m, "more than once"), "{m:?}");
        let two = Lookup::Found(vec![GOOD.to_string(), GOOD.to_string()]);
        let own = dmarc_at("_dmarc.example.com", reject);
        let r = assess("default._bimi.example.com", &two, &own, None);
        assert!(!r.ready && has(&r.messages, "single one"));
        let r = assess(
            "default._bimi.example.com",
            &Lookup::Failed("timeout".into()),
            &own,
            None,
        );
        assert_eq!(r.status, "lookup_failed");
    }

    #[test]
    fn subdomains_inherit_the_root_policy() {
        // No record of its own: the root's sp= applies.
        let own = dmarc_at("_dmarc.news.example.com", None);
        let apex = dmarc_at("_dmarc.example.com", Some("v=DMARC1; p=reject; sp=none"));
        let r = assess(
            "default._bimi.news.example.com",
            &bimi(GOOD),
            &own,
            Some(&apex),
        );
        assert!(!r.ready && has(&r.messages, "p=none"), "{:?}", r.messages);
        let apex = dmarc_at("_dmarc.example.com", Some("v=DMARC1; p=reject"));
        let r = assess(
            "default._bimi.news.example.com",
            &bimi(GOOD),
            &own,
            Some(&apex),
        );
        assert!(r.ready, "{:?}", r.messages);
        // Without a certificate the logo can still show (Yahoo): advice, not a blocker.
        let r = assess(
            "default._bimi.news.example.com",
            &bimi("v=BIMI1; l=https://x.com/a.svg"),
            &own,
            Some(&apex),
        );
        assert!(
            r.ready && has(&r.messages, "no certificate"),
            "{:?}",
            r.messages
        );
    }

    /// Arbitrary text never panics any parser and always yields a reason when rejected.
    #[test]
    fn arbitrary_records_never_panic() {
        let pieces = [
            "v=",
            "DMARC1",
            "BIMI1",
            "v=DMARC1",
            "v=BIMI1",
            ";",
            "=",
            " ",
            "p=",
            "reject",
            "none",
            "pct=",
            "100",
            "999",
            "-1",
            "l=",
            "a=",
            "https://x.com/l.svg",
            "http://",
            ".pem",
            "é",
            "💥",
            "\u{0}",
            ",",
            "rua=mailto:a@b.c",
            "sp=",
            "\t",
            "DMARC1é",
            "v=DMARC1💥",
        ];
        // A small linear congruential generator: deterministic, no extra dependency.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5000 {
            let mut text = String::new();
            for _ in 0..(seed % 9) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let dmarc = dmarc::read("_dmarc.x.com", &Lookup::Found(vec![text.clone()]));
            if dmarc.status == "invalid" {
                assert!(dmarc.problem.is_some(), "{text:?}");
            }
            let _ = dmarc::explain("x.com", &dmarc, Some(&dmarc));
            if let Err(reason) = Bimi::parse(&text) {
                assert!(!reason.is_empty(), "{text:?}");
            }
            let report = assess("default._bimi.x.com", &bimi(&text), &dmarc, Some(&dmarc));
            assert!(report.ready || !report.messages.is_empty(), "{text:?}");
        }
    }
}
