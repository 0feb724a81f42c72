//! Values stored under keys: owned (`Value`) and as stored (`ValueRef`, `ValueMut`).
//!
//! Strings keep Redis's three encodings visible through `OBJECT ENCODING`:
//! `int` (a 64-bit integer), `embstr` (short, never modified in place) and
//! `raw`. Each collection type lives in its own module with its compact and
//! large encodings.

use crate::hash::HashValue;
use crate::list::ListValue;
use crate::set::SetValue;
use crate::zset::ZSetValue;

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX_BYTES: usize = 44;

/// A value, owned: what is stored under a key, before it is stored or after
/// it is taken out. Stored values are reached through `Entry::value`
/// (`ValueRef`) and `Entry::value_mut` (`ValueMut`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string that is the canonical text of an i64.
    Int(i64),
    /// A string as created by SET and friends (`embstr` when short); stored
    /// inside the key's entry.
    Str(Vec<u8>),
    /// A string modified in place (APPEND, SETRANGE): always `raw`; keeps
    /// its own buffer with room to grow.
    RawStr(Vec<u8>),
    List(Box<ListValue>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
}

/// A stored value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Int(i64),
    Str(&'a [u8]),
    RawStr(&'a [u8]),
    List(&'a ListValue),
    Hash(&'a HashValue),
    Set(&'a SetValue),
    ZSet(&'a ZSetValue),
}

/// A stored value, with what can change in place borrowed mutably. Integers
/// and short strings are copied or borrowed: they change through
/// `Entry::set_value`.
#[derive(Debug)]
pub enum ValueMut<'a> {
    Int(i64),
    Str(&'a [u8]),
    RawStr(&'a mut Vec<u8>),
    List(&'a mut ListValue),
    Hash(&'a mut HashValue),
    Set(&'a mut SetValue),
    ZSet(&'a mut ZSetValue),
}

/// The `*-max-listpack-*` / `*-max-intset-*` settings that decide encodings,
/// passed in by callers (the keyspace does not read the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i32,
    pub list_compress_depth: u32,
}

impl Default for EncodingLimits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
        }
    }
}

impl Value {
    /// A string value with the encoding Redis would pick for fresh data.
    pub fn string(data: &[u8]) -> Value {
        if let Some(n) = integer_text(data) {
            return Value::Int(n);
        }
        Value::Str(data.to_vec())
    }

    pub fn from_vec(data: Vec<u8>) -> Value {
        if let Some(n) = integer_text(&data) {
            return Value::Int(n);
        }
        Value::Str(data)
    }

    /// The value, borrowed as a stored value would be.
    pub fn view(&self) -> ValueRef<'_> {
        match self {
            Value::Int(n) => ValueRef::Int(*n),
            Value::Str(s) => ValueRef::Str(s),
            Value::RawStr(s) => ValueRef::RawStr(s),
            Value::List(l) => ValueRef::List(l),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
        }
    }

    /// The TYPE name.
    pub fn type_name(&self) -> &'static str {
        self.view().type_name()
    }

    /// The OBJECT ENCODING name.
    pub fn encoding_name(&self) -> &'static str {
        self.view().encoding_name()
    }

    pub fn is_string(&self) -> bool {
        self.view().is_string()
    }

    /// The bytes of a string value (integers are rendered); `None` for other types.
    pub fn string_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        self.view().string_bytes()
    }

    /// Length of a string value in bytes.
    pub fn string_len(&self) -> Option<usize> {
        self.view().string_len()
    }
}

impl<'a> ValueRef<'a> {
    /// The TYPE name.
    pub fn type_name(self) -> &'static str {
        match self {
            ValueRef::Int(_) | ValueRef::Str(_) | ValueRef::RawStr(_) => "string",
            ValueRef::List(_) => "list",
            ValueRef::Hash(_) => "hash",
            ValueRef::Set(_) => "set",
            ValueRef::ZSet(_) => "zset",
        }
    }

    /// What freeing this value costs, as Redis's `lazyfreeGetFreeEffort`
    /// counts it: the nodes of a list, the elements of a hash table or skip
    /// list, 1 for a single allocation (strings, listpacks, intsets).
    pub fn free_effort(self) -> usize {
        match self {
            ValueRef::List(l) => l.node_count(),
            ValueRef::Hash(h) if h.encoding_name() == "hashtable" => h.len(),
            ValueRef::Set(s) if s.encoding_name() == "hashtable" => s.len(),
            ValueRef::ZSet(z) if z.encoding_name() == "skiplist" => z.len(),
            _ => 1,
        }
    }

    /// The OBJECT ENCODING name.
    pub fn encoding_name(self) -> &'static str {
        match self {
            ValueRef::Int(_) => "int",
            ValueRef::Str(s) if s.len() <= EMBSTR_MAX_BYTES => "embstr",
            ValueRef::Str(_) | ValueRef::RawStr(_) => "raw",
            ValueRef::List(l) => l.encoding_name(),
            ValueRef::Hash(h) => h.encoding_name(),
            ValueRef::Set(s) => s.encoding_name(),
            ValueRef::ZSet(z) => z.encoding_name(),
        }
    }

    pub fn is_string(self) -> bool {
        matches!(
            self,
            ValueRef::Int(_) | ValueRef::Str(_) | ValueRef::RawStr(_)
        )
    }

    /// The bytes of a string value (integers are rendered); `None` for other types.
    pub fn string_bytes(self) -> Option<std::borrow::Cow<'a, [u8]>> {
        match self {
            ValueRef::Int(n) => Some(std::borrow::Cow::Owned(itoa_vec(n))),
            ValueRef::Str(s) | ValueRef::RawStr(s) => Some(std::borrow::Cow::Borrowed(s)),
            _ => None,
        }
    }

    /// Length of a string value in bytes.
    pub fn string_len(self) -> Option<usize> {
        match self {
            ValueRef::Int(n) => Some(int_text_len(n)),
            ValueRef::Str(s) | ValueRef::RawStr(s) => Some(s.len()),
            _ => None,
        }
    }

    /// An owned copy.
    pub fn to_value(self) -> Value {
        match self {
            ValueRef::Int(n) => Value::Int(n),
            ValueRef::Str(s) => Value::Str(s.to_vec()),
            ValueRef::RawStr(s) => Value::RawStr(s.to_vec()),
            ValueRef::List(l) => Value::List(Box::new(l.clone())),
            ValueRef::Hash(h) => Value::Hash(h.clone()),
            ValueRef::Set(s) => Value::Set(s.clone()),
            ValueRef::ZSet(z) => Value::ZSet(z.clone()),
        }
    }

    /// Bytes the value allocates outside its key's entry, allocator rounding
    /// included (a raw string is counted by its length, not its capacity).
    pub fn memory_bytes(self) -> usize {
        match self {
            ValueRef::Int(_) | ValueRef::Str(_) => 0,
            ValueRef::RawStr(s) => alloc_size(s.len()),
            ValueRef::List(l) => alloc_size(std::mem::size_of::<ListValue>()) + l.memory_bytes(),
            ValueRef::Hash(h) => h.memory_bytes(),
            ValueRef::Set(s) => s.memory_bytes(),
            ValueRef::ZSet(z) => z.memory_bytes(),
        }
    }
}

