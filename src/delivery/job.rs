//! The `deliver_email` job: one run is one delivery attempt of one email.
//!
//! 1. Recipients (`to`, `cc`, `bcc`, each address once) already in a final state in
//!    `delivery_recipients` are skipped: a job run again after a crash does not send twice
//!    to those it had recorded.
//! 2. Addresses on the team's suppression list get `suppressed` and are not sent to;
//!    Resend's test addresses get their simulated outcome.
//! 3. The message is built and DKIM-signed once, then sent as one envelope per recipient
//!    domain (all domains at once), from `bounces+<token>@<return-path domain>` (see
//!    [`super::verp`]).
//! 4. Outcomes, per recipient: 2xx → `sent`, `delivered`. 5xx (or a domain that accepts
//!    no mail) → `sent`, `bounced` (Permanent), and the address is suppressed. 4xx or no
//!    answer → `sent`, `delivery_delayed` (once), and the job runs again on the schedule
//!    below; when `delivery.give_up_after_hours` (72 by default) have passed since the
//!    email was due, → `bounced` (Transient). The email's `last_event` follows.
//!
//! Retry schedule after the n-th failed attempt: 1 min, 5 min, 15 min, 30 min, 1 h, 2 h,
//! 4 h, then every 8 h; the last retry happens at the give-up time.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;
use sqlx::FromRow;

use super::client::{ConnectOptions, Diagnostic, Envelope, TlsPolicy, Verdict};
use super::mime::{self, Attachment, Outgoing};
use super::record::{self, EmailOutcome, RecipientOutcome};
use super::route::{self, Route};
use super::{SendingDomain, verp};
use crate::clock::Millis;
use crate::emails::address::Mailbox;
use crate::emails::{events, test_recipients};
use crate::handle::App;
use crate::queue::{Completed, Job, RetryAt};
use crate::store::group::{self, GroupWriter};

const MINUTE: Millis = 60_000;

/// When to try again after the `attempt`-th failed attempt.
pub fn retry_delay(attempt: i32) -> Millis {
    const SCHEDULE: &[Millis] = &[1, 5, 15, 30, 60, 120, 240];
    let minutes = SCHEDULE
        .get(attempt.max(1) as usize - 1)
        .copied()
        .unwrap_or(480);
    minutes * MINUTE
}

/// A delivery job's payload, written by [`crate::emails::store`].
#[derive(Deserialize)]
pub struct Payload {
    email_id: String,
    /// The email's content bytes (html, text, attachments), for the memory budget
    /// ([`super::MemoryBudget`]); absent in jobs queued before it existed.
    #[serde(default)]
    bytes: u64,
    /// How many attachments the email was stored with: with none, delivery does not look
    /// for them (one query less per delivery); absent in jobs queued before it existed,
    /// which look.
    #[serde(default)]
    attachments: Option<usize>,
}

#[derive(Clone, FromRow)]
struct EmailRow {
    team_id: String,
    from_address: String,
    to_addresses: String,
    cc_addresses: String,
    bcc_addresses: String,
    reply_to: String,
    subject: String,
    /// From the email's stored content (`emails::reads::Content`), not a column.
    #[sqlx(skip)]
    html: Option<String>,
    #[sqlx(skip)]
    text: Option<String>,
    headers: String,
    message_id: String,
    created_at: i64,
    scheduled_at: Option<i64>,
    last_event: String,
}

/// One address to deliver to.
#[derive(Debug, Clone)]
struct Recipient {
    /// As given (domain lower-case): used in RCPT TO.
    address: String,
    /// Lower-case: the key of its state.
    key: String,
    domain: String,
    /// Position in `to ++ cc ++ bcc` (for the VERP token).
    index: usize,
}

