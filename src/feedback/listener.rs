//! The inbound feedback listener: an SMTP server (on [`crate::smtp::SmtpServer`]) receiving
//! the bounces and complaints that come back to Herald's return-path addresses.
//!
//! It accepts a recipient only when it is `bounces+<token>@<return-path host>` with a token
//! that verifies ([`super::verp`]) and a host that is the return-path subdomain of a known
//! domain; anything else gets `550 5.7.1` (the listener is not an open relay). A received
//! message is parsed with [`super::parse`] and mapped to the email (a return-path token
//! inside the report, e.g. the returned message's Return-Path or an SES notification's
//! `mail.source`; else the report's Original-Envelope-Id or returned Message-ID; else the
//! envelope's token) and to the recipients it concerns (those the report names, else the
//! token's recipient). Then, in one transaction: a `bounced`, `complained` or `delivery_delayed`
//! event per recipient (bounces carry Resend's `bounce{type, subType, message,
//! diagnosticCode}`), the email's `last_event`, and the suppression of hard-bounced and
//! complaining addresses. The webhook fan-out picks the events up like any other.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::verp::{self, Token};
use super::{Feedback, Kind, Reason, Recipient};
use crate::emails::address::Mailbox;
use crate::emails::events;
use crate::emails::reads::{self, Reference};
use crate::handle::App;
use crate::on_db;
use crate::smtp::{Envelope, Limits, Reply, SessionHandler, SmtpServer, Verdict};
use crate::store::BeginWrite;
use crate::store::sql::{BindArgs as _, Placeholders};
use crate::suppressions;

/// Resend's name for the event of a delay report.
pub const DELIVERY_DELAYED: &str = "delivery_delayed";
/// Largest report accepted (a DSN usually returns the headers or the whole message).
const MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;

/// Starts the listener on `feedback_listen`; `None` when the setting is empty (off).
pub async fn start(
    app: &App,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let listen = app.settings().feedback_listen.trim();
    if listen.is_empty() {
        return Ok(None);
    }
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| anyhow::anyhow!("feedback_listen must be ip:port, got {listen:?}"))?;
    let limits = Limits {
        hostname: app.settings().mail_host(),
        max_message_size: MAX_MESSAGE_SIZE,
        max_recipients: 20,
        ..Limits::default()
    };
    let handler = FeedbackHandler { app: app.clone() };
    let (bound, task) = SmtpServer::bind(addr, handler, limits, shutdown)
        .await
        .map_err(|e| anyhow::anyhow!("binding the feedback listener on {addr}: {e}"))?;
    tracing::info!(%bound, "feedback listener started");
    Ok(Some((bound, task)))
}

/// A return-path address the listener accepts: its verified token and the team of the
/// domain whose return-path host it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath {
    pub token: Token,
    pub team_id: String,
    pub domain_id: String,
}

/// Reads `rcpt` as one of Herald's return-path addresses; `None` for anything else (a forged
/// or damaged token, an unknown host, another local part).
pub async fn token_recipient(app: &App, rcpt: &str) -> Result<Option<ReturnPath>, sqlx::Error> {
    let Some((token, host)) = verp::parse_address(app.secret_key(), rcpt) else {
        return Ok(None);
    };
    let domain = crate::domains::reads::by_return_path_host(app, &host).await?;
    Ok(domain.map(|(domain_id, team_id)| ReturnPath {
        token,
        team_id,
        domain_id,
    }))
}

struct FeedbackHandler {
    app: App,
}

fn temporary_failure() -> Verdict {
    Verdict::Reply(Reply::new(
        451,
        "4.3.0",
        "Temporary local problem, please try again later",
    ))
}

impl SessionHandler for FeedbackHandler {
    fn rcpt_to(&self, _envelope: &Envelope, rcpt: &str) -> impl Future<Output = Verdict> + Send {
        let app = self.app.clone();
        let rcpt = rcpt.to_string();
        async move {
            match token_recipient(&app, &rcpt).await {
                Ok(Some(_)) => Verdict::Accept,
                Ok(None) => Verdict::Reply(Reply::new(
                    550,
                    "5.7.1",
                    "Relaying denied: this server only accepts bounces and complaints for \
                     its own return-path addresses",
                )),
                Err(err) => {
                    tracing::error!(error = %err, "feedback listener: recipient look-up");
                    temporary_failure()
                }
            }
        }
    }

