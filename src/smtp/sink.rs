//! A scriptable SMTP sink: the recipient's mail server in tests and benchmarks.
//!
//! It runs the real [`SmtpServer`] on `127.0.0.1:0`, records what it receives and can be
//! told, globally or per recipient pattern, to refuse (4xx/5xx), to drop the connection at
//! a given stage, or to be slow. With [`SinkOptions::credentials`] it plays a relay that
//! requires AUTH.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use herald::smtp::Reply;
//! use herald::smtp::sink::{Rule, Sink, Stage};
//! let sink = Sink::start().await?;
//! // the first attempt for anyone at grey.test is greylisted, the retry goes through
//! sink.add_rule(Rule::reply(Stage::Rcpt, Reply::new(451, "4.7.1", "Greylisted"))
//!     .for_recipients("*@grey.test").times(1));
//! sink.add_rule(Rule::reply(Stage::Rcpt, Reply::new(550, "5.1.1", "No such user"))
//!     .for_recipients("nobody@*"));
//! // ... deliver to sink.addr() ...
//! sink.wait_for(3).await;
//! let received = sink.messages();
//! sink.stop().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::reply::Reply;
use super::server::{Envelope, Limits, SessionHandler, SmtpServer, Verdict};

/// Where in the session a rule acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Before the greeting (a reply replaces the greeting, e.g. `421`/`554`).
    Connect,
    /// The MAIL FROM command.
    Mail,
    /// Each RCPT TO command.
    Rcpt,
    /// The DATA (or first BDAT) command, after the recipients were accepted.
    Data,
    /// While message content arrives: only `Disconnect` makes sense here (354, then close).
    MidData,
    /// The end of the message: the final reply.
    EndOfData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Reply(Reply),
    /// Close the connection without replying.
    Disconnect,
}

/// One scripted behaviour.
#[derive(Debug, Clone)]
pub struct Rule {
    stage: Stage,
    action: Action,
    /// Glob on the recipient (`*` matches anything, case-insensitive); `None` = every session.
    recipients: Option<String>,
    /// How many more times the rule fires; `None` = always.
    remaining: Option<usize>,
}

impl Rule {
    pub fn reply(stage: Stage, reply: Reply) -> Self {
        Self {
            stage,
            action: Action::Reply(reply),
            recipients: None,
            remaining: None,
        }
    }

    pub fn disconnect(stage: Stage) -> Self {
        Self {
            stage,
            action: Action::Disconnect,
            recipients: None,
            remaining: None,
        }
    }

    /// Only for recipients matching `pattern` (at RCPT: the recipient given; at DATA and
    /// later: any accepted recipient). Such a rule never acts at Connect or Mail.
    pub fn for_recipients(mut self, pattern: &str) -> Self {
        self.recipients = Some(pattern.to_ascii_lowercase());
        self
    }

    /// Fire only the first `n` times, then stop applying.
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = Some(n);
        self
    }

    fn matches<'a>(&self, stage: Stage, mut recipients: impl Iterator<Item = &'a str>) -> bool {
        if self.stage != stage || self.remaining == Some(0) {
            return false;
        }
        match &self.recipients {
            None => true,
            Some(pattern) => recipients.any(|rcpt| glob_match(pattern, &rcpt.to_lowercase())),
        }
    }
}

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub envelope: Envelope,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Keep each message's envelope and bytes; `false` only counts (for benchmarks).
    pub keep_messages: bool,
    pub limits: Limits,
    /// User and password a client must AUTH with before MAIL (a relay); `None`: no AUTH.
    pub credentials: Option<(String, String)>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            keep_messages: true,
            limits: Limits {
                hostname: "sink.test".to_string(),
                max_connections: 1024,
                ..Limits::default()
            },
            credentials: None,
        }
    }
}

pub struct Sink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

struct SinkState {
    keep_messages: bool,
    credentials: Option<(String, String)>,
    rules: Mutex<Vec<Rule>>,
    delay: Mutex<Duration>,
    messages: Mutex<Vec<ReceivedMessage>>,
    count: watch::Sender<usize>,
    bytes: AtomicU64,
    connections: AtomicU64,
}

impl Sink {
    /// Starts a recording sink on `127.0.0.1` with a free port.
    pub async fn start() -> std::io::Result<Sink> {
        Self::start_with(SinkOptions::default()).await
    }

