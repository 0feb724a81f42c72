//! [`RdbValue`], the codec's neutral value type, and the encoding of each
//! value type in an RDB file or `DUMP` payload.
//!
//! Reading accepts every encoding Redis 7.0 loads: strings; lists as plain
//! sequences (type 1), ziplists (10), quicklists of ziplists (14) and
//! quicklists of listpack or plain nodes (18); sets as plain sequences (2)
//! and intsets (11); sorted sets with string scores (3), binary scores (5),
//! ziplists (12) and listpacks (17); hashes as plain pairs (4), zipmaps (9),
//! ziplists (13) and listpacks (16). Streams and module values are refused
//! with errors that say so. Like Redis, duplicate set members, hash fields
//! or sorted-set members, and NaN scores, are corruption; an empty
//! collection decodes to `None` (Redis skips such keys).
//!
//! Writing picks what Redis 7.0 itself would write for the thresholds in
//! [`WriterOptions`]: listpacks for small hashes and sorted sets, intsets
//! for small integer sets, quicklists of listpacks for lists, and the
//! plain types otherwise.

use std::collections::HashSet;
use std::io::{self, Read};

use crate::listpack::ListpackBuilder;
use crate::rdb::error::{ErrorKind, RdbError};
use crate::rdb::primitives::{
    format_double, parse_double, put_binary_double, put_len, put_string, Input, StringOrigin,
};
use crate::rdb::writer::WriterOptions;
use crate::rdb::{quicklist_container, types};
use crate::{canonical_i64, intset, listpack, ziplist, zipmap, FormatError};

/// A key's value, independent of any in-memory representation.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    /// A string.
    String(Vec<u8>),
    /// A list, head first.
    List(Vec<Vec<u8>>),
    /// A set; members are unique.
    Set(Vec<Vec<u8>>),
    /// A hash as field/value pairs; fields are unique.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A sorted set as member/score pairs; members are unique, scores not NaN.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// A list cut into quicklist nodes as the server holds it, written node
    /// for node (Redis writes its nodes as they are in memory).
    ListNodes(Vec<ListNode>),
}

/// One quicklist node of [`RdbValue::ListNodes`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListNode {
    /// A PLAIN node: one element stored as is (else a listpack).
    pub plain: bool,
    pub items: Vec<Vec<u8>>,
}

impl RdbValue {
    /// The name `TYPE` gives this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            RdbValue::String(_) => "string",
            RdbValue::List(_) | RdbValue::ListNodes(_) => "list",
            RdbValue::Set(_) => "set",
            RdbValue::Hash(_) => "hash",
            RdbValue::ZSet(_) => "zset",
        }
    }

    /// Number of elements (1 for a string).
    pub fn len(&self) -> usize {
        match self {
            RdbValue::String(_) => 1,
            RdbValue::List(v) | RdbValue::Set(v) => v.len(),
            RdbValue::Hash(v) => v.len(),
            RdbValue::ZSet(v) => v.len(),
            RdbValue::ListNodes(n) => n.iter().map(|n| n.items.len()).sum(),
        }
    }

    /// Whether this is a collection with no element (which Redis never stores).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The name of a module type from its 64-bit id (9 characters from
/// `A-Z a-z 0-9 - _`, 6 bits each, above a 10-bit encoding version).
pub fn module_type_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = [0u8; 9];
    let mut x = id >> 10;
    for c in name.iter_mut().rev() {
        *c = CHARSET[(x & 63) as usize];
        x >>= 6;
    }
    name.iter().map(|&b| b as char).collect()
}

fn blob_err(kind: &str, origin: &StringOrigin, e: FormatError) -> RdbError {
    let what = match origin.raw_data {
        Some(_) => format!("corrupt {kind}: {}", e.what),
        None => format!("corrupt {kind} (in the encoded string here): {e}"),
    };
    RdbError::corrupt(origin.offset_of(e.pos), what)
}

fn check_unique<'a>(
    items: impl Iterator<Item = &'a [u8]>,
    at: u64,
    what: &str,
) -> Result<(), RdbError> {
    let mut seen = HashSet::new();
    for item in items {
        if !seen.insert(item) {
            return Err(RdbError::corrupt(at, format!("duplicate {what} detected")));
        }
    }
    Ok(())
}

fn score_of(text: &[u8], at: u64) -> Result<f64, RdbError> {
    match parse_double(text) {
        Some(v) if !v.is_nan() => Ok(v),
        Some(_) => Err(RdbError::corrupt(at, "sorted set with a NaN score")),
        None => Err(RdbError::corrupt(
            at,
            format!(
                "invalid sorted set score '{}'",
                String::from_utf8_lossy(text)
            ),
        )),
    }
}

