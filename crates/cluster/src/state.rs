//! The cluster state machine of one node: the nodes it knows (flags,
//! addresses, roles, epochs, slots, failure reports), the owner of every
//! slot, and what it does on each event — a timer tick, a bus link that
//! connected or closed, a message from a peer, a CLUSTER command — as
//! actions for the shell (connect, send, close, save nodes.conf, log, follow
//! a master). Time and randomness come in; nothing here does I/O.
//!
//! The rules are Redis 7.0's (`cluster.c`): MEET and the handshake,
//! PING/PONG with gossip, slots claimed by the highest configEpoch, epoch
//! collisions, PFAIL and FAIL by a majority of masters, the cluster state.

use crate::bus::{self, kind, Body, Gossip, Header, Message, NodeId};
use crate::nodes::{flag, valid_node_id, NodeLine, NodesConf};
use crate::slot::{SlotBitmap, SLOTS};
use std::collections::{BTreeMap, HashMap};

/// The shell's handle on one bus connection.
pub type LinkId = u64;

/// How often the shell calls [`Cluster::tick`] (Redis's clusterCron).
pub const TICK_MS: i64 = 100;
/// Failure reports older than node-timeout times this are forgotten.
const FAIL_REPORT_VALIDITY_MULT: i64 = 2;
/// A master with slots stays FAIL at least node-timeout times this.
const FAIL_UNDO_TIME_MULT: i64 = 2;
/// A master waits this long after start before the state may turn ok.
const WRITABLE_DELAY_MS: i64 = 2000;
/// A forgotten node is not re-added from gossip for this long.
const BLACKLIST_TTL_MS: i64 = 60_000;

/// The settings that come from the config (`cluster-*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub node_timeout: i64,
    /// The client port we announce.
    pub port: u16,
    /// The bus port we announce.
    pub cport: u16,
    pub announce_ip: Option<String>,
    pub announce_hostname: Option<String>,
    pub require_full_coverage: bool,
    pub replica_no_failover: bool,
    /// `repl-ping-replica-period`, in ms.
    pub repl_ping_period_ms: i64,
    /// `cluster-replica-validity-factor` (0: any data age may fail over).
    pub replica_validity_factor: i64,
    /// `cluster-migration-barrier`: the replicas a master keeps before one
    /// may migrate to an orphaned master.
    pub migration_barrier: i64,
    /// `cluster-allow-replica-migration`.
    pub allow_replica_migration: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            node_timeout: 15_000,
            port: 6379,
            cport: 16379,
            announce_ip: None,
            announce_hostname: None,
            require_full_coverage: true,
            replica_no_failover: false,
            repl_ping_period_ms: 10_000,
            replica_validity_factor: 10,
            migration_barrier: 1,
            allow_replica_migration: true,
        }
    }
}

/// The owner of each slot: an index per slot into a short table of node
/// ids, and a bitmap of the slots this node serves beside it, so that the
/// per-command routing check reads 2 KiB and a scan of every slot
/// compares small numbers, not 16384 strings.
#[derive(Clone, Debug)]
pub struct SlotOwners {
    /// Per slot: its owner's place in `names` (0: no owner).
    ids: Vec<u16>,
    /// The owners' ids; `names[0]` is `None`.
    names: Vec<Option<String>>,
    mine: SlotBitmap,
    myself: String,
}

impl SlotOwners {
    fn new(myself: &str) -> SlotOwners {
        SlotOwners {
            ids: vec![0; SLOTS],
            names: vec![None],
            mine: SlotBitmap::default(),
            myself: myself.to_string(),
        }
    }

    pub(crate) fn set(&mut self, slot: usize, owner: Option<String>) {
        self.mine
            .set(slot, owner.as_deref() == Some(self.myself.as_str()));
        let index = match owner {
            None => 0,
            Some(id) => match self.names.iter().position(|n| n.as_ref() == Some(&id)) {
                Some(i) => i,
                None => {
                    self.compact_if_full();
                    self.names.push(Some(id));
                    self.names.len() - 1
                }
            },
        };
        self.ids[slot] = index as u16;
    }

    /// Forgets ids no slot points to any more, before the table of names
    /// would outgrow its 16-bit indexes.
    pub(crate) fn compact_if_full(&mut self) {
        if self.names.len() < usize::from(u16::MAX) - 1 {
            return;
        }
        let mut used = vec![false; self.names.len()];
        for &i in &self.ids {
            used[i as usize] = true;
        }
        let mut remap = vec![0u16; self.names.len()];
        let mut names = vec![None];
        for (i, name) in self.names.drain(..).enumerate().skip(1) {
            if used[i] {
                remap[i] = names.len() as u16;
                names.push(name);
            }
        }
        self.names = names;
        for i in &mut self.ids {
            *i = remap[*i as usize];
        }
    }

    pub(crate) fn take(&mut self, slot: usize) -> Option<String> {
        let owner = self[slot].clone();
        self.set(slot, None);
        owner
    }

    pub(crate) fn clear(&mut self) {
        self.ids = vec![0; SLOTS];
        self.names = vec![None];
        self.mine = SlotBitmap::default();
    }

    /// The owners' ids, by the index [`SlotOwners::owner_index`] gives.
    pub(crate) fn names(&self) -> &[Option<String>] {
        &self.names
    }

    pub(crate) fn owner_index(&self, slot: usize) -> u16 {
        self.ids[slot]
    }

    /// `id`'s index, if it owns or owned a slot.
    pub(crate) fn index_of(&self, id: &str) -> Option<u16> {
        self.names
            .iter()
            .position(|n| n.as_deref() == Some(id))
            .map(|i| i as u16)
    }

    /// This node serves `slot` (as its master).
    pub fn is_mine(&self, slot: usize) -> bool {
        self.mine.get(slot)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Option<String>> + '_ {
        self.ids.iter().map(|&i| &self.names[i as usize])
    }

    /// Whether every slot has an owner for which `good` holds (asked once
    /// per owner, not per slot).
    pub fn all_owned_by(&self, good: impl Fn(&str) -> bool) -> bool {
        let verdicts: Vec<bool> = self
            .names
            .iter()
            .map(|n| n.as_deref().is_some_and(&good))
            .collect();
        self.ids.iter().all(|&i| verdicts[i as usize])
    }
}

impl std::ops::Index<usize> for SlotOwners {
    type Output = Option<String>;

    fn index(&self, slot: usize) -> &Option<String> {
        &self.names[self.ids[slot] as usize]
    }
}

/// Two views agree when every slot has the same owner.
impl PartialEq for SlotOwners {
    fn eq(&self, other: &SlotOwners) -> bool {
        self.iter().eq(other.iter())
    }
}

/// What the node knows of one node (itself included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub flags: u16,
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub pport: u16,
    pub hostname: String,
    /// The master's id, for a replica.
    pub master: Option<String>,
    /// For a master: its own; for a replica: its master's, as last seen.
    pub config_epoch: u64,
    /// The slots it claims (a master).
    pub slots: SlotBitmap,
    /// When our oldest unanswered PING went (0: none pending).
    pub ping_sent: i64,
    pub pong_received: i64,
    pub data_received: i64,
    pub fail_time: i64,
    pub ctime: i64,
    pub repl_offset: u64,
    /// Masters that reported it PFAIL or FAIL, and when.
    pub fail_reports: Vec<(String, i64)>,
    /// Our outbound link to it.
    pub link: Option<LinkId>,
    /// Whether that link has connected (we have sent on it).
    pub link_up: bool,
    /// When that link was created.
    pub link_time: i64,
    pub inbound_link: Option<LinkId>,
    /// Since when it has been an orphaned master (0: it is not), as seen
    /// by replica migration.
    pub orphaned_since: i64,
}

impl Node {
    fn new(id: &str, flags: u16, now: i64) -> Node {
        Node {
            id: id.to_string(),
            flags,
            ip: String::new(),
            port: 0,
            cport: 0,
            pport: 0,
            hostname: String::new(),
            master: None,
            config_epoch: 0,
            slots: SlotBitmap::default(),
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            fail_time: 0,
            ctime: now,
            repl_offset: 0,
            fail_reports: Vec::new(),
            link: None,
            link_up: false,
            link_time: 0,
            inbound_link: None,
            orphaned_since: 0,
        }
    }

    pub fn is(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    pub fn is_master(&self) -> bool {
        self.is(flag::MASTER)
    }
}

/// What the shell does for the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open an outbound bus link to `ip:cport`; report it with
    /// [`Cluster::link_connected`] or [`Cluster::link_closed`].
    Connect {
        link: LinkId,
        ip: String,
        cport: u16,
    },
    Send {
        link: LinkId,
        bytes: Vec<u8>,
    },
    Close {
        link: LinkId,
    },
    /// Pause writes until this time (a manual failover; 0: resume).
    PauseWrites {
        until_ms: i64,
    },
    /// Write nodes.conf now (with an fsync when asked).
    SaveConfig {
        fsync: bool,
    },
    /// A line for the log, at Redis's level (`notice`, `warning`, `verbose`).
    Log {
        level: LogLevel,
        text: String,
    },
    /// Replicate from this address (`None`: become a master).
    ReplicaOf {
        master: Option<(String, u16)>,
    },
    /// Delete the keys in these slots: they were ours and another master
    /// took them while we kept serving others.
    DropSlotKeys {
        slots: Vec<u16>,
    },
    /// End the shard-channel subscriptions of this slot (SETSLOT NODE on
    /// our shard's slot, even to the same owner, as Redis does).
    ForgetShardChannels {
        slot: u16,
    },
    /// A PUBLISH (or, when `shard`, SPUBLISH) from a peer, for local subscribers.
    Deliver {
        shard: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Verbose,
    Notice,
    Warning,
}

/// The bus links the machine knows of.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    node: Option<String>,
    inbound: bool,
    created: i64,
}

