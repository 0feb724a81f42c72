//! One client connection: read, parse, execute, write.
//!
//! The task reads whatever bytes are available, parses every whole request in
//! them, takes the state lock once for the batch, runs the requests in order
//! and writes all replies with one write. Messages pushed by other clients
//! (pub/sub, MONITOR) and orders (CLIENT KILL) arrive on the client's push
//! channel and are written between batches. A request that must wait (CLIENT
//! PAUSE) keeps its place and the rest of the batch behind it.

use crate::now_ms;
use crate::server::Server;
use crate::{verbose, warning};
use bytes::{Bytes, BytesMut};
use redust_engine::exec::Flow;
use redust_engine::state::{input, Push, PushHandle};
use redust_engine::Client;
use redust_resp::{parse_request, ParseLimits, Reply};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const READ_CHUNK: usize = 16 * 1024;
/// Output buffer room kept between batches.
const OUT_KEEP_BYTES: usize = 4 * READ_CHUNK;
/// How far one read event may keep reading while the buffer comes back full.
const GREEDY_READ_BYTES: usize = 4 * READ_CHUNK;

/// Redis's reply to a non-local client in protected mode (clients and tools match on it).
const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Like Redis, only 127.0.0.1 and ::1 count as local (not all of 127/8).
fn is_local(addr: &std::net::SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    }
}

fn format_addr(addr: &std::net::SocketAddr) -> String {
    match addr {
        std::net::SocketAddr::V4(a) => a.to_string(),
        std::net::SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => format!("{}:{}", v4, a.port()),
            None => format!("{}:{}", a.ip(), a.port()),
        },
    }
}

/// Admits an accepted connection at once (so a script that turns busy
/// before its task first runs still serves it) and starts its task.
pub(crate) fn start(server: &Arc<Server>, state: &mut redust_engine::State, stream: TcpStream) {
    match admit(state, &stream) {
        Some(Ok((id, push_rx, handle))) => {
            // Nothing read yet: a busy script's servicing may read it.
            handle.input.store(input::IDLE, Ordering::Release);
            tokio::spawn(serve_admitted(server.clone(), stream, id, push_rx, handle));
        }
        Some(Err(msg)) => {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = stream.write_all(msg).await;
            });
        }
        None => {}
    }
}

/// A new connection's admission, as Redis checks it on accept (maxclients,
/// protected mode): registered as a client, or the error to send before
/// closing it. `None` if the socket is gone already.
#[allow(clippy::type_complexity)]
pub(crate) fn admit(
    state: &mut redust_engine::State,
    stream: &TcpStream,
) -> Option<Result<(u64, tokio::sync::mpsc::UnboundedReceiver<Push>, PushHandle), &'static [u8]>> {
    let peer = stream.peer_addr().ok()?;
    let local = stream
        .local_addr()
        .map(|a| format_addr(&a))
        .unwrap_or_default();
    let fd = {
        use std::os::fd::AsRawFd;
        stream.as_raw_fd()
    };
    if state.connected_clients() >= state.config.maxclients as usize {
        state.stats.rejected_connections += 1;
        return Some(Err(&b"-ERR max number of clients reached\r\n"[..]));
    }
    if state.config.protected_mode && state.acl.default_user().nopass && !is_local(&peer) {
        state.stats.rejected_connections += 1;
        return Some(Err(PROTECTED_MODE_DENIED.as_bytes()));
    }
    let (client, push_rx) = state.connect(format_addr(&peer), local, fd, now_ms());
    let (id, handle) = (client.id, client.push.clone());
    state.clients.insert(id, client);
    Some(Ok((id, push_rx, handle)))
}

/// Serves an admitted connection until it closes.
pub(crate) async fn serve_admitted(
    server: Arc<Server>,
    mut stream: TcpStream,
    id: u64,
    mut push_rx: tokio::sync::mpsc::UnboundedReceiver<Push>,
    handle: PushHandle,
) {
    let _ = stream.set_nodelay(true);
    let reason = match run(&server, &mut stream, id, &mut push_rx, &handle).await {
        Ended::Closed(reason) => reason,
        // PSYNC made it a replica: the replica sender takes the socket.
        Ended::Replica(rbuf) => {
            crate::replica_conn::serve(&server, stream, id, rbuf, &handle).await;
            let mut state = server.state.lock();
            redust_engine::replication::replica_gone(&mut state, id);
            Closed::Quietly
        }
    };
    let mut state = server.state.lock();
    if let Some(mut client) = state.take_client(id) {
        // Redis's verbose lines for a client that leaves on its own.
        match reason {
            Closed::Quietly => {}
            Closed::ByPeer => {
                let info = redust_engine::client_info::client_info_line(&state, &client);
                verbose!("Client closed connection {info}");
            }
            Closed::ReadError(why) => verbose!("Reading from client: {why}"),
            Closed::Protocol { error, query } => {
                let info = redust_engine::client_info::client_info_line(&state, &client);
                verbose!("Protocol error ({error}) from client: {info}. {query}");
            }
        }
        state.disconnect(&mut client);
    }
}

