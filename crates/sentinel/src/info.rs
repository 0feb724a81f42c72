//! What a monitored instance's INFO reply tells a Sentinel: its run id and
//! role, for a master its replicas (`slaveN:` lines, in both the old and
//! the `key=value` form), for a replica its master's address and link, its
//! priority, offset and whether it is announced. Lines a Sentinel does not
//! use are skipped; a malformed line is skipped, never an error.

use crate::atoi;

/// A replica as its master's INFO lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedReplica {
    pub ip: String,
    pub port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

/// The fields of one INFO reply that a Sentinel uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoReport {
    pub run_id: Option<String>,
    pub role: Option<Role>,
    /// A master's replicas.
    pub replicas: Vec<ListedReplica>,
    /// A replica's master and link.
    pub master_host: Option<String>,
    pub master_port: Option<u16>,
    pub master_link_up: Option<bool>,
    /// Seconds the replica's link has been down (`master_link_down_since_seconds`).
    pub master_link_down_since_s: Option<i64>,
    pub replica_priority: Option<i64>,
    pub replica_repl_offset: Option<u64>,
    pub replica_announced: Option<bool>,
    /// redust's safe mode on a master: how many replicas acknowledge a
    /// write (`safe_writes_acks`, present only with `safe_writes:1`).
    pub safe_writes_acks: Option<usize>,
}

impl InfoReport {
    pub fn parse(info: &str) -> InfoReport {
        let mut r = InfoReport::default();
        for line in info.split('\n') {
            let line = line.trim_end_matches('\r');
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key {
                "run_id" if value.len() == 40 => r.run_id = Some(value.to_string()),
                "role" => {
                    r.role = match value {
                        "master" => Some(Role::Master),
                        "slave" => Some(Role::Replica),
                        _ => r.role,
                    }
                }
                "master_host" => r.master_host = Some(value.to_string()),
                "master_port" => r.master_port = u16::try_from(atoi(value)).ok(),
                "master_link_status" => r.master_link_up = Some(value == "up"),
                "master_link_down_since_seconds" => r.master_link_down_since_s = Some(atoi(value)),
                "slave_priority" | "replica_priority" => r.replica_priority = Some(atoi(value)),
                "slave_repl_offset" => r.replica_repl_offset = value.parse().ok(),
                "replica_announced" => r.replica_announced = Some(atoi(value) != 0),
                "safe_writes_acks" => r.safe_writes_acks = usize::try_from(atoi(value)).ok(),
                k if k.starts_with("slave") && k[5..].bytes().all(|c| c.is_ascii_digit()) => {
                    if let Some(replica) = listed_replica(value) {
                        r.replicas.push(replica);
                    }
                }
                _ => {}
            }
        }
        r
    }
}

/// A `slaveN:` value: `ip=...,port=...,state=...` (or the old `ip,port,state`).
fn listed_replica(value: &str) -> Option<ListedReplica> {
    let (ip, port) = if value.contains('=') {
        let mut ip = None;
        let mut port = None;
        for part in value.split(',') {
            match part.split_once('=') {
                Some(("ip", v)) => ip = Some(v),
                Some(("port", v)) => port = Some(v),
                _ => {}
            }
        }
        (ip?, port?)
    } else {
        let mut parts = value.split(',');
        (parts.next()?, parts.next()?)
    };
    Some(ListedReplica {
        ip: ip.to_string(),
        port: u16::try_from(atoi(port)).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masters_and_a_replicas_info() {
        let master = "# Server\r\nrun_id:0123456789012345678901234567890123456789\r\n# Replication\r\nrole:master\r\n\
                      connected_slaves:2\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0\r\n\
                      slave1:127.0.0.1,6381,online\r\nslave2:garbage\r\n";
        let r = InfoReport::parse(master);
        assert_eq!(r.role, Some(Role::Master));
        assert_eq!(r.run_id.as_deref().map(str::len), Some(40));
        assert_eq!(
            r.replicas,
            vec![
                ListedReplica {
                    ip: "127.0.0.1".into(),
                    port: 6380
                },
                ListedReplica {
                    ip: "127.0.0.1".into(),
                    port: 6381
                },
            ]
        );
        let replica = "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:down\r\n\
                       master_link_down_since_seconds:12\r\nslave_repl_offset:1000\r\nslave_priority:100\r\n\
                       replica_announced:1\r\n";
        let r = InfoReport::parse(replica);
        assert_eq!(r.role, Some(Role::Replica));
        assert_eq!(
            (r.master_host.as_deref(), r.master_port),
            (Some("127.0.0.1"), Some(6379))
        );
        assert_eq!(
            (r.master_link_up, r.master_link_down_since_s),
            (Some(false), Some(12))
        );
        assert_eq!(
            (
                r.replica_repl_offset,
                r.replica_priority,
                r.replica_announced
            ),
            (Some(1000), Some(100), Some(true))
        );
    }
}
