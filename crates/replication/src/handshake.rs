//! The replica's side of a link to its master, as decisions without I/O:
//! the handshake (PING, AUTH, REPLCONF listening-port / ip-address / capa,
//! PSYNC) as a state machine fed the master's replies, the `+FULLRESYNC`
//! transfer header, the stream's timers, and every way an attempt fails,
//! with Redis 7.0's log lines and its choice of retrying at once or from
//! the cron.
//!
//! The server's link task connects, sends what `Handshake` asks, feeds it
//! each decoded reply (`redust_resp::frame`), and carries out the outcome;
//! the simulation drives the same machine over its simulated network.

use crate::{Level, Logs};
use redust_resp::frame::Frame;

/// What the handshake sends, from the config and our replication state.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub masterauth: Option<Vec<u8>>,
    pub masteruser: Option<String>,
    /// `REPLCONF listening-port` (`replica-announce-port` or our port).
    pub listening_port: u16,
    /// `replica-announce-ip`.
    pub announce_ip: Option<String>,
    /// The history we can ask the master to continue: our replication id
    /// and the offset of the next byte we need. `None`: `PSYNC ? -1`.
    pub psync_from: Option<(String, i64)>,
    /// Our FAILOVER hands over to this master (`PSYNC .. FAILOVER`).
    pub failover: bool,
}

/// The command whose reply the handshake waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Ping,
    Auth,
    ListeningPort,
    IpAddress,
    Capa,
    Psync,
}

/// How Redis goes on after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// From its cron: the next attempt says "Connecting to MASTER …".
    Cron,
    /// At once: "Reconnecting to MASTER … after failure" now.
    AfterFailure,
}

/// Why an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A warning to log (none if empty: logged already, or a lost link
    /// that the link's owner reports).
    pub msg: String,
    pub retry: Retry,
    /// A notice Redis logs after announcing the retry.
    pub then: Option<&'static str>,
}

impl Failure {
    /// Nothing more to log; retried from the cron.
    pub fn quiet() -> Failure {
        Failure::cron(String::new())
    }

    /// Retried from the cron.
    pub fn cron(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            retry: Retry::Cron,
            then: None,
        }
    }

    /// A failed transfer or a timeout: Redis reconnects at once.
    pub fn after_failure(msg: impl Into<String>) -> Failure {
        Failure {
            msg: msg.into(),
            retry: Retry::AfterFailure,
            then: None,
        }
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Failure {
        Failure::cron(msg)
    }
}

impl From<&str> for Failure {
    fn from(msg: &str) -> Failure {
        Failure::cron(msg)
    }
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Send this command and feed its reply to `on_reply`.
    Send(Vec<Vec<u8>>),
    /// The master continues our history; its stream follows. `new_replid`:
    /// its id, when `+CONTINUE` named one.
    Continue { new_replid: Option<String> },
    /// A snapshot follows (`parse_transfer_header`), then the stream from
    /// `offset + 1`.
    FullResync { replid: String, offset: u64 },
    /// The attempt is over.
    Failed(Failure),
}

pub const TIMEOUT_CONNECTING: &str = "Timeout connecting to the MASTER...";
pub const TIMEOUT_BULK: &str = "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.";
pub const MASTER_TIMEOUT: &str = "MASTER timeout: no data nor PING received...";

/// The handshake of one link attempt, from the connected socket to the
/// PSYNC answer.
#[derive(Clone, Debug)]
pub struct Handshake {
    settings: Settings,
    step: Step,
}

impl Handshake {
    pub fn new(settings: Settings) -> Handshake {
        Handshake {
            settings,
            step: Step::Ping,
        }
    }

    /// The command whose reply is awaited.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The socket is connected: the first command.
    pub fn start(&mut self) -> Next {
        self.step = Step::Ping;
        Next::Send(vec![b"PING".to_vec()])
    }

