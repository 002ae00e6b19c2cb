//! Time as the rest of Herald sees it. Everything reads "now" through a [`Clock`] so tests
//! can move time forward (scheduled sends, key expiry) without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch: the one time unit stored in both databases.
pub type Millis = i64;

pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> Millis;
}

pub type SharedClock = Arc<dyn Clock>;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        #[allow(clippy::disallowed_methods)]
        let now = jiff::Timestamp::now();
        now.as_millisecond()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_ms: Millis) -> Self {
        Self(AtomicI64::new(start_ms))
    }
    pub fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn set(&self, ms: Millis) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn to_timestamp(ms: Millis) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// Resend's resource timestamp format, as PostgreSQL prints `timestamptz`:
/// `2023-10-06 23:47:56.678+00`.
pub fn resend_timestamp(ms: Millis) -> String {
    to_timestamp(ms)
        .strftime("%Y-%m-%d %H:%M:%S%.3f+00")
        .to_string()
}

/// ISO 8601 with `Z`, used by Resend for attachments and webhook payloads.
pub fn iso_timestamp(ms: Millis) -> String {
    to_timestamp(ms)
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_resend() {
        let ms = 1_696_636_076_678;
        assert_eq!(resend_timestamp(ms), "2023-10-06 23:47:56.678+00");
        assert_eq!(iso_timestamp(ms), "2023-10-06T23:47:56.678Z");
    }
}
