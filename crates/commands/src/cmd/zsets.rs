//! Sorted set commands: ZADD ZRANGE ZUNIONSTORE ZPOPMIN BZPOPMIN ZSCAN and the
//! rest of the sorted set family, blocking ones included.
//!
//! Numbers are read as Redis reads them: scores, increments and weights with
//! `string2d` (strtod, whole argument, no overflow), range bounds with plain
//! strtod (leading spaces and an empty bound are accepted), ranks and limits
//! as integers. Scores are replied as doubles (`%.17g`; RESP3 doubles).

use crate::args::{eq_ignore_case, parse_i64};
use crate::blocking::{parse_timeout, TimeoutReply};
use crate::errors::{self, CmdError, CmdResult, WRONGTYPE};
use crate::exec::{Ctx, Handler};
use crate::notify::{GENERIC, ZSET};
use crate::state::State;
use bytes::Bytes;
use redust_config::glob_match;
use redust_keyspace::{Value, ValueMut, ValueRef, ZSetValue};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zcount", zcount),
    ("zlexcount", zlexcount),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zrange", zrange),
    ("zrangestore", zrangestore),
    ("zrangebyscore", zrangebyscore),
    ("zrevrangebyscore", zrevrangebyscore),
    ("zrangebylex", zrangebylex),
    ("zrevrangebylex", zrevrangebylex),
    ("zrevrange", zrevrange),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebylex", zremrangebylex),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("zmpop", zmpop),
    ("bzmpop", bzmpop),
    ("zunion", zunion),
    ("zinter", zinter),
    ("zdiff", zdiff),
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
    ("zintercard", zintercard),
    ("zrandmember", zrandmember),
    ("zscan", zscan),
];

const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
const MINMAX_NOT_FLOAT: &str = "ERR min or max is not a float";
const MINMAX_NOT_LEX: &str = "ERR min or max not valid string range item";

// ---- numbers ----

/// C's `strtod` on `s`: (value, bytes consumed, overflow or underflow to
/// zero). Consumes nothing (0) when no number starts the text.
fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let sign_at = i;
    let neg = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let rest = &s[i..];
    let starts = |word: &str| {
        rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
    };
    let signed = |v: f64| if neg { -v } else { v };
    if starts("infinity") {
        return (signed(f64::INFINITY), i + 8, false);
    }
    if starts("inf") {
        return (signed(f64::INFINITY), i + 3, false);
    }
    if starts("nan") {
        let mut end = i + 3;
        if end < s.len() && s[end] == b'(' {
            if let Some(close) = s[end..].iter().position(|&c| c == b')') {
                if s[end + 1..end + close]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    end += close + 1;
                }
            }
        }
        return (f64::NAN, end, false);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((v, n)) = hex_float(&rest[2..]) {
            return (signed(v), i + 2 + n, v.is_infinite());
        }
        // "0x" without hex digits: just the "0".
        return (signed(0.0), i + 1, false);
    }
    let mut j = i;
    let mut digits = 0;
    let mut nonzero = false;
    while j < s.len() && s[j].is_ascii_digit() {
        nonzero |= s[j] != b'0';
        j += 1;
        digits += 1;
    }
    if j < s.len() && s[j] == b'.' {
        j += 1;
        while j < s.len() && s[j].is_ascii_digit() {
            nonzero |= s[j] != b'0';
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if j < s.len() && (s[j] | 0x20) == b'e' {
        let mut k = j + 1;
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            k += 1;
        }
        if k < s.len() && s[k].is_ascii_digit() {
            while k < s.len() && s[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[sign_at..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    (v, j, erange)
}

/// A hexadecimal float body (after "0x"): (value, bytes consumed).
fn hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut i = 0;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        if mant >> 58 == 0 {
            mant = mant * 16 + d as u64;
            if seen_dot {
                exp -= 4;
            }
        } else if !seen_dot {
            exp += 4;
        }
        digits += 1;
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let mut k = i + 1;
        let neg = k < s.len() && s[k] == b'-';
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            k += 1;
        }
        if k < s.len() && s[k].is_ascii_digit() {
            let mut e: i64 = 0;
            while k < s.len() && s[k].is_ascii_digit() {
                e = (e * 10 + (s[k] - b'0') as i64).min(1 << 20);
                k += 1;
            }
            exp += if neg { -e } else { e };
            i = k;
        }
    }
    let v = mant as f64 * 2f64.powi(exp.clamp(-2000, 2000) as i32);
    Some((v, i))
}

/// Redis's `string2d`: the whole argument is a float, no leading space, no
/// overflow, not NaN.
fn string2d(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || matches!(arg[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return None;
    }
    let (v, n, erange) = strtod(arg);
    if n != arg.len() || erange || v.is_nan() {
        return None;
    }
    Some(v)
}

fn parse_score(arg: &[u8]) -> Result<f64, CmdError> {
    string2d(arg).ok_or(CmdError::from(errors::NOT_FLOAT))
}

/// One end of a score range: `1.5`, `(1.5`, `-inf`, `+inf`.
#[derive(Clone, Copy)]
struct ScoreBound {
    value: f64,
    exclusive: bool,
}

fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let (exclusive, text) = match arg.first() {
        Some(b'(') => (true, &arg[1..]),
        _ => (false, arg),
    };
    let (value, n, _) = strtod(text);
    // strtod stops at a NUL as at the end of the string.
    if (n != text.len() && text[n] != 0) || value.is_nan() {
        return None;
    }
    Some(ScoreBound { value, exclusive })
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), CmdError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(MINMAX_NOT_FLOAT.into()),
    }
}

