//! The byte layout of one sorted set element, shared by the `listpack`
//! encoding and the leaves of the `skiplist` encoding's order tree:
//! the member's length (LEB128), the member, then the score in 1 to 9 bytes.
//!
//! Scores that are integers are stored as integers (a byte for -32..=207,
//! otherwise a tag and the fewest little-endian bytes); scores that are short
//! decimals (`2.5`, `19.99`, `0.001`: an integer over 10^1..10^6 that gives
//! back the very same double) as a tag and the integer; scores a single
//! precision float represents exactly as 4 bytes; the rest as 8. The layout
//! is lossless (negative zero stays a float); the `listpack` encoding turns
//! -0 into 0 itself, as Redis's listpack does.

const SMALL_BIAS: i64 = 32;
const SMALL_LAST_TAG: u8 = 0xEF;
/// 0xF0..=0xF7: an integer in 1..=8 bytes.
const INT_TAG: u8 = 0xF0;
const F32_TAG: u8 = 0xF8;
const F64_TAG: u8 = 0xF9;
/// 0xFA..=0xFF: a decimal, mantissa (zigzag LEB128) / 10^(tag - 0xF9).
const DEC_TAG: u8 = 0xFA;
const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];

pub use crate::varint::{read_varint, varint_len, write_varint};

/// The score as an i64 when it is an integer that round-trips (never -0).
fn as_integer(s: f64) -> Option<i64> {
    if s.fract() != 0.0 || s.abs() >= 9.2e18 || (s == 0.0 && s.is_sign_negative()) {
        return None;
    }
    let v = s as i64;
    (v as f64 == s).then_some(v)
}

fn signed_width(v: i64) -> usize {
    (1..8)
        .find(|&n| {
            let shift = 64 - 8 * n as u32;
            (v << shift) >> shift == v
        })
        .unwrap_or(8)
}

/// (decimal places, mantissa) when `s` is exactly mantissa / 10^places
/// (as a double division) for a short mantissa.
fn as_decimal(s: f64) -> Option<(usize, i64)> {
    if !s.is_finite() || s == 0.0 || s.abs() >= 1e12 {
        return None;
    }
    (1..POW10.len()).find_map(|e| {
        let m = (s * POW10[e]).round();
        (m.abs() < 9e15 && (m / POW10[e]).to_bits() == s.to_bits()).then_some((e, m as i64))
    })
}

fn zigzag(v: i64) -> usize {
    ((v << 1) ^ (v >> 63)) as u64 as usize
}

