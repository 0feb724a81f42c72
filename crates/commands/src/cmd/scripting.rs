//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
//! (LOAD, EXISTS, FLUSH, KILL, HELP). Scripts run on the engine
//! (`crate::scripting`) in the node's Lua VM (`redust-scripting`).

use crate::args::{eq_ignore_case, lossy, parse_i64};
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::Ctx;
use crate::scripting::{self, RunMode, NOSCRIPT};
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
        return Err("ERR Number of keys can't be negative".into());
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
    if read_only && flags.is_some_and(|f| !f.no_writes) {
        return Err("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    if let Some(e) = scripting::refuse_run(ctx.state, ctx.client, flags) {
        return Err(e.into());
    }
    // EVAL is not in MONITOR by its flags: it shows itself before the
    // commands it runs.
    if !ctx.state.clients.monitors.is_empty() {
        crate::monitor::feed_monitors(ctx.state, ctx.client, args);
    }
    // What the script writes is propagated as its commands, not as EVAL.
    ctx.propagate_nothing();
    let split = 3 + numkeys as usize;
    scripting::run(
        ctx,
        &sha,
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
        // A script runs to its end before any other command: none is ever
        // running when SCRIPT KILL arrives (busy scripts are not served yet).
        b"kill" => return Err("NOTBUSY No scripts in execution right now.".into()),
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
