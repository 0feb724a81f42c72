//! Redis Cluster under a deterministic simulation: the real cluster
//! machines (`redust-cluster`: handshake, gossip, failure detection,
//! elections, manual failover, nodes.conf) of three masters and three
//! replicas on a simulated bus with seeded latencies, through crashes (and
//! restarts from the nodes.conf each node saved), pauses, partitions, manual
//! failovers and a random mix of all of them. Replication is a model: a
//! master's offset grows while it takes writes, a replica follows its
//! master's while it can reach it, and its data age grows while it cannot.
//!
//! Checked after every delivered message and tick: no node's currentEpoch
//! or lastVoteEpoch goes back (restarts included); no two masters claim one
//! slot with the same configEpoch; a master votes at most once per epoch;
//! every election won had a majority of the masters' votes in that epoch.
//! When the faults end: every live node sees every slot owned by the same
//! live node, and the cluster state ok, for 5 s in a row. A failure prints
//! the seed, the replay command and the last events.
//!
//! `REDUST_SIM_SEEDS=<n>` runs n seeds per scenario (CI: `DEFAULT_SEEDS`),
//! `REDUST_SIM_SEED=<n>` replays one.

use redust_cluster::bus::{self, kind, Framing};
use redust_cluster::failover::Manual;
use redust_cluster::nodes::parse_nodes_conf;
use redust_cluster::state::{Action, Cluster, LinkId, Settings};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

const DEFAULT_SEEDS: u64 = 100;
/// The machines' clock starts here (0 means "never" to them).
const CLOCK: i64 = 1_000_000_000;
const NODE_TIMEOUT: i64 = 1000;
const TICK: i64 = 100;

