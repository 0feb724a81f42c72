//! Key access for command handlers, with Redis's side effects in one place.
//!
//! Every handler reads and writes keys through these methods so that lazy
//! expiry, keyspace hit/miss counters, the LRU/LFU clock, WATCH invalidation,
//! notifications and the dirty counter are never forgotten:
//! - `lookup_read`: lazy expiry, hits/misses, access clock.
//! - `lookup_write`: lazy expiry, access clock (no hit/miss counting).
//! - `set_key`: stores a value (dropping the TTL unless asked to keep it) and
//!   signals the key as modified.
//! - `delete_key`: removes a key and signals it.
//!
//! Handlers call `notify` and `dirty` themselves, because the event name and
//! the number of changes depend on the command.

use crate::errors::{CmdError, WRONGTYPE};
use crate::exec::Ctx;
use crate::notify;
use redust_config::MaxmemoryPolicy;
use redust_keyspace::{lru, Db, Entry, Value};
use std::borrow::Cow;

impl Ctx<'_> {
    pub fn now_ms(&self) -> i64 {
        self.state.now_ms
    }

    pub fn db_index(&self) -> usize {
        self.client.db
    }

    pub fn db(&mut self) -> &mut Db {
        &mut self.state.dbs[self.client.db]
    }

    /// The access-clock value a key gets when created now.
    pub fn new_lru(&self) -> u32 {
        if self.state.config.maxmemory_policy.is_lfu() {
            lru::lfu_init(self.state.now_ms)
        } else {
            lru::lru_clock(self.state.now_ms)
        }
    }

    /// How an access now changes a key's clock: the LRU clock, or one LFU
    /// step (decay, then a logarithmic increment).
    fn clock_update(&mut self) -> impl Fn(u32) -> u32 {
        let now = self.state.now_ms;
        let lfu = self.state.config.maxmemory_policy.is_lfu();
        let (log_factor, decay) = (
            self.state.config.lfu_log_factor,
            self.state.config.lfu_decay_time,
        );
        let r: f64 = if lfu {
            rand::Rng::gen(&mut self.state.rng)
        } else {
            0.0
        };
        move |old| {
            if lfu {
                lru::lfu_touch(old, now, log_factor, decay, r)
            } else {
                lru::lru_clock(now)
            }
        }
    }

    /// The live entry under `key` for reading (Redis's `lookupKeyRead`):
    /// lazy expiry, a keyspace hit or miss (and the `keymiss` event), and
    /// the access clock. One table lookup unless `keymiss` events are on.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.lookup_read_with(key, true)
    }

    /// `lookup_read` that leaves the access clock alone (Redis's
    /// `LOOKUP_NOTOUCH`): EXISTS, TYPE, TTL and friends read a key without
    /// making it look recently used to eviction and OBJECT IDLETIME/FREQ.
    pub fn lookup_read_untouched(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.lookup_read_with(key, false)
    }

    fn lookup_read_with(&mut self, key: &[u8], touch: bool) -> Option<&mut Entry> {
        let db = self.client.db;
        let now = self.state.now_ms;
        let clock = self.clock_update();
        if self.state.config.notify_keyspace_events & notify::KEY_MISS != 0
            && !self.state.dbs[db].contains(key, now)
        {
            self.state.stats.keyspace_misses += 1;
            // Written where it fires, as Redis does (before the reply).
            self.publishing_early(|state| {
                notify::notify(state, notify::KEY_MISS, "keymiss", key, db)
            });
            return None;
        }
        let state = &mut *self.state;
        match state.dbs[db].get_mut(key, now) {
            Some(e) => {
                state.stats.keyspace_hits += 1;
                if touch {
                    e.set_lru(clock(e.lru()));
                }
                Some(e)
            }
            None => {
                state.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// The live entry under `key` for writing (Redis's `lookupKeyWrite`):
    /// lazy expiry and the access clock, no hit/miss counting.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let db = self.client.db;
        let now = self.state.now_ms;
        let clock = self.clock_update();
        let e = self.state.dbs[db].get_mut(key, now)?;
        e.set_lru(clock(e.lru()));
        Some(e)
    }

    /// True if `key` exists (after lazy expiry), without touching counters.
    pub fn exists(&mut self, key: &[u8]) -> bool {
        let now = self.state.now_ms;
        self.db().contains(key, now)
    }

    /// A string value for reading: `Ok(None)` if missing, WRONGTYPE if not a string.
    pub fn read_string(&mut self, key: &[u8]) -> Result<Option<Cow<'_, [u8]>>, CmdError> {
        match self.lookup_read(key) {
            None => Ok(None),
            Some(e) => match e.value().string_bytes() {
                Some(b) => Ok(Some(b)),
                None => Err(WRONGTYPE.into()),
            },
        }
    }

    /// Stores `value` under `key` (Redis's `setKey`): replaces any old value,
    /// drops the TTL unless `keep_ttl`, and signals the key as modified.
    /// Returns true if the key was new.
    pub fn set_key(&mut self, key: &[u8], value: Value, keep_ttl: bool) -> bool {
        let entry = Entry::new(key, value, self.new_lru());
        self.store(key, entry, keep_ttl)
    }

    /// `set_key` for a string given as bytes (SET, MSET): encoded as Redis
    /// encodes fresh strings, copied once, into the key's entry.
    pub fn set_string(&mut self, key: &[u8], data: &[u8], keep_ttl: bool) -> bool {
        let entry = Entry::new_string(key, data, self.new_lru());
        self.store(key, entry, keep_ttl)
    }

    fn store(&mut self, key: &[u8], mut entry: Entry, keep_ttl: bool) -> bool {
        let db = self.client.db;
        let now = self.state.now_ms;
        self.state.dbs[db].expire_if_needed(key, now);
        // Overwriting looks the old key up for writing (one access) and the
        // new value keeps its clock, as Redis's setKey/dbOverwrite do: an
        // LFU counter survives a SET. Under LRU that clock is the new
        // entry's already, so only LFU pays for the extra lookup.
        if self.state.config.maxmemory_policy.is_lfu() {
            let clock = self.clock_update();
            if let Some(old) = self.state.dbs[db].peek(key) {
                entry.set_lru(clock(old.lru()));
            }
        }
        let old = self.state.dbs[db].insert(entry);
        if let Some(old) = &old {
            let lazy = self.state.config.lazyfree_lazy_server_del;
            crate::lazyfree::value_freed(self.state, old.value(), lazy);
            if !keep_ttl {
                self.state.dbs[db].persist(key);
            }
        }
        notify::signal_modified(self.state, db, key);
        if old.is_none() {
            self.publishing_early(|state| notify::notify(state, notify::NEW, "new", key, db));
        }
        old.is_none()
    }

    /// Deletes `key` if it exists and signals it. Returns true if it existed.
    /// A server-side deletion: lazy as `lazyfree-lazy-server-del` says.
    pub fn delete_key(&mut self, key: &[u8]) -> bool {
        let lazy = self.state.config.lazyfree_lazy_server_del;
        self.delete_key_lazily(key, lazy)
    }

    /// [`Ctx::delete_key`], freeing the value lazily when `lazy` (UNLINK,
    /// DEL with `lazyfree-lazy-user-del`), for the lazyfree counters.
    pub fn delete_key_lazily(&mut self, key: &[u8], lazy: bool) -> bool {
        let db = self.client.db;
        let now = self.state.now_ms;
        if self.state.dbs[db].expire_if_needed(key, now) {
            return false;
        }
        match self.state.dbs[db].remove(key) {
            Some(old) => {
                crate::lazyfree::value_freed(self.state, old.value(), lazy);
                notify::signal_modified(self.state, db, key);
                true
            }
            None => false,
        }
    }

    /// Signals `key` in the client's database as modified (WATCH).
    pub fn modified(&mut self, key: &[u8]) {
        notify::signal_modified(self.state, self.client.db, key);
    }

    /// Publishes a keyspace notification for `key` in the client's database.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        self.publishing(|state| notify::notify(state, class, event, key, db));
    }

    /// Runs `publish`; messages it sends to this client itself go into its
    /// reply here, ahead of the command's own reply, as Redis writes them
    /// (after it, for the commands Redis answers before firing their events:
    /// see `exec::REPLY_BEFORE_EVENTS`).
    pub fn publishing<T>(&mut self, publish: impl FnOnce(&mut crate::state::State) -> T) -> T {
        self.publishing_at(true, publish)
    }

    /// [`Ctx::publishing`] for events Redis fires while it looks a key up or
    /// creates it (`keymiss`, `new`): always before the reply.
    fn publishing_early<T>(&mut self, publish: impl FnOnce(&mut crate::state::State) -> T) -> T {
        self.publishing_at(false, publish)
    }

    fn publishing_at<T>(
        &mut self,
        may_defer: bool,
        publish: impl FnOnce(&mut crate::state::State) -> T,
    ) -> T {
        let outer = self
            .state
            .pubsub
            .self_push
            .replace((self.client.id, Vec::new()));
        let result = publish(self.state);
        let mine = std::mem::replace(&mut self.state.pubsub.self_push, outer);
        for frame in mine.map(|(_, frames)| frames).unwrap_or_default() {
            match self
                .state
                .pubsub
                .deferred_self_push
                .as_mut()
                .filter(|_| may_defer)
            {
                Some(later) => later.extend_from_slice(&frame),
                None => self.reply.buf.extend_from_slice(&frame),
            }
        }
        result
    }

    /// The encoding thresholds from the config.
    pub fn limits(&self) -> redust_keyspace::EncodingLimits {
        encoding_limits(&self.state.config)
    }

    /// After a command removed `removed` elements from the collection at
    /// `key`: signals it, notifies `event`, deletes the key if the collection
    /// is now empty (Redis keeps no empty collections) with its `del` event,
    /// and counts the changes.
    pub fn removed_elements(
        &mut self,
        key: &[u8],
        class: u32,
        event: &str,
        removed: u64,
        emptied: bool,
    ) {
        if removed == 0 {
            return;
        }
        self.modified(key);
        self.notify(class, event, key);
        if emptied {
            self.delete_key(key);
            self.notify(crate::notify::GENERIC, "del", key);
        }
        self.dirty(removed);
    }

    /// Counts `n` changes to the dataset.
    pub fn dirty(&mut self, n: u64) {
        self.state.dirty += n;
    }
}

