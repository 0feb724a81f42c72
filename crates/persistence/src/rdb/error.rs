//! The error every RDB and DUMP decoding path returns: what went wrong, and
//! at which byte offset of the file (or payload) it was found.

use std::fmt;
use std::io;

/// A decoding failure at a byte offset.
#[derive(Debug)]
pub struct RdbError {
    offset: u64,
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The underlying reader failed.
    Io(io::Error),
    /// The data ended in the middle of an item.
    UnexpectedEof,
    /// The file does not start with `REDIS` and four digits.
    BadMagic,
    /// The RDB version is newer than 10 (or 0).
    UnsupportedVersion(u32),
    /// A length prefix uses an encoding that does not exist.
    InvalidLength(u8),
    /// A string uses a special encoding that does not exist.
    InvalidStringEncoding(u8),
    /// An opcode or value type byte that Redis 7.0 does not know.
    UnknownType(u8),
    /// A module value or module aux data; carries the module type name.
    ModuleNotSupported(String),
    /// A stream value.
    StreamNotSupported,
    /// The stored checksum does not match the data.
    ChecksumMismatch {
        /// CRC-64 of the data as read.
        computed: u64,
        /// The checksum stored in the file.
        stored: u64,
    },
    /// Anything else that makes the data invalid.
    Corrupt(String),
}

impl RdbError {
    pub(crate) fn new(offset: u64, kind: ErrorKind) -> Self {
        RdbError { offset, kind }
    }

    pub(crate) fn corrupt(offset: u64, what: impl Into<String>) -> Self {
        RdbError {
            offset,
            kind: ErrorKind::Corrupt(what.into()),
        }
    }

    /// The byte offset, from the start of the file or payload, where the
    /// problem was found.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl ErrorKind {
    /// The reason Redis 7.0 gives for this problem in its log line
    /// `Internal error in RDB reading offset %llu, function at rdb.c:%d -> %s`
    /// (or, for a bad header, the whole line it logs).
    pub fn redis_reason(&self) -> String {
        match self {
            ErrorKind::Io(_) | ErrorKind::UnexpectedEof => "Unexpected EOF reading RDB file".into(),
            ErrorKind::BadMagic => "Wrong signature trying to load DB from file".into(),
            ErrorKind::UnsupportedVersion(v) => format!("Can't handle RDB format version {v}"),
            ErrorKind::InvalidLength(b) => {
                format!(
                    "Unknown length encoding {} in rdbLoadLen()",
                    (b & 0xC0) >> 6
                )
            }
            ErrorKind::InvalidStringEncoding(e) => {
                format!("Unknown RDB string encoding type {e}")
            }
            ErrorKind::UnknownType(t) => format!("Unknown RDB encoding type {t}"),
            ErrorKind::ModuleNotSupported(name) => format!(
                "The RDB file contains module data I can't load: no matching module type '{name}'"
            ),
            ErrorKind::StreamNotSupported => "stream type not supported".into(),
            ErrorKind::ChecksumMismatch { .. } => "RDB CRC error".into(),
            ErrorKind::Corrupt(what) => what.clone(),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Io(e) => write!(f, "read error ({e})"),
            ErrorKind::UnexpectedEof => f.write_str("unexpected end of file"),
            ErrorKind::BadMagic => f.write_str("wrong signature, not an RDB file"),
            ErrorKind::UnsupportedVersion(v) => write!(f, "unsupported RDB version {v}"),
            ErrorKind::InvalidLength(b) => write!(f, "invalid length encoding 0x{b:02x}"),
            ErrorKind::InvalidStringEncoding(e) => write!(f, "invalid string encoding {e}"),
            ErrorKind::UnknownType(t) => write!(f, "unknown RDB type or opcode {t}"),
            ErrorKind::ModuleNotSupported(name) => {
                write!(
                    f,
                    "module type '{name}' not supported (no modules can be loaded)"
                )
            }
            ErrorKind::StreamNotSupported => f.write_str("stream type not supported"),
            ErrorKind::ChecksumMismatch { computed, stored } => {
                write!(
                    f,
                    "checksum mismatch: expected {computed:#018x} got {stored:#018x}"
                )
            }
            ErrorKind::Corrupt(what) => f.write_str(what),
        }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.kind, self.offset)
    }
}

impl std::error::Error for RdbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}
