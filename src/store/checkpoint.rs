//! When SQLite's write-ahead log is folded back into the database file (the checkpoint),
//! and on which thread.
//!
//! SQLite's automatic checkpoint (`wal_autocheckpoint`, 1000 pages) runs inside the commit
//! that takes the log past its size: that commit's caller copies the log into the database
//! file and fsyncs it before its `COMMIT` returns. For accepted emails that caller is the
//! group commit's writer (`emails::group_commit`), so every request queued behind it waited
//! for the copy too; at 500 KB one commit in seven did it, at 5 MB every one (the log's
//! 4 MB is less than one email), doubling the disk work done in the writer's turn.
//!
//! Here every pool connection gets a WAL hook instead (which replaces SQLite's automatic
//! checkpoint, whose size it keeps): after a commit leaves the log at or past that size,
//! the hook starts one checkpoint run on a thread of its own, on a connection of its own,
//! and returns. The run is a `PASSIVE` checkpoint, which copies what is committed without
//! taking the write lock, so commits go on meanwhile. A `PASSIVE` checkpoint beside a
//! stream of commits never leaves the log copied whole at the moment the next writer
//! starts, and only then does SQLite restart the log from its beginning: alone, it let the
//! log grow for as long as commits kept coming (storage doubled while running). So once
//! the log is past [`RESTART_FACTOR`] times the size, the run follows with a `RESTART`
//! checkpoint, which takes the write lock for the frames the `PASSIVE` one left (those
//! committed meanwhile) and makes the next writer start the log over.
//!
//! Durability does not change: a commit still fsyncs its log frames before it returns
//! (`synchronous = FULL`), and a crash before a checkpoint leaves them in the log, where
//! SQLite reads them on the next open as it always did.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

use libsqlite3_sys as ffi;
use parking_lot::Mutex;
use sqlx::sqlite::SqliteConnection;

/// The log is restarted (a `RESTART` checkpoint, under the write lock) once it holds this
/// many times the checkpoint size.
pub const RESTART_FACTOR: u32 = 4;

/// The checkpoints of one database file.
struct Checkpointer {
    path: CString,
    /// Pages of log that start a run (the connection's `wal_autocheckpoint`).
    pages: u32,
    /// A run is going on.
    running: AtomicBool,
    /// A commit asked for a run since the last one started.
    wanted: AtomicBool,
}

/// Every database file's checkpointer, made once per (file, size) and kept for the
/// process's life: connections' hooks point at them.
static CHECKPOINTERS: Mutex<Vec<&'static Checkpointer>> = Mutex::new(Vec::new());

fn checkpointer(path: &CStr, pages: u32) -> &'static Checkpointer {
    let mut all = CHECKPOINTERS.lock();
    if let Some(found) = all
        .iter()
        .find(|c| c.path.as_c_str() == path && c.pages == pages)
    {
        return found;
    }
    let made: &'static Checkpointer = Box::leak(Box::new(Checkpointer {
        path: path.to_owned(),
        pages,
        running: AtomicBool::new(false),
        wanted: AtomicBool::new(false),
    }));
    all.push(made);
    made
}

/// SQLite's WAL hook: called after each commit with the pages now in the log.
unsafe extern "C" fn after_commit(
    data: *mut c_void,
    _db: *mut ffi::sqlite3,
    _name: *const c_char,
    pages: c_int,
) -> c_int {
    // SAFETY: `data` is a `&'static Checkpointer` (see `install`).
    let checkpointer = unsafe { &*(data as *const Checkpointer) };
    if u32::try_from(pages).is_ok_and(|p| p >= checkpointer.pages) {
        checkpointer.start();
    }
    ffi::SQLITE_OK
}

