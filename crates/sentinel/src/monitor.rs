//! Monitoring, the first part of Sentinel's state machine: for every
//! master and its replicas, when to send PING and INFO (Redis 7.0's
//! periods), what their replies mean (a valid reply is PONG, -LOADING or
//! -MASTERDOWN; a master stuck in a script gets SCRIPT KILL once it is
//! down), subjective down (`+sdown`/`-sdown`: no valid reply within
//! `down-after-milliseconds`, a master that reports itself a replica for
//! too long, a rebooted master within `master-reboot-down-after-period`),
//! and the replicas found in a master's INFO (`+slave`).
//!
//! Sans I/O: `tick` and the `on_*` calls take the time (milliseconds since
//! the Unix epoch, as Redis's `mstime`; 0 stands for "never"); what to do
//! comes back as `Action`s for the shell (send commands on an instance's
//! link, report an event). `election` and `failover` continue the machine.

use crate::config::MasterConfig;
use crate::info::{InfoReport, Role};

/// Redis's periods (ms).
pub const PING_PERIOD: i64 = 1000;
pub const INFO_PERIOD: i64 = 10_000;
pub const HELLO_PERIOD: i64 = 2000;
/// Unanswered commands per link past which nothing more is sent.
pub const MAX_PENDING_COMMANDS: u32 = 100;

/// Which instance of a master: the master itself or one of its replicas
/// (by index in `Monitored::replicas`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Master,
    Replica(usize),
    /// One of the master's other Sentinels (by index in `Monitored::sentinels`).
    Sentinel(usize),
}

/// What the shell is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `command` on the command link of `target` of master `master`.
    Send {
        master: usize,
        target: Target,
        command: Vec<String>,
    },
    /// Send these commands on the command link of `target` in one write
    /// (the MULTI ... EXEC reconfiguration).
    SendAll {
        master: usize,
        target: Target,
        commands: Vec<Vec<String>>,
    },
    /// An event (`+sdown`, `+slave`, ...) with its text after the name, as
    /// Sentinel logs it and publishes it on the channel of that name.
    /// `master` is the master it concerns (the instance's, for a replica or
    /// a Sentinel), also when the text names none (`+new-epoch`,
    /// `+vote-for-leader`); `None` for `+tilt`/`-tilt`. A WARNING event of
    /// a master runs its `notification-script` (`scripts::script_for`).
    Event {
        name: &'static str,
        detail: String,
        master: Option<usize>,
    },
    /// Run the master's `client-reconfig-script`, if it has one: a failover
    /// moved it from `from` to `to`, seen as the leader (at
    /// `+promoted-slave`) or as an observer (a newer configuration in a
    /// hello).
    ClientReconfig {
        master: usize,
        role: ReconfigRole,
        from: (String, u16),
        to: (String, u16),
    },
    /// Close every link to the master's instances (its instances were
    /// recreated: the shell connects them anew).
    ResetLinks { master: usize },
    /// Log that no failover starts before `until_ms` (Redis's "Next
    /// failover delay" line, with the time in the shell's local format).
    FailoverDelay { until_ms: i64 },
}

/// Who runs a `client-reconfig-script`: the Sentinel that promoted the
/// replica, or one that learned of it from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconfigRole {
    Leader,
    Observer,
}

impl ReconfigRole {
    /// The script's `<role>` argument.
    pub fn name(self) -> &'static str {
        match self {
            ReconfigRole::Leader => "leader",
            ReconfigRole::Observer => "observer",
        }
    }
}

/// The timers and state of one instance's command link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    pub connected: bool,
    /// When the oldest unanswered PING was sent (0: none pending).
    pub act_ping_time: i64,
    pub last_ping_time: i64,
    pub last_pong_time: i64,
    /// Last valid PING reply (or the link's creation).
    pub last_avail_time: i64,
    pub pending_commands: u32,
}

impl LinkState {
    /// The link went up (a PING goes at once, as Redis pings right after
    /// connecting) or down. Whether it is up. A PING still unanswered
    /// keeps its time across reconnects: something that accepts
    /// connections and closes them (a proxy in front of a dead master)
    /// must not look alive.
    fn set_connected(&mut self, connected: bool, now: i64) -> bool {
        self.connected = connected;
        self.pending_commands = 0;
        if connected {
            if self.act_ping_time == 0 {
                self.act_ping_time = now;
            }
            self.last_ping_time = now;
            self.pending_commands = 1;
        }
        connected
    }

    /// A PING is due: no reply for `period`, none sent for half of it.
    fn ping_due(&self, now: i64, period: i64) -> bool {
        now - self.last_pong_time > period && now - self.last_ping_time > period / 2
    }

    /// A PING goes out now (the oldest unanswered one keeps its time).
    fn ping_sent(&mut self, now: i64) {
        self.last_ping_time = now;
        if self.act_ping_time == 0 {
            self.act_ping_time = now;
        }
    }

    /// A PING's reply arrived; a valid one proves the peer alive.
    fn ping_answered(&mut self, valid: bool, now: i64) {
        self.pending_commands = self.pending_commands.saturating_sub(1);
        self.last_pong_time = now;
        if valid {
            self.last_avail_time = now;
            self.act_ping_time = 0;
        }
    }

    /// How long the peer has gone without a valid reply, as subjective
    /// down measures it.
    fn unanswered_for(&self, now: i64) -> i64 {
        if self.act_ping_time != 0 {
            now - self.act_ping_time
        } else if !self.connected {
            now - self.last_avail_time
        } else {
            0
        }
    }
}

/// One monitored instance (a master or a replica).
#[derive(Clone, Debug)]
pub struct Instance {
    /// The address links connect to and instances are told apart by.
    pub ip: String,
    /// The name it was given (configured, or in a replica's INFO): what is
    /// shown with `announce-hostnames` ([`Instance::shown`]); the IP when
    /// it was given as one.
    pub host: String,
    pub port: u16,
    pub link: LinkState,
    pub info_refresh: i64,
    /// The last INFO reply (SENTINEL INFO-CACHE).
    pub info_text: Option<String>,
    pub run_id: Option<String>,
    pub role_reported: Option<Role>,
    pub role_reported_time: i64,
    pub sdown: bool,
    pub s_down_since: i64,
    pub script_kill_sent: bool,
    /// A master that came back with another run id, since when.
    pub reboot_since: Option<i64>,
    /// A replica's view of its master (from its INFO).
    pub master_link_down_since_s: Option<i64>,
    pub master_link_up: Option<bool>,
    pub replica_priority: i64,
    pub replica_repl_offset: u64,
    /// A replica's master as its INFO says (`master_host`, `master_port`).
    pub replica_master: Option<(String, u16)>,
    /// When `replica_master` last changed (or the instance was created).
    pub replica_master_since: i64,
    /// `replica_announced` (hidden from SENTINEL REPLICAS when false).
    pub announced: bool,
    /// When our last hello went out through this instance.
    pub last_pub_time: i64,
    /// A replica's part in a failover (`failover`).
    pub reconf: crate::failover::Reconf,
    /// A master in redust's safe mode: the replicas a write needs
    /// (docs/design/safe-mode.md); `None` for any other.
    pub safe_writes_acks: Option<usize>,
    /// Safe mode: the last lease token the master sent us (0: none) and
    /// when our last lease request went out.
    pub lease_token: u64,
    pub lease_sent_time: i64,
}

