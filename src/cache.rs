//! The verification cache: a policy remembers accepted verifications, keyed by
//! rule, host and the SHA-256 of the chain bytes, each valid only inside the
//! window in which a fresh verification would give the same answer.
//!
//! Only acceptances are stored, so the cache can never turn a rejection into
//! an acceptance. It is bounded (oldest entry out first) and thread-safe; a
//! poisoned lock only turns it off.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// What identifies a verification.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The rule that decided.
    pub rule: usize,
    /// The normalised host.
    pub host: String,
    /// SHA-256 of the served chain bytes.
    pub chain: [u8; 32],
}

/// A remembered acceptance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// First second (Unix time) at which the answer holds.
    pub valid_from: i64,
    /// Last second at which the answer holds.
    pub valid_until: i64,
    /// The verdict's flags (without `CACHED`).
    pub flags: u32,
}

#[derive(Debug, Default)]
struct Slots {
    map: HashMap<CacheKey, CacheEntry>,
    order: VecDeque<CacheKey>,
}

/// A bounded map from verification to acceptance.
#[derive(Debug)]
pub struct Cache {
    capacity: usize,
    slots: Mutex<Slots>,
}

impl Cache {
    /// A cache of at most `capacity` entries; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            slots: Mutex::new(Slots::default()),
        }
    }

    /// Most entries it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether it stores anything at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The flags of a remembered acceptance valid at `now`.
    pub fn get(&self, key: &CacheKey, now: i64) -> Option<u32> {
        if !self.enabled() {
            return None;
        }
        let slots = self.slots.lock().ok()?;
        let entry = slots.map.get(key)?;
        (entry.valid_from <= now && now <= entry.valid_until).then_some(entry.flags)
    }

    /// Remembers an acceptance; the oldest entry leaves when the cache is full.
    pub fn insert(&self, key: CacheKey, entry: CacheEntry) {
        if !self.enabled() || entry.valid_from > entry.valid_until {
            return;
        }
        let Ok(mut slots) = self.slots.lock() else { return };
        if slots.map.insert(key.clone(), entry).is_some() {
            return;
        }
        slots.order.push_back(key);
        while slots.order.len() > self.capacity {
            if let Some(old) = slots.order.pop_front() {
                slots.map.remove(&old);
            }
        }
    }

    /// How many entries it holds now.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.slots.lock().map(|s| s.map.len()).unwrap_or(0)
    }
}

/// The inclusive span in which every certificate of the path is valid,
/// narrowed so that the enforcement of the pins does not change inside it:
/// `pins_last_enforced` is the last instant a rule enforces its pins, if
/// they expire.
pub(crate) fn validity_window(
    certs: impl Iterator<Item = Vec<u8>>,
    pins_last_enforced: Option<i64>,
    now: i64,
) -> Option<(i64, i64)> {
    use x509_parser::prelude::*;
    let (mut from, mut until) = (i64::MIN, i64::MAX);
    for der in certs {
        let (_, cert) = X509Certificate::from_der(&der).ok()?;
        from = from.max(cert.validity().not_before.timestamp());
        until = until.min(cert.validity().not_after.timestamp());
    }
    if let Some(last) = pins_last_enforced {
        if now <= last {
            until = until.min(last);
        } else {
            from = from.max(last + 1);
        }
    }
    (from <= now && now <= until).then_some((from, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> CacheKey {
        CacheKey {
            rule: 0,
            host: "a".into(),
            chain: [n; 32],
        }
    }

    #[test]
    fn window_and_bound() {
        let cache = Cache::new(2);
        cache.insert(
            key(1),
            CacheEntry {
                valid_from: 10,
                valid_until: 20,
                flags: 3,
            },
        );
        assert_eq!(cache.get(&key(1), 9), None);
        assert_eq!(cache.get(&key(1), 10), Some(3));
        assert_eq!(cache.get(&key(1), 20), Some(3));
        assert_eq!(cache.get(&key(1), 21), None);
        cache.insert(
            key(2),
            CacheEntry {
                valid_from: 0,
                valid_until: 1,
                flags: 1,
            },
        );
        cache.insert(
            key(3),
            CacheEntry {
                valid_from: 0,
                valid_until: 1,
                flags: 1,
            },
        );
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&key(1), 15), None);
        let off = Cache::new(0);
        off.insert(
            key(1),
            CacheEntry {
                valid_from: 0,
                valid_until: 1,
                flags: 1,
            },
        );
        assert_eq!(off.len(), 0);
    }
}