fn pairs<T>(
    items: Vec<Vec<u8>>,
    at: u64,
    what: &str,
    mut f: impl FnMut(Vec<u8>, Vec<u8>) -> Result<T, RdbError>,
) -> Result<Vec<T>, RdbError> {
    if !items.len().is_multiple_of(2) {
        return Err(RdbError::corrupt(
            at,
            format!("{what} with an odd number of entries"),
        ));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push(f(a, b)?);
    }
    Ok(out)
}

fn capacity(n: u64) -> usize {
    n.min(1024) as usize
}

/// Reads the value of type `t` (whose type byte was at `type_at`).
/// `Ok(None)` is an empty collection, which Redis skips.
pub fn read_value<R: Read>(
    inp: &mut Input<R>,
    t: u8,
    type_at: u64,
) -> Result<Option<RdbValue>, RdbError> {
    let at = inp.offset();
    let value = match t {
        types::STRING => RdbValue::String(inp.read_string()?),
        types::LIST | types::SET => {
            let n = inp.read_length()?;
            let mut items = Vec::with_capacity(capacity(n));
            for _ in 0..n {
                items.push(inp.read_string()?);
            }
            if t == types::LIST {
                RdbValue::List(items)
            } else {
                check_unique(items.iter().map(|v| &v[..]), at, "set members")?;
                RdbValue::Set(items)
            }
        }
        types::ZSET | types::ZSET_2 => {
            let n = inp.read_length()?;
            let mut items = Vec::with_capacity(capacity(n));
            for _ in 0..n {
                let member = inp.read_string()?;
                let score_at = inp.offset();
                let score = if t == types::ZSET {
                    inp.read_string_double()?
                } else {
                    inp.read_binary_double()?
                };
                if score.is_nan() {
                    return Err(RdbError::corrupt(score_at, "sorted set with a NaN score"));
                }
                items.push((member, score));
            }
            check_unique(items.iter().map(|(m, _)| &m[..]), at, "sorted set members")?;
            RdbValue::ZSet(items)
        }
        types::HASH => {
            let n = inp.read_length()?;
            let mut items = Vec::with_capacity(capacity(n));
            for _ in 0..n {
                let field = inp.read_string()?;
                let value = inp.read_string()?;
                items.push((field, value));
            }
            check_unique(items.iter().map(|(f, _)| &f[..]), at, "hash fields")?;
            RdbValue::Hash(items)
        }
        types::HASH_ZIPMAP => {
            let (blob, origin) = inp.read_string_origin()?;
            let items = zipmap::decode(&blob).map_err(|e| blob_err("zipmap", &origin, e))?;
            check_unique(items.iter().map(|(f, _)| &f[..]), at, "hash fields")?;
            RdbValue::Hash(items)
        }
        types::LIST_ZIPLIST => {
            let (blob, origin) = inp.read_string_origin()?;
            RdbValue::List(ziplist::decode(&blob).map_err(|e| blob_err("ziplist", &origin, e))?)
        }
        types::SET_INTSET => {
            let (blob, origin) = inp.read_string_origin()?;
            let ints = intset::decode(&blob).map_err(|e| blob_err("intset", &origin, e))?;
            RdbValue::Set(
                ints.into_iter()
                    .map(|v| v.to_string().into_bytes())
                    .collect(),
            )
        }
        types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
            let (blob, origin) = inp.read_string_origin()?;
            let items = if t == types::ZSET_ZIPLIST {
                ziplist::decode(&blob).map_err(|e| blob_err("ziplist", &origin, e))?
            } else {
                listpack::decode(&blob).map_err(|e| blob_err("listpack", &origin, e))?
            };
            let items = pairs(items, at, "sorted set", |m, s| Ok((m, score_of(&s, at)?)))?;
            check_unique(items.iter().map(|(m, _)| &m[..]), at, "sorted set members")?;
            RdbValue::ZSet(items)
        }
        types::HASH_ZIPLIST | types::HASH_LISTPACK => {
            let (blob, origin) = inp.read_string_origin()?;
            let items = if t == types::HASH_ZIPLIST {
                ziplist::decode(&blob).map_err(|e| blob_err("ziplist", &origin, e))?
            } else {
                listpack::decode(&blob).map_err(|e| blob_err("listpack", &origin, e))?
            };
            let items = pairs(items, at, "hash", |f, v| Ok((f, v)))?;
            check_unique(items.iter().map(|(f, _)| &f[..]), at, "hash fields")?;
            RdbValue::Hash(items)
        }
        types::LIST_QUICKLIST => {
            let n = inp.read_length()?;
            let mut items = Vec::new();
            for _ in 0..n {
                let (blob, origin) = inp.read_string_origin()?;
                items.extend(ziplist::decode(&blob).map_err(|e| blob_err("ziplist", &origin, e))?);
            }
            RdbValue::List(items)
        }
        types::LIST_QUICKLIST_2 => {
            let n = inp.read_length()?;
            let mut items = Vec::new();
            for _ in 0..n {
                let container_at = inp.offset();
                match inp.read_length()? {
                    quicklist_container::PLAIN => items.push(inp.read_string()?),
                    quicklist_container::PACKED => {
                        let (blob, origin) = inp.read_string_origin()?;
                        items.extend(
                            listpack::decode(&blob)
                                .map_err(|e| blob_err("listpack", &origin, e))?,
                        );
                    }
                    c => {
                        return Err(RdbError::corrupt(
                            container_at,
                            format!("invalid quicklist node container {c}"),
                        ));
                    }
                }
            }
            RdbValue::List(items)
        }
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 => {
            return Err(RdbError::new(type_at, ErrorKind::StreamNotSupported));
        }
        types::MODULE_2 => {
            let id = inp.read_length()?;
            return Err(RdbError::new(
                type_at,
                ErrorKind::ModuleNotSupported(module_type_name(id)),
            ));
        }
        types::MODULE_PRE_GA => {
            return Err(RdbError::corrupt(
                type_at,
                "pre-release module format not supported",
            ));
        }
        _ => return Err(RdbError::new(type_at, ErrorKind::UnknownType(t))),
    };
    Ok(if value.is_empty() { None } else { Some(value) })
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// The type byte the writer uses for `v`.
pub fn choose_type(v: &RdbValue, opts: &WriterOptions, compact: Option<bool>) -> u8 {
    match (v, compact) {
        (RdbValue::Set(m), Some(true)) if m.iter().all(|s| canonical_i64(s).is_some()) => {
            return types::SET_INTSET
        }
        (RdbValue::Set(_), Some(false)) => return types::SET,
        (RdbValue::Hash(_), Some(true)) => return types::HASH_LISTPACK,
        (RdbValue::Hash(_), Some(false)) => return types::HASH,
        (RdbValue::ZSet(_), Some(true)) => return types::ZSET_LISTPACK,
        (RdbValue::ZSet(_), Some(false)) => return types::ZSET_2,
        _ => {}
    }
    match v {
        RdbValue::String(_) => types::STRING,
        RdbValue::List(_) | RdbValue::ListNodes(_) => types::LIST_QUICKLIST_2,
        RdbValue::Set(m) => {
            if m.len() <= opts.set_max_intset_entries
                && m.iter().all(|s| canonical_i64(s).is_some())
            {
                types::SET_INTSET
            } else {
                types::SET
            }
        }
        RdbValue::Hash(p) => {
            let max = opts.hash_max_listpack_value;
            if p.len() <= opts.hash_max_listpack_entries
                && p.iter().all(|(f, v)| f.len() <= max && v.len() <= max)
            {
                types::HASH_LISTPACK
            } else {
                types::HASH
            }
        }
        RdbValue::ZSet(p) => {
            if p.len() <= opts.zset_max_listpack_entries
                && p.iter()
                    .all(|(m, _)| m.len() <= opts.zset_max_listpack_value)
            {
                types::ZSET_LISTPACK
            } else {
                types::ZSET_2
            }
        }
    }
}

