//! Scripts on a node: the node's script VM (`redust-scripting`, created on
//! first use), the client a script's commands run as, and what a script's
//! `redis.call` goes through before the command runs (Redis's
//! `scriptCall`: the command exists, its arity, the `noscript` flag,
//! writes from read-only scripts, READONLY/NOREPLICAS, OOM), then the
//! command itself through `exec::call`, so its stats, slowlog, MONITOR line
//! and propagation are a command's. What a script wrote is propagated as
//! its effects (the commands), which `execute` wraps in MULTI/EXEC when
//! there is more than one, as Redis 7.0 does.

use crate::errors::{CmdError, CmdResult};
use crate::exec::{self, flags, Ctx};
use crate::state::{Client, PushHandle, State};
use bytes::Bytes;
use redust_resp::{Frame, FrameLimits, Reply};
use redust_scripting::functions::Functions;
pub use redust_scripting::functions::{RestorePolicy, FUNCTION_NOT_FOUND};
pub use redust_scripting::ScriptFlags;
use redust_scripting::{Host, Vm};

/// The node's scripting state.
pub struct Scripting {
    vm: Option<Box<Vm>>,
    /// The libraries and their VM (FUNCTION, FCALL), made on first use.
    functions: Option<Box<Functions>>,
    client: Option<Box<Client>>,
    /// The script running now, if any.
    pub running: Option<RunningScript>,
    /// While a function runs (its library set is out of the state): how
    /// many libraries and functions there are, for FUNCTION STATS.
    counts_while_running: Option<(usize, usize)>,
}

impl Default for Scripting {
    /// With a fresh VM (created again on first use if that failed).
    fn default() -> Scripting {
        Scripting {
            vm: new_vm().ok(),
            functions: None,
            client: None,
            running: None,
            counts_while_running: None,
        }
    }
}

/// A script while it runs (Redis's script run context).
pub struct RunningScript {
    /// EVAL (as opposed to FCALL): which KILL stops it.
    pub eval: bool,
    /// What the "Slow script detected" line calls it.
    pub name: String,
    /// A function's FCALL command (FUNCTION STATS shows it).
    pub command: Vec<Bytes>,
    pub started: std::time::Instant,
    /// Past `busy-reply-threshold`: other clients get -BUSY.
    pub timed_out: bool,
    /// It ran a write command: it can no longer be killed.
    pub dirty: bool,
    /// SCRIPT KILL / FUNCTION KILL asked it to stop.
    pub kill: bool,
    /// It came from our master (replication): it cannot be killed.
    pub from_master: bool,
    /// The kill was logged.
    kill_logged: bool,
}

/// What other clients get while a script is busy.
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
/// SCRIPT KILL / FUNCTION KILL with no script running.
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
const UNKILLABLE_FROM_MASTER: &str = "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.";
const UNKILLABLE_DIRTY: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/// The error a killed script stops with.
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// The -BUSY refusal for commands without `allow_busy` while a script runs
/// past its threshold.
pub fn busy_refusal(state: &State) -> Option<&'static str> {
    match &state.scripting.running {
        Some(r) if r.timed_out => Some(if r.eval { BUSY_EVAL } else { BUSY_FUNCTION }),
        _ => None,
    }
}

/// SCRIPT KILL (`eval`) or FUNCTION KILL: asks the busy script to stop,
/// unless it wrote already or came from our master.
pub fn kill(state: &mut State, eval: bool) -> CmdResult {
    let Some(running) = state.scripting.running.as_mut() else {
        return Err(NOTBUSY.into());
    };
    if running.from_master {
        return Err(UNKILLABLE_FROM_MASTER.into());
    }
    if running.dirty {
        return Err(UNKILLABLE_DIRTY.into());
    }
    match (eval, running.eval) {
        (true, false) => Err(BUSY_FUNCTION.into()),
        (false, true) => Err(BUSY_EVAL.into()),
        _ => {
            running.kill = true;
            Ok(())
        }
    }
}

/// A VM reporting our Redis version.
fn new_vm() -> Result<Box<Vm>, String> {
    let num = version_num(redust_resp::REDIS_VERSION);
    Vm::new(redust_resp::REDIS_VERSION, num).map(Box::new)
}

