//! Settings, layered: compiled defaults, then a TOML file, then `HERALD_*` environment
//! variables (plus `DATABASE_URL`), then command-line flags. `herald.example.toml` documents
//! every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub const EXAMPLE_CONFIG: &str = include_str!("../herald.example.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server (API and dashboard) listens on.
    pub listen: SocketAddr,
    /// Folder for the embedded SQLite database and other local state.
    pub data_dir: PathBuf,
    /// `postgres://…` to run on PostgreSQL; empty means SQLite in `data_dir`.
    pub database_url: String,
    /// Base URL users reach this installation at (used in links); empty means `http://<listen>`.
    pub public_url: String,
    /// Outbound relay `smtp://user:pass@host:port`; empty means direct delivery to MX hosts.
    pub relay: String,
    /// DNS server `ip:port` used for look-ups instead of the system resolver.
    pub dns_server: String,
    /// TCP port used when delivering to MX hosts.
    pub mx_port: u16,
    /// API requests per second allowed per team (all keys of a team share it).
    pub rate_limit: u32,
    /// Regions whose mail this node delivers.
    pub regions: Vec<String>,
    /// Allow fetching remote attachments and calling webhooks on private or loopback addresses.
    pub allow_private_urls: bool,
    /// `ip:port` of the SMTP listener receiving bounces and complaints; empty means off.
    pub feedback_listen: String,
    /// Largest remote attachment fetched by `path`, in bytes.
    pub max_remote_attachment_bytes: u64,
    /// Megabytes of request bodies this node holds at once; a request waits for its share
    /// (see [`crate::budget`]).
    pub request_memory_mb: usize,
    /// Seconds a request waits for its share of `request_memory_mb` before a 503.
    pub request_memory_wait_secs: u64,
    /// Background job workers running in this process.
    pub workers: usize,
    /// Emit log lines as JSON.
    pub log_json: bool,
    /// 32-byte key (64 hex characters) encrypting secrets at rest (DKIM private keys).
    /// Empty with SQLite: a key file is created in `data_dir`; PostgreSQL requires it.
    /// Never serialised, so `herald config check` does not print it.
    #[serde(default, skip_serializing)]
    pub encryption_key: String,
    /// What domains' DNS records point at, and how often they are checked.
    #[serde(default)]
    pub domains: DomainSettings,
    /// Outbound delivery: retries, timeouts, concurrency.
    #[serde(default)]
    pub delivery: DeliverySettings,
    /// How long finished background jobs are kept.
    #[serde(default)]
    pub jobs: JobSettings,
    /// Emails Herald itself sends to a team (invitations, finished exports).
    #[serde(default)]
    pub notifications: NotificationSettings,
    /// API request logs.
    #[serde(default)]
    pub logs: LogSettings,
    /// CSV exports of the dashboard's lists.
    #[serde(default)]
    pub exports: ExportSettings,
    /// How the embedded SQLite database uses memory and its write-ahead log (ignored on
    /// PostgreSQL).
    #[serde(default)]
    pub sqlite: SqliteSettings,
    /// Bearer token that `/metrics` (Prometheus) requires; empty turns `/metrics` off (404).
    /// Never serialised, so `herald config check` does not print it.
    #[serde(default, skip_serializing)]
    pub metrics_token: String,
}

/// The `[notifications]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// Sender of the emails Herald sends to a team, e.g. `Herald <herald@mail.example.com>`;
    /// its domain must be a verified domain of the team. Empty: no such emails are sent
    /// (the dashboard shows invitation links to copy instead).
    pub from: String,
}

/// The `[exports]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSettings {
    /// Sender of the email telling a team's admins that an export is ready; its domain must
    /// be a verified domain of the team. Empty: `[notifications] from`.
    pub from: String,
    /// Days a finished export's file is kept before it is deleted (the export then shows
    /// "Expired").
    pub keep_days: u64,
    /// Exports of at most this many rows download at once; larger ones are written by a
    /// background job and the admins get an email with a link.
    pub inline_rows: u64,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            from: String::new(),
            keep_days: 7,
            inline_rows: 1000,
        }
    }
}

