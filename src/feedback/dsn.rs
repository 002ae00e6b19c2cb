//! RFC 3464 delivery status notifications: the `message/delivery-status` body is one block of
//! per-message fields (Reporting-MTA, Original-Envelope-Id, Arrival-Date) followed by one
//! block per recipient (Final-Recipient, Original-Recipient, Action, Status, Remote-MTA,
//! Diagnostic-Code). Some MTAs put the same fields into their plain-text part; the same
//! reader serves both.

use super::fields::{Fields, blocks, enhanced_status, reply_code, typed_address, typed_text};

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
    let reply_code = diagnostic.as_deref().and_then(reply_code);
    let declared = block.get("status").and_then(enhanced_status);
    let from_diagnostic = diagnostic.as_deref().and_then(enhanced_status);
    Some(DsnRecipient {
        address,
        original_recipient,
        action: block.get("action").map(|a| a.to_ascii_lowercase()),
        status: best_status(declared, from_diagnostic),
        reply_code,
        diagnostic,
        remote_mta: block.get("remote-mta").map(typed_text),
    })
}

/// The declared Status, unless it is the unspecific `X.0.0` and the diagnostic carries a
/// more precise code of the same class.
fn best_status(declared: Option<[u16; 3]>, diagnostic: Option<[u16; 3]>) -> Option<[u16; 3]> {
    match (declared, diagnostic) {
        (Some([class, 0, 0]), Some(precise)) if precise[0] == class => Some(precise),
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
        assert_eq!(gone.status, Some([5, 1, 1]), "the precise code wins over 5.0.0");
        assert_eq!(gone.reply_code, Some(550));
        assert_eq!(
            gone.diagnostic.as_deref(),
            Some("550 5.1.1 <gone@dest.test>: user unknown")
        );
        assert_eq!(gone.remote_mta.as_deref(), Some("mx.dest.test"));
        assert_eq!(report.recipients[1].status, Some([4, 4, 1]));
        assert_eq!(report.recipients[1].reply_code, None);
    }
}
