//! The commands ACL rules can name: every command and subcommand of the
//! server's table with the categories it belongs to, numbered so that a
//! selector's permissions are a bitmap. The engine fills it from its command
//! specs; nothing here knows Redis's commands by heart except the category
//! names.

use std::collections::HashMap;

/// The ACL categories of Redis 7.0, in the order `ACL CAT` lists them; a
/// category's bit is its index.
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of a category name (without `@`, any case).
pub fn category_bit(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// One command or subcommand.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// Lowercase; `parent|sub` for a subcommand.
    pub fullname: String,
    pub parent: Option<usize>,
    pub subcommands: Vec<usize>,
    /// Category bits ([`category_bit`]).
    pub categories: u32,
    /// Runs before authentication (AUTH, HELLO): never refused by ACL.
    pub no_auth: bool,
}

/// Every command ACL knows, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Adds a command (a subcommand after its parent, as `parent|sub`) and
    /// returns its id: ids are given in the order of the calls. Category
    /// names may carry their `@`; unknown ones are ignored.
    pub fn add(&mut self, fullname: &str, categories: &[&str], no_auth: bool) -> usize {
        let fullname = fullname.to_ascii_lowercase();
        let id = self.entries.len();
        let parent = fullname
            .split_once('|')
            .and_then(|(parent, _)| self.by_name.get(parent).copied());
        if let Some(p) = parent {
            self.entries[p].subcommands.push(id);
        }
        let categories = categories
            .iter()
            .filter_map(|c| category_bit(c.strip_prefix('@').unwrap_or(c).as_bytes()))
            .fold(0, |acc, bit| acc | bit);
        self.by_name.insert(fullname.clone(), id);
        self.entries.push(CatalogEntry {
            fullname,
            parent,
            subcommands: Vec::new(),
            categories,
            no_auth,
        });
        id
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entry(&self, id: usize) -> &CatalogEntry {
        &self.entries[id]
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// A command by name as ACL rules write it (Redis's `ACLLookupCommand`):
    /// `name` or `parent|sub`, any case; a `|` part is found only under a
    /// command that has subcommands.
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
        if name.matches('|').count() > 1 {
            return None;
        }
        let id = *self.by_name.get(&name)?;
        Some(id)
    }

    /// The names in a category (bit from [`category_bit`]), subcommands
    /// included, in catalog order.
    pub fn in_category(&self, bit: u32) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(move |e| e.categories & bit != 0)
            .map(|e| e.fullname.as_str())
    }
}
