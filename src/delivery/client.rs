//! The SMTP client side of delivery, on mail-send: connecting (with timeouts on the connect
//! and the greeting, which mail-send does not bound by itself), EHLO, STARTTLS, AUTH, one
//! transaction with a reply per recipient, and a pool that reuses connections and caps the
//! connections to each destination host.
//!
//! TLS: with [`TlsPolicy::Opportunistic`] STARTTLS is used when the server offers it, with
//! any certificate (as MTAs do: most MX certificates do not match the MX name), and a
//! failed handshake falls back to plain text. With [`TlsPolicy::Enforced`] the server must
//! offer STARTTLS and present a certificate valid for its name, or nothing is sent: without
//! the check, whoever can strip STARTTLS could as well present a certificate of their own.
//! Relays get STARTTLS with certificate checks when they offer it (see
//! [`TlsPolicy::Relay`]). Checked certificates chain to the system's authorities or to those
//! of `delivery.tls_ca_file`. A reused connection keeps the guarantee it was opened with: an
//! enforced delivery takes only a connection whose certificate was checked.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mail_send::smtp::message::Parameters;
use mail_send::{Credentials, SmtpClient};
use parking_lot::Mutex;
use smtp_proto::{EXT_PIPELINING, EXT_START_TLS, EhloResponse, Response};
use tokio::io::{AsyncRead, AsyncWrite, BufStream};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsConnector;

use crate::config::DeliverySettings;

/// A connection's byte stream: plain or TLS, buffered.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsPolicy {
    Opportunistic,
    Enforced,
    /// TLS from the first byte (a relay on port 465, `smtps://`).
    Implicit,
    /// A relay (`smtp://`): STARTTLS with a valid certificate when offered (credentials
    /// go over it), plain text when not (a relay on the local network).
    Relay,
}

impl TlsPolicy {
    /// The domain's `tls` setting.
    pub fn from_setting(value: &str) -> TlsPolicy {
        if value == "enforced" {
            TlsPolicy::Enforced
        } else {
            TlsPolicy::Opportunistic
        }
    }
}

/// Why an attempt did not get a reply for a recipient, or the reply it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The SMTP reply code, when the server answered.
    pub code: Option<u16>,
    /// The enhanced status code, when given.
    pub status: Option<[u16; 3]>,
    /// The reply text or the connection error.
    pub message: String,
}

impl Diagnostic {
    fn from_response(response: &Response<String>) -> Diagnostic {
        let status = (response.esc[0] != 0).then(|| response.esc.map(u16::from));
        Diagnostic {
            code: Some(response.code),
            status,
            message: response
                .message
                .replace(['\r', '\n'], " ")
                .trim()
                .to_string(),
        }
    }

    pub fn error(message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: None,
            status: None,
            message: message.into(),
        }
    }

    /// As bounce reports write it: `smtp; 550 5.1.1 No such user`.
    pub fn diagnostic_code(&self) -> String {
        let mut out = String::from("smtp;");
        if let Some(code) = self.code {
            out.push_str(&format!(" {code}"));
        }
        if let Some([a, b, c]) = self.status {
            out.push_str(&format!(" {a}.{b}.{c}"));
        }
        out.push(' ');
        out.push_str(&self.message);
        out
    }
}

/// The outcome of one attempt for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The server took the message (the reply to the end of data).
    Accepted(Diagnostic),
    /// 4xx, or no answer (connection failure, timeout): try again later.
    Temporary(Diagnostic),
    /// 5xx: do not try again.
    Permanent(Diagnostic),
}

impl Verdict {
    fn from_reply(response: &Response<String>) -> Verdict {
        let diagnostic = Diagnostic::from_response(response);
        match response.code {
            200..=399 => Verdict::Accepted(diagnostic),
            500..=599 => Verdict::Permanent(diagnostic),
            _ => Verdict::Temporary(diagnostic),
        }
    }

