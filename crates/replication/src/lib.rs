//! Replication state, without I/O: who we are in the replication history
//! (replication ids and offsets), the shared replication buffer with the
//! backlog, the replicas attached to us, and the link to our master.
//!
//! The server's tasks carry the bytes; this crate decides: whether a PSYNC
//! can continue from the backlog, what INFO and ROLE report, which replicas
//! count as good for `min-replicas-to-write`, how ids shift on promotion
//! (here); the master side's decisions (`master`) and the replica side's
//! handshake (`handshake`).
//!
//! Nothing here reads a clock or an unseeded random source: time comes in
//! as `now_ms`, and new ids come from the generator `Replication` is built
//! with, so the simulation (`redust-test-support`'s `sim`) replays a run
//! from its seed.

pub mod buffer;
pub mod handshake;
pub mod master;

pub use buffer::ReplBuffer;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The id Redis shows when there is none.
pub const NULL_REPLID: &str = "0000000000000000000000000000000000000000";

/// How loud a log line a decision returns is (Redis's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Verbose,
    Notice,
    Warning,
}

/// Log lines a decision returns, in order, for the caller to write.
pub type Logs = Vec<(Level, String)>;

/// Where a replica attached to us stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start for it.
    WaitBgsave,
    /// The snapshot is being transferred.
    SendBulk,
    /// Receiving the live stream.
    Online,
}

impl ReplicaState {
    /// The name INFO shows.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }
}

/// A replica attached to us (one per replica connection).
#[derive(Clone, Debug)]
pub struct ReplicaRecord {
    pub client_id: u64,
    /// Its address as seen on the connection, or `REPLCONF ip-address`.
    pub ip: String,
    /// `REPLCONF listening-port`.
    pub listening_port: u16,
    pub state: ReplicaState,
    /// The next stream offset to send it (once it is past `WaitBgsave`).
    pub position: u64,
    /// The offset it last acknowledged (`REPLCONF ACK`).
    pub ack_offset: u64,
    /// When it last acknowledged (or attached), ms.
    pub ack_ms: i64,
    /// It understands `$EOF:` transfers (`REPLCONF capa eof`).
    pub capa_eof: bool,
    /// It understands `+CONTINUE <new id>` (`REPLCONF capa psync2`).
    pub capa_psync2: bool,
    /// It asked with PSYNC (not the old SYNC, which gets no `+FULLRESYNC`).
    pub psync: bool,
    /// When the stream it has not been sent first passed the soft
    /// output-buffer limit, ms (0 = below it).
    pub soft_limit_since_ms: i64,
}

/// The link to our master, while we are a replica.
#[derive(Clone, Debug)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// Last time anything came from the master, ms.
    pub last_io_ms: i64,
    /// When the link went down (or we became a replica), ms.
    pub down_since_ms: i64,
    /// During a transfer: its size (-1 for an `$EOF:` one), and bytes read.
    pub transfer_size: i64,
    pub transfer_read: u64,
    pub transfer_last_io_ms: i64,
    /// Offset of the stream bytes read from the master (applied or not).
    pub read_offset: u64,
    /// Bumped whenever the master changes: older link tasks stop.
    pub generation: u64,
}

/// The replica-side handshake, as INFO and ROLE name its steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    Transfer,
    Connected,
}

impl LinkState {
    /// The state ROLE reports.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// A FAILOVER in progress (Redis 7.0's coordinated switch).
#[derive(Clone, Debug)]
pub struct Failover {
    /// `TO host port`; `None`: the first replica that catches up.
    pub target: Option<(String, u16)>,
    pub deadline_ms: Option<i64>,
    pub force: bool,
    /// False while waiting for the target to catch up; true once we follow it.
    pub in_progress: bool,
}

impl Failover {
    /// INFO's `master_failover_state`.
    pub fn state_name(&self) -> &'static str {
        if self.in_progress {
            "failover-in-progress"
        } else {
            "waiting-for-sync"
        }
    }
}

/// The answer to `PSYNC <replid> <offset>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PsyncDecision {
    /// `+CONTINUE`: stream from the backlog at this position.
    Continue,
    /// `+FULLRESYNC`; the reason, for the log, when a partial resync was asked.
    Full(Option<String>),
}

/// This server's replication state.
pub struct Replication {
    pub replid: String,
    /// The id we had before the last promotion, valid up to `second_offset - 1`.
    pub replid2: String,
    pub second_offset: i64,
    /// `master_repl_offset`: stream bytes produced (master) or applied (replica).
    pub offset: u64,
    /// The stream and backlog; `None` until the first replica (or until we
    /// sync with a master), as `repl_backlog_active` shows.
    pub buffer: Option<ReplBuffer>,
    /// The database the stream last selected (`None`: the next command must SELECT).
    pub stream_db: Option<usize>,
    pub replicas: Vec<ReplicaRecord>,
    /// Set while we are a replica.
    pub master: Option<MasterLink>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// When the last replica left, ms (for `repl-backlog-ttl`).
    pub no_replicas_since_ms: i64,
    /// Whether a `REPLCONF GETACK` should go out with the next stream bytes.
    pub getack_pending: bool,
    /// Whether `replid`/`offset` are a history a master may continue (a
    /// `PSYNC <replid> <offset+1>`), rather than `PSYNC ? -1`.
    pub psync_possible: bool,
    pub failover: Option<Failover>,
    /// `offset` when the replica senders were last woken.
    pub woken_offset: u64,
    /// The master link generation whose first attempt REPLICAOF already
    /// announced in the log (0: none).
    pub announced_link: u64,
    /// Where new ids (and `$EOF:` marks) come from.
    rng: SmallRng,
}

