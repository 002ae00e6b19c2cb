//! The memory budget of requests: how many bytes of request bodies, and of what templates
//! render from them, this node holds at once (`request_memory_mb`), whatever the number of
//! requests.
//!
//! One request's size is bounded elsewhere (50 MB of body, 20 MB rendered per request), but
//! not how many arrive together: six 39 MB emails sent at once held about 450 MB. A request
//! with a body takes [`HELD_PER_BODY_BYTE`] times its declared length from the budget when its
//! handler starts to read the body (requests refused earlier, by the gate or for their size,
//! take nothing; see `http::guard`), and holds it until its answer is ready, since the body's
//! parsed copies live as long as the handler. A body without a declared length (chunked) takes
//! that of the largest body allowed. A request larger than the whole budget takes all of it
//! and runs alone.
//!
//! What a template renders is not in the body: a few bytes of placeholders can stand for
//! megabytes. A request that renders one [`Share::grow`]s its share by the rendered length
//! (measured before anything is rendered, `templates::send`) and holds it with the body's,
//! so hostile template sends wait their turn like large bodies. A request's share never
//! grows past the whole budget (it then runs alone), so it cannot wait for itself, and it
//! grows once per request (the whole batch is measured first), so requests cannot wait for
//! each other's growth. A request waiting to grow holds its body's share meanwhile: when
//! such requests hold the whole budget in bodies, they end with 503 after the wait.
//!
//! Waiters are served in order (so a large request is not starved by small ones) and wait at
//! most `request_memory_wait_secs`; then the request ends with 503 `service_unavailable`
//! and `Retry-After`, like any other moment the node cannot take more work (429 is Resend's
//! answer to a client over its own rate limit, which this is not). The body is not read
//! while the request waits: it stays in the socket's buffers and the client's.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of the budget a request takes per byte of its body: a JSON body is held with its
/// parsed tree while it is read (an attachment's base64 is a string of the tree as long as in
/// the body), then the tree's strings with what they decode to and the database's copy of
/// it, so a large single send holds about twice its body at its peak (docs/architecture.md,
/// "Accepting a large email"). Charging the body once counted half of what the budget is
/// there to bound.
pub const HELD_PER_BODY_BYTE: u64 = 2;

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
    permit: OwnedSemaphorePermit,
    kib: u64,
    budget: Arc<Inner>,
}

impl Held {
    /// Takes `other` into this share (both are given back together).
    fn merge(&mut self, mut other: Held) {
        // `other` gives its permits to `self`; what is left in it is empty.
        let empty = self.permit.split(0).expect("zero permits");
        self.permit
            .merge(std::mem::replace(&mut other.permit, empty));
        self.kib += std::mem::take(&mut other.kib);
    }
}

/// The share of one request: its body's, and what it renders. Given back when the request's
/// answer is ready (the guard drops it).
#[derive(Clone)]
pub struct Share {
    budget: Budget,
    held: Arc<Mutex<Option<Held>>>,
    /// Set when the request waited too long for its share (its answer is then a 503).
    refused: Arc<AtomicBool>,
}

impl Share {
    pub fn new(budget: Budget) -> Share {
        Share {
            budget,
            held: Arc::new(Mutex::new(None)),
            refused: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Notes that the request waited too long for its share.
    pub fn refuse(&self) {
        self.refused.store(true, Ordering::Release);
    }

    /// Whether the request waited too long for its share (its body's or a growth).
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::Acquire)
    }

    /// Sets what the request holds (its body's share, once granted).
    pub fn set(&self, held: Held) {
        *self.lock() = Some(held);
    }

    /// Gives the share back.
    pub fn release(&self) {
        self.lock().take();
    }

    /// Bytes this request holds.
    pub fn bytes(&self) -> u64 {
        self.lock().as_ref().map_or(0, |h| h.kib) * 1024
    }

    /// Adds `bytes` to the share, waiting like a body for them (at most the configured wait;
    /// then 503). Never past the whole budget: a request holding all of it runs alone.
    pub async fn grow(&self, bytes: u64) -> Result<(), Busy> {
        let held_kib = self.bytes() / 1024;
        let kib = bytes
            .div_ceil(1024)
            .min((self.budget.0.kib as u64).saturating_sub(held_kib));
        if kib == 0 {
            return Ok(());
        }
        let Some(more) = self.budget.hold(kib * 1024).await else {
            self.refuse();
            return Err(Busy);
        };
        let mut held = self.lock();
        match held.as_mut() {
            Some(share) => share.merge(more),
            None => *held = Some(more),
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
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
            permit,
            kib: kib as u64,
            budget: self.0.clone(),
        })
    }

    /// [`Budget::hold`], or the 503 a request gets when the wait ran out.
    pub async fn hold_or_refuse(&self, bytes: u64) -> Result<Held, Busy> {
        self.hold(bytes).await.ok_or(Busy)
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

/// A request waited too long for its share: the HTTP layer answers 503 `service_unavailable`
/// with `Retry-After` (`http::error`, `http::guard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The server is handling as much request data as it is allowed to hold; retry shortly.")]
pub struct Busy;

/// Seconds a client is told to wait before retrying after [`Busy`].
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
        let refused = budget.hold_or_refuse(1).await.err().unwrap();
        assert_eq!(crate::error::AppError::from(refused).status, 503);
        drop(all);
        assert!(budget.hold(1).await.is_some());
    }

    #[tokio::test]
    async fn a_share_grows_up_to_the_whole_budget_and_goes_back_at_once() {
        let budget = Budget::new(1, Duration::ZERO);
        let share = Share::new(budget.clone());
        share.set(budget.hold(600 * 1024).await.unwrap());
        share.grow(300 * 1024).await.unwrap();
        assert_eq!(
            (share.bytes(), budget.held_bytes()),
            (900 * 1024, 900 * 1024)
        );
        // More than is left: it takes the rest, not more, and runs alone.
        share.grow(10 * 1024 * 1024).await.unwrap();
        assert_eq!(budget.held_bytes(), budget.total_bytes());
        share.grow(1).await.unwrap();
        // Another request cannot grow meanwhile: refused, and noted for its answer.
        let other = Share::new(budget.clone());
        let refused = other.grow(1).await.unwrap_err();
        assert_eq!(crate::error::AppError::from(refused).status, 503);
        assert!(other.refused() && !share.refused());
        share.release();
        assert_eq!((share.bytes(), budget.held_bytes()), (0, 0));
        other.grow(1).await.unwrap();
        assert_eq!(budget.peak_bytes(), budget.total_bytes());
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