    fn from_error(err: &mail_send::Error) -> Verdict {
        match err {
            mail_send::Error::UnexpectedReply(r) | mail_send::Error::AuthenticationFailed(r) => {
                Verdict::from_reply(r)
            }
            other => Verdict::Temporary(Diagnostic::error(other.to_string())),
        }
    }
}

/// How to reach a destination.
#[derive(Clone)]
pub struct ConnectOptions {
    pub tls: TlsPolicy,
    /// Name given in EHLO.
    pub helo: String,
    pub credentials: Option<(String, String)>,
    /// Connections at once to one host of this destination (`connections_per_host`, or
    /// `relay_connections` for the relay); fixed by the first delivery to the host.
    pub connections: usize,
}

/// One message for one destination.
pub struct Envelope<'a> {
    pub mail_from: &'a str,
    pub recipients: &'a [String],
    pub message: &'a [u8],
}

struct Connection {
    client: SmtpClient<Box<dyn Io>>,
    tls: Channel,
    /// The server offered PIPELINING (RFC 2920) in its last EHLO reply.
    pipelining: bool,
    last_used: Instant,
}

/// What protects a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Plain,
    /// TLS, any certificate accepted (opportunistic).
    Encrypted,
    /// TLS with a certificate valid for the host name.
    Verified,
}

/// Connections and per-host limits, shared by every delivery of this node.
pub struct Pool {
    settings: DeliverySettings,
    /// Certificates are checked (enforced TLS, relays).
    verifying: TlsConnector,
    /// Any certificate is accepted (opportunistic TLS).
    lenient: TlsConnector,
    hosts: Mutex<HashMap<String, Slot>>,
    last_sweep: Mutex<Instant>,
}

struct Slot {
    permits: Arc<Semaphore>,
    limit: usize,
    idle: Vec<Connection>,
}

impl Pool {
    pub fn new(settings: &DeliverySettings) -> anyhow::Result<Pool> {
        let lenient =
            mail_send::smtp::tls::build_tls_connector(true).map_err(|e| anyhow::anyhow!(e))?;
        Ok(Pool {
            settings: settings.clone(),
            verifying: verifying_connector(&settings.tls_ca_file)?,
            lenient,
            hosts: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        })
    }

    fn timeout(&self, secs: u64) -> Duration {
        Duration::from_secs(secs.max(1))
    }

    /// Waits for a free connection slot to `host` (a pool key such as `mx.example.com:25`),
    /// of which there are `limit`.
    async fn permit(&self, host: &str, limit: usize) -> OwnedSemaphorePermit {
        let permits = {
            let mut hosts = self.hosts.lock();
            let slot = hosts.entry(host.to_string()).or_insert_with(|| Slot {
                permits: Arc::new(Semaphore::new(limit.max(1))),
                limit: limit.max(1),
                idle: Vec::new(),
            });
            slot.permits.clone()
        };
        permits.acquire_owned().await.expect("never closed")
    }

    /// An idle connection to `host` usable under `tls`, if one is fresh enough.
    fn take_idle(&self, host: &str, tls: TlsPolicy) -> Option<Connection> {
        let max_idle = self.timeout(self.settings.idle_timeout_secs);
        let mut hosts = self.hosts.lock();
        let slot = hosts.get_mut(host)?;
        slot.idle.retain(|c| c.last_used.elapsed() < max_idle);
        let at = slot
            .idle
            .iter()
            .rposition(|c| c.tls == Channel::Verified || tls != TlsPolicy::Enforced)?;
        Some(slot.idle.swap_remove(at))
    }

