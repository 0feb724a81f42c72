//! Redis's CRC-64: the "Jones" polynomial `0xad93d23594c935a9`, processed
//! reflected (least significant bit first), initial value 0, no final xor.
//!
//! It checksums RDB files (the 8 bytes after the EOF opcode) and `DUMP`
//! payloads. The check value of `"123456789"` is `0xe9c6d914c4b8d9ca`.
//!
//! The implementation is table driven with slicing-by-8: eight 256-entry
//! tables, built at compile time, fold eight input bytes per step.

/// The Jones polynomial in reflected (bit-reversed) form.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

const fn make_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static TABLES: [[u64; 256]; 8] = make_tables();

/// Continues a CRC-64 over `data`, starting from `crc` (0 for a fresh one).
///
/// `update(update(0, a), b) == update(0, a ++ b)`, so a stream can be
/// checksummed piece by piece.
pub fn update(mut crc: u64, data: &[u8]) -> u64 {
    let t = &TABLES;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word = crc ^ u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        crc = t[7][(word & 0xff) as usize]
            ^ t[6][((word >> 8) & 0xff) as usize]
            ^ t[5][((word >> 16) & 0xff) as usize]
            ^ t[4][((word >> 24) & 0xff) as usize]
            ^ t[3][((word >> 32) & 0xff) as usize]
            ^ t[2][((word >> 40) & 0xff) as usize]
            ^ t[1][((word >> 48) & 0xff) as usize]
            ^ t[0][(word >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The CRC-64 of `data`.
pub fn checksum(data: &[u8]) -> u64 {
    update(0, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit-at-a-time reference, straight from the definition.
    fn bitwise(data: &[u8]) -> u64 {
        let mut crc = 0u64;
        for &b in data {
            crc ^= b as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn check_value() {
        assert_eq!(checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
        assert_eq!(checksum(b""), 0);
    }

    #[test]
    fn redis_test_vector() {
        // The longer vector Redis's own crc64 self-test uses.
        let text = b"This is a test of the emergency broadcast system.";
        assert_eq!(checksum(text), bitwise(text));
    }

    proptest! {
        #[test]
        fn matches_bitwise_and_composes(data in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(data.len());
            prop_assert_eq!(checksum(&data), bitwise(&data));
            prop_assert_eq!(update(update(0, &data[..cut]), &data[cut..]), checksum(&data));
        }
    }
}
