//! Inbound feedback: bounces (RFC 3464 DSNs and the common non-standard shapes),
//! complaints (RFC 5965 ARF) and JSON notifications delivered by email (Amazon SES, bare or
//! in an SNS envelope), parsed with mail-parser into one typed [`Feedback`]. Each failed
//! recipient gets a [`Reason`] from the reason table (status code, reply code and diagnostic
//! text together) and, from it, a hard or soft verdict.
//!
//! ```
//! let raw = b"From: MAILER-DAEMON@mx.test\r\nTo: bounces+e1@herald.test\r\n\
//!     Subject: failure notice\r\n\r\n\
//!     I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n\
//!     <gone@dest.test>:\r\n550 5.1.1 user unknown\r\n";
//! let feedback = herald::feedback::parse(raw);
//! assert_eq!(feedback.kind, herald::feedback::Kind::Bounce);
//! assert_eq!(feedback.recipients[0].address, "gone@dest.test");
//! assert!(feedback.recipients[0].hard);
//! ```
//!
//! Correlation: Herald's return path (VERP) is the primary key and arrives in the SMTP
//! envelope; [`Feedback::original`] (the returned message's Message-ID, To, Return-Path
//! and headers; for SES notifications the `mail` object's headers and `source`) and
//! [`Feedback::original_envelope_id`] are the fall-backs.

mod arf;
mod dsn;
mod fields;
pub mod listener;
pub mod reason;
mod ses;
mod text;
pub mod verp;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

pub use arf::Complaint;
pub use reason::Reason;

