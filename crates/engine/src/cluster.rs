//! The engine's side of Cluster: the node's cluster machine
//! (`redust-cluster`) kept in the `State`, where each command's keys must
//! go (Redis's `getNodeByQuery`: MOVED, ASK, TRYAGAIN, CROSSSLOT,
//! CLUSTERDOWN), and the machine's actions that touch this node — follow a
//! master, deliver a peer's PUBLISH, write nodes.conf, log — while the bus
//! I/O ones wait in an outbox for the server's shell.

use crate::errors::CmdError;
use crate::exec::{flags, Command, KeyRouter, KeyShape};
use crate::state::{Client, State};
use bytes::Bytes;
use redust_cluster::state::{Action, Cluster, LinkId, LogLevel};
use redust_cluster::{key_slot, SlotBitmap};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The cluster machine and what waits for the shell.
pub struct ClusterNode {
    pub machine: Cluster,
    /// Bus actions (connect, send, close) for the shell.
    pub outbox: Vec<Action>,
    /// Wakes the shell when the outbox has something.
    pub wake: Arc<tokio::sync::Notify>,
    /// nodes.conf.
    pub config_path: PathBuf,
    /// The slots this node's shard served when last looked at: a slot that
    /// leaves it ends the shard-channel subscriptions hashing to it.
    pub shard_slots: SlotBitmap,
    /// Bytes waiting to be written on each bus link (the shell keeps them):
    /// CLUSTER LINKS's send buffers and `cluster-link-sendbuf-limit`.
    pub link_queues: HashMap<LinkId, Arc<AtomicU64>>,
    /// What nodes.conf holds, as last written.
    pub last_saved: String,
    /// The open nodes.conf holding our exclusive lock (see [`lock_config`]).
    pub lock: Option<std::fs::File>,
}

impl ClusterNode {
    pub fn new(machine: Cluster, config_path: PathBuf) -> ClusterNode {
        let shard_slots = shard_slots(&machine).clone();
        ClusterNode {
            machine,
            outbox: Vec::new(),
            wake: Arc::new(tokio::sync::Notify::new()),
            config_path,
            shard_slots,
            link_queues: HashMap::new(),
            last_saved: String::new(),
            lock: None,
        }
    }

    /// Memory the bus links hold: each link's read buffers (the shell's
    /// 16 KiB chunk and 4 KiB frame buffer) and what waits to be written.
    pub fn links_memory(&self) -> u64 {
        self.link_queues
            .values()
            .map(|q| 20 * 1024 + q.load(Ordering::Relaxed))
            .sum()
    }

    /// What link `link` has waiting to be written, in bytes.
    pub fn link_queued(&self, link: LinkId) -> u64 {
        self.link_queues
            .get(&link)
            .map_or(0, |q| q.load(Ordering::Relaxed))
    }
}

/// The slots of this node's shard: its own, or its master's.
fn shard_slots(machine: &Cluster) -> &SlotBitmap {
    let me = machine.me();
    let master = me.master.as_ref().and_then(|m| machine.nodes.get(m));
    &master.unwrap_or(me).slots
}

/// Applies the machine's actions: this node's ones here, the bus ones
/// queued for the shell.
pub fn apply(state: &mut State, actions: Vec<Action>) {
    let mut woke = false;
    for action in actions {
        match action {
            Action::SaveConfig { fsync } => {
                if let Err(e) = save_config(state, fsync) {
                    state.log_warning(&format!("Could not save cluster config: {e}"));
                }
            }
            Action::Log { level, text } => match level {
                LogLevel::Warning => state.log_warning(&text),
                LogLevel::Notice => state.log_notice(&text),
                LogLevel::Verbose => state.log_verbose(&text),
            },
            Action::ReplicaOf { master } => match master {
                Some((host, port)) => crate::replication::set_master(state, host, port, false),
                None => crate::replication::unset_master(state),
            },
            Action::Deliver {
                shard,
                channel,
                message,
            } => {
                if shard {
                    crate::pubsub::publish_shard(state, &channel, &message);
                } else {
                    crate::pubsub::publish(state, &channel, &message);
                }
            }
            Action::PauseWrites { until_ms } => pause_writes(state, until_ms),
            Action::DropSlotKeys { slots } => drop_slot_keys(state, &slots),
            Action::ForgetShardChannels { slot } => {
                crate::pubsub::unsubscribe_shard_slots(state, |s| s == slot)
            }
            bus @ (Action::Connect { .. } | Action::Send { .. } | Action::Close { .. }) => {
                if let Some(c) = state.cluster.as_mut() {
                    c.outbox.push(bus);
                    woke = true;
                }
            }
        }
    }
    if woke {
        if let Some(c) = &state.cluster {
            c.wake.notify_one();
        }
    }
    let gone = state.cluster.as_mut().and_then(|c| {
        let now = shard_slots(&c.machine);
        if *now == c.shard_slots {
            return None;
        }
        let before = std::mem::replace(&mut c.shard_slots, now.clone());
        let now = &c.shard_slots;
        let gone: Vec<bool> = (0..redust_cluster::SLOTS)
            .map(|s| before.get(s) && !now.get(s))
            .collect();
        gone.contains(&true).then_some(gone)
    });
    if let Some(gone) = gone {
        crate::pubsub::unsubscribe_shard_slots(state, |slot| gone[slot as usize]);
    }
}

