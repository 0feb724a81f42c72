//! The INFO text: Redis 7.0's sections and field names.
//!
//! Field names are a wire API (Sentinel, exporters and tools parse them), so
//! they are spelled exactly as Redis spells them.

use crate::state::{Client, State};
use crate::stats::Stats;
use redust_resp::REDIS_VERSION;
use std::fmt::Write;

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// A Sentinel's sections, in the order it writes them.
const SENTINEL_SECTIONS: &[&str] = &["server", "clients", "stats", "cpu", "sentinel"];

/// Renders the requested sections (`default`, `all`, `everything` or names).
/// A Sentinel has its own five sections (all of them by default) and drops
/// any other.
pub fn render(state: &mut State, me: &Client, requested: &[String]) -> String {
    let (default_sections, all_sections) = if state.sentinel.is_some() {
        (SENTINEL_SECTIONS, SENTINEL_SECTIONS)
    } else {
        (DEFAULT_SECTIONS, ALL_SECTIONS)
    };
    let mut wanted: Vec<&str> = Vec::new();
    if requested.is_empty() {
        wanted.extend(default_sections);
    }
    for r in requested {
        match r.as_str() {
            "default" => wanted.extend(default_sections),
            "all" | "everything" => wanted.extend(all_sections),
            other => {
                if let Some(s) = all_sections.iter().find(|s| **s == other) {
                    wanted.push(s);
                }
            }
        }
    }
    let mut out = String::new();
    for section in all_sections {
        if !wanted.contains(section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *section {
            "server" => server(state, &mut out),
            "clients" => clients(state, me, &mut out),
            "memory" => memory(state, &mut out),
            "persistence" => persistence(state, &mut out),
            "stats" => stats(state, &mut out),
            "replication" => replication(state, &mut out),
            "cpu" => cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => commandstats(&state.stats, &mut out),
            "errorstats" => errorstats(&state.stats, &mut out),
            "latencystats" => latencystats(state, &mut out),
            "cluster" => out.push_str(&crate::cluster::info_section(state)),
            "keyspace" => keyspace(state, &mut out),
            "sentinel" => {
                if let Some(s) = &state.sentinel {
                    out.push_str("# Sentinel\r\n");
                    out.push_str(&s.info_section(state.now_ms));
                }
            }
            _ => {}
        }
    }
    out
}

fn line(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

/// Bytes as Redis's `bytesToHuman` shows them.
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else if n < 1024.0 * 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", n / (1024.0 * 1024.0 * 1024.0))
    } else {
        format!("{:.2}T", n / (1024.0 * 1024.0 * 1024.0 * 1024.0))
    }
}

fn server(state: &State, out: &mut String) {
    let uptime = (state.now_ms - state.node.start_ms).max(0) / 1000;
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    out.push_str("# Server\r\n");
    line(out, "redis_version", REDIS_VERSION);
    line(out, "redis_git_sha1", "00000000");
    line(out, "redis_git_dirty", 0);
    line(out, "redis_build_id", "0");
    let mode = if state.sentinel.is_some() {
        "sentinel"
    } else if state.cluster.is_some() {
        "cluster"
    } else {
        "standalone"
    };
    line(out, "redis_mode", mode);
    line(out, "redust_version", env!("CARGO_PKG_VERSION"));
    line(out, "os", std::env::consts::OS);
    line(out, "arch_bits", 64);
    line(out, "monotonic_clock", "POSIX clock_gettime");
    line(out, "multiplexing_api", "epoll");
    line(out, "atomicvar_api", "c11-builtin");
    line(out, "gcc_version", "0.0.0");
    line(out, "process_id", std::process::id());
    line(out, "process_supervised", "no");
    line(out, "run_id", &state.node.run_id);
    line(out, "tcp_port", state.node.tcp_port);
    line(out, "server_time_usec", now_us);
    line(out, "uptime_in_seconds", uptime);
    line(out, "uptime_in_days", uptime / 86400);
    line(out, "hz", state.config.hz);
    line(out, "configured_hz", state.config.hz);
    line(
        out,
        "lru_clock",
        redust_keyspace::lru::lru_clock(state.now_ms),
    );
    line(out, "executable", &state.node.executable);
    line(
        out,
        "config_file",
        state
            .node
            .config_file
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string()),
    );
    line(out, "io_threads_active", 0);
}