/// Why a client connection ended, for the log.
enum Closed {
    /// Killed, over a limit, QUIT, ...: nothing to add.
    Quietly,
    /// The client closed it.
    ByPeer,
    ReadError(String),
    /// A request that is not RESP: the error and what was left unparsed.
    Protocol {
        error: String,
        query: String,
    },
}

/// Redis's excerpt of the query buffer in a protocol error's log line.
pub(crate) fn query_excerpt(buf: &[u8]) -> String {
    let printable = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| {
                if c.is_ascii_graphic() || c == b' ' {
                    c as char
                } else {
                    '.'
                }
            })
            .collect()
    };
    if buf.len() <= 128 {
        format!("Query buffer during protocol error: '{}'", printable(buf))
    } else {
        format!(
            "Query buffer during protocol error: '{}' (... more {} bytes ...) '{}'",
            printable(&buf[..64]),
            buf.len() - 128,
            printable(&buf[buf.len() - 64..])
        )
    }
}

/// Limits the connection loop needs between batches, read under the lock.
#[derive(Clone, Copy)]
struct ConnLimits {
    query_buffer_bytes: usize,
    parse: ParseLimits,
}

fn read_limits(state: &redust_engine::State, client: &Client) -> ConnLimits {
    ConnLimits {
        query_buffer_bytes: state.config.client_query_buffer_limit,
        parse: ParseLimits {
            max_bulk_bytes: state.config.proto_max_bulk_len.min(i64::MAX as u64) as i64,
            authenticated: client.authenticated,
        },
    }
}

/// Writes `out`, giving up if the client is killed meanwhile (a client that
/// does not read must not keep its task stuck in a write).
pub(crate) async fn write_or_killed<W: tokio::io::AsyncWrite + Unpin>(
    stream: &mut W,
    out: &[u8],
    kill: &tokio::sync::Notify,
) -> bool {
    tokio::select! {
        r = stream.write_all(out) => r.is_ok(),
        _ = kill.notified() => false,
    }
}

/// How the connection loop ended.
enum Ended {
    /// Closed; why, when worth logging.
    Closed(Closed),
    /// The connection is now a replica's; what it sent after PSYNC.
    Replica(BytesMut),
}

impl From<Closed> for Ended {
    fn from(reason: Closed) -> Ended {
        Ended::Closed(reason)
    }
}

/// The connection loop.
async fn run(
    server: &Arc<Server>,
    stream: &mut TcpStream,
    id: u64,
    push_rx: &mut tokio::sync::mpsc::UnboundedReceiver<Push>,
    handle: &PushHandle,
) -> Ended {
    let mut replica = None;
    let reason = run_client(server, stream, id, push_rx, handle, &mut replica).await;
    match replica {
        Some(rbuf) => Ended::Replica(rbuf),
        None => reason.into(),
    }
}

