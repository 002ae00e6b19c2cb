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
    w.stop().await;
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
    app.stop().await;
}
