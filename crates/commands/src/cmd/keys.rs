//! Generic key commands: existence, deletion, renaming, expiry, iteration,
//! copying and moving between databases, flushing, OBJECT.

use crate::args::{eq_ignore_case, lossy, parse_i64, parse_i64_or};
use crate::db_ops::MaxmemoryPolicyExt;
use crate::errors::{self, CmdError, CmdResult};
use crate::exec::Ctx;
use crate::notify::{self, GENERIC};
use crate::propagate::argv;
use bytes::Bytes;
use redust_config::glob_match;
use redust_keyspace::{lru, ValueRef};

fn delete_generic(ctx: &mut Ctx, args: &[Bytes], lazy: bool) -> CmdResult {
    let mut deleted = 0;
    for key in &args[1..] {
        if ctx.delete_key_lazily(key, lazy) {
            ctx.notify(GENERIC, "del", key);
            deleted += 1;
        }
    }
    ctx.dirty(deleted as u64);
    ctx.reply.int(deleted);
    Ok(())
}

pub fn del(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = ctx.state.config.lazyfree_lazy_user_del;
    delete_generic(ctx, args, lazy)
}

pub fn unlink(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    delete_generic(ctx, args, true)
}

/// EXISTS counts without touching the keys; TOUCH counts and touches.
fn count_existing(ctx: &mut Ctx, args: &[Bytes], touch: bool) -> CmdResult {
    let mut n = 0;
    for key in &args[1..] {
        let found = if touch {
            ctx.lookup_read(key).is_some()
        } else {
            ctx.lookup_read_untouched(key).is_some()
        };
        if found {
            n += 1;
        }
    }
    ctx.reply.int(n);
    Ok(())
}

pub fn exists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    count_existing(ctx, args, false)
}

pub fn touch(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    count_existing(ctx, args, true)
}

pub fn type_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let name = ctx
        .lookup_read_untouched(&args[1])
        .map_or("none", |e| e.value().type_name());
    ctx.reply.simple(name);
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    if !ctx.exists(src) {
        return Err(errors::NO_SUCH_KEY.into());
    }
    if src == dst {
        if nx {
            ctx.reply.int(0);
        } else {
            ctx.reply.ok();
        }
        return Ok(());
    }
    if nx && ctx.exists(dst) {
        ctx.reply.int(0);
        return Ok(());
    }
    let expire = ctx.db().expire_at(src);
    let Some(entry) = ctx.db().remove(src) else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    ctx.delete_key(dst);
    ctx.db().insert(entry.rekey(dst));
    if let Some(at) = expire {
        ctx.db().set_expire(dst, at);
    }
    ctx.modified(src);
    ctx.modified(dst);
    ctx.signal_ready(dst);
    // Redis adds the destination anew (dbAdd): the "new" event comes first.
    ctx.notify(notify::NEW, "new", dst);
    ctx.notify(GENERIC, "rename_from", src);
    ctx.notify(GENERIC, "rename_to", dst);
    ctx.dirty(1);
    if nx {
        ctx.reply.int(1);
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

pub fn rename(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, false)
}

pub fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rename_generic(ctx, args, true)
}

pub fn keys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let pattern = &args[1];
    let all = &pattern[..] == b"*";
    let now = ctx.now_ms();
    let db = ctx.db();
    let mut found = Vec::new();
    db.for_each(|k, _| {
        if all || glob_match(pattern, k, false) {
            found.push(k.to_vec());
        }
    });
    found.retain(|k| !db.is_expired(k, now));
    ctx.reply.array(found.len());
    for k in &found {
        ctx.reply.bulk(k);
    }
    Ok(())
}

/// Parses a SCAN-family cursor.
/// A SCAN-family cursor, read as Redis reads it (`strtoul`, base 10): an
/// optional sign then digits, the empty string is 0, a minus sign negates
/// modulo 2^64; anything else, or a value past u64, is an invalid cursor.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    if arg.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return Err(errors::INVALID_CURSOR.into());
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(errors::INVALID_CURSOR.into());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or(CmdError::from(errors::INVALID_CURSOR))?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

