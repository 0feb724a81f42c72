//! RESP, the Redis serialization protocol, as bytes in and bytes out.
//!
//! This crate owns the wire format and nothing else: it parses client requests
//! (multibulk arrays and inline commands) from a byte buffer, and encodes replies
//! in RESP2 or RESP3 into a byte buffer; for the client side (a replica talking
//! to its master) it encodes commands and decodes replies of any type. It does
//! no I/O, keeps no connection state beyond what a caller passes in, and never
//! panics on input.
//!
//! Invariant: every error text produced here is Redis 7.0's, byte for byte,
//! because clients and tests match on them.

pub mod args;
pub mod frame;
pub mod parse;
pub mod reply;

pub use args::split_args;
pub use frame::{
    decode_frame, decode_frame_bytes, encode_command, frame_len, skip_keepalives, Frame,
    FrameError, FrameLimits,
};
pub use parse::{parse_request, ParseLimits, ProtocolError, Request};
pub use reply::{format_double, Reply};

/// The Redis version this server is compatible with and reports (INFO, HELLO,
/// `--version`, the RDB `redis-ver` field, the fatal config error banner).
/// Defined here, the lowest crate that every user depends on, so it is
/// written once.
pub const REDIS_VERSION: &str = "7.0.15";
