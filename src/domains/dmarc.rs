//! DMARC records (RFC 7489) at `_dmarc.<domain>`: parsed with our own tag-list parser (it
//! keeps `pct`, which BIMI needs and mail-auth's parser drops) and explained in plain words.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dns::Lookup;
use super::tags::TagList;

/// A parsed DMARC record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dmarc {
    pub p: String,
    pub sp: Option<String>,
    /// 100 when the record has no `pct` tag.
    pub pct: u8,
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
    pub adkim: String,
    pub aspf: String,
}

fn policy(tag: &str, value: &str) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "none" | "quarantine" | "reject" => Ok(lower),
        _ => Err(format!(
            "{tag}={value} is not a policy: use none, quarantine or reject."
        )),
    }
}

fn alignment(tag: &str, value: Option<&str>) -> Result<String, String> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("r") => Ok("r".to_string()),
        Some("s") => Ok("s".to_string()),
        Some(_) => Err(format!(
            "{tag}={} is not valid: use r (relaxed) or s (strict).",
            value.unwrap_or_default()
        )),
    }
}

fn uris(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

impl Dmarc {
    /// Parses one record; the error says in plain words what is wrong.
    pub fn parse(text: &str) -> Result<Dmarc, String> {
        let tags = TagList::parse(text)?;
        let (first, version) = tags.first();
        let glued = version.len() > 6
            && version
                .get(..6)
                .is_some_and(|v| v.eq_ignore_ascii_case("DMARC1"));
        if first == "v" && glued {
            return Err("Separate the tags with semicolons, e.g. v=DMARC1; p=reject.".to_string());
        }
        if first != "v" || !version.eq_ignore_ascii_case("DMARC1") {
            return Err("A DMARC record must start with v=DMARC1.".to_string());
        }
        let p = match tags.get("p") {
            Some(value) => policy("p", value)?,
            None => {
                return Err("The record has no p= tag (the policy: none, quarantine or \
                            reject), so receivers ignore it."
                    .to_string());
            }
        };
        let sp = tags.get("sp").map(|v| policy("sp", v)).transpose()?;
        let pct = match tags.get("pct") {
            None => 100,
            Some(value) => value
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= 100)
                .ok_or_else(|| format!("pct={value} must be a whole number from 0 to 100."))?,
        };
        Ok(Dmarc {
            p,
            sp,
            pct,
            rua: uris(tags.get("rua")),
            ruf: uris(tags.get("ruf")),
            adkim: alignment("adkim", tags.get("adkim"))?,
            aspf: alignment("aspf", tags.get("aspf"))?,
        })
    }

    /// `quarantine` or `reject`: what BIMI calls enforcement.
    pub fn enforces(&self) -> bool {
        self.p != "none"
    }

    /// The policy applied to subdomains without a record of their own.
    pub fn subdomain_policy(&self) -> &str {
        self.sp.as_deref().unwrap_or(&self.p)
    }
}

/// What was found at one `_dmarc` name, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct DmarcRecord {
    /// The name looked up, e.g. `_dmarc.example.com`.
    pub name: String,
    /// `valid`, `invalid`, `missing` or `lookup_failed`.
    pub status: String,
    /// The record's text as published.
    pub record: Option<String>,
    pub p: Option<String>,
    pub sp: Option<String>,
    pub pct: Option<u8>,
    pub rua: Vec<String>,
    pub ruf: Vec<String>,
    pub adkim: Option<String>,
    pub aspf: Option<String>,
    /// Why the record is invalid or could not be read.
    pub problem: Option<String>,
}

impl DmarcRecord {
    /// The parsed record, when it is valid.
    pub fn parsed(&self) -> Option<Dmarc> {
        (self.status == "valid")
            .then(|| Dmarc::parse(self.record.as_deref()?).ok())
            .flatten()
    }
}

fn looks_like_dmarc(text: &str) -> bool {
    let compact: String = text
        .split_whitespace()
        .collect::<String>()
        .to_ascii_lowercase();
    compact.starts_with("v=dmarc")
}

