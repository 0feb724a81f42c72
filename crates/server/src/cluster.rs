//! Cluster mode's I/O shell: start-up (nodes.conf loaded, or a new node
//! id written; the bus listeners on the cluster port), the 100 ms timer
//! that drives the cluster machine, and one task per bus link (connect,
//! write what it is given, frame and decode what arrives). Everything a
//! link reads goes to `redust-cluster` under the state lock; what comes
//! back is applied by `redust_engine::cluster::apply`, and its bus actions
//! (connect, send, close) are carried out here.

use crate::server::Server;
use crate::{notice, warning};
use redust_cluster::bus::{self, Framing};
use redust_cluster::state::{Action, Cluster, LinkId, Settings, TICK_MS};
use redust_engine::State;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The machine's settings from the config.
fn settings(config: &redust_config::Config) -> Settings {
    let port = if config.cluster_announce_port != 0 {
        config.cluster_announce_port
    } else {
        config.port
    };
    let cport = if config.cluster_announce_bus_port != 0 {
        config.cluster_announce_bus_port
    } else {
        bus_port(config)
    };
    Settings {
        node_timeout: config.cluster_node_timeout as i64,
        port,
        cport,
        announce_ip: config.cluster_announce_ip.clone().filter(|s| !s.is_empty()),
        announce_hostname: config
            .cluster_announce_hostname
            .clone()
            .filter(|s| !s.is_empty()),
        require_full_coverage: config.cluster_require_full_coverage,
        replica_no_failover: config.cluster_replica_no_failover,
        repl_ping_period_ms: config.repl_ping_replica_period as i64 * 1000,
        replica_validity_factor: i64::from(config.cluster_replica_validity_factor),
        migration_barrier: i64::from(config.cluster_migration_barrier),
        allow_replica_migration: config.cluster_allow_replica_migration,
    }
}

/// The port the bus listens on.
pub fn bus_port(config: &redust_config::Config) -> u16 {
    if config.cluster_port != 0 {
        config.cluster_port
    } else {
        config.port.wrapping_add(10000)
    }
}

/// Loads nodes.conf (or starts a new node and writes it) and puts the
/// cluster machine and its router in the state. `Err` stops the server.
pub fn install(state: &mut State, now: i64) -> Result<(), String> {
    let path = state.config.dir.join(&state.config.cluster_config_file);
    // Locked before it is read or written: a second node given the same
    // file must not touch it.
    let lock = redust_engine::cluster::lock_config(&path).map_err(|e| {
        warning!("{e}");
        e
    })?;
    let settings = settings(&state.config);
    let seed: u64 = rand::random();
    let machine = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            let conf = redust_cluster::nodes::parse_nodes_conf(&text).map_err(|e| {
                warning!("Unrecoverable error: corrupted cluster config file \"{text}\": {e}.");
                "corrupted cluster config file".to_string()
            })?;
            let machine = Cluster::from_conf(&conf, settings, seed, now)?;
            notice!("Node configuration loaded, I'm {}", machine.myself);
            machine
        }
        Ok(_) | Err(_) => {
            let machine = Cluster::new(settings, seed, now);
            notice!("No cluster configuration found, I'm {}", machine.myself);
            machine
        }
    };
    let my_master = machine
        .me()
        .master
        .as_ref()
        .and_then(|m| machine.nodes.get(m))
        .map(|m| (m.ip.clone(), m.port));
    state.cluster = Some(Box::new(redust_engine::cluster::ClusterNode::new(
        machine, path,
    )));
    if let Some(c) = state.cluster.as_mut() {
        c.lock = Some(lock);
    }
    state.router = Some(Arc::new(redust_engine::cluster::Router));
    redust_engine::cluster::save_config(state, true)
        .map_err(|e| format!("Can't write the cluster config file: {e}"))?;
    if let Some((host, port)) = my_master {
        redust_engine::replication::set_master(state, host, port, true);
    }
    Ok(())
}

/// An open link's writer, and what it has waiting.
struct Writer {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicU64>,
}

/// The writers of the open links, by id.
type Writers = HashMap<LinkId, Writer>;

struct Shell {
    server: Arc<Server>,
    writers: Writers,
    /// Link tasks report here when their link ends.
    ended: mpsc::UnboundedSender<LinkId>,
}

