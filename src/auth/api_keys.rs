//! API keys: Resend's `re_<8>_<24>` tokens, stored only as a keyed hash and shown once.
//! The API and the dashboard both go through these functions.

use serde::Serialize;
use sqlx::FromRow;

use super::error::{AuthError, AuthResult};
use super::tokens::{keyed_hash, random_alphanumeric};
use crate::clock::resend_timestamp;
use crate::handle::App;
use crate::on_db;
use crate::store::new_id;
use crate::store::page::{ListResponse, Page};
use crate::store::sql::Stmt;
use crate::ttl_map::TtlMap;

pub const MAX_NAME_LEN: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    FullAccess,
    SendingAccess,
}

impl Permission {
    pub fn parse(value: &str) -> AuthResult<Self> {
        match value {
            "full_access" => Ok(Self::FullAccess),
            "sending_access" => Ok(Self::SendingAccess),
            _ => Err(AuthError::InvalidAccess),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullAccess => "full_access",
            Self::SendingAccess => "sending_access",
        }
    }
}

/// A stored key, without its secret.
#[derive(Debug, Clone, FromRow)]
pub struct ApiKey {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub token_prefix: String,
    pub permission: String,
    pub domain_id: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub request_count: i64,
}

const COLUMNS: &str = "id, team_id, name, token_prefix, permission, domain_id, created_at, \
                       last_used_at, request_count";

/// How long a key look-up is trusted before the database is asked again. Deleting or
/// editing a key clears this node's cache at once; other nodes notice within this time.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// This node's keys looked up by token hash ([`authenticate`]), an `App` part.
pub struct KeyCache(TtlMap<String, AuthKey>);

impl Default for KeyCache {
    fn default() -> Self {
        Self(TtlMap::new(KEY_CACHE_TTL))
    }
}

impl App {
    pub fn cached_key(&self, hash: &str) -> Option<AuthKey> {
        self.part::<KeyCache>().0.get(hash)
    }
    pub fn cache_key(&self, hash: String, key: AuthKey) {
        self.part::<KeyCache>().0.insert(hash, key);
    }
    pub fn forget_cached_keys(&self) {
        self.part::<KeyCache>().0.clear();
    }
}

/// The key a request authenticated with.
#[derive(Debug, Clone)]
pub struct AuthKey {
    pub id: String,
    pub team_id: String,
    pub permission: Permission,
    /// Set on sending keys restricted to one domain: the domain's name.
    pub domain_name: Option<String>,
}

/// What a key list row shows in the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ApiKey)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub permission: String,
    pub domain_id: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            permission: k.permission.clone(),
            domain_id: k.domain_id.clone(),
            created_at: resend_timestamp(k.created_at),
            last_used_at: k.last_used_at.map(resend_timestamp),
        }
    }
}

/// Fields a caller may set; `None` leaves a field alone on update.
#[derive(Debug, Default, Clone)]
pub struct KeyInput {
    pub name: Option<String>,
    pub permission: Option<String>,
    /// `Some(None)` clears the domain restriction.
    pub domain_id: Option<Option<String>>,
}

pub fn generate_token() -> String {
    format!("re_{}_{}", random_alphanumeric(8), random_alphanumeric(24))
}

fn hash_token(app: &App, token: &str) -> String {
    keyed_hash(app.secret_key(), token)
}

fn validate_name(name: &str) -> AuthResult<String> {
    Ok(crate::fields::required_name(Some(name), MAX_NAME_LEN)?.to_string())
}

/// Checks that `domain_id` names a domain of the team and fits the permission.
async fn validate_domain(
    app: &App,
    team_id: &str,
    permission: Permission,
    domain_id: Option<&str>,
) -> AuthResult<()> {
    let Some(domain_id) = domain_id else {
        return Ok(());
    };
    if permission != Permission::SendingAccess {
        return Err(AuthError::Invalid(
            "The `domain_id` field can only be used with `sending_access` permission.".into(),
        ));
    }
    if !crate::domains::reads::exists(app, team_id, domain_id).await? {
        return Err(AuthError::NotFound("Domain"));
    }
    Ok(())
}

