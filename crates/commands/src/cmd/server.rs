//! Server commands: INFO, CONFIG, COMMAND, TIME, SHUTDOWN, MONITOR, SLOWLOG,
//! LATENCY, MEMORY, DEBUG, WAIT.

use crate::args::{eq_ignore_case, lossy, parse_f64, parse_i64};
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::Ctx;
use crate::info;
use crate::spec;
use crate::state::{ShutdownRequest, State};
use bytes::Bytes;
use redust_keyspace::{NodeFill, Value, ValueRef};

pub fn info(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|a| lossy(a).to_ascii_lowercase())
        .collect();
    let text = info::render(ctx.state, ctx.client, &sections);
    ctx.reply.verbatim(text.as_bytes());
    Ok(())
}

pub fn config(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" => {
            let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
            let pairs = ctx.state.config.get(&patterns);
            ctx.reply.map(pairs.len());
            for (k, v) in pairs {
                ctx.reply.bulk(k.as_bytes());
                ctx.reply.bulk(v.as_bytes());
            }
        }
        b"set" => {
            if !args.len().is_multiple_of(2) {
                return Err(errors::SYNTAX.into());
            }
            let pairs: Vec<(&[u8], &[u8])> = args[2..]
                .chunks(2)
                .map(|p| (&p[0][..], &p[1][..]))
                .collect();
            let before = ctx.state.config.clone();
            let changed = ctx.state.config.set(&pairs).map_err(CmdError::from)?;
            apply_oom_score(ctx.state, &pairs, &changed, before)?;
            apply_config_changes(ctx.state, &changed);
            ctx.reply.ok();
        }
        b"resetstat" => {
            ctx.state.stats.reset();
            ctx.state.diag.slowlog.clear();
            ctx.reply.ok();
        }
        b"rewrite" => {
            let extras = rewrite_extras(ctx.state);
            ctx.state
                .config
                .rewrite_with(&extras)
                .map_err(CmdError::from)?;
            ctx.reply.ok();
        }
        b"help" => help(
            ctx,
            &[
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "REWRITE",
                "    Rewrite the configuration file.",
                "HELP",
                "    Prints this help.",
            ],
        ),
        _ => return Err(errors::unknown_subcommand(&args[1], "config")),
    }
    Ok(())
}

/// Applies a CONFIG SET of `oom-score-adj(-values)` to the process; when the
/// kernel refuses, the whole SET is rolled back as Redis does.
fn apply_oom_score(
    state: &mut State,
    pairs: &[(&[u8], &[u8])],
    changed: &[&'static str],
    before: redust_config::Config,
) -> Result<(), CmdError> {
    const NAMES: [&str; 2] = ["oom-score-adj", "oom-score-adj-values"];
    if !changed.iter().any(|c| NAMES.contains(c)) {
        return Ok(());
    }
    if changed.contains(&"oom-score-adj-values") {
        crate::oom_score::warn_if_unordered(state);
    }
    if crate::oom_score::apply(state) {
        return Ok(());
    }
    let name = pairs
        .iter()
        .map(|(n, _)| String::from_utf8_lossy(n).to_ascii_lowercase())
        .find(|n| NAMES.contains(&n.as_str()))
        .unwrap_or_default();
    state.log_warning(&format!(
        "Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings."
    ));
    state.config = before;
    if !crate::oom_score::apply(state) {
        state.log_warning(
            "Failed applying restored failed CONFIG SET command: Failed to set current oom_score_adj. Check server logs.",
        );
    }
    Err(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {}",
        redust_config::messages::APPLY_OOM_SCORE_ADJ_FAILED
    )
    .into())
}

