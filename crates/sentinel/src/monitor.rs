//! Monitoring, the first part of Sentinel's state machine: for every
//! master and its replicas, when to send PING and INFO (Redis 7.0's
//! periods), what their replies mean (a valid reply is PONG, -LOADING or
//! -MASTERDOWN; a master stuck in a script gets SCRIPT KILL once it is
//! down), subjective down (`+sdown`/`-sdown`: no valid reply within
//! `down-after-milliseconds`, a master that reports itself a replica for
//! too long, a rebooted master within `master-reboot-down-after-period`),
//! and the replicas found in a master's INFO (`+slave`).
//!
//! Sans I/O: `tick` and the `on_*` calls take the time; what to do comes
//! back as `Action`s for the shell (send a command on an instance's link,
//! report an event). Hellos, other Sentinels, ODOWN and failover build on it.

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
    /// An event (`+sdown`, `+slave`, ...) with its text after the name, as
    /// Sentinel logs it and publishes it on the channel of that name.
    Event { name: &'static str, detail: String },
}

/// The timers and state of one instance's command link.
#[derive(Clone, Debug, Default)]
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

/// One monitored instance (a master or a replica).
#[derive(Clone, Debug)]
pub struct Instance {
    pub ip: String,
    pub port: u16,
    pub link: LinkState,
    pub info_refresh: i64,
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
}

impl Instance {
    fn new(ip: &str, port: u16, now: i64) -> Instance {
        Instance {
            ip: ip.to_string(),
            port,
            link: LinkState {
                last_avail_time: now,
                last_pong_time: now,
                ..LinkState::default()
            },
            info_refresh: 0,
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
        }
    }
}

/// A monitored master, its options and its replicas.
#[derive(Clone, Debug)]
pub struct Monitored {
    pub config: MasterConfig,
    pub master: Instance,
    pub replicas: Vec<Instance>,
}

/// Every monitored master.
#[derive(Clone, Debug, Default)]
pub struct Monitor {
    pub masters: Vec<Monitored>,
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
    /// Starts monitoring the configured masters (and their known replicas).
    pub fn new(configs: &[MasterConfig], now: i64) -> Monitor {
        let masters = configs
            .iter()
            .map(|c| Monitored {
                config: c.clone(),
                master: Instance::new(&c.addr.ip, c.addr.port, now),
                replicas: c
                    .known_replicas
                    .iter()
                    .map(|r| Instance::new(&r.ip, r.port, now))
                    .collect(),
            })
            .collect();
        Monitor { masters }
    }

    fn instance_mut(&mut self, master: usize, target: Target) -> Option<&mut Instance> {
        let m = self.masters.get_mut(master)?;
        match target {
            Target::Master => Some(&mut m.master),
            Target::Replica(i) => m.replicas.get_mut(i),
        }
    }

    /// The event text of an instance: `master <name> <ip> <port>`, or
    /// `slave <ip>:<port> <ip> <port> @ <name> <master ip> <master port>`.
    pub fn describe(&self, master: usize, target: Target) -> String {
        let m = &self.masters[master];
        match target {
            Target::Master => format!("master {} {} {}", m.config.name, m.master.ip, m.master.port),
            Target::Replica(i) => {
                let r = &m.replicas[i];
                format!(
                    "slave {}:{} {} {} @ {} {} {}",
                    r.ip, r.port, r.ip, r.port, m.config.name, m.master.ip, m.master.port
                )
            }
        }
    }