    fn give_back(&self, host: &str, mut connection: Connection) {
        connection.last_used = Instant::now();
        let max_idle = self.timeout(self.settings.idle_timeout_secs);
        let mut hosts = self.hosts.lock();
        if let Some(slot) = hosts.get_mut(host) {
            slot.idle.push(connection);
        }
        // Now and then drop idle connections nobody came back for, and hosts not in use.
        let mut last_sweep = self.last_sweep.lock();
        if last_sweep.elapsed() > max_idle {
            *last_sweep = Instant::now();
            hosts.retain(|_, slot| {
                slot.idle.retain(|c| c.last_used.elapsed() < max_idle);
                !slot.idle.is_empty() || slot.permits.available_permits() < slot.limit
            });
        }
    }

    /// Delivers `envelope` to the first of `hosts` that answers (port `port` on each of
    /// their addresses, in order). Returns one verdict per recipient.
    pub async fn deliver(
        &self,
        hosts: &[(String, Vec<SocketAddr>)],
        options: &ConnectOptions,
        envelope: &Envelope<'_>,
    ) -> Vec<Verdict> {
        let mut last_error = Diagnostic::error("no host to deliver to");
        for (name, addrs) in hosts {
            let Some(first) = addrs.first() else { continue };
            let key = format!("{name}:{}", first.port());
            let _permit = self.permit(&key, options.connections).await;
            // A reused connection may have been closed by the server meanwhile: if it fails
            // before the message was sent, try once more on a new connection.
            if let Some(mut connection) = self.take_idle(&key, options.tls) {
                match transaction(&mut connection, envelope).await {
                    Attempt::Done(verdicts, reusable) => {
                        if reusable {
                            self.give_back(&key, connection);
                        }
                        return verdicts;
                    }
                    Attempt::Stale => {}
                }
            }
            match self.connect(name, addrs, options).await {
                Ok(mut connection) => {
                    let (verdicts, reusable) = match transaction(&mut connection, envelope).await {
                        Attempt::Done(verdicts, reusable) => (verdicts, reusable),
                        Attempt::Stale => (
                            temporary_for_all(envelope, "the connection closed at MAIL FROM"),
                            false,
                        ),
                    };
                    if reusable {
                        self.give_back(&key, connection);
                    }
                    return verdicts;
                }
                // Next host (a lower-priority MX).
                Err(diagnostic) => last_error = diagnostic,
            }
        }
        vec![Verdict::Temporary(last_error); envelope.recipients.len()]
    }

    /// Connects to the first address of `addrs` that answers.
    async fn connect(
        &self,
        name: &str,
        addrs: &[SocketAddr],
        options: &ConnectOptions,
    ) -> Result<Connection, Diagnostic> {
        let mut last_error = Diagnostic::error(format!("{name} has no address"));
        for addr in addrs {
            match self.connect_addr(name, *addr, options, true).await {
                Ok(connection) => return Ok(connection),
                // Opportunistic TLS failed: the same server in plain text.
                Err(ConnectError::TlsFailed(_)) if options.tls == TlsPolicy::Opportunistic => {
                    match self.connect_addr(name, *addr, options, false).await {
                        Ok(connection) => return Ok(connection),
                        Err(err) => last_error = err.into_diagnostic(name, *addr),
                    }
                }
                Err(err) => last_error = err.into_diagnostic(name, *addr),
            }
        }
        Err(last_error)
    }

