//! Fuzzes FUNCTION RESTORE's input: the DUMP payload decoder (with and
//! without the checksum check) and each library it yields through the
//! library loader (metadata line, compile, registration), in every restore
//! policy. Any input must give libraries or an error text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_persistence::rdb::dump::parse_function_payload;
use redust_scripting::functions::{Functions, RestorePolicy};

fuzz_target!(|data: &[u8]| {
    let _ = parse_function_payload(data, true);
    let Ok(mut functions) = Functions::new("7.0.15", 0x00070f) else {
        return;
    };
    // The payload's libraries, or the bytes as one library's code.
    let codes = parse_function_payload(data, false).unwrap_or_else(|_| vec![data.to_vec()]);
    for policy in [RestorePolicy::Append, RestorePolicy::Replace, RestorePolicy::Flush] {
        let _ = functions.restore(&codes, policy);
    }
    for code in &codes {
        let _ = functions.load(code, false);
        let _ = functions.load(code, true);
    }
});
