//! The directory of a database's slot tables: which of the 16384 hash slots
//! have a table, and how many keys each holds.
//!
//! Two levels, so that memory follows use: 1024 chunks of 16 slots, a chunk
//! (160 bytes) allocated on the first key of one of its slots and freed with
//! its last key. A database with one key costs 16 KB of directory, not a
//! flat 16384-entry index and Fenwick tree (which made the first write after
//! FLUSHALL add 256 KB to `used_memory`; Redis adds less than 50 KB). A
//! Fenwick tree of the chunks' key counts finds the chunk holding the n-th
//! key in O(log n), then a walk of its 16 tables the slot (uniform random
//! keys).

use crate::slot::SLOT_COUNT;
use crate::table::SlotTable;
use crate::value::alloc_size;

const CHUNK_SLOTS: usize = 16;
const CHUNKS: usize = SLOT_COUNT / CHUNK_SLOTS;

/// 16 consecutive slots: their tables and how many keys they hold.
struct Chunk {
    tables: [Option<Box<SlotTable>>; CHUNK_SLOTS],
    keys: u64,
}

impl Chunk {
    fn new() -> Box<Chunk> {
        Box::new(Chunk {
            tables: std::array::from_fn(|_| None),
            keys: 0,
        })
    }
}

/// Adds `delta` at position `i` (0-based) of a Fenwick tree stored 1-based.
fn fenwick_add<T>(tree: &mut [T], i: usize, delta: i64)
where
    T: Copy + TryFrom<i64> + Into<i64>,
{
    let mut pos = i + 1;
    while pos < tree.len() {
        let v: i64 = tree[pos].into() + delta;
        tree[pos] = T::try_from(v).ok().unwrap_or(tree[pos]);
        pos += pos & pos.wrapping_neg();
    }
}

/// The position holding the `nth` unit (0-based) and the rank inside it.
fn fenwick_find<T: Copy + Into<i64>>(tree: &[T], nth: u64) -> Option<(usize, u64)> {
    let n = tree.len() - 1;
    let mut pos = 0usize;
    let mut remaining = nth as i64;
    let mut step = n.next_power_of_two();
    while step > 0 {
        let next = pos + step;
        if next <= n && tree[next].into() <= remaining {
            pos = next;
            remaining -= tree[next].into();
        }
        step >>= 1;
    }
    (pos < n).then_some((pos, remaining as u64))
}

/// The slot tables of one database.
#[derive(Default)]
pub struct SlotDir {
    /// Empty until the first key; then `CHUNKS` entries.
    chunks: Vec<Option<Box<Chunk>>>,
    /// Fenwick tree of the chunks' key counts (`CHUNKS + 1` entries).
    chunk_sizes: Vec<i64>,
}

impl SlotDir {
    /// The table of `slot`, if it has keys.
    pub fn get(&self, slot: usize) -> Option<&SlotTable> {
        let chunk = self.chunks.get(slot / CHUNK_SLOTS)?.as_deref()?;
        chunk.tables[slot % CHUNK_SLOTS].as_deref()
    }

    pub fn get_mut(&mut self, slot: usize) -> Option<&mut SlotTable> {
        let chunk = self.chunks.get_mut(slot / CHUNK_SLOTS)?.as_deref_mut()?;
        chunk.tables[slot % CHUNK_SLOTS].as_deref_mut()
    }

    /// The table of `slot`, created if needed (before its first key).
    pub fn get_or_insert(&mut self, slot: usize) -> &mut SlotTable {
        if self.chunks.is_empty() {
            self.chunks.resize_with(CHUNKS, || None);
            self.chunk_sizes = vec![0; CHUNKS + 1];
        }
        let chunk = self.chunks[slot / CHUNK_SLOTS].get_or_insert_with(Chunk::new);
        chunk.tables[slot % CHUNK_SLOTS].get_or_insert_with(Box::default)
    }

    /// Records a key added to (`delta` 1) or removed from (-1) `slot`'s
    /// table; an emptied table is freed, and its chunk with its last key.
    pub fn count(&mut self, slot: usize, delta: i64) {
        let (c, s) = (slot / CHUNK_SLOTS, slot % CHUNK_SLOTS);
        let Some(chunk) = self.chunks.get_mut(c).and_then(|ch| ch.as_deref_mut()) else {
            return;
        };
        chunk.keys = chunk.keys.saturating_add_signed(delta);
        if delta < 0 && chunk.tables[s].as_deref().is_some_and(|t| t.is_empty()) {
            chunk.tables[s] = None;
        }
        let chunk_empty = chunk.keys == 0;
        fenwick_add(&mut self.chunk_sizes, c, delta);
        if chunk_empty {
            self.chunks[c] = None;
        }
    }

