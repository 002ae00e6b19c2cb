//! Deliverability of a broadcast in the default style: SpamAssassin's local rules
//! (`spamassassin -L -t`, Debian package `spamassassin`, installed by `scripts/test`) score it
//! at most 0, and its DKIM signature verifies with an independent verifier (Perl's
//! Mail::DKIM, which SpamAssassin brings, asking the test DNS server for the key).
//! Without the tools the test prints SKIPPED, unless HERALD_REQUIRE_EXTERNAL=1.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::broadcasts::{add_contact, create_segment, settle};
use crate::delivery::{SENDER_DOMAIN, world};

/// A broadcast as the dashboard editor's default style writes it (`broadcasts::compose`: the
/// starting Markdown, with a real link, in the default styles): a heading, paragraphs, a
/// list, a quote, a link, the unsubscribe footer; a text part made from the HTML and a
/// preheader.
fn default_style_html() -> String {
    use herald::broadcasts::compose::{STARTER, Styles, render};
    let markdown = STARTER.replace("https://example.com", "https://acme.dev/blog/november");
    render(
        &markdown,
        &Styles::default(),
        "November at Acme: faster sending and a new dashboard",
    )
}

fn tool(name: &str) -> bool {
    Command::new("which")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip(reason: &str) -> bool {
    if std::env::var("HERALD_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
        panic!("{reason}");
    }
    println!("SKIPPED: {reason}");
    true
}

fn run(program: &str, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

const VERIFY_DKIM: &str = r#"
use strict; use warnings;
use Mail::DKIM::Verifier; use Net::DNS::Resolver;
my ($host, $port) = @ARGV;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => [$host], port => $port, recurse => 1));
my $v = Mail::DKIM::Verifier->new();
local $/; my $msg = <STDIN>; $msg =~ s/\r?\n/\r\n/g;
$v->PRINT($msg); $v->CLOSE();
print "result=", $v->result, " detail=", ($v->result_detail // ''), "\n";
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_style_broadcast_scores_at_most_zero_and_verifies_dkim_independently() {
    if !tool("spamassassin") && skip("spamassassin is not installed (apt-get install spamassassin)")
    {
        return;
    }
    let w = world().await;
    // Real time: SpamAssassin scores dates far from now.
    w.clock
        .set(herald::clock::Clock::now_ms(&herald::clock::SystemClock));
    let app = &w.app;
    let segment = create_segment(app, "Readers").await;
    add_contact(
        app,
        json!({"email": "ann@dest.dev", "first_name": "Ann", "segments": [segment]}),
    )
    .await;
    let created = app
        .post(
            "/broadcasts",
            json!({"segment_id": segment, "from": format!("Acme <news@{SENDER_DOMAIN}>"),
                   "subject": "November at Acme: faster sending and a new dashboard",
                   "preview_text": "What changed this month", "html": default_style_html(), "send": true}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    settle(app).await;
    let message = w
        .sink
        .messages()
        .pop()
        .expect("the broadcast was delivered");
    // As a receiving server would see it.
    let mut delivered = b"Return-Path: <news@acme.dev>\r\n".to_vec();
    delivered.extend_from_slice(&message.data);

    let report = run("spamassassin", &["-L", "-t"], &delivered);
    let status = report
        .lines()
        .find(|l| l.starts_with("X-Spam-Status:"))
        .unwrap_or_else(|| panic!("no X-Spam-Status in:\n{report}"));
    let score: f64 = status
        .split("score=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status}"));
    let rules: String = report
        .lines()
        .skip_while(|l| !l.starts_with("Content analysis details"))
        .take(40)
        .collect::<Vec<_>>()
        .join("\n");
    println!("spamassassin -L: score={score}\n{rules}");
    assert!(score <= 0.0, "SpamAssassin score {score} > 0:\n{rules}");

    let dns = w.dns.addr;
    let verified = run(
        "perl",
        &[
            "-e",
            VERIFY_DKIM,
            &dns.ip().to_string(),
            &dns.port().to_string(),
        ],
        &message.data,
    );
    println!("Mail::DKIM: {verified}");
    assert!(verified.contains("result=pass"), "{verified}");
}
