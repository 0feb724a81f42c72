//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): parking a client on keys
//! and serving it when one of them gets data.
//!
//! A handler that finds nothing to pop calls `Ctx::block`; the client then
//! waits on the keys in `State::blocking_keys`, first come first served. A
//! write that may satisfy waiters (a push, ZADD, RENAME onto the key...)
//! calls `signal_ready`. After every top-level command, with the state lock
//! still held, `serve_blocked_clients` re-runs the blocked commands of the
//! waiters of each ready key in arrival order, exactly as Redis's
//! handleClientsBlockedOnKeys does, and sends their replies through their
//! push channels. The re-run names only the ready key (`args_for_key`), so a
//! client waiting on several keys pops from the key that became ready, as in
//! Redis, not from the first non-empty key of its list. Timeouts are handled by the waiting connection task
//! (`timeout_blocked`). Inside MULTI a blocking command never blocks: it
//! answers as if it had timed out.

use crate::exec::{self, Ctx};
use crate::state::{Client, State};
use bytes::Bytes;
use redust_resp::Reply;

/// What a blocked command answers when its timeout passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` (RESP2) / `_` (RESP3): BLPOP, BRPOP, BLMPOP, BZPOPMIN, BZMPOP...
    NullArray,
    /// BLMOVE, BRPOPLPUSH: `*-1` (RESP2) / `_` (RESP3) on timeout like the
    /// others, but `$-1` when they cannot block (inside MULTI), as in Redis.
    Move,
    /// WAIT: the number of replicas that acknowledged `offset`; served early
    /// once `wanted` have.
    ReplicaAcks { offset: u64, wanted: usize },
    /// Safe mode: the write's reply (`BlockedOn::held`), released once
    /// replicas acknowledge `offset` under a lease; `-NOREPLICAS` on timeout.
    HeldReply { offset: u64 },
}

/// Why and until when a client waits.
#[derive(Clone, Debug)]
pub struct BlockedOn {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// Absolute time in ms; `None` waits forever.
    pub deadline_ms: Option<i64>,
    pub timeout_reply: TimeoutReply,
    /// The command to run again when a key is ready.
    pub args: Vec<Bytes>,
    /// Safe mode: the reply held back until the write is acknowledged.
    pub held: Vec<u8>,
}

/// The value type a blocking command waits for: a key holding another type
/// does not wake it (Redis 7.0 serves list waiters from lists only, ...).
fn wanted_type(command: &[u8]) -> &'static str {
    match command.to_ascii_lowercase().as_slice() {
        b"bzpopmin" | b"bzpopmax" | b"bzmpop" => "zset",
        _ => "list",
    }
}

/// Parses a blocking timeout in (float) seconds into an absolute deadline,
/// `None` for 0 (wait forever). Redis's errors.
pub fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<Option<i64>, crate::errors::CmdError> {
    // Redis reads a long double (hex floats and infinities included), and a
    // value whose milliseconds do not fit a long long turns negative there.
    let secs = crate::args::parse_f64_opt(arg).ok_or(crate::errors::CmdError::from(
        crate::errors::TIMEOUT_NOT_FLOAT,
    ))?;
    let ms = (secs * 1000.0).ceil();
    // 2^63 ms and beyond do not fit a long long.
    if !(0.0..(1u64 << 63) as f64).contains(&ms) {
        return Err(crate::errors::TIMEOUT_NEGATIVE.into());
    }
    if ms > (i64::MAX / 2) as f64 {
        // Far beyond any wait that can end: wait forever without overflowing.
        return Ok(None);
    }
    Ok(if ms == 0.0 {
        None
    } else {
        Some(now_ms + ms as i64)
    })
}

impl Ctx<'_> {
    /// Parks the client on `keys` (in its current database). Inside MULTI the
    /// command answers the timeout reply at once instead.
    pub fn block(
        &mut self,
        keys: Vec<Vec<u8>>,
        deadline_ms: Option<i64>,
        timeout_reply: TimeoutReply,
    ) {
        if self.client.exec_queue_len.is_some() {
            match timeout_reply {
                TimeoutReply::Move => self.reply.null(),
                other => write_timeout_reply(self.reply, other),
            }
            return;
        }
        let db = self.client.db;
        for key in &keys {
            self.state
                .blocking
                .blocking_keys
                .entry((db, key.clone()))
                .or_default()
                .push_back(self.client.id);
        }
        self.state.blocking.blocked_clients += 1;
        self.client.blocked = Some(BlockedOn {
            db,
            keys,
            deadline_ms,
            timeout_reply,
            args: Vec::new(),
            held: Vec::new(),
        });
    }

    /// True while re-running a blocked command for its client.
    pub fn serving_blocked(&self) -> bool {
        self.client.serving_blocked
    }

    /// Marks `key` (client's database) as having data for waiters.
    pub fn signal_ready(&mut self, key: &[u8]) {
        signal_ready(self.state, self.client.db, key);
    }
}

