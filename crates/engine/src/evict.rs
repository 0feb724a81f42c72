//! Eviction under `maxmemory`, with Redis's approximated policies.
//!
//! Like Redis, eviction samples `maxmemory-samples` keys per database, keeps
//! the best candidates seen in a small pool across calls, and evicts the best
//! one until enough memory is freed. Scores: LRU = idle time, LFU = 255 minus
//! the decayed counter, TTL = how soon the key expires; random policies skip
//! the pool.

use crate::db_ops::MaxmemoryPolicyExt;
use crate::notify;
use crate::state::State;
use redust_config::MaxmemoryPolicy;
use redust_keyspace::lru;

const POOL_SIZE: usize = 16;

/// Frees memory until `used_memory` is under `maxmemory`. Returns false if it
/// is still over the limit (the caller refuses `denyoom` commands).
pub fn perform_evictions(state: &mut State) -> bool {
    let limit = state.config.maxmemory;
    if limit == 0 {
        return true;
    }
    let used = state.used_memory();
    if used <= limit || state.dataset_frozen() {
        return true;
    }
    if state.config.maxmemory_policy == MaxmemoryPolicy::NoEviction {
        return false;
    }
    // Evict by estimate, then re-read the allocator: the estimate misses
    // allocator rounding and table overhead, the allocator does not.
    let mut used = used;
    for _round in 0..64 {
        let to_free = used - limit;
        let mut freed = 0u64;
        while freed < to_free {
            let Some((db, key)) = pick_victim(state) else {
                return false;
            };
            let bytes = state.dbs[db].key_memory_bytes(&key).unwrap_or(64) as u64;
            let Some(old) = state.dbs[db].remove(&key) else {
                continue;
            };
            freed += bytes;
            state.stats.evicted_keys += 1;
            let lazy = state.config.lazyfree_lazy_eviction;
            crate::lazyfree::value_freed(state, old.value(), lazy);
            crate::propagate::propagate_deletion(state, db, &key, lazy);
            notify::signal_modified(state, db, &key);
            notify::notify(state, notify::EVICTED, "evicted", &key, db);
        }
        used = state.used_memory();
        if used <= limit {
            return true;
        }
    }
    false
}

fn volatile_only(policy: MaxmemoryPolicy) -> bool {
    matches!(
        policy,
        MaxmemoryPolicy::VolatileLru
            | MaxmemoryPolicy::VolatileLfu
            | MaxmemoryPolicy::VolatileRandom
            | MaxmemoryPolicy::VolatileTtl
    )
}

fn pick_victim(state: &mut State) -> Option<(usize, Vec<u8>)> {
    let policy = state.config.maxmemory_policy;
    let volatile = volatile_only(policy);
    if matches!(
        policy,
        MaxmemoryPolicy::AllkeysRandom | MaxmemoryPolicy::VolatileRandom
    ) {
        // Databases in turn, like Redis, starting after the last one used.
        let n = state.dbs.len();
        for i in 0..n {
            let db = (state.eviction.next_db + i) % n;
            let key = if volatile {
                state.dbs[db]
                    .random_volatile_key(&mut state.rng)
                    .map(|(k, _)| k.to_vec())
            } else {
                state.dbs[db].random_key(&mut state.rng).map(|k| k.to_vec())
            };
            if let Some(key) = key {
                state.eviction.next_db = db + 1;
                return Some((db, key));
            }
        }
        return None;
    }
    let samples = state.config.maxmemory_samples.max(1) as usize;
    let now = state.now_ms;
    let (decay, lfu) = (state.config.lfu_decay_time, policy.is_lfu());
    for db in 0..state.dbs.len() {
        let d = &state.dbs[db];
        let have = if volatile { d.expires_len() } else { d.len() };
        if have == 0 {
            continue;
        }
        for _ in 0..samples.min(have) {
            let picked = if volatile {
                d.random_volatile_key(&mut state.rng)
                    .map(|(k, at)| (k.to_vec(), Some(at)))
            } else {
                d.random_key(&mut state.rng).map(|k| (k.to_vec(), None))
            };
            let Some((key, at)) = picked else { continue };
            let Some(entry) = d.peek(&key) else { continue };
            let score = match policy {
                MaxmemoryPolicy::VolatileTtl => u64::MAX - at.unwrap_or(i64::MAX).max(0) as u64,
                _ if lfu => 255 - lru::lfu_decayed_counter(entry.lru(), now, decay) as u64,
                _ => lru::lru_idle_ms(entry.lru(), now),
            };
            let pool = &mut state.eviction.pool;
            if pool.iter().any(|(_, d2, k2)| *d2 == db && *k2 == key) {
                continue;
            }
            if pool.len() < POOL_SIZE || pool[0].0 < score {
                if pool.len() == POOL_SIZE {
                    pool.remove(0);
                }
                let pos = pool.partition_point(|(s, _, _)| *s < score);
                pool.insert(pos, (score, db, key));
            }
        }
    }
    while let Some((_, db, key)) = state.eviction.pool.pop() {
        let live = if volatile {
            state.dbs[db].expire_at(&key).is_some()
        } else {
            state.dbs[db].peek(&key).is_some()
        };
        if live {
            return Some((db, key));
        }
    }
    None
}
