//! Set commands: SADD SREM SINTER SUNION SDIFF SPOP SRANDMEMBER SSCAN and the rest of the set family.

use crate::args::eq_ignore_case;
use crate::cmd::hashes::{command_rng, parse_rand_count, parse_scan_options, reply_scan};
use crate::cmd::keys::parse_cursor;
use crate::errors::{self, CmdError, CmdResult, WRONGTYPE};
use crate::exec::{Ctx, Handler};
use crate::notify::{GENERIC, SET};
use crate::propagate::argv;
use crate::state::State;
use bytes::Bytes;
use redust_config::glob_match;
use redust_keyspace::{SetValue, Value, ValueMut, ValueRef};
use redust_resp::Reply;
use std::borrow::Cow;
use std::collections::HashSet;

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("smembers", smembers),
    ("srandmember", srandmember),
    ("spop", spop),
    ("smove", smove),
    ("sinter", sinter),
    ("sintercard", sintercard),
    ("sinterstore", sinterstore),
    ("sunion", sunion),
    ("sunionstore", sunionstore),
    ("sdiff", sdiff),
    ("sdiffstore", sdiffstore),
    ("sscan", sscan),
];

/// The set at `key` for writing: `Ok(None)` if missing, WRONGTYPE otherwise.
fn set_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut SetValue>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            ValueMut::Set(s) => Ok(Some(s)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// Looks `key` up for reading (hits, misses and keymiss events count, also
/// for the sources of the STORE variants, as in Redis 7.0) and checks its
/// type: true if it holds a set, false if missing, WRONGTYPE otherwise. Read
/// it then with `peek_set`, which borrows only the state.
fn check(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.lookup_read(key) {
        None => Ok(false),
        Some(e) => match e.value() {
            ValueRef::Set(_) => Ok(true),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// The set at `key`, after `check` said it exists.
fn peek_set<'s>(state: &'s State, db: usize, key: &[u8]) -> Option<&'s SetValue> {
    match state.dbs[db].peek(key).map(|e| e.value()) {
        Some(ValueRef::Set(s)) => Some(s),
        _ => None,
    }
}

/// Writes members as a set reply (an array in RESP2).
fn reply_members<'a>(reply: &mut Reply, len: usize, members: impl Iterator<Item = Cow<'a, [u8]>>) {
    reply.set(len);
    for m in members {
        reply.bulk(&m);
    }
}

pub fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let limits = ctx.limits();
    let added = match set_mut(ctx, key)? {
        Some(s) => {
            let n = args[2..].iter().filter(|m| s.add(m, &limits)).count();
            s.shrink_to_fit();
            n
        }
        None => {
            let mut s = SetValue::for_first_member(&args[2]);
            let n = args[2..].iter().filter(|m| s.add(m, &limits)).count();
            s.shrink_to_fit();
            ctx.set_key(key, Value::Set(s), false);
            n
        }
    };
    if added > 0 {
        ctx.modified(key);
        ctx.notify(SET, "sadd", key);
    }
    ctx.dirty(added as u64);
    ctx.reply.int(added as i64);
    Ok(())
}

pub fn srem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let Some(s) = set_mut(ctx, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let mut deleted = 0u64;
    for m in &args[2..] {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    s.shrink_to_fit();
    let emptied = s.is_empty();
    ctx.removed_elements(key, SET, "srem", deleted, emptied);
    ctx.reply.int(deleted as i64);
    Ok(())
}

pub fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let found = check(ctx, key)?
        && peek_set(ctx.state, ctx.client.db, key).is_some_and(|s| s.contains(&args[2]));
    ctx.reply.int(found as i64);
    Ok(())
}

pub fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let exists = check(ctx, key)?;
    let s = if exists {
        peek_set(ctx.state, ctx.client.db, key)
    } else {
        None
    };
    ctx.reply.array(args.len() - 2);
    for m in &args[2..] {
        ctx.reply.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

pub fn scard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let n = if check(ctx, key)? {
        peek_set(ctx.state, ctx.client.db, key).map_or(0, |s| s.len())
    } else {
        0
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let exists = check(ctx, key)?;
    match peek_set(ctx.state, ctx.client.db, key).filter(|_| exists) {
        Some(s) => reply_members(ctx.reply, s.len(), s.iter()),
        None => ctx.reply.set(0),
    }
    Ok(())
}

pub fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut rng = command_rng(ctx);
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let Some(count_arg) = args.get(2) else {
        if !check(ctx, key)? {
            ctx.reply.null();
            return Ok(());
        }
        match peek_set(ctx.state, ctx.client.db, key).and_then(|s| s.random_member(&mut rng)) {
            Some(m) => ctx.reply.bulk(&m),
            None => ctx.reply.null(),
        }
        return Ok(());
    };
    let count = parse_rand_count(count_arg)?;
    if !check(ctx, key)? {
        ctx.reply.array(0);
        return Ok(());
    }
    let Some(s) = peek_set(ctx.state, ctx.client.db, key) else {
        ctx.reply.array(0);
        return Ok(());
    };
    let members = if count < 0 {
        s.random_members_with_repeats(count.unsigned_abs() as usize, &mut rng)
    } else {
        s.random_distinct_members(count as usize, &mut rng)
    };
    ctx.reply.array(members.len());
    for m in &members {
        ctx.reply.bulk(m);
    }
    Ok(())
}

