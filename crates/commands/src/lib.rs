//! Commands: the command table and every command's implementation, run
//! against the shared server `State`.
//!
//! A request travels through `exec::execute`: lookup in the `CommandTable`
//! (metadata from `spec`, handlers from `cmd`), the pre-checks Redis makes,
//! the handler (which touches keys only through `db_ops`), then the
//! bookkeeping (stats, slowlog, MONITOR, notifications).
//!
//! Invariant: this crate does no socket or file I/O of its own; connections,
//! timers and processes belong to the server crate, which calls in here with
//! the state lock held.

pub mod aof;
pub mod args;
pub mod blocking;
pub mod client_eviction;
pub mod client_info;
pub mod clock;
pub mod cmd;
pub mod db_ops;
pub mod errors;
pub mod evict;
pub mod exec;
pub mod expire;
pub mod info;
pub mod lazyfree;
pub mod long_double;
pub mod monitor;
pub mod notify;
pub mod obuf;
pub mod oom_score;
pub mod persist;
pub mod propagate;
pub mod pubsub;
pub mod replication;
pub mod spec;
mod spec_data;
pub mod state;
pub mod stats;

pub use exec::{execute, CommandTable, Flow};

/// A hash map with a fast, per-process-seeded hasher, for the maps a request
/// touches (command table, command stats, clients): SipHash was a tenth of the
/// instructions of a GET.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub use state::{Client, Push, PushHandle, SharedState, State};
