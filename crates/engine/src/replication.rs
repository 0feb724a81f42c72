//! Replication in the engine: feeding the replication stream, the checks
//! replication adds before a command runs (NOREPLICAS, READONLY,
//! MASTERDOWN), role changes (following a master, promotion), the start and
//! end of full syncs, replicas' acknowledgements and WAIT, the master-side
//! cron and FAILOVER's steps. The decisions are `redust_replication`'s; the
//! commands (REPLICAOF, PSYNC, ...) are in `cmd::replication`.
//!
//! The bytes travel in the server crate: a replica connection's task sends
//! the snapshot and then the stream from its position in the shared buffer
//! (`redust_replication::ReplBuffer`); our own link to a master runs the
//! handshake and applies the master's stream. This module is what those
//! tasks call, with the state lock held.

use crate::blocking::TimeoutReply;
use crate::propagate::Propagated;
use crate::state::State;
use bytes::Bytes;
use redust_persistence::ReplInfo;
use redust_replication::master::{FailoverStep, OutputLimit, SyncSettings};
use redust_replication::{LinkState, Logs, MasterLink, ReplicaState};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the master side tells a replica connection's task about its full sync.
#[derive(Debug)]
pub enum SyncMsg {
    /// Write `+FULLRESYNC <replid> <offset>`; for a diskless transfer also
    /// the `$EOF:<mark>` header.
    FullResync {
        replid: String,
        offset: u64,
        eof_mark: Option<String>,
        /// False for a SYNC (pre-PSYNC) replica: no `+FULLRESYNC` line.
        announce: bool,
    },
    /// Snapshot bytes of a diskless transfer.
    Data(Bytes),
    /// The diskless snapshot is complete: write the mark; the stream follows.
    End,
    /// The snapshot is on disk: send this file with its length.
    File(PathBuf),
    /// The snapshot failed: close the connection (the replica retries).
    Failed,
}

/// Capacity of a replica's snapshot channel: the saver waits for the
/// slowest replica instead of buffering the whole snapshot.
pub const SYNC_CHANNEL_CHUNKS: usize = 16;

/// The master side's handles on a replica connection's task.
pub struct ReplicaLink {
    pub sync: tokio::sync::mpsc::Sender<SyncMsg>,
    /// Woken when the stream grows.
    pub stream: Arc<tokio::sync::Notify>,
}

/// What the connection task takes over when PSYNC makes it a replica.
pub struct ReplicaHandoff {
    pub sync: tokio::sync::mpsc::Receiver<SyncMsg>,
    pub stream: Arc<tokio::sync::Notify>,
}

// ---- the stream ----

/// Appends commands a top-level command propagated to the stream, with
/// SELECT when the database changes.
pub fn feed_commands(state: &mut State, commands: &[Propagated]) {
    let mut out = Vec::new();
    if commands.iter().all(|c| c.to_replicas) {
        crate::propagate::encode_stream(&mut out, &mut state.repl.stream_db, commands);
    } else {
        let kept: Vec<Propagated> = commands.iter().filter(|c| c.to_replicas).cloned().collect();
        crate::propagate::encode_stream(&mut out, &mut state.repl.stream_db, &kept);
    }
    feed_raw(state, &out);
}

/// Appends bytes to the stream. The senders are woken once per batch
/// (`wake_senders`), not per command: fewer wake-ups, fewer lock takes,
/// larger writes.
pub fn feed_raw(state: &mut State, data: &[u8]) {
    if data.is_empty() || state.repl.buffer.is_none() {
        return;
    }
    state.repl.feed(data);
}

/// Wakes the replica senders if the stream grew since they were last woken.
/// Called after each batch of commands and each cron tick.
pub fn wake_senders(state: &mut State) {
    if state.repl.offset == state.repl.woken_offset {
        return;
    }
    state.repl.woken_offset = state.repl.offset;
    for link in state.repl_links.values() {
        link.stream.notify_one();
    }
}

