//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT (LOAD,
//! EXISTS, FLUSH, KILL, HELP), FCALL, FCALL_RO and FUNCTION (LOAD, DELETE,
//! FLUSH, LIST, DUMP, RESTORE, STATS, KILL, HELP). Scripts and functions run
//! on the engine (`crate::scripting`) in the node's Lua VMs
//! (`redust-scripting`).

use crate::args::{eq_ignore_case, lossy, parse_i64};
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::Ctx;
use crate::scripting::{self, RestorePolicy, RunMode, ScriptFlags, Target, NOSCRIPT};
use bytes::Bytes;

/// EVAL, EVALSHA and their read-only forms: `<script|sha> numkeys key... arg...`.
pub fn eval(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = args[0].to_ascii_lowercase();
    let by_sha = name.starts_with(b"evalsha");
    let read_only = name.ends_with(b"_ro");
    if by_sha && args[1].len() != 40 {
        return Err(NOSCRIPT.into());
    }
    let numkeys = parse_i64(&args[2])?;
    if numkeys > args.len() as i64 - 3 {
        return Err(errors::NUMKEYS_TOO_MANY.into());
    }
    if numkeys < 0 {
        return Err(scripting::NUMKEYS_NEGATIVE.into());
    }
    let vm = ctx.state.scripting.vm().map_err(CmdError::from)?;
    let sha = if by_sha {
        let sha = lossy(&args[1]).to_lowercase();
        if !vm.exists(sha.as_bytes()) {
            return Err(NOSCRIPT.into());
        }
        sha
    } else {
        vm.load(&args[1]).map_err(CmdError::from)?
    };
    let flags = vm.flags(&sha).flatten();
    start_run(
        ctx,
        args,
        Target::Script { sha: &sha },
        numkeys as usize,
        read_only,
        flags,
    )
}

