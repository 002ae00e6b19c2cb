//! Invitations to join a team. An admin invites an email address with a role; the link
//! (`/invite/<id>.<signature>`) carries the invitation's id and an HMAC of it under the
//! instance secret, so only Herald can make one and the database alone opens nothing.
//! It expires after [`VALID_MS`]; accepting it sets the new member's password, creates the
//! user and marks the invitation used, in one transaction.

use sqlx::FromRow;

use super::error::{AuthError, AuthResult};
use super::passwords;
use super::sessions::{self, Role, User, check_new_password};
use super::tokens::{keyed_hash, same};
use crate::handle::App;
use crate::on_db;
use crate::store::{BeginWrite, new_id};

/// How long an invitation link works.
pub const VALID_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Clone, FromRow)]
pub struct Invitation {
    pub id: String,
    pub team_id: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

fn signature(app: &App, id: &str) -> String {
    keyed_hash(app.secret_key(), &format!("invitation:{id}"))
}

/// The token of an invitation's link.
pub fn token(app: &App, invitation: &Invitation) -> String {
    format!("{}.{}", invitation.id, signature(app, &invitation.id))
}

/// The full link to accept an invitation.
pub fn link(app: &App, invitation: &Invitation) -> String {
    format!(
        "{}/invite/{}",
        app.public_base_url().trim_end_matches('/'),
        token(app, invitation)
    )
}

const COLUMNS: &str = "id, team_id, email, role, invited_by, created_at, expires_at, accepted_at";

/// Invites `email` with `role`; a pending invitation of the same address is replaced.
pub async fn create(
    app: &App,
    team_id: &str,
    invited_by: &str,
    email: &str,
    role: &str,
) -> AuthResult<Invitation> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(AuthError::Invalid(
            "Enter a valid email address to invite.".into(),
        ));
    }
    let role = Role::parse(role)?;
    let taken: i64 = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE email = $1"
    )
    .bind(&email)
    .fetch_one(pool)
    .await)?;
    if taken > 0 {
        return Err(AuthError::Invalid(
            "A user with this email address already exists.".into(),
        ));
    }
    let now = app.now_ms();
    let invitation = Invitation {
        id: new_id(),
        team_id: team_id.to_string(),
        email,
        role: role.as_str().to_string(),
        invited_by: invited_by.to_string(),
        created_at: now,
        expires_at: now + VALID_MS,
        accepted_at: None,
    };
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "DELETE FROM invitations WHERE team_id = $1 AND email = $2 AND accepted_at IS NULL",
        )
        .bind(team_id)
        .bind(&invitation.email)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO invitations (id, team_id, email, role, invited_by, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&invitation.id)
        .bind(team_id)
        .bind(&invitation.email)
        .bind(&invitation.role)
        .bind(invited_by)
        .bind(now)
        .bind(invitation.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    })?;
    Ok(invitation)
}

/// The team's invitations not yet accepted (expired ones included, marked by the caller).
pub async fn pending(app: &App, team_id: &str) -> AuthResult<Vec<Invitation>> {
    Ok(on_db!(app.db(), |pool| sqlx::query_as::<_, Invitation>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM invitations WHERE team_id = $1 AND accepted_at IS NULL \
             ORDER BY created_at DESC, id DESC"
        ))
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> AuthResult<Invitation> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, Invitation>(
        sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM invitations WHERE team_id = $1 AND id = $2"
        ))
    )
    .bind(team_id)
    .bind(id)
    .fetch_optional(pool)
    .await)?
    .ok_or(AuthError::NotFound("Invitation"))
}

/// Withdraws a pending invitation: its link stops working.
pub async fn revoke(app: &App, team_id: &str, id: &str) -> AuthResult<()> {
    let gone = on_db!(app.db(), |pool| sqlx::query(
        "DELETE FROM invitations WHERE team_id = $1 AND id = $2 AND accepted_at IS NULL"
    )
    .bind(team_id)
    .bind(id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if gone == 0 {
        return Err(AuthError::NotFound("Invitation"));
    }
    Ok(())
}

/// The pending, unexpired invitation a link's token opens.
pub async fn open(app: &App, token: &str) -> AuthResult<Invitation> {
    let Some((id, sig)) = token.split_once('.') else {
        return Err(AuthError::UnusableInvitation);
    };
    if id.len() > 64 || !same(sig, &signature(app, id)) {
        return Err(AuthError::UnusableInvitation);
    }
    let found = on_db!(app.db(), |pool| sqlx::query_as::<_, Invitation>(
        sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM invitations WHERE id = $1"))
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    match found {
        Some(inv) if inv.accepted_at.is_none() && inv.expires_at > app.now_ms() => Ok(inv),
        _ => Err(AuthError::UnusableInvitation),
    }
}

/// Accepts an invitation: creates the user with `password` and the invited role, marks the
/// invitation used, and opens a session (the returned cookie token).
pub async fn accept(app: &App, token: &str, password: &str) -> AuthResult<(User, String)> {
    let invitation = open(app, token).await?;
    check_new_password(password)?;
    let hash = passwords::hash(password.to_string()).await?;
    let now = app.now_ms();
    let user = User {
        id: new_id(),
        team_id: invitation.team_id.clone(),
        email: invitation.email.clone(),
        role: invitation.role.clone(),
    };
    let created: Result<bool, sqlx::Error> = on_db!(app.db(), |pool| {
        async {
            let mut tx = pool.begin_write().await?;
            let used = sqlx::query(
                "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL \
                 AND expires_at > $2",
            )
            .bind(&invitation.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if used == 0 {
                return Ok(false);
            }
            let inserted = sqlx::query(
                "INSERT INTO users (id, team_id, email, password_hash, role, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING",
            )
            .bind(&user.id)
            .bind(&user.team_id)
            .bind(&user.email)
            .bind(&hash)
            .bind(&user.role)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        }
        .await
    });
    if !created? {
        return Err(AuthError::UnusableInvitation);
    }
    let session = sessions::open(app, &user.id).await?;
    Ok((user, session))
}

/// Sends the invitation's link to the invited address through Herald's own delivery.
pub async fn send(app: &App, invitation: &Invitation, team_name: &str) -> AuthResult<String> {
    let text = format!(
        "{} invited you to join the team \"{team_name}\" on Herald as {}.\n\n\
         Choose a password to accept the invitation:\n{}\n\n\
         The link works until {} (UTC). If you did not expect this email, ignore it.\n",
        invitation.invited_by,
        if invitation.role == "admin" {
            "an admin"
        } else {
            "a member"
        },
        link(app, invitation),
        crate::clock::iso_timestamp(invitation.expires_at),
    );
    crate::emails::service::send_notice(
        app,
        &invitation.team_id,
        std::slice::from_ref(&invitation.email),
        &format!("You are invited to join {team_name} on Herald"),
        &text,
    )
    .await
    .map_err(AuthError::from)
}
