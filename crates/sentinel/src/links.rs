//! The links a Sentinel keeps, without sockets: which connections it wants
//! (a command link and a pub/sub link to every master and replica, a
//! command link to every other Sentinel), what goes first on each new one
//! (AUTH when configured, CLIENT SETNAME `sentinel-<id8>-cmd|pubsub`, then
//! PING or SUBSCRIBE `__sentinel__:hello`), the state machine's commands
//! encoded through the master's `rename-command` table, and which reply
//! answers which request, so each reply reaches the right `Monitor` call.
//!
//! The shell owns the sockets: it opens what `wanted` lists, closes what
//! it no longer lists, and hands every connect, close and reply here.
//! Links are keyed by address, so a switched master or a reset replica
//! list shows up as links to close and links to open.

use crate::election::DownAnswer;
use crate::monitor::{Action, Monitor, PingReply, Target};
use redust_resp::{encode_command, Frame};
use std::collections::{HashMap, VecDeque};

/// Which of the two links to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkKind {
    Cmd,
    PubSub,
}

/// What the link's far end is to the master it was opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    Master,
    Replica,
    Sentinel,
}

/// One link: for which master, to what, where, and which kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKey {
    pub master: String,
    /// The master's record (`Monitored::serial`).
    pub serial: u64,
    pub peer: Peer,
    pub ip: String,
    pub port: u16,
    pub kind: LinkKind,
}

/// What a reply on a command link answers.
#[derive(Clone, Debug)]
enum Expect {
    Ping,
    Info,
    /// SENTINEL IS-MASTER-DOWN-BY-ADDR to that Sentinel.
    Question,
    /// Safe mode's REPLCONF lease to a master: the next token.
    Lease,
    /// A command counted in the link's pending commands (hello PUBLISH,
    /// SCRIPT KILL).
    Counted,
    /// Replies nobody reads (AUTH, CLIENT SETNAME, the reconfiguration).
    Ignored,
}

/// The credentials a link authenticates with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    /// For other Sentinels: `sentinel-user`/`sentinel-pass`, else the
    /// Sentinel's own `requirepass`.
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
}

/// What the shell is to do after an event or a batch of actions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Routed {
    /// Bytes to write on a link, in order.
    pub writes: Vec<(LinkKey, Vec<u8>)>,
    /// Events to log and publish: (name, detail).
    pub events: Vec<(&'static str, String)>,
    /// Scripts to queue (argv, the path first), in order: the
    /// notification scripts of the events, the client reconfigurations
    /// (`scripts::script_for`).
    pub scripts: Vec<Vec<String>>,
    /// Masters whose instance links are to be closed (they reconnect).
    pub reset: Vec<String>,
    /// "Next failover delay" lines to log: until when (ms since the epoch).
    pub failover_delays: Vec<i64>,
}

/// The expected replies of every open command link, and when each link
/// was last tried.
#[derive(Debug, Default)]
pub struct Links {
    expected: HashMap<LinkKey, VecDeque<Expect>>,
    attempted: HashMap<LinkKey, i64>,
}

/// What the shell is to do with its links now.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LinkPlan {
    /// Open links the state machine no longer wants.
    pub close: Vec<LinkKey>,
    /// Wanted links to open now (noted as tried).
    pub open: Vec<LinkKey>,
}

/// The channel hellos travel on.
const HELLO: &str = crate::hello::CHANNEL;

impl Links {
    /// Every link the state machine needs now.
    pub fn wanted(monitor: &Monitor) -> Vec<LinkKey> {
        let mut out = Vec::new();
        for m in &monitor.masters {
            let name = &m.config.name;
            let serial = m.serial;
            let mut add = |peer: Peer, ip: &str, port: u16, kind: LinkKind| {
                out.push(LinkKey {
                    master: name.clone(),
                    serial,
                    peer,
                    ip: ip.to_string(),
                    port,
                    kind,
                })
            };
            for kind in [LinkKind::Cmd, LinkKind::PubSub] {
                add(Peer::Master, &m.master.ip, m.master.port, kind);
                for r in &m.replicas {
                    add(Peer::Replica, &r.ip, r.port, kind);
                }
            }
            for s in m.sentinels.iter().filter(|s| s.port != 0) {
                add(Peer::Sentinel, &s.ip, s.port, LinkKind::Cmd);
            }
        }
        out
    }

