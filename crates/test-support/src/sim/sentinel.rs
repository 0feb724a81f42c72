//! Sentinel in the simulation: real `redust-sentinel` state machines
//! (monitoring, hellos, agreement, failover) with a thin shell that speaks
//! RESP over the simulated connections, next to toy Redis nodes that
//! answer what Sentinel asks (PING, INFO, PUBLISH/SUBSCRIBE for hellos,
//! REPLCONF from their replicas, the MULTI/SLAVEOF/EXEC reconfiguration).
//!
//! Addresses: Redis node `i` is 127.0.0.1:(6379 + i), Sentinel node `i`
//! 127.0.0.1:(26379 + i). The Sentinel shell passes the simulated time
//! plus a fixed offset (the state machine's 0 means "never").

use super::{ConnId, Event, NodeId, NodeIo, SimNode};
use bytes::{Bytes, BytesMut};
use redust_resp::{decode_frame, encode_command, parse_request, Frame, FrameLimits, ParseLimits};
use redust_sentinel::config::{load, Environment, SentinelLine};
use redust_sentinel::election::DownAnswer;
use redust_sentinel::monitor::{Action, Monitor, PingReply, ReconfigRole, Target};
use std::collections::{BTreeMap, VecDeque};

pub const REDIS_BASE_PORT: u16 = 6379;
pub const SENTINEL_BASE_PORT: u16 = 26379;
/// What the toy nodes answer to anything they do not model.
const TOY_REFUSAL: &[u8] = b"-ERR the toy does not model this\r\n";

/// Added to the simulated clock for the state machines.
const CLOCK_OFFSET: i64 = 1_000_000_000;

/// The node at a port.
pub fn node_of_port(port: u16) -> Option<NodeId> {
    if port >= SENTINEL_BASE_PORT {
        Some((port - SENTINEL_BASE_PORT) as NodeId)
    } else {
        port.checked_sub(REDIS_BASE_PORT).map(|p| p as NodeId)
    }
}

/// One node of the simulated deployment.
pub enum Node {
    Redis(ToyRedis),
    Sentinel(Box<SentinelNode>),
}

impl SimNode for Node {
    fn on_event(&mut self, event: Event, io: &mut NodeIo) {
        match self {
            Node::Redis(r) => r.on_event(event, io),
            Node::Sentinel(s) => s.on_event(event, io),
        }
    }

    fn restart(&mut self, io: &mut NodeIo) {
        match self {
            Node::Redis(r) => r.restart(io),
            Node::Sentinel(s) => s.restart(io),
        }
    }
}

// ---------------------------------------------------------------------------
// A toy Redis node
// ---------------------------------------------------------------------------

#[derive(Default)]
struct ClientConn {
    buf: BytesMut,
    subscribed: bool,
    replica_port: Option<u16>,
    multi: Option<Vec<Vec<Bytes>>>,
}

/// A Redis node as far as Sentinel can tell: a role, a master link, its
/// replicas, pub/sub for hellos.
pub struct ToyRedis {
    pub id: NodeId,
    pub run_id: String,
    /// The master it replicates (`SLAVEOF`), as a node id.
    pub replica_of: Option<NodeId>,
    upstream: Option<ConnId>,
    pub link_up: bool,
    link_down_since: i64,
    clients: BTreeMap<ConnId, ClientConn>,
    restarts: u32,
}

impl ToyRedis {
    pub fn new(id: NodeId, replica_of: Option<NodeId>) -> ToyRedis {
        ToyRedis {
            id,
            run_id: format!("{:040x}", id + 1),
            replica_of,
            upstream: None,
            link_up: false,
            link_down_since: 0,
            clients: BTreeMap::new(),
            restarts: 0,
        }
    }

    fn port(&self) -> u16 {
        REDIS_BASE_PORT + self.id as u16
    }

