//! Scalar value parsing and formatting with Redis's exact C semantics.
//!
//! This module owns the low-level conversions the configuration code relies
//! on: `memtoull` (sizes such as `1k`, `1kb`, `10mb`, `1gb`), `string2ll`
//! (strict integers), C `strtoll`/`strtod` behaviour where Redis uses them
//! (leading blanks, signs, hex floats, overflow clamping), `yesnotoi`,
//! `sdscatrepr` quoting, the memory formatting used by CONFIG REWRITE, and
//! `strerror`-style I/O error texts. Where Redis operates on C strings the
//! helpers here stop at the first NUL byte, like the C code does.

use std::io;

/// The part of `s` before the first NUL byte (what a C string function sees).
pub(crate) fn cstr(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// C `isspace` in the "C" locale.
pub(crate) fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses a memory size the way Redis's `memtoull` does and returns the
/// number of bytes. Accepts `<digits>[unit]` where unit is one of `b`, `k`
/// (1000), `kb` (1024), `m`, `mb`, `g`, `gb` (case-insensitive). An empty
/// digit string counts as 0 (`""` and `"k"` are 0, as in Redis); a leading
/// `-`, `+`, blanks or any other unit are rejected. Like Redis, a number too
/// large for 64 bits saturates and the unit multiplication wraps around.
pub fn parse_memory(s: &[u8]) -> Option<u64> {
    let s = cstr(s);
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = if unit.is_empty() || unit.eq_ignore_ascii_case(b"b") {
        1
    } else if unit.eq_ignore_ascii_case(b"k") {
        1000
    } else if unit.eq_ignore_ascii_case(b"kb") {
        1024
    } else if unit.eq_ignore_ascii_case(b"m") {
        1000 * 1000
    } else if unit.eq_ignore_ascii_case(b"mb") {
        1024 * 1024
    } else if unit.eq_ignore_ascii_case(b"g") {
        1000 * 1000 * 1000
    } else if unit.eq_ignore_ascii_case(b"gb") {
        1024 * 1024 * 1024
    } else {
        return None;
    };
    // Redis copies the digits into a 128-byte buffer first.
    if digits >= 128 {
        return None;
    }
    let mut val: u64 = 0;
    for &d in &s[..digits] {
        // strtoull saturates on overflow and Redis ignores ERANGE.
        val = val
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .unwrap_or(u64::MAX);
        if val == u64::MAX {
            break;
        }
    }
    Some(val.wrapping_mul(mul))
}

/// Redis's `string2ll`: a strict base-10 integer with no blanks, no `+`, no
/// leading zeros (except `0` itself) and no overflow.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C `strtoll(s, &end, base)` on the C string `s`: returns the value
/// (saturated on overflow), the index where parsing stopped (0 when no digits
/// were found, like C's `endptr == nptr`) and whether `errno` would be
/// `ERANGE`.
pub(crate) fn strtoll(s: &[u8], base: u32) -> (i64, usize, bool) {
    let s = cstr(s);
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let cap = u128::from(u64::MAX) + 1;
    let mut acc: u128 = 0;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(base) else {
            break;
        };
        acc = (acc * u128::from(base) + u128::from(d)).min(cap);
        i += 1;
    }
    if i == start {
        return (0, 0, false);
    }
    if negative {
        if acc > (i64::MAX as u128) + 1 {
            (i64::MIN, i, true)
        } else {
            ((acc as i64).wrapping_neg(), i, false)
        }
    } else if acc > i64::MAX as u128 {
        (i64::MAX, i, true)
    } else {
        (acc as i64, i, false)
    }
}

/// `strtoll(s, &end, base)` that must consume the whole C string
/// (`*end == '\0'`), as Redis checks for `save`, buffer limits and
/// `oom-score-adj-values`. Note that, as in C, an empty string is 0.
pub(crate) fn strtoll_full(s: &[u8], base: u32) -> Option<i64> {
    let c = cstr(s);
    let (v, end, _) = strtoll(c, base);
    if end == c.len() {
        Some(v)
    } else {
        None
    }
}

