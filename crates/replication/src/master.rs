//! The master side's decisions, without I/O: the answer to a PSYNC (and
//! what it logs and counts), when a full sync starts and for whom (disk or
//! diskless), which replicas time out, when the backlog is freed, whether a
//! replica is past its output-buffer limit, and the steps of a FAILOVER.
//!
//! Each decision takes the time as `now_ms` and returns what to do; the
//! command layer and the server's tasks carry it out. Log lines are returned
//! in Redis 7.0's words (`Logs`), so the simulation sees the same decisions
//! the server makes, and the server logs exactly what it did before.

use crate::{Level, Logs, PsyncDecision, ReplicaRecord, ReplicaState, Replication};

/// The error a replica gets for a PSYNC while our own master link is down.
pub const NOMASTERLINK: &str = "NOMASTERLINK Can't SYNC while not connected with my master";

/// A replica's `PSYNC <replid> <position>` (or SYNC).
#[derive(Clone, Debug)]
pub struct PsyncRequest<'a> {
    pub replid: &'a str,
    pub position: i64,
    /// PSYNC rather than the old SYNC (which always gets a full sync).
    pub is_psync: bool,
    /// It understands `+CONTINUE <new id>` (`REPLCONF capa psync2`).
    pub capa_psync2: bool,
    /// Its name in the log (`replica_name`).
    pub name: &'a str,
}

/// What the master answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PsyncAnswer {
    /// Reply with this status line and stream from `position`.
    Continue { reply: String, position: u64 },
    /// The replica waits for a snapshot (`plan_full_sync`).
    Full,
}

/// A snapshot already running when a replica asks for a full sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunningSnapshot {
    None,
    /// A BGSAVE to the RDB file.
    Rdb,
    /// A diskless transfer to other replicas.
    ReplicaSockets,
    /// Another background job (an AOF rewrite).
    Other,
}

/// The settings a full sync's start depends on.
#[derive(Clone, Copy, Debug)]
pub struct SyncSettings {
    /// `repl-diskless-sync`.
    pub diskless: bool,
    /// `repl-diskless-sync-delay`, ms.
    pub delay_ms: i64,
    /// `repl-diskless-sync-max-replicas` (0: no limit).
    pub max_replicas: usize,
}

/// A full sync to start now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    /// The replicas waiting for it (client ids).
    pub targets: Vec<u64>,
    /// Streamed to their sockets rather than through the RDB file.
    pub diskless: bool,
}

/// The `replica` class of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// The next step of a FAILOVER, decided once per cron tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailoverStep {
    /// Nothing to do yet.
    Wait,
    /// Give up, with the reason Redis logs.
    Abort(&'static str),
    /// Follow this replica and ask it to take over (`timed_out`: FORCE
    /// after the timeout rather than a replica in sync).
    Switch {
        host: String,
        port: u16,
        timed_out: bool,
    },
}

