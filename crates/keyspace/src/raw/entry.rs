//! `Entry`: one key, its access clock and its value in a single allocation.
//!
//! A database holds millions of these, so each costs what Redis's key costs
//! or less: the slot table keeps one thin pointer per bucket (see `table`),
//! and the pointer leads to one allocation holding everything else. A short
//! string value lives inside it (no second allocation, like Redis's
//! `embstr`); a collection keeps its own compact type there, whose buffers
//! are allocated as before.
//!
//! This is the crate's only unsafe code. Everything outside this module sees
//! a safe API: `Entry::new`, `key`, `lru`/`set_lru`, `value`/`value_mut`,
//! `set_value`, `into_value`.
//!
//! Layout (alignment 8), `p` being the end of the key:
//!
//! ```text
//!   0   meta: u32 = access clock (low 24 bits) | kind (high 8 bits)
//!   4   key length (LEB128), then the key bytes              .. p
//!   INT   the i64, 8 bytes little-endian, unaligned          at p
//!   STR   the length (LEB128), then the bytes                at p
//!   RAW   Vec<u8>         } a typed value, at p rounded up to 8
//!   LIST  Box<ListValue>  }
//!   HASH  HashValue       }
//!   SET   SetValue        }
//!   ZSET  ZSetValue       }
//! ```
//!
//! Invariants (every unsafe block relies on these):
//! 1. `ptr` came from the global allocator with `Layout::from_size_align(
//!    size, 8)`, where `size` is what `Shape::size` computes from the kind,
//!    the key length and (for STR) the string length. All three are read
//!    back from the allocation itself, so `Drop` finds the same layout.
//! 2. The meta word, both LEB128 lengths, the key and the string bytes are
//!    initialized; padding before a typed value is not, and is never read.
//! 3. For a typed kind, a valid value of the kind's type sits at its offset
//!    from construction until it is dropped (by `Drop`) or moved out (by
//!    `into_value`, which then frees the memory without running `Drop`).
//! 4. Only the meta word and the INT bytes are ever written in place; any
//!    other change builds a new entry, so sizes never change under a pointer.
//! 5. `Entry` owns its allocation like a `Box`: `&Entry` gives shared access,
//!    `&mut Entry` exclusive access, so `Send`/`Sync` follow from the payload
//!    types being `Send + Sync` (checked below at compile time).

use crate::hash::HashValue;
use crate::list::ListValue;
use crate::set::SetValue;
use crate::value::{alloc_size, integer_text, Value, ValueMut, ValueRef};
use crate::varint::varint_len;
use crate::zset::ZSetValue;
use std::alloc::{self, Layout};
use std::mem::{align_of, size_of};
use std::ptr::{self, NonNull};

const ALIGN: usize = 8;
const META_BYTES: usize = 4;
const KIND_SHIFT: u32 = 24;
const LRU_MASK: u32 = (1 << KIND_SHIFT) - 1;

const KIND_INT: u8 = 0;
const KIND_STR: u8 = 1;
const KIND_RAW: u8 = 2;
const KIND_LIST: u8 = 3;
const KIND_HASH: u8 = 4;
const KIND_SET: u8 = 5;
const KIND_ZSET: u8 = 6;

// Typed values must fit the allocation's alignment (invariant 1 and 3).
const _: () = {
    assert!(align_of::<Vec<u8>>() <= ALIGN);
    assert!(align_of::<Box<ListValue>>() <= ALIGN);
    assert!(align_of::<HashValue>() <= ALIGN);
    assert!(align_of::<SetValue>() <= ALIGN);
    assert!(align_of::<ZSetValue>() <= ALIGN);
};

// Invariant 5: what an entry owns may be sent and shared between threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Vec<u8>>();
    send_sync::<Box<ListValue>>();
    send_sync::<HashValue>();
    send_sync::<SetValue>();
    send_sync::<ZSetValue>();
};

/// A key with its access clock and value, owned through one thin pointer.
///
/// Tables find an entry by its key, so an `&mut Entry` obtained from a table
/// must not be overwritten with an entry for another key.
pub struct Entry {
    ptr: NonNull<u8>,
}

// SAFETY: invariant 5; the entry is a unique owner, like `Box<(u32, [u8], T)>`.
unsafe impl Send for Entry {}
// SAFETY: as above; `&Entry` only reads.
unsafe impl Sync for Entry {}

