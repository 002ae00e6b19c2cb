//! Bounces without a delivery-status part (qmail, Exim, older Postfix/sendmail, Exchange,
//! provider-specific notices): the recipient, codes and diagnostic are read from the
//! human-readable text, which is cut where the returned message begins.

use super::fields::{addresses, enhanced_status, reply_code};

/// Where in the text the failed recipients are usually introduced (lowercase).
const RECIPIENT_INTRODUCTIONS: &[&str] = &[
    "following recipient",
    "following address",
    "following list of recipients",
    "address(es) failed",
    "addresses had",
    "not be delivered to",
    "not delivered to",
    "deliver message to",
    "deliver your message to",
    "did not reach",
    "error delivering your mail to",
    "delivery to the following",
    "delivered to the following",
    "delivery has failed to",
    "delivery failed to",
];

/// Lines that announce the returned message (lowercase, decoration trimmed).
fn starts_returned_message(line: &str) -> bool {
    let line = line
        .trim_matches(|c: char| c.is_whitespace() || "-=*>_#".contains(c))
        .to_lowercase();
    line.starts_with("original message")
        || line.starts_with("undelivered message")
        || line.starts_with("returned message")
        || line.starts_with("the original message headers")
        || line.contains("copy of the message")
        || line.contains("copy of the original message")
        || line.contains("copy of your message")
        || line.contains("message headers follow")
        || line.contains("header of the original message")
        || line.contains("copy of the message header")
}

/// Splits a bounce's text into the report and the returned message (if announced).
pub(super) fn split_returned(text: &str) -> (&str, Option<&str>) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if starts_returned_message(line) {
            return (&text[..offset], Some(&text[offset + line.len()..]));
        }
        offset += line.len();
    }
    (text, None)
}

/// What the text says about one failed recipient.
#[derive(Debug, Default)]
pub(super) struct TextFinding {
    pub address: String,
    pub status: Option<[u16; 3]>,
    pub reply_code: Option<u16>,
    /// The lines that explain the failure.
    pub diagnostic: String,
    /// The report text from the recipient on (for classification).
    pub context: String,
    /// The text introduced the recipient the way bounces do (or a header named it).
    pub introduced: bool,
}

/// Finds the failed recipient in `report`: the first address after a phrase that
/// introduces recipients, else the first address at all, never one of `exclude` (the
/// bounce's own sender and recipients). `hint` names the recipient when a header did.
pub(super) fn find(report: &str, exclude: &[String], hint: Option<&str>) -> Option<TextFinding> {
    let lower = lower_in_place(report);
    let usable = |text: &str| addresses(text).into_iter().find(|a| !exclude.contains(a));
    let after = |at: usize| usable(report.get(at..).unwrap_or_default());
    let introduction = RECIPIENT_INTRODUCTIONS
        .iter()
        .filter_map(|phrase| lower.find(phrase))
        .min();
    let introduced = introduction
        .and_then(after)
        // a session transcript names the recipient in its RCPT command
        .or_else(|| lower.find("rcpt to:").and_then(after));
    let (address, introduced) = match (hint, introduced) {
        (Some(hint), _) => (hint.to_lowercase(), true),
        (None, Some(address)) => (address, true),
        (None, None) => match usable(report) {
            Some(address) => (address, false),
            // No other address anywhere: the one introduced as failed is the bounce's own (a
            // message its sender sent to itself). Not counted as introduced, so the caller
            // still wants a reply code or a bounce's sender before believing it.
            None => {
                let rest = report.get(introduction?..).unwrap_or_default();
                (addresses(rest).into_iter().next()?, false)
            }
        },
    };
    // From the line naming the recipient to the end of the report.
    let at = lower.find(&address).unwrap_or(0);
    let line_start = report[..at].rfind('\n').map_or(0, |i| i + 1);
    let context = &report[line_start..];
    let paragraph = paragraph(context);
    let status = enhanced_status(paragraph).or_else(|| enhanced_status(context));
    let reply_code = reply_code(paragraph).or_else(|| reply_code(context));
    let diagnostic = diagnostic_lines(paragraph, context);
    Some(TextFinding {
        address,
        status,
        reply_code,
        diagnostic,
        context: context.to_string(),
        introduced,
    })
}

