//! Hash slots: which of the 16384 slots a key belongs to (the keyspace's
//! `key_hash_slot`, Redis's `keyHashSlot`), and the slot bitmaps the bus
//! carries.

/// The number of hash slots.
pub const SLOTS: usize = 16384;

/// The slot of a key: CRC16 of the key or of its non-empty `{hash tag}`
/// (the keyspace's own hashing, which already shards keys by slot).
pub fn key_slot(key: &[u8]) -> u16 {
    redust_keyspace::key_hash_slot(key) as u16
}

/// A set of slots as the bus carries it: 2048 bytes, slot `s` is bit
/// `s & 7` of byte `s >> 3` (least significant bit first).
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBitmap(pub Box<[u8; SLOTS / 8]>);

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap(Box::new([0; SLOTS / 8]))
    }
}

impl std::fmt::Debug for SlotBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotBitmap({})", ranges_text(&self.ranges()))
    }
}

impl SlotBitmap {
    pub fn get(&self, slot: usize) -> bool {
        slot < SLOTS && self.0[slot >> 3] & (1 << (slot & 7)) != 0
    }

    pub fn set(&mut self, slot: usize, on: bool) {
        if slot >= SLOTS {
            return;
        }
        if on {
            self.0[slot >> 3] |= 1 << (slot & 7);
        } else {
            self.0[slot >> 3] &= !(1 << (slot & 7));
        }
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The slots as inclusive ranges, ascending.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out: Vec<(u16, u16)> = Vec::new();
        // A byte at a time: empty bytes are skipped whole.
        for (i, &byte) in self.0.iter().enumerate() {
            if byte == 0 {
                continue;
            }
            for bit in 0..8 {
                if byte & (1 << bit) == 0 {
                    continue;
                }
                let slot = (i * 8 + bit) as u16;
                match out.last_mut() {
                    Some((_, end)) if *end + 1 == slot => *end = slot,
                    _ => out.push((slot, slot)),
                }
            }
        }
        out
    }
}

/// `0-5460 5462` (a single slot alone, a range as `a-b`).
pub fn ranges_text(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_as_redis_computes_them() {
        // CLUSTER KEYSLOT on Redis 7.0.15.
        assert_eq!(key_slot(b"key_01"), 1579);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user}:a"), key_slot(b"user"));
        assert_eq!(key_slot(b"{}x"), key_slot(b"{}x"));
        assert_eq!(key_slot(b"a{b}c{d}"), key_slot(b"b"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn bitmap_bits_are_lsb_first() {
        let mut b = SlotBitmap::default();
        for s in 0..=5460 {
            b.set(s, true);
        }
        assert_eq!(b.0[682], 0x1f);
        assert_eq!(b.count(), 5461);
        assert_eq!(b.ranges(), vec![(0, 5460)]);
        b.set(100, false);
        assert_eq!(ranges_text(&b.ranges()), "0-99 101-5460");
    }
}
