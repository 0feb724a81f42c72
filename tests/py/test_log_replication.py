"""Replication log lines, text and level, as Redis 7.0.15 writes them.

Every test passes with ``REDUST_SERVER=/usr/bin/redis-server``.  A log line is
``<pid>:<role> <date> <time> <mark> <text>``; the tests compare the mark
(``#`` warning, ``*`` notice, ``-`` verbose) and the text, in order, and
leave out the lines other parts of the server write in between (the RDB
loading lines, "Background saving started by pid", ...), except where a
run of lines is checked as a whole (``contiguous=True``).

What Redis 7.0.15 was seen to write (the expectations below):

replica, full sync on disk (repl-diskless-load disabled)
  * Connecting to MASTER <h>:<p>           * MASTER <-> REPLICA sync started
  * Non blocking connect for SYNC fired the event.
  * Master replied to PING, replication can continue...
  * Partial resynchronization not possible (no cached master)
  * Full resync from master: <replid>:<offset>
  * MASTER <-> REPLICA sync: receiving <n> bytes from master to disk
    ("receiving streamed RDB from master with EOF to disk" from a diskless master)
  * [Discarding previously cached master state.  -- only with a cached master]
  * MASTER <-> REPLICA sync: Flushing old data
  * MASTER <-> REPLICA sync: Loading DB in memory
  * MASTER <-> REPLICA sync: Finished with success
replica, diskless load: "... with EOF to parser"; on-empty-db as disk (Flushing,
  Loading); swapdb: Loading DB in memory, (load), Swapping active DB with loaded DB,
  Discarding old DB in background, Finished with success (no Flushing).
master, disk: * Replica <ip>:<port> asks for synchronization, * Full resync requested
  by replica <ip>:<port>, * Replication backlog created, my new replication IDs are
  '<id>' and '<40 zeros>', * Starting BGSAVE for SYNC with target: disk, ...,
  * Synchronization with replica <ip>:<port> succeeded
master, diskless: ... target: replicas sockets, # Diskless rdb transfer, done reading
  from pipe, 1 replicas still up., * Background RDB transfer terminated with success,
  * Streamed RDB transfer with replica <ip>:<port> succeeded (socket). Waiting for
  REPLCONF ACK from slave to enable streaming, * Synchronization with replica ... succeeded
lost link (CLIENT KILL TYPE master): # Connection with master lost., * Caching the
  disconnected master state., * Reconnecting to MASTER <h>:<p>, * MASTER <-> REPLICA
  sync started (no "Connecting to MASTER"), ..., * Trying a partial resynchronization
  (request <replid>:<offset>)., * Successful partial resynchronization with master.,
  * MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.
  The master: # Connection with replica <ip>:<port> lost., * Replica ... asks for
  synchronization, * Partial resynchronization request from ... accepted. Sending <n>
  bytes of backlog starting from offset <o>.
REPLICAOF NO ONE (link up): # Connection with master lost., * Caching the disconnected
  master state., * Discarding previously cached master state., # Setting secondary
  replication ID to <old>, valid up to offset: <off>. New replication ID is <new>,
  * MASTER MODE enabled (user request from '<CLIENT LIST line>')
REPLICAOF <h> <p> on a master: * Before turning into a replica, using my own master
  parameters to synthesize a cached master: I may be able to synchronize with the new
  master with just a partial transfer., * Connecting to MASTER, * MASTER <-> REPLICA
  sync started, * REPLICAOF <h>:<p> enabled (user request from '<CLIENT LIST line>')
master refused: * Connecting to MASTER <h>:<p>, * MASTER <-> REPLICA sync started,
  # Error condition on socket for SYNC: Connection refused, again every second.
PSYNC past the backlog: * Unable to partial resync with replica <name> for lack of
  backlog (Replica request was: <offset>)., then when the offset is past the master's
  # Warning: replica <name> tried to PSYNC with an offset that is greater than the
  master replication offset.; a replica that sent no listening-port is named
  <ip>:<unknown-replica-port>.
FAILOVER TO: the target logs # Failover request received for replid <id>., the
  REPLICAOF NO ONE lines, * MASTER MODE enabled (failover request from '...'); the old
  master * Failover target <h>:<p> is synced, failing over., the REPLICAOF lines,
  ..., # Master replication ID changed to <new id>.
replica closed over client-output-buffer-limit replica (not tested here: a stalled
  replica is only closed by Redis): # Client <CLIENT LIST line with flags=S> scheduled
  to be closed ASAP for overcoming of output buffer limits., then # Connection with
  replica <ip>:<port> lost.
"""

