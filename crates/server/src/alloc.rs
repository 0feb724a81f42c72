//! The global allocator: jemalloc, with an exact count of bytes in use.
//!
//! `used_memory` must be the allocator's real figure and must drop as soon as
//! memory is freed (eviction depends on it). jemalloc's own `stats.allocated`
//! lags behind frees (objects parked in thread caches still count), so, like
//! Redis's zmalloc, we add up the usable size of every allocation ourselves:
//! `nallocx` gives the size class jemalloc really hands out. Counters are
//! sharded per thread so allocation never contends on one cache line.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use tikv_jemallocator::Jemalloc;

const SHARDS: usize = 32;

#[repr(align(64))]
struct Shard(AtomicI64);

static COUNTERS: [Shard; SHARDS] = [const { Shard(AtomicI64::new(0)) }; SHARDS];
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialized and without a destructor: safe to touch from inside
    // the allocator, even while a thread is being torn down.
    static MY_SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn shard() -> &'static AtomicI64 {
    let index = MY_SHARD.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let n = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
        s.set(n);
        n
    });
    &COUNTERS[index].0
}

/// jemalloc's size class for `size` (its `sz_s2u`), computed inline for the
/// common small, 16-byte-aligned case: `nallocx` was 4% of a GET's
/// instructions. Four classes per doubling above 128 bytes; 16-byte steps up
/// to 128; 8 below. None where `nallocx` must decide.
#[inline]
fn size_class(size: usize) -> Option<usize> {
    const LG_QUANTUM: u32 = 4;
    const LG_GROUP: u32 = 2;
    if size <= 8 {
        return Some(8);
    }
    if size > 1 << 20 {
        return None;
    }
    let lg_ceil = usize::BITS - (size - 1).leading_zeros();
    let lg_delta = if lg_ceil < LG_GROUP + LG_QUANTUM + 1 {
        LG_QUANTUM
    } else {
        lg_ceil - LG_GROUP - 1
    };
    let mask = (1usize << lg_delta) - 1;
    Some((size + mask) & !mask)
}

/// The bytes jemalloc really reserves for `layout`.
#[inline]
fn usable_size(layout: Layout) -> i64 {
    if layout.align() <= 16 {
        if let Some(n) = size_class(layout.size()) {
            return n as i64;
        }
    }
    let flags = if layout.align() > 16 {
        layout.align().trailing_zeros() as i32
    } else {
        0
    };
    // SAFETY: nallocx only computes a size class; it touches no memory.
    let n = unsafe { tikv_jemalloc_sys::nallocx(layout.size().max(1), flags) };
    if n == 0 {
        layout.size() as i64
    } else {
        n as i64
    }
}

/// Bytes currently allocated through the global allocator.
pub fn used_memory() -> u64 {
    COUNTERS
        .iter()
        .map(|s| s.0.load(Ordering::Relaxed))
        .sum::<i64>()
        .max(0) as u64
}

pub struct CountingJemalloc;

// SAFETY: every call is forwarded to jemalloc unchanged; we only count.
unsafe impl GlobalAlloc for CountingJemalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc(layout);
        if !p.is_null() {
            shard().fetch_add(usable_size(layout), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc_zeroed(layout);
        if !p.is_null() {
            shard().fetch_add(usable_size(layout), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shard().fetch_sub(usable_size(layout), Ordering::Relaxed);
        Jemalloc.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = Jemalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            shard().fetch_add(
                usable_size(new_layout) - usable_size(layout),
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_match_jemalloc() {
        for size in 1..=(1usize << 20) + 1 {
            let Some(ours) = size_class(size) else {
                continue;
            };
            // SAFETY: nallocx only computes a size class.
            let theirs = unsafe { tikv_jemalloc_sys::nallocx(size, 0) };
            assert_eq!(ours, theirs, "size {size}");
        }
    }
}