fn seeds() -> Vec<u64> {
    redust_test_support::sim::seeds(DEFAULT_SEEDS)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// What travels between nodes.
enum Event {
    /// Bytes for `(node, link)`.
    Bytes(usize, LinkId, Vec<u8>),
    /// A connection attempt from `(node, link)` to node `to`.
    Connect(usize, LinkId, usize),
}

struct Node {
    machine: Cluster,
    settings: Settings,
    up: bool,
    paused_until: i64,
    /// nodes.conf as last saved.
    file: String,
    /// Replication model.
    offset: u64,
    master_seen: i64,
    writes_paused_until: i64,
    /// Highest epochs seen (they must never go back).
    max_current: u64,
    max_vote: u64,
    restarts: u64,
}

struct World {
    seed: u64,
    rng: Rng,
    now: i64,
    nodes: Vec<Node>,
    /// (node, link) <-> (node, link)
    wires: HashMap<(usize, LinkId), (usize, LinkId)>,
    queue: BinaryHeap<Reverse<(i64, u64)>>,
    events: HashMap<u64, Event>,
    next_event: u64,
    /// Pairs that cannot talk.
    cuts: BTreeSet<(usize, usize)>,
    /// Votes sent: (voter, epoch) -> candidate.
    votes: BTreeMap<(String, u64), String>,
    /// ACKs received by each candidate, by epoch: voters.
    acks: BTreeMap<(String, u64), BTreeSet<String>>,
    log: Vec<String>,
    faults: Vec<String>,
    /// Promotions by election: (node, epoch).
    promotions: Vec<(String, u64)>,
    /// The last delivery time scheduled on each link (TCP keeps order).
    last_at: HashMap<(usize, LinkId), i64>,
}

impl World {
    fn new(seed: u64, replicas: usize) -> World {
        let n = 3 + 3 * replicas;
        let nodes = (0..n)
            .map(|i| {
                let settings = Settings {
                    node_timeout: NODE_TIMEOUT,
                    port: 7000 + i as u16,
                    cport: 17000 + i as u16,
                    ..Settings::default()
                };
                let machine =
                    Cluster::new(settings.clone(), splitmix(seed ^ (i as u64 + 1)), CLOCK);
                Node {
                    machine,
                    settings,
                    up: true,
                    paused_until: 0,
                    file: String::new(),
                    offset: 0,
                    master_seen: CLOCK,
                    writes_paused_until: 0,
                    max_current: 0,
                    max_vote: 0,
                    restarts: 0,
                }
            })
            .collect();
        let mut w = World {
            seed,
            rng: Rng(splitmix(seed)),
            now: CLOCK,
            nodes,
            wires: HashMap::new(),
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            next_event: 0,
            cuts: BTreeSet::new(),
            votes: BTreeMap::new(),
            acks: BTreeMap::new(),
            log: Vec::new(),
            faults: Vec::new(),
            promotions: Vec::new(),
            last_at: HashMap::new(),
        };
        for i in 0..n {
            w.save(i);
        }
        w.form(replicas);
        w
    }

    fn id(&self, i: usize) -> String {
        self.nodes[i].machine.myself.clone()
    }

    fn save(&mut self, i: usize) {
        if let Some(_fsync) = self.nodes[i].machine.take_save() {
            self.nodes[i].file = self.nodes[i].machine.conf().format();
        }
    }

    /// Three masters with the slots split, the replicas following them.
    fn form(&mut self, replicas: usize) {
        let per = 16384 / 3;
        for i in 0..3u16 {
            let from = i * per as u16 + i.min(1);
            let to = if i == 2 { 16383 } else { (i + 1) * per as u16 };
            let slots: Vec<u16> = (from..=to).collect();
            let now = self.now;
            let c = &mut self.nodes[i as usize].machine;
            c.add_slots(&slots, now);
            c.set_config_epoch(u64::from(i) + 1);
            self.save(i as usize);
        }
        for i in 1..self.nodes.len() {
            let now = self.now;
            self.nodes[0]
                .machine
                .meet("127.0.0.1", 7000 + i as u16, 17000 + i as u16, now);
        }
        self.run_for(4000);
        for r in 0..3 * replicas {
            let (replica, master) = (3 + r, r % 3);
            let master_id = self.id(master);
            let actions = self.nodes[replica].machine.replicate(&master_id);
            self.apply(replica, actions);
        }
        self.run_for(4000);
    }

    fn can_talk(&self, a: usize, b: usize) -> bool {
        !self.cuts.contains(&(a.min(b), a.max(b)))
    }

    fn schedule(&mut self, at: i64, e: Event) {
        let id = self.next_event;
        self.next_event += 1;
        self.events.insert(id, e);
        self.queue.push(Reverse((at, id)));
    }

    /// Bytes for a link, never before what was sent on it earlier (equal
    /// times keep their order by event id).
    fn schedule_bytes(&mut self, at: i64, to: usize, link: LinkId, bytes: Vec<u8>) {
        let last = self.last_at.entry((to, link)).or_insert(0);
        let at = at.max(*last);
        *last = at;
        self.schedule(at, Event::Bytes(to, link, bytes));
    }

    fn apply(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Connect { link, cport, .. } => {
                    let to = (cport as usize).wrapping_sub(17000);
                    let at = self.now + self.rng.range(1, 5);
                    self.schedule(at, Event::Connect(i, link, to));
                }
                Action::Send { link, bytes } => {
                    let Some(&(peer, peer_link)) = self.wires.get(&(i, link)) else {
                        continue;
                    };
                    self.record_send(i, peer, &bytes);
                    let at = self.now + self.rng.range(1, 20);
                    self.schedule_bytes(at, peer, peer_link, bytes);
                }
                Action::Close { link } => {
                    if let Some((peer, peer_link)) = self.wires.remove(&(i, link)) {
                        self.wires.remove(&(peer, peer_link));
                        self.nodes[peer].machine.link_closed(peer_link);
                    }
                }
                Action::SaveConfig { .. } => {
                    self.nodes[i].file = self.nodes[i].machine.conf().format();
                }
                Action::Log { text, .. } => {
                    if text.contains("election won") || text.contains("Taking over") {
                        let epoch = self.nodes[i].machine.election.auth_epoch;
                        if text.contains("election won") {
                            self.promotions.push((self.id(i), epoch));
                        }
                    }
                    self.log.push(format!("{} n{i} {text}", self.now - CLOCK));
                }
                Action::PauseWrites { until_ms } => self.nodes[i].writes_paused_until = until_ms,
                Action::ReplicaOf { .. }
                | Action::Deliver { .. }
                | Action::DropSlotKeys { .. }
                | Action::ForgetShardChannels { .. } => {}
            }
        }
        self.save(i);
    }

    /// Votes and vote requests, seen on the way out.
    fn record_send(&mut self, from: usize, to: usize, bytes: &[u8]) {
        if let Framing::Whole(_) = bus::frame(bytes) {
            if let Ok(Some(m)) = bus::decode(bytes) {
                if m.header.kind == kind::FAILOVER_AUTH_ACK {
                    let voter = self.id(from);
                    let candidate = self.id(to);
                    let epoch = m.header.current_epoch;
                    self.votes
                        .entry((voter.clone(), epoch))
                        .or_insert(candidate.clone());
                    self.acks
                        .entry((candidate, epoch))
                        .or_default()
                        .insert(voter);
                }
            }
        }
    }

    fn deliver(&mut self, e: Event) {
        match e {
            Event::Connect(from, link, to) => {
                let ok = to < self.nodes.len()
                    && self.nodes[to].up
                    && self.nodes[from].up
                    && self.can_talk(from, to);
                if !ok {
                    let now = self.now;
                    self.nodes[from].machine.link_failed(link, now);
                    return;
                }
                let now = self.now;
                let peer_link = self.nodes[to].machine.link_accepted(now);
                self.wires.insert((from, link), (to, peer_link));
                self.wires.insert((to, peer_link), (from, link));
                let actions = self.nodes[from].machine.link_connected(link, now);
                self.apply(from, actions);
            }
            Event::Bytes(to, link, bytes) => {
                let Some(&(from, _)) = self.wires.get(&(to, link)) else {
                    return;
                };
                if !self.nodes[to].up {
                    return;
                }
                // A cut or a paused receiver holds the bytes (TCP does).
                if !self.can_talk(from, to) || self.nodes[to].paused_until > self.now {
                    let at = self.now + TICK;
                    self.schedule_bytes(at, to, link, bytes);
                    return;
                }
                let msg = bus::decode(&bytes).expect("valid").expect("version 1");
                let now = self.now;
                let offset = self.nodes[to].offset;
                let age = self.data_age(to);
                self.nodes[to].machine.set_replication(offset, age);
                let actions =
                    self.nodes[to]
                        .machine
                        .receive(link, &msg, "127.0.0.1", "127.0.0.1", now);
                self.apply(to, actions);
            }
        }
    }

    fn data_age(&self, i: usize) -> i64 {
        if self.nodes[i].machine.me().is_master() {
            0
        } else {
            self.now - self.nodes[i].master_seen
        }
    }

    /// The replication model's tick: masters taking writes grow their
    /// offset; a replica that reaches its live master catches up.
    fn replicate(&mut self) {
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if !n.up || n.paused_until > self.now {
                continue;
            }
            let me = n.machine.me();
            if me.is_master() {
                if n.machine.state_ok && !me.slots.is_empty() && n.writes_paused_until <= self.now {
                    self.nodes[i].offset += 1 + self.rng.next() % 64;
                }
                continue;
            }
            let Some(master) = me.master.clone() else {
                continue;
            };
            let Some(m) = (0..self.nodes.len()).find(|&j| self.nodes[j].machine.myself == master)
            else {
                continue;
            };
            let reachable =
                self.nodes[m].up && self.nodes[m].paused_until <= self.now && self.can_talk(i, m);
            if reachable {
                let offset = self.nodes[m].offset;
                self.nodes[i].offset = offset;
                self.nodes[i].master_seen = self.now;
            }
        }
    }

    fn step(&mut self) -> Result<(), String> {
        let next_tick = (self.now / TICK + 1) * TICK;
        match self.queue.peek() {
            Some(Reverse((at, _))) if *at <= next_tick => {
                let Reverse((at, id)) = self.queue.pop().expect("peeked");
                self.now = self.now.max(at);
                // Events of a crashed node were dropped.
                if let Some(e) = self.events.remove(&id) {
                    self.deliver(e);
                }
            }
            _ => {
                self.now = next_tick;
                self.replicate();
                for i in 0..self.nodes.len() {
                    if !self.nodes[i].up || self.nodes[i].paused_until > self.now {
                        continue;
                    }
                    let offset = self.nodes[i].offset;
                    let age = self.data_age(i);
                    let now = self.now;
                    self.nodes[i].machine.set_replication(offset, age);
                    let actions = self.nodes[i].machine.tick(now);
                    self.apply(i, actions);
                }
            }
        }
        self.check()
    }

    fn run_for(&mut self, ms: i64) {
        let end = self.now + ms;
        while self.now < end {
            if let Err(e) = self.step() {
                panic!("{}", self.report(&e));
            }
        }
    }

    fn try_run_for(&mut self, ms: i64) -> Result<(), String> {
        let end = self.now + ms;
        while self.now < end {
            self.step().map_err(|e| self.report(&e))?;
        }
        Ok(())
    }

    /// The safety invariants.
    fn check(&mut self) -> Result<(), String> {
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            if !n.up {
                continue;
            }
            let (cur, vote) = (n.machine.current_epoch, n.machine.last_vote_epoch);
            if cur < n.max_current || vote < n.max_vote {
                return Err(format!(
                    "n{i}: epochs went back: current {cur} (was {}), lastVote {vote} (was {})",
                    n.max_current, n.max_vote
                ));
            }
            n.max_current = cur;
            n.max_vote = vote;
        }
        // No two masters claim one slot with one configEpoch.
        let masters: Vec<(usize, u64)> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up && self.nodes[i].machine.me().is_master())
            .map(|i| (i, self.nodes[i].machine.me().config_epoch))
            .collect();
        for (a, &(i, ei)) in masters.iter().enumerate() {
            for &(j, ej) in &masters[a + 1..] {
                if ei != ej {
                    continue;
                }
                let (si, sj) = (
                    &self.nodes[i].machine.me().slots,
                    &self.nodes[j].machine.me().slots,
                );
                if si.0.iter().zip(sj.0.iter()).any(|(x, y)| x & y != 0) {
                    return Err(format!(
                        "n{i} and n{j} both claim slots at configEpoch {ei}"
                    ));
                }
            }
        }
        // Every election won had a majority of the 3 masters' votes.
        for (who, epoch) in &self.promotions {
            let n = self.acks.get(&(who.clone(), *epoch)).map_or(0, |v| v.len());
            if n < 2 {
                return Err(format!("{who} won epoch {epoch} with {n} vote(s)"));
            }
        }
        Ok(())
    }

    /// After the faults: everyone agrees, and stays agreed for 5 s.
    fn settle(&mut self, within: i64) -> Result<(), String> {
        let deadline = self.now + within;
        let mut agreed_since: Option<i64> = None;
        while self.now < deadline {
            self.step().map_err(|e| self.report(&e))?;
            // Looked at once per tick (a full comparison of every view).
            if self.now % TICK != 0 {
                continue;
            }
            if self.agreed() {
                let since = *agreed_since.get_or_insert(self.now);
                if self.now - since >= 5000 {
                    return Ok(());
                }
            } else {
                agreed_since = None;
            }
        }
        let views: Vec<String> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up)
            .map(|i| format!("n{i}:\n{}", self.nodes[i].machine.nodes_text()))
            .collect();
        Err(self.report(&format!(
            "no agreement within {within} ms\n{}",
            views.join("\n")
        )))
    }

    fn agreed(&self) -> bool {
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].up)
            .collect();
        let ids: BTreeSet<String> = live.iter().map(|&i| self.id(i)).collect();
        if !live.iter().all(|&i| self.nodes[i].machine.state_ok) {
            return false;
        }
        // The served-slots bitmap routing reads matches the owners.
        for &i in &live {
            let m = &self.nodes[i].machine;
            let consistent = m
                .owners
                .iter()
                .enumerate()
                .all(|(s, o)| m.owners.is_mine(s) == (o.as_deref() == Some(m.myself.as_str())));
            assert!(consistent, "n{i}: is_mine disagrees with the owners");
        }
        let first = &self.nodes[live[0]].machine.owners;
        live.iter().all(|&i| {
            let o = &self.nodes[i].machine.owners;
            o == first
                && o.iter()
                    .all(|x| x.as_ref().is_some_and(|id| ids.contains(id)))
        })
    }

    fn report(&self, error: &str) -> String {
        let tail = &self.log[self.log.len().saturating_sub(80)..];
        format!(
            "seed {}: {error}\nreplay: REDUST_SIM_SEED={} cargo test --release -p redust-test-support --test sim_cluster\nfaults: {:?}\nlast events:\n{}",
            self.seed,
            self.seed,
            self.faults,
            tail.join("\n")
        )
    }

    // ----- faults -----

    fn crash(&mut self, i: usize) {
        self.faults.push(format!("{} crash n{i}", self.now - CLOCK));
        self.nodes[i].up = false;
        // What was on its way to it, or its connects, die with it (its link
        // ids are reused after a restart).
        self.events.retain(|_, e| match e {
            Event::Bytes(to, _, _) => *to != i,
            Event::Connect(from, _, _) => *from != i,
        });
        self.last_at.retain(|(n, _), _| *n != i);
        let links: Vec<(usize, LinkId)> = self
            .wires
            .keys()
            .filter(|(n, _)| *n == i)
            .copied()
            .collect();
        for (n, l) in links {
            if let Some((peer, peer_link)) = self.wires.remove(&(n, l)) {
                self.wires.remove(&(peer, peer_link));
                self.nodes[peer].machine.link_closed(peer_link);
            }
        }
    }

    fn restart(&mut self, i: usize) {
        self.faults
            .push(format!("{} restart n{i}", self.now - CLOCK));
        let n = &mut self.nodes[i];
        n.restarts += 1;
        let conf = parse_nodes_conf(&n.file).expect("the saved nodes.conf reads back");
        n.machine = Cluster::from_conf(
            &conf,
            n.settings.clone(),
            splitmix(self.seed ^ (i as u64 + 100 * n.restarts)),
            self.now,
        )
        .expect("from its own file");
        n.up = true;
        n.paused_until = 0;
        n.writes_paused_until = 0;
        if n.machine.current_epoch < n.max_current || n.machine.last_vote_epoch < n.max_vote {
            panic!(
                "{}",
                self.report(&format!("n{i} restarted with older epochs"))
            );
        }
        self.save(i);
    }

    fn pause(&mut self, i: usize, ms: i64) {
        self.faults
            .push(format!("{} pause n{i} {ms} ms", self.now - CLOCK));
        self.nodes[i].paused_until = self.now + ms;
    }

    fn isolate(&mut self, i: usize) {
        self.faults
            .push(format!("{} isolate n{i}", self.now - CLOCK));
        for j in 0..self.nodes.len() {
            if j != i {
                self.cuts.insert((i.min(j), i.max(j)));
            }
        }
    }

    fn heal(&mut self) {
        self.faults.push(format!("{} heal", self.now - CLOCK));
        self.cuts.clear();
    }

    fn master_index(&self, shard: usize) -> usize {
        // The node that owns the shard's first slot in node 0's... in any live view.
        let slot = [0u16, 6000, 12000][shard];
        let live = (0..self.nodes.len())
            .find(|&i| self.nodes[i].up)
            .expect("a live node");
        let owner = self.nodes[live]
            .machine
            .owner(slot)
            .map(|n| n.id.clone())
            .unwrap_or_default();
        (0..self.nodes.len())
            .find(|&i| self.id(i) == owner)
            .unwrap_or(shard)
    }
}