impl Replication {
    /// Decides a replica's PSYNC or SYNC as Redis's `syncCommand` and
    /// `masterTryPartialResynchronization` do: counts it, logs it, and
    /// creates the backlog (with a fresh history when we are no replica)
    /// for the first full sync.
    pub fn answer_psync(
        &mut self,
        req: &PsyncRequest,
        backlog_size: u64,
        logs: &mut Logs,
    ) -> PsyncAnswer {
        let decision = if req.is_psync {
            self.psync_decision(req.replid, req.position)
        } else {
            PsyncDecision::Full(None)
        };
        let (name, position) = (req.name, req.position);
        match decision {
            PsyncDecision::Continue => {
                let start = position as u64;
                let backlog_bytes = self.offset + 1 - start;
                self.sync_partial_ok += 1;
                let reply = if req.capa_psync2 {
                    format!("CONTINUE {}", self.replid)
                } else {
                    "CONTINUE".to_string()
                };
                logs.push((
                    Level::Notice,
                    format!(
                        "Partial resynchronization request from {name} accepted. Sending {backlog_bytes} bytes of backlog starting from offset {position}."
                    ),
                ));
                PsyncAnswer::Continue {
                    reply,
                    position: start,
                }
            }
            PsyncDecision::Full(reason) => {
                match reason {
                    Some(r) if r.starts_with(LACK_OF_BACKLOG) => {
                        logs.push((
                            Level::Notice,
                            format!(
                                "Unable to partial resync with replica {name} for lack of backlog (Replica request was: {position})."
                            ),
                        ));
                        if position > self.offset as i64 {
                            logs.push((
                                Level::Warning,
                                format!(
                                    "Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset."
                                ),
                            ));
                        }
                        self.sync_partial_err += 1;
                    }
                    Some(r) => {
                        logs.push((
                            Level::Notice,
                            format!("Partial resynchronization not accepted: {r}"),
                        ));
                        self.sync_partial_err += 1;
                    }
                    // Plain SYNC: Redis says nothing here.
                    None if req.is_psync => logs.push((
                        Level::Notice,
                        format!("Full resync requested by replica {name}"),
                    )),
                    None => {}
                }
                self.sync_full += 1;
                if self.buffer.is_none() {
                    if self.master.is_none() {
                        // A fresh history for the first replica, as Redis does.
                        self.fresh_history();
                    }
                    self.ensure_backlog(backlog_size);
                    logs.push((
                        Level::Notice,
                        format!(
                            "Replication backlog created, my new replication IDs are '{}' and '{}'",
                            self.replid, self.replid2
                        ),
                    ));
                }
                PsyncAnswer::Full
            }
        }
    }

    /// Whether a replica that has to wait for its snapshot has to wait for
    /// another reason than the cron's next tick (Redis's line saying why).
    /// A running snapshot is never shared with a later replica here.
    pub fn full_sync_wait_reason(
        running: RunningSnapshot,
        diskless_delayed: bool,
    ) -> Option<&'static str> {
        match running {
            RunningSnapshot::Rdb => Some(
                "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC",
            ),
            RunningSnapshot::ReplicaSockets => {
                Some("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
            }
            _ if diskless_delayed => Some("Delay next BGSAVE for diskless SYNC"),
            RunningSnapshot::Other => Some(
                "No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed",
            ),
            RunningSnapshot::None => None,
        }
    }