/// Carries out what a CONFIG SET changed: eviction for a lower maxmemory, and
/// whatever the server crate registered for the rest (log level, ...).
pub fn apply_config_changes(state: &mut State, changed: &[&'static str]) {
    if changed.contains(&"requirepass") {
        let password = state.config.requirepass.clone();
        state.acl.set_default_password(password.as_deref());
    }
    if changed.contains(&"acl-pubsub-default") {
        state.acl.pubsub_all =
            state.config.acl_pubsub_default == redust_config::AclPubsubDefault::AllChannels;
    }
    if changed.contains(&"maxmemory") || changed.contains(&"maxmemory-policy") {
        crate::evict::perform_evictions(state);
    }
    let host = state.host.clone();
    host.config_changed(state, changed);
}

/// What other subsystems add to a config rewrite: the ACL users (unless
/// they live in an `aclfile`).
pub fn rewrite_extras(state: &State) -> redust_config::RewriteExtras {
    redust_config::RewriteExtras {
        user_lines: state.config.aclfile.is_empty().then(|| {
            state
                .acl
                .list_lines()
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect()
        }),
        loadmodule_lines: None,
    }
}

fn help(ctx: &mut Ctx, lines: &[&str]) {
    ctx.reply.array(lines.len());
    for l in lines {
        ctx.reply.simple(l);
    }
}

pub fn command(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let table = ctx.state.commands.clone();
    let implemented = |name: &str| table.implemented(name);
    if args.len() == 1 {
        let mut specs: Vec<&'static spec::CommandSpec> =
            table.iter().map(|(_, c)| c.spec).collect();
        specs.sort_by_key(|s| s.name);
        ctx.reply.array(specs.len());
        for s in specs {
            spec::write_command_info(ctx.reply, s, &implemented);
        }
        return Ok(());
    }
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"count" => ctx.reply.int(table.len() as i64),
        b"info" => {
            let names: Vec<Vec<u8>> = if args.len() == 2 {
                let mut v: Vec<Vec<u8>> = table.iter().map(|(k, _)| k.clone()).collect();
                v.sort();
                v
            } else {
                args[2..].iter().map(|a| a.to_vec()).collect()
            };
            ctx.reply.array(names.len());
            for n in names {
                match resolve_spec_name(&table, &n) {
                    Some(s) => spec::write_command_info(ctx.reply, s, &implemented),
                    None => ctx.reply.null(),
                }
            }
        }
        b"docs" => {
            let names: Vec<Vec<u8>> = if args.len() == 2 {
                let mut v: Vec<Vec<u8>> = table.iter().map(|(k, _)| k.clone()).collect();
                v.sort();
                v
            } else {
                args[2..].iter().map(|a| a.to_vec()).collect()
            };
            let found: Vec<(&Vec<u8>, &'static spec::CommandSpec)> = names
                .iter()
                .filter_map(|n| resolve_spec_name(&table, n).map(|s| (n, s)))
                .collect();
            ctx.reply.map(found.len());
            for (_, s) in found {
                spec::write_command_docs(ctx.reply, s, &implemented);
            }
        }
        b"getkeys" | b"getkeysandflags" => {
            if args.len() < 3 {
                return Err(errors::wrong_args(&format!("command|{}", lossy(&sub))));
            }
            let cmd_args = &args[2..];
            // The executor's table (renames applied) first; then every other
            // command Redis 7.0 knows in this mode (the table's specs),
            // implemented here or not: clients ask for the keys of any
            // command (cluster routing).
            let spec = match table.lookup(&cmd_args[0]) {
                Some(c) if !c.spec.subcommands.is_empty() && cmd_args.len() > 1 => {
                    spec::find_subcommand(c.spec, &cmd_args[1])
                }
                Some(c) => Some(c.spec),
                None => spec::lookup_command_in(table.specs(), cmd_args)
                    .filter(|s| !table.implemented(s.name)),
            };
            let Some(s) = spec else {
                return Err("ERR Invalid command specified".into());
            };
            let keys = spec::get_keys_and_flags(s, cmd_args).map_err(CmdError::from)?;
            ctx.reply.array(keys.len());
            for k in keys {
                if sub.as_slice() == b"getkeys" {
                    ctx.reply.bulk(&cmd_args[k.pos]);
                } else {
                    ctx.reply.array(2);
                    ctx.reply.bulk(&cmd_args[k.pos]);
                    ctx.reply.set(k.flags.len());
                    for f in k.flags {
                        ctx.reply.simple(f);
                    }
                }
            }
        }
        b"list" => {
            let mut names: Vec<String> = spec::all_specs_in(table.specs())
                .filter(|s| table.implemented(s.name))
                .map(|s| s.name.to_string())
                .collect();
            if args.len() >= 5 && eq_ignore_case(&args[2], "filterby") {
                let value = &args[4];
                if eq_ignore_case(&args[3], "pattern") {
                    names.retain(|n| redust_config::glob_match(value, n.as_bytes(), true));
                } else if eq_ignore_case(&args[3], "aclcat") {
                    let cat = format!("@{}", lossy(value).to_ascii_lowercase());
                    names.retain(|n| {
                        table
                            .find_spec(n.as_bytes())
                            .is_some_and(|s| s.acl_categories.contains(&cat.as_str()))
                    });
                } else if eq_ignore_case(&args[3], "module") {
                    names.clear();
                } else {
                    return Err(errors::SYNTAX.into());
                }
            } else if args.len() != 2 {
                return Err(errors::SYNTAX.into());
            }
            names.sort();
            ctx.reply.array(names.len());
            for n in names {
                ctx.reply.bulk(n.as_bytes());
            }
        }
        b"help" => help(
            ctx,
            &[
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
                "GETKEYSANDFLAGS <full-command>",
                "    Return the keys and the access flags from a full Redis command.",
                "HELP",
                "    Prints this help.",
            ],
        ),
        _ => return Err(errors::unknown_subcommand(&args[1], "command")),
    }
    Ok(())
}

pub fn time(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.reply.array(2);
    ctx.reply.bulk(now.as_secs().to_string().as_bytes());
    ctx.reply.bulk(now.subsec_micros().to_string().as_bytes());
    Ok(())
}

pub fn shutdown(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut request = ShutdownRequest::Default;
    for a in &args[1..] {
        if eq_ignore_case(a, "nosave") {
            if request == ShutdownRequest::Save {
                return Err(errors::SYNTAX.into());
            }
            request = ShutdownRequest::NoSave;
        } else if eq_ignore_case(a, "save") {
            if request == ShutdownRequest::NoSave {
                return Err(errors::SYNTAX.into());
            }
            request = ShutdownRequest::Save;
        } else if eq_ignore_case(a, "now") || eq_ignore_case(a, "force") {
        } else if eq_ignore_case(a, "abort") {
            return Err("ERR No shutdown in progress.".into());
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    // A busy script leaves only SHUTDOWN NOSAVE.
    if request != ShutdownRequest::NoSave {
        if let Some(busy) = crate::scripting::busy_refusal(ctx.state) {
            return Err(busy.into());
        }
    }
    let wants_save = match request {
        ShutdownRequest::Save => true,
        ShutdownRequest::NoSave => false,
        ShutdownRequest::Default => !ctx.state.config.save.is_empty(),
    };
    ctx.state.log_warning("User requested shutdown...");
    crate::persist::bgsave_abort(ctx.state);
    // No write may land after the final snapshot: the replicas, which the
    // server waits for before exiting, must end where the file does.
    let pause_before = ctx.state.pause.replace(crate::state::Pause {
        until_ms: i64::MAX,
        writes_only: true,
    });
    if wants_save {
        ctx.state
            .log_notice("Saving the final RDB snapshot before exiting.");
        if crate::persist::save(ctx.state).is_err() {
            ctx.state
                .log_warning("Error trying to save the DB, can't exit.");
            ctx.state.log_warning(
                "Errors trying to shut down the server. Check the logs for more information.",
            );
            ctx.state.set_pause(pause_before);
            return Err("ERR Errors trying to SHUTDOWN. Check logs.".into());
        }
    }
    ctx.state.shutdown = Some(request);
    // The server wakes its main task through any handle; this connection closes.
    ctx.client.close_after_reply = true;
    ctx.state.host.shutdown_requested();
    Ok(())
}

pub fn monitor(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err("ERR MONITOR isn't allowed in this context".into());
    }
    if !ctx.client.monitor {
        ctx.client.monitor = true;
        ctx.state.clients.monitors.push(ctx.client.id);
    }
    ctx.reply.ok();
    Ok(())
}

pub fn slowlog(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" => {
            let count = match args.get(2) {
                None => 10,
                Some(a) => {
                    let n =
                        parse_i64(a).map_err(|_| CmdError::from(errors::COUNT_BELOW_MINUS_ONE))?;
                    if n < -1 {
                        return Err(errors::COUNT_BELOW_MINUS_ONE.into());
                    }
                    if n == -1 {
                        usize::MAX
                    } else {
                        n as usize
                    }
                }
            };
            let entries: Vec<_> = ctx.state.diag.slowlog.iter().take(count).cloned().collect();
            ctx.reply.array(entries.len());
            for e in entries {
                ctx.reply.array(6);
                ctx.reply.int(e.id as i64);
                ctx.reply.int(e.time_secs);
                ctx.reply.int(e.duration_us as i64);
                ctx.reply.array(e.args.len());
                for a in &e.args {
                    ctx.reply.bulk(a);
                }
                ctx.reply.bulk(e.peer.as_bytes());
                ctx.reply.bulk(&e.client_name);
            }
        }
        b"len" => ctx.reply.int(ctx.state.diag.slowlog.len() as i64),
        b"reset" => {
            ctx.state.diag.slowlog.clear();
            ctx.reply.ok();
        }
        b"help" => help(
            ctx,
            &[
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ],
        ),
        _ => return Err(errors::unknown_subcommand(&args[1], "slowlog")),
    }
    Ok(())
}

