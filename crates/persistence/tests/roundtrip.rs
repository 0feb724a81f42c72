//! Encode-then-decode round trips through whole files and DUMP payloads for
//! every value shape, under every writer option; and the reader's behaviour
//! on truncated, bit-flipped and random input (errors with an offset inside
//! the data, never a panic).

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use redust_persistence::rdb::dump::dump_payload_with;
use redust_persistence::{
    dump_payload, parse_dump_payload, AuxInfo, EntryMeta, RdbReader, RdbValue, RdbWriter, ReplInfo,
    WriterOptions,
};

fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        (-300i64..300).prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(prop_oneof![Just(b'a'), any::<u8>()], 0..40),
        proptest::collection::vec(Just(b'q'), 60..120),
    ]
}

fn unique(items: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.clone()))
        .collect()
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
        (-1000i64..1000).prop_map(|v| v as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.1),
    ]
}

fn value() -> impl Strategy<Value = RdbValue> {
    prop_oneof![
        element().prop_map(RdbValue::String),
        proptest::collection::vec(element(), 1..60).prop_map(RdbValue::List),
        proptest::collection::vec(element(), 1..40).prop_map(|v| RdbValue::Set(unique(v))),
        proptest::collection::vec(any::<i16>(), 1..40).prop_map(|v| RdbValue::Set(unique(
            v.iter().map(|i| i.to_string().into_bytes()).collect()
        ))),
        proptest::collection::vec((element(), element()), 1..30).prop_map(|p| {
            let keys = unique(p.iter().map(|(k, _)| k.clone()).collect());
            RdbValue::Hash(
                keys.into_iter()
                    .zip(p.into_iter().map(|(_, v)| v))
                    .collect(),
            )
        }),
        proptest::collection::vec((element(), score()), 1..30).prop_map(|p| {
            let keys = unique(p.iter().map(|(k, _)| k.clone()).collect());
            RdbValue::ZSet(
                keys.into_iter()
                    .zip(p.into_iter().map(|(_, s)| s))
                    .collect(),
            )
        }),
    ]
}

fn options() -> impl Strategy<Value = WriterOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(-2i64), Just(-1), Just(1), Just(3)],
    )
        .prop_map(|(compression, checksum, small, fill)| {
            let mut o = WriterOptions {
                compression,
                checksum,
                list_max_listpack_size: fill,
                ..Default::default()
            };
            if small {
                o.hash_max_listpack_entries = 4;
                o.zset_max_listpack_entries = 4;
                o.set_max_intset_entries = 4;
                o.hash_max_listpack_value = 8;
                o.zset_max_listpack_value = 8;
            }
            o
        })
}

fn meta() -> impl Strategy<Value = EntryMeta> {
    (
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u8>()),
    )
        .prop_map(|(expire_ms, lru_idle, lfu_freq)| EntryMeta {
            expire_ms,
            lru_idle,
            lfu_freq,
            compact: None,
        })
}

type Db = Vec<(Vec<u8>, RdbValue, EntryMeta)>;

fn dbs() -> impl Strategy<Value = Vec<(u64, Db)>> {
    proptest::collection::vec(
        (
            0u64..20,
            proptest::collection::vec((element(), value(), meta()), 0..8),
        ),
        0..4,
    )
    .prop_map(|dbs| {
        let mut seen_db = BTreeSet::new();
        dbs.into_iter()
            .filter(|(n, _)| seen_db.insert(*n))
            .map(|(n, entries)| {
                let mut seen = BTreeSet::new();
                (
                    n,
                    entries
                        .into_iter()
                        .filter(|(k, _, _)| seen.insert(k.clone()))
                        .collect(),
                )
            })
            .collect()
    })
}

