//! What the Domains pages print: domains, records and the DMARC/BIMI report turned into
//! labels, colours and sentences. Presentation only: every decision (statuses, what a DNS
//! record must hold, what DMARC and BIMI need) comes from `crate::domains`.

use std::net::IpAddr;

use super::format;
use crate::clock::Millis;
use crate::config::Settings;
use crate::domains::bimi::BimiReport;
use crate::domains::dmarc::DmarcRecord;
use crate::domains::report::AuthReport;
use crate::domains::{Domain, RecordState, status};

/// The regions a domain can send from, with the names people know them by.
pub const REGIONS: [(&str, &str); 4] = [
    ("us-east-1", "North Virginia"),
    ("eu-west-1", "Ireland"),
    ("sa-east-1", "São Paulo"),
    ("ap-northeast-1", "Tokyo"),
];

pub fn region_label(region: &str) -> &'static str {
    REGIONS
        .iter()
        .find(|(code, _)| *code == region)
        .map_or("Unknown region", |(_, label)| label)
}

/// A domain or record status as a badge: the CSS modifier and the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Badge {
    pub css: &'static str,
    pub label: &'static str,
}

impl Badge {
    pub fn of(status: &str) -> Self {
        let (css, label) = match status {
            status::NOT_STARTED => ("not-started", "Not started"),
            status::PENDING => ("pending", "Pending"),
            status::VERIFIED => ("verified", "Verified"),
            status::FAILED => ("failed", "Failed"),
            status::TEMPORARY_FAILURE => ("temporary-failure", "Temporary failure"),
            _ => ("not-started", "Unknown"),
        };
        Self { css, label }
    }
}

/// What a domain's status means for its owner, in one sentence.
pub fn status_help(status: &str) -> &'static str {
    match status {
        status::PENDING => {
            "Herald is looking for your DNS records and keeps checking every few minutes for \
             up to 72 hours. New records can take a while to show up in DNS."
        }
        status::VERIFIED => "SPF and DKIM are in place: you can send email from this domain.",
        status::FAILED => {
            "Herald could not find the records within 72 hours. Check them at your DNS \
             provider, then press Verify DNS records to try again."
        }
        status::TEMPORARY_FAILURE => {
            "Some records of this verified domain have disappeared from DNS. Herald keeps \
             checking; publish them again within 72 hours or the domain fails."
        }
        _ => {
            "Publish the records below at your DNS provider, then press Verify DNS records. \
             Herald checks them for you."
        }
    }
}

/// Whether a host or address can never be reached from the internet: loopback, `localhost`,
/// unspecified, or a private/link-local address.
fn unreachable(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            v4.is_loopback() || v4.is_unspecified() || v4.is_private() || v4.is_link_local()
        }
        Ok(IpAddr::V6(v6)) => v6.is_loopback() || v6.is_unspecified(),
        Err(_) => false,
    }
}

/// What is wrong with this installation's `[domains]` settings for the records users publish:
/// loud warnings for the Domains pages while `mail_host` or `sending_ips` are unset, an IP
/// address, or loopback. Empty when both are set to usable values.
pub fn setup_warnings(settings: &Settings) -> Vec<String> {
    let mut warnings = Vec::new();
    let configured = settings.domains.mail_host.trim();
    let host = settings.mail_host();
    if configured.is_empty() {
        warnings.push(format!(
            "The mail host is not configured (domains.mail_host), so Herald falls back to \
             this server's own address, {host}, and the MX records below have no host name to \
             point at. Ask whoever runs Herald to set domains.mail_host to the public host \
             name of this server before you publish them."
        ));
    } else if host.parse::<IpAddr>().is_ok() {
        warnings.push(format!(
            "The mail host (domains.mail_host) is the IP address {host}: an MX record must name \
             a host, not an address. Ask whoever runs Herald to set it to a host name."
        ));
    }
    if unreachable(&host) {
        warnings.push(format!(
            "The mail host {host} cannot be reached from the internet: bounces and complaints \
             sent to it would be lost."
        ));
    }
    let ips = &settings.domains.sending_ips;
    let include = settings.domains.spf_include.trim();
    if ips.is_empty() && include.is_empty() {
        warnings.push(
            "The sending addresses are not configured (domains.sending_ips), so the SPF \
             record below only allows the mail host's own address. Ask whoever runs Herald to \
             list the public IP addresses it sends from."
                .to_string(),
        );
    }
    let local: Vec<&str> = ips
        .iter()
        .map(String::as_str)
        .filter(|ip| unreachable(ip))
        .collect();
    if !local.is_empty() || (ips.is_empty() && include.is_empty() && unreachable(&host)) {
        let shown = if local.is_empty() {
            host.clone()
        } else {
            local.join(", ")
        };
        warnings.push(format!(
            "The SPF record allows {shown}, an address receivers never see mail come from: \
             mail from this domain would fail SPF."
        ));
    }
    warnings
}

