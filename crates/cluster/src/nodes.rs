//! Nodes as `nodes.conf` and CLUSTER NODES write them: the node flags and
//! their names, one line per node (`<id> <ip>:<port>@<cport>[,<hostname>]
//! <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state>
//! <slots...>`), and the `vars` line; parsing a file back, refusing what
//! Redis refuses.

use crate::slot::SLOTS;

/// Node flags, as the bus carries them.
pub mod flag {
    pub const MASTER: u16 = 0x0001;
    pub const SLAVE: u16 = 0x0002;
    pub const PFAIL: u16 = 0x0004;
    pub const FAIL: u16 = 0x0008;
    pub const MYSELF: u16 = 0x0010;
    pub const HANDSHAKE: u16 = 0x0020;
    pub const NOADDR: u16 = 0x0040;
    pub const MEET: u16 = 0x0080;
    pub const MIGRATE_TO: u16 = 0x0100;
    pub const NOFAILOVER: u16 = 0x0200;
}

/// The printed flags, in Redis's order.
const FLAG_NAMES: [(u16, &str); 8] = [
    (flag::MYSELF, "myself"),
    (flag::MASTER, "master"),
    (flag::SLAVE, "slave"),
    (flag::PFAIL, "fail?"),
    (flag::FAIL, "fail"),
    (flag::HANDSHAKE, "handshake"),
    (flag::NOADDR, "noaddr"),
    (flag::NOFAILOVER, "nofailover"),
];

/// `myself,master`, or `noflags`.
pub fn flags_text(flags: u16) -> String {
    let names: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        "noflags".into()
    } else {
        names.join(",")
    }
}

fn parse_flags(text: &str) -> Option<u16> {
    let mut flags = 0;
    for word in text.split(',') {
        if word.eq_ignore_ascii_case("noflags") {
            continue;
        }
        let (bit, _) = FLAG_NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(word))?;
        flags |= bit;
    }
    Some(flags)
}

/// Whether a node id is one Redis accepts: 40 characters of `a-z0-9`.
pub fn valid_node_id(id: &[u8]) -> bool {
    id.len() == 40
        && id
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// One node as a line of nodes.conf / CLUSTER NODES.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeLine {
    pub id: String,
    /// Empty while unknown.
    pub ip: String,
    pub port: u16,
    pub cport: u16,
    pub hostname: Option<String>,
    pub flags: u16,
    /// The master's id, for a replica.
    pub master: Option<String>,
    /// Unix ms (0: none).
    pub ping_sent: i64,
    pub pong_received: i64,
    pub config_epoch: u64,
    pub connected: bool,
    /// Inclusive ranges, ascending.
    pub slots: Vec<(u16, u16)>,
    /// Slots being moved to a node (printed `[slot->-id]`).
    pub migrating: Vec<(u16, String)>,
    /// Slots being moved here from a node (printed `[slot-<-id]`).
    pub importing: Vec<(u16, String)>,
}

impl NodeLine {
    /// The line, without its newline.
    pub fn format(&self) -> String {
        let mut line = format!("{} {}:{}@{}", self.id, self.ip, self.port, self.cport);
        if let Some(h) = self.hostname.as_ref().filter(|h| !h.is_empty()) {
            line.push(',');
            line.push_str(h);
        }
        line.push_str(&format!(
            " {} {} {} {} {} {}",
            flags_text(self.flags),
            self.master.as_deref().unwrap_or("-"),
            self.ping_sent,
            self.pong_received,
            self.config_epoch,
            if self.connected {
                "connected"
            } else {
                "disconnected"
            }
        ));
        for &(a, b) in &self.slots {
            if a == b {
                line.push_str(&format!(" {a}"));
            } else {
                line.push_str(&format!(" {a}-{b}"));
            }
        }
        // A slot both migrating and importing prints only its migration.
        let mut marks: Vec<(u16, String)> = self
            .migrating
            .iter()
            .map(|(s, id)| (*s, format!(" [{s}->-{id}]")))
            .collect();
        for (s, id) in &self.importing {
            if !self.migrating.iter().any(|(m, _)| m == s) {
                marks.push((*s, format!(" [{s}-<-{id}]")));
            }
        }
        marks.sort_by_key(|(s, _)| *s);
        marks.into_iter().for_each(|(_, m)| line.push_str(&m));
        line
    }
}

/// A loaded nodes.conf.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodesConf {
    pub nodes: Vec<NodeLine>,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
}

impl NodesConf {
    /// The file as Redis writes it: the nodes, then the `vars` line.
    pub fn format(&self) -> String {
        let mut text = String::new();
        for n in &self.nodes {
            text.push_str(&n.format());
            text.push('\n');
        }
        text.push_str(&format!(
            "vars currentEpoch {} lastVoteEpoch {}\n",
            self.current_epoch, self.last_vote_epoch
        ));
        text
    }
}

fn parse_slot(text: &str) -> Option<u16> {
    let n: i64 = text.parse().ok()?;
    (0..SLOTS as i64).contains(&n).then_some(n as u16)
}

/// Parses `ip:port@cport[,hostname]` (no `@cport`: port + 10000).
fn parse_address(text: &str) -> Option<(String, u16, u16, Option<String>)> {
    let (addr, hostname) = match text.split_once(',') {
        Some((a, h)) => (a, Some(h.to_string())),
        None => (text, None),
    };
    let (host_port, cport) = match addr.split_once('@') {
        Some((hp, c)) => (hp, Some(c)),
        None => (addr, None),
    };
    let colon = host_port.rfind(':')?;
    let ip = &host_port[..colon];
    let port: u16 = host_port[colon + 1..].parse().ok()?;
    let cport = match cport {
        Some(c) => c.parse().ok()?,
        None => port.checked_add(10000)?,
    };
    Some((ip.to_string(), port, cport, hostname))
}

