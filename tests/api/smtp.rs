//! The SMTP server and the scriptable sink over real sockets: mail-send (the client Herald
//! delivers with) and raw TCP conversations for the edge cases.

use std::net::SocketAddr;
use std::time::Duration;

use herald::smtp::sink::{Rule, Sink, SinkOptions, Stage};
use herald::smtp::{BareLineEndings, Envelope, Limits, Reply, SessionHandler, SmtpServer, Verdict};
use mail_send::smtp::message::Message;
use mail_send::{Error as SendError, SmtpClient, SmtpClientBuilder};
use smtp_proto::{
    EXT_8BIT_MIME, EXT_CHUNKING, EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

/// Guards against hangs only; nothing here asserts on time.
const PATIENCE: Duration = Duration::from_secs(20);

async fn client(addr: SocketAddr) -> SmtpClient<TcpStream> {
    SmtpClientBuilder::new("127.0.0.1".to_string(), addr.port())
        .unwrap()
        .helo_host("client.test")
        .timeout(PATIENCE)
        .connect_plain()
        .await
        .expect("connect to the sink")
}

fn message<'a>(to: &[&'a str], body: &'a str) -> Message<'a> {
    Message::new("sender@herald.test", to.iter().copied(), body.as_bytes())
}

fn reply_of(err: SendError) -> (u16, [u8; 3]) {
    match err {
        SendError::UnexpectedReply(reply) => (reply.code, reply.esc),
        other => panic!("expected an SMTP reply, got {other:?}"),
    }
}

async fn small_sink(limits: Limits) -> Sink {
    Sink::start_with(SinkOptions {
        keep_messages: true,
        limits,
        ..SinkOptions::default()
    })
    .await
    .unwrap()
}

/// A hand-driven SMTP client for what a well-behaved client never does.
struct Raw {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let (read, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        Raw {
            reader: BufReader::new(read),
            writer,
        }
    }

    /// Connects and reads the greeting.
    async fn greeted(addr: SocketAddr) -> Raw {
        let mut raw = Raw::connect(addr).await;
        assert_eq!(raw.code().await, 220);
        raw
    }

    async fn send(&mut self, text: &str) {
        self.send_bytes(text.as_bytes()).await;
    }

    async fn send_bytes(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
    }

    /// One reply, all its lines joined; `None` when the server closed the connection.
    async fn reply(&mut self) -> Option<String> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(PATIENCE, self.reader.read_line(&mut line))
                .await
                .expect("the server answers")
                .ok()?;
            if n == 0 {
                return (!text.is_empty()).then_some(text);
            }
            text.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Some(text);
            }
        }
    }

    async fn code(&mut self) -> u16 {
        let reply = self.reply().await.expect("a reply");
        reply[..3].parse().unwrap()
    }

    async fn expect(&mut self, prefix: &str) {
        let reply = self.reply().await.expect("a reply");
        assert!(
            reply.starts_with(prefix),
            "expected {prefix:?}, got {reply:?}"
        );
    }

    /// Returns once the server has closed the connection (pending bytes are skipped; a
    /// reset counts as closed too).
    async fn closed(&mut self) {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, self.reader.read_to_end(&mut rest))
            .await
            .expect("the server closes the connection");
    }

    async fn hello(&mut self) {
        self.send("EHLO raw.test\r\n").await;
        self.expect("250").await;
    }
}

