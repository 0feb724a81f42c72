//! The `sentinel ...` configuration directives, loaded as Redis 7.0 loads
//! them: every line is queued while the file is read, then the global
//! options that masters depend on go first, then every `monitor`, then
//! the per-master options, so a master's options may come before its
//! `monitor` line. Each refusal is Redis's text with the line it came from.
//!
//! What needs the outside world is passed in: whether a script is
//! executable, and how a hostname resolves.

use crate::atoi;

/// One `sentinel` line of the config file: its number, its text and its
/// arguments after `sentinel`.
#[derive(Clone, Debug)]
pub struct SentinelLine {
    pub line_number: usize,
    pub text: String,
    pub args: Vec<String>,
}

/// A refused line: Redis prints it as a fatal config file error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub line_number: usize,
    pub line: String,
    pub message: &'static str,
}

/// An instance's address as configured: the host as written and the IP it
/// resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub host: String,
    pub ip: String,
    pub port: u16,
}

/// A known Sentinel of a master (`known-sentinel <name> <ip> <port> <runid>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownSentinel {
    pub addr: Addr,
    pub runid: String,
}

/// One monitored master and its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterConfig {
    pub name: String,
    pub addr: Addr,
    pub quorum: u32,
    pub down_after_ms: i64,
    pub failover_timeout_ms: i64,
    pub parallel_syncs: i64,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub config_epoch: u64,
    pub leader_epoch: u64,
    pub master_reboot_down_after_ms: i64,
    pub known_replicas: Vec<Addr>,
    pub known_sentinels: Vec<KnownSentinel>,
    /// `rename-command`: (command as written, its new name); names compare
    /// case-insensitively.
    pub renamed_commands: Vec<(String, String)>,
}

/// Redis's defaults for a new master's options.
pub const DEFAULT_DOWN_AFTER_MS: i64 = 30_000;
pub const DEFAULT_FAILOVER_TIMEOUT_MS: i64 = 180_000;
pub const DEFAULT_PARALLEL_SYNCS: i64 = 1;

/// The whole Sentinel configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentinelConfig {
    pub myid: Option<String>,
    pub current_epoch: u64,
    pub announce_ip: Option<String>,
    pub announce_port: i64,
    pub deny_scripts_reconfig: bool,
    pub sentinel_user: Option<String>,
    pub sentinel_pass: Option<String>,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    /// In the order they were monitored.
    pub masters: Vec<MasterConfig>,
}

impl Default for SentinelConfig {
    fn default() -> SentinelConfig {
        SentinelConfig {
            myid: None,
            current_epoch: 0,
            announce_ip: None,
            announce_port: 0,
            deny_scripts_reconfig: true,
            sentinel_user: None,
            sentinel_pass: None,
            resolve_hostnames: false,
            announce_hostnames: false,
            masters: Vec::new(),
        }
    }
}

impl SentinelConfig {
    pub fn master(&self, name: &str) -> Option<&MasterConfig> {
        self.masters.iter().find(|m| m.name == name)
    }

    fn master_mut(&mut self, name: &str) -> Result<&mut MasterConfig, &'static str> {
        self.masters
            .iter_mut()
            .find(|m| m.name == name)
            .ok_or(NO_SUCH_MASTER)
    }
}

/// What the loader asks of the outside world.
pub trait Environment {
    /// Whether `path` is an executable file (`access(path, X_OK)`).
    fn executable(&self, path: &str) -> bool;
    /// The IP `host` resolves to (only asked with `resolve-hostnames yes`).
    fn resolve(&self, host: &str) -> Option<String>;
}

pub const NO_SUCH_MASTER: &str = "No such master with specified name.";
const UNRECOGNIZED: &str = "Unrecognized sentinel configuration statement.";
const NOT_POSITIVE_TIME: &str = "negative or zero time parameter.";

/// Options loaded before every `monitor` (what masters depend on).
const PRE_MONITOR: &[&str] = &[
    "announce-ip",
    "announce-port",
    "deny-scripts-reconfig",
    "sentinel-user",
    "sentinel-pass",
    "current-epoch",
    "myid",
    "resolve-hostnames",
    "announce-hostnames",
];

