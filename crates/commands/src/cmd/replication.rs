//! Replication commands: REPLICAOF, REPLCONF, PSYNC/SYNC, WAIT, ROLE and
//! FAILOVER. What they change (the master link, the replicas, the stream)
//! is the engine's (`crate::replication`), deciding through
//! `redust_replication`.

use crate::args::lossy;
use crate::blocking::TimeoutReply;
use crate::errors::{CmdError, CmdResult};
use crate::exec::Ctx;
use crate::replication::*;
use bytes::Bytes;
use redust_replication::master::{PsyncAnswer, PsyncRequest, RunningSnapshot};
use redust_replication::{LinkState, Logs, ReplicaRecord, ReplicaState, Replication};
use std::sync::Arc;

pub fn replicaof(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.config.cluster_enabled {
        return Err("ERR REPLICAOF not allowed in cluster mode.".into());
    }
    let who = crate::client_info::client_info_line(ctx.state, ctx.client);
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        if ctx.state.repl.master.is_some() {
            unset_master(ctx.state);
            ctx.state
                .log_notice(&format!("MASTER MODE enabled (user request from '{who}')"));
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
            ctx.state.log_notice(
                "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.",
            );
            ctx.reply.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    set_master(ctx.state, host.clone(), port, false);
    ctx.state.log_notice(&format!(
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
                    .ok_or_else(|| CmdError::from(crate::errors::OUT_OF_RANGE))?;
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
            // redust's safe mode: a Sentinel's lease request and grant,
            // `<sentinel id>:<ms>:<needed>:<token, 0 for none>`; the answer
            // is the next token (docs/design/safe-mode.md).
            b"lease" => {
                let Some(req) = crate::safe_writes::LeaseRequest::parse(val) else {
                    return Err(crate::errors::SYNTAX.into());
                };
                let now = std::time::Instant::now();
                let next =
                    ctx.state
                        .safe_lease
                        .request(&req.sentinel, req.ms, req.needed, req.token, now);
                // Held writes may be acknowledged now.
                crate::replication::serve_waiting_clients(ctx.state);
                ctx.reply.int(next as i64);
                return Ok(());
            }
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
            return Err(redust_replication::master::NOMASTERLINK.into());
        }
    }
    if failover {
        ctx.state.log_warning(&format!(
            "Failover request received for replid {}.",
            lossy(&args[1])
        ));
        if args[1][..] != *ctx.state.repl.replid.as_bytes() {
            return Err("ERR PSYNC FAILOVER replid must match my replid.".into());
        }
        unset_master(ctx.state);
        let who = crate::client_info::client_info_line(ctx.state, ctx.client);
        ctx.state.log_notice(&format!(
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
    ctx.state
        .log_notice(&format!("Replica {name} asks for synchronization"));
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
    let request = PsyncRequest {
        replid: &replid,
        position,
        is_psync,
        capa_psync2: record.capa_psync2,
        name: &name,
    };
    let mut logs = Logs::new();
    let backlog_size = ctx.state.config.repl_backlog_size;
    let answer = ctx
        .state
        .repl
        .answer_psync(&request, backlog_size, &mut logs);
    write_logs(ctx.state, logs);
    match answer {
        PsyncAnswer::Continue { reply, position } => {
            record.state = ReplicaState::Online;
            record.position = position;
            ctx.reply.simple(&reply);
        }
        PsyncAnswer::Full => {
            // Why the snapshot does not start at once (it starts from the
            // cron, `start_pending_syncs`).
            let delayed = ctx.state.config.repl_diskless_sync
                && record.capa_eof
                && ctx.state.config.repl_diskless_sync_delay > 0;
            let running = match ctx.state.rdb.bgsave.as_ref().map(|b| &b.purpose) {
                Some(crate::persist::SnapshotPurpose::Rdb) => RunningSnapshot::Rdb,
                Some(crate::persist::SnapshotPurpose::ReplicaSockets) => {
                    RunningSnapshot::ReplicaSockets
                }
                Some(crate::persist::SnapshotPurpose::AofBase { .. }) => RunningSnapshot::Other,
                None => RunningSnapshot::None,
            };
            if let Some(why) = Replication::full_sync_wait_reason(running, delayed) {
                ctx.state.log_notice(why);
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

pub fn wait(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.repl.master.is_some() {
        return Err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into());
    }
    let wanted = crate::args::parse_i64(&args[1])?;
    let timeout = crate::args::parse_i64(&args[2])
        .map_err(|_| CmdError::from(crate::errors::TIMEOUT_NOT_INTEGER))?;
    if timeout < 0 {
        return Err(crate::errors::TIMEOUT_NEGATIVE.into());
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
    if ctx.state.sentinel.is_some() {
        return super::sentinel::role(ctx);
    }
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
        ctx.state
            .log_notice(&format!("FAILOVER requested to {host}:{port}."));
    } else {
        ctx.state.log_notice("FAILOVER requested to any replica.");
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
