"""Master/replica replication (PSYNC): the server under test in both roles.

Every server here is SERVER_BIN (REDUST_SERVER). See test_replication_interop.py for
SERVER_BIN <-> real Redis, test_replication_chaos.py for consistency under kill/stop.

BEHAVIOURS VERIFIED AGAINST REDIS 7.0.15 THAT AN IMPLEMENTATION MUST MATCH
(all servers started with --repl-diskless-sync-delay 0; Redis 7.0 defaults to
repl-diskless-sync yes, repl-diskless-sync-delay 5, repl-diskless-load disabled)

INFO replication, exact field order
  master:  role:master, connected_slaves:N, [min_slaves_good_slaves:N only when both
           min-replicas-to-write and min-replicas-max-lag are non-zero],
           slave0:ip=127.0.0.1,port=<listening port>,state=online,offset=<acked>,lag=<s>
           (slaveN in that key order; state wait_bgsave/send_bulk/online),
           master_failover_state, master_replid (40 hex), master_replid2 (40 zeros when
           unset), master_repl_offset, second_repl_offset (-1 when unset),
           repl_backlog_active (0 until the first replica), repl_backlog_size (1048576),
           repl_backlog_first_byte_offset (0 without backlog, 1 once created),
           repl_backlog_histlen
  replica: role:slave, master_host, master_port, master_link_status (up/down),
           master_last_io_seconds_ago (-1 when down), master_sync_in_progress (0/1),
           slave_read_repl_offset, slave_repl_offset (both 1 before any sync),
           [master_sync_total_bytes.. only while transferring],
           [master_link_down_since_seconds only when the link is not up; -1 if never up],
           slave_priority:100, slave_read_only:1, replica_announced:1,
           connected_slaves, [slaveN..], then the same tail as a master
           (master_failover_state .. repl_backlog_histlen).
  INFO stats: sync_full, sync_partial_ok, sync_partial_err (counted on the master;
           a PSYNC that turns into a full sync counts sync_full and sync_partial_err).
ROLE
  master:  ["master", <offset int>, [[ip bulk, port bulk, acked offset bulk], ...]]
  replica: ["slave", host bulk, port int, state bulk, offset int]; state is
           connect/connecting/handshake/sync/connected, offset -1 until synced.
Errors / replies
  write on a replica:       READONLY You can't write against a read only replica.
  replica-serve-stale-data no, link down (GET, PING, DBSIZE...; a write gets READONLY
  first; INFO, ROLE, CONFIG, REPLICAOF still work):
        MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.
  min-replicas-to-write not met (writes only, reads and EVAL of nothing pass):
        NOREPLICAS Not enough good replicas to write.
  REPLICAOF same host+port again -> +OK Already connected to specified master
  REPLICAOF host <bad port> / NO TWO -> ERR Invalid master port
  WAIT on a replica: ERR WAIT cannot be used with replica instances. Please also note
        that since Redis 4.0 if a replica is configured to be writable (which is not the
        default) writes to replicas are just local and are not propagated.
  WAIT 0 -1 -> ERR timeout is negative; WAIT n x -> ERR timeout is not an integer or out
        of range; WAIT with no replicas -> 0 after the timeout; inside MULTI WAIT does not
        block. WAIT counts replicas that acked the CALLING client's last write offset: a
        client that wrote nothing gets the number of connected acked replicas at once,
        WAIT 0 0 answers at once with that count; when it has to block, the master sends
        REPLCONF GETACK * to the replicas.
  min-replicas-to-write: a write queued in MULTI gets NOREPLICAS at once, EXEC then says
        EXECABORT Transaction discarded because of previous errors.
  a write queued in MULTI on a read-only replica: READONLY at once, EXEC -> EXECABORT
  REPLCONF bogus x -> ERR Unrecognized REPLCONF option: bogus
  REPLCONF GETACK / ACK from a normal client: no reply at all
  CONFIG SET repl-backlog-size 1 -> OK, clamped to 16384 (CONFIG GET and INFO show 16384)
  CONFIG GET replicaof on a replica -> "127.0.0.1 <port>" (slaveof too); "" on a master
FAILOVER (7.0)
  no replicas:              ERR FAILOVER requires connected replicas.
  on a replica:             ERR FAILOVER is not valid when server is a replica.
  TO a host:port that is not a replica: ERR FAILOVER target HOST and PORT is not a replica.
  second one:               ERR FAILOVER already in progress.
  ABORT with none running:  ERR No failover in progress.
  TIMEOUT 0 or negative:    ERR FAILOVER timeout must be greater than 0
  FORCE without TO+TIMEOUT: ERR FAILOVER with force option requires both a timeout and
                            target HOST and IP.
  FAILOVER [TIMEOUT ms] without TO picks any replica that has acked the master offset.
  If nothing is unacknowledged it goes straight to failover-in-progress (where TIMEOUT no
  longer applies); with unacknowledged writes it waits, and TIMEOUT without FORCE aborts:
  "FAILOVER to any replica aborted: Replica never caught up before timeout".
  master_failover_state: no-failover -> waiting-for-sync (writes are paused: a writing
  client blocks; reads go on) -> failover-in-progress -> no-failover with role:slave of
  the target; the target becomes master and the old master resyncs to it by PSYNC
  (partial). ABORT returns OK, state back to no-failover, paused writers resume.
  Logs: "FAILOVER requested to <ip>:<port>." / "FAILOVER requested to any replica.",
  "Failover target <ip>:<port> is synced, failing over.",
  "FAILOVER to <ip>:<port> aborted: Failover manually aborted"
Promotion (REPLICAOF NO ONE): new master_replid, master_replid2 = old replid,
  second_repl_offset = master_repl_offset + 1, writes accepted, ROLE ["master", off, []].
  A sibling re-pointed at it gets +CONTINUE (sync_partial_ok on the new master);
  a chained replica logs "Master replication ID changed to <new id>". The promotion
  disconnects the promoted server's own replicas, which come back by partial resync
  (so sync_partial_ok on it goes up by one per sub-replica too).
Backlog: created with the first replica (new replid, first_byte_offset 1); Redis trims it
  by whole blocks, so repl_backlog_histlen may exceed repl-backlog-size a little; a replica
  reconnecting past it gets a full sync (sync_full+1, sync_partial_err+1).
Restarts: a replica that saved its RDB (SHUTDOWN SAVE; also the RDB it received at sync
  when repl-diskless-load is disabled) resumes with a partial resync; a master restarted
  from its own SHUTDOWN SAVE RDB keeps its replid (as replid2, second_repl_offset =
  offset + 1, with a fresh replid) and accepts PSYNC from its replicas (sync_full 0).
  SHUTDOWN on a master with replicas first waits for them (shutdown-timeout 10 s; it
  sends REPLCONF GETACK *) and logs "Waiting for replicas before shutting down.".
Replica and expiry: the replica never expires keys itself; a key past its TTL whose DEL
  has not arrived reads as nil (GET nil, EXISTS 0, TTL -2, not in KEYS) but still counts
  in DBSIZE and INFO keyspace; the master's DEL removes it; expired_keys stays 0 there.
Wire (server-under-test master, RawConn as replica)
  PING -> +PONG; REPLCONF listening-port N -> +OK; REPLCONF capa eof capa psync2 -> +OK;
  PSYNC ? -1 -> "+FULLRESYNC <40 hex> <offset>\r\n", then optional "\n" keepalives, then
  diskless (replica said capa eof): "$EOF:<40 bytes>\r\n" + RDB + the same 40 bytes, or
  disk: "$<len>\r\n" + <len> bytes of RDB (no trailing CRLF); the RDB starts "REDIS0010"
  (Redis 7.0; 0011 would be 7.2). Diskless: the stream starts only after the replica's
  first REPLCONF ACK. Then the write stream: "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" before
  the first command of a db, commands as RESP arrays, keepalive "*1\r\n$4\r\nping\r\n"
  every repl-ping-replica-period seconds (counted in the offset), "REPLCONF GETACK *"
  when a client WAITs. PSYNC <replid> <next offset> -> "+CONTINUE <replid>\r\n" (psync2
  capa) then the backlog from that offset. PSYNC of an unknown replid or an offset out
  of the backlog -> +FULLRESYNC. A master without a backlog yet answers PSYNC of its
  own replid with +FULLRESYNC (the backlog is created, with a new replid).
  Propagation forms: SET k v EX s -> SET k v PXAT <ms>; EXPIRE -> PEXPIREAT;
  key expired on the master -> DEL; INCRBYFLOAT -> SET k v KEEPTTL; SPOP -> SREM;
  BLPOP -> LPOP; MULTI/EXEC stays MULTI .. EXEC; read-only MULTI/EXEC, SPOP of a
  missing key, GET: nothing.
Replica side: its handshake is PING, REPLCONF listening-port <its port>, REPLCONF capa eof
  capa psync2, PSYNC ? -1 (or PSYNC <replid> <offset+1> with a cached master); it answers
  "REPLCONF GETACK *" with "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$<n>\r\n<offset>\r\n"
  where offset counts every byte of the stream processed before the GETACK (not the GETACK
  itself), and sends the same ACK on its own about once a second; after +FULLRESYNC
  <id> <off> its slave_repl_offset / ROLE offset continue from <off>.
Log lines (master): "Replica <ip>:<port> asks for synchronization",
  "Full resync requested by replica <ip>:<port>",
  "Synchronization with replica <ip>:<port> succeeded",
  "Partial resynchronization request from <ip>:<port> accepted. Sending <n> bytes of
  backlog starting from offset <o>.", "Connection with replica <ip>:<port> lost."
Log lines (replica): "Connecting to MASTER <host>:<port>", "MASTER <-> REPLICA sync started",
  "Master replied to PING, replication can continue...",
  "Partial resynchronization not possible (no cached master)",
  "Full resync from master: <replid>:<offset>",
  "MASTER <-> REPLICA sync: Finished with success", "Connection with master lost.",
  "Trying a partial resynchronization (request <replid>:<offset>).",
  "Successful partial resynchronization with master.",
  "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
  "MASTER MODE enabled (user request from '...')",
  wrong masterauth: "Unable to AUTH to MASTER: -WRONGPASS invalid username-password pair
  or user is disabled."; no masterauth: "MASTER aborted replication with an error:
  NOAUTH Authentication required."
  swapdb load: "MASTER <-> REPLICA sync: Swapping active DB with loaded DB"
Redis 7.0.15 bug NOT to copy: SHUTDOWN on a master with replicas from a client that ran
  a timed-out WAIT earlier crashes it (blocked.c:230). The tests avoid that sequence.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from helpers import (
    HOST,
    SERVER_BIN,
    RespError,
    encode_command,
    free_port,
    pair,
    parse_info,
    parse_slave_line,
    repl_info,
    start,
    start_replica,
    stat,
    wait_in_sync,
    wait_link_up,
    wait_online,
    wait_until,
)

HEX40 = re.compile(r"^[0-9a-f]{40}$")
ZERO_ID = "0" * 40

MASTER_TAIL = [
    "master_failover_state",
    "master_replid",
    "master_replid2",
    "master_repl_offset",
    "second_repl_offset",
    "repl_backlog_active",
    "repl_backlog_size",
    "repl_backlog_first_byte_offset",
    "repl_backlog_histlen",
]
REPLICA_HEAD = [
    "role",
    "master_host",
    "master_port",
    "master_link_status",
    "master_last_io_seconds_ago",
    "master_sync_in_progress",
    "slave_read_repl_offset",
    "slave_repl_offset",
]
REPLICA_MID = ["slave_priority", "slave_read_only", "replica_announced", "connected_slaves"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def master_and_two_replicas(factory):
    """A master with two online replicas; returns (m, r1, r2, mc, c1, c2)."""
    m = start(factory)
    r1 = start_replica(factory, m)
    r2 = start_replica(factory, m)
    mc, c1, c2 = m.client(), r1.client(), r2.client()
    wait_online(mc, 2)
    return m, r1, r2, mc, c1, c2


def fill_every_type(c, big=True):
    c.call("SET", "str", "hello")
    c.call("SET", "int", "12345")
    c.call("SET", "ttl", "v", "EX", "1000")
    c.call("SET", "pttl", "v", "PX", "900000")
    c.call("RPUSH", "list", *[str(i) for i in range(20)])
    c.call("HSET", "hash", "f1", "v1", "f2", "v2")
    c.call("SADD", "intset", "1", "2", "-3")
    c.call("SADD", "strset", "a", "b", "c")
    c.call("ZADD", "zset", "1.5", "a", "-2", "b", "inf", "c")
    c.call("EXPIRE", "hash", "5000")
    if big:  # beyond the listpack / intset thresholds
        c.call("RPUSH", "biglist", *["e%d" % i for i in range(700)])
        c.call("HSET", "bighash", *sum([["f%d" % i, "v%d" % i] for i in range(600)], []))
        c.call("SADD", "bigset", *[str(i) for i in range(600)])
        c.call("SADD", "bigstrset", *["m%d" % i for i in range(200)])
        c.call("ZADD", "bigzset", *sum([[str(i * 0.25), "m%d" % i] for i in range(300)], []))
        c.call("SET", "bigstr", "x" * 100000)
    c.call("SELECT", "5")
    c.call("SET", "in-db-5", "yes")
    c.call("HSET", "h5", "a", "1")
    c.call("SELECT", "0")


def keys_in_order(info):
    return list(info.keys())


def ro_writes_fail(c):
    return c.err("SET", "nope", "1") == "READONLY You can't write against a read only replica."


# ---------------------------------------------------------------------------
# configuring replication
# ---------------------------------------------------------------------------


def test_replicaof_in_config_file(server_factory):
    m = start(server_factory)
    mc = m.client()
    mc.call("SET", "before", "1")
    r = start(server_factory, config="replicaof %s %d\n" % (HOST, m.port))
    rc = r.client()
    wait_link_up(rc)
    assert rc.call("GET", "before") == b"1"
    assert rc.call("CONFIG", "GET", "replicaof") == [b"replicaof", b"%s %d" % (HOST.encode(), m.port)]
    assert mc.call("CONFIG", "GET", "replicaof") == [b"replicaof", b""]
    info = repl_info(rc)
    assert info["role"] == "slave" and info["master_host"] == HOST and info["master_port"] == str(m.port)


def test_slaveof_alias_and_slave_read_only_in_config_file(server_factory):
    # The tutorial's config: the old names.
    m = start(server_factory)
    r = start(server_factory, config="slaveof %s %d\nslave-read-only no\n" % (HOST, m.port))
    mc, rc = m.client(), r.client()
    wait_link_up(rc)
    assert rc.call("CONFIG", "GET", "slaveof") == [b"slaveof", b"%s %d" % (HOST.encode(), m.port)]
    assert rc.call("CONFIG", "GET", "replica-read-only") == [b"replica-read-only", b"no"]
    assert repl_info(rc)["slave_read_only"] == "0"
    mc.call("SET", "k", "v")
    wait_until(lambda: rc.call("GET", "k") == b"v")


def test_replicaof_on_the_command_line(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    wait_until(lambda: rc.call("GET", "k") == b"v")
    assert repl_info(rc)["master_port"] == str(m.port)


def test_replicaof_and_slaveof_at_run_time(server_factory):
    m = start(server_factory)
    r = start(server_factory)
    mc, rc = m.client(), r.client()
    mc.call("SET", "k", "v")
    rc.call("SET", "local", "gone-after-sync")
    assert rc.call("REPLICAOF", HOST, str(m.port)) == "OK"
    wait_link_up(rc)
    assert rc.call("GET", "k") == b"v"
    assert rc.call("EXISTS", "local") == 0  # the full sync replaced the dataset
    assert rc.call("REPLICAOF", HOST, str(m.port)) == "OK Already connected to specified master"
    # Back to master, then SLAVEOF (the old name) does the same.
    assert rc.call("REPLICAOF", "NO", "ONE") == "OK"
    assert repl_info(rc)["role"] == "master"
    assert rc.call("SLAVEOF", HOST, str(m.port)) == "OK"
    wait_link_up(rc)
    mc.call("SET", "k2", "v2")
    wait_until(lambda: rc.call("GET", "k2") == b"v2")
    assert rc.call("SLAVEOF", "no", "one") == "OK"
    assert rc.call("SET", "w", "1") == "OK"


def test_replicaof_argument_errors(server_factory):
    s = start(server_factory)
    c = s.client()
    assert c.err("REPLICAOF", "x") == "ERR wrong number of arguments for 'replicaof' command"
    assert c.err("SLAVEOF", "a", "b", "c") == "ERR wrong number of arguments for 'slaveof' command"
    assert c.err("REPLICAOF", HOST, "abc") == "ERR Invalid master port"
    assert c.err("REPLICAOF", HOST, "70000") == "ERR Invalid master port"
    assert c.err("REPLICAOF", HOST, "-1") == "ERR Invalid master port"
    assert c.err("REPLICAOF", "NO", "TWO") == "ERR Invalid master port"
    assert c.call("REPLICAOF", "NO", "ONE") == "OK"  # already a master: fine
    assert repl_info(c)["role"] == "master"


def test_replicaof_no_one_promotes_the_replica(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    wait_in_sync(mc, [rc])
    before = repl_info(rc)
    old_id, off = before["master_replid"], int(before["master_repl_offset"])
    assert old_id == repl_info(mc)["master_replid"]
    assert rc.call("REPLICAOF", "NO", "ONE") == "OK"
    info = repl_info(rc)
    assert info["role"] == "master"
    assert HEX40.match(info["master_replid"]) and info["master_replid"] != old_id
    assert info["master_replid2"] == old_id
    assert int(info["master_repl_offset"]) == off
    assert int(info["second_repl_offset"]) == off + 1
    assert "master_host" not in info and "master_link_status" not in info
    assert rc.call("ROLE") == [b"master", off, []]
    assert rc.call("SET", "w", "1") == "OK"
    assert rc.call("GET", "k") == b"v"  # data kept
    assert mc.call("EXISTS", "w") == 0
    wait_until(lambda: repl_info(mc)["connected_slaves"] == "0")
    assert "MASTER MODE enabled (user request from '" in r.log()


# ---------------------------------------------------------------------------
# INFO replication and ROLE
# ---------------------------------------------------------------------------


def test_info_replication_on_a_lone_master(server_factory):
    s = start(server_factory)
    info = repl_info(s.client())
    assert keys_in_order(info) == ["role", "connected_slaves"] + MASTER_TAIL
    assert info["role"] == "master"
    assert info["connected_slaves"] == "0"
    assert info["master_failover_state"] == "no-failover"
    assert HEX40.match(info["master_replid"])
    assert info["master_replid2"] == ZERO_ID
    assert info["master_repl_offset"] == "0"
    assert info["second_repl_offset"] == "-1"
    assert info["repl_backlog_active"] == "0"
    assert info["repl_backlog_size"] == "1048576"
    assert info["repl_backlog_first_byte_offset"] == "0"
    assert info["repl_backlog_histlen"] == "0"
    assert s.client().call("ROLE") == [b"master", 0, []]


def test_info_replication_master_and_replica_fields(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    wait_in_sync(mc, [rc])
    # The replica acknowledges its offset about once a second.
    want = int(repl_info(mc)["master_repl_offset"])
    wait_until(lambda: parse_slave_line(repl_info(mc)["slave0"])["offset"] == str(want), 10)

    mi = repl_info(mc)
    assert keys_in_order(mi) == ["role", "connected_slaves", "slave0"] + MASTER_TAIL
    assert mi["connected_slaves"] == "1"
    s0 = parse_slave_line(mi["slave0"])
    assert list(s0) == ["ip", "port", "state", "offset", "lag"]
    assert s0["ip"] == HOST and s0["port"] == str(r.port) and s0["state"] == "online"
    assert int(s0["lag"]) >= 0
    assert mi["repl_backlog_active"] == "1"
    assert mi["repl_backlog_first_byte_offset"] == "1"
    assert int(mi["master_repl_offset"]) >= want > 0
    assert int(mi["repl_backlog_histlen"]) == int(mi["master_repl_offset"])
    assert HEX40.match(mi["master_replid"])

    ri = repl_info(rc)
    assert keys_in_order(ri) == REPLICA_HEAD + REPLICA_MID + MASTER_TAIL
    assert ri["role"] == "slave"
    assert ri["master_host"] == HOST and ri["master_port"] == str(m.port)
    assert ri["master_link_status"] == "up"
    assert 0 <= int(ri["master_last_io_seconds_ago"]) <= 10
    assert ri["master_sync_in_progress"] == "0"
    assert int(ri["slave_read_repl_offset"]) >= int(ri["slave_repl_offset"]) >= want
    assert ri["slave_priority"] == "100"
    assert ri["slave_read_only"] == "1"
    assert ri["replica_announced"] == "1"
    assert ri["connected_slaves"] == "0"
    assert ri["master_replid"] == mi["master_replid"]
    assert ri["master_replid2"] == ZERO_ID
    assert ri["repl_backlog_active"] == "1"  # a replica keeps a backlog too (psync2)

    st = parse_info(mc.call("INFO", "stats"))[1]
    assert (st["sync_full"], st["sync_partial_ok"], st["sync_partial_err"]) == ("1", "0", "0")
    assert "sync_full" in parse_info(mc.call("INFO"))[1]  # part of the default INFO


def test_role_reply_shapes(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    wait_in_sync(mc, [rc])
    want = int(repl_info(mc)["master_repl_offset"])
    wait_until(lambda: mc.call("ROLE")[2] and mc.call("ROLE")[2][0][2] == str(want).encode(), 10)
    role = mc.call("ROLE")
    assert role[0] == b"master" and isinstance(role[1], int) and role[1] >= want
    assert role[2] == [[HOST.encode(), str(r.port).encode(), str(want).encode()]]
    rrole = rc.call("ROLE")
    assert rrole[:4] == [b"slave", HOST.encode(), m.port, b"connected"]
    assert isinstance(rrole[4], int) and rrole[4] >= want


def test_replica_of_nothing_reports_link_down(server_factory):
    dead = free_port()
    r = start(server_factory, "--replicaof", HOST, dead)
    rc = r.client()
    info = repl_info(rc)
    assert keys_in_order(info) == REPLICA_HEAD + ["master_link_down_since_seconds"] + REPLICA_MID + MASTER_TAIL
    assert info["master_link_status"] == "down"
    assert info["master_last_io_seconds_ago"] == "-1"
    assert info["master_link_down_since_seconds"] == "-1"  # never was up
    assert info["slave_read_repl_offset"] == "1" and info["slave_repl_offset"] == "1"
    assert info["repl_backlog_active"] == "0"
    role = rc.call("ROLE")
    assert role[:3] == [b"slave", HOST.encode(), dead]
    assert role[3] in (b"connect", b"connecting")
    assert role[4] == -1
    wait_until(lambda: "Connecting to MASTER %s:%d" % (HOST, dead) in r.log())


def test_link_down_since_counts_after_master_dies(server_factory):
    m, r, mc, rc = pair(server_factory)
    m.kill()
    wait_until(lambda: repl_info(rc)["master_link_status"] == "down", 10)
    info = repl_info(rc)
    assert int(info["master_link_down_since_seconds"]) >= 0
    assert info["master_last_io_seconds_ago"] == "-1"
    assert rc.call("ROLE")[3] in (b"connect", b"connecting")
    wait_until(lambda: "Connection with master lost." in r.log())


# ---------------------------------------------------------------------------
# read-only, stale data, auth
# ---------------------------------------------------------------------------


def test_read_only_replica(server_factory):
    m, r, mc, rc = pair(server_factory)
    assert rc.err("SET", "k", "v") == "READONLY You can't write against a read only replica."
    assert rc.err("DEL", "k") == "READONLY You can't write against a read only replica."
    assert rc.err("LPUSH", "l", "a") == "READONLY You can't write against a read only replica."
    assert rc.call("GET", "k") is None  # reads are fine
    # MULTI with a write inside: the write is refused when queued, EXEC aborts.
    assert rc.call("MULTI") == "OK"
    assert rc.err("SET", "k", "v") == "READONLY You can't write against a read only replica."
    assert rc.err("EXEC") == "EXECABORT Transaction discarded because of previous errors."


def test_writable_replica_keeps_its_writes_local(server_factory):
    m, r, mc, rc = pair(server_factory, "--replica-read-only", "no")
    assert repl_info(rc)["slave_read_only"] == "0"
    assert rc.call("SET", "only-here", "1") == "OK"
    mc.call("SET", "from-master", "1")
    wait_until(lambda: rc.call("GET", "from-master") == b"1")
    assert mc.call("EXISTS", "only-here") == 0
    assert rc.call("GET", "only-here") == b"1"
    # CONFIG SET switches it back
    assert rc.call("CONFIG", "SET", "replica-read-only", "yes") == "OK"
    assert ro_writes_fail(rc)


def test_serve_stale_data_no_while_the_link_is_down(server_factory):
    r = start(server_factory, "--replicaof", HOST, free_port(), "--replica-serve-stale-data", "no")
    rc = r.client()
    masterdown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    assert rc.err("GET", "a") == masterdown
    assert rc.err("PING") == masterdown
    assert rc.err("DBSIZE") == masterdown
    assert rc.err("SET", "a", "1") == "READONLY You can't write against a read only replica."
    # Allowed while down: INFO, ROLE, CONFIG, REPLICAOF.
    assert repl_info(rc)["master_link_status"] == "down"
    assert rc.call("ROLE")[0] == b"slave"
    assert rc.call("CONFIG", "GET", "replica-serve-stale-data") == [b"replica-serve-stale-data", b"no"]
    # With a live master the same replica serves reads.
    m = start(server_factory)
    m.client().call("SET", "a", "1")
    assert rc.call("REPLICAOF", HOST, str(m.port)) == "OK"
    wait_link_up(rc)
    assert rc.call("GET", "a") == b"1"
    assert rc.call("PING") == "PONG"
    # and yes serves stale data while down
    m.kill()
    wait_until(lambda: repl_info(rc)["master_link_status"] == "down", 10)
    assert rc.err("GET", "a") == masterdown
    assert rc.call("CONFIG", "SET", "replica-serve-stale-data", "yes") == "OK"
    assert rc.call("GET", "a") == b"1"


def test_requirepass_and_masterauth(server_factory):
    m = start(server_factory, "--requirepass", "sekret")
    mc = m.client()
    assert mc.call("AUTH", "sekret") == "OK"
    good = start_replica(server_factory, m, "--masterauth", "sekret")
    wrong = start_replica(server_factory, m, "--masterauth", "wrong")
    none = start_replica(server_factory, m)
    gc, wc, nc = good.client(), wrong.client(), none.client()
    wait_link_up(gc)
    mc.call("SET", "k", "v")
    wait_until(lambda: gc.call("GET", "k") == b"v")
    # The others keep retrying and stay down.
    wait_until(lambda: "Unable to AUTH to MASTER" in wrong.log(), 10)
    wait_until(lambda: "NOAUTH" in none.log(), 10)
    assert repl_info(wc)["master_link_status"] == "down"
    assert repl_info(nc)["master_link_status"] == "down"
    assert wc.call("GET", "k") is None
    assert repl_info(mc)["connected_slaves"] == "1"
    # Fixing masterauth at run time lets it in on the next attempt.
    assert wc.call("CONFIG", "SET", "masterauth", "sekret") == "OK"
    wait_link_up(wc)
    assert wc.call("GET", "k") == b"v"


def test_masteruser_with_an_acl_user(server_factory):
    m = start(server_factory, "--requirepass", "sekret")
    mc = m.client()
    mc.call("AUTH", "sekret")
    try:
        setuser = mc.call("ACL", "SETUSER", "repl", "on", ">replpw", "+psync", "+replconf", "+ping")
    except RespError as e:
        if "unknown command" in e.msg:
            pytest.skip("the server under test has no ACL users yet (masteruser needs one)")
        raise
    assert setuser == "OK"
    r = start_replica(server_factory, m, "--masteruser", "repl", "--masterauth", "replpw")
    rc = r.client()
    wait_link_up(rc)
    mc.call("SET", "k", "v")
    wait_until(lambda: rc.call("GET", "k") == b"v")
    bad = start_replica(server_factory, m, "--masteruser", "repl", "--masterauth", "nope")
    wait_until(lambda: "Unable to AUTH to MASTER" in bad.log(), 10)
    assert repl_info(bad.client())["master_link_status"] == "down"


# ---------------------------------------------------------------------------
# what gets replicated
# ---------------------------------------------------------------------------


def test_every_type_by_full_sync_and_by_stream(server_factory):
    m = start(server_factory)
    mc = m.client()
    fill_every_type(mc)  # before the replica exists: travels in the RDB
    r = start_replica(server_factory, m)
    rc = r.client()
    wait_link_up(rc)
    wait_in_sync(mc, [rc])
    assert rc.call("DEBUG", "DIGEST") == mc.call("DEBUG", "DIGEST")
    mc.call("FLUSHALL")
    fill_every_type(mc)  # now through the command stream
    mc.call("LPUSH", "list", "new")
    mc.call("HINCRBY", "hash", "n", "5")
    mc.call("ZINCRBY", "zset", "2", "a")
    mc.call("SREM", "bigset", "5")
    mc.call("APPEND", "str", "!")
    mc.call("INCRBYFLOAT", "float", "1.5")
    wait_in_sync(mc, [rc])
    assert rc.call("DEBUG", "DIGEST") == mc.call("DEBUG", "DIGEST")
    assert rc.call("GET", "str") == b"hello!"
    assert rc.call("LINDEX", "list", "0") == b"new"
    assert rc.call("HGET", "hash", "n") == b"5"
    assert rc.call("ZSCORE", "zset", "a") == b"3.5"
    assert rc.call("GET", "float") == b"1.5"
    assert rc.call("SCARD", "bigset") == 599
    assert 990 <= rc.call("TTL", "ttl") <= 1000
    assert abs(rc.call("PTTL", "pttl") - mc.call("PTTL", "pttl")) < 2000
    assert rc.call("OBJECT", "ENCODING", "bighash") == mc.call("OBJECT", "ENCODING", "bighash")
    rc.call("SELECT", "5")
    assert rc.call("GET", "in-db-5") == b"yes"


def test_select_multi_exec_and_flushall(server_factory):
    m, r, mc, rc = pair(server_factory)
    other = m.client()
    other.call("SELECT", "3")
    mc.call("SET", "k", "db0")
    other.call("SET", "k", "db3")
    mc.call("SET", "k2", "db0")
    other.call("INCR", "n")
    assert mc.call("MULTI") == "OK"
    mc.call("SET", "a", "1")
    mc.call("INCR", "counter")
    mc.call("SELECT", "7")
    mc.call("SET", "in7", "x")
    assert mc.call("EXEC") == ["OK", 1, "OK", "OK"]
    wait_in_sync(mc, [rc])
    assert rc.call("MGET", "k", "k2", "a", "counter") == [b"db0", b"db0", b"1", b"1"]
    rc.call("SELECT", "3")
    assert rc.call("MGET", "k", "n") == [b"db3", b"1"]
    rc.call("SELECT", "7")
    assert rc.call("GET", "in7") == b"x"
    mc.call("FLUSHDB")  # db 7 (the MULTI selected it)
    wait_in_sync(mc, [rc])
    assert rc.call("DBSIZE") == 0
    rc.call("SELECT", "3")
    assert rc.call("DBSIZE") == 2
    mc.call("SWAPDB", "0", "3")
    wait_in_sync(mc, [rc])
    assert rc.call("GET", "k") == b"db0"
    mc.call("FLUSHALL")
    wait_in_sync(mc, [rc])
    for db in (0, 3, 7):
        rc.call("SELECT", str(db))
        assert rc.call("DBSIZE") == 0


def test_expiry_replica_never_expires_on_its_own(server_factory):
    m, r, mc, rc = pair(server_factory)
    t0 = time.monotonic()
    mc.call("SET", "short", "v", "PX", "1500")
    mc.call("RPUSH", "slist", "a")
    mc.call("PEXPIRE", "slist", "1500")
    mc.call("SET", "keep", "v")
    wait_in_sync(mc, [rc])
    os.kill(m.proc.pid, signal.SIGSTOP)  # the master can neither expire nor send DELs
    try:
        assert rc.call("DBSIZE") == 3
        assert rc.call("GET", "short") == b"v"
        wait_until(lambda: time.monotonic() > t0 + 1.7, 5)
        # Logically expired for readers...
        assert rc.call("GET", "short") is None
        assert rc.call("EXISTS", "short") == 0
        assert rc.call("TTL", "short") == -2
        assert rc.call("LRANGE", "slist", "0", "-1") == []
        assert rc.call("KEYS", "*") == [b"keep"]
        # ...but still stored: only the master's DEL removes them.
        assert rc.call("DBSIZE") == 3
        assert "db0:keys=3,expires=2" in rc.call("INFO", "keyspace").decode()
    finally:
        os.kill(m.proc.pid, signal.SIGCONT)
    wait_until(lambda: rc.call("DBSIZE") == 1, 10)
    assert stat(rc, "expired_keys") == 0
    assert stat(mc, "expired_keys") == 2


def test_expire_on_the_master_reaches_the_replica(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    mc.call("EXPIRE", "k", "100")
    mc.call("SET", "p", "v", "EX", "100")
    mc.call("SET", "p2", "v")
    mc.call("PERSIST", "p")
    mc.call("PEXPIRE", "p2", "200")
    wait_in_sync(mc, [rc])
    assert 95 <= rc.call("TTL", "k") <= 100
    assert rc.call("TTL", "p") == -1
    wait_until(lambda: rc.call("EXISTS", "p2") == 0 and rc.call("DBSIZE") == 2, 10)


def test_several_replicas_and_a_chained_replica(server_factory):
    m = start(server_factory)
    r1 = start_replica(server_factory, m)
    r2 = start_replica(server_factory, m)
    r3 = start_replica(server_factory, r1)  # replica of a replica
    mc, c1, c2, c3 = m.client(), r1.client(), r2.client(), r3.client()
    for c in (c1, c2, c3):
        wait_link_up(c)
    wait_online(mc, 2)
    wait_online(c1, 1)
    info = repl_info(mc)
    ports = sorted(int(parse_slave_line(info["slave%d" % i])["port"]) for i in range(2))
    assert ports == sorted([r1.port, r2.port])
    assert repl_info(c1)["connected_slaves"] == "1"
    assert parse_slave_line(repl_info(c1)["slave0"])["port"] == str(r3.port)
    fill_every_type(mc, big=False)
    for i in range(200):
        mc.call("INCR", "n")
    wait_in_sync(mc, [c1, c2, c3])
    d = mc.call("DEBUG", "DIGEST")
    assert [c.call("DEBUG", "DIGEST") for c in (c1, c2, c3)] == [d, d, d]
    assert c3.call("GET", "n") == b"200"
    # the whole chain shares one replication id and offset
    ids = {repl_info(c)["master_replid"] for c in (mc, c1, c2, c3)}
    assert len(ids) == 1
    assert ro_writes_fail(c3)


@pytest.mark.parametrize("diskless_sync", ["yes", "no"])
def test_chained_full_sync_while_the_stream_is_in_another_db(server_factory, diskless_sync):
    """A sub-replica synced from a replica while the master's stream sits in db 1.

    A replica passes its master's stream on byte for byte, so it cannot start the stream
    after a snapshot with a SELECT of its own, as a master does: the snapshot records the
    stream's database (`repl-stream-db`) and the sub-replica applies the next commands
    there. Getting it wrong puts the next writes in db 0 at the right offset (the
    replication chaos run, seed 1795332115). The same snapshot must not make the replica
    itself forget its master's database when its link then resumes partially.
    """
    m = start(server_factory)
    r1 = start_replica(server_factory, m, "--repl-diskless-sync", diskless_sync)
    mc, c1 = m.client(), r1.client()
    wait_link_up(c1)
    mc.call("SELECT", "1")
    mc.call("SET", "before", "1")  # the stream now says SELECT 1 and stays there
    wait_in_sync(mc, [c1])
    r3 = start_replica(server_factory, r1)
    c3 = r3.client()
    wait_link_up(c3)
    # Right after the snapshot, before anything else reaches it, the replica's link
    # breaks and resumes from its backlog position.
    ok = stat(mc, "sync_partial_ok")
    assert c1.call("CLIENT", "KILL", "TYPE", "master") == 1
    wait_until(lambda: stat(mc, "sync_partial_ok") == ok + 1, 10)
    wait_link_up(c1)
    wait_link_up(c3)
    mc.call("SET", "after", "2")  # no SELECT in the stream: still db 1
    wait_in_sync(mc, [c1, c3])
    for c in (c1, c3):
        c.call("SELECT", "1")
        assert c.call("MGET", "before", "after") == [b"1", b"2"]
        c.call("SELECT", "0")
        assert c.call("DBSIZE") == 0
    d = mc.call("DEBUG", "DIGEST")
    assert [c.call("DEBUG", "DIGEST") for c in (c1, c3)] == [d, d]


# ---------------------------------------------------------------------------
# partial resynchronisation
# ---------------------------------------------------------------------------


def test_partial_resync_after_client_kill_type_master(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "a", "1")
    wait_in_sync(mc, [rc])
    full, ok = stat(mc, "sync_full"), stat(mc, "sync_partial_ok")
    assert rc.call("CLIENT", "KILL", "TYPE", "master") == 1
    mc.call("SET", "b", "2")  # may land in the backlog before the replica is back
    wait_until(lambda: stat(mc, "sync_partial_ok") == ok + 1, 10)
    wait_in_sync(mc, [rc])
    assert rc.call("GET", "b") == b"2"
    assert stat(mc, "sync_full") == full
    assert stat(mc, "sync_partial_err") == 0
    log = r.log()
    assert "Trying a partial resynchronization (request %s:" % repl_info(mc)["master_replid"] in log
    assert "Successful partial resynchronization with master." in log
    assert "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization." in log
    assert "Partial resynchronization request from %s:%d accepted." % (HOST, r.port) in m.log()


def test_partial_resync_after_client_kill_type_replica(server_factory):
    m, r, mc, rc = pair(server_factory)
    assert mc.call("CLIENT", "KILL", "TYPE", "replica") == 1
    wait_until(lambda: stat(mc, "sync_partial_ok") == 1, 10)
    mc.call("SET", "after", "1")
    wait_in_sync(mc, [rc])
    assert rc.call("GET", "after") == b"1"
    assert stat(mc, "sync_full") == 1
    assert mc.call("CLIENT", "KILL", "TYPE", "slave") == 1  # the old name
    wait_until(lambda: stat(mc, "sync_partial_ok") == 2, 10)


def test_replica_restarted_cleanly_resumes_with_partial_resync(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "a", "1")
    wait_in_sync(mc, [rc])
    rc.send("SHUTDOWN", "SAVE")  # the RDB carries the replication id and offset
    r.wait_exit(15)
    mc.call("SET", "missed", "1")
    r.start(port=r.port)
    rc = r.client()
    wait_link_up(rc)
    wait_in_sync(mc, [rc])
    assert rc.call("GET", "missed") == b"1"
    assert stat(mc, "sync_full") == 1
    assert stat(mc, "sync_partial_ok") == 1


def test_replica_restarted_keeps_keys_that_expired_while_it_was_down(server_factory):
    """Only a master drops expired keys when it loads an RDB; a replica keeps them until its
    master's DEL arrives. Dropping them made a replica that resumed from its RDB replay an
    HSET into a new key without the TTL the master's key still had (a different DEBUG
    DIGEST at the same offset, in the replication chaos test)."""
    m, r, mc, rc = pair(server_factory)
    mc.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # the master keeps the key until touched
    mc.call("HSET", "h", "f", "1")
    mc.call("PEXPIRE", "h", "1000")
    # Read now: a read after its time would expire it on the master, and the DEL follow.
    expires_at = mc.call("PEXPIRETIME", "h")
    mc.call("SET", "plain", "1")
    wait_in_sync(mc, [rc])
    rc.send("SHUTDOWN", "SAVE")
    r.wait_exit(15)
    # The key's time passes while the replica is down.
    wait_until(lambda: time.time() * 1000 > expires_at + 20, 5)
    r.start(port=r.port)
    rc = r.client()
    wait_link_up(rc)
    wait_in_sync(mc, [rc])
    assert stat(mc, "sync_partial_ok") == 1
    loaded = [l for l in r.log().splitlines() if "Done loading RDB" in l]
    assert loaded and loaded[-1].endswith("keys loaded: 2, keys expired: 0."), loaded
    assert rc.call("DEBUG", "DIGEST") == mc.call("DEBUG", "DIGEST")
    assert rc.call("EXISTS", "h") == 0  # logically expired for its readers
    assert mc.call("EXISTS", "h") == 0  # the master expires it and sends the DEL
    wait_in_sync(mc, [rc])
    assert rc.call("DEBUG", "DIGEST") == mc.call("DEBUG", "DIGEST")
    assert rc.call("DBSIZE") == 1


def test_replica_killed_without_its_rdb_catches_up_with_a_full_sync(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "a", "1")
    wait_in_sync(mc, [rc])
    r.kill()
    rdb = os.path.join(r.dir, "dump.rdb")
    if os.path.exists(rdb):  # the RDB received at sync time would allow a partial resync
        os.unlink(rdb)
    for i in range(100):
        mc.call("SET", "while-down:%d" % i, str(i))
    r.start(port=r.port)
    rc = r.client()
    wait_link_up(rc)
    wait_in_sync(mc, [rc])
    assert rc.call("DEBUG", "DIGEST") == mc.call("DEBUG", "DIGEST")
    assert stat(mc, "sync_full") == 2


def test_master_restarted_with_persistence(server_factory):
    m, r1, r2, mc, c1, c2 = master_and_two_replicas(server_factory)
    fill_every_type(mc, big=False)
    wait_in_sync(mc, [c1, c2])
    digest = mc.call("DEBUG", "DIGEST")
    before = repl_info(mc)
    closer = m.client()  # a fresh client (see the Redis 7.0.15 SHUTDOWN bug in the header)
    closer.send("SHUTDOWN", "SAVE")  # waits for the replicas to catch up, then saves
    m.wait_exit(20)
    for c in (c1, c2):
        wait_until(lambda: repl_info(c)["master_link_status"] == "down", 10)
        assert c.call("DEBUG", "DIGEST") == digest  # stale data still served
    m.start(port=m.port)
    mc = m.client()
    assert mc.call("DEBUG", "DIGEST") == digest
    # The RDB carried the replication id and offset: the old id is kept as replid2.
    after = repl_info(mc)
    assert after["master_replid2"] == before["master_replid"]
    # (SHUTDOWN sent REPLCONF GETACK * to the replicas first: the offset moved a bit)
    assert int(after["master_repl_offset"]) >= int(before["master_repl_offset"])
    assert int(after["second_repl_offset"]) == int(after["master_repl_offset"]) + 1
    wait_link_up(c1)
    wait_link_up(c2)
    wait_until(lambda: stat(mc, "sync_partial_ok") == 2, 10)  # both resumed by PSYNC
    assert stat(mc, "sync_full") == 0
    mc.call("SET", "after-restart", "1")
    wait_in_sync(mc, [c1, c2])
    digest = mc.call("DEBUG", "DIGEST")
    assert c1.call("DEBUG", "DIGEST") == digest and c2.call("DEBUG", "DIGEST") == digest


def test_master_restarted_sends_dels_for_keys_that_expired_while_down(server_factory):
    """A master that restarts from its RDB drops the keys whose time passed while it was
    down and, as Redis 7.0 does, puts their DELs in the stream its replicas resume from:
    they partially resync and end with the master's data, not with keys nobody deletes."""
    m, r1, r2, mc, c1, c2 = master_and_two_replicas(server_factory)
    mc.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # the keys must still be there at the save
    mc.call("SET", "stays", "1")
    for i in range(5):
        mc.call("SET", "brief:%d" % i, "x", "PX", "300")
    mc.call("SELECT", "3")
    mc.call("HSET", "brief:h", "f", "v")
    mc.call("PEXPIRE", "brief:h", "300")
    wait_in_sync(mc, [c1, c2])
    expires_at = mc.call("PEXPIRETIME", "brief:h")
    closer = m.client()
    closer.send("SHUTDOWN", "SAVE")
    m.wait_exit(20)
    wait_until(lambda: time.time() * 1000 > expires_at + 50, 5)
    m.start(port=m.port)
    mc = m.client()
    assert "keys expired: 6." in m.log()
    wait_link_up(c1)
    wait_link_up(c2)
    wait_until(lambda: stat(mc, "sync_partial_ok") == 2, 10)
    assert stat(mc, "sync_full") == 0
    wait_in_sync(mc, [c1, c2])
    digest = mc.call("DEBUG", "DIGEST")
    for c in (c1, c2):
        assert c.call("DEBUG", "DIGEST") == digest
        assert c.call("DBSIZE") == 1
        c.call("SELECT", "3")
        assert c.call("DBSIZE") == 0


