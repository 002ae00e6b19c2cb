//! What other features read of a team's domains, one query each: the accept path's sender
//! check and the region of its delivery jobs, delivery's sending settings, the tracking host
//! of links, the feedback listener's return-path host, an API key's domain, the metrics'
//! domain names. The SQL of `domains` stays here and in the rest of this module.

use std::time::Duration;

use crate::handle::App;
use crate::on_db;
use crate::store::team_rows::Row;
use crate::ttl_map::TtlMap;

use super::DomainName;
use super::status::VERIFIED;

/// Whether the team may send from domain `name` (lower-case A-label): verified, with
/// sending enabled. Positive answers are kept for [`TTL`] (a steady stream of sends then
/// costs no query each); a negative one is not kept, so a newly verified domain works at
/// once. A domain that loses its verification, has sending disabled or is deleted is refused
/// at once on the node that changed it ([`forget`]) and within [`TTL`] on the others.
pub async fn sends_from(app: &App, team_id: &str, name: &str) -> sqlx::Result<bool> {
    let key = (team_id.to_string(), name.to_string());
    if SENDING.get(&key).is_some() {
        return Ok(true);
    }
    let row: Option<(String, String)> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT status, sending FROM domains WHERE team_id = $1 AND name = $2"
    )
    .bind(team_id)
    .bind(name)
    .fetch_optional(pool)
    .await)?;
    let sends = row.is_some_and(|(status, sending)| status == VERIFIED && sending == "enabled");
    if sends {
        SENDING.insert(key, ());
    }
    Ok(sends)
}

/// The region of the team's domain `name` (`None` when there is no such domain). A
/// domain's region is fixed at creation, so answers are kept for [`TTL`]: the accept path
/// asks for every email it stores, and a question answered from memory is one round trip
/// less while the write lock is held. A domain added, or deleted and added again in another
/// region, is seen at once on the node that did it ([`forget`]) and within [`TTL`] on the
/// others.
pub async fn region(app: &App, team_id: &str, name: &str) -> sqlx::Result<Option<String>> {
    let key = (team_id.to_string(), name.to_string());
    if let Some(region) = REGIONS.get(&key) {
        return Ok(region);
    }
    let region: Option<Option<String>> = on_db!(app.db(), |pool| sqlx::query_scalar(
        "SELECT region FROM domains WHERE team_id = $1 AND name = $2"
    )
    .bind(team_id)
    .bind(name)
    .fetch_optional(pool)
    .await)?;
    let region = region.flatten();
    REGIONS.insert(key, region.clone());
    Ok(region)
}

/// How long [`sends_from`] and [`region`] trust what they read.
const TTL: Duration = Duration::from_secs(10);

static REGIONS: TtlMap<(String, String), Option<String>> = TtlMap::new(TTL);
static SENDING: TtlMap<(String, String), ()> = TtlMap::new(TTL);

/// Forgets what [`sends_from`] and [`region`] keep of the team's domain `name`: it was
/// created, changed or deleted on this node.
pub fn forget(team_id: &str, name: &str) {
    let key = (team_id.to_string(), name.to_string());
    REGIONS.remove(&key);
    SENDING.remove(&key);
}

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

/// The base URL of links in mail sent from `domain` (tracking links, unsubscribe links):
/// `https://{tracking host}` when the domain has a tracking subdomain whose CNAME is
/// verified, else the public base URL.
pub async fn link_base(app: &App, team_id: &str, domain: &str) -> sqlx::Result<String> {
    Ok(match tracking_host(app, team_id, domain).await? {
        Some(host) => format!("https://{host}"),
        None => app.public_base_url(),
    })
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