use fields::{addresses, status_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Delivery failed for good (whatever the reason: see each recipient's `hard`).
    Bounce,
    /// Delivery is delayed; the reporting server keeps trying.
    Delay,
    Complaint,
    /// Not recognisably feedback (or a success notice).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    pub kind: Kind,
    pub recipients: Vec<Recipient>,
    /// The ARF fields, for complaints.
    pub complaint: Option<Complaint>,
    pub reporting_mta: Option<String>,
    pub original_envelope_id: Option<String>,
    pub arrival_date: Option<String>,
    /// Headers of the returned (or reported) message, for correlation.
    pub original: Original,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    /// Lowercased.
    pub address: String,
    pub original_recipient: Option<String>,
    /// The DSN Action (`failed`, `delayed`, …), when given.
    pub action: Option<String>,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// SMTP reply code, e.g. 550.
    pub reply_code: Option<u16>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    pub reason: Reason,
    /// Retrying will not help (5.x.x status / 5xx reply, or a final failure without codes).
    pub permanent: bool,
    /// The address itself is bad (the reason's verdict in the reason table: unknown user or
    /// domain, moved, no mail accepted): suppress it. A permanent refusal for other reasons
    /// (blocked, spam) is not hard; "user unknown" with a 4.x.x code is.
    pub hard: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Original {
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub to: Vec<String>,
    pub return_path: Option<String>,
    pub subject: Option<String>,
    /// Every header of the returned message, names as written.
    pub headers: Vec<(String, String)>,
}

impl Original {
    /// A header of the returned message by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Feedback {
    fn unknown() -> Self {
        Feedback {
            kind: Kind::Unknown,
            recipients: Vec::new(),
            complaint: None,
            reporting_mta: None,
            original_envelope_id: None,
            arrival_date: None,
            original: Original::default(),
        }
    }
}

/// The parts of a message that matter for feedback.
#[derive(Default)]
struct Parts<'x> {
    delivery_status: Option<String>,
    feedback_report: Option<Vec<u8>>,
    /// Human-readable text parts (HTML converted to text).
    texts: Vec<String>,
    original: Option<Original>,
    /// Attached messages (a bounce may arrive forwarded inside another message).
    attached: Vec<&'x [u8]>,
    /// `application/json` parts (feedback notifications).
    json: Vec<String>,
}

/// Parses an inbound message. Never fails: what is not feedback comes back as `Unknown`.
pub fn parse(raw: &[u8]) -> Feedback {
    parse_nested(raw, 0)
}

/// How deep to look into attached messages for a forwarded bounce.
const MAX_NESTING: usize = 2;

fn parse_nested(raw: &[u8], depth: usize) -> Feedback {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Feedback::unknown();
    };
    let parts = collect_parts(&message);
    let mut feedback = Feedback::unknown();
    let text = parts.texts.join("\n");
    let (report_text, returned) = text::split_returned(&text);
    feedback.original = parts
        .original
        .clone()
        .or_else(|| returned.and_then(headers_in_text))
        .unwrap_or_default();

    if let Some(report) = &parts.feedback_report {
        return complaint(feedback, arf::parse(report));
    }
    if parts.delivery_status.is_none() {
        let bodies: Vec<String> = parts.json.iter().chain(&parts.texts).cloned().collect();
        if let Some(notification) = ses::parse(&bodies) {
            return notification;
        }
    }

    let subject = message.subject().unwrap_or_default();
    if let Some(status) = &parts.delivery_status {
        let status = dsn::parse(status);
        let reported = status.reporting_mta.is_some();
        feedback.reporting_mta = status.reporting_mta;
        feedback.original_envelope_id = status.original_envelope_id;
        feedback.arrival_date = status.arrival_date;
        feedback.recipients = status
            .recipients
            .into_iter()
            .map(|r| from_dsn(r, report_text, subject, reported))
            .collect();
    }
    if feedback.recipients.is_empty() {
        // Fields of a DSN written into the text part, as some MTAs do.
        feedback.recipients = dsn::parse(report_text)
            .recipients
            .into_iter()
            .map(|r| from_dsn(r, report_text, subject, false))
            .collect();
    }
    if feedback.recipients.is_empty() {
        let exclude = own_addresses(&message);
        let failed_header = message
            .header_raw("X-Failed-Recipients")
            .and_then(|h| addresses(h).into_iter().next());
        let found = text::find(report_text, &exclude, failed_header.as_deref()).filter(|found| {
            found.introduced || found.reply_code.is_some() || looks_like_bounce(&message)
        });
        if let Some(found) = found {
            feedback
                .recipients
                .push(from_text(found, report_text, subject));
        }
    }
    if feedback.recipients.is_empty() && depth < MAX_NESTING {
        let forwarded = parts
            .attached
            .iter()
            .map(|raw| parse_nested(raw, depth + 1))
            .find(|inner| inner.kind != Kind::Unknown);
        if let Some(inner) = forwarded {
            return inner;
        }
    }
    if feedback.recipients.is_empty() && looks_like_bounce(&message) {
        // nothing in the text: the returned message says whom it was for
        let to = feedback.original.to.first().cloned();
        let exclude = own_addresses(&message);
        if let Some(found) = to.and_then(|to| text::find(report_text, &exclude, Some(&to))) {
            feedback
                .recipients
                .push(from_text(found, report_text, subject));
        }
    }
    feedback.kind = kind(&feedback.recipients, report_text, subject);
    feedback
}

fn complaint(mut feedback: Feedback, complaint: Complaint) -> Feedback {
    feedback.kind = Kind::Complaint;
    feedback.original_envelope_id = complaint.original_envelope_id.clone();
    feedback.reporting_mta = complaint.reporting_mta.clone();
    let address = complaint
        .original_rcpt_to
        .clone()
        .or_else(|| feedback.original.to.first().cloned());
    if let Some(address) = address.filter(|a| !is_placeholder(a)) {
        feedback.recipients.push(Recipient::complainant(address));
    }
    feedback.complaint = Some(complaint);
    feedback
}

impl Recipient {
    /// A recipient who complained (no delivery failure).
    fn complainant(address: String) -> Self {
        Recipient {
            address,
            original_recipient: None,
            action: None,
            status: None,
            reply_code: None,
            diagnostic: None,
            remote_mta: None,
            reason: Reason::Feedback,
            permanent: false,
            hard: false,
        }
    }
}

/// Redacted or undisclosed recipients that reports put in place of the real one.
fn is_placeholder(address: &str) -> bool {
    address.starts_with("undisclosed-recipient")
}

