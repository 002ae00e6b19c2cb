//! Compares what DNS holds with the records a domain should publish, tolerating what real
//! DNS does: TXT values split into several strings, trailing dots, any case, SPF records
//! with other mechanisms besides ours, several TXT records at one name.

use std::net::IpAddr;

use super::dns::{Caa, Dns, Lookup, Mx, normalize_host};
use super::records::{Expected, RecordKey};
use super::tags::TagList;

/// The result for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Ok,
    /// Not there, or different from what it should be.
    Wrong,
    /// The look-up failed: nothing is known this time.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub key: RecordKey,
    pub check: Check,
    /// What DNS returned at the record's name, for display.
    pub found: Vec<String>,
    /// Why the record is not verified, in plain words.
    pub message: Option<String>,
}

/// Looks every expected record up and compares it.
pub async fn check_all(dns: &Dns, expected: &[Expected]) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(expected.len());
    for record in expected {
        let outcome = match record.rtype {
            "MX" => compare_mx(record, &dns.mx(&record.fqdn).await),
            "CNAME" => compare_cname(record, &dns.cname(&record.fqdn).await),
            "CAA" => {
                // The CAA record serves the tracking host, listed just before it.
                let host = expected
                    .iter()
                    .find(|r| r.key == RecordKey::Tracking)
                    .map_or(record.fqdn.as_str(), |r| r.fqdn.as_str());
                let (at, lookup) = relevant_caa(dns, host).await;
                compare_caa(record, host, &at, &lookup)
            }
            _ if record.key == RecordKey::Dkim => {
                compare_dkim(record, &dns.txt(&record.fqdn).await)
            }
            _ => compare_spf(record, &dns.txt(&record.fqdn).await),
        };
        outcomes.push(outcome);
    }
    outcomes
}

fn outcome(
    record: &Expected,
    check: Check,
    found: Vec<String>,
    message: Option<String>,
) -> Outcome {
    Outcome {
        key: record.key,
        check,
        found,
        message,
    }
}

/// The outcome when the look-up did not find records to compare.
fn not_found<T>(record: &Expected, lookup: &Lookup<T>) -> Option<Outcome> {
    match lookup {
        Lookup::Found(_) => None,
        Lookup::Missing => Some(outcome(
            record,
            Check::Wrong,
            Vec::new(),
            Some(format!(
                "No {} record found at {}.",
                record.rtype, record.fqdn
            )),
        )),
        Lookup::Failed(err) => Some(outcome(
            record,
            Check::Unknown,
            Vec::new(),
            Some(format!("The DNS look-up of {} failed: {err}.", record.fqdn)),
        )),
    }
}

pub fn compare_mx(record: &Expected, lookup: &Lookup<Mx>) -> Outcome {
    if let Some(done) = not_found(record, lookup) {
        return done;
    }
    let Lookup::Found(found) = lookup else {
        unreachable!()
    };
    let want = normalize_host(&record.value);
    let shown: Vec<String> = found.iter().map(|(p, h)| format!("{p} {h}")).collect();
    if found.iter().any(|(_, host)| *host == want) {
        return outcome(record, Check::Ok, shown, None);
    }
    let hosts: Vec<&str> = found.iter().map(|(_, h)| h.as_str()).collect();
    let message = format!(
        "The MX record at {} points to {}, not {want}.",
        record.fqdn,
        hosts.join(", ")
    );
    outcome(record, Check::Wrong, shown, Some(message))
}

pub fn compare_cname(record: &Expected, lookup: &Lookup<String>) -> Outcome {
    if let Some(done) = not_found(record, lookup) {
        return done;
    }
    let Lookup::Found(found) = lookup else {
        unreachable!()
    };
    let want = normalize_host(&record.value);
    if found.contains(&want) {
        return outcome(record, Check::Ok, found.clone(), None);
    }
    let message = format!(
        "The CNAME record at {} points to {}, not {want}.",
        record.fqdn,
        found.join(", ")
    );
    outcome(record, Check::Wrong, found.clone(), Some(message))
}

/// The CAA set that applies to `host` (RFC 8659): the first non-empty one at the host (its
/// CNAME followed) or one of its parents. Returns where it was found, or the top name with
/// `Missing` when no name has CAA records; a failed look-up stops the climb.
pub async fn relevant_caa(dns: &Dns, host: &str) -> (String, Lookup<Caa>) {
    let mut name = host.trim_end_matches('.');
    loop {
        let lookup = dns.caa(name).await;
        match (&lookup, name.split_once('.')) {
            (Lookup::Missing, Some((_, parent))) if !parent.is_empty() => name = parent,
            _ => return (name.to_string(), lookup),
        }
    }
}