/// Reads nodes.conf text. `Err` is why the file is unusable (Redis then
/// logs `Unrecoverable error: corrupted cluster config file` and exits).
pub fn parse_nodes_conf(text: &str) -> Result<NodesConf, String> {
    let mut conf = NodesConf::default();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let bad = |what: &str| Err(format!("line {}: {what}: {line}", number + 1));
        if words[0] == "vars" {
            if words.len() % 2 != 1 {
                return bad("odd vars");
            }
            for pair in words[1..].chunks(2) {
                let value = pair[1].parse::<u64>();
                match (pair[0], value) {
                    ("currentEpoch", Ok(v)) => conf.current_epoch = v,
                    ("lastVoteEpoch", Ok(v)) => conf.last_vote_epoch = v,
                    ("currentEpoch" | "lastVoteEpoch", Err(_)) => return bad("bad epoch"),
                    // Unknown variables are skipped, as Redis logs and skips them.
                    _ => {}
                }
            }
            continue;
        }
        if words.len() < 8 {
            return bad("too few fields");
        }
        if !valid_node_id(words[0].as_bytes()) {
            return bad("bad node id");
        }
        let Some((ip, port, cport, hostname)) = parse_address(words[1]) else {
            return bad("bad address");
        };
        let Some(flags) = parse_flags(words[2]) else {
            return bad("unknown flag");
        };
        let master = match words[3] {
            "-" => None,
            id if valid_node_id(id.as_bytes()) => Some(id.to_string()),
            _ => return bad("bad master id"),
        };
        let (Ok(ping_sent), Ok(pong_received), Ok(config_epoch)) = (
            words[4].parse::<i64>(),
            words[5].parse::<i64>(),
            words[6].parse::<u64>(),
        ) else {
            return bad("bad number");
        };
        let mut node = NodeLine {
            id: words[0].to_string(),
            ip,
            port,
            cport,
            hostname,
            flags,
            master,
            ping_sent,
            pong_received,
            config_epoch,
            connected: words[7] == "connected",
            ..NodeLine::default()
        };
        for w in &words[8..] {
            if let Some(inner) = w.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                let (slot, id, migrating) = if let Some((s, id)) = inner.split_once("->-") {
                    (s, id, true)
                } else if let Some((s, id)) = inner.split_once("-<-") {
                    (s, id, false)
                } else {
                    return bad("bad slot state");
                };
                let (Some(slot), true) = (parse_slot(slot), valid_node_id(id.as_bytes())) else {
                    return bad("bad slot state");
                };
                if migrating {
                    node.migrating.push((slot, id.to_string()));
                } else {
                    node.importing.push((slot, id.to_string()));
                }
                continue;
            }
            let range = match w.split_once('-') {
                Some((a, b)) => parse_slot(a).zip(parse_slot(b)),
                None => parse_slot(w).map(|s| (s, s)),
            };
            match range {
                Some((a, b)) if a <= b => node.slots.push((a, b)),
                _ => return bad("bad slot"),
            }
        }
        conf.nodes.push(node);
    }
    if !conf.nodes.iter().any(|n| n.flags & flag::MYSELF != 0) {
        return Err("no myself line".into());
    }
    Ok(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = "\
bc7c2608a1d1d6b7c4e0a2d6d1c8f8e0b1c2d3e4 127.0.0.1:7102@17102 master - 0 1796461576467 0 connected 5461-10922
1bacf02c11223344556677889900aabbccddeeff 127.0.0.1:7104@17104 slave aeca49351122334455667788990011223344aabb 0 1796461575964 1 connected
aeca49351122334455667788990011223344aabb 127.0.0.1:7101@17101,host-a.example myself,master - 0 1796461576000 1 connected 0-5460 [100->-bc7c2608a1d1d6b7c4e0a2d6d1c8f8e0b1c2d3e4]
vars currentEpoch 3 lastVoteEpoch 0
";

    #[test]
    fn a_real_file_reads_and_writes_back_the_same() {
        let conf = parse_nodes_conf(REAL).unwrap();
        assert_eq!(conf.current_epoch, 3);
        assert_eq!(conf.nodes.len(), 3);
        let me = &conf.nodes[2];
        assert_eq!(me.hostname.as_deref(), Some("host-a.example"));
        assert_eq!(me.flags, flag::MYSELF | flag::MASTER);
        assert_eq!(me.migrating.len(), 1);
        assert_eq!(conf.format(), REAL);
    }

    #[test]
    fn first_write_and_corrupt_files() {
        let first = "0123456789abcdef0123456789abcdef01234567 :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n";
        let conf = parse_nodes_conf(first).unwrap();
        assert_eq!(conf.nodes[0].ip, "");
        assert_eq!(conf.format(), first);
        assert!(parse_nodes_conf("x :0@0 myself - 0 0 0 connected\n").is_err());
        assert!(parse_nodes_conf(&first.replace("myself,master", "master,bogus")).is_err());
        assert!(parse_nodes_conf(&first.replace("connected", "connected 16384")).is_err());
        assert!(parse_nodes_conf(&first.replace("myself,", "")).is_err());
        assert!(parse_nodes_conf("vars currentEpoch\n").is_err());
        assert_eq!(flags_text(0), "noflags");
        assert_eq!(
            flags_text(flag::SLAVE | flag::PFAIL | flag::MIGRATE_TO),
            "slave,fail?"
        );
    }
}
