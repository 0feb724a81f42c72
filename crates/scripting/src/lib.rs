//! Redis 7.0's scripting environment on real Lua 5.1 (the `mlua` crate,
//! built from its vendored sources): the sandbox (read-only globals and
//! libraries, no file or OS access), the `redis` library, the script cache
//! by SHA1, the `#!lua` shebang and its flags, and the conversions between
//! Lua values and RESP in both directions, as Redis documents them.
//!
//! This crate knows nothing of the server: a script's commands go to the
//! `Host` it runs with (the engine runs them on the node's state). What
//! Redis does in its C library is done here in Rust; the Lua-side wrappers
//! (`prelude.lua`) are ours.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod convert;
pub mod functions;
pub mod luastruct;
pub mod rand48;
pub mod shebang;

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use redust_resp::{Frame, Reply};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use shebang::ScriptFlags;

/// The reply for a SHA1 that is not in the cache.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// `redis.call` and the like outside a script's run.
const OUTSIDE_A_RUN: &str = "ERR redis.call/pcall can only be called inside a script invocation";

/// `redis.sha1hex`'s error for a wrong argument count.
const WRONG_NUMBER_OF_ARGUMENTS: &str = "ERR wrong number of arguments";

/// What a running script asks of the node it runs on.
pub trait Host {
    /// Runs a command for `redis.call`/`redis.pcall` (the arguments
    /// converted already); returns its reply, decoded, with an error reply
    /// (or a refusal before the run) as `Frame::Error`. `resp3`: the
    /// protocol the script chose (`redis.setresp`).
    fn call(&mut self, args: Vec<Bytes>, resp3: bool) -> Frame;
    /// `redis.log` at `level` (0 debug .. 3 warning).
    fn log(&mut self, level: u8, message: &str);
    /// `redis.set_repl`: where the next commands' effects go.
    fn set_repl(&mut self, flags: u8);
    /// Called every `TICK_INSTRUCTIONS` Lua instructions while a script
    /// runs, so the node can notice a long script and serve other clients
    /// meanwhile; returns the error that stops the script (SCRIPT KILL,
    /// SHUTDOWN NOSAVE). Once it has returned one, it is called at every
    /// line, so a script's `pcall` cannot keep it running.
    fn tick(&mut self) -> Option<String> {
        None
    }
    /// `redis.acl_check_cmd`: whether the calling user may run `args`;
    /// `None` when there is no such command.
    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool>;
}

/// How many Lua instructions run between two `Host::tick`s (Redis's hook
/// period).
pub const TICK_INSTRUCTIONS: i32 = 100_000;

/// The registry key of the `tick` trampoline the count hook calls.
const TICK_KEY: &std::ffi::CStr = c"redust_tick";

/// The count hook: calls the `tick` trampoline; when it returns an error
/// (the script must stop), the hook fires at every line from then on and
/// raises that error.
///
/// # Safety
/// Called by Lua with a valid state; uses only the stack it is given.
unsafe extern "C-unwind" fn count_hook(
    state: *mut mlua::ffi::lua_State,
    _ar: *mut mlua::ffi::lua_Debug,
) {
    use mlua::ffi;
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, TICK_KEY.as_ptr());
    if ffi::lua_type(state, -1) != ffi::LUA_TFUNCTION {
        ffi::lua_settop(state, -2);
        return;
    }
    ffi::lua_call(state, 0, 1);
    if ffi::lua_type(state, -1) == ffi::LUA_TNIL {
        ffi::lua_settop(state, -2);
        return;
    }
    ffi::lua_sethook(state, Some(count_hook), ffi::LUA_MASKLINE, 0);
    ffi::lua_error(state);
}

/// Arms (or, with `on` false, removes) the count hook on the VM's state.
fn set_count_hook(lua: &Lua, on: bool) -> mlua::Result<()> {
    // SAFETY: only sets the hook of the state mlua runs our calls on.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            if on {
                mlua::ffi::lua_sethook(
                    state,
                    Some(count_hook),
                    mlua::ffi::LUA_MASKCOUNT,
                    TICK_INSTRUCTIONS,
                );
            } else {
                mlua::ffi::lua_sethook(state, None, 0, 0);
            }
        })
    }
}

