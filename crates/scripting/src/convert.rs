//! Conversions between Lua values and RESP, as Redis 7.0 makes them: a
//! command's reply (decoded into a `Frame`) into the Lua value `redis.call`
//! returns, a script's Lua arguments into command arguments, and the value
//! a script returns into the reply its client gets (RESP2 or RESP3), with
//! Redis's rules for status and error tables, booleans, numbers and the
//! RESP3 tables (`map`, `set`, `double`, `big_number`, `verbatim_string`).

use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};
use redust_resp::{Frame, Reply};

/// How deep replies and tables may nest in a conversion (Redis stops where
/// the Lua stack runs out, with an error in place of the innermost value).
/// How deep a command's reply is converted into Lua (replies nest a few
/// levels at most).
const MAX_DEPTH: usize = 1000;

/// How deep a script's returned value is converted into a reply: Redis
/// 7.0's Lua stack runs out past this level (measured: a value at level
/// 7994 is written, one at 7995 becomes the error below).
const MAX_RETURN_DEPTH: usize = 7994;

/// What stands in for a value nested deeper than the limits.
const STACK_LIMIT: &str = "ERR reached lua stack limit";

/// A raised error without a text (Redis 7.0 crashes on `error({})`).
const UNKNOWN_ERROR: &str = "ERR unknown error";

/// A Lua number as Redis prints it into a command argument (`%.17g`).
pub fn lua_number_text(n: f64) -> String {
    redust_resp::format_double(n)
}

/// Lua's name of a value's type (`lua_typename`), `no value` for a missing
/// argument, as argument errors name them.
pub fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_)) | Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// A Lua value read as a number, as `lua_tonumber` does (strings too).
pub fn lua_number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(s) => String::from_utf8_lossy(&s.as_bytes())
            .trim()
            .parse::<f64>()
            .ok(),
        _ => None,
    }
}

/// An error text as a Redis error table holds it: without a leading `-`
/// and trailing CR/LF, with `ERR ` in front of a text that has no code
/// (no space in it).
pub fn normalize_error(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let text = text.strip_prefix('-').unwrap_or(&text);
    let text = text.trim_end_matches(['\r', '\n']);
    if text.contains(' ') {
        text.to_string()
    } else {
        format!("ERR {text}")
    }
}

/// `{err = text}`.
pub fn error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", text)?;
    Ok(Value::Table(t))
}

/// The field Redis puts in the error table of a command that failed inside
/// a script (its error is counted in errorstats already, so the script's
/// reply, if it passes it on, is not counted again).
pub const COUNTED: &str = "ignore_error_stats_update";

/// `{err = text, ignore_error_stats_update = true}`: a failed command's error.
pub fn counted_error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set("err", text)?;
    t.raw_set(COUNTED, true)?;
    Ok(Value::Table(t))
}

/// Whether an error table is one whose error is counted already.
pub fn is_counted(v: &Value) -> bool {
    matches!(v, Value::Table(t) if matches!(t.raw_get::<Value>(COUNTED), Ok(Value::Boolean(true))))
}

/// What a `redis` function that raises returns to its trampoline:
/// `(false, nil)` when it worked, `(true, {err = text})` when it failed.
pub fn outcome(lua: &Lua, result: Result<(), String>) -> mlua::Result<(bool, Value)> {
    match result {
        Ok(()) => Ok((false, Value::Nil)),
        Err(text) => Ok((true, error_table(lua, &text)?)),
    }
}

/// `redis.call` with no arguments.
const NO_ARGUMENTS: &str = "ERR Please specify at least one argument for this redis lib call";

/// One `redis.call` argument as a command argument: strings as they are,
/// numbers as `%.17g`; anything else is refused.
fn command_arg(v: &Value) -> Result<Bytes, String> {
    match v {
        Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(i) => Ok(Bytes::from(i.to_string())),
        Value::Number(n) => Ok(Bytes::from(lua_number_text(*n))),
        _ => Err("ERR Lua redis lib command arguments must be strings or integers".into()),
    }
}

/// `redis.call`'s arguments as command arguments.
pub fn command_args(args: &MultiValue) -> Result<Vec<Bytes>, String> {
    if args.is_empty() {
        return Err(NO_ARGUMENTS.into());
    }
    args.iter().map(command_arg).collect()
}

