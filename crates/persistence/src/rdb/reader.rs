//! Streaming RDB reader: [`RdbReader`] turns any `Read` into a sequence of
//! [`RdbEvent`]s (aux fields, database switches, resize hints, keys with
//! their expire time and LRU/LFU data, function libraries, end of file),
//! holding only one value in memory at a time. The running CRC-64 is
//! compared with the stored one at the end. [`verify_checksum`] checks a
//! file's checksum without decoding it.

use std::io::Read;

use crate::crc64;
use crate::rdb::error::{ErrorKind, RdbError};
use crate::rdb::primitives::Input;
use crate::rdb::value::{module_type_name, read_value, RdbValue};
use crate::rdb::{opcodes, types, RDB_VERSION};

/// One key read from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: RdbValue,
    /// Absolute expire time in Unix milliseconds, if the key is volatile.
    pub expire_ms: Option<i64>,
    /// Seconds since last access, when saved under an LRU policy.
    pub lru_idle: Option<u64>,
    /// The LFU logarithmic counter, when saved under an LFU policy.
    pub lfu_freq: Option<u8>,
}

/// One item of an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbEvent {
    /// An auxiliary field (`redis-ver`, `ctime`, `repl-id`, ...).
    Aux {
        /// Field name.
        key: Vec<u8>,
        /// Field value.
        value: Vec<u8>,
    },
    /// The following keys belong to this database.
    SelectDb(u64),
    /// Size hint for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expire time.
        expires_size: u64,
    },
    /// A key and its value.
    Entry(Entry),
    /// A function library, as its source code.
    Function(Vec<u8>),
    /// End of the file; the stored checksum (`None` when the file predates
    /// checksums, `Some(0)` when it was written with checksums off).
    End {
        /// The stored checksum.
        checksum: Option<u64>,
    },
}

/// Reads an RDB file item by item.
pub struct RdbReader<R> {
    inp: Input<R>,
    version: u32,
    verify: bool,
    done: bool,
    empty_keys_skipped: u64,
    /// The first few empty keys skipped, not yet taken by the caller.
    skipped_keys: Vec<Vec<u8>>,
}

impl<R: Read> RdbReader<R> {
    /// Reads and checks the header (`REDIS` and a version from 1 to 10).
    pub fn new(reader: R) -> Result<Self, RdbError> {
        let mut inp = Input::new(reader);
        let magic: [u8; 9] = inp.read_array()?;
        if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
            return Err(RdbError::new(0, ErrorKind::BadMagic));
        }
        let version = magic[5..]
            .iter()
            .fold(0u32, |v, d| v * 10 + (d - b'0') as u32);
        if version == 0 || version > RDB_VERSION {
            return Err(RdbError::new(5, ErrorKind::UnsupportedVersion(version)));
        }
        Ok(RdbReader {
            inp,
            version,
            verify: true,
            done: false,
            empty_keys_skipped: 0,
            skipped_keys: Vec::new(),
        })
    }

    /// Turns checksum verification off or on (on by default), as Redis's
    /// `rdbchecksum` does for loading.
    pub fn with_checksum_verification(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// The file's RDB version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Offset of the next byte to be read.
    pub fn offset(&self) -> u64 {
        self.inp.offset()
    }

    /// Empty collections met so far (Redis skips such keys, and so do we).
    pub fn empty_keys_skipped(&self) -> u64 {
        self.empty_keys_skipped
    }

    /// The names of empty keys skipped since the last call (only the first
    /// 10 of the file are kept, as Redis logs only those).
    pub fn take_skipped_keys(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.skipped_keys)
    }

    /// The next item, or `None` after [`RdbEvent::End`] or an error.
    pub fn next_event(&mut self) -> Result<Option<RdbEvent>, RdbError> {
        let r = self.next_inner();
        if r.is_err() {
            self.done = true;
        }
        r
    }

    fn next_inner(&mut self) -> Result<Option<RdbEvent>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let inp = &mut self.inp;
        let mut expire_ms = None;
        let mut lru_idle = None;
        let mut lfu_freq = None;
        loop {
            let at = inp.offset();
            let op = inp.read_u8()?;
            match op {
                opcodes::EXPIRETIME_MS => expire_ms = Some(i64::from_le_bytes(inp.read_array()?)),
                opcodes::EXPIRETIME => {
                    expire_ms = Some(i32::from_le_bytes(inp.read_array()?) as i64 * 1000);
                }
                opcodes::FREQ => lfu_freq = Some(inp.read_u8()?),
                opcodes::IDLE => lru_idle = Some(inp.read_length()?),
                opcodes::EOF => {
                    self.done = true;
                    if self.version < 5 {
                        return Ok(Some(RdbEvent::End { checksum: None }));
                    }
                    let computed = inp.crc();
                    let sum_at = inp.offset();
                    let stored = u64::from_le_bytes(inp.read_array()?);
                    if self.verify && stored != 0 && stored != computed {
                        return Err(RdbError::new(
                            sum_at,
                            ErrorKind::ChecksumMismatch { computed, stored },
                        ));
                    }
                    return Ok(Some(RdbEvent::End {
                        checksum: Some(stored),
                    }));
                }
                opcodes::SELECTDB => return Ok(Some(RdbEvent::SelectDb(inp.read_length()?))),
                opcodes::RESIZEDB => {
                    let db_size = inp.read_length()?;
                    let expires_size = inp.read_length()?;
                    return Ok(Some(RdbEvent::ResizeDb {
                        db_size,
                        expires_size,
                    }));
                }
                opcodes::AUX => {
                    let key = inp.read_string()?;
                    let value = inp.read_string()?;
                    return Ok(Some(RdbEvent::Aux { key, value }));
                }
                opcodes::MODULE_AUX => {
                    let id = inp.read_length()?;
                    return Err(RdbError::new(
                        at,
                        ErrorKind::ModuleNotSupported(module_type_name(id)),
                    ));
                }
                opcodes::FUNCTION_PRE_GA => {
                    return Err(RdbError::corrupt(
                        at,
                        "pre-release function format not supported",
                    ));
                }
                opcodes::FUNCTION2 => return Ok(Some(RdbEvent::Function(inp.read_string()?))),
                t if t <= types::STREAM_LISTPACKS_2 && t != 8 => {
                    let key = inp.read_string()?;
                    match read_value(inp, t, at)? {
                        Some(value) => {
                            return Ok(Some(RdbEvent::Entry(Entry {
                                key,
                                value,
                                expire_ms,
                                lru_idle,
                                lfu_freq,
                            })));
                        }
                        None => {
                            if self.empty_keys_skipped < 10 {
                                self.skipped_keys.push(key);
                            }
                            self.empty_keys_skipped += 1;
                            expire_ms = None;
                            lru_idle = None;
                            lfu_freq = None;
                        }
                    }
                }
                t => return Err(RdbError::new(at, ErrorKind::UnknownType(t))),
            }
        }
    }

    /// Reads to the end, checking everything, and returns the events.
    pub fn read_all(mut self) -> Result<Vec<RdbEvent>, RdbError> {
        let mut out = Vec::new();
        while let Some(e) = self.next_event()? {
            out.push(e);
        }
        Ok(out)
    }
}

impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<RdbEvent, RdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// What [`verify_checksum`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The stored checksum matches the data.
    Valid(u64),
    /// The file was written with checksums off (stored value 0).
    Disabled,
}

/// Checks the checksum of a whole RDB file without decoding its values:
/// streams the bytes through CRC-64 and compares the last 8 bytes with the
/// checksum of everything before them, which must end with the EOF opcode.
/// (The full reader also checks the checksum; this is the fast path.)
pub fn verify_checksum<R: Read>(mut reader: R) -> Result<ChecksumStatus, RdbError> {
    let mut crc = 0u64;
    // The last 9 bytes stay out of the CRC until we know they are the tail.
    let mut pending: Vec<u8> = Vec::with_capacity(9 + 65536);
    let mut chunk = vec![0u8; 65536];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(RdbError::new(total, ErrorKind::Io(e))),
        };
        if total < 9 {
            let head = &chunk[..n.min(9 - total as usize)];
            let magic_at = total as usize;
            for (i, &b) in head.iter().enumerate() {
                let ok = if magic_at + i < 5 {
                    b == b"REDIS"[magic_at + i]
                } else {
                    b.is_ascii_digit()
                };
                if !ok {
                    return Err(RdbError::new(0, ErrorKind::BadMagic));
                }
            }
        }
        total += n as u64;
        pending.extend_from_slice(&chunk[..n]);
        if pending.len() > 9 {
            let keep = pending.len() - 9;
            crc = crc64::update(crc, &pending[..keep]);
            pending.drain(..keep);
        }
    }
    if total < 18 {
        return Err(RdbError::new(total, ErrorKind::UnexpectedEof));
    }
    if pending[0] != opcodes::EOF {
        return Err(RdbError::corrupt(
            total - 9,
            "file does not end with the EOF opcode and a checksum",
        ));
    }
    crc = crc64::update(crc, &pending[..1]);
    let stored = u64::from_le_bytes([
        pending[1], pending[2], pending[3], pending[4], pending[5], pending[6], pending[7],
        pending[8],
    ]);
    if stored == 0 {
        Ok(ChecksumStatus::Disabled)
    } else if stored != crc {
        Err(RdbError::new(
            total - 8,
            ErrorKind::ChecksumMismatch {
                computed: crc,
                stored,
            },
        ))
    } else {
        Ok(ChecksumStatus::Valid(crc))
    }
}
