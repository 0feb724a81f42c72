//! Command metadata: the types of the Redis 7.0 command table, lookups into it,
//! the `COMMAND INFO` / `COMMAND DOCS` reply encoders, and key extraction
//! (`COMMAND GETKEYS`, `COMMAND GETKEYSANDFLAGS`, cluster routing, ACL checks).
//!
//! This file owns the hand-written half; the tables themselves are generated
//! by `tools/gen_command_specs.py` from a real redis-server 7.0: the
//! standalone (and Cluster) table into `spec_data.rs`, and Sentinel mode's own
//! table (15 commands, SENTINEL among them) into `spec_sentinel_data.rs`.
//! Every number, flag and key spec there is Redis 7.0's own, so cluster clients
//! that read `COMMAND` see what they would see from Redis. The prose (summaries,
//! history, notes) is our own wording. The lookups without a table argument
//! use the standalone table; the `_in` forms take the table to search (a
//! `CommandTable` knows which one it was built from).
//!
//! Key extraction follows Redis 7.0's `getKeysFromCommandWithSpecs`: key specs
//! first, and for the commands whose specs cannot say everything (SORT,
//! MIGRATE, numkeys commands with bad counts, SET, BITFIELD...) the same
//! fallback procedures Redis uses, so the answers match `COMMAND GETKEYS`.

use std::cmp::Ordering;

use bytes::Bytes;
use redust_resp::Reply;

use crate::spec_data::COMMAND_SPECS;
use crate::spec_sentinel_data::SENTINEL_COMMAND_SPECS;

/// `COMMAND GETKEYS` on a command without key arguments.
pub const ERR_NO_KEYS: &str = "ERR The command has no key arguments";
/// `COMMAND GETKEYS` with an argument count the command's arity rejects.
pub const ERR_BAD_ARITY: &str = "ERR Invalid number of arguments specified for command";
/// `COMMAND GETKEYS` when the arguments yield no keys (and keys are mandatory).
pub const ERR_INVALID_ARGS: &str = "ERR Invalid arguments specified for command";

/// The type of one documented argument, as `COMMAND DOCS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    Key,
    String,
    Integer,
    Double,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    /// The name `COMMAND DOCS` prints.
    pub const fn as_str(self) -> &'static str {
        match self {
            ArgType::Key => "key",
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }
}

/// One documented argument (possibly a `oneof`/`block` group of nested ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgSpec {
    pub name: &'static str,
    pub kind: ArgType,
    /// Index into the command's key specs, or -1 when the argument is no key.
    pub key_spec_index: i32,
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    /// `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    pub arguments: &'static [ArgSpec],
}

impl ArgSpec {
    pub const fn new(name: &'static str, kind: ArgType) -> Self {
        ArgSpec {
            name,
            kind,
            key_spec_index: -1,
            token: None,
            since: None,
            deprecated_since: None,
            flags: &[],
            arguments: &[],
        }
    }

    pub const fn key_spec(mut self, index: i32) -> Self {
        self.key_spec_index = index;
        self
    }

    pub const fn token(mut self, token: &'static str) -> Self {
        self.token = Some(token);
        self
    }

    pub const fn since(mut self, version: &'static str) -> Self {
        self.since = Some(version);
        self
    }

    pub const fn deprecated_since(mut self, version: &'static str) -> Self {
        self.deprecated_since = Some(version);
        self
    }

    pub const fn flags(mut self, flags: &'static [&'static str]) -> Self {
        self.flags = flags;
        self
    }

    pub const fn args(mut self, arguments: &'static [ArgSpec]) -> Self {
        self.arguments = arguments;
        self
    }
}

/// Where the search for a key spec's keys starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSearch {
    /// At a fixed argument index.
    Index(i32),
    /// After a keyword, searched from `startfrom` (negative: from the end, backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

/// How many keys follow the begin-search position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKeys {
    /// `lastkey` relative to the start (negative: from the end of argv, or,
    /// with a `limit`, a 1/limit share of the remaining arguments).
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// A key count at `keynumidx` (relative to the start), keys from `firstkey`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

/// One key specification, as `COMMAND INFO` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    /// `RO`, `RW`, `OW`, `RM`, `access`, `update`, `insert`, `delete`,
    /// `not_key`, `incomplete`, `variable_flags`.
    pub flags: &'static [&'static str],
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

impl KeySpec {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }
}

/// One command or subcommand of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Lowercase; `parent|sub` for subcommands.
    pub name: &'static str,
    pub arity: i32,
    /// As `COMMAND INFO` prints them: `write`, `readonly`, `denyoom`, `fast`...
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    /// `@keyspace`, `@read`...
    pub acl_categories: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    /// Sorted by name.
    pub subcommands: &'static [CommandSpec],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    /// Empty when not documented.
    pub complexity: &'static str,
    /// `deprecated`, `syscmd`.
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    /// `(version, what changed)`.
    pub history: &'static [(&'static str, &'static str)],
    pub arguments: &'static [ArgSpec],
}

impl CommandSpec {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// `category` with or without the leading `@`, any case.
    pub fn has_acl_category(&self, category: &str) -> bool {
        let category = category.strip_prefix('@').unwrap_or(category);
        self.acl_categories
            .iter()
            .any(|c| c[1..].eq_ignore_ascii_case(category))
    }

