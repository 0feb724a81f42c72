//! `ThinBuf`: a growable byte buffer behind one thin pointer.
//!
//! What `Vec<u8>` does, but the length and capacity live at the front of
//! the allocation, so the handle is 8 bytes instead of 24 and an empty
//! buffer allocates nothing. Small collections (`Listpack`, `IntSet`) keep
//! their bytes in one, which lets a hash value fit in 16 bytes inside its
//! key's entry (see `entry`). Lengths are u32: a buffer never exceeds 4 GiB
//! (the encodings that use it are bounded far below that).
//!
//! Layout: `[len: u32][cap: u32][cap bytes, the first len initialized]`,
//! alignment 4.
//!
//! Invariants (every unsafe block relies on these):
//! 1. `ptr` is `None` (length and capacity 0), or points to an allocation
//!    from the global allocator with `layout(cap)`, whose header holds the
//!    current `len` and `cap`, with `0 < cap` and `len <= cap`.
//! 2. The `len` bytes after the header are initialized.
//! 3. `ThinBuf` owns its allocation like a `Box`, so it is `Send` and `Sync`.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut, Range};
use std::ptr::{self, NonNull};

/// Bytes of the length and capacity at the front of an allocation.
pub const HEADER: usize = 8;
const ALIGN: usize = 4;
const MIN_CAP: usize = 8;

/// A byte buffer with an 8-byte handle (see the module doc).
pub struct ThinBuf {
    ptr: Option<NonNull<u8>>,
}

// SAFETY: invariant 3: a unique owner of plain bytes.
unsafe impl Send for ThinBuf {}
// SAFETY: `&ThinBuf` only reads.
unsafe impl Sync for ThinBuf {}

fn layout(cap: usize) -> Layout {
    Layout::from_size_align(HEADER + cap, ALIGN).expect("buffer size overflows")
}

impl ThinBuf {
    pub const fn new() -> ThinBuf {
        ThinBuf { ptr: None }
    }

