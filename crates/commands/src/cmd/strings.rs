//! String commands: GET SET and options, counters, ranges, LCS.

use crate::args::{eq_ignore_case, parse_i64};
use crate::errors::{self, CmdError, CmdResult, WRONGTYPE};
use crate::exec::Ctx;
use crate::long_double::LongDouble;
use crate::notify::{GENERIC, STRING};
use crate::propagate::argv;
use bytes::Bytes;
use redust_keyspace::{Value, ValueMut, ValueRef};

/// How a command asked for the key's time to live.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TtlOption {
    None,
    /// Absolute expiry time in ms.
    At(i64),
    Keep,
    Persist,
}

/// Turns an EX/PX/EXAT/PXAT argument into an absolute time in ms, with
/// Redis's checks (positive, no overflow).
pub fn expire_arg_to_ms(
    ctx: &Ctx,
    arg: &[u8],
    unit_secs: bool,
    absolute: bool,
    command: &str,
) -> Result<i64, CmdError> {
    let n = parse_i64(arg)?;
    if n <= 0 || (unit_secs && n > i64::MAX / 1000) {
        return Err(errors::invalid_expire(command));
    }
    let ms = if unit_secs { n * 1000 } else { n };
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(ctx.now_ms())
            .ok_or_else(|| errors::invalid_expire(command))
    }
}

/// A TTL option as written: the syntax of every option is checked first,
/// its value afterwards (`resolve_ttl`), in Redis's order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TtlSyntax {
    None,
    Keep,
    Persist,
    /// EX/PX/EXAT/PXAT with its value at `args[arg]`.
    Expire {
        arg: usize,
        secs: bool,
        abs: bool,
    },
}

/// Parses the TTL options from `args[from..]` (and, through `other`, the
/// command's own flags). As in Redis, an option may repeat (the last value
/// wins) but two different ones conflict.
fn parse_ttl_syntax(
    args: &[Bytes],
    from: usize,
    allow_keep: bool,
    allow_persist: bool,
    mut other: impl FnMut(&[u8]) -> bool,
) -> Result<TtlSyntax, CmdError> {
    let mut ttl = TtlSyntax::None;
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        let unit = if eq_ignore_case(a, "ex") {
            Some((true, false))
        } else if eq_ignore_case(a, "px") {
            Some((false, false))
        } else if eq_ignore_case(a, "exat") {
            Some((true, true))
        } else if eq_ignore_case(a, "pxat") {
            Some((false, true))
        } else {
            None
        };
        if let Some((secs, abs)) = unit {
            let conflict = match ttl {
                TtlSyntax::None => false,
                TtlSyntax::Expire {
                    secs: s, abs: b, ..
                } => (s, b) != (secs, abs),
                _ => true,
            };
            if conflict || i + 1 >= args.len() {
                return Err(errors::SYNTAX.into());
            }
            i += 1;
            ttl = TtlSyntax::Expire { arg: i, secs, abs };
        } else if allow_keep && eq_ignore_case(a, "keepttl") {
            if !matches!(ttl, TtlSyntax::None | TtlSyntax::Keep) {
                return Err(errors::SYNTAX.into());
            }
            ttl = TtlSyntax::Keep;
        } else if allow_persist && eq_ignore_case(a, "persist") {
            if !matches!(ttl, TtlSyntax::None | TtlSyntax::Persist) {
                return Err(errors::SYNTAX.into());
            }
            ttl = TtlSyntax::Persist;
        } else if !other(a) {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok(ttl)
}

/// Checks and converts the value of a parsed TTL option.
fn resolve_ttl(
    ctx: &Ctx,
    args: &[Bytes],
    ttl: TtlSyntax,
    command: &str,
) -> Result<TtlOption, CmdError> {
    Ok(match ttl {
        TtlSyntax::None => TtlOption::None,
        TtlSyntax::Keep => TtlOption::Keep,
        TtlSyntax::Persist => TtlOption::Persist,
        TtlSyntax::Expire { arg, secs, abs } => {
            TtlOption::At(expire_arg_to_ms(ctx, &args[arg], secs, abs, command)?)
        }
    })
}

/// `parse_ttl_syntax`, then the value (SET checks it before the key).
fn parse_ttl_options(
    ctx: &Ctx,
    args: &[Bytes],
    from: usize,
    command: &str,
    allow_keep: bool,
    allow_persist: bool,
    other: impl FnMut(&[u8]) -> bool,
) -> Result<TtlOption, CmdError> {
    let syntax = parse_ttl_syntax(args, from, allow_keep, allow_persist, other)?;
    resolve_ttl(ctx, args, syntax, command)
}

fn check_size(ctx: &Ctx, len: usize) -> CmdResult {
    if len as u64 > ctx.state.config.proto_max_bulk_len {
        return Err(errors::STRING_TOO_LONG.into());
    }
    Ok(())
}

pub fn get(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    match ctx.read_string(&args[1])? {
        Some(v) => {
            let v = v.into_owned();
            ctx.reply.bulk(&v)
        }
        None => ctx.reply.null(),
    }
    Ok(())
}

/// When SET writes: always, only if the key is missing (NX), only if it exists (XX).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SetCondition {
    Always,
    IfMissing,
    IfExists,
}

