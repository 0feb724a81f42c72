//! Hash commands: HSET HGET HDEL HINCRBY HRANDFIELD HSCAN and the rest of the hash family.

use crate::args::{eq_ignore_case, parse_i64, parse_i64_or};
use crate::cmd::keys::parse_cursor;
use crate::errors::{self, CmdError, CmdResult, WRONGTYPE};
use crate::exec::{Ctx, Handler};
use crate::long_double::LongDouble;
use crate::notify::HASH;
use crate::propagate::argv;
use crate::state::State;
use bytes::Bytes;
use rand::{Rng, SeedableRng};
use redust_config::glob_match;
use redust_keyspace::{HashValue, Value, ValueMut, ValueRef};

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hgetall", hgetall),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

/// The hash at `key` for writing: `Ok(None)` if missing, WRONGTYPE otherwise.
fn hash_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut HashValue>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            ValueMut::Hash(h) => Ok(Some(h)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// Looks `key` up for reading (hits/misses, lazy expiry): true if it holds a
/// hash, false if missing, WRONGTYPE otherwise. Read it then with `peek_hash`,
/// which borrows only the state, so the reply can be written meanwhile.
fn check_read(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.lookup_read(key) {
        None => Ok(false),
        Some(e) => match e.value() {
            ValueRef::Hash(_) => Ok(true),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// The hash at `key`, after `check_read` said it exists.
fn peek_hash<'s>(state: &'s State, db: usize, key: &[u8]) -> Option<&'s HashValue> {
    match state.dbs[db].peek(key).map(|e| e.value()) {
        Some(ValueRef::Hash(h)) => Some(h),
        _ => None,
    }
}

/// Runs `f` on the hash at `key`, creating the key (stored only if `f` left
/// it non-empty) when it is missing. The caller signals the change.
fn update_or_create<R>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&mut HashValue) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    match hash_mut(ctx, key)? {
        Some(h) => {
            let r = f(h);
            h.shrink_to_fit();
            r
        }
        None => {
            let mut h = HashValue::new();
            let r = f(&mut h)?;
            h.shrink_to_fit();
            if !h.is_empty() {
                ctx.set_key(key, Value::Hash(h), false);
            }
            Ok(r)
        }
    }
}

fn hset_generic(ctx: &mut Ctx, args: &[Bytes], name: &str) -> Result<usize, CmdError> {
    if args.len() % 2 == 1 {
        return Err(errors::wrong_args(name));
    }
    let key = &args[1];
    let limits = ctx.limits();
    let created = update_or_create(ctx, key, |h| {
        Ok(args[2..]
            .chunks_exact(2)
            .filter(|pair| h.set(&pair[0], &pair[1], &limits))
            .count())
    })?;
    ctx.modified(key);
    ctx.notify(HASH, "hset", key);
    ctx.dirty((args.len() as u64 - 2) / 2);
    Ok(created)
}

pub fn hset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let created = hset_generic(ctx, args, "hset")?;
    ctx.reply.int(created as i64);
    Ok(())
}

pub fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    hset_generic(ctx, args, "hmset")?;
    ctx.reply.ok();
    Ok(())
}

pub fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, field, value) = (&args[1], &args[2], &args[3]);
    let limits = ctx.limits();
    let set = update_or_create(ctx, key, |h| {
        // An existing field leaves the hash (and its encoding) untouched.
        Ok(!h.contains(field) && h.set(field, value, &limits))
    })?;
    if set {
        ctx.modified(key);
        ctx.notify(HASH, "hset", key);
        ctx.dirty(1);
    }
    ctx.reply.int(set as i64);
    Ok(())
}

pub fn hget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if !check_read(ctx, key)? {
        ctx.reply.null();
        return Ok(());
    }
    match peek_hash(ctx.state, ctx.client.db, key).and_then(|h| h.get(&args[2])) {
        Some(v) => ctx.reply.bulk(v),
        None => ctx.reply.null(),
    }
    Ok(())
}