/// Marks `key` in `db` as having data for waiters, if anyone waits on it.
pub fn signal_ready(state: &mut State, db: usize, key: &[u8]) {
    if state.blocking.blocking_keys.is_empty() {
        return;
    }
    let k = (db, key.to_vec());
    if state.blocking.blocking_keys.contains_key(&k) && !state.blocking.ready_keys.contains(&k) {
        state.blocking.ready_keys.push(k);
    }
}

fn write_timeout_reply(reply: &mut Reply, kind: TimeoutReply) {
    match kind {
        TimeoutReply::NullArray | TimeoutReply::Move => reply.null_array(),
        TimeoutReply::ReplicaAcks { .. } => reply.int(0),
        TimeoutReply::HeldReply { .. } => reply.error(crate::safe_writes::NOT_ACKNOWLEDGED),
    }
}

/// Removes `client` from every key it waits on.
pub fn unblock(state: &mut State, client: &mut Client) {
    let Some(b) = client.blocked.take() else {
        return;
    };
    for key in b.keys {
        let k = (b.db, key);
        if let Some(q) = state.blocking.blocking_keys.get_mut(&k) {
            q.retain(|&id| id != client.id);
            if q.is_empty() {
                state.blocking.blocking_keys.remove(&k);
            }
        }
    }
    state.blocking.blocked_clients = state.blocking.blocked_clients.saturating_sub(1);
}

/// Ends a wait whose deadline passed: the timeout reply, for the connection
/// task to write. `None` if the client was served meanwhile.
pub fn timeout_blocked(state: &mut State, client: &mut Client) -> Option<Vec<u8>> {
    let kind = client.blocked.as_ref()?.timeout_reply;
    unblock(state, client);
    let mut reply = Reply::new(client.resp3);
    match kind {
        TimeoutReply::ReplicaAcks { offset, .. } => reply.int(state.repl.acked(offset) as i64),
        _ => write_timeout_reply(&mut reply, kind),
    }
    Some(reply.buf)
}

/// CLIENT UNBLOCK: ends client `id`'s wait, with the timeout reply or with
/// Redis's UNBLOCKED error. False if it is not blocked.
pub fn unblock_by_request(state: &mut State, id: u64, with_error: bool) -> bool {
    let Some(mut client) = state.clients.remove(&id) else {
        return false;
    };
    let reply = if client.blocked.is_none() {
        None
    } else if with_error {
        unblock(state, &mut client);
        let mut reply = Reply::new(client.resp3);
        reply.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        Some(reply.buf)
    } else {
        timeout_blocked(state, &mut client)
    };
    let unblocked = reply.is_some();
    if let Some(bytes) = reply {
        client.push.send_data(Bytes::from(bytes));
        client.push.wake();
    }
    state.clients.insert(id, client);
    unblocked
}

/// A master becoming a replica (or the reverse) releases every client
/// blocked on keys with Redis's UNBLOCKED error.
pub fn unblock_all_for_role_change(state: &mut State) {
    let ids: Vec<u64> = state
        .clients
        .values()
        .filter(|c| {
            c.blocked.as_ref().is_some_and(|b| {
                !matches!(
                    b.timeout_reply,
                    TimeoutReply::ReplicaAcks { .. } | TimeoutReply::HeldReply { .. }
                )
            })
        })
        .map(|c| c.id)
        .collect();
    for id in ids {
        let Some(mut client) = state.clients.remove(&id) else {
            continue;
        };
        unblock(state, &mut client);
        let mut reply = Reply::new(client.resp3);
        reply.error("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
        client.push.send_data(Bytes::from(reply.buf));
        client.push.wake();
        state.clients.insert(id, client);
    }
}

/// Serves the clients waiting on keys that became ready, in arrival order,
/// until no ready key is left. Called after each top-level command.
pub fn serve_blocked_clients(state: &mut State) {
    if state.blocking.ready_keys.is_empty() {
        return;
    }
    // Served outside any command, at the time it really is: a key whose time
    // passed while the command ran (a long EXEC) serves nobody, as in Redis.
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        state.now_ms = state.now_ms.max(d.as_millis() as i64);
    }
    let mut rounds = 0;
    while !state.blocking.ready_keys.is_empty() && rounds < 100_000 {
        rounds += 1;
        let ready = std::mem::take(&mut state.blocking.ready_keys);
        for key in ready {
            let waiters: Vec<u64> = state
                .blocking
                .blocking_keys
                .get(&key)
                .map(|q| q.iter().copied().collect())
                .unwrap_or_default();
            for id in waiters {
                let now = state.now_ms;
                let Some(type_name) = state.dbs[key.0]
                    .get(&key.1, now)
                    .map(|e| e.value().type_name())
                else {
                    break;
                };
                let wants = state
                    .clients
                    .get(&id)
                    .and_then(|c| c.blocked.as_ref())
                    .and_then(|b| b.args.first());
                // Like Redis, a key serves only the clients blocked for its
                // type (a BZPOPMIN waiter ignores a list pushed to its key).
                if wants.is_none_or(|cmd| wanted_type(cmd) != type_name) {
                    continue;
                }
                let Some(mut client) = state.clients.remove(&id) else {
                    continue;
                };
                serve_one(state, &mut client, &key.1);
                state.clients.insert(id, client);
            }
        }
    }
}

