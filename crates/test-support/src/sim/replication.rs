//! A replication node for the simulation: the real decisions of
//! `redust-replication` (the master side's PSYNC answers, full-sync starts,
//! timeouts and backlog; the replica's handshake, transfer header and stream
//! timers; ids and offsets) around a toy dataset, speaking the real
//! protocol over the simulated network: `redust_resp`'s request parser and
//! reply decoder, Redis's handshake and stream bytes.
//!
//! What is the model's own: the dataset (a map with SET, DEL, INCR,
//! APPEND), the snapshot (the dataset as SET commands, sent as `$<len>`),
//! and saving (a copy of the dataset with the replication id and offset,
//! taken every few seconds, which a crashed node restarts from, as from
//! its RDB file).

use super::{ConnId, Event, NodeId, NodeIo, SimNode};
use bytes::BytesMut;
use redust_replication::handshake::{self, Handshake, Next, Settings, StreamTick, Transfer};
use redust_replication::master::{PsyncAnswer, PsyncRequest, SyncSettings};
use redust_replication::{LinkState, Logs, MasterLink, ReplicaRecord, ReplicaState, Replication};
use redust_resp::frame::{decode_frame, encode_command, FrameLimits};
use redust_resp::{parse_request, ParseLimits};
use std::collections::BTreeMap;

/// Timings, in ms (small, so that runs are short).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub repl_timeout_ms: i64,
    pub ping_period_ms: i64,
    pub save_period_ms: i64,
    pub backlog_size: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            repl_timeout_ms: 3_000,
            ping_period_ms: 1_000,
            save_period_ms: 2_000,
            backlog_size: 4 * 1024,
        }
    }
}

/// The dataset.
pub type Data = BTreeMap<Vec<u8>, Vec<u8>>;

/// What survives a crash (an RDB file with its replication info).
#[derive(Clone, Debug)]
struct Saved {
    data: Data,
    replid: String,
    offset: u64,
}

/// Our link to our master.
enum Link {
    /// No connection; the next attempt at `retry_at`.
    Idle {
        retry_at: i64,
    },
    Connecting {
        conn: ConnId,
        since: i64,
    },
    Handshake {
        conn: ConnId,
        since: i64,
        machine: Handshake,
        rbuf: Vec<u8>,
    },
    /// Receiving the snapshot (header first: `transfer` is `None`).
    Transfer {
        conn: ConnId,
        last_io: i64,
        replid: String,
        offset: u64,
        transfer: Option<Transfer>,
        rbuf: Vec<u8>,
    },
    Streaming {
        conn: ConnId,
        last_io: i64,
        rbuf: Vec<u8>,
    },
}

impl Link {
    fn conn(&self) -> Option<ConnId> {
        match self {
            Link::Idle { .. } => None,
            Link::Connecting { conn, .. }
            | Link::Handshake { conn, .. }
            | Link::Transfer { conn, .. }
            | Link::Streaming { conn, .. } => Some(*conn),
        }
    }
}

/// A connection from a replica (or a would-be one).
struct Inbound {
    client_id: u64,
    from: NodeId,
    rbuf: BytesMut,
    listening_port: u16,
    replica: bool,
}

/// One node: a master, or a replica of `master`.
pub struct ReplNode {
    pub id: NodeId,
    pub timing: Timing,
    pub repl: Replication,
    pub data: Data,
    /// The node we replicate from.
    pub master: Option<NodeId>,
    link: Link,
    inbound: BTreeMap<ConnId, Inbound>,
    next_client: u64,
    last_ping: i64,
    saved: Option<Saved>,
    last_save: i64,
    /// Log lines the decisions returned (kept for failure reports).
    pub log: Vec<String>,
    /// Protocol errors seen (the master's stream that could not be parsed).
    pub protocol_errors: u64,
}

impl ReplNode {
    pub fn new(id: NodeId, master: Option<NodeId>, timing: Timing, seed: u64) -> ReplNode {
        let mut node = ReplNode {
            id,
            timing,
            repl: Replication::with_seed(seed),
            data: Data::new(),
            master: None,
            link: Link::Idle { retry_at: 0 },
            inbound: BTreeMap::new(),
            next_client: 0,
            last_ping: 0,
            saved: None,
            last_save: 0,
            log: Vec::new(),
            protocol_errors: 0,
        };
        if let Some(m) = master {
            node.follow_link(m, 0);
        }
        node
    }

