//! The order index of the `skiplist` encoding: a B+tree with counted
//! children (an order-statistics tree), which gives what Redis's skiplist with
//! spans gives, in O(log n): insert, delete, rank of an element, element at a
//! rank, and the rank where a score or lex range starts.
//!
//! Leaves are packed buffers of elements (`codec` layout) of about a
//! kilobyte, so an element costs its bytes plus a few, not a node and
//! pointers. Inner nodes keep, for each child, the number of elements under
//! it, and between children a separator key: every key in the child on its
//! left is smaller, every key on its right is not. Separators stay valid as
//! elements come and go, so they change only when nodes split or merge.

use super::codec::{self, Entries};
use std::cmp::Ordering;

#[cfg(not(test))]
const LEAF_MAX_BYTES: usize = 1024;
#[cfg(not(test))]
const INNER_MAX: usize = 64;
// Small nodes under test, so that splits and merges happen at every level.
#[cfg(test)]
const LEAF_MAX_BYTES: usize = 64;
#[cfg(test)]
const INNER_MAX: usize = 4;
const LEAF_MIN_BYTES: usize = LEAF_MAX_BYTES / 4;
const INNER_MIN: usize = if INNER_MAX / 4 > 2 { INNER_MAX / 4 } else { 2 };

type Key = (f64, Box<[u8]>);

#[derive(Clone, Debug, Default, PartialEq)]
struct Leaf {
    buf: Vec<u8>,
    count: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Inner {
    kids: Vec<Node>,
    counts: Vec<usize>,
    /// `seps[i]` separates `kids[i]` and `kids[i + 1]`.
    seps: Vec<Key>,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Leaf(Leaf),
    Inner(Box<Inner>),
}

/// The ordered elements of a large sorted set.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    root: Node,
    len: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            root: Node::Leaf(Leaf::default()),
            len: 0,
        }
    }
}

impl Leaf {
    fn entries(&self) -> Entries<'_> {
        Entries {
            buf: &self.buf,
            pos: 0,
        }
    }

    /// (index, byte start, byte end) of the element.
    fn find(&self, score: f64, member: &[u8]) -> Option<(usize, usize, usize)> {
        let mut pos = 0;
        let mut i = 0;
        while pos < self.buf.len() {
            let (m, s, next) = codec::read_entry(&self.buf, pos);
            match codec::key_cmp(s, m, score, member) {
                Ordering::Less => {}
                Ordering::Equal => return Some((i, pos, next)),
                Ordering::Greater => return None,
            }
            pos = next;
            i += 1;
        }
        None
    }

    /// Inserts; returns where: -1 first, 1 last, 0 elsewhere.
    fn insert(&mut self, score: f64, member: &[u8]) -> i8 {
        let mut pos = 0;
        while pos < self.buf.len() {
            let (m, s, next) = codec::read_entry(&self.buf, pos);
            if codec::key_cmp(s, m, score, member).is_gt() {
                break;
            }
            pos = next;
        }
        let n = codec::entry_len(member, score);
        self.buf.reserve_exact(n);
        codec::write_entry(&mut self.buf, member, score);
        self.buf[pos..].rotate_right(n);
        self.count += 1;
        if pos + n == self.buf.len() {
            1
        } else if pos == 0 {
            -1
        } else {
            0
        }
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let Some((_, from, to)) = self.find(score, member) else {
            return false;
        };
        self.buf.drain(from..to);
        self.count -= 1;
        if self.buf.capacity() - self.buf.len() > 256 {
            self.buf.shrink_to_fit();
        }
        true
    }

    /// Moves the upper part to a new leaf; returns its first key. After an
    /// insert at an end (`hint` -1 or 1: ascending or descending loads) the
    /// split leaves the old side full instead of half full.
    fn split(&mut self, hint: i8) -> (Key, Leaf) {
        let cut = match hint {
            1 => self.buf.len(),
            -1 => 0,
            _ => self.buf.len() / 2,
        };
        let mut pos = 0;
        let mut taken = 0;
        loop {
            pos = codec::read_entry(&self.buf, pos).2;
            taken += 1;
            if pos >= cut || taken + 1 >= self.count {
                break;
            }
        }
        let right_buf = self.buf[pos..].to_vec();
        self.buf.truncate(pos);
        self.buf.shrink_to_fit();
        let (m, s, _) = codec::read_entry(&right_buf, 0);
        let sep = (s, Box::from(m));
        let right = Leaf {
            buf: right_buf,
            count: self.count - taken,
        };
        self.count = taken;
        (sep, right)
    }
}

impl Inner {
    /// The child whose range holds the key.
    fn route(&self, score: f64, member: &[u8]) -> usize {
        self.seps
            .partition_point(|(s, m)| codec::key_cmp(*s, m, score, member) != Ordering::Greater)
    }

