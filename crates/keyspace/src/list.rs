//! Lists, stored like Redis 7.0's quicklist: a deque of nodes, each either a
//! `Listpack` of small elements ("packed") or one element too large for a
//! listpack ("plain").
//!
//! A packed node holds up to `list-max-listpack-size` entries (positive
//! values, and never past 8 KB unless alone, Redis's safety limit) or up to
//! 4/8/16/32/64 KB (-1 .. -5), so a list of small elements costs a few bytes
//! per element instead of a node and an allocation each. An element of at
//! least the packed threshold (1 GB, `DEBUG QUICKLIST-PACKED-THRESHOLD`)
//! gets a plain node of its own, as in Redis: such an element is never
//! copied into or out of a listpack, and a plain node is never merged with
//! its neighbours. Pushes and pops at both ends touch one node; indexed
//! access walks node lengths. `OBJECT ENCODING` reports `quicklist`, as
//! Redis 7.0 does for every list.
//!
//! Inserts (LINSERT, LSET) follow Redis's `_quicklistInsert`: an element goes
//! into its pivot's node if that node has room, else into the neighbour at
//! that side, else into a new node, else the node is split at the pivot and
//! the pieces around it merged where they fit; so `DEBUG OBJECT`'s node count
//! and the RDB's nodes come out as Redis's do.
//!
//! Compression (`list-compress-depth`, fixed when the list is made, as in
//! Redis): with depth `d > 0` the `d` nodes at each end stay uncompressed and
//! the nodes between are LZF-compressed, packed and plain alike, each only if
//! it has at least 48 bytes and compression saves more than 8 (Redis's
//! `MIN_COMPRESS_BYTES` and `MIN_COMPRESS_IMPROVE`). As in Redis, a node is
//! compressed when a change puts it just inside the uncompressed ends or
//! changes it; reading a compressed node decompresses a copy and leaves the
//! node compressed; changing one decompresses it and compresses it again
//! after. A compressed node keeps its entry count and kind outside the
//! compressed bytes, so indexed access walks node lengths without
//! decompressing.

use crate::listpack::{entry_size, Listpack, ListpackIter};
use crate::raw::thinbuf::ThinBuf;
use crate::value::alloc_size;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Redis's `MIN_COMPRESS_BYTES`: smaller nodes are never compressed.
const MIN_COMPRESS_BYTES: usize = 48;
/// Redis's `MIN_COMPRESS_IMPROVE`: compression must save more than this.
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Redis's `SIZE_SAFETY_LIMIT`: a node limited by count still stays within
/// 8 KB (unless it holds a single element).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Bytes our listpack spends outside its entries (the entry count): taken
/// off once when two nodes merge.
const LISTPACK_HEAD: usize = 4;

/// Redis's default `packed_threshold`: elements this large get plain nodes.
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;
/// The largest threshold Redis accepts: a little under 4 GB.
const MAX_PACKED_THRESHOLD: u64 = (1 << 32) - (1 << 20);

/// The process-wide packed threshold, as in Redis (a debugging knob, not a
/// config parameter).
static PACKED_THRESHOLD: AtomicUsize = AtomicUsize::new(DEFAULT_PACKED_THRESHOLD);

/// `DEBUG QUICKLIST-PACKED-THRESHOLD`: sets the size from which elements get
/// plain nodes (0 restores the default); false, changing nothing, when it is
/// past what Redis allows.
pub fn set_packed_threshold(bytes: u64) -> bool {
    if bytes > MAX_PACKED_THRESHOLD {
        return false;
    }
    let bytes = if bytes == 0 {
        DEFAULT_PACKED_THRESHOLD
    } else {
        bytes as usize
    };
    PACKED_THRESHOLD.store(bytes, Ordering::Relaxed);
    true
}

/// How nodes are cut: how full a packed node may get
/// (`list-max-listpack-size`) and from which size an element gets a plain
/// node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFill {
    pub size: i32,
    pub packed_threshold: usize,
}