fn run(name: &str, scenario: impl Fn(u64) -> Result<(), String>) {
    for seed in seeds() {
        if let Err(e) = scenario(seed) {
            panic!("{name}: {e}");
        }
    }
}

#[test]
fn a_crashed_master_is_replaced_and_comes_back_as_a_replica() {
    run("master_crash", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let old = w.id(m);
        w.crash(m);
        let ms = w.rng.range(4000, 8000);
        w.try_run_for(ms)?;
        w.restart(m);
        w.settle(30_000)?;
        let live_view = &w.nodes[(m + 1) % w.nodes.len()].machine;
        let n = &live_view.nodes[&old];
        if n.is_master() {
            return Err(w.report("the old master is still a master after coming back"));
        }
        Ok(())
    })
}

#[test]
fn a_paused_master_fails_over_or_not_and_the_cluster_agrees() {
    run("master_pause", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let ms = w.rng.range(NODE_TIMEOUT / 2, NODE_TIMEOUT * 6);
        w.pause(m, ms);
        w.try_run_for(ms + 500)?;
        w.settle(30_000)
    })
}

#[test]
fn an_isolated_master_is_replaced_by_the_majority() {
    run("partition", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        w.isolate(m);
        let ms = w.rng.range(2000, 10_000);
        w.try_run_for(ms)?;
        w.heal();
        w.settle(30_000)
    })
}