    fn info(&self, now: i64) -> String {
        let mut s = format!("run_id:{}\r\n", self.run_id);
        match self.replica_of {
            None => {
                s.push_str("role:master\r\n");
                let ports: Vec<u16> = self
                    .clients
                    .values()
                    .filter_map(|c| c.replica_port)
                    .collect();
                for (i, p) in ports.iter().enumerate() {
                    s.push_str(&format!(
                        "slave{i}:ip=127.0.0.1,port={p},state=online,offset=0,lag=0\r\n"
                    ));
                }
            }
            Some(m) => {
                s.push_str(&format!(
                    "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n",
                    REDIS_BASE_PORT + m as u16,
                    if self.link_up { "up" } else { "down" }
                ));
                if !self.link_up {
                    s.push_str(&format!(
                        "master_link_down_since_seconds:{}\r\n",
                        ((now - self.link_down_since) / 1000).max(1)
                    ));
                }
                s.push_str("slave_repl_offset:0\r\nslave_priority:100\r\n");
            }
        }
        s
    }

    fn drop_upstream(&mut self, io: &mut NodeIo) {
        if let Some(c) = self.upstream.take() {
            io.close(c);
        }
        if self.link_up {
            self.link_up = false;
            self.link_down_since = io.now_ms();
        }
    }

    /// Runs one command; its reply.
    fn run(
        &mut self,
        conn: ConnId,
        args: &[Bytes],
        io: &mut NodeIo,
        kills: &mut Vec<ConnId>,
    ) -> Vec<u8> {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        let arg = |i: usize| {
            args.get(i)
                .map(|a| String::from_utf8_lossy(a).to_string())
                .unwrap_or_default()
        };
        let client = self.clients.entry(conn).or_default();
        if let Some(queue) = client.multi.as_mut() {
            if name != "EXEC" {
                queue.push(args.to_vec());
                return b"+QUEUED\r\n".to_vec();
            }
        }
        match name.as_str() {
            "PING" => b"+PONG\r\n".to_vec(),
            "INFO" => {
                let text = self.info(io.now_ms());
                format!("${}\r\n{}\r\n", text.len(), text).into_bytes()
            }
            "SUBSCRIBE" => {
                client.subscribed = true;
                let ch = arg(1);
                format!("*3\r\n$9\r\nsubscribe\r\n${}\r\n{}\r\n:1\r\n", ch.len(), ch).into_bytes()
            }
            "PUBLISH" => {
                let (ch, msg) = (arg(1), arg(2));
                let mut message = Vec::new();
                encode_command(
                    &mut message,
                    &[b"message".as_slice(), ch.as_bytes(), msg.as_bytes()],
                );
                let subscribers: Vec<ConnId> = self
                    .clients
                    .iter()
                    .filter(|(_, c)| c.subscribed)
                    .map(|(k, _)| *k)
                    .collect();
                for s in &subscribers {
                    io.send(*s, message.clone());
                }
                format!(":{}\r\n", subscribers.len()).into_bytes()
            }
            "REPLCONF" => {
                if arg(1).eq_ignore_ascii_case("listening-port") {
                    client.replica_port = arg(2).parse().ok();
                }
                b"+OK\r\n".to_vec()
            }
            "MULTI" => {
                client.multi = Some(Vec::new());
                b"+OK\r\n".to_vec()
            }
            "EXEC" => {
                let queue = client.multi.take().unwrap_or_default();
                let mut out = format!("*{}\r\n", queue.len()).into_bytes();
                for q in queue {
                    out.extend(self.run(conn, &q, io, kills));
                }
                out
            }
            "SLAVEOF" | "REPLICAOF" => {
                if arg(1).eq_ignore_ascii_case("no") {
                    self.replica_of = None;
                } else {
                    self.replica_of = arg(2).parse().ok().and_then(node_of_port);
                }
                self.drop_upstream(io);
                b"+OK\r\n".to_vec()
            }
            "CONFIG" => b"+OK\r\n".to_vec(),
            "CLIENT" => {
                // KILL TYPE normal / pubsub: every other client of that kind.
                let pubsub = arg(3).eq_ignore_ascii_case("pubsub");
                for (k, c) in &self.clients {
                    if *k != conn && c.replica_port.is_none() && c.subscribed == pubsub {
                        kills.push(*k);
                    }
                }
                b":0\r\n".to_vec()
            }
            "SCRIPT" => b"-NOTBUSY the toy runs no scripts\r\n".to_vec(),
            _ => TOY_REFUSAL.to_vec(),
        }
    }

