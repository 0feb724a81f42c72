//! `cmsgpack` as Redis loads it (lua-cmsgpack 0.4): `pack(...)` with the
//! smallest MessagePack encoding of each value (integers by range, floats
//! as float32 when exact, a table without holes an array, any other a map,
//! tables nested deeper than 16 as nil), and `unpack`, `unpack_one`,
//! `unpack_limit` with their offsets and error texts.

use mlua::{Lua, Table, Value};

/// Tables deeper than this are packed as nil (LUACMSGPACK_MAX_NESTING).
const MAX_NESTING: usize = 16;

/// `cmsgpack.pack(values...)`: each value's encoding, one after another.
pub fn pack(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        pack_value(v, &mut out, 0);
    }
    out
}

fn pack_value(v: &Value, out: &mut Vec<u8>, level: usize) {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => pack_integer(*i, out),
        Value::Number(n) => pack_number(*n, out),
        Value::String(s) => pack_bytes(&s.as_bytes(), out),
        Value::Table(t) if level < MAX_NESTING => pack_table(t, out, level + 1),
        _ => out.push(0xc0),
    }
}

fn pack_number(n: f64, out: &mut Vec<u8>) {
    // An integral value that fits: an integer (lua-cmsgpack's
    // IS_INT64_EQUIVALENT).
    if n.fract() == 0.0 && (-9.223372036854775e18..=9.223372036854775e18).contains(&n) {
        pack_integer(n as i64, out);
        return;
    }
    let f = n as f32;
    if f as f64 == n {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn pack_integer(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        let u = i as u64;
        if u < 128 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= i32::MIN as i64 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn pack_bytes(s: &[u8], out: &mut Vec<u8>) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn pack_table(t: &Table, out: &mut Vec<u8>, level: usize) {
    // An array when the keys are exactly 1..n (lua-cmsgpack's
    // table_is_an_array); anything else is a map.
    let (n, max) = crate::convert::table_shape(t).unwrap_or((0, Some(0)));
    if max == Some(n as u64) {
        header(out, n, 0x90, 0xdc, 0xdd);
        for i in 1..=n {
            let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
            pack_value(&v, out, level);
        }
    } else {
        header(out, n, 0x80, 0xde, 0xdf);
        for (k, v) in t.pairs::<Value, Value>().flatten() {
            pack_value(&k, out, level);
            pack_value(&v, out, level);
        }
    }
}

fn header(out: &mut Vec<u8>, n: usize, fix: u8, sixteen: u8, thirty_two: u8) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(sixteen);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(thirty_two);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// How deep unpacking may nest: Redis's C decoder recurses until Lua's
/// stack gives out; here the limit is an error, never a crash.
const MAX_DEPTH: usize = 1000;

const MISSING: &str = "Missing bytes in input.";
const TOO_DEEP: &str = "Too many nested data structures in input.";
const BAD_FORMAT: &str = "Bad data format in input.";

/// Decodes up to `limit` values (0: all) from `data` at `offset`; returns
/// the offset of the next value (-1 at the end) and the values.
pub fn unpack(
    lua: &Lua,
    data: &[u8],
    limit: usize,
    offset: usize,
) -> Result<(i64, Vec<Value>), String> {
    let mut d = Decoder {
        lua,
        s: data,
        i: offset.min(data.len()),
        depth: 0,
    };
    let mut values = Vec::new();
    while d.i < data.len() && (limit == 0 || values.len() < limit) {
        values.push(d.value()?);
    }
    let next = if d.i < data.len() { d.i as i64 } else { -1 };
    Ok((next, values))
}

struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Decoder<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.i.checked_add(n).ok_or(MISSING)?;
        let bytes = self.s.get(self.i..end).ok_or(MISSING)?;
        self.i = end;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> Result<u64, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | b as u64))
    }

    fn string(&mut self, n: usize) -> Result<Value, String> {
        let bytes = self.take(n)?.to_vec();
        self.lua
            .create_string(bytes)
            .map(Value::String)
            .map_err(|e| e.to_string())
    }

    fn value(&mut self) -> Result<Value, String> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            0x00..=0x7f => Value::Integer(tag as i64),
            0xe0..=0xff => Value::Integer(tag as i8 as i64),
            0xa0..=0xbf => self.string((tag & 0x1f) as usize)?,
            0x90..=0x9f => self.array((tag & 0x0f) as usize)?,
            0x80..=0x8f => self.map((tag & 0x0f) as usize)?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xcc => Value::Integer(self.uint(1)? as i64),
            0xcd => Value::Integer(self.uint(2)? as i64),
            0xce => Value::Integer(self.uint(4)? as i64),
            0xcf => Value::Number(self.uint(8)? as f64),
            0xd0 => Value::Integer(self.uint(1)? as u8 as i8 as i64),
            0xd1 => Value::Integer(self.uint(2)? as u16 as i16 as i64),
            0xd2 => Value::Integer(self.uint(4)? as u32 as i32 as i64),
            0xd3 => Value::Integer(self.uint(8)? as i64),
            0xca => Value::Number(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xd9 | 0xc4 => {
                let n = self.uint(1)? as usize;
                self.string(n)?
            }
            0xda | 0xc5 => {
                let n = self.uint(2)? as usize;
                self.string(n)?
            }
            0xdb | 0xc6 => {
                let n = self.uint(4)? as usize;
                self.string(n)?
            }
            0xdc => {
                let n = self.uint(2)? as usize;
                self.array(n)?
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                self.array(n)?
            }
            0xde => {
                let n = self.uint(2)? as usize;
                self.map(n)?
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                self.map(n)?
            }
            _ => return Err(BAD_FORMAT.into()),
        })
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TOO_DEEP.into());
        }
        Ok(())
    }

    fn array(&mut self, n: usize) -> Result<Value, String> {
        self.enter()?;
        // No more elements than bytes left: a length cannot reserve memory.
        let t = self
            .lua
            .create_table_with_capacity(n.min(self.s.len() - self.i), 0)
            .map_err(|e| e.to_string())?;
        for i in 1..=n {
            let v = self.value()?;
            t.raw_set(i, v).map_err(|e| e.to_string())?;
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn map(&mut self, n: usize) -> Result<Value, String> {
        self.enter()?;
        let t = self.lua.create_table().map_err(|e| e.to_string())?;
        for _ in 0..n {
            let k = self.value()?;
            let v = self.value()?;
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v).map_err(|e| e.to_string())?;
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_take_the_smallest_form() {
        let mut out = Vec::new();
        for i in [1, -1, -33, 300, 70000, 1 << 40, -(1 << 40)] {
            pack_integer(i, &mut out);
        }
        assert_eq!(
            out,
            [
                &[0x01][..],
                &[0xff],
                &[0xd0, 0xdf],
                &[0xcd, 0x01, 0x2c],
                &[0xce, 0x00, 0x01, 0x11, 0x70],
                &[0xcf, 0, 0, 1, 0, 0, 0, 0, 0],
                &[0xd3, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0],
            ]
            .concat()
        );
    }
}