fn clients(state: &State, me: &Client, out: &mut String) {
    let pubsub_clients = state
        .clients
        .values()
        .filter(|c| c.subscription_count() > 0)
        .count()
        + usize::from(me.subscription_count() > 0);
    out.push_str("# Clients\r\n");
    line(out, "connected_clients", state.connected_clients());
    line(out, "cluster_connections", 0);
    line(out, "maxclients", state.config.maxclients);
    line(out, "client_recent_max_input_buffer", 20480);
    line(out, "client_recent_max_output_buffer", 0);
    line(out, "blocked_clients", state.blocking.blocked_clients);
    line(out, "tracking_clients", 0);
    line(out, "clients_in_timeout_table", 0);
    let _ = pubsub_clients;
}

fn memory(state: &mut State, out: &mut String) {
    state.refresh_memory();
    let m = state.memory.figures;
    let used = m.allocated;
    let peak = state.memory.peak_allocated.max(used);
    let startup = state.memory.startup_allocated;
    let dataset = used.saturating_sub(startup);
    let total_system = system_memory_bytes();
    let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    out.push_str("# Memory\r\n");
    line(out, "used_memory", used);
    line(out, "used_memory_human", human_bytes(used));
    line(out, "used_memory_rss", m.rss);
    line(out, "used_memory_rss_human", human_bytes(m.rss));
    line(out, "used_memory_peak", peak);
    line(out, "used_memory_peak_human", human_bytes(peak));
    line(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", ratio(used, peak) * 100.0),
    );
    line(out, "used_memory_overhead", startup);
    line(out, "used_memory_startup", startup);
    line(out, "used_memory_dataset", dataset);
    line(
        out,
        "used_memory_dataset_perc",
        format!("{:.2}%", ratio(dataset, used) * 100.0),
    );
    line(out, "allocator_allocated", m.allocated);
    line(out, "allocator_active", m.active);
    line(out, "allocator_resident", m.resident);
    line(out, "total_system_memory", total_system);
    line(out, "total_system_memory_human", human_bytes(total_system));
    let vm_eval = state.scripting.vm_memory() as u64;
    let scripts_eval = state.scripting.cache_bytes() as u64;
    // Before the first FUNCTION, the function VM and library set as Redis
    // reports them empty.
    let libraries = state.scripting.functions_if_any();
    let (vm_functions, functions) = libraries.map_or((32768u64, 184u64), |f| {
        (f.vm_memory() as u64, f.overhead_bytes() as u64)
    });
    let (function_count, library_count) =
        libraries.map_or((0, 0), |f| (f.function_count(), f.library_count()));
    line(out, "used_memory_lua", vm_eval);
    line(out, "used_memory_vm_eval", vm_eval);
    line(out, "used_memory_lua_human", human_bytes(vm_eval));
    line(out, "used_memory_scripts_eval", scripts_eval);
    line(
        out,
        "number_of_cached_scripts",
        state.scripting.cached_scripts(),
    );
    line(out, "number_of_functions", function_count);
    line(out, "number_of_libraries", library_count);
    line(out, "used_memory_vm_functions", vm_functions);
    line(out, "used_memory_vm_total", vm_eval + vm_functions);
    line(
        out,
        "used_memory_vm_total_human",
        human_bytes(vm_eval + vm_functions),
    );
    line(out, "used_memory_functions", functions);
    line(out, "used_memory_scripts", scripts_eval + functions);
    line(
        out,
        "used_memory_scripts_human",
        human_bytes(scripts_eval + functions),
    );
    line(out, "maxmemory", state.config.maxmemory);
    line(out, "maxmemory_human", human_bytes(state.config.maxmemory));
    line(
        out,
        "maxmemory_policy",
        state.config.maxmemory_policy.name(),
    );
    line(
        out,
        "allocator_frag_ratio",
        format!("{:.2}", ratio(m.active, m.allocated)),
    );
    line(
        out,
        "allocator_frag_bytes",
        m.active.saturating_sub(m.allocated),
    );
    line(
        out,
        "allocator_rss_ratio",
        format!("{:.2}", ratio(m.resident, m.active)),
    );
    line(
        out,
        "allocator_rss_bytes",
        m.resident.saturating_sub(m.active),
    );
    line(
        out,
        "rss_overhead_ratio",
        format!("{:.2}", ratio(m.rss, m.resident)),
    );
    line(out, "rss_overhead_bytes", m.rss as i64 - m.resident as i64);
    line(
        out,
        "mem_fragmentation_ratio",
        format!("{:.2}", ratio(m.rss, used)),
    );
    line(out, "mem_fragmentation_bytes", m.rss as i64 - used as i64);
    // The one replication stream is shared by the backlog and the replicas:
    // as Redis does, what exceeds the backlog size is the replicas' share.
    let repl_buffers = state.repl.buffer.as_ref().map_or(0, |b| b.memory_bytes());
    let backlog_size = state.repl.buffer.as_ref().map_or(0, |b| b.backlog_size());
    let (backlog, replicas_share) =
        if !state.repl.replicas.is_empty() && repl_buffers > backlog_size {
            (backlog_size, repl_buffers - backlog_size)
        } else {
            (repl_buffers, 0)
        };
    let aof_buffer = state.aof.file.as_ref().map_or(0, |a| a.buffer_bytes());
    // Not counted for eviction, as in Redis: the replicas' share of the
    // stream and the AOF buffer.
    line(
        out,
        "mem_not_counted_for_evict",
        aof_buffer as u64 + replicas_share,
    );
    line(out, "mem_replication_backlog", backlog);
    line(out, "mem_total_replication_buffers", repl_buffers);
    line(out, "mem_clients_slaves", replicas_share);
    line(out, "mem_clients_normal", normal_clients_memory(state));
    let cluster_links = state.cluster.as_ref().map_or(0, |c| c.links_memory());
    line(out, "mem_cluster_links", cluster_links);
    line(out, "mem_aof_buffer", aof_buffer);
    line(out, "mem_allocator", "jemalloc-5.3.0");
    line(out, "active_defrag_running", 0);
    line(out, "lazyfree_pending_objects", 0);
    line(out, "lazyfreed_objects", state.stats.lazyfreed_objects);
}