/// What a SET-like command asked for.
#[derive(Clone, Copy, Debug)]
struct SetOptions {
    ttl: TtlOption,
    condition: SetCondition,
    /// Reply with the old value (GET, GETSET).
    return_old: bool,
}

impl SetOptions {
    fn with_ttl(ttl: TtlOption) -> SetOptions {
        SetOptions {
            ttl,
            condition: SetCondition::Always,
            return_old: false,
        }
    }
}

/// The generic SET used by SET, SETEX, PSETEX and GETSET.
/// `replay`: what the write propagates as when no TTL rewrite applies (SET
/// without its GET option, GETSET as SET), `None` for the command itself.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    opts: SetOptions,
    replay: Option<Vec<Bytes>>,
) -> CmdResult {
    let SetOptions {
        ttl,
        condition,
        return_old: get,
    } = opts;
    let (nx, xx) = (
        condition == SetCondition::IfMissing,
        condition == SetCondition::IfExists,
    );
    let old = if get {
        match ctx.lookup_read(key) {
            Some(e) => match e.value().string_bytes() {
                Some(b) => Some(b.into_owned()),
                None => return Err(WRONGTYPE.into()),
            },
            None => None,
        }
    } else {
        None
    };
    let exists = if get {
        old.is_some()
    } else {
        (nx || xx) && ctx.exists(key)
    };
    if (nx && exists) || (xx && !exists) {
        if get {
            match old {
                Some(v) => ctx.reply.bulk(&v),
                None => ctx.reply.null(),
            }
        } else {
            ctx.reply.null();
        }
        return Ok(());
    }
    ctx.set_string(key, value, ttl == TtlOption::Keep);
    ctx.dirty(1);
    ctx.notify(STRING, "set", key);
    if let TtlOption::At(at) = ttl {
        ctx.db().set_expire(key, at);
        ctx.notify(GENERIC, "expire", key);
        // Replayed with the absolute time, so a later replay expires it at the same moment.
        ctx.propagate(argv(&[
            b"SET",
            key,
            value,
            b"PXAT",
            at.to_string().as_bytes(),
        ]));
    } else if let Some(replay) = replay {
        ctx.propagate(replay);
    }
    if get {
        match old {
            Some(v) => ctx.reply.bulk(&v),
            None => ctx.reply.null(),
        }
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

pub fn set(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut get) = (false, false, false);
    let ttl = parse_ttl_options(ctx, args, 3, "set", true, false, |a| {
        if eq_ignore_case(a, "nx") && !xx {
            nx = true;
        } else if eq_ignore_case(a, "xx") && !nx {
            xx = true;
        } else if eq_ignore_case(a, "get") {
            get = true;
        } else {
            return false;
        }
        true
    })?;
    check_size(ctx, args[2].len())?;
    let condition = match (nx, xx) {
        (true, _) => SetCondition::IfMissing,
        (_, true) => SetCondition::IfExists,
        _ => SetCondition::Always,
    };
    // Replicas and the AOF get the write without GET, as Redis sends it.
    let replay = get.then(|| {
        args.iter()
            .enumerate()
            .filter(|(i, a)| *i < 3 || !eq_ignore_case(a, "get"))
            .map(|(_, a)| a.clone())
            .collect()
    });
    set_generic(
        ctx,
        &args[1],
        &args[2],
        SetOptions {
            ttl,
            condition,
            return_old: get,
        },
        replay,
    )
}

pub fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    if ctx.exists(&args[1]) {
        ctx.reply.int(0);
        return Ok(());
    }
    ctx.set_string(&args[1], &args[2], false);
    ctx.dirty(1);
    ctx.notify(STRING, "set", &args[1]);
    ctx.reply.int(1);
    Ok(())
}

pub fn setex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let at = expire_arg_to_ms(ctx, &args[2], true, false, "setex")?;
    set_generic(
        ctx,
        &args[1],
        &args[3],
        SetOptions::with_ttl(TtlOption::At(at)),
        None,
    )
}