def test_promoted_replica_serves_its_sibling_by_partial_resync(server_factory):
    m, r1, r2, mc, c1, c2 = master_and_two_replicas(server_factory)
    for i in range(50):
        mc.call("RPUSH", "l", str(i))
    wait_in_sync(mc, [c1, c2])
    old_id = repl_info(mc)["master_replid"]
    m.kill()
    assert c1.call("REPLICAOF", "NO", "ONE") == "OK"
    assert c2.call("REPLICAOF", HOST, str(r1.port)) == "OK"
    wait_link_up(c2)
    c1.call("RPUSH", "l", "new")
    wait_in_sync(c1, [c2])
    assert stat(c1, "sync_partial_ok") == 1
    assert stat(c1, "sync_full") == 0
    assert c2.call("LRANGE", "l", "-1", "-1") == [b"new"]
    i2 = repl_info(c2)
    assert i2["master_replid"] == repl_info(c1)["master_replid"]
    assert i2["master_replid2"] == old_id
    assert "Master replication ID changed to %s" % i2["master_replid"] in r2.log()
    assert c2.call("DEBUG", "DIGEST") == c1.call("DEBUG", "DIGEST")


def test_promoted_replica_keeps_its_history_past_the_cron(server_factory):
    # The backlog's idle time (repl-backlog-ttl) starts at the promotion: a replica that had
    # never had replicas of its own must not free its backlog, and the history with it, at
    # its next cron run (which made the sibling's partial resync above fail now and then).
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    wait_in_sync(mc, [rc])
    old_id = repl_info(mc)["master_replid"]
    m.kill()
    assert rc.call("REPLICAOF", "NO", "ONE") == "OK"
    # The cron runs every 100 ms: watch several runs.
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        info = repl_info(rc)
        assert info["master_replid2"] == old_id
        assert info["repl_backlog_active"] == "1"


