//! Sentinel mode's I/O shell: start-up (the config file's `sentinel`
//! lines loaded, a myid made and saved, `+monitor` for each master), the
//! timer that drives the state machine (10 to 20 times a second, at a rate
//! drawn anew each time, as Redis does), and one task per
//! link (connect, write what it is given, decode replies). Everything it
//! learns goes to `redust-sentinel` (`links` and `monitor`) under the
//! state lock; what comes back is written on links, logged and published
//! (`cmd::sentinel`), or opens and closes links. The config file is
//! rewritten whenever what Sentinel would write in it changes. The user
//! scripts `redust-sentinel::scripts` queues are run here: each tick
//! starts the due ones (the path executed directly, with the Sentinel's
//! environment and standard descriptors, every other descriptor closed
//! at exec), reaps the ended ones without blocking, and SIGKILLs those
//! past `script-max-runtime`.

use crate::server::Server;
use crate::warning;
use bytes::{Buf, BytesMut};
use redust_commands::cmd::sentinel::{emit_events, flush_config, SystemEnvironment};
use redust_engine::State;
use redust_resp::{decode_frame, Frame, FrameLimits};
use redust_sentinel::links::{Credentials, LinkKey, LinkKind, Peer, Routed};
use redust_sentinel::node::{Sentinel, CRASH_AFTER_ELECTION, CRASH_AFTER_PROMOTION};
use redust_sentinel::scripts::{Exit, SpawnFailure};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// How often the state machine runs: at 10 to 20 Hz, a new rate drawn
/// for every tick, as Redis's Sentinel varies its timer so that Sentinels
/// started together do not act in step (three that reach ODOWN in the same
/// millisecond each vote for themselves, and nobody is elected).
fn next_tick() -> Duration {
    use rand::Rng;
    Duration::from_millis(1000 / rand::thread_rng().gen_range(10..20u64))
}
/// How long a connect may take before the link counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Loads the config file's `sentinel` lines (Redis's fatal report on an
/// error).
pub fn load_config(
    config: &redust_config::Config,
) -> Result<redust_sentinel::config::SentinelConfig, String> {
    let lines: Vec<redust_sentinel::config::SentinelLine> = config
        .sentinel_lines
        .iter()
        .map(|d| redust_sentinel::config::SentinelLine {
            line_number: d.line_number,
            text: d.text.clone(),
            args: d.args.clone(),
        })
        .collect();
    redust_sentinel::config::load(&lines, &SystemEnvironment).map_err(|e| {
        format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}\n",
            redust_resp::REDIS_VERSION,
            e.line_number,
            e.line,
            e.message
        )
    })
}

/// Puts the Sentinel in `state`; a myid made here is saved at once
/// (`announce_start`).
pub fn install(state: &mut State, config: redust_sentinel::config::SentinelConfig, now: i64) {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let generated = config.myid.is_none();
    let myid = config.myid.clone().unwrap_or_else(|| {
        (0..40)
            .map(|_| format!("{:x}", rng.gen_range(0..16u8)))
            .collect()
    });
    let mut sentinel = Sentinel::new(config, &myid, rng.gen(), now);
    sentinel.monitor.resolver = Some(redust_commands::cmd::sentinel::resolve_host);
    sentinel.flush_needed = generated;
    state.sentinel = Some(Box::new(sentinel));
}

