//! Several `Cluster` machines on an in-memory bus: MEET and the handshake,
//! gossip spreading the membership, slots and epochs agreed, the state
//! turning ok, and a dead master marked FAIL by the majority.

use redust_cluster::bus::{self, Framing};
use redust_cluster::nodes::flag;
use redust_cluster::state::{Action, Cluster, LinkId, Settings};
use std::collections::{HashMap, VecDeque};

struct Net {
    nodes: Vec<Cluster>,
    /// (node, link) -> (peer node, peer link)
    wires: HashMap<(usize, LinkId), (usize, LinkId)>,
    down: Vec<bool>,
    now: i64,
    queue: VecDeque<(usize, Action)>,
    /// DropSlotKeys asked of each node.
    dropped: Vec<(usize, Vec<u16>)>,
}

impl Net {
    fn new(n: usize) -> Net {
        let nodes = (0..n)
            .map(|i| {
                let settings = Settings {
                    node_timeout: 1000,
                    port: 7000 + i as u16,
                    cport: 17000 + i as u16,
                    ..Settings::default()
                };
                Cluster::new(settings, 1234 + i as u64 * 77, 0)
            })
            .collect();
        Net {
            nodes,
            wires: HashMap::new(),
            down: vec![false; n],
            now: 0,
            queue: VecDeque::new(),
            dropped: Vec::new(),
        }
    }

    fn run(&mut self, from: usize, actions: Vec<Action>) {
        self.queue.extend(actions.into_iter().map(|a| (from, a)));
        while let Some((at, action)) = self.queue.pop_front() {
            match action {
                Action::Connect { link, cport, .. } => {
                    let peer = (cport - 17000) as usize;
                    if peer >= self.nodes.len() || self.down[peer] || self.down[at] {
                        self.nodes[at].link_failed(link, self.now);
                        continue;
                    }
                    let peer_link = self.nodes[peer].link_accepted(self.now);
                    self.wires.insert((at, link), (peer, peer_link));
                    self.wires.insert((peer, peer_link), (at, link));
                    let more = self.nodes[at].link_connected(link, self.now);
                    self.queue.extend(more.into_iter().map(|a| (at, a)));
                }
                Action::Send { link, bytes } => {
                    let Some(&(peer, peer_link)) = self.wires.get(&(at, link)) else {
                        continue;
                    };
                    if self.down[peer] || self.down[at] {
                        continue;
                    }
                    assert_eq!(bus::frame(&bytes), Framing::Whole(bytes.len()));
                    let msg = bus::decode(&bytes).unwrap().unwrap();
                    let more = self.nodes[peer].receive(
                        peer_link,
                        &msg,
                        "127.0.0.1",
                        "127.0.0.1",
                        self.now,
                    );
                    self.queue.extend(more.into_iter().map(|a| (peer, a)));
                }
                Action::Close { link } => {
                    if let Some((peer, peer_link)) = self.wires.remove(&(at, link)) {
                        self.wires.remove(&(peer, peer_link));
                        self.nodes[peer].link_closed(peer_link);
                    }
                }
                Action::DropSlotKeys { slots } => self.dropped.push((at, slots)),
                _ => {}
            }
        }
    }

    fn advance(&mut self, ms: i64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 100;
            for i in 0..self.nodes.len() {
                if self.down[i] {
                    continue;
                }
                let actions = self.nodes[i].tick(self.now);
                self.run(i, actions);
            }
        }
    }

    fn kill(&mut self, i: usize) {
        self.down[i] = true;
        let links: Vec<(usize, LinkId)> = self
            .wires
            .keys()
            .filter(|(n, _)| *n == i)
            .copied()
            .collect();
        for (n, l) in links {
            if let Some((peer, peer_link)) = self.wires.remove(&(n, l)) {
                self.wires.remove(&(peer, peer_link));
                self.nodes[peer].link_closed(peer_link);
            }
        }
    }
}

