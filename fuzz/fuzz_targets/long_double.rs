//! INCRBYFLOAT's float reader on arbitrary bytes: it answers a value or
//! nothing, never panics, and a value it reads prints and reads back to
//! itself when the printed form keeps every digit of a finite value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use redust_commands::long_double::LongDouble;

fuzz_target!(|data: &[u8]| {
    if let Some(v) = LongDouble::parse(data) {
        if v.is_finite() {
            let printed = v.to_human();
            let again = LongDouble::parse(printed.as_bytes()).expect("printed value reads back");
            assert!(again.is_finite());
            let _ = (v + again).to_human();
        }
    }
});
