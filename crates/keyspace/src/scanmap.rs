//! `ScanMap`: the table behind large hashes, sets and sorted sets.
//!
//! A map from byte-string keys to values, ordered by a 64-bit hash of the key.
//! The order is what makes HSCAN/SSCAN/ZSCAN keep Redis's guarantee: the
//! cursor is the next hash to visit, so an element present for the whole
//! scan is returned however the map grows or shrinks in between (elements
//! sharing a hash are always returned together). It also gives a cheap random
//! element (the first at or after a random hash), like Redis's
//! `dictGetRandomKey`, approximately uniform.
//!
//! The hash is seeded once per process, so keys can't be chosen to collide.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::OnceLock;

fn hasher() -> &'static foldhash::fast::FixedState {
    static STATE: OnceLock<foldhash::fast::FixedState> = OnceLock::new();
    STATE.get_or_init(|| foldhash::fast::FixedState::with_seed(rand::random()))
}

/// The hash that orders `key` in every `ScanMap` of this process.
pub fn key_hash(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

/// The entries sharing one hash: almost always exactly one.
#[derive(Clone, Debug, PartialEq)]
enum Bucket<V> {
    One(Box<[u8]>, V),
    Many(Vec<(Box<[u8]>, V)>),
}

impl<V> Bucket<V> {
    fn find(&self, key: &[u8]) -> Option<&V> {
        match self {
            Bucket::One(k, v) => (**k == *key).then_some(v),
            Bucket::Many(list) => list.iter().find(|(k, _)| **k == *key).map(|(_, v)| v),
        }
    }

    fn find_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        match self {
            Bucket::One(k, v) => (**k == *key).then_some(v),
            Bucket::Many(list) => list.iter_mut().find(|(k, _)| **k == *key).map(|(_, v)| v),
        }
    }

    fn len(&self) -> usize {
        match self {
            Bucket::One(..) => 1,
            Bucket::Many(list) => list.len(),
        }
    }

    fn entry(&self, i: usize) -> (&[u8], &V) {
        match self {
            Bucket::One(k, v) => (k, v),
            Bucket::Many(list) => (&list[i].0, &list[i].1),
        }
    }
}

/// A hash-ordered map with a stable scan cursor (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct ScanMap<V> {
    tree: BTreeMap<u64, Bucket<V>>,
    len: usize,
}

impl<V> Default for ScanMap<V> {
    fn default() -> Self {
        ScanMap {
            tree: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<V> ScanMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.tree.get(&key_hash(key))?.find(key)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.tree.get_mut(&key_hash(key))?.find_mut(key)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Inserts or replaces; returns the old value.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        let h = key_hash(key);
        match self.tree.get_mut(&h) {
            None => {
                self.tree.insert(h, Bucket::One(key.into(), value));
                self.len += 1;
                None
            }
            Some(bucket) => {
                if let Some(v) = bucket.find_mut(key) {
                    return Some(std::mem::replace(v, value));
                }
                let old = std::mem::replace(bucket, Bucket::Many(Vec::new()));
                let mut list = match old {
                    Bucket::One(k, v) => vec![(k, v)],
                    Bucket::Many(list) => list,
                };
                list.push((key.into(), value));
                *bucket = Bucket::Many(list);
                self.len += 1;
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        let h = key_hash(key);
        let bucket = self.tree.get_mut(&h)?;
        match bucket {
            Bucket::One(k, _) => {
                if **k != *key {
                    return None;
                }
                self.len -= 1;
                match self.tree.remove(&h) {
                    Some(Bucket::One(_, v)) => Some(v),
                    _ => None,
                }
            }
            Bucket::Many(list) => {
                let i = list.iter().position(|(k, _)| **k == *key)?;
                let (_, v) = list.swap_remove(i);
                if list.len() == 1 {
                    if let Some((k, v1)) = list.pop() {
                        *bucket = Bucket::One(k, v1);
                    }
                }
                self.len -= 1;
                Some(v)
            }
        }
    }

    /// Every entry, in hash order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.tree
            .values()
            .flat_map(|b| (0..b.len()).map(move |i| b.entry(i)))
    }

    /// Visits entries from `cursor` on until about `count` were visited, and
    /// returns the cursor to continue from (0 when the scan is complete).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &V)) -> u64 {
        let mut visited = 0;
        for (&h, bucket) in self.tree.range(cursor..) {
            if visited >= count.max(1) {
                return h;
            }
            for i in 0..bucket.len() {
                let (k, v) = bucket.entry(i);
                visit(k, v);
            }
            visited += bucket.len();
        }
        0
    }

    /// A random entry, if any. The first bucket at or after a random hash is
    /// picked with probability proportional to the gap before it; stepping a
    /// further random 0..16 buckets averages 16 gaps, which makes the choice
    /// exactly uniform up to 16 buckets and close to it beyond.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<(&[u8], &V)> {
        if self.tree.is_empty() {
            return None;
        }
        let start: u64 = rng.gen();
        let extra = rng.gen_range(0..self.tree.len().min(16));
        let (_, bucket) = self
            .tree
            .range(start..)
            .chain(self.tree.iter())
            .nth(extra)?;
        Some(bucket.entry(rng.gen_range(0..bucket.len())))
    }

    pub fn clear(&mut self) {
        self.tree.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn insert_get_remove() {
        let mut m = ScanMap::new();
        assert_eq!(m.insert(b"a", 1), None);
        assert_eq!(m.insert(b"a", 2), Some(1));
        m.insert(b"b", 3);
        assert_eq!(m.get(b"a"), Some(&2));
        assert_eq!(m.len(), 2);
        assert_eq!(m.remove(b"a"), Some(2));
        assert_eq!(m.remove(b"a"), None);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn scan_returns_survivors_while_the_map_changes() {
        let mut m = ScanMap::new();
        for i in 0..2000 {
            m.insert(format!("keep:{i}").as_bytes(), ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = m.scan(cursor, 10, |k, _| {
                seen.insert(k.to_vec());
            });
            // Grow and shrink between calls.
            for j in 0..20 {
                m.insert(format!("tmp:{round}:{j}").as_bytes(), ());
            }
            if round > 0 {
                for j in 0..20 {
                    m.remove(format!("tmp:{}:{j}", round - 1).as_bytes());
                }
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..2000 {
            assert!(
                seen.contains(format!("keep:{i}").as_bytes()),
                "keep:{i} missed"
            );
        }
    }

    #[test]
    fn random_reaches_every_entry() {
        let mut m = ScanMap::new();
        for i in 0..10 {
            m.insert(format!("{i}").as_bytes(), i);
        }
        let mut rng = rand::thread_rng();
        let seen: HashSet<i32> = (0..5000).map(|_| *m.random(&mut rng).unwrap().1).collect();
        assert_eq!(seen.len(), 10);
    }
}