    /// The part of the name after `|` (the whole name for top-level commands).
    pub fn short_name(&self) -> &'static str {
        match self.name.split_once('|') {
            Some((_, sub)) => sub,
            None => self.name,
        }
    }

    /// Whether the command is a container (CONFIG, CLIENT, OBJECT...).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }
}

/// Every top-level command of the standalone (and Cluster) table, sorted by
/// name.
pub fn all_commands() -> &'static [CommandSpec] {
    COMMAND_SPECS
}

/// Every top-level command of Redis 7.0 Sentinel's own table
/// (`redis-server --sentinel`), sorted by name: 15 commands, 57 subcommands.
pub fn sentinel_specs() -> &'static [CommandSpec] {
    SENTINEL_COMMAND_SPECS
}

/// Every command and subcommand of the standalone table, each container
/// followed by its subcommands (the set `COMMAND LIST` reports).
pub fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    all_specs_in(COMMAND_SPECS)
}

/// Every command and subcommand of `table`, each container followed by its
/// subcommands.
pub fn all_specs_in(table: &'static [CommandSpec]) -> impl Iterator<Item = &'static CommandSpec> {
    table
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.subcommands.iter()))
}

/// Compares a table name with client input, ignoring ASCII case in the input.
fn cmp_name(name: &str, input: &[u8]) -> Ordering {
    name.bytes()
        .cmp(input.iter().map(|b| b.to_ascii_lowercase()))
}

/// Case-insensitive lookup of a top-level command of the standalone table.
pub fn find_spec(name: &[u8]) -> Option<&'static CommandSpec> {
    find_spec_in(COMMAND_SPECS, name)
}

/// Case-insensitive lookup of a top-level command of `table` (sorted by name).
pub fn find_spec_in(table: &'static [CommandSpec], name: &[u8]) -> Option<&'static CommandSpec> {
    table
        .binary_search_by(|c| cmp_name(c.name, name))
        .ok()
        .map(|i| &table[i])
}

/// Case-insensitive lookup of a subcommand (`sub` without the parent prefix).
pub fn find_subcommand(parent: &CommandSpec, sub: &[u8]) -> Option<&'static CommandSpec> {
    let subs: &'static [CommandSpec] = parent.subcommands;
    subs.binary_search_by(|c| cmp_name(c.short_name(), sub))
        .ok()
        .map(|i| &subs[i])
}

/// Lookup by full name as `COMMAND INFO`/`COMMAND DOCS` accept it:
/// `get`, or `config|get` for a subcommand (standalone table).
pub fn find_by_fullname(name: &[u8]) -> Option<&'static CommandSpec> {
    find_by_fullname_in(COMMAND_SPECS, name)
}

/// [`find_by_fullname`] in `table`.
pub fn find_by_fullname_in(
    table: &'static [CommandSpec],
    name: &[u8],
) -> Option<&'static CommandSpec> {
    let mut parts = name.split(|&b| b == b'|');
    let base = find_spec_in(table, parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(base),
        (Some(sub), None) => find_subcommand(base, sub),
        _ => None,
    }
}

/// The spec a command line runs, as Redis's `lookupCommand` finds it: the
/// subcommand when the command is a container and a second argument exists
/// (`None` if that subcommand is unknown), else the command itself
/// (standalone table).
pub fn lookup_command(argv: &[Bytes]) -> Option<&'static CommandSpec> {
    lookup_command_in(COMMAND_SPECS, argv)
}

/// [`lookup_command`] in `table`.
pub fn lookup_command_in(
    table: &'static [CommandSpec],
    argv: &[Bytes],
) -> Option<&'static CommandSpec> {
    let base = find_spec_in(table, argv.first()?)?;
    match argv.get(1) {
        Some(sub) if base.is_container() => find_subcommand(base, sub),
        _ => Some(base),
    }
}

fn write_simple_set(r: &mut Reply, items: &[&str]) {
    r.set(items.len());
    for item in items {
        r.simple(item);
    }
}

fn write_key_spec(r: &mut Reply, ks: &KeySpec) {
    r.map(if ks.notes.is_some() { 4 } else { 3 });
    if let Some(notes) = ks.notes {
        r.bulk(b"notes");
        r.bulk(notes.as_bytes());
    }
    r.bulk(b"flags");
    write_simple_set(r, ks.flags);
    r.bulk(b"begin_search");
    r.map(2);
    r.bulk(b"type");
    match ks.begin_search {
        BeginSearch::Index(pos) => {
            r.bulk(b"index");
            r.bulk(b"spec");
            r.map(1);
            r.bulk(b"index");
            r.int(pos.into());
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            r.bulk(b"keyword");
            r.bulk(b"spec");
            r.map(2);
            r.bulk(b"keyword");
            r.bulk(keyword.as_bytes());
            r.bulk(b"startfrom");
            r.int(startfrom.into());
        }
        BeginSearch::Unknown => {
            r.bulk(b"unknown");
            r.bulk(b"spec");
            r.map(0);
        }
    }
    r.bulk(b"find_keys");
    r.map(2);
    r.bulk(b"type");
    match ks.find_keys {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            r.bulk(b"range");
            r.bulk(b"spec");
            r.map(3);
            r.bulk(b"lastkey");
            r.int(lastkey.into());
            r.bulk(b"keystep");
            r.int(keystep.into());
            r.bulk(b"limit");
            r.int(limit.into());
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            r.bulk(b"keynum");
            r.bulk(b"spec");
            r.map(3);
            r.bulk(b"keynumidx");
            r.int(keynumidx.into());
            r.bulk(b"firstkey");
            r.int(firstkey.into());
            r.bulk(b"keystep");
            r.int(keystep.into());
        }
        FindKeys::Unknown => {
            r.bulk(b"unknown");
            r.bulk(b"spec");
            r.map(0);
        }
    }
}