/// `reported`: the recipient comes from a `message/delivery-status` part with a
/// Reporting-MTA (a report in RFC 3464's form, whose missing Remote-MTA means something).
fn from_dsn(r: dsn::DsnRecipient, report_text: &str, subject: &str, reported: bool) -> Recipient {
    let wider = format!("{subject}\n{report_text}");
    let evidence = |diagnostic| reason::Evidence {
        status: r.status,
        reply_code: r.reply_code,
        diagnostic,
        action: r.action.as_deref(),
        context: report_text,
        own_mailbox: reported && r.remote_mta.is_none(),
    };
    let (mut reason, basis) =
        reason::classify(&evidence(r.diagnostic.as_deref().unwrap_or(&wider)));
    if basis == reason::Basis::Nothing && r.diagnostic.is_some() {
        let (in_text, basis) = reason::classify(&evidence(&wider));
        if basis != reason::Basis::Nothing {
            reason = in_text;
        }
    }
    // The reporting MTA's own category of the failure says more than our reading of the
    // remote reply (a "no such user" whose SMTP stage we cannot see, for example).
    if let Some(stated) = r.category.as_deref().and_then(reason::from_category) {
        reason = stated;
    }
    let permanent = is_permanent(r.status, r.reply_code, r.action.as_deref());
    Recipient {
        hard: reason.is_hard(permanent),
        address: r.address,
        original_recipient: r.original_recipient,
        action: r.action,
        status: r.status.map(status_text),
        reply_code: r.reply_code,
        diagnostic: r.diagnostic,
        remote_mta: r.remote_mta,
        reason,
        permanent,
    }
}

fn from_text(found: text::TextFinding, report_text: &str, subject: &str) -> Recipient {
    let evidence = |diagnostic| reason::Evidence {
        status: found.status,
        reply_code: found.reply_code,
        diagnostic,
        action: None,
        context: report_text,
        own_mailbox: false,
    };
    let (mut reason, basis) = reason::classify(&evidence(&found.context));
    if basis != reason::Basis::Text {
        let (in_text, basis) = reason::classify(&evidence(&format!("{subject}\n{report_text}")));
        if basis == reason::Basis::Text {
            reason = in_text;
        }
    }
    let permanent = is_permanent(found.status, found.reply_code, None);
    Recipient {
        hard: reason.is_hard(permanent),
        address: found.address,
        original_recipient: None,
        action: None,
        status: found.status.map(status_text),
        reply_code: found.reply_code,
        diagnostic: (!found.diagnostic.is_empty()).then_some(found.diagnostic),
        remote_mta: None,
        reason,
        permanent,
    }
}

/// Sent by a mail system about a delivery, judging by its sender and subject.
fn looks_like_bounce(message: &Message<'_>) -> bool {
    let from = message
        .header_raw("From")
        .unwrap_or_default()
        .to_lowercase();
    let subject = message.subject().unwrap_or_default().to_lowercase();
    let null_sender = message
        .header_raw("Return-Path")
        .is_some_and(|rp| rp.trim() == "<>");
    null_sender
        || [
            "mailer-daemon",
            "postmaster",
            "mail delivery",
            "mail-daemon",
        ]
        .iter()
        .any(|s| from.contains(s))
        || [
            "undeliver",
            "delivery",
            "failure",
            "failed",
            "returned mail",
            "not delivered",
            "could not be delivered",
            "bounce",
            "mail system error",
        ]
        .iter()
        .any(|s| subject.contains(s))
}

/// 5.x.x or 5xx is permanent, 4.x.x or 4xx is not; without codes a failure report is
/// taken as final unless its action says delayed.
fn is_permanent(status: Option<[u16; 3]>, reply_code: Option<u16>, action: Option<&str>) -> bool {
    match (status, reply_code) {
        (Some([class, _, _]), _) => class == 5,
        (None, Some(code)) => code >= 500,
        (None, None) => action != Some("delayed"),
    }
}

