//! Agreement, the second part of Sentinel's state machine: objective down
//! (our SDOWN plus the Sentinels whose `SENTINEL IS-MASTER-DOWN-BY-ADDR`
//! answer says down, against the quorum: `+odown`/`-odown`), asking the
//! others every second while the master is down (with our run id once we
//! try a failover, to ask for their vote), answering that question
//! ourselves, voting (one vote per epoch: `+vote-for-leader`), starting a
//! failover attempt (`+new-epoch`, `+try-failover`, at most one per
//! 2 x failover-timeout) and the election (the winner needs a majority of
//! the known Sentinels and the quorum: `+elected-leader`, else
//! `-failover-abort-not-elected` after the election timeout).
//!
//! Randomness (the start jitter) comes from the monitor's seeded generator.

use crate::monitor::{Action, Monitor, Target};

/// How often the others are asked about a down master (ms).
pub const ASK_PERIOD: i64 = 1000;
/// The random spread of failover start times (ms).
pub const MAX_DESYNC: i64 = 1000;
/// How long an election may take at most (ms).
pub const ELECTION_TIMEOUT: i64 = 10_000;

/// Where a failover is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailoverState {
    #[default]
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoone,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

impl FailoverState {
    /// The name SENTINEL MASTER shows.
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// A master's failover attempt.
#[derive(Clone, Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    pub epoch: u64,
    /// When the last attempt started (or, after we voted for another, the
    /// vote's time: both hold our next attempt off for 2 x failover-timeout);
    /// `None` before any.
    pub start_time: Option<i64>,
    pub state_change_time: i64,
    /// The `start_time` whose delay was last logged (once per start).
    pub delay_logged: Option<i64>,
}

/// Our answer to `SENTINEL IS-MASTER-DOWN-BY-ADDR`: down (0/1), the leader
/// we voted for (`*`: none), its epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownAnswer {
    pub down: i64,
    pub leader: String,
    pub leader_epoch: u64,
}

impl Monitor {
    /// A 64-bit random number from the monitor's seeded generator.
    pub fn random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn jitter(&mut self) -> i64 {
        (self.random() % MAX_DESYNC as u64) as i64
    }

    /// The agreement step of a master, after its instances' checks.
    pub(crate) fn election_step(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        self.check_odown(master, now, out);
        if self.start_failover_if_needed(master, now, out) {
            self.ask_others(master, now, true, out);
        }
        if self.masters[master].failover.state == FailoverState::WaitStart {
            self.wait_start(master, now, out);
        }
        self.ask_others(master, now, false, out);
    }

    fn check_odown(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let m = &self.masters[master];
        let mut votes = 0;
        let mut odown = false;
        if m.master.sdown {
            votes = 1 + m.sentinels.iter().filter(|p| p.master_down).count() as u32;
            odown = votes >= m.config.quorum;
        }
        let quorum = m.config.quorum;
        let text = self.describe(master, Target::Master);
        let m = &mut self.masters[master];
        if odown && !m.odown {
            m.odown = true;
            m.o_down_since = now;
            out.push(Action::Event {
                name: "+odown",
                detail: format!("{text} #quorum {votes}/{quorum}"),
                master: Some(master),
            });
        } else if !odown && m.odown {
            m.odown = false;
            out.push(Action::Event {
                name: "-odown",
                detail: text,
                master: Some(master),
            });
        }
    }

    /// Asks every connected Sentinel whether the master is down (every
    /// `ASK_PERIOD`, or now when `forced`), with our id once we are trying
    /// a failover; forgets answers older than 5 periods.
    fn ask_others(&mut self, master: usize, now: i64, forced: bool, out: &mut Vec<Action>) {
        let epoch = self.current_epoch;
        let myid = self.myid.clone();
        let ask_period = self.timing.ask_period;
        let m = &mut self.masters[master];
        let runid = if m.failover.state != FailoverState::None {
            myid
        } else {
            "*".to_string()
        };
        let (ip, port, sdown) = (m.master.ip.clone(), m.master.port, m.master.sdown);
        for (i, p) in m.sentinels.iter_mut().enumerate() {
            if now - p.last_master_down_reply_time > ask_period * 5 {
                p.master_down = false;
                p.leader = None;
            }
            if !sdown || !p.link.connected {
                continue;
            }
            if !forced && now - p.last_master_down_reply_time < ask_period {
                continue;
            }
            out.push(Action::Send {
                master,
                target: Target::Sentinel(i),
                command: vec![
                    "SENTINEL".into(),
                    "is-master-down-by-addr".into(),
                    ip.clone(),
                    port.to_string(),
                    epoch.to_string(),
                    runid.clone(),
                ],
            });
        }
    }