/// `n` nodes: the first three masters with a third of the slots each
/// (configEpochs 1, 2, 3), all met through node 0.
fn masters_and_meet(n: usize) -> Net {
    let mut net = Net::new(n);
    let per = 16384 / 3;
    for i in 0..3u16 {
        let from = i * per as u16 + i.min(1);
        let to = if i == 2 { 16383 } else { (i + 1) * per as u16 };
        let slots: Vec<u16> = (from..=to).collect();
        net.nodes[i as usize].add_slots(&slots, 0);
        net.nodes[i as usize].set_config_epoch(u64::from(i) + 1);
    }
    for i in 1..n {
        net.nodes[0].meet("127.0.0.1", 7000 + i as u16, 17000 + i as u16, 0);
    }
    net
}

fn three_masters() -> Net {
    let mut net = masters_and_meet(3);
    net.advance(5000);
    net
}

#[test]
fn meet_gossip_and_slots_make_one_cluster() {
    let net = three_masters();
    for c in &net.nodes {
        assert_eq!(c.nodes.len(), 3, "{}", c.nodes_text());
        assert!(
            c.nodes.values().all(|n| !n.is(flag::HANDSHAKE)),
            "{}",
            c.nodes_text()
        );
        assert!(c.state_ok, "{}", c.nodes_text());
        assert_eq!(c.size, 3);
        assert!((0..16384u16).all(|s| c.owner(s).is_some()));
    }
    // Every node agrees on every slot's owner.
    for s in [0u16, 5000, 5461, 10922, 10923, 16383] {
        let owners: Vec<String> = net
            .nodes
            .iter()
            .map(|c| c.owner(s).unwrap().id.clone())
            .collect();
        assert!(
            owners.windows(2).all(|w| w[0] == w[1]),
            "slot {s}: {owners:?}"
        );
    }
}

#[test]
fn a_dead_master_is_marked_fail_by_the_majority() {
    let mut net = three_masters();
    let dead = net.nodes[2].myself.clone();
    net.kill(2);
    net.advance(4000);
    for c in &net.nodes[..2] {
        let n = &c.nodes[&dead];
        assert!(n.is(flag::FAIL), "{}", c.nodes_text());
        assert!(!c.state_ok);
    }
}

#[test]
fn equal_epochs_are_resolved() {
    let mut net = Net::new(3);
    for i in 0..3 {
        let slots: Vec<u16> = (i as u16 * 10..i as u16 * 10 + 10).collect();
        net.nodes[i].add_slots(&slots, 0);
    }
    for i in 1..3 {
        net.nodes[0].meet("127.0.0.1", 7000 + i as u16, 17000 + i as u16, 0);
    }
    net.advance(6000);
    let mut epochs: Vec<u64> = net.nodes.iter().map(|c| c.me().config_epoch).collect();
    epochs.sort();
    epochs.dedup();
    assert_eq!(
        epochs.len(),
        3,
        "{:?}",
        net.nodes.iter().map(|c| c.nodes_text()).collect::<Vec<_>>()
    );
}

#[test]
fn nodes_conf_round_trips() {
    let net = three_masters();
    let c = &net.nodes[1];
    let text = c.conf().format();
    let conf = redust_cluster::nodes::parse_nodes_conf(&text).unwrap();
    let again = Cluster::from_conf(&conf, c.settings.clone(), 9, 100_000).unwrap();
    assert_eq!(again.myself, c.myself);
    assert_eq!(again.current_epoch, c.current_epoch);
    for s in [0u16, 8000, 16383] {
        assert_eq!(
            again.owner(s).map(|n| n.id.clone()),
            c.owner(s).map(|n| n.id.clone())
        );
    }
}

fn three_by_two() -> Net {
    let mut net = masters_and_meet(6);
    net.advance(4000);
    for i in 0..3 {
        let master = net.nodes[i].myself.clone();
        let actions = net.nodes[3 + i].replicate(&master);
        net.run(3 + i, actions);
    }
    net.advance(3000);
    net
}

