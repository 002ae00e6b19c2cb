//! One SMTP connection: reads bytes, feeds them to smtp-proto's receivers, asks the handler,
//! writes replies. Replies are buffered and written when the client's input is used up,
//! which is what PIPELINING needs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use smtp_proto::request::receiver::{
    BdatReceiver, DataReceiver, DummyDataReceiver, DummyLineReceiver, RequestReceiver,
};
use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN, Error as ParseError, MAIL_SMTPUTF8, MailFrom, Request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::reply::Reply;
use super::server::{BareLineEndings, Envelope, Limits, SessionHandler, Verdict};

const READ_BUFFER: usize = 16 * 1024;

/// Answers a client over the connection cap and closes.
pub(super) async fn refuse_busy(mut stream: TcpStream, hostname: String) {
    let mut out = Vec::new();
    Reply::new(
        421,
        "4.7.0",
        format!("{hostname} Too many connections, try again later"),
    )
    .write_to(&mut out);
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.write_all(&out)).await;
    let _ = stream.shutdown().await;
}

pub(super) async fn run<H: SessionHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<H>,
    limits: Arc<Limits>,
    shutdown: CancellationToken,
) {
    let mut session = Session::new(
        stream,
        peer,
        handler.clone(),
        limits.clone(),
        shutdown.clone(),
    );
    let end = session.serve(true).await;
    let _ = session.flush().await;
    let (Flow::StartTls, Some(config)) = (end, limits.tls.clone()) else {
        let _ = session.stream.shutdown().await;
        return;
    };
    // The 220 went out; the handshake follows. Whatever the client sent after STARTTLS in
    // plain text was dropped with the read buffer (RFC 3207 section 4.2: no command
    // injection across the upgrade).
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let Ok(Ok(stream)) =
        tokio::time::timeout(limits.command_timeout, acceptor.accept(session.stream)).await
    else {
        return;
    };
    // A new session: the client says EHLO again and nothing from before TLS is kept.
    let mut session = Session::new(stream, peer, handler, limits, shutdown);
    session.envelope.tls = true;
    session.serve(false).await;
    let _ = session.flush().await;
    let _ = session.stream.shutdown().await;
}

enum Flow {
    Continue,
    Close,
    /// STARTTLS was accepted: the handshake comes next.
    StartTls,
}

enum State {
    Command(RequestReceiver),
    /// After a command line longer than smtp-proto accepts: skip to its end.
    SkipLine(DummyLineReceiver),
    Data {
        receiver: DataReceiver,
        drop_on_content: bool,
    },
    Bdat {
        receiver: BdatReceiver,
        drop_on_content: bool,
    },
    /// Content that will be refused (too large, or no transaction): read it to its end,
    /// then answer `reply`.
    Discard {
        receiver: DummyDataReceiver,
        reply: Reply,
    },
    /// An AUTH exchange waits for the client's next (base64) line.
    AuthLine {
        mechanism: u64,
        username: Option<String>,
        line: Vec<u8>,
    },
}

/// Longest AUTH response line accepted.
const MAX_AUTH_LINE: usize = 4096;

impl State {
    fn command() -> Self {
        State::Command(RequestReceiver::default())
    }

    fn data(drop_on_content: bool) -> Self {
        // smtp-proto's receiver recognises `.` lines only after a CRLF it has seen; the
        // CRLF that ended the DATA command counts, so feed it one.
        let mut receiver = DataReceiver::new();
        receiver.ingest(&mut b"\r\n".iter(), &mut Vec::new());
        State::Data {
            receiver,
            drop_on_content,
        }
    }

    fn reading_content(&self) -> bool {
        matches!(
            self,
            State::Data { .. } | State::Bdat { .. } | State::Discard { .. }
        )
    }
}

struct Session<H, S> {
    stream: S,
    handler: Arc<H>,
    limits: Arc<Limits>,
    shutdown: CancellationToken,
    /// Replies not yet written.
    out: Vec<u8>,
    envelope: Envelope,
    /// MAIL FROM was accepted.
    in_transaction: bool,
    bdat_started: bool,
    message: Vec<u8>,
    errors: usize,
    state: State,
}

