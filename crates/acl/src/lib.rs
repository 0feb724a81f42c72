//! Redis 7.0's access control lists, without I/O: the users and their
//! rules (`catalog`, `selector`, `user`), the set of users of a node with
//! `ACL SETUSER`'s all-or-nothing application, password checks, ACL files'
//! text, and the ACL log (`log`). The engine asks [`Acl`] before running a
//! command; the `ACL` command and AUTH read and change it.

pub mod catalog;
pub mod log;
pub mod selector;
pub mod user;

pub use catalog::{category_bit, Catalog, CATEGORIES};
pub use log::{AclLog, LogContext, LogEntry, LogReason};
pub use selector::{ChannelUse, Denied, KeyUse, Selector};
pub use user::User;

use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a rule was refused; `Display` is Redis's text for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    UnknownName,
    Syntax,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    FirstArgOfSubcommand,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleError::UnknownName => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        })
    }
}

/// `(...)` selectors may span several arguments: joins them (Redis's
/// `ACLMergeSelectorArguments`). `Err` is the index of an unclosed one.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &op) in args.iter().enumerate() {
        match open.as_mut() {
            None if op.first() == Some(&b'(') && op.last() != Some(&b')') => {
                open = Some((i, op.to_vec()));
            }
            None => merged.push(op.to_vec()),
            Some((_, selector)) => {
                selector.push(b' ');
                selector.extend_from_slice(op);
                if op.last() == Some(&b')') {
                    if let Some((_, done)) = open.take() {
                        merged.push(done);
                    }
                }
            }
        }
    }
    match open {
        Some((start, _)) => Err(start),
        None => Ok(merged),
    }
}

/// Users by name, as a node holds them.
pub type Users = BTreeMap<Vec<u8>, User>;

/// The end of a refused ACL file's report.
const NO_CHANGE: &str =
    "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";

/// A problem with one line of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// A user defined twice.
    Duplicate(String),
    /// A name with spaces or NUL bytes.
    BadName,
    /// A `(` selector never closed, and where it starts.
    Unmatched(String),
    /// A refused rule.
    Rule {
        user: String,
        op: String,
        error: RuleError,
    },
}

/// Checks a config file's `user` directive (`words`: name, then rules) as
/// Redis does while it reads the file: the rules must be valid, except that
/// unknown commands are found later, when the users are built. `Err` is the
/// message of the config error.
pub fn check_user_directive(catalog: &Catalog, words: &[Vec<u8>]) -> Result<(), String> {
    // Redis names the failing rule by its index into the whole directive
    // (`user`, name, rules...), which names the wrong word; kept as it is.
    let word = |i: usize| -> String {
        match i {
            0 => "user".to_string(),
            i => words
                .get(i - 1)
                .map_or(String::new(), |w| String::from_utf8_lossy(w).into_owned()),
        }
    };
    let rules: Vec<&[u8]> = words.iter().skip(1).map(Vec::as_slice).collect();
    let merged = merge_selector_args(&rules).map_err(|i| {
        format!(
            "Error in user declaration '{}': {}",
            word(i),
            RuleError::Syntax
        )
    })?;
    let mut user = User::new(&words[0], false);
    for (j, op) in merged.iter().enumerate() {
        match user.apply(op, catalog, false) {
            Ok(()) | Err(RuleError::UnknownName) => {}
            Err(e) => return Err(format!("Error in user declaration '{}': {e}", word(j))),
        }
    }
    Ok(())
}

/// Whether a user name is acceptable (no spaces or NUL bytes).
pub fn valid_username(name: &[u8]) -> bool {
    !name.iter().any(|&b| b == 0 || b.is_ascii_whitespace())
}

/// Constant-time comparison of two password digests.
fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The users of a node.
#[derive(Debug, Clone)]
pub struct Acl {
    pub catalog: Arc<Catalog>,
    users: Users,
    /// `acl-pubsub-default allchannels`.
    pub pubsub_all: bool,
    pub log: AclLog,
}

