//! Command handlers, one module per family, and the table that names them.
//!
//! A handler is registered under its full lowercase name (`"config|get"` for
//! subcommands); arity and flags come from the command specs, so a handler
//! only has to do its work. Each collection family keeps its own `HANDLERS`
//! table in its module; `all_handlers` chains them.

pub mod acl;
pub mod cluster;
pub mod connection;
pub mod hashes;
pub mod keys;
pub mod lists;
pub mod migrate;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod sentinel;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod zsets;

use crate::exec::{CommandTable, Handler, Mode};
use std::sync::Arc;

/// A node's command table for its mode, with `rename-command` applied.
pub fn command_table(mode: Mode, renames: &[(String, String)]) -> Arc<CommandTable> {
    Arc::new(CommandTable::with_specs(
        crate::exec::specs_for(mode),
        handlers(mode),
        renames,
    ))
}

/// The handlers a mode has. Standalone and Cluster have every command (the
/// CLUSTER family joins with the cluster crate); Sentinel has Redis 7.0
/// Sentinel's own short table (`SENTINEL_COMMANDS`).
pub fn handlers(mode: Mode) -> Vec<&'static (&'static str, Handler)> {
    match mode {
        Mode::Standalone | Mode::Cluster => all_handlers().collect(),
        Mode::Sentinel => all_handlers()
            .filter(|(name, _)| {
                let top = name.split('|').next().unwrap_or(name);
                SENTINEL_COMMANDS.contains(&top)
            })
            .collect(),
    }
}

/// The commands a Redis 7.0 Sentinel has (`COMMAND LIST` on
/// `redis-server --sentinel`); ACL and SENTINEL come with their crates, and
/// Sentinel's own INFO, ROLE and PUBLISH will replace the ones here.
pub const SENTINEL_COMMANDS: &[&str] = &[
    "acl",
    "auth",
    "client",
    "command",
    "hello",
    "info",
    "ping",
    "psubscribe",
    "publish",
    "punsubscribe",
    "role",
    "sentinel",
    "shutdown",
    "subscribe",
    "unsubscribe",
];

/// Every implemented command, by full name.
pub fn all_handlers() -> impl Iterator<Item = &'static (&'static str, Handler)> {
    CORE_HANDLERS
        .iter()
        .chain(lists::HANDLERS)
        .chain(hashes::HANDLERS)
        .chain(sets::HANDLERS)
        .chain(zsets::HANDLERS)
        .chain(sort::HANDLERS)
        .chain(persistence::HANDLERS)
        .chain(acl::HANDLERS)
        .chain(cluster::HANDLERS)
        .chain(migrate::HANDLERS)
}