    async fn connect_addr(
        &self,
        name: &str,
        addr: SocketAddr,
        options: &ConnectOptions,
        try_tls: bool,
    ) -> Result<Connection, ConnectError> {
        let stream = tokio::time::timeout(
            self.timeout(self.settings.connect_timeout_secs),
            TcpStream::connect(addr),
        )
        .await
        .map_err(|_| ConnectError::Other("connection timed out".into()))?
        .map_err(|e| ConnectError::Other(format!("cannot connect: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut client = SmtpClient {
            stream,
            timeout: self.timeout(self.settings.command_timeout_secs),
        };
        if options.tls == TlsPolicy::Implicit {
            let mut client = client
                .into_tls(&self.verifying, name)
                .await
                .map_err(|e| ConnectError::TlsFailed(e.to_string()))?;
            self.greeting(&mut client).await?;
            let ehlo = hello(&mut client, &options.helo).await?;
            return self
                .finish(boxed(client), &ehlo, Channel::Verified, options)
                .await;
        }
        self.greeting(&mut client).await?;
        let ehlo = hello(&mut client, &options.helo).await?;
        let offers_tls = ehlo.has_capability(EXT_START_TLS);
        if offers_tls && try_tls {
            let (connector, channel) = match options.tls {
                TlsPolicy::Opportunistic => (&self.lenient, Channel::Encrypted),
                _ => (&self.verifying, Channel::Verified),
            };
            let mut client = client
                .start_tls(connector, name)
                .await
                .map_err(|e| ConnectError::TlsFailed(e.to_string()))?;
            let ehlo = hello(&mut client, &options.helo).await?;
            return self.finish(boxed(client), &ehlo, channel, options).await;
        }
        if options.tls == TlsPolicy::Enforced {
            return Err(ConnectError::Other(
                "the server does not offer STARTTLS and the domain enforces TLS".into(),
            ));
        }
        self.finish(boxed(client), &ehlo, Channel::Plain, options)
            .await
    }

    async fn greeting<T: AsyncRead + AsyncWrite + Unpin>(
        &self,
        client: &mut SmtpClient<T>,
    ) -> Result<(), ConnectError> {
        let greeting = tokio::time::timeout(
            self.timeout(self.settings.greeting_timeout_secs),
            client.read(),
        )
        .await
        .map_err(|_| ConnectError::Other("no greeting from the server".into()))?
        .map_err(|e| ConnectError::Other(format!("reading the greeting: {e}")))?;
        if !greeting.is_positive_completion() {
            return Err(ConnectError::Reply(greeting));
        }
        Ok(())
    }

    async fn finish(
        &self,
        mut client: SmtpClient<Box<dyn Io>>,
        ehlo: &EhloResponse<String>,
        tls: Channel,
        options: &ConnectOptions,
    ) -> Result<Connection, ConnectError> {
        if let Some((user, password)) = &options.credentials {
            let credentials = Credentials::new(user.as_str(), password.as_str());
            client
                .authenticate(&credentials, ehlo)
                .await
                .map_err(|e| match e {
                    mail_send::Error::AuthenticationFailed(r)
                    | mail_send::Error::UnexpectedReply(r) => ConnectError::Reply(r),
                    other => ConnectError::Other(format!("authentication: {other}")),
                })?;
        }
        Ok(Connection {
            client,
            tls,
            pipelining: ehlo.has_capability(EXT_PIPELINING),
            last_used: Instant::now(),
        })
    }
}

/// A connector that checks certificates against the system's authorities and those in
/// `ca_file` (PEM; empty: none).
fn verifying_connector(ca_file: &str) -> anyhow::Result<TlsConnector> {
    use anyhow::Context;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    use tokio_rustls::rustls::ClientConfig;
    let mut extra = Vec::new();
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file)
            .with_context(|| format!("reading delivery.tls_ca_file {ca_file}"))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            extra.push(cert.with_context(|| format!("parsing {ca_file}"))?);
        }
        anyhow::ensure!(!extra.is_empty(), "{ca_file} holds no certificate");
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

enum ConnectError {
    TlsFailed(String),
    Reply(Response<String>),
    Other(String),
}

impl ConnectError {
    /// Connection-level failures are never final for the recipients: they are retried.
    fn into_diagnostic(self, name: &str, addr: SocketAddr) -> Diagnostic {
        match self {
            ConnectError::Reply(r) => {
                let mut d = Diagnostic::from_response(&r);
                d.message = format!("{name} [{}]: {}", addr.ip(), d.message);
                d
            }
            ConnectError::TlsFailed(e) => {
                Diagnostic::error(format!("{name} [{}]: TLS failed: {e}", addr.ip()))
            }
            ConnectError::Other(e) => Diagnostic::error(format!("{name} [{}]: {e}", addr.ip())),
        }
    }
}

fn boxed<T: Io + 'static>(client: SmtpClient<T>) -> SmtpClient<Box<dyn Io>> {
    SmtpClient {
        stream: Box::new(BufStream::new(client.stream)),
        timeout: client.timeout,
    }
}

