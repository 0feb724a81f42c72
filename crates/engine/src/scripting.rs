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
use redust_scripting::{Host, ScriptFlags, Vm};

/// The node's scripting state.
pub struct Scripting {
    vm: Option<Box<Vm>>,
    client: Option<Box<Client>>,
}

impl Default for Scripting {
    /// With a fresh VM (created again on first use if that failed).
    fn default() -> Scripting {
        Scripting {
            vm: new_vm().ok(),
            client: None,
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
}

impl RunMode {
    pub fn of(read_only_command: bool, flags: Option<ScriptFlags>) -> RunMode {
        let f = flags.unwrap_or_default();
        RunMode {
            read_only: read_only_command || f.no_writes,
            allow_oom: f.allow_oom,
        }
    }
}

/// Runs cached script `sha` for the client of `ctx`, writing its reply; or
/// the error to reply instead (counted in errorstats already when it is a
/// failed command's).
pub fn run(ctx: &mut Ctx, sha: &str, keys: &[Bytes], argv: &[Bytes], mode: RunMode) -> CmdResult {
    // Out of the state while it runs: its commands need the state.
    ctx.state.scripting.vm()?;
    let Some(mut vm) = ctx.state.scripting.vm.take() else {
        return Ok(());
    };
    let mut client = ctx
        .state
        .scripting
        .client
        .take()
        .unwrap_or_else(|| script_client(ctx.state.now_ms));
    client.db = ctx.client.db;
    client.authenticated = true;
    let oom =
        ctx.state.config.maxmemory > 0 && ctx.state.used_memory() > ctx.state.config.maxmemory;
    let mut host = ScriptHost {
        state: &mut *ctx.state,
        client: &mut client,
        mode,
        oom_at_start: oom,
        repl_flags: REPL_ALL,
    };
    let result = vm.run(sha, keys, argv, &mut host, ctx.reply);
    ctx.state.scripting.vm = Some(vm);
    ctx.state.scripting.client = Some(client);
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
}

impl ScriptHost<'_> {
    /// Whether the command may run from this script; the refusal otherwise.
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
        if let Err(e) = self.check(command) {
            self.state
                .stats
                .command(command.stats_slot, &command.name)
                .rejected_calls += 1;
            self.state.stats.count_error(&e);
            return error_frame(&e);
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
}

fn error_frame(text: &str) -> Frame {
    Frame::Error(Bytes::copy_from_slice(text.as_bytes()))
}
