//! The signature cache: a policy remembers the signatures on CA certificates
//! that verified, so that a new leaf under an intermediate it has met before
//! costs one signature check instead of two. Browsers' verifiers do the same.
//!
//! An entry holds everything a check depends on: the algorithm, the signer's
//! public key, the SHA-256 of the signed bytes and the signature. Only
//! successes are stored, so the cache answers "valid" only for inputs a check
//! found valid before, byte for byte (the signed bytes up to a SHA-256
//! collision); it must never store a failure, and never answer for inputs it
//! has not seen whole.
//!
//! Bounded and thread-safe. Eviction is CLOCK: an entry found since the hand
//! last passed it gets another round, so the intermediates a policy meets all
//! the time stay while one-off ones come and go. A poisoned lock only turns
//! the cache off.

use std::collections::HashMap;
use std::sync::Mutex;

/// What the table is searched by; the rest of an entry is compared in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Lookup {
    /// The index of the algorithm in `crypto::SIGNATURE_ALGORITHMS`.
    algorithm: usize,
    /// SHA-256 of the signed bytes.
    message: [u8; 32],
}

#[derive(Debug)]
struct Entry {
    lookup: Lookup,
    /// The signer's public key, then the signature.
    key_and_signature: Box<[u8]>,
    key_len: usize,
    /// Found since the hand last passed.
    referenced: bool,
}

impl Entry {
    fn is(&self, public_key: &[u8], signature: &[u8]) -> bool {
        let (key, sig) = self.key_and_signature.split_at(self.key_len);
        key == public_key && sig == signature
    }
}

#[derive(Debug, Default)]
struct Clock {
    index: HashMap<Lookup, usize>,
    entries: Vec<Entry>,
    hand: usize,
}

/// A bounded set of signatures that verified.
#[derive(Debug)]
pub struct SignatureCache {
    capacity: usize,
    clock: Mutex<Clock>,
}

impl SignatureCache {
    /// A cache of at most `capacity` signatures; 0 disables it. Memory is
    /// taken as entries arrive, not up front.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            clock: Mutex::new(Clock::default()),
        }
    }

    /// Most signatures it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether it stores anything at all.
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Whether this very signature, by this key with this algorithm, on
    /// bytes of this SHA-256, verified before.
    pub fn contains(&self, algorithm: usize, public_key: &[u8], message: &[u8; 32], signature: &[u8]) -> bool {
        if !self.enabled() {
            return false;
        }
        let Ok(mut clock) = self.clock.lock() else { return false };
        let lookup = Lookup {
            algorithm,
            message: *message,
        };
        let Some(&i) = clock.index.get(&lookup) else {
            return false;
        };
        let entry = &mut clock.entries[i];
        if !entry.is(public_key, signature) {
            return false;
        }
        entry.referenced = true;
        true
    }

    /// Remembers a signature that verified. Call it for successes only.
    /// Another signature on the same bytes with the same algorithm (the same
    /// certificate body signed by another key) replaces the one stored.
    pub fn insert(&self, algorithm: usize, public_key: &[u8], message: [u8; 32], signature: &[u8]) {
        if !self.enabled() {
            return;
        }
        let lookup = Lookup { algorithm, message };
        let entry = Entry {
            lookup,
            key_and_signature: [public_key, signature].concat().into_boxed_slice(),
            key_len: public_key.len(),
            referenced: false,
        };
        let Ok(mut clock) = self.clock.lock() else { return };
        let clock = &mut *clock;
        if let Some(&i) = clock.index.get(&lookup) {
            clock.entries[i] = entry;
            return;
        }
        if clock.entries.len() < self.capacity {
            clock.index.insert(lookup, clock.entries.len());
            clock.entries.push(entry);
            return;
        }
        // Every entry gets at most one second chance, so this ends within
        // two turns of the hand.
        loop {
            let hand = clock.hand;
            clock.hand = (hand + 1) % clock.entries.len();
            let victim = &mut clock.entries[hand];
            if victim.referenced {
                victim.referenced = false;
                continue;
            }
            clock.index.remove(&victim.lookup);
            clock.index.insert(lookup, hand);
            *victim = entry;
            return;
        }
    }

    /// How many signatures it holds now.
    pub fn len(&self) -> usize {
        self.clock.lock().map(|c| c.entries.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> [u8; 32] {
        [n; 32]
    }

    #[test]
    fn a_hit_needs_every_input() {
        let cache = SignatureCache::new(4);
        cache.insert(1, b"key", digest(7), b"sig");
        assert!(cache.contains(1, b"key", &digest(7), b"sig"));
        assert!(!cache.contains(2, b"key", &digest(7), b"sig"), "algorithm");
        assert!(!cache.contains(1, b"kez", &digest(7), b"sig"), "key");
        assert!(!cache.contains(1, b"key", &digest(8), b"sig"), "message");
        assert!(!cache.contains(1, b"key", &digest(7), b"sih"), "signature");
        // Where the key ends and the signature starts is part of the entry.
        assert!(!cache.contains(1, b"ke", &digest(7), b"ysig"));
        assert!(!cache.contains(1, b"keys", &digest(7), b"ig"));
    }

    #[test]
    fn bounded_and_frequently_found_entries_stay() {
        let cache = SignatureCache::new(3);
        for n in 0..3 {
            cache.insert(0, b"k", digest(n), b"s");
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.contains(0, b"k", &digest(0), b"s"));
        // A churn of one-off entries: the one found every time survives it.
        for n in 10..100 {
            cache.insert(0, b"k", digest(n), b"s");
            assert!(cache.contains(0, b"k", &digest(0), b"s"), "after {n}");
            assert_eq!(cache.len(), 3);
        }
        assert!(!cache.contains(0, b"k", &digest(1), b"s"));
        assert!(!cache.contains(0, b"k", &digest(10), b"s"));
        assert!(cache.contains(0, b"k", &digest(99), b"s"), "the newest");
    }

    #[test]
    fn replacing_an_entry_keeps_one() {
        let cache = SignatureCache::new(2);
        cache.insert(0, b"k1", digest(1), b"s1");
        cache.insert(0, b"k2", digest(1), b"s2");
        assert_eq!(cache.len(), 1);
        assert!(cache.contains(0, b"k2", &digest(1), b"s2"));
        assert!(!cache.contains(0, b"k1", &digest(1), b"s1"));
    }

    #[test]
    fn zero_disables() {
        let cache = SignatureCache::new(0);
        cache.insert(0, b"k", digest(1), b"s");
        assert_eq!(cache.len(), 0);
        assert!(!cache.contains(0, b"k", &digest(1), b"s"));
    }
}
