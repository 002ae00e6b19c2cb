//! Email addresses as the API accepts them: `user@example.com` or `Name <user@example.com>`.
//! Domains are stored as lower-case A-labels (`bücher.de` becomes `xn--bcher-kva.de`), so
//! domain checks and delivery compare like with like.

use std::fmt;

use email_address::{EmailAddress, Options};

/// Longest accepted display name, in characters.
const MAX_NAME_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// `local@domain`, the domain in lower-case ASCII.
    pub email: String,
}

impl Mailbox {
    /// Parses one address; the error says what is wrong, for a message naming the field.
    pub fn parse(input: &str) -> Result<Mailbox, String> {
        let input = input.trim();
        if input.is_empty() {
            return Err("the address is empty".into());
        }
        if input.chars().any(char::is_control) {
            return Err("the address contains control characters".into());
        }
        let (name, address) = match input.strip_suffix('>') {
            Some(rest) => {
                let (name, address) = rest
                    .rsplit_once('<')
                    .ok_or("the address has a `>` without a matching `<`")?;
                (parse_name(name)?, address.trim())
            }
            None => (None, input),
        };
        Ok(Mailbox {
            name,
            email: normalize_address(address)?,
        })
    }

    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, d)| d)
    }

    pub fn local_part(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => f.write_str(&self.email),
        }
    }
}

fn parse_name(raw: &str) -> Result<Option<String>, String> {
    let mut name = raw.trim();
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        name = &name[1..name.len() - 1];
    }
    if name.is_empty() {
        return Ok(None);
    }
    if name.contains(['<', '>']) {
        return Err("the display name contains `<` or `>`".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "the display name is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    Ok(Some(name.to_string()))
}

/// Validates `local@domain` and converts the domain to its lower-case A-label form.
fn normalize_address(address: &str) -> Result<String, String> {
    let (local, domain) = address.rsplit_once('@').ok_or("the address has no `@`")?;
    if local.starts_with('"') {
        return Err("quoted local parts are not supported".into());
    }
    let ascii_domain = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(domain).map_err(|_| format!("`{domain}` is not a valid domain"))?
    };
    let email = format!("{local}@{ascii_domain}");
    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    EmailAddress::parse_with_options(&email, options).map_err(|e| e.to_string())?;
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_accepted_forms() {
        let cases = [
            ("user@example.com", None, "user@example.com"),
            ("  User@Example.COM ", None, "User@example.com"),
            ("Acme <hi@acme.dev>", Some("Acme"), "hi@acme.dev"),
            (
                "\"Doe, Jane\" <jane@acme.dev>",
                Some("Doe, Jane"),
                "jane@acme.dev",
            ),
            ("<bare@acme.dev>", None, "bare@acme.dev"),
            (
                "Ünï Cödé <a@bücher.de>",
                Some("Ünï Cödé"),
                "a@xn--bcher-kva.de",
            ),
            ("x+tag@sub.example.org", None, "x+tag@sub.example.org"),
        ];
        for (input, name, email) in cases {
            let m = Mailbox::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(m.name.as_deref(), name, "{input}");
            assert_eq!(m.email, email, "{input}");
        }
        assert_eq!(
            Mailbox::parse("Acme <hi@acme.dev>").unwrap().to_string(),
            "Acme <hi@acme.dev>"
        );
        assert_eq!(Mailbox::parse("a@b.dev").unwrap().domain(), "b.dev");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for input in [
            "",
            "plainaddress",
            "@example.com",
            "user@",
            "user@localhost",
            "user@[127.0.0.1]",
            "Name <user@example.com",
            "Name user@example.com>",
            "a b@example.com",
            "user@exa mple.com",
            "\"quoted\"@example.com",
            "Evil\r\nBcc: x <a@b.com>",
            "A <b> <c@d.com>",
        ] {
            assert!(Mailbox::parse(input).is_err(), "{input:?} should fail");
        }
    }
}