/// Writes one 10-element `COMMAND INFO` entry exactly as Redis 7.0 does in
/// the reply's protocol. `include` decides (by full name, `config|get`) which
/// subcommands are listed; a container keeps its (possibly empty) array.
pub fn write_command_info(r: &mut Reply, spec: &CommandSpec, include: &dyn Fn(&str) -> bool) {
    r.array(10);
    r.bulk(spec.name.as_bytes());
    r.int(spec.arity.into());
    write_simple_set(r, spec.flags);
    r.int(spec.first_key.into());
    r.int(spec.last_key.into());
    r.int(spec.key_step.into());
    write_simple_set(r, spec.acl_categories);
    r.set(spec.tips.len());
    for tip in spec.tips {
        r.bulk(tip.as_bytes());
    }
    r.set(spec.key_specs.len());
    for ks in spec.key_specs {
        write_key_spec(r, ks);
    }
    if spec.subcommands.is_empty() {
        r.set(0);
    } else {
        let n = spec.subcommands.iter().filter(|s| include(s.name)).count();
        r.array(n);
        for sub in spec.subcommands.iter().filter(|s| include(s.name)) {
            write_command_info(r, sub, include);
        }
    }
}

fn write_args(r: &mut Reply, args: &[ArgSpec]) {
    r.array(args.len());
    for a in args {
        let nested = matches!(a.kind, ArgType::OneOf | ArgType::Block);
        let len = 2
            + usize::from(a.key_spec_index >= 0)
            + usize::from(a.token.is_some())
            + usize::from(a.since.is_some())
            + usize::from(a.deprecated_since.is_some())
            + usize::from(!a.flags.is_empty())
            + usize::from(nested);
        r.map(len);
        r.bulk(b"name");
        r.bulk(a.name.as_bytes());
        r.bulk(b"type");
        r.bulk(a.kind.as_str().as_bytes());
        if a.key_spec_index >= 0 {
            r.bulk(b"key_spec_index");
            r.int(a.key_spec_index.into());
        }
        if let Some(token) = a.token {
            r.bulk(b"token");
            r.bulk(token.as_bytes());
        }
        if let Some(since) = a.since {
            r.bulk(b"since");
            r.bulk(since.as_bytes());
        }
        if let Some(version) = a.deprecated_since {
            r.bulk(b"deprecated_since");
            r.bulk(version.as_bytes());
        }
        if !a.flags.is_empty() {
            r.bulk(b"flags");
            write_simple_set(r, a.flags);
        }
        if nested {
            r.bulk(b"arguments");
            write_args(r, a.arguments);
        }
    }
}

fn write_docs_body(r: &mut Reply, spec: &CommandSpec, include: &dyn Fn(&str) -> bool) {
    let len = 1
        + usize::from(!spec.summary.is_empty())
        + usize::from(!spec.since.is_empty())
        + usize::from(!spec.complexity.is_empty())
        + usize::from(!spec.doc_flags.is_empty())
        + usize::from(spec.deprecated_since.is_some())
        + usize::from(spec.replaced_by.is_some())
        + usize::from(!spec.history.is_empty())
        + usize::from(!spec.arguments.is_empty())
        + usize::from(spec.is_container());
    r.map(len);
    if !spec.summary.is_empty() {
        r.bulk(b"summary");
        r.bulk(spec.summary.as_bytes());
    }
    if !spec.since.is_empty() {
        r.bulk(b"since");
        r.bulk(spec.since.as_bytes());
    }
    r.bulk(b"group");
    r.bulk(spec.group.as_bytes());
    if !spec.complexity.is_empty() {
        r.bulk(b"complexity");
        r.bulk(spec.complexity.as_bytes());
    }
    if !spec.doc_flags.is_empty() {
        r.bulk(b"doc_flags");
        write_simple_set(r, spec.doc_flags);
    }
    if let Some(version) = spec.deprecated_since {
        r.bulk(b"deprecated_since");
        r.bulk(version.as_bytes());
    }
    if let Some(replacement) = spec.replaced_by {
        r.bulk(b"replaced_by");
        r.bulk(replacement.as_bytes());
    }
    if !spec.history.is_empty() {
        r.bulk(b"history");
        r.set(spec.history.len());
        for (version, text) in spec.history {
            r.array(2);
            r.bulk(version.as_bytes());
            r.bulk(text.as_bytes());
        }
    }
    if !spec.arguments.is_empty() {
        r.bulk(b"arguments");
        write_args(r, spec.arguments);
    }
    if spec.is_container() {
        r.bulk(b"subcommands");
        let n = spec.subcommands.iter().filter(|s| include(s.name)).count();
        r.map(n);
        for sub in spec.subcommands.iter().filter(|s| include(s.name)) {
            r.bulk(sub.name.as_bytes());
            write_docs_body(r, sub, include);
        }
    }
}

