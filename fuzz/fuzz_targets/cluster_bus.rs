//! Fuzzes the cluster bus decoder: any bytes on a bus link must frame as
//! incomplete, whole or "close the link", and a whole message must decode
//! or be dropped, never panic; what decodes encodes back to the same bytes
//! when it carries no unknown extension (and no hostname our encoder
//! would not send: empty, or over 255 bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_cluster::bus::{self, Body, Framing};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Framing::Whole(n) = bus::frame(rest) {
        if let Ok(Some(m)) = bus::decode(&rest[..n]) {
            let clean = match &m.body {
                Body::Ping { unknown_extensions, hostname, .. } => {
                    unknown_extensions.is_empty()
                        && hostname.as_ref().is_none_or(|h| !h.is_empty() && h.len() <= 255)
                }
                _ => true,
            };
            let again = bus::encode(&m);
            if clean && m.header.kind <= 10 {
                let back = bus::decode(&again).expect("re-encoded decodes").expect("version 1");
                assert_eq!(back.body, m.body);
            }
        }
        rest = &rest[n..];
    }
});
