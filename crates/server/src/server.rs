//! The running server: shared state, listeners, the cron, and shutdown.

use crate::{conn, daemon, notice, verbose, warning};
use parking_lot::Mutex;
use redust_engine::state::{Host, LogLevel, MemoryFigures};
use redust_engine::State;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What every task of one node shares.
pub struct Server {
    /// See `redust_engine::state` for the locking rule.
    pub state: Mutex<State>,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub signals: Arc<NodeSignals>,
}

/// One node's hand-offs between its tasks. Nothing here is process-wide,
/// so several nodes can run in one process.
#[derive(Default)]
pub struct NodeSignals {
    /// SHUTDOWN (or a signal): the main task stops the node.
    pub shutdown: Notify,
    /// The master to follow changed: the link supervisor looks again.
    pub master_changed: Notify,
    /// New listeners after CONFIG SET port/bind, for the cron to take over.
    rebind: Mutex<Option<Vec<TcpListener>>>,
    /// Cluster mode: the bus listeners, bound at start-up, for the bus shell.
    cluster_bus: Mutex<Option<Vec<TcpListener>>>,
    /// Bumped when listeners are replaced; older accept loops then stop.
    listener_generation: AtomicU64,
    /// The start-up load running in the background, if any.
    pending_load: Mutex<Option<PendingLoad>>,
    /// The last `everysec` fsync failed (said once until one succeeds).
    pub fsync_failing: AtomicBool,
    /// The node has stopped: its saver thread ends too.
    pub stopped: AtomicBool,
    /// The node's server, for the busy-script servicing (set once it exists).
    pub(crate) server: std::sync::OnceLock<std::sync::Weak<Server>>,
    /// The listeners accepting now (a busy script's servicing accepts too).
    pub(crate) listeners: Mutex<Vec<Arc<TcpListener>>>,
}

impl NodeSignals {
    /// Hands the cluster bus listeners to the node's bus shell.
    pub fn set_cluster_bus(&self, listeners: Vec<TcpListener>) {
        *self.cluster_bus.lock() = Some(listeners);
    }
}

/// The engine's host on a server node: the process's log and allocator
/// counts, and this node's signals.
struct ServerHost {
    signals: Arc<NodeSignals>,
}

impl Host for ServerHost {
    fn log(&self, level: LogLevel, line: &str) {
        crate::log::at(level, line);
    }

    fn set_role(&self, role: u8) {
        crate::log::set_role(role);
    }

    fn used_memory(&self) -> u64 {
        crate::alloc::used_memory()
    }

    fn memory_figures(&self) -> MemoryFigures {
        daemon::memory_probe()
    }

    fn config_changed(&self, state: &mut State, changed: &[&'static str]) {
        config_changed(&self.signals, state, changed);
    }

    fn shutdown_requested(&self) {
        self.signals.shutdown.notify_one();
    }

    fn master_changed(&self) {
        self.signals.master_changed.notify_one();
    }

    fn serve_while_busy(&self, state: &mut State) {
        if let Some(server) = self.signals.server.get().and_then(std::sync::Weak::upgrade) {
            crate::busy::serve(&server, state);
        }
    }
}

/// Starts accepting on `listeners` (replacing those of older generations).
fn start_accepting(server: &Arc<Server>, listeners: Vec<TcpListener>, generation: u64) {
    let listeners: Vec<Arc<TcpListener>> = listeners.into_iter().map(Arc::new).collect();
    *server.signals.listeners.lock() = listeners.clone();
    for l in listeners {
        tokio::spawn(accept_loop(server.clone(), l, generation));
    }
}

/// Turns a `bind` entry into socket addresses; `-` marks an optional one.
fn bind_addrs(entry: &str, port: u16) -> (Vec<SocketAddr>, bool) {
    let (optional, host) = match entry.strip_prefix('-') {
        Some(h) => (true, h),
        None => (false, entry),
    };
    let addr = match host {
        "*" => "0.0.0.0".parse().ok(),
        "::*" => "::".parse().ok(),
        h => h.parse().ok(),
    };
    (
        addr.map(|ip: std::net::IpAddr| vec![SocketAddr::new(ip, port)])
            .unwrap_or_default(),
        optional,
    )
}

fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    TcpListener::from_std(socket.into())
}