    /// Which of the shell's `open` links to close (no longer wanted) and
    /// which wanted links to open: those not open and not tried within a
    /// ping period, as Redis retries a lost link at most that often.
    pub fn plan<'a>(
        &mut self,
        monitor: &Monitor,
        open: impl Iterator<Item = &'a LinkKey>,
        now: i64,
    ) -> LinkPlan {
        let wanted = Self::wanted(monitor);
        let open: Vec<&LinkKey> = open.collect();
        let close = open
            .iter()
            .filter(|k| !wanted.contains(k))
            .map(|k| (*k).clone())
            .collect();
        let period = monitor.timing.ping_period;
        let mut to_open = Vec::new();
        for key in wanted {
            if open.contains(&&key) || self.attempted.get(&key).is_some_and(|t| now - t < period) {
                continue;
            }
            self.attempted.insert(key.clone(), now);
            to_open.push(key);
        }
        LinkPlan {
            close,
            open: to_open,
        }
    }

    /// A link the shell dropped on purpose (its instance was recreated):
    /// it may reconnect at once.
    pub fn reconnect_now(&mut self, key: &LinkKey) {
        self.attempted.remove(key);
    }

    /// The master index and target a link serves, if it still exists.
    pub fn target(monitor: &Monitor, key: &LinkKey) -> Option<(usize, Target)> {
        let master = monitor
            .masters
            .iter()
            .position(|m| m.config.name == key.master && m.serial == key.serial)?;
        let m = &monitor.masters[master];
        let target = match key.peer {
            Peer::Master => {
                (m.master.ip == key.ip && m.master.port == key.port).then_some(Target::Master)?
            }
            Peer::Replica => Target::Replica(
                m.replicas
                    .iter()
                    .position(|r| r.ip == key.ip && r.port == key.port)?,
            ),
            Peer::Sentinel => Target::Sentinel(
                m.sentinels
                    .iter()
                    .position(|s| s.ip == key.ip && s.port == key.port)?,
            ),
        };
        Some((master, target))
    }

    fn key_of(monitor: &Monitor, master: usize, target: Target, kind: LinkKind) -> Option<LinkKey> {
        let m = monitor.masters.get(master)?;
        let (peer, ip, port) = match target {
            Target::Master => (Peer::Master, &m.master.ip, m.master.port),
            Target::Replica(i) => {
                let r = m.replicas.get(i)?;
                (Peer::Replica, &r.ip, r.port)
            }
            Target::Sentinel(i) => {
                let s = m.sentinels.get(i)?;
                (Peer::Sentinel, &s.ip, s.port)
            }
        };
        Some(LinkKey {
            master: m.config.name.clone(),
            serial: m.serial,
            peer,
            ip: ip.clone(),
            port,
            kind,
        })
    }

    /// A link connected: what to write first, and the state machine's
    /// reaction (a command link's first PING), already routed.
    pub fn connected(
        &mut self,
        monitor: &mut Monitor,
        key: &LinkKey,
        credentials: &Credentials,
        now: i64,
    ) -> Routed {
        let mut routed = Routed::default();
        let Some((master, target)) = Self::target(monitor, key) else {
            return routed;
        };
        let rename = |name: &str| monitor.command_name(master, name);
        let mut first = Vec::new();
        let mut expect = VecDeque::new();
        let auth = match key.peer {
            Peer::Sentinel => credentials
                .sentinel_pass
                .clone()
                .map(|p| (credentials.sentinel_user.clone(), p)),
            _ => {
                let c = &monitor.masters[master].config;
                c.auth_pass.clone().map(|p| (c.auth_user.clone(), p))
            }
        };
        if let Some((user, pass)) = auth {
            let mut command = vec![rename("AUTH")];
            command.extend(user);
            command.push(pass);
            encode_command(&mut first, &command);
            expect.push_back(Expect::Ignored);
        }
        let suffix = match key.kind {
            LinkKind::Cmd => "cmd",
            LinkKind::PubSub => "pubsub",
        };
        let id8: String = monitor.myid.chars().take(8).collect();
        encode_command(
            &mut first,
            &[
                rename("CLIENT"),
                "SETNAME".into(),
                format!("sentinel-{id8}-{suffix}"),
            ],
        );
        expect.push_back(Expect::Ignored);
        if key.kind == LinkKind::PubSub {
            encode_command(&mut first, &[rename("SUBSCRIBE"), HELLO.to_string()]);
            routed.writes.push((key.clone(), first));
            return routed;
        }
        self.expected.insert(key.clone(), expect);
        routed.writes.push((key.clone(), first));
        let actions = monitor.on_link(master, target, true, now);
        self.route_into(monitor, actions, &mut routed);
        routed
    }

    /// A link closed (or failed to connect).
    pub fn closed(&mut self, monitor: &mut Monitor, key: &LinkKey, now: i64) -> Routed {
        let mut routed = Routed::default();
        self.expected.remove(key);
        if key.kind == LinkKind::Cmd {
            if let Some((master, target)) = Self::target(monitor, key) {
                let actions = monitor.on_link(master, target, false, now);
                self.route_into(monitor, actions, &mut routed);
            }
        }
        routed
    }

    /// A reply (or a pushed message) arrived on a link.
    pub fn on_frame(
        &mut self,
        monitor: &mut Monitor,
        key: &LinkKey,
        frame: Frame,
        now: i64,
    ) -> Routed {
        let mut routed = Routed::default();
        if key.kind == LinkKind::PubSub {
            if let Frame::Array(items) | Frame::Push(items) = &frame {
                if let [Frame::Bulk(kind), _, Frame::Bulk(message)] = items.as_slice() {
                    if kind.as_ref() == b"message" {
                        let actions = monitor.on_hello(message, now);
                        self.route_into(monitor, actions, &mut routed);
                    }
                }
            }
            return routed;
        }
        let Some(expect) = self.expected.get_mut(key).and_then(VecDeque::pop_front) else {
            return routed;
        };
        let Some((master, target)) = Self::target(monitor, key) else {
            return routed;
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let actions = match (expect, &frame) {
            (Expect::Ping, Frame::Simple(s)) => {
                monitor.on_ping_reply(master, target, PingReply::of(&format!("+{}", text(s))), now)
            }
            (Expect::Ping, Frame::Error(e)) => {
                monitor.on_ping_reply(master, target, PingReply::of(&format!("-{}", text(e))), now)
            }
            (Expect::Ping, _) => monitor.on_ping_reply(master, target, PingReply::Other, now),
            (Expect::Info, Frame::Bulk(info)) => monitor.on_info(master, target, &text(info), now),
            (Expect::Info, _) => {
                monitor.on_reply(master, target);
                Vec::new()
            }
            (Expect::Question, Frame::Array(items)) => {
                if let (
                    Target::Sentinel(peer),
                    [Frame::Integer(down), Frame::Bulk(leader), Frame::Integer(epoch)],
                ) = (target, items.as_slice())
                {
                    let answer = DownAnswer {
                        down: *down,
                        leader: text(leader),
                        leader_epoch: (*epoch).max(0) as u64,
                    };
                    monitor.on_master_down_reply(master, peer, &answer, now);
                }
                Vec::new()
            }
            (Expect::Question, _) => Vec::new(),
            (Expect::Lease, Frame::Integer(token)) => {
                monitor.on_lease_reply(master, (*token).max(0) as u64, now);
                Vec::new()
            }
            (Expect::Lease, _) => {
                monitor.on_reply(master, target);
                Vec::new()
            }
            (Expect::Counted, _) => {
                monitor.on_reply(master, target);
                Vec::new()
            }
            (Expect::Ignored, _) => Vec::new(),
        };
        self.route_into(monitor, actions, &mut routed);
        routed
    }

    /// Turns the state machine's actions into writes, events and resets.
    pub fn route(&mut self, monitor: &Monitor, actions: Vec<Action>) -> Routed {
        let mut routed = Routed::default();
        self.route_into(monitor, actions, &mut routed);
        routed
    }

    fn route_into(&mut self, monitor: &Monitor, actions: Vec<Action>, routed: &mut Routed) {
        for action in actions {
            if let Some(argv) = crate::scripts::script_for(monitor, &action) {
                routed.scripts.push(argv);
            }
            match action {
                Action::Send {
                    master,
                    target,
                    command,
                } => {
                    let expect = match command.first().map(String::as_str) {
                        Some("PING") => Expect::Ping,
                        Some("INFO") => Expect::Info,
                        Some("SENTINEL") => Expect::Question,
                        Some("REPLCONF") => Expect::Lease,
                        _ => Expect::Counted,
                    };
                    self.write(monitor, master, target, vec![command], vec![expect], routed);
                }
                Action::SendAll {
                    master,
                    target,
                    commands,
                } => {
                    // The reconfiguration comes renamed already.
                    let expects = vec![Expect::Ignored; commands.len()];
                    let Some(key) = Self::key_of(monitor, master, target, LinkKind::Cmd) else {
                        continue;
                    };
                    let Some(queue) = self.expected.get_mut(&key) else {
                        continue;
                    };
                    let mut bytes = Vec::new();
                    for c in &commands {
                        encode_command(&mut bytes, c);
                    }
                    queue.extend(expects);
                    routed.writes.push((key, bytes));
                }
                Action::Event { name, detail, .. } => routed.events.push((name, detail)),
                Action::ClientReconfig { .. } => {}
                Action::FailoverDelay { until_ms } => routed.failover_delays.push(until_ms),
                Action::ResetLinks { master } => {
                    if let Some(m) = monitor.masters.get(master) {
                        routed.reset.push(m.config.name.clone());
                    }
                }
            }
        }
    }

    /// One command through the master's rename table, on an open link.
    fn write(
        &mut self,
        monitor: &Monitor,
        master: usize,
        target: Target,
        commands: Vec<Vec<String>>,
        expects: Vec<Expect>,
        routed: &mut Routed,
    ) {
        let Some(key) = Self::key_of(monitor, master, target, LinkKind::Cmd) else {
            return;
        };
        // Nothing goes on a link that is not up.
        let Some(queue) = self.expected.get_mut(&key) else {
            return;
        };
        let mut bytes = Vec::new();
        for mut command in commands {
            if let Some(name) = command.first_mut() {
                *name = monitor.command_name(master, name);
            }
            encode_command(&mut bytes, &command);
        }
        queue.extend(expects);
        routed.writes.push((key, bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit;
    use bytes::Bytes;

    const MASTER: &str = "sentinel monitor mymaster 127.0.0.1 6379 2\n\
                          sentinel auth-pass mymaster secret\n\
                          sentinel rename-command mymaster PING PONGO";

    fn key(m: &Monitor, kind: LinkKind) -> LinkKey {
        LinkKey {
            master: "mymaster".into(),
            serial: m.masters[0].serial,
            peer: Peer::Master,
            ip: "127.0.0.1".into(),
            port: 6379,
            kind,
        }
    }

    #[test]
    fn a_master_gets_two_links_and_sentinels_one() {
        let mut m = testkit::monitor(MASTER, 1000);
        let hello =
            "127.0.0.1,26380,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,0,mymaster,127.0.0.1,6379,0";
        m.on_hello(hello.as_bytes(), 1000);
        let wanted = Links::wanted(&m);
        assert_eq!(wanted.len(), 3, "{wanted:?}");
        assert_eq!(wanted[2].peer, Peer::Sentinel);
        assert_eq!(wanted[2].kind, LinkKind::Cmd);
    }

    #[test]
    fn a_new_command_link_authenticates_names_itself_and_pings_renamed() {
        let mut m = testkit::monitor(MASTER, 1000);
        let cmd = key(&m, LinkKind::Cmd);
        let mut links = Links::default();
        let routed = links.connected(&mut m, &cmd, &Credentials::default(), 1000);
        let bytes: Vec<u8> = routed.writes.iter().flat_map(|(_, b)| b.clone()).collect();
        let text = String::from_utf8_lossy(&bytes);
        let id8: String = m.myid.chars().take(8).collect();
        assert!(
            text.starts_with("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n"),
            "{text}"
        );
        assert!(text.contains(&format!("sentinel-{id8}-cmd")), "{text}");
        assert!(text.ends_with("*1\r\n$5\r\nPONGO\r\n"), "{text}");
        // AUTH and SETNAME replies are skipped; the PONG reaches the monitor.
        for reply in [
            Frame::Simple(Bytes::from_static(b"OK")),
            Frame::Simple(Bytes::from_static(b"OK")),
        ] {
            links.on_frame(&mut m, &cmd, reply, 1100);
        }
        links.on_frame(
            &mut m,
            &cmd,
            Frame::Simple(Bytes::from_static(b"PONG")),
            1200,
        );
        assert_eq!(m.masters[0].master.link.last_avail_time, 1200);
        assert_eq!(m.masters[0].master.link.pending_commands, 0);
    }

    #[test]
    fn a_pubsub_link_subscribes_to_hellos_and_reads_them() {
        let mut m = testkit::monitor(MASTER, 1000);
        let pubsub = key(&m, LinkKind::PubSub);
        let mut links = Links::default();
        let routed = links.connected(&mut m, &pubsub, &Credentials::default(), 1000);
        let text = String::from_utf8_lossy(&routed.writes[0].1).into_owned();
        assert!(
            text.ends_with("*2\r\n$9\r\nSUBSCRIBE\r\n$18\r\n__sentinel__:hello\r\n"),
            "{text}"
        );
        let hello =
            "127.0.0.1,26380,bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,0,mymaster,127.0.0.1,6379,0";
        let message = Frame::Array(vec![
            Frame::Bulk(Bytes::from_static(b"message")),
            Frame::Bulk(Bytes::from_static(HELLO.as_bytes())),
            Frame::Bulk(Bytes::from(hello)),
        ]);
        let routed = links.on_frame(&mut m, &pubsub, message, 1100);
        assert_eq!(routed.events[0].0, "+sentinel");
        assert_eq!(m.masters[0].sentinels.len(), 1);
    }

    #[test]
    fn nothing_is_written_on_a_link_that_is_not_up() {
        let mut m = testkit::monitor(MASTER, 1000);
        let cmd = key(&m, LinkKind::Cmd);
        let mut links = Links::default();
        let routed = links.route(
            &m,
            vec![Action::Send {
                master: 0,
                target: Target::Master,
                command: vec!["INFO".into()],
            }],
        );
        assert!(routed.writes.is_empty());
        links.connected(&mut m, &cmd, &Credentials::default(), 1000);
        links.closed(&mut m, &cmd, 1100);
        assert!(!m.masters[0].master.link.connected);
    }

    #[test]
    fn routed_events_bring_the_scripts_they_run() {
        let mut m = testkit::monitor(MASTER, 1000);
        m.masters[0].config.notification_script = Some("/n.sh".into());
        let mut links = Links::default();
        let event = |name: &'static str| Action::Event {
            name,
            detail: "master mymaster 127.0.0.1 6379".into(),
            master: Some(0),
        };
        let routed = links.route(&m, vec![event("+sdown"), event("+slave"), event("+odown")]);
        assert_eq!(routed.events.len(), 3);
        let scripts: Vec<String> = routed.scripts.iter().map(|a| a[1].clone()).collect();
        assert_eq!(scripts, ["+sdown", "+odown"], "WARNING events only");
    }
}