pub fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let exists = check_read(ctx, key)?;
    let fields = &args[2..];
    ctx.reply.array(fields.len());
    let h = if exists {
        peek_hash(ctx.state, ctx.client.db, key)
    } else {
        None
    };
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

pub fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let Some(h) = hash_mut(ctx, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for f in &args[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    h.shrink_to_fit();
    let emptied = h.is_empty();
    ctx.removed_elements(key, HASH, "hdel", deleted, emptied);
    ctx.reply.int(deleted as i64);
    Ok(())
}

pub fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let n = if check_read(ctx, key)? {
        peek_hash(ctx.state, ctx.client.db, key).map_or(0, |h| h.len())
    } else {
        0
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let n = if check_read(ctx, key)? {
        peek_hash(ctx.state, ctx.client.db, key)
            .and_then(|h| h.get(&args[2]))
            .map_or(0, |v| v.len())
    } else {
        0
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let found = check_read(ctx, key)?
        && peek_hash(ctx.state, ctx.client.db, key).is_some_and(|h| h.contains(&args[2]));
    ctx.reply.int(found as i64);
    Ok(())
}

/// HKEYS, HVALS and HGETALL: fields and/or values.
fn getall(ctx: &mut Ctx, key: &[u8], fields: bool, values: bool) -> CmdResult {
    let exists = check_read(ctx, key)?;
    let h = if exists {
        peek_hash(ctx.state, ctx.client.db, key)
    } else {
        None
    };
    let len = h.map_or(0, |h| h.len());
    if fields && values {
        ctx.reply.map(len);
    } else {
        ctx.reply.array(len);
    }
    if let Some(h) = h {
        for (f, v) in h.iter() {
            if fields {
                ctx.reply.bulk(f);
            }
            if values {
                ctx.reply.bulk(v);
            }
        }
    }
    Ok(())
}

pub fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    getall(ctx, &args[1], true, false)
}

pub fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    getall(ctx, &args[1], false, true)
}

pub fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    getall(ctx, &args[1], true, true)
}

pub fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, field) = (&args[1], &args[2]);
    let incr = parse_i64(&args[3])?;
    let limits = ctx.limits();
    let new = update_or_create(ctx, key, |h| {
        let current = match h.get(field) {
            Some(v) => parse_i64_or(v, "ERR hash value is not an integer")?,
            None => 0,
        };
        let new = current
            .checked_add(incr)
            .ok_or(CmdError::from(errors::OVERFLOW))?;
        h.set(field, itoa::Buffer::new().format(new).as_bytes(), &limits);
        Ok(new)
    })?;
    ctx.modified(key);
    ctx.notify(HASH, "hincrby", key);
    ctx.dirty(1);
    ctx.reply.int(new);
    Ok(())
}

pub fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (key, field) = (&args[1], &args[2]);
    let incr = LongDouble::parse(&args[3]).ok_or(CmdError::from(errors::NOT_FLOAT))?;
    if !incr.is_finite() {
        return Err("ERR value is NaN or Infinity".into());
    }
    let limits = ctx.limits();
    let text = update_or_create(ctx, key, |h| {
        let current = match h.get(field) {
            Some(v) => {
                LongDouble::parse(v).ok_or(CmdError::from("ERR hash value is not a float"))?
            }
            None => LongDouble::from_i64(0),
        };
        let new = current + incr;
        if !new.is_finite() {
            return Err(errors::INCR_NAN_OR_INFINITY.into());
        }
        let text = new.to_human();
        h.set(field, text.as_bytes(), &limits);
        Ok(text)
    })?;
    ctx.modified(key);
    ctx.notify(HASH, "hincrbyfloat", key);
    ctx.dirty(1);
    // Replayed as HSET of the result, so every copy agrees on the value.
    ctx.propagate(argv(&[b"HSET", key, field, text.as_bytes()]));
    ctx.reply.bulk(text.as_bytes());
    Ok(())
}