/// A script in the cache (its compiled function is in `Vm::functions`).
struct Script {
    flags: Option<ScriptFlags>,
    body_len: usize,
}

/// Why a run failed: the error text, where in the script (the chunk's name
/// and the line) when the error handler found it, and whether the error is
/// a failed command's (counted in errorstats already).
struct RunError {
    text: String,
    location: Option<(String, i64)>,
    counted: bool,
}

/// A run that ended in an error reply: its text, and whether errorstats
/// counted it already (a failed command's error, passed on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub text: String,
    pub counted: bool,
}

/// The per-run state the Rust side of the `redis` library sees.
#[derive(Default)]
struct RunContext {
    /// `redis.setresp(3)` was called.
    resp3: bool,
    /// A `redis.set_repl` not yet handed to the host.
    repl: Option<u8>,
    /// `redis.log` lines not yet handed to the host.
    logs: Vec<(u8, String)>,
}

impl RunContext {
    /// Hands what the script asked since the last time to the host (before
    /// each command and at the end, so the order is kept).
    fn hand_over(&mut self, host: &mut dyn Host) {
        for (level, line) in self.logs.drain(..) {
            host.log(level, &line);
        }
        if let Some(flags) = self.repl.take() {
            host.set_repl(flags);
        }
    }
}

/// The host of the run in progress, for the `redis` functions made once
/// per VM: a pointer to the run's `&mut dyn Host`, set only while
/// `run_function` runs (see `enter`), null otherwise.
#[derive(Clone, Default)]
struct HostSlot(Arc<std::sync::atomic::AtomicPtr<()>>);

/// Clears the slot when the run ends, however it ends.
struct SlotGuard<'a>(&'a HostSlot);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        self.0
             .0
            .store(std::ptr::null_mut(), std::sync::atomic::Ordering::Release);
    }
}

impl HostSlot {
    /// Makes `host` the run's host until the guard drops.
    fn enter<'a>(&'a self, host: &'a mut &mut dyn Host) -> SlotGuard<'a> {
        let ptr = host as *mut &mut dyn Host as *mut ();
        self.0.store(ptr, std::sync::atomic::Ordering::Release);
        SlotGuard(self)
    }

    /// Runs `f` with the run's host; `None` outside a run.
    fn with<R>(&self, f: impl FnOnce(&mut dyn Host) -> R) -> Option<R> {
        let ptr = self.0.load(std::sync::atomic::Ordering::Acquire);
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null only while `enter`'s guard lives, that is while
        // `run_function` holds the `&mut dyn Host` it points to; the VM runs
        // on that one thread and these functions never nest (a command run
        // for a script does not run Lua).
        let host = unsafe { &mut *(ptr as *mut &mut dyn Host) };
        Some(f(&mut **host))
    }
}

/// One node's scripting VM and script cache.
pub struct Vm {
    lua: Lua,
    error_handler: Function,
    xpcall: Function,
    globals: Table,
    host_table: Table,
    scripts: HashMap<String, Script>,
    /// The cached scripts' compiled functions by SHA1, in a Lua table: a
    /// function held from Rust takes a slot of mlua's reference stack,
    /// which Lua 5.1 caps at about 8000, and a node may cache millions.
    functions: Table,
    random: Arc<Mutex<rand48::Rand48>>,
    /// What `redis.setresp`, `redis.set_repl` and `redis.log` leave for the
    /// run (functions made once, not for every run).
    context: Arc<Mutex<RunContext>>,
    /// `redis.REDIS_VERSION` and `_NUM`, for a VM made again (SCRIPT FLUSH).
    version: (String, i64),
    /// What a FUNCTION VM has besides (None in the EVAL VM).
    library_env: Option<functions::LibraryEnv>,
    /// The run's host, for `redis.call` and the hook.
    host_slot: HostSlot,
    /// A kill left the hook firing at every line: set it back before the
    /// next run.
    hook_needs_reset: Arc<std::sync::atomic::AtomicBool>,
    /// While a library loads: when it started (FUNCTION LOAD's timeout).
    load_started: Arc<Mutex<Option<std::time::Instant>>>,
}

