//! Redis 7.0 configuration for redust.
//!
//! This crate owns everything about configuration directives and nothing
//! about acting on them: the typed [`Config`] record with Redis 7.0.15's
//! defaults, loading from `redis.conf` / stdin / the command line with
//! Redis's exact fatal error reports ([`load()`], [`ConfigError`]), CONFIG GET
//! ([`Config::get`]), atomic multi-pair CONFIG SET ([`Config::set`]),
//! CONFIG REWRITE ([`Config::rewrite`]), and the helpers the rest of the
//! server shares: Redis's glob matcher ([`glob_match`]), memory-size
//! parsing ([`parse_memory`]) and keyspace-event flags.
//!
//! Invariants: config input is untrusted, so nothing here panics on any
//! input; every user-visible text lives in [`messages`] and is Redis
//! 7.0.15's, byte for byte; loading and setting never change process state
//! (the server applies `dir`, listeners, log files, ... itself, using the
//! list of changed names CONFIG SET returns).

#![forbid(unsafe_code)]

mod config;
pub mod enums;
pub mod glob;
pub mod keyspace_events;
pub mod load;
pub mod messages;
mod ops;
pub mod rewrite;
pub mod sha256;
mod table;
pub mod values;

pub use config::{ClientBufferLimit, ClientOutputBufferLimits, Config, SentinelDirective};
pub use enums::{
    AclPubsubDefault, AppendFsync, ClusterPreferredEndpointType, ConfigEnum, LogLevel,
    MaxmemoryPolicy, OomScoreAdj, PropagationErrorBehavior, ProtectedAction, ReplDisklessLoad,
    SanitizeDumpPayload, Supervised, SyslogFacility, TlsAuthClients, SHUTDOWN_FORCE,
    SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_SAVE,
};
pub use glob::glob_match;
pub use keyspace_events::{keyspace_events_to_string, parse_keyspace_events};
pub use load::{
    command_line_options, load, load_from_bytes, load_from_bytes_with, load_with,
    split_command_line, ConfigError, LoadOptions,
};
pub use ops::{
    config_names, directive_info, is_mutable, DirectiveInfo, SetContext, CONFIG_MAX_HZ,
    CONFIG_MIN_HZ,
};
pub use rewrite::{RewriteExtras, SentinelRewrite, REWRITE_SIGNATURE};
pub use table::expand_proc_title_template;
pub use values::{parse_memory, repr, strerror};
