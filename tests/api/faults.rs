//! Faults from the outside: a recipient's server that refuses some messages for a while,
//! and clients too slow to pin the HTTP server.

use std::time::{Duration, Instant};

use herald::smtp::Reply;
use herald::smtp::sink::{Rule, Stage};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::delivery::{email_to, world};
use crate::emails::event_types;

const MINUTE: i64 = 60_000;

/// One message in five gets a 4xx: each is retried on the schedule (1 minute, then 5), not
/// earlier, and in the end every message arrives exactly once.
#[tokio::test]
async fn a_server_refusing_one_message_in_five_for_a_while_gets_them_all_eventually() {
    let w = world().await;
    let recipient = |i: usize| format!("r{i:02}@dest.dev");
    // (recipient index, reply, how many times it is refused)
    let refusals = [
        (0, Reply::new(450, "4.2.1", "Mailbox busy, try later"), 1),
        (5, Reply::new(451, "4.3.0", "Temporary local problem"), 2),
        (
            10,
            Reply::new(452, "4.3.1", "Insufficient system storage"),
            1,
        ),
        (15, Reply::new(451, "4.7.1", "Greylisted"), 2),
    ];
    for (i, reply, times) in &refusals {
        w.sink.add_rule(
            Rule::reply(Stage::Rcpt, reply.clone())
                .for_recipients(&recipient(*i))
                .times(*times),
        );
    }
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(w.send(email_to(json!(recipient(i)))).await);
    }
    let delivered = |w: &crate::delivery::World| {
        let mut got: Vec<String> = w
            .sink
            .messages()
            .iter()
            .flat_map(|m| m.envelope.rcpt_to.clone())
            .collect();
        got.sort();
        got
    };

    w.deliver().await;
    assert_eq!(delivered(&w).len(), 16, "{:?}", delivered(&w));
    let now = w.app.app.now_ms();
    for (i, _, _) in &refusals {
        assert_eq!(w.last_event(&ids[*i]).await, "delivery_delayed");
        assert_eq!(w.job(&ids[*i]).await, ("queued".to_string(), now + MINUTE));
    }

    // Not a moment before the first retry...
    w.advance(MINUTE - 1_000);
    w.deliver().await;
    assert_eq!(delivered(&w).len(), 16);
    // ...then the ones refused once go through and the others wait 5 minutes more.
    w.advance(1_000);
    w.deliver().await;
    assert_eq!(delivered(&w).len(), 18, "{:?}", delivered(&w));
    let now = w.app.app.now_ms();
    for (i, _, times) in &refusals {
        if *times == 2 {
            assert_eq!(
                w.job(&ids[*i]).await,
                ("queued".to_string(), now + 5 * MINUTE)
            );
        }
    }
    w.advance(5 * MINUTE - 1_000);
    w.deliver().await;
    assert_eq!(delivered(&w).len(), 18);
    w.advance(1_000);
    w.deliver().await;

    // Everyone exactly once; the refused ones show one `delivery_delayed` (however many
    // attempts failed), then the delivery.
    let expected: Vec<String> = (0..20).map(recipient).collect();
    assert_eq!(delivered(&w), expected);
    for (i, id) in ids.iter().enumerate() {
        let events = event_types(&w.app, id).await;
        let delays = usize::from(refusals.iter().any(|(r, _, _)| *r == i));
        let delayed = events.iter().filter(|e| *e == "delivery_delayed").count();
        assert_eq!(delayed, delays, "{i}: {events:?}");
        assert_eq!(events.last().map(String::as_str), Some("delivered"), "{i}");
        assert_eq!(w.job(id).await.0, "done");
    }
}

/// Sends `head` and then `trickle` one byte a second until the server ends the exchange;
/// what the server wrote back and how long that took.
async fn trickle(base: &str, head: String, trickle: &'static [u8]) -> (String, Duration) {
    let addr = base.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = stream.into_split();
    let feed = async move {
        for byte in trickle.iter().cycle() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
        }
    };
    let answer = async move {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(PINNED, reader.read_to_end(&mut out)).await;
        out
    };
    let out = tokio::select! {
        out = answer => out,
        _ = feed => Vec::new(),
    };
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

/// Longer than any timeout of the server: a connection still open then is pinned.
const PINNED: Duration = Duration::from_secs(90);