import re

from helpers import (
    HOST,
    free_port,
    pair,
    repl_info,
    start,
    wait_link_up,
    wait_until,
)

LINE = re.compile(r"^\d+:[CMSX] \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} ([#*.\-]) (.*)$")
ZEROS = "0" * 40
MASTER_MODE = re.compile(
    r"MASTER MODE enabled \(user request from 'id=\d+ addr=127\.0\.0\.1:\d+ "
    r"laddr=127\.0\.0\.1:\d+ fd=\d+ name= .* resp=2'\)"
)


def entries(server):
    """(mark, text) of each log line."""
    out = []
    for line in server.log().splitlines():
        m = LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _matches(entry, want):
    mark, text = want
    if entry[0] != mark:
        return False
    if isinstance(text, re.Pattern):
        return text.fullmatch(entry[1]) is not None
    return entry[1] == text


def _show(want):
    mark, text = want
    return "%s %s" % (mark, text.pattern if isinstance(text, re.Pattern) else text)


def find_in_order(got, expected, start=0, contiguous=False):
    """Index after the last of ``expected`` found in order in ``got[start:]``
    (each an exact (mark, text), or (mark, compiled regex)); None if missing.
    ``contiguous``: the lines follow each other (the first run that does)."""
    if contiguous:
        n = len(expected)
        for i in range(start, len(got) - n + 1):
            if all(_matches(got[i + k], expected[k]) for k in range(n)):
                return i + n
        return None
    i = start
    for want in expected:
        while i < len(got) and not _matches(got[i], want):
            i += 1
        if i == len(got):
            return None
        i += 1
    return i


def assert_lines(server, expected, start=0, contiguous=False):
    got = entries(server)
    if find_in_order(got, expected, start, contiguous) is None:
        raise AssertionError(
            "log lines not found in order%s:\n%s\n--- log from line %d:\n%s"
            % (
                " (contiguous)" if contiguous else "",
                "\n".join(_show(w) for w in expected),
                start,
                "\n".join("%s %s" % e for e in got[start:]),
            )
        )


def wait_lines(server, expected, start=0, contiguous=False, timeout=15):
    try:
        wait_until(lambda: find_in_order(entries(server), expected, start, contiguous) is not None, timeout)
    except AssertionError:
        pass
    assert_lines(server, expected, start, contiguous)


def texts(server, start=0):
    return [t for _, t in entries(server)[start:]]


def name(server):
    return "%s:%d" % (HOST, server.port)


# ---------------------------------------------------------------------------
# full syncs
# ---------------------------------------------------------------------------


def test_full_sync_on_disk(server_factory):
    m, r, mc, rc = pair(server_factory, master_args=("--repl-diskless-sync", "no"))
    replid = repl_info(mc)["master_replid"]
    wait_lines(r, [
        ("*", "Connecting to MASTER %s" % name(m)),
        ("*", "MASTER <-> REPLICA sync started"),
        ("*", "Non blocking connect for SYNC fired the event."),
        ("*", "Master replied to PING, replication can continue..."),
        ("*", "Partial resynchronization not possible (no cached master)"),
        ("*", "Full resync from master: %s:0" % replid),
        ("*", re.compile(r"MASTER <-> REPLICA sync: receiving \d+ bytes from master to disk")),
        ("*", "MASTER <-> REPLICA sync: Flushing old data"),
        ("*", "MASTER <-> REPLICA sync: Loading DB in memory"),
        ("*", "MASTER <-> REPLICA sync: Finished with success"),
    ])
    assert "Discarding previously cached master state." not in texts(r)
    wait_lines(m, [
        ("*", "Replica %s asks for synchronization" % name(r)),
        ("*", "Full resync requested by replica %s" % name(r)),
        ("*", "Replication backlog created, my new replication IDs are '%s' and '%s'" % (replid, ZEROS)),
        ("*", "Starting BGSAVE for SYNC with target: disk"),
        ("*", "Synchronization with replica %s succeeded" % name(r)),
    ])
    assert "Delay next BGSAVE for diskless SYNC" not in texts(m)