    /// The master's reply to the command `step` names.
    pub fn on_reply(&mut self, reply: &Frame, logs: &mut Logs) -> Next {
        let line = reply_line(reply);
        let error = line.starts_with('-');
        match self.step {
            Step::Ping => {
                // A master that wants AUTH first still proves it is alive.
                let auth_errors = ["-NOAUTH", "-NOPERM", "-ERR operation not permitted"];
                if error && !auth_errors.iter().any(|p| line.starts_with(p)) {
                    return Next::Failed(Failure::cron(format!(
                        "Error reply to PING from master: '{line}'"
                    )));
                }
                logs.push((
                    Level::Notice,
                    "Master replied to PING, replication can continue...".into(),
                ));
                if let Some(pass) = &self.settings.masterauth {
                    self.step = Step::Auth;
                    let mut cmd = vec![b"AUTH".to_vec()];
                    if let Some(user) = &self.settings.masteruser {
                        cmd.push(user.as_bytes().to_vec());
                    }
                    cmd.push(pass.clone());
                    return Next::Send(cmd);
                }
                self.send_listening_port()
            }
            Step::Auth => {
                if error {
                    return Next::Failed(Failure::cron(format!(
                        "Unable to AUTH to MASTER: {line}"
                    )));
                }
                self.send_listening_port()
            }
            Step::ListeningPort => {
                if error {
                    logs.push((
                        Level::Notice,
                        format!(
                            "(Non critical) Master does not understand REPLCONF listening-port: {line}"
                        ),
                    ));
                }
                match &self.settings.announce_ip {
                    Some(ip) => {
                        self.step = Step::IpAddress;
                        Next::Send(vec![
                            b"REPLCONF".to_vec(),
                            b"ip-address".to_vec(),
                            ip.as_bytes().to_vec(),
                        ])
                    }
                    None => self.send_capa(),
                }
            }
            Step::IpAddress => {
                if error {
                    logs.push((
                        Level::Notice,
                        format!(
                            "(Non critical) Master does not understand REPLCONF ip-address: {line}"
                        ),
                    ));
                }
                self.send_capa()
            }
            Step::Capa => {
                if error {
                    logs.push((
                        Level::Notice,
                        format!("(Non critical) Master does not understand REPLCONF capa: {line}"),
                    ));
                }
                self.send_psync(logs)
            }
            Step::Psync => psync_reply(&line, logs),
        }
    }

    /// No reply came: `timed_out` after `repl-timeout`, or the read failed
    /// with `why` (Redis's `strerror`).
    pub fn on_read_failed(&self, timed_out: bool, why: &str, logs: &mut Logs) -> Failure {
        if timed_out {
            return Failure::after_failure(TIMEOUT_CONNECTING);
        }
        logs.push((
            Level::Warning,
            format!("Failed to read response from the server: {why}"),
        ));
        Failure::cron(if self.step == Step::Psync {
            "Master did not reply to PSYNC, will try later"
        } else {
            "Master did not respond to command during SYNC handshake"
        })
    }

    fn send_listening_port(&mut self) -> Next {
        self.step = Step::ListeningPort;
        Next::Send(vec![
            b"REPLCONF".to_vec(),
            b"listening-port".to_vec(),
            self.settings.listening_port.to_string().into_bytes(),
        ])
    }

    fn send_capa(&mut self) -> Next {
        self.step = Step::Capa;
        Next::Send(
            [&b"REPLCONF"[..], b"capa", b"eof", b"capa", b"psync2"]
                .iter()
                .map(|a| a.to_vec())
                .collect(),
        )
    }

    fn send_psync(&mut self, logs: &mut Logs) -> Next {
        self.step = Step::Psync;
        let (replid, offset) = match &self.settings.psync_from {
            Some((id, offset)) => {
                logs.push((
                    Level::Notice,
                    format!("Trying a partial resynchronization (request {id}:{offset})."),
                ));
                (id.clone(), *offset)
            }
            None => {
                logs.push((
                    Level::Notice,
                    "Partial resynchronization not possible (no cached master)".into(),
                ));
                ("?".to_string(), -1)
            }
        };
        let mut cmd = vec![
            b"PSYNC".to_vec(),
            replid.into_bytes(),
            offset.to_string().into_bytes(),
        ];
        if self.settings.failover {
            cmd.push(b"FAILOVER".to_vec());
        }
        Next::Send(cmd)
    }
}