/// The blocked command `args` rewritten to name only `key`, the key that
/// became ready: `BLPOP k1 k2 0` served by `k2` runs as `BLPOP k2 0`,
/// `BLMPOP 0 2 k1 k2 LEFT` as `BLMPOP 0 1 k2 LEFT`. Commands with one source
/// key (BLMOVE, BRPOPLPUSH) run as they are.
fn args_for_key(args: &[Bytes], key: &[u8]) -> Vec<Bytes> {
    let key = Bytes::copy_from_slice(key);
    match args[0].to_ascii_lowercase().as_slice() {
        b"blpop" | b"brpop" | b"bzpopmin" | b"bzpopmax" if args.len() >= 3 => {
            vec![args[0].clone(), key, args[args.len() - 1].clone()]
        }
        b"blmpop" | b"bzmpop" if args.len() >= 4 => {
            // CMD timeout numkeys key... rest (validated when it blocked).
            let numkeys = std::str::from_utf8(&args[2])
                .ok()
                .and_then(|n| n.parse::<usize>().ok());
            match numkeys {
                Some(n) if 3 + n <= args.len() => {
                    let mut out = vec![
                        args[0].clone(),
                        args[1].clone(),
                        Bytes::from_static(b"1"),
                        key,
                    ];
                    out.extend_from_slice(&args[3 + n..]);
                    out
                }
                _ => args.to_vec(),
            }
        }
        _ => args.to_vec(),
    }
}

/// Serves `client`, blocked on `key` (among others), which has data of the
/// type it waits for: re-runs its command on that key alone and sends the
/// reply. If it still finds nothing, it keeps waiting on all its keys.
fn serve_one(state: &mut State, client: &mut Client, key: &[u8]) {
    let Some(blocked) = client.blocked.clone() else {
        return;
    };
    let args = args_for_key(&blocked.args, key);
    unblock(state, client);
    let table = state.commands.clone();
    let Ok(command) = exec::resolve(&table, &args) else {
        return;
    };
    let mut reply = Reply::new(client.resp3);
    client.serving_blocked = true;
    {
        let mut ctx = Ctx {
            state,
            client,
            reply: &mut reply,
        };
        exec::call(&mut ctx, command, &args);
    }
    client.serving_blocked = false;
    if client.blocked.is_some() {
        // Still nothing for it: wait again, on every key it waited on, until
        // the same deadline.
        unblock(state, client);
        for k in &blocked.keys {
            state
                .blocking
                .blocking_keys
                .entry((blocked.db, k.clone()))
                .or_default()
                .push_back(client.id);
        }
        state.blocking.blocked_clients += 1;
        client.blocked = Some(blocked);
        return;
    }
    if !reply.buf.is_empty() {
        client.push.send_data(Bytes::from(reply.buf));
    }
    client.push.wake();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn served_commands_name_only_the_ready_key() {
        let cases = [
            ("BLPOP a b 0", "BLPOP b 0"),
            ("bzpopmax a b c 1.5", "bzpopmax c 1.5"),
            ("BLMPOP 0 3 a b c LEFT COUNT 2", "BLMPOP 0 1 b LEFT COUNT 2"),
            ("BZMPOP 1 2 a b MIN", "BZMPOP 1 1 b MIN"),
            ("BLMOVE b d LEFT RIGHT 0", "BLMOVE b d LEFT RIGHT 0"),
        ];
        for (blocked, served) in cases {
            let words: Vec<&str> = blocked.split(' ').collect();
            let key = if blocked.contains(" c 1.5") { "c" } else { "b" };
            assert_eq!(
                args_for_key(&args(&words), key.as_bytes()),
                args(&served.split(' ').collect::<Vec<_>>()),
                "{blocked}"
            );
        }
    }
}