#[tokio::test]
async fn mail_send_delivers_and_the_sink_records_envelope_and_bytes() {
    let sink = Sink::start().await.unwrap();
    let mut client = client(sink.addr()).await;
    let caps = client.ehlo("client.test").await.unwrap();
    for ext in [
        EXT_PIPELINING,
        EXT_8BIT_MIME,
        EXT_SMTP_UTF8,
        EXT_SIZE,
        EXT_ENHANCED_STATUS_CODES,
        EXT_CHUNKING,
    ] {
        assert!(caps.has_capability(ext), "capability {ext:#x} advertised");
    }
    assert_eq!(caps.size, Limits::default().max_message_size);

    // Lines starting with a dot are stuffed by the client and unstuffed by the server.
    let body = "Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n";
    let reply = client
        .send(message(&["anna@dest.test", "bob@dest.test"], body))
        .await
        .unwrap();
    assert_eq!(reply.code, 250);
    assert_eq!(reply.esc, [2, 0, 0]);

    // Chunking (BDAT) on the same connection.
    client.mail_from("", &Default::default()).await.unwrap();
    client
        .rcpt_to("carl@dest.test", &Default::default())
        .await
        .unwrap();
    let reply = client
        .bdat("Subject: chunked\r\n\r\nbare\nlf kept\r\n")
        .await;
    assert_eq!(reply.unwrap().code, 250);
    client.quit().await.unwrap();

    sink.wait_for(2).await;
    let received = sink.messages();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].envelope.mail_from, "sender@herald.test");
    assert_eq!(received[0].envelope.helo, "client.test");
    assert_eq!(
        received[0].envelope.rcpt_to,
        vec!["anna@dest.test", "bob@dest.test"]
    );
    // mail-send always writes CRLF . CRLF after the body, so a body that already ends in
    // CRLF arrives with one more empty line (which is what SMTP says it sent).
    assert_eq!(
        String::from_utf8_lossy(&received[0].data),
        format!("{body}\r\n")
    );
    assert_eq!(received[1].envelope.mail_from, "", "null sender");
    assert_eq!(
        received[1].data, b"Subject: chunked\r\n\r\nbare\nlf kept\r\n",
        "BDAT content is taken as is"
    );
    assert_eq!(sink.count(), 2);
    assert_eq!(sink.connections(), 1);
}

#[tokio::test]
async fn pipelined_commands_get_their_replies_in_order() {
    let sink = Sink::start().await.unwrap();
    sink.add_rule(
        Rule::reply(Stage::Rcpt, Reply::new(550, "5.1.1", "No such user"))
            .for_recipients("nobody@*"),
    );
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.send(concat!(
        "EHLO raw.test\r\n",
        "MAIL FROM:<a@src.test> SIZE=100 BODY=8BITMIME SMTPUTF8\r\n",
        "RCPT TO:<b@dest.test>\r\n",
        "RCPT TO:<nobody@dest.test>\r\n",
        "RCPT TO:<c@dest.test>\r\n",
        "DATA\r\n",
    ))
    .await;
    let ehlo = raw.reply().await.unwrap();
    assert!(ehlo.contains("250-PIPELINING") && ehlo.contains("250 CHUNKING"));
    raw.expect("250 2.1.0").await;
    raw.expect("250 2.1.5").await;
    raw.expect("550 5.1.1 No such user").await;
    raw.expect("250 2.1.5").await;
    raw.expect("354").await;
    // The content, the end of data and the next commands in one write.
    raw.send("..stuffed\r\nplain\r\n.\r\nNOOP\r\nRSET\r\nQUIT\r\n")
        .await;
    raw.expect("250 2.0.0 Message accepted").await;
    raw.expect("250 2.0.0").await;
    raw.expect("250 2.0.0").await;
    raw.expect("221").await;
    raw.closed().await;

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].data, b".stuffed\r\nplain\r\n");
    assert_eq!(
        received[0].envelope.rcpt_to,
        vec!["b@dest.test", "c@dest.test"]
    );
    assert_eq!(received[0].envelope.declared_size, 100);
    assert!(received[0].envelope.smtputf8);
}

const SMUGGLING: &str = concat!(
    "Subject: first\r\n\r\nhello\n.\n",
    "MAIL FROM:<evil@src.test>\r\n",
    "RCPT TO:<victim@dest.test>\r\n",
    "DATA\r\n",
    "Subject: smuggled\r\n\r\nbad\n.\r\n",
    "tail\r\n",
    ".\r\n",
);

