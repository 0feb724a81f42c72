//! One client connection: read, parse, execute, write.
//!
//! The task reads whatever bytes are available, parses every whole request in
//! them, takes the state lock once for the batch, runs the requests in order
//! and writes all replies with one write. Messages pushed by other clients
//! (pub/sub, MONITOR) and orders (CLIENT KILL) arrive on the client's push
//! channel and are written between batches. A request that must wait (CLIENT
//! PAUSE) keeps its place and the rest of the batch behind it.

use crate::server::Server;
use crate::{notice, verbose};
use bytes::{Bytes, BytesMut};
use redust_commands::exec::Flow;
use redust_commands::state::Push;
use redust_commands::Client;
use redust_resp::{parse_request, ParseLimits, Reply};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_CHUNK: usize = 16 * 1024;

const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. To accept outside connections, do one of these: 1) disable protected mode with 'CONFIG SET protected-mode no' from the loopback interface (and make sure the server is not reachable from the internet), then CONFIG REWRITE to keep it; 2) set 'protected-mode no' in the configuration file and restart; 3) start the server with '--protected-mode no'; 4) set a password for the default user (requirepass).\r\n";

fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Serves one accepted connection until it closes.
pub async fn serve(server: Arc<Server>, mut stream: TcpStream) {
    let peer = match stream.peer_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let local = stream
        .local_addr()
        .map(|a| format_addr(&a))
        .unwrap_or_default();
    let fd = {
        use std::os::fd::AsRawFd;
        stream.as_raw_fd()
    };
    // Admission: maxclients and protected mode, as Redis checks them on accept.
    let admitted = {
        let mut state = server.state.lock();
        if state.connected_clients() >= state.config.maxclients as usize {
            state.stats.rejected_connections += 1;
            Err(&b"-ERR max number of clients reached\r\n"[..])
        } else if state.config.protected_mode
            && state.config.requirepass.is_none()
            && !is_loopback(&peer)
        {
            state.stats.rejected_connections += 1;
            Err(PROTECTED_MODE_DENIED.as_bytes())
        } else {
            Ok(state.connect(format_addr(&peer), local, fd, now_ms()))
        }
    };
    let (client, mut push_rx) = match admitted {
        Ok(c) => c,
        Err(msg) => {
            let _ = stream.write_all(msg).await;
            return;
        }
    };
    let id = client.id;
    let queued = client.push.queued_bytes.clone();
    server.state.lock().clients.insert(id, client);
    let _ = stream.set_nodelay(true);
    let reason = run(&server, &mut stream, id, &mut push_rx, &queued).await;
    let mut state = server.state.lock();
    if let Some(mut client) = state.clients.remove(&id) {
        if let Some(r) = reason {
            verbose!("{r}: id={} addr={}", client.id, client.addr);
        }
        state.disconnect(&mut client);
    }
}