/// Binds every configured address. Failure of a required one aborts start-up
/// with Redis's messages.
pub fn bind_all(bind: &[String], port: u16, backlog: i32) -> Result<Vec<TcpListener>, String> {
    let mut listeners = Vec::new();
    for entry in bind {
        let (addrs, optional) = bind_addrs(entry, port);
        if addrs.is_empty() {
            warning!("Warning: Could not create server TCP listening socket {entry}:{port}: invalid address");
            if optional {
                continue;
            }
            return Err(format!("Failed listening on port {port} (TCP), aborting."));
        }
        for addr in addrs {
            match listen(addr, backlog) {
                Ok(l) => listeners.push(l),
                Err(e) if optional && e.kind() != std::io::ErrorKind::AddrInUse => {}
                Err(e) => {
                    warning!(
                        "Warning: Could not create server TCP listening socket {}:{}: bind: {}",
                        entry.trim_start_matches('-'),
                        port,
                        redust_config::values::strerror(&e)
                    );
                    return Err(format!("Failed listening on port {port} (TCP), aborting."));
                }
            }
        }
    }
    Ok(listeners)
}

pub(crate) fn set_keepalive(stream: &tokio::net::TcpStream, secs: u64) {
    if secs == 0 {
        return;
    }
    let sock = socket2::SockRef::from(stream);
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(secs))
        .with_interval(Duration::from_secs((secs / 3).max(1)));
    let _ = sock.set_tcp_keepalive(&ka);
}

