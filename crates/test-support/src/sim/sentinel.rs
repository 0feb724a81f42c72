//! Sentinel in the simulation: real `redust-sentinel` Sentinels (the
//! `node::Sentinel` the server runs: the state machine, its link
//! bookkeeping `links::Links`, its outbox) behind a thin shell that does
//! what the server's Sentinel shell (`crates/server/src/sentinel.rs`) does
//! with sockets, over the simulated connections: open the links
//! `Links::wanted` lists (a lost one retried once per ping period, a
//! connect given up after a second), hand every connect, close and decoded
//! frame to `Links`, write what comes back, and run the state machine every
//! 100 ms. Requests from other Sentinels (PING, PUBLISH of a hello,
//! SENTINEL IS-MASTER-DOWN-BY-ADDR) are answered with the `Monitor` calls
//! the command handlers make, a vote saved before it is given. The config
//! file is the block `rewrite::sentinel_block` makes, saved when it changes
//! (each tick) and after a vote; a crashed Sentinel restarts from it.
//! Next to them, toy Redis nodes answer what Sentinel asks (PING, INFO,
//! PUBLISH/SUBSCRIBE for hellos, REPLCONF from their replicas, the
//! MULTI/SLAVEOF/EXEC reconfiguration).
//!
//! `World` runs a deployment with faults (crashes, pauses, partitions) and
//! checks the safety invariants after every step of the simulation (one
//! leader per epoch, elected with the votes it needs; no replica selected
//! or promoted without that election; one promotion per epoch; one vote
//! per Sentinel and epoch; epochs that never go back); after healing, that
//! everyone agrees on one master. The scenarios at the end are what
//! `tests/sim_sentinel.rs` runs over many seeds.
//!
//! Addresses: node `i` is 127.0.0.1:(6379 + i) when it is a Redis node,
//! 127.0.0.1:(26379 + i) when it is a Sentinel. The shell passes the
//! simulated time plus a fixed offset (the state machine's 0 means
//! "never").

use super::{ConnId, Event, Faults, NodeId, NodeIo, Sim, SimNode};
use bytes::{Buf, Bytes, BytesMut};
use rand::Rng;
use redust_resp::{decode_frame, encode_command, parse_request, FrameLimits, ParseLimits};
use redust_sentinel::config::{load, Environment, SentinelLine};
use redust_sentinel::links::{Credentials, LinkKey, LinkKind, Peer, Routed};
use redust_sentinel::monitor::{Action, Monitor};
use redust_sentinel::node::Sentinel;
use redust_sentinel::rewrite::sentinel_block;
use redust_sentinel::scripts::script_for;
use std::collections::{BTreeMap, BTreeSet};

pub const REDIS_BASE_PORT: u16 = 6379;
pub const SENTINEL_BASE_PORT: u16 = 26379;
/// What the toy nodes answer to anything they do not model.
const TOY_REFUSAL: &[u8] = b"-ERR the toy does not model this\r\n";

/// Added to the simulated clock for the state machines.
const CLOCK_OFFSET: i64 = 1_000_000_000;
/// How long a connect may take before the link counts as failed (the
/// server shell's `CONNECT_TIMEOUT`).
const CONNECT_TIMEOUT_MS: i64 = 1000;
/// The client-reconfig-script every simulated Sentinel is configured with;
/// its runs are recorded, not started.
pub const RECONFIG_SCRIPT: &str = "/sim/reconfig.sh";

/// The node at a port.
pub fn node_of_port(port: u16) -> Option<NodeId> {
    if port >= SENTINEL_BASE_PORT {
        Some((port - SENTINEL_BASE_PORT) as NodeId)
    } else {
        port.checked_sub(REDIS_BASE_PORT).map(|p| p as NodeId)
    }
}

