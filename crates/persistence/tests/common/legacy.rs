//! An RDB version 9 file with the encodings Redis 7.0 can no longer write
//! but still loads (plain list, string-score sorted set, zipmap, ziplist
//! list/hash/zset, quicklist of ziplists, expire in seconds), built byte by
//! byte from the format description rather than with our encoders, and the
//! content it holds.

use redust_persistence::crc64;
use redust_persistence::RdbValue;

use super::{b, strs};

fn string(bytes: &[u8]) -> Vec<u8> {
    assert!(bytes.len() < 64);
    let mut v = vec![bytes.len() as u8];
    v.extend_from_slice(bytes);
    v
}

/// ["a", "5", "300"] as a ziplist.
pub const ZIPLIST_A_5_300: [u8; 20] = [
    20, 0, 0, 0, 15, 0, 0, 0, 3, 0, // zlbytes, zltail, zllen
    0, 1, b'a', // "a"
    3, 0xF6, // immediate 5
    2, 0xC0, 0x2C, 0x01, // int16 300
    0xFF,
];

/// ["x"] as a ziplist.
pub const ZIPLIST_X: [u8; 14] = [14, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 1, b'x', 0xFF];

/// ["m1", "1.5", "m2", 3] as a ziplist (a sorted set: m1 1.5, m2 3).
pub const ZIPLIST_ZSET: [u8; 26] = [
    26, 0, 0, 0, 23, 0, 0, 0, 4, 0, //
    0, 2, b'm', b'1', //
    4, 3, b'1', b'.', b'5', //
    5, 2, b'm', b'2', //
    4, 0xF4, // immediate 3
    0xFF,
];

/// ["f", "v", "n", -2] as a ziplist (a hash: f=v, n=-2).
pub const ZIPLIST_HASH: [u8; 23] = [
    23, 0, 0, 0, 19, 0, 0, 0, 4, 0, //
    0, 1, b'f', //
    3, 1, b'v', //
    3, 1, b'n', //
    3, 0xFE, 0xFE, // int8 -2
    0xFF,
];

/// {"foo": "bar", "k": "v"} as a zipmap, with 2 free bytes after "v".
pub const ZIPMAP: [u8; 18] = [
    2, 3, b'f', b'o', b'o', 3, 0, b'b', b'a', b'r', 1, b'k', 1, 2, b'v', 0xAA, 0xBB, 0xFF,
];

/// Keys with their values and expire times.
pub type Expected = Vec<(Vec<u8>, RdbValue, Option<i64>)>;

/// The file, and what it holds.
pub fn legacy_file() -> (Vec<u8>, Expected) {
    let mut f = b"REDIS0009".to_vec();
    f.extend_from_slice(&[0xFA]);
    f.extend(string(b"redis-ver"));
    f.extend(string(b"5.0.7"));
    f.extend_from_slice(&[0xFE, 0x00, 0xFB, 8, 1]);
    // type 1: plain list ["a", "5", "bc"], "5" as an 8-bit integer string.
    f.push(1);
    f.extend(string(b"l1"));
    f.extend_from_slice(&[3, 1, b'a', 0xC0, 5, 2, b'b', b'c']);
    // type 3: sorted set with string scores, one of them +inf; expire in seconds.
    f.push(0xFD);
    f.extend_from_slice(&2_000_000_000i32.to_le_bytes());
    f.push(3);
    f.extend(string(b"z3"));
    f.extend_from_slice(&[
        3, 1, b'a', 3, b'1', b'.', b'5', 1, b'b', 254, 1, b'c', 2, b'-', b'2',
    ]);
    // type 9: zipmap hash.
    f.push(9);
    f.extend(string(b"h9"));
    f.extend(string(&ZIPMAP));
    // type 10: ziplist list.
    f.push(10);
    f.extend(string(b"l10"));
    f.extend(string(&ZIPLIST_A_5_300));
    // type 12: ziplist sorted set.
    f.push(12);
    f.extend(string(b"z12"));
    f.extend(string(&ZIPLIST_ZSET));
    // type 13: ziplist hash.
    f.push(13);
    f.extend(string(b"h13"));
    f.extend(string(&ZIPLIST_HASH));
    // type 14: quicklist of two ziplists.
    f.push(14);
    f.extend(string(b"l14"));
    f.push(2);
    f.extend(string(&ZIPLIST_A_5_300));
    f.extend(string(&ZIPLIST_X));
    // type 2: plain set with an integer-encoded member.
    f.push(2);
    f.extend(string(b"s2"));
    f.extend_from_slice(&[2, 1, b'm', 0xC1, 0x10, 0x27]);
    f.push(0xFF);
    let crc = crc64::checksum(&f);
    f.extend_from_slice(&crc.to_le_bytes());

    let expected = vec![
        (b("l1"), RdbValue::List(strs(&["a", "5", "bc"])), None),
        (
            b("z3"),
            RdbValue::ZSet(vec![(b("a"), 1.5), (b("b"), f64::INFINITY), (b("c"), -2.0)]),
            Some(2_000_000_000_000),
        ),
        (
            b("h9"),
            RdbValue::Hash(vec![(b("foo"), b("bar")), (b("k"), b("v"))]),
            None,
        ),
        (b("l10"), RdbValue::List(strs(&["a", "5", "300"])), None),
        (
            b("z12"),
            RdbValue::ZSet(vec![(b("m1"), 1.5), (b("m2"), 3.0)]),
            None,
        ),
        (
            b("h13"),
            RdbValue::Hash(vec![(b("f"), b("v")), (b("n"), b("-2"))]),
            None,
        ),
        (
            b("l14"),
            RdbValue::List(strs(&["a", "5", "300", "x"])),
            None,
        ),
        (b("s2"), RdbValue::Set(strs(&["m", "10000"])), None),
    ];
    (f, expected)
}
