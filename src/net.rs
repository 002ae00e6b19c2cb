//! Outbound HTTP (remote attachments, webhooks) with a guard against server-side request
//! forgery: unless `allow_private_urls` is set, names that resolve to loopback, private,
//! link-local or other non-public addresses are refused, and redirects are not followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::Settings;

/// True for addresses a user-supplied URL must not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            // Teredo (2001::/32) carries its client's address inverted in the last 32 bits.
            if s[0] == 0x2001 && s[1] == 0 {
                let client = std::net::Ipv4Addr::from(!((u32::from(s[6]) << 16) | u32::from(s[7])));
                return is_private(IpAddr::V4(client));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 (RFC 8215)
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
        }
    }
}

/// The IPv4 address an IPv6 address stands for, in every form that embeds one: mapped
/// (`::ffff:0:0/96`), translated (`::ffff:0:0:0/96`), the deprecated compatible form
/// (`::/96`, e.g. `::127.0.0.1`; `::` and `::1` excluded), NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002::/16`). Such addresses are judged by the IPv4 address they reach.
pub fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let last = |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(last(hi, lo)),
        [0, 0, 0, 0, 0, 0, hi, lo] if !(hi == 0 && lo <= 1) => Some(last(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(last(hi, lo)),
        [0x2002, hi, lo, ..] => Some(last(hi, lo)),
        _ => None,
    }
}

/// A host name as it is compared: lower case, without the trailing dot of a fully
/// qualified name (`localhost.` is `localhost`).
pub fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Names that always mean this machine (RFC 6761).
pub fn is_local_name(host: &str) -> bool {
    let host = normalize_host(host);
    host == "localhost" || host.ends_with(".localhost")
}

struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(
                    format!("{host} resolves only to private or loopback addresses").into(),
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

pub fn outbound_client(settings: &Settings) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private_urls {
        builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
    }
    Ok(builder.build()?)
}

/// Refuses URLs whose host is a literal private address (the resolver only sees names).
pub fn check_url(settings: &Settings, url: &url::Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("only http and https URLs are allowed".into());
    }
    if settings.allow_private_urls {
        return Ok(());
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) if is_local_name(d) => {
            return Err("the URL points at a private or loopback address".into());
        }
        _ => None,
    };
    match literal {
        Some(ip) if is_private(ip) => Err("the URL points at a private or loopback address".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            // IPv4 embedded in IPv6: judged by the IPv4 address.
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "ff02::1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn literal_hosts() {
        let s = Settings::default();
        assert!(check_url(&s, &"http://127.0.0.1/x".parse().unwrap()).is_err());
        assert!(check_url(&s, &"http://localhost/x".parse().unwrap()).is_err());
        for url in [
            "http://localhost./x",
            "http://LOCALHOST../x",
            "http://api.localhost/x",
            "http://[::127.0.0.1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://[64:ff9b::7f00:1]/x",
            "http://[2002:7f00:1::]/x",
        ] {
            assert!(check_url(&s, &url.parse().unwrap()).is_err(), "{url}");
        }
        assert!(check_url(&s, &"ftp://example.com/x".parse().unwrap()).is_err());
        assert!(check_url(&s, &"https://example.com/x".parse().unwrap()).is_ok());
    }
}
