//! An SMTP reply: basic code, optional enhanced status code (RFC 3463) and text.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Enhanced status code `class.subject.detail`, e.g. `[5, 1, 1]`.
    pub status: Option<[u16; 3]>,
    pub text: String,
}

impl Reply {
    /// `status` is written like `"4.7.1"`; an empty or malformed one is left out.
    pub fn new(code: u16, status: &str, text: impl Into<String>) -> Self {
        Self {
            code,
            status: parse_status(status),
            text: text.into(),
        }
    }

    /// A reply without an enhanced status code (greetings, 354).
    pub fn plain(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            status: None,
            text: text.into(),
        }
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The enhanced status code as text, e.g. `"5.1.1"`.
    pub fn status_text(&self) -> Option<String> {
        self.status.map(|[a, b, c]| format!("{a}.{b}.{c}"))
    }

    /// Appends the wire form: one line per line of text, `code-` on all but the last.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let lines: Vec<&str> = if self.text.is_empty() {
            vec![""]
        } else {
            self.text.lines().collect()
        };
        let status = self.status_text();
        for (i, line) in lines.iter().enumerate() {
            let separator = if i + 1 == lines.len() { ' ' } else { '-' };
            let line = line.trim_end_matches('\r');
            let text = match &status {
                Some(status) => format!("{}{separator}{status} {line}\r\n", self.code),
                None => format!("{}{separator}{line}\r\n", self.code),
            };
            out.extend_from_slice(text.as_bytes());
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status_text() {
            Some(status) => write!(f, "{} {status} {}", self.code, self.text),
            None => write!(f, "{} {}", self.code, self.text),
        }
    }
}

/// Parses `x.y.z` (class 2, 4 or 5; subject and detail up to three digits).
pub fn parse_status(text: &str) -> Option<[u16; 3]> {
    let mut parts = text.trim().split('.');
    let mut out = [0u16; 3];
    for slot in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    if parts.next().is_some() || !matches!(out[0], 2 | 4 | 5) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_single_and_multi_line_replies() {
        let mut out = Vec::new();
        Reply::new(451, "4.7.1", "Greylisted, try again").write_to(&mut out);
        Reply::plain(354, "Go ahead").write_to(&mut out);
        Reply::new(550, "5.1.1", "No such user\nSee the docs").write_to(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "451 4.7.1 Greylisted, try again\r\n354 Go ahead\r\n\
             550-5.1.1 No such user\r\n550 5.1.1 See the docs\r\n"
        );
    }

    #[test]
    fn parses_enhanced_status_codes() {
        assert_eq!(parse_status("5.7.606"), Some([5, 7, 606]));
        assert_eq!(parse_status(" 4.2.2 "), Some([4, 2, 2]));
        assert_eq!(parse_status("3.1.1"), None);
        assert_eq!(parse_status("5.1"), None);
        assert_eq!(parse_status("5.1.1.1"), None);
        assert_eq!(parse_status("5.x.1"), None);
        assert_eq!(parse_status(""), None);
    }
}
