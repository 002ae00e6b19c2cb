//! Relay mode: with `relay = "smtp://user:pass@host:port"` every message goes to that one
//! server (with AUTH when a user is given) instead of the recipients' MX hosts.
//!
//! `smtp://` connects in plain text and upgrades with STARTTLS when the relay offers it
//! (default port 587); `smtps://` speaks TLS from the start (default port 465). User and
//! password may be percent-encoded (`p%40ss` for `p@ss`).

use std::net::SocketAddr;

use anyhow::Context;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
    pub implicit_tls: bool,
}

/// The configured relay; `None` when `relay` is empty (direct delivery).
pub fn parse(setting: &str) -> anyhow::Result<Option<Relay>> {
    let setting = setting.trim();
    if setting.is_empty() {
        return Ok(None);
    }
    let url =
        url::Url::parse(setting).context("relay must look like smtp://user:pass@host:port")?;
    let implicit_tls = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        other => anyhow::bail!("relay scheme must be smtp or smtps, not {other}"),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .context("relay has no host")?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
    let credentials = match url.username() {
        "" => None,
        user => Some((
            percent_decode(user),
            percent_decode(url.password().unwrap_or("")),
        )),
    };
    Ok(Some(Relay {
        host,
        port,
        credentials,
        implicit_tls,
    }))
}

impl Relay {
    /// The relay's addresses (system resolver, so `/etc/hosts` names work).
    pub async fn addrs(&self) -> Result<Vec<SocketAddr>, String> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("cannot resolve the relay {}: {e}", self.host))?
            .collect();
        if found.is_empty() {
            return Err(format!("the relay {} has no address", self.host));
        }
        Ok(found)
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_relay_urls() {
        assert_eq!(parse("").unwrap(), None);
        let relay = parse("smtp://me%40x.test:p%40ss@smtp.example.com:2525")
            .unwrap()
            .unwrap();
        assert_eq!(relay.host, "smtp.example.com");
        assert_eq!(relay.port, 2525);
        assert_eq!(
            relay.credentials,
            Some(("me@x.test".to_string(), "p@ss".to_string()))
        );
        assert!(!relay.implicit_tls);
        let relay = parse("smtps://relay.test").unwrap().unwrap();
        assert_eq!((relay.port, relay.implicit_tls), (465, true));
        assert_eq!(relay.credentials, None);
        assert_eq!(parse("smtp://127.0.0.1").unwrap().unwrap().port, 587);
        assert!(parse("http://relay.test").is_err());
        assert!(parse("smtp://").is_err());
    }
}
