//! Fuzzes the RDB reader: any byte stream must decode or fail with an error
//! naming an offset inside the data; never panic, never allocate without
//! bound. Whatever decodes must survive a write-then-read round trip. The
//! same bytes also go to the DUMP payload parser and the blob decoders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_persistence::{
    intset, listpack, parse_dump_payload, ziplist, zipmap, EntryMeta, RdbEvent, RdbReader,
    RdbWriter,
};

fuzz_target!(|data: &[u8]| {
    // Without a header of its own, give the stream a valid one so the
    // fuzzer spends its time past it.
    let file: Vec<u8> = if data.starts_with(b"REDIS") {
        data.to_vec()
    } else {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(data);
        f
    };
    if let Ok(reader) = RdbReader::new(&file[..]) {
        let reader = reader.with_checksum_verification(false);
        let mut entries = Vec::new();
        let mut failed = false;
        for event in reader {
            match event {
                Ok(RdbEvent::Entry(e)) => entries.push(e),
                Ok(_) => {}
                Err(e) => {
                    assert!(e.offset() <= file.len() as u64, "{e}");
                    failed = true;
                }
            }
        }
        if !failed {
            let mut w = RdbWriter::new(Vec::new()).unwrap();
            for e in &entries {
                let meta = EntryMeta {
                    expire_ms: e.expire_ms,
                    lru_idle: e.lru_idle,
                    lfu_freq: e.lfu_freq,
                };
                w.write_entry(&e.key, &e.value, &meta).unwrap();
            }
            let out = w.finish().unwrap();
            let back: Vec<_> = RdbReader::new(&out[..])
                .unwrap()
                .filter_map(|ev| match ev.unwrap() {
                    RdbEvent::Entry(e) => Some(e),
                    _ => None,
                })
                .collect();
            assert_eq!(back.len(), entries.len());
            for (a, b) in back.iter().zip(&entries) {
                assert_eq!(a.key, b.key);
                assert_eq!(a.value.len(), b.value.len());
                assert_eq!(a.value.type_name(), b.value.type_name());
            }
        }
    }
    let _ = parse_dump_payload(data);
    let _ = listpack::decode(data);
    let _ = ziplist::decode(data);
    let _ = intset::decode(data);
    let _ = zipmap::decode(data);
});
