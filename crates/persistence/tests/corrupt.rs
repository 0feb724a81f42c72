//! The damaged-file corpus (tests/data/corrupt, made by make_corrupt.py from
//! the Redis-written fixtures): every file is refused with the expected
//! error naming the expected offset; the fast checksum path refuses them
//! too, and so does Redis's own redis-check-rdb when it is installed.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use redust_persistence::verify_checksum;

#[test]
fn every_damaged_file_fails_with_its_offset() {
    let dir = data_dir().join("corrupt");
    let expected = std::fs::read_to_string(dir.join("EXPECTED")).unwrap();
    let check_rdb = Path::new("/usr/bin/redis-check-rdb");
    let mut count = 0;
    for line in expected.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.split('|');
        let (name, prefix, offset) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let offset: u64 = offset.parse().unwrap();
        let raw = std::fs::read(dir.join(name)).unwrap();
        let err = load_bytes(&raw).expect_err(name);
        let text = err.to_string();
        assert!(text.starts_with(prefix), "{name}: {text}");
        assert_eq!(err.offset(), offset, "{name}: {text}");
        assert!(
            text.ends_with(&format!(" at offset {offset}")),
            "{name}: {text}"
        );
        assert!(
            verify_checksum(&raw[..]).is_err(),
            "{name}: fast checksum path accepted it"
        );
        if check_rdb.exists() {
            let st = Command::new(check_rdb)
                .arg(dir.join(name))
                .output()
                .unwrap();
            assert!(!st.status.success(), "{name}: redis-check-rdb accepted it");
        }
        count += 1;
    }
    assert!(count >= 15);
}

/// Every prefix of every Redis-written fixture, and every fixture with any
/// single byte inverted, is refused or read without a panic; a prefix is
/// always refused, at an offset inside it.
#[test]
fn every_truncation_and_byte_flip_of_the_fixtures() {
    let mut files = 0;
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rdb") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        for cut in 0..raw.len() {
            let err = load_bytes(&raw[..cut]).expect_err("a truncated file must fail");
            assert!(
                err.offset() <= cut as u64,
                "{}: {err} for a cut at {cut}",
                path.display()
            );
        }
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0xFF;
            if let Err(e) = load_bytes(&bad) {
                assert!(e.offset() <= raw.len() as u64, "{}: {e}", path.display());
            }
        }
        files += 1;
    }
    assert!(files >= 12);
}
