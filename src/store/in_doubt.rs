//! Commits whose answer was lost (PostgreSQL).
//!
//! A `COMMIT` can take effect on the server while its answer never reaches Herald: the
//! connection is cut, or the server is told to stop (`pg_ctl -m fast stop`, a failover) just
//! after it wrote the commit record, and the backend's last words are "terminating connection
//! due to administrator command" instead of `COMMIT`. Answering such a request 503 would be
//! wrong when the rows are stored: the email would be delivered although the client was told
//! it was not accepted, and sent twice if the client retries. So when the answer to a commit
//! is lost, Herald asks the database (on another connection, again until it answers, for up
//! to [`IN_DOUBT_WAIT`]) whether the transaction's rows are there, and answers from that.

use std::time::Duration;

use sqlx::PgPool;

/// How long a request whose commit is in doubt waits for the database to say whether it
/// committed (it stays open meanwhile). Past it the request gets the commit's error (503):
/// the email may then be stored and delivered although refused; an idempotency key makes the
/// client's retry safe (docs/architecture.md).
pub const IN_DOUBT_WAIT: Duration = Duration::from_secs(45);

/// Pause between two questions while the database cannot be reached.
const ASK_AGAIN: Duration = Duration::from_millis(250);

/// Whether `err`, returned by a `COMMIT`, leaves it unknown whether the transaction
/// committed: anything but an error the server reported for the commit itself (a deferred
/// constraint, a serialization failure: then it rolled back), which is a database error
/// outside the classes of a lost connection or a shutdown.
pub fn commit_in_doubt(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .is_none_or(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => true,
    }
}

/// Whether `err` says for sure that nothing was written (the transaction rolled back): a
/// database error the server reported, outside the classes of a lost connection or a
/// shutdown. A group of writes that failed that way may be retried item by item; one that
/// failed any other way may not (its commit may have taken effect, and the retry would write
/// twice).
pub fn rolled_back(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(_)) && !commit_in_doubt(err)
}

/// An error that says what `err` says, for the other writes of a group that failed with it
/// (`sqlx::Error` cannot be cloned): a lost connection or a shutdown stays an I/O error (a
/// 503 to the client, who may retry), anything else a protocol error (a 500).
pub fn copy_error(err: &sqlx::Error) -> sqlx::Error {
    let unavailable = match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::WorkerCrashed | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(_) => !rolled_back(err),
        _ => false,
    };
    if unavailable {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            err.to_string(),
        ))
    } else {
        sqlx::Error::Protocol(err.to_string())
    }
}

/// Commits `tx`. When the commit's answer is lost ([`commit_in_doubt`]), asks with `committed`
/// (a query of one boolean, with `key` as `$1`, that is true once the transaction's rows
/// exist) until the database answers or [`IN_DOUBT_WAIT`] passes: `Ok` if it committed, the
/// commit's error otherwise.
pub async fn commit(
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    pool: &PgPool,
    committed: &'static str,
    key: &str,
) -> Result<(), sqlx::Error> {
    let err = match tx.commit().await {
        Ok(()) => return Ok(()),
        Err(err) if commit_in_doubt(&err) => err,
        Err(err) => return Err(err),
    };
    tracing::warn!(error = %err, "the answer to a commit was lost; asking whether it committed");
    let deadline = tokio::time::Instant::now() + IN_DOUBT_WAIT;
    loop {
        let ask = sqlx::query_scalar::<_, bool>(committed)
            .bind(key)
            .fetch_one(pool);
        match tokio::time::timeout_at(deadline, ask).await {
            Ok(Ok(true)) => {
                tracing::warn!("the commit whose answer was lost had committed");
                return Ok(());
            }
            Ok(Ok(false)) => return Err(err),
            // Not reachable yet (or the question failed): ask again until the deadline.
            Ok(Err(_)) if tokio::time::Instant::now() + ASK_AGAIN < deadline => {
                tokio::time::sleep(ASK_AGAIN).await;
            }
            Ok(Err(_)) | Err(_) => {
                tracing::error!(
                    error = %err,
                    "could not learn whether a commit took effect: answering with its error"
                );
                return Err(err);
            }
        }
    }
}
