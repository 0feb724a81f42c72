//! Interop with the real Redis 7.0 (skipped when /usr/bin/redis-server is
//! missing): files from RdbWriter pass redis-check-rdb and load in
//! redis-server with every key, expire time, idle time and function intact;
//! Redis's DUMP payloads parse, ours RESTORE; Redis's re-save of our file
//! reads back the same; the hand-built legacy file loads in Redis with the
//! content our reader sees.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::redis::{available, Redis, Reply, REDIS_CHECK_RDB};
use common::*;
use redust_persistence::{
    dump_payload, parse_dump_payload, AuxInfo, EntryMeta, RdbValue, RdbWriter, WriterOptions,
};

const FUNCTION: &str =
    "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 42 end)";
const EXPIRE_AT: i64 = 4102444800000;

type Dataset = BTreeMap<u64, Vec<(Vec<u8>, RdbValue, EntryMeta)>>;

/// Bytes that exercise LZF matches at the far end of the 8 KiB window,
/// maximal match lengths and long overlapping runs.
fn lzf_torture() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..8100)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 7) as u8 + b'a'
        })
        .collect();
    let mut v = random.clone();
    v.extend_from_slice(&random);
    v.extend(std::iter::repeat_n(b'z', 5000));
    v.extend_from_slice(&random[..300]);
    v
}

fn dataset() -> Dataset {
    let s = |v: &str| RdbValue::String(b(v));
    let none = EntryMeta::default();
    let zscores = vec![
        (b("a"), 1.0),
        (b("b"), 2.5),
        (b("c"), -3.0),
        (b("d"), f64::INFINITY),
        (b("e"), f64::NEG_INFINITY),
        (b("f"), 0.1),
        (b("g"), 1e300),
        (b("h"), 0.0),
        (b("i"), 123456789.125),
    ];
    let db0 = vec![
        (b("str:int"), s("12345"), none),
        (b("str:neg"), s("-7"), none),
        (b("str:big"), s("9999999999999"), none),
        (b("str:lzf"), s(&"abc".repeat(300)), none),
        (b("str:bin"), RdbValue::String((0..=255u8).collect()), none),
        (b("str:lzf-torture"), RdbValue::String(lzf_torture()), none),
        (b("str:empty"), s(""), none),
        (
            b("str:expire"),
            s("v"),
            EntryMeta {
                expire_ms: Some(EXPIRE_AT),
                ..none
            },
        ),
        (
            b("str:idle"),
            s("idle"),
            EntryMeta {
                lru_idle: Some(100),
                ..none
            },
        ),
        ((200..=255u8).collect(), s("binary key"), none),
        (
            b("list:small"),
            RdbValue::List(strs(&[
                "a",
                "1",
                "-1",
                "1000",
                "70000",
                "-9223372036854775808",
                "",
            ])),
            none,
        ),
        (
            b("list:big"),
            RdbValue::List(
                (0..2000)
                    .map(|i| format!("item-{i}").into_bytes())
                    .collect(),
            ),
            EntryMeta {
                expire_ms: Some(EXPIRE_AT + 1),
                ..none
            },
        ),
        (
            b("list:bigel"),
            RdbValue::List(vec![vec![b'x'; 20000], b("y"), vec![b'z'; 5000]]),
            none,
        ),
        (
            b("set:i16"),
            RdbValue::Set(strs(&["1", "2", "3", "-5"])),
            none,
        ),
        (b("set:i32"), RdbValue::Set(strs(&["1", "70000"])), none),
        (
            b("set:i64"),
            RdbValue::Set(strs(&["1", "5000000000", "-9223372036854775808"])),
            none,
        ),
        (b("set:str"), RdbValue::Set(strs(&["a", "b", "c"])), none),
        (
            b("set:bigint"),
            RdbValue::Set((0..600).map(|i| i.to_string().into_bytes()).collect()),
            none,
        ),
        (
            b("set:mixed"),
            RdbValue::Set(strs(&["1", "a", "007"])),
            none,
        ),
        (
            b("hash:small"),
            RdbValue::Hash(vec![
                (b("f1"), b("v1")),
                (b("f2"), b("123")),
                (b("f3"), b("-70000")),
            ]),
            none,
        ),
        (
            b("hash:longval"),
            RdbValue::Hash(vec![(b("f"), vec![b'v'; 100])]),
            none,
        ),
        (
            b("hash:many"),
            RdbValue::Hash(
                (0..600)
                    .map(|i| {
                        (
                            format!("field{i}").into_bytes(),
                            format!("{}", i * 7).into_bytes(),
                        )
                    })
                    .collect(),
            ),
            none,
        ),
        (b("zset:small"), RdbValue::ZSet(zscores.clone()), none),
        (
            b("zset:big"),
            RdbValue::ZSet(
                (0..200)
                    .map(|i| {
                        (
                            format!("m{i}").into_bytes(),
                            if i == 0 { -0.0 } else { i as f64 / 3.0 },
                        )
                    })
                    .collect(),
            ),
            none,
        ),
        (
            b("zset:longmember"),
            RdbValue::ZSet(vec![(vec![b'm'; 100], 1.5), (b("short"), -2.0)]),
            none,
        ),
    ];
    let db3 = vec![(b("other"), s("x"), none)];
    BTreeMap::from([(0, db0), (3, db3)])
}

