//! SORT and SORT_RO: sorting the elements of a list, set or sorted set, by
//! their own value or by external keys (`BY pattern`, `GET pattern`, with
//! `key->field` reaching into hashes), with LIMIT, ALPHA, DESC and STORE.

use crate::args::{eq_ignore_case, parse_f64_opt, parse_i64};
use crate::errors::{self, CmdError, CmdResult, WRONGTYPE};
use crate::exec::{Ctx, Handler};
use crate::notify::{GENERIC, LIST};
use bytes::Bytes;
use redust_keyspace::{ListValue, NodeFill, Value, ValueRef};
use std::cmp::Ordering;

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[("sort", sort), ("sort_ro", sort_ro)];

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// A value as SORT reads it, with C's `strtod` as Redis calls it: leading
/// space skipped, the empty string 0, anything left over, NaN, or a result
/// out of range (overflow, underflow) refused.
fn sort_score(v: &[u8]) -> Option<f64> {
    if v.is_empty() {
        return Some(0.0);
    }
    let start = v.iter().position(|c| !b" \t\n\x0b\x0c\r".contains(c))?;
    let t = &v[start..];
    let x = parse_f64_opt(t)?;
    let unsigned = t
        .strip_prefix(b"-")
        .or_else(|| t.strip_prefix(b"+"))
        .unwrap_or(t);
    let lower = unsigned.to_ascii_lowercase();
    let (digits, exp_mark) = match lower.strip_prefix(b"0x") {
        Some(hex) => (hex, b'p'),
        None => (&lower[..], b'e'),
    };
    let mantissa = digits.split(|&c| c == exp_mark).next().unwrap_or(b"");
    let nonzero = mantissa
        .iter()
        .any(|c| c.is_ascii_alphanumeric() && *c != b'0');
    let overflow = x.is_infinite() && !lower.starts_with(b"inf");
    let underflow = (x == 0.0 && nonzero) || x.is_subnormal();
    (!overflow && !underflow).then_some(x)
}

/// Looks up what `pattern` names for `element`: `#` is the element itself;
/// otherwise the first `*` is replaced by the element, and a `->field`
/// suffix reads that field of a hash instead of a string value.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let rest = &pattern[star + 1..];
    let (suffix, field) = match rest.windows(2).position(|w| w == b"->") {
        Some(i) if i + 2 < rest.len() => (&rest[..i], Some(&rest[i + 2..])),
        _ => (rest, None),
    };
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    // A read lookup, as Redis's lookupKeyByPattern: hits, misses, keymiss events.
    let entry = ctx.lookup_read(&key)?;
    match (field, entry.value()) {
        (Some(f), ValueRef::Hash(h)) => h.iter().find(|(k, _)| *k == f).map(|(_, v)| v.to_vec()),
        (None, v) => v.string_bytes().map(|b| b.into_owned()),
        _ => None,
    }
}

