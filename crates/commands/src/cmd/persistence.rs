//! Persistence commands: SAVE, LASTSAVE, DUMP, RESTORE (and DEBUG RELOAD,
//! which lives with DEBUG).

use crate::args::{eq_ignore_case, parse_i64};
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::{Ctx, Handler};
use crate::notify::GENERIC;
use crate::persist;
use bytes::Bytes;
use redust_keyspace::lru;

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[
    ("save", save),
    ("bgsave", bgsave),
    ("bgrewriteaof", bgrewriteaof),
    ("lastsave", lastsave),
    ("dump", dump),
    ("restore", restore),
    ("restore-asking", restore),
];

pub const BGSAVE_IN_PROGRESS: &str = "ERR Background save already in progress";

pub fn save(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx.state.rdb.bgsave_running() {
        return Err(BGSAVE_IN_PROGRESS.into());
    }
    persist::save(ctx.state).map_err(|_| CmdError::from("ERR"))?;
    ctx.reply.ok();
    Ok(())
}

/// BGSAVE [SCHEDULE]: a point-in-time snapshot written while the server keeps
/// serving (see `persist::bgsave_start`).
pub fn bgsave(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // SCHEDULE only defers behind another kind of background job (an AOF
    // rewrite, which does not exist yet); behind a running BGSAVE it is an
    // error either way, as in Redis.
    match args.get(1) {
        None => {}
        Some(a) if args.len() == 2 && eq_ignore_case(a, "schedule") => {}
        Some(_) => return Err(errors::SYNTAX.into()),
    }
    if ctx.state.rdb.bgsave_running() {
        return Err(BGSAVE_IN_PROGRESS.into());
    }
    persist::bgsave_start(ctx.state).map_err(|e| CmdError::from(format!("ERR {e}")))?;
    ctx.reply.simple("Background saving started");
    Ok(())
}

/// BGREWRITEAOF: a new base for the AOF, written in the background.
pub fn bgrewriteaof(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    if ctx
        .state
        .aof
        .file
        .as_ref()
        .is_some_and(|a| a.rewriting.is_some())
    {
        return Err(errors::AOF_REWRITE_IN_PROGRESS.into());
    }
    if ctx.state.rdb.bgsave_running() {
        ctx.state.aof.rewrite_scheduled = true;
        ctx.reply
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    crate::aof::start_rewrite(ctx.state).map_err(CmdError::from)?;
    ctx.reply
        .simple("Background append only file rewriting started");
    Ok(())
}

pub fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    ctx.reply.int(ctx.state.rdb.last_save_secs);
    Ok(())
}

pub fn dump(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match dump_payload(ctx, &args[1])? {
        Some(payload) => ctx.reply.bulk(&payload),
        None => ctx.reply.null(),
    }
    Ok(())
}

/// A key's DUMP payload (`None`: no such key): the object as it is, as
/// Redis's DUMP writes it, its encoding and compression as the config says.
pub fn dump_payload(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    let Some((value, compact)) = ctx.lookup_read(key).map(|e| {
        (
            persist::value_to_rdb(e.value()),
            persist::compact_encoding(e.value()),
        )
    }) else {
        return Ok(None);
    };
    let opts = persist::writer_options(ctx.state);
    redust_persistence::dump_payload_encoded(&value, &opts, compact)
        .map(Some)
        .map_err(|e| CmdError::from(format!("ERR {e}")))
}

