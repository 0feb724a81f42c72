//! Setting and reading config values: the shared core of config-file
//! loading, CONFIG SET and CONFIG GET.
//!
//! This module owns the per-type "set from arguments" logic (with Redis's
//! exact validation order and error texts), the per-type CONFIG GET
//! rendering, the all-or-nothing multi-pair CONFIG SET (Redis 7.0
//! semantics: unknown / immutable / protected / duplicate / loading checks
//! first, then every value, rolled back on the first failure), CONFIG GET
//! with glob patterns and de-duplication, and the directive metadata the
//! server needs (mutability, sensitivity, canonical names).

use std::path::PathBuf;

use crate::config::Config;
use crate::glob::glob_match;
use crate::keyspace_events::{keyspace_events_to_string, parse_keyspace_events};
use crate::messages as msg;
use crate::table::{
    lookup, Def, Kind, NumDef, NumFmt, Special, DEFS, DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG,
    PROTECTED, SENSITIVE,
};
use crate::values::{
    cstr, format_double_trimmed, parse_memory, strerror, string2d, string2ll, strtoll,
    strtoll_full, strtoll_octal_strict, yesno,
};

/// Lowest `hz` the server runs at (values below are raised to it).
pub const CONFIG_MIN_HZ: u32 = 1;
/// Highest `hz` the server runs at (values above are lowered to it).
pub const CONFIG_MAX_HZ: u32 = 500;

/// Where a CONFIG SET comes from, for the checks that depend on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetContext {
    /// The client is connected over loopback or a unix socket (matters for
    /// `enable-protected-configs local`).
    pub client_is_local: bool,
    /// The server is loading its dataset (configs such as `appendonly` and
    /// `dir` are then refused with a LOADING error).
    pub loading: bool,
}

/// What the server may need to know about a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectiveInfo {
    /// Primary (canonical) name.
    pub name: &'static str,
    /// Alias, if any (`slaveof` for `replicaof`, ...).
    pub alias: Option<&'static str>,
    /// Can be changed with CONFIG SET.
    pub mutable: bool,
    /// CONFIG SET requires `enable-protected-configs`.
    pub protected: bool,
    /// Values must be redacted from logs, SLOWLOG and MONITOR.
    pub sensitive: bool,
    /// Only listed by CONFIG GET when asked for by exact name.
    pub hidden: bool,
    /// Refused by CONFIG SET while the dataset is loading.
    pub deny_loading: bool,
    /// Takes several space-separated values.
    pub multi_arg: bool,
}

/// Metadata of the directive called `name` (primary name or alias,
/// case-insensitive); `None` if Redis 7.0 has no such config.
pub fn directive_info(name: &[u8]) -> Option<DirectiveInfo> {
    lookup(name).map(|(d, _)| DirectiveInfo {
        name: d.name,
        alias: d.alias,
        mutable: !d.has(IMMUTABLE),
        protected: d.has(PROTECTED),
        sensitive: d.has(SENSITIVE),
        hidden: d.has(HIDDEN),
        deny_loading: d.has(DENY_LOADING),
        multi_arg: d.has(MULTI_ARG),
    })
}

/// Whether the config `name` can be changed at runtime with CONFIG SET
/// (`None` for an unknown name).
pub fn is_mutable(name: &[u8]) -> Option<bool> {
    directive_info(name).map(|i| i.mutable)
}

/// The primary names of every Redis 7.0 config, in table order.
pub fn config_names() -> impl Iterator<Item = &'static str> {
    DEFS.iter().map(|d| d.name)
}