/// C `strtoll(s, &end, 8)` as used for octal configs: the whole C string
/// must be consumed and `ERANGE` is an error.
pub(crate) fn strtoll_octal_strict(s: &[u8]) -> Option<i64> {
    let c = cstr(s);
    let (v, end, erange) = strtoll(c, 8);
    if end == c.len() && !erange {
        Some(v)
    } else {
        None
    }
}

/// Redis's `string2d`: the whole string must be a C `strtod` number, with no
/// leading blank, not NaN, and no overflow or underflow to zero.
pub(crate) fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || c_isspace(s[0]) {
        return None;
    }
    let d = strtod_full(s)?;
    if d.is_nan() {
        return None;
    }
    Some(d)
}

/// Parses the whole of `s` as C `strtod` would, returning `None` when it
/// would not consume everything or would report `ERANGE` with an infinite or
/// zero result.
fn strtod_full(s: &[u8]) -> Option<f64> {
    let (negative, body) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let lower: Vec<u8> = body.iter().map(|b| b.to_ascii_lowercase()).collect();
    let magnitude = if lower == b"inf" || lower == b"infinity" {
        f64::INFINITY
    } else if lower == b"nan" || (lower.starts_with(b"nan(") && lower.ends_with(b")")) {
        f64::NAN
    } else if lower.starts_with(b"0x") {
        parse_hex_float(&lower[2..])?
    } else {
        parse_dec_float(body)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_dec_float(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let int_digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = s[j.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits == 0 {
            return None; // strtod would stop before the 'e'
        }
        i = j + exp_digits;
    }
    if i != s.len() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    if v.is_infinite() {
        return None; // overflow: ERANGE with HUGE_VAL
    }
    let mantissa_nonzero = s
        .iter()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .any(|b| matches!(b, b'1'..=b'9'));
    if v == 0.0 && mantissa_nonzero {
        return None; // underflow: ERANGE with zero
    }
    Some(v)
}

fn parse_hex_float(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut mantissa = 0f64;
    let mut any = false;
    while i < s.len() && s[i].is_ascii_hexdigit() {
        mantissa = mantissa * 16.0 + f64::from((s[i] as char).to_digit(16)?);
        any = true;
        i += 1;
    }
    let mut scale = 0i64;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while i < s.len() && s[i].is_ascii_hexdigit() {
            mantissa = mantissa * 16.0 + f64::from((s[i] as char).to_digit(16)?);
            scale -= 4;
            any = true;
            i += 1;
        }
    }
    if !any {
        return None;
    }
    if s.get(i) == Some(&b'p') {
        let (v, end, _) = strtoll(&s[i + 1..], 10);
        if end == 0 || s[i + 1..].first().is_some_and(|b| c_isspace(*b)) {
            return None;
        }
        scale = scale.saturating_add(v);
        i += 1 + end;
    }
    if i != s.len() {
        return None;
    }
    let exp = i32::try_from(scale.clamp(-5000, 5000)).ok()?;
    let v = mantissa * 2f64.powi(exp);
    if v.is_infinite() || (v == 0.0 && mantissa != 0.0) {
        return None;
    }
    Some(v)
}

/// Redis's `yesnotoi`: case-insensitive `yes` / `no`.
pub(crate) fn yesno(s: &[u8]) -> Option<bool> {
    let s = cstr(s);
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// Quotes `bytes` the way Redis's `sdscatrepr` does: wrapped in double
/// quotes, with `\\ \" \n \r \t \a \b` escaped and other non-printable bytes
/// written as `\xHH`. The result always parses back (via `split_args`) to the
/// original bytes.
pub fn repr(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// `rewriteConfigFormatMemory`: the largest exact `gb`/`mb`/`kb` unit.
pub(crate) fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// `sprintf("%f")` followed by Redis's `trimDoubleString`.
pub(crate) fn format_double_trimmed(d: f64) -> String {
    let mut s = format!("{d:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// The `strerror` text of an I/O error (without Rust's " (os error N)").
pub fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(pos) if e.raw_os_error().is_some() => text[..pos].to_string(),
        _ => text,
    }
}

/// Trims the bytes in `set` from both ends (Redis's `sdstrim`).
pub(crate) fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|b| !set.contains(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !set.contains(b))
        .map_or(start, |p| p + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory(b"1"), Some(1));
        assert_eq!(parse_memory(b"1b"), Some(1));
        assert_eq!(parse_memory(b"1k"), Some(1000));
        assert_eq!(parse_memory(b"1kb"), Some(1024));
        assert_eq!(parse_memory(b"1KB"), Some(1024));
        assert_eq!(parse_memory(b"10mb"), Some(10 * 1024 * 1024));
        assert_eq!(parse_memory(b"2m"), Some(2_000_000));
        assert_eq!(parse_memory(b"1gb"), Some(1 << 30));
        assert_eq!(parse_memory(b"3g"), Some(3_000_000_000));
        assert_eq!(parse_memory(b""), Some(0));
        assert_eq!(parse_memory(b"k"), Some(0));
        assert_eq!(parse_memory(b"-1"), None);
        assert_eq!(parse_memory(b"+1"), None);
        assert_eq!(parse_memory(b" 1"), None);
        assert_eq!(parse_memory(b"1 "), None);
        assert_eq!(parse_memory(b"1tb"), None);
        assert_eq!(parse_memory(b"0x10"), None);
        // Values verified against redis-server 7.0.15 (CONFIG SET maxmemory).
        assert_eq!(parse_memory(b"99999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_memory(b"20000000000gb"), Some(3028092406290448384));
        assert_eq!(parse_memory(&[b'1'; 200]), None);
    }

    #[test]
    fn strict_integers() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-5"), Some(-5));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"05"[..],
            b"+5",
            b" 5",
            b"5 ",
            b"-0",
            b"-",
            b"",
            b"9223372036854775808",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn c_strtoll() {
        assert_eq!(strtoll_full(b" +5", 10), Some(5));
        assert_eq!(strtoll_full(b"", 10), Some(0));
        assert_eq!(strtoll_full(b"5x", 10), None);
        assert_eq!(strtoll_full(b"99999999999999999999", 10), Some(i64::MAX));
        assert_eq!(strtoll_octal_strict(b"777"), Some(0o777));
        assert_eq!(strtoll_octal_strict(b"999"), None);
        assert_eq!(strtoll_octal_strict(b"7777777777777777777777777"), None);
    }

    #[test]
    fn doubles() {
        assert_eq!(string2d(b"99.9"), Some(99.9));
        assert_eq!(string2d(b"+5"), Some(5.0));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"1e1"), Some(10.0));
        assert_eq!(string2d(b"inf"), Some(f64::INFINITY));
        for bad in [
            &b"nan"[..],
            b" 5",
            b"5 ",
            b"",
            b"1e",
            b"1e400",
            b"1e-400",
            b"abc",
            b".",
        ] {
            assert_eq!(string2d(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(format_double_trimmed(99.9), "99.9");
        assert_eq!(format_double_trimmed(50.0), "50");
        assert_eq!(format_double_trimmed(0.0000001), "0");
        assert_eq!(format_double_trimmed(99.99999999), "100");
    }

    #[test]
    fn quoting_and_memory_format() {
        assert_eq!(repr(b"a\"b"), "\"a\\\"b\"");
        assert_eq!(repr(b"\x01\n\xff"), "\"\\x01\\n\\xff\"");
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(100 << 20), "100mb");
        assert_eq!(format_memory(2048), "2kb");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(-1), "-1");
    }

    #[test]
    fn trimming() {
        assert_eq!(trim(b"  a b \r\n", b" \t\r\n"), b"a b");
        assert_eq!(trim(b" \t ", b" \t\r\n"), b"");
        assert_eq!(trim(b"", b" "), b"");
    }
}
