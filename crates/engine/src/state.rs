//! The server state every command runs against, and the per-connection client.
//!
//! Locking: the whole `State` sits behind one mutex owned by the server crate.
//! A connection takes it once per pipelined batch of requests, runs them all in
//! order, and lets go; this gives the single total order of commands that
//! replication and the AOF need, without a thread hand-off per request.
//! Anything a connection task must see without the lock (messages pushed to it,
//! a kill order, bytes it has queued) travels through its `PushHandle`.

use crate::stats::Stats;
use bytes::Bytes;
use parking_lot::Mutex;
use redust_config::Config;
use redust_keyspace::Db;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What a connection task receives outside the replies to its own requests.
#[derive(Debug)]
pub enum Push {
    /// Bytes to write as they are (pub/sub messages, MONITOR lines).
    Data(Bytes),
    /// Close the connection (CLIENT KILL, output buffer limit).
    Kill,
    /// Something the connection waits on may have changed (unpause, ...).
    Wake,
}

/// The sending side of a connection's push channel, held by the state.
#[derive(Clone, Debug)]
pub struct PushHandle {
    tx: mpsc::UnboundedSender<Push>,
    /// Bytes sent but not yet written to the socket by the connection task.
    pub queued_bytes: Arc<AtomicUsize>,
    pub killed: Arc<AtomicBool>,
    /// Fired by `kill`, so a task stuck writing to a client that doesn't read wakes up.
    pub kill_notify: Arc<tokio::sync::Notify>,
    /// Reply bytes the connection task holds but could not write yet (the
    /// client is not reading).
    pub unwritten_bytes: Arc<AtomicUsize>,
    /// Bytes in the connection's query buffer (read, not yet run).
    pub query_bytes: Arc<AtomicUsize>,
    /// When the output first passed the soft limit, in Unix seconds (0: not over).
    pub soft_limit_since_s: Arc<std::sync::atomic::AtomicI64>,
    /// Who may read the socket now (`input`): while a script is busy, the
    /// server serves idle connections itself.
    pub input: Arc<std::sync::atomic::AtomicU8>,
}

/// Who reads a connection's socket: the values of `PushHandle::input`.
pub mod input {
    /// The connection's task is running (reading, executing or writing).
    pub const RUNNING: u8 = 0;
    /// The task waits for input with nothing buffered, pending or unwritten:
    /// a busy script's servicing may claim the socket.
    pub const IDLE: u8 = 1;
    /// Claimed by the busy servicing; what it read and did not run yet is in
    /// `Client::busy_input`, for the task to take back when it wakes.
    pub const CLAIMED: u8 = 2;
}

impl PushHandle {
    pub fn new() -> (PushHandle, mpsc::UnboundedReceiver<Push>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = PushHandle {
            tx,
            queued_bytes: Arc::new(AtomicUsize::new(0)),
            killed: Arc::new(AtomicBool::new(false)),
            unwritten_bytes: Arc::new(AtomicUsize::new(0)),
            query_bytes: Arc::new(AtomicUsize::new(0)),
            soft_limit_since_s: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            input: Arc::new(std::sync::atomic::AtomicU8::new(input::RUNNING)),
            kill_notify: Arc::new(tokio::sync::Notify::new()),
        };
        (handle, rx)
    }

    pub fn send_data(&self, data: Bytes) {
        self.queued_bytes.fetch_add(data.len(), Ordering::Relaxed);
        let _ = self.tx.send(Push::Data(data));
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.kill_notify.notify_one();
        let _ = self.tx.send(Push::Kill);
    }

    pub fn wake(&self) {
        let _ = self.tx.send(Push::Wake);
    }
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the reply of the current command.
    Skip,
}