/// One end of a lex range: `-`, `+`, `[a` or `(a`.
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.first() {
        Some(b'+') if arg.len() == 1 => Some(LexBound::Max),
        Some(b'-') if arg.len() == 1 => Some(LexBound::Min),
        Some(b'(') => Some(LexBound::Exclusive(arg[1..].to_vec())),
        Some(b'[') => Some(LexBound::Inclusive(arg[1..].to_vec())),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), CmdError> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(MINMAX_NOT_LEX.into()),
    }
}

/// The ranks `start..end` a range covers, from the two lower bounds.
fn score_span(z: &ZSetValue, min: ScoreBound, max: ScoreBound) -> (usize, usize) {
    let start = z.lower_bound(|s, _| {
        if min.exclusive {
            s <= min.value
        } else {
            s < min.value
        }
    });
    let end = z.lower_bound(|s, _| {
        if max.exclusive {
            s < max.value
        } else {
            s <= max.value
        }
    });
    (start, end.max(start))
}

impl LexBound {
    /// `member` is at or after this bound used as a minimum.
    fn admits_from(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Inclusive(v) => member >= &v[..],
            LexBound::Exclusive(v) => member > &v[..],
        }
    }

    /// `member` is at or before this bound used as a maximum.
    fn admits_to(&self, member: &[u8]) -> bool {
        match self {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Inclusive(v) => member <= &v[..],
            LexBound::Exclusive(v) => member < &v[..],
        }
    }

    fn rank(&self) -> (u8, &[u8]) {
        match self {
            LexBound::Min => (0, b""),
            LexBound::Inclusive(v) | LexBound::Exclusive(v) => (1, v),
            LexBound::Max => (2, b""),
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// The ranks `start..end` to emit for a lex range, LIMIT applied. With
/// equal scores (the only case Redis defines) that is the members between
/// the bounds. With mixed scores a `listpack` set answers exactly as Redis's
/// listpack walk does: from the first member at or after `min` (the last at
/// or before `max` when `rev`), skipping `offset` members unchecked, then
/// while members stay in range.
fn lex_span(
    z: &ZSetValue,
    min: &LexBound,
    max: &LexBound,
    rev: bool,
    offset: i64,
    limit: i64,
) -> (usize, usize) {
    let order = min.rank().cmp(&max.rank());
    if order.is_gt() || (order.is_eq() && (min.exclusive() || max.exclusive())) {
        return (0, 0);
    }
    let ZSetValue::Listpack(p) = z else {
        // Redis's zslIsInLexRange first: the last member must reach `min`
        // and the first stay within `max` (with mixed scores the walk that
        // follows depends on the skiplist's random levels).
        let n = z.len();
        let (Some((first, _)), Some((last, _))) = (z.get(0), z.get(n.saturating_sub(1))) else {
            return (0, 0);
        };
        if !min.admits_from(last) || !max.admits_to(first) {
            return (0, 0);
        }
        let start = z.lower_bound(|_, m| !min.admits_from(m));
        let end = z.lower_bound(|_, m| max.admits_to(m));
        return apply_limit(start, end, rev, offset, limit);
    };
    let ms: Vec<&[u8]> = p.iter().map(|(m, _)| m).collect();
    let (Some(first), Some(last)) = (ms.first(), ms.last()) else {
        return (0, 0);
    };
    if offset < 0 || !min.admits_from(last) || !max.admits_to(first) {
        return (0, 0);
    }
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let room = |n: usize| limit < 0 || (n as u64) < limit as u64;
    if rev {
        let Some(e) = ms.iter().rposition(|m| max.admits_to(m)) else {
            return (0, 0);
        };
        if !min.admits_from(ms[e]) || offset > e {
            return (0, 0);
        }
        let top = e - offset;
        let mut s = top + 1;
        while s > 0 && room(top + 1 - s) && min.admits_from(ms[s - 1]) {
            s -= 1;
        }
        return (s, top + 1);
    }
    let Some(s) = ms.iter().position(|m| min.admits_from(m)) else {
        return (0, 0);
    };
    if !max.admits_to(ms[s]) || offset >= ms.len() - s {
        return (0, 0);
    }
    let from = s + offset;
    let mut e = from;
    while e < ms.len() && room(e - from) && max.admits_to(ms[e]) {
        e += 1;
    }
    (from, e)
}

// ---- key access ----

/// Looks `key` up for reading (hits/misses): true if it holds a sorted set,
/// false if missing, WRONGTYPE otherwise.
fn check_read(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.lookup_read(key) {
        None => Ok(false),
        Some(e) => match e.value() {
            ValueRef::ZSet(_) => Ok(true),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// The sorted set at `key`, after `check_read`: borrows only the database,
/// so replies can be written while it is borrowed.
fn peek<'a>(state: &'a State, db: usize, key: &[u8]) -> Option<&'a ZSetValue> {
    match state.dbs[db].peek(key).map(|e| e.value()) {
        Some(ValueRef::ZSet(z)) => Some(z),
        _ => None,
    }
}

/// The sorted set at `key` for writing: `Ok(None)` if missing, WRONGTYPE otherwise.
fn zset_mut<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ZSetValue>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match e.value_mut() {
            ValueMut::ZSet(z) => Ok(Some(z)),
            _ => Err(WRONGTYPE.into()),
        },
    }
}

/// After removals: deletes the key (and notifies `del`) if the set is empty.
/// Returns true if it was deleted.
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let empty =
        matches!(ctx.db().peek(key).map(|e| e.value()), Some(ValueRef::ZSet(z)) if z.is_empty());
    if empty {
        ctx.delete_key(key);
    }
    empty
}

