//! Sentinel's part of the config-file rewrite (Redis 7.0's "flushconfig").
//!
//! This module owns the `sentinel ...` lines Redis writes for the current
//! state, in Redis's order: `myid`, the global switches not at their
//! default, then for each master its `monitor` line (at the promoted
//! replica's address once a failover has reached reconf-slaves), its
//! options not at their default, its epochs, known replicas, known
//! Sentinels and renamed commands, then `current-epoch` and the announce
//! and credential options that are set. Each line comes with its key, the
//! first two words (`sentinel known-replica`): the config crate's rewrite
//! engine puts a line in the place of the next unused old line of the same
//! key, and blanks stale lines of the keys in [`ALWAYS_PRODUCED`]. The
//! lines are plain strings because this crate does not depend on the
//! config crate; the server hands them over as its `SentinelRewrite`.

use crate::config::{
    SentinelConfig, DEFAULT_DOWN_AFTER_MS, DEFAULT_FAILOVER_TIMEOUT_MS, DEFAULT_PARALLEL_SYNCS,
};
use crate::election::FailoverState;
use crate::monitor::{Instance, Monitor, Monitored};

/// Keys that count as written at every flush, whether or not a line of
/// theirs was: their old lines that were not reused are blanked (a
/// `parallel-syncs` back at its default, a removed master's lines, an
/// unset `announce-ip`).
pub const ALWAYS_PRODUCED: &[&str] = &[
    "sentinel monitor",
    "sentinel down-after-milliseconds",
    "sentinel failover-timeout",
    "sentinel parallel-syncs",
    "sentinel notification-script",
    "sentinel client-reconfig-script",
    "sentinel auth-pass",
    "sentinel auth-user",
    "sentinel config-epoch",
    "sentinel leader-epoch",
    "sentinel known-replica",
    "sentinel known-sentinel",
    "sentinel rename-command",
    "sentinel master-reboot-down-after-period",
    "sentinel announce-ip",
    "sentinel announce-port",
    "sentinel sentinel-user",
    "sentinel sentinel-pass",
];

/// The Sentinel block as `(key, line)` pairs in the order Redis produces
/// them. `globals` supplies the global options (its `myid`,
/// `current_epoch` and `masters` are not used: the monitor's are).
pub fn sentinel_block(globals: &SentinelConfig, monitor: &Monitor) -> Vec<(String, String)> {
    let mut out = Block(Vec::new());
    out.push("myid", monitor.myid.clone());
    if !globals.deny_scripts_reconfig {
        out.push("deny-scripts-reconfig", "no".into());
    }
    if globals.resolve_hostnames {
        out.push("resolve-hostnames", "yes".into());
    }
    if globals.announce_hostnames {
        out.push("announce-hostnames", "yes".into());
    }
    for m in &monitor.masters {
        master_lines(globals, m, &mut out);
    }
    out.push("current-epoch", monitor.current_epoch.to_string());
    if let Some(ip) = &globals.announce_ip {
        out.push("announce-ip", quoted(ip));
    }
    if globals.announce_port != 0 {
        out.push("announce-port", globals.announce_port.to_string());
    }
    if let Some(user) = &globals.sentinel_user {
        out.push("sentinel-user", user.clone());
    }
    if let Some(pass) = &globals.sentinel_pass {
        out.push("sentinel-pass", pass.clone());
    }
    out.0
}

/// The global yes/no options at their defaults, as lines that replace an
/// old line of theirs but are never appended (Redis rewrites such a line in
/// place and adds one only when the value is not the default).
pub fn sentinel_in_place(globals: &SentinelConfig) -> Vec<(String, String)> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut out = Block(Vec::new());
    if globals.deny_scripts_reconfig {
        out.push("deny-scripts-reconfig", yes_no(true).into());
    }
    if !globals.resolve_hostnames {
        out.push("resolve-hostnames", yes_no(false).into());
    }
    if !globals.announce_hostnames {
        out.push("announce-hostnames", yes_no(false).into());
    }
    out.0
}

/// The lines being built.
struct Block(Vec<(String, String)>);

