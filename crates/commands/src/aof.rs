//! The append-only file, in Redis 7.0's multi-part layout.
//!
//! `appenddirname` holds a base file (an RDB snapshot when
//! `aof-use-rdb-preamble yes`, else RESP commands), incremental files of RESP
//! commands, and a manifest naming them:
//! `file appendonly.aof.1.base.rdb seq 1 type b` / `... seq 1 type i`.
//! Changes reach the AOF through propagation (`feed`), are written after each
//! batch (`write_pending`), and are fsynced per `appendfsync`: `always`
//! before the replies go out, `everysec` by the saver thread, `no` never.
//! BGREWRITEAOF opens the next incremental file at once (changes after the
//! snapshot point go there) and writes the new base with the snapshot
//! machinery; the manifest is replaced (temp, fsync, rename) when it ends.

use crate::propagate::Propagated;
use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One file named by the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub seq: u64,
    /// b: base, h: history, i: incremental.
    pub kind: char,
}

/// Redis's longest manifest line.
const MANIFEST_MAX_LINE: usize = 1024;

/// Parses a manifest as strictly as Redis 7.0 does; an error is Redis's
/// log line for it (the server exits after it). Comment lines are skipped;
/// a blank line, a missing key, an odd number of words, a path for a name,
/// a second base, incremental sequence numbers that do not increase or an
/// unknown type are refused.
pub fn parse_manifest(text: &str) -> Result<Vec<ManifestFile>, String> {
    const INVALID: &str = "Invalid AOF manifest file format";
    if text.is_empty() {
        return Err("Found an empty AOF manifest".into());
    }
    let mut files = Vec::new();
    let mut has_base = false;
    let mut max_incr_seq = 0u64;
    let mut rest = text;
    while !rest.is_empty() {
        let (raw, next, ended) = match rest.find('\n') {
            Some(at) => (&rest[..at], &rest[at + 1..], true),
            None => (rest, "", false),
        };
        rest = next;
        if raw.starts_with('#') {
            continue;
        }
        if !ended || raw.len() + 1 > MANIFEST_MAX_LINE {
            return Err("The AOF manifest file contains too long line".into());
        }
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        if line.is_empty() {
            return Err(INVALID.into());
        }
        let words = redust_resp::split_args(line.as_bytes()).ok_or_else(|| INVALID.to_string())?;
        if words.len() < 6 || words.len() % 2 != 0 {
            return Err(INVALID.into());
        }
        let (mut name, mut seq, mut kind) = (None, 0u64, None);
        for pair in words.chunks(2) {
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            match pair[0].to_ascii_lowercase().as_slice() {
                b"file" => {
                    if value.contains('/') {
                        return Err("File can't be a path, just a filename".into());
                    }
                    name = Some(value);
                }
                // atoll: leading digits, 0 for none.
                b"seq" => {
                    let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
                    seq = digits.parse().unwrap_or(0);
                }
                b"type" => kind = value.chars().next(),
                _ => {}
            }
        }
        let (Some(name), Some(kind)) = (name, kind) else {
            return Err(INVALID.into());
        };
        if seq == 0 {
            return Err(INVALID.into());
        }
        match kind {
            'b' if has_base => return Err("Found duplicate base file information".into()),
            'b' => has_base = true,
            'h' => {}
            'i' if seq <= max_incr_seq => {
                return Err("Found a non-monotonic sequence number".into())
            }
            'i' => max_incr_seq = seq,
            _ => return Err("Unknown AOF file type".into()),
        }
        files.push(ManifestFile { name, seq, kind });
    }
    Ok(files)
}

fn manifest_text(files: &[ManifestFile]) -> String {
    files
        .iter()
        .map(|f| format!("file {} seq {} type {}\n", f.name, f.seq, f.kind))
        .collect()
}