    fn on_event(&mut self, event: Event, io: &mut NodeIo) {
        match event {
            Event::Tick => {
                if let (Some(m), None) = (self.replica_of, self.upstream) {
                    self.upstream = Some(io.connect(m));
                }
            }
            Event::Connected { conn } if Some(conn) == self.upstream => {
                let mut out = Vec::new();
                let port = self.port().to_string();
                encode_command(
                    &mut out,
                    &[b"REPLCONF".as_slice(), b"listening-port", port.as_bytes()],
                );
                io.send(conn, out);
                self.link_up = true;
            }
            Event::ConnectFailed { conn } | Event::Closed { conn }
                if Some(conn) == self.upstream =>
            {
                self.upstream = None;
                if self.link_up {
                    self.link_up = false;
                    self.link_down_since = io.now_ms();
                }
            }
            Event::Data { conn, .. } if Some(conn) == self.upstream => {}
            Event::Accepted { conn, .. } => {
                self.clients.insert(conn, ClientConn::default());
            }
            Event::Closed { conn } => {
                self.clients.remove(&conn);
            }
            Event::Data { conn, data } => {
                let Some(c) = self.clients.get_mut(&conn) else {
                    return;
                };
                c.buf.extend_from_slice(&data);
                let mut requests = Vec::new();
                while let Ok(Some(r)) = parse_request(&mut c.buf, ParseLimits::default()) {
                    if !r.args.is_empty() {
                        requests.push(r.args);
                    }
                }
                let mut out = Vec::new();
                let mut kills = Vec::new();
                for args in requests {
                    out.extend(self.run(conn, &args, io, &mut kills));
                }
                io.send(conn, out);
                for k in kills {
                    self.clients.remove(&k);
                    io.close(k);
                }
            }
            _ => {}
        }
    }

    /// Back from a crash: the same role it had on disk, a new run id.
    fn restart(&mut self, _io: &mut NodeIo) {
        self.restarts += 1;
        self.run_id = format!("{:032x}{:08x}", self.id + 1, self.restarts);
        self.upstream = None;
        self.link_up = false;
        self.clients.clear();
    }
}

// ---------------------------------------------------------------------------
// A Sentinel node: the state machine and a thin RESP shell
// ---------------------------------------------------------------------------

/// What a command sent on a link was, to read its reply.
#[derive(Clone, Copy, Debug)]
enum Sent {
    Ping,
    Info,
    Question { peer: usize },
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LinkKind {
    Cmd,
    PubSub,
}

/// A link from this Sentinel: to which instance of master 0, and its kind.
type LinkKey = (TargetKey, LinkKind);

/// `Target` made orderable for the link table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TargetKey {
    Master,
    Replica(usize),
    Sentinel(usize),
}

impl TargetKey {
    fn of(t: Target) -> TargetKey {
        match t {
            Target::Master => TargetKey::Master,
            Target::Replica(i) => TargetKey::Replica(i),
            Target::Sentinel(i) => TargetKey::Sentinel(i),
        }
    }
    fn target(self) -> Target {
        match self {
            TargetKey::Master => Target::Master,
            TargetKey::Replica(i) => Target::Replica(i),
            TargetKey::Sentinel(i) => Target::Sentinel(i),
        }
    }
}

struct Link {
    conn: ConnId,
    up: bool,
    /// Where it goes (the instance may move, e.g. after +switch-master).
    addr: (String, u16),
    buf: Vec<u8>,
    sent: VecDeque<Sent>,
}

