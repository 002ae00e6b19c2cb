//! A small in-memory map whose answers are trusted for a fixed time: the caches that save a
//! query per request (API keys, a domain's region, verification and sending settings). Each
//! node has its own, so a change made on another node is seen here once the entry expires;
//! the node that makes a change forgets the entries it affects at once. A leaf module under
//! every layer, like `clock`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// At this many entries the map is emptied before the next insert: a bound on memory that
/// costs a query per key once, instead of bookkeeping on every read.
const MAX_ENTRIES: usize = 10_000;

/// Values by key, each trusted for `ttl` after it was stored. `const`, so it can be a
/// `static`.
pub struct TtlMap<K, V> {
    ttl: Duration,
    entries: Mutex<Option<HashMap<K, (Instant, V)>>>,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    pub const fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(None),
        }
    }

    /// The value stored for `key` less than the TTL ago.
    pub fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let entries = self.entries.lock();
        let (at, value) = entries.as_ref()?.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock();
        let map = entries.get_or_insert_with(HashMap::new);
        if map.len() > MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (Instant::now(), value));
    }

    /// Forgets `key` (its value changed on this node).
    pub fn remove<Q: Eq + Hash + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        if let Some(map) = self.entries.lock().as_mut() {
            map.remove(key);
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        *self.entries.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_until_the_ttl_then_forgets() {
        let map: TtlMap<&str, u32> = TtlMap::new(Duration::from_secs(3600));
        assert_eq!(map.get(&"a"), None);
        map.insert("a", 1);
        map.insert("b", 2);
        assert_eq!(map.get(&"a"), Some(1));
        map.remove(&"a");
        assert_eq!(map.get(&"a"), None);
        assert_eq!(map.get(&"b"), Some(2));
        map.clear();
        assert_eq!(map.get(&"b"), None);

        let expired: TtlMap<&str, u32> = TtlMap::new(Duration::ZERO);
        expired.insert("a", 1);
        assert_eq!(expired.get(&"a"), None);
    }

    #[test]
    fn is_emptied_past_its_bound() {
        let map: TtlMap<usize, ()> = TtlMap::new(Duration::from_secs(3600));
        for i in 0..=MAX_ENTRIES + 1 {
            map.insert(i, ());
        }
        assert_eq!(map.get(&0), None);
        assert_eq!(map.get(&(MAX_ENTRIES + 1)), Some(()));
    }
}
