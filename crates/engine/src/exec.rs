//! From a parsed request to a reply: command lookup, the checks Redis makes
//! before running a command (arity, auth, MULTI queueing, pub/sub context,
//! pause, OOM), the call itself, and the bookkeeping after it (stats, slowlog,
//! latency, MONITOR, lazily expired keys).
//!
//! The command table joins two things: the metadata of every Redis 7.0 command
//! of the server's mode (`spec`, from which arity and flags come: the
//! standalone table, or Sentinel's own, [`specs_for`]) and the handlers it is
//! built with (the command families' table for the mode, `cmd::handlers`).
//! A command without a handler is unknown.

use crate::errors::{self, CmdError, CmdResult};
use crate::spec::{self, CommandSpec};
use crate::state::{Client, ReplyMode, SlowLogEntry, State};
use bytes::Bytes;
use redust_resp::Reply;
use std::collections::HashMap;

/// A command handler: reads its arguments (name included at index 0), writes
/// its reply, and returns an error to reply with instead.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// Which server a node is: a mode decides which commands exist (Redis's
/// Sentinel has a table of its own) and whether keys are routed by slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Standalone,
    Sentinel,
    Cluster,
}

/// Where a command's keys belong, in Cluster mode: instead of running a
/// command whose keys another node serves, the node answers `-MOVED`,
/// `-ASK`, `-CROSSSLOT`, `-TRYAGAIN` or `-CLUSTERDOWN`. `execute` asks it
/// where Redis's `processCommand` does: after the command is known, its
/// arity checked and the client authenticated, before client eviction and
/// OOM; never for the master's own stream.
pub trait KeyRouter: Send + Sync {
    fn route(
        &self,
        state: &State,
        client: &Client,
        command: &Command,
        args: &[Bytes],
    ) -> Option<CmdError>;
}

/// The command specs of a mode's table: Redis 7.0 Sentinel has its own
/// (15 commands, SENTINEL among them); Standalone and Cluster share the full
/// table.
pub fn specs_for(mode: Mode) -> &'static [CommandSpec] {
    match mode {
        Mode::Standalone | Mode::Cluster => spec::all_commands(),
        Mode::Sentinel => spec::sentinel_specs(),
    }
}

/// What a handler works with.
pub struct Ctx<'a> {
    pub state: &'a mut State,
    pub client: &'a mut Client,
    pub reply: &'a mut Reply,
}

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;

    pub fn from_names(names: &[&str]) -> u32 {
        names.iter().fold(0, |acc, n| {
            acc | match *n {
                "write" => WRITE,
                "readonly" => READONLY,
                "denyoom" => DENYOOM,
                "admin" => ADMIN,
                "pubsub" => PUBSUB,
                "noscript" => NOSCRIPT,
                "blocking" => BLOCKING,
                "loading" => LOADING,
                "stale" => STALE,
                "skip_monitor" => SKIP_MONITOR,
                "skip_slowlog" => SKIP_SLOWLOG,
                "fast" => FAST,
                "no_auth" => NO_AUTH,
                "may_replicate" => MAY_REPLICATE,
                "no_multi" => NO_MULTI,
                "allow_busy" => ALLOW_BUSY,
                _ => 0,
            }
        })
    }
}

/// One runnable command (or subcommand).
pub struct Command {
    /// Full lowercase name: "get", "config|get".
    pub name: String,
    pub spec: &'static CommandSpec,
    pub flags: u32,
    pub handler: Option<Handler>,
    pub subcommands: crate::FastMap<Vec<u8>, Command>,
    /// Where its counters live in `Stats` (numbered as the table is built).
    pub stats_slot: usize,
    /// Redis answers it before firing its keyspace events
    /// ([`REPLY_BEFORE_EVENTS`]).
    pub replies_before_events: bool,
    /// Where its keys are, worked out once from its key specs, for the
    /// per-command cluster routing.
    pub key_shape: KeyShape,
}

/// Where a command's keys are, as far as a fast path needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyShape {
    /// No keys at all.
    None,
    /// Exactly one key, at this argument (GET, SET, INCR...).
    Single(usize),
    /// Anything else: ask the key specs.
    General,
}