pub fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let at = expire_arg_to_ms(ctx, &args[2], false, false, "psetex")?;
    set_generic(
        ctx,
        &args[1],
        &args[3],
        SetOptions::with_ttl(TtlOption::At(at)),
        None,
    )
}

pub fn getset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    set_generic(
        ctx,
        &args[1],
        &args[2],
        SetOptions {
            return_old: true,
            ..SetOptions::with_ttl(TtlOption::None)
        },
        Some(vec![
            Bytes::from_static(b"SET"),
            args[1].clone(),
            args[2].clone(),
        ]),
    )
}

pub fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let Some(v) = ctx.read_string(&args[1])?.map(|v| v.into_owned()) else {
        ctx.reply.null();
        return Ok(());
    };
    let lazy = ctx.state.config.lazyfree_lazy_user_del;
    ctx.delete_key_lazily(&args[1], lazy);
    ctx.dirty(1);
    ctx.notify(GENERIC, "del", &args[1]);
    let verb = crate::propagate::deletion_verb(lazy);
    ctx.propagate(argv(&[verb, &args[1]]));
    ctx.reply.bulk(&v);
    Ok(())
}

pub fn getex(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Redis's order: the options' syntax, the key (nil, WRONGTYPE), the value.
    let syntax = parse_ttl_syntax(args, 2, false, true, |_| false)?;
    let key = &args[1];
    let Some(v) = ctx.read_string(key)?.map(|v| v.into_owned()) else {
        ctx.reply.null();
        return Ok(());
    };
    let ttl = resolve_ttl(ctx, args, syntax, "getex")?;
    match ttl {
        TtlOption::At(at) if at <= ctx.now_ms() => {
            ctx.delete_key(key);
            ctx.dirty(1);
            ctx.notify(GENERIC, "del", key);
            let verb = crate::propagate::deletion_verb(ctx.state.config.lazyfree_lazy_expire);
            ctx.propagate(argv(&[verb, key]));
        }
        TtlOption::At(at) => {
            ctx.db().set_expire(key, at);
            ctx.modified(key);
            ctx.dirty(1);
            ctx.notify(GENERIC, "expire", key);
            ctx.propagate(argv(&[b"PEXPIREAT", key, at.to_string().as_bytes()]));
        }
        TtlOption::Persist if ctx.db().persist(key) => {
            ctx.modified(key);
            ctx.dirty(1);
            ctx.notify(GENERIC, "persist", key);
            ctx.propagate(argv(&[b"PERSIST", key]));
        }
        _ => {}
    }
    ctx.reply.bulk(&v);
    Ok(())
}

pub fn mget(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    ctx.reply.array(args.len() - 1);
    for key in &args[1..] {
        let v = ctx
            .lookup_read(key)
            .and_then(|e| e.value().string_bytes().map(|b| b.into_owned()));
        match v {
            Some(v) => ctx.reply.bulk(&v),
            None => ctx.reply.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(errors::wrong_args(if nx { "msetnx" } else { "mset" }));
    }
    if nx && args[1..].chunks(2).any(|kv| ctx.exists(&kv[0])) {
        ctx.reply.int(0);
        return Ok(());
    }
    for kv in args[1..].chunks(2) {
        ctx.set_string(&kv[0], &kv[1], false);
        ctx.notify(STRING, "set", &kv[0]);
    }
    ctx.dirty(((args.len() - 1) / 2) as u64);
    if nx {
        ctx.reply.int(1);
    } else {
        ctx.reply.ok();
    }
    Ok(())
}

pub fn mset(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, false)
}

pub fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    mset_generic(ctx, args, true)
}

pub fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let len = match ctx.lookup_read(&args[1]) {
        None => 0,
        Some(e) => e.value().string_len().ok_or(CmdError::from(WRONGTYPE))?,
    };
    ctx.reply.int(len as i64);
    Ok(())
}

pub fn append(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let max = ctx.state.config.proto_max_bulk_len;
    let new_len = match ctx.lookup_write(key) {
        None => None,
        Some(e) => {
            let cur = e.value().string_len().ok_or(CmdError::from(WRONGTYPE))?;
            if (cur + args[2].len()) as u64 > max {
                return Err(errors::STRING_TOO_LONG.into());
            }
            // Appending makes the string `raw`, with room to grow in place.
            if let ValueMut::RawStr(data) = e.value_mut() {
                data.extend_from_slice(&args[2]);
                Some(data.len())
            } else {
                let mut data = Vec::with_capacity(cur + args[2].len());
                data.extend_from_slice(&e.value().string_bytes().unwrap_or_default());
                data.extend_from_slice(&args[2]);
                let len = data.len();
                e.set_value(Value::RawStr(data));
                Some(len)
            }
        }
    };
    let len = match new_len {
        Some(len) => {
            ctx.modified(key);
            len
        }
        None => {
            check_size(ctx, args[2].len())?;
            // A new key takes the value as SET would store it (int when it
            // is one), as Redis's APPEND does.
            ctx.set_string(key, &args[2], false);
            args[2].len()
        }
    };
    ctx.dirty(1);
    ctx.notify(STRING, "append", key);
    ctx.reply.int(len as i64);
    Ok(())
}