pub fn latency(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"latest" => {
            let mut events: Vec<_> = ctx
                .state
                .diag
                .latency
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect();
            events.sort_by_key(|(k, _)| *k);
            ctx.reply.array(events.len());
            for (name, ev) in events {
                let (t, ms) = ev.samples.back().copied().unwrap_or((0, 0));
                ctx.reply.array(4);
                ctx.reply.bulk(name.as_bytes());
                ctx.reply.int(t);
                ctx.reply.int(ms as i64);
                ctx.reply.int(ev.max_ms as i64);
            }
        }
        b"history" => {
            if args.len() != 3 {
                return Err(errors::wrong_args("latency|history"));
            }
            let name = lossy(&args[2]);
            let samples: Vec<(i64, u64)> = ctx
                .state
                .diag
                .latency
                .get(name.as_str())
                .map(|e| e.samples.iter().copied().collect())
                .unwrap_or_default();
            ctx.reply.array(samples.len());
            for (t, ms) in samples {
                ctx.reply.array(2);
                ctx.reply.int(t);
                ctx.reply.int(ms as i64);
            }
        }
        b"reset" => {
            let n = if args.len() == 2 {
                let n = ctx.state.diag.latency.len();
                ctx.state.diag.latency.clear();
                n
            } else {
                let mut n = 0;
                for a in &args[2..] {
                    if ctx.state.diag.latency.remove(lossy(a).as_str()).is_some() {
                        n += 1;
                    }
                }
                n
            };
            ctx.reply.int(n as i64);
        }
        b"doctor" => {
            let text = latency_doctor(ctx.state);
            ctx.reply.verbatim(text.as_bytes());
        }
        b"graph" => {
            if args.len() != 3 {
                return Err(errors::wrong_args("latency|graph"));
            }
            let name = lossy(&args[2]);
            let Some(ev) = ctx
                .state
                .diag
                .latency
                .get(name.as_str())
                .filter(|e| !e.samples.is_empty())
            else {
                return Err(format!("ERR No samples available for event '{name}'").into());
            };
            let text = latency_graph(&name, ev, ctx.state.now_ms / 1000);
            ctx.reply.verbatim(text.as_bytes());
        }
        b"histogram" => ctx.reply.map(0),
        b"help" => help(
            ctx,
            &[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HELP",
                "    Prints this help.",
            ],
        ),
        _ => return Err(errors::unknown_subcommand(&args[1], "latency")),
    }
    Ok(())
}

