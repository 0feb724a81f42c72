//! Every user-visible text of the configuration subsystem, in one place.
//!
//! This module owns the exact wording of load errors (the lines printed in
//! Redis's "FATAL CONFIG FILE ERROR" block), of per-value validation errors,
//! and of CONFIG SET / CONFIG REWRITE error replies. The texts are Redis
//! 7.0.15's, byte for byte (checked against Debian's `redis-server 7.0.15`),
//! because users, scripts and test suites match on them. Reply texts carry
//! their `ERR`/`LOADING` prefix but no leading `-` or trailing CRLF.

/// The Redis version printed in the fatal configuration error banner.
pub use redust_resp::REDIS_VERSION;

// ---------------------------------------------------------------------------
// Loading (redis.conf lines and command-line options)
// ---------------------------------------------------------------------------

/// Unknown directive, or a known non-config directive with a bad arity.
pub const BAD_DIRECTIVE: &str = "Bad directive or wrong number of arguments";
/// A single-valued config given zero or several values.
pub const WRONG_NUMBER_OF_ARGUMENTS: &str = "wrong number of arguments";
/// The line could not be split into arguments.
pub const UNBALANCED_QUOTES: &str = "Unbalanced quotes in configuration line";
/// `rename-command` names a command that does not exist.
pub const RENAME_NO_SUCH_COMMAND: &str = "No such command in rename-command";
/// `rename-command` target collides with an existing command.
pub const RENAME_TARGET_EXISTS: &str = "Target command name already exists";
/// `module.option` line without exactly one value.
pub const MODULE_CONFIG_WITHOUT_VALUE: &str = "Module config specified without value";
/// `sentinel ...` lines outside of sentinel mode.
pub const SENTINEL_NOT_IN_SENTINEL_MODE: &str = "sentinel directive while not in sentinel mode";
/// `replicaof` together with `cluster-enabled yes`.
pub const REPLICAOF_IN_CLUSTER_MODE: &str = "replicaof directive not allowed in cluster mode";
/// redust-specific: Redis recurses without limit (and crashes) on include
/// cycles; redust stops at a fixed depth instead.
pub const TOO_MANY_NESTED_INCLUDES: &str = "Too many nested include directives";

/// The log file named by `logfile` cannot be opened for appending.
pub fn cant_open_log_file(reason: &str) -> String {
    format!("Can't open the log file: {reason}")
}

/// A configuration file (main or included) cannot be opened. Redis logs this
/// through its logger (not the fatal banner) and exits.
pub fn cant_open_config_file(path: &str, reason: &str) -> String {
    format!("Fatal error, can't open config file '{path}': {reason}")
}

// ---------------------------------------------------------------------------
// Value validation (shared by loading and CONFIG SET)
// ---------------------------------------------------------------------------

/// Boolean configs.
pub const ARG_YES_NO: &str = "argument must be 'yes' or 'no'";
/// Prefix of the enum error; followed by the accepted names joined by ", ".
pub const ENUM_ARG_PREFIX: &str = "argument(s) must be one of the following: ";
/// Numeric config accepting `1gb` style sizes or `n%`.
pub const ARG_MEMORY_OR_PERCENT: &str = "argument must be a memory or percent value";
/// Numeric config accepting `1gb` style sizes.
pub const ARG_MEMORY: &str = "argument must be a memory value";
/// Octal numeric config (`unixsocketperm`).
pub const ARG_OCTAL: &str = "argument couldn't be parsed as an octal number";
/// Plain integer config.
pub const ARG_INTEGER: &str = "argument couldn't be parsed into an integer";

/// Out-of-range signed integer.
pub fn arg_between_signed(lower: i64, upper: i64) -> String {
    format!("argument must be between {lower} and {upper} inclusive")
}

/// Out-of-range unsigned integer.
pub fn arg_between_unsigned(lower: u64, upper: u64) -> String {
    format!("argument must be between {lower} and {upper} inclusive")
}

/// Out-of-range octal integer (bounds printed in octal).
pub fn arg_between_octal(lower: u64, upper: u64) -> String {
    format!("argument must be between {lower:o} and {upper:o} inclusive")
}

/// Percentage above the allowed maximum.
pub fn arg_percent_max(max: i64) -> String {
    format!("percentage argument must be less or equal to {max}")
}

/// `save` with an odd count, a bad number, seconds < 1 or changes < 0.
pub const INVALID_SAVE_PARAMS: &str = "Invalid save parameters";
/// `client-output-buffer-limit` args not a multiple of four.
pub const OBUF_WRONG_ARGS: &str = "Wrong number of arguments in buffer limit configuration.";
/// `client-output-buffer-limit` with an unknown (or master) class.
pub const OBUF_BAD_CLASS: &str = "Invalid client class specified in buffer limit configuration.";
/// `client-output-buffer-limit` with a bad size or seconds value.
pub const OBUF_BAD_VALUES: &str =
    "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
