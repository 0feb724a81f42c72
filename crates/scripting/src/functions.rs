//! Redis 7.0 Functions: libraries of Lua functions (`#!lua name=<lib>`)
//! registered with `redis.register_function`, kept by name, run by FCALL.
//!
//! Libraries live in a Lua VM of their own (as in Redis). A library's code
//! loads with only `redis.register_function`, `redis.log` and the constants
//! in reach, within 500 ms; its functions then run with a script's
//! globals, called as `f(keys, args)`. This module owns the library set and
//! its rules (names, flags, collisions, REPLACE, restore policies); the
//! engine decides when a function may run and runs its commands.

use crate::{convert, finish_run, Host, ScriptError, ScriptFlags, Vm};
use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};
use redust_resp::Reply;
use std::collections::{BTreeMap, HashMap};

/// What a FUNCTION VM keeps besides a script VM's pieces (from the prelude).
pub(crate) struct LibraryEnv {
    /// The environment of every library's code.
    pub env: Table,
    /// Switches `env` between load time and run time.
    pub set_loading: Function,
    /// Calls `f(keys, args)` protected by the error handler.
    pub fcall: Function,
}

/// How long a library's code may take to load.
pub(crate) const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// A registered function.
pub struct FunctionDef {
    pub name: String,
    pub flags: ScriptFlags,
    pub description: Option<Vec<u8>>,
}

/// A loaded library.
pub struct Library {
    pub name: String,
    /// The code as given (shebang included): what DUMP, LIST WITHCODE,
    /// the RDB and the AOF keep.
    pub code: Bytes,
    /// By lower-cased name.
    pub functions: BTreeMap<String, FunctionDef>,
}

/// FUNCTION RESTORE's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePolicy {
    Flush,
    Append,
    Replace,
}

/// The node's libraries and the VM they run in.
pub struct Functions {
    vm: Vm,
    libraries: BTreeMap<String, Library>,
    /// Lower-cased function name -> its library.
    owner: HashMap<String, String>,
    /// Lower-cased function name -> its callback, in a Lua table (a
    /// function held from Rust takes one of mlua's few reference slots).
    callbacks: Table,
}

/// A library's name and code from its `#!<engine> name=<name>` line.
struct Metadata {
    name: String,
    engine: String,
}

const INVALID_METADATA: &str = "ERR Invalid library metadata";

fn parse_metadata(code: &[u8]) -> Result<Metadata, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err(INVALID_METADATA.into());
    };
    let parts = match redust_resp::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err(INVALID_METADATA.into()),
    };
    let engine = String::from_utf8_lossy(&parts[0][2..]).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(format!(
            "ERR Invalid metadata value given: {}",
            String::from_utf8_lossy(part)
        ));
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    Ok(Metadata { name, engine })
}

/// Letters, digits and underscores, at least one.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A bad library name, and (as in Redis) a bad function name too.
const BAD_LIBRARY_NAME: &str = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
const BAD_FUNCTION_NAME: &str = BAD_LIBRARY_NAME;
const UNKNOWN_FLAG: &str = "ERR unknown flag given";
/// FCALL of a function no library registered.
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";