/// The `[sqlite]` table. The defaults come from the measurements in docs/performance.md
/// ("SQLite settings"); durability does not depend on them (every commit is still fsynced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqliteSettings {
    /// Megabytes of the database file each connection reads through a shared memory map
    /// instead of copying pages into its own cache; 0 turns the map off.
    pub mmap_size_mb: u64,
    /// Megabytes of page cache per connection.
    pub cache_size_mb: u64,
    /// Pages the write-ahead log may hold before they are copied back into the database file
    /// (a checkpoint, on a thread of its own: `store::checkpoint`); 0 leaves the size to
    /// SQLite's own default (1000 pages).
    pub wal_autocheckpoint_pages: u64,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            mmap_size_mb: 0,
            cache_size_mb: 2,
            wal_autocheckpoint_pages: 1000,
        }
    }
}

/// The `[logs]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// Keep a log of every API request, with its bodies. Off, only each key's last use and
    /// request count are kept.
    pub enabled: bool,
    /// Days a request log is kept; 0 keeps them forever.
    pub keep_days: u64,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            keep_days: 30,
        }
    }
}

/// The `[jobs]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Minutes a `done` job is kept before it is deleted; 0 keeps them forever.
    pub keep_done_minutes: u64,
    /// Days a `dead` (out of attempts) or `canceled` job is kept; 0 keeps them forever.
    pub keep_failed_days: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            keep_done_minutes: 60,
            keep_failed_days: 30,
        }
    }
}

/// The `[delivery]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Hours after which a recipient that still gets temporary failures is given up on
    /// (recorded as a transient bounce).
    pub give_up_after_hours: u64,
    /// Emails this node delivers at once.
    pub concurrency: usize,
    /// Megabytes of email content (html, text, attachments) this node's deliveries hold at
    /// once, whatever `concurrency` says; an email larger than this is delivered alone.
    pub memory_mb: usize,
    /// Connections at once to one recipient host (MX); idle ones are reused.
    pub connections_per_host: usize,
    /// Connections at once to the relay, when `relay` is set; idle ones are reused.
    pub relay_connections: usize,
    /// Seconds to wait for a TCP connection.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for the server's greeting.
    pub greeting_timeout_secs: u64,
    /// Seconds to wait for the reply to each command (and for the end of data).
    pub command_timeout_secs: u64,
    /// Seconds an idle connection is kept for reuse.
    pub idle_timeout_secs: u64,
    /// Name given in EHLO; empty: the mail host (`domains.mail_host`).
    pub helo_name: String,
    /// PEM file of certificate authorities trusted besides the system's, where certificates
    /// are checked (domains with `tls: enforced`, relays); empty: the system's only.
    pub tls_ca_file: String,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            give_up_after_hours: 72,
            concurrency: 256,
            memory_mb: 32,
            connections_per_host: 8,
            relay_connections: 32,
            connect_timeout_secs: 30,
            greeting_timeout_secs: 60,
            command_timeout_secs: 300,
            idle_timeout_secs: 30,
            helo_name: String::new(),
            tls_ca_file: String::new(),
        }
    }
}

/// The `[domains]` table: this installation's mail host and sending IPs (they go into the
/// records users publish) and the DNS verification timing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DomainSettings {
    /// Host receiving bounces and complaints: the MX of each return-path subdomain, and of
    /// domains with receiving enabled. Empty: the host of `public_url`.
    pub mail_host: String,
    /// Addresses Herald sends from, listed in the SPF record as `ip4:`/`ip6:`.
    pub sending_ips: Vec<String>,
    /// A domain whose SPF record lists all sending addresses, used as `include:`.
    pub spf_include: String,
    /// Target of tracking subdomains' CNAME records. Empty: the host of `public_url`.
    pub tracking_host: String,
    /// The certificate authority whose certificates the tracking host serves (its CAA issuer
    /// domain, e.g. `letsencrypt.org`). Domains with a tracking subdomain get a `TrackingCAA`
    /// record allowing it. Empty: no such record.
    pub tracking_caa_issuer: String,
    /// DKIM selector of new domains: the key is published at `<selector>._domainkey.<domain>`.
    pub dkim_selector: String,
    /// Whether verification fetches each domain's BIMI logo (through the SSRF-guarded client)
    /// to check it is an SVG Tiny PS document.
    pub check_bimi_logo: bool,
    /// Seconds between DNS checks while a domain is pending or temporarily failing.
    pub verify_interval_secs: u64,
    /// Seconds between DNS checks of a verified domain.
    pub recheck_interval_secs: u64,
}