impl Instance {
    /// An instance known by a name (`host`) that resolved to `ip`.
    fn named(host: &str, ip: &str, port: u16, now: i64) -> Instance {
        Instance {
            ip: ip.to_string(),
            host: host.to_string(),
            port,
            link: LinkState {
                last_avail_time: now,
                last_pong_time: now,
                ..LinkState::default()
            },
            info_refresh: 0,
            info_text: None,
            run_id: None,
            role_reported: None,
            role_reported_time: now,
            sdown: false,
            s_down_since: 0,
            script_kill_sent: false,
            reboot_since: None,
            master_link_down_since_s: None,
            master_link_up: None,
            replica_priority: 100,
            replica_repl_offset: 0,
            replica_master: None,
            replica_master_since: now,
            announced: true,
            last_pub_time: now,
            reconf: Default::default(),
            safe_writes_acks: None,
            lease_token: 0,
            lease_sent_time: 0,
        }
    }
}

/// A monitored master, its options and its replicas.
#[derive(Clone, Debug)]
pub struct Monitored {
    pub config: MasterConfig,
    pub master: Instance,
    pub replicas: Vec<Instance>,
    pub sentinels: Vec<Peer>,
    /// Objectively down (`election`).
    pub odown: bool,
    pub o_down_since: i64,
    pub failover_in_progress: bool,
    /// Whom we voted for to lead a failover of this master, and when.
    pub leader: Option<String>,
    pub failover: crate::election::Failover,
    /// The replica chosen for promotion.
    pub promoted: Option<usize>,
    /// SENTINEL FAILOVER: no election needed.
    pub force_failover: bool,
    /// Which record this is: a master removed and monitored again (or
    /// reset) is a new record, and its old links are not its own.
    pub serial: u64,
}

