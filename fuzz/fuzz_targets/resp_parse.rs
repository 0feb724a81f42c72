//! Fuzzes the request parser: any byte stream, fed in arbitrary pieces, must
//! parse to requests, wait for more, or fail with a protocol error; never
//! panic, never loop, never take a request it did not consume.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use redust_resp::{parse_request, ParseLimits};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split point and the limits, the rest is the stream.
    let Some((&knob, stream)) = data.split_first() else { return };
    let limits = ParseLimits { max_bulk_bytes: 1 << (knob % 32), authenticated: knob & 0x80 == 0 };
    let cut = if stream.is_empty() { 0 } else { knob as usize % stream.len() };
    let mut buf = BytesMut::from(&stream[..cut]);
    for piece in [&stream[cut..], &[][..]] {
        loop {
            let before = buf.len();
            match parse_request(&mut buf, limits) {
                Ok(Some(_)) => assert!(buf.len() < before, "a request must consume bytes"),
                Ok(None) => break,
                Err(_) => return,
            }
        }
        buf.extend_from_slice(piece);
    }
});