pub fn memory(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"usage" => {
            let mut i = 3;
            while i < args.len() {
                if eq_ignore_case(&args[i], "samples") && i + 1 < args.len() {
                    parse_i64(&args[i + 1])?;
                    i += 2;
                } else {
                    return Err(errors::SYNTAX.into());
                }
            }
            let key = &args[2];
            let now = ctx.now_ms();
            if ctx.db().get(key, now).is_none() {
                crate::notify::flush_expired(ctx.state);
                ctx.reply.null();
                return Ok(());
            }
            let bytes = ctx.db().key_memory_bytes(key).unwrap_or(0);
            ctx.reply.int(bytes as i64);
        }
        b"stats" => {
            ctx.state.refresh_memory();
            let m = ctx.state.memory.figures;
            let keys: usize = ctx.state.dbs.iter().map(|d| d.len()).sum();
            let startup = ctx.state.memory.startup_allocated;
            let dataset = m.allocated.saturating_sub(startup);
            let fields: Vec<(&str, i64)> = vec![
                (
                    "peak.allocated",
                    ctx.state.memory.peak_allocated.max(m.allocated) as i64,
                ),
                ("total.allocated", m.allocated as i64),
                ("startup.allocated", startup as i64),
                ("replication.backlog", 0),
                ("clients.slaves", 0),
                (
                    "clients.normal",
                    (ctx.state.connected_clients() * 20_000) as i64,
                ),
                (
                    "cluster.links",
                    ctx.state.cluster.as_ref().map_or(0, |c| c.links_memory()) as i64,
                ),
                ("aof.buffer", 0),
                ("lua.caches", 0),
                ("functions.caches", 0),
                ("overhead.total", startup as i64),
                ("keys.count", keys as i64),
            ];
            let dbs: Vec<(usize, usize, usize)> = ctx
                .state
                .dbs
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.is_empty())
                .map(|(i, d)| (i, d.len(), d.expires_len()))
                .collect();
            ctx.reply.map(fields.len() + 15 + dbs.len());
            for (k, v) in fields.iter().take(10) {
                ctx.reply.bulk(k.as_bytes());
                ctx.reply.int(*v);
            }
            // Per database: the table overhead for keys and for expiry times.
            for (i, _, expires) in dbs {
                let main = ctx.state.dbs[i].table_memory_bytes();
                ctx.reply.bulk(format!("db.{i}").as_bytes());
                ctx.reply.map(2);
                ctx.reply.bulk(b"overhead.hashtable.main");
                ctx.reply.int(main as i64);
                ctx.reply.bulk(b"overhead.hashtable.expires");
                ctx.reply.int((expires * 40) as i64);
            }
            for (k, v) in fields.iter().skip(10) {
                ctx.reply.bulk(k.as_bytes());
                ctx.reply.int(*v);
            }
            ctx.reply.bulk(b"keys.bytes-per-key");
            ctx.reply.int(if keys > 0 {
                (dataset / keys as u64) as i64
            } else {
                0
            });
            ctx.reply.bulk(b"dataset.bytes");
            ctx.reply.int(dataset as i64);
            ctx.reply.bulk(b"dataset.percentage");
            ctx.reply.double(if m.allocated > 0 {
                dataset as f64 * 100.0 / m.allocated as f64
            } else {
                0.0
            });
            ctx.reply.bulk(b"peak.percentage");
            let peak = ctx.state.memory.peak_allocated.max(m.allocated).max(1);
            ctx.reply.double(m.allocated as f64 * 100.0 / peak as f64);
            let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
            for (k, v) in [
                ("allocator.allocated", m.allocated),
                ("allocator.active", m.active),
                ("allocator.resident", m.resident),
            ] {
                ctx.reply.bulk(k.as_bytes());
                ctx.reply.int(v as i64);
            }
            ctx.reply.bulk(b"allocator-fragmentation.ratio");
            ctx.reply.double(ratio(m.active, m.allocated));
            ctx.reply.bulk(b"allocator-fragmentation.bytes");
            ctx.reply.int(m.active as i64 - m.allocated as i64);
            ctx.reply.bulk(b"allocator.rss-ratio");
            ctx.reply.double(ratio(m.resident, m.active));
            ctx.reply.bulk(b"allocator.rss-bytes");
            ctx.reply.int(m.resident as i64 - m.active as i64);
            ctx.reply.bulk(b"rss-overhead.ratio");
            ctx.reply.double(ratio(m.rss, m.resident));
            ctx.reply.bulk(b"rss-overhead.bytes");
            ctx.reply.int(m.rss as i64 - m.resident as i64);
            ctx.reply.bulk(b"fragmentation");
            ctx.reply.double(ratio(m.rss, m.allocated));
            ctx.reply.bulk(b"fragmentation.bytes");
            ctx.reply.int(m.rss as i64 - m.allocated as i64);
        }
        b"doctor" => {
            let keys: usize = ctx.state.dbs.iter().map(|d| d.len()).sum();
            let text = if keys == 0 {
                "This instance is empty (or nearly): there is no memory usage to analyze yet.\n"
            } else {
                "No memory problem detected: fragmentation, peak usage and client buffers look normal.\n"
            };
            ctx.reply.verbatim(text.as_bytes());
        }
        b"malloc-stats" => ctx
            .reply
            .verbatim(b"Stats not supported for the current allocator\n"),
        b"purge" => ctx.reply.ok(),
        b"help" => help(
            ctx,
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Prints this help.",
            ],
        ),
        _ => return Err(errors::unknown_subcommand(&args[1], "memory")),
    }
    Ok(())
}

// ---- DEBUG ----

fn debug_allowed(ctx: &Ctx) -> bool {
    let ip = ctx.client.addr.rsplit_once(':').map_or("", |(ip, _)| ip);
    let local = ip == "127.0.0.1" || ip == "::1" || ctx.client.addr.starts_with('/');
    ctx.state.config.enable_debug_command.allows(local)
}

/// Redis's type numbers (OBJ_STRING ... OBJ_HASH), as the digest mixes them.
fn object_type_code(v: ValueRef) -> u32 {
    match v {
        ValueRef::Int(_) | ValueRef::Str(_) | ValueRef::RawStr(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
    }
}

/// `digest ^= sha1(data)`.
fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, h) in digest.iter_mut().zip(hash.iter()) {
        *d ^= h;
    }
}

/// `digest = sha1(digest ^ sha1(data))`, Redis's mixDigest.
fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

/// The digest of one value, as Redis's DEBUG DIGEST-VALUE computes it.
fn value_digest(digest: &mut [u8; 20], value: ValueRef, has_expire: bool) {
    mix_digest(digest, &object_type_code(value).to_be_bytes());
    match value {
        ValueRef::List(items) => {
            for item in items.iter() {
                mix_digest(digest, &item);
            }
        }
        // Unordered types: each element's own digest is xored in, so the
        // order of iteration does not matter.
        ValueRef::Set(set) => {
            for member in set.members() {
                xor_digest(digest, &member);
            }
        }
        ValueRef::ZSet(zset) => {
            for (member, score) in zset.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, member);
                mix_digest(&mut element, redust_resp::format_double(score).as_bytes());
                xor_digest(digest, &element);
            }
        }
        ValueRef::Hash(hash) => {
            for (field, value) in hash.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, field);
                mix_digest(&mut element, value);
                xor_digest(digest, &element);
            }
        }
        v => {
            let bytes = v.string_bytes().unwrap_or_default();
            mix_digest(digest, &bytes);
        }
    }
    if has_expire {
        xor_digest(digest, b"!!expire!!");
    }
}

