//! `struct` as Redis loads it (Roberto Ierusalimschy's struct library):
//! `pack(fmt, ...)`, `unpack(fmt, data [, pos])` and `size(fmt)` over a
//! format of endianness (`<`, `>`), alignment (`!n`), padding (`x`),
//! integers (`b B h H l L T i[n] I[n]`), floats (`f d`), zero-terminated
//! strings (`s`) and fixed strings (`c[n]`), with the library's argument
//! errors.

use crate::convert::lua_number;
use mlua::{Lua, MultiValue, Value};

/// What a format item is.
#[derive(Clone, Copy, Debug)]
enum Item {
    Pad,
    Int { size: usize, signed: bool },
    Float,
    Double,
    CString,
    Chars(usize),
}

/// A parsed format: each item with whether it is big endian and the
/// alignment in force.
struct Format {
    items: Vec<(Item, bool, usize)>,
}

/// The library's limit on integer sizes.
const MAX_INT_SIZE: usize = 32;

fn arg_error(n: usize, function: &str, message: &str) -> String {
    format!("bad argument #{n} to '{function}' ({message})")
}

fn parse(fmt: &[u8], function: &str) -> Result<Format, String> {
    let mut items = Vec::new();
    let mut big = false;
    let mut align = 1usize;
    let mut i = 0;
    let number = |i: &mut usize, default: usize| -> usize {
        let start = *i;
        while *i < fmt.len() && fmt[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            default
        } else {
            std::str::from_utf8(&fmt[start..*i])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(default)
        }
    };
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        let item = match c {
            b' ' => continue,
            b'>' => {
                big = true;
                continue;
            }
            b'<' => {
                big = false;
                continue;
            }
            b'!' => {
                align = number(&mut i, 8);
                continue;
            }
            b'x' => Item::Pad,
            b'b' => int(1, true),
            b'B' => int(1, false),
            b'h' => int(2, true),
            b'H' => int(2, false),
            b'l' => int(8, true),
            b'L' | b'T' => int(8, false),
            b'i' | b'I' => {
                let size = number(&mut i, 4);
                if size > MAX_INT_SIZE {
                    return Err(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    ));
                }
                Item::Int {
                    size,
                    signed: c == b'i',
                }
            }
            b'f' => Item::Float,
            b'd' => Item::Double,
            b's' => Item::CString,
            b'c' => Item::Chars(number(&mut i, 1)),
            other => {
                return Err(arg_error(
                    1,
                    function,
                    &format!("invalid format option '{}'", other as char),
                ))
            }
        };
        items.push((item, big, align));
    }
    Ok(Format { items })
}

fn int(size: usize, signed: bool) -> Item {
    Item::Int { size, signed }
}

fn size_of(item: Item) -> usize {
    match item {
        Item::Pad => 1,
        Item::Int { size, .. } => size,
        Item::Float => 4,
        Item::Double => 8,
        Item::CString | Item::Chars(_) => 1,
    }
}

/// Padding before `item` at offset `len` (lua_struct's gettoalign).
fn padding(len: usize, item: Item, max_align: usize) -> Result<usize, String> {
    let align = match item {
        Item::Int { .. } | Item::Float | Item::Double => size_of(item).min(max_align),
        _ => 1,
    };
    if align <= 1 {
        return Ok(0);
    }
    if !align.is_power_of_two() {
        return Err("format asks for alignment not power of 2".into());
    }
    Ok((align - (len & (align - 1))) & (align - 1))
}