    /// Splits in halves, or keeps all but the last child when the new child
    /// is the last one (ascending loads).
    fn split(&mut self, at_end: bool) -> (Key, Inner) {
        let mid = if at_end {
            self.kids.len() - 1
        } else {
            self.kids.len() / 2
        };
        let kids = self.kids.split_off(mid);
        let counts = self.counts.split_off(mid);
        let seps = self.seps.split_off(mid);
        let up = self.seps.pop().unwrap_or((0.0, Box::from(&b""[..])));
        (up, Inner { kids, counts, seps })
    }

    /// After a removal under `kids[j]`: drops it if empty, or merges it with a
    /// neighbour when it got small and the two fit in one node.
    fn fix(&mut self, j: usize) {
        if self.counts[j] == 0 {
            self.kids.remove(j);
            self.counts.remove(j);
            if !self.seps.is_empty() {
                self.seps.remove(j.saturating_sub(1));
            }
            return;
        }
        if self.kids.len() < 2 || !self.kids[j].underfull() {
            return;
        }
        let i = if j + 1 < self.kids.len() { j } else { j - 1 };
        let fits = match (&self.kids[i], &self.kids[i + 1]) {
            (Node::Leaf(a), Node::Leaf(b)) => a.buf.len() + b.buf.len() <= LEAF_MAX_BYTES,
            (Node::Inner(a), Node::Inner(b)) => a.kids.len() + b.kids.len() <= INNER_MAX,
            _ => false,
        };
        if !fits {
            return;
        }
        let right = self.kids.remove(i + 1);
        let right_count = self.counts.remove(i + 1);
        let sep = self.seps.remove(i);
        self.counts[i] += right_count;
        match (&mut self.kids[i], right) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                a.buf.reserve_exact(b.buf.len());
                a.buf.extend_from_slice(&b.buf);
                a.count += b.count;
            }
            (Node::Inner(a), Node::Inner(b)) => {
                let b = *b;
                a.seps.push(sep);
                a.seps.extend(b.seps);
                a.kids.extend(b.kids);
                a.counts.extend(b.counts);
            }
            _ => {}
        }
    }
}

impl Node {
    fn underfull(&self) -> bool {
        match self {
            Node::Leaf(l) => l.buf.len() < LEAF_MIN_BYTES,
            Node::Inner(n) => n.kids.len() < INNER_MIN,
        }
    }

    /// Inserts; returns the new right sibling (its first key and count) on a split.
    fn insert(&mut self, score: f64, member: &[u8]) -> Option<(Key, Node, usize)> {
        match self {
            Node::Leaf(leaf) => {
                let hint = leaf.insert(score, member);
                if leaf.buf.len() > LEAF_MAX_BYTES && leaf.count >= 2 {
                    let (sep, right) = leaf.split(hint);
                    let n = right.count as usize;
                    return Some((sep, Node::Leaf(right), n));
                }
                None
            }
            Node::Inner(inner) => {
                let j = inner.route(score, member);
                inner.counts[j] += 1;
                if let Some((sep, right, n)) = inner.kids[j].insert(score, member) {
                    inner.counts[j] -= n;
                    inner.kids.insert(j + 1, right);
                    inner.counts.insert(j + 1, n);
                    inner.seps.insert(j, sep);
                    if inner.kids.len() > INNER_MAX {
                        let at_end = j + 2 == inner.kids.len();
                        let (sep, right) = inner.split(at_end);
                        let n = right.counts.iter().sum();
                        return Some((sep, Node::Inner(Box::new(right)), n));
                    }
                }
                None
            }
        }
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        match self {
            Node::Leaf(leaf) => leaf.remove(score, member),
            Node::Inner(inner) => {
                let j = inner.route(score, member);
                if !inner.kids[j].remove(score, member) {
                    return false;
                }
                inner.counts[j] -= 1;
                inner.fix(j);
                true
            }
        }
    }

