//! Sets: sorted integers while every member is an integer and there are at
//! most `set-max-intset-entries` of them (`intset` encoding), otherwise a
//! table (`hashtable` encoding), as in Redis 7.0. The conversion is one-way.
//!
//! What counts as an integer is Redis's rule (`string2ll`): the canonical
//! decimal text of an i64, so "1" is one and "01", "+1", "-0" or " 1" are not.
//!
//! The intset keeps Redis's layout idea: the integers are stored with the
//! smallest width (2, 4 or 8 bytes) that fits all of them, sorted, in one
//! tight buffer.
//!
//! The `hashtable` encoding has two forms. A set of at most
//! `PACKED_MAX_ENTRIES` members of at most `PACKED_MAX_VALUE` bytes is kept in
//! a `Listpack` (one allocation instead of a table node and a box per member,
//! a fraction of Redis's memory for the many small string sets real datasets
//! hold); past either limit it moves, one-way, to a `ScanMap`. Both report
//! `hashtable`, the only name Redis 7.0 has for a set of strings, and both keep
//! the SSCAN guarantee (the packed form is returned whole, with cursor 0).

use crate::listpack::Listpack;
use crate::raw::thinbuf::ThinBuf;
use crate::scanmap::ScanMap;
use crate::value::{integer_text, EncodingLimits};
use rand::seq::index::sample;
use rand::Rng;
use std::borrow::Cow;

/// Most members a packed (listpack) `hashtable` set holds.
pub const PACKED_MAX_ENTRIES: usize = 128;
/// Longest member a packed `hashtable` set holds.
pub const PACKED_MAX_VALUE: usize = 64;

/// Sorted distinct integers, each stored in the smallest width (2, 4 or 8
/// bytes, little-endian) that fits every member.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IntSet {
    /// `[width, member0 .., member1 .., ...]`; empty when the set is. A
    /// `ThinBuf`, so a small set is one pointer in its key's entry.
    buf: ThinBuf,
}

impl std::fmt::Debug for IntSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn read_int(bytes: &[u8]) -> i64 {
    match bytes.len() {
        2 => i16::from_le_bytes([bytes[0], bytes[1]]) as i64,
        4 => i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as i64,
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            i64::from_le_bytes(b)
        }
    }
}

fn write_int(out: &mut [u8], v: i64) {
    let w = out.len();
    out.copy_from_slice(&v.to_le_bytes()[..w]);
}

impl IntSet {
    pub fn new() -> IntSet {
        IntSet::default()
    }

    fn width(&self) -> usize {
        self.buf.first().map_or(2, |&w| w as usize)
    }

    pub fn len(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            (self.buf.len() - 1) / self.width()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The `i`-th smallest member.
    pub fn get(&self, i: usize) -> Option<i64> {
        if i >= self.len() {
            return None;
        }
        let w = self.width();
        Some(read_int(&self.buf[1 + i * w..1 + (i + 1) * w]))
    }

    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).map(|m| m.cmp(&v)) {
                Some(std::cmp::Ordering::Less) => lo = mid + 1,
                Some(std::cmp::Ordering::Greater) => hi = mid,
                _ => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.width() && self.search(v).is_ok()
    }

    /// Re-encodes every member with `width` bytes (wider than now).
    fn upgrade(&mut self, width: usize) {
        let members: Vec<i64> = self.iter().collect();
        let mut buf = ThinBuf::with_capacity(1 + (members.len() + 1) * width);
        buf.push(width as u8);
        for m in members {
            buf.extend_from_slice(&m.to_le_bytes()[..width]);
        }
        self.buf = buf;
    }

    /// Adds `v`; returns false if it was already there.
    pub fn insert(&mut self, v: i64) -> bool {
        let need = width_for(v);
        if self.buf.is_empty() {
            self.buf.push(need as u8);
        } else if need > self.width() {
            self.upgrade(need);
        }
        let pos = match self.search(v) {
            Ok(_) => return false,
            Err(pos) => pos,
        };
        let w = self.width();
        let at = 1 + pos * w;
        self.buf.splice(at..at, &[0u8; 8][..w]);
        write_int(&mut self.buf[at..at + w], v);
        true
    }