fn write_file(dbs: &[(u64, Db)], opts: &WriterOptions, functions: &[Vec<u8>]) -> Vec<u8> {
    let mut w = RdbWriter::with_options(Vec::new(), opts.clone()).unwrap();
    w.write_aux_fields(&AuxInfo {
        ctime: 1_700_000_000,
        used_mem: 123456,
        repl: Some(ReplInfo {
            stream_db: 0,
            id: "a".repeat(40),
            offset: 77,
        }),
        ..Default::default()
    })
    .unwrap();
    for f in functions {
        w.write_function(f).unwrap();
    }
    for (n, entries) in dbs {
        w.select_db(*n).unwrap();
        let expires = entries.iter().filter(|e| e.2.expire_ms.is_some()).count() as u64;
        w.resize_db(entries.len() as u64, expires).unwrap();
        for (k, v, m) in entries {
            w.write_entry(k, v, m).unwrap();
        }
    }
    let len = w.bytes_written();
    let out = w.finish().unwrap();
    assert_eq!(out.len() as u64, len + 9);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn file_round_trip(dbs in dbs(), opts in options(), functions in proptest::collection::vec(element(), 0..2)) {
        let file = write_file(&dbs, &opts, &functions);
        let l = load_bytes(&file).unwrap();
        prop_assert_eq!(l.version, 10);
        prop_assert_eq!(&l.aux["redis-ver"], b"7.0.15");
        prop_assert_eq!(&l.aux["repl-offset"], b"77");
        prop_assert_eq!(l.checksum, Some(if opts.checksum { redust_persistence::crc64::checksum(&file[..file.len() - 8]) } else { 0 }));
        prop_assert_eq!(&l.functions, &functions);
        let fast = redust_persistence::verify_checksum(&file[..]).unwrap();
        if opts.checksum {
            prop_assert_eq!(fast, redust_persistence::ChecksumStatus::Valid(l.checksum.unwrap()));
        } else {
            prop_assert_eq!(fast, redust_persistence::ChecksumStatus::Disabled);
        }
        let nonempty: Vec<_> = dbs.iter().filter(|(_, e)| !e.is_empty()).collect();
        prop_assert_eq!(l.dbs.len(), nonempty.len());
        for (n, entries) in &nonempty {
            let got = &l.dbs[n];
            prop_assert_eq!(got.len(), entries.len());
            for (k, v, m) in entries.iter() {
                let g = &got[k];
                prop_assert_eq!(&g.value, &normalize(v.clone()));
                prop_assert_eq!(g.expire_ms, m.expire_ms);
                prop_assert_eq!(g.lru_idle, m.lru_idle);
                prop_assert_eq!(g.lfu_freq, m.lfu_freq);
            }
        }
    }

    #[test]
    fn dump_round_trip(v in value(), opts in options()) {
        let payload = dump_payload_with(&v, &opts).unwrap();
        prop_assert_eq!(normalize(parse_dump_payload(&payload).unwrap()), normalize(v.clone()));
        if opts.compression {
            prop_assert_eq!(dump_payload(&v), dump_payload_with(&v, &WriterOptions::default()).unwrap());
        }
    }

    #[test]
    fn truncated_files_fail_inside_the_data(dbs in dbs(), opts in options(), cut in any::<prop::sample::Index>()) {
        let file = write_file(&dbs, &opts, &[]);
        let cut = cut.index(file.len());
        let err = load_bytes(&file[..cut]).unwrap_err();
        prop_assert!(err.offset() <= cut as u64, "{} for a cut at {}", err, cut);
        prop_assert!(err.to_string().contains(" at offset "));
    }

    #[test]
    fn flipped_bytes_never_panic(dbs in dbs(), opts in options(), flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)) {
        let mut file = write_file(&dbs, &opts, &[]);
        for (i, x) in &flips {
            let i = i.index(file.len());
            file[i] ^= x;
        }
        match load_bytes(&file) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.offset() <= file.len() as u64, "{}", e),
        }
        let _ = parse_dump_payload(&file);
    }

    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(&body);
        if let Err(e) = load_bytes(&file) {
            prop_assert!(e.offset() <= file.len() as u64);
        }
        let _ = parse_dump_payload(&body);
    }
}

/// Random streams built from plausible pieces (opcodes, types, lengths,
/// special encodings) reach deeper than uniform bytes; none may panic.
#[test]
fn structured_garbage_never_panics() {
    let pieces: [&[u8]; 16] = [
        &[0xFE, 0x00],
        &[0xFB, 0x02, 0x00],
        &[0xFC, 1, 2, 3, 4, 5, 6, 7, 8],
        &[0xF8, 0x05],
        &[0xF9, 0x03],
        &[0x00, 0x01, b'k'],
        &[0xC3, 0x05, 0x10, 0x00, b'a', 0x20, 0x00],
        &[0x12, 0x01, 0x02],
        &[0x10],
        &[0x11],
        &[0x0B],
        &[0x0E, 0x01],
        &[0x09],
        &[0x0D],
        &[0x81, 0, 0, 0, 0, 0, 0, 0, 9],
        &[0xFF, 0, 0],
    ];
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let mut file = b"REDIS0010".to_vec();
        for _ in 0..(next() % 12) {
            let r = next();
            if r % 3 == 0 {
                file.push((r >> 8) as u8);
            } else {
                file.extend_from_slice(pieces[(r >> 8) as usize % pieces.len()]);
            }
        }
        if let Err(e) = load_bytes(&file) {
            assert!(e.offset() <= file.len() as u64, "{e}");
        }
        let _ = RdbReader::new(&file[..]).map(|r| r.count());
    }
}