/// A client that sends its headers, or its body, one byte a second is cut off by the
/// server's timeouts instead of holding a connection (and a handler) for as long as it
/// likes; other clients are served meanwhile.
#[tokio::test]
async fn slow_clients_cannot_pin_the_server() {
    let app = crate::helpers::spawn_app().await;
    let slow_headers = trickle(
        &app.base,
        "GET /emails HTTP/1.1\r\nHost: herald.test\r\n".to_string(),
        b"X-Slow: aaaaaaaa\r\n",
    );
    let slow_body = trickle(
        &app.base,
        format!(
            "POST /emails HTTP/1.1\r\nHost: herald.test\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"to\":",
            app.key
        ),
        b" ",
    );
    let others = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        app.get("/emails").await.status
    };
    let ((headers_answer, headers_took), (body_answer, body_took), other_status) =
        tokio::join!(slow_headers, slow_body, others);
    assert_eq!(other_status, 200);

    // Headers: hyper's header read timeout closes the connection.
    assert!(headers_took < PINNED, "pinned by slow headers");
    assert!(!headers_answer.contains("200 OK"), "{headers_answer}");

    // Body: its deadline (base time + time for the declared size at the minimum rate).
    assert!(body_took < PINNED, "pinned by a slow body");
    assert!(body_answer.starts_with("HTTP/1.1 408"), "{body_answer}");
    assert!(
        body_answer
            .to_ascii_lowercase()
            .contains("connection: close")
    );
    assert!(
        body_answer.contains("\"name\":\"request_timeout\""),
        "{body_answer}"
    );
}

/// A PostgreSQL server of the test's own, in a temporary folder on a free port, that the
/// test can stop and start. As root, it runs as `nobody` (PostgreSQL refuses root).
struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_nobody: bool,
}

impl PrivatePostgres {
    const BIN: &str = "/usr/lib/postgresql/15/bin";

    /// `None` when the PostgreSQL binaries are not installed.
    async fn start() -> Option<PrivatePostgres> {
        let bin = std::path::PathBuf::from(Self::BIN);
        if !bin.join("initdb").is_file() || !bin.join("pg_ctl").is_file() {
            return None;
        }
        let uid = |who: Option<&str>| {
            let out = std::process::Command::new("id")
                .arg("-u")
                .args(who)
                .output()
                .expect("id -u");
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u32>()
                .unwrap()
        };
        let as_nobody = uid(None) == 0;
        let dir = tempfile::tempdir().unwrap();
        if as_nobody {
            let nobody = uid(Some("nobody"));
            std::os::unix::fs::chown(dir.path(), Some(nobody), None).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres {
            dir,
            bin,
            port,
            as_nobody,
        };
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "--no-sync".as_ref(),
            ],
        )
        .await;
        pg.up().await;
        Some(pg)
    }

    async fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) {
        let program = self.bin.join(tool);
        let mut command = if self.as_nobody {
            let mut c = tokio::process::Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(program);
            c
        } else {
            tokio::process::Command::new(program)
        };
        let out = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("server.log");
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
        ];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        self.run("pg_ctl", &all).await;
    }

    async fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        self.pg_ctl(&["-w", "-o", &options, "start"]).await;
    }

    /// Stops the server the way an administrator's restart or a failover does: connections
    /// are cut, new ones refused.
    async fn down(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]).await;
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let mut command = if self.as_nobody {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            std::process::Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .current_dir(self.dir.path())
            .output();
    }
}

/// How long PostgreSQL stays down while clients keep sending.
const OUTAGE: Duration = Duration::from_secs(30);
/// No answer may take longer than this, outage or not (the pool's acquire timeout is 10 s).
const ANSWER_BOUND: Duration = Duration::from_secs(60);

