//! Replicas taking over a failed master, as Redis 7.0 does it: the election
//! (a delay by rank of replication offset, FAILOVER_AUTH_REQUEST to every
//! node, a majority of the masters' votes, one vote per epoch and master),
//! the winner claiming its master's slots with the election's epoch, and
//! the manual forms of CLUSTER FAILOVER (the master pauses its writes until
//! the replica has everything; FORCE skips that; TAKEOVER skips the vote).

use crate::bus::{self, kind, Body, Header, Message, MFLAG_FORCEACK};
use crate::nodes::flag;
use crate::slot::SLOTS;
use crate::state::{Action, Cluster, LogLevel};

/// How long a manual failover may take.
pub const MF_TIMEOUT_MS: i64 = 5000;
/// A master pauses writes this many times [`MF_TIMEOUT_MS`].
const MF_PAUSE_MULT: i64 = 2;

/// The election state of a replica, and a master's part in manual
/// failovers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Election {
    /// When the election may start (or started).
    pub auth_time: i64,
    pub auth_count: usize,
    /// The masters that voted for the election in progress.
    pub auth_voters: std::collections::BTreeSet<String>,
    pub auth_sent: bool,
    pub auth_rank: usize,
    pub auth_epoch: u64,
    /// A manual failover in progress: until when (0: none).
    pub mf_end: i64,
    /// Master side: the replica doing it.
    pub mf_replica: Option<String>,
    /// Replica side: the offset the paused master announced.
    pub mf_master_offset: Option<u64>,
    /// Replica side: the election may start.
    pub mf_can_start: bool,
    /// How long the replica has been without its master (ms), from the shell.
    pub data_age: i64,
    /// The last "can't failover" reason logged, and when.
    last_reason: Option<(&'static str, i64)>,
}

/// CLUSTER FAILOVER's forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manual {
    Default,
    Force,
    Takeover,
}

impl Cluster {
    /// Replicas of our master with a greater offset than ours.
    fn replica_rank(&self) -> usize {
        let me = self.me();
        let Some(master) = me.master.as_deref() else {
            return 0;
        };
        self.nodes
            .values()
            .filter(|n| {
                n.id != self.myself
                    && n.master.as_deref() == Some(master)
                    && !n.is(flag::NOFAILOVER)
                    && n.repl_offset > me.repl_offset
            })
            .count()
    }

    fn auth_timeout(&self) -> i64 {
        (self.settings.node_timeout * 2).max(2000)
    }

    fn log_cant_failover(&mut self, reason: &'static str, now: i64, out: &mut Vec<Action>) {
        // The same reason is logged again only after a while, as Redis does.
        let repeat = self
            .election
            .last_reason
            .is_some_and(|(r, t)| r == reason && now - t < 10_000);
        if repeat {
            return;
        }
        self.election.last_reason = Some((reason, now));
        Self::log(
            out,
            LogLevel::Notice,
            format!("Currently unable to failover: {reason}"),
        );
    }