/// Writes one `COMMAND DOCS` entry: the name, then its documentation map
/// (the caller writes the enclosing map header, one pair per command).
pub fn write_command_docs(r: &mut Reply, spec: &CommandSpec, include: &dyn Fn(&str) -> bool) {
    r.bulk(spec.name.as_bytes());
    write_docs_body(r, spec, include);
}

// ---------------------------------------------------------------------------
// Key extraction.
// ---------------------------------------------------------------------------

const FLAGS_NONE: &[&str] = &[];
const FLAGS_RO_ACCESS: &[&str] = &["RO", "access"];
const FLAGS_OW_UPDATE: &[&str] = &["OW", "update"];
const FLAGS_RW_ACCESS_UPDATE: &[&str] = &["RW", "access", "update"];
const FLAGS_RW_ACCESS_DELETE: &[&str] = &["RW", "access", "delete"];

/// One key found in a command line: its index in argv and the key-spec flags
/// Redis reports for it (`COMMAND GETKEYSANDFLAGS`; may be empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: &'static [&'static str],
}

/// `strcasecmp(arg, keyword) == 0` on a C string: the argument ends at its
/// first NUL byte.
fn c_eq_ci(arg: &[u8], keyword: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(keyword.as_bytes())
}

/// Redis's `string2ll`: strict decimal, no spaces, no `+`, no leading zeros.
fn string2ll(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'0'] => return Some(0),
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// C's `atoi` as glibc does it (`(int) strtol(s, NULL, 10)`): leading white
/// space, optional sign, digits up to the first non-digit; saturated to the
/// long range, then truncated to int.
fn atoi(s: &[u8]) -> i32 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = i64::from(s[i] - b'0');
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    v as i32
}

/// Redis's `getKeysUsingKeySpecs` without partial results: `None` when a
/// spec is invalid or incomplete for these arguments.
fn keys_from_specs(spec: &CommandSpec, args: &[Bytes]) -> Option<Vec<KeyRef>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        if ks.has_flag("not_key") {
            continue;
        }
        let mut first: i64 = match ks.begin_search {
            BeginSearch::Index(pos) => pos.into(),
            BeginSearch::Keyword { keyword, startfrom } => {
                let startfrom = i64::from(startfrom);
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    // Backwards, stopping before argv[1].
                    (argc + startfrom, 1)
                };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if c_eq_ci(&args[i as usize], keyword) {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match ks.find_keys {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let lastkey = i64::from(lastkey);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / i64::from(limit) + lastkey)
                };
                (last, i64::from(keystep))
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let idx = first + i64::from(keynumidx);
                if idx < 0 || idx >= argc {
                    return None;
                }
                let numkeys = string2ll(&args[idx as usize]).filter(|&n| n >= 0)?;
                first += i64::from(firstkey);
                // Redis keeps the count in an int.
                (first + i64::from(numkeys as i32) - 1, i64::from(keystep))
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || first < 0 || step <= 0 {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push(KeyRef {
                pos: i as usize,
                flags: ks.flags,
            });
            i += step;
        }
        if ks.has_flag("incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// Redis's `genericGetKeys`: `num` keys from `first`, plus a store key.
fn generic_keys(store: usize, count_at: usize, first: usize, args: &[Bytes]) -> Vec<KeyRef> {
    let Some(count) = args.get(count_at) else {
        return Vec::new();
    };
    let num = i64::from(atoi(count));
    if num < 1 || num > (args.len() as i64 - first as i64) {
        return Vec::new();
    }
    let mut keys: Vec<KeyRef> = (0..num as usize)
        .map(|i| KeyRef {
            pos: first + i,
            flags: FLAGS_NONE,
        })
        .collect();
    if store > 0 {
        keys.push(KeyRef {
            pos: store,
            flags: FLAGS_NONE,
        });
    }
    keys
}

fn sort_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut keys = vec![KeyRef {
        pos: 1,
        flags: FLAGS_RO_ACCESS,
    }];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if c_eq_ci(arg, "limit") {
            i += 2;
        } else if c_eq_ci(arg, "store") && i + 1 < args.len() {
            // The last STORE wins, as in SORT itself.
            store = Some(i + 1);
        } else if c_eq_ci(arg, "get") || c_eq_ci(arg, "by") {
            i += 1;
        }
        i += 1;
    }
    if let Some(pos) = store {
        keys.push(KeyRef {
            pos,
            flags: FLAGS_OW_UPDATE,
        });
    }
    keys
}

fn sort_ro_keys(_args: &[Bytes]) -> Vec<KeyRef> {
    vec![KeyRef {
        pos: 1,
        flags: FLAGS_RO_ACCESS,
    }]
}

fn migrate_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let argc = args.len();
    let (mut first, mut num) = (3, 1);
    if argc > 6 {
        let mut i = 6;
        while i < argc {
            let arg = &args[i];
            if c_eq_ci(arg, "keys") {
                if !args[3].is_empty() {
                    // A syntax error MIGRATE itself reports.
                    num = 0;
                } else {
                    first = i + 1;
                    num = argc - first;
                }
                break;
            }
            if c_eq_ci(arg, "auth") {
                i += 1;
            } else if c_eq_ci(arg, "auth2") {
                i += 2;
            }
            i += 1;
        }
    }
    (first..first + num)
        .filter(|&pos| pos < argc)
        .map(|pos| KeyRef {
            pos,
            flags: FLAGS_RW_ACCESS_DELETE,
        })
        .collect()
}