/// RESP for one command.
pub fn encode_command(out: &mut Vec<u8>, args: &[Bytes]) {
    // No allocation: this runs for every propagated write.
    let mut digits = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(digits.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(digits.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// An open AOF: where it lives, the incremental file being appended to, and
/// what is waiting to be written.
pub struct Aof {
    pub dir: PathBuf,
    pub filename: String,
    pub files: Vec<ManifestFile>,
    incr: File,
    pending: Vec<u8>,
    last_db: Option<usize>,
    /// The second of the last `#TS:` annotation (`aof-timestamp-enabled`).
    last_timestamp: i64,
    pub incr_bytes: u64,
    pub base_bytes: u64,
    /// A rewrite in progress: the sequence number its base will get.
    pub rewriting: Option<u64>,
}

impl Aof {
    fn manifest_path(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.filename))
    }

    fn open_incr(dir: &Path, name: &str) -> std::io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
    }

    /// Opens the AOF described by an existing manifest for appending.
    /// A manifest with only a base (BGREWRITEAOF with `appendonly no`) gets a
    /// new incremental file, as Redis creates one on start.
    pub fn open(
        dir: PathBuf,
        filename: String,
        mut files: Vec<ManifestFile>,
    ) -> std::io::Result<Aof> {
        let incr_name = match files.iter().filter(|f| f.kind == 'i').max_by_key(|f| f.seq) {
            Some(f) => f.name.clone(),
            None => {
                let name = format!("{filename}.1.incr.aof");
                File::create(dir.join(&name))?.sync_all()?;
                files.push(ManifestFile {
                    name: name.clone(),
                    seq: 1,
                    kind: 'i',
                });
                Self::write_manifest(&dir, &filename, &files)?;
                name
            }
        };
        let incr = Self::open_incr(&dir, &incr_name)?;
        let incr_bytes = incr.metadata().map_or(0, |m| m.len());
        let base_bytes = files
            .iter()
            .find(|f| f.kind == 'b')
            .and_then(|f| std::fs::metadata(dir.join(&f.name)).ok())
            .map_or(0, |m| m.len());
        Ok(Aof {
            dir,
            filename,
            files,
            incr,
            pending: Vec::new(),
            last_db: None,
            last_timestamp: 0,
            incr_bytes,
            base_bytes,
            rewriting: None,
        })
    }

    /// Writes `files` as the manifest: temp name, fsync, rename, fsync the directory.
    pub fn write_manifest(
        dir: &Path,
        filename: &str,
        files: &[ManifestFile],
    ) -> std::io::Result<()> {
        let path = dir.join(format!("{filename}.manifest"));
        let temp = dir.join(format!("temp-{filename}.manifest"));
        let mut f = File::create(&temp)?;
        f.write_all(manifest_text(files).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, &path)?;
        File::open(dir)?.sync_all()
    }

    /// Adds propagated commands to what must be written.
    /// Appends `commands` to what waits to be written; with `timestamp`
    /// (`aof-timestamp-enabled`, the Unix second now), a `#TS:<second>`
    /// annotation first when the second changed, as Redis writes it.
    pub fn feed(&mut self, commands: &[Propagated], timestamp: Option<i64>) {
        if let Some(now) = timestamp {
            if now > self.last_timestamp && commands.iter().any(|c| c.to_aof) {
                self.pending
                    .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
                self.last_timestamp = now;
            }
        }
        if commands.iter().all(|c| c.to_aof) {
            crate::propagate::encode_stream(&mut self.pending, &mut self.last_db, commands);
        } else {
            let kept: Vec<Propagated> = commands.iter().filter(|c| c.to_aof).cloned().collect();
            crate::propagate::encode_stream(&mut self.pending, &mut self.last_db, &kept);
        }
    }

    /// True if commands wait to be written.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Memory of the buffer of commands waiting to be written (INFO's
    /// `mem_aof_buffer`).
    pub fn buffer_bytes(&self) -> usize {
        self.pending.capacity()
    }

    /// Writes what is pending; with `fsync`, makes it durable before returning.
    pub fn write_pending(&mut self, fsync: bool) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.incr.write_all(&self.pending)?;
            self.incr_bytes += self.pending.len() as u64;
            self.pending.clear();
            if fsync {
                self.incr.sync_data()?;
            }
        }
        Ok(())
    }

    /// A second handle on the incremental file, for the background fsync.
    pub fn incr_handle(&self) -> std::io::Result<File> {
        self.incr.try_clone()
    }

    /// Starts a rewrite: the next incremental file takes every change from now
    /// on. Returns the new sequence number (the base will get it too).
    pub fn begin_rewrite(&mut self) -> std::io::Result<u64> {
        self.write_pending(true)?;
        let seq = self.files.iter().map(|f| f.seq).max().unwrap_or(0) + 1;
        let name = format!("{}.{}.incr.aof", self.filename, seq);
        self.incr = Self::open_incr(&self.dir, &name)?;
        self.incr_bytes = 0;
        self.last_db = None;
        self.files.push(ManifestFile {
            name,
            seq,
            kind: 'i',
        });
        // Record the new incremental file at once, so a crash during the rewrite loses nothing.
        Self::write_manifest(&self.dir, &self.filename, &self.files)?;
        self.rewriting = Some(seq);
        Ok(seq)
    }

    /// The base file name a rewrite with sequence `seq` produces.
    pub fn base_name(&self, seq: u64, rdb_preamble: bool) -> String {
        format!(
            "{}.{}.base.{}",
            self.filename,
            seq,
            if rdb_preamble { "rdb" } else { "aof" }
        )
    }

    /// Ends a rewrite whose base file `base_name` is in place: the manifest
    /// now names it and the incremental files since; older files are deleted.
    pub fn complete_rewrite(&mut self, seq: u64, base_name: String) -> std::io::Result<()> {
        let old: Vec<ManifestFile> = self
            .files
            .iter()
            .filter(|f| f.kind == 'b' || f.seq < seq)
            .cloned()
            .collect();
        let mut files = vec![ManifestFile {
            name: base_name.clone(),
            seq,
            kind: 'b',
        }];
        files.extend(
            self.files
                .iter()
                .filter(|f| f.kind == 'i' && f.seq >= seq)
                .cloned(),
        );
        Self::write_manifest(&self.dir, &self.filename, &files)?;
        for f in old {
            if f.name != base_name {
                let _ = std::fs::remove_file(self.dir.join(&f.name));
            }
        }
        self.base_bytes = std::fs::metadata(self.dir.join(&base_name)).map_or(0, |m| m.len());
        self.files = files;
        self.rewriting = None;
        Ok(())
    }

    pub fn manifest_exists(&self) -> bool {
        self.manifest_path().exists()
    }
}