    fn message(&self, envelope: &Envelope, data: Vec<u8>) -> impl Future<Output = Verdict> + Send {
        let app = self.app.clone();
        let recipients = envelope.rcpt_to.clone();
        async move {
            let feedback = match tokio::task::spawn_blocking(move || super::parse(&data)).await {
                Ok(feedback) => feedback,
                Err(_) => return temporary_failure(),
            };
            for rcpt in &recipients {
                let result = async {
                    if let Some(return_path) = token_recipient(&app, rcpt).await? {
                        record(&app, &return_path, &feedback).await?;
                    }
                    Ok::<_, anyhow::Error>(())
                }
                .await;
                if let Err(err) = result {
                    tracing::error!(error = %format!("{err:#}"), "feedback listener: recording");
                    return temporary_failure();
                }
            }
            Verdict::Accept
        }
    }
}

/// The email a report concerns, with its recipients (bare, lowercased; to, cc, bcc order).
#[derive(Debug, Clone)]
struct ReportedEmail {
    id: String,
    recipients: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct EmailRow {
    id: String,
    to_addresses: String,
    cc_addresses: String,
    bcc_addresses: String,
}

impl From<EmailRow> for ReportedEmail {
    fn from(row: EmailRow) -> Self {
        let mut recipients = Vec::new();
        for list in [&row.to_addresses, &row.cc_addresses, &row.bcc_addresses] {
            for address in serde_json::from_str::<Vec<String>>(list).unwrap_or_default() {
                let email = Mailbox::parse(&address).map_or(address, |m| m.email);
                recipients.push(email.to_lowercase());
            }
        }
        ReportedEmail {
            id: row.id,
            recipients,
        }
    }
}

/// `<id@host>` in the form emails store their Message-ID.
fn bracketed(message_id: &str) -> String {
    let bare = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    format!("<{bare}>")
}

/// The email a report concerns, and the token whose recipient index applies to it, most
/// specific first: a return-path token in the report itself (the returned message's
/// Return-Path, an SES notification's `mail.source`); the email of the report's
/// Original-Envelope-Id or returned Message-ID (a notification service may send reports
/// about many emails to one address); the envelope token's email. Only the team's emails
/// count. An index applies only with the token that found the email.
async fn find_email(
    app: &App,
    return_path: &ReturnPath,
    feedback: &Feedback,
) -> Result<Option<(ReportedEmail, Token)>, sqlx::Error> {
    let by_id = |token: Token| async move {
        let id = token.email_id.to_string();
        let row: Option<EmailRow> =
            reads::reported(app, &return_path.team_id, Reference::Id, &id).await?;
        Ok::<_, sqlx::Error>(row.map(|row| (ReportedEmail::from(row), token)))
    };
    let reported_token = feedback
        .original
        .return_path
        .as_deref()
        .and_then(|address| verp::parse_address(app.secret_key(), address))
        .map(|(token, _)| token);
    if let Some(token) = reported_token
        && let Some(found) = by_id(token).await?
    {
        return Ok(Some(found));
    }
    let envelope_id = feedback
        .original_envelope_id
        .clone()
        .filter(|id| uuid::Uuid::parse_str(id.trim()).is_ok());
    let message_id = feedback.original.message_id.as_deref().map(bracketed);
    let by_reference = [
        (Reference::MessageId, message_id.as_deref()),
        (Reference::Id, envelope_id.as_deref().map(str::trim)),
    ];
    for (column, value) in by_reference {
        let Some(value) = value else { continue };
        let row: Option<EmailRow> =
            reads::reported(app, &return_path.team_id, column, value).await?;
        if let Some(row) = row {
            let token = if row.id == return_path.token.email_id.to_string() {
                return_path.token
            } else {
                Token {
                    email_id: return_path.token.email_id,
                    recipient: verp::WHOLE_ENVELOPE,
                }
            };
            return Ok(Some((row.into(), token)));
        }
    }
    by_id(return_path.token).await
}

/// The report's details for `recipient`, if it names it.
fn details_for<'a>(feedback: &'a Feedback, recipient: &str) -> Option<&'a Recipient> {
    feedback.recipients.iter().find(|r| {
        r.address.eq_ignore_ascii_case(recipient)
            || r.original_recipient
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(recipient))
    })
}

