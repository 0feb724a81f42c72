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
//! [`compress`] finds matches with a hash table of 3-byte prefixes; any
//! output it makes decodes with liblzf. [`decompress`] accepts everything
//! liblzf produces and rejects, without panicking, every stream that would
//! read past its input, reference before the start of the output, or
//! produce a length other than the one announced.

use std::fmt;

const MAX_LITERAL: usize = 32;
const MAX_MATCH: usize = 264;
const MAX_OFFSET: usize = 8192;
/// Largest hash table: 2^14 slots.
const MAX_HASH_BITS: u32 = 14;

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

fn hash3(b: &[u8], bits: u32) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize
}

fn flush_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for run in lit.chunks(MAX_LITERAL) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Compresses `input`. The result may be longer than the input when it does
/// not compress; see [`compress_bounded`].
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + 16);
    compress_into(input, &mut out, usize::MAX);
    out
}

/// Compresses `input` only if the result is at most `max_len` bytes long,
/// the way Redis asks liblzf for output shorter than the input.
pub fn compress_bounded(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max_len.min(input.len() + input.len() / 32 + 2));
    if compress_into(input, &mut out, max_len) {
        Some(out)
    } else {
        None
    }
}

/// Appends the compressed form of `input` to `out`; gives up (returning
/// false, `out` then holds garbage past its old length) once the output
/// exceeds `max_len` bytes.
fn compress_into(input: &[u8], out: &mut Vec<u8>, max_len: usize) -> bool {
    let start = out.len();
    let n = input.len();
    // A table about the size of the input: short strings (most RDB strings)
    // must not pay for clearing a big one.
    let bits = (usize::BITS - n.leading_zeros()).clamp(6, MAX_HASH_BITS);
    let mut table = vec![u32::MAX; 1 << bits];
    let mut lit_start = 0;
    let mut ip = 0;
    while ip + 3 <= n {
        let h = hash3(&input[ip..], bits);
        let cand = table[h];
        table[h] = ip as u32;
        if cand != u32::MAX {
            let r = cand as usize;
            let dist = ip - r;
            if dist <= MAX_OFFSET && input[r..r + 3] == input[ip..ip + 3] {
                let max = MAX_MATCH.min(n - ip);
                let mut len = 3;
                while len < max && input[r + len] == input[ip + len] {
                    len += 1;
                }
                flush_literals(out, &input[lit_start..ip]);
                let off = dist - 1;
                let l = len - 2;
                if l < 7 {
                    out.push(((l << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                if out.len() - start > max_len {
                    return false;
                }
                // Index the positions inside the match so later data can refer to them.
                let end = ip + len;
                let mut p = ip + 1;
                while p < end && p + 3 <= n {
                    table[hash3(&input[p..], bits)] = p as u32;
                    p += 1;
                }
                ip = end;
                lit_start = ip;
                continue;
            }
        }
        ip += 1;
        if out.len() - start + (ip - lit_start) > max_len {
            return false;
        }
    }
    flush_literals(out, &input[lit_start..]);
    out.len() - start <= max_len
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
        assert_eq!(compress_bounded(&data, c.len()).unwrap(), c);
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
