//! One database: a table per hash slot, the expiry index, and sampling.
//!
//! Keys live in per-slot tables (`SlotTable`, created on a slot's first key),
//! so that a slot can be walked, counted, snapshotted or migrated on its own,
//! and so that a uniformly random key can be drawn in O(log n): a Fenwick tree
//! of slot sizes picks the slot, the slot's table a random entry in it
//! (RANDOMKEY, eviction sampling). Each key is one `Entry` (key, access clock
//! and value in one allocation). Expiry times live in a separate
//! index, like Redis's `expires` dict, so active expiry samples only volatile
//! keys.
//!
//! Snapshots without fork or copy: `begin_snapshot` marks every non-empty
//! slot as pending. Before any change to a pending slot, the slot is handed
//! to the snapshot's sink as it is (`guard`), then the change applies; the
//! saver works through the remaining slots in between (`save_pending_slots`).
//! The snapshot is therefore the data exactly as it was when it began, and
//! the extra memory is what the sink buffers, never a second dataset.
//!
//! Lazy expiry: every lookup that takes `now_ms` deletes a key whose time has
//! passed and records it in `expired_keys`; the caller drains that list to
//! count, notify and propagate the deletions. Eviction and active expiry use
//! the sampling functions here but decide in the caller.

use crate::entry::Entry;
use crate::slot::{key_hash_slot, SLOT_COUNT};
use crate::slot_dir::SlotDir;
use crate::table::{table_hash, SlotTable};
use crate::value::alloc_size;
use indexmap::IndexMap;
use rand::Rng;

type Hasher = foldhash::fast::RandomState;

/// Receives the slots a running snapshot must save.
pub trait SnapshotSink: Send {
    /// Saves one slot of database `db` (its index when the snapshot began):
    /// each entry with its expiry time.
    fn save_slot(
        &mut self,
        db: usize,
        entries: &mut dyn Iterator<Item = (&[u8], &Entry, Option<i64>)>,
    );
}

/// A sink shared by every database of one snapshot.
pub type SharedSnapshotSink = std::sync::Arc<std::sync::Mutex<dyn SnapshotSink>>;

/// A snapshot in progress on one database.
struct SnapshotProgress {
    /// The database's index when the snapshot began.
    index: usize,
    /// One bit per slot still to save.
    pending: Vec<u64>,
    remaining: usize,
    /// Where the next background step starts looking.
    next: usize,
    sink: SharedSnapshotSink,
}

/// Redis's `LAZYFREE_THRESHOLD`: a value costing more than this to free is
/// freed in the background when the deletion may be lazy.
pub const LAZYFREE_THRESHOLD: usize = 64;

/// A SCAN cursor: the next slot to visit; 0 starts and ends a scan.
pub type ScanCursor = u64;

/// A database (what SELECT chooses).
#[derive(Default)]
pub struct Db {
    /// The slot tables, and how many keys each holds.
    slots: SlotDir,
    len: usize,
    expires: IndexMap<Box<[u8]>, i64, Hasher>,
    /// Keys deleted by lazy expiry since the caller last drained this.
    pub expired_keys: Vec<Vec<u8>>,
    /// How many of those values Redis would free in the background
    /// (`free_effort` over `LAZYFREE_THRESHOLD`), for `lazyfreed_objects`.
    pub expired_lazyfree_candidates: u64,
    /// When false (a replica), expired keys are hidden but not deleted.
    pub delete_expired: bool,
    /// While a replica applies its master's stream: keys are never treated
    /// as expired (the master decides, and sends DEL), as in Redis.
    pub ignore_expiry: bool,
    /// Running average TTL seen by active expiry, for INFO keyspace.
    pub avg_ttl_ms: u64,
    snapshot: Option<Box<SnapshotProgress>>,
}

