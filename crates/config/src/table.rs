//! The table of every Redis 7.0.15 config: names, aliases, flags, types,
//! bounds and defaults.
//!
//! This module owns the static description of each directive (the
//! equivalent of `static_configs[]` in Redis's `config.c`): its primary name
//! and alias, whether it is immutable / protected / sensitive / hidden /
//! multi-argument / refused while loading, and how its value is typed
//! (boolean, string, binary string, enum, bounded number with its display
//! format, or one of the special configs with bespoke parsing). Accessors
//! into [`Config`] are plain function pointers, so the generic machinery in
//! `ops` and `rewrite` never needs per-directive code.

use crate::config::Config;
use crate::enums::{
    AclPubsubDefault, AppendFsync, ClusterPreferredEndpointType, ConfigEnum, LogLevel,
    MaxmemoryPolicy, OomScoreAdj, PropagationErrorBehavior, ProtectedAction, ReplDisklessLoad,
    SanitizeDumpPayload, Supervised, SyslogFacility, TlsAuthClients, SHUTDOWN_ENTRIES,
    SHUTDOWN_NOSAVE, SHUTDOWN_SAVE,
};
use crate::messages as msg;

/// Cannot be changed with CONFIG SET.
pub(crate) const IMMUTABLE: u8 = 1 << 0;
/// Value must be redacted from logs / slowlog / MONITOR.
pub(crate) const SENSITIVE: u8 = 1 << 1;
/// CONFIG SET only when `enable-protected-configs` allows it.
pub(crate) const PROTECTED: u8 = 1 << 2;
/// CONFIG SET refused while the dataset is loading.
pub(crate) const DENY_LOADING: u8 = 1 << 3;
/// Takes several arguments (CONFIG SET splits the value on spaces).
pub(crate) const MULTI_ARG: u8 = 1 << 4;
/// Not matched by CONFIG GET patterns, only by its exact name.
pub(crate) const HIDDEN: u8 = 1 << 5;
const MODIFIABLE: u8 = 0;

/// How a numeric config is parsed and displayed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumFmt {
    /// Strict integer.
    Int,
    /// Memory size (`1gb`), shown in bytes, rewritten with units.
    Memory,
    /// Memory size or `n%` (stored as `-n`).
    MemoryPercent,
    /// Octal integer.
    Octal,
}

/// A validator's verdict: the error text on refusal.
pub(crate) type Verdict = Result<(), &'static str>;

pub(crate) struct BoolDef {
    pub get: fn(&Config) -> bool,
    pub set: fn(&mut Config, bool),
    pub default: bool,
    pub valid: Option<fn(bool) -> Verdict>,
}

pub(crate) struct StrDef {
    pub get: fn(&Config) -> Option<&str>,
    pub set: fn(&mut Config, Option<String>),
    /// Whether an empty value is stored as `None` (NULL in Redis).
    pub empty_is_null: bool,
    pub default: Option<&'static str>,
    pub valid: Option<fn(&Config, &[u8]) -> Verdict>,
}

pub(crate) struct SdsDef {
    pub get: fn(&Config) -> Option<&[u8]>,
    pub set: fn(&mut Config, Option<Vec<u8>>),
}

pub(crate) struct EnumDef {
    pub get: fn(&Config) -> i32,
    pub set: fn(&mut Config, i32),
    pub entries: &'static [(&'static str, i32)],
    pub default: i32,
    pub valid: Option<fn(i32) -> Verdict>,
}

pub(crate) struct NumDef {
    pub get: fn(&Config) -> i64,
    pub set: fn(&mut Config, i64),
    pub lower: i64,
    pub upper: i64,
    pub default: i64,
    pub fmt: NumFmt,
    /// Bounds are compared as unsigned (C's `unsigned int`, `size_t`,
    /// `unsigned long long` configs).
    pub unsigned: bool,
}

/// Configs with bespoke parsing / formatting.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

pub(crate) enum Kind {
    Bool(BoolDef),
    Str(StrDef),
    Sds(SdsDef),
    Enum(EnumDef),
    Num(NumDef),
    Special(Special),
}

/// One config directive.
pub(crate) struct Def {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
}

impl Def {
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Looks a config up by primary name or alias (case-insensitive). Returns
/// the definition and whether `name` was the alias.
pub(crate) fn lookup(name: &[u8]) -> Option<(&'static Def, bool)> {
    DEFS.iter().find_map(|d| {
        if d.name.as_bytes().eq_ignore_ascii_case(name) {
            Some((d, false))
        } else if d
            .alias
            .is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name))
        {
            Some((d, true))
        } else {
            None
        }
    })
}