fn georadius_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut keys = vec![KeyRef {
        pos: 1,
        flags: FLAGS_NONE,
    }];
    let mut stored = None;
    let mut i = 5;
    while i < args.len() {
        if (c_eq_ci(&args[i], "store") || c_eq_ci(&args[i], "storedist")) && i + 1 < args.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    if let Some(pos) = stored {
        keys.push(KeyRef {
            pos,
            flags: FLAGS_NONE,
        });
    }
    keys
}

fn xread_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let argc = args.len();
    let mut streams = None;
    let mut i = 1;
    while i < argc {
        let arg = &args[i];
        if c_eq_ci(arg, "block") || c_eq_ci(arg, "count") {
            i += 1;
        } else if c_eq_ci(arg, "group") {
            i += 2;
        } else if c_eq_ci(arg, "noack") {
            // No argument.
        } else if c_eq_ci(arg, "streams") {
            streams = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(pos) = streams else {
        return Vec::new();
    };
    let num = argc - pos - 1;
    if num == 0 || num % 2 == 1 {
        return Vec::new();
    }
    (pos + 1..pos + 1 + num / 2)
        .map(|pos| KeyRef {
            pos,
            flags: FLAGS_NONE,
        })
        .collect()
}

fn set_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let get = args.iter().skip(3).any(|a| c_eq_ci(a, "get"));
    vec![KeyRef {
        pos: 1,
        flags: if get {
            FLAGS_RW_ACCESS_UPDATE
        } else {
            FLAGS_OW_UPDATE
        },
    }]
}

fn bitfield_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let argc = args.len();
    let mut readonly = true;
    let mut i = 2;
    while i < argc {
        let remaining = argc - i - 1;
        let arg = &args[i];
        if c_eq_ci(arg, "get") && remaining >= 2 {
            i += 2;
        } else if (c_eq_ci(arg, "set") || c_eq_ci(arg, "incrby")) && remaining >= 3 {
            readonly = false;
            break;
        } else if c_eq_ci(arg, "overflow") && remaining >= 1 {
            i += 1;
        } else {
            readonly = false;
            break;
        }
        i += 1;
    }
    vec![KeyRef {
        pos: 1,
        flags: if readonly {
            FLAGS_RO_ACCESS
        } else {
            FLAGS_RW_ACCESS_UPDATE
        },
    }]
}

/// A Redis getkeys procedure: the keys of a whole command line.
type GetKeysProc = fn(&[Bytes]) -> Vec<KeyRef>;

/// The getkeys procedure Redis 7.0 attaches to a command, if any.
pub(crate) fn getkeys_proc(name: &str) -> Option<GetKeysProc> {
    let proc: GetKeysProc = match name {
        "zunionstore" | "zinterstore" | "zdiffstore" => |a| generic_keys(1, 2, 3, a),
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            |a| generic_keys(0, 1, 2, a)
        }
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop"
        | "bzmpop" => |a| generic_keys(0, 2, 3, a),
        "sort" => sort_keys,
        "sort_ro" => sort_ro_keys,
        "migrate" => migrate_keys,
        "georadius" | "georadiusbymember" => georadius_keys,
        "xread" | "xreadgroup" => xread_keys,
        "set" => set_keys,
        "bitfield" => bitfield_keys,
        _ => return None,
    };
    Some(proc)
}

/// Whether a command can have key arguments at all (Redis's
/// `doesCommandHaveKeys`).
pub fn has_keys(spec: &CommandSpec) -> bool {
    getkeys_proc(spec.name).is_some() || spec.key_specs.iter().any(|ks| !ks.has_flag("not_key"))
}

/// The keys of a command line (`args[0]` is the command name, then the
/// subcommand for a subcommand spec; positions index into `args`), with their
/// flags, as Redis 7.0's `getKeysFromCommandWithSpecs` finds them. No arity
/// check; an empty result means no keys (or a syntax error the command will
/// report). Never panics.
pub fn key_positions(spec: &CommandSpec, args: &[Bytes]) -> Vec<KeyRef> {
    let has_keyspec = spec.key_specs.iter().any(|ks| !ks.has_flag("not_key"));
    let has_varflags = spec
        .key_specs
        .iter()
        .any(|ks| ks.has_flag("variable_flags"));
    if has_keyspec && !has_varflags {
        if let Some(keys) = keys_from_specs(spec, args) {
            return keys;
        }
    }
    match getkeys_proc(spec.name) {
        Some(proc) if !args.is_empty() => proc(args)
            .into_iter()
            .filter(|k| k.pos < args.len())
            .collect(),
        _ => Vec::new(),
    }
}

/// `COMMAND GETKEYSANDFLAGS` for `args` (the command line after
/// `COMMAND GETKEYSANDFLAGS`, starting with the command name): the checks and
/// error texts of Redis 7.0, then the keys with their flags.
pub fn get_keys_and_flags(spec: &CommandSpec, args: &[Bytes]) -> Result<Vec<KeyRef>, &'static str> {
    if !has_keys(spec) {
        return Err(ERR_NO_KEYS);
    }
    let argc = args.len() as i64;
    let arity = i64::from(spec.arity);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(ERR_BAD_ARITY);
    }
    let keys = key_positions(spec, args);
    if keys.is_empty() && !spec.has_flag("no_mandatory_keys") {
        return Err(ERR_INVALID_ARGS);
    }
    Ok(keys)
}