/// A link as CLUSTER LINKS shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub link: LinkId,
    pub node: String,
    /// From the peer (else ours to it).
    pub inbound: bool,
    pub created: i64,
}

/// Counters CLUSTER INFO shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sent: [u64; 11],
    pub received: [u64; 11],
    /// Links freed for `cluster-link-sendbuf-limit`.
    pub links_buffer_limit_exceeded: u64,
}

/// One node's view of the cluster.
#[derive(Clone, Debug)]
pub struct Cluster {
    pub myself: String,
    /// By id (ordered: every walk over the nodes is deterministic).
    pub nodes: BTreeMap<String, Node>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    /// The owner of each slot.
    pub owners: SlotOwners,
    pub migrating: HashMap<u16, String>,
    pub importing: HashMap<u16, String>,
    pub settings: Settings,
    /// The cluster state: ok or fail.
    pub state_ok: bool,
    /// Masters with at least one slot.
    pub size: usize,
    pub stats: Stats,
    /// Our own IP as peers see it (learnt from a MEET), when not announced.
    pub my_ip: String,
    links: HashMap<LinkId, Link>,
    next_link: LinkId,
    blacklist: HashMap<String, i64>,
    rng: u64,
    ticks: u64,
    /// nodes.conf must be written (and fsynced) before the next reply.
    save_pending: Option<bool>,
    /// When we last saw ourselves in a minority partition.
    among_minority_since: Option<i64>,
    /// The first evaluation of the cluster state.
    first_state_call: Option<i64>,
    /// Elections and manual failovers (`failover`).
    pub election: crate::failover::Election,
    /// Per master: when we last voted for one of its replicas.
    pub(crate) voted_time: HashMap<String, i64>,
    /// DEBUG DROP-CLUSTER-PACKET-FILTER: messages of this type are read
    /// and counted, then ignored (-1: none).
    pub drop_packet_filter: i64,
}

/// A fresh random 40-character node id.
fn random_id(rng: &mut u64) -> String {
    (0..40)
        .map(|_| {
            let n = next_random(rng);
            char::from(b"0123456789abcdef"[(n & 15) as usize])
        })
        .collect()
}