fn write(ds: &Dataset, opts: WriterOptions) -> Vec<u8> {
    let mut w = RdbWriter::with_options(Vec::new(), opts).unwrap();
    w.write_aux_fields(&AuxInfo {
        ctime: 1_700_000_000,
        used_mem: 1 << 20,
        ..Default::default()
    })
    .unwrap();
    w.write_function(FUNCTION.as_bytes()).unwrap();
    for (db, entries) in ds {
        w.select_db(*db).unwrap();
        let expires = entries.iter().filter(|e| e.2.expire_ms.is_some()).count() as u64;
        w.resize_db(entries.len() as u64, expires).unwrap();
        for (k, v, m) in entries {
            w.write_entry(k, v, m).unwrap();
        }
    }
    w.finish().unwrap()
}

fn check_rdb(bytes: &[u8], tag: &str) {
    let path = std::env::temp_dir().join(format!(
        "redust-persistence-check-{tag}-{}.rdb",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(REDIS_CHECK_RDB)
        .arg(&path)
        .output()
        .expect("run redis-check-rdb");
    let _ = std::fs::remove_file(&path);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb refused {tag}:\n{text}"
    );
}

/// A key's content as Redis reports it.
fn fetch(r: &mut Redis, key: &[u8]) -> RdbValue {
    let t = r.cmd(&[b"TYPE", key]).bytes();
    let v = match &t[..] {
        b"string" => RdbValue::String(r.cmd(&[b"GET", key]).bytes()),
        b"list" => RdbValue::List(r.cmd(&[b"LRANGE", key, b"0", b"-1"]).bulks()),
        b"set" => RdbValue::Set(r.cmd(&[b"SMEMBERS", key]).bulks()),
        b"hash" => {
            let flat = r.cmd(&[b"HGETALL", key]).bulks();
            RdbValue::Hash(
                flat.chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
            )
        }
        b"zset" => {
            let flat = r.cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]).bulks();
            RdbValue::ZSet(
                flat.chunks(2)
                    .map(|p| {
                        (
                            p[0].clone(),
                            std::str::from_utf8(&p[1]).unwrap().parse::<f64>().unwrap(),
                        )
                    })
                    .collect(),
            )
        }
        other => panic!("unexpected type {}", String::from_utf8_lossy(other)),
    };
    normalize(v)
}

fn same(a: &RdbValue, b: &RdbValue) -> bool {
    // Compare scores bit for bit (so -0.0 and 0.0 differ, as in Redis).
    match (a, b) {
        (RdbValue::ZSet(x), RdbValue::ZSet(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits())
        }
        _ => a == b,
    }
}

fn assert_server_holds(r: &mut Redis, ds: &Dataset) {
    for (db, entries) in ds {
        assert_eq!(
            r.cmd(&[b"SELECT", db.to_string().as_bytes()]),
            Reply::Status("OK".into())
        );
        assert_eq!(r.cmd_str("DBSIZE").int(), entries.len() as i64, "db {db}");
        for (k, v, m) in entries {
            let got = fetch(r, k);
            assert!(
                same(&got, &normalize(v.clone())),
                "{}: {got:?}",
                String::from_utf8_lossy(k)
            );
            let pexpiretime = r.cmd(&[b"PEXPIRETIME", k]).int();
            assert_eq!(
                pexpiretime,
                m.expire_ms.unwrap_or(-1),
                "{}",
                String::from_utf8_lossy(k)
            );
        }
    }
    r.cmd_str("SELECT 0");
}

#[test]
fn redis_loads_what_we_write() {
    if !available() {
        return;
    }
    let ds = dataset();
    for (tag, opts) in [
        ("default", WriterOptions::default()),
        (
            "plain",
            WriterOptions {
                compression: false,
                checksum: false,
                ..Default::default()
            },
        ),
        (
            "tiny-nodes",
            WriterOptions {
                list_max_listpack_size: 3,
                hash_max_listpack_entries: 2,
                zset_max_listpack_entries: 2,
                set_max_intset_entries: 2,
                ..Default::default()
            },
        ),
    ] {
        let file = write(&ds, opts);
        check_rdb(&file, tag);
        let mut r = Redis::start(tag, Some(&file));
        // Before any access resets it.
        let idle = r.cmd_str("OBJECT IDLETIME str:idle").int();
        assert!((100..200).contains(&idle), "idle time {idle}");
        assert_server_holds(&mut r, &ds);
        assert_eq!(r.cmd_str("FCALL myfunc 0").int(), 42);
        if tag == "default" {
            for (key, enc) in [
                ("hash:small", "listpack"),
                ("hash:many", "hashtable"),
                ("set:i16", "intset"),
                ("set:bigint", "hashtable"),
                ("zset:small", "listpack"),
                ("zset:big", "skiplist"),
                ("list:big", "quicklist"),
                ("str:int", "int"),
            ] {
                let got = r.cmd(&[b"OBJECT", b"ENCODING", key.as_bytes()]).bytes();
                assert_eq!(got, enc.as_bytes(), "{key}");
            }
        }
        assert!(!r.log().contains("empty keys skipped"), "{}", r.log());
    }
}

