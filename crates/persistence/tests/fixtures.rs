//! Files written by a real Redis 7.0.15 (see tests/data/make_fixtures.sh)
//! decode to exactly the data the script put in, and the `DUMP` payloads it
//! produced parse to the same values.

mod common;

use std::collections::BTreeMap;

use common::*;
use redust_persistence::rdb::types;
use redust_persistence::{
    parse_dump_payload, verify_checksum, ChecksumStatus, ErrorKind, RdbValue,
};

fn rep(c: &str, n: usize) -> String {
    c.repeat(n)
}

fn db0(l: &Loaded) -> &BTreeMap<Vec<u8>, Key> {
    assert_eq!(l.dbs.keys().copied().collect::<Vec<_>>(), vec![0]);
    &l.dbs[&0]
}

fn assert_db(l: &Loaded, expected: Vec<(&str, RdbValue)>) {
    let got = db0(l);
    let want: BTreeMap<Vec<u8>, Key> = expected
        .into_iter()
        .map(|(k, v)| (b(k), plain(v)))
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "keys: {:?}",
        got.keys()
            .map(|k| String::from_utf8_lossy(k))
            .collect::<Vec<_>>()
    );
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "key {}", String::from_utf8_lossy(k));
    }
}

fn check_common(l: &Loaded) {
    assert_eq!(l.version, 10);
    assert_eq!(l.aux["redis-ver"], b"7.0.15");
    assert_eq!(l.aux["redis-bits"], b"64");
    assert!(l.aux.contains_key("ctime") && l.aux.contains_key("used-mem"));
    assert_eq!(l.aux["aof-base"], b"0");
    assert!(l.checksum.is_some());
}

fn zset(pairs: &[(&str, f64)]) -> RdbValue {
    RdbValue::ZSet(pairs.iter().map(|(m, s)| (b(m), *s)).collect())
}

fn hash(pairs: &[(&str, &str)]) -> RdbValue {
    RdbValue::Hash(pairs.iter().map(|(f, v)| (b(f), b(v))).collect())
}

#[test]
fn strings() {
    let l = load("strings.rdb");
    check_common(&l);
    let mut binary = vec![0u8, 1, 0xff];
    binary.extend_from_slice(b"binary");
    assert_db(
        &l,
        vec![
            ("int8", RdbValue::String(b("12"))),
            ("int16", RdbValue::String(b("-300"))),
            ("int32", RdbValue::String(b("100000"))),
            ("bigint", RdbValue::String(b("9999999999"))),
            ("leadingzero", RdbValue::String(b("007"))),
            ("float", RdbValue::String(b("3.14"))),
            ("empty", RdbValue::String(vec![])),
            ("compressible", RdbValue::String(b(&rep("a", 200)))),
            (
                "incompressible",
                RdbValue::String(b("abcdefghijklmnopqrstuvwxyz0123456789")),
            ),
            ("binary", RdbValue::String(binary)),
        ],
    );
    assert_eq!(l.resize, vec![(0, 10, 0)]);
}

#[test]
fn lists() {
    let l = load("lists.rdb");
    check_common(&l);
    let x = |c: &str, i: u32| format!("{}{i}", rep(c, 30));
    let mut compressed: Vec<Vec<u8>> = Vec::new();
    for c in ["x", "y", "z"] {
        for i in 1..=4 {
            compressed.push(b(&x(c, i)));
        }
    }
    compressed.push(b("tail"));
    assert_db(
        &l,
        vec![
            (
                "small",
                RdbValue::List(strs(&[
                    "a",
                    "b",
                    "1",
                    "2",
                    "-1",
                    "1000",
                    "70000",
                    "-9223372036854775808",
                ])),
            ),
            (
                "multi",
                RdbValue::List((1..=10).map(|i| b(&format!("e{i}"))).collect()),
            ),
            ("compressed", RdbValue::List(compressed)),
            (
                "plain",
                RdbValue::List(vec![b("head"), b(&rep("p", 150)), b("tail")]),
            ),
        ],
    );
    // Every list is a quicklist of listpacks (type 18) in Redis 7.0.
    let raw = fixture("lists.rdb");
    assert!(raw
        .windows(6)
        .any(|w| w == [types::LIST_QUICKLIST_2, 5, b'p', b'l', b'a', b'i']));
}

#[test]
fn sets() {
    let l = load("sets.rdb");
    check_common(&l);
    assert_db(
        &l,
        vec![
            ("i16", RdbValue::Set(strs(&["1", "2", "3", "-5"]))),
            ("i32", RdbValue::Set(strs(&["1", "70000"]))),
            ("i64", RdbValue::Set(strs(&["1", "5000000000"]))),
            ("strs", RdbValue::Set(strs(&["a", "b", "c"]))),
            ("bigints", RdbValue::Set(strs(&["1", "2", "3", "4"]))),
        ],
    );
}

#[test]
fn zsets() {
    let l = load("zsets.rdb");
    check_common(&l);
    let content = [
        ("a", 1.0),
        ("b", 2.5),
        ("c", -3.0),
        ("d", f64::INFINITY),
        ("e", f64::NEG_INFINITY),
        ("f", 0.1),
        ("g", 1e300),
    ];
    assert_db(&l, vec![("small", zset(&content)), ("big", zset(&content))]);
}

#[test]
fn hashes() {
    let l = load("hashes.rdb");
    check_common(&l);
    assert_db(
        &l,
        vec![
            (
                "small",
                hash(&[("f1", "v1"), ("f2", "123"), ("f3", "-70000")]),
            ),
            ("long", hash(&[("f", &rep("v", 100))])),
            ("big", hash(&[("f1", "v1"), ("f2", "v2"), ("f3", "300")])),
        ],
    );
}