    fn visit<'a>(&'a self, start: usize, end: usize, rev: bool, f: &mut dyn FnMut(&'a [u8], f64)) {
        match self {
            Node::Leaf(leaf) => {
                let items = leaf.entries().skip(start).take(end - start);
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
            Node::Inner(inner) => {
                let mut parts = Vec::new();
                let mut lo = 0;
                for (k, &c) in inner.counts.iter().enumerate() {
                    let hi = lo + c;
                    if hi > start && lo < end {
                        parts.push((k, start.max(lo) - lo, end.min(hi) - lo));
                    }
                    if hi >= end {
                        break;
                    }
                    lo = hi;
                }
                if rev {
                    parts.reverse();
                }
                for (k, s, e) in parts {
                    inner.kids[k].visit(s, e, rev, f);
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        use crate::value::alloc_size;
        match self {
            Node::Leaf(l) => alloc_size(l.buf.capacity()),
            Node::Inner(n) => {
                alloc_size(std::mem::size_of::<Inner>())
                    + alloc_size(n.kids.capacity() * std::mem::size_of::<Node>())
                    + alloc_size(n.counts.capacity() * 8)
                    + alloc_size(n.seps.capacity() * std::mem::size_of::<Key>())
                    + n.seps
                        .iter()
                        .map(|(_, m)| alloc_size(m.len()))
                        .sum::<usize>()
                    + n.kids.iter().map(Node::memory_bytes).sum::<usize>()
            }
        }
    }
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds an element whose member is not in the tree.
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        if let Some((sep, right, n)) = self.root.insert(score, member) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Leaf::default()));
            self.root = Node::Inner(Box::new(Inner {
                kids: vec![left, right],
                counts: vec![self.len + 1 - n, n],
                seps: vec![sep],
            }));
        }
        self.len += 1;
    }

