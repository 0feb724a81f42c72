//! A replica's connection, on the master side, once PSYNC has made it one.
//!
//! The task sends the full-sync snapshot when there is one (`+FULLRESYNC`,
//! then the RDB as `$<len>` from disk or `$EOF:<mark>` streamed), then the
//! replication stream from the replica's position in the shared buffer,
//! waking whenever the stream grows. A second task reads what the replica
//! sends: `REPLCONF ACK <offset>` once a second. Both end when the replica
//! goes away or is killed (CLIENT KILL, timeouts, output-buffer limits).

use crate::conn::write_or_killed as write;
use crate::now_ms;
use crate::server::Server;
use crate::{verbose, warning};
use bytes::BytesMut;
use redust_engine::replication::{self, SyncMsg};
use redust_engine::state::PushHandle;
use redust_replication::ReplicaState;
use redust_resp::{parse_request, ParseLimits};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Stream bytes taken from the buffer per write.
const STREAM_WRITE_BYTES: usize = 256 * 1024;

/// Serves replica `id` until its connection ends.
pub async fn serve(
    server: &Arc<Server>,
    stream: TcpStream,
    id: u64,
    rbuf: BytesMut,
    handle: &PushHandle,
) {
    let handoff = {
        let mut state = server.state.lock();
        state
            .clients
            .get_mut(&id)
            .and_then(|c| c.repl.handoff.take())
    };
    let Some(mut handoff) = handoff else {
        return;
    };
    let (reader, mut writer) = stream.into_split();
    let acked = Arc::new(tokio::sync::Notify::new());
    let acks = tokio::spawn(read_acks(
        server.clone(),
        reader,
        id,
        rbuf,
        handle.clone(),
        acked.clone(),
    ));
    let kill = handle.kill_notify.clone();
    let online = server
        .state
        .lock()
        .repl
        .replica(id)
        .is_some_and(|r| r.state == ReplicaState::Online);
    let ok = online
        || match send_snapshot(server, &mut writer, &mut handoff.sync, &kill).await {
            Sent::Failed => false,
            Sent::File => true,
            // After a streamed snapshot the replica can't tell the stream from
            // the payload's end until it has loaded: its first ACK says so.
            // (`diskless_sync_done` logged the transfer's success.)
            Sent::Socket => {
                tokio::select! {
                    _ = acked.notified() => {
                        let mut state = server.state.lock();
                        state.now_ms = now_ms();
                        replication::socket_replica_acked(&mut state, id);
                        true
                    }
                    _ = kill.notified() => false,
                }
            }
        };
    if ok {
        {
            let mut state = server.state.lock();
            let online_now = state
                .repl
                .replica(id)
                .is_some_and(|r| r.state == ReplicaState::Online);
            if !online_now {
                state.now_ms = now_ms();
                replication::replica_online(&mut state, id);
            }
        }
        send_stream(server, &mut writer, id, &handoff.stream, &kill).await;
    }
    acks.abort();
}

/// How a full sync's snapshot went.
enum Sent {
    Failed,
    /// From the RDB file, with its length.
    File,
    /// Streamed, with the EOF mark.
    Socket,
}

/// The full sync: waits for the snapshot to start (sending a newline every
/// second meanwhile, as Redis does, so the replica's timeout doesn't fire),
/// then sends it. Returns whether the replica now has it.
async fn send_snapshot(
    server: &Arc<Server>,
    writer: &mut OwnedWriteHalf,
    sync: &mut tokio::sync::mpsc::Receiver<SyncMsg>,
    kill: &tokio::sync::Notify,
) -> Sent {
    let mut mark: Option<String> = None;
    let mut sent = 0u64;
    loop {
        let msg = tokio::select! {
            m = sync.recv() => m,
            _ = kill.notified() => return Sent::Failed,
            _ = tokio::time::sleep(Duration::from_secs(1)), if mark.is_none() => {
                if !write(writer, b"\n", kill).await {
                    return Sent::Failed;
                }
                continue;
            }
        };
        let Some(msg) = msg else {
            return Sent::Failed;
        };
        match msg {
            SyncMsg::FullResync {
                replid,
                offset,
                eof_mark,
                announce,
            } => {
                let mut head = String::new();
                if announce {
                    head.push_str(&format!("+FULLRESYNC {replid} {offset}\r\n"));
                }
                if let Some(m) = &eof_mark {
                    head.push_str(&format!("$EOF:{m}\r\n"));
                }
                mark = eof_mark;
                if !write(writer, head.as_bytes(), kill).await {
                    return Sent::Failed;
                }
            }
            SyncMsg::Data(bytes) => {
                sent += bytes.len() as u64;
                if !write(writer, &bytes, kill).await {
                    return Sent::Failed;
                }
            }
            SyncMsg::End => {
                let Some(m) = mark.take() else {
                    return Sent::Failed;
                };
                if !write(writer, m.as_bytes(), kill).await {
                    return Sent::Failed;
                }
                server.net_output_bytes.fetch_add(sent, Ordering::Relaxed);
                return Sent::Socket;
            }
            SyncMsg::File(path) => {
                return if send_file(server, writer, &path, kill).await {
                    Sent::File
                } else {
                    Sent::Failed
                };
            }
            SyncMsg::Failed => return Sent::Failed,
        }
    }
}