impl Block {
    /// `sentinel <option> <rest>`, keyed `sentinel <option>`.
    fn push(&mut self, option: &str, rest: String) {
        let key = format!("sentinel {option}");
        let line = format!("{key} {rest}");
        self.0.push((key, line));
    }
}

/// One master's lines.
fn master_lines(globals: &SentinelConfig, m: &Monitored, out: &mut Block) {
    let c = &m.config;
    let name = &c.name;
    let current = current_master(m);
    let host = |i: &Instance| {
        if globals.announce_hostnames {
            i.host.clone()
        } else {
            i.ip.clone()
        }
    };
    out.push(
        "monitor",
        format!("{name} {} {} {}", host(current), current.port, c.quorum),
    );
    if c.down_after_ms != DEFAULT_DOWN_AFTER_MS {
        out.push(
            "down-after-milliseconds",
            format!("{name} {}", c.down_after_ms),
        );
    }
    if c.failover_timeout_ms != DEFAULT_FAILOVER_TIMEOUT_MS {
        out.push(
            "failover-timeout",
            format!("{name} {}", c.failover_timeout_ms),
        );
    }
    if c.parallel_syncs != DEFAULT_PARALLEL_SYNCS {
        out.push("parallel-syncs", format!("{name} {}", c.parallel_syncs));
    }
    if let Some(script) = &c.notification_script {
        out.push("notification-script", format!("{name} {script}"));
    }
    if let Some(script) = &c.client_reconfig_script {
        out.push("client-reconfig-script", format!("{name} {script}"));
    }
    if let Some(pass) = &c.auth_pass {
        out.push("auth-pass", format!("{name} {pass}"));
    }
    if let Some(user) = &c.auth_user {
        out.push("auth-user", format!("{name} {user}"));
    }
    if c.master_reboot_down_after_ms != 0 {
        out.push(
            "master-reboot-down-after-period",
            format!("{name} {}", c.master_reboot_down_after_ms),
        );
    }
    out.push("config-epoch", format!("{name} {}", c.config_epoch));
    out.push("leader-epoch", format!("{name} {}", c.leader_epoch));
    for r in &m.replicas {
        // The promoted replica, while its promotion is not yet the
        // master's address, stands in for the old master.
        let listed = if r.ip == current.ip && r.port == current.port {
            &m.master
        } else {
            r
        };
        out.push(
            "known-replica",
            format!("{name} {} {}", host(listed), listed.port),
        );
    }
    for p in &m.sentinels {
        // A Sentinel whose address another one took has port 0.
        if p.runid.is_empty() || p.port == 0 {
            continue;
        }
        out.push(
            "known-sentinel",
            format!("{name} {} {} {}", p.ip, p.port, p.runid),
        );
    }
    for (command, renamed) in &c.renamed_commands {
        out.push("rename-command", format!("{name} {command} {renamed}"));
    }
}

/// Where the master is, as the file must say: the promoted replica once a
/// failover has reached reconf-slaves (it is the master from then on, even
/// if the failover never completes), else the master's address.
pub fn current_master(m: &Monitored) -> &Instance {
    let past_promotion = matches!(
        m.failover.state,
        FailoverState::ReconfSlaves | FailoverState::UpdateConfig
    );
    match m.promoted.and_then(|p| m.replicas.get(p)) {
        Some(r) if m.failover_in_progress && past_promotion => r,
        _ => &m.master,
    }
}

