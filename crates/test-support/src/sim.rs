//! A deterministic simulation of nodes on a network: the nodes' state
//! machines driven by a simulated clock and a seeded, simulated network
//! with faults, so that a failure replays exactly from its seed.
//!
//! Written here rather than taken from `turmoil` or `madsim`: those run
//! async tokio code (our I/O shells) under a simulated runtime, while what
//! we simulate is the decision logic, which is already sans-I/O (events in,
//! actions out, time passed in). A plain event queue drives it with no
//! runtime, no threads and no global state, several nodes in one process.
//!
//! The network carries two kinds of traffic:
//! - connections (TCP): two ordered byte streams. Faults are the ones TCP
//!   shows to a program: latency (random, but each direction stays in
//!   order), resets (a send may break the connection: "drop"), connects
//!   that fail, partitions (bytes and connects across the cut wait until it
//!   heals (tried again every tick), so the nodes' own timeouts must notice), and peers that pause
//!   or crash.
//! - datagrams: single messages that may be dropped, duplicated and
//!   reordered, for protocols that must survive that.
//!
//! A node sees `Event`s (its timer tick, connections, bytes, datagrams, a
//! restart) and acts through `NodeIo` (connect, send, close, the time, its
//! own seeded random numbers). The harness can pause, crash and restart a
//! node: a paused node gets no events (time jumps for it when it resumes);
//! a crashed node's connections reset and it gets nothing until `restart`,
//! which calls `SimNode::restart` to rebuild it from what it kept durable.
//! Partitions end all at once (`heal`) or one by one (`unpartition`,
//! `rejoin`). `step` delivers one event at a time, for callers that check
//! their invariants after each.

/// The seeds a simulation test runs: `REDUST_SIM_SEED=<seed>` replays
/// one, `REDUST_SIM_SEEDS=<n>` runs seeds 1 to n, otherwise 1 to
/// `default` (the CI budget).
pub fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("REDUST_SIM_SEED") {
        return vec![s.parse().expect("REDUST_SIM_SEED: a seed")];
    }
    let n = std::env::var("REDUST_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (1..=n).collect()
}

pub mod replication;
pub mod sentinel;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

pub type NodeId = usize;
pub type ConnId = u64;

/// What happens to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The node's periodic timer (every `Sim::tick_ms`).
    Tick,
    /// A connection from `from` was accepted.
    Accepted { conn: ConnId, from: NodeId },
    /// A connection this node asked for is up.
    Connected { conn: ConnId },
    /// A connection this node asked for could not be made.
    ConnectFailed { conn: ConnId },
    /// Bytes arrived on a connection.
    Data { conn: ConnId, data: Vec<u8> },
    /// The connection is gone (closed or reset by the peer or the network).
    Closed { conn: ConnId },
    /// A datagram arrived.
    Datagram { from: NodeId, data: Vec<u8> },
}

/// Faults the network injects, as probabilities and ranges.
#[derive(Clone, Debug)]
pub struct Faults {
    /// One-way latency, ms (inclusive range).
    pub latency_ms: (i64, i64),
    /// Chance that a send resets its connection (both ends see `Closed`
    /// after what was sent before it).
    pub reset: f64,
    /// Chance that a connect fails.
    pub connect_fail: f64,
    /// Datagrams: chance to be lost, to arrive twice.
    pub drop: f64,
    pub duplicate: f64,
}

impl Faults {
    /// A perfect network with some latency.
    pub fn none() -> Faults {
        Faults {
            latency_ms: (1, 5),
            reset: 0.0,
            connect_fail: 0.0,
            drop: 0.0,
            duplicate: 0.0,
        }
    }
}

/// A node's state machine.
pub trait SimNode {
    /// Handles one event at `io.now_ms()`.
    fn on_event(&mut self, event: Event, io: &mut NodeIo);
    /// Comes back after a crash: rebuild from what was durable (the node
    /// knows which of its fields those are). Its old connections are gone.
    fn restart(&mut self, io: &mut NodeIo);
}