/// Deletes the keys in `slots` (Redis's delKeysInSlot): each deletion is
/// replicated and signalled like any server-side one.
fn drop_slot_keys(state: &mut State, slots: &[u16]) {
    let lazy = state.config.lazyfree_lazy_server_del;
    for &slot in slots {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        state.dbs[0].for_each_in_slot(slot as usize, |k| keys.push(k.to_vec()));
        for key in keys {
            if let Some(old) = state.dbs[0].remove(&key) {
                crate::lazyfree::value_freed(state, old.value(), lazy);
                crate::propagate::propagate_deletion(state, 0, &key, lazy);
                crate::notify::signal_modified(state, 0, &key);
                crate::notify::notify(state, crate::notify::GENERIC, "del", &key, 0);
            }
        }
    }
    // Only the bus asks for this, outside any command: hand the deletions
    // to the AOF and the replicas now.
    crate::propagate::flush(state);
}

/// A manual failover pauses (or resumes, with 0) this master's writes.
fn pause_writes(state: &mut State, until_ms: i64) {
    if until_ms == 0 {
        if state.pause.is_some_and(|p| p.writes_only) {
            state.set_pause(None);
        }
    } else {
        state.set_pause(Some(crate::state::Pause {
            until_ms,
            writes_only: true,
        }));
    }
}

/// How long a replica has been without its master (ms): since the last
/// thing it heard, or since its link went down.
pub fn replica_data_age(state: &State, now: i64) -> i64 {
    match &state.repl.master {
        Some(m) if m.state == redust_replication::LinkState::Connected => now - m.last_io_ms,
        Some(m) => now - m.down_since_ms,
        None => 0,
    }
}

/// Writes nodes.conf. A save the machine asks to sync (epochs, votes:
/// what must survive a power cut before anything acts on it) goes to a
/// temp file, fsync, rename, directory fsync, so a crash leaves the old
/// file or the new one. Other saves (a resharding makes several per slot)
/// are written over the file in place, as Redis 7.0 writes all of them:
/// padded with newlines to the old length so that a process dying
/// mid-save leaves a readable file, then truncated. A save that would
/// write what is already there is skipped.
pub fn save_config(state: &mut State, fsync: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::FileExt;
    let Some(c) = state.cluster.as_mut() else {
        return Ok(());
    };
    let text = c.machine.conf().format();
    if !fsync && c.last_saved == text {
        return Ok(());
    }
    let path = &c.config_path;
    if !fsync {
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(path) {
            let old_len = f.metadata()?.len() as usize;
            let mut bytes = text.clone().into_bytes();
            if bytes.len() < old_len {
                bytes.resize(old_len, b'\n');
            }
            f.write_all_at(&bytes, 0)?;
            f.set_len(text.len() as u64)?;
            c.last_saved = text;
            return Ok(());
        }
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        if fsync {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if fsync {
            if let Some(dir) = path.parent() {
                if let Ok(d) = std::fs::File::open(if dir.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    dir
                }) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(())
    })();
    match &result {
        Ok(()) => {
            c.last_saved = text;
            // The rename put a new file in place: the lock moves to it.
            match lock_config(path) {
                Ok(f) => c.lock = Some(f),
                Err(e) => state.log_warning(&e),
            }
        }
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    result
}

/// Takes the exclusive lock Redis 7.0 takes on nodes.conf (creating the
/// file if need be), so that two nodes never share one: the second is
/// refused with Redis's message. The file stays open to keep the lock.
pub fn lock_config(path: &std::path::Path) -> Result<std::fs::File, String> {
    use std::os::unix::io::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            format!(
                "Can't open {} in order to acquire a lock: {e}",
                path.display()
            )
        })?;
    // SAFETY: flock on a descriptor this function owns; no memory is shared.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == -1 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(format!(
                "Sorry, the cluster configuration file {} is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files.",
                path.display()
            ));
        }
        return Err(format!("Impossible to lock {}: {e}", path.display()));
    }
    Ok(f)
}

/// Where a refused command is sent.
enum Redirect {
    CrossSlot,
    Unstable,
    Down,
    DownReadOnly,
    Unbound,
    Moved(u16, String),
    Ask(u16, String),
}

