//! Per-team rate limiting in one-second windows, reported the way Resend does:
//! `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset`, `ratelimit-policy` on every
//! response and `retry-after` with 429 `rate_limit_exceeded`.
//! A fixed window (rather than governor's GCRA) makes "remaining" and "reset" exact, which is
//! what these headers promise.
//!
//! On SQLite (one node) the windows are counted in memory. On PostgreSQL several nodes share
//! the database, so the windows are rows of an unlogged table counted with one upsert per
//! request: the limit holds for the team across every node. If that count fails, the node
//! falls back to its own in-memory count rather than refusing the request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;
use sqlx::PgPool;

use crate::clock::Millis;
use crate::handle::App;
use crate::store::Db;

/// Windows older than this many seconds are deleted from the shared table.
const KEEP_SECONDS: i64 = 60;

pub struct RateLimiter {
    limit: u32,
    windows: Mutex<HashMap<String, Window>>,
    /// The shared windows, on PostgreSQL.
    shared: Option<PgPool>,
    /// The second in which this node last pruned the shared table.
    pruned_at: AtomicI64,
}

impl App {
    pub fn rate_limiter(&self) -> &RateLimiter {
        self.part()
    }
}

#[derive(Clone, Copy)]
struct Window {
    second: i64,
    used: u32,
}

/// The outcome of one check, rendered into headers.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    pub reset_seconds: u32,
}

impl RateLimiter {
    pub fn new(limit: u32, db: &Db) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
            shared: match db {
                Db::Postgres(pool) => Some(pool.clone()),
                Db::Sqlite(_) => None,
            },
            pruned_at: AtomicI64::new(0),
        }
    }

    /// Counts one request of `team_id` against its window, if the limit allows it.
    pub async fn check(&self, team_id: &str, now_ms: Millis) -> Decision {
        let second = now_ms.div_euclid(1000);
        if let Some(pool) = &self.shared {
            match self.check_shared(pool, team_id, second).await {
                Ok(decision) => return decision,
                Err(err) => {
                    tracing::warn!(error = %err, "shared rate limit unavailable; counting locally")
                }
            }
        }
        self.check_local(team_id, second)
    }

    /// One upsert counts the request, unless the window is already full, and returns the
    /// window's count. A refused request is not counted, as in memory.
    async fn check_shared(
        &self,
        pool: &PgPool,
        team_id: &str,
        second: i64,
    ) -> Result<Decision, sqlx::Error> {
        let used: Option<i32> = sqlx::query_scalar(
            "INSERT INTO rate_limit_windows (team_id, window_second, used) VALUES ($1, $2, 1)
             ON CONFLICT (team_id, window_second) DO UPDATE SET used = rate_limit_windows.used + 1
             WHERE rate_limit_windows.used < $3
             RETURNING used",
        )
        .bind(team_id)
        .bind(second)
        .bind(self.limit as i64)
        .fetch_optional(pool)
        .await?;
        if self.pruned_at.swap(second, Ordering::Relaxed) / KEEP_SECONDS != second / KEEP_SECONDS {
            sqlx::query("DELETE FROM rate_limit_windows WHERE window_second < $1")
                .bind(second - KEEP_SECONDS)
                .execute(pool)
                .await?;
        }
        Ok(match used {
            Some(used) => self.decision(true, used.max(0) as u32),
            None => self.decision(false, self.limit),
        })
    }

    fn decision(&self, allowed: bool, used: u32) -> Decision {
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit.saturating_sub(used),
            reset_seconds: 1,
        }
    }

    fn check_local(&self, team_id: &str, second: i64) -> Decision {
        let mut windows = self.windows.lock();
        if windows.len() > 100_000 {
            windows.retain(|_, w| w.second == second);
        }
        let window = windows
            .entry(team_id.to_string())
            .or_insert(Window { second, used: 0 });
        if window.second != second {
            *window = Window { second, used: 0 };
        }
        let allowed = window.used < self.limit;
        if allowed {
            window.used += 1;
        }
        self.decision(allowed, window.used)
    }
}

impl Decision {
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let num = |n: u32| HeaderValue::from(n);
        headers.insert("ratelimit-limit", num(self.limit));
        headers.insert("ratelimit-remaining", num(self.remaining));
        headers.insert("ratelimit-reset", num(self.reset_seconds));
        if let Ok(policy) = HeaderValue::from_str(&format!("{};w=1", self.limit)) {
            headers.insert("ratelimit-policy", policy);
        }
        if !self.allowed {
            headers.insert("retry-after", num(self.reset_seconds));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_team_per_second() {
        let rl = RateLimiter {
            limit: 2,
            windows: Mutex::new(HashMap::new()),
            shared: None,
            pruned_at: AtomicI64::new(0),
        };
        assert!(rl.check_local("a", 1).allowed);
        let d = rl.check_local("a", 1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!rl.check_local("a", 1).allowed);
        assert!(rl.check_local("b", 1).allowed);
        assert!(rl.check_local("a", 2).allowed);
    }
}
