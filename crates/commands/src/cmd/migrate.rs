//! MIGRATE: moves keys to another server by sending it their DUMP payloads
//! as RESTORE (RESTORE-ASKING in cluster mode), then deleting them here
//! unless COPY. As in Redis, the command blocks its node while it talks to
//! the target, bounded by its timeout.

use crate::args::{eq_ignore_case, lossy, parse_i64};
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::{Ctx, Handler};
use bytes::Bytes;
use redust_resp::{decode_frame, encode_command, Frame, FrameLimits};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub static HANDLERS: &[(&str, Handler)] = &[("migrate", migrate)];

const CONNECT_ERROR: &str = "IOERR error or timeout connecting to the client";

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key [key ...]]
pub fn migrate(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<Vec<Bytes>> = None;
    let mut keys: Vec<Bytes> = vec![args[3].clone()];
    let mut i = 6;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ignore_case(&args[i], "copy") {
            copy = true;
        } else if eq_ignore_case(&args[i], "replace") {
            replace = true;
        } else if eq_ignore_case(&args[i], "auth") {
            if more == 0 {
                return Err(errors::SYNTAX.into());
            }
            auth = Some(vec![args[i + 1].clone()]);
            i += 1;
        } else if eq_ignore_case(&args[i], "auth2") {
            if more < 2 {
                return Err(errors::SYNTAX.into());
            }
            auth = Some(vec![args[i + 1].clone(), args[i + 2].clone()]);
            i += 2;
        } else if eq_ignore_case(&args[i], "keys") {
            if !args[3].is_empty() {
                return Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string".into());
            }
            keys = args[i + 1..].to_vec();
            break;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let db = parse_i64(&args[4])?;
    let mut timeout = parse_i64(&args[5])?;
    if timeout <= 0 {
        timeout = 1000;
    }
    // Only the keys that exist go.
    let mut found: Vec<(Bytes, Vec<u8>, i64)> = Vec::new();
    for key in keys {
        if let Some(payload) = crate::cmd::persistence::dump_payload(ctx, &key)? {
            let ttl = match ctx.db().expire_at(&key) {
                Some(at) => (at - ctx.now_ms()).max(1),
                None => 0,
            };
            found.push((key, payload, ttl));
        }
    }
    if found.is_empty() {
        ctx.reply.simple("NOKEY");
        return Ok(());
    }
    let restore: &[u8] = if ctx.state.config.cluster_enabled {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    let timeout = Duration::from_millis(timeout as u64);
    let host = lossy(&args[1]);
    let port = parse_i64(&args[2])?;
    let target = format!("{host}:{port}");
    // Connections idle for 10 s are closed, as Redis's cache does.
    let now = ctx.now_ms();
    ctx.state
        .migrate_conns
        .retain(|_, c| now - c.last_use_ms <= MIGRATE_CONN_TTL_MS);
    let mut attempt = 0;
    let replies = loop {
        let cached = ctx.state.migrate_conns.remove(&target);
        let reused = cached.is_some();
        let mut conn = match cached {
            Some(c) => c,
            None => connect(&host, port, timeout)?,
        };
        let mut out = Vec::new();
        if let Some(a) = &auth {
            let mut cmd: Vec<&[u8]> = vec![b"AUTH"];
            cmd.extend(a.iter().map(|x| &x[..]));
            encode_command(&mut out, &cmd);
        }
        let select = conn.db != db;
        if select {
            let db_text = db.to_string();
            encode_command(&mut out, &[b"SELECT", db_text.as_bytes()]);
        }
        for (key, payload, ttl) in &found {
            let ttl = ttl.to_string();
            let mut cmd: Vec<&[u8]> = vec![restore, key, ttl.as_bytes(), payload];
            if replace {
                cmd.push(b"REPLACE");
            }
            encode_command(&mut out, &cmd);
        }
        let count = usize::from(auth.is_some()) + usize::from(select) + found.len();
        match exchange(&mut conn.stream, &out, count) {
            Ok(replies) => {
                conn.db = db;
                conn.last_use_ms = now;
                if ctx.state.migrate_conns.len() < MIGRATE_CONN_MAX {
                    ctx.state.migrate_conns.insert(target.clone(), conn);
                }
                break (replies, select);
            }
            // A cached connection may have been closed by the target: one
            // more try on a new one.
            Err(_) if reused && attempt == 0 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let (replies, selected) = replies;
    let mut replies = replies.into_iter();
    let target_error = |f: &Frame| match f {
        Frame::Error(e) => Some(CmdError::from(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(e)
        ))),
        _ => None,
    };
    if auth.is_some() {
        if let Some(e) = replies.next().as_ref().and_then(target_error) {
            return Err(e);
        }
    }
    if selected {
        if let Some(e) = replies.next().as_ref().and_then(target_error) {
            return Err(e);
        }
    }
    let mut first_error = None;
    let mut moved = Vec::new();
    for ((key, _, _), reply) in found.iter().zip(replies) {
        match target_error(&reply) {
            Some(e) => {
                first_error.get_or_insert(e);
            }
            None if !copy => moved.push(key.clone()),
            None => {}
        }
    }
    for key in &moved {
        if ctx.delete_key(key) {
            ctx.notify(crate::notify::GENERIC, "del", key);
            ctx.dirty(1);
        }
    }
    // What happened here replays as the deletions.
    if moved.is_empty() {
        ctx.propagate_nothing();
    } else {
        let mut del = vec![Bytes::from_static(b"DEL")];
        del.extend(moved);
        ctx.propagate(del);
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            ctx.reply.ok();
            Ok(())
        }
    }
}

/// How long an idle MIGRATE connection is kept, and how many at most.
const MIGRATE_CONN_TTL_MS: i64 = 10_000;
const MIGRATE_CONN_MAX: usize = 64;

fn connect(
    host: &str,
    port: i64,
    timeout: Duration,
) -> Result<crate::state::MigrateConn, CmdError> {
    let addr = u16::try_from(port)
        .ok()
        .and_then(|p| (host, p).to_socket_addrs().ok()?.next())
        .ok_or_else(|| CmdError::from(CONNECT_ERROR))?;
    let stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|_| CmdError::from(CONNECT_ERROR))?;
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_read_timeout(Some(timeout));
    Ok(crate::state::MigrateConn {
        stream,
        db: -1,
        last_use_ms: 0,
    })
}

/// Sends `out` and reads `count` replies (the stream has its timeouts).
fn exchange(stream: &mut TcpStream, out: &[u8], count: usize) -> Result<Vec<Frame>, CmdError> {
    stream
        .write_all(out)
        .map_err(|_| CmdError::from("IOERR error or timeout writing to target instance"))?;
    let read_error = || CmdError::from("IOERR error or timeout reading to target instance");
    let limits = FrameLimits::default();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut replies = Vec::new();
    while replies.len() < count {
        match decode_frame(&buf, &limits) {
            Ok(Some((frame, used))) => {
                buf.drain(..used);
                replies.push(frame);
                continue;
            }
            Ok(None) => {}
            Err(_) => return Err(read_error()),
        }
        let n = stream.read(&mut chunk).map_err(|_| read_error())?;
        if n == 0 {
            return Err(read_error());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(replies)
}