/// What the normal clients hold, each counted as CLIENT LIST's `tot-mem`
/// (query buffer, replies waiting, the reply buffer).
fn normal_clients_memory(state: &State) -> u64 {
    use crate::client_info::{client_memory, client_memory_by_id};
    // Every connection has a handle; the one running this command is not in
    // `clients` meanwhile.
    state
        .clients
        .handles
        .keys()
        .map(|id| match state.clients.get(id) {
            Some(c) if c.repl.is_replica || c.repl.is_master => 0,
            Some(c) => client_memory(state, c) as u64,
            None => client_memory_by_id(state, *id) as u64,
        })
        .sum()
}

fn system_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<u64>().ok())
                })
        })
        .map_or(0, |kb| kb * 1024)
}

fn persistence(state: &State, out: &mut String) {
    out.push_str("# Persistence\r\n");
    line(out, "loading", state.rdb.loading_in_background as u8);
    line(out, "async_loading", state.rdb.async_loading as u8);
    line(out, "current_cow_peak", 0);
    line(out, "current_cow_size", 0);
    line(out, "current_cow_size_age", 0);
    line(out, "current_fork_perc", "0.00");
    line(out, "current_save_keys_processed", 0);
    line(out, "current_save_keys_total", 0);
    line(out, "rdb_changes_since_last_save", state.dirty);
    line(
        out,
        "rdb_bgsave_in_progress",
        state.rdb.bgsave_running() as u8,
    );
    line(out, "rdb_last_save_time", state.rdb.last_save_secs);
    line(
        out,
        "rdb_last_bgsave_status",
        if state.rdb.last_save_ok { "ok" } else { "err" },
    );
    line(out, "rdb_last_bgsave_time_sec", state.rdb.last_bgsave_secs);
    line(
        out,
        "rdb_current_bgsave_time_sec",
        state
            .rdb
            .bgsave
            .as_ref()
            .map_or(-1, |b| (state.now_ms - b.started_ms) / 1000),
    );
    line(out, "rdb_saves", state.rdb.saves);
    line(out, "rdb_last_cow_size", 0);
    line(
        out,
        "rdb_last_load_keys_expired",
        state.rdb.last_load.keys_expired,
    );
    line(
        out,
        "rdb_last_load_keys_loaded",
        state.rdb.last_load.keys_loaded,
    );
    line(out, "aof_enabled", state.aof.is_on() as u8);
    line(
        out,
        "aof_rewrite_in_progress",
        state
            .aof
            .file
            .as_ref()
            .is_some_and(|a| a.rewriting.is_some()) as u8,
    );
    line(
        out,
        "aof_rewrite_scheduled",
        state.aof.rewrite_scheduled as u8,
    );
    line(out, "aof_last_rewrite_time_sec", -1);
    line(out, "aof_current_rewrite_time_sec", -1);
    line(
        out,
        "aof_last_bgrewrite_status",
        if state.aof.last_rewrite_ok {
            "ok"
        } else {
            "err"
        },
    );
    line(out, "aof_rewrites", state.aof.rewrites);
    line(out, "aof_rewrites_consecutive_failures", 0);
    line(
        out,
        "aof_last_write_status",
        if state.aof.last_write_ok { "ok" } else { "err" },
    );
    line(out, "aof_last_cow_size", 0);
    if let Some(aof) = state.aof.file.as_ref() {
        line(out, "aof_current_size", aof.base_bytes + aof.incr_bytes);
        line(out, "aof_base_size", aof.base_bytes);
        line(
            out,
            "aof_pending_rewrite",
            state.aof.rewrite_scheduled as u8,
        );
        line(out, "aof_buffer_length", 0);
        line(out, "aof_pending_bio_fsync", 0);
        line(out, "aof_delayed_fsync", 0);
    }
    line(out, "module_fork_in_progress", 0);
    line(out, "module_fork_last_cow_size", 0);
}