/// What is being stored, borrowed where it is copied into the allocation.
enum Payload<'a> {
    Int(i64),
    Str(&'a [u8]),
    Raw(Vec<u8>),
    List(Box<ListValue>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
}

/// The numbers that fix an entry's layout (invariant 1).
#[derive(Clone, Copy)]
struct Shape {
    kind: u8,
    /// End of the key: where INT and STR values start.
    key_end: usize,
    /// Length of a STR value (0 otherwise).
    str_len: usize,
}

fn round_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

impl Shape {
    fn new(kind: u8, key_len: usize, str_len: usize) -> Shape {
        Shape {
            kind,
            key_end: META_BYTES + varint_len(key_len) + key_len,
            str_len,
        }
    }

    /// Where a typed value starts.
    fn typed_offset(self) -> usize {
        round_up(self.key_end)
    }

    fn size(self) -> usize {
        match self.kind {
            KIND_INT => self.key_end + 8,
            KIND_STR => self.key_end + varint_len(self.str_len) + self.str_len,
            KIND_RAW => self.typed_offset() + size_of::<Vec<u8>>(),
            KIND_LIST => self.typed_offset() + size_of::<Box<ListValue>>(),
            KIND_HASH => self.typed_offset() + size_of::<HashValue>(),
            KIND_SET => self.typed_offset() + size_of::<SetValue>(),
            KIND_ZSET => self.typed_offset() + size_of::<ZSetValue>(),
            _ => unreachable!("entry kind {}", self.kind),
        }
    }

    fn layout(self) -> Layout {
        Layout::from_size_align(self.size(), ALIGN).expect("entry size overflows")
    }
}

/// Writes `n` as LEB128 at `dst`; returns the bytes written.
///
/// # Safety
/// `dst` must be valid for `varint_len(n)` bytes of writes.
unsafe fn write_varint_raw(dst: *mut u8, mut n: usize) -> usize {
    let mut i = 0;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            dst.add(i).write(byte);
            return i + 1;
        }
        dst.add(i).write(byte | 0x80);
        i += 1;
    }
}

/// Reads a LEB128 number at `src`: (value, bytes it took).
///
/// # Safety
/// `src` must point at a complete, initialized LEB128 number.
unsafe fn read_varint_raw(src: *const u8) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let b = src.add(i).read();
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (n, i);
        }
        shift += 7;
    }
}

impl Entry {
    /// An entry for `key` holding `value`, with access clock `lru` (24 bits).
    pub fn new(key: &[u8], value: Value, lru: u32) -> Entry {
        match value {
            Value::Int(n) => Entry::build(key, lru, Payload::Int(n)),
            Value::Str(s) => Entry::build(key, lru, Payload::Str(&s)),
            Value::RawStr(s) => Entry::build(key, lru, Payload::Raw(s)),
            Value::List(l) => Entry::build(key, lru, Payload::List(l)),
            Value::Hash(h) => Entry::build(key, lru, Payload::Hash(h)),
            Value::Set(s) => Entry::build(key, lru, Payload::Set(s)),
            Value::ZSet(z) => Entry::build(key, lru, Payload::ZSet(z)),
        }
    }

    /// An entry for `key` holding the string `data`, encoded as Redis would
    /// for fresh data (`Value::string`), without an intermediate copy.
    pub fn new_string(key: &[u8], data: &[u8], lru: u32) -> Entry {
        match integer_text(data) {
            Some(n) => Entry::build(key, lru, Payload::Int(n)),
            None => Entry::build(key, lru, Payload::Str(data)),
        }
    }