impl NodeFill {
    /// `list-max-listpack-size` with the process's packed threshold.
    pub fn new(size: i32) -> NodeFill {
        NodeFill {
            size,
            packed_threshold: PACKED_THRESHOLD.load(Ordering::Relaxed),
        }
    }

    fn is_large(self, len: usize) -> bool {
        len >= self.packed_threshold
    }

    /// The byte limit of a node, and whether it is the size setting's own
    /// (negative fill) rather than the safety limit of a count.
    fn byte_limit(self) -> (usize, bool) {
        match self.size {
            s if s >= 0 => (SIZE_SAFETY_LIMIT, false),
            -1 => (4096, true),
            -2 => (8192, true),
            -3 => (16384, true),
            -4 => (32768, true),
            _ => (65536, true),
        }
    }

    /// Whether an element of `extra_bytes` may join `node` (Redis's
    /// `_quicklistNodeAllowInsert`): never a plain node or a large element.
    fn allows(self, node: &Node, extra_bytes: usize) -> bool {
        if self.is_large(extra_bytes) {
            return false;
        }
        let (entries, bytes) = match node {
            Node::Packed(lp) if lp.is_empty() => return true,
            // What the node's allocation would take with the new element:
            // the limits are allocation sizes (an 8 KB node fills
            // jemalloc's 8 KB class, as Redis's does).
            Node::Packed(lp) => (lp.len(), lp.allocation_len()),
            Node::Compressed(b) if !compressed_is_plain(b) => (
                read_u32(b, 0),
                crate::raw::thinbuf::HEADER + compressed_raw_len(b),
            ),
            _ => return false,
        };
        let new_size = bytes + entry_size(extra_bytes);
        let (limit, by_size) = self.byte_limit();
        if by_size {
            new_size <= limit
        } else {
            new_size <= limit && entries < self.size as usize
        }
    }

    /// Whether packed nodes `a` and `b` may become one (Redis's
    /// `_quicklistNodeAllowMerge`).
    fn allows_merge(self, a: &Node, b: &Node) -> bool {
        if a.is_plain() || b.is_plain() {
            return false;
        }
        let merged = (a.raw_bytes() + b.raw_bytes()).saturating_sub(LISTPACK_HEAD);
        let (limit, by_size) = self.byte_limit();
        if by_size {
            merged <= limit
        } else {
            merged <= limit && a.len() + b.len() <= self.size.max(0) as usize
        }
    }
}

impl Default for NodeFill {
    fn default() -> Self {
        NodeFill::new(-2)
    }
}

/// A quicklist node.
#[derive(Clone, Debug)]
enum Node {
    /// Entries in a listpack (Redis's PACKED container).
    Packed(Listpack),
    /// One large element, as is (Redis's PLAIN container).
    Plain(ThinBuf),
    /// Either kind LZF-compressed:
    /// `[entry count: u32][plain: u8][uncompressed bytes: u64][LZF data]`.
    Compressed(ThinBuf),
}

/// Bytes before the LZF data of a compressed node.
const COMPRESSED_HEAD: usize = 13;

fn read_u32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn compressed_is_plain(b: &[u8]) -> bool {
    b[4] == 1
}

fn compressed_raw_len(b: &[u8]) -> usize {
    let mut n = [0u8; 8];
    n.copy_from_slice(&b[5..13]);
    u64::from_le_bytes(n) as usize
}

fn thin(bytes: &[u8]) -> ThinBuf {
    let mut b = ThinBuf::with_capacity(bytes.len());
    b.extend_from_slice(bytes);
    b
}

