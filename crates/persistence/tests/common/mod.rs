//! Helpers shared by the integration tests: loading a whole RDB file into
//! ordered maps, and normalising values so that set/hash/zset order (which
//! depends on Redis's hash tables) does not matter.
#![allow(dead_code)]

pub mod legacy;
pub mod redis;

use std::collections::BTreeMap;
use std::path::PathBuf;

use redust_persistence::{RdbError, RdbEvent, RdbReader, RdbValue};

/// Everything an RDB file held.
#[derive(Debug, Default)]
pub struct Loaded {
    pub version: u32,
    pub aux: BTreeMap<String, Vec<u8>>,
    pub dbs: BTreeMap<u64, BTreeMap<Vec<u8>, Key>>,
    pub resize: Vec<(u64, u64, u64)>,
    pub functions: Vec<Vec<u8>>,
    pub checksum: Option<u64>,
    pub empty_skipped: u64,
    pub duplicate_keys: u64,
}

/// One key, with its value normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub value: RdbValue,
    pub expire_ms: Option<i64>,
    pub lru_idle: Option<u64>,
    pub lfu_freq: Option<u8>,
}

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let p = data_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Sorts the members of unordered collections.
pub fn normalize(v: RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(mut m) => {
            m.sort();
            RdbValue::Set(m)
        }
        RdbValue::Hash(mut p) => {
            p.sort();
            RdbValue::Hash(p)
        }
        RdbValue::ZSet(mut p) => {
            p.sort_by(|a, b| a.0.cmp(&b.0));
            RdbValue::ZSet(p)
        }
        other => other,
    }
}

pub fn load_bytes(bytes: &[u8]) -> Result<Loaded, RdbError> {
    let mut r = RdbReader::new(bytes)?;
    let mut out = Loaded {
        version: r.version(),
        ..Default::default()
    };
    let mut db = 0;
    while let Some(ev) = r.next_event()? {
        match ev {
            RdbEvent::Aux { key, value } => {
                out.aux
                    .insert(String::from_utf8_lossy(&key).into_owned(), value);
            }
            RdbEvent::SelectDb(n) => db = n,
            RdbEvent::ResizeDb {
                db_size,
                expires_size,
            } => out.resize.push((db, db_size, expires_size)),
            RdbEvent::Entry(e) => {
                let key = Key {
                    value: normalize(e.value),
                    expire_ms: e.expire_ms,
                    lru_idle: e.lru_idle,
                    lfu_freq: e.lfu_freq,
                };
                if out.dbs.entry(db).or_default().insert(e.key, key).is_some() {
                    out.duplicate_keys += 1;
                }
            }
            RdbEvent::Function(code) => out.functions.push(code),
            RdbEvent::End { checksum } => out.checksum = checksum,
        }
    }
    out.empty_skipped = r.empty_keys_skipped();
    Ok(out)
}

pub fn load(name: &str) -> Loaded {
    load_bytes(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

pub fn strs(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| b(s)).collect()
}

pub fn plain(value: RdbValue) -> Key {
    Key {
        value: normalize(value),
        expire_ms: None,
        lru_idle: None,
        lfu_freq: None,
    }
}