fn next_random(state: &mut u64) -> u64 {
    // xorshift64*
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn id_bytes(id: &str) -> NodeId {
    let mut out = [0u8; 40];
    let b = id.as_bytes();
    let n = b.len().min(40);
    out[..n].copy_from_slice(&b[..n]);
    out
}

fn id_text(id: &NodeId) -> Option<String> {
    valid_node_id(id).then(|| String::from_utf8_lossy(id).into_owned())
}

impl Cluster {
    /// A node that has never been in a cluster: a master with a new id.
    pub fn new(settings: Settings, seed: u64, now: i64) -> Cluster {
        let mut rng = seed | 1;
        let myself = random_id(&mut rng);
        let mut c = Cluster::empty(myself.clone(), settings, rng);
        let mut me = Node::new(&myself, flag::MYSELF | flag::MASTER, now);
        me.port = c.settings.port;
        me.cport = c.settings.cport;
        me.hostname = c.settings.announce_hostname.clone().unwrap_or_default();
        c.nodes.insert(myself, me);
        c.save_pending = Some(true);
        c
    }

    fn empty(myself: String, settings: Settings, rng: u64) -> Cluster {
        Cluster {
            owners: SlotOwners::new(&myself),
            myself,
            nodes: BTreeMap::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
            migrating: HashMap::new(),
            importing: HashMap::new(),
            settings,
            state_ok: false,
            // Redis starts counting from one until the state is evaluated.
            size: 1,
            stats: Stats::default(),
            my_ip: String::new(),
            links: HashMap::new(),
            next_link: 1,
            blacklist: HashMap::new(),
            rng,
            ticks: 0,
            save_pending: None,
            among_minority_since: None,
            first_state_call: None,
            election: Default::default(),
            voted_time: HashMap::new(),
            drop_packet_filter: -1,
        }
    }

    /// A node from its nodes.conf.
    pub fn from_conf(
        conf: &NodesConf,
        settings: Settings,
        seed: u64,
        now: i64,
    ) -> Result<Cluster, String> {
        let me = conf
            .nodes
            .iter()
            .find(|n| n.flags & flag::MYSELF != 0)
            .ok_or("no myself line")?;
        let mut c = Cluster::empty(me.id.clone(), settings, seed | 1);
        c.current_epoch = conf.current_epoch;
        c.last_vote_epoch = conf.last_vote_epoch;
        for line in &conf.nodes {
            let mut n = Node::new(&line.id, line.flags & !flag::MEET, now);
            n.ip = line.ip.clone();
            n.port = line.port;
            n.cport = line.cport;
            n.hostname = line.hostname.clone().unwrap_or_default();
            n.master = line.master.clone();
            n.config_epoch = line.config_epoch;
            if line.ping_sent != 0 {
                n.ping_sent = now;
            }
            if line.pong_received != 0 {
                n.pong_received = now;
            }
            if n.is(flag::FAIL) {
                n.fail_time = now;
            }
            for &(a, b) in &line.slots {
                for s in a..=b {
                    n.slots.set(s as usize, true);
                    c.owners.set(s as usize, Some(line.id.clone()));
                }
            }
            if line.flags & flag::MYSELF != 0 {
                for (s, id) in &line.migrating {
                    c.migrating.insert(*s, id.clone());
                }
                for (s, id) in &line.importing {
                    c.importing.insert(*s, id.clone());
                }
                c.my_ip = line.ip.clone();
                n.port = c.settings.port;
                n.cport = c.settings.cport;
                n.hostname = c.settings.announce_hostname.clone().unwrap_or_default();
            }
            c.nodes.insert(line.id.clone(), n);
        }
        // Masters listed with a replica may be orphaned later.
        let with_replicas: Vec<String> =
            c.nodes.values().filter_map(|n| n.master.clone()).collect();
        for m in with_replicas {
            if let Some(m) = c.nodes.get_mut(&m) {
                m.flags |= flag::MIGRATE_TO;
            }
        }
        // Never behind an epoch the file names (a hand-edited file).
        let max_epoch = c.nodes.values().map(|n| n.config_epoch).max().unwrap_or(0);
        c.current_epoch = c.current_epoch.max(max_epoch);
        c.update_state(now);
        Ok(c)
    }

    /// What nodes.conf says now.
    pub fn conf(&self) -> NodesConf {
        NodesConf {
            nodes: self
                .sorted_nodes()
                .into_iter()
                .filter(|n| !n.is(flag::HANDSHAKE))
                .map(|n| self.line(n))
                .collect(),
            current_epoch: self.current_epoch,
            last_vote_epoch: self.last_vote_epoch,
        }
    }

    /// CLUSTER NODES.
    pub fn nodes_text(&self) -> String {
        let mut out = String::new();
        for n in self.sorted_nodes() {
            out.push_str(&self.line(n).format());
            out.push('\n');
        }
        out
    }

    fn sorted_nodes(&self) -> Vec<&Node> {
        let mut nodes: Vec<&Node> = self.nodes.values().collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        nodes
    }

    /// One node's line.
    pub fn line(&self, n: &Node) -> NodeLine {
        let me = n.id == self.myself;
        let master_epoch = n
            .master
            .as_ref()
            .and_then(|m| self.nodes.get(m))
            .map(|m| m.config_epoch);
        NodeLine {
            id: n.id.clone(),
            ip: if me {
                self.my_announced_ip()
            } else {
                n.ip.clone()
            },
            port: n.port,
            cport: n.cport,
            hostname: (!n.hostname.is_empty()).then(|| n.hostname.clone()),
            flags: n.flags,
            master: n.master.clone(),
            ping_sent: n.ping_sent,
            pong_received: n.pong_received,
            config_epoch: master_epoch.unwrap_or(n.config_epoch),
            connected: me || n.link_up,
            slots: if n.is_master() {
                n.slots.ranges()
            } else {
                Vec::new()
            },
            migrating: if me {
                sorted(&self.migrating)
            } else {
                Vec::new()
            },
            importing: if me {
                sorted(&self.importing)
            } else {
                Vec::new()
            },
        }
    }

    fn my_announced_ip(&self) -> String {
        self.settings
            .announce_ip
            .clone()
            .unwrap_or_else(|| self.my_ip.clone())
    }

    pub fn me(&self) -> &Node {
        &self.nodes[&self.myself]
    }

    pub(crate) fn me_mut(&mut self) -> &mut Node {
        self.nodes
            .get_mut(&self.myself)
            .expect("myself is always known")
    }

    fn random(&mut self) -> u64 {
        next_random(&mut self.rng)
    }

    pub(crate) fn random_u64(&mut self) -> u64 {
        self.random()
    }

    /// Whether nodes.conf must be written; `Some(true)`: with an fsync.
    pub fn take_save(&mut self) -> Option<bool> {
        self.save_pending.take()
    }

    pub(crate) fn save(&mut self, fsync: bool) {
        self.save_pending = Some(self.save_pending.unwrap_or(false) || fsync);
    }

    pub(crate) fn log(out: &mut Vec<Action>, level: LogLevel, text: String) {
        out.push(Action::Log { level, text });
    }

    /// The master of a node (itself for a master).
    fn master_of<'a>(&'a self, n: &'a Node) -> &'a Node {
        n.master
            .as_ref()
            .and_then(|m| self.nodes.get(m))
            .unwrap_or(n)
    }

    // ----- messages we send -----

    pub(crate) fn header(&self, kind: u16) -> Header {
        let me = self.me();
        let master = self.master_of(me);
        Header {
            kind,
            port: self.settings.port,
            current_epoch: self.current_epoch,
            config_epoch: master.config_epoch,
            offset: me.repl_offset,
            sender: id_bytes(&self.myself),
            slots: master.slots.clone(),
            replica_of: me.master.as_deref().map(id_bytes),
            ip: self
                .settings
                .announce_ip
                .clone()
                .unwrap_or_default()
                .into_bytes(),
            pport: 0,
            cport: self.settings.cport,
            flags: me.flags,
            state: if self.state_ok { 0 } else { 1 },
            // A master in a manual failover says its writes are paused.
            mflags: if me.is_master() && self.election.mf_end != 0 {
                bus::MFLAG_PAUSED
            } else {
                0
            },
        }
    }

    fn gossip_entry(n: &Node) -> Gossip {
        Gossip {
            node: id_bytes(&n.id),
            ping_sent: (n.ping_sent / 1000) as u32,
            pong_received: (n.pong_received / 1000) as u32,
            ip: n.ip.clone().into_bytes(),
            port: n.port,
            cport: n.cport,
            flags: n.flags,
            pport: n.pport,
        }
    }

    /// A PING, PONG or MEET with gossip about some nodes, as Redis picks
    /// them (a tenth of the nodes, at least 3, at most all but two; then
    /// every PFAIL node).
    fn ping_message(&mut self, kind: u16) -> Vec<u8> {
        let known = self.nodes.len();
        let wanted = (known / 10).max(3).min(known.saturating_sub(2));
        let candidates: Vec<String> = {
            let mut ids: Vec<&String> = self.nodes.keys().collect();
            ids.sort();
            ids.into_iter().cloned().collect()
        };
        let mut picked: Vec<String> = Vec::new();
        let mut tries = wanted * 3;
        while picked.len() < wanted && tries > 0 && !candidates.is_empty() {
            tries -= 1;
            let i = (self.random() % candidates.len() as u64) as usize;
            let id = &candidates[i];
            let n = &self.nodes[id];
            if id == &self.myself
                || n.is(flag::PFAIL)
                || n.is(flag::HANDSHAKE)
                || n.is(flag::NOADDR)
                || (n.link.is_none() && n.slots.is_empty())
                || picked.contains(id)
            {
                continue;
            }
            picked.push(id.clone());
        }
        for id in &candidates {
            let n = &self.nodes[id];
            if n.is(flag::PFAIL)
                && !n.is(flag::HANDSHAKE)
                && !n.is(flag::NOADDR)
                && !picked.contains(id)
            {
                picked.push(id.clone());
            }
        }
        let gossip = picked
            .iter()
            .map(|id| Self::gossip_entry(&self.nodes[id]))
            .collect();
        let message = Message {
            header: self.header(kind),
            body: Body::Ping {
                gossip,
                hostname: self
                    .settings
                    .announce_hostname
                    .clone()
                    .map(String::into_bytes),
                unknown_extensions: Vec::new(),
            },
        };
        self.count_sent(kind);
        bus::encode(&message)
    }

    /// A PING, PONG or MEET as `ping_message` builds it.
    pub(crate) fn ping_bytes(&mut self, kind: u16) -> Vec<u8> {
        self.ping_message(kind)
    }

    pub(crate) fn count_sent(&mut self, kind: u16) {
        if let Some(c) = self.stats.sent.get_mut(kind as usize) {
            *c += 1;
        }
    }

    fn send_ping(&mut self, id: &str, kind: u16, now: i64, out: &mut Vec<Action>) {
        let Some(link) = self
            .nodes
            .get(id)
            .and_then(|n| n.link_up.then_some(n.link).flatten())
        else {
            return;
        };
        let bytes = self.ping_message(kind);
        if kind == kind::PING {
            if let Some(n) = self.nodes.get_mut(id) {
                if n.ping_sent == 0 {
                    n.ping_sent = now;
                }
            }
        }
        out.push(Action::Send { link, bytes });
    }

    /// Sends to every node with a connected outbound link (not myself, not
    /// in handshake).
    fn broadcast(&mut self, bytes: Vec<u8>, out: &mut Vec<Action>) {
        let mut ids: Vec<&Node> = self.nodes.values().collect();
        ids.sort_by(|a, b| a.id.cmp(&b.id));
        for n in ids {
            if n.id == self.myself || n.is(flag::HANDSHAKE) || !n.link_up {
                continue;
            }
            if let Some(link) = n.link {
                out.push(Action::Send {
                    link,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    /// Broadcasts `bytes` (one message of `kind`), counting each copy.
    pub(crate) fn broadcast_counted(&mut self, kind: u16, bytes: Vec<u8>, out: &mut Vec<Action>) {
        let peers = self
            .nodes
            .values()
            .filter(|n| {
                n.id != self.myself && !n.is(flag::HANDSHAKE) && n.link_up && n.link.is_some()
            })
            .count() as u64;
        if let Some(c) = self.stats.sent.get_mut(kind as usize) {
            *c += peers;
        }
        self.broadcast(bytes, out);
    }

    /// A PONG to the other replicas of our master (our offset, for their
    /// election ranks).
    pub(crate) fn broadcast_pong_to_my_shard(&mut self, out: &mut Vec<Action>) {
        let master = self.me().master.clone();
        self.broadcast_pong_where(out, |me, n| {
            master.is_some() && n.master == master && n.id != me
        });
    }

    pub(crate) fn broadcast_pong_all(&mut self, out: &mut Vec<Action>) {
        self.broadcast_pong_where(out, |_, _| true);
    }

    fn broadcast_pong_where(
        &mut self,
        out: &mut Vec<Action>,
        wanted: impl Fn(&str, &Node) -> bool,
    ) {
        let targets: Vec<LinkId> = {
            let mut v: Vec<&Node> = self.nodes.values().collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v.into_iter()
                .filter(|n| n.id != self.myself && !n.is(flag::HANDSHAKE) && n.link_up)
                .filter(|n| wanted(&self.myself, n))
                .filter_map(|n| n.link)
                .collect()
        };
        for link in targets {
            let bytes = self.ping_message(kind::PONG);
            out.push(Action::Send { link, bytes });
        }
    }

    /// Tells every node that `id` failed.
    fn broadcast_fail(&mut self, id: &str, out: &mut Vec<Action>) {
        let message = Message {
            header: self.header(kind::FAIL),
            body: Body::Fail { node: id_bytes(id) },
        };
        let bytes = bus::encode(&message);
        let peers = self
            .nodes
            .values()
            .filter(|n| n.id != self.myself && !n.is(flag::HANDSHAKE) && n.link_up)
            .count() as u64;
        self.stats.sent[kind::FAIL as usize] += peers;
        self.broadcast(bytes, out);
    }

    /// PUBLISH (or SPUBLISH, to our shard only) for every other node.
    pub fn publish(&mut self, shard: bool, channel: &[u8], message: &[u8]) -> Vec<Action> {
        let kind = if shard {
            kind::PUBLISHSHARD
        } else {
            kind::PUBLISH
        };
        let bytes = bus::encode(&Message {
            header: self.header(kind),
            body: Body::Publish {
                channel: channel.to_vec(),
                message: message.to_vec(),
            },
        });
        let my_master = self.master_of(self.me()).id.clone();
        let mut out = Vec::new();
        let targets: Vec<LinkId> = self
            .nodes
            .values()
            .filter(|n| n.id != self.myself && !n.is(flag::HANDSHAKE) && n.link_up)
            .filter(|n| !shard || self.master_of(n).id == my_master)
            .filter_map(|n| n.link)
            .collect();
        for link in targets {
            self.count_sent(kind);
            out.push(Action::Send {
                link,
                bytes: bytes.clone(),
            });
        }
        out
    }

    // ----- links -----

    fn new_link(&mut self, node: Option<String>, inbound: bool, now: i64) -> LinkId {
        let id = self.next_link;
        self.next_link += 1;
        self.links.insert(
            id,
            Link {
                node,
                inbound,
                created: now,
            },
        );
        id
    }

    /// An inbound bus connection was accepted.
    pub fn link_accepted(&mut self, now: i64) -> LinkId {
        self.new_link(None, true, now)
    }

    /// The links with a known node: ours that connected, and theirs.
    pub fn links_info(&self) -> Vec<LinkInfo> {
        let mut out: Vec<LinkInfo> = self
            .links
            .iter()
            .filter_map(|(id, l)| {
                let node = l.node.as_ref()?;
                let n = self.nodes.get(node)?;
                let live = if l.inbound {
                    n.inbound_link == Some(*id)
                } else {
                    n.link == Some(*id) && n.link_up
                };
                live.then(|| LinkInfo {
                    link: *id,
                    node: node.clone(),
                    inbound: l.inbound,
                    created: l.created,
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.node, a.inbound).cmp(&(&b.node, b.inbound)));
        out
    }

    /// An outbound link we asked for connected: the first message goes
    /// (MEET for a node met by CLUSTER MEET, else PING).
    pub fn link_connected(&mut self, link: LinkId, now: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(id) = self.links.get(&link).and_then(|l| l.node.clone()) else {
            return out;
        };
        let Some(n) = self.nodes.get_mut(&id) else {
            return out;
        };
        if n.link != Some(link) {
            return out;
        }
        n.link_up = true;
        let meet = n.is(flag::MEET);
        n.flags &= !flag::MEET;
        let old_ping = n.ping_sent;
        self.send_ping(
            &id,
            if meet { kind::MEET } else { kind::PING },
            now,
            &mut out,
        );
        if old_ping != 0 {
            // The PING before the reconnection is still the pending one.
            if let Some(n) = self.nodes.get_mut(&id) {
                n.ping_sent = old_ping;
            }
        }
        out
    }

    /// An outbound connection could not be made. Failure detection needs a
    /// pending PING: if none was, one counts as sent now (as Redis does
    /// when connect fails).
    pub fn link_failed(&mut self, link: LinkId, now: i64) {
        let node = self.links.get(&link).and_then(|l| l.node.clone());
        self.link_closed(link);
        if let Some(n) = node.and_then(|id| self.nodes.get_mut(&id)) {
            if n.ping_sent == 0 {
                n.ping_sent = now;
            }
        }
    }

    /// A link closed.
    pub fn link_closed(&mut self, link: LinkId) {
        let Some(l) = self.links.remove(&link) else {
            return;
        };
        if let Some(n) = l.node.and_then(|id| self.nodes.get_mut(&id)) {
            if n.link == Some(link) {
                n.link = None;
                n.link_up = false;
            }
            if n.inbound_link == Some(link) {
                n.inbound_link = None;
            }
        }
    }

    fn close_link(&mut self, link: LinkId, out: &mut Vec<Action>) {
        self.link_closed(link);
        out.push(Action::Close { link });
    }

    /// DEBUG CLUSTERLINK KILL: closes our link to `id` (`to`), its link to
    /// us (`from`), or both (`all`); the outbound one is rebuilt by the
    /// next tick.
    pub fn kill_links(&mut self, id: &str, to: bool, from: bool) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(n) = self.nodes.get(id) else {
            return out;
        };
        let (outbound, inbound) = (n.link, n.inbound_link);
        if let Some(l) = outbound.filter(|_| to) {
            self.close_link(l, &mut out);
        }
        if let Some(l) = inbound.filter(|_| from) {
            self.close_link(l, &mut out);
        }
        out
    }

    /// Closes every link whose send buffer is over `limit` bytes
    /// (`cluster-link-sendbuf-limit`, checked by the shell); `queued` says
    /// what a link has waiting.
    pub fn free_links_over_limit(
        &mut self,
        limit: u64,
        queued: impl Fn(LinkId) -> u64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        let mut over: Vec<(LinkId, bool, String, u64)> = Vec::new();
        for n in self.nodes.values() {
            for (link, inbound) in [(n.link, false), (n.inbound_link, true)] {
                let Some(link) = link else { continue };
                let used = queued(link);
                if used > limit {
                    over.push((link, inbound, n.id.clone(), used));
                }
            }
        }
        for (link, inbound, id, used) in over {
            Self::log(
                &mut out,
                LogLevel::Warning,
                format!(
                    "Freeing cluster link({} node {id}, used memory: {used}) due to exceeding send buffer memory limit.",
                    if inbound { "from" } else { "to" }
                ),
            );
            self.stats.links_buffer_limit_exceeded += 1;
            self.close_link(link, &mut out);
        }
        out
    }

    // ----- the timer -----

    /// Redis's clusterCron, every [`TICK_MS`].
    pub fn tick(&mut self, now: i64) -> Vec<Action> {
        let mut out = Vec::new();
        self.ticks += 1;
        let timeout = self.settings.node_timeout;
        let handshake_timeout = timeout.max(1000);
        self.blacklist.retain(|_, until| *until > now);
        let mut ids: Vec<String> = self.nodes.keys().cloned().collect();
        ids.sort();
        // Handshakes that never finished are forgotten; every other node
        // without a link gets one.
        for id in &ids {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            if id == &self.myself || n.is(flag::NOADDR) {
                continue;
            }
            if n.is(flag::HANDSHAKE) && now - n.ctime > handshake_timeout {
                self.delete_node(id, &mut out);
                continue;
            }
            if n.link.is_none() {
                let (ip, cport) = (n.ip.clone(), n.cport);
                let link = self.new_link(Some(id.clone()), false, now);
                if let Some(n) = self.nodes.get_mut(id) {
                    n.link = Some(link);
                    n.link_up = false;
                    n.link_time = now;
                }
                out.push(Action::Connect { link, ip, cport });
            }
        }
        // Every second, PING the oldest-answered of five random nodes.
        if self.ticks.is_multiple_of(10) && !ids.is_empty() {
            let mut best: Option<(i64, String)> = None;
            for _ in 0..5 {
                let id = &ids[(self.random() % ids.len() as u64) as usize];
                let n = &self.nodes[id];
                if id == &self.myself || !n.link_up || n.ping_sent != 0 || n.is(flag::HANDSHAKE) {
                    continue;
                }
                if best.as_ref().is_none_or(|(t, _)| n.pong_received < *t) {
                    best = Some((n.pong_received, id.clone()));
                }
            }
            if let Some((_, id)) = best {
                self.send_ping(&id, kind::PING, now, &mut out);
            }
        }
        let mut update = false;
        for id in &ids {
            let Some(n) = self.nodes.get(id) else {
                continue;
            };
            if id == &self.myself || n.is(flag::NOADDR) || n.is(flag::HANDSHAKE) {
                continue;
            }
            // A link that has been silent too long is dropped (and rebuilt).
            if let Some(link) = n.link {
                let waited = now - n.ping_sent;
                let silent = now - n.data_received;
                let old_enough = now - n.link_time > timeout;
                if n.link_up
                    && old_enough
                    && n.ping_sent != 0
                    && waited > timeout / 2
                    && silent > timeout / 2
                {
                    self.close_link(link, &mut out);
                }
            }
            let n = &self.nodes[id];
            if n.link_up && n.ping_sent == 0 && now - n.pong_received > timeout / 2 {
                self.send_ping(id, kind::PING, now, &mut out);
                continue;
            }
            let n = &self.nodes[id];
            if n.ping_sent == 0 {
                continue;
            }
            let delay = (now - n.ping_sent).min(now - n.data_received);
            if delay > timeout && !n.is(flag::PFAIL) && !n.is(flag::FAIL) {
                Self::log(
                    &mut out,
                    LogLevel::Verbose,
                    format!("*** NODE {} possibly failing", id),
                );
                if let Some(n) = self.nodes.get_mut(id) {
                    n.flags |= flag::PFAIL;
                }
                update = true;
            }
        }
        if update || !self.state_ok {
            self.update_state_logged(now, &mut out);
        }
        self.manual_failover_tick(now, &mut out);
        if !self.me().is_master() {
            self.handle_failover(now, &mut out);
            self.handle_replica_migration(now, &mut out);
        }
        self.flush_save(&mut out);
        out
    }

    /// New settings (CONFIG SET of a `cluster-*` option): our own node
    /// takes the announced ports and hostname at once, as Redis updates
    /// myself (nodes.conf shows them from its next save, as in Redis).
    pub fn set_settings(&mut self, settings: Settings) {
        if settings == self.settings {
            return;
        }
        let me = self.me_mut();
        me.port = settings.port;
        me.cport = settings.cport;
        me.hostname = settings.announce_hostname.clone().unwrap_or_default();
        self.settings = settings;
    }

    /// What the replication side knows: our offset (the one headers carry)
    /// and how long a replica has been without its master (ms).
    pub fn set_replication(&mut self, offset: u64, data_age_ms: i64) {
        self.me_mut().repl_offset = offset;
        self.election.data_age = data_age_ms;
    }

    fn flush_save(&mut self, out: &mut Vec<Action>) {
        if let Some(fsync) = self.take_save() {
            out.push(Action::SaveConfig { fsync });
        }
    }

    // ----- receiving -----

    /// A message arrived on `link`. `peer_ip` is the socket's remote
    /// address, `local_ip` ours on that socket.
    pub fn receive(
        &mut self,
        link: LinkId,
        msg: &Message,
        peer_ip: &str,
        local_ip: &str,
        now: i64,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let h = &msg.header;
        if let Some(c) = self.stats.received.get_mut(h.kind as usize) {
            *c += 1;
        }
        if i64::from(h.kind) == self.drop_packet_filter {
            Self::log(
                &mut out,
                LogLevel::Warning,
                "Dropping packet that matches debug drop filter".into(),
            );
            return out;
        }
        let Some(l) = self.links.get(&link).cloned() else {
            return out;
        };
        // Who sent it: the link's node, unless that is a handshake node.
        let link_node = l
            .node
            .clone()
            .filter(|id| self.nodes.get(id).is_some_and(|n| !n.is(flag::HANDSHAKE)));
        let sender_id = id_text(&h.sender);
        let sender: Option<String> =
            link_node.or_else(|| sender_id.clone().filter(|id| self.nodes.contains_key(id)));
        if let (Some(id), true, None) = (&sender, l.inbound, &l.node) {
            // An inbound link learns its node.
            let old = self.nodes.get(id).and_then(|n| n.inbound_link);
            if let Some(old) = old.filter(|&o| o != link) {
                self.close_link(old, &mut out);
            }
            if let Some(n) = self.nodes.get_mut(id) {
                n.inbound_link = Some(link);
            }
            if let Some(l) = self.links.get_mut(&link) {
                l.node = Some(id.clone());
            }
        }
        let known = sender
            .as_ref()
            .is_some_and(|id| self.nodes.get(id).is_some_and(|n| !n.is(flag::HANDSHAKE)));
        if let Some(n) = sender.as_ref().and_then(|id| self.nodes.get_mut(id)) {
            n.data_received = now;
        }
        if known {
            let id = sender.clone().unwrap_or_default();
            if h.current_epoch > self.current_epoch {
                self.current_epoch = h.current_epoch;
                self.save(false);
            }
            let n = self.nodes.get_mut(&id).expect("known");
            if h.config_epoch > n.config_epoch {
                n.config_epoch = h.config_epoch;
                self.save(true);
            }
            let n = self.nodes.get_mut(&id).expect("known");
            n.repl_offset = h.offset;
            self.note_paused_master(&id, h, &mut out);
        }
        match h.kind {
            kind::PING | kind::PONG | kind::MEET => self.receive_ping(
                link,
                &l,
                msg,
                sender.as_deref(),
                known,
                peer_ip,
                local_ip,
                now,
                &mut out,
            ),
            kind::FAIL if !known => {
                if let (Some(s), Body::Fail { node }) = (id_text(&h.sender), &msg.body) {
                    let failing = id_text(node).unwrap_or_default();
                    Self::log(
                        &mut out,
                        LogLevel::Notice,
                        format!("Ignoring FAIL message from unknown node {s} about {failing}"),
                    );
                }
            }
            kind::FAIL => {
                if let (true, Body::Fail { node }) = (known, &msg.body) {
                    if let Some(failing) = id_text(node) {
                        let failing_known = self
                            .nodes
                            .get(&failing)
                            .is_some_and(|n| !n.is(flag::FAIL) && failing != self.myself);
                        if failing_known {
                            Self::log(
                                &mut out,
                                LogLevel::Notice,
                                format!(
                                    "FAIL message received from {} about {}",
                                    sender.clone().unwrap_or_default(),
                                    failing
                                ),
                            );
                            if let Some(n) = self.nodes.get_mut(&failing) {
                                n.flags |= flag::FAIL;
                                n.fail_time = now;
                                n.flags &= !flag::PFAIL;
                            }
                            self.save(false);
                            self.update_state_logged(now, &mut out);
                        }
                    }
                }
            }
            kind::PUBLISH | kind::PUBLISHSHARD => {
                if let (true, Body::Publish { channel, message }) = (known, &msg.body) {
                    out.push(Action::Deliver {
                        shard: h.kind == kind::PUBLISHSHARD,
                        channel: channel.clone(),
                        message: message.clone(),
                    });
                }
            }
            kind::UPDATE => {
                if let (
                    true,
                    Body::Update {
                        config_epoch,
                        node,
                        slots,
                    },
                ) = (known, &msg.body)
                {
                    if let Some(owner) = id_text(node) {
                        let newer = self
                            .nodes
                            .get(&owner)
                            .is_some_and(|n| *config_epoch > n.config_epoch);
                        if newer {
                            if let Some(n) = self.nodes.get_mut(&owner) {
                                if !n.is_master() {
                                    n.flags =
                                        (n.flags & !flag::SLAVE) | flag::MASTER | flag::MIGRATE_TO;
                                    n.master = None;
                                }
                                n.config_epoch = *config_epoch;
                            }
                            self.save(true);
                            self.update_slots_from(&owner, *config_epoch, slots, now, &mut out);
                        }
                    }
                }
            }
            kind::FAILOVER_AUTH_REQUEST => {
                if let (true, Some(id)) = (known, sender.clone()) {
                    self.receive_auth_request(&id, h, now, &mut out);
                }
            }
            kind::FAILOVER_AUTH_ACK => {
                if let (true, Some(id)) = (known, sender.clone()) {
                    self.receive_auth_ack(&id, h, now, &mut out);
                }
            }
            kind::MFSTART => {
                if let (true, Some(id)) = (known, sender.clone()) {
                    self.receive_mfstart(&id, link, now, &mut out);
                }
            }
            kind::MODULE => {}
            other => Self::log(
                &mut out,
                LogLevel::Notice,
                format!("Received unknown packet type: {other}"),
            ),
        }
        self.flush_save(&mut out);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn receive_ping(
        &mut self,
        link: LinkId,
        l: &Link,
        msg: &Message,
        sender: Option<&str>,
        known: bool,
        peer_ip: &str,
        local_ip: &str,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        let h = &msg.header;
        let Body::Ping {
            gossip, hostname, ..
        } = &msg.body
        else {
            return;
        };
        if (h.kind == kind::MEET || self.my_ip.is_empty())
            && self.settings.announce_ip.is_none()
            && self.my_ip != local_ip
        {
            self.my_ip = local_ip.to_string();
            Self::log(
                out,
                LogLevel::Notice,
                format!("IP address for this node updated to {local_ip}"),
            );
            self.save(false);
        }
        let header_ip = if h.ip.is_empty() {
            peer_ip.to_string()
        } else {
            String::from_utf8_lossy(&h.ip).into_owned()
        };
        if sender.is_none() && h.kind == kind::MEET {
            // Met by an unknown node: it joins through a handshake.
            let id = random_id(&mut self.rng);
            let mut n = Node::new(&id, flag::HANDSHAKE, now);
            n.ip = header_ip.clone();
            n.port = h.port;
            n.cport = h.cport;
            n.pport = h.pport;
            self.nodes.insert(id, n);
            self.save(false);
        }
        if h.kind == kind::PING || h.kind == kind::MEET {
            let bytes = self.ping_message(kind::PONG);
            out.push(Action::Send { link, bytes });
        }
        // Our outbound link to a node in handshake: its first reply names it.
        if !l.inbound {
            if let Some(link_node) = l.node.clone() {
                let in_handshake = self
                    .nodes
                    .get(&link_node)
                    .is_some_and(|n| n.is(flag::HANDSHAKE));
                if in_handshake {
                    let Some(real) = id_text(&h.sender) else {
                        return;
                    };
                    if self.nodes.contains_key(&real) {
                        // We already knew it by its id: update its address
                        // and forget the handshake node.
                        if let Some(n) = self.nodes.get_mut(&real) {
                            n.ip = header_ip;
                            n.port = h.port;
                            n.cport = h.cport;
                        }
                        self.delete_node(&link_node, out);
                        return;
                    }
                    Self::log(
                        out,
                        LogLevel::Verbose,
                        format!("Handshake with node {link_node} completed."),
                    );
                    self.rename_node(&link_node, &real);
                    if let Some(n) = self.nodes.get_mut(&real) {
                        n.flags &= !flag::HANDSHAKE;
                        n.flags |= h.flags & (flag::MASTER | flag::SLAVE);
                    }
                    self.save(false);
                    if h.kind == kind::PONG {
                        if let Some(n) = self.nodes.get_mut(&real) {
                            n.pong_received = now;
                            n.ping_sent = 0;
                        }
                    }
                    return;
                } else if id_text(&h.sender).as_deref() != Some(link_node.as_str()) {
                    // The address now belongs to another node.
                    Self::log(
                        out,
                        LogLevel::Verbose,
                        format!("PONG contains mismatching sender ID. About node {link_node}"),
                    );
                    if let Some(n) = self.nodes.get_mut(&link_node) {
                        n.flags |= flag::NOADDR;
                        n.ip.clear();
                        n.port = 0;
                        n.cport = 0;
                    }
                    self.close_link(link, out);
                    self.save(false);
                    return;
                }
            }
        }
        let Some(id) = sender.map(str::to_string) else {
            return;
        };
        if !known {
            return;
        }
        if let Some(n) = self.nodes.get_mut(&id) {
            n.flags = (n.flags & !flag::NOFAILOVER) | (h.flags & flag::NOFAILOVER);
        }
        // A PING on an inbound link updates the sender's address.
        if l.inbound && h.kind == kind::PING {
            let changed = self
                .nodes
                .get(&id)
                .is_some_and(|n| n.ip != header_ip || n.port != h.port || n.cport != h.cport);
            if changed {
                let link = self.nodes.get(&id).and_then(|n| n.link);
                if let Some(n) = self.nodes.get_mut(&id) {
                    n.ip = header_ip.clone();
                    n.port = h.port;
                    n.cport = h.cport;
                    n.pport = h.pport;
                    n.flags &= !flag::NOADDR;
                }
                if let Some(link) = link {
                    self.close_link(link, out);
                }
                Self::log(
                    out,
                    LogLevel::Warning,
                    format!("Address updated for node {id}, now {header_ip}:{}", h.port),
                );
                // Our master moved: replicate from where it is now.
                if self.me().master.as_deref() == Some(id.as_str()) {
                    out.push(Action::ReplicaOf {
                        master: Some((header_ip.clone(), h.port)),
                    });
                }
                self.save(false);
            }
        }
        if !l.inbound && h.kind == kind::PONG {
            let undo_after = self.settings.node_timeout * FAIL_UNDO_TIME_MULT;
            let mut cleared = false;
            if let Some(n) = self.nodes.get_mut(&id) {
                n.pong_received = now;
                n.ping_sent = 0;
                if n.is(flag::PFAIL) {
                    n.flags &= !flag::PFAIL;
                    cleared = true;
                } else if n.is(flag::FAIL) {
                    let slotless = !n.is_master() || n.slots.is_empty();
                    if slotless || now - n.fail_time > undo_after {
                        n.flags &= !flag::FAIL;
                        cleared = true;
                        let text = format!(
                            "Clear FAIL state for node {}: {}",
                            n.id,
                            if !n.is_master() {
                                "replica is reachable again."
                            } else if slotless {
                                "master without slots is reachable again."
                            } else {
                                "is reachable again and nobody is serving its slots after some time."
                            }
                        );
                        Self::log(out, LogLevel::Notice, text);
                    }
                }
            }
            if cleared {
                self.save(false);
                self.update_state_logged(now, out);
            }
        }
        // Roles.
        match h.replica_of.as_ref().and_then(id_text) {
            None => {
                let was_replica = self.nodes.get(&id).is_some_and(|n| n.is(flag::SLAVE));
                if was_replica {
                    if let Some(n) = self.nodes.get_mut(&id) {
                        // A promoted replica is a master worth migrating to.
                        n.flags = (n.flags & !flag::SLAVE) | flag::MASTER | flag::MIGRATE_TO;
                        n.master = None;
                    }
                    self.save(false);
                } else if let Some(n) = self.nodes.get_mut(&id) {
                    n.flags |= flag::MASTER;
                }
            }
            Some(master) => {
                let changed = self
                    .nodes
                    .get(&id)
                    .is_some_and(|n| n.is_master() || n.master.as_deref() != Some(master.as_str()));
                if changed {
                    let had_slots: Vec<usize> = self
                        .nodes
                        .get(&id)
                        .map(|n| (0..SLOTS).filter(|&s| n.slots.get(s)).collect())
                        .unwrap_or_default();
                    for s in had_slots {
                        if self.owners[s].as_deref() == Some(id.as_str()) {
                            self.owners.set(s, None);
                        }
                    }
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.flags = (n.flags & !flag::MASTER) | flag::SLAVE;
                        n.master = Some(master.clone());
                        n.slots = SlotBitmap::default();
                    }
                    // A master that has had a replica may be orphaned later.
                    if let Some(m) = self.nodes.get_mut(&master) {
                        m.flags |= flag::MIGRATE_TO;
                    }
                    self.save(false);
                    self.update_state_logged(now, out);
                }
            }
        }
        // Slots: only when the claims differ from what we know of the
        // sender's master (the sender itself, or its master) is there
        // anything to do, as in Redis (a scan of every slot otherwise).
        let sender_master = self.nodes.get(&id).and_then(|n| {
            if n.is_master() {
                Some(n)
            } else {
                n.master.as_ref().and_then(|m| self.nodes.get(m))
            }
        });
        let dirty = sender_master.is_some_and(|m| m.slots != h.slots);
        if !dirty {
            self.after_slots(&id, gossip, hostname, now, out);
            return;
        }
        if h.replica_of.is_none() {
            self.update_slots_from(&id, h.config_epoch, &h.slots, now, out);
        }
        // A sender claiming a slot whose owner has a newer epoch learns of it.
        let sender_epoch = h.config_epoch;
        let stale_claim = (0..SLOTS).find(|&s| {
            h.slots.get(s)
                && self.owners[s].as_ref().is_some_and(|o| {
                    o != &id
                        && self.master_of_id(&id) != Some(o.clone())
                        && self
                            .nodes
                            .get(o)
                            .is_some_and(|n| n.config_epoch > sender_epoch)
                })
        });
        if let Some(s) = stale_claim {
            let owner = self.owners[s].clone().unwrap_or_default();
            self.send_update(&id, &owner, out);
        }
        self.after_slots(&id, gossip, hostname, now, out);
    }

    /// The rest of a PING/PONG/MEET from a known sender: epoch collisions,
    /// gossip, the hostname extension.
    fn after_slots(
        &mut self,
        id: &str,
        gossip: &[Gossip],
        hostname: &Option<Vec<u8>>,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        let id = id.to_string();
        // Equal epochs among masters: the smaller id moves on.
        self.handle_epoch_collision(&id, out);
        for g in gossip {
            self.process_gossip(&id, g, now, out);
        }
        let hostname = hostname.clone().unwrap_or_default();
        if let Some(n) = self.nodes.get_mut(&id) {
            let hostname = String::from_utf8_lossy(&hostname).into_owned();
            if n.hostname != hostname {
                n.hostname = hostname;
                self.save(false);
            }
        }
    }

    fn master_of_id(&self, id: &str) -> Option<String> {
        self.nodes.get(id).and_then(|n| n.master.clone())
    }

    fn send_update(&mut self, to: &str, owner: &str, out: &mut Vec<Action>) {
        let Some(link) = self
            .nodes
            .get(to)
            .and_then(|n| n.link_up.then_some(n.link).flatten())
        else {
            return;
        };
        let Some(o) = self.nodes.get(owner) else {
            return;
        };
        let message = Message {
            header: self.header(kind::UPDATE),
            body: Body::Update {
                config_epoch: o.config_epoch,
                node: id_bytes(owner),
                slots: o.slots.clone(),
            },
        };
        self.count_sent(kind::UPDATE);
        out.push(Action::Send {
            link,
            bytes: bus::encode(&message),
        });
    }

    fn handle_epoch_collision(&mut self, sender: &str, out: &mut Vec<Action>) {
        let (Some(s), me) = (self.nodes.get(sender), self.me()) else {
            return;
        };
        if !s.is_master()
            || !me.is_master()
            || s.config_epoch != me.config_epoch
            || self.myself.as_str() >= sender
        {
            return;
        }
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        self.me_mut().config_epoch = epoch;
        self.save(true);
        Self::log(
            out,
            LogLevel::Verbose,
            format!(
                "WARNING: configEpoch collision with node {sender}. configEpoch set to {epoch}"
            ),
        );
    }

    /// A master's claim on slots (Redis's clusterUpdateSlotsConfigWith): it
    /// takes every slot that is free or owned by a node with an older
    /// configEpoch; if it takes our last slot, or our master's, we follow it.
    fn update_slots_from(
        &mut self,
        id: &str,
        epoch: u64,
        slots: &SlotBitmap,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        // `epoch` is the one the message carried, not the one stored: a
        // stale message must not take back slots given away since.
        if id == self.myself {
            Self::log(
                out,
                LogLevel::Warning,
                "Discarding UPDATE message about myself.".into(),
            );
            return;
        }
        if !self.nodes.contains_key(id) {
            return;
        }
        let me_master = self.master_of(self.me()).id.clone();
        let my_slots_before = self.nodes[&me_master].slots.count();
        let mut lost_to_sender = 0;
        let mut sender_claims = 0;
        // Slots we served ourselves (as a master) and lose.
        let mut lost_mine: Vec<u16> = Vec::new();
        let mut changed = false;
        // Each owner's epoch, looked up once (not once per slot); the
        // indexes stay put through the loop (it adds one name at most).
        self.owners.compact_if_full();
        let epochs: Vec<Option<u64>> = self
            .owners
            .names()
            .iter()
            .map(|n| {
                n.as_ref()
                    .and_then(|id| self.nodes.get(id))
                    .map(|n| n.config_epoch)
            })
            .collect();
        let sender = self.owners.index_of(id);
        let sender_had_slots = !self.nodes[id].slots.is_empty();
        let my_master = self.owners.index_of(&me_master);
        let mine = self.owners.index_of(&self.myself);
        for s in 0..SLOTS {
            if !slots.get(s) {
                continue;
            }
            sender_claims += 1;
            let owner = self.owners.owner_index(s);
            if Some(owner) == sender || self.importing.contains_key(&(s as u16)) {
                continue;
            }
            let take = epochs[owner as usize].is_none_or(|e| e < epoch);
            if !take {
                continue;
            }
            if Some(owner) == my_master {
                lost_to_sender += 1;
            }
            if Some(owner) == mine {
                lost_mine.push(s as u16);
            }
            let owner_id = self.owners[s].clone();
            if let Some(o) = owner_id.and_then(|o| self.nodes.get_mut(&o)) {
                o.slots.set(s, false);
            }
            if let Some(n) = self.nodes.get_mut(id) {
                n.slots.set(s, true);
            }
            self.owners.set(s, Some(id.to_string()));
            changed = true;
        }
        if changed {
            self.flag_first_slot(id, sender_had_slots);
            // Unlike epochs and votes, slots learnt from a peer need no
            // fsync: a node restarted with an older view is corrected by
            // UPDATE messages (the newer owner's epoch wins).
            self.save(false);
            self.update_state_logged(now, out);
        }
        let left = self.nodes[&me_master].slots.count();
        // Without replica migration a master follows only a node that took
        // exactly its slots (a failover), not one that collected them.
        let may_follow = self.settings.allow_replica_migration || sender_claims == lost_to_sender;
        if lost_to_sender > 0 && left == 0 && my_slots_before > 0 && may_follow {
            // Our (or our master's) last slot went to the sender: follow it.
            Self::log(
                out,
                LogLevel::Warning,
                format!("Configuration change detected. Reconfiguring myself as a replica of {id}"),
            );
            self.set_my_master(id, out);
        } else if let Some(grand) = self.grandmaster() {
            // Our master became someone's replica: we follow its master.
            Self::log(
                out,
                LogLevel::Warning,
                format!(
                    "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {grand}"
                ),
            );
            self.set_my_master(&grand, out);
        } else if !lost_mine.is_empty() {
            // Keys left in slots that are no longer ours go (Redis's dirty
            // slots); a replica's go with its master's deletions.
            out.push(Action::DropSlotKeys { slots: lost_mine });
        }
    }

    /// Our master's master, when our master has become a replica (and not
    /// of us).
    fn grandmaster(&self) -> Option<String> {
        let master = self.me().master.as_ref()?;
        let grand = self.nodes.get(master)?.master.clone()?;
        (grand != self.myself).then_some(grand)
    }

    /// Makes us a replica of `master`.
    pub fn set_my_master(&mut self, master: &str, out: &mut Vec<Action>) {
        let me = self.myself.clone();
        let (ip, port) = match self.nodes.get(master) {
            Some(m) => (m.ip.clone(), m.port),
            None => return,
        };
        let owned: Vec<usize> = (0..SLOTS)
            .filter(|&s| self.owners[s].as_deref() == Some(me.as_str()))
            .collect();
        for s in owned {
            self.owners.set(s, None);
        }
        let n = self.me_mut();
        n.slots = SlotBitmap::default();
        n.flags = (n.flags & !(flag::MASTER | flag::MIGRATE_TO)) | flag::SLAVE;
        n.master = Some(master.to_string());
        self.migrating.clear();
        self.importing.clear();
        self.reset_manual_failover(out);
        if let Some(m) = self.nodes.get_mut(master) {
            m.flags |= flag::MIGRATE_TO;
        }
        self.save(true);
        out.push(Action::ReplicaOf {
            master: Some((ip, port)),
        });
    }

    fn process_gossip(&mut self, sender: &str, g: &Gossip, now: i64, out: &mut Vec<Action>) {
        let Some(id) = id_text(&g.node) else { return };
        let sender_is_master = self.nodes.get(sender).is_some_and(|n| n.is_master());
        if self.nodes.contains_key(&id) {
            if sender_is_master && id != self.myself {
                if g.flags & (flag::FAIL | flag::PFAIL) != 0 {
                    let added = self.add_failure_report(&id, sender, now);
                    if added {
                        Self::log(
                            out,
                            LogLevel::Verbose,
                            format!("Node {sender} reported node {id} as not reachable."),
                        );
                    }
                    self.mark_failing_if_needed(&id, now, out);
                } else if let Some(n) = self.nodes.get_mut(&id) {
                    n.fail_reports.retain(|(r, _)| r != sender);
                }
            }
            let n = self.nodes.get(&id).expect("known");
            if g.flags & (flag::FAIL | flag::PFAIL) == 0
                && n.ping_sent == 0
                && n.fail_reports.is_empty()
            {
                let pong = i64::from(g.pong_received) * 1000;
                if pong <= now + 500 && pong > n.pong_received {
                    if let Some(n) = self.nodes.get_mut(&id) {
                        n.pong_received = pong;
                    }
                }
            }
            let n = self.nodes.get(&id).expect("known");
            let gossip_ip = String::from_utf8_lossy(&g.ip).into_owned();
            if n.is(flag::FAIL | flag::PFAIL)
                && g.flags & (flag::FAIL | flag::PFAIL) == 0
                && (n.ip != gossip_ip || n.port != g.port || n.cport != g.cport)
            {
                let link = n.link;
                if let Some(n) = self.nodes.get_mut(&id) {
                    n.ip = gossip_ip;
                    n.port = g.port;
                    n.cport = g.cport;
                    n.flags &= !flag::NOADDR;
                }
                if let Some(link) = link {
                    self.close_link(link, out);
                }
            }
        } else {
            self.gossip_unknown_only(g, now);
        }
    }

    /// A node we did not know, named in gossip: added with its id (no
    /// handshake), unless it has no address or was forgotten.
    fn gossip_unknown_only(&mut self, g: &Gossip, now: i64) {
        let Some(id) = id_text(&g.node) else { return };
        if self.nodes.contains_key(&id)
            || g.flags & flag::NOADDR != 0
            || self.blacklist.contains_key(&id)
        {
            return;
        }
        let mut n = Node::new(&id, g.flags & (flag::MASTER | flag::SLAVE), now);
        n.ip = String::from_utf8_lossy(&g.ip).into_owned();
        n.port = g.port;
        n.cport = g.cport;
        n.pport = g.pport;
        self.nodes.insert(id, n);
        self.save(false);
    }

    fn add_failure_report(&mut self, failing: &str, reporter: &str, now: i64) -> bool {
        let Some(n) = self.nodes.get_mut(failing) else {
            return false;
        };
        if let Some(r) = n.fail_reports.iter_mut().find(|(r, _)| r == reporter) {
            r.1 = now;
            return false;
        }
        n.fail_reports.push((reporter.to_string(), now));
        true
    }

    /// PFAIL becomes FAIL once a majority of the masters agree.
    fn mark_failing_if_needed(&mut self, id: &str, now: i64, out: &mut Vec<Action>) {
        let needed = self.size / 2 + 1;
        let validity = self.settings.node_timeout * FAIL_REPORT_VALIDITY_MULT;
        let me_master = self.me().is_master();
        let Some(n) = self.nodes.get_mut(id) else {
            return;
        };
        n.fail_reports.retain(|(_, t)| now - t <= validity);
        if !n.is(flag::PFAIL) || n.is(flag::FAIL) {
            return;
        }
        let mut reports = n.fail_reports.len();
        if me_master {
            reports += 1;
        }
        if reports < needed {
            return;
        }
        Self::log(
            out,
            LogLevel::Notice,
            format!("Marking node {id} as failing (quorum reached)."),
        );
        n.flags = (n.flags & !flag::PFAIL) | flag::FAIL;
        n.fail_time = now;
        self.broadcast_fail(id, out);
        self.save(false);
        self.update_state_logged(now, out);
    }

    fn rename_node(&mut self, from: &str, to: &str) {
        let Some(mut n) = self.nodes.remove(from) else {
            return;
        };
        n.id = to.to_string();
        for l in self.links.values_mut() {
            if l.node.as_deref() == Some(from) {
                l.node = Some(to.to_string());
            }
        }
        self.nodes.insert(to.to_string(), n);
    }

    fn delete_node(&mut self, id: &str, out: &mut Vec<Action>) {
        let Some(n) = self.nodes.remove(id) else {
            return;
        };
        for link in [n.link, n.inbound_link].into_iter().flatten() {
            self.links.remove(&link);
            out.push(Action::Close { link });
        }
        for s in 0..SLOTS {
            if self.owners[s].as_deref() == Some(id) {
                self.owners.set(s, None);
            }
        }
        for other in self.nodes.values_mut() {
            other.fail_reports.retain(|(r, _)| r != id);
        }
        self.save(false);
    }

    // ----- the cluster state -----

    fn update_state_logged(&mut self, now: i64, out: &mut Vec<Action>) {
        let before = self.state_ok;
        self.update_state(now);
        if before != self.state_ok {
            Self::log(
                out,
                LogLevel::Warning,
                format!(
                    "Cluster state changed: {}",
                    if self.state_ok { "ok" } else { "fail" }
                ),
            );
        }
    }

    /// ok when every slot is served by a master not FAIL (unless full
    /// coverage is not required) and a majority of the masters with slots
    /// are reachable (Redis's clusterUpdateState). A master waits
    /// [`WRITABLE_DELAY_MS`] after its first evaluation before turning ok,
    /// and a master back from a minority waits its rejoin delay.
    pub fn update_state(&mut self, now: i64) {
        let first = *self.first_state_call.get_or_insert(now);
        let me_master = self.me().is_master();
        if me_master && !self.state_ok && now - first < WRITABLE_DELAY_MS {
            return;
        }
        let mut ok = true;
        if self.settings.require_full_coverage {
            ok = self
                .owners
                .all_owned_by(|o| self.nodes.get(o).is_some_and(|n| !n.is(flag::FAIL)));
        }
        let (mut size, mut reachable) = (0, 0);
        for n in self.nodes.values() {
            if n.is_master() && !n.slots.is_empty() {
                size += 1;
                if !n.is(flag::FAIL | flag::PFAIL) {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        if reachable < size / 2 + 1 {
            ok = false;
            self.among_minority_since = Some(now);
        }
        if ok != self.state_ok {
            let rejoin_delay = self.settings.node_timeout.clamp(500, 5000);
            if ok
                && me_master
                && self
                    .among_minority_since
                    .is_some_and(|t| now - t < rejoin_delay)
            {
                return;
            }
            self.state_ok = ok;
        }
    }

    // ----- commands -----

    /// CLUSTER MEET: a handshake starts at the next tick.
    pub fn meet(&mut self, ip: &str, port: u16, cport: u16, now: i64) {
        let exists = self
            .nodes
            .values()
            .any(|n| n.is(flag::HANDSHAKE) && n.ip == ip && n.port == port && n.cport == cport);
        if exists {
            return;
        }
        let id = random_id(&mut self.rng);
        let mut n = Node::new(&id, flag::HANDSHAKE | flag::MEET, now);
        n.ip = ip.to_string();
        n.port = port;
        n.cport = cport;
        self.nodes.insert(id, n);
    }

    /// CLUSTER ADDSLOTS (checked by the caller): the slots become ours.
    pub fn add_slots(&mut self, slots: &[u16], now: i64) {
        let me = self.myself.clone();
        let had_slots = !self.me().slots.is_empty();
        for &s in slots {
            self.importing.remove(&s);
            self.owners.set(s as usize, Some(me.clone()));
            self.me_mut().slots.set(s as usize, true);
        }
        self.flag_first_slot(&me, had_slots);
        self.save(false);
        self.update_state(now);
    }

    /// CLUSTER DELSLOTS: the slots are nobody's.
    pub fn del_slots(&mut self, slots: &[u16], now: i64) {
        for &s in slots {
            if let Some(o) = self.owners.take(s as usize) {
                if let Some(n) = self.nodes.get_mut(&o) {
                    n.slots.set(s as usize, false);
                }
            }
        }
        self.save(false);
        self.update_state(now);
    }

    /// CLUSTER SET-CONFIG-EPOCH (checked by the caller).
    pub fn set_config_epoch(&mut self, epoch: u64) {
        self.me_mut().config_epoch = epoch;
        if self.current_epoch < epoch {
            self.current_epoch = epoch;
        }
        self.save(true);
    }

    /// CLUSTER BUMPEPOCH: whether our configEpoch was bumped, and what it
    /// is (`BUMPED <epoch>` or `STILL <epoch>`).
    pub fn bump_epoch(&mut self) -> (Vec<Action>, bool, u64) {
        let mut out = Vec::new();
        let bumped = self.bump_epoch_without_consensus(&mut out);
        let epoch = self.me().config_epoch;
        (out, bumped, epoch)
    }

    /// CLUSTER REPLICATE (checked by the caller).
    pub fn replicate(&mut self, master: &str) -> Vec<Action> {
        let mut out = Vec::new();
        self.set_my_master(master, &mut out);
        self.flush_save(&mut out);
        out
    }

    /// CLUSTER FORGET (checked by the caller).
    pub fn forget(&mut self, id: &str, now: i64) -> Vec<Action> {
        let mut out = Vec::new();
        self.blacklist
            .insert(id.to_string(), now + BLACKLIST_TTL_MS);
        self.delete_node(id, &mut out);
        out
    }

    /// CLUSTER RESET: forget every other node and our slots; HARD also
    /// takes a new id and zero epochs.
    pub fn reset(&mut self, hard: bool, now: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let others: Vec<String> = self
            .nodes
            .keys()
            .filter(|id| **id != self.myself)
            .cloned()
            .collect();
        for id in others {
            self.delete_node(&id, &mut out);
        }
        self.owners.clear();
        self.migrating.clear();
        self.importing.clear();
        let was_replica = !self.me().is_master();
        let me = self.me_mut();
        me.slots = SlotBitmap::default();
        me.master = None;
        me.flags = flag::MYSELF | flag::MASTER;
        if was_replica {
            out.push(Action::ReplicaOf { master: None });
        }
        if hard {
            self.current_epoch = 0;
            self.last_vote_epoch = 0;
            self.me_mut().config_epoch = 0;
            Self::log(
                &mut out,
                LogLevel::Warning,
                "configEpoch set to 0 via CLUSTER RESET HARD".into(),
            );
            let new_id = random_id(&mut self.rng);
            let old = self.myself.clone();
            self.rename_node(&old, &new_id);
            // No slots are owned after a reset: the owners start afresh.
            self.owners = SlotOwners::new(&new_id);
            self.myself = new_id;
        }
        self.save(true);
        self.update_state(now);
        self.flush_save(&mut out);
        out
    }

    /// CLUSTER SETSLOT <slot> MIGRATING/IMPORTING/STABLE/NODE (checked by the caller).
    pub fn set_slot_migrating(&mut self, slot: u16, to: Option<String>) {
        match to {
            Some(id) => self.migrating.insert(slot, id),
            None => self.migrating.remove(&slot),
        };
        self.save(false);
    }

    pub fn set_slot_importing(&mut self, slot: u16, from: Option<String>) {
        match from {
            Some(id) => self.importing.insert(slot, id),
            None => self.importing.remove(&slot),
        };
        self.save(false);
    }

    /// SETSLOT NODE: the slot is `owner`'s. Taking an imported slot bumps
    /// our configEpoch so the claim wins (Redis's clusterBumpConfigEpochWithoutConsensus).
    pub fn set_slot_node(&mut self, slot: u16, owner: &str, now: i64) -> Vec<Action> {
        let mut out = Vec::new();
        let s = slot as usize;
        if owner != self.myself {
            self.migrating.remove(&slot);
        }
        let was_mine = self.owners[s].as_deref() == Some(self.myself.as_str());
        // Redis deletes the slot and adds it again: its shard channels are
        // dropped on the old owner's shard even when the owner stays.
        let my_shard = self.master_of(self.me()).id.clone();
        if self.owners[s].as_deref() == Some(my_shard.as_str()) {
            out.push(Action::ForgetShardChannels { slot });
        }
        if let Some(o) = self.owners.take(s) {
            if let Some(n) = self.nodes.get_mut(&o) {
                n.slots.set(s, false);
            }
        }
        let had_slots = self.nodes.get(owner).is_some_and(|n| !n.slots.is_empty());
        self.owners.set(s, Some(owner.to_string()));
        if let Some(n) = self.nodes.get_mut(owner) {
            n.slots.set(s, true);
        }
        self.flag_first_slot(owner, had_slots);
        // A master that gave its last slot away follows the node that took
        // it (when replica migration is allowed), as in Redis 7.0.
        if was_mine
            && owner != self.myself
            && self.me().slots.is_empty()
            && self.settings.allow_replica_migration
        {
            Self::log(
                &mut out,
                LogLevel::Warning,
                format!(
                    "Configuration change detected. Reconfiguring myself as a replica of {owner}"
                ),
            );
            self.set_my_master(owner, &mut out);
        }
        if owner == self.myself && self.importing.remove(&slot).is_some() {
            if self.bump_epoch_without_consensus(&mut out) {
                Self::log(
                    &mut out,
                    LogLevel::Warning,
                    format!("configEpoch updated after importing slot {slot}"),
                );
            }
            self.broadcast_pong_all(&mut out);
        }
        // Synced only when the epoch moved (bump_epoch_without_consensus).
        self.save(false);
        self.update_state(now);
        self.flush_save(&mut out);
        out
    }

    /// Failure reports about a node (CLUSTER COUNT-FAILURE-REPORTS).
    pub fn failure_reports(&mut self, id: &str, now: i64) -> usize {
        let validity = self.settings.node_timeout * FAIL_REPORT_VALIDITY_MULT;
        match self.nodes.get_mut(id) {
            Some(n) => {
                n.fail_reports.retain(|(_, t)| now - t <= validity);
                n.fail_reports.len()
            }
            None => 0,
        }
    }

    /// Every slot and the node that serves it.
    pub fn owner(&self, slot: u16) -> Option<&Node> {
        self.owners[slot as usize]
            .as_ref()
            .and_then(|o| self.nodes.get(o))
    }

    /// The node's replicas, by id.
    pub fn replicas_of(&self, master: &str) -> Vec<&Node> {
        let mut v: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| n.master.as_deref() == Some(master))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }
}

fn sorted(map: &HashMap<u16, String>) -> Vec<(u16, String)> {
    let mut v: Vec<(u16, String)> = map.iter().map(|(s, id)| (*s, id.clone())).collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_owners_index_ids_and_track_our_slots() {
        let mut o = SlotOwners::new("me");
        o.set(1, Some("me".into()));
        o.set(2, Some("other".into()));
        o.set(3, Some("other".into()));
        assert!(o.is_mine(1) && !o.is_mine(2) && !o.is_mine(0));
        assert_eq!(o[2].as_deref(), Some("other"));
        assert_eq!(o.names().len(), 3);
        assert_eq!(o.take(1).as_deref(), Some("me"));
        assert!(!o.is_mine(1) && o[1].is_none());
        assert!(!o.all_owned_by(|_| true));
        for s in 0..SLOTS {
            o.set(s, Some(if s % 2 == 0 { "me" } else { "other" }.into()));
        }
        assert!(o.all_owned_by(|_| true));
        assert!(!o.all_owned_by(|id| id == "me"));
        assert_eq!((0..SLOTS).filter(|&s| o.is_mine(s)).count(), SLOTS / 2);
    }

    #[test]
    fn slot_owners_compact_unused_names() {
        let mut o = SlotOwners::new("me");
        o.set(7, Some("keep".into()));
        // Enough short-lived owners to fill the table of names.
        for i in 0..u16::MAX as usize {
            o.set(0, Some(format!("n{i}")));
        }
        o.compact_if_full();
        assert!(o.names().len() < 10, "{}", o.names().len());
        assert_eq!(o[7].as_deref(), Some("keep"));
        assert_eq!(
            o[0].as_deref(),
            Some(format!("n{}", u16::MAX as usize - 1).as_str())
        );
    }
}