fn stats(state: &State, out: &mut String) {
    let s = &state.stats;
    out.push_str("# Stats\r\n");
    line(
        out,
        "total_connections_received",
        s.total_connections_received,
    );
    line(out, "total_commands_processed", s.total_commands_processed);
    line(
        out,
        "instantaneous_ops_per_sec",
        Stats::rate(&s.ops_samples) as u64,
    );
    line(out, "total_net_input_bytes", s.net_input_bytes);
    line(out, "total_net_output_bytes", s.net_output_bytes);
    line(out, "total_net_repl_input_bytes", 0);
    line(out, "total_net_repl_output_bytes", 0);
    line(
        out,
        "instantaneous_input_kbps",
        format!("{:.2}", Stats::rate(&s.net_in_samples) / 1024.0),
    );
    line(
        out,
        "instantaneous_output_kbps",
        format!("{:.2}", Stats::rate(&s.net_out_samples) / 1024.0),
    );
    line(out, "instantaneous_input_repl_kbps", "0.00");
    line(out, "instantaneous_output_repl_kbps", "0.00");
    line(out, "rejected_connections", s.rejected_connections);
    line(out, "sync_full", state.repl.sync_full);
    line(out, "sync_partial_ok", state.repl.sync_partial_ok);
    line(out, "sync_partial_err", state.repl.sync_partial_err);
    line(out, "expired_keys", s.expired_keys);
    line(
        out,
        "expired_stale_perc",
        format!("{:.2}", s.expired_stale_perc * 100.0),
    );
    line(
        out,
        "expired_time_cap_reached_count",
        s.expired_time_cap_reached_count,
    );
    line(out, "expire_cycle_cpu_milliseconds", s.expire_cycle_cpu_ms);
    line(out, "evicted_keys", s.evicted_keys);
    line(out, "evicted_clients", s.evicted_clients);
    line(out, "total_eviction_exceeded_time", 0);
    line(out, "current_eviction_exceeded_time", 0);
    line(out, "keyspace_hits", s.keyspace_hits);
    line(out, "keyspace_misses", s.keyspace_misses);
    line(out, "pubsub_channels", state.pubsub.channels.len());
    line(out, "pubsub_patterns", state.pubsub.patterns.len());
    line(out, "pubsubshard_channels", 0);
    line(out, "latest_fork_usec", 0);
    line(out, "total_forks", 0);
    line(out, "migrate_cached_sockets", 0);
    line(out, "slave_expires_tracked_keys", 0);
    line(out, "active_defrag_hits", 0);
    line(out, "active_defrag_misses", 0);
    line(out, "active_defrag_key_hits", 0);
    line(out, "active_defrag_key_misses", 0);
    line(out, "total_active_defrag_time", 0);
    line(out, "current_active_defrag_time", 0);
    line(out, "tracking_total_keys", 0);
    line(out, "tracking_total_items", 0);
    line(out, "tracking_total_prefixes", 0);
    line(out, "unexpected_error_replies", s.unexpected_error_replies);
    line(out, "total_error_replies", s.total_error_replies);
    line(out, "dump_payload_sanitizations", 0);
    line(out, "total_reads_processed", s.total_commands_processed);
    line(out, "total_writes_processed", s.total_commands_processed);
    line(out, "io_threaded_reads_processed", 0);
    line(out, "io_threaded_writes_processed", 0);
    line(out, "reply_buffer_shrinks", 0);
    line(out, "reply_buffer_expands", 0);
}

