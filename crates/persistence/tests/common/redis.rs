//! A real `redis-server` for interop tests: started on a Unix socket in a
//! scratch directory (no TCP port, so nothing clashes with other tests),
//! driven with a minimal RESP2 client, killed and cleaned up on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CHECK_RDB: &str = "/usr/bin/redis-check-rdb";

/// Whether the real Redis is installed; interop tests are skipped otherwise.
pub fn available() -> bool {
    let ok = Path::new(REDIS_SERVER).exists();
    if !ok {
        eprintln!("skipped: {REDIS_SERVER} is not installed");
    }
    ok
}

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b.clone(),
            Reply::Status(s) => s.as_bytes().to_vec(),
            other => panic!("not a string reply: {other:?}"),
        }
    }

    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(i) => *i,
            other => panic!("not an integer reply: {other:?}"),
        }
    }

    pub fn array(&self) -> Vec<Reply> {
        match self {
            Reply::Array(Some(a)) => a.clone(),
            other => panic!("not an array reply: {other:?}"),
        }
    }

    pub fn bulks(&self) -> Vec<Vec<u8>> {
        self.array().iter().map(Reply::bytes).collect()
    }
}

pub struct Redis {
    child: Child,
    pub dir: PathBuf,
    conn: BufReader<UnixStream>,
}

fn scratch_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "redust-persistence-{tag}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Redis {
    /// Starts a server whose data directory holds `rdb` (if any) as dump.rdb.
    pub fn start(tag: &str, rdb: Option<&[u8]>) -> Redis {
        Self::start_with(tag, rdb, &[])
    }

    /// Like [`Redis::start`], with extra command-line arguments.
    pub fn start_with(tag: &str, rdb: Option<&[u8]>, extra: &[&str]) -> Redis {
        let dir = scratch_dir(tag);
        if let Some(bytes) = rdb {
            std::fs::write(dir.join("dump.rdb"), bytes).unwrap();
        }
        let sock = dir.join("redis.sock");
        let child = Command::new(REDIS_SERVER)
            .args(["--port", "0", "--unixsocket"])
            .arg(&sock)
            .arg("--dir")
            .arg(&dir)
            .args([
                "--dbfilename",
                "dump.rdb",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ])
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut child = child;
        let conn = loop {
            if let Ok(s) = UnixStream::connect(&sock) {
                let mut c = BufReader::new(s);
                // The server answers -LOADING while it reads the file.
                if let Ok(Reply::Status(_)) = send(&mut c, &[b"PING"]) {
                    break c;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
                panic!("redis-server exited with {status}; log:\n{log}");
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        };
        Redis { child, dir, conn }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// Runs a command; an error reply is returned as `Reply::Error`.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        send(&mut self.conn, args).expect("redis connection")
    }

    /// Runs a command given as text words.
    pub fn cmd_str(&mut self, words: &str) -> Reply {
        let args: Vec<&[u8]> = words.split(' ').map(str::as_bytes).collect();
        self.cmd(&args)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn send(conn: &mut BufReader<UnixStream>, args: &[&[u8]]) -> std::io::Result<Reply> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    conn.get_mut().write_all(&out)?;
    read_reply(conn)
}

fn read_line(conn: &mut BufReader<UnixStream>) -> std::io::Result<String> {
    let mut line = String::new();
    conn.read_line(&mut line)?;
    if !line.ends_with("\r\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn read_reply(conn: &mut BufReader<UnixStream>) -> std::io::Result<Reply> {
    let line = read_line(conn)?;
    let (kind, rest) = line.split_at(1);
    Ok(match kind {
        "+" => Reply::Status(rest.to_string()),
        "-" => Reply::Error(rest.to_string()),
        ":" => Reply::Int(rest.parse().unwrap()),
        "$" => {
            let n: i64 = rest.parse().unwrap();
            if n < 0 {
                Reply::Bulk(None)
            } else {
                let mut buf = vec![0u8; n as usize + 2];
                conn.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                Reply::Bulk(Some(buf))
            }
        }
        "*" => {
            let n: i64 = rest.parse().unwrap();
            if n < 0 {
                Reply::Array(None)
            } else {
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(read_reply(conn)?);
                }
                Reply::Array(Some(items))
            }
        }
        _ => panic!("bad reply line {line:?}"),
    })
}
