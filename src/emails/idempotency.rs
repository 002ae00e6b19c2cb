//! `Idempotency-Key` for `POST /emails` and `POST /emails/batch`, as Resend defines it:
//! 1–256 characters, kept 24 hours per team. The same key with the same payload (compared by
//! a hash of the canonical JSON) replays the stored response; a different payload is 409
//! `invalid_idempotent_request`; while the first request runs it is 409
//! `concurrent_idempotent_requests`. Only successes are stored: a request that fails releases
//! its key, so a corrected retry goes through.
//!
//! The claim is a row without a response; the response is written in the same transaction
//! as the emails it created (see `store::insert_accepted`).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderMap;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::{EmailError, EmailResult};
use crate::clock::Millis;
use crate::handle::App;
use crate::on_db;

pub const HEADER: &str = "idempotency-key";
pub const MAX_KEY_CHARS: usize = 256;
/// How long a key is remembered.
pub const TTL_MS: Millis = 24 * 60 * 60 * 1000;
/// A claim without a response this old belongs to a request that died; it may be taken over.
pub const ABANDONED_MS: Millis = 10 * 60 * 1000;

/// A claimed key, to pass to the store (which records the response) or to release.
#[derive(Debug, Clone)]
pub struct Claim {
    pub team_id: String,
    pub key: String,
}

/// What the claim found.
pub enum Outcome {
    /// The key is ours; run the request.
    Claimed(Claim),
    /// The request already succeeded: answer with this body again.
    Replay(Value),
}

/// Reads and checks the header; `None` when absent.
pub fn key_from_headers(headers: &HeaderMap) -> EmailResult<Option<String>> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| EmailError::InvalidIdempotencyKey)?;
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(EmailError::InvalidIdempotencyKey);
    }
    Ok(Some(key.to_string()))
}

/// Hex SHA-256 of the request: the route and its JSON with object keys sorted, so
/// key order and whitespace do not matter.
pub fn request_hash(route: &str, body: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update(b"\n");
    hash_canonical(&mut hasher, body);
    hex::encode(hasher.finalize())
}

fn hash_canonical(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for key in keys {
                hash_json(hasher, key);
                hasher.update(b":");
                hash_canonical(hasher, &map[key]);
                hasher.update(b",");
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for item in items {
                hash_canonical(hasher, item);
                hasher.update(b",");
            }
            hasher.update(b"]");
        }
        scalar => hash_json(hasher, scalar),
    }
}

/// Feeds the JSON form of `value` into the hash without building it in memory.
fn hash_json(hasher: &mut Sha256, value: &impl serde::Serialize) {
    struct Feed<'a>(&'a mut Sha256);
    impl std::io::Write for Feed<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Writing JSON into a hash cannot fail.
    let _ = serde_json::to_writer(Feed(hasher), value);
}

static CLAIMS: AtomicU64 = AtomicU64::new(0);

/// Claims `key` for a request with `hash`, or says why it cannot run.
pub async fn claim(app: &App, team_id: &str, key: &str, hash: &str) -> EmailResult<Outcome> {
    let now = app.now_ms();
    // Expired keys are swept now and then, not on every request.
    if CLAIMS.fetch_add(1, Ordering::Relaxed).is_multiple_of(1000) {
        on_db!(app.db(), |pool| sqlx::query(
            "DELETE FROM idempotency_keys WHERE created_at < $1"
        )
        .bind(now - TTL_MS)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    }
    let claimed = Claim {
        team_id: team_id.to_string(),
        key: key.to_string(),
    };
    let inserted = on_db!(app.db(), |pool| sqlx::query(
        "INSERT INTO idempotency_keys (team_id, key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, key) DO NOTHING"
    )
    .bind(team_id)
    .bind(key)
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if inserted == 1 {
        return Ok(Outcome::Claimed(claimed));
    }

    type Row = (String, Option<i32>, Option<String>, i64);
    let row: Option<Row> = on_db!(app.db(), |pool| sqlx::query_as(
        "SELECT request_hash, response_status, response_body, created_at FROM idempotency_keys \
         WHERE team_id = $1 AND key = $2"
    )
    .bind(team_id)
    .bind(key)
    .fetch_optional(pool)
    .await)?;
    let Some((stored_hash, status, body, created_at)) = row else {
        // Released between our insert and select: the caller may simply retry.
        return Err(EmailError::IdempotencyInProgress);
    };
    let expired = created_at < now - TTL_MS;
    let abandoned = status.is_none() && created_at < now - ABANDONED_MS;
    if expired || abandoned {
        // Take the row over, unless another request just did.
        let taken = on_db!(app.db(), |pool| sqlx::query(
            "UPDATE idempotency_keys SET request_hash = $3, response_status = NULL, \
             response_body = NULL, created_at = $4 \
             WHERE team_id = $1 AND key = $2 AND created_at = $5"
        )
        .bind(team_id)
        .bind(key)
        .bind(hash)
        .bind(now)
        .bind(created_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        return if taken == 1 {
            Ok(Outcome::Claimed(claimed))
        } else {
            Err(EmailError::IdempotencyInProgress)
        };
    }
    if stored_hash != hash {
        return Err(EmailError::IdempotencyKeyReused);
    }
    match body {
        Some(body) if status.is_some() => Ok(Outcome::Replay(serde_json::from_str(&body)?)),
        _ => Err(EmailError::IdempotencyInProgress),
    }
}

/// Forgets a claim whose request failed, so the key can be used again.
pub async fn release(app: &App, claim: &Claim) -> EmailResult<()> {
    let forget = crate::store::sql::Stmt::new(
        "DELETE FROM idempotency_keys WHERE team_id = $1 AND key = $2 AND response_status IS NULL",
    )
    .text(&claim.team_id)
    .text(&claim.key);
    crate::store::sql::run(app.db(), &[forget]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::AppError;

    #[test]
    fn hash_ignores_key_order_but_not_values() {
        let a = json!({"from": "a@b.c", "to": ["x@y.z"], "tags": [{"name": "n", "value": "v"}]});
        let b = json!({"tags": [{"value": "v", "name": "n"}], "to": ["x@y.z"], "from": "a@b.c"});
        let c = json!({"from": "a@b.c", "to": ["x@y.z", "w@y.z"]});
        assert_eq!(request_hash("emails", &a), request_hash("emails", &b));
        assert_ne!(request_hash("emails", &a), request_hash("emails", &c));
        assert_ne!(request_hash("emails", &a), request_hash("batch", &a));
    }

    #[test]
    fn key_length_is_checked() {
        let mut headers = HeaderMap::new();
        assert!(key_from_headers(&headers).unwrap().is_none());
        headers.insert(HEADER, "k".repeat(256).parse().unwrap());
        assert!(key_from_headers(&headers).unwrap().is_some());
        headers.insert(HEADER, "k".repeat(257).parse().unwrap());
        assert_eq!(
            AppError::from(key_from_headers(&headers).unwrap_err()).name,
            "invalid_idempotency_key"
        );
        headers.insert(HEADER, "".parse().unwrap());
        assert!(key_from_headers(&headers).is_err());
    }
}