impl Default for DomainSettings {
    fn default() -> Self {
        Self {
            mail_host: String::new(),
            sending_ips: Vec::new(),
            spf_include: String::new(),
            tracking_host: String::new(),
            tracking_caa_issuer: "letsencrypt.org".to_string(),
            dkim_selector: "herald".to_string(),
            check_bimi_logo: true,
            verify_interval_secs: 300,
            recheck_interval_secs: 6 * 3600,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            data_dir: PathBuf::from("./herald-data"),
            database_url: String::new(),
            public_url: String::new(),
            relay: String::new(),
            dns_server: String::new(),
            mx_port: 25,
            rate_limit: 100,
            regions: crate::REGIONS.iter().map(|r| r.to_string()).collect(),
            allow_private_urls: false,
            feedback_listen: String::new(),
            max_remote_attachment_bytes: 40 * 1024 * 1024,
            request_memory_mb: 64,
            request_memory_wait_secs: 30,
            workers: 4,
            log_json: false,
            encryption_key: String::new(),
            domains: DomainSettings::default(),
            delivery: DeliverySettings::default(),
            jobs: JobSettings::default(),
            notifications: NotificationSettings::default(),
            logs: LogSettings::default(),
            exports: ExportSettings::default(),
            sqlite: SqliteSettings::default(),
            metrics_token: String::new(),
        }
    }
}

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub relay: Option<String>,
    pub dns_server: Option<String>,
    pub mx_port: Option<u16>,
    pub public_url: Option<String>,
}