/// Adds `delta` to the integer at `key` (INCR family).
fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult {
    // One lookup: an integer already stored is rewritten in place.
    let updated = match ctx.lookup_write(key) {
        None => None,
        Some(e) => {
            let current = match e.value() {
                ValueRef::Int(n) => n,
                v => {
                    let b = v.string_bytes().ok_or(CmdError::from(WRONGTYPE))?;
                    redust_resp::parse::parse_i64(&b).ok_or(CmdError::from(errors::NOT_INTEGER))?
                }
            };
            let new = current
                .checked_add(delta)
                .ok_or(CmdError::from(errors::OVERFLOW))?;
            e.set_value(Value::Int(new));
            Some(new)
        }
    };
    let new = match updated {
        Some(new) => {
            ctx.modified(key);
            new
        }
        None => {
            ctx.set_key(key, Value::Int(delta), false);
            delta
        }
    };
    ctx.dirty(1);
    ctx.notify(STRING, "incrby", key);
    ctx.reply.int(new);
    Ok(())
}

pub fn incr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, &args[1], 1)
}

pub fn decr(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    incr_by(ctx, &args[1], -1)
}

pub fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = parse_i64(&args[2])?;
    incr_by(ctx, &args[1], delta)
}

pub fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let delta = parse_i64(&args[2])?;
    if delta == i64::MIN {
        return Err("ERR decrement would overflow".into());
    }
    incr_by(ctx, &args[1], -delta)
}

pub fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    // Redis's order: the key's type, its value, then the increment.
    let current = match ctx.lookup_write(key) {
        None => LongDouble::from_i64(0),
        Some(e) => {
            let b = e.value().string_bytes().ok_or(CmdError::from(WRONGTYPE))?;
            LongDouble::parse(&b).ok_or(CmdError::from(errors::NOT_FLOAT))?
        }
    };
    let incr = LongDouble::parse(&args[2]).ok_or(CmdError::from(errors::NOT_FLOAT))?;
    let new = current + incr;
    if !new.is_finite() || !incr.is_finite() || !current.is_finite() {
        return Err(errors::INCR_NAN_OR_INFINITY.into());
    }
    let text = new.to_human();
    // Redis stores the formatted float as a string object, never as an int
    // (embstr when short, raw past 44 bytes).
    let value = if text.len() <= 44 {
        Value::Str(text.as_bytes().to_vec())
    } else {
        Value::RawStr(text.as_bytes().to_vec())
    };
    ctx.set_key(key, value, true);
    ctx.dirty(1);
    ctx.notify(STRING, "incrbyfloat", key);
    // Replayed as the resulting value: float formatting must not differ between copies.
    ctx.propagate(argv(&[b"SET", key, text.as_bytes(), b"KEEPTTL"]));
    ctx.reply.bulk(text.as_bytes());
    Ok(())
}

pub fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let offset = parse_i64(&args[2])?;
    if offset < 0 {
        return Err("ERR offset is out of range".into());
    }
    let value = &args[3];
    let max = ctx.state.config.proto_max_bulk_len;
    let existing = match ctx.lookup_write(key) {
        None => None,
        Some(e) => Some(e.value().string_len().ok_or(CmdError::from(WRONGTYPE))?),
    };
    if value.is_empty() {
        ctx.reply.int(existing.unwrap_or(0) as i64);
        return Ok(());
    }
    let end = offset as u64 + value.len() as u64;
    if end > max {
        return Err(errors::STRING_TOO_LONG.into());
    }
    let offset = offset as usize;
    let len = match ctx.lookup_write(key) {
        Some(e) => {
            let write = |data: &mut Vec<u8>| {
                if data.len() < offset + value.len() {
                    data.resize(offset + value.len(), 0);
                }
                data[offset..offset + value.len()].copy_from_slice(value);
                data.len()
            };
            // SETRANGE makes the string `raw`, changed in place from then on.
            let len = if let ValueMut::RawStr(data) = e.value_mut() {
                write(data)
            } else {
                let mut data = e
                    .value()
                    .string_bytes()
                    .map(|b| b.into_owned())
                    .unwrap_or_default();
                let len = write(&mut data);
                e.set_value(Value::RawStr(data));
                len
            };
            ctx.modified(key);
            len
        }
        None => {
            let mut data = vec![0u8; offset + value.len()];
            data[offset..].copy_from_slice(value);
            let len = data.len();
            ctx.set_key(key, Value::RawStr(data), false);
            len
        }
    };
    ctx.dirty(1);
    ctx.notify(STRING, "setrange", key);
    ctx.reply.int(len as i64);
    Ok(())
}