/// `"text"` with Redis's escapes (`\\`, `\"`, `\n`, `\r`, `\t`, `\a`,
/// `\b`, `\xHH` for other unprintable bytes): how `announce-ip` is written.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for &b in text.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;
    use crate::testkit::{self, lines, Env};

    const S1: &str = "1111111111111111111111111111111111111111";
    const S3: &str = "3333333333333333333333333333333333333333";

    /// The globals and the monitor for the same config text.
    fn setup(text: &str) -> (SentinelConfig, Monitor) {
        let globals = load(&lines(text), &Env).unwrap();
        let mut monitor = testkit::monitor(text, 0);
        monitor.current_epoch = globals.current_epoch;
        (globals, monitor)
    }

    fn block_lines(globals: &SentinelConfig, monitor: &Monitor) -> Vec<String> {
        sentinel_block(globals, monitor)
            .into_iter()
            .map(|(key, line)| {
                assert!(line.starts_with(&format!("{key} ")), "{key} / {line}");
                line
            })
            .collect()
    }

    #[test]
    fn defaults_are_skipped_and_epochs_always_written() {
        let (globals, monitor) = setup("monitor m 127.0.0.1 6379 2");
        assert_eq!(
            block_lines(&globals, &monitor),
            [
                format!("sentinel myid {}", "a".repeat(40)),
                "sentinel monitor m 127.0.0.1 6379 2".into(),
                "sentinel config-epoch m 0".into(),
                "sentinel leader-epoch m 0".into(),
                "sentinel current-epoch 0".into(),
            ]
        );
        let keys: Vec<String> = sentinel_block(&globals, &monitor)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "sentinel myid",
                "sentinel monitor",
                "sentinel config-epoch",
                "sentinel leader-epoch",
                "sentinel current-epoch"
            ]
        );
    }

    /// Every option set: the order redis-server 7.0.15 --sentinel wrote
    /// for the same state (one master here; the second follows the same
    /// pattern).
    #[test]
    fn every_line_in_redis_order() {
        let text = format!(
            "monitor other 127.0.0.1 27104 1
monitor mymaster 127.0.0.1 27100 2
down-after-milliseconds mymaster 5000
failover-timeout mymaster 20000
parallel-syncs mymaster 3
rename-command mymaster SLAVEOF MYSLAVEOF
rename-command mymaster CONFIG MYCONFIG
auth-pass mymaster secret
auth-user mymaster bob
notification-script mymaster /tmp/n.sh
client-reconfig-script mymaster /tmp/n.sh
master-reboot-down-after-period mymaster 1000
config-epoch mymaster 3
leader-epoch mymaster 2
deny-scripts-reconfig no
resolve-hostnames yes
announce-ip 127.0.0.1
announce-port 27105
sentinel-user su
sentinel-pass sp
known-replica mymaster 127.0.0.1 27106
known-replica mymaster 127.0.0.1 27102
known-sentinel other 127.0.0.1 27151 {S3}
known-sentinel mymaster 127.0.0.1 27150 {S1}
current-epoch 4"
        );
        let (globals, monitor) = setup(&text);
        let got = block_lines(&globals, &monitor);
        let expected = format!(
            "sentinel myid {}
sentinel deny-scripts-reconfig no
sentinel resolve-hostnames yes
sentinel monitor other 127.0.0.1 27104 1
sentinel config-epoch other 0
sentinel leader-epoch other 0
sentinel known-sentinel other 127.0.0.1 27151 {S3}
sentinel monitor mymaster 127.0.0.1 27100 2
sentinel down-after-milliseconds mymaster 5000
sentinel failover-timeout mymaster 20000
sentinel parallel-syncs mymaster 3
sentinel notification-script mymaster /tmp/n.sh
sentinel client-reconfig-script mymaster /tmp/n.sh
sentinel auth-pass mymaster secret
sentinel auth-user mymaster bob
sentinel master-reboot-down-after-period mymaster 1000
sentinel config-epoch mymaster 3
sentinel leader-epoch mymaster 2
sentinel known-replica mymaster 127.0.0.1 27106
sentinel known-replica mymaster 127.0.0.1 27102
sentinel known-sentinel mymaster 127.0.0.1 27150 {S1}
sentinel rename-command mymaster SLAVEOF MYSLAVEOF
sentinel rename-command mymaster CONFIG MYCONFIG
sentinel current-epoch 4
sentinel announce-ip \"127.0.0.1\"
sentinel announce-port 27105
sentinel sentinel-user su
sentinel sentinel-pass sp",
            "a".repeat(40)
        );
        assert_eq!(got, expected.lines().collect::<Vec<_>>());
        // Every key but the always-written ones and the global switches
        // is always produced.
        for (key, _) in sentinel_block(&globals, &monitor) {
            let optional_global = [
                "sentinel myid",
                "sentinel current-epoch",
                "sentinel deny-scripts-reconfig",
                "sentinel resolve-hostnames",
                "sentinel announce-hostnames",
            ];
            assert!(
                ALWAYS_PRODUCED.contains(&key.as_str()) || optional_global.contains(&key.as_str()),
                "{key}"
            );
        }
    }

    #[test]
    fn announce_hostnames_writes_configured_hostnames() {
        let (globals, monitor) = setup(
            "resolve-hostnames yes\nannounce-hostnames yes\nmonitor m db.local 6379 1\n\
             known-replica m 127.0.0.1 6380",
        );
        let got = block_lines(&globals, &monitor);
        assert_eq!(
            got[1..4],
            [
                "sentinel resolve-hostnames yes",
                "sentinel announce-hostnames yes",
                "sentinel monitor m db.local 6379 1"
            ]
        );
        assert!(got.contains(&"sentinel known-replica m 127.0.0.1 6380".to_string()));
        let mut globals = globals;
        globals.announce_hostnames = false;
        assert!(block_lines(&globals, &monitor)
            .contains(&"sentinel monitor m 10.0.0.7 6379 1".to_string()));
    }

    #[test]
    fn past_promotion_the_promoted_replica_is_the_master() {
        let (globals, mut monitor) = setup(
            "monitor m 127.0.0.1 6379 1\nknown-replica m 127.0.0.1 6380\nknown-replica m 127.0.0.1 6381",
        );
        let written = |monitor: &Monitor| -> Vec<String> {
            block_lines(&globals, monitor)
                .into_iter()
                .filter(|l| l.contains("monitor") || l.contains("known-replica"))
                .collect()
        };
        let before = [
            "sentinel monitor m 127.0.0.1 6379 1",
            "sentinel known-replica m 127.0.0.1 6380",
            "sentinel known-replica m 127.0.0.1 6381",
        ];
        let m = &mut monitor.masters[0];
        m.failover_in_progress = true;
        m.promoted = Some(1);
        m.failover.state = FailoverState::WaitPromotion;
        assert_eq!(written(&monitor), before, "not promoted yet");
        for state in [FailoverState::ReconfSlaves, FailoverState::UpdateConfig] {
            monitor.masters[0].failover.state = state;
            assert_eq!(
                written(&monitor),
                [
                    "sentinel monitor m 127.0.0.1 6381 1",
                    "sentinel known-replica m 127.0.0.1 6380",
                    "sentinel known-replica m 127.0.0.1 6379",
                ]
            );
        }
        // The failover ended (switch-master): the address is the master's.
        let m = &mut monitor.masters[0];
        m.failover_in_progress = false;
        m.failover.state = FailoverState::None;
        m.promoted = None;
        assert_eq!(written(&monitor), before);
    }

    #[test]
    fn sentinels_with_an_invalid_address_are_not_written() {
        let (globals, mut monitor) = setup(&format!(
            "monitor m 127.0.0.1 6379 1\nknown-sentinel m 127.0.0.1 26380 {S1}\n\
             known-sentinel m 127.0.0.1 26381 {S3}"
        ));
        monitor.masters[0].sentinels[0].port = 0;
        let got = block_lines(&globals, &monitor);
        let known: Vec<&String> = got
            .iter()
            .filter(|l| l.contains("known-sentinel"))
            .collect();
        assert_eq!(
            known,
            [&format!("sentinel known-sentinel m 127.0.0.1 26381 {S3}")]
        );
    }

    #[test]
    fn announce_ip_is_the_only_quoted_value() {
        assert_eq!(quoted("127.0.0.1"), "\"127.0.0.1\"");
        assert_eq!(
            quoted("a\"b\\c\n\x01 é"),
            "\"a\\\"b\\\\c\\n\\x01 \\xc3\\xa9\""
        );
        let (mut globals, monitor) = setup("monitor m 127.0.0.1 6379 1");
        globals.sentinel_pass = Some("p w".into());
        globals.announce_ip = Some("my host".into());
        let got = block_lines(&globals, &monitor);
        assert_eq!(
            got[got.len() - 2..],
            [
                "sentinel announce-ip \"my host\"",
                "sentinel sentinel-pass p w"
            ]
        );
    }
}