/// Writes one element of a range reply: the member, then the score if
/// asked (RESP3: a [member, score] pair).
fn reply_element(reply: &mut redust_resp::Reply, member: &[u8], score: f64, withscores: bool) {
    if withscores && reply.resp3 {
        reply.array(2);
    }
    reply.bulk(member);
    if withscores {
        reply.double(score);
    }
}

fn range_header(reply: &mut redust_resp::Reply, n: usize, withscores: bool) {
    reply.array(if withscores && !reply.resp3 { 2 * n } else { n });
}

// ---- ZADD, ZINCRBY, ZREM ----

fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], mut incr: bool) -> CmdResult {
    let key = &args[1];
    let (mut nx, mut xx, mut ch, mut gt, mut lt) = (false, false, false, false, false);
    let mut idx = 2;
    while idx < args.len() {
        let opt = &args[idx];
        if eq_ignore_case(opt, "nx") {
            nx = true;
        } else if eq_ignore_case(opt, "xx") {
            xx = true;
        } else if eq_ignore_case(opt, "ch") {
            ch = true;
        } else if eq_ignore_case(opt, "incr") {
            incr = true;
        } else if eq_ignore_case(opt, "gt") {
            gt = true;
        } else if eq_ignore_case(opt, "lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = args.len() - idx;
    if !elements.is_multiple_of(2) || elements == 0 {
        return Err(errors::SYNTAX.into());
    }
    if nx && xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if incr && elements > 2 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let pairs: Vec<(f64, &[u8])> = args[idx..]
        .chunks(2)
        .map(|p| parse_score(&p[0]).map(|s| (s, &p[1][..])))
        .collect::<Result<_, _>>()?;
    let limits = ctx.limits();

    if zset_mut(ctx, key)?.is_none() {
        if xx {
            if incr {
                ctx.reply.null();
            } else {
                ctx.reply.int(0);
            }
            return Ok(());
        }
        ctx.set_key(key, Value::ZSet(ZSetValue::new()), false);
    }
    let Some(z) = zset_mut(ctx, key)? else {
        return Ok(());
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last_score = 0.0;
    let mut nan = false;
    for &(score, member) in &pairs {
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let mut score = score;
                if incr {
                    score += cur;
                    if score.is_nan() {
                        nan = true;
                        break;
                    }
                }
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                processed += 1;
                last_score = score;
                if score != cur {
                    z.set(member, score, &limits);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.set(member, score, &limits);
                added += 1;
                processed += 1;
                last_score = score;
            }
        }
    }
    if added + updated > 0 {
        ctx.dirty(added + updated);
        ctx.modified(key);
        ctx.notify(ZSET, if incr { "zincr" } else { "zadd" }, key);
        ctx.signal_ready(key);
    }
    if nan {
        return Err(NAN_SCORE.into());
    }
    if incr {
        if processed > 0 {
            ctx.reply.double(last_score);
        } else {
            ctx.reply.null();
        }
    } else {
        ctx.reply
            .int(if ch { added + updated } else { added } as i64);
    }
    Ok(())
}

pub fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, false)
}

pub fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, args, true)
}