/// An event a Sentinel reported, with its epoch then.
#[derive(Clone, Debug)]
pub struct Reported {
    pub at_ms: i64,
    pub name: &'static str,
    pub detail: String,
    pub epoch: u64,
}

pub struct SentinelNode {
    pub id: NodeId,
    pub monitor: Monitor,
    links: BTreeMap<LinkKey, Link>,
    by_conn: BTreeMap<ConnId, LinkKey>,
    /// Connections other Sentinels opened to us, with their buffers.
    incoming: BTreeMap<ConnId, BytesMut>,
    pub events: Vec<Reported>,
    /// Every client reconfiguration asked for: (role, from port, to port).
    pub reconfigs: Vec<(ReconfigRole, u16, u16)>,
}

struct AnyExecutable;

impl Environment for AnyExecutable {
    fn executable(&self, _: &str) -> bool {
        true
    }
    fn resolve(&self, _: &str) -> Option<String> {
        None
    }
}

impl SentinelNode {
    /// Sentinel node `id` monitoring `config` (lines after `sentinel`).
    pub fn new(id: NodeId, config: &str, seed: u64) -> SentinelNode {
        let lines: Vec<SentinelLine> = config
            .lines()
            .enumerate()
            .map(|(n, l)| SentinelLine {
                line_number: n + 1,
                text: l.to_string(),
                args: l.split_whitespace().map(str::to_string).collect(),
            })
            .collect();
        let config = load(&lines, &AnyExecutable).expect("a valid sentinel config");
        let mut monitor = Monitor::new(
            &config.masters,
            &format!("{:040x}", 0xabc000 + id),
            0,
            CLOCK_OFFSET,
        );
        monitor.announce = Some(("127.0.0.1".into(), SENTINEL_BASE_PORT + id as u16));
        monitor.rng = seed | 1;
        SentinelNode {
            id,
            monitor,
            links: BTreeMap::new(),
            by_conn: BTreeMap::new(),
            incoming: BTreeMap::new(),
            events: Vec::new(),
            reconfigs: Vec::new(),
        }
    }

    fn now(io: &NodeIo) -> i64 {
        io.now_ms() + CLOCK_OFFSET
    }

    /// Where each instance of master 0 is now, by link key.
    fn wanted(&self) -> Vec<(LinkKey, (String, u16))> {
        let m = &self.monitor.masters[0];
        let mut out = Vec::new();
        let mut add = |t: TargetKey, ip: &str, port: u16, pubsub: bool| {
            out.push(((t, LinkKind::Cmd), (ip.to_string(), port)));
            if pubsub {
                out.push(((t, LinkKind::PubSub), (ip.to_string(), port)));
            }
        };
        add(TargetKey::Master, &m.master.ip, m.master.port, true);
        for (i, r) in m.replicas.iter().enumerate() {
            add(TargetKey::Replica(i), &r.ip, r.port, true);
        }
        for (i, p) in m.sentinels.iter().enumerate() {
            if p.port != 0 {
                add(TargetKey::Sentinel(i), &p.ip, p.port, false);
            }
        }
        out
    }

    fn link_state(&mut self, key: LinkKey, up: bool, now: i64, io: &mut NodeIo) {
        if key.1 == LinkKind::Cmd {
            let actions = self.monitor.on_link(0, key.0.target(), up, now);
            self.act(actions, now, io);
        }
    }

    fn close(&mut self, conn: ConnId, now: i64, io: &mut NodeIo) {
        if let Some(key) = self.by_conn.remove(&conn) {
            self.links.remove(&key);
            self.link_state(key, false, now, io);
        }
        io.close(conn);
    }

    /// Opens the links that are missing, closes those to an address that changed.
    fn maintain_links(&mut self, now: i64, io: &mut NodeIo) {
        let wanted = self.wanted();
        let stale: Vec<ConnId> = self
            .links
            .iter()
            .filter(|(k, l)| !wanted.iter().any(|(wk, a)| wk == *k && *a == l.addr))
            .map(|(_, l)| l.conn)
            .collect();
        for c in stale {
            self.close(c, now, io);
        }
        for (key, addr) in wanted {
            if self.links.contains_key(&key) {
                continue;
            }
            let Some(node) = node_of_port(addr.1) else {
                continue;
            };
            let conn = io.connect(node);
            self.by_conn.insert(conn, key);
            self.links.insert(
                key,
                Link {
                    conn,
                    up: false,
                    addr,
                    buf: Vec::new(),
                    sent: VecDeque::new(),
                },
            );
        }
    }