pub async fn run_job(app: &App, job: &Job) -> anyhow::Result<()> {
    let Payload {
        email_id,
        bytes,
        attachments,
    } = job.payload()?;
    // Held until the attempt is recorded: the email's content is in memory until then.
    let _memory = app.delivery().memory.hold(bytes).await;
    let loaded = app.delivery().loads.load(app, &email_id).await?;
    let Some(Loaded {
        email,
        recipients,
        suppressed,
    }) = loaded
    else {
        return Ok(());
    };
    if email.last_event == events::CANCELED {
        return Ok(());
    }
    // None stored with the email, as its job says: not looked for (older jobs look).
    let attachments: Vec<Attachment> = if attachments == Some(0) {
        Vec::new()
    } else {
        crate::emails::reads::attachments_for_delivery(app, &email_id).await?
    };
    // States exist only once an attempt has recorded some: not on the first run.
    let states = if job.attempts > 1 {
        recipient_states(app, &email_id).await?
    } else {
        HashMap::new()
    };
    let pending: Vec<Recipient> = recipients
        .into_iter()
        .filter(|r| states.get(&r.key).is_none_or(|s| !record::is_final(s)))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }

    let now = app.now_ms();
    let mut outcomes: Vec<(Recipient, Decision)> = Vec::new();
    let mut to_send = Vec::new();
    for r in pending {
        if let Some(origin) = suppressed.get(&r.key) {
            outcomes.push((r, Decision::Suppressed(origin.clone())));
        } else if let Some(simulated) = test_recipients::outcome(&r.key) {
            outcomes.push((r, Decision::Simulated(simulated)));
        } else {
            to_send.push(r);
        }
    }
    if !to_send.is_empty() {
        outcomes.extend(send(app, &email_id, &email, attachments, to_send).await?);
    }

    // Give up on what keeps failing temporarily once the time is up.
    let due = email.scheduled_at.unwrap_or(email.created_at);
    let give_up_at = due + app.settings().delivery.give_up_after_hours as i64 * 60 * MINUTE;
    let mut retry = false;
    for (_, decision) in &mut outcomes {
        if let Decision::Verdict(Verdict::Temporary(diagnostic)) = decision {
            if now >= give_up_at {
                *decision = Decision::GaveUp(diagnostic.clone());
            } else {
                retry = true;
            }
        }
    }

    let outcome = EmailOutcome {
        email_id: email_id.clone(),
        team_id: email.team_id.clone(),
        at: now,
        // The job ends with this attempt unless some recipients are retried.
        job_id: (!retry).then(|| job.id.clone()),
        recipients: outcomes
            .iter()
            .map(|(r, d)| recipient_outcome(app, r, d, states.get(&r.key).map(String::as_str)))
            .collect(),
    };
    record_sent(app, outcome).await?;
    if retry {
        let at = (now + retry_delay(job.attempts)).min(give_up_at);
        return Err(RetryAt {
            at,
            reason: "some recipients' servers did not accept the email yet".into(),
        }
        .into());
    }
    // The job is marked done in the transaction that recorded the outcome.
    Err(Completed.into())
}

/// Records an attempt's outcome. Its messages have gone out: while the database cannot be
/// reached, this waits for it (up to 10 minutes) instead of failing the job, which would send
/// them again when it runs next.
async fn record_sent(app: &App, outcome: EmailOutcome) -> anyhow::Result<()> {
    let patience = std::time::Instant::now() + std::time::Duration::from_secs(600);
    let mut wait = std::time::Duration::from_millis(500);
    loop {
        match app.delivery().recorder.record(app, outcome.clone()).await {
            Ok(()) => return Ok(()),
            Err(err) if std::time::Instant::now() < patience && !app.db().answers().await => {
                tracing::warn!(email_id = %outcome.email_id, error = %err,
                    "database unavailable; keeping the delivery outcome until it answers");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(5));
            }
            Err(err) => return Err(err),
        }
    }
}

/// What this attempt decided for a recipient.
#[derive(Debug, Clone)]
enum Decision {
    Verdict(Verdict),
    /// Still failing temporarily when the time to give up came.
    GaveUp(Diagnostic),
    /// On the suppression list (with the entry's origin).
    Suppressed(String),
    Simulated(test_recipients::Outcome),
    /// Cannot be sent at all (the sending domain is gone, the message cannot be built).
    Failed(String),
}

/// What a delivery reads before it sends: its email (with its content), its [`recipients`]
/// and the suppression entries (origins) of those, by address.
#[derive(Clone)]
struct Loaded {
    email: EmailRow,
    recipients: Vec<Recipient>,
    suppressed: HashMap<String, String>,
}