impl ValueMut<'_> {
    /// The TYPE name.
    pub fn type_name(&self) -> &'static str {
        match self {
            ValueMut::Int(_) | ValueMut::Str(_) | ValueMut::RawStr(_) => "string",
            ValueMut::List(_) => "list",
            ValueMut::Hash(_) => "hash",
            ValueMut::Set(_) => "set",
            ValueMut::ZSet(_) => "zset",
        }
    }
}

/// Bytes jemalloc really hands out for a request of `n` bytes (its size classes).
pub fn alloc_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    // Above 128 bytes, four size classes per doubling.
    let pow = usize::BITS - (n - 1).leading_zeros();
    let group = 1usize << (pow - 1);
    let step = group / 4;
    n.div_ceil(step) * step
}

/// If `data` is the canonical decimal text of an i64 (what Redis would store as
/// the `int` encoding), that integer.
pub fn integer_text(data: &[u8]) -> Option<i64> {
    if data.is_empty() || data.len() > 20 {
        return None;
    }
    let (neg, digits) = if data[0] == b'-' {
        (true, &data[1..])
    } else {
        (false, data)
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return if data == b"0" { Some(0) } else { None };
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

fn itoa_vec(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

fn int_text_len(n: i64) -> usize {
    let mut len = if n < 0 { 2 } else { 1 };
    let mut v = n.unsigned_abs();
    while v >= 10 {
        v /= 10;
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_pick_redis_encodings() {
        assert_eq!(Value::string(b"123").encoding_name(), "int");
        assert_eq!(Value::string(b"0123").encoding_name(), "embstr");
        assert_eq!(Value::string(b"-0").encoding_name(), "embstr");
        assert_eq!(Value::string(&[b'a'; 45]).encoding_name(), "raw");
        assert_eq!(Value::string(b"-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(
            Value::string(b"9223372036854775808").encoding_name(),
            "embstr"
        );
    }

    #[test]
    fn int_text_len_counts_sign() {
        assert_eq!(Value::Int(-120).string_len(), Some(4));
        assert_eq!(Value::Int(0).string_len(), Some(1));
    }
}