/// Parses `redis.register_function`'s arguments (positional or named).
fn registration(args: &MultiValue) -> Result<(FunctionDef, Function), String> {
    let err = |t: &str| format!("ERR {t}");
    match args.len() {
        1 => {
            let Value::Table(t) = &args[0] else {
                return Err(err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
            };
            let (mut name, mut callback, mut flags, mut description) =
                (None, None, ScriptFlags::default(), None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair.map_err(|e| err(&e.to_string()))?;
                let key = match &k {
                    Value::String(s) => s.to_string_lossy(),
                    _ => return Err(err("unknown argument given to redis.register_function")),
                };
                match key.as_str() {
                    "function_name" => match v {
                        Value::String(s) => name = Some(s.to_string_lossy()),
                        _ => return Err(err("function_name argument given to redis.register_function must be a string")),
                    },
                    "description" => match v {
                        Value::String(s) => description = Some(s.as_bytes().to_vec()),
                        _ => return Err(err("description argument given to redis.register_function must be a string")),
                    },
                    "callback" => match v {
                        Value::Function(f) => callback = Some(f),
                        _ => return Err(err("callback argument given to redis.register_function must be a function")),
                    },
                    "flags" => match v {
                        Value::Table(list) => flags = parse_flags(&list)?,
                        _ => return Err(err("flags argument to redis.register_function must be a table representing function flags")),
                    },
                    _ => return Err(err("unknown argument given to redis.register_function")),
                }
            }
            let Some(name) = name else {
                return Err(err(
                    "redis.register_function must get a function name argument",
                ));
            };
            let Some(callback) = callback else {
                return Err(err("redis.register_function must get a callback argument"));
            };
            Ok((
                FunctionDef {
                    name,
                    flags,
                    description,
                },
                callback,
            ))
        }
        2 => {
            let Value::String(name) = &args[0] else {
                return Err(err(
                    "first argument to redis.register_function must be a string",
                ));
            };
            let Value::Function(callback) = &args[1] else {
                return Err(err(
                    "second argument to redis.register_function must be a function",
                ));
            };
            Ok((
                FunctionDef {
                    name: name.to_string_lossy(),
                    flags: ScriptFlags::default(),
                    description: None,
                },
                callback.clone(),
            ))
        }
        _ => Err(err("wrong number of arguments to redis.register_function")),
    }
}

fn parse_flags(list: &Table) -> Result<ScriptFlags, String> {
    let mut flags = ScriptFlags::default();
    for v in list.sequence_values::<Value>() {
        let Ok(Value::String(s)) = v else {
            return Err(UNKNOWN_FLAG.into());
        };
        match s.to_string_lossy().to_ascii_lowercase().as_str() {
            "no-writes" => flags.no_writes = true,
            "allow-oom" => flags.allow_oom = true,
            "allow-stale" => flags.allow_stale = true,
            "no-cluster" => flags.no_cluster = true,
            "allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
            _ => return Err(UNKNOWN_FLAG.into()),
        }
    }
    Ok(flags)
}

impl Functions {
    /// An empty library set with a fresh FUNCTION VM.
    pub fn new(version: &str, version_num: i64) -> Result<Functions, String> {
        let random = std::sync::Arc::new(std::sync::Mutex::new(crate::rand48::Rand48::default()));
        let vm = Vm::build(version, version_num, random, true).map_err(|e| e.to_string())?;
        let callbacks = vm.lua.create_table().map_err(|e| e.to_string())?;
        Ok(Functions {
            vm,
            libraries: BTreeMap::new(),
            owner: HashMap::new(),
            callbacks,
        })
    }

    fn env(&self) -> Result<&LibraryEnv, String> {
        self.vm
            .library_env
            .as_ref()
            .ok_or_else(|| "ERR the function VM has no library environment".to_string())
    }

    /// Compiles and runs a library's code, collecting what it registers;
    /// does not install it.
    /// The callbacks it registers go into `pending` (by lower-cased name).
    fn compile(&self, code: &[u8], pending: &Table) -> Result<Library, String> {
        let meta = parse_metadata(code)?;
        if !valid_name(&meta.name) {
            return Err(BAD_LIBRARY_NAME.into());
        }
        if !meta.engine.eq_ignore_ascii_case("lua") {
            return Err(format!("ERR Engine '{}' not found", meta.engine));
        }
        let env = self.env()?;
        let lua = &self.vm.lua;
        // The shebang line stays as an empty line: errors keep their numbers.
        let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
        let chunk = lua
            .load(&code[end..])
            .set_name("@user_function")
            .set_environment(env.env.clone())
            .into_function()
            .map_err(|e| {
                let text = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                format!(
                    "ERR Error compiling function: {}",
                    text.replace(['\r', '\n'], " ")
                )
            })?;
        let registered = std::cell::RefCell::new(BTreeMap::<String, FunctionDef>::new());
        let outcome = lua.scope(|scope| {
            let register = scope.create_function(|lua, args: MultiValue| {
                let (def, callback) = match registration(&args) {
                    Ok(d) => d,
                    Err(text) => return Ok((true, convert::error_table(lua, &text)?)),
                };
                if !valid_name(&def.name) {
                    return Ok((true, convert::error_table(lua, BAD_FUNCTION_NAME)?));
                }
                let mut registered = registered.borrow_mut();
                // Function names are case-insensitive (as Redis's dict).
                if registered.contains_key(&def.name.to_ascii_lowercase()) {
                    return Ok((
                        true,
                        convert::error_table(lua, "ERR Function already exists in the library")?,
                    ));
                }
                let key = def.name.to_ascii_lowercase();
                pending.raw_set(key.as_str(), callback)?;
                registered.insert(key, def);
                Ok((false, Value::Nil))
            })?;
            self.vm.host_table.raw_set("register_function", register)?;
            // The count hook's tick stops a load that runs too long.
            if let Ok(mut s) = self.vm.load_started.lock() {
                *s = Some(std::time::Instant::now());
            }
            // `redis.log` at load time is kept for the node's log.
            env.set_loading.call::<()>(true)?;
            let result = self
                .vm
                .xpcall
                .call::<(bool, Value)>((chunk, self.vm.error_handler.clone()));
            if let Ok(mut s) = self.vm.load_started.lock() {
                *s = None;
            }
            self.vm.reset_hook_if_needed()?;
            env.set_loading.call::<()>(false)?;
            result
        });
        match outcome {
            Ok((true, _)) => {}
            Ok((false, error)) => {
                let (text, _) = convert::error_text(&error);
                return Err(format!("ERR Error registering functions: {text}"));
            }
            Err(e) => return Err(format!("ERR Error registering functions: ERR {e}")),
        }
        let functions = registered.into_inner();
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        Ok(Library {
            name: meta.name,
            code: Bytes::copy_from_slice(code),
            functions,
        })
    }

    /// FUNCTION LOAD [REPLACE]: the library's name, or Redis's error.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, String> {
        let meta = parse_metadata(code)?;
        if !valid_name(&meta.name) {
            return Err(BAD_LIBRARY_NAME.into());
        }
        if !meta.engine.eq_ignore_ascii_case("lua") {
            return Err(format!("ERR Engine '{}' not found", meta.engine));
        }
        if !replace && self.libraries.contains_key(&meta.name) {
            return Err(format!("ERR Library '{}' already exists", meta.name));
        }
        let pending = self.new_table()?;
        let library = self.compile(code, &pending)?;
        for (key, f) in &library.functions {
            if self.owner.get(key).is_some_and(|lib| *lib != library.name) {
                return Err(format!("ERR Function {} already exists", f.name));
            }
        }
        let name = library.name.clone();
        self.install(library, &pending)?;
        Ok(name)
    }

    fn new_table(&self) -> Result<Table, String> {
        self.vm.lua.create_table().map_err(|e| format!("ERR {e}"))
    }

    /// Puts `library` in place (replacing one of its name), its callbacks
    /// taken from `pending`.
    fn install(&mut self, library: Library, pending: &Table) -> Result<(), String> {
        for key in library.functions.keys() {
            let callback: Value = pending
                .raw_get(key.as_str())
                .map_err(|e| format!("ERR {e}"))?;
            if let Some(old) = self.owner.get(key) {
                if *old != library.name {
                    continue;
                }
            }
            self.callbacks
                .raw_set(key.as_str(), callback)
                .map_err(|e| format!("ERR {e}"))?;
        }
        let old_functions: Vec<String> = self
            .libraries
            .get(&library.name)
            .map(|l| l.functions.keys().cloned().collect())
            .unwrap_or_default();
        for key in old_functions {
            if !library.functions.contains_key(&key) {
                self.owner.remove(&key);
                let _ = self.callbacks.raw_set(key.as_str(), Value::Nil);
            }
        }
        for f in library.functions.keys() {
            self.owner.insert(f.clone(), library.name.clone());
        }
        self.libraries.insert(library.name.clone(), library);
        Ok(())
    }

    /// FUNCTION DELETE: whether the library was there.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(library) = self.libraries.remove(name) else {
            return false;
        };
        for f in library.functions.keys() {
            self.owner.remove(f);
            let _ = self.callbacks.raw_set(f.as_str(), Value::Nil);
        }
        true
    }

    /// FUNCTION FLUSH: no libraries, and a fresh VM.
    pub fn flush(&mut self) -> Result<(), String> {
        let (version, num) = self.vm.version.clone();
        *self = Functions::new(&version, num)?;
        Ok(())
    }

    /// What `redis.log` logged while libraries loaded (level, line), for
    /// the node's log.
    pub fn take_load_logs(&mut self) -> Vec<(u8, String)> {
        match self.vm.context.lock() {
            Ok(mut c) => std::mem::take(&mut c.logs),
            Err(_) => Vec::new(),
        }
    }

    /// The libraries, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.owner.len()
    }

    /// The function called `name` (in any case).
    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        let key = name.to_ascii_lowercase();
        let library = self.libraries.get(self.owner.get(&key)?)?;
        library.functions.get(&key)
    }

    /// Bytes the VM uses.
    pub fn vm_memory(&self) -> usize {
        self.vm.used_memory()
    }

    /// Bytes the library set holds (names, code, function entries), as an
    /// estimate of Redis's `used_memory_functions`.
    pub fn overhead_bytes(&self) -> usize {
        self.libraries
            .values()
            .map(|l| {
                l.name.len()
                    + l.code.len()
                    + 64
                    + l.functions
                        .values()
                        .map(|f| f.name.len() + f.description.as_ref().map_or(0, Vec::len) + 48)
                        .sum::<usize>()
            })
            .sum::<usize>()
            + 200
    }

    /// FUNCTION RESTORE of the libraries `codes` (from a DUMP payload) with
    /// `policy`; nothing changes on error.
    pub fn restore(&mut self, codes: &[Vec<u8>], policy: RestorePolicy) -> Result<(), String> {
        // Compiled and checked among themselves first (as Redis loads them
        // into a context of their own).
        let mut incoming: Vec<Library> = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let mut pending = self.new_table()?;
        for code in codes {
            let library = self.compile(code, &pending)?;
            if incoming.iter().any(|l| l.name == library.name) {
                return Err(format!("ERR Library '{}' already exists", library.name));
            }
            for f in library.functions.keys() {
                if names.insert(f.clone(), library.name.clone()).is_some() {
                    return Err(format!("ERR Function {f} already exists"));
                }
            }
            incoming.push(library);
        }
        match policy {
            RestorePolicy::Flush => self.flush()?,
            RestorePolicy::Append | RestorePolicy::Replace => {
                let replaced = |lib: &str| {
                    policy == RestorePolicy::Replace && incoming.iter().any(|l| l.name == lib)
                };
                for library in &incoming {
                    if self.libraries.contains_key(&library.name) && !replaced(&library.name) {
                        return Err(format!("ERR Library {} already exists", library.name));
                    }
                }
                // A function may not clash with one of a library that stays.
                for f in names.keys() {
                    if self.owner.get(f).is_some_and(|owner| !replaced(owner)) {
                        return Err(format!("ERR Function {f} already exists"));
                    }
                }
            }
        }
        // A FLUSH made a new VM: compile again in it.
        if policy == RestorePolicy::Flush {
            pending = self.new_table()?;
            incoming = codes
                .iter()
                .map(|c| self.compile(c, &pending))
                .collect::<Result<_, _>>()?;
        }
        for library in incoming {
            self.install(library, &pending)?;
        }
        Ok(())
    }

    /// Runs function `name` with `keys` and `args`, its commands going to
    /// `host`, writing what it returns to `reply`; or the error to reply.
    pub fn call(
        &mut self,
        name: &str,
        keys: &[Bytes],
        args: &[Bytes],
        host: &mut dyn Host,
        reply: &mut Reply,
    ) -> Result<(), ScriptError> {
        if self.function(name).is_none() {
            return Err(ScriptError {
                text: FUNCTION_NOT_FOUND.into(),
                counted: false,
            });
        };
        let key = name.to_ascii_lowercase();
        let callback = match self.callbacks.raw_get::<Value>(key.as_str()) {
            Ok(Value::Function(f)) => f,
            _ => {
                return Err(ScriptError {
                    text: FUNCTION_NOT_FOUND.into(),
                    counted: false,
                })
            }
        };
        let fcall = match self.env() {
            Ok(env) => env.fcall.clone(),
            Err(text) => {
                return Err(ScriptError {
                    text,
                    counted: false,
                })
            }
        };
        let run = self.vm.run_function(keys, args, host, |lua: &Lua| {
            let k = crate::string_table(lua, keys)?;
            let a = crate::string_table(lua, args)?;
            fcall.call::<(bool, Value)>((callback, k, a))
        });
        finish_run(run, name, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        assert_eq!(
            parse_metadata(b"return 1").err().unwrap(),
            "ERR Missing library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua name=a").err().unwrap(),
            "ERR Invalid library metadata"
        );
        assert_eq!(
            parse_metadata(b"#!lua\n").err().unwrap(),
            "ERR Library name was not given"
        );
        assert_eq!(
            parse_metadata(b"#!lua name=a foo=bar\n").err().unwrap(),
            "ERR Invalid metadata value given: foo=bar"
        );
        let m = parse_metadata(b"#!LUA NAME=lib\nx").unwrap();
        assert_eq!((m.engine.as_str(), m.name.as_str()), ("LUA", "lib"));
        assert!(valid_name("a_1") && !valid_name("") && !valid_name("a-b"));
    }
}
