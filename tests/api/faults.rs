//! Faults from the outside: a recipient's server that refuses some messages for a while,
//! and clients too slow to pin the HTTP server.

use herald::smtp::Reply;
use herald::smtp::sink::{Rule, Stage};
use serde_json::json;

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