#[test]
fn a_manual_failover_swaps_roles_under_writes() {
    run("manual_failover", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let master_id = w.id(m);
        let r = (0..w.nodes.len())
            .find(|&i| w.nodes[i].machine.me().master.as_deref() == Some(master_id.as_str()))
            .ok_or("no replica")?;
        let now = w.now;
        let actions = w.nodes[r]
            .machine
            .manual_failover(Manual::Default, now)
            .map_err(|e| w.report(e))?;
        w.apply(r, actions);
        w.try_run_for(6000)?;
        if !w.nodes[r].machine.me().is_master() {
            return Err(w.report("the replica was not promoted by CLUSTER FAILOVER"));
        }
        if w.log
            .iter()
            .any(|l| l.contains("Manual failover timed out"))
        {
            return Err(w.report("a manual failover timed out"));
        }
        w.settle(20_000)
    })
}

#[test]
fn restarted_nodes_keep_their_identity_and_epochs() {
    run("node_restart", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let i = (w.rng.next() % w.nodes.len() as u64) as usize;
        let id = w.id(i);
        w.crash(i);
        let ms = w.rng.range(100, 5000);
        w.try_run_for(ms)?;
        w.restart(i);
        if w.id(i) != id {
            return Err(w.report("a restarted node changed its id"));
        }
        w.settle(30_000)
    })
}