/// The connection loop. Returns why it closed, when worth logging.
async fn run(
    server: &Arc<Server>,
    stream: &mut TcpStream,
    id: u64,
    push_rx: &mut tokio::sync::mpsc::UnboundedReceiver<Push>,
    queued: &std::sync::atomic::AtomicUsize,
) -> Option<String> {
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut pending: VecDeque<Vec<Bytes>> = VecDeque::new();
    let mut protocol_error: Option<String> = None;
    let mut wait_until: Option<i64> = None;
    let mut out = Vec::new();
    loop {
        // Run what is pending unless a pause holds it.
        if !pending.is_empty() && wait_until.is_none_or(|t| now_ms() >= t) {
            wait_until = None;
            let (flow, reply) = execute_batch(server, id, &mut pending);
            out.extend_from_slice(&reply);
            match flow {
                Flow::Close => {
                    let _ = stream.write_all(&out).await;
                    return None;
                }
                Flow::Wait { until_ms } => wait_until = Some(until_ms),
                Flow::Continue => {}
            }
            if pending.is_empty() {
                if let Some(err) = protocol_error.take() {
                    out.extend_from_slice(format!("-ERR {err}\r\n").as_bytes());
                    let _ = stream.write_all(&out).await;
                    return Some(format!("Protocol error ({err}) from client"));
                }
            }
        }
        if !out.is_empty() {
            let n = out.len();
            if stream.write_all(&out).await.is_err() {
                return None;
            }
            out.clear();
            server
                .net_output_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        let (idle_timeout_secs, qbuf_limit, max_bulk, authenticated, exempt_from_timeout) = {
            let state = server.state.lock();
            let Some(c) = state.clients.get(&id) else {
                return None;
            };
            (
                state.config.timeout,
                state.config.client_query_buffer_limit,
                state.config.proto_max_bulk_len,
                c.authenticated,
                c.subscription_count() > 0 || c.monitor,
            )
        };
        let idle = if idle_timeout_secs > 0 && !exempt_from_timeout && wait_until.is_none() {
            Duration::from_secs(idle_timeout_secs as u64)
        } else {
            Duration::from_secs(365 * 86400)
        };
        let pause_sleep = wait_until.map_or(Duration::from_secs(365 * 86400), |t| {
            Duration::from_millis((t - now_ms()).clamp(1, 100) as u64)
        });
        let reading = wait_until.is_none() && protocol_error.is_none();
        tokio::select! {
            biased;
            msg = push_rx.recv() => {
                match msg {
                    None | Some(Push::Kill) => {
                        let _ = stream.write_all(&out).await;
                        return Some("Client killed".into());
                    }
                    Some(Push::Data(data)) => {
                        let mut bytes = data.len();
                        out.extend_from_slice(&data);
                        while let Ok(more) = push_rx.try_recv() {
                            match more {
                                Push::Data(d) => { bytes += d.len(); out.extend_from_slice(&d); }
                                Push::Kill => return Some("Client killed".into()),
                                Push::Wake => {}
                            }
                        }
                        queued.fetch_sub(bytes.min(queued.load(Ordering::Relaxed)), Ordering::Relaxed);
                    }
                    Some(Push::Wake) => {}
                }
            }
            _ = tokio::time::sleep(pause_sleep), if wait_until.is_some() => {}
            r = tokio::time::timeout(idle, stream.read_buf(&mut rbuf)), if reading => {
                match r {
                    Err(_) => return Some("Closing idle client".into()),
                    Ok(Err(_)) | Ok(Ok(0)) => return None,
                    Ok(Ok(n)) => {
                        server.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        if qbuf_limit > 0 && rbuf.len() > qbuf_limit {
                            let mut state = server.state.lock();
                            state.stats.client_qbuf_limit_disconnections += 1;
                            let addr = state.clients.get(&id).map(|c| c.addr.clone()).unwrap_or_default();
                            drop(state);
                            crate::warning!("Closing client that reached max query buffer length: id={id} addr={addr} qbuf={}", rbuf.len());
                            return None;
                        }
                        let limits = ParseLimits { max_bulk_bytes: max_bulk.min(i64::MAX as u64) as i64, authenticated };
                        loop {
                            match parse_request(&mut rbuf, limits) {
                                Ok(Some(req)) => {
                                    if !req.args.is_empty() {
                                        pending.push_back(req.args);
                                    }
                                }
                                Ok(None) => break,
                                Err(e) => { protocol_error = Some(e.0); break; }
                            }
                        }
                        if pending.is_empty() {
                            if let Some(err) = protocol_error.take() {
                                let _ = stream.write_all(format!("-ERR {err}\r\n").as_bytes()).await;
                                return Some(format!("Protocol error ({err}) from client"));
                            }
                        }
                        if rbuf.capacity() - rbuf.len() < 1024 {
                            rbuf.reserve(READ_CHUNK);
                        }
                    }
                }
            }
        }
    }
}

/// Runs pending requests under one lock. Stops early when one must wait or
/// the connection must close; the unrun requests stay in `pending`.
fn execute_batch(server: &Server, id: u64, pending: &mut VecDeque<Vec<Bytes>>) -> (Flow, Vec<u8>) {
    let mut state = server.state.lock();
    let Some(mut client) = state.clients.remove(&id) else {
        pending.clear();
        return (Flow::Close, Vec::new());
    };
    state.now_ms = now_ms();
    let mut reply = Reply::new(client.resp3);
    let mut flow = Flow::Continue;
    while let Some(args) = pending.front() {
        let f = redust_commands::execute(&mut state, &mut client, args, &mut reply);
        match f {
            Flow::Wait { .. } => {
                flow = f;
                break;
            }
            Flow::Close => {
                pending.clear();
                flow = Flow::Close;
                break;
            }
            Flow::Continue => {
                pending.pop_front();
            }
        }
    }
    client_limits_exceeded(&mut state, &client, reply.buf.len());
    state.clients.insert(id, client);
    (flow, reply.buf)
}

/// Applies the `normal` class of client-output-buffer-limit to one batch's replies.
fn client_limits_exceeded(state: &mut redust_commands::State, client: &Client, reply_bytes: usize) {
    let limit = state.config.client_output_buffer_limit.normal;
    if limit.hard > 0 && reply_bytes as u64 > limit.hard {
        state.stats.client_outbuf_limit_disconnections += 1;
        notice!("Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.", client.id, client.addr);
        client.push.kill();
    }
}