pub fn scan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&args[1])?;
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<String> = None;
    let mut i = 2;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(errors::SYNTAX.into());
        }
        let (opt, val) = (&args[i], &args[i + 1]);
        if eq_ignore_case(opt, "count") {
            let n = parse_i64(val)?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = n as usize;
        } else if eq_ignore_case(opt, "match") {
            pattern = Some(val);
        } else if eq_ignore_case(opt, "type") {
            type_filter = Some(lossy(val).to_ascii_lowercase());
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let now = ctx.now_ms();
    let db = ctx.db();
    let mut found = Vec::new();
    let next = if cursor >= redust_keyspace::SLOT_COUNT as u64 {
        0
    } else {
        db.scan(cursor, count, |k, e| {
            if pattern.is_some_and(|p| !glob_match(p, k, false)) {
                return;
            }
            if type_filter
                .as_deref()
                .is_some_and(|t| t != e.value().type_name())
            {
                return;
            }
            found.push(k.to_vec());
        })
    };
    // Expired keys are deleted on the way, as Redis's SCAN does.
    let mut live = Vec::with_capacity(found.len());
    for k in found {
        if !ctx.db().expire_if_needed(&k, now) {
            live.push(k);
        }
    }
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(live.len());
    for k in &live {
        ctx.reply.bulk(k);
    }
    Ok(())
}

pub fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let now = ctx.now_ms();
    for _ in 0..100 {
        let state = &mut *ctx.state;
        let db = &state.dbs[ctx.client.db];
        let Some(key) = db.random_key(&mut state.rng).map(|k| k.to_vec()) else {
            ctx.reply.null();
            return Ok(());
        };
        if !ctx.db().expire_if_needed(&key, now) {
            ctx.reply.bulk(&key);
            return Ok(());
        }
    }
    ctx.reply.null();
    Ok(())
}

pub fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.reply.int(n as i64);
    Ok(())
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT.
fn expire_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    unit_secs: bool,
    absolute: bool,
    command: &str,
) -> CmdResult {
    let key = &args[1];
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if eq_ignore_case(opt, "nx") {
            nx = true;
        } else if eq_ignore_case(opt, "xx") {
            xx = true;
        } else if eq_ignore_case(opt, "gt") {
            gt = true;
        } else if eq_ignore_case(opt, "lt") {
            lt = true;
        } else {
            return Err(format!("ERR Unsupported option {}", lossy(opt)).into());
        }
    }
    if nx && (xx || gt || lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if gt && lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    // The flags are checked before the number, as in Redis.
    let mut when = parse_i64(&args[2])?;
    if unit_secs {
        when = when
            .checked_mul(1000)
            .ok_or_else(|| errors::invalid_expire(command))?;
    }
    if !absolute {
        when = when
            .checked_add(ctx.now_ms())
            .ok_or_else(|| errors::invalid_expire(command))?;
    }
    if !ctx.exists(key) {
        ctx.reply.int(0);
        return Ok(());
    }
    let current = ctx.db().expire_at(key);
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c));
    if refused {
        ctx.reply.int(0);
        return Ok(());
    }
    if when <= ctx.now_ms() {
        ctx.delete_key(key);
        ctx.notify(GENERIC, "del", key);
        let verb = crate::propagate::deletion_verb(ctx.state.config.lazyfree_lazy_expire);
        ctx.propagate(argv(&[verb, key]));
    } else {
        ctx.db().set_expire(key, when);
        ctx.modified(key);
        ctx.notify(GENERIC, "expire", key);
        // As Redis rewrites it: PEXPIREAT with the absolute time, the options
        // kept (PEXPIREAT itself goes out as it came).
        let mut replay = args.to_vec();
        if command != "pexpireat" {
            replay[0] = Bytes::from_static(b"PEXPIREAT");
            replay[2] = Bytes::from(when.to_string());
        }
        ctx.propagate(replay);
    }
    ctx.dirty(1);
    ctx.reply.int(1);
    Ok(())
}

pub fn expire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, false, "expire")
}

pub fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpire")
}

pub fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, true, true, "expireat")
}

pub fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    expire_generic(ctx, args, false, true, "pexpireat")
}

fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], in_ms: bool, absolute: bool) -> CmdResult {
    let key = &args[1];
    if ctx.lookup_read_untouched(key).is_none() {
        ctx.reply.int(-2);
        return Ok(());
    }
    let Some(at) = ctx.db().expire_at(key) else {
        ctx.reply.int(-1);
        return Ok(());
    };
    let ttl = if absolute {
        at
    } else {
        (at - ctx.now_ms()).max(0)
    };
    // Rounded to the nearest second without overflowing near i64::MAX
    // (Redis answers 9223372036854776 for PXAT 9223372036854775807).
    let secs = ((ttl as i128 + 500) / 1000) as i64;
    ctx.reply.int(if in_ms { ttl } else { secs });
    Ok(())
}

