//! Why a delivery failed, and whether the address itself is bad (a hard bounce: suppress it)
//! or the failure may pass (soft).
//!
//! The reasons are those of Sisimai's reason list (its names, lower-cased, are the serialised
//! form). [`TABLE`] holds one row per reason: its verdict, the enhanced status codes (RFC 3463)
//! and SMTP reply codes (RFC 5321, RFC 7504) that select it, and the phrases of diagnostic
//! text that select it. [`classify`] reads the status code, the reply code, the diagnostic
//! text and the SMTP command the text names (or, as qmail does, describes: [`command`])
//! **together**, in this order of precedence:
//!
//! 1. A success status (`2.x.x`) is `delivered`.
//! 2. **Specific evidence** ([`FIRST_PASS`], in order): a row matches when its phrases are in
//!    the text, or (for rows whose codes are specific) when its status code is the one given.
//!    Mailbox full, too big, over a limit, suspended, moved, relaying and authentication
//!    come before "user unknown", so `550 5.1.1 … mailbox full` is `mailboxfull` (soft) and a
//!    `4xx` reply saying the mailbox is full stays soft. Special rules:
//!    - `userunknown`: status `5.1.0`/`5.1.1`/`5.1.3`, unless the text says the mailbox is
//!      full, moved, filtered, blocked, the sender was refused or the domain takes no mail;
//!      or a "no such user" phrase with any code (a `4.x.x` code too, as Sisimai does) when
//!      the refusal answered `RCPT TO` (named in the diagnostic or the report's text), or
//!      when the reporting system says so itself (no remote reply code is quoted, or an RFC
//!      3464 report names no Remote-MTA for the recipient, RFC 3464 2.3.5, so the reporting
//!      MTA judged its own mailbox, and the failure is permanent with no policy or content
//!      status); or a
//!      bare "recipient address rejected" with a permanent code in answer to `RCPT TO` when
//!      the text gives no other reason; or text saying outright that the account does
//!      not exist ([`ACCOUNT_ABSENT`]) unless it answered the end of `DATA` (RFC 5321: that
//!      reply is for the message, not the address), or Exchange's resolver saying the
//!      recipient is not in its directory ([`DIRECTORY_ABSENT`]) at any stage;
//!    - `filtered`: a "no such user" or filter phrase after `DATA` (the recipient was
//!      accepted, the content was refused) or in a quoted remote reply whose stage is not
//!      known, or a `5.2.0`/`x.2.4` status with those phrases;
//!    - `rejected` (the *sender* was refused): a sender status (`x.1.7`, `x.1.8`), or sender
//!      phrases when the command was `MAIL FROM`, or when the status says nothing specific;
//!    - `hostunknown`: status `5.1.2`/`5.4.4` or a "no such domain" phrase, unless the text
//!      shows a network or DNS error (a failed look-up is not proof the domain is gone).
//! 3. **The status code** when it names a specific reason, e.g. `5.3.4` is `mesgtoobig`.
//! 4. **Other phrases** ([`SECOND_PASS`], in order), for codes that say little (`5.0.0`,
//!    `4.4.7`, `5.7.1`…) or none.
//! 5. What is left: the status code's reason when it has one (`5.7.x` is `securityerror`,
//!    `x.6.x` `contenterror`), a reply code (`521`/`556`: `notaccept`; `500`–`504`:
//!    `syntaxerror`), a delayed action (`expired`), a refusal at `HELO` (`blocked`), an
//!    auto-reply (`vacation`); else `onhold` when there is a diagnostic, `undefined` when not.
//!
//! Last, a refusal in answer to `MAIL FROM` is about the sender: no recipient had been named,
//! so `userunknown`, `hostunknown` and `hasmoved` there become `rejected` (soft).
//!
//! A reporting MTA's own bounce category ([`from_category`], PowerMTA's
//! `X-PowerMTA-BounceCategory`) is taken over all of this by the DSN reader.
//!
//! A phrase is matched on the lower-cased text with its whitespace collapsed; `*` in a phrase
//! stands for any text (`"mailbox*full"`), `<address>` for one word that is an email address
//! (`"mailbox <address> unavailable"`). The rules were written from the RFCs and the
//! meaning of each reason, not from particular messages.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The mailbox does not exist.
    UserUnknown,
    /// The domain does not exist or cannot be routed to.
    HostUnknown,
    /// The mailbox moved away without forwarding.
    HasMoved,
    /// The domain accepts no mail at all (null MX, `521`/`556`).
    NotAccept,
    MailboxFull,
    /// The message is larger than the receiving system takes.
    MesgTooBig,
    /// Over a per-mailbox administrative limit (message length, header size).
    ExceedLimit,
    /// The recipient's account is disabled or suspended.
    Suspend,
    /// The receiving host refused to relay.
    NoRelaying,
    /// SPF, DKIM, DMARC or ARC failed.
    AuthFailure,
    /// The recipient (or its filter) refused the content after `DATA`.
    Filtered,
    /// The sender's address or domain was refused.
    Rejected,
    /// The sending host has no (or a bad) reverse DNS name.
    RequirePtr,
    /// The message does not follow RFC 5322.
    NotCompliantRfc,
    /// The sending IP or domain has a bad reputation.
    BadReputation,
    /// The headers or the format of the content were refused.
    ContentError,
    SpamDetected,
    VirusDetected,
    /// Refused by a local policy.
    PolicyViolation,
    /// Sending too fast: a rate limit.
    Speeding,
    /// Too many connections or recipients at once.
    TooManyConn,
    /// The sending host or IP is blocked (blocklists, HELO).
    Blocked,
    /// A security requirement was not met (authentication, encryption).
    SecurityError,
    /// STARTTLS was required or failed.
    FailedStartTls,
    /// A fault in the remote mail system.
    SystemError,
    /// The remote mail system is out of storage.
    SystemFull,
    /// The remote host could not be reached (DNS, connection, routing loop).
    NetworkError,
    /// Retried until the delivery time ran out.
    Expired,
    /// A local delivery program failed.
    MailerError,
    /// An SMTP command was not understood.
    SyntaxError,
    /// On the remote system's suppression list.
    Suppressed,
    /// Delivered after all (a success notice).
    Delivered,
    /// An auto-reply, not a failure.
    Vacation,
    /// A complaint.
    Feedback,
    /// A diagnostic was given, but no reason could be told from it.
    OnHold,
    /// Nothing to tell a reason from.
    Undefined,
}

/// What a reason means for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The address will never work: suppress it.
    Hard,
    /// The address may work later or from another sender.
    Soft,
    /// Hard, unless the codes say the refusal is temporary (`4.x.x` / `4xx`).
    HardUnlessTemporary,
}

/// One row of the reason table.
#[derive(Debug)]
pub struct Row {
    pub reason: Reason,
    pub verdict: Verdict,
    /// Enhanced status codes that select the reason: `"5.1.1"`, or `"x.2.2"` for both classes.
    pub statuses: &'static [&'static str],
    /// SMTP reply codes that select the reason.
    pub replies: &'static [u16],
    /// Phrases of diagnostic text (lower case; `*` stands for any text).
    pub phrases: &'static [&'static str],
}

use Reason::*;
use Verdict::*;

