//! What other features read of a team's domains, one query each: the accept path's sender
//! check and the region of its delivery jobs, delivery's sending settings, the tracking host
//! of links, the feedback listener's return-path host, an API key's domain, the metrics'
//! domain names. The SQL of `domains` stays here and in the rest of this module.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::app::App;
use crate::on_db;
use crate::store::team_rows::Row;

use super::DomainName;
use super::status::VERIFIED;

/// Whether the team may send from domain `name` (lower-case A-label): verified, with
/// sending enabled.
pub async fn sends_from(app: &App, team_id: &str, name: &str) -> sqlx::Result<bool> {
    let row: Option<(String, String)> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT status, sending FROM domains WHERE team_id = $1 AND name = $2"
    )
    .bind(team_id)
    .bind(name)
    .fetch_optional(pool)
    .await)?;
    Ok(row.is_some_and(|(status, sending)| status == VERIFIED && sending == "enabled"))
}

/// The region of the team's domain `name` (`None` when there is no such domain). A
/// domain's region is fixed at creation, so answers are kept for [`REGION_TTL`]: the accept
/// path asks for every email it stores, and a question answered from memory is one round
/// trip less while the write lock is held. A domain deleted and added again in another region
/// is seen within that time.
pub async fn region(app: &App, team_id: &str, name: &str) -> sqlx::Result<Option<String>> {
    type Regions = HashMap<(String, String), (Instant, Option<String>)>;
    static REGIONS: Mutex<Option<Regions>> = Mutex::new(None);
    let key = (team_id.to_string(), name.to_string());
    if let Some((seen, region)) = REGIONS.lock().as_ref().and_then(|m| m.get(&key))
        && seen.elapsed() < REGION_TTL
    {
        return Ok(region.clone());
    }
    let region: Option<Option<String>> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT region FROM domains WHERE team_id = $1 AND name = $2"
    )
    .bind(team_id)
    .bind(name)
    .fetch_optional(pool)
    .await)?;
    let region = region.flatten();
    let mut cache = REGIONS.lock();
    let map = cache.get_or_insert_with(HashMap::new);
    if map.len() > 10_000 {
        map.clear();
    }
    map.insert(key, (Instant::now(), region.clone()));
    Ok(region)
}

/// How long a domain's region is kept in memory (see [`region`]).
const REGION_TTL: Duration = Duration::from_secs(10);

/// What delivery needs of the team's domain `name`, read into the caller's row type: `id,
/// tls, custom_return_path, dkim_selector, dkim_private_key, open_tracking, click_tracking`.
pub async fn sending<T: Row>(app: &App, team_id: &str, name: &str) -> sqlx::Result<Option<T>> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, T>(
        "SELECT id, tls, custom_return_path, dkim_selector, dkim_private_key, \
             open_tracking, click_tracking FROM domains WHERE team_id = $1 AND name = $2"
    )
    .bind(team_id)
    .bind(name)
    .fetch_optional(pool)
    .await)
}

/// The tracking host of the team's domain `name` (`{subdomain}.{name}`) when it has a
/// tracking subdomain whose CNAME is verified.
pub async fn tracking_host(app: &App, team_id: &str, name: &str) -> sqlx::Result<Option<String>> {
    let row: Option<(Option<String>, Option<String>)> = on_db!(app.db(), |pool| {
        sqlx::query_as(
            "SELECT d.tracking_subdomain, r.status FROM domains d LEFT JOIN domain_records r \
             ON r.domain_id = d.id AND r.kind = 'tracking' WHERE d.team_id = $1 AND d.name = $2",
        )
        .bind(team_id)
        .bind(name)
        .fetch_optional(pool)
        .await
    })?;
    Ok(match row {
        Some((Some(sub), Some(status))) if status == VERIFIED => Some(format!("{sub}.{name}")),
        _ => None,
    })
}

/// The domain (id, team) whose return-path host (`{custom_return_path}.{name}`) is `host`
/// (lower-case).
pub async fn by_return_path_host(app: &App, host: &str) -> sqlx::Result<Option<(String, String)>> {
    on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT id, team_id FROM domains WHERE LOWER(custom_return_path || '.' || name) = $1"
    )
    .bind(host)
    .fetch_optional(pool)
    .await)
}

/// Whether the team has the domain `id`.
pub async fn exists(app: &App, team_id: &str, id: &str) -> sqlx::Result<bool> {
    let found: Option<String> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT id FROM domains WHERE id = $1 AND team_id = $2"
    )
    .bind(id)
    .bind(team_id)
    .fetch_optional(pool)
    .await)?;
    Ok(found.is_some())
}

/// The team's domains, by name.
pub async fn names(app: &App, team_id: &str) -> sqlx::Result<Vec<DomainName>> {
    on_db!(app.db(), |pool| sqlx::query_as::<_, DomainName>(
        "SELECT id, name FROM domains WHERE team_id = $1 ORDER BY name, id"
    )
    .bind(team_id)
    .fetch_all(pool)
    .await)
}
