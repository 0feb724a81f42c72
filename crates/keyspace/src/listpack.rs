//! `Listpack`: a compact sequence of byte strings in one allocation.
//!
//! Small collections (a hash with a few fields, a short sorted set, a list
//! node) are stored the way Redis's listpack does, for the same reason: one
//! buffer instead of a node and two allocations per element costs a fraction
//! of the memory, and a linear scan over a few hundred bytes is as fast as a
//! hash lookup. The layout is our own: the entry count (u32, little-endian),
//! then the entries, each a LEB128 length, the bytes, then a back-length (the
//! size of the first two, written so it reads backwards), so the last entry
//! is found without walking the rest: pops and reads at the tail are O(1), as
//! with Redis's listpack. An empty listpack holds no bytes at all. The buffer
//! is a `ThinBuf`, so a `Listpack` is one pointer (what lets a small hash
//! fit in its key's entry). Positions are entry indices; other access is
//! linear, so callers keep these small (the `*-max-listpack-*` limits) and
//! convert to a real table past them.

use crate::raw::thinbuf::ThinBuf;
use crate::varint::{read_varint, varint_len};

/// Bytes of the entry count at the front of a non-empty buffer.
const HEAD: usize = 4;

/// A sequence of byte strings packed into one buffer.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Listpack {
    /// Empty, or the count then the entries (see the module doc).
    buf: ThinBuf,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Writes `n` as LEB128 into `out`; returns the bytes used.
fn put_varint(out: &mut [u8], mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = byte;
            return i + 1;
        }
        out[i] = byte | 0x80;
        i += 1;
    }
}

/// Writes `n` into `out` so that it can be read backwards from the byte
/// after it: the last byte holds the low 7 bits, with the high bit set while
/// more precede. Returns the bytes used.
fn put_back_len(out: &mut [u8], n: usize) -> usize {
    let mut groups = [0u8; 10];
    let mut count = 0;
    let mut v = n;
    loop {
        groups[count] = (v & 0x7f) as u8;
        count += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    // Highest group first; every byte but the first one written says "more before me".
    for i in (0..count).rev() {
        let more = if i + 1 < count { 0x80 } else { 0 };
        out[count - 1 - i] = groups[i] | more;
    }
    count
}

/// Reads a back-length ending just before `end`: (value, bytes it took).
fn read_back_len(buf: &[u8], end: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (n, end - i);
        }
        shift += 7;
    }
}

/// The bytes one entry takes, with its length and back-length.
pub(crate) fn entry_size(item_len: usize) -> usize {
    let body = varint_len(item_len) + item_len;
    body + varint_len(body)
}

/// An entry's framing: its length prefix and its back-length.
struct Frame {
    head: [u8; 10],
    head_len: usize,
    back: [u8; 10],
    back_len: usize,
}

fn frame(item_len: usize) -> Frame {
    let mut f = Frame {
        head: [0; 10],
        head_len: 0,
        back: [0; 10],
        back_len: 0,
    };
    f.head_len = put_varint(&mut f.head, item_len);
    f.back_len = put_back_len(&mut f.back, f.head_len + item_len);
    f
}

/// One entry as it is stored.
fn encode_entry(item: &[u8]) -> Vec<u8> {
    let f = frame(item.len());
    let mut out = Vec::with_capacity(entry_size(item.len()));
    out.extend_from_slice(&f.head[..f.head_len]);
    out.extend_from_slice(item);
    out.extend_from_slice(&f.back[..f.back_len]);
    out
}

