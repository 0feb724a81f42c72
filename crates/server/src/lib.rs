//! redust-server as a library: the process around the engine. It owns
//! arguments and config loading, daemonizing, logging, listeners, connection
//! tasks, the cron, the saver thread, the I/O shells of replication (our
//! link to a master, the senders to our replicas) and shutdown. Commands and
//! data live in `redust-commands`, `redust-engine` and `redust-keyspace`.
//!
//! `main.rs` is the thin binary: the counting allocator and `run_process`.
//! Started like redis-server: `redust-server [/path/to/redis.conf]
//! [--directive value ...]`.

pub mod alloc;
mod busy;
mod cluster;
mod conn;
mod crash;
mod daemon;
mod log;
mod master_link;
mod replica_conn;
mod saver;
mod sentinel;
mod server;

use redust_engine::exec::Mode;
use redust_engine::State;
use server::NodeSignals;
use std::sync::Arc;

/// The stack of a thread that runs commands: a script's returned value is
/// written recursively, down to Redis's depth of about 8000 levels (the
/// main thread has the system's 8 MiB).
const COMMAND_THREAD_STACK: usize = 16 << 20;

/// What `--version` prints: Redis's line, with our build.
fn version_line() -> String {
    format!(
        "Redis server v={} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=redust-{}",
        redust_resp::REDIS_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

fn usage() {
    eprintln!("Usage: ./redust-server [/path/to/redis.conf] [options] [-]");
    eprintln!("       ./redust-server - (read config from stdin)");
    eprintln!("       ./redust-server -v or --version");
    eprintln!("       ./redust-server -h or --help");
    eprintln!();
    eprintln!("Examples:");
    eprintln!("       ./redust-server (run the server with default conf)");
    eprintln!("       ./redust-server /etc/redis/6379.conf");
    eprintln!("       ./redust-server --port 7777");
    eprintln!("       ./redust-server /etc/myredis.conf --loglevel verbose -");
}

/// Wall-clock Unix time in milliseconds, as the state's `now_ms` holds it.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Sentinel mode: `--sentinel` among the arguments, or a program name
/// ending in `-sentinel` (`redust-sentinel`, `redis-sentinel`).
fn sentinel_mode(argv: &[String]) -> bool {
    let program = argv
        .first()
        .map(|p| {
            std::path::Path::new(p)
                .file_name()
                .map_or(String::new(), |f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    program.ends_with("-sentinel")
        || program.contains("redis-sentinel")
        || argv.iter().skip(1).any(|a| a == "--sentinel")
}

/// A Sentinel must be able to save what it learns: no config file, or
/// one it cannot write, ends the process with Redis's words.
fn check_sentinel_config_file(path: Option<&std::path::Path>) {
    let Some(path) = path else {
        warning!("Sentinel needs config file on disk to save state. Exiting...");
        std::process::exit(1);
    };
    let writable = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        // SAFETY: a valid NUL-terminated path for the call.
        .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0);
    if !writable {
        let e = std::io::Error::last_os_error();
        warning!(
            "Sentinel config file {} is not writable: {}. Exiting...",
            path.display(),
            redust_config::strerror(&e)
        );
        std::process::exit(1);
    }
}

/// Runs the server process for the command line `argv` (program name
/// first); returns the exit code.
pub fn run_process(argv: Vec<String>) -> i32 {
    if let Some(first) = argv.get(1) {
        match first.as_str() {
            "-v" | "--version" => {
                println!("{}", version_line());
                return 0;
            }
            "-h" | "--help" => {
                usage();
                return 0;
            }
            _ => {}
        }
    }
    let (config_path, rest) = redust_config::split_command_line(argv.get(1..).unwrap_or(&[]));
    let config_path = config_path.map(|p| p.to_path_buf());
    let mode = if sentinel_mode(&argv) {
        Mode::Sentinel
    } else {
        Mode::Standalone
    };
    // rename-command may only name commands this server has, as in Redis.
    let known = redust_commands::cmd::command_table(mode, &[]);
    let command_exists = |name: &[u8]| known.implemented(&String::from_utf8_lossy(name));
    let catalog = redust_engine::acl::catalog_for(known.specs());
    let seen_users = std::cell::RefCell::new(std::collections::HashSet::new());
    let check_user = |words: &[Vec<u8>]| {
        if !seen_users.borrow_mut().insert(words[0].clone()) {
            return Err(format!(
                "Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files",
                String::from_utf8_lossy(&words[0])
            ));
        }
        redust_acl::check_user_directive(&catalog, words)
    };
    let options = redust_config::LoadOptions {
        command_exists: Some(&command_exists),
        check_user: Some(&check_user),
        sentinel_mode: mode == Mode::Sentinel,
        ..Default::default()
    };
    let config = match redust_config::load_with(config_path.as_deref(), rest, options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    // A standalone node with cluster-enabled runs in cluster mode.
    let mode = if mode == Mode::Standalone && config.cluster_enabled {
        Mode::Cluster
    } else {
        mode
    };
    let sentinel_config = if mode == Mode::Sentinel {
        match sentinel::load_config(&config) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    } else {
        None
    };

    if config.daemonize {
        if let Err(e) = daemon::daemonize() {
            eprintln!("Can't daemonize: {e}");
            std::process::exit(1);
        }
    }
    log::set_target(&config.logfile, config.daemonize);
    log::set_level(log::Level::from_name(config.loglevel.name()));
    crash::install();
    // Redis writes its first lines as role C, before the server is set up;
    // a Sentinel's lines are all X.
    if mode == Mode::Sentinel {
        log::set_role(b'X');
    }
    warning!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    warning!(
        "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
        redust_resp::REDIS_VERSION,
        std::process::id()
    );
    if argv.len() > 1 {
        warning!("Configuration loaded");
    } else {
        warning!(
            "Warning: no config file specified, using the default config. In order to specify a config file use {} /path/to/redis.conf",
            argv.first().map_or("redust-server", |s| s.as_str())
        );
    }
    if mode == Mode::Sentinel {
        check_sentinel_config_file(config.config_file());
    }
    log::set_role(if mode == Mode::Sentinel {
        b'X'
    } else if config.replicaof.is_some() {
        b'S'
    } else {
        b'M'
    });
    let pidfile = if let Some(p) = &config.pidfile {
        Some(p.clone())
    } else if config.daemonize {
        Some("/var/run/redis.pid".to_string())
    } else {
        None
    };
    if let Some(p) = &pidfile {
        // As Redis: a pid file that cannot be written is not an error.
        let _ = daemon::write_pidfile(p);
    }
    if !config.dir.as_os_str().is_empty() {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            warning!("Can't chdir to '{}': {}", config.dir.display(), e);
            std::process::exit(1);
        }
    }
    // After daemonizing: the calibration thread must live in the final process.
    redust_engine::clock::calibrate_in_background();
    // Commands run one at a time under the state lock, so a single thread
    // serving every connection (Redis's model; `io-threads 1`, the default)
    // spends no CPU on handing the lock and the tasks between threads. With
    // `io-threads N` above 1, N threads share the socket reads and writes.
    let mut builder = if config.io_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(config.io_threads as usize);
        b.thread_stack_size(COMMAND_THREAD_STACK);
        b
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            warning!("Can't start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async move {
        let port = config.port;
        let bind = config.bind.clone();
        let backlog = config.tcp_backlog as i32;
        notice!("monotonic clock: POSIX clock_gettime");
        // Redis binds while setting up, before it says how it runs.
        let listeners = match server::bind_all(&bind, port, backlog) {
            Ok(l) => l,
            Err(msg) => {
                warning!("{msg}");
                return 1;
            }
        };
        let signals = Arc::new(NodeSignals::default());
        if mode == Mode::Cluster {
            let cport = cluster::bus_port(&config);
            match server::bind_all(&bind, cport, backlog) {
                Ok(bus) => signals.set_cluster_bus(bus),
                Err(_) => {
                    warning!("Failed listening on port {cport} (cluster), aborting.");
                    return 1;
                }
            }
        }
        if config.always_show_logo {
            notice!(
                "redust {} (Redis {} compatible), standalone mode, Port: {}, PID: {}",
                env!("CARGO_PKG_VERSION"),
                redust_resp::REDIS_VERSION,
                port,
                std::process::id()
            );
        } else {
            let name = match mode {
                Mode::Sentinel => "sentinel",
                Mode::Cluster => "cluster",
                Mode::Standalone => "standalone",
            };
            notice!("Running mode={name}, port={port}.");
        }
        let commands = redust_commands::cmd::command_table(mode, &config.rename_commands);
        let mut state = State::new(config, now_ms(), commands);
        if let Err(e) = redust_commands::cmd::acl::load_startup_users(&mut state) {
            warning!("Aborting Redis startup because of ACL errors: {e}");
            return 1;
        }
        state.node.tcp_port = port;
        state.node.config_file = config_path
            .as_ref()
            .and_then(|p| std::fs::canonicalize(p).ok());
        state.node.executable = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if let Some(c) = sentinel_config {
            sentinel::install(&mut state, c, now_ms());
        } else {
            if mode == Mode::Cluster {
                if let Err(e) = cluster::install(&mut state, now_ms()) {
                    warning!("{e}");
                    return 1;
                }
            }
            warning!("Server initialized");
        }
        server::run(state, listeners, pidfile, signals).await
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// A node running inside this process, on a thread and runtime of its own,
/// with its own state, listeners and signals: what lets tests run several
/// real nodes in one process. Stopped (as SHUTDOWN NOSAVE) when dropped.
pub struct NodeHandle {
    /// The port it listens on (the one the OS chose for `--port 0`).
    pub port: u16,
    signals: Arc<NodeSignals>,
    thread: Option<std::thread::JoinHandle<i32>>,
}

impl NodeHandle {
    /// Stops the node and waits for it; returns its exit code.
    pub fn stop(mut self) -> i32 {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> i32 {
        let Some(thread) = self.thread.take() else {
            return 0;
        };
        self.signals.shutdown.notify_one();
        thread.join().unwrap_or(1)
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts a node in this process from command-line style directives
/// (`["--port", "0", "--save", ""]`; port 0 takes a free one). Unlike
/// `run_process` it leaves the process alone: no daemonizing, pid file,
/// working directory change or crash handler; its log lines go to the
/// process's log.
pub fn start_node(args: &[&str]) -> Result<NodeHandle, String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let known = redust_commands::cmd::command_table(Mode::Standalone, &[]);
    let command_exists = |name: &[u8]| known.implemented(&String::from_utf8_lossy(name));
    let options = redust_config::LoadOptions {
        command_exists: Some(&command_exists),
        ..Default::default()
    };
    let config = redust_config::load_with(None, &args, options).map_err(|e| e.to_string())?;
    let signals = Arc::new(NodeSignals::default());
    let node_signals = signals.clone();
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("redust-node".into())
        .stack_size(COMMAND_THREAD_STACK)
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = port_tx.send(Err(e.to_string()));
                    return 1;
                }
            };
            let code = runtime.block_on(async move {
                let backlog = config.tcp_backlog as i32;
                let listeners = match server::bind_all(&config.bind, config.port, backlog) {
                    Ok(l) => l,
                    Err(msg) => {
                        let _ = port_tx.send(Err(msg));
                        return 1;
                    }
                };
                let port = listeners
                    .first()
                    .and_then(|l| l.local_addr().ok())
                    .map_or(config.port, |a| a.port());
                let commands =
                    redust_commands::cmd::command_table(Mode::Standalone, &config.rename_commands);
                let mut state = State::new(config, now_ms(), commands);
                if let Err(e) = redust_commands::cmd::acl::load_startup_users(&mut state) {
                    let _ = port_tx.send(Err(e));
                    return 1;
                }
                state.node.tcp_port = port;
                let _ = port_tx.send(Ok(port));
                server::run(state, listeners, None, node_signals).await
            });
            runtime.shutdown_timeout(std::time::Duration::from_millis(100));
            code
        })
        .map_err(|e| e.to_string())?;
    let port = port_rx
        .recv()
        .map_err(|_| "the node's thread ended before listening".to_string())??;
    Ok(NodeHandle {
        port,
        signals,
        thread: Some(thread),
    })
}
