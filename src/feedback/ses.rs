//! JSON feedback notifications delivered by email, the kind Amazon SES sends: a
//! notification object (`notificationType` `Bounce` or `Complaint`, with `bounce` or
//! `complaint` and the `mail` it concerns), either as the whole body (an SNS "email"
//! subscription, possibly followed by SNS's unsubscribe footer) or as the string `Message`
//! of an SNS envelope (`"Type": "Notification"`, an "email-json" subscription).
//!
//! Bounced recipients carry a status and a diagnostic like a DSN and are classified the same
//! way; the notification's `bounceType` and `bounceSubType` fill in when they do not.

use serde::Deserialize;
use serde_json::Value;

use super::dsn::DsnRecipient;
use super::fields::{addresses, code_pairs, typed_text};
use super::{Complaint, Feedback, Kind, Original, Reason, Recipient};
use crate::smtp::parse_status;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Notification {
    notification_type: Option<String>,
    /// SES event publishing says `eventType` instead.
    event_type: Option<String>,
    bounce: Option<Bounce>,
    complaint: Option<SesComplaint>,
    mail: Option<Mail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Bounce {
    bounce_type: Option<String>,
    bounce_sub_type: Option<String>,
    bounced_recipients: Vec<BouncedRecipient>,
    #[serde(rename = "reportingMTA")]
    reporting_mta: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct BouncedRecipient {
    email_address: Option<String>,
    action: Option<String>,
    status: Option<String>,
    diagnostic_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SesComplaint {
    complained_recipients: Vec<ComplainedRecipient>,
    complaint_feedback_type: Option<String>,
    user_agent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ComplainedRecipient {
    email_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Mail {
    source: Option<String>,
    destination: Vec<String>,
    headers: Vec<Header>,
    common_headers: Option<CommonHeaders>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CommonHeaders {
    from: Vec<String>,
    message_id: Option<String>,
    subject: Option<String>,
}

/// The first JSON object in `text` (text before it and after it is ignored). A mail system
/// may have broken a long line inside a JSON string (a raw line break there is not JSON):
/// when the text does not parse, it is read again with such breaks undone.
fn first_object(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let parse = |text: &str| {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        values.next()?.ok().filter(Value::is_object)
    };
    parse(&text[start..]).or_else(|| parse(&unbreak_strings(&text[start..])))
}

/// `text` with the line breaks inside JSON strings undone: a bare CR or LF is dropped, and
/// so is Sendmail's mark of a line it split for length (`!` before the break, a space after
/// it), so `"complaint@sim!\n ulator.test"` reads `"complaint@simulator.test"` again.
fn unbreak_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string && matches!(c, '\r' | '\n') {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            if out.ends_with('!') && chars.peek() == Some(&' ') {
                out.pop();
                chars.next();
            }
            continue;
        }
        out.push(c);
        if escaped {
            escaped = false;
        } else if in_string && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
    }
    out
}

/// The notification in a body: the object itself, or the `Message` of an SNS envelope.
fn notification(text: &str) -> Option<Notification> {
    if !text.contains("notificationType") && !text.contains("eventType") {
        return None;
    }
    let mut value = first_object(text)?;
    if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = value.get("Message").and_then(Value::as_str)?;
        value = first_object(message)?;
    }
    let parsed: Notification = serde_json::from_value(value).ok()?;
    (parsed.notification_type.is_some() || parsed.event_type.is_some()).then_some(parsed)
}

/// A feedback notification found in one of `bodies`, if any.
pub(super) fn parse(bodies: &[String]) -> Option<Feedback> {
    let notification = bodies.iter().find_map(|body| notification(body))?;
    let kind = notification
        .notification_type
        .as_deref()
        .or(notification.event_type.as_deref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut feedback = Feedback::unknown();
    feedback.original = original(notification.mail.unwrap_or_default());
    match kind.as_str() {
        "bounce" => {
            let bounce = notification.bounce.unwrap_or_default();
            feedback.reporting_mta = bounce.reporting_mta.as_deref().map(typed_text);
            feedback.recipients = bounce
                .bounced_recipients
                .iter()
                .filter_map(|r| bounced(&bounce, r))
                .collect();
            feedback.kind = Kind::Bounce;
        }
        "complaint" => {
            let ses = notification.complaint.unwrap_or_default();
            let recipients: Vec<String> = ses
                .complained_recipients
                .iter()
                .filter_map(|r| r.email_address.as_deref())
                .filter_map(|a| addresses(a).into_iter().next())
                .collect();
            feedback.recipients = recipients
                .iter()
                .cloned()
                .map(Recipient::complainant)
                .collect();
            feedback.complaint = Some(Complaint {
                feedback_type: ses
                    .complaint_feedback_type
                    .filter(|t| !t.trim().is_empty())
                    .map_or_else(|| "other".to_string(), |t| t.to_ascii_lowercase()),
                user_agent: ses.user_agent,
                original_rcpt_to: recipients.first().cloned(),
                original_mail_from: feedback.original.return_path.clone(),
                ..Complaint::default()
            });
            feedback.kind = Kind::Complaint;
        }
        // Delivery, Send, Open…: not feedback.
        _ => return None,
    }
    Some(feedback)
}

fn bounced(bounce: &Bounce, r: &BouncedRecipient) -> Option<Recipient> {
    let address = addresses(r.email_address.as_deref()?).into_iter().next()?;
    let diagnostic = r.diagnostic_code.as_deref().map(typed_text);
    let pairs = diagnostic.as_deref().map(code_pairs).unwrap_or_default();
    let status = r
        .status
        .as_deref()
        .and_then(|s| parse_status(s.trim()))
        .or_else(|| pairs.iter().find_map(|(_, status)| *status));
    let reply_code = pairs
        .iter()
        .map(|(code, _)| *code)
        .find(|code| status.is_none_or(|[class, ..]| code / 100 == class));
    let dsn = DsnRecipient {
        address,
        action: Some(r.action.as_deref().unwrap_or("failed").to_ascii_lowercase()),
        status,
        reply_code,
        diagnostic,
        ..DsnRecipient::default()
    };
    let mut recipient = super::from_dsn(dsn, "", "", false);
    let bounce_type = bounce.bounce_type.as_deref().unwrap_or_default();
    if status.is_none() && reply_code.is_none() {
        recipient.permanent = bounce_type.eq_ignore_ascii_case("permanent");
    }
    if matches!(recipient.reason, Reason::OnHold | Reason::Undefined) {
        recipient.reason = match bounce.bounce_sub_type.as_deref().unwrap_or_default() {
            "NoEmail" => Reason::UserUnknown,
            "Suppressed" | "OnAccountSuppressionList" => Reason::Suppressed,
            "MailboxFull" => Reason::MailboxFull,
            "MessageTooLarge" => Reason::MesgTooBig,
            "ContentRejected" => Reason::ContentError,
            "AttachmentRejected" => Reason::SecurityError,
            _ => recipient.reason,
        };
    }
    recipient.hard = recipient.reason.is_hard(recipient.permanent);
    Some(recipient)
}

fn original(mail: Mail) -> Original {
    let header = |name: &str| {
        mail.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim().to_string())
    };
    let common = mail.common_headers.as_ref();
    let first_address = |text: &str| addresses(text).into_iter().next();
    Original {
        message_id: header("Message-ID")
            .or_else(|| common.and_then(|c| c.message_id.clone()))
            .map(|id| id.trim_start_matches('<').trim_end_matches('>').to_string()),
        from: common
            .and_then(|c| c.from.first())
            .and_then(|f| first_address(f))
            .or_else(|| header("From").and_then(|f| first_address(&f))),
        to: mail
            .destination
            .iter()
            .filter_map(|d| first_address(d))
            .collect(),
        return_path: mail.source.as_deref().and_then(first_address),
        subject: common
            .and_then(|c| c.subject.clone())
            .or_else(|| header("Subject")),
        headers: mail
            .headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNCE: &str = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
        "bounceSubType":"General","bouncedRecipients":[{"emailAddress":"Gone@Dest.test",
        "action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],
        "timestamp":"2026-01-01T00:00:00.000Z","feedbackId":"f1",
        "reportingMTA":"dsn; out.ses.test"},
        "mail":{"timestamp":"2026-01-01T00:00:00.000Z","source":"bounces+abc@send.herald.test",
        "messageId":"ses-1","destination":["gone@dest.test"],
        "headers":[{"name":"Message-ID","value":"<m1@herald.test>"},{"name":"Subject","value":"Hi"}],
        "commonHeaders":{"from":["Herald <hi@herald.test>"],"to":["gone@dest.test"],"subject":"Hi"}}}"#;

    #[test]
    fn a_bounce_as_the_whole_body_with_the_sns_footer() {
        let body = format!(
            "{BOUNCE}\n\n--\nIf you wish to stop receiving notifications from this topic, \
             please click or visit the link below to unsubscribe:\nhttps://sns.test/unsubscribe\n"
        );
        let feedback = parse(&[body]).unwrap();
        assert_eq!(feedback.kind, Kind::Bounce);
        assert_eq!(feedback.reporting_mta.as_deref(), Some("out.ses.test"));
        let r = &feedback.recipients[0];
        let got = (
            r.address.as_str(),
            r.status.as_deref(),
            r.reply_code,
            r.reason,
        );
        assert_eq!(
            got,
            (
                "gone@dest.test",
                Some("5.1.1"),
                Some(550),
                Reason::UserUnknown
            )
        );
        assert!(r.permanent && r.hard);
        let o = &feedback.original;
        let got = (
            o.message_id.as_deref(),
            o.return_path.as_deref(),
            o.from.as_deref(),
        );
        let return_path = Some("bounces+abc@send.herald.test");
        assert_eq!(
            got,
            (Some("m1@herald.test"), return_path, Some("hi@herald.test"))
        );
        assert_eq!(o.to, vec!["gone@dest.test"]);
    }

    #[test]
    fn a_transient_bounce_inside_an_sns_envelope() {
        let message = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Transient",
            "bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"full@dest.test"}]},
            "mail":{"destination":["full@dest.test"]}}"#;
        let envelope = serde_json::json!({
            "Type": "Notification",
            "MessageId": "sns-1",
            "TopicArn": "arn:aws:sns:eu-west-1:1:ses",
            "Message": message,
        });
        let feedback = parse(&[envelope.to_string()]).unwrap();
        let r = &feedback.recipients[0];
        assert_eq!(feedback.kind, Kind::Bounce);
        assert_eq!(r.reason, Reason::MailboxFull);
        assert!(!r.permanent && !r.hard);
    }

    #[test]
    fn an_sns_envelope_with_a_line_broken_inside_a_string() {
        // The mail system that delivered the notification broke a long line inside the
        // `Message` string (a raw line break is not valid JSON): still recognised, with
        // the email's return path from `mail.source`.
        let message = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent",
            "bouncedRecipients":[{"emailAddress":"gone@dest.test","status":"5.1.1",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},
            "mail":{"source":"bounces+abc@send.herald.test","destination":["gone@dest.test"],
            "headers":[{"name":"Subject","value":"A long subject"}]}}"#;
        let envelope = serde_json::json!({"Type": "Notification", "Message": message})
            .to_string()
            .replace("A long subject", "A long\r\n subject");
        assert!(serde_json::from_str::<Value>(&envelope).is_err());
        let feedback = parse(&[envelope]).unwrap();
        assert_eq!(feedback.kind, Kind::Bounce);
        let r = &feedback.recipients[0];
        assert_eq!((r.address.as_str(), r.hard), ("gone@dest.test", true));
        assert_eq!(
            feedback.original.return_path.as_deref(),
            Some("bounces+abc@send.herald.test")
        );
        // Sendmail's mark of a split line goes with the break
        assert_eq!(
            unbreak_strings("{\"to\":[\"complaint@sim!\r\n ulator.test\"]}"),
            "{\"to\":[\"complaint@simulator.test\"]}"
        );
        // an escaped quote or backslash inside a string does not end it
        let value = unbreak_strings("{\"a\":\"x\\\"\r\ny\\\\\",\r\n\"b\":1}");
        assert_eq!(value, "{\"a\":\"x\\\"y\\\\\",\r\n\"b\":1}");
    }

    #[test]
    fn a_complaint_and_things_that_are_not_feedback() {
        let complaint = r#"{"notificationType":"Complaint","complaint":{"userAgent":"Mail UA",
            "complainedRecipients":[{"emailAddress":"reader@isp.test"}],
            "complaintFeedbackType":"abuse","feedbackId":"f2"},
            "mail":{"source":"bounces+abc@send.herald.test","destination":["reader@isp.test"],
            "headers":[{"name":"Message-ID","value":"<m2@herald.test>"}]}}"#;
        let feedback = parse(&[complaint.to_string()]).unwrap();
        assert_eq!(feedback.kind, Kind::Complaint);
        assert_eq!(feedback.recipients[0].address, "reader@isp.test");
        assert_eq!(feedback.recipients[0].reason, Reason::Feedback);
        let c = feedback.complaint.unwrap();
        assert_eq!(c.feedback_type, "abuse");
        assert_eq!(c.user_agent.as_deref(), Some("Mail UA"));
        assert_eq!(c.original_rcpt_to.as_deref(), Some("reader@isp.test"));

        let delivery = r#"{"notificationType":"Delivery","mail":{"destination":["a@b.test"]}}"#;
        assert!(parse(&[delivery.to_string()]).is_none());
        assert!(parse(&["{\"notificationType\": broken".to_string()]).is_none());
        assert!(parse(&["plain text".to_string()]).is_none());
    }
}
