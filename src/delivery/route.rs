//! Where mail for a domain goes (RFC 5321 section 5): its MX hosts by preference, or the
//! domain itself when it has no MX records (its A/AAAA addresses). A "null MX" (one MX
//! record whose host is `.`, RFC 7505) means the domain accepts no mail: a permanent
//! failure, no retry.

use std::net::IpAddr;

use crate::domains::dns::{Dns, Lookup};

/// A host to try, with its addresses (IPv4 first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub addrs: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Hosts in the order to try them.
    Hosts(Vec<Host>),
    /// The domain publishes a null MX: it accepts no mail.
    NullMx,
    /// The domain has neither MX nor address records.
    NoSuchDomain,
    /// DNS could not answer (try again later).
    TempFail(String),
}

/// Looks up the mail hosts of `domain`.
pub async fn lookup(dns: &Dns, domain: &str) -> Route {
    match dns.mx(domain).await {
        Lookup::Found(mut mx) => {
            if mx.iter().any(|(_, host)| host.is_empty()) {
                return Route::NullMx;
            }
            // Lowest preference first; equal ones in name order (stable, predictable).
            mx.sort();
            mx.dedup_by(|a, b| a.1 == b.1);
            let mut hosts = Vec::with_capacity(mx.len());
            let mut failure = None;
            for (_, name) in mx {
                match dns.ips(&name).await {
                    Lookup::Found(addrs) => hosts.push(Host { name, addrs }),
                    Lookup::Missing => {}
                    Lookup::Failed(err) => failure = Some(err),
                }
            }
            if hosts.is_empty() {
                // MX hosts without addresses: maybe a DNS hiccup, maybe a broken setup;
                // either way retrying is the right thing (until delivery gives up).
                let why =
                    failure.unwrap_or_else(|| "no MX host of the domain has an address".into());
                return Route::TempFail(why);
            }
            Route::Hosts(hosts)
        }
        Lookup::Missing => match dns.ips(domain).await {
            // The implicit MX: the domain's own address.
            Lookup::Found(addrs) => Route::Hosts(vec![Host {
                name: domain.to_string(),
                addrs,
            }]),
            Lookup::Missing => Route::NoSuchDomain,
            Lookup::Failed(err) => Route::TempFail(err),
        },
        Lookup::Failed(err) => Route::TempFail(err),
    }
}