/// Why a delivery's [`Loaded`] could not be read: the group's query failed (the database
/// error is kept as the cause, so that the queue sees an unavailable database as one), or
/// this email cannot be read (a damaged body, a bad address list).
#[derive(Debug, Clone)]
enum LoadError {
    Database(Arc<sqlx::Error>),
    Email(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Database(err) => write!(f, "reading the emails to deliver: {err}"),
            LoadError::Email(why) => write!(f, "reading the email to deliver: {why}"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Database(err) => Some(&**err),
            LoadError::Email(_) => None,
        }
    }
}

type LoadResult = Result<Option<Loaded>, LoadError>;

/// Delivery's reads, grouped: the deliveries of a claim start together, and each read is a
/// hand-off to a database connection (on SQLite to its own thread and back, two wake-ups),
/// so what they read before sending is read for every delivery waiting at once, one query
/// for their emails and one for their recipients' suppressions, with the loop the outcomes
/// are written with (`store::group`): the first delivery starts a reader task, which reads
/// everything queued, then everything queued meanwhile, until the queue is empty.
#[derive(Default)]
pub struct Loads(Arc<GroupWriter<String, LoadResult>>);

impl Loads {
    /// Email `email_id` and its recipients' suppressions; `None` when the email is gone.
    async fn load(&self, app: &App, email_id: &str) -> anyhow::Result<Option<Loaded>> {
        let readers = group::writers_for(app.db());
        let app = app.clone();
        let loaded = self
            .0
            .submit(email_id.to_string(), readers, move |ids| {
                read_group(app.clone(), ids)
            })
            .await
            .map_err(|_| anyhow::anyhow!("the delivery reader stopped"))?;
        Ok(loaded?)
    }
}

/// Reads the emails `ids` and their recipients' suppressions: one result per id, in order.
async fn read_group(app: App, ids: Vec<String>) -> Vec<LoadResult> {
    let database = |err: sqlx::Error| {
        let err = LoadError::Database(Arc::new(err));
        ids.iter().map(|_| Err(err.clone())).collect()
    };
    let mut unique: Vec<&str> = ids.iter().map(String::as_str).collect();
    unique.sort_unstable();
    unique.dedup();
    let rows = match crate::emails::reads::for_delivery::<EmailRow>(&app, &unique).await {
        Ok(rows) => rows,
        Err(err) => return database(err),
    };
    let mut emails: HashMap<String, Result<(EmailRow, Vec<Recipient>), LoadError>> = rows
        .into_iter()
        .map(|(id, row)| {
            let email = row
                .map_err(|err| LoadError::Email(err.to_string()))
                .and_then(|(email, content)| {
                    let email = EmailRow {
                        html: content.html,
                        text: content.text,
                        ..email
                    };
                    let recipients =
                        recipients(&email).map_err(|err| LoadError::Email(err.to_string()))?;
                    Ok((email, recipients))
                });
            (id, email)
        })
        .collect();
    let wanted: Vec<(&str, &str)> = emails
        .values()
        .filter_map(|e| e.as_ref().ok())
        .flat_map(|(email, recipients)| {
            let team = email.team_id.as_str();
            recipients.iter().map(move |r| (team, r.key.as_str()))
        })
        .collect();
    let suppressed = match crate::suppressions::find_many(&app, &wanted).await {
        Ok(found) => found,
        Err(err) => return database(err),
    };
    // One result per id asked for; the same email asked twice (two jobs) gets a copy.
    let mut asked: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *asked.entry(id).or_default() += 1;
    }
    let mut results = Vec::with_capacity(ids.len());
    for id in &ids {
        let left = asked.get_mut(id.as_str()).expect("counted");
        *left -= 1;
        let found = if *left == 0 {
            emails.remove(id)
        } else {
            emails.get(id).cloned()
        };
        results.push(match found {
            None => Ok(None),
            Some(Err(err)) => Err(err),
            Some(Ok((email, recipients))) => {
                let team = suppressed.get(&email.team_id);
                let suppressed = recipients
                    .iter()
                    .filter_map(|r| {
                        let origin = team?.get(&r.key)?.origin.clone();
                        Some((r.key.clone(), origin))
                    })
                    .collect();
                Ok(Some(Loaded {
                    email,
                    recipients,
                    suppressed,
                }))
            }
        });
    }
    results
}

async fn recipient_states(app: &App, email_id: &str) -> anyhow::Result<HashMap<String, String>> {
    Ok(record::recipient_states(app, email_id).await?)
}