    /// A digest of the dataset (equal data, equal digest).
    pub fn digest(&self) -> u64 {
        // FNV-1a over the sorted pairs: deterministic, no dependency.
        let mut h: u64 = 0xcbf29ce484222325;
        for (k, v) in &self.data {
            for b in k.iter().chain(b"\0").chain(v.iter()).chain(b"\x01") {
                h ^= *b as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
        }
        h
    }

    /// Whether our link to the master streams.
    pub fn link_up(&self) -> bool {
        matches!(self.link, Link::Streaming { .. })
    }

    /// A client's write on this node: applied and fed to the stream, if we
    /// are a master (a replica refuses it, READONLY).
    pub fn client_write(&mut self, args: &[Vec<u8>], io: &mut NodeIo) -> bool {
        if self.master.is_some() {
            return false;
        }
        apply(&mut self.data, args);
        let mut out = Vec::new();
        encode_command(&mut out, args);
        self.repl.feed(&out);
        self.push_stream(io);
        true
    }

    /// REPLICAOF NO ONE.
    pub fn promote(&mut self, io: &mut NodeIo) {
        if self.master.take().is_none() {
            return;
        }
        self.repl.master = None;
        self.repl.shift_replid();
        self.repl.stream_db = None;
        self.repl.ensure_backlog(self.timing.backlog_size);
        self.repl.no_replicas_since_ms = io.now_ms();
        // Our replicas must learn the new id (they come back partially).
        self.drop_replicas(io);
        if let Some(conn) = self.link.conn() {
            io.close(conn);
        }
        self.link = Link::Idle { retry_at: 0 };
    }

    /// REPLICAOF <node>.
    pub fn follow(&mut self, master: NodeId, io: &mut NodeIo) {
        if self.master == Some(master) || master == self.id {
            return;
        }
        if self.master.is_none() {
            // Our own history is what we ask the new master to continue.
            self.repl.psync_possible = true;
        }
        if let Some(conn) = self.link.conn() {
            io.close(conn);
        }
        self.follow_link(master, io.now_ms());
    }

    fn follow_link(&mut self, master: NodeId, now: i64) {
        self.master = Some(master);
        let generation = self.repl.master.as_ref().map_or(0, |m| m.generation) + 1;
        self.repl.master = Some(MasterLink {
            host: format!("node{master}"),
            port: master as u16,
            state: LinkState::Connect,
            last_io_ms: now,
            down_since_ms: 0,
            transfer_size: -1,
            transfer_read: 0,
            transfer_last_io_ms: 0,
            read_offset: self.repl.offset,
            generation,
        });
        self.link = Link::Idle { retry_at: now };
    }

    fn note(&mut self, io: &NodeIo, logs: Logs) {
        for (_, line) in logs {
            self.log
                .push(format!("{} node{}: {line}", io.now_ms(), self.id));
        }
    }

    fn set_link_state(&mut self, state: LinkState) {
        if let Some(m) = self.repl.master.as_mut() {
            m.state = state;
        }
    }

    /// The link failed or was lost: retry at once after an established
    /// link or a failed transfer, else from the cron a second later.
    fn link_down(&mut self, io: &mut NodeIo, at_once: bool, why: &str) {
        let was_streaming = self.link_up();
        if let Some(conn) = self.link.conn() {
            io.close(conn);
        }
        if was_streaming {
            self.repl.psync_possible = true;
        }
        if !why.is_empty() {
            self.log
                .push(format!("{} node{}: {why}", io.now_ms(), self.id));
        }
        self.set_link_state(LinkState::Connect);
        let retry_at = if at_once || was_streaming {
            io.now_ms()
        } else {
            io.now_ms() + 1000
        };
        self.link = Link::Idle { retry_at };
    }

    fn handshake_settings(&self) -> Settings {
        Settings {
            listening_port: self.id as u16,
            psync_from: self
                .repl
                .psync_possible
                .then(|| (self.repl.replid.clone(), self.repl.offset as i64 + 1)),
            ..Settings::default()
        }
    }

    /// Our link's timers (the replica side of Redis's replication cron).
    fn link_tick(&mut self, io: &mut NodeIo) {
        let now = io.now_ms();
        let timeout = self.timing.repl_timeout_ms;
        match &self.link {
            Link::Idle { retry_at } if now >= *retry_at => {
                if let Some(m) = self.master {
                    let conn = io.connect(m);
                    self.set_link_state(LinkState::Connecting);
                    self.link = Link::Connecting { conn, since: now };
                }
            }
            Link::Connecting { since, .. } | Link::Handshake { since, .. }
                if now - since > timeout =>
            {
                self.link_down(io, true, handshake::TIMEOUT_CONNECTING);
            }
            Link::Transfer { last_io, .. } if now - last_io > timeout => {
                self.link_down(io, true, handshake::TIMEOUT_BULK);
            }
            Link::Streaming { conn, last_io, .. } => {
                let conn = *conn;
                match handshake::stream_tick(now, *last_io, timeout) {
                    StreamTick::Ack => {
                        let mut out = Vec::new();
                        let offset = self.repl.offset.to_string();
                        encode_command(&mut out, &[&b"REPLCONF"[..], b"ACK", offset.as_bytes()]);
                        io.send(conn, out);
                    }
                    StreamTick::TimedOut(f) => self.link_down(io, false, &f.msg),
                }
            }
            _ => {}
        }
    }

    /// Bytes from our master.
    fn link_data(&mut self, conn: ConnId, data: Vec<u8>, io: &mut NodeIo) {
        if self.link.conn() != Some(conn) {
            return;
        }
        let now = io.now_ms();
        match &mut self.link {
            Link::Handshake { rbuf, .. }
            | Link::Transfer { rbuf, .. }
            | Link::Streaming { rbuf, .. } => rbuf.extend_from_slice(&data),
            _ => return,
        }
        // A phase may end with bytes of the next in the buffer: go on.
        loop {
            let progressed = match &mut self.link {
                Link::Handshake { .. } => self.handshake_step(io),
                Link::Transfer { .. } => self.transfer_step(io),
                Link::Streaming { last_io, .. } => {
                    *last_io = now;
                    self.stream_step(io);
                    false
                }
                _ => false,
            };
            if !progressed {
                break;
            }
        }
    }

    /// Feeds whole replies to the handshake. Returns whether the phase changed.
    fn handshake_step(&mut self, io: &mut NodeIo) -> bool {
        loop {
            let Link::Handshake {
                conn,
                machine,
                rbuf,
                ..
            } = &mut self.link
            else {
                return false;
            };
            let conn = *conn;
            let keepalives = rbuf.iter().take_while(|&&b| b == b'\n').count();
            rbuf.drain(..keepalives);
            let (reply, used) = match decode_frame(rbuf, &FrameLimits::default()) {
                Ok(Some(x)) => x,
                Ok(None) => return false,
                Err(e) => {
                    self.link_down(io, false, &format!("bad reply from master: {e}"));
                    return false;
                }
            };
            rbuf.drain(..used);
            let mut logs = Logs::new();
            let next = machine.on_reply(&reply, &mut logs);
            let rest = std::mem::take(rbuf);
            self.note(io, logs);
            match next {
                Next::Send(cmd) => {
                    let mut out = Vec::new();
                    encode_command(&mut out, &cmd);
                    io.send(conn, out);
                    if let Link::Handshake { rbuf, .. } = &mut self.link {
                        *rbuf = rest;
                    }
                }
                Next::Continue { new_replid } => {
                    if let Some(id) = new_replid {
                        if id != self.repl.replid {
                            self.repl.master_changed_replid(&id);
                            // Our replicas must learn the new id.
                            self.drop_replicas(io);
                        }
                    }
                    self.repl.ensure_backlog(self.timing.backlog_size);
                    self.stream_up(conn, rest, io);
                    return true;
                }
                Next::FullResync { replid, offset } => {
                    self.set_link_state(LinkState::Transfer);
                    self.link = Link::Transfer {
                        conn,
                        last_io: io.now_ms(),
                        replid,
                        offset,
                        transfer: None,
                        rbuf: rest,
                    };
                    return true;
                }
                Next::Failed(f) => {
                    let at_once = f.retry == handshake::Retry::AfterFailure;
                    self.link_down(io, at_once, &f.msg);
                    return false;
                }
            }
        }
    }

    /// Reads the transfer header and the snapshot.
    fn transfer_step(&mut self, io: &mut NodeIo) -> bool {
        let now = io.now_ms();
        let Link::Transfer {
            conn,
            last_io,
            replid,
            offset,
            transfer,
            rbuf,
        } = &mut self.link
        else {
            return false;
        };
        *last_io = now;
        let conn = *conn;
        if transfer.is_none() {
            let keepalives = rbuf.iter().take_while(|&&b| b == b'\n').count();
            rbuf.drain(..keepalives);
            let Some(end) = rbuf.iter().position(|&b| b == b'\n') else {
                return false;
            };
            let line = String::from_utf8_lossy(&rbuf[..end])
                .trim_end_matches('\r')
                .to_string();
            rbuf.drain(..=end);
            match handshake::parse_transfer_header(&line) {
                Ok(t) => *transfer = Some(t),
                Err(f) => {
                    self.link_down(io, true, &f.msg);
                    return false;
                }
            }
        }
        let Some(Transfer::Sized(len)) = transfer else {
            self.link_down(io, true, "the model sends sized transfers only");
            return false;
        };
        let len = *len as usize;
        if rbuf.len() < len {
            return false;
        }
        let payload: Vec<u8> = rbuf.drain(..len).collect();
        let rest = std::mem::take(rbuf);
        let (replid, offset) = (replid.clone(), *offset);
        let Some(data) = load_snapshot(&payload) else {
            let f = handshake::load_failed(false, false);
            self.link_down(io, true, &f.msg);
            return false;
        };
        self.data = data;
        self.repl
            .adopt_master_history(&replid, offset, self.timing.backlog_size);
        if let Some(m) = self.repl.master.as_mut() {
            m.read_offset = offset;
        }
        // Our replicas followed the old history: they must sync again.
        self.drop_replicas(io);
        self.stream_up(conn, rest, io);
        true
    }

    fn stream_up(&mut self, conn: ConnId, rest: Vec<u8>, io: &mut NodeIo) {
        self.set_link_state(LinkState::Connected);
        self.repl.psync_possible = true;
        self.link = Link::Streaming {
            conn,
            last_io: io.now_ms(),
            rbuf: rest,
        };
    }

    /// Applies every whole command of the master's stream, passing the same
    /// bytes on to our own replicas.
    fn stream_step(&mut self, io: &mut NodeIo) {
        let Link::Streaming { conn, rbuf, .. } = &mut self.link else {
            return;
        };
        let conn = *conn;
        let mut buf = BytesMut::from(&rbuf[..]);
        let limits = ParseLimits {
            max_bulk_bytes: i64::MAX,
            authenticated: true,
        };
        let mut acks = Vec::new();
        let mut failed = None;
        loop {
            let before = buf.len();
            let raw_start = rbuf.len() - before;
            match parse_request(&mut buf, limits) {
                Ok(Some(req)) => {
                    let n = before - buf.len();
                    let args: Vec<Vec<u8>> = req.args.iter().map(|a| a.to_vec()).collect();
                    let getack = args.len() >= 2
                        && args[0].eq_ignore_ascii_case(b"replconf")
                        && args[1].eq_ignore_ascii_case(b"getack");
                    if getack {
                        acks.push(self.repl.offset);
                    } else {
                        apply(&mut self.data, &args);
                    }
                    let raw = rbuf[raw_start..raw_start + n].to_vec();
                    if self.repl.buffer.is_some() {
                        self.repl.feed(&raw);
                    } else {
                        self.repl.offset += n as u64;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    failed = Some(format!("Protocol error from master: {}", e.0));
                    break;
                }
            }
        }
        let used = rbuf.len() - buf.len();
        rbuf.drain(..used);
        for offset in acks {
            let mut out = Vec::new();
            let text = offset.to_string();
            encode_command(&mut out, &[&b"REPLCONF"[..], b"ACK", text.as_bytes()]);
            io.send(conn, out);
        }
        if let Some(m) = self.repl.master.as_mut() {
            m.read_offset = self.repl.offset;
        }
        self.push_stream(io);
        if let Some(why) = failed {
            self.protocol_errors += 1;
            self.link_down(io, false, &why);
        }
    }

    // ---- the master side ----

    fn inbound_data(&mut self, conn: ConnId, data: Vec<u8>, io: &mut NodeIo) {
        let Some(inb) = self.inbound.get_mut(&conn) else {
            return;
        };
        inb.rbuf.extend_from_slice(&data);
        let limits = ParseLimits {
            max_bulk_bytes: 1 << 20,
            authenticated: true,
        };
        loop {
            let Some(inb) = self.inbound.get_mut(&conn) else {
                return;
            };
            let req = match parse_request(&mut inb.rbuf, limits) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(_) => {
                    io.close(conn);
                    self.inbound_gone(conn, io.now_ms());
                    return;
                }
            };
            let args: Vec<Vec<u8>> = req.args.iter().map(|a| a.to_vec()).collect();
            self.inbound_command(conn, &args, io);
        }
    }

    fn inbound_command(&mut self, conn: ConnId, args: &[Vec<u8>], io: &mut NodeIo) {
        let Some(name) = args.first() else {
            return;
        };
        let name = name.to_ascii_lowercase();
        let now = io.now_ms();
        let reply: Vec<u8> = match (&name[..], args.get(1).map(|a| a.to_ascii_lowercase())) {
            (b"ping", _) => b"+PONG\r\n".to_vec(),
            (b"replconf", Some(sub)) if sub == b"ack" => {
                let offset = args
                    .get(2)
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|a| a.parse::<u64>().ok())
                    .unwrap_or(0);
                let id = self.inbound[&conn].client_id;
                if let Some(r) = self.repl.replica_mut(id) {
                    r.ack_offset = r.ack_offset.max(offset);
                    r.ack_ms = now;
                }
                return;
            }
            (b"replconf", Some(sub)) if sub == b"listening-port" => {
                let port = args
                    .get(2)
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                if let Some(inb) = self.inbound.get_mut(&conn) {
                    inb.listening_port = port;
                }
                b"+OK\r\n".to_vec()
            }
            (b"replconf", _) => b"+OK\r\n".to_vec(),
            (b"psync", _) if args.len() >= 3 => {
                self.psync(conn, args, io);
                return;
            }
            _ => b"-ERR unknown command\r\n".to_vec(),
        };
        io.send(conn, reply);
    }