/// The start-up lines and events, once the node logs: the config saved
/// when a myid had to be made, the id, and `+monitor` for every master.
pub fn announce_start(state: &mut State) {
    if state.sentinel.as_ref().is_some_and(|s| s.flush_needed) {
        let _ = flush_config(state);
    }
    let Some(s) = state.sentinel.as_ref() else {
        return;
    };
    warning!("Sentinel ID is {}", s.monitor.myid);
    let actions: Vec<redust_sentinel::monitor::Action> = (0..s.monitor.masters.len())
        .map(|i| s.monitor_event(i))
        .collect();
    let events: Vec<(&'static str, String)> = actions
        .iter()
        .filter_map(|a| match a {
            redust_sentinel::monitor::Action::Event { name, detail, .. } => {
                Some((*name, detail.clone()))
            }
            _ => None,
        })
        .collect();
    if let Some(s) = state.sentinel.as_mut() {
        // `+monitor` runs the notification script too, as in Redis.
        s.schedule_scripts(&actions);
    }
    emit_events(state, events);
}

/// What a link task reports.
enum LinkEvent {
    Connected { local_ip: Option<String> },
    Frame(Frame),
    Closed,
}

/// A link's task, as the shell holds it.
struct LinkHandle {
    id: u64,
    tx: mpsc::UnboundedSender<Vec<u8>>,
    task: tokio::task::JoinHandle<()>,
}

/// The shell's links and timers.
struct Shell {
    server: Arc<Server>,
    events: mpsc::UnboundedSender<(u64, LinkEvent)>,
    links: HashMap<LinkKey, LinkHandle>,
    by_id: HashMap<u64, LinkKey>,
    next_id: u64,
    /// The Sentinel block last written to the config file.
    flushed_block: Vec<(String, String)>,
    /// The user scripts running, by pid.
    children: HashMap<u32, std::process::Child>,
}

/// Runs the Sentinel until the process ends.
pub async fn run(server: Arc<Server>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut shell = Shell {
        server,
        events: tx,
        links: HashMap::new(),
        by_id: HashMap::new(),
        next_id: 0,
        flushed_block: Vec::new(),
        children: HashMap::new(),
    };
    {
        let state = shell.server.state.lock();
        if let Some(s) = state.sentinel.as_ref() {
            shell.flushed_block = redust_sentinel::rewrite::sentinel_block(&s.globals, &s.monitor);
        }
    }
    let mut tick = Box::pin(tokio::time::sleep(next_tick()));
    loop {
        tokio::select! {
            _ = &mut tick => {
                shell.on_tick();
                tick.as_mut().reset(tokio::time::Instant::now() + next_tick());
            }
            Some((id, event)) = rx.recv() => shell.on_link_event(id, event),
        }
        if shell
            .server
            .signals
            .stopped
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            break;
        }
    }
}

impl Shell {
    fn on_tick(&mut self) {
        let now = crate::now_ms();
        let server = self.server.clone();
        let mut state = server.state.lock();
        state.now_ms = now;
        let Some(s) = state.sentinel.as_mut() else {
            return;
        };
        let mut actions = std::mem::take(&mut s.outbox);
        actions.extend(s.monitor.tick(now));
        let Sentinel { monitor, links, .. } = &mut **s;
        let routed = links.route(monitor, actions);
        self.apply(&mut state, routed, now);
        self.maintain_links(&mut state, now);
        self.flush_if_changed(&mut state);
        self.run_scripts(&mut state, now);
    }

