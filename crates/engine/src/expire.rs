//! The active expiry cycle: Redis's adaptive sampling of keys with a TTL.
//!
//! Each run (from the server cron, `hz` times a second) samples 20 volatile
//! keys per database and deletes the expired ones, repeating while more than
//! 10% of a sample was expired, within a time budget of 25% of the cron
//! period. Keys that are never read still go away, and a database full of
//! expired keys is cleaned in a few cycles without stalling clients.

use crate::notify;
use crate::state::State;
use std::time::Instant;

const KEYS_PER_LOOP: usize = 20;
const ACCEPTABLE_STALE_PERCENT: usize = 10;

/// Runs one active expiry cycle. Returns how many keys it deleted.
pub fn active_expire_cycle(state: &mut State) -> u64 {
    if !state.active_expire_enabled || !state.expire_deletes {
        return 0;
    }
    let started = Instant::now();
    let hz = state.config.hz.clamp(1, 500) as u64;
    let budget_us = 1_000_000 / hz * 25 / 100;
    let now = state.now_ms;
    let mut deleted = 0u64;
    let mut sampled_total = 0usize;
    let mut expired_total = 0usize;
    let mut ttl_sum: i128 = 0;
    let mut ttl_count: i64 = 0;
    'dbs: for db in 0..state.dbs.len() {
        loop {
            if state.dbs[db].expires_len() == 0 {
                break;
            }
            let mut expired_keys = Vec::new();
            let samples = KEYS_PER_LOOP.min(state.dbs[db].expires_len());
            for _ in 0..samples {
                let Some((key, at)) = state.dbs[db].random_volatile_key(&mut state.rng) else {
                    break;
                };
                if at <= now {
                    expired_keys.push(key.to_vec());
                } else {
                    ttl_sum += (at - now) as i128;
                    ttl_count += 1;
                }
            }
            expired_keys.sort();
            expired_keys.dedup();
            sampled_total += samples;
            expired_total += expired_keys.len();
            let expired_here = expired_keys.len();
            for key in expired_keys {
                if let Some(old) = state.dbs[db].remove(&key) {
                    let lazy = state.config.lazyfree_lazy_expire;
                    crate::lazyfree::value_freed(state, old.value(), lazy);
                    deleted += 1;
                    notify::expired_key_deleted(state, db, &key);
                }
            }
            if started.elapsed().as_micros() as u64 > budget_us {
                state.stats.expired_time_cap_reached_count += 1;
                break 'dbs;
            }
            if expired_here * 100 <= samples * ACCEPTABLE_STALE_PERCENT {
                break;
            }
        }
        if ttl_count > 0 {
            let avg = (ttl_sum / ttl_count as i128) as u64;
            let old = state.dbs[db].avg_ttl_ms;
            // Smooth like Redis: mostly the old estimate, some of the new sample.
            state.dbs[db].avg_ttl_ms = if old == 0 {
                avg
            } else {
                (old / 50) * 49 + avg / 50
            };
            ttl_sum = 0;
            ttl_count = 0;
        }
    }
    if sampled_total > 0 {
        let perc = expired_total as f64 / sampled_total as f64;
        state.stats.expired_stale_perc = perc * 0.05 + state.stats.expired_stale_perc * 0.95;
    }
    state.stats.expire_cycle_cpu_ms += started.elapsed().as_millis() as u64;
    deleted
}