struct Item {
    element: Vec<u8>,
    score: f64,
    /// The BY value compared with ALPHA (None when missing).
    text: Option<Vec<u8>>,
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], read_only: bool) -> CmdResult {
    let key = &args[1];
    let (mut desc, mut alpha) = (false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut sort_by: Option<Vec<u8>> = None;
    let mut dont_sort = false;
    let mut gets: Vec<Vec<u8>> = Vec::new();
    let mut store: Option<Vec<u8>> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let left = args.len() - i - 1;
        if eq_ignore_case(a, "asc") {
            desc = false;
        } else if eq_ignore_case(a, "desc") {
            desc = true;
        } else if eq_ignore_case(a, "alpha") {
            alpha = true;
        } else if eq_ignore_case(a, "limit") && left >= 2 {
            limit_start = parse_i64(&args[i + 1])?;
            limit_count = parse_i64(&args[i + 2])?;
            i += 2;
        } else if eq_ignore_case(a, "store") && left >= 1 && !read_only {
            store = Some(args[i + 1].to_vec());
            i += 1;
        } else if eq_ignore_case(a, "by") && left >= 1 {
            let pattern = args[i + 1].to_vec();
            // A pattern without '*' can't name per-element keys: don't sort.
            if !pattern.contains(&b'*') {
                dont_sort = true;
            }
            sort_by = Some(pattern);
            i += 1;
        } else if eq_ignore_case(a, "get") && left >= 1 {
            gets.push(args[i + 1].to_vec());
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }

    let (elements, is_set): (Vec<Vec<u8>>, bool) = match ctx.lookup_read(key) {
        None => (Vec::new(), false),
        Some(e) => match e.value() {
            ValueRef::List(l) => (l.iter().map(|x| x.to_vec()).collect(), false),
            ValueRef::Set(s) => (
                s.members().into_iter().map(|m| m.into_owned()).collect(),
                true,
            ),
            ValueRef::ZSet(z) => (z.iter().map(|(m, _)| m.to_vec()).collect(), false),
            _ => return Err(WRONGTYPE.into()),
        },
    };
    // Redis converts a sorted set it sorts to the skiplist encoding, for good.
    let now = ctx.now_ms();
    if let Some(e) = ctx.db().get_mut(key, now) {
        if let redust_keyspace::ValueMut::ZSet(z) = e.value_mut() {
            if z.encoding_name() == "listpack" {
                z.convert_to_skiplist();
            }
        }
    }
    // Sets have no order of their own: when the result is stored, sort anyway
    // so the outcome is deterministic (as Redis does for replication).
    if dont_sort && is_set && store.is_some() {
        dont_sort = false;
        alpha = true;
        sort_by = None;
    }

    let mut items = Vec::with_capacity(elements.len());
    for element in elements {
        let mut item = Item {
            element,
            score: 0.0,
            text: None,
        };
        if !dont_sort {
            let by_value = match &sort_by {
                Some(p) => lookup_by_pattern(ctx, p, &item.element),
                None => Some(item.element.clone()),
            };
            if alpha {
                item.text = by_value;
            } else if let Some(v) = by_value {
                item.score = sort_score(&v).ok_or(CmdError::from(NOT_DOUBLE))?;
            }
        }
        items.push(item);
    }
    if !dont_sort {
        items.sort_by(|a, b| {
            let ord = if alpha {
                match (&a.text, &b.text) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                }
            } else {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.cmp(&b.element))
            };
            if desc {
                ord.reverse()
            } else {
                ord
            }
        });
    }

    // LIMIT, with Redis's clamping.
    let len = items.len() as i64;
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 {
        len - 1
    } else {
        start.saturating_add(limit_count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let selected: Vec<Item> = if end < start || len == 0 {
        Vec::new()
    } else {
        items.drain(start as usize..=end as usize).collect()
    };

    let mut output: Vec<Option<Vec<u8>>> = Vec::new();
    for item in &selected {
        if gets.is_empty() {
            output.push(Some(item.element.clone()));
        } else {
            for p in &gets {
                output.push(lookup_by_pattern(ctx, p, &item.element));
            }
        }
    }

    match store {
        None => {
            ctx.reply.array(output.len());
            for v in &output {
                match v {
                    Some(v) => ctx.reply.bulk(v),
                    None => ctx.reply.null(),
                }
            }
        }
        Some(dst) => {
            let n = output.len();
            if n == 0 {
                if ctx.delete_key(&dst) {
                    ctx.notify(GENERIC, "del", &dst);
                    ctx.dirty(1);
                }
            } else {
                let fill = NodeFill::new(ctx.state.config.list_max_listpack_size);
                let list = ListValue::from_items(
                    output.iter().map(|v| v.as_deref().unwrap_or(b"")),
                    fill,
                    ctx.state.config.list_compress_depth,
                );
                ctx.set_key(&dst, Value::List(Box::new(list)), false);
                ctx.notify(LIST, "sortstore", &dst);
                ctx.signal_ready(&dst);
                ctx.dirty(n as u64);
            }
            ctx.reply.int(n as i64);
        }
    }
    Ok(())
}

pub fn sort(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, false)
}

pub fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    sort_generic(ctx, args, true)
}
