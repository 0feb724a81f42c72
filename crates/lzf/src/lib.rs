//! LZF, the byte-oriented LZ77 variant Redis uses to compress RDB strings and
//! the inner nodes of lists (`list-compress-depth`). Its own crate so that
//! both `redust-persistence` and `redust-keyspace` use it without depending
//! on each other.
//!
//! The stream is a sequence of items, each starting with a control byte `c`:
//! - `c < 32`: a literal run; the next `c + 1` bytes are copied as they are.
//! - otherwise a back reference: `len = c >> 5` (when 7, one more byte is
//!   added to it), then one byte `lo`; the match starts
//!   `((c & 0x1f) << 8 | lo) + 1` bytes back in the output and is `len + 2`
//!   bytes long (so 3 to 264). A match may overlap the bytes it produces.
//!
//! [`compress`] makes exactly the bytes liblzf 3.6 makes as Redis builds it
//! (a 64 Ki-slot table of 3-byte hashes, two positions hashed after each
//! match), so RDB files and DUMP payloads are Redis's own. [`decompress`] accepts everything
//! liblzf produces and rejects, without panicking, every stream that would
//! read past its input, reference before the start of the output, or
//! produce a length other than the one announced.

use std::fmt;

const MAX_LITERAL: usize = 32;
const MAX_MATCH: usize = 264;
const MAX_OFFSET: usize = 8192;

/// Why a compressed stream was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LzfError {
    /// The input ended in the middle of an item.
    Truncated { at: usize },
    /// A back reference points before the start of the output.
    BadReference { at: usize },
    /// The stream produces more bytes than announced.
    OutputOverflow { at: usize },
    /// The stream produced fewer bytes than announced.
    LengthMismatch { expected: usize, got: usize },
}

impl fmt::Display for LzfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LzfError::Truncated { at } => {
                write!(f, "LZF data ends inside an item at compressed byte {at}")
            }
            LzfError::BadReference { at } => {
                write!(
                    f,
                    "LZF back reference before the start of the output at compressed byte {at}"
                )
            }
            LzfError::OutputOverflow { at } => {
                write!(
                    f,
                    "LZF data expands beyond the announced length at compressed byte {at}"
                )
            }
            LzfError::LengthMismatch { expected, got } => {
                write!(f, "LZF data expands to {got} bytes, {expected} announced")
            }
        }
    }
}

impl std::error::Error for LzfError {}

/// The most bytes one compressed byte can expand to (a 3-byte item making a
/// 264-byte match), used to refuse absurd announced lengths before
/// allocating for them.
pub const MAX_EXPANSION: usize = 88;

/// Bits of the hash table liblzf is built with in Redis (`HLOG`).
const HASH_BITS: u32 = 16;

/// liblzf's hash of the three bytes whose running value is `h` (its
/// `VERY_FAST` variant, which Redis builds): the table slot.
fn slot(h: u32) -> usize {
    ((h >> (24 - HASH_BITS)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HASH_BITS) - 1)) as usize
}

/// liblzf's hash table: for each slot, the last input position hashed
/// there. Kept per thread and reused: entries from earlier calls are told
/// apart by a generation number, so a call never clears 64 Ki slots.
struct Table {
    positions: Vec<u32>,
    generations: Vec<u32>,
    generation: u32,
}

impl Table {
    fn start(&mut self) {
        if self.positions.is_empty() {
            self.positions = vec![0; 1 << HASH_BITS];
            self.generations = vec![0; 1 << HASH_BITS];
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.generations.iter_mut().for_each(|g| *g = 0);
            self.generation = 1;
        }
    }

    /// The position last stored at `slot` in this call, replaced by `pos`.
    fn swap(&mut self, slot: usize, pos: usize) -> Option<usize> {
        let old =
            (self.generations[slot] == self.generation).then(|| self.positions[slot] as usize);
        self.set(slot, pos);
        old
    }