impl Node {
    /// Number of entries, without decompressing.
    fn len(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.len(),
            Node::Plain(_) => 1,
            Node::Compressed(b) => read_u32(b, 0),
        }
    }

    /// A plain node (one large element), compressed or not.
    fn is_plain(&self) -> bool {
        match self {
            Node::Packed(_) => false,
            Node::Plain(_) => true,
            Node::Compressed(b) => compressed_is_plain(b),
        }
    }

    /// Bytes of the node's data, uncompressed (Redis's `node->sz`).
    fn raw_bytes(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.byte_len(),
            Node::Plain(b) => b.len(),
            Node::Compressed(b) => compressed_raw_len(b),
        }
    }

    fn memory_bytes(&self) -> usize {
        alloc_size(match self {
            Node::Packed(lp) => lp.capacity_bytes(),
            Node::Plain(b) | Node::Compressed(b) => b.allocation_bytes(),
        })
    }

    /// Compresses an uncompressed node when that pays (Redis's
    /// `__quicklistCompressNode`).
    fn compress(&mut self) {
        let count = self.len();
        let (bytes, plain) = match self {
            Node::Packed(lp) => (lp.as_bytes(), false),
            Node::Plain(b) => (&b[..], true),
            Node::Compressed(_) => return,
        };
        if bytes.len() < MIN_COMPRESS_BYTES {
            return;
        }
        // Kept only if `compressed + MIN_COMPRESS_IMPROVE < bytes`.
        let Some(z) = redust_lzf::compress_bounded(bytes, bytes.len()) else {
            return;
        };
        if z.len() + MIN_COMPRESS_IMPROVE >= bytes.len() {
            return;
        }
        let mut b = ThinBuf::with_capacity(COMPRESSED_HEAD + z.len());
        b.extend_from_slice(&(count as u32).to_le_bytes());
        b.push(u8::from(plain));
        b.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        b.extend_from_slice(&z);
        *self = Node::Compressed(b);
    }

    /// The node uncompressed: borrowed, or decompressed into a copy.
    fn uncompressed(&self) -> Cow<'_, Node> {
        match self {
            Node::Compressed(b) => Cow::Owned(unpack(b)),
            node => Cow::Borrowed(node),
        }
    }

    /// Decompresses the node for good (the caller settles compression after
    /// a change).
    fn decompress(&mut self) {
        if let Node::Compressed(b) = self {
            *self = unpack(b);
        }
    }

    /// The listpack of a packed node, decompressed for a change; `None` for
    /// a plain node.
    fn packed_mut(&mut self) -> Option<&mut Listpack> {
        self.decompress();
        match self {
            Node::Packed(lp) => Some(lp),
            _ => None,
        }
    }

    /// Entry `offset`.
    fn get(&self, offset: usize) -> Option<&[u8]> {
        match self {
            Node::Packed(lp) => lp.get(offset),
            Node::Plain(b) => (offset == 0).then_some(&b[..]),
            Node::Compressed(_) => None,
        }
    }

    /// The entries in order.
    fn entries(&self) -> NodeEntries<'_> {
        match self {
            Node::Packed(lp) => NodeEntries::Packed(lp.iter()),
            Node::Plain(b) => NodeEntries::One(Some(&b[..])),
            Node::Compressed(b) => {
                let items: Vec<Vec<u8>> = match unpack(b) {
                    Node::Packed(lp) => lp.iter().map(|e| e.to_vec()).collect(),
                    Node::Plain(b) => vec![b.to_vec()],
                    Node::Compressed(_) => Vec::new(),
                };
                NodeEntries::Copied(items.into_iter())
            }
        }
    }

    /// The entries `from..` of this node, dropping the rest (Redis's split:
    /// the node keeps `..from`).
    fn split_off(&mut self, from: usize) -> Node {
        let lp = self.packed_mut().expect("only packed nodes are split");
        let right: Listpack = lp.iter().skip(from).collect();
        lp.remove_range(from, usize::MAX);
        lp.shrink_to_fit();
        Node::Packed(right)
    }
}

/// The uncompressed node a compressed one holds.
fn unpack(b: &ThinBuf) -> Node {
    let bytes = redust_lzf::decompress(&b[COMPRESSED_HEAD..], compressed_raw_len(b))
        .expect("a list node's own compressed bytes decompress");
    if compressed_is_plain(b) {
        Node::Plain(thin(&bytes))
    } else {
        Node::Packed(Listpack::from_bytes(&bytes))
    }
}