    /// A Sentinel answered our IS-MASTER-DOWN-BY-ADDR.
    pub fn on_master_down_reply(
        &mut self,
        master: usize,
        peer: usize,
        answer: &DownAnswer,
        now: i64,
    ) {
        let Some(p) = self
            .masters
            .get_mut(master)
            .and_then(|m| m.sentinels.get_mut(peer))
        else {
            return;
        };
        p.last_master_down_reply_time = now;
        p.master_down = answer.down == 1;
        if answer.leader != "*" {
            p.leader = Some(answer.leader.clone());
            p.leader_epoch = answer.leader_epoch;
        }
    }

    /// Answers `SENTINEL IS-MASTER-DOWN-BY-ADDR <ip> <port> <epoch> <runid>`:
    /// whether the master at that address is down for us, and (when the
    /// asker gives its run id) our vote for the epoch.
    pub fn is_master_down_by_addr(
        &mut self,
        ip: &str,
        port: u16,
        req_epoch: u64,
        runid: &str,
        now: i64,
    ) -> (DownAnswer, Vec<Action>) {
        // In TILT we say not down, but still vote.
        let tilt = self.tilt_since.is_some();
        let mut out = Vec::new();
        let master = self
            .masters
            .iter()
            .position(|m| m.master.ip == ip && m.master.port == port);
        let down = master.is_some_and(|m| !tilt && self.masters[m].master.sdown);
        let mut answer = DownAnswer {
            down: down as i64,
            leader: "*".into(),
            leader_epoch: 0,
        };
        if let Some(m) = master {
            if runid != "*" {
                let (leader, epoch) = self.vote_leader(m, req_epoch, runid, now, &mut out);
                answer.leader = leader.unwrap_or_else(|| "*".into());
                answer.leader_epoch = epoch;
            }
        }
        (answer, out)
    }

    /// One vote per epoch: for `runid` if we have not voted in `req_epoch`.
    fn vote_leader(
        &mut self,
        master: usize,
        req_epoch: u64,
        runid: &str,
        now: i64,
        out: &mut Vec<Action>,
    ) -> (Option<String>, u64) {
        if req_epoch > self.current_epoch {
            self.current_epoch = req_epoch;
            out.push(Action::Event {
                name: "+new-epoch",
                detail: req_epoch.to_string(),
                master: Some(master),
            });
        }
        let current = self.current_epoch;
        let jitter = self.jitter();
        let myid = self.myid.clone();
        let m = &mut self.masters[master];
        if m.config.leader_epoch < req_epoch && current <= req_epoch {
            m.leader = Some(runid.to_string());
            m.config.leader_epoch = current;
            out.push(Action::Event {
                name: "+vote-for-leader",
                detail: format!("{runid} {current}"),
                master: Some(master),
            });
            // Voting for another delays our own attempts.
            if !runid.eq_ignore_ascii_case(&myid) {
                m.failover.start_time = Some(now + jitter);
            }
        }
        (m.leader.clone(), m.config.leader_epoch)
    }

