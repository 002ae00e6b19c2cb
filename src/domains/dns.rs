//! DNS look-ups for domain verification, through one hickory resolver built from the settings:
//! the system's resolvers, or the `dns_server` of the configuration (tests, private networks).
//! Answers come back normalised (TXT strings joined, names lower-case without the final dot)
//! and sorted into found / not there / look-up failed, which verification treats differently.

use std::net::SocketAddr;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};

use crate::config::Settings;

/// What DNS said about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(Vec<T>),
    /// NXDOMAIN, or the name has no record of this type.
    Missing,
    /// The resolver could not get an answer (timeout, SERVFAIL…): nothing is known.
    Failed(String),
}

/// A mail exchanger: preference and host.
pub type Mx = (u16, String);

/// One CAA property (RFC 8659): `flags tag "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caa {
    /// The issuer-critical flag: a CA that does not know the tag must not issue.
    pub critical: bool,
    /// Lower-case: `issue`, `issuewild`, `iodef`…
    pub tag: String,
    pub value: String,
}

impl std::fmt::Display for Caa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flags = if self.critical { 128 } else { 0 };
        write!(f, "{flags} {} \"{}\"", self.tag, self.value)
    }
}

pub struct Dns(TokioResolver);

impl Dns {
    /// A resolver with an empty cache, so every verification run sees current DNS.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Dns> {
        Self::build(settings, 0)
    }

    /// A resolver that keeps answers for their TTL (delivery looks up the same MX hosts
    /// over and over).
    pub fn cached_from_settings(settings: &Settings) -> anyhow::Result<Dns> {
        Self::build(settings, 4096)
    }

    fn build(settings: &Settings, cache_size: u64) -> anyhow::Result<Dns> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if settings.dns_server.is_empty() {
            TokioResolver::builder(provider)?
        } else {
            let addr: SocketAddr = settings.dns_server.parse()?;
            let mut server = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut server.connections {
                connection.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                provider,
            )
            .with_options(ResolverOpts::default())
        };
        builder.options_mut().cache_size = cache_size;
        Ok(Dns(builder.build()?))
    }

    async fn lookup(&self, name: &str, kind: RecordType) -> Lookup<RData> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.0.lookup(fqdn.as_str(), kind).await {
            Ok(answer) => {
                let found: Vec<RData> = answer
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == kind)
                    .map(|r| r.data.clone())
                    .collect();
                if found.is_empty() {
                    Lookup::Missing
                } else {
                    Lookup::Found(found)
                }
            }
            Err(err) if is_missing(&err) => Lookup::Missing,
            Err(err) => Lookup::Failed(err.to_string()),
        }
    }

    /// TXT records, each with its strings joined (long values are split into 255-byte strings).
    pub async fn txt(&self, name: &str) -> Lookup<String> {
        self.lookup(name, RecordType::TXT)
            .await
            .map(|data| match data {
                RData::TXT(txt) => {
                    let bytes: Vec<u8> = txt
                        .txt_data
                        .iter()
                        .flat_map(|s| s.iter().copied())
                        .collect();
                    Some(String::from_utf8_lossy(&bytes).into_owned())
                }
                _ => None,
            })
    }

    pub async fn mx(&self, name: &str) -> Lookup<Mx> {
        self.lookup(name, RecordType::MX)
            .await
            .map(|data| match data {
                RData::MX(mx) => Some((mx.preference, normalize_host(&mx.exchange.to_string()))),
                _ => None,
            })
    }

    /// IPv4 then IPv6 addresses of a host.
    pub async fn ips(&self, name: &str) -> Lookup<std::net::IpAddr> {
        let v4 = self
            .lookup(name, RecordType::A)
            .await
            .map(|data| match data {
                RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
                _ => None,
            });
        let v6 = self
            .lookup(name, RecordType::AAAA)
            .await
            .map(|data| match data {
                RData::AAAA(a) => Some(std::net::IpAddr::V6(a.0)),
                _ => None,
            });
        match (v4, v6) {
            (Lookup::Found(mut a), Lookup::Found(b)) => {
                a.extend(b);
                Lookup::Found(a)
            }
            (Lookup::Found(a), _) | (_, Lookup::Found(a)) => Lookup::Found(a),
            (Lookup::Failed(e), _) | (_, Lookup::Failed(e)) => Lookup::Failed(e),
            _ => Lookup::Missing,
        }
    }

    /// CAA properties at a name; the resolver follows a CNAME there, as CAs do.
    pub async fn caa(&self, name: &str) -> Lookup<Caa> {
        self.lookup(name, RecordType::CAA)
            .await
            .map(|data| match data {
                RData::CAA(caa) => Some(Caa {
                    critical: caa.issuer_critical,
                    tag: caa.tag.to_ascii_lowercase(),
                    value: String::from_utf8_lossy(&caa.value).into_owned(),
                }),
                _ => None,
            })
    }

    pub async fn cname(&self, name: &str) -> Lookup<String> {
        self.lookup(name, RecordType::CNAME)
            .await
            .map(|data| match data {
                RData::CNAME(target) => Some(normalize_host(&target.0.to_string())),
                _ => None,
            })
    }
}

impl<T> Lookup<T> {
    fn map<U>(self, f: impl Fn(T) -> Option<U>) -> Lookup<U> {
        match self {
            Lookup::Found(items) => {
                let items: Vec<U> = items.into_iter().filter_map(f).collect();
                if items.is_empty() {
                    Lookup::Missing
                } else {
                    Lookup::Found(items)
                }
            }
            Lookup::Missing => Lookup::Missing,
            Lookup::Failed(err) => Lookup::Failed(err),
        }
    }
}

fn is_missing(err: &NetError) -> bool {
    err.is_nx_domain() || err.is_no_records_found()
}

/// Host names compare lower-case and without the root dot.
pub fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}