    fn psync(&mut self, conn: ConnId, args: &[Vec<u8>], io: &mut NodeIo) {
        if self.master.is_some() && !self.link_up() {
            let error = format!("-{}\r\n", redust_replication::master::NOMASTERLINK);
            io.send(conn, error.into_bytes());
            return;
        }
        let Some(inb) = self.inbound.get_mut(&conn) else {
            return;
        };
        if inb.replica {
            return;
        }
        inb.replica = true;
        let (client_id, port, from) = (inb.client_id, inb.listening_port, inb.from);
        let replid = String::from_utf8_lossy(&args[1]).into_owned();
        let position = std::str::from_utf8(&args[2])
            .ok()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(-1);
        let name = format!("node{from}:{port}");
        let now = io.now_ms();
        let mut logs = Logs::new();
        let request = PsyncRequest {
            replid: &replid,
            position,
            is_psync: true,
            capa_psync2: true,
            name: &name,
        };
        let answer = self
            .repl
            .answer_psync(&request, self.timing.backlog_size, &mut logs);
        self.note(io, logs);
        let mut record = ReplicaRecord {
            client_id,
            ip: format!("node{from}"),
            listening_port: port,
            state: ReplicaState::WaitBgsave,
            position: 0,
            ack_offset: 0,
            ack_ms: now,
            capa_eof: true,
            capa_psync2: true,
            psync: true,
            soft_limit_since_ms: 0,
        };
        if let PsyncAnswer::Continue { reply, position } = answer {
            record.state = ReplicaState::Online;
            record.position = position;
            io.send(conn, format!("+{reply}\r\n").into_bytes());
        }
        self.repl.replicas.push(record);
        self.push_stream(io);
    }