#[tokio::test]
async fn bare_lf_cannot_end_data_or_smuggle_a_second_message() {
    let sink = Sink::start().await.unwrap();
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.hello().await;
    raw.send("MAIL FROM:<a@src.test>\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("354").await;
    raw.send(SMUGGLING).await;
    raw.expect("250 2.0.0").await;
    raw.send("QUIT\r\n").await;
    raw.expect("221").await;

    let received = sink.messages();
    assert_eq!(received.len(), 1, "one message, nothing smuggled");
    assert_eq!(received[0].envelope.rcpt_to, vec!["b@dest.test"]);
    let data = String::from_utf8(received[0].data.clone()).unwrap();
    assert!(data.contains("MAIL FROM:<evil@src.test>"), "{data}");
    // normalized: the bare LFs became CRLF
    assert!(data.starts_with("Subject: first\r\n\r\nhello\r\n.\r\nMAIL FROM"));
    assert!(!data.replace("\r\n", "").contains('\n'));

    // The strict policy refuses such content outright.
    let sink = small_sink(Limits {
        bare_line_endings: BareLineEndings::Reject,
        ..Limits::default()
    })
    .await;
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.hello().await;
    raw.send("MAIL FROM:<a@src.test>\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("354").await;
    raw.send(SMUGGLING).await;
    raw.expect("554 5.6.0").await;
    raw.send("RCPT TO:<b@dest.test>\r\n").await;
    raw.expect("503").await;
    assert_eq!(sink.count(), 0);
}

#[tokio::test]
async fn oversize_messages_are_refused_and_the_session_goes_on() {
    let sink = small_sink(Limits {
        max_message_size: 1_000,
        ..Limits::default()
    })
    .await;
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.send("EHLO raw.test\r\n").await;
    assert!(raw.reply().await.unwrap().contains("250-SIZE 1000\r\n"));
    raw.send("MAIL FROM:<a@src.test> SIZE=5000\r\n").await;
    raw.expect("552 5.3.4").await;

    // Undeclared size: the content is read to its end, then refused.
    raw.send("MAIL FROM:<a@src.test>\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("354").await;
    let line = format!("{}\r\n", "x".repeat(98));
    raw.send(&line.repeat(300)).await;
    raw.send(".\r\n").await;
    raw.expect("552 5.3.4").await;

    // Same with BDAT, refused from its announced size.
    raw.send("MAIL FROM:<a@src.test>\r\nRCPT TO:<b@dest.test>\r\nBDAT 5000 LAST\r\n")
        .await;
    raw.send(&"y".repeat(5000)).await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("552 5.3.4").await;

    // And the connection still works.
    raw.send("MAIL FROM:<a@src.test>\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("354").await;
    raw.send("small\r\n.\r\n").await;
    raw.expect("250 2.0.0").await;
    assert_eq!(sink.count(), 1);

    // The client sees the refusal as a 552.
    let mut client = client(sink.addr()).await;
    let big = "z".repeat(2_000);
    let err = client
        .send(message(&["b@dest.test"], &big))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (552, [5, 3, 4]));
}

#[tokio::test]
async fn connections_over_the_cap_are_told_to_come_back() {
    let sink = small_sink(Limits {
        max_connections: 1,
        ..Limits::default()
    })
    .await;
    let mut first = Raw::greeted(sink.addr()).await;
    let mut second = Raw::connect(sink.addr()).await;
    second.expect("421 4.7.0").await;
    second.closed().await;
    // The first is unaffected; once it leaves, there is room again.
    first.hello().await;
    first.send("QUIT\r\n").await;
    first.expect("221").await;
    first.closed().await;
    let mut third = loop {
        let mut raw = Raw::connect(sink.addr()).await;
        match raw.code().await {
            220 => break raw,
            // the first session may still be winding down
            _ => tokio::task::yield_now().await,
        }
    };
    third.hello().await;
}

#[tokio::test]
async fn protocol_errors_sequence_and_refused_commands() {
    let sink = small_sink(Limits {
        max_recipients: 2,
        max_errors: 8,
        ..Limits::default()
    })
    .await;
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.send("MAIL FROM:<a@src.test>\r\n").await;
    raw.expect("503 5.5.1").await; // no EHLO yet
    raw.hello().await;
    raw.send("RCPT TO:<b@dest.test>\r\n").await;
    raw.expect("503 5.5.1").await; // no MAIL yet
    raw.send("DATA\r\n").await;
    raw.expect("503 5.5.1").await;
    raw.send("VRFY root\r\n").await;
    raw.expect("502 5.5.1").await;
    raw.send("FROB\r\n").await;
    raw.expect("500 5.5.1").await;
    raw.send(&format!("NOOP {}\r\n", "n".repeat(20_000))).await;
    raw.expect("500 5.5.2 Line too long").await;
    raw.send("NOOP\r\n").await;
    raw.expect("250").await;
    raw.send("MAIL FROM:<a@src.test>\r\nMAIL FROM:<a@src.test>\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("503 5.5.1 Nested").await;
    raw.send("RCPT TO:<1@d.test>\r\nRCPT TO:<2@d.test>\r\nRCPT TO:<3@d.test>\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("452 4.5.3").await;
    raw.send("STARTTLS\r\n").await;
    raw.expect("502").await; // the eighth error: the server gives up
    raw.expect("421 4.7.0").await;
    raw.closed().await;
}

#[tokio::test]
async fn an_idle_client_times_out() {
    let sink = small_sink(Limits {
        command_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.expect("421 4.4.2").await;
    raw.closed().await;
}

#[tokio::test]
async fn stopping_tells_connected_clients_and_waits_for_them() {
    let sink = Sink::start().await.unwrap();
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.hello().await;
    let addr = sink.addr();
    // Stopping is what this test is about.
    sink.stop().await;
    raw.expect("421 4.3.2").await;
    raw.closed().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn greylisting_then_success_on_retry() {
    let sink = Sink::start().await.unwrap();
    sink.add_rule(
        Rule::reply(
            Stage::Rcpt,
            Reply::new(451, "4.7.1", "Greylisted, retry later"),
        )
        .for_recipients("*@grey.test")
        .times(1),
    );
    let mut first = client(sink.addr()).await;
    let err = first
        .send(message(&["anna@grey.test"], "Subject: a\r\n\r\nx\r\n"))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (451, [4, 7, 1]));
    // Other domains are not affected, and the retry goes through.
    let mut second = client(sink.addr()).await;
    for to in ["anna@other.test", "anna@grey.test"] {
        second
            .send(message(&[to], "Subject: a\r\n\r\nx\r\n"))
            .await
            .unwrap();
    }
    assert_eq!(sink.count(), 2);
}

#[tokio::test]
async fn scripted_refusals_at_each_stage() {
    let sink = Sink::start().await.unwrap();
    let body = "Subject: s\r\n\r\nx\r\n";

    sink.add_rule(Rule::reply(
        Stage::Connect,
        Reply::new(554, "5.7.1", "Go away"),
    ));
    let err = SmtpClientBuilder::new("127.0.0.1".to_string(), sink.addr().port())
        .unwrap()
        .timeout(PATIENCE)
        .connect_plain()
        .await
        .err()
        .expect("greeting refused");
    assert_eq!(reply_of(err), (554, [5, 7, 1]));
    sink.clear_rules();

    sink.add_rule(Rule::reply(
        Stage::Mail,
        Reply::new(550, "5.7.1", "Sender refused"),
    ));
    let err = client(sink.addr())
        .await
        .send(message(&["a@d.test"], body))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (550, [5, 7, 1]));
    sink.clear_rules();

    sink.add_rule(
        Rule::reply(Stage::Rcpt, Reply::new(550, "5.1.1", "No such user"))
            .for_recipients("gone@d.test"),
    );
    let err = client(sink.addr())
        .await
        .send(message(&["gone@d.test"], body))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (550, [5, 1, 1]));
    sink.clear_rules();

    sink.add_rule(Rule::reply(
        Stage::Data,
        Reply::new(452, "4.3.1", "Insufficient storage"),
    ));
    let err = client(sink.addr())
        .await
        .send(message(&["a@d.test"], body))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (452, [4, 3, 1]));
    sink.clear_rules();

    sink.add_rule(
        Rule::reply(
            Stage::EndOfData,
            Reply::new(554, "5.7.1", "Message rejected as spam"),
        )
        .for_recipients("*@strict.test"),
    );
    let mut client = client(sink.addr()).await;
    let err = client
        .send(message(&["a@d.test", "b@strict.test"], body))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (554, [5, 7, 1]));
    client.rset().await.unwrap();
    client.send(message(&["a@d.test"], body)).await.unwrap();
    assert_eq!(sink.count(), 1, "refused messages are not recorded");
}

/// Sends one message with mail-send and returns the error it ended with.
async fn send_failure(sink: &Sink) -> SendError {
    client(sink.addr())
        .await
        .send(message(&["a@d.test"], "Subject: s\r\n\r\nx\r\n"))
        .await
        .unwrap_err()
}

fn is_connection_loss(err: &SendError) -> bool {
    matches!(err, SendError::Io(_) | SendError::UnparseableReply)
}

#[tokio::test]
async fn scripted_disconnects_at_each_stage() {
    let sink = Sink::start().await.unwrap();

    sink.add_rule(Rule::disconnect(Stage::Connect).times(1));
    let refused = SmtpClientBuilder::new("127.0.0.1".to_string(), sink.addr().port())
        .unwrap()
        .timeout(PATIENCE)
        .connect_plain()
        .await;
    assert!(refused.is_err());

    for stage in [Stage::Mail, Stage::Rcpt, Stage::Data] {
        sink.add_rule(Rule::disconnect(stage).times(1));
        let err = send_failure(&sink).await;
        assert!(is_connection_loss(&err), "{stage:?}: {err:?}");
    }
    assert_eq!(sink.count(), 0);

    // Mid-DATA: 354, then the connection drops while content arrives. Nothing recorded.
    sink.add_rule(Rule::disconnect(Stage::MidData).times(1));
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.hello().await;
    raw.send("MAIL FROM:<a@s.test>\r\nRCPT TO:<b@d.test>\r\nDATA\r\n")
        .await;
    raw.expect("250").await;
    raw.expect("250").await;
    raw.expect("354").await;
    raw.send("Subject: half\r\n\r\nfirst part\r\n").await;
    assert!(raw.reply().await.is_none(), "closed without a reply");
    sink.add_rule(Rule::disconnect(Stage::MidData).times(1));
    let err = send_failure(&sink).await;
    assert!(is_connection_loss(&err), "{err:?}");
    assert_eq!(sink.count(), 0);

    // After the content, before the final reply: the sink has it, the client cannot know.
    sink.add_rule(Rule::disconnect(Stage::EndOfData).times(1));
    let err = send_failure(&sink).await;
    assert!(is_connection_loss(&err), "{err:?}");
    assert_eq!(sink.count(), 1);

    // All rules used up: back to normal.
    client(sink.addr())
        .await
        .send(message(&["a@d.test"], "Subject: s\r\n\r\nx\r\n"))
        .await
        .unwrap();
    assert_eq!(sink.count(), 2);
}

#[tokio::test]
async fn a_slow_sink_trips_an_impatient_client() {
    let sink = Sink::start().await.unwrap();
    let mut impatient = SmtpClientBuilder::new("127.0.0.1".to_string(), sink.addr().port())
        .unwrap()
        .timeout(Duration::from_millis(100))
        .connect_plain()
        .await
        .unwrap();
    sink.set_delay(Duration::from_secs(2));
    let result = impatient
        .send(message(&["a@d.test"], "Subject: s\r\n\r\nx\r\n"))
        .await;
    assert!(matches!(result, Err(SendError::Timeout)), "{result:?}");

    // A patient client gets through, just later.
    sink.set_delay(Duration::from_millis(20));
    client(sink.addr())
        .await
        .send(message(&["a@d.test"], "Subject: s\r\n\r\nx\r\n"))
        .await
        .unwrap();
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn counting_mode_keeps_no_bytes() {
    let sink = Sink::start_with(SinkOptions {
        keep_messages: false,
        ..SinkOptions::default()
    })
    .await
    .unwrap();
    let mut client = client(sink.addr()).await;
    let body = "Subject: s\r\n\r\n0123456789\r\n";
    let sends = 5;
    for _ in 0..sends {
        client.send(message(&["a@d.test"], body)).await.unwrap();
    }
    tokio::time::timeout(PATIENCE, sink.wait_for(sends))
        .await
        .unwrap();
    assert_eq!(sink.count(), sends);
    // mail-send adds a CRLF to a body that already ends in one
    assert_eq!(sink.bytes(), (sends * (body.len() + 2)) as u64);
    assert!(sink.messages().is_empty());
}

/// A handler of its own: refuses senders from one domain, answers with a queue id.
struct Custom;

impl SessionHandler for Custom {
    async fn mail_from(&self, envelope: &Envelope) -> Verdict {
        if envelope.mail_from.ends_with("@blocked.test") {
            Verdict::Reply(Reply::new(550, "5.7.1", "Not from you"))
        } else {
            Verdict::Accept
        }
    }

    async fn message(&self, _envelope: &Envelope, data: Vec<u8>) -> Verdict {
        Verdict::Reply(Reply::new(
            250,
            "2.0.0",
            format!("queued as Q{}", data.len()),
        ))
    }
}

#[tokio::test]
async fn a_custom_handler_decides_and_replies() {
    let shutdown = CancellationToken::new();
    let (addr, task) = SmtpServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        Custom,
        Limits::default(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let mut client = client(addr).await;
    let err = client
        .send(Message::new("x@blocked.test", ["a@d.test"], &b"hi\r\n"[..]))
        .await
        .unwrap_err();
    assert_eq!(reply_of(err), (550, [5, 7, 1]));
    let reply = client
        .send(Message::new("x@fine.test", ["a@d.test"], &b"hi\r\n"[..]))
        .await
        .unwrap();
    assert_eq!(
        reply.message, "queued as Q6",
        "4 bytes + the CRLF mail-send adds"
    );
    shutdown.cancel();
    task.await.unwrap();
}

/// One reply (all its lines) read byte by byte, so nothing past it is consumed.
async fn read_reply<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut text = Vec::new();
    let mut line_start = 0;
    loop {
        let byte = tokio::time::timeout(PATIENCE, stream.read_u8())
            .await
            .expect("the server answers")
            .expect("a reply");
        text.push(byte);
        if byte == b'\n' {
            let last = text[line_start..].get(3) != Some(&b'-');
            line_start = text.len();
            if last {
                return String::from_utf8(text).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn starttls_upgrades_and_drops_what_was_pipelined_before_the_handshake() {
    let certificate = crate::delivery_tls::test_certificate("sink.test");
    let mut limits = SinkOptions::default().limits;
    limits.tls = Some(certificate.server.clone());
    let sink = small_sink(limits).await;
    let mut plain = TcpStream::connect(sink.addr()).await.unwrap();
    assert!(read_reply(&mut plain).await.starts_with("220 "));
    plain.write_all(b"EHLO raw.test\r\n").await.unwrap();
    let ehlo = read_reply(&mut plain).await;
    assert!(ehlo.contains("STARTTLS"), "{ehlo}");
    // A command smuggled behind STARTTLS in the same packet must not survive the upgrade
    // (the plain-text injection of CVE-2011-0411).
    plain
        .write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
        .await
        .unwrap();
    assert!(read_reply(&mut plain).await.starts_with("220 2.0.0"));
    let connector = mail_send::smtp::tls::build_tls_connector(true).unwrap();
    let name = rustls_pki_types::ServerName::try_from("sink.test").unwrap();
    let mut tls = connector.connect(name, plain).await.expect("TLS handshake");

    // A fresh session: EHLO again, STARTTLS no longer offered nor accepted.
    tls.write_all(b"EHLO raw.test\r\n").await.unwrap();
    let ehlo = read_reply(&mut tls).await;
    assert!(ehlo.starts_with("250"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    tls.write_all(b"STARTTLS\r\n").await.unwrap();
    assert!(read_reply(&mut tls).await.starts_with("503"));
    // RCPT before any MAIL over TLS: the smuggled MAIL FROM was dropped.
    tls.write_all(b"RCPT TO:<anna@dest.test>\r\n")
        .await
        .unwrap();
    assert!(read_reply(&mut tls).await.starts_with("503"));
    for (command, code) in [
        ("MAIL FROM:<sender@herald.test>\r\n", "250"),
        ("RCPT TO:<anna@dest.test>\r\n", "250"),
        ("DATA\r\n", "354"),
        ("Subject: over TLS\r\n\r\nhello\r\n.\r\n", "250"),
        ("QUIT\r\n", "221"),
    ] {
        tls.write_all(command.as_bytes()).await.unwrap();
        let reply = read_reply(&mut tls).await;
        assert!(reply.starts_with(code), "{command:?}: {reply}");
    }
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].envelope.tls);
    assert_eq!(messages[0].envelope.mail_from, "sender@herald.test");
}

#[tokio::test]
async fn starttls_is_neither_offered_nor_accepted_without_a_certificate() {
    let sink = Sink::start().await.unwrap();
    let mut raw = Raw::greeted(sink.addr()).await;
    raw.send("EHLO raw.test\r\n").await;
    let ehlo = raw.reply().await.unwrap();
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    raw.send("STARTTLS\r\n").await;
    raw.expect("502").await;
}