pub fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let Some(z) = zset_mut(ctx, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let mut deleted = 0u64;
    for member in &args[2..] {
        if z.remove(member).is_some() {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        let removed = delete_if_empty(ctx, key);
        ctx.notify(ZSET, "zrem", key);
        if removed {
            ctx.notify(GENERIC, "del", key);
        }
        ctx.modified(key);
        ctx.dirty(deleted);
    }
    ctx.reply.int(deleted as i64);
    Ok(())
}

// ---- reads ----

pub fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = if check_read(ctx, &args[1])? {
        peek(ctx.state, ctx.client.db, &args[1]).map_or(0, |z| z.len())
    } else {
        0
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let score = if check_read(ctx, &args[1])? {
        peek(ctx.state, ctx.client.db, &args[1]).and_then(|z| z.score(&args[2]))
    } else {
        None
    };
    match score {
        Some(s) => ctx.reply.double(s),
        None => ctx.reply.null(),
    }
    Ok(())
}

pub fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    check_read(ctx, &args[1])?;
    let z = peek(ctx.state, ctx.client.db, &args[1]);
    ctx.reply.array(args.len() - 2);
    for member in &args[2..] {
        match z.and_then(|z| z.score(member)) {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

fn rank_command(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> CmdResult {
    let rank = if check_read(ctx, &args[1])? {
        peek(ctx.state, ctx.client.db, &args[1]).and_then(|z| {
            z.rank(&args[2])
                .map(|r| if rev { z.len() - 1 - r } else { r })
        })
    } else {
        None
    };
    match rank {
        Some(r) => ctx.reply.int(r as i64),
        None => ctx.reply.null(),
    }
    Ok(())
}

pub fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_command(ctx, args, false)
}

pub fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    rank_command(ctx, args, true)
}

pub fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (min, max) = parse_score_range(&args[2], &args[3])?;
    let n = if check_read(ctx, &args[1])? {
        peek(ctx.state, ctx.client.db, &args[1]).map_or(0, |z| {
            let (s, e) = score_span(z, min, max);
            e - s
        })
    } else {
        0
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (min, max) = parse_lex_range(&args[2], &args[3])?;
    let n = if check_read(ctx, &args[1])? {
        peek(ctx.state, ctx.client.db, &args[1]).map_or(0, |z| {
            let (s, e) = lex_span(z, &min, &max, false, 0, -1);
            e - s
        })
    } else {
        0
    };
    ctx.reply.int(n as i64);
    Ok(())
}

// ---- ZRANGE and friends ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Auto,
    Rank,
    Score,
    Lex,
}

enum ParsedRange {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

/// The ranks to emit, ascending, and whether to emit them backwards.
fn resolve_range(
    z: &ZSetValue,
    range: &ParsedRange,
    rev: bool,
    offset: i64,
    limit: i64,
) -> (usize, usize) {
    let len = z.len() as i64;
    let (lo, hi) = match range {
        ParsedRange::Rank(start, end) => {
            let (mut s, mut e) = (*start, *end);
            if s < 0 {
                s += len;
            }
            if e < 0 {
                e += len;
            }
            if s < 0 {
                s = 0;
            }
            if s > e || s >= len {
                return (0, 0);
            }
            if e >= len {
                e = len - 1;
            }
            return if rev {
                ((len - 1 - e) as usize, (len - s) as usize)
            } else {
                (s as usize, (e + 1) as usize)
            };
        }
        ParsedRange::Score(min, max) => score_span(z, *min, *max),
        ParsedRange::Lex(min, max) => return lex_span(z, min, max, rev, offset, limit),
    };
    apply_limit(lo, hi, rev, offset, limit)
}

/// Applies LIMIT to the ranks `lo..hi` of a range: a negative offset gives
/// nothing, a negative count everything.
fn apply_limit(lo: usize, hi: usize, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    if offset < 0 || lo >= hi {
        return (0, 0);
    }
    let (lo, hi) = (lo as i128, hi as i128);
    let (offset, limit) = (offset as i128, limit as i128);
    if rev {
        let top = hi - offset;
        if top <= lo {
            return (0, 0);
        }
        let bottom = if limit < 0 { lo } else { lo.max(top - limit) };
        (bottom as usize, top as usize)
    } else {
        let from = lo + offset;
        if from >= hi {
            return (0, 0);
        }
        let to = if limit < 0 { hi } else { hi.min(from + limit) };
        (from as usize, to.max(from) as usize)
    }
}

/// ZRANGE, ZRANGESTORE and the older Z[REV]RANGE[BYSCORE|BYLEX]: `first` is
/// the index of the source key.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    first: usize,
    store: Option<&[u8]>,
    mut kind: RangeKind,
    mut rev: Option<bool>,
) -> CmdResult {
    let key = &args[first];
    let (mut min_idx, mut max_idx) = (first + 1, first + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let opt = &args[j];
        if store.is_none() && eq_ignore_case(opt, "withscores") {
            withscores = true;
        } else if eq_ignore_case(opt, "limit") && left >= 2 {
            offset = parse_i64(&args[j + 1])?;
            limit = parse_i64(&args[j + 2])?;
            j += 2;
        } else if rev.is_none() && eq_ignore_case(opt, "rev") {
            rev = Some(true);
        } else if kind == RangeKind::Auto && eq_ignore_case(opt, "bylex") {
            kind = RangeKind::Lex;
        } else if kind == RangeKind::Auto && eq_ignore_case(opt, "byscore") {
            kind = RangeKind::Score;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == RangeKind::Auto {
        kind = RangeKind::Rank;
    }
    if limit != -1 && kind == RangeKind::Rank {
        return Err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .into(),
        );
    }
    if withscores && kind == RangeKind::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into());
    }
    if rev && kind != RangeKind::Rank {
        std::mem::swap(&mut min_idx, &mut max_idx);
    }
    let range = match kind {
        RangeKind::Score => {
            let (a, b) = parse_score_range(&args[min_idx], &args[max_idx])?;
            ParsedRange::Score(a, b)
        }
        RangeKind::Lex => {
            let (a, b) = parse_lex_range(&args[min_idx], &args[max_idx])?;
            ParsedRange::Lex(a, b)
        }
        _ => ParsedRange::Rank(parse_i64(&args[min_idx])?, parse_i64(&args[max_idx])?),
    };
    let exists = check_read(ctx, key)?;
    let db = ctx.client.db;
    let z = if exists {
        peek(ctx.state, db, key)
    } else {
        None
    };
    let (lo, hi) = z.map_or((0, 0), |z| resolve_range(z, &range, rev, offset, limit));
    let Some(dst) = store else {
        range_header(ctx.reply, hi - lo, withscores);
        if let Some(z) = z {
            let reply = &mut *ctx.reply;
            z.visit(lo, hi, rev, &mut |m, s| {
                reply_element(reply, m, s, withscores)
            });
        }
        return Ok(());
    };
    let items = z.map_or_else(Vec::new, |z| z.range(lo, hi, rev));
    if items.is_empty() {
        return store_value(ctx, dst, None, "zrangestore");
    }
    // As Redis: a rank range knows its size and starts as a skiplist when
    // that is past the entries limit; other ranges start as a listpack. The
    // elements are then added one by one (a listpack turns -0 into 0).
    let limits = ctx.limits();
    let mut value = if kind == RangeKind::Rank && items.len() > limits.zset_max_listpack_entries {
        ZSetValue::new_skiplist()
    } else {
        ZSetValue::new()
    };
    for (m, s) in &items {
        value.set(m, *s, &limits);
    }
    store_value(ctx, dst, Some(value), "zrangestore")
}

