//! Client eviction (`maxmemory-clients`), as Redis 7.0 does it.
//!
//! While the limit is set, the memory of every normal and pub/sub client
//! (CLIENT LIST's `tot-mem`: query buffer, replies waiting, the reply buffer,
//! its MULTI queue) is kept in one running total: a client is re-counted
//! after each command it runs and, with every other client, from the cron.
//! When the total reaches the limit, clients are closed, the largest first,
//! until it is below: before a command runs (a client that evicts itself gets
//! no reply) and from the cron. Replicas, masters and clients that set
//! `CLIENT NO-EVICT on` are never evicted, though the last still count.
//! Like Redis, clients are ranked by memory in power-of-two buckets (from
//! 32 KiB to 4 GiB), the oldest first within a bucket.

use crate::client_info::{client_info_line, client_memory};
use crate::state::{Client, State};
use std::sync::atomic::Ordering;

/// Redis raises any smaller limit to 128 KiB.
const MIN_LIMIT: u64 = 128 * 1024;

/// The limit in bytes now; 0 when there is none (unset, or a percentage of
/// an unset `maxmemory`).
pub fn limit(state: &State) -> u64 {
    let c = &state.config;
    if c.maxmemory_clients == 0 || (c.maxmemory_clients < 0 && c.maxmemory == 0) {
        return 0;
    }
    c.maxmemory_clients_bytes().max(MIN_LIMIT)
}

/// Normal and pub/sub clients count toward the limit (a MONITOR is a normal
/// client); replicas and masters do not.
fn counted(c: &Client) -> bool {
    (!c.repl.is_replica || c.monitor) && !c.repl.is_master
}

/// Counts `client`'s memory anew in the total.
pub fn account(state: &mut State, client: &mut Client) {
    let now = if counted(client) && !client.push.killed.load(Ordering::Relaxed) {
        client_memory(state, client)
    } else {
        0
    };
    state.clients.memory =
        (state.clients.memory + now as u64).saturating_sub(client.memory_accounted as u64);
    client.memory_accounted = now;
}

/// Takes a closed client out of the total.
pub fn forget(state: &mut State, client: &mut Client) {
    state.clients.memory = state
        .clients
        .memory
        .saturating_sub(client.memory_accounted as u64);
    client.memory_accounted = 0;
}

/// Redis's bucket of a client using `bytes`: below 32 KiB, then one per
/// power of two up to 4 GiB and more.
fn bucket(bytes: usize) -> u32 {
    let bits = usize::BITS - bytes.leading_zeros();
    bits.clamp(15, 33) - 15
}

/// Re-counts every client (the cron's pass).
pub fn account_all(state: &mut State) {
    if limit(state) == 0 {
        if state.clients.memory != 0 {
            state.clients.memory = 0;
            for c in state.clients.values_mut() {
                c.memory_accounted = 0;
            }
        }
        return;
    }
    let ids: Vec<u64> = state.clients.keys().copied().collect();
    for id in ids {
        if let Some(mut c) = state.clients.remove(&id) {
            account(state, &mut c);
            state.clients.insert(id, c);
        }
    }
}

/// Evicts clients until the total is below the limit. `current` is the
/// client about to run a command (not in `state.clients` meanwhile); true
/// if it was evicted itself, and must run nothing more.
pub fn evict(state: &mut State, mut current: Option<&mut Client>) -> bool {
    let limit = limit(state);
    if limit == 0 {
        return false;
    }
    if let Some(c) = current.as_deref_mut() {
        account(state, c);
    }
    if state.clients.memory < limit {
        return false;
    }
    // (bucket, id): largest bucket first, then the oldest client.
    let mut candidates: Vec<(u32, u64)> = state
        .clients
        .values()
        .map(|c| &**c)
        .chain(current.as_deref())
        .filter(|c| counted(c) && !c.no_evict && !c.push.killed.load(Ordering::Relaxed))
        .map(|c| (bucket(c.memory_accounted), c.id))
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let current_id = current.as_deref().map(|c| c.id);
    let mut evicted_current = false;
    for (_, id) in candidates {
        if state.clients.memory < limit {
            break;
        }
        let is_current = Some(id) == current_id;
        let info = match (is_current, current.as_deref()) {
            (true, Some(c)) => client_info_line(state, c),
            _ => match state.clients.get(&id) {
                Some(c) => client_info_line(state, c),
                None => continue,
            },
        };
        let victim = match (is_current, current.as_deref_mut()) {
            (true, Some(c)) => c,
            _ => match state.clients.get_mut(&id) {
                Some(c) => &mut **c,
                None => continue,
            },
        };
        victim.push.kill();
        let freed = std::mem::take(&mut victim.memory_accounted);
        state.clients.memory = state.clients.memory.saturating_sub(freed as u64);
        evicted_current |= is_current;
        state.stats.evicted_clients += 1;
        state.log_notice(&format!("Evicting client: {info}"));
    }
    if state.clients.memory >= limit {
        state.log_warning("Over client maxmemory after evicting all evictable clients");
    }
    evicted_current
}