/// Node size cap when the fill is a count, as Redis's `SIZE_SAFETY_LIMIT`.
const NODE_SAFETY_LIMIT: usize = 8192;

fn list_nodes(items: &[Vec<u8>], fill: i64, packed_threshold: usize) -> Vec<(u64, Vec<u8>)> {
    let (max_bytes, max_count) = if fill < 0 {
        (
            4096usize << (fill.unsigned_abs().clamp(1, 5) - 1),
            usize::MAX,
        )
    } else {
        (NODE_SAFETY_LIMIT, (fill.max(1)) as usize)
    };
    let mut nodes = Vec::new();
    let mut lp = ListpackBuilder::new();
    for item in items {
        if item.len() >= packed_threshold {
            if !lp.is_empty() {
                nodes.push((
                    quicklist_container::PACKED,
                    std::mem::take(&mut lp).finish(),
                ));
            }
            nodes.push((quicklist_container::PLAIN, item.clone()));
            continue;
        }
        let entry_estimate = item.len() + 11;
        if !lp.is_empty() && (lp.len() >= max_count || lp.byte_size() + entry_estimate > max_bytes)
        {
            nodes.push((
                quicklist_container::PACKED,
                std::mem::take(&mut lp).finish(),
            ));
        }
        lp.push(item);
    }
    if !lp.is_empty() {
        nodes.push((quicklist_container::PACKED, lp.finish()));
    }
    nodes
}