/// The dataset digest Redis's DEBUG DIGEST prints (all zeros when empty).
pub fn dataset_digest(state: &State) -> [u8; 20] {
    let mut total = [0u8; 20];
    for (i, db) in state.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        mix_digest(&mut total, &(i as u32).to_be_bytes());
        db.for_each(|key, entry| {
            let mut d = [0u8; 20];
            mix_digest(&mut d, key);
            value_digest(&mut d, entry.value(), db.expire_at(key).is_some());
            xor_digest(&mut total, &d);
        });
    }
    total
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG LOADAOF: writes what the AOF has pending, then replaces the
/// dataset with a replay of the AOF's files.
fn debug_loadaof(ctx: &mut Ctx) -> CmdResult {
    let Some(aof) = ctx.state.aof.file.as_mut() else {
        // Redis exits here (it finds no AOF to load); refusing keeps the data.
        return Err("ERR DEBUG LOADAOF needs appendonly yes".into());
    };
    aof.write_pending(true)
        .map_err(|e| CmdError::from(format!("ERR Error writing the AOF: {e}")))?;
    let (dir, filename) = (aof.dir.clone(), aof.filename.clone());
    let mut loader = crate::state::State::new(
        ctx.state.config.clone(),
        ctx.state.now_ms,
        ctx.state.commands.clone(),
    );
    // The load's lines go to the server's log, as Redis writes them.
    loader.host = ctx.state.host.clone();
    crate::aof::load(&mut loader, &dir, &filename)
        .map_err(|e| CmdError::from(format!("ERR Error loading the AOF: {e}")))?;
    crate::notify::signal_flushed(ctx.state, None);
    crate::persist::install(ctx.state, std::mem::take(&mut loader.dbs));
    crate::scripting::take_libraries(ctx.state, &mut loader);
    ctx.state
        .log_warning("Append Only File loaded by DEBUG LOADAOF");
    ctx.reply.ok();
    Ok(())
}