macro_rules! boolean {
    ($name:literal, $alias:expr, $flags:expr, $field:ident, $default:expr) => {
        boolean!($name, $alias, $flags, $field, $default, None)
    };
    ($name:literal, $alias:expr, $flags:expr, $field:ident, $default:expr, $valid:expr) => {
        Def {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: Kind::Bool(BoolDef {
                get: |c| c.$field,
                set: |c, v| c.$field = v,
                default: $default,
                valid: $valid,
            }),
        }
    };
}

/// A C-string config that keeps empty strings (field type `String`).
macro_rules! string {
    ($name:literal, $flags:expr, $field:ident, $default:literal, $valid:expr) => {
        Def {
            name: $name,
            alias: None,
            flags: $flags,
            kind: Kind::Str(StrDef {
                get: |c| Some(c.$field.as_str()),
                set: |c, v| c.$field = v.unwrap_or_default(),
                empty_is_null: false,
                default: Some($default),
                valid: $valid,
            }),
        }
    };
}

/// A C-string config whose empty value means NULL (field `Option<String>`).
macro_rules! nullable {
    ($name:literal, $alias:expr, $flags:expr, $field:ident) => {
        nullable!($name, $alias, $flags, $field, None)
    };
    ($name:literal, $alias:expr, $flags:expr, $field:ident, $valid:expr) => {
        Def {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: Kind::Str(StrDef {
                get: |c| c.$field.as_deref(),
                set: |c, v| c.$field = v,
                empty_is_null: true,
                default: None,
                valid: $valid,
            }),
        }
    };
}

macro_rules! enumeration {
    ($name:literal, $flags:expr, $field:ident, $ty:ty, $default:expr) => {
        Def {
            name: $name,
            alias: None,
            flags: $flags,
            kind: Kind::Enum(EnumDef {
                get: |c| c.$field.to_i32(),
                set: |c, v| {
                    if let Some(x) = <$ty>::from_i32(v) {
                        c.$field = x;
                    }
                },
                entries: <$ty>::ENTRIES,
                default: $default as i32,
                valid: None,
            }),
        }
    };
}

macro_rules! shutdown_flags {
    ($name:literal, $field:ident) => {
        Def {
            name: $name,
            alias: None,
            flags: MODIFIABLE | MULTI_ARG,
            kind: Kind::Enum(EnumDef {
                get: |c| c.$field as i32,
                set: |c, v| c.$field = v as u32,
                entries: SHUTDOWN_ENTRIES,
                default: 0,
                valid: Some(valid_shutdown_flags),
            }),
        }
    };
}

macro_rules! number {
    ($name:literal, $alias:expr, $flags:expr, $field:ident: $ty:ty,
     $lower:expr, $upper:expr, $default:expr, $fmt:ident, $unsigned:expr) => {
        Def {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: Kind::Num(NumDef {
                get: |c| c.$field as i64,
                set: |c, v| c.$field = v as $ty,
                lower: $lower,
                upper: $upper,
                default: $default,
                fmt: NumFmt::$fmt,
                unsigned: $unsigned,
            }),
        }
    };
}

/// C `int` config (signed bounds check).
macro_rules! int {
    ($name:literal, $alias:expr, $flags:expr, $field:ident: $ty:ty, $lower:expr, $upper:expr, $default:expr) => {
        number!($name, $alias, $flags, $field: $ty, $lower, $upper, $default, Int, false)
    };
}

macro_rules! special {
    ($name:literal, $alias:expr, $flags:expr, $kind:ident) => {
        Def {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: Kind::Special(Special::$kind),
        }
    };
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const LLONG_MAX: i64 = i64::MAX;
/// `ULLONG_MAX` as stored in a C `long long` bound.
const ULLONG_MAX: i64 = -1;

fn valid_activedefrag(v: bool) -> Result<(), &'static str> {
    if v {
        Err(msg::ACTIVEDEFRAG_UNSUPPORTED)
    } else {
        Ok(())
    }
}

fn path_is_base_name(v: &[u8]) -> bool {
    !v.contains(&b'/') && !v.contains(&b'\\')
}

fn valid_dbfilename(_: &Config, v: &[u8]) -> Result<(), &'static str> {
    if path_is_base_name(v) {
        Ok(())
    } else {
        Err(msg::DBFILENAME_IS_PATH)
    }
}

fn valid_appendfilename(_: &Config, v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        Err(msg::APPENDFILENAME_EMPTY)
    } else if !path_is_base_name(v) {
        Err(msg::APPENDFILENAME_IS_PATH)
    } else {
        Ok(())
    }
}

fn valid_appenddirname(_: &Config, v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        Err(msg::APPENDDIRNAME_EMPTY)
    } else if !path_is_base_name(v) {
        Err(msg::APPENDDIRNAME_IS_PATH)
    } else {
        Ok(())
    }
}

