//! The typed configuration record.
//!
//! This module owns [`Config`]: one public, typed field per Redis 7.0
//! directive (aliases such as `slaveof` share their primary's field), the
//! Redis 7.0.15 default of each, and the non-config directives a config file
//! can carry (`rename-command`, `user`, `loadmodule`, module options). It
//! does no parsing; see the `load`, `ops` and `rewrite` modules for that.

use std::path::{Path, PathBuf};

use crate::enums::{
    AclPubsubDefault, AppendFsync, ClusterPreferredEndpointType, LogLevel, MaxmemoryPolicy,
    OomScoreAdj, PropagationErrorBehavior, ProtectedAction, ReplDisklessLoad, SanitizeDumpPayload,
    Supervised, SyslogFacility, TlsAuthClients,
};

/// One class of `client-output-buffer-limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientBufferLimit {
    /// Disconnect as soon as the output buffer reaches this many bytes (0 = off).
    pub hard: u64,
    /// Disconnect when over this many bytes for `soft_seconds` (0 = off).
    pub soft: u64,
    /// Seconds the soft limit may be exceeded.
    pub soft_seconds: u32,
}

/// `client-output-buffer-limit` for the three client classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOutputBufferLimits {
    /// `normal` clients (default `0 0 0`).
    pub normal: ClientBufferLimit,
    /// `replica` (a.k.a. `slave`) clients (default `256mb 64mb 60`).
    pub replica: ClientBufferLimit,
    /// `pubsub` clients (default `32mb 8mb 60`).
    pub pubsub: ClientBufferLimit,
}

impl Default for ClientOutputBufferLimits {
    fn default() -> Self {
        Self {
            normal: ClientBufferLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            replica: ClientBufferLimit {
                hard: 256 << 20,
                soft: 64 << 20,
                soft_seconds: 60,
            },
            pubsub: ClientBufferLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_seconds: 60,
            },
        }
    }
}

impl ClientOutputBufferLimits {
    /// The classes in Redis's order (normal, replica, pubsub).
    pub fn classes(&self) -> [ClientBufferLimit; 3] {
        [self.normal, self.replica, self.pubsub]
    }

    pub(crate) fn class_mut(&mut self, idx: usize) -> &mut ClientBufferLimit {
        match idx {
            0 => &mut self.normal,
            1 => &mut self.replica,
            _ => &mut self.pubsub,
        }
    }
}

