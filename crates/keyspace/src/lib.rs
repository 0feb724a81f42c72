//! The keyspace: values, databases, expiry and the bookkeeping eviction needs.
//!
//! Every database is split into the 16384 Redis Cluster hash slots, one table
//! per slot, created when the slot gets its first key. The same structure serves
//! standalone, cluster and snapshot use (see ARCHITECTURE.md).
//!
//! Invariant: this crate does no I/O and never reads the clock. Callers pass the
//! current time (`now_ms`) in, so one command sees one instant, and expiry is
//! deterministic under test.
//!
//! All unsafe code is in `raw` (`entry`: one allocation per key; `thinbuf`:
//! byte buffers behind a thin pointer); every other module denies it.

#![deny(unsafe_code)]

pub mod db;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod lru;
#[allow(unsafe_code)]
pub mod raw;
pub mod scanmap;
pub mod set;
pub mod slot;
pub mod slot_dir;
pub mod table;
pub mod value;
pub mod varint;
pub use raw::entry;
pub mod zset;

pub use db::{Db, ScanCursor, SharedSnapshotSink, SnapshotSink};
pub use entry::Entry;
pub use hash::HashValue;
pub use list::{ListValue, NodeFill};
pub use listpack::Listpack;
pub use scanmap::ScanMap;
pub use set::SetValue;
pub use slot::{key_hash_slot, SLOT_COUNT};
pub use value::{EncodingLimits, Value, ValueMut, ValueRef};
pub use zset::ZSetValue;
