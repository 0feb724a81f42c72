//! Replication in the command layer: the commands (REPLICAOF, REPLCONF,
//! PSYNC/SYNC, ROLE, WAIT), the checks replication adds before a command runs
//! (NOREPLICAS, READONLY, MASTERDOWN), feeding the replication stream, and
//! the start and end of full syncs.
//!
//! The bytes travel in the server crate: a replica connection's task sends
//! the snapshot and then the stream from its position in the shared buffer
//! (`redust_replication::ReplBuffer`); our own link to a master runs the
//! handshake and applies the master's stream. This module is what those
//! tasks call, with the state lock held.

use crate::blocking::TimeoutReply;
use crate::errors::{CmdError, CmdResult};
use crate::exec::Ctx;
use crate::propagate::Propagated;
use crate::state::State;
use bytes::Bytes;
use redust_persistence::ReplInfo;
use redust_replication::{
    LinkState, MasterLink, PsyncDecision, ReplicaRecord, ReplicaState, NULL_REPLID,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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
const SYNC_CHANNEL_CHUNKS: usize = 16;

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
    crate::propagate::encode_stream(&mut out, &mut state.repl.stream_db, commands);
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
    let repl = &mut state.repl;
    if repl.master.is_some() {
        repl.replid = info.id.clone();
        repl.offset = info.offset as u64;
        repl.psync_possible = true;
        repl.stream_db = Some(info.stream_db as usize);
    } else {
        repl.replid2 = info.id.clone();
        repl.second_offset = info.offset + 1;
        repl.offset = info.offset as u64;
        repl.buffer = None;
        repl.ensure_backlog(state.config.repl_backlog_size);
        repl.no_replicas_since_ms = state.now_ms;
    }
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
        return Some("NOREPLICAS Not enough good replicas to write.");
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
        (state.log_warning)("Connection with master lost.");
        (state.log_notice)("Caching the disconnected master state.");
    }
    // From here the log says S, as Redis's does once `masterhost` is set.
    (state.log_role)(b'S');
    if was_master {
        // Our own history is what we ask the new master to continue.
        state.repl.psync_possible = true;
        crate::blocking::unblock_all_for_role_change(state);
        // The replicas of a master that becomes a replica keep their links:
        // they get our new master's stream through us.
        (state.log_notice)(
            "Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.",
        );
    }
    if !at_startup {
        // Redis connects at once; at start-up it does so from its cron,
        // after "Ready to accept connections" (the link task logs them then).
        (state.log_notice)(&format!("Connecting to MASTER {host}:{port}"));
        (state.log_notice)("MASTER <-> REPLICA sync started");
        ANNOUNCED_LINK.store(generation, Ordering::Relaxed);
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
    if let Some(hook) = state.repl_hook {
        hook();
    }
}

/// The generation of the master link whose first attempt `set_master`
/// already logged ("Connecting to MASTER", "MASTER <-> REPLICA sync
/// started"); 0 for none.
static ANNOUNCED_LINK: AtomicU64 = AtomicU64::new(0);

/// For the link task, with the state lock held, as an attempt for
/// `generation` starts: whether `set_master` already logged its first lines
/// (answered once).
pub fn take_link_announced(generation: u64) -> bool {
    ANNOUNCED_LINK.swap(0, Ordering::Relaxed) == generation
}

