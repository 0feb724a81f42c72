//! RDB persistence for the server state: converting values to and from the
//! codec's `RdbValue`, writing a snapshot file (temp name, fsync, rename),
//! loading one at start-up or on DEBUG RELOAD, and the DUMP/RESTORE payloads.
//!
//! The byte format itself lives in `redust-persistence`; this module knows
//! our value types and the durability rules.

use crate::state::State;
use redust_keyspace::{
    EncodingLimits, Entry, HashValue, ListValue, NodeFill, SetValue, Value, ValueRef, ZSetValue,
};
use redust_persistence::{
    AuxInfo, EntryMeta, ListNode, RdbEvent, RdbReader, RdbValue, RdbWriter, ReplInfo, WriterOptions,
};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Whether the value is held in a compact encoding (listpack, intset), for
/// the writer to keep it (`None` for strings and lists).
pub fn compact_encoding(value: ValueRef) -> Option<bool> {
    match value.encoding_name() {
        "listpack" | "intset" => Some(true),
        "hashtable" | "skiplist" => Some(false),
        _ => None,
    }
}

/// The codec's view of one of our values.
pub fn value_to_rdb(value: ValueRef) -> RdbValue {
    match value {
        ValueRef::List(l) => RdbValue::ListNodes(
            l.node_items()
                .into_iter()
                .map(|(plain, items)| ListNode { plain, items })
                .collect(),
        ),
        ValueRef::Hash(h) => {
            RdbValue::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
        }
        ValueRef::Set(s) => {
            RdbValue::Set(s.members().into_iter().map(|m| m.into_owned()).collect())
        }
        ValueRef::ZSet(z) => RdbValue::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        v => RdbValue::String(v.string_bytes().map(|b| b.into_owned()).unwrap_or_default()),
    }
}

/// Our value for a decoded one, with the encodings the limits call for.
pub fn rdb_to_value(value: RdbValue, limits: &EncodingLimits) -> Value {
    match value {
        RdbValue::String(s) => Value::from_vec(s),
        RdbValue::ListNodes(nodes) => rdb_to_value(
            RdbValue::List(nodes.into_iter().flat_map(|n| n.items).collect()),
            limits,
        ),
        RdbValue::List(items) => Value::List(Box::new(ListValue::from_items(
            items.iter().map(|i| &i[..]),
            NodeFill::new(limits.list_max_listpack_size),
            limits.list_compress_depth,
        ))),
        RdbValue::Set(members) => Value::Set(SetValue::from_members(
            members.iter().map(|m| &m[..]),
            limits,
        )),
        RdbValue::Hash(pairs) => {
            let mut h = HashValue::new();
            for (f, v) in &pairs {
                h.set(f, v, limits);
            }
            h.shrink_to_fit();
            Value::Hash(h)
        }
        RdbValue::ZSet(pairs) => Value::ZSet(zset_from_pairs(pairs, limits)),
    }
}

/// A sorted set from (member, score) pairs in any order (a valid file has
/// no duplicate members; if one had, the last score would win).
fn zset_from_pairs(mut pairs: Vec<(Vec<u8>, f64)>, limits: &EncodingLimits) -> ZSetValue {
    pairs.reverse();
    let mut seen = std::collections::HashSet::new();
    pairs.retain(|(m, _)| seen.insert(m.clone()));
    ZSetValue::from_members(pairs.iter().map(|(m, s)| (&m[..], *s)), limits)
}

/// The RDB writer's settings from the config (also DUMP's).
pub fn writer_options(state: &State) -> WriterOptions {
    let c = &state.config;
    WriterOptions {
        compression: c.rdbcompression,
        checksum: c.rdbchecksum,
        hash_max_listpack_entries: c.hash_max_listpack_entries,
        hash_max_listpack_value: c.hash_max_listpack_value,
        zset_max_listpack_entries: c.zset_max_listpack_entries,
        zset_max_listpack_value: c.zset_max_listpack_value,
        set_max_intset_entries: c.set_max_intset_entries,
        list_max_listpack_size: c.list_max_listpack_size as i64,
        list_packed_threshold: NodeFill::new(c.list_max_listpack_size).packed_threshold,
    }
}

/// The RDB file: `dbfilename` in the working directory, which the server
/// keeps at `dir` (at start-up and on CONFIG SET dir), as Redis does.
pub fn rdb_path(state: &State) -> PathBuf {
    PathBuf::from(&state.config.dbfilename)
}