impl Redirect {
    fn error(self) -> CmdError {
        CmdError::from(match self {
            Redirect::CrossSlot => "CROSSSLOT Keys in request don't hash to the same slot".into(),
            Redirect::Unstable => "TRYAGAIN Multiple keys request during rehashing of slot".into(),
            Redirect::Down => "CLUSTERDOWN The cluster is down".into(),
            Redirect::DownReadOnly => {
                "CLUSTERDOWN The cluster is down and only accepts read commands".into()
            }
            Redirect::Unbound => "CLUSTERDOWN Hash slot not served".into(),
            Redirect::Moved(slot, at) => format!("MOVED {slot} {at}"),
            Redirect::Ask(slot, at) => format!("ASK {slot} {at}"),
        })
    }
}

/// A node's preferred endpoint (`cluster-preferred-endpoint-type`): its
/// IP, its hostname (`?` when it has none), or nothing (unknown-endpoint).
pub fn preferred_endpoint(
    state: &State,
    c: &Cluster,
    n: &redust_cluster::state::Node,
) -> Option<String> {
    match state.config.cluster_preferred_endpoint_type {
        redust_config::ClusterPreferredEndpointType::Ip => Some(c.line(n).ip),
        redust_config::ClusterPreferredEndpointType::Hostname => Some(if n.hostname.is_empty() {
            "?".into()
        } else {
            n.hostname.clone()
        }),
        redust_config::ClusterPreferredEndpointType::UnknownEndpoint => None,
    }
}

/// `endpoint:port` of a node as clients are sent to it.
fn endpoint(state: &State, c: &Cluster, id: &str) -> String {
    let Some(n) = c.nodes.get(id) else {
        return ":0".into();
    };
    let host = preferred_endpoint(state, c, n).unwrap_or_default();
    format!("{host}:{}", n.port)
}

/// The arguments a command is routed by: its keys, or the channels of
/// sharded pub/sub.
fn routed_positions(cmd: &Command, argv: &[Bytes]) -> Vec<usize> {
    match cmd.name.as_str() {
        "spublish" => vec![1],
        "ssubscribe" | "sunsubscribe" => (1..argv.len()).collect(),
        _ => crate::spec::key_positions(cmd.spec, argv)
            .into_iter()
            .map(|k| k.pos)
            .collect(),
    }
}

/// The slot of a command's first key (or shard channel), if it has one.
pub fn command_slot(cmd: &Command, argv: &[Bytes]) -> Option<u16> {
    let pos = *routed_positions(cmd, argv).first()?;
    argv.get(pos).map(|k| key_slot(k))
}

/// Routes commands by their keys' slots.
pub struct Router;

/// What the keys of a command (or a transaction) say about routing it.
#[derive(Default)]
struct KeysSeen {
    /// The slot of the first key.
    slot: u16,
    /// Several different keys (all of that slot).
    multiple_keys: bool,
    migrating: bool,
    importing: bool,
    /// Keys present / absent here, counted only in a slot in migration.
    existing: usize,
    missing: usize,
}

impl KeysSeen {
    /// The first key: its slot, and whether that slot is moving.
    fn first(c: &Cluster, slot: u16) -> Result<KeysSeen, Redirect> {
        let mut seen = KeysSeen {
            slot,
            ..KeysSeen::default()
        };
        let mine = c.owners.is_mine(slot as usize);
        if !mine && c.owners[slot as usize].is_none() {
            return Err(Redirect::Unbound);
        }
        // Most of the time no slot is moving: skip the lookups.
        if c.migrating.is_empty() && c.importing.is_empty() {
            return Ok(seen);
        }
        if mine && c.migrating.contains_key(&slot) {
            seen.migrating = true;
        } else if c.importing.contains_key(&slot) {
            seen.importing = true;
        }
        Ok(seen)
    }

    /// Counts `key` as present or not, when its slot is moving (a
    /// channel moves with its slot only at SETSLOT NODE).
    fn count_presence(&mut self, state: &State, key: &[u8], channel: bool) {
        if (self.migrating || self.importing) && !channel {
            let db = &state.dbs[0];
            if db.peek(key).is_some() && !db.is_expired(key, state.now_ms) {
                self.existing += 1;
            } else {
                self.missing += 1;
            }
        }
    }
}

fn is_shard_pubsub(name: &str) -> bool {
    matches!(name, "spublish" | "ssubscribe" | "sunsubscribe")
}