    fn send(&mut self, key: LinkKey, command: &[String], sent: Sent, io: &mut NodeIo) {
        let Some(link) = self.links.get_mut(&key) else {
            return;
        };
        if !link.up {
            return;
        }
        let mut out = Vec::new();
        encode_command(&mut out, command);
        io.send(link.conn, out);
        link.sent.push_back(sent);
    }

    fn act(&mut self, actions: Vec<Action>, now: i64, io: &mut NodeIo) {
        for a in actions {
            match a {
                Action::Send {
                    target, command, ..
                } => {
                    let sent = match command[0].as_str() {
                        "PING" => Sent::Ping,
                        "INFO" => Sent::Info,
                        "SENTINEL" => match target {
                            Target::Sentinel(peer) => Sent::Question { peer },
                            _ => Sent::Other,
                        },
                        _ => Sent::Other,
                    };
                    self.send((TargetKey::of(target), LinkKind::Cmd), &command, sent, io);
                }
                Action::SendAll {
                    target, commands, ..
                } => {
                    for c in commands {
                        self.send((TargetKey::of(target), LinkKind::Cmd), &c, Sent::Other, io);
                    }
                }
                Action::ResetLinks { .. } => {
                    // Sentinel links stay; the master's and replicas' go.
                    let conns: Vec<ConnId> = self
                        .links
                        .iter()
                        .filter(|(k, _)| !matches!(k.0, TargetKey::Sentinel(_)))
                        .map(|(_, l)| l.conn)
                        .collect();
                    for c in conns {
                        self.close(c, now, io);
                    }
                }
                Action::ClientReconfig { role, from, to, .. } => {
                    self.reconfigs.push((role, from.1, to.1))
                }
                // A log line only.
                Action::FailoverDelay { .. } => {}
                Action::Event { name, detail, .. } => self.events.push(Reported {
                    at_ms: now - CLOCK_OFFSET,
                    name,
                    detail,
                    epoch: self.monitor.current_epoch,
                }),
            }
        }
    }