/// Replays RESP commands from `data` through the executor as a loading
/// client. Returns the byte length of the whole commands replayed; an
/// incomplete last command is an error unless `allow_truncated`.
pub fn replay(
    state: &mut crate::state::State,
    data: &[u8],
    name: &str,
    allow_truncated: bool,
) -> Result<usize, String> {
    let mut buf = bytes::BytesMut::from(data);
    let (mut client, _rx) = state.connect(format!("aof:{name}"), String::new(), -1, state.now_ms);
    client.authenticated = true;
    let mut consumed = 0usize;
    let limits = redust_resp::ParseLimits {
        max_bulk_bytes: i64::MAX,
        authenticated: true,
    };
    let result = loop {
        // Annotations (`#TS:<second>` and the like) are lines to skip.
        if buf.first() == Some(&b'#') {
            match buf.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let _ = buf.split_to(end + 1);
                    consumed += end + 1;
                    continue;
                }
                None if allow_truncated => break Ok(consumed),
                None => {
                    break Err(format!(
                        "Unexpected end of file reading the append only file {name} at offset {consumed}"
                    ))
                }
            }
        }
        let before = buf.len();
        match redust_resp::parse_request(&mut buf, limits) {
            Ok(Some(req)) => {
                consumed += before - buf.len();
                if req.args.is_empty() {
                    continue;
                }
                let mut reply = redust_resp::Reply::new(false);
                crate::exec::execute(state, &mut client, &req.args, &mut reply);
                if reply.buf.first() == Some(&b'-') {
                    let text = String::from_utf8_lossy(&reply.buf).trim_end().to_string();
                    break Err(format!("Error replaying {name} at offset {consumed}: {text}"));
                }
            }
            Ok(None) if buf.is_empty() => break Ok(consumed),
            Ok(None) if allow_truncated => break Ok(consumed),
            Ok(None) => {
                break Err(format!(
                    "Unexpected end of file reading the append only file {name} at offset {consumed}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
                ))
            }
            Err(e) => break Err(format!("Bad file format reading the append only file {name} at offset {consumed}: {e}")),
        }
    };
    state.disconnect(&mut client);
    result
}

