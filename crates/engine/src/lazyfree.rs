//! The lazyfree counters of INFO memory (`lazyfree_pending_objects`,
//! `lazyfreed_objects`).
//!
//! redust frees a deleted value at once: its allocations are few and
//! jemalloc frees them quickly, so it has no background free thread. So that
//! INFO reads as Redis 7.0's does, `lazyfreed_objects` counts what Redis
//! would have handed to its lazyfree thread: a value whose free effort is
//! over 64 (list nodes, hash-table or skip-list elements) deleted in a way
//! that may be lazy (UNLINK; DEL/GETDEL with `lazyfree-lazy-user-del`; an
//! overwrite with `lazyfree-lazy-server-del`; expiry with
//! `lazyfree-lazy-expire`; eviction with `lazyfree-lazy-eviction`), and each
//! key of a database flushed asynchronously. Nothing is ever pending.
//! CONFIG RESETSTAT resets the count, as in Redis.

use crate::state::State;
use redust_keyspace::db::LAZYFREE_THRESHOLD;
use redust_keyspace::ValueRef;

/// A deleted value, freed lazily if `lazy` allows and it is large enough.
pub fn value_freed(state: &mut State, value: ValueRef, lazy: bool) {
    if lazy && value.free_effort() > LAZYFREE_THRESHOLD {
        state.stats.lazyfreed_objects += 1;
    }
}

/// A database of `keys` keys emptied, asynchronously when `lazy`.
pub fn db_flushed(state: &mut State, keys: u64, lazy: bool) {
    if lazy {
        state.stats.lazyfreed_objects += keys;
    }
}

/// Counts the values lazy expiry deleted in database `db` since last asked.
pub fn expired_drained(state: &mut State, db: usize) {
    let n = std::mem::take(&mut state.dbs[db].expired_lazyfree_candidates);
    if state.config.lazyfree_lazy_expire {
        state.stats.lazyfreed_objects += n;
    }
}