impl Listpack {
    pub fn new() -> Listpack {
        Listpack::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self.buf.get(..HEAD) {
            Some(h) => u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize,
            None => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Records a new entry count; an empty listpack drops its bytes (the
    /// count too), keeping "empty means no bytes".
    fn set_len(&mut self, n: usize) {
        if n == 0 {
            self.buf.clear();
            return;
        }
        if self.buf.is_empty() {
            self.buf.extend_from_slice(&[0; HEAD]);
        }
        let n = u32::try_from(n).expect("listpack over u32::MAX entries");
        self.buf[..HEAD].copy_from_slice(&n.to_le_bytes());
    }

    /// Bytes used by the packed data.
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes the buffer would allocate with no spare capacity (its header
    /// included): what node size limits compare with.
    pub fn allocation_len(&self) -> usize {
        if self.buf.is_empty() {
            0
        } else {
            crate::raw::thinbuf::HEADER + self.buf.len()
        }
    }

    /// Heap bytes allocated (capacity and the buffer's header), for memory
    /// accounting.
    pub fn capacity_bytes(&self) -> usize {
        self.buf.allocation_bytes()
    }

    pub fn push_back(&mut self, item: &[u8]) {
        let n = self.len() + 1;
        let f = frame(item.len());
        self.buf
            .reserve(HEAD + f.head_len + item.len() + f.back_len);
        self.set_len(n);
        self.buf.extend_from_slice(&f.head[..f.head_len]);
        self.buf.extend_from_slice(item);
        self.buf.extend_from_slice(&f.back[..f.back_len]);
    }

    pub fn push_front(&mut self, item: &[u8]) {
        self.insert(0, item);
    }

    /// Byte offset of entry `index` (or the end when `index == len`), walking
    /// from whichever end is nearer.
    fn offset_of(&self, index: usize) -> usize {
        let len = self.len();
        if index >= len {
            return self.buf.len();
        }
        if index <= len / 2 {
            let mut pos = HEAD;
            for _ in 0..index {
                let (n, w) = read_varint(&self.buf, pos);
                pos += entry_size_at(w, n);
            }
            pos
        } else {
            let mut end = self.buf.len();
            for _ in 0..(len - index) {
                let (body, w) = read_back_len(&self.buf, end);
                end -= body + w;
            }
            end
        }
    }

    /// Inserts `item` so it becomes entry `index` (`index <= len`).
    pub fn insert(&mut self, index: usize, item: &[u8]) {
        let len = self.len();
        let at = if len == 0 {
            HEAD
        } else {
            self.offset_of(index.min(len))
        };
        self.set_len(len + 1);
        self.buf.splice(at..at, &encode_entry(item));
    }

    /// Removes entry `index`.
    pub fn remove(&mut self, index: usize) {
        if index >= self.len() {
            return;
        }
        let at = self.offset_of(index);
        let (n, w) = read_varint(&self.buf, at);
        self.buf.drain(at..at + entry_size_at(w, n));
        self.set_len(self.len() - 1);
    }

    /// Removes `count` entries starting at `index`.
    pub fn remove_range(&mut self, index: usize, count: usize) {
        if index >= self.len() || count == 0 {
            return;
        }
        let count = count.min(self.len() - index);
        let start = self.offset_of(index);
        let mut end = start;
        for _ in 0..count {
            let (n, w) = read_varint(&self.buf, end);
            end += entry_size_at(w, n);
        }
        self.buf.drain(start..end);
        self.set_len(self.len() - count);
    }

    /// Replaces entry `index` with `item`.
    pub fn replace(&mut self, index: usize, item: &[u8]) {
        if index >= self.len() {
            return;
        }
        let at = self.offset_of(index);
        let (n, w) = read_varint(&self.buf, at);
        self.buf
            .splice(at..at + entry_size_at(w, n), &encode_entry(item));
    }

    /// Entry `index`, if it exists.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len() {
            return None;
        }
        let at = self.offset_of(index);
        let (n, w) = read_varint(&self.buf, at);
        Some(&self.buf[at + w..at + w + n])
    }

    pub fn first(&self) -> Option<&[u8]> {
        self.get(0)
    }

    /// The last entry, in O(1).
    pub fn last(&self) -> Option<&[u8]> {
        if self.is_empty() {
            return None;
        }
        let end = self.buf.len();
        let (body, w) = read_back_len(&self.buf, end);
        let start = end - w - body;
        let (n, lw) = read_varint(&self.buf, start);
        Some(&self.buf[start + lw..start + lw + n])
    }

    /// Removes the last entry, in O(1).
    pub fn pop_back(&mut self) {
        if self.is_empty() {
            return;
        }
        let end = self.buf.len();
        let (body, w) = read_back_len(&self.buf, end);
        self.buf.truncate(end - w - body);
        self.set_len(self.len() - 1);
    }

    /// The entries in order.
    pub fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            pos: HEAD,
        }
    }