impl Default for Replication {
    fn default() -> Self {
        Replication::new()
    }
}

impl Replication {
    /// A server's replication state, its ids drawn from the OS's entropy.
    pub fn new() -> Replication {
        Replication::with_rng(SmallRng::from_entropy())
    }

    /// The same, its ids drawn from `seed` (the simulation, tests).
    pub fn with_seed(seed: u64) -> Replication {
        Replication::with_rng(SmallRng::seed_from_u64(seed))
    }

    fn with_rng(mut rng: SmallRng) -> Replication {
        Replication {
            replid: random_id(&mut rng),
            replid2: NULL_REPLID.to_string(),
            second_offset: -1,
            offset: 0,
            buffer: None,
            stream_db: None,
            replicas: Vec::new(),
            master: None,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            no_replicas_since_ms: 0,
            getack_pending: false,
            psync_possible: false,
            failover: None,
            woken_offset: 0,
            announced_link: 0,
            rng,
        }
    }

    /// A fresh 40-character hex id (a replication id, an `$EOF:` mark).
    pub fn new_id(&mut self) -> String {
        random_id(&mut self.rng)
    }

    /// A new history with no past: a fresh id, no secondary one.
    pub fn fresh_history(&mut self) {
        self.replid = self.new_id();
        self.replid2 = NULL_REPLID.to_string();
        self.second_offset = -1;
    }

    /// Appends stream bytes: to the backlog if there is one; the offset
    /// only counts bytes that really enter the stream, as in Redis.
    pub fn feed(&mut self, data: &[u8]) {
        if let Some(b) = self.buffer.as_mut() {
            b.append(data);
            self.offset = b.end_offset();
        }
    }

    /// Creates the backlog if there is none, starting at the current offset.
    pub fn ensure_backlog(&mut self, size: u64) {
        if self.buffer.is_none() {
            self.buffer = Some(ReplBuffer::new(self.offset, size));
            self.stream_db = None;
        }
    }

    /// Drops the backlog (`repl-backlog-ttl` passed with no replicas).
    pub fn free_backlog(&mut self) {
        self.buffer = None;
    }

    /// Decides a `PSYNC <replid> <position>`, as Redis's
    /// masterTryPartialResynchronization does.
    pub fn psync_decision(&self, replid: &str, position: i64) -> PsyncDecision {
        if replid == "?" {
            return PsyncDecision::Full(None);
        }
        let same_history =
            replid == self.replid || (replid == self.replid2 && position <= self.second_offset);
        if !same_history {
            let reason = if replid != self.replid && replid != self.replid2 {
                format!(
                    "Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    replid, self.replid, self.replid2
                )
            } else {
                format!(
                    "Requested offset for second ID was {}, but I can reply up to {}",
                    position, self.second_offset
                )
            };
            return PsyncDecision::Full(Some(reason));
        }
        match &self.buffer {
            Some(b) if position >= 0 && b.backlog_covers(position as u64) => {
                PsyncDecision::Continue
            }
            _ => PsyncDecision::Full(Some(master::LACK_OF_BACKLOG.into())),
        }
    }

    /// A new history starts here (promotion): the old id stays valid up to
    /// the current offset, for the replicas that followed it.
    pub fn shift_replid(&mut self) {
        let id = self.new_id();
        self.replid2 = std::mem::replace(&mut self.replid, id);
        self.second_offset = self.offset as i64 + 1;
    }

    /// Adopts a master's history after a full sync from it.
    pub fn adopt_master_history(&mut self, replid: &str, offset: u64, backlog_size: u64) {
        self.replid = replid.to_string();
        self.replid2 = NULL_REPLID.to_string();
        self.second_offset = -1;
        self.offset = offset;
        self.buffer = Some(ReplBuffer::new(offset, backlog_size));
        self.stream_db = None;
    }

    /// After loading an RDB at start-up that recorded history `id` up to
    /// `offset`: a replica resumes it (so it can ask its master for a
    /// partial resync); a master keeps it as its secondary id, so that
    /// replicas that were in sync can continue.
    pub fn restore_history(
        &mut self,
        id: &str,
        offset: u64,
        stream_db: usize,
        backlog_size: u64,
        now_ms: i64,
    ) {
        if self.master.is_some() {
            self.replid = id.to_string();
            self.offset = offset;
            self.psync_possible = true;
            self.stream_db = Some(stream_db);
        } else {
            self.replid2 = id.to_string();
            self.second_offset = offset as i64 + 1;
            self.offset = offset;
            self.buffer = None;
            self.ensure_backlog(backlog_size);
            self.no_replicas_since_ms = now_ms;
        }
    }

