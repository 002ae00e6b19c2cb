//! The inbound feedback listener over real SMTP: real-world DSNs and ARF reports (the shared
//! fixture folder) sent to Herald's return-path addresses become `bounced`/`complained`
//! events, `last_event`, suppressions and webhooks; everything else is refused with
//! `550 5.7.1`, forged tokens included.

use std::net::SocketAddr;
use std::time::Duration;

use herald::feedback::verp::{self, WHOLE_ENVELOPE};
use herald::feedback::{self, Kind};
use herald::on_db;
use mail_send::smtp::message::{Message, Parameters};
use mail_send::{Error as SendError, SmtpClientBuilder};
use serde_json::{Value, json};

use crate::emails::add_domain;
use crate::helpers::{Options, TestApp, spawn_app_with};
use crate::webhooks::{Receiver, create_webhook, verify_with_oracle};

const PATIENCE: Duration = Duration::from_secs(20);
const DOMAIN: &str = "example.com";
const RETURN_PATH_HOST: &str = "send.example.com";

async fn listener_app() -> TestApp {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|s| s.feedback_listen = "127.0.0.1:0".into())),
        ..Options::default()
    })
    .await;
    add_domain(&app, DOMAIN, "verified").await;
    app
}

fn fixture(name: &str) -> Option<Vec<u8>> {
    let dir = crate::feedback::fixtures_dir()?;
    Some(std::fs::read(dir.join(name)).expect("fixture"))
}

