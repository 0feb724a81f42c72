//! The ACL command: users (SETUSER, GETUSER, DELUSER, USERS, LIST,
//! WHOAMI), categories (CAT), passwords (GENPASS), the log (LOG), a dry run
//! of a command (DRYRUN) and the ACL file (LOAD, SAVE). Also the users a
//! node starts with (`user` directives or `aclfile`), loaded by the server.

use crate::errors::{self, CmdError, CmdResult};
use crate::exec::{self, Ctx, Handler};
use crate::state::State;
use bytes::Bytes;
use redust_acl::{LineError, CATEGORIES};

pub static HANDLERS: &[(&str, Handler)] = &[
    ("acl|cat", acl),
    ("acl|deluser", acl),
    ("acl|dryrun", acl),
    ("acl|genpass", acl),
    ("acl|getuser", acl),
    ("acl|help", acl),
    ("acl|list", acl),
    ("acl|load", acl),
    ("acl|log", acl),
    ("acl|save", acl),
    ("acl|setuser", acl),
    ("acl|users", acl),
    ("acl|whoami", acl),
];

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

pub fn acl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let argc = args.len();
    let argc_ok = match &sub[..] {
        b"setuser" | b"deluser" => argc >= 3,
        b"getuser" => argc == 3,
        b"users" | b"whoami" | b"list" | b"load" | b"save" | b"help" => argc == 2,
        b"cat" | b"genpass" | b"log" => argc <= 3,
        b"dryrun" => argc >= 4,
        _ => true,
    };
    if !argc_ok {
        return Err(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
            String::from_utf8_lossy(&args[1])
        )
        .into());
    }
    match &sub[..] {
        b"setuser" => setuser(ctx, args),
        b"getuser" => getuser(ctx, &args[2]),
        b"deluser" => deluser(ctx, &args[2..]),
        b"users" => {
            let names: Vec<Vec<u8>> = ctx.state.acl.users().map(|u| u.name.clone()).collect();
            ctx.reply.array(names.len());
            names.iter().for_each(|n| ctx.reply.bulk(n));
            Ok(())
        }
        b"whoami" => {
            let me = ctx
                .client
                .user
                .clone()
                .unwrap_or_else(|| b"default".to_vec());
            ctx.reply.bulk(&me);
            Ok(())
        }
        b"list" => {
            let lines = ctx.state.acl.list_lines();
            ctx.reply.array(lines.len());
            lines.iter().for_each(|l| ctx.reply.bulk(l));
            Ok(())
        }
        b"cat" => cat(ctx, args.get(2)),
        b"genpass" => genpass(ctx, args.get(2)),
        b"log" => log(ctx, args.get(2)),
        b"dryrun" => dryrun(ctx, args),
        b"load" => load(ctx),
        b"save" => save(ctx),
        b"help" => {
            ctx.reply.array(HELP.len());
            HELP.iter().for_each(|l| ctx.reply.simple(l));
            Ok(())
        }
        _ => Err(errors::unknown_subcommand(&args[1], "acl")),
    }
}

fn setuser(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = &args[2];
    if !redust_acl::valid_username(name) {
        return Err("ERR Usernames can't contain spaces or null characters".into());
    }
    let rules: Vec<&[u8]> = args[3..].iter().map(|a| &a[..]).collect();
    ctx.state
        .acl
        .set_user(name, &rules)
        .map_err(|e| CmdError::from(format!("ERR {e}")))?;
    kill_subscribers_no_longer_allowed(ctx, name);
    ctx.reply.ok();
    Ok(())
}

/// A user's subscribers whose channels the user's new rules refuse are
/// disconnected (Redis's `ACLKillPubsubClientsIfNeeded`).
fn kill_subscribers_no_longer_allowed(ctx: &mut Ctx, name: &[u8]) {
    let Some(user) = ctx.state.acl.user(name) else {
        return;
    };
    let refused = |c: &crate::state::Client| {
        c.user.as_deref() == Some(name)
            && (c
                .channels
                .iter()
                .any(|ch| !user.selectors.iter().any(|s| s.allows_channel(ch, false)))
                || c.patterns
                    .iter()
                    .any(|p| !user.selectors.iter().any(|s| s.allows_channel(p, true))))
    };
    let victims: Vec<u64> = ctx
        .state
        .clients
        .values()
        .filter(|c| refused(c))
        .map(|c| c.id)
        .collect();
    if refused(ctx.client) {
        ctx.client.close_after_reply = true;
    }
    for id in victims {
        if let Some((h, _)) = ctx.state.clients.handles.get(&id) {
            h.kill();
        }
    }
}

