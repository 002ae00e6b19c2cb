//! Resend's test recipients (`delivered@resend.dev`, `bounced@…`, `complained@…`,
//! `suppressed@…`, with `+label` forms) never leave the machine: their outcome is played out
//! by a job that records the matching events.
//!
//! - delivered: `sent`, `delivered`
//! - bounced: `sent`, `bounced` (a permanent bounce, with details)
//! - complained: `sent`, `delivered`, `complained`
//! - suppressed: `suppressed`
//!
//! With several recipients the events follow `to`, `cc`, `bcc` order and the email's
//! `last_event` is the last one recorded.

use serde::Deserialize;
use serde_json::{Value, json};

use super::address::Mailbox;
use super::events;
use crate::handle::App;
use crate::on_db;
use crate::queue::Job;
use crate::store::sql::{self, Placeholders, Stmt};

pub const TEST_DOMAIN: &str = "resend.dev";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Bounced,
    Complained,
    Suppressed,
}

/// The simulated outcome for `email` when it is a test address.
pub fn outcome(email: &str) -> Option<Outcome> {
    let (local, domain) = email.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(TEST_DOMAIN) {
        return None;
    }
    let base = local.split_once('+').map_or(local, |(base, _)| base);
    match base.to_ascii_lowercase().as_str() {
        "delivered" => Some(Outcome::Delivered),
        "bounced" => Some(Outcome::Bounced),
        "complained" => Some(Outcome::Complained),
        "suppressed" => Some(Outcome::Suppressed),
        _ => None,
    }
}

/// The events an outcome produces, with their data (delivery plays them out too, for test
/// addresses among real recipients).
pub fn events_for(outcome: Outcome, recipient: &str) -> Vec<(&'static str, Value)> {
    let empty = || json!({});
    match outcome {
        Outcome::Delivered => vec![(events::SENT, empty()), (events::DELIVERED, empty())],
        Outcome::Bounced => vec![
            (events::SENT, empty()),
            (
                events::BOUNCED,
                json!({"bounce": {
                    "type": "Permanent",
                    "subType": "General",
                    "message": "The recipient's email provider rejected the email (simulated \
                                bounce of a test address).",
                    "diagnosticCode": [format!("smtp; 550 5.1.1 <{recipient}>: simulated bounce")],
                }}),
            ),
        ],
        Outcome::Complained => vec![
            (events::SENT, empty()),
            (events::DELIVERED, empty()),
            (events::COMPLAINED, empty()),
        ],
        Outcome::Suppressed => vec![(
            events::SUPPRESSED,
            json!({"suppressed": {
                "type": "OnAccountSuppressionList",
                "reason": "previous_bounce",
                "message": "The address is on the suppression list (simulated for a test \
                            address).",
                "diagnosticCode": [],
            }}),
        )],
    }
}

#[derive(Deserialize)]
struct Payload {
    email_id: String,
}

#[derive(sqlx::FromRow)]
struct Recipients {
    team_id: String,
    to_addresses: String,
    cc_addresses: String,
    bcc_addresses: String,
}

pub async fn run_job(app: &App, job: &Job) -> anyhow::Result<()> {
    let Payload { email_id } = job.payload()?;
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, Recipients>(
        "SELECT team_id, to_addresses, cc_addresses, bcc_addresses FROM emails \
         WHERE id = $1 AND last_event IN ('queued', 'scheduled')"
    )
    .bind(&email_id)
    .fetch_optional(pool)
    .await)?;
    // Gone, canceled, or already played out by an earlier attempt.
    let Some(row) = row else { return Ok(()) };

    let mut planned = Vec::new();
    for list in [&row.to_addresses, &row.cc_addresses, &row.bcc_addresses] {
        for address in serde_json::from_str::<Vec<String>>(list)? {
            let email = Mailbox::parse(&address).map_or(address, |m| m.email);
            if let Some(outcome) = outcome(&email) {
                for (kind, data) in events_for(outcome, &email) {
                    planned.push((kind, email.clone(), data.to_string()));
                }
            }
        }
    }
    if planned.is_empty() {
        return Ok(());
    }
    let now = app.now_ms();
    // Claimed by moving it on from `queued` / `scheduled`; the events then follow it.
    let mut stmts = vec![
        Stmt::new(
            "UPDATE emails SET updated_at = $2 WHERE id = $1 AND last_event IN ('queued', 'scheduled')",
        )
        .text(&email_id)
        .int(now)
        .expect_rows(1),
    ];
    // One millisecond apart, so the events keep their order by time.
    let planned: Vec<events::NewEvent> = planned
        .iter()
        .enumerate()
        .map(|(i, (kind, recipient, data))| events::NewEvent {
            email_id: &email_id,
            team_id: &row.team_id,
            kind,
            recipient: Some(recipient.as_str()),
            data: data.as_str(),
            at: now + i as i64,
        })
        .collect();
    stmts.extend(events::record(
        Placeholders::of(app.db()),
        &planned,
        events::LastEvent::Update(now),
    ));
    match sql::run(app.db(), &stmts).await {
        // Played out meanwhile by another attempt: nothing to do.
        Err(err) if sql::is_conflict(&err) => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_test_addresses() {
        assert_eq!(outcome("delivered@resend.dev"), Some(Outcome::Delivered));
        assert_eq!(
            outcome("delivered+abc@resend.dev"),
            Some(Outcome::Delivered)
        );
        assert_eq!(outcome("Bounced@Resend.dev"), Some(Outcome::Bounced));
        assert_eq!(
            outcome("complained+x+y@resend.dev"),
            Some(Outcome::Complained)
        );
        assert_eq!(outcome("suppressed@resend.dev"), Some(Outcome::Suppressed));
        assert_eq!(outcome("onboarding@resend.dev"), None);
        assert_eq!(outcome("delivered@example.com"), None);
        assert_eq!(outcome("delivered@resend.dev.evil.com"), None);
    }
}