/// The reason table. The order of precedence is in [`FIRST_PASS`] and [`SECOND_PASS`].
pub const TABLE: &[Row] = &[
    Row {
        reason: UserUnknown,
        verdict: Hard,
        statuses: &["5.1.0", "5.1.1", "5.1.3"],
        replies: &[],
        phrases: &[
            "user unknown",
            "unknown user",
            "no such user",
            "no such mailbox",
            "no such recipient",
            "no such address",
            "no such person",
            "no such local user",
            "user not found",
            "user not known",
            "user does not exist",
            "user doesn't exist",
            "user*does not exist",
            "doesn't have a*account",
            "no valid recipients",
            "not listed in*directory",
            "not listed in*address book",
            "user*was not found",
            "unknown recipient",
            "recipient unknown",
            "recipient not found",
            "recipient does not exist",
            "recipient*was not found",
            "unknown mailbox",
            "mailbox not found",
            "mailbox does not exist",
            "mailbox*does not exist",
            "mailbox not present",
            "invalid mailbox",
            "invalid recipient",
            "not a valid recipient",
            "not a valid mailbox",
            "not a valid user",
            "is not a known user",
            "address unknown",
            "address does not exist",
            "address not found",
            "account does not exist",
            "email account that you tried to reach does not exist",
            "no mailbox here by that name",
            "no account by that name",
            "no one at this address",
            "unknown local part",
            "unknown local-part",
            "bad destination mailbox address",
            "requested action not taken: mailbox unavailable",
            // RFC 5321's wording for 550 ("mailbox unavailable"), also with the address
            // between (Sisimai's list: "mailbox <address> unavailable")
            "mailbox unavailable",
            "mailbox is unavailable",
            "mailbox <address> unavailable",
            "recipnotfound",
            "non-existent user",
            "nonexistent user",
            "non existent user",
            "recipient is not local",
            "not a local address",
            "user not active",
            "undeliverable address",
            "bad recipient",
            "archived recipient",
            "badrcptto",
            "email address could not be found",
            "unknown email address",
            "unknown e-mail address",
            "mailbox invalid",
            "user missing home directory",
            "email name is not found",
            "address is wrong or no longer valid",
            "destination addresses were unknown",
            "destination server rejected recipients",
            "can't accept user",
            "address not present in directory",
            "recipient address rejected: access denied",
            // Sisimai's list: a mailbox missing, or an address not (or no longer) in use
            "no mailbox found",
            "not an active address",
            // IMail's wording for a local part it has no mailbox for
            "invalid final delivery userid",
            // Lotus Notes/Domino in Japanese: "not in the directory's list", "not found in
            // the directory" (the English "not listed in ... directory")
            "ディレクトリ*ありません",
            "ディレクトリ*見つかりません",
            // The rest of Sisimai's userunknown definition that names the recipient: a
            // mailbox or account that is not there or not in use, an address in a list of
            // refused ones, the same in French, Italian and Spanish, and "mail box" spelled
            // apart
            "no mailbox by that name is currently available",
            "no mail box available for this user",
            "invalid mailbox path",
            "bad-recipient",
            "bad_recipient",
            "recipient not exist",
            "user not exist",
            "rcpt <address> does not exist",
            "recipient address rejected: invalid user",
            "recipient address rejected: invalid-recipient",
            "your envelope recipient has been denied",
            "in my badrecipientto list",
            "not in my validrcptto list",
            "isn't in my list of allowed rcpthosts",
            "invalid or unknown virtual user",
            "rejected: account unavailable",
            "no matches to nameserver query",
            "no*in name directory",
            "utilisateur inconnu",
            "nessun utente simile",
            "no existe dicha persona",
            "no existe ese usuario",
        ],
    },
    Row {
        reason: HostUnknown,
        verdict: Hard,
        statuses: &["5.1.2", "5.4.4"],
        replies: &[],
        phrases: &[
            "host unknown",
            "unknown host",
            "domain does not exist",
            "domain not found",
            "domain name not found",
            "no such domain",
            "unknown domain",
            "host not found",
            "host or domain name not found",
            "unrouteable address",
            "unroutable address",
            "name or service not known",
            "recipient domain must exist",
            "mail domain*is unknown",
            "nxdomain",
            // qmail's words when the destination has no host of that name (Sisimai's
            // hostunknown list: "couldn't find any host by that name", "... host named")
            "couldn't find any host",
            "could not find any host",
        ],
    },
    Row {
        reason: HasMoved,
        verdict: Hard,
        statuses: &["x.1.6", "5.7.17", "5.7.18"],
        replies: &[],
        phrases: &[
            "mailbox has moved",
            "has been replaced by",
            "address has changed",
        ],
    },
    Row {
        reason: NotAccept,
        verdict: HardUnlessTemporary,
        statuses: &["5.1.10", "x.3.2", "5.7.27"],
        replies: &[521, 556],
        phrases: &[
            "does not accept mail",
            "accepts no mail",
            "null mx",
            "nullmx",
            "mail receiving disabled",
            "no smtp service",
            "no mx record",
        ],
    },
    Row {
        reason: MailboxFull,
        verdict: Soft,
        statuses: &["x.2.2"],
        replies: &[],
        phrases: &[
            "mailbox full",
            "mailbox is full",
            "mailbox*full",
            "full mailbox",
            "mailfolder is full",
            "over quota",
            "over*quota",
            "quota exceeded",
            "quota*exceeded",
            "exceeded*quota",
            "disk quota",
            "mailbox*quota",
            "exceeded storage",
            "mailbox size limit",
            "mailbox*exceeded*limit",
            "mailbox exceeds",
            "insufficient disk space",
            "not enough*space",
            "no space left on device",
            "too many messages in*mailbox",
        ],
    },
    Row {
        reason: MesgTooBig,
        verdict: Soft,
        statuses: &["x.3.4", "x.7.16"],
        replies: &[],
        phrases: &[
            "message too large",
            "message too big",
            "message is too large",
            "message is too big",
            // "exceeds", "exceeded" ("max message size exceeded")
            "message size*exceed",
            "exceeds the maximum message size",
            "exceeds maximum message size",
            "size exceeds the maximum",
            "email size exceeds",
            "mail size exceeds",
        ],
    },
    Row {
        reason: ExceedLimit,
        verdict: Soft,
        statuses: &["x.2.3"],
        replies: &[],
        phrases: &[
            "length exceeds administrative limit",
            "header size exceeds",
            "too many headers",
        ],
    },
    Row {
        reason: Suspend,
        verdict: Soft,
        statuses: &["x.2.1", "5.7.13"],
        replies: &[],
        phrases: &[
            "account disabled",
            "account is disabled",
            "account has been disabled",
            "mailbox disabled",
            "mailbox is disabled",
            "has been suspended",
            "is suspended",
            "currently suspended",
            "account suspended",
            "user suspended",
            "inactive account",
            "account is inactive",
            "mailbox is inactive",
            "mailbox is frozen",
            "account is locked",
            "temporarily locked",
            "deactivated mailbox",
            "account*tried to reach is disabled",
            "account*tried to reach is inactive",
            "this address no longer accepts mail",
            "mailbox unavailable or access denied",
        ],
    },
    Row {
        reason: NoRelaying,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[
            "relay access denied",
            "relaying denied",
            "relay denied",
            "relay not permitted",
            "relaying not permitted",
            "relaying not allowed",
            "not permitted to relay",
            "not allowed to relay",
            "unable to relay",
            "we do not relay",
            "no relaying",
        ],
    },
    Row {
        reason: AuthFailure,
        verdict: Soft,
        statuses: &[
            "x.7.20", "x.7.21", "x.7.22", "x.7.23", "x.7.24", "x.7.26", "x.7.29",
        ],
        replies: &[],
        phrases: &[
            "dmarc",
            "dkim",
            "spf check",
            "spf fail",
            "spf validation",
            "failed spf",
            "sender policy framework",
            "unauthenticated email",
            "not authenticated",
        ],
    },
    Row {
        reason: Filtered,
        verdict: Soft,
        statuses: &["5.2.0", "x.2.4", "5.1.4"],
        replies: &[],
        phrases: &[
            "message filtered",
            "filtered by",
            "user reject",
            "refuses to receive",
            "refused due to recipient preferences",
            "blocked by the recipient",
            "only accepting mail from",
            "rejected due to user rules",
            "account is protected by",
        ],
    },
    Row {
        reason: Rejected,
        verdict: Soft,
        statuses: &["x.1.7", "x.1.8"],
        replies: &[],
        phrases: &[
            "sender rejected",
            "sender address rejected",
            "sender email address rejected",
            "sender was rejected",
            "sender verify failed",
            "sender verification failed",
            "invalid sender",
            "sender is in my black list",
            "sender address has been blacklisted",
            "sender not pre-approved",
            "sender domain",
            "domain of sender address",
            "unroutable sender address",
            "bogus mail from",
            "null sender is not allowed",
            "empty envelope senders",
            "administrative prohibition",
            "returned mail not accepted",
            "mail from not owned by",
        ],
    },
    Row {
        reason: RequirePtr,
        verdict: Soft,
        statuses: &["x.7.25"],
        replies: &[],
        phrases: &[
            "reverse dns",
            "ptr record",
            "no ptr",
            "rdns",
            "reverse lookup",
            "cannot find your hostname",
            "cannot resolve your hostname",
        ],
    },
    Row {
        reason: NotCompliantRfc,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[
            "not rfc 5322 compliant",
            "not rfc5322 compliant",
            "not rfc 2822 compliant",
            "not compliant with rfc",
            "violates rfc",
            "duplicate header",
            "multiple from",
        ],
    },
    Row {
        reason: BadReputation,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &["reputation"],
    },
    Row {
        reason: ContentError,
        verdict: Soft,
        statuses: &[
            "x.6.0", "x.6.1", "x.6.2", "x.6.3", "x.6.5", "x.6.6", "x.6.7", "x.6.8",
        ],
        replies: &[],
        phrases: &[
            "header error",
            "invalid header",
            "header line is too long",
            "line too long",
            "improper use of 8-bit data",
            "malformed message",
            "message content rejected",
            "content rejected",
        ],
    },
    Row {
        reason: SpamDetected,
        verdict: Soft,
        statuses: &["5.7.28"],
        replies: &[],
        phrases: &[
            "spam message",
            "spam content",
            "considered spam",
            "considered as spam",
            "detected as spam",
            "classified as spam",
            "identified as spam",
            "marked as spam",
            "rejected as spam",
            "looks like spam",
            "likely spam",
            "suspected spam",
            "message is spam",
            "spam detected",
            "spam score",
            "spamassassin",
            "spam filter",
            "unsolicited",
            "junk mail",
            "bulk mail",
        ],
    },
    Row {
        reason: Speeding,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[
            "rate limit",
            "rate-limit",
            "ratelimit",
            "rate exceeded",
            "sending rate",
            "too many messages",
            "too many emails",
            "too many mails",
            "sending too fast",
            "throttl",
        ],
    },
    Row {
        reason: TooManyConn,
        verdict: Soft,
        statuses: &["x.5.3"],
        replies: &[],
        phrases: &[
            "too many connections",
            "too many concurrent",
            "too many sessions",
            "connection limit",
            "maximum number of connections",
            "too many recipients",
        ],
    },
    Row {
        reason: Blocked,
        verdict: Soft,
        statuses: &["4.7.1", "4.7.2"],
        replies: &[],
        phrases: BLOCKED_PHRASES,
    },
    Row {
        reason: VirusDetected,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &["virus", "malware", "infected", "trojan"],
    },
    Row {
        reason: PolicyViolation,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[
            "policy violation",
            "violates our",
            "violation of our",
            "policy reasons",
            "content policy",
            "due to policy",
            "by policy",
            "local policy",
            "security policy",
            "policy restriction",
            "prohibited",
        ],
    },
    Row {
        reason: SecurityError,
        verdict: Soft,
        statuses: &[
            "x.7.0", "5.7.1", "5.7.2", "x.7.3", "x.7.4", "x.7.5", "x.7.6", "x.7.7", "x.7.8",
            "x.7.9", "x.7.10", "x.7.11", "x.7.12", "x.7.14", "x.7.15", "x.7.19",
        ],
        replies: &[],
        phrases: &[
            "authentication required",
            "authentication is required",
            "encryption required",
            "insecure",
            "security violation",
            "untrusted",
            "attachment",
        ],
    },
    Row {
        reason: FailedStartTls,
        verdict: Soft,
        statuses: &["x.7.30"],
        replies: &[],
        phrases: &[
            "starttls",
            "tls handshake",
            "tls negotiation",
            "tls is required",
        ],
    },
    Row {
        reason: SystemError,
        verdict: Soft,
        statuses: &[
            "5.3.0", "x.3.3", "x.3.5", "x.4.3", "5.5.4", "x.5.5", "x.1.9",
        ],
        replies: &[],
        phrases: &[
            "system error",
            "internal error",
            "server error",
            "local error",
            "mail system error",
            "unexpected error",
            "temporary failure",
            "temporary local problem",
            "configuration error",
            "misconfigured",
            "ldap",
        ],
    },
    Row {
        reason: SystemFull,
        verdict: Soft,
        statuses: &["x.3.1", "4.4.5"],
        replies: &[],
        phrases: &[
            "mail system full",
            "system is full",
            "disk full",
            "disk is full",
            "insufficient system storage",
            "out of disk space",
        ],
    },
    Row {
        reason: NetworkError,
        verdict: Soft,
        statuses: &["5.4.0", "4.4.2", "4.4.4", "x.4.6", "4.4.8"],
        replies: &[],
        phrases: NETWORK_PHRASES,
    },
    Row {
        reason: Expired,
        verdict: Soft,
        statuses: &["x.4.7", "4.4.1"],
        replies: &[],
        phrases: &[
            "retry timeout exceeded",
            "retry time not reached",
            "in the queue too long",
            "message expired",
            "message has expired",
            "delivery expired",
            "delivery time expired",
            "could not be delivered within",
            "has been delayed",
            "giving up",
            "gave up",
        ],
    },
    Row {
        reason: MailerError,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[
            "x-unix",
            "mailer error",
            "unknown mailer",
            "command failed",
            "command died",
            "exit code",
            "procmail",
        ],
    },
    Row {
        reason: SyntaxError,
        verdict: Soft,
        statuses: &["5.5.2", "5.5.6"],
        replies: &[500, 501, 502, 503, 504],
        phrases: &[
            "syntax error",
            "command unrecognized",
            "unrecognized command",
            "command not recognized",
            "bad sequence of commands",
        ],
    },
    Row {
        reason: Suppressed,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &["suppression list", "suppressed"],
    },
    Row {
        reason: Delivered,
        verdict: Soft,
        statuses: &["2.x.x"],
        replies: &[],
        phrases: &[],
    },
    Row {
        reason: Vacation,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[
            "out of the office",
            "out of office",
            "on vacation",
            "automatic reply",
            "auto-reply",
            "autoreply",
        ],
    },
    Row {
        reason: Feedback,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[],
    },
    Row {
        reason: OnHold,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[],
    },
    Row {
        reason: Undefined,
        verdict: Soft,
        statuses: &[],
        replies: &[],
        phrases: &[],
    },
];