impl KeyShape {
    fn of(spec: &CommandSpec) -> KeyShape {
        use crate::spec::{BeginSearch, FindKeys};
        if spec.key_specs.is_empty() && crate::spec::getkeys_proc(spec.name).is_none() {
            return KeyShape::None;
        }
        match spec.key_specs {
            [ks] if ks
                .flags
                .iter()
                .all(|f| !matches!(*f, "not_key" | "incomplete" | "variable_flags")) =>
            {
                match (&ks.begin_search, &ks.find_keys) {
                    (BeginSearch::Index(pos), FindKeys::Range { lastkey: 0, .. }) if *pos > 0 => {
                        KeyShape::Single(*pos as usize)
                    }
                    _ => KeyShape::General,
                }
            }
            _ => KeyShape::General,
        }
    }
}

impl Command {
    pub fn is(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// The command table, with `rename-command` applied.
pub struct CommandTable {
    commands: crate::FastMap<Vec<u8>, Command>,
    /// The specs the table was built from (sorted by name).
    specs: &'static [CommandSpec],
}

fn build_command(
    spec: &'static CommandSpec,
    handlers: &HashMap<&'static str, Handler>,
    next_slot: &mut usize,
) -> Command {
    let stats_slot = *next_slot;
    *next_slot += 1;
    let subcommands = spec
        .subcommands
        .iter()
        .map(|sub| {
            let short = sub.name.rsplit('|').next().unwrap_or(sub.name);
            (
                short.as_bytes().to_vec(),
                build_command(sub, handlers, next_slot),
            )
        })
        .collect();
    Command {
        name: spec.name.to_string(),
        spec,
        flags: flags::from_names(spec.flags),
        handler: handlers.get(spec.name).copied(),
        subcommands,
        stats_slot,
        replies_before_events: REPLY_BEFORE_EVENTS.contains(&spec.name),
        key_shape: KeyShape::of(spec),
    }
}

impl CommandTable {
    /// Builds the table from the standalone specs and `handlers` (by full
    /// name), then applies renames (`(from, to)`; an empty `to` removes the
    /// command).
    pub fn new<'h>(
        handlers: impl IntoIterator<Item = &'h (&'static str, Handler)>,
        renames: &[(String, String)],
    ) -> CommandTable {
        CommandTable::with_specs(spec::all_commands(), handlers, renames)
    }

    /// As [`CommandTable::new`], from `specs` (a mode's table, sorted by name:
    /// [`specs_for`]). Only commands with a handler (for themselves or one of
    /// their subcommands) make it into the table.
    pub fn with_specs<'h>(
        specs: &'static [CommandSpec],
        handlers: impl IntoIterator<Item = &'h (&'static str, Handler)>,
        renames: &[(String, String)],
    ) -> CommandTable {
        let handlers: HashMap<&'static str, Handler> = handlers.into_iter().copied().collect();
        let mut commands = crate::FastMap::default();
        let mut next_slot = 0;
        for spec in specs {
            let command = build_command(spec, &handlers, &mut next_slot);
            if command.handler.is_some()
                || command.subcommands.values().any(|s| s.handler.is_some())
            {
                commands.insert(spec.name.as_bytes().to_vec(), command);
            }
        }
        for (from, to) in renames {
            if let Some(cmd) = commands.remove(from.to_ascii_lowercase().as_bytes()) {
                if !to.is_empty() {
                    commands.insert(to.to_ascii_lowercase().into_bytes(), cmd);
                }
            }
        }
        CommandTable { commands, specs }
    }

    /// The specs the table was built from (every command of the mode, with
    /// a handler here or not), sorted by name.
    pub fn specs(&self) -> &'static [CommandSpec] {
        self.specs
    }

    /// The spec of a command of this table's mode by full name (`get`,
    /// `config|get`; any case), implemented here or not.
    pub fn find_spec(&self, full_name: &[u8]) -> Option<&'static CommandSpec> {
        spec::find_by_fullname_in(self.specs, full_name)
    }

    /// The command for a request's first argument (any case).
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        if name.len() <= buf.len() {
            let lower = &mut buf[..name.len()];
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            self.commands.get(&lower[..])
        } else {
            None
        }
    }

    /// Is this (lowercase, `a|b` for subcommands) name runnable here?
    pub fn implemented(&self, full_name: &str) -> bool {
        let mut parts = full_name.split('|');
        let Some(top) = parts.next().and_then(|n| self.commands.get(n.as_bytes())) else {
            return false;
        };
        match parts.next() {
            None => true,
            Some(sub) => top
                .subcommands
                .get(sub.as_bytes())
                .is_some_and(|s| s.handler.is_some()),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Command)> {
        self.commands.iter()
    }

    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }
}

