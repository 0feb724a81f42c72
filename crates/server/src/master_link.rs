//! Our link to a master, while we are a replica (REPLICAOF, `replicaof`).
//!
//! One supervisor task follows `State::repl.master`: for each attempt it
//! connects, runs Redis's handshake (PING, AUTH, REPLCONF listening-port and
//! capa, PSYNC), then either continues from its offset (`+CONTINUE`) or
//! receives a full snapshot (`+FULLRESYNC`, `$<len>` or `$EOF:<mark>`),
//! which is written to a temp file and loaded into fresh databases without
//! the lock, so clients keep reading the old data meanwhile; the swap is
//! one step under the lock. Then it applies the master's stream as the
//! master client, passes the same bytes on to our own replicas, and sends
//! `REPLCONF ACK <offset>` every second. A lost link is retried every second
//! with a partial resync.
//!
//! The log lines are Redis 7.0's, in its order. Redis reconnects at once
//! after a lost link or a failed transfer ("Reconnecting to MASTER …") and
//! from its once-a-second cron after a failed connect or handshake
//! ("Connecting to MASTER …"); we say the same, though every retry here
//! waits a second.

use crate::now_ms;
use crate::server::Server;
use crate::{notice, verbose, warning};
use bytes::BytesMut;
use redust_config::values::strerror;
use redust_engine::replication::{self, FullSync};
use redust_replication::handshake::{
    self, Failure, Handshake, Next, Settings, StreamTick, Transfer, TransferError,
};
use redust_replication::{LinkState, Logs};
use redust_resp::{decode_frame, Frame, FrameLimits};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bytes of the master's stream read at a time.
const STREAM_READ_BYTES: usize = 256 * 1024;

/// The generation of the master we should follow now, if any.
fn current_target(server: &Server) -> Option<(String, u16, u64)> {
    let state = server.state.lock();
    if state.rdb.loading_in_background {
        return None;
    }
    let m = state.repl.master.as_ref()?;
    Some((m.host.clone(), m.port, m.generation))
}

fn current_generation(server: &Server) -> Option<u64> {
    server
        .state
        .lock()
        .repl
        .master
        .as_ref()
        .map(|m| m.generation)
}

