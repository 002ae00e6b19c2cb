//! Delivery: from a queued email to the recipients' mail servers, every outcome recorded.
//!
//! - [`job`] is the `deliver_email` job: it loads the email, skips recipients already
//!   done, checks the suppression list, builds the message once ([`mime`]), signs it
//!   ([`dkim`]), sends one envelope per recipient domain ([`route`] finds the MX hosts,
//!   [`client`] speaks SMTP; or everything goes to the [`relay`]) with a VERP return path
//!   ([`verp`]), and records the outcomes ([`record`]);
//! - [`Engine`] holds what deliveries share on a node: the DNS resolver, the connection
//!   pool, the relay, and the sending domains' parsed DKIM keys.

pub mod client;
pub mod dkim;
pub mod job;
pub mod mime;
pub mod record;
pub mod relay;
pub mod route;
pub mod verp;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::Settings;
use crate::domains::dkim_keys;
use crate::domains::dns::Dns;
use crate::handle::App;
use crate::store::Db;
use crate::ttl_map::TtlMap;

/// How much email content a node's deliveries hold at once (`delivery.memory_mb`), so that
/// memory does not grow with `concurrency` times the size of what is queued.
pub struct MemoryBudget {
    permits: Semaphore,
    /// The whole budget, in KiB (one permit each).
    kib: u32,
}

impl MemoryBudget {
    pub fn new(megabytes: usize) -> MemoryBudget {
        let kib = megabytes
            .saturating_mul(1024)
            .clamp(1, u32::MAX as usize / 2) as u32;
        MemoryBudget {
            permits: Semaphore::new(kib as usize),
            kib,
        }
    }

    /// Waits until a delivery of an email with `content_bytes` of content fits, and holds its
    /// share until the permit is dropped. A delivery holds its email's content about twice at
    /// its peak (the parts, and the encoded message they are written into), so that is what
    /// it takes; an email larger than the whole budget takes all of it and is delivered
    /// alone. Waiters are served in order, so a large email is not starved by small ones.
    pub async fn hold(&self, content_bytes: u64) -> SemaphorePermit<'_> {
        let kib = (content_bytes.saturating_mul(2) / 1024).clamp(1, self.kib as u64);
        self.permits
            .acquire_many(kib as u32)
            .await
            .expect("the delivery memory budget is never closed")
    }
}

/// How long a sending domain's settings and key are reused before being read again.
const DOMAIN_TTL: Duration = Duration::from_secs(30);

/// A sending domain as delivery needs it.
pub struct SendingDomain {
    pub id: String,
    pub name: String,
    /// `opportunistic` or `enforced`.
    pub tls: String,
    /// The return-path host: `<custom_return_path>.<name>`.
    pub return_domain: String,
    /// `None` when the domain has no key (only domains inserted by hand, in tests).
    pub signer: Option<Arc<dkim::Signer>>,
    /// Tracking wanted by the domain (see [`crate::tracking`]).
    pub open_tracking: bool,
    pub click_tracking: bool,
}

fn bookkeeping_db(db: &Db) -> Db {
    match db {
        Db::Postgres(pool) => Db::Postgres(pool.clone()),
        Db::Sqlite(pool) => {
            let options = (*pool.connect_options())
                .clone()
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal);
            // One connection: these writes take turns here rather than polling for the
            // write lock in SQLite's busy handler.
            Db::Sqlite(crate::store::sqlite_pool(1).connect_lazy_with(options))
        }
    }
}

/// Sending domains by (team, name).
type DomainCache = TtlMap<(String, String), Arc<SendingDomain>>;

pub struct Engine {
    /// See [`Engine::bookkeeping`].
    bookkeeping: Db,
    pub dns: Dns,
    pub pool: client::Pool,
    pub relay: Option<relay::Relay>,
    pub recorder: record::Recorder,
    /// Deliveries' reads, grouped ([`job::Loads`]).
    pub loads: job::Loads,
    domains: DomainCache,
    /// The memory budget (`delivery.memory_mb`).
    pub memory: MemoryBudget,
}