def test_full_sync_diskless_to_disk(server_factory):
    m, r, mc, rc = pair(server_factory, master_args=("--repl-diskless-sync", "yes"))
    replid = repl_info(mc)["master_replid"]
    wait_lines(r, [
        ("*", "Full resync from master: %s:0" % replid),
        ("*", "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"),
        ("*", "MASTER <-> REPLICA sync: Flushing old data"),
        ("*", "MASTER <-> REPLICA sync: Loading DB in memory"),
        ("*", "MASTER <-> REPLICA sync: Finished with success"),
    ])
    wait_lines(m, [
        ("*", "Replica %s asks for synchronization" % name(r)),
        ("*", "Full resync requested by replica %s" % name(r)),
        ("*", "Replication backlog created, my new replication IDs are '%s' and '%s'" % (replid, ZEROS)),
        ("*", "Starting BGSAVE for SYNC with target: replicas sockets"),
        ("#", "Diskless rdb transfer, done reading from pipe, 1 replicas still up."),
        ("*", "Background RDB transfer terminated with success"),
        ("*", "Streamed RDB transfer with replica %s succeeded (socket). "
              "Waiting for REPLCONF ACK from slave to enable streaming" % name(r)),
        ("*", "Synchronization with replica %s succeeded" % name(r)),
    ])
    assert "Delay next BGSAVE for diskless SYNC" not in texts(m)


def test_full_sync_diskless_load_on_empty_db(server_factory):
    m, r, mc, rc = pair(server_factory, "--repl-diskless-load", "on-empty-db",
                        master_args=("--repl-diskless-sync", "yes"))
    mc.call("SET", "k", "v")
    wait_lines(r, [
        ("*", "Partial resynchronization not possible (no cached master)"),
        ("*", re.compile(r"Full resync from master: [0-9a-f]{40}:0")),
        ("*", "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser"),
        ("*", "MASTER <-> REPLICA sync: Flushing old data"),
        ("*", "MASTER <-> REPLICA sync: Loading DB in memory"),
        ("*", "MASTER <-> REPLICA sync: Finished with success"),
    ])
    assert "MASTER <-> REPLICA sync: Swapping active DB with loaded DB" not in texts(r)


def test_full_sync_diskless_load_swapdb(server_factory):
    m, r, mc, rc = pair(server_factory, "--repl-diskless-load", "swapdb",
                        master_args=("--repl-diskless-sync", "yes"))
    wait_lines(r, [
        ("*", re.compile(r"Full resync from master: [0-9a-f]{40}:0")),
        ("*", "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser"),
        ("*", "MASTER <-> REPLICA sync: Loading DB in memory"),
        ("*", "MASTER <-> REPLICA sync: Swapping active DB with loaded DB"),
        ("*", "MASTER <-> REPLICA sync: Discarding old DB in background"),
        ("*", "MASTER <-> REPLICA sync: Finished with success"),
    ])
    assert "MASTER <-> REPLICA sync: Flushing old data" not in texts(r)
    assert "Discarding previously cached master state." not in texts(r)


# ---------------------------------------------------------------------------
# lost links
# ---------------------------------------------------------------------------


