//! Lists, stored like Redis's quicklist: a deque of `Listpack` nodes.
//!
//! Each node holds up to `list-max-listpack-size` entries (positive values,
//! and never past 8 KB unless alone, Redis's safety limit) or up to
//! 4/8/16/32/64 KB (-1 .. -5), so a list of small elements costs a few bytes
//! per element instead of a node and an allocation each. Pushes and pops at
//! both ends touch one node; indexed access walks node lengths. `OBJECT
//! ENCODING` reports `quicklist`, as Redis 7.0 does for every list.
//!
//! Compression (`list-compress-depth`, fixed when the list is made, as in
//! Redis): with depth `d > 0` the `d` nodes at each end stay plain and the
//! nodes between are LZF-compressed, each only if it has at least 48 bytes
//! and compression saves more than 8 (Redis's `MIN_COMPRESS_BYTES` and
//! `MIN_COMPRESS_IMPROVE`). As in Redis, a node is compressed when a change
//! puts it just inside the plain ends or changes it; reading a compressed
//! node decompresses a copy and leaves the node compressed; changing one
//! decompresses it and compresses it again after. A compressed node keeps
//! its entry count outside the compressed bytes, so indexed access still
//! walks node lengths without decompressing.

use crate::listpack::{entry_size, Listpack, ListpackIter};
use crate::raw::thinbuf::ThinBuf;
use crate::value::alloc_size;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Redis's `MIN_COMPRESS_BYTES`: smaller nodes are never compressed.
const MIN_COMPRESS_BYTES: usize = 48;
/// Redis's `MIN_COMPRESS_IMPROVE`: compression must save more than this.
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Redis's `SIZE_SAFETY_LIMIT`: a node limited by count still stays within
/// 8 KB (unless it holds a single element).
const SIZE_SAFETY_LIMIT: usize = 8192;

/// How full a node may get (`list-max-listpack-size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFill(pub i32);

impl NodeFill {
    fn allows(self, node: &Listpack, extra_bytes: usize) -> bool {
        if node.is_empty() {
            return true;
        }
        // What the node's allocation would take with the new element: the
        // limits are allocation sizes (an 8 KB node fills jemalloc's 8 KB
        // class, as Redis's does).
        let new_size = node.allocation_len() + entry_size(extra_bytes);
        if self.0 > 0 {
            new_size <= SIZE_SAFETY_LIMIT && node.len() < self.0 as usize
        } else {
            let limit = match self.0 {
                -1 => 4096,
                -2 => 8192,
                -3 => 16384,
                -4 => 32768,
                _ => 65536,
            };
            new_size <= limit
        }
    }
}

impl Default for NodeFill {
    fn default() -> Self {
        NodeFill(-2)
    }
}

/// A quicklist node.
#[derive(Clone, Debug)]
enum Node {
    Plain(Listpack),
    /// `[entry count: u32][listpack bytes: u32][LZF of the listpack bytes]`.
    Compressed(ThinBuf),
}

fn read_u32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

impl Node {
    /// Number of entries, without decompressing.
    fn len(&self) -> usize {
        match self {
            Node::Plain(lp) => lp.len(),
            Node::Compressed(b) => read_u32(b, 0),
        }
    }

    /// Bytes of the listpack, compressed or not.
    fn raw_bytes(&self) -> usize {
        match self {
            Node::Plain(lp) => lp.byte_len(),
            Node::Compressed(b) => read_u32(b, 4),
        }
    }

    fn memory_bytes(&self) -> usize {
        alloc_size(match self {
            Node::Plain(lp) => lp.capacity_bytes(),
            Node::Compressed(b) => b.allocation_bytes(),
        })
    }