/// The supervisor: one link attempt at a time, stopped when the master changes.
pub async fn run(server: Arc<Server>) {
    // The master whose next attempt was announced with "Reconnecting to
    // MASTER …" (the attempt then logs no "Connecting to MASTER …").
    let mut reconnecting: Option<u64> = None;
    loop {
        let Some((host, port, generation)) = current_target(&server) else {
            tokio::select! {
                _ = server.signals.master_changed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            continue;
        };
        let again = reconnecting.take() == Some(generation);
        let mut link = tokio::spawn(link_once(server.clone(), host, port, generation, again));
        let mut announced = false;
        loop {
            tokio::select! {
                r = &mut link => {
                    announced = r.unwrap_or(false);
                    break;
                }
                _ = server.signals.master_changed.notified() => {
                    if current_generation(&server) != Some(generation) {
                        link.abort();
                        let _ = (&mut link).await;
                        break;
                    }
                }
            }
        }
        let lost = link_lost(&server, generation);
        if lost || announced {
            reconnecting = Some(generation);
        }
        // Redis reconnects at once after losing an established link (so
        // the backlog is less likely to have moved on), and otherwise
        // retries from its once-a-second cron.
        if lost {
            continue;
        }
        tokio::select! {
            _ = server.signals.master_changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Marks the link down (if it is still the current one) and drops the
/// master client. Returns whether it announced the next attempt.
fn link_lost(server: &Server, generation: u64) -> bool {
    let mut state = server.state.lock();
    state.now_ms = now_ms();
    replication::master_link_lost(&mut state, generation)
}

fn set_link_state(server: &Server, generation: u64, link: LinkState) -> bool {
    let mut state = server.state.lock();
    match state.repl.master.as_mut() {
        Some(m) if m.generation == generation => {
            m.state = link;
            true
        }
        _ => false,
    }
}

/// A connection to the master with its read buffer.
struct Conn {
    stream: TcpStream,
    rbuf: BytesMut,
    timeout: Duration,
}

impl Conn {
    async fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<()> {
        let mut out = Vec::new();
        redust_resp::encode_command(&mut out, args);
        self.stream.write_all(&out).await
    }

    async fn fill(&mut self) -> std::io::Result<usize> {
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.rbuf)).await {
            Ok(Ok(0)) => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed by the master",
            )),
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timeout reading from the master",
            )),
        }
    }

    /// One line without its `\r\n` (a bare `\n` keepalive gives "").
    async fn line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(pos) = self.rbuf.iter().position(|&c| c == b'\n') {
                let raw = self.rbuf.split_to(pos + 1);
                let text = String::from_utf8_lossy(&raw[..pos]);
                return Ok(text.trim_end_matches('\r').to_string());
            }
            if self.rbuf.len() > 64 * 1024 {
                return Err(std::io::Error::other("reply line too long"));
            }
            self.fill().await?;
        }
    }

    /// The next line that is not a keepalive newline (the transfer header,
    /// which is not RESP: no CRLF ends the payload after it).
    async fn header_line(&mut self) -> std::io::Result<String> {
        loop {
            let l = self.line().await?;
            if !l.is_empty() {
                return Ok(l);
            }
        }
    }

    /// The next reply, decoded, after any keepalive newlines. A reply that
    /// is not RESP fails as a read does.
    async fn reply(&mut self) -> std::io::Result<Frame> {
        loop {
            let keepalives = redust_resp::skip_keepalives(&self.rbuf);
            let _ = self.rbuf.split_to(keepalives);
            match decode_frame(&self.rbuf, &FrameLimits::default()) {
                Ok(Some((frame, used))) => {
                    let _ = self.rbuf.split_to(used);
                    return Ok(frame);
                }
                Ok(None) => {
                    self.fill().await?;
                }
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("Protocol error in reply: {e}"),
                    ))
                }
            }
        }
    }
}

/// Why an attempt ended (the handshake module's words and retry choice).
type LinkError = Failure;

/// Redis's `strerror(errno)` after a failed read: a closed connection sets
/// no errno, so it says "Success".
fn read_error(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "Success".to_string()
    } else {
        strerror(e)
    }
}

/// A handshake command could not be sent.
fn handshake_write_failed(e: std::io::Error) -> LinkError {
    handshake::write_failed(&strerror(&e))
}

/// Writes the log lines a replication decision returned.
fn write_logs(logs: Logs) {
    for (level, line) in logs {
        crate::log::at(level, &line);
    }
}

/// One attempt: connect, handshake, sync, stream until the link breaks.
/// Returns whether it announced the next attempt ("Reconnecting to
/// MASTER … after failure").
async fn link_once(
    server: Arc<Server>,
    host: String,
    port: u16,
    generation: u64,
    reconnecting: bool,
) -> bool {
    let Err(e) = link_inner(&server, &host, port, generation, reconnecting).await else {
        return false;
    };
    if !e.msg.is_empty() {
        warning!("{}", e.msg);
    }
    if e.retry != handshake::Retry::AfterFailure || current_generation(&server) != Some(generation)
    {
        return false;
    }
    notice!("Reconnecting to MASTER {host}:{port} after failure");
    if let Some(line) = e.then {
        notice!("{line}");
    }
    true
}

struct LinkSettings {
    handshake: Settings,
    timeout: Duration,
}

fn link_settings(server: &Server) -> LinkSettings {
    let state = server.state.lock();
    let cfg = &state.config;
    let psync_from = state
        .repl
        .psync_possible
        .then(|| (state.repl.replid.clone(), state.repl.offset as i64 + 1));
    LinkSettings {
        handshake: Settings {
            masterauth: cfg.masterauth.clone(),
            masteruser: cfg.masteruser.clone(),
            listening_port: if cfg.replica_announce_port > 0 {
                cfg.replica_announce_port
            } else {
                state.node.tcp_port
            },
            announce_ip: cfg.replica_announce_ip.clone(),
            psync_from,
            failover: replication::failover_psync(&state),
        },
        timeout: Duration::from_secs(cfg.repl_timeout.max(1) as u64),
    }
}

