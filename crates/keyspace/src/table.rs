//! `SlotTable`: the keys of one hash slot, an open-addressing table of thin
//! entry pointers.
//!
//! A bucket is an `Option<Entry>` (8 bytes: an entry is one non-null
//! pointer to its key and value) plus a control byte: 0 when empty, else
//! `0x80 |` seven bits of the key's hash, so a probe reads an entry only when
//! those bits match (1 time in 128 for another key). Probing is linear, and
//! a removal shifts the entries after it back instead of leaving a
//! tombstone, so a lookup stops at the first empty bucket and the table
//! never needs cleaning.
//!
//! The capacity need not be a power of two (the home bucket is
//! `hash * capacity >> 64`), so the table can grow by half instead of
//! doubling: it grows when it would pass 13/16 full and is rebuilt at half
//! full when it falls below a quarter. Between resizes it is about 54% to
//! 81% full, so a key costs about 9 / 0.67 ≈ 13.5 bytes here, against
//! Redis's 8-byte bucket plus 24-byte (32 with jemalloc) `dictEntry`.
//! Resizing rehashes each key from its entry, since hashes are not stored.
//!
//! A uniformly random entry (RANDOMKEY, eviction sampling) is drawn by
//! rejection: random buckets until a full one. Every entry has the same
//! chance, and the load floor keeps the expected tries at most 4.
//!
//! No unsafe code: all of it is in `entry`.

use crate::entry::Entry;
use crate::scanmap::key_hash;
use crate::value::alloc_size;
use rand::Rng;

const EMPTY: u8 = 0;
const MIN_CAPACITY: usize = 4;

/// The keys of one slot (see the module doc).
pub struct SlotTable {
    ctrl: Box<[u8]>,
    buckets: Box<[Option<Entry>]>,
    len: usize,
}

/// The hash a table files `key` under.
pub fn table_hash(key: &[u8]) -> u64 {
    key_hash(key)
}

fn tag(hash: u64) -> u8 {
    0x80 | (hash as u8 & 0x7f)
}

fn home(hash: u64, capacity: usize) -> usize {
    ((hash as u128 * capacity as u128) >> 64) as usize
}

/// Most keys a table of `capacity` buckets holds before it grows; always
/// below `capacity`, so every probe meets an empty bucket.
fn max_len(capacity: usize) -> usize {
    capacity * 13 / 16
}

impl Default for SlotTable {
    fn default() -> Self {
        SlotTable::with_capacity(MIN_CAPACITY)
    }
}

impl SlotTable {
    pub fn new() -> SlotTable {
        SlotTable::default()
    }