/// One line of the Domains table (also the facts of the delete page).
pub struct DomainRow {
    pub id: String,
    pub name: String,
    pub badge: Badge,
    pub region: String,
    pub region_label: &'static str,
    pub created_date: String,
    pub created_exact: String,
}

impl DomainRow {
    pub fn new(domain: &Domain) -> Self {
        Self {
            id: domain.id.clone(),
            name: domain.name.clone(),
            badge: Badge::of(&domain.status),
            region: domain.region.clone(),
            region_label: region_label(&domain.region),
            created_date: format::date(domain.created_at),
            created_exact: format::exact(domain.created_at),
        }
    }
}

/// What a group of records is for, in one sentence.
fn group_help(group: &str) -> &'static str {
    match group {
        "SPF" => {
            "Lets receivers check that Herald may send for this domain, and brings bounces back."
        }
        "DKIM" => "The public key receivers use to check Herald's signature on your mail.",
        "Tracking" => "Points your tracking subdomain at Herald for open and click tracking.",
        "TrackingCAA" => {
            "Lets Herald's certificate authority issue the tracking subdomain's HTTPS \
             certificate. Needed only when your domain already has CAA records."
        }
        "Receiving" => "Delivers mail sent to this domain to Herald.",
        _ => "",
    }
}

/// One DNS record to publish, ready to print.
pub struct RecordRow {
    /// Unique on the page: the copy buttons point at `value-<key>`.
    pub key: &'static str,
    pub group: &'static str,
    /// Set on the first record of its group, which carries the group's heading.
    pub group_help: Option<&'static str>,
    pub rtype: &'static str,
    pub name: String,
    pub fqdn: String,
    pub value: String,
    /// Empty when the type has none.
    pub priority: String,
    pub badge: Badge,
    /// Why it does not verify yet, in plain words.
    pub message: Option<String>,
}

impl RecordRow {
    /// The rows of `records`, in order, each group with its heading.
    pub fn all(records: &[RecordState]) -> Vec<Self> {
        let mut rows: Vec<Self> = Vec::with_capacity(records.len());
        for record in records {
            let first = rows.last().is_none_or(|r| r.group != record.expected.group);
            let mut row = Self::new(record);
            if first {
                row.group_help = Some(group_help(row.group));
            }
            rows.push(row);
        }
        rows
    }

    fn new(record: &RecordState) -> Self {
        let expected = &record.expected;
        // An MX record names a host: while there is none, no value is shown, only why.
        let (value, message) = match crate::domains::records::warning(expected) {
            Some(warning) => (String::new(), Some(warning.to_string())),
            None => (expected.value.clone(), record.message.clone()),
        };
        Self {
            key: expected.key.as_str(),
            group: expected.group,
            group_help: None,
            rtype: expected.rtype,
            name: expected.name.clone(),
            fqdn: expected.fqdn.clone(),
            value,
            priority: expected.priority.map(|p| p.to_string()).unwrap_or_default(),
            badge: Badge::of(&record.status),
            message,
        }
    }
}

/// One half of the DMARC/BIMI panel.
pub struct AuthSection {
    /// `good`, `warn` or `bad`: the colour of the summary.
    pub tone: &'static str,
    /// A word or two: "Good", "Needs work", "Missing"…
    pub summary: &'static str,
    /// The record as published, if one was found.
    pub record: Option<String>,
    /// The record's tags, as label and value.
    pub facts: Vec<(&'static str, String)>,
    /// What is in place.
    pub ok: Vec<String>,
    /// The report's messages: what to fix (or, when all is well, notes).
    pub fix: Vec<String>,
    pub fix_title: &'static str,
}

pub struct AuthPanel {
    pub checked: String,
    pub checked_exact: String,
    pub dmarc: AuthSection,
    pub bimi: AuthSection,
}

impl AuthPanel {
    pub fn new(report: AuthReport, checked_at: Option<Millis>, now: Millis) -> Self {
        let checked_at = checked_at.unwrap_or(now);
        let dmarc = report.dmarc;
        Self {
            checked: format::relative(now, checked_at),
            checked_exact: format::exact(checked_at),
            dmarc: dmarc_section(&dmarc.record, dmarc.apex.as_ref(), dmarc.messages),
            bimi: bimi_section(report.bimi),
        }
    }
}

/// The summary of a record that is not valid.
fn absent(status: &str) -> &'static str {
    match status {
        "missing" => "Missing",
        "lookup_failed" => "Look-up failed",
        _ => "Invalid",
    }
}

fn dmarc_facts(record: &DmarcRecord) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    let mut add = |label, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            facts.push((label, v));
        }
    };
    add("Policy (p)", record.p.clone());
    add("Subdomain policy (sp)", record.sp.clone());
    add(
        "Applied to (pct)",
        record.pct.map(|p| format!("{p}% of failing mail")),
    );
    add("Aggregate reports (rua)", Some(record.rua.join(", ")));
    add(
        "DKIM alignment (adkim)",
        record.adkim.as_deref().map(alignment),
    );
    add(
        "SPF alignment (aspf)",
        record.aspf.as_deref().map(alignment),
    );
    facts
}