/// Loads the queued `sentinel` lines in Redis's order.
pub fn load(lines: &[SentinelLine], env: &dyn Environment) -> Result<SentinelConfig, ConfigError> {
    let kind = |l: &SentinelLine| {
        let first = l
            .args
            .first()
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default();
        if first == "monitor" {
            1
        } else if PRE_MONITOR.contains(&first.as_str()) {
            0
        } else {
            2
        }
    };
    let mut config = SentinelConfig::default();
    for pass in 0..3 {
        for line in lines.iter().filter(|l| kind(l) == pass) {
            apply(&mut config, &line.args, env).map_err(|message| ConfigError {
                line_number: line.line_number,
                line: line.text.clone(),
                message,
            })?;
        }
    }
    Ok(config)
}

/// Applies one directive (`args`: what follows `sentinel`).
pub fn apply(
    config: &mut SentinelConfig,
    args: &[String],
    env: &dyn Environment,
) -> Result<(), &'static str> {
    let Some(first) = args.first() else {
        return Err(UNRECOGNIZED);
    };
    let name = first.to_ascii_lowercase();
    let yes_no = |v: &str, err: &'static str| match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(err),
    };
    match (name.as_str(), args.len()) {
        ("monitor", 5) => {
            let quorum = atoi(&args[4]);
            if quorum <= 0 {
                return Err("Quorum must be 1 or greater.");
            }
            if config.masters.iter().any(|m| m.name == args[1]) {
                return Err("Duplicate master name.");
            }
            let addr = make_addr(config, &args[2], &args[3], env)?;
            config.masters.push(MasterConfig {
                name: args[1].clone(),
                addr,
                quorum: quorum as u32,
                down_after_ms: DEFAULT_DOWN_AFTER_MS,
                failover_timeout_ms: DEFAULT_FAILOVER_TIMEOUT_MS,
                parallel_syncs: DEFAULT_PARALLEL_SYNCS,
                notification_script: None,
                client_reconfig_script: None,
                auth_pass: None,
                auth_user: None,
                config_epoch: 0,
                leader_epoch: 0,
                master_reboot_down_after_ms: 0,
                known_replicas: Vec::new(),
                known_sentinels: Vec::new(),
                renamed_commands: Vec::new(),
            });
        }
        ("down-after-milliseconds", 3) => {
            let m = config.master_mut(&args[1])?;
            m.down_after_ms = atoi(&args[2]);
            if m.down_after_ms <= 0 {
                return Err(NOT_POSITIVE_TIME);
            }
        }
        ("failover-timeout", 3) => {
            let m = config.master_mut(&args[1])?;
            m.failover_timeout_ms = atoi(&args[2]);
            if m.failover_timeout_ms <= 0 {
                return Err(NOT_POSITIVE_TIME);
            }
        }
        ("parallel-syncs", 3) => config.master_mut(&args[1])?.parallel_syncs = atoi(&args[2]),
        ("master-reboot-down-after-period", 3) => {
            let m = config.master_mut(&args[1])?;
            m.master_reboot_down_after_ms = atoi(&args[2]);
            if m.master_reboot_down_after_ms < 0 {
                return Err(NOT_POSITIVE_TIME);
            }
        }
        ("notification-script", 3) => {
            config.master_mut(&args[1])?;
            if !env.executable(&args[2]) {
                return Err("Notification script seems non existing or non executable.");
            }
            config.master_mut(&args[1])?.notification_script = Some(args[2].clone());
        }
        ("client-reconfig-script", 3) => {
            config.master_mut(&args[1])?;
            if !env.executable(&args[2]) {
                return Err("Client reconfiguration script seems non existing or non executable.");
            }
            config.master_mut(&args[1])?.client_reconfig_script = Some(args[2].clone());
        }
        ("auth-pass", 3) => config.master_mut(&args[1])?.auth_pass = Some(args[2].clone()),
        ("auth-user", 3) => config.master_mut(&args[1])?.auth_user = Some(args[2].clone()),
        ("current-epoch", 2) => {
            config.current_epoch = config.current_epoch.max(strtoull(&args[1]));
        }
        ("myid", 2) => {
            if args[1].len() != 40 {
                return Err("Malformed Sentinel id in myid option.");
            }
            config.myid = Some(args[1].clone());
        }
        ("config-epoch", 3) => {
            let epoch = strtoull(&args[2]);
            config.master_mut(&args[1])?.config_epoch = epoch;
            config.current_epoch = config.current_epoch.max(epoch);
        }
        ("leader-epoch", 3) => config.master_mut(&args[1])?.leader_epoch = strtoull(&args[2]),
        ("known-slave" | "known-replica", 4) => {
            config.master_mut(&args[1])?;
            let addr = make_addr(config, &args[2], &args[3], env)?;
            let m = config.master_mut(&args[1])?;
            if m.known_replicas
                .iter()
                .any(|r| r.ip == addr.ip && r.port == addr.port)
            {
                return Err("Duplicate hostname and port for replica.");
            }
            m.known_replicas.push(addr);
        }
        // The old form without a runid is ignored.
        ("known-sentinel", 4) => {}
        ("known-sentinel", 5) => {
            config.master_mut(&args[1])?;
            let addr = make_addr(config, &args[2], &args[3], env)?;
            let m = config.master_mut(&args[1])?;
            if m.known_sentinels.iter().any(|s| s.runid == args[4]) {
                return Err("Duplicate runid for sentinel.");
            }
            m.known_sentinels.push(KnownSentinel {
                addr,
                runid: args[4].clone(),
            });
        }
        ("rename-command", 4) => {
            let m = config.master_mut(&args[1])?;
            if m.renamed_commands
                .iter()
                .any(|(c, _)| c.eq_ignore_ascii_case(&args[2]))
            {
                return Err("Same command renamed multiple times with rename-command.");
            }
            m.renamed_commands.push((args[2].clone(), args[3].clone()));
        }
        ("announce-ip", 2) => {
            if !args[1].is_empty() {
                config.announce_ip = Some(args[1].clone());
            }
        }
        ("announce-port", 2) => config.announce_port = atoi(&args[1]),
        ("deny-scripts-reconfig", 2) => {
            config.deny_scripts_reconfig = yes_no(
                &args[1],
                "Please specify yes or no for the deny-scripts-reconfig options.",
            )?;
        }
        ("sentinel-user", 2) => {
            if !args[1].is_empty() {
                config.sentinel_user = Some(args[1].clone());
            }
        }
        ("sentinel-pass", 2) => {
            if !args[1].is_empty() {
                config.sentinel_pass = Some(args[1].clone());
            }
        }
        ("resolve-hostnames", 2) => {
            config.resolve_hostnames = yes_no(
                &args[1],
                "Please specify yes or no for the resolve-hostnames option.",
            )?;
        }
        ("announce-hostnames", 2) => {
            config.announce_hostnames = yes_no(
                &args[1],
                "Please specify yes or no for the announce-hostnames option.",
            )?;
        }
        _ => return Err(UNRECOGNIZED),
    }
    Ok(())
}