/// The byte range GETRANGE returns for `start..=end` over a string of `len`.
pub fn range_of(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if len == 0 || s > e {
        return None;
    }
    Some((s as usize, e as usize))
}

pub fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let Some(v) = ctx.read_string(&args[1])?.map(|v| v.into_owned()) else {
        ctx.reply.bulk(b"");
        return Ok(());
    };
    match range_of(start, end, v.len()) {
        Some((s, e)) => ctx.reply.bulk(&v[s..=e]),
        None => ctx.reply.bulk(b""),
    }
    Ok(())
}

/// One LCS match: the range in the first string, in the second, and its length.
type LcsMatch = ((usize, usize), (usize, usize), usize);

pub fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    // Redis's order: both keys looked up, their types, then the options.
    let mut fetch = |key: &[u8]| -> Option<Option<Vec<u8>>> {
        match ctx.lookup_read(key) {
            None => Some(Some(Vec::new())),
            Some(e) => Some(e.value().string_bytes().map(|b| b.into_owned())),
        }
    };
    let (a, b) = (fetch(&args[1]).flatten(), fetch(&args[2]).flatten());
    let (Some(a), Some(b)) = (a, b) else {
        return Err("ERR The specified keys must contain string values".into());
    };
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if eq_ignore_case(a, "len") {
            get_len = true;
        } else if eq_ignore_case(a, "idx") {
            get_idx = true;
        } else if eq_ignore_case(a, "withmatchlen") {
            with_match_len = true;
        } else if eq_ignore_case(a, "minmatchlen") && i + 1 < args.len() {
            i += 1;
            min_match_len = parse_i64(&args[i])?.max(0);
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if get_idx && get_len {
        return Err("ERR If you want both the length and indexes, please just use IDX.".into());
    }
    if (a.len() as u64 + 1) * (b.len() as u64 + 1) > u32::MAX as u64 / 4 {
        return Err(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len".into(),
        );
    }
    let (alen, blen) = (a.len(), b.len());
    let width = blen + 1;
    let mut table = vec![0u32; (alen + 1) * (blen + 1)];
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let lcs_len = table[alen * width + blen] as usize;
    let mut result = vec![0u8; lcs_len];
    // Walk back from the end, collecting matched ranges (newest last found first).
    let mut ranges: Vec<LcsMatch> = Vec::new();
    let (mut i, mut j, mut idx) = (alen, blen, lcs_len);
    let mut current: Option<(usize, usize, usize, usize)> = None; // a_start, a_end, b_start, b_end
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            match current.as_mut() {
                None => current = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = current {
                if r.0 == 0 || r.2 == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if current.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some(r) = current.take() {
                let match_len = r.1 - r.0 + 1;
                if min_match_len == 0 || match_len as i64 >= min_match_len {
                    ranges.push(((r.0, r.1), (r.2, r.3), match_len));
                }
            }
        }
    }
    if get_idx {
        ctx.reply.map(2);
        ctx.reply.bulk(b"matches");
        ctx.reply.array(ranges.len());
        for ((as_, ae), (bs, be), len) in &ranges {
            ctx.reply.array(if with_match_len { 3 } else { 2 });
            ctx.reply.array(2);
            ctx.reply.int(*as_ as i64);
            ctx.reply.int(*ae as i64);
            ctx.reply.array(2);
            ctx.reply.int(*bs as i64);
            ctx.reply.int(*be as i64);
            if with_match_len {
                ctx.reply.int(*len as i64);
            }
        }
        ctx.reply.bulk(b"len");
        ctx.reply.int(lcs_len as i64);
    } else if get_len {
        ctx.reply.int(lcs_len as i64);
    } else {
        ctx.reply.bulk(&result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getrange_indices_follow_redis() {
        assert_eq!(range_of(0, -1, 5), Some((0, 4)));
        assert_eq!(range_of(-3, -1, 5), Some((2, 4)));
        assert_eq!(range_of(3, 1, 5), None);
        assert_eq!(range_of(0, 100, 5), Some((0, 4)));
        assert_eq!(range_of(-1, -5, 5), None);
        assert_eq!(range_of(0, 0, 0), None);
    }
}