/// The PSYNC answer.
fn psync_reply(line: &str, logs: &mut Logs) -> Next {
    if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
        let mut parts = rest.split_whitespace();
        let (Some(id), Some(offset)) = (parts.next(), parts.next().and_then(|o| o.parse().ok()))
        else {
            // Redis goes on with the transfer (forgetting the master's id);
            // we try again.
            return Next::Failed(Failure::cron(
                "Master replied with wrong +FULLRESYNC syntax.",
            ));
        };
        logs.push((
            Level::Notice,
            format!("Full resync from master: {id}:{offset}"),
        ));
        return Next::FullResync {
            replid: id.to_string(),
            offset,
        };
    }
    if let Some(rest) = line.strip_prefix("+CONTINUE") {
        logs.push((
            Level::Notice,
            "Successful partial resynchronization with master.".into(),
        ));
        let new_replid = rest
            .split_whitespace()
            .next()
            .filter(|id| id.len() == 40)
            .map(str::to_string);
        return Next::Continue { new_replid };
    }
    if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
        logs.push((
            Level::Notice,
            format!("Master is currently unable to PSYNC but should be in the future: {line}"),
        ));
        return Next::Failed(Failure::quiet());
    }
    if line.starts_with("-ERR") {
        // Redis then retries with SYNC; we try PSYNC again.
        logs.push((
            Level::Notice,
            format!("Master does not support PSYNC or is in error state (reply: {line})"),
        ));
        return Next::Failed(Failure::quiet());
    }
    Next::Failed(Failure::cron(format!(
        "Unexpected reply to PSYNC from master: {line}"
    )))
}

/// A reply as the line Redis reads and logs (`+PONG`, `-ERR ...`; the
/// first line of anything else).
fn reply_line(reply: &Frame) -> String {
    let mut out = Vec::new();
    reply.encode(&mut out);
    let end = out
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(out.len());
    String::from_utf8_lossy(&out[..end]).into_owned()
}

/// The connection to the master could not be made (`timed_out`: within
/// `repl-timeout`).
pub fn connect_failed(timed_out: bool, why: &str) -> Failure {
    if timed_out {
        Failure::after_failure(TIMEOUT_CONNECTING)
    } else {
        Failure::cron(format!("Error condition on socket for SYNC: {why}"))
    }
}

/// A handshake command could not be sent.
pub fn write_failed(why: &str) -> Failure {
    Failure::cron(format!(
        "Sending command to master in replication handshake: -Writing to master: {why}"
    ))
}

/// How the snapshot after `+FULLRESYNC` is delimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transfer {
    /// `$<len>`: this many bytes.
    Sized(u64),
    /// `$EOF:<mark>`: up to the 40-byte mark.
    UntilMark(Vec<u8>),
}

/// The line announcing the snapshot (keepalive newlines before it are
/// skipped by the caller).
pub fn parse_transfer_header(line: &str) -> Result<Transfer, Failure> {
    if let Some(text) = line.strip_prefix('-') {
        return Err(Failure::after_failure(format!(
            "MASTER aborted replication with an error: {text}"
        )));
    }
    let Some(spec) = line.strip_prefix('$') else {
        return Err(Failure::after_failure(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"
        )));
    };
    match spec.strip_prefix("EOF:") {
        Some(mark) if mark.len() == 40 => Ok(Transfer::UntilMark(mark.as_bytes().to_vec())),
        Some(_) => Err(Failure::after_failure("Bad EOF mark from MASTER")),
        None => match spec.parse::<u64>() {
            Ok(n) => Ok(Transfer::Sized(n)),
            Err(_) => Err(Failure::after_failure("Bad bulk length from MASTER")),
        },
    }
}