fn valid_hostname(_: &Config, v: &[u8]) -> Result<(), &'static str> {
    if v.len() >= 256 {
        return Err(msg::HOSTNAME_TOO_LONG);
    }
    if v.iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
    {
        Ok(())
    } else {
        Err(msg::HOSTNAME_BAD_CHARS)
    }
}

fn valid_proc_title_template(c: &Config, v: &[u8]) -> Result<(), &'static str> {
    match expand_proc_title_template(c, v, b"") {
        Some(s) if !s.is_empty() => Ok(()),
        _ => Err(msg::PROC_TITLE_TEMPLATE_INVALID),
    }
}

fn valid_shutdown_flags(v: i32) -> Result<(), &'static str> {
    let v = v as u32;
    if v & SHUTDOWN_SAVE != 0 && v & SHUTDOWN_NOSAVE != 0 {
        Err(msg::SHUTDOWN_SAVE_AND_NOSAVE)
    } else {
        Ok(())
    }
}

/// Expands a `proc-title-template` the way Redis's `sdstemplate` +
/// `redisProcTitleGetVariable` do, trimming spaces at both ends. `None` for
/// an unknown variable or an unterminated `{`.
pub fn expand_proc_title_template(c: &Config, template: &[u8], title: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < template.len() {
        let Some(rel) = template[p..].iter().position(|&b| b == b'{') else {
            out.extend_from_slice(&template[p..]);
            break;
        };
        let sv = p + rel;
        out.extend_from_slice(&template[p..sv]);
        let name_start = sv + 1;
        if name_start >= template.len() {
            return None;
        }
        if template[name_start] == b'{' {
            out.push(b'{');
            p = name_start + 1;
            continue;
        }
        let end = name_start + template[name_start..].iter().position(|&b| b == b'}')?;
        let var = &template[name_start..end];
        let value: Vec<u8> = match var {
            b"title" => title.to_vec(),
            b"listen-addr" => {
                if c.port != 0 || c.tls_port != 0 {
                    let host = c.bind.first().map_or("*", String::as_str);
                    let port = if c.port != 0 { c.port } else { c.tls_port };
                    format!("{host}:{port}").into_bytes()
                } else {
                    format!("unixsocket:{}", c.unixsocket.as_deref().unwrap_or("")).into_bytes()
                }
            }
            b"server-mode" => {
                if c.cluster_enabled {
                    b"[cluster]".to_vec()
                } else {
                    Vec::new()
                }
            }
            b"config-file" => c
                .config_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned().into_bytes())
                .unwrap_or_default(),
            b"port" => c.port.to_string().into_bytes(),
            b"tls-port" => c.tls_port.to_string().into_bytes(),
            b"unixsocket" => c.unixsocket.clone().unwrap_or_default().into_bytes(),
            _ => return None,
        };
        out.extend_from_slice(&value);
        p = end + 1;
    }
    Some(crate::values::trim(&out, b" ").to_vec())
}