    /// The shell's link to an instance connected (or was lost).
    pub fn on_link(&mut self, master: usize, target: Target, connected: bool, now: i64) {
        if let Some(i) = self.instance_mut(master, target) {
            i.link.connected = connected;
            i.link.pending_commands = 0;
            if connected {
                // A new link starts the clock for the first PING's answer.
                i.link.act_ping_time = now;
            }
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
        let Some(i) = self.instance_mut(master, target) else {
            return Vec::new();
        };
        i.link.pending_commands = i.link.pending_commands.saturating_sub(1);
        i.link.last_pong_time = now;
        match reply {
            PingReply::Valid => {
                i.link.last_avail_time = now;
                i.link.act_ping_time = 0;
                Vec::new()
            }
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
        if target == Target::Master && report.role == Some(Role::Master) {
            for listed in report.replicas {
                let m = &mut self.masters[master];
                let known = m
                    .replicas
                    .iter()
                    .any(|r| r.ip == listed.ip && r.port == listed.port);
                if !known {
                    m.replicas.push(Instance::new(&listed.ip, listed.port, now));
                    let idx = m.replicas.len() - 1;
                    actions.push(Action::Event {
                        name: "+slave",
                        detail: self.describe(master, Target::Replica(idx)),
                    });
                }
            }
        }
        actions
    }

    /// The periodic work: PING and INFO to send, and subjective-down checks.
    pub fn tick(&mut self, now: i64) -> Vec<Action> {
        let mut actions = Vec::new();
        for master in 0..self.masters.len() {
            let targets: Vec<Target> = std::iter::once(Target::Master)
                .chain((0..self.masters[master].replicas.len()).map(Target::Replica))
                .collect();
            for target in targets {
                self.send_periodic(master, target, now, &mut actions);
                self.check_sdown(master, target, now, &mut actions);
            }
        }
        actions
    }

    fn send_periodic(&mut self, master: usize, target: Target, now: i64, out: &mut Vec<Action>) {
        let m = &self.masters[master];
        let down_after = m.config.down_after_ms;
        let master_down = m.master.sdown;
        let Some(i) = self.instance_mut(master, target) else {
            return;
        };
        if !i.link.connected || i.link.pending_commands >= MAX_PENDING_COMMANDS {
            return;
        }
        // Faster INFO while a replica's master is down or its link is down.
        let info_period = match target {
            Target::Replica(_) if master_down || i.master_link_up == Some(false) => 1000,
            _ => INFO_PERIOD,
        };
        let ping_period = down_after.min(PING_PERIOD);
        if i.info_refresh == 0 || now - i.info_refresh > info_period {
            i.link.pending_commands += 1;
            out.push(Action::Send {
                master,
                target,
                command: vec!["INFO".into()],
            });
        }
        if now - i.link.last_pong_time > ping_period
            && now - i.link.last_ping_time > ping_period / 2
        {
            i.link.pending_commands += 1;
            i.link.last_ping_time = now;
            if i.link.act_ping_time == 0 {
                i.link.act_ping_time = now;
            }
            out.push(Action::Send {
                master,
                target,
                command: vec!["PING".into()],
            });
        }
    }

    fn check_sdown(&mut self, master: usize, target: Target, now: i64, out: &mut Vec<Action>) {
        let config = &self.masters[master].config;
        let (down_after, reboot_period) =
            (config.down_after_ms, config.master_reboot_down_after_ms);
        let Some(i) = self.instance_mut(master, target) else {
            return;
        };
        let elapsed = if i.link.act_ping_time != 0 {
            now - i.link.act_ping_time
        } else if !i.link.connected {
            now - i.link.last_avail_time
        } else {
            0
        };
        let reports_replica = target == Target::Master
            && i.role_reported == Some(Role::Replica)
            && now - i.role_reported_time > down_after + INFO_PERIOD * 2;
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
            });
        } else if !down && i.sdown {
            i.sdown = false;
            i.script_kill_sent = false;
            out.push(Action::Event {
                name: "-sdown",
                detail: self.describe(master, target),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, Environment, SentinelLine};

    struct Env;
    impl Environment for Env {
        fn executable(&self, _: &str) -> bool {
            true
        }
        fn resolve(&self, _: &str) -> Option<String> {
            None
        }
    }

    fn monitor(extra: &str) -> Monitor {
        let text = format!("sentinel monitor mymaster 127.0.0.1 6379 2\n{extra}");
        let lines: Vec<SentinelLine> = text
            .lines()
            .enumerate()
            .map(|(n, l)| SentinelLine {
                line_number: n + 1,
                text: l.into(),
                args: l.split_whitespace().skip(1).map(str::to_string).collect(),
            })
            .collect();
        let config = load(&lines, &Env).unwrap();
        let mut m = Monitor::new(&config.masters, 0);
        m.on_link(0, Target::Master, true, 0);
        m
    }

    fn sends(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { command, .. } => Some(command.join(" ")),
                _ => None,
            })
            .collect()
    }

    fn events(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Event { name, detail } => Some(format!("{name} {detail}")),
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
        assert_eq!(sends(&m.tick(10_200)), ["INFO", "PING"]);
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
            "role:slave\r\nmaster_link_status:down\r\n",
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