/// Sends the RDB file at `path` as `$<len>\r\n<bytes>`.
async fn send_file(
    server: &Arc<Server>,
    writer: &mut OwnedWriteHalf,
    path: &std::path::Path,
    kill: &tokio::sync::Notify,
) -> bool {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => {
            warning!(
                "SYNC failed. Can't open/stat DB after BGSAVE: {}",
                redust_config::values::strerror(&e)
            );
            return false;
        }
    };
    let len = match file.metadata().await {
        Ok(m) => m.len(),
        Err(_) => return false,
    };
    if !write(writer, format!("${len}\r\n").as_bytes(), kill).await {
        return false;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = match file.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n.min(left as usize),
        };
        if !write(writer, &buf[..n], kill).await {
            return false;
        }
        left -= n as u64;
    }
    server.net_output_bytes.fetch_add(len, Ordering::Relaxed);
    true
}

/// Sends the stream from the replica's position, as it grows.
async fn send_stream(
    server: &Arc<Server>,
    writer: &mut OwnedWriteHalf,
    id: u64,
    wake: &tokio::sync::Notify,
    kill: &tokio::sync::Notify,
) {
    let mut buf = Vec::with_capacity(STREAM_WRITE_BYTES);
    loop {
        buf.clear();
        {
            let mut state = server.state.lock();
            let now = now_ms();
            if !replication::next_stream_chunk(&mut state, id, now, STREAM_WRITE_BYTES, &mut buf) {
                return;
            }
        }
        if buf.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = kill.notified() => return,
                _ = tokio::time::sleep(Duration::from_millis(1000)) => {}
            }
            continue;
        }
        if !write(writer, &buf, kill).await {
            return;
        }
        server
            .net_output_bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
    }
}

/// Reads what the replica sends (REPLCONF ACK); its end ends the connection.
async fn read_acks(
    server: Arc<Server>,
    mut reader: OwnedReadHalf,
    id: u64,
    mut rbuf: BytesMut,
    handle: PushHandle,
    acked: Arc<tokio::sync::Notify>,
) {
    loop {
        loop {
            match parse_request(&mut rbuf, ParseLimits::default()) {
                Ok(Some(req)) => {
                    let args = req.args;
                    let is_ack = args.len() >= 3
                        && args[0].eq_ignore_ascii_case(b"replconf")
                        && args[1].eq_ignore_ascii_case(b"ack");
                    if is_ack {
                        let offset = std::str::from_utf8(&args[2])
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok());
                        if let Some(offset) = offset {
                            let mut state = server.state.lock();
                            state.now_ms = now_ms();
                            replication::replica_acked(&mut state, id, offset);
                            acked.notify_one();
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let state = server.state.lock();
                    if let Some(c) = state.clients.get(&id) {
                        let info = redust_engine::client_info::client_info_line(&state, c);
                        let error = e.0.strip_prefix("Protocol error: ").unwrap_or(&e.0);
                        verbose!(
                            "Protocol error ({error}) from client: {info}. {}",
                            crate::conn::query_excerpt(&rbuf)
                        );
                    }
                    drop(state);
                    handle.kill();
                    return;
                }
            }
        }
        match reader.read_buf(&mut rbuf).await {
            Ok(0) | Err(_) => {
                handle.kill();
                return;
            }
            Ok(n) => {
                server
                    .net_input_bytes
                    .fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}