/// The run id of Sentinel node `id`.
pub fn myid_of(id: NodeId) -> String {
    format!("{:040x}", 0xabc000 + id)
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
            "CLIENT" if arg(1).eq_ignore_ascii_case("setname") => b"+OK\r\n".to_vec(),
            "CLIENT" if arg(1).eq_ignore_ascii_case("kill") => {
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
// A Sentinel node: the real Sentinel and a thin shell
// ---------------------------------------------------------------------------

/// An outgoing link's connection.
struct SimLink {
    conn: ConnId,
    up: bool,
    opened_at: i64,
    buf: BytesMut,
}

/// An event a Sentinel reported, with what the invariants need to know of
/// its state then.
#[derive(Clone, Debug)]
pub struct Reported {
    pub at_ms: i64,
    pub name: &'static str,
    pub detail: String,
    /// Its current epoch.
    pub epoch: u64,
    /// The epoch of its failover attempt (the last one it started).
    pub failover_epoch: u64,
    /// The other Sentinels it knows.
    pub known_sentinels: usize,
    /// Its failover is a SENTINEL FAILOVER (no election).
    pub forced: bool,
}

pub struct SentinelNode {
    pub id: NodeId,
    /// The Sentinel as the server runs it.
    pub sentinel: Sentinel,
    links: BTreeMap<LinkKey, SimLink>,
    by_conn: BTreeMap<ConnId, LinkKey>,
    /// Connections other Sentinels opened to us, with their buffers.
    incoming: BTreeMap<ConnId, BytesMut>,
    /// The config file: its `sentinel` lines as last saved.
    file: Vec<(String, String)>,
    pub events: Vec<Reported>,
    /// Every user script asked for (argv), in order.
    pub scripts: Vec<Vec<String>>,
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

/// Config lines (what follows `sentinel`, or whole lines starting with it).
fn config_lines(text: &[String]) -> Vec<SentinelLine> {
    text.iter()
        .enumerate()
        .map(|(n, l)| SentinelLine {
            line_number: n + 1,
            text: l.to_string(),
            args: l
                .split_whitespace()
                .skip_while(|w| *w == "sentinel")
                .map(str::to_string)
                .collect(),
        })
        .collect()
}

impl SentinelNode {
    /// Sentinel node `id` monitoring `config` (lines after `sentinel`).
    pub fn new(id: NodeId, config: &str, seed: u64) -> SentinelNode {
        let text: Vec<String> = config.lines().map(str::to_string).collect();
        let config = load(&config_lines(&text), &AnyExecutable).expect("a valid sentinel config");
        let sentinel = Sentinel::new(config, &myid_of(id), seed, CLOCK_OFFSET);
        let mut node = SentinelNode {
            id,
            sentinel,
            links: BTreeMap::new(),
            by_conn: BTreeMap::new(),
            incoming: BTreeMap::new(),
            file: Vec::new(),
            events: Vec::new(),
            scripts: Vec::new(),
        };
        // The file holds the id it was given from the start.
        node.flush();
        node
    }

    pub fn monitor(&self) -> &Monitor {
        &self.sentinel.monitor
    }

    /// The current epoch its config file holds.
    pub fn saved_epoch(&self) -> u64 {
        self.file
            .iter()
            .find(|(key, _)| key == "sentinel current-epoch")
            .and_then(|(_, line)| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0)
    }

    fn now(io: &NodeIo) -> i64 {
        io.now_ms() + CLOCK_OFFSET
    }

    fn port(&self) -> u16 {
        SENTINEL_BASE_PORT + self.id as u16
    }

    /// Saves the config file.
    fn flush(&mut self) {
        self.sentinel.flush_needed = false;
        self.file = sentinel_block(&self.sentinel.globals, &self.sentinel.monitor);
    }

    /// Saves the config file when what it would hold changed.
    fn flush_if_changed(&mut self) {
        let block = sentinel_block(&self.sentinel.globals, &self.sentinel.monitor);
        if block != self.file || self.sentinel.flush_needed {
            self.flush();
        }
    }

    fn record(&mut self, name: &'static str, detail: String, now: i64) {
        let monitor = &self.sentinel.monitor;
        let m = monitor.masters.first();
        self.events.push(Reported {
            at_ms: now - CLOCK_OFFSET,
            name,
            detail,
            epoch: monitor.current_epoch,
            failover_epoch: m.map_or(0, |m| m.failover.epoch),
            known_sentinels: m.map_or(0, |m| m.sentinels.len()),
            forced: m.is_some_and(|m| m.force_failover),
        });
    }

    fn on_tick(&mut self, now: i64, io: &mut NodeIo) {
        let s = &mut self.sentinel;
        let mut actions = std::mem::take(&mut s.outbox);
        actions.extend(s.monitor.tick(now));
        let routed = s.links.route(&s.monitor, actions);
        self.apply(routed, now, io);
        self.give_up_connects(now, io);
        self.maintain_links(now, io);
        self.flush_if_changed();
    }

    /// Writes, events, scripts and resets the state machine asked for.
    fn apply(&mut self, routed: Routed, now: i64, io: &mut NodeIo) {
        for (key, bytes) in routed.writes {
            if let Some(link) = self.links.get(&key) {
                io.send(link.conn, bytes);
            }
        }
        self.scripts.extend(routed.scripts);
        for (name, detail) in routed.events {
            self.record(name, detail, now);
        }
        for master in routed.reset {
            let keys: Vec<LinkKey> = self
                .links
                .keys()
                .filter(|k| k.master == master && k.peer != Peer::Sentinel)
                .cloned()
                .collect();
            for key in keys {
                self.close(&key, now, io);
                self.sentinel.links.reconnect_now(&key);
            }
        }
    }

    /// Opens the links the state machine wants and closes the others.
    fn maintain_links(&mut self, now: i64, io: &mut NodeIo) {
        let s = &mut self.sentinel;
        let plan = s.links.plan(&s.monitor, self.links.keys(), now);
        for key in plan.close {
            self.close(&key, now, io);
        }
        for key in plan.open {
            // An address of no node: the connect fails.
            let node = node_of_port(key.port).unwrap_or(usize::MAX);
            let conn = io.connect(node);
            self.by_conn.insert(conn, key.clone());
            self.links.insert(
                key,
                SimLink {
                    conn,
                    up: false,
                    opened_at: now,
                    buf: BytesMut::new(),
                },
            );
        }
    }

    /// Connects that took too long fail (partitioned or paused peers).
    fn give_up_connects(&mut self, now: i64, io: &mut NodeIo) {
        let late: Vec<LinkKey> = self
            .links
            .iter()
            .filter(|(_, l)| !l.up && now - l.opened_at >= CONNECT_TIMEOUT_MS)
            .map(|(k, _)| k.clone())
            .collect();
        for key in late {
            self.lost(&key, now, io);
        }
    }

    /// Forgets a link; its connection goes.
    fn forget(&mut self, key: &LinkKey, io: &mut NodeIo) {
        if let Some(link) = self.links.remove(key) {
            self.by_conn.remove(&link.conn);
            io.close(link.conn);
        }
    }

    /// The shell drops a link and tells the state machine it is gone.
    fn close(&mut self, key: &LinkKey, now: i64, io: &mut NodeIo) {
        self.forget(key, io);
        let s = &mut self.sentinel;
        let routed = s.links.closed(&mut s.monitor, key, now);
        // A close only ever brings events (no writes on a closed link).
        self.scripts.extend(routed.scripts);
        for (name, detail) in routed.events {
            self.record(name, detail, now);
        }
    }

    /// The link's connection ended (or never came up).
    fn lost(&mut self, key: &LinkKey, now: i64, io: &mut NodeIo) {
        self.forget(key, io);
        let s = &mut self.sentinel;
        let routed = s.links.closed(&mut s.monitor, key, now);
        self.apply(routed, now, io);
    }

    /// What a command's handler does with its actions (`cmd::sentinel`'s
    /// `emit_from`): scripts queued, events reported now, the rest left in
    /// the outbox for the next tick.
    fn emit_from(&mut self, actions: Vec<Action>, now: i64) {
        for action in actions {
            if let Some(argv) = script_for(&self.sentinel.monitor, &action) {
                self.scripts.push(argv);
            }
            match action {
                Action::Event { name, detail, .. } => self.record(name, detail, now),
                Action::ClientReconfig { .. } | Action::FailoverDelay { .. } => {}
                other => self.sentinel.outbox.push(other),
            }
        }
    }

    /// A request from another Sentinel, answered as the command handlers
    /// answer it.
    fn serve(&mut self, args: &[Bytes], now: i64) -> Vec<u8> {
        let word = |i: usize| {
            args.get(i)
                .map(|a| String::from_utf8_lossy(a).to_string())
                .unwrap_or_default()
        };
        let name = word(0).to_ascii_lowercase();
        match name.as_str() {
            "ping" => b"+PONG\r\n".to_vec(),
            "client" if word(1).eq_ignore_ascii_case("setname") => b"+OK\r\n".to_vec(),
            // `publish_hello`: only hellos are taken, and read.
            "publish"
                if args.len() == 3
                    && args[1].as_ref() == redust_sentinel::hello::CHANNEL.as_bytes() =>
            {
                let actions = self.sentinel.monitor.on_hello(&args[2], now);
                self.emit_from(actions, now);
                // What a hello taught (a newer epoch) is saved at once.
                self.flush_if_changed();
                b":1\r\n".to_vec()
            }
            "sentinel"
                if args.len() == 6 && word(1).eq_ignore_ascii_case("is-master-down-by-addr") =>
            {
                let (Ok(port), Ok(epoch)) = (word(3).parse::<i64>(), word(4).parse::<i64>()) else {
                    return TOY_REFUSAL.to_vec();
                };
                let monitor = &mut self.sentinel.monitor;
                let before: Vec<u64> = monitor
                    .masters
                    .iter()
                    .map(|m| m.config.leader_epoch)
                    .collect();
                let (answer, actions) = monitor.is_master_down_by_addr(
                    &word(2),
                    port.clamp(0, 65535) as u16,
                    epoch.max(0) as u64,
                    &word(5),
                    now,
                );
                // A vote is kept on disk before it is given.
                let voted = monitor
                    .masters
                    .iter()
                    .zip(before)
                    .any(|(m, b)| m.config.leader_epoch != b);
                if voted {
                    self.flush();
                }
                self.emit_from(actions, now);
                format!(
                    "*3\r\n:{}\r\n${}\r\n{}\r\n:{}\r\n",
                    answer.down,
                    answer.leader.len(),
                    answer.leader,
                    answer.leader_epoch
                )
                .into_bytes()
            }
            _ => TOY_REFUSAL.to_vec(),
        }
    }

    fn on_event(&mut self, event: Event, io: &mut NodeIo) {
        let now = Self::now(io);
        match event {
            Event::Tick => self.on_tick(now, io),
            Event::Connected { conn } => {
                let Some(key) = self.by_conn.get(&conn).cloned() else {
                    return;
                };
                if let Some(l) = self.links.get_mut(&key) {
                    l.up = true;
                }
                if key.peer == Peer::Master && key.kind == LinkKind::Cmd {
                    // Our hellos announce the address the link left from.
                    self.sentinel.monitor.announce = Some(("127.0.0.1".into(), self.port()));
                }
                let s = &mut self.sentinel;
                let routed = s
                    .links
                    .connected(&mut s.monitor, &key, &Credentials::default(), now);
                self.apply(routed, now, io);
            }
            Event::ConnectFailed { conn } | Event::Closed { conn } => {
                match self.by_conn.get(&conn).cloned() {
                    Some(key) => self.lost(&key, now, io),
                    None => {
                        self.incoming.remove(&conn);
                    }
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
                    let mut out = Vec::new();
                    for args in requests.into_iter().filter(|a| !a.is_empty()) {
                        out.extend(self.serve(&args, now));
                    }
                    io.send(conn, out);
                    return;
                }
                let Some(key) = self.by_conn.get(&conn).cloned() else {
                    return;
                };
                let mut frames = Vec::new();
                let mut garbage = false;
                if let Some(link) = self.links.get_mut(&key) {
                    link.buf.extend_from_slice(&data);
                    loop {
                        match decode_frame(&link.buf, &FrameLimits::default()) {
                            Ok(Some((frame, used))) => {
                                link.buf.advance(used);
                                frames.push(frame);
                            }
                            Ok(None) => break,
                            Err(_) => {
                                garbage = true;
                                break;
                            }
                        }
                    }
                }
                for frame in frames {
                    // An earlier frame may have closed the link.
                    if self.links.get(&key).is_none_or(|l| l.conn != conn) {
                        return;
                    }
                    let s = &mut self.sentinel;
                    let routed = s.links.on_frame(&mut s.monitor, &key, frame, now);
                    self.apply(routed, now, io);
                }
                // What a reply or hello taught (a newer epoch) is saved at once.
                self.flush_if_changed();
                if garbage && self.links.get(&key).is_some_and(|l| l.conn == conn) {
                    self.lost(&key, now, io);
                }
            }
            Event::Datagram { .. } => {}
        }
    }

    /// Back from a crash: the Sentinel starts again from its config file.
    fn restart(&mut self, io: &mut NodeIo) {
        let now = Self::now(io);
        let lines: Vec<String> = self.file.iter().map(|(_, l)| l.clone()).collect();
        let config = load(&config_lines(&lines), &AnyExecutable).expect("its own config file");
        let myid = config.myid.clone().expect("a saved id");
        let seed = io.rng().gen();
        self.sentinel = Sentinel::new(config, &myid, seed, now);
        self.links.clear();
        self.by_conn.clear();
        self.incoming.clear();
        self.flush_if_changed();
    }
}

// ---------------------------------------------------------------------------
// Deployments, invariants and scenarios
// ---------------------------------------------------------------------------

/// Sentinel `id`'s own seed in the run of `seed`: well apart from every
/// other Sentinel's (the state machine's generator is seeded with
/// `seed | 1`, so neighbouring numbers would make twins that draw the same
/// failover jitter forever and split every election the same way).
fn sentinel_seed(seed: u64, id: NodeId) -> u64 {
    // splitmix64
    let mut z = seed
        .wrapping_add((id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A deployment: `redis` Redis nodes (node 0 the master, the others its
/// replicas), then `sentinels` Sentinels monitoring it as `mymaster`.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub redis: usize,
    pub sentinels: usize,
    pub quorum: u32,
    pub down_after_ms: i64,
    pub failover_timeout_ms: i64,
}

impl Default for Deployment {
    /// Three Redis nodes and three Sentinels, quorum 2.
    fn default() -> Deployment {
        Deployment {
            redis: 3,
            sentinels: 3,
            quorum: 2,
            down_after_ms: 1000,
            failover_timeout_ms: 6000,
        }
    }
}

impl Deployment {
    fn config(&self) -> String {
        format!(
            "monitor mymaster 127.0.0.1 {REDIS_BASE_PORT} {}\n\
             down-after-milliseconds mymaster {}\n\
             failover-timeout mymaster {}\n\
             client-reconfig-script mymaster {RECONFIG_SCRIPT}",
            self.quorum, self.down_after_ms, self.failover_timeout_ms
        )
    }
}

/// What the invariants remember of the run so far.
#[derive(Default)]
struct Checker {
    /// Per node: the events already checked.
    seen: BTreeMap<NodeId, usize>,
    /// Per Sentinel: the greatest current epoch it had.
    epochs: BTreeMap<NodeId, u64>,
    /// Per epoch: the Sentinel elected leader.
    leaders: BTreeMap<u64, NodeId>,
    /// Per epoch: the Sentinel that promoted a replica.
    promotions: BTreeMap<u64, NodeId>,
    /// Per (voter, epoch): the run id it voted for.
    votes: BTreeMap<(NodeId, u64), String>,
    /// Per (run id, epoch): who voted for it.
    tally: BTreeMap<(String, u64), BTreeSet<NodeId>>,
}

impl Checker {
    /// The safety invariants, on what happened since the last check.
    fn check(&mut self, sim: &Sim<Node>) -> Result<(), String> {
        let mut fresh: Vec<(NodeId, &SentinelNode, usize)> = Vec::new();
        for (i, node) in sim.nodes.iter().enumerate() {
            let Node::Sentinel(s) = node else {
                continue;
            };
            // A Sentinel's current epoch never goes back, restarts included.
            let epoch = s.monitor().current_epoch;
            let best = self.epochs.entry(i).or_insert(0);
            if epoch < *best {
                return Err(format!(
                    "sentinel {i}'s current epoch went back from {best} to {epoch}"
                ));
            }
            *best = epoch;
            let from = self.seen.get(&i).copied().unwrap_or(0);
            if from < s.events.len() {
                fresh.push((i, s, from));
                self.seen.insert(i, s.events.len());
            }
        }
        // Votes first: a leader's own vote comes in the step that elects it.
        for &(i, s, from) in &fresh {
            for e in &s.events[from..] {
                if e.name != "+vote-for-leader" {
                    continue;
                }
                let mut words = e.detail.split(' ');
                let (Some(runid), Some(Ok(epoch))) =
                    (words.next(), words.next().map(str::parse::<u64>))
                else {
                    return Err(format!("sentinel {i}: unreadable vote {:?}", e.detail));
                };
                if let Some(before) = self.votes.insert((i, epoch), runid.to_string()) {
                    return Err(format!(
                        "sentinel {i} voted twice in epoch {epoch}: for {before} and for {runid}"
                    ));
                }
                self.tally
                    .entry((runid.to_string(), epoch))
                    .or_default()
                    .insert(i);
            }
        }
        for &(i, s, from) in &fresh {
            let quorum = s.monitor().masters.first().map_or(0, |m| m.config.quorum) as usize;
            for e in &s.events[from..] {
                let epoch = e.failover_epoch;
                match e.name {
                    "+elected-leader" => {
                        if let Some(other) = self.leaders.insert(epoch, i) {
                            return Err(format!(
                                "sentinels {other} and {i} were both elected leader in epoch {epoch}"
                            ));
                        }
                        let voters = e.known_sentinels + 1;
                        let needed = quorum.max(voters / 2 + 1);
                        let got = self
                            .tally
                            .get(&(myid_of(i), epoch))
                            .map_or(0, BTreeSet::len);
                        if got < needed && !e.forced {
                            return Err(format!(
                                "sentinel {i} was elected in epoch {epoch} with {got} votes \
                                 (quorum {quorum}, {voters} Sentinels known: {needed} needed)"
                            ));
                        }
                    }
                    "+selected-slave" | "+promoted-slave"
                        if !e.forced && self.leaders.get(&epoch) != Some(&i) =>
                    {
                        return Err(format!(
                            "sentinel {i} reported {} in epoch {epoch} without being elected in it",
                            e.name
                        ));
                    }
                    _ => {}
                }
                if e.name == "+promoted-slave" {
                    if let Some(other) = self.promotions.insert(epoch, i) {
                        return Err(format!(
                            "two promotions in epoch {epoch}: by sentinels {other} and {i}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a scenario saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The live Redis nodes that say they are masters at the end.
    pub masters: Vec<NodeId>,
    /// Each live Sentinel's view of the master's port at the end.
    pub views: Vec<u16>,
    /// (sentinel, epoch) of every `+elected-leader`.
    pub elections: Vec<(NodeId, u64)>,
    /// (sentinel, epoch) of every `+promoted-slave`.
    pub promotions: Vec<(NodeId, u64)>,
    /// Every event, by Sentinel, in the order each reported them.
    pub log: Vec<(NodeId, Reported)>,
    /// Every client reconfiguration: (sentinel, role, from port, to port).
    pub reconfigs: Vec<(NodeId, String, u16, u16)>,
    /// The faults injected, in order.
    pub faults: Vec<String>,
    /// The simulated time the run ended at (ms).
    pub ended_ms: i64,
}

impl Outcome {
    /// How many events of that name were reported.
    pub fn count(&self, name: &str) -> usize {
        self.log.iter().filter(|(_, e)| e.name == name).count()
    }
}

/// How long everyone must agree, with no change, to count as settled.
const STABLE_MS: i64 = 5_000;

/// A deployment running under faults, its invariants checked after every
/// step of the simulation.
pub struct World {
    pub sim: Sim<Node>,
    pub seed: u64,
    /// The test that runs it (for the replay line).
    pub scenario: &'static str,
    pub deployment: Deployment,
    checker: Checker,
    faults: Vec<String>,
}

impl World {
    /// `deployment` on a network with `net`, every choice from `seed`.
    pub fn new(scenario: &'static str, seed: u64, deployment: Deployment, net: Faults) -> World {
        let config = deployment.config();
        let mut nodes = Vec::new();
        for i in 0..deployment.redis {
            nodes.push(Node::Redis(ToyRedis::new(i, (i > 0).then_some(0))));
        }
        for i in deployment.redis..deployment.redis + deployment.sentinels {
            nodes.push(Node::Sentinel(Box::new(SentinelNode::new(
                i,
                &config,
                sentinel_seed(seed, i),
            ))));
        }
        let mut sim = Sim::new(seed, nodes, 100);
        sim.faults = net;
        World {
            sim,
            seed,
            scenario,
            deployment,
            checker: Checker::default(),
            faults: Vec::new(),
        }
    }

    /// The Redis nodes' ids.
    pub fn redis_ids(&self) -> std::ops::Range<NodeId> {
        0..self.deployment.redis
    }

    /// The Sentinels' ids.
    pub fn sentinel_ids(&self) -> std::ops::Range<NodeId> {
        self.deployment.redis..self.deployment.redis + self.deployment.sentinels
    }

    pub fn sentinel(&self, id: NodeId) -> &SentinelNode {
        match &self.sim.nodes[id] {
            Node::Sentinel(s) => s,
            Node::Redis(_) => panic!("node {id} is a Redis node"),
        }
    }

    pub fn redis(&self, id: NodeId) -> &ToyRedis {
        match &self.sim.nodes[id] {
            Node::Redis(r) => r,
            Node::Sentinel(_) => panic!("node {id} is a Sentinel"),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.sim.now_ms()
    }

    /// Runs `ms`, checking the invariants after every step.
    pub fn run_for(&mut self, ms: i64) -> Result<(), String> {
        self.run_until(ms, |_| None::<()>).map(|_| ())
    }

    /// Runs until `found` gives something (asked after every step) or `ms`
    /// pass, checking the invariants after every step.
    pub fn run_until<T>(
        &mut self,
        ms: i64,
        mut found: impl FnMut(&World) -> Option<T>,
    ) -> Result<Option<T>, String> {
        let until = self.sim.now_ms() + ms;
        while self.sim.step(until) {
            self.check()?;
            if let Some(t) = found(self) {
                return Ok(Some(t));
            }
        }
        self.sim.run_until(until);
        Ok(None)
    }

    fn check(&mut self) -> Result<(), String> {
        match self.checker.check(&self.sim) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.report(&e)),
        }
    }

    fn fault(&mut self, what: String) {
        self.faults
            .push(format!("{} ms: {what}", self.sim.now_ms()));
    }

    fn name(&self, id: NodeId) -> String {
        if id < self.deployment.redis {
            format!("redis {id}")
        } else {
            format!("sentinel {id}")
        }
    }

    pub fn crash(&mut self, id: NodeId) {
        self.fault(format!("{} crashes", self.name(id)));
        self.sim.resume(id);
        self.sim.crash(id);
    }

    pub fn restart(&mut self, id: NodeId) {
        self.fault(format!("{} restarts", self.name(id)));
        self.sim.restart(id);
    }

    /// The node stops (SIGSTOP): nothing it gets is handled until `resume`.
    pub fn pause(&mut self, id: NodeId) {
        self.fault(format!("{} pauses", self.name(id)));
        self.sim.pause(id);
    }

    pub fn resume(&mut self, id: NodeId) {
        self.fault(format!("{} resumes", self.name(id)));
        self.sim.resume(id);
    }

    /// Cuts `id` from every other node, both ways.
    pub fn isolate(&mut self, id: NodeId) {
        self.fault(format!("{} is cut off", self.name(id)));
        self.sim.isolate(id);
    }

    pub fn rejoin(&mut self, id: NodeId) {
        self.fault(format!("{} rejoins", self.name(id)));
        self.sim.rejoin(id);
    }

    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.fault(format!(
            "{} and {} are cut apart",
            self.name(a),
            self.name(b)
        ));
        self.sim.partition(a, b);
    }

    pub fn unpartition(&mut self, a: NodeId, b: NodeId) {
        self.fault(format!(
            "{} and {} reach each other",
            self.name(a),
            self.name(b)
        ));
        self.sim.unpartition(a, b);
    }

    /// Every fault ends: cuts heal, paused nodes resume, crashed ones
    /// restart, the network turns perfect.
    pub fn heal_all(&mut self) {
        self.fault("every fault ends".into());
        self.sim.heal();
        self.sim.faults = Faults::none();
        for id in 0..self.sim.nodes.len() {
            if self.sim.is_down(id) {
                self.restart(id);
            }
        }
    }

    /// The master everyone agrees on, if they do: the one live Redis node
    /// that is a master, every live Sentinel's view, followed by every
    /// other live Redis node over a link that is up.
    pub fn agreed_master(&self) -> Option<NodeId> {
        let live = |i: &NodeId| !self.sim.is_down(*i);
        let masters: Vec<NodeId> = self
            .redis_ids()
            .filter(live)
            .filter(|&i| self.redis(i).replica_of.is_none())
            .collect();
        let [m] = masters[..] else {
            return None;
        };
        let port = REDIS_BASE_PORT + m as u16;
        let sentinels_agree = self
            .sentinel_ids()
            .filter(live)
            .all(|s| self.sentinel(s).monitor().masters[0].master.port == port);
        let replicas_follow = self.redis_ids().filter(live).all(|i| {
            let r = self.redis(i);
            i == m || (r.replica_of == Some(m) && r.link_up)
        });
        (sentinels_agree && replicas_follow).then_some(m)
    }

    /// Runs until everyone agrees on one master for `STABLE_MS`, at most
    /// `within_ms`; the master.
    pub fn settle(&mut self, within_ms: i64) -> Result<NodeId, String> {
        let deadline = self.sim.now_ms() + within_ms;
        let mut since: Option<(NodeId, i64)> = None;
        loop {
            let now = self.sim.now_ms();
            since = match (self.agreed_master(), since) {
                (Some(m), Some((was, t))) if m == was => {
                    if now - t >= STABLE_MS {
                        return Ok(m);
                    }
                    Some((was, t))
                }
                (Some(m), _) => Some((m, now)),
                (None, _) => None,
            };
            if now >= deadline {
                let what = format!(
                    "no agreement on one master {within_ms} ms after the faults ended:\n{}",
                    self.describe()
                );
                return Err(self.report(&what));
            }
            self.run_for(100)?;
        }
    }

    /// Every node's state in a line.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        for i in self.redis_ids() {
            let r = self.redis(i);
            let role = match r.replica_of {
                None => "master".to_string(),
                Some(m) => format!(
                    "replica of {m}, link {}",
                    if r.link_up { "up" } else { "down" }
                ),
            };
            out.push(format!("  redis {i}: {role}{}", self.state_of(i)));
        }
        for i in self.sentinel_ids() {
            let monitor = self.sentinel(i).monitor();
            let m = &monitor.masters[0];
            out.push(format!(
                "  sentinel {i}: master {}{}, epoch {}, failover {} of epoch {}, {} replicas and {} sentinels known{}",
                m.master.port,
                if m.master.sdown { " (sdown)" } else { "" },
                monitor.current_epoch,
                m.failover.state.name(),
                m.failover.epoch,
                m.replicas.len(),
                m.sentinels.len(),
                self.state_of(i)
            ));
        }
        out.join("\n")
    }

    fn state_of(&self, id: NodeId) -> &'static str {
        if self.sim.is_down(id) {
            " [down]"
        } else if self.sim.is_paused(id) {
            " [paused]"
        } else {
            ""
        }
    }

    /// Every event of every Sentinel, by time: `ms sentinel epoch event`.
    pub fn event_log(&self) -> Vec<String> {
        let mut all: Vec<(i64, NodeId, usize, &Reported)> = Vec::new();
        for i in self.sentinel_ids() {
            for (n, e) in self.sentinel(i).events.iter().enumerate() {
                all.push((e.at_ms, i, n, e));
            }
        }
        all.sort_by_key(|&(t, i, n, _)| (t, i, n));
        all.iter()
            .map(|(t, i, _, e)| format!("{t} s{i} e{} {} {}", e.epoch, e.name, e.detail))
            .collect()
    }

    /// A failure's report: what broke, how to replay it, the faults and the
    /// events (the last 120 of them).
    pub fn report(&self, what: &str) -> String {
        let log = self.event_log();
        let tail = &log[log.len().saturating_sub(120)..];
        format!(
            "{} seed {} at {} ms: {what}\n\
             replay: REDUST_SIM_SEED={} cargo test --release -p redust-test-support --test sim_sentinel {}\n\
             faults:\n  {}\n\
             events (the last {} of {}: ms, sentinel, its epoch, event):\n  {}",
            self.scenario,
            self.seed,
            self.sim.now_ms(),
            self.seed,
            self.scenario,
            self.faults.join("\n  "),
            tail.len(),
            log.len(),
            tail.join("\n  ")
        )
    }

    /// What happened, for the scenario's own checks.
    pub fn outcome(&self) -> Outcome {
        let mut out = Outcome {
            faults: self.faults.clone(),
            ended_ms: self.sim.now_ms(),
            ..Outcome::default()
        };
        for i in self.redis_ids() {
            if !self.sim.is_down(i) && self.redis(i).replica_of.is_none() {
                out.masters.push(i);
            }
        }
        for i in self.sentinel_ids() {
            let s = self.sentinel(i);
            if !self.sim.is_down(i) {
                out.views.push(s.monitor().masters[0].master.port);
            }
            for e in &s.events {
                match e.name {
                    "+elected-leader" => out.elections.push((i, e.failover_epoch)),
                    "+promoted-slave" => out.promotions.push((i, e.failover_epoch)),
                    _ => {}
                }
                out.log.push((i, e.clone()));
            }
            for argv in s.scripts.iter().filter(|a| a[0] == RECONFIG_SCRIPT) {
                // path, master, role, state, from ip, from port, to ip, to port
                let port = |k: usize| argv.get(k).and_then(|p| p.parse().ok()).unwrap_or(0);
                out.reconfigs.push((
                    i,
                    argv.get(2).cloned().unwrap_or_default(),
                    port(5),
                    port(7),
                ));
            }
        }
        out
    }

    /// Fails with the report unless `ok`.
    pub fn expect(&self, ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(self.report(&what()))
        }
    }
}

/// Time for the group to settle before a fault: past one INFO period, so
/// every Sentinel knows the replicas (the first INFO may come before they
/// have connected to the master), and past a few hellos.
pub const SETTLE_MS: i64 = 15_000;
/// How long agreement may take once the faults end.
const AGREE_WITHIN_MS: i64 = 120_000;

/// A perfect network (a few ms of latency).
fn clean() -> Faults {
    Faults::none()
}

/// The master crashes once the group has settled; with `comeback_after_ms`
/// it restarts (as a master, as Redis would) that long after the crash.
/// Everyone ends up following a new master; on a network that loses
/// nothing, exactly one replica is promoted and every Sentinel asks for
/// one client reconfiguration from the old master to the new one: as
/// leader the one that promoted it, as observers the others.
pub fn master_crash(
    scenario: &'static str,
    seed: u64,
    comeback_after_ms: Option<i64>,
    net: Faults,
) -> Result<Outcome, String> {
    let lossy = net.reset > 0.0 || net.connect_fail > 0.0;
    let mut w = World::new(scenario, seed, Deployment::default(), net);
    w.run_for(SETTLE_MS)?;
    w.crash(0);
    if let Some(after) = comeback_after_ms {
        w.run_for(after)?;
        w.restart(0);
    }
    w.run_for(30_000)?;
    let master = w.settle(AGREE_WITHIN_MS)?;
    let out = w.outcome();
    w.expect(master != 0, || {
        "the crashed master is still the master".into()
    })?;
    if comeback_after_ms.is_some() {
        w.expect(out.count("+convert-to-slave") > 0, || {
            "the old master was never converted".into()
        })?;
    }
    if lossy {
        // A reset link can make the new master look down for a moment
        // (down-after is 1 s, a lost link is retried once a second), and
        // the others' answers about the old master still count towards
        // ODOWN for 5 s after +switch-master, as in Redis: a second
        // failover, in an epoch of its own, is allowed.
        w.expect(!out.promotions.is_empty(), || "no promotion".into())?;
        return Ok(out);
    }
    w.expect(out.promotions.len() == 1, || {
        format!("promotions: {:?}", out.promotions)
    })?;
    let promoter = out.promotions[0].0;
    let to = REDIS_BASE_PORT + master as u16;
    for s in w.sentinel_ids() {
        let role = if s == promoter { "leader" } else { "observer" };
        let mine: Vec<_> = out.reconfigs.iter().filter(|r| r.0 == s).collect();
        w.expect(
            mine == [&(s, role.to_string(), REDIS_BASE_PORT, to)],
            || format!("sentinel {s}'s client reconfigurations: {mine:?}"),
        )?;
    }
    Ok(out)
}

/// How long a fault of the master lasts: past down-after, half the time
/// short (up to 2.5 s: often over before an ODOWN), else up to 20 s.
fn pick_duration(w: &mut World) -> i64 {
    let down_after = w.deployment.down_after_ms;
    if w.sim.rng().gen_bool(0.5) {
        w.sim.rng().gen_range(down_after + 100..2_500)
    } else {
        w.sim.rng().gen_range(2_500..20_000)
    }
}

/// The master stops (SIGSTOP) for longer than down-after, then resumes and
/// handles what waited for it. Whether or not a failover happened
/// meanwhile, everyone ends up agreeing.
pub fn master_pause(scenario: &'static str, seed: u64) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    let pause = pick_duration(&mut w);
    w.pause(0);
    w.run_for(pause)?;
    w.resume(0);
    w.settle(AGREE_WITHIN_MS)?;
    Ok(w.outcome())
}

/// The master is cut from everyone (both ways) for longer than down-after,
/// then the cut heals; everyone ends up agreeing.
pub fn master_partition(scenario: &'static str, seed: u64) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    let cut = pick_duration(&mut w);
    w.isolate(0);
    w.run_for(cut)?;
    w.rejoin(0);
    w.settle(AGREE_WITHIN_MS)?;
    Ok(w.outcome())
}

/// A Sentinel is cut from everyone for 5 to 30 s. Alone it sees every
/// instance down but cannot reach the quorum: without `master_crashes`
/// nobody fails over. With it, the master crashes 2 s into the cut and the
/// two others fail over without it; after the cut it learns the new master.
pub fn sentinel_partition(
    scenario: &'static str,
    seed: u64,
    master_crashes: bool,
) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    let ids: Vec<NodeId> = w.sentinel_ids().collect();
    let cut_off = ids[w.sim.rng().gen_range(0..ids.len())];
    let cut = w.sim.rng().gen_range(5_000..30_000);
    w.isolate(cut_off);
    w.run_for(2_000)?;
    if master_crashes {
        w.crash(0);
    }
    w.run_for(cut - 2_000)?;
    w.rejoin(cut_off);
    w.run_for(10_000)?;
    let master = w.settle(AGREE_WITHIN_MS)?;
    let out = w.outcome();
    if master_crashes {
        w.expect(master != 0 && out.promotions.len() == 1, || {
            format!("master {master}, promotions {:?}", out.promotions)
        })?;
        w.expect(out.promotions[0].0 != cut_off, || {
            "the cut-off Sentinel promoted".into()
        })?;
    } else {
        w.expect(out.count("+odown") == 0 && master == 0, || {
            format!("a failover without a failure (master {master})")
        })?;
    }
    Ok(out)
}

/// The master crashes; the first Sentinel elected leader crashes right
/// after `+elected-leader` (as SENTINEL SIMULATE-FAILURE crash-after-election
/// does). The others, having voted for it, wait out 2 x failover-timeout
/// and one of them fails over in a later epoch. Then both come back and
/// everyone agrees on the new master.
pub fn leader_crash(scenario: &'static str, seed: u64) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    w.crash(0);
    let elected = w.run_until(30_000, |w| {
        w.sentinel_ids().find_map(|i| {
            w.sentinel(i)
                .events
                .iter()
                .find(|e| e.name == "+elected-leader")
                .map(|e| (i, e.failover_epoch))
        })
    })?;
    let Some((leader, epoch)) = elected else {
        return Err(w.report("nobody was elected after the master crashed"));
    };
    w.crash(leader);
    w.run_for(60_000)?;
    let out = w.outcome();
    w.expect(
        out.promotions.len() == 1 && out.promotions[0].0 != leader && out.promotions[0].1 > epoch,
        || {
            format!(
                "sentinel {leader} elected in epoch {epoch} crashed; promotions: {:?}",
                out.promotions
            )
        },
    )?;
    w.restart(leader);
    w.restart(0);
    w.settle(AGREE_WITHIN_MS)?;
    Ok(w.outcome())
}

/// The master crashes; a random 0 to 3 s after the first `+try-failover`
/// (during the election or the failover itself) a random Sentinel
/// crashes, to restart 1 to 10 s later from its config file. Someone
/// fails over, and everyone ends up agreeing.
pub fn sentinel_crash_mid_failover(scenario: &'static str, seed: u64) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    w.crash(0);
    let tried = w.run_until(30_000, |w| {
        w.sentinel_ids()
            .any(|i| {
                w.sentinel(i)
                    .events
                    .iter()
                    .any(|e| e.name == "+try-failover")
            })
            .then_some(())
    })?;
    if tried.is_none() {
        return Err(w.report("no failover attempt after the master crashed"));
    }
    let delay = w.sim.rng().gen_range(0..3_000);
    w.run_for(delay)?;
    let ids: Vec<NodeId> = w.sentinel_ids().collect();
    let victim = ids[w.sim.rng().gen_range(0..ids.len())];
    let down = w.sim.rng().gen_range(1_000..10_000);
    w.crash(victim);
    w.run_for(down)?;
    w.restart(victim);
    w.run_for(30_000)?;
    let master = w.settle(AGREE_WITHIN_MS)?;
    let out = w.outcome();
    w.expect(master != 0 && !out.promotions.is_empty(), || {
        format!("master {master}, promotions {:?}", out.promotions)
    })?;
    Ok(out)
}

/// A Sentinel is cut off while the master crashes and the others fail
/// over; when the cut heals it learns the new epoch from a hello and
/// crashes before it saved it (at the first step where its config file
/// lags its current epoch), to restart a second later. Redis saves an
/// epoch learned from a hello at once (`sentinelProcessHelloMessage`), so
/// the restarted Sentinel must come back with it.
pub fn crash_before_saving_an_epoch(scenario: &'static str, seed: u64) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    let ids: Vec<NodeId> = w.sentinel_ids().collect();
    let cut_off = ids[w.sim.rng().gen_range(0..ids.len())];
    w.isolate(cut_off);
    w.crash(0);
    w.run_for(20_000)?;
    w.rejoin(cut_off);
    let lagging = w.run_until(30_000, |w| {
        let s = w.sentinel(cut_off);
        (s.saved_epoch() < s.monitor().current_epoch).then_some(())
    })?;
    if lagging.is_some() {
        w.crash(cut_off);
        w.run_for(1_000)?;
        w.restart(cut_off);
    }
    w.settle(AGREE_WITHIN_MS)?;
    Ok(w.outcome())
}

/// The leader of a failover is kept from finishing it while the others
/// fail over again, to the old master's address, in a later epoch: the
/// master crashes; the moment a leader reports `+promoted-slave`, the
/// promoted replica crashes (the leader waits in reconf-slaves while its
/// promoted replica is down), the old master restarts and the other
/// replica is cut off. The others, once they follow the promoted replica,
/// find it down and (after their vote's 2 x failover-timeout) promote the
/// old master in a newer epoch, which reaches the leader in a hello naming
/// the address its own failover started from. Then the promoted replica
/// restarts, the leader's failover ends for timeout, every fault ends, and
/// everyone must agree.
pub fn stale_leader(scenario: &'static str, seed: u64) -> Result<Outcome, String> {
    let mut w = World::new(scenario, seed, Deployment::default(), clean());
    w.run_for(SETTLE_MS)?;
    w.crash(0);
    let promoted = w.run_until(30_000, |w| {
        w.sentinel_ids().find_map(|i| {
            let e = w
                .sentinel(i)
                .events
                .iter()
                .find(|e| e.name == "+promoted-slave")?;
            let port: u16 = e.detail.split(' ').nth(3)?.parse().ok()?;
            Some((i, node_of_port(port)?))
        })
    })?;
    let Some((leader, replica)) = promoted else {
        return Err(w.report("no promotion after the master crashed"));
    };
    let other = if replica == 1 { 2 } else { 1 };
    w.crash(replica);
    w.restart(0);
    w.isolate(other);
    let newer = w.run_until(40_000, |w| {
        let m = &w.sentinel(leader).monitor().masters[0];
        (m.config.config_epoch > m.failover.epoch).then_some(())
    })?;
    w.run_for(2_000)?;
    w.restart(replica);
    w.run_for(20_000)?;
    w.heal_all();
    w.settle(AGREE_WITHIN_MS)?;
    let out = w.outcome();
    w.expect(newer.is_some(), || {
        "the leader never saw a newer configuration during its failover".into()
    })?;
    Ok(out)
}

/// Five Sentinels with `quorum`; once they all know each other, three of
/// them crash, then the master does. The two left are no majority of five:
/// no leader is elected and nothing is failed over in 45 s (with quorum 3
/// the master never even turns ODOWN; with quorum 2 it does, and attempts
/// start and fail). Then everyone comes back and agrees.
pub fn five_sentinels_three_down(
    scenario: &'static str,
    seed: u64,
    quorum: u32,
) -> Result<Outcome, String> {
    let deployment = Deployment {
        sentinels: 5,
        quorum,
        ..Deployment::default()
    };
    let mut w = World::new(scenario, seed, deployment, clean());
    w.run_for(SETTLE_MS)?;
    for i in w.sentinel_ids() {
        let known = w.sentinel(i).monitor().masters[0].sentinels.len();
        w.expect(known == 4, || format!("sentinel {i} knows {known} others"))?;
    }
    let mut ids: Vec<NodeId> = w.sentinel_ids().collect();
    for _ in 0..3 {
        let k = w.sim.rng().gen_range(0..ids.len());
        let id = ids.remove(k);
        w.crash(id);
    }
    w.run_for(2_000)?;
    w.crash(0);
    w.run_for(45_000)?;
    let out = w.outcome();
    for name in [
        "+elected-leader",
        "+selected-slave",
        "+promoted-slave",
        "+switch-master",
    ] {
        w.expect(out.count(name) == 0, || {
            format!("{name} with two Sentinels of five")
        })?;
    }
    if quorum >= 3 {
        w.expect(out.count("+odown") == 0, || {
            "ODOWN without the quorum".into()
        })?;
    } else {
        w.expect(out.count("+try-failover") > 0, || {
            "no failover attempt with the quorum reached".into()
        })?;
    }
    // Everyone comes back (the Sentinels from their files): agreement.
    w.heal_all();
    w.settle(AGREE_WITHIN_MS)?;
    Ok(out)
}

/// What the random mix did, by kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct MixCounts {
    pub crashes: u64,
    pub pauses: u64,
    pub partitions: u64,
}

/// 60 s of random faults on every node, Redis and Sentinel alike: crashes
/// (restarted 1 to 15 s later), pauses (0.5 to 8 s), a node cut off or two
/// nodes cut apart (1 to 15 s), at most two at a time, on a network with
/// latency spread. Then every fault ends and everyone must agree.
pub fn random_mix(scenario: &'static str, seed: u64) -> Result<(Outcome, MixCounts), String> {
    /// A fault in force: what ends it, when.
    enum Undo {
        Restart(NodeId),
        Resume(NodeId),
        Rejoin(NodeId),
        Unpartition(NodeId, NodeId),
    }
    let net = Faults {
        latency_ms: (1, 30),
        ..Faults::none()
    };
    let mut w = World::new(scenario, seed, Deployment::default(), net);
    w.run_for(SETTLE_MS)?;
    let nodes = w.sim.nodes.len();
    let mut active: Vec<(i64, Undo)> = Vec::new();
    let mut counts = MixCounts::default();
    let end = w.now_ms() + 60_000;
    while w.now_ms() < end {
        w.run_for(500)?;
        let now = w.now_ms();
        let (due, kept): (Vec<_>, Vec<_>) = active.into_iter().partition(|(t, _)| *t <= now);
        active = kept;
        for (_, undo) in due {
            match undo {
                Undo::Restart(id) => w.restart(id),
                Undo::Resume(id) => w.resume(id),
                Undo::Rejoin(id) => w.rejoin(id),
                Undo::Unpartition(a, b) => w.unpartition(a, b),
            }
        }
        if active.len() >= 2 {
            continue;
        }
        let roll: f64 = w.sim.rng().gen();
        let id = w.sim.rng().gen_range(0..nodes);
        let busy = w.sim.is_down(id) || w.sim.is_paused(id);
        if roll < 0.04 && !busy {
            let back = now + w.sim.rng().gen_range(1_000..15_000);
            w.crash(id);
            active.push((back, Undo::Restart(id)));
            counts.crashes += 1;
        } else if roll < 0.08 && !busy {
            let back = now + w.sim.rng().gen_range(500..8_000);
            w.pause(id);
            active.push((back, Undo::Resume(id)));
            counts.pauses += 1;
        } else if roll < 0.10 {
            let back = now + w.sim.rng().gen_range(1_000..15_000);
            w.isolate(id);
            active.push((back, Undo::Rejoin(id)));
            counts.partitions += 1;
        } else if roll < 0.12 {
            let other = w.sim.rng().gen_range(0..nodes);
            if other != id {
                let back = now + w.sim.rng().gen_range(1_000..15_000);
                w.partition(id, other);
                active.push((back, Undo::Unpartition(id, other)));
                counts.partitions += 1;
            }
        }
    }
    w.heal_all();
    w.settle(AGREE_WITHIN_MS)?;
    Ok((w.outcome(), counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new("checker", 1, Deployment::default(), Faults::none())
    }

    fn node(w: &mut World, id: NodeId) -> &mut SentinelNode {
        match &mut w.sim.nodes[id] {
            Node::Sentinel(s) => s,
            Node::Redis(_) => panic!("node {id} is a Redis node"),
        }
    }

    /// Sentinel `id` reports `name` during its failover of `epoch`.
    fn report(w: &mut World, id: NodeId, name: &'static str, detail: String, epoch: u64) {
        node(w, id).events.push(Reported {
            at_ms: 0,
            name,
            detail,
            epoch,
            failover_epoch: epoch,
            known_sentinels: 2,
            forced: false,
        });
    }

    fn vote(w: &mut World, voter: NodeId, candidate: NodeId, epoch: u64) {
        let detail = format!("{} {epoch}", myid_of(candidate));
        report(w, voter, "+vote-for-leader", detail, 0);
    }

    fn elected(w: &mut World, id: NodeId, epoch: u64) {
        report(w, id, "+elected-leader", "master mymaster".into(), epoch);
    }

    fn broken(w: &mut World, what: &str) {
        let e = w.check().expect_err(what);
        assert!(e.contains(what), "{e}");
    }

    #[test]
    fn a_leader_needs_the_votes_it_was_given() {
        let mut w = world();
        vote(&mut w, 3, 3, 1);
        elected(&mut w, 3, 1);
        broken(&mut w, "elected in epoch 1 with 1 votes");
        let mut w = world();
        vote(&mut w, 3, 3, 1);
        vote(&mut w, 4, 3, 1);
        elected(&mut w, 3, 1);
        w.check().unwrap();
    }

    #[test]
    fn one_leader_and_one_vote_per_epoch() {
        let mut w = world();
        for (voter, candidate) in [(3, 3), (4, 3), (5, 5)] {
            vote(&mut w, voter, candidate, 1);
        }
        elected(&mut w, 3, 1);
        w.check().unwrap();
        vote(&mut w, 4, 5, 1);
        broken(&mut w, "sentinel 4 voted twice in epoch 1");
        let mut w = world();
        for voter in [3, 4, 5] {
            vote(&mut w, voter, 3, 2);
        }
        elected(&mut w, 3, 2);
        elected(&mut w, 4, 2);
        broken(&mut w, "both elected leader in epoch 2");
    }

    #[test]
    fn only_the_leader_selects_and_promotes_once() {
        let mut w = world();
        report(&mut w, 4, "+selected-slave", "slave".into(), 1);
        broken(&mut w, "+selected-slave in epoch 1 without being elected");
        let mut w = world();
        vote(&mut w, 3, 3, 1);
        vote(&mut w, 4, 3, 1);
        elected(&mut w, 3, 1);
        report(&mut w, 3, "+selected-slave", "slave".into(), 1);
        report(&mut w, 3, "+promoted-slave", "slave".into(), 1);
        w.check().unwrap();
        report(&mut w, 3, "+promoted-slave", "slave".into(), 1);
        broken(&mut w, "two promotions in epoch 1");
    }

    #[test]
    fn an_epoch_never_goes_back() {
        let mut w = world();
        node(&mut w, 4).sentinel.monitor.current_epoch = 3;
        w.check().unwrap();
        node(&mut w, 4).sentinel.monitor.current_epoch = 2;
        broken(&mut w, "sentinel 4's current epoch went back from 3 to 2");
    }
}