impl<H: SessionHandler, S: AsyncRead + AsyncWrite + Unpin + Send> Session<H, S> {
    fn new(
        stream: S,
        peer: SocketAddr,
        handler: Arc<H>,
        limits: Arc<Limits>,
        shutdown: CancellationToken,
    ) -> Self {
        Session {
            stream,
            handler,
            limits,
            shutdown,
            out: Vec::new(),
            envelope: Envelope {
                peer,
                helo: String::new(),
                mail_from: String::new(),
                rcpt_to: Vec::new(),
                declared_size: 0,
                smtputf8: false,
                authenticated: None,
                tls: false,
            },
            in_transaction: false,
            bdat_started: false,
            message: Vec::new(),
            errors: 0,
            state: State::command(),
        }
    }

    /// Serves commands until the connection ends ([`Flow::Close`]) or STARTTLS was
    /// accepted ([`Flow::StartTls`]). `greet`: a new connection, not one just upgraded.
    async fn serve(&mut self, greet: bool) -> Flow {
        if greet {
            match self.handler.connect(self.envelope.peer).await {
                Verdict::Accept => self.reply(Reply::plain(
                    220,
                    format!("{} ESMTP Herald", self.limits.hostname),
                )),
                Verdict::Reply(reply) => {
                    let refused = !reply.is_positive();
                    self.reply(reply);
                    if refused {
                        return Flow::Close;
                    }
                }
                Verdict::Disconnect | Verdict::DisconnectMidData => return Flow::Close,
            }
        }
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            if self.flush().await.is_err() {
                return Flow::Close;
            }
            let timeout = if self.state.reading_content() {
                self.limits.data_timeout
            } else {
                self.limits.command_timeout
            };
            let read = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    self.reply(Reply::new(421, "4.3.2", format!(
                        "{} Service shutting down, try again later", self.limits.hostname
                    )));
                    return Flow::Close;
                }
                read = tokio::time::timeout(timeout, self.stream.read(&mut buf)) => read,
            };
            let n = match read {
                Err(_) => {
                    self.reply(Reply::new(
                        421,
                        "4.4.2",
                        format!("{} Timeout, closing connection", self.limits.hostname),
                    ));
                    return Flow::Close;
                }
                Ok(Ok(0)) | Ok(Err(_)) => return Flow::Close,
                Ok(Ok(n)) => n,
            };
            match self.ingest(&buf[..n]).await {
                Flow::Continue => {}
                // Bytes after STARTTLS in this read are dropped with `buf`.
                end => return end,
            }
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.out).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(self.limits.command_timeout, write).await {
            Ok(result) => {
                self.out.clear();
                result
            }
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    fn reply(&mut self, reply: Reply) {
        reply.write_to(&mut self.out);
    }

    /// Runs every complete command and content in `bytes`.
    async fn ingest(&mut self, bytes: &[u8]) -> Flow {
        let mut bytes = bytes.iter();
        loop {
            let flow = match &mut self.state {
                State::Command(receiver) => match receiver.ingest(&mut bytes) {
                    Ok(request) => {
                        let request = request.into_owned();
                        self.command(request).await
                    }
                    Err(ParseError::NeedsMoreData { .. }) => return Flow::Continue,
                    Err(err) => self.bad_command(err),
                },
                State::SkipLine(receiver) => {
                    if !receiver.ingest(&mut bytes) {
                        return Flow::Continue;
                    }
                    self.state = State::command();
                    Flow::Continue
                }
                State::Data {
                    receiver,
                    drop_on_content,
                } => {
                    if *drop_on_content && !bytes.as_slice().is_empty() {
                        return Flow::Close;
                    }
                    let done = receiver.ingest(&mut bytes, &mut self.message);
                    if done {
                        self.state = State::command();
                        self.end_of_data().await
                    } else if self.message.len() > self.limits.max_message_size {
                        let receiver = DummyDataReceiver::new_data(receiver);
                        self.message = Vec::new();
                        self.state = State::Discard {
                            receiver,
                            reply: too_big(),
                        };
                        Flow::Continue
                    } else {
                        return Flow::Continue;
                    }
                }
                State::Bdat {
                    receiver,
                    drop_on_content,
                } => {
                    if *drop_on_content && !bytes.as_slice().is_empty() {
                        return Flow::Close;
                    }
                    if !receiver.ingest(&mut bytes, &mut self.message) {
                        return Flow::Continue;
                    }
                    let is_last = receiver.is_last;
                    self.state = State::command();
                    if is_last {
                        let data = std::mem::take(&mut self.message);
                        self.deliver(data).await
                    } else {
                        let received = self.message.len();
                        self.reply(Reply::new(
                            250,
                            "2.0.0",
                            format!("{received} octets received"),
                        ));
                        Flow::Continue
                    }
                }
                State::AuthLine { line, .. } => {
                    let mut complete = false;
                    for &byte in bytes.by_ref() {
                        line.push(byte);
                        if byte == b'\n' {
                            complete = true;
                            break;
                        }
                    }
                    if !complete && line.len() <= MAX_AUTH_LINE {
                        return Flow::Continue;
                    }
                    let State::AuthLine {
                        mechanism,
                        username,
                        line,
                    } = std::mem::replace(&mut self.state, State::command())
                    else {
                        unreachable!()
                    };
                    self.auth_line(mechanism, username, line).await
                }
                State::Discard { receiver, reply } => {
                    if !receiver.ingest(&mut bytes) {
                        return Flow::Continue;
                    }
                    let reply = reply.clone();
                    self.state = State::command();
                    self.reset_transaction();
                    self.reply(reply);
                    Flow::Continue
                }
            };
            if !matches!(flow, Flow::Continue) {
                return flow;
            }
        }
    }

    async fn command(&mut self, request: Request<String>) -> Flow {
        match request {
            Request::Ehlo { host } => {
                self.reset_transaction();
                self.envelope.helo = host;
                let mut lines = vec![format!(
                    "{} Hello {}",
                    self.limits.hostname, self.envelope.helo
                )];
                if self.limits.pipelining {
                    lines.push("PIPELINING".to_string());
                }
                lines.extend([
                    format!("SIZE {}", self.limits.max_message_size),
                    "8BITMIME".to_string(),
                    "SMTPUTF8".to_string(),
                    "ENHANCEDSTATUSCODES".to_string(),
                    "CHUNKING".to_string(),
                ]);
                if self.limits.tls.is_some() && !self.envelope.tls {
                    lines.push("STARTTLS".to_string());
                }
                if self.limits.offer_auth {
                    lines.push("AUTH PLAIN LOGIN".to_string());
                }
                self.reply(Reply::plain(250, lines.join("\n")));
                Flow::Continue
            }
            Request::Helo { host } => {
                self.reset_transaction();
                self.envelope.helo = host;
                self.reply(Reply::plain(250, self.limits.hostname.clone()));
                Flow::Continue
            }
            Request::Mail { from } => self.mail(from).await,
            Request::Rcpt { to } => self.rcpt(to.address).await,
            Request::Data => self.data().await,
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(chunk_size, is_last).await,
            Request::Rset => {
                self.reset_transaction();
                self.reply(Reply::new(250, "2.0.0", "OK"));
                Flow::Continue
            }
            Request::Noop { .. } => {
                self.reply(Reply::new(250, "2.0.0", "OK"));
                Flow::Continue
            }
            Request::Quit => {
                self.reply(Reply::new(221, "2.0.0", "Bye"));
                Flow::Close
            }
            Request::Auth {
                mechanism,
                initial_response,
            } if self.limits.offer_auth => self.auth(mechanism, initial_response).await,
            Request::StartTls if self.limits.tls.is_some() => self.start_tls(),
            Request::Vrfy { .. } | Request::Expn { .. } => {
                self.refuse(Reply::new(502, "5.5.1", "VRFY and EXPN are disabled"))
            }
            Request::Help { .. } => {
                self.reply(Reply::new(214, "2.0.0", "See RFC 5321"));
                Flow::Continue
            }
            other => self.refuse(Reply::new(
                502,
                "5.5.1",
                format!("{} is not implemented", other.name()),
            )),
        }
    }

    fn bad_command(&mut self, err: ParseError) -> Flow {
        let reply = match err {
            ParseError::UnknownCommand => Reply::new(500, "5.5.1", "Unknown command"),
            ParseError::InvalidSenderAddress => {
                Reply::new(501, "5.1.7", "Bad sender address syntax")
            }
            ParseError::InvalidRecipientAddress => {
                Reply::new(501, "5.1.3", "Bad recipient address syntax")
            }
            ParseError::SyntaxError { syntax } => {
                Reply::new(501, "5.5.2", format!("Syntax: {syntax}"))
            }
            ParseError::InvalidParameter { param } => {
                Reply::new(501, "5.5.4", format!("Invalid parameter {param}"))
            }
            ParseError::UnsupportedParameter { param } => {
                Reply::new(504, "5.5.4", format!("Unsupported parameter {param}"))
            }
            ParseError::ResponseTooLong => {
                self.state = State::SkipLine(DummyLineReceiver::default());
                Reply::new(500, "5.5.2", "Line too long")
            }
            _ => Reply::new(500, "5.5.2", "Syntax error"),
        };
        self.refuse(reply)
    }

    fn start_tls(&mut self) -> Flow {
        if self.envelope.tls {
            return self.refuse(Reply::new(503, "5.5.1", "TLS already active"));
        }
        if !self.state_is_idle() {
            return self.refuse(Reply::new(503, "5.5.1", "STARTTLS inside a transaction"));
        }
        self.reply(Reply::new(220, "2.0.0", "Ready to start TLS"));
        Flow::StartTls
    }

    fn state_is_idle(&self) -> bool {
        !self.in_transaction && matches!(self.state, State::Command(_))
    }

    /// Answers a client error and closes the connection after too many of them.
    fn refuse(&mut self, reply: Reply) -> Flow {
        self.reply(reply);
        self.errors += 1;
        if self.errors >= self.limits.max_errors {
            self.reply(Reply::new(
                421,
                "4.7.0",
                format!(
                    "{} Too many errors, closing connection",
                    self.limits.hostname
                ),
            ));
            return Flow::Close;
        }
        Flow::Continue
    }

    /// AUTH PLAIN / LOGIN, with or without an initial response.
    async fn auth(&mut self, mechanism: u64, initial: String) -> Flow {
        if self.envelope.helo.is_empty() {
            return self.refuse(Reply::new(503, "5.5.1", "Send EHLO first"));
        }
        if self.in_transaction || self.envelope.authenticated.is_some() {
            return self.refuse(Reply::new(503, "5.5.1", "AUTH not allowed now"));
        }
        if mechanism != AUTH_PLAIN && mechanism != AUTH_LOGIN {
            return self.refuse(Reply::new(504, "5.5.4", "Unrecognized authentication type"));
        }
        let initial = initial.trim();
        if initial.is_empty() {
            let prompt = if mechanism == AUTH_LOGIN {
                "VXNlcm5hbWU6" // "Username:"
            } else {
                ""
            };
            self.reply(Reply::plain(334, prompt));
            self.state = State::AuthLine {
                mechanism,
                username: None,
                line: Vec::new(),
            };
            return Flow::Continue;
        }
        let line = format!("{initial}\r\n").into_bytes();
        self.auth_line(mechanism, None, line).await
    }

    /// One client line of an AUTH exchange.
    async fn auth_line(&mut self, mechanism: u64, username: Option<String>, line: Vec<u8>) -> Flow {
        let text = String::from_utf8_lossy(&line).trim().to_string();
        if text == "*" {
            return self.refuse(Reply::new(501, "5.0.0", "Authentication canceled"));
        }
        let Ok(decoded) = BASE64.decode(text.as_bytes()) else {
            return self.refuse(Reply::new(501, "5.5.2", "Invalid base64 data"));
        };
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        let (user, password) = match (mechanism, username) {
            (AUTH_LOGIN, None) => {
                self.reply(Reply::plain(334, "UGFzc3dvcmQ6")); // "Password:"
                self.state = State::AuthLine {
                    mechanism,
                    username: Some(decoded),
                    line: Vec::new(),
                };
                return Flow::Continue;
            }
            (AUTH_LOGIN, Some(user)) => (user, decoded),
            // PLAIN: authorization id, NUL, user, NUL, password.
            _ => {
                let mut parts = decoded.split('\0');
                let _authorization = parts.next();
                match (parts.next(), parts.next()) {
                    (Some(user), Some(password)) => (user.to_string(), password.to_string()),
                    _ => {
                        return self.refuse(Reply::new(501, "5.5.2", "Malformed AUTH PLAIN data"));
                    }
                }
            }
        };
        let verdict = self.handler.auth(&self.envelope, &user, &password).await;
        let reply = match verdict {
            Verdict::Accept => Reply::new(235, "2.7.0", "Authentication successful"),
            Verdict::Reply(reply) => reply,
            Verdict::Disconnect | Verdict::DisconnectMidData => return Flow::Close,
        };
        if reply.is_positive() {
            self.envelope.authenticated = Some(user);
            self.reply(reply);
            Flow::Continue
        } else {
            self.refuse(reply)
        }
    }

    async fn mail(&mut self, from: MailFrom<String>) -> Flow {
        if self.envelope.helo.is_empty() {
            return self.refuse(Reply::new(503, "5.5.1", "Send EHLO or HELO first"));
        }
        if self.in_transaction {
            return self.refuse(Reply::new(503, "5.5.1", "Nested MAIL command"));
        }
        if from.size > self.limits.max_message_size {
            self.reply(too_big());
            return Flow::Continue;
        }
        self.envelope.mail_from = from.address;
        self.envelope.declared_size = from.size;
        self.envelope.smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        let verdict = self.handler.mail_from(&self.envelope).await;
        let accepted = match verdict {
            Verdict::Accept => Some(Reply::new(250, "2.1.0", "Sender OK")),
            Verdict::Reply(reply) => Some(reply),
            Verdict::Disconnect | Verdict::DisconnectMidData => None,
        };
        let Some(reply) = accepted else {
            return Flow::Close;
        };
        self.in_transaction = reply.is_positive();
        if !self.in_transaction {
            self.reset_transaction();
        }
        self.reply(reply);
        Flow::Continue
    }

    async fn rcpt(&mut self, address: String) -> Flow {
        if !self.in_transaction {
            return self.refuse(Reply::new(503, "5.5.1", "Need MAIL before RCPT"));
        }
        if self.envelope.rcpt_to.len() >= self.limits.max_recipients {
            self.reply(Reply::new(452, "4.5.3", "Too many recipients"));
            return Flow::Continue;
        }
        let reply = match self.handler.rcpt_to(&self.envelope, &address).await {
            Verdict::Accept => Reply::new(250, "2.1.5", "Recipient OK"),
            Verdict::Reply(reply) => reply,
            Verdict::Disconnect | Verdict::DisconnectMidData => return Flow::Close,
        };
        if reply.is_positive() {
            self.envelope.rcpt_to.push(address);
        }
        self.reply(reply);
        Flow::Continue
    }

    /// Checks the transaction can take content; `None` when it can.
    fn content_refusal(&self) -> Option<Reply> {
        if !self.in_transaction {
            Some(Reply::new(503, "5.5.1", "Need MAIL command"))
        } else if self.envelope.rcpt_to.is_empty() {
            Some(Reply::new(554, "5.5.1", "No valid recipients"))
        } else {
            None
        }
    }

    async fn data(&mut self) -> Flow {
        if let Some(reply) = self.content_refusal() {
            return self.refuse(reply);
        }
        if self.bdat_started {
            return self.refuse(Reply::new(503, "5.5.1", "DATA not allowed after BDAT"));
        }
        let go_ahead = || Reply::plain(354, "End data with <CR><LF>.<CR><LF>");
        match self.handler.data(&self.envelope).await {
            Verdict::Accept => {
                self.reply(go_ahead());
                self.state = State::data(false);
            }
            Verdict::Reply(reply) if reply.code == 354 => {
                self.reply(reply);
                self.state = State::data(false);
            }
            Verdict::Reply(reply) => self.reply(reply),
            Verdict::Disconnect => return Flow::Close,
            Verdict::DisconnectMidData => {
                self.reply(go_ahead());
                self.state = State::data(true);
            }
        }
        self.message.clear();
        Flow::Continue
    }

    async fn bdat(&mut self, chunk_size: usize, is_last: bool) -> Flow {
        let discard = |reply| State::Discard {
            receiver: DummyDataReceiver::new_bdat(chunk_size),
            reply,
        };
        if let Some(reply) = self.content_refusal() {
            self.state = discard(reply);
            return Flow::Continue;
        }
        if self.message.len().saturating_add(chunk_size) > self.limits.max_message_size {
            self.state = discard(too_big());
            return Flow::Continue;
        }
        let mut drop_on_content = false;
        if !self.bdat_started {
            match self.handler.data(&self.envelope).await {
                Verdict::Accept => {}
                Verdict::Reply(reply) if reply.is_positive() => {}
                Verdict::Reply(reply) => {
                    self.state = discard(reply);
                    return Flow::Continue;
                }
                Verdict::Disconnect => return Flow::Close,
                Verdict::DisconnectMidData => drop_on_content = true,
            }
            self.bdat_started = true;
            self.message.clear();
        }
        self.state = State::Bdat {
            receiver: BdatReceiver::new(chunk_size, is_last),
            drop_on_content,
        };
        Flow::Continue
    }

    async fn end_of_data(&mut self) -> Flow {
        let mut data = std::mem::take(&mut self.message);
        if has_bare_line_endings(&data) {
            match self.limits.bare_line_endings {
                BareLineEndings::Reject => {
                    self.reset_transaction();
                    self.reply(Reply::new(
                        554,
                        "5.6.0",
                        "Message contains a bare CR or LF (RFC 5321 section 2.3.8)",
                    ));
                    return Flow::Continue;
                }
                BareLineEndings::Normalize => data = normalize_bare_lf(&data),
            }
        }
        self.deliver(data).await
    }

    /// Hands a complete message to the handler and ends the transaction.
    async fn deliver(&mut self, data: Vec<u8>) -> Flow {
        let verdict = self.handler.message(&self.envelope, data).await;
        self.reset_transaction();
        match verdict {
            Verdict::Accept => self.reply(Reply::new(250, "2.0.0", "Message accepted")),
            Verdict::Reply(reply) => self.reply(reply),
            Verdict::Disconnect | Verdict::DisconnectMidData => return Flow::Close,
        }
        Flow::Continue
    }

    fn reset_transaction(&mut self) {
        self.in_transaction = false;
        self.bdat_started = false;
        self.message = Vec::new();
        self.envelope.mail_from.clear();
        self.envelope.rcpt_to.clear();
        self.envelope.declared_size = 0;
        self.envelope.smtputf8 = false;
    }
}

