//! List commands, blocking ones included: LPUSH ... LMPOP, BLPOP BRPOP BLMOVE
//! BRPOPLPUSH BLMPOP.

use crate::args::{eq_ignore_case, parse_i64};
use crate::blocking::{parse_timeout, TimeoutReply};
use crate::errors::{self, CmdError, CmdResult, WRONGTYPE};
use crate::exec::{Ctx, Handler};
use crate::notify::{GENERIC, LIST};
use crate::propagate::argv;
use bytes::Bytes;
use redust_keyspace::{ListValue, NodeFill, Value, ValueMut, ValueRef};

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lindex", lindex),
    ("lset", lset),
    ("lrange", lrange),
    ("ltrim", ltrim),
    ("lrem", lrem),
    ("linsert", linsert),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("blmpop", blmpop),
];

fn fill(ctx: &Ctx) -> NodeFill {
    NodeFill::new(ctx.state.config.list_max_listpack_size)
}

/// The list at `key` for writing: `Ok(None)` if missing, WRONGTYPE otherwise.
fn list_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ListValue>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            ValueMut::List(l) => Ok(Some(l)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// The list at `key` for reading (counts hits/misses).
fn list_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c ListValue>, CmdError> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match e.value() {
            ValueRef::List(l) => Ok(Some(l)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// After removing elements: deletes the key if the list is now empty.
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty =
        matches!(ctx.db().peek(key).map(|e| e.value()), Some(ValueRef::List(l)) if l.is_empty());
    if empty {
        ctx.delete_key(key);
        ctx.notify(GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
}

/// Pushes `items` to `key` (creating it unless `only_existing`); returns the new length.
fn push_items(
    ctx: &mut Ctx,
    key: &[u8],
    items: &[Bytes],
    left: bool,
    only_existing: bool,
) -> Result<usize, CmdError> {
    let fill = fill(ctx);
    let len = match list_mut(ctx, key)? {
        Some(list) => {
            for v in items {
                if left {
                    list.push_front(v, fill);
                } else {
                    list.push_back(v, fill);
                }
            }
            let len = list.len();
            ctx.modified(key);
            len
        }
        None if only_existing => return Ok(0),
        None => {
            let mut list = ListValue::with_compress_depth(ctx.state.config.list_compress_depth);
            for v in items {
                if left {
                    list.push_front(v, fill);
                } else {
                    list.push_back(v, fill);
                }
            }
            let len = list.len();
            ctx.set_key(key, Value::List(Box::new(list)), false);
            len
        }
    };
    ctx.dirty(items.len() as u64);
    ctx.notify(LIST, if left { "lpush" } else { "rpush" }, key);
    ctx.signal_ready(key);
    Ok(len)
}

fn push_command(ctx: &mut Ctx, args: &[Bytes], left: bool, only_existing: bool) -> CmdResult {
    let len = push_items(ctx, &args[1], &args[2..], left, only_existing)?;
    ctx.reply.int(len as i64);
    Ok(())
}

pub fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_command(ctx, args, true, false)
}

pub fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_command(ctx, args, false, false)
}

pub fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_command(ctx, args, true, true)
}

pub fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_command(ctx, args, false, true)
}

/// Pops up to `count` elements from one end; `None` if the key is missing.
fn pop_items(
    ctx: &mut Ctx,
    key: &[u8],
    left: bool,
    count: usize,
) -> Result<Option<Vec<Vec<u8>>>, CmdError> {
    let popped = take_items(ctx, key, left, count)?;
    if let Some(items) = &popped {
        popped_items(ctx, key, left, items.len());
    }
    Ok(popped)
}

/// Takes up to `count` elements off one end, with no event yet (see
/// [`popped_items`]).
fn take_items(
    ctx: &mut Ctx,
    key: &[u8],
    left: bool,
    count: usize,
) -> Result<Option<Vec<Vec<u8>>>, CmdError> {
    let Some(list) = list_mut(ctx, key)? else {
        return Ok(None);
    };
    let n = count.min(list.len());
    Ok(Some(
        (0..n)
            .filter_map(|_| {
                if left {
                    list.pop_front()
                } else {
                    list.pop_back()
                }
            })
            .collect(),
    ))
}

