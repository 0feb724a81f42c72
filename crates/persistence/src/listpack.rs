//! Redis's listpack, as stored inside RDB strings (hashes, sorted sets and
//! quicklist nodes of Redis 7.0).
//!
//! Layout: a 6-byte header (total size `u32` LE, element count `u16` LE, or
//! 65535 when unknown), the entries, and a terminating `0xFF`. Each entry is
//! an encoding byte (possibly with more length bytes), its data, and a
//! "backlen": the size of encoding plus data, written in 1 to 5 bytes of 7
//! bits each, most significant first, every byte but the first carrying
//! the 0x80 flag, so it can be read backwards.
//!
//! Encodings: `0xxxxxxx` 7-bit unsigned; `10xxxxxx` string up to 63 bytes;
//! `110xxxxx` + 1 byte: 13-bit signed; `1110xxxx` + 1 byte: string up to
//! 4095 bytes; `0xF0` + `u32` LE length: longer string; `0xF1`..`0xF4`:
//! 16, 24, 32, 64-bit signed little-endian integers.
//!
//! [`decode`] validates everything (sizes, backlens, count, terminator) and
//! never panics; [`ListpackBuilder`] writes the encoding Redis itself
//! chooses (strings that are canonical integers are stored as integers).

use crate::{canonical_i64, FormatError};

const HEADER: usize = 6;
const EOF: u8 = 0xFF;
/// The element count a listpack header holds when the real count is too big.
pub const COUNT_UNKNOWN: u16 = u16::MAX;

/// One decoded entry, borrowing string data from the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A string entry.
    Str(&'a [u8]),
    /// An integer entry.
    Int(i64),
}

impl Item<'_> {
    /// The entry as bytes (integers in decimal), as Redis hands it out.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Item::Str(s) => s.to_vec(),
            Item::Int(v) => v.to_string().into_bytes(),
        }
    }
}

fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2097151 {
        3
    } else if l < 268435455 {
        4
    } else {
        5
    }
}

fn push_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let bits = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { bits } else { bits | 128 });
    }
}