/// One connection's session: everything a command may read or change about
/// the client that sent it.
pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Option<Vec<u8>>,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    /// Cluster: READONLY (reads served by a replica of the slot's master).
    pub readonly: bool,
    /// Cluster: ASKING (the next command may use an importing slot).
    pub asking: bool,
    /// The ACL user the client runs as; `None` for the server's own clients
    /// (the master's stream, the AOF), which may run anything.
    pub user: Option<Vec<u8>>,
    /// Queued commands while in MULTI; `None` outside a transaction.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A queued command was refused: EXEC must answer EXECABORT.
    pub multi_error: bool,
    /// While EXEC runs: how many commands it is running (CLIENT LIST's `multi`).
    pub exec_queue_len: Option<usize>,
    /// Set while the client waits in a blocking command.
    pub blocked: Option<crate::blocking::BlockedOn>,
    /// True while the server re-runs this client's blocked command.
    pub serving_blocked: bool,
    /// Set by a handler that chose what to propagate (see `propagate`).
    pub custom_propagation: bool,
    /// Keys under WATCH (`State::watched_keys` knows which were expired then).
    pub watched: Vec<(usize, Vec<u8>)>,
    pub channels: HashSet<Vec<u8>>,
    pub patterns: HashSet<Vec<u8>>,
    /// Sharded pub/sub channels (SSUBSCRIBE).
    pub shard_channels: HashSet<Vec<u8>>,
    pub reply_mode: ReplyMode,
    pub monitor: bool,
    pub no_evict: bool,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub last_command: String,
    /// Close the connection once the current replies are written (QUIT, errors).
    pub close_after_reply: bool,
    /// Memory last counted for this client in `State::clients_memory`
    /// (client eviction's accounting; 0 when not counted).
    pub memory_accounted: usize,
    pub push: PushHandle,
    /// Replication roles of the connection (flags `S` and `M`).
    pub repl: ClientReplRole,
    /// The replication offset after this client's last write (WAIT).
    pub write_offset: u64,
    /// Waiting for a pause to end (counted in `blocked_clients`, as Redis does).
    pub postponed: bool,
    /// Bytes read while a script was busy that are not a whole request yet;
    /// the connection's task takes them back (see `PushHandle::input`).
    pub busy_input: bytes::BytesMut,
}

/// What REPLCONF told us before PSYNC, and whether the connection is a
/// replica of ours or our master's link.
#[derive(Default)]
pub struct ClientReplRole {
    pub listening_port: u16,
    pub announced_ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// PSYNC made this connection a replica: the connection task hands the
    /// socket over to the replica sender with this.
    pub handoff: Option<crate::replication::ReplicaHandoff>,
    pub is_replica: bool,
    /// The connection that brings our master's stream.
    pub is_master: bool,
}

impl Client {
    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        fd: i32,
        push: PushHandle,
        now_ms: i64,
    ) -> Client {
        Client {
            id,
            addr,
            laddr,
            fd,
            name: None,
            db: 0,
            resp3: false,
            authenticated: false,
            user: Some(b"default".to_vec()),
            readonly: false,
            asking: false,
            multi: None,
            multi_error: false,
            exec_queue_len: None,
            blocked: None,
            serving_blocked: false,
            custom_propagation: false,
            watched: Vec::new(),
            channels: HashSet::new(),
            patterns: HashSet::new(),
            shard_channels: HashSet::new(),
            reply_mode: ReplyMode::On,
            monitor: false,
            no_evict: false,
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            last_command: "NULL".into(),
            close_after_reply: false,
            memory_accounted: 0,
            push,
            repl: ClientReplRole::default(),
            write_offset: 0,
            postponed: false,
            busy_input: bytes::BytesMut::new(),
        }
    }

    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// RESP2 clients with subscriptions (sharded ones too) may only run
    /// pub/sub commands.
    pub fn in_pubsub_context(&self) -> bool {
        !self.resp3 && (self.subscription_count() > 0 || !self.shard_channels.is_empty())
    }
}

/// A CLIENT PAUSE in force.
#[derive(Clone, Copy, Debug)]
pub struct Pause {
    pub until_ms: i64,
    /// True for `WRITE` (only writes wait), false for `ALL`.
    pub writes_only: bool,
}

/// One SLOWLOG entry.
#[derive(Clone, Debug)]
pub struct SlowLogEntry {
    pub id: u64,
    pub time_secs: i64,
    pub duration_us: u64,
    pub args: Vec<Bytes>,
    pub peer: String,
    pub client_name: Vec<u8>,
}

