//! INCRBYFLOAT and HINCRBYFLOAT arithmetic, exactly as Redis 7.0 does it on
//! x86-64: C's `long double` (the x87 80-bit format, a 64-bit mantissa),
//! read with `strtold`, summed with round-to-nearest-even, and written with
//! `%.17Lf` less trailing zeros.
//!
//! Rust has no such type, so this module carries one: a value is a 64-bit
//! mantissa times a power of two (normal values from 2^-16382 up to just
//! below 2^16384, subnormals down to 2^-16445). Reading, summing and
//! printing go through exact big-integer arithmetic ([`Big`]) and round once,
//! as the hardware and glibc do, so every digit matches Redis's.

use std::cmp::Ordering;

/// The smallest exponent of the mantissa's last bit (the least subnormal).
const EXP_MIN: i64 = -16445;
/// Values at or above 2^EXP_LIMIT overflow to infinity.
const EXP_LIMIT: i64 = 16384;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer arguments are not floats.
const MAX_CHARS: usize = 5 * 1024;

/// A finite extended-precision value, or an infinity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LongDouble {
    /// `(-1)^neg × mant × 2^exp`.
    Finite {
        neg: bool,
        mant: u64,
        exp: i64,
    },
    Infinite {
        neg: bool,
    },
}

/// An unsigned big integer, little-endian 32-bit limbs, no trailing zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + (32 - top.leading_zeros()) as u64,
        }
    }

    fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        limb < self.0.len() && self.0[limb] >> (i % 32) & 1 == 1
    }

    /// Whether any of the bits below `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        if self.0[..limb.min(self.0.len())].iter().any(|&l| l != 0) {
            return true;
        }
        limb < self.0.len() && !i.is_multiple_of(32) && self.0[limb] & ((1u32 << (i % 32)) - 1) != 0
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push(l << bits | carry);
                carry = l >> (32 - bits);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        Big(out)
    }

    fn shr(&self, n: u64) -> Big {
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        if limbs >= self.0.len() {
            return Big(Vec::new());
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for i in 0..src.len() {
            let hi = src.get(i + 1).copied().unwrap_or(0);
            out.push(if bits == 0 {
                src[i]
            } else {
                src[i] >> bits | hi << (32 - bits)
            });
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// The low 64 bits.
    fn low_u64(&self) -> u64 {
        let l0 = self.0.first().copied().unwrap_or(0) as u64;
        let l1 = self.0.get(1).copied().unwrap_or(0) as u64;
        l1 << 32 | l0
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in self.0.iter_mut() {
            let v = *l as u64 * m as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for l in self.0.iter_mut() {
            if carry == 0 {
                return;
            }
            let v = *l as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// Divides in place by `d`, returning the remainder.
    fn divrem_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.0.iter_mut().rev() {
            let v = rem << 32 | *l as u64;
            *l = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn add(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len().max(other.0.len()) + 1);
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let v = self.0.get(i).copied().unwrap_or(0) as u64
                + other.0.get(i).copied().unwrap_or(0) as u64
                + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry != 0 {
            out.push(carry as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - other`, for `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut v = self.0[i] as i64 - other.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn pow10(n: u64) -> Big {
        Big::from_u64(1).mul_pow10(n)
    }

    /// `(self / d, whether a remainder is left)`, for a quotient of at most
    /// `qbits` bits (long division one bit at a time: the quotients here are
    /// a few dozen bits).
    fn div_short_quotient(&self, d: &Big, qbits: u64) -> (Big, bool) {
        let mut rem = self.clone();
        let mut q = Big(Vec::new());
        for bit in (0..qbits).rev() {
            let shifted = d.shl(bit);
            if rem.cmp(&shifted) != Ordering::Less {
                rem = rem.sub(&shifted);
                q = q.add(&Big::from_u64(1).shl(bit));
            }
        }
        (q, !rem.is_zero())
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.divrem_small(1_000_000_000));
        }
        let mut s = chunks.pop().map_or(String::new(), |c| c.to_string());
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

impl LongDouble {
    const ZERO: LongDouble = LongDouble::Finite {
        neg: false,
        mant: 0,
        exp: 0,
    };

    pub fn from_i64(v: i64) -> LongDouble {
        LongDouble::round(v < 0, &Big::from_u64(v.unsigned_abs()), 0, false)
    }

    /// `(-1)^neg × (n + a sticky fraction below its last bit) × 2^exp`
    /// rounded to the nearest value (ties to even), as the x87 rounds.
    fn round(neg: bool, n: &Big, exp: i64, sticky: bool) -> LongDouble {
        let bits = n.bits() as i64;
        if bits == 0 {
            return LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            };
        }
        // Drop the bits past 64, or below the least subnormal.
        let drop = (bits - 64).max(EXP_MIN - exp);
        let (mut mant, mut e) = if drop <= 0 {
            (n.low_u64(), exp)
        } else {
            let d = drop as u64;
            let kept = n.shr(d).low_u64();
            let half = n.bit(d - 1);
            let rest = sticky || n.any_below(d - 1);
            let up = half && (rest || kept & 1 == 1);
            match kept.checked_add(u64::from(up)) {
                Some(m) => (m, exp + drop),
                None => (1 << 63, exp + drop + 1),
            }
        };
        if mant == 0 {
            return LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            };
        }
        // Normalise where the exponent allows (for comparisons only).
        while mant >> 63 == 0 && e > EXP_MIN {
            mant <<= 1;
            e -= 1;
        }
        if e + 64 > EXP_LIMIT {
            return LongDouble::Infinite { neg };
        }
        LongDouble::Finite { neg, mant, exp: e }
    }

    /// Parses a float the way Redis's `string2ld` does with `strtold`: an
    /// optional sign; decimal digits with an optional point and exponent,
    /// or `0x` hex digits with an optional point and binary `p` exponent;
    /// or `inf`/`infinity`. `None` for anything else, NaN, leading or
    /// trailing space, or a value that overflows or underflows to zero.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS || s[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let lower = body.to_ascii_lowercase();
        if lower == b"inf" || lower == b"infinity" {
            return Some(LongDouble::Infinite { neg });
        }
        let (hex, digits) = match lower.strip_prefix(b"0x") {
            Some(rest) => (true, rest),
            None => (false, &lower[..]),
        };
        let (radix, exp_mark) = if hex { (16u32, b'p') } else { (10u32, b'e') };
        let (mantissa, exponent) = match digits.iter().position(|&c| c == exp_mark) {
            Some(p) => (&digits[..p], Some(&digits[p + 1..])),
            None => (digits, None),
        };
        let mut n = Big(Vec::new());
        let mut seen_digit = false;
        let mut seen_point = false;
        let mut frac_digits: i64 = 0;
        for &c in mantissa {
            if c == b'.' && !seen_point {
                seen_point = true;
                continue;
            }
            let d = (c as char).to_digit(radix)?;
            seen_digit = true;
            n.mul_small(radix);
            n.add_small(d);
            if seen_point {
                frac_digits += 1;
            }
        }
        if !seen_digit {
            return None;
        }
        let exp_value: i64 = match exponent {
            None => 0,
            Some(e) => {
                let (eneg, edigits) = match e.first() {
                    Some(b'-') => (true, &e[1..]),
                    Some(b'+') => (false, &e[1..]),
                    _ => (false, e),
                };
                if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                // Far past any long double either way: saturate.
                let v = edigits.iter().fold(0i64, |acc, &c| {
                    (acc * 10 + (c - b'0') as i64).min(1_000_000)
                });
                if eneg {
                    -v
                } else {
                    v
                }
            }
        };
        let value = if n.is_zero() {
            LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            }
        } else if hex {
            LongDouble::round(neg, &n, exp_value - 4 * frac_digits, false)
        } else {
            let e10 = exp_value - frac_digits;
            if e10 >= 0 {
                if e10 > 6000 {
                    return None; // overflows
                }
                LongDouble::round(neg, &n.clone().mul_pow10(e10 as u64), 0, false)
            } else {
                if -e10 > 6000 + n.bits() as i64 {
                    return None; // underflows to zero
                }
                let p = Big::pow10((-e10) as u64);
                // Enough quotient bits for 64 of mantissa and rounding.
                let shift = (p.bits() as i64 - n.bits() as i64 + 66).max(0) as u64;
                let num = n.shl(shift);
                let qbits = num.bits().saturating_sub(p.bits()) + 1;
                let (q, sticky) = num.div_short_quotient(&p, qbits);
                LongDouble::round(neg, &q, -(shift as i64), sticky)
            }
        };
        match value {
            LongDouble::Infinite { .. } => None,
            LongDouble::Finite { mant: 0, .. } if !n.is_zero() => None,
            v => Some(v),
        }
    }

    /// A NaN sum (infinities of both signs) counts as not finite too.
    pub fn is_finite(self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// Redis's human form: `%.17Lf`, trailing zeros (and a bare point)
    /// removed, `-0` written `0`.
    pub fn to_human(self) -> String {
        let LongDouble::Finite { neg, mant, exp } = self else {
            return if matches!(self, LongDouble::Infinite { neg: true }) {
                "-inf".into()
            } else {
                "inf".into()
            };
        };
        let m = Big::from_u64(mant);
        let (int, frac) = if exp >= 0 {
            (m.shl(exp as u64), 0u64)
        } else {
            let k = (-exp) as u64;
            let int = m.shr(k);
            // The fraction's bits, times 10^17, shifted back: 17 digits,
            // rounded half to even on the exact remainder.
            let frac_bits = if k >= 64 {
                m.clone()
            } else {
                Big::from_u64(mant & ((1u64 << k) - 1))
            };
            let scaled = frac_bits.mul_pow10(17);
            let digits = scaled.shr(k).low_u64();
            let half = scaled.bit(k - 1);
            let rest = scaled.any_below(k - 1);
            let up = half && (rest || digits & 1 == 1);
            (int, digits + u64::from(up))
        };
        let (int, frac) = if frac >= 100_000_000_000_000_000 {
            let mut i = int;
            i.add_small(1);
            (i, frac - 100_000_000_000_000_000)
        } else {
            (int, frac)
        };
        let mut s = String::new();
        if neg {
            s.push('-');
        }
        s.push_str(&int.to_decimal());
        let f = format!("{frac:017}");
        let f = f.trim_end_matches('0');
        if !f.is_empty() {
            s.push('.');
            s.push_str(f);
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// The exact sum, rounded once.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::{Finite, Infinite};
        match (self, other) {
            (Infinite { neg: a }, Infinite { neg: b }) if a != b => Infinite { neg: a }, // NaN: caller rejects non-finite
            (Infinite { neg }, _) | (_, Infinite { neg }) => Infinite { neg },
            (
                Finite {
                    neg: na,
                    mant: ma,
                    exp: ea,
                },
                Finite {
                    neg: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => {
                if ma == 0 && mb == 0 {
                    // -0 + -0 is -0; any other sum of zeros is +0.
                    return Finite {
                        neg: na && nb,
                        mant: 0,
                        exp: 0,
                    };
                }
                if ma == 0 {
                    return other;
                }
                if mb == 0 {
                    return self;
                }
                let e = ea.min(eb);
                let a = Big::from_u64(ma).shl((ea - e) as u64);
                let b = Big::from_u64(mb).shl((eb - e) as u64);
                if na == nb {
                    LongDouble::round(na, &a.add(&b), e, false)
                } else {
                    match a.cmp(&b) {
                        Ordering::Equal => LongDouble::ZERO,
                        Ordering::Greater => LongDouble::round(na, &a.sub(&b), e, false),
                        Ordering::Less => LongDouble::round(nb, &b.sub(&a), e, false),
                    }
                }
            }
        }
    }
}

impl Big {
    fn mul_pow10(mut self, n: u64) -> Big {
        let mut left = n;
        while left > 0 {
            let step = left.min(9);
            self.mul_small(10u32.pow(step as u32));
            left -= step;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn reading_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(v) = LongDouble::parse(&data) {
                let _ = (v + v).to_human();
            }
        }

        #[test]
        fn numbers_read_and_print_back(mant in any::<i64>(), exp in -40i32..40) {
            let text = format!("{mant}e{exp}");
            let v = LongDouble::parse(text.as_bytes()).unwrap();
            let printed = v.to_human();
            // What is printed reads back to within the 17 printed decimals.
            let again = LongDouble::parse(printed.as_bytes()).unwrap();
            prop_assert!(again.is_finite());
            prop_assert_eq!(LongDouble::parse(again.to_human().as_bytes()).unwrap().to_human(), printed);
        }
    }

    fn incr(a: &str, b: &str) -> String {
        let x = LongDouble::parse(a.as_bytes()).unwrap();
        let y = LongDouble::parse(b.as_bytes()).unwrap();
        (x + y).to_human()
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        // Expected strings from Redis 7.0.15's INCRBYFLOAT.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("3.0e3", "200"), "3200");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("0", "1.5"), "1.5");
        assert_eq!(incr("0", "-0"), "0");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("0", "0x1p-2"), "0.25");
        assert_eq!(incr("0", "1e-20"), "0");
        assert_eq!(incr("0", "5e-18"), "0");
        assert_eq!(incr("0", "6e-18"), "0.00000000000000001");
        assert_eq!(incr("0", "1e20"), "100000000000000000000");
        assert_eq!(incr("0", "0.3"), "0.3");
        assert_eq!(incr("0.1", "0.2"), "0.3");
    }

    #[test]
    fn parse_refuses_what_string2ld_refuses() {
        for bad in [
            "", " 1", "1 ", "abc", "1e", "0x", ".", "nan", "1e5000", "1e-5000", "--1",
        ] {
            assert!(LongDouble::parse(bad.as_bytes()).is_none(), "{bad}");
        }
        assert!(matches!(
            LongDouble::parse(b"inf"),
            Some(LongDouble::Infinite { neg: false })
        ));
        assert!(LongDouble::parse(b"1e4000").is_some());
        assert!(LongDouble::parse(b"0x1.8p3").is_some());
        assert_eq!(LongDouble::parse(b"0x10").unwrap().to_human(), "16");
    }
}
