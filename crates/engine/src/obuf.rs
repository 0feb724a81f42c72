//! Client output-buffer limits (`client-output-buffer-limit`) for normal and
//! pub/sub clients, as Redis 7.0's `checkClientOutputBufferLimits` applies
//! them: which class's limit a client has, how much of its output counts,
//! when the soft limit's time runs out, and closing a client over its limit.
//!
//! A connection keeps executing while its replies wait unwritten (a client
//! that does not read), so the limit is checked after each command it runs,
//! for each message published to it, and once a second from the cron (which
//! is what ends a soft limit's grace time, and what applies a limit lowered
//! by CONFIG SET). Replicas have their own limit on the replication stream
//! (`server::replica_conn`).

use crate::state::{Client, State};
use std::sync::atomic::Ordering;

/// Redis keeps the first 16 KiB of a client's replies in a fixed buffer that
/// the limit does not count; only what overflows into its reply list does.
pub const FIXED_REPLY_BUFFER: usize = 16 * 1024;

/// How a client over its limit is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// While it executes or is sent data: closed before anything more is
    /// written ("scheduled to be closed ASAP").
    Asap,
    /// From the cron: closed now ("closed").
    Now,
}

/// Unwritten reply bytes the limit counts for a client: queued pushes and
/// what its connection holds, past the fixed buffer.
fn counted_bytes(client: &Client) -> u64 {
    let unwritten = client.push.queued_bytes.load(Ordering::Relaxed)
        + client.push.unwritten_bytes.load(Ordering::Relaxed);
    unwritten.saturating_sub(FIXED_REPLY_BUFFER) as u64
}

/// Whether `client` is over its class's limit now (tracking when it first
/// passed the soft limit, in whole seconds as Redis does).
fn over_limit(state: &State, client: &Client) -> bool {
    if client.repl.is_replica || client.repl.is_master {
        return false;
    }
    let limits = &state.config.client_output_buffer_limit;
    let limit = if client.subscription_count() > 0 {
        limits.pubsub
    } else {
        limits.normal
    };
    if limit.hard == 0 && limit.soft == 0 {
        return false;
    }
    let used = counted_bytes(client);
    if used == 0 {
        return false;
    }
    let hard = limit.hard > 0 && used >= limit.hard;
    let mut soft = limit.soft > 0 && used >= limit.soft;
    let since = &client.push.soft_limit_since_s;
    let now_s = state.now_ms / 1000;
    if soft {
        let first = since.load(Ordering::Relaxed);
        if first == 0 {
            since.store(now_s, Ordering::Relaxed);
            soft = false;
        } else if now_s - first <= limit.soft_seconds as i64 {
            soft = false;
        }
    } else {
        since.store(0, Ordering::Relaxed);
    }
    hard || soft
}

/// Closes `client` if it is over its output-buffer limit, logging it as
/// Redis does; true if it is (or already was) being closed.
pub fn enforce(state: &State, client: &Client, close: Close) -> bool {
    if client.push.killed.load(Ordering::Relaxed) {
        return true;
    }
    if !over_limit(state, client) {
        return false;
    }
    let info = crate::client_info::client_info_line(state, client);
    client.push.kill();
    let how = match close {
        Close::Asap => "scheduled to be closed ASAP",
        Close::Now => "closed",
    };
    state.log_warning(&format!(
        "Client {info} {how} for overcoming of output buffer limits."
    ));
    true
}

/// The cron's pass over every client (Redis's `clientsCron` check).
pub fn enforce_all(state: &State) {
    for client in state.clients.values() {
        enforce(state, client, Close::Now);
    }
}
