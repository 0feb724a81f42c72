//! Sentinel mode's commands: SENTINEL and its subcommands, and what ROLE,
//! PUBLISH and HELLO answer on a Sentinel, over the node's `Sentinel`
//! (`redust-sentinel::node`). Events a command causes are logged and
//! published here (`emit`), and the user scripts they run queued (the
//! shell starts them; PENDING-SCRIPTS lists the queue); links to open,
//! close or write to are left in the Sentinel's outbox for the server's
//! shell. The config file is rewritten through `flush_config`.

use crate::errors::{CmdError, CmdResult};
use crate::exec::Ctx;
use crate::pubsub::publish;
use crate::state::{LogLevel, State};
use bytes::Bytes;
use redust_sentinel::config::Environment;
use redust_sentinel::monitor::Action;
use redust_sentinel::node::{event_level, EventLevel, Sentinel};
use redust_sentinel::records::{self, Record};

const NO_SUCH_MASTER: &str = "ERR No such master with that name";
const FLUSH_FAILED: &str = "ERR Failed to save config file. Check server logs.";

/// The process's view of scripts and hostnames for the Sentinel's checks.
pub struct SystemEnvironment;

impl Environment for SystemEnvironment {
    fn executable(&self, path: &str) -> bool {
        let Ok(c) = std::ffi::CString::new(path) else {
            return false;
        };
        // SAFETY: `c` is a valid NUL-terminated string for the call.
        unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
    }

    fn resolve(&self, host: &str) -> Option<String> {
        resolve_host(host)
    }
}

/// The first IP a host name resolves to (the system's resolver).
pub fn resolve_host(host: &str) -> Option<String> {
    use std::net::ToSocketAddrs;
    (host, 0)
        .to_socket_addrs()
        .ok()?
        .next()
        .map(|a| a.ip().to_string())
}

/// Logs events at their level (Debug ones not at all) and returns those
/// to publish (all but Debug ones).
pub fn log_events(
    state: &State,
    events: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (name, detail) in events {
        let level = match event_level(name) {
            EventLevel::Warning => LogLevel::Warning,
            EventLevel::Notice => LogLevel::Notice,
            EventLevel::Verbose => LogLevel::Verbose,
            EventLevel::Debug => continue,
        };
        state.host.log(level, &format!("{name} {detail}"));
        out.push((name, detail));
    }
    out
}

/// Logs and publishes events, from the shell (no client).
pub fn emit_events(state: &mut State, events: Vec<(&'static str, String)>) {
    for (name, detail) in log_events(state, events) {
        publish(state, name.as_bytes(), detail.as_bytes());
    }
}

/// A command's actions: events logged and published now, the scripts
/// they run queued (the shell starts them on its next tick), the rest
/// left in the outbox for the shell.
fn emit_from(ctx: &mut Ctx, actions: Vec<Action>) {
    if let Some(s) = ctx.state.sentinel.as_mut() {
        s.schedule_scripts(&actions);
    }
    let mut events = Vec::new();
    for action in actions {
        match action {
            Action::Event { name, detail, .. } => events.push((name, detail)),
            Action::ClientReconfig { .. } | Action::FailoverDelay { .. } => {}
            other => {
                if let Some(s) = ctx.state.sentinel.as_mut() {
                    s.outbox.push(other);
                }
            }
        }
    }
    for (name, detail) in log_events(ctx.state, events) {
        ctx.publishing(|state| publish(state, name.as_bytes(), detail.as_bytes()));
    }
}

/// Rewrites the config file with what the Sentinel knows now.
pub fn flush_config(state: &mut State) -> Result<(), String> {
    let Some(s) = state.sentinel.as_mut() else {
        return Ok(());
    };
    s.flush_needed = false;
    let block = redust_sentinel::rewrite::sentinel_block(&s.globals, &s.monitor);
    let sentinel = redust_config::SentinelRewrite {
        in_place: redust_sentinel::rewrite::sentinel_in_place(&s.globals),
        lines: block,
        always_produced: redust_sentinel::rewrite::ALWAYS_PRODUCED
            .iter()
            .map(|k| k.to_string())
            .collect(),
    };
    let result = state
        .config
        .sentinel_flush_config(&crate::cmd::server::rewrite_extras(state), &sentinel);
    match &result {
        Ok(()) => state
            .host
            .log(LogLevel::Notice, "Sentinel new configuration saved on disk"),
        Err(e) => state.host.log(
            LogLevel::Warning,
            &format!(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: {e}"
            ),
        ),
    }
    result
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sentinel_of<'a>(ctx: &'a mut Ctx) -> Result<&'a mut Sentinel, CmdError> {
    ctx.state
        .sentinel
        .as_deref_mut()
        .ok_or_else(|| CmdError::from("ERR This instance is not a Sentinel"))
}

