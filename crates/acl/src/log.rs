//! The ACL log: refused commands, keys, channels and failed logins, newest
//! first, with repeats of the same refusal within a minute folded into one
//! entry (Redis's `addACLLogEntry`), bounded by `acllog-max-len`.

use std::collections::VecDeque;

/// Repeats closer than this are counted in the same entry.
const GROUPING_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogReason {
    Command,
    Key,
    Channel,
    Auth,
}

impl LogReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LogReason::Command => "command",
            LogReason::Key => "key",
            LogReason::Channel => "channel",
            LogReason::Auth => "auth",
        }
    }
}

/// Where the refused command was running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogContext {
    Toplevel,
    Multi,
    Lua,
}

impl LogContext {
    pub fn as_str(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub count: u64,
    pub reason: LogReason,
    pub context: LogContext,
    /// The command's full name, the key, the channel, or the login command.
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// When it last happened.
    pub time_ms: i64,
    /// CLIENT INFO of the client, as it was the last time.
    pub client_info: String,
}

/// The entries, newest first.
#[derive(Debug, Clone, Default)]
pub struct AclLog {
    entries: VecDeque<LogEntry>,
}

impl AclLog {
    /// Records a refusal (`count` of `entry` is ignored).
    pub fn add(&mut self, mut entry: LogEntry, max_len: usize) {
        let same = self.entries.iter().position(|e| {
            e.reason == entry.reason
                && e.context == entry.context
                && entry.time_ms - e.time_ms <= GROUPING_MS
                && e.object == entry.object
                && e.username == entry.username
        });
        entry.count = 1;
        if let Some(i) = same {
            if let Some(old) = self.entries.remove(i) {
                entry.count = old.count + 1;
            }
        }
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