/// The error texts of a script's refused command (Redis 7.0's).
pub const UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
pub const WRONG_ARITY: &str = "ERR Wrong number of args calling Redis command from script";
pub const NOT_ALLOWED: &str = "ERR This Redis command is not allowed from script";
pub const READ_ONLY_SCRIPT: &str = "ERR Write commands are not allowed from read-only scripts.";
pub use redust_scripting::NOSCRIPT;

/// EVAL_RO/EVALSHA_RO/FCALL_RO of a script that may write.
pub const WRITE_FLAG_WITH_RO: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
/// EVAL and FCALL with a negative `numkeys`.
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";

/// A script's command that needs data, on a stale replica.
const STALE_REPLICA: &str = "ERR Can not execute the command on a stale replica";

/// A `no-cluster` script in cluster mode.
pub const NO_CLUSTER: &str = "ERR Can not run script on cluster, 'no-cluster' flag is set.";

/// Whether a script may start; the refusal otherwise. A script with a
/// shebang makes EVAL a write (unless `no-writes`), `denyoom` (unless
/// `allow-oom` or `no-writes`) and `stale` only with `allow-stale`, and
/// Redis's command checks refuse it with their usual texts (OOM, MISCONF,
/// NOREPLICAS, READONLY, MASTERDOWN). Without a shebang (compatibility
/// mode) only a stale replica refuses it.
pub fn refuse_run(state: &State, client: &Client, flags: Option<ScriptFlags>) -> Option<String> {
    let cfg = &state.config;
    let Some(flags) = flags else {
        // Not a write and not `stale`-exempt: only MASTERDOWN can refuse it.
        return crate::replication::refuse_command(state, false, false).map(str::to_string);
    };
    if flags.no_cluster && cfg.cluster_enabled {
        return Some(NO_CLUSTER.into());
    }
    let write = !flags.no_writes;
    let denyoom = write && !flags.allow_oom;
    if denyoom && cfg.maxmemory > 0 && state.used_memory() > cfg.maxmemory {
        return Some(crate::errors::OOM.into());
    }
    if write && !state.rdb.last_save_ok && cfg.stop_writes_on_bgsave_error && !cfg.save.is_empty() {
        return Some(crate::errors::MISCONF.into());
    }
    if client.repl.is_master {
        return None;
    }
    crate::replication::refuse_command(state, write, flags.allow_stale).map(str::to_string)
}

/// Whether EVAL/EVALSHA/FCALL of `args` counts as a write for cluster
/// routing (Redis's getCommandFlags): a script with a shebang writes unless
/// `no-writes`; one without (compatibility mode) is routed as a read. FCALL
/// is taken as a write (functions without `no-writes` write).
pub fn script_writes(state: &State, command: &str, args: &[Bytes]) -> bool {
    let flags = match command {
        "eval" => args
            .get(1)
            .and_then(|body| redust_scripting::shebang::parse(body).ok())
            .and_then(|(flags, _)| flags),
        "evalsha" => {
            let sha = args
                .get(1)
                .map(|a| String::from_utf8_lossy(a).to_lowercase());
            match (&state.scripting.vm, sha) {
                (Some(vm), Some(sha)) => vm.flags(&sha).flatten(),
                _ => None,
            }
        }
        "fcall" => return true,
        _ => return false,
    };
    flags.is_some_and(|f| !f.no_writes)
}

/// A `refuse_run` refusal as Redis counts it: with flags (a shebang, a
/// function) EVAL and FCALL get the flags in processCommand, which rejects
/// the command before it runs (a rejected call); `no-cluster` and a
/// compatibility-mode script are refused by the command itself (a failed
/// call).
pub fn refusal(text: String, flags: Option<ScriptFlags>) -> CmdError {
    if flags.is_some() && text != NO_CLUSTER {
        CmdError::rejected(text)
    } else {
        text.into()
    }
}

/// `redis.REPL_AOF`, `redis.REPL_REPLICA`, `redis.REPL_ALL`.
const REPL_AOF: u8 = 1;
const REPL_REPLICA: u8 = 2;
const REPL_ALL: u8 = 3;