fn put_int(out: &mut Vec<u8>, v: i64, size: usize, big: bool) {
    let fill = if v < 0 { 0xff } else { 0 };
    let mut bytes: Vec<u8> = (0..size)
        .map(|i| if i < 8 { (v >> (8 * i)) as u8 } else { fill })
        .collect();
    if big {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

/// `pack`'s next argument as a number (`arg` moves past it).
fn number_arg(args: &MultiValue, arg: &mut usize) -> Result<f64, String> {
    let v = args
        .get(*arg)
        .and_then(lua_number)
        .ok_or_else(|| arg_error(*arg + 1, "pack", "number expected"))?;
    *arg += 1;
    Ok(v)
}

/// `struct.pack(fmt, values...)`.
pub fn pack(args: &MultiValue) -> Result<Vec<u8>, String> {
    let fmt = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return Err(arg_error(1, "pack", "string expected")),
    };
    let format = parse(&fmt, "pack")?;
    let mut out = Vec::new();
    let mut arg = 1;
    for &(item, big, align) in &format.items {
        let pad = padding(out.len(), item, align)?;
        out.resize(out.len() + pad, 0);
        match item {
            Item::Pad => out.push(0),
            Item::Int { size, .. } => {
                let v = number_arg(args, &mut arg)?;
                put_int(&mut out, v as i64, size, big);
            }
            Item::Float | Item::Double => {
                let v = number_arg(args, &mut arg)?;
                let mut bytes = if matches!(item, Item::Float) {
                    (v as f32).to_le_bytes().to_vec()
                } else {
                    v.to_le_bytes().to_vec()
                };
                if big {
                    bytes.reverse();
                }
                out.extend_from_slice(&bytes);
            }
            Item::CString | Item::Chars(_) => {
                let s = match args.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(i)) => i.to_string().into_bytes(),
                    Some(Value::Number(n)) => crate::convert::lua_number_text(*n).into_bytes(),
                    _ => return Err(arg_error(arg + 1, "pack", "string expected")),
                };
                arg += 1;
                match item {
                    Item::CString => {
                        out.extend_from_slice(&s);
                        out.push(0);
                    }
                    Item::Chars(0) => out.extend_from_slice(&s),
                    Item::Chars(n) => {
                        if s.len() < n {
                            return Err(arg_error(arg + 1, "pack", "string too short"));
                        }
                        out.extend_from_slice(&s[..n]);
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}

/// `struct.unpack(fmt, data [, pos])`: the values and the next position.
pub fn unpack(lua: &Lua, args: &MultiValue) -> Result<Vec<Value>, String> {
    let fmt = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return Err(arg_error(1, "unpack", "string expected")),
    };
    let data = match args.get(1) {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return Err(arg_error(2, "unpack", "string expected")),
    };
    let start = args.get(2).and_then(lua_number).unwrap_or(1.0);
    if start < 1.0 {
        return Err(arg_error(3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = start as usize - 1;
    let format = parse(&fmt, "unpack")?;
    let mut values: Vec<Value> = Vec::new();
    let short = || arg_error(2, "unpack", "data string too short");
    let string = |b: &[u8]| {
        lua.create_string(b)
            .map(Value::String)
            .map_err(|e| e.to_string())
    };
    for &(item, big, align) in &format.items {
        pos += padding(pos, item, align)?;
        match item {
            Item::Pad => pos += 1,
            Item::Int { size, signed } => {
                let bytes = data.get(pos..pos + size).ok_or_else(short)?;
                let mut v: u64 = 0;
                for i in 0..size.min(8) {
                    let b = if big { bytes[size - 1 - i] } else { bytes[i] };
                    v |= (b as u64) << (8 * i);
                }
                let n = if signed && size < 8 {
                    let shift = 64 - 8 * size as u32;
                    ((v << shift) as i64 >> shift) as f64
                } else if signed {
                    v as i64 as f64
                } else {
                    v as f64
                };
                values.push(Value::Number(n));
                pos += size;
            }
            Item::Float | Item::Double => {
                let size = size_of(item);
                let mut bytes = data.get(pos..pos + size).ok_or_else(short)?.to_vec();
                if big {
                    bytes.reverse();
                }
                let n = if size == 4 {
                    f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f64
                } else {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&bytes);
                    f64::from_le_bytes(b)
                };
                values.push(Value::Number(n));
                pos += size;
            }
            Item::CString => {
                let rest = data.get(pos..).unwrap_or(&[]);
                let end = rest
                    .iter()
                    .position(|&b| b == 0)
                    .ok_or_else(|| "unfinished string in data".to_string())?;
                values.push(string(&rest[..end])?);
                pos += end + 1;
            }
            Item::Chars(n) => {
                let n = if n == 0 {
                    // The size is the number read just before (which is
                    // consumed, not returned).
                    match values.pop() {
                        Some(Value::Number(v)) => v as usize,
                        Some(Value::Integer(v)) => v as usize,
                        _ => return Err("format 'c0' needs a previous size".into()),
                    }
                } else {
                    n
                };
                let bytes = data.get(pos..pos + n).ok_or_else(short)?;
                values.push(string(bytes)?);
                pos += n;
            }
        }
    }
    values.push(Value::Number((pos + 1) as f64));
    Ok(values)
}

/// `struct.size(fmt)`.
pub fn size(args: &MultiValue) -> Result<f64, String> {
    let fmt = match args.front() {
        Some(Value::String(s)) => s.as_bytes().to_vec(),
        _ => return Err(arg_error(1, "size", "string expected")),
    };
    let format = parse(&fmt, "size")?;
    let mut total = 0usize;
    for &(item, _, align) in &format.items {
        match item {
            Item::CString => return Err(arg_error(1, "size", "option 's' has no fixed size")),
            Item::Chars(0) => return Err(arg_error(1, "size", "option 'c0' has no fixed size")),
            Item::Chars(n) => total += n,
            _ => total += padding(total, item, align)? + size_of(item),
        }
    }
    Ok(total as f64)
}
