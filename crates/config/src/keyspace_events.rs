//! Keyspace notification classes (`notify-keyspace-events`).
//!
//! This module owns the event-class bit values (identical to Redis's
//! `NOTIFY_*` constants, so the server's notification code can test them
//! directly), the parser of the flag string (`keyspaceEventsStringToFlags`)
//! and the canonical rendering (`keyspaceEventsFlagsToString`), which is
//! what CONFIG GET and CONFIG REWRITE print: e.g. `"EKA"` is stored as a
//! bitmask and rendered back as `"AKE"`.

/// `K`: publish on `__keyspace@<db>__` channels.
pub const NOTIFY_KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__` channels.
pub const NOTIFY_KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
pub const NOTIFY_GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const NOTIFY_STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const NOTIFY_LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const NOTIFY_SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const NOTIFY_HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const NOTIFY_ZSET: u32 = 1 << 7;
/// `x`: expired events.
pub const NOTIFY_EXPIRED: u32 = 1 << 8;
/// `e`: evicted events.
pub const NOTIFY_EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const NOTIFY_STREAM: u32 = 1 << 10;
/// `m`: key-miss events (not part of `A`).
pub const NOTIFY_KEY_MISS: u32 = 1 << 11;
/// Module-only "loaded" events (no flag character).
pub const NOTIFY_LOADED: u32 = 1 << 12;
/// `d`: module key type events.
pub const NOTIFY_MODULE: u32 = 1 << 13;
/// `n`: new-key events (not part of `A`).
pub const NOTIFY_NEW: u32 = 1 << 14;
/// `A`: alias for `g$lshzxetd`.
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// Parses a class string such as `"KEA"`; `None` on any unknown character.
/// Stops at a NUL byte like the C code. The empty string is 0 (disabled).
pub fn parse_keyspace_events(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in crate::values::cstr(classes) {
        flags |= match c {
            b'A' => NOTIFY_ALL,
            b'g' => NOTIFY_GENERIC,
            b'$' => NOTIFY_STRING,
            b'l' => NOTIFY_LIST,
            b's' => NOTIFY_SET,
            b'h' => NOTIFY_HASH,
            b'z' => NOTIFY_ZSET,
            b'x' => NOTIFY_EXPIRED,
            b'e' => NOTIFY_EVICTED,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b't' => NOTIFY_STREAM,
            b'm' => NOTIFY_KEY_MISS,
            b'd' => NOTIFY_MODULE,
            b'n' => NOTIFY_NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Renders flags the way Redis does: `A` when every class of `A` is set
/// (otherwise the individual class letters in a fixed order), then `K`, `E`,
/// `m`. Note that, as in Redis, `n` is dropped when `A` is printed.
pub fn keyspace_events_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (NOTIFY_GENERIC, 'g'),
            (NOTIFY_STRING, '$'),
            (NOTIFY_LIST, 'l'),
            (NOTIFY_SET, 's'),
            (NOTIFY_HASH, 'h'),
            (NOTIFY_ZSET, 'z'),
            (NOTIFY_EXPIRED, 'x'),
            (NOTIFY_EVICTED, 'e'),
            (NOTIFY_STREAM, 't'),
            (NOTIFY_MODULE, 'd'),
            (NOTIFY_NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    if flags & NOTIFY_KEYSPACE != 0 {
        s.push('K');
    }
    if flags & NOTIFY_KEYEVENT != 0 {
        s.push('E');
    }
    if flags & NOTIFY_KEY_MISS != 0 {
        s.push('m');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_rendering_matches_redis() {
        // Each pair verified with CONFIG SET/GET on redis-server 7.0.15.
        for (input, shown) in [
            ("EKA", "AKE"),
            ("AKE", "AKE"),
            ("g$lshzxetdKEmn", "AKEm"),
            ("gn", "gn"),
            ("Am", "Am"),
            ("A", "A"),
            ("", ""),
        ] {
            let flags = parse_keyspace_events(input.as_bytes()).unwrap();
            assert_eq!(keyspace_events_to_string(flags), shown, "{input}");
        }
        assert_eq!(parse_keyspace_events(b"Q"), None);
        assert_eq!(
            parse_keyspace_events(b"Ex"),
            Some(NOTIFY_KEYEVENT | NOTIFY_EXPIRED)
        );
    }
}