impl Scripting {
    /// The VM, created on first use.
    pub fn vm(&mut self) -> Result<&mut Vm, String> {
        if self.vm.is_none() {
            self.vm = Some(new_vm()?);
        }
        self.vm
            .as_deref_mut()
            .ok_or_else(|| "ERR no scripting VM".to_string())
    }

    /// The libraries, their VM made on first use.
    pub fn functions(&mut self) -> Result<&mut Functions, String> {
        if self.functions.is_none() {
            let num = version_num(redust_resp::REDIS_VERSION);
            self.functions = Some(Box::new(Functions::new(redust_resp::REDIS_VERSION, num)?));
        }
        self.functions
            .as_deref_mut()
            .ok_or_else(|| "ERR no function VM".to_string())
    }

    /// The libraries if any were ever made (no VM is made to look).
    pub fn functions_if_any(&self) -> Option<&Functions> {
        self.functions.as_deref()
    }

    /// How many libraries and functions are loaded.
    pub fn function_counts(&self) -> (usize, usize) {
        match (&self.functions, self.counts_while_running) {
            (Some(f), _) => (f.library_count(), f.function_count()),
            (None, Some(counts)) => counts,
            (None, None) => (0, 0),
        }
    }

    /// Logs what libraries logged while loading (`redis.log`).
    pub fn log_library_output(state: &mut State) {
        let lines = match state.scripting.functions.as_deref_mut() {
            Some(f) => f.take_load_logs(),
            None => return,
        };
        for (level, line) in lines {
            match level {
                1 => state.log_verbose(&line),
                2 => state.log_notice(&line),
                3 => state.log_warning(&line),
                _ => {}
            }
        }
    }

    /// Scripts in the cache.
    pub fn cached_scripts(&self) -> usize {
        self.vm.as_ref().map_or(0, |vm| vm.len())
    }

    /// Bytes the Lua VM uses.
    pub fn vm_memory(&self) -> usize {
        self.vm.as_ref().map_or(0, |vm| vm.used_memory())
    }

    /// Bytes the script cache holds, as Redis counts them.
    pub fn cache_bytes(&self) -> usize {
        self.vm.as_ref().map_or(0, |vm| vm.cache_bytes())
    }
}

/// The libraries' code, for the RDB and the AOF (by library name).
pub fn library_codes(state: &State) -> Vec<Bytes> {
    state
        .scripting
        .functions
        .as_ref()
        .map_or_else(Vec::new, |f| {
            f.libraries().map(|l| l.code.clone()).collect()
        })
}

/// A loaded RDB's libraries replace ours (start-up, DEBUG RELOAD, a full
/// sync from our master). One that does not load is logged and left out.
pub fn install_libraries(state: &mut State, codes: &[Vec<u8>]) {
    if codes.is_empty()
        && state
            .scripting
            .functions_if_any()
            .is_none_or(|f| f.library_count() == 0)
    {
        return;
    }
    let mut failures = Vec::new();
    if let Ok(functions) = state.scripting.functions() {
        if let Err(e) = functions.flush() {
            failures.push(e);
        }
        for code in codes {
            if let Err(e) = functions.load(code, true) {
                failures.push(e);
            }
        }
    }
    for e in failures {
        state.log_warning(&format!("Failed loading library: {e}"));
    }
}

/// DEBUG LOADAOF: the libraries a loader state ended with become ours.
pub fn take_libraries(state: &mut State, loader: &mut State) {
    state.scripting.functions = loader.scripting.functions.take();
}

/// `7.0.15` as Redis's `REDIS_VERSION_NUM` (0x00070f).
fn version_num(version: &str) -> i64 {
    let mut parts = version.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a << 16) | (b << 8) | c
}

/// How a script may run (from its command and its shebang).
#[derive(Clone, Copy, Debug, Default)]
pub struct RunMode {
    /// EVAL_RO / EVALSHA_RO, or `#!lua flags=no-writes`.
    pub read_only: bool,
    /// `#!lua flags=allow-oom`.
    pub allow_oom: bool,
    /// In a cluster, its commands may touch keys of different slots: an
    /// EVAL without a shebang, or `allow-cross-slot-keys`.
    pub allow_cross_slot: bool,
}