/// An instance's address: the port as C's `atoi` reads it, the host an IP
/// literal unless `resolve-hostnames` lets it be looked up.
fn make_addr(
    config: &SentinelConfig,
    host: &str,
    port: &str,
    env: &dyn Environment,
) -> Result<Addr, &'static str> {
    let port = atoi(port);
    if !(0..=65535).contains(&port) {
        return Err("Invalid port number.");
    }
    let ip = if host.parse::<std::net::IpAddr>().is_ok() {
        host.to_string()
    } else if config.resolve_hostnames {
        env.resolve(host).ok_or(CANT_RESOLVE)?
    } else {
        return Err(CANT_RESOLVE);
    };
    Ok(Addr {
        host: host.to_string(),
        ip,
        port: port as u16,
    })
}

const CANT_RESOLVE: &str = "Can't resolve instance hostname.";

/// C's `strtoull(text, NULL, 10)`: leading digits, 0 without any.
fn strtoull(text: &str) -> u64 {
    let digits: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits
        .parse()
        .unwrap_or(if digits.is_empty() { 0 } else { u64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Env;

    fn lines(text: &str) -> Vec<SentinelLine> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("sentinel "))
            .map(|(i, l)| SentinelLine {
                line_number: i + 1,
                text: l.to_string(),
                args: l.split_whitespace().skip(1).map(str::to_string).collect(),
            })
            .collect()
    }

    fn err(text: &str) -> (usize, &'static str) {
        let e = load(&lines(text), &Env).unwrap_err();
        (e.line_number, e.message)
    }

    #[test]
    fn options_may_precede_their_monitor_line() {
        let c = load(
            &lines(
                "port 26379\nsentinel down-after-milliseconds m 5000\nsentinel known-replica m 127.0.0.1 6380\n\
                 sentinel monitor m 127.0.0.1 6379 2\nsentinel config-epoch m 7\nsentinel current-epoch 3\n\
                 sentinel known-sentinel m 127.0.0.1 26380 0123456789012345678901234567890123456789\n\
                 sentinel known-sentinel m 127.0.0.1 26381\nsentinel rename-command m CONFIG cfg",
            ),
            &Env,
        )
        .unwrap();
        let m = c.master("m").unwrap();
        assert_eq!(
            (m.quorum, m.down_after_ms, m.failover_timeout_ms),
            (2, 5000, 180_000)
        );
        assert_eq!(m.known_replicas.len(), 1);
        assert_eq!(
            m.known_sentinels.len(),
            1,
            "the form without a runid is ignored"
        );
        assert_eq!((m.config_epoch, c.current_epoch), (7, 7));
        assert!(c.deny_scripts_reconfig);
    }

    #[test]
    fn refusals_are_redis_texts_with_their_lines() {
        assert_eq!(
            err("x\nsentinel monitor m 127.0.0.1 6379 0"),
            (2, "Quorum must be 1 or greater.")
        );
        assert_eq!(
            err("sentinel down-after-milliseconds nosuch 100"),
            (1, NO_SUCH_MASTER)
        );
        assert_eq!(
            err("sentinel monitor m 127.0.0.1 6379 2\nsentinel monitor m 127.0.0.1 6380 2"),
            (2, "Duplicate master name.")
        );
        assert_eq!(err("sentinel foo bar"), (1, UNRECOGNIZED));
        assert_eq!(err("sentinel monitor m 127.0.0.1 6379"), (1, UNRECOGNIZED));
        assert_eq!(
            err("sentinel monitor m 127.0.0.1 70000 2"),
            (1, "Invalid port number.")
        );
        assert_eq!(
            err("sentinel monitor m localhost 6379 2"),
            (1, CANT_RESOLVE)
        );
        assert_eq!(
            err("sentinel down-after-milliseconds m 0\nsentinel monitor m 127.0.0.1 6379 2"),
            (1, NOT_POSITIVE_TIME)
        );
        assert_eq!(
            err("sentinel myid abc"),
            (1, "Malformed Sentinel id in myid option.")
        );
        assert_eq!(
            err("sentinel monitor m 127.0.0.1 6379 2\nsentinel rename-command m CONFIG X\nsentinel rename-command m config Y"),
            (3, "Same command renamed multiple times with rename-command.")
        );
        assert_eq!(
            err("sentinel monitor m 127.0.0.1 6379 2\nsentinel known-replica m 127.0.0.1 6380\nsentinel known-replica m 127.0.0.1 6380"),
            (3, "Duplicate hostname and port for replica.")
        );
        assert_eq!(
            err("sentinel monitor m 127.0.0.1 6379 2\nsentinel notification-script m /nope"),
            (
                2,
                "Notification script seems non existing or non executable."
            )
        );
        assert_eq!(
            err("sentinel monitor m 127.0.0.1 6379 2\nsentinel deny-scripts-reconfig maybe"),
            (
                2,
                "Please specify yes or no for the deny-scripts-reconfig options."
            )
        );
    }

    #[test]
    fn hostnames_resolve_only_when_allowed() {
        let c = load(
            &lines("sentinel monitor m db.local 6379 1\nsentinel resolve-hostnames yes"),
            &Env,
        )
        .unwrap();
        let a = &c.master("m").unwrap().addr;
        assert_eq!(
            (a.host.as_str(), a.ip.as_str(), a.port),
            ("db.local", "10.0.0.7", 6379)
        );
        // Atoi rules: a quorum or port with junk after the digits is read as C reads it.
        let c = load(&lines("sentinel MONITOR m 127.0.0.1 6379x 2abc"), &Env).unwrap();
        assert_eq!((c.masters[0].addr.port, c.masters[0].quorum), (6379, 2));
    }
}