#[test]
fn dump_and_restore_with_redis() {
    if !available() {
        return;
    }
    let ds = dataset();
    let mut r = Redis::start("dump", Some(&write(&ds, WriterOptions::default())));
    for (k, v, _) in &ds[&0] {
        // Redis's DUMP parses to the value.
        let payload = r.cmd(&[b"DUMP", k]).bytes();
        let parsed = parse_dump_payload(&payload)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(k)));
        assert!(
            same(&normalize(parsed), &normalize(v.clone())),
            "{}",
            String::from_utf8_lossy(k)
        );
        // Our payload RESTOREs to the value.
        let mut copy = b"copy:".to_vec();
        copy.extend_from_slice(k);
        let reply = r.cmd(&[b"RESTORE", &copy, b"0", &dump_payload(v)]);
        assert_eq!(
            reply,
            Reply::Status("OK".into()),
            "{}",
            String::from_utf8_lossy(k)
        );
        assert!(
            same(&fetch(&mut r, &copy), &normalize(v.clone())),
            "{}",
            String::from_utf8_lossy(k)
        );
    }
    // Redis checks our checksum: a damaged payload is refused.
    let mut bad = dump_payload(&RdbValue::String(b("hello")));
    bad[2] ^= 1;
    assert!(
        matches!(r.cmd(&[b"RESTORE", b"bad", b"0", &bad]), Reply::Error(e) if e.contains("payload version or checksum are wrong"))
    );
}

#[test]
fn redis_resave_reads_back() {
    if !available() {
        return;
    }
    let ds = dataset();
    let mut r = Redis::start("resave", Some(&write(&ds, WriterOptions::default())));
    assert_eq!(r.cmd_str("SAVE"), Reply::Status("OK".into()));
    let saved = std::fs::read(r.dir.join("dump.rdb")).unwrap();
    let l = load_bytes(&saved).unwrap();
    assert_eq!(l.functions, vec![b(FUNCTION)]);
    for (db, entries) in &ds {
        let got = &l.dbs[db];
        assert_eq!(got.len(), entries.len());
        for (k, v, m) in entries {
            let g = &got[k];
            assert!(
                same(&g.value, &normalize(v.clone())),
                "{}",
                String::from_utf8_lossy(k)
            );
            assert_eq!(g.expire_ms, m.expire_ms);
        }
    }
}

#[test]
fn redis_loads_the_legacy_file_like_we_do() {
    if !available() {
        return;
    }
    let (file, expected) = legacy::legacy_file();
    check_rdb(&file, "legacy");
    let mut r = Redis::start("legacy", Some(&file));
    assert_eq!(r.cmd_str("DBSIZE").int(), expected.len() as i64);
    for (k, v, exp) in &expected {
        assert!(
            same(&fetch(&mut r, k), &normalize(v.clone())),
            "{}",
            String::from_utf8_lossy(k)
        );
        assert_eq!(r.cmd(&[b"PEXPIRETIME", k]).int(), exp.unwrap_or(-1));
    }
}

#[test]
fn lfu_counters_reach_redis() {
    if !available() {
        return;
    }
    let mut w = RdbWriter::new(Vec::new()).unwrap();
    w.write_aux_fields(&AuxInfo::default()).unwrap();
    w.select_db(0).unwrap();
    for (key, freq) in [("hot", 200u8), ("warm", 42), ("cold", 0)] {
        let meta = EntryMeta {
            lfu_freq: Some(freq),
            ..Default::default()
        };
        w.write_entry(key.as_bytes(), &RdbValue::String(b("v")), &meta)
            .unwrap();
    }
    let file = w.finish().unwrap();
    check_rdb(&file, "lfu");
    let mut r = Redis::start_with("lfu", Some(&file), &["--maxmemory-policy", "allkeys-lfu"]);
    for (key, freq) in [("hot", 200), ("warm", 42), ("cold", 0)] {
        assert_eq!(
            r.cmd(&[b"OBJECT", b"FREQ", key.as_bytes()]).int(),
            freq,
            "{key}"
        );
    }
}