    /// Starts the full syncs the replicas wait for (a snapshot of the data
    /// at this offset, sent at once, then the stream after it).
    fn start_full_syncs(&mut self, io: &mut NodeIo) {
        let settings = SyncSettings {
            diskless: false,
            delay_ms: 0,
            max_replicas: 0,
        };
        let Some(plan) = self.repl.plan_full_sync(io.now_ms(), settings, false) else {
            return;
        };
        let (replid, offset) = self.repl.begin_full_sync(&plan);
        let snapshot = save_snapshot(&self.data);
        for id in &plan.targets {
            let Some((&conn, _)) = self.inbound.iter().find(|(_, i)| i.client_id == *id) else {
                continue;
            };
            let mut out =
                format!("+FULLRESYNC {replid} {offset}\r\n\n${}\r\n", snapshot.len()).into_bytes();
            out.extend_from_slice(&snapshot);
            io.send(conn, out);
            if let Some(r) = self.repl.replica_mut(*id) {
                r.state = ReplicaState::Online;
                r.ack_ms = io.now_ms();
            }
        }
        self.push_stream(io);
    }

    /// Sends every online replica the stream it has not had yet.
    fn push_stream(&mut self, io: &mut NodeIo) {
        let Some(buffer) = self.repl.buffer.as_ref() else {
            return;
        };
        let mut sends = Vec::new();
        for r in self.repl.replicas.iter_mut() {
            if r.state != ReplicaState::Online {
                continue;
            }
            let mut out = Vec::new();
            let n = buffer.read(r.position, usize::MAX, &mut out);
            if n == 0 {
                continue;
            }
            r.position += n as u64;
            if let Some((&conn, _)) = self
                .inbound
                .iter()
                .find(|(_, i)| i.client_id == r.client_id)
            {
                sends.push((conn, out));
            }
        }
        for (conn, out) in sends {
            io.send(conn, out);
        }
        self.repl.trim();
    }

