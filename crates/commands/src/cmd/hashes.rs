//! Hash commands: HSET HGET HDEL HINCRBY HRANDFIELD HSCAN and the rest of the hash family.

use crate::exec::Handler;

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[];
