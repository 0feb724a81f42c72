//! The AOF manifest parser on arbitrary text: it answers Ok or Redis's error
//! line, never panics, and what it accepts writes back to a manifest it
//! accepts again with the same files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(files) = redust_commands::aof::parse_manifest(text) {
        let again: String = files
            .iter()
            .map(|f| format!("file {} seq {} type {}\n", f.name, f.seq, f.kind))
            .collect();
        if files.iter().all(|f| !f.name.is_empty() && !f.name.contains(char::is_whitespace)) {
            let reparsed = redust_commands::aof::parse_manifest(&again).expect("re-parse");
            assert_eq!(reparsed.len(), files.len());
        }
    }
});