/// Creates a key and returns it with its token, which is never available again.
pub async fn create(app: &App, team_id: &str, input: KeyInput) -> AuthResult<(ApiKey, String)> {
    let name = validate_name(input.name.as_deref().unwrap_or(""))?;
    let permission = Permission::parse(input.permission.as_deref().unwrap_or("full_access"))?;
    let domain_id = input.domain_id.flatten().filter(|d| !d.is_empty());
    validate_domain(app, team_id, permission, domain_id.as_deref()).await?;

    let token = generate_token();
    let key = ApiKey {
        id: new_id(),
        team_id: team_id.to_string(),
        name,
        token_prefix: token[..11].to_string(),
        permission: permission.as_str().to_string(),
        domain_id,
        created_at: app.now_ms(),
        last_used_at: None,
        request_count: 0,
    };
    let hash = hash_token(app, &token);
    on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO api_keys (id, team_id, name, token_hash, token_prefix, permission, domain_id, \
         created_at, request_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)"
    )
    .bind(&key.id)
    .bind(&key.team_id)
    .bind(&key.name)
    .bind(&hash)
    .bind(&key.token_prefix)
    .bind(&key.permission)
    .bind(&key.domain_id)
    .bind(key.created_at)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((key, token))
}

pub async fn list(app: &App, team_id: &str, page: &Page) -> AuthResult<ListResponse<ApiKey>> {
    Ok(crate::store::team_rows::list(app.db(), ("api_keys", COLUMNS), team_id, page).await?)
}

pub async fn get(app: &App, team_id: &str, id: &str) -> AuthResult<ApiKey> {
    crate::store::team_rows::find(app.db(), ("api_keys", COLUMNS), team_id, id)
        .await?
        .ok_or(AuthError::NotFound("API key"))
}

pub async fn update(app: &App, team_id: &str, id: &str, input: KeyInput) -> AuthResult<ApiKey> {
    let mut key = get(app, team_id, id).await?;
    if let Some(name) = &input.name {
        key.name = validate_name(name)?;
    }
    if let Some(permission) = &input.permission {
        key.permission = Permission::parse(permission)?.as_str().to_string();
    }
    if let Some(domain_id) = input.domain_id {
        key.domain_id = domain_id.filter(|d| !d.is_empty());
    }
    let permission = Permission::parse(&key.permission)?;
    if permission == Permission::FullAccess {
        key.domain_id = None;
    }
    validate_domain(app, team_id, permission, key.domain_id.as_deref()).await?;
    on_db!(app.db(), |pool| {
        sqlx::query(
        "UPDATE api_keys SET name = $3, permission = $4, domain_id = $5 WHERE id = $1 AND team_id = $2"
    )
    .bind(&key.id)
    .bind(team_id)
    .bind(&key.name)
    .bind(&key.permission)
    .bind(&key.domain_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    app.forget_cached_keys();
    Ok(key)
}

pub async fn delete(app: &App, team_id: &str, id: &str) -> AuthResult<()> {
    if !crate::store::team_rows::delete(app.db(), "api_keys", team_id, id).await? {
        return Err(AuthError::NotFound("API key"));
    }
    app.forget_cached_keys();
    Ok(())
}

#[derive(FromRow)]
struct AuthRow {
    id: String,
    team_id: String,
    permission: String,
    domain_name: Option<String>,
}

/// The statement adding `count` requests, the last at `last`, to key `key_id`'s usage (the
/// request log writer runs it with each batch).
pub fn usage(key_id: &str, count: i64, last: i64) -> Stmt {
    Stmt::new(
        "UPDATE api_keys SET request_count = request_count + $2, last_used_at = \
         CASE WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 ELSE last_used_at END \
         WHERE id = $1",
    )
    .text(key_id)
    .int(count)
    .int(last)
}

/// The statement deleting the team's keys restricted to domain `domain_id` (with the domain,
/// in its transaction: without the restriction they could send from every domain).
pub fn delete_for_domain(team_id: &str, domain_id: &str) -> Stmt {
    Stmt::new("DELETE FROM api_keys WHERE domain_id = $1 AND team_id = $2")
        .text(domain_id)
        .text(team_id)
}

/// Looks a bearer token up (joining `domains` for a restricted key's domain name). `None`
/// when no key has this token.
pub async fn authenticate(app: &App, token: &str) -> AuthResult<Option<AuthKey>> {
    let hash = hash_token(app, token);
    if let Some(hit) = app.cached_key(&hash) {
        return Ok(Some(hit));
    }
    let row = on_db!(app.db(), |pool| sqlx::query_as::<_, AuthRow>(
        "SELECT k.id, k.team_id, k.permission, d.name AS domain_name FROM api_keys k \
         LEFT JOIN domains d ON d.id = k.domain_id WHERE k.token_hash = $1"
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await)?;
    let Some(row) = row else { return Ok(None) };
    let key = AuthKey {
        id: row.id,
        team_id: row.team_id,
        permission: Permission::parse(&row.permission)?,
        domain_name: row.domain_name,
    };
    app.cache_key(hash, key.clone());
    Ok(Some(key))
}