def test_partial_resync_after_a_lost_link(server_factory):
    m, r, mc, rc = pair(server_factory)
    replid = repl_info(mc)["master_replid"]
    r_start, m_start = len(entries(r)), len(entries(m))
    rc.call("CLIENT", "KILL", "TYPE", "master")
    wait_lines(r, [
        ("#", "Connection with master lost."),
        ("*", "Caching the disconnected master state."),
        ("*", "Reconnecting to MASTER %s" % name(m)),
        ("*", "MASTER <-> REPLICA sync started"),
        ("*", "Non blocking connect for SYNC fired the event."),
        ("*", "Master replied to PING, replication can continue..."),
        ("*", re.compile(r"Trying a partial resynchronization \(request %s:\d+\)\." % replid)),
        ("*", "Successful partial resynchronization with master."),
        ("*", "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."),
    ], start=r_start, contiguous=True)
    wait_lines(m, [
        ("#", "Connection with replica %s lost." % name(r)),
        ("*", "Replica %s asks for synchronization" % name(r)),
        ("*", re.compile(r"Partial resynchronization request from %s accepted\. Sending \d+ bytes "
                         r"of backlog starting from offset \d+\." % re.escape(name(r)))),
    ], start=m_start)


def test_lost_replica(server_factory):
    m, r, mc, rc = pair(server_factory)
    m_start = len(entries(m))
    rname = name(r)
    r.kill()
    wait_lines(m, [("#", "Connection with replica %s lost." % rname)], start=m_start)


def test_master_refusing_connections_is_retried_from_the_cron(server_factory):
    dead = free_port()
    r = start(server_factory, "--replicaof", HOST, dead)
    target = "%s:%d" % (HOST, dead)
    attempt = [
        ("*", "Connecting to MASTER %s" % target),
        ("*", "MASTER <-> REPLICA sync started"),
        ("#", "Error condition on socket for SYNC: Connection refused"),
    ]
    wait_lines(r, attempt + attempt, contiguous=True)


# ---------------------------------------------------------------------------
# role changes
# ---------------------------------------------------------------------------


def test_replicaof_no_one_sets_the_secondary_id(server_factory):
    m, r, mc, rc = pair(server_factory)
    old = repl_info(rc)["master_replid"]
    r_start = len(entries(r))
    assert rc.call("REPLICAOF", "NO", "ONE") == "OK"
    info = repl_info(rc)
    new, valid = info["master_replid"], info["second_repl_offset"]
    assert info["master_replid2"] == old
    wait_lines(r, [
        ("#", "Connection with master lost."),
        ("*", "Caching the disconnected master state."),
        ("*", "Discarding previously cached master state."),
        ("#", "Setting secondary replication ID to %s, valid up to offset: %s. New replication ID is %s"
              % (old, valid, new)),
        ("*", MASTER_MODE),
    ], start=r_start, contiguous=True)
    assert "Reconnecting to MASTER %s" % name(m) not in texts(r, r_start)


def test_replicaof_on_a_master_synthesizes_a_cached_master(server_factory):
    m, r, mc, rc = pair(server_factory, master_args=("--repl-diskless-sync", "no"))
    assert rc.call("REPLICAOF", "NO", "ONE") == "OK"
    own = repl_info(rc)["master_replid"]
    r_start = len(entries(r))
    assert rc.call("REPLICAOF", HOST, str(m.port)) == "OK"
    wait_link_up(rc)
    replicaof = re.compile(
        r"REPLICAOF %s enabled \(user request from 'id=\d+ addr=127\.0\.0\.1:\d+ "
        r"laddr=127\.0\.0\.1:%d fd=\d+ name= .* resp=2'\)" % (re.escape(name(m)), r.port))
    wait_lines(r, [
        ("*", "Before turning into a replica, using my own master parameters to synthesize a cached "
              "master: I may be able to synchronize with the new master with just a partial transfer."),
        ("*", "Connecting to MASTER %s" % name(m)),
        ("*", "MASTER <-> REPLICA sync started"),
        ("*", replicaof),
    ], start=r_start, contiguous=True)
    # Our own new history is unknown to the master: a full sync, which drops
    # the cached master.
    wait_lines(r, [
        ("*", re.compile(r"Trying a partial resynchronization \(request %s:\d+\)\." % own)),
        ("*", re.compile(r"Full resync from master: [0-9a-f]{40}:\d+")),
        ("*", re.compile(r"MASTER <-> REPLICA sync: receiving \d+ bytes from master to disk")),
        ("*", "Discarding previously cached master state."),
        ("*", "MASTER <-> REPLICA sync: Flushing old data"),
        ("*", "MASTER <-> REPLICA sync: Loading DB in memory"),
        ("*", "MASTER <-> REPLICA sync: Finished with success"),
    ], start=r_start)
    assert texts(r, r_start).count("Connecting to MASTER %s" % name(m)) == 1


