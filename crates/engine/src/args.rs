//! Reading command arguments: numbers with Redis's strict rules and errors.

use crate::errors::{CmdError, NOT_FLOAT, NOT_INTEGER};

/// A signed 64-bit integer written exactly as Redis's `string2ll` accepts.
pub fn parse_i64(arg: &[u8]) -> Result<i64, CmdError> {
    redust_resp::parse::parse_i64(arg).ok_or(CmdError::from(NOT_INTEGER))
}

/// Like `parse_i64`, with a custom error text.
pub fn parse_i64_or(arg: &[u8], err: &'static str) -> Result<i64, CmdError> {
    redust_resp::parse::parse_i64(arg).ok_or(CmdError::from(err))
}

/// A non-negative integer that fits in `usize`.
pub fn parse_usize(arg: &[u8]) -> Result<usize, CmdError> {
    match redust_resp::parse::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(NOT_INTEGER.into()),
    }
}

/// A float as Redis's `string2ld`/`strtod` accept it: no spaces, no NaN,
/// `inf`/`-inf`/`+inf` allowed.
pub fn parse_f64(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64_opt(arg).ok_or(CmdError::from(NOT_FLOAT))
}

pub fn parse_f64_opt(arg: &[u8]) -> Option<f64> {
    if arg.is_empty()
        || arg.len() > 5000
        || arg[0].is_ascii_whitespace()
        || arg[arg.len() - 1].is_ascii_whitespace()
    {
        return None;
    }
    let s = std::str::from_utf8(arg).ok()?;
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts "nan" and "infinity" spellings we handled; refuse the rest.
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            match parse_hex_float(&lower) {
                Some(v) => v,
                None => s.parse::<f64>().ok()?,
            }
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// ASCII case-insensitive comparison of an argument with a keyword.
pub fn eq_ignore_case(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// Lossy text of an argument, for error messages.
pub fn lossy(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// A C hex float as strtod reads it: `[+-]0x<hex>[.<hex>][p[+-]<decimal>]`
/// (`None` when `text`, lower-cased, is not one).
fn parse_hex_float(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let rest = rest.strip_prefix("0x")?;
    let (mantissa, exponent) = match rest.split_once('p') {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let value = value * 2f64.powi(exponent);
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod hex_float_tests {
    #[test]
    fn reads_c_hex_floats() {
        assert_eq!(super::parse_f64_opt(b"0x1"), Some(1.0));
        assert_eq!(super::parse_f64_opt(b"0x1p-2"), Some(0.25));
        assert_eq!(super::parse_f64_opt(b"-0X1.8P1"), Some(-3.0));
        assert_eq!(super::parse_f64_opt(b"0x"), None);
        assert_eq!(super::parse_f64_opt(b"0xg"), None);
    }
}
