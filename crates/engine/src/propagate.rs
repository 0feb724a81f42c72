//! Propagation: the commands that replay each change exactly, for the AOF
//! and the replication stream.
//!
//! Every write command propagates its own arguments by default (`call` does
//! it when the dataset changed). Commands whose effect depends on the moment
//! or on chance say what to replay instead, as Redis does: relative TTLs
//! become absolute (`SET .. PXAT`, `PEXPIREAT`), INCRBYFLOAT becomes `SET ..
//! KEEPTTL`, served blocking pops become their plain forms, expired and
//! evicted keys become `DEL`. Changes gathered during one top-level command
//! are handed to the consumers together (`flush`), MULTI/EXEC wrapped around
//! those of a transaction; `encode_stream` turns them into RESP with a SELECT
//! wherever the database changes, for the AOF and the replication stream alike.

use crate::exec::Ctx;
use bytes::Bytes;

/// One command to replay, in database `db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Propagated {
    pub db: usize,
    pub args: Vec<Bytes>,
    /// False for what only replicas get (PUBLISH, as Redis propagates it).
    pub to_aof: bool,
    /// False for what only the AOF gets (a script's `redis.set_repl`).
    pub to_replicas: bool,
}

/// Builds an argument vector from byte-ish pieces.
pub fn argv(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

impl crate::state::State {
    /// True when something consumes propagated commands (the AOF now;
    /// replicas later). Otherwise nothing is gathered: no copy per write.
    pub fn wants_propagation(&self) -> bool {
        (self.aof.is_on() || self.feeds_replicas()) && !self.loading
    }

    /// A master with a backlog feeds the stream; a replica only passes on
    /// its master's stream, byte for byte (see `replication`).
    pub fn feeds_replicas(&self) -> bool {
        self.repl.buffer.is_some() && self.repl.master.is_none()
    }
}

impl Ctx<'_> {
    /// Replays `args` (in the client's database) instead of the command itself.
    /// May be called several times; each call adds one command.
    pub fn propagate(&mut self, args: Vec<Bytes>) {
        self.client.custom_propagation = true;
        if !self.state.wants_propagation() {
            return;
        }
        self.state.propagation.pending_propagation.push(Propagated {
            db: self.client.db,
            args,
            to_aof: true,
            to_replicas: true,
        });
    }

    /// Sends `args` to the replicas only, not to the AOF (PUBLISH: replicas
    /// deliver the message to their own subscribers).
    pub fn propagate_to_replicas(&mut self, args: Vec<Bytes>) {
        self.client.custom_propagation = true;
        if !self.state.feeds_replicas() || self.state.loading {
            return;
        }
        self.state.propagation.pending_propagation.push(Propagated {
            db: self.client.db,
            args,
            to_aof: false,
            to_replicas: true,
        });
    }

    /// This call changed data but must replay nothing of its own.
    pub fn propagate_nothing(&mut self) {
        self.client.custom_propagation = true;
    }
}

/// Hands everything gathered so far to the consumers (the AOF, when on).
/// Called after each top-level command and each cron tick.
pub fn flush(state: &mut crate::state::State) {
    if state.propagation.propagated.is_empty() {
        return;
    }
    let commands = std::mem::take(&mut state.propagation.propagated);
    if state.loading {
        return;
    }
    let timestamp = state
        .config
        .aof_timestamp_enabled
        .then_some(state.now_ms / 1000);
    if let Some(aof) = state.aof.file.as_mut() {
        aof.feed(&commands, timestamp);
    }
    if state.feeds_replicas() {
        crate::replication::feed_commands(state, &commands);
    }
}

/// RESP for `commands` as a stream (the AOF, the replication stream): a
/// SELECT before each command whose database differs from `selected`, which
/// tracks the stream's database (`None`: the next command must SELECT).
pub fn encode_stream(out: &mut Vec<u8>, selected: &mut Option<usize>, commands: &[Propagated]) {
    for c in commands {
        if *selected != Some(c.db) {
            let db = Bytes::from(c.db.to_string());
            redust_resp::encode_command(out, &[Bytes::from_static(b"SELECT"), db]);
            *selected = Some(c.db);
        }
        redust_resp::encode_command(out, &c.args);
    }
}

/// Replays the deletion of an expired or evicted key: UNLINK when the
/// matching `lazyfree-lazy-*` option frees it in the background, DEL
/// otherwise, as Redis replays it (`lazy`: that option's value).
pub fn propagate_deletion(state: &mut crate::state::State, db: usize, key: &[u8], lazy: bool) {
    if !state.wants_propagation() {
        return;
    }
    let verb: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
    state.propagation.propagated.push(Propagated {
        db,
        args: argv(&[verb, key]),
        to_aof: true,
        to_replicas: true,
    });
}

/// DEL or UNLINK, for a command that deletes a key as the given
/// `lazyfree-lazy-*` option says (EXPIRE in the past, GETEX, GETDEL...).
pub fn deletion_verb(lazy: bool) -> &'static [u8] {
    if lazy {
        b"UNLINK"
    } else {
        b"DEL"
    }
}