    fn inbound_gone(&mut self, conn: ConnId, now: i64) {
        if let Some(inb) = self.inbound.remove(&conn) {
            self.repl.remove_replica(inb.client_id, now);
            self.repl.trim();
        }
    }

    fn drop_replicas(&mut self, io: &mut NodeIo) {
        let conns: Vec<ConnId> = self
            .inbound
            .iter()
            .filter(|(_, i)| i.replica)
            .map(|(&c, _)| c)
            .collect();
        for conn in conns {
            io.close(conn);
            self.inbound_gone(conn, io.now_ms());
        }
    }

    /// The master side of the cron: PINGs, timeouts, backlog TTL, full syncs.
    fn master_tick(&mut self, io: &mut NodeIo) {
        let now = io.now_ms();
        if self.master.is_none()
            && !self.repl.replicas.is_empty()
            && now - self.last_ping >= self.timing.ping_period_ms
        {
            self.last_ping = now;
            self.repl.feed(b"*1\r\n$4\r\nPING\r\n");
        }
        let timed_out: Vec<u64> = self
            .repl
            .timed_out_replicas(now, self.timing.repl_timeout_ms)
            .iter()
            .map(|r| r.client_id)
            .collect();
        for id in timed_out {
            if let Some((&conn, _)) = self.inbound.iter().find(|(_, i)| i.client_id == id) {
                io.close(conn);
                self.inbound_gone(conn, now);
            }
        }
        self.repl.expire_backlog(now, 3_600_000);
        self.start_full_syncs(io);
        self.push_stream(io);
    }