/// `redis.call` and the other `redis` functions that raise: calls
/// `host[name]` (the Rust function; upvalue 1 is the host table, upvalue 2
/// the name) with the script's arguments; it returns `(failed, value)`, and
/// a failure is raised as the error table itself. A C function, so a
/// script's `return redis.call(...)` keeps the script's frame (Lua 5.1
/// drops the frame only in tail calls to Lua functions) and the error
/// handler finds the script's line.
///
/// # Safety
/// Called by Lua with a valid state; uses only the stack it is given.
unsafe extern "C-unwind" fn call_trampoline(
    state: *mut mlua::ffi::lua_State,
) -> std::os::raw::c_int {
    use mlua::ffi;
    let mut nargs = ffi::lua_gettop(state);
    // Many arguments (`redis.call('del', unpack(keys))`) go as one table to
    // host[name .. "_packed"] where there is one: each argument held from
    // Rust would take one of mlua's few reference slots.
    let mut packed = false;
    if nargs > PACK_ABOVE {
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(2));
        ffi::lua_pushstring(state, c"_packed".as_ptr());
        ffi::lua_concat(state, 2);
        ffi::lua_gettable(state, ffi::lua_upvalueindex(1));
        if ffi::lua_type(state, -1) == ffi::LUA_TFUNCTION {
            ffi::lua_createtable(state, nargs, 0);
            for i in 1..=nargs {
                ffi::lua_pushvalue(state, i);
                ffi::lua_rawseti(state, -2, i as _);
            }
            // Stack: args..., f, table -> f, table.
            ffi::lua_replace(state, 1);
            ffi::lua_replace(state, 2);
            ffi::lua_settop(state, 2);
            ffi::lua_insert(state, 1);
            nargs = 1;
            packed = true;
        } else {
            ffi::lua_settop(state, nargs);
        }
    }
    if !packed {
        // host[name]: upvalue 1 is the host table, upvalue 2 the name.
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(2));
        ffi::lua_gettable(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
    }
    // The function returns (failed, values...): they replace the arguments.
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    if ffi::lua_toboolean(state, 1) != 0 {
        ffi::lua_settop(state, 2);
        // An error table is raised as it is; an error text gets the
        // caller's position in front, as `luaL_error` writes it.
        if ffi::lua_type(state, -1) == ffi::LUA_TSTRING {
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, -2);
            ffi::lua_concat(state, 2);
        }
        ffi::lua_error(state);
    }
    ffi::lua_remove(state, 1);
    ffi::lua_gettop(state)
}

/// `redis.call`/`pcall`: runs the command on the run's host; `(failed,
/// value)` for the trampoline.
fn run_call(
    lua: &Lua,
    slot: &HostSlot,
    context: &Mutex<RunContext>,
    argv: Result<Vec<Bytes>, String>,
) -> mlua::Result<(bool, Value)> {
    let argv = match argv {
        Ok(a) => a,
        Err(text) => return Ok((true, convert::error_table(lua, &text)?)),
    };
    let frame = slot.with(|host| {
        let resp3 = match context.lock() {
            Ok(mut c) => {
                c.hand_over(host);
                c.resp3
            }
            Err(_) => false,
        };
        host.call(argv, resp3)
    });
    match frame {
        Some(Frame::Error(e) | Frame::BlobError(e)) => {
            let text = convert::normalize_error(&e);
            Ok((true, convert::counted_error_table(lua, &text)?))
        }
        Some(other) => Ok((false, convert::frame_to_lua(lua, &other, 0)?)),
        None => Ok((true, convert::error_table(lua, OUTSIDE_A_RUN)?)),
    }
}

/// Above this many arguments, a trampoline packs them into a table.
const PACK_ABOVE: std::os::raw::c_int = 100;

/// SHA1 of `data` as 40 lower-case hex digits (Redis's `sha1hex`).
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// The text Redis sends for a script that failed to compile.
fn compile_error(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    };
    // mlua names the chunk as Lua does: `user_script:1: ...`.
    format!(
        "ERR Error compiling script (new function): {}",
        text.replace(['\r', '\n'], " ")
    )
}