/// The email's recipients the report concerns: those it names, else the token's recipient,
/// else the only recipient.
fn concerned(email: &ReportedEmail, token: &Token, feedback: &Feedback) -> Vec<String> {
    let mut named: Vec<String> = Vec::new();
    for recipient in &email.recipients {
        if details_for(feedback, recipient).is_some() && !named.contains(recipient) {
            named.push(recipient.clone());
        }
    }
    if !named.is_empty() {
        return named;
    }
    if let Some(recipient) = token
        .recipient_index()
        .and_then(|i| email.recipients.get(i))
    {
        return vec![recipient.clone()];
    }
    match email.recipients.as_slice() {
        [only] => vec![only.clone()],
        _ => Vec::new(),
    }
}

/// Resend's `bounce` object for a recipient's report.
pub fn bounce_object(details: Option<&Recipient>) -> Value {
    let kind = match details {
        Some(r) if r.permanent || r.hard => "Permanent",
        Some(_) => "Transient",
        None => "Undetermined",
    };
    let sub_type = match details {
        None => "Undetermined",
        Some(r) if r.hard => "NoEmail",
        Some(r) => match r.reason {
            Reason::MailboxFull => "MailboxFull",
            Reason::MesgTooBig | Reason::ExceedLimit => "MessageTooLarge",
            Reason::ContentError
            | Reason::SpamDetected
            | Reason::VirusDetected
            | Reason::PolicyViolation
            | Reason::Filtered => "ContentRejected",
            Reason::Suppressed => "Suppressed",
            _ => "General",
        },
    };
    let message = match sub_type {
        "NoEmail" => "The recipient's mail system reports that the address does not exist.",
        "MailboxFull" => "The recipient's mailbox is full.",
        "MessageTooLarge" => "The message is larger than the recipient's mail system accepts.",
        "ContentRejected" => "The recipient's mail system rejected the content of the message.",
        "Suppressed" => "The recipient's mail system has the address on its suppression list.",
        "General" => "The recipient's mail system rejected the message.",
        _ => "The recipient's mail system returned the message.",
    };
    let diagnostic: Vec<String> = details
        .and_then(|r| {
            r.diagnostic.clone().or_else(|| {
                let code = r.reply_code.map(|c| c.to_string());
                let parts: Vec<String> = code.into_iter().chain(r.status.clone()).collect();
                (!parts.is_empty()).then(|| format!("smtp; {}", parts.join(" ")))
            })
        })
        .into_iter()
        .collect();
    json!({
        "type": kind,
        "subType": sub_type,
        "message": message,
        "diagnosticCode": diagnostic,
    })
}

/// What a report turned into, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub email_id: Option<String>,
    /// (event type, recipient)
    pub events: Vec<(String, String)>,
    pub suppressed: Vec<String>,
}

