//! Sorted sets, with Redis 7.0's two encodings:
//! - `listpack`: every element in one exactly sized buffer in (score, member)
//!   order (`Packed`), while there are at most `zset-max-listpack-entries`
//!   elements and no member is longer than `zset-max-listpack-value`;
//! - `skiplist`: past those limits (one way, as in Redis), a member -> score
//!   table (`ScanMap`, which also gives ZSCAN its cursor guarantee) plus an
//!   order-statistics B+tree of (score, member) (`Tree`), which does what
//!   Redis's skiplist with spans does, in O(log n).
//!
//! The order is by score, then by member bytes (memcmp, shorter first).
//! Callers never store NaN scores.

mod codec;
mod packed;
mod tree;

pub use packed::Packed;
pub use tree::Tree;

use crate::scanmap::ScanMap;
use crate::value::{alloc_size, EncodingLimits};

#[derive(Clone, Debug, PartialEq)]
pub enum ZSetValue {
    Listpack(Packed),
    Skiplist(Box<Big>),
}

/// The `skiplist` encoding.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Big {
    dict: ScanMap<f64>,
    tree: Tree,
}

impl Big {
    fn set(&mut self, member: &[u8], score: f64) -> bool {
        match self.dict.get_mut(member) {
            Some(old) => {
                let was = std::mem::replace(old, score);
                self.tree.remove(was, member);
                self.tree.insert(score, member);
                false
            }
            None => {
                self.dict.insert(member, score);
                self.tree.insert(score, member);
                true
            }
        }
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.dict.remove(member)?;
        self.tree.remove(score, member);
        Some(score)
    }
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Listpack(Packed::new())
    }
}

impl ZSetValue {
    /// An empty `listpack` sorted set.
    pub fn new() -> ZSetValue {
        ZSetValue::default()
    }

    /// An empty `skiplist` sorted set.
    pub fn new_skiplist() -> ZSetValue {
        ZSetValue::Skiplist(Box::default())
    }

    /// Builds a sorted set from distinct members with the encoding Redis
    /// gives a computed result (ZUNIONSTORE, ZRANGESTORE...): `listpack`
    /// when it fits the limits, else `skiplist`.
    pub fn from_members<'a>(
        items: impl IntoIterator<Item = (&'a [u8], f64)>,
        limits: &EncodingLimits,
    ) -> ZSetValue {
        let items: Vec<(&[u8], f64)> = items.into_iter().collect();
        let fits = items.len() <= limits.zset_max_listpack_entries
            && items
                .iter()
                .all(|(m, _)| m.len() <= limits.zset_max_listpack_value);
        if fits {
            let mut sorted = items;
            sorted.sort_by(|a, b| codec::key_cmp(a.1, a.0, b.1, b.0));
            let mut p = Packed::new();
            p.extend_sorted(&sorted);
            ZSetValue::Listpack(p)
        } else {
            let mut big = Big::default();
            let mut sorted = items;
            sorted.sort_by(|a, b| codec::key_cmp(a.1, a.0, b.1, b.0));
            for (m, s) in sorted {
                big.set(m, s);
            }
            ZSetValue::Skiplist(Box::new(big))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(p) => p.len(),
            ZSetValue::Skiplist(b) => b.tree.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
            ZSetValue::Skiplist(_) => "skiplist",
        }
    }