    /// An empty buffer with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> ThinBuf {
        let mut b = ThinBuf::new();
        b.set_capacity(cap);
        b
    }

    fn header(&self, field: usize) -> usize {
        match self.ptr {
            None => 0,
            // SAFETY: invariant 1: an aligned, initialized u32 header field.
            Some(p) => unsafe { p.as_ptr().cast::<u32>().add(field).read() as usize },
        }
    }

    pub fn len(&self) -> usize {
        self.header(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the buffer can hold without growing.
    pub fn capacity(&self) -> usize {
        self.header(1)
    }

    /// Bytes allocated, header included (0 when nothing is).
    pub fn allocation_bytes(&self) -> usize {
        self.ptr.map_or(0, |_| HEADER + self.capacity())
    }

    /// Sets the length.
    ///
    /// # Safety
    /// The buffer must be allocated, `len <= cap`, and the first `len` bytes
    /// initialized (invariants 1 and 2).
    unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= self.capacity());
        if let Some(p) = self.ptr {
            p.as_ptr().cast::<u32>().write(len as u32);
        }
    }

    /// Reallocates to exactly `cap` bytes (at least the length); frees the
    /// allocation when `cap` is 0.
    fn set_capacity(&mut self, cap: usize) {
        let len = self.len();
        assert!(cap >= len);
        assert!(cap <= u32::MAX as usize, "buffer over 4 GiB");
        if cap == self.capacity() {
            return;
        }
        let new = match (self.ptr, cap) {
            (None, _) => {
                // SAFETY: the layout is non-zero-sized (the header).
                let raw = unsafe { alloc::alloc(layout(cap)) };
                NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout(cap)))
            }
            (Some(p), 0) => {
                // SAFETY: invariant 1: allocated with this layout.
                unsafe { alloc::dealloc(p.as_ptr(), layout(self.capacity())) };
                self.ptr = None;
                return;
            }
            (Some(p), _) => {
                // SAFETY: invariant 1: allocated with `layout(old cap)`; the
                // new size is non-zero and does not overflow (checked by
                // `layout`). realloc keeps the header and the bytes.
                let raw =
                    unsafe { alloc::realloc(p.as_ptr(), layout(self.capacity()), HEADER + cap) };
                NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout(cap)))
            }
        };
        // SAFETY: `new` holds at least the header; len <= cap.
        unsafe {
            new.as_ptr().cast::<u32>().write(len as u32);
            new.as_ptr().cast::<u32>().add(1).write(cap as u32);
        }
        self.ptr = Some(new);
    }

    /// Makes room for `additional` more bytes (at least doubling, as `Vec`).
    pub fn reserve(&mut self, additional: usize) {
        let need = self
            .len()
            .checked_add(additional)
            .expect("buffer size overflows");
        if need <= self.capacity() {
            return;
        }
        let cap = need.max(self.capacity() * 2).max(MIN_CAP);
        self.set_capacity(cap.min(u32::MAX as usize).max(need));
    }

    /// Gives back the spare capacity (all of it when empty).
    pub fn shrink_to_fit(&mut self) {
        self.set_capacity(self.len());
    }

    fn data(&self) -> *mut u8 {
        match self.ptr {
            // SAFETY: invariant 1: the bytes start after the header.
            Some(p) => unsafe { p.as_ptr().add(HEADER) },
            None => NonNull::dangling().as_ptr(),
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: invariant 2 (a dangling, aligned pointer for length 0).
        unsafe { std::slice::from_raw_parts(self.data(), self.len()) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as `as_slice`; `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.data(), self.len()) }
    }

    pub fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        let len = self.len();
        self.splice(len..len, bytes);
    }

    /// Replaces the bytes in `range` with `with` (the rest moves).
    pub fn splice(&mut self, range: Range<usize>, with: &[u8]) {
        let len = self.len();
        let Range { start, end } = range;
        assert!(start <= end && end <= len, "splice out of bounds");
        let removed = end - start;
        if removed == 0 && with.is_empty() {
            return;
        }
        if with.len() > removed {
            self.reserve(with.len() - removed);
        }
        let data = self.data();
        // SAFETY: the buffer is allocated (it holds bytes, or just reserved
        // room), and its capacity covers `len - removed + with.len()`; the
        // tail moves with `copy` (it may overlap), then `with` is copied into
        // the gap, so the new length's bytes are all initialized.
        unsafe {
            ptr::copy(data.add(end), data.add(start + with.len()), len - end);
            ptr::copy_nonoverlapping(with.as_ptr(), data.add(start), with.len());
            self.set_len(len - removed + with.len());
        }
    }

    /// Removes the bytes in `range`.
    pub fn drain(&mut self, range: Range<usize>) {
        self.splice(range, &[]);
    }

    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            // SAFETY: a shorter prefix stays initialized.
            unsafe { self.set_len(len) }
        }
    }

    /// Empties the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.truncate(0);
    }
}

impl Drop for ThinBuf {
    fn drop(&mut self) {
        if let Some(p) = self.ptr {
            // SAFETY: invariant 1.
            unsafe { alloc::dealloc(p.as_ptr(), layout(self.capacity())) }
        }
    }
}

impl Default for ThinBuf {
    fn default() -> Self {
        ThinBuf::new()
    }
}

impl Clone for ThinBuf {
    /// A copy with no spare capacity.
    fn clone(&self) -> ThinBuf {
        let mut b = ThinBuf::with_capacity(self.len());
        b.extend_from_slice(self);
        b
    }
}

impl Deref for ThinBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl DerefMut for ThinBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl PartialEq for ThinBuf {
    fn eq(&self, other: &ThinBuf) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for ThinBuf {}

impl std::fmt::Debug for ThinBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_allocates_nothing_and_grows_on_demand() {
        let mut b = ThinBuf::new();
        assert_eq!((b.len(), b.capacity(), b.allocation_bytes()), (0, 0, 0));
        assert_eq!(std::mem::size_of::<ThinBuf>(), 8);
        b.extend_from_slice(b"hello");
        assert_eq!(&b[..], b"hello");
        assert!(b.capacity() >= 5);
        b.shrink_to_fit();
        assert_eq!(b.allocation_bytes(), 8 + 5);
        b.clear();
        b.shrink_to_fit();
        assert_eq!(b.allocation_bytes(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Splice(usize, usize, Vec<u8>),
        Truncate(usize),
        Shrink,
        Reserve(usize),
        Clone,
        Set(usize, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<usize>(), 0usize..20, proptest::collection::vec(any::<u8>(), 0..40))
                .prop_map(|(a, n, v)| Op::Splice(a, n, v)),
            1 => any::<usize>().prop_map(Op::Truncate),
            1 => Just(Op::Shrink),
            1 => (0usize..100).prop_map(Op::Reserve),
            1 => Just(Op::Clone),
            1 => (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Op::Set(i, v)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_vec(ops in proptest::collection::vec(op(), 0..200)) {
            let mut b = ThinBuf::new();
            let mut model: Vec<u8> = Vec::new();
            for op in ops {
                match op {
                    Op::Splice(at, n, with) => {
                        let start = at % (model.len() + 1);
                        let end = (start + n).min(model.len());
                        b.splice(start..end, &with);
                        model.splice(start..end, with);
                    }
                    Op::Truncate(n) => {
                        let n = n % (model.len() + 2);
                        b.truncate(n);
                        model.truncate(n);
                    }
                    Op::Shrink => {
                        b.shrink_to_fit();
                        prop_assert_eq!(b.capacity(), model.len());
                    }
                    Op::Reserve(n) => {
                        b.reserve(n);
                        prop_assert!(b.capacity() >= model.len() + n);
                    }
                    Op::Clone => {
                        b = b.clone();
                    }
                    Op::Set(i, v) => {
                        if !model.is_empty() {
                            let i = i % model.len();
                            b[i] = v;
                            model[i] = v;
                        }
                    }
                }
                prop_assert_eq!(&b[..], &model[..]);
                prop_assert!(b.len() <= b.capacity());
            }
        }
    }
}