pub fn spop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let mut rng = command_rng(ctx);
    let count = match args.get(2) {
        None => None,
        Some(a) => match redust_resp::parse::parse_i64(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(errors::OUT_OF_RANGE_POSITIVE.into()),
        },
    };
    let limits = ctx.limits();
    let Some(s) = set_mut(ctx, key)? else {
        match count {
            None => ctx.reply.null(),
            Some(_) => ctx.reply.set(0),
        }
        return Ok(());
    };
    let Some(count) = count else {
        let popped = s.pop_random(1, &mut rng);
        let emptied = s.is_empty();
        s.shrink_to_fit();
        ctx.notify(SET, "spop", key);
        if let Some(m) = popped.first() {
            ctx.propagate(argv(&[b"SREM", key, m]));
        }
        // Redis replies between the spop event and the del event.
        match popped.first() {
            Some(m) => ctx.reply.bulk(m),
            None => ctx.reply.null(),
        }
        if emptied {
            ctx.delete_key(key);
            ctx.notify(GENERIC, "del", key);
        }
        ctx.modified(key);
        ctx.dirty(1);
        return Ok(());
    };
    if count == 0 {
        ctx.reply.set(0);
        return Ok(());
    }
    let size = s.len();
    let popped = if count >= size {
        s.iter().map(|m| m.into_owned()).collect()
    } else {
        let popped = s.pop_random(count, &mut rng);
        if (size - count) * 5 <= count {
            // Like Redis, which rebuilds the set from the few members left
            // when it pops most of it: the rebuilt set gets the encoding it
            // would have if created from those members.
            *s = SetValue::from_members(s.members().iter().map(|m| &m[..]), &limits);
        }
        s.shrink_to_fit();
        popped
    };
    ctx.notify(SET, "spop", key);
    ctx.dirty(popped.len() as u64);
    // Replayed as what was removed: the whole key, or the popped members.
    if count >= size {
        ctx.propagate(argv(&[b"DEL", key]));
    } else {
        // One SREM per member, as Redis 7.0 replays it (in MULTI/EXEC when
        // there are several: see `exec::execute`).
        for m in &popped {
            ctx.propagate(argv(&[b"SREM", key, m]));
        }
    }
    if count >= size {
        ctx.delete_key(key);
        ctx.notify(GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
    ctx.reply.set(popped.len());
    for m in &popped {
        ctx.reply.bulk(m);
    }
    Ok(())
}

pub fn smove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let src_exists = ctx.lookup_write(src).map(|e| e.value().type_name());
    let dst_exists = ctx.lookup_write(dst).map(|e| e.value().type_name());
    let Some(src_type) = src_exists else {
        ctx.reply.int(0);
        return Ok(());
    };
    if src_type != "set" || dst_exists.is_some_and(|t| t != "set") {
        return Err(WRONGTYPE.into());
    }
    if src == dst {
        let found = peek_set(ctx.state, ctx.client.db, src).is_some_and(|s| s.contains(member));
        ctx.reply.int(found as i64);
        return Ok(());
    }
    let limits = ctx.limits();
    let Some(s) = set_mut(ctx, src)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    if !s.remove(member) {
        ctx.reply.int(0);
        return Ok(());
    }
    s.shrink_to_fit();
    let emptied = s.is_empty();
    ctx.notify(SET, "srem", src);
    if emptied {
        ctx.delete_key(src);
        ctx.notify(GENERIC, "del", src);
    }
    ctx.modified(src);
    ctx.dirty(1);
    let added = match set_mut(ctx, dst)? {
        Some(d) => {
            let added = d.add(member, &limits);
            d.shrink_to_fit();
            added
        }
        None => {
            let mut d = SetValue::for_first_member(member);
            d.add(member, &limits);
            d.shrink_to_fit();
            ctx.set_key(dst, Value::Set(d), false);
            true
        }
    };
    if added {
        ctx.dirty(1);
        ctx.modified(dst);
        ctx.notify(SET, "sadd", dst);
    }
    ctx.reply.int(1);
    Ok(())
}

/// Looks up every key of a set operation, checking types (WRONGTYPE if any
/// is not a set, even after a missing one); true for each key that exists.
fn check_all(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<bool>, CmdError> {
    keys.iter().map(|k| check(ctx, k)).collect()
}

/// The sets under `keys` (`None` for missing ones), after `check_all`.
fn peek_all<'s>(state: &'s State, db: usize, keys: &[Bytes]) -> Vec<Option<&'s SetValue>> {
    keys.iter().map(|k| peek_set(state, db, k)).collect()
}

