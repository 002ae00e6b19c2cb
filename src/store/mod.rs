//! Storage: one code path for SQLite (default, embedded) and PostgreSQL (several nodes).
//!
//! Queries are written once, in portable SQL with `$1…$n` placeholders, and run on either
//! pool through [`on_db!`]: the body is compiled once per backend, so types are checked for
//! both. Only where the dialects differ (row locking on job claims) does code branch.
//! Portable rules: ids are TEXT (UUID strings), times are BIGINT epoch milliseconds bound
//! from the app's clock, JSON is TEXT, booleans are BOOLEAN.

mod busy;
mod checkpoint;
pub mod group;
pub mod in_doubt;
pub mod page;
pub mod sql;
pub mod team_rows;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;

use crate::config::SqliteSettings;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs the same expression against whichever pool backs `db`.
/// Inside the body, `$pool` is a `&SqlitePool` or a `&PgPool`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Creates `path` empty with mode 0600 when it does not exist, and narrows it to 0600 when it
/// does: the database holds the instance secret and every team's data.
fn private_file(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    Ok(())
}

impl Db {
    /// Whether the database answers a trivial query now (within the pool's acquire timeout).
    pub async fn answers(&self) -> bool {
        on_db!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .is_ok())
    }

    /// Opens the database `database_url` names, or SQLite in `data_dir` when it is empty,
    /// with the default `[sqlite]` settings.
    pub async fn connect(database_url: &str, data_dir: &Path) -> anyhow::Result<Db> {
        Self::connect_with(database_url, data_dir, &SqliteSettings::default()).await
    }

    /// [`Db::connect`] with SQLite's memory and checkpoint settings (`[sqlite]`).
    pub async fn connect_with(
        database_url: &str,
        data_dir: &Path,
        sqlite: &SqliteSettings,
    ) -> anyhow::Result<Db> {
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(database_url)
                .context("parsing the PostgreSQL URL")?
                .application_name("herald");
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                // A connection's read and write buffers grow to the largest message it ever
                // carried (a 13 MB attachment is one `Bind` message) and keep that size:
                // with 16 connections, a few large emails would stay in memory for good.
                // Back to their default size when the connection goes back to the pool (a
                // no-op for buffers that did not grow).
                .after_release(|conn, _| {
                    Box::pin(async move {
                        sqlx::Connection::shrink_buffers(conn);
                        Ok(true)
                    })
                })
                .connect_with(options)
                .await
                .context("connecting to PostgreSQL")?;
            return Ok(Db::Postgres(pool));
        }
        let options = if database_url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(database_url).context("parsing the SQLite URL")?
        } else {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
            let path = data_dir.join("herald.db");
            private_file(&path)?;
            SqliteConnectOptions::new().filename(path)
        };
        // WAL lets readers run beside the single writer; FULL makes every commit durable
        // (an accepted email survives power loss, not only a crash).
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // Pools from `sqlite_pool` replace this with `busy`'s handler (the same 10 s);
            // it stays for a connection opened from these options outside a pool.
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Negative: a size in KiB rather than in pages.
            .pragma("cache_size", format!("-{}", sqlite.cache_size_mb * 1024))
            .pragma("mmap_size", (sqlite.mmap_size_mb * 1024 * 1024).to_string());
        let options = match sqlite.wal_autocheckpoint_pages {
            0 => options,
            pages => options.pragma("wal_autocheckpoint", pages.to_string()),
        };
        let pool = sqlite_pool(8)
            .connect_with(options)
            .await
            .context("opening the SQLite database")?;
        Ok(Db::Sqlite(pool))
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        on_db!(self, |pool| pool.close().await)
    }
}

/// Opens a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`: a deferred
/// transaction that reads first and writes later fails with "database is locked" when another
/// connection committed in between, whatever the busy timeout. PostgreSQL needs no such care.
#[allow(async_fn_in_trait)]
pub trait BeginWrite {
    type Database: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Opens a read transaction for keyset pages (`WHERE key > $cursor ORDER BY key LIMIT n`)
/// that PostgreSQL must read along the index. With statistics older than a bulk insert (a
/// fresh import, before autovacuum analysed it) its planner estimated a few hundred rows and
/// chose a bitmap scan of the whole rest of the range plus a sort: each page then cost time
/// in proportion to what was left (42 ms at 100k rows left, against 0.6 ms along the index),
/// which made a broadcast's fan-out quadratic. Bitmap scans are off inside this transaction;
/// SQLite plans keyset reads along the index anyway.
#[allow(async_fn_in_trait)]
pub trait BeginKeyRange {
    type Database: sqlx::Database;
    async fn begin_key_range(
        &self,
    ) -> Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>;
}

impl BeginKeyRange for SqlitePool {
    type Database = sqlx::Sqlite;
    async fn begin_key_range(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin().await
    }
}

impl BeginKeyRange for PgPool {
    type Database = sqlx::Postgres;
    async fn begin_key_range(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        let mut tx = self.begin().await?;
        sqlx::query("SET LOCAL enable_bitmapscan = off")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// Options of every SQLite pool Herald opens: at most `max_connections`, each connection
/// waiting for SQLite's write lock with [`busy::install`]'s short steps instead of SQLite's
/// own sleeps of 1, 2, 5, 10… ms, and leaving the log's checkpoints to a thread of their
/// own instead of running them inside its commits ([`checkpoint`]).
pub fn sqlite_pool(max_connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        // A ping before each use is a hand-over to the connection's thread and back; an
        // in-process SQLite connection has no network to lose.
        .test_before_acquire(false)
        .after_connect(|conn, _| {
            Box::pin(async move {
                busy::install(conn).await?;
                checkpoint::install(conn).await
            })
        })
}

/// A new time-ordered id (UUID v7, hyphenated): keyset pagination and B-tree inserts
/// follow creation order.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn stems(dir: &str) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .expect("migrations dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
            .collect()
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let root = env!("CARGO_MANIFEST_DIR");
        assert_eq!(
            stems(&format!("{root}/migrations/sqlite")),
            stems(&format!("{root}/migrations/postgres"))
        );
    }

    /// `[sqlite]` reaches every connection, also a pool opened from the main pool's options
    /// (as the delivery bookkeeping's is).
    #[tokio::test]
    async fn sqlite_settings_apply_to_every_connection() {
        use super::{Db, SqliteSettings, sqlite_pool};
        let dir = tempfile::tempdir().unwrap();
        let settings = SqliteSettings {
            mmap_size_mb: 3,
            cache_size_mb: 5,
            wal_autocheckpoint_pages: 4321,
        };
        let Db::Sqlite(pool) = Db::connect_with("", dir.path(), &settings).await.unwrap() else {
            unreachable!()
        };
        let other = sqlite_pool(1).connect_lazy_with((*pool.connect_options()).clone());
        for pool in [&pool, &other] {
            let pragma = async |sql: &'static str| -> i64 {
                sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
            };
            assert_eq!(pragma("PRAGMA mmap_size").await, 3 * 1024 * 1024);
            assert_eq!(pragma("PRAGMA cache_size").await, -5 * 1024);
            // SQLite's automatic checkpoint is replaced by `checkpoint`'s hook, at its size.
            assert_eq!(pragma("PRAGMA wal_autocheckpoint").await, 0);
            assert_eq!(
                pragma("PRAGMA synchronous").await,
                2,
                "FULL stays whatever the settings"
            );
        }
        assert_eq!(
            super::checkpoint::sizes(&dir.path().join("herald.db")),
            vec![4321]
        );
    }
}
