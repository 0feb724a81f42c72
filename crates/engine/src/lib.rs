//! The engine: one node's state and the machinery every command runs
//! through, apart from the commands themselves (`redust-commands`).
//!
//! A request travels through `exec::execute`: lookup in the `CommandTable`
//! (metadata from `spec`, handlers from the table the node was built with),
//! the checks Redis makes before a command, the handler (which touches keys
//! only through `db_ops`), then the bookkeeping (stats, slowlog, MONITOR,
//! notifications, propagation to the AOF and replicas, blocked clients).
//!
//! Invariants: no edge up into the command families (they are handed in
//! as a handler table); no sockets and no threads of its own (connections,
//! timers and the saver thread belong to the server, which calls in here
//! with the state lock held); file I/O only in `persist` (SAVE, loading)
//! and `aof` (the AOF's files).

pub mod acl;
pub mod aof;
pub mod args;
pub mod blocking;
pub mod client_eviction;
pub mod client_info;
pub mod clock;
pub mod cluster;
pub mod db_ops;
pub mod errors;
pub mod evict;
pub mod exec;
pub mod expire;
pub mod info;
pub mod lazyfree;
pub mod monitor;
pub mod notify;
pub mod obuf;
pub mod oom_score;
pub mod persist;
pub mod propagate;
pub mod pubsub;
pub mod replication;
pub mod safe_writes;
pub mod scripting;
pub mod spec;
mod spec_data;
mod spec_sentinel_data;
pub mod state;
pub mod stats;

pub use exec::{execute, CommandTable, Flow};

/// A hash map with a fast, per-process-seeded hasher, for the maps a request
/// touches (command table, command stats, clients): SipHash was a tenth of the
/// instructions of a GET.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub use state::{Client, Push, PushHandle, SharedState, State};
