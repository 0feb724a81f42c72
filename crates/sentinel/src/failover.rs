//! The failover itself, the third part of Sentinel's state machine, once
//! this Sentinel leads (`election`): choose a replica (not down, recently
//! seen, priority not 0, fresh INFO, not disconnected from the master for
//! too long; then lowest priority, highest offset, smallest run id),
//! promote it with Redis's MULTI / SLAVEOF NO ONE / CONFIG REWRITE /
//! CLIENT KILL TYPE normal / CLIENT KILL TYPE pubsub / EXEC (commands
//! through `rename-command`), wait for its INFO to say master, point the
//! other replicas at it `parallel-syncs` at a time, end (`+failover-end`)
//! and switch the master's address (`+switch-master`). Every step before
//! the promotion is bounded by `failover-timeout`. A replica that reports
//! itself a master after a failover is converted back (`+convert-to-slave`).

use crate::election::FailoverState;
use crate::info::Role;
use crate::monitor::{Action, Monitor, ReconfigRole, Target};

/// How long a replica may stay in reconf-sent (ms).
pub const SLAVE_RECONF_TIMEOUT: i64 = 10_000;

/// A replica's part in a failover.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconf {
    pub promoted: bool,
    pub sent: bool,
    pub in_progress: bool,
    pub done: bool,
    pub sent_time: i64,
}

/// Whether a replica's `master_host` names this instance (by IP or by the
/// name it was given).
fn names(master_host: Option<&str>, i: &crate::monitor::Instance) -> bool {
    master_host.is_some_and(|h| h == i.ip || h == i.host)
}