impl Checkpointer {
    /// Starts a run, or asks the one going on for another when it is over (so the frames
    /// committed while it ran are not left waiting for a later commit).
    fn start(&'static self) {
        self.wanted.store(true, Ordering::SeqCst);
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    self.wanted.store(false, Ordering::SeqCst);
                    if let Err(rc) = self.run() {
                        tracing::warn!(code = rc, "SQLite checkpoint failed");
                    }
                    self.running.store(false, Ordering::SeqCst);
                    // A commit that found this run going on asked for another.
                    if !self.wanted.load(Ordering::SeqCst)
                        || self.running.swap(true, Ordering::SeqCst)
                    {
                        return;
                    }
                }
            });
        if spawned.is_err() {
            self.running.store(false, Ordering::SeqCst);
        }
    }

    /// One run: `PASSIVE`, then `RESTART` when the log has grown past its bound.
    fn run(&self) -> Result<(), c_int> {
        let conn = Connection::open(&self.path)?;
        let log = match conn.checkpoint(ffi::SQLITE_CHECKPOINT_PASSIVE) {
            Ok((log, _)) => log,
            // Another connection is checkpointing (one closing as the last of its file).
            Err(ffi::SQLITE_BUSY) => return Ok(()),
            Err(rc) => return Err(rc),
        };
        if log >= i64::from(self.pages) * i64::from(RESTART_FACTOR) {
            // Busy: a writer or a reader held on past `brief`'s wait; the next run tries again.
            match conn.checkpoint(ffi::SQLITE_CHECKPOINT_RESTART) {
                Ok(_) | Err(ffi::SQLITE_BUSY) => {}
                Err(rc) => return Err(rc),
            }
        }
        Ok(())
    }
}

/// How long a `RESTART` checkpoint waits for each lock it needs, in steps of [`STEP`]: the
/// write lock (a commit of a 5 MB email holds it for tens of milliseconds), then each reader
/// still on the log. It holds the write lock while it waits for readers, so the wait is short:
/// a long read (an export) must not hold up every writer; the run then ends busy and the next
/// one tries again.
const STEPS: c_int = 1000;
const STEP: std::time::Duration = std::time::Duration::from_micros(200);

/// The checkpoint connection's busy handler: non-zero means "try again".
unsafe extern "C" fn brief(_: *mut c_void, tries: c_int) -> c_int {
    if tries < STEPS {
        std::thread::sleep(STEP);
        1
    } else {
        0
    }
}

/// A connection of the checkpoint thread, closed when dropped.
struct Connection(*mut ffi::sqlite3);

impl Connection {
    fn open(path: &CStr) -> Result<Connection, c_int> {
        let mut db = std::ptr::null_mut();
        // SAFETY: `path` is NUL-terminated; `db` receives a handle (or NULL) that `Connection`
        // owns and closes, even when opening failed.
        let rc = unsafe {
            ffi::sqlite3_open_v2(
                path.as_ptr(),
                &mut db,
                ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX,
                std::ptr::null(),
            )
        };
        let conn = Connection(db);
        if rc != ffi::SQLITE_OK {
            return Err(rc);
        }
        // SAFETY: an open handle, used by this thread only.
        unsafe { ffi::sqlite3_busy_handler(db, Some(brief), std::ptr::null_mut()) };
        // A read opens the log (a fresh connection knows of it only once it has read).
        conn.exec(c"SELECT 1 FROM sqlite_schema LIMIT 1")?;
        Ok(conn)
    }

