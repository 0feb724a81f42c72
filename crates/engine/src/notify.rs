//! Keyspace notifications and the bookkeeping every key change shares:
//! WATCH invalidation (`signal_modified`) and lazily expired keys.

use crate::state::{Client, State};

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
        crate::pubsub::publish(state, &channel, event.as_bytes());
    }
    if enabled & KEYEVENT != 0 {
        let channel = format!("__keyevent@{db}__:{event}").into_bytes();
        crate::pubsub::publish(state, &channel, key);
    }
}

/// A key changed: transactions watching it must fail (Redis's
/// `touchWatchedKey`), except a watcher that saw the key already expired and
/// now sees it deleted: nothing changed for it.
pub fn signal_modified(state: &mut State, db: usize, key: &[u8]) {
    if state.watch.watched_keys.is_empty() {
        return;
    }
    let gone = state.dbs[db].peek(key).is_none();
    if let Some(watchers) = state
        .watch
        .watched_keys
        .get_mut(&db)
        .and_then(|m| m.get_mut(key))
    {
        for w in watchers.iter_mut() {
            if w.expired && gone {
                w.expired = false;
            } else {
                state.watch.dirty_cas.insert(w.client);
            }
        }
    }
}

/// A database is about to be emptied (FLUSHDB, FLUSHALL: `replaced_with`
/// is `None`) or swapped with another (SWAPDB, called for both sides):
/// watchers of keys that change for their readers fail (Redis's
/// touchAllWatchedKeysInDb). A key that was expired stays unchanged when it
/// goes or stays expired; a missing key replaced by an expired one counts as
/// expired from now on.
pub fn signal_flushed(state: &mut State, db: Option<usize>) {
    let dbs: Vec<usize> = match db {
        Some(d) => vec![d],
        None => state.watch.watched_keys.keys().copied().collect(),
    };
    for d in dbs {
        signal_db_replaced(state, d, None);
    }
}

/// `signal_flushed` for database `emptied` whose content becomes that of
/// database `replaced_with` (SWAPDB), before the swap.
pub fn signal_db_replaced(state: &mut State, emptied: usize, replaced_with: Option<usize>) {
    let now = state.now_ms;
    let Some(keys) = state.watch.watched_keys.get_mut(&emptied) else {
        return;
    };
    for (key, watchers) in keys.iter_mut() {
        let in_emptied = state
            .dbs
            .get(emptied)
            .is_some_and(|d| d.peek(key).is_some());
        let other = replaced_with.and_then(|r| state.dbs.get(r));
        let in_replacement = other.is_some_and(|d| d.peek(key).is_some());
        let expired_in_replacement = other.is_some_and(|d| d.is_expired(key, now));
        if !in_emptied && !in_replacement {
            continue;
        }
        for w in watchers.iter_mut() {
            if w.expired {
                if !in_replacement {
                    w.expired = false;
                    continue;
                }
                if expired_in_replacement {
                    continue;
                }
            } else if !in_emptied && expired_in_replacement {
                w.expired = true;
                continue;
            }
            state.watch.dirty_cas.insert(w.client);
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
        crate::lazyfree::expired_drained(state, db);
        for key in keys {
            expired_key_deleted(state, db, &key);
        }
    }
}

/// A key was deleted because its time passed (lazily or by the active cycle).
pub fn expired_key_deleted(state: &mut State, db: usize, key: &[u8]) {
    state.stats.expired_keys += 1;
    let lazy = state.config.lazyfree_lazy_expire;
    crate::propagate::propagate_deletion(state, db, key, lazy);
    signal_modified(state, db, key);
    notify(state, EXPIRED, "expired", key, db);
}

/// Forgets every key `client` watches, and its dirty mark.
pub fn unwatch_all(state: &mut State, client: &mut Client) {
    for (db, key) in client.watched.drain(..) {
        if let Some(keys) = state.watch.watched_keys.get_mut(&db) {
            if let Some(ids) = keys.get_mut(&key) {
                ids.retain(|w| w.client != client.id);
                if ids.is_empty() {
                    keys.remove(&key);
                }
            }
            if keys.is_empty() {
                state.watch.watched_keys.remove(&db);
            }
        }
    }
    state.watch.dirty_cas.remove(&client.id);
}