pub fn debug(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.".into());
    }
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"sleep" if args.len() == 3 => {
            let secs = parse_f64(&args[2])?.clamp(0.0, 3600.0);
            // Like Redis, this blocks the whole server on purpose.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            ctx.reply.ok();
        }
        b"populate" if (3..=5).contains(&args.len()) => {
            let count = parse_i64(&args[2])
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CmdError::from(errors::OUT_OF_RANGE_POSITIVE))?;
            let prefix = args.get(3).map_or(&b"key"[..], |p| &p[..]).to_vec();
            let size = match args.get(4) {
                Some(s) => Some(parse_i64(s)?.max(0) as usize),
                None => None,
            };
            for i in 0..count {
                let mut key = prefix.clone();
                key.extend_from_slice(format!(":{i}").as_bytes());
                if ctx.exists(&key) {
                    continue;
                }
                let mut value = format!("value:{i}").into_bytes();
                if let Some(size) = size {
                    value.resize(size, 0);
                }
                let lru = ctx.new_lru();
                ctx.db()
                    .insert(redust_keyspace::Entry::new(&key, Value::from_vec(value), lru));
            }
            ctx.reply.ok();
        }
        b"digest" if args.len() == 2 => {
            let d = dataset_digest(ctx.state);
            ctx.reply.simple(&hex(&d));
        }
        b"digest-value" => {
            let keys = &args[2..];
            ctx.reply.array(keys.len());
            for key in keys {
                let mut d = [0u8; 20];
                let now = ctx.now_ms();
                let has_expire = ctx.db().expire_at(key).is_some();
                if let Some(e) = ctx.db().get(key, now) {
                    value_digest(&mut d, e.value(), has_expire);
                }
                ctx.reply.simple(&hex(&d));
            }
        }
        b"object" if args.len() == 3 => {
            let now = ctx.now_ms();
            let fill = ctx.state.config.list_max_listpack_size;
            let opts = crate::persist::writer_options(ctx.state);
            let Some(e) = ctx.db().get(&args[2], now) else { return Err(errors::NO_SUCH_KEY.into()) };
            let idle = redust_keyspace::lru::lru_idle_ms(e.lru(), now) / 1000;
            let shared = matches!(e.value(), ValueRef::Int(n) if (0..10000).contains(&n));
            // Lists add Redis's quicklist fields (the uncompressed size is of our listpacks).
            let extra = match e.value() {
                ValueRef::List(l) => format!(
                    " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
                    l.node_count(),
                    l.len() as f64 / l.node_count().max(1) as f64,
                    fill,
                    u8::from(l.compress_depth() != 0),
                    l.uncompressed_bytes()
                ),
                _ => String::new(),
            };
            let line = format!(
                "Value at:0x{:x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{}",
                e as *const _ as usize,
                if shared { i32::MAX } else { 1 },
                e.value().encoding_name(),
                serialized_length(&opts, e.value()),
                e.lru(),
                idle,
                extra
            );
            ctx.reply.simple(&line);
        }
        b"reload" => {
            if ctx.state.rdb.bgsave_running() {
                return Err(crate::cmd::persistence::BGSAVE_IN_PROGRESS.into());
            }
            let mut save = true;
            for a in &args[2..] {
                if eq_ignore_case(a, "nosave") {
                    save = false;
                } else if !eq_ignore_case(a, "noflush") {
                    return Err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.".into());
                }
            }
            if save {
                crate::persist::save(ctx.state).map_err(|_| CmdError::from("ERR Error trying to save the DB"))?;
            }
            // The load replaces the dataset whole, so NOFLUSH changes nothing here.
            let path = crate::persist::rdb_path(ctx.state);
            let stats = crate::persist::load_from(ctx.state, &path, ctx.state.repl.master.is_some())
                .map_err(|e| CmdError::from(format!("ERR Error trying to load the RDB dump: {e}")))?;
            ctx.state.rdb.last_load = crate::persist::LoadStats {
                expired_skipped: Vec::new(),
                ..stats
            };
            ctx.state.log_warning("DB reloaded by DEBUG RELOAD");
            crate::notify::signal_flushed(ctx.state, None);
            ctx.reply.ok();
        }
        b"set-active-expire" if args.len() == 3 => {
            ctx.state.active_expire_enabled = parse_i64(&args[2])? != 0;
            ctx.reply.ok();
        }
        b"quicklist-packed-threshold" if args.len() == 3 => {
            let ok = redust_config::values::parse_memory(&args[2])
                .is_some_and(redust_keyspace::list::set_packed_threshold);
            if !ok {
                return Err("ERR argument must be a memory value bigger than 1 and smaller than 4gb".into());
            }
            ctx.reply.ok();
        }
        b"quicklist" if args.len() == 3 || args.len() == 4 => {
            let now = ctx.now_ms();
            let fill = NodeFill::new(ctx.state.config.list_max_listpack_size);
            let Some(e) = ctx.db().get(&args[2], now) else { return Err(errors::NO_SUCH_KEY.into()) };
            let ValueRef::List(l) = e.value() else {
                return Err("ERR Not a quicklist encoded object.".into());
            };
            // On stdout, as Redis prints it: a debugging aid, not a reply.
            print!("{}", l.describe(fill));
            ctx.reply.simple("Quicklist structure printed on stdout");
        }
        b"listpack" if args.len() == 3 => {
            let now = ctx.now_ms();
            let Some(e) = ctx.db().get(&args[2], now) else { return Err(errors::NO_SUCH_KEY.into()) };
            if e.value().encoding_name() != "listpack" {
                return Err("ERR Not a listpack encoded object.".into());
            }
            println!("{{listpack {} encoded as listpack}}", lossy(&args[2]));
            ctx.reply.simple("Listpack structure printed on stdout");
        }
        b"drop-cluster-packet-filter" if args.len() == 3 => {
            let kind = parse_i64(&args[2])?;
            if let Some(c) = ctx.state.cluster.as_mut() {
                c.machine.drop_packet_filter = kind;
            }
            ctx.reply.ok();
        }
        b"clusterlink" if args.len() == 5 && eq_ignore_case(&args[2], "kill") => {
            let Some(c) = ctx.state.cluster.as_mut() else {
                return Err("ERR Debug option only available for cluster mode enabled setup!".into());
            };
            let id = lossy(&args[4]);
            if !c.machine.nodes.contains_key(&id) {
                return Err(format!("ERR Unknown node {id}").into());
            }
            let dir = args[3].to_ascii_lowercase();
            let (to, from) = match dir.as_slice() {
                b"to" => (true, false),
                b"from" => (false, true),
                b"all" => (true, true),
                _ => return Err(format!("ERR Unknown direction {}", lossy(&args[3])).into()),
            };
            let actions = c.machine.kill_links(&id, to, from);
            crate::cluster::apply(ctx.state, actions);
            ctx.reply.ok();
        }
        b"pause-cron" if args.len() == 3 => {
            ctx.state.debug.pause_cron = parse_i64(&args[2])? != 0;
            ctx.reply.ok();
        }
        b"set-skip-checksum-validation" if args.len() == 3 => {
            ctx.state.debug.skip_checksum_validation = parse_i64(&args[2])? != 0;
            ctx.reply.ok();
        }
        b"aof-flush-sleep" if args.len() == 3 => {
            ctx.state.debug.aof_flush_sleep_us = parse_i64(&args[2])?.max(0) as u64;
            ctx.reply.ok();
        }
        b"log" if args.len() == 3 => {
            ctx.state.log_warning(&format!("DEBUG LOG: {}", lossy(&args[2])));
            ctx.reply.ok();
        }
        b"error" if args.len() == 3 => {
            // Verbatim, for client tests: the caller chooses the error code.
            ctx.reply.error(&lossy(&args[2]));
        }
        b"change-repl-id" if args.len() == 2 => {
            ctx.state.repl.fresh_history();
            ctx.state.log_warning("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.reply.ok();
        }
        b"replybuffer" if args.len() == 4 && eq_ignore_case(&args[2], "peak-reset-time") => {
            ctx.state.debug.reply_buffer_peak_reset_ms = if eq_ignore_case(&args[3], "never") {
                None
            } else if eq_ignore_case(&args[3], "reset") {
                Some(5000)
            } else {
                Some(parse_i64(&args[3])?)
            };
            ctx.reply.ok();
        }
        b"replybuffer" if args.len() == 4 && eq_ignore_case(&args[2], "resizing") => {
            ctx.state.debug.reply_buffer_resizing = parse_i64(&args[3])? != 0;
            ctx.reply.ok();
        }
        b"loadaof" if args.len() == 2 => debug_loadaof(ctx)?,
        // Crash on purpose, to test the crash report (as Redis's DEBUG does).
        b"segfault" if args.len() == 2 => {
            // SAFETY: raising a signal for this process; its handler reports.
            unsafe {
                libc::raise(libc::SIGSEGV);
            }
        }
        b"panic" if args.len() == 2 => {
            panic!("DEBUG PANIC called at Unix time {}", ctx.state.now_ms / 1000)
        }
        b"assert" if args.len() == 2 => {
            let two = std::hint::black_box(2);
            assert!(1 == two, "'1 == 2' is not true");
        }
        // Redis 7.0's entries for the subcommands served here, in its order.
        b"help" => help(
            ctx,
            &[
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "AOF-FLUSH-SLEEP <microsec>",
                "    Server will sleep before flushing the AOF, this is used for testing.",
                "ASSERT",
                "    Crash by assertion failed.",
                "CHANGE-REPL-ID",
                "    Change the replication IDs of the instance.",
                "    Dangerous: should be used only for testing the replication subsystem.",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "ERROR <string>",
                "    Return a Redis protocol error with <string> as message. Useful for clients",
                "    unit tests to simulate Redis errors.",
                "LOG <message>",
                "    Write <message> to the server log.",
                "LOADAOF",
                "    Flush the AOF buffers on disk and reload the AOF in memory.",
                "OBJECT <key>",
                "    Show low level info about `key` and associated value.",
                "DROP-CLUSTER-PACKET-FILTER <packet-type>",
                "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
                "PANIC",
                "    Crash the server simulating a panic.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                "    it is used instead of the 'key' prefix. These are not propagated to",
                "    replicas. Cluster slots are not respected so keys not belonging to the",
                "    current node can be created in cluster mode.",
                "RELOAD [option ...]",
                "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
                "    * MERGE: conflicting keys will be loaded from RDB.",
                "    * NOFLUSH: the existing database will not be removed before load, but",
                "      conflicting keys will generate an exception and kill the server.",
                "    * NOSAVE: the database will be loaded from an existing RDB file.",
                "    Examples:",
                "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
                "      the database.",
                "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
                "      existing RDB file.",
                "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
                "      file to the database.",
                "SEGFAULT",
                "    Crash the server with sigsegv.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "QUICKLIST-PACKED-THRESHOLD <size>",
                "    Sets the threshold for elements to be inserted as plain vs packed nodes",
                "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
                "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
                "LISTPACK <key>",
                "    Show low level info about the listpack encoding of <key>.",
                "QUICKLIST <key> [<0|1>]",
                "    Show low level info about the quicklist encoding of <key>.",
                "    The optional argument (0 by default) sets the level of detail",
                "PAUSE-CRON <0|1>",
                "    Stop periodic cron job processing.",
                "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
                "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
                "    In case NEVER is provided the last observed peak will never be reset",
                "    In case RESET is provided the peak reset time will be restored to the default value",
                "REPLYBUFFER RESIZING <0|1>",
                "    Enable or disable the reply buffer resize cron job",
                "CLUSTERLINK KILL <to|from|all> <node-id>",
                "    Kills the link based on the direction to/from (both) with the provided node.",
                "HELP",
                "    Prints this help.",
            ],
        ),
        _ => {
            return Err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                lossy(&args[1])
            )
            .into())
        }
    }
    Ok(())
}

