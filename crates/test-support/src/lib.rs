//! Helpers for end-to-end tests: start real `redust-server` processes on free
//! loopback ports in scratch directories, talk to them with real clients, wait
//! on conditions with deadlines, and always clean up; and `sim`, the
//! deterministic simulation that drives nodes' state machines over a seeded,
//! simulated network.

pub mod sim;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Polls `cond` until it is true or `timeout` passes; panics with `what` on timeout.
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out after {timeout:?} waiting for: {what}");
}

/// A running server process with its own scratch directory.
pub struct TestServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl TestServer {
    /// Starts `binary` on a free port with no persistence, plus `extra` args,
    /// and waits until it answers PING.
    pub fn start(binary: &str, extra: &[&str]) -> TestServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("redust-test-{}-{}", std::process::id(), port));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let port_s = port.to_string();
        let dir_s = dir.display().to_string();
        let mut args = vec![
            "--port",
            &port_s,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            &dir_s,
        ];
        args.extend_from_slice(extra);
        let child = Command::new(binary)
            .args(&args)
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("stdout.log")).expect("log file"),
            ))
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start server");
        let server = TestServer {
            port,
            dir,
            child: Some(child),
        };
        wait_until(Duration::from_secs(10), "server answers PING", || {
            server
                .connection()
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        });
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A new connection with the `redis` crate.
    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(5))
    }

    /// A connection, or a panic with context.
    pub fn must_connect(&self) -> redis::Connection {
        self.connection()
            .unwrap_or_else(|e| panic!("connect to port {}: {e}", self.port))
    }

    /// Runs redis-cli against the server and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .output()
            .expect("redis-cli is installed (scripts/setup-test-deps.sh)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Sends SIGKILL and waits for the process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
