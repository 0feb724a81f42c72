//! What SENTINEL MASTERS/MASTER/REPLICAS/SENTINELS, CKQUORUM and
//! GET-MASTER-ADDR-BY-NAME report, as Redis 7.0 lays it out: each record a
//! list of (field, value) pairs in Redis's order, every value a string
//! (the shell writes them as a flat array in RESP2, a map in RESP3).

use crate::election::FailoverState;
use crate::info::Role;
use crate::monitor::{Instance, LinkState, Monitor, Monitored, Target};

/// One record: field names and values in order.
pub type Record = Vec<(&'static str, String)>;

/// The flags of an instance in Redis's fixed order.
fn flags(list: &[(bool, &'static str)]) -> String {
    list.iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

fn ago(now: i64, t: i64) -> String {
    if t == 0 {
        "0".into()
    } else {
        (now - t).to_string()
    }
}

/// The fields every record has after `flags`: the link's.
fn link_fields(r: &mut Record, link: &LinkState) {
    r.push(("link-pending-commands", link.pending_commands.to_string()));
    r.push(("link-refcount", "1".into()));
}

/// The PING timers, and since when it is down (`s_down_since` when SDOWN).
fn ping_fields(r: &mut Record, link: &LinkState, s_down_since: Option<i64>, now: i64) {
    r.push(("last-ping-sent", ago(now, link.act_ping_time)));
    r.push((
        "last-ok-ping-reply",
        (now - link.last_avail_time).to_string(),
    ));
    r.push(("last-ping-reply", (now - link.last_pong_time).to_string()));
    if let Some(since) = s_down_since {
        r.push(("s-down-time", (now - since).to_string()));
    }
}

fn role_fields(r: &mut Record, i: &Instance, now: i64) {
    r.push(("info-refresh", ago(now, i.info_refresh)));
    let role = if i.role_reported == Some(Role::Master) {
        "master"
    } else {
        "slave"
    };
    r.push(("role-reported", role.into()));
    r.push((
        "role-reported-time",
        (now - i.role_reported_time).to_string(),
    ));
}

fn shown(i: &crate::monitor::Instance, announce: bool) -> &str {
    if announce {
        &i.host
    } else {
        &i.ip
    }
}

/// SENTINEL MASTER's record.
/// `announce`: `announce-hostnames` (instances shown by name).
pub fn master_record(m: &Monitored, announce: bool, now: i64) -> Record {
    let i = &m.master;
    let mut r: Record = vec![
        ("name", m.config.name.clone()),
        ("ip", shown(i, announce).to_string()),
        ("port", i.port.to_string()),
        ("runid", i.run_id.clone().unwrap_or_default()),
        (
            "flags",
            flags(&[
                (i.sdown, "s_down"),
                (m.odown, "o_down"),
                (true, "master"),
                (!i.link.connected, "disconnected"),
                (m.failover_in_progress, "failover_in_progress"),
                (m.force_failover, "force_failover"),
                (i.script_kill_sent, "script_kill_sent"),
            ]),
        ),
    ];
    link_fields(&mut r, &i.link);
    if m.failover_in_progress {
        r.push(("failover-state", m.failover.state.name().into()));
    }
    ping_fields(&mut r, &i.link, i.sdown.then_some(i.s_down_since), now);
    if m.odown {
        r.push(("o-down-time", (now - m.o_down_since).to_string()));
    }
    r.push((
        "down-after-milliseconds",
        m.config.down_after_ms.to_string(),
    ));
    role_fields(&mut r, i, now);
    r.push(("config-epoch", m.config.config_epoch.to_string()));
    r.push(("num-slaves", m.replicas.len().to_string()));
    r.push(("num-other-sentinels", m.sentinels.len().to_string()));
    r.push(("quorum", m.config.quorum.to_string()));
    r.push(("failover-timeout", m.config.failover_timeout_ms.to_string()));
    r.push(("parallel-syncs", m.config.parallel_syncs.to_string()));
    if let Some(s) = &m.config.notification_script {
        r.push(("notification-script", s.clone()));
    }
    if let Some(s) = &m.config.client_reconfig_script {
        r.push(("client-reconfig-script", s.clone()));
    }
    r
}

/// SENTINEL REPLICAS's record of replica `idx`.
pub fn replica_record(m: &Monitored, idx: usize, announce: bool, now: i64) -> Record {
    let i = &m.replicas[idx];
    let host = shown(i, announce);
    let mut r: Record = vec![
        ("name", format!("{}:{}", host, i.port)),
        ("ip", host.to_string()),
        ("port", i.port.to_string()),
        ("runid", i.run_id.clone().unwrap_or_default()),
        (
            "flags",
            flags(&[
                (i.sdown, "s_down"),
                (true, "slave"),
                (!i.link.connected, "disconnected"),
                (i.reconf.promoted, "promoted"),
                (i.reconf.sent, "reconf_sent"),
                (i.reconf.in_progress, "reconf_inprog"),
                (i.reconf.done, "reconf_done"),
                (i.script_kill_sent, "script_kill_sent"),
            ]),
        ),
    ];
    link_fields(&mut r, &i.link);
    ping_fields(&mut r, &i.link, i.sdown.then_some(i.s_down_since), now);
    r.push((
        "down-after-milliseconds",
        m.config.down_after_ms.to_string(),
    ));
    role_fields(&mut r, i, now);
    r.push((
        "master-link-down-time",
        (i.master_link_down_since_s.unwrap_or(0) * 1000).to_string(),
    ));
    r.push((
        "master-link-status",
        if i.master_link_up == Some(true) {
            "ok"
        } else {
            "err"
        }
        .into(),
    ));
    let (host, port) = i
        .replica_master
        .clone()
        .map_or(("?".to_string(), 0), |(h, p)| (h, p));
    r.push(("master-host", host));
    r.push(("master-port", port.to_string()));
    r.push(("slave-priority", i.replica_priority.to_string()));
    r.push(("slave-repl-offset", i.replica_repl_offset.to_string()));
    r.push(("replica-announced", (i.announced as u8).to_string()));
    r
}

/// SENTINEL SENTINELS's record of peer `idx`.
pub fn sentinel_record(m: &Monitored, idx: usize, now: i64) -> Record {
    let p = &m.sentinels[idx];
    let mut r: Record = vec![
        ("name", p.runid.clone()),
        ("ip", p.ip.clone()),
        ("port", p.port.to_string()),
        ("runid", p.runid.clone()),
        (
            "flags",
            flags(&[
                (p.sdown, "s_down"),
                (true, "sentinel"),
                (!p.link.connected, "disconnected"),
                (p.master_down, "master_down"),
            ]),
        ),
    ];
    link_fields(&mut r, &p.link);
    ping_fields(&mut r, &p.link, p.sdown.then_some(p.s_down_since), now);
    r.push((
        "down-after-milliseconds",
        m.config.down_after_ms.to_string(),
    ));
    r.push(("last-hello-message", ago(now, p.last_hello_time)));
    r.push((
        "voted-leader",
        p.leader.clone().unwrap_or_else(|| "?".into()),
    ));
    r.push(("voted-leader-epoch", p.leader_epoch.to_string()));
    r
}

/// SENTINEL CKQUORUM's answer: `Ok(text)` for `+OK`, `Err(text)` for the
/// `-NOQUORUM` error.
pub fn ckquorum(m: &Monitored) -> Result<String, String> {
    let voters = m.sentinels.len() + 1;
    // Ourselves, and the Sentinels not down.
    let usable = 1 + m.sentinels.iter().filter(|p| !p.sdown).count();
    let majority = voters / 2 + 1;
    let mut problems = Vec::new();
    if usable < m.config.quorum as usize {
        problems
            .push("Not enough available Sentinels to reach the specified quorum for this master");
    }
    if usable < majority {
        problems
            .push("Not enough available Sentinels to reach the majority and authorize a failover");
    }
    if problems.is_empty() {
        Ok(format!(
            "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
        ))
    } else {
        Err(format!(
            "NOQUORUM {usable} usable Sentinels. {}",
            problems.join(". ")
        ))
    }
}

impl Monitor {
    /// SENTINEL GET-MASTER-ADDR-BY-NAME: the current address, already the
    /// promoted replica's once it has been promoted.
    pub fn master_addr(&self, name: &str) -> Option<(String, u16)> {
        let m = self.masters.iter().find(|m| m.config.name == name)?;
        if m.failover.state == FailoverState::ReconfSlaves
            || m.failover.state == FailoverState::UpdateConfig
        {
            if let Some(p) = m.promoted.and_then(|p| m.replicas.get(p)) {
                return Some((self.shown(p).to_string(), p.port));
            }
        }
        Some((self.shown(&m.master).to_string(), m.master.port))
    }

    /// Which instance of master `master` is at `ip:port`, if any.
    pub fn find(&self, master: usize, ip: &str, port: u16) -> Option<Target> {
        let m = self.masters.get(master)?;
        if m.master.ip == ip && m.master.port == port {
            return Some(Target::Master);
        }
        m.replicas
            .iter()
            .position(|r| r.ip == ip && r.port == port)
            .map(Target::Replica)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Peer, PingReply};
    use crate::testkit;

    const T0: i64 = 1_000_000;

    fn monitor() -> Monitor {
        let mut m = testkit::monitor("monitor mymaster 127.0.0.1 6379 2", T0);
        m.on_ping_reply(0, Target::Master, PingReply::Valid, T0 + 10);
        m.on_info(
            0,
            Target::Master,
            "run_id:0123456789012345678901234567890123456789\r\nrole:master\r\nslave0:ip=127.0.0.1,port=6380,state=online,offset=5,lag=0\r\n",
            T0 + 20,
        );
        m
    }

    #[test]
    fn master_record_fields_in_redis_order() {
        let m = monitor();
        let r = master_record(&m.masters[0], false, T0 + 100);
        let names: Vec<&str> = r.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "name",
                "ip",
                "port",
                "runid",
                "flags",
                "link-pending-commands",
                "link-refcount",
                "last-ping-sent",
                "last-ok-ping-reply",
                "last-ping-reply",
                "down-after-milliseconds",
                "info-refresh",
                "role-reported",
                "role-reported-time",
                "config-epoch",
                "num-slaves",
                "num-other-sentinels",
                "quorum",
                "failover-timeout",
                "parallel-syncs"
            ]
        );
        let get = |k: &str| r.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("flags"), "master");
        assert_eq!(
            (get("last-ok-ping-reply"), get("info-refresh")),
            ("90".into(), "80".into())
        );
        assert_eq!((get("num-slaves"), get("quorum")), ("1".into(), "2".into()));
        let rr = replica_record(&m.masters[0], 0, false, T0 + 100);
        assert_eq!(rr[0], ("name", "127.0.0.1:6380".to_string()));
        assert_eq!(rr[4], ("flags", "slave,disconnected".to_string()));
        assert_eq!(m.master_addr("mymaster"), Some(("127.0.0.1".into(), 6379)));
        assert_eq!(m.master_addr("nope"), None);
    }

    #[test]
    fn ckquorum_texts() {
        let mut m = monitor();
        assert_eq!(
            ckquorum(&m.masters[0]),
            Err("NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master".into())
        );
        m.masters[0]
            .sentinels
            .push(Peer::new(&"b".repeat(40), "127.0.0.1", 26380, T0));
        assert_eq!(
            ckquorum(&m.masters[0]),
            Ok("OK 2 usable Sentinels. Quorum and failover authorization can be reached".into())
        );
        m.masters[0].config.quorum = 3;
        assert_eq!(
            ckquorum(&m.masters[0]),
            Err("NOQUORUM 2 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master".into())
        );
    }
}

#[cfg(test)]
mod peer_tests {
    use super::*;
    use crate::monitor::{Peer, PingReply};
    use crate::testkit::{self, names, sends};

    #[test]
    fn sentinels_are_pinged_and_one_that_stops_answering_is_down() {
        let t0 = 1_000_000;
        let mut m = testkit::monitor("monitor mymaster 127.0.0.1 6379 2", t0);
        m.masters[0]
            .sentinels
            .push(Peer::new(&"b".repeat(40), "127.0.0.1", 26380, t0));
        assert_eq!(
            sends(&m.on_link(0, Target::Sentinel(0), true, t0)),
            ["PING"]
        );
        m.on_ping_reply(0, Target::Sentinel(0), PingReply::Valid, t0 + 5);
        let mut seen = Vec::new();
        for t in (t0 + 100..t0 + 40_000).step_by(100) {
            let out = m.tick(t);
            seen.extend(names(&out));
            assert!(ckquorum(&m.masters[0]).is_ok() || m.masters[0].sentinels[0].sdown);
        }
        // It never answered again: down after down-after (30 s).
        assert!(seen.contains(&"+sdown"), "{seen:?}");
        assert!(sentinel_record(&m.masters[0], 0, t0 + 40_000)[4]
            .1
            .starts_with("s_down,sentinel"));
        assert_eq!(
            ckquorum(&m.masters[0]),
            Err("NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. Not enough available Sentinels to reach the majority and authorize a failover".into())
        );
    }
}
