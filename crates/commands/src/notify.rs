//! Keyspace notifications and the bookkeeping every key change shares:
//! WATCH invalidation (`signal_modified`) and lazily expired keys.

use crate::state::State;

// Event classes, with Redis's bit values (notify-keyspace-events letters).
pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m
pub const NEW: u32 = 1 << 14; // n

/// Publishes the keyspace and keyevent notifications for `event` on `key`, if
/// `notify-keyspace-events` enables its class.
pub fn notify(state: &mut State, class: u32, event: &str, key: &[u8], db: usize) {
    let enabled = state.config.notify_keyspace_events;
    if enabled & class == 0 {
        return;
    }
    if enabled & KEYSPACE != 0 {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        crate::cmd::pubsub::publish(state, &channel, event.as_bytes());
    }
    if enabled & KEYEVENT != 0 {
        let channel = format!("__keyevent@{db}__:{event}").into_bytes();
        crate::cmd::pubsub::publish(state, &channel, key);
    }
}

/// A key changed: transactions watching it must fail (Redis's `signalModifiedKey`).
pub fn signal_modified(state: &mut State, db: usize, key: &[u8]) {
    if state.watched_keys.is_empty() {
        return;
    }
    if let Some(ids) = state.watched_keys.get(&db).and_then(|m| m.get(key)) {
        state.dirty_cas.extend(ids.iter().copied());
    }
}

/// A database is about to be emptied or swapped (FLUSHDB, FLUSHALL, SWAPDB):
/// watchers of keys that exist in it now fail (Redis's touchAllWatchedKeysInDb).
/// Call before the change; for SWAPDB call for both databases.
pub fn signal_flushed(state: &mut State, db: Option<usize>) {
    let now = state.now_ms;
    for (d, keys) in state.watched_keys.iter() {
        if db.is_none_or(|x| x == *d) {
            for (key, ids) in keys.iter() {
                let exists = state
                    .dbs
                    .get(*d)
                    .is_some_and(|dbx| dbx.peek(key).is_some() && !dbx.is_expired(key, now));
                if exists {
                    state.dirty_cas.extend(ids.iter().copied());
                }
            }
        }
    }
}

/// Handles the keys lazy expiry deleted during a command: counts them,
/// notifies `expired`, and invalidates watches.
pub fn flush_expired(state: &mut State) {
    // Runs after every command: when nothing expired, this is one pass of
    // loads over the databases.
    while let Some(db) = state.dbs.iter().position(|d| !d.expired_keys.is_empty()) {
        let keys = std::mem::take(&mut state.dbs[db].expired_keys);
        for key in keys {
            expired_key_deleted(state, db, &key);
        }
    }
}

/// A key was deleted because its time passed (lazily or by the active cycle).
pub fn expired_key_deleted(state: &mut State, db: usize, key: &[u8]) {
    state.stats.expired_keys += 1;
    crate::propagate::propagate_deletion(state, db, key);
    signal_modified(state, db, key);
    notify(state, EXPIRED, "expired", key, db);
}