/// Records what `feedback`, received at `return_path`, says: events, `last_event` and
/// suppressions, in one transaction. A report already recorded for a recipient is skipped,
/// so a report received twice changes nothing.
pub async fn record(
    app: &App,
    return_path: &ReturnPath,
    feedback: &Feedback,
) -> anyhow::Result<Recorded> {
    let kind = match feedback.kind {
        Kind::Bounce => events::BOUNCED,
        Kind::Complaint => events::COMPLAINED,
        Kind::Delay => DELIVERY_DELAYED,
        Kind::Unknown => return Ok(Recorded::default()), // an auto-reply or the like
    };
    let Some((email, token)) = find_email(app, return_path, feedback).await? else {
        tracing::info!(email_id = %return_path.token.email_id, "feedback for an unknown email");
        return Ok(Recorded::default());
    };
    let mut recorded = Recorded {
        email_id: Some(email.id.clone()),
        ..Recorded::default()
    };
    let mut planned = Vec::new();
    for recipient in concerned(&email, &token, feedback) {
        let details = details_for(feedback, &recipient);
        let (data, suppress) = match feedback.kind {
            Kind::Bounce => (
                json!({ "bounce": bounce_object(details) }),
                details
                    .is_some_and(|r| r.hard)
                    .then_some(suppressions::BOUNCE),
            ),
            Kind::Complaint => {
                let complaint = feedback.complaint.as_ref();
                (
                    json!({ "complaint": {
                        "feedbackType": complaint.map(|c| c.feedback_type.clone()),
                        "userAgent": complaint.and_then(|c| c.user_agent.clone()),
                    }}),
                    Some(suppressions::COMPLAINT),
                )
            }
            _ => (json!({}), None),
        };
        planned.push((recipient, data.to_string(), suppress));
    }
    if planned.is_empty() {
        tracing::info!(email_id = %email.id, "feedback names no recipient of the email");
        return Ok(recorded);
    }

    let now = app.now_ms();
    let team_id = &return_path.team_id;
    let style = Placeholders::of(app.db());
    let done: Vec<(String, String, Option<&str>)> = on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        let mut done = Vec::new();
        for (recipient, data, suppress) in &planned {
            let query = reads::recorded(&email.id, kind, recipient);
            let seen: Option<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(query.sql.as_str()))
                .bind_args(&query.args)
                .fetch_optional(&mut *tx)
                .await?;
            if seen.is_some() || done.iter().any(|(r, _, _)| r == recipient) {
                continue;
            }
            done.push((recipient.clone(), data.clone(), *suppress));
        }
        // One millisecond apart, so the events keep their order by time.
        let new_events: Vec<events::NewEvent> = done
            .iter()
            .enumerate()
            .map(|(i, (recipient, data, _))| events::NewEvent {
                email_id: &email.id,
                team_id,
                kind,
                recipient: Some(recipient.as_str()),
                data: data.as_str(),
                at: now + i as i64,
            })
            .collect();
        let mut stmts = events::record(style, &new_events, events::LastEvent::Update(now));
        let suppressed: Vec<suppressions::NewSuppression> = done
            .iter()
            .filter_map(|(recipient, _, suppress)| {
                Some(suppressions::NewSuppression {
                    team_id,
                    email: recipient.to_lowercase(),
                    origin: (*suppress)?,
                    source_id: Some(email.id.as_str()),
                    at: now,
                })
            })
            .collect();
        stmts.extend(suppressions::insert(style, &suppressed));
        crate::exec_stmts!(tx, &stmts)?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(done)
    })?;
    for (recipient, _, suppress) in done {
        if suppress.is_some() {
            recorded.suppressed.push(recipient.clone());
        }
        recorded.events.push((kind.to_string(), recipient));
    }
    tracing::info!(email_id = %email.id, kind, events = recorded.events.len(), "feedback recorded");
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(address: &str, reason: Reason, permanent: bool) -> Recipient {
        Recipient {
            address: address.to_string(),
            original_recipient: None,
            action: Some("failed".into()),
            status: Some("5.1.1".into()),
            reply_code: Some(550),
            diagnostic: None,
            remote_mta: None,
            reason,
            permanent,
            hard: reason.is_hard(permanent),
        }
    }

    #[test]
    fn bounce_objects_follow_resend() {
        let r = recipient("a@x.test", Reason::UserUnknown, true);
        let b = bounce_object(Some(&r));
        assert_eq!(b["type"], "Permanent");
        assert_eq!(b["subType"], "NoEmail");
        assert_eq!(b["diagnosticCode"], json!(["smtp; 550 5.1.1"]));
        let full = recipient("a@x.test", Reason::MailboxFull, false);
        let b = bounce_object(Some(&full));
        assert_eq!(b["type"], "Transient");
        assert_eq!(b["subType"], "MailboxFull");
        let b = bounce_object(None);
        assert_eq!(b["type"], "Undetermined");
        assert_eq!(b["diagnosticCode"], json!([]));
    }

    #[test]
    fn picks_the_concerned_recipients() {
        let email = ReportedEmail {
            id: "e".into(),
            recipients: vec!["a@x.test".into(), "b@y.test".into()],
        };
        let token = |recipient| Token {
            email_id: uuid::Uuid::nil(),
            recipient,
        };
        let mut feedback = crate::feedback::parse(b"");
        assert_eq!(concerned(&email, &token(1), &feedback), vec!["b@y.test"]);
        assert!(concerned(&email, &token(verp::WHOLE_ENVELOPE), &feedback).is_empty());
        feedback
            .recipients
            .push(recipient("A@X.test", Reason::UserUnknown, true));
        assert_eq!(concerned(&email, &token(1), &feedback), vec!["a@x.test"]);
    }
}