async fn link_inner(
    server: &Arc<Server>,
    host: &str,
    port: u16,
    generation: u64,
    reconnecting: bool,
) -> Result<(), LinkError> {
    {
        let mut state = server.state.lock();
        match state.repl.master.as_mut() {
            Some(m) if m.generation == generation => m.state = LinkState::Connecting,
            _ => return Ok(()),
        }
        // REPLICAOF logged these for its first attempt already.
        if !replication::take_link_announced(&mut state, generation) {
            if !reconnecting {
                notice!("Connecting to MASTER {host}:{port}");
            }
            notice!("MASTER <-> REPLICA sync started");
        }
    }
    let settings = link_settings(server);
    let connect = TcpStream::connect((host, port));
    let stream = match tokio::time::timeout(settings.timeout, connect).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(handshake::connect_failed(false, &strerror(&e))),
        Err(_) => return Err(handshake::connect_failed(true, "")),
    };
    let _ = stream.set_nodelay(true);
    notice!("Non blocking connect for SYNC fired the event.");
    set_link_state(server, generation, LinkState::Handshake);
    let mut conn = Conn {
        stream,
        rbuf: BytesMut::with_capacity(64 * 1024),
        timeout: settings.timeout,
    };
    // A partial resync asked: Redis holds a cached master until the full
    // sync replaces it.
    let cached = settings.handshake.psync_from.is_some();
    // No reply within `repl-timeout` during the handshake is Redis's
    // "Timeout connecting to the MASTER..." (its cron's check).
    let mut machine = Handshake::new(settings.handshake);
    let mut next = machine.start();
    loop {
        match next {
            Next::Send(cmd) => {
                conn.send(&cmd).await.map_err(handshake_write_failed)?;
                let mut logs = Logs::new();
                next = match conn.reply().await {
                    Ok(reply) => machine.on_reply(&reply, &mut logs),
                    Err(e) => {
                        let timed_out = e.kind() == std::io::ErrorKind::TimedOut;
                        let failure = machine.on_read_failed(timed_out, &read_error(&e), &mut logs);
                        Next::Failed(failure)
                    }
                };
                write_logs(logs);
            }
            Next::FullResync { replid, offset } => {
                full_sync(server, &mut conn, generation, &replid, offset, cached).await?;
                break;
            }
            Next::Continue { new_replid } => {
                let mut state = server.state.lock();
                replication::partial_resync_accepted(&mut state, new_replid.as_deref());
                break;
            }
            Next::Failed(failure) => return Err(failure),
        }
    }
    stream_from_master(server, conn, generation).await
}