impl Acl {
    /// The users of a fresh server: `default` alone.
    pub fn new(catalog: Arc<Catalog>) -> Acl {
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), User::default_user(&catalog));
        Acl {
            catalog,
            users,
            pubsub_all: false,
            log: AclLog::default(),
        }
    }

    pub fn user(&self, name: &[u8]) -> Option<&User> {
        self.users.get(name)
    }

    /// Every user, sorted by name.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    pub fn default_user(&self) -> &User {
        &self.users[&b"default"[..]]
    }

    /// Whether a fresh connection must authenticate first: the default
    /// user has passwords or is off.
    pub fn auth_required(&self) -> bool {
        let d = self.default_user();
        !d.nopass || !d.enabled
    }

    /// Applies `rules` to a user (created if missing) all or nothing (Redis's
    /// `ACLStringSetUser`); `Err` is the error text after `ERR `.
    pub fn set_user(&mut self, name: &[u8], rules: &[&[u8]]) -> Result<(), String> {
        let merged = merge_selector_args(rules).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(rules[i])
            )
        })?;
        let mut staged = match self.users.get(name) {
            Some(u) => u.clone(),
            None => User::new(name, self.pubsub_all),
        };
        for op in &merged {
            staged
                .apply(op, &self.catalog, self.pubsub_all)
                .map_err(|e| {
                    format!(
                        "Error in ACL SETUSER modifier '{}': {e}",
                        String::from_utf8_lossy(op)
                    )
                })?;
        }
        self.users.insert(name.to_vec(), staged);
        Ok(())
    }

    /// Removes a user; false when there was none.
    pub fn delete(&mut self, name: &[u8]) -> bool {
        self.users.remove(name).is_some()
    }

    /// `requirepass`: the default user's only password (nopass when empty).
    pub fn set_default_password(&mut self, password: Option<&[u8]>) {
        if let Some(d) = self.users.get_mut(&b"default"[..]) {
            d.passwords.clear();
            d.nopass = false;
            match password {
                Some(p) if !p.is_empty() => {
                    d.passwords.push(redust_config::sha256::sha256_hex(p));
                }
                _ => d.nopass = true,
            }
        }
    }

    /// Whether `name` may log in with `password` (on, and nopass or a
    /// matching password).
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> bool {
        let Some(u) = self.users.get(name) else {
            return false;
        };
        if !u.enabled {
            return false;
        }
        if u.nopass {
            return true;
        }
        let digest = redust_config::sha256::sha256_hex(password);
        u.passwords.iter().fold(false, |found, p| {
            digest_eq(p.as_bytes(), digest.as_bytes()) | found
        })
    }

    /// `user <name> <rules>` for every user, sorted by name (ACL LIST, ACL
    /// SAVE and CONFIG REWRITE).
    pub fn list_lines(&self) -> Vec<Vec<u8>> {
        self.users
            .values()
            .map(|u| {
                let mut line = b"user ".to_vec();
                line.extend_from_slice(&u.name);
                line.push(b' ');
                line.extend_from_slice(&u.describe(&self.catalog));
                line
            })
            .collect()
    }

    /// Builds the users an ACL file describes (`user <name> <rules...>`
    /// lines), on top of a fresh `default`. `Err` is Redis's report of every
    /// problem (`file:line: ...`), and nothing is applied then.
    pub fn users_from_file(&self, file: &str, text: &[u8]) -> Result<Users, String> {
        let mut lines = Vec::new();
        let mut report: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let number = i + 1;
            let line = raw.trim_ascii();
            if line.is_empty() {
                continue;
            }
            match redust_resp::split_args(line) {
                None => report.push((
                    number,
                    format!("{file}:{number}: unbalanced quotes in acl line. "),
                )),
                Some(words) if words.len() < 2 || words[0] != b"user" => report.push((
                    number,
                    format!(
                        "{file}:{number} should start with user keyword followed by the username. "
                    ),
                )),
                Some(mut words) => {
                    words.remove(0);
                    lines.push((number, words));
                }
            }
        }
        let (users, errors) = self.users_from_lines(&lines, false);
        let mut reported_syntax = std::collections::HashSet::new();
        for (number, error) in errors {
            let text = match error {
                LineError::Duplicate(name) => {
                    format!("WARNING: Duplicate user '{name}' found on line {number}. ")
                }
                LineError::BadName => {
                    format!("{file}:{number}: Usernames can't contain spaces or null characters. ")
                }
                LineError::Unmatched(at) => format!(
                    "{file}:{number}: Unmatched parenthesis in acl selector startingat '{at}'. "
                ),
                LineError::Rule {
                    op,
                    error: RuleError::UnknownName,
                    ..
                } => format!(
                    "{file}:{number}: Error in applying operation '{op}': {}. ",
                    RuleError::UnknownName
                ),
                // Only a line's first other error: it may explain the rest.
                LineError::Rule { error, .. } => {
                    if !reported_syntax.insert(number) {
                        continue;
                    }
                    format!("{file}:{number}: {error}. ")
                }
            };
            report.push((number, text));
        }
        if report.is_empty() {
            return Ok(users);
        }
        // In line order, as Redis reads the file in one pass.
        report.sort_by_key(|(number, _)| *number);
        let text: String = report.into_iter().map(|(_, t)| t).collect();
        Err(text + NO_CHANGE)
    }

    /// Builds the users of `lines` (`(line number, [name, rules...])`) on
    /// top of a fresh `default`, with every problem found, in line order.
    /// `default_starts_over`: a `default` line starts from `reset` (the
    /// config's `user` directives) rather than from a new user (ACL files).
    pub fn users_from_lines(
        &self,
        lines: &[(usize, Vec<Vec<u8>>)],
        default_starts_over: bool,
    ) -> (Users, Vec<(usize, LineError)>) {
        let mut users = BTreeMap::new();
        users.insert(b"default".to_vec(), User::default_user(&self.catalog));
        let mut seen = std::collections::HashSet::new();
        let mut errors = Vec::new();
        for (number, words) in lines {
            let Some((name, rules)) = words.split_first() else {
                continue;
            };
            if !valid_username(name) {
                errors.push((*number, LineError::BadName));
                continue;
            }
            if !seen.insert(name.clone()) {
                errors.push((
                    *number,
                    LineError::Duplicate(String::from_utf8_lossy(name).into_owned()),
                ));
                continue;
            }
            let rules: Vec<&[u8]> = rules.iter().map(Vec::as_slice).collect();
            let merged = match merge_selector_args(&rules) {
                Ok(m) => m,
                Err(i) => {
                    let at = String::from_utf8_lossy(rules[i]).into_owned();
                    errors.push((*number, LineError::Unmatched(at)));
                    continue;
                }
            };
            let mut user = User::new(name, self.pubsub_all);
            if default_starts_over && name == b"default" {
                let _ = user.apply(b"reset", &self.catalog, self.pubsub_all);
            }
            for op in &merged {
                if let Err(error) = user.apply(op, &self.catalog, self.pubsub_all) {
                    errors.push((
                        *number,
                        LineError::Rule {
                            user: String::from_utf8_lossy(name).into_owned(),
                            op: String::from_utf8_lossy(op).into_owned(),
                            error,
                        },
                    ));
                }
            }
            users.insert(name.clone(), user);
        }
        (users, errors)
    }

    /// Replaces every user (ACL LOAD, start-up).
    pub fn replace_users(&mut self, users: Users) {
        self.users = users;
        if !self.users.contains_key(&b"default"[..]) {
            self.users
                .insert(b"default".to_vec(), User::default_user(&self.catalog));
        }
    }
}
