//! Checks on what users type: domain names (IDN accepted, stored as A-labels), the return-path
//! and tracking subdomains, region, TLS mode and capabilities. Each rule has its own message.

use super::error::{DomainError, DomainResult};

const MAX_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

fn bad_name(name: &str, why: &str) -> DomainError {
    DomainError::Invalid(format!(
        "The `name` field must be a domain name such as `example.com` or \
         `updates.example.com`: `{name}` {why}."
    ))
}

/// Lower-cases, drops a final dot and converts an internationalised name to A-labels
/// (`bücher.example` → `xn--bcher-kva.example`).
pub fn domain_name(raw: &str) -> DomainResult<String> {
    let trimmed = raw.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(DomainError::Missing("name"));
    }
    if trimmed.parse::<std::net::IpAddr>().is_ok() {
        return Err(bad_name(trimmed, "is an IP address"));
    }
    let ascii = idna::domain_to_ascii(trimmed)
        .map_err(|_| bad_name(trimmed, "is not a valid internationalised domain name"))?;
    if ascii.len() > MAX_NAME_LEN {
        return Err(bad_name(trimmed, "is longer than 253 characters"));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(bad_name(trimmed, "has no top-level domain"));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(bad_name(trimmed, "has an empty label (two dots in a row)"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(bad_name(trimmed, "has a label longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad_name(
                trimmed,
                "may only contain letters, digits, hyphens and dots",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad_name(
                trimmed,
                "has a label starting or ending with a hyphen",
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad_name(trimmed, "has a numeric top-level domain"));
    }
    if psl::domain_str(&ascii).is_none() {
        return Err(bad_name(
            trimmed,
            "is a public suffix that nobody owns; add a domain registered under it",
        ));
    }
    Ok(ascii)
}

/// One DNS label a user chooses (`custom_return_path`, `tracking_subdomain`): at most 63
/// characters, starting with a letter, ending with a letter or digit, letters, digits and
/// hyphens only. Stored lower-case.
pub fn subdomain_label(field: &str, raw: &str) -> DomainResult<String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(DomainError::Invalid(format!(
            "The `{field}` field cannot be empty."
        )));
    }
    if value.chars().count() > MAX_LABEL_LEN {
        return Err(DomainError::Invalid(format!(
            "The `{field}` field must be 63 characters or less."
        )));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(DomainError::Invalid(format!(
            "The `{field}` field must start with a letter."
        )));
    }
    if !value.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(DomainError::Invalid(format!(
            "The `{field}` field must end with a letter or a number."
        )));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(DomainError::Invalid(format!(
            "The `{field}` field may only contain letters, numbers and hyphens."
        )));
    }
    Ok(value.to_ascii_lowercase())
}

pub fn region(raw: &str) -> DomainResult<String> {
    if crate::REGIONS.contains(&raw) {
        return Ok(raw.to_string());
    }
    Err(DomainError::UnknownRegion)
}

pub fn tls(raw: &str) -> DomainResult<String> {
    match raw {
        "opportunistic" | "enforced" => Ok(raw.to_string()),
        _ => Err(DomainError::Invalid(
            "The `tls` field must be `opportunistic` or `enforced`.".into(),
        )),
    }
}

pub fn capability(field: &str, raw: &str) -> DomainResult<String> {
    match raw {
        "enabled" | "disabled" => Ok(raw.to_string()),
        _ => Err(DomainError::Invalid(format!(
            "The `capabilities.{field}` field must be `enabled` or `disabled`."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_domain_names() {
        assert_eq!(domain_name(" Example.COM. ").unwrap(), "example.com");
        assert_eq!(
            domain_name("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            domain_name("Updates.Example.com").unwrap(),
            "updates.example.com"
        );
        assert_eq!(domain_name("例え.jp").unwrap(), "xn--r8jz45g.jp");
        for bad in [
            "localhost",
            "co.uk",
            "com",
            "exa mple.com",
            "a..b.com",
            "-a.com",
            "a-.com",
            "a_b.com",
            "192.168.1.1",
            "1.2.3.4.5",
            "http://example.com",
            &format!("{}.com", "a".repeat(64)),
            &format!("{}com", "abcdefgh.".repeat(30)),
        ] {
            let err = domain_name(bad).unwrap_err();
            assert!(matches!(err, DomainError::Invalid(_)), "{bad}");
        }
        assert!(matches!(
            domain_name("  ").unwrap_err(),
            DomainError::Missing("name")
        ));
    }

    #[test]
    fn subdomain_rules_each_have_a_message() {
        assert_eq!(
            subdomain_label("custom_return_path", "Outbound").unwrap(),
            "outbound"
        );
        assert_eq!(
            subdomain_label("custom_return_path", "mail-2").unwrap(),
            "mail-2"
        );
        let cases = [
            ("", "cannot be empty"),
            (&"a".repeat(64) as &str, "63 characters"),
            ("2fast", "start with a letter"),
            ("mail-", "end with a letter or a number"),
            ("my_mail", "only contain"),
            ("mail.box", "only contain"),
        ];
        for (value, message) in cases {
            let err = subdomain_label("custom_return_path", value).unwrap_err();
            assert!(err.to_string().contains(message), "{value}: {err}");
        }
    }
}
