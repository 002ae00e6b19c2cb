//! RFC 3464 delivery status notifications: the `message/delivery-status` body is one block of
//! per-message fields (Reporting-MTA, Original-Envelope-Id, Arrival-Date) followed by one
//! block per recipient (Final-Recipient, Original-Recipient, Action, Status, Remote-MTA,
//! Diagnostic-Code). Some MTAs put the same fields into their plain-text part; the same
//! reader serves both.

use super::fields::{Fields, blocks, code_pairs, enhanced_statuses, typed_address, typed_text};
use crate::smtp::parse_status;

/// What a delivery-status body says.
#[derive(Debug, Default)]
pub(super) struct DeliveryStatus {
    pub reporting_mta: Option<String>,
    pub original_envelope_id: Option<String>,
    pub arrival_date: Option<String>,
    pub recipients: Vec<DsnRecipient>,
}

#[derive(Debug, Default, Clone)]
pub(super) struct DsnRecipient {
    pub address: String,
    pub original_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<[u16; 3]>,
    pub reply_code: Option<u16>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    /// The reporting MTA's own classification of the failure (PowerMTA's
    /// `X-PowerMTA-BounceCategory`, e.g. `bad-mailbox`).
    pub category: Option<String>,
}

pub(super) fn parse(text: &str) -> DeliveryStatus {
    let mut report = DeliveryStatus::default();
    for block in blocks(text) {
        if let Some(recipient) = recipient(&block) {
            report.recipients.push(recipient);
            continue;
        }
        let typed = |name| block.get(name).map(typed_text);
        report.reporting_mta = report.reporting_mta.or(typed("reporting-mta"));
        report.original_envelope_id = report
            .original_envelope_id
            .or(block.get("original-envelope-id").map(str::to_string));
        report.arrival_date = report
            .arrival_date
            .or(block.get("arrival-date").map(str::to_string));
    }
    report
}

fn recipient(block: &Fields) -> Option<DsnRecipient> {
    let original_recipient = block.get("original-recipient").and_then(typed_address);
    let address = block
        .get("final-recipient")
        .and_then(typed_address)
        .or_else(|| original_recipient.clone())
        .or_else(|| block.get("x-actual-recipient").and_then(typed_address))?;
    let diagnostic = block.get("diagnostic-code").map(typed_text);
    let declared = block
        .get("status")
        .and_then(|s| s.split_whitespace().next())
        .and_then(parse_status);
    // A code the diagnostic's text carries outside a reply (`5.1.0 - Unknown address error
    // 550-'…'`, qmail's `(#5.1.1)`) refines the declared Status only when it names a detail:
    // RFC 3463's x.y.0 is "other or undefined" within its subject, so it cannot tell a
    // missing mailbox from any other trouble with the address.
    let from_diagnostic = diagnostic.as_deref().and_then(|text| {
        enhanced_statuses(text).find(|&[_, _, detail]| detail != 0 || declared.is_none())
    });
    // The diagnostic may quote several replies (`554 4.4.7 expired <421 4.4.2 timeout>`):
    // the first whose code and status agree with each other and with the declared class
    // is the remote server's answer.
    let pairs = diagnostic.as_deref().map(code_pairs).unwrap_or_default();
    let class = declared.map(|[class, ..]| class);
    let agreeing = pairs.iter().find_map(|&(code, status)| {
        let status = status?;
        (status[0] == code / 100 && class.is_none_or(|c| c == status[0])).then_some((code, status))
    });
    let status = match agreeing {
        Some((_, status)) => Some(status),
        None => best_status(declared, from_diagnostic),
    };
    // A reply code that contradicts the status (550 with 4.0.0) is not trusted.
    let reply_code = agreeing.map(|(code, _)| code).or_else(|| {
        pairs
            .iter()
            .map(|&(code, _)| code)
            .find(|code| status.is_none_or(|[class, ..]| code / 100 == class))
    });
    Some(DsnRecipient {
        address,
        original_recipient,
        action: block.get("action").map(|a| a.to_ascii_lowercase()),
        status,
        reply_code,
        diagnostic,
        remote_mta: block.get("remote-mta").map(typed_text),
        category: block
            .get("x-powermta-bouncecategory")
            .map(|c| c.trim().to_ascii_lowercase()),
    })
}