fn too_big() -> Reply {
    Reply::new(
        552,
        "5.3.4",
        "Message size exceeds fixed maximum message size",
    )
}

/// True when an LF is not preceded by CR, or a CR not followed by LF.
fn has_bare_line_endings(data: &[u8]) -> bool {
    let mut previous = 0u8;
    for (i, &byte) in data.iter().enumerate() {
        match byte {
            b'\n' if previous != b'\r' => return true,
            b'\r' if data.get(i + 1) != Some(&b'\n') => return true,
            _ => {}
        }
        previous = byte;
    }
    false
}

/// Turns every bare LF into CRLF (bare CRs are left alone).
fn normalize_bare_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut previous = 0u8;
    for &byte in data {
        if byte == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(byte);
        previous = byte;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptest_util::{cases, soup};
    use proptest::prelude::*;

    struct AcceptAll;

    impl SessionHandler for AcceptAll {
        async fn message(&self, _envelope: &Envelope, _data: Vec<u8>) -> Verdict {
            Verdict::Accept
        }
    }

    /// Serves one connection whose client sends `input` and hangs up; what the server wrote.
    fn converse(input: Vec<u8>) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (client, server) = tokio::io::duplex(1 << 20);
            let limits = Limits {
                max_message_size: 2048,
                max_recipients: 3,
                offer_auth: true,
                ..Limits::default()
            };
            let mut session = Session::new(
                server,
                "192.0.2.1:2525".parse().unwrap(),
                Arc::new(AcceptAll),
                Arc::new(limits),
                CancellationToken::new(),
            );
            let (mut from_server, mut to_server) = tokio::io::split(client);
            let send = async move {
                let _ = to_server.write_all(&input).await;
                let _ = to_server.shutdown().await;
            };
            let serve = async move {
                session.serve(true).await;
                let _ = session.flush().await;
            };
            let receive = async move {
                let mut out = Vec::new();
                let _ = from_server.read_to_end(&mut out).await;
                out
            };
            tokio::join!(send, serve, receive).2
        })
    }

    const SMTP_PIECES: &[&str] = &[
        "EHLO client.test\r\n",
        "HELO x\r\n",
        "MAIL FROM:<a@b.test>",
        "MAIL FROM:<>",
        " SIZE=100",
        " SMTPUTF8",
        " BODY=8BITMIME",
        "RCPT TO:<c@d.test>",
        "RCPT TO:<",
        "\r\n",
        "\n",
        "\r",
        "DATA\r\n",
        "\r\n.\r\n",
        ".",
        "BDAT 5",
        " LAST",
        "RSET\r\n",
        "NOOP\r\n",
        "VRFY x\r\n",
        "STARTTLS\r\n",
        "AUTH PLAIN",
        " AGFAAGI=",
        "AUTH LOGIN\r\n",
        "*\r\n",
        "QUIT\r\n",
        "hello",
        " ",
        ":",
        "<",
        ">",
        "\u{e9}",
        "\0",
    ];

    proptest! {
        #![proptest_config(cases(128))]

        #[test]
        fn every_byte_stream_gets_well_formed_replies(
            input in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..2048),
                soup(SMTP_PIECES, 60).prop_map(String::into_bytes),
            ],
        ) {
            let output = converse(input);
            let text = String::from_utf8_lossy(&output);
            prop_assert!(text.starts_with("220 "), "{text}");
            prop_assert!(text.ends_with("\r\n"), "{text}");
            for line in text.split_terminator("\r\n") {
                let code = line.get(..3).unwrap_or_default();
                prop_assert!(code.bytes().all(|b| b.is_ascii_digit()), "{line:?}");
                prop_assert!(matches!(line.as_bytes().get(3), Some(b' ' | b'-')), "{line:?}");
            }
        }
    }

    fn receive(chunks: &[&str]) -> Option<String> {
        let State::Data { mut receiver, .. } = State::data(false) else {
            unreachable!()
        };
        let mut buf = Vec::new();
        for chunk in chunks {
            if receiver.ingest(&mut chunk.as_bytes().iter(), &mut buf) {
                return Some(String::from_utf8(buf).unwrap());
            }
        }
        None
    }

    #[test]
    fn data_ends_only_at_crlf_dot_crlf() {
        assert_eq!(receive(&[".\r\n"]).as_deref(), Some(""));
        assert_eq!(
            receive(&["..hidden\r\n.\r\n"]).as_deref(),
            Some(".hidden\r\n")
        );
        assert_eq!(receive(&["a\r\n.", "\r\n"]).as_deref(), Some("a\r\n"));
        // bare LF / bare CR "ends" are content, not the end of the message
        assert_eq!(receive(&["a\n.\nb\r\n"]), None);
        assert_eq!(receive(&["a\n.\r\nb\r\n"]), None);
        assert_eq!(receive(&["a\r.\r\nb\r\n"]), None);
        assert_eq!(
            receive(&["a\n.\r\nMAIL FROM:<x@y>\r\n", ".\r\n"]).as_deref(),
            Some("a\n.\r\nMAIL FROM:<x@y>\r\n")
        );
    }

    #[test]
    fn bare_line_endings_are_found_and_normalized() {
        assert!(!has_bare_line_endings(b"a\r\nb\r\n"));
        assert!(has_bare_line_endings(b"a\nb\r\n"));
        assert!(has_bare_line_endings(b"a\rb\r\n"));
        assert!(has_bare_line_endings(b"a\r"));
        assert_eq!(normalize_bare_lf(b"a\nb\r\nc\rd\n"), b"a\r\nb\r\nc\rd\r\n");
    }
}
