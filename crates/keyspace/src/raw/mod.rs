//! The crate's unsafe code, each piece behind a safe API: `entry` (a key,
//! its clock and its value in one allocation) and `thinbuf` (a byte buffer
//! behind one thin pointer, for the compact encodings). Every other module
//! of the crate denies unsafe code.
//!
//! Both exist for memory: a database holds millions of small keys, and a
//! pointer-sized handle instead of a fat one, or one allocation instead of
//! two, is most of what a small key costs. Each module lists the invariants
//! its unsafe blocks rely on, and is tested with unit tests and proptests
//! against a safe model (Miri is not available here).

pub mod entry;
pub mod thinbuf;
