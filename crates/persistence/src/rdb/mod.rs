//! The RDB file format, version 10 (Redis 7.0).
//!
//! A file is `REDIS0010`, then a sequence of items each introduced by one
//! byte: an opcode (aux field, database selector, resize hint, expire time,
//! LRU idle time, LFU frequency, function library, module aux data, end of
//! file) or a value type followed by a key and a value. After the EOF opcode
//! come 8 bytes of CRC-64 (little-endian) of everything before them, or 0
//! when the writer had checksums off.
//!
//! - [`primitives`]: lengths, strings (integer, LZF, raw), doubles, and the
//!   buffered, offset-tracking, checksumming input every decoder reads from.
//! - [`value`]: [`RdbValue`](value::RdbValue) and the encoding of each value
//!   type, for reading (every encoding Redis 7.0 reads) and writing.
//! - [`reader`] / [`writer`]: whole files, streamed item by item.
//! - [`dump`]: the `DUMP` / `RESTORE` payload.
//! - [`error`]: [`RdbError`](error::RdbError), which always carries the
//!   byte offset of the problem.

pub mod dump;
pub mod error;
pub mod primitives;
pub mod reader;
pub mod value;
pub mod writer;

/// The RDB format version this crate writes (Redis 7.0's).
pub const RDB_VERSION: u32 = 10;

/// The value type bytes (`RDB_TYPE_*` in Redis).
pub mod types {
    /// A string.
    pub const STRING: u8 = 0;
    /// A list as a plain sequence of strings (pre-3.2).
    pub const LIST: u8 = 1;
    /// A set as a plain sequence of strings.
    pub const SET: u8 = 2;
    /// A sorted set with scores as strings (pre-4.0).
    pub const ZSET: u8 = 3;
    /// A hash as a plain sequence of field/value pairs.
    pub const HASH: u8 = 4;
    /// A sorted set with binary scores.
    pub const ZSET_2: u8 = 5;
    /// A module value from Redis 4.0 release candidates.
    pub const MODULE_PRE_GA: u8 = 6;
    /// A module value.
    pub const MODULE_2: u8 = 7;
    /// A hash as a zipmap (pre-2.6).
    pub const HASH_ZIPMAP: u8 = 9;
    /// A list as one ziplist (pre-3.2).
    pub const LIST_ZIPLIST: u8 = 10;
    /// A set of integers as an intset.
    pub const SET_INTSET: u8 = 11;
    /// A sorted set as a ziplist (pre-7.0).
    pub const ZSET_ZIPLIST: u8 = 12;
    /// A hash as a ziplist (pre-7.0).
    pub const HASH_ZIPLIST: u8 = 13;
    /// A list as a quicklist of ziplists (3.2 to 6.2).
    pub const LIST_QUICKLIST: u8 = 14;
    /// A stream (pre-7.0).
    pub const STREAM_LISTPACKS: u8 = 15;
    /// A hash as a listpack.
    pub const HASH_LISTPACK: u8 = 16;
    /// A sorted set as a listpack.
    pub const ZSET_LISTPACK: u8 = 17;
    /// A list as a quicklist of listpack or plain nodes.
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// A stream (7.0).
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// The opcode bytes (`RDB_OPCODE_*` in Redis).
pub mod opcodes {
    /// A function library (its source code).
    pub const FUNCTION2: u8 = 245;
    /// Function libraries as 7.0 release candidates wrote them.
    pub const FUNCTION_PRE_GA: u8 = 246;
    /// Data owned by a module.
    pub const MODULE_AUX: u8 = 247;
    /// The next key's LRU idle time in seconds.
    pub const IDLE: u8 = 248;
    /// The next key's LFU logarithmic counter.
    pub const FREQ: u8 = 249;
    /// An auxiliary field: a key and a value string.
    pub const AUX: u8 = 250;
    /// The sizes of the current database and its expires table.
    pub const RESIZEDB: u8 = 251;
    /// The next key's expire time, milliseconds, `i64` LE.
    pub const EXPIRETIME_MS: u8 = 252;
    /// The next key's expire time, seconds, `i32` LE.
    pub const EXPIRETIME: u8 = 253;
    /// Switch to a database.
    pub const SELECTDB: u8 = 254;
    /// End of the file.
    pub const EOF: u8 = 255;
}

/// The container byte of a `LIST_QUICKLIST_2` node.
pub mod quicklist_container {
    /// The node is one element, stored as a plain string.
    pub const PLAIN: u64 = 1;
    /// The node is a listpack of elements.
    pub const PACKED: u64 = 2;
}