/// Picks the DMARC record among the TXT records at `name` and parses it.
pub fn read(name: &str, lookup: &Lookup<String>) -> DmarcRecord {
    let mut out = DmarcRecord {
        name: name.to_string(),
        ..DmarcRecord::default()
    };
    let found = match lookup {
        Lookup::Failed(err) => {
            out.status = "lookup_failed".into();
            out.problem = Some(format!("The DNS look-up of {name} failed: {err}."));
            return out;
        }
        Lookup::Missing => Vec::new(),
        Lookup::Found(values) => values.clone(),
    };
    let candidates: Vec<&String> = found.iter().filter(|v| looks_like_dmarc(v)).collect();
    match candidates.as_slice() {
        [] => {
            out.status = "missing".into();
            if let Some(other) = found
                .iter()
                .find(|v| v.to_ascii_lowercase().contains("dmarc1"))
            {
                out.status = "invalid".into();
                out.record = Some(other.clone());
                out.problem = Some("A DMARC record must start with v=DMARC1.".into());
            }
        }
        [one] => {
            out.record = Some(one.to_string());
            match Dmarc::parse(one) {
                Ok(d) => {
                    out.status = "valid".into();
                    out.p = Some(d.p);
                    out.sp = d.sp;
                    out.pct = Some(d.pct);
                    out.rua = d.rua;
                    out.ruf = d.ruf;
                    out.adkim = Some(d.adkim);
                    out.aspf = Some(d.aspf);
                }
                Err(problem) => {
                    out.status = "invalid".into();
                    out.problem = Some(problem);
                }
            }
        }
        several => {
            out.status = "invalid".into();
            out.record = Some(several[0].to_string());
            out.problem = Some(format!(
                "{} DMARC records are published at {name}; receivers ignore DMARC when there \
                 is more than one, so keep a single record.",
                several.len()
            ));
        }
    }
    out
}