fn alignment(mode: &str) -> String {
    match mode {
        "s" => "strict".to_string(),
        _ => "relaxed".to_string(),
    }
}

fn dmarc_section(
    own: &DmarcRecord,
    apex: Option<&DmarcRecord>,
    messages: Vec<String>,
) -> AuthSection {
    let parsed = own.parsed();
    let mut ok = Vec::new();
    if let Some(d) = &parsed {
        ok.push(format!(
            "A valid DMARC record is published at {}.",
            own.name
        ));
        if d.enforces() {
            ok.push(format!(
                "Receivers {} mail that fails authentication (p={}).",
                if d.p == "reject" {
                    "reject"
                } else {
                    "quarantine"
                },
                d.p
            ));
        }
        if d.pct == 100 {
            ok.push("The policy covers all mail (pct=100).".to_string());
        }
        if !d.rua.is_empty() {
            ok.push(format!("Aggregate reports go to {}.", d.rua.join(", ")));
        }
    }
    if let Some(apex) = apex
        && let Some(a) = apex.parsed()
    {
        ok.push(format!(
            "The root domain publishes a valid DMARC record at {} (p={}{}).",
            apex.name,
            a.p,
            a.sp.as_deref()
                .map(|sp| format!(", sp={sp}"))
                .unwrap_or_default()
        ));
    }
    let (tone, summary) = match (&parsed, messages.is_empty()) {
        (Some(_), true) => ("good", "Good"),
        (Some(_), false) => ("warn", "Needs work"),
        (None, _) => ("bad", absent(&own.status)),
    };
    AuthSection {
        tone,
        summary,
        record: own.record.clone(),
        facts: dmarc_facts(own),
        ok,
        fix: messages,
        fix_title: "What to fix",
    }
}

fn bimi_section(report: BimiReport) -> AuthSection {
    let mut facts = Vec::new();
    for (label, value) in [
        ("Logo (l)", &report.l),
        ("Certificate (a)", &report.a),
        ("Selector (s)", &report.s),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            facts.push((label, v.clone()));
        }
    }
    if let Some(logo) = &report.logo {
        let state = match logo.status.as_str() {
            "valid" => "Checked: an SVG Tiny PS document",
            "invalid" => "Checked: not usable as a BIMI logo",
            _ => "Could not be fetched",
        };
        facts.push(("Logo file", state.to_string()));
    }
    let mut ok = Vec::new();
    if report.status == "valid" {
        ok.push(format!("A BIMI record is published at {}.", report.name));
    }
    if report.ready {
        ok.push(
            "Your DMARC policy and BIMI record meet what BIMI asks for: mailbox providers \
             that support it can show your logo."
                .to_string(),
        );
    }
    let (tone, summary, fix_title) = if report.ready {
        ("good", "Ready", "Notes")
    } else if report.status == "valid" {
        ("warn", "Not ready", "What to fix")
    } else {
        ("bad", absent(&report.status), "What to fix")
    };
    AuthSection {
        tone,
        summary,
        record: report.record,
        facts,
        ok,
        fix: report.messages,
        fix_title,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_badge() {
        let all = [
            status::NOT_STARTED,
            status::PENDING,
            status::VERIFIED,
            status::FAILED,
            status::TEMPORARY_FAILURE,
        ];
        let mut css: Vec<&str> = all.iter().map(|s| Badge::of(s).css).collect();
        css.dedup();
        assert_eq!(css.len(), all.len());
        assert_eq!(Badge::of("temporary_failure").label, "Temporary failure");
    }

    #[test]
    fn regions_have_names() {
        assert_eq!(REGIONS.map(|(code, _)| code), crate::REGIONS[..]);
        assert_eq!(region_label("eu-west-1"), "Ireland");
        assert_eq!(region_label("mars-1"), "Unknown region");
    }

    #[test]
    fn unset_or_loopback_mail_settings_warn() {
        let mut settings = Settings {
            public_url: "http://127.0.0.1:8080".into(),
            ..Settings::default()
        };
        let warnings = setup_warnings(&settings);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("not configured (domains.mail_host)"))
        );
        assert!(warnings.iter().any(|w| w.contains("cannot be reached")));
        assert!(warnings.iter().any(|w| w.contains("domains.sending_ips")));
        assert!(warnings.iter().any(|w| w.contains("fail SPF")));

        settings.domains.mail_host = "198.51.100.4".into();
        settings.domains.sending_ips = vec!["127.0.0.1".into()];
        let warnings = setup_warnings(&settings);
        assert!(warnings.iter().any(|w| w.contains("must name a host")));
        assert!(warnings.iter().any(|w| w.contains("allows 127.0.0.1")));

        settings.domains.mail_host = "mx.herald.example".into();
        settings.domains.sending_ips = vec!["203.0.113.7".into()];
        assert!(setup_warnings(&settings).is_empty());
    }
}