/// Stops following a master (REPLICAOF NO ONE): a new history starts, the
/// old id stays valid for our replicas up to here.
pub fn unset_master(state: &mut State) {
    let Some(link) = state.repl.master.take() else {
        return;
    };
    (state.log_role)(b'M');
    // Redis's words as it frees its master client (caching it), then
    // drops the cached master (ours: the history we could continue).
    let connected = link.state == LinkState::Connected;
    if connected {
        (state.log_warning)("Connection with master lost.");
        (state.log_notice)("Caching the disconnected master state.");
    }
    if connected || state.repl.psync_possible {
        (state.log_notice)("Discarding previously cached master state.");
    }
    state.config.replicaof = None;
    state.repl.shift_replid();
    (state.log_warning)(&format!(
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
    if let Some(hook) = state.repl_hook {
        hook();
    }
}

/// Closes every replica connection (their tasks clean up).
pub fn disconnect_replicas(state: &mut State) {
    for r in &state.repl.replicas {
        if let Some(h) = state.handles.get(&r.client_id) {
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

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.config.cluster_enabled {
        return Err("ERR REPLICAOF not allowed in cluster mode.".into());
    }
    let who = crate::cmd::connection::client_info_line(ctx.state, ctx.client);
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        if ctx.state.repl.master.is_some() {
            unset_master(ctx.state);
            (ctx.state.log_notice)(&format!("MASTER MODE enabled (user request from '{who}')"));
        }
        ctx.reply.ok();
        return Ok(());
    }
    if ctx.client.repl.is_replica {
        return Err("ERR Command is not valid when client is a replica.".into());
    }
    let port = crate::args::parse_i64(&args[2])
        .ok()
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| CmdError::from("ERR Invalid master port"))? as u16;
    let host = lossy(&args[1]);
    if let Some(m) = &ctx.state.repl.master {
        if m.host.eq_ignore_ascii_case(&host) && m.port == port {
            (ctx.state.log_notice)(
                "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
            );
            ctx.reply.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    set_master(ctx.state, host.clone(), port, false);
    (ctx.state.log_notice)(&format!(
        "REPLICAOF {host}:{port} enabled (user request from '{who}')"
    ));
    ctx.reply.ok();
    Ok(())
}

pub fn replconf(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(crate::errors::SYNTAX.into());
    }
    let mut i = 1;
    while i + 1 < args.len() {
        let (opt, val) = (&args[i], &args[i + 1]);
        let lower = opt.to_ascii_lowercase();
        match lower.as_slice() {
            b"listening-port" => {
                let port = crate::args::parse_i64(val)
                    .ok()
                    .filter(|p| (0..=65535).contains(p))
                    .ok_or_else(|| CmdError::from("ERR value is out of range"))?;
                ctx.client.repl.listening_port = port as u16;
            }
            b"ip-address" => {
                if val.len() >= 46 {
                    return Err(format!(
                        "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        val.len()
                    )
                    .into());
                }
                ctx.client.repl.announced_ip = Some(lossy(val));
            }
            b"capa" => {
                if val.eq_ignore_ascii_case(b"eof") {
                    ctx.client.repl.capa_eof = true;
                } else if val.eq_ignore_ascii_case(b"psync2") {
                    ctx.client.repl.capa_psync2 = true;
                }
            }
            b"ack" | b"fack" => {
                // Acknowledgements arrive on the replica's own task; a
                // normal client sending them gets no reply, as in Redis.
                if lower.as_slice() == b"ack" && ctx.client.repl.is_replica {
                    if let Ok(off) = crate::args::parse_i64(val) {
                        replica_acked(ctx.state, ctx.client.id, off.max(0) as u64);
                    }
                }
                return Ok(());
            }
            // Answered by our master link with the applied offset; nothing
            // for anyone else, as in Redis.
            b"getack" => return Ok(()),
            b"rdb-only" | b"rdb-filter-only" => {}
            _ => return Err(format!("ERR Unrecognized REPLCONF option: {}", lossy(opt)).into()),
        }
        i += 2;
    }
    ctx.reply.ok();
    Ok(())
}

/// `PSYNC <replid> <offset>` (and SYNC, the pre-2.8 form): decides partial
/// or full sync and turns the connection into a replica.
pub fn psync(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.client.repl.is_replica {
        return Ok(());
    }
    let is_psync = args[0].eq_ignore_ascii_case(b"psync");
    // `PSYNC <replid> <offset> FAILOVER`: our master hands over to us.
    let failover = is_psync && args.len() > 3 && args[3].eq_ignore_ascii_case(b"failover");
    if let Some(m) = &ctx.state.repl.master {
        if m.state != LinkState::Connected && !failover {
            return Err("NOMASTERLINK Can't SYNC while not connected with my master".into());
        }
    }
    if failover {
        (ctx.state.log_warning)(&format!(
            "Failover request received for replid {}.",
            lossy(&args[1])
        ));
        if args[1][..] != *ctx.state.repl.replid.as_bytes() {
            return Err("ERR PSYNC FAILOVER replid must match my replid.".into());
        }
        unset_master(ctx.state);
        let who = crate::cmd::connection::client_info_line(ctx.state, ctx.client);
        (ctx.state.log_notice)(&format!(
            "MASTER MODE enabled (failover request from '{who}')"
        ));
    }
    let (replid, position) = if is_psync {
        let pos = crate::args::parse_i64(&args[2])?;
        (lossy(&args[1]), pos)
    } else {
        ("?".to_string(), -1)
    };
    let ip = ctx.client.repl.announced_ip.clone().unwrap_or_else(|| {
        ctx.client
            .addr
            .rsplit_once(':')
            .map_or(String::new(), |(ip, _)| ip.to_string())
    });
    let port = ctx.client.repl.listening_port;
    let name = replica_name(&ip, port);
    (ctx.state.log_notice)(&format!("Replica {name} asks for synchronization"));
    let now = ctx.state.now_ms;
    let mut record = ReplicaRecord {
        client_id: ctx.client.id,
        ip,
        listening_port: port,
        state: ReplicaState::WaitBgsave,
        position: 0,
        ack_offset: 0,
        ack_ms: now,
        capa_eof: ctx.client.repl.capa_eof && is_psync,
        capa_psync2: ctx.client.repl.capa_psync2,
        soft_limit_since_ms: 0,
        psync: is_psync,
    };
    let decision = if is_psync {
        ctx.state.repl.psync_decision(&replid, position)
    } else {
        PsyncDecision::Full(None)
    };
    match decision {
        PsyncDecision::Continue => {
            record.state = ReplicaState::Online;
            record.position = position as u64;
            let backlog_bytes = ctx.state.repl.offset + 1 - position as u64;
            ctx.state.repl.sync_partial_ok += 1;
            if record.capa_psync2 {
                let line = format!("CONTINUE {}", ctx.state.repl.replid);
                ctx.reply.simple(&line);
            } else {
                ctx.reply.simple("CONTINUE");
            }
            (ctx.state.log_notice)(&format!(
                "Partial resynchronization request from {name} accepted. Sending {backlog_bytes} bytes of backlog starting from offset {position}."
            ));
        }
        PsyncDecision::Full(reason) => {
            match reason {
                // redust_replication's words for a history we share but
                // whose bytes we no longer (or not yet) hold.
                Some(r) if r.starts_with("Unable to partial resync") => {
                    (ctx.state.log_notice)(&format!(
                        "Unable to partial resync with replica {name} for lack of backlog (Replica request was: {position})."
                    ));
                    if position > ctx.state.repl.offset as i64 {
                        (ctx.state.log_warning)(&format!(
                            "Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset."
                        ));
                    }
                    ctx.state.repl.sync_partial_err += 1;
                }
                Some(r) => {
                    (ctx.state.log_notice)(&format!("Partial resynchronization not accepted: {r}"));
                    ctx.state.repl.sync_partial_err += 1;
                }
                // Plain SYNC: Redis says nothing here.
                None if is_psync => {
                    (ctx.state.log_notice)(&format!("Full resync requested by replica {name}"))
                }
                None => {}
            }
            ctx.state.repl.sync_full += 1;
            if ctx.state.repl.buffer.is_none() {
                if ctx.state.repl.master.is_none() {
                    // A fresh history for the first replica, as Redis does.
                    ctx.state.repl.replid = redust_replication::random_replid();
                    ctx.state.repl.replid2 = NULL_REPLID.to_string();
                    ctx.state.repl.second_offset = -1;
                }
                ctx.state
                    .repl
                    .ensure_backlog(ctx.state.config.repl_backlog_size);
                let (a, b) = (
                    ctx.state.repl.replid.clone(),
                    ctx.state.repl.replid2.clone(),
                );
                (ctx.state.log_notice)(&format!(
                    "Replication backlog created, my new replication IDs are '{a}' and '{b}'"
                ));
            }
            // Why the snapshot does not start at once (it starts from the
            // cron, `start_pending_syncs`). A running snapshot is never
            // shared with a later replica here: it waits for the next one.
            let delayed = ctx.state.config.repl_diskless_sync
                && record.capa_eof
                && ctx.state.config.repl_diskless_sync_delay > 0;
            let running = ctx.state.bgsave.as_ref().map(|b| &b.purpose);
            let why = match running {
                Some(crate::persist::SnapshotPurpose::Rdb) => Some(
                    "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC",
                ),
                Some(crate::persist::SnapshotPurpose::ReplicaSockets) => {
                    Some("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
                }
                _ if delayed => Some("Delay next BGSAVE for diskless SYNC"),
                Some(crate::persist::SnapshotPurpose::AofBase { .. }) => Some(
                    "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed",
                ),
                None => None,
            };
            if let Some(why) = why {
                (ctx.state.log_notice)(why);
            }
        }
    }
    let (tx, rx) = tokio::sync::mpsc::channel(SYNC_CHANNEL_CHUNKS);
    let stream = Arc::new(tokio::sync::Notify::new());
    ctx.state.repl_links.insert(
        ctx.client.id,
        ReplicaLink {
            sync: tx,
            stream: stream.clone(),
        },
    );
    ctx.state.repl.replicas.push(record);
    ctx.client.repl.is_replica = true;
    ctx.client.repl.handoff = Some(ReplicaHandoff { sync: rx, stream });
    ctx.propagate_nothing();
    Ok(())
}

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
    if state.blocked_clients == 0 {
        return;
    }
    let ready: Vec<(u64, i64)> = state
        .clients
        .values()
        .filter_map(|c| match c.blocked.as_ref()?.timeout_reply {
            TimeoutReply::ReplicaAcks { offset, wanted } => {
                let acked = state.repl.acked(offset);
                (acked >= wanted).then_some((c.id, acked as i64))
            }
            _ => None,
        })
        .collect();
    for (id, acked) in ready {
        let Some(mut client) = state.clients.remove(&id) else {
            continue;
        };
        crate::blocking::unblock(state, &mut client);
        let mut reply = redust_resp::Reply::new(client.resp3);
        reply.int(acked);
        client.push.send_data(Bytes::from(reply.buf));
        client.push.wake();
        state.clients.insert(id, client);
    }
}

pub fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.repl.master.is_some() {
        return Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into());
    }
    let wanted = crate::args::parse_i64(&args[1])?;
    let timeout = crate::args::parse_i64(&args[2])
        .map_err(|_| CmdError::from("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err("ERR timeout is negative".into());
    }
    let offset = ctx.client.write_offset;
    let acked = ctx.state.repl.acked(offset);
    if acked as i64 >= wanted || ctx.client.multi.is_some() || ctx.client.exec_queue_len.is_some() {
        ctx.reply.int(acked as i64);
        return Ok(());
    }
    let deadline = (timeout > 0).then(|| ctx.state.now_ms + timeout);
    ctx.block(
        Vec::new(),
        deadline,
        TimeoutReply::ReplicaAcks {
            offset,
            wanted: wanted.max(0) as usize,
        },
    );
    ctx.state.repl.getack_pending = true;
    send_getack_if_pending(ctx.state);
    Ok(())
}

pub fn role(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let repl = &ctx.state.repl;
    match &repl.master {
        None => {
            ctx.reply.array(3);
            ctx.reply.bulk(b"master");
            ctx.reply.int(repl.offset as i64);
            let online: Vec<&ReplicaRecord> = repl
                .replicas
                .iter()
                .filter(|r| r.state == ReplicaState::Online)
                .collect();
            ctx.reply.array(online.len());
            for r in online {
                ctx.reply.array(3);
                ctx.reply.bulk(r.ip.as_bytes());
                ctx.reply.bulk(r.listening_port.to_string().as_bytes());
                ctx.reply.bulk(r.ack_offset.to_string().as_bytes());
            }
        }
        Some(m) => {
            ctx.reply.array(5);
            ctx.reply.bulk(b"slave");
            ctx.reply.bulk(m.host.as_bytes());
            ctx.reply.int(m.port as i64);
            ctx.reply.bulk(m.state.role_name().as_bytes());
            let offset = if m.state == LinkState::Connected {
                repl.offset as i64
            } else {
                -1
            };
            ctx.reply.int(offset);
        }
    }
    Ok(())
}

// ---- full syncs (called by the server's cron) ----

/// Starts a snapshot for the replicas waiting for one, when no other
/// snapshot runs and the diskless delay has passed.
pub fn start_pending_syncs(state: &mut State) {
    if state.bgsave.is_some() {
        return;
    }
    let waiting: Vec<&ReplicaRecord> = state
        .repl
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::WaitBgsave)
        .collect();
    if waiting.is_empty() {
        return;
    }
    let diskless = state.config.repl_diskless_sync && waiting.iter().all(|r| r.capa_eof);
    if diskless {
        let delay_ms = state.config.repl_diskless_sync_delay as i64 * 1000;
        let oldest = waiting.iter().map(|r| r.ack_ms).min().unwrap_or(0);
        let max = state.config.repl_diskless_sync_max_replicas as usize;
        let enough = max > 0 && waiting.len() >= max;
        if !enough && state.now_ms - oldest < delay_ms {
            return;
        }
    }
    let targets: Vec<u64> = waiting.iter().map(|r| r.client_id).collect();
    // The snapshot is the data at this offset. A master starts the stream
    // after it with a SELECT. A replica passes its master's stream on as it
    // is, so it keeps the stream's database: the snapshot records it
    // (`repl-stream-db`) and the sub-replica applies the next commands there.
    if state.repl.master.is_none() {
        state.repl.stream_db = None;
    }
    let offset = state.repl.offset;
    let replid = state.repl.replid.clone();
    let purpose = if diskless {
        crate::persist::SnapshotPurpose::ReplicaSockets
    } else {
        crate::persist::SnapshotPurpose::Rdb
    };
    (state.log_notice)(&format!(
        "Starting BGSAVE for SYNC with target: {}",
        if diskless { "replicas sockets" } else { "disk" }
    ));
    let path = crate::persist::rdb_path(state);
    if crate::persist::snapshot_start(state, purpose, path).is_err() {
        (state.log_warning)("BGSAVE for replication failed");
        for id in &targets {
            fail_sync(state, *id);
        }
        return;
    }
    if let Some(bg) = state.bgsave.as_mut() {
        bg.replicas = targets.clone();
    }
    for id in targets {
        let eof_mark = diskless.then(redust_replication::random_replid);
        if let Some(r) = state.repl.replica_mut(id) {
            r.state = ReplicaState::SendBulk;
            r.position = offset + 1;
        }
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

fn fail_sync(state: &mut State, id: u64) {
    if let Some(link) = state.repl_links.get(&id) {
        let _ = link.sync.try_send(SyncMsg::Failed);
    }
}

/// The senders of the replicas a diskless snapshot streams to (the saver
/// thread sends to them without the lock).
pub fn diskless_targets(state: &State) -> Vec<tokio::sync::mpsc::Sender<SyncMsg>> {
    let Some(bg) = state.bgsave.as_ref() else {
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
        (state.log_warning)(&format!(
            "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
            up.len()
        ));
        (state.log_notice)("Background RDB transfer terminated with success");
        // As Redis, at the end of the transfer: each replica counts as in
        // sync now, though its stream starts with its first ACK
        // (`socket_replica_acked`).
        for id in up {
            let Some(r) = state.repl.replica(id) else {
                continue;
            };
            let name = replica_name(&r.ip, r.listening_port);
            (state.log_notice)(&format!(
                "Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming"
            ));
            (state.log_notice)(&format!("Synchronization with replica {name} succeeded"));
        }
    } else {
        (state.log_warning)("Background transfer error");
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
        (state.log_notice)(&format!("Synchronization with replica {name} succeeded"));
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
    (state.log_warning)(&format!("Connection with replica {name} lost."));
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
    let Some(end) = state.repl.buffer.as_ref().map(|b| b.end_offset()) else {
        return false;
    };
    let Some(record) = state.repl.replica_mut(id) else {
        return false;
    };
    // A replica waiting for its snapshot to start has no position in the
    // stream yet (the snapshot sets it), so nothing is pending for it.
    if record.state == ReplicaState::WaitBgsave {
        record.soft_limit_since_ms = 0;
        return false;
    }
    let pending = (end + 1).saturating_sub(record.position);
    let over_hard = limit.hard > 0 && pending > limit.hard;
    let over_soft = limit.soft > 0 && pending > limit.soft;
    if !over_soft {
        record.soft_limit_since_ms = 0;
    } else if record.soft_limit_since_ms == 0 {
        record.soft_limit_since_ms = now;
    }
    let soft_expired =
        over_soft && now - record.soft_limit_since_ms >= limit.soft_seconds as i64 * 1000;
    over_hard || soft_expired
}

/// Redis's line for a replica closed over its output-buffer limit.
pub fn log_replica_obuf_limit(state: &State, id: u64) {
    let info = state
        .clients
        .get(&id)
        .map(|c| crate::cmd::connection::client_info_line(state, c))
        .unwrap_or_default();
    (state.log_warning)(&format!(
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
            if let Some(h) = state.handles.get(&id) {
                if !h.0.killed.load(std::sync::atomic::Ordering::Relaxed) {
                    log_replica_obuf_limit(state, id);
                    h.0.kill();
                }
            }
        }
    }
    let timeout_ms = state.config.repl_timeout as i64 * 1000;
    for r in &state.repl.replicas {
        if r.state == ReplicaState::Online && now - r.ack_ms > timeout_ms {
            let name = replica_name(&r.ip, r.listening_port);
            (state.log_warning)(&format!(
                "Disconnecting timedout replica (streaming sync): {name}"
            ));
            if let Some(h) = state.handles.get(&r.client_id) {
                h.0.kill();
            }
        }
    }
    let ttl = state.config.repl_backlog_ttl as i64 * 1000;
    if state.repl.master.is_none()
        && state.repl.replicas.is_empty()
        && state.repl.buffer.is_some()
        && ttl > 0
        && now - state.repl.no_replicas_since_ms > ttl
    {
        // A new id: a replica can't continue a history whose bytes are gone.
        state.repl.replid = redust_replication::random_replid();
        state.repl.replid2 = NULL_REPLID.to_string();
        state.repl.second_offset = -1;
        state.repl.free_backlog();
        (state.log_notice)(&format!(
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

/// `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]`: writes pause
/// until a replica has everything, then this master follows it and asks
/// it (`PSYNC .. FAILOVER`) to take over.
pub fn failover(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut target, mut force, mut abort, mut timeout) = (None, false, false, None);
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"to") && i + 2 < args.len() && target.is_none() {
            let port = crate::args::parse_i64(&args[i + 2])?;
            target = Some((lossy(&args[i + 1]), port.clamp(0, 65535) as u16));
            i += 3;
        } else if a.eq_ignore_ascii_case(b"force") && !force {
            force = true;
            i += 1;
        } else if a.eq_ignore_ascii_case(b"abort") && !abort {
            abort = true;
            i += 1;
        } else if a.eq_ignore_ascii_case(b"timeout") && i + 1 < args.len() && timeout.is_none() {
            let t = crate::args::parse_i64(&args[i + 1])?;
            if t <= 0 {
                return Err("ERR FAILOVER timeout must be greater than 0".into());
            }
            timeout = Some(t);
            i += 2;
        } else {
            return Err(crate::errors::SYNTAX.into());
        }
    }
    if abort {
        if target.is_some() || force || timeout.is_some() {
            return Err(crate::errors::SYNTAX.into());
        }
        if ctx.state.repl.failover.is_none() {
            return Err("ERR No failover in progress.".into());
        }
        abort_failover(ctx.state, "Failover manually aborted");
        ctx.reply.ok();
        return Ok(());
    }
    if force && (target.is_none() || timeout.is_none()) {
        return Err(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into(),
        );
    }
    if ctx.state.config.cluster_enabled {
        return Err("ERR FAILOVER not allowed in cluster mode.".into());
    }
    if ctx.state.repl.master.is_some() {
        return Err("ERR FAILOVER is not valid when server is a replica.".into());
    }
    if ctx.state.repl.replicas.is_empty() {
        return Err("ERR FAILOVER requires connected replicas.".into());
    }
    if ctx.state.repl.failover.is_some() {
        return Err("ERR FAILOVER already in progress.".into());
    }
    if let Some((host, port)) = &target {
        let known =
            ctx.state.repl.replicas.iter().any(|r| {
                r.state == ReplicaState::Online && r.ip == *host && r.listening_port == *port
            });
        if !known {
            return Err("ERR FAILOVER target HOST and PORT is not a replica.".into());
        }
        (ctx.state.log_notice)(&format!("FAILOVER requested to {host}:{port}."));
    } else {
        (ctx.state.log_notice)("FAILOVER requested to any replica.");
    }
    ctx.state.repl.failover = Some(redust_replication::Failover {
        target,
        deadline_ms: timeout.map(|t| ctx.state.now_ms + t),
        force,
        in_progress: false,
    });
    // Writes wait (as CLIENT PAUSE WRITE) until the switch is over.
    ctx.state.pause = Some(crate::state::Pause {
        until_ms: i64::MAX,
        writes_only: true,
    });
    ctx.state.repl.getack_pending = true;
    send_getack_if_pending(ctx.state);
    ctx.reply.ok();
    Ok(())
}

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
    (state.log_notice)(&format!(
        "FAILOVER to {} aborted: {why}",
        failover_target_name(&f)
    ));
    end_failover_pause(state);
}

/// Drives a FAILOVER, once per cron tick.
pub fn failover_cron(state: &mut State) {
    let Some(f) = state.repl.failover.clone() else {
        return;
    };
    let now = state.now_ms;
    if f.in_progress {
        if f.deadline_ms.is_some_and(|d| now > d) {
            abort_failover(state, "Failover target rejected psync request");
        }
        return;
    }
    let offset = state.repl.offset;
    let synced = state
        .repl
        .replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Online)
        .filter(|r| match &f.target {
            Some((h, p)) => r.ip == *h && r.listening_port == *p,
            None => true,
        })
        .find(|r| r.ack_offset >= offset)
        .map(|r| (r.ip.clone(), r.listening_port));
    let (chosen, timed_out) = match (synced, f.deadline_ms) {
        (Some(t), _) => (Some(t), false),
        (None, Some(d)) if now > d => {
            if f.force {
                (f.target.clone(), true)
            } else {
                abort_failover(state, "Replica never caught up before timeout");
                return;
            }
        }
        // The replica's once-a-second ACK tells us (a GETACK now would
        // itself be a byte it has not acknowledged).
        _ => return,
    };
    let Some((host, port)) = chosen else {
        return;
    };
    if timed_out {
        (state.log_notice)(&format!(
            "FAILOVER to {host}:{port} time out exceeded, failing over."
        ));
    } else {
        (state.log_notice)(&format!(
            "Failover target {host}:{port} is synced, failing over."
        ));
    }
    if let Some(fo) = state.repl.failover.as_mut() {
        fo.in_progress = true;
        fo.target = Some((host.clone(), port));
        // The handshake gets its own time to finish.
        fo.deadline_ms = Some(now + 10_000.max(state.config.repl_timeout as i64 * 1000));
    }
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