/// The remote server's own code from the diagnostic when it agrees on the class with the
/// declared Status (which is often generic, `5.0.0`, or says only "gave up", `4.4.7`);
/// else the declared Status.
fn best_status(declared: Option<[u16; 3]>, diagnostic: Option<[u16; 3]>) -> Option<[u16; 3]> {
    match (declared, diagnostic) {
        (Some([class, ..]), Some(remote)) if remote[0] == class => Some(remote),
        (Some(declared), _) => Some(declared),
        (None, diagnostic) => diagnostic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_message_and_per_recipient_fields() {
        let body = "Reporting-MTA: dns; mx.herald.test\r\nOriginal-Envelope-Id: env-42\r\n\
                    Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n\
                    Final-Recipient: rfc822; gone@dest.test\r\n\
                    Original-Recipient: rfc822;Gone@Dest.test\r\nAction: failed\r\n\
                    Status: 5.0.0\r\nRemote-MTA: dns; mx.dest.test\r\n\
                    Diagnostic-Code: smtp; 550 5.1.1 <gone@dest.test>: user\r\n unknown\r\n\r\n\
                    Final-Recipient: rfc822; later@dest.test\r\nAction: delayed\r\n\
                    Status: 4.4.1\r\n";
        let report = parse(body);
        assert_eq!(report.reporting_mta.as_deref(), Some("mx.herald.test"));
        assert_eq!(report.original_envelope_id.as_deref(), Some("env-42"));
        assert_eq!(report.recipients.len(), 2);
        let gone = &report.recipients[0];
        assert_eq!(gone.address, "gone@dest.test");
        assert_eq!(gone.original_recipient.as_deref(), Some("gone@dest.test"));
        assert_eq!(gone.action.as_deref(), Some("failed"));
        assert_eq!(
            gone.status,
            Some([5, 1, 1]),
            "the precise code wins over 5.0.0"
        );
        assert_eq!(gone.reply_code, Some(550));
        assert_eq!(
            gone.diagnostic.as_deref(),
            Some("550 5.1.1 <gone@dest.test>: user unknown")
        );
        assert_eq!(gone.remote_mta.as_deref(), Some("mx.dest.test"));
        assert_eq!(report.recipients[1].status, Some([4, 4, 1]));
        assert_eq!(report.recipients[1].reply_code, None);
        assert_eq!(gone.category, None);
    }

    #[test]
    fn a_code_outside_the_reply_refines_the_status_only_with_a_detail() {
        let status = |diagnostic: &str| {
            let body = format!(
                "Final-Recipient: rfc822; gone@dest.test\r\nAction: failed\r\n\
                 Status: 5.0.0 (permanent failure)\r\nDiagnostic-Code: smtp; {diagnostic}\r\n"
            );
            parse(&body).recipients[0].status
        };
        // RFC 3463's x.1.0 is "other address status": no more precise than the declared one
        assert_eq!(
            status("5.1.0 - Unknown address error 550-'gone unknown user account'"),
            Some([5, 0, 0])
        );
        // a code with a detail does refine it, wherever the text carries it
        assert_eq!(
            status("5.1.0 - Unknown address error 550-'no mailbox here (#5.1.1)'"),
            Some([5, 1, 1])
        );
        // the remote server's own code right after its reply code counts as it is
        assert_eq!(status("550 #5.1.0 Address rejected."), Some([5, 1, 0]));
    }

    #[test]
    fn the_reporting_mtas_bounce_category() {
        let body = "Final-Recipient: rfc822; gone@dest.test\r\nAction: failed\r\n\
                    Status: 5.0.0\r\nX-PowerMTA-BounceCategory: Bad-Mailbox\r\n";
        let report = parse(body);
        assert_eq!(
            report.recipients[0].category.as_deref(),
            Some("bad-mailbox")
        );
    }
}