#[test]
fn replicas_are_known_everywhere() {
    let net = three_by_two();
    for c in &net.nodes {
        for i in 0..3 {
            let master = &net.nodes[i].myself;
            let replicas = c.replicas_of(master);
            assert_eq!(replicas.len(), 1, "{}", c.nodes_text());
            assert_eq!(replicas[0].id, net.nodes[3 + i].myself);
        }
        assert!(c.state_ok);
    }
}

#[test]
fn a_replica_takes_over_a_dead_master() {
    let mut net = three_by_two();
    let old = net.nodes[0].myself.clone();
    let new = net.nodes[3].myself.clone();
    net.kill(0);
    net.advance(8000);
    for (i, c) in net.nodes.iter().enumerate().skip(1) {
        assert_eq!(
            c.owner(0).map(|n| n.id.clone()),
            Some(new.clone()),
            "node {i}: {}",
            c.nodes_text()
        );
        assert!(c.nodes[&old].is(flag::FAIL));
        assert!(c.state_ok, "node {i}: {}", c.nodes_text());
    }
    let promoted = &net.nodes[3];
    assert!(promoted.me().is_master());
    // The new epoch is the greatest.
    let max = net
        .nodes
        .iter()
        .skip(1)
        .map(|c| c.me().config_epoch)
        .max()
        .unwrap();
    assert_eq!(promoted.me().config_epoch, max);
}

