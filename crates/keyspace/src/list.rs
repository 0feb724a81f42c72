//! Lists, stored like Redis's quicklist: a deque of `Listpack` nodes.
//!
//! Each node holds up to `list-max-listpack-size` entries (positive values)
//! or up to 4/8/16/32/64 KB (-1 .. -5), so a list of small elements costs a
//! few bytes per element instead of a node and an allocation each. Pushes and
//! pops at both ends touch one node; indexed access walks node lengths.
//! `OBJECT ENCODING` reports `quicklist`, as Redis 7.0 does for every list.

use crate::listpack::Listpack;
use std::collections::VecDeque;

/// How full a node may get (`list-max-listpack-size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeFill(pub i32);

impl NodeFill {
    fn allows(self, node: &Listpack, extra_bytes: usize) -> bool {
        if self.0 > 0 {
            node.len() < self.0 as usize
        } else {
            let limit = match self.0 {
                -1 => 4096,
                -2 => 8192,
                -3 => 16384,
                -4 => 32768,
                _ => 65536,
            };
            node.byte_len() + extra_bytes + 2 <= limit || node.is_empty()
        }
    }
}

impl Default for NodeFill {
    fn default() -> Self {
        NodeFill(-2)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListValue {
    nodes: VecDeque<Listpack>,
    len: usize,
}

impl ListValue {
    pub fn new() -> ListValue {
        ListValue::default()
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

    pub fn memory_bytes(&self) -> usize {
        crate::value::alloc_size(self.nodes.capacity() * std::mem::size_of::<Listpack>())
            + self
                .nodes
                .iter()
                .map(|n| crate::value::alloc_size(n.capacity_bytes()))
                .sum::<usize>()
    }

    pub fn push_back(&mut self, item: &[u8], fill: NodeFill) {
        match self.nodes.back_mut() {
            Some(n) if fill.allows(n, item.len()) => n.push_back(item),
            _ => {
                let mut n = Listpack::new();
                n.push_back(item);
                self.nodes.push_back(n);
            }
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, item: &[u8], fill: NodeFill) {
        match self.nodes.front_mut() {
            Some(n) if fill.allows(n, item.len()) => n.push_front(item),
            _ => {
                let mut n = Listpack::new();
                n.push_back(item);
                self.nodes.push_front(n);
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let item = node.first()?.to_vec();
        node.remove(0);
        if node.is_empty() {
            self.nodes.pop_front();
        }
        self.len -= 1;
        Some(item)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let item = node.last()?.to_vec();
        node.pop_back();
        if node.is_empty() {
            self.nodes.pop_back();
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

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        let (n, off) = self.locate(index)?;
        self.nodes[n].get(off)
    }

    /// Replaces element `index`; false if out of range.
    pub fn set(&mut self, index: usize, item: &[u8]) -> bool {
        match self.locate(index) {
            Some((n, off)) => {
                self.nodes[n].replace(off, item);
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
        self.nodes[n].insert(off, item);
        self.len += 1;
        // Split a node that grew past its fill, keeping nodes bounded.
        if !fill.allows(&self.nodes[n], 0) && self.nodes[n].len() > 1 {
            let node = std::mem::take(&mut self.nodes[n]);
            let half = node.len() / 2;
            let left: Listpack = node.iter().take(half).collect();
            let right: Listpack = node.iter().skip(half).collect();
            self.nodes[n] = left;
            self.nodes.insert(n + 1, right);
        }
    }

    /// Removes element `index`.
    pub fn remove(&mut self, index: usize) {
        if let Some((n, off)) = self.locate(index) {
            self.nodes[n].remove(off);
            if self.nodes[n].is_empty() {
                self.nodes.remove(n);
            }
            self.len -= 1;
        }
    }

    /// Elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.nodes.iter().flat_map(|n| n.iter())
    }

    /// Elements from the tail to the head.
    pub fn iter_rev(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.nodes
            .iter()
            .rev()
            .flat_map(|n| n.iter().collect::<Vec<_>>().into_iter().rev())
    }

    /// Elements `start..=end` (already clamped to the list), in order.
    pub fn range(&self, start: usize, end: usize) -> Vec<&[u8]> {
        self.iter().skip(start).take(end + 1 - start).collect()
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
            .into_iter()
            .map(|e| e.to_vec())
            .collect();
        self.nodes.clear();
        self.len = 0;
        for e in &kept {
            self.push_back(e, fill);
        }
    }

    /// Builds a list from items.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a [u8]>, fill: NodeFill) -> ListValue {
        let mut l = ListValue::new();
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

    proptest! {
        #[test]
        fn behaves_like_a_deque(ops in proptest::collection::vec((0u8..7, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20)), 0..200), fill in prop_oneof![Just(-1i32), Just(-2), Just(3), Just(1)]) {
            let fill = NodeFill(fill);
            let mut l = ListValue::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for (op, pos, item) in ops {
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
            }
            let got: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
            prop_assert_eq!(got, model.iter().cloned().collect::<Vec<_>>());
            for (i, e) in model.iter().enumerate() {
                prop_assert_eq!(l.get(i), Some(&e[..]));
            }
        }
    }
}