impl App {
    /// What deliveries share: DNS, SMTP connections, sending domains' keys.
    pub fn delivery(&self) -> &Engine {
        self.part()
    }
}

impl Engine {
    pub fn new(settings: &Settings, db: &Db) -> anyhow::Result<Engine> {
        Ok(Engine {
            bookkeeping: bookkeeping_db(db),
            dns: Dns::cached_from_settings(settings)?,
            pool: client::Pool::new(&settings.delivery)?,
            relay: relay::parse(&settings.relay)?,
            recorder: record::Recorder::default(),
            loads: job::Loads::default(),
            domains: TtlMap::new(DOMAIN_TTL),
            memory: MemoryBudget::new(settings.delivery.memory_mb),
        })
    }

    /// The database handle for job claims and completions and delivery outcomes.
    ///
    /// On SQLite it is a connection of its own that commits without waiting for an fsync
    /// (`synchronous = NORMAL`). These writes only say what was done: after a crash of the
    /// process they are all there (WAL), and after a power loss the last few may be lost,
    /// which makes a job run again (a duplicate delivery at worst, never a lost email).
    /// Accepted emails still commit with `synchronous = FULL` on the main pool, and each
    /// such commit also makes every earlier write durable. Without this, every claim and
    /// outcome would wait for the disk as long as an accepted email does, and the accept
    /// path would queue behind them for SQLite's single write lock. On PostgreSQL it is
    /// the main pool.
    pub fn bookkeeping(&self) -> &Db {
        &self.bookkeeping
    }

    /// Drops the cached settings of the team's domain `name`, after a change to them.
    pub fn forget_domain(&self, team_id: &str, name: &str) {
        self.domains
            .remove(&(team_id.to_string(), name.to_string()));
    }

    /// The team's domain `name` (lower-case A-label), with its parsed DKIM key; `None` when
    /// the team has no such domain (it was deleted after the email was accepted).
    pub async fn sending_domain(
        &self,
        app: &App,
        team_id: &str,
        name: &str,
    ) -> anyhow::Result<Option<Arc<SendingDomain>>> {
        let key = (team_id.to_string(), name.to_string());
        if let Some(domain) = self.domains.get(&key) {
            return Ok(Some(domain));
        }
        type Row = (String, String, String, String, String, bool, bool);
        let row: Option<Row> = crate::domains::reads::sending(app, team_id, name).await?;
        let Some((id, tls, return_path, selector, sealed, open_tracking, click_tracking)) = row
        else {
            return Ok(None);
        };
        let signer = if sealed.is_empty() {
            None
        } else {
            let secret = dkim_keys::encryption_key(app.settings())?;
            let private_key = dkim_keys::open(&secret, &sealed, &id)?;
            Some(Arc::new(dkim::Signer::new(name, &selector, &private_key)?))
        };
        let domain = Arc::new(SendingDomain {
            id,
            name: name.to_string(),
            tls,
            return_domain: format!("{return_path}.{name}"),
            signer,
            open_tracking,
            click_tracking,
        });
        self.domains.insert(key, domain.clone());
        Ok(Some(domain))
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryBudget;

    #[tokio::test]
    async fn memory_budget_bounds_what_deliveries_hold_at_once() {
        let budget = MemoryBudget::new(1); // 1024 KiB
        let small = budget.hold(10 * 1024).await; // 20 KiB
        let half = budget.hold(400 * 1024).await; // 800 KiB
        // 300 KiB (600 held) does not fit beside the 820 held: it waits.
        let waiting = budget.hold(300 * 1024);
        tokio::pin!(waiting);
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        drop(half);
        let third = waiting.await;
        // Larger than the whole budget: waits for all of it, then runs alone.
        let huge = budget.hold(50 * 1024 * 1024);
        tokio::pin!(huge);
        assert!(futures::poll!(huge.as_mut()).is_pending());
        drop((small, third));
        let alone = huge.await;
        assert_eq!(budget.permits.available_permits(), 0);
        drop(alone);
        assert_eq!(budget.permits.available_permits(), 1024);
    }
}