impl Settings {
    /// Loads the layers in order. `file` is the `--config` path; without it
    /// `./herald.toml` is read when present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let defaults = config::Config::try_from(&Settings::default())?;
        let mut builder = config::Config::builder().add_source(defaults);
        match file {
            Some(path) => {
                builder = builder.add_source(config::File::from(path).required(true));
            }
            None => {
                builder =
                    builder.add_source(config::File::with_name("herald.toml").required(false));
            }
        }
        let env = environment_layer(std::env::vars())?;
        builder = builder.add_source(config::File::from_str(
            &toml::to_string(&env).context("reading HERALD_* variables")?,
            config::FileFormat::Toml,
        ));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database_url", url)?;
        }
        let mut settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("invalid configuration")?;
        settings.apply(overrides);
        settings.validate()?;
        Ok(settings)
    }

    pub fn apply(&mut self, o: &Overrides) {
        if let Some(v) = o.listen {
            self.listen = v;
        }
        if let Some(v) = &o.data_dir {
            self.data_dir = v.clone();
        }
        if let Some(v) = &o.database_url {
            self.database_url = v.clone();
        }
        if let Some(v) = &o.relay {
            self.relay = v.clone();
        }
        if let Some(v) = &o.dns_server {
            self.dns_server = v.clone();
        }
        if let Some(v) = o.mx_port {
            self.mx_port = v;
        }
        if let Some(v) = &o.public_url {
            self.public_url = v.clone();
        }
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if !self.database_url.is_empty()
            && !self.database_url.starts_with("postgres://")
            && !self.database_url.starts_with("postgresql://")
            && !self.database_url.starts_with("sqlite:")
        {
            anyhow::bail!(
                "database_url must start with postgres:// (or sqlite:), got {:?}",
                self.database_url
            );
        }
        if !self.relay.is_empty()
            && !self.relay.starts_with("smtp://")
            && !self.relay.starts_with("smtps://")
        {
            anyhow::bail!("relay must look like smtp://user:pass@host:port");
        }
        if !self.dns_server.is_empty() && self.dns_server.parse::<SocketAddr>().is_err() {
            anyhow::bail!("dns_server must be ip:port, got {:?}", self.dns_server);
        }
        if !self.feedback_listen.trim().is_empty()
            && self.feedback_listen.trim().parse::<SocketAddr>().is_err()
        {
            anyhow::bail!(
                "feedback_listen must be ip:port (or empty), got {:?}",
                self.feedback_listen
            );
        }
        if self.request_memory_mb == 0 {
            anyhow::bail!("request_memory_mb must be at least 1");
        }
        if self.rate_limit == 0 {
            anyhow::bail!("rate_limit must be at least 1 request per second");
        }
        for region in &self.regions {
            if !crate::REGIONS.contains(&region.as_str()) {
                anyhow::bail!(
                    "unknown region {region:?}; known: {}",
                    crate::REGIONS.join(", ")
                );
            }
        }
        self.validate_domains()?;
        if self.exports.keep_days == 0 || self.exports.inline_rows == 0 {
            anyhow::bail!("exports.keep_days and exports.inline_rows must be positive");
        }
        let d = &self.delivery;
        if d.give_up_after_hours == 0
            || d.concurrency == 0
            || d.memory_mb == 0
            || d.connections_per_host == 0
            || d.relay_connections == 0
        {
            anyhow::bail!(
                "delivery.give_up_after_hours, concurrency, memory_mb, connections_per_host and \
                 relay_connections must be positive"
            );
        }
        Ok(())
    }

    fn validate_domains(&self) -> anyhow::Result<()> {
        if !self.encryption_key.is_empty() {
            let bytes = hex::decode(&self.encryption_key).unwrap_or_default();
            if bytes.len() != 32 {
                anyhow::bail!(
                    "encryption_key must be 64 hexadecimal characters (32 bytes); generate one \
                     with `openssl rand -hex 32`"
                );
            }
        } else if !self.database_url.is_empty() && !self.database_url.starts_with("sqlite:") {
            anyhow::bail!(
                "encryption_key must be set when running on PostgreSQL (every node needs the \
                 same key to read DKIM private keys); generate one with `openssl rand -hex 32`"
            );
        }
        let d = &self.domains;
        for ip in &d.sending_ips {
            if ip.parse::<std::net::IpAddr>().is_err() {
                anyhow::bail!("domains.sending_ips: {ip:?} is not an IP address");
            }
        }
        if d.dkim_selector.is_empty()
            || !d
                .dkim_selector
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            anyhow::bail!("domains.dkim_selector must be letters, digits and hyphens");
        }
        if let Some(issuer) = self.tracking_caa_issuer()
            && !issuer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            anyhow::bail!(
                "domains.tracking_caa_issuer must be a certificate authority's domain such as \
                 letsencrypt.org (letters, digits, hyphens and dots)"
            );
        }
        if d.verify_interval_secs == 0 || d.recheck_interval_secs == 0 {
            anyhow::bail!(
                "domains.verify_interval_secs and recheck_interval_secs must be positive"
            );
        }
        Ok(())
    }

    /// Host of `public_url` (or of the listen address when it is not set).
    fn public_host(&self) -> String {
        url::Url::parse(&self.public_base_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".to_string())
    }

    /// The mail host domains' MX records point at.
    pub fn mail_host(&self) -> String {
        match self.domains.mail_host.trim().trim_end_matches('.') {
            "" => self.public_host(),
            host => host.to_ascii_lowercase(),
        }
    }

    /// The host MX records may name: the mail host, unless it is an IP address or a loopback
    /// name (`localhost`), neither of which can be an MX target that works; `None` then.
    pub fn mx_host(&self) -> Option<String> {
        let host = self.mail_host();
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok();
        (!literal && !is_loopback_host(&host)).then_some(host)
    }

    /// The host tracking subdomains' CNAME records point at.
    pub fn tracking_host(&self) -> String {
        match self.domains.tracking_host.trim().trim_end_matches('.') {
            "" => self.public_host(),
            host => host.to_ascii_lowercase(),
        }
    }

    /// The CAA issuer domain tracking subdomains must allow, lower-case; `None` when unset.
    pub fn tracking_caa_issuer(&self) -> Option<String> {
        let issuer = self
            .domains
            .tracking_caa_issuer
            .trim()
            .trim_end_matches('.');
        (!issuer.is_empty()).then(|| issuer.to_ascii_lowercase())
    }

    /// The base URL used in links, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }
}

/// `HERALD_*` variables that are not settings: the test harness's switches (README, "Tests").
fn is_harness_variable(name: &str) -> bool {
    name.starts_with("HERALD_TEST_")
        || name.starts_with("HERALD_COMPAT_")
        || matches!(
            name,
            "HERALD_REQUIRE_EXTERNAL"
                | "HERALD_RESEND_SPEC"
                | "HERALD_BLESS"
                | "HERALD_SCREENSHOTS"
                | "HERALD_FIXTURES_DIR"
        )
}