    fn set(&mut self, slot: usize, pos: usize) {
        self.positions[slot] = pos as u32;
        self.generations[slot] = self.generation;
    }
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = const {
        std::cell::RefCell::new(Table { positions: Vec::new(), generations: Vec::new(), generation: 0 })
    };
}

/// Compresses `input`, whatever the size of the result.
pub fn compress(input: &[u8]) -> Vec<u8> {
    compress_bounded(input, usize::MAX / 2).unwrap_or_default()
}

/// Compresses `input` into at most `out_len` bytes, byte for byte as
/// liblzf 3.6 (as Redis builds it) does, so RDB files and DUMP payloads
/// are Redis's own; `None` where liblzf gives up (0 from `lzf_compress`:
/// empty input, or a result that may not fit, judged as liblzf judges it,
/// a few bytes early).
pub fn compress_bounded(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if input.is_empty() || out_len == 0 {
        return None;
    }
    TABLE.with(|t| {
        let mut table = t.borrow_mut();
        table.start();
        compress_with(input, out_len, &mut table)
    })
}

/// Adds one byte to the open literal run, closing a full run (32 bytes) and
/// opening the next with its length placeholder.
fn push_literal(out: &mut Vec<u8>, lit: &mut usize, byte: u8) {
    *lit += 1;
    out.push(byte);
    if *lit == MAX_LITERAL {
        let at = out.len() - *lit - 1;
        out[at] = (*lit - 1) as u8;
        *lit = 0;
        out.push(0);
    }
}