    fn build(key: &[u8], lru: u32, payload: Payload<'_>) -> Entry {
        let (kind, str_len) = match &payload {
            Payload::Int(_) => (KIND_INT, 0),
            Payload::Str(s) => (KIND_STR, s.len()),
            Payload::Raw(_) => (KIND_RAW, 0),
            Payload::List(_) => (KIND_LIST, 0),
            Payload::Hash(_) => (KIND_HASH, 0),
            Payload::Set(_) => (KIND_SET, 0),
            Payload::ZSet(_) => (KIND_ZSET, 0),
        };
        let shape = Shape::new(kind, key.len(), str_len);
        let layout = shape.layout();
        // SAFETY: the layout's size is at least META_BYTES + 1 + 8 > 0.
        let raw = unsafe { alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        let base = ptr.as_ptr();
        // SAFETY: every write below stays inside `shape.size()` bytes, by the
        // same arithmetic as `Shape::size` (invariant 1); the typed write is
        // aligned because `base` is 8-aligned and the offset a multiple of 8.
        unsafe {
            base.cast::<u32>()
                .write((lru & LRU_MASK) | (kind as u32) << KIND_SHIFT);
            let mut at = META_BYTES;
            at += write_varint_raw(base.add(at), key.len());
            ptr::copy_nonoverlapping(key.as_ptr(), base.add(at), key.len());
            at += key.len();
            debug_assert_eq!(at, shape.key_end);
            let typed = base.add(shape.typed_offset());
            match payload {
                Payload::Int(n) => {
                    ptr::copy_nonoverlapping(n.to_le_bytes().as_ptr(), base.add(at), 8)
                }
                Payload::Str(s) => {
                    at += write_varint_raw(base.add(at), s.len());
                    ptr::copy_nonoverlapping(s.as_ptr(), base.add(at), s.len());
                }
                Payload::Raw(v) => typed.cast::<Vec<u8>>().write(v),
                Payload::List(l) => typed.cast::<Box<ListValue>>().write(l),
                Payload::Hash(h) => typed.cast::<HashValue>().write(h),
                Payload::Set(s) => typed.cast::<SetValue>().write(s),
                Payload::ZSet(z) => typed.cast::<ZSetValue>().write(z),
            }
        }
        Entry { ptr }
    }

    fn meta(&self) -> u32 {
        // SAFETY: invariants 1 and 2: an aligned, initialized u32 at offset 0.
        unsafe { self.ptr.as_ptr().cast::<u32>().read() }
    }

    fn kind(&self) -> u8 {
        (self.meta() >> KIND_SHIFT) as u8
    }

    /// (key length, offset of the key's first byte).
    fn key_span(&self) -> (usize, usize) {
        // SAFETY: invariant 2: the key length is initialized at offset 4.
        let (len, w) = unsafe { read_varint_raw(self.ptr.as_ptr().add(META_BYTES)) };
        (len, META_BYTES + w)
    }

    fn shape(&self) -> Shape {
        let (key_len, key_start) = self.key_span();
        let key_end = key_start + key_len;
        let kind = self.kind();
        let str_len = if kind == KIND_STR {
            // SAFETY: invariant 2: a STR length is initialized at the key's end.
            unsafe { read_varint_raw(self.ptr.as_ptr().add(key_end)).0 }
        } else {
            0
        };
        Shape {
            kind,
            key_end,
            str_len,
        }
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        let (len, start) = self.key_span();
        // SAFETY: invariant 2: `len` initialized key bytes at `start`, inside
        // the allocation, which lives as long as `&self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(start), len) }
    }

    /// The access clock (24 bits: LRU seconds, or LFU minutes and counter).
    pub fn lru(&self) -> u32 {
        self.meta() & LRU_MASK
    }

    pub fn set_lru(&mut self, lru: u32) {
        let meta = (self.meta() & !LRU_MASK) | (lru & LRU_MASK);
        // SAFETY: invariant 4 allows writing the meta word; `&mut self` is unique.
        unsafe { self.ptr.as_ptr().cast::<u32>().write(meta) }
    }

    /// The value, borrowed.
    pub fn value(&self) -> ValueRef<'_> {
        let shape = self.shape();
        let base = self.ptr.as_ptr();
        // SAFETY: invariants 2 and 3: the bytes or the typed value for this
        // kind are initialized at the offsets the shape gives, and stay valid
        // for the lifetime of `&self`.
        unsafe {
            let typed = base.add(shape.typed_offset());
            match shape.kind {
                KIND_INT => {
                    let mut b = [0u8; 8];
                    ptr::copy_nonoverlapping(base.add(shape.key_end), b.as_mut_ptr(), 8);
                    ValueRef::Int(i64::from_le_bytes(b))
                }
                KIND_STR => {
                    let w = varint_len(shape.str_len);
                    let data = base.add(shape.key_end + w);
                    ValueRef::Str(std::slice::from_raw_parts(data, shape.str_len))
                }
                KIND_RAW => ValueRef::RawStr(&*typed.cast::<Vec<u8>>()),
                KIND_LIST => ValueRef::List(&*typed.cast::<Box<ListValue>>()),
                KIND_HASH => ValueRef::Hash(&*typed.cast::<HashValue>()),
                KIND_SET => ValueRef::Set(&*typed.cast::<SetValue>()),
                KIND_ZSET => ValueRef::ZSet(&*typed.cast::<ZSetValue>()),
                k => unreachable!("entry kind {k}"),
            }
        }
    }

