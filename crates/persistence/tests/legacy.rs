//! Encodings that Redis 7.0 reads but no longer writes, hand-built from the
//! format description: every one decodes to the right content (real Redis
//! loading the same file is checked in interop.rs). Also the refusals:
//! modules, pre-release functions, duplicates, bad pairs; and Redis's
//! skipping of empty keys.

mod common;

use common::legacy::*;
use common::*;
use redust_persistence::{crc64, ziplist, zipmap, ErrorKind, RdbValue};

#[test]
fn legacy_encodings_decode() {
    let (file, expected) = legacy_file();
    let l = load_bytes(&file).unwrap();
    assert_eq!(l.version, 9);
    assert_eq!(l.aux["redis-ver"], b"5.0.7");
    let db = &l.dbs[&0];
    assert_eq!(db.len(), expected.len());
    for (k, v, exp) in expected {
        let got = &db[&k];
        assert_eq!(got.value, normalize(v), "{}", String::from_utf8_lossy(&k));
        assert_eq!(got.expire_ms, exp);
    }
}

#[test]
fn hand_built_blobs_match_our_encoders() {
    assert_eq!(ziplist::encode([&b"a"[..], b"5", b"300"]), ZIPLIST_A_5_300);
    assert_eq!(ziplist::encode([&b"x"[..]]), ZIPLIST_X);
    assert_eq!(
        ziplist::encode([&b"m1"[..], b"1.5", b"m2", b"3"]),
        ZIPLIST_ZSET
    );
    assert_eq!(
        ziplist::encode([&b"f"[..], b"v", b"n", b"-2"]),
        ZIPLIST_HASH
    );
    assert_eq!(
        zipmap::decode(&ZIPMAP).unwrap(),
        vec![(b("foo"), b("bar")), (b("k"), b("v"))]
    );
}

/// A version 10 file around `body` (items after the header, before EOF).
fn file(body: &[u8]) -> Vec<u8> {
    let mut f = b"REDIS0010".to_vec();
    f.extend_from_slice(body);
    f.push(0xFF);
    let crc = crc64::checksum(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

fn module_id(name: &str, ver: u64) -> u64 {
    let cs = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = 0u64;
    for c in name.bytes() {
        id = id << 6 | cs.iter().position(|&x| x == c).unwrap() as u64;
    }
    id << 10 | ver
}

#[test]
fn modules_are_refused_by_name() {
    let mut body = vec![0xF7, 0x81];
    body.extend_from_slice(&module_id("ReJSON-RL", 3).to_be_bytes());
    let err = load_bytes(&file(&body)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::ModuleNotSupported(m) if m == "ReJSON-RL"));
    assert_eq!(
        err.to_string(),
        "module type 'ReJSON-RL' not supported (no modules can be loaded) at offset 9"
    );

    let mut body = vec![0xFE, 0, 7, 1, b'k', 0x81];
    body.extend_from_slice(&module_id("MBbloom--", 1).to_be_bytes());
    let err = load_bytes(&file(&body)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("module type 'MBbloom--' not supported"),
        "{err}"
    );
    assert_eq!(err.offset(), 11);
}

#[test]
fn other_refusals() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            vec![0xF6, 0],
            "pre-release function format not supported at offset 9",
        ),
        (
            vec![2, 1, b's', 2, 1, b'a', 1, b'a'],
            "duplicate set members detected at offset 12",
        ),
        (
            vec![4, 1, b'h', 2, 1, b'a', 1, b'1', 1, b'a', 1, b'2'],
            "duplicate hash fields detected at offset 12",
        ),
        (
            vec![5, 1, b'z', 1, 1, b'a', 0, 0, 0, 0, 0, 0, 0xF8, 0x7F],
            "sorted set with a NaN score at offset 15",
        ),
        (
            vec![3, 1, b'z', 1, 1, b'a', 3, b'x', b'y', b'z'],
            "invalid double 'xyz' at offset 15",
        ),
        (vec![0x08], "unknown RDB type or opcode 8 at offset 9"),
        (vec![0x14], "unknown RDB type or opcode 20 at offset 9"),
        (
            vec![0x06, 1, b'k'],
            "pre-release module format not supported at offset 9",
        ),
    ];
    for (body, msg) in cases {
        let err = load_bytes(&file(&body)).unwrap_err();
        assert_eq!(err.to_string(), msg);
    }
    // A hash ziplist with an odd number of entries.
    let zl = ziplist::encode([&b"f"[..]]);
    let mut body = vec![13, 1, b'h', zl.len() as u8];
    body.extend_from_slice(&zl);
    let err = load_bytes(&file(&body)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "hash with an odd number of entries at offset 12"
    );
    // A corrupt ziplist names the byte inside the file.
    let mut zl = ZIPLIST_A_5_300;
    zl[13] = 7; // wrong prevlen of the second entry
    let mut body = vec![10, 1, b'l', zl.len() as u8];
    body.extend_from_slice(&zl);
    let err = load_bytes(&file(&body)).unwrap_err();
    assert_eq!(err.offset(), 13 + 13);
    assert!(
        err.to_string()
            .starts_with("corrupt ziplist: ziplist entry says the previous one is 7 bytes"),
        "{err}"
    );
}

#[test]
fn empty_collections_are_skipped_like_redis() {
    // An empty plain list, an empty listpack hash, then a real key; expire
    // and LFU data of the skipped key do not leak onto the next one.
    let lp_empty = [7u8, 0, 0, 0, 0, 0, 0xFF];
    let mut body = vec![0xFC];
    body.extend_from_slice(&5i64.to_le_bytes());
    body.extend_from_slice(&[0xF9, 3, 1, 1, b'a', 0]);
    body.extend_from_slice(&[16, 1, b'h', 7]);
    body.extend_from_slice(&lp_empty);
    body.extend_from_slice(&[0, 1, b'k', 1, b'v']);
    let l = load_bytes(&file(&body)).unwrap();
    assert_eq!(l.empty_skipped, 2);
    let db = &l.dbs[&0];
    assert_eq!(db.len(), 1);
    assert_eq!(db[&b("k")], plain(RdbValue::String(b("v"))));
}