/// Connection, string, key, pub/sub, transaction and server commands.
static CORE_HANDLERS: &[(&str, Handler)] = &[
    // connection
    ("ping", connection::ping),
    ("echo", connection::echo),
    ("quit", connection::quit),
    ("reset", connection::reset),
    ("hello", connection::hello),
    ("auth", connection::auth),
    ("select", connection::select),
    ("client|id", connection::client),
    ("client|setname", connection::client),
    ("client|getname", connection::client),
    ("client|list", connection::client),
    ("client|info", connection::client),
    ("client|kill", connection::client),
    ("client|unblock", connection::client),
    ("client|pause", connection::client),
    ("client|unpause", connection::client),
    ("client|reply", connection::client),
    ("client|no-evict", connection::client),
    ("client|help", connection::client),
    // strings
    ("get", strings::get),
    ("set", strings::set),
    ("setnx", strings::setnx),
    ("setex", strings::setex),
    ("psetex", strings::psetex),
    ("mget", strings::mget),
    ("mset", strings::mset),
    ("msetnx", strings::msetnx),
    ("getset", strings::getset),
    ("getdel", strings::getdel),
    ("getex", strings::getex),
    ("append", strings::append),
    ("strlen", strings::strlen),
    ("incr", strings::incr),
    ("decr", strings::decr),
    ("incrby", strings::incrby),
    ("decrby", strings::decrby),
    ("incrbyfloat", strings::incrbyfloat),
    ("setrange", strings::setrange),
    ("getrange", strings::getrange),
    ("substr", strings::getrange),
    ("lcs", strings::lcs),
    // keys
    ("del", keys::del),
    ("unlink", keys::unlink),
    ("exists", keys::exists),
    ("type", keys::type_),
    ("rename", keys::rename),
    ("renamenx", keys::renamenx),
    ("keys", keys::keys),
    ("scan", keys::scan),
    ("randomkey", keys::randomkey),
    ("dbsize", keys::dbsize),
    ("expire", keys::expire),
    ("pexpire", keys::pexpire),
    ("expireat", keys::expireat),
    ("pexpireat", keys::pexpireat),
    ("ttl", keys::ttl),
    ("pttl", keys::pttl),
    ("expiretime", keys::expiretime),
    ("pexpiretime", keys::pexpiretime),
    ("persist", keys::persist),
    ("touch", keys::touch),
    ("copy", keys::copy),
    ("move", keys::move_),
    ("swapdb", keys::swapdb),
    ("flushdb", keys::flushdb),
    ("flushall", keys::flushall),
    ("object|encoding", keys::object),
    ("object|refcount", keys::object),
    ("object|idletime", keys::object),
    ("object|freq", keys::object),
    ("object|help", keys::object),
    // pub/sub
    ("subscribe", pubsub::subscribe),
    ("unsubscribe", pubsub::unsubscribe),
    ("psubscribe", pubsub::psubscribe),
    ("punsubscribe", pubsub::punsubscribe),
    ("publish", pubsub::publish_cmd),
    ("ssubscribe", pubsub::ssubscribe),
    ("sunsubscribe", pubsub::sunsubscribe),
    ("spublish", pubsub::spublish),
    ("pubsub|channels", pubsub::pubsub),
    ("pubsub|numsub", pubsub::pubsub),
    ("pubsub|numpat", pubsub::pubsub),
    ("pubsub|shardchannels", pubsub::pubsub),
    ("pubsub|shardnumsub", pubsub::pubsub),
    ("pubsub|help", pubsub::pubsub),
    // transactions
    ("multi", multi::multi),
    ("exec", multi::exec),
    ("discard", multi::discard),
    ("watch", multi::watch),
    ("unwatch", multi::unwatch),
    // server
    ("info", server::info),
    ("config|get", server::config),
    ("config|set", server::config),
    ("config|resetstat", server::config),
    ("config|rewrite", server::config),
    ("config|help", server::config),
    ("command", server::command),
    ("command|count", server::command),
    ("command|info", server::command),
    ("command|docs", server::command),
    ("command|getkeys", server::command),
    ("command|getkeysandflags", server::command),
    ("command|list", server::command),
    ("command|help", server::command),
    ("time", server::time),
    ("shutdown", server::shutdown),
    ("monitor", server::monitor),
    ("slowlog|get", server::slowlog),
    ("slowlog|len", server::slowlog),
    ("slowlog|reset", server::slowlog),
    ("slowlog|help", server::slowlog),
    ("latency|latest", server::latency),
    ("latency|history", server::latency),
    ("latency|reset", server::latency),
    ("latency|doctor", server::latency),
    ("latency|graph", server::latency),
    ("latency|histogram", server::latency),
    ("latency|help", server::latency),
    ("memory|usage", server::memory),
    ("memory|stats", server::memory),
    ("memory|doctor", server::memory),
    ("memory|malloc-stats", server::memory),
    ("memory|purge", server::memory),
    ("memory|help", server::memory),
    ("debug", server::debug),
    ("wait", replication::wait),
    ("replicaof", replication::replicaof),
    ("slaveof", replication::replicaof),
    ("replconf", replication::replconf),
    ("psync", replication::psync),
    ("sync", replication::psync),
    ("role", replication::role),
    // Sentinel mode
    ("sentinel|ckquorum", sentinel::sentinel),
    ("sentinel|debug", sentinel::sentinel),
    ("sentinel|config", sentinel::sentinel),
    ("sentinel|failover", sentinel::sentinel),
    ("sentinel|flushconfig", sentinel::sentinel),
    ("sentinel|get-master-addr-by-name", sentinel::sentinel),
    ("sentinel|help", sentinel::sentinel),
    ("sentinel|info-cache", sentinel::sentinel),
    ("sentinel|is-master-down-by-addr", sentinel::sentinel),
    ("sentinel|master", sentinel::sentinel),
    ("sentinel|masters", sentinel::sentinel),
    ("sentinel|monitor", sentinel::sentinel),
    ("sentinel|myid", sentinel::sentinel),
    ("sentinel|pending-scripts", sentinel::sentinel),
    ("sentinel|remove", sentinel::sentinel),
    ("sentinel|replicas", sentinel::sentinel),
    ("sentinel|reset", sentinel::sentinel),
    ("sentinel|sentinels", sentinel::sentinel),
    ("sentinel|set", sentinel::sentinel),
    ("sentinel|simulate-failure", sentinel::sentinel),
    ("sentinel|slaves", sentinel::sentinel),
    ("failover", replication::failover),
    // scripting
    ("eval", scripting::eval),
    ("evalsha", scripting::eval),
    ("eval_ro", scripting::eval),
    ("evalsha_ro", scripting::eval),
    ("script|load", scripting::script),
    ("script|exists", scripting::script),
    ("script|flush", scripting::script),
    ("script|kill", scripting::script),
    ("script|help", scripting::script),
    ("fcall", scripting::fcall),
    ("fcall_ro", scripting::fcall),
    ("function|load", scripting::function),
    ("function|delete", scripting::function),
    ("function|flush", scripting::function),
    ("function|list", scripting::function),
    ("function|dump", scripting::function),
    ("function|restore", scripting::function),
    ("function|stats", scripting::function),
    ("function|kill", scripting::function),
    ("function|help", scripting::function),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_decides_which_commands_exist() {
        let standalone = command_table(Mode::Standalone, &[]);
        let sentinel = command_table(Mode::Sentinel, &[]);
        for name in ["get", "set", "config|get", "ping", "client|list"] {
            assert!(standalone.implemented(name), "{name}");
        }
        for name in ["ping", "client|list", "subscribe", "hello", "shutdown"] {
            assert!(sentinel.implemented(name), "{name}");
        }
        for name in ["get", "set", "config|get", "replicaof", "flushall"] {
            assert!(!sentinel.implemented(name), "{name}");
        }
        assert!(handlers(Mode::Cluster).len() == handlers(Mode::Standalone).len());
    }
}
