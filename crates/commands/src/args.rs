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
            // strtod accepts hex floats too; they are rare enough to refuse.
            s.parse::<f64>().ok()?
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