/// Sends an email through the API from the verified domain; returns its id.
async fn send_to(app: &TestApp, to: &[&str]) -> String {
    let reply = app
        .post(
            "/emails",
            json!({"from": format!("Shop <shop@{DOMAIN}>"), "to": to, "subject": "Order", "text": "Thanks"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["id"].as_str().unwrap().to_string()
}

fn return_path(app: &TestApp, email_id: &str, recipient: u16) -> String {
    let id = uuid::Uuid::parse_str(email_id).unwrap();
    verp::return_path(app.app.secret_key(), id, recipient, RETURN_PATH_HOST)
}

/// Delivers `raw` to `rcpt` over SMTP from the null sender, as a bounce arrives.
async fn deliver(addr: SocketAddr, rcpt: &str, raw: &[u8]) -> Result<(), SendError> {
    let mut client = SmtpClientBuilder::new("127.0.0.1".to_string(), addr.port())
        .unwrap()
        .helo_host("mx.remote.test")
        .timeout(PATIENCE)
        .connect_plain()
        .await
        .expect("connect to the feedback listener");
    client.send(Message::new("", [rcpt], raw)).await.map(|_| ())
}

/// The (code, enhanced status) the listener answers RCPT TO `rcpt` with.
async fn rcpt_reply(addr: SocketAddr, rcpt: &str) -> (u16, [u8; 3]) {
    let mut client = SmtpClientBuilder::new("127.0.0.1".to_string(), addr.port())
        .unwrap()
        .helo_host("mx.remote.test")
        .timeout(PATIENCE)
        .connect_plain()
        .await
        .unwrap();
    client.mail_from("", &Parameters::new()).await.unwrap();
    match client.rcpt_to(rcpt, &Parameters::new()).await {
        Ok(()) => (250, [2, 1, 5]),
        Err(SendError::UnexpectedReply(reply)) => (reply.code, reply.esc),
        Err(other) => panic!("expected an SMTP reply, got {other:?}"),
    }
}

/// The (type, recipient, data) of an email's events, oldest first.
async fn events(app: &TestApp, email_id: &str) -> Vec<(String, Option<String>, Value)> {
    let rows: Vec<(String, Option<String>, String)> = on_db!(app.app.db(), |pool| {
        sqlx::query_as(
            "SELECT type, recipient, data FROM email_events WHERE email_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(email_id)
        .fetch_all(pool)
        .await
        .unwrap()
    });
    rows.into_iter()
        .map(|(t, r, d)| (t, r, serde_json::from_str(&d).unwrap()))
        .collect()
}

/// The origin and source of a suppressed address of the first team.
async fn suppression(app: &TestApp, email: &str) -> Option<(String, Option<String>)> {
    on_db!(app.app.db(), |pool| sqlx::query_as(
        "SELECT origin, source_id FROM suppressions WHERE email = $1"
    )
    .bind(email.to_lowercase())
    .fetch_optional(pool)
    .await
    .unwrap())
}

#[tokio::test]
async fn bounces_and_complaints_become_events_suppressions_and_webhooks() {
    let Some(_) = crate::feedback::fixtures_dir() else {
        return;
    };
    let app = listener_app().await;
    let addr = app.feedback_addr();
    let receiver = Receiver::start().await;
    let (_, secret) =
        create_webhook(&app, &receiver.url, &["email.bounced", "email.complained"]).await;

    // Several MTAs' DSNs (hard bounces) and feedback-loop reports.
    let cases = [
        ("lhost-gmail-01.eml", Kind::Bounce),
        ("lhost-exim-05.eml", Kind::Bounce),
        ("lhost-sendmail-14.eml", Kind::Bounce),
        ("lhost-exchange2007-01.eml", Kind::Bounce),
        ("arf-14.eml", Kind::Complaint),
        ("arf-19.eml", Kind::Complaint),
    ];
    let mut expected_webhooks = Vec::new();
    for (name, kind) in cases {
        let raw = fixture(name).unwrap();
        let parsed = feedback::parse(&raw);
        assert_eq!(parsed.kind, kind, "{name}");
        let recipient = parsed.recipients[0].address.clone();
        // The email went to the reported address and to someone else, one envelope each.
        let email_id = send_to(&app, &["someone-else@example.org", &recipient]).await;
        deliver(addr, &return_path(&app, &email_id, 1), &raw)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));

        let (event_type, origin) = match kind {
            Kind::Bounce => ("bounced", "bounce"),
            _ => ("complained", "complaint"),
        };
        let recorded = events(&app, &email_id).await;
        let last = recorded.last().unwrap();
        assert_eq!(last.0, event_type, "{name}: {recorded:?}");
        assert_eq!(last.1.as_deref(), Some(recipient.as_str()), "{name}");
        if kind == Kind::Bounce {
            let bounce = &last.2["bounce"];
            assert_eq!(bounce["type"], "Permanent", "{name}: {bounce}");
            assert_eq!(bounce["subType"], "NoEmail", "{name}: {bounce}");
            assert!(bounce["message"].is_string());
            assert_eq!(bounce["diagnosticCode"].as_array().unwrap().len(), 1);
        }
        let got = app.get(&format!("/emails/{email_id}")).await;
        assert_eq!(got.body["last_event"], event_type, "{name}");
        assert_eq!(
            suppression(&app, &recipient).await,
            Some((origin.to_string(), Some(email_id.clone()))),
            "{name}"
        );
        assert_eq!(suppression(&app, "someone-else@example.org").await, None);
        assert!(
            herald::suppressions::contains(
                &app.app,
                &herald::teams::first_team_id(&app.app)
                    .await
                    .unwrap()
                    .unwrap(),
                &recipient.to_uppercase()
            )
            .await
            .unwrap()
        );
        expected_webhooks.push((format!("email.{event_type}"), email_id.clone(), recipient));

        // The same report again changes nothing.
        deliver(addr, &return_path(&app, &email_id, 1), &raw)
            .await
            .unwrap();
        assert_eq!(
            events(&app, &email_id).await.len(),
            recorded.len(),
            "{name}"
        );
    }

    crate::webhooks::fan_out(&app).await;
    let received = receiver.wait_for(expected_webhooks.len()).await;
    let mut got: Vec<(String, String, String)> = received
        .iter()
        .map(|r| {
            verify_with_oracle(&secret, r);
            let body = r.json();
            if body["type"] == "email.bounced" {
                assert_eq!(body["data"]["bounce"]["type"], "Permanent");
            }
            (
                body["type"].as_str().unwrap().to_string(),
                body["data"]["email_id"].as_str().unwrap().to_string(),
                body["data"]["to"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    expected_webhooks.sort();
    assert_eq!(got, expected_webhooks);
}

#[tokio::test]
async fn reports_map_by_named_recipient_and_by_returned_message_id() {
    let Some(raw) = fixture("lhost-gmail-01.eml") else {
        return;
    };
    let app = listener_app().await;
    let addr = app.feedback_addr();
    let parsed = feedback::parse(&raw);
    let recipient = parsed.recipients[0].address.clone();

    // One envelope for two recipients: the report says which one bounced.
    let email_id = send_to(&app, &["first@example.org", &recipient]).await;
    deliver(addr, &return_path(&app, &email_id, WHOLE_ENVELOPE), &raw)
        .await
        .unwrap();
    let recorded = events(&app, &email_id).await;
    let bounced: Vec<_> = recorded.iter().filter(|e| e.0 == "bounced").collect();
    assert_eq!(bounced.len(), 1, "{recorded:?}");
    assert_eq!(bounced[0].1.as_deref(), Some(recipient.as_str()));

    // A token whose email the team does not have (here: made up): the returned message's
    // Message-ID, adjusted to the email's, finds it.
    let second = send_to(&app, &[&recipient]).await;
    let message_id = app.get(&format!("/emails/{second}")).await.body["message_id"]
        .as_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_string();
    let old = parsed
        .original
        .message_id
        .clone()
        .expect("returned Message-ID");
    let old = old.trim_matches(['<', '>']);
    let adjusted = String::from_utf8_lossy(&raw).replace(old, &message_id);
    assert_eq!(
        feedback::parse(adjusted.as_bytes())
            .original
            .message_id
            .map(|m| m.trim_matches(['<', '>']).to_string()),
        Some(message_id.clone())
    );
    let unknown = return_path(&app, &uuid::Uuid::now_v7().to_string(), 0);
    deliver(addr, &unknown, adjusted.as_bytes()).await.unwrap();
    let recorded = events(&app, &second).await;
    assert_eq!(recorded.last().unwrap().0, "bounced", "{recorded:?}");
}

#[tokio::test]
async fn refuses_mail_for_anything_else() {
    let app = listener_app().await;
    let addr = app.feedback_addr();
    let email_id = send_to(&app, &["someone@example.org"]).await;
    let valid = return_path(&app, &email_id, 0);
    assert_eq!(rcpt_reply(addr, &valid).await.0, 250);

    let (local, _) = valid.split_once('@').unwrap();
    let mut forged = local.to_string().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
    let forged = format!("{}@{RETURN_PATH_HOST}", String::from_utf8(forged).unwrap());
    // Another email's id with this token's tag.
    let other = uuid::Uuid::now_v7();
    let stolen_tag = format!(
        "bounces+{}{}@{RETURN_PATH_HOST}",
        hex::encode(other.as_bytes()),
        &local["bounces+".len() + 32..]
    );
    let another_key = verp::return_path(
        b"another instance",
        uuid::Uuid::parse_str(&email_id).unwrap(),
        0,
        RETURN_PATH_HOST,
    );
    for rcpt in [
        forged.as_str(),
        stolen_tag.as_str(),
        another_key.as_str(),
        &format!("{local}@send.other.com"),
        &format!("{local}@{DOMAIN}"),
        &format!("postmaster@{RETURN_PATH_HOST}"),
        &format!("bounces@{RETURN_PATH_HOST}"),
        "someone@example.org",
        "relay-me@gmail.com",
    ] {
        assert_eq!(rcpt_reply(addr, rcpt).await, (550, [5, 7, 1]), "{rcpt}");
    }
    // Nothing was recorded for the email.
    assert_eq!(events(&app, &email_id).await.len(), 1);
}

/// A JSON notification as an SNS email subscription delivers it.
fn sns_email(body: &str) -> Vec<u8> {
    format!(
        "From: AWS Notifications <no-reply@sns.amazonaws.test>\r\nTo: feedback@{RETURN_PATH_HOST}\r\n\
         Subject: AWS Notification Message\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\r\n{body}\r\n\r\n--\r\n\
         If you wish to stop receiving notifications from this topic, please click or visit \
         the link below to unsubscribe:\r\nhttps://sns.test/unsubscribe.html\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn ses_notifications_delivered_by_email_match_their_emails() {
    let app = listener_app().await;
    let addr = app.feedback_addr();
    let bounced = send_to(&app, &["gone@example.org"]).await;
    let complained = send_to(&app, &["reader@example.org", "other@example.org"]).await;
    // The address the notifications are subscribed to: another email's return path.
    let subscribed = send_to(&app, &["unrelated@example.org"]).await;
    let subscription = return_path(&app, &subscribed, WHOLE_ENVELOPE);

    // A bounce, the notification as the whole body; `mail.source` is the email's return path.
    let bounce = json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{
                "emailAddress": "gone@example.org",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
            }],
            "timestamp": "2026-12-06T10:00:00.000Z",
            "feedbackId": "feedback-1",
            "reportingMTA": "dsn; out.ses.test"
        },
        "mail": {
            "timestamp": "2026-12-06T09:59:58.000Z",
            "source": return_path(&app, &bounced, 0),
            "messageId": "ses-message-1",
            "destination": ["gone@example.org"],
            "headers": [{"name": "Subject", "value": "Order"}],
            "commonHeaders": {"from": [format!("Shop <shop@{DOMAIN}>")], "subject": "Order"}
        }
    });
    deliver(addr, &subscription, &sns_email(&bounce.to_string()))
        .await
        .unwrap();
    let recorded = events(&app, &bounced).await;
    let event = recorded.iter().find(|e| e.0 == "bounced").expect("bounced");
    assert_eq!(event.1.as_deref(), Some("gone@example.org"));
    assert_eq!(event.2["bounce"]["type"], "Permanent");
    assert_eq!(event.2["bounce"]["subType"], "NoEmail");
    assert_eq!(
        suppression(&app, "gone@example.org").await,
        Some(("bounce".to_string(), Some(bounced.clone())))
    );

    // A complaint inside an SNS envelope (an "email-json" subscription), found by the
    // Message-ID of the email in `mail.headers`; it names one of the two recipients.
    let message_id = app.get(&format!("/emails/{complained}")).await.body["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let complaint = json!({
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "reader@example.org"}],
            "timestamp": "2026-12-06T10:05:00.000Z",
            "feedbackId": "feedback-2",
            "userAgent": "Some ISP Feedback Loop",
            "complaintFeedbackType": "abuse"
        },
        "mail": {
            "source": "someone-else@ses.test",
            "destination": ["reader@example.org", "other@example.org"],
            "headers": [{"name": "Message-ID", "value": message_id}]
        }
    });
    let envelope = json!({
        "Type": "Notification",
        "MessageId": "sns-1",
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:ses-feedback",
        "Message": complaint.to_string(),
        "Timestamp": "2026-12-06T10:05:01.000Z"
    });
    deliver(addr, &subscription, &sns_email(&envelope.to_string()))
        .await
        .unwrap();
    let recorded = events(&app, &complained).await;
    let complaints: Vec<_> = recorded.iter().filter(|e| e.0 == "complained").collect();
    assert_eq!(complaints.len(), 1, "{recorded:?}");
    assert_eq!(complaints[0].1.as_deref(), Some("reader@example.org"));
    assert_eq!(complaints[0].2["complaint"]["feedbackType"], "abuse");
    assert_eq!(
        suppression(&app, "reader@example.org").await,
        Some(("complaint".to_string(), Some(complained.clone())))
    );
    assert_eq!(suppression(&app, "other@example.org").await, None);

    // The subscribed address's own email got nothing.
    let own = events(&app, &subscribed).await;
    assert!(
        own.iter().all(|e| e.0 != "bounced" && e.0 != "complained"),
        "{own:?}"
    );
}
