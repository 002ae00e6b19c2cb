//! Header-style field blocks (`Name: value`, folded lines, blocks split by blank lines), the
//! shape of RFC 3464 delivery-status and RFC 5965 feedback-report bodies. Also the small
//! scanners for addresses, SMTP reply codes and enhanced status codes in free text.

use crate::smtp::parse_status;

/// One block of fields, names lowercased, in order.
#[derive(Debug, Default, Clone)]
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Splits `text` into field blocks. Lines that are not fields (nor continuations) are
/// skipped, so a block embedded in prose is found too.
pub(super) fn blocks(text: &str) -> Vec<Fields> {
    let mut blocks = Vec::new();
    let mut current = Fields::default();
    let mut last_was_field = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            last_was_field = false;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if last_was_field && let Some((_, value)) = current.0.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        match field(line) {
            Some((name, value)) => {
                current.0.push((name, value));
                last_was_field = true;
            }
            None => last_was_field = false,
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

fn field(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once(':')?;
    let valid = !name.is_empty()
        && name.len() <= 40
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then(|| (name.to_ascii_lowercase(), value.trim().to_string()))
}

/// `rfc822; user@example.com` → `user@example.com` (the type prefix and angle brackets go).
pub(super) fn typed_address(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, v)| v);
    let value = value.trim().trim_start_matches('<').trim_end_matches('>');
    addresses(value).into_iter().next()
}

/// `smtp; 550 5.1.1 no such user` → `550 5.1.1 no such user`.
pub(super) fn typed_text(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && kind.len() < 20 => rest.trim().to_string(),
        _ => value.trim().to_string(),
    }
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_alphanumeric() || c == '.' || c == '-'
}

/// Every email address in `text`, lowercased, in order of appearance, without repeats.
pub(super) fn addresses(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = &text[..at];
        let start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local_char(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let after = &text[at + 1..];
        let end = after
            .char_indices()
            .take_while(|(_, c)| is_domain_char(*c))
            .last()
            .map_or(0, |(i, c)| i + c.len_utf8());
        let local = text[start..at].trim_matches(|c| c == '.' || c == '\'');
        let domain = after[..end].trim_end_matches(['.', '-']);
        if local.is_empty() || !domain.contains('.') || domain.starts_with('.') {
            continue;
        }
        let address = format!("{local}@{domain}").to_lowercase();
        if !found.contains(&address) {
            found.push(address);
        }
    }
    found
}

/// The first SMTP reply code (4xx/5xx) that stands as a word of its own in `text`.
pub(super) fn reply_code(text: &str) -> Option<u16> {
    reply_codes(text).next().map(|(_, code)| code)
}

/// Every reply code in `text` with the enhanced status code right after it, if any:
/// `554 4.4.7 expired <421 4.4.2 timed out>` gives (554, 4.4.7) and (421, 4.4.2), and
/// qmail's `550 #5.1.0 Address rejected` gives (550, 5.1.0).
pub(super) fn code_pairs(text: &str) -> Vec<(u16, Option<[u16; 3]>)> {
    reply_codes(text)
        .map(|(at, code)| {
            let rest = text[at + 3..].trim_start_matches([' ', '-', '#']);
            let token = rest
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()
                .unwrap_or_default();
            (code, parse_status(token.trim_end_matches('.')))
        })
        .collect()
}

/// Positions and values of the reply codes in `text`.
fn reply_codes(text: &str) -> impl Iterator<Item = (usize, u16)> + '_ {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(2)).filter_map(move |i| {
        let code = &bytes[i..i + 3];
        let starts_word = i == 0 || b" \t\n:(<[\"'=".contains(&bytes[i - 1]);
        let ends_word = bytes
            .get(i + 3)
            .is_none_or(|b| b" \t\r\n-:,;)>]".contains(b));
        let digits = matches!(code[0], b'4' | b'5')
            && code[1].is_ascii_digit()
            && code[2].is_ascii_digit()
            && matches!(code[1], b'0'..=b'5');
        (starts_word && ends_word && digits)
            .then(|| text[i..i + 3].parse().ok().map(|code| (i, code)))?
    })
}

/// The first failure (4.x.x/5.x.x) enhanced status code in `text`, also qmail's `#5.1.1`.
pub(super) fn enhanced_status(text: &str) -> Option<[u16; 3]> {
    enhanced_statuses(text).next()
}

/// Every failure (4.x.x/5.x.x) enhanced status code in `text`, in order.
pub(super) fn enhanced_statuses(text: &str) -> impl Iterator<Item = [u16; 3]> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(i, &b)| {
        if !matches!(b, b'4' | b'5') || bytes.get(i + 1) != Some(&b'.') {
            return None;
        }
        if i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.') {
            return None;
        }
        let end = bytes[i..]
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .map_or(bytes.len(), |n| i + n);
        parse_status(text[i..end].trim_end_matches('.'))
    })
}

pub(super) fn status_text([a, b, c]: [u16; 3]) -> String {
    format!("{a}.{b}.{c}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_blocks_with_folding_and_prose() {
        let text = "Reporting-MTA: dsn; mx.example\r\nArrival-Date: today\r\n\r\n\
                    Some prose here.\r\nFinal-Recipient: rfc822; A@Example.com\r\n\
                    Diagnostic-Code: smtp; 550 5.1.1\r\n  no such user\r\n";
        let blocks = blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].get("reporting-mta"), Some("dsn; mx.example"));
        assert_eq!(
            typed_address(blocks[1].get("final-recipient").unwrap()).as_deref(),
            Some("a@example.com")
        );
        assert_eq!(
            typed_text(blocks[1].get("diagnostic-code").unwrap()),
            "550 5.1.1 no such user"
        );
    }

    #[test]
    fn addresses_in_prose() {
        assert_eq!(
            addresses("<a.b@x.example>: \"c@y.example\": said c@y.example. and d@localhost"),
            vec!["a.b@x.example", "c@y.example"]
        );
    }

    #[test]
    fn reply_codes_and_status_codes_in_prose() {
        assert_eq!(
            reply_code("host mx [192.0.2.1]: 550 5.1.1 unknown"),
            Some(550)
        );
        assert_eq!(reply_code("ERROR_CODE :550, ERROR_CODE :5.1.1"), Some(550));
        assert_eq!(reply_code("in 840 minutes, 2010 at 23:45"), None);
        assert_eq!(reply_code("550-5.7.26 Unauthenticated"), Some(550));
        assert_eq!(
            code_pairs("554 4.4.7 Message expired <421 4.4.2 Connection timed out>"),
            vec![(554, Some([4, 4, 7])), (421, Some([4, 4, 2]))]
        );
        assert_eq!(code_pairs("550 unknown"), vec![(550, None)]);
        assert_eq!(
            code_pairs("550 #5.1.0 Address rejected."),
            vec![(550, Some([5, 1, 0]))]
        );
        assert_eq!(enhanced_status("LDAP server. (#4.4.3)I'm"), Some([4, 4, 3]));
        assert_eq!(enhanced_status("at 192.0.2.20 and Exim 4.72"), None);
        assert_eq!(enhanced_status("553 5.3.0 <x@y>"), Some([5, 3, 0]));
        assert_eq!(enhanced_status("code 5.7.606 blocked."), Some([5, 7, 606]));
        assert_eq!(
            enhanced_statuses("5.1.0 - error 550-'no mailbox (#5.1.1)'").collect::<Vec<_>>(),
            vec![[5, 1, 0], [5, 1, 1]]
        );
    }
}