    /// Compresses a plain node when that pays (Redis's `__quicklistCompressNode`).
    fn compress(&mut self) {
        let Node::Plain(lp) = self else {
            return;
        };
        let bytes = lp.as_bytes();
        if bytes.len() < MIN_COMPRESS_BYTES {
            return;
        }
        // Kept only if `compressed + MIN_COMPRESS_IMPROVE < bytes`.
        let max = bytes.len() - MIN_COMPRESS_IMPROVE - 1;
        let Some(z) = redust_lzf::compress_bounded(bytes, max) else {
            return;
        };
        let mut b = ThinBuf::with_capacity(8 + z.len());
        b.extend_from_slice(&(lp.len() as u32).to_le_bytes());
        b.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        b.extend_from_slice(&z);
        *self = Node::Compressed(b);
    }

    /// The listpack: borrowed when plain, decompressed into a copy when not.
    fn plain(&self) -> Cow<'_, Listpack> {
        match self {
            Node::Plain(lp) => Cow::Borrowed(lp),
            Node::Compressed(b) => Cow::Owned(unpack(b)),
        }
    }

    /// The listpack, to change: a compressed node is decompressed for good
    /// (the caller settles compression after the change).
    fn plain_mut(&mut self) -> &mut Listpack {
        if let Node::Compressed(b) = self {
            *self = Node::Plain(unpack(b));
        }
        match self {
            Node::Plain(lp) => lp,
            Node::Compressed(_) => unreachable!("just decompressed"),
        }
    }

    fn decompress(&mut self) {
        self.plain_mut();
    }

    /// The entries in order.
    fn entries(&self) -> NodeEntries<'_> {
        match self {
            Node::Plain(lp) => NodeEntries::Plain(lp.iter()),
            Node::Compressed(b) => {
                let lp = unpack(b);
                let items: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
                NodeEntries::Copied(items.into_iter())
            }
        }
    }
}

/// The listpack a compressed node holds.
fn unpack(b: &ThinBuf) -> Listpack {
    let bytes = redust_lzf::decompress(&b[8..], read_u32(b, 4))
        .expect("a list node's own compressed bytes decompress");
    Listpack::from_bytes(&bytes)
}

/// One node's entries: borrowed from a plain node, copied out of a
/// compressed one.
enum NodeEntries<'a> {
    Plain(ListpackIter<'a>),
    Copied(std::vec::IntoIter<Vec<u8>>),
}

impl<'a> Iterator for NodeEntries<'a> {
    type Item = Cow<'a, [u8]>;