/// What a node can do while it handles an event.
pub struct NodeIo<'a> {
    id: NodeId,
    now_ms: i64,
    rng: &'a mut SmallRng,
    next_conn: &'a mut ConnId,
    actions: Vec<Action>,
}

enum Action {
    Connect { conn: ConnId, to: NodeId },
    Send { conn: ConnId, data: Vec<u8> },
    Close { conn: ConnId },
    Datagram { to: NodeId, data: Vec<u8> },
}

impl NodeIo<'_> {
    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The node's own random numbers (seeded from the simulation's seed).
    pub fn rng(&mut self) -> &mut SmallRng {
        self.rng
    }

    /// Starts a connection to `to`; `Connected` or `ConnectFailed` follows.
    pub fn connect(&mut self, to: NodeId) -> ConnId {
        *self.next_conn += 1;
        let conn = *self.next_conn;
        self.actions.push(Action::Connect { conn, to });
        conn
    }

    pub fn send(&mut self, conn: ConnId, data: Vec<u8>) {
        if !data.is_empty() {
            self.actions.push(Action::Send { conn, data });
        }
    }

    /// Closes a connection; the peer sees `Closed` after what was sent.
    pub fn close(&mut self, conn: ConnId) {
        self.actions.push(Action::Close { conn });
    }

    pub fn send_datagram(&mut self, to: NodeId, data: Vec<u8>) {
        self.actions.push(Action::Datagram { to, data });
    }
}

/// A connection's two ends and where its bytes are.
struct Conn {
    /// The node that connected, and the one it connected to.
    ends: [NodeId; 2],
    /// Until both ends learn it is up, `Connected`/`Accepted` are in flight.
    open: bool,
    /// The time the last delivery in each direction is due (FIFO order).
    last_due: [i64; 2],
}

#[derive(Clone, Debug)]
enum Delivery {
    Tick(NodeId),
    Event(NodeId, Event),
    /// A connect that reaches `to` (`Accepted`) and then its initiator.
    Connect {
        conn: ConnId,
        to: NodeId,
    },
    /// Try a stalled lane (a connection's direction to a node) again.
    Retry((ConnId, NodeId)),
}

/// The simulated world: nodes, clock, network, faults.
pub struct Sim<N: SimNode> {
    pub nodes: Vec<N>,
    now_ms: i64,
    pub tick_ms: i64,
    pub faults: Faults,
    rng: SmallRng,
    node_rngs: Vec<SmallRng>,
    queue: BinaryHeap<Reverse<(i64, u64)>>,
    pending: BTreeMap<u64, Delivery>,
    seq: u64,
    next_conn: ConnId,
    conns: BTreeMap<ConnId, Conn>,
    /// Node pairs (smaller id first) that cannot reach each other.
    cuts: BTreeSet<(NodeId, NodeId)>,
    paused: BTreeSet<NodeId>,
    down: BTreeSet<NodeId>,
    /// Closed connections whose bytes in flight still arrive.
    draining: BTreeSet<ConnId>,
    /// Connection directions (connection, receiving node) held by a cut or
    /// a pause, with what waits on them in order.
    stalled: BTreeMap<(ConnId, NodeId), VecDeque<Delivery>>,
}

impl<N: SimNode> Sim<N> {
    /// A simulation of `nodes`, every random choice drawn from `seed`.
    pub fn new(seed: u64, nodes: Vec<N>, tick_ms: i64) -> Sim<N> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let node_rngs = nodes
            .iter()
            .map(|_| SmallRng::seed_from_u64(rng.gen()))
            .collect();
        let mut sim = Sim {
            nodes,
            now_ms: 0,
            tick_ms,
            faults: Faults::none(),
            rng,
            node_rngs,
            queue: BinaryHeap::new(),
            pending: BTreeMap::new(),
            seq: 0,
            next_conn: 0,
            conns: BTreeMap::new(),
            cuts: BTreeSet::new(),
            paused: BTreeSet::new(),
            down: BTreeSet::new(),
            draining: BTreeSet::new(),
            stalled: BTreeMap::new(),
        };
        for id in 0..sim.nodes.len() {
            // Spread the nodes' ticks over a tick period.
            let first = sim.rng.gen_range(0..tick_ms.max(1));
            sim.schedule(first, Delivery::Tick(id));
        }
        sim
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// A random number from the simulation's own generator (for the
    /// workload and the fault schedule).
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    pub fn is_down(&self, id: NodeId) -> bool {
        self.down.contains(&id)
    }

