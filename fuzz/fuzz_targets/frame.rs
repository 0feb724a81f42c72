//! Fuzzes the reply decoder: any byte stream must decode to frames, wait for
//! more, or fail with an error; never panic, never take a frame it did not
//! consume, and never answer other than "wait" on a shorter prefix of a frame.
//! `frame_len` agrees with `decode_frame`, and what decodes encodes to bytes
//! that decode and encode to the same bytes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_resp::{decode_frame, frame_len, Frame, FrameLimits};

fn encoded(f: &Frame) -> Vec<u8> {
    let mut out = Vec::new();
    f.encode(&mut out);
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the limits and a split point, the rest is the stream.
    let Some((&knob, stream)) = data.split_first() else { return };
    let limits = FrameLimits {
        max_bulk: 1 << (knob % 16),
        max_elements: 1 << (knob % 8),
        max_depth: (knob % 5) as usize,
        max_line: 4 + knob as usize % 64,
    };
    let mut rest = stream;
    loop {
        let len = frame_len(rest, &limits);
        let (frame, n) = match decode_frame(rest, &limits) {
            Ok(Some(whole)) => whole,
            Ok(None) => return assert_eq!(len, Ok(None)),
            Err(e) => return assert_eq!(len, Err(e)),
        };
        assert_eq!(len, Ok(Some(n)));
        assert!(n > 0 && n <= rest.len(), "a frame must consume bytes it has");
        assert_eq!(decode_frame(&rest[..knob as usize % n], &limits), Ok(None));
        let wire = encoded(&frame);
        let (again, m) = decode_frame(&wire, &FrameLimits::default())
            .expect("an encoded frame decodes")
            .expect("an encoded frame is whole");
        assert_eq!(m, wire.len());
        assert_eq!(encoded(&again), wire);
        rest = &rest[n..];
    }
});