/// A count argument of HRANDFIELD / SRANDMEMBER: an integer in
/// -i64::MAX..=i64::MAX.
pub(crate) fn parse_rand_count(arg: &[u8]) -> Result<i64, CmdError> {
    let n = parse_i64(arg)?;
    if n == i64::MIN {
        return Err(format!(
            "ERR value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )
        .into());
    }
    Ok(n)
}

/// A generator seeded from the server's, so a handler can draw while it
/// borrows the keyspace.
pub(crate) fn command_rng(ctx: &mut Ctx) -> rand::rngs::SmallRng {
    rand::rngs::SmallRng::seed_from_u64(ctx.state.rng.gen())
}

pub fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut rng = command_rng(ctx);
    let Some(count_arg) = args.get(2) else {
        if !check_read(ctx, key)? {
            ctx.reply.null();
            return Ok(());
        }
        match peek_hash(ctx.state, ctx.client.db, key).and_then(|h| h.random_pair(&mut rng)) {
            Some((f, _)) => ctx.reply.bulk(f),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let count = parse_rand_count(count_arg)?;
    let withvalues = match args.len() {
        3 => false,
        4 if eq_ignore_case(&args[3], "withvalues") => true,
        _ => return Err(errors::SYNTAX.into()),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(errors::OUT_OF_RANGE.into());
    }
    if !check_read(ctx, key)? {
        ctx.reply.array(0);
        return Ok(());
    }
    let Some(h) = peek_hash(ctx.state, ctx.client.db, key) else {
        ctx.reply.array(0);
        return Ok(());
    };
    if count == 0 {
        ctx.reply.array(0);
        return Ok(());
    }
    let pairs = if count < 0 {
        h.random_pairs_with_repeats(count.unsigned_abs() as usize, &mut rng)
    } else {
        h.random_distinct_pairs(count as usize, &mut rng)
    };
    let resp3 = ctx.reply.resp3;
    if withvalues && !resp3 {
        ctx.reply.array(pairs.len() * 2);
    } else {
        ctx.reply.array(pairs.len());
    }
    for (f, v) in pairs {
        if withvalues && resp3 {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(f);
        if withvalues {
            ctx.reply.bulk(v);
        }
    }
    Ok(())
}

/// The options of HSCAN / SSCAN / ZSCAN after the cursor: (count, pattern).
pub(crate) fn parse_scan_options(args: &[Bytes]) -> Result<(usize, Option<&[u8]>), CmdError> {
    let mut count = 10usize;
    let mut pattern = None;
    let mut i = 0;
    while i < args.len() {
        let more = i + 1 < args.len();
        if eq_ignore_case(&args[i], "count") && more {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = n as usize;
        } else if eq_ignore_case(&args[i], "match") && more {
            let p = &args[i + 1][..];
            pattern = (p != b"*").then_some(p);
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    Ok((count, pattern))
}

/// Writes a SCAN-family reply: the next cursor and the elements.
pub(crate) fn reply_scan(ctx: &mut Ctx, cursor: u64, items: &[Vec<u8>]) {
    ctx.reply.array(2);
    ctx.reply
        .bulk(itoa::Buffer::new().format(cursor).as_bytes());
    ctx.reply.array(items.len());
    for item in items {
        ctx.reply.bulk(item);
    }
}

pub fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let cursor = parse_cursor(&args[2])?;
    if !check_read(ctx, key)? {
        reply_scan(ctx, 0, &[]);
        return Ok(());
    }
    let (count, pattern) = parse_scan_options(&args[3..])?;
    let mut items = Vec::new();
    let next = match peek_hash(ctx.state, ctx.client.db, key) {
        Some(h) => h.scan(cursor, count, |f, v| {
            if pattern.is_none_or(|p| glob_match(p, f, false)) {
                items.push(f.to_vec());
                items.push(v.to_vec());
            }
        }),
        None => 0,
    };
    reply_scan(ctx, next, &items);
    Ok(())
}
