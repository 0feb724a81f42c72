//! The per-key access clock used by eviction and `OBJECT IDLETIME`/`OBJECT FREQ`.
//!
//! Like Redis, each key keeps 24 bits: in LRU mode a seconds clock of the last
//! access; in LFU mode 16 bits of minutes since the last decrement and an 8-bit
//! logarithmic access counter.

pub const LRU_BITS_MASK: u32 = (1 << 24) - 1;
/// Counter given to new keys under LFU, so they are not evicted at once.
pub const LFU_INIT_VAL: u8 = 5;

/// The LRU clock (seconds, 24 bits) at `now_ms`.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u64 & LRU_BITS_MASK as u64) as u32
}

/// Milliseconds since the access recorded in `lru` (LRU mode).
pub fn lru_idle_ms(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    let secs = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_BITS_MASK - lru)
    };
    secs as u64 * 1000
}

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u64 & 0xFFFF) as u32
}

/// The initial LFU field for a new key.
pub fn lfu_init(now_ms: i64) -> u32 {
    (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL as u32
}

/// The LFU counter after decay for elapsed time (`lfu-decay-time` minutes per step).
pub fn lfu_decayed_counter(field: u32, now_ms: i64, decay_time: u32) -> u8 {
    let last = field >> 8;
    let counter = (field & 0xFF) as u8;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        65535 - last + now
    };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u8)
}

/// Records one access in LFU mode: decay, then a logarithmic increment.
pub fn lfu_touch(field: u32, now_ms: i64, log_factor: u32, decay_time: u32, rand01: f64) -> u32 {
    let mut counter = lfu_decayed_counter(field, now_ms, decay_time);
    if counter < 255 {
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if rand01 < p {
            counter += 1;
        }
    }
    (lfu_minutes(now_ms) << 8) | counter as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lru_idle_counts_seconds() {
        let lru = lru_clock(10_000);
        assert_eq!(lru_idle_ms(lru, 15_500), 5000);
    }

    #[test]
    fn lfu_counter_grows_and_decays() {
        let f = lfu_init(0);
        let f2 = lfu_touch(f, 0, 10, 1, 0.0);
        assert_eq!(f2 & 0xFF, LFU_INIT_VAL as u32 + 1);
        assert_eq!(lfu_decayed_counter(f2, 3 * 60_000, 1), LFU_INIT_VAL - 2);
    }
}