def test_failover_logs(server_factory):
    m, r, mc, rc = pair(server_factory)
    mc.call("SET", "k", "v")
    wait_until(lambda: repl_info(rc)["slave_repl_offset"] == repl_info(mc)["master_repl_offset"], 10)
    old = repl_info(mc)["master_replid"]
    m_start, r_start = len(entries(m)), len(entries(r))
    assert mc.call("FAILOVER", "TO", HOST, str(r.port)) == "OK"
    wait_until(lambda: repl_info(mc).get("master_link_status") == "up", 15)
    new = repl_info(rc)["master_replid"]
    failover_from = re.compile(
        r"MASTER MODE enabled \(failover request from 'id=\d+ addr=127\.0\.0\.1:\d+ "
        r"laddr=127\.0\.0\.1:%d fd=\d+ name= .* resp=2'\)" % r.port)
    wait_lines(r, [
        ("#", "Failover request received for replid %s." % old),
        ("#", "Connection with master lost."),
        ("*", "Caching the disconnected master state."),
        ("*", "Discarding previously cached master state."),
        ("#", re.compile(r"Setting secondary replication ID to %s, valid up to offset: \d+\. "
                         r"New replication ID is %s" % (old, new))),
        ("*", failover_from),
    ], start=r_start, contiguous=True)
    wait_lines(m, [
        ("*", "FAILOVER requested to %s." % name(r)),
        ("*", "Failover target %s is synced, failing over." % name(r)),
        ("*", "Before turning into a replica, using my own master parameters to synthesize a cached "
              "master: I may be able to synchronize with the new master with just a partial transfer."),
        ("*", "Connecting to MASTER %s" % name(r)),
        ("*", "MASTER <-> REPLICA sync started"),
        ("*", re.compile(r"Trying a partial resynchronization \(request %s:\d+\)\." % old)),
        ("*", "Successful partial resynchronization with master."),
        ("#", "Master replication ID changed to %s" % new),
        ("*", "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."),
    ], start=m_start)


# ---------------------------------------------------------------------------
# master side
# ---------------------------------------------------------------------------


def test_psync_past_the_backlog(server_factory):
    m, r, mc, rc = pair(server_factory, master_args=("--repl-diskless-sync", "no"))
    replid = repl_info(mc)["master_replid"]
    m_start = len(entries(m))
    c = m.client()
    assert c.call("REPLCONF", "listening-port", "4444") == "OK"
    c.send("PSYNC", replid, "999999")
    assert c._readline().startswith(b"+FULLRESYNC ")
    wait_lines(m, [
        ("*", "Replica 127.0.0.1:4444 asks for synchronization"),
        ("*", "Unable to partial resync with replica 127.0.0.1:4444 for lack of backlog "
              "(Replica request was: 999999)."),
        ("#", "Warning: replica 127.0.0.1:4444 tried to PSYNC with an offset that is greater "
              "than the master replication offset."),
        ("*", "Starting BGSAVE for SYNC with target: disk"),
    ], start=m_start, contiguous=True)
    # (Closed during its snapshot, Redis kills the child, whose signal-handler
    # line would cut into the next lines.)
    wait_lines(m, [("*", "Synchronization with replica 127.0.0.1:4444 succeeded")], start=m_start)
    c.close()
    m_start = len(entries(m))
    c2 = m.client()
    c2.send("PSYNC", replid, "0")
    assert c2._readline().startswith(b"+FULLRESYNC ")
    wait_lines(m, [
        ("*", "Replica 127.0.0.1:<unknown-replica-port> asks for synchronization"),
        ("*", "Unable to partial resync with replica 127.0.0.1:<unknown-replica-port> for lack of "
              "backlog (Replica request was: 0)."),
    ], start=m_start, contiguous=True)
    assert not any("tried to PSYNC with an offset" in t for t in texts(m, m_start))
    c2.close()