#[test]
fn a_random_mix_of_faults() {
    run("random_mix", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let end = w.now + 30_000;
        while w.now < end {
            let i = (w.rng.next() % w.nodes.len() as u64) as usize;
            match w.rng.next() % 4 {
                0 if w.nodes[i].up && w.nodes.iter().filter(|n| !n.up).count() == 0 => w.crash(i),
                1 => {
                    let ms = w.rng.range(300, 4000);
                    w.pause(i, ms)
                }
                2 if w.cuts.is_empty() => w.isolate(i),
                _ => {
                    w.heal();
                    for j in 0..w.nodes.len() {
                        if !w.nodes[j].up {
                            w.restart(j);
                        }
                    }
                }
            }
            let ms = w.rng.range(500, 5000);
            w.try_run_for(ms)?;
        }
        w.heal();
        for j in 0..w.nodes.len() {
            if !w.nodes[j].up {
                w.restart(j);
            }
        }
        w.settle(40_000)
    })
}

#[test]
fn with_two_replicas_one_is_promoted_and_the_other_follows_it() {
    run("master_crash_3x2", |seed| {
        let mut w = World::new(seed, 2);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let old = w.id(m);
        let promoted_before = w.promotions.len();
        w.crash(m);
        // Two replicas with equal offsets can split the two live masters'
        // votes (as in Redis); the random delays break the tie in a later
        // round.
        let deadline = w.now + 30_000;
        while w.promotions.len() == promoted_before && w.now < deadline {
            w.try_run_for(1000)?;
        }
        w.try_run_for(3000)?;
        let won: Vec<&(String, u64)> = w.promotions[promoted_before..].iter().collect();
        if won.len() != 1 {
            return Err(w.report(&format!("{} promotions for one dead master", won.len())));
        }
        let new = won[0].0.clone();
        w.restart(m);
        w.settle(30_000)?;
        // The old master and the other replica both follow the new one.
        for i in 0..w.nodes.len() {
            let me = w.nodes[i].machine.me();
            let was_in_shard = w.id(i) == old || me.master.as_deref() == Some(new.as_str());
            if w.id(i) != new && was_in_shard && me.master.as_deref() != Some(new.as_str()) {
                return Err(w.report(&format!("n{i} does not follow the new master")));
            }
        }
        let old_follows = w.nodes[m].machine.me().master.as_deref() == Some(new.as_str());
        if !old_follows {
            return Err(w.report("the old master does not follow the new one"));
        }
        Ok(())
    })
}