/// Writes every database to `path` as Redis does: to `temp-<pid>.rdb` in the
/// same directory, flushed and fsynced, then renamed over `path`, so a crash at
/// any moment leaves either the old file or the new one.
pub fn save_to(state: &State, path: &Path) -> std::io::Result<()> {
    save_to_reporting(state, path, false).map_err(|(_, e)| e)
}

/// `save_to` for an AOF base file (its `aof-base` aux field says so).
pub fn save_aof_base_to(state: &State, path: &Path) -> std::io::Result<()> {
    save_to_reporting(state, path, true).map_err(|(_, e)| e)
}

/// The step of a save that failed, which Redis's log line names.
enum SaveFailure {
    /// Creating the temporary file.
    Open,
    /// Writing (`rdbSaveRio`, `fflush`, `fsync`, `fsyncFileDir`).
    Write(&'static str),
    /// Renaming the temporary file over the final one.
    Rename,
}

fn save_to_reporting(
    state: &State,
    path: &Path,
    aof_base: bool,
) -> Result<(), (SaveFailure, std::io::Error)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let file = std::fs::File::create(&temp).map_err(|e| (SaveFailure::Open, e))?;
    let result = write_snapshot(state, file, aof_base)
        .map_err(|(op, e)| (SaveFailure::Write(op), e))
        .and_then(|_| std::fs::rename(&temp, path).map_err(|e| (SaveFailure::Rename, e)))
        .and_then(|_| {
            // Make the rename itself durable.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| (SaveFailure::Write("fsyncFileDir"), e))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes the snapshot into `file` and fsyncs it; on error, the step that
/// failed as Redis names it.
fn write_snapshot(
    state: &State,
    file: std::fs::File,
    aof_base: bool,
) -> Result<(), (&'static str, std::io::Error)> {
    let out = write_snapshot_data(state, file, aof_base).map_err(|e| ("rdbSaveRio", e))?;
    let file = out.into_inner().map_err(|e| ("fflush", e.into_error()))?;
    file.sync_all().map_err(|e| ("fsync", e))
}

fn write_snapshot_data(
    state: &State,
    file: std::fs::File,
    aof_base: bool,
) -> std::io::Result<BufWriter<std::fs::File>> {
    let mut writer = RdbWriter::with_options(
        BufWriter::with_capacity(1 << 16, file),
        writer_options(state),
    )?;
    let now_secs = state.now_ms / 1000;
    writer.write_aux_fields(&AuxInfo {
        redis_ver: redust_resp::REDIS_VERSION.to_string(),
        redis_bits: 64,
        ctime: now_secs,
        used_mem: state.used_memory(),
        repl: crate::replication::rdb_repl_info(state),
        aof_base,
    })?;
    for code in crate::scripting::library_codes(state) {
        writer.write_function(&code)?;
    }
    let lfu = crate::db_ops::MaxmemoryPolicyExt::is_lfu(&state.config.maxmemory_policy);
    let lru_policy =
        crate::db_ops::MaxmemoryPolicyExt::uses_clock(&state.config.maxmemory_policy) && !lfu;
    for (index, db) in state.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        writer.select_db(index as u64)?;
        writer.resize_db(db.len() as u64, db.expires_len() as u64)?;
        let mut failure = None;
        db.for_each(|key, entry| {
            if failure.is_some() || entry_is_empty(entry.value()) {
                return;
            }
            let meta = EntryMeta {
                compact: compact_encoding(entry.value()),
                expire_ms: db.expire_at(key),
                lru_idle: lru_policy
                    .then(|| redust_keyspace::lru::lru_idle_ms(entry.lru(), state.now_ms) / 1000),
                lfu_freq: lfu.then(|| {
                    redust_keyspace::lru::lfu_decayed_counter(
                        entry.lru(),
                        state.now_ms,
                        state.config.lfu_decay_time,
                    )
                }),
            };
            if let Err(e) = writer.write_entry(key, &value_to_rdb(entry.value()), &meta) {
                failure = Some(e);
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
    }
    writer.finish()
}

fn entry_is_empty(value: ValueRef) -> bool {
    match value {
        ValueRef::List(l) => l.is_empty(),
        ValueRef::Hash(h) => h.is_empty(),
        ValueRef::Set(s) => s.is_empty(),
        ValueRef::ZSet(z) => z.is_empty(),
        _ => false,
    }
}

/// What a load found.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    /// The replication history the file was saved with (`repl-id`,
    /// `repl-offset`, `repl-stream-db` aux fields), when it has one.
    pub repl: Option<ReplInfo>,
    /// The keys skipped because their time had passed (database, key): a
    /// master restarted with its history sends their DELs to the replicas
    /// that resume from it, as Redis 7.0 does.
    pub expired_skipped: Vec<(usize, Vec<u8>)>,
    /// The function libraries in the file, as their code.
    pub functions: Vec<Vec<u8>>,
}

/// Where the lines a load logs go (Redis logs them while it reads).
#[derive(Clone)]
pub struct LoadLog {
    host: Arc<dyn crate::state::Host>,
}

impl LoadLog {
    /// The node's own log.
    pub fn of(state: &State) -> LoadLog {
        LoadLog {
            host: state.host.clone(),
        }
    }

    /// Logs nothing.
    pub fn silent() -> LoadLog {
        LoadLog {
            host: Arc::new(crate::state::NoHost),
        }
    }

    fn warning(&self, line: &str) {
        self.host.log(crate::state::LogLevel::Warning, line);
    }

    fn notice(&self, line: &str) {
        self.host.log(crate::state::LogLevel::Notice, line);
    }
}

/// Where the RDB being read comes from, which decides how Redis reports a
/// corrupt one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdbSource {
    /// A file (the RDB at start-up or on DEBUG RELOAD, an AOF base): Redis
    /// logs the error, runs redis-check-rdb and exits.
    File,
    /// A replica's socket (diskless load): Redis adds `. Failure loading
    /// rdb format` (or, for a short read, `… from socket, assuming
    /// connection error, resuming operation.`) to the error line.
    Embedded,
}

/// A failed RDB load, after its log lines were written.
#[derive(Debug)]
pub struct RdbLoadError {
    /// One line naming the file, the offset and the problem (DEBUG
    /// RELOAD's reply, callers that do not log as Redis does).
    pub message: String,
    /// The reason for Redis's `Fatal error loading the DB: %s. Exiting.`
    /// (an errno text), when Redis writes that line; `None` when the lines
    /// already logged are all it writes before exiting.
    pub fatal: Option<String>,
    /// True when Redis exits right after the lines logged, with no line of
    /// the caller's (a corrupt file: Redis runs redis-check-rdb and exits).
    pub exits: bool,
}

impl std::fmt::Display for RdbLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Replaces the dataset with the file at `path`. Keys already expired are
/// skipped unless `keep_expired` (a replica, or an AOF's RDB preamble: as in
/// Redis, only a master loading an RDB drops them; the others wait for the
/// DEL that follows). Logs as Redis does (the AUX lines, `Done loading
/// RDB…`, or the error). On error nothing is changed.
pub fn load_from(
    state: &mut State,
    path: &Path,
    keep_expired: bool,
) -> Result<LoadStats, RdbLoadError> {
    load_from_source(state, path, keep_expired, RdbSource::File)
}

/// `load_from`, saying where the RDB comes from (an AOF base is `Embedded`).
pub fn load_from_source(
    state: &mut State,
    path: &Path,
    keep_expired: bool,
    source: RdbSource,
) -> Result<LoadStats, RdbLoadError> {
    let limits = crate::db_ops::encoding_limits(&state.config);
    let (dbs, stats) = read_rdb_logged(
        path,
        state.dbs.len(),
        &limits,
        state.config.rdbchecksum && !state.debug.skip_checksum_validation,
        state.now_ms,
        keep_expired,
        source,
        LoadLog::of(state),
    )?;
    install(state, dbs);
    crate::scripting::install_libraries(state, &stats.functions);
    Ok(stats)
}

/// Puts loaded databases in place of the current ones.
pub fn install(state: &mut State, dbs: Vec<redust_keyspace::Db>) {
    for (slot, new_db) in state.dbs.iter_mut().zip(dbs) {
        let delete_expired = slot.delete_expired;
        *slot = new_db;
        slot.delete_expired = delete_expired;
    }
}

/// Reads an RDB file into fresh databases, without touching the server
/// state (so start-up can load in the background while clients get
/// LOADING), logging as Redis does while it reads (`LoadLog::silent` for
/// none). With `keep_expired` (a replica loading its master's snapshot),
/// keys past their expiry time are loaded too: the master's DEL removes
/// them, as in Redis.
#[allow(clippy::too_many_arguments)]
pub fn read_rdb_logged(
    path: &Path,
    db_count: usize,
    limits: &EncodingLimits,
    verify_checksum: bool,
    now: i64,
    keep_expired: bool,
    source: RdbSource,
    log: LoadLog,
) -> Result<(Vec<redust_keyspace::Db>, LoadStats), RdbLoadError> {
    let file = std::fs::File::open(path).map_err(|e| RdbLoadError {
        message: format!("Can't open {}: {}", path.display(), e),
        fatal: Some(redust_config::values::strerror(&e)),
        exits: false,
    })?;
    let input = BufReader::with_capacity(1 << 16, file);
    let name = path.display().to_string();
    read_rdb_from_logged(
        input,
        &name,
        db_count,
        limits,
        verify_checksum,
        now,
        keep_expired,
        source,
        log,
    )
}

/// C's `strtol`/`strtoll` on an AUX value: leading blanks, a sign, digits.
fn c_atoi(text: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(text);
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add((b - b'0') as i64);
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Redis's `loading_loaded_bytes` when an error is found: it only advances
/// every `loading-process-events-interval-bytes` (2 MB by default).
fn loaded_bytes(offset: u64) -> u64 {
    const INTERVAL: u64 = 2 * 1024 * 1024;
    offset - offset % INTERVAL
}

/// Logs a decoding error as Redis 7.0 does and turns it into a load error.
fn report_rdb_error(
    e: &redust_persistence::RdbError,
    name: &str,
    source: RdbSource,
    log: &LoadLog,
) -> RdbLoadError {
    use redust_persistence::ErrorKind;
    let message = format!("Bad RDB file {}: {}", name, e);
    let kind = e.kind();
    match kind {
        ErrorKind::BadMagic | ErrorKind::UnsupportedVersion(_) => {
            log.warning(&kind.redis_reason());
            return RdbLoadError {
                message,
                fatal: Some("Invalid argument".into()),
                exits: false,
            };
        }
        ErrorKind::UnexpectedEof | ErrorKind::Io(_) => {
            log.warning("Short read or OOM loading DB. Unrecoverable error, aborting now.");
        }
        ErrorKind::ChecksumMismatch { computed, stored } => {
            log.warning(&format!(
                "Wrong RDB checksum expected: ({computed:x}) but got ({stored:x}). Aborting now."
            ));
        }
        _ => {}
    }
    let short_read = matches!(kind, ErrorKind::UnexpectedEof | ErrorKind::Io(_));
    // The line number is Redis's own source position, which we cannot know.
    let line = format!(
        "Internal error in RDB reading offset {}, function at rdb.c:0 -> {}",
        loaded_bytes(e.offset()),
        kind.redis_reason()
    );
    let exits = match source {
        RdbSource::File => {
            log.warning(&line);
            true
        }
        RdbSource::Embedded if short_read => {
            log.warning(&format!(
                "{line}. Failure loading rdb format from socket, assuming connection error, resuming operation."
            ));
            false
        }
        RdbSource::Embedded => {
            log.warning(&format!("{line}. Failure loading rdb format"));
            log.warning("Terminating server after rdb file reading failure.");
            true
        }
    };
    RdbLoadError {
        message,
        fatal: None,
        exits,
    }
}

/// The load itself: logs the AUX fields (`Loading RDB produced by version
/// …`), the empty keys skipped, the checksum state, `Done loading RDB, …`,
/// or the error, all as Redis 7.0 does.
#[allow(clippy::too_many_arguments)]
pub fn read_rdb_from_logged<R: std::io::Read>(
    input: R,
    name: &str,
    db_count: usize,
    limits: &EncodingLimits,
    verify_checksum: bool,
    now: i64,
    keep_expired: bool,
    source: RdbSource,
    log: LoadLog,
) -> Result<(Vec<redust_keyspace::Db>, LoadStats), RdbLoadError> {
    let mut reader = RdbReader::new(input)
        .map_err(|e| report_rdb_error(&e, name, source, &log))?
        .with_checksum_verification(verify_checksum);
    let limits = *limits;
    let mut dbs: Vec<redust_keyspace::Db> =
        (0..db_count).map(|_| redust_keyspace::Db::new()).collect();
    let mut stats = LoadStats::default();
    let mut db = 0usize;
    loop {
        let next = reader.next_event();
        for key in reader.take_skipped_keys() {
            log.warning(&format!(
                "rdbLoadObject skipping empty key: {}",
                String::from_utf8_lossy(&key)
            ));
        }
        let event = match next {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(e) => return Err(report_rdb_error(&e, name, source, &log)),
        };
        match event {
            RdbEvent::SelectDb(n) => {
                if n as usize >= dbs.len() {
                    log.warning(&format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                        dbs.len()
                    ));
                    return Err(RdbLoadError {
                        message: format!(
                            "Bad RDB file {}: database {} is out of range (databases is {})",
                            name,
                            n,
                            dbs.len()
                        ),
                        fatal: None,
                        exits: true,
                    });
                }
                db = n as usize;
            }
            RdbEvent::Entry(e) => {
                if !keep_expired && e.expire_ms.is_some_and(|at| at <= now) {
                    stats.keys_expired += 1;
                    stats.expired_skipped.push((db, e.key.to_vec()));
                    continue;
                }
                let lru =
                    redust_keyspace::lru::lru_clock(now - (e.lru_idle.unwrap_or(0) as i64) * 1000);
                let lru = match e.lfu_freq {
                    Some(f) => (redust_keyspace::lru::lfu_init(now) & !0xFF) | f as u32,
                    None => lru,
                };
                dbs[db].insert(Entry::new(&e.key, rdb_to_value(e.value, &limits), lru));
                if let Some(at) = e.expire_ms {
                    dbs[db].set_expire(&e.key, at);
                }
                stats.keys_loaded += 1;
            }
            RdbEvent::Function(code) => stats.functions.push(code),
            RdbEvent::End { checksum } => {
                if verify_checksum && checksum == Some(0) {
                    log.warning("RDB file was saved with checksum disabled: no check performed.");
                }
                break;
            }
            RdbEvent::Aux { key, value } => {
                let text = String::from_utf8_lossy(&value).into_owned();
                if key.first() == Some(&b'%') {
                    log.notice(&format!(
                        "RDB '{}': {}",
                        String::from_utf8_lossy(&key),
                        text
                    ));
                } else if key.eq_ignore_ascii_case(b"redis-ver") {
                    log.notice(&format!("Loading RDB produced by version {text}"));
                } else if key.eq_ignore_ascii_case(b"ctime") {
                    let age = (now / 1000).saturating_sub(c_atoi(&value)).max(0);
                    log.notice(&format!("RDB age {age} seconds"));
                } else if key.eq_ignore_ascii_case(b"used-mem") {
                    let used = c_atoi(&value);
                    log.notice(&format!(
                        "RDB memory usage when created {:.2} Mb",
                        used as f64 / (1024.0 * 1024.0)
                    ));
                } else if key.eq_ignore_ascii_case(b"aof-preamble") {
                    if c_atoi(&value) != 0 {
                        log.notice("RDB has an AOF tail");
                    }
                } else if key.eq_ignore_ascii_case(b"aof-base") && c_atoi(&value) != 0 {
                    log.notice("RDB is base AOF");
                }
                let repl = stats.repl.get_or_insert_with(|| ReplInfo {
                    stream_db: -1,
                    id: String::new(),
                    offset: -1,
                });
                match key.as_slice() {
                    b"repl-id" => repl.id = text,
                    b"repl-offset" => repl.offset = text.parse().unwrap_or(-1),
                    b"repl-stream-db" => repl.stream_db = text.parse().unwrap_or(-1),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let skipped = reader.empty_keys_skipped();
    if skipped > 0 {
        log.warning(&format!(
            "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
            stats.keys_loaded, stats.keys_expired, skipped
        ));
    } else {
        log.notice(&format!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            stats.keys_loaded, stats.keys_expired
        ));
    }
    // Only a complete history counts (Redis checks the same three fields).
    if stats
        .repl
        .as_ref()
        .is_some_and(|r| r.id.len() != 40 || r.offset < 0 || r.stream_db < 0)
    {
        stats.repl = None;
    }
    Ok((dbs, stats))
}

/// SAVE: a synchronous snapshot to `dir/dbfilename`, with the bookkeeping
/// INFO persistence and LASTSAVE show. Logs like Redis.
pub fn save(state: &mut State) -> std::io::Result<()> {
    let path = rdb_path(state);
    let result = save_to_reporting(state, &path, false);
    match &result {
        Ok(()) => {
            state.log_notice("DB saved on disk");
            state.dirty = 0;
            state.rdb.last_save_secs = state.now_ms / 1000;
            state.rdb.saves += 1;
            state.rdb.last_save_ok = true;
        }
        Err((failure, e)) => {
            let why = redust_config::values::strerror(e);
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "unknown".into());
            let temp = format!("temp-{}.rdb", std::process::id());
            state.log_warning(&match failure {
                SaveFailure::Open => format!(
                    "Failed opening the temp RDB file {temp} (in server root dir {cwd}) for saving: {why}"
                ),
                SaveFailure::Write(op) => {
                    format!("Write error saving DB on disk({op}): {why}")
                }
                SaveFailure::Rename => format!(
                    "Error moving temp DB file {temp} on the final destination {} (in server root dir {cwd}): {why}",
                    path.display()
                ),
            });
            state.rdb.last_save_ok = false;
        }
    }
    result.map_err(|(_, e)| e)
}

/// Bytes the snapshot sink produced and the saver has not written yet.
#[derive(Clone, Default)]
pub struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Takes what has accumulated.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Turns saved slots into RDB entries, or into commands for a commands-only
/// AOF base (the keyspace calls it under the state lock, from the background
/// saver or from a write about to change a slot).
pub struct RdbSnapshotSink {
    writer: Option<RdbWriter<SharedBuffer>>,
    /// Set for a commands-only AOF base: RESP goes here instead.
    commands: Option<SharedBuffer>,
    current_db: Option<usize>,
    now_ms: i64,
    lru: bool,
    lfu: bool,
    lfu_decay_time: u32,
    pub error: Option<std::io::Error>,
}

impl redust_keyspace::SnapshotSink for RdbSnapshotSink {
    fn save_slot(
        &mut self,
        db: usize,
        entries: &mut dyn Iterator<Item = (&[u8], &Entry, Option<i64>)>,
    ) {
        if let Some(buf) = self.commands.as_mut() {
            let mut out = Vec::new();
            if self.current_db != Some(db) {
                let select = [
                    bytes::Bytes::from_static(b"SELECT"),
                    bytes::Bytes::from(db.to_string()),
                ];
                redust_resp::encode_command(&mut out, &select);
                self.current_db = Some(db);
            }
            for (key, entry, expire_ms) in entries {
                if !entry_is_empty(entry.value()) {
                    crate::aof::rewrite_key(&mut out, key, entry.value(), expire_ms);
                }
            }
            if let Err(e) = buf.write_all(&out) {
                self.error = Some(e);
            }
            return;
        }
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let write = || -> std::io::Result<()> {
            if self.current_db != Some(db) {
                writer.select_db(db as u64)?;
                self.current_db = Some(db);
            }
            for (key, entry, expire_ms) in entries {
                if entry_is_empty(entry.value()) {
                    continue;
                }
                let meta = EntryMeta {
                    compact: compact_encoding(entry.value()),
                    expire_ms,
                    lru_idle: self.lru.then(|| {
                        redust_keyspace::lru::lru_idle_ms(entry.lru(), self.now_ms) / 1000
                    }),
                    lfu_freq: self.lfu.then(|| {
                        redust_keyspace::lru::lfu_decayed_counter(
                            entry.lru(),
                            self.now_ms,
                            self.lfu_decay_time,
                        )
                    }),
                };
                writer.write_entry(key, &value_to_rdb(entry.value()), &meta)?;
            }
            Ok(())
        };
        if let Err(e) = write() {
            self.error = Some(e);
        }
    }
}

/// What a background snapshot is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotPurpose {
    /// BGSAVE or a `save` rule: the RDB file.
    Rdb,
    /// BGREWRITEAOF: the new AOF base file with sequence `seq`.
    AofBase { seq: u64, base_name: String },
    /// A full sync streamed to replicas' sockets (`repl-diskless-sync yes`).
    ReplicaSockets,
}

/// A background save in progress (BGSAVE, BGREWRITEAOF).
pub struct BgSave {
    pub purpose: SnapshotPurpose,
    pub sink: std::sync::Arc<std::sync::Mutex<RdbSnapshotSink>>,
    pub buffer: SharedBuffer,
    pub temp_path: PathBuf,
    pub final_path: PathBuf,
    pub started_ms: i64,
    /// `dirty` when it began: what a successful save makes clean.
    pub dirty_at_start: u64,
    /// Replicas waiting for this snapshot (full sync), by client id.
    pub replicas: Vec<u64>,
}

/// Starts a background save: writes the header, marks every database's slots
/// as pending. The server's saver thread then drives `bgsave_step`.
pub fn bgsave_start(state: &mut State) -> std::io::Result<()> {
    let path = rdb_path(state);
    snapshot_start(state, SnapshotPurpose::Rdb, path)
}

/// Starts a background snapshot to `final_path` (see `bgsave_start`).
pub fn snapshot_start(
    state: &mut State,
    purpose: SnapshotPurpose,
    final_path: PathBuf,
) -> std::io::Result<()> {
    let buffer = SharedBuffer::default();
    // A commands-only AOF base (`aof-use-rdb-preamble no`) needs no RDB writer.
    let commands_only = matches!(&purpose, SnapshotPurpose::AofBase { base_name, .. } if base_name.ends_with(".aof"));
    let libraries = crate::scripting::library_codes(state);
    let writer = if commands_only {
        // Libraries first, as FUNCTION LOAD commands (Redis's rewrite).
        let mut out = Vec::new();
        for code in &libraries {
            redust_resp::encode_command(&mut out, &[&b"FUNCTION"[..], b"LOAD", code]);
        }
        buffer.clone().write_all(&out)?;
        None
    } else {
        let mut writer = RdbWriter::with_options(buffer.clone(), writer_options(state))?;
        writer.write_aux_fields(&AuxInfo {
            redis_ver: redust_resp::REDIS_VERSION.to_string(),
            redis_bits: 64,
            ctime: state.now_ms / 1000,
            used_mem: state.used_memory(),
            repl: crate::replication::rdb_repl_info(state),
            aof_base: matches!(purpose, SnapshotPurpose::AofBase { .. }),
        })?;
        for code in &libraries {
            writer.write_function(code)?;
        }
        Some(writer)
    };
    let lfu = crate::db_ops::MaxmemoryPolicyExt::is_lfu(&state.config.maxmemory_policy);
    let sink = std::sync::Arc::new(std::sync::Mutex::new(RdbSnapshotSink {
        writer,
        commands: commands_only.then(|| buffer.clone()),
        current_db: None,
        now_ms: state.now_ms,
        lru: crate::db_ops::MaxmemoryPolicyExt::uses_clock(&state.config.maxmemory_policy) && !lfu,
        lfu,
        lfu_decay_time: state.config.lfu_decay_time,
        error: None,
    }));
    let shared: redust_keyspace::SharedSnapshotSink = sink.clone();
    for (index, db) in state.dbs.iter_mut().enumerate() {
        db.begin_snapshot(index, shared.clone());
    }
    let dir = final_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    // Redis names the child's pid; the snapshot runs in our own process.
    let pid = std::process::id();
    let log = match purpose {
        SnapshotPurpose::Rdb => format!("Background saving started by pid {pid}"),
        SnapshotPurpose::AofBase { .. } => {
            format!("Background append only file rewriting started by pid {pid}")
        }
        SnapshotPurpose::ReplicaSockets => format!("Background RDB transfer started by pid {pid}"),
    };
    // The temporary file has the name Redis gives it (its AOF rewrite logs it).
    let temp_name = match purpose {
        SnapshotPurpose::AofBase { .. } => format!("temp-rewriteaof-bg-{pid}.aof"),
        _ => format!("temp-bg-{pid}.rdb"),
    };
    state.rdb.bgsave = Some(BgSave {
        purpose,
        sink,
        buffer,
        temp_path: dir.join(temp_name),
        final_path,
        started_ms: state.now_ms,
        dirty_at_start: state.dirty,
        replicas: Vec::new(),
    });
    state.log_notice(&log);
    Ok(())
}

/// What one step of the saver produced.
pub enum BgSaveStep {
    /// More to do; write these bytes.
    Continue(Vec<u8>),
    /// Done: write these final bytes, then sync and rename.
    Finished(Vec<u8>),
    Failed(std::io::Error),
}

/// Saves up to `max_slots` pending slots per database (under the lock) and
/// hands back the bytes produced so far, to be written without the lock.
pub fn bgsave_step(state: &mut State, max_slots: usize) -> Option<BgSaveStep> {
    let bg = state.rdb.bgsave.as_ref()?;
    // One database at a time, in order, `max_slots` slots per step.
    let mut all_done = true;
    for db in state.dbs.iter_mut() {
        if db.snapshot_pending() && !db.save_pending_slots(max_slots) {
            all_done = false;
            break;
        }
    }
    let mut sink = bg.sink.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = sink.error.take() {
        return Some(BgSaveStep::Failed(e));
    }
    if !all_done {
        return Some(BgSaveStep::Continue(bg.buffer.take()));
    }
    let finished = match sink.writer.take() {
        Some(w) => w.finish().map(|_| ()),
        None => Ok(()),
    };
    drop(sink);
    for db in state.dbs.iter_mut() {
        db.end_snapshot();
    }
    let bg = state.rdb.bgsave.as_ref()?;
    Some(match finished {
        Ok(()) => BgSaveStep::Finished(bg.buffer.take()),
        Err(e) => BgSaveStep::Failed(e),
    })
}

/// Abandons a background save (SHUTDOWN saves synchronously instead).
pub fn bgsave_abort(state: &mut State) {
    state.aof.off_rewrite = None;
    if let Some(bg) = state.rdb.bgsave.take() {
        for db in state.dbs.iter_mut() {
            db.end_snapshot();
        }
        // Redis kills its child without a line of its own here.
        let _ = std::fs::remove_file(&bg.temp_path);
    }
}

/// Records the end of a background save (the file is in place, or not).
pub fn bgsave_done(state: &mut State, result: std::io::Result<()>) {
    let Some(bg) = state.rdb.bgsave.take() else {
        return;
    };
    for db in state.dbs.iter_mut() {
        db.end_snapshot();
    }
    if bg.purpose == SnapshotPurpose::ReplicaSockets {
        crate::replication::diskless_sync_done(state, &bg.replicas, result.is_ok());
        return;
    }
    if !bg.replicas.is_empty() {
        crate::replication::disk_sync_done(state, &bg.replicas, &bg.final_path, result.is_ok());
    }
    if let SnapshotPurpose::AofBase { seq, base_name } = bg.purpose {
        let off_rewrite = state.aof.off_rewrite.take();
        let done = match (result, state.aof.file.as_mut(), off_rewrite) {
            (Ok(()), Some(aof), _) => aof.complete_rewrite(seq, base_name.clone()),
            (Ok(()), None, Some(off)) => off.complete(seq, base_name.clone()),
            // The AOF was turned off meanwhile (the rewrite is abandoned then).
            (Ok(()), None, None) => Err(std::io::Error::other("the AOF was turned off")),
            (Err(e), _, _) => Err(e),
        };
        match done {
            Ok(removed) => {
                state.log_notice("Background AOF rewrite terminated with success");
                let temp_name = bg
                    .temp_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                state.log_notice(&format!(
                    "Successfully renamed the temporary AOF base file {temp_name} into {base_name}"
                ));
                for name in removed {
                    state.log_notice(&format!(
                        "Removing the history file {name} in the background"
                    ));
                }
                state.log_notice("Background AOF rewrite finished successfully");
                state.aof.rewrites += 1;
                state.aof.last_rewrite_ok = true;
            }
            Err(_) => {
                let _ = std::fs::remove_file(&bg.temp_path);
                if let Some(aof) = state.aof.file.as_mut() {
                    aof.rewriting = None;
                }
                state.log_warning("Background AOF rewrite terminated with error");
                state.aof.last_rewrite_ok = false;
            }
        }
        return;
    }
    match result {
        Ok(()) => {
            state.log_notice("DB saved on disk");
            state.log_notice("Background saving terminated with success");
            state.dirty = state.dirty.saturating_sub(bg.dirty_at_start);
            state.rdb.last_save_secs = state.now_ms / 1000;
            state.rdb.saves += 1;
            state.rdb.last_save_ok = true;
            state.rdb.last_bgsave_secs = (state.now_ms - bg.started_ms) / 1000;
        }
        Err(_) => {
            let _ = std::fs::remove_file(&bg.temp_path);
            state.log_warning("Background saving error");
            state.rdb.last_save_ok = false;
            state.rdb.last_bgsave_failed_ms = state.now_ms;
        }
    }
}

/// Puts a start-up load's databases in place, with the history its RDB
/// recorded. A master also puts the DELs of the keys that expired while it
/// was down into the restored stream: its replicas still hold them and
/// resume after the recorded offset (Redis 7.0's RDBFLAGS_FEED_REPL).
pub fn install_loaded(state: &mut State, dbs: Vec<redust_keyspace::Db>, stats: LoadStats) {
    install(state, dbs);
    crate::scripting::install_libraries(state, &stats.functions);
    if let Some(info) = stats.repl.as_ref() {
        crate::replication::restore_history(state, info);
        if state.repl.master.is_none() {
            let lazy = state.config.lazyfree_lazy_expire;
            for (db, key) in &stats.expired_skipped {
                crate::propagate::propagate_deletion(state, *db, key, lazy);
            }
            crate::propagate::flush(state);
        }
    }
    state.rdb.last_load = LoadStats {
        expired_skipped: Vec::new(),
        functions: Vec::new(),
        ..stats
    };
    state.rdb.loading_in_background = false;
}