/// Every address of `to`, `cc`, `bcc` once, in that order.
fn recipients(email: &EmailRow) -> anyhow::Result<Vec<Recipient>> {
    let mut out: Vec<Recipient> = Vec::new();
    let mut index = 0;
    for list in [
        &email.to_addresses,
        &email.cc_addresses,
        &email.bcc_addresses,
    ] {
        for text in serde_json::from_str::<Vec<String>>(list)? {
            let here = index;
            index += 1;
            let Ok(mailbox) = Mailbox::parse(&text) else {
                continue;
            };
            let key = mailbox.email.to_lowercase();
            if out.iter().any(|r| r.key == key) {
                continue;
            }
            out.push(Recipient {
                domain: mailbox.domain().to_string(),
                address: mailbox.email,
                key,
                index: here,
            });
        }
    }
    Ok(out)
}

/// Builds, signs and sends the message to `recipients`, one envelope per domain.
async fn send(
    app: &App,
    email_id: &str,
    email: &EmailRow,
    attachments: Vec<Attachment>,
    recipients: Vec<Recipient>,
) -> anyhow::Result<Vec<(Recipient, Decision)>> {
    let fail_all = |recipients: Vec<Recipient>, why: String| {
        recipients
            .into_iter()
            .map(|r| (r, Decision::Failed(why.clone())))
            .collect()
    };
    let sender_domain = Mailbox::parse(&email.from_address)
        .map(|m| m.domain().to_string())
        .unwrap_or_default();
    let engine = app.delivery();
    let Some(domain) = engine
        .sending_domain(app, &email.team_id, &sender_domain)
        .await?
    else {
        let why = format!("the sending domain {sender_domain} no longer exists");
        return Ok(fail_all(recipients, why));
    };
    let message = match build_message(app, email_id, email, attachments, &domain).await? {
        Ok(message) => message,
        Err(why) => return Ok(fail_all(recipients, why)),
    };

    let mut by_domain: BTreeMap<String, Vec<Recipient>> = BTreeMap::new();
    for r in recipients {
        by_domain.entry(r.domain.clone()).or_default().push(r);
    }
    let envelopes = by_domain.into_values().map(|group| {
        let (message, domain) = (&message, &domain);
        async move {
            let decisions = deliver_envelope(app, email_id, domain, &group, message).await;
            group.into_iter().zip(decisions).collect::<Vec<_>>()
        }
    });
    Ok(futures::future::join_all(envelopes)
        .await
        .into_iter()
        .flatten()
        .collect())
}

/// The signed message bytes, or why it cannot be built.
async fn build_message(
    app: &App,
    email_id: &str,
    email: &EmailRow,
    attachments: Vec<Attachment>,
    domain: &SendingDomain,
) -> anyhow::Result<Result<Vec<u8>, String>> {
    let headers: Vec<serde_json::Value> = serde_json::from_str(&email.headers)?;
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text);
    let outgoing = Outgoing {
        from: email.from_address.clone(),
        to: list(&email.to_addresses)?,
        cc: list(&email.cc_addresses)?,
        reply_to: list(&email.reply_to)?,
        subject: email.subject.clone(),
        html: email.html.as_deref().map(|html| {
            let only = recipients(email).unwrap_or_default();
            let recipient = match only.as_slice() {
                [one] => one.key.as_str(),
                _ => "",
            };
            let tracks = (domain.open_tracking, domain.click_tracking);
            crate::tracking::for_delivery(app, email_id, recipient, tracks, html)
        }),
        // Only html given: the text part is generated here, it is not stored.
        text: crate::emails::validate::text_part(email.text.as_deref(), email.html.as_deref()),
        headers: headers
            .iter()
            .map(|h| {
                let field = |name: &str| h[name].as_str().unwrap_or_default().to_string();
                (field("name"), field("value"))
            })
            .collect(),
        message_id: email.message_id.clone(),
        date_ms: email.scheduled_at.unwrap_or(email.created_at),
        attachments,
    };
    // Building and signing is CPU work (an RSA signature is about a millisecond): off the
    // async workers, which serve HTTP and SMTP meanwhile.
    let signer = domain.signer.clone();
    tokio::task::spawn_blocking(move || {
        let mut message = match mime::compose(&outgoing, &mime::random_seed()) {
            Ok(message) => message,
            Err(err) => return Ok(Err(format!("the message cannot be built: {err}"))),
        };
        // The parts (html, text, attachments) are in the message now: free them before
        // signing, so that a large email is held once, not twice.
        drop(outgoing);
        if let Some(signer) = signer {
            signer.sign_in_place(&mut message)?;
        }
        Ok(Ok(message))
    })
    .await?
}