pub fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

pub fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

pub fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

pub fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

pub fn persist(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if ctx.lookup_write(key).is_some() && ctx.db().persist(key) {
        ctx.modified(key);
        ctx.notify(GENERIC, "persist", key);
        ctx.dirty(1);
        ctx.reply.int(1);
    } else {
        ctx.reply.int(0);
    }
    Ok(())
}

fn parse_db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, CmdError> {
    let n = parse_i64(arg)?;
    if n < 0 || n as usize >= ctx.state.dbs.len() {
        return Err(errors::DB_OUT_OF_RANGE.into());
    }
    Ok(n as usize)
}

pub fn copy(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst) = (&args[1], &args[2]);
    let mut target_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ignore_case(&args[i], "replace") {
            replace = true;
        } else if eq_ignore_case(&args[i], "db") && i + 1 < args.len() {
            i += 1;
            target_db = parse_db_index(ctx, &args[i])?;
            if ctx.state.config.cluster_enabled && target_db != 0 {
                return Err(
                    "ERR Copying to another database is not allowed in cluster mode".into(),
                );
            }
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if src == dst && target_db == ctx.client.db {
        return Err(errors::SAME_SOURCE_AND_DESTINATION.into());
    }
    let Some(entry) = ctx
        .lookup_read(src)
        .map(|e| redust_keyspace::Entry::new(dst, e.value().to_value(), e.lru()))
    else {
        ctx.reply.int(0);
        return Ok(());
    };
    let expire = ctx.db().expire_at(src);
    let now = ctx.now_ms();
    let target = &mut ctx.state.dbs[target_db];
    if target.contains(dst, now) {
        if !replace {
            ctx.reply.int(0);
            return Ok(());
        }
        target.remove(dst);
    }
    target.insert(entry);
    if let Some(at) = expire {
        target.set_expire(dst, at);
    }
    notify::signal_modified(ctx.state, target_db, dst);
    crate::blocking::signal_ready(ctx.state, target_db, dst);
    // Events before the reply (a subscriber that is this client gets them first).
    ctx.publishing(|state| {
        notify::notify(state, notify::NEW, "new", dst, target_db);
        notify::notify(state, GENERIC, "copy_to", dst, target_db);
    });
    notify::flush_expired(ctx.state);
    ctx.dirty(1);
    ctx.reply.int(1);
    Ok(())
}

pub fn move_(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.config.cluster_enabled {
        return Err("ERR MOVE is not allowed in cluster mode".into());
    }
    let key = &args[1];
    let target_db = parse_db_index(ctx, &args[2])?;
    let src_db = ctx.client.db;
    if target_db == src_db {
        return Err(errors::SAME_SOURCE_AND_DESTINATION.into());
    }
    if ctx.lookup_write(key).is_none() {
        ctx.reply.int(0);
        return Ok(());
    }
    let now = ctx.now_ms();
    if ctx.state.dbs[target_db].contains(key, now) {
        ctx.reply.int(0);
        return Ok(());
    }
    let expire = ctx.db().expire_at(key);
    let Some(entry) = ctx.db().remove(key) else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    let target = &mut ctx.state.dbs[target_db];
    target.insert(entry);
    if let Some(at) = expire {
        target.set_expire(key, at);
    }
    notify::signal_modified(ctx.state, src_db, key);
    notify::signal_modified(ctx.state, target_db, key);
    crate::blocking::signal_ready(ctx.state, target_db, key);
    ctx.publishing(|state| {
        notify::notify(state, notify::NEW, "new", key, target_db);
        notify::notify(state, GENERIC, "move_from", key, src_db);
        notify::notify(state, GENERIC, "move_to", key, target_db);
    });
    notify::flush_expired(ctx.state);
    ctx.dirty(1);
    ctx.reply.int(1);
    Ok(())
}

