//! Fuzzes safe mode's `REPLCONF LEASE` argument (any client may send it):
//! the parser must accept or refuse any bytes without panicking, and what
//! it accepts must drive the lease (a request, then the grant carrying the
//! token it returned) without overflowing the clock.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redust_commands::safe_writes::{Lease, LeaseRequest};
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some(req) = LeaseRequest::parse(data) else {
        return;
    };
    let mut lease = Lease::default();
    let now = Instant::now();
    let token = lease.request(&req.sentinel, req.ms, req.needed, None, now);
    lease.request(&req.sentinel, req.ms, req.needed, Some(token), now);
    let _ = lease.holds(now + Duration::from_millis(req.ms.min(1 << 40)));
});