fn unzigzag(n: usize) -> i64 {
    let n = n as u64;
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// How a non-integer score is written.
enum Frac {
    Decimal(usize, i64),
    F32(f32),
    F64,
}

fn frac_form(s: f64) -> Frac {
    let dec = as_decimal(s);
    if let Some((e, m)) = dec {
        if varint_len(zigzag(m)) < 4 {
            return Frac::Decimal(e, m);
        }
    }
    let f = s as f32;
    if f as f64 == s {
        return Frac::F32(f);
    }
    match dec {
        Some((e, m)) if varint_len(zigzag(m)) < 8 => Frac::Decimal(e, m),
        _ => Frac::F64,
    }
}

pub fn write_score(out: &mut Vec<u8>, s: f64) {
    if let Some(v) = as_integer(s) {
        if (-SMALL_BIAS..=SMALL_LAST_TAG as i64 - SMALL_BIAS).contains(&v) {
            out.push((v + SMALL_BIAS) as u8);
        } else {
            let n = signed_width(v);
            out.push(INT_TAG + n as u8 - 1);
            out.extend_from_slice(&v.to_le_bytes()[..n]);
        }
        return;
    }
    match frac_form(s) {
        Frac::Decimal(e, m) => {
            out.push(DEC_TAG + e as u8 - 1);
            write_varint(out, zigzag(m));
        }
        Frac::F32(f) => {
            out.push(F32_TAG);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Frac::F64 => {
            out.push(F64_TAG);
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}

pub fn score_len(s: f64) -> usize {
    if let Some(v) = as_integer(s) {
        if (-SMALL_BIAS..=SMALL_LAST_TAG as i64 - SMALL_BIAS).contains(&v) {
            1
        } else {
            1 + signed_width(v)
        }
    } else {
        match frac_form(s) {
            Frac::Decimal(_, m) => 1 + varint_len(zigzag(m)),
            Frac::F32(_) => 5,
            Frac::F64 => 9,
        }
    }
}

/// (score, bytes it took) of the score at `pos`.
pub fn read_score(buf: &[u8], pos: usize) -> (f64, usize) {
    let tag = buf[pos];
    match tag {
        0..=SMALL_LAST_TAG => ((tag as i64 - SMALL_BIAS) as f64, 1),
        INT_TAG..=0xF7 => {
            let n = (tag - INT_TAG) as usize + 1;
            let mut bytes = [0u8; 8];
            bytes[..n].copy_from_slice(&buf[pos + 1..pos + 1 + n]);
            let shift = 64 - 8 * n as u32;
            let v = (i64::from_le_bytes(bytes) << shift) >> shift;
            (v as f64, 1 + n)
        }
        DEC_TAG..=0xFF => {
            let (z, w) = read_varint(buf, pos + 1);
            let e = (tag - DEC_TAG) as usize + 1;
            (unzigzag(z) as f64 / POW10[e], 1 + w)
        }
        F32_TAG => {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(&buf[pos + 1..pos + 5]);
            (f32::from_le_bytes(bytes) as f64, 5)
        }
        _ => {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&buf[pos + 1..pos + 9]);
            (f64::from_le_bytes(bytes), 9)
        }
    }
}

/// Appends one element.
pub fn write_entry(out: &mut Vec<u8>, member: &[u8], score: f64) {
    write_varint(out, member.len());
    out.extend_from_slice(member);
    write_score(out, score);
}

pub fn entry_len(member: &[u8], score: f64) -> usize {
    varint_len(member.len()) + member.len() + score_len(score)
}

/// The element at `pos`: (member, score, position after it).
#[inline]
pub fn read_entry(buf: &[u8], pos: usize) -> (&[u8], f64, usize) {
    let (n, w) = read_varint(buf, pos);
    let start = pos + w;
    let member = &buf[start..start + n];
    let (score, sw) = read_score(buf, start + n);
    (member, score, start + n + sw)
}

/// Iterates the elements of `buf[pos..end]`.
pub struct Entries<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<(&'a [u8], f64)> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let (m, s, next) = read_entry(self.buf, self.pos);
        self.pos = next;
        Some((m, s))
    }
}

/// Sorted set order: by score, then member bytes. Equal scores compare equal
/// even when one is -0 and the other 0, as Redis compares them.
#[inline]
pub fn key_cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> std::cmp::Ordering {
    if s1 < s2 {
        std::cmp::Ordering::Less
    } else if s1 > s2 {
        std::cmp::Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(s: f64) -> (f64, usize) {
        let mut out = Vec::new();
        write_score(&mut out, s);
        assert_eq!(out.len(), score_len(s));
        let (v, n) = read_score(&out, 0);
        assert_eq!(n, out.len());
        (v, n)
    }

    #[test]
    fn scores_take_few_bytes_and_round_trip() {
        assert_eq!(round_trip(0.0), (0.0, 1));
        assert_eq!(round_trip(207.0), (207.0, 1));
        assert_eq!(round_trip(-32.0), (-32.0, 1));
        assert_eq!(round_trip(208.0), (208.0, 3));
        assert_eq!(round_trip(-33.0), (-33.0, 2));
        assert_eq!(round_trip(1_700_000_000.0).1, 5);
        assert_eq!(round_trip(1.5), (1.5, 2));
        assert_eq!(round_trip(1.1), (1.1, 2));
        assert_eq!(round_trip(-19.99), (-19.99, 3));
        assert_eq!(round_trip(0.000001), (0.000001, 2));
        assert_eq!(round_trip(0.1 + 0.2), (0.1 + 0.2, 9));
        assert_eq!(round_trip(1.0 / 1024.0), (1.0 / 1024.0, 5));
        assert_eq!(round_trip(std::f64::consts::PI), (std::f64::consts::PI, 9));
        assert_eq!(round_trip(f64::INFINITY), (f64::INFINITY, 5));
        assert_eq!(round_trip(f64::NEG_INFINITY), (f64::NEG_INFINITY, 5));
        assert_eq!(round_trip(9.2e18), (9.2e18, 9));
        let (z, _) = round_trip(-0.0);
        assert!(z == 0.0 && z.is_sign_negative());
        assert_eq!(round_trip(i64::MIN as f64 / 2.0).0, i64::MIN as f64 / 2.0);
    }

    proptest! {
        #[test]
        fn decimals_round_trip(m in -10_000_000_000i64..10_000_000_000, e in 0i32..9) {
            let s: f64 = format!("{m}e-{e}").parse().unwrap();
            let (v, _) = round_trip(s);
            prop_assert_eq!(v.to_bits(), s.to_bits());
        }

        #[test]
        fn any_score_round_trips(bits in any::<u64>()) {
            let s = f64::from_bits(bits);
            prop_assume!(!s.is_nan());
            let (v, _) = round_trip(s);
            prop_assert_eq!(v.to_bits(), s.to_bits());
        }

        #[test]
        fn any_integer_score_round_trips(v in any::<i64>()) {
            let s = v as f64;
            let (back, _) = round_trip(s);
            prop_assert_eq!(back, s);
        }
    }
}