/// The events and bookkeeping of a pop of `n` elements: the pop event, the
/// key deleted (and its event) if the list is now empty.
fn popped_items(ctx: &mut Ctx, key: &[u8], left: bool, n: usize) {
    if n > 0 {
        ctx.notify(LIST, if left { "lpop" } else { "rpop" }, key);
        ctx.dirty(n as u64);
    }
    delete_if_empty(ctx, key);
}

fn parse_positive_count(arg: &[u8]) -> Result<usize, CmdError> {
    match redust_resp::parse::parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(errors::OUT_OF_RANGE_POSITIVE.into()),
    }
}

fn pop_command(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::wrong_args(if left { "lpop" } else { "rpop" }));
    }
    let count = args.get(2).map(|a| parse_positive_count(a)).transpose()?;
    match (pop_items(ctx, &args[1], left, count.unwrap_or(1))?, count) {
        (None, Some(_)) => ctx.reply.null_array(),
        (None, None) => ctx.reply.null(),
        (Some(items), None) => match items.first() {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        },
        (Some(items), Some(_)) => {
            ctx.reply.array(items.len());
            for v in &items {
                ctx.reply.bulk(v);
            }
        }
    }
    Ok(())
}

pub fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_command(ctx, args, true)
}

pub fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_command(ctx, args, false)
}

pub fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = list_read(ctx, &args[1])?.map_or(0, |l| l.len());
    ctx.reply.int(n as i64);
    Ok(())
}

/// A Redis list index (negative from the end) into 0..len, if in range.
fn normalize_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

pub fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // The key (nil, WRONGTYPE) before the index, as in Redis.
    let item = match list_read(ctx, &args[1])? {
        None => None,
        Some(list) => {
            let index = parse_i64(&args[2])?;
            normalize_index(index, list.len())
                .and_then(|i| list.get(i))
                .map(|e| e.to_vec())
        }
    };
    match item {
        Some(v) => ctx.reply.bulk(&v),
        None => ctx.reply.null(),
    }
    Ok(())
}

pub fn lset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let fill = fill(ctx);
    let Some(list) = list_mut(ctx, key)? else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    // The key (no such key, WRONGTYPE) before the index, as in Redis.
    let index = parse_i64(&args[2])?;
    let Some(i) = normalize_index(index, list.len()) else {
        return Err("ERR index out of range".into());
    };
    list.set(i, &args[3], fill);
    ctx.modified(key);
    ctx.notify(LIST, "lset", key);
    ctx.dirty(1);
    ctx.reply.ok();
    Ok(())
}

/// The inclusive range LRANGE/LTRIM mean by `start..=end` on a list of `len`.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

pub fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    if list_read(ctx, &args[1])?.is_none() {
        ctx.reply.array(0);
        return Ok(());
    }
    // Borrow the list from the state and the reply separately, so elements
    // are written straight from the list.
    let (state, reply) = (&*ctx.state, &mut *ctx.reply);
    let Some(ValueRef::List(l)) = state.dbs[ctx.client.db].peek(&args[1]).map(|e| e.value()) else {
        reply.array(0);
        return Ok(());
    };
    match clamp_range(start, end, l.len()) {
        Some((s, e)) => {
            reply.array(e + 1 - s);
            for v in l.range(s, e) {
                reply.bulk(&v);
            }
        }
        None => reply.array(0),
    }
    Ok(())
}

pub fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let Some(list) = list_mut(ctx, key)? else {
        ctx.reply.ok();
        return Ok(());
    };
    let before = list.len();
    match clamp_range(start, end, list.len()) {
        Some((s, e)) => list.trim(s, e),
        None => list.trim(1, 0),
    }
    let removed = before - list.len();
    ctx.notify(LIST, "ltrim", key);
    delete_if_empty(ctx, key);
    ctx.dirty(removed as u64);
    ctx.reply.ok();
    Ok(())
}