/// Latency samples for one event (LATENCY LATEST/HISTORY).
#[derive(Clone, Debug, Default)]
pub struct LatencyEvent {
    /// (unix seconds, ms), newest last, at most 160.
    pub samples: VecDeque<(i64, u64)>,
    pub max_ms: u64,
}

/// Why the server should shut down, set by SHUTDOWN for the server crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownRequest {
    Default,
    Save,
    NoSave,
}

/// What the DEBUG command can set for tests, as Redis's DEBUG does.
#[derive(Clone, Debug, Default)]
pub struct DebugKnobs {
    /// `DEBUG PAUSE-CRON 1`: the periodic jobs (active expiry, replication
    /// pings and timeouts, client timeouts...) stop until `0`.
    pub pause_cron: bool,
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`: RDB loads and RESTORE skip
    /// the CRC check.
    pub skip_checksum_validation: bool,
    /// `DEBUG AOF-FLUSH-SLEEP <us>`: sleep before each AOF write.
    pub aof_flush_sleep_us: u64,
    /// `DEBUG REPLYBUFFER PEAK-RESET-TIME` (ms; `None`: never) and
    /// `RESIZING`: accepted and shown; replies here are buffered per batch,
    /// with no resize cron for them to steer.
    pub reply_buffer_peak_reset_ms: Option<i64>,
    pub reply_buffer_resizing: bool,
}

/// A client watching a key (WATCH).
#[derive(Clone, Copy, Debug)]
pub struct Watcher {
    pub client: u64,
    /// The key was logically expired when watched: its deletion changes
    /// nothing (it was already gone for readers), as in Redis.
    pub expired: bool,
}

/// The connected clients. Derefs to the registry of the clients not
/// executing right now (the executing one is passed alongside the state).
pub struct Clients {
    registry: crate::FastMap<u64, Box<Client>>,
    /// Push handles (and protocol) of every connected client, by id, the
    /// executing one included.
    pub handles: crate::FastMap<u64, (PushHandle, bool)>,
    /// Clients in MONITOR, in the order they asked.
    pub monitors: Vec<u64>,
    /// Memory of the normal and pub/sub clients as last counted, for
    /// `maxmemory-clients` (kept only while that is set).
    pub memory: u64,
    next_id: u64,
}

impl Clients {
    fn new() -> Clients {
        Clients {
            registry: crate::FastMap::default(),
            handles: crate::FastMap::default(),
            monitors: Vec::new(),
            memory: 0,
            next_id: 1,
        }
    }

    /// The id the next connection gets.
    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

impl std::ops::Deref for Clients {
    type Target = crate::FastMap<u64, Box<Client>>;

    fn deref(&self) -> &Self::Target {
        &self.registry
    }
}

impl std::ops::DerefMut for Clients {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.registry
    }
}

/// Pub/sub subscriptions, and the messages a publishing client gets for itself.
pub struct PubSubState {
    /// channel -> subscriber ids, in subscription order.
    pub channels: HashMap<Vec<u8>, Vec<u64>>,
    /// pattern -> subscriber ids, in subscription order.
    pub patterns: HashMap<Vec<u8>, Vec<u64>>,
    /// shard channel -> subscriber ids (SSUBSCRIBE).
    pub shard_channels: HashMap<Vec<u8>, Vec<u64>>,
    /// While a command of client `.0` publishes (PUBLISH, keyspace events):
    /// the messages for that client itself, which go into its reply where
    /// the publishing happens, before the command's own reply, as in Redis.
    pub self_push: Option<(u64, Vec<bytes::Bytes>)>,
    /// While a command that Redis answers before firing its events runs:
    /// its client's own event messages, written after its reply.
    pub deferred_self_push: Option<Vec<u8>>,
}

/// Memory figures: the latest, and used_memory right after start-up and at its highest.
pub struct MemoryState {
    /// Latest memory figures, refreshed by `refresh_memory`.
    pub figures: MemoryFigures,
    /// used_memory right after start-up, and the highest seen.
    pub startup_allocated: u64,
    pub peak_allocated: u64,
}

/// `maxmemory` eviction: the pool of best candidates and the next database to sample.
pub struct Eviction {
    /// Best eviction candidates seen so far: (score, db, key), best last.
    pub pool: Vec<(u64, usize, Vec<u8>)>,
    pub next_db: usize,
}

/// RDB saving and loading: the background save, the last save and load, the loading status (INFO persistence).
pub struct RdbState {
    /// Unix time of the last successful save (LASTSAVE).
    pub last_save_secs: i64,
    /// Successful saves since start-up, and whether the last one worked.
    pub saves: u64,
    pub last_save_ok: bool,
    /// Keys the last load found loaded / already expired.
    pub last_load: crate::persist::LoadStats,
    /// True while the start-up RDB load runs in the background: commands
    /// without the `loading` flag get LOADING.
    pub loading_in_background: bool,
    /// A replica loads its master's snapshot beside the data it keeps
    /// serving (`repl-diskless-load swapdb`): INFO's `async_loading`.
    pub async_loading: bool,
    /// The background save in progress, if any.
    pub bgsave: Option<crate::persist::BgSave>,
    pub last_bgsave_secs: i64,
    /// When the last background save failed (0: it didn't), for the retry delay.
    pub last_bgsave_failed_ms: i64,
}

impl RdbState {
    /// A background save (BGSAVE, a full sync's snapshot, an AOF rewrite's
    /// base) is running.
    pub fn bgsave_running(&self) -> bool {
        self.bgsave.is_some()
    }
}

/// The append-only file and its rewrites (INFO persistence's `aof_*` fields).
pub struct AofState {
    /// The append-only file, when `appendonly yes`.
    pub file: Option<crate::aof::Aof>,
    /// A BGREWRITEAOF running while `appendonly` is off.
    pub off_rewrite: Option<crate::aof::OffRewrite>,
    pub last_write_ok: bool,
    pub rewrites: u64,
    pub last_rewrite_ok: bool,
    /// BGREWRITEAOF asked while a BGSAVE runs: start it when that ends.
    pub rewrite_scheduled: bool,
}

impl AofState {
    /// `appendonly yes`: the AOF is open for appending.
    pub fn is_on(&self) -> bool {
        self.file.is_some()
    }
}

/// Clients waiting in blocking commands, by key, and the keys that got data during the current command.
pub struct Blocking {
    /// Clients waiting in a blocking command.
    pub blocked_clients: usize,
    /// (db, key) -> ids of clients waiting on it, first come first served.
    pub blocking_keys: HashMap<(usize, Vec<u8>), VecDeque<u64>>,
    /// Keys that got data for waiters during the current command.
    pub ready_keys: Vec<(usize, Vec<u8>)>,
}

/// WATCH: who watches which key, and whose transaction must fail.
pub struct Watches {
    /// db -> key -> the clients watching it.
    pub watched_keys: HashMap<usize, HashMap<Vec<u8>, Vec<Watcher>>>,
    /// Clients whose watched keys were touched: their EXEC must fail.
    pub dirty_cas: HashSet<u64>,
}

/// What the running command propagates to the AOF and the replicas.
pub struct Propagation {
    /// Commands to replay, gathered since the consumers last took them.
    pub propagated: Vec<crate::propagate::Propagated>,
    /// What the running call chose to propagate (moved to `propagated` after
    /// the lazily expired keys it met).
    pub pending_propagation: Vec<crate::propagate::Propagated>,
}

/// SLOWLOG and LATENCY records.
pub struct Diagnostics {
    pub slowlog: VecDeque<SlowLogEntry>,
    pub slowlog_next_id: u64,
    pub latency: HashMap<&'static str, LatencyEvent>,
}

/// Who this node is (INFO server): its run id, start time, config file, executable and port.
pub struct NodeInfo {
    pub run_id: String,
    pub start_ms: i64,
    pub config_file: Option<std::path::PathBuf>,
    pub executable: String,
    pub tcp_port: u16,
}

/// The whole server's data and bookkeeping. See the module doc for locking.
pub struct State {
    pub dbs: Vec<Db>,
    pub config: Config,
    /// The connected clients: the registry, their push handles, MONITORs.
    pub clients: Clients,
    /// The OOM score this process started from, while `oom-score-adj` changed it.
    pub oom_score: crate::oom_score::OomScoreState,
    /// The command table (with renames applied).
    pub commands: Arc<crate::exec::CommandTable>,
    /// Cluster mode's key routing (`None`: every key is ours).
    pub router: Option<Arc<dyn crate::exec::KeyRouter>>,
    /// False on a replica: expired keys are hidden, deleted only by the master.
    pub expire_deletes: bool,
    pub stats: Stats,
    pub pause: Option<Pause>,
    pub shutdown: Option<ShutdownRequest>,
    /// Writes since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    pub active_expire_enabled: bool,
    /// DEBUG knobs for tests (PAUSE-CRON, SET-SKIP-CHECKSUM-VALIDATION,
    /// AOF-FLUSH-SLEEP, REPLYBUFFER).
    pub debug: DebugKnobs,
    pub rng: rand::rngs::SmallRng,
    /// The time every command of the current batch sees.
    pub now_ms: i64,
    /// What the node's host provides: logs, memory figures, reactions to
    /// CONFIG SET, SHUTDOWN and REPLICAOF (`NoHost` until one is set).
    pub host: Arc<dyn Host>,
    /// True while loading data: nothing is propagated.
    pub loading: bool,
    /// Replication ids, offsets, backlog, replicas, master link.
    pub repl: redust_replication::Replication,
    /// The script VM and cache, and the client scripts' commands run as.
    pub scripting: crate::scripting::Scripting,
    /// The sender side of each replica connection (by client id).
    pub repl_links: HashMap<u64, crate::replication::ReplicaLink>,
    /// RDB saving and loading: the background save, the last save and load, the loading status (INFO persistence).
    pub rdb: RdbState,
    /// The append-only file and its rewrites (INFO persistence's `aof_*` fields).
    pub aof: AofState,
    /// Clients waiting in blocking commands, by key, and the keys that got data during the current command.
    pub blocking: Blocking,
    /// WATCH: who watches which key, and whose transaction must fail.
    pub watch: Watches,
    /// What the running command propagates to the AOF and the replicas.
    pub propagation: Propagation,
    /// SLOWLOG and LATENCY records.
    pub diag: Diagnostics,
    /// Who this node is (INFO server): its run id, start time, config file, executable and port.
    pub node: NodeInfo,
    /// Pub/sub subscriptions, and the messages a publishing client gets for itself.
    pub pubsub: PubSubState,
    /// Memory figures: the latest, and used_memory right after start-up and at its highest.
    pub memory: MemoryState,
    /// `maxmemory` eviction: the pool of best candidates and the next database to sample.
    pub eviction: Eviction,
    /// Sentinel mode: the Sentinel this node is (`None` on a data node).
    pub sentinel: Option<Box<redust_sentinel::node::Sentinel>>,
    /// Safe mode's lease from the Sentinels (`safe_writes`).
    pub safe_lease: crate::safe_writes::Lease,
    /// The ACL users and log.
    pub acl: redust_acl::Acl,
    /// Cluster mode: the cluster machine and the shell's outbox.
    pub cluster: Option<Box<crate::cluster::ClusterNode>>,
    /// MIGRATE's connections to its targets, by `host:port`, kept a while
    /// for the next call (a resharding migrates slot after slot).
    pub migrate_conns: HashMap<String, MigrateConn>,
}

/// A cached MIGRATE connection.
pub struct MigrateConn {
    pub stream: std::net::TcpStream,
    /// The database last SELECTed on it.
    pub db: i64,
    pub last_use_ms: i64,
}

/// Memory as the allocator reports it.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemoryFigures {
    pub allocated: u64,
    pub active: u64,
    pub resident: u64,
    pub retained: u64,
    pub mapped: u64,
    /// The process's resident set size.
    pub rss: u64,
}

/// A log line's level (Redis's: verbose, notice, warning).
pub use redust_replication::Level as LogLevel;

/// What a node's host (the server process, a test) provides the engine:
/// its log, memory figures, and what the engine cannot do itself (rebinding
/// listeners after CONFIG SET, stopping the process, waking the master
/// link). One per node, so several nodes can share a process.
pub trait Host: Send + Sync {
    fn log(&self, _level: LogLevel, _line: &str) {}
    /// The role letter of the log lines that follow (`M`, `S`, `C`, `X`).
    fn set_role(&self, _role: u8) {}
    /// Bytes in use right now, cheap enough to call before every command.
    fn used_memory(&self) -> u64 {
        0
    }
    /// The allocator's and the process's figures (INFO memory).
    fn memory_figures(&self) -> MemoryFigures {
        MemoryFigures::default()
    }
    /// After CONFIG SET, with the names of the directives that changed.
    fn config_changed(&self, _state: &mut State, _changed: &[&'static str]) {}
    /// SHUTDOWN asked the node to stop.
    fn shutdown_requested(&self) {}
    /// The master to follow changed (REPLICAOF, FAILOVER, start-up).
    fn master_changed(&self) {}
    /// A script has run past `busy-reply-threshold`: read and answer the
    /// other clients now (they get -BUSY, or SCRIPT KILL and the other
    /// `allow_busy` commands run), and accept new connections. Called from
    /// the script's hook, with the state it runs on.
    fn serve_while_busy(&self, _state: &mut State) {}
}

/// A host that logs nothing and reports no memory (tests, loader states).
pub struct NoHost;

impl Host for NoHost {}

impl State {
    /// A node's state, running the commands of `commands` (built with
    /// `config`'s renames: `cmd::command_table`).
    pub fn new(config: Config, now_ms: i64, commands: Arc<crate::exec::CommandTable>) -> State {
        use rand::{Rng, SeedableRng};
        let dbs = (0..config.databases.max(1)).map(|_| Db::new()).collect();
        let mut rng = rand::rngs::SmallRng::from_entropy();
        let run_id: String = (0..40)
            .map(|_| format!("{:x}", rng.gen_range(0..16u8)))
            .collect();
        let mut acl = redust_acl::Acl::new(Arc::new(crate::acl::catalog_for(commands.specs())));
        acl.pubsub_all = config.acl_pubsub_default == redust_config::AclPubsubDefault::AllChannels;
        acl.set_default_password(config.requirepass.as_deref());
        State {
            acl,
            cluster: None,
            migrate_conns: HashMap::new(),
            dbs,
            config,
            clients: Clients::new(),
            oom_score: Default::default(),
            commands,
            router: None,
            expire_deletes: true,
            stats: Stats::default(),
            pause: None,
            shutdown: None,
            dirty: 0,
            active_expire_enabled: true,
            debug: DebugKnobs::default(),
            rng,
            now_ms,
            host: Arc::new(NoHost),
            loading: false,
            pubsub: PubSubState {
                channels: HashMap::new(),
                patterns: HashMap::new(),
                shard_channels: HashMap::new(),
                self_push: None,
                deferred_self_push: None,
            },
            memory: MemoryState {
                figures: MemoryFigures::default(),
                startup_allocated: 0,
                peak_allocated: 0,
            },
            eviction: Eviction {
                pool: Vec::new(),
                next_db: 0,
            },
            sentinel: None,
            safe_lease: Default::default(),
            rdb: RdbState {
                last_save_secs: now_ms / 1000,
                saves: 0,
                last_save_ok: true,
                last_load: Default::default(),
                loading_in_background: false,
                async_loading: false,
                bgsave: None,
                last_bgsave_secs: -1,
                last_bgsave_failed_ms: 0,
            },
            aof: AofState {
                file: None,
                off_rewrite: None,
                last_write_ok: true,
                rewrites: 0,
                last_rewrite_ok: true,
                rewrite_scheduled: false,
            },
            blocking: Blocking {
                blocked_clients: 0,
                blocking_keys: HashMap::new(),
                ready_keys: Vec::new(),
            },
            watch: Watches {
                watched_keys: HashMap::new(),
                dirty_cas: HashSet::new(),
            },
            propagation: Propagation {
                propagated: Vec::new(),
                pending_propagation: Vec::new(),
            },
            diag: Diagnostics {
                slowlog: VecDeque::new(),
                slowlog_next_id: 0,
                latency: HashMap::new(),
            },
            node: NodeInfo {
                run_id,
                start_ms: now_ms,
                config_file: None,
                executable: String::new(),
                tcp_port: 0,
            },
            repl: redust_replication::Replication::new(),
            scripting: Default::default(),
            repl_links: HashMap::new(),
        }
    }

    /// Registers a new connection and returns its client.
    pub fn connect(
        &mut self,
        addr: String,
        laddr: String,
        fd: i32,
        now_ms: i64,
    ) -> (Box<Client>, mpsc::UnboundedReceiver<Push>) {
        let (handle, rx) = PushHandle::new();
        let id = self.clients.next_id();
        self.clients.handles.insert(id, (handle.clone(), false));
        let mut client = Box::new(Client::new(id, addr, laddr, fd, handle, now_ms));
        client.authenticated = !self.acl.auth_required();
        self.stats.total_connections_received += 1;
        (client, rx)
    }

    /// Forgets a connection that has closed: its subscriptions, watches, handle.
    pub fn disconnect(&mut self, client: &mut Client) {
        if std::mem::take(&mut client.postponed) {
            self.blocking.blocked_clients = self.blocking.blocked_clients.saturating_sub(1);
        }
        crate::blocking::unblock(self, client);
        crate::pubsub::unsubscribe_all(self, client);
        crate::notify::unwatch_all(self, client);
        crate::client_eviction::forget(self, client);
        self.clients.handles.remove(&client.id);
        self.clients.remove(&client.id);
        self.clients.monitors.retain(|&id| id != client.id);
        self.watch.dirty_cas.remove(&client.id);
    }

    /// Sets or lifts a pause (CLIENT PAUSE, FAILOVER, SHUTDOWN) and wakes
    /// every connection, so that waiting commands look at it again.
    /// While clients are paused (CLIENT PAUSE, FAILOVER, SHUTDOWN waiting for
    /// its replicas) the dataset stays as it is: no active expiry, no
    /// eviction, and expired keys are hidden but not deleted, so nothing
    /// enters the replication stream (Redis 7.0's
    /// checkClientPauseTimeoutAndReturnIfPaused).
    pub fn dataset_frozen(&self) -> bool {
        self.shutdown.is_some() || self.pause.is_some_and(|p| p.until_ms > self.now_ms)
    }

    pub fn set_pause(&mut self, pause: Option<Pause>) {
        self.pause = pause;
        for (h, _) in self.clients.handles.values() {
            h.wake();
        }
    }

    /// Re-reads the allocator's figures.
    pub fn refresh_memory(&mut self) {
        self.memory.figures = self.host.memory_figures();
        self.memory.peak_allocated = self
            .memory
            .peak_allocated
            .max(self.memory.figures.allocated);
    }

    /// Takes client `id` out of the registry to run its commands (the
    /// executing client is passed alongside the state, not found in it).
    pub fn take_client(&mut self, id: u64) -> Option<Box<Client>> {
        self.clients.remove(&id)
    }

    /// Puts a client taken with `take_client` back.
    pub fn return_client(&mut self, client: Box<Client>) {
        self.clients.insert(client.id, client);
    }

    pub fn log_warning(&self, line: &str) {
        self.host.log(LogLevel::Warning, line);
    }

    pub fn log_notice(&self, line: &str) {
        self.host.log(LogLevel::Notice, line);
    }

    pub fn log_verbose(&self, line: &str) {
        self.host.log(LogLevel::Verbose, line);
    }

    /// The role letter of the log lines that follow.
    pub fn log_role(&self, role: u8) {
        self.host.set_role(role);
    }

    /// Bytes in use right now (the host's allocator count).
    pub fn used_memory(&self) -> u64 {
        self.host.used_memory()
    }

    pub fn connected_clients(&self) -> usize {
        self.clients.handles.len()
    }
}

/// The state as the server shares it between connection tasks.
pub type SharedState = Arc<Mutex<State>>;
