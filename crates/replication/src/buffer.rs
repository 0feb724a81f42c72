//! The replication buffer: the stream of bytes a master sends its replicas,
//! held once for all of them and for the backlog.
//!
//! As in Redis 7.0, replicas do not get a copy each: every replica keeps a
//! position in the one shared stream, and the stream is trimmed only below
//! both the backlog window (the last `backlog_size` bytes, what a partial
//! resync can start from) and the position of the slowest replica.
//!
//! Offsets are Redis's: the first byte ever appended has offset 1 and
//! `end_offset` (INFO's `master_repl_offset`) is the offset of the last one.
//! A position is the offset of the next byte a reader wants.

use bytes::Bytes;
use std::collections::VecDeque;

/// Bytes gathered before they are frozen into a chunk of the stream.
const CHUNK_BYTES: usize = 16 * 1024;

pub struct ReplBuffer {
    /// Frozen chunks, oldest first, with the offset of each one's first byte.
    chunks: VecDeque<(u64, Bytes)>,
    /// Bytes after the last chunk.
    tail: Vec<u8>,
    /// Offset of `tail[0]` (one past the last chunk).
    tail_offset: u64,
    /// The configured `repl-backlog-size`.
    backlog_size: u64,
}

impl ReplBuffer {
    /// An empty stream whose next byte will have offset `end_offset + 1`.
    pub fn new(end_offset: u64, backlog_size: u64) -> ReplBuffer {
        ReplBuffer {
            chunks: VecDeque::new(),
            tail: Vec::new(),
            tail_offset: end_offset + 1,
            backlog_size: backlog_size.max(1),
        }
    }

    /// Offset of the last byte appended (`master_repl_offset`).
    pub fn end_offset(&self) -> u64 {
        self.tail_offset + self.tail.len() as u64 - 1
    }

    /// Offset of the oldest byte held.
    fn first_held(&self) -> u64 {
        self.chunks.front().map_or(self.tail_offset, |c| c.0)
    }

    /// Bytes held, backlog or not.
    pub fn held_bytes(&self) -> u64 {
        self.end_offset() + 1 - self.first_held()
    }

    /// Bytes of memory the stream holds (its chunks and the growing tail):
    /// INFO's `mem_total_replication_buffers`.
    pub fn memory_bytes(&self) -> u64 {
        let chunks: usize = self.chunks.iter().map(|(_, c)| c.len()).sum();
        (chunks + self.tail.capacity()) as u64
    }

    pub fn append(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        if self.tail.len() >= CHUNK_BYTES {
            let frozen = Bytes::from(std::mem::take(&mut self.tail));
            let start = self.tail_offset;
            self.tail_offset += frozen.len() as u64;
            self.chunks.push_back((start, frozen));
        }
    }

    pub fn backlog_size(&self) -> u64 {
        self.backlog_size
    }

    /// `CONFIG SET repl-backlog-size`.
    pub fn set_backlog_size(&mut self, size: u64) {
        self.backlog_size = size.max(1);
    }

    /// Offset of the first byte of the backlog window (INFO's
    /// `repl_backlog_first_byte_offset`).
    pub fn backlog_first_offset(&self) -> u64 {
        let end = self.end_offset();
        let window_start = (end + 1).saturating_sub(self.backlog_size).max(1);
        window_start.max(self.first_held())
    }

    /// Bytes in the backlog window (`repl_backlog_histlen`).
    pub fn backlog_histlen(&self) -> u64 {
        self.end_offset() + 1 - self.backlog_first_offset()
    }

    /// Whether a reader can start at `position` from the backlog: every byte
    /// from there to the end is in the window.
    pub fn backlog_covers(&self, position: u64) -> bool {
        position >= self.backlog_first_offset() && position <= self.end_offset() + 1
    }

    /// Whether bytes from `position` on are still held (backlog or kept for
    /// a replica).
    pub fn holds(&self, position: u64) -> bool {
        position >= self.first_held() && position <= self.end_offset() + 1
    }