pub fn restore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Redis's order: the options, the key (BUSYKEY), the TTL, the payload.
    let key = &args[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let more = i + 1 < args.len();
        if eq_ignore_case(&args[i], "replace") {
            replace = true;
        } else if eq_ignore_case(&args[i], "absttl") {
            absttl = true;
        } else if eq_ignore_case(&args[i], "idletime") && more && freq.is_none() {
            let v = parse_i64(&args[i + 1])?;
            if v < 0 {
                return Err("ERR Invalid IDLETIME value, must be >= 0".into());
            }
            idle = Some(v);
            i += 1;
        } else if eq_ignore_case(&args[i], "freq") && more && idle.is_none() {
            let v = parse_i64(&args[i + 1])?;
            if !(0..=255).contains(&v) {
                return Err("ERR Invalid FREQ value, must be >= 0 and <= 255".into());
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if !replace && ctx.exists(key) {
        return Err("BUSYKEY Target key name already exists.".into());
    }
    let ttl = parse_i64(&args[2])?;
    if ttl < 0 {
        return Err("ERR Invalid TTL value, must be >= 0".into());
    }
    let verify = !ctx.state.debug.skip_checksum_validation;
    // Too short to hold a version and a checksum: Redis's verifyDumpPayload.
    if args[3].len() < 10 {
        return Err(errors::BAD_DUMP_PAYLOAD.into());
    }
    let host = ctx.state.host.clone();
    let value = redust_persistence::parse_dump_payload_checked(&args[3], verify).map_err(|e| {
        use redust_persistence::ErrorKind;
        match e.kind() {
            ErrorKind::ChecksumMismatch { .. } | ErrorKind::UnsupportedVersion(_) => {
                CmdError::from(errors::BAD_DUMP_PAYLOAD)
            }
            kind => {
                // Redis logs what it found corrupt in the payload (not a
                // short read); its offset is always 0 here, and the line
                // number is its own source's, which we cannot know.
                // (Our own checks on the payload's framing have no Redis line.)
                let framing =
                    matches!(kind, ErrorKind::Corrupt(w) if w.starts_with("DUMP payload"));
                if !framing
                    && matches!(
                        kind,
                        ErrorKind::Corrupt(_)
                            | ErrorKind::InvalidStringEncoding(_)
                            | ErrorKind::InvalidLength(_)
                            | ErrorKind::ModuleNotSupported(_)
                    )
                {
                    host.log(
                        crate::state::LogLevel::Verbose,
                        &format!(
                            "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}",
                            kind.redis_reason()
                        ),
                    );
                }
                CmdError::from("ERR Bad data format")
            }
        }
    })?;
    let expire_at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t),
        (t, false) => Some(ctx.now_ms().saturating_add(t)),
    };
    // An already expired TTL: the key just goes away, as in Redis.
    if expire_at.is_some_and(|at| at <= ctx.now_ms()) {
        if ctx.delete_key(key) {
            ctx.notify(GENERIC, "del", key);
            ctx.dirty(1);
            // Replayed as what happened: the old key went away.
            ctx.propagate(crate::propagate::argv(&[b"DEL", key]));
        } else {
            ctx.propagate_nothing();
        }
        ctx.reply.ok();
        return Ok(());
    }
    let limits = ctx.limits();
    let value = persist::rdb_to_value(value, &limits);
    let is_waited_type = matches!(
        value,
        redust_keyspace::Value::List(_) | redust_keyspace::Value::ZSet(_)
    );
    ctx.delete_key(key);
    ctx.set_key(key, value, false);
    let now = ctx.now_ms();
    if let Some(e) = ctx.db().get_mut(key, now) {
        if let Some(idle) = idle {
            e.set_lru(lru::lru_clock(now - idle.saturating_mul(1000)));
        }
        if let Some(f) = freq {
            e.set_lru((lru::lfu_init(now) & !0xFF) | f as u32);
        }
    }
    if let Some(at) = expire_at {
        ctx.db().set_expire(key, at);
        if !absttl {
            // Replayed with the absolute time.
            let mut replay = args.to_vec();
            replay[2] = Bytes::from(at.to_string());
            replay.push(Bytes::from_static(b"ABSTTL"));
            ctx.propagate(replay);
        }
    }
    if is_waited_type {
        ctx.signal_ready(key);
    }
    ctx.notify(GENERIC, "restore", key);
    ctx.dirty(1);
    ctx.reply.ok();
    Ok(())
}