    /// Whether a full sync starts now, and for whom: every replica waiting
    /// for one, when no snapshot runs; diskless when configured and every
    /// one of them can read `$EOF:` transfers, then only after the delay
    /// (counted from the oldest request) or once enough replicas wait.
    pub fn plan_full_sync(
        &self,
        now_ms: i64,
        settings: SyncSettings,
        snapshot_running: bool,
    ) -> Option<SyncPlan> {
        if snapshot_running {
            return None;
        }
        let waiting: Vec<&ReplicaRecord> = self
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::WaitBgsave)
            .collect();
        if waiting.is_empty() {
            return None;
        }
        let diskless = settings.diskless && waiting.iter().all(|r| r.capa_eof);
        if diskless {
            let oldest = waiting.iter().map(|r| r.ack_ms).min().unwrap_or(0);
            let enough = settings.max_replicas > 0 && waiting.len() >= settings.max_replicas;
            if !enough && now_ms - oldest < settings.delay_ms {
                return None;
            }
        }
        Some(SyncPlan {
            targets: waiting.iter().map(|r| r.client_id).collect(),
            diskless,
        })
    }

    /// The snapshot of a planned full sync starts at the current offset:
    /// its replicas will stream from the byte after it. Returns the
    /// `+FULLRESYNC` id and offset.
    ///
    /// A master starts the stream after the snapshot with a SELECT; a
    /// replica passes its master's stream on as it is, so it keeps the
    /// stream's database (the snapshot records it).
    pub fn begin_full_sync(&mut self, plan: &SyncPlan) -> (String, u64) {
        if self.master.is_none() {
            self.stream_db = None;
        }
        let offset = self.offset;
        for id in &plan.targets {
            if let Some(r) = self.replica_mut(*id) {
                r.state = ReplicaState::SendBulk;
                r.position = offset + 1;
            }
        }
        (self.replid.clone(), offset)
    }

    /// Online replicas silent for longer than `repl-timeout`.
    pub fn timed_out_replicas(&self, now_ms: i64, timeout_ms: i64) -> Vec<&ReplicaRecord> {
        self.replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && now_ms - r.ack_ms > timeout_ms)
            .collect()
    }

    /// Frees the backlog once `repl-backlog-ttl` (ms; 0: never) passed with
    /// no replica, on a master. A new history starts: no replica can
    /// continue one whose bytes are gone. Returns whether it did.
    pub fn expire_backlog(&mut self, now_ms: i64, ttl_ms: i64) -> bool {
        let expired = self.master.is_none()
            && self.replicas.is_empty()
            && self.buffer.is_some()
            && ttl_ms > 0
            && now_ms - self.no_replicas_since_ms > ttl_ms;
        if expired {
            self.fresh_history();
            self.free_backlog();
        }
        expired
    }

    /// Whether replica `id` is past its output-buffer limit: the stream it
    /// has not been sent yet (what Redis counts) over the hard limit, or
    /// over the soft limit for longer than its seconds. Keeps the time it
    /// first passed the soft limit.
    pub fn replica_over_limit(&mut self, id: u64, now_ms: i64, limit: OutputLimit) -> bool {
        let Some(end) = self.buffer.as_ref().map(|b| b.end_offset()) else {
            return false;
        };
        let Some(record) = self.replica_mut(id) else {
            return false;
        };
        // A replica waiting for its snapshot to start has no position in the
        // stream yet (the snapshot sets it), so nothing is pending for it.
        if record.state == ReplicaState::WaitBgsave {
            record.soft_limit_since_ms = 0;
            return false;
        }
        let pending = (end + 1).saturating_sub(record.position);
        let over_hard = limit.hard > 0 && pending > limit.hard;
        let over_soft = limit.soft > 0 && pending > limit.soft;
        if !over_soft {
            record.soft_limit_since_ms = 0;
        } else if record.soft_limit_since_ms == 0 {
            record.soft_limit_since_ms = now_ms;
        }
        let soft_expired =
            over_soft && now_ms - record.soft_limit_since_ms >= limit.soft_seconds as i64 * 1000;
        over_hard || soft_expired
    }

    /// The next step of the FAILOVER in progress (none: `Wait`). Waiting:
    /// switch to the first online replica (the target, if one was named)
    /// that acknowledged our whole stream; past the timeout, switch to the
    /// target anyway with FORCE, or give up. Switched: give up if the
    /// target did not take over in time.
    pub fn failover_step(&self, now_ms: i64) -> FailoverStep {
        let Some(f) = &self.failover else {
            return FailoverStep::Wait;
        };
        if f.in_progress {
            if f.deadline_ms.is_some_and(|d| now_ms > d) {
                return FailoverStep::Abort("Failover target rejected psync request");
            }
            return FailoverStep::Wait;
        }
        let synced = self
            .replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online)
            .filter(|r| match &f.target {
                Some((h, p)) => r.ip == *h && r.listening_port == *p,
                None => true,
            })
            .find(|r| r.ack_offset >= self.offset)
            .map(|r| (r.ip.clone(), r.listening_port));
        match (synced, f.deadline_ms) {
            (Some((host, port)), _) => FailoverStep::Switch {
                host,
                port,
                timed_out: false,
            },
            (None, Some(d)) if now_ms > d => match (&f.target, f.force) {
                (Some((host, port)), true) => FailoverStep::Switch {
                    host: host.clone(),
                    port: *port,
                    timed_out: true,
                },
                (None, true) => FailoverStep::Wait,
                (_, false) => FailoverStep::Abort("Replica never caught up before timeout"),
            },
            // The replica's once-a-second ACK tells us (a GETACK now would
            // itself be a byte it has not acknowledged).
            _ => FailoverStep::Wait,
        }
    }

    /// The FAILOVER switches to `host:port`: the handshake gets its own
    /// time to finish (at least 10 s, or `repl-timeout`).
    pub fn begin_failover_switch(&mut self, host: &str, port: u16, now_ms: i64, timeout_ms: i64) {
        if let Some(f) = self.failover.as_mut() {
            f.in_progress = true;
            f.target = Some((host.to_string(), port));
            f.deadline_ms = Some(now_ms + 10_000i64.max(timeout_ms));
        }
    }
}