/// Every variable naming a setting (`HERALD_MX_PORT`, `HERALD_DOMAINS__MAIL_HOST`), with the
/// setting's path and its default value, whose type says how the variable's text is read.
pub fn setting_variables() -> Vec<(String, Vec<String>, toml::Value)> {
    let mut out = Vec::new();
    let name = |path: &[&str]| {
        format!(
            "HERALD_{}",
            path.iter()
                .map(|p| p.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join("__")
        )
    };
    if let Ok(toml::Value::Table(table)) = toml::Value::try_from(Settings::default()) {
        for (key, value) in table {
            match value {
                toml::Value::Table(section) => {
                    for (sub, value) in section {
                        out.push((name(&[&key, &sub]), vec![key.clone(), sub], value));
                    }
                }
                value => out.push((name(&[&key]), vec![key], value)),
            }
        }
    }
    // Secrets are never serialised, so they are not in the table above.
    for secret in ["encryption_key", "metrics_token"] {
        out.push((
            name(&[secret]),
            vec![secret.to_string()],
            toml::Value::String(String::new()),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The environment's layer: each `HERALD_*` setting variable, read as its setting's type.
/// An unknown `HERALD_*` variable is an error listing the valid names (typos are caught).
fn environment_layer(vars: impl Iterator<Item = (String, String)>) -> anyhow::Result<toml::Table> {
    let known = setting_variables();
    let mut layer = toml::Table::new();
    let mut unknown = Vec::new();
    for (name, raw) in vars {
        if !name.starts_with("HERALD_") || is_harness_variable(&name) {
            continue;
        }
        let Some((_, path, default)) = known.iter().find(|(n, ..)| *n == name) else {
            unknown.push(name);
            continue;
        };
        let text = raw.trim();
        let value = match default {
            toml::Value::Integer(_) => toml::Value::Integer(
                text.parse()
                    .with_context(|| format!("{name} must be a whole number, got {raw:?}"))?,
            ),
            toml::Value::Float(_) => toml::Value::Float(
                text.parse()
                    .with_context(|| format!("{name} must be a number, got {raw:?}"))?,
            ),
            toml::Value::Boolean(_) => {
                toml::Value::Boolean(match text.to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => true,
                    "false" | "0" | "no" | "off" => false,
                    _ => anyhow::bail!("{name} must be true or false, got {raw:?}"),
                })
            }
            toml::Value::Array(_) => toml::Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| toml::Value::String(item.to_string()))
                    .collect(),
            ),
            _ => toml::Value::String(raw.clone()),
        };
        let mut table = &mut layer;
        for part in &path[..path.len() - 1] {
            table = table
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .context("setting path")?;
        }
        table.insert(path[path.len() - 1].clone(), value);
    }
    if !unknown.is_empty() {
        unknown.sort();
        let valid: Vec<&str> = known.iter().map(|(n, ..)| n.as_str()).collect();
        anyhow::bail!(
            "unknown environment variable{} {}; the valid HERALD_* variables are: {} \
             (and DATABASE_URL)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            valid.join(", ")
        );
    }
    Ok(layer)
}

/// Whether `host` (a name or an address, maybe in brackets) is this machine itself:
/// `localhost`, a `.localhost` name, a loopback or unspecified address.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.ends_with(".localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

/// Settings that work but produce DNS records or links nobody can use; `herald config check`
/// prints them.
pub fn warnings(s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    let loopback = is_loopback_host;
    if s.public_url.trim().is_empty() {
        out.push(format!(
            "public_url is not set: links in emails (tracking, unsubscribe, attachments) point \
             at http://{}, which recipients cannot reach",
            s.listen
        ));
    }
    if s.domains.mail_host.trim().is_empty() {
        out.push(format!(
            "domains.mail_host is empty: MX records of return-path subdomains point at the host \
             of public_url ({})",
            s.mail_host()
        ));
    }
    if loopback(&s.mail_host()) {
        out.push(format!(
            "domains.mail_host resolves to the loopback host {:?}: bounces and complaints \
             cannot reach it",
            s.mail_host()
        ));
    }
    if s.domains.sending_ips.is_empty() && s.domains.spf_include.trim().is_empty() {
        out.push(
            "domains.sending_ips is empty (and no domains.spf_include): SPF records will not \
             authorise the addresses Herald sends from"
                .to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> anyhow::Result<toml::Table> {
        environment_layer(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn only_setting_variables_are_read() {
        let layer = env(&[
            ("HERALD_MX_PORT", "26"),
            ("HERALD_TEST_DATABASE", "postgres"),
            ("HERALD_REQUIRE_EXTERNAL", "1"),
            ("PATH", "/bin"),
            ("HERALD_LISTEN", "0.0.0.0:1"),
            ("HERALD_ENCRYPTION_KEY", &"42".repeat(32)),
            ("HERALD_DOMAINS__SENDING_IPS", "192.0.2.1, 2001:db8::1"),
            ("HERALD_LOGS__ENABLED", "false"),
        ])
        .unwrap();
        let mut names: Vec<_> = layer.keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            vec!["domains", "encryption_key", "listen", "logs", "mx_port"]
        );
        // A key of digits stays text.
        assert_eq!(
            layer["encryption_key"].as_str(),
            Some("42".repeat(32).as_str())
        );
        assert_eq!(layer["mx_port"].as_integer(), Some(26));
        assert_eq!(
            layer["domains"]["sending_ips"].as_array().map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn unknown_variables_fail_with_the_valid_names() {
        let err = env(&[("HERALD_MX_PROT", "26")]).unwrap_err().to_string();
        assert!(err.contains("HERALD_MX_PROT"), "{err}");
        for valid in [
            "HERALD_MX_PORT",
            "HERALD_ENCRYPTION_KEY",
            "HERALD_METRICS_TOKEN",
            "HERALD_DOMAINS__MAIL_HOST",
        ] {
            assert!(err.contains(valid), "{err}");
        }
        assert!(env(&[("HERALD_MX_PORT", "twenty")]).is_err());
    }

    #[test]
    fn check_warns_about_unusable_records() {
        let s = Settings::default();
        let all = warnings(&s).join("\n");
        for what in ["public_url", "domains.mail_host", "sending_ips"] {
            assert!(all.contains(what), "{all}");
        }
        let mut s = Settings {
            public_url: "https://mail.example.org".into(),
            ..Settings::default()
        };
        s.domains.mail_host = "mx.example.org".into();
        s.domains.sending_ips = vec!["192.0.2.1".into()];
        assert!(warnings(&s).is_empty(), "{:?}", warnings(&s));
        s.domains.mail_host = "localhost.".into();
        assert!(warnings(&s).join(" ").contains("loopback"));
    }

    #[test]
    fn example_file_parses_and_matches_defaults() {
        let parsed: Settings = toml::from_str(EXAMPLE_CONFIG).expect("example config parses");
        let defaults = Settings::default();
        assert_eq!(parsed.listen, defaults.listen);
        assert_eq!(parsed.mx_port, defaults.mx_port);
        assert_eq!(parsed.rate_limit, defaults.rate_limit);
    }

    #[test]
    fn rejects_bad_values() {
        let s = Settings {
            database_url: "mysql://x".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        let s = Settings {
            dns_server: "not-an-address".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        let mut s = Settings {
            feedback_listen: "port 25".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        s.feedback_listen = "0.0.0.0:25".into();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn postgres_needs_an_encryption_key() {
        let mut s = Settings {
            database_url: "postgres://herald@127.0.0.1/herald".into(),
            ..Settings::default()
        };
        assert!(s.validate().is_err());
        s.encryption_key = "ab".repeat(32);
        assert!(s.validate().is_ok());
        s.encryption_key = "ab".repeat(8);
        assert!(s.validate().is_err());
    }

    #[test]
    fn record_hosts_fall_back_to_the_public_url() {
        let mut s = Settings {
            public_url: "https://mail.example.org/".into(),
            ..Settings::default()
        };
        assert_eq!(s.mail_host(), "mail.example.org");
        assert_eq!(s.tracking_host(), "mail.example.org");
        s.domains.mail_host = "Feedback.Example.org.".into();
        assert_eq!(s.mail_host(), "feedback.example.org");
    }
}