    fn with_capacity(capacity: usize) -> SlotTable {
        SlotTable {
            ctrl: vec![EMPTY; capacity].into_boxed_slice(),
            buckets: (0..capacity).map(|_| None).collect(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn capacity(&self) -> usize {
        self.ctrl.len()
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.capacity() {
            0
        } else {
            i + 1
        }
    }

    /// The bucket holding `key`, which hashes to `hash`.
    fn find(&self, key: &[u8], hash: u64) -> Option<usize> {
        let t = tag(hash);
        let mut i = home(hash, self.capacity());
        loop {
            let c = self.ctrl[i];
            if c == EMPTY {
                return None;
            }
            if c == t && self.buckets[i].as_ref().is_some_and(|e| e.key() == key) {
                return Some(i);
            }
            i = self.next(i);
        }
    }

    pub fn get(&self, key: &[u8], hash: u64) -> Option<&Entry> {
        let i = self.find(key, hash)?;
        self.buckets[i].as_ref()
    }

    /// The entry under `key`, mutable. It must keep its key.
    pub fn get_mut(&mut self, key: &[u8], hash: u64) -> Option<&mut Entry> {
        let i = self.find(key, hash)?;
        self.buckets[i].as_mut()
    }

    /// Stores `entry`, whose key hashes to `hash`; returns the entry it
    /// replaces, if the key was there.
    pub fn insert(&mut self, entry: Entry, hash: u64) -> Option<Entry> {
        if self.len + 1 > max_len(self.capacity()) {
            if let Some(i) = self.find(entry.key(), hash) {
                return self.buckets[i].replace(entry);
            }
            let grown = (self.capacity() + self.capacity() / 2).max(MIN_CAPACITY);
            self.resize(grown);
            self.place(entry, hash);
            return None;
        }
        // One probe: without tombstones, the first empty bucket on the way
        // is where a new key belongs.
        let t = tag(hash);
        let mut i = home(hash, self.capacity());
        loop {
            let c = self.ctrl[i];
            if c == EMPTY {
                self.ctrl[i] = t;
                self.buckets[i] = Some(entry);
                self.len += 1;
                return None;
            }
            if c == t
                && self.buckets[i]
                    .as_ref()
                    .is_some_and(|e| e.key() == entry.key())
            {
                return self.buckets[i].replace(entry);
            }
            i = self.next(i);
        }
    }

    /// Puts `entry` (not present) in the first empty bucket from its home.
    fn place(&mut self, entry: Entry, hash: u64) {
        let mut i = home(hash, self.capacity());
        while self.ctrl[i] != EMPTY {
            i = self.next(i);
        }
        self.ctrl[i] = tag(hash);
        self.buckets[i] = Some(entry);
        self.len += 1;
    }

    fn resize(&mut self, capacity: usize) {
        debug_assert!(max_len(capacity) >= self.len);
        let old = std::mem::replace(self, SlotTable::with_capacity(capacity));
        for entry in old.buckets.into_vec().into_iter().flatten() {
            let hash = table_hash(entry.key());
            self.place(entry, hash);
        }
    }

    /// Removes and returns the entry under `key`, which hashes to `hash`.
    pub fn remove(&mut self, key: &[u8], hash: u64) -> Option<Entry> {
        let i = self.find(key, hash)?;
        let entry = self.buckets[i].take();
        self.ctrl[i] = EMPTY;
        self.len -= 1;
        self.close_gap(i);
        if self.len * 4 < self.capacity() && self.capacity() > MIN_CAPACITY {
            self.resize((self.len * 2).max(MIN_CAPACITY));
        }
        entry
    }

    /// After bucket `hole` was emptied: moves back each later entry of the
    /// run that may use it, so every entry stays reachable from its home
    /// without crossing an empty bucket.
    fn close_gap(&mut self, mut hole: usize) {
        let capacity = self.capacity();
        let mut j = self.next(hole);
        while self.ctrl[j] != EMPTY {
            let h = match &self.buckets[j] {
                Some(e) => home(table_hash(e.key()), capacity),
                None => unreachable!("full control byte over an empty bucket"),
            };
            // The entry at `j` must stay if its home lies cyclically in (hole, j].
            let stays = if hole <= j {
                hole < h && h <= j
            } else {
                hole < h || h <= j
            };
            if !stays {
                self.buckets[hole] = self.buckets[j].take();
                self.ctrl[hole] = self.ctrl[j];
                self.ctrl[j] = EMPTY;
                hole = j;
            }
            j = self.next(j);
        }
    }

    /// Every entry, in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flatten()
    }

    /// A uniformly random entry.
    pub fn random(&self, rng: &mut impl Rng) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        let capacity = self.capacity();
        for _ in 0..64 {
            if let Some(e) = &self.buckets[rng.gen_range(0..capacity)] {
                return Some(e);
            }
        }
        // At least a quarter full, so this is all but unreachable.
        let start = rng.gen_range(0..capacity);
        (0..capacity).find_map(|k| self.buckets[(start + k) % capacity].as_ref())
    }

    /// Bytes of the table itself (buckets and control bytes), not of the entries.
    pub fn memory_bytes(&self) -> usize {
        alloc_size(self.capacity())
            + alloc_size(self.capacity() * std::mem::size_of::<Option<Entry>>())
    }

    /// Checks the structure (tests only): the count, the control bytes, and
    /// that every entry is reachable from its home.
    #[cfg(test)]
    fn check(&self) {
        assert!(self.len <= max_len(self.capacity()).max(1));
        assert_eq!(self.iter().count(), self.len);
        for (i, b) in self.buckets.iter().enumerate() {
            match b {
                None => assert_eq!(self.ctrl[i], EMPTY),
                Some(e) => {
                    let hash = table_hash(e.key());
                    assert_eq!(self.ctrl[i], tag(hash));
                    assert_eq!(self.find(e.key(), hash), Some(i));
                }
            }
        }
    }
}

impl std::fmt::Debug for SlotTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn put(t: &mut SlotTable, key: &[u8], n: i64) -> Option<Entry> {
        t.insert(Entry::new(key, Value::Int(n), 0), table_hash(key))
    }