fn master_of(ctx: &mut Ctx, name: &[u8]) -> Result<usize, CmdError> {
    let name = text(name);
    sentinel_of(ctx)?
        .master_index(&name)
        .ok_or_else(|| NO_SUCH_MASTER.into())
}

fn write_record(ctx: &mut Ctx, record: &Record) {
    ctx.reply.map(record.len());
    for (k, v) in record {
        ctx.reply.bulk(k.as_bytes());
        ctx.reply.bulk(v.as_bytes());
    }
}

fn write_records(ctx: &mut Ctx, records: Vec<Record>) {
    ctx.reply.array(records.len());
    for r in &records {
        write_record(ctx, r);
    }
}

/// Flushes, answering OK or Redis's failure text.
fn flush_reply(ctx: &mut Ctx) -> CmdResult {
    match flush_config(ctx.state) {
        Ok(()) => {
            ctx.reply.ok();
            Ok(())
        }
        Err(_) => Err(FLUSH_FAILED.into()),
    }
}

/// SENTINEL `<subcommand>` ...
pub fn sentinel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let now = ctx.state.now_ms;
    match sub.as_slice() {
        b"masters" => {
            let s = sentinel_of(ctx)?;
            let records: Vec<Record> = s
                .monitor
                .masters
                .iter()
                .map(|m| records::master_record(m, s.monitor.announce_hostnames, now))
                .collect();
            write_records(ctx, records);
        }
        b"master" => {
            let i = master_of(ctx, &args[2])?;
            let monitor = &sentinel_of(ctx)?.monitor;
            let record =
                records::master_record(&monitor.masters[i], monitor.announce_hostnames, now);
            write_record(ctx, &record);
        }
        b"replicas" | b"slaves" => {
            let i = master_of(ctx, &args[2])?;
            let monitor = &sentinel_of(ctx)?.monitor;
            let m = &monitor.masters[i];
            let records: Vec<Record> = (0..m.replicas.len())
                .filter(|&r| m.replicas[r].announced)
                .map(|r| records::replica_record(m, r, monitor.announce_hostnames, now))
                .collect();
            write_records(ctx, records);
        }
        b"sentinels" => {
            let i = master_of(ctx, &args[2])?;
            let m = &sentinel_of(ctx)?.monitor.masters[i];
            let records: Vec<Record> = (0..m.sentinels.len())
                .map(|p| records::sentinel_record(m, p, now))
                .collect();
            write_records(ctx, records);
        }
        b"get-master-addr-by-name" => {
            let name = text(&args[2]);
            match sentinel_of(ctx)?.monitor.master_addr(&name) {
                Some((ip, port)) => {
                    ctx.reply.array(2);
                    ctx.reply.bulk(ip.as_bytes());
                    ctx.reply.bulk(port.to_string().as_bytes());
                }
                None => ctx.reply.null_array(),
            }
        }
        b"myid" => {
            let id = sentinel_of(ctx)?.monitor.myid.clone();
            ctx.reply.bulk(id.as_bytes());
        }
        b"ckquorum" => {
            let i = master_of(ctx, &args[2])?;
            match records::ckquorum(&sentinel_of(ctx)?.monitor.masters[i]) {
                Ok(t) => ctx.reply.simple(&t),
                Err(e) => return Err(e.into()),
            }
        }
        b"reset" => {
            let pattern = args[2].clone();
            let s = sentinel_of(ctx)?;
            let matching: Vec<usize> = (0..s.monitor.masters.len())
                .filter(|&i| {
                    redust_config::glob_match(
                        &pattern,
                        s.monitor.masters[i].config.name.as_bytes(),
                        false,
                    )
                })
                .collect();
            let mut actions = Vec::new();
            for &i in &matching {
                actions.extend(s.reset(i, now));
            }
            emit_from(ctx, actions);
            ctx.reply.int(matching.len() as i64);
        }
        b"failover" => {
            let i = master_of(ctx, &args[2])?;
            let actions = sentinel_of(ctx)?.monitor.force_failover(i, now)?;
            ctx.state.host.log(
                LogLevel::Warning,
                &format!("Executing user requested FAILOVER of '{}'", text(&args[2])),
            );
            emit_from(ctx, actions);
            ctx.reply.ok();
        }
        b"flushconfig" => return flush_reply(ctx),
        b"monitor" => {
            let a: Vec<String> = args[2..6].iter().map(|a| text(a)).collect();
            let s = sentinel_of(ctx)?;
            let actions =
                s.monitor_master([&a[0], &a[1], &a[2], &a[3]], &SystemEnvironment, now)?;
            let flushed = flush_config(ctx.state);
            emit_from(ctx, actions);
            flushed.map_err(|_| CmdError::from(FLUSH_FAILED))?;
            ctx.reply.ok();
        }
        b"remove" => {
            let i = master_of(ctx, &args[2])?;
            let actions = sentinel_of(ctx)?.remove(i);
            emit_from(ctx, actions);
            return flush_reply(ctx);
        }
        b"set" => return set(ctx, args, now),
        b"config" => return config(ctx, args),
        b"info-cache" => {
            let s = sentinel_of(ctx)?;
            let mut entries = Vec::new();
            for name in &args[2..] {
                let Some(i) = s.master_index(&text(name)) else {
                    continue;
                };
                let m = &s.monitor.masters[i];
                let infos: Vec<(i64, Option<String>)> = std::iter::once(&m.master)
                    .chain(m.replicas.iter())
                    .map(|inst| {
                        let age = if inst.info_refresh == 0 {
                            0
                        } else {
                            now - inst.info_refresh
                        };
                        (age, inst.info_text.clone())
                    })
                    .collect();
                entries.push((m.config.name.clone(), infos));
            }
            ctx.reply.array(entries.len() * 2);
            for (name, infos) in entries {
                ctx.reply.bulk(name.as_bytes());
                ctx.reply.array(infos.len());
                for (age, info) in infos {
                    ctx.reply.array(2);
                    ctx.reply.int(age);
                    match info {
                        Some(t) => ctx.reply.bulk(t.as_bytes()),
                        None => ctx.reply.null(),
                    }
                }
            }
        }
        b"is-master-down-by-addr" => {
            let ip = text(&args[2]);
            let port = crate::args::parse_i64(&args[3])?;
            let epoch = crate::args::parse_i64(&args[4])?;
            let runid = text(&args[5]);
            let s = sentinel_of(ctx)?;
            let before = s
                .monitor
                .masters
                .iter()
                .map(|m| m.config.leader_epoch)
                .collect::<Vec<_>>();
            let (answer, actions) = s.monitor.is_master_down_by_addr(
                &ip,
                port.clamp(0, 65535) as u16,
                epoch.max(0) as u64,
                &runid,
                now,
            );
            // A vote is kept on disk before it is given, as Redis does.
            let voted = s
                .monitor
                .masters
                .iter()
                .zip(before)
                .any(|(m, b)| m.config.leader_epoch != b);
            if voted {
                let _ = flush_config(ctx.state);
            }
            emit_from(ctx, actions);
            ctx.reply.array(3);
            ctx.reply.int(answer.down);
            ctx.reply.bulk(answer.leader.as_bytes());
            ctx.reply.int(answer.leader_epoch as i64);
        }
        b"pending-scripts" => {
            let pending = sentinel_of(ctx)?.scripts.pending(now);
            ctx.reply.array(pending.len());
            for p in pending {
                ctx.reply.map(5);
                ctx.reply.bulk(b"argv");
                ctx.reply.array(p.argv.len());
                for a in &p.argv {
                    ctx.reply.bulk(a.as_bytes());
                }
                ctx.reply.bulk(b"flags");
                ctx.reply.bulk(if p.running {
                    &b"running"[..]
                } else {
                    b"scheduled"
                });
                ctx.reply.bulk(b"pid");
                ctx.reply.bulk(p.pid.to_string().as_bytes());
                ctx.reply.bulk(if p.running {
                    &b"run-time"[..]
                } else {
                    b"run-delay"
                });
                ctx.reply.bulk(p.ms.to_string().as_bytes());
                ctx.reply.bulk(b"retry-num");
                ctx.reply.bulk(p.retry_num.to_string().as_bytes());
            }
        }
        b"debug" => {
            let s = sentinel_of(ctx)?;
            if args.len() == 2 {
                let list = s.monitor.timing.list();
                ctx.reply.map(list.len());
                for (name, value) in list {
                    ctx.reply.bulk(name.as_bytes());
                    ctx.reply.bulk(value.to_string().as_bytes());
                }
            } else {
                let pairs: Vec<String> = args[2..].iter().map(|a| text(a)).collect();
                s.debug_set(&pairs)?;
                ctx.reply.ok();
            }
        }
        b"simulate-failure" => {
            if args.len() == 3 && args[2].eq_ignore_ascii_case(b"help") {
                // The flags are cleared before the words are read, HELP too.
                sentinel_of(ctx)?.simulate_failure = 0;
                ctx.reply.array(2);
                ctx.reply.bulk(b"crash-after-election");
                ctx.reply.bulk(b"crash-after-promotion");
                return Ok(());
            }
            let words: Vec<String> = args[2..].iter().map(|a| text(a)).collect();
            let logs = sentinel_of(ctx)?.set_simulate_failure(&words)?;
            for l in logs {
                ctx.state.host.log(LogLevel::Warning, l);
            }
            ctx.reply.ok();
        }
        b"help" => help(ctx),
        _ => return Err(crate::errors::unknown_subcommand(&args[1], "SENTINEL")),
    }
    Ok(())
}