/// Sends one envelope (the recipients of one domain); a verdict per recipient.
async fn deliver_envelope(
    app: &App,
    email_id: &str,
    domain: &SendingDomain,
    recipients: &[Recipient],
    message: &[u8],
) -> Vec<Decision> {
    let all = |verdict: Verdict| vec![Decision::Verdict(verdict); recipients.len()];
    let engine = app.delivery();
    let settings = app.settings();
    let mut tls = TlsPolicy::from_setting(&domain.tls);
    let mut connections = settings.delivery.connections_per_host;
    let (hosts, credentials) = match &engine.relay {
        Some(relay) => match relay.addrs().await {
            Ok(addrs) => {
                if relay.implicit_tls {
                    tls = TlsPolicy::Implicit;
                } else if tls != TlsPolicy::Enforced {
                    tls = TlsPolicy::Relay;
                }
                connections = settings.delivery.relay_connections;
                (vec![(relay.host.clone(), addrs)], relay.credentials.clone())
            }
            Err(why) => return all(Verdict::Temporary(Diagnostic::error(why))),
        },
        None => match route::lookup(&engine.dns, &recipients[0].domain).await {
            Route::Hosts(hosts) => {
                let hosts = hosts
                    .into_iter()
                    .map(|h| {
                        let addrs = h
                            .addrs
                            .iter()
                            .map(|ip| SocketAddr::new(*ip, settings.mx_port))
                            .collect();
                        (h.name, addrs)
                    })
                    .collect();
                (hosts, None)
            }
            Route::NullMx => {
                return all(Verdict::Permanent(Diagnostic {
                    code: Some(556),
                    status: Some([5, 1, 10]),
                    message: format!(
                        "{} does not accept mail (null MX record)",
                        recipients[0].domain
                    ),
                }));
            }
            Route::NoSuchDomain => {
                return all(Verdict::Permanent(Diagnostic {
                    code: Some(550),
                    status: Some([5, 1, 2]),
                    message: format!(
                        "{} has no mail server (no MX or address records)",
                        recipients[0].domain
                    ),
                }));
            }
            Route::TempFail(why) => {
                return all(Verdict::Temporary(Diagnostic::error(format!(
                    "DNS look-up of {} failed: {why}",
                    recipients[0].domain
                ))));
            }
        },
    };
    let single = (recipients.len() == 1).then(|| recipients[0].index);
    let Some(mail_from) =
        verp::return_path(app.secret_key(), email_id, single, &domain.return_domain)
    else {
        return all(Verdict::Temporary(Diagnostic::error("no return path")));
    };
    let addresses: Vec<String> = recipients.iter().map(|r| r.address.clone()).collect();
    let options = ConnectOptions {
        tls,
        helo: helo_name(app),
        credentials,
        connections,
    };
    let envelope = Envelope {
        mail_from: &mail_from,
        recipients: &addresses,
        message,
    };
    engine
        .pool
        .deliver(&hosts, &options, &envelope)
        .await
        .into_iter()
        .map(Decision::Verdict)
        .collect()
}

/// The EHLO name: configured, else the mail host (an address literal in brackets).
fn helo_name(app: &App) -> String {
    let settings = app.settings();
    let name = match settings.delivery.helo_name.trim() {
        "" => settings.mail_host(),
        name => name.to_string(),
    };
    match name.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => format!("[{ip}]"),
        Ok(std::net::IpAddr::V6(ip)) => format!("[IPv6:{ip}]"),
        Err(_) => name,
    }
}

/// Resend's bounce sub-type from the enhanced status code.
fn bounce_sub_type(diagnostic: &Diagnostic) -> &'static str {
    match diagnostic.status {
        Some([_, 2, 2]) => "MailboxFull",
        Some([_, 2, 3]) | Some([_, 3, 4]) => "MessageTooLarge",
        Some([_, 7, _]) | Some([_, 6, _]) => "ContentRejected",
        _ => "General",
    }
}

