//! Redis-style log lines: `<pid>:<role> <date> <level> <message>`.
//!
//! Operators and tools grep these, so the layout follows Redis: role `M`
//! (master), `S` (replica), `X` (sentinel), `C` (child); levels `.` debug,
//! `-` verbose, `*` notice, `#` warning. Output goes to `logfile`, or stdout
//! when it is empty (and nowhere once daemonized without a logfile).

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
static ROLE: AtomicU8 = AtomicU8::new(b'M');
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

/// `22 Nov 2026 00:09:15.123` in UTC.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        day,
        MONTHS[(month - 1) as usize],
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
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
    let line = format_line(level, msg);
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