impl MaxmemoryPolicyExt for MaxmemoryPolicy {
    fn is_lfu(&self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu
        )
    }

    fn uses_clock(&self) -> bool {
        matches!(
            self,
            MaxmemoryPolicy::AllkeysLfu
                | MaxmemoryPolicy::VolatileLfu
                | MaxmemoryPolicy::AllkeysLru
                | MaxmemoryPolicy::VolatileLru
        )
    }
}

/// Questions the keyspace code asks of the eviction policy.
pub trait MaxmemoryPolicyExt {
    fn is_lfu(&self) -> bool;
    /// LRU and LFU policies need a per-key access clock (no shared objects).
    fn uses_clock(&self) -> bool;
}

/// The encoding thresholds (`*-max-listpack-*`, ...) from the config.
pub fn encoding_limits(c: &redust_config::Config) -> redust_keyspace::EncodingLimits {
    redust_keyspace::EncodingLimits {
        hash_max_listpack_entries: c.hash_max_listpack_entries,
        hash_max_listpack_value: c.hash_max_listpack_value,
        set_max_intset_entries: c.set_max_intset_entries,
        zset_max_listpack_entries: c.zset_max_listpack_entries,
        zset_max_listpack_value: c.zset_max_listpack_value,
        list_max_listpack_size: c.list_max_listpack_size,
        list_compress_depth: c.list_compress_depth,
    }
}