fn replication(state: &State, out: &mut String) {
    use redust_replication::LinkState;
    let repl = &state.repl;
    let now = state.now_ms;
    let secs_since = |ms: i64| (now - ms).max(0) / 1000;
    out.push_str("# Replication\r\n");
    match &repl.master {
        None => line(out, "role", "master"),
        Some(m) => {
            let connected = m.state == LinkState::Connected;
            line(out, "role", "slave");
            line(out, "master_host", &m.host);
            line(out, "master_port", m.port);
            line(
                out,
                "master_link_status",
                if connected { "up" } else { "down" },
            );
            let last_io = if connected {
                secs_since(m.last_io_ms)
            } else {
                -1
            };
            line(out, "master_last_io_seconds_ago", last_io);
            let transfer = m.state == LinkState::Transfer;
            line(out, "master_sync_in_progress", transfer as u8);
            // Without a master or a cached one, Redis shows 1.
            let known = connected || repl.psync_possible;
            line(
                out,
                "slave_read_repl_offset",
                if known { m.read_offset } else { 1 },
            );
            line(
                out,
                "slave_repl_offset",
                if known { repl.offset } else { 1 },
            );
            if transfer {
                let total = m.transfer_size.max(0) as u64;
                line(out, "master_sync_total_bytes", m.transfer_size);
                line(out, "master_sync_read_bytes", m.transfer_read);
                line(
                    out,
                    "master_sync_left_bytes",
                    total.saturating_sub(m.transfer_read),
                );
                let perc = if total > 0 {
                    m.transfer_read as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                line(out, "master_sync_perc", format!("{perc:.2}"));
                line(
                    out,
                    "master_sync_last_io_seconds_ago",
                    secs_since(m.transfer_last_io_ms),
                );
            }
            if !connected {
                let down = if m.down_since_ms == 0 {
                    -1
                } else {
                    secs_since(m.down_since_ms)
                };
                line(out, "master_link_down_since_seconds", down);
            }
            line(out, "slave_priority", state.config.replica_priority);
            line(out, "slave_read_only", state.config.replica_read_only as u8);
            line(
                out,
                "replica_announced",
                state.config.replica_announced as u8,
            );
        }
    }
    line(out, "connected_slaves", repl.replicas.len());
    let cfg = &state.config;
    if cfg.min_replicas_to_write > 0 && cfg.min_replicas_max_lag > 0 {
        line(
            out,
            "min_slaves_good_slaves",
            repl.good_replicas(now, cfg.min_replicas_max_lag as u64),
        );
    }
    for (i, r) in repl.replicas.iter().enumerate() {
        let _ = write!(
            out,
            "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
            i,
            r.ip,
            r.listening_port,
            r.state.name(),
            r.ack_offset,
            secs_since(r.ack_ms)
        );
    }
    line(
        out,
        "master_failover_state",
        repl.failover
            .as_ref()
            .map_or("no-failover", |f| f.state_name()),
    );
    line(out, "master_replid", &repl.replid);
    line(out, "master_replid2", &repl.replid2);
    line(out, "master_repl_offset", repl.offset);
    line(out, "second_repl_offset", repl.second_offset);
    let backlog = repl.buffer.as_ref();
    line(out, "repl_backlog_active", backlog.is_some() as u8);
    line(out, "repl_backlog_size", state.config.repl_backlog_size);
    line(
        out,
        "repl_backlog_first_byte_offset",
        backlog.map_or(0, |b| b.backlog_first_offset()),
    );
    line(
        out,
        "repl_backlog_histlen",
        backlog.map_or(0, |b| b.backlog_histlen()),
    );
    // redust's safe mode, for its Sentinels (absent otherwise, as in Redis).
    if state.config.safe_writes {
        line(out, "safe_writes", 1);
        line(
            out,
            "safe_writes_acks",
            crate::safe_writes::acks_needed(state),
        );
        let lease = state.safe_lease.holds(std::time::Instant::now());
        line(out, "safe_writes_lease", lease as u8);
    }
}

fn cpu(out: &mut String) {
    let (self_sys, self_user) = rusage(libc::RUSAGE_SELF);
    let (child_sys, child_user) = rusage(libc::RUSAGE_CHILDREN);
    out.push_str("# CPU\r\n");
    line(out, "used_cpu_sys", format!("{self_sys:.6}"));
    line(out, "used_cpu_user", format!("{self_user:.6}"));
    line(out, "used_cpu_sys_children", format!("{child_sys:.6}"));
    line(out, "used_cpu_user_children", format!("{child_user:.6}"));
    line(out, "used_cpu_sys_main_thread", format!("{self_sys:.6}"));
    line(out, "used_cpu_user_main_thread", format!("{self_user:.6}"));
}

fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn commandstats(stats: &Stats, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    for (name, c) in stats.commands_by_name() {
        if c.calls == 0 && c.rejected_calls == 0 && c.failed_calls == 0 {
            continue;
        }
        let per_call = if c.calls > 0 {
            c.usec as f64 / c.calls as f64
        } else {
            0.0
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            name, c.calls, c.usec, per_call, c.rejected_calls, c.failed_calls
        );
    }
}

fn errorstats(stats: &Stats, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    let mut names: Vec<&String> = stats.errors.keys().collect();
    names.sort();
    for name in names {
        let _ = write!(out, "errorstat_{}:count={}\r\n", name, stats.errors[name]);
    }
}

fn keyspace(state: &State, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (i, db) in state.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "db{}:keys={},expires={},avg_ttl={}\r\n",
            i,
            db.len(),
            db.expires_len(),
            if db.expires_len() == 0 {
                0
            } else {
                db.avg_ttl_ms
            }
        );
    }
}

fn latencystats(state: &State, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    if !state.config.latency_tracking {
        return;
    }
    let percentiles = &state.config.latency_tracking_info_percentiles;
    for (name, stats) in state.stats.commands_by_name() {
        let h = &stats.latency;
        if h.is_empty() {
            continue;
        }
        let parts: Vec<String> = percentiles
            .iter()
            .map(|p| format!("p{}={:.3}", percentile_label(*p), h.percentile(*p)))
            .collect();
        let _ = write!(
            out,
            "latency_percentiles_usec_{}:{}\r\n",
            name,
            parts.join(",")
        );
    }
}

/// A percentile as Redis labels it: `%f` with the trailing zeros (and a
/// bare point) trimmed, so 99.9 is `99.9` and 50 is `50`.
fn percentile_label(p: f64) -> String {
    let text = format!("{p:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod percentile_tests {
    #[test]
    fn labels_trim_like_redis() {
        assert_eq!(super::percentile_label(50.0), "50");
        assert_eq!(super::percentile_label(99.9), "99.9");
        assert_eq!(super::percentile_label(99.99), "99.99");
        assert_eq!(super::percentile_label(0.5), "0.5");
    }
}