/// The issuer domain of an `issue` value (`letsencrypt.org; accounturi=…`); empty for `;`,
/// which allows no CA.
fn caa_issuer(value: &str) -> String {
    let domain = value.split(';').next().unwrap_or_default();
    normalize_host(domain)
}

/// Whether the CAA set `found` (at `at`) lets `issuer` certify the tracking host, compared
/// the way a CA reads it: `issue` properties decide; a set without any leaves issuance
/// open; an issuer-critical property of a tag a CA does not know forbids it.
pub fn compare_caa(record: &Expected, host: &str, at: &str, lookup: &Lookup<Caa>) -> Outcome {
    let issuer = caa_issuer(
        record
            .value
            .split_once('"')
            .map_or("", |(_, rest)| rest.trim_end_matches('"')),
    );
    let found = match lookup {
        Lookup::Found(found) => found,
        // No CAA record anywhere above the host: every CA may issue.
        Lookup::Missing => return outcome(record, Check::Ok, Vec::new(), None),
        Lookup::Failed(err) => {
            let message = format!("The DNS look-up of CAA records at {at} failed: {err}.");
            return outcome(record, Check::Unknown, Vec::new(), Some(message));
        }
    };
    let shown: Vec<String> = found.iter().map(|c| format!("{at} {c}")).collect();
    let fix = format!(
        "add the CAA record {} at {} so the HTTPS certificate of {host} can be issued.",
        record.value, record.fqdn
    );
    let known = |tag: &str| matches!(tag, "issue" | "issuewild" | "iodef");
    if let Some(unknown) = found.iter().find(|c| c.critical && !known(&c.tag)) {
        let message = format!(
            "The CAA records at {at} hold the critical property `{}`, which forbids every              certificate authority that does not understand it: remove it, or {fix}",
            unknown.tag
        );
        return outcome(record, Check::Wrong, shown, Some(message));
    }
    let issuers: Vec<String> = found
        .iter()
        .filter(|c| c.tag == "issue")
        .map(|c| caa_issuer(&c.value))
        .collect();
    if issuers.is_empty() || issuers.contains(&issuer) {
        return outcome(record, Check::Ok, shown, None);
    }
    let allowed: Vec<&str> = issuers
        .iter()
        .filter(|i| !i.is_empty())
        .map(String::as_str)
        .collect();
    let who = if allowed.is_empty() {
        "no certificate authority".to_string()
    } else {
        format!("only {}", allowed.join(", "))
    };
    let message = format!(
        "The CAA records at {at} allow {who} to issue certificates for {host}, not {issuer}:          {fix}"
    );
    outcome(record, Check::Wrong, shown, Some(message))
}

/// The public key (`p=`) of a DKIM record, without the spaces some DNS interfaces insert.
fn dkim_public_key(value: &str) -> Option<String> {
    let tags = TagList::parse(value).ok()?;
    let key: String = tags.get("p")?.split_whitespace().collect();
    Some(key)
}

pub fn compare_dkim(record: &Expected, lookup: &Lookup<String>) -> Outcome {
    if let Some(done) = not_found(record, lookup) {
        return done;
    }
    let Lookup::Found(found) = lookup else {
        unreachable!()
    };
    let want = dkim_public_key(&record.value).unwrap_or_default();
    let keys: Vec<String> = found.iter().filter_map(|v| dkim_public_key(v)).collect();
    if keys.contains(&want) {
        return outcome(record, Check::Ok, found.clone(), None);
    }
    let message = if keys.is_empty() {
        format!(
            "The TXT record at {} is not a DKIM key (it has no p= tag).",
            record.fqdn
        )
    } else if keys.iter().all(String::is_empty) {
        format!(
            "The DKIM record at {} has an empty p= tag, which means the key is revoked.",
            record.fqdn
        )
    } else {
        format!(
            "The DKIM record at {} holds a different public key: copy the value again.",
            record.fqdn
        )
    };
    outcome(record, Check::Wrong, found.clone(), Some(message))
}

fn is_spf(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower == "v=spf1" || lower.starts_with("v=spf1 ")
}