impl Vm {
    /// A fresh VM: the libraries Redis loads, the `redis` table, the
    /// sandbox. `version`/`version_num`: `redis.REDIS_VERSION(_NUM)`.
    pub fn new(version: &str, version_num: i64) -> Result<Vm, String> {
        Vm::with_random(
            version,
            version_num,
            Arc::new(Mutex::new(rand48::Rand48::default())),
        )
    }

    fn with_random(
        version: &str,
        version_num: i64,
        random: Arc<Mutex<rand48::Rand48>>,
    ) -> Result<Vm, String> {
        Vm::build(version, version_num, random, false).map_err(|e| e.to_string())
    }

    /// A VM; with `functions`, the FUNCTION VM (Redis runs libraries in a
    /// VM of their own, whose `redis` lacks the EVAL-only functions).
    fn build(
        version: &str,
        version_num: i64,
        random: Arc<Mutex<rand48::Rand48>>,
        functions: bool,
    ) -> mlua::Result<Vm> {
        // SAFETY: the debug library is loaded only for the prelude, which
        // keeps `debug.getinfo` for its error handler and removes `debug`
        // from the globals before any script runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let host = lua.create_table()?;
        host.raw_set("version", version)?;
        host.raw_set("version_num", version_num)?;
        host.raw_set(
            "sha1hex",
            lua.create_function(|lua, args: MultiValue| {
                if args.len() != 1 {
                    return Ok((true, convert::error_table(lua, WRONG_NUMBER_OF_ARGUMENTS)?));
                }
                let bytes = match &args[0] {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Integer(i) => i.to_string().into_bytes(),
                    Value::Number(n) => convert::lua_number_text(*n).into_bytes(),
                    _ => Vec::new(),
                };
                Ok((false, Value::String(lua.create_string(sha1_hex(&bytes))?)))
            })?,
        )?;
        host.raw_set(
            "normalize_error",
            lua.create_function(|lua, text: mlua::LuaString| {
                convert::error_table(lua, &convert::normalize_error(&text.as_bytes()))
            })?,
        )?;
        let r = random.clone();
        host.raw_set(
            "rand",
            lua.create_function(move |_, ()| {
                let mut g = r.lock().map_err(|_| mlua::Error::runtime("rand48"))?;
                Ok(g.next_unit())
            })?,
        )?;
        let r = random.clone();
        host.raw_set(
            "randomseed",
            lua.create_function(move |_, seed: f64| {
                let mut g = r.lock().map_err(|_| mlua::Error::runtime("rand48"))?;
                g.seed(seed as i64 as i32);
                Ok(())
            })?,
        )?;
        let context = Arc::new(Mutex::new(RunContext::default()));
        let c = context.clone();
        host.raw_set(
            "log",
            lua.create_function(move |lua, args: MultiValue| {
                let result = convert::log_args(&args).map(|entry| {
                    if let Ok(mut c) = c.lock() {
                        c.logs.push(entry);
                    }
                });
                convert::outcome(lua, result)
            })?,
        )?;
        let c = context.clone();
        host.raw_set(
            "setresp",
            lua.create_function(move |lua, args: MultiValue| {
                let result = if args.len() != 1 {
                    Err("ERR redis.setresp() requires one argument.".to_string())
                } else {
                    match convert::lua_number(&args[0]) {
                        Some(v) if v == 2.0 || v == 3.0 => {
                            if let Ok(mut c) = c.lock() {
                                c.resp3 = v == 3.0;
                            }
                            Ok(())
                        }
                        _ => Err("ERR RESP version must be 2 or 3.".to_string()),
                    }
                };
                convert::outcome(lua, result)
            })?,
        )?;
        let c = context.clone();
        host.raw_set(
            "set_repl",
            lua.create_function(move |lua, args: MultiValue| {
                let result = if args.len() != 1 {
                    Err("ERR redis.set_repl() requires two arguments.".to_string())
                } else {
                    match convert::lua_number(&args[0]).map(|n| n as i64) {
                        Some(flags @ 0..=3) => {
                            if let Ok(mut c) = c.lock() {
                                c.repl = Some(flags as u8);
                            }
                            Ok(())
                        }
                        _ => Err(
                            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
                                .to_string(),
                        ),
                    }
                };
                convert::outcome(lua, result)
            })?,
        )?;
        // Replaced for each run by `run` (it needs the run's host).
        // `bit`: Lua BitOp, as host functions `bit_<name>`.
        for &name in bit::FUNCTIONS {
            let f = if name == "tohex" {
                lua.create_function(|lua, args: MultiValue| match bit::tohex(&args) {
                    Ok(text) => Ok((false, Value::String(lua.create_string(text)?))),
                    Err(e) => Ok((true, Value::String(lua.create_string(e)?))),
                })?
            } else {
                lua.create_function(move |lua, args: MultiValue| match bit::call(name, &args) {
                    Ok(n) => Ok((false, Value::Number(n))),
                    Err(e) => Ok((true, Value::String(lua.create_string(e)?))),
                })?
            };
            host.raw_set(format!("bit_{name}"), f)?;
        }
        // `cjson`: encode and decode (CJSON's errors are texts), and null.
        host.raw_set(
            "cjson_encode",
            lua.create_function(|lua, args: MultiValue| {
                if args.len() != 1 {
                    let e = "bad argument #1 to 'encode' (expected 1 argument)";
                    return Ok((true, Value::String(lua.create_string(e)?)));
                }
                let v = args.front().cloned().unwrap_or(Value::Nil);
                Ok(match cjson::encode(&v) {
                    Ok(text) => (false, Value::String(lua.create_string(text)?)),
                    Err(e) => (true, Value::String(lua.create_string(e)?)),
                })
            })?,
        )?;
        host.raw_set(
            "cjson_decode",
            lua.create_function(|lua, args: MultiValue| {
                if args.len() != 1 {
                    let e = "bad argument #1 to 'decode' (expected 1 argument)";
                    return Ok((true, Value::String(lua.create_string(e)?)));
                }
                let text = match args.front() {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(i)) => i.to_string().into_bytes(),
                    Some(Value::Number(n)) => convert::lua_number_text(*n).into_bytes(),
                    other => {
                        let e = format!(
                            "bad argument #1 to 'decode' (string expected, got {})",
                            convert::type_name(other)
                        );
                        return Ok((true, Value::String(lua.create_string(e)?)));
                    }
                };
                Ok(match cjson::decode(lua, &text) {
                    Ok(v) => (false, v),
                    Err(e) => (true, Value::String(lua.create_string(e)?)),
                })
            })?,
        )?;
        host.raw_set("cjson_null", cjson::null())?;
        // `cmsgpack`: pack and the three unpacks (several results each).
        host.raw_set(
            "cmsgpack_pack",
            lua.create_function(|lua, args: MultiValue| {
                if args.is_empty() {
                    let e = "bad argument #0 to 'pack' (MessagePack pack needs input.)";
                    return Ok((true, Value::String(lua.create_string(e)?)));
                }
                let values: Vec<Value> = args.into_iter().collect();
                Ok((
                    false,
                    Value::String(lua.create_string(cmsgpack::pack(&values))?),
                ))
            })?,
        )?;
        for (name, with_limit, with_offset) in [
            ("cmsgpack_unpack", false, false),
            ("cmsgpack_unpack_one", false, true),
            ("cmsgpack_unpack_limit", true, true),
        ] {
            let f = lua.create_function(move |lua, args: MultiValue| {
                let data = match args.front() {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    _ => Vec::new(),
                };
                let number = |i: usize| args.get(i).and_then(convert::lua_number).unwrap_or(0.0);
                let (limit, offset) = match (with_limit, with_offset) {
                    (false, false) => (0, 0.0),
                    (false, true) => (1, number(1)),
                    _ => (number(1).max(0.0) as usize, number(2)),
                };
                let mut out = MultiValue::new();
                match cmsgpack::unpack(lua, &data, limit, offset.max(0.0) as usize) {
                    Ok((next, values)) => {
                        out.push_back(Value::Boolean(false));
                        if with_offset {
                            out.push_back(Value::Integer(next));
                        }
                        out.extend(values);
                    }
                    Err(e) => {
                        out.push_back(Value::Boolean(true));
                        out.push_back(Value::String(lua.create_string(e)?));
                    }
                }
                Ok(out)
            })?;
            host.raw_set(name, f)?;
        }
        // `struct`: pack, unpack, size.
        host.raw_set(
            "struct_pack",
            lua.create_function(|lua, args: MultiValue| {
                Ok(match luastruct::pack(&args) {
                    Ok(bytes) => (false, Value::String(lua.create_string(bytes)?)),
                    Err(e) => (true, Value::String(lua.create_string(e)?)),
                })
            })?,
        )?;
        host.raw_set(
            "struct_unpack",
            lua.create_function(|lua, args: MultiValue| {
                let mut out = MultiValue::new();
                match luastruct::unpack(lua, &args) {
                    Ok(values) => {
                        out.push_back(Value::Boolean(false));
                        out.extend(values);
                    }
                    Err(e) => {
                        out.push_back(Value::Boolean(true));
                        out.push_back(Value::String(lua.create_string(e)?));
                    }
                }
                Ok(out)
            })?,
        )?;
        host.raw_set(
            "struct_size",
            lua.create_function(|lua, args: MultiValue| {
                Ok(match luastruct::size(&args) {
                    Ok(n) => (false, Value::Number(n)),
                    Err(e) => (true, Value::String(lua.create_string(e)?)),
                })
            })?,
        )?;
        // What reach the run's host: made once, they find it in the slot.
        let host_slot = HostSlot::default();
        let hook_needs_reset = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load_started: Arc<Mutex<Option<std::time::Instant>>> = Arc::default();
        for packed in [false, true] {
            let (slot, c) = (host_slot.clone(), context.clone());
            let name = if packed { "call_packed" } else { "call" };
            host.raw_set(
                name,
                lua.create_function(move |lua, args: MultiValue| {
                    let argv = if packed {
                        match args.front() {
                            Some(Value::Table(t)) => convert::command_args_table(t),
                            _ => convert::command_args(&args),
                        }
                    } else {
                        convert::command_args(&args)
                    };
                    run_call(lua, &slot, &c, argv)
                })?,
            )?;
        }
        let (slot, reset, started) = (
            host_slot.clone(),
            hook_needs_reset.clone(),
            load_started.clone(),
        );
        host.raw_set(
            "tick",
            lua.create_function(move |lua, ()| {
                let stop = match slot.with(|host| host.tick()) {
                    Some(stop) => stop,
                    // A library loading: its time limit.
                    None => match started.lock().ok().and_then(|s| *s) {
                        Some(t) if t.elapsed() > functions::LOAD_TIMEOUT => {
                            Some("ERR FUNCTION LOAD timeout".to_string())
                        }
                        _ => None,
                    },
                };
                match stop {
                    Some(text) => {
                        reset.store(true, std::sync::atomic::Ordering::Relaxed);
                        Ok((false, convert::error_table(lua, &text)?))
                    }
                    None => Ok((false, Value::Nil)),
                }
            })?,
        )?;
        let slot = host_slot.clone();
        host.raw_set(
            "acl_check_cmd",
            lua.create_function(move |lua, args: MultiValue| {
                let argv = match convert::command_args(&args) {
                    Ok(a) => a,
                    Err(text) => return Ok((true, convert::error_table(lua, &text)?)),
                };
                match slot.with(|host| host.acl_check(&argv)) {
                    Some(Some(ok)) => Ok((false, Value::Boolean(ok))),
                    Some(None) => Ok((
                        true,
                        convert::error_table(
                            lua,
                            "ERR Invalid command passed to redis.acl_check_cmd()",
                        )?,
                    )),
                    None => Ok((true, convert::error_table(lua, OUTSIDE_A_RUN)?)),
                }
            })?,
        )?;
        // What scripts call as `redis.call`, `redis.log`, `bit.band`, ...:
        // trampolines over the host's functions of the same name.
        let bit_names = bit::FUNCTIONS.iter().map(|n| format!("bit_{n}"));
        let names = [
            "call",
            "log",
            "setresp",
            "set_repl",
            "sha1hex",
            "cjson_encode",
            "cjson_decode",
            "cmsgpack_pack",
            "cmsgpack_unpack",
            "cmsgpack_unpack_one",
            "cmsgpack_unpack_limit",
            "struct_pack",
            "struct_unpack",
            "struct_size",
            "tick",
            "register_function",
            "acl_check_cmd",
        ]
        .iter()
        .map(|n| n.to_string())
        .chain(bit_names);
        for name in names {
            // SAFETY: the closure only pushes a C closure over the two values
            // mlua pushed (the host table and the name); the trampoline uses
            // nothing but its own stack.
            let f: Function = unsafe {
                lua.exec_raw((host.clone(), name.as_str()), |state| {
                    mlua::ffi::lua_pushcclosure(state, call_trampoline, 2)
                })?
            };
            if name == "tick" {
                // SAFETY: stores the function mlua pushed in the registry.
                unsafe {
                    lua.exec_raw::<()>(f.clone(), |state| {
                        mlua::ffi::lua_setfield(
                            state,
                            mlua::ffi::LUA_REGISTRYINDEX,
                            TICK_KEY.as_ptr(),
                        )
                    })?;
                }
            }
            host.raw_set(format!("{name}_c"), f)?;
        }
        let prelude = lua
            .load(include_str!("prelude.lua"))
            .set_name("@redust_prelude")
            .into_function()?;
        let (error_handler, globals, env, set_loading, fcall): (
            Function,
            Table,
            Option<Table>,
            Option<Function>,
            Option<Function>,
        ) = prelude.call((host.clone(), functions))?;
        let xpcall: Function = globals.raw_get("xpcall")?;
        let library_env = match (env, set_loading, fcall) {
            (Some(env), Some(set_loading), Some(fcall)) => Some(functions::LibraryEnv {
                env,
                set_loading,
                fcall,
            }),
            _ => None,
        };
        // The count hook stays on: it costs a counter per instruction.
        set_count_hook(&lua, true)?;
        let script_functions = lua.create_table()?;
        Ok(Vm {
            host_slot,
            hook_needs_reset,
            load_started,
            library_env,
            lua,
            error_handler,
            xpcall,
            globals,
            host_table: host,
            scripts: HashMap::new(),
            functions: script_functions,
            random,
            context,
            version: (version.to_string(), version_num),
        })
    }

    /// After a stop (kill, timeout) left the hook firing at every line:
    /// back to every `TICK_INSTRUCTIONS` instructions.
    fn reset_hook_if_needed(&self) -> mlua::Result<()> {
        if self
            .hook_needs_reset
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            set_count_hook(&self.lua, true)?;
        }
        Ok(())
    }

    /// SCRIPT FLUSH: a fresh VM and an empty cache (rand48 goes on, as in
    /// Redis, where it is the process's).
    pub fn flush(&mut self) -> Result<(), String> {
        let (version, num) = self.version.clone();
        *self = Vm::with_random(&version, num, self.random.clone())?;
        Ok(())
    }

    /// Scripts in the cache (`number_of_cached_scripts`).
    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// What the script cache holds, counted as Redis counts it
    /// (`used_memory_scripts_eval`): each script's SHA1 and body strings and
    /// its dictionary entry.
    pub fn cache_bytes(&self) -> usize {
        const PER_SCRIPT: usize = 40 + 88;
        self.scripts.values().map(|s| s.body_len + PER_SCRIPT).sum()
    }

    /// Bytes the Lua VM uses (`used_memory_lua`).
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Whether a script with this SHA1 (any case) is cached.
    pub fn exists(&self, sha: &[u8]) -> bool {
        sha.len() == 40
            && self
                .scripts
                .contains_key(&String::from_utf8_lossy(sha).to_lowercase())
    }

    /// The flags of a cached script (`None`: no shebang, Redis's compat mode).
    pub fn flags(&self, sha: &str) -> Option<Option<ScriptFlags>> {
        self.scripts.get(sha).map(|s| s.flags)
    }

    /// Compiles and caches `body` (EVAL, SCRIPT LOAD); returns its SHA1, or
    /// the error Redis replies (shebang or compile errors; not cached).
    pub fn load(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code) = shebang::parse(body)?;
        let function = self
            .lua
            .load(code)
            .set_name("@user_script")
            .into_function()
            .map_err(|e| compile_error(&e))?;
        self.functions
            .raw_set(sha.as_str(), function)
            .map_err(|e| format!("ERR {e}"))?;
        self.scripts.insert(
            sha.clone(),
            Script {
                flags,
                body_len: body.len(),
            },
        );
        Ok(sha)
    }

    /// Runs cached script `sha` with `keys` and `argv`, its commands going
    /// to `host`, and writes what it returns to `reply`; or the error to
    /// reply instead (a returned error table, or a raised error with Redis's
    /// `script: <sha>, on @user_script:<line>.` suffix).
    pub fn run(
        &mut self,
        sha: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        host: &mut dyn Host,
        reply: &mut Reply,
    ) -> Result<(), ScriptError> {
        let function = match self.functions.raw_get::<Value>(sha) {
            Ok(Value::Function(f)) if self.scripts.contains_key(sha) => f,
            _ => {
                return Err(ScriptError {
                    text: NOSCRIPT.to_string(),
                    counted: false,
                })
            }
        };
        let xpcall = self.xpcall.clone();
        let handler = self.error_handler.clone();
        let run = self.run_function(keys, argv, host, |_| {
            xpcall.call::<(bool, Value)>((function, handler))
        });
        finish_run(run, sha, reply)
    }

    /// Runs with `invoke` (which calls the script or function, protected);
    /// the value it returned and the script's protocol, or the error text
    /// (suffixed with where it happened). An EVAL script sees `keys` and
    /// `argv` as KEYS and ARGV.
    fn run_function(
        &self,
        keys: &[Bytes],
        argv: &[Bytes],
        host: &mut dyn Host,
        invoke: impl FnOnce(&Lua) -> mlua::Result<(bool, Value)>,
    ) -> Result<(Value, bool), RunError> {
        let lua = &self.lua;
        if self.library_env.is_none() {
            let set_args = || -> mlua::Result<()> {
                let (k, a) = (string_table(lua, keys)?, string_table(lua, argv)?);
                self.globals.raw_set("KEYS", k)?;
                self.globals.raw_set("ARGV", a)?;
                Ok(())
            };
            set_args().map_err(|e| RunError {
                text: format!("ERR {e}"),
                location: None,
                counted: false,
            })?;
        }
        if let Ok(mut c) = self.context.lock() {
            *c = RunContext::default();
        }
        let mut host = host;
        let result = {
            let _slot = self.host_slot.enter(&mut host);
            invoke(lua)
        };
        let result = result.and_then(|r| self.reset_hook_if_needed().map(|_| r));
        let resp3 = match self.context.lock() {
            Ok(mut c) => {
                c.hand_over(host);
                c.resp3
            }
            Err(_) => false,
        };
        match result {
            Ok((true, value)) => Ok((value, resp3)),
            Ok((false, error)) => {
                let (text, location) = convert::error_text(&error);
                Err(RunError {
                    text,
                    location,
                    counted: convert::is_counted(&error),
                })
            }
            Err(e) => Err(RunError {
                text: format!("ERR {}", e.to_string().replace(['\r', '\n'], " ")),
                location: None,
                counted: false,
            }),
        }
    }
}

/// `values` as a Lua array of strings (KEYS, ARGV, a function's arguments).
fn string_table(lua: &Lua, values: &[Bytes]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(values.len(), 0)?;
    for (i, v) in values.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(v)?)?;
    }
    Ok(t)
}

/// A run's outcome as the caller's reply: the value written, or the error
/// (with `script: <name>, on <source>:<line>.` when it says where).
fn finish_run(
    run: Result<(Value, bool), RunError>,
    name: &str,
    reply: &mut Reply,
) -> Result<(), ScriptError> {
    {
        match run {
            Ok((value, resp3)) => {
                if let Some(text) = convert::returned_error(&value) {
                    return Err(ScriptError {
                        text,
                        counted: convert::is_counted(&value),
                    });
                }
                convert::write_value(&value, reply, resp3, 0);
                Ok(())
            }
            Err(failure) => Err(ScriptError {
                text: match &failure.location {
                    Some((source, line)) => {
                        format!("{} script: {name}, on {source}:{line}.", failure.text)
                    }
                    None => failure.text,
                },
                counted: failure.counted,
            }),
        }
    }
}