fn getuser(ctx: &mut Ctx, name: &[u8]) -> CmdResult {
    let Some(user) = ctx.state.acl.user(name) else {
        ctx.reply.null();
        return Ok(());
    };
    let catalog = ctx.state.acl.catalog.clone();
    let user = user.clone();
    let r = &mut *ctx.reply;
    r.map(6);
    r.bulk(b"flags");
    let flags = user.flags();
    r.set(flags.len());
    flags.iter().for_each(|f| r.bulk(f.as_bytes()));
    r.bulk(b"passwords");
    r.array(user.passwords.len());
    user.passwords.iter().for_each(|p| r.bulk(p.as_bytes()));
    let describe = |r: &mut redust_resp::Reply, s: &redust_acl::Selector| {
        r.bulk(b"commands");
        r.bulk(s.describe_commands(&catalog).as_bytes());
        r.bulk(b"keys");
        r.bulk(&s.describe_keys());
        r.bulk(b"channels");
        r.bulk(&s.describe_channels());
    };
    describe(r, &user.selectors[0]);
    r.bulk(b"selectors");
    r.array(user.selectors.len() - 1);
    for s in &user.selectors[1..] {
        r.map(3);
        describe(r, s);
    }
    Ok(())
}

fn deluser(ctx: &mut Ctx, names: &[Bytes]) -> CmdResult {
    if names.iter().any(|n| &n[..] == b"default") {
        return Err("ERR The 'default' user cannot be removed".into());
    }
    let mut deleted = 0;
    for name in names {
        if ctx.state.acl.delete(name) {
            deleted += 1;
            crate::acl::kill_clients_of(ctx.state, ctx.client, name);
        }
    }
    ctx.reply.int(deleted);
    Ok(())
}

fn cat(ctx: &mut Ctx, category: Option<&Bytes>) -> CmdResult {
    let Some(category) = category else {
        ctx.reply.array(CATEGORIES.len());
        CATEGORIES.iter().for_each(|c| ctx.reply.bulk(c.as_bytes()));
        return Ok(());
    };
    let Some(bit) = redust_acl::category_bit(category) else {
        return Err(format!(
            "ERR Unknown category '{}'",
            String::from_utf8_lossy(category)
        )
        .into());
    };
    let catalog = ctx.state.acl.catalog.clone();
    let names: Vec<&str> = catalog.in_category(bit).collect();
    ctx.reply.array(names.len());
    names.iter().for_each(|n| ctx.reply.bulk(n.as_bytes()));
    Ok(())
}

fn genpass(ctx: &mut Ctx, bits: Option<&Bytes>) -> CmdResult {
    const ERR: &str = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096";
    let bits = match bits {
        None => 256,
        Some(b) => crate::args::parse_i64(b)?,
    };
    if !(1..=4096).contains(&bits) {
        return Err(ERR.into());
    }
    let chars = (bits as usize).div_ceil(4);
    let mut random = vec![0u8; chars.div_ceil(2)];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    ctx.reply.bulk(&hex.as_bytes()[..chars]);
    Ok(())
}