    /// (member, score) in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], f64)> + '_> {
        match self {
            ZSetValue::Listpack(p) => Box::new(p.iter()),
            ZSetValue::Skiplist(b) => {
                let mut all = Vec::with_capacity(b.tree.len());
                b.tree
                    .visit(0, b.tree.len(), false, &mut |m, s| all.push((m, s)));
                Box::new(all.into_iter())
            }
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(p) => p.score(member),
            ZSetValue::Skiplist(b) => b.dict.get(member).copied(),
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZSetValue::Listpack(p) => p.rank(member),
            ZSetValue::Skiplist(b) => {
                let score = *b.dict.get(member)?;
                b.tree.rank(score, member)
            }
        }
    }

    /// Moves a listpack to the skiplist encoding (one way). Also what SORT
    /// does to a sorted set in Redis 7.0 (`zsetConvert` before sorting).
    pub fn convert_to_skiplist(&mut self) {
        if let ZSetValue::Listpack(p) = self {
            let mut big = Big::default();
            for (m, s) in p.iter() {
                big.set(m, s);
            }
            *self = ZSetValue::Skiplist(Box::new(big));
        }
    }

    /// Sets `member`'s score, adding it if needed (converting to `skiplist`
    /// first when the addition would pass the limits). Returns true if added.
    pub fn set(&mut self, member: &[u8], score: f64, limits: &EncodingLimits) -> bool {
        if let ZSetValue::Listpack(p) = self {
            if p.score(member).is_some() {
                p.set(member, score);
                return false;
            }
            if p.len() < limits.zset_max_listpack_entries
                && member.len() <= limits.zset_max_listpack_value
            {
                p.insert_new(member, score);
                return true;
            }
            self.convert_to_skiplist();
        }
        match self {
            ZSetValue::Skiplist(b) => b.set(member, score),
            ZSetValue::Listpack(_) => false,
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(p) => p.remove(member),
            ZSetValue::Skiplist(b) => b.remove(member),
        }
    }

    /// The element at `rank` (ascending).
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match self {
            ZSetValue::Listpack(p) => p.get(rank),
            ZSetValue::Skiplist(b) => b.tree.get(rank),
        }
    }

    /// The number of leading elements for which `before(score, member)`
    /// holds, i.e. the rank where a range starts. `before` must hold for a
    /// prefix of the order.
    pub fn lower_bound(&self, before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSetValue::Listpack(p) => p.lower_bound(before),
            ZSetValue::Skiplist(b) => b.tree.lower_bound(before),
        }
    }

    /// Calls `f` for the elements with rank in `start..end`, in descending
    /// order if `rev`.
    pub fn visit<'a>(
        &'a self,
        start: usize,
        end: usize,
        rev: bool,
        f: &mut dyn FnMut(&'a [u8], f64),
    ) {
        let end = end.min(self.len());
        match self {
            ZSetValue::Listpack(p) => p.visit(start, end, rev, f),
            ZSetValue::Skiplist(b) => b.tree.visit(start, end, rev, f),
        }
    }

    /// Owned copies of the elements with rank in `start..end`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::new();
        self.visit(start, end, rev, &mut |m, s| out.push((m.to_vec(), s)));
        out
    }

    /// Removes the elements with rank in `start..end`; returns how many.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        match self {
            ZSetValue::Listpack(p) => p.remove_range(start, end),
            ZSetValue::Skiplist(b) => {
                let mut doomed = Vec::with_capacity(end - start);
                b.tree
                    .visit(start, end, false, &mut |m, s| doomed.push((m.to_vec(), s)));
                for (m, s) in doomed {
                    b.dict.remove(&m);
                    b.tree.remove(s, &m);
                }
            }
        }
        end - start
    }

    /// ZSCAN: visits (member, score) pairs from `cursor` until about `count`
    /// were visited; returns the next cursor (0 when done). A `listpack` set
    /// is returned whole in one call, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSetValue::Listpack(p) => {
                for (m, s) in p.iter() {
                    visit(m, s);
                }
                0
            }
            ZSetValue::Skiplist(b) => b.dict.scan(cursor, count, |m, s| visit(m, *s)),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        match self {
            ZSetValue::Listpack(p) => alloc_size(p.byte_len()),
            ZSetValue::Skiplist(b) => {
                // The member table: its key allocation plus a share of the
                // B-tree node holding the entry.
                let dict: usize = b.dict.iter().map(|(k, _)| 64 + alloc_size(k.len())).sum();
                alloc_size(std::mem::size_of::<Big>()) + dict + b.tree.memory_bytes()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits {
            zset_max_listpack_entries: entries,
            zset_max_listpack_value: value,
            ..EncodingLimits::default()
        }
    }

    #[test]
    fn converts_past_the_limits_one_way() {
        let l = limits(3, 5);
        let mut z = ZSetValue::new();
        assert!(z.set(b"a", 1.0, &l));
        assert!(z.set(b"b", 2.0, &l));
        assert!(z.set(b"c", 3.0, &l));
        assert_eq!(z.encoding_name(), "listpack");
        assert!(!z.set(b"c", 4.0, &l));
        assert_eq!(z.encoding_name(), "listpack");
        assert!(z.set(b"d", 0.5, &l));
        assert_eq!(z.encoding_name(), "skiplist");
        z.remove(b"d");
        z.remove(b"a");
        assert_eq!(z.encoding_name(), "skiplist");
        let mut y = ZSetValue::new();
        y.set(b"long-member", 1.0, &l);
        assert_eq!(y.encoding_name(), "skiplist");
        let mut w = ZSetValue::new();
        w.set(b"x", 1.0, &limits(0, 64));
        assert_eq!(w.encoding_name(), "skiplist");
    }

    #[test]
    fn skiplist_keeps_negative_zero_listpack_does_not() {
        let mut z = ZSetValue::new();
        z.set(b"a", -0.0, &limits(128, 64));
        assert!(z.score(b"a").unwrap().is_sign_positive());
        let mut z = ZSetValue::new();
        z.set(b"a", -0.0, &limits(0, 64));
        assert!(z.score(b"a").unwrap().is_sign_negative());
    }

    #[test]
    fn from_members_picks_the_encoding() {
        let items: Vec<(&[u8], f64)> = vec![(b"b", 2.0), (b"a", 2.0), (b"c", 1.0)];
        let z = ZSetValue::from_members(items.clone(), &limits(3, 64));
        assert_eq!(z.encoding_name(), "listpack");
        let order: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(order, vec![&b"c"[..], b"a", b"b"]);
        let z = ZSetValue::from_members(items, &limits(2, 64));
        assert_eq!(z.encoding_name(), "skiplist");
        let order: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(order, vec![&b"c"[..], b"a", b"b"]);
    }

    #[test]
    fn scan_of_a_large_set_returns_survivors() {
        let l = limits(16, 64);
        let mut z = ZSetValue::new();
        for i in 0..3000 {
            z.set(format!("keep:{i}").as_bytes(), i as f64, &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = z.scan(cursor, 10, |m, _| {
                seen.insert(m.to_vec());
            });
            for j in 0..10 {
                z.set(format!("tmp:{round}:{j}").as_bytes(), 1.0, &l);
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        assert!((0..3000).all(|i| seen.contains(format!("keep:{i}").as_bytes())));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u16, i16),
        Remove(u16),
        RemoveRange(u16, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..300, -50i16..50).prop_map(|(m, s)| Op::Set(m, s)),
            2 => (0u16..300).prop_map(Op::Remove),
            1 => (0u16..40, 0u16..40).prop_map(|(a, b)| Op::RemoveRange(a, b)),
        ]
    }

    proptest! {
        /// Both encodings behave like a BTreeMap model of (score, member).
        #[test]
        fn behaves_like_the_model(ops in proptest::collection::vec(op(), 1..600), entries in 0usize..64) {
            let l = limits(entries, 64);
            let mut z = ZSetValue::new();
            let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
            let sorted = |model: &BTreeMap<Vec<u8>, f64>| {
                let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
                v.sort_by(|a, b| codec::key_cmp(a.1, &a.0, b.1, &b.0));
                v
            };
            for op in ops {
                match op {
                    Op::Set(m, s) => {
                        let member = format!("member{m}").into_bytes();
                        let added = z.set(&member, s as f64 / 4.0, &l);
                        prop_assert_eq!(added, model.insert(member, s as f64 / 4.0).is_none());
                    }
                    Op::Remove(m) => {
                        let member = format!("member{m}").into_bytes();
                        prop_assert_eq!(z.remove(&member), model.remove(&member));
                    }
                    Op::RemoveRange(a, b) => {
                        let (a, b) = (a as usize, b as usize);
                        let want = sorted(&model);
                        let n = z.remove_range(a, b);
                        let gone: Vec<&(Vec<u8>, f64)> = want.iter().skip(a).take(b.saturating_sub(a)).collect();
                        prop_assert_eq!(n, gone.len());
                        for (m, _) in gone {
                            model.remove(m);
                        }
                    }
                }
                prop_assert_eq!(z.len(), model.len());
            }
            let want = sorted(&model);
            let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            prop_assert_eq!(&got, &want);
            for (r, (m, s)) in want.iter().enumerate() {
                prop_assert_eq!(z.rank(m), Some(r));
                prop_assert_eq!(z.score(m), Some(*s));
                prop_assert_eq!(z.get(r), Some((&m[..], *s)));
            }
            for cut in [-60.0, -3.25, 0.0, 7.5, 60.0] {
                let want_lb = want.iter().take_while(|(_, s)| *s < cut).count();
                prop_assert_eq!(z.lower_bound(|s, _| s < cut), want_lb);
            }
            let rev = z.range(0, z.len(), true);
            let mut want_rev = want.clone();
            want_rev.reverse();
            prop_assert_eq!(rev, want_rev);
            if model.len() > entries {
                prop_assert_eq!(z.encoding_name(), "skiplist");
            }
        }
    }
}