/// What the connection should do after a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Write what is buffered, then close (QUIT, protocol errors, CLIENT KILL of self).
    Close,
    /// The request must wait (CLIENT PAUSE) until about this time; run it again then.
    Wait {
        until_ms: i64,
    },
    /// The client is blocked (BLPOP...): wait for a wake-up from the server or
    /// the deadline (`blocking::timeout_blocked`), then drop the request.
    Blocked {
        deadline_ms: Option<i64>,
    },
    /// PSYNC/SYNC made the connection a replica: write what is buffered,
    /// then hand the socket to the replica sender (`Client::repl.handoff`).
    Replica,
}

fn unknown_command(args: &[Bytes]) -> CmdError {
    // Redis prints the name and arguments as C strings: each ends at its
    // first NUL byte.
    let c_str = |a: &[u8]| -> usize { a.iter().position(|&b| b == 0).unwrap_or(a.len()) };
    let name = &args[0][..c_str(&args[0])];
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
    let mut rest = String::new();
    for a in args.iter().skip(1) {
        if rest.len() >= 128 {
            break;
        }
        let remaining = 128 - rest.len();
        let a = &a[..c_str(a)];
        let text = String::from_utf8_lossy(&a[..a.len().min(remaining)]).into_owned();
        rest.push_str(&format!("'{text}' "));
    }
    format!("ERR unknown command '{name}', with args beginning with: {rest}").into()
}

/// Finds the command (or subcommand) a request names, checking arity.
pub fn resolve<'t>(table: &'t CommandTable, args: &[Bytes]) -> Result<&'t Command, CmdError> {
    let Some(top) = table.lookup(&args[0]) else {
        return Err(unknown_command(args));
    };
    let command = if top.subcommands.is_empty() || (args.len() < 2 && top.handler.is_some()) {
        top
    } else if args.len() < 2 {
        return Err(errors::wrong_args(&top.name));
    } else {
        let sub = args[1].to_ascii_lowercase();
        match top.subcommands.get(&sub) {
            Some(s) if s.handler.is_some() => s,
            _ => return Err(errors::unknown_subcommand(&args[1], &top.name)),
        }
    };
    let arity = command.spec.arity;
    if (arity > 0 && args.len() != arity as usize) || (args.len() < arity.unsigned_abs() as usize) {
        return Err(errors::wrong_args(&command.name));
    }
    Ok(command)
}

/// Refuses a command before it runs (Redis's rejectCommand): counts it, and
/// inside MULTI makes the coming EXEC fail with EXECABORT.
fn reject(ctx: &mut Ctx, command: Option<&Command>, err: CmdError) {
    // With or without MULTI, as Redis's rejectCommand.
    let refused_exec = command.is_some_and(|c| c.name == "exec");
    let err = if refused_exec {
        // A refused EXEC discards its transaction, saying why (Redis's
        // execCommandAbort).
        ctx.client.multi = None;
        ctx.client.multi_error = false;
        crate::notify::unwatch_all(ctx.state, ctx.client);
        CmdError::from(format!(
            "EXECABORT Transaction discarded because of: {}",
            err.0.strip_prefix('-').unwrap_or(&err.0)
        ))
    } else {
        if ctx.client.multi.is_some() {
            ctx.client.multi_error = true;
        }
        err
    };
    if let Some(c) = command {
        ctx.state
            .stats
            .command(c.stats_slot, &c.name)
            .rejected_calls += 1;
    }
    ctx.state.stats.count_error(&err.0);
    ctx.reply.error(&err.0);
}

const PUBSUB_CONTEXT_ALLOWED: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "psubscribe",
    "punsubscribe",
    "ssubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Runs one request for `client`. The caller holds the state lock and has set
