//! Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT and CLIENT.

use crate::args::{eq_ignore_case, lossy, parse_i64};
use crate::client_info::client_info_line;
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::Ctx;
use crate::state::{Client, Pause, ReplyMode, State};
use bytes::Bytes;

/// The Redis version this server is compatible with, as clients see it.
pub use redust_resp::REDIS_VERSION;

pub fn ping(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(errors::wrong_args("ping"));
    }
    if ctx.client.in_pubsub_context() {
        ctx.reply.array(2);
        ctx.reply.bulk(b"pong");
        ctx.reply.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
    } else if let Some(msg) = args.get(1) {
        ctx.reply.bulk(msg);
    } else {
        ctx.reply.simple("PONG");
    }
    Ok(())
}

pub fn echo(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.reply.bulk(&args[1]);
    Ok(())
}

pub fn quit(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.reply.ok();
    Ok(())
}

/// Logs the client in as `user` when the password fits (Redis's
/// `ACLAuthenticateUser`); a failure is logged in the ACL log. `command` is
/// the command as typed (the log's object).
pub fn log_in(ctx: &mut Ctx, user: &[u8], password: &[u8], command: &[u8]) -> CmdResult {
    if ctx.state.acl.authenticate(user, password) {
        ctx.client.user = Some(user.to_vec());
        ctx.client.authenticated = true;
        Ok(())
    } else {
        crate::acl::log_auth_failure(ctx.state, ctx.client, user, command);
        Err(errors::WRONGPASS.into())
    }
}

pub fn auth(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let (user, pass) = if args.len() == 3 {
        (&args[1][..], &args[2][..])
    } else {
        (&b"default"[..], &args[1][..])
    };
    if args.len() == 2 && ctx.state.acl.default_user().nopass {
        return Err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?".into());
    }
    log_in(ctx, user, pass, &args[0])?;
    ctx.reply.ok();
    Ok(())
}

fn validate_client_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(
            "ERR Client names cannot contain spaces, newlines or special characters.".into(),
        );
    }
    Ok(())
}

pub fn hello(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut version = if ctx.client.resp3 { 3 } else { 2 };
    let mut i = 1;
    if args.len() >= 2 {
        let v = parse_i64(&args[1]).map_err(|_| {
            CmdError::from("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err("NOPROTO unsupported protocol version".into());
        }
        version = v;
        i = 2;
    }
    let mut name = None;
    let mut login = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ignore_case(&args[i], "auth") && more >= 2 {
            login = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if eq_ignore_case(&args[i], "setname") && more >= 1 {
            validate_client_name(&args[i + 1])?;
            name = Some(args[i + 1].to_vec());
            i += 2;
        } else {
            return Err(format!("ERR Syntax error in HELLO option '{}'", lossy(&args[i])).into());
        }
    }
    match login {
        Some((user, pass)) => log_in(ctx, &user, &pass, &args[0])?,
        None if !ctx.client.authenticated => {
            return Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into());
        }
        None => {}
    }
    if let Some(n) = name {
        ctx.client.name = if n.is_empty() { None } else { Some(n) };
    }
    set_protocol(ctx, version == 3);
    // A Sentinel has no role field.
    let sentinel = ctx.state.sentinel.is_some();
    ctx.reply.map(if sentinel { 6 } else { 7 });
    ctx.reply.bulk(b"server");
    ctx.reply.bulk(b"redis");
    ctx.reply.bulk(b"version");
    ctx.reply.bulk(REDIS_VERSION.as_bytes());
    ctx.reply.bulk(b"proto");
    ctx.reply.int(version);
    ctx.reply.bulk(b"id");
    ctx.reply.int(ctx.client.id as i64);
    ctx.reply.bulk(b"mode");
    if sentinel {
        ctx.reply.bulk(b"sentinel");
    } else {
        let mode: &[u8] = if ctx.state.cluster.is_some() {
            b"cluster"
        } else {
            b"standalone"
        };
        ctx.reply.bulk(mode);
        ctx.reply.bulk(b"role");
        let role: &[u8] = if ctx.state.repl.master.is_some() {
            b"replica"
        } else {
            b"master"
        };
        ctx.reply.bulk(role);
    }
    ctx.reply.bulk(b"modules");
    ctx.reply.array(0);
    Ok(())
}

fn set_protocol(ctx: &mut Ctx, resp3: bool) {
    ctx.client.resp3 = resp3;
    ctx.reply.resp3 = resp3;
    if let Some(h) = ctx.state.clients.handles.get_mut(&ctx.client.id) {
        h.1 = resp3;
    }
}

pub fn select(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = parse_i64(&args[1])?;
    if ctx.state.config.cluster_enabled && n != 0 {
        return Err("ERR SELECT is not allowed in cluster mode".into());
    }
    if n < 0 || n as usize >= ctx.state.dbs.len() {
        return Err(errors::DB_OUT_OF_RANGE.into());
    }
    ctx.client.db = n as usize;
    ctx.reply.ok();
    Ok(())
}

pub fn reset(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.client.multi = None;
    ctx.client.multi_error = false;
    crate::notify::unwatch_all(ctx.state, ctx.client);
    crate::pubsub::unsubscribe_all(ctx.state, ctx.client);
    ctx.state.clients.monitors.retain(|&id| id != ctx.client.id);
    ctx.client.monitor = false;
    ctx.client.db = 0;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    ctx.client.name = None;
    ctx.client.user = Some(b"default".to_vec());
    ctx.client.authenticated = !ctx.state.acl.auth_required();
    set_protocol(ctx, false);
    ctx.reply.simple("RESET");
    Ok(())
}

/// Every connected client, in id order, the executing one included.
fn all_clients<'a>(state: &'a State, me: &'a Client) -> Vec<&'a Client> {
    // Clients already killed are on their way out: Redis frees them at once.
    let mut list: Vec<&Client> = state
        .clients
        .values()
        .map(|b| &**b)
        .filter(|c| !c.push.killed.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    list.push(me);
    list.sort_by_key(|c| c.id);
    list
}

fn client_type(c: &Client) -> &'static str {
    if c.repl.is_master {
        "master"
    } else if c.repl.is_replica && !c.monitor {
        "replica"
    } else if c.subscription_count() > 0 {
        "pubsub"
    } else {
        "normal"
    }
}

fn parse_client_type(arg: &[u8]) -> Result<&'static str, CmdError> {
    let t = arg.to_ascii_lowercase();
    Ok(match t.as_slice() {
        b"normal" => "normal",
        b"pubsub" => "pubsub",
        b"master" => "master",
        b"replica" | b"slave" => "replica",
        _ => return Err(format!("ERR Unknown client type '{}'", lossy(arg)).into()),
    })
}

