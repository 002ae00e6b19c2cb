//! The team's suppression list: addresses Herald no longer sends to. This is the minimal part
//! inbound feedback needs (adding an address); the `/suppressions` API and the checks before
//! sending come with outbound delivery.

use crate::app::App;
use crate::error::AppResult;
use crate::on_db;

pub const BOUNCE: &str = "bounce";
pub const COMPLAINT: &str = "complaint";
pub const MANUAL: &str = "manual";

/// The form addresses are compared in: trimmed and lowercased.
pub fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Adds an address inside the caller's transaction (any executor, either backend); an address
/// already on the list keeps its first entry:
/// `add_in!(executor, team_id, email, origin, source_id: Option<&str>, now)`.
macro_rules! add_in {
    ($executor:expr, $team_id:expr, $email:expr, $origin:expr, $source_id:expr, $now:expr) => {{
        let email: &str = $email;
        sqlx::query(
            "INSERT INTO suppressions (id, team_id, email, email_normalized, origin, source_id, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (team_id, email_normalized) DO NOTHING",
        )
        .bind($crate::store::new_id())
        .bind($team_id)
        .bind(email.trim())
        .bind($crate::suppressions::normalize(email))
        .bind($origin)
        .bind($source_id)
        .bind($now)
        .execute($executor)
        .await
        .map(|r| r.rows_affected())
    }};
}
pub(crate) use add_in;

/// Adds an address on its own; returns false when it was on the list already.
pub async fn add(
    app: &App,
    team_id: &str,
    email: &str,
    origin: &str,
    source_id: Option<&str>,
) -> AppResult<bool> {
    let now = app.now_ms();
    let added = on_db!(app.db(), |pool| add_in!(
        pool, team_id, email, origin, source_id, now
    ))?;
    Ok(added == 1)
}

/// Whether `email` is on the team's list.
pub async fn contains(app: &App, team_id: &str, email: &str) -> AppResult<bool> {
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT origin FROM suppressions WHERE team_id = $1 AND email_normalized = $2"
    )
    .bind(team_id)
    .bind(normalize(email))
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}
