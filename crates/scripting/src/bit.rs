//! Lua BitOp (`bit`), as Redis loads it: 32-bit operations on Lua numbers,
//! each argument normalized as BitOp does (the low 32 bits of the number
//! rounded to an integer, half to even), with its argument errors.

use crate::convert::{lua_number, type_name};
use mlua::{MultiValue, Value};

/// The functions, by name.
pub const FUNCTIONS: &[&str] = &[
    "tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift", "rol", "ror",
    "bswap",
];

/// BitOp's normalization: add 2^52 + 2^51 so the FPU rounds to an integer
/// (half to even), and take the low 32 bits of the mantissa.
fn tobit(n: f64) -> i32 {
    (n + 6_755_399_441_055_744.0).to_bits() as u32 as i32
}

/// Argument `i` (0-based) as a number, or Lua's `luaL_checknumber` error.
fn arg(name: &str, args: &MultiValue, i: usize) -> Result<f64, String> {
    let v = args.get(i);
    v.and_then(lua_number).ok_or_else(|| {
        format!(
            "bad argument #{} to '{name}' (number expected, got {})",
            i + 1,
            type_name(v)
        )
    })
}

/// Runs `bit.<name>(args...)`; the number it returns, or the error text.
pub fn call(name: &str, args: &MultiValue) -> Result<f64, String> {
    let x = || arg(name, args, 0).map(tobit);
    let n = || arg(name, args, 1).map(|n| (tobit(n) & 31) as u32);
    let r = match name {
        "tobit" => x()?,
        "bnot" => !x()?,
        "band" | "bor" | "bxor" => {
            let mut acc = x()?;
            for i in 1..args.len() {
                let v = tobit(arg(name, args, i)?);
                acc = match name {
                    "band" => acc & v,
                    "bor" => acc | v,
                    _ => acc ^ v,
                };
            }
            acc
        }
        "lshift" => ((x()? as u32) << n()?) as i32,
        "rshift" => ((x()? as u32) >> n()?) as i32,
        "arshift" => x()? >> n()?,
        "rol" => (x()? as u32).rotate_left(n()?) as i32,
        "ror" => (x()? as u32).rotate_right(n()?) as i32,
        "bswap" => x()?.swap_bytes(),
        _ => return Err(format!("unknown bit function {name}")),
    };
    Ok(r as f64)
}

/// `bit.tohex(x [, n])`: `n` hex digits (8 by default; upper case when
/// negative).
pub fn tohex(args: &MultiValue) -> Result<String, String> {
    let x = tobit(arg("tohex", args, 0)?) as u32;
    let mut n = match args.get(1) {
        None | Some(Value::Nil) => 8,
        Some(_) => tobit(arg("tohex", args, 1)?),
    };
    let upper = n < 0;
    if upper {
        n = -n;
    }
    let n = n.clamp(0, 8) as usize;
    let text = if upper {
        format!("{x:08X}")
    } else {
        format!("{x:08x}")
    };
    Ok(text[8 - n..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_rounds_half_to_even_and_wraps() {
        assert_eq!(tobit(1.5), 2);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(4294967301.0), 5);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
    }
}