/// `COMMAND GETKEYS`: the argument indices of the keys (see
/// [`get_keys_and_flags`]); `Err` carries the full Redis error text.
pub fn get_keys(spec: &CommandSpec, args: &[Bytes]) -> Result<Vec<usize>, &'static str> {
    get_keys_and_flags(spec, args).map(|keys| keys.into_iter().map(|k| k.pos).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    fn keys(line: &str) -> Result<Vec<usize>, &'static str> {
        let args = argv(line);
        let spec = lookup_command(&args).expect("known command");
        get_keys(spec, &args)
    }

    fn all(_: &str) -> bool {
        true
    }

    fn info(name: &str, resp3: bool) -> Vec<u8> {
        let mut r = Reply::new(resp3);
        write_command_info(&mut r, find_by_fullname(name.as_bytes()).unwrap(), &all);
        r.buf
    }

    #[test]
    fn table_is_sorted_and_complete() {
        assert_eq!(all_commands().len(), 240);
        assert_eq!(all_specs().count(), 366);
        for w in COMMAND_SPECS.windows(2) {
            assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
        }
        for c in COMMAND_SPECS {
            assert!(!c.name.contains('|'));
            assert!(!c.summary.is_empty());
            for w in c.subcommands.windows(2) {
                assert!(w[0].name < w[1].name);
            }
            for s in c.subcommands {
                assert_eq!(s.name.split_once('|').map(|p| p.0), Some(c.name));
                assert!(s.subcommands.is_empty());
                assert!(!s.summary.is_empty());
            }
        }
    }

    #[test]
    fn sentinel_table_is_sorted_and_complete() {
        let table = sentinel_specs();
        assert_eq!(table.len(), 15);
        assert_eq!(all_specs_in(table).count(), 72);
        for w in table.windows(2) {
            assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
        }
        for c in table {
            assert!(!c.summary.is_empty());
            for w in c.subcommands.windows(2) {
                assert!(w[0].name < w[1].name);
            }
            for s in c.subcommands {
                assert_eq!(s.name.split_once('|').map(|p| p.0), Some(c.name));
                assert!(!s.summary.is_empty());
            }
        }
        assert!(find_spec(b"sentinel").is_none());
        assert!(find_spec_in(table, b"get").is_none());
        assert!(find_by_fullname_in(table, b"config|get").is_none());
    }

    #[test]
    fn sentinel_facts_match_redis() {
        // As `COMMAND INFO` / `COMMAND DOCS` on redis-server 7.0.15 --sentinel.
        let table = sentinel_specs();
        let sentinel = find_spec_in(table, b"SENTINEL").unwrap();
        assert_eq!(sentinel.arity, -2);
        assert_eq!(sentinel.flags, &["admin"]);
        assert_eq!(sentinel.acl_categories, &["@admin", "@slow", "@dangerous"]);
        assert_eq!((sentinel.group, sentinel.since), ("sentinel", "2.8.4"));
        assert_eq!(sentinel.subcommands.len(), 21);
        let set = find_by_fullname_in(table, b"sentinel|set").unwrap();
        assert_eq!((set.arity, set.flags), (-5, &["admin"][..]));
        let arities = [
            ("ckquorum", 3),
            ("config", -3),
            ("debug", -2),
            ("help", 2),
            ("is-master-down-by-addr", 6),
            ("monitor", 6),
            ("simulate-failure", -3),
        ];
        for (sub, arity) in arities {
            assert_eq!(
                find_subcommand(sentinel, sub.as_bytes()).unwrap().arity,
                arity,
                "{sub}"
            );
        }
        let help = find_subcommand(sentinel, b"help").unwrap();
        assert_eq!(
            (help.flags, help.acl_categories),
            (&["loading", "stale"][..], &["@slow"][..])
        );
        let slaves = find_subcommand(sentinel, b"slaves").unwrap();
        assert_eq!(slaves.deprecated_since, Some("5.0.0"));
        assert_eq!(slaves.doc_flags, &["deprecated"]);
        let publish = find_spec_in(table, b"publish").unwrap();
        assert_eq!(publish.arity, 3);
        assert_eq!(publish.flags, &["pubsub", "loading", "stale", "fast"]);
        assert_eq!(publish.acl_categories, &["@pubsub", "@fast"]);
        let info = find_spec_in(table, b"info").unwrap();
        assert_eq!((info.arity, info.flags), (-1, &["loading", "stale"][..]));
        let role = find_spec_in(table, b"role").unwrap();
        assert_eq!(role.flags, &["noscript", "loading", "stale", "fast"]);
        // Redis 7.0 reports the other 14 exactly as a standalone server does.
        for c in table.iter().filter(|c| c.name != "sentinel") {
            assert_eq!(Some(c), find_spec(c.name.as_bytes()), "{}", c.name);
        }
        assert_eq!(
            lookup_command_in(table, &argv("sentinel masters"))
                .unwrap()
                .name,
            "sentinel|masters"
        );
        assert!(lookup_command_in(table, &argv("sentinel nosuch")).is_none());
    }

    #[test]
    fn lookups() {
        assert_eq!(find_spec(b"GeT").unwrap().name, "get");
        assert!(find_spec(b"nosuch").is_none());
        assert!(find_spec(b"").is_none());
        assert!(find_spec(b"config|get").is_none());
        let config = find_spec(b"CONFIG").unwrap();
        assert_eq!(find_subcommand(config, b"Get").unwrap().name, "config|get");
        assert!(find_subcommand(config, b"nosuch").is_none());
        assert_eq!(find_by_fullname(b"CONFIG|GET").unwrap().name, "config|get");
        assert_eq!(find_by_fullname(b"get").unwrap().name, "get");
        assert!(find_by_fullname(b"get|x").is_none());
        assert!(find_by_fullname(b"config|").is_none());
        assert!(find_by_fullname(b"config|get|x").is_none());
        assert!(find_by_fullname(b"|").is_none());
        assert_eq!(
            lookup_command(&argv("object encoding x")).unwrap().name,
            "object|encoding"
        );
        assert_eq!(lookup_command(&argv("object")).unwrap().name, "object");
        assert!(lookup_command(&argv("object nosuch")).is_none());
        assert_eq!(lookup_command(&argv("get a b")).unwrap().name, "get");
        assert!(lookup_command(&[]).is_none());
    }

    #[test]
    fn known_facts() {
        let get = find_spec(b"get").unwrap();
        assert_eq!(get.arity, 2);
        assert_eq!(get.flags, &["readonly", "fast"]);
        assert_eq!((get.first_key, get.last_key, get.key_step), (1, 1, 1));
        assert_eq!(get.acl_categories, &["@read", "@string", "@fast"]);
        assert_eq!(get.group, "string");
        assert_eq!(get.since, "1.0.0");
        let mset = find_spec(b"mset").unwrap();
        assert_eq!(
            (mset.arity, mset.first_key, mset.last_key, mset.key_step),
            (-3, 1, -1, 2)
        );
        let set = find_spec(b"set").unwrap();
        assert_eq!(set.arity, -3);
        assert!(set.has_acl_category("WRITE") && set.has_acl_category("@string"));
        let config_set = find_by_fullname(b"config|set").unwrap();
        assert_eq!(config_set.arity, -4);
        assert_eq!(
            config_set.tips,
            &["request_policy:all_nodes", "response_policy:all_succeeded"]
        );
        let xread = find_spec(b"xread").unwrap();
        assert!(xread.has_flag("movablekeys"));
        assert_eq!(
            xread.key_specs[0].begin_search,
            BeginSearch::Keyword {
                keyword: "STREAMS",
                startfrom: 1
            }
        );
        assert_eq!(
            find_spec(b"zunionstore").unwrap().key_specs[1].find_keys,
            FindKeys::Keynum {
                keynumidx: 0,
                firstkey: 1,
                keystep: 1
            }
        );
        assert_eq!(find_spec(b"command").unwrap().subcommands.len(), 7);
    }

    #[test]
    fn command_info_get_resp2_matches_redis() {
        let expected: &[u8] = b"*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
            *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n\
            $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
            $9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
            $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
        assert_eq!(info("get", false), expected);
    }

    #[test]
    fn command_info_get_resp3_matches_redis() {
        let expected: &[u8] = b"*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
            ~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n\
            $12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n\
            $9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n\
            $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
        assert_eq!(info("get", true), expected);
    }

    #[test]
    fn command_info_subcommand_and_container_match_redis() {
        let expected: &[u8] = b"*10\r\n$10\r\nconfig|set\r\n:-4\r\n*4\r\n+admin\r\n+noscript\r\n\
            +loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*2\r\n\
            $24\r\nrequest_policy:all_nodes\r\n$29\r\nresponse_policy:all_succeeded\r\n*0\r\n*0\r\n";
        assert_eq!(info("config|set", false), expected);
        // A container: empty flag set, no keys, subcommands as an array even in RESP3.
        let mut r = Reply::new(true);
        let object = find_spec(b"object").unwrap();
        write_command_info(&mut r, object, &|name| name == "object|help");
        let expected: &[u8] = b"*10\r\n$6\r\nobject\r\n:-2\r\n~0\r\n:0\r\n:0\r\n:0\r\n~1\r\n+@slow\r\n\
            ~0\r\n~0\r\n*1\r\n*10\r\n$11\r\nobject|help\r\n:2\r\n~2\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n\
            :0\r\n~2\r\n+@keyspace\r\n+@slow\r\n~0\r\n~0\r\n~0\r\n";
        assert_eq!(r.buf, expected);
    }

    #[test]
    fn command_info_keyword_spec_matches_redis() {
        let got = info("xread", true);
        let tail: &[u8] = b"~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n\
            %2\r\n$4\r\ntype\r\n$7\r\nkeyword\r\n$4\r\nspec\r\n%2\r\n$7\r\nkeyword\r\n$7\r\nSTREAMS\r\n\
            $9\r\nstartfrom\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n\
            %3\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:2\r\n~0\r\n";
        assert!(got.ends_with(tail));
        let head: &[u8] =
            b"*10\r\n$5\r\nxread\r\n:-4\r\n~3\r\n+readonly\r\n+blocking\r\n+movablekeys\r\n\
            :0\r\n:0\r\n:0\r\n~4\r\n+@read\r\n+@stream\r\n+@slow\r\n+@blocking\r\n~0\r\n";
        assert!(got.starts_with(head));
    }

    #[test]
    fn command_docs_shape_matches_redis() {
        let mut r = Reply::new(false);
        write_command_docs(&mut r, find_spec(b"get").unwrap(), &all);
        let summary = find_spec(b"get").unwrap().summary;
        let mut expected = format!(
            "$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n${}\r\n{}\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n\
             $5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n",
            summary.len(),
            summary
        )
        .into_bytes();
        expected.extend_from_slice(
            b"*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
              $14\r\nkey_spec_index\r\n:0\r\n",
        );
        assert_eq!(r.buf, expected);

        // Doc flags, deprecation and nested arguments, in RESP3.
        let mut r = Reply::new(true);
        let getset = find_spec(b"getset").unwrap();
        write_command_docs(&mut r, getset, &all);
        let text = String::from_utf8(r.buf).unwrap();
        assert!(text.starts_with("$6\r\ngetset\r\n%8\r\n$7\r\nsummary\r\n"));
        assert!(text.contains(
            "$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n\
             $11\r\nreplaced_by\r\n"
        ));
        assert!(text.ends_with(
            "$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
             $14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n\
             $6\r\nstring\r\n"
        ));
    }

    #[test]
    fn getkeys_errors_match_redis() {
        assert_eq!(keys("ping x"), Err(ERR_NO_KEYS));
        assert_eq!(keys("config get x"), Err(ERR_NO_KEYS));
        assert_eq!(keys("ssubscribe x"), Err(ERR_NO_KEYS));
        assert_eq!(keys("get a b"), Err(ERR_BAD_ARITY));
        assert_eq!(keys("mset a"), Err(ERR_BAD_ARITY));
        assert_eq!(keys("zunionstore d 0 a"), Err(ERR_INVALID_ARGS));
        assert_eq!(keys("xread count 1 streams"), Err(ERR_INVALID_ARGS));
    }

    #[test]
    fn getkeys_matches_redis() {
        assert_eq!(keys("get a"), Ok(vec![1]));
        assert_eq!(keys("mset a 1 b 2 c 3"), Ok(vec![1, 3, 5]));
        assert_eq!(keys("zunionstore d 2 a b weights 1 2"), Ok(vec![1, 3, 4]));
        assert_eq!(keys("zunion 2 a b"), Ok(vec![2, 3]));
        assert_eq!(keys("eval s 2 a b c"), Ok(vec![3, 4]));
        assert_eq!(keys("eval s 0"), Ok(vec![]));
        assert_eq!(keys("eval s 5 a"), Ok(vec![]));
        assert_eq!(keys("eval s -1 a"), Ok(vec![]));
        assert_eq!(keys("sintercard 2 a b limit 1"), Ok(vec![2, 3]));
        assert_eq!(keys("lmpop 2 a b left"), Ok(vec![2, 3]));
        assert_eq!(keys("blmpop 0 2 a b left"), Ok(vec![3, 4]));
        assert_eq!(keys("xread streams a b 0 0"), Ok(vec![2, 3]));
        assert_eq!(keys("xread streams a b 0"), Ok(vec![2]));
        assert_eq!(keys("xreadgroup group g c streams a 0"), Ok(vec![5]));
        assert_eq!(keys("sort a store b"), Ok(vec![1, 3]));
        assert_eq!(
            keys("sort a by x store b limit 0 1 store c"),
            Ok(vec![1, 10])
        );
        assert_eq!(keys("sort_ro a by x"), Ok(vec![1]));
        assert_eq!(keys("migrate h p  0 5 keys a b"), Ok(vec![7, 8]));
        assert_eq!(keys("migrate h p k 0 5"), Ok(vec![3]));
        assert_eq!(keys("set a b get"), Ok(vec![1]));
        assert_eq!(keys("object encoding x"), Ok(vec![2]));
        assert_eq!(keys("georadius k 0 0 1 m store d"), Ok(vec![1, 7]));
        let args = argv("set a b");
        let flags = get_keys_and_flags(find_spec(b"set").unwrap(), &args).unwrap();
        assert_eq!(flags[0].flags, &["OW", "update"]);
    }

    #[test]
    fn getkeys_never_panics() {
        let words = [
            "",
            "0",
            "1",
            "2",
            "-1",
            "99999999999",
            "keys",
            "streams",
            "store",
            "get",
        ];
        for spec in all_specs() {
            for n in 0..6 {
                for w in words {
                    let mut args = vec![Bytes::from_static(spec.name.as_bytes())];
                    args.extend((0..n).map(|_| Bytes::from_static(w.as_bytes())));
                    for k in key_positions(spec, &args) {
                        assert!(k.pos < args.len());
                    }
                    let _ = get_keys(spec, &args);
                }
            }
        }
        assert!(key_positions(find_spec(b"get").unwrap(), &[]).is_empty());
    }

    #[test]
    fn number_parsing_like_c() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-0"), None);
        assert_eq!(string2ll(b"01"), None);
        assert_eq!(string2ll(b"+1"), None);
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        assert_eq!(atoi(b" 2abc"), 2);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"99999999999999999999"), -1);
    }
}
