//! Teams and the first start: an empty database gets a team, an admin user with a random
//! password and a full-access API key, printed once.

use crate::auth::AuthResult;
use crate::auth::api_keys::{self, KeyInput};
use crate::auth::sessions::{self, Role};
use crate::auth::tokens::random_alphanumeric;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::team_rows::Row;

pub const FIRST_ADMIN_EMAIL: &str = "admin@herald.local";

/// What the first start created; the secrets exist only here.
#[derive(Debug, Clone)]
pub struct FirstStart {
    pub team_id: String,
    pub admin_email: String,
    pub admin_password: String,
    pub api_key: String,
}

pub async fn create_team(app: &App, name: &str) -> sqlx::Result<String> {
    let id = new_id();
    on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)"
    )
    .bind(&id)
    .bind(name)
    .bind(app.now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(id)
}

/// A team's display name.
pub async fn name(app: &App, team_id: &str) -> sqlx::Result<String> {
    Ok(on_db!(app.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT name FROM teams WHERE id = $1"
    )
    .bind(team_id)
    .fetch_optional(pool)
    .await)?
    .unwrap_or_default())
}

/// The team's name with its saved branding (`team_name`, then `team_branding`'s `name`,
/// `logo_url`, `accent_color`, `footer_text`, each NULL when nothing was saved) in one
/// query, read into the caller's row type; `None` when there is no such team.
pub async fn with_branding<T: Row>(app: &App, team_id: &str) -> sqlx::Result<Option<T>> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, T>(
        "SELECT t.name AS team_name, b.name, b.logo_url, b.accent_color, b.footer_text \
         FROM teams t LEFT JOIN team_branding b ON b.team_id = t.id WHERE t.id = $1"
    )
    .bind(team_id)
    .fetch_optional(pool)
    .await)
}

/// The statement that takes the team's row lock (an `UPDATE` that changes nothing), to run
/// first in the caller's transaction: `auth::members` serialises membership changes with it.
pub fn lock(team_id: &str) -> crate::store::sql::Stmt {
    crate::store::sql::Stmt::new("UPDATE teams SET name = name WHERE id = $1").text(team_id)
}

/// The instance's secret (hex): `fresh` when none was stored yet, else the stored one (several
/// nodes starting at once keep the first one stored).
pub async fn instance_secret(db: &crate::store::Db, fresh: &str) -> sqlx::Result<String> {
    on_db!(db, |pool| {
        sqlx::query(
            "INSERT INTO instance_settings (key, value) VALUES ('secret_key', $1) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(fresh)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
    })?;
    on_db!(db, |pool| sqlx::query_scalar(
        "SELECT value FROM instance_settings WHERE key = 'secret_key'"
    )
    .fetch_one(pool)
    .await)
}

pub async fn first_team_id(app: &App) -> sqlx::Result<Option<String>> {
    on_db!(app.db(), |pool| sqlx::query_scalar::<_, String>(
        "SELECT id FROM teams ORDER BY created_at, id LIMIT 1"
    )
    .fetch_optional(pool)
    .await)
}

/// Creates the first team, admin and key when the database has no team yet.
/// Several nodes may start at once on PostgreSQL: the instance-settings row acts as the lock.
pub async fn bootstrap(app: &App) -> AuthResult<Option<FirstStart>> {
    let claimed = on_db!(app.db(), |pool| {
        sqlx::query(
        "INSERT INTO instance_settings (key, value) VALUES ('bootstrapped', $1) ON CONFLICT (key) DO NOTHING"
    )
    .bind(app.now_ms().to_string())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    if claimed == 0 {
        return Ok(None);
    }
    let team_id = create_team(app, "My team").await?;
    let admin_password = random_alphanumeric(20);
    sessions::create_user(
        app,
        &team_id,
        FIRST_ADMIN_EMAIL,
        &admin_password,
        Role::Admin,
    )
    .await?;
    let (_, api_key) = api_keys::create(
        app,
        &team_id,
        KeyInput {
            name: Some("Default key".into()),
            permission: Some("full_access".into()),
            domain_id: None,
        },
    )
    .await?;
    Ok(Some(FirstStart {
        team_id,
        admin_email: FIRST_ADMIN_EMAIL.into(),
        admin_password,
        api_key,
    }))
}