    /// Removes `v`; returns false if it was not there.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            return false;
        }
        let Ok(pos) = self.search(v) else {
            return false;
        };
        let w = self.width();
        self.buf.drain(1 + pos * w..1 + (pos + 1) * w);
        if self.buf.len() == 1 {
            self.buf.clear();
        }
        true
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        let w = self.width();
        self.buf
            .get(1..)
            .unwrap_or_default()
            .chunks_exact(w)
            .map(read_int)
    }

    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Heap bytes allocated (capacity and the buffer's header).
    pub fn capacity_bytes(&self) -> usize {
        self.buf.allocation_bytes()
    }
}

/// The table behind large `hashtable` sets.
pub type SetTable = ScanMap<()>;

#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    /// Integers only (`intset`).
    IntSet(IntSet),
    /// A few short members (`hashtable`; see the module doc).
    Packed(Listpack),
    /// Any members (`hashtable`).
    Table(Box<SetTable>),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::IntSet(IntSet::new())
    }
}

fn int_text(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

impl SetValue {
    pub fn new() -> SetValue {
        SetValue::default()
    }

    /// An empty set of the encoding Redis gives a set whose first member is
    /// `first` (`setTypeCreate`): an intset for an integer, else a table.
    pub fn for_first_member(first: &[u8]) -> SetValue {
        if integer_text(first).is_some() {
            SetValue::IntSet(IntSet::new())
        } else if first.len() <= PACKED_MAX_VALUE {
            SetValue::Packed(Listpack::default())
        } else {
            SetValue::Table(Box::default())
        }
    }

    /// A set holding `members`, built as Redis builds the result of a set
    /// operation (starting from an intset).
    pub fn from_members<'a>(
        members: impl IntoIterator<Item = &'a [u8]>,
        limits: &EncodingLimits,
    ) -> SetValue {
        let mut set = SetValue::new();
        for m in members {
            set.add(m, limits);
        }
        set.shrink_to_fit();
        set
    }

    pub fn len(&self) -> usize {
        match self {
            SetValue::IntSet(v) => v.len(),
            SetValue::Packed(lp) => lp.len(),
            SetValue::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            SetValue::IntSet(_) => "intset",
            SetValue::Packed(_) | SetValue::Table(_) => "hashtable",
        }
    }

    /// The members (intsets in ascending order).
    pub fn iter(&self) -> Box<dyn Iterator<Item = Cow<'_, [u8]>> + '_> {
        match self {
            SetValue::IntSet(v) => Box::new(v.iter().map(|n| Cow::Owned(int_text(n)))),
            SetValue::Packed(lp) => Box::new(lp.iter().map(Cow::Borrowed)),
            SetValue::Table(t) => Box::new(t.iter().map(|(k, _)| Cow::Borrowed(k))),
        }
    }

    /// The members as byte strings.
    pub fn members(&self) -> Vec<Cow<'_, [u8]>> {
        self.iter().collect()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            SetValue::IntSet(v) => integer_text(member).is_some_and(|n| v.contains(n)),
            SetValue::Packed(lp) => lp.find(member, 0, 1).is_some(),
            SetValue::Table(t) => t.contains_key(member),
        }
    }

    /// Moves every member to the table form that can hold `next` (the member
    /// about to be added, if any) and `extra` more members.
    fn convert(&mut self, next: Option<&[u8]>, extra: usize) {
        let fits_packed = self.len() + extra <= PACKED_MAX_ENTRIES
            && next.is_none_or(|m| m.len() <= PACKED_MAX_VALUE)
            && self.iter().all(|m| m.len() <= PACKED_MAX_VALUE);
        let converted = if fits_packed {
            let lp: Listpack = match self {
                SetValue::IntSet(v) => {
                    let texts: Vec<Vec<u8>> = v.iter().map(int_text).collect();
                    texts.iter().map(|t| &t[..]).collect()
                }
                SetValue::Packed(_) => return,
                SetValue::Table(_) => return,
            };
            SetValue::Packed(lp)
        } else {
            if let SetValue::Table(_) = self {
                return;
            }
            let mut t = SetTable::new();
            for m in self.iter() {
                t.insert(&m, ());
            }
            SetValue::Table(Box::new(t))
        };
        *self = converted;
    }

    /// Adds `member`; returns false if it was already there. Converts an
    /// intset past `set-max-intset-entries` or on a non-integer member, as
    /// Redis does.
    pub fn add(&mut self, member: &[u8], limits: &EncodingLimits) -> bool {
        if let SetValue::IntSet(v) = self {
            match integer_text(member) {
                Some(n) => {
                    if !v.insert(n) {
                        return false;
                    }
                    if v.len() > limits.set_max_intset_entries {
                        self.convert(None, 0);
                    }
                    return true;
                }
                None => self.convert(Some(member), 1),
            }
        }
        if let SetValue::Packed(lp) = self {
            if lp.find(member, 0, 1).is_some() {
                return false;
            }
            if member.len() <= PACKED_MAX_VALUE && lp.len() < PACKED_MAX_ENTRIES {
                lp.push_back(member);
                return true;
            }
            self.convert(Some(member), 1);
        }
        match self {
            SetValue::Table(t) => t.insert(member, ()).is_none(),
            _ => self.add(member, limits),
        }
    }

    /// Removes `member`; returns false if it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            SetValue::IntSet(v) => integer_text(member).is_some_and(|n| v.remove(n)),
            SetValue::Packed(lp) => match lp.find(member, 0, 1) {
                Some(i) => {
                    lp.remove(i);
                    true
                }
                None => false,
            },
            SetValue::Table(t) => t.remove(member).is_some(),
        }
    }

    /// The `i`-th member of a packed or int set.
    fn member_at(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        match self {
            SetValue::IntSet(v) => v.get(i).map(|n| Cow::Owned(int_text(n))),
            SetValue::Packed(lp) => lp.get(i).map(Cow::Borrowed),
            SetValue::Table(_) => self.iter().nth(i),
        }
    }

    /// One random member (close to uniform for a large table).
    pub fn random_member(&self, rng: &mut impl Rng) -> Option<Cow<'_, [u8]>> {
        match self {
            SetValue::Table(t) => t.random(rng).map(|(k, _)| Cow::Borrowed(k)),
            _ if self.is_empty() => None,
            _ => self.member_at(rng.gen_range(0..self.len())),
        }
    }

    /// `count` random members, repetitions allowed (SRANDMEMBER with a
    /// negative count).
    pub fn random_members_with_repeats(
        &self,
        count: usize,
        rng: &mut impl Rng,
    ) -> Vec<Cow<'_, [u8]>> {
        if self.is_empty() {
            return Vec::new();
        }
        (0..count).filter_map(|_| self.random_member(rng)).collect()
    }

    /// `count` distinct random members (all if `count >= len`), in random order.
    pub fn random_distinct_members(&self, count: usize, rng: &mut impl Rng) -> Vec<Cow<'_, [u8]>> {
        let len = self.len();
        if count >= len {
            return self.iter().collect();
        }
        match self {
            SetValue::Table(t) if count * 3 <= len => {
                let mut seen = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    if let Some((k, _)) = t.random(rng) {
                        if seen.insert(k) {
                            out.push(Cow::Borrowed(k));
                        }
                    }
                }
                out
            }
            SetValue::Table(_) => {
                let all: Vec<Cow<'_, [u8]>> = self.iter().collect();
                sample(rng, len, count)
                    .into_iter()
                    .map(|i| all[i].clone())
                    .collect()
            }
            _ => sample(rng, len, count)
                .into_iter()
                .filter_map(|i| self.member_at(i))
                .collect(),
        }
    }

    /// Removes and returns up to `count` distinct random members.
    pub fn pop_random(&mut self, count: usize, rng: &mut impl Rng) -> Vec<Vec<u8>> {
        let picked: Vec<Vec<u8>> = self
            .random_distinct_members(count, rng)
            .into_iter()
            .map(|m| m.into_owned())
            .collect();
        for m in &picked {
            self.remove(m);
        }
        picked
    }

    /// One SSCAN step: intsets and packed sets are visited whole (cursor 0 is
    /// returned); a table from `cursor` on, about `count` members, returning
    /// the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8])) -> u64 {
        match self {
            SetValue::Table(t) => t.scan(cursor, count, |k, _| visit(k)),
            _ => {
                for m in self.iter() {
                    visit(&m);
                }
                0
            }
        }
    }

    /// Drops spare capacity (call after a write command).
    pub fn shrink_to_fit(&mut self) {
        match self {
            SetValue::IntSet(v) => v.shrink_to_fit(),
            SetValue::Packed(lp) => lp.shrink_to_fit(),
            SetValue::Table(_) => {}
        }
    }

    pub fn memory_bytes(&self) -> usize {
        use crate::value::alloc_size;
        match self {
            SetValue::IntSet(v) => alloc_size(v.capacity_bytes()),
            SetValue::Packed(lp) => alloc_size(lp.capacity_bytes()),
            SetValue::Table(t) => t.iter().map(|(k, _)| 32 + alloc_size(k.len())).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashSet};

    fn limits(entries: usize) -> EncodingLimits {
        EncodingLimits {
            set_max_intset_entries: entries,
            ..EncodingLimits::default()
        }
    }

    #[test]
    fn enum_is_two_words() {
        // What a set costs inside its key's entry (see `raw::entry`).
        assert_eq!(std::mem::size_of::<SetValue>(), 16);
    }

    #[test]
    fn intset_widths_and_order() {
        let mut s = IntSet::new();
        assert!(s.insert(5));
        assert!(s.insert(-3));
        assert!(!s.insert(5));
        assert!(s.insert(70000));
        assert!(s.insert(i64::MIN));
        assert!(s.insert(i64::MAX));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![i64::MIN, -3, 5, 70000, i64::MAX]
        );
        assert!(s.contains(70000) && !s.contains(4));
        assert!(s.remove(i64::MIN) && !s.remove(i64::MIN));
        // Width never shrinks, like Redis's intset.
        assert_eq!(s.width(), 8);
        let mut small = IntSet::new();
        for v in [1, 2, 3, 4, 5] {
            small.insert(v);
        }
        small.shrink_to_fit();
        assert_eq!(small.buf.len(), 11);
        assert!(!small.contains(1 << 40));
        assert!(!small.remove(1 << 40));
    }

    #[test]
    fn what_counts_as_an_integer() {
        let l = EncodingLimits::default();
        for m in [
            "1",
            "-1",
            "0",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            let mut s = SetValue::new();
            s.add(m.as_bytes(), &l);
            assert_eq!(s.encoding_name(), "intset", "{m}");
            assert!(s.contains(m.as_bytes()));
        }
        for m in [
            "01",
            "+1",
            "-0",
            " 1",
            "1 ",
            "9223372036854775808",
            "1.0",
            "",
        ] {
            let mut s = SetValue::new();
            s.add(b"1", &l);
            s.add(m.as_bytes(), &l);
            assert_eq!(s.encoding_name(), "hashtable", "{m:?}");
            assert!(s.contains(m.as_bytes()) && s.contains(b"1"));
        }
    }

    #[test]
    fn conversions_are_one_way() {
        let l = limits(3);
        let mut s = SetValue::new();
        for m in ["1", "2", "3"] {
            s.add(m.as_bytes(), &l);
        }
        assert_eq!(s.encoding_name(), "intset");
        s.add(b"4", &l);
        assert_eq!(s.encoding_name(), "hashtable");
        s.remove(b"4");
        s.remove(b"3");
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"1") && !s.contains(b"01"));
        // Packed grows into a table past its limits, and stays there.
        let mut s = SetValue::for_first_member(b"a");
        for i in 0..=PACKED_MAX_ENTRIES {
            s.add(format!("m{i}").as_bytes(), &l);
        }
        assert!(matches!(s, SetValue::Table(_)));
        let mut s = SetValue::for_first_member(b"a");
        s.add(&[b'x'; PACKED_MAX_VALUE + 1], &l);
        assert!(matches!(s, SetValue::Table(_)));
        // A big intset converts straight to a table.
        let mut s = SetValue::new();
        for i in 0..600 {
            s.add(i.to_string().as_bytes(), &EncodingLimits::default());
        }
        assert!(matches!(s, SetValue::Table(_)));
    }

    #[test]
    fn random_and_pop() {
        let mut rng = rand::thread_rng();
        for kind in 0..3 {
            let mut s = SetValue::new();
            for i in 0..200 {
                let m = if kind == 0 {
                    i.to_string()
                } else {
                    format!("m{i}")
                };
                s.add(m.as_bytes(), &limits(if kind == 0 { 1000 } else { 512 }));
                if kind == 1 && s.len() == 50 {
                    break;
                }
            }
            let n = s.len();
            for count in [1, 2, n / 3, n / 2, n - 1, n, n + 1] {
                let got = s.random_distinct_members(count, &mut rng);
                assert_eq!(got.len(), count.min(n));
                let d: HashSet<Vec<u8>> = got.iter().map(|m| m.to_vec()).collect();
                assert_eq!(d.len(), got.len());
                assert!(d.iter().all(|m| s.contains(m)));
            }
            assert_eq!(s.random_members_with_repeats(7, &mut rng).len(), 7);
            let popped = s.pop_random(10, &mut rng);
            assert_eq!(popped.len(), 10);
            assert_eq!(s.len(), n - 10);
            assert!(popped.iter().all(|m| !s.contains(m)));
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_set(
            ops in proptest::collection::vec((0u8..3, 0u16..300, any::<bool>()), 0..300),
            max_intset in 0usize..40,
        ) {
            let l = limits(max_intset);
            let mut s = SetValue::new();
            let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
            let mut was_table = false;
            for (op, n, text) in ops {
                let member = if text && n % 7 == 0 { format!("s{n}").into_bytes() } else { (n as i64 - 150).to_string().into_bytes() };
                match op {
                    0 | 1 => prop_assert_eq!(s.add(&member, &l), model.insert(member.clone())),
                    _ => prop_assert_eq!(s.remove(&member), model.remove(&member)),
                }
                s.shrink_to_fit();
                prop_assert_eq!(s.len(), model.len());
                if was_table {
                    prop_assert_eq!(s.encoding_name(), "hashtable");
                }
                if s.encoding_name() == "intset" {
                    prop_assert!(s.len() <= max_intset);
                }
                was_table = s.encoding_name() == "hashtable";
            }
            let got: BTreeSet<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            prop_assert_eq!(&got, &model);
            for m in &model {
                prop_assert!(s.contains(m));
            }
            let mut scanned = BTreeSet::new();
            let mut cursor = 0;
            loop {
                cursor = s.scan(cursor, 2, |m| { scanned.insert(m.to_vec()); });
                if cursor == 0 { break; }
            }
            prop_assert_eq!(scanned, model);
        }

        #[test]
        fn intset_matches_a_btreeset(values in proptest::collection::vec((any::<i64>(), 0u8..3, any::<bool>()), 0..200)) {
            let mut s = IntSet::new();
            let mut model = BTreeSet::new();
            for (v, shift, remove) in values {
                let v = v >> (shift as u32 * 24);
                if remove {
                    prop_assert_eq!(s.remove(v), model.remove(&v));
                } else {
                    prop_assert_eq!(s.insert(v), model.insert(v));
                }
                prop_assert_eq!(s.len(), model.len());
            }
            prop_assert_eq!(s.iter().collect::<Vec<_>>(), model.into_iter().collect::<Vec<_>>());
        }
    }
}