/// Receives the snapshot after `+FULLRESYNC`, loads it and adopts the master's
/// history. `cached`: we had asked for a partial resync (Redis drops its
/// cached master here, with a line).
async fn full_sync(
    server: &Arc<Server>,
    conn: &mut Conn,
    generation: u64,
    replid: &str,
    offset: u64,
    cached: bool,
) -> Result<(), LinkError> {
    set_link_state(server, generation, LinkState::Transfer);
    // Newlines keep the link alive while the master prepares the snapshot.
    let header = conn.header_line().await.map_err(|e| {
        handshake::header_read_failed(e.kind() == std::io::ErrorKind::TimedOut, &read_error(&e))
    })?;
    let (size, mark) = match handshake::parse_transfer_header(&header)? {
        Transfer::Sized(n) => (n as i64, None),
        Transfer::UntilMark(mark) => (-1i64, Some(mark)),
    };
    let (dir, final_path, dbfilename, db_count, limits, verify, backlog, diskless_load, log) = {
        let mut state = server.state.lock();
        let now = now_ms();
        if let Some(m) = state.repl.master.as_mut() {
            m.transfer_size = size;
            m.transfer_read = 0;
            m.transfer_last_io_ms = now;
        }
        (
            state.config.dir.clone(),
            redust_engine::persist::rdb_path(&state),
            state.config.dbfilename.clone(),
            state.dbs.len(),
            redust_engine::db_ops::encoding_limits(&state.config),
            state.config.rdbchecksum && !state.debug.skip_checksum_validation,
            state.config.repl_backlog_size,
            state.config.repl_diskless_load != redust_config::ReplDisklessLoad::Disabled,
            redust_engine::persist::LoadLog::of(&state),
        )
    };
    let target = if diskless_load {
        "to parser"
    } else {
        "to disk"
    };
    if mark.is_some() {
        notice!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {target}");
    } else {
        notice!("MASTER <-> REPLICA sync: receiving {size} bytes from master {target}");
    }
    let temp = dir.join(format!(
        "temp-{}.{}.rdb",
        now_ms() / 1000,
        std::process::id()
    ));
    let now = now_ms();
    let swapdb = {
        let mut state = server.state.lock();
        let swapdb = state.config.repl_diskless_load == redust_config::ReplDisklessLoad::Swapdb;
        state.rdb.async_loading = swapdb;
        swapdb
    };
    // However the load ends, the flag goes with it.
    struct AsyncLoading<'a>(&'a Server, bool);
    impl Drop for AsyncLoading<'_> {
        fn drop(&mut self) {
            if self.1 {
                self.0.state.lock().rdb.async_loading = false;
            }
        }
    }
    let _async_loading = AsyncLoading(server, swapdb);
    let loaded = if diskless_load {
        // Parsed as it arrives, on a loader thread, never touching the disk.
        // Redis keeps the old data aside only for `swapdb`; otherwise it
        // drops it first.
        if !swapdb {
            if cached {
                notice!("Discarding previously cached master state.");
            }
            notice!("MASTER <-> REPLICA sync: Flushing old data");
        }
        notice!("MASTER <-> REPLICA sync: Loading DB in memory");
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
        let loader = tokio::task::spawn_blocking(move || {
            let input = ChannelReader {
                rx,
                chunk: Vec::new(),
                pos: 0,
            };
            redust_engine::persist::read_rdb_from_logged(
                std::io::BufReader::with_capacity(1 << 16, input),
                "(from the master's socket)",
                db_count,
                &limits,
                verify,
                now,
                true,
                redust_engine::persist::RdbSource::Embedded,
                log,
            )
            // Its lines are in the log already.
            .map_err(|_| String::new())
        });
        let mut sink = Sink::Channel(tx);
        let received = receive_payload(server, conn, &mut sink, size, mark.as_deref()).await;
        drop(sink);
        let loaded = loader
            .await
            .map_err(|_| "the loader failed".to_string())
            .and_then(|r| r);
        // A broken transfer shows as a failed load, as in Redis (which
        // parses straight from the socket).
        match (loaded, received) {
            (Ok(_), Err(e)) => return Err(e.into_link_error()),
            (loaded, _) => loaded,
        }
    } else {
        let mut sink = match std::fs::File::create(&temp) {
            Ok(f) => Sink::File(f),
            Err(e) => {
                return Err(format!(
                    "Opening the temp file needed for MASTER <-> REPLICA synchronization: {}",
                    strerror(&e)
                )
                .into())
            }
        };
        if let Err(e) = receive_payload(server, conn, &mut sink, size, mark.as_deref()).await {
            let _ = std::fs::remove_file(&temp);
            return Err(e.into_link_error());
        }
        if let Err(e) = sink.finish() {
            let _ = std::fs::remove_file(&temp);
            return Err(LinkError::after_failure(format!(
                "Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {}",
                strerror(&e)
            )));
        }
        if cached {
            notice!("Discarding previously cached master state.");
        }
        notice!("MASTER <-> REPLICA sync: Flushing old data");
        notice!("MASTER <-> REPLICA sync: Loading DB in memory");
        let path = temp.clone();
        tokio::task::spawn_blocking(move || {
            redust_engine::persist::read_rdb_logged(
                &path,
                db_count,
                &limits,
                verify,
                now,
                true,
                redust_engine::persist::RdbSource::File,
                log,
            )
            .map_err(|_| String::new())
        })
        .await
        .map_err(|_| "the loader failed".to_string())
        .and_then(|r| r)
    };
    let (dbs, stats) = match loaded {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            if !e.is_empty() {
                warning!("{e}");
            }
            return Err(handshake::load_failed(diskless_load, swapdb));
        }
    };
    {
        let mut state = server.state.lock();
        state.now_ms = now_ms();
        if state.repl.master.as_ref().map(|m| m.generation) != Some(generation) {
            let _ = std::fs::remove_file(&temp);
            return Ok(());
        }
        replication::install_full_sync(
            &mut state,
            dbs,
            stats,
            FullSync {
                replid,
                offset,
                backlog_size: backlog,
                cached,
                swapdb,
            },
        );
        // With `repl-diskless-load disabled` the received snapshot becomes
        // our RDB file, as in Redis; otherwise Redis never writes it.
        let keep_file = !diskless_load;
        let renamed = if !keep_file {
            Ok(())
        } else {
            std::fs::rename(&temp, &final_path).and_then(|_| {
                let d = final_path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                std::fs::File::open(d)?.sync_all()
            })
        };
        if let Err(e) = renamed {
            warning!(
                "Failed trying to rename the temp DB into {dbfilename} in MASTER <-> REPLICA synchronization: {}",
                strerror(&e)
            );
            let _ = std::fs::remove_file(&temp);
        }
    }
    notice!("MASTER <-> REPLICA sync: Finished with success");
    Ok(())
}

