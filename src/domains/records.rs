//! The DNS records a domain's owner publishes. They are computed from the domain and this
//! installation's settings (mail host, sending IPs, tracking host) every time, so a change
//! of configuration shows up in every domain's records at once.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Domain, RecordState};
use crate::config::Settings;

/// Which record: the key its status is stored under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKey {
    /// MX on the return-path subdomain: bounces and complaints come back to Herald.
    SpfMx,
    /// `v=spf1 …` on the return-path subdomain: Herald may send for it.
    SpfTxt,
    /// The DKIM public key at `<selector>._domainkey.<domain>`.
    Dkim,
    /// CNAME of the tracking subdomain.
    Tracking,
    /// CAA on the sending domain allowing the tracking host's certificate authority.
    TrackingCaa,
    /// MX of the domain itself, when receiving is enabled.
    Receiving,
}

impl RecordKey {
    pub const ALL: [RecordKey; 6] = [
        RecordKey::SpfMx,
        RecordKey::SpfTxt,
        RecordKey::Dkim,
        RecordKey::Tracking,
        RecordKey::TrackingCaa,
        RecordKey::Receiving,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKey::SpfMx => "spf_mx",
            RecordKey::SpfTxt => "spf_txt",
            RecordKey::Dkim => "dkim",
            RecordKey::Tracking => "tracking",
            RecordKey::TrackingCaa => "tracking_caa",
            RecordKey::Receiving => "receiving",
        }
    }

    pub fn parse(value: &str) -> Option<RecordKey> {
        RecordKey::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Whether the record decides the domain's status: SPF and DKIM for a sending domain,
    /// the receiving MX for a receive-only one. The others only have their own status.
    pub fn required(self, sending: bool) -> bool {
        match self {
            RecordKey::SpfMx | RecordKey::SpfTxt | RecordKey::Dkim => sending,
            RecordKey::Receiving => !sending,
            RecordKey::Tracking | RecordKey::TrackingCaa => false,
        }
    }
}

/// One record to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub key: RecordKey,
    /// Resend's record group: `SPF`, `DKIM`, `Tracking`, `TrackingCAA` or `Receiving`.
    pub group: &'static str,
    /// Full name, e.g. `send.updates.example.com`.
    pub fqdn: String,
    /// Name relative to the DNS zone (the registrable domain), as DNS providers ask for it:
    /// `send.updates` for `updates.example.com`, `@` for the zone itself.
    pub name: String,
    pub rtype: &'static str,
    pub value: String,
    pub priority: Option<u16>,
}

pub const MX_PRIORITY: u16 = 10;

/// What MX records name while this installation has no host name they could point at (the
/// mail host is unset and falls back to an IP address, or is an address or `localhost`): a
/// name under `.invalid` (RFC 2606), which can never resolve, so nobody publishes an
/// address as an MX target, and a record that says what to fix.
pub const MX_PLACEHOLDER: &str = "mail-host-not-configured.invalid";

/// Why a record cannot work as shown, in plain words; `None` for a usable record.
pub fn warning(record: &Expected) -> Option<&'static str> {
    (record.rtype == "MX" && record.value == MX_PLACEHOLDER).then_some(
        "No host name to publish yet: Herald's mail host (domains.mail_host) is unset, an IP \
         address or a loopback name, which cannot be an MX target. Ask whoever runs Herald to \
         set domains.mail_host to this server's public host name.",
    )
}

/// A DNS record to publish, with its verification status: the one body of a record, in
/// the API's domain and in the `domain.*` webhook events (`domains::events`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainRecord {
    /// `SPF`, `DKIM`, `Tracking`, `TrackingCAA` or `Receiving` (`Receiving MX` in webhook
    /// events, as Resend names it there).
    record: &'static str,
    /// Name relative to the DNS zone, e.g. `send` or `herald._domainkey`.
    name: String,
    #[serde(rename = "type")]
    rtype: &'static str,
    ttl: &'static str,
    /// `not_started`, `pending`, `verified`, `failed` or `temporary_failure`.
    status: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u16>,
    /// Herald extension, present only when the record cannot work as shown: an MX record
    /// while this installation has no mail host name (its `value` is then a placeholder
    /// under `.invalid`, never an IP address).
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<&'static str>,
}

impl DomainRecord {
    pub fn new(r: &RecordState) -> Self {
        let e = &r.expected;
        Self {
            warning: warning(e),
            record: e.group,
            name: e.name.clone(),
            rtype: e.rtype,
            ttl: "Auto",
            status: r.status.clone(),
            value: e.value.clone(),
            priority: e.priority,
        }
    }

    /// The record as webhook events show it: they name the receiving record `Receiving MX`
    /// where the API says `Receiving`.
    pub fn in_webhook(mut self) -> Self {
        if self.record == "Receiving" {
            self.record = "Receiving MX";
        }
        self
    }
}

/// The host the MX records name: the mail host, or [`MX_PLACEHOLDER`].
fn mx_value(settings: &Settings) -> String {
    settings
        .mx_host()
        .unwrap_or_else(|| MX_PLACEHOLDER.to_string())
}

/// The registrable domain (`example.com` for `a.b.example.com`): where the zone usually is.
pub fn zone_of(domain: &str) -> &str {
    psl::domain_str(domain).unwrap_or(domain)
}

fn relative_name(fqdn: &str, zone: &str) -> String {
    if fqdn == zone {
        return "@".to_string();
    }
    fqdn.strip_suffix(zone)
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap_or(fqdn)
        .to_string()
}