/// Runs the bus until the process ends.
pub async fn run(server: Arc<Server>, listeners: Vec<TcpListener>) {
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel();
    let (accepted_tx, mut accepted_rx) = mpsc::unbounded_channel::<TcpStream>();
    for listener in listeners {
        let tx = accepted_tx.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if tx.send(stream).is_err() {
                    break;
                }
            }
        });
    }
    let wake = {
        let state = server.state.lock();
        match state.cluster.as_ref() {
            Some(c) => c.wake.clone(),
            None => return,
        }
    };
    let mut shell = Shell {
        server,
        writers: HashMap::new(),
        ended: ended_tx,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS as u64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => shell.on_tick(),
            _ = wake.notified() => {}
            Some(stream) = accepted_rx.recv() => shell.on_accepted(stream),
            Some(link) = ended_rx.recv() => {
                shell.writers.remove(&link);
                let mut state = shell.server.state.lock();
                if let Some(c) = state.cluster.as_mut() {
                    c.link_queues.remove(&link);
                    c.machine.link_closed(link);
                }
            }
        }
        shell.drain_outbox();
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
        let mut state = self.server.state.lock();
        state.now_ms = now;
        let offset = state.repl.offset;
        let data_age = redust_engine::cluster::replica_data_age(&state, now);
        // CONFIG SET may have changed any cluster-* option since.
        let settings = settings(&state.config);
        let limit = state.config.cluster_link_sendbuf_limit;
        let Some(c) = state.cluster.as_mut() else {
            return;
        };
        c.machine.set_settings(settings);
        c.machine.set_replication(offset, data_age);
        let mut actions = c.machine.tick(now);
        let writers = &self.writers;
        actions.extend(c.machine.free_links_over_limit(limit, |link| {
            writers
                .get(&link)
                .map_or(0, |w| w.queued.load(Ordering::Relaxed))
        }));
        redust_engine::cluster::apply(&mut state, actions);
    }

    fn on_accepted(&mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let link = {
            let mut state = self.server.state.lock();
            let Some(c) = state.cluster.as_mut() else {
                return;
            };
            c.machine.link_accepted(crate::now_ms())
        };
        self.start_link(link, stream);
    }

    /// Carries out the bus actions waiting in the outbox.
    fn drain_outbox(&mut self) {
        let actions = {
            let mut state = self.server.state.lock();
            match state.cluster.as_mut() {
                Some(c) => std::mem::take(&mut c.outbox),
                None => return,
            }
        };
        for action in actions {
            match action {
                Action::Connect { link, ip, cport } => self.connect(link, ip, cport),
                Action::Send { link, bytes } => {
                    if let Some(w) = self.writers.get(&link) {
                        w.queued.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        let _ = w.tx.send(bytes);
                    }
                }
                Action::Close { link } => {
                    // Dropping the writer ends the link's task.
                    self.writers.remove(&link);
                    let mut state = self.server.state.lock();
                    if let Some(c) = state.cluster.as_mut() {
                        c.link_queues.remove(&link);
                    }
                }
                _ => {}
            }
        }
    }

    /// A writer for `link`, its queue shared with CLUSTER LINKS.
    fn new_writer(&mut self, link: LinkId) -> (mpsc::UnboundedReceiver<Vec<u8>>, Arc<AtomicU64>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicU64::new(0));
        self.writers.insert(
            link,
            Writer {
                tx,
                queued: queued.clone(),
            },
        );
        let mut state = self.server.state.lock();
        if let Some(c) = state.cluster.as_mut() {
            c.link_queues.insert(link, queued.clone());
        }
        (rx, queued)
    }

    fn connect(&mut self, link: LinkId, ip: String, cport: u16) {
        let server = self.server.clone();
        let (rx, queued) = self.new_writer(link);
        let ended = self.ended.clone();
        tokio::spawn(async move {
            let timeout = {
                let state = server.state.lock();
                Duration::from_millis(state.config.cluster_node_timeout.max(1000))
            };
            let connected =
                tokio::time::timeout(timeout, TcpStream::connect((ip.as_str(), cport))).await;
            let stream = match connected {
                Ok(Ok(s)) => s,
                _ => {
                    let mut state = server.state.lock();
                    let now = crate::now_ms();
                    if let Some(c) = state.cluster.as_mut() {
                        c.machine.link_failed(link, now);
                    }
                    drop(state);
                    let _ = ended.send(link);
                    return;
                }
            };
            let _ = stream.set_nodelay(true);
            {
                let mut state = server.state.lock();
                let now = crate::now_ms();
                state.now_ms = now;
                let Some(c) = state.cluster.as_mut() else {
                    return;
                };
                let actions = c.machine.link_connected(link, now);
                redust_engine::cluster::apply(&mut state, actions);
            }
            link_task(server, link, stream, rx, queued).await;
            let _ = ended.send(link);
        });
    }

    fn start_link(&mut self, link: LinkId, stream: TcpStream) {
        let (rx, queued) = self.new_writer(link);
        let server = self.server.clone();
        let ended = self.ended.clone();
        tokio::spawn(async move {
            link_task(server, link, stream, rx, queued).await;
            let _ = ended.send(link);
        });
    }
}

/// Reads messages from a link and writes what it is given, until either
/// side ends or the link is closed (its writer dropped).
async fn link_task(
    server: Arc<Server>,
    link: LinkId,
    stream: TcpStream,
    mut writes: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicU64>,
) {
    let peer_ip = stream
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let local_ip = stream
        .local_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let (mut reader, mut writer) = stream.into_split();
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            w = writes.recv() => match w {
                Some(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        return;
                    }
                    queued.fetch_sub(bytes.len() as u64, Ordering::Relaxed);
                }
                None => return,
            },
            r = reader.read(&mut chunk) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    loop {
                        match bus::frame(&buf) {
                            Framing::Incomplete => break,
                            Framing::Close => {
                                warning!("Bad message length or signature received from Cluster bus.");
                                return;
                            }
                            Framing::Whole(len) => {
                                let message: Vec<u8> = buf.drain(..len).collect();
                                let decoded = bus::decode(&message);
                                let mut state = server.state.lock();
                                let now = crate::now_ms();
                                state.now_ms = now;
                                match decoded {
                                    Ok(Some(msg)) => {
                                        // Headers we answer with carry our offset as of now.
                                        let offset = state.repl.offset;
                                        let data_age = redust_engine::cluster::replica_data_age(&state, now);
                                        let Some(c) = state.cluster.as_mut() else { return };
                                        c.machine.set_replication(offset, data_age);
                                        let actions = c.machine.receive(link, &msg, &peer_ip, &local_ip, now);
                                        redust_engine::cluster::apply(&mut state, actions);
                                    }
                                    Ok(None) => {}
                                    Err(e) => state.log_warning(&e.0),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