pub fn client(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"id" => ctx.reply.int(ctx.client.id as i64),
        b"setname" => {
            validate_client_name(&args[2])?;
            ctx.client.name = if args[2].is_empty() {
                None
            } else {
                Some(args[2].to_vec())
            };
            ctx.reply.ok();
        }
        b"getname" => match &ctx.client.name {
            Some(n) => {
                let n = n.clone();
                ctx.reply.bulk(&n)
            }
            None => ctx.reply.null(),
        },
        b"info" => {
            let line = client_info_line(ctx.state, ctx.client) + "\n";
            ctx.reply.verbatim(line.as_bytes());
        }
        b"list" => client_list(ctx, args)?,
        b"kill" => client_kill(ctx, args)?,
        b"unblock" if args.len() == 3 || args.len() == 4 => {
            let with_error = match args.get(3) {
                None => false,
                Some(a) if eq_ignore_case(a, "timeout") => false,
                Some(a) if eq_ignore_case(a, "error") => true,
                Some(_) => {
                    return Err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into())
                }
            };
            let id = parse_i64(&args[2])?;
            let done =
                id >= 0 && crate::blocking::unblock_by_request(ctx.state, id as u64, with_error);
            ctx.reply.int(done as i64);
        }
        b"unblock" => {
            return Err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                lossy(&args[1])
            )
            .into())
        }
        b"pause" => {
            let ms =
                parse_i64(&args[2]).map_err(|_| CmdError::from(errors::TIMEOUT_NOT_INTEGER))?;
            if ms < 0 {
                return Err(errors::TIMEOUT_NEGATIVE.into());
            }
            let writes_only = match args.get(3) {
                None => false,
                Some(a) if eq_ignore_case(a, "write") => true,
                Some(a) if eq_ignore_case(a, "all") => false,
                Some(_) => return Err("ERR CLIENT PAUSE mode must be WRITE or ALL".into()),
            };
            if args.len() > 4 {
                return Err(errors::SYNTAX.into());
            }
            let until_ms = ctx.state.now_ms.saturating_add(ms);
            // A new pause only extends the time and widens the scope, as in Redis.
            let pause = match ctx.state.pause {
                Some(p) if p.until_ms > ctx.state.now_ms => Pause {
                    until_ms: p.until_ms.max(until_ms),
                    writes_only: p.writes_only && writes_only,
                },
                _ => Pause {
                    until_ms,
                    writes_only,
                },
            };
            ctx.state.pause = Some(pause);
            ctx.reply.ok();
        }
        b"unpause" => {
            ctx.state.set_pause(None);
            ctx.reply.ok();
        }
        b"reply" => {
            let a = &args[2];
            if eq_ignore_case(a, "on") {
                ctx.client.reply_mode = ReplyMode::On;
                ctx.reply.ok();
            } else if eq_ignore_case(a, "off") {
                ctx.client.reply_mode = ReplyMode::Off;
            } else if eq_ignore_case(a, "skip") {
                if ctx.client.reply_mode == ReplyMode::On {
                    ctx.client.reply_mode = ReplyMode::SkipNext;
                }
            } else {
                return Err(errors::SYNTAX.into());
            }
        }
        b"no-evict" => {
            let a = &args[2];
            if eq_ignore_case(a, "on") {
                ctx.client.no_evict = true;
            } else if eq_ignore_case(a, "off") {
                ctx.client.no_evict = false;
            } else {
                return Err(errors::SYNTAX.into());
            }
            ctx.reply.ok();
        }
        b"help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are: ID, TYPE, USER, ADDR, LADDR, SKIPME, MAXAGE.",
                "LIST [options ...]",
                "    Return information about client connections. Options: TYPE, ID.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
                "HELP",
                "    Prints this help.",
            ];
            ctx.reply.array(lines.len());
            for l in lines {
                ctx.reply.simple(l);
            }
        }
        _ => return Err(errors::unknown_subcommand(&args[1], "client")),
    }
    Ok(())
}