/// A master's periodic PING in the stream (`repl-ping-replica-period`).
pub fn ping_replicas(state: &mut State) {
    // Not while shutting down: the RDB being saved records the offset.
    // Nor during a FAILOVER: the target must catch up with a still stream.
    if state.repl.master.is_none()
        && !state.repl.replicas.is_empty()
        && state.shutdown.is_none()
        && state.repl.failover.is_none()
    {
        feed_raw(state, b"*1\r\n$4\r\nPING\r\n");
    }
}

/// Sends `REPLCONF GETACK *` if a WAIT asked for acknowledgements.
pub fn send_getack_if_pending(state: &mut State) {
    if std::mem::take(&mut state.repl.getack_pending) && state.feeds_replicas() {
        feed_raw(
            state,
            b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n",
        );
    }
}

/// The replication history to record in an RDB file, if there is one.
pub fn rdb_repl_info(state: &State) -> Option<ReplInfo> {
    let repl = &state.repl;
    if repl.buffer.is_none() && repl.master.is_none() {
        return None;
    }
    Some(ReplInfo {
        stream_db: repl.stream_db.unwrap_or(0) as i64,
        id: repl.replid.clone(),
        offset: repl.offset as i64,
    })
}

/// After loading an RDB at start-up: a replica resumes its recorded history
/// (so it can ask its master for a partial resync); a master keeps it as its
/// secondary id, so that replicas that were in sync can continue.
pub fn restore_history(state: &mut State, info: &ReplInfo) {
    let (size, now) = (state.config.repl_backlog_size, state.now_ms);
    state.repl.restore_history(
        &info.id,
        info.offset as u64,
        info.stream_db as usize,
        size,
        now,
    );
}

// ---- checks before a command runs ----

/// The error replication makes a command fail with, if any, in Redis's
/// order: NOREPLICAS, READONLY, MASTERDOWN.
pub fn refuse_command(state: &State, write: bool, stale_ok: bool) -> Option<&'static str> {
    let cfg = &state.config;
    if write
        && state.repl.master.is_none()
        && cfg.min_replicas_to_write > 0
        && cfg.min_replicas_max_lag > 0
        && state
            .repl
            .good_replicas(state.now_ms, cfg.min_replicas_max_lag as u64)
            < cfg.min_replicas_to_write as usize
    {
        return Some(crate::safe_writes::NOT_ACKNOWLEDGED);
    }
    let link = state.repl.master.as_ref()?;
    if write && cfg.replica_read_only {
        return Some("READONLY You can't write against a read only replica.");
    }
    if link.state != LinkState::Connected && !cfg.replica_serve_stale_data && !stale_ok {
        return Some(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
        );
    }
    None
}

// ---- role changes ----

/// Starts following `host:port`: REPLICAOF, or `replicaof` at start-up
/// (`at_startup`: our own history is then nothing to continue, unless the
/// RDB file brings one).
pub fn set_master(state: &mut State, host: String, port: u16, at_startup: bool) {
    let was_master = state.repl.master.is_none() && !at_startup;
    let generation = state.repl.master.as_ref().map_or(0, |m| m.generation) + 1;
    if state
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.state == LinkState::Connected)
    {
        // Redis frees its master client here, caching its state; the link
        // task ends without a word (its generation is gone).
        state.log_warning("Connection with master lost.");
        state.log_notice("Caching the disconnected master state.");
    }
    // From here the log says S, as Redis's does once `masterhost` is set.
    state.log_role(b'S');
    if was_master {
        // Our own history is what we ask the new master to continue.
        state.repl.psync_possible = true;
        crate::blocking::unblock_all_for_role_change(state);
        // The replicas of a master that becomes a replica keep their links:
        // they get our new master's stream through us.
        state.log_notice(
            "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
        );
    }
    if !at_startup {
        // Redis connects at once; at start-up it does so from its cron,
        // after "Ready to accept connections" (the link task logs them then).
        state.log_notice(&format!("Connecting to MASTER {host}:{port}"));
        state.log_notice("MASTER <-> REPLICA sync started");
        state.repl.announced_link = generation;
    }
    // CONFIG GET replicaof and CONFIG REWRITE follow the running role.
    state.config.replicaof = Some((host.clone(), port));
    state.repl.master = Some(MasterLink {
        host,
        port,
        state: LinkState::Connect,
        last_io_ms: state.now_ms,
        // Never up yet (INFO shows -1).
        down_since_ms: 0,
        transfer_size: -1,
        transfer_read: 0,
        transfer_last_io_ms: 0,
        read_offset: state.repl.offset,
        generation,
    });
    for db in state.dbs.iter_mut() {
        db.delete_expired = false;
    }
    // The replica's OOM score (failures are logged there).
    let _ = crate::oom_score::apply(state);
    state.host.master_changed();
}