/// `text` lower-cased where that keeps each character's length in bytes, so that a position
/// found in the result is the same position in `text` (`str::to_lowercase` may change
/// lengths: `İ` becomes two characters).
fn lower_in_place(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) if l.len_utf8() == c.len_utf8() => l,
                _ => c,
            }
        })
        .collect()
}

/// The text up to the first blank line after some content.
fn paragraph(text: &str) -> &str {
    let mut offset = 0;
    let mut seen_content = false;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            if seen_content {
                break;
            }
        } else {
            seen_content = true;
        }
        offset += line.len();
    }
    &text[..offset]
}

/// The recipient's paragraph, or else the first line of the context with a code in it,
/// whitespace collapsed.
fn diagnostic_lines(paragraph: &str, context: &str) -> String {
    let has_code = |text: &str| reply_code(text).is_some() || enhanced_status(text).is_some();
    let text = if has_code(paragraph) {
        paragraph
    } else {
        context
            .lines()
            .find(|line| has_code(line))
            .unwrap_or(paragraph)
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_recipient_after_its_introduction_and_the_codes_near_it() {
        let text = "Hi. This is the mailer at mx.sender.test.\n\
                    I'm afraid I wasn't able to deliver your message to the following addresses.\n\n\
                    <gone@dest.test>:\n\
                    Remote host said: 550 5.1.1 <gone@dest.test>... User Unknown\n\n\
                    --- Below this line is a copy of the message.\n\n\
                    Return-Path: <sender@herald.test>\nTo: gone@dest.test\n";
        let (report, returned) = split_returned(text);
        assert!(returned.unwrap().contains("Return-Path"));
        let found = find(report, &["sender@herald.test".to_string()], None).unwrap();
        assert_eq!(found.address, "gone@dest.test");
        assert_eq!(found.reply_code, Some(550));
        assert_eq!(found.status, Some([5, 1, 1]));
        assert_eq!(
            found.diagnostic,
            "<gone@dest.test>: Remote host said: 550 5.1.1 <gone@dest.test>... User Unknown"
        );
    }

    #[test]
    fn positions_survive_characters_whose_lower_case_is_longer() {
        // Found by the property test: `İ` lower-cases to two characters, which moved every
        // later position and sliced the report inside a character.
        let report = "İ é@dest.test: 550 5.1.1 user unknown";
        let found = find(report, &[], None).unwrap();
        assert_eq!(found.address, "é@dest.test");
        assert_eq!(found.status, Some([5, 1, 1]));
        assert_eq!(lower_in_place("ÀİB"), "àİb");
    }

    #[test]
    fn excluded_addresses_are_skipped() {
        let found = find(
            "Hello sender@herald.test, mail to other@dest.test failed",
            &["sender@herald.test".to_string()],
            None,
        )
        .unwrap();
        assert_eq!(found.address, "other@dest.test");
        assert!(find("nothing here", &[], None).is_none());
    }

    #[test]
    fn a_bounce_of_a_message_sent_to_oneself_names_the_sender() {
        let own = ["me@herald.test".to_string()];
        let report = "I wasn't able to deliver your message to the following addresses.\n\
                      <me@herald.test>:\nRemote host said: 552 disk quota exceeded";
        let found = find(report, &own, None).unwrap();
        assert_eq!(found.address, "me@herald.test");
        assert!(!found.introduced);
        assert_eq!(found.reply_code, Some(552));
        // without an introduction, the bounce's own address is still never taken
        assert!(find("Hello me@herald.test", &own, None).is_none());
    }
}