impl Db {
    pub fn new() -> Db {
        Db {
            delete_expired: true,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    fn table(&self, key: &[u8]) -> Option<&SlotTable> {
        self.slots.get(key_hash_slot(key))
    }

    /// Starts a snapshot: every slot that has keys now is pending.
    pub fn begin_snapshot(&mut self, index: usize, sink: SharedSnapshotSink) {
        let mut pending = vec![0u64; SLOT_COUNT / 64];
        let mut remaining = 0;
        for (slot, _) in self.slots.iter() {
            pending[slot / 64] |= 1 << (slot % 64);
            remaining += 1;
        }
        self.snapshot = Some(Box::new(SnapshotProgress {
            index,
            pending,
            remaining,
            next: 0,
            sink,
        }));
    }

    /// Forgets a snapshot (finished or abandoned).
    pub fn end_snapshot(&mut self) {
        self.snapshot = None;
    }

    /// True while slots of a snapshot remain to be saved.
    pub fn snapshot_pending(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| s.remaining > 0)
    }

    /// Saves `slot` to the running snapshot if it is still pending. Every
    /// mutation calls this first, which is what keeps the snapshot a
    /// point-in-time image.
    fn guard(&mut self, slot: usize) {
        let Some(snap) = self.snapshot.as_mut() else {
            return;
        };
        let (word, bit) = (slot / 64, 1u64 << (slot % 64));
        if snap.pending[word] & bit == 0 {
            return;
        }
        snap.pending[word] &= !bit;
        snap.remaining -= 1;
        let Some(table) = self.slots.get(slot) else {
            return;
        };
        let expires = &self.expires;
        let mut entries = table.iter().map(|e| {
            let key = e.key();
            let at = if expires.is_empty() {
                None
            } else {
                expires.get(key).copied()
            };
            (key, e, at)
        });
        let mut sink = snap.sink.lock().unwrap_or_else(|p| p.into_inner());
        sink.save_slot(snap.index, &mut entries);
    }

    /// Saves up to `max_slots` pending slots. Returns true when none is left.
    pub fn save_pending_slots(&mut self, max_slots: usize) -> bool {
        let mut saved = 0;
        while saved < max_slots {
            let Some(snap) = self.snapshot.as_ref() else {
                return true;
            };
            if snap.remaining == 0 {
                return true;
            }
            let mut slot = snap.next;
            while slot < SLOT_COUNT && snap.pending[slot / 64] & (1 << (slot % 64)) == 0 {
                slot += 1;
            }
            if slot >= SLOT_COUNT {
                return true;
            }
            if let Some(snap) = self.snapshot.as_mut() {
                snap.next = slot + 1;
            }
            self.guard(slot);
            saved += 1;
        }
        !self.snapshot_pending()
    }

    /// The entry under `key` regardless of expiry, without touching anything.
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.table(key)?.get(key, table_hash(key))
    }

