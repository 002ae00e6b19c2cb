//! Why a delivery failed, from the diagnostic text and the status codes. The reason decides
//! whether a bounce is hard (the address itself is bad: suppress it) or soft.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The mailbox does not exist.
    UserUnknown,
    /// The domain does not exist or has no mail host.
    HostUnknown,
    /// The address moved away.
    HasMoved,
    /// The domain accepts no mail at all (null MX and the like).
    NotAccept,
    MailboxFull,
    MessageTooBig,
    /// The recipient's account is disabled or suspended.
    Suspended,
    /// SPF, DKIM or DMARC failed.
    AuthFailure,
    /// The sending host or its IP is blocked (blocklists, reputation).
    Blocked,
    /// Refused for its content (spam, virus, policy).
    ContentRejected,
    /// Too many messages or connections.
    RateLimited,
    /// The sender gave up after retrying too long.
    Expired,
    /// The remote host could not be reached.
    NetworkError,
    /// A fault in the remote mail system.
    SystemError,
    Other,
}

impl Reason {
    /// Hard: the address will not work however often we retry.
    pub fn is_hard(self, permanent: bool) -> bool {
        match self {
            Reason::UserUnknown | Reason::HostUnknown | Reason::HasMoved => true,
            Reason::NotAccept => permanent,
            _ => false,
        }
    }
}

/// Phrases (lowercase) and the reason they mean; the first match in this order wins.
const PHRASES: &[(Reason, &[&str])] = &[
    (
        Reason::AuthFailure,
        &[
            "dmarc",
            "spf check",
            "spf fail",
            "dkim",
            "unauthenticated email",
            "sender policy framework",
        ],
    ),
    (
        Reason::HasMoved,
        &["has moved", "address has changed", "no longer available at"],
    ),
    (
        Reason::NotAccept,
        &[
            "indicated no smtp service",
            "does not accept mail",
            "null mx",
            "accepts no mail",
        ],
    ),
    (
        Reason::HostUnknown,
        &[
            "host unknown",
            "unknown host",
            "domain does not exist",
            "no such domain",
            "domain not found",
            "domain name not found",
            "host not found",
            "unrouteable address",
            "unroutable address",
            "name or service not known",
            "nxdomain",
            "no mx record",
            "mail domain not found",
        ],
    ),
    (
        Reason::MailboxFull,
        &[
            "mailbox full",
            "mailbox is full",
            "mailfolder is full",
            "over quota",
            "quota exceeded",
            "exceeded storage",
            "mailbox exceeds",
            "exceeds allowed size",
            "full mailbox",
            "mailbox size limit",
            "insufficient disk space",
            "number of messages in recipient's mailbox exceeded",
        ],
    ),
    (
        Reason::UserUnknown,
        &[
            "user unknown",
            "unknown user",
            "no such user",
            "no such mailbox",
            "no such recipient",
            "no such address",
            "user not found",
            "mailbox not found",
            "mailbox unavailable",
            "mailbox does not exist",
            "recipient not found",
            "recipient unknown",
            "unknown recipient",
            "invalid recipient",
            "invalid address",
            "address unknown",
            "address does not exist",
            "account does not exist",
            "does not exist",
            "doesn't exist",
            "not listed in",
            "is not recognized",
            "name is not recognized",
            "no mailbox",
            "illegal user",
            "no valid recipients",
            "bad destination mailbox",
            "unknown or illegal",
            "check if address is correct",
            "recipient address rejected: user",
            "user doesn't exist",
            "user doesn't have",
            "not a valid user",
        ],
    ),
    (
        Reason::Suspended,
        &[
            "account disabled",
            "account has been disabled",
            "account is disabled",
            "suspended",
            "inactive account",
        ],
    ),
    (
        Reason::MessageTooBig,
        &[
            "message too large",
            "message is too large",
            "too big",
            "size exceeds",
            "exceeds the maximum size",
            "message size exceeds",
        ],
    ),
    (
        Reason::Expired,
        &[
            "retry timeout exceeded",
            "in the queue too long",
            "message expired",
            "delivery time expired",
            "has been delayed",
            "could not be delivered within",
            "retry time not reached",
        ],
    ),
    (
        Reason::RateLimited,
        &[
            "too many connections",
            "too many messages",
            "rate limit",
            "rate-limit",
            "throttl",
            "too many recipients",
            "sending rate",
        ],
    ),
    (
        Reason::Blocked,
        &[
            "blacklist",
            "blocklist",
            "block list",
            "blocked",
            "spamhaus",
            "reputation",
            "client host rejected",
            "not allowed to send",
            "relay access denied",
            "smtp server of your isp",
            "reverse dns",
            "ptr record",
        ],
    ),
    (
        Reason::ContentRejected,
        &[
            "spam",
            "virus",
            "policy",
            "content rejected",
            "message rejected",
            "not accepted",
            "filter",
        ],
    ),
    (
        Reason::NetworkError,
        &[
            "connection refused",
            "connection timed out",
            "timed out",
            "establish an smtp connection",
            "socket error",
            "could not connect",
            "network is unreachable",
            "did not accept our requests to connect",
        ],
    ),
    (
        Reason::SystemError,
        &[
            "system error",
            "local error",
            "ldap",
            "temporary failure",
            "internal error",
            "resources temporarily unavailable",
        ],
    ),
];

/// The reason from the diagnostic text first (it is more precise than codes), then from the
/// enhanced status code.
pub fn classify(text: &str, status: Option<[u16; 3]>) -> Reason {
    let text = text.to_lowercase();
    for (reason, phrases) in PHRASES {
        if phrases.iter().any(|phrase| text.contains(phrase)) {
            return *reason;
        }
    }
    status.map_or(Reason::Other, from_status)
}

/// RFC 3463 subject/detail to a reason.
pub fn from_status([_, subject, detail]: [u16; 3]) -> Reason {
    match (subject, detail) {
        (1, 1) | (1, 3) => Reason::UserUnknown,
        (1, 2) => Reason::HostUnknown,
        (1, 6) => Reason::HasMoved,
        (1, 10) => Reason::NotAccept,
        (2, 1) => Reason::Suspended,
        (2, 2) => Reason::MailboxFull,
        (2, 3) | (3, 4) => Reason::MessageTooBig,
        (4, 7) => Reason::Expired,
        (4, _) => Reason::NetworkError,
        (7, 23..=27) => Reason::AuthFailure,
        (7, 1) => Reason::Blocked,
        (7, _) => Reason::ContentRejected,
        (3, _) => Reason::SystemError,
        _ => Reason::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wins_over_codes_and_codes_fill_in() {
        assert_eq!(
            classify("550 5.7.1 <a@b>... User unknown", Some([5, 7, 1])),
            Reason::UserUnknown
        );
        assert_eq!(classify("", Some([5, 1, 1])), Reason::UserUnknown);
        assert_eq!(classify("", Some([4, 2, 2])), Reason::MailboxFull);
        assert_eq!(
            classify("Unauthenticated email is not accepted due to DMARC", None),
            Reason::AuthFailure
        );
        assert_eq!(classify("whatever", None), Reason::Other);
    }

    #[test]
    fn hardness() {
        assert!(Reason::UserUnknown.is_hard(false));
        assert!(Reason::NotAccept.is_hard(true));
        assert!(!Reason::NotAccept.is_hard(false));
        assert!(!Reason::MailboxFull.is_hard(true));
        assert!(!Reason::Blocked.is_hard(true));
    }
}