    /// After `+CONTINUE <new id>`: our master's id changed (it was
    /// promoted); the old one stays valid up to here.
    pub fn master_changed_replid(&mut self, new_replid: &str) {
        if new_replid != self.replid {
            self.replid2 = std::mem::replace(&mut self.replid, new_replid.to_string());
            self.second_offset = self.offset as i64 + 1;
        }
    }

    pub fn replica(&self, client_id: u64) -> Option<&ReplicaRecord> {
        self.replicas.iter().find(|r| r.client_id == client_id)
    }

    pub fn replica_mut(&mut self, client_id: u64) -> Option<&mut ReplicaRecord> {
        self.replicas.iter_mut().find(|r| r.client_id == client_id)
    }

    /// Forgets a replica that disconnected.
    pub fn remove_replica(&mut self, client_id: u64, now_ms: i64) {
        self.replicas.retain(|r| r.client_id != client_id);
        if self.replicas.is_empty() {
            self.no_replicas_since_ms = now_ms;
        }
    }

    /// Online replicas whose last ACK is at most `max_lag_secs` old (the
    /// ones `min-replicas-to-write` counts).
    pub fn good_replicas(&self, now_ms: i64, max_lag_secs: u64) -> usize {
        self.replicas
            .iter()
            .filter(|r| {
                r.state == ReplicaState::Online
                    && (now_ms - r.ack_ms).max(0) as u64 / 1000 <= max_lag_secs
            })
            .count()
    }

    /// Replicas that acknowledged at least `offset` (WAIT).
    pub fn acked(&self, offset: u64) -> usize {
        self.replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Online && r.ack_offset >= offset)
            .count()
    }

    /// Trims the stream below what the backlog and every replica need.
    pub fn trim(&mut self) {
        let keep = self
            .replicas
            .iter()
            .filter(|r| r.state != ReplicaState::WaitBgsave)
            .map(|r| r.position)
            .min();
        if let Some(b) = self.buffer.as_mut() {
            b.trim(keep);
        }
    }
}

fn random_id(rng: &mut SmallRng) -> String {
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replids_are_40_hex() {
        let mut r = Replication::new();
        let id = r.new_id();
        assert_eq!(id.len(), 40);
        assert!(id.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, r.new_id());
        // Seeded: the same ids every run.
        assert_eq!(
            Replication::with_seed(7).replid,
            Replication::with_seed(7).replid
        );
    }

    #[test]
    fn psync_decisions() {
        let mut r = Replication::new();
        assert_eq!(r.psync_decision("?", -1), PsyncDecision::Full(None));
        let id = r.replid.clone();
        // No backlog yet.
        assert!(matches!(
            r.psync_decision(&id, 1),
            PsyncDecision::Full(Some(_))
        ));
        r.ensure_backlog(100);
        r.feed(b"0123456789");
        assert_eq!(r.offset, 10);
        assert_eq!(r.psync_decision(&id, 1), PsyncDecision::Continue);
        assert_eq!(r.psync_decision(&id, 11), PsyncDecision::Continue);
        assert!(matches!(r.psync_decision(&id, 12), PsyncDecision::Full(_)));
        assert!(matches!(r.psync_decision("x", 5), PsyncDecision::Full(_)));
        // Promotion: the old id is good up to the shift.
        r.shift_replid();
        assert_eq!(r.second_offset, 11);
        assert_eq!(r.psync_decision(&id, 11), PsyncDecision::Continue);
        r.feed(b"abc");
        assert!(matches!(r.psync_decision(&id, 12), PsyncDecision::Full(_)));
        let new_id = r.replid.clone();
        assert_eq!(r.psync_decision(&new_id, 12), PsyncDecision::Continue);
    }

    #[test]
    fn good_replicas_and_acks() {
        let mut r = Replication::new();
        let rec = |id, state, ack, ms| ReplicaRecord {
            client_id: id,
            ip: "127.0.0.1".into(),
            listening_port: 1,
            state,
            position: 1,
            ack_offset: ack,
            ack_ms: ms,
            capa_eof: true,
            capa_psync2: true,
            soft_limit_since_ms: 0,
            psync: true,
        };
        r.replicas.push(rec(1, ReplicaState::Online, 10, 10_000));
        r.replicas.push(rec(2, ReplicaState::Online, 5, 2_000));
        r.replicas.push(rec(3, ReplicaState::SendBulk, 50, 10_000));
        assert_eq!(r.good_replicas(11_000, 1), 1);
        assert_eq!(r.good_replicas(11_000, 10), 2);
        assert_eq!(r.acked(6), 1);
        assert_eq!(r.acked(5), 2);
    }
}