/// Mutable state shared by consecutive sets while reading config files
/// (Redis's `reading_config_file` and `save_loaded` statics).
#[derive(Debug, Default)]
pub(crate) struct SetEnv {
    pub reading_config_file: bool,
    pub save_loaded: bool,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Replaces CR/LF with spaces, as Redis's `addReplyErrorFormat` does.
fn sanitize_reply(s: String) -> String {
    if s.contains(['\r', '\n']) {
        s.replace(['\r', '\n'], " ")
    } else {
        s
    }
}

/// Redis's `sdssplitlen(value, " ")` as used by CONFIG SET for multi-arg
/// configs: every single space separates, empty input yields no arguments.
fn split_on_spaces(value: &[u8]) -> Vec<&[u8]> {
    if value.is_empty() {
        Vec::new()
    } else {
        value.split(|&b| b == b' ').collect()
    }
}

/// The enum error text, truncated like Redis's 256-byte `loadbuf`.
fn enum_error(entries: &[(&str, i32)]) -> String {
    let names: Vec<&str> = entries.iter().map(|(n, _)| *n).collect();
    let mut s = format!("{}{}", msg::ENUM_ARG_PREFIX, names.join(", "));
    if s.len() > 255 {
        let mut cut = 255;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Redis's `configEnumGetValue`.
fn enum_value(entries: &[(&str, i32)], args: &[&[u8]], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut values = 0;
    for arg in args {
        let arg = cstr(arg);
        let mut matched = false;
        for (name, v) in entries {
            if name.as_bytes().eq_ignore_ascii_case(arg) {
                values |= v;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(values)
}

/// Redis's `configEnumGetName`.
pub(crate) fn enum_name(entries: &[(&str, i32)], values: i32, bitflags: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut unmatched = values;
    for (name, v) in entries {
        if values == *v {
            return (*name).to_string();
        }
        if bitflags && *v != 0 && *v == (unmatched & v) {
            names.push(name);
            unmatched &= !v;
        }
    }
    if names.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        names.join(" ")
    }
}

/// Redis's `numericParseString`.
fn parse_numeric(d: &NumDef, value: &[u8]) -> Result<i64, &'static str> {
    if matches!(d.fmt, NumFmt::Memory | NumFmt::MemoryPercent) {
        if let Some(v) = parse_memory(value) {
            return Ok(v as i64);
        }
    }
    if d.fmt == NumFmt::MemoryPercent && value.len() > 1 && value.last() == Some(&b'%') {
        if let Some(v) = string2ll(&value[..value.len() - 1]) {
            if v >= 0 {
                return Ok(-v);
            }
        }
    }
    if d.fmt == NumFmt::Octal {
        if let Some(v) = strtoll_octal_strict(value) {
            return Ok(v);
        }
    }
    if d.fmt == NumFmt::Int {
        if let Some(v) = string2ll(value) {
            return Ok(v);
        }
    }
    Err(match d.fmt {
        NumFmt::MemoryPercent => msg::ARG_MEMORY_OR_PERCENT,
        NumFmt::Memory => msg::ARG_MEMORY,
        NumFmt::Octal => msg::ARG_OCTAL,
        NumFmt::Int => msg::ARG_INTEGER,
    })
}

/// Redis's `numericBoundaryCheck`.
fn check_bounds(d: &NumDef, ll: i64) -> Result<(), String> {
    if d.unsigned {
        let (v, lo, hi) = (ll as u64, d.lower as u64, d.upper as u64);
        if v > hi || v < lo {
            return Err(if d.fmt == NumFmt::Octal {
                msg::arg_between_octal(lo, hi)
            } else {
                msg::arg_between_unsigned(lo, hi)
            });
        }
    } else if d.fmt == NumFmt::MemoryPercent && ll < 0 {
        if ll < d.lower {
            return Err(msg::arg_percent_max(d.lower.wrapping_neg()));
        }
    } else if ll > d.upper || ll < d.lower {
        return Err(msg::arg_between_signed(d.lower, d.upper));
    }
    Ok(())
}

/// Applies `args` (the values after the directive name) to `c`. Returns
/// whether the stored value changed (Redis's "1" vs "2"), or the error text.
pub(crate) fn set_def(
    def: &Def,
    c: &mut Config,
    args: &[&[u8]],
    env: &mut SetEnv,
) -> Result<bool, String> {
    let first = args.first().copied().unwrap_or(b"");
    match &def.kind {
        Kind::Bool(d) => {
            let v = yesno(first).ok_or(msg::ARG_YES_NO)?;
            if let Some(valid) = d.valid {
                valid(v)?;
            }
            if (d.get)(c) != v {
                (d.set)(c, v);
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Kind::Str(d) => {
            let raw = cstr(first);
            if let Some(valid) = d.valid {
                valid(c, raw)?;
            }
            let new = if d.empty_is_null && raw.is_empty() {
                None
            } else {
                Some(lossy(raw))
            };
            if (d.get)(c) != new.as_deref() {
                (d.set)(c, new);
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Kind::Sds(d) => {
            let new = if first.is_empty() {
                None
            } else {
                Some(first.to_vec())
            };
            if (d.get)(c) != new.as_deref() {
                (d.set)(c, new);
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Kind::Enum(d) => {
            let bitflags = def.has(MULTI_ARG);
            let v = enum_value(d.entries, args, bitflags).ok_or_else(|| enum_error(d.entries))?;
            if let Some(valid) = d.valid {
                valid(v)?;
            }
            if (d.get)(c) != v {
                (d.set)(c, v);
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Kind::Num(d) => {
            let v = parse_numeric(d, first)?;
            check_bounds(d, v)?;
            if (d.get)(c) != v {
                (d.set)(c, v);
                Ok(true)
            } else {
                Ok(false)
            }
        }
        Kind::Special(s) => set_special(*s, c, args, env),
    }
}

fn set_special(
    s: Special,
    c: &mut Config,
    args: &[&[u8]],
    env: &mut SetEnv,
) -> Result<bool, String> {
    match s {
        Special::Dir => {
            if args.len() != 1 {
                return Err(msg::WRONG_NUMBER_OF_ARGUMENTS.into());
            }
            c.dir = change_dir(&c.dir, cstr(args[0]))?;
            Ok(true)
        }
        Special::Save => {
            let mut args = args;
            if args.len() == 1 && cstr(args[0]).is_empty() {
                // `save ""` always empties the list, even in the middle of a
                // config file (while a bare `save` does not).
                c.save.clear();
                args = &[];
            }
            if !args.len().is_multiple_of(2) {
                return Err(msg::INVALID_SAVE_PARAMS.into());
            }
            let mut points = Vec::with_capacity(args.len() / 2);
            for pair in args.chunks(2) {
                let secs = strtoll_full(pair[0], 10).ok_or(msg::INVALID_SAVE_PARAMS)?;
                let changes = strtoll_full(pair[1], 10).ok_or(msg::INVALID_SAVE_PARAMS)?;
                if secs < 1 || changes < 0 {
                    return Err(msg::INVALID_SAVE_PARAMS.into());
                }
                // Redis stores `changes` in a C int.
                points.push((secs, changes as i32));
            }
            if !env.reading_config_file {
                c.save.clear();
            } else if !env.save_loaded {
                // The first `save` of the files replaces the defaults; the
                // following ones append.
                env.save_loaded = true;
                c.save.clear();
            }
            c.save.extend(points);
            Ok(true)
        }
        Special::ClientOutputBufferLimit => {
            if !args.len().is_multiple_of(4) {
                return Err(msg::OBUF_WRONG_ARGS.into());
            }
            let mut values: [Option<crate::config::ClientBufferLimit>; 3] = [None; 3];
            for chunk in args.chunks(4) {
                let class = cstr(chunk[0]);
                let idx = if class.eq_ignore_ascii_case(b"normal") {
                    0
                } else if class.eq_ignore_ascii_case(b"slave")
                    || class.eq_ignore_ascii_case(b"replica")
                {
                    1
                } else if class.eq_ignore_ascii_case(b"pubsub") {
                    2
                } else {
                    return Err(msg::OBUF_BAD_CLASS.into());
                };
                let hard = parse_memory(chunk[1]);
                let soft = parse_memory(chunk[2]);
                let secs_text = cstr(chunk[3]);
                let (secs, end, _) = strtoll(secs_text, 10);
                // Redis keeps the seconds in a C int before checking them.
                let secs = secs as i32;
                match (hard, soft) {
                    (Some(hard), Some(soft)) if secs >= 0 && end == secs_text.len() => {
                        values[idx] = Some(crate::config::ClientBufferLimit {
                            hard,
                            soft,
                            soft_seconds: secs as u32,
                        });
                    }
                    _ => return Err(msg::OBUF_BAD_VALUES.into()),
                }
            }
            for (idx, v) in values.into_iter().enumerate() {
                if let Some(v) = v {
                    *c.client_output_buffer_limit.class_mut(idx) = v;
                }
            }
            Ok(true)
        }
        Special::OomScoreAdjValues => {
            if args.len() != 3 {
                return Err(msg::WRONG_NUMBER_OF_ARGUMENTS.into());
            }
            let mut values = [0i32; 3];
            for (slot, arg) in values.iter_mut().zip(args) {
                match strtoll_full(arg, 10) {
                    Some(v) if (-2000..=2000).contains(&v) => *slot = v as i32,
                    _ => return Err(msg::OOM_SCORE_ADJ_VALUES_INVALID.into()),
                }
            }
            let changed = values != c.oom_score_adj_values;
            c.oom_score_adj_values = values;
            Ok(changed)
        }
        Special::NotifyKeyspaceEvents => {
            if args.len() != 1 {
                return Err(msg::WRONG_NUMBER_OF_ARGUMENTS.into());
            }
            c.notify_keyspace_events =
                parse_keyspace_events(args[0]).ok_or(msg::NOTIFY_KEYSPACE_EVENTS_INVALID)?;
            Ok(true)
        }
        Special::Bind => {
            if args.len() > 16 {
                return Err(msg::BIND_TOO_MANY.into());
            }
            let args = if args.len() == 1 && args[0].is_empty() {
                &[][..]
            } else {
                args
            };
            c.bind = args.iter().map(|a| lossy(cstr(a))).collect();
            Ok(true)
        }
        Special::ReplicaOf => {
            if args.len() != 2 {
                return Err(msg::WRONG_NUMBER_OF_ARGUMENTS.into());
            }
            c.replicaof = None;
            let (host, port_text) = (cstr(args[0]), cstr(args[1]));
            if host.eq_ignore_ascii_case(b"no") && port_text.eq_ignore_ascii_case(b"one") {
                return Ok(true);
            }
            let (port, end, _) = strtoll(port_text, 10);
            // `server.masterport` is a C int.
            let port = port as i32;
            if !(0..=65535).contains(&port) || end != port_text.len() {
                return Err(msg::INVALID_MASTER_PORT.into());
            }
            c.replicaof = Some((lossy(host), port as u16));
            Ok(true)
        }
        Special::LatencyTrackingInfoPercentiles => {
            let args = if args.len() == 1 && args[0].is_empty() {
                &[][..]
            } else {
                args
            };
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                let v = string2d(arg).ok_or(msg::LATENCY_PERCENTILES_INVALID)?;
                if !(0.0..=100.0).contains(&v) {
                    return Err(msg::LATENCY_PERCENTILES_RANGE.into());
                }
                values.push(v);
            }
            c.latency_tracking_info_percentiles = values;
            Ok(true)
        }
    }
}

/// Emulates `chdir(arg)` from `cur`: the new absolute, symlink-free
/// directory, or the `strerror` text of the failure.
pub(crate) fn change_dir(cur: &std::path::Path, arg: &[u8]) -> Result<PathBuf, String> {
    if arg.is_empty() {
        return Err(strerror(&std::io::Error::from_raw_os_error(2)));
    }
    let target = cur.join(lossy(arg));
    match std::fs::canonicalize(&target) {
        Ok(p) if p.is_dir() => Ok(p),
        Ok(_) => Err(strerror(&std::io::Error::from_raw_os_error(20))),
        Err(e) => Err(strerror(&e)),
    }
}

/// CONFIG GET value of one config.
pub(crate) fn get_def(def: &Def, c: &Config) -> Vec<u8> {
    match &def.kind {
        Kind::Bool(d) => (if (d.get)(c) { "yes" } else { "no" }).into(),
        Kind::Str(d) => (d.get)(c).unwrap_or("").into(),
        Kind::Sds(d) => (d.get)(c).unwrap_or(b"").to_vec(),
        Kind::Enum(d) => enum_name(d.entries, (d.get)(c), def.has(MULTI_ARG)).into_bytes(),
        Kind::Num(d) => {
            let v = (d.get)(c);
            match d.fmt {
                NumFmt::MemoryPercent if v < 0 => format!("{}%", v.unsigned_abs()),
                NumFmt::Memory | NumFmt::MemoryPercent => (v as u64).to_string(),
                NumFmt::Octal => format!("{:o}", v as u64),
                NumFmt::Int => v.to_string(),
            }
            .into_bytes()
        }
        Kind::Special(s) => get_special(*s, c).into_bytes(),
    }
}

fn get_special(s: Special, c: &Config) -> String {
    match s {
        Special::Dir => c.dir.to_string_lossy().into_owned(),
        Special::Save => c
            .save
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(" "),
        Special::ClientOutputBufferLimit => {
            let l = &c.client_output_buffer_limit;
            ["normal", "slave", "pubsub"]
                .iter()
                .zip(l.classes())
                .map(|(name, v)| format!("{name} {} {} {}", v.hard, v.soft, v.soft_seconds))
                .collect::<Vec<_>>()
                .join(" ")
        }
        Special::OomScoreAdjValues => {
            let v = c.oom_score_adj_values;
            format!("{} {} {}", v[0], v[1], v[2])
        }
        Special::NotifyKeyspaceEvents => keyspace_events_to_string(c.notify_keyspace_events),
        Special::Bind => c.bind.join(" "),
        Special::ReplicaOf => match &c.replicaof {
            Some((host, port)) => format!("{host} {port}"),
            None => String::new(),
        },
        Special::LatencyTrackingInfoPercentiles => c
            .latency_tracking_info_percentiles
            .iter()
            .map(|v| format_double_trimmed(*v))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl Config {
    /// CONFIG GET: the `(name, value)` pairs matching any of `patterns`.
    ///
    /// A pattern without `*`, `?` or `[` is an exact, case-insensitive name
    /// lookup (hidden configs included) and is reported under the name as
    /// given; otherwise it is a case-insensitive glob over every primary name
    /// and alias (hidden configs excluded). Each name appears once even when
    /// several patterns match it (case-insensitively), exactly as in Redis
    /// 7.0; an alias and its primary are distinct names, so
    /// `CONFIG GET *slave*` lists the aliases. Values are lossily decoded as
    /// UTF-8; use [`Config::get_bytes`] for binary-safe values.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        self.get_bytes(patterns)
            .into_iter()
            .map(|(k, v)| (lossy(&k), lossy(&v)))
            .collect()
    }

    /// Binary-safe [`Config::get`].
    pub fn get_bytes(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut matches: Vec<(Vec<u8>, &'static Def)> = Vec::new();
        let seen = |m: &Vec<(Vec<u8>, &'static Def)>, name: &[u8]| {
            m.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        for pattern in patterns {
            let pat = cstr(pattern);
            if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
                if seen(&matches, pattern) {
                    continue;
                }
                if let Some((def, _)) = lookup(pattern) {
                    matches.push((pattern.to_vec(), def));
                }
                continue;
            }
            for def in DEFS {
                if def.has(HIDDEN) {
                    continue;
                }
                for name in std::iter::once(def.name).chain(def.alias) {
                    if !seen(&matches, name.as_bytes()) && glob_match(pat, name.as_bytes(), true) {
                        matches.push((name.as_bytes().to_vec(), def));
                    }
                }
            }
        }
        matches
            .into_iter()
            .map(|(name, def)| (name, get_def(def, self)))
            .collect()
    }

    /// The CONFIG GET value of one config (primary name or alias), if it
    /// exists.
    pub fn get_value(&self, name: &str) -> Option<String> {
        lookup(name.as_bytes()).map(|(def, _)| lossy(&get_def(def, self)))
    }

    /// CONFIG SET with default context (remote client, not loading): see
    /// [`Config::set_with`].
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.set_with(pairs, SetContext::default())
    }

    /// CONFIG SET of several `(name, value)` pairs, all or nothing, with
    /// Redis 7.0's checks and error replies (`ERR Unknown option or number
    /// of arguments for CONFIG SET - 'x'`, `ERR CONFIG SET failed (possibly
    /// related to argument 'x') - ...`, `LOADING ...`).
    ///
    /// On success returns the primary names whose value was (re)applied —
    /// Redis's "apply" set: configs whose value actually changed, plus the
    /// special multi-value configs, which always count as changed — so the
    /// server can run side effects (rebind on `port`/`bind`, evict on
    /// `maxmemory`, `chdir` on `dir`, ...). If such a side effect fails the
    /// server should restore a clone taken before the call. `hz` is clamped
    /// to 1..=500 as Redis's apply step does.
    pub fn set_with(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        ctx: SetContext,
    ) -> Result<Vec<&'static str>, String> {
        set_pairs(self, pairs, ctx).map_err(sanitize_reply)
    }
}

fn set_pairs(
    cfg: &mut Config,
    pairs: &[(&[u8], &[u8])],
    ctx: SetContext,
) -> Result<Vec<&'static str>, String> {
    let mut found: Vec<Option<(&'static Def, bool)>> = Vec::with_capacity(pairs.len());
    let mut invalid = false;
    let mut unknown: Option<&[u8]> = None;
    let mut failure: Option<(&[u8], &'static str)> = None;
    let mut deny_loading = false;
    for (name, _) in pairs {
        let Some((def, alias)) = lookup(name) else {
            if !invalid {
                unknown = Some(name);
                invalid = true;
            }
            found.push(None);
            continue;
        };
        if invalid {
            found.push(None);
            continue;
        }
        if def.has(IMMUTABLE)
            || (def.has(PROTECTED) && !cfg.enable_protected_configs.allows(ctx.client_is_local))
        {
            let why = if def.has(IMMUTABLE) {
                msg::CANT_SET_IMMUTABLE
            } else {
                msg::CANT_SET_PROTECTED
            };
            failure = Some((name, why));
            invalid = true;
            found.push(None);
            continue;
        }
        if ctx.loading && def.has(DENY_LOADING) {
            deny_loading = true;
            invalid = true;
            found.push(None);
            continue;
        }
        // Redis compares config entries: a primary name and its alias are
        // distinct entries, so `slave-priority` + `replica-priority` is not
        // a duplicate.
        let dup = found
            .iter()
            .flatten()
            .any(|(d, a)| std::ptr::eq(*d, def) && *a == alias);
        if dup {
            failure = Some((name, msg::DUPLICATE_PARAMETER));
            invalid = true;
        }
        found.push(Some((def, alias)));
    }
    if invalid {
        return Err(if deny_loading {
            msg::LOADING.to_string()
        } else if let Some(name) = unknown {
            msg::set_unknown_option(&lossy(cstr(name)))
        } else if let Some((name, why)) = failure {
            msg::set_failed(&lossy(cstr(name)), Some(why))
        } else {
            msg::set_failed("", None)
        });
    }

    let mut next = cfg.clone();
    let mut env = SetEnv::default();
    let mut changed: Vec<&'static str> = Vec::new();
    for ((_, value), entry) in pairs.iter().zip(&found) {
        let Some((def, alias)) = *entry else {
            continue;
        };
        let args = if def.has(MULTI_ARG) {
            split_on_spaces(value)
        } else {
            vec![*value]
        };
        match set_def(def, &mut next, &args, &mut env) {
            Ok(true) => {
                if !changed.contains(&def.name) {
                    changed.push(def.name);
                }
            }
            Ok(false) => {}
            Err(why) => {
                let shown = if alias {
                    def.alias.unwrap_or(def.name)
                } else {
                    def.name
                };
                return Err(msg::set_failed(shown, Some(&why)));
            }
        }
    }
    if changed.contains(&"hz") {
        next.hz = next.hz.clamp(CONFIG_MIN_HZ, CONFIG_MAX_HZ);
    }
    *cfg = next;
    Ok(changed)
}