/// `state.now_ms`.
pub fn execute(state: &mut State, client: &mut Client, args: &[Bytes], reply: &mut Reply) -> Flow {
    if args.is_empty() {
        return Flow::Continue;
    }
    let table = state.commands.clone();
    // Where this command's reply starts (safe mode may hold it back).
    let reply_start = reply.buf.len();
    let mut ctx = Ctx {
        state,
        client,
        reply,
    };
    ctx.client.last_interaction_ms = ctx.state.now_ms;
    if std::mem::take(&mut ctx.client.postponed) {
        ctx.state.blocking.blocked_clients = ctx.state.blocking.blocked_clients.saturating_sub(1);
    }
    // The checks below follow the order of Redis's processCommand.
    let command = match resolve(&table, args) {
        Ok(c) => c,
        Err(e) => {
            let top = table.lookup(&args[0]);
            reject(&mut ctx, top, e);
            return Flow::Continue;
        }
    };
    let name = command.name.as_str();
    // Reuses the buffer: no allocation per command.
    ctx.client.last_command.clear();
    ctx.client.last_command.push_str(&command.name);

    if ctx.state.rdb.loading_in_background && !command.is(flags::LOADING) {
        reject(&mut ctx, Some(command), errors::LOADING.into());
        return Flow::Continue;
    }

    if !ctx.client.authenticated && !command.is(flags::NO_AUTH) {
        reject(&mut ctx, Some(command), errors::NOAUTH.into());
        return Flow::Continue;
    }

    // A busy script's servicing: no eviction may run under the script.
    let busy = crate::scripting::busy_refusal(ctx.state);

    if ctx.client.multi.is_some() && command.is(flags::NO_MULTI) {
        reject(
            &mut ctx,
            Some(command),
            "ERR Command not allowed inside a transaction".into(),
        );
        return Flow::Continue;
    }

    if let Err(denied) = crate::acl::check(ctx.state, ctx.client.user.as_deref(), command, args) {
        let context = if ctx.client.multi.is_some() {
            redust_acl::LogContext::Multi
        } else {
            redust_acl::LogContext::Toplevel
        };
        crate::acl::log_refusal(ctx.state, ctx.client, denied, context, command, args);
        let err = crate::acl::refusal(denied, command);
        reject(&mut ctx, Some(command), err.into());
        return Flow::Continue;
    }

    // EXEC is checked as what it runs: a write if a queued command writes,
    // and so on (Redis's mstate.cmd_flags).
    let eff = if name == "exec" && ctx.client.multi.is_some() {
        queued_flags(&table, ctx.client)
    } else {
        EffectiveFlags::of(command)
    };

    if let Some(router) = ctx.state.router.clone() {
        if !ctx.client.repl.is_master {
            if let Some(err) = router.route(ctx.state, ctx.client, command, args) {
                if name == "exec" && ctx.client.multi.is_some() {
                    // Redis discards the transaction and answers with the
                    // redirection itself, not EXECABORT.
                    ctx.client.multi = None;
                    ctx.client.multi_error = false;
                    crate::notify::unwatch_all(ctx.state, ctx.client);
                    ctx.state
                        .stats
                        .command(command.stats_slot, &command.name)
                        .rejected_calls += 1;
                    ctx.state.stats.count_error(&err.0);
                    ctx.reply.error(&err.0);
                } else {
                    reject(&mut ctx, Some(command), err);
                }
                return Flow::Continue;
            }
        }
    }

    // Client eviction comes before key eviction, as in Redis: a client that
    // evicts itself runs nothing and hears nothing.
    if busy.is_none()
        && crate::client_eviction::limit(ctx.state) != 0
        && crate::client_eviction::evict(ctx.state, Some(&mut *ctx.client))
    {
        return Flow::Close;
    }

    if ctx.state.config.maxmemory > 0 && busy.is_none() {
        let out_of_memory = !crate::evict::perform_evictions(ctx.state);
        // Queuing in MULTI may grow without bound, so it is refused too.
        let queuing =
            ctx.client.multi.is_some() && !matches!(name, "exec" | "discard" | "quit" | "reset");
        if out_of_memory && (eff.denyoom || queuing) {
            reject(&mut ctx, Some(command), errors::OOM.into());
            return Flow::Continue;
        }
    }

    // After a failed background save, writes (and PING) are refused, so that
    // nobody believes data is persisted when it is not.
    if (eff.write || name == "ping")
        && !ctx.state.rdb.last_save_ok
        && ctx.state.config.stop_writes_on_bgsave_error
        && !ctx.state.config.save.is_empty()
    {
        reject(&mut ctx, Some(command), errors::MISCONF.into());
        return Flow::Continue;
    }

    // Our master's stream (and AOF loading) obeys: no replica checks.
    let obey = ctx.client.repl.is_master || ctx.state.loading;
    if !obey {
        if let Some(err) = crate::replication::refuse_command(ctx.state, eff.write, eff.stale_ok) {
            reject(&mut ctx, Some(command), err.into());
            return Flow::Continue;
        }
    }

    // A MONITOR connection is treated like a replica link: no keyspace access.
    let touches_keyspace =
        command.is(flags::WRITE) || command.is(flags::READONLY) || command.is(flags::MAY_REPLICATE);
    if ctx.client.monitor && touches_keyspace {
        reject(
            &mut ctx,
            Some(command),
            "ERR Replica can't interact with the keyspace".into(),
        );
        return Flow::Continue;
    }

    if ctx.client.in_pubsub_context() && !PUBSUB_CONTEXT_ALLOWED.contains(&name) {
        let err = format!(
            "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        reject(&mut ctx, Some(command), err.into());
        return Flow::Continue;
    }

    if let Some(busy) = busy {
        if !command.is(flags::ALLOW_BUSY) {
            reject(&mut ctx, Some(command), busy.into());
            return Flow::Continue;
        }
    }

    if let Some(until_ms) = pause_applies(ctx.state, command) {
        ctx.client.postponed = true;
        ctx.state.blocking.blocked_clients += 1;
        return Flow::Wait { until_ms };
    }

    if ctx.client.multi.is_some()
        && !matches!(
            name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if let Some(queue) = ctx.client.multi.as_mut() {
            queue.push(args.to_vec());
        }
        ctx.reply.simple("QUEUED");
        return Flow::Continue;
    }

    // Paused: expired keys are hidden, not deleted (no DEL may enter the
    // stream). A replica never deletes them anyway.
    let freeze = ctx.state.repl.master.is_none() && ctx.state.dataset_frozen();
    if freeze {
        ctx.state
            .dbs
            .iter_mut()
            .for_each(|db| db.delete_expired = false);
    }
    let propagated_before = ctx.state.propagation.propagated.len();
    call(&mut ctx, command, args);
    // ASKING lasts one command (a whole transaction inside MULTI).
    if ctx.client.asking && name != "asking" && ctx.client.multi.is_none() {
        ctx.client.asking = false;
    }
    if freeze {
        ctx.state
            .dbs
            .iter_mut()
            .for_each(|db| db.delete_expired = true);
    }
    if busy.is_some() {
        // Served while a script is busy: what the script changed so far is
        // not to be propagated, served to blocked clients or wrapped yet.
        return if ctx.client.close_after_reply {
            Flow::Close
        } else {
            Flow::Continue
        };
    }
    wrap_in_transaction(ctx.state, propagated_before);
    if let Some(b) = ctx.client.blocked.as_mut() {
        b.args = args.to_vec();
        let deadline_ms = b.deadline_ms;
        crate::blocking::serve_blocked_clients(ctx.state);
        crate::propagate::flush(ctx.state);
        return Flow::Blocked { deadline_ms };
    }
    crate::blocking::serve_blocked_clients(ctx.state);
    let offset_before = ctx.state.repl.offset;
    crate::propagate::flush(ctx.state);
    if ctx.state.repl.offset != offset_before {
        ctx.client.write_offset = ctx.state.repl.offset;
        // Safe mode holds the replies of writes (scripts may write); a
        // PUBLISH also reaches the replicas but is no write to wait for (a
        // Sentinel's hellos would otherwise stall its link).
        let may_write = eff.write || matches!(name, "eval" | "evalsha" | "fcall");
        if may_write {
            if let Some(deadline_ms) =
                crate::safe_writes::hold(ctx.state, ctx.client, ctx.reply, reply_start)
            {
                return Flow::Blocked { deadline_ms };
            }
        }
    }
    if ctx.client.repl.handoff.is_some() {
        Flow::Replica
    } else if ctx.client.close_after_reply {
        Flow::Close
    } else {
        Flow::Continue
    }
}

/// Redis 7.0 replays what one top-level command changed as one unit: a
/// single change as it is, several (a transaction, SPOP's SREMs, keys that
/// expired on the way and the write itself) inside MULTI/EXEC, MULTI in the
/// first change's database (a SELECT goes before it) and EXEC in the last's
/// (none comes between them).
fn wrap_in_transaction(state: &mut State, from: usize) {
    let changes = &state.propagation.propagated[from.min(state.propagation.propagated.len())..];
    if changes.len() < 2 {
        return;
    }
    let (first_db, last_db) = (changes[0].db, changes[changes.len() - 1].db);
    state.propagation.propagated.insert(
        from,
        crate::propagate::Propagated {
            db: first_db,
            args: crate::propagate::argv(&[b"MULTI"]),
            to_aof: true,
            to_replicas: true,
        },
    );
    state
        .propagation
        .propagated
        .push(crate::propagate::Propagated {
            db: last_db,
            args: crate::propagate::argv(&[b"EXEC"]),
            to_aof: true,
            to_replicas: true,
        });
}

/// The flags the checks before a command look at.
struct EffectiveFlags {
    write: bool,
    denyoom: bool,
    /// May run on a replica whose link is down with `replica-serve-stale-data no`.
    stale_ok: bool,
}

impl EffectiveFlags {
    fn of(command: &Command) -> EffectiveFlags {
        EffectiveFlags {
            write: command.is(flags::WRITE),
            denyoom: command.is(flags::DENYOOM),
            stale_ok: command.is(flags::STALE),
        }
    }
}

/// EXEC's flags: those of the commands it runs (any write makes it a write;
/// one command that may not run stale makes it not run stale).
fn queued_flags(table: &CommandTable, client: &Client) -> EffectiveFlags {
    let mut eff = EffectiveFlags {
        write: false,
        denyoom: false,
        stale_ok: true,
    };
    for args in client.multi.iter().flatten() {
        if let Ok(c) = resolve(table, args) {
            eff.write |= c.is(flags::WRITE);
            eff.denyoom |= c.is(flags::DENYOOM);
            eff.stale_ok &= c.is(flags::STALE);
        }
    }
    eff
}

/// During CLIENT PAUSE, the time until which this command must wait, if it must.
fn pause_applies(state: &mut State, command: &Command) -> Option<i64> {
    let pause = state.pause?;
    if pause.until_ms <= state.now_ms {
        state.pause = None;
        return None;
    }
    let blocks = if pause.writes_only {
        // Like Redis: writes, and commands that may replicate, wait.
        command.is(flags::WRITE) || command.is(flags::MAY_REPLICATE)
    } else {
        true
    };
    if blocks {
        Some(pause.until_ms)
    } else {
        None
    }
}

/// Commands whose Redis 7.0 implementation writes the reply before it fires
/// the keyspace events (`addReply` then `notifyKeyspaceEvent`): a RESP3 client
/// subscribed to its own events gets the reply first. The others fire first.
/// (Found by probing Redis 7.0.15 command by command.)
const REPLY_BEFORE_EVENTS: &[&str] = &[
    "getset",
    "getdel",
    "getex",
    "rpush",
    "lpush",
    "rpushx",
    "lpushx",
    "lset",
    "lpop",
    "rpop",
    "hset",
    "hsetnx",
    "hmset",
    "hincrby",
    "hincrbyfloat",
    "sunionstore",
    "sdiffstore",
    "zadd",
    "zincrby",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zrangestore",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
];

/// Runs a resolved command and does the bookkeeping after it. Also used by EXEC
/// for each queued command.
pub fn call(ctx: &mut Ctx, command: &Command, args: &[Bytes]) {
    let Some(handler) = command.handler else {
        return;
    };
    let reply_mark = ctx.reply.len();
    let mode_before = ctx.client.reply_mode;
    let skip_reply = matches!(mode_before, ReplyMode::Off | ReplyMode::Skip);
    let dirty_before = ctx.state.dirty;
    let db_before = ctx.client.db;
    ctx.client.custom_propagation = false;
    let deferring = command.replies_before_events;
    let outer_deferred = std::mem::replace(
        &mut ctx.state.pubsub.deferred_self_push,
        deferring.then(Vec::new),
    );
    let started = crate::clock::Stopwatch::start();
    let result = handler(ctx, args);
    let elapsed_us = started.elapsed_us();
    let stats = ctx.state.stats.command(command.stats_slot, &command.name);
    let rejected = result.as_ref().is_err_and(|e| e.is_rejected());
    if rejected {
        stats.rejected_calls += 1;
    } else {
        stats.calls += 1;
        stats.usec += elapsed_us;
        if ctx.state.config.latency_tracking {
            stats.latency.record(elapsed_us);
        }
    }
    if let Err(e) = &result {
        if !rejected {
            stats.failed_calls += 1;
        }
        if !e.is_counted() {
            ctx.state.stats.count_error(&e.0);
        }
        ctx.reply.error(&e.0);
    }
    if let Some(frames) =
        std::mem::replace(&mut ctx.state.pubsub.deferred_self_push, outer_deferred)
    {
        ctx.reply.buf.extend_from_slice(&frames);
    }
    ctx.state.stats.total_commands_processed += 1;
    // CLIENT REPLY ON answers even though replies were off when it started;
    // (un)subscribe confirmations are pushes, which CLIENT REPLY does not
    // silence (Redis 7.0's CLIENT_PUSHING), in RESP2 as in RESP3.
    let pushes = matches!(
        command.name.as_str(),
        "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe"
    );
    if skip_reply && command.name != "client|reply" && !pushes {
        ctx.reply.buf.truncate(reply_mark);
    }
    // SKIP silences exactly the command after CLIENT REPLY SKIP.
    if mode_before == ReplyMode::Skip && ctx.client.reply_mode == ReplyMode::Skip {
        ctx.client.reply_mode = ReplyMode::On;
    }
    if ctx.client.reply_mode == ReplyMode::SkipNext {
        ctx.client.reply_mode = ReplyMode::Skip;
    }
    if !command.is(flags::SKIP_SLOWLOG) {
        record_slowlog(ctx, args, elapsed_us);
    }
    record_latency(
        ctx.state,
        if command.is(flags::FAST) {
            "fast-command"
        } else {
            "command"
        },
        elapsed_us / 1000,
    );
    if !ctx.state.clients.monitors.is_empty()
        && !command.is(flags::SKIP_MONITOR)
        && !command.is(flags::ADMIN)
    {
        crate::monitor::feed_monitors(ctx.state, ctx.client, args);
    }
    // Keys found expired on the way are deleted before the command's effect
    // in the stream, then what the command propagates.
    crate::notify::flush_expired(ctx.state);
    if std::mem::take(&mut ctx.client.custom_propagation) {
        let chosen = std::mem::take(&mut ctx.state.propagation.pending_propagation);
        ctx.state.propagation.propagated.extend(chosen);
    } else if ctx.state.dirty > dirty_before
        && (command.is(flags::WRITE) || command.is(flags::MAY_REPLICATE))
        && ctx.state.wants_propagation()
    {
        ctx.state
            .propagation
            .propagated
            .push(crate::propagate::Propagated {
                db: db_before,
                args: args.to_vec(),
                to_aof: true,
                to_replicas: true,
            });
    }
}

fn record_slowlog(ctx: &mut Ctx, args: &[Bytes], elapsed_us: u64) {
    let threshold = ctx.state.config.slowlog_log_slower_than;
    if threshold < 0 || elapsed_us < threshold as u64 {
        return;
    }
    // Like Redis: at most 32 arguments, each cut to 128 bytes.
    let mut kept: Vec<Bytes> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i == 31 && args.len() > 32 {
            kept.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - 31
            )));
            break;
        }
        if a.len() > 128 {
            kept.push(Bytes::from(format!(
                "{}... ({} more bytes)",
                String::from_utf8_lossy(&a[..128]),
                a.len() - 128
            )));
        } else {
            kept.push(a.clone());
        }
    }
    let entry = SlowLogEntry {
        id: ctx.state.diag.slowlog_next_id,
        time_secs: ctx.state.now_ms / 1000,
        duration_us: elapsed_us,
        args: kept,
        peer: ctx.client.addr.clone(),
        client_name: ctx.client.name.clone().unwrap_or_default(),
    };
    ctx.state.diag.slowlog_next_id += 1;
    ctx.state.diag.slowlog.push_front(entry);
    let max = ctx.state.config.slowlog_max_len.min(usize::MAX as u64) as usize;
    ctx.state.diag.slowlog.truncate(max);
}