const BLOCKED_PHRASES: &[&str] = &[
    "blacklist",
    "blocklist",
    "block list",
    "black list",
    "blocked using",
    "blocked by",
    "blocked -",
    "is blocked",
    "been blocked",
    "ip blocked",
    "spamhaus",
    "spamcop",
    "barracuda",
    "dnsbl",
    " rbl",
    "sorbs",
    "client host rejected",
    "helo command rejected",
    "refused to talk to me",
    "not allowed to connect",
    "dynamic ip",
    "your ip",
    "sending ip",
    "banned",
    "smtp server of your isp",
    "not currently accepting mail from your ip",
];

const NETWORK_PHRASES: &[&str] = &[
    "connection refused",
    "connection timed out",
    "connection reset",
    "timed out",
    "network is unreachable",
    "no route to host",
    "could not connect",
    "couldn't connect",
    "establish an smtp connection",
    "did not accept our requests to connect",
    "socket error",
    "lost connection",
    "routing loop",
    "mail loop",
    "too many hops",
    "dns error",
    "dns failure",
    "temporary dns",
    // A look-up that failed without an answer (SERVFAIL, a malformed reply, TRY_AGAIN) says
    // nothing about whether the domain exists: only NXDOMAIN ("host not found") does.
    "malformed or unexpected name server reply",
    "host not found, try again",
    "servfail",
];

/// Rows tried first, in this order (specific evidence; see the module documentation).
pub const FIRST_PASS: &[Reason] = &[
    MailboxFull,
    MesgTooBig,
    ExceedLimit,
    Suspend,
    HasMoved,
    NoRelaying,
    AuthFailure,
    UserUnknown,
    Filtered,
    RequirePtr,
    NotCompliantRfc,
    BadReputation,
    ContentError,
    Rejected,
    HostUnknown,
    SpamDetected,
    Speeding,
    TooManyConn,
    Blocked,
];

/// Rows whose status codes alone select them in the first pass (elsewhere codes are read
/// after the text: they are less precise than it).
const CODE_FIRST: &[Reason] = &[
    MailboxFull,
    MesgTooBig,
    ExceedLimit,
    AuthFailure,
    HasMoved,
    RequirePtr,
    SpamDetected,
    Blocked,
];

/// Phrases tried when the first pass found nothing and the status code is vague or absent.
pub const SECOND_PASS: &[Reason] = &[
    MailboxFull,
    AuthFailure,
    BadReputation,
    Speeding,
    SpamDetected,
    VirusDetected,
    PolicyViolation,
    NoRelaying,
    SystemError,
    NetworkError,
    Suspend,
    ContentError,
    SystemFull,
    NotAccept,
    Expired,
    FailedStartTls,
    SecurityError,
    Suppressed,
    MailerError,
];

/// Reasons a status code gives that the text may refine (they say little by themselves).
const VAGUE: &[Reason] = &[
    SystemError,
    SecurityError,
    Expired,
    NetworkError,
    HostUnknown,
    UserUnknown,
];

/// The SMTP command a diagnostic says the refusal answered, latest stage first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Command {
    Helo,
    Mail,
    Rcpt,
    Data,
}

/// What a report says about one recipient's failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    pub status: Option<[u16; 3]>,
    pub reply_code: Option<u16>,
    pub diagnostic: &'a str,
    /// The DSN Action (`failed`, `delayed`…).
    pub action: Option<&'a str>,
    /// The rest of the report (its human-readable part): where the SMTP command is found
    /// when the diagnostic does not name it.
    pub context: &'a str,
    /// The report is an RFC 3464 delivery-status report that names no Remote-MTA for the
    /// recipient. RFC 3464 (2.3.5) requires a Remote-MTA for every recipient a relay attempt
    /// over SMTP failed for, so without one the reporting MTA judged the recipient itself:
    /// it is the server that holds (or would hold) the mailbox.
    pub own_mailbox: bool,
}

/// What [`classify`] based its answer on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// A phrase of the text (with or without codes).
    Text,
    /// Codes alone.
    Codes,
    /// Nothing specific (`onhold`, `undefined`).
    Nothing,
}

impl Reason {
    pub fn row(self) -> &'static Row {
        TABLE
            .iter()
            .find(|row| row.reason == self)
            .expect("every reason has a row")
    }

    /// Hard: the address will not work however often we retry. `permanent` is false when
    /// the codes say the refusal is temporary (`4.x.x`, `4xx`).
    pub fn is_hard(self, permanent: bool) -> bool {
        match self.row().verdict {
            Hard => true,
            Soft => false,
            HardUnlessTemporary => permanent,
        }
    }

    /// Sisimai's name of the reason.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(reason, _)| *reason == self)
            .map_or("undefined", |(_, name)| name)
    }
}

const NAMES: &[(Reason, &str)] = &[
    (UserUnknown, "userunknown"),
    (HostUnknown, "hostunknown"),
    (HasMoved, "hasmoved"),
    (NotAccept, "notaccept"),
    (MailboxFull, "mailboxfull"),
    (MesgTooBig, "mesgtoobig"),
    (ExceedLimit, "exceedlimit"),
    (Suspend, "suspend"),
    (NoRelaying, "norelaying"),
    (AuthFailure, "authfailure"),
    (Filtered, "filtered"),
    (Rejected, "rejected"),
    (RequirePtr, "requireptr"),
    (NotCompliantRfc, "notcompliantrfc"),
    (BadReputation, "badreputation"),
    (ContentError, "contenterror"),
    (SpamDetected, "spamdetected"),
    (VirusDetected, "virusdetected"),
    (PolicyViolation, "policyviolation"),
    (Speeding, "speeding"),
    (TooManyConn, "toomanyconn"),
    (Blocked, "blocked"),
    (SecurityError, "securityerror"),
    (FailedStartTls, "failedstarttls"),
    (SystemError, "systemerror"),
    (SystemFull, "systemfull"),
    (NetworkError, "networkerror"),
    (Expired, "expired"),
    (MailerError, "mailererror"),
    (SyntaxError, "syntaxerror"),
    (Suppressed, "suppressed"),
    (Delivered, "delivered"),
    (Vacation, "vacation"),
    (Feedback, "feedback"),
    (OnHold, "onhold"),
    (Undefined, "undefined"),
];

