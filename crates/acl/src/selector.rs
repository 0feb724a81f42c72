//! A selector: one set of permissions (commands, key patterns with read and
//! write rights, pub/sub channel patterns). Every user has a root selector
//! and may have more (`(...)` rules); a command is allowed when one of them
//! allows it. This module owns the selector rules of `ACL SETUSER`, their
//! description as `ACL LIST` and `ACL GETUSER` print it, and the check of a
//! command line against one selector.

use crate::catalog::{category_bit, Catalog, CATEGORIES};
use crate::RuleError;
use redust_config::glob_match;
use std::collections::BTreeMap;

/// A key pattern and the access it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub pattern: Vec<u8>,
    pub read: bool,
    pub write: bool,
}

impl KeyPattern {
    /// `~pat`, `%R~pat` or `%W~pat`.
    fn describe(&self, out: &mut Vec<u8>) {
        match (self.read, self.write) {
            (true, false) => out.extend_from_slice(b"%R~"),
            (false, true) => out.extend_from_slice(b"%W~"),
            _ => out.push(b'~'),
        }
        out.extend_from_slice(&self.pattern);
    }
}

/// A key a command line touches: its position in argv and the access its key
/// spec declares (both false when the command's key finder gives no flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUse {
    pub pos: usize,
    pub read: bool,
    pub write: bool,
}

/// A channel a command line publishes to or subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelUse {
    pub pos: usize,
    /// PSUBSCRIBE's patterns are compared literally with the allowed ones.
    pub pattern: bool,
}

/// Why a command line is refused, in Redis's order of relevance (when no
/// selector allows a command, the most relevant refusal is reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Command,
    /// The argv position of the key.
    Key(usize),
    /// The argv position of the channel.
    Channel(usize),
}

impl Denied {
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(p) => (2, p),
            Denied::Channel(p) => (4, p),
        }
    }

    /// Whether `self` is the one to report rather than `other`.
    pub(crate) fn outranks(self, other: Denied) -> bool {
        self.rank() > other.rank()
    }
}

