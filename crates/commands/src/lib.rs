//! The command families: every command's implementation (`cmd`), and the
//! handler table a node's command table is built from
//! (`cmd::command_table`). They run on the engine (`redust-engine`), whose
//! modules are re-exported here so handler code and the server name them
//! as before (`crate::state::State`, `redust_commands::persist`).
//!
//! Invariant: handlers reach keys only through the engine's `db_ops` and
//! other clients only through the engine's push handles; no I/O of their own.

pub mod cmd;
pub mod long_double;

pub use redust_engine::{
    acl, aof, args, blocking, client_eviction, client_info, clock, cluster, db_ops, errors, evict,
    exec, expire, info, lazyfree, monitor, notify, obuf, oom_score, persist, propagate, pubsub,
    replication, safe_writes, scripting, spec, state, stats,
};
pub use redust_engine::{
    execute, Client, CommandTable, FastMap, Flow, Push, PushHandle, SharedState, State,
};