/// Every config, in Redis's table order.
pub(crate) static DEFS: &[Def] = &[
    // ----- bool configs -----
    boolean!("rdbchecksum", None, IMMUTABLE, rdbchecksum, true),
    boolean!("daemonize", None, IMMUTABLE, daemonize, false),
    boolean!(
        "io-threads-do-reads",
        None,
        IMMUTABLE,
        io_threads_do_reads,
        false
    ),
    boolean!("always-show-logo", None, IMMUTABLE, always_show_logo, false),
    boolean!("protected-mode", None, MODIFIABLE, protected_mode, true),
    boolean!("rdbcompression", None, MODIFIABLE, rdbcompression, true),
    boolean!(
        "rdb-del-sync-files",
        None,
        MODIFIABLE,
        rdb_del_sync_files,
        false
    ),
    boolean!("activerehashing", None, MODIFIABLE, activerehashing, true),
    boolean!(
        "stop-writes-on-bgsave-error",
        None,
        MODIFIABLE,
        stop_writes_on_bgsave_error,
        true
    ),
    boolean!("set-proc-title", None, IMMUTABLE, set_proc_title, true),
    boolean!("dynamic-hz", None, MODIFIABLE, dynamic_hz, true),
    boolean!(
        "lazyfree-lazy-eviction",
        None,
        MODIFIABLE,
        lazyfree_lazy_eviction,
        false
    ),
    boolean!(
        "lazyfree-lazy-expire",
        None,
        MODIFIABLE,
        lazyfree_lazy_expire,
        false
    ),
    boolean!(
        "lazyfree-lazy-server-del",
        None,
        MODIFIABLE,
        lazyfree_lazy_server_del,
        false
    ),
    boolean!(
        "lazyfree-lazy-user-del",
        None,
        MODIFIABLE,
        lazyfree_lazy_user_del,
        false
    ),
    boolean!(
        "lazyfree-lazy-user-flush",
        None,
        MODIFIABLE,
        lazyfree_lazy_user_flush,
        false
    ),
    boolean!(
        "repl-disable-tcp-nodelay",
        None,
        MODIFIABLE,
        repl_disable_tcp_nodelay,
        false
    ),
    boolean!(
        "repl-diskless-sync",
        None,
        MODIFIABLE,
        repl_diskless_sync,
        true
    ),
    boolean!(
        "aof-rewrite-incremental-fsync",
        None,
        MODIFIABLE,
        aof_rewrite_incremental_fsync,
        true
    ),
    boolean!(
        "no-appendfsync-on-rewrite",
        None,
        MODIFIABLE,
        no_appendfsync_on_rewrite,
        false
    ),
    boolean!(
        "cluster-require-full-coverage",
        None,
        MODIFIABLE,
        cluster_require_full_coverage,
        true
    ),
    boolean!(
        "rdb-save-incremental-fsync",
        None,
        MODIFIABLE,
        rdb_save_incremental_fsync,
        true
    ),
    boolean!(
        "aof-load-truncated",
        None,
        MODIFIABLE,
        aof_load_truncated,
        true
    ),
    boolean!(
        "aof-use-rdb-preamble",
        None,
        MODIFIABLE,
        aof_use_rdb_preamble,
        true
    ),
    boolean!(
        "aof-timestamp-enabled",
        None,
        MODIFIABLE,
        aof_timestamp_enabled,
        false
    ),
    boolean!(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        MODIFIABLE,
        cluster_replica_no_failover,
        false
    ),
    boolean!(
        "replica-lazy-flush",
        Some("slave-lazy-flush"),
        MODIFIABLE,
        replica_lazy_flush,
        false
    ),
    boolean!(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        MODIFIABLE,
        replica_serve_stale_data,
        true
    ),
    boolean!(
        "replica-read-only",
        Some("slave-read-only"),
        MODIFIABLE,
        replica_read_only,
        true
    ),
    // redust's safe mode (docs/design/safe-mode.md); hidden, so CONFIG GET
    // with a pattern shows what Redis shows.
    boolean!("safe-writes", None, MODIFIABLE | HIDDEN, safe_writes, false),
    boolean!(
        "safe-writes-lease",
        None,
        MODIFIABLE | HIDDEN,
        safe_writes_lease,
        true
    ),
    boolean!(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        MODIFIABLE,
        replica_ignore_maxmemory,
        true
    ),
    boolean!(
        "jemalloc-bg-thread",
        None,
        MODIFIABLE,
        jemalloc_bg_thread,
        true
    ),
    boolean!(
        "activedefrag",
        None,
        MODIFIABLE,
        activedefrag,
        false,
        Some(valid_activedefrag)
    ),
    boolean!("syslog-enabled", None, IMMUTABLE, syslog_enabled, false),
    boolean!("cluster-enabled", None, IMMUTABLE, cluster_enabled, false),
    boolean!(
        "appendonly",
        None,
        MODIFIABLE | DENY_LOADING,
        appendonly,
        false
    ),
    boolean!(
        "cluster-allow-reads-when-down",
        None,
        MODIFIABLE,
        cluster_allow_reads_when_down,
        false
    ),
    boolean!(
        "cluster-allow-pubsubshard-when-down",
        None,
        MODIFIABLE,
        cluster_allow_pubsubshard_when_down,
        true
    ),
    boolean!(
        "crash-log-enabled",
        None,
        MODIFIABLE,
        crash_log_enabled,
        true
    ),
    boolean!(
        "crash-memcheck-enabled",
        None,
        MODIFIABLE,
        crash_memcheck_enabled,
        true
    ),
    boolean!(
        "use-exit-on-panic",
        None,
        MODIFIABLE | HIDDEN,
        use_exit_on_panic,
        false
    ),
    boolean!("disable-thp", None, IMMUTABLE, disable_thp, true),
    boolean!(
        "cluster-allow-replica-migration",
        None,
        MODIFIABLE,
        cluster_allow_replica_migration,
        true
    ),
    boolean!(
        "replica-announced",
        None,
        MODIFIABLE,
        replica_announced,
        true
    ),
    boolean!("latency-tracking", None, MODIFIABLE, latency_tracking, true),
    boolean!(
        "aof-disable-auto-gc",
        None,
        MODIFIABLE,
        aof_disable_auto_gc,
        false
    ),
    boolean!(
        "replica-ignore-disk-write-errors",
        None,
        MODIFIABLE,
        replica_ignore_disk_write_errors,
        false
    ),
    // ----- string configs -----
    string!("aclfile", IMMUTABLE, aclfile, "", None),
    nullable!("unixsocket", None, IMMUTABLE, unixsocket),
    nullable!("pidfile", None, IMMUTABLE, pidfile),
    nullable!(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        MODIFIABLE,
        replica_announce_ip
    ),
    nullable!("masteruser", None, MODIFIABLE | SENSITIVE, masteruser),
    nullable!("cluster-announce-ip", None, MODIFIABLE, cluster_announce_ip),
    string!(
        "cluster-config-file",
        IMMUTABLE,
        cluster_config_file,
        "nodes.conf",
        None
    ),
    nullable!(
        "cluster-announce-hostname",
        None,
        MODIFIABLE,
        cluster_announce_hostname,
        Some(valid_hostname)
    ),
    string!("syslog-ident", IMMUTABLE, syslog_ident, "redis", None),
    string!(
        "dbfilename",
        MODIFIABLE | PROTECTED,
        dbfilename,
        "dump.rdb",
        Some(valid_dbfilename)
    ),
    string!(
        "appendfilename",
        IMMUTABLE,
        appendfilename,
        "appendonly.aof",
        Some(valid_appendfilename)
    ),
    string!(
        "appenddirname",
        IMMUTABLE,
        appenddirname,
        "appendonlydir",
        Some(valid_appenddirname)
    ),
    nullable!("server_cpulist", None, IMMUTABLE, server_cpulist),
    nullable!("bio_cpulist", None, IMMUTABLE, bio_cpulist),
    nullable!("aof_rewrite_cpulist", None, IMMUTABLE, aof_rewrite_cpulist),
    nullable!("bgsave_cpulist", None, IMMUTABLE, bgsave_cpulist),
    string!("ignore-warnings", MODIFIABLE, ignore_warnings, "", None),
    string!(
        "proc-title-template",
        MODIFIABLE,
        proc_title_template,
        "{title} {listen-addr} {server-mode}",
        Some(valid_proc_title_template)
    ),
    nullable!("bind-source-addr", None, MODIFIABLE, bind_source_addr),
    string!("logfile", IMMUTABLE, logfile, "", None),
    // ----- binary-safe (sds) configs -----
    Def {
        name: "masterauth",
        alias: None,
        flags: MODIFIABLE | SENSITIVE,
        kind: Kind::Sds(SdsDef {
            get: |c| c.masterauth.as_deref(),
            set: |c, v| c.masterauth = v,
        }),
    },
    Def {
        name: "requirepass",
        alias: None,
        flags: MODIFIABLE | SENSITIVE,
        kind: Kind::Sds(SdsDef {
            get: |c| c.requirepass.as_deref(),
            set: |c, v| c.requirepass = v,
        }),
    },
    // ----- enum configs -----
    enumeration!(
        "supervised",
        IMMUTABLE,
        supervised,
        Supervised,
        Supervised::No
    ),
    enumeration!(
        "syslog-facility",
        IMMUTABLE,
        syslog_facility,
        SyslogFacility,
        SyslogFacility::Local0
    ),
    enumeration!(
        "repl-diskless-load",
        MODIFIABLE | DENY_LOADING,
        repl_diskless_load,
        ReplDisklessLoad,
        ReplDisklessLoad::Disabled
    ),
    enumeration!("loglevel", MODIFIABLE, loglevel, LogLevel, LogLevel::Notice),
    enumeration!(
        "maxmemory-policy",
        MODIFIABLE,
        maxmemory_policy,
        MaxmemoryPolicy,
        MaxmemoryPolicy::NoEviction
    ),
    enumeration!(
        "appendfsync",
        MODIFIABLE,
        appendfsync,
        AppendFsync,
        AppendFsync::Everysec
    ),
    enumeration!(
        "oom-score-adj",
        MODIFIABLE,
        oom_score_adj,
        OomScoreAdj,
        OomScoreAdj::No
    ),
    enumeration!(
        "acl-pubsub-default",
        MODIFIABLE,
        acl_pubsub_default,
        AclPubsubDefault,
        AclPubsubDefault::ResetChannels
    ),
    enumeration!(
        "sanitize-dump-payload",
        MODIFIABLE,
        sanitize_dump_payload,
        SanitizeDumpPayload,
        SanitizeDumpPayload::No
    ),
    enumeration!(
        "enable-protected-configs",
        IMMUTABLE,
        enable_protected_configs,
        ProtectedAction,
        ProtectedAction::No
    ),
    enumeration!(
        "enable-debug-command",
        IMMUTABLE,
        enable_debug_command,
        ProtectedAction,
        ProtectedAction::No
    ),
    enumeration!(
        "enable-module-command",
        IMMUTABLE,
        enable_module_command,
        ProtectedAction,
        ProtectedAction::No
    ),
    enumeration!(
        "cluster-preferred-endpoint-type",
        MODIFIABLE,
        cluster_preferred_endpoint_type,
        ClusterPreferredEndpointType,
        ClusterPreferredEndpointType::Ip
    ),
    enumeration!(
        "propagation-error-behavior",
        MODIFIABLE,
        propagation_error_behavior,
        PropagationErrorBehavior,
        PropagationErrorBehavior::Ignore
    ),
    shutdown_flags!("shutdown-on-sigint", shutdown_on_sigint),
    shutdown_flags!("shutdown-on-sigterm", shutdown_on_sigterm),
    enumeration!(
        "tls-auth-clients",
        MODIFIABLE,
        tls_auth_clients,
        TlsAuthClients,
        TlsAuthClients::Yes
    ),
    // ----- int configs -----
    int!("databases", None, IMMUTABLE, databases: usize, 1, INT_MAX, 16),
    int!("port", None, MODIFIABLE, port: u16, 0, 65535, 6379),
    int!("io-threads", None, IMMUTABLE, io_threads: u32, 1, 128, 1),
    int!("auto-aof-rewrite-percentage", None, MODIFIABLE, auto_aof_rewrite_percentage: u32, 0, INT_MAX, 100),
    int!("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), MODIFIABLE, cluster_replica_validity_factor: u32, 0, INT_MAX, 10),
    int!("list-max-listpack-size", Some("list-max-ziplist-size"), MODIFIABLE, list_max_listpack_size: i32, INT_MIN, INT_MAX, -2),
    int!("tcp-keepalive", None, MODIFIABLE, tcp_keepalive: u32, 0, INT_MAX, 300),
    int!("cluster-migration-barrier", None, MODIFIABLE, cluster_migration_barrier: u32, 0, INT_MAX, 1),
    int!("active-defrag-cycle-min", None, MODIFIABLE, active_defrag_cycle_min: u32, 1, 99, 1),
    int!("active-defrag-cycle-max", None, MODIFIABLE, active_defrag_cycle_max: u32, 1, 99, 25),
    int!("active-defrag-threshold-lower", None, MODIFIABLE, active_defrag_threshold_lower: u32, 0, 1000, 10),
    int!("active-defrag-threshold-upper", None, MODIFIABLE, active_defrag_threshold_upper: u32, 0, 1000, 100),
    int!("lfu-log-factor", None, MODIFIABLE, lfu_log_factor: u32, 0, INT_MAX, 10),
    int!("lfu-decay-time", None, MODIFIABLE, lfu_decay_time: u32, 0, INT_MAX, 1),
    int!("replica-priority", Some("slave-priority"), MODIFIABLE, replica_priority: u32, 0, INT_MAX, 100),
    int!("repl-diskless-sync-delay", None, MODIFIABLE, repl_diskless_sync_delay: u32, 0, INT_MAX, 5),
    int!("maxmemory-samples", None, MODIFIABLE, maxmemory_samples: u32, 1, INT_MAX, 5),
    int!("maxmemory-eviction-tenacity", None, MODIFIABLE, maxmemory_eviction_tenacity: u32, 0, 100, 10),
    int!("timeout", None, MODIFIABLE, timeout: u32, 0, INT_MAX, 0),
    int!("replica-announce-port", Some("slave-announce-port"), MODIFIABLE, replica_announce_port: u16, 0, 65535, 0),
    int!("tcp-backlog", None, IMMUTABLE, tcp_backlog: u32, 0, INT_MAX, 511),
    int!("cluster-port", None, IMMUTABLE, cluster_port: u16, 0, 65535, 0),
    int!("cluster-announce-bus-port", None, MODIFIABLE, cluster_announce_bus_port: u16, 0, 65535, 0),
    int!("cluster-announce-port", None, MODIFIABLE, cluster_announce_port: u16, 0, 65535, 0),
    int!("cluster-announce-tls-port", None, MODIFIABLE, cluster_announce_tls_port: u16, 0, 65535, 0),
    int!("repl-timeout", None, MODIFIABLE, repl_timeout: u32, 1, INT_MAX, 60),
    int!("repl-ping-replica-period", Some("repl-ping-slave-period"), MODIFIABLE, repl_ping_replica_period: u32, 1, INT_MAX, 10),
    int!("list-compress-depth", None, MODIFIABLE, list_compress_depth: u32, 0, INT_MAX, 0),
    int!("rdb-key-save-delay", None, MODIFIABLE | HIDDEN, rdb_key_save_delay: i32, INT_MIN, INT_MAX, 0),
    int!("key-load-delay", None, MODIFIABLE | HIDDEN, key_load_delay: i32, INT_MIN, INT_MAX, 0),
    int!("active-expire-effort", None, MODIFIABLE, active_expire_effort: u32, 1, 10, 1),
    int!("hz", None, MODIFIABLE, hz: u32, 0, INT_MAX, 10),
    int!("min-replicas-to-write", Some("min-slaves-to-write"), MODIFIABLE, min_replicas_to_write: u32, 0, INT_MAX, 0),
    int!("min-replicas-max-lag", Some("min-slaves-max-lag"), MODIFIABLE, min_replicas_max_lag: u32, 0, INT_MAX, 10),
    int!("safe-write-timeout", None, MODIFIABLE | HIDDEN, safe_write_timeout: u32, 1, INT_MAX, 5000),
    int!("watchdog-period", None, MODIFIABLE | HIDDEN, watchdog_period: u32, 0, INT_MAX, 0),
    int!("shutdown-timeout", None, MODIFIABLE, shutdown_timeout: u32, 0, INT_MAX, 10),
    int!("repl-diskless-sync-max-replicas", None, MODIFIABLE, repl_diskless_sync_max_replicas: u32, 0, INT_MAX, 0),
    // ----- unsigned int configs -----
    number!("maxclients", None, MODIFIABLE, maxclients: u32, 1, UINT_MAX, 10000, Int, true),
    number!("unixsocketperm", None, IMMUTABLE, unixsocketperm: u32, 0, 0o777, 0, Octal, true),
    number!("socket-mark-id", None, IMMUTABLE, socket_mark_id: u32, 0, UINT_MAX, 0, Int, true),
    // ----- unsigned long configs (signed bounds check in Redis) -----
    int!("active-defrag-max-scan-fields", None, MODIFIABLE, active_defrag_max_scan_fields: u64, 1, LONG_MAX, 1000),
    int!("slowlog-max-len", None, MODIFIABLE, slowlog_max_len: u64, 0, LONG_MAX, 128),
    int!("acllog-max-len", None, MODIFIABLE, acllog_max_len: u64, 0, LONG_MAX, 128),
    // ----- long long configs -----
    int!("busy-reply-threshold", Some("lua-time-limit"), MODIFIABLE, busy_reply_threshold: u64, 0, LONG_MAX, 5000),
    int!("cluster-node-timeout", None, MODIFIABLE, cluster_node_timeout: u64, 0, LLONG_MAX, 15000),
    int!("slowlog-log-slower-than", None, MODIFIABLE, slowlog_log_slower_than: i64, -1, LLONG_MAX, 10000),
    int!("latency-monitor-threshold", None, MODIFIABLE, latency_monitor_threshold: u64, 0, LLONG_MAX, 0),
    number!("proto-max-bulk-len", None, MODIFIABLE, proto_max_bulk_len: u64, 1024 * 1024, LONG_MAX, 512 * 1024 * 1024, Memory, false),
    int!("stream-node-max-entries", None, MODIFIABLE, stream_node_max_entries: u64, 0, LLONG_MAX, 100),
    number!("repl-backlog-size", None, MODIFIABLE, repl_backlog_size: u64, 1, LLONG_MAX, 1024 * 1024, Memory, false),
    // ----- unsigned long long configs -----
    number!("maxmemory", None, MODIFIABLE, maxmemory: u64, 0, ULLONG_MAX, 0, Memory, true),
    number!("cluster-link-sendbuf-limit", None, MODIFIABLE, cluster_link_sendbuf_limit: u64, 0, ULLONG_MAX, 0, Memory, true),
    // ----- size_t configs -----
    number!("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), MODIFIABLE, hash_max_listpack_entries: usize, 0, LONG_MAX, 512, Int, true),
    number!("set-max-intset-entries", None, MODIFIABLE, set_max_intset_entries: usize, 0, LONG_MAX, 512, Int, true),
    number!("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), MODIFIABLE, zset_max_listpack_entries: usize, 0, LONG_MAX, 128, Int, true),
    number!("active-defrag-ignore-bytes", None, MODIFIABLE, active_defrag_ignore_bytes: usize, 1, LLONG_MAX, 100 << 20, Memory, true),
    number!("hash-max-listpack-value", Some("hash-max-ziplist-value"), MODIFIABLE, hash_max_listpack_value: usize, 0, LONG_MAX, 64, Memory, true),
    number!("stream-node-max-bytes", None, MODIFIABLE, stream_node_max_bytes: usize, 0, LONG_MAX, 4096, Memory, true),
    number!("zset-max-listpack-value", Some("zset-max-ziplist-value"), MODIFIABLE, zset_max_listpack_value: usize, 0, LONG_MAX, 64, Memory, true),
    number!("hll-sparse-max-bytes", None, MODIFIABLE, hll_sparse_max_bytes: usize, 0, LONG_MAX, 3000, Memory, true),
    number!("tracking-table-max-keys", None, MODIFIABLE, tracking_table_max_keys: usize, 0, LONG_MAX, 1_000_000, Int, true),
    number!("client-query-buffer-limit", None, MODIFIABLE, client_query_buffer_limit: usize, 1024 * 1024, LONG_MAX, 1024 * 1024 * 1024, Memory, true),
    number!("maxmemory-clients", None, MODIFIABLE, maxmemory_clients: i64, -100, i64::MAX, 0, MemoryPercent, false),
    // ----- other numeric configs -----
    int!("repl-backlog-ttl", None, MODIFIABLE, repl_backlog_ttl: u64, 0, LONG_MAX, 3600),
    number!("auto-aof-rewrite-min-size", None, MODIFIABLE, auto_aof_rewrite_min_size: u64, 0, LLONG_MAX, 64 * 1024 * 1024, Memory, false),
    int!("loading-process-events-interval-bytes", None, MODIFIABLE | HIDDEN, loading_process_events_interval_bytes: u64, 1024, INT_MAX, 2 * 1024 * 1024),
    // ----- TLS configs -----
    int!("tls-port", None, MODIFIABLE, tls_port: u16, 0, 65535, 0),
    int!("tls-session-cache-size", None, MODIFIABLE, tls_session_cache_size: u32, 0, INT_MAX, 20 * 1024),
    int!("tls-session-cache-timeout", None, MODIFIABLE, tls_session_cache_timeout: u32, 0, INT_MAX, 300),
    boolean!("tls-cluster", None, MODIFIABLE, tls_cluster, false),
    boolean!("tls-replication", None, MODIFIABLE, tls_replication, false),
    boolean!(
        "tls-prefer-server-ciphers",
        None,
        MODIFIABLE,
        tls_prefer_server_ciphers,
        false
    ),
    boolean!(
        "tls-session-caching",
        None,
        MODIFIABLE,
        tls_session_caching,
        true
    ),
    nullable!("tls-cert-file", None, MODIFIABLE, tls_cert_file),
    nullable!("tls-key-file", None, MODIFIABLE, tls_key_file),
    nullable!(
        "tls-key-file-pass",
        None,
        MODIFIABLE | SENSITIVE,
        tls_key_file_pass
    ),
    nullable!(
        "tls-client-cert-file",
        None,
        MODIFIABLE,
        tls_client_cert_file
    ),
    nullable!("tls-client-key-file", None, MODIFIABLE, tls_client_key_file),
    nullable!(
        "tls-client-key-file-pass",
        None,
        MODIFIABLE | SENSITIVE,
        tls_client_key_file_pass
    ),
    nullable!("tls-dh-params-file", None, MODIFIABLE, tls_dh_params_file),
    nullable!("tls-ca-cert-file", None, MODIFIABLE, tls_ca_cert_file),
    nullable!("tls-ca-cert-dir", None, MODIFIABLE, tls_ca_cert_dir),
    nullable!("tls-protocols", None, MODIFIABLE, tls_protocols),
    nullable!("tls-ciphers", None, MODIFIABLE, tls_ciphers),
    nullable!("tls-ciphersuites", None, MODIFIABLE, tls_ciphersuites),
    // ----- special configs -----
    special!("dir", None, MODIFIABLE | PROTECTED | DENY_LOADING, Dir),
    special!("save", None, MODIFIABLE | MULTI_ARG, Save),
    special!(
        "client-output-buffer-limit",
        None,
        MODIFIABLE | MULTI_ARG,
        ClientOutputBufferLimit
    ),
    special!(
        "oom-score-adj-values",
        None,
        MODIFIABLE | MULTI_ARG,
        OomScoreAdjValues
    ),
    special!(
        "notify-keyspace-events",
        None,
        MODIFIABLE,
        NotifyKeyspaceEvents
    ),
    special!("bind", None, MODIFIABLE | MULTI_ARG, Bind),
    special!(
        "replicaof",
        Some("slaveof"),
        IMMUTABLE | MULTI_ARG,
        ReplicaOf
    ),
    special!(
        "latency-tracking-info-percentiles",
        None,
        MODIFIABLE | MULTI_ARG,
        LatencyTrackingInfoPercentiles
    ),
];