    fn save(&mut self, now: i64) {
        self.saved = Some(Saved {
            data: self.data.clone(),
            replid: self.repl.replid.clone(),
            offset: self.repl.offset,
        });
        self.last_save = now;
    }
}

impl SimNode for ReplNode {
    fn on_event(&mut self, event: Event, io: &mut NodeIo) {
        match event {
            Event::Tick => {
                self.link_tick(io);
                self.master_tick(io);
                if io.now_ms() - self.last_save >= self.timing.save_period_ms {
                    self.save(io.now_ms());
                }
            }
            Event::Accepted { conn, from } => {
                self.next_client += 1;
                self.inbound.insert(
                    conn,
                    Inbound {
                        client_id: self.next_client,
                        from,
                        rbuf: BytesMut::new(),
                        listening_port: 0,
                        replica: false,
                    },
                );
            }
            Event::Connected { conn } => {
                if self.link.conn() == Some(conn) {
                    let mut machine = Handshake::new(self.handshake_settings());
                    let Next::Send(cmd) = machine.start() else {
                        return;
                    };
                    let mut out = Vec::new();
                    encode_command(&mut out, &cmd);
                    io.send(conn, out);
                    self.set_link_state(LinkState::Handshake);
                    self.link = Link::Handshake {
                        conn,
                        since: io.now_ms(),
                        machine,
                        rbuf: Vec::new(),
                    };
                }
            }
            Event::ConnectFailed { conn } => {
                if self.link.conn() == Some(conn) {
                    let f = handshake::connect_failed(false, "Connection refused");
                    self.link_down(io, false, &f.msg);
                }
            }
            Event::Data { conn, data } => {
                if self.inbound.contains_key(&conn) {
                    self.inbound_data(conn, data, io);
                } else {
                    self.link_data(conn, data, io);
                }
            }
            Event::Closed { conn } => {
                if self.inbound.contains_key(&conn) {
                    self.inbound_gone(conn, io.now_ms());
                } else if self.link.conn() == Some(conn) {
                    let at_once = matches!(self.link, Link::Transfer { .. });
                    self.link_down(io, at_once, "Connection with master lost.");
                }
            }
            Event::Datagram { .. } => {}
        }
    }

    fn restart(&mut self, io: &mut NodeIo) {
        let seed = rand::Rng::gen(io.rng());
        let master = self.master;
        self.repl = Replication::with_seed(seed);
        self.inbound.clear();
        self.link = Link::Idle { retry_at: 0 };
        self.data = Data::new();
        self.master = None;
        if let Some(m) = master {
            self.follow_link(m, io.now_ms());
        }
        if let Some(saved) = self.saved.clone() {
            self.data = saved.data;
            self.repl.restore_history(
                &saved.replid,
                saved.offset,
                0,
                self.timing.backlog_size,
                io.now_ms(),
            );
        }
        self.last_ping = io.now_ms();
        self.last_save = io.now_ms();
        self.log
            .push(format!("{} node{}: restarted", io.now_ms(), self.id));
    }
}

/// Applies a write to the dataset (what the model's clients send).
fn apply(data: &mut Data, args: &[Vec<u8>]) {
    let Some(name) = args.first() else {
        return;
    };
    match (&name.to_ascii_lowercase()[..], args.len()) {
        (b"set", 3) => {
            data.insert(args[1].clone(), args[2].clone());
        }
        (b"del", 2) => {
            data.remove(&args[1]);
        }
        (b"incr", 2) => {
            let v = data
                .get(&args[1])
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            data.insert(
                args[1].clone(),
                (v.wrapping_add(1)).to_string().into_bytes(),
            );
        }
        (b"append", 3) => {
            data.entry(args[1].clone())
                .or_default()
                .extend_from_slice(&args[2]);
        }
        _ => {}
    }
}

/// The model's snapshot: the dataset as SET commands.
fn save_snapshot(data: &Data) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in data {
        encode_command(&mut out, &[&b"SET"[..], k, v]);
    }
    out
}

fn load_snapshot(bytes: &[u8]) -> Option<Data> {
    let mut buf = BytesMut::from(bytes);
    let limits = ParseLimits {
        max_bulk_bytes: i64::MAX,
        authenticated: true,
    };
    let mut data = Data::new();
    while !buf.is_empty() {
        let req = parse_request(&mut buf, limits).ok()??;
        let args: Vec<Vec<u8>> = req.args.iter().map(|a| a.to_vec()).collect();
        apply(&mut data, &args);
    }
    Some(data)
}

/// A randomized run: one master and replicas (one of them chained behind
/// another when there are four nodes or more), client writes on the
/// master, and faults for `chaos_ms`; then the faults end, the writes stop,
/// and every node must converge within `settle_ms`.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub nodes: usize,
    pub chaos_ms: i64,
    pub settle_ms: i64,
    /// Promote a replica now and then (REPLICAOF NO ONE, the others follow it).
    pub failovers: bool,
    /// Crash and restart nodes now and then.
    pub crashes: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 4,
            chaos_ms: 30_000,
            settle_ms: 60_000,
            failovers: true,
            crashes: true,
        }
    }
}

