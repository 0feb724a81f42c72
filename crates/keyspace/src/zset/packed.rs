//! The `listpack` encoding: every element in one exactly sized buffer, in
//! (score, member) order, after the element count. Every operation is a
//! linear scan, which is what Redis does too and is fast for the few dozen
//! elements `zset-max-listpack-entries` allows.

use super::codec::{self, Entries};

#[derive(Clone, PartialEq, Eq)]
pub struct Packed {
    /// The count (LEB128), then the elements.
    buf: Box<[u8]>,
}

impl Default for Packed {
    fn default() -> Self {
        Packed {
            buf: Box::new([0u8]),
        }
    }
}

impl std::fmt::Debug for Packed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

/// Redis's listpack keeps integer scores as integers, so -0 reads back as 0.
fn normalize(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

impl Packed {
    pub fn new() -> Packed {
        Packed::default()
    }

    pub fn len(&self) -> usize {
        codec::read_varint(&self.buf, 0).0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the buffer (its allocation is exactly this size).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    fn body_start(&self) -> usize {
        codec::read_varint(&self.buf, 0).1
    }

    pub fn iter(&self) -> Entries<'_> {
        Entries {
            buf: &self.buf,
            pos: self.body_start(),
        }
    }

    /// Replaces `body[from..to]` (offsets in the buffer) with `insert`, and
    /// the count with `count`.
    fn splice(&mut self, from: usize, to: usize, insert: &[u8], count: usize) {
        let start = self.body_start();
        let mut out = Vec::with_capacity(
            codec::varint_len(count) + self.buf.len() - start - (to - from) + insert.len(),
        );
        codec::write_varint(&mut out, count);
        out.extend_from_slice(&self.buf[start..from]);
        out.extend_from_slice(insert);
        out.extend_from_slice(&self.buf[to..]);
        self.buf = out.into_boxed_slice();
    }

    /// (index, byte start, byte end, score) of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, usize, usize, f64)> {
        let mut pos = self.body_start();
        let mut i = 0;
        while pos < self.buf.len() {
            let (m, s, next) = codec::read_entry(&self.buf, pos);
            if m == member {
                return Some((i, pos, next, s));
            }
            pos = next;
            i += 1;
        }
        None
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|(_, _, _, s)| s)
    }

    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        self.find(member).map(|(i, ..)| i)
    }

    /// Adds a member that is not present.
    pub fn insert_new(&mut self, member: &[u8], score: f64) {
        let score = normalize(score);
        let mut pos = self.body_start();
        while pos < self.buf.len() {
            let (m, s, next) = codec::read_entry(&self.buf, pos);
            if codec::key_cmp(s, m, score, member).is_gt() {
                break;
            }
            pos = next;
        }
        let mut entry = Vec::with_capacity(codec::entry_len(member, score));
        codec::write_entry(&mut entry, member, score);
        let count = self.len() + 1;
        self.splice(pos, pos, &entry, count);
    }

    /// Appends elements given in order, none of them present yet and all
    /// after the current ones.
    pub fn extend_sorted(&mut self, items: &[(&[u8], f64)]) {
        let mut body = Vec::new();
        for (m, s) in items {
            codec::write_entry(&mut body, m, normalize(*s));
        }
        let end = self.buf.len();
        let count = self.len() + items.len();
        self.splice(end, end, &body, count);
    }

    /// Sets the score of `member`, adding it if needed. Returns true if added.
    pub fn set(&mut self, member: &[u8], score: f64) -> bool {
        let added = self.remove(member).is_none();
        self.insert_new(member, score);
        added
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, from, to, s) = self.find(member)?;
        let count = self.len() - 1;
        self.splice(from, to, &[], count);
        Some(s)
    }

    /// Byte offset of element `index` (the end when `index == len`).
    fn offset_of(&self, index: usize) -> usize {
        let mut pos = self.body_start();
        for _ in 0..index {
            if pos >= self.buf.len() {
                break;
            }
            pos = codec::read_entry(&self.buf, pos).2;
        }
        pos
    }

    /// Removes the elements with rank in `start..end`.
    pub fn remove_range(&mut self, start: usize, end: usize) {
        let len = self.len();
        let end = end.min(len);
        if start >= end {
            return;
        }
        let from = self.offset_of(start);
        let mut to = from;
        for _ in start..end {
            to = codec::read_entry(&self.buf, to).2;
        }
        self.splice(from, to, &[], len - (end - start));
    }

    pub fn get(&self, index: usize) -> Option<(&[u8], f64)> {
        self.iter().nth(index)
    }

    /// The number of leading elements for which `before` holds (the rank of
    /// the first element for which it does not).
    pub fn lower_bound(&self, mut before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        self.iter().take_while(|(m, s)| before(*s, m)).count()
    }

    /// Calls `f` for the elements with rank in `start..end`, backwards if `rev`.
    pub fn visit<'a>(
        &'a self,
        start: usize,
        end: usize,
        rev: bool,
        f: &mut dyn FnMut(&'a [u8], f64),
    ) {
        if start >= end {
            return;
        }
        let from = self.offset_of(start);
        let items = Entries {
            buf: &self.buf,
            pos: from,
        }
        .take(end - start);
        if rev {
            let all: Vec<(&[u8], f64)> = items.collect();
            for (m, s) in all.into_iter().rev() {
                f(m, s);
            }
        } else {
            for (m, s) in items {
                f(m, s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_score_then_member_order() {
        let mut p = Packed::new();
        assert!(p.set(b"b", 2.0));
        assert!(p.set(b"a", 2.0));
        assert!(p.set(b"c", 1.0));
        assert!(!p.set(b"c", 3.5));
        let items: Vec<(Vec<u8>, f64)> = p.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(
            items,
            vec![
                (b"a".to_vec(), 2.0),
                (b"b".to_vec(), 2.0),
                (b"c".to_vec(), 3.5)
            ]
        );
        assert_eq!(p.rank(b"b"), Some(1));
        assert_eq!(p.score(b"zz"), None);
        assert_eq!(p.lower_bound(|s, _| s < 2.5), 2);
        p.remove_range(0, 2);
        assert_eq!(p.len(), 1);
        assert_eq!(p.get(0), Some((&b"c"[..], 3.5)));
        assert_eq!(p.remove(b"c"), Some(3.5));
        assert!(p.is_empty());
        assert_eq!(p.byte_len(), 1);
    }

    #[test]
    fn negative_zero_becomes_zero() {
        let mut p = Packed::new();
        p.set(b"a", -0.0);
        assert!(p.score(b"a").unwrap().is_sign_positive());
    }
}
