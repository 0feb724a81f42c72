//! List commands (the basic set; blocking commands and compact encodings
//! come with the collections work).

use crate::args::parse_i64;
use crate::errors::{CmdError, CmdResult, WRONGTYPE};
use crate::exec::Ctx;
use crate::notify::LIST;
use bytes::Bytes;
use redust_keyspace::Value;
use std::collections::VecDeque;

fn push_generic(ctx: &mut Ctx, args: &[Bytes], left: bool, only_existing: bool) -> CmdResult {
    let key = &args[1];
    let len = match ctx.lookup_write(key) {
        Some(e) => {
            let Value::List(list) = &mut e.value else {
                return Err(WRONGTYPE.into());
            };
            for v in &args[2..] {
                if left {
                    list.push_front(v.to_vec());
                } else {
                    list.push_back(v.to_vec());
                }
            }
            let len = list.len();
            ctx.modified(key);
            len
        }
        None if only_existing => {
            ctx.reply.int(0);
            return Ok(());
        }
        None => {
            let mut list = VecDeque::with_capacity(args.len() - 2);
            for v in &args[2..] {
                if left {
                    list.push_front(v.to_vec());
                } else {
                    list.push_back(v.to_vec());
                }
            }
            let len = list.len();
            ctx.set_key(key, Value::List(Box::new(list)), false);
            len
        }
    };
    ctx.dirty((args.len() - 2) as u64);
    ctx.notify(LIST, if left { "lpush" } else { "rpush" }, key);
    ctx.reply.int(len as i64);
    Ok(())
}

pub fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, false)
}

pub fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, false)
}

pub fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, true, true)
}

pub fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    push_generic(ctx, args, false, true)
}

fn pop_generic(ctx: &mut Ctx, args: &[Bytes], left: bool) -> CmdResult {
    let key = &args[1];
    let count = match args.get(2) {
        Some(a) => {
            let n = parse_i64(a)
                .map_err(|_| CmdError::from("ERR value is out of range, must be positive"))?;
            if n < 0 {
                return Err("ERR value is out of range, must be positive".into());
            }
            Some(n as usize)
        }
        None => None,
    };
    if args.len() > 3 {
        return Err(crate::errors::SYNTAX.into());
    }
    let (popped, now_empty) = match ctx.lookup_write(key) {
        None => {
            if count.is_some() {
                ctx.reply.null_array();
            } else {
                ctx.reply.null();
            }
            return Ok(());
        }
        Some(e) => {
            let Value::List(list) = &mut e.value else {
                return Err(WRONGTYPE.into());
            };
            let n = count.unwrap_or(1).min(list.len());
            let popped: Vec<Vec<u8>> = (0..n)
                .filter_map(|_| {
                    if left {
                        list.pop_front()
                    } else {
                        list.pop_back()
                    }
                })
                .collect();
            (popped, list.is_empty())
        }
    };
    if !popped.is_empty() {
        ctx.notify(LIST, if left { "lpop" } else { "rpop" }, key);
        if now_empty {
            ctx.delete_key(key);
            ctx.notify(crate::notify::GENERIC, "del", key);
        } else {
            ctx.modified(key);
        }
        ctx.dirty(popped.len() as u64);
    }
    match count {
        None => match popped.first() {
            Some(v) => ctx.reply.bulk(v),
            None => ctx.reply.null(),
        },
        Some(_) => {
            ctx.reply.array(popped.len());
            for v in &popped {
                ctx.reply.bulk(v);
            }
        }
    }
    Ok(())
}

pub fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, true)
}

pub fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    pop_generic(ctx, args, false)
}

pub fn llen(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let n = match ctx.lookup_read(&args[1]) {
        None => 0,
        Some(e) => match &e.value {
            Value::List(l) => l.len(),
            _ => return Err(WRONGTYPE.into()),
        },
    };
    ctx.reply.int(n as i64);
    Ok(())
}

pub fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2])?;
    let end = parse_i64(&args[3])?;
    let items: Vec<Vec<u8>> = match ctx.lookup_read(&args[1]) {
        None => Vec::new(),
        Some(e) => match &e.value {
            Value::List(l) => {
                let len = l.len() as i64;
                let s = if start < 0 {
                    (len + start).max(0)
                } else {
                    start
                };
                let e = if end < 0 { len + end } else { end.min(len - 1) };
                if s > e || s >= len {
                    Vec::new()
                } else {
                    l.range(s as usize..=e as usize).cloned().collect()
                }
            }
            _ => return Err(WRONGTYPE.into()),
        },
    };
    ctx.reply.array(items.len());
    for v in &items {
        ctx.reply.bulk(v);
    }
    Ok(())
}