/// Stores a computed result at `dst` (deleting it when empty) and replies
/// with its size, as ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE do: the result
/// is a `listpack` when it fits the limits.
fn store_result(ctx: &mut Ctx, dst: &[u8], items: Vec<(Vec<u8>, f64)>, event: &str) -> CmdResult {
    let limits = ctx.limits();
    let value = (!items.is_empty())
        .then(|| ZSetValue::from_members(items.iter().map(|(m, s)| (&m[..], *s)), &limits));
    store_value(ctx, dst, value, event)
}

fn store_value(ctx: &mut Ctx, dst: &[u8], value: Option<ZSetValue>, event: &str) -> CmdResult {
    let n = value.as_ref().map_or(0, |z| z.len());
    if let Some(value) = value {
        ctx.set_key(dst, Value::ZSet(value), false);
        ctx.notify(ZSET, event, dst);
        ctx.dirty(1);
        ctx.signal_ready(dst);
    } else if ctx.delete_key(dst) {
        ctx.notify(GENERIC, "del", dst);
        ctx.dirty(1);
    }
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeKind::Auto, None)
}

pub fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 2, Some(&args[1]), RangeKind::Auto, None)
}

pub fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeKind::Rank, Some(true))
}

pub fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeKind::Score, Some(false))
}

pub fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeKind::Score, Some(true))
}

pub fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeKind::Lex, Some(false))
}

pub fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, args, 1, None, RangeKind::Lex, Some(true))
}

// ---- ZREMRANGEBY* ----

fn zremrange_generic(ctx: &mut Ctx, args: &[Bytes], kind: RangeKind) -> CmdResult {
    let key = &args[1];
    let (range, event) = match kind {
        RangeKind::Score => {
            let (a, b) = parse_score_range(&args[2], &args[3])?;
            (ParsedRange::Score(a, b), "zremrangebyscore")
        }
        RangeKind::Lex => {
            let (a, b) = parse_lex_range(&args[2], &args[3])?;
            (ParsedRange::Lex(a, b), "zremrangebylex")
        }
        _ => (
            ParsedRange::Rank(parse_i64(&args[2])?, parse_i64(&args[3])?),
            "zremrangebyrank",
        ),
    };
    let Some(z) = zset_mut(ctx, key)? else {
        ctx.reply.int(0);
        return Ok(());
    };
    let (lo, hi) = resolve_range(z, &range, false, 0, -1);
    let deleted = z.remove_range(lo, hi);
    if deleted > 0 {
        let removed = delete_if_empty(ctx, key);
        ctx.modified(key);
        ctx.notify(ZSET, event, key);
        if removed {
            ctx.notify(GENERIC, "del", key);
        }
        ctx.dirty(deleted as u64);
    }
    ctx.reply.int(deleted as i64);
    Ok(())
}

pub fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeKind::Rank)
}

pub fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeKind::Score)
}

pub fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    zremrange_generic(ctx, args, RangeKind::Lex)
}

// ---- pops ----

/// How a pop replies.
#[derive(Clone, Copy)]
struct PopShape {
    /// Name the key (BZPOP*, ZMPOP).
    emit_key: bool,
    /// [member, score] pairs instead of a flat list (RESP3 with COUNT, ZMPOP).
    nested: bool,
    /// A null instead of an empty array when nothing is there (ZMPOP).
    nil_when_empty: bool,
    /// Replayed with the number popped (ZMPOP, BZMPOP), not the one asked
    /// for (ZPOPMIN/ZPOPMAX key count go out as given), as Redis does.
    replay_popped_count: bool,
}

/// Pops from the first existing sorted set among `keys` (Redis's
/// genericZpopCommand). `count` None is the plain single pop.
fn generic_pop(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    count: Option<u64>,
    shape: PopShape,
) -> CmdResult {
    let mut found = None;
    for key in keys {
        if zset_mut(ctx, key)?.is_some() {
            found = Some(key);
            break;
        }
    }
    let Some(key) = found else {
        if shape.nil_when_empty {
            ctx.reply.null_array();
        } else {
            ctx.reply.array(0);
        }
        return Ok(());
    };
    if count == Some(0) {
        ctx.reply.array(0);
        return Ok(());
    }
    let want = count.unwrap_or(1);
    let mut popped = Vec::new();
    if let Some(z) = zset_mut(ctx, key)? {
        let n = (want.min(z.len() as u64)) as usize;
        popped = if max {
            z.range(z.len() - n, z.len(), true)
        } else {
            z.range(0, n, false)
        };
        let len = z.len();
        if max {
            z.remove_range(len - n, len);
        } else {
            z.remove_range(0, n);
        }
    }
    if !popped.is_empty() {
        // Replayed as the plain pop of what was taken (ZMPOP, BZPOPMIN... included).
        let pop: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        let mut replay = crate::propagate::argv(&[pop, key]);
        if let Some(asked) = count {
            let n = if shape.replay_popped_count {
                popped.len() as u64
            } else {
                asked
            };
            replay.push(Bytes::from(n.to_string()));
        }
        ctx.propagate(replay);
        ctx.dirty(popped.len() as u64);
        ctx.notify(ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        ctx.modified(key);
    }
    if delete_if_empty(ctx, key) {
        ctx.notify(GENERIC, "del", key);
    }
    let reply = &mut *ctx.reply;
    match (shape.nested, shape.emit_key) {
        (false, false) => reply.array(popped.len() * 2),
        (true, false) => reply.array(popped.len()),
        (false, true) => {
            reply.array(popped.len() * 2 + 1);
            reply.bulk(key);
        }
        (true, true) => {
            reply.array(2);
            reply.bulk(key);
            reply.array(popped.len());
        }
    }
    for (m, s) in &popped {
        if shape.nested {
            reply.array(2);
        }
        reply.bulk(m);
        reply.double(*s);
    }
    Ok(())
}

fn pop_command(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(errors::SYNTAX.into());
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match redust_resp::parse::parse_i64(a) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(errors::OUT_OF_RANGE_POSITIVE.into()),
        },
    };
    let shape = PopShape {
        emit_key: false,
        nested: ctx.reply.resp3 && count.is_some(),
        nil_when_empty: false,
        replay_popped_count: false,
    };
    generic_pop(ctx, &args[1..2], max, count, shape)
}