#[test]
fn expire_and_lru() {
    let l = load("expire_lru.rdb");
    check_common(&l);
    let db = db0(&l);
    assert_eq!(db.len(), 3);
    let v = &db[&b("volatile")];
    assert_eq!(v.value, RdbValue::String(b("v")));
    assert_eq!(v.expire_ms, Some(4102444800000));
    assert!(v.lru_idle.is_some_and(|s| s < 3600) && v.lfu_freq.is_none());
    let p = &db[&b("persistent")];
    assert_eq!(p.expire_ms, None);
    assert!(p.lru_idle.is_some());
    let vl = &db[&b("vlist")];
    assert_eq!(vl.value, RdbValue::List(strs(&["a"])));
    assert_eq!(vl.expire_ms, Some(4102444800123));
    assert_eq!(l.resize, vec![(0, 3, 2)]);
}

#[test]
fn lfu() {
    let l = load("lfu.rdb");
    let db = db0(&l);
    assert_eq!(db.len(), 2);
    for k in [&b("a"), &b("b")] {
        assert!(db[k].lfu_freq.is_some() && db[k].lru_idle.is_none());
    }
    assert_eq!(db[&b("b")].expire_ms, Some(4102444800000));
    assert_eq!(db[&b("a")].value, RdbValue::String(b("1")));
}

#[test]
fn multiple_databases() {
    let l = load("multidb.rdb");
    assert_eq!(l.dbs.keys().copied().collect::<Vec<_>>(), vec![0, 5, 15]);
    assert_eq!(l.dbs[&0][&b("a")].value, RdbValue::String(b("1")));
    assert_eq!(l.dbs[&5][&b("b")].value, RdbValue::String(b("2")));
    assert_eq!(l.dbs[&15][&b("c")].value, RdbValue::List(strs(&["x"])));
    assert_eq!(l.resize, vec![(0, 1, 0), (5, 1, 0), (15, 1, 0)]);
}

#[test]
fn function_library() {
    let l = load("function.rdb");
    assert_eq!(
        l.functions,
        vec![b("#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)")]
    );
    assert!(l.dbs.is_empty());
}

#[test]
fn stream_is_refused_with_offset() {
    let raw = fixture("stream.rdb");
    let err = load_bytes(&raw).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::StreamNotSupported));
    assert_eq!(raw[err.offset() as usize], types::STREAM_LISTPACKS_2);
    assert!(
        err.to_string()
            .starts_with("stream type not supported at offset "),
        "{err}"
    );
}

#[test]
fn empty_file() {
    let l = load("empty.rdb");
    check_common(&l);
    assert!(l.dbs.is_empty() && l.functions.is_empty());
}

#[test]
fn checksum_and_compression_off() {
    let l = load("nochecksum.rdb");
    assert_eq!(l.checksum, Some(0));
    assert_eq!(db0(&l)[&b("k")].value, RdbValue::String(b(&rep("c", 100))));
    assert_eq!(
        verify_checksum(&fixture("nochecksum.rdb")[..]).unwrap(),
        ChecksumStatus::Disabled
    );
}

#[test]
fn fast_checksum_path_agrees() {
    for name in [
        "strings.rdb",
        "lists.rdb",
        "sets.rdb",
        "zsets.rdb",
        "hashes.rdb",
        "stream.rdb",
        "empty.rdb",
    ] {
        let raw = fixture(name);
        let stored = u64::from_le_bytes(raw[raw.len() - 8..].try_into().unwrap());
        assert_eq!(
            verify_checksum(&raw[..]).unwrap(),
            ChecksumStatus::Valid(stored),
            "{name}"
        );
    }
}

#[test]
fn dump_payloads_from_redis() {
    let cases: Vec<(&str, RdbValue)> = vec![
        ("dump_string.bin", RdbValue::String(b(&rep("a", 200)))),
        (
            "dump_list.bin",
            RdbValue::List((1..=10).map(|i| b(&format!("e{i}"))).collect()),
        ),
        ("dump_intset.bin", RdbValue::Set(strs(&["1", "5000000000"]))),
        ("dump_set.bin", RdbValue::Set(strs(&["a", "b", "c"]))),
        (
            "dump_zset_listpack.bin",
            zset(&[
                ("a", 1.0),
                ("b", 2.5),
                ("c", -3.0),
                ("d", f64::INFINITY),
                ("e", f64::NEG_INFINITY),
                ("f", 0.1),
                ("g", 1e300),
            ]),
        ),
        (
            "dump_zset.bin",
            zset(&[
                ("a", 1.0),
                ("b", 2.5),
                ("c", -3.0),
                ("d", f64::INFINITY),
                ("e", f64::NEG_INFINITY),
                ("f", 0.1),
                ("g", 1e300),
            ]),
        ),
        (
            "dump_hash_listpack.bin",
            hash(&[("f1", "v1"), ("f2", "123"), ("f3", "-70000")]),
        ),
        (
            "dump_hash.bin",
            hash(&[("f1", "v1"), ("f2", "v2"), ("f3", "300")]),
        ),
    ];
    for (file, want) in cases {
        let payload = fixture(file);
        let got = parse_dump_payload(&payload).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(normalize(got), normalize(want), "{file}");
        // A flipped byte anywhere is caught (by the checksum or the footer).
        for i in 0..payload.len() {
            let mut bad = payload.clone();
            bad[i] ^= 0x20;
            assert!(
                parse_dump_payload(&bad).is_err(),
                "{file}: flip at {i} accepted"
            );
        }
    }
}