/// Members in every set (none if a set is missing), at most `limit` (0: all).
fn intersection(sets: &[Option<&SetValue>], limit: usize) -> Vec<Vec<u8>> {
    let Some(mut present) = sets.iter().copied().collect::<Option<Vec<&SetValue>>>() else {
        return Vec::new();
    };
    present.sort_by_key(|s| s.len());
    let Some((first, rest)) = present.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(&m)) {
            out.push(m.into_owned());
            if limit != 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// Members of any set, each once.
fn union(sets: &[Option<&SetValue>]) -> Vec<Vec<u8>> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::new();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            if !seen.contains(&m[..]) {
                seen.insert(m.to_vec());
                out.push(m.into_owned());
            }
        }
    }
    out
}

/// Members of the first set that are in none of the others.
fn difference(sets: &[Option<&SetValue>]) -> Vec<Vec<u8>> {
    let Some(Some(first)) = sets.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|m| !sets[1..].iter().flatten().any(|s| s.contains(m)))
        .map(|m| m.into_owned())
        .collect()
}

#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

impl SetOp {
    fn compute(self, sets: &[Option<&SetValue>]) -> Vec<Vec<u8>> {
        match self {
            SetOp::Inter => intersection(sets, 0),
            SetOp::Union => union(sets),
            SetOp::Diff => difference(sets),
        }
    }

    fn store_event(self) -> &'static str {
        match self {
            SetOp::Inter => "sinterstore",
            SetOp::Union => "sunionstore",
            SetOp::Diff => "sdiffstore",
        }
    }
}

/// SINTER / SUNION / SDIFF (and SMEMBERS-like replies): the result as a set.
fn set_op_reply(ctx: &mut Ctx, keys: &[Bytes], op: SetOp) -> CmdResult {
    check_all(ctx, keys)?;
    let result = op.compute(&peek_all(ctx.state, ctx.client.db, keys));
    // The result is built as a set, so integers come out in order, as Redis's
    // intset would give them.
    let limits = ctx.limits();
    let built = SetValue::from_members(result.iter().map(|m| &m[..]), &limits);
    reply_members(ctx.reply, built.len(), built.iter());
    Ok(())
}

/// SINTERSTORE / SUNIONSTORE / SDIFFSTORE.
fn set_op_store(ctx: &mut Ctx, dst: &[u8], keys: &[Bytes], op: SetOp) -> CmdResult {
    check_all(ctx, keys)?;
    let result = op.compute(&peek_all(ctx.state, ctx.client.db, keys));
    let limits = ctx.limits();
    let set = SetValue::from_members(result.iter().map(|m| &m[..]), &limits);
    let len = set.len();
    if len > 0 {
        ctx.set_key(dst, Value::Set(set), false);
        ctx.notify(SET, op.store_event(), dst);
        ctx.dirty(1);
    } else if ctx.delete_key(dst) {
        ctx.notify(GENERIC, "del", dst);
        ctx.dirty(1);
    }
    ctx.reply.int(len as i64);
    Ok(())
}

pub fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_reply(ctx, &args[1..], SetOp::Inter)
}

pub fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, &args[1], &args[2..], SetOp::Inter)
}

pub fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_reply(ctx, &args[1..], SetOp::Union)
}

pub fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, &args[1], &args[2..], SetOp::Union)
}

pub fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_reply(ctx, &args[1..], SetOp::Diff)
}

pub fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_store(ctx, &args[1], &args[2..], SetOp::Diff)
}

pub fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let numkeys = match redust_resp::parse::parse_i64(&args[1]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(errors::NUMKEYS_NOT_POSITIVE.into()),
    };
    if numkeys > args.len() - 2 {
        return Err(errors::NUMKEYS_TOO_MANY.into());
    }
    let keys = &args[2..2 + numkeys];
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if eq_ignore_case(&args[i], "limit") && i + 1 < args.len() {
            limit = match redust_resp::parse::parse_i64(&args[i + 1]) {
                Some(n) if n >= 0 => n as usize,
                _ => return Err(errors::LIMIT_NEGATIVE.into()),
            };
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    check_all(ctx, keys)?;
    let n = intersection(&peek_all(ctx.state, ctx.client.db, keys), limit).len();
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let cursor = parse_cursor(&args[2])?;
    if !check(ctx, key)? {
        reply_scan(ctx, 0, &[]);
        return Ok(());
    }
    let (count, pattern) = parse_scan_options(&args[3..])?;
    let mut items = Vec::new();
    let next = match peek_set(ctx.state, ctx.client.db, key) {
        Some(s) => s.scan(cursor, count, |m| {
            if pattern.is_none_or(|p| glob_match(p, m, false)) {
                items.push(m.to_vec());
            }
        }),
        None => 0,
    };
    reply_scan(ctx, next, &items);
    Ok(())
}