impl RunMode {
    pub fn of(read_only_command: bool, flags: Option<ScriptFlags>) -> RunMode {
        let f = flags.unwrap_or_default();
        RunMode {
            read_only: read_only_command || f.no_writes,
            allow_oom: f.allow_oom,
            allow_cross_slot: flags.is_none() || f.allow_cross_slot_keys,
        }
    }
}

/// What to run: a cached EVAL script or a library function.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    Script { sha: &'a str },
    Function { name: &'a str },
}

/// Runs `target` for the client of `ctx` (`command`: the command that
/// asked, for FUNCTION STATS), writing its reply; or the error to reply
/// instead (counted in errorstats already when it is a failed command's).
pub fn run(
    ctx: &mut Ctx,
    target: Target,
    command: &[Bytes],
    keys: &[Bytes],
    argv: &[Bytes],
    mode: RunMode,
) -> CmdResult {
    // Out of the state while it runs: its commands need the state.
    let (mut vm, mut functions) = (None, None);
    match target {
        Target::Script { .. } => {
            ctx.state.scripting.vm()?;
            vm = ctx.state.scripting.vm.take();
            if vm.is_none() {
                return Ok(());
            }
        }
        Target::Function { .. } => {
            ctx.state.scripting.functions()?;
            functions = ctx.state.scripting.functions.take();
            let Some(f) = functions.as_deref() else {
                return Ok(());
            };
            ctx.state.scripting.counts_while_running =
                Some((f.library_count(), f.function_count()));
        }
    }
    let mut client = ctx
        .state
        .scripting
        .client
        .take()
        .unwrap_or_else(|| script_client(ctx.state.now_ms));
    client.db = ctx.client.db;
    client.authenticated = true;
    // Its commands are checked against the caller's ACL user, and routed
    // with the caller's READONLY and ASKING.
    client.user = ctx.client.user.clone();
    client.readonly = ctx.client.readonly;
    client.asking = ctx.client.asking;
    let oom =
        ctx.state.config.maxmemory > 0 && ctx.state.used_memory() > ctx.state.config.maxmemory;
    let (eval, name) = match target {
        Target::Script { sha } => (true, sha),
        Target::Function { name } => (false, name),
    };
    ctx.state.scripting.running = Some(RunningScript {
        eval,
        name: name.to_string(),
        command: if eval { Vec::new() } else { command.to_vec() },
        started: std::time::Instant::now(),
        timed_out: false,
        dirty: false,
        kill: false,
        from_master: ctx.client.repl.is_master,
        kill_logged: false,
    });
    let effects_before = ctx.state.propagation.propagated.len();
    let mut host = ScriptHost {
        state: &mut *ctx.state,
        client: &mut client,
        mode,
        oom_at_start: oom,
        repl_flags: REPL_ALL,
        slot: keys.first().map(|k| redust_cluster::key_slot(k)),
    };
    let result = match (target, vm.as_deref_mut(), functions.as_deref_mut()) {
        (Target::Script { sha }, Some(vm), _) => vm.run(sha, keys, argv, &mut host, ctx.reply),
        (Target::Function { name }, _, Some(f)) => f.call(name, keys, argv, &mut host, ctx.reply),
        _ => Ok(()),
    };
    if vm.is_some() {
        ctx.state.scripting.vm = vm;
    }
    if functions.is_some() {
        ctx.state.scripting.functions = functions;
        ctx.state.scripting.counts_while_running = None;
    }
    ctx.state.scripting.client = Some(client);
    let running = ctx.state.scripting.running.take();
    if running.is_some_and(|r| r.timed_out) && ctx.state.shutdown.is_some() {
        // SHUTDOWN NOSAVE stopped it: as in Redis, where the server exits
        // inside the script, nothing it did is propagated and its client
        // hears nothing.
        ctx.state.propagation.propagated.truncate(effects_before);
        ctx.client
            .push
            .killed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        ctx.client.close_after_reply = true;
    }
    result.map_err(|e| match e.counted {
        true => CmdError::counted(e.text),
        false => e.text.into(),
    })
}

/// The id of the client a script's commands run as (connections count
/// from 1).
const SCRIPT_CLIENT_ID: u64 = 0;

