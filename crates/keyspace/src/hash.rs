//! Hashes: a `Listpack` of field/value pairs while small (`listpack`
//! encoding), a `ScanMap` past `hash-max-listpack-entries` entries or
//! `hash-max-listpack-value` bytes (`hashtable` encoding), as in Redis.
//!
//! The conversion is one-way: a table never goes back to a listpack, however
//! small it gets. Writers call `shrink_to_fit` when a command is done, so a
//! listpack holds no spare capacity between commands (what keeps a small hash
//! as lean as Redis's).

use crate::listpack::Listpack;
use crate::scanmap::ScanMap;
use crate::value::EncodingLimits;
use rand::seq::index::sample;
use rand::Rng;

/// The table encoding: field -> value.
pub type HashTable = ScanMap<Box<[u8]>>;

#[derive(Clone, Debug, PartialEq)]
pub enum HashValue {
    /// Fields and values alternate: f1 v1 f2 v2 ...
    Listpack(Listpack),
    /// Boxed so that the enum stays as small as the listpack variant.
    Table(Box<HashTable>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Listpack(Listpack::new())
    }
}

/// Index of the pair whose field is `field` in a field/value listpack.
fn lp_find(lp: &Listpack, field: &[u8]) -> Option<usize> {
    lp.find(field, 0, 2).map(|i| i / 2)
}

impl HashValue {
    pub fn new() -> HashValue {
        HashValue::default()
    }

    pub fn len(&self) -> usize {
        match self {
            HashValue::Listpack(lp) => lp.len() / 2,
            HashValue::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            HashValue::Listpack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// Field/value pairs (in listpack order, or hash order for a table).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            HashValue::Listpack(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            HashValue::Table(t) => Box::new(t.iter().map(|(k, v)| (k, &**v))),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            HashValue::Listpack(_) => self.iter().find(|(f, _)| *f == field).map(|(_, v)| v),
            HashValue::Table(t) => t.get(field).map(|v| &**v),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts to the table encoding (no-op if already a table).
    pub fn convert_to_table(&mut self) {
        if let HashValue::Listpack(lp) = self {
            let mut table = HashTable::new();
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                table.insert(f, v.into());
            }
            *self = HashValue::Table(Box::new(table));
        }
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to a
    /// table, as Redis does, when the field or the value is longer than
    /// `hash-max-listpack-value` or the hash grows past
    /// `hash-max-listpack-entries`.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        if let HashValue::Listpack(_) = self {
            let max = limits.hash_max_listpack_value;
            if field.len() > max || value.len() > max {
                self.convert_to_table();
            }
        }
        let created = match self {
            HashValue::Listpack(lp) => match lp_find(lp, field) {
                Some(i) => {
                    lp.replace(2 * i + 1, value);
                    false
                }
                None => {
                    lp.push_back(field);
                    lp.push_back(value);
                    true
                }
            },
            HashValue::Table(t) => t.insert(field, value.into()).is_none(),
        };
        if created && self.len() > limits.hash_max_listpack_entries {
            self.convert_to_table();
        }
        created
    }