    /// The replica's failover step (Redis's clusterHandleSlaveFailover),
    /// run every tick and when a vote arrives.
    pub(crate) fn handle_failover(&mut self, now: i64, out: &mut Vec<Action>) {
        let manual = self.election.mf_end != 0 && self.election.mf_can_start;
        let me = self.me();
        let Some(master) = me.master.clone() else {
            return;
        };
        let Some(m) = self.nodes.get(&master) else {
            return;
        };
        if me.is_master()
            || (!m.is(flag::FAIL) && !manual)
            || (self.settings.replica_no_failover && !manual)
            || m.slots.is_empty()
        {
            self.election.last_reason = None;
            return;
        }
        let auth_timeout = self.auth_timeout();
        let auth_retry = auth_timeout * 2;
        let mut data_age = self.election.data_age;
        if data_age > self.settings.node_timeout {
            data_age -= self.settings.node_timeout;
        }
        let max_age = self.settings.repl_ping_period_ms
            + self.settings.node_timeout * self.settings.replica_validity_factor;
        if self.settings.replica_validity_factor > 0 && data_age > max_age && !manual {
            self.log_cant_failover(
                "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.",
                now,
                out,
            );
            return;
        }
        let auth_age = now - self.election.auth_time;
        if auth_age > auth_retry {
            let rank = self.replica_rank();
            let jitter = (self.random_u64() % 500) as i64;
            let e = &mut self.election;
            e.auth_time = now + 500 + jitter + rank as i64 * 1000;
            e.auth_count = 0;
            e.auth_sent = false;
            e.auth_rank = rank;
            if e.mf_end != 0 {
                e.auth_time = now;
                e.auth_rank = 0;
            }
            let (delay, rank) = (e.auth_time - now, e.auth_rank);
            let text = format!(
                "Start of election delayed for {delay} milliseconds (rank #{rank}, offset {}).",
                self.me().repl_offset
            );
            Self::log(out, LogLevel::Notice, text);
            self.broadcast_pong_to_my_shard(out);
            if self.election.mf_end == 0 {
                return;
            }
        }
        if !self.election.auth_sent && self.election.mf_end == 0 {
            let rank = self.replica_rank();
            if rank > self.election.auth_rank {
                let added = (rank - self.election.auth_rank) as i64 * 1000;
                self.election.auth_time += added;
                self.election.auth_rank = rank;
                Self::log(
                    out,
                    LogLevel::Notice,
                    format!(
                        "Replica rank updated to #{rank}, added {added} milliseconds of delay."
                    ),
                );
            }
        }
        if now < self.election.auth_time {
            self.log_cant_failover(
                "Waiting the delay before I can start a new failover.",
                now,
                out,
            );
            return;
        }
        if now - self.election.auth_time > auth_timeout {
            self.log_cant_failover("Failover attempt expired.", now, out);
            return;
        }
        if !self.election.auth_sent {
            self.current_epoch += 1;
            self.election.auth_epoch = self.current_epoch;
            Self::log(
                out,
                LogLevel::Notice,
                format!(
                    "Starting a failover election for epoch {}.",
                    self.current_epoch
                ),
            );
            let mut header = self.header(kind::FAILOVER_AUTH_REQUEST);
            if self.election.mf_end != 0 {
                header.mflags |= MFLAG_FORCEACK;
            }
            let bytes = bus::encode(&Message {
                header,
                body: Body::Empty,
            });
            self.broadcast_counted(kind::FAILOVER_AUTH_REQUEST, bytes, out);
            self.election.auth_sent = true;
            // Only votes for this request count (a late one for an older
            // request must not).
            self.election.auth_count = 0;
            self.election.auth_voters.clear();
            self.save(true);
            self.update_state(now);
            return;
        }
        let needed = self.size / 2 + 1;
        if self.election.auth_count >= needed {
            Self::log(
                out,
                LogLevel::Notice,
                "Failover election won. I'm the new master.".into(),
            );
            if self.me().config_epoch < self.election.auth_epoch {
                let epoch = self.election.auth_epoch;
                self.me_mut().config_epoch = epoch;
                Self::log(
                    out,
                    LogLevel::Notice,
                    format!("configEpoch set to {epoch} after successful failover"),
                );
            }
            self.replace_my_master(now, out);
        } else {
            self.log_cant_failover(
                "Waiting for votes, but majority still not reached.",
                now,
                out,
            );
        }
    }

    /// The promotion: we become the master of our master's slots, and tell
    /// everyone (Redis's clusterFailoverReplaceYourMaster).
    pub(crate) fn replace_my_master(&mut self, now: i64, out: &mut Vec<Action>) {
        let me = self.myself.clone();
        let Some(old) = self.me().master.clone() else {
            return;
        };
        if let Some(n) = self.nodes.get_mut(&me) {
            n.flags = (n.flags & !flag::SLAVE) | flag::MASTER;
            n.master = None;
        }
        out.push(Action::ReplicaOf { master: None });
        for s in 0..SLOTS {
            let theirs = self.nodes.get(&old).is_some_and(|o| o.slots.get(s));
            if theirs {
                if let Some(o) = self.nodes.get_mut(&old) {
                    o.slots.set(s, false);
                }
                if let Some(n) = self.nodes.get_mut(&me) {
                    n.slots.set(s, true);
                }
                self.owners.set(s, Some(me.clone()));
            }
        }
        self.update_state(now);
        self.save(true);
        self.broadcast_pong_all(out);
        self.reset_manual_failover(out);
    }