/// `command_args` for arguments the trampoline packed into a table (a
/// call with more arguments than mlua has reference slots for).
pub fn command_args_table(t: &Table) -> Result<Vec<Bytes>, String> {
    let n = t.raw_len();
    if n == 0 {
        return Err(NO_ARGUMENTS.into());
    }
    (1..=n)
        .map(|i| command_arg(&t.raw_get::<Value>(i).unwrap_or(Value::Nil)))
        .collect()
}

/// `redis.log(level, message...)`'s arguments: the level, and the message
/// parts that are strings or numbers joined by spaces.
pub fn log_args(args: &MultiValue) -> Result<(u8, String), String> {
    if args.len() < 2 {
        return Err("ERR redis.log() requires two arguments or more.".into());
    }
    let level = match &args[0] {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        _ => return Err("ERR First argument must be a number (log level).".into()),
    };
    if !(0.0..=3.0).contains(&level) || level.fract() != 0.0 {
        return Err("ERR Invalid debug level.".into());
    }
    let parts: Vec<String> = args
        .iter()
        .skip(1)
        .filter_map(|a| match a {
            Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
            Value::Integer(i) => Some(i.to_string()),
            Value::Number(n) => Some(lua_number_text(*n)),
            _ => None,
        })
        .collect();
    Ok((level as u8, parts.join(" ")))
}

/// A command's reply as the Lua value `redis.call` returns.
pub fn frame_to_lua(lua: &Lua, frame: &Frame, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return error_table(lua, STACK_LIMIT);
    }
    let sequence = |items: &[Frame]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, frame_to_lua(lua, item, depth + 1)?)?;
        }
        Ok(t)
    };
    let tagged = |tag: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.raw_set(tag, v)?;
        Ok(Value::Table(t))
    };
    Ok(match frame {
        Frame::Integer(n) => Value::Number(*n as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(b)?),
        Frame::NullBulk | Frame::NullArray => Value::Boolean(false),
        Frame::Null => Value::Nil,
        Frame::Simple(s) => tagged("ok", Value::String(lua.create_string(s)?))?,
        Frame::Error(e) | Frame::BlobError(e) => counted_error_table(lua, &normalize_error(e))?,
        Frame::Array(items) | Frame::Push(items) => Value::Table(sequence(items)?),
        Frame::Boolean(b) => Value::Boolean(*b),
        Frame::Double(d) => tagged("double", Value::Number(*d))?,
        Frame::BigNumber(b) => tagged("big_number", Value::String(lua.create_string(b)?))?,
        Frame::Verbatim { format, text } => {
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            tagged("verbatim_string", Value::Table(inner))?
        }
        Frame::Map(pairs) | Frame::Attribute(pairs) => {
            let m = lua.create_table()?;
            for (k, v) in pairs {
                m.raw_set(
                    frame_to_lua(lua, k, depth + 1)?,
                    frame_to_lua(lua, v, depth + 1)?,
                )?;
            }
            tagged("map", Value::Table(m))?
        }
        Frame::Set(items) => {
            let s = lua.create_table()?;
            for item in items {
                s.raw_set(frame_to_lua(lua, item, depth + 1)?, true)?;
            }
            tagged("set", Value::Table(s))?
        }
    })
}