    pub fn is_paused(&self, id: NodeId) -> bool {
        self.paused.contains(&id)
    }

    /// Runs `f` on node `id` as if an event arrived now (a client's
    /// command, an operator's action). Not on a down or paused node.
    pub fn with_node<R>(&mut self, id: NodeId, f: impl FnOnce(&mut N, &mut NodeIo) -> R) -> R {
        let mut io = NodeIo {
            id,
            now_ms: self.now_ms,
            rng: &mut self.node_rngs[id],
            next_conn: &mut self.next_conn,
            actions: Vec::new(),
        };
        let r = f(&mut self.nodes[id], &mut io);
        let actions = io.actions;
        self.apply(id, actions);
        r
    }

    /// Runs the world until `until_ms`.
    pub fn run_until(&mut self, until_ms: i64) {
        while self.step(until_ms) {}
        self.now_ms = until_ms;
    }

    /// One step: the next delivery due at or before `until_ms` (a tick, a
    /// connection's event, bytes, a datagram), so a caller can check its
    /// invariants after each. False when none is due by then (the clock
    /// stays at the last step).
    pub fn step(&mut self, until_ms: i64) -> bool {
        let Some(Reverse((at, seq))) = self.queue.peek().copied() else {
            return false;
        };
        if at > until_ms {
            return false;
        }
        self.queue.pop();
        self.now_ms = at;
        if let Some(d) = self.pending.remove(&seq) {
            self.deliver(d);
        }
        true
    }

    pub fn run_for(&mut self, ms: i64) {
        self.run_until(self.now_ms + ms);
    }

    /// Runs until `done` holds (checked after every step) or `ms` pass.
    pub fn run_until_true(&mut self, ms: i64, mut done: impl FnMut(&Self) -> bool) -> bool {
        let until = self.now_ms + ms;
        while self.now_ms < until {
            if done(self) {
                return true;
            }
            let step = (self.now_ms + self.tick_ms).min(until);
            self.run_until(step);
        }
        done(self)
    }