    /// Copies up to `max` bytes starting at `position` into `out`; returns how
    /// many. Nothing when `position` is not held.
    pub fn read(&self, position: u64, max: usize, out: &mut Vec<u8>) -> usize {
        if !self.holds(position) {
            return 0;
        }
        let mut pos = position;
        let mut copied = 0;
        // The first chunk that ends after `pos`.
        let mut index = self
            .chunks
            .partition_point(|(start, c)| start + c.len() as u64 <= pos);
        while copied < max {
            let (start, data): (u64, &[u8]) = match self.chunks.get(index) {
                Some((s, c)) => (*s, &c[..]),
                None if index == self.chunks.len() => (self.tail_offset, &self.tail[..]),
                None => break,
            };
            let skip = (pos - start) as usize;
            if skip >= data.len() {
                break;
            }
            let take = (data.len() - skip).min(max - copied);
            out.extend_from_slice(&data[skip..skip + take]);
            copied += take;
            pos += take as u64;
            index += 1;
        }
        copied
    }

    /// Drops whole chunks that are older than the backlog window and than
    /// `keep_from` (the oldest position a replica still needs).
    pub fn trim(&mut self, keep_from: Option<u64>) {
        let window = (self.end_offset() + 1).saturating_sub(self.backlog_size);
        let keep = keep_from.map_or(window, |k| k.min(window));
        while let Some((start, c)) = self.chunks.front() {
            if start + c.len() as u64 <= keep {
                self.chunks.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn offsets_follow_redis() {
        let mut b = ReplBuffer::new(0, 100);
        assert_eq!(b.end_offset(), 0);
        assert_eq!(b.backlog_histlen(), 0);
        b.append(b"hello");
        assert_eq!(b.end_offset(), 5);
        assert_eq!(b.backlog_first_offset(), 1);
        assert_eq!(b.backlog_histlen(), 5);
        let mut out = Vec::new();
        assert_eq!(b.read(2, 10, &mut out), 4);
        assert_eq!(out, b"ello");
        assert!(b.backlog_covers(6));
        assert!(!b.backlog_covers(7));
    }

    #[test]
    fn starts_at_a_given_offset() {
        let mut b = ReplBuffer::new(1000, 100);
        b.append(b"abc");
        assert_eq!(b.end_offset(), 1003);
        assert_eq!(b.backlog_first_offset(), 1001);
        assert!(!b.backlog_covers(1000));
        let mut out = Vec::new();
        b.read(1001, 100, &mut out);
        assert_eq!(out, b"abc");
    }

    #[test]
    fn trimming_keeps_what_a_replica_needs() {
        let mut b = ReplBuffer::new(0, 10);
        let data = vec![7u8; CHUNK_BYTES];
        b.append(&data);
        b.append(&data);
        b.append(b"x");
        b.trim(Some(5));
        assert!(b.holds(5));
        assert!(!b.backlog_covers(5));
        b.trim(None);
        assert!(!b.holds(5));
        assert_eq!(b.backlog_histlen(), 10);
    }

    proptest! {
        #[test]
        fn reads_return_exactly_what_was_appended(
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..9000), 1..20),
            start in 0u64..5000,
            backlog in 1u64..40000,
            reads in proptest::collection::vec((any::<u64>(), 1usize..50000), 1..10),
        ) {
            let mut b = ReplBuffer::new(start, backlog);
            let mut all = Vec::new();
            for p in &pieces {
                b.append(p);
                all.extend_from_slice(p);
                b.trim(None);
            }
            prop_assert_eq!(b.end_offset(), start + all.len() as u64);
            for (at, max) in reads {
                let first = b.backlog_first_offset();
                let span = b.end_offset() + 2 - first;
                let pos = first + at % span;
                let mut out = Vec::new();
                let n = b.read(pos, max, &mut out);
                let from = (pos - start - 1) as usize;
                let expect = &all[from..(from + max).min(all.len())];
                prop_assert_eq!(n, expect.len());
                prop_assert_eq!(&out[..], expect);
            }
            prop_assert!(b.backlog_histlen() <= backlog.max(1));
            prop_assert!(b.backlog_histlen() == (all.len() as u64).min(backlog.max(1)));
        }
    }
}
