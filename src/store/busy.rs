//! How a SQLite connection waits for the write lock.
//!
//! SQLite has one writer at a time; a connection that finds the lock taken calls its busy
//! handler and tries again. SQLite's own handler (`sqlite3_busy_timeout`) sleeps 1, 2, 5,
//! 10, 15, 20, 25… ms between tries, so a write that meets another one, even one that holds
//! the lock for 300 µs, waits 1 ms at least and often 8 (1 + 2 + 5). Herald writes from
//! several connections (the accepted emails' group commit, the request log, delivery
//! outcomes, job claims), and with SQLite's handler those waits were the accept path's
//! latency: `strace` of `herald-bench accept` counted 575 such sleeps in 5 s (1.4 s asleep,
//! 2.4 ms each) in the connection that commits accepted emails. This handler tries again
//! after 25 µs, doubling up to 1 ms, for as long as SQLite's would have (10 s in all).

use std::ffi::{c_int, c_void};
use std::time::Duration;

use sqlx::sqlite::SqliteConnection;

/// The first wait, doubled on each try up to [`LONGEST`].
const FIRST: Duration = Duration::from_micros(25);
const LONGEST: Duration = Duration::from_millis(1);
/// Waiting ends with `SQLITE_BUSY` (`database is locked`) after about this long.
const GIVE_UP_AFTER: Duration = Duration::from_secs(10);

/// How long to wait before try `tries + 1`; `None` once [`GIVE_UP_AFTER`] has passed.
fn wait_before(tries: u32) -> Option<Duration> {
    let doubling = LONGEST.as_micros().div_ceil(FIRST.as_micros()).ilog2() + 1;
    let waited = if tries < doubling {
        FIRST * ((1 << tries) - 1)
    } else {
        FIRST * ((1 << doubling) - 1) + LONGEST * (tries - doubling)
    };
    (waited < GIVE_UP_AFTER).then(|| (FIRST * (1 << tries.min(doubling))).min(LONGEST))
}

/// SQLite's busy handler: non-zero means "try again".
unsafe extern "C" fn busy(_: *mut c_void, tries: c_int) -> c_int {
    match wait_before(u32::try_from(tries).unwrap_or(u32::MAX)) {
        Some(wait) => {
            std::thread::sleep(wait);
            1
        }
        None => 0,
    }
}

/// Makes `conn` wait for the write lock with [`busy`] (it replaces the busy timeout).
pub(super) async fn install(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    // SAFETY: `db` is this connection's open handle, held locked above for the call; the
    // handler takes no data pointer and touches nothing but the current thread.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_busy_handler(db.as_ptr(), Some(busy), std::ptr::null_mut())
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sqlx::Error::Configuration(
            format!("installing the SQLite busy handler failed ({rc})").into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    /// A write that finds the lock taken waits for it (SQLITE_BUSY without a handler), on
    /// the main pool and on a pool of its own as the delivery bookkeeping opens.
    #[tokio::test]
    async fn a_write_waits_for_another_connection_to_commit() {
        let dir = tempfile::tempdir().unwrap();
        let Db::Sqlite(pool) = Db::connect("", dir.path()).await.unwrap() else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (n INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        let other =
            crate::store::sqlite_pool(1).connect_lazy_with((*pool.connect_options()).clone());
        let mut holder = pool.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *holder)
            .await
            .unwrap();
        let waiting = tokio::spawn(async move {
            sqlx::query("INSERT INTO t VALUES (2)")
                .execute(&other)
                .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the second write did not wait");
        holder.commit().await.unwrap();
        waiting.await.unwrap().unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn waits_grow_from_25_us_to_1_ms_and_end_after_10_s() {
        assert_eq!(wait_before(0), Some(Duration::from_micros(25)));
        assert_eq!(wait_before(1), Some(Duration::from_micros(50)));
        assert_eq!(wait_before(5), Some(Duration::from_micros(800)));
        assert_eq!(wait_before(6), Some(Duration::from_millis(1)));
        assert_eq!(wait_before(1000), Some(Duration::from_millis(1)));
        let total: Duration = (0..).map_while(wait_before).sum();
        assert!(
            total >= GIVE_UP_AFTER && total < GIVE_UP_AFTER + Duration::from_millis(2),
            "{total:?}"
        );
    }
}
