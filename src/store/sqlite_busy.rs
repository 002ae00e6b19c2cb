//! How a SQLite connection waits for the write lock.
//!
//! SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20, 25… ms between tries. Herald's writers
//! hold the lock for about one commit (a millisecond or two), so a writer that arrives just
//! after another one starts would sleep far longer than the lock is held, and tries are not
//! first come, first served: under load a request could sleep tens of milliseconds while the
//! lock sat free. This handler retries every 100 µs for the first 20 ms, then every
//! millisecond, and gives up ("database is locked") after about ten seconds like before.

use std::ffi::{c_int, c_void};
use std::time::Duration;

use sqlx::SqliteConnection;

/// Tries at the short interval before switching to the long one.
const SHORT_TRIES: c_int = 200;
const SHORT: Duration = Duration::from_micros(100);
const LONG: Duration = Duration::from_millis(1);
/// About ten seconds in all.
const MAX_TRIES: c_int = SHORT_TRIES + 9_980;

/// Called by SQLite on the connection's own thread (sqlx runs each SQLite connection on a
/// worker thread), so sleeping here blocks no async task.
extern "C" fn wait_for_lock(_: *mut c_void, tries: c_int) -> c_int {
    if tries >= MAX_TRIES {
        return 0;
    }
    std::thread::sleep(if tries < SHORT_TRIES { SHORT } else { LONG });
    1
}

pub async fn install(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, locked for the call; the handler is a
    // plain function that touches no shared state, and replaces the busy timeout sqlx set.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_busy_handler(db, Some(wait_for_lock), std::ptr::null_mut())
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sqlx::Error::Protocol(format!(
            "sqlite3_busy_handler failed ({rc})"
        )));
    }
    Ok(())
}
