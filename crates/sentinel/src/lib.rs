//! Redis Sentinel's logic without I/O (issue 14). It owns what a Sentinel
//! knows and decides: the `sentinel ...` configuration with Redis 7.0's
//! rules and error texts (`config`), the hello messages Sentinels publish
//! on `__sentinel__:hello` (`hello`), and what a monitored instance's INFO
//! tells a Sentinel (`info`), and the first part of the state machine,
//! `monitor`: PING/INFO periods, replies, subjective down and replicas
//! found in INFO, hellos and the Sentinels they announce (time in;
//! commands and events out), then `election`: ODOWN, the questions to the
//! other Sentinels, votes and the leader of a failover attempt. The
//! failover itself builds on it. `links` keeps the bookkeeping of the
//! connections (handshakes, which reply answers what) and `node` a whole
//! running Sentinel (the machine, global options, what the SENTINEL
//! commands change). `scripts` decides which event or failover runs
//! which user script and keeps Redis's queue of them (retries, time
//! limit, PENDING-SCRIPTS) without processes. `rewrite` builds the `sentinel ...` lines of the
//! config-file rewrite ("flushconfig"), in Redis's order, as plain
//! strings for the config crate's rewrite engine. No sockets, no clock, no
//! files here: the server's shell does the I/O.

pub mod config;
pub mod election;
pub mod failover;
pub mod hello;
pub mod info;
pub mod links;
pub mod monitor;
pub mod node;
pub mod records;
pub mod rewrite;
pub mod scripts;
pub mod set;
#[cfg(test)]
mod testkit;

/// C's `atoi` as Redis applies it to config values: optional spaces and
/// sign, the leading digits, 0 when there are none; wraps like a 32-bit
/// `int` would on overflow (we saturate instead, an error-free choice).
pub fn atoi(text: &str) -> i64 {
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut n: i64 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    let n = n.min(i32::MAX as i64 + 1);
    if neg {
        -n
    } else {
        n.min(i32::MAX as i64)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn atoi_reads_like_c() {
        for (text, n) in [
            ("12", 12),
            (" 7x", 7),
            ("-3", -3),
            ("x", 0),
            ("", 0),
            ("+5", 5),
        ] {
            assert_eq!(super::atoi(text), n, "{text}");
        }
    }
}