pub fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let count = parse_i64(&args[2])?;
    let element = &args[3];
    let Some(list) = list_mut(ctx, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    let mut keep: Vec<bool> = vec![true; list.len()];
    if count >= 0 {
        for (i, e) in list.iter().enumerate() {
            if removed < limit && e == &element[..] {
                keep[i] = false;
                removed += 1;
            }
        }
    } else {
        let len = list.len();
        for (j, e) in list.iter_rev().enumerate() {
            if removed < limit && e == &element[..] {
                keep[len - 1 - j] = false;
                removed += 1;
            }
        }
    }
    if removed > 0 {
        list.retain_flags(&keep);
        ctx.notify(LIST, "lrem", key);
        delete_if_empty(ctx, key);
        ctx.dirty(removed as u64);
    }
    ctx.reply.int(removed as i64);
    Ok(())
}

pub fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let after = if eq_ignore_case(&args[2], "after") {
        true
    } else if eq_ignore_case(&args[2], "before") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    let (pivot, element) = (&args[3], &args[4]);
    let fill = fill(ctx);
    let Some(list) = list_mut(ctx, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let Some(pos) = list.iter().position(|e| e == &pivot[..]) else {
        ctx.reply.int(-1);
        return Ok(());
    };
    list.insert(pos, after, element, fill);
    let len = list.len();
    ctx.modified(key);
    ctx.notify(LIST, "linsert", key);
    ctx.dirty(1);
    ctx.reply.int(len as i64);
    Ok(())
}

pub fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let element = &args[2];
    let (mut rank, mut count, mut maxlen) = (1i64, None::<usize>, 0usize);
    let mut i = 3;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(errors::SYNTAX.into());
        }
        let (opt, val) = (&args[i], &args[i + 1]);
        if eq_ignore_case(opt, "rank") {
            rank = parse_i64(val)?;
            if rank == 0 {
                return Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list".into());
            }
            // Redis 7.0 takes the lowest rank too; negated it stays
            // negative: from the tail, the first match.
            if rank == i64::MIN {
                rank = -1;
            }
        } else if eq_ignore_case(opt, "count") {
            // Not a number reads as negative here, as in Redis.
            let n = redust_resp::parse::parse_i64(val).filter(|&n| n >= 0);
            let n = n.ok_or_else(|| CmdError::from("ERR COUNT can't be negative"))?;
            count = Some(n as usize);
        } else if eq_ignore_case(opt, "maxlen") {
            let n = redust_resp::parse::parse_i64(val).filter(|&n| n >= 0);
            let n = n.ok_or_else(|| CmdError::from("ERR MAXLEN can't be negative"))?;
            maxlen = n as usize;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let matches: Vec<i64> = match list_read(ctx, &args[1])? {
        None => Vec::new(),
        Some(l) => {
            let len = l.len();
            let wanted = match count {
                Some(0) => usize::MAX,
                Some(n) => n,
                None => 1,
            };
            let scan_limit = if maxlen == 0 { usize::MAX } else { maxlen };
            let mut skip = rank.unsigned_abs() as usize - 1;
            let mut found = Vec::new();
            let positions: Box<dyn Iterator<Item = (usize, std::borrow::Cow<[u8]>)>> = if rank > 0 {
                Box::new(l.iter().enumerate())
            } else {
                Box::new(l.iter_rev().enumerate().map(move |(j, e)| (len - 1 - j, e)))
            };
            for (scanned, (idx, e)) in positions.enumerate() {
                if scanned >= scan_limit || found.len() >= wanted {
                    break;
                }
                if e == &element[..] {
                    if skip > 0 {
                        skip -= 1;
                    } else {
                        found.push(idx as i64);
                    }
                }
            }
            found
        }
    };
    match count {
        None => match matches.first() {
            Some(&p) => ctx.reply.int(p),
            None => ctx.reply.null(),
        },
        Some(_) => {
            ctx.reply.array(matches.len());
            for p in matches {
                ctx.reply.int(p);
            }
        }
    }
    Ok(())
}

