//! Crash reports: a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT)
//! or a panic (a broken invariant) writes Redis's bug report to the log,
//! between the same START and END lines Redis uses, with the stack trace,
//! so that an operator can send it to us. A signal is then re-raised with
//! its default action (a core dump where enabled); a panic aborts the
//! process, since the state it was changing cannot be trusted any more.
//!
//! The signal handler avoids the allocator where it can: the log file is
//! opened at start-up (the descriptor kept), glibc's `backtrace` and
//! `backtrace_symbols_fd` write the frames straight to it, and the few
//! lines formatted here are small.

use std::ffi::{c_int, c_void};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

extern "C" {
    // glibc's execinfo.h.
    fn backtrace(buffer: *mut *mut c_void, size: c_int) -> c_int;
    fn backtrace_symbols_fd(buffer: *const *mut c_void, size: c_int, fd: c_int);
}

/// The descriptor reports go to (-1: none).
static REPORT_FD: AtomicI32 = AtomicI32::new(-1);
/// One report per process, even if reporting itself faults.
static REPORTING: AtomicBool = AtomicBool::new(false);

const SIGNALS: [c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGABRT,
];

/// Installs the handlers; call once the log target is known.
pub fn install() {
    let fd = match crate::log::crash_target() {
        None => -1,
        Some(None) => libc::STDOUT_FILENO,
        Some(Some(path)) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_or(-1, |f| f.into_raw_fd()),
    };
    REPORT_FD.store(fd, Ordering::Relaxed);
    // Load libgcc's unwinder now: its first use may allocate.
    let mut frames = [std::ptr::null_mut::<c_void>(); 1];
    // SAFETY: `frames` has room for the one frame asked for.
    unsafe { backtrace(frames.as_mut_ptr(), 1) };
    // SAFETY: a zeroed sigaction with a valid handler and flags is what
    // sigaction expects; the handler only touches atomics and descriptors.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_fatal_signal as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_RESETHAND;
        libc::sigemptyset(&mut action.sa_mask);
        for sig in SIGNALS {
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        report_panic(&message, &location);
        default_hook(info);
        std::process::abort();
    }));
}

fn write_fd(fd: c_int, text: &str) {
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        // SAFETY: writing initialised bytes from a live slice.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

fn warning_line(text: &str) -> String {
    crate::log::format_line(crate::log::Level::Warning, text)
}

fn report_start(fd: c_int) {
    write_fd(
        fd,
        "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n",
    );
}

fn report_end(fd: c_int) {
    write_fd(
        fd,
        "\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n       \
         Please report the crash to the redust project, with this report.\n\n",
    );
}

fn write_backtrace(fd: c_int) {
    write_fd(fd, "\n------ STACK TRACE ------\n\nBacktrace:\n");
    let mut frames = [std::ptr::null_mut::<c_void>(); 100];
    // SAFETY: the buffer has room for the 100 frames asked for, and
    // backtrace_symbols_fd reads only the `n` it filled.
    unsafe {
        let n = backtrace(frames.as_mut_ptr(), frames.len() as c_int);
        backtrace_symbols_fd(frames.as_ptr(), n, fd);
    }
}

extern "C" fn on_fatal_signal(sig: c_int, info: *mut libc::siginfo_t, _context: *mut c_void) {
    let fd = REPORT_FD.load(Ordering::Relaxed);
    if fd >= 0 && !REPORTING.swap(true, Ordering::SeqCst) {
        report_start(fd);
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr()) };
        write_fd(
            fd,
            &warning_line(&format!(
                "Redis {} crashed by signal: {sig}, si_code: {code}",
                redust_resp::REDIS_VERSION
            )),
        );
        if sig == libc::SIGSEGV || sig == libc::SIGBUS {
            write_fd(fd, &warning_line(&format!("Accessing address: {addr:p}")));
        }
        write_backtrace(fd);
        report_end(fd);
    }
    // SA_RESETHAND restored the default action: re-raise for the core dump.
    // SAFETY: raising a signal for this process.
    unsafe {
        libc::raise(sig);
    }
}

fn report_panic(message: &str, location: &str) {
    let fd = REPORT_FD.load(Ordering::Relaxed);
    if fd < 0 || REPORTING.swap(true, Ordering::SeqCst) {
        return;
    }
    // The abort that follows must not report a second time.
    // SAFETY: restoring the default action of SIGABRT.
    unsafe {
        libc::signal(libc::SIGABRT, libc::SIG_DFL);
    }
    report_start(fd);
    write_fd(
        fd,
        &warning_line("------------------------------------------------"),
    );
    write_fd(
        fd,
        &warning_line("!!! Software Failure. Press left mouse button to continue"),
    );
    write_fd(
        fd,
        &warning_line(&format!("Guru Meditation: {message} #{location}")),
    );
    // Outside a signal handler the standard library can name the frames.
    write_fd(fd, "\n------ STACK TRACE ------\n\nBacktrace:\n");
    write_fd(fd, &std::backtrace::Backtrace::force_capture().to_string());
    report_end(fd);
}