    /// Removes the element; false if it is not there.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        if !self.root.remove(score, member) {
            return false;
        }
        self.len -= 1;
        loop {
            let collapse = match &mut self.root {
                Node::Inner(n) if n.kids.len() == 1 => n.kids.pop(),
                Node::Inner(n) if n.kids.is_empty() => Some(Node::Leaf(Leaf::default())),
                _ => None,
            };
            match collapse {
                Some(node) => self.root = node,
                None => break,
            }
        }
        true
    }

    /// The 0-based rank of the element, if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut node = &self.root;
        let mut prefix = 0;
        loop {
            match node {
                Node::Inner(inner) => {
                    let j = inner.route(score, member);
                    prefix += inner.counts[..j].iter().sum::<usize>();
                    node = &inner.kids[j];
                }
                Node::Leaf(leaf) => return leaf.find(score, member).map(|(i, ..)| prefix + i),
            }
        }
    }

    /// The number of leading elements for which `before` holds; `before` must
    /// hold for a prefix of the order (true ... true false ... false).
    pub fn lower_bound(&self, mut before: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut node = &self.root;
        let mut prefix = 0;
        loop {
            match node {
                Node::Inner(inner) => {
                    let j = inner.seps.partition_point(|(s, m)| before(*s, m));
                    prefix += inner.counts[..j].iter().sum::<usize>();
                    node = &inner.kids[j];
                }
                Node::Leaf(leaf) => {
                    return prefix + leaf.entries().take_while(|(m, s)| before(*s, m)).count()
                }
            }
        }
    }

    /// The element at `rank`.
    pub fn get(&self, mut rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.len {
            return None;
        }
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let mut j = 0;
                    while j + 1 < inner.counts.len() && rank >= inner.counts[j] {
                        rank -= inner.counts[j];
                        j += 1;
                    }
                    node = &inner.kids[j];
                }
                Node::Leaf(leaf) => return leaf.entries().nth(rank),
            }
        }
    }

    /// Calls `f` for the elements with rank in `start..end`, backwards if `rev`.
    pub fn visit<'a>(
        &'a self,
        start: usize,
        end: usize,
        rev: bool,
        f: &mut dyn FnMut(&'a [u8], f64),
    ) {
        let end = end.min(self.len);
        if start < end {
            self.root.visit(start, end, rev, f);
        }
    }

    pub fn memory_bytes(&self) -> usize {
        self.root.memory_bytes()
    }

    /// Checks the structure's invariants (tests).
    #[cfg(test)]
    pub fn check(&self) {
        fn walk(
            node: &Node,
            lo: Option<&Key>,
            hi: Option<&Key>,
            depth: usize,
            leaf_depth: &mut Option<usize>,
        ) -> usize {
            match node {
                Node::Leaf(l) => {
                    match leaf_depth {
                        Some(d) => assert_eq!(*d, depth, "leaves at different depths"),
                        None => *leaf_depth = Some(depth),
                    }
                    let mut prev: Option<(f64, Vec<u8>)> = None;
                    let mut n = 0;
                    for (m, s) in l.entries() {
                        if let Some((ps, pm)) = &prev {
                            assert!(codec::key_cmp(*ps, pm, s, m).is_lt());
                        }
                        if let Some((ls, lm)) = lo {
                            assert!(codec::key_cmp(*ls, lm, s, m) != Ordering::Greater);
                        }
                        if let Some((hs, hm)) = hi {
                            assert!(codec::key_cmp(s, m, *hs, hm).is_lt());
                        }
                        prev = Some((s, m.to_vec()));
                        n += 1;
                    }
                    assert_eq!(n, l.count as usize);
                    n
                }
                Node::Inner(inner) => {
                    assert_eq!(inner.kids.len(), inner.counts.len());
                    assert_eq!(inner.kids.len(), inner.seps.len() + 1);
                    let mut total = 0;
                    for (k, kid) in inner.kids.iter().enumerate() {
                        let klo = if k == 0 { lo } else { Some(&inner.seps[k - 1]) };
                        let khi = if k == inner.seps.len() {
                            hi
                        } else {
                            Some(&inner.seps[k])
                        };
                        let n = walk(kid, klo, khi, depth + 1, leaf_depth);
                        assert_eq!(n, inner.counts[k]);
                        total += n;
                    }
                    total
                }
            }
        }
        let mut leaf_depth = None;
        assert_eq!(walk(&self.root, None, None, 0, &mut leaf_depth), self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Clone, Copy, PartialEq)]
    struct K(f64);
    impl Eq for K {}
    impl PartialOrd for K {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for K {
        fn cmp(&self, o: &Self) -> Ordering {
            self.0.partial_cmp(&o.0).unwrap_or(Ordering::Equal)
        }
    }

    fn contents(t: &Tree) -> Vec<(f64, Vec<u8>)> {
        let mut out = Vec::new();
        t.visit(0, t.len(), false, &mut |m, s| out.push((s, m.to_vec())));
        out
    }

    #[test]
    fn many_inserts_and_removes_keep_order_and_ranks() {
        let mut t = Tree::new();
        let n = 20_000;
        for i in 0..n {
            let s = ((i * 7919) % n) as f64;
            t.insert(s, format!("member:{i}").as_bytes());
        }
        t.check();
        assert_eq!(t.len(), n);
        let all = contents(&t);
        for w in all.windows(2) {
            assert!(codec::key_cmp(w[0].0, &w[0].1, w[1].0, &w[1].1).is_lt());
        }
        for (r, (s, m)) in all.iter().enumerate().step_by(97) {
            assert_eq!(t.rank(*s, m), Some(r));
            assert_eq!(t.get(r), Some((&m[..], *s)));
        }
        assert_eq!(t.lower_bound(|s, _| s < 100.0), 100);
        for i in (0..n).step_by(2) {
            let s = ((i * 7919) % n) as f64;
            assert!(t.remove(s, format!("member:{i}").as_bytes()));
        }
        t.check();
        assert_eq!(t.len(), n / 2);
        for i in (1..n).step_by(2) {
            let s = ((i * 7919) % n) as f64;
            assert!(t.remove(s, format!("member:{i}").as_bytes()));
        }
        t.check();
        assert!(t.is_empty());
        assert!(matches!(t.root, Node::Leaf(_)));
    }

    #[test]
    fn reverse_visit() {
        let mut t = Tree::new();
        for i in 0..5000 {
            t.insert(i as f64, b"x");
        }
        let mut got = Vec::new();
        t.visit(10, 4000, true, &mut |_, s| got.push(s as usize));
        let want: Vec<usize> = (10..4000).rev().collect();
        assert_eq!(got, want);
    }

    proptest! {
        #[test]
        fn behaves_like_a_btreeset(ops in proptest::collection::vec((0u8..4, 0u16..400, -20i32..20, 0usize..40), 1..1500)) {
            let mut t = Tree::new();
            let mut model: BTreeSet<(K, Vec<u8>)> = BTreeSet::new();
            let mut scores: std::collections::HashMap<Vec<u8>, f64> = Default::default();
            for (op, m, s, pad) in ops {
                let mut member = format!("m{m}").into_bytes();
                member.extend(std::iter::repeat_n(b'p', pad * (m as usize % 3)));
                let score = s as f64 / 2.0;
                match op {
                    0 | 1 => {
                        if let Some(old) = scores.insert(member.clone(), score) {
                            prop_assert!(t.remove(old, &member));
                            model.remove(&(K(old), member.clone()));
                        }
                        t.insert(score, &member);
                        model.insert((K(score), member));
                    }
                    2 => {
                        if let Some(old) = scores.remove(&member) {
                            prop_assert!(t.remove(old, &member));
                            model.remove(&(K(old), member));
                        } else {
                            prop_assert!(!t.remove(score, &member));
                        }
                    }
                    _ => {
                        let want = model.iter().take_while(|(k, _)| k.0 < score).count();
                        prop_assert_eq!(t.lower_bound(|x, _| x < score), want);
                    }
                }
            }
            t.check();
            let want: Vec<(f64, Vec<u8>)> = model.iter().map(|(k, m)| (k.0, m.clone())).collect();
            prop_assert_eq!(contents(&t), want.clone());
            for (r, (s, m)) in want.iter().enumerate() {
                prop_assert_eq!(t.rank(*s, m), Some(r));
            }
        }
    }
}