/// Gives every `Monitored` record its own serial.
static NEXT_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Monitored {
    /// A master as configured, its known replicas and Sentinels not yet
    /// connected.
    pub fn new(c: &MasterConfig, now: i64) -> Monitored {
        Monitored {
            config: c.clone(),
            master: Instance::named(&c.addr.host, &c.addr.ip, c.addr.port, now),
            replicas: c
                .known_replicas
                .iter()
                .map(|r| Instance::named(&r.host, &r.ip, r.port, now))
                .collect(),
            sentinels: c
                .known_sentinels
                .iter()
                .map(|s| Peer::new(&s.runid, &s.addr.ip, s.addr.port, 0))
                .collect(),
            odown: false,
            o_down_since: 0,
            failover_in_progress: false,
            leader: None,
            failover: Default::default(),
            promoted: None,
            force_failover: false,
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// Every monitored master, and who we are.
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    pub masters: Vec<Monitored>,
    /// Our run id (`sentinel myid`).
    pub myid: String,
    pub current_epoch: u64,
    /// The address our hellos announce (`announce-ip`/`announce-port`, or
    /// what the shell found); no hellos go out until it is known.
    pub announce: Option<(String, u16)>,
    /// The seeded generator for the failover start jitter.
    pub rng: u64,
    /// TILT mode: since when (None: not in TILT).
    pub tilt_since: Option<i64>,
    /// The previous tick's time (a jump back or of more than
    /// `TILT_TRIGGER` enters TILT).
    pub previous_tick: Option<i64>,
    /// The periods and timeouts (`SENTINEL DEBUG`).
    pub timing: Timing,
    /// `announce-hostnames`: instances are shown (in replies, events,
    /// hellos, the config, SLAVEOF) by name rather than by IP.
    pub announce_hostnames: bool,
    /// `resolve-hostnames`: names in a replica's INFO or a hello are looked
    /// up (with `resolver`, the shell's) rather than ignored.
    pub resolve_hostnames: bool,
    pub resolver: Option<fn(&str) -> Option<String>>,
}

/// Sentinel's timing knobs, Redis's defaults; SENTINEL DEBUG changes them
/// at run time (ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub info_period: i64,
    pub ping_period: i64,
    pub ask_period: i64,
    pub publish_period: i64,
    pub default_down_after: i64,
    pub default_failover_timeout: i64,
    pub tilt_trigger: i64,
    pub tilt_period: i64,
    pub slave_reconf_timeout: i64,
    pub min_link_reconnect_period: i64,
    pub election_timeout: i64,
    pub script_max_runtime: i64,
    pub script_retry_delay: i64,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            info_period: INFO_PERIOD,
            ping_period: PING_PERIOD,
            ask_period: crate::election::ASK_PERIOD,
            publish_period: HELLO_PERIOD,
            default_down_after: crate::config::DEFAULT_DOWN_AFTER_MS,
            default_failover_timeout: crate::config::DEFAULT_FAILOVER_TIMEOUT_MS,
            tilt_trigger: TILT_TRIGGER,
            tilt_period: TILT_PERIOD,
            slave_reconf_timeout: crate::failover::SLAVE_RECONF_TIMEOUT,
            min_link_reconnect_period: 15_000,
            election_timeout: crate::election::ELECTION_TIMEOUT,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

impl Timing {
    /// The knobs as SENTINEL DEBUG lists them, in its order.
    pub fn list(&self) -> [(&'static str, i64); 13] {
        [
            ("INFO-PERIOD", self.info_period),
            ("PING-PERIOD", self.ping_period),
            ("ASK-PERIOD", self.ask_period),
            ("PUBLISH-PERIOD", self.publish_period),
            ("DEFAULT-DOWN-AFTER", self.default_down_after),
            ("DEFAULT-FAILOVER-TIMEOUT", self.default_failover_timeout),
            ("TILT-TRIGGER", self.tilt_trigger),
            ("TILT-PERIOD", self.tilt_period),
            ("SLAVE-RECONF-TIMEOUT", self.slave_reconf_timeout),
            ("MIN-LINK-RECONNECT-PERIOD", self.min_link_reconnect_period),
            ("ELECTION-TIMEOUT", self.election_timeout),
            ("SCRIPT-MAX-RUNTIME", self.script_max_runtime),
            ("SCRIPT-RETRY-DELAY", self.script_retry_delay),
        ]
    }

    /// The knob of that (lower-case) name, to set.
    pub fn knob(&mut self, name: &str) -> Option<&mut i64> {
        Some(match name {
            "info-period" => &mut self.info_period,
            "ping-period" => &mut self.ping_period,
            "ask-period" => &mut self.ask_period,
            "publish-period" => &mut self.publish_period,
            "default-down-after" => &mut self.default_down_after,
            "default-failover-timeout" => &mut self.default_failover_timeout,
            "tilt-trigger" => &mut self.tilt_trigger,
            "tilt-period" => &mut self.tilt_period,
            "slave-reconf-timeout" => &mut self.slave_reconf_timeout,
            "min-link-reconnect-period" => &mut self.min_link_reconnect_period,
            "election-timeout" => &mut self.election_timeout,
            "script-max-runtime" => &mut self.script_max_runtime,
            "script-retry-delay" => &mut self.script_retry_delay,
            _ => return None,
        })
    }
}

/// A gap between ticks past this (or time going back) enters TILT (ms).
pub const TILT_TRIGGER: i64 = 2000;
/// How long TILT lasts by default (ms).
pub const TILT_PERIOD: i64 = 30_000;

/// Another Sentinel monitoring the same master, known from its hellos.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub runid: String,
    pub ip: String,
    pub port: u16,
    pub last_hello_time: i64,
    /// Its last IS-MASTER-DOWN-BY-ADDR answer said the master is down.
    pub master_down: bool,
    pub last_master_down_reply_time: i64,
    /// Whom it voted for, in which epoch.
    pub leader: Option<String>,
    pub leader_epoch: u64,
    /// When our last hello went to it directly.
    pub last_pub_time: i64,
    /// Our command link's timers (PINGs go to Sentinels too).
    pub link: LinkState,
    pub sdown: bool,
    pub s_down_since: i64,
}

impl Peer {
    pub fn new(runid: &str, ip: &str, port: u16, now: i64) -> Peer {
        Peer {
            runid: runid.to_string(),
            ip: ip.to_string(),
            port,
            last_hello_time: now,
            master_down: false,
            last_master_down_reply_time: 0,
            leader: None,
            leader_epoch: 0,
            last_pub_time: now,
            link: LinkState {
                last_avail_time: now,
                last_pong_time: now,
                ..LinkState::default()
            },
            sdown: false,
            s_down_since: 0,
        }
    }
}

/// How a command's reply is classed for the timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingReply {
    /// +PONG, -LOADING, -MASTERDOWN: the instance is alive.
    Valid,
    /// -BUSY: stuck in a script.
    Busy,
    /// Anything else.
    Other,
}

impl PingReply {
    /// Classes a reply given as its first line (`+PONG`, `-LOADING ...`).
    pub fn of(reply: &str) -> PingReply {
        if reply == "+PONG" || reply.starts_with("-LOADING") || reply.starts_with("-MASTERDOWN") {
            PingReply::Valid
        } else if reply.starts_with("-BUSY") {
            PingReply::Busy
        } else {
            PingReply::Other
        }
    }
}

impl Monitor {
    /// Starts monitoring the configured masters (and their known replicas
    /// and Sentinels) as Sentinel `myid` at `current_epoch`.
    pub fn new(configs: &[MasterConfig], myid: &str, current_epoch: u64, now: i64) -> Monitor {
        let masters = configs.iter().map(|c| Monitored::new(c, now)).collect();
        Monitor {
            masters,
            myid: myid.to_string(),
            current_epoch,
            announce: None,
            rng: 0x9e37_79b9_7f4a_7c15,
            tilt_since: None,
            previous_tick: None,
            timing: Timing::default(),
            announce_hostnames: false,
            resolve_hostnames: false,
            resolver: None,
        }
    }

    fn instance_mut(&mut self, master: usize, target: Target) -> Option<&mut Instance> {
        let m = self.masters.get_mut(master)?;
        match target {
            Target::Master => Some(&mut m.master),
            Target::Replica(i) => m.replicas.get_mut(i),
            Target::Sentinel(_) => None,
        }
    }

    /// The event text of an instance: `master <name> <ip> <port>`, or
    /// `slave <ip>:<port> <ip> <port> @ <name> <master ip> <master port>`.
    pub fn describe(&self, master: usize, target: Target) -> String {
        let m = &self.masters[master];
        let master_host = self.shown(&m.master);
        match target {
            Target::Master => format!("master {} {} {}", m.config.name, master_host, m.master.port),
            Target::Replica(i) => {
                let r = &m.replicas[i];
                let host = self.shown(r);
                format!(
                    "slave {}:{} {} {} @ {} {} {}",
                    host, r.port, host, r.port, m.config.name, master_host, m.master.port
                )
            }
            Target::Sentinel(i) => {
                let p = &m.sentinels[i];
                format!(
                    "sentinel {} {} {} @ {} {} {}",
                    p.runid, p.ip, p.port, m.config.name, master_host, m.master.port
                )
            }
        }
    }

    /// How an instance is shown: its name with `announce-hostnames`, else
    /// its IP (Redis's `announceSentinelAddr`).
    pub fn shown<'a>(&self, i: &'a Instance) -> &'a str {
        if self.announce_hostnames {
            &i.host
        } else {
            &i.ip
        }
    }

    /// The IP of a host given by name: an IP stays itself; a name is looked
    /// up only with `resolve-hostnames`.
    pub fn resolve_host(&self, host: &str) -> Option<String> {
        if host.parse::<std::net::IpAddr>().is_ok() {
            return Some(host.to_string());
        }
        if !self.resolve_hostnames {
            return None;
        }
        self.resolver.and_then(|resolve| resolve(host))
    }

    /// The shell's command link to an instance connected (or was lost).
    /// A new link gets a PING at once (its answer starts the instance's
    /// clock), as Redis sends one right after connecting.
    pub fn on_link(
        &mut self,
        master: usize,
        target: Target,
        connected: bool,
        now: i64,
    ) -> Vec<Action> {
        let Some(link) = self.link_mut(master, target) else {
            return Vec::new();
        };
        if !link.set_connected(connected, now) {
            return Vec::new();
        }
        vec![Action::Send {
            master,
            target,
            command: vec!["PING".into()],
        }]
    }

    /// The command link of any instance or Sentinel of `master`.
    fn link_mut(&mut self, master: usize, target: Target) -> Option<&mut LinkState> {
        match target {
            Target::Sentinel(i) => {
                Some(&mut self.masters.get_mut(master)?.sentinels.get_mut(i)?.link)
            }
            _ => Some(&mut self.instance_mut(master, target)?.link),
        }
    }

    /// A PING's reply arrived; SCRIPT KILL goes to a down master stuck in a script.
    pub fn on_ping_reply(
        &mut self,
        master: usize,
        target: Target,
        reply: PingReply,
        now: i64,
    ) -> Vec<Action> {
        if let Some(link) = self.link_mut(master, target) {
            link.ping_answered(reply == PingReply::Valid, now);
        }
        let Some(i) = self.instance_mut(master, target) else {
            return Vec::new();
        };
        match reply {
            PingReply::Valid => Vec::new(),
            PingReply::Busy if i.sdown && !i.script_kill_sent => {
                i.script_kill_sent = true;
                i.link.pending_commands += 1;
                vec![Action::Send {
                    master,
                    target,
                    command: vec!["SCRIPT".into(), "KILL".into()],
                }]
            }
            _ => Vec::new(),
        }
    }

    /// Any other counted command's reply arrived (a hello PUBLISH, SCRIPT
    /// KILL): the link has one command less pending.
    pub fn on_reply(&mut self, master: usize, target: Target) {
        if let Some(link) = self.link_mut(master, target) {
            link.pending_commands = link.pending_commands.saturating_sub(1);
        }
    }

    /// An INFO reply arrived: roles, run ids, and for a master the replicas
    /// it lists (new ones are added: `+slave`).
    pub fn on_info(&mut self, master: usize, target: Target, info: &str, now: i64) -> Vec<Action> {
        let report = InfoReport::parse(info);
        let mut actions = Vec::new();
        let reboot_period = self
            .masters
            .get(master)
            .map_or(0, |m| m.config.master_reboot_down_after_ms);
        let Some(i) = self.instance_mut(master, target) else {
            return actions;
        };
        i.link.pending_commands = i.link.pending_commands.saturating_sub(1);
        i.info_refresh = now;
        i.info_text = Some(info.to_string());
        if let Some(run_id) = report.run_id.clone() {
            if target == Target::Master
                && reboot_period > 0
                && i.run_id.as_ref().is_some_and(|old| *old != run_id)
            {
                i.reboot_since = Some(now);
            }
            i.run_id = Some(run_id);
        }
        if report.role.is_some() && report.role != i.role_reported {
            i.role_reported = report.role;
            i.role_reported_time = now;
        }
        if let Some(p) = report.replica_priority {
            i.replica_priority = p;
        }
        if let Some(o) = report.replica_repl_offset {
            i.replica_repl_offset = o;
        }
        i.master_link_up = report.master_link_up;
        i.master_link_down_since_s = report.master_link_down_since_s;
        if let (Some(h), Some(p)) = (&report.master_host, report.master_port) {
            let seen = Some((h.clone(), p));
            if i.replica_master != seen {
                i.replica_master = seen;
                i.replica_master_since = now;
            }
        }
        if let Some(a) = report.replica_announced {
            i.announced = a;
        }
        if target == Target::Master {
            i.safe_writes_acks = report.safe_writes_acks;
        }
        let tilt = self.tilt_since.is_some();
        if let (Target::Replica(idx), false) = (target, tilt) {
            let master_host = report.master_host.clone();
            self.replica_info(
                master,
                idx,
                master_host,
                report.master_port,
                now,
                &mut actions,
            );
        }
        if target == Target::Master && report.role == Some(Role::Master) {
            for listed in report.replicas {
                let Some(ip) = self.resolve_host(&listed.ip) else {
                    continue;
                };
                let m = &mut self.masters[master];
                let known = m
                    .replicas
                    .iter()
                    .any(|r| r.ip == ip && r.port == listed.port);
                if !known {
                    m.replicas
                        .push(Instance::named(&listed.ip, &ip, listed.port, now));
                    let idx = m.replicas.len() - 1;
                    actions.push(Action::Event {
                        name: "+slave",
                        detail: self.describe(master, Target::Replica(idx)),
                        master: Some(master),
                    });
                }
            }
        }
        actions
    }

    /// The periodic work: PING and INFO to send, and subjective-down checks.
    pub fn tick(&mut self, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        self.check_tilt(now, &mut actions);
        for master in 0..self.masters.len() {
            // The master first, its replicas and Sentinels after it, as Redis
            // walks them: a replica's INFO goes out at its faster period in
            // the very tick its master turns ODOWN.
            self.send_periodic(master, Target::Master, now, &mut actions);
            self.lease_periodic(master, now, &mut actions);
            // In TILT nothing acts: no down checks, no agreement, no failover.
            let tilt = self.in_tilt(now, &mut actions);
            if !tilt {
                self.check_sdown(master, Target::Master, now, &mut actions);
                let before = self.masters[master].failover.state;
                self.election_step(master, now, &mut actions);
                // One failover state per tick, as in Redis: a state entered
                // now acts on the next tick (so replica selection sees the
                // INFO replies asked for when the failover began).
                if !matches!(
                    before,
                    crate::election::FailoverState::None
                        | crate::election::FailoverState::WaitStart
                ) {
                    self.failover_step(master, now, &mut actions);
                }
            }
            for i in 0..self.masters[master].replicas.len() {
                self.send_periodic(master, Target::Replica(i), now, &mut actions);
            }
            self.peer_periodic(master, now, &mut actions);
            if !tilt {
                for i in 0..self.masters[master].replicas.len() {
                    self.check_sdown(master, Target::Replica(i), now, &mut actions);
                }
                self.peer_sdown(master, now, &mut actions);
            }
        }
        // A finished failover switches to its promoted replica last.
        for master in 0..self.masters.len() {
            self.finish_failover(master, now, &mut actions);
        }
        actions
    }

    /// Safe mode's lease (docs/design/safe-mode.md): how long a grant holds,
    /// half of down-after, so that it ends before we could call the master
    /// down.
    pub fn lease_ms(&self, master: usize) -> i64 {
        (self.masters[master].config.down_after_ms / 2).max(1)
    }

    /// Safe mode: a lease request to the master a few times per lease
    /// period, carrying our grant (the last token it sent us) while we
    /// see it alive, hold it as the master and have voted in no newer
    /// epoch for its failover.
    fn lease_periodic(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let lease = self.lease_ms(master);
        let period = self.timing.ping_period.min(lease / 3).max(1);
        // A majority of the Sentinels we know, ourselves included.
        let needed = self.masters[master].sentinels.len().div_ceil(2) + 1;
        let myid = self.myid.clone();
        let m = &mut self.masters[master];
        let granting = !m.master.sdown
            && !m.odown
            && !m.failover_in_progress
            && m.config.leader_epoch <= m.config.config_epoch;
        let i = &mut m.master;
        if i.safe_writes_acks.is_none()
            || !i.link.connected
            || i.link.pending_commands >= MAX_PENDING_COMMANDS
            || now - i.lease_sent_time < period
        {
            return;
        }
        i.lease_sent_time = now;
        let token = if granting { i.lease_token } else { 0 };
        i.link.pending_commands += 1;
        out.push(Action::Send {
            master,
            target: Target::Master,
            command: vec![
                "REPLCONF".into(),
                "lease".into(),
                format!("{myid}:{lease}:{needed}:{token}"),
            ],
        });
    }

    /// The master answered a lease request with a new token: it is alive
    /// (as a PING reply shows), and the token is our next grant.
    pub fn on_lease_reply(&mut self, master: usize, token: u64, now: i64) {
        let Some(m) = self.masters.get_mut(master) else {
            return;
        };
        let i = &mut m.master;
        i.link.pending_commands = i.link.pending_commands.saturating_sub(1);
        i.lease_token = token;
        i.link.last_avail_time = now;
        i.link.last_pong_time = now;
    }

    /// A clock jump (back, or forward past `TILT_TRIGGER`) enters TILT, or
    /// restarts its period.
    fn check_tilt(&mut self, now: i64, out: &mut Vec<Action>) {
        if let Some(previous) = self.previous_tick {
            let delta = now - previous;
            if !(0..=self.timing.tilt_trigger).contains(&delta) {
                self.tilt_since = Some(now);
                out.push(Action::Event {
                    name: "+tilt",
                    detail: "#tilt mode entered".into(),
                    master: None,
                });
            }
        }
        self.previous_tick = Some(now);
    }

    /// Whether TILT holds now; it ends (`-tilt`) after its period.
    pub fn in_tilt(&mut self, now: i64, out: &mut Vec<Action>) -> bool {
        match self.tilt_since {
            Some(since) if now - since > self.timing.tilt_period => {
                self.tilt_since = None;
                out.push(Action::Event {
                    name: "-tilt",
                    detail: "#tilt mode exited".into(),
                    master: None,
                });
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    /// The periodic commands of an instance, in Redis's order: INFO when
    /// due, PING when due, a hello when due.
    fn send_periodic(&mut self, master: usize, target: Target, now: i64, out: &mut Vec<Action>) {
        let hello = self.hello_text(master);
        let timing = self.timing.clone();
        let m = &self.masters[master];
        let down_after = m.config.down_after_ms;
        let master_failing = m.odown || m.failover_in_progress;
        let Some(i) = self.instance_mut(master, target) else {
            return;
        };
        if !i.link.connected || i.link.pending_commands >= MAX_PENDING_COMMANDS {
            return;
        }
        // Faster INFO while a replica's master is failing or its link is down.
        let link_down = i.master_link_up == Some(false) && i.master_link_down_since_s.is_some();
        let info_period = match target {
            Target::Replica(_) if master_failing || link_down => 1000,
            _ => timing.info_period,
        };
        let ping_period = down_after.min(timing.ping_period);
        // INFO, PING and the hello are each sent when due, independently
        // (an INFO that keeps failing, as under -BUSY, must not hold the
        // PINGs back).
        let mut commands: Vec<Vec<String>> = Vec::new();
        if i.info_refresh == 0 || now - i.info_refresh > info_period {
            commands.push(vec!["INFO".into()]);
        }
        if i.link.ping_due(now, ping_period) {
            i.link.ping_sent(now);
            commands.push(vec!["PING".into()]);
        }
        if now - i.last_pub_time > timing.publish_period {
            if let Some(hello) = hello {
                i.last_pub_time = now;
                commands.push(vec!["PUBLISH".into(), crate::hello::CHANNEL.into(), hello]);
            }
        }
        for command in commands {
            i.link.pending_commands += 1;
            out.push(Action::Send {
                master,
                target,
                command,
            });
        }
    }

    /// The other Sentinels get PINGs and, every `HELLO_PERIOD`, our hello
    /// directly (as a PUBLISH they handle themselves): a Sentinel that knows
    /// no live instance still learns a new configuration. Each when due,
    /// as for instances.
    fn peer_periodic(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let hello = self.hello_text(master);
        let ping_period = self.masters[master]
            .config
            .down_after_ms
            .min(self.timing.ping_period);
        let publish_period = self.timing.publish_period;
        for (i, p) in self.masters[master].sentinels.iter_mut().enumerate() {
            if !p.link.connected || p.link.pending_commands >= MAX_PENDING_COMMANDS {
                continue;
            }
            let mut commands: Vec<Vec<String>> = Vec::new();
            if p.link.ping_due(now, ping_period) {
                p.link.ping_sent(now);
                commands.push(vec!["PING".into()]);
            }
            if now - p.last_pub_time > publish_period {
                if let Some(hello) = hello.clone() {
                    p.last_pub_time = now;
                    commands.push(vec!["PUBLISH".into(), crate::hello::CHANNEL.into(), hello]);
                }
            }
            for command in commands {
                p.link.pending_commands += 1;
                out.push(Action::Send {
                    master,
                    target: Target::Sentinel(i),
                    command,
                });
            }
        }
    }

    /// Subjective down for the other Sentinels (they count for CKQUORUM).
    fn peer_sdown(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let down_after = self.masters[master].config.down_after_ms;
        for i in 0..self.masters[master].sentinels.len() {
            let p = &self.masters[master].sentinels[i];
            let down = p.link.unanswered_for(now) > down_after;
            if down != p.sdown {
                let detail = self.describe(master, Target::Sentinel(i));
                let p = &mut self.masters[master].sentinels[i];
                p.sdown = down;
                if down {
                    p.s_down_since = now;
                }
                out.push(Action::Event {
                    name: if down { "+sdown" } else { "-sdown" },
                    detail,
                    master: Some(master),
                });
            }
        }
    }

    /// Makes the hellos through every instance of `master` due now (after
    /// a promotion, so the others learn the new configuration at once).
    pub fn force_hello(&mut self, master: usize) {
        let m = &mut self.masters[master];
        m.master.last_pub_time = 0;
        for r in &mut m.replicas {
            r.last_pub_time = 0;
        }
        for p in &mut m.sentinels {
            p.last_pub_time = 0;
        }
    }

    /// Our hello for `master` (none until our address is known).
    fn hello_text(&self, master: usize) -> Option<String> {
        let (ip, port) = self.announce.clone()?;
        let m = &self.masters[master];
        // The current address: the promoted replica's once it is promoted.
        let (master_ip, master_port) = self.master_addr(&m.config.name)?;
        Some(
            crate::hello::Hello {
                ip,
                port,
                runid: self.myid.clone(),
                current_epoch: self.current_epoch,
                master_name: m.config.name.clone(),
                master_ip,
                master_port,
                master_config_epoch: m.config.config_epoch,
            }
            .encode(),
        )
    }

    /// A hello arrived on some instance's `__sentinel__:hello` channel:
    /// other Sentinels are learned (`+sentinel`, `+sentinel-address-switch`,
    /// `+sentinel-invalid-addr`), a greater epoch adopted (`+new-epoch`),
    /// and a newer configuration of the master followed
    /// (`+config-update-from`, `+switch-master`).
    pub fn on_hello(&mut self, message: &[u8], now: i64) -> Vec<Action> {
        let mut out = Vec::new();
        // Our own hellos come back too.
        if !self.myid.is_empty() && memmem(message, self.myid.as_bytes()) {
            return out;
        }
        let Some(h) = crate::hello::Hello::decode(message) else {
            return out;
        };
        let Some(master) = self
            .masters
            .iter()
            .position(|m| m.config.name == h.master_name)
        else {
            return out;
        };
        let master_text = self.describe(master, Target::Master);
        let m = &mut self.masters[master];
        let known = m
            .sentinels
            .iter()
            .position(|p| p.ip == h.ip && p.port == h.port && p.runid == h.runid);
        let peer = match known {
            Some(i) => i,
            None => {
                let before = m.sentinels.len();
                m.sentinels.retain(|p| p.runid != h.runid);
                let removed = m.sentinels.len() != before;
                if removed {
                    out.push(Action::Event {
                        name: "+sentinel-address-switch",
                        detail: format!(
                            "{master_text} ip {} port {} for {}",
                            h.ip, h.port, h.runid
                        ),
                        master: Some(master),
                    });
                } else if let Some(other) = m
                    .sentinels
                    .iter_mut()
                    .find(|p| p.ip == h.ip && p.port == h.port)
                {
                    out.push(Action::Event {
                        name: "+sentinel-invalid-addr",
                        detail: format!(
                            "sentinel {} {} {} @ {}",
                            other.runid,
                            other.ip,
                            other.port,
                            &master_text["master ".len()..]
                        ),
                        master: Some(master),
                    });
                    other.port = 0;
                }
                m.sentinels.push(Peer::new(&h.runid, &h.ip, h.port, now));
                if !removed {
                    out.push(Action::Event {
                        name: "+sentinel",
                        detail: format!(
                            "sentinel {} {} {} @ {}",
                            h.runid,
                            h.ip,
                            h.port,
                            &master_text["master ".len()..]
                        ),
                        master: Some(master),
                    });
                }
                m.sentinels.len() - 1
            }
        };
        if h.current_epoch > self.current_epoch {
            self.current_epoch = h.current_epoch;
            out.push(Action::Event {
                name: "+new-epoch",
                detail: h.current_epoch.to_string(),
                master: Some(master),
            });
        }
        let m = &mut self.masters[master];
        if m.config.config_epoch < h.master_config_epoch {
            m.config.config_epoch = h.master_config_epoch;
            let same_host = h.master_ip == m.master.ip || h.master_ip == m.master.host;
            if h.master_port != m.master.port || !same_host {
                let p = &m.sentinels[peer];
                out.push(Action::Event {
                    name: "+config-update-from",
                    detail: format!(
                        "sentinel {} {} {} @ {}",
                        p.runid,
                        p.ip,
                        p.port,
                        &master_text["master ".len()..]
                    ),
                    master: Some(master),
                });
                let old_host = if self.announce_hostnames {
                    &m.master.host
                } else {
                    &m.master.ip
                };
                out.push(Action::Event {
                    name: "+switch-master",
                    detail: format!(
                        "{} {} {} {} {}",
                        m.config.name, old_host, m.master.port, h.master_ip, h.master_port
                    ),
                    master: Some(master),
                });
                let from = (old_host.clone(), m.master.port);
                out.extend(self.switch_master(master, &h.master_ip, h.master_port, now));
                // After the switch's `+slave` events, as Redis schedules it.
                out.push(Action::ClientReconfig {
                    master,
                    role: ReconfigRole::Observer,
                    from,
                    to: (h.master_ip.clone(), h.master_port),
                });
            }
        }
        self.masters[master].sentinels[peer].last_hello_time = now;
        out
    }

    /// Follows a master that moved: the new address is the master, the
    /// old one and the other replicas become its replicas, announced with
    /// `+slave` (Redis's sentinelResetMasterAndChangeAddress). A new
    /// failover may start at once.
    pub fn switch_master(&mut self, master: usize, host: &str, port: u16, now: i64) -> Vec<Action> {
        let ip = self.resolve_host(host).unwrap_or_else(|| host.to_string());
        let ip = ip.as_str();
        let m = &mut self.masters[master];
        // The new master keeps the name it was known by, if it was a replica.
        let host = m
            .replicas
            .iter()
            .find(|r| r.ip == ip && r.port == port)
            .map_or(host.to_string(), |r| r.host.clone());
        let mut replicas: Vec<(String, String, u16)> = m
            .replicas
            .iter()
            .filter(|r| !(r.ip == ip && r.port == port))
            .map(|r| (r.host.clone(), r.ip.clone(), r.port))
            .collect();
        if !(m.master.ip == ip && m.master.port == port) {
            replicas.push((m.master.host.clone(), m.master.ip.clone(), m.master.port));
        }
        m.master = Instance::named(&host, ip, port, now);
        m.master.role_reported = Some(Role::Master);
        m.replicas = replicas
            .into_iter()
            .map(|(host, ip, port)| Instance::named(&host, &ip, port, now))
            .collect();
        m.odown = false;
        m.failover_in_progress = false;
        m.failover = Default::default();
        m.leader = None;
        m.promoted = None;
        m.force_failover = false;
        std::iter::once(Action::ResetLinks { master })
            .chain(
                (0..self.masters[master].replicas.len()).map(|i| Action::Event {
                    name: "+slave",
                    detail: self.describe(master, Target::Replica(i)),
                    master: Some(master),
                }),
            )
            .collect()
    }

    fn check_sdown(&mut self, master: usize, target: Target, now: i64, out: &mut Vec<Action>) {
        let config = &self.masters[master].config;
        let (down_after, reboot_period) =
            (config.down_after_ms, config.master_reboot_down_after_ms);
        let info_period = self.timing.info_period;
        let Some(i) = self.instance_mut(master, target) else {
            return;
        };
        let elapsed = i.link.unanswered_for(now);
        let reports_replica = target == Target::Master
            && i.role_reported == Some(Role::Replica)
            && now - i.role_reported_time > down_after + info_period * 2;
        let rebooting = reboot_period > 0
            && i.reboot_since
                .is_some_and(|since| now - since < reboot_period);
        let down = elapsed > down_after || reports_replica || rebooting;
        if down && !i.sdown {
            i.sdown = true;
            i.s_down_since = now;
            out.push(Action::Event {
                name: "+sdown",
                detail: self.describe(master, target),
                master: Some(master),
            });
        } else if !down && i.sdown {
            i.sdown = false;
            i.script_kill_sent = false;
            out.push(Action::Event {
                name: "-sdown",
                detail: self.describe(master, target),
                master: Some(master),
            });
        }
    }
}

/// Whether `needle` occurs in `hay` (Redis skips hellos that mention our id).
fn memmem(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{self, sends};

    fn monitor(extra: &str) -> Monitor {
        testkit::monitor(&format!("monitor mymaster 127.0.0.1 6379 2\n{extra}"), 0)
    }

    fn events(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event { name, detail, .. } => Some(format!("{name} {detail}")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn pings_every_second_info_every_ten() {
        let mut m = monitor("sentinel down-after-milliseconds mymaster 5000");
        assert_eq!(sends(&m.tick(100)), ["INFO"]);
        m.on_info(0, Target::Master, "role:master\r\n", 110);
        assert_eq!(sends(&m.tick(1001)), ["PING"]);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 1002);
        assert!(sends(&m.tick(1500)).is_empty());
        assert_eq!(sends(&m.tick(2100)), ["PING"]);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 2101);
        // Each when due, in one tick: INFO, then the PING.
        assert_eq!(sends(&m.tick(10_200)), ["INFO", "PING"]);
        m.on_info(0, Target::Master, "role:master\r\n", 10_201);
        assert!(sends(&m.tick(10_300)).is_empty());
    }

    #[test]
    fn an_info_that_keeps_failing_does_not_hold_pings_back() {
        // A master stuck in a script answers -BUSY to INFO: PINGs go on, so
        // the -BUSY to a PING of a down master brings SCRIPT KILL.
        let mut m = monitor("sentinel down-after-milliseconds mymaster 1000");
        m.on_link(0, Target::Master, true, 0);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 10);
        let mut t = 100;
        let mut killed = false;
        while t < 5000 && !killed {
            let sent = sends(&m.tick(t));
            for s in &sent {
                match s.as_str() {
                    "INFO" => m.on_reply(0, Target::Master),
                    "PING" => {
                        let actions = m.on_ping_reply(0, Target::Master, PingReply::Busy, t + 1);
                        killed |= sends(&actions) == ["SCRIPT KILL"];
                    }
                    _ => {}
                }
            }
            t += 100;
        }
        assert!(killed, "SCRIPT KILL once the master is down");
    }

    #[test]
    fn reconnects_that_never_answer_do_not_hide_a_dead_master() {
        // Something at the master's address accepts and closes connections
        // (a proxy in front of a dead master): the PING sent at the first
        // connect stays unanswered, whatever the reconnects.
        let mut m = monitor("sentinel down-after-milliseconds mymaster 2000");
        m.on_link(0, Target::Master, true, 0);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 10);
        let mut down_at = None;
        for t in (100..6000).step_by(100) {
            if t % 500 == 0 {
                m.on_link(0, Target::Master, false, t);
                m.on_link(0, Target::Master, true, t + 1);
            }
            if events(&m.tick(t))
                .iter()
                .any(|e| e.starts_with("+sdown master"))
            {
                down_at = Some(t);
                break;
            }
        }
        let at = down_at.expect("SDOWN despite the reconnects");
        assert!((2000..=2700).contains(&at), "{at}");
    }

    #[test]
    fn no_valid_reply_within_down_after_is_sdown_and_a_reply_clears_it() {
        let mut m = monitor("sentinel down-after-milliseconds mymaster 3000");
        m.on_info(0, Target::Master, "role:master\r\n", 10);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 10);
        let mut seen = Vec::new();
        for t in (100..=5000).step_by(100) {
            seen.extend(events(&m.tick(t)));
        }
        // The first unanswered PING went out at 1100: down 3000 ms later.
        assert_eq!(seen, ["+sdown master mymaster 127.0.0.1 6379"]);
        assert!(m.masters[0].master.s_down_since > 4100);
        // -LOADING counts as alive.
        m.on_ping_reply(
            0,
            Target::Master,
            PingReply::of("-LOADING Redis is loading"),
            5050,
        );
        assert_eq!(
            events(&m.tick(5100)),
            ["-sdown master mymaster 127.0.0.1 6379"]
        );
    }

    #[test]
    fn a_busy_master_gets_script_kill_once_when_down() {
        let mut m = monitor("sentinel down-after-milliseconds mymaster 1000");
        m.masters[0].master.sdown = true;
        let first = m.on_ping_reply(0, Target::Master, PingReply::of("-BUSY Redis is busy"), 10);
        assert_eq!(sends(&first), ["SCRIPT KILL"]);
        assert!(m
            .on_ping_reply(0, Target::Master, PingReply::Busy, 20)
            .is_empty());
    }

    #[test]
    fn replicas_come_from_the_masters_info() {
        let mut m = monitor("");
        let info = "role:master\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=1,lag=0\r\n";
        let actions = m.on_info(0, Target::Master, info, 50);
        assert_eq!(
            events(&actions),
            ["+slave slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379"]
        );
        assert!(
            m.on_info(0, Target::Master, info, 60).is_empty(),
            "known already"
        );
        // Its link down, its INFO goes every second.
        m.on_link(0, Target::Replica(0), true, 60);
        m.on_info(
            0,
            Target::Replica(0),
            "role:slave\r\nmaster_link_status:down\r\nmaster_link_down_since_seconds:3\r\n",
            70,
        );
        assert_eq!(
            sends(&m.tick(1100)).iter().filter(|c| *c == "INFO").count(),
            1
        );
    }

    #[test]
    fn a_master_reporting_itself_a_replica_for_too_long_is_down() {
        let mut m = monitor("sentinel down-after-milliseconds mymaster 1000");
        m.on_info(0, Target::Master, "role:slave\r\n", 0);
        let mut t = 0;
        let mut seen = Vec::new();
        while t <= 22_000 {
            m.on_ping_reply(0, Target::Master, PingReply::Valid, t);
            seen.extend(events(&m.tick(t)));
            if t % 5000 == 0 {
                m.on_info(0, Target::Master, "role:slave\r\n", t);
            }
            t += 500;
        }
        assert_eq!(seen, ["+sdown master mymaster 127.0.0.1 6379"]);
        assert!(m.masters[0].master.s_down_since > 21_000);
    }
}

