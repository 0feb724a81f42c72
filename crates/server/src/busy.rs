//! Serving clients while a script is busy (Redis's processEventsWhileBlocked).
//!
//! A script runs on the connection task that called it, with the state
//! locked, so no other task runs until it ends. Once it has run past
//! `busy-reply-threshold`, its hook calls `serve` every tick: new
//! connections are accepted and admitted, and every idle connection (its
//! task waits for input with nothing buffered, pending or unwritten) is read
//! here directly, its whole requests run through the engine (which answers
//! -BUSY to all but the `allow_busy` commands: SCRIPT KILL, SHUTDOWN NOSAVE,
//! MULTI, ...) and the replies written to the socket. The connection stays
//! claimed while part of a request is left over; its task takes those bytes
//! back when it runs again (`PushHandle::input`).

use crate::conn;
use crate::now_ms;
use crate::server::Server;
use bytes::Bytes;
use redust_engine::exec::Flow;
use redust_engine::state::input;
use redust_engine::State;
use redust_resp::{parse_request, ParseLimits, Reply};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Bytes read from one connection per tick, at most.
const READ_PER_TICK: usize = 64 * 1024;

/// One round of serving while a script is busy.
pub(crate) fn serve(server: &Arc<Server>, state: &mut State) {
    accept_new(server, state);
    let ids: Vec<u64> = state.clients.keys().copied().collect();
    for id in ids {
        serve_client(server, state, id);
    }
}

/// Accepts and admits what waits on the listeners; the connections' tasks
/// start when the script ends, and until then they are served here.
fn accept_new(server: &Arc<Server>, state: &mut State) {
    let listeners = server.signals.listeners.lock().clone();
    for listener in listeners {
        loop {
            // SAFETY: accept4 on a listening socket we keep open (the Arc);
            // the new descriptor is owned by the stream made from it.
            let fd = unsafe {
                libc::accept4(
                    listener.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                break;
            }
            // SAFETY: `fd` is a connected socket nobody else owns.
            let std_stream = unsafe { std::net::TcpStream::from_raw_fd(fd) };
            let Ok(stream) = tokio::net::TcpStream::from_std(std_stream) else {
                continue;
            };
            crate::server::set_keepalive(&stream, state.config.tcp_keepalive as u64);
            // Served below until its task runs.
            conn::start(server, state, stream);
        }
    }
}

/// Reads an idle connection and runs its whole requests.
fn serve_client(server: &Server, state: &mut State, id: u64) {
    let Some(client) = state.clients.get(&id) else {
        return;
    };
    // Output still queued for the task must go out before anything new;
    // a paused server's postponed commands wait for the task.
    if client.fd < 0
        || client.push.queued_bytes.load(Ordering::Relaxed) > 0
        || state.pause.is_some()
    {
        return;
    }
    let claim = &client.push.input;
    if claim.load(Ordering::Acquire) != input::CLAIMED
        && claim
            .compare_exchange(
                input::IDLE,
                input::CLAIMED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
    {
        return;
    }
    let Some(mut client) = state.take_client(id) else {
        return;
    };
    let fd = client.fd;
    let read = read_available(fd, &mut client.busy_input);
    server
        .net_input_bytes
        .fetch_add(read as u64, Ordering::Relaxed);
    let mut reply = Reply {
        buf: Vec::new(),
        resp3: client.resp3,
    };
    let mut close = false;
    loop {
        let limits = ParseLimits {
            max_bulk_bytes: state.config.proto_max_bulk_len.min(i64::MAX as u64) as i64,
            authenticated: client.authenticated,
        };
        // A protocol error is left for the connection's task to report.
        let Ok(Some(request)) = parse_request(&mut client.busy_input, limits) else {
            break;
        };
        if request.args.is_empty() {
            continue;
        }
        state.now_ms = now_ms();
        reply.resp3 = client.resp3;
        let flow = redust_engine::execute(state, &mut client, &request.args, &mut reply);
        if matches!(flow, Flow::Close) {
            close = true;
            break;
        }
    }
    let written = send_now(fd, &reply.buf);
    server
        .net_output_bytes
        .fetch_add(written as u64, Ordering::Relaxed);
    if written < reply.buf.len() {
        // The rest goes out through the task, in order, when it runs.
        client
            .push
            .send_data(Bytes::copy_from_slice(&reply.buf[written..]));
    }
    if close {
        client.push.kill();
    } else if client.busy_input.is_empty() && written == reply.buf.len() {
        // Nothing left over: the task may take the socket back as it is.
        let _ = client.push.input.compare_exchange(
            input::CLAIMED,
            input::IDLE,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
    state.return_client(client);
}

/// Reads what the socket has now (up to `READ_PER_TICK`); the bytes read.
fn read_available(fd: i32, into: &mut bytes::BytesMut) -> usize {
    let mut chunk = [0u8; 16 * 1024];
    let mut total = 0;
    while total < READ_PER_TICK {
        // SAFETY: reads into a buffer we own, of the length given.
        let n = unsafe {
            libc::recv(
                fd,
                chunk.as_mut_ptr().cast(),
                chunk.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n <= 0 {
            // Nothing more now, or closed: the task sees the end itself.
            break;
        }
        into.extend_from_slice(&chunk[..n as usize]);
        total += n as usize;
    }
    total
}

/// Writes what the socket takes now; the bytes written.
fn send_now(fd: i32, data: &[u8]) -> usize {
    let mut sent = 0;
    while sent < data.len() {
        // SAFETY: writes from a buffer we own, of the length given.
        let n = unsafe {
            libc::send(
                fd,
                data[sent..].as_ptr().cast(),
                data.len() - sent,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n <= 0 {
            break;
        }
        sent += n as usize;
    }
    sent
}