/// The client a script's commands run as: no socket, so its peer is `?:0`
/// (what SLOWLOG shows); MONITOR shows it as `lua`.
fn script_client(now_ms: i64) -> Box<Client> {
    let (handle, _rx) = PushHandle::new();
    Box::new(Client::new(
        SCRIPT_CLIENT_ID,
        "?:0".to_string(),
        String::new(),
        -1,
        handle,
        now_ms,
    ))
}

/// Whether `client` is the one scripts' commands run as.
pub fn is_script_client(client: &Client) -> bool {
    client.id == SCRIPT_CLIENT_ID && client.fd == -1
}

/// A script run's view of the node.
struct ScriptHost<'a> {
    state: &'a mut State,
    client: &'a mut Client,
    mode: RunMode,
    /// Memory was over `maxmemory` when the script started.
    oom_at_start: bool,
    /// `redis.set_repl`: where the effects of the next commands go (bit 1
    /// the AOF, bit 2 the replicas).
    repl_flags: u8,
    /// In a cluster: the slot its keys so far hash to (the declared keys',
    /// then the first key a command touched).
    slot: Option<u16>,
}

impl ScriptHost<'_> {
    /// Whether the command may run from this script; the refusal otherwise.
    /// In a cluster, a script's command must touch only keys this node
    /// serves (Redis's scriptVerifyClusterState); the master's stream and
    /// the AOF are obeyed.
    fn cluster_refusal(&mut self, command: &exec::Command, args: &[Bytes]) -> Option<&'static str> {
        if self.state.cluster.is_none() || self.client.repl.is_master || self.state.loading {
            return None;
        }
        let Some(err) = crate::exec::KeyRouter::route(
            &crate::cluster::Router,
            self.state,
            self.client,
            command,
            args,
        ) else {
            // Local keys: still all of one slot, unless the script may
            // cross slots.
            let slot = crate::cluster::command_slot(command, args)?;
            if self.mode.allow_cross_slot {
                return None;
            }
            return match self.slot {
                Some(s) if s != slot => {
                    Some("ERR Script attempted to access keys that do not hash to the same slot")
                }
                _ => {
                    self.slot = Some(slot);
                    None
                }
            };
        };
        Some(
            if err
                .0
                .starts_with("CLUSTERDOWN The cluster is down and only")
            {
                "ERR Script attempted to execute a write command while the cluster is down and readonly"
            } else if err.0.starts_with("CLUSTERDOWN The cluster is down") {
                "ERR Script attempted to execute a command while the cluster is down"
            } else {
                "ERR Script attempted to access a non local key in a cluster node"
            },
        )
    }

    fn check(&self, command: &exec::Command) -> Result<(), String> {
        if command.is(flags::NOSCRIPT) {
            return Err(NOT_ALLOWED.into());
        }
        let write = command.is(flags::WRITE);
        if self.mode.read_only && (write || command.is(flags::MAY_REPLICATE)) {
            return Err(READ_ONLY_SCRIPT.into());
        }
        if write && !self.client.repl.is_master {
            if let Some(e) = crate::replication::refuse_command(self.state, true, true) {
                return Err(e.into());
            }
        }
        // An `allow-stale` script on a stale replica: only `stale` commands.
        if !command.is(flags::STALE)
            && crate::replication::refuse_command(self.state, false, false).is_some()
        {
            return Err(STALE_REPLICA.into());
        }
        if !self.mode.allow_oom && self.oom_at_start && command.is(flags::DENYOOM) {
            return Err(crate::errors::OOM.into());
        }
        Ok(())
    }
}