#[test]
fn an_orphaned_master_gets_a_replica_from_a_shard_with_two() {
    run("replica_migration", |seed| {
        let mut w = World::new(seed, 2);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let master_id = w.id(m);
        let replicas: Vec<usize> = (0..w.nodes.len())
            .filter(|&i| w.nodes[i].machine.me().master.as_deref() == Some(master_id.as_str()))
            .collect();
        if replicas.len() != 2 {
            return Err(w.report("the shard does not have two replicas"));
        }
        for &r in &replicas {
            w.crash(r);
        }
        // FAIL for both (a few node timeouts), then the migration delay.
        let deadline = w.now + 30_000;
        let migrated = |w: &World| {
            (0..w.nodes.len()).any(|i| {
                w.nodes[i].up && w.nodes[i].machine.me().master.as_deref() == Some(&master_id)
            })
        };
        while !migrated(&w) && w.now < deadline {
            w.try_run_for(500)?;
        }
        if !migrated(&w) {
            return Err(w.report("no replica migrated to the orphaned master"));
        }
        w.settle(20_000)?;
        let moves = w
            .log
            .iter()
            .filter(|l| l.contains("Migrating to orphaned master"))
            .count();
        if moves != 1 {
            return Err(w.report(&format!("{moves} replicas migrated, not one")));
        }
        // Every master keeps a live replica (the barrier is one).
        for s in 0..3 {
            let id = w.id(w.master_index(s));
            let live = (0..w.nodes.len())
                .filter(|&i| {
                    w.nodes[i].up && w.nodes[i].machine.me().master.as_deref() == Some(&id)
                })
                .count();
            if live == 0 {
                return Err(w.report(&format!("shard {s} has no live replica")));
            }
        }
        Ok(())
    })
}

