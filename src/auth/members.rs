//! A team's members: who they are, their roles, and removal. The rule every change here
//! keeps: a team always has at least one admin. Changes take the team's row lock first
//! (an `UPDATE` of it; SQLite's `BEGIN IMMEDIATE` serialises anyway), so two admins
//! demoting each other at the same moment on PostgreSQL cannot leave the team without one.

use sqlx::FromRow;

use super::error::{AuthError, AuthResult};
use super::sessions::Role;
use crate::handle::App;
use crate::on_db;
use crate::store::BeginWrite;

#[derive(Debug, Clone, FromRow)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: i64,
}

impl Member {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin.as_str()
    }
}

/// Every member of the team, oldest first.
pub async fn list(app: &App, team_id: &str) -> AuthResult<Vec<Member>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Member>(
        "SELECT id, email, role, created_at FROM users WHERE team_id = $1 \
         ORDER BY created_at, id"
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)?)
}

pub async fn get(app: &App, team_id: &str, user_id: &str) -> AuthResult<Member> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, Member>(
        "SELECT id, email, role, created_at FROM users WHERE team_id = $1 AND id = $2"
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await)?
    .ok_or(AuthError::NotFound("Member"))
}

/// The email addresses of the team's admins (who hear about finished exports).
pub async fn admin_emails(app: &App, team_id: &str) -> AuthResult<Vec<String>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT email FROM users WHERE team_id = $1 AND role = 'admin' ORDER BY created_at, id"
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)?)
}

/// What a change does to the member's row.
enum Change<'a> {
    Role(&'a str),
    Remove,
}

async fn apply(app: &App, team_id: &str, user_id: &str, change: Change<'_>) -> AuthResult<()> {
    let outcome: Result<Result<(), AuthError>, sqlx::Error> = on_db!(app.db(), |pool| {
        async {
            let mut tx = pool.begin_write().await?;
            // The team's row lock serialises membership changes.
            crate::exec_stmt!(&mut *tx, &crate::teams::lock(team_id))?;
            let role: Option<String> =
                sqlx::query_scalar("SELECT role FROM users WHERE team_id = $1 AND id = $2")
                    .bind(team_id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(role) = role else {
                return Ok(Err(AuthError::NotFound("Member")));
            };
            let loses_admin = role == Role::Admin.as_str()
                && !matches!(change, Change::Role(r) if r == Role::Admin.as_str());
            if loses_admin {
                let others: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM users WHERE team_id = $1 AND role = 'admin' AND id <> $2",
                )
                .bind(team_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                if others == 0 {
                    return Ok(Err(AuthError::LastAdmin));
                }
            }
            match change {
                Change::Role(role) => {
                    sqlx::query("UPDATE users SET role = $3 WHERE team_id = $1 AND id = $2")
                        .bind(team_id)
                        .bind(user_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
                Change::Remove => {
                    // Sessions go first and explicitly: a removed user is signed out at once.
                    crate::exec_stmt!(&mut *tx, &super::sessions::end_all(user_id))?;
                    sqlx::query("DELETE FROM users WHERE team_id = $1 AND id = $2")
                        .bind(team_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(Ok(()))
        }
        .await
    });
    outcome?
}

/// Gives a member a role; the last admin cannot be demoted.
pub async fn set_role(app: &App, team_id: &str, user_id: &str, role: &str) -> AuthResult<()> {
    let role = Role::parse(role)?;
    apply(app, team_id, user_id, Change::Role(role.as_str())).await
}

/// Removes a member (or lets one leave) and ends their sessions; never the last admin.
pub async fn remove(app: &App, team_id: &str, user_id: &str) -> AuthResult<()> {
    apply(app, team_id, user_id, Change::Remove).await
}