/// What a passing run did (to show that the faults happened).
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub writes: u64,
    pub failovers: u64,
    pub crashes: u64,
    pub partitions: u64,
    pub pauses: u64,
    pub full_syncs: u64,
    pub partial_syncs: u64,
    pub settled_at_ms: i64,
}

/// Runs `scenario` from `seed`; the error names the broken invariant and
/// ends with the nodes' last log lines.
pub fn run_scenario(seed: u64, scenario: &Scenario) -> Result<Outcome, String> {
    use super::{Faults, Sim};
    use rand::Rng;
    let timing = Timing::default();
    let n = scenario.nodes.max(2);
    let nodes = (0..n)
        .map(|id| {
            let master = match id {
                0 => None,
                3 => Some(1),
                _ => Some(0),
            };
            ReplNode::new(
                id,
                master,
                timing,
                seed.wrapping_mul(31).wrapping_add(id as u64),
            )
        })
        .collect();
    let mut sim = Sim::new(seed, nodes, 100);
    sim.faults = Faults {
        latency_ms: (1, 30),
        reset: 0.002,
        connect_fail: 0.05,
        drop: 0.0,
        duplicate: 0.0,
    };
    let mut out = Outcome::default();
    let mut current = 0usize;
    // Per node: the highest offset seen for each replication id (an
    // offset never goes back within one history; a restart forgets).
    let mut seen: Vec<BTreeMap<String, u64>> = vec![BTreeMap::new(); n];
    let mut until_heal = 0i64;
    let mut downs: Vec<(NodeId, i64)> = Vec::new();
    let mut pauses: Vec<(NodeId, i64)> = Vec::new();
    let step = 50;
    while sim.now_ms() < scenario.chaos_ms {
        sim.run_for(step);
        let now = sim.now_ms();
        check_invariants(&sim, &mut seen).map_err(|e| report(&sim, seed, &e))?;
        // Client writes on the master.
        if !sim.is_down(current) && !sim.is_paused(current) {
            let writes = sim.rng().gen_range(0..4);
            for _ in 0..writes {
                let cmd = random_write(sim.rng());
                if sim.with_node(current, |node, io| node.client_write(&cmd, io)) {
                    out.writes += 1;
                }
            }
        }
        // Faults.
        if until_heal > 0 && now >= until_heal {
            sim.heal();
            until_heal = 0;
            pauses.clear();
        }
        let roll: f64 = sim.rng().gen();
        if roll < 0.01 && until_heal == 0 {
            let a = sim.rng().gen_range(0..n);
            let b = sim.rng().gen_range(0..n);
            if a != b {
                sim.partition(a, b);
                until_heal = now + sim.rng().gen_range(500..8_000);
                out.partitions += 1;
            }
        } else if roll < 0.02 {
            let id = sim.rng().gen_range(0..n);
            if !sim.is_down(id) && !sim.is_paused(id) {
                sim.pause(id);
                let back = now + sim.rng().gen_range(200..6_000);
                pauses.push((id, back));
                out.pauses += 1;
            }
        } else if roll < 0.025 && scenario.crashes {
            let id = sim.rng().gen_range(0..n);
            if !sim.is_down(id) {
                sim.crash(id);
                let back = now + sim.rng().gen_range(200..5_000);
                downs.push((id, back));
                out.crashes += 1;
            }
        } else if roll < 0.03 && scenario.failovers {
            // Promote a live replica of the current master; everyone
            // else follows it.
            let candidates: Vec<NodeId> = (0..n)
                .filter(|&i| {
                    i != current
                        && !sim.is_down(i)
                        && !sim.is_paused(i)
                        && sim.nodes[i].master == Some(current)
                })
                .collect();
            if !candidates.is_empty() {
                let pick = candidates[sim.rng().gen_range(0..candidates.len())];
                sim.with_node(pick, |node, io| node.promote(io));
                for i in 0..n {
                    if i != pick && !sim.is_down(i) {
                        sim.with_node(i, |node, io| node.follow(pick, io));
                    }
                }
                // A node that is down follows when it comes back.
                for &(i, _) in &downs {
                    sim.nodes[i].master = Some(pick);
                }
                current = pick;
                out.failovers += 1;
            }
        }
        for (id, back) in std::mem::take(&mut pauses) {
            if now >= back {
                sim.resume(id);
            } else {
                pauses.push((id, back));
            }
        }
        for (id, back) in std::mem::take(&mut downs) {
            if now >= back {
                sim.restart(id);
                seen[id].clear();
            } else {
                downs.push((id, back));
            }
        }
    }
    // Settle: no more faults nor writes.
    sim.heal();
    sim.faults = Faults::none();
    for (id, _) in downs {
        sim.restart(id);
        seen[id].clear();
    }
    let deadline = sim.now_ms() + scenario.settle_ms;
    loop {
        if converged(&sim, current) {
            break;
        }
        if sim.now_ms() >= deadline {
            return Err(report(
                &sim,
                seed,
                &format!(
                    "no convergence {} ms after the faults ended: {}",
                    scenario.settle_ms,
                    describe(&sim, current)
                ),
            ));
        }
        sim.run_for(step);
        check_invariants(&sim, &mut seen).map_err(|e| report(&sim, seed, &e))?;
    }
    out.settled_at_ms = sim.now_ms() - scenario.chaos_ms;
    for node in &sim.nodes {
        out.full_syncs += node.repl.sync_full;
        out.partial_syncs += node.repl.sync_partial_ok;
    }
    Ok(out)
}