/// Reading the transfer header failed.
pub fn header_read_failed(timed_out: bool, why: &str) -> Failure {
    if timed_out {
        Failure::after_failure(TIMEOUT_BULK)
    } else {
        Failure::after_failure(format!("I/O error reading bulk count from MASTER: {why}"))
    }
}

/// How receiving the snapshot failed.
#[derive(Clone, Debug)]
pub enum TransferError<'a> {
    /// No bytes within `repl-timeout`.
    ReadTimeout,
    /// The master closed the connection.
    Closed,
    /// Reading failed (`strerror`).
    Read(&'a str),
    /// Writing to the temp file (or the loader) failed.
    Write(&'a str),
}

/// Redis's words for a failed transfer; it reconnects at once.
pub fn transfer_failed(e: TransferError) -> Failure {
    match e {
        TransferError::ReadTimeout => Failure::after_failure(TIMEOUT_BULK),
        TransferError::Closed => {
            Failure::after_failure("I/O error trying to sync with MASTER: connection lost")
        }
        TransferError::Read(why) => {
            Failure::after_failure(format!("I/O error trying to sync with MASTER: {why}"))
        }
        TransferError::Write(why) => Failure::after_failure(format!(
            "Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {why}"
        )),
    }
}

/// The received snapshot could not be loaded (`diskless`: parsed from the
/// socket; `swapdb`: the old data was kept aside and stays).
pub fn load_failed(diskless: bool, swapdb: bool) -> Failure {
    // Redis's errno here is EINVAL (a bad signature or version).
    let from = if diskless { "socket" } else { "disk" };
    Failure {
        msg: format!(
            "Failed trying to load the MASTER synchronization DB from {from}: Invalid argument"
        ),
        retry: Retry::AfterFailure,
        then: swapdb.then_some("MASTER <-> REPLICA sync: Discarding temporary DB in background"),
    }
}

/// What the streaming link does on its once-a-second tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamTick {
    /// Send `REPLCONF ACK <offset>`.
    Ack,
    /// Nothing came for longer than `repl-timeout`: drop the link.
    TimedOut(Failure),
}