    /// The value, with collections and raw strings mutable in place. Short
    /// strings and integers are replaced with `set_value` instead.
    pub fn value_mut(&mut self) -> ValueMut<'_> {
        let shape = self.shape();
        let base = self.ptr.as_ptr();
        // SAFETY: as in `value`; `&mut self` makes the access exclusive, and
        // a typed value may be changed in place (its size is fixed).
        unsafe {
            let typed = base.add(shape.typed_offset());
            match shape.kind {
                KIND_RAW => ValueMut::RawStr(&mut *typed.cast::<Vec<u8>>()),
                KIND_LIST => ValueMut::List(&mut *typed.cast::<Box<ListValue>>()),
                KIND_HASH => ValueMut::Hash(&mut *typed.cast::<HashValue>()),
                KIND_SET => ValueMut::Set(&mut *typed.cast::<SetValue>()),
                KIND_ZSET => ValueMut::ZSet(&mut *typed.cast::<ZSetValue>()),
                _ => match self.value() {
                    ValueRef::Int(n) => ValueMut::Int(n),
                    ValueRef::Str(s) => ValueMut::Str(s),
                    _ => unreachable!(),
                },
            }
        }
    }

    /// Replaces the value, keeping the key and the access clock.
    pub fn set_value(&mut self, value: Value) {
        if let (KIND_INT, Value::Int(n)) = (self.kind(), &value) {
            let at = self.shape().key_end;
            // SAFETY: invariant 4: an INT entry's 8 value bytes may be
            // rewritten in place; `&mut self` is unique.
            unsafe {
                ptr::copy_nonoverlapping(n.to_le_bytes().as_ptr(), self.ptr.as_ptr().add(at), 8)
            };
            return;
        }
        *self = Entry::new(self.key(), value, self.lru());
    }

    /// Takes the value out, freeing the entry.
    pub fn into_value(self) -> Value {
        let shape = self.shape();
        let base = self.ptr.as_ptr();
        // SAFETY: invariant 3: the typed value is moved out exactly once,
        // and `self` is forgotten so `Drop` does not drop it again; the
        // memory is then freed with the layout it was allocated with.
        unsafe {
            let typed = base.add(shape.typed_offset());
            let value = match shape.kind {
                KIND_RAW => Value::RawStr(typed.cast::<Vec<u8>>().read()),
                KIND_LIST => Value::List(typed.cast::<Box<ListValue>>().read()),
                KIND_HASH => Value::Hash(typed.cast::<HashValue>().read()),
                KIND_SET => Value::Set(typed.cast::<SetValue>().read()),
                KIND_ZSET => Value::ZSet(typed.cast::<ZSetValue>().read()),
                _ => self.value().to_value(),
            };
            std::mem::forget(self);
            alloc::dealloc(base, shape.layout());
            value
        }
    }

    /// The same value and access clock under another key (RENAME): the
    /// value is moved, not copied.
    pub fn rekey(self, key: &[u8]) -> Entry {
        let lru = self.lru();
        Entry::new(key, self.into_value(), lru)
    }

    /// Bytes this entry holds: its own allocation, as the allocator rounds
    /// it, plus whatever its value allocates (MEMORY USAGE, eviction).
    pub fn memory_bytes(&self) -> usize {
        let shape = self.shape();
        let own = alloc_size(shape.size());
        if shape.kind == KIND_RAW {
            // SAFETY: as in `value`: a RAW entry holds a Vec<u8> at the typed offset.
            let v = unsafe {
                &*self
                    .ptr
                    .as_ptr()
                    .add(shape.typed_offset())
                    .cast::<Vec<u8>>()
            };
            return own + alloc_size(v.capacity());
        }
        own + self.value().memory_bytes()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let shape = self.shape();
        let base = self.ptr.as_ptr();
        // SAFETY: invariant 3: the typed value is live and dropped here once;
        // invariant 1: the layout is the one allocated.
        unsafe {
            let typed = base.add(shape.typed_offset());
            match shape.kind {
                KIND_RAW => ptr::drop_in_place(typed.cast::<Vec<u8>>()),
                KIND_LIST => ptr::drop_in_place(typed.cast::<Box<ListValue>>()),
                KIND_HASH => ptr::drop_in_place(typed.cast::<HashValue>()),
                KIND_SET => ptr::drop_in_place(typed.cast::<SetValue>()),
                KIND_ZSET => ptr::drop_in_place(typed.cast::<ZSetValue>()),
                _ => {}
            }
            alloc::dealloc(base, shape.layout());
        }
    }
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry::new(self.key(), self.value().to_value(), self.lru())
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("lru", &self.lru())
            .field("value", &self.value())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_values() -> Vec<Value> {
        let mut h = HashValue::new();
        h.set(b"f", b"v", &Default::default());
        let mut l = ListValue::new();
        l.push_back(b"x", Default::default());
        let set = SetValue::from_members([&b"a"[..], b"b"], &Default::default());
        let z = ZSetValue::from_members([(&b"m"[..], 1.5)], &Default::default());
        vec![
            Value::Int(-42),
            Value::Int(i64::MAX),
            Value::Str(Vec::new()),
            Value::Str(b"hello".to_vec()),
            Value::Str(vec![b'x'; 300]),
            Value::RawStr(b"raw".to_vec()),
            Value::List(Box::new(l)),
            Value::Hash(h),
            Value::Set(set),
            Value::ZSet(z),
        ]
    }

    #[test]
    fn every_kind_round_trips_with_any_key_length() {
        for key_len in [0usize, 1, 3, 4, 7, 8, 127, 128, 300] {
            let key = vec![b'k'; key_len];
            for v in sample_values() {
                let e = Entry::new(&key, v.clone(), 0x00AB_CDEF);
                assert_eq!(e.key(), &key[..]);
                assert_eq!(e.lru(), 0x00AB_CDEF);
                assert_eq!(e.value().to_value(), v);
                assert_eq!(e.clone().into_value(), v);
            }
        }
    }

    #[test]
    fn lru_is_24_bits_and_leaves_the_value_alone() {
        let mut e = Entry::new(b"k", Value::Int(7), 0);
        e.set_lru(u32::MAX);
        assert_eq!(e.lru(), LRU_MASK);
        assert_eq!(e.value().to_value(), Value::Int(7));
        e.set_lru(5);
        assert_eq!(e.lru(), 5);
        assert_eq!(e.key(), b"k");
    }

    #[test]
    fn set_value_changes_kind_and_keeps_key_and_clock() {
        let mut e = Entry::new(b"key", Value::Int(1), 9);
        e.set_value(Value::Int(2));
        assert_eq!(e.value().to_value(), Value::Int(2));
        for v in sample_values() {
            e.set_value(v.clone());
            assert_eq!(e.key(), b"key");
            assert_eq!(e.lru(), 9);
            assert_eq!(e.value().to_value(), v);
        }
    }

    #[test]
    fn collections_change_in_place() {
        let mut e = Entry::new(b"h", Value::Hash(HashValue::new()), 0);
        let ValueMut::Hash(h) = e.value_mut() else {
            panic!("not a hash")
        };
        h.set(b"a", b"1", &Default::default());
        let ValueRef::Hash(h) = e.value() else {
            panic!("not a hash")
        };
        assert_eq!(h.get(b"a"), Some(&b"1"[..]));
        let mut r = Entry::new(b"r", Value::RawStr(b"ab".to_vec()), 0);
        if let ValueMut::RawStr(v) = r.value_mut() {
            v.extend_from_slice(b"cd");
        }
        assert_eq!(r.value().string_bytes().unwrap(), &b"abcd"[..]);
    }

    #[test]
    fn new_string_picks_redis_encodings() {
        assert_eq!(
            Entry::new_string(b"k", b"123", 0).value(),
            ValueRef::Int(123)
        );
        assert_eq!(
            Entry::new_string(b"k", b"0123", 0).value(),
            ValueRef::Str(b"0123")
        );
    }

    #[test]
    fn short_strings_take_one_small_allocation() {
        // meta 4 + key length 1 + key 10 + value length 1 + value 16 = 32.
        let e = Entry::new_string(b"key:123456", &[b'v'; 16], 0);
        assert_eq!(e.memory_bytes(), 32);
    }

    proptest! {
        #[test]
        fn strings_and_ints_round_trip(key in proptest::collection::vec(any::<u8>(), 0..200),
                                       data in proptest::collection::vec(any::<u8>(), 0..300),
                                       lru in any::<u32>()) {
            let e = Entry::new_string(&key, &data, lru);
            prop_assert_eq!(e.key(), &key[..]);
            prop_assert_eq!(e.lru(), lru & LRU_MASK);
            prop_assert_eq!(&e.value().string_bytes().unwrap()[..], &data[..]);
            prop_assert_eq!(e.into_value(), Value::string(&data));
        }
    }
}
