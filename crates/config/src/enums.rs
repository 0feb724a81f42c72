//! Typed enumerations behind Redis's enum configs.
//!
//! This module owns the Rust types for every enum-valued directive
//! (`loglevel`, `maxmemory-policy`, `appendfsync`, ...) together with their
//! name tables, in Redis's order: the order matters because the "must be one
//! of" error lists names in it, and because when two names share a value
//! (`oom-score-adj yes`/`relative`) the first one is what CONFIG GET shows.
//! It also owns the bit-flag set used by `shutdown-on-sigint` and
//! `shutdown-on-sigterm`.

/// A Redis enum config value.
pub trait ConfigEnum: Copy + Sized + 'static {
    /// `(name, value)` pairs in Redis's table order; names may share values.
    const ENTRIES: &'static [(&'static str, i32)];
    /// The numeric value used in [`Self::ENTRIES`].
    fn to_i32(self) -> i32;
    /// The variant for a numeric value.
    fn from_i32(v: i32) -> Option<Self>;
    /// The canonical name (first table entry with this value).
    fn name(self) -> &'static str {
        let v = self.to_i32();
        Self::ENTRIES
            .iter()
            .find(|(_, x)| *x == v)
            .map_or("unknown", |(n, _)| n)
    }
    /// Case-insensitive parse of a name.
    fn parse(s: &[u8]) -> Option<Self> {
        let s = crate::values::cstr(s);
        Self::ENTRIES
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(s))
            .and_then(|(_, v)| Self::from_i32(*v))
    }
}

macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $val:literal),* $(,)? }
        entries: [$(($ename:literal, $evalue:literal)),* $(,)?]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $val),*
        }

        impl ConfigEnum for $name {
            const ENTRIES: &'static [(&'static str, i32)] = &[$(($ename, $evalue)),*];
            fn to_i32(self) -> i32 {
                self as i32
            }
            fn from_i32(v: i32) -> Option<Self> {
                match v {
                    $($val => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }

        impl $name {
            /// The canonical name (what CONFIG GET shows).
            pub fn name(self) -> &'static str {
                <Self as ConfigEnum>::name(self)
            }

            /// Case-insensitive parse of a name.
            pub fn parse(s: &[u8]) -> Option<Self> {
                <Self as ConfigEnum>::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

config_enum! {
    /// `loglevel`.
    LogLevel {
        /// Very verbose, for development.
        Debug = 0,
        /// Rarely useful information.
        Verbose = 1,
        /// Moderately verbose (default).
        Notice = 2,
        /// Only important messages.
        Warning = 3,
    }
    entries: [("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)]
}

config_enum! {
    /// `maxmemory-policy`: what to do when `maxmemory` is reached.
    MaxmemoryPolicy {
        /// Approximated LRU among keys with an expire.
        VolatileLru = 0,
        /// Approximated LFU among keys with an expire.
        VolatileLfu = 1,
        /// Random key among keys with an expire.
        VolatileRandom = 2,
        /// Key with the nearest expire time.
        VolatileTtl = 3,
        /// Approximated LRU among all keys.
        AllkeysLru = 4,
        /// Approximated LFU among all keys.
        AllkeysLfu = 5,
        /// Random key among all keys.
        AllkeysRandom = 6,
        /// Never evict; reject writes (default).
        NoEviction = 7,
    }
    entries: [
        ("volatile-lru", 0), ("volatile-lfu", 1), ("volatile-random", 2), ("volatile-ttl", 3),
        ("allkeys-lru", 4), ("allkeys-lfu", 5), ("allkeys-random", 6), ("noeviction", 7),
    ]
}

impl MaxmemoryPolicy {
    /// Whether the policy only considers keys with an expire.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Self::VolatileLru | Self::VolatileLfu | Self::VolatileRandom | Self::VolatileTtl
        )
    }
}

config_enum! {
    /// `syslog-facility`.
    SyslogFacility {
        /// LOG_USER.
        User = 0,
        /// LOG_LOCAL0 (default).
        Local0 = 1,
        /// LOG_LOCAL1.
        Local1 = 2,
        /// LOG_LOCAL2.
        Local2 = 3,
        /// LOG_LOCAL3.
        Local3 = 4,
        /// LOG_LOCAL4.
        Local4 = 5,
        /// LOG_LOCAL5.
        Local5 = 6,
        /// LOG_LOCAL6.
        Local6 = 7,
        /// LOG_LOCAL7.
        Local7 = 8,
    }
    entries: [
        ("user", 0), ("local0", 1), ("local1", 2), ("local2", 3), ("local3", 4),
        ("local4", 5), ("local5", 6), ("local6", 7), ("local7", 8),
    ]
}

config_enum! {
    /// `supervised`.
    Supervised {
        /// Signal upstart with SIGSTOP.
        Upstart = 0,
        /// Signal systemd via NOTIFY_SOCKET.
        Systemd = 1,
        /// Detect from the environment.
        Auto = 2,
        /// No supervision (default).
        No = 3,
    }
    entries: [("upstart", 0), ("systemd", 1), ("auto", 2), ("no", 3)]
}

config_enum! {
    /// `appendfsync`.
    AppendFsync {
        /// fsync once per second (default).
        Everysec = 0,
        /// fsync after every write.
        Always = 1,
        /// Let the OS decide.
        No = 2,
    }
    entries: [("everysec", 0), ("always", 1), ("no", 2)]
}

config_enum! {
    /// `repl-diskless-load`.
    ReplDisklessLoad {
        /// Always load the RDB from disk (default).
        Disabled = 0,
        /// Load from the socket only when the dataset is empty.
        OnEmptyDb = 1,
        /// Load into a temporary dataset, then swap.
        Swapdb = 2,
    }
    entries: [("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)]
}

config_enum! {
    /// `tls-auth-clients`.
    TlsAuthClients {
        /// Client certificates neither required nor accepted.
        No = 0,
        /// Client certificates required (default).
        Yes = 1,
        /// Client certificates accepted and verified if present.
        Optional = 2,
    }
    entries: [("no", 0), ("yes", 1), ("optional", 2)]
}

config_enum! {
    /// `oom-score-adj` (`yes` is a synonym of `relative` and is what CONFIG
    /// GET shows for it).
    OomScoreAdj {
        /// Do not touch oom_score_adj (default).
        No = 0,
        /// Values are relative to the initial score.
        Relative = 1,
        /// Values are absolute.
        Absolute = 2,
    }
    entries: [("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)]
}

config_enum! {
    /// `acl-pubsub-default`.
    AclPubsubDefault {
        /// New users may access all channels.
        AllChannels = 1,
        /// New users start with no channel access (default).
        ResetChannels = 0,
    }
    entries: [("allchannels", 1), ("resetchannels", 0)]
}

config_enum! {
    /// `sanitize-dump-payload`.
    SanitizeDumpPayload {
        /// No deep sanitization (default).
        No = 0,
        /// Always sanitize.
        Yes = 1,
        /// Sanitize for user connections only.
        Clients = 2,
    }
    entries: [("no", 0), ("yes", 1), ("clients", 2)]
}

config_enum! {
    /// `enable-protected-configs`, `enable-debug-command`,
    /// `enable-module-command`.
    ProtectedAction {
        /// Never allowed (default).
        No = 0,
        /// Always allowed.
        Yes = 1,
        /// Allowed for connections from loopback / unix sockets only.
        Local = 2,
    }
    entries: [("no", 0), ("yes", 1), ("local", 2)]
}

impl ProtectedAction {
    /// Redis's `allowProtectedAction`.
    pub fn allows(self, client_is_local: bool) -> bool {
        match self {
            Self::No => false,
            Self::Yes => true,
            Self::Local => client_is_local,
        }
    }
}

config_enum! {
    /// `cluster-preferred-endpoint-type`.
    ClusterPreferredEndpointType {
        /// Announce IPs (default).
        Ip = 0,
        /// Announce hostnames.
        Hostname = 1,
        /// Announce `?`.
        UnknownEndpoint = 2,
    }
    entries: [("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)]
}

config_enum! {
    /// `propagation-error-behavior`.
    PropagationErrorBehavior {
        /// Ignore errors in replicated/AOF commands (default).
        Ignore = 0,
        /// Panic on such errors.
        Panic = 1,
        /// Panic only on replicas.
        PanicOnReplicas = 2,
    }
    entries: [("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)]
}

/// `shutdown-on-sigint` / `shutdown-on-sigterm` flag: save before exiting.
pub const SHUTDOWN_SAVE: u32 = 1;
/// Flag: do not save before exiting.
pub const SHUTDOWN_NOSAVE: u32 = 2;
/// Flag: do not wait for replicas.
pub const SHUTDOWN_NOW: u32 = 4;
/// Flag: ignore errors that would prevent the shutdown.
pub const SHUTDOWN_FORCE: u32 = 8;

/// The flag names of `shutdown-on-sig*` in Redis's order (`default` is 0).
pub(crate) const SHUTDOWN_ENTRIES: &[(&str, i32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parse() {
        assert_eq!(LogLevel::parse(b"WARNING"), Some(LogLevel::Warning));
        assert_eq!(LogLevel::Notice.name(), "notice");
        assert_eq!(
            OomScoreAdj::parse(b"relative").map(|v| v.name()),
            Some("yes")
        );
        assert_eq!(
            MaxmemoryPolicy::parse(b"allkeys-lru"),
            Some(MaxmemoryPolicy::AllkeysLru)
        );
        assert_eq!(MaxmemoryPolicy::parse(b"lru"), None);
        assert_eq!(AclPubsubDefault::ResetChannels.name(), "resetchannels");
        assert!(ProtectedAction::Local.allows(true));
        assert!(!ProtectedAction::Local.allows(false));
    }
}