/// A string field of a table, if it has one.
fn string_field(t: &Table, name: &str) -> Option<Vec<u8>> {
    match t.raw_get::<Value>(name) {
        Ok(Value::String(s)) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn one_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ")
}

/// What a script returned, as its client's reply (`script_resp3`: the
/// protocol the script chose with `redis.setresp`, which decides how
/// booleans are sent).
pub fn write_value(v: &Value, reply: &mut Reply, script_resp3: bool, depth: usize) {
    if depth > MAX_RETURN_DEPTH {
        reply.error(STACK_LIMIT);
        return;
    }
    match v {
        Value::String(s) => reply.bulk(&s.as_bytes()),
        Value::Integer(i) => reply.int(*i),
        Value::Number(n) => reply.int(truncate(*n)),
        Value::Boolean(true) if script_resp3 => reply.boolean(true),
        Value::Boolean(true) => reply.int(1),
        Value::Boolean(false) if script_resp3 => reply.boolean(false),
        Value::Boolean(false) => reply.null(),
        Value::Table(t) => write_table(t, reply, script_resp3, depth),
        _ => reply.null(),
    }
}

/// A double as C's cast to a 64-bit integer gives it on x86: toward zero,
/// and the minimum for what does not fit.
fn truncate(n: f64) -> i64 {
    // 2^63: the first double past i64::MAX, and -2^63 is i64::MIN itself.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.is_nan() || !(-LIMIT..LIMIT).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// The error a script's returned value is, if it is an error table (its
/// text as the client gets it).
pub fn returned_error(v: &Value) -> Option<String> {
    match v {
        Value::Table(t) => string_field(t, "err").map(|err| one_line(&err)),
        _ => None,
    }
}

fn write_table(t: &Table, reply: &mut Reply, script_resp3: bool, depth: usize) {
    if let Some(err) = string_field(t, "err") {
        reply.error(&one_line(&err));
        return;
    }
    if let Some(ok) = string_field(t, "ok") {
        reply.simple(&one_line(&ok));
        return;
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        reply.double(d);
        return;
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        reply.double(d as f64);
        return;
    }
    if let Some(big) = string_field(t, "big_number") {
        let text = one_line(&big);
        if reply.resp3 {
            reply.raw(format!("({text}\r\n").as_bytes());
        } else {
            reply.bulk(text.as_bytes());
        }
        return;
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(format), Some(text)) =
            (string_field(&vt, "format"), string_field(&vt, "string"))
        {
            if reply.resp3 && format.len() == 3 {
                reply.raw(format!("={}\r\n", text.len() + 4).as_bytes());
                reply.raw(&format);
                reply.raw(b":");
                reply.raw(&text);
                reply.raw(b"\r\n");
            } else {
                reply.bulk(&text);
            }
            return;
        }
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        reply.map(pair_count(&map));
        for (k, v) in map.pairs::<Value, Value>().flatten() {
            write_value(&k, reply, script_resp3, depth + 1);
            write_value(&v, reply, script_resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        reply.set(pair_count(&set));
        for (m, _) in set.pairs::<Value, Value>().flatten() {
            write_value(&m, reply, script_resp3, depth + 1);
        }
        return;
    }
    // An array: t[1], t[2], ... up to the first nil. Items are fetched one
    // at a time (a value held from Rust takes one of mlua's ~8000 reference
    // slots); one that cannot be fetched (the slots ran out, deep down) is
    // the stack-limit error, as where Redis's Lua stack runs out.
    let mut len = 0;
    let mut stack_ran_out = false;
    loop {
        match t.raw_get::<Value>(len + 1) {
            Ok(Value::Nil) => break,
            Ok(_) => len += 1,
            Err(_) => {
                stack_ran_out = true;
                break;
            }
        }
    }
    reply.array(len + stack_ran_out as usize);
    for i in 1..=len {
        match t.raw_get::<Value>(i) {
            Ok(item) => write_value(&item, reply, script_resp3, depth + 1),
            Err(_) => reply.error(STACK_LIMIT),
        }
    }
    if stack_ran_out {
        reply.error(STACK_LIMIT);
    }
}

/// How many pairs `t` holds (counted without keeping them).
pub fn pair_count(t: &Table) -> usize {
    t.pairs::<Value, Value>().flatten().count()
}

/// How many pairs `t` holds, and the largest key if every key is a positive
/// integer (an array's shape, as CJSON and lua-cmsgpack test it); counted
/// without keeping the pairs.
pub fn table_shape(t: &Table) -> mlua::Result<(usize, Option<u64>)> {
    let (mut count, mut max) = (0usize, Some(0u64));
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair?;
        count += 1;
        let index = match k {
            Value::Integer(i) if i >= 1 => Some(i as u64),
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e15 => Some(n as u64),
            _ => None,
        };
        max = match (max, index) {
            (Some(m), Some(i)) => Some(m.max(i)),
            _ => None,
        };
    }
    Ok((count, max))
}

/// The error a failed run ended with (the table the error handler made):
/// the reply text, and where in the script it happened.
pub fn error_text(error: &Value) -> (String, Option<(String, i64)>) {
    let Value::Table(t) = error else {
        return (UNKNOWN_ERROR.into(), None);
    };
    let text = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => one_line(&s.as_bytes()),
        Ok(Value::Integer(i)) => i.to_string(),
        Ok(Value::Number(n)) => lua_number_text(n),
        // Redis 7.0 crashes here; an error without a text says so.
        _ => UNKNOWN_ERROR.into(),
    };
    let source = string_field(t, "source").map(|s| String::from_utf8_lossy(&s).into_owned());
    let line = match t.raw_get::<Value>("line") {
        Ok(Value::Integer(i)) => Some(i),
        Ok(Value::Number(n)) => Some(n as i64),
        _ => None,
    };
    (text, source.zip(line))
}
