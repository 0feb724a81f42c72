//! Streaming RDB writer: [`RdbWriter`] writes a version 10 file item by
//! item (header, aux fields, functions, per database a selector and a
//! resize hint, then keys with their expire and LRU/LFU opcodes), keeping a
//! running CRC-64 so that [`RdbWriter::finish`] can close the file with the
//! EOF opcode and the checksum. Nothing is held back between calls, so a
//! snapshot can be streamed slot by slot. Every item is encoded into a
//! scratch buffer first and handed to the `Write` in one call.

use std::io::{self, Write};

use crate::crc64;
use crate::rdb::primitives::{put_len, put_string};
use crate::rdb::value::{choose_type, write_body, RdbValue};
use crate::rdb::{opcodes, RDB_VERSION};

/// How values are encoded; the defaults are Redis 7.0's.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// LZF-compress strings when it pays (`rdbcompression`).
    pub compression: bool,
    /// Write a real checksum; off writes 0 (`rdbchecksum`).
    pub checksum: bool,
    /// Hashes up to this many fields are written as listpacks.
    pub hash_max_listpack_entries: usize,
    /// ... if no field or value is longer than this.
    pub hash_max_listpack_value: usize,
    /// Sorted sets up to this many members are written as listpacks.
    pub zset_max_listpack_entries: usize,
    /// ... if no member is longer than this.
    pub zset_max_listpack_value: usize,
    /// Integer sets up to this many members are written as intsets.
    pub set_max_intset_entries: usize,
    /// Quicklist node size: negative for a byte limit (-1: 4 KiB ... -5:
    /// 64 KiB), positive for an element count.
    pub list_max_listpack_size: i64,
    /// List elements of at least this many bytes get plain nodes (Redis's
    /// `packed_threshold`, 1 GB unless `DEBUG QUICKLIST-PACKED-THRESHOLD`).
    pub list_packed_threshold: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression: true,
            checksum: true,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            list_max_listpack_size: -2,
            list_packed_threshold: 1 << 30,
        }
    }
}

/// Per-key metadata written before the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntryMeta {
    /// Absolute expire time in Unix milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (written under LRU policies).
    pub lru_idle: Option<u64>,
    /// LFU counter (written under LFU policies).
    pub lfu_freq: Option<u8>,
    /// The encoding the server holds a hash, set or sorted set in: compact
    /// (listpack, intset) or not; written so, as Redis writes the object as
    /// it is. `None`: as the options' limits say.
    pub compact: Option<bool>,
}

/// Replication fields of the aux section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplInfo {
    /// `repl-stream-db`: the database the replication stream had selected.
    pub stream_db: i64,
    /// `repl-id`: the replication id.
    pub id: String,
    /// `repl-offset`: the replication offset.
    pub offset: i64,
}

/// The aux fields Redis 7.0 writes at the start of every RDB file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuxInfo {
    /// `redis-ver`.
    pub redis_ver: String,
    /// `redis-bits`: 64 or 32.
    pub redis_bits: u32,
    /// `ctime`: creation time, Unix seconds.
    pub ctime: i64,
    /// `used-mem`: memory in use when saving.
    pub used_mem: u64,
    /// Replication fields, written when saving for replication or with a
    /// replication history.
    pub repl: Option<ReplInfo>,
    /// `aof-base`: whether this file is the base of an AOF.
    pub aof_base: bool,
}

impl Default for AuxInfo {
    fn default() -> Self {
        AuxInfo {
            redis_ver: redust_resp::REDIS_VERSION.into(),
            redis_bits: 64,
            ctime: 0,
            used_mem: 0,
            repl: None,
            aof_base: false,
        }
    }
}