/// The keys of every command in `lines`: all of one slot, or CROSSSLOT;
/// `None` when there are none.
fn gather_keys(
    state: &State,
    c: &Cluster,
    lines: &[(&Command, &[Bytes])],
) -> Result<Option<KeysSeen>, Redirect> {
    let mut seen: Option<KeysSeen> = None;
    let mut first_key: &[u8] = &[];
    for (cmd, argv) in lines {
        let channel = is_shard_pubsub(&cmd.name);
        for pos in routed_positions(cmd, argv) {
            let Some(key) = argv.get(pos) else { continue };
            let slot = key_slot(key);
            match seen.as_mut() {
                None => {
                    first_key = key;
                    seen = Some(KeysSeen::first(c, slot)?);
                }
                Some(s) => {
                    if first_key != &key[..] {
                        if s.slot != slot {
                            return Err(Redirect::CrossSlot);
                        }
                        s.multiple_keys = true;
                    }
                }
            }
            if let Some(s) = seen.as_mut() {
                s.count_presence(state, key, channel);
            }
        }
    }
    Ok(seen)
}

impl KeyRouter for Router {
    fn route(
        &self,
        state: &State,
        client: &Client,
        command: &Command,
        args: &[Bytes],
    ) -> Option<CmdError> {
        let c = &state.cluster.as_ref()?.machine;
        if state.loading {
            return None;
        }
        let is_exec = command.name == "exec";
        let seen = match command.key_shape {
            // Most commands: one key, no allocation.
            KeyShape::Single(pos) if !is_exec => {
                let key = args.get(pos)?;
                KeysSeen::first(c, key_slot(key)).map(|mut s| {
                    s.count_presence(state, key, false);
                    Some(s)
                })
            }
            KeyShape::None if !is_exec && !is_shard_pubsub(&command.name) => return None,
            _ if is_exec => {
                // A transaction is routed as a whole, with its queued commands.
                let queue = client.multi.as_ref()?;
                let table = &state.commands;
                let lines: Vec<(&Command, &[Bytes])> = queue
                    .iter()
                    .filter_map(|q| crate::exec::resolve(table, q).ok().map(|c| (c, &q[..])))
                    .collect();
                gather_keys(state, c, &lines)
            }
            _ => gather_keys(state, c, &[(command, args)]),
        };
        let seen = match seen {
            Ok(Some(seen)) => seen,
            Ok(None) => return None,
            Err(redirect) => return Some(redirect.error()),
        };
        decide(state, c, client, command, args, seen).map(Redirect::error)
    }
}

/// Whether the command (or the transaction EXEC runs) writes.
fn writes(state: &State, client: &Client, command: &Command, args: &[Bytes]) -> bool {
    let one = |c: &Command, a: &[Bytes]| {
        c.is(flags::WRITE) || crate::scripting::script_writes(state, &c.name, a)
    };
    if command.name != "exec" {
        return one(command, args);
    }
    let Some(queue) = client.multi.as_ref() else {
        return false;
    };
    queue.iter().any(|q| {
        crate::exec::resolve(&state.commands, q)
            .ok()
            .is_some_and(|c| one(c, q))
    })
}

/// Redis's getNodeByQuery once the keys are known: served here, or where
/// the client must go.
fn decide(
    state: &State,
    c: &Cluster,
    client: &Client,
    command: &Command,
    args: &[Bytes],
    seen: KeysSeen,
) -> Option<Redirect> {
    let slot = seen.slot;
    let shard_pubsub = is_shard_pubsub(&command.name);
    if !c.state_ok {
        if shard_pubsub {
            if !state.config.cluster_allow_pubsubshard_when_down {
                return Some(Redirect::Down);
            }
        } else if !state.config.cluster_allow_reads_when_down {
            return Some(Redirect::Down);
        }
        if writes(state, client, command, args) {
            return Some(Redirect::DownReadOnly);
        }
    }
    let moving = seen.migrating || seen.importing;
    if moving && command.name == "migrate" {
        return None;
    }
    if seen.migrating && seen.missing > 0 {
        if seen.existing > 0 {
            return Some(Redirect::Unstable);
        }
        let to = c.migrating.get(&slot)?;
        return Some(Redirect::Ask(slot, endpoint(state, c, to)));
    }
    if seen.importing && (client.asking || command.spec.has_flag("asking")) {
        if seen.multiple_keys && seen.missing > 0 {
            return Some(Redirect::Unstable);
        }
        return None;
    }
    if c.owners.is_mine(slot as usize) {
        return None;
    }
    let owner = c.owners[slot as usize].as_deref()?;
    if (client.readonly || shard_pubsub)
        && c.me().master.as_deref() == Some(owner)
        && !writes(state, client, command, args)
    {
        return None;
    }
    Some(Redirect::Moved(slot, endpoint(state, c, owner)))
}

/// INFO's `# Cluster` section.
pub fn info_section(state: &State) -> String {
    format!(
        "# Cluster\r\ncluster_enabled:{}\r\n",
        u8::from(state.config.cluster_enabled)
    )
}
