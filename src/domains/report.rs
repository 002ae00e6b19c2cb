//! The DMARC and BIMI report of a domain, refreshed by every verification run and shown on
//! the domain resource (`dmarc`, `bimi`) and in the dashboard.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bimi::{self, BimiReport};
use super::bimi_logo;
use super::dmarc::{self, DmarcRecord};
use super::dns::Dns;
use super::records::zone_of;
use crate::clock::{Millis, resend_timestamp};
use crate::config::Settings;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DmarcReport {
    /// The domain's own record at `_dmarc.<domain>`.
    #[serde(flatten)]
    pub record: DmarcRecord,
    /// For a subdomain: the record of its root domain, whose policy matters too.
    pub apex: Option<DmarcRecord>,
    /// The set-up explained in plain words.
    pub messages: Vec<String>,
    /// When DNS was read.
    pub checked_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthReport {
    pub dmarc: DmarcReport,
    pub bimi: BimiReport,
}

/// Reads `_dmarc` (of the domain, and of its root domain for a subdomain) and `default._bimi`;
/// with `logo_client`, fetches the BIMI logo and checks the file too.
pub async fn check(
    dns: &Dns,
    logo_client: Option<(&Settings, &reqwest::Client)>,
    domain: &str,
    now: Millis,
) -> AuthReport {
    let own_name = format!("_dmarc.{domain}");
    let own = dmarc::read(&own_name, &dns.txt(&own_name).await);
    let root = zone_of(domain);
    let apex: Option<DmarcRecord> = if root != domain {
        let name = format!("_dmarc.{root}");
        Some(dmarc::read(&name, &dns.txt(&name).await))
    } else {
        None
    };
    let bimi_name = format!("default._bimi.{domain}");
    let mut bimi = bimi::assess(&bimi_name, &dns.txt(&bimi_name).await, &own, apex.as_ref());
    bimi.checked_at = resend_timestamp(now);
    if let (Some((settings, client)), Some(url)) = (logo_client, bimi.fetchable_logo()) {
        let logo = bimi_logo::check(settings, client, url).await;
        bimi.add_logo(logo);
    }
    AuthReport {
        dmarc: DmarcReport {
            messages: dmarc::explain(domain, &own, apex.as_ref()),
            record: own,
            apex,
            checked_at: resend_timestamp(now),
        },
        bimi,
    }
}