/// For the link task, with the state lock held, as an attempt for
/// `generation` starts: whether `set_master` already logged its first lines
/// ("Connecting to MASTER", "MASTER <-> REPLICA sync started"; answered once).
pub fn take_link_announced(state: &mut State, generation: u64) -> bool {
    std::mem::take(&mut state.repl.announced_link) == generation
}

/// Stops following a master (REPLICAOF NO ONE): a new history starts, the
/// old id stays valid for our replicas up to here.
pub fn unset_master(state: &mut State) {
    let Some(link) = state.repl.master.take() else {
        return;
    };
    state.log_role(b'M');
    // Redis's words as it frees its master client (caching it), then
    // drops the cached master (ours: the history we could continue).
    let connected = link.state == LinkState::Connected;
    if connected {
        state.log_warning("Connection with master lost.");
        state.log_notice("Caching the disconnected master state.");
    }
    if connected || state.repl.psync_possible {
        state.log_notice("Discarding previously cached master state.");
    }
    state.config.replicaof = None;
    state.repl.shift_replid();
    state.log_warning(&format!(
        "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
        state.repl.replid2, state.repl.second_offset, state.repl.replid
    ));
    state.repl.stream_db = None;
    state.repl.ensure_backlog(state.config.repl_backlog_size);
    // As Redis does: the backlog's idle time starts now. Left at whatever it
    // was (never set on a replica), the next cron freed the backlog and the
    // new id with it, before a sibling could come for a partial resync.
    state.repl.no_replicas_since_ms = state.now_ms;
    // Replicas must learn the new id; they come back with a partial resync.
    disconnect_replicas(state);
    kill_master_client(state);
    for db in state.dbs.iter_mut() {
        db.delete_expired = true;
    }
    let _ = crate::oom_score::apply(state);
    state.host.master_changed();
}

/// Closes every replica connection (their tasks clean up).
pub fn disconnect_replicas(state: &mut State) {
    for r in &state.repl.replicas {
        if let Some(h) = state.clients.handles.get(&r.client_id) {
            h.0.kill();
        }
    }
}

fn kill_master_client(state: &mut State) {
    for c in state.clients.values() {
        if c.repl.is_master {
            c.push.kill();
        }
    }
}