/// SENTINEL SET `<master>` `<option>` `<value>` ...
fn set(ctx: &mut Ctx, args: &[Bytes], _now: i64) -> CmdResult {
    let i = master_of(ctx, &args[2])?;
    let pairs: Vec<String> = args[3..].iter().map(|a| text(a)).collect();
    let s = sentinel_of(ctx)?;
    let deny = s.globals.deny_scripts_reconfig;
    let outcome = s.monitor.sentinel_set(i, &pairs, deny, &SystemEnvironment);
    if outcome.drop_links {
        s.outbox.push(Action::ResetLinks { master: i });
    }
    emit_from(ctx, outcome.actions);
    let flushed = if outcome.changed {
        flush_config(ctx.state)
    } else {
        Ok(())
    };
    if let Some(e) = outcome.error {
        return Err(e.into());
    }
    flushed.map_err(|_| CmdError::from(FLUSH_FAILED))?;
    ctx.reply.ok();
    Ok(())
}

/// SENTINEL CONFIG GET `<pattern>` | SET `<option>` `<value>`.
fn config(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    const ONLY: &str =
        "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.";
    let op = args[2].to_ascii_lowercase();
    match (op.as_slice(), args.len()) {
        (b"get", 4) => {
            let pattern = args[3].clone();
            let pairs = sentinel_of(ctx)?
                .config_get(|name| redust_config::glob_match(&pattern, name.as_bytes(), true));
            ctx.reply.map(pairs.len());
            for (k, v) in pairs {
                ctx.reply.bulk(k.as_bytes());
                ctx.reply.bulk(v.as_bytes());
            }
            Ok(())
        }
        (b"set", 5) => {
            let (option, value) = (text(&args[3]), text(&args[4]));
            let s = sentinel_of(ctx)?;
            if s.config_set(&option, &value)? {
                // New credentials: the links to other Sentinels reconnect.
                for i in 0..s.monitor.masters.len() {
                    s.outbox.push(Action::ResetLinks { master: i });
                }
            }
            flush_reply(ctx)
        }
        _ => Err(ONLY.into()),
    }
}