#[cfg(test)]
mod hello_tests {
    use super::*;
    use crate::hello::Hello;
    use crate::testkit::{self, names};

    fn monitor() -> Monitor {
        testkit::monitor("monitor mymaster 127.0.0.1 6379 2", 0)
    }

    fn hello(runid: char, port: u16, epoch: u64, master_port: u16, config_epoch: u64) -> Vec<u8> {
        Hello {
            ip: "127.0.0.1".into(),
            port,
            runid: runid.to_string().repeat(40),
            current_epoch: epoch,
            master_name: "mymaster".into(),
            master_ip: "127.0.0.1".into(),
            master_port,
            master_config_epoch: config_epoch,
        }
        .encode()
        .into_bytes()
    }

    #[test]
    fn hellos_go_out_every_two_seconds_once_the_address_is_known() {
        let mut m = monitor();
        m.on_info(0, Target::Master, "role:master\r\n", 1);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 1);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 2050);
        assert!(m.tick(2100).is_empty(), "no address yet");
        m.announce = Some(("127.0.0.1".into(), 26379));
        let sent = m.tick(2200);
        let Action::Send { command, .. } = &sent[0] else {
            panic!("{sent:?}");
        };
        assert_eq!(
            command[..2],
            ["PUBLISH".to_string(), "__sentinel__:hello".to_string()]
        );
        let h = Hello::decode(command[2].as_bytes()).unwrap();
        assert_eq!(
            (h.port, h.master_name.as_str(), h.master_port),
            (26379, "mymaster", 6379)
        );
        m.on_ping_reply(0, Target::Master, PingReply::Valid, 2300);
        assert!(m.tick(2400).is_empty());
    }

    #[test]
    fn sentinels_epochs_and_newer_configurations_come_from_hellos() {
        let mut m = monitor();
        assert_eq!(
            names(&m.on_hello(&hello('b', 26380, 0, 6379, 0), 10)),
            ["+sentinel"]
        );
        assert!(
            m.on_hello(&hello('b', 26380, 0, 6379, 0), 20).is_empty(),
            "known"
        );
        // Our own hello is ignored.
        assert!(m.on_hello(&hello('a', 26379, 9, 6390, 9), 30).is_empty());
        // Same runid, new address: an address switch, not a new Sentinel.
        assert_eq!(
            names(&m.on_hello(&hello('b', 26381, 0, 6379, 0), 40)),
            ["+sentinel-address-switch"]
        );
        assert_eq!(m.masters[0].sentinels.len(), 1);
        // A newer epoch and a master elsewhere: followed.
        let actions = m.on_hello(&hello('b', 26381, 5, 6380, 5), 50);
        assert_eq!(
            names(&actions),
            [
                "+new-epoch",
                "+config-update-from",
                "+switch-master",
                "+slave"
            ]
        );
        assert!(actions.contains(&Action::Event {
            name: "+switch-master",
            detail: "mymaster 127.0.0.1 6379 127.0.0.1 6380".into(),
            master: Some(0),
        }));
        // An observer's client reconfiguration comes last.
        assert_eq!(
            actions.last(),
            Some(&Action::ClientReconfig {
                master: 0,
                role: ReconfigRole::Observer,
                from: ("127.0.0.1".into(), 6379),
                to: ("127.0.0.1".into(), 6380),
            })
        );
        assert_eq!((m.current_epoch, m.masters[0].master.port), (5, 6380));
        assert_eq!(
            m.masters[0].replicas.len(),
            1,
            "the old master is a replica now"
        );
        assert_eq!(m.masters[0].replicas[0].port, 6379);
        assert!(m.on_hello(b"garbage", 60).is_empty());
    }
}