/// Loads the AOF named by the manifest in `dir`: the base (an RDB preamble
/// or commands), then each incremental file in order. A truncated tail of the
/// last file is cut off when `aof-load-truncated yes` (with a warning).
pub fn load(
    state: &mut crate::state::State,
    dir: &Path,
    filename: &str,
) -> Result<Vec<ManifestFile>, String> {
    let manifest_path = dir.join(format!("{filename}.manifest"));
    let text = std::fs::read_to_string(&manifest_path)
        .map_err(|_| "Read AOF manifest failed".to_string())?;
    let mut files = parse_manifest(&text)?;
    // History files are on their way out: only the base and the
    // incremental files make the dataset.
    files.retain(|f| f.kind != 'h');
    files.sort_by_key(|f| (f.kind != 'b', f.seq));
    state.loading = true;
    let last_incr = files.iter().rposition(|f| f.kind == 'i');
    let mut outcome = Ok(());
    for (i, f) in files.iter().enumerate() {
        let path = dir.join(&f.name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Redis finds it out first when it sizes the files.
                outcome = Err(format!(
                    "Unable to obtain the AOF file {} length. stat: No such file or directory",
                    f.name
                ));
                break;
            }
            Err(e) => {
                outcome = Err(format!(
                    "Fatal error: can't open the append log file {} for reading: {e}",
                    f.name
                ));
                break;
            }
        };
        if data.starts_with(b"REDIS") {
            if let Err(e) = crate::persist::load_from(state, &path, true) {
                outcome = Err(e);
                break;
            }
            continue;
        }
        let truncate_ok = state.config.aof_load_truncated && Some(i) == last_incr;
        match replay(state, &data, &f.name, truncate_ok) {
            Ok(good) if good < data.len() => {
                (state.log_warning)(&format!(
                    "!!! Warning: short read while loading the AOF file {}!!! AOF loaded anyway because aof-load-truncated is enabled; truncating it to {} bytes",
                    f.name, good
                ));
                let truncated = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|file| file.set_len(good as u64));
                if let Err(e) = truncated {
                    outcome = Err(format!(
                        "Error truncating the AOF file {}: {e}",
                        path.display()
                    ));
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    state.loading = false;
    state.propagated.clear();
    outcome.map(|_| files)
}

/// Creates a fresh AOF in `dir`: a base holding the current dataset (an RDB
/// preamble, or empty commands), an empty incremental file, the manifest.
pub fn create(
    state: &mut crate::state::State,
    dir: &Path,
    filename: &str,
) -> std::io::Result<Vec<ManifestFile>> {
    std::fs::create_dir_all(dir)?;
    let rdb_preamble = state.config.aof_use_rdb_preamble;
    let base = format!(
        "{}.1.base.{}",
        filename,
        if rdb_preamble { "rdb" } else { "aof" }
    );
    if rdb_preamble {
        crate::persist::save_to(state, &dir.join(&base))?;
    } else {
        File::create(dir.join(&base))?.sync_all()?;
    }
    let incr = format!("{filename}.1.incr.aof");
    File::create(dir.join(&incr))?.sync_all()?;
    let files = vec![
        ManifestFile {
            name: base,
            seq: 1,
            kind: 'b',
        },
        ManifestFile {
            name: incr,
            seq: 1,
            kind: 'i',
        },
    ];
    Aof::write_manifest(dir, filename, &files)?;
    Ok(files)
}

/// Starts an AOF rewrite: a new incremental file now, the new base from a
/// background snapshot. Errors are reply texts.
pub fn start_rewrite(state: &mut crate::state::State) -> Result<(), String> {
    let preamble = state.config.aof_use_rdb_preamble;
    let Some(aof) = state.aof.as_mut() else {
        return start_rewrite_aof_off(state, preamble);
    };
    if aof.rewriting.is_some() {
        return Err("ERR Background append only file rewriting already in progress".into());
    }
    let seq = aof.begin_rewrite().map_err(|e| format!("ERR {e}"))?;
    // An RDB snapshot with `aof-use-rdb-preamble yes`, commands otherwise.
    let base_name = aof.base_name(seq, preamble);
    let final_path = aof.dir.join(&base_name);
    let purpose = crate::persist::SnapshotPurpose::AofBase { seq, base_name };
    crate::persist::snapshot_start(state, purpose, final_path).map_err(|e| format!("ERR {e}"))
}

/// BGREWRITEAOF with `appendonly no`, as Redis 7.0 does it: a new base file
/// from a background snapshot, and (once it is in place) a manifest naming
/// only it, with no incremental file; the files the old manifest named go.
fn start_rewrite_aof_off(state: &mut crate::state::State, preamble: bool) -> Result<(), String> {
    let dir = PathBuf::from(&state.config.appenddirname);
    let filename = state.config.appendfilename.clone();
    std::fs::create_dir_all(&dir).map_err(|e| format!("ERR {e}"))?;
    let old_files = std::fs::read_to_string(dir.join(format!("{filename}.manifest")))
        .ok()
        .and_then(|t| parse_manifest(&t).ok())
        .unwrap_or_default();
    let seq = old_files
        .iter()
        .filter(|f| f.kind == 'b')
        .map(|f| f.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let base_name = format!(
        "{filename}.{seq}.base.{}",
        if preamble { "rdb" } else { "aof" }
    );
    let final_path = dir.join(&base_name);
    state.aof_off_rewrite = Some(OffRewrite {
        dir,
        filename,
        old_files,
    });
    let purpose = crate::persist::SnapshotPurpose::AofBase { seq, base_name };
    crate::persist::snapshot_start(state, purpose, final_path).map_err(|e| {
        state.aof_off_rewrite = None;
        format!("ERR {e}")
    })
}

/// A rewrite started while `appendonly` was off (see `start_rewrite_aof_off`).
#[derive(Debug)]
pub struct OffRewrite {
    pub dir: PathBuf,
    pub filename: String,
    /// The files the previous manifest named, deleted once the new one is written.
    pub old_files: Vec<ManifestFile>,
}

impl OffRewrite {
    /// The new base is in place: the manifest names only it.
    pub fn complete(self, seq: u64, base_name: String) -> std::io::Result<()> {
        let files = vec![ManifestFile {
            name: base_name.clone(),
            seq,
            kind: 'b',
        }];
        Aof::write_manifest(&self.dir, &self.filename, &files)?;
        for f in self.old_files.iter().filter(|f| f.name != base_name) {
            let _ = std::fs::remove_file(self.dir.join(&f.name));
        }
        Ok(())
    }
}

/// At most this many elements per command in a commands-only base, as Redis
/// does, so no single command gets huge.
const ITEMS_PER_COMMAND: usize = 64;

/// Appends the commands that recreate `key` (a commands-only AOF base, for
/// `aof-use-rdb-preamble no`): SET / RPUSH / SADD / HSET / ZADD in batches,
/// then PEXPIREAT for a TTL.
pub fn rewrite_key(
    out: &mut Vec<u8>,
    key: &[u8],
    value: redust_keyspace::ValueRef,
    expire_ms: Option<i64>,
) {
    use redust_keyspace::ValueRef as Value;
    let k = Bytes::copy_from_slice(key);
    let mut batched = |name: &'static [u8], items: Vec<Vec<Bytes>>| {
        for chunk in items.chunks(ITEMS_PER_COMMAND) {
            let mut args = vec![Bytes::from_static(name), k.clone()];
            args.extend(chunk.iter().flatten().cloned());
            encode_command(out, &args);
        }
    };
    match value {
        Value::List(l) => batched(
            b"RPUSH",
            l.iter().map(|e| vec![Bytes::copy_from_slice(&e)]).collect(),
        ),
        Value::Set(s) => batched(
            b"SADD",
            s.members()
                .iter()
                .map(|m| vec![Bytes::copy_from_slice(m)])
                .collect(),
        ),
        Value::Hash(h) => batched(
            b"HSET",
            h.iter()
                .map(|(f, v)| vec![Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)])
                .collect(),
        ),
        Value::ZSet(z) => batched(
            b"ZADD",
            z.iter()
                .map(|(m, s)| {
                    vec![
                        Bytes::from(redust_resp::format_double(s)),
                        Bytes::copy_from_slice(m),
                    ]
                })
                .collect(),
        ),
        v => {
            let bytes = v.string_bytes().map(|b| b.into_owned()).unwrap_or_default();
            encode_command(
                out,
                &[Bytes::from_static(b"SET"), k.clone(), Bytes::from(bytes)],
            );
        }
    }
    if let Some(at) = expire_ms {
        encode_command(
            out,
            &[
                Bytes::from_static(b"PEXPIREAT"),
                k,
                Bytes::from(at.to_string()),
            ],
        );
    }
}