fn compress_with(input: &[u8], out_len: usize, table: &mut Table) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(n + n / 16 + 64));
    // Each literal run starts with a placeholder for its length byte.
    let mut lit = 0usize;
    out.push(0);
    let mut h: u32 = if n >= 2 {
        u32::from(input[0]) << 8 | u32::from(input[1])
    } else {
        0
    };
    let mut ip = 0usize;
    while ip + 2 < n {
        h = h << 8 | u32::from(input[ip + 2]);
        let candidate = table.swap(slot(h), ip);
        let found = candidate
            .filter(|&r| r > 0 && ip - r - 1 < MAX_OFFSET && input[r..r + 3] == input[ip..ip + 3]);
        let Some(r) = found else {
            if out.len() >= out_len {
                return None;
            }
            push_literal(&mut out, &mut lit, input[ip]);
            ip += 1;
            continue;
        };
        let off = ip - r - 1;
        // Close the literal run (or drop its placeholder if it is empty).
        let at = out.len() - lit - 1;
        out[at] = (lit as u8).wrapping_sub(1);
        if lit == 0 {
            out.pop();
        }
        if out.len() + 4 >= out_len {
            return None;
        }
        // The match length, found as liblzf finds it: 16 bytes unchecked
        // against the limit first when there is room, then up to it.
        let max = (n - ip - 2).min(MAX_MATCH);
        let mut len = 2;
        let mut ended = false;
        if max > 16 {
            for _ in 0..16 {
                len += 1;
                if input[r + len] != input[ip + len] {
                    ended = true;
                    break;
                }
            }
        }
        if !ended {
            loop {
                len += 1;
                if !(len < max && input[r + len] == input[ip + len]) {
                    break;
                }
            }
        }
        let code = len - 2;
        if code < 7 {
            out.push(((off >> 8) + (code << 5)) as u8);
        } else {
            out.push(((off >> 8) + (7 << 5)) as u8);
            out.push((code - 7) as u8);
        }
        out.push(off as u8);
        lit = 0;
        out.push(0);
        ip += len;
        if ip + 2 >= n {
            break;
        }
        // Hash the two positions before the match's end.
        ip -= 2;
        h = u32::from(input[ip]) << 8 | u32::from(input[ip + 1]);
        for _ in 0..2 {
            h = h << 8 | u32::from(input[ip + 2]);
            table.set(slot(h), ip);
            ip += 1;
        }
    }
    if out.len() + 3 > out_len {
        return None;
    }
    for &byte in &input[ip..] {
        push_literal(&mut out, &mut lit, byte);
    }
    let at = out.len() - lit - 1;
    out[at] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        out.pop();
    }
    Some(out)
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
        // No valid stream of this size can expand that far: fail before allocating.
        return Err(LzfError::LengthMismatch {
            expected: expected_len,
            got: 0,
        });
    }
    let mut out = Vec::with_capacity(expected_len);
    let mut ip = 0;
    while ip < input.len() {
        let at = ip;
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if ip + run > input.len() {
                return Err(LzfError::Truncated { at });
            }
            if out.len() + run > expected_len {
                return Err(LzfError::OutputOverflow { at });
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&extra) = input.get(ip) else {
                    return Err(LzfError::Truncated { at });
                };
                len += extra as usize;
                ip += 1;
            }
            let Some(&lo) = input.get(ip) else {
                return Err(LzfError::Truncated { at });
            };
            ip += 1;
            let back = ((ctrl & 0x1f) << 8 | lo as usize) + 1;
            let len = len + 2;
            if back > out.len() {
                return Err(LzfError::BadReference { at });
            }
            if out.len() + len > expected_len {
                return Err(LzfError::OutputOverflow { at });
            }
            let from = out.len() - back;
            if back >= len {
                out.extend_from_within(from..from + len);
            } else {
                for i in 0..len {
                    let b = out[from + i];
                    out.push(b);
                }
            }
        }
    }
    if out.len() != expected_len {
        return Err(LzfError::LengthMismatch {
            expected: expected_len,
            got: out.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literal_and_reference_items() {
        // "abc" literal, then a reference 3 back of length 6 (overlapping).
        let stream = [2, b'a', b'b', b'c', (4 << 5), 2];
        assert_eq!(decompress(&stream, 9).unwrap(), b"abcabcabc");
        // Long match form: len 7 + extra byte.
        let stream = [0, b'x', (7 << 5), 10, 0];
        assert_eq!(decompress(&stream, 20).unwrap(), vec![b'x'; 20]);
    }

    #[test]
    fn corrupt_streams_are_refused() {
        assert_eq!(
            decompress(&[5, b'a'], 6),
            Err(LzfError::Truncated { at: 0 })
        );
        assert_eq!(
            decompress(&[(1 << 5), 0], 3),
            Err(LzfError::BadReference { at: 0 })
        );
        assert_eq!(
            decompress(&[0, b'a', (7 << 5)], 30),
            Err(LzfError::Truncated { at: 2 })
        );
        assert_eq!(
            decompress(&[0, b'a', (1 << 5), 0], 2),
            Err(LzfError::OutputOverflow { at: 2 })
        );
        assert!(matches!(
            decompress(&[1, b'a', b'b'], 3),
            Err(LzfError::LengthMismatch { .. })
        ));
        assert!(matches!(
            decompress(&[0, b'a'], 1 << 40),
            Err(LzfError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn compresses_repetitive_data() {
        let data: Vec<u8> = b"hello world ".iter().cycle().take(5000).copied().collect();
        let c = compress(&data);
        assert!(c.len() < 200, "{}", c.len());
        assert_eq!(decompress(&c, data.len()).unwrap(), data);
        assert!(compress_bounded(&data, 10).is_none());
        // liblzf wants a few bytes of room beyond the result.
        assert_eq!(compress_bounded(&data, c.len() + 4).unwrap(), c);
        let long: Vec<u8> = (0..100_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 7000) as u8)
            .collect();
        assert_eq!(decompress(&compress(&long), long.len()).unwrap(), long);
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..2000)) {
            let c = compress(&data);
            prop_assert_eq!(decompress(&c, data.len()).unwrap(), data.clone());
            if let Some(b) = compress_bounded(&data, data.len().saturating_sub(4)) {
                prop_assert_eq!(b, c);
            }
        }

        #[test]
        fn random_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), len in 0usize..5000) {
            let _ = decompress(&data, len);
        }
    }
}
