//! Cheap stopwatches for per-command durations (INFO commandstats, SLOWLOG,
//! LATENCY).
//!
//! Every command is timed, so the clock read is on the hot path. On this
//! project's VMs `clock_gettime` costs about 5% of a pipelined GET, while the
//! CPU's time-stamp counter is a single instruction. Where the TSC is invariant
//! (`constant_tsc` and `nonstop_tsc`: same rate on every core, in every power
//! state), `calibrate_in_background` measures its rate against the monotonic
//! clock once, and stopwatches use it from then on. Until then, and on other
//! CPUs, they fall back to `std::time::Instant`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// TSC ticks per microsecond, times 1024; 0 while unknown or unusable.
static TICKS_PER_US_X1024: AtomicU64 = AtomicU64::new(0);

/// A running measurement, from `Stopwatch::start`.
#[derive(Clone, Copy, Debug)]
pub enum Stopwatch {
    Ticks(u64),
    Clock(Instant),
}

impl Stopwatch {
    #[inline]
    pub fn start() -> Stopwatch {
        if TICKS_PER_US_X1024.load(Ordering::Relaxed) != 0 {
            if let Some(t) = read_tsc() {
                return Stopwatch::Ticks(t);
            }
        }
        Stopwatch::Clock(Instant::now())
    }

    /// Microseconds since `start`.
    #[inline]
    pub fn elapsed_us(&self) -> u64 {
        match *self {
            Stopwatch::Ticks(t0) => {
                let rate = TICKS_PER_US_X1024.load(Ordering::Relaxed).max(1);
                let ticks = read_tsc().unwrap_or(t0).saturating_sub(t0);
                ((ticks as u128 * 1024) / rate as u128) as u64
            }
            Stopwatch::Clock(t0) => t0.elapsed().as_micros() as u64,
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn read_tsc() -> Option<u64> {
    // RDTSC has no preconditions; the intrinsic is only marked unsafe in older
    // toolchains.
    #[allow(unused_unsafe)]
    Some(unsafe { core::arch::x86_64::_rdtsc() })
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn read_tsc() -> Option<u64> {
    None
}

/// True when the kernel reports an invariant TSC.
fn tsc_is_invariant() -> bool {
    if read_tsc().is_none() {
        return false;
    }
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return false;
    };
    let flags = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    has("constant_tsc") && has("nonstop_tsc")
}

/// Measures the TSC's rate on a short-lived thread (about 50 ms), then
/// switches stopwatches to it. Safe to call more than once.
pub fn calibrate_in_background() {
    let _ = std::thread::Builder::new()
        .name("tsc-calibrate".into())
        .spawn(|| {
            if let Some(rate) = measure_rate(Duration::from_millis(50)) {
                TICKS_PER_US_X1024.store(rate, Ordering::Relaxed);
            }
        });
}

fn measure_rate(span: Duration) -> Option<u64> {
    if !tsc_is_invariant() {
        return None;
    }
    let (c0, t0) = (read_tsc()?, Instant::now());
    std::thread::sleep(span);
    let (c1, t1) = (read_tsc()?, Instant::now());
    let us = t1.duration_since(t0).as_micros() as u64;
    let ticks = c1.checked_sub(c0)?;
    if us == 0 || ticks < us {
        return None;
    }
    Some(ticks.saturating_mul(1024) / us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwatch_agrees_with_the_monotonic_clock() {
        if let Some(rate) = measure_rate(Duration::from_millis(20)) {
            TICKS_PER_US_X1024.store(rate, Ordering::Relaxed);
        }
        let watch = Stopwatch::start();
        let t0 = Instant::now();
        std::thread::sleep(Duration::from_millis(30));
        let got = watch.elapsed_us() as i64;
        let want = t0.elapsed().as_micros() as i64;
        assert!((got - want).abs() < want / 10 + 500, "{got} vs {want}");
    }
}