fn client_list(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let mut type_filter = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if eq_ignore_case(&args[i], "type") && i + 1 < args.len() {
            type_filter = Some(parse_client_type(&args[i + 1])?);
            i += 2;
        } else if eq_ignore_case(&args[i], "id") && i + 1 < args.len() {
            let mut list = Vec::new();
            for a in &args[i + 1..] {
                let id = parse_i64(a)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(CmdError::from("ERR Invalid client ID"))?;
                list.push(id as u64);
            }
            ids = Some(list);
            i = args.len();
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    let mut out = String::new();
    for c in all_clients(ctx.state, ctx.client) {
        if type_filter.is_some_and(|t| t != client_type(c)) {
            continue;
        }
        if ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
            continue;
        }
        out.push_str(&client_info_line(ctx.state, c));
        out.push('\n');
    }
    ctx.reply.verbatim(out.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Old form: CLIENT KILL addr:port.
    if args.len() == 3 {
        let addr = lossy(&args[2]);
        let target = all_clients(ctx.state, ctx.client)
            .iter()
            .find(|c| c.addr == addr)
            .map(|c| c.id);
        let Some(id) = target else {
            return Err("ERR No such client".into());
        };
        kill_client(ctx, id);
        ctx.reply.ok();
        return Ok(());
    }
    let (mut id, mut addr, mut laddr, mut ctype, mut user, mut maxage) =
        (None, None, None, None, None, None);
    let mut skipme = true;
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(errors::SYNTAX.into());
        }
        let (opt, val) = (&args[i], &args[i + 1]);
        if eq_ignore_case(opt, "id") {
            id = Some(
                parse_i64(val)
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(CmdError::from("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if eq_ignore_case(opt, "addr") {
            addr = Some(lossy(val));
        } else if eq_ignore_case(opt, "laddr") {
            laddr = Some(lossy(val));
        } else if eq_ignore_case(opt, "type") {
            ctype = Some(parse_client_type(val)?);
        } else if eq_ignore_case(opt, "user") {
            user = Some(val.to_vec());
        } else if eq_ignore_case(opt, "maxage") {
            maxage = Some(parse_i64(val)?);
        } else if eq_ignore_case(opt, "skipme") {
            if eq_ignore_case(val, "yes") {
                skipme = true;
            } else if eq_ignore_case(val, "no") {
                skipme = false;
            } else {
                return Err(errors::SYNTAX.into());
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    if let Some(u) = &user {
        if ctx.state.acl.user(u).is_none() {
            return Err(format!("ERR No such user '{}'", lossy(u)).into());
        }
    }
    let now = ctx.state.now_ms;
    let me = ctx.client.id;
    let victims: Vec<u64> = all_clients(ctx.state, ctx.client)
        .iter()
        .filter(|c| id.is_none_or(|x| x == c.id))
        .filter(|c| addr.as_ref().is_none_or(|a| *a == c.addr))
        .filter(|c| laddr.as_ref().is_none_or(|a| *a == c.laddr))
        .filter(|c| ctype.is_none_or(|t| t == client_type(c)))
        .filter(|c| user.as_ref().is_none_or(|u| c.user.as_ref() == Some(u)))
        .filter(|c| maxage.is_none_or(|m| (now - c.created_ms) / 1000 >= m))
        .filter(|c| !(skipme && c.id == me))
        .map(|c| c.id)
        .collect();
    for &v in &victims {
        kill_client(ctx, v);
    }
    ctx.reply.int(victims.len() as i64);
    Ok(())
}

fn kill_client(ctx: &mut Ctx, id: u64) {
    if id == ctx.client.id {
        ctx.client.close_after_reply = true;
    } else if let Some((h, _)) = ctx.state.clients.handles.get(&id) {
        h.kill();
    }
}