/// The events and new state for a recipient, given its state before this attempt.
fn recipient_outcome(
    app: &App,
    r: &Recipient,
    decision: &Decision,
    before: Option<&str>,
) -> RecipientOutcome {
    let first = before.is_none();
    let sent = || first.then(|| (events::SENT, "{}".to_string()));
    let bounce = |kind: &str, diagnostic: &Diagnostic, message: String| {
        json!({"bounce": {
            "type": kind,
            "subType": bounce_sub_type(diagnostic),
            "message": message,
            "diagnosticCode": [diagnostic.diagnostic_code()],
        }})
        .to_string()
    };
    let mut outcome = RecipientOutcome {
        recipient: r.key.clone(),
        state: record::DEFERRED,
        events: Vec::new(),
        response: None,
        suppress: false,
    };
    match decision {
        Decision::Verdict(Verdict::Accepted(reply)) => {
            outcome.state = record::DELIVERED;
            outcome.events.extend(sent());
            outcome.events.push((events::DELIVERED, "{}".to_string()));
            outcome.response = Some(reply.diagnostic_code());
        }
        Decision::Verdict(Verdict::Temporary(diagnostic)) => {
            outcome.events.extend(sent());
            if before != Some(record::DEFERRED) {
                let data = json!({"delay": {
                    "message": "The recipient's mail server did not accept the email yet; \
                                Herald keeps trying.",
                    "diagnosticCode": [diagnostic.diagnostic_code()],
                }});
                outcome
                    .events
                    .push((events::DELIVERY_DELAYED, data.to_string()));
            }
            outcome.response = Some(diagnostic.diagnostic_code());
        }
        Decision::Verdict(Verdict::Permanent(diagnostic)) => {
            outcome.state = record::BOUNCED;
            outcome.suppress = true;
            outcome.events.extend(sent());
            let message = "The recipient's mail server refused the email permanently; the \
                           address was added to the suppression list."
                .to_string();
            let data = bounce("Permanent", diagnostic, message);
            outcome.events.push((events::BOUNCED, data));
            outcome.response = Some(diagnostic.diagnostic_code());
        }
        Decision::GaveUp(diagnostic) => {
            outcome.state = record::BOUNCED;
            outcome.events.extend(sent());
            let hours = app.settings().delivery.give_up_after_hours;
            let message = format!(
                "The recipient's mail server did not accept the email within {hours} hours; \
                 Herald stopped trying."
            );
            let data = bounce("Transient", diagnostic, message);
            outcome.events.push((events::BOUNCED, data));
            outcome.response = Some(diagnostic.diagnostic_code());
        }
        Decision::Suppressed(origin) => {
            outcome.state = record::SUPPRESSED;
            let reason = match origin.as_str() {
                crate::suppressions::BOUNCE => "previous_bounce",
                crate::suppressions::COMPLAINT => "previous_complaint",
                other => other,
            };
            let data = json!({"suppressed": {
                "type": "OnAccountSuppressionList",
                "reason": reason,
                "message": "The address is on the team's suppression list; the email was not \
                            sent to it.",
                "diagnosticCode": [],
            }});
            outcome.events.push((events::SUPPRESSED, data.to_string()));
        }
        Decision::Simulated(simulated) => {
            outcome.state = match simulated {
                test_recipients::Outcome::Bounced => record::BOUNCED,
                test_recipients::Outcome::Suppressed => record::SUPPRESSED,
                _ => record::DELIVERED,
            };
            for (kind, data) in test_recipients::events_for(*simulated, &r.key) {
                outcome.events.push((kind, data.to_string()));
            }
        }
        Decision::Failed(why) => {
            outcome.state = record::FAILED;
            let data = json!({"failed": {"reason": why}});
            outcome.events.push((events::FAILED, data.to_string()));
            outcome.response = Some(why.clone());
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_schedule() {
        let minutes: Vec<Millis> = (1..=9).map(|n| retry_delay(n) / MINUTE).collect();
        assert_eq!(minutes, vec![1, 5, 15, 30, 60, 120, 240, 480, 480]);
        assert_eq!(retry_delay(0), MINUTE);
    }
}
