//! An async SMTP server on tokio, driven by smtp-proto's sans-IO parsers.
//!
//! The server speaks the protocol (greeting, EHLO/HELO, MAIL, RCPT, DATA, BDAT, RSET, NOOP,
//! QUIT), enforces the [`Limits`] and leaves every decision about senders, recipients and
//! messages to a [`SessionHandler`]. Herald uses it for its inbound feedback listener and, via
//! [`super::sink`], as the recipient's mail server in tests and benchmarks.
//!
//! AUTH (PLAIN and LOGIN) is offered when [`Limits::offer_auth`] is set; the handler's
//! [`SessionHandler::auth`] checks the credentials. STARTTLS (RFC 3207) is offered when
//! [`Limits::tls`] holds a certificate; otherwise it is answered 502 and not advertised.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::reply::Reply;
use super::session;

/// How the server treats a bare LF (or CR) inside message content. Whatever the policy,
/// only `<CRLF>.<CRLF>` ends DATA, so a bare-LF "end of data" can never smuggle a second
/// message in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareLineEndings {
    /// Store lines that end in a bare LF as if they ended in CRLF (Postfix's default since 3.9).
    Normalize,
    /// Refuse messages that contain a bare LF or a bare CR (`554 5.6.0`).
    Reject,
}

/// The server's name and limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Name in the greeting and the EHLO reply.
    pub hostname: String,
    /// Largest message accepted, in bytes (advertised as SIZE).
    pub max_message_size: usize,
    pub max_recipients: usize,
    /// Connections served at once; more are answered `421 4.7.0` and closed.
    pub max_connections: usize,
    /// Unknown or out-of-sequence commands before the connection is closed.
    pub max_errors: usize,
    /// How long to wait for the next command.
    pub command_timeout: Duration,
    /// How long to wait for the next piece of message content.
    pub data_timeout: Duration,
    pub bare_line_endings: BareLineEndings,
    /// Advertise AUTH PLAIN and LOGIN (the handler decides who gets in).
    pub offer_auth: bool,
    /// Offer STARTTLS with this certificate and key.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Advertise PIPELINING (RFC 2920). Commands sent ahead are served in order either way;
    /// `false` makes clients that follow the EHLO reply wait for each reply (tests of such
    /// clients).
    pub pipelining: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            hostname: "localhost".to_string(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_connections: 256,
            max_errors: 10,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            bare_line_endings: BareLineEndings::Normalize,
            offer_auth: false,
            tls: None,
            pipelining: true,
        }
    }
}

/// The transaction so far, as the handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub peer: SocketAddr,
    /// Name the client gave in EHLO/HELO.
    pub helo: String,
    /// Reverse path; empty for the null sender `<>` (bounces use it).
    pub mail_from: String,
    /// Recipients accepted so far.
    pub rcpt_to: Vec<String>,
    /// The SIZE the client declared in MAIL FROM (0 when none).
    pub declared_size: usize,
    /// The client asked for SMTPUTF8.
    pub smtputf8: bool,
    /// The user name the client authenticated as (AUTH), if it did.
    pub authenticated: Option<String>,
    /// The session runs over TLS (after STARTTLS).
    pub tls: bool,
}

/// What the handler wants the server to do at a step of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on with the standard positive reply for this step.
    Accept,
    /// Answer with this reply. A 2xx/3xx reply accepts the step, a 4xx/5xx refuses it
    /// (at DATA, 354 accepts).
    Reply(Reply),
    /// Close the connection at once, without a reply.
    Disconnect,
    /// At DATA only: answer 354, then close the connection as soon as message content arrives.
    /// Elsewhere the same as `Disconnect`.
    DisconnectMidData,
}

/// Decides what the server accepts and receives what it accepted.
///
/// Every method has a default that accepts, so a handler overrides only what it cares about.
pub trait SessionHandler: Send + Sync + 'static {
    /// A client connected (before the greeting).
    fn connect(&self, _peer: SocketAddr) -> impl Future<Output = Verdict> + Send {
        async { Verdict::Accept }
    }

    /// AUTH: the credentials a client gave. `Accept` logs it in (235); the default refuses
    /// everyone (535).
    fn auth(
        &self,
        _envelope: &Envelope,
        _username: &str,
        _password: &str,
    ) -> impl Future<Output = Verdict> + Send {
        async {
            Verdict::Reply(Reply::new(
                535,
                "5.7.8",
                "Authentication credentials invalid",
            ))
        }
    }

    /// MAIL FROM: `envelope.mail_from` is the proposed sender, no recipients yet.
    fn mail_from(&self, _envelope: &Envelope) -> impl Future<Output = Verdict> + Send {
        async { Verdict::Accept }
    }

    /// RCPT TO: `envelope.rcpt_to` holds the recipients accepted before this one.
    fn rcpt_to(&self, _envelope: &Envelope, _rcpt: &str) -> impl Future<Output = Verdict> + Send {
        async { Verdict::Accept }
    }

    /// The DATA (or first BDAT) command.
    fn data(&self, _envelope: &Envelope) -> impl Future<Output = Verdict> + Send {
        async { Verdict::Accept }
    }

    /// A complete message (dot-unstuffed, without the final `.` line); the verdict is the
    /// reply to the end of data.
    fn message(&self, envelope: &Envelope, data: Vec<u8>) -> impl Future<Output = Verdict> + Send;
}

pub struct SmtpServer;

impl SmtpServer {
    /// Binds `addr` (port 0 picks a free port) and serves until `shutdown` is cancelled.
    /// Then it stops accepting, tells idle clients `421 4.3.2` and waits for the sessions to
    /// end; the returned handle completes when they have.
    pub async fn bind<H: SessionHandler>(
        addr: SocketAddr,
        handler: H,
        limits: Limits,
        shutdown: CancellationToken,
    ) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let handler = Arc::new(handler);
        let limits = Arc::new(limits);
        let task = tokio::spawn(accept_loop(listener, handler, limits, shutdown));
        Ok((local_addr, task))
    }
}

async fn accept_loop<H: SessionHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Arc<Limits>,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let sessions = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let handler = handler.clone();
                let limits = limits.clone();
                let shutdown = shutdown.clone();
                sessions.spawn(async move {
                    session::run(stream, peer, handler, limits, shutdown).await;
                    drop(slot);
                });
            }
            Err(_) => {
                sessions.spawn(session::refuse_busy(stream, limits.hostname.clone()));
            }
        }
    }
    drop(listener);
    sessions.close();
    sessions.wait().await;
}