/// Redis 7.0's full configuration.
///
/// Field names are the directive names with `-` turned into `_`; aliases
/// (`slaveof`, `slave-read-only`, `hash-max-ziplist-entries`, ...) map to
/// their primary's field. Strings that Redis stores as "NULL when empty" are
/// `Option`s. Sizes are bytes, times are in the unit Redis documents for the
/// directive. `Config::default()` is Redis 7.0.15's default configuration
/// (with `dir` = the current working directory).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    // ----- networking -----
    /// `bind`: listening addresses (default `* -::*`); empty means none.
    pub bind: Vec<String>,
    /// `bind-source-addr`.
    pub bind_source_addr: Option<String>,
    /// `protected-mode`.
    pub protected_mode: bool,
    /// `port` (0 disables TCP).
    pub port: u16,
    /// `tcp-backlog`.
    pub tcp_backlog: u32,
    /// `unixsocket`.
    pub unixsocket: Option<String>,
    /// `unixsocketperm` (octal permissions; 0 = default).
    pub unixsocketperm: u32,
    /// `timeout`: close idle clients after this many seconds (0 = never).
    pub timeout: u32,
    /// `tcp-keepalive` seconds.
    pub tcp_keepalive: u32,
    /// `socket-mark-id`.
    pub socket_mark_id: u32,

    // ----- TLS -----
    /// `tls-port`.
    pub tls_port: u16,
    /// `tls-cert-file`.
    pub tls_cert_file: Option<String>,
    /// `tls-key-file`.
    pub tls_key_file: Option<String>,
    /// `tls-key-file-pass`.
    pub tls_key_file_pass: Option<String>,
    /// `tls-client-cert-file`.
    pub tls_client_cert_file: Option<String>,
    /// `tls-client-key-file`.
    pub tls_client_key_file: Option<String>,
    /// `tls-client-key-file-pass`.
    pub tls_client_key_file_pass: Option<String>,
    /// `tls-dh-params-file`.
    pub tls_dh_params_file: Option<String>,
    /// `tls-ca-cert-file`.
    pub tls_ca_cert_file: Option<String>,
    /// `tls-ca-cert-dir`.
    pub tls_ca_cert_dir: Option<String>,
    /// `tls-auth-clients`.
    pub tls_auth_clients: TlsAuthClients,
    /// `tls-replication`.
    pub tls_replication: bool,
    /// `tls-cluster`.
    pub tls_cluster: bool,
    /// `tls-protocols`.
    pub tls_protocols: Option<String>,
    /// `tls-ciphers`.
    pub tls_ciphers: Option<String>,
    /// `tls-ciphersuites`.
    pub tls_ciphersuites: Option<String>,
    /// `tls-prefer-server-ciphers`.
    pub tls_prefer_server_ciphers: bool,
    /// `tls-session-caching`.
    pub tls_session_caching: bool,
    /// `tls-session-cache-size`.
    pub tls_session_cache_size: u32,
    /// `tls-session-cache-timeout` seconds.
    pub tls_session_cache_timeout: u32,

    // ----- general -----
    /// `daemonize`.
    pub daemonize: bool,
    /// `supervised`.
    pub supervised: Supervised,
    /// `pidfile`.
    pub pidfile: Option<String>,
    /// `loglevel`.
    pub loglevel: LogLevel,
    /// `logfile` (empty = standard output).
    pub logfile: String,
    /// `syslog-enabled`.
    pub syslog_enabled: bool,
    /// `syslog-ident`.
    pub syslog_ident: String,
    /// `syslog-facility`.
    pub syslog_facility: SyslogFacility,
    /// `crash-log-enabled`.
    pub crash_log_enabled: bool,
    /// `crash-memcheck-enabled`.
    pub crash_memcheck_enabled: bool,
    /// `databases`.
    pub databases: usize,
    /// `always-show-logo`.
    pub always_show_logo: bool,
    /// `set-proc-title`.
    pub set_proc_title: bool,
    /// `proc-title-template`.
    pub proc_title_template: String,

    // ----- snapshotting -----
    /// `save`: `(seconds, changes)` points; empty disables RDB snapshots.
    pub save: Vec<(i64, i32)>,
    /// `stop-writes-on-bgsave-error`.
    pub stop_writes_on_bgsave_error: bool,
    /// `rdbcompression`.
    pub rdbcompression: bool,
    /// `rdbchecksum`.
    pub rdbchecksum: bool,
    /// `sanitize-dump-payload`.
    pub sanitize_dump_payload: SanitizeDumpPayload,
    /// `dbfilename`.
    pub dbfilename: String,
    /// `rdb-del-sync-files`.
    pub rdb_del_sync_files: bool,
    /// `dir`: the working directory (absolute, symlinks resolved). Redis
    /// `chdir`s into it; this crate only records and validates it, the
    /// server must `std::env::set_current_dir` after loading and after a
    /// CONFIG SET that reports `dir` as changed.
    pub dir: PathBuf,

    // ----- replication -----
    /// `replicaof` / `slaveof`: `(host, port)`; `None` = master.
    pub replicaof: Option<(String, u16)>,
    /// `masterauth`.
    pub masterauth: Option<Vec<u8>>,
    /// `masteruser`.
    pub masteruser: Option<String>,
    /// `replica-serve-stale-data` / `slave-serve-stale-data`.
    pub replica_serve_stale_data: bool,
    /// `replica-read-only` / `slave-read-only`.
    pub replica_read_only: bool,
    /// `repl-diskless-sync`.
    pub repl_diskless_sync: bool,
    /// `repl-diskless-sync-delay` seconds.
    pub repl_diskless_sync_delay: u32,
    /// `repl-diskless-sync-max-replicas`.
    pub repl_diskless_sync_max_replicas: u32,
    /// `repl-diskless-load`.
    pub repl_diskless_load: ReplDisklessLoad,
    /// `repl-ping-replica-period` / `repl-ping-slave-period` seconds.
    pub repl_ping_replica_period: u32,
    /// `repl-timeout` seconds.
    pub repl_timeout: u32,
    /// `repl-disable-tcp-nodelay`.
    pub repl_disable_tcp_nodelay: bool,
    /// `repl-backlog-size` bytes.
    pub repl_backlog_size: u64,
    /// `repl-backlog-ttl` seconds.
    pub repl_backlog_ttl: u64,
    /// `replica-priority` / `slave-priority`.
    pub replica_priority: u32,
    /// `propagation-error-behavior`.
    pub propagation_error_behavior: PropagationErrorBehavior,
    /// `replica-ignore-disk-write-errors`.
    pub replica_ignore_disk_write_errors: bool,
    /// `replica-announced`.
    pub replica_announced: bool,
    /// `min-replicas-to-write` / `min-slaves-to-write`.
    pub min_replicas_to_write: u32,
    /// `safe-writes` (redust): a write is acknowledged once replicas have
    /// it and while the Sentinels' lease holds.
    pub safe_writes: bool,
    /// `safe-writes-lease` (redust): safe mode requires the lease (`no`
    /// only acknowledges after the replicas).
    pub safe_writes_lease: bool,
    /// `safe-write-timeout` (redust, ms): a held write is answered
    /// `-NOREPLICAS` after this.
    pub safe_write_timeout: u32,
    /// `min-replicas-max-lag` / `min-slaves-max-lag` seconds.
    pub min_replicas_max_lag: u32,
    /// `replica-announce-ip` / `slave-announce-ip`.
    pub replica_announce_ip: Option<String>,
    /// `replica-announce-port` / `slave-announce-port`.
    pub replica_announce_port: u16,
    /// `replica-lazy-flush` / `slave-lazy-flush`.
    pub replica_lazy_flush: bool,
    /// `replica-ignore-maxmemory` / `slave-ignore-maxmemory`.
    pub replica_ignore_maxmemory: bool,

    // ----- keys tracking -----
    /// `tracking-table-max-keys`.
    pub tracking_table_max_keys: usize,

    // ----- security -----
    /// `acllog-max-len`.
    pub acllog_max_len: u64,
    /// `aclfile`.
    pub aclfile: String,
    /// `requirepass`: password of the `default` user (`None` = nopass).
    pub requirepass: Option<Vec<u8>>,
    /// `acl-pubsub-default`.
    pub acl_pubsub_default: AclPubsubDefault,
    /// `enable-protected-configs`.
    pub enable_protected_configs: ProtectedAction,
    /// `enable-debug-command`.
    pub enable_debug_command: ProtectedAction,
    /// `enable-module-command`.
    pub enable_module_command: ProtectedAction,

    // ----- clients / memory -----
    /// `maxclients`.
    pub maxclients: u32,
    /// `maxmemory` bytes (0 = unlimited).
    pub maxmemory: u64,
    /// `maxmemory-policy`.
    pub maxmemory_policy: MaxmemoryPolicy,
    /// `maxmemory-samples`.
    pub maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity` (0..=100).
    pub maxmemory_eviction_tenacity: u32,
    /// `maxmemory-clients`: bytes when >= 0, `-n` means `n%` of `maxmemory`.
    pub maxmemory_clients: i64,

    // ----- lazy freeing -----
    /// `lazyfree-lazy-eviction`.
    pub lazyfree_lazy_eviction: bool,
    /// `lazyfree-lazy-expire`.
    pub lazyfree_lazy_expire: bool,
    /// `lazyfree-lazy-server-del`.
    pub lazyfree_lazy_server_del: bool,
    /// `lazyfree-lazy-user-del`.
    pub lazyfree_lazy_user_del: bool,
    /// `lazyfree-lazy-user-flush`.
    pub lazyfree_lazy_user_flush: bool,

    // ----- threads / kernel -----
    /// `io-threads`.
    pub io_threads: u32,
    /// `io-threads-do-reads`.
    pub io_threads_do_reads: bool,
    /// `oom-score-adj`.
    pub oom_score_adj: OomScoreAdj,
    /// `oom-score-adj-values` (master, replica, background child).
    pub oom_score_adj_values: [i32; 3],
    /// `disable-thp`.
    pub disable_thp: bool,

    // ----- append only file -----
    /// `appendonly`.
    pub appendonly: bool,
    /// `appendfilename`.
    pub appendfilename: String,
    /// `appenddirname`.
    pub appenddirname: String,
    /// `appendfsync`.
    pub appendfsync: AppendFsync,
    /// `no-appendfsync-on-rewrite`.
    pub no_appendfsync_on_rewrite: bool,
    /// `auto-aof-rewrite-percentage`.
    pub auto_aof_rewrite_percentage: u32,
    /// `auto-aof-rewrite-min-size` bytes.
    pub auto_aof_rewrite_min_size: u64,
    /// `aof-load-truncated`.
    pub aof_load_truncated: bool,
    /// `aof-use-rdb-preamble`.
    pub aof_use_rdb_preamble: bool,
    /// `aof-timestamp-enabled`.
    pub aof_timestamp_enabled: bool,
    /// `aof-rewrite-incremental-fsync`.
    pub aof_rewrite_incremental_fsync: bool,
    /// `rdb-save-incremental-fsync`.
    pub rdb_save_incremental_fsync: bool,
    /// `aof-disable-auto-gc`.
    pub aof_disable_auto_gc: bool,

    // ----- shutdown -----
    /// `shutdown-timeout` seconds.
    pub shutdown_timeout: u32,
    /// `shutdown-on-sigint`: `SHUTDOWN_*` flags (0 = `default`).
    pub shutdown_on_sigint: u32,
    /// `shutdown-on-sigterm`: `SHUTDOWN_*` flags (0 = `default`).
    pub shutdown_on_sigterm: u32,

    // ----- scripting / slow log / latency -----
    /// `busy-reply-threshold` / `lua-time-limit` milliseconds.
    pub busy_reply_threshold: u64,
    /// `slowlog-log-slower-than` microseconds (-1 disables, 0 logs all).
    pub slowlog_log_slower_than: i64,
    /// `slowlog-max-len`.
    pub slowlog_max_len: u64,
    /// `latency-monitor-threshold` milliseconds.
    pub latency_monitor_threshold: u64,
    /// `latency-tracking`.
    pub latency_tracking: bool,
    /// `latency-tracking-info-percentiles`.
    pub latency_tracking_info_percentiles: Vec<f64>,

    // ----- events -----
    /// `notify-keyspace-events` as a bitmask of
    /// [`crate::keyspace_events`] `NOTIFY_*` flags.
    pub notify_keyspace_events: u32,

    // ----- cluster -----
    /// `cluster-enabled`.
    pub cluster_enabled: bool,
    /// `cluster-config-file`.
    pub cluster_config_file: String,
    /// `cluster-node-timeout` milliseconds.
    pub cluster_node_timeout: u64,
    /// `cluster-port` (0 = port + 10000).
    pub cluster_port: u16,
    /// `cluster-replica-validity-factor` / `cluster-slave-validity-factor`.
    pub cluster_replica_validity_factor: u32,
    /// `cluster-migration-barrier`.
    pub cluster_migration_barrier: u32,
    /// `cluster-allow-replica-migration`.
    pub cluster_allow_replica_migration: bool,
    /// `cluster-require-full-coverage`.
    pub cluster_require_full_coverage: bool,
    /// `cluster-replica-no-failover` / `cluster-slave-no-failover`.
    pub cluster_replica_no_failover: bool,
    /// `cluster-allow-reads-when-down`.
    pub cluster_allow_reads_when_down: bool,
    /// `cluster-allow-pubsubshard-when-down`.
    pub cluster_allow_pubsubshard_when_down: bool,
    /// `cluster-link-sendbuf-limit` bytes.
    pub cluster_link_sendbuf_limit: u64,
    /// `cluster-announce-ip`.
    pub cluster_announce_ip: Option<String>,
    /// `cluster-announce-hostname`.
    pub cluster_announce_hostname: Option<String>,
    /// `cluster-announce-port`.
    pub cluster_announce_port: u16,
    /// `cluster-announce-bus-port`.
    pub cluster_announce_bus_port: u16,
    /// `cluster-announce-tls-port`.
    pub cluster_announce_tls_port: u16,
    /// `cluster-preferred-endpoint-type`.
    pub cluster_preferred_endpoint_type: ClusterPreferredEndpointType,

    // ----- advanced -----
    /// `hash-max-listpack-entries` / `hash-max-ziplist-entries`.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value` / `hash-max-ziplist-value` bytes.
    pub hash_max_listpack_value: usize,
    /// `list-max-listpack-size` / `list-max-ziplist-size`.
    pub list_max_listpack_size: i32,
    /// `list-compress-depth`.
    pub list_compress_depth: u32,
    /// `set-max-intset-entries`.
    pub set_max_intset_entries: usize,
    /// `zset-max-listpack-entries` / `zset-max-ziplist-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value` / `zset-max-ziplist-value` bytes.
    pub zset_max_listpack_value: usize,
    /// `hll-sparse-max-bytes`.
    pub hll_sparse_max_bytes: usize,
    /// `stream-node-max-bytes`.
    pub stream_node_max_bytes: usize,
    /// `stream-node-max-entries`.
    pub stream_node_max_entries: u64,
    /// `activerehashing`.
    pub activerehashing: bool,
    /// `client-output-buffer-limit`.
    pub client_output_buffer_limit: ClientOutputBufferLimits,
    /// `client-query-buffer-limit` bytes.
    pub client_query_buffer_limit: usize,
    /// `proto-max-bulk-len` bytes.
    pub proto_max_bulk_len: u64,
    /// `hz` (clamped to 1..=500 after loading and after CONFIG SET).
    pub hz: u32,
    /// `dynamic-hz`.
    pub dynamic_hz: bool,
    /// `active-expire-effort` (1..=10).
    pub active_expire_effort: u32,
    /// `lfu-log-factor`.
    pub lfu_log_factor: u32,
    /// `lfu-decay-time` minutes.
    pub lfu_decay_time: u32,
    /// `activedefrag` (cannot be enabled, as on Debian's build).
    pub activedefrag: bool,
    /// `active-defrag-ignore-bytes`.
    pub active_defrag_ignore_bytes: usize,
    /// `active-defrag-threshold-lower` percent.
    pub active_defrag_threshold_lower: u32,
    /// `active-defrag-threshold-upper` percent.
    pub active_defrag_threshold_upper: u32,
    /// `active-defrag-cycle-min` percent.
    pub active_defrag_cycle_min: u32,
    /// `active-defrag-cycle-max` percent.
    pub active_defrag_cycle_max: u32,
    /// `active-defrag-max-scan-fields`.
    pub active_defrag_max_scan_fields: u64,
    /// `jemalloc-bg-thread`.
    pub jemalloc_bg_thread: bool,
    /// `server_cpulist`.
    pub server_cpulist: Option<String>,
    /// `bio_cpulist`.
    pub bio_cpulist: Option<String>,
    /// `aof_rewrite_cpulist`.
    pub aof_rewrite_cpulist: Option<String>,
    /// `bgsave_cpulist`.
    pub bgsave_cpulist: Option<String>,
    /// `ignore-warnings`.
    pub ignore_warnings: String,

    // ----- hidden (exact-name CONFIG GET only) -----
    /// `use-exit-on-panic` (hidden).
    pub use_exit_on_panic: bool,
    /// `rdb-key-save-delay` microseconds (hidden, testing).
    pub rdb_key_save_delay: i32,
    /// `key-load-delay` microseconds (hidden, testing).
    pub key_load_delay: i32,
    /// `watchdog-period` milliseconds (hidden).
    pub watchdog_period: u32,
    /// `loading-process-events-interval-bytes` (hidden).
    pub loading_process_events_interval_bytes: u64,

    // ----- non-config directives -----
    /// `rename-command <from> <to>` lines in order (`to` empty = removed).
    pub rename_commands: Vec<(String, String)>,
    /// `user <name> <rules...>` lines (arguments after `user`), for the ACL
    /// subsystem to apply. Not validated here.
    pub users: Vec<Vec<String>>,
    /// `loadmodule <path> <args...>` lines (arguments after `loadmodule`).
    pub loadmodules: Vec<Vec<String>>,
    /// `<module>.<option> <value>` lines (name lower-cased; last one wins).
    pub module_configs: Vec<(String, String)>,

    /// Sentinel mode (`--sentinel`): `sentinel ...` lines are collected
    /// in `sentinel_lines` for the Sentinel to load.
    pub sentinel_mode: bool,
    /// The `sentinel ...` directives in file order (Sentinel mode only).
    pub sentinel_lines: Vec<SentinelDirective>,

    /// Absolute path of the main configuration file, if any.
    pub(crate) config_file: Option<PathBuf>,
}

