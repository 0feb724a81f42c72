//! Persistence formats of Redis 7.0, as a pure codec.
//!
//! This crate owns the bytes of an RDB file (version 10, the one Redis 7.0
//! writes) and of a `DUMP` payload, and nothing else: it reads and writes them
//! through `std::io::Read` / `std::io::Write` only, opens no file, keeps no
//! server state and depends on no other redust crate but `redust-lzf` (also
//! used by the keyspace for quicklist nodes). The server converts between
//! [`RdbValue`] and its own value types.
//!
//! Layers, from the bottom up:
//! - [`crc64`]: Redis's CRC-64 (Jones polynomial), the RDB and DUMP checksum.
//! - [`lzf`]: LZF compression, byte-compatible with the liblzf Redis embeds
//!   (the `redust-lzf` crate, re-exported).
//! - [`listpack`], [`ziplist`], [`intset`], [`zipmap`]: Redis's compact
//!   in-memory encodings as they appear inside RDB strings.
//! - [`rdb`]: the RDB primitives, [`RdbValue`], the streaming [`RdbReader`]
//!   and [`RdbWriter`], and the `DUMP` payload functions.
//!
//! Invariant: no input, however truncated or corrupt, makes this crate panic
//! or allocate without bound; every decoding error names the byte offset.

pub mod crc64;
pub mod intset;
pub mod listpack;
pub use redust_lzf as lzf;
pub mod rdb;
pub mod ziplist;
pub mod zipmap;

pub use rdb::dump::{
    dump_payload, dump_payload_encoded, dump_payload_with, parse_dump_payload,
    parse_dump_payload_checked,
};
pub use rdb::error::{ErrorKind, RdbError};
pub use rdb::reader::{verify_checksum, ChecksumStatus, Entry, RdbEvent, RdbReader};
pub use rdb::value::{ListNode, RdbValue};
pub use rdb::writer::{AuxInfo, EntryMeta, RdbWriter, ReplInfo, WriterOptions};

use std::fmt;

/// A compact encoding (listpack, ziplist, intset, zipmap) that is malformed:
/// `pos` is the byte inside the encoded blob where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Byte position inside the blob.
    pub pos: usize,
    /// What was wrong, in words.
    pub what: String,
}

impl FormatError {
    pub(crate) fn new(pos: usize, what: impl Into<String>) -> Self {
        FormatError {
            pos,
            what: what.into(),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (byte {} of the blob)", self.what, self.pos)
    }
}

impl std::error::Error for FormatError {}

/// Parses `s` as an integer only if it is the canonical decimal form of an
/// `i64` (no sign on zero, no leading zeros, no `+`, no spaces): the test
/// Redis applies before storing a string as an integer, so that the
/// integer converts back to exactly the same bytes.
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = (d - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::canonical_i64;

    #[test]
    fn canonical_integers() {
        for (s, v) in [("0", Some(0)), ("-1", Some(-1)), ("123", Some(123))] {
            assert_eq!(canonical_i64(s.as_bytes()), v);
        }
        assert_eq!(canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for s in [
            "",
            "-",
            "-0",
            "01",
            "+1",
            " 1",
            "1 ",
            "1a",
            "9223372036854775808",
            "1.0",
        ] {
            assert_eq!(canonical_i64(s.as_bytes()), None, "{s}");
        }
    }
}