pub fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_command(ctx, args, false)
}

pub fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_command(ctx, args, true)
}

/// The blocking pops: pop from the first non-empty key, or block on all.
fn blocking_pop(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    timeout: &[u8],
    count: Option<u64>,
    shape: PopShape,
) -> CmdResult {
    let deadline = parse_timeout(timeout, ctx.now_ms())?;
    for key in keys {
        let non_empty = zset_mut(ctx, key)?.is_some_and(|z| !z.is_empty());
        if non_empty {
            // Propagated as ZPOPMIN/ZPOPMAX key [count], not as the blocking command.
            return generic_pop(ctx, std::slice::from_ref(key), max, count, shape);
        }
    }
    let keys = keys.iter().map(|k| k.to_vec()).collect();
    ctx.block(keys, deadline, TimeoutReply::NullArray);
    Ok(())
}

fn bpop_command(ctx: &mut Ctx, args: &[Bytes], max: bool) -> CmdResult {
    let shape = PopShape {
        emit_key: true,
        nested: false,
        nil_when_empty: false,
        replay_popped_count: false,
    };
    blocking_pop(
        ctx,
        &args[1..args.len() - 1],
        max,
        &args[args.len() - 1],
        None,
        shape,
    )
}

pub fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop_command(ctx, args, false)
}

pub fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    bpop_command(ctx, args, true)
}

/// Parses `numkeys key... MIN|MAX [COUNT n]` at `args[from]`: (keys range, max, count).
fn parse_mpop(args: &[Bytes], from: usize) -> Result<(usize, usize, bool, u64), CmdError> {
    let numkeys = redust_resp::parse::parse_i64(&args[from])
        .filter(|&n| n >= 1)
        .ok_or(CmdError::from(errors::NUMKEYS_NOT_POSITIVE))? as u64;
    let where_idx = (from as u64 + 1).saturating_add(numkeys);
    if where_idx >= args.len() as u64 {
        return Err(errors::SYNTAX.into());
    }
    let where_idx = where_idx as usize;
    let max = if eq_ignore_case(&args[where_idx], "min") {
        false
    } else if eq_ignore_case(&args[where_idx], "max") {
        true
    } else {
        return Err(errors::SYNTAX.into());
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && eq_ignore_case(&args[j], "count") && more > 0 {
            j += 1;
            let n = redust_resp::parse::parse_i64(&args[j])
                .filter(|&n| n >= 1)
                .ok_or(CmdError::from(errors::COUNT_NOT_POSITIVE))?;
            count = Some(n as u64);
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    Ok((from + 1, where_idx, max, count.unwrap_or(1)))
}

pub fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (first, end, max, count) = parse_mpop(args, 1)?;
    let shape = PopShape {
        emit_key: true,
        nested: true,
        nil_when_empty: true,
        replay_popped_count: true,
    };
    // Propagated as ZPOPMIN/ZPOPMAX key count.
    generic_pop(ctx, &args[first..end], max, Some(count), shape)
}

pub fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (first, end, max, count) = parse_mpop(args, 2)?;
    let shape = PopShape {
        emit_key: true,
        nested: true,
        nil_when_empty: true,
        replay_popped_count: true,
    };
    blocking_pop(ctx, &args[first..end], max, &args[1], Some(count), shape)
}

// ---- ZUNION, ZINTER, ZDIFF (and STORE), ZINTERCARD ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            // +inf + -inf: Redis keeps 0 rather than NaN.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