    fn on_reply(&mut self, key: LinkKey, frame: Frame, now: i64, io: &mut NodeIo) {
        if key.1 == LinkKind::PubSub {
            if let Frame::Array(items) = &frame {
                if let [Frame::Bulk(kind), _, Frame::Bulk(message)] = items.as_slice() {
                    if kind.as_ref() == b"message" {
                        let actions = self.monitor.on_hello(message, now);
                        self.act(actions, now, io);
                    }
                }
            }
            return;
        }
        let Some(sent) = self.links.get_mut(&key).and_then(|l| l.sent.pop_front()) else {
            return;
        };
        let target = key.0.target();
        let actions = match (sent, &frame) {
            (Sent::Ping, Frame::Simple(s)) => self.monitor.on_ping_reply(
                0,
                target,
                PingReply::of(&format!("+{}", String::from_utf8_lossy(s))),
                now,
            ),
            (Sent::Ping, Frame::Error(e)) => self.monitor.on_ping_reply(
                0,
                target,
                PingReply::of(&format!("-{}", String::from_utf8_lossy(e))),
                now,
            ),
            (Sent::Info, Frame::Bulk(text)) => {
                self.monitor
                    .on_info(0, target, &String::from_utf8_lossy(text), now)
            }
            (Sent::Question { peer }, Frame::Array(items)) => {
                if let [Frame::Integer(down), Frame::Bulk(leader), Frame::Integer(epoch)] =
                    items.as_slice()
                {
                    let answer = DownAnswer {
                        down: *down,
                        leader: String::from_utf8_lossy(leader).to_string(),
                        leader_epoch: (*epoch).max(0) as u64,
                    };
                    self.monitor.on_master_down_reply(0, peer, &answer, now);
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        self.act(actions, now, io);
    }

    /// A request from another Sentinel.
    fn answer(&mut self, args: &[Bytes], now: i64) -> (Vec<u8>, Vec<Action>) {
        let word = |i: usize| {
            args.get(i)
                .map(|a| String::from_utf8_lossy(a).to_string())
                .unwrap_or_default()
        };
        if word(0).eq_ignore_ascii_case("ping") {
            return (b"+PONG\r\n".to_vec(), Vec::new());
        }
        // A peer's hello, sent to us directly.
        if word(0).eq_ignore_ascii_case("publish") && args.len() == 3 {
            let actions = self.monitor.on_hello(&args[2], now);
            return (b":1\r\n".to_vec(), actions);
        }
        if word(0).eq_ignore_ascii_case("sentinel")
            && word(1).eq_ignore_ascii_case("is-master-down-by-addr")
        {
            let port = word(3).parse().unwrap_or(0);
            let epoch = word(4).parse().unwrap_or(0);
            let (a, actions) =
                self.monitor
                    .is_master_down_by_addr(&word(2), port, epoch, &word(5), now);
            let reply = format!(
                "*3\r\n:{}\r\n${}\r\n{}\r\n:{}\r\n",
                a.down,
                a.leader.len(),
                a.leader,
                a.leader_epoch
            );
            return (reply.into_bytes(), actions);
        }
        (TOY_REFUSAL.to_vec(), Vec::new())
    }

    fn on_event(&mut self, event: Event, io: &mut NodeIo) {
        let now = Self::now(io);
        match event {
            Event::Tick => {
                self.maintain_links(now, io);
                let actions = self.monitor.tick(now);
                self.act(actions, now, io);
                self.maintain_links(now, io);
            }
            Event::Connected { conn } => {
                let Some(&key) = self.by_conn.get(&conn) else {
                    return;
                };
                if let Some(l) = self.links.get_mut(&key) {
                    l.up = true;
                }
                if key.1 == LinkKind::PubSub {
                    let mut out = Vec::new();
                    encode_command(
                        &mut out,
                        &[
                            b"SUBSCRIBE".as_slice(),
                            redust_sentinel::hello::CHANNEL.as_bytes(),
                        ],
                    );
                    io.send(conn, out);
                }
                self.link_state(key, true, now, io);
            }
            Event::ConnectFailed { conn } | Event::Closed { conn } => {
                if self.by_conn.contains_key(&conn) {
                    self.close(conn, now, io);
                } else {
                    self.incoming.remove(&conn);
                }
            }
            Event::Accepted { conn, .. } => {
                self.incoming.insert(conn, BytesMut::new());
            }
            Event::Data { conn, data } => {
                if let Some(buf) = self.incoming.get_mut(&conn) {
                    buf.extend_from_slice(&data);
                    let mut requests = Vec::new();
                    while let Ok(Some(r)) = parse_request(buf, ParseLimits::default()) {
                        requests.push(r.args);
                    }
                    for args in requests.into_iter().filter(|a| !a.is_empty()) {
                        let (reply, actions) = self.answer(&args, now);
                        io.send(conn, reply);
                        self.act(actions, now, io);
                    }
                    return;
                }
                let Some(&key) = self.by_conn.get(&conn) else {
                    return;
                };
                let mut frames = Vec::new();
                if let Some(link) = self.links.get_mut(&key) {
                    link.buf.extend_from_slice(&data);
                    while let Ok(Some((frame, used))) =
                        decode_frame(&link.buf, &FrameLimits::default())
                    {
                        link.buf.drain(..used);
                        frames.push(frame);
                    }
                }
                for f in frames {
                    self.on_reply(key, f, now, io);
                }
            }
            Event::Datagram { .. } => {}
        }
    }

    /// Back from a crash: it keeps its config (as flushed) and starts over.
    fn restart(&mut self, io: &mut NodeIo) {
        let now = Self::now(io);
        self.links.clear();
        self.by_conn.clear();
        self.incoming.clear();
        for i in 0..self.monitor.masters[0].replicas.len() {
            self.monitor.on_link(0, Target::Replica(i), false, now);
        }
        self.monitor.on_link(0, Target::Master, false, now);
    }
}

/// What a scenario saw.
#[derive(Debug)]
pub struct Outcome {
    /// The Redis nodes that say they are masters at the end.
    pub masters: Vec<NodeId>,
    /// Each Sentinel's view of the master's port at the end.
    pub views: Vec<u16>,
    /// (sentinel, epoch) of every `+elected-leader`.
    pub elections: Vec<(NodeId, u64)>,
    /// Every `+promoted-slave`'s (sentinel, epoch).
    pub promotions: Vec<(NodeId, u64)>,
    /// Every event, by Sentinel, for a failure's report.
    pub log: Vec<(NodeId, Reported)>,
    /// Every client reconfiguration: (sentinel, role, from port, to port).
    pub reconfigs: Vec<(NodeId, ReconfigRole, u16, u16)>,
}

/// Three Redis nodes (0 the master, 1 and 2 its replicas) and three
/// Sentinels (quorum 2); the master crashes once the group has settled
/// (15 s).
/// With `comeback_after_ms`, it restarts (as a master, as Redis would) that
/// long after the crash. Returns what happened after `run_ms`.
pub fn master_crash(seed: u64, run_ms: i64, comeback_after_ms: Option<i64>) -> Outcome {
    master_crash_with(seed, run_ms, comeback_after_ms, super::Faults::none())
}

/// `master_crash` on a network with `faults` (from the start).
pub fn master_crash_with(
    seed: u64,
    run_ms: i64,
    comeback_after_ms: Option<i64>,
    faults: super::Faults,
) -> Outcome {
    let config = "monitor mymaster 127.0.0.1 6379 2\n\
                  down-after-milliseconds mymaster 1000\n\
                  failover-timeout mymaster 6000";
    let mut nodes = vec![
        Node::Redis(ToyRedis::new(0, None)),
        Node::Redis(ToyRedis::new(1, Some(0))),
        Node::Redis(ToyRedis::new(2, Some(0))),
    ];
    for i in 3..6 {
        nodes.push(Node::Sentinel(Box::new(SentinelNode::new(
            i,
            config,
            seed.wrapping_mul(31).wrapping_add(i as u64),
        ))));
    }
    let mut sim = super::Sim::new(seed, nodes, 100);
    sim.faults = faults;
    // Past one INFO period: the Sentinels know the replicas (the first
    // INFO may come before they have connected to the master).
    sim.run_for(15_000);
    sim.crash(0);
    match comeback_after_ms {
        Some(after) if after < run_ms => {
            sim.run_for(after);
            sim.restart(0);
            sim.run_for(run_ms - after);
        }
        _ => sim.run_for(run_ms),
    }
    let mut out = Outcome {
        masters: Vec::new(),
        views: Vec::new(),
        elections: Vec::new(),
        promotions: Vec::new(),
        log: Vec::new(),
        reconfigs: Vec::new(),
    };
    for (i, n) in sim.nodes.iter().enumerate() {
        match n {
            Node::Redis(r) if !sim.is_down(i) && r.replica_of.is_none() => out.masters.push(i),
            Node::Sentinel(s) => {
                out.views.push(s.monitor.masters[0].master.port);
                out.log.extend(s.events.iter().map(|e| (i, e.clone())));
                out.reconfigs
                    .extend(s.reconfigs.iter().map(|&(r, f, t)| (i, r, f, t)));
                for e in &s.events {
                    if e.name == "+elected-leader" {
                        out.elections.push((i, e.epoch));
                    }
                    if e.name == "+promoted-slave" {
                        out.promotions.push((i, e.epoch));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