def test_backlog_overflow_forces_a_full_sync(server_factory):
    m, r, mc, rc = pair(server_factory, master_args=("--repl-backlog-size", "16384"))
    os.kill(r.proc.pid, signal.SIGSTOP)
    try:
        mc.call("CLIENT", "KILL", "TYPE", "replica")
        for i in range(100):
            mc.call("SET", "k%d" % i, "x" * 1000)  # ~100 KB, far beyond the 16 KB backlog
    finally:
        os.kill(r.proc.pid, signal.SIGCONT)
    wait_until(lambda: stat(mc, "sync_full") == 2, 15)
    assert stat(mc, "sync_partial_err") == 1
    wait_in_sync(mc, [rc])
    assert rc.call("DBSIZE") == 100
    info = repl_info(mc)
    # Redis trims its backlog by whole blocks: at least the configured size is kept.
    hist = int(info["repl_backlog_histlen"])
    assert 16384 <= hist < 100000
    assert int(info["repl_backlog_first_byte_offset"]) == int(info["master_repl_offset"]) - hist + 1


# ---------------------------------------------------------------------------
# WAIT, min-replicas, backlog config
# ---------------------------------------------------------------------------


def test_wait(server_factory):
    m = start(server_factory)
    mc = m.client()
    assert mc.call("WAIT", "0", "0") == 0
    t = time.monotonic()
    assert mc.call("WAIT", "1", "200") == 0  # no replicas: times out with 0
    assert time.monotonic() - t >= 0.18
    assert mc.err("WAIT", "1") == "ERR wrong number of arguments for 'wait' command"
    assert mc.err("WAIT", "0", "-1") == "ERR timeout is negative"
    assert mc.err("WAIT", "0", "x") == "ERR timeout is not an integer or out of range"
    assert mc.err("WAIT", "x", "0") == "ERR value is not an integer or out of range"
    r1 = start_replica(server_factory, m)
    r2 = start_replica(server_factory, m)
    wait_online(mc, 2)
    mc.call("SET", "k", "v")
    assert mc.call("WAIT", "2", "10000") == 2
    assert mc.call("WAIT", "1", "10000") >= 1
    t = time.monotonic()
    assert mc.call("WAIT", "3", "300") == 2  # only two exist: times out, reports 2
    assert time.monotonic() - t >= 0.28
    # WAIT 0 0 answers at once with the count already acknowledged
    assert mc.call("WAIT", "0", "0") == 2
    # inside MULTI it does not block
    mc.call("SET", "k", "v2")
    assert mc.call("MULTI") == "OK"
    assert mc.call("WAIT", "5", "0") == "QUEUED"
    res = mc.call("EXEC")
    assert isinstance(res[0], int) and 0 <= res[0] <= 2
    rc = r1.client()
    assert rc.err("WAIT", "0", "0").startswith("ERR WAIT cannot be used with replica instances.")
    assert r2.is_alive()