/// Invariants that hold at every instant.
fn check_invariants(
    sim: &super::Sim<ReplNode>,
    seen: &mut [BTreeMap<String, u64>],
) -> Result<(), String> {
    let mut masters: BTreeMap<&str, NodeId> = BTreeMap::new();
    for (id, node) in sim.nodes.iter().enumerate() {
        if sim.is_down(id) {
            continue;
        }
        if node.master.is_none() {
            // At most one master per history: two masters writing under
            // one replication id would make offsets name different bytes.
            if let Some(other) = masters.insert(&node.repl.replid, id) {
                return Err(format!(
                    "nodes {other} and {id} are both masters of history {}",
                    node.repl.replid
                ));
            }
        }
        let best = seen[id].entry(node.repl.replid.clone()).or_insert(0);
        if node.repl.offset < *best {
            return Err(format!(
                "node {id}'s offset went back from {} to {} in history {}",
                best, node.repl.offset, node.repl.replid
            ));
        }
        *best = node.repl.offset;
        if node.protocol_errors > 0 {
            return Err(format!("node {id} could not parse its master's stream"));
        }
    }
    Ok(())
}

/// Every node follows the master's history to its last byte, with its data.
fn converged(sim: &super::Sim<ReplNode>, master: NodeId) -> bool {
    let m = &sim.nodes[master];
    sim.nodes.iter().enumerate().all(|(id, node)| {
        id == master
            || (node.link_up()
                && node.repl.replid == m.repl.replid
                && node.repl.offset == m.repl.offset
                && node.digest() == m.digest())
    })
}

fn describe(sim: &super::Sim<ReplNode>, master: NodeId) -> String {
    let m = &sim.nodes[master].data;
    sim.nodes
        .iter()
        .map(|n| {
            // The first keys whose values differ from the master's.
            let diff: Vec<String> = m
                .keys()
                .chain(n.data.keys())
                .filter(|k| m.get(*k) != n.data.get(*k))
                .take(2)
                .map(|k| {
                    let show = |v: Option<&Vec<u8>>| {
                        v.map_or("nil".to_string(), |v| {
                            String::from_utf8_lossy(v).into_owned()
                        })
                    };
                    format!(
                        "{}: {} vs {}",
                        String::from_utf8_lossy(k),
                        show(n.data.get(k)),
                        show(m.get(k))
                    )
                })
                .collect();
            format!(
                "[node{} master={:?} up={} replid={} offset={} keys={} digest={:x} diff={:?}]",
                n.id,
                n.master,
                n.link_up(),
                &n.repl.replid[..8],
                n.repl.offset,
                n.data.len(),
                n.digest(),
                diff
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn report(sim: &super::Sim<ReplNode>, seed: u64, what: &str) -> String {
    let mut lines: Vec<&String> = sim.nodes.iter().flat_map(|n| n.log.iter()).collect();
    lines.sort_by_key(|l| {
        l.split(' ')
            .next()
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0)
    });
    let tail: Vec<&str> = lines
        .iter()
        .rev()
        .take(40)
        .rev()
        .map(|s| s.as_str())
        .collect();
    format!(
        "seed {seed} at {} ms: {what}\nreplay: REDUST_SIM_SEED={seed} cargo test -p redust-test-support --test sim_replication\nlast log lines:\n{}",
        sim.now_ms(),
        tail.join("\n")
    )
}

fn random_write(rng: &mut impl rand::Rng) -> Vec<Vec<u8>> {
    let key = format!("k{}", rng.gen_range(0..20)).into_bytes();
    match rng.gen_range(0..10) {
        0 => vec![b"DEL".to_vec(), key],
        1..=3 => vec![b"INCR".to_vec(), key],
        4 => vec![b"APPEND".to_vec(), key, b"x".to_vec()],
        _ => {
            let len = rng.gen_range(1..200);
            let v: Vec<u8> = (0..len).map(|_| rng.gen_range(b'a'..=b'z')).collect();
            vec![b"SET".to_vec(), key, v]
        }
    }
}