/// EHLO, or HELO for the rare server that refuses EHLO.
async fn hello<T: AsyncRead + AsyncWrite + Unpin>(
    client: &mut SmtpClient<T>,
    helo: &str,
) -> Result<EhloResponse<String>, ConnectError> {
    match client.ehlo(helo).await {
        Ok(ehlo) => Ok(ehlo),
        Err(mail_send::Error::UnexpectedReply(reply)) if reply.code >= 500 => {
            let reply = client
                .cmd(format!("HELO {helo}\r\n"))
                .await
                .map_err(|e| ConnectError::Other(format!("HELO: {e}")))?;
            if !reply.is_positive_completion() {
                return Err(ConnectError::Reply(reply));
            }
            Ok(EhloResponse::default())
        }
        Err(mail_send::Error::UnexpectedReply(reply)) => Err(ConnectError::Reply(reply)),
        Err(e) => Err(ConnectError::Other(format!("EHLO: {e}"))),
    }
}

enum Attempt {
    /// Verdicts, and whether the connection can carry another message.
    Done(Vec<Verdict>, bool),
    /// The connection failed before anything was accepted (a reused connection the server
    /// had closed).
    Stale,
}

fn temporary_for_all(envelope: &Envelope<'_>, why: &str) -> Vec<Verdict> {
    vec![Verdict::Temporary(Diagnostic::error(why)); envelope.recipients.len()]
}

/// MAIL, RCPT for each recipient, DATA: pipelined when the server offers it.
async fn transaction(connection: &mut Connection, envelope: &Envelope<'_>) -> Attempt {
    if connection.pipelining {
        pipelined(&mut connection.client, envelope).await
    } else {
        lock_step(&mut connection.client, envelope).await
    }
}

/// RFC 2920: MAIL, every RCPT and DATA go out in one write and their replies are read
/// together, so a message costs two round trips (commands, then content) instead of three
/// plus one per recipient. Each reply still decides what it decided one by one: a refused
/// recipient is refused alone, a refused MAIL refuses them all, and the content is sent
/// only after DATA's 354 with at least one recipient accepted.
async fn pipelined(client: &mut SmtpClient<Box<dyn Io>>, envelope: &Envelope<'_>) -> Attempt {
    let mut commands = format!("MAIL FROM:<{}>\r\n", envelope.mail_from);
    for rcpt in envelope.recipients {
        commands.push_str("RCPT TO:<");
        commands.push_str(rcpt);
        commands.push_str(">\r\n");
    }
    commands.push_str("DATA\r\n");
    // One reply per command, however the server splits them into packets. No content has
    // been sent whatever fails here: a connection that breaks before any reply is `Stale`
    // (on a reused one the server had closed it; the message can go on a new one).
    let want = envelope.recipients.len() + 2;
    let (replies, broken) = send_commands(client, commands.as_bytes(), want).await;
    let Some((mail, rest)) = replies.split_first() else {
        return Attempt::Stale;
    };
    if let Some(err) = broken {
        // The server answered some commands, then the connection broke (a `421` before
        // closing, say): what MAIL got decides if it refused; otherwise nothing was sent.
        let verdict = match mail.is_positive_completion() {
            true => Verdict::from_error(&err),
            false => Verdict::from_reply(mail),
        };
        return Attempt::Done(vec![verdict; envelope.recipients.len()], false);
    }
    let (data_reply, rcpt_replies) = rest.split_last().expect("one reply per command");
    let data_open = data_reply.code == 354;
    if !mail.is_positive_completion() {
        let verdict = Verdict::from_reply(mail);
        let reusable = close_data(client, data_open).await && client.rset().await.is_ok();
        return Attempt::Done(vec![verdict; envelope.recipients.len()], reusable);
    }
    let mut verdicts = Vec::with_capacity(envelope.recipients.len());
    let mut accepted = Vec::new();
    for (i, reply) in rcpt_replies.iter().enumerate() {
        if reply.is_positive_completion() {
            accepted.push(i);
            verdicts.push(Verdict::Temporary(Diagnostic::error("not sent")));
        } else {
            verdicts.push(Verdict::from_reply(reply));
        }
    }
    if accepted.is_empty() || !data_open {
        if !accepted.is_empty() {
            // DATA refused: the accepted recipients get its reply.
            let verdict = Verdict::from_reply(data_reply);
            for &i in &accepted {
                verdicts[i] = verdict.clone();
            }
        }
        let reusable = close_data(client, data_open).await && client.rset().await.is_ok();
        return Attempt::Done(verdicts, reusable);
    }
    finish_data(client, envelope, verdicts, accepted).await
}