    /// The scripts' part of a tick, in Redis's order: start what is due,
    /// reap what ended, kill what ran too long.
    fn run_scripts(&mut self, state: &mut State, now: i64) {
        let Some(s) = state.sentinel.as_mut() else {
            return;
        };
        let retry_delay = s.monitor.timing.script_retry_delay;
        let max_runtime = s.monitor.timing.script_max_runtime;
        let mut events = Vec::new();
        for launch in s.scripts.start_due(now) {
            let result = spawn_script(&launch.argv).map(|child| {
                let pid = child.id();
                self.children.insert(pid, child);
                pid
            });
            events.extend(s.scripts.started(launch.id, result, now, retry_delay));
        }
        let mut ended = Vec::new();
        self.children.retain(|&pid, child| match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                let exit = match (status.code(), status.signal()) {
                    (Some(code), _) => Exit::Code(code),
                    (None, Some(signal)) => Exit::Signal(signal),
                    (None, None) => Exit::Code(0),
                };
                ended.push((pid, exit));
                false
            }
            // Reaped elsewhere: its status is lost; count it as done.
            Err(_) => {
                ended.push((pid, Exit::Code(0)));
                false
            }
        });
        for (pid, exit) in ended {
            events.extend(s.scripts.exited(pid, exit, now, retry_delay));
        }
        let (kill, timeouts) = s.scripts.timed_out(now, max_runtime);
        events.extend(timeouts);
        for pid in kill {
            if let Some(child) = self.children.get_mut(&pid) {
                // SIGKILL; the exit by a signal is reaped on a later tick.
                let _ = child.kill();
            }
        }
        emit_events(state, events);
    }

    fn on_link_event(&mut self, id: u64, event: LinkEvent) {
        let Some(key) = self.by_id.get(&id).cloned() else {
            return;
        };
        let now = crate::now_ms();
        let server = self.server.clone();
        let mut state = server.state.lock();
        state.now_ms = now;
        let port = state.node.tcp_port;
        let requirepass = state
            .config
            .requirepass
            .as_ref()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let Some(s) = state.sentinel.as_mut() else {
            return;
        };
        let routed = match event {
            LinkEvent::Connected { local_ip } => {
                if key.peer == Peer::Master && key.kind == LinkKind::Cmd {
                    // Our hellos announce the address this link left from,
                    // unless announce-ip/port say otherwise.
                    let ip = s.globals.announce_ip.clone().or(local_ip);
                    let announce_port = if s.globals.announce_port > 0 {
                        s.globals.announce_port as u16
                    } else {
                        port
                    };
                    if let Some(ip) = ip {
                        s.monitor.announce = Some((ip, announce_port));
                    }
                }
                let credentials = Credentials {
                    sentinel_user: s.globals.sentinel_user.clone(),
                    sentinel_pass: s.globals.sentinel_pass.clone().or(requirepass),
                };
                let Sentinel { monitor, links, .. } = &mut **s;
                links.connected(monitor, &key, &credentials, now)
            }
            LinkEvent::Frame(frame) => {
                let Sentinel { monitor, links, .. } = &mut **s;
                links.on_frame(monitor, &key, frame, now)
            }
            LinkEvent::Closed => {
                self.forget(&key);
                let Sentinel { monitor, links, .. } = &mut **s;
                links.closed(monitor, &key, now)
            }
        };
        self.apply(&mut state, routed, now);
        // What a reply or hello taught (a newer epoch, a new Sentinel) is
        // saved at once, as Redis saves in its hello handling.
        self.flush_if_changed(&mut state);
    }

    /// Writes, events and resets the state machine asked for.
    fn apply(&mut self, state: &mut State, routed: Routed, now: i64) {
        for (key, bytes) in routed.writes {
            if let Some(link) = self.links.get(&key) {
                let _ = link.tx.send(bytes);
            }
        }
        let elected = routed.events.iter().any(|(n, _)| *n == "+elected-leader");
        let promoted = routed.events.iter().any(|(n, _)| *n == "+promoted-slave");
        queue_scripts(state, routed.scripts);
        emit_events(state, routed.events);
        for until in routed.failover_delays {
            warning!(
                "Next failover delay: I will not start a failover before {}",
                ctime(until / 1000)
            );
        }
        for master in routed.reset {
            let keys: Vec<LinkKey> = self
                .links
                .keys()
                .filter(|k| k.master == master && k.peer != Peer::Sentinel)
                .cloned()
                .collect();
            for key in keys {
                self.close(state, &key, now);
                if let Some(s) = state.sentinel.as_mut() {
                    s.links.reconnect_now(&key);
                }
            }
        }
        let flags = state.sentinel.as_ref().map_or(0, |s| s.simulate_failure);
        if (elected && flags & CRASH_AFTER_ELECTION != 0)
            || (promoted && flags & CRASH_AFTER_PROMOTION != 0)
        {
            warning!("Sentinel CRASH because of SENTINEL simulate-failure");
            std::process::exit(99);
        }
    }

    /// Opens the links the state machine wants and closes the others.
    fn maintain_links(&mut self, state: &mut State, now: i64) {
        let Some(s) = state.sentinel.as_mut() else {
            return;
        };
        let plan = s.links.plan(&s.monitor, self.links.keys(), now);
        for key in plan.close {
            self.close(state, &key, now);
        }
        for key in plan.open {
            self.open(key);
        }
    }

    fn open(&mut self, key: LinkKey) {
        self.next_id += 1;
        let id = self.next_id;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(link_task(
            id,
            key.ip.clone(),
            key.port,
            rx,
            self.events.clone(),
        ));
        self.by_id.insert(id, key.clone());
        self.links.insert(key, LinkHandle { id, tx, task });
    }

    /// Drops a link's task and tells the state machine it is gone.
    fn close(&mut self, state: &mut State, key: &LinkKey, now: i64) {
        self.forget(key);
        if let Some(s) = state.sentinel.as_mut() {
            let Sentinel { monitor, links, .. } = &mut **s;
            let routed = links.closed(monitor, key, now);
            // A close only ever emits events (no writes on a closed link).
            queue_scripts(state, routed.scripts);
            emit_events(state, routed.events);
        }
    }

    fn forget(&mut self, key: &LinkKey) {
        if let Some(link) = self.links.remove(key) {
            self.by_id.remove(&link.id);
            link.task.abort();
        }
    }

    /// Rewrites the config file when what it would hold has changed.
    fn flush_if_changed(&mut self, state: &mut State) {
        let Some(s) = state.sentinel.as_ref() else {
            return;
        };
        let block = redust_sentinel::rewrite::sentinel_block(&s.globals, &s.monitor);
        if (block != self.flushed_block || s.flush_needed) && flush_config(state).is_ok() {
            self.flushed_block = block;
        }
    }
}

/// Queues the scripts routed events asked for.
fn queue_scripts(state: &mut State, scripts: Vec<Vec<String>>) {
    if let Some(s) = state.sentinel.as_mut() {
        for argv in scripts {
            s.scripts.schedule(argv);
        }
    }
}

