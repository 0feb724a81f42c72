//! What the server knows about a client, as Redis shows it: the CLIENT LIST
//! line (also in log lines about a client) and the memory a client holds
//! (CLIENT LIST's `tot-mem`, INFO's client memory, what `maxmemory-clients`
//! and the output-buffer limits count).

use crate::state::{Client, State};

/// Reply bytes waiting to be written to client `id`.
fn queued_reply_bytes(state: &State, id: u64) -> usize {
    use std::sync::atomic::Ordering::Relaxed;
    state.clients.handles.get(&id).map_or(0, |h| {
        h.0.queued_bytes.load(Relaxed) + h.0.unwritten_bytes.load(Relaxed)
    })
}

/// Bytes in client `id`'s query buffer.
fn query_buffer_bytes(state: &State, id: u64) -> usize {
    state.clients.handles.get(&id).map_or(0, |h| {
        h.0.query_bytes.load(std::sync::atomic::Ordering::Relaxed)
    })
}

/// [`client_memory`] for a client known only by id (the one executing):
/// without its MULTI queue.
pub fn client_memory_by_id(state: &State, id: u64) -> usize {
    queued_reply_bytes(state, id) + query_buffer_bytes(state, id) + 16384
}

/// What a client holds (CLIENT LIST's `tot-mem`, INFO's `mem_clients_normal`,
/// what `maxmemory-clients` counts): its query buffer, the replies waiting,
/// the reply buffer, the commands queued in its MULTI.
pub fn client_memory(state: &State, c: &Client) -> usize {
    let multi: usize = c.multi.as_ref().map_or(0, |q| {
        q.iter()
            .map(|args| args.iter().map(|a| a.len()).sum::<usize>())
            .sum()
    });
    client_memory_by_id(state, c.id) + multi
}

/// One CLIENT LIST line for `c` (without the trailing newline).
pub fn client_info_line(state: &State, c: &Client) -> String {
    let now = state.now_ms;
    let mut flags = String::new();
    if c.repl.is_replica && !c.monitor {
        flags.push('S');
    }
    if c.repl.is_master {
        flags.push('M');
    }
    if c.monitor {
        flags.push('O');
    }
    if c.subscription_count() > 0 || !c.shard_channels.is_empty() {
        flags.push('P');
    }
    if c.multi.is_some() || c.exec_queue_len.is_some() {
        flags.push('x');
    }
    if c.blocked.is_some() {
        flags.push('b');
    }
    if state.watch.dirty_cas.contains(&c.id) {
        flags.push('d');
    }
    if c.close_after_reply {
        flags.push('c');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let queued = queued_reply_bytes(state, c.id);
    let query = query_buffer_bytes(state, c.id);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll={} omem={} tot-mem={} events=r cmd={} user={} redir=-1 resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(c.name.as_deref().unwrap_or(b"")),
        (now - c.created_ms).max(0) / 1000,
        (now - c.last_interaction_ms).max(0) / 1000,
        flags,
        c.db,
        c.channels.len(),
        c.patterns.len(),
        c.shard_channels.len(),
        c.multi.as_ref().map(|q| q.len()).or(c.exec_queue_len).map_or(-1, |n| n as i64),
        query,
        16384usize.saturating_sub(query),
        if queued > 0 { 1 } else { 0 },
        queued,
        client_memory(state, c),
        c.last_command,
        String::from_utf8_lossy(c.user.as_deref().unwrap_or(b"default")),
        if c.resp3 { 3 } else { 2 },
    )
}