/// Writes pipelined `commands` and reads up to `want` replies, in order, however the server
/// splits them into packets. Returns the replies read and, if the connection broke or timed
/// out before all of them came, why.
async fn send_commands(
    client: &mut SmtpClient<Box<dyn Io>>,
    commands: &[u8],
    want: usize,
) -> (Vec<Response<String>>, Option<mail_send::Error>) {
    use smtp_proto::response::parser::ResponseReceiver;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut replies = Vec::with_capacity(want);
    let timeout = client.timeout;
    let outcome = tokio::time::timeout(timeout, async {
        client.stream.write_all(commands).await?;
        client.stream.flush().await?;
        let mut buf = vec![0u8; 1024];
        let mut parser = ResponseReceiver::default();
        while replies.len() < want {
            let read = client.stream.read(&mut buf).await?;
            if read == 0 {
                return Err(mail_send::Error::UnparseableReply);
            }
            let mut bytes = buf[..read].iter();
            while replies.len() < want {
                match parser.parse(&mut bytes) {
                    Ok(reply) => {
                        replies.push(reply);
                        parser.reset();
                    }
                    Err(smtp_proto::Error::NeedsMoreData { .. }) => break,
                    Err(_) => return Err(mail_send::Error::UnparseableReply),
                }
            }
        }
        Ok(())
    })
    .await;
    let broken = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err),
        Err(_) => Some(mail_send::Error::Timeout),
    };
    (replies, broken)
}

/// A server that answered DATA with 354 although nothing is to be sent (a refused MAIL or
/// no recipient left; RFC 2920 says it should not) gets an empty message's end, which it
/// then refuses for want of recipients. Whether the connection is still usable.
async fn close_data(client: &mut SmtpClient<Box<dyn Io>>, data_open: bool) -> bool {
    !data_open || client.cmd(b".\r\n").await.is_ok()
}

/// The content after DATA's 354, and the verdicts its final reply gives the accepted
/// recipients.
async fn finish_data(
    client: &mut SmtpClient<Box<dyn Io>>,
    envelope: &Envelope<'_>,
    mut verdicts: Vec<Verdict>,
    accepted: Vec<usize>,
) -> Attempt {
    // mail-send ends the data with CRLF . CRLF; the message's own final CRLF is part of it.
    let message = envelope
        .message
        .strip_suffix(b"\r\n")
        .unwrap_or(envelope.message);
    let (verdict, reusable) = match content(client, message).await {
        Ok(reply) => (Verdict::from_reply(&reply), true),
        Err(mail_send::Error::UnexpectedReply(reply)) => (Verdict::from_reply(&reply), true),
        // The connection broke during DATA: the server may or may not have the message.
        Err(err) => (Verdict::from_error(&err), false),
    };
    for i in accepted {
        verdicts[i] = verdict.clone();
    }
    Attempt::Done(verdicts, reusable)
}

