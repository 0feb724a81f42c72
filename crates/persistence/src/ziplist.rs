//! Redis's ziplist, the compact encoding of lists, hashes and sorted sets
//! before Redis 7.0 (RDB types 10, 12, 13 and the nodes of type 14). Redis
//! 7.0 still loads it, so we read it; [`encode`] exists for tests and tools.
//!
//! Layout: `zlbytes` (`u32` LE, whole size), `zltail` (`u32` LE, offset of
//! the last entry), `zllen` (`u16` LE, entry count or 65535 when unknown),
//! the entries, and `0xFF`. Each entry is `prevlen` (size of the previous
//! entry: one byte below 254, else `0xFE` and a `u32` LE), an encoding and
//! the data. Encodings: `00pppppp` string up to 63 bytes; `01pppppp` + 1 byte
//! (big-endian 14 bits); `0x80` + `u32` big-endian length; `0xC0` int16,
//! `0xD0` int32, `0xE0` int64, `0xF0` int24, `0xFE` int8 (all LE);
//! `0xF1`..`0xFD` the immediate integers 0 to 12.

use crate::{canonical_i64, FormatError};

const HEADER: usize = 10;
const END: u8 = 0xFF;

/// Decodes every entry of the ziplist `blob` as bytes (integers in
/// decimal), after checking sizes, `prevlen` chain, `zltail`, count and end.
pub fn decode(blob: &[u8]) -> Result<Vec<Vec<u8>>, FormatError> {
    if blob.len() < HEADER + 1 {
        return Err(FormatError::new(
            0,
            format!("ziplist of {} bytes is too short", blob.len()),
        ));
    }
    let u32_at =
        |p: usize| u32::from_le_bytes([blob[p], blob[p + 1], blob[p + 2], blob[p + 3]]) as usize;
    let total = u32_at(0);
    if total != blob.len() {
        return Err(FormatError::new(
            0,
            format!(
                "ziplist header says {total} bytes but the blob has {}",
                blob.len()
            ),
        ));
    }
    let tail = u32_at(4);
    let declared = u16::from_le_bytes([blob[8], blob[9]]);
    let last = blob.len() - 1;
    if blob[last] != END {
        return Err(FormatError::new(
            last,
            "ziplist does not end with its terminator",
        ));
    }
    let mut out = Vec::new();
    let mut pos = HEADER;
    let mut prev_size = 0usize;
    let mut last_entry = HEADER;
    while pos < last {
        let start = pos;
        let short = || FormatError::new(start, "ziplist entry runs past the end");
        let need = |p: usize, n: usize| if p + n <= last { Ok(()) } else { Err(short()) };
        // prevlen
        let prevlen = if blob[pos] < 254 {
            pos += 1;
            blob[start] as usize
        } else if blob[pos] == 254 {
            need(pos, 5)?;
            pos += 5;
            u32_at(start + 1)
        } else {
            return Err(FormatError::new(start, "ziplist terminator before the end"));
        };
        if prevlen != prev_size {
            return Err(FormatError::new(
                start,
                format!(
                    "ziplist entry says the previous one is {prevlen} bytes, it is {prev_size}"
                ),
            ));
        }
        need(pos, 1)?;
        let enc = blob[pos];
        let entry = match enc >> 6 {
            0 => {
                let len = (enc & 0x3f) as usize;
                need(pos, 1 + len)?;
                pos += 1;
                blob[pos..pos + len].to_vec()
            }
            1 => {
                need(pos, 2)?;
                let len = ((enc & 0x3f) as usize) << 8 | blob[pos + 1] as usize;
                need(pos, 2 + len)?;
                pos += 2;
                blob[pos..pos + len].to_vec()
            }
            2 => {
                if enc != 0x80 {
                    return Err(FormatError::new(
                        pos,
                        format!("invalid ziplist encoding 0x{enc:02x}"),
                    ));
                }
                need(pos, 5)?;
                let len = u32::from_be_bytes([
                    blob[pos + 1],
                    blob[pos + 2],
                    blob[pos + 3],
                    blob[pos + 4],
                ]) as usize;
                if len > last - pos - 5 {
                    return Err(short());
                }
                pos += 5;
                blob[pos..pos + len].to_vec()
            }
            _ => {
                let width = match enc {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => {
                        return Err(FormatError::new(
                            pos,
                            format!("invalid ziplist encoding 0x{enc:02x}"),
                        ));
                    }
                };
                need(pos, 1 + width)?;
                let v = if width == 0 {
                    (enc & 0x0f) as i64 - 1
                } else {
                    let mut raw = [0u8; 8];
                    raw[..width].copy_from_slice(&blob[pos + 1..pos + 1 + width]);
                    let shift = 64 - 8 * width as u32;
                    (i64::from_le_bytes(raw) << shift) >> shift
                };
                pos += 1 + width;
                v.to_string().into_bytes()
            }
        };
        if enc >> 6 != 3 {
            pos += entry.len();
        }
        out.push(entry);
        prev_size = pos - start;
        last_entry = start;
    }
    if tail != last_entry {
        return Err(FormatError::new(
            4,
            format!("ziplist tail offset is {tail} but the last entry is at {last_entry}"),
        ));
    }
    if declared != u16::MAX && declared as usize != out.len() {
        return Err(FormatError::new(
            8,
            format!(
                "ziplist header counts {declared} entries but it holds {}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Encodes `items` as a ziplist, choosing encodings as Redis did.
pub fn encode<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER];
    let mut prev_size = 0usize;
    let mut count = 0usize;
    let mut last_entry = HEADER;
    for s in items {
        let start = buf.len();
        last_entry = start;
        if prev_size < 254 {
            buf.push(prev_size as u8);
        } else {
            buf.push(254);
            buf.extend_from_slice(&(prev_size as u32).to_le_bytes());
        }
        match canonical_i64(s).filter(|_| s.len() < 32) {
            Some(v) if (0..=12).contains(&v) => buf.push(0xF1 + v as u8),
            Some(v) => {
                let (tag, width) = if (-128..=127).contains(&v) {
                    (0xFE, 1)
                } else if (-32768..=32767).contains(&v) {
                    (0xC0, 2)
                } else if (-8388608..=8388607).contains(&v) {
                    (0xF0, 3)
                } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                    (0xD0, 4)
                } else {
                    (0xE0, 8)
                };
                buf.push(tag);
                buf.extend_from_slice(&v.to_le_bytes()[..width]);
            }
            None => {
                let len = s.len();
                if len <= 0x3f {
                    buf.push(len as u8);
                } else if len <= 0x3fff {
                    buf.push(0x40 | (len >> 8) as u8);
                    buf.push(len as u8);
                } else {
                    buf.push(0x80);
                    buf.extend_from_slice(&(len as u32).to_be_bytes());
                }
                buf.extend_from_slice(s);
            }
        }
        prev_size = buf.len() - start;
        count += 1;
    }
    buf.push(END);
    let total = buf.len() as u32;
    buf[0..4].copy_from_slice(&total.to_le_bytes());
    buf[4..8].copy_from_slice(&(last_entry as u32).to_le_bytes());
    let count = if count < u16::MAX as usize {
        count as u16
    } else {
        u16::MAX
    };
    buf[8..10].copy_from_slice(&count.to_le_bytes());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        // ["a", "5", "300"] built by hand from the format description.
        let zl = [
            20, 0, 0, 0, // zlbytes
            15, 0, 0, 0, // zltail
            3, 0, // zllen
            0, 1, b'a', // prevlen 0, 6-bit string "a"
            3, 0xF6, // prevlen 3, immediate 5
            2, 0xC0, 0x2C, 0x01, // prevlen 2, int16 300
            0xFF,
        ];
        assert_eq!(
            decode(&zl).unwrap(),
            vec![b"a".to_vec(), b"5".to_vec(), b"300".to_vec()]
        );
        assert_eq!(encode([&b"a"[..], b"5", b"300"]), zl);
        let empty = [11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xFF];
        assert_eq!(decode(&empty).unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(encode(std::iter::empty()), empty);
    }

    #[test]
    fn corruption_is_reported() {
        let good = encode([&b"hello"[..], b"-70000"]);
        let mut bad = good.clone();
        bad[4] = 11;
        assert!(decode(&bad).unwrap_err().what.contains("tail"));
        let mut bad = good.clone();
        bad[17] = 3; // prevlen of the second entry
        assert!(decode(&bad).unwrap_err().what.contains("previous"));
        let mut bad = good;
        bad[11] = 0x85;
        assert!(decode(&bad).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(prop_oneof![
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            (-200i64..200).prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..400),
        ], 0..40)) {
            let zl = encode(items.iter().map(|v| &v[..]));
            prop_assert_eq!(decode(&zl).unwrap(), items);
        }

        #[test]
        fn garbage_never_panics(mut data in proptest::collection::vec(any::<u8>(), 0..100)) {
            if data.len() >= 4 {
                let n = data.len() as u32;
                data[..4].copy_from_slice(&n.to_le_bytes());
            }
            let _ = decode(&data);
        }
    }
}
