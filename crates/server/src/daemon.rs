//! Process life cycle: daemonizing, the pidfile, and reading memory figures
//! from the allocator and the kernel.

use redust_engine::state::MemoryFigures;
use std::io::Write;

/// Detaches from the terminal like Redis: fork, the parent exits, the child
/// starts a new session and points stdin/stdout/stderr at /dev/null.
/// Must run before any thread is started.
pub fn daemonize() -> std::io::Result<()> {
    // SAFETY: called while the process is still single-threaded; fork, setsid,
    // open and dup2 are used as in any Unix daemon.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if devnull >= 0 {
            libc::dup2(devnull, 0);
            libc::dup2(devnull, 1);
            libc::dup2(devnull, 2);
            if devnull > 2 {
                libc::close(devnull);
            }
        }
    }
    Ok(())
}

/// Writes our pid to `path` (Redis ignores failure beyond a warning).
pub fn write_pidfile(path: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    writeln!(f, "{}", std::process::id())
}

/// Memory as jemalloc and /proc see it.
pub fn memory_probe() -> MemoryFigures {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    MemoryFigures {
        allocated: crate::alloc::used_memory(),
        active: stats::active::read().unwrap_or(0) as u64,
        resident: stats::resident::read().unwrap_or(0) as u64,
        retained: stats::retained::read().unwrap_or(0) as u64,
        mapped: stats::mapped::read().unwrap_or(0) as u64,
        rss: rss_bytes(),
    }
}

fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(4096) as u64
}