fn help(ctx: &mut Ctx) {
    const LINES: &[&str] = &[
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>",
        "    Whether enough Sentinels are reachable to agree on a failover and authorize it.",
        "CONFIG SET <param> <value>",
        "    Changes a global Sentinel option.",
        "CONFIG GET <param>",
        "    Shows the global Sentinel options matching a pattern.",
        "DEBUG [<param> <value> ...]",
        "    Shows the Sentinel's timing parameters, or changes them (milliseconds).",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    The address of the master known by that name.",
        "FAILOVER <master-name>",
        "    Fails the master over now, without asking the other Sentinels.",
        "FLUSHCONFIG",
        "    Writes what this Sentinel knows to its config file.",
        "INFO-CACHE <master-name>",
        "    The last INFO replies of the master and its replicas.",
        "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
        "    Whether this Sentinel sees that master down, and its vote when a run id is given.",
        "MASTER <master-name>",
        "    The state of one monitored master.",
        "MASTERS",
        "    The state of every monitored master.",
        "MONITOR <name> <ip> <port> <quorum>",
        "    Starts monitoring a new master.",
        "MYID",
        "    This Sentinel's id.",
        "PENDING-SCRIPTS",
        "    The scripts waiting to run or running.",
        "REMOVE <master-name>",
        "    Stops monitoring a master.",
        "REPLICAS <master-name>",
        "    The replicas of a master.",
        "RESET <pattern>",
        "    Forgets the replicas and Sentinels of the matching masters, and finds them again.",
        "SENTINELS <master-name>",
        "    The other Sentinels monitoring a master.",
        "SET <master-name> <option> <value> [<option> <value> ...]",
        "    Changes options of a monitored master.",
        "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
        "    Makes this Sentinel crash at a point of a failover, for testing.",
        "HELP",
        "    Prints this help.",
    ];
    ctx.reply.array(LINES.len());
    for l in LINES {
        ctx.reply.simple(l);
    }
}