    /// Master side: a replica asks for our vote.
    pub(crate) fn receive_auth_request(
        &mut self,
        requester: &str,
        h: &Header,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        let me = self.me();
        if !me.is_master() || me.slots.is_empty() {
            return;
        }
        let deny = |out: &mut Vec<Action>, why: String| {
            Self::log(
                out,
                LogLevel::Warning,
                format!("Failover auth denied to {requester}: {why}"),
            );
        };
        if h.current_epoch < self.current_epoch {
            deny(
                out,
                format!(
                    "reqEpoch ({}) < curEpoch({})",
                    h.current_epoch, self.current_epoch
                ),
            );
            return;
        }
        if self.last_vote_epoch == self.current_epoch {
            deny(
                out,
                format!("already voted for epoch {}", self.current_epoch),
            );
            return;
        }
        let Some(node) = self.nodes.get(requester) else {
            return;
        };
        let force = h.mflags & MFLAG_FORCEACK != 0;
        if node.is_master() {
            deny(out, "it is a master node".into());
            return;
        }
        let Some(master) = node.master.clone().filter(|m| self.nodes.contains_key(m)) else {
            deny(out, "I don't know its master".into());
            return;
        };
        if !self.nodes[&master].is(flag::FAIL) && !force {
            deny(out, "its master is up".into());
            return;
        }
        let voted = self.voted_time.get(&master).copied().unwrap_or(0);
        if now - voted < self.settings.node_timeout * 2 {
            deny(
                out,
                format!(
                    "can't vote about this master before {} milliseconds",
                    self.settings.node_timeout * 2 - (now - voted)
                ),
            );
            return;
        }
        for s in 0..SLOTS {
            if !h.slots.get(s) {
                continue;
            }
            if let Some(owner) = self.owners[s].as_ref().and_then(|o| self.nodes.get(o)) {
                if owner.config_epoch > h.config_epoch {
                    deny(
                        out,
                        format!(
                            "slot {s} epoch ({}) > reqEpoch ({})",
                            owner.config_epoch, h.config_epoch
                        ),
                    );
                    return;
                }
            }
        }
        self.last_vote_epoch = self.current_epoch;
        self.voted_time.insert(master, now);
        self.save(true);
        if let Some(link) = self
            .nodes
            .get(requester)
            .and_then(|n| n.link_up.then_some(n.link).flatten())
        {
            let bytes = bus::encode(&Message {
                header: self.header(kind::FAILOVER_AUTH_ACK),
                body: Body::Empty,
            });
            self.count_sent(kind::FAILOVER_AUTH_ACK);
            out.push(Action::Send { link, bytes });
        }
        Self::log(
            out,
            LogLevel::Warning,
            format!(
                "Failover auth granted to {requester} for epoch {}",
                self.current_epoch
            ),
        );
    }

    /// Replica side: a master's vote.
    pub(crate) fn receive_auth_ack(
        &mut self,
        voter: &str,
        h: &Header,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        let counts = self
            .nodes
            .get(voter)
            .is_some_and(|n| n.is_master() && !n.slots.is_empty());
        let e = &mut self.election;
        if counts
            && e.auth_sent
            && h.current_epoch >= e.auth_epoch
            && e.auth_voters.insert(voter.to_string())
        {
            e.auth_count += 1;
            self.handle_failover(now, out);
        }
    }