/// The SPF record: `v=spf1`, the operator's include and addresses, then `~all`.
pub fn spf_value(settings: &Settings) -> String {
    let mut parts = vec!["v=spf1".to_string()];
    let include = settings.domains.spf_include.trim().trim_end_matches('.');
    if !include.is_empty() {
        parts.push(format!("include:{}", include.to_ascii_lowercase()));
    }
    let ip_term = |ip: &str| match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => Some(format!("ip4:{v4}")),
        Ok(std::net::IpAddr::V6(v6)) => Some(format!("ip6:{v6}")),
        Err(_) => None,
    };
    parts.extend(
        settings
            .domains
            .sending_ips
            .iter()
            .filter_map(|ip| ip_term(ip)),
    );
    if parts.len() == 1 {
        // Nothing configured: the mail host's own addresses.
        let host = settings.mail_host();
        parts.push(ip_term(&host).unwrap_or(format!("a:{host}")));
    }
    parts.push("~all".to_string());
    parts.join(" ")
}

/// The DKIM record value for a base64 SubjectPublicKeyInfo.
pub fn dkim_value(public_key: &str) -> String {
    format!("v=DKIM1; k=rsa; p={public_key}")
}

pub fn return_path_host(domain: &Domain) -> String {
    format!("{}.{}", domain.custom_return_path, domain.name)
}

pub fn dkim_host(domain: &Domain) -> String {
    format!("{}._domainkey.{}", domain.dkim_selector, domain.name)
}

/// The CAA record value allowing `issuer` to issue certificates.
pub fn caa_value(issuer: &str) -> String {
    format!("0 issue \"{issuer}\"")
}

pub fn tracking_host(domain: &Domain) -> Option<String> {
    let sub = domain.tracking_subdomain.as_deref()?;
    Some(format!("{sub}.{}", domain.name))
}

/// Every record the domain needs, in the order they are shown.
pub fn expected(settings: &Settings, domain: &Domain) -> Vec<Expected> {
    let zone = zone_of(&domain.name);
    let record = |key, group, fqdn: String, rtype, value: String, priority| Expected {
        key,
        group,
        name: relative_name(&fqdn, zone),
        fqdn,
        rtype,
        value,
        priority,
    };
    let return_path = return_path_host(domain);
    let mut records = vec![
        record(
            RecordKey::SpfMx,
            "SPF",
            return_path.clone(),
            "MX",
            mx_value(settings),
            Some(MX_PRIORITY),
        ),
        record(
            RecordKey::SpfTxt,
            "SPF",
            return_path,
            "TXT",
            spf_value(settings),
            None,
        ),
        record(
            RecordKey::Dkim,
            "DKIM",
            dkim_host(domain),
            "TXT",
            dkim_value(&domain.dkim_public_key),
            None,
        ),
    ];
    if let Some(host) = tracking_host(domain) {
        records.push(record(
            RecordKey::Tracking,
            "Tracking",
            host,
            "CNAME",
            settings.tracking_host(),
            None,
        ));
        // The tracking host needs an HTTPS certificate from the operator's CA. CAA records
        // cannot sit beside the CNAME, so this one goes on the sending domain: the first
        // parent a CA looks at (RFC 8659), and narrower than the zone apex.
        if let Some(issuer) = settings.tracking_caa_issuer() {
            records.push(record(
                RecordKey::TrackingCaa,
                "TrackingCAA",
                domain.name.clone(),
                "CAA",
                caa_value(&issuer),
                None,
            ));
        }
    }
    if domain.receiving == "enabled" {
        records.push(record(
            RecordKey::Receiving,
            "Receiving",
            domain.name.clone(),
            "MX",
            mx_value(settings),
            Some(MX_PRIORITY),
        ));
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_to_the_zone() {
        assert_eq!(zone_of("updates.example.com"), "example.com");
        assert_eq!(zone_of("example.co.uk"), "example.co.uk");
        assert_eq!(zone_of("mail.example.co.uk"), "example.co.uk");
        assert_eq!(
            relative_name("send.updates.example.com", "example.com"),
            "send.updates"
        );
        assert_eq!(relative_name("example.com", "example.com"), "@");
    }

    #[test]
    fn mx_records_never_name_an_address_or_loopback() {
        let mut settings = Settings::default();
        for host in [
            "",
            "198.51.100.4",
            "[2001:db8::1]",
            "localhost",
            "mx.localhost.",
        ] {
            settings.domains.mail_host = host.into();
            assert_eq!(mx_value(&settings), MX_PLACEHOLDER, "{host:?}");
        }
        settings.domains.mail_host = "MX.Herald.test.".into();
        assert_eq!(mx_value(&settings), "mx.herald.test");
    }

    #[test]
    fn spf_lists_the_configured_senders() {
        let mut settings = Settings::default();
        settings.domains.mail_host = "mx.herald.test".into();
        assert_eq!(spf_value(&settings), "v=spf1 a:mx.herald.test ~all");
        settings.domains.mail_host = "198.51.100.4".into();
        assert_eq!(spf_value(&settings), "v=spf1 ip4:198.51.100.4 ~all");
        settings.domains.spf_include = "spf.herald.test.".into();
        settings.domains.sending_ips = vec!["203.0.113.7".into(), "2001:db8::7".into()];
        assert_eq!(
            spf_value(&settings),
            "v=spf1 include:spf.herald.test ip4:203.0.113.7 ip6:2001:db8::7 ~all"
        );
    }
}