impl Host for ScriptHost<'_> {
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Frame {
        let table = self.state.commands.clone();
        // A refusal counts as the command's rejected call and in
        // errorstats, as Redis counts it.
        let command = match exec::resolve(&table, &args) {
            Ok(c) => c,
            Err(e) => {
                let text = if e.0.contains("wrong number of arguments") {
                    WRONG_ARITY
                } else {
                    UNKNOWN_COMMAND
                };
                if let Some(top) = table.lookup(&args[0]) {
                    self.state
                        .stats
                        .command(top.stats_slot, &top.name)
                        .rejected_calls += 1;
                }
                self.state.stats.count_error(text);
                return error_frame(text);
            }
        };
        if let Err(denied) =
            crate::acl::check(self.state, self.client.user.as_deref(), command, &args)
        {
            let client = &*self.client;
            crate::acl::log_refusal(
                self.state,
                client,
                denied,
                redust_acl::LogContext::Lua,
                command,
                &args,
            );
            let text = crate::acl::refusal_in_script(denied);
            self.state
                .stats
                .command(command.stats_slot, &command.name)
                .rejected_calls += 1;
            self.state.stats.count_error(text);
            return error_frame(text);
        }
        if let Err(e) = self.check(command) {
            self.state
                .stats
                .command(command.stats_slot, &command.name)
                .rejected_calls += 1;
            self.state.stats.count_error(&e);
            return error_frame(&e);
        }
        if let Some(e) = self.cluster_refusal(command, &args) {
            self.state
                .stats
                .command(command.stats_slot, &command.name)
                .rejected_calls += 1;
            self.state.stats.count_error(e);
            return error_frame(e);
        }
        if command.is(flags::WRITE) {
            if let Some(r) = self.state.scripting.running.as_mut() {
                r.dirty = true;
            }
        }
        let mut reply = Reply::new(resp3);
        self.client.resp3 = resp3;
        let mut ctx = Ctx {
            state: self.state,
            client: self.client,
            reply: &mut reply,
        };
        let before = ctx.state.propagation.propagated.len();
        exec::call(&mut ctx, command, &args);
        if self.repl_flags != REPL_ALL {
            let effects = &mut self.state.propagation.propagated;
            if self.repl_flags == 0 {
                effects.truncate(before);
            }
            for p in effects.iter_mut().skip(before) {
                p.to_aof &= self.repl_flags & REPL_AOF != 0;
                p.to_replicas &= self.repl_flags & REPL_REPLICA != 0;
            }
        }
        match redust_resp::decode_frame(&reply.buf, &FrameLimits::default()) {
            Ok(Some((frame, _))) => frame,
            Ok(None) => Frame::Null,
            Err(e) => error_frame(&format!("ERR {e}")),
        }
    }

    fn log(&mut self, level: u8, message: &str) {
        match level {
            1 => self.state.log_verbose(message),
            2 => self.state.log_notice(message),
            3 => self.state.log_warning(message),
            // Debug: below every level the server logs at.
            _ => {}
        }
    }

    fn set_repl(&mut self, flags: u8) {
        self.repl_flags = flags;
    }

    /// `redis.acl_check_cmd`: whether the caller's user may run `args`
    /// (`None` for an unknown command or subcommand).
    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool> {
        let table = self.state.commands.clone();
        let command = exec::resolve(&table, args).ok()?;
        Some(crate::acl::check(self.state, self.client.user.as_deref(), command, args).is_ok())
    }

    /// Past `busy-reply-threshold` (0: never), the script is busy: logged
    /// once, then every tick serves the other clients, and a SCRIPT KILL or
    /// SHUTDOWN NOSAVE they sent stops it.
    fn tick(&mut self) -> Option<String> {
        let threshold = self.state.config.busy_reply_threshold;
        let running = self.state.scripting.running.as_mut()?;
        if !running.timed_out {
            let elapsed = running.started.elapsed().as_millis() as u64;
            if threshold == 0 || elapsed < threshold {
                return None;
            }
            running.timed_out = true;
            let (kill, name) = (
                if running.eval {
                    "SCRIPT KILL"
                } else {
                    "FUNCTION KILL"
                },
                running.name.clone(),
            );
            self.state.log_warning(&format!(
                "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {kill} command. Script name is: {name}."
            ));
        }
        let host = self.state.host.clone();
        host.serve_while_busy(self.state);
        let shutdown = self.state.shutdown.is_some();
        let running = self.state.scripting.running.as_mut()?;
        if !(running.kill || shutdown) {
            return None;
        }
        if running.kill && !std::mem::replace(&mut running.kill_logged, true) {
            self.state
                .log_warning("Lua script killed by user with SCRIPT KILL.");
        }
        Some(KILLED.to_string())
    }
}

fn error_frame(text: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(text.as_bytes()))
}
