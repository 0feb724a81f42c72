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
    parse_manifest_at(text).map_err(|(reason, _)| reason)
}

/// A manifest error: the reason, and the line (its number, and its text
/// trimmed) when the error is about one, as Redis logs them.
type ManifestError = (String, Option<(usize, String)>);

/// `parse_manifest`, saying at which line an error was found.
fn parse_manifest_at(text: &str) -> Result<Vec<ManifestFile>, ManifestError> {
    const INVALID: &str = "Invalid AOF manifest file format";
    if text.is_empty() {
        return Err(("Found an empty AOF manifest".into(), None));
    }
    let mut files = Vec::new();
    let mut has_base = false;
    let mut max_incr_seq = 0u64;
    let mut rest = text;
    let mut linenum = 0usize;
    while !rest.is_empty() {
        let (raw, next, ended) = match rest.find('\n') {
            Some(at) => (&rest[..at], &rest[at + 1..], true),
            None => (rest, "", false),
        };
        rest = next;
        linenum += 1;
        if raw.starts_with('#') {
            continue;
        }
        if !ended || raw.len() + 1 > MANIFEST_MAX_LINE {
            return Err(("The AOF manifest file contains too long line".into(), None));
        }
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        let at = |reason: &str| -> ManifestError {
            (reason.to_string(), Some((linenum, line.to_string())))
        };
        if line.is_empty() {
            return Err(at(INVALID));
        }
        let words = redust_resp::split_args(line.as_bytes()).ok_or_else(|| at(INVALID))?;
        if words.len() < 6 || words.len() % 2 != 0 {
            return Err(at(INVALID));
        }
        let (mut name, mut seq, mut kind) = (None, 0u64, None);
        for pair in words.chunks(2) {
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            match pair[0].to_ascii_lowercase().as_slice() {
                b"file" => {
                    if value.contains('/') {
                        return Err(at("File can't be a path, just a filename"));
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
            return Err(at(INVALID));
        };
        if seq == 0 {
            return Err(at(INVALID));
        }
        match kind {
            'b' if has_base => return Err(at("Found duplicate base file information")),
            'b' => has_base = true,
            'h' => {}
            'i' if seq <= max_incr_seq => return Err(at("Found a non-monotonic sequence number")),
            'i' => max_incr_seq = seq,
            _ => return Err(at("Unknown AOF file type")),
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
    /// Returns the names of the files deleted (Redis's history files).
    pub fn complete_rewrite(
        &mut self,
        seq: u64,
        base_name: String,
    ) -> std::io::Result<Vec<String>> {
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
        // Redis turns the incremental files into history first, then the base.
        let mut old = old;
        old.sort_by_key(|f| f.kind != 'i');
        let mut removed = Vec::new();
        for f in old {
            if f.name != base_name {
                let _ = std::fs::remove_file(self.dir.join(&f.name));
                removed.push(f.name);
            }
        }
        self.base_bytes = std::fs::metadata(self.dir.join(&base_name)).map_or(0, |m| m.len());
        self.files = files;
        self.rewriting = None;
        Ok(removed)
    }

    pub fn manifest_exists(&self) -> bool {
        self.manifest_path().exists()
    }
}

/// How a replay of one AOF file ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Replayed {
    /// Every command was read and run.
    Complete,
    /// The file ends inside a command (or inside a MULTI block): the bytes
    /// before `valid_up_to` hold whole commands.
    ShortRead { valid_up_to: usize },
    /// A fatal error, already logged.
    Failed,
}

/// A failed AOF load.
#[derive(Debug)]
pub struct AofLoadError {
    /// What went wrong, in Redis's words.
    pub message: String,
    /// True when the lines saying so were already logged.
    pub logged: bool,
}

impl std::fmt::Display for AofLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The line for the caller to log: empty when it was logged already.
impl From<AofLoadError> for String {
    fn from(e: AofLoadError) -> String {
        if e.logged {
            String::new()
        } else {
            e.message
        }
    }
}

impl AofLoadError {
    fn logged(message: String) -> AofLoadError {
        AofLoadError {
            message,
            logged: true,
        }
    }
}

/// The command's full lowercase name (`config|set`), or `None` when Redis's
/// command lookup finds nothing.
fn aof_command_name(table: &crate::exec::CommandTable, args: &[Bytes]) -> Option<String> {
    let top = table.lookup(&args[0])?;
    if top.subcommands.is_empty() || args.len() < 2 {
        return Some(top.name.clone());
    }
    let sub = args[1].to_ascii_lowercase();
    top.subcommands.get(&sub).map(|s| s.name.clone())
}

/// An error reply (its first line, without the `-`) as Redis's
/// `afterErrorReply` sees it: errors generated with the default `ERR`
/// code come without it; shared error objects and other codes keep
/// their leading `-`.
fn aof_error_text(line: &str) -> String {
    match line.strip_prefix("ERR ") {
        Some(rest) if !matches!(rest, "syntax error" | "no such key" | "index out of range") => {
            rest.to_string()
        }
        _ => format!("-{line}"),
    }
}

fn bad_format(name: &str) -> String {
    format!("Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
}

fn unexpected_eof(name: &str) -> String {
    format!("Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")
}

/// Replays RESP commands from `data` through the executor as the AOF
/// loading client, as Redis 7.0 does: an unknown command or a format error
/// is fatal (logged), a command that fails only logs its error.
pub fn replay(state: &mut crate::state::State, data: &[u8], name: &str) -> Replayed {
    let mut buf = bytes::BytesMut::from(data);
    let (mut client, _rx) = state.connect(format!("aof:{name}"), String::new(), -1, state.now_ms);
    client.authenticated = true;
    client.user = None;
    let mut consumed = 0usize;
    // The end of the last whole command, and where the open MULTI began.
    let mut valid_up_to = 0usize;
    let mut valid_before_multi = 0usize;
    let limits = redust_resp::ParseLimits {
        max_bulk_bytes: i64::MAX,
        authenticated: true,
    };
    let result = loop {
        match buf.first().copied() {
            None if client.multi.is_some() => {
                state.log_warning(&format!(
                    "Revert incomplete MULTI/EXEC transaction in AOF file {name}"
                ));
                break Replayed::ShortRead {
                    valid_up_to: valid_before_multi,
                };
            }
            None => break Replayed::Complete,
            // Annotations (`#TS:<second>` and the like) are lines to skip.
            Some(b'#') => {
                let end = buf
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(buf.len(), |end| end + 1);
                let _ = buf.split_to(end);
                consumed += end;
                continue;
            }
            Some(b'*') => {}
            Some(_) => {
                state.log_warning(&bad_format(name));
                break Replayed::Failed;
            }
        }
        let before = buf.len();
        match redust_resp::parse_request(&mut buf, limits) {
            Ok(Some(req)) => {
                let start = consumed;
                consumed += before - buf.len();
                if req.args.is_empty() {
                    state.log_warning(&bad_format(name));
                    break Replayed::Failed;
                }
                let Some(command) = aof_command_name(&state.commands, &req.args) else {
                    let arg0 = &req.args[0];
                    let arg0 = &arg0[..arg0.iter().position(|&b| b == 0).unwrap_or(arg0.len())];
                    state.log_warning(&format!(
                        "Unknown command '{}' reading the append only file {name}",
                        String::from_utf8_lossy(arg0)
                    ));
                    break Replayed::Failed;
                };
                if command == "multi" {
                    valid_before_multi = start;
                }
                let mut reply = redust_resp::Reply::new(false);
                crate::exec::execute(state, &mut client, &req.args, &mut reply);
                if reply.buf.first() == Some(&b'-') {
                    let text = String::from_utf8_lossy(&reply.buf[1..]).into_owned();
                    let line = text.split("\r\n").next().unwrap_or("");
                    state.log_warning(&format!(
                        "== CRITICAL == This server is sending an error to its AOF-loading-client: '{}' after processing the command '{}'",
                        aof_error_text(line),
                        command
                    ));
                }
                valid_up_to = consumed;
            }
            Ok(None) => break Replayed::ShortRead { valid_up_to },
            Err(_) => {
                state.log_warning(&bad_format(name));
                break Replayed::Failed;
            }
        }
    };
    state.disconnect(&mut client);
    result
}

/// Loads the AOF named by the manifest in `dir`: the base (an RDB preamble
/// or commands), then each incremental file in order, logging as Redis 7.0
/// does. A truncated tail is cut off when `aof-load-truncated yes` (with a
/// warning); only the last file may be truncated.
pub fn load(
    state: &mut crate::state::State,
    dir: &Path,
    filename: &str,
) -> Result<Vec<ManifestFile>, AofLoadError> {
    let not_logged = |message: String| AofLoadError {
        message,
        logged: false,
    };
    let manifest_path = dir.join(format!("{filename}.manifest"));
    // Redis's four records for a bad manifest, each ending with a newline.
    let manifest_error = |state: &crate::state::State, (reason, line): ManifestError| {
        state.log_warning("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
        if let Some((linenum, text)) = line {
            state.log_warning(&format!("Reading the manifest file, at line {linenum}\n"));
            state.log_warning(&format!(">>> '{text}'\n"));
        }
        state.log_warning(&format!("{reason}\n"));
        AofLoadError::logged(reason)
    };
    let text = match std::fs::read(&manifest_path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => {
            return Err(manifest_error(
                &*state,
                ("Read AOF manifest failed".to_string(), None),
            ))
        }
    };
    let mut files = parse_manifest_at(&text).map_err(|e| manifest_error(&*state, e))?;
    // History files are on their way out: only the base and the
    // incremental files make the dataset.
    files.retain(|f| f.kind != 'h');
    files.sort_by_key(|f| (f.kind != 'b', f.seq));
    // Redis sizes every file first: a missing one stops it before loading.
    let mut total_size = 0u64;
    for f in &files {
        match std::fs::metadata(dir.join(&f.name)) {
            Ok(m) => total_size += m.len(),
            Err(e) => {
                return Err(not_logged(format!(
                    "Unable to obtain the AOF file {} length. stat: {}",
                    f.name,
                    redust_config::values::strerror(&e)
                )))
            }
        }
    }
    if total_size == 0 {
        return Ok(files);
    }
    state.loading = true;
    let mut outcome = Ok(());
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = dir.join(&f.name);
        let started = std::time::Instant::now();
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) => {
                outcome = Err(not_logged(format!(
                    "Fatal error: can't open the append log file {} for reading: {}",
                    f.name,
                    redust_config::values::strerror(&e)
                )));
                break;
            }
        };
        if data.is_empty() {
            continue;
        }
        let mut truncated = false;
        if data.starts_with(b"REDIS") {
            // An AOF from before 7.0 names its single file like the AOF itself.
            let old_style = f.name == filename;
            state.log_notice(if old_style {
                "Reading RDB preamble from AOF file..."
            } else {
                "Reading RDB base file on AOF loading..."
            });
            if let Err(e) = crate::persist::load_from_source(
                state,
                &path,
                true,
                // Redis checks the base as it checks an RDB file (and exits).
                crate::persist::RdbSource::File,
            ) {
                if !e.exits {
                    state.log_warning(&if old_style {
                        format!(
                            "Error reading the RDB preamble of the AOF file {}, AOF loading aborted",
                            f.name
                        )
                    } else {
                        format!(
                            "Error reading the RDB base file {}, AOF loading aborted",
                            f.name
                        )
                    });
                }
                outcome = Err(AofLoadError::logged(e.message));
                break;
            }
        } else {
            match replay(state, &data, &f.name) {
                Replayed::Complete => {}
                Replayed::Failed => {
                    outcome = Err(AofLoadError::logged(format!(
                        "Error loading the append only file {}",
                        f.name
                    )));
                    break;
                }
                Replayed::ShortRead { valid_up_to } => {
                    let mut cut = false;
                    if state.config.aof_load_truncated {
                        state.log_warning(&format!(
                            "!!! Warning: short read while loading the AOF file {}!!!",
                            f.name
                        ));
                        state.log_warning(&format!(
                            "!!! Truncating the AOF {} at offset {} !!!",
                            f.name, valid_up_to
                        ));
                        let result = OpenOptions::new()
                            .write(true)
                            .open(&path)
                            .and_then(|file| file.set_len(valid_up_to as u64));
                        match result {
                            Ok(()) => {
                                state.log_warning(&format!(
                                    "AOF {} loaded anyway because aof-load-truncated is enabled",
                                    f.name
                                ));
                                cut = true;
                            }
                            Err(e) => state.log_warning(&format!(
                                "Error truncating the AOF file {}: {}",
                                f.name,
                                redust_config::values::strerror(&e)
                            )),
                        }
                    }
                    if !cut {
                        let line = unexpected_eof(&f.name);
                        state.log_warning(&line);
                        outcome = Err(AofLoadError::logged(line));
                        break;
                    }
                    truncated = true;
                }
            }
        }
        if !truncated || last {
            state.log_notice(&format!(
                "DB loaded from {} file {}: {:.3} seconds",
                if f.kind == 'b' { "base" } else { "incr" },
                f.name,
                started.elapsed().as_secs_f64()
            ));
        }
        if truncated && !last {
            let line = "Fatal error: the truncated file is not the last file";
            state.log_warning(line);
            outcome = Err(AofLoadError::logged(line.to_string()));
            break;
        }
    }
    state.loading = false;
    state.propagation.propagated.clear();
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
        crate::persist::save_aof_base_to(state, &dir.join(&base))?;
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
    let Some(aof) = state.aof.file.as_mut() else {
        return start_rewrite_aof_off(state, preamble);
    };
    if aof.rewriting.is_some() {
        return Err(crate::errors::AOF_REWRITE_IN_PROGRESS.into());
    }
    let seq = aof.begin_rewrite().map_err(|e| format!("ERR {e}"))?;
    let created = aof
        .files
        .last()
        .map(|incr| format!("Creating AOF incr file {} on background rewrite", incr.name));
    // An RDB snapshot with `aof-use-rdb-preamble yes`, commands otherwise.
    let base_name = aof.base_name(seq, preamble);
    let final_path = aof.dir.join(&base_name);
    if let Some(line) = created {
        state.log_notice(&line);
    }
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
    state.aof.off_rewrite = Some(OffRewrite {
        dir,
        filename,
        old_files,
    });
    let purpose = crate::persist::SnapshotPurpose::AofBase { seq, base_name };
    crate::persist::snapshot_start(state, purpose, final_path).map_err(|e| {
        state.aof.off_rewrite = None;
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
    /// The new base is in place: the manifest names only it. Returns the
    /// names of the files deleted (Redis's history files).
    pub fn complete(self, seq: u64, base_name: String) -> std::io::Result<Vec<String>> {
        let files = vec![ManifestFile {
            name: base_name.clone(),
            seq,
            kind: 'b',
        }];
        Aof::write_manifest(&self.dir, &self.filename, &files)?;
        let mut removed = Vec::new();
        let mut old: Vec<&ManifestFile> = self.old_files.iter().collect();
        old.sort_by_key(|f| f.kind != 'i');
        for f in old.into_iter().filter(|f| f.name != base_name) {
            let _ = std::fs::remove_file(self.dir.join(&f.name));
            removed.push(f.name.clone());
        }
        Ok(removed)
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
            redust_resp::encode_command(out, &args);
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
            redust_resp::encode_command(
                out,
                &[Bytes::from_static(b"SET"), k.clone(), Bytes::from(bytes)],
            );
        }
    }
    if let Some(at) = expire_ms {
        redust_resp::encode_command(
            out,
            &[
                Bytes::from_static(b"PEXPIREAT"),
                k,
                Bytes::from(at.to_string()),
            ],
        );
    }
}

/// Writes the batch's changes to the AOF before its replies go out; with
/// `appendfsync always` they are on disk before any client hears "OK".
pub fn write_after_batch(state: &mut crate::state::State) {
    let always = state.config.appendfsync == redust_config::AppendFsync::Always;
    if state.debug.aof_flush_sleep_us > 0
        && state.aof.file.as_ref().is_some_and(|a| a.has_pending())
    {
        std::thread::sleep(std::time::Duration::from_micros(
            state.debug.aof_flush_sleep_us,
        ));
    }
    let result = match state.aof.file.as_mut() {
        Some(aof) => aof.write_pending(always),
        None => return,
    };
    if let Err(e) = result {
        state.aof.last_write_ok = false;
        state.log_warning(&format!("Error writing to the AOF file: {e}"));
    } else {
        state.aof.last_write_ok = true;
    }
}

// ---- the AOF in a node's life: start-up, CONFIG SET appendonly, rewrites ----

/// How the AOF starts with `appendonly yes`.
pub enum Startup {
    /// A manifest exists: the caller replays it (`load`) into a state of its
    /// own on a loader thread, then calls `open_after_load`.
    Load { dir: PathBuf, filename: String },
    /// There was none: a new base and incremental file are open.
    Opened,
}

/// Start-up with `appendonly yes`. `Err`: the fatal line, after which the
/// server exits (as Redis does).
pub fn open_at_startup(state: &mut crate::state::State) -> Result<Startup, String> {
    let dir = PathBuf::from(&state.config.appenddirname);
    let filename = state.config.appendfilename.clone();
    if dir.join(format!("{filename}.manifest")).exists() {
        return Ok(Startup::Load { dir, filename });
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Err(format!(
            "Can't open or create append-only dir {}: {}",
            dir.display(),
            redust_config::values::strerror(&e)
        ));
    }
    let files = match create(state, &dir, &filename) {
        Ok(files) => {
            state.log_notice(&format!(
                "Creating AOF base file {} on server start",
                files[0].name
            ));
            state.log_notice(&format!(
                "Creating AOF incr file {} on server start",
                files[1].name
            ));
            files
        }
        Err(e) => {
            return Err(format!(
                "Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): {}",
                redust_config::values::strerror(&e)
            ))
        }
    };
    let incr_name = incr_file_name(&files, &filename);
    match Aof::open(dir, filename, files) {
        Ok(a) => {
            state.aof.file = Some(a);
            Ok(Startup::Opened)
        }
        Err(e) => Err(format!(
            "Can't open the append-only file {incr_name}: {}",
            redust_config::values::strerror(&e)
        )),
    }
}

/// The AOF a start-up load replayed opens for appending (with the files
/// its manifest names, a truncated tail included). `Err`: the fatal line.
pub fn open_after_load(
    state: &mut crate::state::State,
    dir: PathBuf,
    filename: String,
    files: Vec<ManifestFile>,
) -> Result<(), String> {
    let had_incr = files.iter().any(|f| f.kind == 'i');
    let incr_name = incr_file_name(&files, &filename);
    match Aof::open(dir, filename, files) {
        Ok(a) => {
            if had_incr {
                state.log_notice(&format!(
                    "Opening AOF incr file {incr_name} on server start"
                ));
            } else if let Some(f) = a.files.iter().find(|f| f.kind == 'i') {
                state.log_notice(&format!(
                    "Creating AOF incr file {} on server start",
                    f.name
                ));
            }
            state.aof.file = Some(a);
            Ok(())
        }
        Err(e) => Err(format!(
            "Can't open the append-only file {incr_name}: {}",
            redust_config::values::strerror(&e)
        )),
    }
}

/// The newest incremental file a manifest names (the one appended to).
fn incr_file_name(files: &[ManifestFile], filename: &str) -> String {
    files
        .iter()
        .filter(|f| f.kind == 'i')
        .max_by_key(|f| f.seq)
        .map_or_else(|| format!("{filename}.1.incr.aof"), |f| f.name.clone())
}

/// Stops a running AOF rewrite (its snapshot), with Redis's line.
pub fn stop_rewrite(state: &mut crate::state::State) {
    let rewriting =
        state.rdb.bgsave.as_ref().is_some_and(|bg| {
            matches!(bg.purpose, crate::persist::SnapshotPurpose::AofBase { .. })
        });
    if rewriting {
        state.log_notice(&format!(
            "Killing running AOF rewrite child: {}",
            std::process::id()
        ));
        crate::persist::bgsave_abort(state);
    }
}

/// CONFIG SET appendonly changed: on, a fresh AOF is written (Redis's
/// rewrite lines); off, what is pending is written and the file closed.
pub fn config_switched(state: &mut crate::state::State) {
    if state.config.appendonly && !state.aof.is_on() {
        stop_rewrite(state);
        let dir = PathBuf::from(&state.config.appenddirname);
        let filename = state.config.appendfilename.clone();
        // An older AOF lacks what changed while it was off: replace the files it names.
        let manifest = dir.join(format!("{filename}.manifest"));
        let mut history = Vec::new();
        if let Ok(files) = std::fs::read_to_string(&manifest).map(|t| parse_manifest(&t)) {
            for f in files.unwrap_or_default() {
                if std::fs::remove_file(dir.join(&f.name)).is_ok() {
                    history.push(f.name);
                }
            }
        }
        // Redis writes the base in a child while appends go to a temporary
        // incremental file; here the base is written at once. The lines are
        // Redis's, with our own pid.
        let pid = std::process::id();
        let temp_incr = format!("temp-{filename}.incr");
        match create(state, &dir, &filename).and_then(|files| Aof::open(dir, filename, files)) {
            Ok(a) => {
                state.log_notice(&format!(
                    "Creating AOF incr file {temp_incr} on background rewrite"
                ));
                state.log_notice(&format!(
                    "Background append only file rewriting started by pid {pid}"
                ));
                state.log_notice("Background AOF rewrite terminated with success");
                if let Some(base) = a.files.iter().find(|f| f.kind == 'b') {
                    state.log_notice(&format!(
                        "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-{pid}.aof into {}",
                        base.name
                    ));
                }
                if let Some(incr) = a.files.iter().find(|f| f.kind == 'i') {
                    state.log_notice(&format!(
                        "Successfully renamed the temporary AOF incr file {temp_incr} into {}",
                        incr.name
                    ));
                }
                for name in &history {
                    state.log_notice(&format!(
                        "Removing the history file {name} in the background"
                    ));
                }
                state.log_notice("Background AOF rewrite finished successfully");
                state.aof.file = Some(a);
            }
            Err(_) => {
                state.log_warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
            }
        }
    } else if !state.config.appendonly {
        if let Some(mut a) = state.aof.file.take() {
            stop_rewrite(state);
            let _ = a.write_pending(true);
        }
    }
}

/// Starts a rewrite if one was scheduled (BGREWRITEAOF during a BGSAVE, a
/// full sync) or the AOF grew past `auto-aof-rewrite-percentage` of its
/// base and `auto-aof-rewrite-min-size`.
pub fn rewrite_if_due(state: &mut crate::state::State) {
    let Some(aof) = state.aof.file.as_ref() else {
        return;
    };
    if aof.rewriting.is_some() {
        return;
    }
    let pct = state.config.auto_aof_rewrite_percentage as u64;
    let size = aof.base_bytes + aof.incr_bytes;
    let base = aof.base_bytes.max(1);
    let growth = (size - base.min(size)) * 100 / base;
    let auto = pct > 0 && size >= state.config.auto_aof_rewrite_min_size && growth >= pct;
    if std::mem::take(&mut state.aof.rewrite_scheduled) || auto {
        if auto {
            state.log_notice(&format!(
                "Starting automatic rewriting of AOF on {growth}% growth"
            ));
        }
        if let Err(e) = start_rewrite(state) {
            state.log_warning(&format!(
                "Can't rewrite append only file in background: fork: {}",
                e.strip_prefix("ERR ").unwrap_or(&e)
            ));
        }
    }
}
