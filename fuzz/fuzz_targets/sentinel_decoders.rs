//! Fuzzes what a Sentinel decodes from other processes: hello messages
//! (anyone may publish on `__sentinel__:hello`), INFO replies and config
//! lines. Any input must give a value or nothing, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    if let Some(h) = Hello::decode(data) {
        let _ = Hello::decode(h.encode().as_bytes());
    }
    let text = String::from_utf8_lossy(data);
    let _ = InfoReport::parse(&text);
    let lines: Vec<SentinelLine> = text
        .lines()
        .enumerate()
        .map(|(i, l)| SentinelLine {
            line_number: i + 1,
            text: l.to_string(),
            args: l.split_whitespace().map(str::to_string).collect(),
        })
        .collect();
    let _ = load(&lines, &Env);
});