/// `ip4:`/`ip6:` network in an SPF record, with an optional prefix length.
fn parse_network(value: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match value.split_once('/') {
        Some((addr, len)) => (addr, Some(len.parse::<u8>().ok()?)),
        None => (value, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((addr, len))
}

fn network_contains((net, len): (IpAddr, u8), ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - len as u32).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - len as u32).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// Whether `published` (one term of the published record) grants what `wanted` (one of our
/// mechanisms) grants. Only a pass qualifier (`+` or none) authorises.
fn mechanism_covers(published: &str, wanted: &str) -> bool {
    let published = published.strip_prefix('+').unwrap_or(published);
    let Some((kind, value)) = published.split_once(':') else {
        return false;
    };
    let Some((want_kind, want_value)) = wanted.split_once(':') else {
        return false;
    };
    let kind = kind.to_ascii_lowercase();
    if kind != want_kind {
        return false;
    }
    match kind.as_str() {
        "ip4" | "ip6" => match (parse_network(value), want_value.parse::<IpAddr>()) {
            (Some(net), Ok(ip)) => network_contains(net, ip),
            _ => false,
        },
        _ => normalize_host(value) == normalize_host(want_value),
    }
}

pub fn compare_spf(record: &Expected, lookup: &Lookup<String>) -> Outcome {
    if let Some(done) = not_found(record, lookup) {
        return done;
    }
    let Lookup::Found(found) = lookup else {
        unreachable!()
    };
    let spf: Vec<&String> = found.iter().filter(|v| is_spf(v)).collect();
    let message = match spf.as_slice() {
        [] => format!(
            "No SPF record (a TXT record starting with v=spf1) found at {}.",
            record.fqdn
        ),
        [one] => {
            let terms: Vec<&str> = one.split_whitespace().skip(1).collect();
            let missing: Vec<&str> = record
                .value
                .split_whitespace()
                .skip(1)
                .filter(|m| m.contains(':'))
                .filter(|wanted| !terms.iter().any(|t| mechanism_covers(t, wanted)))
                .collect();
            if missing.is_empty() {
                return outcome(record, Check::Ok, found.clone(), None);
            }
            format!(
                "The SPF record at {} does not include {}.",
                record.fqdn,
                missing.join(" ")
            )
        }
        several => format!(
            "Found {} SPF records at {}; receivers reject SPF when there is more than one, so \
             merge them into one record.",
            several.len(),
            record.fqdn
        ),
    };
    outcome(record, Check::Wrong, found.clone(), Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(key: RecordKey, rtype: &'static str, value: &str) -> Expected {
        Expected {
            key,
            group: "SPF",
            fqdn: "send.example.com".into(),
            name: "send".into(),
            rtype,
            value: value.into(),
            priority: Some(10),
        }
    }

    fn txt(values: &[&str]) -> Lookup<String> {
        Lookup::Found(values.iter().map(|v| v.to_string()).collect())
    }

    #[test]
    fn spf_tolerates_real_world_records() {
        let want = expected(
            RecordKey::SpfTxt,
            "TXT",
            "v=spf1 include:spf.herald.test ip4:203.0.113.7 ~all",
        );
        let ok = [
            "v=spf1 include:spf.herald.test ip4:203.0.113.7 ~all",
            "V=SPF1 +include:SPF.Herald.Test. ip4:203.0.113.0/24 include:_spf.google.com -all",
            "v=spf1 ip4:203.0.113.7/32 mx a include:spf.herald.test ?all",
        ];
        for value in ok {
            let got = compare_spf(&want, &txt(&["google-site-verification=abc", value]));
            assert_eq!(got.check, Check::Ok, "{value}: {:?}", got.message);
        }
        let wrong = [
            vec!["v=spf1 include:spf.herald.test ~all"],
            vec!["v=spf1 -include:spf.herald.test ip4:203.0.113.7 ~all"],
            vec!["v=spf1 include:spf.herald.test ip4:203.0.114.0/24 ~all"],
            vec!["v=spf1include:spf.herald.test ip4:203.0.113.7"],
            vec![
                "v=spf1 include:spf.herald.test ip4:203.0.113.7 ~all",
                "v=spf1 include:other.test ~all",
            ],
        ];
        for values in wrong {
            let got = compare_spf(&want, &txt(&values));
            assert_eq!(got.check, Check::Wrong, "{values:?}");
            assert!(got.message.is_some());
        }
        assert_eq!(compare_spf(&want, &Lookup::Missing).check, Check::Wrong);
        assert_eq!(
            compare_spf(&want, &Lookup::Failed("timeout".into())).check,
            Check::Unknown
        );
    }

    #[test]
    fn dkim_ignores_spacing_and_extra_tags() {
        let want = expected(
            RecordKey::Dkim,
            "TXT",
            "v=DKIM1; k=rsa; p=MIIBIjANBg+abc/def==",
        );
        for value in [
            "v=DKIM1; k=rsa; p=MIIBIjANBg+abc/def==",
            "p=MIIBIjANBg+abc/def==",
            "v=DKIM1;k=rsa;t=s;p=MIIBIjANBg+abc /def==",
        ] {
            assert_eq!(
                compare_dkim(&want, &txt(&[value])).check,
                Check::Ok,
                "{value}"
            );
        }
        let other = compare_dkim(&want, &txt(&["v=DKIM1; p=MIIOTHER"]));
        assert!(other.message.unwrap().contains("different public key"));
        let revoked = compare_dkim(&want, &txt(&["v=DKIM1; p="]));
        assert!(revoked.message.unwrap().contains("revoked"));
        let junk = compare_dkim(&want, &txt(&["hello"]));
        assert!(junk.message.unwrap().contains("not a DKIM key"));
    }

    #[test]
    fn caa_allows_the_configured_authority() {
        let want = Expected {
            key: RecordKey::TrackingCaa,
            group: "TrackingCAA",
            fqdn: "updates.example.com".into(),
            name: "updates".into(),
            rtype: "CAA",
            value: "0 issue \"letsencrypt.org\"".into(),
            priority: None,
        };
        let host = "links.updates.example.com";
        let caa = |critical, tag: &str, value: &str| Caa {
            critical,
            tag: tag.into(),
            value: value.into(),
        };
        let check =
            |found: Vec<Caa>| compare_caa(&want, host, "example.com", &Lookup::Found(found));
        assert_eq!(
            compare_caa(&want, host, "com", &Lookup::Missing).check,
            Check::Ok,
            "no CAA anywhere: any CA may issue"
        );
        for ok in [
            vec![caa(false, "issue", "letsencrypt.org")],
            vec![
                caa(false, "issue", "digicert.com"),
                caa(
                    false,
                    "issue",
                    " LetsEncrypt.org. ; validationmethods=http-01",
                ),
            ],
            vec![
                caa(false, "issuewild", ";"),
                caa(false, "iodef", "mailto:x@example.com"),
            ],
            vec![
                caa(false, "tbs", "x"),
                caa(false, "issue", "letsencrypt.org"),
            ],
        ] {
            let got = check(ok.clone());
            assert_eq!(got.check, Check::Ok, "{ok:?}: {:?}", got.message);
        }
        let other = check(vec![caa(false, "issue", "digicert.com")]);
        assert_eq!(other.check, Check::Wrong);
        let message = other.message.unwrap();
        assert!(message.contains("only digicert.com"), "{message}");
        assert!(message.contains("0 issue \"letsencrypt.org\" at updates.example.com"));
        assert_eq!(other.found, vec!["example.com 0 issue \"digicert.com\""]);
        let none = check(vec![caa(false, "issue", ";")]);
        assert!(none.message.unwrap().contains("no certificate authority"));
        let critical = check(vec![
            caa(false, "issue", "letsencrypt.org"),
            caa(true, "future", "x"),
        ]);
        assert_eq!(critical.check, Check::Wrong);
        assert!(critical.message.unwrap().contains("`future`"));
        assert_eq!(
            compare_caa(
                &want,
                host,
                "example.com",
                &Lookup::Failed("timeout".into())
            )
            .check,
            Check::Unknown
        );
    }

    #[test]
    fn mx_and_cname_ignore_case_and_dots() {
        let want = expected(RecordKey::SpfMx, "MX", "feedback.herald.test");
        let found = Lookup::Found(vec![
            (20, "backup.example.com".to_string()),
            (10, "feedback.herald.test".to_string()),
        ]);
        assert_eq!(compare_mx(&want, &found).check, Check::Ok);
        let other = Lookup::Found(vec![(10, "mx.example.com".to_string())]);
        assert!(
            compare_mx(&want, &other)
                .message
                .unwrap()
                .contains("mx.example.com")
        );
        let want = expected(RecordKey::Tracking, "CNAME", "Track.Herald.Test.");
        let found = Lookup::Found(vec!["track.herald.test".to_string()]);
        assert_eq!(compare_cname(&want, &found).check, Check::Ok);
    }
}