/// The spec for a COMMAND INFO/DOCS name: a command, or `container|sub`,
/// from the table's own specs (Sentinel's in Sentinel mode).
fn resolve_spec_name(
    table: &crate::exec::CommandTable,
    name: &[u8],
) -> Option<&'static spec::CommandSpec> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    if table.implemented(&lower) {
        table.find_spec(lower.as_bytes())
    } else {
        None
    }
}

/// The bytes an RDB holds for a value (DEBUG OBJECT's serializedlength):
/// the body the RDB writer gives it under the current config, compression
/// included, as Redis's `rdbSavedObjectLen` counts it.
fn serialized_length(opts: &redust_persistence::WriterOptions, v: ValueRef) -> usize {
    let value = crate::persist::value_to_rdb(v);
    let compact = crate::persist::compact_encoding(v);
    // A DUMP payload is the type byte, the body, the version (2) and CRC (8).
    redust_persistence::dump_payload_encoded(&value, opts, compact)
        .map_or(0, |p| p.len().saturating_sub(11))
}

/// LATENCY DOCTOR: a short plain-language report of the recorded spikes.
fn latency_doctor(state: &State) -> String {
    if state.config.latency_monitor_threshold == 0 {
        return "Latency monitoring is disabled on this server: there is nothing to analyze. \
                Enable it with \"CONFIG SET latency-monitor-threshold <milliseconds>\".\n"
            .to_string();
    }
    if state.diag.latency.is_empty() {
        return "No latency spike was recorded since the server started (or since the last \
                LATENCY RESET). Nothing to worry about.\n"
            .to_string();
    }
    let mut events: Vec<_> = state.diag.latency.iter().collect();
    events.sort_by_key(|(k, _)| **k);
    let mut s = String::from("Latency spikes were recorded for these events:\n\n");
    for (i, (name, ev)) in events.iter().enumerate() {
        let avg =
            ev.samples.iter().map(|(_, ms)| *ms).sum::<u64>() / ev.samples.len().max(1) as u64;
        s.push_str(&format!(
            "{}. {}: {} latency spikes (average {}ms, worst {}ms).\n",
            i + 1,
            name,
            ev.samples.len(),
            avg,
            ev.max_ms
        ));
    }
    s.push_str(
        "\nCheck SLOWLOG GET for slow commands, and the host for swapping or CPU contention.\n",
    );
    s
}