/// Where a received snapshot goes: a temp file, or the loader thread.
enum Sink {
    File(std::fs::File),
    Channel(tokio::sync::mpsc::Sender<Vec<u8>>),
}

impl Sink {
    async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        match self {
            Sink::File(f) => std::io::Write::write_all(f, data),
            Sink::Channel(tx) => tx
                .send(data.to_vec())
                .await
                .map_err(|_| std::io::Error::other("the loader stopped reading")),
        }
    }

    /// Makes a file durable before it is loaded and renamed.
    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.sync_all(),
            Sink::Channel(_) => Ok(()),
        }
    }
}

/// A blocking `Read` over the chunks the link task receives.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(c) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// How receiving the payload failed.
enum PayloadError {
    /// Reading from the master.
    Read(std::io::Error),
    /// Writing to the temp file (or the loader).
    Write(std::io::Error),
}

impl PayloadError {
    /// Redis's words; it reconnects at once.
    fn into_link_error(self) -> LinkError {
        let why = match &self {
            PayloadError::Read(e) | PayloadError::Write(e) => strerror(e),
        };
        handshake::transfer_failed(match self {
            PayloadError::Read(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                TransferError::ReadTimeout
            }
            PayloadError::Read(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                TransferError::Closed
            }
            PayloadError::Read(_) => TransferError::Read(&why),
            PayloadError::Write(_) => TransferError::Write(&why),
        })
    }
}