/// One node's entries: borrowed from a packed node, copied out of the
/// others.
enum NodeEntries<'a> {
    Packed(ListpackIter<'a>),
    One(Option<&'a [u8]>),
    Copied(std::vec::IntoIter<Vec<u8>>),
}

impl<'a> Iterator for NodeEntries<'a> {
    type Item = Cow<'a, [u8]>;

    fn next(&mut self) -> Option<Cow<'a, [u8]>> {
        match self {
            NodeEntries::Packed(it) => it.next().map(Cow::Borrowed),
            NodeEntries::One(e) => e.take().map(Cow::Borrowed),
            NodeEntries::Copied(it) => it.next().map(Cow::Owned),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListValue {
    nodes: VecDeque<Node>,
    len: usize,
    /// `list-compress-depth` when the list was made: the nodes kept
    /// uncompressed at each end (0: no compression).
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

    /// Plain nodes (one large element each).
    pub fn plain_node_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_plain()).count()
    }

    /// Each node's kind (true: plain) and elements, head first: the layout
    /// an RDB file records.
    pub fn node_items(&self) -> Vec<(bool, Vec<Vec<u8>>)> {
        self.nodes
            .iter()
            .map(|n| (n.is_plain(), n.entries().map(|e| e.into_owned()).collect()))
            .collect()
    }

    /// Bytes of all nodes' data, uncompressed (`ql_uncompressed_size`).
    pub fn uncompressed_bytes(&self) -> usize {
        self.nodes.iter().map(Node::raw_bytes).sum()
    }

    /// Heap bytes: the node deque and each node as stored (compressed size
    /// for compressed nodes).
    pub fn memory_bytes(&self) -> usize {
        alloc_size(self.nodes.capacity() * std::mem::size_of::<Node>())
            + self.nodes.iter().map(Node::memory_bytes).sum::<usize>()
    }

    /// The node layout, for `DEBUG QUICKLIST`: one line for the list, one
    /// per node.
    pub fn describe(&self, fill: NodeFill) -> String {
        let mut out = format!(
            "{{quicklist {{count : {}}} {{len : {}}} {{fill : {}}} {{compress : {}}}}}\n",
            self.len,
            self.nodes.len(),
            fill.size,
            self.compress_depth
        );
        for (i, n) in self.nodes.iter().enumerate() {
            out.push_str(&format!(
                "{{quicklist node({i})\n{{container : {}, encoding: {}, size: {}, count: {}}}}}\n",
                if n.is_plain() { "PLAIN" } else { "PACKED" },
                if matches!(n, Node::Compressed(_)) {
                    "LZF"
                } else {
                    "RAW"
                },
                n.raw_bytes(),
                n.len()
            ));
        }
        out
    }

    /// Restores the compression rule after a change, as Redis's
    /// `__quicklistCompress` does: the `depth` nodes at each end
    /// uncompressed, the nodes just inside them compressed, and so the
    /// `touched` nodes when they are inside.
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

    /// Puts `node` at position `at`, settling compression.
    fn insert_node(&mut self, at: usize, node: Node) {
        self.len += node.len();
        self.nodes.insert(at, node);
        self.settle(&[at]);
    }

    fn remove_node(&mut self, at: usize) {
        if let Some(n) = self.nodes.remove(at) {
            self.len -= n.len();
        }
        self.settle(&[]);
    }

    /// A node holding just `item`: plain when it is large.
    fn node_of(item: &[u8], fill: NodeFill) -> Node {
        if fill.is_large(item.len()) {
            Node::Plain(thin(item))
        } else {
            let mut lp = Listpack::new();
            lp.push_back(item);
            Node::Packed(lp)
        }
    }

    pub fn push_back(&mut self, item: &[u8], fill: NodeFill) {
        if let Some(n) = self.nodes.back_mut() {
            n.decompress();
            if fill.allows(n, item.len()) {
                if let Some(lp) = n.packed_mut() {
                    lp.push_back(item);
                    self.len += 1;
                    return;
                }
            }
            // The old tail is done growing: give back its spare capacity.
            if let Node::Packed(lp) = n {
                lp.shrink_to_fit();
            }
        }
        self.insert_node(self.nodes.len(), ListValue::node_of(item, fill));
    }

    pub fn push_front(&mut self, item: &[u8], fill: NodeFill) {
        if let Some(n) = self.nodes.front_mut() {
            n.decompress();
            if fill.allows(n, item.len()) {
                if let Some(lp) = n.packed_mut() {
                    lp.push_front(item);
                    self.len += 1;
                    return;
                }
            }
            if let Node::Packed(lp) = n {
                lp.shrink_to_fit();
            }
        }
        self.insert_node(0, ListValue::node_of(item, fill));
    }

    /// Takes entry `offset` out of node `at`, dropping the node when it
    /// empties.
    fn take_entry(&mut self, at: usize, offset: usize) -> Option<Vec<u8>> {
        let node = self.nodes.get_mut(at)?;
        node.decompress();
        let item = match node {
            Node::Plain(_) => {
                let Some(Node::Plain(b)) = self.nodes.remove(at) else {
                    return None;
                };
                self.len -= 1;
                self.settle(&[]);
                return Some(b.to_vec());
            }
            Node::Packed(lp) => {
                let item = lp.get(offset)?.to_vec();
                if offset + 1 == lp.len() {
                    lp.pop_back();
                } else {
                    lp.remove(offset);
                }
                item
            }
            Node::Compressed(_) => return None,
        };
        self.len -= 1;
        if self.nodes[at].len() == 0 {
            self.nodes.remove(at);
            self.settle(&[]);
        } else {
            self.settle(&[at]);
        }
        Some(item)
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        self.take_entry(0, 0)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let at = self.nodes.len().checked_sub(1)?;
        let last = self.nodes[at].len().checked_sub(1)?;
        self.take_entry(at, last)
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
        match self.nodes[n].uncompressed() {
            Cow::Borrowed(node) => node.get(off).map(Cow::Borrowed),
            Cow::Owned(node) => node.get(off).map(|e| Cow::Owned(e.to_vec())),
        }
    }

    /// Replaces element `index` (Redis's `quicklistReplaceEntry`); false if
    /// out of range.
    pub fn set(&mut self, index: usize, item: &[u8], fill: NodeFill) -> bool {
        let Some((n, off)) = self.locate(index) else {
            return false;
        };
        self.nodes[n].decompress();
        let large = fill.is_large(item.len());
        match &mut self.nodes[n] {
            Node::Packed(lp) if !large => {
                lp.replace(off, item);
                self.settle(&[n]);
            }
            Node::Plain(b) if large => {
                *b = thin(item);
                self.settle(&[n]);
            }
            Node::Plain(_) => {
                // A small element replacing a large one goes after it, then
                // the plain node goes.
                self.insert_at(n, off, true, item, fill);
                self.remove_node(n);
            }
            _ => {
                // A large element inside a packed node: inserted after the
                // old one (splitting the node there), then the old one,
                // now its node's last entry, removed.
                self.insert_at(n, off, true, item, fill);
                if self.nodes[n].len() == 1 {
                    self.remove_node(n);
                } else {
                    let last = self.nodes[n].len() - 1;
                    self.take_entry(n, last);
                }
            }
        }
        true
    }

    /// Inserts `item` before (or `after`) element `pivot`, as LINSERT does;
    /// at the end when `pivot` is past it.
    pub fn insert(&mut self, pivot: usize, after: bool, item: &[u8], fill: NodeFill) {
        match self.locate(pivot) {
            Some((n, off)) => self.insert_at(n, off, after, item, fill),
            None => self.push_back(item, fill),
        }
    }

    /// Redis's `_quicklistInsert` at entry `off` of node `n`.
    fn insert_at(&mut self, n: usize, off: usize, after: bool, item: &[u8], fill: NodeFill) {
        self.nodes[n].decompress();
        let count = self.nodes[n].len();
        let full = !fill.allows(&self.nodes[n], item.len());
        let at_tail = after && off + 1 == count;
        let at_head = !after && off == 0;
        let avail_next = at_tail
            && self
                .nodes
                .get(n + 1)
                .is_some_and(|x| fill.allows(x, item.len()));
        let avail_prev = at_head && n > 0 && fill.allows(&self.nodes[n - 1], item.len());
        let side = n + usize::from(after);
        if fill.is_large(item.len()) {
            if self.nodes[n].is_plain() || at_tail || at_head {
                self.insert_node(side, Node::Plain(thin(item)));
            } else {
                // The entries past the split were counted already.
                let right = self.nodes[n].split_off(off + usize::from(after));
                self.nodes.insert(n + 1, right);
                self.insert_node(n + 1, Node::Plain(thin(item)));
            }
            return;
        }
        if !full {
            if let Some(lp) = self.nodes[n].packed_mut() {
                lp.insert(off + usize::from(after), item);
            }
            self.len += 1;
            self.settle(&[n]);
        } else if at_tail && avail_next {
            if let Some(lp) = self.nodes[n + 1].packed_mut() {
                lp.push_front(item);
            }
            self.len += 1;
            self.settle(&[n, n + 1]);
        } else if at_head && avail_prev {
            if let Some(lp) = self.nodes[n - 1].packed_mut() {
                lp.push_back(item);
            }
            self.len += 1;
            self.settle(&[n - 1, n]);
        } else if at_tail || at_head {
            self.insert_node(side, ListValue::node_of(item, fill));
        } else {
            // Split at the pivot; the new element joins the piece on its
            // side, and the pieces merge with their neighbours where they
            // fit.
            let split_at = off + usize::from(after);
            let mut piece = self.nodes[n].split_off(split_at);
            let center = if after {
                if let Some(lp) = piece.packed_mut() {
                    lp.push_front(item);
                }
                self.len += 1;
                self.nodes.insert(n + 1, piece);
                n
            } else {
                // The new node takes the entries before the pivot and the
                // element; this node keeps the pivot onwards.
                let kept = std::mem::replace(&mut self.nodes[n], piece);
                let mut before = kept;
                if let Some(lp) = before.packed_mut() {
                    lp.push_back(item);
                }
                self.len += 1;
                self.nodes.insert(n, before);
                n + 1
            };
            self.settle(&[n, n + 1]);
            self.merge_around(center, fill);
        }
    }

    /// Merges nodes `a` and `a + 1` into `a`.
    fn merge_pair(&mut self, a: usize) {
        let Some(right) = self.nodes.remove(a + 1) else {
            return;
        };
        let right = right.uncompressed().into_owned();
        if let (Some(lp), Node::Packed(r)) = (self.nodes[a].packed_mut(), &right) {
            for e in r.iter() {
                lp.push_back(e);
            }
            lp.shrink_to_fit();
        }
        self.settle(&[a]);
    }

    fn can_merge(&self, a: usize, fill: NodeFill) -> bool {
        match (self.nodes.get(a), self.nodes.get(a + 1)) {
            (Some(x), Some(y)) => fill.allows_merge(x, y),
            _ => false,
        }
    }

    /// Redis's `_quicklistMergeNodes`: the two nodes before `center`, the
    /// two after it, then `center` with its neighbours.
    fn merge_around(&mut self, mut center: usize, fill: NodeFill) {
        if center >= 2 && self.can_merge(center - 2, fill) {
            self.merge_pair(center - 2);
            center -= 1;
        }
        if self.can_merge(center + 1, fill) {
            self.merge_pair(center + 1);
        }
        let target = if center >= 1 && self.can_merge(center - 1, fill) {
            self.merge_pair(center - 1);
            center - 1
        } else {
            center
        };
        if self.can_merge(target, fill) {
            self.merge_pair(target);
        }
    }

    /// Removes element `index`.
    pub fn remove(&mut self, index: usize) {
        if let Some((n, off)) = self.locate(index) {
            self.take_entry(n, off);
        }
    }

    /// Removes `count` elements from `start` (Redis's `quicklistDelRange`:
    /// entries leave their nodes, emptied nodes go, nothing merges).
    pub fn remove_range(&mut self, start: usize, count: usize) {
        let Some((mut n, mut off)) = self.locate(start) else {
            return;
        };
        let mut left = count.min(self.len - start);
        let mut touched = Vec::new();
        while left > 0 && n < self.nodes.len() {
            let node_len = self.nodes[n].len();
            let del = left.min(node_len - off);
            if del == node_len || self.nodes[n].is_plain() {
                self.nodes.remove(n);
            } else {
                if let Some(lp) = self.nodes[n].packed_mut() {
                    lp.remove_range(off, del);
                }
                touched.push(n);
                n += 1;
            }
            self.len -= del;
            left -= del;
            off = 0;
        }
        self.settle(&touched);
    }

    /// Removes the elements whose `keep` flag is false (LREM), in place.
    pub fn retain_flags(&mut self, keep: &[bool]) {
        let mut index = 0;
        let mut n = 0;
        let mut touched = Vec::new();
        while n < self.nodes.len() {
            let node_len = self.nodes[n].len();
            let flags = &keep[index..index + node_len];
            index += node_len;
            let gone = flags.iter().filter(|k| !**k).count();
            if gone == node_len {
                self.nodes.remove(n);
                self.len -= gone;
                continue;
            }
            if gone > 0 {
                if let Some(lp) = self.nodes[n].packed_mut() {
                    for (i, _) in flags.iter().enumerate().rev().filter(|(_, k)| !**k) {
                        lp.remove(i);
                    }
                }
                self.len -= gone;
                touched.push(n);
            }
            n += 1;
        }
        self.settle(&touched);
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

    /// Keeps only elements `start..=end` (an empty range empties the list),
    /// removing from both ends as Redis's LTRIM does.
    pub fn trim(&mut self, start: usize, end: usize) {
        if start > end || start >= self.len {
            self.nodes.clear();
            self.len = 0;
            return;
        }
        let end = end.min(self.len - 1);
        let tail = self.len - 1 - end;
        if tail > 0 {
            self.remove_range(end + 1, tail);
        }
        if start > 0 {
            self.remove_range(0, start);
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

    fn fill(size: i32) -> NodeFill {
        NodeFill {
            size,
            packed_threshold: DEFAULT_PACKED_THRESHOLD,
        }
    }

    /// The compression rule holds: ends plain, nothing compressed without depth.
    fn check_compression(l: &ListValue) {
        let d = l.compress_depth as usize;
        let n = l.nodes.len();
        for (i, node) in l.nodes.iter().enumerate() {
            if d == 0 || i < d || i + d >= n {
                assert!(
                    !matches!(node, Node::Compressed(_)),
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
            l.push_back(format!("{i}:").as_bytes(), fill(4));
            l.push_back(item, fill(4));
        }
        let plain = ListValue::from_items(
            l.iter().collect::<Vec<_>>().iter().map(|e| &e[..]),
            fill(4),
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
        assert!(l.set(200, b"changed", fill(4)));
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
            l.push_back(format!("{i:09}").as_bytes(), fill(3));
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
            noise.push_back(&item, fill(3));
        }
        assert_eq!(noise.compressed_node_count(), 0);
    }

    #[test]
    fn positive_fill_keeps_nodes_within_the_safety_limit() {
        let mut l = ListValue::new();
        for _ in 0..10 {
            l.push_back(&[b'x'; 3000], fill(100));
        }
        // 8 KB holds two 3000-byte elements, not three.
        assert_eq!(l.node_count(), 5);
    }

    #[test]
    fn large_elements_get_plain_nodes_as_in_redis() {
        // Redis 7.0.15 with DEBUG QUICKLIST-PACKED-THRESHOLD 10: RPUSH of
        // a bb c*12 dd e*17 f makes 5 nodes; LSET 0 to a large element 6;
        // LSET 2 (a plain node) to a small one 5 again.
        let f = NodeFill {
            size: -2,
            packed_threshold: 10,
        };
        let mut l = ListValue::new();
        for e in ["a", "bb", "cccccccccccc", "dd", "eeeeeeeeeeeeeeeee", "f"] {
            l.push_back(e.as_bytes(), f);
        }
        assert_eq!((l.node_count(), l.plain_node_count()), (5, 2));
        assert!(l.set(0, b"zzzzzzzzzzzzzzzzzz", f));
        assert_eq!((l.node_count(), l.plain_node_count()), (6, 3));
        assert!(l.set(2, b"x", f));
        assert_eq!((l.node_count(), l.plain_node_count()), (5, 2));
        let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
        let want = [
            "zzzzzzzzzzzzzzzzzz",
            "bb",
            "x",
            "dd",
            "eeeeeeeeeeeeeeeee",
            "f",
        ];
        assert_eq!(got, want.map(|w| w.as_bytes().to_vec()));
        // A compressible plain node inside the ends is compressed.
        let mut c = ListValue::with_compress_depth(1);
        c.push_back(b"a", f);
        c.push_back(&[b'x'; 100], f);
        c.push_back(b"b", f);
        assert_eq!(c.compressed_node_count(), 1);
        assert_eq!(
            c.uncompressed_bytes(),
            100 + 2 * Listpack::from_iter([&b"a"[..]]).byte_len()
        );
        assert_eq!(c.get(1).as_deref(), Some(&[b'x'; 100][..]));
        assert_eq!(c.pop_back().as_deref(), Some(&b"b"[..]));
        assert_eq!(c.compressed_node_count(), 0);
    }

    #[test]
    fn a_full_node_splits_at_the_pivot_and_merges_as_redis_does() {
        let f = fill(4);
        let mut l = ListValue::new();
        for i in 0..8u8 {
            l.push_back(&[b'0' + i], f);
        }
        assert_eq!(l.node_count(), 2);
        // Inside a full node: split at the pivot, the element joins the
        // right piece ([0 1] [x 2 3] [4 5 6 7]), and [0 1] cannot merge
        // with [x 2 3] (5 entries > 4).
        l.insert(1, true, b"x", f);
        assert_eq!(l.node_count(), 3);
        let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
        assert_eq!(got.concat(), b"01x234567");
        // Into a node with room: no new node.
        l.insert(2, false, b"y", f);
        let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
        assert_eq!(got.concat(), b"01yx234567");
        assert_eq!(l.node_count(), 3);
    }

    proptest! {
        #[test]
        fn behaves_like_a_deque(
            ops in proptest::collection::vec((0u8..9, any::<u16>(), 0usize..40, any::<u8>()), 0..300),
            size in prop_oneof![Just(-1i32), Just(-2), Just(3), Just(1)],
            threshold in prop_oneof![Just(DEFAULT_PACKED_THRESHOLD), Just(30usize), Just(1)],
            depth in 0u32..3,
        ) {
            let fill = NodeFill { size, packed_threshold: threshold };
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
                    4 if !model.is_empty() => {
                        let i = pos as usize % model.len();
                        let after = byte % 2 == 0;
                        l.insert(i, after, &item, fill);
                        model.insert(i + usize::from(after), item);
                    }
                    5 if !model.is_empty() => { let i = pos as usize % model.len(); l.remove(i); model.remove(i); }
                    6 if !model.is_empty() => {
                        let i = pos as usize % model.len();
                        let n = size % 7;
                        l.remove_range(i, n);
                        for _ in 0..n.min(model.len() - i) { model.remove(i); }
                    }
                    7 if !model.is_empty() => {
                        let keep: Vec<bool> = (0..model.len()).map(|i| !(i + pos as usize).is_multiple_of(3)).collect();
                        l.retain_flags(&keep);
                        let mut k = keep.iter();
                        model.retain(|_| *k.next().unwrap());
                    }
                    _ if !model.is_empty() => { let i = pos as usize % model.len(); prop_assert!(l.set(i, &item, fill)); model[i] = item; }
                    _ => {}
                }
                prop_assert_eq!(l.len(), model.len());
                prop_assert_eq!(l.nodes.iter().map(Node::len).sum::<usize>(), model.len());
                prop_assert!(l.nodes.iter().all(|n| n.len() > 0));
                prop_assert!(l.nodes.iter().all(|n| !n.is_plain() || n.raw_bytes() >= threshold));
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
                let mut t = l.clone();
                t.trim(a, b);
                prop_assert_eq!(t.iter().map(|e| e.to_vec()).collect::<Vec<_>>(), got[a..=b].to_vec());
            }
        }
    }
}