/// LATENCY GRAPH: the samples of one event as a small ASCII chart, newest right.
fn latency_graph(name: &str, ev: &crate::state::LatencyEvent, now_secs: i64) -> String {
    const ROWS: u64 = 4;
    let max = ev.max_ms.max(1);
    let min = ev.samples.iter().map(|(_, ms)| *ms).min().unwrap_or(0);
    let mut s = format!(
        "{name} - high {max} ms, low {min} ms (all time high {} ms)\n",
        ev.max_ms
    );
    s.push_str(&"-".repeat(80));
    s.push('\n');
    let samples: Vec<&(i64, u64)> = ev
        .samples
        .iter()
        .rev()
        .take(80)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    for row in (1..=ROWS).rev() {
        let line: String = samples
            .iter()
            .map(|(_, ms)| if *ms * ROWS >= max * row { '#' } else { ' ' })
            .collect();
        s.push_str(line.trim_end());
        s.push('\n');
    }
    let ages: Vec<String> = samples
        .iter()
        .map(|(t, _)| format!("{}s", (now_secs - t).max(0)))
        .collect();
    s.push_str(&ages.join(" "));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use crate::exec::{CommandTable, Ctx, Handler, Mode};
    use crate::spec;
    use crate::state::State;
    use bytes::Bytes;
    use redust_resp::Reply;
    use std::sync::Arc;

    fn ok(ctx: &mut Ctx, _args: &[Bytes]) -> crate::errors::CmdResult {
        ctx.reply.ok();
        Ok(())
    }

    /// A node with Sentinel's command table: the Sentinel handlers there are,
    /// and a stand-in for every other command and subcommand of Redis 7.0
    /// Sentinel (SENTINEL itself, for one).
    fn sentinel_state() -> State {
        let specs = crate::exec::specs_for(Mode::Sentinel);
        let mut handlers: Vec<(&'static str, Handler)> = crate::cmd::handlers(Mode::Sentinel)
            .into_iter()
            .copied()
            .collect();
        for s in spec::all_specs_in(specs) {
            if !handlers.iter().any(|(name, _)| *name == s.name) {
                handlers.push((s.name, ok));
            }
        }
        let table = CommandTable::with_specs(specs, &handlers, &[]);
        State::new(redust_config::Config::default(), 0, Arc::new(table))
    }

    fn run(state: &mut State, args: &[&str]) -> Vec<u8> {
        let (mut client, _rx) = state.connect("127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, 0);
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut reply = Reply::new(false);
        crate::execute(state, &mut client, &args, &mut reply);
        reply.buf
    }

    fn bulk_list(reply: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(reply);
        text.split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty() && !l.starts_with('$'))
            .map(str::to_string)
            .collect()
    }

    /// What redis-server 7.0.15 --sentinel answers `COMMAND INFO` for a
    /// SENTINEL subcommand flagged `admin`.
    fn admin_sub_info(name: &str, arity: i32) -> String {
        format!(
            "*10\r\n${}\r\n{name}\r\n:{arity}\r\n*1\r\n+admin\r\n:0\r\n:0\r\n:0\r\n\
             *3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n",
            name.len()
        )
    }

    #[test]
    fn command_count_and_list_in_sentinel_mode() {
        let mut state = sentinel_state();
        assert_eq!(run(&mut state, &["command", "count"]), b":15\r\n");
        let list = run(&mut state, &["COMMAND", "LIST"]);
        assert!(list.starts_with(b"*72\r\n"));
        let names = bulk_list(&list);
        assert_eq!(names.len(), 72);
        for n in [
            "sentinel",
            "sentinel|set",
            "client|kill",
            "acl|whoami",
            "command|docs",
        ] {
            assert!(names.iter().any(|x| x == n), "{n}");
        }
        for n in ["get", "config", "config|get", "client|setinfo", "select"] {
            assert!(!names.iter().any(|x| x == n), "{n}");
        }
        let matching = run(
            &mut state,
            &["command", "list", "filterby", "pattern", "sentinel|s*"],
        );
        assert_eq!(
            bulk_list(&matching),
            [
                "sentinel|sentinels",
                "sentinel|set",
                "sentinel|simulate-failure",
                "sentinel|slaves"
            ]
        );
        // As Redis's Sentinel: 38 names, role, shutdown, 9 of ACL, 6 of
        // CLIENT, SENTINEL and 20 of its subcommands (not HELP).
        let admin = bulk_list(&run(
            &mut state,
            &["command", "list", "filterby", "aclcat", "admin"],
        ));
        assert_eq!(admin.len(), 38);
        assert!(admin.iter().any(|n| n == "sentinel|debug"));
        assert!(!admin.iter().any(|n| n == "sentinel|help"));
        assert_eq!(admin.iter().filter(|n| n.starts_with("acl|")).count(), 9);
        assert_eq!(admin.iter().filter(|n| n.starts_with("client|")).count(), 6);
    }

    #[test]
    fn command_info_and_docs_in_sentinel_mode_match_redis() {
        let mut state = sentinel_state();
        // Bytes as redis-server 7.0.15 --sentinel sends them.
        assert_eq!(
            String::from_utf8(run(&mut state, &["command", "info", "sentinel|set"])).unwrap(),
            format!("*1\r\n{}", admin_sub_info("sentinel|set", -5))
        );
        assert_eq!(
            run(&mut state, &["command", "info", "publish"]),
            b"*1\r\n*10\r\n$7\r\npublish\r\n:3\r\n*4\r\n+pubsub\r\n+loading\r\n+stale\r\n+fast\r\n\
              :0\r\n:0\r\n:0\r\n*2\r\n+@pubsub\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n"
        );
        assert_eq!(
            run(&mut state, &["command", "info", "get", "ping"]),
            b"*2\r\n$-1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n\
              *2\r\n+@fast\r\n+@connection\r\n*2\r\n$25\r\nrequest_policy:all_shards\r\n\
              $29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n"
        );
        // SENTINEL with its 21 subcommands (Redis lists them in hash order,
        // we sort them).
        let subs = [
            ("ckquorum", 3),
            ("config", -3),
            ("debug", -2),
            ("failover", 3),
            ("flushconfig", 2),
            ("get-master-addr-by-name", 3),
            ("help", 2),
            ("info-cache", -3),
            ("is-master-down-by-addr", 6),
            ("master", 3),
            ("masters", 2),
            ("monitor", 6),
            ("myid", 2),
            ("pending-scripts", 2),
            ("remove", 3),
            ("replicas", 3),
            ("reset", 3),
            ("sentinels", 3),
            ("set", -5),
            ("simulate-failure", -3),
            ("slaves", 3),
        ];
        let mut expected = String::from(
            "*1\r\n*10\r\n$8\r\nsentinel\r\n:-2\r\n*1\r\n+admin\r\n:0\r\n:0\r\n:0\r\n\
             *3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*21\r\n",
        );
        for (sub, arity) in subs {
            if sub == "help" {
                expected.push_str(
                    "*10\r\n$13\r\nsentinel|help\r\n:2\r\n*2\r\n+loading\r\n+stale\r\n\
                     :0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*0\r\n",
                );
            } else {
                expected.push_str(&admin_sub_info(&format!("sentinel|{sub}"), arity));
            }
        }
        assert_eq!(
            String::from_utf8(run(&mut state, &["command", "info", "sentinel"])).unwrap(),
            expected
        );
        // Docs: commands outside Sentinel's table are left out.
        assert_eq!(run(&mut state, &["command", "docs", "get"]), b"*0\r\n");
        let docs = String::from_utf8(run(&mut state, &["command", "docs", "sentinel"])).unwrap();
        assert!(docs.starts_with("*2\r\n$8\r\nsentinel\r\n"));
        assert!(docs.contains("$5\r\nsince\r\n$5\r\n2.8.4\r\n$5\r\ngroup\r\n$8\r\nsentinel\r\n"));
        assert!(docs.contains("$11\r\nsubcommands\r\n*42\r\n"));
        let slaves = run(&mut state, &["command", "docs", "sentinel|slaves"]);
        let slaves = String::from_utf8(slaves).unwrap();
        assert!(slaves.contains(
            "$9\r\ndoc_flags\r\n*1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n5.0.0\r\n"
        ));
        // GETKEYS knows Sentinel's commands only.
        assert_eq!(
            run(&mut state, &["command", "getkeys", "get", "a"]),
            b"-ERR Invalid command specified\r\n"
        );
        assert_eq!(
            run(&mut state, &["command", "getkeys", "sentinel", "masters"]),
            b"-ERR The command has no key arguments\r\n"
        );
    }
}
