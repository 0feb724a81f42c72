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

/// `CRC16_TABLES[k][a]`: the CRC of byte `a` followed by `k` zero bytes.
/// CRC16 with a zero initial value is linear, so four bytes fold into the
/// 16-bit state with four independent lookups (slicing-by-4) instead of a
/// chain of four dependent ones; every key lookup hashes its key this way.
const fn crc16_tables() -> [[u16; 256]; 4] {
    let first = crc16_table();
    let mut tables = [first; 4];
    let mut k = 1;
    while k < 4 {
        let mut a = 0;
        while a < 256 {
            let prev = tables[k - 1][a];
            tables[k][a] = (prev << 8) ^ first[(prev >> 8) as usize];
            a += 1;
        }
        k += 1;
    }
    tables
}

static CRC16_TABLES: [[u16; 256]; 4] = crc16_tables();

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
pub fn crc16(data: &[u8]) -> u16 {
    let t = &CRC16_TABLES;
    let mut crc: u16 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        crc = t[3][((crc >> 8) as u8 ^ c[0]) as usize]
            ^ t[2][(crc as u8 ^ c[1]) as usize]
            ^ t[1][c[2] as usize]
            ^ t[0][c[3] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc << 8) ^ t[0][(((crc >> 8) as u8) ^ b) as usize];
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
    fn sliced_crc16_matches_bytewise() {
        fn bytewise(data: &[u8]) -> u16 {
            let t = crc16_table();
            data.iter().fold(0u16, |crc, &b| {
                (crc << 8) ^ t[(((crc >> 8) as u8) ^ b) as usize]
            })
        }
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7919 % 251) as u8).collect();
        for start in 0..8 {
            for end in start..data.len() {
                assert_eq!(crc16(&data[start..end]), bytewise(&data[start..end]));
            }
        }
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