/// Writes an RDB file incrementally.
pub struct RdbWriter<W: Write> {
    out: W,
    opts: WriterOptions,
    crc: u64,
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file with Redis 7.0's default options.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_options(out, WriterOptions::default())
    }

    /// Starts a file (writes the `REDIS0010` header).
    pub fn with_options(out: W, opts: WriterOptions) -> io::Result<Self> {
        let mut w = RdbWriter {
            out,
            opts,
            crc: 0,
            buf: Vec::with_capacity(4096),
            written: 0,
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        w.flush_item()?;
        Ok(w)
    }

    /// The options in use.
    pub fn options(&self) -> &WriterOptions {
        &self.opts
    }

    /// Bytes handed to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    fn flush_item(&mut self) -> io::Result<()> {
        if self.opts.checksum {
            self.crc = crc64::update(self.crc, &self.buf);
        }
        let r = self.out.write_all(&self.buf);
        self.written += self.buf.len() as u64;
        self.buf.clear();
        r
    }

    fn put_aux(&mut self, key: &[u8], value: &[u8]) {
        self.buf.push(opcodes::AUX);
        put_string(&mut self.buf, key, self.opts.compression);
        put_string(&mut self.buf, value, self.opts.compression);
    }

    /// One aux field.
    pub fn write_aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.put_aux(key, value);
        self.flush_item()
    }

    /// The aux fields Redis 7.0 writes, in its order.
    pub fn write_aux_fields(&mut self, info: &AuxInfo) -> io::Result<()> {
        self.put_aux(b"redis-ver", info.redis_ver.as_bytes());
        self.put_aux(b"redis-bits", info.redis_bits.to_string().as_bytes());
        self.put_aux(b"ctime", info.ctime.to_string().as_bytes());
        self.put_aux(b"used-mem", info.used_mem.to_string().as_bytes());
        if let Some(repl) = &info.repl {
            self.put_aux(b"repl-stream-db", repl.stream_db.to_string().as_bytes());
            self.put_aux(b"repl-id", repl.id.as_bytes());
            self.put_aux(b"repl-offset", repl.offset.to_string().as_bytes());
        }
        self.put_aux(b"aof-base", if info.aof_base { b"1" } else { b"0" });
        self.flush_item()
    }

    /// A function library, given as its source code (`#!lua name=...`).
    pub fn write_function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(opcodes::FUNCTION2);
        put_string(&mut self.buf, code, self.opts.compression);
        self.flush_item()
    }

    /// Switches to database `db` for the following keys.
    pub fn select_db(&mut self, db: u64) -> io::Result<()> {
        self.buf.push(opcodes::SELECTDB);
        put_len(&mut self.buf, db);
        self.flush_item()
    }

    /// The size hint for the current database.
    pub fn resize_db(&mut self, db_size: u64, expires_size: u64) -> io::Result<()> {
        self.buf.push(opcodes::RESIZEDB);
        put_len(&mut self.buf, db_size);
        put_len(&mut self.buf, expires_size);
        self.flush_item()
    }

    /// One key. Fails (writing nothing) for an empty collection or a NaN
    /// score, which Redis cannot load.
    pub fn write_entry(
        &mut self,
        key: &[u8],
        value: &RdbValue,
        meta: &EntryMeta,
    ) -> io::Result<()> {
        if let Some(ms) = meta.expire_ms {
            self.buf.push(opcodes::EXPIRETIME_MS);
            self.buf.extend_from_slice(&ms.to_le_bytes());
        }
        if let Some(idle) = meta.lru_idle {
            self.buf.push(opcodes::IDLE);
            put_len(&mut self.buf, idle);
        }
        if let Some(freq) = meta.lfu_freq {
            self.buf.push(opcodes::FREQ);
            self.buf.push(freq);
        }
        let t = choose_type(value, &self.opts, meta.compact);
        self.buf.push(t);
        put_string(&mut self.buf, key, self.opts.compression);
        if let Err(e) = write_body(&mut self.buf, value, t, &self.opts) {
            self.buf.clear();
            return Err(e);
        }
        self.flush_item()
    }

    /// Writes the EOF opcode and the checksum, flushes, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(opcodes::EOF);
        if self.opts.checksum {
            self.crc = crc64::update(self.crc, &self.buf);
        }
        let sum = if self.opts.checksum { self.crc } else { 0 };
        self.buf.extend_from_slice(&sum.to_le_bytes());
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.out.flush()?;
        Ok(self.out)
    }
}