fn kind(recipients: &[Recipient], report_text: &str, subject: &str) -> Kind {
    if recipients.is_empty() {
        return Kind::Unknown;
    }
    let actions: Vec<&str> = recipients
        .iter()
        .filter_map(|r| r.action.as_deref())
        .collect();
    if !actions.is_empty() {
        return if actions.contains(&"failed") {
            Kind::Bounce
        } else if actions.contains(&"delayed") {
            Kind::Delay
        } else if actions
            .iter()
            .all(|a| matches!(*a, "delivered" | "relayed" | "expanded"))
        {
            Kind::Unknown
        } else {
            Kind::Bounce
        };
    }
    let lower = format!("{subject}\n{report_text}").to_lowercase();
    let delayed = [
        "has been delayed",
        "(delay)",
        "warning message only",
        "will be retried",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if delayed { Kind::Delay } else { Kind::Bounce }
}

fn collect_parts<'x>(message: &'x Message<'x>) -> Parts<'x> {
    let mut parts = Parts::default();
    for part in &message.parts {
        let (ctype, subtype) = part
            .content_type()
            .map(|ct| {
                (
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or_default().to_ascii_lowercase(),
                )
            })
            .unwrap_or_else(|| ("text".to_string(), "plain".to_string()));
        match (ctype.as_str(), subtype.as_str(), &part.body) {
            ("message", "delivery-status" | "global-delivery-status", _) => {
                parts.delivery_status = Some(String::from_utf8_lossy(part.contents()).into());
            }
            ("message", "feedback-report", _) => {
                parts.feedback_report = Some(part.contents().to_vec());
            }
            (_, _, PartType::Message(returned)) => {
                parts.original = parts.original.take().or(Some(original_of(returned)));
                parts.attached.push(returned.raw_message());
            }
            ("application", "json", _) => {
                parts
                    .json
                    .push(String::from_utf8_lossy(part.contents()).into_owned());
            }
            ("text", "rfc822-headers" | "rfc822-header", _) | ("message", "global-headers", _) => {
                if let Some(original) = MessageParser::default()
                    .parse_headers(part.contents())
                    .map(|m| original_of(&m))
                {
                    parts.original = parts.original.take().or(Some(original));
                }
            }
            (_, _, PartType::Text(text)) => parts.texts.push(text.to_string()),
            (_, _, PartType::Html(html)) => parts.texts.push(html_to_text(html)),
            // A multipart whose boundary is missing (a `boundary=` line left unfolded) cannot
            // be split: its parts, text included, are read as one text.
            ("multipart", _, PartType::Binary(raw) | PartType::InlineBinary(raw)) => {
                parts.texts.push(String::from_utf8_lossy(raw).into());
            }
            _ => {}
        }
    }
    parts
}

fn html_to_text(html: &str) -> String {
    crate::emails::plain_text::from_html(html)
}

fn original_of(message: &Message<'_>) -> Original {
    Original {
        message_id: message.message_id().map(str::to_string),
        from: message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_lowercase),
        to: message
            .to()
            .map(|list| {
                list.iter()
                    .filter_map(|a| a.address())
                    .map(str::to_lowercase)
                    .collect()
            })
            .unwrap_or_default(),
        return_path: message
            .return_address()
            .or_else(|| message.header_raw("Return-Path"))
            .and_then(|rp| addresses(rp).into_iter().next()),
        subject: message.subject().map(str::to_string),
        headers: message
            .headers_raw()
            .map(|(name, value)| (name.to_string(), value.trim().to_string()))
            .collect(),
    }
}