/// One selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub(crate) all_keys: bool,
    pub(crate) all_channels: bool,
    /// Every command was allowed (`+@all`) and none taken away since: the
    /// check's fast path.
    all_commands: bool,
    /// `+@all` was the last reset: commands added to the server later would
    /// be allowed, so the description starts with `+@all`.
    future_commands: bool,
    allowed: Vec<u64>,
    /// First arguments allowed for a command otherwise refused
    /// (`+select|0`), by command id.
    first_args: BTreeMap<usize, Vec<Vec<u8>>>,
    keys: Vec<KeyPattern>,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    /// A selector that allows nothing; `all_channels` from
    /// `acl-pubsub-default`.
    pub fn new(all_channels: bool) -> Selector {
        Selector {
            all_keys: false,
            all_channels,
            all_commands: false,
            future_commands: false,
            allowed: Vec::new(),
            first_args: BTreeMap::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        let word = id / 64;
        if self.allowed.len() <= word {
            self.allowed.resize(word + 1, 0);
        }
        if on {
            self.allowed[word] |= 1 << (id % 64);
        } else {
            self.allowed[word] &= !(1 << (id % 64));
            self.all_commands = false;
        }
    }

    /// Allows or refuses a command and all its subcommands (Redis's
    /// `ACLChangeSelectorPerm`).
    fn change_perm(&mut self, catalog: &Catalog, id: usize, allow: bool) {
        self.set_bit(id, allow);
        self.first_args.remove(&id);
        for &sub in &catalog.entry(id).subcommands {
            self.set_bit(sub, allow);
        }
    }

    fn allow_all(&mut self, catalog: &Catalog) {
        self.allowed = vec![u64::MAX; catalog.len().div_ceil(64).max(1)];
        self.all_commands = true;
        self.future_commands = true;
        self.first_args.clear();
    }

    fn deny_all(&mut self) {
        self.allowed.clear();
        self.all_commands = false;
        self.future_commands = false;
        self.first_args.clear();
    }

    /// Allows or refuses every command of a category (and the subcommands
    /// of a container in it).
    fn set_category(&mut self, catalog: &Catalog, bit: u32, allow: bool) {
        for id in 0..catalog.len() {
            if catalog.entry(id).categories & bit != 0 {
                self.change_perm(catalog, id, allow);
            }
        }
    }

    /// Applies one selector rule (Redis's `ACLSetSelector`).
    pub fn apply(&mut self, op: &[u8], catalog: &Catalog) -> Result<(), RuleError> {
        let eq = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if eq("allkeys") || eq("~*") {
            self.all_keys = true;
            self.keys.clear();
        } else if eq("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if eq("allchannels") || eq("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if eq("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if eq("allcommands") || eq("+@all") {
            self.allow_all(catalog);
        } else if eq("nocommands") || eq("-@all") {
            self.deny_all();
        } else if op[0] == b'~' || op[0] == b'%' {
            self.add_key_pattern(op)?;
        } else if op[0] == b'&' {
            if self.all_channels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = op[1..].to_vec();
            if !self.channels.contains(&pattern) {
                self.channels.push(pattern);
            }
        } else if op.len() > 1 && (op[0] == b'+' || op[0] == b'-') && op[1] == b'@' {
            let allow = op[0] == b'+';
            let bit = category_bit(&op[2..]).ok_or(RuleError::UnknownName)?;
            self.set_category(catalog, bit, allow);
        } else if op[0] == b'+' {
            self.allow_command(&op[1..], catalog)?;
        } else if op[0] == b'-' {
            let id = catalog.lookup(&op[1..]).ok_or(RuleError::UnknownName)?;
            self.change_perm(catalog, id, false);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    fn allow_command(&mut self, name: &[u8], catalog: &Catalog) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let id = catalog.lookup(name).ok_or(RuleError::UnknownName)?;
            self.change_perm(catalog, id, true);
            return Ok(());
        };
        let (base, sub) = (&name[..bar], &name[bar + 1..]);
        let id = catalog.lookup(base).ok_or(RuleError::UnknownName)?;
        let entry = catalog.entry(id);
        if entry.parent.is_some() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if sub.is_empty() {
            return Err(RuleError::Syntax);
        }
        if entry.subcommands.is_empty() {
            // Allowing one first argument of a command without
            // subcommands (`+select|0`), as Redis 7.0 still does.
            let allowed = self.first_args.entry(id).or_default();
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                allowed.push(sub.to_vec());
            }
        } else {
            let sub_id = catalog.lookup(name).ok_or(RuleError::UnknownName)?;
            self.change_perm(catalog, sub_id, true);
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyAfterAll);
        }
        let (read, write, offset) = if op[0] == b'%' {
            let (mut read, mut write) = (false, false);
            let mut offset = 1;
            loop {
                match op.get(offset).map(u8::to_ascii_uppercase) {
                    Some(b'R') if !read => read = true,
                    Some(b'W') if !write => write = true,
                    Some(b'~') => {
                        offset += 1;
                        break;
                    }
                    // `%R` alone is a pattern of nothing, as Redis takes it.
                    None => break,
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
            if !(read || write) {
                return Err(RuleError::Syntax);
            }
            (read, write, offset)
        } else {
            (true, true, 1)
        };
        let pattern = &op[offset..];
        if pattern == b"*" && read && write {
            self.all_keys = true;
            self.keys.clear();
            return Ok(());
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: pattern.to_vec(),
                read,
                write,
            }),
        }
        Ok(())
    }

    /// The command rules as `ACL GETUSER` shows them, rebuilt from the
    /// permissions as Redis 7.0 does (`ACLDescribeSelectorCommandRules`):
    /// `+@all` or `-@all`, then the categories that fit best, then the single
    /// commands (and first arguments) that still differ.
    pub fn describe_commands(&self, catalog: &Catalog) -> String {
        let additive = !self.future_commands;
        let mut fake = Selector::new(false);
        let mut out = String::new();
        if additive {
            out.push_str("-@all ");
        } else {
            fake.allow_all(catalog);
            out.push_str("+@all ");
        }
        // What is left to explain: categories chosen are taken out of it.
        let mut left = self.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut min_diff, mut max_same) = (i32::MAX as usize, 0);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (mut on, mut off) = (0, 0);
                for (id, e) in catalog.entries().iter().enumerate() {
                    if e.categories & (1 << j) != 0 {
                        if left.bit(id) {
                            on += 1;
                        } else {
                            off += 1;
                        }
                    }
                }
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                    best = Some(j);
                    min_diff = diff;
                    max_same = same;
                }
            }
            let Some(j) = best else { break };
            fake.set_category(catalog, 1 << j, additive);
            left.set_category(catalog, 1 << j, !additive);
            out.push_str(if additive { "+@" } else { "-@" });
            out.push_str(CATEGORIES[j]);
            out.push(' ');
            applied[j] = true;
        }
        for (id, e) in catalog.entries().iter().enumerate() {
            if e.parent.is_none() {
                self.describe_single(catalog, id, &mut fake, &mut out);
            }
        }
        out.pop();
        out
    }

    fn describe_single(&self, catalog: &Catalog, id: usize, fake: &mut Selector, out: &mut String) {
        let mine = self.bit(id);
        let entry = catalog.entry(id);
        if mine != fake.bit(id) {
            out.push(if mine { '+' } else { '-' });
            out.push_str(&entry.fullname);
            out.push(' ');
            fake.change_perm(catalog, id, mine);
        }
        for &sub in &entry.subcommands {
            self.describe_single(catalog, sub, fake, out);
        }
        if !mine {
            for arg in self.first_args.get(&id).into_iter().flatten() {
                out.push('+');
                out.push_str(&entry.fullname);
                out.push('|');
                out.push_str(&String::from_utf8_lossy(arg));
                out.push(' ');
            }
        }
    }

    /// The key patterns as `ACL GETUSER` shows them (`~*`, `%R~a ~b`, or
    /// empty).
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            k.describe(&mut out);
        }
        out
    }

    /// The channel patterns as `ACL GETUSER` shows them (`&*`, `&a &b`, or
    /// empty).
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// The whole selector as `ACL LIST` writes it: keys, channels (with
    /// `resetchannels` unless all are allowed), then command rules.
    pub fn describe(&self, catalog: &Catalog) -> Vec<u8> {
        let mut out = Vec::new();
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                k.describe(&mut out);
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands(catalog).as_bytes());
        out
    }

    /// Whether this selector allows everything (no check needed).
    pub fn unrestricted(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Checks a command line (Redis's `ACLSelectorCheckCmd`). `keys` and
    /// `channels` are asked for only when needed.
    pub fn check(
        &self,
        id: usize,
        no_auth: bool,
        args: &[&[u8]],
        keys: &mut dyn FnMut() -> Vec<KeyUse>,
        channels: &mut dyn FnMut() -> Vec<ChannelUse>,
    ) -> Result<(), Denied> {
        if !self.all_commands && !no_auth && !self.bit(id) {
            let first_ok = args.get(1).is_some_and(|first| {
                self.first_args
                    .get(&id)
                    .is_some_and(|allowed| allowed.iter().any(|a| a.eq_ignore_ascii_case(first)))
            });
            if !first_ok {
                return Err(Denied::Command);
            }
        }
        if !self.all_keys {
            for key in keys() {
                let Some(name) = args.get(key.pos) else {
                    continue;
                };
                let granted = self.keys.iter().any(|p| {
                    (p.read || !key.read)
                        && (p.write || !key.write)
                        && glob_match(&p.pattern, name, false)
                });
                if !granted {
                    return Err(Denied::Key(key.pos));
                }
            }
        }
        if !self.all_channels {
            for channel in channels() {
                let Some(name) = args.get(channel.pos) else {
                    continue;
                };
                if !self.allows_channel(name, channel.pattern) {
                    return Err(Denied::Channel(channel.pos));
                }
            }
        }
        Ok(())
    }

    /// Whether a subscriber to `channel` (a pattern when `pattern`) may keep
    /// it under this selector.
    pub fn allows_channel(&self, channel: &[u8], pattern: bool) -> bool {
        self.all_channels
            || self.channels.iter().any(|p| {
                if pattern {
                    p.as_slice() == channel
                } else {
                    glob_match(p, channel, false)
                }
            })
    }
}
