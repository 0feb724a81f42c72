//! Fuzzes the AOF loader: arbitrary bytes as a manifest, and as the commands
//! of an incremental file replayed into a fresh server state. Loading must
//! succeed or fail with an error; never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_commands::{aof, State};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = aof::parse_manifest(text);
    }
    let mut state = State::new(
        redust_config::Config::default(),
        0,
        redust_commands::cmd::command_table(redust_commands::exec::Mode::Standalone, &[]),
    );
    let _ = aof::replay(&mut state, data, "fuzz.incr.aof", data.first().is_some_and(|b| b & 1 == 1));
});