/// The tick's decision: `last_io_ms` is when the master last sent anything.
pub fn stream_tick(now_ms: i64, last_io_ms: i64, timeout_ms: i64) -> StreamTick {
    if now_ms - last_io_ms > timeout_ms {
        StreamTick::TimedOut(Failure::cron(MASTER_TIMEOUT))
    } else {
        StreamTick::Ack
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn simple(s: &str) -> Frame {
        Frame::Simple(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn error(s: &str) -> Frame {
        Frame::Error(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn sent(next: Next) -> Vec<String> {
        match next {
            Next::Send(cmd) => cmd
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn full_handshake_with_auth_and_ip() {
        let mut h = Handshake::new(Settings {
            masterauth: Some(b"pw".to_vec()),
            masteruser: Some("repl".into()),
            listening_port: 7001,
            announce_ip: Some("10.0.0.2".into()),
            psync_from: Some(("a".repeat(40), 101)),
            failover: false,
        });
        let mut logs = Logs::new();
        assert_eq!(sent(h.start()), ["PING"]);
        // NOAUTH still proves the master is alive.
        assert_eq!(
            sent(h.on_reply(&error("NOAUTH Authentication required."), &mut logs)),
            ["AUTH", "repl", "pw"]
        );
        assert_eq!(
            sent(h.on_reply(&simple("OK"), &mut logs)),
            ["REPLCONF", "listening-port", "7001"]
        );
        assert_eq!(
            sent(h.on_reply(&simple("OK"), &mut logs)),
            ["REPLCONF", "ip-address", "10.0.0.2"]
        );
        assert_eq!(
            sent(h.on_reply(&error("ERR unknown"), &mut logs)),
            ["REPLCONF", "capa", "eof", "capa", "psync2"]
        );
        let psync = sent(h.on_reply(&simple("OK"), &mut logs));
        assert_eq!(psync, ["PSYNC".to_string(), "a".repeat(40), "101".into()]);
        let next = h.on_reply(
            &simple(&format!("FULLRESYNC {} 500", "b".repeat(40))),
            &mut logs,
        );
        assert_eq!(
            next,
            Next::FullResync {
                replid: "b".repeat(40),
                offset: 500
            }
        );
        let texts: Vec<&str> = logs.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Master replied to PING, replication can continue...",
                "(Non critical) Master does not understand REPLCONF ip-address: -ERR unknown",
                &format!(
                    "Trying a partial resynchronization (request {}:101).",
                    "a".repeat(40)
                ),
                &format!("Full resync from master: {}:500", "b".repeat(40)),
            ]
        );
    }

    #[test]
    fn psync_answers() {
        let start = |failover| {
            let mut h = Handshake::new(Settings {
                listening_port: 1,
                failover,
                ..Settings::default()
            });
            let mut logs = Logs::new();
            h.start();
            h.on_reply(&simple("PONG"), &mut logs);
            h.on_reply(&simple("OK"), &mut logs);
            let psync = sent(h.on_reply(&simple("OK"), &mut logs));
            (h, psync)
        };
        let (_, psync) = start(true);
        assert_eq!(psync, ["PSYNC", "?", "-1", "FAILOVER"]);
        let (mut h, psync) = start(false);
        assert_eq!(psync, ["PSYNC", "?", "-1"]);
        let mut logs = Logs::new();
        let id = "c".repeat(40);
        assert_eq!(
            h.clone()
                .on_reply(&simple(&format!("CONTINUE {id}")), &mut logs),
            Next::Continue {
                new_replid: Some(id)
            }
        );
        assert_eq!(
            h.clone().on_reply(&simple("CONTINUE"), &mut logs),
            Next::Continue { new_replid: None }
        );
        assert_eq!(
            h.clone().on_reply(&error("LOADING wait"), &mut logs),
            Next::Failed(Failure::quiet())
        );
        assert_eq!(
            h.clone().on_reply(&simple("FULLRESYNC x"), &mut logs),
            Next::Failed(Failure::cron(
                "Master replied with wrong +FULLRESYNC syntax."
            ))
        );
        assert_eq!(
            h.on_reply(&simple("WHAT"), &mut logs),
            Next::Failed(Failure::cron(
                "Unexpected reply to PSYNC from master: +WHAT"
            ))
        );
    }

    #[test]
    fn ping_errors_and_read_failures() {
        let mut h = Handshake::new(Settings::default());
        h.start();
        let mut logs = Logs::new();
        assert_eq!(
            h.clone().on_reply(&error("ERR nope"), &mut logs),
            Next::Failed(Failure::cron(
                "Error reply to PING from master: '-ERR nope'"
            ))
        );
        assert_eq!(
            h.on_read_failed(true, "", &mut logs),
            Failure::after_failure(TIMEOUT_CONNECTING)
        );
        let f = h.on_read_failed(false, "Success", &mut logs);
        assert_eq!(
            f.msg,
            "Master did not respond to command during SYNC handshake"
        );
        assert_eq!(
            logs[0].1,
            "Failed to read response from the server: Success"
        );
    }

    #[test]
    fn transfer_headers() {
        assert_eq!(parse_transfer_header("$123"), Ok(Transfer::Sized(123)));
        let mark = "d".repeat(40);
        assert_eq!(
            parse_transfer_header(&format!("$EOF:{mark}")),
            Ok(Transfer::UntilMark(mark.into_bytes()))
        );
        for bad in ["$EOF:short", "$-5", "$x", "+OK", "-ERR oops"] {
            let e = parse_transfer_header(bad).unwrap_err();
            assert_eq!(e.retry, Retry::AfterFailure, "{bad}");
        }
        assert_eq!(
            stream_tick(10_000, 0, 9_999),
            StreamTick::TimedOut(Failure::cron(MASTER_TIMEOUT))
        );
        assert_eq!(stream_tick(10_000, 1, 9_999), StreamTick::Ack);
    }
}
