//! Sign-in throttling: failed passwords count per account (the email tried) and per client
//! address. A few mistakes are free; after that each further attempt has to wait, twice as
//! long each time (1 s, 2 s, 4 s … up to 15 minutes), and while it waits even the right
//! password is refused unchecked, so guessing gains nothing from speed. A success clears the
//! account's count; counts are forgotten an hour after their last failure.
//!
//! Counts live in this process (a node behind a load balancer throttles what it sees).

use std::collections::HashMap;
use std::net::IpAddr;

use parking_lot::Mutex;

use crate::clock::Millis;
use crate::handle::App;

/// Failures allowed before delays start, per account and per client address (an address
/// may be a shared proxy or office, so it gets more).
const FREE_PER_ACCOUNT: u32 = 5;
const FREE_PER_ADDRESS: u32 = 20;
const FIRST_DELAY_MS: i64 = 1_000;
const MAX_DELAY_MS: i64 = 15 * 60 * 1_000;
const FORGET_AFTER_MS: i64 = 3600 * 1_000;
/// Entries kept at most; past it, the forgotten ones are dropped first.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last_failure: Millis,
    locked_until: Millis,
}

impl App {
    pub fn login_throttle(&self) -> &LoginThrottle {
        self.part()
    }
}

#[derive(Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

fn address_key(addr: IpAddr) -> String {
    // IPv6 clients usually hold a whole /64: count the prefix.
    let addr = match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    };
    format!("address:{addr}")
}

fn delay_after(failures: u32, free: u32) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(20);
    (FIRST_DELAY_MS << doublings).min(MAX_DELAY_MS)
}

impl LoginThrottle {
    /// Milliseconds the caller must still wait before a password is checked; 0 lets it try.
    pub fn wait_ms(&self, email: &str, addr: Option<IpAddr>, now: Millis) -> i64 {
        let entries = self.entries.lock();
        let mut keys = vec![account_key(email)];
        keys.extend(addr.map(address_key));
        keys.iter()
            .filter_map(|k| entries.get(k))
            .map(|e| e.locked_until - now)
            .max()
            .unwrap_or(0)
            .max(0)
    }

    pub fn failed(&self, email: &str, addr: Option<IpAddr>, now: Millis) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| now - e.last_failure < FORGET_AFTER_MS && e.locked_until > now);
        }
        let mut keys = vec![(account_key(email), FREE_PER_ACCOUNT)];
        keys.extend(addr.map(|a| (address_key(a), FREE_PER_ADDRESS)));
        for (key, free) in keys {
            let entry = entries.entry(key).or_insert(Entry {
                failures: 0,
                last_failure: now,
                locked_until: 0,
            });
            if now - entry.last_failure >= FORGET_AFTER_MS {
                entry.failures = 0;
            }
            entry.failures += 1;
            entry.last_failure = now;
            entry.locked_until = now + delay_after(entry.failures, free);
        }
    }

    /// A right password clears the account's count (not the address's: one good account
    /// must not reset an attacker's count on others).
    pub fn succeeded(&self, email: &str) {
        self.entries.lock().remove(&account_key(email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_the_free_failures() {
        let t = LoginThrottle::default();
        let ip: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let mut now = 1_000_000;
        for _ in 0..FREE_PER_ACCOUNT - 1 {
            assert_eq!(t.wait_ms("a@x.org", ip, now), 0);
            t.failed("a@x.org", ip, now);
        }
        t.failed("A@x.org ", ip, now);
        assert_eq!(t.wait_ms("a@x.org", ip, now), 1_000);
        now += 1_000;
        assert_eq!(t.wait_ms("a@x.org", ip, now), 0);
        t.failed("a@x.org", ip, now);
        assert_eq!(t.wait_ms("a@x.org", ip, now), 2_000);
        // Another account from elsewhere is not affected; a success clears the account.
        assert_eq!(t.wait_ms("b@x.org", None, now), 0);
        t.succeeded("a@x.org");
        assert_eq!(t.wait_ms("a@x.org", None, now), 0);
        assert_eq!(delay_after(100, 5), MAX_DELAY_MS);
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed() {
        let t = LoginThrottle::default();
        let ip: Option<IpAddr> = Some("2001:db8::1".parse().unwrap());
        let other_in_prefix: Option<IpAddr> = Some("2001:db8::2".parse().unwrap());
        for i in 0..FREE_PER_ADDRESS {
            t.failed(&format!("user{i}@x.org"), ip, 5_000);
        }
        assert!(t.wait_ms("fresh@x.org", other_in_prefix, 5_000) > 0);
    }
}