/// `oom-score-adj-values` element out of range or not a number.
pub const OOM_SCORE_ADJ_VALUES_INVALID: &str =
    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.";
/// `notify-keyspace-events` with an unknown class character.
pub const NOTIFY_KEYSPACE_EVENTS_INVALID: &str =
    "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
/// `bind` with more than 16 addresses.
pub const BIND_TOO_MANY: &str = "Too many bind addresses specified.";
/// `replicaof` with a port that is not 0..=65535.
pub const INVALID_MASTER_PORT: &str = "Invalid master port";
/// `latency-tracking-info-percentiles` element that is not a number.
pub const LATENCY_PERCENTILES_INVALID: &str =
    "Invalid latency-tracking-info-percentiles parameters";
/// `latency-tracking-info-percentiles` element outside [0, 100].
pub const LATENCY_PERCENTILES_RANGE: &str =
    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
/// `shutdown-on-sigint`/`shutdown-on-sigterm` with both `save` and `nosave`.
pub const SHUTDOWN_SAVE_AND_NOSAVE: &str =
    "shutdown options SAVE and NOSAVE can't be used simultaneously";
/// `dbfilename` containing a path separator.
pub const DBFILENAME_IS_PATH: &str = "dbfilename can't be a path, just a filename";
/// Empty `appendfilename`.
pub const APPENDFILENAME_EMPTY: &str = "appendfilename can't be empty";
/// `appendfilename` containing a path separator.
pub const APPENDFILENAME_IS_PATH: &str = "appendfilename can't be a path, just a filename";
/// Empty `appenddirname`.
pub const APPENDDIRNAME_EMPTY: &str = "appenddirname can't be empty";
/// `appenddirname` containing a path separator.
pub const APPENDDIRNAME_IS_PATH: &str = "appenddirname can't be a path, just a dirname";
/// `cluster-announce-hostname` of 256 bytes or more.
pub const HOSTNAME_TOO_LONG: &str = "Hostnames must be less than 256 characters";
/// `cluster-announce-hostname` with characters other than `[A-Za-z0-9.-]`.
pub const HOSTNAME_BAD_CHARS: &str =
    "Hostnames may only contain alphanumeric characters, hyphens or dots";
/// `proc-title-template` that expands to nothing or uses unknown variables.
pub const PROC_TITLE_TEMPLATE_INVALID: &str =
    "template format is invalid or contains unknown variables";
/// `activedefrag yes` on a build without Redis's patched jemalloc (Debian's
/// build, and redust, which has no active defragmentation).
pub const ACTIVEDEFRAG_UNSUPPORTED: &str = "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution";

// ---------------------------------------------------------------------------
// CONFIG SET / CONFIG REWRITE replies
// ---------------------------------------------------------------------------

/// Per-config CONFIG SET refusal: immutable config.
pub const CANT_SET_IMMUTABLE: &str = "can't set immutable config";
/// Per-config CONFIG SET refusal: protected config not enabled for this client.
pub const CANT_SET_PROTECTED: &str = "can't set protected config";
/// Same config named twice in one CONFIG SET.
pub const DUPLICATE_PARAMETER: &str = "duplicate parameter";
/// CONFIG SET of a deny-loading config while the dataset is loading.
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
/// CONFIG REWRITE on a server started without a config file.
pub const REWRITE_NO_CONFIG_FILE: &str = "ERR The server is running without a config file";

// Apply-step failures. The server reports these with
// `set_failed(name, Some(..))` after restoring the previous configuration.

/// `port` / `tls-port` could not be bound.
pub const APPLY_PORT_FAILED: &str = "Unable to listen on this port. Check server logs.";
/// `bind` addresses could not be bound.
pub const APPLY_BIND_FAILED: &str = "Failed to bind to specified addresses.";
/// `appendonly yes` could not start AOF.
pub const APPLY_APPENDONLY_FAILED: &str = "Unable to turn on AOF. Check server logs.";
/// `oom-score-adj` / `oom-score-adj-values` could not be applied.
pub const APPLY_OOM_SCORE_ADJ_FAILED: &str =
    "Failed to set current oom_score_adj. Check server logs.";

/// `maxclients` above what the file descriptor limit allows.
pub fn apply_maxclients_failed(possible: u32) -> String {
    format!(
        "The operating system is not able to handle the specified number of clients, try with {possible}"
    )
}

/// CONFIG SET naming an unknown config.
pub fn set_unknown_option(name: &str) -> String {
    format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
}

/// CONFIG SET failure tied to one argument.
pub fn set_failed(name: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => {
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")
        }
        None => format!("ERR CONFIG SET failed (possibly related to argument '{name}')"),
    }
}

/// CONFIG REWRITE I/O failure.
pub fn rewrite_failed(reason: &str) -> String {
    format!("ERR Rewriting config file: {reason}")
}