impl Monitor {
    /// `name` as master `master`'s `rename-command` maps it.
    pub fn command_name(&self, master: usize, name: &str) -> String {
        self.masters[master]
            .config
            .renamed_commands
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(name))
            .map_or_else(|| name.to_string(), |(_, to)| to.clone())
    }

    /// The reconfiguration transaction: SLAVEOF NO ONE, or SLAVEOF `to`.
    pub fn reconfiguration(&self, master: usize, to: Option<(&str, u16)>) -> Vec<Vec<String>> {
        let name = |n: &str| self.command_name(master, n);
        let slaveof = match to {
            None => vec![name("SLAVEOF"), "NO".into(), "ONE".into()],
            Some((host, port)) => vec![name("SLAVEOF"), host.to_string(), port.to_string()],
        };
        vec![
            vec![name("MULTI")],
            slaveof,
            vec![name("CONFIG"), "REWRITE".into()],
            vec![
                name("CLIENT"),
                "KILL".into(),
                "TYPE".into(),
                "normal".into(),
            ],
            vec![
                name("CLIENT"),
                "KILL".into(),
                "TYPE".into(),
                "pubsub".into(),
            ],
            vec![name("EXEC")],
        ]
    }

    /// The replica to promote, if any qualifies.
    pub fn select_replica(&self, master: usize, now: i64) -> Option<usize> {
        let m = &self.masters[master];
        let mut max_master_down = m.config.down_after_ms * 10;
        if m.master.sdown {
            max_master_down += now - m.master.s_down_since;
        }
        let info_validity = if m.master.sdown {
            self.timing.ping_period * 5
        } else {
            self.timing.info_period * 3
        };
        let mut candidates: Vec<usize> = (0..m.replicas.len())
            .filter(|&i| {
                let r = &m.replicas[i];
                !r.sdown
                    && r.link.connected
                    && now - r.link.last_avail_time <= self.timing.ping_period * 5
                    && r.replica_priority != 0
                    && now - r.info_refresh <= info_validity
                    && r.master_link_down_since_s.unwrap_or(0) * 1000 <= max_master_down
            })
            .collect();
        candidates.sort_by(|&a, &b| {
            let (a, b) = (&m.replicas[a], &m.replicas[b]);
            a.replica_priority
                .cmp(&b.replica_priority)
                .then(b.replica_repl_offset.cmp(&a.replica_repl_offset))
                .then_with(|| match (&a.run_id, &b.run_id) {
                    (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
        });
        candidates.first().copied()
    }

    /// Replica selection as the master's mode wants it: Redis's rules, or
    /// in safe mode (docs/design/safe-mode.md) after every lease the old
    /// master could hold has ended, among fresh INFO replies of at least
    /// `R - N + 1` of the `R` known replicas (`N` acknowledge each write),
    /// the greatest offset.
    fn selection(&self, master: usize, now: i64) -> Selection {
        let m = &self.masters[master];
        let Some(acks) = m.master.safe_writes_acks else {
            return Selection::Replica(self.select_replica(master, now));
        };
        // Leases are measured on the master's clock: 10 % for clock rates.
        let wait = self.lease_ms(master) * 11 / 10;
        let since = now - m.failover.state_change_time;
        if since < wait {
            return Selection::Wait;
        }
        let fresh_after = m.failover.state_change_time + wait;
        let reachable: Vec<usize> = (0..m.replicas.len())
            .filter(|&i| {
                let r = &m.replicas[i];
                r.link.connected && !r.sdown && r.info_refresh > fresh_after
            })
            .collect();
        let needed = m.replicas.len().saturating_sub(acks) + 1;
        if reachable.len() < needed {
            // Replicas answer INFO every second during a failover.
            return if since < wait + 3 * 1000 {
                Selection::Wait
            } else {
                Selection::Replica(None)
            };
        }
        let best = reachable
            .into_iter()
            .filter(|&i| m.replicas[i].replica_priority != 0)
            .max_by(|&a, &b| {
                let (a, b) = (&m.replicas[a], &m.replicas[b]);
                a.replica_repl_offset
                    .cmp(&b.replica_repl_offset)
                    .then(b.replica_priority.cmp(&a.replica_priority))
            });
        Selection::Replica(best)
    }

    fn set_state(&mut self, master: usize, state: FailoverState, now: i64) {
        let f = &mut self.masters[master].failover;
        f.state = state;
        f.state_change_time = now;
    }

    /// Gives up a failover that has not promoted anyone yet.
    fn abort_failover(&mut self, master: usize, now: i64) {
        let m = &mut self.masters[master];
        m.failover_in_progress = false;
        m.force_failover = false;
        if let Some(p) = m.promoted.take() {
            if let Some(r) = m.replicas.get_mut(p) {
                r.reconf.promoted = false;
            }
        }
        self.set_state(master, FailoverState::None, now);
    }

    /// One step of the failover of `master`, as its state says.
    pub(crate) fn failover_step(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        if self.superseded(master) {
            return;
        }
        let timeout = self.masters[master].config.failover_timeout_ms;
        let since = now - self.masters[master].failover.state_change_time;
        let master_text = self.describe(master, Target::Master);
        match self.masters[master].failover.state {
            FailoverState::SelectSlave => match self.selection(master, now) {
                Selection::Wait => {}
                Selection::Replica(None) => {
                    out.push(Action::Event {
                        name: "-failover-abort-no-good-slave",
                        detail: master_text,
                        master: Some(master),
                    });
                    self.abort_failover(master, now);
                }
                Selection::Replica(Some(r)) => {
                    let text = self.describe(master, Target::Replica(r));
                    out.push(Action::Event {
                        name: "+selected-slave",
                        detail: text.clone(),
                        master: Some(master),
                    });
                    let m = &mut self.masters[master];
                    m.replicas[r].reconf.promoted = true;
                    m.promoted = Some(r);
                    self.set_state(master, FailoverState::SendSlaveofNoone, now);
                    out.push(Action::Event {
                        name: "+failover-state-send-slaveof-noone",
                        detail: text,
                        master: Some(master),
                    });
                }
            },
            FailoverState::SendSlaveofNoone => {
                let Some(r) = self.masters[master].promoted else {
                    return;
                };
                if !self.masters[master].replicas[r].link.connected {
                    if since > timeout {
                        out.push(Action::Event {
                            name: "-failover-abort-slave-timeout",
                            detail: master_text,
                            master: Some(master),
                        });
                        self.abort_failover(master, now);
                    }
                    return;
                }
                out.push(Action::SendAll {
                    master,
                    target: Target::Replica(r),
                    commands: self.reconfiguration(master, None),
                });
                out.push(Action::Event {
                    name: "+failover-state-wait-promotion",
                    detail: self.describe(master, Target::Replica(r)),
                    master: Some(master),
                });
                self.set_state(master, FailoverState::WaitPromotion, now);
            }
            FailoverState::WaitPromotion if since > timeout => {
                out.push(Action::Event {
                    name: "-failover-abort-slave-timeout",
                    detail: master_text,
                    master: Some(master),
                });
                self.abort_failover(master, now);
            }
            FailoverState::ReconfSlaves => {
                self.reconfigure_next(master, now, out);
                self.detect_end(master, now, out);
            }
            _ => {}
        }
    }

    /// Points the next replicas at the promoted one, `parallel-syncs` at a time.
    fn reconfigure_next(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let Some(p) = self.masters[master].promoted else {
            return;
        };
        let (ip, port) = {
            let r = &self.masters[master].replicas[p];
            (self.shown(r).to_string(), r.port)
        };
        let parallel = self.masters[master].config.parallel_syncs;
        let mut in_progress = self.masters[master]
            .replicas
            .iter()
            .filter(|r| r.reconf.sent || r.reconf.in_progress)
            .count() as i64;
        let reconf_timeout = self.timing.slave_reconf_timeout;
        for i in 0..self.masters[master].replicas.len() {
            if in_progress >= parallel {
                break;
            }
            let r = &self.masters[master].replicas[i];
            if r.reconf.promoted || r.reconf.done {
                continue;
            }
            if r.reconf.sent && now - r.reconf.sent_time > reconf_timeout {
                out.push(Action::Event {
                    name: "-slave-reconf-sent-timeout",
                    detail: self.describe(master, Target::Replica(i)),
                    master: Some(master),
                });
                let r = &mut self.masters[master].replicas[i];
                r.reconf.sent = false;
                r.reconf.done = true;
                continue;
            }
            if r.reconf.sent || r.reconf.in_progress || !r.link.connected {
                continue;
            }
            out.push(Action::SendAll {
                master,
                target: Target::Replica(i),
                commands: self.reconfiguration(master, Some((&ip, port))),
            });
            let r = &mut self.masters[master].replicas[i];
            r.reconf.sent = true;
            r.reconf.sent_time = now;
            out.push(Action::Event {
                name: "+slave-reconf-sent",
                detail: self.describe(master, Target::Replica(i)),
                master: Some(master),
            });
            in_progress += 1;
        }
    }

    /// Ends the failover once every other replica is done (or down), or
    /// when failover-timeout has passed (then a best-effort SLAVEOF goes to
    /// the rest).
    fn detect_end(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let m = &self.masters[master];
        let Some(p) = m.promoted else {
            return;
        };
        if m.replicas[p].sdown {
            return;
        }
        let mut not_done = m
            .replicas
            .iter()
            .filter(|r| !(r.reconf.promoted || r.reconf.done || r.sdown))
            .count();
        let timed_out = now - m.failover.state_change_time > m.config.failover_timeout_ms;
        let master_text = self.describe(master, Target::Master);
        if timed_out {
            not_done = 0;
            out.push(Action::Event {
                name: "+failover-end-for-timeout",
                detail: master_text.clone(),
                master: Some(master),
            });
        }
        if not_done == 0 {
            out.push(Action::Event {
                name: "+failover-end",
                detail: master_text,
                master: Some(master),
            });
            self.set_state(master, FailoverState::UpdateConfig, now);
        }
        if timed_out {
            let (ip, port) = {
                let r = &self.masters[master].replicas[p];
                (self.shown(r).to_string(), r.port)
            };
            for i in 0..self.masters[master].replicas.len() {
                let r = &self.masters[master].replicas[i];
                if r.reconf.promoted || r.reconf.done || r.reconf.sent || !r.link.connected {
                    continue;
                }
                out.push(Action::SendAll {
                    master,
                    target: Target::Replica(i),
                    commands: self.reconfiguration(master, Some((&ip, port))),
                });
                self.masters[master].replicas[i].reconf.sent = true;
                out.push(Action::Event {
                    name: "+slave-reconf-sent-be",
                    detail: self.describe(master, Target::Replica(i)),
                    master: Some(master),
                });
            }
        }
    }

    /// update-config: the master becomes the promoted replica.
    pub(crate) fn finish_failover(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        if self.masters[master].failover.state != FailoverState::UpdateConfig
            || self.superseded(master)
        {
            return;
        }
        let m = &self.masters[master];
        let Some(p) = m.promoted else {
            return;
        };
        let (ip, port) = (self.shown(&m.replicas[p]).to_string(), m.replicas[p].port);
        out.push(Action::Event {
            name: "+switch-master",
            detail: format!(
                "{} {} {} {} {}",
                m.config.name,
                self.shown(&m.master),
                m.master.port,
                ip,
                port
            ),
            master: Some(master),
        });
        out.extend(self.switch_master(master, &ip, port, now));
    }

    /// Our failover lost to a newer configuration (a hello brought a
    /// greater config epoch than the one we are failing over in): it is
    /// dropped without switching, so two configurations never share an
    /// epoch. Redis 7.0 finishes such a stale failover and switches under
    /// the newer epoch (found by the simulation, seeds 383 and 1535 of the
    /// random mix); a promoted replica left over is converted back like any
    /// replica that says master.
    fn superseded(&mut self, master: usize) -> bool {
        let m = &mut self.masters[master];
        if !m.failover_in_progress || m.config.config_epoch <= m.failover.epoch {
            return false;
        }
        m.failover_in_progress = false;
        m.force_failover = false;
        if let Some(p) = m.promoted.take() {
            if let Some(r) = m.replicas.get_mut(p) {
                r.reconf = Default::default();
            }
        }
        for r in &mut m.replicas {
            r.reconf = Default::default();
        }
        m.failover.state = FailoverState::None;
        true
    }

    /// Sends replica `idx` the reconfiguration to follow the master, and
    /// says why (`+convert-to-slave`, `+fix-slave-config`).
    fn point_at_master(
        &self,
        master: usize,
        idx: usize,
        event: &'static str,
        out: &mut Vec<Action>,
    ) {
        let m = &self.masters[master];
        let (ip, port) = (self.shown(&m.master).to_string(), m.master.port);
        out.push(Action::SendAll {
            master,
            target: Target::Replica(idx),
            commands: self.reconfiguration(master, Some((&ip, port))),
        });
        out.push(Action::Event {
            name: event,
            detail: self.describe(master, Target::Replica(idx)),
            master: Some(master),
        });
    }

    /// Redis's "master looks sane": a master that says so, not down, with
    /// a fresh INFO.
    fn master_looks_sane(&self, master: usize, now: i64) -> bool {
        let m = &self.masters[master];
        !m.master.sdown
            && !m.odown
            && m.master.role_reported == Some(Role::Master)
            && m.master.info_refresh != 0
            && now - m.master.info_refresh < 2 * self.timing.info_period
    }

    /// What a replica's INFO means for a failover: the promoted replica
    /// became master, a reconfigured replica follows the new master, or a
    /// replica that calls itself a master is converted back.
    pub(crate) fn replica_info(
        &mut self,
        master: usize,
        idx: usize,
        master_host: Option<String>,
        master_port: Option<u16>,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        let m = &self.masters[master];
        let r = &m.replicas[idx];
        let role = r.role_reported;
        if role == Some(Role::Master) {
            if r.reconf.promoted && m.failover.state == FailoverState::WaitPromotion {
                let epoch = m.failover.epoch;
                let text = self.describe(master, Target::Replica(idx));
                let master_text = self.describe(master, Target::Master);
                self.masters[master].config.config_epoch = epoch;
                self.set_state(master, FailoverState::ReconfSlaves, now);
                self.force_hello(master);
                out.push(Action::Event {
                    name: "+promoted-slave",
                    detail: text,
                    master: Some(master),
                });
                out.push(Action::Event {
                    name: "+failover-state-reconf-slaves",
                    detail: master_text,
                    master: Some(master),
                });
                let m = &self.masters[master];
                let r = &m.replicas[idx];
                out.push(Action::ClientReconfig {
                    master,
                    role: ReconfigRole::Leader,
                    from: (self.shown(&m.master).to_string(), m.master.port),
                    to: (self.shown(r).to_string(), r.port),
                });
                return;
            }
            // Converted back once the master looks sane and the replica has
            // not been down, and has said master, for 4 hello periods.
            let wait = 4 * self.timing.publish_period;
            if !r.reconf.promoted
                && self.master_looks_sane(master, now)
                && no_down_for(r, wait, now)
                && now - r.role_reported_time > wait
            {
                self.point_at_master(master, idx, "+convert-to-slave", out);
            }
            return;
        }
        // A replica of another address is pointed back at the master once
        // it has kept that address for a failover-timeout.
        if role == Some(Role::Replica)
            && (!names(master_host.as_deref(), &m.master) || master_port != Some(m.master.port))
        {
            let wait = m.config.failover_timeout_ms;
            if self.master_looks_sane(master, now)
                && no_down_for(r, wait, now)
                && now - r.replica_master_since > wait
            {
                self.point_at_master(master, idx, "+fix-slave-config", out);
                // Not again until it reports an address anew.
                self.masters[master].replicas[idx].replica_master_since = now;
                return;
            }
        }
        let m = &self.masters[master];
        let r = &m.replicas[idx];
        if role != Some(Role::Replica) || !(r.reconf.sent || r.reconf.in_progress) {
            return;
        }
        let Some(p) = m.promoted else {
            return;
        };
        let follows = names(master_host.as_deref(), &m.replicas[p])
            && master_port == Some(m.replicas[p].port);
        let link_up = r.master_link_up == Some(true);
        let text = self.describe(master, Target::Replica(idx));
        let r = &mut self.masters[master].replicas[idx];
        if r.reconf.sent && follows {
            r.reconf.sent = false;
            r.reconf.in_progress = true;
            out.push(Action::Event {
                name: "+slave-reconf-inprog",
                detail: text.clone(),
                master: Some(master),
            });
        }
        if r.reconf.in_progress && link_up {
            r.reconf.in_progress = false;
            r.reconf.done = true;
            out.push(Action::Event {
                name: "+slave-reconf-done",
                detail: text,
                master: Some(master),
            });
        }
    }
}

/// What replica selection decided this tick.
enum Selection {
    /// Not yet (safe mode waits for leases to end and fresh INFO).
    Wait,
    /// This replica, or none fits.
    Replica(Option<usize>),
}

/// Whether the instance has not gone down for `wait` (Redis counts from
/// the start of its last SDOWN).
fn no_down_for(i: &crate::monitor::Instance, wait: i64, now: i64) -> bool {
    !i.sdown && (i.s_down_since == 0 || now - i.s_down_since > wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::PingReply;
    use crate::testkit::{self, names};

    /// A lone Sentinel (quorum 1) whose master 6379 has replicas 6380
    /// (priority 100, offset 10) and 6381 (priority 100, offset 20).
    fn setup() -> Monitor {
        let mut m = testkit::monitor(
            "monitor mymaster 127.0.0.1 6379 1\nrename-command mymaster CONFIG guarded-config",
            T0,
        );
        m.on_info(
            0,
            Target::Master,
            "role:master\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=10,lag=0\r\n\
             slave1:ip=127.0.0.1,port=6381,state=online,offset=20,lag=0\r\n",
            T0,
        );
        for (i, offset) in [(0, 10), (1, 20)] {
            m.on_link(0, Target::Replica(i), true, T0);
            replica_info(&mut m, i, "127.0.0.1", 6379, true, offset, T0);
        }
        m
    }

    /// Times are milliseconds since an epoch long past.
    const T0: i64 = 1_000_000;

    fn replica_info(
        m: &mut Monitor,
        i: usize,
        host: &str,
        port: u16,
        up: bool,
        offset: u64,
        now: i64,
    ) -> Vec<Action> {
        let info = format!(
            "role:slave\r\nmaster_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\n\
             slave_repl_offset:{offset}\r\nslave_priority:100\r\n",
            if up { "up" } else { "down" }
        );
        m.on_ping_reply(0, Target::Replica(i), PingReply::Valid, now);
        m.on_info(0, Target::Replica(i), &info, now)
    }

    #[test]
    fn a_failover_from_election_to_switch_master() {
        let mut m = setup();
        // The master stops answering: SDOWN, ODOWN (quorum 1), elected alone.
        let mut seen = Vec::new();
        let mut transactions = Vec::new();
        let mut t = T0;
        while t < T0 + 40_000 && !seen.contains(&"+failover-state-wait-promotion") {
            t += 100;
            for i in 0..2 {
                m.on_ping_reply(0, Target::Replica(i), PingReply::Valid, t);
                if t % 1000 == 0 {
                    replica_info(&mut m, i, "127.0.0.1", 6379, false, [10, 20][i], t);
                }
            }
            for a in m.tick(t) {
                if let Action::SendAll {
                    target, commands, ..
                } = &a
                {
                    transactions.push((*target, commands.clone()));
                }
                seen.extend(names(&[a]));
            }
        }
        assert_eq!(
            seen,
            [
                "+sdown",
                "+odown",
                "+new-epoch",
                "+try-failover",
                "+vote-for-leader",
                "+elected-leader",
                "+failover-state-select-slave",
                "+selected-slave",
                "+failover-state-send-slaveof-noone",
                "+failover-state-wait-promotion"
            ]
        );
        // The higher offset wins; the transaction is Redis's, renamed.
        let (target, commands) = &transactions[0];
        assert_eq!(*target, Target::Replica(1));
        let joined: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
        assert_eq!(
            joined,
            [
                "MULTI",
                "SLAVEOF NO ONE",
                "guarded-config REWRITE",
                "CLIENT KILL TYPE normal",
                "CLIENT KILL TYPE pubsub",
                "EXEC"
            ]
        );
        // It reports master: promoted, and the other replica is pointed at it.
        t += 100;
        m.on_ping_reply(0, Target::Replica(1), PingReply::Valid, t);
        let promoted = m.on_info(0, Target::Replica(1), "role:master\r\n", t);
        assert_eq!(
            names(&promoted),
            ["+promoted-slave", "+failover-state-reconf-slaves"]
        );
        // Then the leader's client reconfiguration, old address to new.
        assert_eq!(
            promoted.last(),
            Some(&Action::ClientReconfig {
                master: 0,
                role: ReconfigRole::Leader,
                from: ("127.0.0.1".into(), 6379),
                to: ("127.0.0.1".into(), 6381),
            })
        );
        t += 100;
        let step = m.tick(t);
        assert!(names(&step).contains(&"+slave-reconf-sent"));
        assert!(step.iter().any(|a| matches!(a,
            Action::SendAll { target: Target::Replica(0), commands, .. } if commands[1] == ["SLAVEOF", "127.0.0.1", "6381"])));
        // It follows, then its link is up: done, the end, the switch.
        t += 100;
        let a = replica_info(&mut m, 0, "127.0.0.1", 6381, false, 10, t);
        assert_eq!(names(&a), ["+slave-reconf-inprog"]);
        let a = replica_info(&mut m, 0, "127.0.0.1", 6381, true, 10, t + 1);
        assert_eq!(names(&a), ["+slave-reconf-done"]);
        let end = m.tick(t + 100);
        let end_names = names(&end);
        assert!(
            end_names.ends_with(&["+failover-end", "+switch-master", "+slave", "+slave"]),
            "{end_names:?}"
        );
        assert!(end.contains(&Action::Event {
            name: "+switch-master",
            detail: "mymaster 127.0.0.1 6379 127.0.0.1 6381".into(),
            master: Some(0),
        }));
        let mm = &m.masters[0];
        assert_eq!((mm.master.port, mm.config.config_epoch), (6381, 1));
        let mut ports: Vec<u16> = mm.replicas.iter().map(|r| r.port).collect();
        ports.sort();
        assert_eq!(ports, [6379, 6380]);
        assert_eq!(mm.failover.state, FailoverState::None);
    }

    #[test]
    fn no_good_replica_aborts() {
        let mut m = setup();
        for r in &mut m.masters[0].replicas {
            r.replica_priority = 0;
        }
        m.masters[0].failover.state = FailoverState::SelectSlave;
        m.masters[0].failover_in_progress = true;
        let mut out = Vec::new();
        m.failover_step(0, T0 + 100, &mut out);
        assert_eq!(names(&out), ["-failover-abort-no-good-slave"]);
        assert!(!m.masters[0].failover_in_progress);
    }
}