/// PostgreSQL stops for 30 seconds while a client keeps sending: meanwhile the API answers
/// 503 in Resend's error shape (no 500, no hang), what it accepted before, during and after
/// is all delivered once PostgreSQL is back, each email exactly once, and nothing it refused
/// is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_30_seconds_while_sending_loses_nothing() {
    let Some(pg) = PrivatePostgres::start().await else {
        if std::env::var("HERALD_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
            panic!("PostgreSQL binaries not found in {}", PrivatePostgres::BIN);
        }
        println!(
            "SKIPPED: PostgreSQL binaries not found in {}",
            PrivatePostgres::BIN
        );
        return;
    };
    let url = pg.url();
    let w = crate::delivery::world_with(crate::delivery::WorldOptions {
        settings: Some(Box::new(move |s: &mut herald::config::Settings| {
            s.database_url = url;
            s.encryption_key = "42".repeat(32);
        })),
        ..Default::default()
    })
    .await;
    // The world's clock is manual: let it follow real time, so retries come due.
    let ticking = {
        let clock = w.clock.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                clock.advance(100);
            }
        })
    };
    let client = reqwest::Client::builder()
        .timeout(ANSWER_BOUND)
        .build()
        .unwrap();
    let send = |n: usize| {
        let client = client.clone();
        let url = w.app.url("/emails");
        let key = w.app.key.clone();
        async move {
            let mut body = crate::delivery::email_to(json!("someone@dest.dev"));
            body["subject"] = json!(format!("message {n}"));
            let started = Instant::now();
            let reply = client.post(url).bearer_auth(key).json(&body).send().await;
            let reply = reply.unwrap_or_else(|e| panic!("message {n}: no answer: {e}"));
            let took = started.elapsed();
            (
                n,
                reply.status().as_u16(),
                reply.json::<serde_json::Value>().await.unwrap(),
                took,
            )
        }
    };

    let mut answers = Vec::new();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let sending = |phase: Duration| {
        let (send, counter) = (&send, &counter);
        async move {
            let mut out = Vec::new();
            let until = Instant::now() + phase;
            while Instant::now() < until {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                out.push(send(n).await);
            }
            out
        }
    };
    answers.extend(sending(Duration::from_secs(3)).await);
    pg.down().await;
    answers.extend(sending(OUTAGE).await);
    pg.up().await;
    answers.extend(sending(Duration::from_secs(3)).await);

    let mut accepted = Vec::new();
    let mut refused = 0;
    for (n, status, body, took) in &answers {
        assert!(took < &ANSWER_BOUND, "message {n} took {took:?}");
        match status {
            200 => accepted.push(format!("message {n}")),
            503 => {
                refused += 1;
                assert_eq!(body["statusCode"], 503, "{body}");
                assert_eq!(body["name"], "service_unavailable", "{body}");
                assert!(body["message"].is_string(), "{body}");
            }
            other => panic!("message {n}: {other} {body}"),
        }
    }
    assert!(refused > 0, "no request met the outage: {answers:?}");
    assert!(!accepted.is_empty());

    // Everything accepted arrives, each once; nothing refused does.
    let received = |w: &crate::delivery::World| {
        let mut subjects: Vec<String> = w
            .sink
            .messages()
            .iter()
            .map(|m| {
                let head = crate::delivery::header_block(m);
                head.lines()
                    .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        subjects.sort();
        subjects
    };
    let mut expected = accepted.clone();
    expected.sort();
    let deadline = Instant::now() + Duration::from_secs(120);
    while received(&w).len() < expected.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Let the queue settle, then nothing more may arrive.
    crate::delivery::deliver(&w.app).await;
    assert_eq!(received(&w), expected);
    println!(
        "outage: {} accepted, {refused} refused with 503, all delivered once",
        accepted.len()
    );
    ticking.abort();
    // Herald's workers must finish before the PostgreSQL server under them goes away.
    w.stop().await;
    drop(pg);
}

/// Connections held open at once by the keep-alive test.
const CONNECTIONS: usize = 1_000;

/// Sends one request on `stream` and reads its whole answer (headers, then the body its
/// `content-length` announces); returns the status line and the headers.
async fn exchange(stream: &mut TcpStream, request: &str) -> (String, String) {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the answer: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("content-length");
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, head.to_ascii_lowercase())
}

/// 1,000 clients each open a keep-alive connection, send a request, keep the connection
/// while all the others are open, then send a second request on it: every request is
/// answered, and no connection is closed. (The test raises its own soft limit of open files,
/// as `herald serve` does at start-up: each side of each connection is a file.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_keep_alive_connections_are_held_and_served() {
    let limit = herald::http::listener::raise_open_files_limit(4 * CONNECTIONS as u64 + 1_024)
        .expect("raise the open files limit");
    assert!(
        limit >= 2 * CONNECTIONS as u64 + 256,
        "the hard limit of open files ({limit}) is too low for this test"
    );
    let app = crate::helpers::spawn_app().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let request = format!(
        "GET /emails?limit=1 HTTP/1.1\r\nHost: herald.test\r\nAuthorization: Bearer {}\r\n\r\n",
        app.key
    );
    let mut streams = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS / 100 {
        let batch = (0..100).map(|_| TcpStream::connect(addr.as_str()));
        for stream in futures::future::join_all(batch).await {
            streams.push(stream.expect("connect"));
        }
    }
    for round in ["first", "second"] {
        let answers =
            futures::future::join_all(streams.iter_mut().map(|s| exchange(s, &request))).await;
        for (i, (status, head)) in answers.iter().enumerate() {
            assert_eq!(
                status, "HTTP/1.1 200 OK",
                "{round} request on connection {i}"
            );
            assert!(
                !head.contains("connection: close"),
                "{round} request on connection {i} closes it: {head}"
            );
        }
        // All of them are open at this point.
        assert_eq!(streams.len(), CONNECTIONS);
    }
    drop(streams);
}