/// One `sentinel ...` line: its number in the text it came from, the line
/// as written, and its arguments after `sentinel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelDirective {
    pub line_number: usize,
    pub text: String,
    pub args: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self::with_dir(std::env::current_dir().unwrap_or_default())
    }
}

impl Config {
    /// Redis's default configuration, with `dir` set to `dir`.
    pub fn with_dir(dir: PathBuf) -> Self {
        Config {
            bind: vec!["*".to_string(), "-::*".to_string()],
            bind_source_addr: None,
            protected_mode: true,
            port: 6379,
            tcp_backlog: 511,
            unixsocket: None,
            unixsocketperm: 0,
            timeout: 0,
            tcp_keepalive: 300,
            socket_mark_id: 0,
            tls_port: 0,
            tls_cert_file: None,
            tls_key_file: None,
            tls_key_file_pass: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
            tls_client_key_file_pass: None,
            tls_dh_params_file: None,
            tls_ca_cert_file: None,
            tls_ca_cert_dir: None,
            tls_auth_clients: TlsAuthClients::Yes,
            tls_replication: false,
            tls_cluster: false,
            tls_protocols: None,
            tls_ciphers: None,
            tls_ciphersuites: None,
            tls_prefer_server_ciphers: false,
            tls_session_caching: true,
            tls_session_cache_size: 20 * 1024,
            tls_session_cache_timeout: 300,
            daemonize: false,
            supervised: Supervised::No,
            pidfile: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            syslog_enabled: false,
            syslog_ident: "redis".to_string(),
            syslog_facility: SyslogFacility::Local0,
            crash_log_enabled: true,
            crash_memcheck_enabled: true,
            databases: 16,
            always_show_logo: false,
            set_proc_title: true,
            proc_title_template: "{title} {listen-addr} {server-mode}".to_string(),
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            sanitize_dump_payload: SanitizeDumpPayload::No,
            dbfilename: "dump.rdb".to_string(),
            rdb_del_sync_files: false,
            dir,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_serve_stale_data: true,
            replica_read_only: true,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: ReplDisklessLoad::Disabled,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_disable_tcp_nodelay: false,
            repl_backlog_size: 1024 * 1024,
            repl_backlog_ttl: 3600,
            replica_priority: 100,
            propagation_error_behavior: PropagationErrorBehavior::Ignore,
            replica_ignore_disk_write_errors: false,
            replica_announced: true,
            min_replicas_to_write: 0,
            safe_writes: false,
            safe_writes_lease: true,
            safe_write_timeout: 5000,
            min_replicas_max_lag: 10,
            replica_announce_ip: None,
            replica_announce_port: 0,
            replica_lazy_flush: false,
            replica_ignore_maxmemory: true,
            tracking_table_max_keys: 1_000_000,
            acllog_max_len: 128,
            aclfile: String::new(),
            requirepass: None,
            acl_pubsub_default: AclPubsubDefault::ResetChannels,
            enable_protected_configs: ProtectedAction::No,
            enable_debug_command: ProtectedAction::No,
            enable_module_command: ProtectedAction::No,
            maxclients: 10000,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::NoEviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            maxmemory_clients: 0,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            io_threads: 1,
            io_threads_do_reads: false,
            oom_score_adj: OomScoreAdj::No,
            oom_score_adj_values: [0, 200, 800],
            disable_thp: true,
            appendonly: false,
            appendfilename: "appendonly.aof".to_string(),
            appenddirname: "appendonlydir".to_string(),
            appendfsync: AppendFsync::Everysec,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_rewrite_incremental_fsync: true,
            rdb_save_incremental_fsync: true,
            aof_disable_auto_gc: false,
            shutdown_timeout: 10,
            shutdown_on_sigint: 0,
            shutdown_on_sigterm: 0,
            busy_reply_threshold: 5000,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            notify_keyspace_events: 0,
            cluster_enabled: false,
            cluster_config_file: "nodes.conf".to_string(),
            cluster_node_timeout: 15000,
            cluster_port: 0,
            cluster_replica_validity_factor: 10,
            cluster_migration_barrier: 1,
            cluster_allow_replica_migration: true,
            cluster_require_full_coverage: true,
            cluster_replica_no_failover: false,
            cluster_allow_reads_when_down: false,
            cluster_allow_pubsubshard_when_down: true,
            cluster_link_sendbuf_limit: 0,
            cluster_announce_ip: None,
            cluster_announce_hostname: None,
            cluster_announce_port: 0,
            cluster_announce_bus_port: 0,
            cluster_announce_tls_port: 0,
            cluster_preferred_endpoint_type: ClusterPreferredEndpointType::Ip,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            activerehashing: true,
            client_output_buffer_limit: ClientOutputBufferLimits::default(),
            client_query_buffer_limit: 1024 * 1024 * 1024,
            proto_max_bulk_len: 512 * 1024 * 1024,
            hz: 10,
            dynamic_hz: true,
            active_expire_effort: 1,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            activedefrag: false,
            active_defrag_ignore_bytes: 100 << 20,
            active_defrag_threshold_lower: 10,
            active_defrag_threshold_upper: 100,
            active_defrag_cycle_min: 1,
            active_defrag_cycle_max: 25,
            active_defrag_max_scan_fields: 1000,
            jemalloc_bg_thread: true,
            server_cpulist: None,
            bio_cpulist: None,
            aof_rewrite_cpulist: None,
            bgsave_cpulist: None,
            ignore_warnings: String::new(),
            use_exit_on_panic: false,
            rdb_key_save_delay: 0,
            key_load_delay: 0,
            watchdog_period: 0,
            loading_process_events_interval_bytes: 2 * 1024 * 1024,
            rename_commands: Vec::new(),
            users: Vec::new(),
            loadmodules: Vec::new(),
            module_configs: Vec::new(),
            sentinel_mode: false,
            sentinel_lines: Vec::new(),
            config_file: None,
        }
    }

    /// The absolute path of the configuration file the server was started
    /// with (what CONFIG REWRITE writes to), if any.
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// Sets the configuration file path used by CONFIG REWRITE (made
    /// absolute against the current directory, like Redis's
    /// `getAbsolutePath`).
    pub fn set_config_file(&mut self, path: Option<&Path>) {
        self.config_file = path.map(absolute_path);
    }

    /// `maxmemory-clients` resolved to bytes (percentages apply to
    /// `maxmemory`, as in Redis).
    pub fn maxmemory_clients_bytes(&self) -> u64 {
        if self.maxmemory_clients < 0 {
            let pct = self.maxmemory_clients.unsigned_abs();
            ((u128::from(self.maxmemory) * u128::from(pct)) / 100) as u64
        } else {
            self.maxmemory_clients as u64
        }
    }
}

/// `path` made absolute against the current directory.
pub(crate) fn absolute_path(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(path),
            Err(_) => path.to_path_buf(),
        }
    }
}
