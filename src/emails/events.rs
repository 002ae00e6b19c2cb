//! What happened to an email, as Resend names it. Each event is a row in `email_events`;
//! the latest is also kept in `emails.last_event`, which `GET /emails/{id}` reports.

pub const QUEUED: &str = "queued";
pub const SCHEDULED: &str = "scheduled";
pub const CANCELED: &str = "canceled";
pub const SENT: &str = "sent";
pub const DELIVERED: &str = "delivered";
pub const DELIVERY_DELAYED: &str = "delivery_delayed";
pub const FAILED: &str = "failed";
pub const BOUNCED: &str = "bounced";
pub const COMPLAINED: &str = "complained";
pub const SUPPRESSED: &str = "suppressed";

/// Inserts one `email_events` row inside the caller's transaction (either backend):
/// `insert_event!(executor, email_id, team_id, type, recipient: Option<&str>, data_json, at)`.
macro_rules! insert_event {
    ($executor:expr, $email_id:expr, $team_id:expr, $kind:expr, $recipient:expr, $data:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO email_events (id, email_id, team_id, type, recipient, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind($crate::store::new_id())
        .bind($email_id)
        .bind($team_id)
        .bind($kind)
        .bind($recipient)
        .bind($data)
        .bind($at)
        .execute($executor)
        .await
        .map(|r| r.rows_affected())
    };
}
pub(crate) use insert_event;