/// EVAL's and FCALL's common part once the script is found: the checks its
/// flags ask for, MONITOR, then the run (`numkeys` checked already).
fn start_run(
    ctx: &mut Ctx,
    args: &[Bytes],
    target: Target,
    numkeys: usize,
    read_only: bool,
    flags: Option<ScriptFlags>,
) -> CmdResult {
    if read_only && flags.is_some_and(|f| !f.no_writes) {
        return Err(scripting::WRITE_FLAG_WITH_RO.into());
    }
    if let Some(e) = scripting::refuse_run(ctx.state, ctx.client, flags) {
        return Err(scripting::refusal(e, flags));
    }
    // EVAL and FCALL are not in MONITOR by their flags: they show
    // themselves before the commands they run.
    if !ctx.state.clients.monitors.is_empty() {
        crate::monitor::feed_monitors(ctx.state, ctx.client, args);
    }
    // What the script writes is propagated as its commands, not as itself.
    ctx.propagate_nothing();
    let split = 3 + numkeys;
    scripting::run(
        ctx,
        target,
        args,
        &args[3..split],
        &args[split..],
        RunMode::of(read_only, flags),
    )
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP.
pub fn script(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match &sub[..] {
        b"load" => {
            let vm = ctx.state.scripting.vm().map_err(CmdError::from)?;
            let sha = vm.load(&args[2]).map_err(CmdError::from)?;
            ctx.reply.bulk(sha.as_bytes());
            ctx.propagate_nothing();
        }
        b"exists" => {
            let vm = ctx.state.scripting.vm().map_err(CmdError::from)?;
            let found: Vec<bool> = args[2..].iter().map(|sha| vm.exists(sha)).collect();
            ctx.reply.array(found.len());
            for f in found {
                ctx.reply.int(f as i64);
            }
        }
        b"flush" => {
            let valid = args.len() == 2
                || (args.len() == 3
                    && (eq_ignore_case(&args[2], "sync") || eq_ignore_case(&args[2], "async")));
            if !valid {
                return Err("ERR SCRIPT FLUSH only support SYNC|ASYNC option".into());
            }
            ctx.state
                .scripting
                .vm()
                .map_err(CmdError::from)?
                .flush()
                .map_err(CmdError::from)?;
            ctx.propagate_nothing();
            ctx.reply.ok();
        }
        // Arrives from a busy script's servicing (or finds none running).
        b"kill" => {
            crate::scripting::kill(ctx.state, true)?;
            ctx.reply.ok();
            return Ok(());
        }
        b"help" => {
            ctx.reply.array(SCRIPT_HELP.len());
            for line in SCRIPT_HELP {
                ctx.reply.simple(line);
            }
        }
        _ => return Err(errors::unknown_subcommand(&args[1], "SCRIPT")),
    }
    Ok(())
}

/// FCALL and FCALL_RO: `<function> numkeys key... arg...`.
pub fn fcall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let read_only = args[0].to_ascii_lowercase().ends_with(b"_ro");
    let name = lossy(&args[1]);
    let functions = ctx.state.scripting.functions().map_err(CmdError::from)?;
    let Some(function) = functions.function(&name) else {
        return Err(scripting::FUNCTION_NOT_FOUND.into());
    };
    let flags = function.flags;
    let numkeys =
        parse_i64(&args[2]).map_err(|_| CmdError::from("ERR Bad number of keys provided"))?;
    if numkeys > args.len() as i64 - 3 {
        return Err(errors::NUMKEYS_TOO_MANY.into());
    }
    if numkeys < 0 {
        return Err(scripting::NUMKEYS_NEGATIVE.into());
    }
    let target = Target::Function { name: &name };
    start_run(ctx, args, target, numkeys as usize, read_only, Some(flags))
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

/// The flag names FUNCTION LIST shows, in Redis's order.
fn flag_names(f: &ScriptFlags) -> Vec<&'static str> {
    [
        (f.no_writes, "no-writes"),
        (f.allow_oom, "allow-oom"),
        (f.allow_stale, "allow-stale"),
        (f.no_cluster, "no-cluster"),
        (f.allow_cross_slot_keys, "allow-cross-slot-keys"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

/// FUNCTION LOAD | DELETE | FLUSH | LIST | DUMP | RESTORE | STATS | KILL | HELP.
pub fn function(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match &sub[..] {
        b"load" => {
            let mut replace = false;
            let mut at = 2;
            while at < args.len() - 1 {
                if eq_ignore_case(&args[at], "replace") {
                    replace = true;
                    at += 1;
                    continue;
                }
                // Redis's formatted errors lose a trailing newline.
                let option = lossy(&args[at]);
                let option = option.trim_end_matches(['\r', '\n']);
                return Err(format!("ERR Unknown option given: {option}").into());
            }
            if at >= args.len() {
                return Err("ERR Function code is missing".into());
            }
            let functions = ctx.state.scripting.functions().map_err(CmdError::from)?;
            let loaded = functions.load(&args[at], replace);
            scripting::Scripting::log_library_output(ctx.state);
            let name = loaded.map_err(CmdError::from)?;
            ctx.dirty(1);
            ctx.reply.bulk(name.as_bytes());
        }
        b"delete" => {
            let name = lossy(&args[2]);
            let functions = ctx.state.scripting.functions().map_err(CmdError::from)?;
            if !functions.delete(&name) {
                return Err("ERR Library not found".into());
            }
            ctx.dirty(1);
            ctx.reply.ok();
        }
        b"flush" => {
            if args.len() > 3 {
                return Err(subcommand_syntax_error(&args[1]));
            }
            let valid = args.len() == 2
                || eq_ignore_case(&args[2], "sync")
                || eq_ignore_case(&args[2], "async");
            if !valid {
                return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option".into());
            }
            let functions = ctx.state.scripting.functions().map_err(CmdError::from)?;
            functions.flush().map_err(CmdError::from)?;
            ctx.dirty(1);
            ctx.reply.ok();
        }
        b"list" => function_list(ctx, args)?,
        b"dump" => {
            use redust_persistence::rdb::dump::function_dump_payload;
            let compress = ctx.state.config.rdbcompression;
            let payload = match ctx.state.scripting.functions_if_any() {
                Some(f) => function_dump_payload(f.libraries().map(|l| &l.code[..]), compress),
                None => function_dump_payload([], compress),
            };
            ctx.reply.bulk(&payload);
        }
        b"restore" => {
            if args.len() > 4 {
                return Err(subcommand_syntax_error(&args[1]));
            }
            let policy = match args.get(3) {
                None => RestorePolicy::Append,
                Some(p) if eq_ignore_case(p, "append") => RestorePolicy::Append,
                Some(p) if eq_ignore_case(p, "replace") => RestorePolicy::Replace,
                Some(p) if eq_ignore_case(p, "flush") => RestorePolicy::Flush,
                Some(_) => {
                    return Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.".into())
                }
            };
            use redust_persistence::rdb::dump::{parse_function_payload, FunctionPayloadError};
            let verify = !ctx.state.debug.skip_checksum_validation;
            let codes = parse_function_payload(&args[2], verify).map_err(|e| {
                CmdError::from(match e {
                    FunctionPayloadError::Footer => errors::BAD_DUMP_PAYLOAD,
                    FunctionPayloadError::NotAFunction => "ERR given type is not a function",
                    FunctionPayloadError::Corrupt => {
                        "ERR failed loading the given functions payload"
                    }
                })
            })?;
            let functions = ctx.state.scripting.functions().map_err(CmdError::from)?;
            functions.restore(&codes, policy).map_err(CmdError::from)?;
            ctx.dirty(1);
            ctx.reply.ok();
        }
        b"stats" => {
            if let Some(r) = &ctx.state.scripting.running {
                if r.eval {
                    return Err(scripting::BUSY_EVAL.into());
                }
            }
            ctx.reply.map(2);
            ctx.reply.bulk(b"running_script");
            match &ctx.state.scripting.running {
                Some(r) => {
                    let duration = r.started.elapsed().as_millis() as i64;
                    let (name, command) = (r.name.clone(), r.command.clone());
                    ctx.reply.map(3);
                    ctx.reply.bulk(b"name");
                    ctx.reply.bulk(name.as_bytes());
                    ctx.reply.bulk(b"command");
                    ctx.reply.array(command.len());
                    for a in &command {
                        ctx.reply.bulk(a);
                    }
                    ctx.reply.bulk(b"duration_ms");
                    ctx.reply.int(duration);
                }
                None => ctx.reply.null(),
            }
            let (libraries, functions) = ctx.state.scripting.function_counts();
            ctx.reply.bulk(b"engines");
            ctx.reply.map(1);
            ctx.reply.bulk(b"LUA");
            ctx.reply.map(2);
            ctx.reply.bulk(b"libraries_count");
            ctx.reply.int(libraries as i64);
            ctx.reply.bulk(b"functions_count");
            ctx.reply.int(functions as i64);
        }
        b"kill" => {
            scripting::kill(ctx.state, false)?;
            ctx.reply.ok();
        }
        b"help" => {
            ctx.reply.array(FUNCTION_HELP.len());
            for line in FUNCTION_HELP {
                ctx.reply.simple(line);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Redis's reply to a FUNCTION subcommand with the wrong arguments.
fn subcommand_syntax_error(sub: &[u8]) -> CmdError {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        lossy(sub)
    )
    .into()
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
fn function_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        if !with_code && eq_ignore_case(&args[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && eq_ignore_case(&args[i], "libraryname") {
            if i >= args.len() - 1 {
                return Err("ERR library name argument was not given".into());
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(format!("ERR Unknown argument {}", lossy(&args[i])).into());
        }
        i += 1;
    }
    let Some(functions) = ctx.state.scripting.functions_if_any() else {
        ctx.reply.array(0);
        return Ok(());
    };
    let libraries: Vec<_> = functions
        .libraries()
        .filter(|l| pattern.is_none_or(|p| redust_config::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let reply = &mut *ctx.reply;
    reply.array(libraries.len());
    for library in libraries {
        reply.map(if with_code { 4 } else { 3 });
        reply.bulk(b"library_name");
        reply.bulk(library.name.as_bytes());
        reply.bulk(b"engine");
        reply.bulk(b"LUA");
        reply.bulk(b"functions");
        reply.array(library.functions.len());
        for f in library.functions.values() {
            reply.map(3);
            reply.bulk(b"name");
            reply.bulk(f.name.as_bytes());
            reply.bulk(b"description");
            match &f.description {
                Some(d) => reply.bulk(d),
                None => reply.null(),
            }
            reply.bulk(b"flags");
            let names = flag_names(&f.flags);
            reply.set(names.len());
            for n in names {
                reply.simple(n);
            }
        }
        if with_code {
            reply.bulk(b"library_code");
            reply.bulk(&library.code);
        }
    }
    Ok(())
}