/// Plain-words notes on a domain's DMARC set-up. `apex` is the organisational domain's
/// record when the domain is a subdomain.
pub fn explain(domain: &str, own: &DmarcRecord, apex: Option<&DmarcRecord>) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(problem) = &own.problem {
        notes.push(problem.clone());
    }
    let effective = match (own.parsed(), apex.and_then(DmarcRecord::parsed)) {
        (Some(d), _) => Some((d.p.clone(), d)),
        (None, Some(a)) if own.status == "missing" => {
            notes.push(format!(
                "{domain} has no DMARC record of its own, so receivers apply the policy of \
                 {}: {}.",
                apex.map(|a| a.name.trim_start_matches("_dmarc."))
                    .unwrap_or_default(),
                if a.sp.is_some() {
                    format!("sp={}", a.subdomain_policy())
                } else {
                    format!("p={}", a.p)
                }
            ));
            Some((a.subdomain_policy().to_string(), a))
        }
        _ => None,
    };
    match effective {
        None if own.status == "missing" => notes.push(format!(
            "No DMARC record found. Add a TXT record at _dmarc.{domain} such as \
             `v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}` to start receiving reports, \
             then move to p=quarantine or p=reject."
        )),
        None => {}
        Some((policy, d)) => {
            if policy == "none" {
                notes.push(
                    "The policy is p=none: receivers only report and do not act on mail that \
                     fails authentication. Move to quarantine or reject once the reports look \
                     clean."
                        .to_string(),
                );
            }
            if d.pct < 100 {
                notes.push(format!(
                    "pct={} applies the policy to only {}% of the mail that fails.",
                    d.pct, d.pct
                ));
            }
            if d.rua.is_empty() {
                notes.push(
                    "There is no rua= address, so nobody receives the aggregate reports."
                        .to_string(),
                );
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> DmarcRecord {
        read("_dmarc.example.com", &Lookup::Found(vec![text.to_string()]))
    }

    #[test]
    fn real_world_variants() {
        let cases: &[(&str, &str, Option<&str>, Option<u8>)] = &[
            ("v=DMARC1; p=reject", "valid", Some("reject"), Some(100)),
            (
                "v=DMARC1;p=quarantine;pct=100;rua=mailto:d@example.com",
                "valid",
                Some("quarantine"),
                Some(100),
            ),
            (
                "v=DMARC1; p=none; rua=mailto:a@x.com,mailto:b@y.com!10m; fo=1;",
                "valid",
                Some("none"),
                Some(100),
            ),
            (
                "V=DMARC1; P=Reject; PCT=50; ADKIM=S",
                "valid",
                Some("reject"),
                Some(50),
            ),
            (
                "v = DMARC1 ; p = quarantine ; sp = none",
                "valid",
                Some("quarantine"),
                Some(100),
            ),
            (
                "v=DMARC1; p=reject; np=reject; psd=n; t=y",
                "valid",
                Some("reject"),
                Some(100),
            ),
            ("v=DMARC1; p=rejected", "invalid", None, None),
            ("v=DMARC1; rua=mailto:d@example.com", "invalid", None, None),
            ("v=DMARC1; p=reject; pct=150", "invalid", None, None),
            ("v=DMARC1; p=reject; pct=abc", "invalid", None, None),
            ("v=DMARC1; p=reject; p=none", "invalid", None, None),
            ("v=DMARC1; p=reject; adkim=x", "invalid", None, None),
            ("v=DMARC2; p=reject", "invalid", None, None),
            ("p=reject; v=DMARC1", "invalid", None, None),
            ("v=DMARC1 p=reject", "invalid", None, None),
            ("v=DMARC1; p=reject; garbage", "invalid", None, None),
            ("v=DMARC1", "invalid", None, None),
            ("v=DMARC1; p=\u{e9}\u{0}", "invalid", None, None),
        ];
        for (text, status, p, pct) in cases {
            let got = one(text);
            assert_eq!(got.status, *status, "{text}: {:?}", got.problem);
            assert_eq!(got.p.as_deref(), *p, "{text}");
            assert_eq!(got.pct, *pct, "{text}");
            if *status == "invalid" {
                assert!(
                    got.problem.as_deref().is_some_and(|m| m.ends_with('.')),
                    "{text}"
                );
            }
        }
        let v = one("v=DMARC1; p=none; rua=mailto:a@x.com, mailto:b@y.com; aspf=s");
        assert_eq!(v.rua, vec!["mailto:a@x.com", "mailto:b@y.com"]);
        assert_eq!(v.aspf.as_deref(), Some("s"));
        assert_eq!(v.adkim.as_deref(), Some("r"));
    }

    #[test]
    fn picks_the_dmarc_record_among_others() {
        let found = Lookup::Found(vec![
            "some-verification=1".into(),
            "v=DMARC1; p=reject".into(),
        ]);
        assert_eq!(read("_dmarc.x.com", &found).status, "valid");
        let two = Lookup::Found(vec!["v=DMARC1; p=reject".into(), "v=DMARC1; p=none".into()]);
        let got = read("_dmarc.x.com", &two);
        assert_eq!(got.status, "invalid");
        assert!(got.problem.unwrap().contains("more than one"));
        assert_eq!(read("_dmarc.x.com", &Lookup::Missing).status, "missing");
        let junk = Lookup::Found(vec!["hello".into()]);
        assert_eq!(read("_dmarc.x.com", &junk).status, "missing");
        let failed = read("_dmarc.x.com", &Lookup::Failed("timed out".into()));
        assert_eq!(failed.status, "lookup_failed");
    }

    #[test]
    fn explains_weak_policies() {
        let notes = explain("example.com", &one("v=DMARC1; p=none; pct=20"), None);
        assert!(notes.iter().any(|n| n.contains("p=none")));
        assert!(notes.iter().any(|n| n.contains("20%")));
        assert!(notes.iter().any(|n| n.contains("rua=")));
        let missing = read("_dmarc.example.com", &Lookup::Missing);
        assert!(explain("example.com", &missing, None)[0].contains("No DMARC record"));
        let apex = read(
            "_dmarc.example.com",
            &Lookup::Found(vec![
                "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com".into(),
            ]),
        );
        let sub = read("_dmarc.news.example.com", &Lookup::Missing);
        let notes = explain("news.example.com", &sub, Some(&apex));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("sp=quarantine"));
    }
}
