//! Sentinel's decoders on untrusted input (hello messages from any
//! publisher, INFO from any instance, config lines): a value or nothing,
//! never a panic.

use proptest::prelude::*;
use redust_sentinel::config::{load, Environment, SentinelLine};
use redust_sentinel::hello::Hello;
use redust_sentinel::info::InfoReport;

struct Env;
impl Environment for Env {
    fn executable(&self, _: &str) -> bool {
        true
    }
    fn resolve(&self, _: &str) -> Option<String> {
        None
    }
}

proptest! {
    #[test]
    fn hellos_decode_or_not(data in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Some(h) = Hello::decode(&data) {
            // What decodes encodes to eight fields again.
            prop_assert_eq!(h.encode().split(',').count(), 8);
        }
    }

    #[test]
    fn info_never_panics(text in "[a-z_0-9:=,\r\n.]{0,300}") {
        let _ = InfoReport::parse(&text);
    }

    #[test]
    fn config_lines_load_or_err(words in proptest::collection::vec("[a-z0-9.-]{0,12}", 0..7)) {
        let line = SentinelLine { line_number: 1, text: words.join(" "), args: words.clone() };
        let _ = load(&[line], &Env);
    }
}