    /// Index of the first entry equal to `item`, looking at every `step`-th
    /// entry starting at `start` (step 2 searches the keys of a key/value pack).
    pub fn find(&self, item: &[u8], start: usize, step: usize) -> Option<usize> {
        self.iter()
            .enumerate()
            .skip(start)
            .step_by(step.max(1))
            .find(|(_, e)| *e == item)
            .map(|(i, _)| i)
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// The packed bytes, count included (what a compressed list node keeps).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// A listpack from bytes `as_bytes` gave (trusted: only this crate's own
    /// data comes back this way), with no spare capacity.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Listpack {
        let mut buf = ThinBuf::with_capacity(bytes.len());
        buf.extend_from_slice(bytes);
        Listpack { buf }
    }
}

/// Iterator over a `Listpack`'s entries.
pub struct ListpackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (n, w) = read_varint(self.buf, self.pos);
        let start = self.pos + w;
        self.pos += entry_size_at(w, n);
        Some(&self.buf[start..start + n])
    }
}

impl<'a> FromIterator<&'a [u8]> for Listpack {
    fn from_iter<T: IntoIterator<Item = &'a [u8]>>(iter: T) -> Self {
        let mut lp = Listpack::new();
        for item in iter {
            lp.push_back(item);
        }
        lp
    }
}

/// The size of an entry whose length prefix took `w` bytes and says `n`.
fn entry_size_at(w: usize, n: usize) -> usize {
    let body = w + n;
    body + varint_len(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn push_insert_remove_replace() {
        let mut lp = Listpack::new();
        lp.push_back(b"b");
        lp.push_front(b"a");
        lp.push_back(&[b'x'; 300]);
        lp.insert(2, b"c");
        assert_eq!(lp.len(), 4);
        assert_eq!(lp.get(1), Some(&b"b"[..]));
        assert_eq!(lp.get(3).map(|e| e.len()), Some(300));
        lp.replace(1, b"bee");
        lp.remove(0);
        let items: Vec<&[u8]> = lp.iter().collect();
        assert_eq!(items[..2], [&b"bee"[..], &b"c"[..]]);
        assert_eq!(lp.find(b"c", 0, 1), Some(1));
        assert_eq!(lp.last().map(|e| e.len()), Some(300));
        lp.pop_back();
        assert_eq!(lp.last(), Some(&b"c"[..]));
        lp.remove_range(0, 10);
        assert!(lp.is_empty() && lp.byte_len() == 0);
    }

    proptest! {
        #[test]
        fn behaves_like_a_vec(ops in proptest::collection::vec((0u8..4, any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..60)) {
            let mut lp = Listpack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, pos, item) in ops {
                let at = if model.is_empty() { 0 } else { pos as usize % (model.len() + 1) };
                match op {
                    0 => { lp.insert(at, &item); model.insert(at, item); }
                    1 if !model.is_empty() => { let i = at % model.len(); lp.remove(i); model.remove(i); }
                    2 if !model.is_empty() => { let i = at % model.len(); lp.replace(i, &item); model[i] = item; }
                    3 if !model.is_empty() && pos % 2 == 0 => { lp.pop_back(); model.pop(); }
                    _ => { lp.push_back(&item); model.push(item); }
                }
                prop_assert_eq!(lp.len(), model.len());
                prop_assert_eq!(lp.last(), model.last().map(|v| &v[..]));
                if !model.is_empty() {
                    let i = pos as usize % model.len();
                    prop_assert_eq!(lp.get(i), Some(&model[i][..]));
                }
            }
            let got: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
            prop_assert_eq!(got, model);
        }
    }
}
