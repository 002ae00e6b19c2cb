//! RFC 5965 abuse reports (ARF): the `message/feedback-report` part of a complaint. Typed
//! fields come from mail-auth's ARF parser; the feedback type is also read raw so types it
//! does not know (e.g. `opt-out`, `dmarc`) are kept as written.

use std::net::IpAddr;

use mail_auth::report::{Feedback as ArfFeedback, FeedbackType};
use serde::Serialize;

use super::fields::{blocks, typed_address};

/// What a feedback report says about a complaint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Complaint {
    /// `abuse`, `fraud`, `virus`, `auth-failure`, `not-spam`, `other`, or what the report says.
    pub feedback_type: String,
    pub user_agent: Option<String>,
    pub original_mail_from: Option<String>,
    pub original_rcpt_to: Option<String>,
    pub original_envelope_id: Option<String>,
    pub reporting_mta: Option<String>,
    pub source_ip: Option<IpAddr>,
    /// Seconds since the epoch, when the report gives a parseable Arrival-Date.
    pub arrival_date: Option<i64>,
    pub reported_domains: Vec<String>,
    pub incidents: u32,
}

pub(super) fn parse(report: &[u8]) -> Complaint {
    let text = String::from_utf8_lossy(report);
    let raw = blocks(&text).into_iter().next().unwrap_or_default();
    let typed = ArfFeedback::parse_arf(report);
    let feedback_type = raw
        .get("feedback-type")
        .map(|t| t.to_ascii_lowercase())
        .or_else(|| {
            typed
                .as_ref()
                .map(|f| type_name(f.feedback_type()).to_string())
        })
        .unwrap_or_else(|| "other".to_string());
    let mut complaint = Complaint {
        feedback_type,
        original_rcpt_to: raw.get("original-rcpt-to").and_then(typed_address),
        original_mail_from: raw.get("original-mail-from").and_then(typed_address),
        ..Complaint::default()
    };
    if let Some(typed) = typed {
        complaint.user_agent = typed.user_agent().map(str::to_string);
        complaint.original_envelope_id = typed.original_envelope_id().map(str::to_string);
        complaint.reporting_mta = typed.reporting_mta().map(str::to_string);
        complaint.source_ip = typed.source_ip();
        complaint.arrival_date = typed.arrival_date;
        complaint.reported_domains = typed
            .reported_domain
            .iter()
            .map(|d| d.to_string())
            .collect();
        complaint.incidents = typed.incidents;
    }
    complaint
}

fn type_name(feedback_type: FeedbackType) -> &'static str {
    match feedback_type {
        FeedbackType::Abuse => "abuse",
        FeedbackType::AuthFailure => "auth-failure",
        FeedbackType::Fraud => "fraud",
        FeedbackType::NotSpam => "not-spam",
        FeedbackType::Other => "other",
        FeedbackType::Virus => "virus",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_report_fields() {
        let report = b"Feedback-Type: abuse\r\nUser-Agent: SomeISP-FBL/1.0\r\nVersion: 1\r\n\
            Original-Mail-From: <bounces+e1@mail.herald.test>\r\n\
            Original-Rcpt-To: <Reader@isp.test>\r\nArrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n\
            Source-IP: 192.0.2.1\r\nReported-Domain: herald.test\r\nIncidents: 2\r\n";
        let complaint = parse(report);
        assert_eq!(complaint.feedback_type, "abuse");
        assert_eq!(complaint.user_agent.as_deref(), Some("SomeISP-FBL/1.0"));
        assert_eq!(
            complaint.original_mail_from.as_deref(),
            Some("bounces+e1@mail.herald.test")
        );
        assert_eq!(
            complaint.original_rcpt_to.as_deref(),
            Some("reader@isp.test")
        );
        assert_eq!(complaint.source_ip, Some("192.0.2.1".parse().unwrap()));
        assert!(complaint.arrival_date.is_some());
        assert_eq!(complaint.reported_domains, vec!["herald.test"]);
        assert_eq!(complaint.incidents, 2);

        let unknown_type = parse(b"Feedback-Type: opt-out\r\nVersion: 1\r\n");
        assert_eq!(unknown_type.feedback_type, "opt-out");
    }
}