async fn accept_loop(server: Arc<Server>, listener: Arc<TcpListener>, generation: u64) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
        };
        if server.signals.listener_generation.load(Ordering::Relaxed) != generation {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                verbose!("Accepted {}:{}", peer.ip(), peer.port());
                let mut state = server.state.lock();
                set_keepalive(&stream, state.config.tcp_keepalive as u64);
                conn::start(&server, &mut state, stream);
            }
            Err(e) => {
                warning!(
                    "Accepting client connection: accept: {}",
                    redust_config::values::strerror(&e)
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Periodic work, `hz` times a second: active expiry, rate samples, memory peak.
async fn cron(server: Arc<Server>) {
    let mut last_sample = 0i64;
    let mut last_obuf_check = 0i64;
    // The first PING goes out one period after start, as Redis's cron does.
    let mut last_repl_ping = crate::now_ms();
    loop {
        let hz = server.state.lock().config.hz.clamp(1, 500) as u64;
        tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
        let now = crate::now_ms();
        let mut state = server.state.lock();
        state.now_ms = now;
        if state.debug.pause_cron {
            continue;
        }
        // A replica never expires keys itself: its master's DELs do. Nor
        // does a paused master (see `State::dataset_frozen`).
        if state.repl.master.is_none() && !state.dataset_frozen() {
            redust_engine::expire::active_expire_cycle(&mut state);
        }
        redust_engine::propagate::flush(&mut state);
        redust_engine::aof::write_after_batch(&mut state);
        // Redis evicts clients before each sleep of its event loop.
        redust_engine::client_eviction::account_all(&mut state);
        redust_engine::client_eviction::evict(&mut state, None);
        redust_engine::replication::send_getack_if_pending(&mut state);
        redust_engine::replication::wake_senders(&mut state);
        if now - last_sample >= 100 {
            use redust_engine::replication;
            replication::master_cron(&mut state);
            replication::start_pending_syncs(&mut state);
            replication::failover_cron(&mut state);
            let period_ms = state.config.repl_ping_replica_period.max(1) as i64 * 1000;
            if now - last_repl_ping >= period_ms {
                last_repl_ping = now;
                replication::ping_replicas(&mut state);
            }
            close_idle_clients(&mut state, now);
            if now - last_obuf_check >= 1000 {
                // Redis's clientsCron: a soft limit's grace time ends, and a
                // limit lowered by CONFIG SET applies, without new output.
                redust_engine::obuf::enforce_all(&state);
                last_obuf_check = now;
            }
            last_sample = now;
            state.stats.net_input_bytes = server
                .net_input_bytes
                .load(std::sync::atomic::Ordering::Relaxed);
            state.stats.net_output_bytes = server
                .net_output_bytes
                .load(std::sync::atomic::Ordering::Relaxed);
            state.stats.sample_rates(now);
            state.refresh_memory();
            if let Some(listeners) = server.signals.rebind.lock().take() {
                let generation = server
                    .signals
                    .listener_generation
                    .fetch_add(1, Ordering::Relaxed)
                    + 1;
                start_accepting(&server, listeners, generation);
            }
            if let Some(p) = state.pause {
                if p.until_ms <= now {
                    state.pause = None;
                }
            }
        }
    }
}

/// Closes clients idle longer than `timeout` (not pub/sub clients or monitors,
/// as in Redis). Done here rather than per read so CONFIG SET timeout applies
/// to connections already open.
fn close_idle_clients(state: &mut State, now: i64) {
    let timeout_ms = state.config.timeout as i64 * 1000;
    if timeout_ms == 0 {
        return;
    }
    for c in state.clients.values() {
        let exempt =
            c.subscription_count() > 0 || c.monitor || c.repl.is_replica || c.repl.is_master;
        if !exempt && now - c.last_interaction_ms > timeout_ms {
            verbose!("Closing idle client");
            c.push.kill();
        }
    }
}

/// Redis's smallest backlog (CONFIG_REPL_BACKLOG_MIN_SIZE); smaller settings become it.
const REPL_BACKLOG_MIN_SIZE: u64 = 16 * 1024;

fn clamp_backlog_size(state: &mut State) {
    if state.config.repl_backlog_size < REPL_BACKLOG_MIN_SIZE {
        state.config.repl_backlog_size = REPL_BACKLOG_MIN_SIZE;
    }
    let size = state.config.repl_backlog_size;
    if let Some(b) = state.repl.buffer.as_mut() {
        b.set_backlog_size(size);
    }
}

/// What the server does after CONFIG SET changed `changed`.
fn config_changed(signals: &NodeSignals, state: &mut State, changed: &[&'static str]) {
    if changed.contains(&"dir") {
        if let Err(e) = std::env::set_current_dir(&state.config.dir) {
            warning!("Can't chdir to '{}': {}", state.config.dir.display(), e);
        }
    }
    if changed.contains(&"port") || changed.contains(&"bind") {
        let backlog = state.config.tcp_backlog as i32;
        match bind_all(&state.config.bind, state.config.port, backlog) {
            Ok(listeners) => {
                state.node.tcp_port = state.config.port;
                *signals.rebind.lock() = Some(listeners);
            }
            Err(msg) => warning!("{msg}"),
        }
    }
    if changed.contains(&"appendonly") {
        redust_engine::aof::config_switched(state);
    }
    if changed.contains(&"repl-backlog-size") {
        clamp_backlog_size(state);
    }
    if changed.contains(&"loglevel") {
        crate::log::set_level(crate::log::Level::from_name(state.config.loglevel.name()));
    }
}

/// Loads the RDB file named by `dir`/`dbfilename`, if there is one. A file
/// that can't be read stops the server, as in Redis: serving an empty dataset
/// in its place would lose data at the next save.
fn load_at_startup(signals: &NodeSignals, state: &mut State) {
    if state.config.appendonly {
        open_aof_at_startup(signals, state);
        return;
    }
    let path = redust_engine::persist::rdb_path(state);
    if !path.exists() {
        return;
    }
    // Read the file on another thread; until it is in place, clients get
    // LOADING (commands flagged `loading`, like INFO, still run).
    state.rdb.loading_in_background = true;
    let limits = redust_engine::db_ops::encoding_limits(&state.config);
    let verify = state.config.rdbchecksum && !state.debug.skip_checksum_validation;
    let (db_count, now) = (state.dbs.len(), state.now_ms);
    // A replica keeps keys that expired while it was down: its master's DELs
    // remove them, at the right place in the stream it resumes (as in Redis).
    let keep_expired = state.repl.master.is_some();
    let started = std::time::Instant::now();
    let log = redust_engine::persist::LoadLog::of(state);
    let handle = std::thread::spawn(move || {
        redust_engine::persist::read_rdb_logged(
            &path,
            db_count,
            &limits,
            verify,
            now,
            keep_expired,
            redust_engine::persist::RdbSource::File,
            log,
        )
        .map(|(dbs, stats)| (dbs, stats, None))
        // Redis's lines are logged already; some errors end with one more.
        .map_err(|e| match (e.exits, e.fatal) {
            (false, Some(why)) => format!("Fatal error loading the DB: {why}. Exiting."),
            _ => String::new(),
        })
    });
    *signals.pending_load.lock() = Some((handle, started));
}

/// What a background load produces: the databases, the RDB load counts, and
/// for an AOF load the files its manifest names (the AOF opens for appending
/// only once they are loaded, truncated tail included); or the log line that
/// says why it failed (Redis's words: the server exits after it).
type LoadResult = Result<
    (
        Vec<redust_keyspace::Db>,
        redust_engine::persist::LoadStats,
        Option<AofFiles>,
    ),
    String,
>;
type AofFiles = (
    std::path::PathBuf,
    String,
    Vec<redust_engine::aof::ManifestFile>,
);
type PendingLoad = (std::thread::JoinHandle<LoadResult>, std::time::Instant);

/// Installs the background load's result once it is ready.
async fn finish_loading(server: Arc<Server>) {
    loop {
        let ready = server
            .signals
            .pending_load
            .lock()
            .as_ref()
            .is_none_or(|(h, _)| h.is_finished());
        if ready {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let Some((handle, started)) = server.signals.pending_load.lock().take() else {
        return;
    };
    match handle.join() {
        Ok(Ok((dbs, stats, aof_files))) => {
            let mut state = server.state.lock();
            redust_engine::persist::install_loaded(&mut state, dbs, stats);
            if let Some((dir, filename, files)) = aof_files {
                notice!(
                    "DB loaded from append only file: {:.3} seconds",
                    started.elapsed().as_secs_f64()
                );
                if let Err(line) =
                    redust_engine::aof::open_after_load(&mut state, dir, filename, files)
                {
                    warning!("{line}");
                    std::process::exit(1);
                }
                return;
            }
            notice!(
                "DB loaded from disk: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(Err(line)) => {
            // Empty when the loader logged Redis's lines itself.
            if !line.is_empty() {
                warning!("{line}");
            }
            std::process::exit(1);
        }
        Err(_) => {
            warning!("Fatal error loading the DB: the loader failed. Exiting.");
            std::process::exit(1);
        }
    }
}

/// `appendonly yes` at start-up: an existing AOF is replayed on a loader
/// thread (clients get LOADING meanwhile), or a new one is created.
fn open_aof_at_startup(signals: &NodeSignals, state: &mut State) {
    use redust_engine::aof;
    let started = std::time::Instant::now();
    match aof::open_at_startup(state) {
        Ok(aof::Startup::Opened) => {}
        Ok(aof::Startup::Load { dir, filename }) => {
            // Replay on a loader thread, into a state of its own; clients get
            // LOADING until its databases take the place of ours.
            state.rdb.loading_in_background = true;
            let config = state.config.clone();
            let now = state.now_ms;
            let commands = state.commands.clone();
            let host = state.host.clone();
            let handle = std::thread::spawn(move || {
                let mut loader = State::new(config, now, commands);
                loader.host = host;
                let files = aof::load(&mut loader, &dir, &filename)?;
                // The libraries the AOF loaded go with its databases.
                let mut stats = std::mem::take(&mut loader.rdb.last_load);
                stats.functions = redust_engine::scripting::library_codes(&loader)
                    .iter()
                    .map(|code| code.to_vec())
                    .collect();
                Ok((
                    std::mem::take(&mut loader.dbs),
                    stats,
                    Some((dir, filename, files)),
                ))
            });
            *signals.pending_load.lock() = Some((handle, started));
        }
        Err(line) => {
            warning!("{line}");
            std::process::exit(1);
        }
    }
}

/// Before exiting, a master gives its replicas up to `shutdown-timeout`
/// seconds to acknowledge everything (writes are paused meanwhile), as
/// Redis 7.0 does, so that a clean restart loses nothing they could have had.
async fn wait_for_replicas(server: &Server) {
    let deadline = {
        let mut state = server.state.lock();
        let now = crate::now_ms();
        state.now_ms = now;
        let timeout_ms = state.config.shutdown_timeout as i64 * 1000;
        if state.repl.replicas.is_empty() || timeout_ms == 0 {
            return;
        }
        notice!("Waiting for replicas before shutting down.");
        state.pause = Some(redust_engine::state::Pause {
            until_ms: now + timeout_ms,
            writes_only: true,
        });
        // Everything written so far. No GETACK: the stream must not grow
        // past what SHUTDOWN saved in the RDB, or the replicas could not
        // continue after the restart; their ACK comes within a second anyway.
        let target = state.repl.offset;
        (
            std::time::Instant::now() + Duration::from_millis(timeout_ms as u64),
            target,
        )
    };
    let (deadline, target) = deadline;
    loop {
        let lagging = {
            let state = server.state.lock();
            state
                .repl
                .replicas
                .iter()
                .filter(|r| r.ack_offset < target)
                .count()
        };
        if lagging == 0 || std::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Redis's report: each replica still behind, then the count in sync.
    let state = server.state.lock();
    let now = crate::now_ms();
    let total = state.repl.replicas.len();
    let mut in_sync = 0;
    for r in &state.repl.replicas {
        if r.ack_offset >= target {
            in_sync += 1;
            continue;
        }
        let online = r.state == redust_replication::ReplicaState::Online;
        let lag = if online {
            (now - r.ack_ms).max(0) / 1000
        } else {
            0
        };
        warning!(
            "Lagging replica {}:{} reported offset {} behind master, lag={}, state={}.",
            r.ip,
            r.listening_port,
            target - r.ack_offset,
            lag,
            r.state.name()
        );
    }
    notice!("{in_sync} of {total} replicas are in sync when shutting down.");
}

/// Runs the server until SHUTDOWN or a signal. Returns the exit code.
pub async fn run(
    mut state: State,
    listeners: Vec<TcpListener>,
    pidfile: Option<String>,
    signals: Arc<NodeSignals>,
) -> i32 {
    state.host = Arc::new(ServerHost {
        signals: signals.clone(),
    });
    clamp_backlog_size(&mut state);
    if let Some((host, port)) = state.config.replicaof.clone() {
        redust_engine::replication::set_master(&mut state, host, port, true);
    }
    let sentinel = state.sentinel.is_some();
    if sentinel {
        crate::sentinel::announce_start(&mut state);
    } else {
        load_at_startup(&signals, &mut state);
    }
    // As Redis before its event loop: a failure is logged, the server runs on.
    redust_engine::oom_score::warn_if_unordered(&state);
    let _ = redust_engine::oom_score::apply(&mut state);
    state.refresh_memory();
    state.memory.startup_allocated = state.memory.figures.allocated;
    let server = Arc::new(Server {
        state: Mutex::new(state),
        net_input_bytes: AtomicU64::new(0),
        net_output_bytes: AtomicU64::new(0),
        signals,
    });
    let _ = server.signals.server.set(Arc::downgrade(&server));
    start_accepting(&server, listeners, 0);
    tokio::spawn(cron(server.clone()));
    // Redis says it is ready once the dataset is loaded.
    let loader = server.clone();
    tokio::spawn(async move {
        finish_loading(loader).await;
        if !sentinel {
            notice!("Ready to accept connections");
        }
    });
    crate::saver::spawn(server.clone());
    if sentinel {
        tokio::spawn(crate::sentinel::run(server.clone()));
    } else {
        tokio::spawn(crate::master_link::run(server.clone()));
    }
    if let Some(bus) = server.signals.cluster_bus.lock().take() {
        tokio::spawn(crate::cluster::run(server.clone(), bus));
    }

    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    loop {
        tokio::select! {
            _ = server.signals.shutdown.notified() => {}
            _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {
                crate::log::signal_line("Received SIGTERM scheduling shutdown...");
            }
            _ = async { match sigint.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {
                crate::log::signal_line("Received SIGINT scheduling shutdown...");
            }
        }
        // SHUTDOWN logged its request and saved already.
        let by_command = server.state.lock().shutdown.is_some();
        if !by_command {
            warning!("User requested shutdown...");
        }
        wait_for_replicas(&server).await;
        if by_command {
            break;
        }
        // A signal: save like SHUTDOWN does; if that fails, keep serving.
        let mut state = server.state.lock();
        redust_engine::persist::bgsave_abort(&mut state);
        if state.config.save.is_empty() {
            break;
        }
        state.now_ms = crate::now_ms();
        notice!("Saving the final RDB snapshot before exiting.");
        if redust_engine::persist::save(&mut state).is_ok() {
            break;
        }
        warning!("Error trying to save the DB, can't exit.");
        warning!("Errors trying to shut down the server. Check the logs for more information.");
        state.pause = None;
    }
    if let Some(p) = pidfile {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(p);
    }
    if sentinel {
        warning!("Sentinel is now ready to exit, bye bye...");
    } else {
        warning!("Redis is now ready to exit, bye bye...");
    }
    server.signals.stopped.store(true, Ordering::Relaxed);
    0
}