/// The replica of shard `shard`'s master (with one replica per master).
fn replica_of(w: &World, master: usize) -> Option<usize> {
    let id = w.id(master);
    (0..w.nodes.len()).find(|&i| w.nodes[i].machine.me().master.as_deref() == Some(id.as_str()))
}

#[test]
fn a_master_cut_from_its_replica_only_keeps_its_slots() {
    run("master_replica_cut", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let r = replica_of(&w, m).ok_or("no replica")?;
        let promoted_before = w.promotions.len();
        w.faults.push(format!("{} cut n{m} n{r}", w.now - CLOCK));
        w.cuts.insert((m.min(r), m.max(r)));
        let ms = w.rng.range(2000, 10_000);
        w.try_run_for(ms)?;
        w.heal();
        w.settle(30_000)?;
        // The other masters still saw the master: no FAIL, no election.
        if w.promotions.len() != promoted_before || !w.nodes[m].machine.me().is_master() {
            return Err(w.report("a master cut from its replica only was replaced"));
        }
        Ok(())
    })
}

#[test]
fn a_replica_with_stale_data_does_not_fail_over() {
    run("stale_replica", |seed| {
        let mut w = World::new(seed, 1);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let r = replica_of(&w, m).ok_or("no replica")?;
        // Cut off from its master for longer than the validity allows:
        // repl-ping period + node-timeout x validity factor = 20 s here.
        w.faults.push(format!("{} cut n{m} n{r}", w.now - CLOCK));
        w.cuts.insert((m.min(r), m.max(r)));
        let ms = w.rng.range(23_000, 30_000);
        w.try_run_for(ms)?;
        let promoted_before = w.promotions.len();
        w.crash(m);
        w.try_run_for(10_000)?;
        if w.promotions.len() != promoted_before || w.nodes[r].machine.me().is_master() {
            return Err(w.report("a replica with data older than allowed was promoted"));
        }
        let refused = w.log.iter().any(|l| {
            l.contains(&format!(
                "n{r} Currently unable to failover: Disconnected from master"
            ))
        });
        if !refused {
            return Err(w.report("the stale replica did not say why it does not fail over"));
        }
        // The master comes back: it keeps its slots and everyone agrees.
        w.heal();
        w.restart(m);
        w.settle(30_000)?;
        if !w.nodes[m].machine.me().is_master() {
            return Err(w.report("the returning master lost its slots"));
        }
        Ok(())
    })
}

