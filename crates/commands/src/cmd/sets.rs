//! Set commands: SADD SREM SINTER SUNION SDIFF SPOP SRANDMEMBER SSCAN and the rest of the set family.

use crate::exec::Handler;

/// The commands of this family, by full name.
pub static HANDLERS: &[(&str, Handler)] = &[];