/// Starts a user script as Redis does (fork and execve): the path itself
/// is executed (a bare name is relative to the working directory, not
/// looked up in PATH), with the Sentinel's environment and its standard
/// descriptors; every other descriptor is closed at exec.
fn spawn_script(argv: &[String]) -> Result<std::process::Child, SpawnFailure> {
    use std::os::unix::process::CommandExt;
    let path = &argv[0];
    let program = if path.contains('/') {
        path.clone()
    } else {
        format!("./{path}")
    };
    let mut command = std::process::Command::new(program);
    command.arg0(path).args(&argv[1..]);
    // SAFETY: the hook runs in the child between fork and exec and only
    // makes system calls (no allocation, no locks).
    unsafe {
        command.pre_exec(|| {
            close_on_exec_from(3);
            Ok(())
        });
    }
    command.spawn().map_err(|e| match e.raw_os_error() {
        // No process could be made; anything else is the exec failing.
        Some(libc::EAGAIN) | Some(libc::ENOMEM) => SpawnFailure::Fork,
        _ => SpawnFailure::Exec,
    })
}

/// Marks every descriptor from `first` on close-on-exec (in a forked
/// child: system calls only). Ours are already; this also covers any the
/// process inherited.
fn close_on_exec_from(first: libc::c_int) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: close_range only changes descriptor flags.
        let done = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        } == 0;
        if done {
            return;
        }
    }
    // SAFETY: getrlimit fills the struct; fcntl on any number is harmless.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
            && limit.rlim_cur != libc::RLIM_INFINITY
        {
            limit.rlim_cur.min(1 << 20) as libc::c_int
        } else {
            65_536
        };
        for fd in first..max {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// A Unix time as C's `ctime` writes it in local time, without the
/// newline (`Sat Dec  5 04:08:25 2026`).
fn ctime(secs: i64) -> String {
    let t = secs as libc::time_t;
    // SAFETY: `tm` is plain data filled by localtime_r; `buf` is large
    // enough for the format and strftime writes at most its length.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return secs.to_string();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%a %b %e %H:%M:%S %Y".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// One link: connects, reports, writes what it is given and reports each
/// decoded reply until either side closes.
async fn link_task(
    id: u64,
    ip: String,
    port: u16,
    mut writes: mpsc::UnboundedReceiver<Vec<u8>>,
    events: mpsc::UnboundedSender<(u64, LinkEvent)>,
) {
    let connect = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((ip.as_str(), port)),
    );
    let stream = match connect.await {
        Ok(Ok(s)) => s,
        _ => {
            let _ = events.send((id, LinkEvent::Closed));
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let local_ip = stream.local_addr().ok().map(|a| a.ip().to_string());
    let _ = events.send((id, LinkEvent::Connected { local_ip }));
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let limits = FrameLimits::default();
    'link: loop {
        tokio::select! {
            data = writes.recv() => match data {
                Some(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            read = reader.read_buf(&mut buf) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => loop {
                        match decode_frame(&buf, &limits) {
                            Ok(Some((frame, used))) => {
                                buf.advance(used);
                                let _ = events.send((id, LinkEvent::Frame(frame)));
                            }
                            Ok(None) => break,
                            // A peer speaking garbage: drop the link.
                            Err(_) => break 'link,
                        }
                    },
                }
            }
        }
    }
    let _ = events.send((id, LinkEvent::Closed));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("redust-scripts-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn a_path_that_cannot_run_is_an_exec_failure() {
        assert_eq!(
            spawn_script(&argv(&["/nonexistent/notify.sh", "+sdown"])).err(),
            Some(SpawnFailure::Exec)
        );
    }

    #[test]
    fn scripts_get_their_arguments_and_only_the_standard_descriptors() {
        let dir = scratch("fds");
        // A descriptor opened without close-on-exec must not reach the script.
        let leaky = std::ffi::CString::new(dir.join("leaky").to_str().unwrap()).unwrap();
        // SAFETY: a plain open of a path we own.
        let fd = unsafe { libc::open(leaky.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o600) };
        assert!(fd > 2);
        let out = dir.join("out");
        let script = format!(
            "echo \"$0|$1|$2\" > {o}; ls /proc/$$/fd >> {o}; exit 3",
            o = out.display()
        );
        let mut child = spawn_script(&argv(&["/bin/sh", "-c", &script, "arg"])).unwrap();
        let status = child.wait().unwrap();
        // SAFETY: our descriptor.
        unsafe { libc::close(fd) };
        assert_eq!(status.code(), Some(3));
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("arg||"), "{text}");
        let fds: Vec<i32> = lines.filter_map(|l| l.trim().parse().ok()).collect();
        assert!(!fds.contains(&fd), "descriptor {fd} leaked: {fds:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