def test_min_replicas_to_write(server_factory):
    m = start(server_factory)
    mc = m.client()
    assert mc.call("CONFIG", "SET", "min-replicas-to-write", "1") == "OK"
    noreplicas = "NOREPLICAS Not enough good replicas to write."
    assert mc.err("SET", "a", "1") == noreplicas
    assert mc.err("DEL", "a") == noreplicas
    assert mc.call("GET", "a") is None  # reads pass
    info = repl_info(mc)
    assert keys_in_order(info)[:3] == ["role", "connected_slaves", "min_slaves_good_slaves"]
    assert info["min_slaves_good_slaves"] == "0"
    # a write queued in MULTI is refused when queued, and EXEC aborts
    assert mc.call("MULTI") == "OK"
    assert mc.err("SET", "a", "1") == noreplicas
    assert mc.err("EXEC") == "EXECABORT Transaction discarded because of previous errors."
    r = start_replica(server_factory, m)
    wait_until(lambda: repl_info(mc)["min_slaves_good_slaves"] == "1", 10)
    assert mc.call("SET", "a", "1") == "OK"
    # The replica stops acknowledging: after min-replicas-max-lag seconds writes stop.
    assert mc.call("CONFIG", "SET", "min-replicas-max-lag", "1") == "OK"
    os.kill(r.proc.pid, signal.SIGSTOP)
    try:
        wait_until(lambda: repl_info(mc)["min_slaves_good_slaves"] == "0", 15)
        assert mc.err("SET", "a", "2") == noreplicas
    finally:
        os.kill(r.proc.pid, signal.SIGCONT)
    wait_until(lambda: repl_info(mc)["min_slaves_good_slaves"] == "1", 15)
    assert mc.call("SET", "a", "3") == "OK"
    # max-lag 0 disables the check (and the INFO field)
    assert mc.call("CONFIG", "SET", "min-replicas-max-lag", "0") == "OK"
    assert "min_slaves_good_slaves" not in repl_info(mc)