    #[test]
    fn grows_and_shrinks_keeping_every_key() {
        let mut t = SlotTable::new();
        for i in 0..10_000i64 {
            assert!(put(&mut t, i.to_string().as_bytes(), i).is_none());
        }
        t.check();
        assert_eq!(t.len(), 10_000);
        assert!(t.capacity() < 10_000 * 2);
        for i in 0..9_990i64 {
            let k = i.to_string();
            let e = t.remove(k.as_bytes(), table_hash(k.as_bytes())).unwrap();
            assert_eq!(e.into_value(), Value::Int(i));
        }
        t.check();
        assert!(t.capacity() <= 40, "shrunk: {}", t.capacity());
        for i in 9_990..10_000i64 {
            let k = i.to_string();
            assert!(t.get(k.as_bytes(), table_hash(k.as_bytes())).is_some());
        }
    }

    #[test]
    fn random_reaches_every_entry_evenly() {
        let mut t = SlotTable::new();
        for i in 0..10i64 {
            put(&mut t, &[b'k', i as u8], i);
        }
        let mut rng = rand::thread_rng();
        let mut counts = HashMap::new();
        for _ in 0..20_000 {
            *counts
                .entry(t.random(&mut rng).unwrap().key().to_vec())
                .or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 10);
        assert!(
            counts.values().all(|&c| (1500..2500).contains(&c)),
            "{counts:?}"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, i64),
        Remove(u16),
        Get(u16),
        Random,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct keys, so replacements and removals hit often, with
        // bursts of inserts and removals that make the table grow and shrink.
        prop_oneof![
            3 => (0u16..300, any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => (0u16..300).prop_map(Op::Remove),
            1 => (0u16..300).prop_map(Op::Get),
            1 => Just(Op::Random),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec(op(), 0..2000)) {
            let mut t = SlotTable::new();
            let mut model: HashMap<Vec<u8>, i64> = HashMap::new();
            let mut rng = rand::thread_rng();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let key = format!("key:{k}").into_bytes();
                        let old = put(&mut t, &key, v).map(|e| e.into_value());
                        prop_assert_eq!(old, model.insert(key, v).map(Value::Int));
                    }
                    Op::Remove(k) => {
                        let key = format!("key:{k}").into_bytes();
                        let old = t.remove(&key, table_hash(&key)).map(|e| e.into_value());
                        prop_assert_eq!(old, model.remove(&key).map(Value::Int));
                    }
                    Op::Get(k) => {
                        let key = format!("key:{k}").into_bytes();
                        let got = t.get(&key, table_hash(&key)).map(|e| e.value().to_value());
                        prop_assert_eq!(got, model.get(&key).copied().map(Value::Int));
                    }
                    Op::Random => {
                        let got = t.random(&mut rng).map(|e| e.key().to_vec());
                        prop_assert_eq!(got.is_some(), !model.is_empty());
                        if let Some(k) = got {
                            prop_assert!(model.contains_key(&k));
                        }
                    }
                }
                prop_assert_eq!(t.len(), model.len());
            }
            t.check();
            let mut keys: Vec<Vec<u8>> = t.iter().map(|e| e.key().to_vec()).collect();
            keys.sort();
            let mut want: Vec<Vec<u8>> = model.keys().cloned().collect();
            want.sort();
            prop_assert_eq!(keys, want);
        }
    }
}
