//! Contact email addresses: a plain `local@domain` (no display name), trimmed; contacts are
//! matched by the lower-cased form.

use email_address::{EmailAddress, Options};

use crate::fields::{FieldError, FieldResult};

pub const MAX_LEN: usize = 254;

const OPTIONS: Options = Options {
    minimum_sub_domains: 2,
    allow_domain_literal: false,
    allow_display_text: false,
    allow_long_local_parts: false,
};

/// The address as stored, or why it is not one.
pub fn parse(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim();
    if email.is_empty() {
        return Err("is empty");
    }
    if email.len() > MAX_LEN {
        return Err("is longer than 254 characters");
    }
    if email.chars().any(char::is_whitespace)
        || EmailAddress::parse_with_options(email, OPTIONS).is_err()
    {
        return Err("is not a valid email address");
    }
    Ok(email.to_string())
}

/// [`parse`] for request fields: a missing or invalid address is Resend's 422.
pub fn require(raw: Option<&str>) -> FieldResult<String> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Err(FieldError::Missing("email"));
    };
    parse(raw).map_err(|why| {
        FieldError::Invalid(format!("Invalid `email` field: `{}` {why}.", raw.trim()))
    })
}

/// The key contacts are unique by.
pub fn lower(email: &str) -> String {
    email.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        assert_eq!(parse("  Ann@Example.com ").unwrap(), "Ann@Example.com");
        assert!(parse("ann+news@example.co.uk").is_ok());
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "Ann <ann@example.com>",
            "a b@example.com",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(lower("Ann@Example.COM"), "ann@example.com");
    }
}