fn log(ctx: &mut Ctx, arg: Option<&Bytes>) -> CmdResult {
    let count = match arg {
        Some(a) if a.eq_ignore_ascii_case(b"reset") => {
            ctx.state.acl.log.reset();
            ctx.reply.ok();
            return Ok(());
        }
        Some(a) => crate::args::parse_i64(a)?.max(0) as usize,
        None => 10,
    };
    let now = ctx.state.now_ms;
    let entries: Vec<redust_acl::LogEntry> =
        ctx.state.acl.log.entries().take(count).cloned().collect();
    let r = &mut *ctx.reply;
    r.array(entries.len());
    for e in entries {
        r.map(7);
        r.bulk(b"count");
        r.int(e.count as i64);
        r.bulk(b"reason");
        r.bulk(e.reason.as_str().as_bytes());
        r.bulk(b"context");
        r.bulk(e.context.as_str().as_bytes());
        r.bulk(b"object");
        r.bulk(&e.object);
        r.bulk(b"username");
        r.bulk(&e.username);
        r.bulk(b"age-seconds");
        r.double((now - e.time_ms).max(0) as f64 / 1000.0);
        r.bulk(b"client-info");
        r.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = &args[2];
    if ctx.state.acl.user(name).is_none() {
        return Err(format!("ERR User '{}' not found", String::from_utf8_lossy(name)).into());
    }
    let line = &args[3..];
    let table = ctx.state.commands.clone();
    let command = match exec::resolve(&table, line) {
        Ok(c) => c,
        Err(e) if e.0.contains("wrong number of arguments") => return Err(e),
        Err(_) => {
            return Err(format!(
                "ERR Command '{}' not found",
                String::from_utf8_lossy(&line[0])
            )
            .into())
        }
    };
    match crate::acl::check(ctx.state, Some(name), command, line) {
        Ok(()) => ctx.reply.ok(),
        Err(denied) => {
            let text = crate::acl::dry_run_text(denied, command, line);
            ctx.reply.bulk(text.as_bytes());
        }
    }
    Ok(())
}

fn load(ctx: &mut Ctx) -> CmdResult {
    let file = ctx.state.config.aclfile.clone();
    if file.is_empty() {
        return Err(NO_ACL_FILE.into());
    }
    let users = load_file(&ctx.state.acl, &file).map_err(|e| CmdError::from(format!("ERR {e}")))?;
    // Every client logged in as a user of the old set is disconnected, as
    // Redis 7.0 does (the default user's clients stay).
    let others: Vec<Vec<u8>> = ctx
        .state
        .acl
        .users()
        .filter(|u| u.name != b"default")
        .map(|u| u.name.clone())
        .collect();
    ctx.state.acl.replace_users(users);
    for name in others {
        crate::acl::kill_clients_of(ctx.state, ctx.client, &name);
    }
    ctx.reply.ok();
    Ok(())
}

/// The users an ACL file describes; `Err` is the report of its problems.
pub fn load_file(acl: &redust_acl::Acl, file: &str) -> Result<redust_acl::Users, String> {
    let text = std::fs::read(file).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{file}': {}",
            redust_config::strerror(&e)
        )
    })?;
    acl.users_from_file(file, &text)
}

fn save(ctx: &mut Ctx) -> CmdResult {
    let file = ctx.state.config.aclfile.clone();
    if file.is_empty() {
        return Err(NO_ACL_FILE.into());
    }
    let mut text = Vec::new();
    for line in ctx.state.acl.list_lines() {
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    match write_atomically(&file, &text) {
        Ok(()) => {
            ctx.reply.ok();
            Ok(())
        }
        Err(e) => {
            ctx.state
                .log_warning(&format!("Opening temp ACL file for ACL SAVE: {e}"));
            Err("ERR There was an error trying to save the ACLs. Please check the server logs for more information".into())
        }
    }
}

/// Writes `file` through a temp file in the same directory: write, fsync,
/// rename, so that a crash leaves the old file or the new one.
fn write_atomically(file: &str, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = format!("{file}.tmp-{}", std::process::id());
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The users a node starts with: the config's `user` directives, or its
/// `aclfile` (not both). `Err` is why the server must not start.
pub fn load_startup_users(state: &mut State) -> Result<(), String> {
    let lines = state.config.users.clone();
    let file = state.config.aclfile.clone();
    if !lines.is_empty() && !file.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    if !file.is_empty() {
        let users = load_file(&state.acl, &file)?;
        state.acl.replace_users(users);
        return Ok(());
    }
    if lines.is_empty() {
        return Ok(());
    }
    let numbered: Vec<(usize, Vec<Vec<u8>>)> = lines
        .iter()
        .enumerate()
        .map(|(i, words)| (i + 1, words.iter().map(|w| w.as_bytes().to_vec()).collect()))
        .collect();
    let (mut users, errors) = state.acl.users_from_lines(&numbered, true);
    if let Some((_, error)) = errors.into_iter().next() {
        return Err(match error {
            LineError::Rule { user, op, error } => {
                format!("Error loading ACL rule '{op}' for the user named '{user}': {error}")
            }
            LineError::Duplicate(name) => format!("Duplicate user '{name}' found"),
            LineError::BadName => "Usernames can't contain spaces or null characters".into(),
            LineError::Unmatched(at) => {
                format!("Unmatched parenthesis in acl selector starting at '{at}'.")
            }
        });
    }
    // `requirepass` applies unless a `user default` line says otherwise.
    if !lines
        .iter()
        .any(|w| w.first().is_some_and(|n| n == "default"))
    {
        if let Some(d) = users.get_mut(&b"default"[..]) {
            *d = state.acl.default_user().clone();
        }
    }
    state.acl.replace_users(users);
    Ok(())
}