/// Calls `f` on every entry of the listpack `blob`, in order, after checking
/// the whole structure. Returns the number of entries.
pub fn for_each<'a>(
    blob: &'a [u8],
    mut f: impl FnMut(Item<'a>) -> Result<(), FormatError>,
) -> Result<usize, FormatError> {
    if blob.len() < HEADER + 1 {
        return Err(FormatError::new(
            0,
            format!("listpack of {} bytes is too short", blob.len()),
        ));
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err(FormatError::new(
            0,
            format!(
                "listpack header says {total} bytes but the blob has {}",
                blob.len()
            ),
        ));
    }
    let declared = u16::from_le_bytes([blob[4], blob[5]]);
    let last = blob.len() - 1;
    if blob[last] != EOF {
        return Err(FormatError::new(
            last,
            "listpack does not end with its terminator",
        ));
    }
    let mut pos = HEADER;
    let mut count = 0usize;
    let short = |at: usize| FormatError::new(at, "listpack entry runs past the end");
    while pos < last {
        let start = pos;
        let b = blob[pos];
        let need = |n: usize| {
            if start + n <= last {
                Ok(())
            } else {
                Err(short(start))
            }
        };
        let (item, enc_len) = if b & 0x80 == 0 {
            (Item::Int((b & 0x7f) as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let len = (b & 0x3f) as usize;
            need(1 + len)?;
            (Item::Str(&blob[start + 1..start + 1 + len]), 1 + len)
        } else if b & 0xE0 == 0xC0 {
            need(2)?;
            let uv = ((b & 0x1f) as i64) << 8 | blob[start + 1] as i64;
            (
                Item::Int(if uv >= 1 << 12 { uv - (1 << 13) } else { uv }),
                2,
            )
        } else if b & 0xF0 == 0xE0 {
            need(2)?;
            let len = ((b & 0x0f) as usize) << 8 | blob[start + 1] as usize;
            need(2 + len)?;
            (Item::Str(&blob[start + 2..start + 2 + len]), 2 + len)
        } else {
            match b {
                0xF0 => {
                    need(5)?;
                    let len = u32::from_le_bytes([
                        blob[start + 1],
                        blob[start + 2],
                        blob[start + 3],
                        blob[start + 4],
                    ]) as usize;
                    if len > last - start - 5 {
                        return Err(short(start));
                    }
                    (Item::Str(&blob[start + 5..start + 5 + len]), 5 + len)
                }
                0xF1..=0xF4 => {
                    let width = match b {
                        0xF1 => 2,
                        0xF2 => 3,
                        0xF3 => 4,
                        _ => 8,
                    };
                    need(1 + width)?;
                    let mut raw = [0u8; 8];
                    raw[..width].copy_from_slice(&blob[start + 1..start + 1 + width]);
                    let shift = 64 - 8 * width as u32;
                    let v = (i64::from_le_bytes(raw) << shift) >> shift;
                    (Item::Int(v), 1 + width)
                }
                EOF => {
                    return Err(FormatError::new(
                        start,
                        "listpack terminator before the end",
                    ));
                }
                _ => {
                    return Err(FormatError::new(
                        start,
                        format!("invalid listpack entry encoding 0x{b:02x}"),
                    ));
                }
            }
        };
        pos = start + enc_len;
        let bl = backlen_size(enc_len);
        if pos + bl > last {
            return Err(short(start));
        }
        let mut expected = Vec::with_capacity(5);
        push_backlen(&mut expected, enc_len);
        if blob[pos..pos + bl] != expected[..] {
            return Err(FormatError::new(
                pos,
                "listpack entry has a wrong back length",
            ));
        }
        pos += bl;
        count += 1;
        f(item)?;
    }
    if declared != COUNT_UNKNOWN && declared as usize != count {
        return Err(FormatError::new(
            4,
            format!("listpack header counts {declared} entries but it holds {count}"),
        ));
    }
    Ok(count)
}

/// Decodes every entry of the listpack `blob` as bytes (integers in decimal).
pub fn decode(blob: &[u8]) -> Result<Vec<Vec<u8>>, FormatError> {
    let mut out = Vec::new();
    for_each(blob, |item| {
        out.push(item.to_bytes());
        Ok(())
    })?;
    Ok(out)
}

/// Builds a listpack entry by entry.
#[derive(Debug, Clone)]
pub struct ListpackBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackBuilder {
    /// An empty listpack.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        ListpackBuilder { buf, count: 0 }
    }

    /// Appends one entry; a canonical integer string is stored as an integer.
    pub fn push(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        match canonical_i64(s) {
            Some(v) => {
                if (0..=127).contains(&v) {
                    b.push(v as u8);
                } else if (-4096..=4095).contains(&v) {
                    let uv = (v as u64) & 0x1fff;
                    b.push(0xC0 | (uv >> 8) as u8);
                    b.push(uv as u8);
                } else {
                    let (tag, width) = if (-32768..=32767).contains(&v) {
                        (0xF1, 2)
                    } else if (-8388608..=8388607).contains(&v) {
                        (0xF2, 3)
                    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
                        (0xF3, 4)
                    } else {
                        (0xF4, 8)
                    };
                    b.push(tag);
                    b.extend_from_slice(&v.to_le_bytes()[..width]);
                }
            }
            None => {
                let len = s.len();
                if len < 64 {
                    b.push(0x80 | len as u8);
                } else if len < 4096 {
                    b.push(0xE0 | (len >> 8) as u8);
                    b.push(len as u8);
                } else {
                    b.push(0xF0);
                    b.extend_from_slice(&(len as u32).to_le_bytes());
                }
                b.extend_from_slice(s);
            }
        }
        let enc_len = self.buf.len() - start;
        push_backlen(&mut self.buf, enc_len);
        self.count += 1;
    }

    /// Entries pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size the finished listpack will have.
    pub fn byte_size(&self) -> usize {
        self.buf.len() + 1
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = if self.count < COUNT_UNKNOWN as usize {
            self.count as u16
        } else {
            COUNT_UNKNOWN
        };
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Encodes `items` as one listpack.
pub fn encode<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut b = ListpackBuilder::new();
    for s in items {
        b.push(s);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        // Redis 7.0's listpack for ["a", "1", "-1", "1000"]:
        let lp = encode([&b"a"[..], b"1", b"-1", b"1000"]);
        let expected = [
            18, 0, 0, 0, 4, 0, // header: 18 bytes, 4 entries
            0x81, b'a', 2, // 6-bit string "a"
            0x01, 1, // 7-bit uint 1
            0xDF, 0xFF, 2, // 13-bit -1
            0xC3, 0xE8, 2, // 13-bit 1000
            0xFF,
        ];
        assert_eq!(lp, expected);
        assert_eq!(
            decode(&lp).unwrap(),
            vec![
                b"a".to_vec(),
                b"1".to_vec(),
                b"-1".to_vec(),
                b"1000".to_vec()
            ]
        );
    }

    #[test]
    fn every_width() {
        let values = [
            "0",
            "127",
            "128",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "-8388608",
            "8388607",
            "8388608",
            "-2147483648",
            "2147483647",
            "2147483648",
            "-9223372036854775808",
            "9223372036854775807",
            "-0",
            "007",
            "x",
        ];
        let long = vec![b'z'; 5000];
        let mid = vec![b'y'; 200];
        let mut items: Vec<&[u8]> = values.iter().map(|s| s.as_bytes()).collect();
        items.push(&long);
        items.push(&mid);
        items.push(b"");
        let lp = encode(items.iter().copied());
        let back = decode(&lp).unwrap();
        assert_eq!(back, items.iter().map(|s| s.to_vec()).collect::<Vec<_>>());
    }

    #[test]
    fn corruption_is_reported() {
        let good = encode([&b"hello"[..], b"12"]);
        let mut bad = good.clone();
        bad[0] = 0x30;
        assert!(decode(&bad).unwrap_err().what.contains("header says"));
        let mut bad = good.clone();
        bad[4] = 3;
        assert!(decode(&bad).unwrap_err().what.contains("counts 3"));
        let mut bad = good.clone();
        bad[12] ^= 0x7f; // backlen of "hello"
        assert_eq!(decode(&bad).unwrap_err().pos, 12);
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 1] = 0;
        assert!(decode(&bad).is_err());
        let mut bad = good;
        bad[6] = 0xF7;
        assert!(decode(&bad).unwrap_err().what.contains("0xf7"));
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(prop_oneof![
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            (-5000i64..5000).prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..300),
        ], 0..40)) {
            let lp = encode(items.iter().map(|v| &v[..]));
            prop_assert_eq!(decode(&lp).unwrap(), items);
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