    pub async fn start_with(mut options: SinkOptions) -> std::io::Result<Sink> {
        options.limits.offer_auth |= options.credentials.is_some();
        let state = Arc::new(SinkState {
            keep_messages: options.keep_messages,
            credentials: options.credentials.clone(),
            rules: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
            messages: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
            bytes: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let shutdown = CancellationToken::new();
        let handler = SinkHandler {
            state: state.clone(),
        };
        let (addr, task) = SmtpServer::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            handler,
            options.limits,
            shutdown.clone(),
        )
        .await?;
        Ok(Sink {
            addr,
            state,
            shutdown,
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Rules are tried in the order they were added; the first that matches acts.
    pub fn add_rule(&self, rule: Rule) {
        self.state.rules.lock().push(rule);
    }

    /// Back to accepting everything.
    pub fn clear_rules(&self) {
        self.state.rules.lock().clear();
    }

    /// Waits this long before every reply (greeting included).
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock() = delay;
    }

    /// Messages accepted so far (empty in counting mode).
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.state.messages.lock().clone()
    }

    /// Number of messages accepted so far.
    pub fn count(&self) -> usize {
        *self.state.count.borrow()
    }

    /// Bytes of accepted messages so far.
    pub fn bytes(&self) -> u64 {
        self.state.bytes.load(Ordering::Relaxed)
    }

    /// Connections opened so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Resolves once at least `n` messages were accepted. It does not time out: wrap it in
    /// `tokio::time::timeout` where a hang must fail.
    pub async fn wait_for(&self, n: usize) {
        let mut count = self.state.count.subscribe();
        let _ = count.wait_for(|count| *count >= n).await;
    }

    /// Stops the server and waits for its sessions to end.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct SinkHandler {
    state: Arc<SinkState>,
}

impl SinkHandler {
    /// The first rule matching one of `stages` acts (using up one of its `times`); none
    /// matching accepts. Either way after the configured delay.
    async fn decide<'a>(
        &self,
        stages: &[Stage],
        recipients: impl Iterator<Item = &'a str>,
    ) -> Verdict {
        let fired = {
            let recipients: Vec<&str> = recipients.collect();
            let mut rules = self.state.rules.lock();
            rules
                .iter_mut()
                .find(|rule| {
                    stages
                        .iter()
                        .any(|&stage| rule.matches(stage, recipients.iter().copied()))
                })
                .map(|rule| {
                    if let Some(remaining) = &mut rule.remaining {
                        *remaining -= 1;
                    }
                    (rule.stage, rule.action.clone())
                })
        };
        let delay = *self.state.delay.lock();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match fired {
            None => Verdict::Accept,
            Some((_, Action::Reply(reply))) => Verdict::Reply(reply),
            Some((Stage::MidData, Action::Disconnect)) => Verdict::DisconnectMidData,
            Some((_, Action::Disconnect)) => Verdict::Disconnect,
        }
    }
}

impl SessionHandler for SinkHandler {
    async fn connect(&self, _peer: SocketAddr) -> Verdict {
        self.state.connections.fetch_add(1, Ordering::Relaxed);
        self.decide(&[Stage::Connect], std::iter::empty()).await
    }

    async fn auth(&self, _envelope: &Envelope, username: &str, password: &str) -> Verdict {
        match &self.state.credentials {
            Some((user, pass)) if user == username && pass == password => Verdict::Accept,
            _ => Verdict::Reply(Reply::new(
                535,
                "5.7.8",
                "Authentication credentials invalid",
            )),
        }
    }

    async fn mail_from(&self, envelope: &Envelope) -> Verdict {
        if self.state.credentials.is_some() && envelope.authenticated.is_none() {
            return Verdict::Reply(Reply::new(530, "5.7.0", "Authentication required"));
        }
        self.decide(&[Stage::Mail], std::iter::empty()).await
    }

    async fn rcpt_to(&self, _envelope: &Envelope, rcpt: &str) -> Verdict {
        self.decide(&[Stage::Rcpt], std::iter::once(rcpt)).await
    }

    async fn data(&self, envelope: &Envelope) -> Verdict {
        // a mid-data drop is decided at the DATA command, which it then answers with 354
        let recipients = envelope.rcpt_to.iter().map(String::as_str);
        self.decide(&[Stage::Data, Stage::MidData], recipients)
            .await
    }

    async fn message(&self, envelope: &Envelope, data: Vec<u8>) -> Verdict {
        let recipients = envelope.rcpt_to.iter().map(String::as_str);
        let verdict = self.decide(&[Stage::EndOfData], recipients).await;
        // Dropping the connection after the content still counts as received: the client
        // cannot tell, which is the point of that scenario (it will retry: a duplicate).
        let refused = matches!(&verdict, Verdict::Reply(reply) if !reply.is_positive());
        if !refused {
            self.state
                .bytes
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            if self.state.keep_messages {
                self.state.messages.lock().push(ReceivedMessage {
                    envelope: envelope.clone(),
                    data,
                });
            }
            self.state.count.send_modify(|count| *count += 1);
        }
        verdict
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "a@b.test"));
        assert!(glob_match("*@grey.test", "anna@grey.test"));
        assert!(!glob_match("*@grey.test", "anna@grey.test.org"));
        assert!(glob_match("nobody@*", "nobody@x.test"));
        assert!(glob_match("a*b*c", "a-b-c"));
        assert!(!glob_match("a*b*c", "a-c"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("exact@x.test", "exact@x.test"));
    }

    #[test]
    fn rules_match_stage_recipient_and_remaining_uses() {
        let rule = Rule::disconnect(Stage::Rcpt)
            .for_recipients("*@x.test")
            .times(1);
        assert!(rule.matches(Stage::Rcpt, ["a@X.test"].into_iter()));
        assert!(!rule.matches(Stage::Data, ["a@x.test"].into_iter()));
        assert!(!rule.matches(Stage::Rcpt, ["a@y.test"].into_iter()));
        assert!(!rule.matches(Stage::Mail, std::iter::empty()));
        let used = rule.times(0);
        assert!(!used.matches(Stage::Rcpt, ["a@x.test"].into_iter()));
        assert!(Rule::disconnect(Stage::Mail).matches(Stage::Mail, std::iter::empty()));
    }
}