/// One input of a set operation: a sorted set, a set (scores 1) or nothing.
enum Source<'a> {
    Missing,
    ZSet(&'a ZSetValue),
    Set(Vec<Cow<'a, [u8]>>, HashSet<Cow<'a, [u8]>>),
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::ZSet(z) => z.len(),
            Source::Set(v, _) => v.len(),
        }
    }

    fn elements(&self) -> Vec<(&[u8], f64)> {
        match self {
            Source::Missing => Vec::new(),
            Source::ZSet(z) => z.iter().collect(),
            Source::Set(v, _) => v.iter().map(|m| (&m[..], 1.0)).collect(),
        }
    }

    fn find(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::ZSet(z) => z.score(member),
            Source::Set(_, s) => s.contains(member).then_some(1.0),
        }
    }

    /// Same key given twice (Redis compares the objects).
    fn same(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::ZSet(a), Source::ZSet(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

fn set_op_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
    name: &str,
) -> CmdResult {
    let numkeys = parse_i64(&args[numkeys_idx])?;
    if numkeys < 1 {
        return Err(format!("ERR at least 1 input key is needed for '{name}' command").into());
    }
    if numkeys as u64 > (args.len() - numkeys_idx - 1) as u64 {
        return Err(errors::SYNTAX.into());
    }
    let numkeys = numkeys as usize;
    let keys = &args[numkeys_idx + 1..numkeys_idx + 1 + numkeys];
    for key in keys {
        if let Some(e) = ctx.lookup_read(key) {
            if !matches!(e.value(), ValueRef::ZSet(_) | ValueRef::Set(_)) {
                return Err(WRONGTYPE.into());
            }
        }
    }
    let mut weights = vec![1.0f64; numkeys];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0u64;
    let mut j = numkeys_idx + 1 + numkeys;
    while j < args.len() {
        let remaining = args.len() - j;
        let opt = &args[j];
        if op != SetOp::Diff && !card_only && remaining > numkeys && eq_ignore_case(opt, "weights")
        {
            j += 1;
            for w in weights.iter_mut() {
                *w = string2d(&args[j]).ok_or(CmdError::from("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff
            && !card_only
            && remaining >= 2
            && eq_ignore_case(opt, "aggregate")
        {
            let v = &args[j + 1];
            how = if eq_ignore_case(v, "sum") {
                Aggregate::Sum
            } else if eq_ignore_case(v, "min") {
                Aggregate::Min
            } else if eq_ignore_case(v, "max") {
                Aggregate::Max
            } else {
                return Err(errors::SYNTAX.into());
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ignore_case(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ignore_case(opt, "limit") {
            limit = redust_resp::parse::parse_i64(&args[j + 1])
                .filter(|&n| n >= 0)
                .ok_or(CmdError::from(errors::LIMIT_NEGATIVE))? as u64;
            j += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }

    let db = ctx.client.db;
    let (result, cardinality) = {
        let dbr = &ctx.state.dbs[db];
        let mut srcs: Vec<(Source, f64)> = keys
            .iter()
            .zip(&weights)
            .map(|(k, &w)| {
                let src = match dbr.peek(k).map(|e| e.value()) {
                    Some(ValueRef::ZSet(z)) => Source::ZSet(z),
                    Some(ValueRef::Set(s)) => {
                        let members = s.members();
                        let set = members.iter().cloned().collect();
                        Source::Set(members, set)
                    }
                    _ => Source::Missing,
                };
                (src, w)
            })
            .collect();
        if op != SetOp::Diff {
            srcs.sort_by_key(|(s, _)| s.len());
        }
        compute_set_op(&srcs, op, how, card_only, limit)
    };
    if card_only {
        ctx.reply.int(cardinality as i64);
        return Ok(());
    }
    let mut result = result;
    if let Some(dst) = dst {
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        return store_result(ctx, dst, result, event);
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    range_header(ctx.reply, result.len(), withscores);
    for (m, s) in &result {
        reply_element(ctx.reply, m, *s, withscores);
    }
    Ok(())
}

/// The elements of a union, intersection or difference (unordered), or just
/// the intersection's size (ZINTERCARD, stopping at `limit` when not 0).
fn compute_set_op(
    srcs: &[(Source, f64)],
    op: SetOp,
    how: Aggregate,
    card_only: bool,
    limit: u64,
) -> (Vec<(Vec<u8>, f64)>, u64) {
    let weighted = |s: f64, w: f64| {
        let v = s * w;
        if v.is_nan() {
            0.0
        } else {
            v
        }
    };
    let mut out = Vec::new();
    let mut cardinality = 0u64;
    match op {
        SetOp::Inter => {
            let (first, w0) = &srcs[0];
            if first.len() == 0 {
                return (out, 0);
            }
            for (m, s) in first.elements() {
                let mut score = weighted(s, *w0);
                let mut all = true;
                for (src, w) in &srcs[1..] {
                    let value = if src.same(first) {
                        Some(s)
                    } else {
                        src.find(m)
                    };
                    match value {
                        // No NaN fix-up here (as Redis): a NaN product makes
                        // SUM 0 and leaves MIN/MAX unchanged.
                        Some(v) => aggregate(&mut score, v * *w, how),
                        None => {
                            all = false;
                            break;
                        }
                    }
                }
                if all {
                    if card_only {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit {
                            break;
                        }
                    } else {
                        out.push((m.to_vec(), score));
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<&[u8], f64> = HashMap::new();
            let mut order: Vec<&[u8]> = Vec::new();
            for (src, w) in srcs {
                for (m, s) in src.elements() {
                    let score = weighted(s, *w);
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m, score);
                            order.push(m);
                        }
                    }
                }
            }
            out = order.into_iter().map(|m| (m.to_vec(), acc[m])).collect();
        }
        SetOp::Diff => {
            let (first, _) = &srcs[0];
            if srcs[1..].iter().any(|(s, _)| s.same(first)) {
                return (out, 0);
            }
            for (m, s) in first.elements() {
                if !srcs[1..].iter().any(|(src, _)| src.find(m).is_some()) {
                    out.push((m.to_vec(), s));
                }
            }
        }
    }
    (out, cardinality)
}

pub fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(ctx, args, None, 1, SetOp::Union, false, "zunion")
}

pub fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(ctx, args, None, 1, SetOp::Inter, false, "zinter")
}

pub fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(ctx, args, None, 1, SetOp::Diff, false, "zdiff")
}

pub fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(
        ctx,
        args,
        Some(&args[1]),
        2,
        SetOp::Union,
        false,
        "zunionstore",
    )
}

pub fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(
        ctx,
        args,
        Some(&args[1]),
        2,
        SetOp::Inter,
        false,
        "zinterstore",
    )
}

pub fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(
        ctx,
        args,
        Some(&args[1]),
        2,
        SetOp::Diff,
        false,
        "zdiffstore",
    )
}

pub fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_op_generic(ctx, args, None, 1, SetOp::Inter, true, "zintercard")
}

// ---- ZRANDMEMBER, ZSCAN ----

pub fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if args.len() < 3 {
        if !check_read(ctx, key)? {
            ctx.reply.null();
            return Ok(());
        }
        let db = ctx.client.db;
        let state = &mut *ctx.state;
        let member = match state.dbs[db].peek(key).map(|e| e.value()) {
            Some(ValueRef::ZSet(z)) if !z.is_empty() => {
                let i = rand::Rng::gen_range(&mut state.rng, 0..z.len());
                z.get(i).map(|(m, _)| m.to_vec())
            }
            _ => None,
        };
        match member {
            Some(m) => ctx.reply.bulk(&m),
            None => ctx.reply.null(),
        }
        return Ok(());
    }
    let l = match redust_resp::parse::parse_i64(&args[2]) {
        None => return Err(errors::NOT_INTEGER.into()),
        Some(i64::MIN) => {
            return Err(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
                    .into(),
            )
        }
        Some(n) => n,
    };
    if args.len() > 4 || (args.len() == 4 && !eq_ignore_case(&args[3], "withscores")) {
        return Err(errors::SYNTAX.into());
    }
    let withscores = args.len() == 4;
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return Err(errors::OUT_OF_RANGE.into());
    }
    if !check_read(ctx, key)? {
        ctx.reply.array(0);
        return Ok(());
    }
    let db = ctx.client.db;
    let state = &mut *ctx.state;
    let reply = &mut *ctx.reply;
    let Some(z) = (match state.dbs[db].peek(key).map(|e| e.value()) {
        Some(ValueRef::ZSet(z)) => Some(z),
        _ => None,
    }) else {
        reply.array(0);
        return Ok(());
    };
    let rng = &mut state.rng;
    let size = z.len();
    if l == 0 || size == 0 {
        reply.array(0);
        return Ok(());
    }
    if l < 0 || l == 1 {
        // With repetitions, in random order.
        let count = l.unsigned_abs() as usize;
        range_header(reply, count, withscores);
        for _ in 0..count {
            let i = rand::Rng::gen_range(rng, 0..size);
            if let Some((m, s)) = z.get(i) {
                reply_element(reply, m, s, withscores);
            }
        }
        return Ok(());
    }
    let count = l as usize;
    if count >= size {
        // The whole set (Redis walks it from the highest score).
        range_header(reply, size, withscores);
        z.visit(0, size, true, &mut |m, s| {
            reply_element(reply, m, s, withscores)
        });
        return Ok(());
    }
    let mut picks = rand::seq::index::sample(rng, size, count).into_vec();
    range_header(reply, count, withscores);
    if count * 4 > size || matches!(z, ZSetValue::Listpack(_)) {
        // One pass over the set, in a random order of the picks.
        picks.sort_unstable();
        let mut chosen: Vec<(&[u8], f64)> = Vec::with_capacity(count);
        let mut next = 0;
        let mut rank = 0;
        z.visit(0, size, false, &mut |m, s| {
            if next < picks.len() && picks[next] == rank {
                chosen.push((m, s));
                next += 1;
            }
            rank += 1;
        });
        rand::seq::SliceRandom::shuffle(&mut chosen[..], rng);
        for (m, s) in chosen {
            reply_element(reply, m, s, withscores);
        }
    } else {
        for i in picks {
            if let Some((m, s)) = z.get(i) {
                reply_element(reply, m, s, withscores);
            }
        }
    }
    Ok(())
}

/// A SCAN cursor as Redis's strtoul reads it (a sign and leading zeros are
/// allowed, negative numbers wrap, an empty cursor is 0).
fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let err = || CmdError::from(errors::INVALID_CURSOR);
    if arg.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        Some(c) if c.is_ascii_whitespace() => return Err(err()),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(err());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .ok_or_else(err)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

pub fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let cursor = parse_scan_cursor(&args[2])?;
    if !check_read(ctx, key)? {
        ctx.reply.array(2);
        ctx.reply.bulk(b"0");
        ctx.reply.array(0);
        return Ok(());
    }
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let left = args.len() - i - 1;
        if eq_ignore_case(&args[i], "count") && left >= 1 {
            let n = parse_i64(&args[i + 1])?;
            if n < 1 {
                return Err(errors::SYNTAX.into());
            }
            count = n as usize;
        } else if eq_ignore_case(&args[i], "match") && left >= 1 {
            pattern = Some(&args[i + 1]);
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    // "*" matches everything: skip the matcher.
    let pattern = pattern.filter(|p| *p != b"*");
    let Some(z) = peek(ctx.state, ctx.client.db, key) else {
        return Ok(());
    };
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            found.push((m.to_vec(), s));
        }
    });
    let reply = &mut *ctx.reply;
    reply.array(2);
    reply.bulk(next.to_string().as_bytes());
    reply.array(found.len() * 2);
    for (m, s) in found {
        reply.bulk(&m);
        reply.bulk(redust_resp::format_double(s).as_bytes());
    }
    Ok(())
}