def test_repl_backlog_size_config(server_factory):
    m, r, mc, rc = pair(server_factory)
    assert mc.call("CONFIG", "SET", "repl-backlog-size", "200000") == "OK"
    assert repl_info(mc)["repl_backlog_size"] == "200000"
    assert mc.call("CONFIG", "GET", "repl-backlog-size") == [b"repl-backlog-size", b"200000"]
    assert mc.call("CONFIG", "SET", "repl-backlog-size", "1") == "OK"  # clamped
    assert repl_info(mc)["repl_backlog_size"] == "16384"
    assert mc.call("CONFIG", "GET", "repl-backlog-size") == [b"repl-backlog-size", b"16384"]
    assert mc.call("CONFIG", "SET", "repl-backlog-size", "2mb") == "OK"
    assert repl_info(mc)["repl_backlog_size"] == str(2 * 1024 * 1024)
    # the replica has its own
    assert repl_info(rc)["repl_backlog_size"] == "1048576"


@pytest.mark.parametrize("diskless_sync,diskless_load", [
    ("yes", "disabled"), ("no", "disabled"), ("yes", "swapdb"), ("no", "swapdb"),
])
def test_full_sync_modes(server_factory, diskless_sync, diskless_load):
    m = start(server_factory, "--repl-diskless-sync", diskless_sync)
    mc = m.client()
    fill_every_type(mc)
    mc.call("DEBUG", "POPULATE", "20000", "pop", "20")
    r = start(server_factory, "--repl-diskless-load", diskless_load)
    rc = r.client()
    rc.call("SET", "old-data", "1")
    assert rc.call("REPLICAOF", HOST, str(m.port)) == "OK"
    wait_link_up(rc)
    wait_in_sync(mc, [rc])
    assert rc.call("DEBUG", "DIGEST") == mc.call("DEBUG", "DIGEST")
    assert rc.call("EXISTS", "old-data") == 0
    log = r.log()
    assert "MASTER <-> REPLICA sync: Finished with success" in log
    if diskless_load == "swapdb":
        assert "MASTER <-> REPLICA sync: Swapping active DB with loaded DB" in log
    # The master logs it once its sender has finished, which may be after the replica loaded.
    wait_until(lambda: "Synchronization with replica %s:%d succeeded" % (HOST, r.port) in m.log(), 10)


# ---------------------------------------------------------------------------
# FAILOVER
# ---------------------------------------------------------------------------