/// Passes the RDB payload to `sink`: `size` bytes, or up to the EOF `mark`.
async fn receive_payload(
    server: &Arc<Server>,
    conn: &mut Conn,
    file: &mut Sink,
    size: i64,
    mark: Option<&[u8]>,
) -> Result<(), PayloadError> {
    let mut read: u64 = 0;
    loop {
        let done = match mark {
            None => {
                let want = (size as u64 - read) as usize;
                let take = want.min(conn.rbuf.len());
                let piece = conn.rbuf.split_to(take);
                file.write_all(&piece).await.map_err(PayloadError::Write)?;
                read += take as u64;
                read == size as u64
            }
            Some(mark) => {
                // Hold back the last bytes: they may be the start of the mark.
                // What follows the mark (if anything) is the stream.
                if let Some(body) = conn.rbuf.windows(mark.len()).position(|w| w == mark) {
                    let piece = conn.rbuf.split_to(body);
                    file.write_all(&piece).await.map_err(PayloadError::Write)?;
                    read += body as u64;
                    let _ = conn.rbuf.split_to(mark.len());
                    true
                } else {
                    let safe = conn.rbuf.len().saturating_sub(mark.len());
                    let piece = conn.rbuf.split_to(safe);
                    file.write_all(&piece).await.map_err(PayloadError::Write)?;
                    read += safe as u64;
                    false
                }
            }
        };
        {
            let mut state = server.state.lock();
            let now = now_ms();
            if let Some(m) = state.repl.master.as_mut() {
                m.transfer_read = read;
                m.transfer_last_io_ms = now;
                m.last_io_ms = now;
            }
        }
        if done {
            break;
        }
        let n = conn.fill().await.map_err(PayloadError::Read)?;
        server
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Applies the master's stream until the link breaks.
async fn stream_from_master(
    server: &Arc<Server>,
    mut conn: Conn,
    generation: u64,
) -> Result<(), LinkError> {
    let addr = conn
        .stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let laddr = conn
        .stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let fd = {
        use std::os::fd::AsRawFd;
        conn.stream.as_raw_fd()
    };
    let (client_id, kill) = {
        let mut state = server.state.lock();
        state.now_ms = now_ms();
        match replication::master_link_up(&mut state, generation, addr, laddr, fd) {
            Some(up) => up,
            None => return Ok(()),
        }
    };
    let mut ack_timer = tokio::time::interval(Duration::from_secs(1));
    let timeout_ms = conn.timeout.as_millis() as i64;
    let mut last_io_ms = now_ms();
    // Bytes read and not yet recorded in `read_offset` (one lock per batch).
    let mut unrecorded = 0u64;
    loop {
        if !conn.rbuf.is_empty() {
            let read = std::mem::take(&mut unrecorded);
            let ack_now = apply_stream(server, &mut conn.rbuf, client_id, read)?;
            if let Some(offset) = ack_now {
                send_ack(&mut conn, offset).await.map_err(ack_failed)?;
            }
        }
        // Room for a large read: a full buffer would make `read_buf` read
        // a few bytes at a time, and the replica fall behind.
        if conn.rbuf.capacity() - conn.rbuf.len() < STREAM_READ_BYTES / 4 {
            conn.rbuf.reserve(STREAM_READ_BYTES);
        }
        tokio::select! {
            r = conn.stream.read_buf(&mut conn.rbuf) => {
                match r {
                    Ok(0) | Err(_) => return Err(LinkError::quiet()),
                    Ok(n) => {
                        last_io_ms = now_ms();
                        server.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        unrecorded += n as u64;
                    }
                }
            }
            _ = ack_timer.tick() => {
                if let StreamTick::TimedOut(failure) = handshake::stream_tick(now_ms(), last_io_ms, timeout_ms) {
                    return Err(failure);
                }
                let offset = server.state.lock().repl.offset;
                send_ack(&mut conn, offset).await.map_err(ack_failed)?;
            }
            _ = kill.notified() => return Err(LinkError::quiet()),
        }
    }
}

/// Writing to the master failed: the link is lost (`link_lost` says so).
fn ack_failed(e: std::io::Error) -> LinkError {
    verbose!("Error writing to client: {}", strerror(&e));
    LinkError::quiet()
}

async fn send_ack(conn: &mut Conn, offset: u64) -> std::io::Result<()> {
    let text = offset.to_string();
    conn.send(&[&b"REPLCONF"[..], b"ACK", text.as_bytes()])
        .await
}

/// Runs every whole command in `rbuf` as the master client (the engine's
/// `apply_master_stream`). Returns the offset to acknowledge now if the
/// master asked.
fn apply_stream(
    server: &Server,
    rbuf: &mut BytesMut,
    client_id: u64,
    read: u64,
) -> Result<Option<u64>, String> {
    let mut state = server.state.lock();
    state.now_ms = now_ms();
    replication::apply_master_stream(&mut state, rbuf, client_id, read)
}