    /// Removes `field`; returns true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack(lp) => match lp_find(lp, field) {
                Some(i) => {
                    lp.remove_range(2 * i, 2);
                    true
                }
                None => false,
            },
            HashValue::Table(t) => t.remove(field).is_some(),
        }
    }

    /// The `i`-th pair in iteration order (linear for a table; used for
    /// listpacks, whose pairs are indexed).
    fn pair_at(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match self {
            HashValue::Listpack(lp) => Some((lp.get(2 * i)?, lp.get(2 * i + 1)?)),
            HashValue::Table(_) => self.iter().nth(i),
        }
    }

    /// One uniformly random pair (close to uniform for a large table).
    pub fn random_pair(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        match self {
            HashValue::Listpack(lp) => {
                if lp.is_empty() {
                    return None;
                }
                self.pair_at(rng.gen_range(0..lp.len() / 2))
            }
            HashValue::Table(t) => t.random(rng).map(|(k, v)| (k, &**v)),
        }
    }

    /// `count` random pairs, repetitions allowed (HRANDFIELD with a negative count).
    pub fn random_pairs_with_repeats(
        &self,
        count: usize,
        rng: &mut impl Rng,
    ) -> Vec<(&[u8], &[u8])> {
        if self.is_empty() {
            return Vec::new();
        }
        match self {
            HashValue::Listpack(_) => {
                let pairs: Vec<(&[u8], &[u8])> = self.iter().collect();
                (0..count)
                    .map(|_| pairs[rng.gen_range(0..pairs.len())])
                    .collect()
            }
            HashValue::Table(_) => (0..count).filter_map(|_| self.random_pair(rng)).collect(),
        }
    }

    /// `count` distinct random pairs (all of them if `count >= len`), in
    /// random order.
    pub fn random_distinct_pairs(&self, count: usize, rng: &mut impl Rng) -> Vec<(&[u8], &[u8])> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        match self {
            HashValue::Table(t) if count * 3 <= len => {
                // Few of many: draw until enough distinct fields came up.
                let mut seen = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    if let Some((k, v)) = t.random(rng) {
                        if seen.insert(k) {
                            out.push((k, &**v));
                        }
                    }
                }
                out
            }
            _ => {
                let pairs: Vec<(&[u8], &[u8])> = self.iter().collect();
                sample(rng, len, count)
                    .into_iter()
                    .map(|i| pairs[i])
                    .collect()
            }
        }
    }

    /// One HSCAN step: a listpack is visited whole (cursor 0 is returned); a
    /// table from `cursor` on, about `count` entries, returning the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match self {
            HashValue::Listpack(_) => {
                for (f, v) in self.iter() {
                    visit(f, v);
                }
                0
            }
            HashValue::Table(t) => t.scan(cursor, count, |k, v| visit(k, v)),
        }
    }

    /// Drops spare capacity (call after a write command).
    pub fn shrink_to_fit(&mut self) {
        if let HashValue::Listpack(lp) = self {
            lp.shrink_to_fit();
        }
    }

    pub fn memory_bytes(&self) -> usize {
        use crate::value::alloc_size;
        match self {
            HashValue::Listpack(lp) => alloc_size(lp.capacity_bytes()),
            HashValue::Table(t) => t
                .iter()
                .map(|(k, v)| 48 + alloc_size(k.len()) + alloc_size(v.len()))
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashSet};

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    #[test]
    fn enum_is_two_words() {
        // What a hash costs inside its key's entry (see `raw::entry`).
        assert_eq!(std::mem::size_of::<Listpack>(), 8);
        assert_eq!(std::mem::size_of::<HashValue>(), 16);
    }

    #[test]
    fn set_get_remove_in_a_listpack() {
        let l = EncodingLimits::default();
        let mut h = HashValue::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(h.set(b"b", b"2", &l));
        assert!(!h.set(b"a", b"3", &l));
        assert_eq!(h.get(b"a"), Some(&b"3"[..]));
        assert_eq!(h.get(b"x"), None);
        assert_eq!(h.len(), 2);
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(&b"b"[..], &b"2"[..])]);
        assert_eq!(h.encoding_name(), "listpack");
    }

    #[test]
    fn converts_on_entries_and_lengths_one_way() {
        let l = limits(2, 4);
        let mut h = HashValue::new();
        h.set(b"a", b"1", &l);
        h.set(b"b", b"2", &l);
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"c", b"3", &l);
        assert_eq!(h.encoding_name(), "hashtable");
        h.remove(b"c");
        h.remove(b"b");
        assert_eq!(h.encoding_name(), "hashtable");

        let mut h = HashValue::new();
        h.set(b"a", b"1234", &l);
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"a", b"12345", &l);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"12345"[..]));

        let mut h = HashValue::new();
        h.set(b"fffff", b"1", &l);
        assert_eq!(h.encoding_name(), "hashtable");

        // Zero entries allowed: the first field converts.
        let mut h = HashValue::new();
        h.set(b"a", b"1", &limits(0, 64));
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn random_distinct_pairs_are_distinct() {
        let l = limits(1000, 64);
        let mut rng = rand::thread_rng();
        for n in [3usize, 50, 300] {
            let mut h = HashValue::new();
            for i in 0..n {
                h.set(format!("f{i}").as_bytes(), b"v", &l);
            }
            if n == 300 {
                h.convert_to_table();
            }
            for count in [1, 2, n / 3, n / 2, n - 1, n, n + 5] {
                let got = h.random_distinct_pairs(count, &mut rng);
                assert_eq!(got.len(), count.min(n));
                let distinct: HashSet<&[u8]> = got.iter().map(|p| p.0).collect();
                assert_eq!(distinct.len(), got.len());
            }
            let rep = h.random_pairs_with_repeats(20, &mut rng);
            assert_eq!(rep.len(), 20);
            assert!(rep.iter().all(|(f, _)| h.contains(f)));
        }
    }

    #[test]
    fn scan_of_a_listpack_is_whole() {
        let l = EncodingLimits::default();
        let mut h = HashValue::new();
        for i in 0..10 {
            h.set(format!("f{i}").as_bytes(), b"v", &l);
        }
        let mut n = 0;
        assert_eq!(h.scan(12345, 1, |_, _| n += 1), 0);
        assert_eq!(n, 10);
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(
            ops in proptest::collection::vec((0u8..3, 0u8..24, proptest::collection::vec(any::<u8>(), 0..12)), 0..200),
            max_entries in 0usize..20,
            max_value in 0usize..12,
        ) {
            let l = limits(max_entries, max_value);
            let mut h = HashValue::new();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            let mut was_table = false;
            for (op, f, v) in ops {
                let field = format!("f{f}").into_bytes();
                match op {
                    0 | 1 => {
                        let created = h.set(&field, &v, &l);
                        prop_assert_eq!(created, model.insert(field.clone(), v.clone()).is_none());
                    }
                    _ => prop_assert_eq!(h.remove(&field), model.remove(&field).is_some()),
                }
                h.shrink_to_fit();
                prop_assert_eq!(h.len(), model.len());
                if was_table {
                    prop_assert_eq!(h.encoding_name(), "hashtable");
                }
                if h.encoding_name() == "listpack" {
                    prop_assert!(h.len() <= max_entries);
                    prop_assert!(h.iter().all(|(f, v)| f.len() <= max_value && v.len() <= max_value));
                }
                was_table = h.encoding_name() == "hashtable";
            }
            let got: BTreeMap<Vec<u8>, Vec<u8>> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            prop_assert_eq!(&got, &model);
            for (f, v) in &model {
                prop_assert_eq!(h.get(f), Some(&v[..]));
            }
            let mut scanned = BTreeMap::new();
            let mut cursor = 0;
            loop {
                cursor = h.scan(cursor, 3, |f, v| { scanned.insert(f.to_vec(), v.to_vec()); });
                if cursor == 0 { break; }
            }
            prop_assert_eq!(scanned, model);
        }
    }
}