/// MAIL, RCPT for each recipient, DATA, each waiting for its reply (servers without
/// PIPELINING).
async fn lock_step(client: &mut SmtpClient<Box<dyn Io>>, envelope: &Envelope<'_>) -> Attempt {
    let params = Parameters::default();
    if let Err(err) = client.mail_from(envelope.mail_from, &params).await {
        return match err {
            mail_send::Error::UnexpectedReply(reply) => {
                let verdict = Verdict::from_reply(&reply);
                let reusable = client.rset().await.is_ok();
                Attempt::Done(vec![verdict; envelope.recipients.len()], reusable)
            }
            _ => Attempt::Stale,
        };
    }
    let mut verdicts = Vec::with_capacity(envelope.recipients.len());
    let mut accepted = Vec::new();
    for (i, rcpt) in envelope.recipients.iter().enumerate() {
        match client.rcpt_to(rcpt, &params).await {
            Ok(()) => {
                accepted.push(i);
                verdicts.push(Verdict::Temporary(Diagnostic::error("not sent")));
            }
            Err(mail_send::Error::UnexpectedReply(reply)) => {
                verdicts.push(Verdict::from_reply(&reply))
            }
            Err(err) => {
                let verdict = Verdict::from_error(&err);
                verdicts.resize(envelope.recipients.len(), verdict);
                return Attempt::Done(verdicts, false);
            }
        }
    }
    if accepted.is_empty() {
        let reusable = client.rset().await.is_ok();
        return Attempt::Done(verdicts, reusable);
    }
    use mail_send::smtp::AssertReply;
    match client
        .cmd(b"DATA\r\n")
        .await
        .and_then(|r| r.assert_code(354))
    {
        Ok(()) => finish_data(client, envelope, verdicts, accepted).await,
        Err(mail_send::Error::UnexpectedReply(reply)) => {
            let verdict = Verdict::from_reply(&reply);
            for i in accepted {
                verdicts[i] = verdict.clone();
            }
            Attempt::Done(verdicts, true)
        }
        Err(err) => {
            let verdict = Verdict::from_error(&err);
            for i in accepted {
                verdicts[i] = verdict.clone();
            }
            Attempt::Done(verdicts, false)
        }
    }
}

/// Bytes of message content gathered before a write to the server.
const CONTENT_BUFFER: usize = 64 * 1024;

/// The message after DATA's 354, as mail-send's `SmtpClient::data` sends it (the same
/// transparency: a dot that follows a CR or an LF gets a second dot, RFC 5321 section
/// 4.5.2), but finding the dots with memchr instead of looking at every byte: the per-byte
/// loop was 8% of the CPU of a 5 MB relay.
async fn content(
    client: &mut SmtpClient<Box<dyn Io>>,
    message: &[u8],
) -> mail_send::Result<Response<String>> {
    use mail_send::smtp::AssertReply;
    use tokio::io::AsyncWriteExt;
    let timeout = client.timeout;
    tokio::time::timeout(timeout, async {
        // Through a buffer, so a small message and its end go out in one write; a piece
        // larger than the buffer goes straight to the socket.
        // Room for the message, a few stuffed dots and its end, up to CONTENT_BUFFER.
        let capacity = CONTENT_BUFFER.min(message.len() + 64);
        let mut out = tokio::io::BufWriter::with_capacity(capacity, &mut client.stream);
        let mut start = 0;
        for dot in memchr::memchr_iter(b'.', message) {
            if dot > 0 && matches!(message[dot - 1], b'\r' | b'\n') {
                out.write_all(&message[start..dot]).await?;
                out.write_all(b".").await?;
                start = dot;
            }
        }
        out.write_all(&message[start..]).await?;
        out.write_all(b"\r\n.\r\n").await?;
        out.flush().await?;
        client.read().await
    })
    .await
    .map_err(|_| mail_send::Error::Timeout)??
    .into_positive_completion()
}
