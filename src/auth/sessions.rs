//! Dashboard users and their sessions. A session cookie holds a random token; the database
//! keeps only its keyed hash, with the CSRF token that forms on the dashboard must echo.

use sqlx::FromRow;

use super::error::{AuthError, AuthResult};
use super::passwords;
use super::tokens::{keyed_hash, random_alphanumeric};
use crate::handle::App;
use crate::on_db;
use crate::store::{BeginWrite, new_id};

pub const SESSION_COOKIE: &str = "herald_session";
pub const SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn parse(value: &str) -> AuthResult<Role> {
        match value {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(AuthError::Invalid(
                "Role must be \"admin\" or \"member\".".into(),
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct User {
    pub id: String,
    pub team_id: String,
    pub email: String,
    pub role: String,
}

/// The signed-in user of a dashboard request.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin.as_str()
    }
}

pub async fn create_user(
    app: &App,
    team_id: &str,
    email: &str,
    password: &str,
    role: Role,
) -> AuthResult<User> {
    let email = email.trim().to_lowercase();
    if !email.contains('@') {
        return Err(AuthError::Invalid(
            "The user's email address is not valid.".into(),
        ));
    }
    check_new_password(password)?;
    let hash = passwords::hash(password.to_string()).await?;
    let user = User {
        id: new_id(),
        team_id: team_id.to_string(),
        email,
        role: role.as_str().to_string(),
    };
    let inserted = on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO users (id, team_id, email, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING"
    )
    .bind(&user.id)
    .bind(&user.team_id)
    .bind(&user.email)
    .bind(&hash)
    .bind(&user.role)
    .bind(app.now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 0 {
        return Err(AuthError::Invalid(
            "A user with this email address already exists.".into(),
        ));
    }
    Ok(user)
}

#[derive(FromRow)]
struct Credentials {
    id: String,
    password_hash: String,
}

/// Checks a password and opens a session; returns the cookie token. Throttled per account
/// and per client address ([`super::throttle`]): while a delay runs the answer is a 429
/// `rate_limit_exceeded` and the password is not checked.
pub async fn login(
    app: &App,
    email: &str,
    password: &str,
    client: Option<std::net::IpAddr>,
) -> AuthResult<Option<String>> {
    let throttle = app.login_throttle();
    let wait = throttle.wait_ms(email, client, app.now_ms());
    if wait > 0 {
        return Err(AuthError::Throttled((wait + 999) / 1000));
    }
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, Credentials>(
        "SELECT id, password_hash FROM users WHERE email = $1"
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(pool)
    .await)?;
    let Some(row) = row else {
        // Spend the same time as a real check so timing does not reveal which emails exist:
        // a real hash, made once, with the same parameters as users' hashes.
        let _ = passwords::verify(password.to_string(), dummy_hash().await).await;
        throttle.failed(email, client, app.now_ms());
        return Ok(None);
    };
    if !passwords::verify(password.to_string(), row.password_hash.clone()).await {
        throttle.failed(email, client, app.now_ms());
        return Ok(None);
    }
    throttle.succeeded(email);
    open(app, &row.id).await.map(Some)
}

/// An Argon2id hash of a random password, checked against for unknown emails.
async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            let password = crate::auth::tokens::random_alphanumeric(32);
            passwords::hash(password).await.unwrap_or_default()
        })
        .await
        .clone()
}

/// Opens a session for a user whose identity is already established (a checked password,
/// an accepted invitation); returns the cookie token.
pub async fn open(app: &App, user_id: &str) -> AuthResult<String> {
    let token = random_alphanumeric(43);
    let now = app.now_ms();
    on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(keyed_hash(app.secret_key(), &token))
    .bind(user_id)
    .bind(random_alphanumeric(32))
    .bind(now)
    .bind(now + SESSION_TTL_MS)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(token)
}

/// Checks a new password's rules (the same for new users and changes).
pub fn check_new_password(password: &str) -> AuthResult<()> {
    if password.chars().count() < 8 {
        return Err(AuthError::Invalid(
            "Passwords must be at least 8 characters.".into(),
        ));
    }
    if password.len() > 1024 {
        return Err(AuthError::Invalid(
            "Passwords must be at most 1024 bytes.".into(),
        ));
    }
    Ok(())
}

/// Changes a signed-in user's password after checking the current one, and ends every
/// other session of the user (the one making the change, `keep_token`, stays open).
pub async fn change_password(
    app: &App,
    user_id: &str,
    keep_token: &str,
    current: &str,
    new: &str,
) -> AuthResult<()> {
    let stored = on_db!(app.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT password_hash FROM users WHERE id = $1"
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await)?
    .ok_or(AuthError::NotFound("User"))?;
    if !passwords::verify(current.to_string(), stored).await {
        return Err(AuthError::Invalid(
            "The current password is not correct.".into(),
        ));
    }
    check_new_password(new)?;
    let hash = passwords::hash(new.to_string()).await?;
    let keep = keyed_hash(app.secret_key(), keep_token);
    on_db!(app.db(), |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(&keep)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })?;
    Ok(())
}

#[derive(FromRow)]
struct SessionRow {
    id: String,
    team_id: String,
    email: String,
    role: String,
    csrf_token: String,
}

pub async fn find(app: &App, token: &str) -> AuthResult<Option<Session>> {
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, SessionRow>(
        "SELECT u.id, u.team_id, u.email, u.role, s.csrf_token FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"
    )
    .bind(keyed_hash(app.secret_key(), token))
    .bind(app.now_ms())
    .fetch_optional(pool)
    .await)?;
    Ok(row.map(|r| Session {
        user: User {
            id: r.id,
            team_id: r.team_id,
            email: r.email,
            role: r.role,
        },
        csrf_token: r.csrf_token,
    }))
}

/// The statement ending every session of user `user_id` (a removed member is signed out at
/// once), to run in the caller's transaction.
pub fn end_all(user_id: &str) -> crate::store::sql::Stmt {
    crate::store::sql::Stmt::new("DELETE FROM sessions WHERE user_id = $1").text(user_id)
}

pub async fn logout(app: &App, token: &str) -> AuthResult<()> {
    on_db!(app.db(), |pool| sqlx::query(
        "DELETE FROM sessions WHERE token_hash = $1"
    )
    .bind(keyed_hash(app.secret_key(), token))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Issue 11 point 3: an unknown email costs a real Argon2id check. The first dummy was an
    /// invalid hash, refused at once (2 ms against 45 ms), which told which emails exist.
    #[tokio::test]
    async fn unknown_emails_are_checked_against_a_real_hash_of_the_users_parameters() {
        let dummy = super::dummy_hash().await;
        let user = super::passwords::hash("a user's password".into())
            .await
            .unwrap();
        let params = |hash: &str| hash.rsplitn(3, '$').nth(2).unwrap_or_default().to_string();
        assert!(dummy.starts_with("$argon2id$"), "{dummy}");
        assert_eq!(params(&dummy), params(&user), "same algorithm and cost");
        assert!(
            argon2::PasswordHash::new(&dummy).is_ok(),
            "a well-formed hash"
        );
        assert!(!super::passwords::verify("guess".into(), dummy).await);
    }
}
