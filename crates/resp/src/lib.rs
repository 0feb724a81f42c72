//! RESP, the Redis serialization protocol, as bytes in and bytes out.
//!
//! This crate owns the wire format and nothing else: it parses client requests
//! (multibulk arrays and inline commands) from a byte buffer, and encodes replies
//! in RESP2 or RESP3 into a byte buffer. It does no I/O, keeps no connection
//! state beyond what a caller passes in, and never panics on input.
//!
//! Invariant: every error text produced here is Redis 7.0's, byte for byte,
//! because clients and tests match on them.

pub mod args;
pub mod parse;
pub mod reply;

pub use args::split_args;
pub use parse::{parse_request, ParseLimits, ProtocolError, Request};
pub use reply::{format_double, Reply};
