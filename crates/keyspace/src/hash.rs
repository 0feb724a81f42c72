//! Hashes: a `Listpack` of field/value pairs while small (`listpack`
//! encoding), a `ScanMap` past `hash-max-listpack-entries` entries or
//! `hash-max-listpack-value` bytes (`hashtable` encoding), as in Redis.

use crate::listpack::Listpack;
use crate::scanmap::ScanMap;

#[derive(Clone, Debug, PartialEq)]
pub enum HashValue {
    /// Fields and values alternate: f1 v1 f2 v2 ...
    Listpack(Listpack),
    Table(ScanMap<Box<[u8]>>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::Listpack(Listpack::new())
    }
}

impl HashValue {
    pub fn new() -> HashValue {
        HashValue::default()
    }

    pub fn len(&self) -> usize {
        match self {
            HashValue::Listpack(lp) => lp.len() / 2,
            HashValue::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            HashValue::Listpack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// Field/value pairs (in listpack order, or hash order for a table).
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match self {
            HashValue::Listpack(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || Some((it.next()?, it.next()?))))
            }
            HashValue::Table(t) => Box::new(t.iter().map(|(k, v)| (k, &**v))),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        use crate::value::alloc_size;
        match self {
            HashValue::Listpack(lp) => alloc_size(lp.capacity_bytes()),
            HashValue::Table(t) => t
                .iter()
                .map(|(k, v)| 48 + alloc_size(k.len()) + alloc_size(v.len()))
                .sum(),
        }
    }
}