    /// Cuts `a` from `b`: what they send each other waits for `heal`.
    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.cuts.insert((a.min(b), a.max(b)));
    }

    /// Isolates `a` from every other node.
    pub fn isolate(&mut self, a: NodeId) {
        for b in 0..self.nodes.len() {
            if b != a {
                self.partition(a, b);
            }
        }
    }

    /// Ends the cut between `a` and `b`; held deliveries go on.
    pub fn unpartition(&mut self, a: NodeId, b: NodeId) {
        self.cuts.remove(&(a.min(b), a.max(b)));
    }

    /// Ends every cut of `a` (the end of `isolate`).
    pub fn rejoin(&mut self, a: NodeId) {
        self.cuts.retain(|&(x, y)| x != a && y != a);
    }

    /// Ends every partition and pause; held deliveries go on.
    pub fn heal(&mut self) {
        self.cuts.clear();
        self.paused.clear();
    }

    pub fn pause(&mut self, id: NodeId) {
        self.paused.insert(id);
    }

    pub fn resume(&mut self, id: NodeId) {
        self.paused.remove(&id);
    }

    /// The node's process dies: its connections reset, it gets nothing
    /// until `restart`.
    pub fn crash(&mut self, id: NodeId) {
        if !self.down.insert(id) {
            return;
        }
        let gone: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.ends.contains(&id))
            .map(|(&k, _)| k)
            .collect();
        for conn in gone {
            // The kernel still sends what the process wrote, then a FIN.
            self.reset(conn, Some(id), true);
        }
    }

    /// The node starts again from its durable state.
    pub fn restart(&mut self, id: NodeId) {
        if !self.down.remove(&id) {
            return;
        }
        self.with_node(id, |node, io| node.restart(io));
    }

    fn schedule(&mut self, delay: i64, d: Delivery) {
        self.schedule_at(self.now_ms + delay.max(0), d);
    }

    fn schedule_at(&mut self, at: i64, d: Delivery) {
        self.seq += 1;
        self.pending.insert(self.seq, d);
        self.queue.push(Reverse((at, self.seq)));
    }

    fn latency(&mut self) -> i64 {
        let (lo, hi) = self.faults.latency_ms;
        self.rng.gen_range(lo..=hi.max(lo))
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.gen_bool(p.min(1.0))
    }

    fn cut(&self, a: NodeId, b: NodeId) -> bool {
        self.cuts.contains(&(a.min(b), a.max(b)))
    }

    /// The node a delivery is for, and who it comes from (if a peer).
    fn parties(&self, d: &Delivery) -> (NodeId, Option<NodeId>) {
        match d {
            Delivery::Tick(id) => (*id, None),
            Delivery::Retry((_, id)) => (*id, None),
            Delivery::Connect { conn, to } => {
                let from = self.conns.get(conn).map(|c| c.ends[0]);
                (*to, from)
            }
            Delivery::Event(id, ev) => {
                let from = match ev {
                    Event::Datagram { from, .. } => Some(*from),
                    Event::Data { conn, .. }
                    | Event::Accepted { conn, .. }
                    | Event::Connected { conn }
                    | Event::Closed { conn } => self.conns.get(conn).map(|c| {
                        if c.ends[0] == *id {
                            c.ends[1]
                        } else {
                            c.ends[0]
                        }
                    }),
                    _ => None,
                };
                (*id, from)
            }
        }
    }

    fn deliver(&mut self, d: Delivery) {
        if let Delivery::Retry(lane) = d {
            // The stalled lane goes on, in order, if its node can be reached.
            let Some(waiting) = self.stalled.remove(&lane) else {
                return;
            };
            let (conn, to) = lane;
            let from = self.conns.get(&conn).map(|c| {
                if c.ends[0] == to {
                    c.ends[1]
                } else {
                    c.ends[0]
                }
            });
            let blocked = self.paused.contains(&to) || from.is_some_and(|f| self.cut(f, to));
            if blocked && !self.down.contains(&to) {
                self.stalled.insert(lane, waiting);
                self.schedule(self.tick_ms.max(1), Delivery::Retry(lane));
                return;
            }
            for d in waiting {
                self.deliver(d);
            }
            return;
        }
        let (to, from) = self.parties(&d);
        if let Delivery::Tick(id) = d {
            self.schedule(self.tick_ms, Delivery::Tick(id));
            if self.down.contains(&id) || self.paused.contains(&id) {
                return;
            }
            self.with_node(id, |node, io| node.on_event(Event::Tick, io));
            return;
        }
        if self.down.contains(&to) {
            // A connect to a dead node is refused; anything else is lost.
            if let Delivery::Connect { conn, .. } = d {
                if let Some(c) = self.conns.remove(&conn) {
                    let lat = self.latency();
                    self.schedule(
                        lat,
                        Delivery::Event(c.ends[0], Event::ConnectFailed { conn }),
                    );
                }
            }
            return;
        }
        // What travels on a connection keeps its order: behind a stalled
        // delivery, the rest of its direction waits too.
        let lane = match &d {
            Delivery::Event(
                id,
                Event::Data { conn, .. } | Event::Closed { conn } | Event::Connected { conn },
            ) => Some((*conn, *id)),
            _ => None,
        };
        if let Some(lane) = lane {
            if let Some(waiting) = self.stalled.get_mut(&lane) {
                waiting.push_back(d);
                return;
            }
        }
        let blocked = self.paused.contains(&to) || from.is_some_and(|f| self.cut(f, to));
        if blocked {
            // Tried again a tick later.
            let retry = self.tick_ms.max(1);
            match lane {
                Some(lane) => {
                    self.stalled.insert(lane, VecDeque::from([d]));
                    self.schedule(retry, Delivery::Retry(lane));
                }
                None => self.schedule(retry, d),
            }
            return;
        }
        match d {
            Delivery::Connect { conn, to } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.open = true;
                let from = c.ends[0];
                self.with_node(to, |node, io| {
                    node.on_event(Event::Accepted { conn, from }, io)
                });
                let lat = self.latency();
                self.schedule(lat, Delivery::Event(from, Event::Connected { conn }));
            }
            Delivery::Event(id, ev) => {
                // Bytes of a connection that is gone are lost with it.
                let live = match &ev {
                    Event::Data { conn, .. } => {
                        self.conns.contains_key(conn) || self.draining.contains(conn)
                    }
                    Event::Connected { conn } => self.conns.contains_key(conn),
                    _ => true,
                };
                if live {
                    self.with_node(id, |node, io| node.on_event(ev, io));
                }
            }
            Delivery::Tick(_) | Delivery::Retry(_) => {}
        }
    }

    /// The connection ends: each end but `except` learns it (a connect
    /// not yet accepted fails). `graceful` (a close, a dying process): the
    /// bytes in flight arrive first. Otherwise (a reset on the network) they
    /// are lost.
    fn reset(&mut self, conn: ConnId, except: Option<NodeId>, graceful: bool) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        if graceful {
            self.draining.insert(conn);
        }
        for (dir, &end) in c.ends.iter().enumerate() {
            if Some(end) == except || (dir == 1 && !c.open) {
                continue;
            }
            let ev = if c.open {
                Event::Closed { conn }
            } else {
                Event::ConnectFailed { conn }
            };
            let at = (self.now_ms + self.latency()).max(c.last_due[1 - dir]);
            self.schedule_at(at, Delivery::Event(end, ev));
        }
    }

    fn apply(&mut self, from: NodeId, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Connect { conn, to } => {
                    if self.chance(self.faults.connect_fail) || to >= self.nodes.len() {
                        let lat = self.latency();
                        self.schedule(lat, Delivery::Event(from, Event::ConnectFailed { conn }));
                        continue;
                    }
                    self.conns.insert(
                        conn,
                        Conn {
                            ends: [from, to],
                            open: false,
                            last_due: [self.now_ms; 2],
                        },
                    );
                    let lat = self.latency();
                    self.schedule(lat, Delivery::Connect { conn, to });
                }
                Action::Send { conn, data } => {
                    if self.chance(self.faults.reset) {
                        self.reset(conn, None, false);
                        continue;
                    }
                    let lat = self.latency();
                    let now = self.now_ms;
                    let Some(c) = self.conns.get_mut(&conn) else {
                        continue;
                    };
                    let dir = if c.ends[0] == from { 0 } else { 1 };
                    let to = c.ends[1 - dir];
                    let at = (now + lat).max(c.last_due[dir]);
                    c.last_due[dir] = at;
                    self.schedule_at(at, Delivery::Event(to, Event::Data { conn, data }));
                }
                Action::Close { conn } => self.reset(conn, Some(from), true),
                Action::Datagram { to, data } => {
                    if to >= self.nodes.len() || self.chance(self.faults.drop) {
                        continue;
                    }
                    let copies = if self.chance(self.faults.duplicate) {
                        2
                    } else {
                        1
                    };
                    for _ in 0..copies {
                        // Independent latencies reorder datagrams.
                        let lat = self.latency();
                        let ev = Event::Datagram {
                            from,
                            data: data.clone(),
                        };
                        self.schedule(lat, Delivery::Event(to, ev));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends numbered messages to node 1 over one connection and over
    /// datagrams, and records what node 1 sees.
    #[derive(Default)]
    struct Echo {
        conn: Option<ConnId>,
        sent: u32,
        stream: Vec<u8>,
        datagrams: Vec<u8>,
        closed: u32,
        restarts: u32,
    }

    impl SimNode for Echo {
        fn on_event(&mut self, event: Event, io: &mut NodeIo) {
            match event {
                Event::Tick if io.id() == 0 => {
                    match self.conn {
                        None => self.conn = Some(io.connect(1)),
                        Some(c) if self.sent < 200 => {
                            io.send(c, vec![self.sent as u8]);
                            self.sent += 1;
                        }
                        _ => {}
                    }
                    if self.sent < 200 {
                        io.send_datagram(1, vec![self.sent as u8]);
                    }
                }
                Event::Data { data, .. } => self.stream.extend(data),
                Event::Datagram { data, .. } => self.datagrams.extend(data),
                Event::Closed { .. } | Event::ConnectFailed { .. } => {
                    self.closed += 1;
                    self.conn = None;
                }
                _ => {}
            }
        }

        fn restart(&mut self, _io: &mut NodeIo) {
            self.restarts += 1;
            self.conn = None;
        }
    }

    fn world(seed: u64, faults: Faults) -> Sim<Echo> {
        let mut sim = Sim::new(seed, vec![Echo::default(), Echo::default()], 10);
        sim.faults = faults;
        sim
    }

    #[test]
    fn streams_stay_in_order_and_datagrams_may_not() {
        let mut faults = Faults::none();
        faults.latency_ms = (1, 50);
        faults.duplicate = 0.2;
        faults.drop = 0.1;
        let mut sim = world(1, faults);
        sim.run_until(5_000);
        let stream = &sim.nodes[1].stream;
        assert_eq!(stream.len(), 200);
        assert!(stream.windows(2).all(|w| w[0] < w[1]), "in order");
        let d = &sim.nodes[1].datagrams;
        assert!(d.windows(2).any(|w| w[0] > w[1]), "reordered");
        let mut unique = d.clone();
        unique.sort();
        unique.dedup();
        assert!(unique.len() < d.len(), "duplicated");
        assert!(unique.len() < 200, "dropped");
    }

    #[test]
    fn same_seed_same_run() {
        let run = |seed| {
            let mut faults = Faults::none();
            faults.latency_ms = (1, 30);
            faults.reset = 0.05;
            faults.duplicate = 0.1;
            let mut sim = world(seed, faults);
            sim.run_until(3_000);
            (sim.nodes[1].stream.clone(), sim.nodes[1].datagrams.clone())
        };
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }

    #[test]
    fn partitions_hold_and_crashes_reset() {
        let mut sim = world(3, Faults::none());
        sim.run_until(100);
        sim.partition(0, 1);
        let before = sim.nodes[1].stream.len();
        sim.run_until(1_000);
        assert!(sim.nodes[1].stream.len() <= before + 1);
        sim.heal();
        sim.run_until(1_100);
        assert!(sim.nodes[1].stream.len() > before + 50, "held bytes arrive");
        let stream = &sim.nodes[1].stream;
        assert!(
            stream.windows(2).all(|w| w[0] < w[1]),
            "in order after the cut"
        );
        sim.crash(1);
        sim.run_until(1_200);
        assert!(sim.nodes[0].closed >= 1, "the peer saw the reset");
        sim.restart(1);
        assert_eq!(sim.nodes[1].restarts, 1);
        sim.partition(0, 1);
        sim.partition(1, 0);
        sim.unpartition(1, 0);
        assert!(!sim.cut(0, 1), "one cut, healed either way round");
        sim.isolate(1);
        sim.rejoin(1);
        assert!(!sim.cut(0, 1) && !sim.cut(1, 0));
        sim.pause(0);
        let sent = sim.nodes[0].sent;
        sim.run_until(2_000);
        assert_eq!(sim.nodes[0].sent, sent, "a paused node does nothing");
        sim.resume(0);
        sim.run_until(2_100);
        assert!(sim.nodes[0].sent > sent);
    }
}
