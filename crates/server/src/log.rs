//! Redis-style log lines: `<pid>:<role> <date> <level> <message>`.
//!
//! Operators and tools grep these, so the layout follows Redis: role `M`
//! (master), `S` (replica), `X` (sentinel), `C` (the first lines, before the
//! server is set up, as Redis writes them); local time; levels `.` debug,
//! `-` verbose, `*` notice, `#` warning; a message cut at 1023 bytes (Redis's
//! `LOG_MAX_LEN`). Lines written on a signal have Redis's signal-handler
//! form. Output goes to `logfile`, or stdout when it is empty (and nowhere
//! once daemonized without a logfile).

use parking_lot::Mutex;
use std::fs::OpenOptions;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

impl Level {
    fn mark(self) -> char {
        match self {
            Level::Debug => '.',
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }

    pub fn from_name(name: &str) -> Level {
        match name {
            "debug" => Level::Debug,
            "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            _ => Level::Notice,
        }
    }
}

enum Target {
    Stdout,
    File(String),
    Nowhere,
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static ROLE: AtomicU8 = AtomicU8::new(b'C');

/// Redis's `LOG_MAX_LEN` less its terminating NUL.
const MESSAGE_MAX_BYTES: usize = 1023;

/// Sets the role letter of the lines that follow (`M`, `S`, `C`).
pub fn set_role(role: u8) {
    ROLE.store(role, Ordering::Relaxed);
}
static TARGET: Mutex<Target> = Mutex::new(Target::Stdout);

/// Sets where log lines go: a file path, or stdout for "" (or nowhere when daemonized).
pub fn set_target(logfile: &str, daemonized: bool) {
    *TARGET.lock() = if !logfile.is_empty() {
        Target::File(logfile.to_string())
    } else if daemonized {
        Target::Nowhere
    } else {
        Target::Stdout
    };
}

pub fn set_level(level: Level) {
    MIN_LEVEL.store(level as u8, Ordering::Relaxed);
}

/// `22 Nov 2026 00:09:15.123` in local time, as Redis writes it.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r fills the `tm` we own from a valid time_t.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

/// Where a crash report goes: the log file's path, `None` for stdout, or
/// nothing when logs go nowhere. Read once, at start-up, by `crash`.
pub fn crash_target() -> Option<Option<String>> {
    match &*TARGET.lock() {
        Target::Stdout => Some(None),
        Target::File(path) => Some(Some(path.clone())),
        Target::Nowhere => None,
    }
}

/// One log line: `<pid>:<role> <date> <level mark> <message>\n`.
pub fn format_line(level: Level, msg: &str) -> String {
    format!(
        "{}:{} {} {} {}\n",
        std::process::id(),
        ROLE.load(Ordering::Relaxed) as char,
        timestamp(),
        level.mark(),
        msg
    )
}

pub fn log(level: Level, msg: &str) {
    if (level as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    write_line(&format_line(level, cut(msg)));
}

/// `msg` within Redis's message size (on a character boundary).
fn cut(msg: &str) -> &str {
    if msg.len() <= MESSAGE_MAX_BYTES {
        return msg;
    }
    let mut end = MESSAGE_MAX_BYTES;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    &msg[..end]
}

/// A line from the engine or a replication decision, at its level.
pub fn at(level: redust_replication::Level, msg: &str) {
    log(
        match level {
            redust_replication::Level::Verbose => Level::Verbose,
            redust_replication::Level::Notice => Level::Notice,
            redust_replication::Level::Warning => Level::Warning,
        },
        msg,
    );
}

/// A line about a signal, in the form Redis's signal handler writes:
/// `<pid>:signal-handler (<unix seconds>) <message>` (warnings only).
pub fn signal_line(msg: &str) {
    if (Level::Warning as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    write_line(&format!(
        "{}:signal-handler ({secs}) {msg}\n",
        std::process::id()
    ));
}

fn write_line(line: &str) {
    match &*TARGET.lock() {
        Target::Stdout => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
        Target::File(path) => {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = f.write_all(line.as_bytes());
            }
        }
        Target::Nowhere => {}
    }
}

#[macro_export]
macro_rules! notice { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Notice, &format!($($t)*)) } }
#[macro_export]
macro_rules! warning { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, &format!($($t)*)) } }
#[macro_export]
macro_rules! verbose { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Verbose, &format!($($t)*)) } }