    /// True if `key` exists and its time has passed.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        !self.expires.is_empty() && self.expires.get(key).is_some_and(|&at| at <= now_ms)
    }

    /// Deletes `key` if it has expired (lazy expiry). Returns true if the key is
    /// logically gone (deleted, or hidden when `delete_expired` is off).
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        if self.ignore_expiry || !self.is_expired(key, now_ms) {
            return false;
        }
        if self.delete_expired {
            if let Some(e) = self.remove(key) {
                if e.value().free_effort() > LAZYFREE_THRESHOLD {
                    self.expired_lazyfree_candidates += 1;
                }
            }
            self.expired_keys.push(key.to_vec());
        }
        true
    }

    /// The live entry under `key`, after lazy expiry.
    pub fn get(&mut self, key: &[u8], now_ms: i64) -> Option<&Entry> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.peek(key)
    }

    /// The live entry under `key`, mutable, after lazy expiry. The entry
    /// must keep its key (change it through `Entry::set_value` and friends).
    pub fn get_mut(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        let slot = key_hash_slot(key);
        self.guard(slot);
        self.slots.get_mut(slot)?.get_mut(key, table_hash(key))
    }

    pub fn contains(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Stores `entry` under its key, replacing any old entry but keeping its
    /// TTL (callers that overwrite, like SET without KEEPTTL, call `persist`
    /// too). Returns the old entry.
    pub fn insert(&mut self, entry: Entry) -> Option<Entry> {
        let key = entry.key();
        let slot = key_hash_slot(key);
        let hash = table_hash(key);
        self.guard(slot);
        let old = self.slots.get_or_insert(slot).insert(entry, hash);
        if old.is_none() {
            self.len += 1;
            self.slots.count(slot, 1);
        }
        old
    }

    /// Deletes `key` and its TTL. Returns the entry it had.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let slot = key_hash_slot(key);
        self.guard(slot);
        let entry = self.slots.get_mut(slot)?.remove(key, table_hash(key))?;
        self.len -= 1;
        self.slots.count(slot, -1);
        if !self.expires.is_empty() {
            self.expires.swap_remove(key);
        }
        Some(entry)
    }

    /// The absolute expiry time of `key` in ms, if it has one.
    pub fn expire_at(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// Sets the expiry of an existing key. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> bool {
        if self.peek(key).is_none() {
            return false;
        }
        self.guard(key_hash_slot(key));
        match self.expires.get_mut(key) {
            Some(at) => *at = at_ms,
            None => {
                self.expires.insert(key.into(), at_ms);
            }
        }
        true
    }

    /// Removes the TTL of `key`. Returns true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        self.guard(key_hash_slot(key));
        self.expires.swap_remove(key).is_some()
    }

    /// Removes every key (a running snapshot saves what it still needs first).
    pub fn clear(&mut self) {
        self.save_pending_slots(usize::MAX);
        let delete_expired = self.delete_expired;
        let snapshot = self.snapshot.take();
        *self = Db::new();
        self.delete_expired = delete_expired;
        self.snapshot = snapshot;
    }

    /// Calls `visit` for every key, in slot order.
    pub fn for_each(&self, mut visit: impl FnMut(&[u8], &Entry)) {
        for (_, table) in self.slots.iter() {
            for e in table.iter() {
                visit(e.key(), e);
            }
        }
    }

    /// Calls `visit` for every key of one hash slot.
    pub fn for_each_in_slot(&self, slot: usize, mut visit: impl FnMut(&[u8])) {
        if let Some(table) = self.slots.get(slot) {
            for e in table.iter() {
                visit(e.key());
            }
        }
    }

    /// Number of keys in one slot.
    pub fn slot_len(&self, slot: usize) -> usize {
        self.slots.get(slot).map_or(0, |t| t.len())
    }

    /// One SCAN step: visits whole slots from `cursor` until at least `count`
    /// keys have been visited (or `SLOT_COUNT` slots in all, to bound the work),
    /// and returns the next cursor (0 when done). Visiting whole slots is what
    /// gives SCAN its guarantee: a key present for the whole scan is returned,
    /// however the tables grow or shrink between calls.
    pub fn scan(
        &self,
        cursor: ScanCursor,
        count: usize,
        mut visit: impl FnMut(&[u8], &Entry),
    ) -> ScanCursor {
        let mut slot = cursor as usize;
        let mut visited = 0usize;
        while let Some(used) = self.slots.next_used(slot) {
            if let Some(table) = self.slots.get(used) {
                for e in table.iter() {
                    visit(e.key(), e);
                }
                visited += table.len();
            }
            slot = used + 1;
            if visited >= count {
                break;
            }
        }
        if self.slots.next_used(slot).is_none() {
            return 0;
        }
        if slot >= SLOT_COUNT {
            0
        } else {
            slot as ScanCursor
        }
    }

    /// A uniformly random key (expired or not), if any.
    pub fn random_key(&self, rng: &mut impl Rng) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        // A slot with the chance of its share of the keys, then a key of
        // the slot with equal chances: every key equally likely.
        let nth = rng.gen_range(0..self.len);
        let (slot, _) = self.slots.find(nth as u64)?;
        let table = self.slots.get(slot)?;
        table.random(rng).map(|e| e.key())
    }

    /// A uniformly random key that has a TTL, with its expiry time.
    pub fn random_volatile_key(&self, rng: &mut impl Rng) -> Option<(&[u8], i64)> {
        if self.expires.is_empty() {
            return None;
        }
        let i = rng.gen_range(0..self.expires.len());
        self.expires.get_index(i).map(|(k, &at)| (&**k, at))
    }

    /// Bytes of the key tables themselves (slot index, buckets, control
    /// bytes, Fenwick tree), not of the entries they point to.
    pub fn table_memory_bytes(&self) -> usize {
        let index = self.slots.memory_bytes();
        let tables: usize = self
            .slots
            .iter()
            .map(|(_, t)| alloc_size(std::mem::size_of::<SlotTable>()) + t.memory_bytes())
            .sum();
        index + tables
    }

    /// Approximate bytes held for `key` and its entry (MEMORY USAGE, eviction).
    pub fn key_memory_bytes(&self, key: &[u8]) -> Option<usize> {
        let table = self.table(key)?;
        let entry = table.get(key, table_hash(key))?;
        // The key's share of its slot's table.
        let bucket = table.memory_bytes().div_ceil(table.len());
        let ttl = if self.expire_at(key).is_some() {
            alloc_size(key.len()) + 34
        } else {
            0
        };
        Some(bucket + entry.memory_bytes() + ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Value, ValueRef};
    use std::collections::HashSet;

    fn entry(key: &[u8], v: &str) -> Entry {
        Entry::new_string(key, v.as_bytes(), 0)
    }

    #[test]
    fn insert_get_remove() {
        let mut db = Db::new();
        assert!(db.insert(entry(b"a", "1")).is_none());
        assert!(db.insert(entry(b"a", "2")).is_some());
        assert_eq!(db.len(), 1);
        assert_eq!(db.get(b"a", 0).unwrap().value(), ValueRef::Int(2));
        assert!(db.remove(b"a").is_some());
        assert!(db.is_empty());
        assert!(db.get(b"a", 0).is_none());
    }

    #[test]
    fn lazy_expiry_deletes_and_records() {
        let mut db = Db::new();
        db.insert(entry(b"k", "v"));
        db.set_expire(b"k", 100);
        assert!(db.get(b"k", 99).is_some());
        assert!(db.get(b"k", 100).is_none());
        assert_eq!(db.expired_keys, vec![b"k".to_vec()]);
        assert_eq!(db.expires_len(), 0);
        assert!(db.is_empty());
    }

    #[test]
    fn replicas_hide_but_keep_expired_keys() {
        let mut db = Db::new();
        db.delete_expired = false;
        db.insert(entry(b"k", "v"));
        db.set_expire(b"k", 100);
        assert!(db.get(b"k", 200).is_none());
        assert_eq!(db.len(), 1);
    }

    #[test]
    fn scan_visits_every_key_once() {
        let mut db = Db::new();
        for i in 0..5000 {
            db.insert(entry(format!("key:{i}").as_bytes(), "x"));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 10, |k, _| assert!(seen.insert(k.to_vec())));
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 5000);
    }

    #[test]
    fn random_key_reaches_every_key() {
        let mut db = Db::new();
        for i in 0..20 {
            db.insert(entry(format!("k{i}").as_bytes(), "x"));
        }
        let mut rng = rand::thread_rng();
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            seen.insert(db.random_key(&mut rng).unwrap().to_vec());
        }
        assert_eq!(seen.len(), 20);
    }

    /// A sink that records what it was given.
    struct Recorder(Vec<(usize, Vec<u8>, Value, Option<i64>)>);

    impl SnapshotSink for Recorder {
        fn save_slot(
            &mut self,
            db: usize,
            entries: &mut dyn Iterator<Item = (&[u8], &Entry, Option<i64>)>,
        ) {
            for (k, e, exp) in entries {
                self.0.push((db, k.to_vec(), e.value().to_value(), exp));
            }
        }
    }

    #[test]
    fn snapshot_sees_the_data_as_it_was_when_it_began() {
        let mut db = Db::new();
        for i in 0..500 {
            db.insert(entry(format!("k{i}").as_bytes(), &i.to_string()));
        }
        db.set_expire(b"k7", 123_456);
        let recorder = std::sync::Arc::new(std::sync::Mutex::new(Recorder(Vec::new())));
        db.begin_snapshot(3, recorder.clone());
        // Writes while the snapshot runs: overwrite, delete, add, expire, persist.
        db.insert(entry(b"k1", "changed"));
        db.remove(b"k2");
        db.insert(entry(b"new", "x"));
        db.persist(b"k7");
        db.set_expire(b"k8", 1);
        db.save_pending_slots(10);
        db.clear();
        assert!(!db.snapshot_pending());
        let seen = &recorder.lock().unwrap().0;
        assert_eq!(seen.len(), 500, "every key once, nothing added later");
        let find = |k: &str| {
            seen.iter()
                .find(|(_, key, _, _)| key == k.as_bytes())
                .cloned()
        };
        assert_eq!(find("k1").unwrap().2, Value::Int(1));
        assert!(find("k2").is_some());
        assert!(find("new").is_none());
        assert_eq!(find("k7").unwrap().3, Some(123_456));
        assert_eq!(find("k8").unwrap().3, None);
        assert!(seen.iter().all(|(d, _, _, _)| *d == 3));
    }

    proptest::proptest! {
        /// The database against a `HashMap`: every write, then reads, a
        /// full SCAN and random keys agree with the model, while slots
        /// appear, grow, shrink and disappear.
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec((0u8..5, 0u16..2000, proptest::num::i64::ANY), 0..3000)) {
            use std::collections::HashMap;
            let mut db = Db::new();
            let mut model: HashMap<Vec<u8>, Value> = HashMap::new();
            let mut rng = rand::thread_rng();
            for (op, k, v) in ops {
                // A hash tag puts a third of the keys in one slot, so that
                // slot's table grows large.
                let key = if k % 3 == 0 { format!("{{tag}}{k}") } else { format!("key:{k}") }.into_bytes();
                match op {
                    0 | 1 => {
                        let value = Value::Int(v);
                        let old = db.insert(Entry::new(&key, value.clone(), 0)).map(|e| e.into_value());
                        proptest::prop_assert_eq!(old, model.insert(key, value));
                    }
                    2 | 3 => {
                        let old = db.remove(&key).map(|e| e.into_value());
                        proptest::prop_assert_eq!(old, model.remove(&key));
                    }
                    _ => {
                        let got = db.get(&key, 0).map(|e| e.value().to_value());
                        proptest::prop_assert_eq!(got.as_ref(), model.get(&key));
                        if let Some(r) = db.random_key(&mut rng) {
                            proptest::prop_assert!(model.contains_key(r));
                        } else {
                            proptest::prop_assert!(model.is_empty());
                        }
                    }
                }
                proptest::prop_assert_eq!(db.len(), model.len());
            }
            let mut seen = HashMap::new();
            let mut cursor = 0;
            loop {
                cursor = db.scan(cursor, 7, |k, e| {
                    assert!(seen.insert(k.to_vec(), e.value().to_value()).is_none());
                });
                if cursor == 0 {
                    break;
                }
            }
            proptest::prop_assert_eq!(seen, model);
        }

        #[test]
        fn fenwick_find_agrees_with_linear_count(keys in proptest::collection::hash_set("[a-z]{1,6}", 1..200)) {
            let mut db = Db::new();
            for k in &keys { db.insert(entry(k.as_bytes(), "v")); }
            let mut all = Vec::new();
            db.for_each(|k, _| all.push(k.to_vec()));
            for (nth, k) in all.iter().enumerate() {
                let (slot, idx) = db.slots.find(nth as u64).unwrap();
                let table = db.slots.get(slot).unwrap();
                proptest::prop_assert_eq!(table.iter().nth(idx as usize).unwrap().key(), &k[..]);
            }
        }
    }
}