#[cfg(test)]
mod tilt_tests {
    use super::*;
    use crate::testkit::{self, names};

    #[test]
    fn a_clock_jump_tilts_and_nothing_acts_until_the_period_ends() {
        let mut m = testkit::monitor(
            "monitor mymaster 127.0.0.1 6379 1\ndown-after-milliseconds mymaster 1000",
            1_000_000,
        );
        m.on_info(0, Target::Master, "role:master\r\n", 1_000_000);
        assert!(names(&m.tick(1_000_100)).is_empty());
        // The process was stopped for 5 s: TILT, and the silent master is
        // not judged while it lasts.
        let out = m.tick(1_005_100);
        assert_eq!(names(&out), ["+tilt"]);
        assert!(out.contains(&Action::Event {
            name: "+tilt",
            detail: "#tilt mode entered".into(),
            master: None,
        }));
        let mut seen = Vec::new();
        let mut t = 1_005_100;
        while t < 1_040_000 {
            t += 100;
            seen.extend(names(&m.tick(t)));
        }
        assert_eq!(seen[0], "-tilt");
        assert!(
            seen.contains(&"+sdown"),
            "judged again after TILT: {seen:?}"
        );
        // Time going back tilts too.
        assert_eq!(names(&m.tick(t - 5000)), ["+tilt"]);
    }
}