/// ROLE on a Sentinel: `sentinel` and the names of the masters it monitors.
pub fn role(ctx: &mut Ctx) -> CmdResult {
    let names: Vec<String> = sentinel_of(ctx)?
        .monitor
        .masters
        .iter()
        .map(|m| m.config.name.clone())
        .collect();
    ctx.reply.array(2);
    ctx.reply.bulk(b"sentinel");
    ctx.reply.array(names.len());
    for n in names {
        ctx.reply.bulk(n.as_bytes());
    }
    Ok(())
}

/// PUBLISH on a Sentinel: only hellos (from other Sentinels) are taken,
/// and they are read, not delivered.
pub fn publish_hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args[1].as_ref() != redust_sentinel::hello::CHANNEL.as_bytes() {
        return Err("ERR Only HELLO messages are accepted by Sentinel instances.".into());
    }
    let now = ctx.state.now_ms;
    let s = sentinel_of(ctx)?;
    let epoch = s.monitor.current_epoch;
    let actions = s.monitor.on_hello(&args[2], now);
    let learned = s.monitor.current_epoch != epoch;
    // A newer epoch is saved before anything else happens, as Redis does.
    if learned {
        let _ = flush_config(ctx.state);
    }
    emit_from(ctx, actions);
    ctx.reply.int(1);
    Ok(())
}
