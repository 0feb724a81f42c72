//! Sorted set commands: ZADD ZRANGE ZUNIONSTORE ZPOPMIN BZPOPMIN ZSCAN and the rest of the sorted set family.

use crate::exec::Handler;

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[];
