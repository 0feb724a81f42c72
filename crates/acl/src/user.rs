//! A user: whether it is on, its passwords (stored as SHA-256 hex, as
//! Redis stores them), and its selectors (the root one first). This module
//! owns the user-level rules of `ACL SETUSER` (`on`, `>pass`, `reset`,
//! `(...)` selectors...), handing the rest to the root selector, and the
//! user's `ACL LIST` description.

use crate::catalog::Catalog;
use crate::selector::{ChannelUse, Denied, KeyUse, Selector};
use crate::RuleError;
use redust_config::sha256::sha256_hex;

/// One ACL user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// `Some(true)`: `skip-sanitize-payload`; `Some(false)`:
    /// `sanitize-payload`; neither flag until a rule sets one.
    pub skip_sanitize: Option<bool>,
    /// SHA-256 hex digests, in the order added.
    pub passwords: Vec<String>,
    /// The root selector first, then the `(...)` ones.
    pub selectors: Vec<Selector>,
}

fn is_password_hash(hash: &[u8]) -> bool {
    hash.len() == 64 && hash.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl User {
    /// A new user as Redis creates one: off, no password, nothing allowed;
    /// channels from `acl-pubsub-default`.
    pub fn new(name: &[u8], all_channels: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            skip_sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(all_channels)],
        }
    }

    /// The `default` user of a fresh server: on, nopass, everything allowed.
    pub fn default_user(catalog: &Catalog) -> User {
        let mut u = User::new(b"default", true);
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            let applied = u.apply(rule.as_bytes(), catalog, true);
            debug_assert!(applied.is_ok());
        }
        u
    }

    /// Applies one rule (Redis's `ACLSetUser`); `(...)` is a new selector.
    /// `pubsub_all` is `acl-pubsub-default` (for `reset` and new selectors).
    pub fn apply(
        &mut self,
        op: &[u8],
        catalog: &Catalog,
        pubsub_all: bool,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let eq = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if eq("on") {
            self.enabled = true;
        } else if eq("off") {
            self.enabled = false;
        } else if eq("skip-sanitize-payload") {
            self.skip_sanitize = Some(true);
        } else if eq("sanitize-payload") {
            self.skip_sanitize = Some(false);
        } else if eq("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if eq("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if eq("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            for rule in ["resetkeys", "resetchannels", "-@all"] {
                root.apply(rule.as_bytes(), catalog)?;
            }
            if pubsub_all {
                root.apply(b"allchannels", catalog)?;
            }
            self.enabled = false;
            self.skip_sanitize = Some(false);
            self.selectors.truncate(1);
        } else if eq("clearselectors") {
            self.selectors.truncate(1);
        } else if op[0] == b'>' || op[0] == b'#' {
            let hash = if op[0] == b'>' {
                sha256_hex(&op[1..])
            } else if is_password_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            if !self.passwords.contains(&hash) {
                self.passwords.push(hash);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let hash = if op[0] == b'<' {
                sha256_hex(&op[1..])
            } else if is_password_hash(&op[1..]) {
                String::from_utf8_lossy(&op[1..]).into_owned()
            } else {
                return Err(RuleError::BadHash);
            };
            let at = self
                .passwords
                .iter()
                .position(|p| *p == hash)
                .ok_or(RuleError::NoSuchPassword)?;
            self.passwords.remove(at);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut selector = Selector::new(pubsub_all);
            let inner = &op[1..op.len() - 1];
            let rules = redust_resp::split_args(inner).ok_or(RuleError::Syntax)?;
            for rule in rules {
                if !rule.is_empty() {
                    selector.apply(&rule, catalog)?;
                }
            }
            self.selectors.push(selector);
        } else {
            self.selectors[0].apply(op, catalog)?;
        }
        Ok(())
    }

    /// The user's rules as `ACL LIST` writes them after `user <name> `.
    pub fn describe(&self, catalog: &Catalog) -> Vec<u8> {
        let mut out = Vec::new();
        for (flag, on) in [
            ("on", self.enabled),
            ("off", !self.enabled),
            ("nopass", self.nopass),
            ("skip-sanitize-payload", self.skip_sanitize == Some(true)),
            ("sanitize-payload", self.skip_sanitize == Some(false)),
        ] {
            if on {
                out.extend_from_slice(flag.as_bytes());
                out.push(b' ');
            }
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for (i, s) in self.selectors.iter().enumerate() {
            if i == 0 {
                out.extend_from_slice(&s.describe(catalog));
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe(catalog));
                out.push(b')');
            }
        }
        out
    }

    /// The flags `ACL GETUSER` lists.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            flags.push("nopass");
        }
        match self.skip_sanitize {
            Some(true) => flags.push("skip-sanitize-payload"),
            Some(false) => flags.push("sanitize-payload"),
            None => {}
        }
        flags
    }

    /// Whether the user may do anything at all without a check.
    pub fn unrestricted(&self) -> bool {
        self.selectors[0].unrestricted()
    }

    /// Checks a command line against every selector (Redis's
    /// `ACLCheckAllUserCommandPerm`): allowed if one allows it, otherwise the
    /// most relevant refusal. Keys and channels are found at most once.
    pub fn check(
        &self,
        id: usize,
        no_auth: bool,
        args: &[&[u8]],
        keys: &mut dyn FnMut() -> Vec<KeyUse>,
        channels: &mut dyn FnMut() -> Vec<ChannelUse>,
    ) -> Result<(), Denied> {
        let mut key_cache: Option<Vec<KeyUse>> = None;
        let mut channel_cache: Option<Vec<ChannelUse>> = None;
        let mut relevant = Denied::Command;
        for s in &self.selectors {
            let mut cached_keys = || key_cache.get_or_insert_with(&mut *keys).clone();
            let mut cached_channels = || channel_cache.get_or_insert_with(&mut *channels).clone();
            match s.check(id, no_auth, args, &mut cached_keys, &mut cached_channels) {
                Ok(()) => return Ok(()),
                Err(d) if d.outranks(relevant) => relevant = d,
                Err(_) => {}
            }
        }
        Err(relevant)
    }
}