/// The name Redis logs for a replica: `ip:port`, `[ip]:port` for IPv6,
/// `ip:<unknown-replica-port>` when it did not say its port.
pub fn replica_name(ip: &str, port: u16) -> String {
    if port == 0 {
        format!("{ip}:<unknown-replica-port>")
    } else if ip.contains(':') && !ip.starts_with('[') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

// ---- commands ----

/// A replica acknowledged `offset`: record it and serve WAITs it satisfies.
pub fn replica_acked(state: &mut State, client_id: u64, offset: u64) {
    let now = state.now_ms;
    if let Some(r) = state.repl.replica_mut(client_id) {
        r.ack_offset = r.ack_offset.max(offset);
        r.ack_ms = now;
    }
    serve_waiting_clients(state);
}

/// Answers the WAITs whose replicas have acknowledged enough.
pub fn serve_waiting_clients(state: &mut State) {
    if state.blocking.blocked_clients == 0 {
        return;
    }
    let now = std::time::Instant::now();
    let ready: Vec<(u64, Option<i64>)> = state
        .clients
        .values()
        .filter_map(|c| match c.blocked.as_ref()?.timeout_reply {
            TimeoutReply::ReplicaAcks { offset, wanted } => {
                let acked = state.repl.acked(offset);
                (acked >= wanted).then_some((c.id, Some(acked as i64)))
            }
            TimeoutReply::HeldReply { offset } => {
                crate::safe_writes::may_acknowledge(state, offset, now).then_some((c.id, None))
            }
            _ => None,
        })
        .collect();
    for (id, acked) in ready {
        let Some(mut client) = state.clients.remove(&id) else {
            continue;
        };
        let held = client
            .blocked
            .as_mut()
            .map(|b| std::mem::take(&mut b.held))
            .unwrap_or_default();
        crate::blocking::unblock(state, &mut client);
        let bytes = match acked {
            Some(n) => {
                let mut reply = redust_resp::Reply::new(client.resp3);
                reply.int(n);
                reply.buf
            }
            // A safe-mode write: its own reply, now acknowledged.
            None => held,
        };
        client.push.send_data(Bytes::from(bytes));
        client.push.wake();
        state.clients.insert(id, client);
    }
}

// ---- full syncs (called by the server's cron) ----

/// Starts a snapshot for the replicas waiting for one, when no other
/// snapshot runs and the diskless delay has passed.
pub fn start_pending_syncs(state: &mut State) {
    let settings = SyncSettings {
        diskless: state.config.repl_diskless_sync,
        delay_ms: state.config.repl_diskless_sync_delay as i64 * 1000,
        max_replicas: state.config.repl_diskless_sync_max_replicas as usize,
    };
    let Some(plan) = state
        .repl
        .plan_full_sync(state.now_ms, settings, state.rdb.bgsave_running())
    else {
        return;
    };
    let purpose = if plan.diskless {
        crate::persist::SnapshotPurpose::ReplicaSockets
    } else {
        crate::persist::SnapshotPurpose::Rdb
    };
    state.log_notice(&format!(
        "Starting BGSAVE for SYNC with target: {}",
        if plan.diskless {
            "replicas sockets"
        } else {
            "disk"
        }
    ));
    // The snapshot is the data at this offset (taken before the stream's
    // database is forgotten, as a master restarts the stream with a SELECT).
    let path = crate::persist::rdb_path(state);
    let (replid, offset) = state.repl.begin_full_sync(&plan);
    if crate::persist::snapshot_start(state, purpose, path).is_err() {
        state.log_warning("BGSAVE for replication failed");
        for id in &plan.targets {
            fail_sync(state, *id);
        }
        return;
    }
    if let Some(bg) = state.rdb.bgsave.as_mut() {
        bg.replicas = plan.targets.clone();
    }
    for id in plan.targets {
        let eof_mark = plan.diskless.then(|| state.repl.new_id());
        if let Some(link) = state.repl_links.get(&id) {
            let _ = link.sync.try_send(SyncMsg::FullResync {
                replid: replid.clone(),
                offset,
                eof_mark,
                announce: state.repl.replica(id).is_some_and(|r| r.psync),
            });
        }
    }
}

/// Writes the log lines a replication decision returned.
pub fn write_logs(state: &State, logs: Logs) {
    for (level, line) in logs {
        state.host.log(level, &line);
    }
}

fn fail_sync(state: &mut State, id: u64) {
    if let Some(link) = state.repl_links.get(&id) {
        let _ = link.sync.try_send(SyncMsg::Failed);
    }
}

/// The senders of the replicas a diskless snapshot streams to (the saver
/// thread sends to them without the lock).
pub fn diskless_targets(state: &State) -> Vec<tokio::sync::mpsc::Sender<SyncMsg>> {
    let Some(bg) = state.rdb.bgsave.as_ref() else {
        return Vec::new();
    };
    bg.replicas
        .iter()
        .filter_map(|id| state.repl_links.get(id).map(|l| l.sync.clone()))
        .collect()
}

/// A diskless snapshot ended (its bytes and end marks are already sent).
pub fn diskless_sync_done(state: &mut State, replicas: &[u64], ok: bool) {
    if ok {
        let up: Vec<u64> = replicas
            .iter()
            .copied()
            .filter(|id| state.repl_links.contains_key(id))
            .collect();
        state.log_warning(&format!(
            "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
            up.len()
        ));
        state.log_notice("Background RDB transfer terminated with success");
        // As Redis, at the end of the transfer: each replica counts as in
        // sync now, though its stream starts with its first ACK
        // (`socket_replica_acked`).
        for id in up {
            let Some(r) = state.repl.replica(id) else {
                continue;
            };
            let name = replica_name(&r.ip, r.listening_port);
            state.log_notice(&format!(
                "Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"
            ));
            state.log_notice(&format!("Synchronization with replica {name} succeeded"));
        }
    } else {
        state.log_warning("Background transfer error");
        for id in replicas {
            fail_sync(state, *id);
        }
    }
}

/// A disk snapshot for replicas ended: they send the file, or give up.
pub fn disk_sync_done(state: &mut State, replicas: &[u64], path: &Path, ok: bool) {
    for id in replicas {
        if let Some(link) = state.repl_links.get(id) {
            let msg = if ok {
                SyncMsg::File(path.to_path_buf())
            } else {
                SyncMsg::Failed
            };
            let _ = link.sync.try_send(msg);
        }
    }
}

/// A replica's transfer completed: it gets the live stream from now on.
pub fn replica_online(state: &mut State, client_id: u64) {
    if let Some(name) = mark_online(state, client_id) {
        state.log_notice(&format!("Synchronization with replica {name} succeeded"));
    }
}

/// A replica that loaded a streamed snapshot sent its first ACK: it gets
/// the live stream from now on (its success was logged with the end of
/// the transfer, `diskless_sync_done`).
pub fn socket_replica_acked(state: &mut State, client_id: u64) {
    mark_online(state, client_id);
}

/// Puts a replica online; returns its name.
fn mark_online(state: &mut State, client_id: u64) -> Option<String> {
    let now = state.now_ms;
    let r = state.repl.replica_mut(client_id)?;
    r.state = ReplicaState::Online;
    r.ack_ms = now;
    Some(replica_name(&r.ip, r.listening_port))
}

/// A replica connection closed.
pub fn replica_gone(state: &mut State, client_id: u64) {
    let Some(r) = state.repl.replica(client_id) else {
        return;
    };
    let name = replica_name(&r.ip, r.listening_port);
    state.log_warning(&format!("Connection with replica {name} lost."));
    state.repl.remove_replica(client_id, state.now_ms);
    state.repl_links.remove(&client_id);
    state.repl.trim();
}

/// Master-side housekeeping, once per cron tick: replicas silent for longer
/// than `repl-timeout` are dropped, the backlog is freed after
/// `repl-backlog-ttl` without replicas, and the stream is trimmed.
/// Whether replica `id` is past the `replica` class of
/// client-output-buffer-limit: the stream it has not been sent yet (Redis
/// counts the same bytes) over the hard limit, or over the soft limit for
/// longer than its seconds.
pub fn replica_over_limit(state: &mut State, id: u64, now: i64) -> bool {
    let limit = state.config.client_output_buffer_limit.replica;
    let limit = OutputLimit {
        hard: limit.hard,
        soft: limit.soft,
        soft_seconds: limit.soft_seconds as u64,
    };
    state.repl.replica_over_limit(id, now, limit)
}

/// Redis's line for a replica closed over its output-buffer limit.
pub fn log_replica_obuf_limit(state: &State, id: u64) {
    let info = state
        .clients
        .get(&id)
        .map(|c| crate::client_info::client_info_line(state, c))
        .unwrap_or_default();
    state.log_warning(&format!(
        "Client {info} scheduled to be closed ASAP for overcoming of output buffer limits."
    ));
}

pub fn master_cron(state: &mut State) {
    let now = state.now_ms;
    // A replica that stopped reading is closed by its limit even though
    // its sender, stuck writing, no longer checks it.
    let ids: Vec<u64> = state.repl.replicas.iter().map(|r| r.client_id).collect();
    for id in ids {
        if replica_over_limit(state, id, now) {
            if let Some(h) = state.clients.handles.get(&id) {
                if !h.0.killed.load(std::sync::atomic::Ordering::Relaxed) {
                    log_replica_obuf_limit(state, id);
                    h.0.kill();
                }
            }
        }
    }
    let timeout_ms = state.config.repl_timeout as i64 * 1000;
    for r in state.repl.timed_out_replicas(now, timeout_ms) {
        let name = replica_name(&r.ip, r.listening_port);
        state.log_warning(&format!(
            "Disconnecting timedout replica (streaming sync): {name}"
        ));
        if let Some(h) = state.clients.handles.get(&r.client_id) {
            h.0.kill();
        }
    }
    let ttl = state.config.repl_backlog_ttl as i64 * 1000;
    if state.repl.expire_backlog(now, ttl) {
        state.log_notice(&format!(
            "Replication backlog freed after {} seconds without connected replicas.",
            state.config.repl_backlog_ttl
        ));
    }
    if let Some(b) = state.repl.buffer.as_mut() {
        if b.backlog_size() != state.config.repl_backlog_size {
            b.set_backlog_size(state.config.repl_backlog_size);
        }
    }
    state.repl.trim();
}

// ---- FAILOVER ----

fn failover_target_name(f: &redust_replication::Failover) -> String {
    match &f.target {
        Some((h, p)) => format!("{h}:{p}"),
        None => "any replica".into(),
    }
}

fn end_failover_pause(state: &mut State) {
    state.repl.failover = None;
    state.set_pause(None);
}

/// Gives up a FAILOVER; if we already follow the target, we become a
/// master again.
pub fn abort_failover(state: &mut State, why: &str) {
    let Some(f) = state.repl.failover.clone() else {
        return;
    };
    if f.in_progress {
        unset_master(state);
    }
    state.log_notice(&format!(
        "FAILOVER to {} aborted: {why}",
        failover_target_name(&f)
    ));
    end_failover_pause(state);
}

/// Drives a FAILOVER, once per cron tick.
pub fn failover_cron(state: &mut State) {
    let now = state.now_ms;
    let (host, port, timed_out) = match state.repl.failover_step(now) {
        FailoverStep::Wait => return,
        FailoverStep::Abort(why) => {
            abort_failover(state, why);
            return;
        }
        FailoverStep::Switch {
            host,
            port,
            timed_out,
        } => (host, port, timed_out),
    };
    if timed_out {
        state.log_notice(&format!(
            "FAILOVER to {host}:{port} time out exceeded, failing over."
        ));
    } else {
        state.log_notice(&format!(
            "Failover target {host}:{port} is synced, failing over."
        ));
    }
    let timeout_ms = state.config.repl_timeout as i64 * 1000;
    state
        .repl
        .begin_failover_switch(&host, port, now, timeout_ms);
    set_master(state, host, port, false);
}

/// Our link to the failover target is up: the switch is complete.
pub fn failover_link_up(state: &mut State) {
    if state.repl.failover.as_ref().is_some_and(|f| f.in_progress) {
        end_failover_pause(state);
    }
}

/// Whether our PSYNC must ask the master to take over (`FAILOVER`).
pub fn failover_psync(state: &State) -> bool {
    state.repl.failover.as_ref().is_some_and(|f| f.in_progress)
}

// ---- our link to a master (the server's link task calls these) ----

/// Our link to the master broke: marks it down (if `generation` is still
/// the current master) and drops the master client. Returns whether it
/// announced the next attempt ("Reconnecting to MASTER …").
pub fn master_link_lost(state: &mut State, generation: u64) -> bool {
    let ids: Vec<u64> = state
        .clients
        .values()
        .filter(|c| c.repl.is_master)
        .map(|c| c.id)
        .collect();
    for id in ids {
        if let Some(mut c) = state.clients.remove(&id) {
            state.disconnect(&mut c);
        }
    }
    let now = state.now_ms;
    let Some(m) = state.repl.master.as_mut() else {
        return false;
    };
    if m.generation != generation || m.state == LinkState::Connect {
        return false;
    }
    let was_connected = m.state == LinkState::Connected;
    m.state = LinkState::Connect;
    if !was_connected {
        return false;
    }
    m.down_since_ms = now;
    let target = format!("{}:{}", m.host, m.port);
    state.log_warning("Connection with master lost.");
    state.log_notice("Caching the disconnected master state.");
    state.repl.psync_possible = true;
    state.log_notice(&format!("Reconnecting to MASTER {target}"));
    true
}

/// Runs every whole command in `rbuf` as the master client `client_id`
/// (`read`: bytes received since the last call), and passes the same bytes
/// on to our own replicas. Returns the offset to acknowledge now if the
/// master asked (`REPLCONF GETACK`), or the protocol error that ends the
/// link.
pub fn apply_master_stream(
    state: &mut State,
    rbuf: &mut bytes::BytesMut,
    client_id: u64,
    read: u64,
) -> Result<Option<u64>, String> {
    use redust_resp::{parse_request, ParseLimits, Reply};
    let raw = rbuf.to_vec();
    let mut used = 0usize;
    let mut ack = None;
    let now = state.now_ms;
    if let Some(m) = state.repl.master.as_mut() {
        m.read_offset += read;
        if read > 0 {
            m.last_io_ms = now;
        }
    }
    let Some(mut client) = state.clients.remove(&client_id) else {
        return Err(String::new());
    };
    let limits = ParseLimits {
        max_bulk_bytes: i64::MAX,
        authenticated: true,
    };
    let mut reply = Reply::new(false);
    for db in state.dbs.iter_mut() {
        db.ignore_expiry = true;
    }
    let result = loop {
        let before = rbuf.len();
        match parse_request(rbuf, limits) {
            Ok(Some(req)) => {
                let n = before - rbuf.len();
                let args = req.args;
                let getack = args.len() >= 2
                    && args[0].eq_ignore_ascii_case(b"replconf")
                    && args[1].eq_ignore_ascii_case(b"getack");
                if getack {
                    ack = Some(state.repl.offset);
                } else if !args.is_empty() {
                    crate::exec::execute(state, &mut client, &args, &mut reply);
                    reply.buf.clear();
                }
                feed_raw(state, &raw[used..used + n]);
                if state.repl.buffer.is_none() {
                    state.repl.offset += n as u64;
                }
                used += n;
            }
            Ok(None) => break Ok(ack),
            Err(e) => break Err(format!("Protocol error from master: {}", e.0)),
        }
    };
    for db in state.dbs.iter_mut() {
        db.ignore_expiry = false;
    }
    state.repl.stream_db = Some(client.db);
    state.clients.insert(client_id, client);
    crate::aof::write_after_batch(state);
    wake_senders(state);
    result
}

/// A full sync's snapshot, loaded: what it continues.
pub struct FullSync<'a> {
    /// The master's `+FULLRESYNC` id and offset.
    pub replid: &'a str,
    pub offset: u64,
    pub backlog_size: u64,
    /// We had asked for a partial resync (a cached master is dropped now).
    pub cached: bool,
    /// `repl-diskless-load swapdb`: the old data was kept aside until now.
    pub swapdb: bool,
}