def test_failover_errors(server_factory):
    m = start(server_factory)
    mc = m.client()
    assert mc.err("FAILOVER") == "ERR FAILOVER requires connected replicas."
    assert mc.err("FAILOVER", "ABORT") == "ERR No failover in progress."
    assert mc.err("FAILOVER", "TO", HOST, "1") == "ERR FAILOVER requires connected replicas."
    assert mc.err("FAILOVER", "TIMEOUT", "-1") == "ERR FAILOVER timeout must be greater than 0"
    assert mc.err("FAILOVER", "TO", "x") == "ERR syntax error"
    assert mc.err("FAILOVER", "BOGUS") == "ERR syntax error"
    force = "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
    r = start_replica(server_factory, m)
    rc = r.client()
    wait_online(mc, 1)
    assert mc.err("FAILOVER", "FORCE") == force
    assert mc.err("FAILOVER", "TIMEOUT", "100", "FORCE") == force
    assert mc.err("FAILOVER", "TO", HOST, str(r.port), "FORCE") == force
    assert mc.err("FAILOVER", "TO", HOST, "x") == "ERR value is not an integer or out of range"
    assert mc.err("FAILOVER", "TO", HOST, str(free_port())) == \
        "ERR FAILOVER target HOST and PORT is not a replica."
    assert rc.err("FAILOVER") == "ERR FAILOVER is not valid when server is a replica."
    assert repl_info(mc)["master_failover_state"] == "no-failover"


def test_failover_to_a_replica_swaps_roles(server_factory):
    m, r, mc, rc = pair(server_factory)
    for i in range(100):
        mc.call("SET", "k%d" % i, str(i))
    assert mc.call("FAILOVER", "TO", HOST, str(r.port)) == "OK"
    wait_until(lambda: repl_info(mc)["role"] == "slave", 15)
    wait_until(lambda: repl_info(mc)["master_failover_state"] == "no-failover", 15)
    wait_link_up(mc)
    info = repl_info(mc)
    assert info["master_host"] == HOST and info["master_port"] == str(r.port)
    ri = repl_info(rc)
    assert ri["role"] == "master"
    assert rc.call("SET", "new-master", "1") == "OK"
    wait_in_sync(rc, [mc])
    assert mc.call("GET", "new-master") == b"1"
    assert mc.err("SET", "x", "1") == "READONLY You can't write against a read only replica."
    assert stat(rc, "sync_partial_ok") == 1  # the old master came back by PSYNC
    assert stat(rc, "sync_full") == 0
    assert "FAILOVER requested to %s:%d." % (HOST, r.port) in m.log()
    assert "Failover target %s:%d is synced, failing over." % (HOST, r.port) in m.log()


def test_failover_waiting_for_sync_pauses_writes_and_abort(server_factory):
    m, r, mc, rc = pair(server_factory)
    os.kill(r.proc.pid, signal.SIGSTOP)  # it can't acknowledge: failover waits
    writer = m.client()
    try:
        mc.call("SET", "a", "1")  # a write the stopped replica has not acknowledged
        assert mc.call("FAILOVER", "TO", HOST, str(r.port), "TIMEOUT", "20000") == "OK"
        assert repl_info(mc)["master_failover_state"] == "waiting-for-sync"
        assert mc.err("FAILOVER") == "ERR FAILOVER already in progress."
        writer.send("SET", "b", "1")
        wait_until(lambda: parse_info(mc.call("INFO", "clients"))[1]["blocked_clients"] == "1", 5)
        assert mc.call("GET", "a") == b"1"  # reads still served
        assert mc.call("FAILOVER", "ABORT") == "OK"
        assert writer.read_reply() == "OK"  # released
        assert repl_info(mc)["master_failover_state"] == "no-failover"
        assert repl_info(mc)["role"] == "master"
        assert mc.err("FAILOVER", "ABORT") == "ERR No failover in progress."
        assert "FAILOVER to %s:%d aborted: Failover manually aborted" % (HOST, r.port) in m.log()
    finally:
        os.kill(r.proc.pid, signal.SIGCONT)
    # A failover to any replica, with a timeout, goes through once it can sync.
    wait_online(mc, 1)
    seen = []

    def done():
        info = repl_info(mc)
        if not seen or seen[-1] != info["master_failover_state"]:
            seen.append(info["master_failover_state"])
        return info["role"] == "slave"

    assert mc.call("FAILOVER", "TIMEOUT", "10000") == "OK"
    wait_until(done, 15, interval=0.002)
    assert set(seen) <= {"waiting-for-sync", "failover-in-progress", "no-failover"}
    assert "FAILOVER requested to any replica." in m.log()
    wait_until(lambda: repl_info(mc)["master_failover_state"] == "no-failover", 10)
    assert repl_info(rc)["role"] == "master"


def test_failover_timeout_without_force_aborts(server_factory):
    m, r, mc, rc = pair(server_factory)
    os.kill(r.proc.pid, signal.SIGSTOP)
    try:
        # Unacknowledged write: the replica can't be in sync. (With nothing unacknowledged
        # Redis goes straight to failover-in-progress, where the timeout no longer applies.)
        mc.call("SET", "x", "1")
        assert mc.call("FAILOVER", "TIMEOUT", "300") == "OK"
        assert repl_info(mc)["master_failover_state"] == "waiting-for-sync"
        wait_until(lambda: repl_info(mc)["master_failover_state"] == "no-failover", 10)
        assert repl_info(mc)["role"] == "master"
        assert mc.call("SET", "still-master", "1") == "OK"
        wait_until(lambda: "FAILOVER to any replica aborted: Replica never caught up before timeout" in m.log(), 5)
    finally:
        os.kill(r.proc.pid, signal.SIGCONT)


# ---------------------------------------------------------------------------
# log lines
# ---------------------------------------------------------------------------


def test_log_lines_operators_grep_for(server_factory):
    m, r, mc, rc = pair(server_factory)
    replid = repl_info(mc)["master_replid"]
    mlog, rlog = m.log(), r.log()
    rid = "%s:%d" % (HOST, r.port)
    mid = "%s:%d" % (HOST, m.port)
    assert "Replica %s asks for synchronization" % rid in mlog
    assert "Full resync requested by replica %s" % rid in mlog
    assert "Synchronization with replica %s succeeded" % rid in mlog
    assert "Connecting to MASTER %s" % mid in rlog
    assert "MASTER <-> REPLICA sync started" in rlog
    assert "Master replied to PING, replication can continue..." in rlog
    assert "Partial resynchronization not possible (no cached master)" in rlog
    assert re.search(r"Full resync from master: %s:\d+" % replid, rlog)
    assert "MASTER <-> REPLICA sync: Finished with success" in rlog
    rc.call("CLIENT", "KILL", "TYPE", "master")
    wait_until(lambda: stat(mc, "sync_partial_ok") == 1, 10)
    wait_until(lambda: "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization." in r.log(), 5)
    wait_until(lambda: "Connection with replica %s lost." % rid in m.log(), 5)
    assert "Connection with master lost." in r.log()
    assert re.search(r"Partial resynchronization request from %s accepted\. Sending \d+ bytes of backlog "
                     r"starting from offset \d+\." % re.escape(rid), m.log())


# ---------------------------------------------------------------------------
# the protocol on the wire: a fake replica against the server-under-test master
# ---------------------------------------------------------------------------