pub fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.state.config.cluster_enabled {
        return Err("ERR SWAPDB is not allowed in cluster mode".into());
    }
    let a = parse_i64_or(&args[1], "ERR invalid first DB index")?;
    let b = parse_i64_or(&args[2], "ERR invalid second DB index")?;
    let n = ctx.state.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(errors::DB_OUT_OF_RANGE.into());
    }
    if a != b {
        notify::signal_db_replaced(ctx.state, a as usize, Some(b as usize));
        notify::signal_db_replaced(ctx.state, b as usize, Some(a as usize));
        ctx.state.dbs.swap(a as usize, b as usize);
        // Clients blocked in either database wait on its index: the keys they
        // wait for may exist now (Redis's scanDatabaseForReadyKeys).
        let present: Vec<(usize, Vec<u8>)> = ctx
            .state
            .blocking
            .blocking_keys
            .keys()
            .filter(|(db, _)| *db == a as usize || *db == b as usize)
            .filter(|(db, key)| ctx.state.dbs[*db].peek(key).is_some())
            .cloned()
            .collect();
        for (db, key) in present {
            crate::blocking::signal_ready(ctx.state, db, &key);
        }
    }
    ctx.dirty(1); // even SWAPDB n n replicates, as in Redis
    ctx.reply.ok();
    Ok(())
}

/// Whether FLUSHALL/FLUSHDB frees asynchronously: ASYNC, or no argument with
/// `lazyfree-lazy-user-flush`.
fn parse_flush_mode(ctx: &Ctx, args: &[Bytes]) -> Result<bool, CmdError> {
    match args.get(1) {
        None => Ok(ctx.state.config.lazyfree_lazy_user_flush),
        Some(a) if args.len() == 2 && eq_ignore_case(a, "async") => Ok(true),
        Some(a) if args.len() == 2 && eq_ignore_case(a, "sync") => Ok(false),
        _ => Err(errors::SYNTAX.into()),
    }
}

pub fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = parse_flush_mode(ctx, args)?;
    let removed = ctx.db().len() as u64;
    crate::lazyfree::db_flushed(ctx.state, removed, lazy);
    notify::signal_flushed(ctx.state, Some(ctx.client.db));
    ctx.db().clear();
    ctx.dirty(removed + 1);
    ctx.reply.ok();
    Ok(())
}

pub fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let lazy = parse_flush_mode(ctx, args)?;
    notify::signal_flushed(ctx.state, None);
    let mut removed = 0u64;
    for db in ctx.state.dbs.iter_mut() {
        removed += db.len() as u64;
        db.clear();
    }
    crate::lazyfree::db_flushed(ctx.state, removed, lazy);
    ctx.dirty(removed + 1);
    ctx.reply.ok();
    Ok(())
}

const LFU_NOTE: &str =
    "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

pub fn object(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    if sub == b"help" {
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ];
        ctx.reply.array(lines.len());
        for l in lines {
            ctx.reply.simple(l);
        }
        return Ok(());
    }
    let key = &args[2];
    let now = ctx.now_ms();
    let lfu = ctx.state.config.maxmemory_policy.is_lfu();
    let maxmemory = ctx.state.config.maxmemory;
    let decay = ctx.state.config.lfu_decay_time;
    let Some(entry) = ctx.db().get(key, now).cloned() else {
        notify::flush_expired(ctx.state);
        ctx.reply.null();
        return Ok(());
    };
    match sub.as_slice() {
        b"encoding" => ctx.reply.bulk(entry.value().encoding_name().as_bytes()),
        b"refcount" => {
            // Small integers are shared objects in Redis unless an LRU/LFU policy needs per-key clocks.
            let shared = matches!(entry.value(), ValueRef::Int(n) if (0..10000).contains(&n))
                && (maxmemory == 0 || !ctx.state.config.maxmemory_policy.uses_clock());
            ctx.reply.int(if shared { i32::MAX as i64 } else { 1 });
        }
        b"idletime" => {
            if lfu {
                return Err(format!(
                    "ERR An LFU maxmemory policy is selected, idle time not tracked. {LFU_NOTE}"
                )
                .into());
            }
            ctx.reply
                .int((lru::lru_idle_ms(entry.lru(), now) / 1000) as i64);
        }
        b"freq" => {
            if !lfu {
                return Err(format!("ERR An LFU maxmemory policy is not selected, access frequency not tracked. {LFU_NOTE}").into());
            }
            ctx.reply
                .int(lru::lfu_decayed_counter(entry.lru(), now, decay) as i64);
        }
        _ => return Err(errors::unknown_subcommand(&args[1], "object")),
    }
    Ok(())
}