/// Puts a full sync's loaded databases in place of ours and adopts the
/// master's history; our own replicas must sync again, and the AOF (if on)
/// is rewritten to hold the new dataset.
pub fn install_full_sync(
    state: &mut State,
    dbs: Vec<redust_keyspace::Db>,
    stats: crate::persist::LoadStats,
    sync: FullSync,
) {
    // The old dataset goes as `replica-lazy-flush` says (lazyfree counters).
    let old_keys = state.dbs.iter().map(|d| d.len() as u64).sum();
    let lazy = state.config.replica_lazy_flush;
    crate::lazyfree::db_flushed(state, old_keys, lazy);
    crate::persist::install(state, dbs);
    crate::scripting::install_libraries(state, &stats.functions);
    state
        .repl
        .adopt_master_history(sync.replid, sync.offset, sync.backlog_size);
    // The master's stream goes on in the database it was in at the
    // snapshot (a sub-master cannot send a SELECT of its own).
    state.repl.stream_db = Some(
        stats
            .repl
            .as_ref()
            .map_or(0, |r| r.stream_db.max(0) as usize),
    );
    // Our replicas followed the old history: they must sync again.
    disconnect_replicas(state);
    state.log_notice(&format!(
        "Done loading RDB, keys loaded: {}, keys expired: {}.",
        stats.keys_loaded, stats.keys_expired
    ));
    state.rdb.last_load = stats;
    if let Some(m) = state.repl.master.as_mut() {
        m.read_offset = sync.offset;
    }
    if sync.swapdb {
        if sync.cached {
            state.log_notice("Discarding previously cached master state.");
        }
        state.log_notice("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
        state.log_notice("MASTER <-> REPLICA sync: Discarding old DB in background");
    }
    if state.aof.is_on() {
        // The AOF must hold the new dataset: rewrite it.
        state.aof.rewrite_scheduled = true;
    }
}

/// The master accepted our partial resync (`+CONTINUE`, with its id if it
/// named one): a new id means it was promoted, and our own replicas must
/// learn it (they come back partially).
pub fn partial_resync_accepted(state: &mut State, new_replid: Option<&str>) {
    if let Some(new_id) = new_replid {
        if new_id != state.repl.replid {
            state.repl.master_changed_replid(new_id);
            state.log_warning(&format!("Master replication ID changed to {new_id}"));
            disconnect_replicas(state);
        }
    }
    let size = state.config.repl_backlog_size;
    state.repl.ensure_backlog(size);
    state.log_notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
}

/// Our link to the master (`generation`) streams now: the master client
/// that applies the stream is connected (in the database the stream is
/// in), the link is up, and a FAILOVER waiting for it is complete. Returns
/// the master client's id and its kill signal; `None` if the master
/// changed meanwhile.
pub fn master_link_up(
    state: &mut State,
    generation: u64,
    addr: String,
    laddr: String,
    fd: i32,
) -> Option<(u64, std::sync::Arc<tokio::sync::Notify>)> {
    let now = state.now_ms;
    let (mut client, _rx) = state.connect(addr, laddr, fd, now);
    client.repl.is_master = true;
    client.authenticated = true;
    client.user = None;
    client.db = state
        .repl
        .stream_db
        .filter(|&db| db < state.dbs.len())
        .unwrap_or(0);
    let id = client.id;
    let kill = client.push.kill_notify.clone();
    state.clients.insert(id, client);
    let m = state.repl.master.as_mut()?;
    if m.generation != generation {
        return None;
    }
    m.state = LinkState::Connected;
    m.last_io_ms = now;
    state.repl.psync_possible = true;
    failover_link_up(state);
    Some((id, kill))
}

/// Copies into `buf` up to `max` bytes of the stream that replica `id` has
/// not been sent yet, and moves its position past them. `false`: the
/// replica must be closed (it is gone, or past its output-buffer limit,
/// with Redis's line; its buffer is our shared stream, trimmed past it).
pub fn next_stream_chunk(
    state: &mut State,
    id: u64,
    now: i64,
    max: usize,
    buf: &mut Vec<u8>,
) -> bool {
    let repl = &mut state.repl;
    let Some(buffer) = repl.buffer.as_ref() else {
        return false;
    };
    let Some(position) = repl.replica(id).map(|r| r.position) else {
        return false;
    };
    if !buffer.holds(position) {
        log_replica_obuf_limit(state, id);
        return false;
    }
    let n = buffer.read(position, max, buf);
    if let Some(record) = repl.replica_mut(id) {
        record.position += n as u64;
    }
    if replica_over_limit(state, id, now) {
        log_replica_obuf_limit(state, id);
        return false;
    }
    state.repl.trim();
    true
}