class FakeReplica:
    """Speaks the replica side of the handshake over a raw socket."""

    def __init__(self, server, timeout=10.0):
        self.conn = server.raw(timeout=timeout)
        self.sock = self.conn.sock
        self.buf = bytearray()
        self.timeout = timeout
        self.ack = None  # once set, re-sent as REPLCONF ACK while idle, like a real replica

    def _fill(self, deadline):
        while True:
            rem = deadline - time.monotonic()
            if rem <= 0:
                raise AssertionError("timed out; buffered %r" % bytes(self.buf[:300]))
            self.sock.settimeout(min(rem, 0.5) if self.ack is not None else rem)
            try:
                chunk = self.sock.recv(1 << 16)
                break
            except socket.timeout:
                if self.ack is None:
                    raise AssertionError("timed out; buffered %r" % bytes(self.buf[:300]))
                # A master streaming a diskless RDB starts the command stream only after
                # an ACK that arrives once it has seen the transfer end: keep acking.
                self.send("REPLCONF", "ACK", str(self.ack))
        if not chunk:
            raise AssertionError("connection closed; buffered %r" % bytes(self.buf[:300]))
        self.buf += chunk

    def line(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        i = self.buf.index(b"\r\n")
        out = bytes(self.buf[:i])
        del self.buf[: i + 2]
        return out

    def exact(self, n, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            self._fill(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def skip_newlines(self, timeout=None):
        """Masters send bare '\\n' as keepalives before the RDB payload."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            while not self.buf:
                self._fill(deadline)
            while self.buf[:1] == b"\n":
                del self.buf[:1]
            if self.buf:
                return

    def send(self, *args):
        self.sock.sendall(encode_command(*args))

    def call(self, *args):
        self.send(*args)
        return self.line()

    def handshake(self, listening_port=12345, capa=True):
        assert self.call("PING") == b"+PONG"
        assert self.call("REPLCONF", "listening-port", str(listening_port)) == b"+OK"
        if capa:
            assert self.call("REPLCONF", "capa", "eof", "capa", "psync2") == b"+OK"

    def psync(self, replid="?", offset=-1):
        self.send("PSYNC", replid, str(offset))
        self.skip_newlines()
        return self.line()

    def read_rdb(self):
        """Read the RDB payload after +FULLRESYNC; returns (payload, kind)."""
        self.skip_newlines(30)
        head = self.line(30)
        assert head[:1] == b"$", head
        if head.startswith(b"$EOF:"):
            mark = head[5:]
            assert len(mark) == 40, head
            deadline = time.monotonic() + 30
            while True:
                i = self.buf.find(mark)
                if i >= 0:
                    payload = bytes(self.buf[:i])
                    del self.buf[: i + 40]
                    return payload, "eof"
                self._fill(deadline)
        n = int(head[1:])
        return self.exact(n, 30), "len"

    def full_sync(self):
        first = self.psync()
        m = re.match(rb"^\+FULLRESYNC ([0-9a-f]{40}) (\d+)$", first)
        assert m, first
        payload, kind = self.read_rdb()
        replid, offset = m.group(1).decode(), int(m.group(2))
        self.ack = offset
        self.send("REPLCONF", "ACK", str(offset))  # diskless: the stream starts after this
        return replid, offset, payload, kind

    def command(self, timeout=None):
        """One command of the stream: (args, raw bytes)."""
        start = len(self.buf)
        first = self.line(timeout)
        raw = bytearray(first + b"\r\n")
        assert first[:1] == b"*", "expected an array, got %r (start %d)" % (first, start)
        args = []
        for _ in range(int(first[1:])):
            h = self.line(timeout)
            assert h[:1] == b"$", h
            data = self.exact(int(h[1:]) + 2, timeout)
            raw += h + b"\r\n" + data
            args.append(data[:-2])
        return args, bytes(raw)

    def commands_until(self, pred, timeout=10.0):
        """Read commands (skipping PINGs) until pred(args); return the list without pings."""
        deadline = time.monotonic() + timeout
        out = []
        while True:
            args, _ = self.command(max(0.05, deadline - time.monotonic()))
            if args[0].lower() == b"ping":
                continue
            out.append(args)
            if pred(args):
                return out


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_wire_handshake_full_sync_and_stream(server_factory, diskless):
    m = start(server_factory, "--repl-diskless-sync", diskless)
    mc = m.client()
    mc.call("SET", "before", "1")
    fr = FakeReplica(m)
    fr.handshake(listening_port=23456)
    replid, offset, payload, kind = fr.full_sync()
    assert HEX40.match(replid)
    assert payload[:9] == b"REDIS0010", payload[:9]  # Redis 7.0's RDB version
    assert b"before" in payload
    assert kind == ("eof" if diskless == "yes" else "len")
    info = repl_info(mc)
    assert info["master_replid"] == replid
    s0 = parse_slave_line(info["slave0"])
    assert (s0["ip"], s0["port"]) == (HOST, "23456")
    wait_until(lambda: parse_slave_line(repl_info(mc)["slave0"])["state"] == "online", 5)
    assert mc.call("SET", "k", "v") == "OK"
    cmds = fr.commands_until(lambda a: a[0].upper() == b"SET")
    assert cmds == [[b"SELECT", b"0"], [b"SET", b"k", b"v"]]
    assert "Replica %s:23456 asks for synchronization" % HOST in m.log()


def test_wire_stream_bytes_and_offsets(server_factory):
    m = start(server_factory, "--repl-diskless-sync", "no")
    mc = m.client()
    fr = FakeReplica(m)
    fr.handshake()
    replid, offset, _, _ = fr.full_sync()
    base = int(repl_info(mc)["master_repl_offset"])
    assert base == offset
    mc.call("SET", "k", "v")
    stream = b""
    while b"SET" not in stream:
        args, raw = fr.command()
        stream += raw
    assert stream.endswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    # the master's offset counts exactly the bytes of the stream
    assert int(repl_info(mc)["master_repl_offset"]) >= offset + len(stream)


def test_wire_psync_continue_from_a_known_offset(server_factory):
    m = start(server_factory, "--repl-diskless-sync", "no")
    mc = m.client()
    a = FakeReplica(m)
    a.handshake(listening_port=1001)
    replid, offset, _, _ = a.full_sync()
    mc.call("SET", "k1", "v1")
    mc.call("RPUSH", "l", "x")
    got = b""
    while b"RPUSH" not in got:
        got += a.command()[1]
    # a second replica resumes from just after the full sync: same bytes, from the backlog
    b = FakeReplica(m)
    b.handshake(listening_port=1002)
    assert b.psync(replid, offset + 1) == b"+CONTINUE " + replid.encode()
    assert b.exact(len(got)) == got
    # from the end: +CONTINUE and only new writes
    end = offset + len(got)
    c = FakeReplica(m)
    c.handshake(listening_port=1003)
    mc.call("SET", "k2", "v2")
    assert c.psync(replid, end + 1) == b"+CONTINUE " + replid.encode()
    cmds = c.commands_until(lambda x: x[0].upper() == b"SET")
    assert cmds[-1] == [b"SET", b"k2", b"v2"]
    assert stat(mc, "sync_partial_ok") == 2
    assert stat(mc, "sync_full") == 1
    # unknown replid / offset out of range: full resync
    d = FakeReplica(m)
    d.handshake(listening_port=1004)
    assert d.psync("a" * 40, 1).startswith(b"+FULLRESYNC ")
    e = FakeReplica(m)
    e.handshake(listening_port=1005)
    assert e.psync(replid, 10 ** 9).startswith(b"+FULLRESYNC ")
    assert stat(mc, "sync_partial_err") == 2


def test_wire_psync_before_any_backlog_is_a_full_resync(server_factory):
    m = start(server_factory)
    mc = m.client()
    own = repl_info(mc)["master_replid"]
    fr = FakeReplica(m)
    fr.handshake()
    first = fr.psync(own, 1)
    assert first.startswith(b"+FULLRESYNC ")
    assert repl_info(mc)["repl_backlog_active"] == "1"


def test_wire_master_pings_every_period(server_factory):
    m = start(server_factory, "--repl-ping-replica-period", "1")
    fr = FakeReplica(m)
    fr.handshake()
    replid, offset, _, _ = fr.full_sync()
    t = time.monotonic()
    pings = 0
    while pings < 2:
        args, raw = fr.command(timeout=5)
        if args[0].lower() == b"ping":
            assert raw.lower() == b"*1\r\n$4\r\nping\r\n"
            pings += 1
    assert time.monotonic() - t < 5


def test_wire_wait_sends_getack_and_counts_the_ack(server_factory):
    m = start(server_factory, "--repl-diskless-sync", "no")
    mc = m.client()
    fr = FakeReplica(m)
    fr.handshake()
    replid, offset, _, _ = fr.full_sync()
    wait_until(lambda: parse_slave_line(repl_info(mc)["slave0"])["state"] == "online", 5)
    mc.call("SET", "k", "v")
    seen = offset
    while True:
        args, raw = fr.command()
        seen += len(raw)
        if args[0].upper() == b"SET":
            break
    # WAIT waits for the calling client's own last write (a fresh client would get 1 at once)
    waiter = mc
    waiter.send("WAIT", "1", "10000")
    while True:
        args, raw = fr.command()
        seen += len(raw)
        if args[:2] == [b"REPLCONF", b"GETACK"]:
            assert args == [b"REPLCONF", b"GETACK", b"*"]
            break
    fr.send("REPLCONF", "ACK", str(seen))
    assert waiter.read_reply() == 1
    wait_until(lambda: parse_slave_line(repl_info(mc)["slave0"])["offset"] == str(seen), 5)
    # REPLCONF GETACK / ACK from a normal client get no reply
    plain = m.client(timeout=0.5)
    plain.send("REPLCONF", "GETACK", "*")
    plain.send("PING")
    assert plain.read_reply() == "PONG"


def test_wire_propagation_forms(server_factory):
    m = start(server_factory, "--repl-diskless-sync", "no")
    mc = m.client()
    fr = FakeReplica(m)
    fr.handshake()
    fr.full_sync()
    mc.call("SET", "t", "v", "EX", "100")
    mc.call("SET", "a", "1")
    mc.call("EXPIRE", "a", "100")
    mc.call("INCRBYFLOAT", "f", "1.5")
    mc.call("SPOP", "missing")
    mc.call("SADD", "s", "m")
    mc.call("SPOP", "s")
    mc.call("GET", "a")
    mc.call("MULTI")
    mc.call("GET", "a")
    mc.call("EXEC")
    mc.call("LPUSH", "l", "x")
    mc.call("BLPOP", "l", "0")
    mc.call("MULTI")
    mc.call("INCR", "n")
    mc.call("INCR", "n")
    mc.call("EXEC")
    mc.call("SET", "short", "v", "PX", "50")
    wait_until(lambda: mc.call("EXISTS", "short") == 0, 5)
    mc.call("SET", "end", "1")
    cmds = fr.commands_until(lambda a: a == [b"SET", b"end", b"1"])
    upper = [[a[0].upper()] + a[1:] for a in cmds]
    now_ms = time.time() * 1000
    assert upper[0] == [b"SELECT", b"0"]
    assert upper[1][:4] == [b"SET", b"t", b"v", b"PXAT"] and len(upper[1]) == 5
    assert abs(int(upper[1][4]) - (now_ms + 100000)) < 20000
    assert upper[2] == [b"SET", b"a", b"1"]
    assert upper[3][:2] == [b"PEXPIREAT", b"a"]
    assert upper[4] == [b"SET", b"f", b"1.5", b"KEEPTTL"]
    assert upper[5] == [b"SADD", b"s", b"m"]
    assert upper[6] == [b"SREM", b"s", b"m"]
    assert upper[7] == [b"LPUSH", b"l", b"x"]
    assert upper[8] == [b"LPOP", b"l"]
    assert upper[9:13] == [[b"MULTI"], [b"INCR", b"n"], [b"INCR", b"n"], [b"EXEC"]]
    assert upper[13][:4] == [b"SET", b"short", b"v", b"PXAT"]
    assert upper[14] == [b"DEL", b"short"]
    assert upper[15] == [b"SET", b"end", b"1"]
    assert len(upper) == 16


# ---------------------------------------------------------------------------
# a fake master against the server-under-test replica (GETACK offsets)
# ---------------------------------------------------------------------------


def test_wire_transaction_propagation_shapes(server_factory):
    """Redis 7.0 wraps a transaction's changes in MULTI/EXEC only when there are several:
    one change is atomic already. MULTI takes the first change's database (a SELECT goes
    before it), EXEC the last one's (no SELECT between the last change and EXEC); a
    transaction that changes nothing propagates nothing."""
    m = start(server_factory, "--repl-diskless-sync", "no")
    mc = m.client()
    fr = FakeReplica(m)
    fr.handshake()
    fr.full_sync()
    mc.call("SELECT", "2")
    mc.call("SET", "start", "1")  # the stream is in db 2 now
    mc.call("SELECT", "0")
    for cmds in (
        [("SET", "one", "1"), ("GET", "one")],  # one change
        [("GET", "one"), ("EXISTS", "x")],  # no change
        [("SET", "a", "1"), ("SELECT", "1"), ("SET", "b", "2"), ("SET", "c", "3")],
        [("INCR", "n"), ("LPUSH", "one", "x")],  # the second fails: WRONGTYPE
    ):
        mc.call("SELECT", "0")
        assert mc.call("MULTI") == "OK"
        for c in cmds:
            assert mc.call(*c) == "QUEUED"
        mc.call("EXEC")
    mc.call("SET", "end", "1")
    got = fr.commands_until(lambda a: a == [b"SET", b"end", b"1"])
    upper = [[a[0].upper()] + a[1:] for a in got]
    assert upper == [
        [b"SELECT", b"2"], [b"SET", b"start", b"1"],
        [b"SELECT", b"0"], [b"SET", b"one", b"1"],
        [b"MULTI"], [b"SET", b"a", b"1"], [b"SELECT", b"1"], [b"SET", b"b", b"2"],
        [b"SET", b"c", b"3"], [b"EXEC"],
        [b"SELECT", b"0"], [b"INCR", b"n"],
        [b"SET", b"end", b"1"],
    ]


def empty_rdb(factory):
    """An empty RDB as written by SERVER_BIN itself (so nothing depends on its bytes)."""
    s = start(factory)
    c = s.client()
    assert c.call("SAVE") == "OK"
    with open(os.path.join(s.dir, "dump.rdb"), "rb") as f:
        data = f.read()
    s.kill()
    return data


def fake_master_listener():
    """A listening socket for a fake master; returns (socket, port)."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST, 0))
    lsock.listen(4)
    lsock.settimeout(15)
    return lsock, lsock.getsockname()[1]


def fake_master_handshake(conn, stop_at=b"PSYNC"):
    """Answers a replica's handshake (PONG, OK) on `conn` until the command `stop_at`
    arrives (not answered). Returns the commands seen, names upper-cased."""
    fake = FakeReplica.__new__(FakeReplica)  # reuse the buffered reader on the master side
    fake.sock, fake.buf, fake.timeout, fake.ack = conn, bytearray(), 10.0, None
    seen = []
    while True:
        args, _ = fake.command()
        name = args[0].upper()
        seen.append([name] + args[1:])
        if name == stop_at:
            return seen
        if name == b"PING":
            conn.sendall(b"+PONG\r\n")
        elif name == b"REPLCONF":
            conn.sendall(b"+OK\r\n")
        else:
            raise AssertionError("unexpected %r" % args)


def test_replica_answers_getack_with_its_processed_offset(server_factory):
    rdb = empty_rdb(server_factory)
    lsock, port = fake_master_listener()
    try:
        r = start(server_factory, "--replicaof", HOST, port)
        conn, _ = lsock.accept()
        conn.settimeout(10)
        seen = fake_master_handshake(conn)
        fake = FakeReplica.__new__(FakeReplica)
        fake.sock, fake.buf, fake.timeout, fake.ack = conn, bytearray(), 10.0, None
        assert seen[0] == [b"PING"]
        assert [b"REPLCONF", b"listening-port", str(r.port).encode()] in seen
        capa = [a for a in seen if a[:2] == [b"REPLCONF", b"capa"]]
        assert capa and b"psync2" in capa[0] and b"eof" in capa[0]
        assert seen[-1] == [b"PSYNC", b"?", b"-1"]
        replid = "b" * 40
        conn.sendall(b"+FULLRESYNC %s 100\r\n" % replid.encode())
        conn.sendall(b"$%d\r\n" % len(rdb) + rdb)
        rc = r.client()
        wait_link_up(rc)
        stream = encode_command("SELECT", "0") + encode_command("SET", "k", "v")
        getack = encode_command("REPLCONF", "GETACK", "*")
        conn.sendall(stream + getack)
        # The replica also acks on its own once a second: skip those sent before the stream.
        while True:
            ack = fake.command()[0]
            assert ack[:2] == [b"REPLCONF", b"ACK"], ack
            if ack[2] != b"100":
                break
        assert ack == [b"REPLCONF", b"ACK", str(100 + len(stream)).encode()]
        assert rc.call("GET", "k") == b"v"
        info = repl_info(rc)
        assert info["master_replid"] == replid
        assert info["slave_repl_offset"] == str(100 + len(stream) + len(getack))
        assert rc.call("ROLE") == [b"slave", HOST.encode(), port, b"connected", 100 + len(stream) + len(getack)]
        conn.close()
    finally:
        lsock.close()


# ---------------------------------------------------------------------------
# the tutorial scenarios (fixed ports: one at a time)
# ---------------------------------------------------------------------------

# The shared tutorial scenarios live beside the repository (which is two levels above
# this directory), in ../shared/scenarios; SCENARIOS_DIR overrides, as for
# scripts/scenarios.sh.
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.environ.get("SCENARIOS_DIR") or os.path.join(
    os.path.dirname(_REPO), "shared", "scenarios")
SCENARIO_PORTS = [6300, 6301, 10000, 10001, 10002]


def _port_busy(port):
    s = socket.socket()
    try:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0
    finally:
        s.close()


@pytest.mark.skipif(not os.path.exists(os.path.join(SCENARIOS, "s1-single-replica.sh")),
                    reason="shared scenarios not present")
@pytest.mark.skipif(os.environ.get("REDUST_SCENARIOS_SEPARATE") == "1",
                    reason="scripts/test.sh runs the scenarios alone, after the suite")
def test_tutorial_scenarios_s1_and_s2():
    # Both scripts use fixed ports, so they run one after the other in this single test.
    # A lock file keeps two pytest runs on the same machine from overlapping.
    import fcntl
    with open("/tmp/redust-scenario-ports.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pytest.skip("another run holds the scenario ports")
        busy = [p for p in SCENARIO_PORTS if _port_busy(p)]
        if busy:
            pytest.skip("scenario ports busy: %s" % busy)
        env = dict(os.environ, SERVER=SERVER_BIN)
        for script in ("s1-single-replica.sh", "s2-two-replicas-auth.sh"):
            out = subprocess.run(["bash", os.path.join(SCENARIOS, script)], env=env,
                                 capture_output=True, text=True, timeout=55)
            assert out.returncode == 0, "%s failed:\n%s%s" % (script, out.stdout, out.stderr)
            assert " 0 failed" in out.stdout


@pytest.mark.parametrize("stall_after", ["connect", "ping", "fullresync"])
def test_repl_timeout_applies_during_the_handshake_and_transfer(server_factory, stall_after):
    """A master that goes silent while the replica connects, handshakes or receives the
    snapshot is given up after repl-timeout, with Redis's log line, and the replica tries
    again."""
    lsock, port = fake_master_listener()
    conns = []
    try:
        r = start(server_factory, "--replicaof", HOST, port, "--repl-timeout", "1")
        conn, _ = lsock.accept()
        conns.append(conn)
        conn.settimeout(10)
        if stall_after == "ping":
            fake_master_handshake(conn, stop_at=b"PING")  # never answered
        elif stall_after == "fullresync":
            fake_master_handshake(conn)
            conn.sendall(b"+FULLRESYNC %s 0\r\n$100\r\n" % (b"a" * 40))
        want = ("Timeout receiving bulk data from MASTER" if stall_after == "fullresync"
                else "Timeout connecting to the MASTER...")
        wait_until(lambda: want in r.log(), 10)
        again, _ = lsock.accept()  # it tries again
        conns.append(again)
    finally:
        for c in conns:
            c.close()
        lsock.close()


def test_swapdb_load_serves_old_data_and_keeps_it_when_the_sync_fails(server_factory):
    """With repl-diskless-load swapdb the replica keeps serving its old data while the new
    snapshot streams in (INFO async_loading:1, loading:0), and keeps it when the transfer
    breaks half way."""
    src = start(server_factory)
    sc = src.client()
    sc.call("DEBUG", "POPULATE", "2000", "new", "200")
    assert sc.call("SAVE") == "OK"
    with open(os.path.join(src.dir, "dump.rdb"), "rb") as f:
        rdb = f.read()
    src.kill()
    lsock, port = fake_master_listener()
    r = start(server_factory, "--repl-diskless-load", "swapdb",
              "--loading-process-events-interval-bytes", "1024")
    rc = r.client()
    rc.call("CONFIG", "SET", "replica-read-only", "no")
    rc.call("SET", "old", "1")
    rc.call("CONFIG", "SET", "replica-read-only", "yes")
    stop = threading.Event()
    try:
        rc.call("REPLICAOF", HOST, str(port))
        conn, _ = lsock.accept()
        conn.settimeout(10)
        fake_master_handshake(conn)
        conn.sendall(b"+FULLRESYNC %s 0\r\n$EOF:%s\r\n" % (b"a" * 40, b"m" * 40))

        def trickle():  # half of the snapshot, slowly, then the link breaks
            for at in range(0, len(rdb) // 2, 1024):
                if stop.is_set():
                    break
                conn.sendall(rdb[at:at + 1024])
                stop.wait(0.01)
            stop.wait(30)
            conn.close()

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        if "redust_version" in parse_info(rc.call("INFO", "server"))[1]:
            # Redis 7.0 reads the socket with blocking reads and answers nobody while the
            # master is slow; redust keeps serving throughout (checked here only).
            wait_until(
                lambda: parse_info(rc.call("INFO", "persistence"))[1]["async_loading"] == "1", 10)
            assert parse_info(rc.call("INFO", "persistence"))[1]["loading"] == "0"
            assert rc.call("GET", "old") == b"1"  # still served
        stop.set()
        sender.join(10)
        wait_until(lambda: parse_info(rc.call("INFO", "persistence"))[1]["async_loading"] == "0",
                   20)
        assert rc.call("GET", "old") == b"1"  # kept
        assert rc.call("DBSIZE") == 1
    finally:
        stop.set()
        lsock.close()


def test_info_memory_reports_replication_and_client_buffers(server_factory):
    """INFO memory's buffer fields report real sizes: the replication stream (backlog and
    the replicas' share past it), normal clients' buffers."""
    m, r, mc, rc = pair(server_factory)
    # (Redis refreshes its per-client figures from its cron.)
    wait_until(lambda: int(parse_info(mc.call("INFO", "memory"))[1]["mem_clients_normal"]) > 0, 5)
    for i in range(200):
        mc.call("SET", "k:%d" % i, "v" * 1000)
    wait_in_sync(mc, [rc])
    mem = parse_info(mc.call("INFO", "memory"))[1]
    total = int(mem["mem_total_replication_buffers"])
    assert total >= 200 * 1000
    assert int(mem["mem_replication_backlog"]) + int(mem["mem_clients_slaves"]) >= total
    assert int(mem["mem_aof_buffer"]) == 0  # appendonly no
    # A replica with nothing attached below it holds no stream of its own to serve.
    assert parse_info(rc.call("INFO", "memory"))[1]["mem_clients_slaves"] == "0"


def test_a_replica_that_stops_reading_is_closed_by_its_output_buffer_limit(server_factory):
    """The replica class of client-output-buffer-limit closes a replica whose unsent
    stream passes the hard limit even though it never reads again (Redis checks it as
    the stream is appended; redust from the cron as well as from the sender)."""
    m = start(server_factory, "--client-output-buffer-limit", "replica 1mb 0 0")
    mc = m.client()
    fake = FakeReplica(m)
    fake.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    fake.handshake()
    fake.full_sync()
    wait_online(mc, 1)
    fake.ack = None  # it stops reading and acking
    value = "x" * 100000
    for i in range(100):
        mc.call("SET", "k%d" % i, value)
    wait_until(lambda: repl_info(mc)["connected_slaves"] == "0", 15)
    lines = [x for x in m.log().splitlines() if "overcoming of output buffer limits" in x]
    assert lines and " flags=S " in lines[-1], m.log()[-2000:]
    assert lines[-1].endswith(" scheduled to be closed ASAP for overcoming of output buffer limits.")


def test_replica_logs_the_rdb_it_loads(server_factory):
    for diskless in ("disabled", "on-empty-db"):
        m = start(server_factory)
        mc = m.client()
        mc.call("SET", "a", "1")
        mc.call("SET", "b", "2")
        r = start_replica(server_factory, m, "--repl-diskless-load", diskless)
        wait_link_up(r.client())
        log = r.log()
        assert "Loading RDB produced by version 7.0.15" in log, log
        assert "Done loading RDB, keys loaded: 2, keys expired: 0." in log, log