    /// The leader of `epoch`: the most voted Sentinel (our vote goes to it,
    /// or to us when nobody has votes), if it has a majority of the known
    /// Sentinels and at least the quorum.
    fn get_leader(
        &mut self,
        master: usize,
        epoch: u64,
        now: i64,
        out: &mut Vec<Action>,
    ) -> Option<String> {
        let m = &self.masters[master];
        let mut counts: Vec<(String, u32)> = Vec::new();
        for p in &m.sentinels {
            if let Some(leader) = &p.leader {
                if p.leader_epoch == self.current_epoch {
                    match counts.iter_mut().find(|(l, _)| l == leader) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((leader.clone(), 1)),
                    }
                }
            }
        }
        let voters = m.sentinels.len() as u32 + 1;
        let quorum = m.config.quorum;
        let mut winner: Option<(String, u32)> = None;
        for (leader, n) in counts.iter() {
            if winner.as_ref().is_none_or(|(_, best)| n > best) {
                winner = Some((leader.clone(), *n));
            }
        }
        let candidate = winner
            .as_ref()
            .map_or_else(|| self.myid.clone(), |(l, _)| l.clone());
        let (mine, mine_epoch) = self.vote_leader(master, epoch, &candidate, now, out);
        let mut max_votes = winner.as_ref().map_or(0, |(_, n)| *n);
        let mut winner = winner.map(|(l, _)| l);
        // Our vote counts when it is for this epoch.
        if let Some(mine) = mine.filter(|_| mine_epoch == epoch) {
            let n = counts
                .iter()
                .find(|(l, _)| *l == mine)
                .map_or(0, |(_, n)| *n)
                + 1;
            if n > max_votes {
                max_votes = n;
                winner = Some(mine);
            }
        }
        let majority = voters / 2 + 1;
        winner.filter(|_| max_votes >= majority && max_votes >= quorum)
    }

    /// Starts a failover attempt when the master is ODOWN, none is running
    /// and the last one started more than 2 x failover-timeout ago.
    fn start_failover_if_needed(&mut self, master: usize, now: i64, out: &mut Vec<Action>) -> bool {
        let m = &self.masters[master];
        if !m.odown || m.failover.state != FailoverState::None {
            return false;
        }
        if let Some(t) = m.failover.start_time {
            let until = t + m.config.failover_timeout_ms * 2;
            if now < until {
                if m.failover.delay_logged != Some(t) {
                    self.masters[master].failover.delay_logged = Some(t);
                    out.push(Action::FailoverDelay { until_ms: until });
                }
                return false;
            }
        }
        self.start_failover(master, now, out);
        true
    }

    /// A failover attempt begins: a new epoch, `+try-failover`, and the
    /// wait for an election (started a random bit later).
    fn start_failover(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        self.current_epoch += 1;
        let epoch = self.current_epoch;
        let jitter = self.jitter();
        let text = self.describe(master, Target::Master);
        let m = &mut self.masters[master];
        m.failover = Failover {
            state: FailoverState::WaitStart,
            epoch,
            start_time: Some(now + jitter),
            state_change_time: now,
            delay_logged: m.failover.delay_logged,
        };
        m.failover_in_progress = true;
        out.push(Action::Event {
            name: "+new-epoch",
            detail: epoch.to_string(),
            master: Some(master),
        });
        out.push(Action::Event {
            name: "+try-failover",
            detail: text,
            master: Some(master),
        });
    }

    /// SENTINEL FAILOVER: a failover without agreement or election, as
    /// long as none is running and some replica can be promoted. Errors are
    /// Redis's replies.
    pub fn force_failover(&mut self, master: usize, now: i64) -> Result<Vec<Action>, String> {
        if self.masters[master].failover_in_progress {
            return Err("INPROG Failover already in progress".into());
        }
        if self.select_replica(master, now).is_none() {
            return Err("NOGOODSLAVE No suitable replica to promote".into());
        }
        let mut out = Vec::new();
        self.start_failover(master, now, &mut out);
        let m = &mut self.masters[master];
        m.force_failover = true;
        // No election to wait for: selection starts on the next tick.
        m.failover.start_time = Some(now);
        Ok(out)
    }

    /// Waiting to be elected: on to replica selection when we lead, the
    /// attempt abandoned when the election takes too long.
    fn wait_start(&mut self, master: usize, now: i64, out: &mut Vec<Action>) {
        let epoch = self.masters[master].failover.epoch;
        let leader = self.get_leader(master, epoch, now, out);
        let text = self.describe(master, Target::Master);
        let election_timeout = self.timing.election_timeout;
        let m = &mut self.masters[master];
        let elected =
            m.force_failover || leader.is_some_and(|l| l.eq_ignore_ascii_case(&self.myid));
        if !elected {
            let timeout = election_timeout.min(m.config.failover_timeout_ms);
            if m.failover.start_time.is_some_and(|t| now - t > timeout) {
                out.push(Action::Event {
                    name: "-failover-abort-not-elected",
                    detail: text,
                    master: Some(master),
                });
                m.failover.state = FailoverState::None;
                m.failover.state_change_time = now;
                m.failover_in_progress = false;
            }
            return;
        }
        out.push(Action::Event {
            name: "+elected-leader",
            detail: text.clone(),
            master: Some(master),
        });
        m.failover.state = FailoverState::SelectSlave;
        m.failover.state_change_time = now;
        out.push(Action::Event {
            name: "+failover-state-select-slave",
            detail: text,
            master: Some(master),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Peer;
    use crate::testkit::{self, names};

    /// Sentinel `a` with peers `b` and `c`, quorum 2, the master down for us.
    fn down_master() -> Monitor {
        let mut m = testkit::monitor("monitor mymaster 127.0.0.1 6379 2", 0);
        for (i, id) in ['b', 'c'].iter().enumerate() {
            let mut p = Peer::new(&id.to_string().repeat(40), "127.0.0.1", 26380 + i as u16, 0);
            p.link.connected = true;
            m.masters[0].sentinels.push(p);
        }
        m.masters[0].master.sdown = true;
        m
    }

    fn questions(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send { command, .. } if command[0] == "SENTINEL" => Some(command.join(" ")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn odown_needs_the_quorum_and_others_are_asked_every_second() {
        let mut m = down_master();
        let mut out = Vec::new();
        m.election_step(0, 5000, &mut out);
        assert!(names(&out).is_empty(), "one vote of 2: {out:?}");
        assert_eq!(
            questions(&out),
            [
                "SENTINEL is-master-down-by-addr 127.0.0.1 6379 0 *",
                "SENTINEL is-master-down-by-addr 127.0.0.1 6379 0 *"
            ]
        );
        let down = DownAnswer {
            down: 1,
            leader: "*".into(),
            leader_epoch: 0,
        };
        m.on_master_down_reply(0, 0, &down, 5100);
        let mut out = Vec::new();
        m.election_step(0, 5200, &mut out);
        assert_eq!(names(&out)[..3], ["+odown", "+new-epoch", "+try-failover"]);
        assert!(out.contains(&Action::Event {
            name: "+odown",
            detail: "master mymaster 127.0.0.1 6379 #quorum 2/2".into(),
            master: Some(0),
        }));
        // Trying now: the forced question carries our id and the new epoch.
        assert!(questions(&out)
            .iter()
            .any(|q| q.ends_with(&format!("6379 1 {}", "a".repeat(40)))));
        // An old answer no longer counts, and the master is no longer down.
        m.masters[0].master.sdown = false;
        let mut out = Vec::new();
        m.election_step(0, 20_000, &mut out);
        assert!(names(&out).contains(&"-odown"));
    }

    #[test]
    fn one_vote_per_epoch() {
        let mut m = down_master();
        let b = "b".repeat(40);
        let c = "c".repeat(40);
        let (answer, out) = m.is_master_down_by_addr("127.0.0.1", 6379, 3, &b, 100);
        assert_eq!(
            answer,
            DownAnswer {
                down: 1,
                leader: b.clone(),
                leader_epoch: 3
            }
        );
        assert_eq!(names(&out), ["+new-epoch", "+vote-for-leader"]);
        // Another candidate in the same epoch gets our earlier vote back.
        let (answer, out) = m.is_master_down_by_addr("127.0.0.1", 6379, 3, &c, 200);
        assert_eq!(
            (answer.leader.as_str(), answer.leader_epoch),
            (b.as_str(), 3)
        );
        assert!(out.is_empty());
        // Unknown master, TILT, or no run id: no vote, down as we see it.
        let (answer, _) = m.is_master_down_by_addr("127.0.0.1", 9999, 4, &c, 300);
        assert_eq!((answer.down, answer.leader.as_str()), (0, "*"));
        m.tilt_since = Some(300);
        let (answer, _) = m.is_master_down_by_addr("127.0.0.1", 6379, 4, "*", 300);
        assert_eq!((answer.down, answer.leader.as_str()), (0, "*"));
    }

    #[test]
    fn elected_with_a_majority_and_the_quorum_else_aborted() {
        let mut m = down_master();
        let me = "a".repeat(40);
        let down = |leader: &str, epoch| DownAnswer {
            down: 1,
            leader: leader.into(),
            leader_epoch: epoch,
        };
        m.on_master_down_reply(0, 0, &down("*", 0), 100);
        let mut out = Vec::new();
        m.election_step(0, 200, &mut out);
        // The attempt starts and we vote for ourselves in its epoch at once.
        assert_eq!(
            names(&out),
            ["+odown", "+new-epoch", "+try-failover", "+vote-for-leader"]
        );
        // b votes for us in epoch 1: with our own vote, 2 of 3 and the quorum.
        m.on_master_down_reply(0, 0, &down(&me, 1), 300);
        let mut out = Vec::new();
        m.election_step(0, 400, &mut out);
        assert_eq!(
            names(&out),
            ["+elected-leader", "+failover-state-select-slave"]
        );
        assert_eq!(m.masters[0].failover.state, FailoverState::SelectSlave);

        // Without votes, the attempt is abandoned after the election timeout.
        let mut m = down_master();
        m.on_master_down_reply(0, 0, &down("*", 0), 100);
        let mut out = Vec::new();
        m.election_step(0, 200, &mut out);
        let mut seen = Vec::new();
        let mut t = 300;
        while t < 13_000 {
            m.on_master_down_reply(0, 0, &down("*", 0), t);
            let mut out = Vec::new();
            m.election_step(0, t, &mut out);
            seen.extend(names(&out));
            t += 500;
        }
        assert!(seen.contains(&"-failover-abort-not-elected"), "{seen:?}");
        assert!(!seen.contains(&"+elected-leader"));
        // And no new attempt before 2 x failover-timeout.
        assert_eq!(seen.iter().filter(|n| **n == "+try-failover").count(), 0);
    }
}
