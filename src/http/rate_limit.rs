//! Per-team rate limiting in one-second windows, reported the way Resend does:
//! `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset`, `ratelimit-policy` on every
//! response and `retry-after` with 429 `rate_limit_exceeded`.
//! A fixed window (rather than governor's GCRA) makes "remaining" and "reset" exact, which is
//! what these headers promise. With several nodes the limit applies per node.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue};
use parking_lot::Mutex;

use crate::clock::Millis;

pub struct RateLimiter {
    limit: u32,
    windows: Mutex<HashMap<String, Window>>,
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
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, team_id: &str, now_ms: Millis) -> Decision {
        let second = now_ms.div_euclid(1000);
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
        Decision {
            allowed,
            limit: self.limit,
            remaining: self.limit - window.used,
            reset_seconds: 1,
        }
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
        let rl = RateLimiter::new(2);
        assert!(rl.check("a", 1_000).allowed);
        let d = rl.check("a", 1_500);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
        assert!(!rl.check("a", 1_900).allowed);
        assert!(rl.check("b", 1_900).allowed);
        assert!(rl.check("a", 2_000).allowed);
    }
}