    fn exec(&self, sql: &CStr) -> Result<(), c_int> {
        // SAFETY: an open handle and a NUL-terminated statement, no callback.
        let rc = unsafe {
            ffi::sqlite3_exec(
                self.0,
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(rc)
        }
    }

    /// Pages in the log and pages of it now in the database file.
    fn checkpoint(&self, mode: c_int) -> Result<(i64, i64), c_int> {
        let (mut log, mut done) = (0, 0);
        // SAFETY: an open handle; NULL names every attached database (only `main` here).
        let rc = unsafe {
            ffi::sqlite3_wal_checkpoint_v2(self.0, std::ptr::null(), mode, &mut log, &mut done)
        };
        if rc == ffi::SQLITE_OK {
            Ok((i64::from(log), i64::from(done)))
        } else {
            Err(rc)
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: the handle this connection owns (NULL is allowed); nothing of it is left.
        unsafe { ffi::sqlite3_close(self.0) };
    }
}

/// Replaces `conn`'s automatic checkpoint with the hook above, at the same size. A
/// connection without automatic checkpoints, or to a database without a file (in memory),
/// is left as it is.
pub(super) async fn install(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let pages: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&mut *conn)
        .await?;
    let Ok(pages @ 1..) = u32::try_from(pages) else {
        return Ok(());
    };
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is this connection's open handle, held locked for these calls; the name
    // SQLite returns lives as long as the connection and is copied before it is released.
    let path = unsafe {
        let name = ffi::sqlite3_db_filename(db, c"main".as_ptr());
        if name.is_null() || *name == 0 {
            return Ok(());
        }
        CStr::from_ptr(name)
    };
    let checkpointer = checkpointer(path, pages);
    // SAFETY: as above; the hook's data is a `&'static Checkpointer`, never freed.
    unsafe {
        ffi::sqlite3_wal_hook(
            db,
            Some(after_commit),
            checkpointer as *const Checkpointer as *mut c_void,
        );
    }
    Ok(())
}

/// The checkpoint sizes hooked for the database at `path`.
#[cfg(test)]
pub(super) fn sizes(path: &std::path::Path) -> Vec<u32> {
    let path = CString::new(path.to_string_lossy().as_bytes()).expect("no NUL");
    CHECKPOINTERS
        .lock()
        .iter()
        .filter(|c| c.path == path)
        .map(|c| c.pages)
        .collect()
}

/// Whether a run is going on for the database at `path`.
#[cfg(test)]
fn running(path: &std::path::Path) -> bool {
    let path = CString::new(path.to_string_lossy().as_bytes()).expect("no NUL");
    CHECKPOINTERS
        .lock()
        .iter()
        .any(|c| c.path == path && c.running.load(Ordering::Acquire))
}

#[cfg(test)]
mod tests {
    use crate::store::Db;

    /// The log's size in bytes.
    fn log_bytes(dir: &std::path::Path) -> u64 {
        std::fs::metadata(dir.join("herald.db-wal")).map_or(0, |m| m.len())
    }

    /// Commits of 1 MB each, many more than the log's size, leave the log bounded (it is
    /// checkpointed and restarted beside the commits), and every row is in the database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_is_checkpointed_beside_commits_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let settings = crate::config::SqliteSettings {
            wal_autocheckpoint_pages: 100,
            ..Default::default()
        };
        let Db::Sqlite(pool) = Db::connect_with("", dir.path(), &settings).await.unwrap() else {
            unreachable!()
        };
        sqlx::query("CREATE TABLE t (n INTEGER, b BLOB)")
            .execute(&pool)
            .await
            .unwrap();
        let blob = vec![7u8; 1024 * 1024];
        let mut largest = 0;
        for n in 0..60 {
            sqlx::query("INSERT INTO t VALUES ($1, $2)")
                .bind(n)
                .bind(&blob)
                .execute(&pool)
                .await
                .unwrap();
            largest = largest.max(log_bytes(dir.path()));
        }
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t WHERE length(b) = 1048576")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 60);
        // 60 MB were committed: without checkpoints the log would hold all of it; it was
        // restarted along the way.
        assert!(
            largest < 40 * 1024 * 1024,
            "the log reached {largest} bytes"
        );
        // The last commit started a run; once it is over, the database file holds what was
        // committed (not only the log), and a checkpoint finds nothing left to copy.
        let file = dir.path().join("herald.db");
        while super::running(&file) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let size = std::fs::metadata(&file).unwrap().len();
        assert!(size > 60 * 1024 * 1024, "database file {size} bytes");
        let (busy, log, done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!((busy, log), (0, done));
    }
}