    /// The slot holding the `nth` key (0-based) in slot order, and the
    /// key's rank in that slot.
    pub fn find(&self, nth: u64) -> Option<(usize, u64)> {
        if self.chunks.is_empty() {
            return None;
        }
        let (c, mut rank) = fenwick_find(&self.chunk_sizes, nth)?;
        let chunk = self.chunks[c].as_deref()?;
        for (s, table) in chunk.tables.iter().enumerate() {
            let len = table.as_deref().map_or(0, |t| t.len() as u64);
            if rank < len {
                return Some((c * CHUNK_SLOTS + s, rank));
            }
            rank -= len;
        }
        None
    }

    /// Every slot that has a table, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &SlotTable)> {
        self.chunks
            .iter()
            .enumerate()
            .filter_map(|(c, chunk)| chunk.as_deref().map(|chunk| (c, chunk)))
            .flat_map(|(c, chunk)| {
                chunk
                    .tables
                    .iter()
                    .enumerate()
                    .filter_map(move |(s, t)| t.as_deref().map(|t| (c * CHUNK_SLOTS + s, t)))
            })
    }

    /// The first slot at or after `slot` that has a table, if any.
    pub fn next_used(&self, slot: usize) -> Option<usize> {
        let mut slot = slot;
        while slot < SLOT_COUNT {
            let c = slot / CHUNK_SLOTS;
            match self.chunks.get(c).and_then(|ch| ch.as_deref()) {
                None => slot = (c + 1) * CHUNK_SLOTS,
                Some(chunk) => {
                    if chunk.tables[slot % CHUNK_SLOTS].is_some() {
                        return Some(slot);
                    }
                    slot += 1;
                }
            }
        }
        None
    }

    /// Bytes of the directory itself (not of the tables).
    pub fn memory_bytes(&self) -> usize {
        if self.chunks.is_empty() {
            return 0;
        }
        let top = alloc_size(self.chunks.capacity() * std::mem::size_of::<Option<Box<Chunk>>>())
            + alloc_size(self.chunk_sizes.capacity() * std::mem::size_of::<i64>());
        let used = self.chunks.iter().flatten().count();
        top + used * alloc_size(std::mem::size_of::<Chunk>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenwick_finds_the_nth_unit() {
        let mut tree = [0u32; 9];
        for (i, n) in [2i64, 0, 3, 1, 0, 0, 4, 1].iter().enumerate() {
            fenwick_add(&mut tree, i, *n);
        }
        let want = [0, 0, 2, 2, 2, 3, 6, 6, 6, 6, 7];
        for (nth, slot) in want.iter().enumerate() {
            assert_eq!(fenwick_find(&tree, nth as u64).map(|x| x.0), Some(*slot));
        }
        assert_eq!(fenwick_find(&tree, 11), None);
    }

    #[test]
    fn chunks_come_and_go_with_their_keys() {
        use crate::entry::Entry;
        use crate::table::table_hash;
        let mut dir = SlotDir::default();
        assert_eq!(dir.memory_bytes(), 0);
        let keys: Vec<(usize, Vec<u8>)> = [5usize, 300, 16383]
            .iter()
            .map(|&slot| {
                let key = (0u32..)
                    .map(|i| format!("k{i}").into_bytes())
                    .find(|k| crate::slot::key_hash_slot(k) == slot)
                    .unwrap();
                (slot, key)
            })
            .collect();
        for (slot, key) in &keys {
            let table = dir.get_or_insert(*slot);
            table.insert(Entry::new_string(key, b"v", 0), table_hash(key));
            dir.count(*slot, 1);
        }
        assert!(dir.memory_bytes() < 20 * 1024);
        assert_eq!(
            dir.iter().map(|(s, _)| s).collect::<Vec<_>>(),
            [5, 300, 16383]
        );
        assert_eq!(
            [0, 1, 2].map(|n| dir.find(n)),
            [Some((5, 0)), Some((300, 0)), Some((16383, 0))]
        );
        assert_eq!(dir.find(3), None);
        assert_eq!(dir.next_used(6), Some(300));
        assert_eq!(dir.next_used(16384), None);
        assert_eq!(dir.chunks.iter().flatten().count(), 3);
        let (slot, key) = &keys[1];
        dir.get_mut(*slot).unwrap().remove(key, table_hash(key));
        dir.count(*slot, -1);
        assert!(dir.get(*slot).is_none());
        assert_eq!(dir.chunks.iter().flatten().count(), 2);
        assert_eq!(dir.find(1), Some((16383, 0)));
    }
}