/// How `psync_decision` starts the reason for a history we share but whose
/// bytes we no longer (or not yet) hold.
pub(crate) const LACK_OF_BACKLOG: &str = "Unable to partial resync with replica: lack of backlog";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Failover;

    fn record(id: u64, state: ReplicaState, ack_offset: u64, ack_ms: i64) -> ReplicaRecord {
        ReplicaRecord {
            client_id: id,
            ip: "127.0.0.1".into(),
            listening_port: 7000 + id as u16,
            state,
            position: 0,
            ack_offset,
            ack_ms,
            capa_eof: true,
            capa_psync2: true,
            psync: true,
            soft_limit_since_ms: 0,
        }
    }

    fn psync<'a>(replid: &'a str, position: i64) -> PsyncRequest<'a> {
        PsyncRequest {
            replid,
            position,
            is_psync: true,
            capa_psync2: true,
            name: "127.0.0.1:7001",
        }
    }

    #[test]
    fn first_full_sync_creates_backlog_and_history() {
        let mut r = Replication::with_seed(1);
        let before = r.replid.clone();
        let mut logs = Logs::new();
        assert_eq!(
            r.answer_psync(&psync("?", -1), 1000, &mut logs),
            PsyncAnswer::Full
        );
        assert_ne!(r.replid, before);
        assert!(r.buffer.is_some());
        assert_eq!(r.sync_full, 1);
        assert_eq!(logs[0].1, "Full resync requested by replica 127.0.0.1:7001");
        assert!(logs[1].1.starts_with("Replication backlog created"));
    }

    #[test]
    fn continue_streams_from_the_asked_position() {
        let mut r = Replication::with_seed(2);
        r.ensure_backlog(1000);
        r.feed(b"0123456789");
        let id = r.replid.clone();
        let mut logs = Logs::new();
        let answer = r.answer_psync(&psync(&id, 4), 1000, &mut logs);
        assert_eq!(
            answer,
            PsyncAnswer::Continue {
                reply: format!("CONTINUE {id}"),
                position: 4
            }
        );
        assert_eq!(r.sync_partial_ok, 1);
        assert!(logs[0]
            .1
            .contains("Sending 7 bytes of backlog starting from offset 4."));
        // Past our offset: a full sync, with Redis's warning.
        let mut logs = Logs::new();
        assert_eq!(
            r.answer_psync(&psync(&id, 20), 1000, &mut logs),
            PsyncAnswer::Full
        );
        assert_eq!(logs.len(), 2);
        assert_eq!(r.sync_partial_err, 1);
        // Old replicas get a bare CONTINUE.
        let mut old = psync(&id, 11);
        old.capa_psync2 = false;
        assert!(matches!(
            r.answer_psync(&old, 1000, &mut Logs::new()),
            PsyncAnswer::Continue { reply, position: 11 } if reply == "CONTINUE"
        ));
    }

    #[test]
    fn full_sync_waits_for_the_diskless_delay() {
        let mut r = Replication::with_seed(3);
        r.replicas
            .push(record(1, ReplicaState::WaitBgsave, 0, 1000));
        let settings = SyncSettings {
            diskless: true,
            delay_ms: 5000,
            max_replicas: 0,
        };
        assert_eq!(r.plan_full_sync(5999, settings, false), None);
        let plan = r.plan_full_sync(6000, settings, false).unwrap();
        assert!(plan.diskless);
        assert_eq!(r.plan_full_sync(6000, settings, true), None);
        // Enough replicas waiting: no delay.
        r.replicas
            .push(record(2, ReplicaState::WaitBgsave, 0, 1000));
        let enough = SyncSettings {
            max_replicas: 2,
            ..settings
        };
        assert!(r.plan_full_sync(1000, enough, false).is_some());
        // One replica without `capa eof`: through the disk, at once.
        r.replicas[1].capa_eof = false;
        let plan = r.plan_full_sync(1000, settings, false).unwrap();
        assert!(!plan.diskless);
        assert_eq!(plan.targets, vec![1, 2]);
        r.feed(b"x");
        let (id, offset) = r.begin_full_sync(&plan);
        assert_eq!((id, offset), (r.replid.clone(), r.offset));
        assert!(r
            .replicas
            .iter()
            .all(|x| x.state == ReplicaState::SendBulk && x.position == offset + 1));
    }

    #[test]
    fn timeouts_backlog_ttl_and_limits() {
        let mut r = Replication::with_seed(4);
        r.ensure_backlog(100);
        r.replicas.push(record(1, ReplicaState::Online, 0, 0));
        r.replicas.push(record(2, ReplicaState::SendBulk, 0, 0));
        let out: Vec<u64> = r
            .timed_out_replicas(60_001, 60_000)
            .iter()
            .map(|x| x.client_id)
            .collect();
        assert_eq!(out, vec![1]);
        // Hard and soft output limits on the stream not yet sent.
        r.replicas[0].position = 1;
        r.feed(&[b'x'; 50]);
        let limit = OutputLimit {
            hard: 40,
            soft: 0,
            soft_seconds: 0,
        };
        assert!(r.replica_over_limit(1, 0, limit));
        let soft = OutputLimit {
            hard: 0,
            soft: 10,
            soft_seconds: 2,
        };
        assert!(!r.replica_over_limit(1, 1000, soft));
        assert!(!r.replica_over_limit(1, 2999, soft));
        assert!(r.replica_over_limit(1, 3000, soft));
        // TTL: only on a master with no replicas.
        r.remove_replica(1, 10_000);
        r.remove_replica(2, 10_000);
        let id = r.replid.clone();
        assert!(!r.expire_backlog(15_000, 10_000));
        assert!(r.expire_backlog(20_001, 10_000));
        assert!(r.buffer.is_none());
        assert_ne!(r.replid, id);
    }

    #[test]
    fn failover_steps() {
        let mut r = Replication::with_seed(5);
        r.ensure_backlog(100);
        r.feed(b"abc");
        r.replicas.push(record(1, ReplicaState::Online, 2, 0));
        r.failover = Some(Failover {
            target: None,
            deadline_ms: Some(1000),
            force: false,
            in_progress: false,
        });
        assert_eq!(r.failover_step(500), FailoverStep::Wait);
        assert_eq!(
            r.failover_step(1001),
            FailoverStep::Abort("Replica never caught up before timeout")
        );
        r.replicas[0].ack_offset = 3;
        assert_eq!(
            r.failover_step(500),
            FailoverStep::Switch {
                host: "127.0.0.1".into(),
                port: 7001,
                timed_out: false
            }
        );
        r.replicas[0].ack_offset = 0;
        r.failover = Some(Failover {
            target: Some(("10.0.0.1".into(), 6379)),
            deadline_ms: Some(1000),
            force: true,
            in_progress: false,
        });
        assert!(matches!(
            r.failover_step(1001),
            FailoverStep::Switch {
                timed_out: true,
                port: 6379,
                ..
            }
        ));
        r.begin_failover_switch("10.0.0.1", 6379, 2000, 60_000);
        assert_eq!(r.failover_step(61_000), FailoverStep::Wait);
        assert_eq!(
            r.failover_step(62_001),
            FailoverStep::Abort("Failover target rejected psync request")
        );
    }
}