#[test]
fn manual_failover_swaps_roles() {
    let mut net = three_by_two();
    let old = net.nodes[1].myself.clone();
    let new = net.nodes[4].myself.clone();
    let actions = net.nodes[4]
        .manual_failover(redust_cluster::failover::Manual::Default, net.now)
        .unwrap();
    net.run(4, actions);
    net.advance(3000);
    for c in &net.nodes {
        assert_eq!(
            c.owner(6000).map(|n| n.id.clone()),
            Some(new.clone()),
            "{}",
            c.nodes_text()
        );
        assert_eq!(
            c.nodes[&old].master.as_deref(),
            Some(new.as_str()),
            "{}",
            c.nodes_text()
        );
    }
    assert_eq!(
        net.nodes[0]
            .manual_failover(redust_cluster::failover::Manual::Default, net.now)
            .unwrap_err(),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
}

#[test]
fn a_master_giving_its_last_slot_away_follows_the_taker() {
    for allowed in [true, false] {
        let mut net = masters_and_meet(3);
        for c in &mut net.nodes {
            c.settings.allow_replica_migration = allowed;
        }
        net.advance(5000);
        let taker = net.nodes[1].myself.clone();
        let giver = net.nodes[2].myself.clone();
        let slots: Vec<u16> = net.nodes[2]
            .me()
            .slots
            .ranges()
            .iter()
            .flat_map(|&(a, b)| a..=b)
            .collect();
        for &s in &slots {
            net.nodes[1].set_slot_importing(s, Some(giver.clone()));
            let a = net.nodes[1].set_slot_node(s, &taker, net.now);
            net.run(1, a);
            let a = net.nodes[2].set_slot_node(s, &taker, net.now);
            net.run(2, a);
        }
        net.advance(3000);
        let me = net.nodes[2].me();
        if allowed {
            assert_eq!(
                me.master.as_deref(),
                Some(taker.as_str()),
                "{}",
                net.nodes[2].nodes_text()
            );
        } else {
            assert!(
                me.is_master() && me.slots.is_empty(),
                "{}",
                net.nodes[2].nodes_text()
            );
        }
        for c in &net.nodes {
            assert_eq!(c.owner(16383).map(|n| n.id.clone()), Some(taker.clone()));
        }
    }
}

#[test]
fn slots_taken_by_a_newer_epoch_drop_the_old_owners_keys() {
    let mut net = three_masters();
    // Node 1 claims slot 0 (node 0's) with a newer epoch, as a forced
    // SETSLOT NODE would: node 0 keeps its other slots and drops the keys.
    let me1 = net.nodes[1].myself.clone();
    let a = net.nodes[1].set_slot_node(0, &me1, net.now);
    net.run(1, a);
    let (a, _, _) = net.nodes[1].bump_epoch();
    net.run(1, a);
    net.advance(3000);
    assert_eq!(net.nodes[0].owner(0).map(|n| n.id.clone()), Some(me1));
    assert!(net.nodes[0].me().is_master());
    assert!(
        net.dropped
            .iter()
            .any(|(at, slots)| *at == 0 && slots == &vec![0]),
        "{:?}",
        net.dropped
    );
}

#[test]
fn a_node_dropping_pongs_never_sees_its_pings_answered() {
    let mut net = three_masters();
    net.nodes[0].drop_packet_filter = i64::from(redust_cluster::bus::kind::PONG);
    let received = net.nodes[0].stats.received[redust_cluster::bus::kind::PONG as usize];
    net.advance(3000);
    let others: Vec<String> = (1..3).map(|i| net.nodes[i].myself.clone()).collect();
    // Its pings stay unanswered; the peers' own pings keep it from
    // suspecting them, as in Redis (the data delay counts too).
    for id in &others {
        assert_ne!(
            net.nodes[0].nodes[id].ping_sent,
            0,
            "{}",
            net.nodes[0].nodes_text()
        );
    }
    // Dropped messages still count as received.
    assert!(net.nodes[0].stats.received[redust_cluster::bus::kind::PONG as usize] > received);
    net.nodes[0].drop_packet_filter = -1;
    net.advance(2000);
    let answered = others
        .iter()
        .any(|id| net.nodes[0].nodes[id].pong_received > net.now - 1500);
    assert!(answered, "{}", net.nodes[0].nodes_text());
}

#[test]
fn killed_links_are_closed_and_rebuilt() {
    let mut net = three_masters();
    let peer = net.nodes[1].myself.clone();
    let before = net.nodes[0].nodes[&peer].link;
    let actions = net.nodes[0].kill_links(&peer, true, true);
    let closes = actions
        .iter()
        .filter(|a| matches!(a, Action::Close { .. }))
        .count();
    assert_eq!(closes, 2);
    net.run(0, actions);
    net.advance(500);
    let after = net.nodes[0].nodes[&peer].link;
    assert!(after.is_some() && after != before);
    assert!(net.nodes[0].state_ok);
}

#[test]
fn a_new_master_given_slots_gets_a_replica_from_a_master_with_two() {
    // Nodes 0-2 masters; 3 and 4 replicas of node 0; node 5 an empty master.
    let mut net = masters_and_meet(6);
    net.advance(4000);
    let m0 = net.nodes[0].myself.clone();
    for r in [3, 4] {
        let a = net.nodes[r].replicate(&m0);
        net.run(r, a);
    }
    net.advance(3000);
    // Slot 0 moves from node 0 to node 5: its first slot.
    let new = net.nodes[5].myself.clone();
    net.nodes[5].set_slot_importing(0, Some(m0.clone()));
    let a = net.nodes[5].set_slot_node(0, &new, net.now);
    net.run(5, a);
    let a = net.nodes[0].set_slot_node(0, &new, net.now);
    net.run(0, a);
    net.advance(9000);
    let moved: Vec<usize> = [3, 4]
        .into_iter()
        .filter(|&r| net.nodes[r].me().master.as_deref() == Some(new.as_str()))
        .collect();
    assert_eq!(moved.len(), 1, "{}", net.nodes[0].nodes_text());
    // The one with the smaller id moved.
    let smaller = if net.nodes[3].myself < net.nodes[4].myself {
        3
    } else {
        4
    };
    assert_eq!(moved, vec![smaller]);
}