/// Records a latency sample for `event` if it reaches `latency-monitor-threshold`.
pub fn record_latency(state: &mut State, event: &'static str, ms: u64) {
    let threshold = state.config.latency_monitor_threshold;
    if threshold == 0 || ms < threshold {
        return;
    }
    let now_secs = state.now_ms / 1000;
    let ev = state.diag.latency.entry(event).or_default();
    match ev.samples.back_mut() {
        Some(last) if last.0 == now_secs => last.1 = last.1.max(ms),
        _ => {
            ev.samples.push_back((now_secs, ms));
            if ev.samples.len() > 160 {
                ev.samples.pop_front();
            }
        }
    }
    ev.max_ms = ev.max_ms.max(ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ok(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
        ctx.reply.ok();
        Ok(())
    }

    /// Cluster mode's routing as a test sees it: GET's keys live elsewhere.
    struct Elsewhere;

    impl KeyRouter for Elsewhere {
        fn route(&self, _: &State, _: &Client, command: &Command, _: &[Bytes]) -> Option<CmdError> {
            (command.name == "get").then(|| CmdError::from("MOVED 866 10.0.0.2:6379"))
        }
    }

    /// A host whose memory is always full.
    struct Full;

    impl crate::state::Host for Full {
        fn used_memory(&self) -> u64 {
            u64::MAX
        }
    }

    fn run(state: &mut State, client: &mut Client, args: &[&str]) -> String {
        let args: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut reply = Reply::new(false);
        execute(state, client, &args, &mut reply);
        String::from_utf8_lossy(&reply.buf).into_owned()
    }

    #[test]
    fn keys_are_routed_after_arity_and_auth_and_before_oom() {
        let handlers: [(&'static str, Handler); 2] = [("get", ok), ("set", ok)];
        let table = Arc::new(CommandTable::new(&handlers, &[]));
        let mut state = State::new(redust_config::Config::default(), 0, table);
        state.router = Some(Arc::new(Elsewhere));
        let (mut client, _rx) = state.connect("127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, 0);
        assert_eq!(
            run(&mut state, &mut client, &["get"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            run(&mut state, &mut client, &["get", "k"]),
            "-MOVED 866 10.0.0.2:6379\r\n"
        );
        assert_eq!(run(&mut state, &mut client, &["set", "k", "v"]), "+OK\r\n");
        // Out of memory: the redirect still comes first.
        state.config.maxmemory = 1;
        state.host = Arc::new(Full);
        assert_eq!(
            run(&mut state, &mut client, &["get", "k"]),
            "-MOVED 866 10.0.0.2:6379\r\n"
        );
        assert!(run(&mut state, &mut client, &["set", "k", "v"]).starts_with("-OOM "));
        // Not authenticated: NOAUTH first.
        client.authenticated = false;
        assert!(run(&mut state, &mut client, &["get", "k"]).starts_with("-NOAUTH "));
    }

    #[test]
    fn a_sentinel_table_has_sentinels_commands() {
        // Every command and subcommand of Redis 7.0 Sentinel's table, each
        // with a handler: the table has its 15 commands and their 57
        // subcommands, and nothing of the standalone table.
        let specs = specs_for(Mode::Sentinel);
        let handlers: Vec<(&'static str, Handler)> = spec::all_specs_in(specs)
            .map(|s| (s.name, ok as Handler))
            .collect();
        assert_eq!(handlers.len(), 72);
        let table = CommandTable::with_specs(specs, &handlers, &[]);
        assert_eq!(table.len(), 15);
        assert!(std::ptr::eq(table.specs(), spec::sentinel_specs()));
        for (name, _) in &handlers {
            assert!(table.implemented(name), "{name}");
        }
        for name in ["get", "config", "config|get", "select", "multi", "quit"] {
            assert!(!table.implemented(name), "{name}");
        }
        let sentinel = table.lookup(b"SENTINEL").unwrap();
        assert_eq!(sentinel.spec.arity, -2);
        assert!(sentinel.is(flags::ADMIN));
        assert_eq!(sentinel.subcommands.len(), 21);
        assert_eq!(sentinel.subcommands[&b"set"[..]].spec.arity, -5);
        assert_eq!(table.find_spec(b"sentinel|SET").unwrap().arity, -5);
        assert!(table.find_spec(b"get").is_none());
        // The same handlers on the standalone specs: SENTINEL is unknown there.
        let standalone = CommandTable::new(&handlers, &[]);
        assert_eq!(standalone.len(), 14);
        assert!(!standalone.implemented("sentinel"));
        assert!(std::ptr::eq(
            standalone.specs(),
            specs_for(Mode::Standalone)
        ));
        assert!(std::ptr::eq(specs_for(Mode::Cluster), spec::all_commands()));

        // Arity and unknown-command errors follow Sentinel's table.
        let mut state = State::new(
            redust_config::Config::default(),
            0,
            Arc::new(CommandTable::with_specs(specs, &handlers, &[])),
        );
        let (mut client, _rx) = state.connect("127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, 0);
        assert_eq!(
            run(&mut state, &mut client, &["sentinel", "set", "m", "quorum"]),
            "-ERR wrong number of arguments for 'sentinel|set' command\r\n"
        );
        assert_eq!(
            run(
                &mut state,
                &mut client,
                &["sentinel", "set", "m", "quorum", "2"]
            ),
            "+OK\r\n"
        );
        assert_eq!(
            run(&mut state, &mut client, &["get", "x"]),
            "-ERR unknown command 'get', with args beginning with: 'x' \r\n"
        );
    }
}