    /// CLUSTER FAILOVER on a replica. `Err` is Redis's error text.
    pub fn manual_failover(&mut self, mode: Manual, now: i64) -> Result<Vec<Action>, &'static str> {
        let me = self.me();
        if me.is_master() {
            return Err("ERR You should send CLUSTER FAILOVER to a replica");
        }
        let Some(master) = me.master.clone().filter(|m| self.nodes.contains_key(m)) else {
            return Err("ERR I'm a replica but my master is unknown to me");
        };
        let m = &self.nodes[&master];
        if mode == Manual::Default && (m.is(flag::FAIL) || !m.link_up) {
            return Err("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE");
        }
        let master_link = m.link_up.then_some(m.link).flatten();
        let mut out = Vec::new();
        self.reset_manual_failover(&mut out);
        self.election.mf_end = now + MF_TIMEOUT_MS;
        match mode {
            Manual::Takeover => {
                Self::log(
                    &mut out,
                    LogLevel::Warning,
                    "Taking over the master (user request).".into(),
                );
                self.bump_epoch_without_consensus(&mut out);
                self.replace_my_master(now, &mut out);
            }
            Manual::Force => {
                Self::log(
                    &mut out,
                    LogLevel::Warning,
                    "Forced failover user request accepted.".into(),
                );
                self.election.mf_can_start = true;
            }
            Manual::Default => {
                Self::log(
                    &mut out,
                    LogLevel::Warning,
                    "Manual failover user request accepted.".into(),
                );
                if let Some(link) = master_link {
                    let bytes = bus::encode(&Message {
                        header: self.header(kind::MFSTART),
                        body: Body::Empty,
                    });
                    self.count_sent(kind::MFSTART);
                    out.push(Action::Send { link, bytes });
                }
            }
        }
        if let Some(fsync) = self.take_save() {
            out.push(Action::SaveConfig { fsync });
        }
        Ok(out)
    }

    /// Master side: a replica of ours starts a manual failover: writes
    /// pause, and our offset goes to it at once.
    pub(crate) fn receive_mfstart(
        &mut self,
        replica: &str,
        link: crate::state::LinkId,
        now: i64,
        out: &mut Vec<Action>,
    ) {
        let mine = self
            .nodes
            .get(replica)
            .is_some_and(|n| n.master.as_deref() == Some(self.myself.as_str()));
        if !mine {
            return;
        }
        self.reset_manual_failover(out);
        self.election.mf_end = now + MF_TIMEOUT_MS;
        self.election.mf_replica = Some(replica.to_string());
        out.push(Action::PauseWrites {
            until_ms: now + MF_TIMEOUT_MS * MF_PAUSE_MULT,
        });
        Self::log(
            out,
            LogLevel::Warning,
            format!("Manual failover requested by replica {replica}."),
        );
        let bytes = self.ping_bytes(kind::PING);
        out.push(Action::Send { link, bytes });
    }

    /// Replica side: the paused master's offset arrived.
    pub(crate) fn note_paused_master(&mut self, sender: &str, h: &Header, out: &mut Vec<Action>) {
        let from_master = self.me().master.as_deref() == Some(sender);
        if self.election.mf_end != 0
            && from_master
            && h.mflags & bus::MFLAG_PAUSED != 0
            && self.election.mf_master_offset.is_none()
        {
            self.election.mf_master_offset = Some(h.offset);
            Self::log(
                out,
                LogLevel::Notice,
                format!(
                    "Received replication offset for paused master manual failover: {}",
                    h.offset
                ),
            );
        }
    }

    /// The manual failover's step each tick: time out, or start once our
    /// offset reached the paused master's.
    pub(crate) fn manual_failover_tick(&mut self, now: i64, out: &mut Vec<Action>) {
        if self.election.mf_end == 0 {
            return;
        }
        if self.election.mf_end < now {
            Self::log(out, LogLevel::Warning, "Manual failover timed out.".into());
            self.reset_manual_failover(out);
            return;
        }
        if self.me().is_master() {
            // Keep the replica informed of our offset.
            if let Some(r) = self.election.mf_replica.clone() {
                if let Some(link) = self
                    .nodes
                    .get(&r)
                    .and_then(|n| n.link_up.then_some(n.link).flatten())
                {
                    let bytes = self.ping_bytes(kind::PING);
                    out.push(Action::Send { link, bytes });
                }
            }
            return;
        }
        if self.election.mf_can_start {
            return;
        }
        if let Some(offset) = self.election.mf_master_offset {
            // The paused master takes no writes; what its offset grows by
            // since (its pings) carries no data.
            if self.me().repl_offset >= offset {
                self.election.mf_can_start = true;
                Self::log(
                    out,
                    LogLevel::Warning,
                    "All master replication stream processed, manual failover can start.".into(),
                );
                self.handle_failover(now, out);
            }
        }
    }

    pub(crate) fn reset_manual_failover(&mut self, out: &mut Vec<Action>) {
        if self.election.mf_replica.is_some() {
            out.push(Action::PauseWrites { until_ms: 0 });
        }
        let e = &mut self.election;
        e.mf_end = 0;
        e.mf_can_start = false;
        e.mf_replica = None;
        e.mf_master_offset = None;
    }

    /// Our configEpoch becomes the greatest, without a vote (TAKEOVER,
    /// SETSLOT after an import).
    pub(crate) fn bump_epoch_without_consensus(&mut self, out: &mut Vec<Action>) -> bool {
        let max = self
            .nodes
            .values()
            .map(|n| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch);
        let mine = self.me().config_epoch;
        if mine == 0 || mine != max {
            self.current_epoch += 1;
            let epoch = self.current_epoch;
            self.me_mut().config_epoch = epoch;
            self.save(true);
            Self::log(
                out,
                LogLevel::Warning,
                format!("New configEpoch set to {epoch}"),
            );
            true
        } else {
            false
        }
    }
}
