//! Hash slots: CRC16 (XMODEM) of the key, or of its `{hash tag}`, mod 16384.

/// Number of hash slots, as in Redis Cluster.
pub const SLOT_COUNT: usize = 16384;

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16_TABLE: [u16; 256] = crc16_table();

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc = (crc << 8) ^ CRC16_TABLE[(((crc >> 8) as u8) ^ b) as usize];
    }
    crc
}

/// The slot of a key. If the key has a non-empty `{...}` section, only the part
/// between the first `{` and the next `}` is hashed.
pub fn key_hash_slot(key: &[u8]) -> usize {
    if let Some(open) = key.iter().position(|&c| c == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&c| c == b'}') {
            if len > 0 {
                return crc16(&key[open + 1..open + 1 + len]) as usize & (SLOT_COUNT - 1);
            }
        }
    }
    crc16(key) as usize & (SLOT_COUNT - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_reference_vector() {
        // The check value of CRC16/XMODEM.
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn slots_match_redis_cluster() {
        assert_eq!(key_hash_slot(b"foo"), 12182);
        assert_eq!(key_hash_slot(b"bar"), 5061);
        assert_eq!(
            key_hash_slot(b"{user1000}.following"),
            key_hash_slot(b"user1000")
        );
        assert_eq!(
            key_hash_slot(b"foo{}{bar}"),
            crc16(b"foo{}{bar}") as usize % 16384
        );
        assert_eq!(
            key_hash_slot(b"foo{{bar}}zap"),
            crc16(b"{bar") as usize % 16384
        );
    }
}