/// Appends the body of `v`, encoded as type `t` (from [`choose_type`]).
pub fn write_body(out: &mut Vec<u8>, v: &RdbValue, t: u8, opts: &WriterOptions) -> io::Result<()> {
    let z = opts.compression;
    if v.is_empty() {
        return Err(invalid(
            "empty collections cannot be stored (Redis never saves them)",
        ));
    }
    if let RdbValue::ZSet(p) = v {
        if p.iter().any(|(_, s)| s.is_nan()) {
            return Err(invalid("sorted set with a NaN score"));
        }
    }
    match (v, t) {
        (RdbValue::String(s), types::STRING) => put_string(out, s, z),
        (RdbValue::ListNodes(nodes), types::LIST_QUICKLIST_2) => {
            put_len(out, nodes.len() as u64);
            for node in nodes {
                if node.plain {
                    put_len(out, quicklist_container::PLAIN);
                    put_string(out, &node.items[0], z);
                } else {
                    put_len(out, quicklist_container::PACKED);
                    let mut lp = ListpackBuilder::new();
                    for item in &node.items {
                        lp.push(item);
                    }
                    put_string(out, &lp.finish(), z);
                }
            }
        }
        (RdbValue::List(items), types::LIST_QUICKLIST_2) => {
            let nodes = list_nodes(
                items,
                opts.list_max_listpack_size,
                opts.list_packed_threshold,
            );
            put_len(out, nodes.len() as u64);
            for (container, data) in nodes {
                put_len(out, container);
                put_string(out, &data, z);
            }
        }
        (RdbValue::Set(m), types::SET_INTSET) => {
            let ints: Vec<i64> = m.iter().filter_map(|s| canonical_i64(s)).collect();
            put_string(out, &intset::encode(&ints), z);
        }
        (RdbValue::Set(m), types::SET) => {
            put_len(out, m.len() as u64);
            for s in m {
                put_string(out, s, z);
            }
        }
        (RdbValue::Hash(p), types::HASH_LISTPACK) => {
            let mut lp = ListpackBuilder::new();
            for (f, v) in p {
                lp.push(f);
                lp.push(v);
            }
            put_string(out, &lp.finish(), z);
        }
        (RdbValue::Hash(p), types::HASH) => {
            put_len(out, p.len() as u64);
            for (f, v) in p {
                put_string(out, f, z);
                put_string(out, v, z);
            }
        }
        (RdbValue::ZSet(p), types::ZSET_LISTPACK) => {
            // A listpack sorted set is kept ordered by score, then member.
            let mut sorted: Vec<&(Vec<u8>, f64)> = p.iter().collect();
            sorted.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            let mut lp = ListpackBuilder::new();
            for (m, s) in sorted {
                lp.push(m);
                lp.push(format_double(*s).as_bytes());
            }
            put_string(out, &lp.finish(), z);
        }
        (RdbValue::ZSet(p), types::ZSET_2) => {
            // Redis writes a skiplist from the greatest element down.
            let by_rank = |a: &&(Vec<u8>, f64), b: &&(Vec<u8>, f64)| {
                a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0))
            };
            let mut ordered: Vec<&(Vec<u8>, f64)> = p.iter().collect();
            if !ordered.windows(2).all(|w| by_rank(&w[0], &w[1]).is_le()) {
                ordered.sort_by(by_rank);
            }
            put_len(out, p.len() as u64);
            for (m, s) in ordered.into_iter().rev() {
                put_string(out, m, z);
                put_binary_double(out, *s);
            }
        }
        _ => return Err(invalid("value cannot be written with that RDB type")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        // Encode "mymodtype" with version 3 the way Redis forms module ids.
        let cs = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut id = 0u64;
        for c in b"mymodtype" {
            id = id << 6 | cs.iter().position(|x| x == c).unwrap() as u64;
        }
        id = id << 10 | 3;
        assert_eq!(module_type_name(id), "mymodtype");
    }

    #[test]
    fn list_node_split() {
        let items: Vec<Vec<u8>> = (0..1000)
            .map(|i| format!("element-{i}").into_bytes())
            .collect();
        let nodes = list_nodes(&items, -2, 1 << 30);
        assert!(nodes.len() > 1);
        assert!(nodes
            .iter()
            .all(|(c, lp)| *c == quicklist_container::PACKED && lp.len() <= 8192));
        let back: Vec<Vec<u8>> = nodes
            .iter()
            .flat_map(|(_, lp)| listpack::decode(lp).unwrap())
            .collect();
        assert_eq!(back, items);
        let nodes = list_nodes(&items, 10, 1 << 30);
        assert_eq!(nodes.len(), 100);
        let big = vec![vec![b'x'; 20000], b"a".to_vec()];
        assert_eq!(list_nodes(&big, -2, 1 << 30).len(), 2);
    }
}