#[test]
fn a_candidate_cut_off_mid_election_leaves_it_to_the_other_replica() {
    run("candidate_cut", |seed| {
        let mut w = World::new(seed, 2);
        w.settle(20_000)?;
        let shard = (w.rng.next() % 3) as usize;
        let m = w.master_index(shard);
        let old = w.id(m);
        w.crash(m);
        // Run until one of its replicas starts an election, then cut it off.
        let logged = w.log.len();
        let deadline = w.now + 20_000;
        let mut candidate = None;
        while candidate.is_none() && w.now < deadline {
            w.step().map_err(|e| w.report(&e))?;
            candidate = w.log[logged..]
                .iter()
                .find(|l| l.contains("Starting a failover election"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.trim_start_matches('n').parse::<usize>().ok());
        }
        let c = candidate.ok_or_else(|| w.report("no election started"))?;
        w.isolate(c);
        // The other replica of the shard takes over (unless the cut one
        // had its votes already: then it is the master, alone).
        w.try_run_for(20_000)?;
        w.heal();
        w.settle(30_000)?;
        let masters_of_shard: Vec<usize> = (0..w.nodes.len())
            .filter(|&i| w.nodes[i].up && w.nodes[i].machine.me().is_master())
            .filter(|&i| w.master_index(shard) == i)
            .collect();
        if masters_of_shard.len() != 1 {
            return Err(w.report("the shard does not have one master"));
        }
        // Both replicas follow whoever won.
        let winner = w.id(masters_of_shard[0]);
        for i in 0..w.nodes.len() {
            let me = w.nodes[i].machine.me();
            let was_replica = me.master.as_deref() == Some(old.as_str());
            if was_replica && i != masters_of_shard[0] {
                return Err(w.report(&format!("n{i} still follows the dead master, not {winner}")));
            }
        }
        Ok(())
    })
}