    fn next(&mut self) -> Option<Cow<'a, [u8]>> {
        match self {
            NodeEntries::Plain(it) => it.next().map(Cow::Borrowed),
            NodeEntries::Copied(it) => it.next().map(Cow::Owned),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListValue {
    nodes: VecDeque<Node>,
    len: usize,
    /// `list-compress-depth` when the list was made: the nodes kept plain
    /// at each end (0: no compression).
    compress_depth: u32,
}

impl PartialEq for ListValue {
    /// Same elements in the same order, however the nodes are cut or packed.
    fn eq(&self, other: &ListValue) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl ListValue {
    pub fn new() -> ListValue {
        ListValue::default()
    }

    /// An empty list whose inner nodes will be compressed, all but `depth`
    /// at each end (0: none).
    pub fn with_compress_depth(depth: u32) -> ListValue {
        ListValue {
            compress_depth: depth,
            ..ListValue::default()
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// The `list-compress-depth` the list was made with.
    pub fn compress_depth(&self) -> u32 {
        self.compress_depth
    }

    /// Number of nodes (DEBUG OBJECT's `ql_nodes`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes held compressed now.
    pub fn compressed_node_count(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Compressed(_)))
            .count()
    }

    /// Bytes of all nodes' listpacks, uncompressed (`ql_uncompressed_size`).
    pub fn uncompressed_bytes(&self) -> usize {
        self.nodes.iter().map(Node::raw_bytes).sum()
    }

    /// Heap bytes: the node deque and each node as stored (compressed size
    /// for compressed nodes).
    pub fn memory_bytes(&self) -> usize {
        alloc_size(self.nodes.capacity() * std::mem::size_of::<Node>())
            + self.nodes.iter().map(Node::memory_bytes).sum::<usize>()
    }

    /// Restores the compression rule after a change, as Redis's
    /// `__quicklistCompress` does: the `depth` nodes at each end plain, the
    /// nodes just inside them compressed, and so the `touched` nodes when
    /// they are inside.
    fn settle(&mut self, touched: &[usize]) {
        let d = self.compress_depth as usize;
        if d == 0 {
            return;
        }
        let n = self.nodes.len();
        for i in 0..d.min(n) {
            self.nodes[i].decompress();
            self.nodes[n - 1 - i].decompress();
        }
        if n <= 2 * d {
            return;
        }
        self.nodes[d].compress();
        self.nodes[n - 1 - d].compress();
        for &t in touched {
            if t >= d && t < n - d {
                self.nodes[t].compress();
            }
        }
    }

    pub fn push_back(&mut self, item: &[u8], fill: NodeFill) {
        let appended = match self.nodes.back_mut() {
            Some(n) => {
                let lp = n.plain_mut();
                let fits = fill.allows(lp, item.len());
                if fits {
                    lp.push_back(item);
                }
                fits
            }
            None => false,
        };
        if !appended {
            // The old tail is done growing: give back its spare capacity.
            if let Some(Node::Plain(lp)) = self.nodes.back_mut() {
                lp.shrink_to_fit();
            }
            let mut lp = Listpack::new();
            lp.push_back(item);
            self.nodes.push_back(Node::Plain(lp));
            self.settle(&[]);
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, item: &[u8], fill: NodeFill) {
        let prepended = match self.nodes.front_mut() {
            Some(n) => {
                let lp = n.plain_mut();
                let fits = fill.allows(lp, item.len());
                if fits {
                    lp.push_front(item);
                }
                fits
            }
            None => false,
        };
        if !prepended {
            if let Some(Node::Plain(lp)) = self.nodes.front_mut() {
                lp.shrink_to_fit();
            }
            let mut lp = Listpack::new();
            lp.push_back(item);
            self.nodes.push_front(Node::Plain(lp));
            self.settle(&[]);
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let lp = self.nodes.front_mut()?.plain_mut();
        let item = lp.first()?.to_vec();
        lp.remove(0);
        if lp.is_empty() {
            self.nodes.pop_front();
            self.settle(&[]);
        }
        self.len -= 1;
        Some(item)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let lp = self.nodes.back_mut()?.plain_mut();
        let item = lp.last()?.to_vec();
        lp.pop_back();
        if lp.is_empty() {
            self.nodes.pop_back();
            self.settle(&[]);
        }
        self.len -= 1;
        Some(item)
    }

    /// (node, offset in node) of element `index`.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        // Walk from the nearer end.
        if index < self.len / 2 {
            let mut rest = index;
            for (i, n) in self.nodes.iter().enumerate() {
                if rest < n.len() {
                    return Some((i, rest));
                }
                rest -= n.len();
            }
        } else {
            let mut rest = self.len - 1 - index;
            for (i, n) in self.nodes.iter().enumerate().rev() {
                if rest < n.len() {
                    return Some((i, n.len() - 1 - rest));
                }
                rest -= n.len();
            }
        }
        None
    }

    /// Element `index` (copied out when its node is compressed).
    pub fn get(&self, index: usize) -> Option<Cow<'_, [u8]>> {
        let (n, off) = self.locate(index)?;
        match &self.nodes[n] {
            Node::Plain(lp) => lp.get(off).map(Cow::Borrowed),
            node => node.plain().get(off).map(|e| Cow::Owned(e.to_vec())),
        }
    }

    /// Replaces element `index`; false if out of range.
    pub fn set(&mut self, index: usize, item: &[u8]) -> bool {
        match self.locate(index) {
            Some((n, off)) => {
                self.nodes[n].plain_mut().replace(off, item);
                self.settle(&[n]);
                true
            }
            None => false,
        }
    }

    /// Inserts `item` so it becomes element `index` (`index <= len`).
    pub fn insert(&mut self, index: usize, item: &[u8], fill: NodeFill) {
        if index == 0 {
            return self.push_front(item, fill);
        }
        if index >= self.len {
            return self.push_back(item, fill);
        }
        let Some((n, off)) = self.locate(index) else {
            return;
        };
        let lp = self.nodes[n].plain_mut();
        lp.insert(off, item);
        self.len += 1;
        // Split a node that grew past its fill, keeping nodes bounded.
        if !fill.allows(lp, 0) && lp.len() > 1 {
            let node = std::mem::take(lp);
            let half = node.len() / 2;
            let mut left: Listpack = node.iter().take(half).collect();
            let mut right: Listpack = node.iter().skip(half).collect();
            left.shrink_to_fit();
            right.shrink_to_fit();
            self.nodes[n] = Node::Plain(left);
            self.nodes.insert(n + 1, Node::Plain(right));
            self.settle(&[n, n + 1]);
        } else {
            self.settle(&[n]);
        }
    }

    /// Removes element `index`.
    pub fn remove(&mut self, index: usize) {
        if let Some((n, off)) = self.locate(index) {
            let lp = self.nodes[n].plain_mut();
            lp.remove(off);
            if lp.is_empty() {
                self.nodes.remove(n);
                self.settle(&[]);
            } else {
                self.settle(&[n]);
            }
            self.len -= 1;
        }
    }

    /// Elements in order (copied out of compressed nodes).
    pub fn iter(&self) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        self.nodes.iter().flat_map(Node::entries)
    }

    /// Elements from the tail to the head.
    pub fn iter_rev(&self) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        self.nodes
            .iter()
            .rev()
            .flat_map(|n| n.entries().collect::<Vec<_>>().into_iter().rev())
    }

    /// Elements `start..=end` (already clamped to the list), in order; only
    /// the nodes holding them are read.
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = Cow<'_, [u8]>> + '_ {
        let (n, off) = self.locate(start).unwrap_or((self.nodes.len(), 0));
        self.nodes
            .iter()
            .skip(n)
            .flat_map(Node::entries)
            .skip(off)
            .take((end + 1).saturating_sub(start))
    }

    /// Keeps only elements `start..=end` (an empty range empties the list).
    pub fn trim(&mut self, start: usize, end: usize, fill: NodeFill) {
        if start > end || start >= self.len {
            self.nodes.clear();
            self.len = 0;
            return;
        }
        let kept: Vec<Vec<u8>> = self
            .range(start, end.min(self.len - 1))
            .map(|e| e.into_owned())
            .collect();
        self.nodes.clear();
        self.len = 0;
        for e in &kept {
            self.push_back(e, fill);
        }
    }

    /// Builds a list from items, compressed to `compress_depth`.
    pub fn from_items<'a>(
        items: impl IntoIterator<Item = &'a [u8]>,
        fill: NodeFill,
        compress_depth: u32,
    ) -> ListValue {
        let mut l = ListValue::with_compress_depth(compress_depth);
        for i in items {
            l.push_back(i, fill);
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The compression rule holds: ends plain, nothing compressed without depth.
    fn check_compression(l: &ListValue) {
        let d = l.compress_depth as usize;
        let n = l.nodes.len();
        for (i, node) in l.nodes.iter().enumerate() {
            if d == 0 || i < d || i + d >= n {
                assert!(
                    matches!(node, Node::Plain(_)),
                    "node {i} of {n} compressed, depth {d}"
                );
            }
        }
    }

    #[test]
    fn inner_nodes_are_compressed_and_read_back() {
        let item = b"a fairly compressible element, a fairly compressible element";
        let mut l = ListValue::with_compress_depth(1);
        for i in 0..200 {
            l.push_back(format!("{i}:").as_bytes(), NodeFill(4));
            l.push_back(item, NodeFill(4));
        }
        let plain = ListValue::from_items(
            l.iter().collect::<Vec<_>>().iter().map(|e| &e[..]),
            NodeFill(4),
            0,
        );
        assert_eq!(l.node_count(), 100);
        assert_eq!(l.compressed_node_count(), 98);
        assert_eq!(l.uncompressed_bytes(), plain.uncompressed_bytes());
        assert!(
            l.memory_bytes() * 3 < plain.memory_bytes() * 2,
            "{} vs {}",
            l.memory_bytes(),
            plain.memory_bytes()
        );
        assert_eq!(l, plain);
        assert_eq!(l.get(201).as_deref(), Some(&item[..]));
        assert_eq!(l.get(200).as_deref(), Some(&b"100:"[..]));
        // Reading leaves the node compressed; changing it compresses it again.
        assert_eq!(l.compressed_node_count(), 98);
        assert!(l.set(200, b"changed"));
        assert_eq!(l.compressed_node_count(), 98);
        let r: Vec<Cow<[u8]>> = l.range(199, 201).collect();
        assert_eq!(r, [&item[..], b"changed", item]);
        // Popping down to the ends leaves nothing compressed.
        while l.len() > 8 {
            l.pop_front();
        }
        check_compression(&l);
        assert_eq!(l.compressed_node_count(), 0);
    }

    #[test]
    fn small_or_incompressible_nodes_stay_plain() {
        let mut l = ListValue::with_compress_depth(1);
        for i in 0..30u32 {
            // 3 entries of 9 bytes: under MIN_COMPRESS_BYTES.
            l.push_back(format!("{i:09}").as_bytes(), NodeFill(3));
        }
        assert_eq!(l.compressed_node_count(), 0);
        let mut noise = ListValue::with_compress_depth(1);
        let mut x: u64 = 1;
        for _ in 0..30 {
            let item: Vec<u8> = (0..64)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 56) as u8
                })
                .collect();
            noise.push_back(&item, NodeFill(3));
        }
        assert_eq!(noise.compressed_node_count(), 0);
    }

    #[test]
    fn positive_fill_keeps_nodes_within_the_safety_limit() {
        let mut l = ListValue::new();
        for _ in 0..10 {
            l.push_back(&[b'x'; 3000], NodeFill(100));
        }
        // 8 KB holds two 3000-byte elements, not three.
        assert_eq!(l.node_count(), 5);
    }

    proptest! {
        #[test]
        fn behaves_like_a_deque(
            ops in proptest::collection::vec((0u8..7, any::<u16>(), 0usize..40, any::<u8>()), 0..300),
            fill in prop_oneof![Just(-1i32), Just(-2), Just(3), Just(1)],
            depth in 0u32..3,
        ) {
            let fill = NodeFill(fill);
            let mut l = ListValue::with_compress_depth(depth);
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for (op, pos, size, byte) in ops {
                // Repetitive items, so that compression succeeds often.
                let item = vec![byte % 4; size];
                match op {
                    0 => { l.push_back(&item, fill); model.push_back(item); }
                    1 => { l.push_front(&item, fill); model.push_front(item); }
                    2 => { prop_assert_eq!(l.pop_front(), model.pop_front()); }
                    3 => { prop_assert_eq!(l.pop_back(), model.pop_back()); }
                    4 => { let i = pos as usize % (model.len() + 1); l.insert(i, &item, fill); model.insert(i, item); }
                    5 if !model.is_empty() => { let i = pos as usize % model.len(); l.remove(i); model.remove(i); }
                    _ if !model.is_empty() => { let i = pos as usize % model.len(); prop_assert!(l.set(i, &item)); model[i] = item; }
                    _ => {}
                }
                prop_assert_eq!(l.len(), model.len());
                check_compression(&l);
            }
            let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
            prop_assert_eq!(&got, &model.iter().cloned().collect::<Vec<_>>());
            let rev: Vec<Vec<u8>> = l.iter_rev().map(|e| e.to_vec()).collect();
            prop_assert_eq!(rev, model.iter().rev().cloned().collect::<Vec<_>>());
            for (i, e) in model.iter().enumerate() {
                let got = l.get(i);
                prop_assert_eq!(got.as_deref(), Some(&e[..]));
            }
            if !model.is_empty() {
                let (a, b) = (model.len() / 3, model.len() - 1);
                let r: Vec<Vec<u8>> = l.range(a, b).map(|e| e.into_owned()).collect();
                prop_assert_eq!(r, got[a..=b].to_vec());
            }
        }
    }
}