impl Row {
    fn selects_status(&self, [class, subject, detail]: [u16; 3]) -> bool {
        self.statuses.iter().any(|pattern| {
            let mut parts = pattern.split('.');
            let mut part = |value: u16| {
                parts
                    .next()
                    .is_some_and(|p| p == "x" || p.parse() == Ok(value))
            };
            part(class) && part(subject) && part(detail)
        })
    }

    fn matches_text(&self, text: &str) -> bool {
        self.phrases
            .iter()
            .any(|phrase| contains_in_order(text, phrase))
    }
}

/// `text` holds the parts of `phrase` (split at `*`) in order. `<address>` in a phrase stands
/// for one word of the text that is an email address (`a@b.test`, `<a@b.test>`).
fn contains_in_order(text: &str, phrase: &str) -> bool {
    if phrase.contains(ADDRESS) {
        return contains_parts(&mask_addresses(text), phrase);
    }
    contains_parts(text, phrase)
}

/// What stands for an email address in a phrase.
const ADDRESS: &str = "<address>";

/// The text with each word that is an email address replaced by [`ADDRESS`].
fn mask_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let bare = word.trim_matches(|c: char| "<>()[]{}\"',;:".contains(c));
            match bare.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => ADDRESS,
                _ => word,
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn contains_parts(text: &str, phrase: &str) -> bool {
    let mut rest = text;
    for part in phrase.split('*') {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// The reason an enhanced status code names, if it names one.
pub fn from_status(status: [u16; 3]) -> Option<Reason> {
    TABLE
        .iter()
        .find(|row| row.selects_status(status))
        .map(|row| row.reason)
}

fn from_reply(code: u16) -> Option<Reason> {
    TABLE
        .iter()
        .find(|row| row.replies.contains(&code))
        .map(|row| row.reason)
}

/// The latest-stage SMTP command the text names (`RCPT TO`, `in reply to end of DATA
/// command`, `>>> MAIL FROM`…), in the upper case SMTP transcripts use, or describes in
/// words ([`STAGE_PHRASES`]).
pub fn command(diagnostic: &str) -> Option<Command> {
    const WORDS: &[(&str, Command)] = &[
        ("HELO", Command::Helo),
        ("EHLO", Command::Helo),
        ("MAIL FROM", Command::Mail),
        ("RCPT", Command::Rcpt),
        ("DATA", Command::Data),
    ];
    let bytes = diagnostic.as_bytes();
    let is_word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'@');
    let lower = lower_collapsed(diagnostic);
    let named = WORDS.iter().filter(|(word, _)| {
        diagnostic.match_indices(word).any(|(at, _)| {
            !is_word(at.checked_sub(1).and_then(|i| bytes.get(i)))
                && !is_word(bytes.get(at + word.len()))
        })
    });
    let described = STAGE_PHRASES
        .iter()
        .filter(|(phrase, _)| lower.contains(phrase));
    named.chain(described).map(|(_, command)| *command).max()
}

/// Wordings that say which SMTP command a refusal answered without naming it: qmail's
/// remote delivery reports ("<host> does not like recipient.", "Connected to <host> but
/// sender was rejected.", "<host> failed after I sent the message.") and Exim's "SMTP error
/// from remote mail server after end of data" (the reply to the final dot of `DATA`).
pub const STAGE_PHRASES: &[(&str, Command)] = &[
    ("does not like recipient", Command::Rcpt),
    ("but sender was rejected", Command::Mail),
    ("failed after i sent the message", Command::Data),
    ("after end of data", Command::Data),
    ("after pipelined end of data", Command::Data),
];

fn lower_collapsed(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The bounce categories a reporting MTA may state for a recipient (PowerMTA's
/// `X-PowerMTA-BounceCategory`): its own reading of the remote reply, taken over ours when
/// it names a reason. `other` and `unknown` name none.
const CATEGORIES: &[(&str, Reason)] = &[
    ("bad-mailbox", UserUnknown),
    ("bad-domain", HostUnknown),
    ("inactive-mailbox", Suspend),
    ("quota-issues", MailboxFull),
    ("message-expired", Expired),
    ("no-answer-from-host", NetworkError),
    ("bad-connection", NetworkError),
    ("routing-errors", SystemError),
    ("relaying-issues", NoRelaying),
    ("invalid-sender", Rejected),
    ("policy-related", PolicyViolation),
    ("spam-related", SpamDetected),
    ("virus-related", VirusDetected),
    ("content-related", ContentError),
    ("protocol-errors", SyntaxError),
];

/// The reason a reporting MTA's bounce category names, if it names one.
pub fn from_category(category: &str) -> Option<Reason> {
    CATEGORIES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(category.trim()))
        .map(|(_, reason)| *reason)
}

/// The reason for a failure, and what it was based on.
pub fn classify(evidence: &Evidence<'_>) -> (Reason, Basis) {
    let command = command(evidence.diagnostic).or_else(|| command(evidence.context));
    let (reason, basis) = classify_at(evidence, command);
    // A refusal of `MAIL FROM` answers the sender: no recipient had been named yet, so the
    // recipient's mailbox or domain cannot be what was refused.
    if command == Some(Command::Mail) && matches!(reason, UserUnknown | HostUnknown | HasMoved) {
        return (Rejected, basis);
    }
    (reason, basis)
}

/// A bare refusal of the recipient's address (Postfix's wording without a reason after it):
/// a mailbox that does not exist when the refusal is permanent and answered `RCPT TO`, and
/// no other reason is given.
const RECIPIENT_REFUSED: &str = "recipient address rejected";

/// Phrases that say outright that the recipient's account does not exist. Unlike "user
/// unknown" or "no such user", which a filter may also answer with no stage named, they mean
/// a missing mailbox whether the refusal answered `RCPT TO` or names no stage. Not in answer
/// to the end of `DATA`: RFC 5321 (3.3, 4.2.5) checks recipients at `RCPT TO` and makes the
/// reply to the end of `DATA` one answer for the whole message, so a refusal there is of the
/// message, whatever it says of the account, and with no addressing status it is `filtered`
/// (Sisimai's `Filtered` reads a refusal after `DATA` so too).
const ACCOUNT_ABSENT: &[&str] = &[
    "doesn't have a*account",
    "does not have a*account",
    "account*does not exist",
    "account*doesn't exist",
    "mailbox does not exist",
    "address does not exist",
];

/// Microsoft Exchange's address resolver: the recipient is not in the organisation's
/// directory (Sisimai's userunknown list and its table of Exchange codes). The verdict of a
/// directory look-up, not of a filter, at any stage and whatever status code accompanies it.
const DIRECTORY_ABSENT: &[&str] = &[
    "resolver.adr.recipnotfound",
    "resolver.adr.exrecipnotfound",
    "resolver.adr.recipientnotfound",
];

fn classify_at(evidence: &Evidence<'_>, command: Option<Command>) -> (Reason, Basis) {
    let text = lower_collapsed(evidence.diagnostic);
    let by_code = evidence.status.and_then(from_status);
    let text_says = |reason: Reason| reason.row().matches_text(&text);

    if evidence.status.is_some_and(|[class, ..]| class == 2) {
        return (Delivered, Basis::Codes);
    }
    for &reason in FIRST_PASS {
        let by_text = text_says(reason);
        let found = match reason {
            UserUnknown => {
                if by_code == Some(UserUnknown) {
                    // The text names another cause outright (a full or moved mailbox, a
                    // disabled account, a rate or recipient limit): it is more precise than
                    // the code, which some servers answer to every refusal at RCPT.
                    let contradicted = [
                        MailboxFull,
                        HasMoved,
                        Rejected,
                        NotAccept,
                        Filtered,
                        Suspend,
                        Speeding,
                        TooManyConn,
                    ]
                    .iter()
                    .any(|&other| text_says(other))
                        || BLOCKED_PHRASES.iter().any(|p| contains_in_order(&text, p));
                    !contradicted
                } else {
                    let permanent = evidence.status.map_or_else(
                        || evidence.reply_code.is_some_and(|code| code >= 500),
                        |[class, ..]| class == 5,
                    );
                    // RFC 3463: only an addressing status (x.1.x) or an undefined one
                    // (x.0.x) leaves the refusal to mean the address; 5.7.1 is a policy
                    // refusal, 5.6.0 one of the content, whatever words precede them.
                    let addressing = evidence
                        .status
                        .is_none_or(|[_, subject, _]| subject == 0 || subject == 1);
                    let bare_refusal = permanent
                        && addressing
                        && command == Some(Command::Rcpt)
                        && text.contains(RECIPIENT_REFUSED)
                        && !TABLE
                            .iter()
                            .filter(|row| row.reason != UserUnknown)
                            .any(|row| row.matches_text(&text));
                    let absent = (command != Some(Command::Data)
                        && ACCOUNT_ABSENT.iter().any(|p| contains_in_order(&text, p)))
                        || DIRECTORY_ABSENT.iter().any(|p| contains_in_order(&text, p));
                    // With no stage named, the words alone are the verdict of a missing
                    // mailbox only when no other server can have answered them: no reply was
                    // quoted, or the reporting MTA holds the mailbox (no Remote-MTA) and
                    // failed it for good, with no policy (x.7.x) or content (x.6.x) status
                    // saying the refusal was of another kind. Another server's "no such
                    // user" with no stage may be a filter's answer after DATA.
                    let policy_or_content = evidence
                        .status
                        .is_some_and(|[_, subject, _]| subject == 6 || subject == 7);
                    let own_verdict = evidence.reply_code.is_none()
                        || (evidence.own_mailbox && permanent && !policy_or_content);
                    bare_refusal
                        || absent
                        || (by_text
                            && (command == Some(Command::Rcpt)
                                || (command.is_none() && own_verdict)))
                }
            }
            Filtered => {
                let refused = by_text || text_says(UserUnknown);
                if by_code == Some(Filtered) {
                    refused
                } else {
                    refused && matches!(command, None | Some(Command::Data))
                }
            }
            Rejected => {
                let sender_refused = by_text && !text.contains("recipient address rejected");
                by_code == Some(Rejected)
                    || (sender_refused
                        && (command == Some(Command::Mail)
                            || by_code.is_none_or(|r| VAGUE.contains(&r))))
            }
            HostUnknown => {
                (by_code == Some(HostUnknown) || by_text) && !NetworkError.row().matches_text(&text)
            }
            _ => by_text || (CODE_FIRST.contains(&reason) && by_code == Some(reason)),
        };
        if found {
            let basis = if by_text || (reason == Filtered && text_says(UserUnknown)) {
                Basis::Text
            } else {
                Basis::Codes
            };
            return (reason, basis);
        }
    }
    if let Some(reason) = by_code.filter(|r| !VAGUE.contains(r)) {
        return (reason, Basis::Codes);
    }
    for &reason in SECOND_PASS {
        if text_says(reason) {
            return (reason, Basis::Text);
        }
    }
    if let Some(reason) = by_code {
        return (reason, Basis::Codes);
    }
    let subject = evidence.status.map(|[_, subject, _]| subject);
    let fallback = match () {
        _ if subject == Some(6) => Some(ContentError),
        _ if subject == Some(7) => Some(SecurityError),
        _ => evidence.reply_code.and_then(from_reply),
    };
    if let Some(reason) = fallback {
        return (reason, Basis::Codes);
    }
    if text_says(SyntaxError) {
        return (SyntaxError, Basis::Text);
    }
    if evidence
        .action
        .is_some_and(|a| a.eq_ignore_ascii_case("delayed"))
    {
        return (Expired, Basis::Codes);
    }
    if command == Some(Command::Helo) {
        return (Blocked, Basis::Codes);
    }
    if text_says(Vacation) {
        return (Vacation, Basis::Text);
    }
    if text.is_empty() {
        (Undefined, Basis::Nothing)
    } else {
        (OnHold, Basis::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(status: &str, reply: Option<u16>, diagnostic: &str) -> Reason {
        classify(&Evidence {
            status: crate::smtp::parse_status(status),
            reply_code: reply,
            diagnostic,
            action: Some("failed"),
            context: "",
            own_mailbox: false,
        })
        .0
    }

    fn hard(status: &str, reply: Option<u16>, diagnostic: &str) -> bool {
        let permanent = !status.starts_with('4') && reply.is_none_or(|r| r >= 500);
        why(status, reply, diagnostic).is_hard(permanent)
    }

    /// One self-written failure per row of the table: its status, reply code and text, the
    /// reason they give and whether that is hard. `Feedback` comes from complaints, never
    /// from a failure's codes, so only its verdict is checked.
    const ROW_EXAMPLES: &[(Reason, &str, Option<u16>, &str, bool)] = &[
        (
            UserUnknown,
            "5.0.0",
            Some(550),
            "RCPT TO:<a@b.test> 550 No such user here",
            true,
        ),
        (
            HostUnknown,
            "5.0.0",
            None,
            "Host or domain name not found",
            true,
        ),
        (
            HasMoved,
            "5.0.0",
            Some(550),
            "a@b.test has been replaced by c@d.test",
            true,
        ),
        (
            NotAccept,
            "5.0.0",
            Some(556),
            "Domain does not accept mail",
            true,
        ),
        (MailboxFull, "5.0.0", Some(552), "Mailbox full", false),
        (
            MesgTooBig,
            "5.0.0",
            Some(552),
            "Message size exceeds the limit",
            false,
        ),
        (
            ExceedLimit,
            "5.0.0",
            Some(552),
            "Message length exceeds administrative limit",
            false,
        ),
        (
            Suspend,
            "5.0.0",
            Some(550),
            "This account has been suspended",
            false,
        ),
        (NoRelaying, "5.7.1", Some(554), "Relay access denied", false),
        (
            AuthFailure,
            "5.7.1",
            Some(550),
            "Rejected by the sender domain's DMARC policy",
            false,
        ),
        (
            Filtered,
            "5.0.0",
            Some(550),
            "User unknown (in reply to end of DATA command)",
            false,
        ),
        (
            Rejected,
            "5.0.0",
            Some(553),
            "Sender address rejected (in reply to MAIL FROM command)",
            false,
        ),
        (
            RequirePtr,
            "5.7.1",
            Some(550),
            "Client host has no PTR record",
            false,
        ),
        (
            NotCompliantRfc,
            "5.7.1",
            Some(550),
            "Message not RFC 5322 compliant",
            false,
        ),
        (
            BadReputation,
            "5.7.1",
            Some(550),
            "Poor sender reputation",
            false,
        ),
        (ContentError, "5.0.0", Some(554), "Header error", false),
        (
            SpamDetected,
            "5.7.1",
            Some(550),
            "Message rejected as spam",
            false,
        ),
        (
            VirusDetected,
            "5.7.1",
            Some(554),
            "Virus found in message",
            false,
        ),
        (
            PolicyViolation,
            "5.7.1",
            Some(550),
            "Rejected by policy",
            false,
        ),
        (
            Speeding,
            "4.7.0",
            Some(421),
            "Rate limit exceeded, slow down",
            false,
        ),
        (
            TooManyConn,
            "4.3.0",
            Some(421),
            "Too many connections",
            false,
        ),
        (
            Blocked,
            "5.7.1",
            Some(554),
            "Client host blocked using a DNSBL",
            false,
        ),
        (
            SecurityError,
            "5.7.0",
            Some(530),
            "Authentication required",
            false,
        ),
        (
            FailedStartTls,
            "5.7.10",
            None,
            "Must issue a STARTTLS command first",
            false,
        ),
        (
            SystemError,
            "4.3.0",
            Some(451),
            "Temporary local problem",
            false,
        ),
        (
            SystemFull,
            "4.3.1",
            Some(452),
            "Insufficient system storage",
            false,
        ),
        (
            NetworkError,
            "5.0.0",
            None,
            "connect to mx.test[192.0.2.1]:25: Connection refused",
            false,
        ),
        (Expired, "4.4.7", None, "Retry timeout exceeded", false),
        (MailerError, "5.0.0", None, "X-Unix; 127", false),
        (
            SyntaxError,
            "5.5.2",
            Some(500),
            "Syntax error, command unrecognized",
            false,
        ),
        (
            Suppressed,
            "5.0.0",
            Some(550),
            "Address is on the suppression list",
            false,
        ),
        (Delivered, "2.0.0", Some(250), "Ok", false),
        (
            Vacation,
            "",
            None,
            "I am out of the office until Monday",
            false,
        ),
        (Feedback, "", None, "", false),
        (OnHold, "5.0.0", Some(550), "Go away", false),
        (Undefined, "", None, "", false),
    ];

    #[test]
    fn each_row_has_an_example_that_selects_it_with_its_verdict() {
        for row in TABLE {
            let examples: Vec<_> = ROW_EXAMPLES
                .iter()
                .filter(|(reason, ..)| *reason == row.reason)
                .collect();
            assert_eq!(examples.len(), 1, "{:?} needs one example", row.reason);
            let &(reason, status, reply, text, hard_bounce) = examples[0];
            if reason != Feedback {
                assert_eq!(why(status, reply, text), reason, "{text}");
            }
            let permanent = !status.starts_with('4') && reply.is_none_or(|r| r >= 500);
            assert_eq!(reason.is_hard(permanent), hard_bounce, "{reason:?}");
            if reason != Feedback {
                assert_eq!(hard(status, reply, text), hard_bounce, "{text}");
            }
        }
    }

    #[test]
    fn a_refusal_of_mail_from_is_about_the_sender() {
        // no recipient had been named: whatever the code says, the address is not bad
        for text in [
            "SMTP error from remote mail server after MAIL FROM:<s@a.test>: 553 5.1.0 s does not exist",
            "SMTP error from remote mail server after MAIL FROM:<s@a.test>: 550 5.1.1 unknown user",
            "550 Domain not found (in reply to MAIL FROM command)",
        ] {
            assert_eq!(why("5.1.0", Some(553), text), Rejected, "{text}");
            assert!(!hard("5.1.0", Some(553), text), "{text}");
        }
    }

    #[test]
    fn an_account_said_not_to_exist_is_unknown_unless_it_answered_data() {
        // at RCPT TO, or with no stage named, the words are the verdict on the address
        for text in [
            "RCPT TO:<a@b.test> 550 sorry, the account a@b.test does not exist here",
            "550 delivery error: this recipient does not have a b.test account",
        ] {
            assert_eq!(why("5.0.0", Some(550), text), UserUnknown, "{text}");
            assert!(hard("5.0.0", Some(550), text), "{text}");
        }
        // RFC 5321: the reply to the end of DATA answers the whole message, so a refusal
        // there is of the message, whatever it says of the account
        for text in [
            ">>> DATA <<< 554 delivery error: This user doesn't have an example.test account",
            "SMTP error from remote mail server after end of data: 550 mailbox does not exist",
            "550 the address does not exist here (in reply to end of DATA command)",
        ] {
            assert_eq!(why("5.0.0", Some(554), text), Filtered, "{text}");
            assert!(!hard("5.0.0", Some(554), text), "{text}");
        }
        // an addressing status still names the address, at any stage (RFC 3463 x.1.1)
        let coded = "SMTP error from remote mail server after end of data: 550 5.1.1 account does not exist";
        assert_eq!(why("5.1.1", Some(550), coded), UserUnknown);
        // Exchange's directory look-up is not a filter's answer, whatever the stage
        let resolver = ">>> DATA <<< 550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found";
        assert_eq!(why("5.1.10", Some(550), resolver), UserUnknown);
        // a bare "unknown user" after DATA stays a filter's answer
        assert_eq!(
            why("5.0.0", Some(550), ">>> DATA <<< 550 Unknown user"),
            Filtered
        );
    }

    #[test]
    fn a_missing_user_reported_by_the_server_that_holds_the_mailbox() {
        // RFC 3464 2.3.5: no Remote-MTA, so the reporting MTA judged its own recipient; its
        // "mailbox unavailable" with no stage is its directory's answer, not a filter's
        let text = "550 Requested action not taken: mailbox unavailable";
        let own = |status: &str, reply: u16, own_mailbox: bool| {
            let evidence = Evidence {
                status: crate::smtp::parse_status(status),
                reply_code: Some(reply),
                diagnostic: text,
                action: Some("failed"),
                context: "",
                own_mailbox,
            };
            classify(&evidence).0
        };
        assert_eq!(own("5.5.0", 550, true), UserUnknown);
        assert!(UserUnknown.is_hard(true));
        // relayed (a Remote-MTA answered): another server's words, maybe a filter's
        assert_eq!(own("5.5.0", 550, false), Filtered);
        // a policy status says the refusal was a decision, not a missing mailbox
        assert_ne!(own("5.7.1", 550, true), UserUnknown);
        // temporary: not a verdict on the mailbox
        assert_ne!(own("4.0.0", 450, true), UserUnknown);
        // after DATA it stays a filter's answer, whoever reports it
        let after_data = Evidence {
            status: crate::smtp::parse_status("5.0.0"),
            reply_code: Some(550),
            diagnostic: ">>> DATA <<< 550 Unknown user",
            action: Some("failed"),
            context: "",
            own_mailbox: true,
        };
        assert_eq!(classify(&after_data).0, Filtered);
    }

    #[test]
    fn a_bare_recipient_refusal_at_rcpt() {
        let text = "550 <a@b.test>: Recipient address rejected. (in reply to RCPT TO command)";
        assert_eq!(why("5.0.0", Some(550), text), UserUnknown);
        // temporary (greylisting), or with a reason of its own: not a missing mailbox
        assert!(!hard(
            "4.0.0",
            Some(450),
            "450 <a@b.test>: Recipient address rejected: Greylisted (in reply to RCPT TO command)"
        ));
        assert_eq!(
            why(
                "5.0.0",
                Some(550),
                "550 <a@b.test>: Recipient address rejected: Mailbox full (in reply to RCPT TO command)"
            ),
            MailboxFull
        );
        // without the stage it says nothing
        assert_eq!(
            why("5.0.0", Some(550), "550 Recipient address rejected"),
            OnHold
        );
        // a policy or content status after the same words is not about the address
        for status in ["5.7.1", "5.6.0"] {
            let text = format!(
                "RCPT TO:<a@b.test> 550 {status} <a@b.test>: Recipient address rejected: \
                 Delivery not authorized"
            );
            assert!(!hard(status, Some(550), &text), "{status}");
        }
    }

    #[test]
    fn text_naming_another_cause_outweighs_a_bad_mailbox_code() {
        let limit = "550 5.1.1 <a@b.test> has sent to too many recipients this hour";
        assert!(!hard("5.1.1", Some(550), limit));
        let disabled = "550 5.1.1 <a@b.test>: the account has been disabled";
        assert_eq!(why("5.1.1", Some(550), disabled), Suspend);
        // the code alone, or with its usual words, is still a missing mailbox
        assert_eq!(
            why("5.1.1", Some(550), "550 5.1.1 User unknown"),
            UserUnknown
        );
    }

    #[test]
    fn a_reporting_mtas_bounce_category_names_a_reason() {
        assert_eq!(from_category("bad-mailbox"), Some(UserUnknown));
        assert_eq!(from_category("Bad-Domain"), Some(HostUnknown));
        assert_eq!(from_category("quota-issues"), Some(MailboxFull));
        assert_eq!(from_category("spam-related"), Some(SpamDetected));
        assert_eq!(from_category("other"), None);
        assert_eq!(from_category("unknown"), None);
        for (_, reason) in CATEGORIES {
            assert!(TABLE.iter().any(|row| row.reason == *reason));
        }
    }

    #[test]
    fn every_reason_has_one_row_and_a_name() {
        for (reason, name) in NAMES {
            assert_eq!(TABLE.iter().filter(|r| r.reason == *reason).count(), 1);
            assert_eq!(serde_json::to_value(reason).unwrap(), *name);
            assert_eq!(reason.name(), *name);
        }
        assert_eq!(NAMES.len(), TABLE.len());
    }

    #[test]
    fn each_rows_status_codes_select_it() {
        for row in TABLE {
            for pattern in row.statuses {
                for class in ["4", "5"] {
                    let code = pattern.replacen('x', class, 1).replace('x', "0");
                    if pattern.starts_with(['4', '5', '2']) && !pattern.starts_with(class) {
                        continue;
                    }
                    let status = crate::smtp::parse_status(&code).unwrap();
                    let (reason, basis) = classify(&Evidence {
                        status: Some(status),
                        ..Evidence::default()
                    });
                    assert_eq!((reason, basis), (row.reason, Basis::Codes), "{code}");
                }
            }
            for &reply in row.replies {
                let (reason, _) = classify(&Evidence {
                    reply_code: Some(reply),
                    ..Evidence::default()
                });
                assert_eq!(reason, row.reason, "{reply}");
            }
        }
    }

    #[test]
    fn userunknown() {
        assert_eq!(why("5.1.1", Some(550), ""), UserUnknown);
        assert_eq!(why("5.1.0", None, "Address rejected"), UserUnknown);
        // the reporting system's own verdict, or a remote reply to RCPT TO
        assert_eq!(why("5.0.0", None, "No such user here"), UserUnknown);
        assert_eq!(
            why("", Some(550), "after RCPT TO:<a@b.test>: 550 No such user"),
            UserUnknown
        );
        // a remote reply at an unknown stage may have come after DATA: filtered, as Sisimai
        assert_eq!(why("5.0.0", Some(550), "550 No such user here"), Filtered);
        // a specific phrase beats a generic code, and a 4.x.x code keeps it hard
        assert!(hard(
            "4.0.0",
            Some(450),
            "Recipient address rejected: User unknown in local recipient table (in reply to RCPT TO command)"
        ));
        // text with a vaguer code
        assert_eq!(
            why(
                "5.7.1",
                Some(550),
                ">>> RCPT TO:<a@b.test> <<< 550 5.7.1 User unknown"
            ),
            UserUnknown
        );
        assert!(hard("5.1.1", Some(550), ""));
        // phrases of Sisimai's list that MTAs use for a recipient that does not exist
        for text in [
            "550 <a@b.test>: Recipient is not local (in reply to RCPT TO command)",
            "RCPT TO:<a@b.test> 550 Sorry, your envelope recipient is in my badrcptto list",
            "RCPT TO:<a@b.test> 550 5.4.1 Recipient address rejected: Access denied",
            "RCPT TO:<a@b.test> 550 Requested action failed: unknown e-mail address",
            "RCPT TO:<a@b.test> 550 This email address is wrong or no longer valid",
        ] {
            assert_eq!(why("5.0.0", Some(550), text), UserUnknown, "{text}");
        }
        assert_eq!(why("", None, "Archived recipient"), UserUnknown);
    }

    #[test]
    fn the_rest_of_sisimais_userunknown_wordings_name_a_missing_recipient() {
        for text in [
            "550 Sorry, no mailbox by that name is currently available",
            "550 No mail box available for this user",
            "550 Invalid mailbox path",
            "550 5.1.1 BAD_RECIPIENT",
            "550 Bad-recipient",
            "550 Recipient not exist",
            "550 User not exist",
            "550 RCPT <a@b.test> does not exist",
            "554 5.7.1 <a@b.test>: Recipient address rejected: Invalid user",
            "550 Recipient address rejected: invalid-recipient",
            "553 sorry, your envelope recipient has been denied",
            "553 sorry, this recipient is in my badrecipientto list",
            "553 sorry, this recipient is not in my validrcptto list",
            "553 sorry, that domain or user isn't in my list of allowed rcpthosts",
            "550 vdeliver: Invalid or unknown virtual user 'a'",
            "550 No thank you rejected: Account Unavailable: a@b.test",
            "550 No matches to nameserver query",
            "550 No 'a' in name directory",
            "550 Utilisateur inconnu !",
            "550 Nessun utente simile in questo indirizzo",
            "550 No existe dicha persona",
            "550 No existe ese usuario",
        ] {
            let at_rcpt = format!("RCPT TO:<a@b.test> {text}");
            assert_eq!(why("5.0.0", Some(550), &at_rcpt), UserUnknown, "{text}");
            assert!(hard("5.0.0", Some(550), &at_rcpt), "{text}");
            // with neither a code nor a stage, as the reporting system's own words
            assert_eq!(why("", None, text), UserUnknown, "{text}");
        }
        // after DATA the same words may be a filter's
        let after_data =
            "550 No mail box available for this user (in reply to end of DATA command)";
        assert!(!hard("5.0.0", Some(550), after_data));
    }

    #[test]
    fn a_missing_or_inactive_mailbox_refused_at_rcpt_is_an_unknown_user() {
        // Sisimai's wordings for a mailbox that is not there; at RCPT TO the address itself
        // was refused, whatever the (policy) status beside it
        let missing = "said: 550 5.7.1 No mailbox found for a@b.test (in reply to RCPT TO command)";
        assert_eq!(why("5.7.1", Some(550), missing), UserUnknown);
        assert!(hard("5.7.1", Some(550), missing));
        let inactive =
            "said: 550 a@b.test is not an active address here (in reply to RCPT TO command)";
        assert_eq!(why("5.0.0", Some(550), inactive), UserUnknown);
        assert!(hard("5.0.0", Some(550), inactive));
        // qmail names the stage in words
        let qmail =
            "192.0.2.1 does not like recipient.\nRemote host said: 550 a@b.test... No such user";
        assert_eq!(why("", Some(550), qmail), UserUnknown);
        // after DATA the same words may be a filter's: not hard
        let after_data = "said: 550 No mailbox found (in reply to end of DATA command)";
        assert!(!hard("5.0.0", Some(550), after_data));
    }

    #[test]
    fn an_unavailable_mailbox_refused_at_rcpt_is_an_unknown_user() {
        // RFC 5321's reply text for 550, bare or with the address between the words
        for text in [
            "said: 550 mailbox a@b.test unavailable (in reply to RCPT TO command)",
            "said: 550 Mailbox <a@b.test> unavailable (in reply to RCPT TO command)",
            "said: 550 Mailbox unavailable (in reply to RCPT TO command)",
            "said: 550 The mailbox is unavailable (in reply to RCPT TO command)",
        ] {
            assert_eq!(why("", Some(550), text), UserUnknown, "{text}");
            assert!(hard("", Some(550), text), "{text}");
        }
        // after DATA the same words may be a filter's; "temporarily" is not the address
        let after_data = "said: 550 mailbox a@b.test unavailable (in reply to end of DATA command)";
        assert_eq!(why("", Some(550), after_data), Filtered);
        let temporary =
            "said: 450 mailbox a@b.test temporarily unavailable (in reply to RCPT TO command)";
        assert!(!hard("", Some(450), temporary));
        // a disabled or refused mailbox keeps its own reason
        let denied = "said: 550 Mailbox unavailable or access denied (in reply to RCPT TO command)";
        assert_eq!(why("", Some(550), denied), Suspend);
    }

    #[test]
    fn an_address_in_a_phrase_stands_for_one_address_word() {
        assert!(contains_in_order(
            "mailbox <a.b@c.test>: unavailable",
            "mailbox <address> unavailable"
        ));
        assert!(contains_in_order(
            "550 mailbox <a.b@c.test> unavailable",
            "mailbox <address> unavailable"
        ));
        assert!(!contains_in_order(
            "mailbox of a@b.test is unavailable",
            "mailbox <address> unavailable"
        ));
        assert!(!contains_in_order(
            "mailbox @ unavailable",
            "mailbox <address> unavailable"
        ));
        assert_eq!(
            mask_addresses("to a@b.test, (c@d.test) x@y"),
            "to <address> <address> x@y"
        );
    }

    #[test]
    fn exchange_resolver_not_found_is_a_missing_mailbox_whatever_the_code_or_stage() {
        for (status, text) in [
            (
                "5.1.10",
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; no such address here",
            ),
            ("5.1.1", "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"),
            ("5.0.0", "550 5.1.1 RESOLVER.ADR.ExRecipNotFound; not found"),
        ] {
            // a quoted remote reply whose SMTP stage is not known
            assert_eq!(why(status, Some(550), text), UserUnknown, "{text}");
            assert!(hard(status, Some(550), text), "{text}");
            // after DATA too: the resolver looked the address up, no filter refused it
            let after_data = format!("{text} (in reply to end of DATA command)");
            assert_eq!(why(status, Some(550), &after_data), UserUnknown, "{text}");
        }
        // 5.1.10 without the resolver's words keeps RFC 7505's meaning (null MX)
        assert_eq!(why("5.1.10", Some(550), "550 5.1.10 Null MX"), NotAccept);
    }

    #[test]
    fn qmail_finding_no_host_of_that_name_is_an_unknown_host() {
        for text in [
            "Sorry, I couldn't find any host named mx.example.test. (#5.1.2)",
            "Sorry, I couldn't find any host by that name. (#4.1.2)",
            "I could not find any host for that domain",
        ] {
            assert_eq!(why("", None, text), HostUnknown, "{text}");
            assert!(hard("", None, text), "{text}");
        }
        // no mail exchanger or address for a host that exists is a network fault
        assert_ne!(
            why(
                "",
                None,
                "Sorry, I couldn't find a mail exchanger or IP address. (#4.4.1)"
            ),
            HostUnknown
        );
    }

    #[test]
    fn hostunknown() {
        assert_eq!(why("5.1.2", None, ""), HostUnknown);
        assert_eq!(why("5.4.4", None, "Unrouteable address"), HostUnknown);
        assert_eq!(
            why(
                "5.0.0",
                None,
                "Host or domain name not found. Name service error"
            ),
            HostUnknown
        );
        assert_eq!(
            why(
                "4.0.0",
                None,
                "DNS Error: lookup responded NXDOMAIN, domain not found"
            ),
            NetworkError
        );
        assert!(hard("5.1.2", None, ""));
        // a code saying "bad domain" over a network fault is a network error
        assert_eq!(why("5.4.4", None, "connection timed out"), NetworkError);
    }

    #[test]
    fn an_invalid_final_delivery_userid_is_an_unknown_user() {
        // IMail names no code: the reporting system says so itself
        let text = "Invalid final delivery userid: a@b.test";
        assert_eq!(why("", None, text), UserUnknown);
        assert!(hard("", None, text));
    }

    #[test]
    fn a_name_missing_from_a_japanese_notes_directory_is_an_unknown_user() {
        // Domino's directory lookup in Japanese, with no code beyond 5.0.0
        let text = "ユーザー Neko (a@b.test) は Domino ディレクトリには見つかりません。";
        assert_eq!(why("5.0.0", None, text), UserUnknown);
        assert!(hard("5.0.0", None, text));
        assert_eq!(
            why("", None, "ディレクトリのリストにありません a@b.test"),
            UserUnknown
        );
    }

    #[test]
    fn a_dns_lookup_without_an_answer_is_not_a_missing_domain() {
        // Postfix's wording for a SERVFAIL or malformed reply, with the 5.4.4 it reports
        let failed = "Name service error for name=example.org type=MX: \
                      Malformed or unexpected name server reply";
        assert_eq!(why("5.4.4", None, failed), NetworkError);
        assert!(!hard("5.4.4", None, failed));
        assert_eq!(
            why("4.4.3", None, "Host not found, try again"),
            NetworkError
        );
        assert_eq!(why("5.4.4", None, "lookup failed: SERVFAIL"), NetworkError);
        // NXDOMAIN is still a missing domain
        assert_eq!(
            why(
                "5.4.4",
                None,
                "Host or domain name not found. Name service error for \
                 name=example.org type=A: Host not found"
            ),
            HostUnknown
        );
    }

    #[test]
    fn hasmoved() {
        assert_eq!(why("5.1.6", Some(550), ""), HasMoved);
        assert_eq!(
            why(
                "5.0.0",
                Some(550),
                "kijitora@a.test has been replaced by neko@b.test"
            ),
            HasMoved
        );
        assert!(hard("5.1.6", Some(550), ""));
    }

    #[test]
    fn notaccept() {
        assert_eq!(why("5.1.10", Some(556), ""), NotAccept);
        assert_eq!(why("", Some(556), "Domain does not accept mail"), NotAccept);
        assert_eq!(why("", Some(521), ""), NotAccept);
        assert!(hard("5.7.27", None, ""));
        assert!(!hard(
            "4.3.2",
            Some(453),
            "System not accepting network messages"
        ));
    }

    #[test]
    fn mailboxfull() {
        assert_eq!(why("5.2.2", Some(552), ""), MailboxFull);
        assert_eq!(why("4.2.2", Some(452), ""), MailboxFull);
        // a 4xx reply with "mailbox full" is soft, and "full" beats a 5.1.1 code
        assert!(!hard("4.0.0", Some(452), "Mailbox full"));
        assert_eq!(why("5.1.1", Some(550), "user over quota"), MailboxFull);
        assert!(!hard("5.1.1", Some(550), "user over quota"));
    }

    #[test]
    fn mesgtoobig_and_exceedlimit() {
        assert_eq!(why("5.3.4", Some(552), ""), MesgTooBig);
        assert_eq!(
            why("5.0.0", Some(552), "Message size exceeds fixed limit"),
            MesgTooBig
        );
        assert_eq!(why("5.2.3", Some(552), ""), ExceedLimit);
        assert_eq!(
            why("5.0.0", Some(552), "Message header size exceeds limit"),
            ExceedLimit
        );
        assert!(!hard("5.3.4", Some(552), ""));
    }

    #[test]
    fn a_size_limit_outweighs_a_bad_mailbox_code() {
        // a server answering 5.1.1 to any refusal at RCPT (SIZE= given in MAIL FROM), with
        // text saying the message is over its size limit: soft, not a missing mailbox
        let text = "550 RCPT TO:<a@b.test> Maximum message size exceeded";
        assert_eq!(why("5.1.1", Some(550), text), MesgTooBig);
        assert!(!hard("5.1.1", Some(550), text));
        assert_eq!(
            why(
                "5.0.0",
                Some(552),
                "the message size (40 MB) exceeded our limit"
            ),
            MesgTooBig
        );
    }

    #[test]
    fn suspend() {
        assert_eq!(why("5.2.1", Some(550), ""), Suspend);
        assert_eq!(
            why("5.0.0", Some(550), "This account has been suspended"),
            Suspend
        );
        assert!(!hard(
            "5.2.1",
            Some(550),
            "Mailbox disabled, not accepting messages"
        ));
    }

    #[test]
    fn norelaying() {
        assert_eq!(why("5.7.1", Some(554), "Relay access denied"), NoRelaying);
        assert!(!hard("5.7.1", Some(554), "Relay access denied"));
    }

    #[test]
    fn authfailure() {
        assert_eq!(why("5.7.26", Some(550), ""), AuthFailure);
        assert_eq!(
            why(
                "5.7.1",
                Some(550),
                "Unauthenticated email from x.test is not accepted due to domain's DMARC policy"
            ),
            AuthFailure
        );
        assert!(!hard("5.7.23", Some(550), "SPF validation failed"));
    }

    #[test]
    fn filtered() {
        // refused after DATA: the recipient was accepted, the content was not
        assert_eq!(
            why("5.0.0", Some(550), ">>> DATA <<< 550 Unknown user"),
            Filtered
        );
        assert_eq!(why("5.2.0", Some(550), "Message filtered"), Filtered);
        assert!(!hard(
            "5.0.0",
            Some(550),
            "(in reply to end of DATA command) user unknown"
        ));
    }

    #[test]
    fn rejected() {
        assert_eq!(why("5.1.8", Some(553), ""), Rejected);
        assert_eq!(
            why(
                "5.0.0",
                Some(550),
                "Sender address rejected: Domain not found (in reply to MAIL FROM command)"
            ),
            Rejected
        );
        // a refused recipient address is not a refused sender
        assert_eq!(
            why(
                "5.1.1",
                Some(550),
                "Recipient address rejected: unknown user"
            ),
            UserUnknown
        );
    }

    #[test]
    fn requireptr_notcompliantrfc_badreputation() {
        assert_eq!(why("5.7.25", Some(550), ""), RequirePtr);
        assert_eq!(
            why("5.7.1", Some(550), "Client host has no PTR record"),
            RequirePtr
        );
        assert_eq!(
            why("5.7.1", Some(550), "This message is not RFC 5322 compliant"),
            NotCompliantRfc
        );
        assert_eq!(
            why(
                "4.7.0",
                Some(421),
                "Our system has detected an unusual rate, IP reputation"
            ),
            BadReputation
        );
    }

    #[test]
    fn contenterror() {
        assert_eq!(why("5.6.0", Some(554), ""), ContentError);
        assert_eq!(why("5.0.0", Some(554), "Header error"), ContentError);
        assert_eq!(why("5.6.9", None, ""), ContentError);
    }

    #[test]
    fn spamdetected_and_virusdetected() {
        assert_eq!(why("5.7.28", Some(550), ""), SpamDetected);
        assert_eq!(
            why(
                "5.7.1",
                Some(550),
                "Message rejected as spam by Content Filtering"
            ),
            SpamDetected
        );
        assert_eq!(
            why("5.7.1", Some(554), "Virus found in message"),
            VirusDetected
        );
    }

    #[test]
    fn speeding_and_toomanyconn() {
        assert_eq!(
            why("4.7.0", Some(421), "Rate limit exceeded, try later"),
            Speeding
        );
        assert_eq!(
            why("4.3.0", Some(421), "Too many connections from your host"),
            TooManyConn
        );
        assert_eq!(why("5.5.3", Some(452), ""), TooManyConn);
    }

    #[test]
    fn blocked() {
        assert_eq!(
            why(
                "5.7.1",
                Some(554),
                "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"
            ),
            Blocked
        );
        assert_eq!(why("4.7.1", Some(450), ""), Blocked);
        // a block list hit is not "user unknown" whatever the code
        assert_eq!(
            why("5.1.1", Some(550), "blocked using bl.spamcop.net"),
            Blocked
        );
    }

    #[test]
    fn policyviolation_and_securityerror() {
        assert_eq!(
            why("5.7.1", Some(550), "Rejected by policy"),
            PolicyViolation
        );
        assert_eq!(why("5.7.1", Some(550), ""), SecurityError);
        assert_eq!(
            why("5.7.0", Some(530), "Authentication required"),
            SecurityError
        );
        assert_eq!(
            why("5.7.10", None, "Must issue a STARTTLS command first"),
            FailedStartTls
        );
    }

    #[test]
    fn system_and_network() {
        assert_eq!(why("5.3.0", Some(554), ""), SystemError);
        assert_eq!(
            why("4.3.0", Some(451), "Temporary local problem"),
            SystemError
        );
        assert_eq!(why("4.3.1", Some(452), ""), SystemFull);
        assert_eq!(
            why("4.0.0", None, "Insufficient system storage"),
            SystemFull
        );
        assert_eq!(why("4.4.2", Some(421), ""), NetworkError);
        assert_eq!(
            why(
                "5.0.0",
                None,
                "connect to mx.test[192.0.2.1]:25: Connection refused"
            ),
            NetworkError
        );
    }

    #[test]
    fn expired() {
        assert_eq!(why("4.4.7", None, ""), Expired);
        assert_eq!(why("5.4.7", None, "retry timeout exceeded"), Expired);
        let delayed = classify(&Evidence {
            action: Some("delayed"),
            ..Evidence::default()
        });
        assert_eq!(delayed.0, Expired);
    }

    #[test]
    fn mailererror_syntaxerror_suppressed() {
        assert_eq!(why("5.0.0", None, "X-Unix; 127"), MailerError);
        assert_eq!(why("5.5.2", Some(500), ""), SyntaxError);
        assert_eq!(why("", Some(501), ""), SyntaxError);
        assert_eq!(
            why("5.0.0", Some(550), "Address is on the suppression list"),
            Suppressed
        );
    }

    #[test]
    fn delivered_vacation_feedback_onhold_undefined() {
        assert_eq!(why("2.0.0", Some(250), "Ok"), Delivered);
        assert_eq!(
            why("", None, "I am out of the office until Monday"),
            Vacation
        );
        assert!(!Feedback.is_hard(true));
        assert_eq!(why("5.0.0", Some(550), "Go away"), OnHold);
        assert_eq!(why("", None, ""), Undefined);
        assert!(!OnHold.is_hard(true) && !Undefined.is_hard(true));
    }

    #[test]
    fn commands_in_transcripts() {
        assert_eq!(
            command("(in reply to RCPT TO command)"),
            Some(Command::Rcpt)
        );
        assert_eq!(
            command(">>> RCPT TO:<a@b> <<< 250 ok >>> DATA <<< 550"),
            Some(Command::Data)
        );
        assert_eq!(
            command("SMTP error from remote mail server after MAIL FROM:<a@b>"),
            Some(Command::Mail)
        );
        // qmail says which stage in words
        assert_eq!(
            command("192.0.2.1 does not like recipient.\nRemote host said: 550 no"),
            Some(Command::Rcpt)
        );
        assert_eq!(
            command("Connected to 192.0.2.1 but sender was rejected."),
            Some(Command::Mail)
        );
        assert_eq!(
            command("192.0.2.1 failed after I sent the message."),
            Some(Command::Data)
        );
        // so does Exim, in lower case, for the reply to the final dot
        assert_eq!(
            command("SMTP error from remote mail server after end of data:\n550 rejected"),
            Some(Command::Data)
        );
        assert_eq!(
            command("SMTP error from remote mail server after pipelined end of data: 554 no"),
            Some(Command::Data)
        );
        assert_eq!(command("DATABASE@EXAMPLE.JP unknown"), None);
        assert_eq!(command("user unknown"), None);
    }
}