fn parse_side(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ignore_case(arg, "left") {
        Ok(true)
    } else if eq_ignore_case(arg, "right") {
        Ok(false)
    } else {
        Err(errors::SYNTAX.into())
    }
}

/// Moves one element; `Ok(None)` when the source is empty or missing.
fn move_element(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Vec<u8>>, CmdError> {
    // Check both types before touching anything, as Redis does.
    if list_read_nocount(ctx, src)?.is_none_or(|n| n == 0) {
        return Ok(None);
    }
    list_read_nocount(ctx, dst)?;
    // Redis's order: take the element, push it (the push event), then the
    // pop event, then delete the source if it is empty; so moving the only
    // element of a list onto itself keeps the key (no del event).
    let item = {
        let Some(list) = list_mut(ctx, src)? else {
            return Ok(None);
        };
        let taken = if from_left {
            list.pop_front()
        } else {
            list.pop_back()
        };
        let Some(item) = taken else {
            return Ok(None);
        };
        item
    };
    push_items(ctx, dst, &[Bytes::copy_from_slice(&item)], to_left, false)?;
    // The reply goes between the push event and the pop event, as Redis
    // writes it (lmoveHandlePush replies).
    ctx.reply.bulk(&item);
    ctx.notify(LIST, if from_left { "lpop" } else { "rpop" }, src);
    delete_if_empty(ctx, src);
    Ok(Some(item))
}

/// Length of the list at `key` without counting a keyspace hit; WRONGTYPE if not a list.
fn list_read_nocount(ctx: &mut Ctx, key: &[u8]) -> Result<Option<usize>, CmdError> {
    let now = ctx.now_ms();
    match ctx.db().get(key, now) {
        None => Ok(None),
        Some(e) => match e.value() {
            ValueRef::List(l) => Ok(Some(l.len())),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

pub fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let from_left = parse_side(&args[3])?;
    let to_left = parse_side(&args[4])?;
    // move_element replies when it moves something.
    if move_element(ctx, &args[1], &args[2], from_left, to_left)?.is_none() {
        ctx.reply.null();
    }
    Ok(())
}

pub fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if move_element(ctx, &args[1], &args[2], false, true)?.is_none() {
        ctx.reply.null();
    }
    Ok(())
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` from `args[from]`.
fn parse_mpop(args: &[Bytes], from: usize) -> Result<(Vec<Vec<u8>>, bool, usize), CmdError> {
    // Not a number, or not above 0: one message, as Redis gives it.
    let numkeys = redust_resp::parse::parse_i64(&args[from])
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::from(errors::NUMKEYS_NOT_POSITIVE))?;
    let numkeys = numkeys as usize;
    // The side must follow the keys.
    if numkeys >= args.len() - from - 1 {
        return Err(errors::SYNTAX.into());
    }
    let keys: Vec<Vec<u8>> = args[from + 1..from + 1 + numkeys]
        .iter()
        .map(|k| k.to_vec())
        .collect();
    let mut i = from + 1 + numkeys;
    let Some(side) = args.get(i) else {
        return Err(errors::SYNTAX.into());
    };
    let left = parse_side(side)?;
    i += 1;
    let mut count = None;
    while i < args.len() {
        if eq_ignore_case(&args[i], "count") && i + 1 < args.len() && count.is_none() {
            let n = parse_i64(&args[i + 1])
                .ok()
                .filter(|&n| n > 0)
                .ok_or(CmdError::from(errors::COUNT_NOT_POSITIVE))?;
            count = Some(n as usize);
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    Ok((keys, left, count.unwrap_or(1)))
}

/// Pops from the first non-empty list of `keys`; writes [key, [elements]].
fn mpop_from(ctx: &mut Ctx, keys: &[Vec<u8>], left: bool, count: usize) -> Result<bool, CmdError> {
    for key in keys {
        if list_read_nocount(ctx, key)?.is_some_and(|n| n > 0) {
            let items = take_items(ctx, key, left, count)?.unwrap_or_default();
            // Replayed as the plain pop of what was taken (LMPOP and BLMPOP alike).
            let pop: &[u8] = if left { b"LPOP" } else { b"RPOP" };
            ctx.propagate(argv(&[pop, key, items.len().to_string().as_bytes()]));
            // The reply, then the events, as Redis's listPopRangeAndReplyWithKey.
            ctx.reply.array(2);
            ctx.reply.bulk(key);
            ctx.reply.array(items.len());
            for v in &items {
                ctx.reply.bulk(v);
            }
            popped_items(ctx, key, left, items.len());
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (keys, left, count) = parse_mpop(args, 1)?;
    if !mpop_from(ctx, &keys, left, count)? {
        ctx.reply.null_array();
    }
    Ok(())
}

fn bpop(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    let deadline = parse_timeout(&args[args.len() - 1], ctx.now_ms())?;
    let keys: Vec<Vec<u8>> = args[1..args.len() - 1].iter().map(|k| k.to_vec()).collect();
    for key in &keys {
        if list_read_nocount(ctx, key)?.is_some_and(|n| n > 0) {
            let item = take_items(ctx, key, left, 1)?
                .and_then(|mut v| v.pop())
                .unwrap_or_default();
            // Replayed as the plain pop (BLPOP -> LPOP), served now or later.
            ctx.propagate(argv(&[if left { b"LPOP" } else { b"RPOP" }, key]));
            // The reply, then the events, as Redis writes them.
            ctx.reply.array(2);
            ctx.reply.bulk(key);
            ctx.reply.bulk(&item);
            popped_items(ctx, key, left, 1);
            return Ok(());
        }
    }
    ctx.block(keys, deadline, TimeoutReply::NullArray);
    Ok(())
}

pub fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, true)
}

pub fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop(ctx, args, false)
}

fn bmove(
    ctx: &mut Ctx,
    args: &[Bytes],
    from_left: bool,
    to_left: bool,
    timeout_arg: &[u8],
) -> CmdResult {
    let deadline = parse_timeout(timeout_arg, ctx.now_ms())?;
    match move_element(ctx, &args[1], &args[2], from_left, to_left)? {
        Some(_) => {
            // Replayed as the non-blocking move, in Redis's words: RPOPLPUSH
            // for BRPOPLPUSH; LMOVE with the sides as given, or as Redis
            // names them ("left"/"right") when a push served the waiter.
            let side = |left: bool| -> &'static [u8] {
                if left {
                    b"left"
                } else {
                    b"right"
                }
            };
            let replay = if args.len() == 4 {
                argv(&[b"RPOPLPUSH", &args[1], &args[2]])
            } else if ctx.serving_blocked() {
                argv(&[b"LMOVE", &args[1], &args[2], side(from_left), side(to_left)])
            } else {
                argv(&[b"LMOVE", &args[1], &args[2], &args[3], &args[4]])
            };
            ctx.propagate(replay);
        }
        None => ctx.block(vec![args[1].to_vec()], deadline, TimeoutReply::Move),
    }
    Ok(())
}

pub fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let from_left = parse_side(&args[3])?;
    let to_left = parse_side(&args[4])?;
    bmove(ctx, args, from_left, to_left, &args[5])
}

pub fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bmove(ctx, args, false, true, &args[3])
}

pub fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let deadline = parse_timeout(&args[1], ctx.now_ms())?;
    let (keys, left, count) = parse_mpop(args, 2)?;
    if !mpop_from(ctx, &keys, left, count)? {
        ctx.block(keys, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}
