//! The memory budget of the HTTP layer: how many bytes of request bodies this node holds at
//! once (`request_memory_mb`), whatever the number of requests.
//!
//! One request's size is bounded elsewhere (50 MB of body, 20 MB rendered per request), but
//! not how many arrive together: six 39 MB emails sent at once held about 450 MB. A request
//! with a body takes its declared length from the budget when its handler starts to read the
//! body (requests refused earlier, by the gate or for their size, take nothing), and holds it
//! until its answer is ready, since the body's parsed copies live as long as the handler. A
//! body without a declared length (chunked) takes the largest body allowed. A request larger
//! than the whole budget takes all of it and runs alone. Template output is not budgeted
//! across requests (only capped per request).
//!
//! Waiters are served in order (so a large request is not starved by small ones) and wait at
//! most `request_memory_wait_secs`; then the request ends with 503 `service_unavailable`
//! and `Retry-After`, like any other moment the node cannot take more work (429 is Resend's
//! answer to a client over its own rate limit, which this is not). The body is not read
//! while the request waits: it stays in the socket's buffers and the client's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::AppError;

/// Bytes of memory shared by the requests of this node.
#[derive(Clone)]
pub struct Budget(Arc<Inner>);

struct Inner {
    permits: Arc<Semaphore>,
    /// The whole budget, in KiB (one permit each).
    kib: u32,
    /// How long a request waits for its share.
    wait: Duration,
    /// KiB held now, and the most ever held at once (for tests).
    held: AtomicU64,
    peak: AtomicU64,
}

/// A share of a [`Budget`], given back when dropped.
pub struct Held {
    _permit: OwnedSemaphorePermit,
    kib: u64,
    budget: Arc<Inner>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.kib, Ordering::AcqRel);
    }
}

impl Budget {
    pub fn new(megabytes: usize, wait: Duration) -> Budget {
        let kib = megabytes
            .saturating_mul(1024)
            .clamp(1, u32::MAX as usize / 2) as u32;
        Budget(Arc::new(Inner {
            permits: Arc::new(Semaphore::new(kib as usize)),
            kib,
            wait,
            held: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }))
    }

    /// The KiB a share of `bytes` takes: at least one, at most the whole budget.
    fn kib_for(&self, bytes: u64) -> u32 {
        bytes.div_ceil(1024).clamp(1, self.0.kib as u64) as u32
    }

    /// Waits for `bytes` (at most the whole budget) up to the configured wait; `None` when
    /// the wait ran out.
    pub async fn hold(&self, bytes: u64) -> Option<Held> {
        let kib = self.kib_for(bytes);
        let permits = self.0.permits.clone();
        let permit = if self.0.wait.is_zero() {
            permits.try_acquire_many_owned(kib).ok()?
        } else {
            tokio::time::timeout(self.0.wait, permits.acquire_many_owned(kib))
                .await
                .ok()?
                .ok()?
        };
        let now = self.0.held.fetch_add(kib as u64, Ordering::AcqRel) + kib as u64;
        self.0.peak.fetch_max(now, Ordering::AcqRel);
        Some(Held {
            _permit: permit,
            kib: kib as u64,
            budget: self.0.clone(),
        })
    }

    /// [`Budget::hold`], or the 503 a request gets when the wait ran out.
    pub async fn hold_or_refuse(&self, bytes: u64) -> Result<Held, AppError> {
        self.hold(bytes).await.ok_or_else(busy)
    }

    /// Bytes held now.
    pub fn held_bytes(&self) -> u64 {
        self.0.held.load(Ordering::Acquire) * 1024
    }

    /// The most bytes ever held at once.
    pub fn peak_bytes(&self) -> u64 {
        self.0.peak.load(Ordering::Acquire) * 1024
    }

    /// The whole budget, in bytes.
    pub fn total_bytes(&self) -> u64 {
        self.0.kib as u64 * 1024
    }
}

/// The answer of a request that waited too long for its share.
pub fn busy() -> AppError {
    AppError::new(
        503,
        "service_unavailable",
        "The server is handling as much request data as it is allowed to hold; retry shortly.",
    )
}

/// Seconds a client is told to wait before retrying after [`busy`].
pub const RETRY_AFTER_SECS: u64 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shares_are_bounded_and_given_back() {
        let budget = Budget::new(1, Duration::ZERO);
        assert_eq!(budget.total_bytes(), 1024 * 1024);
        let a = budget.hold(600 * 1024).await.expect("fits");
        let b = budget.hold(300 * 1024).await.expect("fits");
        assert_eq!(budget.held_bytes(), 900 * 1024);
        // More than what is left: refused at once with no wait.
        assert!(budget.hold(200 * 1024).await.is_none());
        drop(a);
        let c = budget.hold(200 * 1024).await.expect("fits again");
        assert_eq!(budget.held_bytes(), 500 * 1024);
        drop((b, c));
        assert_eq!(budget.held_bytes(), 0);
        assert_eq!(budget.peak_bytes(), 900 * 1024);
        // Larger than the whole budget: takes all of it.
        let all = budget.hold(50 * 1024 * 1024).await.expect("alone");
        assert_eq!(budget.held_bytes(), budget.total_bytes());
        assert_eq!(budget.hold_or_refuse(1).await.err().unwrap().status, 503);
        drop(all);
        assert!(budget.hold(1).await.is_some());
    }

    #[tokio::test]
    async fn a_waiter_gets_its_share_when_one_is_given_back() {
        let budget = Budget::new(1, Duration::from_secs(600));
        let first = budget.hold(1024 * 1024).await.unwrap();
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.hold(1024).await.is_some() }
        });
        tokio::task::yield_now().await;
        drop(first);
        assert!(waiting.await.unwrap());
    }
}