/// The returned message's headers when they are pasted into the text after a marker line.
fn headers_in_text(text: &str) -> Option<Original> {
    let start = text
        .lines()
        .position(|line| {
            line.split_once(':').is_some_and(|(name, _)| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
        })
        .map(|n| text.lines().take(n).map(|l| l.len() + 1).sum::<usize>())?;
    let headers = text.get(start..)?.trim_start();
    let message = MessageParser::default().parse_headers(headers.as_bytes())?;
    let original = original_of(&message);
    (original.message_id.is_some() || !original.to.is_empty()).then_some(original)
}

/// The bounce's own sender and recipients: never the failed recipient.
fn own_addresses(message: &Message<'_>) -> Vec<String> {
    let mut own = Vec::new();
    for header in [
        "From",
        "To",
        "Reply-To",
        "Sender",
        "Return-Path",
        "Delivered-To",
    ] {
        if let Some(value) = message.header_raw(header) {
            own.extend(addresses(value));
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptest_util::{cases, soup};
    use proptest::prelude::*;

    /// Pieces of DSNs, ARF reports, bounces in prose and SES notifications.
    const REPORT_PIECES: &[&str] = &[
        "\r\n",
        "\r\n\r\n",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
        "MIME-Version: 1.0\r\n",
        "--b\r\n",
        "--b--\r\n",
        "Content-Type: message/delivery-status\r\n",
        "Content-Type: message/feedback-report\r\n",
        "Content-Type: text/rfc822-headers\r\n",
        "Content-Type: message/rfc822\r\n",
        "Content-Type: text/html\r\n",
        "Content-Type: application/json\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Transfer-Encoding: quoted-printable\r\n",
        "Reporting-MTA: dns; ",
        "Final-Recipient: rfc822; ",
        "Original-Recipient: rfc822;",
        "Action: failed\r\n",
        "Action: delayed\r\n",
        "Status: 5.1.1\r\n",
        "Status: 4.",
        "Diagnostic-Code: smtp; 550 ",
        "Feedback-Type: abuse\r\n",
        "Original-Rcpt-To: ",
        "From: MAILER-DAEMON@mx.test\r\n",
        "Subject: Undelivered Mail Returned to Sender\r\n",
        "Return-Path: <>\r\n",
        "X-Failed-Recipients: ",
        "a@b.test",
        "<x@y.test>:",
        "@",
        "550 5.1.1 ",
        "5.",
        "user unknown",
        "mailbox full",
        "RCPT TO:",
        "DATA",
        " ",
        "\u{e9}",
        "following addresses",
        "--- Below this line is a copy of the message.\r\n",
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":\"",
        "\",\"status\":\"",
        "\",\"diagnosticCode\":\"",
        "\"}]},\"mail\":{\"source\":\"",
        "\"}}",
        "{\"Type\":\"Notification\",\"Message\":\"",
        "\\\"",
    ];

    proptest! {
        #![proptest_config(cases(128))]

        #[test]
        fn parsing_arbitrary_bytes_never_panics(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&raw);
        }

        #[test]
        fn parsing_report_shaped_input_never_panics(raw in soup(REPORT_PIECES, 60)) {
            let feedback = parse(raw.as_bytes());
            for r in &feedback.recipients {
                prop_assert_eq!(r.hard, r.reason.is_hard(r.permanent));
                prop_assert!(r.address.contains('@'));
            }
            if feedback.kind == Kind::Unknown {
                prop_assert!(feedback.complaint.is_none());
            }
        }

        #[test]
        fn the_text_scanners_never_panic(text in soup(REPORT_PIECES, 40), context in any::<String>()) {
            let _ = fields::addresses(&text);
            let _ = fields::code_pairs(&text);
            let _ = fields::enhanced_status(&text);
            let _ = fields::blocks(&text);
            let _ = text::split_returned(&text);
            let _ = text::find(&text, &[], None);
            let _ = headers_in_text(&text);
            let _ = reason::classify(&reason::Evidence {
                status: fields::enhanced_status(&text),
                reply_code: fields::reply_code(&text),
                diagnostic: &text,
                action: None,
                context: &context,
                own_mailbox: text.len() % 2 == 0,
            });
        }
    }

    #[test]
    fn a_multipart_without_its_boundary_is_read_as_text() {
        // the inner part's `boundary=` sits on an unfolded line, so it cannot be split
        let raw = "From: postmaster@provider.test\r\nTo: bounces+e1@herald.test\r\n\
            Subject: Re: hello\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
            --outer\r\nContent-Type: multipart/alternative;\r\nboundary=\"inner\"\r\n\r\n\
            --inner\r\nContent-Type: text/plain\r\n\r\n\
            Error: Invalid user address\r\n550 - Requested action not taken: no such user here\r\n\
            MAIL FROM: sender@herald.test\r\nRCPT TO: gone@provider.test\r\n\r\n\
            --inner--\r\n\r\n--outer--\r\n";
        let feedback = parse(raw.as_bytes());
        assert_eq!(feedback.kind, Kind::Bounce);
        let r = &feedback.recipients[0];
        assert_eq!(r.address, "gone@provider.test");
        assert_eq!(r.reason, Reason::UserUnknown);
        assert!(r.hard);
    }

    #[test]
    fn a_qmail_report_of_a_recipient_refused_at_rcpt_is_hard() {
        // qmail names the stage in words on the line before the remote reply
        let raw = "From: MAILER-DAEMON@relay.test\r\nTo: bounces+e1@herald.test\r\n\
            Subject: failure notice\r\n\r\n\
            Hi. This is the qmail-send program at relay.test.\r\n\
            I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\r\n\
            <gone@dest.test>:\r\n192.0.2.7 does not like recipient.\r\n\
            Remote host said: 550 gone@dest.test... No such user\r\n\r\n\
            --- Below this line is a copy of the message.\r\n";
        let r = &parse(raw.as_bytes()).recipients[0];
        assert_eq!(r.address, "gone@dest.test");
        assert_eq!((r.reason, r.hard), (Reason::UserUnknown, true));
        // refused after the message was sent: a filter's answer, soft
        let after = raw.replace(
            "192.0.2.7 does not like recipient.",
            "192.0.2.7 failed after I sent the message.",
        );
        let r = &parse(after.as_bytes()).recipients[0];
        assert_eq!((r.reason, r.hard), (Reason::Filtered, false));
    }

    #[test]
    fn a_standard_dsn_with_the_returned_headers() {
        let raw = "From: MAILER-DAEMON@mx.herald.test\r\nTo: bounces+e1@herald.test\r\n\
            Subject: Undelivered Mail\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n\
            --b\r\nContent-Type: message/delivery-status\r\n\r\n\
            Reporting-MTA: dns; mx.herald.test\r\nOriginal-Envelope-Id: env-1\r\n\r\n\
            Final-Recipient: rfc822; Gone@Dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\
            Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
            --b\r\nContent-Type: text/rfc822-headers\r\n\r\n\
            Return-Path: <bounces+e1@herald.test>\r\nMessage-ID: <m1@herald.test>\r\n\
            To: gone@dest.test\r\nSubject: hi\r\n\r\n--b--\r\n";
        let feedback = parse(raw.as_bytes());
        assert_eq!(feedback.kind, Kind::Bounce);
        assert_eq!(feedback.original_envelope_id.as_deref(), Some("env-1"));
        assert_eq!(feedback.reporting_mta.as_deref(), Some("mx.herald.test"));
        let r = &feedback.recipients[0];
        assert_eq!(r.address, "gone@dest.test");
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(r.reply_code, Some(550));
        assert_eq!(r.reason, Reason::UserUnknown);
        assert!(r.permanent && r.hard);
        assert_eq!(
            feedback.original.message_id.as_deref(),
            Some("m1@herald.test")
        );
        assert_eq!(
            feedback.original.return_path.as_deref(),
            Some("bounces+e1@herald.test")
        );
        assert_eq!(feedback.original.to, vec!["gone@dest.test"]);
        assert_eq!(feedback.original.header("subject"), Some("hi"));
    }

    #[test]
    fn an_ses_event_in_a_base64_email_body_is_recognised() {
        // The event-publishing form (`eventType`), delivered as an email whose body is
        // base64: the notification is read from the decoded text.
        use base64::Engine as _;
        let event = r#"{"eventType":"Bounce","bounce":{"bounceType":"Permanent",
            "bounceSubType":"General","bouncedRecipients":[{"emailAddress":"gone@dest.test",
            "action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 no such user"}]},
            "mail":{"source":"bounces+e9@herald.test","destination":["gone@dest.test"]}}"#;
        let body = base64::engine::general_purpose::STANDARD.encode(event);
        let raw = format!(
            "From: no-reply@sns.test\r\nTo: feedback@herald.test\r\n\
             Subject: AWS Notification Message\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        );
        let feedback = parse(raw.as_bytes());
        assert_eq!(feedback.kind, Kind::Bounce);
        let r = &feedback.recipients[0];
        assert_eq!(
            (r.address.as_str(), r.reason, r.hard),
            ("gone@dest.test", Reason::UserUnknown, true)
        );
        assert_eq!(
            feedback.original.return_path.as_deref(),
            Some("bounces+e9@herald.test")
        );
    }

    #[test]
    fn an_ses_complaint_by_email_with_a_line_split_for_length() {
        // SNS's plain email: the notification then its footer; a relay split the long line
        // inside a JSON string (Sendmail's `!`, line break, space).
        let raw = "From: SES <no-reply@sns.test>\r\nTo: feedback@herald.test\r\n\
            Subject: AWS Notification Message\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n\
            {\"notificationType\":\"Complaint\",\"complaint\":{\"complainedRecipients\":\
            [{\"emailAddress\":\"reader@isp.test\"}],\"complaintFeedbackType\":\"abuse\"},\
            \"mail\":{\"source\":\"bounces+e7@herald.test\",\"destination\":\
            [\"reader@i!\r\n sp.test\"]}}\r\n\r\n--\r\nIf you wish to stop receiving \
            notifications from this topic, please click or visit the link below to \
            unsubscribe:\r\nhttps://sns.test/unsubscribe\r\n";
        let feedback = parse(raw.as_bytes());
        assert_eq!(feedback.kind, Kind::Complaint);
        assert_eq!(feedback.recipients[0].address, "reader@isp.test");
        assert_eq!(feedback.complaint.unwrap().feedback_type, "abuse");
        assert_eq!(
            feedback.original.return_path.as_deref(),
            Some("bounces+e7@herald.test")
        );
        assert_eq!(feedback.original.to, vec!["reader@isp.test"]);
    }

    #[test]
    fn the_reporting_mtas_bounce_category_is_taken_over_the_text() {
        // "no such user" at a stage the report does not show would be `filtered`; the
        // reporting MTA says the mailbox is bad.
        let raw = "From: postmaster@mta.test\r\nTo: b@herald.test\r\nSubject: Delivery failure\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n\
            --x\r\nContent-Type: message/delivery-status\r\n\r\n\
            Final-Recipient: rfc822; gone@dest.test\r\nAction: failed\r\nStatus: 5.0.0\r\n\
            Diagnostic-Code: smtp;554 delivery error: no such user here\r\n\
            X-PowerMTA-BounceCategory: bad-mailbox\r\n\r\n--x--\r\n";
        let r = &parse(raw.as_bytes()).recipients[0];
        assert_eq!((r.reason, r.hard), (Reason::UserUnknown, true));
        let without = raw.replace("X-PowerMTA-BounceCategory: bad-mailbox\r\n", "");
        let r = &parse(without.as_bytes()).recipients[0];
        assert_eq!((r.reason, r.hard), (Reason::Filtered, false));
    }

    #[test]
    fn a_delay_and_garbage() {
        let raw = "From: postmaster@mx.test\r\nTo: b@herald.test\r\nSubject: Delayed Mail\r\n\
            Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n\
            --x\r\nContent-Type: message/delivery-status\r\n\r\n\
            Final-Recipient: rfc822; slow@dest.test\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n--x--\r\n";
        let feedback = parse(raw.as_bytes());
        assert_eq!(feedback.kind, Kind::Delay);
        assert!(!feedback.recipients[0].permanent);
        assert!(!feedback.recipients[0].hard);
        assert_eq!(parse(b"").kind, Kind::Unknown);
        assert_eq!(parse(b"\xff\xfe not mail").kind, Kind::Unknown);
        assert_eq!(
            parse(b"From: a@b.test\r\nSubject: hello\r\n\r\nJust saying hi.\r\n").kind,
            Kind::Unknown
        );
    }
}