/// The connection loop proper. Returns why it closed, when worth logging;
/// sets `replica` (to what is left unread) when PSYNC made it a replica.
async fn run_client(
    server: &Arc<Server>,
    stream: &mut TcpStream,
    id: u64,
    push_rx: &mut tokio::sync::mpsc::UnboundedReceiver<Push>,
    handle: &PushHandle,
    replica: &mut Option<BytesMut>,
) -> Closed {
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut pending: VecDeque<Vec<Bytes>> = VecDeque::new();
    let mut protocol_error: Option<String> = None;
    let mut wait_until: Option<i64> = None;
    let mut out = Vec::with_capacity(READ_CHUNK);
    // Bytes at the front of `out` already written (the rest waits for a
    // client that is not reading).
    let mut sent = 0usize;
    let mut limits = {
        let state = server.state.lock();
        let Some(c) = state.clients.get(&id) else {
            return Closed::Quietly;
        };
        read_limits(&state, c)
    };
    let kill = &handle.kill_notify;
    let mut more_to_parse = false;
    // Requests in the batch just run, for the write below.
    let mut batch_len = 0;
    // Some(deadline) while the front request is a blocked command (BLPOP...).
    let mut blocked: Option<Option<i64>> = None;
    loop {
        // Requests left unparsed while unauthenticated (see parse_requests).
        if pending.is_empty() && more_to_parse && protocol_error.is_none() {
            more_to_parse =
                parse_requests(&mut rbuf, limits.parse, &mut pending, &mut protocol_error);
        }
        // A blocked command ends when the server served it or its time is up.
        if let Some(deadline) = blocked {
            if let Some(reply) = check_blocked(server, id, deadline) {
                // A reply from the server serving us is already in the push
                // channel (sent under the lock we just took): it goes first.
                while let Ok(msg) = push_rx.try_recv() {
                    match msg {
                        Push::Data(d) => {
                            let queued = &handle.queued_bytes;
                            queued.fetch_sub(
                                d.len().min(queued.load(Ordering::Relaxed)),
                                Ordering::Relaxed,
                            );
                            out.extend_from_slice(&d);
                        }
                        Push::Kill => return Closed::Quietly,
                        Push::Wake => {}
                    }
                }
                out.extend_from_slice(&reply);
                pending.pop_front();
                blocked = None;
            }
        }
        // Run what is pending unless a pause or a blocked command holds it.
        if blocked.is_none() && !pending.is_empty() && wait_until.is_none_or(|t| now_ms() >= t) {
            wait_until = None;
            batch_len = pending.len();
            let (flow, new_limits) = execute_batch(server, id, &mut pending, &mut out, sent);
            limits = new_limits;
            match flow {
                // Over its output-buffer limit: closed with nothing more sent.
                Flow::Close if handle.killed.load(Ordering::Relaxed) => {
                    return Closed::Quietly;
                }
                Flow::Close => {
                    write_or_killed(stream, &out[sent..], kill).await;
                    return Closed::Quietly;
                }
                Flow::Replica => {
                    if !write_or_killed(stream, &out[sent..], kill).await {
                        return Closed::Quietly;
                    }
                    *replica = Some(rbuf.split());
                    return Closed::Quietly;
                }
                Flow::Wait { until_ms } => wait_until = Some(until_ms),
                Flow::Blocked { deadline_ms } => blocked = Some(deadline_ms),
                Flow::Continue => {}
            }
        }
        if pending.is_empty() && blocked.is_none() {
            if let Some(err) = protocol_error.take() {
                out.extend_from_slice(format!("-ERR {err}\r\n").as_bytes());
                write_or_killed(stream, &out[sent..], kill).await;
                server.state.lock().stats.count_error("ERR");
                let error = err
                    .strip_prefix("Protocol error: ")
                    .unwrap_or(&err)
                    .to_string();
                return Closed::Protocol {
                    error,
                    query: query_excerpt(&rbuf),
                };
            }
        }
        if sent < out.len() {
            // After a pipelined batch, let every other connection that is ready
            // run its batch before this reply goes out, as Redis writes all
            // replies after a round of reads: a client waiting on many
            // connections is then woken once for many replies, not once per
            // reply (a wake-up costs more than the write itself on a VM). A
            // lone request's reply goes at once: the round would cost more
            // than it saves (measured: P1 CPU per request 7.66 -> 7.41 us).
            if batch_len > 1 {
                tokio::task::yield_now().await;
            }
            batch_len = 0;
            if handle.killed.load(Ordering::Relaxed) {
                return Closed::Quietly;
            }
            // Usually the socket takes it all at once. What a client that
            // does not read leaves waits here while its connection keeps
            // reading and executing, as in Redis: its output-buffer limit
            // (checked per command) decides how far that may go.
            let before = sent;
            while sent < out.len() {
                match stream.try_write(&out[sent..]) {
                    Ok(w) => sent += w,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => return Closed::Quietly,
                }
            }
            server
                .net_output_bytes
                .fetch_add((sent - before) as u64, Ordering::Relaxed);
            if sent == out.len() {
                out.clear();
                sent = 0;
                // Like Redis's fixed reply buffer: a big reply's room is
                // given back, the usual few KB are kept (no allocation per
                // batch).
                if out.capacity() > OUT_KEEP_BYTES {
                    out = Vec::with_capacity(READ_CHUNK);
                }
            } else if sent >= OUT_KEEP_BYTES && sent * 2 >= out.len() {
                out.drain(..sent);
                sent = 0;
            }
            handle
                .unwritten_bytes
                .store(out.len() - sent, Ordering::Relaxed);
        }
        let wake_at = match (wait_until, blocked) {
            (Some(t), _) => Some(t),
            (None, Some(Some(deadline))) => Some(deadline),
            _ => None,
        };
        let pause_sleep = wake_at.map_or(Duration::from_secs(3600), |t| {
            Duration::from_millis((t - now_ms()).clamp(1, 100) as u64)
        });
        if more_to_parse && wait_until.is_none() && blocked.is_none() {
            continue;
        }
        let reading = wait_until.is_none() && protocol_error.is_none();
        // Nothing buffered, pending or unwritten: a busy script's servicing
        // may read and answer this connection meanwhile (see `busy`).
        if reading
            && rbuf.is_empty()
            && pending.is_empty()
            && blocked.is_none()
            && sent == out.len()
        {
            let _ = handle.input.compare_exchange(
                input::RUNNING,
                input::IDLE,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
        // A kill arrives as Push::Kill too: no need to also wait on `kill`,
        // whose registration costs a lock on every pass.
        tokio::select! {
            biased;
            msg = push_rx.recv() => {
                reclaim_input(server, id, handle, &mut rbuf, &mut more_to_parse);
                let Some(msg) = msg else {
                    return Closed::Quietly;
                };
                let mut next = Some(msg);
                let mut bytes = 0;
                while let Some(m) = next {
                    match m {
                        Push::Kill => return Closed::Quietly,
                        Push::Data(d) => {
                            bytes += d.len();
                            out.extend_from_slice(&d);
                        }
                        // Something we wait on changed (e.g. CLIENT UNPAUSE): retry now.
                        Push::Wake => wait_until = None,
                    }
                    next = push_rx.try_recv().ok();
                }
                let queued = &handle.queued_bytes;
                queued.fetch_sub(bytes.min(queued.load(Ordering::Relaxed)), Ordering::Relaxed);
            }
            // select! builds every branch's future, enabled or not: the timer
            // is made inside an async block so only a waiting client pays for it.
            _ = async { tokio::time::sleep(pause_sleep).await }, if wake_at.is_some() => {
                reclaim_input(server, id, handle, &mut rbuf, &mut more_to_parse);
            }
            // The socket takes more of the waiting output.
            r = stream.writable(), if sent < out.len() => {
                reclaim_input(server, id, handle, &mut rbuf, &mut more_to_parse);
                if r.is_err() {
                    return Closed::Quietly;
                }
            }
            r = stream.readable(), if reading => {
                reclaim_input(server, id, handle, &mut rbuf, &mut more_to_parse);
                if r.is_err() {
                    return Closed::Quietly;
                }
                let mut n = match stream.try_read_buf(&mut rbuf) {
                    Ok(0) => return Closed::ByPeer,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Closed::ReadError(redust_config::values::strerror(&e)),
                };
                // A read that filled the buffer likely left more behind (a
                // pipeline of 16 SETs of 1 KB is 17 KB): take it now, so the
                // whole batch runs and is answered with one write. Only up to
                // a few chunks: the query buffer counts as used memory, and a
                // huge pipeline is still better run as it streams in.
                while rbuf.capacity() == rbuf.len() && rbuf.len() < GREEDY_READ_BYTES {
                    rbuf.reserve(READ_CHUNK);
                    match stream.try_read_buf(&mut rbuf) {
                        Ok(more) if more > 0 => n += more,
                        // Nothing more now, or end of stream / an error,
                        // which the next read reports after this batch runs.
                        _ => break,
                    }
                }
                server.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                if limits.query_buffer_bytes > 0 && rbuf.len() > limits.query_buffer_bytes {
                    handle.query_bytes.store(rbuf.len(), Ordering::Relaxed);
                    let state = server.state.lock();
                    let info = state.clients.get(&id).map(|c| {
                        redust_engine::client_info::client_info_line(&state, c)
                    });
                    drop(state);
                    let head = &rbuf[..rbuf.len().min(64)];
                    warning!(
                        "Closing client that reached max query buffer length: {} (qbuf initial bytes: {})",
                        info.unwrap_or_default(),
                        redust_engine::monitor::repr(head)
                    );
                    return Closed::Quietly;
                }
                more_to_parse = parse_requests(&mut rbuf, limits.parse, &mut pending, &mut protocol_error);
                // What client eviction and CLIENT LIST count as its query buffer.
                handle.query_bytes.store(rbuf.len(), Ordering::Relaxed);
                if rbuf.is_empty() && rbuf.capacity() > GREEDY_READ_BYTES {
                    // Grown by a big argument: give the room back.
                    rbuf = BytesMut::with_capacity(READ_CHUNK);
                } else if rbuf.capacity() - rbuf.len() < 1024 {
                    rbuf.reserve(READ_CHUNK);
                }
            }
        }
    }
}

/// The task is running again: if a busy script's servicing claimed the
/// socket meanwhile, what it read and did not run goes back in front.
fn reclaim_input(
    server: &Server,
    id: u64,
    handle: &PushHandle,
    rbuf: &mut BytesMut,
    more_to_parse: &mut bool,
) {
    if handle.input.swap(input::RUNNING, Ordering::AcqRel) != input::CLAIMED {
        return;
    }
    let stash = server
        .state
        .lock()
        .clients
        .get_mut(&id)
        .map(|c| std::mem::take(&mut c.busy_input));
    if let Some(mut stash) = stash.filter(|s| !s.is_empty()) {
        stash.extend_from_slice(rbuf);
        *rbuf = stash;
        *more_to_parse = true;
    }
}

/// For a client blocked in BLPOP & co: the bytes to write and the request to
/// drop if its wait is over (served by the server, or timed out now).
fn check_blocked(server: &Server, id: u64, deadline: Option<i64>) -> Option<Vec<u8>> {
    let mut state = server.state.lock();
    let mut client = state.take_client(id)?;
    let result = if client.blocked.is_none() {
        // Served: its reply already came through the push channel.
        Some(Vec::new())
    } else if deadline.is_some_and(|d| now_ms() >= d) {
        state.now_ms = now_ms();
        redust_engine::blocking::timeout_blocked(&mut state, &mut client)
    } else {
        None
    };
    state.return_client(client);
    result
}

/// Moves every whole request from `rbuf` to `pending`. While the client is not
/// authenticated it stops after one request, because AUTH may lift the tighter
/// limits that apply to the rest; it then returns true (more may be buffered).
fn parse_requests(
    rbuf: &mut BytesMut,
    limits: ParseLimits,
    pending: &mut VecDeque<Vec<Bytes>>,
    protocol_error: &mut Option<String>,
) -> bool {
    loop {
        match parse_request(rbuf, limits) {
            Ok(Some(req)) => {
                if !req.args.is_empty() {
                    pending.push_back(req.args);
                    if !limits.authenticated {
                        return !rbuf.is_empty();
                    }
                }
            }
            Ok(None) => return false,
            Err(e) => {
                *protocol_error = Some(e.0);
                return false;
            }
        }
    }
}

/// Runs pending requests under one lock. Stops early when one must wait or
/// the connection must close; the unrun requests stay in `pending`.
fn execute_batch(
    server: &Server,
    id: u64,
    pending: &mut VecDeque<Vec<Bytes>>,
    out: &mut Vec<u8>,
    sent: usize,
) -> (Flow, ConnLimits) {
    let mut state = server.state.lock();
    let Some(mut client) = state.take_client(id) else {
        pending.clear();
        let limits = ConnLimits {
            query_buffer_bytes: 0,
            parse: ParseLimits::default(),
        };
        return (Flow::Close, limits);
    };
    state.now_ms = now_ms();
    // Replies go straight after what is already waiting to be written.
    let mut reply = Reply {
        buf: std::mem::take(out),
        resp3: client.resp3,
    };
    let mut flow = Flow::Continue;
    while let Some(args) = pending.front() {
        let f = redust_engine::execute(&mut state, &mut client, args, &mut reply);
        match f {
            Flow::Wait { .. } | Flow::Blocked { .. } => {
                flow = f;
                break;
            }
            Flow::Close => {
                pending.clear();
                flow = Flow::Close;
                break;
            }
            Flow::Replica => {
                pending.clear();
                flow = Flow::Replica;
                break;
            }
            Flow::Continue => {
                pending.pop_front();
            }
        }
        // Over its output-buffer limit, the client is closed and runs
        // nothing more (Redis stops reading a client closed ASAP).
        client
            .push
            .unwritten_bytes
            .store(reply.buf.len() - sent, Ordering::Relaxed);
        if redust_engine::obuf::enforce(&state, &client, redust_engine::obuf::Close::Asap) {
            pending.clear();
            flow = Flow::Close;
            break;
        }
    }
    redust_engine::aof::write_after_batch(&mut state);
    redust_engine::replication::wake_senders(&mut state);
    let limits = read_limits(&state, &client);
    state.return_client(client);
    *out = reply.buf;
    (flow, limits)
}
